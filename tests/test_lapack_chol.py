"""Cholesky and triangular routines in programs: a Gaussian process's negative log-likelihood,
factor once and solve many, a blocked right-looking Cholesky against potrf, potri against
NumPy's inverse, posv against potrf + potrs bit for bit, and failures (info > 0) under a tape.
The routines one by one are in the spec harness (test_routines.py)."""

import numpy as np
import pytest

import blasad as ba

DTYPES = (np.float64, np.complex128)


def hpd(rng, n, dtype=np.float64):
    """A well-conditioned Hermitian (real: symmetric) positive definite matrix."""
    B = rng.standard_normal((n, n)) + (1j * rng.standard_normal((n, n)) if np.dtype(dtype).kind == "c" else 0)
    return np.asarray(B @ B.conj().T / n + np.eye(n), dtype)


def rand(rng, shape, dtype=np.float64):
    x = rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if np.dtype(dtype).kind == "c" else 0)
    return np.asarray(x, dtype)


def tri(uplo):
    return np.tril if uplo == "L" else np.triu


def assert_gradcheck(g):
    assert g.ok, g
    scale = max(1.0, *(float(np.abs(x).max()) for x in g.numeric))
    assert g.max_abs_error <= 1e-6 * scale, g
    assert abs(g.dot_adjoint - g.dot_numeric) <= 1e-6 * max(1.0, abs(g.dot_numeric)), g
    assert any(np.abs(a).max() > 1e-3 for a in g.adjoints)  # not a vacuous zero gradient


# ---- a Gaussian process: K = sf2 X Xᵀ + sn2 I, NLL = ½ yᵀ K⁻¹ y + Σ log L_ii + n/2 log 2π ------


def gp_nll(X, y, sf2, sn2, out):
    """The negative log-likelihood of y under GP(0, K), K from a linear kernel of X built with
    blasad calls (syrk, geadd), its log-determinant from the factor's diagonal as active scalars."""
    n = X.shape[0]
    K = np.zeros((n, n), order="F")
    ba.syrk(sf2, X, 0.0, K, uplo="L")  # K ← sf2 X Xᵀ (lower triangle)
    ba.geadd(sn2, np.eye(n), 1.0, K)  # K += sn2 I
    ba.potrf(K, "L")  # K ← L
    alpha = np.empty((n, 1), order="F")
    ba.geadd(1.0, y[:, None], 0.0, alpha)
    ba.potrs(K, alpha, "L")  # α = K⁻¹ y
    nll = 0.5 * ba.dot(y, alpha[:, 0]) + 0.5 * n * np.log(2 * np.pi)
    for i in range(n):
        nll = nll + np.log(ba.Scalar(K[i, i, ...]))  # ½ log det K = Σ log L_ii (a 0-d view, active)
    np.multiply(nll, 1.0, out=out)


def gp_nll_numpy(X, y, sf2, sn2):
    K = sf2 * X @ X.T + sn2 * np.eye(X.shape[0])
    return 0.5 * y @ np.linalg.solve(K, y) + 0.5 * np.linalg.slogdet(K)[1] + 0.5 * len(y) * np.log(2 * np.pi)


