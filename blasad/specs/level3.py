"""Level 3 BLAS: one spec per routine.

Structured operands read one triangle of A (symm, hemm, trmm, trsm) and the syrk family
writes one triangle of C; the references below read and write exactly those elements, and the
adjoints give (and change) shadows only there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad.specs.core import DIAG, SIDE, TRANS, UPLO, Arg, Spec, op
from blasad.specs.structure import hermitian, on_triangle, scaled, symmetric, triangular


def _xmm_ref(full: Any) -> Any:
    def ref(alpha, A, B, beta, C, side, uplo):  # type: ignore[no-untyped-def]
        S = full(A, uplo)
        return alpha * (S @ B if side == "L" else B @ S) + scaled(beta, C)

    return ref


def _herm_diag_real(C: np.ndarray) -> np.ndarray:
    C = C.copy()
    np.fill_diagonal(C, np.diag(C).real)
    return C


def _rk_ref(alpha, A, beta, C, uplo, trans):  # type: ignore[no-untyped-def]
    X = op(A, trans)
    return on_triangle(C, alpha * (X @ X.T) + scaled(beta, C), uplo)


def _herk_ref(alpha, A, beta, C, uplo, trans):  # type: ignore[no-untyped-def]
    if beta == 1 and (alpha == 0 or A.size == 0):  # BLAS's quick return: C untouched
        return C.copy()
    X = op(A, trans)
    return on_triangle(C, _herm_diag_real(alpha * (X @ X.conj().T) + scaled(beta, C)), uplo)


def _r2k_ref(alpha, A, B, beta, C, uplo, trans):  # type: ignore[no-untyped-def]
    X, Y = op(A, trans), op(B, trans)
    return on_triangle(C, alpha * (X @ Y.T) + alpha * (Y @ X.T) + scaled(beta, C), uplo)


def _her2k_ref(alpha, A, B, beta, C, uplo, trans):  # type: ignore[no-untyped-def]
    if beta == 1 and (alpha == 0 or A.size == 0):
        return C.copy()
    X, Y = op(A, trans), op(B, trans)
    new = alpha * (X @ Y.conj().T) + np.conj(alpha) * (Y @ X.conj().T) + scaled(beta, C)
    return on_triangle(C, _herm_diag_real(new), uplo)


def _trmm_ref(alpha, A, B, side, uplo, trans_a, diag):  # type: ignore[no-untyped-def]
    M = op(triangular(A, uplo, diag), trans_a)
    return alpha * (M @ B if side == "L" else B @ M)


def _trsm_ref(alpha, A, B, side, uplo, trans_a, diag):  # type: ignore[no-untyped-def]
    M = op(triangular(A, uplo, diag), trans_a)
    if side == "L":
        return alpha * np.linalg.solve(M, B) if B.size else alpha * B
    return alpha * np.linalg.solve(M.T, B.T).T if B.size else alpha * B


GEMM = Spec(
    name="gemm",
    formula="C ← α op(A) op(B) + β C",
    args=(
        Arg("alpha", "scalar"),
        Arg("A", "matrix", ("m", "k"), trans="trans_a"),
        Arg("B", "matrix", ("k", "n"), trans="trans_b"),
        Arg("beta", "scalar"),
        Arg("C", "matrix", ("m", "n"), out=True),
        Arg("trans_a", "flag", choices=TRANS),
        Arg("trans_b", "flag", choices=TRANS),
    ),
    reference=lambda alpha, A, B, beta, C, trans_a, trans_b: (
        alpha * (op(A, trans_a) @ op(B, trans_b)) + scaled(beta, C)
    ),
    adjoint=(
        "Ā += α C̄ op(B)ᵀ  (through op)",
        "B̄ += α op(A)ᵀ C̄  (through op)",
        "ᾱ += ⟨C̄, op(A) op(B)⟩",
        "β̄ += ⟨C̄, C_old⟩",
        "C̄ ← β C̄  (exactly 0 when β = 0)",
    ),
    saves="A if B or α is active; B if A or α is active; C_old if β is active",
    seed_scaled=True,
    defaults={"beta": 0.0, "C": None, "trans_a": "N", "trans_b": "N"},
    doc="""C ← α op(A) op(B) + β C, in place; returns C (allocated when None).

