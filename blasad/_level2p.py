"""Level 2 BLAS with packed and band storage: the public functions of the routines in
blasad.specs.packed_band (storage conventions there)."""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad import _routines
from blasad._generic import _flag_code, _lds, fast, fast_first, run
from blasad._native_loader import lib
from blasad._routines import _Call
from blasad._tape import _local, address
from blasad._validate import validate
from blasad.specs.core import DTYPE_CODES, TRANS, Spec
from blasad.specs.packed_band import (
    GBMV,
    HBMV,
    HPMV,
    HPR,
    HPR2,
    SBMV,
    SPMV,
    SPR,
    SPR2,
    TBMV,
    TBSV,
    TPMV,
    TPSV,
)  # fmt: skip

Scalar = float | complex | np.ndarray


# ---- lowering -----------------------------------------------------------------------------

_REAL_ONLY = {"spmv": "hpmv", "sbmv": "hbmv", "spr": "hpr", "spr2": "hpr2"}
_COMPLEX_ONLY = {v: k for k, v in _REAL_ONLY.items()}


def _prepare(spec: Spec, values: tuple[Any, ...]) -> list[Any]:
    """Validate (raising before anything is written), then the storage checks the spec
    table cannot express, then stage storage BLAS cannot address. Returns the values."""
    dtype, dims, vals = validate(spec, values)
    name = spec.name
    if name in _REAL_ONLY and dtype.kind == "c":
        raise TypeError(f"{name}: real dtypes only (float32, float64); use {_REAL_ONLY[name]} for complex")
    if name in _COMPLEX_ONLY and dtype.kind != "c":
        raise TypeError(
            f"{name}: complex dtypes only (complex64, complex128); use {_COMPLEX_ONLY[name]} for real"
        )
    call = _Call(_local.tape, DTYPE_CODES[dtype])
    for i, a in enumerate(spec.args):
        v = vals[i]
        if a.name == "AP":  # packed: length n(n+1)/2, contiguous for BLAS
            n = dims["n"]
            if v.shape[0] != n * (n + 1) // 2:
                raise ValueError(
                    f"{name}: AP has length {v.shape[0]}, but packed storage of an n × n triangle with "
                    f"n = {n} has n(n+1)/2 = {n * (n + 1) // 2}"
                )
            if v.strides[0] != v.itemsize and v.shape[0] > 1:
                if a.inout:  # written: BLAS updates a contiguous copy, copied back after the call
                    tmp = np.empty(v.shape, v.dtype)
                    call.copy(v, tmp)
                    vals[i] = tmp
                else:
                    vals[i] = call.staged(v)
        elif a.kind == "matrix":  # band storage: BLAS reads it column-major
            if v.shape[0] < 1:
                raise ValueError(f"{name}: {a.name} has no rows; band storage has k+1 >= 1 rows")
            if _lds(v)[0] is None:
                vals[i] = call.staged(v)
    return vals


def _run(spec: Spec, values: tuple[Any, ...]) -> list[Any]:
    if _routines.FAST:  # the common calls: ba_fast_run checks the packed storage too
        done = fast(spec, values, _local.tape)
        if done is not None:
            return done
    vals = _prepare(spec, values)
    for j, a in enumerate(spec.args):  # the caller's flag objects: the C fast path knows them by id
        if a.kind == "flag":
            vals[j] = values[j]
    i = next((i for i, a in enumerate(spec.args) if a.name == "AP" and a.inout), None)
    if i is not None and vals[i] is not values[i]:  # a staged packed output: run on it, copy back
        out = run(spec, tuple(vals))
        _Call(_local.tape, DTYPE_CODES[vals[i].dtype]).copy(out[i], values[i])
        return out
    return run(spec, tuple(vals))


@fast_first(SPMV, "y")
def spmv(alpha: Scalar, AP: np.ndarray, x: np.ndarray, beta: Scalar = 0.0, y: np.ndarray | None = None,
         uplo: str = "U") -> np.ndarray:  # fmt: skip
    """y ← α A x + β y, A real symmetric n × n in packed storage; returns y (allocated when None).

    AP (length n(n+1)/2) holds the ``uplo`` triangle column by column: ``A[i, j] = AP[i + j(j+1)/2]``
    (U, i ≤ j) or ``AP[i + j(2n-j-1)/2]`` (L, i ≥ j). Real dtypes; hpmv is the complex one.
    """
    return _run(SPMV, (alpha, AP, x, beta, y, uplo))[4]