def test_gaussian_process_nll_gradient_matches_central_differences(rng):
    n, d = 7, 3
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    sf2, sn2 = np.array(1.3), np.array(0.4)
    out = np.array(0.0)
    with ba.Tape() as tape:
        tape.watch(X, y, sf2, sn2)
        gp_nll(X, y, sf2, sn2, out)
    assert np.isclose(out, gp_nll_numpy(X, y, sf2, sn2), rtol=1e-13)
    tape.backward(out, np.array(1.0))

    eps = 1e-6
    for x in (X, y, sf2, sn2):
        num = np.zeros(x.shape)
        for idx in np.ndindex(x.shape):
            old = x[idx]
            x[idx] = old + eps
            up = gp_nll_numpy(X, y, sf2, sn2)
            x[idx] = old - eps
            down = gp_nll_numpy(X, y, sf2, sn2)
            x[idx] = old
            num[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(tape.grad(x), num, rtol=1e-6, atol=1e-8)
    assert abs(tape.grad(sn2)) > 1e-2  # (the noise reaches the loss)


def test_gaussian_process_nll_gradcheck(rng):
    n, d = 6, 2
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    assert_gradcheck(ba.gradcheck(gp_nll, X, y, np.array(0.8), np.array(0.5), np.array(0.0), seed=3))


# ---- factor once, solve many -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("order", ["F", "C"])
def test_factor_once_solve_many(dtype, uplo, order, rng):
    """One potrf, then potrs on several right-hand sides (one solved twice in place), read by
    reference: nothing is copied until a later call overwrites the factor (potri, last)."""
    n = 5

    def program(A, B1, B2, b3):
        ba.potrf(A, uplo)
        ba.potrs(A, B1, uplo)
        ba.potrs(A, B2, uplo)
        ba.potrs(A, B2, uplo)  # B2 ← A⁻² B2
        ba.potrs(A, b3[:, None], uplo)
        ba.potri(A, uplo)  # overwrites the factor the solves read

    A = np.array(hpd(rng, n, dtype), order=order)
    B1, B2 = (np.array(rand(rng, (n, k), dtype), order=order) for k in (3, 2))
    b3 = rand(rng, n, dtype)
    assert_gradcheck(ba.gradcheck(program, A, B1, B2, b3, seed=5))

    # the values: A⁻¹ B, and the tape copies nothing before potri overwrites the factor
    H = np.tril(A) + np.tril(A, -1).conj().T if uplo == "L" else np.triu(A) + np.triu(A, 1).conj().T
    H = H - 1j * np.diag(np.diag(H).imag) if np.dtype(dtype).kind == "c" else H
    A2, X1, X2 = A.copy(order=order), B1.copy(order=order), B2.copy(order=order)
    with ba.Tape() as tape:
        tape.watch(A2, X1, X2)
        ba.potrf(A2, uplo)
        for X in (X1, X2):
            ba.potrs(A2, X, uplo)
        assert tape.bytes_copied == 0
        ba.potri(A2, uplo)
        assert tape.bytes_copied > 0  # the factor, saved by reference, copied before potri wrote it
    np.testing.assert_allclose(X1, np.linalg.solve(H, B1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(X2, np.linalg.solve(H, B2), rtol=1e-12, atol=1e-12)


def test_potrs_adjoint_reads_only_the_factors_triangle(rng):
    """The other triangle of A is not read: its adjoint stays exactly zero, its values (NaN) reach nothing."""
    n, k = 6, 3
    for uplo in "LU":
        L = tri(uplo)(rng.standard_normal((n, n))) + 3 * np.eye(n)
        A = L + np.where(tri(uplo)(np.ones((n, n))) == 0, np.nan, 0)
        B = rng.standard_normal((n, k))
        with ba.Tape() as tape:
            tape.watch(A, B)
            ba.potrs(A, B, uplo)
        seed = rng.standard_normal((n, k))
        tape.backward(B, seed)
        gA = tape.grad(A)
        assert np.all(np.isfinite(B)) and np.all(np.isfinite(gA))
        assert np.all(gA[tri(uplo)(np.ones((n, n))) == 0] == 0)
        M = L @ L.T if uplo == "L" else L.T @ L
        np.testing.assert_allclose(tape.grad(B), np.linalg.solve(M, seed), rtol=1e-12)


# ---- a blocked right-looking Cholesky on a tape: potrf on diagonal blocks, trsm, syrk/herk -----


def blocked_cholesky(A, nb):
    """A ← L (lower), block by block: L11 = chol(A11); L21 = A21 L11⁻ᴴ; A22 -= L21 L21ᴴ."""
    n = A.shape[0]
    rk = ba.herk if A.dtype.kind == "c" else ba.syrk
    for k in range(0, n, nb):
        e = min(k + nb, n)
        ba.potrf(A[k:e, k:e], "L")
        if e < n:
            ba.trsm(1.0, A[k:e, k:e], A[e:, k:e], side="R", uplo="L", trans_a="C")
            rk(-1.0, A[e:, k:e], 1.0, A[e:, e:], uplo="L")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["F", "C"])
def test_blocked_cholesky_gradient_matches_potrf(dtype, order, rng):
    n, nb = 11, 3
    A = np.array(hpd(rng, n, dtype), order=order)
    seed = np.tril(rand(rng, (n, n), dtype))

    def adjoint(program):
        X, dX = A.copy(order=order), seed.copy(order=order)
        ba.autodiff(program, ba.Duplicated(X, dX))
        return X, dX

    Lb, gb = adjoint(lambda X: blocked_cholesky(X, nb))
    Lp, gp = adjoint(lambda X: ba.potrf(X, "L"))
    np.testing.assert_allclose(np.tril(Lb), np.tril(Lp), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb, gp, rtol=1e-10, atol=1e-12)
    assert np.all(np.triu(gb, 1) == 0)  # the upper triangle: no seed, and nothing reads it
    assert_gradcheck(ba.gradcheck(lambda X: blocked_cholesky(X, nb), A, seed=11))


# ---- potri: the inverse from the factor --------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_potri_is_the_inverse(dtype, uplo, rng):
    n = 6
    A = hpd(rng, n, dtype)
    W = np.array(A, order="F")
    ba.potrf(W, uplo)
    ba.potri(W, uplo)
    np.testing.assert_allclose(tri(uplo)(W), tri(uplo)(np.linalg.inv(A)), rtol=1e-12, atol=1e-13)
    other = tri(uplo)(np.ones((n, n))) == 0
    assert np.array_equal(W[other], A[other])  # the other triangle is left alone

    # the gradient of inv(A)'s triangle with respect to A's triangle
    assert_gradcheck(ba.gradcheck(lambda X: (ba.potrf(X, uplo), ba.potri(X, uplo)), A, seed=2))


def test_potri_complex_ignores_the_diagonals_imaginary_part(rng):
    n = 4
    A = hpd(rng, n, np.complex128)
    L = np.linalg.cholesky(A)
    W = L + 0.3j * np.eye(n)  # Im L_ii is not read
    ba.potri(W, "L")
    np.testing.assert_allclose(np.tril(W), np.tril(np.linalg.inv(A)), rtol=1e-12, atol=1e-13)
    assert np.all(np.diag(W).imag == 0)


# ---- posv == potrf + potrs, bit for bit (values and adjoints) ----------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("order", ["F", "C"])
def test_posv_is_potrf_then_potrs_bit_for_bit(dtype, uplo, order, rng):
    n, k = 7, 3
    A = np.array(hpd(rng, n, dtype), order=order)
    B = np.array(rand(rng, (n, k), dtype), order=order)
    seeds = (rand(rng, (n, n), dtype), rand(rng, (n, k), dtype))

    def run(program):
        X, Y = A.copy(order=order), B.copy(order=order)
        dX, dY = (s.copy(order=order) for s in seeds)
        ba.autodiff(program, ba.Duplicated(X, dX), ba.Duplicated(Y, dY))
        return X, Y, dX, dY

    def two(X, Y):
        ba.potrf(X, uplo)
        ba.potrs(X, Y, uplo)

    def one(X, Y):
        out = ba.posv(X, Y, uplo)
        assert out[0] is X and out[1] is Y

    for a, b in zip(run(one), run(two)):
        assert a.tobytes() == b.tobytes()
    assert_gradcheck(ba.gradcheck(one, A, B, seed=4))


# ---- trtri and trtrs in a program --------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("diag", ["N", "U"])
def test_trtri_twice_and_trtrs(dtype, uplo, diag, rng):
    """inv(inv(T)) = T; trtrs(T, B, trans C) = trtri(T)ᴴ B; a program of both differentiates exactly."""
    n, k = 5, 2
    T = tri(uplo)(rand(rng, (n, n), dtype)) + n * np.eye(n)
    W = T.copy()
    ba.trtri(W, uplo, diag)
    ba.trtri(W, uplo, diag)
    np.testing.assert_allclose(W, T, rtol=1e-12, atol=1e-12)

    def program(A, B, C):
        ba.trtrs(A, B, uplo, "C", diag)  # B ← op(A)⁻¹ B
        ba.trtri(A, uplo, diag)  # A ← A⁻¹
        ba.trmm(1.0, A, C, uplo=uplo, trans_a="C", diag=diag)  # C ← A⁻ᴴ C

    B = rand(rng, (n, k), dtype)
    A2, B2, C2 = T.copy(), B.copy(), B.copy()
    program(A2, B2, C2)
    np.testing.assert_allclose(B2, C2, rtol=1e-12, atol=1e-12)
    assert_gradcheck(ba.gradcheck(program, T, B, B.copy(), seed=7))


# ---- failure: info > 0 under a tape ------------------------------------------------------------


def test_posv_failure_leaves_b_alone_and_b_still_differentiates(rng):
    n = 4
    A = hpd(rng, n)
    A[1, 1] = -1.0  # the leading minor of order 2 is not positive definite
    B = rng.standard_normal((n, 2))
    with ba.Tape() as tape:
        tape.watch(A, B)
        W, X = A.copy(order="F"), np.empty((n, 2))
        ba.geadd(1.0, A, 0.0, W)
        ba.geadd(2.0, B, 0.0, X)
        with pytest.raises(np.linalg.LinAlgError, match="posv: the leading minor of order 2") as e:
            ba.posv(W, X)
        assert e.value.info == 2
    assert np.array_equal(X, 2 * B)
    tape.backward(X, np.ones((n, 2)))
    np.testing.assert_array_equal(tape.grad(B), 2 * np.ones((n, 2)))


def test_posv_failure_gradient_through_the_factor_raises(rng):
    n = 3
    A = -np.eye(n)
    B = rng.standard_normal((n, 1))
    with ba.Tape() as tape:
        tape.watch(A, B)
        W, X = np.empty((n, n)), np.empty((n, 1))
        ba.geadd(1.0, A, 0.0, W)
        ba.geadd(1.0, B, 0.0, X)
        with pytest.raises(np.linalg.LinAlgError):
            ba.posv(W, X)
    with pytest.raises(np.linalg.LinAlgError, match="output of a LAPACK call that failed"):
        tape.backward(W, np.tril(np.ones((n, n))))


@pytest.mark.parametrize(
    ("name", "call", "message"),
    [
        ("trtri", lambda A, B: ba.trtri(A, "U"), "trtri: A\\[2, 2\\] is exactly zero"),
        ("trtrs", lambda A, B: ba.trtrs(A, B, "U", "T"), "trtrs: A\\[2, 2\\] is exactly zero"),
        ("potri", lambda A, B: ba.potri(A, "U"), "potri: A\\[2, 2\\] is exactly zero"),
    ],
)
def test_zero_diagonal_fails_before_anything_is_written(name, call, message, rng):
    """info = 3 names A[2, 2]; nothing is written or recorded, so the tape goes on exactly."""
    n = 4
    T = np.triu(rng.standard_normal((n, n))) + 2 * np.eye(n)
    T[2, 2] = 0.0
    B = rng.standard_normal((n, 2))
    with ba.Tape() as tape:
        tape.watch(T, B)
        A, X = np.empty((n, n)), np.empty((n, 2))
        ba.geadd(1.0, T, 0.0, A)
        ba.geadd(1.0, B, 0.0, X)
        before = (A.copy(), X.copy())
        with pytest.raises(np.linalg.LinAlgError, match=message) as e:
            call(A, X)
        assert e.value.info == 3
        assert A.tobytes() == before[0].tobytes() and X.tobytes() == before[1].tobytes()
        # a retry with a repaired diagonal:
        ba.geadd(1.0, np.eye(n), 1.0, A)
        call(A, X)
    seedA, seedX = rng.standard_normal((n, n)), rng.standard_normal((n, 2))
    tape.backward([A, X], [seedA, seedX])
    assert np.all(np.isfinite(tape.grad(T))) and np.all(np.isfinite(tape.grad(B)))
    if name == "trtrs":  # X = (T + I)⁻ᵀ B
        M = np.triu(T + np.eye(n))
        np.testing.assert_allclose(tape.grad(B), np.linalg.solve(M, seedX), rtol=1e-12)