op(X) is X, Xᵀ or Xᴴ for the flag "N", "T" or "C". A and B may be any 2-D
views; α and β are numbers (constants) or 0-d arrays (differentiable buffers).
With β = 0, C is not read (NaN in it does not propagate).""",
)


def _xmm_spec(name: str, structure: str, what: str, conj: str, **extra: Any) -> Spec:
    return Spec(
        name=name,
        dtypes="cz" if structure == "hermitian" else "sdcz",
        formula=f"C ← α S B + β C (side L) or α B S + β C (side R), S {what} from A's uplo triangle",
        args=(
            Arg("alpha", "scalar"),
            Arg("A", "matrix", ("ka", "ka"), structure=structure),
            Arg("B", "matrix", ("m", "n")),
            Arg("beta", "scalar"),
            Arg("C", "matrix", ("m", "n"), out=True),
            Arg("side", "flag", choices=SIDE),
            Arg("uplo", "flag", choices=UPLO),
        ),
        reference=_xmm_ref(hermitian if structure == "hermitian" else symmetric),
        adjoint=(
            "S̄ = conj(α) C̄ Bᴴ (side R: conj(α) Bᴴ C̄); on A's triangle only: "
            f"Ā_ij += S̄_ij + {conj}(S̄_ji) off the diagonal, Ā_ii += "
            + ("Re S̄_ii" if structure == "hermitian" else "S̄_ii"),
            "B̄ += conj(α) Sᴴ C̄ (side R: conj(α) C̄ Sᴴ)",
            "ᾱ += ⟨B, Sᴴ C̄⟩ (the same product)",
            "β̄ += ⟨C_old, C̄⟩",
            "C̄ ← conj(β) C̄  (exactly 0 when β = 0)",
        ),
        saves="A if B or α is active; B if A or α is active; C_old if β is active",
        derived=(("ka", "m if side == 'L' else n"),),
        seed_scaled=True,
        **extra,
    )


SYMM = _xmm_spec(
    "symm",
    "symmetric",
    "symmetric",
    "",
    defaults={"beta": 0.0, "C": None, "side": "L", "uplo": "U"},
    doc="""C ← α S B + β C (side L) or α B S + β C (side R), S = Sᵀ read from A's uplo triangle
(complex: symmetric, not conjugated); returns C (allocated when None).""",
)
HEMM = _xmm_spec(
    "hemm",
    "hermitian",
    "Hermitian",
    "conj",
    defaults={"beta": 0.0, "C": None, "side": "L", "uplo": "U"},
    other="symm",
    doc="""C ← α H B + β C (side L) or α B H + β C (side R), H = Hᴴ read from A's uplo triangle
(the diagonal's imaginary part is ignored); complex only; returns C.""",
)

_RK_ADJ_TAIL = (
    "β̄ += ⟨C_old, C̄⟩ on C's uplo triangle",
    "C̄ ← conj(β) C̄ on the uplo triangle only (exactly 0 when β = 0); the other triangle is untouched",
)

_HERM_C_BAR = (
    "C̄ ← β C̄ on the triangle, diagonal β Re C̄_ii (untouched in BLAS's quick return: β = 1, α = 0 or k = 0)"
)

SYRK = Spec(
    name="syrk",
    formula="C ← α op(A) op(A)ᵀ + β C on C's uplo triangle",
    args=(
        Arg("alpha", "scalar"),
        Arg("A", "matrix", ("n", "k"), trans="trans"),
        Arg("beta", "scalar"),
        Arg("C", "matrix", ("n", "n"), out=True, structure="symmetric"),
        Arg("uplo", "flag", choices=UPLO),
        Arg("trans", "flag", choices=("N", "T", "C"), choices_complex=("N", "T")),
    ),
    reference=_rk_ref,
    adjoint=(
        "S = Z + Zᵀ with Z = C̄ on the uplo triangle (the diagonal counted twice)",
        "X = op(A): X̄ = conj(α) S conj(X), Ā += X̄ through op",
        "ᾱ += ⟨X, S conj(X)⟩ / 2",
        *_RK_ADJ_TAIL,
    ),
    saves="A if A or α is active; C_old if β is active",
    defaults={"beta": 0.0, "C": None, "uplo": "U", "trans": "N"},
    doc="""C ← α op(A) op(A)ᵀ + β C on C's uplo triangle (trans N: A is n x k; T: k x n); the other
triangle is not touched; returns C.""",
)

