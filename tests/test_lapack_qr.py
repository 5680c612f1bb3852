"""QR routines in programs: geqrf then orgqr/ungqr (Q R = A), least squares through geqrf, ormqr
and trsm, gels against numpy.linalg.lstsq and its gradient against central differences of
NumPy's, LAPACK's blocked code paths, failure under a tape, and the validation the harness
cannot express. The routines one by one are in the spec harness (test_routines.py)."""

import numpy as np
import pytest

import blasad as ba

ORG = {np.float64: "orgqr", np.complex128: "ungqr"}
ORM = {np.float64: ("ormqr", "T"), np.complex128: ("unmqr", "C")}


def _random(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return np.asfortranarray(x.astype(dtype))


def _qr_program(dtype):
    """A (m × n, m ≥ n) → A holds geqrf's factors, Q ← orgqr/ungqr of a copy, R ← their upper part."""

    def program(A, tau, Q, R):
        n = A.shape[1]
        ba.geqrf(A, tau)
        ba.geadd(1.0, A, 0.0, Q)
        getattr(ba, ORG[dtype])(Q, tau)
        ba.fill(0.0, R)
        for j in range(n):  # R ← triu(A[:n]), column by column
            ba.copy(A[: j + 1, j], R[: j + 1, j])

    return program


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", [(5, 3), (4, 4), (6, 1)])
def test_q_from_orgqr_times_r_is_a_and_the_gradient_matches(dtype, shape, rng):
    m, n = shape
    A = _random(rng, (m, n), dtype)
    args = [
        A.copy(order="F"),
        np.zeros(n, dtype),
        np.zeros((m, n), dtype, order="F"),
        np.zeros((n, n), dtype),
    ]
    _qr_program(dtype)(*args)
    _, _, Q, R = args
    np.testing.assert_allclose(Q @ R, A, atol=1e-12)
    np.testing.assert_allclose(Q.conj().T @ Q, np.eye(n), atol=1e-12)
    assert np.all(np.tril(R, -1) == 0) and np.all(np.abs(np.imag(np.diag(R))) == 0)
    zeros = (np.zeros(n, dtype), np.zeros((m, n), dtype, order="F"), np.zeros((n, n), dtype))
    g = ba.gradcheck(_qr_program(dtype), A, *zeros, seed=7)
    assert g.ok, g.max_abs_error


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_least_squares_through_geqrf_ormqr_trsm(dtype, rng):
    """x = R⁻¹ (Qᴴ b)[:n] is numpy.linalg.lstsq's solution; its gradient matches central differences."""
    m, n, r = 6, 3, 2
    orm, t = ORM[dtype]

    def program(A, tau, B):
        ba.geqrf(A, tau)
        getattr(ba, orm)(A, tau, B, "L", t)
        ba.trsm(1.0, A[:n], B[:n], "L", "U", "N", "N")

    A, B = _random(rng, (m, n), dtype), _random(rng, (m, r), dtype)
    A2, tau, B2 = A.copy(order="F"), np.zeros(n, dtype), B.copy(order="F")
    program(A2, tau, B2)
    x = np.linalg.lstsq(A, B, rcond=None)[0]
    np.testing.assert_allclose(B2[:n], x, atol=1e-12)
    g = ba.gradcheck(program, A, np.zeros(n, dtype), B, seed=3)
    assert g.ok, g.max_abs_error


def _lstsq_loss(A, B, G, trans):
    """⟨G, X⟩ for X numpy.linalg.lstsq's solution of op(A) X = B (least squares, or minimum norm)."""
    op = A if trans == "N" else A.conj().T
    return float(np.vdot(G, np.linalg.lstsq(op, B[: op.shape[0]], rcond=None)[0]).real)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", [(6, 3), (3, 6), (4, 4)])
@pytest.mark.parametrize("trans", ["N", "C"])
def test_gels_matches_lstsq_and_its_gradient(dtype, shape, trans, rng):
    """gels's solution is lstsq's; the gradient of ⟨G, X⟩ through gels (seeding only the rows of
    B that hold X) matches central differences of NumPy's lstsq, real and imaginary parts."""
    m, n = shape
    r = 2
    A, B = _random(rng, (m, n), dtype), _random(rng, (max(m, n), r), dtype)
    rows = n if trans == "N" else m  # X's rows
    G = _random(rng, (rows, r), dtype)
    A2, B2 = A.copy(order="F"), B.copy(order="F")
    with ba.Tape() as tape:
        tape.watch(A2)
        tape.watch(B2)
        ba.gels(A2, B2, trans)
    op = A if trans == "N" else A.conj().T
    np.testing.assert_allclose(B2[:rows], np.linalg.lstsq(op, B[: op.shape[0]], rcond=None)[0], atol=1e-12)
    seed = np.zeros_like(B2)
    seed[:rows] = G
    tape.backward(B2, seed)
    eps = 1e-6
    for X, grad in ((A, tape.grad(A2)), (B, tape.grad(B2))):
        num = np.zeros(X.shape, np.complex128 if np.iscomplexobj(X) else np.float64)
        for idx in np.ndindex(X.shape):
            for d in (1.0, 1j) if np.iscomplexobj(X) else (1.0,):
                E = np.zeros_like(X)
                E[idx] = eps * d
                args = [(A + E, B) if X is A else (A, B + E), (A - E, B) if X is A else (A, B - E)]
                num[idx] += (
                    d * (_lstsq_loss(*args[0], G, trans) - _lstsq_loss(*args[1], G, trans)) / (2 * eps)
                )
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_blocked_sizes_pass_the_dot_product_test(dtype, rng):
    """Sizes past LAPACK's block size (its blocked geqrf, orgqr, ormqr paths): geqrf → ormqr (side R)
    → orgqr, and gels both ways, against the dot-product test."""
    m, n = 150, 90
    orm, t = ORM[dtype]

    def program(A, tau, C):
        ba.geqrf(A, tau)
        getattr(ba, orm)(A, tau, C, "R", t)
        getattr(ba, ORG[dtype])(A, tau)

    args = (_random(rng, (m, n), dtype), np.zeros(n, dtype), _random(rng, (40, m), dtype))
    g = ba.gradcheck(program, *args, seed=1, full=False)
    assert g.ok, (g.dot_adjoint, g.dot_numeric)
    for shape in ((m, n), (n, m)):
        g = ba.gradcheck(lambda A, B: ba.gels(A, B), _random(rng, shape, dtype), _random(rng, (m, 5), dtype),
                         seed=2, full=False)  # fmt: skip
        assert g.ok, (shape, g.dot_adjoint, g.dot_numeric)


def test_orgqr_and_ormqr_adjoints_are_exact_for_any_tau(rng):
    """Not only orthogonal reflectors: random tau and v (the adjoint's undo is H's true inverse)."""
    A, tau, C = (
        _random(rng, (5, 3), np.float64),
        3 * _random(rng, (3,), np.float64),
        _random(rng, (5, 2), np.float64),
    )
    assert ba.gradcheck(lambda A, tau: ba.orgqr(A, tau), A, tau, seed=1).ok
    assert ba.gradcheck(lambda A, tau, C: ba.ormqr(A, tau, C, "L", "T"), A, tau, C, seed=2).ok


def test_gels_rank_deficient_raises_and_a_gradient_through_it_raises(rng):
    A = _random(rng, (5, 3), np.float64)
    A[:, 1] = 0.0  # R[1, 1] = 0 exactly
    B = _random(rng, (5, 2), np.float64)
    with ba.Tape() as tape:
        tape.watch(A)
        tape.watch(B)
        with pytest.raises(
            np.linalg.LinAlgError, match=r"gels: .* zero diagonal element at 1 .* full rank"
        ) as e:
            ba.gels(A, B)
        assert e.value.info == 2
    with pytest.raises(np.linalg.LinAlgError, match="output of a LAPACK call that failed"):
        tape.backward(B, np.ones_like(B))


def test_gels_retry_after_a_failure_gives_the_gradient_of_the_retry(rng):
    """Catch the failure, restore A and B with blasad calls (from a full-rank A1) and solve again:
    the gradient is that of the successful solve."""
    m, n = 5, 3
    A0 = _random(rng, (m, n), np.float64)
    A0[:, 2] = 0.0
    A1, B0 = _random(rng, (m, n), np.float64), _random(rng, (m, 2), np.float64)
    W, X = np.empty((m, n), order="F"), np.empty((m, 2), order="F")
    with ba.Tape() as tape:
        for v in (A1, B0):
            tape.watch(v)
        ba.geadd(1.0, A0, 0.0, W)
        ba.geadd(1.0, B0, 0.0, X)
        with pytest.raises(np.linalg.LinAlgError):
            ba.gels(W, X)
        ba.geadd(1.0, A1, 0.0, W)
        ba.geadd(1.0, B0, 0.0, X)
        ba.gels(W, X)
    G = rng.standard_normal((n, 2))
    seed = np.zeros((m, 2))
    seed[:n] = G
    tape.backward(X, seed)
    # d⟨G, A⁺ B⟩/dB = A⁺ᵀ G (rows of B)
    np.testing.assert_allclose(tape.grad(B0), np.linalg.pinv(A1).T @ G, atol=1e-12)


def test_validation_of_the_sizes_and_flags(rng):
    A, tau = _random(rng, (3, 4), np.float64), np.zeros(2)
    with pytest.raises(ValueError, match=r"orgqr: .* needs m >= n >= k"):
        ba.orgqr(A, tau)
    with pytest.raises(ValueError, match=r"orgqr: .* needs m >= n >= k"):
        ba.orgqr(_random(rng, (4, 2), np.float64), np.zeros(3))
    with pytest.raises(ValueError, match=r"ormqr: A has shape \(2, 3\): k = 3 reflectors need k <= mq"):
        ba.ormqr(_random(rng, (2, 3), np.float64), np.zeros(3), _random(rng, (2, 2), np.float64))
    with pytest.raises(ValueError, match="trans 'T' is for real dtypes"):
        ba.gels(_random(rng, (3, 2), np.complex128), _random(rng, (3, 1), np.complex128), "T")
    with pytest.raises(TypeError, match="use ungqr"):
        ba.orgqr(_random(rng, (3, 2), np.complex128), np.zeros(2, np.complex128))
    with pytest.raises(TypeError, match="use ormqr"):
        ba.unmqr(_random(rng, (3, 2), np.float64), np.zeros(2), _random(rng, (3, 2), np.float64))


def test_geqrf_allocates_tau_and_returns_both(rng):
    A = _random(rng, (4, 3), np.complex128)
    A2, tau = ba.geqrf(A.copy(order="F"))
    assert tau.shape == (3,) and tau.dtype == np.complex128
    Q = ba.ungqr(A2.copy(order="F"), tau)
    np.testing.assert_allclose(Q @ np.triu(A2[:3]), A, atol=1e-12)


# ---- blocked adjoints: several blocks of 32 reflectors and a tail, against the same programs
# made of one-reflector calls (blocks of one: the per-reflector rule) and central differences

ORM_C = {np.float64: ("ormqr", "T"), np.complex128: ("unmqr", "C")}


def _grads(program, inputs, outputs, seeds):
    """Gradients of Σ ⟨seed_i, outputs_i final⟩ w.r.t. the inputs' values when program() ran."""
    with ba.Tape() as tape:
        tape.watch(*inputs)
        program()
    tape.backward(outputs, seeds)
    return [tape.grad(x) for x in inputs]


def _assert_close(got, want):
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9 * max(1.0, float(np.abs(w).max())))


