"""Level 1 BLAS: the public functions of the routines in blasad.specs.level1, and iamax
(a plain function: an integer index is not differentiable and is never recorded)."""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad._generic import fast_first, run
from blasad._native_loader import lib
from blasad._routines import _Call
from blasad._tape import address
from blasad.specs.core import DTYPE_CODES
from blasad.specs.level1 import ASUM, AXPY, COPY, DOT, DOTC, DOTU, NRM2, ROT, ROTM, SCAL, SWAP

Scalar = float | complex | np.ndarray


def _real_only(name: str, x: Any, hint: str) -> None:
    if isinstance(x, np.ndarray) and x.dtype.kind == "c":
        raise TypeError(f"{name}: x has dtype {x.dtype}; {name} is for real dtypes ({hint})")


@fast_first(AXPY, "y")
def axpy(alpha: Scalar, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y ← α x + y, in place; returns y."""
    run(AXPY, (alpha, x, y))
    return y


@fast_first(SCAL, "x")
def scal(alpha: Scalar, x: np.ndarray) -> np.ndarray:
    """x ← α x, in place; returns x."""
    run(SCAL, (alpha, x))
    return x


@fast_first(COPY, "y")
def copy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y ← x, in place; returns y. y's old value is overwritten: its adjoint goes to x and ȳ ← 0."""
    run(COPY, (x, y))
    return y


@fast_first(SWAP, "(x, y)")
def swap(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x ↔ y, in place; returns (x, y). The adjoints swap too."""
    run(SWAP, (x, y))
    return x, y


@fast_first(DOT, "out")
def dot(x: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """r ← Σ x y for real dtypes (complex: use dotu or dotc); returns r as a 0-d array (out)."""
    _real_only("dot", x, "complex vectors: dotu for Σ x y, dotc for Σ conj(x) y")
    return run(DOT, (x, y, out))[2]


def dotu(x: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """r ← Σ x y, unconjugated, for complex dtypes (real: dot); returns r as a 0-d array (out)."""
    return run(DOTU, (x, y, out))[2]


def dotc(x: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """r ← Σ conj(x) y for complex dtypes (real: dot); returns r as a 0-d array (out)."""
    return run(DOTC, (x, y, out))[2]


@fast_first(NRM2, "out")
def nrm2(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """r ← ‖x‖₂ = √(Σ |x|²), overflow-safe as BLAS; returns r as a 0-d array of the real dtype.

    Adjoint x̄ += (r̄ / r) x; at x = 0 (r = 0, where ‖·‖ has no derivative) it takes the
    subgradient 0, so x̄ is left unchanged.
    """
    return run(NRM2, (x, out))[1]


@fast_first(ASUM, "out")
def asum(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """r ← Σ |Re x| + |Im x| (BLAS asum, not Σ |x| for complex); returns r as a 0-d array of
    the real dtype. Adjoint x̄ += r̄ (sign(Re x) + i sign(Im x)), with sign(0) = 0."""
    return run(ASUM, (x, out))[1]


def iamax(x: np.ndarray) -> int:
    """The 0-based index of the first element with the largest |Re x_i| + |Im x_i| (as scipy's
    i?amax; BLAS's measure, not |x_i|, for complex x). Not differentiable and never recorded.
    Raises ValueError for an empty x."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"iamax: x must be a NumPy array, got {type(x).__name__}")
    if x.dtype not in DTYPE_CODES:
        raise TypeError(f"iamax: x has dtype {x.dtype}; expected float32, float64, complex64 or complex128")
    if x.ndim != 1:
        raise ValueError(f"iamax: x must be 1-D (a vector), got a {x.ndim}-D array")
    if x.strides[0] % x.itemsize:
        raise ValueError(f"iamax: x has strides {x.strides} that are not multiples of its itemsize")
    if x.shape[0] == 0:
        raise ValueError("iamax: x is empty")
    code = DTYPE_CODES[x.dtype]
    _Call(None, code).allow(x)
    return int(lib.ba_iamax(code, x.shape[0], address(x), x.strides[0] // x.itemsize))


@fast_first(ROT, "(x, y)")
def rot(
    x: np.ndarray, y: np.ndarray, c: float | np.ndarray, s: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """x ← c x + s y, y ← c y − s x, in place; returns (x, y).

    c and s are real (numbers, or 0-d arrays of the real dtype, differentiable when active),
    also for complex x and y (BLAS csrot/zdrot).
    """
    run(ROT, (x, y, c, s))
    return x, y


_ROTM_FLAGS = (-2.0, -1.0, 0.0, 1.0)


def rotm(x: np.ndarray, y: np.ndarray, param: Any) -> tuple[np.ndarray, np.ndarray]:
    """(x_i, y_i) ← H (x_i, y_i), in place, for real x, y; returns (x, y).

    param = (flag, h11, h21, h12, h22) as BLAS drotm's: flag −1 uses all four entries,
    0 means h11 = h22 = 1, 1 means h21 = −1 and h12 = 1, −2 means H = I. A param ndarray of
    x's dtype is a buffer: differentiable (the entries its flag uses; never the flag);
    any other sequence is converted and is a constant.
    """
    _real_only("rotm", x, "BLAS has no complex rotm")
    if not isinstance(param, np.ndarray):
        dtype = x.dtype if isinstance(x, np.ndarray) and x.dtype in DTYPE_CODES else np.float64
        try:
            param = np.array(param, dtype=dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(f"rotm: param must be a sequence of 5 real numbers ({e})") from None
    if param.shape != (5,):
        raise ValueError(f"rotm: param must have shape (5,) (flag, h11, h21, h12, h22), got {param.shape}")
    if param.dtype.kind == "f":
        flag = float(param[0])
        if flag not in _ROTM_FLAGS:
            raise ValueError(f"rotm: param[0] (the flag) must be -2, -1, 0 or 1, got {flag!r}")
    run(ROTM, (x, y, param))
    return x, y


__all__ = ["asum", "axpy", "copy", "dot", "dotc", "dotu", "iamax", "nrm2", "rot", "rotm", "scal", "swap"]
