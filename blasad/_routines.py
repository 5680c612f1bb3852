"""The public BLAS routines: validate against the spec, map NumPy layouts to BLAS
(ld, inc, trans) without copying whenever BLAS can express them, and make one call
into C, which records the call on the active tape."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from blasad._native_loader import ffi, lib
from blasad._specs import AXPY, DTYPE_CODES, GEMM, GEMV, validate
from blasad._tape import Tape, _local, address, extent

# trans flags as the C core takes them: bit 0 transposes, bit 1 conjugates
_FLAGS_REAL = {"N": 0, "T": 1, "C": 1}  # real dtypes: conjugate transpose is transpose
_FLAGS_COMPLEX = {"N": 0, "T": 1, "C": 3}
Scalar = float | np.ndarray


# The fast paths read arrays through CPython object addresses (id); other
# interpreters, and tests that exercise the validating path alone, turn them off.
CHECKED = lib.ba_checked_violations() >= 0  # a checked build: see csrc/checked.h
FAST = sys.implementation.name == "cpython"
if FAST:
    lib.ba_fast_init(id(np.ndarray), id(np.dtype(np.float32)), id(np.dtype(np.float64)), id(np.float64))
_NULL = ffi.NULL


def _fast_done(rc: int, tape: Tape | None, name: str, *keep: np.ndarray) -> bool:
    """Did a fast path complete the call? (rc 1: take the validating path; 2 is the caller's.)"""
    if rc == 0:
        if tape is not None:
            tape._keep.extend(keep)
        return True
    if rc < 0:
        raise MemoryError(f"blasad: out of memory while recording {name}; nothing was written")
    return False


def _as_float(s: Any) -> Any:
    """A real scalar the fast paths do not read as the float of the same value, which they do
    read (a Python float or numpy.float64): a Python or NumPy int within ±2⁵³, a NumPy float32
    or float16. Anything else (a bool, a larger int, a 0-d array: the validating path's)
    unchanged. The validating path reads every real scalar as the same double."""
    t = type(s)
    if t is int or issubclass(t, np.integer):
        return float(s) if -(2**53) <= s <= 2**53 else s
    return float(s) if t is np.float32 or t is np.float16 else s


def _flip(flag: int) -> int:
    """The flag for the transposed storage of the same operand: op(Sᵀ) for op(X), X = Sᵀ."""
    return flag ^ 1


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


def _blas_matrix(X: np.ndarray) -> tuple[int, bool] | None:
    """(ld, transposed) when BLAS can address X in place: column-major with leading
    dimension ld, or (transposed) row-major, i.e. Xᵀ column-major. None otherwise."""
    rows, cols = X.shape
    es = X.itemsize
    s0, s1 = X.strides[0] // es, X.strides[1] // es
    if (s0 == 1 or rows <= 1) and (cols <= 1 or s1 >= max(rows, 1)):
        return (s1 if cols > 1 else max(rows, 1)), False
    if (s1 == 1 or cols <= 1) and (rows <= 1 or s0 >= max(cols, 1)):
        return (s0 if rows > 1 else max(cols, 1)), True
    return None


def _vector(call: _Call, x: np.ndarray) -> tuple[np.ndarray, int]:
    """(array to hand to BLAS, inc); a zero-stride input is staged through a copy."""
    inc = x.strides[0] // x.itemsize
    if inc == 0 and x.shape[0] > 1:
        x = call.staged(x)
        inc = 1
    return x, (inc if inc != 0 else 1)


def gemm(
    alpha: Scalar,
    A: np.ndarray,
    B: np.ndarray,
    beta: Scalar = 0.0,
    C: np.ndarray | None = None,
    trans_a: str = "N",
    trans_b: str = "N",
) -> np.ndarray:
    """C ← α op(A) op(B) + β C, in place; returns C (allocated when None).

    op(X) is X, Xᵀ or Xᴴ for the flag "N", "T" or "C". A and B may be any 2-D
    views; α and β are numbers (constants) or 0-d arrays (differentiable buffers).
    With β = 0, C is not read (NaN in it does not propagate).
    """
    tape = _local.tape
    if FAST and C is not None:
        ptr = tape._ptr if tape is not None else _NULL
        rc = lib.ba_fast_gemm(ptr, id(alpha), id(A), id(B), id(beta), id(C), id(trans_a), id(trans_b))
        if rc == 2 and tape is not None:  # active, and C has no shadow yet
            tape._regions.ensure(C)
            rc = lib.ba_fast_gemm(ptr, id(alpha), id(A), id(B), id(beta), id(C), id(trans_a), id(trans_b))
        if _fast_done(rc, tape, "gemm", A, B):
            return C
        if rc == 1 and (_as_float(alpha) is not alpha or _as_float(beta) is not beta):
            return gemm(_as_float(alpha), A, B, _as_float(beta), C, trans_a, trans_b)
    dtype, d, (alpha, A, B, beta, C, trans_a, trans_b) = validate(
        GEMM, (alpha, A, B, beta, C, trans_a, trans_b)
    )
    assert C is not None
    call = _Call(tape, DTYPE_CODES[dtype])
    m, n, k = d["m"], d["n"], d["k"]
    al, al_im, al_bar = call.scalar(alpha)
    be, be_im, be_bar = call.scalar(beta)

    lay_a, lay_b = _blas_matrix(A), _blas_matrix(B)
    if lay_a is None:
        A, lay_a = call.staged(A), (max(A.shape[0], 1), False)
    if lay_b is None:
        B, lay_b = call.staged(B), (max(B.shape[0], 1), False)
    a_bar, b_bar = call.bar(A), call.bar(B)
    flags = _FLAGS_COMPLEX if dtype.kind == "c" else _FLAGS_REAL
    ta = flags[trans_a] if not lay_a[1] else _flip(flags[trans_a])
    tb = flags[trans_b] if not lay_b[1] else _flip(flags[trans_b])

    target, lay_c = C, _blas_matrix(C)
    if lay_c is None:
        target, lay_c = np.empty(C.shape, C.dtype, order="F"), (max(m, 1), False)
        if be != 0 or be_im != 0 or be_bar:
            call.copy(C, target)
    c_bar = call.out_bar(target, bool(a_bar or b_bar or al_bar or be_bar))

    call.allow(A, B, target, *(s for s in (alpha, beta) if isinstance(s, np.ndarray)))
    if not lay_c[1]:
        rc = lib.ba_gemm(
            call.ptr, call.code, ta, tb, m, n, k, al, al_im, al_bar,
            address(A), lay_a[0], a_bar, address(B), lay_b[0], b_bar,
            be, be_im, be_bar, address(target), lay_c[0], c_bar,
        )  # fmt: skip
    else:  # C is row-major: compute Cᵀ = op(B)ᵀ op(A)ᵀ in column-major
        rc = lib.ba_gemm(
            call.ptr, call.code, _flip(tb), _flip(ta), n, m, k, al, al_im, al_bar,
            address(B), lay_b[0], b_bar, address(A), lay_a[0], a_bar,
            be, be_im, be_bar, address(target), lay_c[0], c_bar,
        )  # fmt: skip
    call.check(rc, "gemm")
    call.keep(A, B)
    if target is not C:
        call.copy(target, C)
    return C


def gemv(
    alpha: Scalar,
    A: np.ndarray,
    x: np.ndarray,
    beta: Scalar = 0.0,
    y: np.ndarray | None = None,
    trans: str = "N",
) -> np.ndarray:
    """y ← α op(A) x + β y, in place; returns y (allocated when None).

    With β = 0, y is not read (NaN in it does not propagate).
    """
    tape = _local.tape
    if FAST and y is not None:
        ptr = tape._ptr if tape is not None else _NULL
        rc = lib.ba_fast_gemv(ptr, id(alpha), id(A), id(x), id(beta), id(y), id(trans))
        if rc == 2 and tape is not None:  # active, and y has no shadow yet
            tape._regions.ensure(y)
            rc = lib.ba_fast_gemv(ptr, id(alpha), id(A), id(x), id(beta), id(y), id(trans))
        if _fast_done(rc, tape, "gemv", A, x):
            return y
        if rc == 1 and (_as_float(alpha) is not alpha or _as_float(beta) is not beta):
            return gemv(_as_float(alpha), A, x, _as_float(beta), y, trans)
    dtype, _, (alpha, A, x, beta, y, trans) = validate(GEMV, (alpha, A, x, beta, y, trans))
    assert y is not None
    call = _Call(tape, DTYPE_CODES[dtype])
    al, al_im, al_bar = call.scalar(alpha)
    be, be_im, be_bar = call.scalar(beta)
    lay_a = _blas_matrix(A)
    if lay_a is None:
        A, lay_a = call.staged(A), (max(A.shape[0], 1), False)
    flags = _FLAGS_COMPLEX if dtype.kind == "c" else _FLAGS_REAL
    tr = flags[trans] if not lay_a[1] else _flip(flags[trans])
    rows, cols = A.shape if not lay_a[1] else A.shape[::-1]  # A's column-major storage
    x, incx = _vector(call, x)
    a_bar, x_bar = call.bar(A), call.bar(x)
    incy = y.strides[0] // y.itemsize or 1
    y_bar = call.out_bar(y, bool(a_bar or x_bar or al_bar or be_bar))
    call.allow(A, x, y, *(s for s in (alpha, beta) if isinstance(s, np.ndarray)))
    rc = lib.ba_gemv(
        call.ptr, call.code, tr, rows, cols, al, al_im, al_bar, address(A), lay_a[0], a_bar,
        address(x), incx, x_bar, be, be_im, be_bar, address(y), incy, y_bar,
    )  # fmt: skip
    call.check(rc, "gemv")
    call.keep(A, x)
    return y


def axpy(alpha: Scalar, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y ← α x + y, in place; returns y."""
    tape = _local.tape
    if FAST:
        rc = lib.ba_fast_axpy(tape._ptr if tape is not None else _NULL, id(alpha), id(x), id(y))
        if rc == 2 and tape is not None:  # active, and y has no shadow yet
            tape._regions.ensure(y)
            rc = lib.ba_fast_axpy(tape._ptr, id(alpha), id(x), id(y))
        if _fast_done(rc, tape, "axpy", x):
            return y
        if rc == 1 and _as_float(alpha) is not alpha:
            return axpy(_as_float(alpha), x, y)
    dtype, dims, (alpha, x, y) = validate(AXPY, (alpha, x, y))
    call = _Call(tape, DTYPE_CODES[dtype])
    al, al_im, al_bar = call.scalar(alpha)
    x, incx = _vector(call, x)
    x_bar = call.bar(x)
    incy = y.strides[0] // y.itemsize or 1
    y_bar = call.out_bar(y, bool(x_bar or al_bar))
    call.allow(x, y, *(s for s in (alpha,) if isinstance(s, np.ndarray)))
    rc = lib.ba_axpy(
        call.ptr, call.code, dims["n"], al, al_im, al_bar, address(x), incx, x_bar, address(y), incy, y_bar
    )
    call.check(rc, "axpy")
    call.keep(x)
    return y
