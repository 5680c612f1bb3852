"""Outputs left None (``x = ba.gemm(1.0, W, x)``): made by the native call itself (fast_new), with
their shadow on a recording tape and their tangent in forward mode (csrc/fast.c fw_cover).

Each program runs written with new outputs and written over preallocated arrays, which take the
other paths: values, gradients and tangents agree bit for bit. Also: memory stays flat over long
loops (a freed output's tangent goes with it; a tape's shadows go back to the pool), a new output
used as a view base, forward mode's Python side taking over mid-run, threads, replay tapes and
checkpointed loops."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from _tools import run_threads

import blasad as ba
from blasad import _lowering
from blasad._tape import thread_local

DTYPES = [np.float64, np.complex128]


def _rand(rng: np.random.Generator, dtype: Any, *shape: int) -> np.ndarray:
    z = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        z = z + 1j * rng.standard_normal(shape)
    return z.astype(dtype)


def _program(new: bool) -> Callable[..., None]:
    """A chain of the routines that take new outputs (gemm with transposes, symm, syrk or herk,
    gemv, symv or hemv), each step's result new (new=True) or written into a preallocated array; the
    final vector into out."""

    def f(W: np.ndarray, X: np.ndarray, out: np.ndarray) -> None:
        c = W.dtype.kind == "c"
        for _ in range(3):
            if new:
                Y = ba.gemm(0.5, W, X, trans_b="T")
                Z = ba.symm(1.0, W, Y, side="R")
                S = ba.herk(1.0, Z) if c else ba.syrk(1.0, Z, trans="T")
                X = ba.gemm(1.0, S, W, trans_a="C" if c else "N")
            else:
                Y, Z, S, X2 = (np.zeros_like(W) for _ in range(4))
                ba.gemm(0.5, W, X, 0.0, Y, trans_b="T")
                ba.symm(1.0, W, Y, 0.0, Z, side="R")
                if c:
                    ba.herk(1.0, Z, 0.0, S)
                else:
                    ba.syrk(1.0, Z, 0.0, S, trans="T")
                ba.gemm(1.0, S, W, 0.0, X2, trans_a="C" if c else "N")
                X = X2
            X = X / np.sqrt(np.vdot(X, X).real)  # (NumPy, between the calls: a constant scale)
            X = np.ascontiguousarray(X)
        v = ba.gemv(1.0, X, W[:, 0]) if new else ba.gemv(1.0, X, W[:, 0], 0.0, np.zeros(len(W), W.dtype))
        symv = ba.hemv if c else ba.symv
        w = symv(1.0, W, v) if new else symv(1.0, W, v, 0.0, np.zeros(len(W), W.dtype))
        ba.copy(w, out)

    return f


def _inputs(rng: np.random.Generator, dtype: Any) -> list[np.ndarray]:
    n = 4
    W = _rand(rng, dtype, n, n) / 2
    return [W + W.T, _rand(rng, dtype, n, n), np.zeros(n, dtype)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_reverse_mode_new_outputs_equal_preallocated(rng, dtype):
    arrays = _inputs(rng, dtype)
    seed = _rand(rng, dtype, 4)
    got = []
    for new in (True, False):
        xs = [a.copy() for a in arrays]
        dxs = [np.zeros_like(a) for a in xs]
        dxs[2][...] = seed
        ba.autodiff(_program(new), *(ba.Duplicated(x, dx) for x, dx in zip(xs, dxs)))
        with ba.Tape() as tape:
            ys = [a.copy() for a in arrays]
            tape.watch(*ys[:2])
            _program(new)(*ys)
        tape.backward(ys[2], seed)
        got.append((xs[2], dxs[0], dxs[1], ys[2], tape.grad(ys[0]), tape.grad(ys[1])))
    for a, b in zip(*got):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(got[0][1], got[0][4])  # autodiff == Tape


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_mode_new_outputs_equal_preallocated(rng, dtype):
    arrays = _inputs(rng, dtype)
    tangents = [_rand(rng, dtype, *a.shape) for a in arrays[:2]]
    got = []
    for new in (True, False):
        xs = [a.copy() for a in arrays]
        dxs = [t.copy() for t in tangents] + [np.zeros_like(xs[2])]
        ba.autodiff(_program(new), *(ba.Duplicated(x, dx) for x, dx in zip(xs, dxs)), mode="forward")
        got.append((xs[2], dxs[2]))
    np.testing.assert_array_equal(got[0][0], got[1][0])
    np.testing.assert_array_equal(got[0][1], got[1][1])
    assert np.abs(got[0][1]).max() > 0


def _native_regions() -> int:
    """The forward-mode regions the native calls made in the run's table (reading them hands the
    run's regions to Python's side, as _adopt does)."""
    return len(_lowering.fw_regions())


def test_forward_mode_memory_stays_flat_over_a_long_loop(rng, dispatch_path):
    W = rng.standard_normal((16, 16)) / 4
    first: list[Any] = []
    counts: list[int] = []

    def chain(W: np.ndarray, X: np.ndarray) -> None:
        for i in range(10_000):
            X = ba.gemm(1.0, W, X)
            if i == 0:
                first.append(weakref.ref(X))
        counts.append(_native_regions())
        ba.copy(X.reshape(-1), out.reshape(-1))

    X0, dW, dX0 = rng.standard_normal((16, 16)), rng.standard_normal((16, 16)), rng.standard_normal((16, 16))
    out = np.zeros((16, 16))  # (written from active X: it gets a tangent)
    ba.autodiff(chain, ba.Duplicated(W, dW), ba.Duplicated(X0, dX0), mode="forward")
    assert first[0]() is None  # the outputs went as the loop went: so did their tangents
    # the last output's tangent alone is the natives' (the fast path; the validating path's are Python's)
    assert counts == [1 if dispatch_path == "fast" else 0]
    del chain
    gc.collect()


def test_reverse_mode_tapes_give_back_their_shadows(rng):
    W = rng.standard_normal((16, 16)) / 4
    outputs: list[Any] = []
    held = []
    ba.shadow_pool(0)  # (empty: what the earlier tests left there does not count)
    ba.shadow_pool(256 << 20)
    for _ in range(4):
        X = rng.standard_normal((16, 16))
        with ba.Tape() as tape:
            tape.watch(W, X)
            Y = X
            for _ in range(2_500):
                Y = ba.gemm(1.0, W, Y)
        outputs.append(weakref.ref(Y))
        tape.backward(Y, np.ones((16, 16)))
        assert tape.grad(W) is not None
        del tape, Y
        gc.collect()
        held.append(ba.shadow_pool())
    assert all(r() is None for r in outputs)  # the outputs went with their tape
    # their shadows went back to the pool, which keeps a bounded number of them: the same each time
    assert 0 < held[0] <= 64 * 4096
    assert held == [held[0]] * 4


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_new_output_as_a_view_base(rng, mode):
    W = rng.standard_normal((4, 4)) / 2
    X0 = rng.standard_normal((4, 4))

    def program(new: bool) -> Callable[..., None]:
        def f(W: np.ndarray, X0: np.ndarray, out: np.ndarray) -> None:
            Y = ba.gemm(1.0, W, X0) if new else ba.gemm(1.0, W, X0, 0.0, np.zeros((4, 4)))
            ba.gemv(1.0, W, Y[:, 0], 0.0, Y[:, 1])  # a view of it written, another read
            Z = ba.gemm(1.0, np.eye(4), np.eye(4)) if new else np.eye(4) * 1.0  # inactive
            ba.gemv(1.0, W, Y[1], 0.0, Z[2])  # a view of an inactive new output made active
            ba.gemm(1.0, Y[1:3, :], Z, 0.0, out[1:3, :])
            ba.axpy(2.0, Z[2], out[0])

        return f

    seed = rng.standard_normal((4, 4))
    got = []
    for new in (True, False):
        xs = [W.copy(), X0.copy(), np.zeros((4, 4))]
        if mode == "forward":
            dxs = [np.ones((4, 4)), seed.copy(), np.zeros((4, 4))]
            ba.autodiff(program(new), *(ba.Duplicated(x, dx) for x, dx in zip(xs, dxs)), mode="forward")
            got.append((xs[2], dxs[2]))
        else:
            dxs = [np.zeros((4, 4)), np.zeros((4, 4)), seed.copy()]
            ba.autodiff(program(new), *(ba.Duplicated(x, dx) for x, dx in zip(xs, dxs)))
            got.append((xs[2], dxs[0], dxs[1]))
    for a, b in zip(*got):
        np.testing.assert_array_equal(a, b)
    assert np.abs(got[0][1]).max() > 0


def test_forward_mode_python_takes_over_mid_run(rng):
    """Python's Forward made mid-run (asked for, as Python code asks: a Python tangent rule, a scalar
    turned into a number) takes over the regions the native calls made (outputs alive then and used
    after, dot's active result), and makes the later ones."""
    W = rng.standard_normal((4, 4)) / 2

    def program(new: bool) -> Callable[..., None]:
        def f(W: np.ndarray, X0: np.ndarray, out: np.ndarray) -> None:
            X = X0
            kept = []
            for i in range(6):
                X = ba.gemm(1.0, W, X) if new else ba.gemm(1.0, W, X, 0.0, np.zeros((4, 4)))
                kept.append(X)
                if i == 2:  # the takeover; kept[0] goes after it, kept[1] is read after it
                    s = ba.dot(X.reshape(-1), X.reshape(-1))
                    assert thread_local.forward is not None  # (the takeover)
                    X = ba.gemm(1.0 / s, W, X) if new else ba.gemm(1.0 / s, W, X, 0.0, np.zeros((4, 4)))
                    del kept[0]
            ba.gemm(1.0, kept[0], X, 0.0, out)

        return f

    X0 = rng.standard_normal((4, 4))
    got = []
    for new in (True, False):
        xs = [W.copy(), X0.copy(), np.zeros((4, 4))]
        dxs = [np.ones((4, 4)), np.arange(16.0).reshape(4, 4), np.zeros((4, 4))]
        ba.autodiff(program(new), *(ba.Duplicated(x, dx) for x, dx in zip(xs, dxs)), mode="forward")
        got.append((xs[2], dxs[2]))
    np.testing.assert_array_equal(got[0][0], got[1][0])
    np.testing.assert_array_equal(got[0][1], got[1][1])
    assert np.abs(got[0][1]).max() > 0


def _forward_chain(W: np.ndarray, X0: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    out, dout = np.zeros_like(X0), np.zeros_like(X0)

    def f(W: np.ndarray, X: np.ndarray, out: np.ndarray) -> None:
        for _ in range(steps):
            X = ba.gemm(1.0, W, X)
        ba.copy(X.reshape(-1), out.reshape(-1))

    dW = np.full_like(W, 0.5)
    ba.autodiff(f, ba.Duplicated(W.copy(), dW), ba.Duplicated(X0.copy(), np.ones_like(X0)),
                ba.Duplicated(out, dout), mode="forward")  # fmt: skip
    return out, dout


def _reverse_chain(W: np.ndarray, X0: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    with ba.Tape() as tape:
        tape.watch(W, X0)
        X = X0
        for _ in range(steps):
            X = ba.gemm(1.0, W, X)
    tape.backward(X, np.ones_like(X))
    return tape.grad(W), tape.grad(X0)


def test_threads_make_new_outputs_apart(rng):
    W = rng.standard_normal((6, 6)) / 3
    X0s = [rng.standard_normal((6, 6)) for _ in range(4)]
    want = [(_forward_chain(W, X0, 300), _reverse_chain(W, X0, 300)) for X0 in X0s]
    got: dict[int, Any] = {}

    def work(k: int) -> None:
        for _ in range(5):
            got[k] = (_forward_chain(W, X0s[k], 300), _reverse_chain(W, X0s[k], 300))

    run_threads(work)
    for k in range(4):
        for a, b in zip(want[k], got[k]):
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("maker", ["native", "python"])
def test_a_new_output_freed_on_another_thread(rng, maker):
    """Outputs made in one thread's forward run and dropped by another while the run goes on:
    their regions leave the run's table (no tangent read from freed memory), whether the native
    calls made them or Python's Forward did (asked for, as Python code asks: it makes the regions
    from then on)."""
    W = rng.standard_normal((4, 4)) / 2

    def start(W: np.ndarray) -> None:
        if maker == "python":
            assert thread_local.forward is not None  # (the takeover)

    handed: list[np.ndarray] = []
    ready, taken = threading.Event(), threading.Event()

    def drop() -> None:
        ready.wait(30)  # (a timeout: a failing f does not hang the run)
        handed.clear()  # the last references: the regions go, from this thread
        taken.set()

    def f(W: np.ndarray, X: np.ndarray, out: np.ndarray) -> None:
        start(W)
        for _ in range(50):
            handed.append(ba.gemm(1.0, W, X))
        ready.set()
        taken.wait(30)
        for _ in range(50):  # (new outputs at the freed addresses: fresh zero tangents)
            X = ba.gemm(1.0, W, X)
        after(X, out)

    def after(X: np.ndarray, out: np.ndarray) -> None:
        for _ in range(50):  # constants at the freed addresses: no tangent
            X = ba.gemm(1.0, np.full((4, 4), 0.25), X)
        ba.copy(X.reshape(-1), out.reshape(-1))

    other = threading.Thread(target=drop)
    other.start()
    X0, out, dout = rng.standard_normal((4, 4)), np.zeros((4, 4)), np.zeros((4, 4))
    dW = np.ones((4, 4))
    ba.autodiff(f, ba.Duplicated(W, dW), ba.Duplicated(X0, np.zeros((4, 4))), ba.Duplicated(out, dout),
                mode="forward")  # fmt: skip
    other.join()
    assert not handed
    want_out, want_dout = np.zeros((4, 4)), np.zeros((4, 4))

    def g(W: np.ndarray, X: np.ndarray, out: np.ndarray) -> None:
        start(W)
        for _ in range(50):
            X = ba.gemm(1.0, W, X)
        after(X, out)

    ba.autodiff(g, ba.Duplicated(W, np.ones((4, 4))), ba.Duplicated(X0, np.zeros((4, 4))),
                ba.Duplicated(want_out, want_dout), mode="forward")  # fmt: skip
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(dout, want_dout)


def test_replay_tape_with_new_outputs(rng):
    W, X0 = rng.standard_normal((3, 3)) / 2, rng.standard_normal((3, 3))
    seed = rng.standard_normal(3)
    with ba.Tape(replay=True) as tape:
        tape.watch(W, X0)
        X = X0
        for _ in range(10):
            X = ba.syrk(1.0, ba.gemm(1.0, W, X), trans="T")
        y = ba.gemv(1.0, X, W[0])
    for _ in range(2):
        W[...], X0[...] = rng.standard_normal((3, 3)) / 2, rng.standard_normal((3, 3))
        tape.replay()
        tape.backward(y, seed)
        with ba.Tape() as fresh:
            fresh.watch(W, X0)
            X = X0
            for _ in range(10):
                X = ba.syrk(1.0, ba.gemm(1.0, W, X), trans="T")
            y2 = ba.gemv(1.0, X, W[0])
        fresh.backward(y2, seed)
        np.testing.assert_array_equal(y, y2)
        np.testing.assert_array_equal(tape.grad(W), fresh.grad(W))
        np.testing.assert_array_equal(tape.grad(X0), fresh.grad(X0))


@pytest.mark.parametrize("snapshots", [None, 3])
def test_checkpoint_loop_with_new_outputs_per_step(rng, snapshots):
    A = rng.standard_normal((5, 5)) * 0.3
    x0 = rng.standard_normal(5)
    seed = rng.standard_normal(5)

    def step_of(A: np.ndarray, x: np.ndarray, new: bool) -> Callable[[int], None]:
        def step(i: int) -> None:
            k = ba.gemv(0.1, A, x) if new else ba.gemv(0.1, A, x, 0.0, np.zeros(5))
            m = ba.gemm(1.0, A, A, trans_b="T") if new else ba.gemm(1.0, A, A, 0, np.zeros((5, 5)), "N", "T")
            ba.gemv(0.01, m, k, 1.0, x)

        return step

    got = []
    for new in (True, False):
        x, dA, dx = x0.copy(), np.zeros((5, 5)), seed.copy()

        def f(A: np.ndarray, x: np.ndarray, new: bool = new) -> None:
            step = step_of(A, x, new)
            if snapshots is None:
                for i in range(40):
                    step(i)
            else:
                ba.checkpoint_loop(step, 40, snapshots=snapshots)

        ba.autodiff(f, ba.Duplicated(A, dA), ba.Duplicated(x, dx))
        got.append((x, dA, dx))
    for a, b in zip(*got):
        np.testing.assert_array_equal(a, b)
