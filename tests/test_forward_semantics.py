"""Forward mode's semantics beyond one routine (DESIGN §10): views share tangents, arrays used
twice, new outputs, active scalars between the calls, batches, and misuse."""

import warnings

import numpy as np
import pytest

import blasad as ba


def _fd(f, args, tangents, eps=1e-6):
    """Central difference of the final values of f's arguments along the tangents."""
    plus = [a + eps * t for a, t in zip(args, tangents)]
    minus = [a - eps * t for a, t in zip(args, tangents)]
    f(*plus)
    f(*minus)
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


def _jvp(f, args, tangents):
    run = [a.copy() for a in args]
    dots = [t.copy() for t in tangents]
    ba.autodiff(f, *(ba.Duplicated(a, t) for a, t in zip(run, dots)), mode="forward")
    return run, dots


def _check(f, args, rng, rtol=1e-7):
    tangents = [rng.standard_normal(a.shape) for a in args]
    run, dots = _jvp(f, args, tangents)
    plain = [a.copy() for a in args]
    f(*plain)
    for r, p in zip(run, plain):
        np.testing.assert_allclose(r, p, rtol=1e-14, atol=1e-14)  # the primal is the plain run's
    for got, fd in zip(dots, _fd(f, args, tangents)):
        np.testing.assert_allclose(got, fd, rtol=rtol, atol=1e-7)
    return dots


def test_views_of_one_base_share_tangents(rng):
    def blocked(A):  # a trailing update inside one matrix: A22 -= A21 A12
        ba.gemm(-1.0, A[2:, :2], A[:2, 2:], 1.0, A[2:, 2:])
        ba.scal(0.5, A[:2, :2].reshape(-1))

    _check(blocked, [rng.standard_normal((5, 5))], rng)


def test_an_array_used_twice_gets_both_contributions(rng):
    A = rng.standard_normal((3, 3))
    C = np.zeros((3, 3))
    dA = rng.standard_normal((3, 3))
    dC = np.zeros((3, 3))
    ba.autodiff(
        lambda A, C: ba.gemm(1.0, A, A, 0.0, C), ba.Duplicated(A, dA), ba.Duplicated(C, dC), mode="forward"
    )
    np.testing.assert_allclose(dC, dA @ A + A @ dA, rtol=1e-13)

    def twice(x, y):  # y ← x + x: ẏ = 2 ẋ
        ba.axpy(1.0, x, y)
        ba.axpy(1.0, x, y)

    x, y, dx, dy = np.ones(3), np.zeros(3), np.arange(3.0), np.zeros(3)
    ba.autodiff(twice, ba.Duplicated(x, dx), ba.Duplicated(y, dy), mode="forward")
    np.testing.assert_array_equal(dy, 2 * np.arange(3.0))


def test_new_outputs_in_a_loop(rng):
    def chain(W, x, out):
        for _ in range(5):
            x = ba.gemv(1.0, W, x)  # a new array each step: its tangent is made with it
        ba.copy(x, out)

    W = rng.standard_normal((4, 4)) / 2
    _check(chain, [W, rng.standard_normal(4), np.zeros(4)], rng)


def test_active_scalars_between_calls(rng):
    def cg_like(A, x, y):  # α = ⟨x, x⟩ / ⟨x, A x⟩; y ← y + √α x
        Ax = ba.gemv(1.0, A, x)
        alpha = ba.dot(x, x) / ba.dot(x, Ax)
        ba.axpy(np.sqrt(abs(alpha)) * 2.0 - alpha**2, x, y)

    A = rng.standard_normal((4, 4))
    _check(cg_like, [A @ A.T + 4 * np.eye(4), rng.standard_normal(4), rng.standard_normal(4)], rng)


def test_constants_carry_no_tangent_and_unwritten_tangents_stay(rng):
    A, x, y = rng.standard_normal((3, 3)), rng.standard_normal(3), np.zeros(3)
    dx = rng.standard_normal(3)
    dy = np.full(3, 7.0)
    ba.autodiff(lambda A, x, y: ba.gemv(2.0, A, x, 0.0, y), ba.Const(A), ba.Duplicated(x, dx.copy()),
                ba.Duplicated(y, dy), mode="forward")  # fmt: skip
    np.testing.assert_allclose(dy, 2.0 * A @ dx, rtol=1e-13)  # β = 0: ẏ's old 7s are gone