def _reflectors(rng, dtype, mq, k, perturb=0.0):
    """geqrf's reflectors and tau of a random mq × k matrix; tau scaled by 1 + perturb δ (δ
    random): then no longer orthogonal reflectors."""
    A, tau = ba.geqrf(_random(rng, (mq, k), dtype))
    tau = tau * (1 + perturb * _random(rng, tau.shape, dtype))
    return np.asfortranarray(A), tau


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", [(70, 70), (130, 70), (70, 130), (100, 64), (65, 65)])
def test_blocked_geqrf_adjoint_matches_the_per_reflector_rule(dtype, shape, rng):
    """geqrf's blocked adjoint (panels of 32) equals that of geqr2 written as one-column geqrf and
    one-reflector ormqr calls, and passes the dot-product test."""
    m, n = shape
    k = min(m, n)
    orm, t = ORM_C[dtype]
    A0 = _random(rng, shape, dtype)
    sA, st = _random(rng, shape, dtype), _random(rng, (k,), dtype)
    A1, tau1 = A0.copy(order="F"), np.zeros(k, dtype)
    got = _grads(lambda: ba.geqrf(A1, tau1), [A1], [A1, tau1], [sA, st])
    A2, tau2 = A0.copy(order="F"), np.zeros(k, dtype)

    def geqr2():
        for j in range(k):
            ba.geqrf(A2[j:, j : j + 1], tau2[j : j + 1])
            if j + 1 < n:
                getattr(ba, orm)(A2[j:, j : j + 1], tau2[j : j + 1], A2[j:, j + 1 :], "L", t)

    want = _grads(geqr2, [A2], [A2, tau2], [sA, st])
    np.testing.assert_allclose(A1, A2, atol=1e-12)
    _assert_close(got, want)
    g = ba.gradcheck(lambda A, tau: ba.geqrf(A, tau), A0, np.zeros(k, dtype), seed=4, full=False)
    assert g.ok, (g.dot_adjoint, g.dot_numeric)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("dims", [(130, 100, 70), (70, 70, 70), (96, 80, 64)])
