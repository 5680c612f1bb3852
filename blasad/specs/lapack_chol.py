"""LAPACK: Cholesky factorization and the solves and inverses built on triangular factors.

A factorization overwrites the triangle LAPACK writes and leaves the other alone (its adjoint
passes through); pivots, signs and ranks are piecewise constant. References are NumPy's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad.specs.core import UPLO, Arg, Spec
from blasad.specs.structure import hermitian, on_triangle, triangle


def make_hpd(args: dict[str, Any], rng: Any, name: str = "A", uplo: str = "uplo") -> None:
    """The harness's A made Hermitian positive definite on its uplo triangle: A ← B Bᴴ + n I
    there (well conditioned, so finite differences stay inside the domain)."""
    A = args[name]
    n = A.shape[0]
    B = rng.standard_normal((n, n)) + (1j * rng.standard_normal((n, n)) if A.dtype.kind == "c" else 0)
    S = B @ B.conj().T / max(n, 1) + np.eye(n)
    A[...] = on_triangle(A, S.astype(A.dtype), args[uplo])


def _potrf_ref(A: np.ndarray, uplo: str) -> np.ndarray:
    H = hermitian(A, uplo) if A.dtype.kind == "c" else triangle(A, uplo) + triangle(A, uplo, 1).T
    L = np.linalg.cholesky(H) if A.size else H
    return on_triangle(A, L if uplo == "L" else L.conj().T, uplo)


POTRF = Spec(
    name="potrf",
    formula="A ← L with A = L Lᴴ (uplo L) or U with A = Uᴴ U (uplo U), on A's triangle",
    args=(
        Arg("A", "matrix", ("n", "n"), inout=True, structure="hermitian"),
        Arg("uplo", "flag", choices=UPLO),
    ),
    reference=_potrf_ref,
    adjoint=(
        "P = Φ(Lᴴ L̄) (lower triangle, diagonal halved), S = L⁻ᴴ P L⁻¹ (trmm, two trsm)",
        "Ā ← S + Sᴴ on A's triangle (Re S_ii on the diagonal); the other triangle's adjoint passes through",
        "uplo U: the same with L = Uᴴ",
    ),
    saves="the factor, by reference (copied only if a later call overwrites it)",
    failure="the leading minor of order {info} is not positive definite",
    conditioned=make_hpd,
    defaults={"uplo": "L"},
    doc="""A ← L with A = L Lᴴ (uplo "L") or U with A = Uᴴ U (uplo "U"): Cholesky, in place; returns A.

A is Hermitian (real: symmetric) positive definite, read from its uplo triangle (for complex
A the diagonal's imaginary part is not read); the factor overwrites that triangle and the
other is left alone. Raises numpy.linalg.LinAlgError (``.info`` the order of the leading minor
that is not positive definite) when A is not: A then holds what LAPACK left, and a gradient
that reaches those values raises in backward.""",
)

ROUTINES: tuple[Spec, ...] = (POTRF,)
