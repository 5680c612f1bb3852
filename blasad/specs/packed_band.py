"""Level 2 BLAS with packed and band storage: one spec per routine.

Storage conventions (those of BLAS, LAPACK and ``scipy.linalg.blas``):

* **Packed** (spmv, hpmv, tpmv, tpsv, spr, hpr, spr2, hpr2): ``AP`` is a 1-D array of length
  n(n+1)/2 holding the ``uplo`` triangle of the n × n matrix A column by column:
  ``uplo="U"``: ``A[i, j] = AP[i + j(j+1)/2]`` for i ≤ j;
  ``uplo="L"``: ``A[i, j] = AP[i + j(2n-j-1)/2]`` for i ≥ j.
  ``AP`` may be any 1-D view; a non-contiguous one is staged through a recorded copy.
* **Band** (gbmv, sbmv, hbmv, tbmv, tbsv): ``A`` is a 2-D array holding the diagonals of the
  matrix in rows, column j of the storage holding column j of the matrix:
  general m × n with kl sub- and ku super-diagonals, shape (kl+ku+1, n):
  ``A[ku + i - j, j] = M[i, j]`` for max(0, j-ku) ≤ i ≤ min(m-1, j+kl);
  symmetric / Hermitian / triangular with k off-diagonals, shape (k+1, n):
  ``uplo="U"``: ``A[k + i - j, j] = M[i, j]`` for max(0, j-k) ≤ i ≤ j;
  ``uplo="L"``: ``A[i - j, j] = M[i, j]`` for j ≤ i ≤ min(n-1, j+k).
  This is LAPACK's ``AB`` (SciPy's ``a``). Entries of the storage outside the band (the
  top-left / bottom-right corners) are not referenced. BLAS reads band storage column-major:
  a ``A`` it cannot address so is staged through a recorded (differentiable) copy.

Adjoints: the stored entries are the differentiable elements. A symmetric or Hermitian
off-diagonal entry stands for A[i, j] and A[j, i] (= conj for Hermitian) and gets both
contributions; a Hermitian diagonal is real (BLAS ignores its imaginary part), so its adjoint
is real; a unit diagonal (``diag="U"``) is not referenced and gets no adjoint. hpr and hpr2
set the imaginary part of the diagonal to 0 when α ≠ 0 (as BLAS does), so it then passes no
adjoint back.

The s/d routines (spmv, sbmv, spr, spr2) take real dtypes and their h counterparts (hpmv, hbmv,
hpr, hpr2) complex ones; the triangular routines and gbmv take all four.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad.specs.core import DIAG, TRANS, UPLO, Arg, Spec, op
from blasad.specs.structure import hermitian, pack, scaled, triangular, unband, unpack


def _tri_band(A: np.ndarray, uplo: str) -> np.ndarray:
    k = A.shape[0] - 1
    n = A.shape[1]
    return unband(A, n, 0, k) if uplo == "U" else unband(A, n, k, 0)


def _rank_update(AP: np.ndarray, D: np.ndarray, uplo: str, alpha_nonzero: bool) -> np.ndarray:
    """AP + the ``uplo`` triangle of the Hermitian D, the diagonal's Im reset when α ≠ 0 (BLAS)."""
    new = AP + pack(D, uplo)
    if AP.dtype.kind == "c" and alpha_nonzero:
        n = D.shape[0]
        idx = [j * (j + 1) // 2 + j if uplo == "U" else j * (2 * n - j + 1) // 2 for j in range(n)]
        new[idx] = new[idx].real
    return new


# ---- specs --------------------------------------------------------------------------------

_SYMV_ADJ = (
    "Ā = conj(α) ȳ xᴴ; stored S̄_ij += Ā_ij + conj(Ā_ji) (i ≠ j), S̄_jj += Re Ā_jj",
    "x̄ += conj(α) A ȳ",
    "ᾱ += ⟨A x, ȳ⟩",
    "β̄ += ⟨y_old, ȳ⟩",
    "ȳ ← conj(β) ȳ  (exactly 0 when β = 0)",
)
_SYMV_SAVES = "A if x or α is active; x if A or α is active; y_old if β is active"


def _symv_spec(name: str, formula: str, packed: bool, structure: str, **extra: Any) -> Spec:
    a = (
        Arg("AP", "vector", ("npk",), structure=structure.lower(), storage="packed")
        if packed
        else Arg("A", "matrix", ("k1", "n"), structure=structure, storage="band")
    )
    stored = unpack if packed else _tri_band
    dense = lambda S, uplo: hermitian(stored(S, uplo), uplo)  # noqa: E731  (symmetric for real S)
    return Spec(
        name=name,
        dtypes="cz" if structure.lower() == "hermitian" else "sd",
        formula=formula,
        args=(
            Arg("alpha", "scalar"),
            a,
            Arg("x", "vector", ("n",)),
            Arg("beta", "scalar"),
            Arg("y", "vector", ("n",), out=True),
            Arg("uplo", "flag", choices=UPLO),
        ),
        reference=lambda alpha, S, x, beta, y, uplo: alpha * (dense(S, uplo) @ x) + scaled(beta, y),
        adjoint=_SYMV_ADJ,
        saves=_SYMV_SAVES,
        derived=(("npk", "n * (n + 1) // 2"),) if packed else (("k1", "k + 1"),),
        seed_scaled=True,
        **extra,
    )


SPMV = _symv_spec(
    "spmv",
    "y ← α A x + β y, A symmetric, packed",
    True,
    "symmetric",
    defaults={"beta": 0.0, "y": None, "uplo": "U"},
    other="hpmv",
    doc="""y ← α A x + β y, A real symmetric n × n in packed storage; returns y (allocated when None).

AP (length n(n+1)/2) holds the ``uplo`` triangle column by column: ``A[i, j] = AP[i + j(j+1)/2]``
(U, i ≤ j) or ``AP[i + j(2n-j-1)/2]`` (L, i ≥ j). Real dtypes; hpmv is the complex one.""",
)
HPMV = _symv_spec(
    "hpmv",
    "y ← α A x + β y, A Hermitian, packed",
    True,
    "hermitian",
    defaults={"beta": 0.0, "y": None, "uplo": "U"},
    other="spmv",
    doc="""y ← α A x + β y, A complex Hermitian n × n in packed storage; returns y.

AP as for spmv; the imaginary parts of the diagonal are not referenced (A's diagonal is
real), so their adjoints are 0. Complex dtypes.""",
)
SBMV = _symv_spec(
    "sbmv",
    "y ← α A x + β y, A symmetric band",
    False,
    "symmetric",
    defaults={"beta": 0.0, "y": None, "uplo": "U"},
    other="hbmv",
    doc="""y ← α M x + β y, M real symmetric n × n band with k off-diagonals; returns y.

A has shape (k+1, n): ``A[k + i - j, j] = M[i, j]`` (U, max(0, j-k) ≤ i ≤ j) or
``A[i - j, j] = M[i, j]`` (L, j ≤ i ≤ min(n-1, j+k)). Real dtypes; hbmv is the complex one.""",
)
HBMV = _symv_spec(
    "hbmv",
    "y ← α A x + β y, A Hermitian band",
    False,
    "hermitian",
    defaults={"beta": 0.0, "y": None, "uplo": "U"},
    other="sbmv",
    doc="""y ← α M x + β y, M complex Hermitian n × n band with k off-diagonals; returns y.

A as for sbmv; the imaginary parts of the diagonal are not referenced. Complex dtypes.""",
)


def _trmv_spec(name: str, packed: bool, solve: bool, **extra: Any) -> Spec:
    a = (
        Arg("AP", "vector", ("npk",), structure="triangular", storage="packed")
        if packed
        else Arg("A", "matrix", ("k1", "n"), structure="triangular", storage="band")
    )
    tri = (lambda S, uplo: unpack(S, uplo)) if packed else _tri_band

    def reference(S: np.ndarray, x: np.ndarray, uplo: str, trans: str, diag: str) -> np.ndarray:
        M = op(triangular(tri(S, uplo), uplo, diag), trans)
        return np.linalg.solve(M, x) if solve else M @ x

    kind = "band" if not packed else "packed"
    return Spec(
        name=name,
        formula=f"x ← op(A)⁻¹ x, A triangular, {kind}" if solve else f"x ← op(A) x, A triangular, {kind}",
        args=(
            a,
            Arg("x", "vector", ("n",), inout=True),
            Arg("uplo", "flag", choices=UPLO),
            Arg("trans", "flag", choices=TRANS),
            Arg("diag", "flag", choices=DIAG),
        ),
        reference=reference,
        adjoint=(
            ("x̄_old = op(A)⁻ᴴ x̄; M̄ = -x̄_old xᴴ" if solve else "M̄ = x̄ x_oldᴴ; x̄_old = op(A)ᴴ x̄")
            + "; Ā = M̄, M̄ᵀ or M̄ᴴ (by op) on the stored triangle, none on a unit diagonal",
        ),
        saves=("A; x (the solution) if A is active" if solve else "A; x_old if A is active"),
        derived=(("npk", "n * (n + 1) // 2"),) if packed else (("k1", "k + 1"),),
        **extra,
    )


TPMV = _trmv_spec(
    "tpmv",
    True,
    False,
    defaults={"uplo": "U", "trans": "N", "diag": "N"},
    doc="""x ← op(A) x, in place, A triangular n × n in packed storage (as for spmv); returns x.

diag="U": A's diagonal is taken as 1 and not referenced (its entries get no adjoint).""",
)
TPSV = _trmv_spec(
    "tpsv",
    True,
    True,
    defaults={"uplo": "U", "trans": "N", "diag": "N"},
    doc="""x ← op(A)⁻¹ x, in place, A triangular n × n in packed storage (as for spmv); returns x.

No singularity test is made (BLAS's contract).""",
)
TBMV = _trmv_spec(
    "tbmv",
    False,
    False,
    defaults={"uplo": "U", "trans": "N", "diag": "N"},
    doc="""x ← op(M) x, in place, M triangular n × n band with k off-diagonals; returns x.

A has shape (k+1, n), laid out as for sbmv.""",
)
TBSV = _trmv_spec(
    "tbsv",
    False,
    True,
    defaults={"uplo": "U", "trans": "N", "diag": "N"},
    doc="""x ← op(M)⁻¹ x, in place, M triangular n × n band with k off-diagonals; returns x.

A has shape (k+1, n), laid out as for sbmv. No singularity test is made.""",
)


def _spr_spec(name: str, structure: str, **extra: Any) -> Spec:
    def reference(alpha: Any, x: np.ndarray, AP: np.ndarray, uplo: str) -> np.ndarray:
        a = float(np.real(alpha))
        return _rank_update(AP, a * np.outer(x, x.conj()), uplo, a != 0)

    return Spec(
        name=name,
        dtypes="cz" if structure.lower() == "hermitian" else "sd",
        formula=f"A ← α x xᴴ + A, A {structure}, packed, α real",
        args=(
            Arg("alpha", "scalar", real=True),
            Arg("x", "vector", ("n",)),
            Arg("AP", "vector", ("npk",), inout=True, structure=structure.lower(), storage="packed"),
            Arg("uplo", "flag", choices=UPLO),
        ),
        reference=reference,
        derived=(("npk", "n * (n + 1) // 2"),),
        adjoint=(
            "H: the Hermitian matrix with stored triangle S̄ and diagonal 2 Re S̄_jj",
            "x̄ += α H x",
            "ᾱ += ½ xᴴ H x",
            "S̄ unchanged (Im S̄_jj ← 0 when α ≠ 0, complex)",
        ),
        saves="x if x or α is active",
        **extra,
    )


SPR = _spr_spec(
    "spr",
    "symmetric",
    defaults={"uplo": "U"},
    other="hpr",
    doc="""A ← α x xᵀ + A, in place, A real symmetric in packed storage (as for spmv); returns AP.""",
)
HPR = _spr_spec(
    "hpr",
    "Hermitian",
    defaults={"uplo": "U"},
    other="spr",
    doc="""A ← α x xᴴ + A, in place, A Hermitian in packed storage, α real; returns AP.

As BLAS does, the imaginary parts of the diagonal are set to 0 when α ≠ 0.""",
)


def _spr2_spec(name: str, structure: str, **extra: Any) -> Spec:
    def reference(alpha: Any, x: np.ndarray, y: np.ndarray, AP: np.ndarray, uplo: str) -> np.ndarray:
        a = complex(alpha) if AP.dtype.kind == "c" else float(alpha)
        D = a * np.outer(x, y.conj()) + np.conj(a) * np.outer(y, x.conj())
        return _rank_update(AP, D, uplo, a != 0)

    return Spec(
        name=name,
        dtypes="cz" if structure.lower() == "hermitian" else "sd",
        formula=f"A ← α x yᴴ + conj(α) y xᴴ + A, A {structure}, packed",
        args=(
            Arg("alpha", "scalar"),
            Arg("x", "vector", ("n",)),
            Arg("y", "vector", ("n",)),
            Arg("AP", "vector", ("npk",), inout=True, structure=structure.lower(), storage="packed"),
            Arg("uplo", "flag", choices=UPLO),
        ),
        reference=reference,
        derived=(("npk", "n * (n + 1) // 2"),),
        adjoint=(
            "H: the Hermitian matrix with stored triangle S̄ and diagonal 2 Re S̄_jj",
            "x̄ += conj(α) H y",
            "ȳ += α H x",
            "ᾱ += ⟨x, H y⟩",
            "S̄ unchanged (Im S̄_jj ← 0 when α ≠ 0, complex)",
        ),
        saves="x if y or α is active; y if x or α is active",
        **extra,
    )


SPR2 = _spr2_spec(
    "spr2",
    "symmetric",
    defaults={"uplo": "U"},
    other="hpr2",
    doc="""A ← α x yᵀ + α y xᵀ + A, in place, A real symmetric in packed storage; returns AP.""",
)
HPR2 = _spr2_spec(
    "hpr2",
    "Hermitian",
    defaults={"uplo": "U"},
    other="spr2",
    doc="""A ← α x yᴴ + conj(α) y xᴴ + A, in place, A Hermitian in packed storage; returns AP.

As BLAS does, the imaginary parts of the diagonal are set to 0 when α ≠ 0.""",
)


def _gbmv_prepare(args: dict[str, Any]) -> None:
    """m left None: the length of y (trans N) or of x (T, C)."""
    if args["m"] is not None or not isinstance(args["trans"], str) or args["trans"].upper() not in TRANS:
        return  # (a bad trans: the validator names it)
    src = args["y"] if args["trans"].upper() == "N" else args["x"]
    if not isinstance(src, np.ndarray):
        raise ValueError("gbmv: pass m (the number of rows of the band matrix) when trans='N' and y is None")
    args["m"] = src.shape[0] if src.ndim == 1 else 0


GBMV = Spec(
    name="gbmv",
    formula="y ← α op(A) x + β y, A general m × n band (kl sub-, ku super-diagonals)",
    args=(
        Arg("alpha", "scalar"),
        Arg("A", "matrix", ("kb", "n"), storage="band"),
        Arg("x", "vector", ("nx",)),
        Arg("beta", "scalar"),
        Arg("y", "vector", ("ny",), out=True),
        Arg("trans", "flag", choices=TRANS),
    ),
    reference=lambda alpha, A, x, beta, y, trans, m, kl, ku: (
        alpha * (op(unband(A, m, kl, ku), trans) @ x) + scaled(beta, y)
    ),
    adjoint=(
        "M̄ = conj(α) ȳ xᴴ for M = op(A); Ā = M̄, M̄ᵀ or M̄ᴴ (by op) on the band",
        "x̄ += conj(α) op(A)ᴴ ȳ",
        "ᾱ += ⟨op(A) x, ȳ⟩",
        "β̄ += ⟨y_old, ȳ⟩",
        "ȳ ← conj(β) ȳ  (exactly 0 when β = 0)",
    ),
    saves="A if x or α is active; x if A or α is active; y_old if β is active",
    derived=(("kb", "kl + ku + 1"), ("nx", "n if trans == 'N' else m"), ("ny", "m if trans == 'N' else n")),
    keywords=("m", "kl", "ku"),
    prepare=_gbmv_prepare,
    seed_scaled=True,
    defaults={"beta": 0.0, "y": None, "trans": "N", "m": None},
    doc="""y ← α op(M) x + β y, M general m × n band with kl sub- and ku super-diagonals; returns y.

A has shape (kl+ku+1, n): ``A[ku + i - j, j] = M[i, j]`` for max(0, j-ku) ≤ i ≤ min(m-1, j+kl)
(LAPACK's AB). m is taken from y (trans "N") or x ("T", "C") when not given; it must be
given for trans "N" with y None.""",
)

ROUTINES: tuple[Spec, ...] = (SPMV, HPMV, SBMV, HBMV, TPMV, TPSV, TBMV, TBSV, SPR, HPR, SPR2, HPR2, GBMV)