@pytest.mark.parametrize("perturb", [0.0, 0.1])
def test_blocked_orgqr_adjoint_matches_the_per_reflector_rule(dtype, dims, perturb, rng):
    """Q = H₁⋯H_k E by orgqr/ungqr (blocked adjoint) and by one-reflector ormqr calls on E,
    H_k first: the same gradients w.r.t. the reflectors and tau (also for tau that is not
    geqrf's), and the dot-product test."""
    m, n, k = dims
    org, (orm, _) = ORG[dtype], ORM_C[dtype]
    V, tau = _reflectors(rng, dtype, m, k, perturb)
    sQ = _random(rng, (m, n), dtype)
    A1 = np.zeros((m, n), dtype, order="F")
    A1[:, :k] = V
    tau1 = tau.copy()
    got = _grads(lambda: getattr(ba, org)(A1, tau1), [A1, tau1], [A1], [sQ])
    V2, tau2 = V.copy(order="F"), tau.copy()
    Q = np.asfortranarray(np.eye(m, n, dtype=dtype))

    def peeled():
        for i in reversed(range(k)):
            getattr(ba, orm)(V2[i:, i : i + 1], tau2[i : i + 1], Q[i:, :], "L", "N")

    want = _grads(peeled, [V2, tau2], [Q], [sQ])
    np.testing.assert_allclose(A1, Q, atol=1e-10)
    V_bar = np.zeros((m, n), dtype)
    V_bar[:, :k] = np.tril(want[0], -1)  # orgqr reads only the stored reflectors
    _assert_close(got, [V_bar, want[1]])
    A0 = np.zeros((m, n), dtype, order="F")
    A0[:, :k] = V
    g = ba.gradcheck(lambda A, tau: getattr(ba, org)(A, tau), A0, tau.copy(), seed=5, full=False)
    assert g.ok, (g.dot_adjoint, g.dot_numeric)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("side", ["L", "R"])
