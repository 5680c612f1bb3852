"""Level 2 BLAS (dense storage): one spec per routine.

Structured matrices read or write one triangle (``uplo``); the other triangle, and its
shadow, are never touched. A stored off-diagonal S_ij of a symmetric matrix stands for
A_ij and A_ji, so its adjoint is the sum of both contributions (the diagonal gets one); a
Hermitian S_ij stands for A_ij = S_ij and A_ji = conj(S_ij), and BLAS reads Im S_ii as 0.
her/her2 set Im A_ii = 0 (as OpenBLAS and the reference BLAS do, unless α = 0, when they
return at once).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad.specs.core import DIAG, TRANS, UPLO, Arg, Spec, op
from blasad.specs.structure import hermitian, on_triangle, scaled, symmetric, triangular


def _update(A: np.ndarray, D: np.ndarray, uplo: str, hermitian_: bool, alpha: Any) -> np.ndarray:
    """A + D on the uplo triangle; her/her2 (α ≠ 0) also zero the diagonal's imaginary part."""
    out = on_triangle(A, A + D, uplo)
    if hermitian_ and alpha != 0:
        i = np.arange(A.shape[0])
        out[i, i] = out[i, i].real
    return out


# ---- specs -------------------------------------------------------------------------------

GEMV = Spec(
    name="gemv",
    formula="y ← α op(A) x + β y",
    args=(
        Arg("alpha", "scalar"),
        Arg("A", "matrix", ("m", "n"), trans="trans"),
        Arg("x", "vector", ("n",)),
        Arg("beta", "scalar"),
        Arg("y", "vector", ("m",), out=True),
        Arg("trans", "flag", choices=TRANS),
    ),
    reference=lambda alpha, A, x, beta, y, trans: alpha * (op(A, trans) @ x) + scaled(beta, y),
    adjoint=(
        "Ā += α ȳ xᵀ  (α x ȳᵀ for trans)",
        "x̄ += α op(A)ᵀ ȳ",
        "ᾱ += ⟨ȳ, op(A) x⟩",
        "β̄ += ⟨ȳ, y_old⟩",
        "ȳ ← β ȳ  (exactly 0 when β = 0)",
    ),
    saves="A if x or α is active; x if A or α is active; y_old if β is active",
    seed_scaled=True,
    defaults={"beta": 0.0, "y": None, "trans": "N"},
    doc="""y ← α op(A) x + β y, in place; returns y (allocated when None).

With β = 0, y is not read (NaN in it does not propagate).""",
)


_MV_ADJOINT = (
    "Ā: the stored S_ij (i ≠ j) gets H̄_ij + conj(H̄_ji) with H̄ = conj(α) ȳ xᴴ, i.e. "
    "Ā += conj(α) ȳ xᴴ + α x ȳᴴ on the triangle (her2/syr2); S_ii gets Re H̄_ii once",
    "x̄ += conj(α) H ȳ",
    "ᾱ += ⟨H x, ȳ⟩ = ⟨x, H ȳ⟩",
    "β̄ += ⟨y_old, ȳ⟩",
    "ȳ ← conj(β) ȳ  (exactly 0 when β = 0)",
)


def _mv_spec(name: str, dtypes: str, structure: str, formula: str, fold: Any, **extra: Any) -> Spec:
    """symv / hemv: y ← α A x + β y, A read from its uplo triangle as fold(A, uplo) gives it."""
    return Spec(
        name=name,
        dtypes=dtypes,
        formula=formula,
        args=(
            Arg("alpha", "scalar"),
            Arg("A", "matrix", ("n", "n"), structure=structure),
            Arg("x", "vector", ("n",)),
            Arg("beta", "scalar"),
            Arg("y", "vector", ("n",), out=True),
            Arg("uplo", "flag", choices=UPLO),
        ),
        reference=lambda alpha, A, x, beta, y, uplo: alpha * (fold(A, uplo) @ x) + scaled(beta, y),
        adjoint=_MV_ADJOINT,
        saves="A if x or α is active; x if A or α is active; y_old if β is active",
        seed_scaled=True,
        **extra,
    )


SYMV = _mv_spec(
    "symv",
    "sd",
    "symmetric",
    "y ← α A x + β y  (A symmetric, read from its uplo triangle)",
    symmetric,
    defaults={"beta": 0.0, "y": None, "uplo": "U"},
    other="hemv",
    doc="""y ← α A x + β y with A symmetric (read from its uplo triangle), in place; returns y
(allocated when None). Real dtypes. With β = 0, y is not read.""",
)
HEMV = _mv_spec(
    "hemv",
    "cz",
    "hermitian",
    "y ← α A x + β y  (A Hermitian, read from its uplo triangle; Im A_ii read as 0)",
    hermitian,
    defaults={"beta": 0.0, "y": None, "uplo": "U"},
    other="symv",
    doc="""y ← α A x + β y with A Hermitian (read from its uplo triangle; Im A_ii is read as 0), in
place; returns y (allocated when None). Complex dtypes. With β = 0, y is not read.""",
)

