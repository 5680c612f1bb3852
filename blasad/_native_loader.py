"""Load OpenBLAS (from the scipy-openblas64 wheel) and blasad's cffi extension."""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import sysconfig

if sysconfig.get_config_var("Py_GIL_DISABLED"):
    raise ImportError(
        "blasad needs a CPython build with the GIL: its native core reads Python objects under "
        "the GIL, and a free-threaded build (python3.13t and later) is not supported yet"
    )


def _openblas_dir() -> str:
    """scipy_openblas64's lib/ folder, found without importing the package: its __init__ loads
    the library RTLD_GLOBAL, where the few symbols it exports unprefixed (droundup_lwork_, ...)
    take the place of the LP64 OpenBLAS's that SciPy's LAPACK calls, with int64 arguments:
    scipy.linalg.svd then fails ("Too large work array") in a process that imported blasad."""
    spec = importlib.util.find_spec("scipy_openblas64")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("blasad needs the scipy-openblas64 package (pip install scipy-openblas64)")
    return os.path.join(next(iter(spec.submodule_search_locations)), "lib")


def _preload_openblas() -> None:
    # The extension carries an rpath to ../scipy_openblas64/lib; loading the library
    # first also covers installs where the two packages live in different folders (and
    # the copy of the extension that a build leaves in the source tree): the extension's
    # dependency is then found by its soname. RTLD_LOCAL, for the reason above.
    for path in sorted(glob.glob(os.path.join(_openblas_dir(), "libscipy_openblas64_*"))):
        if path.endswith((".so", ".dylib")) or ".so." in path:
            ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
            return


def _not_built(package_dir: str) -> ImportError:
    root = os.path.dirname(package_dir)
    return ImportError(
        f"blasad: the native extension (blasad._native) is not built in the source tree {package_dir}. "
        f"Run `pip install .` in {root} (it builds the extension and leaves a copy in that folder), "
        "or run Python from another directory to use an installed blasad."
    )


_preload_openblas()

try:
    from blasad._native import ffi, lib
except ModuleNotFoundError as e:
    _here = os.path.dirname(os.path.abspath(__file__))
    if e.name != "blasad._native" or not os.path.isdir(os.path.join(_here, os.pardir, "csrc")):
        raise
    raise _not_built(_here) from None

__all__ = ["ffi", "lib"]