def hpmv(alpha: Scalar, AP: np.ndarray, x: np.ndarray, beta: Scalar = 0.0, y: np.ndarray | None = None,
         uplo: str = "U") -> np.ndarray:  # fmt: skip
    """y ← α A x + β y, A complex Hermitian n × n in packed storage; returns y.

    AP as for spmv; the imaginary parts of the diagonal are not referenced (A's diagonal is
    real), so their adjoints are 0. Complex dtypes.
    """
    return _run(HPMV, (alpha, AP, x, beta, y, uplo))[4]


def sbmv(alpha: Scalar, A: np.ndarray, x: np.ndarray, beta: Scalar = 0.0, y: np.ndarray | None = None,
         uplo: str = "U") -> np.ndarray:  # fmt: skip
    """y ← α M x + β y, M real symmetric n × n band with k off-diagonals; returns y.

    A has shape (k+1, n): ``A[k + i - j, j] = M[i, j]`` (U, max(0, j-k) ≤ i ≤ j) or
    ``A[i - j, j] = M[i, j]`` (L, j ≤ i ≤ min(n-1, j+k)). Real dtypes; hbmv is the complex one.
    """
    return _run(SBMV, (alpha, A, x, beta, y, uplo))[4]


def hbmv(alpha: Scalar, A: np.ndarray, x: np.ndarray, beta: Scalar = 0.0, y: np.ndarray | None = None,
         uplo: str = "U") -> np.ndarray:  # fmt: skip
    """y ← α M x + β y, M complex Hermitian n × n band with k off-diagonals; returns y.

    A as for sbmv; the imaginary parts of the diagonal are not referenced. Complex dtypes.
    """
    return _run(HBMV, (alpha, A, x, beta, y, uplo))[4]


@fast_first(TPMV, "x")
def tpmv(AP: np.ndarray, x: np.ndarray, uplo: str = "U", trans: str = "N", diag: str = "N") -> np.ndarray:
    """x ← op(A) x, in place, A triangular n × n in packed storage (as for spmv); returns x.

    diag="U": A's diagonal is taken as 1 and not referenced (its entries get no adjoint).
    """
    _run(TPMV, (AP, x, uplo, trans, diag))
    return x


@fast_first(TPSV, "x")
def tpsv(AP: np.ndarray, x: np.ndarray, uplo: str = "U", trans: str = "N", diag: str = "N") -> np.ndarray:
    """x ← op(A)⁻¹ x, in place, A triangular n × n in packed storage (as for spmv); returns x.

    No singularity test is made (BLAS's contract).
    """
    _run(TPSV, (AP, x, uplo, trans, diag))
    return x


def tbmv(A: np.ndarray, x: np.ndarray, uplo: str = "U", trans: str = "N", diag: str = "N") -> np.ndarray:
    """x ← op(M) x, in place, M triangular n × n band with k off-diagonals; returns x.

    A has shape (k+1, n), laid out as for sbmv.
    """
    _run(TBMV, (A, x, uplo, trans, diag))
    return x


def tbsv(A: np.ndarray, x: np.ndarray, uplo: str = "U", trans: str = "N", diag: str = "N") -> np.ndarray:
    """x ← op(M)⁻¹ x, in place, M triangular n × n band with k off-diagonals; returns x.

    A has shape (k+1, n), laid out as for sbmv. No singularity test is made.
    """
    _run(TBSV, (A, x, uplo, trans, diag))
    return x


@fast_first(SPR, "AP")
def spr(alpha: Scalar, x: np.ndarray, AP: np.ndarray, uplo: str = "U") -> np.ndarray:
    """A ← α x xᵀ + A, in place, A real symmetric in packed storage (as for spmv); returns AP."""
    _run(SPR, (alpha, x, AP, uplo))
    return AP


def hpr(alpha: Scalar, x: np.ndarray, AP: np.ndarray, uplo: str = "U") -> np.ndarray:
    """A ← α x xᴴ + A, in place, A Hermitian in packed storage, α real; returns AP.

    As BLAS does, the imaginary parts of the diagonal are set to 0 when α ≠ 0.
    """
    _run(HPR, (alpha, x, AP, uplo))
    return AP


