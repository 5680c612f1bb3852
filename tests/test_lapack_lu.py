"""LU routines in programs: factor once and solve many, gesv as getrf + getrs, the inverse, a
blocked LU built of getrf, laswp, trsm and gemm, pivots as constants, and failure (a singular U)
under a tape. The routines one by one are in the spec harness (test_routines.py)."""

import numpy as np
import pytest
import scipy.linalg as sl

import blasad as ba

DTYPES = (np.float64, np.complex128)


def _rand(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return np.asarray(x, dtype)


def _fd(loss, X, eps=1e-6):
    """Central differences of a real loss over X's elements (complex: ∂/∂Re + i ∂/∂Im)."""
    G = np.zeros_like(X)
    steps = (1, 1j) if X.dtype.kind == "c" else (1,)
    for idx in np.ndindex(X.shape):
        for s in steps:
            E = np.zeros_like(X)
            E[idx] = eps * s
            d = (loss(X + E) - loss(X - E)) / (2 * eps)
            G[idx] += d * s
    return G


def _copy(X, order="F"):
    """A recorded copy of X (so that gradients flow back to it)."""
    Y = np.empty(X.shape, X.dtype, order=order)
    ba.geadd(1.0, X, 0.0, Y)
    return Y


def _dot(seed, X):
    return float(np.vdot(seed, X).real)


@pytest.mark.parametrize("dtype", DTYPES)
def test_factor_once_solve_many(dtype, rng):
    """getrf once, then getrs with N, T and C: values as SciPy's lu_solve, gradients with respect
    to A and the right-hand sides as central differences of the solves with A itself (so the
    pivots act as constants)."""
    n, nrhs = 6, 3
    A = _rand(rng, (n, n), dtype)
    Bs = [_rand(rng, (n, nrhs), dtype) for _ in "NTC"]
    seeds = [_rand(rng, (n, nrhs), dtype) for _ in "NTC"]
    with ba.Tape() as tape:
        tape.watch(A, *Bs)
        LU, ipiv = ba.getrf(_copy(A))
        Xs = [ba.getrs(LU, ipiv, _copy(B, "C"), trans) for B, trans in zip(Bs, "NTC")]
    lu, piv = sl.lu_factor(A)
    np.testing.assert_array_equal(ipiv, piv)
    for X, B, trans in zip(Xs, Bs, "NTC"):
        expected = sl.lu_solve((lu, piv), B, trans={"N": 0, "T": 1, "C": 2}[trans])
        np.testing.assert_allclose(X, expected, rtol=1e-12, atol=1e-12)
    tape.backward(Xs, seeds)

    ops = (lambda M: M, lambda M: M.T, lambda M: M.conj().T)

    def loss_A(M):
        return sum(_dot(s, np.linalg.solve(o(M), B)) for s, o, B in zip(seeds, ops, Bs))

    np.testing.assert_allclose(tape.grad(A), _fd(loss_A, A), rtol=1e-6, atol=1e-8)
    for B, s, o in zip(Bs, seeds, ops):
        np.testing.assert_allclose(
            tape.grad(B), _fd(lambda Y, s=s, o=o: _dot(s, np.linalg.solve(o(A), Y)), B), rtol=1e-6, atol=1e-8
        )


@pytest.mark.parametrize("dtype", DTYPES)
def test_pivots_act_as_constants(dtype, rng):
    """The gradient of A ↦ getrs(getrf(A), B) is that of A ↦ A⁻¹ B: the pivots are piecewise
    constant, and A⁻¹ B does not depend on them. Here the pivots are far from the identity."""
    n = 5
    A = _rand(rng, (n, n), dtype)
    A = A[np.argsort(np.abs(A[:, 0].real) + np.abs(A[:, 0].imag))]  # the largest |Re| + |Im| last
    B = _rand(rng, (n, 2), dtype)
    seed = _rand(rng, (n, 2), dtype)
    with ba.Tape() as tape:
        tape.watch(A)
        W, ipiv = ba.getrf(_copy(A))
        X = ba.getrs(W, ipiv, B.copy())
    assert ipiv[0] == n - 1
    tape.backward(X, seed)
    np.testing.assert_allclose(
        tape.grad(A), _fd(lambda M: _dot(seed, np.linalg.solve(M, B)), A), rtol=1e-6, atol=1e-8
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_adjoint_reads_a_copy_of_the_pivots(dtype, rng):
    """A NumPy write to ipiv after the calls (which the tape cannot see) changes no gradient."""
    n = 5
    A = _rand(rng, (n, n), dtype)
    B = _rand(rng, (n, 2), dtype)
    seeds = [_rand(rng, (n, n), dtype), _rand(rng, (n, 2), dtype)]
    grads = []
    for clobber in (False, True):
        with ba.Tape() as tape:
            tape.watch(A, B)
            W, X = _copy(A), _copy(B)
            W, ipiv = ba.getrf(W)
            ba.getrs(W, ipiv, X, "T")
            Y = ba.laswp(_copy(X, "C"), ipiv)
        if clobber:
            ipiv[:] = np.arange(n)[::-1]
        tape.backward([W, Y], seeds)
        grads.append((tape.grad(A), tape.grad(B)))
    for g0, g1 in zip(*grads):
        np.testing.assert_array_equal(g0, g1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gesv_is_getrf_then_getrs_bit_for_bit(dtype, rng):
    n, nrhs = 7, 4
    A = _rand(rng, (n, n), dtype)
    B = _rand(rng, (n, nrhs), dtype)
    seeds = [_rand(rng, (n, n), dtype), _rand(rng, (n, nrhs), dtype)]
    results = []
    for fused in (True, False):
        with ba.Tape() as tape:
            tape.watch(A, B)
            W, X = _copy(A), _copy(B)
            if fused:
                W, X, ipiv = ba.gesv(W, X)
            else:
                W, ipiv = ba.getrf(W)
                X = ba.getrs(W, ipiv, X)
        tape.backward([W, X], seeds)
        results.append((W, X, ipiv, tape.grad(A), tape.grad(B)))
    for a, b in zip(*results):
        assert a.tobytes() == b.tobytes()
    lu, piv, x, info = sl.lapack.get_lapack_funcs("gesv", dtype=np.dtype(dtype))(A, B)
    assert info == 0
    np.testing.assert_array_equal(results[0][0], lu)
    np.testing.assert_array_equal(results[0][1], x)
    np.testing.assert_array_equal(results[0][2], piv)


@pytest.mark.parametrize("dtype", DTYPES)
def test_getri_is_the_inverse_and_its_gradient(dtype, rng):
    n = 6
    A = _rand(rng, (n, n), dtype)
    seed = _rand(rng, (n, n), dtype)
    with ba.Tape() as tape:
        tape.watch(A)
        W, ipiv = ba.getrf(_copy(A, "C"))
        W = ba.getri(W, ipiv)
    np.testing.assert_allclose(W, np.linalg.inv(A), rtol=1e-12, atol=1e-12)
    tape.backward(W, seed)
    np.testing.assert_allclose(
        tape.grad(A), _fd(lambda M: _dot(seed, np.linalg.inv(M)), A), rtol=1e-6, atol=1e-8
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_solve_then_invert_in_place(dtype, rng):
    """getri overwrites the factors getrs saved by reference: copy-on-write keeps them."""
    n = 5
    A = _rand(rng, (n, n), dtype)
    B = _rand(rng, (n, 3), dtype)
    seeds = [_rand(rng, (n, 3), dtype), _rand(rng, (n, n), dtype)]
    with ba.Tape() as tape:
        tape.watch(A, B)
        W, X = _copy(A), _copy(B)
        W, ipiv = ba.getrf(W)
        ba.getrs(W, ipiv, X, "C")
        ba.getri(W, ipiv)
    tape.backward([X, W], seeds)

    def loss(M, Y):
        return _dot(seeds[0], np.linalg.solve(M.conj().T, Y)) + _dot(seeds[1], np.linalg.inv(M))

    np.testing.assert_allclose(tape.grad(A), _fd(lambda M: loss(M, B), A), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tape.grad(B), _fd(lambda Y: loss(A, Y), B), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(9, 5), (5, 9), (8, 8)])
def test_rectangular_getrf_gradient(dtype, shape, rng):
    """Tall and wide A (the square block and the rest): the factors' gradient by central
    differences of the program itself, and the factors as SciPy's."""
    A = _rand(rng, shape, dtype)
    lu, piv = sl.lapack.get_lapack_funcs("getrf", dtype=np.dtype(dtype))(A)[:2]
    W, ipiv = ba.getrf(A.copy())
    np.testing.assert_array_equal(W, lu)
    np.testing.assert_array_equal(ipiv, piv)
    g = ba.gradcheck(lambda X: ba.getrf(X), A, seed=int(rng.integers(2**31)))
    assert g.ok, g.max_abs_error
    np.testing.assert_allclose(g.adjoints[0], g.numeric[0], rtol=1e-6, atol=1e-8)


def _blocked_lu(A, ipiv, nb):
    """Right-looking blocked LU in blasad calls: getrf on each panel, its interchanges applied
    left and right with laswp, trsm for the block row, gemm for the trailing update."""
    n = A.shape[0]
    for j in range(0, n, nb):
        e = min(j + nb, n)
        piv = np.zeros(e - j, np.int64)
        ba.getrf(A[j:, j:e], piv)
        ipiv[j:e] = piv + j
        if j:
            ba.laswp(A[j:, :j], piv)
        if e < n:
            ba.laswp(A[j:, e:], piv)
            ba.trsm(1.0, A[j:e, j:e], A[j:e, e:], "L", "L", "N", "U")
            ba.gemm(-1.0, A[e:, j:e], A[j:e, e:], 1.0, A[e:, e:])


@pytest.mark.parametrize("dtype", DTYPES)
def test_blocked_lu_matches_getrf_and_differentiates(dtype, rng):
    n, nb = 9, 4
    A = _rand(rng, (n, n), dtype)
    W = np.asfortranarray(A)
    ipiv = np.zeros(n, np.int64)
    _blocked_lu(W, ipiv, nb)
    lu, piv = sl.lu_factor(A)
    np.testing.assert_array_equal(ipiv, piv)
    np.testing.assert_allclose(W, lu, rtol=1e-12, atol=1e-12)

    seed = _rand(rng, (n, n), dtype)
    grads = []
    for blocked in (True, False):
        with ba.Tape() as tape:
            tape.watch(A)
            W = _copy(A)
            if blocked:
                _blocked_lu(W, np.zeros(n, np.int64), nb)
            else:
                ba.getrf(W)
        tape.backward(W, seed)
        grads.append(tape.grad(A))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10, atol=1e-12)

    def loss(M):
        LU = sl.lu_factor(M)[0]
        return _dot(seed, LU)

    np.testing.assert_allclose(grads[0], _fd(loss, A), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
def test_laswp_applies_the_factorization_pivots(dtype, rng):
    """laswp(A, ipiv) = P A = L U, and trans T undoes N."""
    m, n = 7, 4
    A = _rand(rng, (m, n), dtype)
    LU, ipiv = ba.getrf(A.copy())
    L = np.tril(LU, -1) + np.eye(m, n)
    PA = ba.laswp(A.copy(), ipiv)
    np.testing.assert_allclose(PA, L @ np.triu(LU[:n]), rtol=1e-12, atol=1e-12)
    assert ba.laswp(PA, ipiv, "T").tobytes() == A.tobytes()


def _singular(n, rng, dtype, col):
    A = _rand(rng, (n, n), dtype)
    A[:, col] = 0  # U[col, col] is exactly zero
    return A


@pytest.mark.parametrize("routine", ["getrf", "gesv"])
def test_a_singular_matrix_raises_naming_the_zero_pivot(routine, rng):
    n, col = 5, 2
    A = _singular(n, rng, np.float64, col)
    A0 = A.copy()
    B = _rand(rng, (n, 2), np.float64)
    B0 = B.copy()
    with pytest.raises(np.linalg.LinAlgError, match=rf"{routine}: U\[2, 2\] is exactly zero") as e:
        ba.getrf(A) if routine == "getrf" else ba.gesv(A, B)
    assert e.value.info == col + 1
    lu, _, info = sl.lapack.dgetrf(A0)
    assert info == col + 1  # (SciPy returns it, and lu_factor warns)
    np.testing.assert_array_equal(A, lu)  # A holds what LAPACK left
    np.testing.assert_array_equal(e.value.info, info)
    if routine == "gesv":
        assert B.tobytes() == B0.tobytes()  # B is not written when the factorization fails


def test_getri_of_a_singular_factor_raises(rng):
    n = 4
    LU = np.triu(_rand(rng, (n, n), np.float64)) + 5 * np.eye(n)
    LU[3, 3] = 0.0
    before = LU.copy()
    with pytest.raises(np.linalg.LinAlgError, match=r"getri: U\[3, 3\] is exactly zero") as e:
        ba.getri(LU, np.arange(n))
    assert e.value.info == 4
    assert LU.tobytes() == before.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_gradient_through_a_failed_factorization_raises(dtype, rng):
    n = 5
    A = _singular(n, rng, dtype, 1)
    with ba.Tape() as tape:
        tape.watch(A)
        W = _copy(A)
        with pytest.raises(np.linalg.LinAlgError, match=r"U\[1, 1\]"):
            ba.getrf(W)
    with pytest.raises(np.linalg.LinAlgError, match="output of a LAPACK call that failed"):
        tape.backward(W, np.ones((n, n), dtype))


def test_retry_after_a_failed_factorization_gives_the_gradient_of_the_retry(rng):
    """Catch the failure, overwrite the factors with blasad calls (A + I), factor again: the
    failed call's record is never reached."""
    n = 5
    A = _singular(n, rng, np.float64, 3)
    seed = _rand(rng, (n, n), np.float64)
    with ba.Tape() as tape:
        tape.watch(A)
        W = _copy(A)
        ipiv = np.zeros(n, np.int64)
        with pytest.raises(np.linalg.LinAlgError):
            ba.getrf(W, ipiv)
        ba.geadd(1.0, A, 0.0, W)
        ba.geadd(1.0, np.eye(n), 1.0, W)
        ba.getrf(W, ipiv)
    tape.backward(W, seed)
    np.testing.assert_allclose(
        tape.grad(A), _fd(lambda M: _dot(seed, sl.lu_factor(M + np.eye(n))[0]), A), rtol=1e-6, atol=1e-8
    )
