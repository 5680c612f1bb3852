"""The tape's tables of regions (shadows by address) and of live references (saved inputs still
read from user memory) are ordered sets held in blocks (csrc/tape.c, os_*): thousands of arrays
met in scattered address order, blocks that split and empty, copy-on-write erasing references
from the middle, a truncated tape. The gradients must be those of the same programs met in
address order, and those of the math."""

from __future__ import annotations

import numpy as np
import pytest

import blasad as ba

N = 3000  # arrays: about 47 blocks of 64 entries


def _arrays(rng: np.random.Generator, order: str, n: int = N) -> list[np.ndarray]:
    """n separate 4-vectors (their own allocations), returned in address order, reversed or
    shuffled: the order the program meets them in."""
    xs = [rng.standard_normal(4) for _ in range(n)]
    xs.sort(key=lambda a: a.ctypes.data)
    if order == "reversed":
        xs.reverse()
    elif order == "shuffled":
        rng.shuffle(xs)  # type: ignore[arg-type]
    return xs


@pytest.mark.parametrize("order", ["sorted", "reversed", "shuffled"])
def test_thousands_of_watched_arrays_in_any_address_order(rng, order):
    """y ← Σ cᵢ xᵢ, one axpy per array: ∂y·s/∂xᵢ = cᵢ s, for every region in the table."""
    xs = _arrays(rng, order)
    c = rng.standard_normal(N)
    y, seed = np.zeros(4), rng.standard_normal(4)
    with ba.Tape() as tape:
        tape.watch(*xs)
        for ci, x in zip(c, xs):
            ba.axpy(float(ci), x, y)
    tape.backward(y, seed)
    for ci, x in zip(c, xs):
        np.testing.assert_array_equal(tape.grad(x), ci * seed)


@pytest.mark.parametrize("order", ["sorted", "reversed", "shuffled"])
def test_new_shadows_for_outputs_in_any_address_order(rng, order):
    """zᵢ ← a xᵢ with each zᵢ a preallocated array the tape meets first as an output (a shadow
    made per array), then y ← Σ zᵢ: ∂y·s/∂a = Σ ⟨xᵢ, s⟩."""
    xs = _arrays(rng, "sorted", N // 2)
    zs = _arrays(rng, order, N // 2)
    a = np.array(0.5)  # (a 0-d array: an active alpha)
    y, seed = np.zeros(4), rng.standard_normal(4)
    with ba.Tape() as tape:
        tape.watch(a, *xs)
        for x, z in zip(xs, zs):
            ba.copy(x, z)
            ba.scal(a, z)
        for z in zs:
            ba.axpy(1.0, z, y)
    tape.backward(y, seed)
    want = sum(float(x @ seed) for x in xs)
    assert float(tape.grad(a)) == pytest.approx(want, rel=1e-12)
    for x in xs:
        np.testing.assert_array_equal(tape.grad(x), 0.5 * seed)


@pytest.mark.parametrize("order", ["sorted", "reversed", "shuffled"])
def test_copy_on_write_erases_references_in_any_order(rng, order):
    """y ← Σ xᵢ ⊙ w (each record keeps its xᵢ by reference: a live entry), then every xᵢ is
    overwritten in a scattered order (copy-on-write copies it and drops its entry): the gradient
    with respect to w is Σ xᵢ as they were read."""
    xs = _arrays(rng, order)
    x0 = [x.copy() for x in xs]
    w = rng.standard_normal(4)
    y, seed = np.zeros(4), rng.standard_normal(4)
    with ba.Tape() as tape:
        tape.watch(w)
        for x in xs:
            ba.sbmv(1.0, x.reshape(1, 4), w, 1.0, y, uplo="L")  # y += diag(x) w: ∂/∂w reads x
        for i in rng.permutation(N):
            ba.scal(0.0, xs[i])  # overwrites a saved input
    tape.backward(y, seed)
    np.testing.assert_allclose(tape.grad(w), np.sum(x0, axis=0) * seed, rtol=1e-12, atol=0)


def test_checkpointed_loop_truncates_its_references(rng):
    """A checkpointed loop re-runs its steps, truncating what each recorded: the live references
    of the dropped records leave the table, the rest stay in order."""
    xs = _arrays(rng, "shuffled", 400)
    w = rng.standard_normal(4)
    y, seed = np.zeros(4), rng.standard_normal(4)

    def step(i: int) -> None:
        ba.sbmv(1.0, xs[i].reshape(1, 4), w, 1.0, y, uplo="L")

    with ba.Tape() as tape:
        tape.watch(w)
        ba.checkpoint_loop(step, len(xs), snapshots=4)
    tape.backward(y, seed)
    np.testing.assert_allclose(tape.grad(w), np.sum(xs, axis=0) * seed, rtol=1e-12, atol=0)
