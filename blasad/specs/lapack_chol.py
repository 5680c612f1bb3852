"""LAPACK: Cholesky factorization and the solves and inverses built on triangular factors.

A factorization overwrites the triangle LAPACK writes and leaves the other alone (its adjoint
passes through); pivots, signs and ranks are piecewise constant. References are NumPy's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad.specs.core import DIAG, TRANS, UPLO, Arg, Spec, op
from blasad.specs.structure import hermitian, on_triangle, triangle, triangular


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


def _factor_product(A: np.ndarray, uplo: str, real_diagonal: bool = False) -> np.ndarray:
    """L Lᴴ (uplo L) or Uᴴ U (uplo U) for the factor on A's uplo triangle (real_diagonal: the
    diagonal's imaginary part dropped, as potri reads it)."""
    L = triangle(A, uplo)
    if real_diagonal and A.dtype.kind == "c":
        L = L - 1j * np.diag(np.diag(L).imag)
    return L @ L.conj().T if uplo == "L" else L.conj().T @ L


def _solve(M: np.ndarray, B: np.ndarray) -> np.ndarray:
    return np.linalg.solve(M, B) if B.size else B.copy()


def _potrs_ref(A: np.ndarray, B: np.ndarray, uplo: str) -> np.ndarray:
    return _solve(_factor_product(A, uplo), B)


def _posv_ref(A: np.ndarray, B: np.ndarray, uplo: str) -> Any:  # (new A, new B)
    H = hermitian(A, uplo) if A.dtype.kind == "c" else triangle(A, uplo) + triangle(A, uplo, 1).T
    return _potrf_ref(A, uplo), _solve(H, B)


def _potri_ref(A: np.ndarray, uplo: str) -> np.ndarray:
    S = np.linalg.inv(_factor_product(A, uplo, real_diagonal=True)) if A.size else A.copy()
    if A.dtype.kind == "c":
        S = S - 1j * np.diag(np.diag(S).imag)  # (LAPACK writes a real diagonal)
    return on_triangle(A, S, uplo)


def _trtri_ref(A: np.ndarray, uplo: str, diag: str) -> np.ndarray:
    X = np.linalg.inv(triangular(A, uplo, diag)) if A.size else A.copy()
    written = triangle(np.ones(A.shape, bool), uplo, 1 if diag == "U" else 0)
    return np.where(written, X, A).astype(A.dtype)


def _trtrs_ref(A: np.ndarray, B: np.ndarray, uplo: str, trans: str, diag: str) -> np.ndarray:
    return _solve(op(triangular(A, uplo, diag), trans), B)


POTRS = Spec(
    name="potrs",
    formula="B ← (L Lᴴ)⁻¹ B (uplo L) or (Uᴴ U)⁻¹ B (uplo U), the factor on A's triangle",
    args=(
        Arg("A", "matrix", ("n", "n"), structure="triangular"),
        Arg("B", "matrix", ("n", "nrhs"), inout=True),
        Arg("uplo", "flag", choices=UPLO),
    ),
    reference=_potrs_ref,
    adjoint=(
        "X = B_new, Q = (L Lᴴ)⁻¹ B̄ (potrs); B̄ ← Q",
        "Y = Lᴴ X, Z = Lᴴ Q (trmm): L̄ += -tril(Q Yᴴ + X Zᴴ) = -tril(Q Xᴴ L + X Qᴴ L), O(n² nrhs)",
        "uplo U (L = Uᴴ): Y = U X, Z = U Q, Ū += -triu(Y Qᴴ + Z Xᴴ)",
    ),
    saves="the factor; the solution X if A is active (both by reference, copied only if overwritten later)",
    defaults={"uplo": "L"},
    doc="""B ← (L Lᴴ)⁻¹ B (uplo "L") or (Uᴴ U)⁻¹ B (uplo "U"), in place; returns B.

Solves with a Cholesky factor: A holds the factor on its uplo triangle (as potrf leaves it);
the other triangle is not read. Factor once, solve many: each potrs is one record that reads
the factor by reference.""",
)

POSV = Spec(
    name="posv",
    formula="A ← L with A = L Lᴴ (uplo L) or U with A = Uᴴ U (uplo U), then B ← A⁻¹ B",
    args=(
        Arg("A", "matrix", ("n", "n"), inout=True, structure="hermitian"),
        Arg("B", "matrix", ("n", "nrhs"), inout=True),
        Arg("uplo", "flag", choices=UPLO),
    ),
    reference=_posv_ref,
    adjoint=(
        "potrf followed by potrs: potrs's adjoint (B̄ ← Q = A⁻¹ B̄, L̄ += -tril(Q Xᴴ L + X Qᴴ L)),",
        "then potrf's (Ā from L̄ on A's triangle)",
    ),
    saves="the factor and the solution X, by reference (copied only if overwritten later)",
    failure="the leading minor of order {info} is not positive definite",
    conditioned=make_hpd,
    defaults={"uplo": "L"},
    doc="""A ← its Cholesky factor (uplo "L": L, uplo "U": U), then B ← A⁻¹ B, in place; returns (A, B).

The same LAPACK calls as potrf(A, uplo) followed by potrs(A, B, uplo), with the same results
bit for bit and the composed adjoint. Raises numpy.linalg.LinAlgError (``.info`` the order of
the leading minor that is not positive definite) when A is not: B is then left alone.""",
)

