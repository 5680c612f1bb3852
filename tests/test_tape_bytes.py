"""The tape's size per recorded call (it packs its records), and programs whose records span
many chunks, change shape from call to call and have their saved inputs copied after they were
recorded: the gradients must be those of the calls as made."""

from __future__ import annotations

import numpy as np
import pytest

import blasad as ba


def _bytes_per_call(call: object, watched: list[np.ndarray], calls: int) -> float:
    assert callable(call)
    with ba.Tape() as tape:
        tape.watch(*watched)
        call()  # (the first call makes the shadows and the tables)
        before = tape.nbytes
        for _ in range(calls):
            call()
        return (tape.nbytes - before) / calls


def test_a_recorded_tiny_axpy_costs_at_most_128_bytes() -> None:
    x, y = np.ones(4), np.zeros(4)
    assert _bytes_per_call(lambda: ba.axpy(2.0, x, y), [x], 10_000) <= 128


def test_a_recorded_tiny_gemm_costs_at_most_128_bytes() -> None:
    # Ā needs B: the record keeps B's reference where copy-on-write can redirect it
    A, B, C = np.ones((4, 4)), np.ones((4, 4)), np.zeros((4, 4))
    assert _bytes_per_call(lambda: ba.gemm(1.0, A, B, 1.0, C), [A], 10_000) <= 128


def test_the_axpy_gradient_after_many_packed_records() -> None:
    x, y = np.ones(4), np.zeros(4)
    with ba.Tape() as tape:
        tape.watch(x)
        for _ in range(10_000):
            ba.axpy(2.0, x, y)
    tape.backward(y, np.ones(4))
    assert np.array_equal(tape.grad(x), np.full(4, 20_000.0))


SIZES = [1, 5, 2, 8, 3, 7, 4, 6]  # each call a new shape: the records' templates change


def _program(A: np.ndarray, x: np.ndarray, y: np.ndarray, n: int) -> None:
    for i in range(n):
        _step(A, x, y, i)


def _step(A: np.ndarray, x: np.ndarray, y: np.ndarray, i: int) -> None:
    k = SIZES[i % len(SIZES)]
    ba.gemv(1.0, A[:k, :k], x[:k], 1.0, y[:k])  # its Ā reads x: a live reference
    ba.scal(_factor(i), x[:k])  # overwrites it: x is copied, the reference redirected


def _factor(i: int) -> float:
    return 2.0 if i // len(SIZES) % 2 else 0.5  # (x stays bounded: each element halved, then doubled)


def _reference(A: np.ndarray, x0: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """d sum(y) / dA and / dx0 for _program, by hand."""
    x, xs = x0.copy(), []
    for i in range(n):
        k = SIZES[i % len(SIZES)]
        xs.append(x[:k].copy())
        x[:k] *= _factor(i)
    gA, gx = np.zeros_like(A), np.zeros_like(x0)
    for i in reversed(range(n)):
        k = SIZES[i % len(SIZES)]
        gx[:k] *= _factor(i)
        gx[:k] += A[:k, :k].T @ np.ones(k)
        gA[:k, :k] += np.outer(np.ones(k), xs[i])
    return gA, gx


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(15)
    return rng.standard_normal((8, 8)), rng.standard_normal(8)


@pytest.mark.parametrize("n", [1, 3000])
def test_records_across_chunks_with_copies_made_after_them(n: int) -> None:
    A, x0 = _data()
    x, y = x0.copy(), np.zeros(8)
    with ba.Tape() as tape:
        tape.watch(A, x)
        _program(A, x, y, n)
    assert tape.ncalls == 2 * n
    assert tape.bytes_copied > 0
    tape.backward(y, np.ones(8))
    gA, gx = _reference(A, x0, n)
    np.testing.assert_allclose(tape.grad(A), gA, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tape.grad(x), gx, rtol=1e-12, atol=1e-12)


def test_a_replay_of_many_packed_records_gives_the_same_gradient() -> None:
    A, x0 = _data()
    x, y = x0.copy(), np.zeros(8)
    with ba.Tape(replay=True) as tape:
        tape.watch(A, x)
        _program(A, x, y, 1000)
    tape.backward(y, np.ones(8))
    first = tape.grad(A), tape.grad(x)
    for _ in range(2):  # the records made anew at the same point
        np.copyto(x, x0)
        y[:] = 0
        tape.replay()
        tape.backward(y, np.ones(8))
        assert np.array_equal(tape.grad(A), first[0]) and np.array_equal(tape.grad(x), first[1])


def test_a_checkpointed_loop_over_packed_records_equals_the_taped_loop() -> None:
    # each re-run step's records are swept and dropped in the middle of a chunk
    A, x0 = _data()
    grads = []
    for snapshots in (None, 4):
        x, y = x0.copy(), np.zeros(8)
        with ba.Tape() as tape:
            tape.watch(A, x)
            if snapshots is None:
                _program(A, x, y, 500)
            else:
                ba.checkpoint_loop(lambda i, x=x, y=y: _step(A, x, y, i), 500, snapshots=snapshots)
        tape.backward(y, np.ones(8))
        grads.append((tape.grad(A), tape.grad(x)))
    assert np.array_equal(grads[0][0], grads[1][0]) and np.array_equal(grads[0][1], grads[1][1])