@pytest.mark.parametrize("trans", ["N", "C"])
@pytest.mark.parametrize("mq_k", [(130, 70), (70, 65), (64, 64)])
def test_blocked_ormqr_adjoint_matches_the_per_reflector_rule(dtype, side, trans, mq_k, rng):
    """op(Q) C or C op(Q) by ormqr/unmqr (blocked adjoint) and by one-reflector calls in the order
    of application: the same gradients w.r.t. A, tau and C (tau perturbed off geqrf's), and the
    dot-product test."""
    mq, k = mq_k
    orm, t = ORM_C[dtype]
    tr = "N" if trans == "N" else t
    V, tau = _reflectors(rng, dtype, mq, k, 0.1)
    shape = (mq, 20) if side == "L" else (20, mq)
    C0, sC = _random(rng, shape, dtype), _random(rng, shape, dtype)
    A1, tau1, C1 = V.copy(order="F"), tau.copy(), C0.copy(order="F")
    got = _grads(lambda: getattr(ba, orm)(A1, tau1, C1, side, tr), [A1, tau1, C1], [C1], [sC])
    A2, tau2, C2 = V.copy(order="F"), tau.copy(), C0.copy(order="F")
    # Q C = H₁(⋯(H_k C)), Qᴴ C = H_kᴴ ⋯ H₁ᴴ C, C Q = C H₁ ⋯ H_k, C Qᴴ = C H_kᴴ ⋯ H₁ᴴ
    order = range(k) if (side == "L") == (trans != "N") else reversed(range(k))

    def peeled():
        for i in order:
            Ci = C2[i:, :] if side == "L" else C2[:, i:]
            getattr(ba, orm)(A2[i:, i : i + 1], tau2[i : i + 1], Ci, side, tr)

    want = _grads(peeled, [A2, tau2, C2], [C2], [sC])
    np.testing.assert_allclose(C1, C2, atol=1e-10)
    _assert_close(got, want)
    g = ba.gradcheck(lambda A, tau, C: getattr(ba, orm)(A, tau, C, side, tr), V, tau, C0, seed=6, full=False)
    assert g.ok, (g.dot_adjoint, g.dot_numeric)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", [(70, 40), (40, 70)])
def test_blocked_sizes_gels_gradient_matches_central_differences(dtype, shape, rng):
    """gels past one block (k = 40: a block and a tail) against central differences of
    numpy.linalg.lstsq along random directions."""
    m, n = shape
    A, B = _random(rng, shape, dtype), _random(rng, (max(m, n), 3), dtype)
    G = _random(rng, (n, 3), dtype)
    A2, B2 = A.copy(order="F"), B.copy(order="F")
    seed = np.zeros_like(B2)
    seed[:n] = G
    gA, gB = _grads(lambda: ba.gels(A2, B2), [A2, B2], [B2], [seed])
    eps = 1e-6
    for _ in range(3):
        dA, dB = _random(rng, A.shape, dtype), _random(rng, B.shape, dtype)
        num = (
            _lstsq_loss(A + eps * dA, B + eps * dB, G, "N") - _lstsq_loss(A - eps * dA, B - eps * dB, G, "N")
        ) / (2 * eps)
        ana = float(np.vdot(gA, dA).real + np.vdot(gB, dB).real)
        assert abs(ana - num) <= 1e-6 * max(1.0, abs(num)), (ana, num)