POTRI = Spec(
    name="potri",
    formula="A ← (L Lᴴ)⁻¹ (uplo L) or (Uᴴ U)⁻¹ (uplo U) on A's triangle, the factor read from it",
    args=(
        Arg("A", "matrix", ("n", "n"), inout=True, structure="triangular"),
        Arg("uplo", "flag", choices=UPLO),
    ),
    reference=_potri_ref,
    adjoint=(
        "S = (L Lᴴ)⁻¹, P = S̄ on the triangle, W = P + Pᴴ (the diagonal 2 Re P_ii)",
        "L̄ = -2 tril(S (W/2) S L) = -tril(L⁻ᴴ L⁻¹ W L⁻ᴴ) (three trsm), replacing P; L̄_ii real",
        "uplo U (L = Uᴴ): Ū = -triu(U⁻ᴴ W U⁻¹ U⁻ᴴ)",
    ),
    saves="the factor (a snapshot: the call overwrites it)",
    failure="A[{index}, {index}] is exactly zero: the factor is singular",
    defaults={"uplo": "L"},
    doc="""A ← (L Lᴴ)⁻¹ (uplo "L") or (Uᴴ U)⁻¹ (uplo "U") on A's triangle; returns A.

The inverse from a Cholesky factor: A holds the factor on its uplo triangle (as potrf leaves
it); that triangle is overwritten by the same triangle of the inverse of the original matrix,
the other is left alone. For complex
A the factor's diagonal is real: its imaginary part is not read (it is cleared before LAPACK
runs). Raises numpy.linalg.LinAlgError (``.info`` = i + 1) when A[i, i] is exactly zero;
nothing is written then.""",
)

TRTRI = Spec(
    name="trtri",
    formula="A ← A⁻¹ on A's triangle, A triangular (uplo, diag)",
    args=(
        Arg("A", "matrix", ("n", "n"), inout=True, structure="triangular"),
        Arg("uplo", "flag", choices=UPLO),
        Arg("diag", "flag", choices=DIAG),
    ),
    reference=_trtri_ref,
    adjoint=(
        "X = A⁻¹ (the new value): Ā = -tri(Xᴴ X̄ Xᴴ) on A's triangle (two trmm), replacing X̄",
        "diag U: X̄ and Ā strictly triangular; the diagonal's adjoint passes through",
    ),
    saves="the inverse X, by reference (copied only if overwritten later)",
    failure="A[{index}, {index}] is exactly zero",
    defaults={"uplo": "U", "diag": "N"},
    doc="""A ← A⁻¹ on A's uplo triangle, A triangular; returns A.

diag "U": a unit diagonal, not read and not written. The other triangle is left alone.
Raises numpy.linalg.LinAlgError (``.info`` = i + 1) when A[i, i] is exactly zero (diag "N");
nothing is written then.""",
)

TRTRS = Spec(
    name="trtrs",
    formula="B ← op(A)⁻¹ B, A triangular (uplo, diag)",
    args=(
        Arg("A", "matrix", ("n", "n"), structure="triangular"),
        Arg("B", "matrix", ("n", "nrhs"), inout=True),
        Arg("uplo", "flag", choices=UPLO),
        Arg("trans", "flag", choices=TRANS),
        Arg("diag", "flag", choices=DIAG),
    ),
    reference=_trtrs_ref,
    adjoint=(
        "M = op(A), X = B_new, Q = M⁻ᴴ B̄ (trsm); B̄ ← Q",
        "M̄ = -Q Xᴴ, onto A's triangle through op (not the diagonal for diag U)",
    ),
    saves="A; the solution X if A is active (by reference, copied only if overwritten later)",
    failure="A[{index}, {index}] is exactly zero",
    defaults={"uplo": "U", "trans": "N", "diag": "N"},
    doc="""B ← op(A)⁻¹ B, A triangular (its uplo triangle; diag "U": unit diagonal, not read); returns B.

trsm with α = 1 (side L) after LAPACK's check of the diagonal: raises numpy.linalg.LinAlgError
(``.info`` = i + 1) when A[i, i] is exactly zero (diag "N"), and writes nothing then.""",
)

ROUTINES: tuple[Spec, ...] = (POTRF, POTRS, POSV, POTRI, TRTRI, TRTRS)