@fast_first(SPR2, "AP")
def spr2(alpha: Scalar, x: np.ndarray, y: np.ndarray, AP: np.ndarray, uplo: str = "U") -> np.ndarray:
    """A ← α x yᵀ + α y xᵀ + A, in place, A real symmetric in packed storage; returns AP."""
    _run(SPR2, (alpha, x, y, AP, uplo))
    return AP


def hpr2(alpha: Scalar, x: np.ndarray, y: np.ndarray, AP: np.ndarray, uplo: str = "U") -> np.ndarray:
    """A ← α x yᴴ + conj(α) y xᴴ + A, in place, A Hermitian in packed storage; returns AP.

    As BLAS does, the imaginary parts of the diagonal are set to 0 when α ≠ 0.
    """
    _run(HPR2, (alpha, x, y, AP, uplo))
    return AP


def gbmv(
    alpha: Scalar,
    A: np.ndarray,
    x: np.ndarray,
    beta: Scalar = 0.0,
    y: np.ndarray | None = None,
    trans: str = "N",
    *,
    kl: int,
    ku: int,
    m: int | None = None,
) -> np.ndarray:
    """y ← α op(M) x + β y, M general m × n band with kl sub- and ku super-diagonals; returns y.

    A has shape (kl+ku+1, n): ``A[ku + i - j, j] = M[i, j]`` for max(0, j-ku) ≤ i ≤ min(m-1, j+kl)
    (LAPACK's AB). m is taken from y (trans "N") or x ("T", "C") when not given; it must be
    given for trans "N" with y None.
    """
    if not isinstance(trans, str) or trans.upper() not in TRANS:
        validate(GBMV, (alpha, A, x, beta, y, trans))  # raises the standard error
    t = trans.upper()
    for name, v in (("kl", kl), ("ku", ku)):
        if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 0:
            raise ValueError(f"gbmv: {name} must be a non-negative integer, got {v!r}")
    if m is None:
        src = y if t == "N" else x
        if not isinstance(src, np.ndarray):
            raise ValueError(
                "gbmv: pass m (the number of rows of the band matrix) when trans='N' and y is None"
            )
        m = src.shape[0] if src.ndim == 1 else 0
    if y is None and isinstance(A, np.ndarray) and A.dtype in DTYPE_CODES:
        y = np.zeros(m if t == "N" else (A.shape[1] if A.ndim == 2 else 0), A.dtype)
    dtype, dims, vals = validate(GBMV, (alpha, A, x, beta, y, trans))
    al, A, x, be, y, _ = vals
    n = dims["n"]
    if A.shape[0] != kl + ku + 1:
        raise ValueError(f"gbmv: A has {A.shape[0]} rows; band storage with kl={kl}, ku={ku} has kl+ku+1")
    want_x, want_y = (n, m) if t == "N" else (m, n)
    if x.shape[0] != want_x or y.shape[0] != want_y:
        raise ValueError(
            f"gbmv: x has length {x.shape[0]} and y {y.shape[0]}; op(M) is "
            f"{want_y} × {want_x} for m={m}, n={n}, trans={t!r}"
        )
    call = _Call(_local.tape, DTYPE_CODES[dtype])
    if _lds(A)[0] is None:
        A = call.staged(A)
    if x.strides[0] == 0 and x.shape[0] > 1:
        x = call.staged(x)
    a_re, a_im, a_bar = call.scalar(al)
    b_re, b_im, b_bar = call.scalar(be)
    A_bar, x_bar = call.bar(A), call.bar(x)
    y_bar = call.out_bar(y, bool(a_bar or b_bar or A_bar or x_bar))
    ld = _lds(A)[0]
    call.allow(*(v for v in (al, A, x, be, y) if isinstance(v, np.ndarray)))
    rc = lib.ba_gbmv(
        call.ptr, call.code, _flag_code("trans", t, dtype.kind == "c"), m, n, kl, ku,
        a_re, a_im, a_bar, address(A), ld, A_bar,
        address(x), x.strides[0] // x.itemsize or 1, x_bar,
        b_re, b_im, b_bar, address(y), y.strides[0] // y.itemsize, y_bar,
    )  # fmt: skip
    call.check(rc, "gbmv")
    call.keep(*(v for v in (al, A, x, be, y) if isinstance(v, np.ndarray)))
    return y


__all__ = [
    "gbmv", "hbmv", "hpmv", "hpr", "hpr2", "sbmv", "spmv", "spr", "spr2",
    "tbmv", "tbsv", "tpmv", "tpsv",
]  # fmt: skip