def test_beta_zero_overwrites_a_nan_tangent(rng):
    A, x, y = rng.standard_normal((3, 3)), rng.standard_normal(3), np.zeros(3)
    dA, dx, dy = np.zeros((3, 3)), rng.standard_normal(3), np.full(3, np.nan)
    ba.autodiff(lambda A, x, y: ba.gemv(1.0, A, x, 0.0, y), ba.Duplicated(A, dA), ba.Duplicated(x, dx),
                ba.Duplicated(y, dy), mode="forward")  # fmt: skip
    assert np.isfinite(dy).all()


def test_batch_of_tangents(rng):
    def program(A, B, C):
        ba.gemm(0.5, A, B, 1.0, C)
        ba.gemv(1.0, C, B[:, 0], 0.0, A[:, 0])

    args = [rng.standard_normal((3, 3)) for _ in range(3)]
    dxs = [rng.standard_normal((4, 3, 3)) for _ in range(3)]
    run = [a.copy() for a in args]
    got = [d.copy() for d in dxs]
    ba.autodiff(program, *(ba.BatchDuplicated(a, d) for a, d in zip(run, got)), mode="forward")
    for b in range(4):
        _, one = _jvp(program, args, [d[b] for d in dxs])
        for g, o in zip(got, one):
            np.testing.assert_allclose(g[b], o, rtol=1e-13, atol=1e-14)


def test_misuse_is_refused_before_anything_runs(rng):
    x, dx = np.ones(3), np.ones(3)
    with pytest.raises(ValueError, match="mode must be"):
        ba.autodiff(lambda x: None, ba.Duplicated(x, dx), mode="sideways")
    with pytest.raises(ValueError, match="needs mode='forward'"):
        ba.autodiff(lambda x: None, ba.BatchDuplicated(x, np.ones((2, 3))))
    with pytest.raises(ValueError, match=r"expected \(B, 3\)"):
        ba.BatchDuplicated(x, np.ones((2, 4)))
    with pytest.raises(ValueError, match="do not mix"):
        ba.autodiff(lambda x, y: None, ba.Duplicated(x, dx), ba.BatchDuplicated(np.ones(2), np.ones((2, 2))),
                    mode="forward")  # fmt: skip
    with pytest.raises(ValueError, match="as many tangents"):
        ba.autodiff(lambda x, y: None, ba.BatchDuplicated(x, np.ones((2, 3))),
                    ba.BatchDuplicated(np.ones(2), np.ones((3, 2))), mode="forward")  # fmt: skip
    with pytest.raises(ValueError, match="share memory"):
        ba.autodiff(lambda a, b: None, ba.Duplicated(x, dx), ba.Duplicated(x[1:], np.ones(2)), mode="forward")


def test_modes_do_not_mix():
    x, dx = np.ones(3), np.ones(3)
    with ba.Tape(), pytest.raises(RuntimeError, match="inside a recording"):
        ba.autodiff(lambda x: None, ba.Duplicated(x, dx), mode="forward")

    def records(x):
        with ba.Tape():
            pass

    with pytest.raises(RuntimeError, match="inside forward mode"):
        ba.autodiff(records, ba.Duplicated(x, dx), mode="forward")

    def nested(x):
        ba.autodiff(lambda y: None, ba.Duplicated(np.ones(2), np.ones(2)), mode="forward")

    with pytest.raises(RuntimeError, match="already running"):
        ba.autodiff(nested, ba.Duplicated(x, dx), mode="forward")
    ba.axpy(1.0, x, x.copy())  # and the thread is back to normal (the fast path included)


@pytest.mark.parametrize("step", [1, 2])  # dx its region (x's strides), or a region of its own
def test_a_failing_program_leaves_x_and_its_tangent_consistent(rng, step):
    x, dx = rng.standard_normal(3), np.zeros(3 * step)[::step]
    dx[:] = np.arange(3.0)

    def fails(x):
        ba.scal(2.0, x)
        raise KeyError("boom")

    with pytest.raises(KeyError):
        ba.autodiff(fails, ba.Duplicated(x, dx), mode="forward")
    np.testing.assert_array_equal(dx, 2 * np.arange(3.0))  # the tangent of x as f left it


