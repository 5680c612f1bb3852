"""Eigen- and singular value decompositions in programs: losses of the values, losses of the
vectors that do not depend on the signs (phases) LAPACK chooses, repeated values (the masked
rule), zero singular values, and the phase-dependent losses that must raise. The routines one
by one (random well-separated spectra, every layout and flag) are in the spec harness.

Each gradient is blasad's (a tape over the program, the loss an active scalar) against central
differences of the same program run without a tape, over every element of A (real and
imaginary parts): elements the routine does not read (syevd's other triangle, a Hermitian
diagonal's imaginary part) must get exactly what the differences give, zero."""

import numpy as np
import pytest
import scipy.linalg

import blasad as ba

DTYPES = (np.float64, np.complex128)


def _random(rng, shape, dtype):
    x = rng.standard_normal(shape)
    return (x + 1j * rng.standard_normal(shape) if np.dtype(dtype).kind == "c" else x).astype(dtype)


def _unitary(rng, n, dtype):
    Q, _ = np.linalg.qr(_random(rng, (n, n), dtype))
    return Q


def _hermitian(rng, w, dtype):
    """Q diag(w) Qᴴ for a random unitary (orthogonal) Q, Fortran-ordered."""
    Q = _unitary(rng, len(w), dtype)
    return np.asfortranarray((Q * np.asarray(w, float)) @ Q.conj().T)


def _with_singular_values(rng, m, n, s, dtype):
    k = min(m, n)
    U, V = _unitary(rng, m, dtype)[:, :k], _unitary(rng, n, dtype)[:, :k]
    return np.asfortranarray((U * np.asarray(s, float)) @ V.conj().T)


def _grad(program, A):
    """∂loss/∂A by blasad: program(W) on W, a recorded copy of A, returns the loss (a Scalar)."""
    with ba.Tape() as tape:
        tape.watch(A)
        W = np.zeros(A.shape, A.dtype, order="F")
        ba.geadd(1.0, A, 0.0, W)
        loss = program(W)
    tape.backward(loss, np.array(1.0, loss.dtype))
    return tape.grad(A)


def _numeric(program, A, eps=1e-6):
    """Central differences of program (no tape) over A's elements: ∂/∂Re + i ∂/∂Im."""

    def f(X):
        return float(np.real(program(np.array(X, order="F"))))

    g = np.zeros(A.shape, A.dtype)
    for idx in np.ndindex(A.shape):
        for d in (1.0, 1j) if A.dtype.kind == "c" else (1.0,):
            E = np.zeros(A.shape, A.dtype)
            E[idx] = d * eps
            g[idx] += d * (f(A + E) - f(A - E)) / (2 * eps)
    return g


def _check(program, A, rtol=1e-6, atol=1e-7):
    got, want = _grad(program, A), _numeric(program, A)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    return got


def _eigh(W, uplo="L"):
    return (ba.heevd if W.dtype.kind == "c" else ba.syevd)(W, None, uplo)


def _sum(scalars):
    total = scalars[0]
    for s in scalars[1:]:
        total = total + s
    return total


def _scaled_columns(X, d):
    """X diag(d) into a new array (recorded): a copy, each column times the active d_j."""
    Y = np.zeros(X.shape, X.dtype, order="F")
    ba.geadd(1.0, X, 0.0, Y)
    for j in range(X.shape[1]):
        ba.scal(ba.Scalar(d[j, ...]), Y[:, j])
    return Y


def _function_of(V, fw):
    """V diag(fw) Vᴴ (recorded)."""
    M = np.zeros((V.shape[0], V.shape[0]), V.dtype, order="F")
    ba.gemm(1.0, _scaled_columns(V, fw), V, 0.0, M, "N", "C")
    return M


def _inner(S, M):
    """Re ⟨S, M⟩ = Re Σ conj(S_ij) M_ij, an active scalar (S constant)."""
    dot = ba.dotc if M.dtype.kind == "c" else ba.dot
    return dot(np.asfortranarray(S).ravel(order="F"), M.ravel(order="F")).real


def _fro2(M):
    m = M.ravel(order="F")
    return (ba.dotc if M.dtype.kind == "c" else ba.dot)(m, m).real


