"""LAPACK: Hermitian eigenproblems (syevd, heevd) and the singular value decomposition (gesdd).

The vectors are defined up to a sign (real) or a phase (complex) each, and within a repeated
value's space up to a rotation: the adjoints are exact for the losses that do not depend on
those choices (functions of the values and of projectors onto whole repeated spaces), and a
loss that depends on a complex vector's phase makes backward raise. References are NumPy's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad.specs.core import UPLO, Arg, Spec, real_dtype
from blasad.specs.structure import hermitian, on_triangle, symmetric


def _wide(dtype: np.dtype[Any]) -> type:
    return np.complex128 if dtype.kind == "c" else np.float64


def _unitary(n: int, complex_: bool, rng: Any) -> np.ndarray:
    """A random unitary (real: orthogonal) n × n matrix: the Q of a Gaussian matrix's QR."""
    X = rng.standard_normal((n, n)) + (1j * rng.standard_normal((n, n)) if complex_ else 0)
    Q, _ = np.linalg.qr(X) if n else (X, None)
    return np.asarray(Q)


def _spaced(k: int, rng: Any, first: float) -> np.ndarray:
    """k values first, first + 1, ... each moved by at most 0.2: gaps of at least 0.6."""
    return first + np.arange(k) + rng.uniform(-0.2, 0.2, k)


def make_eigh(args: dict[str, Any], rng: Any) -> None:
    """The harness's A made Hermitian with well separated eigenvalues on its uplo triangle (the
    other triangle keeps its random values, which the routine must not read)."""
    A = args["A"]
    n = A.shape[0]
    Q = _unitary(n, A.dtype.kind == "c", rng)
    H = (Q * _spaced(n, rng, -n / 2)) @ Q.conj().T
    A[...] = on_triangle(A, H.astype(A.dtype), args["uplo"])


def make_svd(args: dict[str, Any], rng: Any) -> None:
    """The harness's A made U diag(s) Vᴴ with well separated singular values, all >= 0.8."""
    A = args["A"]
    m, n = A.shape
    k = min(m, n)
    cplx = A.dtype.kind == "c"
    U, V = _unitary(m, cplx, rng)[:, :k], _unitary(n, cplx, rng)[:, :k]
    A[...] = ((U * _spaced(k, rng, 1.0)[::-1]) @ V.conj().T).astype(A.dtype)


def _phase_fix(X: np.ndarray, j: int, Y: np.ndarray | None = None) -> None:
    """Blasad calls: column j of X (and row j of Y, jointly) times c = conj(x_ij) / |x_ij| for x_ij
    the column's largest entry (that choice is piecewise constant): x_ij becomes real positive,
    so the loss no longer depends on the phase LAPACK chose. Recorded (active scalars, scal)."""
    import blasad as ba  # (the specs import NumPy only; the tests run this)

    i = int(np.argmax(np.abs(X[:, j])))
    x = ba.Scalar(X[i, j, ...])
    c = x.conj() / abs(x)
    ba.scal(c, X[:, j])
    if Y is not None:
        ba.scal(c.conj(), Y[j, :])


def fix_eigh_phases(args: dict[str, Any]) -> None:
    """Spec.after: complex eigenvectors with each column's phase fixed (see _phase_fix)."""
    V = args["A"]
    if V.dtype.kind == "c":
        for j in range(V.shape[1]):
            _phase_fix(V, j)


def fix_svd_phases(args: dict[str, Any]) -> None:
    """Spec.after: complex singular vector pairs (u_j, v_j) with their common phase fixed."""
    U, VT = args["U"], args["VT"]
    if U.dtype.kind == "c":
        for j in range(U.shape[1]):
            _phase_fix(U, j, VT)