_TR_ARGS = (
    Arg("A", "matrix", ("n", "n"), trans="trans", structure="triangular"),
    Arg("x", "vector", ("n",), inout=True),
    Arg("uplo", "flag", choices=UPLO),
    Arg("trans", "flag", choices=TRANS),
    Arg("diag", "flag", choices=DIAG),
)

TRMV = Spec(
    name="trmv",
    formula="x ← op(A) x  (A triangular: its uplo triangle; diag = U: unit diagonal, not read)",
    args=_TR_ARGS,
    reference=lambda A, x, uplo, trans, diag: op(triangular(A, uplo, diag), trans) @ x,
    adjoint=(
        "Ā += M̄ through op (M̄ = x̄ x_oldᴴ for M = op(A)), on the triangle only (strict for diag = U)",
        "x̄ ← op(A)ᴴ x̄  (trmv)",
    ),
    saves="A if x is active; x_old (a snapshot) if A is active",
    defaults={"uplo": "U", "trans": "N", "diag": "N"},
    doc="""x ← op(A) x with A triangular (its uplo triangle; diag = "U": a unit diagonal, not read),
in place; returns x. op is "N", "T" or "C".""",
)

TRSV = Spec(
    name="trsv",
    formula="x ← op(A)⁻¹ x  (A triangular: its uplo triangle; diag = U: unit diagonal, not read)",
    args=_TR_ARGS,
    reference=lambda A, x, uplo, trans, diag: np.linalg.solve(op(triangular(A, uplo, diag), trans), x),
    adjoint=(
        "x̄ ← op(A)⁻ᴴ x̄  (trsv)",
        "Ā += M̄ through op (M̄ = -x̄ x_newᴴ for M = op(A), with the new x̄), on the triangle only",
    ),
    saves="A if x is active; x_new (the solution, by reference) if A is active",
    defaults={"uplo": "U", "trans": "N", "diag": "N"},
    doc="""x ← op(A)⁻¹ x with A triangular (its uplo triangle; diag = "U": a unit diagonal, not read),
in place; returns x. op is "N", "T" or "C". No test for singularity (as BLAS).""",
)


def _ger_spec(name: str, formula: str, conj_y: bool, **extra: Any) -> Spec:
    return Spec(
        name=name,
        dtypes="sd" if name == "ger" else "cz",
        formula=formula,
        args=(
            Arg("alpha", "scalar"),
            Arg("x", "vector", ("m",)),
            Arg("y", "vector", ("n",)),
            Arg("A", "matrix", ("m", "n"), inout=True),
        ),
        reference=lambda alpha, x, y, A: alpha * np.outer(x, y.conj() if conj_y else y) + A,
        adjoint=(
            ("x̄ += conj(α) Ā y", "ȳ += α Āᴴ x", "ᾱ += ⟨x, Ā y⟩", "Ā unchanged")
            if conj_y
            else ("x̄ += conj(α) Ā conj(y)", "ȳ += conj(α) Āᵀ conj(x)", "ᾱ += ⟨x, Ā conj(y)⟩", "Ā unchanged")
        ),
        saves="x if y or α is active; y if x or α is active",
        **extra,
    )


GER = _ger_spec(
    "ger",
    "A ← α x yᵀ + A",
    False,
    other="geru or gerc",
    doc="""A ← α x yᵀ + A, in place; returns A. Real dtypes (complex: geru, gerc).""",
)
GERU = _ger_spec(
    "geru",
    "A ← α x yᵀ + A",
    False,
    other="ger",
    doc="""A ← α x yᵀ + A, in place; returns A. Complex dtypes.""",
)
GERC = _ger_spec(
    "gerc",
    "A ← α x yᴴ + A",
    True,
    other="ger",
    doc="""A ← α x yᴴ + A, in place; returns A. Complex dtypes.""",
)

_R_ADJOINT = (
    "x̄ += α K x, K = H + D: H the symmetric/Hermitian matrix of Ā's triangle, D its real diagonal",
    "ᾱ += ½ Re⟨x, K x⟩",
    "Ā unchanged on the triangle (her: Im Ā_ii ← 0 when α ≠ 0); the other triangle untouched",
)