HERK = Spec(
    name="herk",
    dtypes="cz",
    formula="C ← α op(A) op(A)ᴴ + β C on C's uplo triangle (α, β real; Im C_ii ← 0)",
    args=(
        Arg("alpha", "scalar", real=True),
        Arg("A", "matrix", ("n", "k"), trans="trans"),
        Arg("beta", "scalar", real=True),
        Arg("C", "matrix", ("n", "n"), out=True, structure="hermitian"),
        Arg("uplo", "flag", choices=UPLO),
        Arg("trans", "flag", choices=("N", "C")),
    ),
    reference=_herk_ref,
    adjoint=(
        "H = Z + Zᴴ with Z = C̄ on the uplo triangle, its diagonal real",
        "X = op(A): X̄ = α H X, Ā += X̄ through op",
        "ᾱ += Re⟨X, H X⟩ / 2",
        "β̄ += Re⟨C_old, C̄⟩ on the triangle (the diagonal: Re C_old_ii Re C̄_ii)",
        _HERM_C_BAR,
    ),
    saves="A if A or α is active; C_old if β is active",
    defaults={"beta": 0.0, "C": None, "uplo": "U", "trans": "N"},
    other="syrk",
    doc="""C ← α op(A) op(A)ᴴ + β C on C's uplo triangle, α and β real, trans N or C; the imaginary
part of C's diagonal is set to zero (left as is when β = 1 and α = 0 or k = 0, as in BLAS);
complex only; returns C.""",
)

SYR2K = Spec(
    name="syr2k",
    formula="C ← α op(A) op(B)ᵀ + α op(B) op(A)ᵀ + β C on C's uplo triangle",
    args=(
        Arg("alpha", "scalar"),
        Arg("A", "matrix", ("n", "k"), trans="trans"),
        Arg("B", "matrix", ("n", "k"), trans="trans"),
        Arg("beta", "scalar"),
        Arg("C", "matrix", ("n", "n"), out=True, structure="symmetric"),
        Arg("uplo", "flag", choices=UPLO),
        Arg("trans", "flag", choices=("N", "T", "C"), choices_complex=("N", "T")),
    ),
    reference=_r2k_ref,
    adjoint=(
        "S = Z + Zᵀ with Z = C̄ on the uplo triangle (the diagonal counted twice)",
        "X = op(A), Y = op(B): X̄ = conj(α) S conj(Y), Ȳ = conj(α) S conj(X), through op",
        "ᾱ += ⟨X, S conj(Y)⟩",
        *_RK_ADJ_TAIL,
    ),
    saves="A if B or α is active; B if A or α is active; C_old if β is active",
    defaults={"beta": 0.0, "C": None, "uplo": "U", "trans": "N"},
    doc="""C ← α op(A) op(B)ᵀ + α op(B) op(A)ᵀ + β C on C's uplo triangle; returns C.""",
)

HER2K = Spec(
    name="her2k",
    dtypes="cz",
    formula="C ← α op(A) op(B)ᴴ + conj(α) op(B) op(A)ᴴ + β C on C's uplo triangle (β real; Im C_ii ← 0)",
    args=(
        Arg("alpha", "scalar"),
        Arg("A", "matrix", ("n", "k"), trans="trans"),
        Arg("B", "matrix", ("n", "k"), trans="trans"),
        Arg("beta", "scalar", real=True),
        Arg("C", "matrix", ("n", "n"), out=True, structure="hermitian"),
        Arg("uplo", "flag", choices=UPLO),
        Arg("trans", "flag", choices=("N", "C")),
    ),
    reference=_her2k_ref,
    adjoint=(
        "H = Z + Zᴴ with Z = C̄ on the uplo triangle, its diagonal real",
        "X = op(A), Y = op(B): X̄ = conj(α) H Y, Ȳ = α H X, through op",
        "ᾱ += ⟨X, H Y⟩",
        "β̄ += Re⟨C_old, C̄⟩ on the triangle (the diagonal: Re C_old_ii Re C̄_ii)",
        _HERM_C_BAR,
    ),
    saves="A if B or α is active; B if A or α is active; C_old if β is active",
    defaults={"beta": 0.0, "C": None, "uplo": "U", "trans": "N"},
    other="syr2k",
    doc="""C ← α op(A) op(B)ᴴ + conj(α) op(B) op(A)ᴴ + β C on C's uplo triangle, β real, trans N or C;
the imaginary part of C's diagonal is set to zero (as herk); complex only; returns C.""",
)


def _tr_spec(
    name: str, formula: str, reference: Any, adjoint: tuple[str, ...], saves: str, **extra: Any
) -> Spec:
    return Spec(
        name=name,
        formula=formula,
        args=(
            Arg("alpha", "scalar"),
            Arg("A", "matrix", ("ka", "ka"), structure="triangular"),
            Arg("B", "matrix", ("m", "n"), inout=True),
            Arg("side", "flag", choices=SIDE),
            Arg("uplo", "flag", choices=UPLO),
            Arg("trans_a", "flag", choices=("N", "T", "C")),
            Arg("diag", "flag", choices=DIAG),
        ),
        reference=reference,
        adjoint=adjoint,
        saves=saves,
        derived=(("ka", "m if side == 'L' else n"),),
        **extra,
    )