def test_a_lost_tangent_warns(rng):
    x, dx = rng.standard_normal(3), np.ones(3)

    def loses(x):
        r = ba.dot(x, x)
        ba.scal(float(r), x)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ba.autodiff(loses, ba.Duplicated(x, dx), mode="forward")
    assert any(issubclass(w.category, ba.GradientLostWarning) for w in caught)


def test_adjacent_blocks_of_one_buffer(rng):
    """A Duplicated block and the block right after it in memory (written from it inside f, through
    a closure): two regions that touch and do not overlap."""
    buf = rng.standard_normal(8)
    x, y = buf[:4], buf[4:]

    def f(x):
        ba.copy(x, y)
        ba.scal(2.0, y)

    dx = rng.standard_normal(4)
    ba.autodiff(f, ba.Duplicated(x, dx.copy()), mode="forward")
    np.testing.assert_array_equal(y, 2 * x)


def _cholesky_by_scalars(A):
    """A ← L in place, column by column with active scalars stored into A (out= and -=)."""
    n = A.shape[0]
    for j in range(n):
        if j:
            A[j, j, ...] -= ba.dot(A[j, :j], A[j, :j])
        np.sqrt(ba.Scalar(A[j, j, ...]), out=A[j, j, ...])  # (a Scalar operand: recorded)
        if j + 1 < n:
            ba.gemv(-1.0, A[j + 1 :, :j], A[j, :j], 1.0, A[j + 1 :, j])
            ba.scal(np.reciprocal(ba.Scalar(A[j, j, ...])), A[j + 1 :, j])


def test_scalars_stored_into_arrays(rng):
    M = rng.standard_normal((5, 5))
    _check(_cholesky_by_scalars, [M @ M.T + 5 * np.eye(5)], rng)


def test_cg_and_a_checkpointed_loop(rng):
    def cg(A, b, x):
        r, p, Ap = np.empty_like(b), np.empty_like(b), np.empty_like(b)
        ba.copy(b, r)
        ba.gemv(-1.0, A, x, 1.0, r)
        ba.copy(r, p)
        state = {"rr": ba.dot(r, r)}

        def step(i):
            ba.gemv(1.0, A, p, 0.0, Ap)
            alpha = state["rr"] / ba.dot(p, Ap)
            ba.axpy(alpha, p, x)
            ba.axpy(-alpha, Ap, r)
            rr_new = ba.dot(r, r)
            ba.scal(rr_new / state["rr"], p)
            ba.axpy(1.0, r, p)
            state["rr"] = rr_new

        ba.checkpoint_loop(step, 4, snapshots=2)  # (outside a tape: the loop as written)

    M = rng.standard_normal((6, 6))
    _check(cg, [M @ M.T + 6 * np.eye(6), rng.standard_normal(6), np.zeros(6)], rng, rtol=1e-6)


def test_threads_run_forward_mode_apart(rng):
    import threading

    A = rng.standard_normal((8, 8))
    dA = rng.standard_normal((8, 8))
    results = {}

    def program(B, x):
        ba.gemv(1.0, B, x.copy(), 0.0, x)  # (x.copy(): a constant)

    def work(k):
        B, dB = A.copy(), dA.copy()
        for _ in range(50):
            x, dx = np.ones(8) * k, np.zeros(8)
            ba.autodiff(program, ba.Duplicated(B, dB), ba.Duplicated(x, dx), mode="forward")
        results[k] = dx

    threads = [threading.Thread(target=work, args=(k,)) for k in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in (1, 2, 3):
        np.testing.assert_allclose(results[k], dA @ (np.ones(8) * k), rtol=1e-12)


def test_many_separate_arguments(rng):
    """A chain over 200 separately allocated arrays, each Duplicated (their overlap check sorts
    their spans: it once compared every pair)."""
    A = [rng.standard_normal((3, 3)) / 3 for _ in range(200)]

    def chain(*A):
        for i in range(len(A) - 1):
            ba.gemm(1.0, A[i], A[i], 0.5, A[i + 1])

    _check(chain, A, rng, rtol=1e-6)
