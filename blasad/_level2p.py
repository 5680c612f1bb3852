"""Level 2 banded and packed BLAS routines: one spec each, run by the generic front end.

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

from blasad import _routines
from blasad._generic import _flag_code, _lds, fast, fast_first, run
from blasad._native_loader import lib
from blasad._routines import _Call
from blasad._specs import DTYPE_CODES, SPECS, TRANS, Arg, Spec, op, validate
from blasad._tape import _local, address

Scalar = float | complex | np.ndarray
UPLO = ("U", "L")
DIAG = ("N", "U")


# ---- storage <-> dense (the spec references, and for users) -----------------------------


def unpack(AP: np.ndarray, uplo: str = "U") -> np.ndarray:
    """The n × n matrix whose ``uplo`` triangle is stored in packed AP (zeros elsewhere)."""
    n = round((np.sqrt(8 * AP.shape[0] + 1) - 1) / 2)
    M = np.zeros((n, n), AP.dtype)
    p = 0
    for j in range(n):
        rows = range(j + 1) if uplo.upper() == "U" else range(j, n)
        for i in rows:
            M[i, j] = AP[p]
            p += 1
    return M


def pack(M: np.ndarray, uplo: str = "U") -> np.ndarray:
    """The packed storage of the ``uplo`` triangle of the square matrix M."""
    n = M.shape[0]
    cols = [M[: j + 1, j] if uplo.upper() == "U" else M[j:, j] for j in range(n)]
    return np.concatenate(cols) if cols else np.zeros(0, M.dtype)


def unband(A: np.ndarray, m: int, kl: int, ku: int) -> np.ndarray:
    """The m × n matrix stored in band storage A (shape (kl+ku+1, n)): M[i, j] = A[ku+i-j, j]."""
    n = A.shape[1]
    M = np.zeros((m, n), A.dtype)
    for j in range(n):
        for i in range(max(0, j - ku), min(m, j + kl + 1)):
            M[i, j] = A[ku + i - j, j]
    return M


def band(M: np.ndarray, kl: int, ku: int) -> np.ndarray:
    """The band storage (kl+ku+1, n) of M's band: A[ku+i-j, j] = M[i, j] (zeros outside)."""
    m, n = M.shape
    A = np.zeros((kl + ku + 1, n), M.dtype)
    for j in range(n):
        for i in range(max(0, j - ku), min(m, j + kl + 1)):
            A[ku + i - j, j] = M[i, j]
    return A


def _tri_band(A: np.ndarray, uplo: str) -> np.ndarray:
    k = A.shape[0] - 1
    n = A.shape[1]
    return unband(A, n, 0, k) if uplo == "U" else unband(A, n, k, 0)


def _herm(T: np.ndarray) -> np.ndarray:
    """The symmetric / Hermitian matrix with triangle T: its diagonal's imaginary part dropped."""
    strict = T - np.diag(np.diag(T))
    d = np.diag(T).real.astype(T.dtype) if T.dtype.kind == "c" else np.diag(T)
    return strict + strict.conj().T + np.diag(d)


def _tri(T: np.ndarray, diag: str) -> np.ndarray:
    return T - np.diag(np.diag(T)) + np.eye(T.shape[0], dtype=T.dtype) if diag == "U" else T


def _yb(beta: Any, y: np.ndarray) -> Any:
    return beta * y if beta != 0 else np.zeros_like(y)


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


def _symv_spec(name: str, formula: str, packed: bool, structure: str) -> Spec:
    a = (
        Arg("AP", "vector", ("npk",), structure=structure.lower(), storage="packed")
        if packed
        else Arg("A", "matrix", ("k1", "n"), structure=structure, storage="band")
    )
    dense = (
        (lambda S, uplo: _herm(unpack(S, uplo))) if packed else (lambda S, uplo: _herm(_tri_band(S, uplo)))
    )
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
        reference=lambda alpha, S, x, beta, y, uplo: alpha * (dense(S, uplo) @ x) + _yb(beta, y),
        adjoint=_SYMV_ADJ,
        saves=_SYMV_SAVES,
        derived=(("npk", "n * (n + 1) // 2"),) if packed else (("k1", "k + 1"),),
        seed_scaled=True,
    )


SPMV = _symv_spec("spmv", "y ← α A x + β y, A symmetric, packed", True, "symmetric")
HPMV = _symv_spec("hpmv", "y ← α A x + β y, A Hermitian, packed", True, "hermitian")
SBMV = _symv_spec("sbmv", "y ← α A x + β y, A symmetric band", False, "symmetric")
HBMV = _symv_spec("hbmv", "y ← α A x + β y, A Hermitian band", False, "hermitian")


def _trmv_spec(name: str, packed: bool, solve: bool) -> Spec:
    a = (
        Arg("AP", "vector", ("npk",), structure="triangular", storage="packed")
        if packed
        else Arg("A", "matrix", ("k1", "n"), structure="triangular", storage="band")
    )
    tri = (lambda S, uplo: unpack(S, uplo)) if packed else _tri_band

    def reference(S: np.ndarray, x: np.ndarray, uplo: str, trans: str, diag: str) -> np.ndarray:
        M = op(_tri(tri(S, uplo), diag), trans)
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
    )


TPMV = _trmv_spec("tpmv", True, False)
TPSV = _trmv_spec("tpsv", True, True)
TBMV = _trmv_spec("tbmv", False, False)
TBSV = _trmv_spec("tbsv", False, True)


def _spr_spec(name: str, structure: str) -> Spec:
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
    )


SPR = _spr_spec("spr", "symmetric")
HPR = _spr_spec("hpr", "Hermitian")


def _spr2_spec(name: str, structure: str) -> Spec:
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
    )


SPR2 = _spr2_spec("spr2", "symmetric")
HPR2 = _spr2_spec("hpr2", "Hermitian")

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
        alpha * (op(unband(A, m, kl, ku), trans) @ x) + _yb(beta, y)
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
    seed_scaled=True,
)

LEVEL2P: tuple[Spec, ...] = (SPMV, HPMV, SBMV, HBMV, TPMV, TPSV, TBMV, TBSV, SPR, HPR, SPR2, HPR2, GBMV)
SPECS.update({s.name: s for s in LEVEL2P})


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
