"""Level 2 BLAS (dense storage): the public functions of the routines in blasad.specs.level2."""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad._generic import fast_first, run
from blasad.specs.level2 import GEMV, GER, GERC, GERU, HEMV, HER, HER2, SYMV, SYR, SYR2, TRMV, TRSV

REAL = (np.dtype(np.float32), np.dtype(np.float64))
COMPLEX = (np.dtype(np.complex64), np.dtype(np.complex128))

Scalar = float | complex | np.ndarray


# the dtypes BLAS defines each routine for (others raise TypeError)
DTYPES: dict[str, tuple[np.dtype[Any], ...]] = {
    "symv": REAL,
    "hemv": COMPLEX,
    "trmv": REAL + COMPLEX,
    "trsv": REAL + COMPLEX,
    "ger": REAL,
    "geru": COMPLEX,
    "gerc": COMPLEX,
    "syr": REAL,
    "her": COMPLEX,
    "syr2": REAL,
    "her2": COMPLEX,
}
_OTHER = {"symv": "hemv", "hemv": "symv", "ger": "geru or gerc", "geru": "ger", "gerc": "ger",
          "syr": "her", "her": "syr", "syr2": "her2", "her2": "syr2"}  # fmt: skip


def _dtype_check(name: str, *arrays: Any) -> None:
    """TypeError for a dtype BLAS does not define `name` for (judged by the first array argument)."""
    for a in arrays:
        if isinstance(a, np.ndarray):
            if a.dtype not in DTYPES[name] and a.dtype in REAL + COMPLEX:  # the common case: one test
                kind = "real" if DTYPES[name] == REAL else "complex"
                raise TypeError(
                    f"{name}: {kind} dtypes only ({', '.join(map(str, DTYPES[name]))}), got {a.dtype}; "
                    f"use {_OTHER[name]}"
                )
            return


# ---- public routines -------------------------------------------------------------------------


@fast_first(GEMV, "y")
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
    return run(GEMV, (alpha, A, x, beta, y, trans))[4]


@fast_first(SYMV, "y")
def symv(
    alpha: Scalar,
    A: np.ndarray,
    x: np.ndarray,
    beta: Scalar = 0.0,
    y: np.ndarray | None = None,
    uplo: str = "U",
) -> np.ndarray:
    """y ← α A x + β y with A symmetric (read from its uplo triangle), in place; returns y
    (allocated when None). Real dtypes. With β = 0, y is not read."""
    _dtype_check("symv", A, x)
    return run(SYMV, (alpha, A, x, beta, y, uplo))[4]


def hemv(
    alpha: Scalar,
    A: np.ndarray,
    x: np.ndarray,
    beta: Scalar = 0.0,
    y: np.ndarray | None = None,
    uplo: str = "U",
) -> np.ndarray:
    """y ← α A x + β y with A Hermitian (read from its uplo triangle; Im A_ii is read as 0), in
    place; returns y (allocated when None). Complex dtypes. With β = 0, y is not read."""
    _dtype_check("hemv", A, x)
    return run(HEMV, (alpha, A, x, beta, y, uplo))[4]


@fast_first(TRMV, "x")
def trmv(A: np.ndarray, x: np.ndarray, uplo: str = "U", trans: str = "N", diag: str = "N") -> np.ndarray:
    """x ← op(A) x with A triangular (its uplo triangle; diag = "U": a unit diagonal, not read),
    in place; returns x. op is "N", "T" or "C"."""
    run(TRMV, (A, x, uplo, trans, diag))
    return x


@fast_first(TRSV, "x")
def trsv(A: np.ndarray, x: np.ndarray, uplo: str = "U", trans: str = "N", diag: str = "N") -> np.ndarray:
    """x ← op(A)⁻¹ x with A triangular (its uplo triangle; diag = "U": a unit diagonal, not read),
    in place; returns x. op is "N", "T" or "C". No test for singularity (as BLAS)."""
    run(TRSV, (A, x, uplo, trans, diag))
    return x


@fast_first(GER, "A")
def ger(alpha: Scalar, x: np.ndarray, y: np.ndarray, A: np.ndarray) -> np.ndarray:
    """A ← α x yᵀ + A, in place; returns A. Real dtypes (complex: geru, gerc)."""
    _dtype_check("ger", x, y, A)
    run(GER, (alpha, x, y, A))
    return A


def geru(alpha: Scalar, x: np.ndarray, y: np.ndarray, A: np.ndarray) -> np.ndarray:
    """A ← α x yᵀ + A, in place; returns A. Complex dtypes."""
    _dtype_check("geru", x, y, A)
    run(GERU, (alpha, x, y, A))
    return A


def gerc(alpha: Scalar, x: np.ndarray, y: np.ndarray, A: np.ndarray) -> np.ndarray:
    """A ← α x yᴴ + A, in place; returns A. Complex dtypes."""
    _dtype_check("gerc", x, y, A)
    run(GERC, (alpha, x, y, A))
    return A


@fast_first(SYR, "A")
def syr(alpha: Scalar, x: np.ndarray, A: np.ndarray, uplo: str = "U") -> np.ndarray:
    """A ← α x xᵀ + A on A's uplo triangle (the other is untouched), in place; returns A.
    Real dtypes."""
    _dtype_check("syr", x, A)
    run(SYR, (alpha, x, A, uplo))
    return A


def her(alpha: float | np.ndarray, x: np.ndarray, A: np.ndarray, uplo: str = "U") -> np.ndarray:
    """A ← α x xᴴ + A with α real, on A's uplo triangle (the other is untouched), in place;
    returns A. Complex dtypes. Im A_ii is set to 0 unless α = 0."""
    _dtype_check("her", x, A)
    run(HER, (alpha, x, A, uplo))
    return A


@fast_first(SYR2, "A")
def syr2(alpha: Scalar, x: np.ndarray, y: np.ndarray, A: np.ndarray, uplo: str = "U") -> np.ndarray:
    """A ← α x yᵀ + α y xᵀ + A on A's uplo triangle (the other is untouched), in place;
    returns A. Real dtypes."""
    _dtype_check("syr2", x, y, A)
    run(SYR2, (alpha, x, y, A, uplo))
    return A


def her2(alpha: Scalar, x: np.ndarray, y: np.ndarray, A: np.ndarray, uplo: str = "U") -> np.ndarray:
    """A ← α x yᴴ + conj(α) y xᴴ + A on A's uplo triangle (the other is untouched), in place;
    returns A. Complex dtypes. Im A_ii is set to 0 unless α = 0."""
    _dtype_check("her2", x, y, A)
    run(HER2, (alpha, x, y, A, uplo))
    return A


__all__ = ["gemv", "ger", "gerc", "geru", "hemv", "her", "her2", "symv", "syr", "syr2", "trmv", "trsv"]
