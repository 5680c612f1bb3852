"""Shadows made by the tape (issue 15): zeroed whatever block they come from, given back to a
bounded pool when the tape is freed, and released on request."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import blasad as ba


def _gradient(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    C = np.empty((A.shape[0], B.shape[1]))
    with ba.Tape() as tape:
        tape.watch(A, B)
        ba.gemm(1.0, A, B, 0.0, C)
    tape.backward(C, np.ones_like(C))
    return tape.grad(A), tape.grad(B), tape.nbytes


def test_pooled_shadows_start_at_zero_and_the_pool_is_bounded() -> None:
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((300, 200)), rng.standard_normal((200, 100))
    first = _gradient(A, B)
    gc.collect()
    held = ba.shadow_pool()
    assert held >= (300 * 200 + 200 * 100 + 300 * 100) * 8  # the three shadows came back
    again = _gradient(A, B)  # from the pool's blocks, which held the last adjoints
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    np.testing.assert_allclose(first[0], np.ones((300, 100)) @ B.T)
    gc.collect()
    assert ba.shadow_pool(1 << 20) <= 1 << 20  # a smaller bound frees what exceeds it
    assert ba.shadow_pool(0) == 0  # releases all
    _gradient(A, B)
    gc.collect()
    assert ba.shadow_pool() == 0  # a bound of 0 keeps nothing
    assert ba.shadow_pool(256 << 20) == 0


@pytest.mark.parametrize("bad", [-1, 1.5, True, "1"])
def test_shadow_pool_bound_is_a_byte_count(bad: object) -> None:
    with pytest.raises(ValueError, match="max_bytes must be an integer"):
        ba.shadow_pool(bad)  # type: ignore[arg-type]


def test_tape_nbytes_counts_the_shadows_it_made() -> None:
    x, y = np.ones(10_000), np.ones(10_000)
    with ba.Tape() as tape:
        before = tape.nbytes
        tape.watch(x)
        ba.axpy(2.0, x, y)  # y gets a shadow when it is written from x
    assert tape.nbytes - before >= 2 * 80_000


def _trmm_gradient(T: np.ndarray, B0: np.ndarray, seed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """B ← T B (T lower triangular): T̄ = tril(B̄ B_oldᵀ) and the sweep's scratch, B_old a
    snapshot (both 200 × 200 float64: 320 KB, pool blocks)."""
    B = B0.copy(order="F")
    with ba.Tape() as tape:
        tape.watch(T, B)
        ba.trmm(1.0, T, B, uplo="L")
    tape.backward(B, seed)
    return tape.grad(T), tape.grad(B)


def test_big_snapshots_and_scratch_come_from_the_pool_and_go_back() -> None:
    """Copies of overwritten inputs and the sweep's scratch from 256 KiB are pool blocks (not
    zeroed: every byte is written before it is read). Lent out while other tapes free their own
    snapshots and buffers (malloc'd ones among them: QR's τ), they come back, and the gradients
    stay those of the math, tape after tape."""
    rng = np.random.default_rng(1)
    n = 200
    T = np.asfortranarray(np.tril(rng.standard_normal((n, n))))
    B0, seed = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    want_T, want_B = np.tril(seed @ B0.T), T.T @ seed
    held = ba.Tape()  # a tape that keeps its big snapshot while the others come and go
    B1 = B0.copy(order="F")
    with held:
        held.watch(T, B1)
        ba.trmm(1.0, T, B1, uplo="L")
    for _ in range(3):
        got_T, got_B = _trmm_gradient(T, B0, seed)
        np.testing.assert_allclose(got_T, want_T, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got_B, want_B, rtol=1e-12, atol=1e-12)
        A, C = np.asfortranarray(rng.standard_normal((6, 4))), np.asfortranarray(rng.standard_normal((6, 2)))
        with ba.Tape() as qr_tape:  # its record owns a malloc'd τ, freed with the tape
            qr_tape.watch(A, C)
            ba.gels(A, C)
        del qr_tape
        gc.collect()
    assert ba.shadow_pool() >= 2 * n * n * 8  # the snapshot and scratch came back
    held.backward(B1, seed)
    np.testing.assert_allclose(held.grad(T), want_T, rtol=1e-12, atol=1e-12)
    del held
    gc.collect()


@pytest.mark.parametrize("order", ["C", "F"])
def test_a_big_gradient_is_its_own_memory(order: str) -> None:
    """grad() of a big array (from 256 KiB) copies into a block of the pool, which the returned
    array owns: it keeps its values after the tape goes and other tapes reuse the pool, and two
    grads of the same array are apart."""
    rng = np.random.default_rng(2)
    A = np.asarray(rng.standard_normal((300, 200)), order=order)
    B = np.asarray(rng.standard_normal((200, 250)), order=order)
    C = np.zeros((300, 250), order=order)
    seed = rng.standard_normal((300, 250))
    with ba.Tape() as tape:
        tape.watch(A, B)
        ba.gemm(1.0, A, B, 0.0, C)
    tape.backward(C, seed)
    gA, gA2, gB = tape.grad(A), tape.grad(A), tape.grad(B)
    assert gA.flags.c_contiguous if order == "C" else gA.flags.f_contiguous
    assert gA.flags.writeable and not np.shares_memory(gA, gA2)
    gA2[...] = 0.0  # the other grad of A is untouched
    del tape
    gc.collect()
    for _ in range(3):  # other tapes take blocks from the pool meanwhile
        _gradient(A, B)
        gc.collect()
    np.testing.assert_allclose(gA, seed @ B.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gB, A.T @ seed, rtol=1e-12, atol=1e-12)
