"""The public BLAS routines: validate against the spec, map NumPy layouts to BLAS
(ld, inc, trans) without copying whenever BLAS can express them, and make one call
into C, which records the call on the active tape."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from blasad._native_loader import ffi, lib
from blasad._tape import Tape, address, extent

Scalar = float | np.ndarray


# The fast paths read arrays through CPython object addresses (id); other
# interpreters, and tests that exercise the validating path alone, turn them off.
CHECKED = lib.ba_checked_violations() >= 0  # a checked build: see csrc/checked.h
FAST = sys.implementation.name == "cpython"
if FAST:
    lib.ba_fast_init(id(np.ndarray), id(np.dtype(np.float32)), id(np.dtype(np.float64)), id(np.float64))


def _as_float(s: Any) -> Any:
    """A real scalar the fast paths do not read as the float of the same value, which they do
    read (a Python float or numpy.float64): a Python or NumPy int within ±2⁵³, a NumPy float32
    or float16. Anything else (a bool, a larger int, a 0-d array: the validating path's)
    unchanged. The validating path reads every real scalar as the same double."""
    t = type(s)
    if t is int or issubclass(t, np.integer):
        return float(s) if -(2**53) <= s <= 2**53 else s
    return float(s) if t is np.float32 or t is np.float16 else s


class _Call:
    """Per-call view of the active tape: shadow lookups and layout staging."""

    __slots__ = ("code", "ptr", "regions", "tape")

    def __init__(self, tape: Tape | None, code: int) -> None:
        self.tape, self.code = tape, code
        self.ptr = tape._ptr if tape is not None else ffi.NULL
        self.regions = tape._regions if tape is not None else None

    def allow(self, *arrays: np.ndarray) -> None:
        """Checked builds: the arrays the next native call may touch."""
        if CHECKED:
            lib.ba_checked_reset()
            for x in arrays:
                lo, hi = extent(x)
                lib.ba_checked_allow(lo, hi)

    def keep(self, *arrays: np.ndarray) -> None:
        """The tape reads these by address in its reverse sweep: keep them alive until then."""
        if self.tape is not None:
            self.tape._keep.extend(arrays)

    def bar(self, x: Any) -> int:
        if self.regions is None or not isinstance(x, np.ndarray):
            return 0
        return self.regions.bar(x)

    def out_bar(self, x: np.ndarray, active: bool) -> int:
        if self.regions is None:
            return 0
        return self.regions.ensure(x) if active else self.regions.bar(x)

    def scalar(self, s: Scalar) -> tuple[float, float, int]:
        """(real part, imaginary part, shadow address) of a scalar argument."""
        v = complex(s[()]) if isinstance(s, np.ndarray) else complex(s)
        return v.real, v.imag, self.bar(s)

    def check(self, rc: int, name: str) -> None:
        if rc == -1:
            raise MemoryError(f"blasad: out of memory while recording {name}; nothing was written")
        if rc != 0:
            raise RuntimeError(f"blasad: {name} failed in the native core (code {rc})")

    def copy(self, src: np.ndarray, dst: np.ndarray) -> None:
        """dst ← src elementwise (recorded), for layouts BLAS cannot address."""
        src2 = src if src.ndim == 2 else src[:, None]
        dst2 = dst if dst.ndim == 2 else dst[:, None]
        src_bar = self.bar(src2)
        dst_bar = self.out_bar(dst2, bool(src_bar))
        es = src.itemsize
        self.allow(src2, dst2)
        rc = lib.ba_copy2d(
            self.ptr, self.code, src2.shape[0], src2.shape[1],
            address(src2), src2.strides[0] // es, src2.strides[1] // es, src_bar,
            address(dst2), dst2.strides[0] // es, dst2.strides[1] // es, dst_bar,
        )  # fmt: skip
        self.check(rc, "a layout copy")

    def staged(self, x: np.ndarray) -> np.ndarray:
        """A Fortran-ordered copy of x (recorded, so its adjoint flows back to x)."""
        tmp = np.empty(x.shape, x.dtype, order="F")
        self.copy(x, tmp)
        return tmp
