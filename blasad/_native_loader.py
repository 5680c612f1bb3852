"""Load OpenBLAS (from the scipy-openblas64 wheel) and blasad's cffi extension."""

from __future__ import annotations

import ctypes
import glob
import os
import sysconfig

import scipy_openblas64

if sysconfig.get_config_var("Py_GIL_DISABLED"):
    raise ImportError(
        "blasad needs a CPython build with the GIL: its native core reads Python objects under "
        "the GIL, and a free-threaded build (python3.13t and later) is not supported yet"
    )


def _preload_openblas() -> None:
    # The extension carries an rpath to ../scipy_openblas64/lib; loading the library
    # first also covers installs where the two packages live in different folders (and
    # the copy of the extension that a build leaves in the source tree).
    pattern = os.path.join(scipy_openblas64.get_lib_dir(), f"lib{scipy_openblas64.get_library()}.*")
    for path in sorted(glob.glob(pattern)):
        if path.endswith((".so", ".dylib")) or ".so." in path:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
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
