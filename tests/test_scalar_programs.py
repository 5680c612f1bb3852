"""Real programs written the way a numerical programmer writes them, with active scalars between
the BLAS calls: unblocked Cholesky (potf2), Householder QR (geqr2 with a larfg in Python
arithmetic), conjugate gradients, GMRES with Givens rotations, and the SciPy twin's
normalisation. Each is checked three ways:
  - its forward result against an independent oracle (numpy.linalg, scipy.linalg, SciPy's CG);
  - its gradient against central finite differences (ba.gradcheck: every element, and the
    dot-product test), in float64 and, where the math is complex, complex128;
  - recorded with warnings turned into errors and under Tape(check=True): a natural program
    loses no gradient, and Tape and autodiff agree.
The last tests show the failure mode is loud: float(r) or a NumPy store A[j, j] = r inside a
recording warns GradientLostWarning at the program's own line, and raises under check=True.

The programs read tracked elements as 0-d views (A[j, j, ...]), store scalars with out= and
keep every number between two BLAS calls a blasad.Scalar (the rules of blasad/_scalar.py).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.linalg
import scipy.linalg.blas
import scipy.sparse.linalg

import blasad as ba
from blasad.linalg import blas

# a natural program loses no gradient: any warning (GradientLostWarning above all) fails the test
pytestmark = pytest.mark.filterwarnings("error")


def assert_gradient(check: ba.GradCheck) -> None:
    """ba.gradcheck passed, and its errors are small against the gradient's own size."""
    assert check.ok, check
    scale = max(1.0, *(float(np.abs(g).max()) for g in check.numeric))
    assert check.max_abs_error <= 1e-6 * scale, check
    assert abs(check.dot_adjoint - check.dot_numeric) <= 1e-6 * max(1.0, abs(check.dot_numeric)), check
    assert any(np.abs(a).max() > 1e-3 for a in check.adjoints)  # not a vacuous zero gradient


def spd(rng: np.random.Generator, n: int, cplx: bool = False) -> np.ndarray:
    """A well-conditioned symmetric (Hermitian) positive definite matrix."""
    B = rng.standard_normal((n, n)) + (1j * rng.standard_normal((n, n)) if cplx else 0.0)
    return B @ B.conj().T + n * np.eye(n)


def vector(rng: np.random.Generator, n: int, cplx: bool = False) -> np.ndarray:
    return rng.standard_normal(n) + (1j * rng.standard_normal(n) if cplx else 0.0)


# ---- 1. Cholesky, LAPACK's potf2 (lower), column by column in place ----------------------------


def potf2(A: np.ndarray) -> None:
    """A ← L with A = L Lᵀ in its lower triangle (the strict upper triangle is not touched)."""
    n = A.shape[0]
    for j in range(n):
        ajj = A[j, j, ...] - ba.dot(A[j, :j], A[j, :j])
        ljj = np.sqrt(ajj, out=A[j, j, ...])
        ba.gemv(-1.0, A[j + 1 :, :j], A[j, :j], 1.0, A[j + 1 :, j])
        ba.scal(1.0 / ljj, A[j + 1 :, j])


def zpotf2(A: np.ndarray) -> None:
    """A ← L with A = L Lᴴ (A Hermitian, read from its lower triangle; Im A_jj ignored)."""
    n = A.shape[0]
    for j in range(n):
        ajj = (A[j, j, ...] - ba.dotc(A[j, :j], A[j, :j])).real
        ljj = np.sqrt(ajj, out=A[j, j, ...])
        # A[j+1:, j] -= A[j+1:, :j] conj(A[j, :j]): LAPACK conjugates the row (zlacgv) for a gemv
        ba.gemm(-1.0, A[j + 1 :, :j], A[j : j + 1, :j], 1.0, A[j + 1 :, j : j + 1], trans_b="C")
        ba.scal(1.0 / ljj, A[j + 1 :, j])


