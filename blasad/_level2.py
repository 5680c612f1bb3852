"""Level 2 BLAS routines: one spec each, run by the generic front end (_generic.run).

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

from blasad._generic import fast_first, run
from blasad._specs import SPECS, TRANS, Arg, Spec, op

Scalar = float | complex | np.ndarray

UPLO = ("U", "L")
DIAG = ("N", "U")
REAL = (np.dtype(np.float32), np.dtype(np.float64))
COMPLEX = (np.dtype(np.complex64), np.dtype(np.complex128))


# ---- NumPy references (the tests' oracle and the specs' documentation) ------------------


def _tri(A: np.ndarray, uplo: str, k: int = 0) -> np.ndarray:
    """The uplo triangle of A, offset k from the diagonal (k = 1: strictly), zeros elsewhere."""
    return np.triu(A, k) if uplo == "U" else np.tril(A, -k)


def _mask(n: int, uplo: str) -> np.ndarray:
    return _tri(np.ones((n, n), bool), uplo)


def symmetric(A: np.ndarray, uplo: str) -> np.ndarray:
    """The symmetric matrix BLAS reads from A's uplo triangle."""
    T = _tri(A, uplo)
    return T + _tri(A, uplo, 1).T


def hermitian(A: np.ndarray, uplo: str) -> np.ndarray:
    """The Hermitian matrix BLAS reads from A's uplo triangle (the diagonal's imaginary part is 0)."""
    H = _tri(A, uplo, 1)
    return H + H.conj().T + np.diag(np.diag(A).real).astype(A.dtype)


def triangular(A: np.ndarray, uplo: str, diag: str) -> np.ndarray:
    """The triangular matrix BLAS reads from A (diag = "U": an implicit unit diagonal)."""
    if diag == "U":
        return _tri(A, uplo, 1) + np.eye(A.shape[0], dtype=A.dtype)
    return _tri(A, uplo)


def _update(A: np.ndarray, D: np.ndarray, uplo: str, hermitian_: bool, alpha: Any) -> np.ndarray:
    """A + D on the uplo triangle; her/her2 (α ≠ 0) also zero the diagonal's imaginary part."""
    out = np.where(_mask(A.shape[0], uplo), A + D, A).astype(A.dtype)
    if hermitian_ and alpha != 0:
        i = np.arange(A.shape[0])
        out[i, i] = out[i, i].real
    return out


def _beta_y(beta: Any, y: np.ndarray) -> np.ndarray:
    return beta * y if beta != 0 else np.zeros_like(y)


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
    reference=lambda alpha, A, x, beta, y, trans: (
        alpha * (op(A, trans) @ x) + (beta * y if beta != 0 else np.zeros_like(y))
    ),
    adjoint=(
        "Ā += α ȳ xᵀ  (α x ȳᵀ for trans)",
        "x̄ += α op(A)ᵀ ȳ",
        "ᾱ += ⟨ȳ, op(A) x⟩",
        "β̄ += ⟨ȳ, y_old⟩",
        "ȳ ← β ȳ  (exactly 0 when β = 0)",
    ),
    saves="A if x or α is active; x if A or α is active; y_old if β is active",
    seed_scaled=True,
)


_MV_ADJOINT = (
    "Ā: the stored S_ij (i ≠ j) gets H̄_ij + conj(H̄_ji) with H̄ = conj(α) ȳ xᴴ, i.e. "
    "Ā += conj(α) ȳ xᴴ + α x ȳᴴ on the triangle (her2/syr2); S_ii gets Re H̄_ii once",
    "x̄ += conj(α) H ȳ",
    "ᾱ += ⟨H x, ȳ⟩ = ⟨x, H ȳ⟩",
    "β̄ += ⟨y_old, ȳ⟩",
    "ȳ ← conj(β) ȳ  (exactly 0 when β = 0)",
)


def _mv_spec(name: str, dtypes: str, structure: str, formula: str, fold: Any) -> Spec:
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
        reference=lambda alpha, A, x, beta, y, uplo: alpha * (fold(A, uplo) @ x) + _beta_y(beta, y),
        adjoint=_MV_ADJOINT,
        saves="A if x or α is active; x if A or α is active; y_old if β is active",
        seed_scaled=True,
    )


SYMV = _mv_spec(
    "symv", "sd", "symmetric", "y ← α A x + β y  (A symmetric, read from its uplo triangle)", symmetric
)
HEMV = _mv_spec(
    "hemv",
    "cz",
    "hermitian",
    "y ← α A x + β y  (A Hermitian, read from its uplo triangle; Im A_ii read as 0)",
    hermitian,
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
)


def _ger_spec(name: str, formula: str, conj_y: bool) -> Spec:
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
    )


GER = _ger_spec("ger", "A ← α x yᵀ + A", False)
GERU = _ger_spec("geru", "A ← α x yᵀ + A", False)
GERC = _ger_spec("gerc", "A ← α x yᴴ + A", True)

_R_ADJOINT = (
    "x̄ += α K x, K = H + D: H the symmetric/Hermitian matrix of Ā's triangle, D its real diagonal",
    "ᾱ += ½ Re⟨x, K x⟩",
    "Ā unchanged on the triangle (her: Im Ā_ii ← 0 when α ≠ 0); the other triangle untouched",
)

SYR = Spec(
    name="syr",
    dtypes="sd",
    formula="A ← α x xᵀ + A  (on A's uplo triangle)",
    args=(
        Arg("alpha", "scalar"),
        Arg("x", "vector", ("n",)),
        Arg("A", "matrix", ("n", "n"), inout=True, structure="symmetric"),
        Arg("uplo", "flag", choices=UPLO),
    ),
    reference=lambda alpha, x, A, uplo: _update(A, alpha * np.outer(x, x), uplo, False, alpha),
    adjoint=_R_ADJOINT,
    saves="x if x or α is active",
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
)

LEVEL2: tuple[Spec, ...] = (GEMV, SYMV, HEMV, TRMV, TRSV, GER, GERU, GERC, SYR, HER, SYR2, HER2)
SPECS.update({s.name: s for s in LEVEL2})

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
