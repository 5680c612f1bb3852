"""checkpoint_loop (DESIGN §9): gradients equal the fully taped loop's, memory independent of n,
re-runs on revolve's schedule, final values kept; for real programs (Euler, RK4, a Kalman
filter) in real and complex dtypes, with active scalars, temporaries and overwrites."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest

import blasad as ba
from blasad._checkpoint import _descent, revolve_advances, split

RNG = np.random.default_rng(2026)


# -- the schedule -----------------------------------------------------------------------------
@cache
def _fewest(n: int, s: int) -> int:
    """The fewest step evaluations reversing n steps with s snapshots, by exhaustive search."""
    if n <= 1:
        return 0
    if s == 1:
        return n * (n - 1) // 2
    return min(m + _fewest(n - m, s - 1) + _fewest(m, s) for m in range(1, n))


def test_revolve_count_and_split_are_optimal() -> None:
    for n in range(1, 70):
        for s in range(1, 8):
            assert revolve_advances(n, s) == _fewest(n, s), (n, s)
            if n >= 2 and s >= 2:
                m = split(n, s)
                assert 1 <= m < n
                assert m + _fewest(n - m, s - 1) + _fewest(m, s) == _fewest(n, s), (n, s, m)


def _expected_advances(n: int, k: int) -> int:
    """Revolve's count, less the advances of its first descent, which the loop's own forward ran."""
    at = _descent(n, k)
    return revolve_advances(n, k) - (at[-1] if at else 0)


# -- programs: (arrays, step factory, loss after the loop) --------------------------------------
def euler(m: int, dtype: Any) -> tuple[dict[str, np.ndarray], Callable[..., Callable[[int], None]]]:
    """x ← x + h A x, through a preallocated temporary."""
    A = (RNG.standard_normal((m, m)) * 0.3).astype(dtype)
    x = RNG.standard_normal(m).astype(dtype)
    if np.dtype(dtype).kind == "c":
        A = A + 0.2j * RNG.standard_normal((m, m))
        x = x + 0.5j * RNG.standard_normal(m)

    def make(a: dict[str, np.ndarray]) -> Callable[[int], None]:
        A, x = a["A"], a["x"]
        xs = np.zeros_like(x)

        def step(i: int) -> None:
            ba.gemv(0.05, A, x, 0.0, xs)
            ba.axpy(1.0, xs, x)

        return step

    return {"A": A, "x": x}, make


def rk4(m: int, dtype: Any) -> tuple[dict[str, np.ndarray], Callable[..., Callable[[int], None]]]:
    """Classical RK4 for x' = A x + t b, with new outputs each stage, the time carried in an
    inactive array, and an active scalar renormalisation x ← x / (1 + ε‖x‖²)."""
    A = (RNG.standard_normal((m, m)) * 0.3).astype(dtype)
    x = RNG.standard_normal(m).astype(dtype)
    b = RNG.standard_normal(m).astype(dtype)

    def make(a: dict[str, np.ndarray]) -> Callable[[int], None]:
        A, x, b = a["A"], a["x"], a["b"]
        h = 0.02
        t = np.zeros(1, dtype)  # the time: written by blasad, read as a number

        def f(y: np.ndarray) -> np.ndarray:
            k = ba.gemv(1.0, A, y)
            return ba.axpy(float(t[0].real), b, k)

        def stage(k: np.ndarray, c: float) -> np.ndarray:
            y = ba.copy(x, np.empty_like(x))
            return ba.axpy(c, k, y)

        def step(i: int) -> None:
            k1 = f(x)
            k2 = f(stage(k1, h / 2))
            k3 = f(stage(k2, h / 2))
            k4 = f(stage(k3, h))
            for c, k in ((h / 6, k1), (h / 3, k2), (h / 3, k3), (h / 6, k4)):
                ba.axpy(c, k, x)
            ba.scal(1.0 / (1.0 + 0.01 * ba.dot(x, x)), x)
            ba.axpy(h, np.ones(1, dtype), t)

        return step

    return {"A": A, "x": x, "b": b}, make


def kalman(m: int, dtype: Any) -> tuple[dict[str, np.ndarray], Callable[..., Callable[[int], None]]]:
    """A Kalman filter: predict x ← F x, P ← F P Fᵀ + Q; update with S = H P Hᵀ + R solved by
    Cholesky (posv); the estimates stored in the rows of X (a different row each step)."""
    p, n_obs = 2, 400
    F = (np.eye(m) + 0.05 * RNG.standard_normal((m, m))).astype(dtype)
    H = RNG.standard_normal((p, m)).astype(dtype)
    Q = (0.1 * np.eye(m)).astype(dtype)
    R = (0.5 * np.eye(p)).astype(dtype)
    Y = RNG.standard_normal((n_obs, p)).astype(dtype)
    x = RNG.standard_normal(m).astype(dtype)
    P = np.eye(m, dtype=dtype)
    X = np.zeros((n_obs, m), dtype)

    def make(a: dict[str, np.ndarray]) -> Callable[[int], None]:
        F, H, Q, R, Y, x, P, X = (a[k] for k in "F H Q R Y x P X".split())
        xp, FP, HP = np.empty(m, dtype), np.empty((m, m), dtype), np.empty((p, m), dtype)
        S, v = np.empty((p, p), dtype), np.empty(p, dtype)

        def step(i: int) -> None:
            ba.gemv(1.0, F, x, 0.0, xp)  # predict
            ba.gemm(1.0, F, P, 0.0, FP)
            ba.gemm(1.0, FP, F, 0.0, P, trans_b="T")
            ba.axpy(1.0, Q.reshape(-1), P.reshape(-1))
            ba.gemm(1.0, H, P, 0.0, HP)  # S = H P Hᵀ + R
            ba.gemm(1.0, HP, H, 0.0, S, trans_b="T")
            ba.axpy(1.0, R.reshape(-1), S.reshape(-1))
            ba.copy(Y[i], v)  # v = y_i − H x
            ba.gemv(-1.0, H, xp, 1.0, v)
            KT = ba.copy(HP.reshape(-1), np.empty(p * m, dtype)).reshape(p, m)
            ba.posv(S, KT)  # Kᵀ = S⁻¹ H P
            ba.gemv(1.0, KT, v, 1.0, xp, trans="T")  # x = x + K v
            ba.copy(xp, x)
            ba.gemm(-1.0, KT, HP, 1.0, P, trans_a="T")  # P = P − K H P
            ba.copy(x, X[i])

        return step

    return {"F": F, "H": H, "Q": Q, "R": R, "Y": Y, "x": x, "P": P, "X": X}, make


def loop(step: Callable[[int], None], n: int, k: int | None) -> None:
    """n steps, on the tape (k None) or through checkpoint_loop with k snapshots."""
    if k is None:
        for i in range(n):
            step(i)
    else:
        ba.checkpoint_loop(step, n, snapshots=k)


def run(
    program: tuple[dict[str, np.ndarray], Callable[..., Callable[[int], None]]],
    n: int,
    k: int | None,
    after: Callable[[dict[str, np.ndarray]], None] | None = None,
    seed_key: str = "x",
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], ba.Tape, int]:
    """Run the loop (k None: fully taped) on copies of the arrays, then after(arrays), with the
    seed all ones on arrays[seed_key]; returns the gradients, the final values, the tape and
    its bytes when the recording ended."""
    arrays0, make = program
    a = {name: v.copy() for name, v in arrays0.items()}
    step = make(a)
    watched = [v for name, v in a.items() if name not in ("X",)]
    with ba.Tape() as tape:
        tape.watch(*watched)
        loop(step, n, k)
        if after is not None:
            after(a)
    nbytes = tape.nbytes
    final = {name: v.copy() for name, v in a.items()}
    out = a[seed_key]
    tape.backward(out, np.ones_like(out))
    for name, v in a.items():  # the arrays keep the program's final values
        assert np.array_equal(v, final[name]), name
    return {name: tape.grad(v) for name, v in a.items() if name != "X"}, final, tape, nbytes


def assert_same(g: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> None:
    for name in ref:
        np.testing.assert_allclose(
            g[name], ref[name], rtol=1e-12, atol=1e-14 * np.abs(ref[name]).max(), err_msg=name
        )


@pytest.mark.parametrize("k", [1, 2, 3, 7, 200])
def test_euler_equals_the_fully_taped_loop(k: int) -> None:
    prog = euler(5, np.float64)
    n = 40 if k == 1 else 3000  # (k = 1: quadratic in n)
    ref, final_ref, _, _ = run(prog, n, None)
    g, final, tape, _ = run(prog, n, k)
    assert_same(g, ref)
    assert all(np.array_equal(final[a], final_ref[a]) for a in final)
    loop = tape._loops[0]
    assert loop.recorded == n
    assert loop.advances == _expected_advances(n, k)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.complex128])
def test_euler_in_every_dtype(dtype: Any) -> None:
    prog = euler(4, dtype)
    ref, _, _, _ = run(prog, 120, None)
    g, _, _, _ = run(prog, 120, 6)
    for name in ref:
        assert np.array_equal(g[name], ref[name]), name  # the same calls in the same order


def test_rk4_thousands_of_steps_memory_independent_of_n() -> None:
    prog = rk4(6, np.float64)
    ref, _, _, full = run(prog, 2000, None)
    g, _, tape, recorded = run(prog, 2000, 20)
    assert_same(g, ref)
    _, _, short, short_recorded = run(prog, 200, 20)
    loop = tape._loops[0]
    # what the loop keeps: its snapshots, independent of n, and far below the full tape
    assert loop.peak == short._loops[0].peak
    state = (6 + 1) * 8  # x and the time t
    assert loop.peak <= (20 + 1) * state + 2048  # k snapshots and the first values, with their table
    # tape.nbytes when the recording ended: the same for n = 200 (but for the size of the pooled
    # blocks the shadows came from)
    assert abs(recorded - short_recorded) <= 0.25 * short_recorded
    assert 10 * recorded < full  # and a tenth of the fully taped loop's
    assert loop.advances == _expected_advances(2000, 20)


def test_rk4_gradient_against_finite_differences() -> None:
    arrays, make = rk4(4, np.float64)
    n, k = 60, 3
    g, _, _, _ = run((arrays, make), n, k)

    def loss(a: dict[str, np.ndarray]) -> float:
        a = {name: v.copy() for name, v in a.items()}
        step = make(a)
        for i in range(n):
            step(i)
        return float(a["x"].sum())

    for name in ("A", "x", "b"):
        d = RNG.standard_normal(arrays[name].shape)
        eps = 1e-6
        hi = {**arrays, name: arrays[name] + eps * d}
        lo = {**arrays, name: arrays[name] - eps * d}
        fd = (loss(hi) - loss(lo)) / (2 * eps)
        assert np.vdot(g[name], d) == pytest.approx(fd, rel=1e-6, abs=1e-9), name


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_kalman_filter_with_stored_estimates(dtype: Any) -> None:
    prog = kalman(4, dtype)

    def loss(a: dict[str, np.ndarray]) -> None:  # x ← Xᵀ 1: every step's estimate reaches the loss
        ba.gemv(1.0, a["X"], np.ones(len(a["X"]), dtype), 0.0, a["x"], trans="T")

    ref, _, _, _ = run(prog, 300, None, after=loss)
    g, _, tape, _ = run(prog, 300, 8, after=loss)
    assert_same(g, ref)
    assert tape._loops[0].advances == _expected_advances(300, 8)


def test_calls_after_the_loop_overwrite_what_it_read() -> None:
    """A later call overwrites A (only read by the loop) and x (its state): the loop's reverse
    sweep still sees the values the loop read, and the arrays end with their final values."""

    def after(a: dict[str, np.ndarray]) -> None:
        ba.scal(0.5, a["A"].reshape(-1))
        ba.gemv(1.0, a["A"], a["x"].copy(), 2.0, a["x"])

    prog = euler(5, np.float64)
    ref, final_ref, _, _ = run(prog, 100, None, after=after)
    g, final, _, _ = run(prog, 100, 4, after=after)
    assert_same(g, ref)
    assert all(np.array_equal(final[a], final_ref[a]) for a in final)


def test_steps_that_write_different_views() -> None:
    """Step i writes x, and from step 3 on also x[1:] and row i % 4 of M: ranges first written
    late take their values from before their first write."""
    x0 = RNG.standard_normal(5)
    M0 = RNG.standard_normal((4, 5))

    def program(k: int | None) -> tuple[np.ndarray, np.ndarray]:
        x, M, c = x0.copy(), M0.copy(), np.linspace(0.1, 0.5, 4)

        def step(i: int) -> None:
            ba.scal(0.9, x)
            if i >= 3:
                ba.axpy(0.3, c, x[1:])
            ba.axpy(0.5, x, M[i % 4])
            ba.axpy(0.1, M[(i + 1) % 4], x)

        with ba.Tape() as tape:
            tape.watch(x, M)
            loop(step, 30, k)
        tape.backward([x, M], [np.ones(5), np.ones((4, 5))])
        return tape.grad(x), tape.grad(M)

    ref = program(None)
    for k in (1, 2, 5):
        for g, r in zip(program(k), ref):
            np.testing.assert_allclose(g, r, rtol=1e-13)


def test_autodiff_form() -> None:
    (arrays, make) = euler(4, np.float64)
    ref, _, _, _ = run((arrays, make), 50, None)
    A, x = arrays["A"].copy(), arrays["x"].copy()
    dA, dx = np.zeros_like(A), np.ones_like(x)

    def f(A: np.ndarray, x: np.ndarray) -> None:
        ba.checkpoint_loop(make({"A": A, "x": x}), 50, snapshots=3)

    ba.autodiff(f, ba.Duplicated(A, dA), ba.Duplicated(x, dx))
    np.testing.assert_allclose(dA, ref["A"], rtol=1e-12)
    np.testing.assert_allclose(dx, ref["x"], rtol=1e-12)


def test_outside_a_recording_it_is_the_plain_loop() -> None:
    seen: list[int] = []
    ba.checkpoint_loop(seen.append, 5, snapshots=2)
    assert seen == [0, 1, 2, 3, 4]
    with ba.Tape() as tape:
        ba.checkpoint_loop(seen.append, 0, snapshots=2)
    assert tape.ncalls == 0


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((None, 3, 2), TypeError, "step must be a function"),
        ((print, -1, 2), ValueError, "n must be an integer"),
        ((print, 2.5, 2), ValueError, "n must be an integer"),
        ((print, 3, 0), ValueError, "snapshots must be an integer ≥ 1"),
        ((print, 3, True), ValueError, "snapshots must be an integer"),
    ],
)
def test_bad_arguments(args: tuple[Any, ...], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        ba.checkpoint_loop(*args)


def test_not_on_a_replay_tape_nor_nested() -> None:
    x = np.ones(3)
    with ba.Tape(replay=True) as tape, pytest.raises(RuntimeError, match="replay"):
        ba.checkpoint_loop(lambda i: ba.scal(2.0, x), 3, snapshots=2)
    inner: list[BaseException] = []

    def step(i: int) -> None:
        try:
            ba.checkpoint_loop(lambda j: ba.scal(2.0, x), 2, snapshots=2)
        except RuntimeError as e:
            inner.append(e)

    with ba.Tape() as tape:
        tape.watch(x)
        ba.checkpoint_loop(step, 2, snapshots=2)
    assert inner and "inside a checkpointed step" in str(inner[0])


def test_nbytes_counts_records_copies_and_shadows() -> None:
    x, y = np.ones(1000), np.ones(1000)
    with ba.Tape() as tape:
        empty = tape.nbytes
        tape.watch(x)
        watched = tape.nbytes
        ba.axpy(2.0, x, y)
        ba.scal(3.0, x)  # overwrites nothing the sweep needs (axpy's adjoint reads no values)
        ba.dot(x, y)
        recorded = tape.nbytes
        ba.scal(3.0, x)  # dot's adjoint reads x and y: x is copied first
    assert watched - empty >= 8000  # x's shadow
    assert recorded - watched >= 8000  # y's shadow (made when axpy wrote y) and the records
    assert tape.nbytes - recorded >= 8000 and tape.bytes_copied == 8000


def _euler_loop(k: int | None, numpy_copy: bool, normalise: bool) -> tuple[np.ndarray, np.ndarray, ba.Tape]:
    """x ← x + h A x (a NumPy copy into a scratch array in the middle when numpy_copy; an active
    scalar renormalisation when normalise) on preallocated arrays, 200 steps."""
    rng = np.random.default_rng(5)
    A, x = rng.standard_normal((5, 5)) * 0.3, rng.standard_normal(5)
    xs, y = np.zeros(5), np.zeros(5)

    def step(i: int) -> None:
        ba.gemv(0.05, A, x, 0.0, xs)
        if numpy_copy:
            y[:] = 0.5 * x  # a write outside blasad, which no log of blasad's calls holds
        else:
            ba.copy(x, y)
        ba.axpy(1.0, xs, y)
        ba.copy(y, x)
        if normalise:
            ba.scal(1.0 / ba.nrm2(x), x)

    with ba.Tape() as tape:
        tape.watch(A, x)
        loop(step, 200, k)
    tape.backward(x, np.arange(5.0))
    return tape.grad(A), tape.grad(x), tape


@pytest.mark.parametrize("normalise", [False, True])
def test_steps_that_repeat_their_calls_rerun_natively(normalise: bool, dispatch_path: str) -> None:
    ref = _euler_loop(None, False, normalise)
    gA, gx, tape = _euler_loop(4, False, normalise)
    loop = tape._loops[0]
    if dispatch_path == "fast" or not normalise:  # (the validating path gives nrm2 a new 0-d array)
        assert loop.log is not None and loop.log_from <= 1  # re-run from the log of their calls
    assert np.array_equal(gA, ref[0]) and np.array_equal(gx, ref[1])
    assert loop.advances == _expected_advances(200, 4)


def test_a_numpy_write_in_the_step_turns_native_reruns_off() -> None:
    ref = _euler_loop(None, True, True)
    gA, gx, tape = _euler_loop(4, True, True)
    assert tape._loops[0].log is None  # the log's run of a step differed from the step's own
    assert np.array_equal(gA, ref[0]) and np.array_equal(gx, ref[1])


def test_a_step_that_raises_leaves_a_tape_that_refuses_backward() -> None:
    x = np.ones(3)

    def step(i: int) -> None:
        ba.scal(2.0, x)
        if i == 3:
            raise ArithmeticError("step 3")

    with ba.Tape() as tape:
        tape.watch(x)
        with pytest.raises(ArithmeticError, match="step 3"):
            ba.checkpoint_loop(step, 10, snapshots=2)
        ba.scal(2.0, x)  # recording goes on
    with pytest.raises(RuntimeError, match="a checkpoint_loop raised ArithmeticError"):
        tape.backward(x, np.ones(3))


def test_check_mode_and_threads() -> None:
    """Tape(check=True) verifies what the loop read (a NumPy write to it raises in backward), and
    two threads run checkpointed loops on their own tapes at once (the shadow pool is shared)."""
    prog = euler(4, np.float64)
    ref, _, _, _ = run(prog, 60, None)
    A, x = prog[0]["A"].copy(), prog[0]["x"].copy()
    with ba.Tape(check=True) as tape:
        tape.watch(A, x)
        ba.checkpoint_loop(prog[1]({"A": A, "x": x}), 60, snapshots=3)
    A[0, 0] += 1.0  # outside blasad, after the loop read it
    with pytest.raises(RuntimeError, match="changed outside blasad"):
        tape.backward(x, np.ones_like(x))

    import threading

    results: list[dict[str, np.ndarray]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(run(prog, 60, 3)[0])
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors and len(results) == 10
    for g in results:
        assert_same(g, ref)
