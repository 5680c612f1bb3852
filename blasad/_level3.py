"""Level 3 BLAS routines: one spec each, run by the generic front end (_generic.run).

Structured operands read one triangle of A (symm, hemm, trmm, trsm) and the syrk family
writes one triangle of C; the references below read and write exactly those elements, and the
adjoints give (and change) shadows only there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad._generic import fast_first, run
from blasad._specs import SPECS, TRANS, Arg, Spec, op

Scalar = float | complex | np.ndarray

SIDES = ("L", "R")
UPLOS = ("U", "L")
DIAGS = ("N", "U")


def _tri(A: np.ndarray, uplo: str, k: int = 0) -> np.ndarray:
    """The uplo triangle of A (k = 1: strictly), zero elsewhere."""
    return np.triu(A, k) if uplo == "U" else np.tril(A, -k)


def sym_full(A: np.ndarray, uplo: str) -> np.ndarray:
    """The symmetric matrix that A's uplo triangle stands for."""
    return _tri(A, uplo) + _tri(A, uplo, 1).T


def herm_full(A: np.ndarray, uplo: str) -> np.ndarray:
    """The Hermitian matrix that A's uplo triangle stands for (the diagonal's real part)."""
    return _tri(A, uplo, 1) + _tri(A, uplo, 1).T.conj() + np.diag(np.diag(A).real).astype(A.dtype)


def tri_full(A: np.ndarray, uplo: str, diag: str) -> np.ndarray:
    """The triangular matrix that A's uplo triangle (unit diagonal for diag U) stands for."""
    if diag == "N":
        return _tri(A, uplo)
    return _tri(A, uplo, 1) + np.eye(A.shape[0], dtype=A.dtype)


def _old(beta: Any, C: np.ndarray) -> np.ndarray:
    """β C, exactly zero for β = 0 (C is not read then)."""
    return beta * C if beta != 0 else np.zeros_like(C)


def _on_triangle(C: np.ndarray, new: np.ndarray, uplo: str) -> np.ndarray:
    """C with its uplo triangle replaced by new's."""
    mask = np.triu(np.ones(C.shape, bool)) if uplo == "U" else np.tril(np.ones(C.shape, bool))
    return np.where(mask, new, C)


def _xmm_ref(full: Any) -> Any:
    def ref(alpha, A, B, beta, C, side, uplo):  # type: ignore[no-untyped-def]
        S = full(A, uplo)
        return alpha * (S @ B if side == "L" else B @ S) + _old(beta, C)

    return ref


def _herm_diag_real(C: np.ndarray) -> np.ndarray:
    C = C.copy()
    np.fill_diagonal(C, np.diag(C).real)
    return C


def _rk_ref(alpha, A, beta, C, uplo, trans):  # type: ignore[no-untyped-def]
    X = op(A, trans)
    return _on_triangle(C, alpha * (X @ X.T) + _old(beta, C), uplo)


def _herk_ref(alpha, A, beta, C, uplo, trans):  # type: ignore[no-untyped-def]
    if beta == 1 and (alpha == 0 or A.size == 0):  # BLAS's quick return: C untouched
        return C.copy()
    X = op(A, trans)
    return _on_triangle(C, _herm_diag_real(alpha * (X @ X.conj().T) + _old(beta, C)), uplo)


def _r2k_ref(alpha, A, B, beta, C, uplo, trans):  # type: ignore[no-untyped-def]
    X, Y = op(A, trans), op(B, trans)
    return _on_triangle(C, alpha * (X @ Y.T) + alpha * (Y @ X.T) + _old(beta, C), uplo)


def _her2k_ref(alpha, A, B, beta, C, uplo, trans):  # type: ignore[no-untyped-def]
    if beta == 1 and (alpha == 0 or A.size == 0):
        return C.copy()
    X, Y = op(A, trans), op(B, trans)
    new = alpha * (X @ Y.conj().T) + np.conj(alpha) * (Y @ X.conj().T) + _old(beta, C)
    return _on_triangle(C, _herm_diag_real(new), uplo)


def _trmm_ref(alpha, A, B, side, uplo, trans_a, diag):  # type: ignore[no-untyped-def]
    M = op(tri_full(A, uplo, diag), trans_a)
    return alpha * (M @ B if side == "L" else B @ M)


def _trsm_ref(alpha, A, B, side, uplo, trans_a, diag):  # type: ignore[no-untyped-def]
    M = op(tri_full(A, uplo, diag), trans_a)
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
        alpha * (op(A, trans_a) @ op(B, trans_b)) + (beta * C if beta != 0 else np.zeros_like(C))
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
)


def _xmm_spec(name: str, structure: str, what: str, conj: str) -> Spec:
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
            Arg("side", "flag", choices=SIDES),
            Arg("uplo", "flag", choices=UPLOS),
        ),
        reference=_xmm_ref(herm_full if structure == "hermitian" else sym_full),
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
    )


SYMM = _xmm_spec("symm", "symmetric", "symmetric", "")
HEMM = _xmm_spec("hemm", "hermitian", "Hermitian", "conj")

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
        Arg("uplo", "flag", choices=UPLOS),
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
        Arg("uplo", "flag", choices=UPLOS),
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
        Arg("uplo", "flag", choices=UPLOS),
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
        Arg("uplo", "flag", choices=UPLOS),
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
)


def _tr_spec(name: str, formula: str, reference: Any, adjoint: tuple[str, ...], saves: str) -> Spec:
    return Spec(
        name=name,
        formula=formula,
        args=(
            Arg("alpha", "scalar"),
            Arg("A", "matrix", ("ka", "ka"), structure="triangular"),
            Arg("B", "matrix", ("m", "n"), inout=True),
            Arg("side", "flag", choices=SIDES),
            Arg("uplo", "flag", choices=UPLOS),
            Arg("trans_a", "flag", choices=("N", "T", "C")),
            Arg("diag", "flag", choices=DIAGS),
        ),
        reference=reference,
        adjoint=adjoint,
        saves=saves,
        derived=(("ka", "m if side == 'L' else n"),),
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
)


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
    if side not in SIDES:
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


LEVEL3: tuple[Spec, ...] = (GEMM, SYMM, HEMM, SYRK, HERK, SYR2K, HER2K, TRMM, TRSM)
SPECS.update({s.name: s for s in LEVEL3})

__all__ = ["gemm", "hemm", "her2k", "herk", "symm", "syr2k", "syrk", "trmm", "trsm"]