TRMM = _tr_spec(
    "trmm",
    "B ← α op(A) B (side L) or α B op(A) (side R), A triangular (uplo, diag)",
    _trmm_ref,
    (
        "M = op(A): M̄ = conj(α) B̄ B_oldᴴ (side R: conj(α) B_oldᴴ B̄), onto A's triangle through op "
        "(not the diagonal for diag U)",
        "ᾱ += ⟨B_old, Mᴴ B̄⟩",
        "B̄ ← conj(α) Mᴴ B̄ (side R: conj(α) B̄ Mᴴ), in place with trmm; exactly 0 when α = 0",
    ),
    "A; B_old (a snapshot) if A or α is active",
    defaults={"side": "L", "uplo": "U", "trans_a": "N", "diag": "N"},
    doc="""B ← α op(A) B (side L) or α B op(A) (side R), in place, A triangular (its uplo triangle;
diag U: unit diagonal, not read); returns B.""",
)

TRSM = _tr_spec(
    "trsm",
    "B ← α op(A)⁻¹ B (side L) or α B op(A)⁻¹ (side R), A triangular (uplo, diag)",
    _trsm_ref,
    (
        "M = op(A), X = B_new, Q = M⁻ᴴ B̄ (side R: B̄ M⁻ᴴ), in place with trsm",
        "M̄ = -Q Xᴴ (side R: -Xᴴ Q), onto A's triangle through op (not the diagonal for diag U)",
        "ᾱ += ⟨X, B̄⟩ / conj(α)  (α = 0: ⟨B_old, Q⟩)",
        "B̄ ← conj(α) Q  (exactly 0 when α = 0)",
    ),
    "A; the solution X by reference (copied only if overwritten later) if A or α is active; "
    "B_old only if α is active and 0",
    defaults={"side": "L", "uplo": "U", "trans_a": "N", "diag": "N"},
    doc="""B ← α op(A)⁻¹ B (side L) or α B op(A)⁻¹ (side R), in place, A triangular (its uplo
triangle; diag U: unit diagonal, not read); returns B.""",
)


GEADD = Spec(
    name="geadd",
    formula="C ← α op(A) + β C",
    args=(
        Arg("alpha", "scalar"),
        Arg("A", "matrix", ("m", "n"), trans="trans"),
        Arg("beta", "scalar"),
        Arg("C", "matrix", ("m", "n"), out=True),
        Arg("trans", "flag", choices=TRANS),
    ),
    reference=lambda alpha, A, beta, C, trans: alpha * op(A, trans) + scaled(beta, C),
    adjoint=(
        "Ā += conj(α) C̄ through op (α conj(C̄) where op conjugates)",
        "ᾱ += ⟨op(A), C̄⟩",
        "β̄ += ⟨C_old, C̄⟩",
        "C̄ ← conj(β) C̄  (exactly 0 when β = 0)",
    ),
    saves="A if α is active; C_old if β is active",
    seed_scaled=True,
    defaults={"trans": "N"},
    doc="""C ← α op(A) + β C, in place, for matrices of any layout; returns C.

A matrix copy of any layout is ``geadd(1.0, A, 0.0, C)``; with β = 0, C is not read (NaN in it
does not propagate). Recorded like every routine: Ā, ᾱ, β̄ and C̄ ← conj(β) C̄ in the sweep.""",
)


def _fill_prepare(args: dict[str, Any]) -> None:
    """X of any ndim up to 2: a vector or a 0-d array is set through a matrix view of it."""
    X = args["X"]
    if isinstance(X, np.ndarray) and X.ndim < 2:
        args["X"] = X.reshape(1, -1) if X.ndim == 1 else X.reshape(1, 1)
    elif isinstance(X, np.ndarray) and X.ndim > 2:
        raise ValueError(
            f"fill: X must have at most 2 dimensions (a 0-d array, a vector or a matrix), got {X.ndim}"
        )


FILL = Spec(
    name="fill",
    formula="X ← α  (every element)",
    args=(Arg("alpha", "scalar"), Arg("X", "matrix", ("m", "n"), out=True)),
    reference=lambda alpha, X: np.full(X.shape, alpha, dtype=X.dtype),
    adjoint=("ᾱ += Σ X̄", "X̄ ← 0  (exactly: X's old value reaches nothing)"),
    saves="nothing",
    seed_scaled=True,
    prepare=_fill_prepare,
    doc="""X ← α for every element of X (a 0-d array, a vector or a matrix of any layout), in place;
returns X.

A constant written into a tracked array, recorded: X's old value gets a zero adjoint, and an
active α (a 0-d array or a blasad.Scalar) gets Σ X̄.""",
)

ROUTINES: tuple[Spec, ...] = (GEMM, SYMM, HEMM, SYRK, HERK, SYR2K, HER2K, TRMM, TRSM, GEADD, FILL)