SYR = Spec(
    name="syr",
    formula="A ← α x xᵀ + A  (on A's uplo triangle; unconjugated for complex)",
    args=(
        Arg("alpha", "scalar"),
        Arg("x", "vector", ("n",)),
        Arg("A", "matrix", ("n", "n"), inout=True, structure="symmetric"),
        Arg("uplo", "flag", choices=UPLO),
    ),
    reference=lambda alpha, x, A, uplo: _update(A, alpha * np.outer(x, x), uplo, False, alpha),
    adjoint=(
        "x̄ += conj(α) K conj(x), K = S + D: S the symmetric matrix of Ā's triangle, D its diagonal",
        "ᾱ += ½ ⟨x, K conj(x)⟩",
        "Ā unchanged on the triangle; the other triangle untouched",
    ),
    saves="x if x or α is active",
    defaults={"uplo": "U"},
    doc="""A ← α x xᵀ + A on A's uplo triangle (the other is untouched), in place; returns A.
For complex dtypes the update is symmetric, not conjugated (LAPACK's csyr, zsyr; her is the
Hermitian one); α is complex.""",
)

HER = Spec(
    name="her",
    dtypes="cz",
    formula="A ← α x xᴴ + A  (α real; on A's uplo triangle; Im A_ii ← 0 unless α = 0)",
    args=(
        Arg("alpha", "scalar", real=True),
        Arg("x", "vector", ("n",)),
        Arg("A", "matrix", ("n", "n"), inout=True, structure="hermitian"),
        Arg("uplo", "flag", choices=UPLO),
    ),
    reference=lambda alpha, x, A, uplo: _update(A, alpha * np.outer(x, x.conj()), uplo, True, alpha),
    adjoint=_R_ADJOINT,
    saves="x if x or α is active",
    defaults={"uplo": "U"},
    other="syr",
    doc="""A ← α x xᴴ + A with α real, on A's uplo triangle (the other is untouched), in place;
returns A. Complex dtypes. Im A_ii is set to 0 unless α = 0.""",
)

_R2_ADJOINT = (
    "x̄ += conj(α) K y, ȳ += α K x, K = H + D: H the symmetric/Hermitian matrix of Ā's triangle, "
    "D its real diagonal",
    "ᾱ += ⟨x, K y⟩",
    "Ā unchanged on the triangle (her2: Im Ā_ii ← 0 when α ≠ 0); the other triangle untouched",
)


def _r2_args(structure: str) -> tuple[Arg, ...]:
    """syr2 / her2: (α, x, y, A updated in place on its uplo triangle, uplo)."""
    return (
        Arg("alpha", "scalar"),
        Arg("x", "vector", ("n",)),
        Arg("y", "vector", ("n",)),
        Arg("A", "matrix", ("n", "n"), inout=True, structure=structure),
        Arg("uplo", "flag", choices=UPLO),
    )


SYR2 = Spec(
    name="syr2",
    dtypes="sd",
    formula="A ← α x yᵀ + α y xᵀ + A  (on A's uplo triangle)",
    args=_r2_args("symmetric"),
    reference=lambda alpha, x, y, A, uplo: _update(
        A, alpha * (np.outer(x, y) + np.outer(y, x)), uplo, False, alpha
    ),
    adjoint=_R2_ADJOINT,
    saves="x if y or α is active; y if x or α is active",
    defaults={"uplo": "U"},
    other="her2",
    doc="""A ← α x yᵀ + α y xᵀ + A on A's uplo triangle (the other is untouched), in place;
returns A. Real dtypes.""",
)

HER2 = Spec(
    name="her2",
    dtypes="cz",
    formula="A ← α x yᴴ + conj(α) y xᴴ + A  (on A's uplo triangle; Im A_ii ← 0 unless α = 0)",
    args=_r2_args("hermitian"),
    reference=lambda alpha, x, y, A, uplo: _update(
        A, alpha * np.outer(x, y.conj()) + np.conj(alpha) * np.outer(y, x.conj()), uplo, True, alpha
    ),
    adjoint=_R2_ADJOINT,
    saves="x if y or α is active; y if x or α is active",
    defaults={"uplo": "U"},
    other="syr2",
    doc="""A ← α x yᴴ + conj(α) y xᴴ + A on A's uplo triangle (the other is untouched), in place;
returns A. Complex dtypes. Im A_ii is set to 0 unless α = 0.""",
)

ROUTINES: tuple[Spec, ...] = (GEMV, SYMV, HEMV, TRMV, TRSV, GER, GERU, GERC, SYR, HER, SYR2, HER2)
