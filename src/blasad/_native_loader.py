"""Load OpenBLAS (from the scipy-openblas64 wheel) and blasad's cffi extension."""

from __future__ import annotations

import ctypes
import glob
import os

import scipy_openblas64


def _preload_openblas() -> None:
    # The extension carries an rpath to ../scipy_openblas64/lib; loading the library
    # first also covers installs where the two packages live in different folders.
    pattern = os.path.join(scipy_openblas64.get_lib_dir(), f"lib{scipy_openblas64.get_library()}.*")
    for path in sorted(glob.glob(pattern)):
        if path.endswith((".so", ".dylib")) or ".so." in path:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            return


_preload_openblas()

from blasad._native import ffi, lib  # noqa: E402

__all__ = ["ffi", "lib"]