@pytest.mark.parametrize("cplx", [False, True], ids=["float64", "complex128"])
def test_cholesky_potf2(rng: np.random.Generator, cplx: bool) -> None:
    n = 5
    program = zpotf2 if cplx else potf2
    A0 = spd(rng, n, cplx)
    A = A0.copy()
    program(A)
    L = np.tril(A)
    np.testing.assert_allclose(L, np.linalg.cholesky(A0), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(L, scipy.linalg.cholesky(A0, lower=True), rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(np.triu(A, 1), np.triu(A0, 1))  # the upper triangle is untouched
    check = ba.gradcheck(program, A0)
    assert_gradient(check)
    if cplx:  # Im A_jj is not read
        np.testing.assert_allclose(np.diag(check.adjoints[0]).imag, 0.0, atol=1e-9)


# ---- 2. Householder QR, LAPACK's geqr2 with larfg in Python arithmetic --------------------------


def larfg(alpha: np.ndarray, x: np.ndarray, tau: np.ndarray) -> Any:
    """H (alpha; x) = (beta; 0) with H = I - tau v vᴴ, v = (1; x): LAPACK's dlarfg/zlarfg (without
    its rescaling of tiny norms). alpha, x, tau are views: alpha ← beta, x ← v[1:], tau ← tau.
    Returns tau as an active scalar."""
    xnorm = ba.nrm2(x)
    if xnorm == 0.0 and alpha.imag == 0.0:
        return np.multiply(xnorm, 0.0, out=tau)  # H = I
    if alpha.dtype.kind == "c":
        alphr, alphi = ba.Scalar(alpha).real, ba.Scalar(alpha).imag
        beta = -np.sign(alphr) * np.hypot(np.hypot(alphr, alphi), xnorm)
    else:
        beta = -np.sign(alpha) * np.hypot(alpha, xnorm)
    t = np.divide(beta - alpha, beta, out=tau)
    ba.scal(1.0 / (alpha - beta), x)
    np.positive(beta, out=alpha)  # alpha ← beta, a recorded store
    return t


def geqr2(A: np.ndarray, tau: np.ndarray) -> None:
    """A ← R (upper triangle) and the reflectors' v (below the diagonal), tau ← their taus:
    A = H_0 H_1 ... R, as LAPACK's dgeqr2/zgeqr2 leaves it."""
    m, n = A.shape
    for i in range(min(m, n)):
        t = larfg(A[i, i, ...], A[i + 1 :, i], tau[i, ...])
        if i + 1 < n:  # A[i:, i+1:] ← H_iᴴ A[i:, i+1:] = A - conj(tau) v (Aᴴ v)ᴴ
            v = np.empty(m - i, A.dtype)
            v[0] = 1.0
            ba.copy(A[i + 1 :, i], v[1:])
            if A.dtype.kind == "c":
                w = ba.gemv(1.0, A[i:, i + 1 :], v, trans="C")
                ba.gerc(-t.conj(), v, w, A[i:, i + 1 :])
            else:
                w = ba.gemv(1.0, A[i:, i + 1 :], v, trans="T")
                ba.ger(-t, v, w, A[i:, i + 1 :])


def householder_q(A: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Q = H_0 H_1 ... H_{k-1} from geqr2's output, in NumPy."""
    m, n = A.shape
    Q = np.eye(m, dtype=A.dtype)
    for i in reversed(range(min(m, n))):
        v = np.concatenate([[1.0], A[i + 1 :, i]])
        Q[i:, :] -= tau[i] * np.outer(v, v.conj() @ Q[i:, :])
    return Q


@pytest.mark.parametrize("cplx", [False, True], ids=["float64", "complex128"])
def test_householder_qr_geqr2(rng: np.random.Generator, cplx: bool) -> None:
    m, n = 6, 4
    A0 = rng.standard_normal((m, n)) + (1j * rng.standard_normal((m, n)) if cplx else 0.0)
    tau0 = np.zeros(n, A0.dtype)
    A, tau = A0.copy(), tau0.copy()
    geqr2(A, tau)
    R = np.triu(A[:n])
    # LAPACK's own geqrf: the same R, reflectors and taus (its signs: beta = -sign(Re alpha) ...)
    (qr_raw, tau_raw), _ = scipy.linalg.qr(A0, mode="raw")
    np.testing.assert_allclose(A, qr_raw, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(tau, tau_raw, rtol=1e-12, atol=1e-13)
    (R_scipy,) = scipy.linalg.qr(A0, mode="r")
    np.testing.assert_allclose(R, R_scipy[:n], rtol=1e-12, atol=1e-13)
    # numpy.linalg.qr: the same R up to the sign (phase) of each row
    R_np = np.linalg.qr(A0, mode="r")
    phase = np.diag(R) / np.diag(R_np)
    np.testing.assert_allclose(np.abs(phase), 1.0, rtol=1e-12)
    np.testing.assert_allclose(R, phase[:, None] * R_np, rtol=1e-12, atol=1e-13)
    Q = householder_q(A, tau)
    np.testing.assert_allclose(Q.conj().T @ Q, np.eye(m), atol=1e-13)
    np.testing.assert_allclose(Q[:, :n] @ R, A0, atol=1e-13)
    # the gradient of a loss on R, the reflectors and the taus
    assert_gradient(ba.gradcheck(geqr2, A0, tau0))


# ---- 3. Conjugate gradients, a fixed number of iterations ---------------------------------------


def cg(A: np.ndarray, b: np.ndarray, x: np.ndarray, iters: int) -> None:
    """x ← iters steps of CG on A x = b from the initial guess x (A Hermitian positive definite)."""
    dot = ba.dotc if A.dtype.kind == "c" else ba.dot
    r = np.empty_like(b)
    ba.copy(b, r)
    ba.gemv(-1.0, A, x, 1.0, r)  # r = b - A x
    p = np.empty_like(b)
    ba.copy(r, p)
    Ap = np.empty_like(b)
    rr = dot(r, r)
    for _ in range(iters):
        ba.gemv(1.0, A, p, 0.0, Ap)
        alpha = rr / dot(p, Ap)
        ba.axpy(alpha, p, x)
        ba.axpy(-alpha, Ap, r)
        rr_new = dot(r, r)
        beta = rr_new / rr
        ba.scal(beta, p)  # p = r + beta p
        ba.axpy(1.0, r, p)
        rr = rr_new


@pytest.mark.parametrize("cplx", [False, True], ids=["float64", "complex128"])
def test_conjugate_gradient(rng: np.random.Generator, cplx: bool) -> None:
    n, k = 5, 3
    A0, b0, x0 = spd(rng, n, cplx), vector(rng, n, cplx), vector(rng, n, cplx)

    # k < n steps: SciPy's CG from the same initial guess gives the same iterate
    x = x0.copy()
    cg(A0.copy(), b0.copy(), x, k)
    x_scipy, info = scipy.sparse.linalg.cg(A0, b0, x0=x0, rtol=0.0, atol=0.0, maxiter=k)
    assert info == k  # (not converged: it ran exactly k iterations)
    np.testing.assert_allclose(x, x_scipy, rtol=1e-10, atol=1e-12)
    assert np.linalg.norm(b0 - A0 @ x) > 1e-6  # not the solution yet: the gradient test is not trivial

    # n steps solve the system, in exact arithmetic
    x = x0.copy()
    cg(A0.copy(), b0.copy(), x, n)
    np.testing.assert_allclose(x, np.linalg.solve(A0, b0), rtol=1e-11, atol=1e-12)

    # the gradient w.r.t. A, b and the initial guess, after k steps
    assert_gradient(ba.gradcheck(lambda A, b, x: cg(A, b, x, k), A0, b0, x0))


def test_conjugate_gradient_n_steps_has_the_gradient_of_the_solve(rng: np.random.Generator) -> None:
    """After n steps x = A⁻¹ b for every b and every symmetric A: b̄ = A⁻¹ x̄, and along symmetric
    directions Ā = -b̄ xᵀ (its symmetric part); the initial guess gets nothing."""
    n = 5
    A0, b0, x0, xbar = spd(rng, n), vector(rng, n), vector(rng, n), vector(rng, n)
    A, b, x = A0.copy(), b0.copy(), x0.copy()
    with ba.Tape() as tape:
        tape.watch(A, b, x)
        cg(A, b, x, n)
    tape.backward(x, xbar)
    bbar = np.linalg.solve(A0, xbar)
    Abar = -np.outer(bbar, x)
    np.testing.assert_allclose(tape.grad(b), bbar, rtol=1e-9, atol=1e-11)
    sym = tape.grad(A) + tape.grad(A).T
    np.testing.assert_allclose(sym, Abar + Abar.T, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(tape.grad(x), 0.0, atol=1e-11)


# ---- 4. GMRES: k steps of Arnoldi (modified Gram-Schmidt) and Givens rotations ------------------


def gmres(A: np.ndarray, b: np.ndarray, x: np.ndarray, k: int, givens: str = "hypot") -> None:
    """x ← the k-th GMRES iterate for A x = b from 0 (no restart): the x in the Krylov space
    span(b, A b, ..., A^(k-1) b) that minimises ‖b - A x‖. givens: each rotation from Scalar
    arithmetic ("hypot") or from BLAS's rotg on the two entries ("rotg")."""
    n = b.shape[0]
    cs = np.zeros((k, 2))  # rotg's c and s
    V = np.zeros((n, k + 1))  # the Arnoldi basis
    H = np.zeros((k + 1, k))  # the Hessenberg matrix, made upper triangular by the rotations
    g = np.zeros(k + 1)  # ‖b‖ e_1, rotated alike
    ba.copy(b, V[:, 0])
    beta0 = ba.nrm2(V[:, 0], out=g[0, ...])
    ba.scal(1.0 / beta0, V[:, 0])
    rotations: list[tuple[Any, Any]] = []
    for j in range(k):
        w = V[:, j + 1]
        ba.gemv(1.0, A, V[:, j], 0.0, w)
        for i in range(j + 1):  # modified Gram-Schmidt
            h = ba.dot(V[:, i], w, out=H[i, j, ...])
            ba.axpy(-h, V[:, i], w)
        hn = ba.nrm2(w, out=H[j + 1, j, ...])
        ba.scal(1.0 / hn, w)
        for i, (c, s) in enumerate(rotations):  # the earlier rotations, on the new column
            ba.rot(H[i, j : j + 1], H[i + 1, j : j + 1], c, s)
        if givens == "rotg":  # H[j, j] ← r; H[j+1, j] ← BLAS's z (below the triangle trsv reads)
            _, _, c, s = ba.rotg(H[j, j, ...], H[j + 1, j, ...], cs[j, 0, ...], cs[j, 1, ...])
        else:
            a, bb = ba.Scalar(H[j, j, ...]), ba.Scalar(H[j + 1, j, ...])
            r = np.hypot(a, bb)
            c, s = a / r, bb / r  # the rotation that zeroes H[j+1, j]
            ba.rot(H[j, j : j + 1], H[j + 1, j : j + 1], c, s)
        rotations.append((c, s))
        ba.rot(g[j : j + 1], g[j + 1 : j + 2], c, s)
    ba.trsv(H[:k, :k], g[:k], uplo="U")  # y = R⁻¹ g
    ba.gemv(1.0, V[:, :k], g[:k], 0.0, x)  # x = V y


@pytest.mark.parametrize("givens", ["hypot", "rotg"])
def test_gmres(rng: np.random.Generator, givens: str) -> None:
    n, k = 6, 4
    A0 = rng.standard_normal((n, n)) + n * np.eye(n)
    b0 = rng.standard_normal(n)
    x = np.full(n, np.nan)  # overwritten
    gmres(A0, b0, x, k, givens)
    # the oracle: least squares over an orthonormal basis of the Krylov space, by numpy.linalg
    K = np.column_stack([np.linalg.matrix_power(A0, i) @ b0 for i in range(k)])
    Q, _ = np.linalg.qr(K)
    y = np.linalg.lstsq(A0 @ Q, b0, rcond=None)[0]
    np.testing.assert_allclose(x, Q @ y, rtol=1e-10, atol=1e-12)
    assert np.linalg.norm(b0 - A0 @ x) > 1e-6  # not converged yet
    x = np.zeros(n)
    gmres(A0, b0, x, n, givens)
    np.testing.assert_allclose(x, np.linalg.solve(A0, b0), rtol=1e-11, atol=1e-12)
    assert_gradient(ba.gradcheck(lambda A, b, x: gmres(A, b, x, k, givens), A0, b0, np.zeros(n)))


def test_gmres_n_steps_has_the_gradient_of_the_solve(rng: np.random.Generator) -> None:
    """After n steps x = A⁻¹ b: b̄ = A⁻ᵀ x̄ and Ā = -b̄ xᵀ."""
    n = 5
    A0 = rng.standard_normal((n, n)) + n * np.eye(n)
    A, b, x, xbar = A0.copy(), vector(rng, n), np.zeros(n), vector(rng, n)
    with ba.Tape() as tape:
        tape.watch(A, b)
        gmres(A, b, x, n)
    tape.backward(x, xbar)
    bbar = np.linalg.solve(A0.T, xbar)
    np.testing.assert_allclose(tape.grad(b), bbar, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(tape.grad(A), -np.outer(bbar, x), rtol=1e-9, atol=1e-11)


# ---- 5. The SciPy twin: normalise a vector -----------------------------------------------------


def normalise_dscal(x: np.ndarray) -> None:
    blas.dscal(1.0 / blas.dnrm2(x), x)


def normalise_zdscal(x: np.ndarray) -> None:
    blas.zdscal(1.0 / blas.dznrm2(x), x, overwrite_x=1)


def normalise_zscal(x: np.ndarray) -> None:
    blas.zscal(1.0 / blas.dznrm2(x), x)


TWIN_NORMALISATIONS = {
    "dscal": (normalise_dscal, scipy.linalg.blas.dscal, scipy.linalg.blas.dnrm2, False),
    "zdscal": (normalise_zdscal, scipy.linalg.blas.zdscal, scipy.linalg.blas.dznrm2, True),
    "zscal": (normalise_zscal, scipy.linalg.blas.zscal, scipy.linalg.blas.dznrm2, True),
}


@pytest.mark.parametrize("name", TWIN_NORMALISATIONS)
def test_twin_normalisation_forward(rng: np.random.Generator, name: str) -> None:
    program, scipy_scal, scipy_nrm2, cplx = TWIN_NORMALISATIONS[name]
    x0 = vector(rng, 5, cplx)
    x = x0.copy()
    program(x)
    np.testing.assert_allclose(x, x0 / np.linalg.norm(x0), rtol=1e-14)
    np.testing.assert_allclose(x, scipy_scal(1.0 / scipy_nrm2(x0), x0.copy()), rtol=1e-14)


@pytest.mark.parametrize("name", TWIN_NORMALISATIONS)
def test_twin_normalisation_gradient(rng: np.random.Generator, name: str) -> None:
    program, _, _, cplx = TWIN_NORMALISATIONS[name]
    x0 = vector(rng, 5, cplx)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check = ba.gradcheck(program, x0)
    assert_gradient(check)
    assert not caught, [str(w.message) for w in caught]


def test_normalisation_with_blasad_routines(rng: np.random.Generator) -> None:
    """The same normalisation through ba.scal and ba.nrm2 (no twin layer in between)."""
    x0 = vector(rng, 5)
    x = x0.copy()
    ba.scal(1.0 / ba.nrm2(x), x)
    np.testing.assert_allclose(x, x0 / np.linalg.norm(x0), rtol=1e-14)
    assert_gradient(ba.gradcheck(lambda x: ba.scal(1.0 / ba.nrm2(x), x), x0))


def test_complex_normalisation_with_a_real_scalar(rng: np.random.Generator) -> None:
    x0 = vector(rng, 5, cplx=True)
    assert_gradient(ba.gradcheck(lambda x: ba.scal(1.0 / ba.nrm2(x), x), x0))


# ---- 6. No gradient is lost by the programs above; a lost one is loud --------------------------


PROGRAMS: dict[str, tuple[Callable[..., Any], Callable[[np.random.Generator], list[np.ndarray]]]] = {
    "potf2": (potf2, lambda rng: [spd(rng, 5)]),
    "zpotf2": (zpotf2, lambda rng: [spd(rng, 5, True)]),
    "geqr2": (geqr2, lambda rng: [rng.standard_normal((6, 4)), np.zeros(4)]),
    "zgeqr2": (
        geqr2,
        lambda rng: [rng.standard_normal((6, 4)) + 1j * rng.standard_normal((6, 4)), np.zeros(4, complex)],
    ),
    "cg": (lambda A, b, x: cg(A, b, x, 3), lambda rng: [spd(rng, 5), vector(rng, 5), vector(rng, 5)]),
    "zcg": (
        lambda A, b, x: cg(A, b, x, 3),
        lambda rng: [spd(rng, 5, True), vector(rng, 5, True), vector(rng, 5, True)],
    ),
    "gmres": (
        lambda A, b, x: gmres(A, b, x, 4),
        lambda rng: [rng.standard_normal((6, 6)) + 6 * np.eye(6), vector(rng, 6), np.zeros(6)],
    ),
    "normalise": (lambda x: ba.scal(1.0 / ba.nrm2(x), x), lambda rng: [vector(rng, 5)]),
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_natural_programs_lose_no_gradient(rng: np.random.Generator, name: str) -> None:
    """Recorded with every warning an error and under Tape(check=True) (which raises where a
    gradient is lost): nothing is raised, the forward values are those of the plain run, and the
    tape's gradient is autodiff's."""
    program, make = PROGRAMS[name]
    init = make(rng)
    seeds = [vector(rng, x.size, x.dtype.kind == "c").reshape(x.shape) for x in init]
    plain = [x.copy() for x in init]
    program(*plain)

    taped = [x.copy() for x in init]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with ba.Tape(check=True) as tape:
            tape.watch(*taped)
            program(*taped)
        tape.backward(taped, seeds)
    assert tape.ncalls > 0
    for t, p in zip(taped, plain):  # (a recorded complex division may differ in the last bit: below)
        np.testing.assert_allclose(t, p, rtol=1e-13, atol=1e-15)

    dup = [x.copy() for x in init]
    shadows = [s.copy() for s in seeds]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ba.autodiff(program, *(ba.Duplicated(x, dx) for x, dx in zip(dup, shadows)), check=True)
    for x, dx in zip(taped, shadows):
        np.testing.assert_allclose(tape.grad(x), dx, rtol=1e-13, atol=1e-13)


def potf2_float(A: np.ndarray) -> None:
    """potf2 with the diagonal turned into a Python float: 1 / ljj is a constant."""
    n = A.shape[0]
    for j in range(n):
        ajj = A[j, j, ...] - ba.dot(A[j, :j], A[j, :j])
        ljj = float(np.sqrt(ajj, out=A[j, j, ...]))  # LOST: float()
        ba.gemv(-1.0, A[j + 1 :, :j], A[j, :j], 1.0, A[j + 1 :, j])
        ba.scal(1.0 / ljj, A[j + 1 :, j])


def potf2_store(A: np.ndarray) -> None:
    """potf2 with the diagonal stored the NumPy way: the store is invisible to the tape."""
    n = A.shape[0]
    for j in range(n):
        ajj = A[j, j, ...] - ba.dot(A[j, :j], A[j, :j])
        ljj = np.sqrt(ajj)
        A[j, j] = ljj  # LOST: a NumPy store
        ba.gemv(-1.0, A[j + 1 :, :j], A[j, :j], 1.0, A[j + 1 :, j])
        ba.scal(1.0 / ljj, A[j + 1 :, j])


def _line(marker: str) -> int:
    """The line of this file that ends with the comment `# LOST: marker`."""
    lines = Path(__file__).read_text().splitlines()
    (lineno,) = (i for i, line in enumerate(lines, 1) if line.rstrip().endswith(f"# LOST: {marker}"))
    return lineno


@pytest.mark.parametrize(
    "program, marker, what",
    # (NumPy stores one element through float(): the message names it)
    [(potf2_float, "float()", "float()"), (potf2_store, "a NumPy store", "float()")],
    ids=["float", "store"],
)
def test_lost_gradient_is_loud(rng: np.random.Generator, program: Any, marker: str, what: str) -> None:
    A0 = spd(rng, 5)
    A = A0.copy()
    program(A)  # outside a recording: plain numbers, no warning, and the right factor
    np.testing.assert_allclose(np.tril(A), np.linalg.cholesky(A0), rtol=1e-13, atol=1e-13)

    # inside one: a warning per column, each at the program's own line
    A = A0.copy()
    with pytest.warns(ba.GradientLostWarning) as record:
        with ba.Tape() as tape:
            tape.watch(A)
            program(A)
    lost = [w for w in record if issubclass(w.category, ba.GradientLostWarning)]
    assert len(lost) == 5
    for w in lost:
        assert what in str(w.message)
        assert Path(w.filename).resolve() == Path(__file__).resolve(), (w.filename, w.lineno)
        assert w.lineno == _line(marker)
    np.testing.assert_allclose(np.tril(A), np.linalg.cholesky(A0), rtol=1e-13, atol=1e-13)

    # and the warning is no false alarm: the gradient is wrong
    with pytest.warns(ba.GradientLostWarning):
        check = ba.gradcheck(program, A0)
    assert not check.ok
    assert check.max_abs_error > 1e-3


@pytest.mark.parametrize(
    "program, what",
    [
        (potf2_float, "float()"),
        (potf2_store, "A[j, j] = r"),
    ],
    ids=["float", "store"],
)
def test_lost_gradient_raises_under_check(rng: np.random.Generator, program: Any, what: str) -> None:
    A0 = spd(rng, 5)
    A = A0.copy()
    with pytest.raises(ba.GradientLostWarning, match=re.escape(what)):
        with ba.Tape(check=True) as tape:
            tape.watch(A)
            program(A)
    np.testing.assert_array_equal(A[1:], A0[1:])  # it stopped at the first lost number (column 0)


def test_recorded_complex_division_is_numpys(rng: np.random.Generator) -> None:
    x, y = vector(rng, 200, cplx=True), vector(rng, 200, cplx=True)
    a, b = x.copy(), y.copy()
    with ba.Tape() as tape:
        tape.watch(a, b)
        recorded = [(ba.Scalar(a[i, ...]) / ba.Scalar(b[i, ...])).buffer[()] for i in range(200)]
    np.testing.assert_array_equal(recorded, x / y)