# -- eigenvalues -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigenvalue_losses_match_central_differences(dtype, uplo, rng):
    """Σ w² and Σ log w (A positive definite): the gradients V diag(2w) Vᴴ and A⁻¹, symmetrized
    onto the uplo triangle; zero on the other triangle (not read)."""
    n = 5
    A = _hermitian(rng, [0.5, 1.3, 2.0, 3.1, 4.4], dtype) + np.triu(_random(rng, (n, n), dtype), 1) * (
        uplo == "L"
    )
    A = np.asfortranarray(A)

    def squares(W):
        _, w = _eigh(W, uplo)
        return ba.dot(w, w)

    def logs(W):
        _, w = _eigh(W, uplo)
        return _sum([np.log(ba.Scalar(w[i, ...])) for i in range(n)])

    for program in (squares, logs):
        g = _check(program, A)
        other = np.triu(g, 1) if uplo == "L" else np.tril(g, -1)
        assert np.all(other == 0)  # the other triangle is not read
        assert np.all(np.diag(g).imag == 0)  # nor a Hermitian diagonal's imaginary part
    H = scipy.linalg.inv(
        np.tril(A) + np.tril(A, -1).conj().T if uplo == "L" else np.triu(A) + np.triu(A, 1).conj().T
    )
    lower = uplo == "L"
    tri = np.tril(H, -1) if lower else np.triu(H, 1)
    expected = 2 * tri + np.diag(np.diag(H).real)  # Σ log w = log det A: Ā = A⁻¹ on the triangle
    np.testing.assert_allclose(_grad(logs, A), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matrix_function_through_the_eigendecomposition(dtype, rng):
    """exp(A) = V diag(exp(w)) Vᴴ: the forward is scipy.linalg.expm, and a loss ⟨S, exp(A)⟩ of the
    eigenvectors (invariant to their signs and phases) matches central differences."""
    n = 4
    A = _hermitian(rng, [-1.0, 0.2, 0.9, 1.7], dtype)
    S = _random(rng, (n, n), dtype)

    def expm(W):
        V, w = _eigh(W)
        ew = np.zeros(n)
        for i in range(n):
            np.exp(ba.Scalar(w[i, ...]), out=ew[i, ...])
        return _function_of(V, ew)

    H = np.tril(A) + np.tril(A, -1).conj().T
    np.testing.assert_allclose(expm(np.array(A, order="F")), scipy.linalg.expm(H), rtol=1e-12, atol=1e-12)
    _check(lambda W: _inner(S, expm(W)), A)


# -- repeated eigenvalues: the masked rule ------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_repeated_eigenvalue_losses_the_masked_rule_serves(dtype, rng):
    """A = Q diag(1, 1, 2, 3) Qᴴ: the eigenvectors of the double eigenvalue are any orthonormal
    basis of its plane, and the masked rule (F_ij = 0 there) is exact for losses of the
    eigenvalues and of projectors onto whole eigenspaces: Σ exp(w), ‖V diag(w) Vᴴ‖_F²,
    ⟨S, P⟩ with P = v₀v₀ᴴ + v₁v₁ᴴ the double eigenvalue's projector, and ⟨S, V₂ diag(w₂) V₂ᴴ⟩
    of the simple eigenvalues' part."""
    n = 4
    A = _hermitian(rng, [1.0, 1.0, 2.0, 3.0], dtype)
    S = _random(rng, (n, n), dtype)
    _, w0 = _eigh(np.array(A, order="F"))
    assert abs(w0[1] - w0[0]) < 1e-14  # (repeated to rounding)

    def sum_exp(W):
        _, w = _eigh(W)
        return _sum([np.exp(ba.Scalar(w[i, ...])) for i in range(n)])

    def fro(W):
        V, w = _eigh(W)
        return _fro2(_function_of(V, w))

    def projector(W):
        V, _ = _eigh(W)
        P = np.zeros((n, n), W.dtype, order="F")
        ba.gemm(1.0, V[:, :2], V[:, :2], 0.0, P, "N", "C")
        return _inner(S, P)

    def simple_part(W):
        V, w = _eigh(W)
        return _inner(S, _function_of(V[:, 2:], w[2:]))

    for program in (sum_exp, fro, projector, simple_part):
        _check(program, A, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_repeated_eigenvalue_what_the_mask_gives_up(dtype, rng):
    """⟨S, V diag(w) Vᴴ⟩ = ⟨S, A⟩ at a double eigenvalue: its gradient has an in-plane part
    (f'(λ) (Vᴴ S V)_ij for f = id, i ≠ j in the plane) that the adjoints w̄, V̄ do not carry (the
    divided difference (f(w_j) - f(w_i)) / (w_j - w_i) is 0/0 there): the masked rule drops
    exactly that part, as its docstring says. Away from the double eigenvalue it is exact."""
    n = 4
    S = _random(rng, (n, n), dtype)

    def linear(W):
        V, w = _eigh(W)
        return _inner(S, _function_of(V, w))

    _check(linear, _hermitian(rng, [1.0, 1.5, 2.0, 3.0], dtype))  # distinct: exact
    Q = _unitary(rng, n, dtype)
    A = np.asfortranarray((Q * np.array([1.0, 1.0, 2.0, 3.0])) @ Q.conj().T)
    g, fd = _grad(linear, A), _numeric(linear, A)
    V, _ = _eigh(np.array(A, order="F"))  # (the basis of the plane that LAPACK chose)
    H = (S + S.conj().T) / 2
    K = V.conj().T @ H @ V
    inplane = np.zeros((n, n), dtype)
    inplane[0, 1], inplane[1, 0] = K[0, 1], K[1, 0]
    missing = V @ inplane @ V.conj().T  # the full matrix's adjoint the mask drops
    onto = np.tril(missing, -1) * 2 + np.diag(np.diag(missing).real)  # on A's lower triangle
    np.testing.assert_allclose(g + onto, fd, rtol=1e-5, atol=1e-6)
    assert np.abs(onto).max() > 1e-2


def test_a_loss_of_one_vector_of_a_repeated_eigenvalue_is_not_served(rng):
    """What the mask gives up: a loss of one eigenvector of the double eigenvalue (not of the
    plane's projector) is not even continuous in A there, so its central differences are not a
    gradient (they blow up with 1/eps); the masked rule returns a finite value (documented)."""
    A = _hermitian(rng, [1.0, 1.0, 2.0, 3.0], np.float64)
    S = _random(rng, (4, 4), np.float64)

    def one(W):
        V, _ = _eigh(W)
        P = np.zeros((4, 4), order="F")
        ba.gemm(1.0, V[:, :1], V[:, :1], 0.0, P, "N", "T")
        return _inner(S, P)

    g = _grad(one, A)
    assert np.all(np.isfinite(g))
    fd = _numeric(one, A, eps=1e-6)
    assert np.abs(fd).max() > 1e3 * max(1.0, np.abs(g).max())  # no derivative to match


# -- complex phases ----------------------------------------------------------------------------


def test_a_loss_that_depends_on_an_eigenvectors_phase_raises(rng):
    """Re V[1, 0] depends on the phase heevd chose: backward raises; |V[0, 0]|² does not and
    matches central differences."""
    A = _hermitian(rng, [0.3, 1.1, 2.5, 4.0], np.complex128)
    with ba.Tape() as tape:
        tape.watch(A)
        W = np.zeros(A.shape, A.dtype, order="F")
        ba.geadd(1.0, A, 0.0, W)
        ba.heevd(W)
    seed = np.zeros(A.shape, A.dtype)
    seed[1, 0] = 1.0  # (heevd's V[0, :] is real: Re V[0, 0] is phase invariant to first order)
    with pytest.raises(np.linalg.LinAlgError, match="phase of a complex eigenvector"):
        tape.backward(W, seed)

    def modulus(W):
        V, _ = ba.heevd(W)
        v = ba.Scalar(V[0, 0, ...])
        return v * v.conj()

    _check(lambda W: modulus(W).real, A)


def test_a_loss_that_depends_on_a_singular_pairs_phase_raises(rng):
    """Re U[0, 0] depends on the pair's phase gesdd chose: raises; Re(U[0, 0] VT[0, 0]) (the
    rank-one term's entry, phase invariant) does not and matches central differences."""
    A = _with_singular_values(rng, 5, 3, [3.0, 2.0, 0.7], np.complex128)
    with ba.Tape() as tape:
        tape.watch(A)
        _, U, _ = ba.gesdd(A)
    seed = np.zeros(U.shape, U.dtype)
    seed[0, 0] = 1.0
    with pytest.raises(np.linalg.LinAlgError, match="phase"):
        tape.backward(U, seed)

    def entry(W):
        _, U, VT = ba.gesdd(W)
        return (ba.Scalar(U[0, 0, ...]) * ba.Scalar(VT[0, 0, ...])).real

    _check(entry, A)


# -- the SVD -----------------------------------------------------------------------------------

SHAPES = [(5, 3), (3, 5), (4, 4)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("jobz", ["S", "N"])
def test_nuclear_norm_gradient_is_u_vt(dtype, shape, jobz, rng):
    """Σ s (the nuclear norm) has the gradient U VT for distinct nonzero s; jobz "N" (values
    only) computes the vectors the adjoint needs under the tape and gives the same."""
    m, n = shape
    A = _with_singular_values(rng, m, n, [3.0, 1.9, 0.8, 0.3][: min(m, n)], dtype)

    def nuclear(W):
        s, _, _ = ba.gesdd(W, jobz=jobz)
        return ba.asum(s)

    g = _check(nuclear, A)
    U, _, VT = np.linalg.svd(A, full_matrices=False)
    np.testing.assert_allclose(g, U @ VT, rtol=1e-10, atol=1e-12)


def _reconstruction(B, r=None):
    """‖U diag(s) VT - B‖_F², or with the first r singular triplets only."""

    def loss(W):
        s, U, VT = ba.gesdd(W)
        k = s.shape[0] if r is None else r
        R = np.zeros(W.shape, W.dtype, order="F")
        ba.gemm(1.0, _scaled_columns(U[:, :k], s[:k]), VT[:k], 0.0, R)
        ba.geadd(-1.0, B, 1.0, R)
        return _fro2(R)

    return loss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_reconstruction_loss(dtype, shape, rng):
    """‖U diag(s) VT - B‖_F² for distinct nonzero s: exact, and equal to 2 (A - B)."""
    m, n = shape
    A = _with_singular_values(rng, m, n, [3.0, 1.9, 0.8, 0.3][: min(m, n)], dtype)
    B = _random(rng, (m, n), dtype)
    g = _check(_reconstruction(B), A)
    np.testing.assert_allclose(g, 2 * (A - B), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_rank_deficient_a_the_losses_that_leave_the_null_vectors_alone(dtype, shape, rng):
    """s = (2.5, 1.2, 0, ...): the 1/s_j terms are dropped where s_j is zero, exact for losses
    that do not involve that singular value's vectors: Σ s² (= ‖A‖²: 2A), and the rank-2
    part ‖U₂ diag(s₂) VT₂ - B‖² (the best rank-2 approximation, smooth here)."""
    m, n = shape
    k = min(m, n)
    A = _with_singular_values(rng, m, n, [2.5, 1.2, 0.0, 0.0][:k], dtype)
    B = _random(rng, (m, n), dtype)

    def squares(W):
        s, _, _ = ba.gesdd(W)
        return ba.dot(s, s)

    np.testing.assert_allclose(_check(squares, A), 2 * A, atol=1e-9)
    _check(_reconstruction(B, r=2), A, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_repeated_singular_values_nuclear_norm_and_values(dtype, rng):
    """s = (2, 2, 1): Σ s, Σ s² (U VT and 2A) and a loss of the projector onto the double value's
    left singular plane are exact through the masked rule."""
    A = _with_singular_values(rng, 5, 3, [2.0, 2.0, 1.0], dtype)

    def nuclear(W):
        s, _, _ = ba.gesdd(W)
        return ba.asum(s)

    def squares(W):
        s, _, _ = ba.gesdd(W)
        return ba.dot(s, s)

    def left_projector(W):  # onto the double singular value's left singular plane
        _, U, _ = ba.gesdd(W)
        P = np.zeros((5, 5), W.dtype, order="F")
        ba.gemm(1.0, U[:, :2], U[:, :2], 0.0, P, "N", "C")
        return _inner(S, P)

    S = _random(rng, (5, 5), dtype)
    U, _, VT = np.linalg.svd(A, full_matrices=False)
    np.testing.assert_allclose(_check(nuclear, A, rtol=1e-5, atol=1e-6), U @ VT, atol=1e-9)
    np.testing.assert_allclose(_check(squares, A, rtol=1e-5, atol=1e-6), 2 * A, atol=1e-9)
    _check(left_projector, A, rtol=1e-5, atol=1e-6)


def test_gesdd_leaves_a_alone_and_jobz_n_allocates_empty_vectors(rng):
    A = _random(rng, (4, 6), np.complex128)
    A0 = A.copy()
    s, U, VT = ba.gesdd(A, jobz="N")
    assert A.tobytes() == A0.tobytes()
    assert U.shape == (4, 0) and VT.shape == (0, 6) and s.dtype == np.float64
    np.testing.assert_allclose(s, np.linalg.svd(A0, compute_uv=False), rtol=1e-12)


def test_the_vectors_overwritten_later_are_saved(rng):
    """syevd's adjoint reads V and w, by reference: a later call that overwrites them (here a
    second syevd on the same storage) makes the tape copy them first."""
    n = 4
    A = _hermitian(rng, [0.5, 1.0, 2.0, 3.5], np.float64)
    S = _random(rng, (n, n), np.float64)

    def twice(W):
        V, w = ba.syevd(W)
        M = _function_of(V, w)  # = A (recorded through V and w)
        ba.geadd(1.0, M, 0.0, W)  # W (holding V) overwritten
        V2, w2 = ba.syevd(W, w)  # and w too
        return _inner(S, _function_of(V2, w2))

    _check(twice, A)
