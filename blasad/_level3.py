"""Level 3 BLAS: the public functions of the routines in blasad.specs.level3."""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad._generic import fast_first, run
from blasad.specs.core import SIDE, Spec
from blasad.specs.level3 import GEMM, HEMM, HER2K, HERK, SYMM, SYR2K, SYRK, TRMM, TRSM

Scalar = float | complex | np.ndarray


def _dtype_of(*arrays: Any) -> np.dtype[Any] | None:
    return next((a.dtype for a in arrays if isinstance(a, np.ndarray)), None)


def _complex_only(name: str, *arrays: Any) -> None:
    dtype = _dtype_of(*arrays)
    if dtype is not None and dtype.kind != "c":
        raise TypeError(f"{name}: Hermitian routines take complex64 or complex128 arrays, got {dtype}")


def _run_c(spec: Spec, values: tuple[Any, ...], i: int) -> np.ndarray:
    """Run a routine with output C at position i; returns the user's C, or the one allocated."""
    return run(spec, values)[i]  # type: ignore[no-any-return]


def _flag(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _check_a(name: str, A: Any, B: Any, side: Any) -> None:
    """A is m x m for side L and n x n for side R (B is m x n)."""
    side = _flag(side)
    if not (isinstance(A, np.ndarray) and isinstance(B, np.ndarray) and A.ndim == 2 and B.ndim == 2):
        return
    if side not in SIDE:
        return  # the validator names the flag
    d = B.shape[0] if side == "L" else B.shape[1]
    if A.shape != (d, d):
        which = "m x m for side 'L'" if side == "L" else "n x n for side 'R'"
        raise ValueError(f"{name}: A has shape {A.shape}, expected {(d, d)} ({which}, B is {B.shape})")


def _no_conj_trans(name: str, trans: Any, *arrays: Any) -> None:
    dtype = _dtype_of(*arrays)
    if dtype is not None and dtype.kind == "c" and _flag(trans) == "C":
        raise ValueError(f"{name}: trans 'C' is for real dtypes; complex {name} takes 'N' or 'T'")


@fast_first(SYMM, "C")
def symm(
    alpha: Scalar,
    A: np.ndarray,
    B: np.ndarray,
    beta: Scalar = 0.0,
    C: np.ndarray | None = None,
    side: str = "L",
    uplo: str = "U",
) -> np.ndarray:
    """C ← α S B + β C (side L) or α B S + β C (side R), S = Sᵀ read from A's uplo triangle
    (complex: symmetric, not conjugated); returns C (allocated when None)."""
    _check_a("symm", A, B, side)
    return _run_c(SYMM, (alpha, A, B, beta, C, side, uplo), 4)


def hemm(
    alpha: Scalar,
    A: np.ndarray,
    B: np.ndarray,
    beta: Scalar = 0.0,
    C: np.ndarray | None = None,
    side: str = "L",
    uplo: str = "U",
) -> np.ndarray:
    """C ← α H B + β C (side L) or α B H + β C (side R), H = Hᴴ read from A's uplo triangle
    (the diagonal's imaginary part is ignored); complex only; returns C."""
    _complex_only("hemm", A, B, C)
    _check_a("hemm", A, B, side)
    return _run_c(HEMM, (alpha, A, B, beta, C, side, uplo), 4)


@fast_first(SYRK, "C")
def syrk(
    alpha: Scalar,
    A: np.ndarray,
    beta: Scalar = 0.0,
    C: np.ndarray | None = None,
    uplo: str = "U",
    trans: str = "N",
) -> np.ndarray:
    """C ← α op(A) op(A)ᵀ + β C on C's uplo triangle (trans N: A is n x k; T: k x n); the other
    triangle is not touched; returns C."""
    _no_conj_trans("syrk", trans, A, C)
    return _run_c(SYRK, (alpha, A, beta, C, uplo, trans), 3)


def herk(
    alpha: float | np.ndarray,
    A: np.ndarray,
    beta: float | np.ndarray = 0.0,
    C: np.ndarray | None = None,
    uplo: str = "U",
    trans: str = "N",
) -> np.ndarray:
    """C ← α op(A) op(A)ᴴ + β C on C's uplo triangle, α and β real, trans N or C; the imaginary
    part of C's diagonal is set to zero (left as is when β = 1 and α = 0 or k = 0, as in BLAS);
    complex only; returns C."""
    _complex_only("herk", A, C)
    return _run_c(HERK, (alpha, A, beta, C, uplo, trans), 3)


@fast_first(SYR2K, "C")
def syr2k(
    alpha: Scalar,
    A: np.ndarray,
    B: np.ndarray,
    beta: Scalar = 0.0,
    C: np.ndarray | None = None,
    uplo: str = "U",
    trans: str = "N",
) -> np.ndarray:
    """C ← α op(A) op(B)ᵀ + α op(B) op(A)ᵀ + β C on C's uplo triangle; returns C."""
    _no_conj_trans("syr2k", trans, A, B, C)
    return _run_c(SYR2K, (alpha, A, B, beta, C, uplo, trans), 4)


def her2k(
    alpha: Scalar,
    A: np.ndarray,
    B: np.ndarray,
    beta: float | np.ndarray = 0.0,
    C: np.ndarray | None = None,
    uplo: str = "U",
    trans: str = "N",
) -> np.ndarray:
    """C ← α op(A) op(B)ᴴ + conj(α) op(B) op(A)ᴴ + β C on C's uplo triangle, β real, trans N or C;
    the imaginary part of C's diagonal is set to zero (as herk); complex only; returns C."""
    _complex_only("her2k", A, B, C)
    return _run_c(HER2K, (alpha, A, B, beta, C, uplo, trans), 4)


@fast_first(TRMM, "B")
def trmm(
    alpha: Scalar,
    A: np.ndarray,
    B: np.ndarray,
    side: str = "L",
    uplo: str = "U",
    trans_a: str = "N",
    diag: str = "N",
) -> np.ndarray:
    """B ← α op(A) B (side L) or α B op(A) (side R), in place, A triangular (its uplo triangle;
    diag U: unit diagonal, not read); returns B."""
    _check_a("trmm", A, B, side)
    run(TRMM, (alpha, A, B, side, uplo, trans_a, diag))
    return B


@fast_first(TRSM, "B")
def trsm(
    alpha: Scalar,
    A: np.ndarray,
    B: np.ndarray,
    side: str = "L",
    uplo: str = "U",
    trans_a: str = "N",
    diag: str = "N",
) -> np.ndarray:
    """B ← α op(A)⁻¹ B (side L) or α B op(A)⁻¹ (side R), in place, A triangular (its uplo
    triangle; diag U: unit diagonal, not read); returns B."""
    _check_a("trsm", A, B, side)
    run(TRSM, (alpha, A, B, side, uplo, trans_a, diag))
    return B


@fast_first(GEMM, "C")
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
    return run(GEMM, (alpha, A, B, beta, C, trans_a, trans_b))[4]


__all__ = ["gemm", "hemm", "her2k", "herk", "symm", "syr2k", "syrk", "trmm", "trsm"]