def _rephase_columns(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """expected's columns each times the phase (sign) that makes them closest to got's."""
    e = np.array(expected)
    for j in range(e.shape[1]):
        d = np.vdot(e[:, j], got[:, j])
        if d != 0:
            e[:, j] *= d / abs(d)
    return e


def rephase_eigh(got: tuple[np.ndarray, ...], expected: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Spec.rephase: the reference's eigenvectors with our signs (phases)."""
    return (_rephase_columns(got[0], expected[0]), *expected[1:])


def rephase_svd(got: tuple[np.ndarray, ...], expected: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Spec.rephase: the reference's singular vector pairs with our signs (phases): u_j's phase
    taken from ours, v_j's follows it (so VT's rows compare the pairs' common phase)."""
    s, U, VT = expected
    U2, VT2 = np.array(U), np.array(VT)
    for j in range(U2.shape[1]):
        d = np.vdot(U2[:, j], got[1][:, j])
        if d != 0:
            U2[:, j] *= d / abs(d)
            VT2[j, :] *= np.conj(d / abs(d))
    return s, U2, VT2


def _eigh_ref(A: np.ndarray, w: Any, uplo: str) -> Any:  # (V, w)
    H = hermitian(A, uplo) if A.dtype.kind == "c" else symmetric(A, uplo)
    rdt = real_dtype(A.dtype)
    if not np.all(np.isfinite(H)):  # (the harness's NaN probe: every value NaN)
        return np.full(A.shape, np.nan, A.dtype), np.full(A.shape[:1], np.nan, rdt)
    vals, V = np.linalg.eigh(H.astype(_wide(A.dtype))) if A.size else (np.zeros(0), H)
    return V.astype(A.dtype), vals.astype(rdt)


def _svd_ref(A: np.ndarray, s: Any, U: Any, VT: Any, jobz: str) -> Any:  # (s, U, VT)
    m, n = A.shape
    k = min(m, n)
    rdt = real_dtype(A.dtype)
    if not np.all(np.isfinite(A)):
        nan = np.full((m, k), np.nan, A.dtype), np.full((k, n), np.nan, A.dtype)
        return np.full(k, np.nan, rdt), *nan
    if k:
        U2, s2, VT2 = np.linalg.svd(A.astype(_wide(A.dtype)), full_matrices=False)
    else:
        U2, s2, VT2 = np.zeros((m, 0)), np.zeros(0), np.zeros((0, n))
    if jobz == "N":
        U2, VT2 = U2[:, :0], VT2[:0]
    return s2.astype(rdt), U2.astype(A.dtype), VT2.astype(A.dtype)


_EIGH_ADJOINT = (
    "X = Vᴴ V̄ (gemm); complex: |Im X_jj| beyond rounding (a loss of v_j's phase) makes backward raise",
    "G = V Z Vᴴ, Z = diag(w̄) + F ∘ X, F_ij = 1/(w_j - w_i), i ≠ j; 0 where w_i ≈ w_j (16 n eps max|w|)",
    "Ā ← G + Gᴴ = V (Z + Zᴴ) Vᴴ on A's triangle (gemm, then gemmt for the triangle alone), Re G_ii on the "
    "diagonal; 0 on the other (overwritten, not read); w̄ ← 0",
)
_EIGH_DOC = """A ← V, w ← λ with A = V diag(λ) V{H}, λ ascending: the eigendecomposition; returns (A, w).

A is {kind}, read from its uplo triangle{diag}; its eigenvectors (the orthonormal
columns of V) overwrite all of A, and w (real, of length n; allocated when None) gets the eigenvalues in
ascending order. LAPACK's ?{name} (divide and conquer, jobz "V"). Raises
numpy.linalg.LinAlgError when the algorithm does not converge.

The adjoint is exact for distinct eigenvalues. Each eigenvector is defined up to {phase}, and a
repeated eigenvalue's up to any orthonormal basis of its space: the rule masks the terms of
eigenvalues that agree to 16·n·eps·max|w| (F_ij = 0). That is exact for losses of the
eigenvalues (Σ f(w), ‖V diag(w) V{H}‖) and of the eigenvectors through projectors onto whole
repeated eigenspaces (and the simple eigenvalues' vectors); it drops the in-space part
f'(λ) (V{H} S V)_ij of the gradient of ⟨S, V diag(f(w)) V{H}⟩ (A itself for f = id), which w̄ and V̄
do not carry there.{raise_}"""
_EIGH_FAILURE = "the algorithm failed to compute an eigenvalue (LAPACK's info {info})"


def _evd_spec(name: str, dtypes: str, other: str, H: str, structure: str, complex_: bool) -> Spec:
    """syevd (real, symmetric) and heevd (complex, Hermitian): one spec but for the conjugate,
    and the complex one's phase fix (Spec.after) and phase check."""
    return Spec(
        name=name,
        formula=f"A ← V, w ← λ with A = V diag(λ) V{H} (eigenvectors over A, eigenvalues ascending in w)",
        args=(
            Arg("A", "matrix", ("n", "n"), inout=True, structure=structure),
            Arg("w", "vector", ("n",), out=True, real=True),
            Arg("uplo", "flag", choices=UPLO),
        ),
        reference=_eigh_ref,
        adjoint=_EIGH_ADJOINT,
        saves="V and w, by reference (copied only if a later call overwrites them)",
        dtypes=dtypes,
        other=other,
        column_major=True,
        failure=_EIGH_FAILURE,
        conditioned=make_eigh,
        after=fix_eigh_phases if complex_ else None,
        rephase=rephase_eigh,
        defaults={"w": None, "uplo": "L"},
        doc=_EIGH_DOC.format(
            H=H,
            kind=structure.capitalize() if complex_ else structure,
            diag=" (not the diagonal's imaginary part)" if complex_ else "",
            name=name,
            phase="a phase e^{iφ}" if complex_ else "a sign",
            raise_=(
                " A loss that depends on an eigenvector's phase (Im (Vᴴ V̄)_jj ≠ 0 beyond rounding:\n"
                "Re V[i, j] itself, say, rather than |V[i, j]|) has no gradient: backward raises\n"
                "numpy.linalg.LinAlgError."
            )
            if complex_
            else "",
        ),
    )


SYEVD = _evd_spec("syevd", "sd", "heevd", "ᵀ", "symmetric", complex_=False)
HEEVD = _evd_spec("heevd", "cz", "syevd", "ᴴ", "hermitian", complex_=True)

GESDD = Spec(
    name="gesdd",
    formula="s, U, VT ← the thin SVD A = U diag(s) VT (s descending, U m × k, VT k × n, k = min(m, n))",
    args=(
        Arg("A", "matrix", ("m", "n")),
        Arg("s", "vector", ("k",), out=True, real=True),
        Arg("U", "matrix", ("m", "kv"), out=True),
        Arg("VT", "matrix", ("kv", "n"), out=True),
        Arg("jobz", "flag", choices=("S", "N")),
    ),
    derived=(("k", "m if m < n else n"), ("kv", "0 if jobz == 'N' else k")),
    reference=_svd_ref,
    adjoint=(
        "XU = Uᴴ Ū, XV = VT VT̄ᴴ (gemm); complex: |Im (XU + XV)_jj| beyond rounding (a phase loss) raises",
        "G_ij = F_ij ((XU_ij - conj(XU_ji)) s_j + s_i (XV_ij - conj(XV_ji))), F_ij = 1/(s_j² - s_i²), i ≠ j",
        "F_ij = 0 where s_i ≈ s_j (16 max(m, n) eps s_max); G_jj = s̄_j + i (Im XU_jj - Im XV_jj) / (2 s_j)",
        "S⁻¹ = diag(1/s_j), 0 where s_j ≈ 0 (the same tolerance); m = n: Ā += U G VT",
        "m > n: Ā += (U (G - XU S⁻¹) + Ū S⁻¹) VT; m < n: Ā += U ((G - S⁻¹ XVᴴ) VT + S⁻¹ VT̄)",
        "s̄, Ū, VT̄ ← 0 (outputs whose old values were not read)",
    ),
    saves="s, U and VT, by reference (copied only if a later call overwrites them); jobz N: U and VT, "
    "computed when the call is recorded with A active, kept by the record",
    column_major=True,
    failure="the singular values did not converge (LAPACK's ?bdsdc, info {info})",
    conditioned=make_svd,
    after=fix_svd_phases,
    rephase=rephase_svd,
    defaults={"s": None, "U": None, "VT": None, "jobz": "S"},
    doc="""s, U, VT ← the thin SVD A = U diag(s) VT (jobz "S"), or s alone (jobz "N"); returns (s, U, VT).

A (m × n) is read only (LAPACK's ?gesdd overwrites its input: it works on a copy). s (real, of
length k = min(m, n)) gets the singular values in descending order, U (m × k) the left and VT
(k × n) the right singular vectors (rows); with jobz "N", U is m × 0 and VT is 0 × n and
neither is computed, except under a tape with A active: the adjoint of s needs them, and the
record keeps them. Outputs left None are allocated. Raises numpy.linalg.LinAlgError when the
algorithm does not converge.

The adjoint is exact for distinct nonzero singular values, for m ≥ n and m < n (with the
(I - UUᴴ) Ū and V̄ᴴ (I - VVᴴ) terms of the thin factors). Each pair (u_j, v_j) is defined up to
a common sign (complex: phase), and a repeated singular value's pairs up to a common rotation:
the rule masks the terms of singular values that agree to 16·max(m, n)·eps·s_max. That is
exact for losses of the values (Σ f(s), the nuclear norm Σ s) and of the vectors through
projectors onto whole repeated spaces (U₁U₁ᴴ, V₁V₁ᴴ); it drops the in-space part of the gradient
of U diag(f(s)) VT there (the reconstruction U diag(s) VT at a repeated s). Where s_j is
(numerically) zero the terms with 1/s_j are dropped: exact for losses that do not involve
that value's vectors (Σ s², the best rank-r part U_r diag(s_r) VT_r when s_r > 0), not for the
full reconstruction of a rank-deficient A. A loss that depends on a complex pair's phase
(Im (Uᴴ Ū + Vᴴ V̄)_jj ≠ 0) raises numpy.linalg.LinAlgError in backward.""",
)

ROUTINES: tuple[Spec, ...] = (SYEVD, HEEVD, GESDD)
