"""The tape's scalar pool (csrc/fast.c pool_grow): reverse mode's active scalars stay native.

A reduction's result and each recorded scalar operation take a 16-byte slot of the recording
tape's pool; the chunks of slots (64 in a tape's first, 1024 in each after it) are made natively,
so that ``ba.autodiff`` and a ``with ba.Tape()`` block make no Python Tape object for them. Here:
the values and gradients of programs with active scalars, native against the Python path (the
native entries switched off, as in test_native_entry.py) and against exact values; programs with
several chunks; a Tape object made halfway (it sees the chunks made before); threads; a nested
tape refused with scalars recorded; checkpointed loops and replay tapes whose steps make scalars;
f raising; results outliving their tape; and no chunk kept once its tape and results are gone.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from _tools import run_threads
from test_native_entry import both_ways, rand

import blasad as ba
from blasad import _tape
from blasad._tape import current_tape

FIRST, SLOTS = 64, 1024  # a tape's first chunk, every later one (csrc/fast.c POOL_FIRST, POOL_SLOTS)


def dot(x: np.ndarray, y: np.ndarray) -> Any:
    """⟨x, y⟩ (x conjugated when complex): a reduction's result, a slot on the fast path."""
    return (ba.dotc if x.dtype.kind == "c" else ba.dot)(x, y)


def fsc(x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    """The small program of the bench: r = ⟨x, y⟩; out += (2r / r) x."""
    r = dot(x, y)
    s = r * 2.0
    t = s / r
    ba.axpy(t, x, out)


def many(n_ops: int) -> Callable[[np.ndarray, np.ndarray], None]:
    """n_ops recorded scalar operations between two BLAS calls (n_ops + 2 slots: several chunks)."""

    def f(x: np.ndarray, y: np.ndarray) -> None:
        r = dot(x, x)
        s = r
        for k in range(n_ops):
            s = s * 0.999 + r * 1e-3 if k % 2 else np.sqrt(s * s)
        ba.axpy(s, x, y)

    return f


def handed_over(x: np.ndarray, y: np.ndarray) -> None:
    """Scalars, then the Tape object made (it must see the chunks made so far), then more."""
    many(100)(x, y)
    tape = current_tape()
    assert tape is not None
    assert len(tape._pool_chunks) == 2
    many(100)(x, y)
    assert len(tape._pool_chunks) == 2  # 64 + 1024 slots hold the 2 x 102


PROGRAMS = [fsc, many(10), many(2500), handed_over]
DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


@pytest.mark.parametrize("program", PROGRAMS, ids=["fsc", "one_chunk", "four_chunks", "handed_over"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_autodiff_with_scalars_matches_the_python_path(
    monkeypatch: pytest.MonkeyPatch, program: Callable[..., None], dtype: type
) -> None:
    x0, y0 = rand(8, dtype=dtype), rand(8, dtype=dtype)
    seed = rand(8, dtype=dtype)
    args: tuple[np.ndarray, ...] = (x0, y0, np.zeros(8, dtype)) if program is fsc else (x0, y0)

    def run() -> list[np.ndarray]:
        primals = [a.copy() for a in args]
        shadows = [np.zeros_like(a) for a in args[:-1]] + [seed.copy()]
        ba.autodiff(program, *(ba.Duplicated(p, d) for p, d in zip(primals, shadows)))
        return primals + shadows

    got = both_ways(monkeypatch, run)
    if program is fsc:  # out += (2r / r) x: d/dx = 2 seed, d/dy = 0 (up to rounding through 1/r)
        tol = 1e-5 if dtype in (np.float32, np.complex64) else 1e-13
        np.testing.assert_allclose(got[3], 2.0 * seed, rtol=tol, atol=tol)
        np.testing.assert_allclose(got[4], np.zeros(8), atol=tol * float(np.abs(seed).max()))


def test_the_native_call_makes_no_tape_object_for_its_scalars(dispatch_path: str) -> None:
    """A Tape object made while f runs is the thread's (blasad._tape._adopt): none is, for the
    scalars of thousands of operations (several chunks), in autodiff or in a Tape block (but on
    the validating path of the routines, which asks for it)."""
    seen: list[Any] = []

    def f(x: np.ndarray, out: np.ndarray) -> None:
        many(3000)(x, out)
        seen.append(_tape.thread_local._tape)

    x, out = rand(8), np.zeros(8)
    dx = np.zeros(8)
    ba.autodiff(f, ba.Duplicated(x, dx), ba.Duplicated(out, np.ones(8)))
    assert (seen[0] is None) == (dispatch_path == "fast")
    with ba.Tape() as tape:  # (its object exists; the chunks are made without it)
        tape.watch(x)
        many(3000)(x, np.zeros(8))
    assert len(tape._pool_chunks) == 9  # 7501 slots (1 + 3000 x 2.5): 64 + 8 x 1024


def test_chunks_of_a_tape_block() -> None:
    """A Tape's chunks: 64 slots, then 1024 each, in order made; every slot in one of them."""
    x, y = rand(8), rand(8)
    with ba.Tape() as tape:
        tape.watch(x)
        r = ba.dot(x, x)
        results = [r]
        for k in range(FIRST + SLOTS + 9):
            results.append(results[-1] * 1.0001)
            if k == 9:  # (what it saw then: one chunk; the later ones are added when it looks again)
                assert len(tape._pool_chunks) == 1
        ba.axpy(results[-1], x, y)
    chunks = list(tape._pool_chunks.values())
    assert [hi - lo for lo, hi, _ in chunks] == [16 * FIRST + 16, 16 * SLOTS + 16, 16 * SLOTS + 16]
    for s in results[1:]:  # (r too on the fast path: the validating path gives it its own region)
        p = s.buffer.ctypes.data
        assert p % 16 == 0 and sum(lo <= p < hi for lo, hi, _ in chunks) == 1
        assert any(s.buffer.base is raw for _, _, raw in chunks)  # (it keeps its chunk alive)
    tape.backward(y, np.ones(8))
    # d y / d x through r = ‖x‖², y += r·1.0001^(n) x: the same gradient as NumPy's arithmetic
    c = 1.0001 ** (FIRST + SLOTS + 9)
    want = c * (float(x @ x) * np.ones(8) + 2.0 * x * float(x.sum()))
    np.testing.assert_allclose(tape.grad(x), want, rtol=1e-12)


def test_results_outlive_their_tape_and_chunks_go_with_the_last_of_them() -> None:
    x, dx = rand(8), np.zeros(8)
    kept: list[Any] = []

    def f(x: np.ndarray) -> None:
        r = ba.dot(x, x) * 3.0
        kept.append(r)
        kept.append(weakref.ref(r.buffer.base))

    ba.autodiff(f, ba.Duplicated(x, dx))
    s, chunk = kept
    assert chunk() is not None  # s's buffer is a slot of it
    assert float(s) == float(np.dot(x, x)) * 3.0  # (no recording: no warning)
    kept.clear()
    del s
    gc.collect()
    assert chunk() is None


def test_f_raising_with_scalars_recorded_frees_the_tape() -> None:
    x, dx = rand(8), rand(8)
    seen: list[Any] = []

    def f(x: np.ndarray) -> None:
        r = many(200)  # (more than the first chunk)
        r(x, np.zeros(8))
        seen.append(weakref.ref((ba.dot(x, x) * 1.0).buffer.base))
        raise KeyError("in f")

    before = dx.copy()
    with pytest.raises(KeyError, match="in f"):
        ba.autodiff(f, ba.Duplicated(x, dx))
    gc.collect()
    assert seen[0]() is None
    assert current_tape() is None
    np.testing.assert_array_equal(dx, before)  # no sweep ran
    y, dy, out, dout = rand(8), np.zeros(8), np.zeros(8), np.ones(8)
    ba.autodiff(fsc, ba.Duplicated(x, dx), ba.Duplicated(y, dy), ba.Duplicated(out, dout))
    np.testing.assert_allclose(dx, before + 2.0, rtol=1e-13)  # the thread records again


def test_no_chunk_is_kept_over_many_tapes() -> None:
    """Every chunk goes with its tape: none is alive after hundreds of programs (several chunks
    each, some tapes dropped without backward, some calls raising), and the memory Python knows
    of (NumPy's arrays: the chunks) stays flat. (RSS would count ASan's quarantine.)"""
    x, y = rand(8), rand(8)
    refs: list[weakref.ref[Any]] = []

    def f(x: np.ndarray, y: np.ndarray) -> None:
        many(150)(x, y)
        refs.append(weakref.ref((ba.dot(x, y) * 1.0).buffer.base))

    tracemalloc.start()
    for i in range(600):
        if i == 300:
            gc.collect()
            start = tracemalloc.get_traced_memory()[0]
        if i % 3 == 0:
            ba.autodiff(f, ba.Duplicated(x.copy(), np.zeros(8)), ba.Duplicated(y.copy(), np.ones(8)))
        elif i % 3 == 1:
            with ba.Tape() as tape:
                tape.watch(x)
                f(x, y.copy())
        else:
            try:
                ba.autodiff(lambda x, y: (f(x, y), 1 / 0), ba.Duplicated(x.copy(), np.zeros(8)), y.copy())
            except ZeroDivisionError:
                pass
    del tape
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    assert len(refs) == 600 and all(r() is None for r in refs)
    assert grown < 1 << 18  # (300 programs' chunks: 5 MB, were they kept)


def test_threads_each_with_their_own_pool() -> None:
    x0 = rand(8)
    want = np.zeros(8)
    ba.autodiff(many(300), ba.Duplicated(x0.copy(), want), ba.Duplicated(np.zeros(8), np.ones(8)))
    got: list[np.ndarray] = []

    def work(k: int) -> None:
        for i in range(40):
            dx = np.zeros(8)
            if (i + k) % 2:
                y, dy = np.zeros(8), np.ones(8)
                ba.autodiff(many(300), ba.Duplicated(x0.copy(), dx), ba.Duplicated(y, dy))
            else:
                x, y = x0.copy(), np.zeros(8)
                with ba.Tape() as tape:
                    tape.watch(x)
                    many(300)(x, y)
                tape.backward(y, np.ones(8))
                dx = tape.grad(x)
            got.append(dx)

    run_threads(work)
    assert len(got) == 160
    for dx in got:
        np.testing.assert_array_equal(dx, want)


def test_a_nested_tape_is_refused_and_the_scalars_go_on() -> None:
    x, y = rand(8), np.zeros(8)
    with ba.Tape() as tape:
        tape.watch(x)
        r = ba.dot(x, x) * 0.5
        with pytest.raises(RuntimeError, match="another Tape is already recording"), ba.Tape():
            pass
        for _ in range(100):
            r = r * 1.0
        ba.axpy(r, x, y)
    tape.backward(y, np.ones(8))
    want = 0.5 * float(x @ x) * np.ones(8) + x * float(x.sum())
    np.testing.assert_allclose(tape.grad(x), want, rtol=1e-14)


def loop_program(n: int, snapshots: int | None) -> Callable[[np.ndarray, np.ndarray], None]:
    """n steps, each normalising x through active scalars (30 slots a step: chunks run out
    mid-step), on the tape or through checkpoint_loop."""

    def step(i: int, x: np.ndarray, w: np.ndarray) -> None:
        r = ba.nrm2(x)
        s = r
        for _ in range(28):
            s = s * 1.0
        ba.scal(1.0 / s, x)
        ba.axpy(0.5, w, x)

    def f(x: np.ndarray, w: np.ndarray) -> None:
        if snapshots is None:
            for i in range(n):
                step(i, x, w)
        else:
            ba.checkpoint_loop(lambda i: step(i, x, w), n, snapshots=snapshots)

    return f


@pytest.mark.parametrize("snapshots", [2, 5])
def test_checkpoint_loop_with_scalars_in_the_step(monkeypatch: pytest.MonkeyPatch, snapshots: int) -> None:
    x0, w0, seed = rand(8), rand(8), rand(8)

    def run(k: int | None) -> list[np.ndarray]:
        x, w, dx, dw = x0.copy(), w0.copy(), seed.copy(), np.zeros(8)
        ba.autodiff(loop_program(40, k), ba.Duplicated(x, dx), ba.Duplicated(w, dw))
        return [x, dx, dw]

    taped = run(None)
    for a, b in zip(both_ways(monkeypatch, lambda: run(snapshots)), taped):
        np.testing.assert_array_equal(a, b)


def test_replay_tape_with_scalars() -> None:
    """Record at P0, replay at P1: outputs and gradients equal a fresh recording's at P1."""
    f = many(1500)

    def record(x: np.ndarray, y: np.ndarray) -> ba.Tape:
        tape = ba.Tape(replay=True)
        with tape:
            tape.watch(x, y)
            f(x, y)
        return tape

    x, y = rand(8), rand(8)
    x1, y1 = rand(8), rand(8)
    tape = record(x, y)
    np.copyto(x, x1)
    np.copyto(y, y1)
    tape.replay()
    tape.backward(y, np.ones(8))
    replayed = [y.copy(), tape.grad(x), tape.grad(y)]
    xf, yf = x1.copy(), y1.copy()
    fresh = record(xf, yf)
    fresh.backward(yf, np.ones(8))
    for a, b in zip(replayed, [yf, fresh.grad(xf), fresh.grad(yf)]):
        np.testing.assert_array_equal(a, b)
    tape.backward(y, np.ones(8))  # again, without a replay: the same
    np.testing.assert_array_equal(tape.grad(x), replayed[1])


def test_a_reduction_takes_a_slot_only_when_active(dispatch_path: str) -> None:
    """r = ba.dot(x, y) left None: the result of an active call is a slot of the pool (on the fast
    path: fast_new), a constant one's a plain 0-d array, untracked (float() loses nothing)."""
    x, y, c = rand(8), rand(8), rand(8)
    with ba.Tape() as tape:
        tape.watch(x)
        active, constant = ba.dot(x, y), ba.nrm2(c)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # (a constant: no GradientLostWarning)
            np.testing.assert_allclose(float(constant), np.linalg.norm(c), rtol=1e-15)
        in_pool = any(active.buffer.base is raw for _, _, raw in tape._pool_chunks.values())
        assert in_pool == (dispatch_path == "fast") and constant.buffer.base is None
        z = active * 2.0
    tape.backward(z.buffer, np.ones(()))
    np.testing.assert_array_equal(tape.grad(x), 2.0 * y)
    np.testing.assert_allclose(float(active), np.dot(x, y), rtol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_tape_backward_from_a_scalar_matches_the_python_path(
    monkeypatch: pytest.MonkeyPatch, dtype: type
) -> None:
    """tape.backward(z, seed) with z an active scalar (its buffer the output): natively in one call,
    as the Python path does it; and z that no active value reached (a zero gradient)."""
    x0, y0 = rand(8, dtype=dtype), rand(8, dtype=dtype)
    seed = np.array(rand(1, dtype=dtype)[0])

    def run() -> list[np.ndarray]:
        x, y = x0.copy(), y0.copy()
        with ba.Tape() as tape:
            tape.watch(x)
            z = np.sqrt(dot(x, y) * 2.0 + 1.0)
        tape.backward(z, seed)
        with ba.Tape() as other:
            other.watch(x)
            constant = dot(y, y)  # (a Scalar over an untracked buffer)
        other.backward(constant, seed)
        return [z.buffer, tape.grad(x), other.grad(x)]

    z, gx, zero = both_ways(monkeypatch, run)
    np.testing.assert_array_equal(zero, np.zeros(8, dtype))
    if np.dtype(dtype).kind == "f":  # z = √(2⟨x, y⟩ + 1): dz/dx = y / z
        tol = 1e-5 if dtype is np.float32 else 1e-13
        np.testing.assert_allclose(gx, seed * y0 / z, rtol=tol)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_ufunc_out_natively_as_the_python_side(dtype: type) -> None:
    """np.sqrt(r, out=o) & co. (o a 0-d array or a Scalar's): the native __array_ufunc__ records
    into o as blasad._scalar._ufunc_slow does; an in-place operator (`o -= r`, out the first
    operand) stays the Python side's, which stores its result back without a warning."""
    from blasad._scalar import _ufunc_slow

    def program(native: bool) -> Callable[[np.ndarray, np.ndarray], None]:
        def call(ufunc: np.ufunc, *inputs: Any, out: Any) -> None:
            if native:
                ufunc(*inputs, out=out)
            else:
                _ufunc_slow(inputs[0], ufunc, "__call__", *inputs, out=(out,))

        def f(x: np.ndarray, y: np.ndarray) -> None:
            r = dot(x, y)
            call(np.sqrt, r * r, out=x[0, ...])
            call(np.multiply, r, 0.5, out=ba.Scalar(y[1, ...]))
            call(np.add, ba.Scalar(x[3, ...]), r, out=x[4, ...])
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                y[2, ...] -= r

        return f

    x0, y0, dx0, dy0 = (rand(8, dtype=dtype) for _ in range(4))
    got = []
    slow: list[str] = []  # the calls of _ufunc_slow: the in-place operator's alone, natively

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is _ufunc_slow.__code__:
            slow.append(frame.f_code.co_name)

    for native in (True, False):
        x, y, dx, dy = x0.copy(), y0.copy(), dx0.copy(), dy0.copy()
        sys.setprofile(profile)
        try:
            ba.autodiff(program(native), ba.Duplicated(x, dx), ba.Duplicated(y, dy))
        finally:
            sys.setprofile(None)
        got.append([x, y, dx, dy])
        if native:
            assert len(slow) == 1
    for a, b in zip(*got):
        np.testing.assert_array_equal(a, b)
    r = np.vdot(x0, y0) if np.dtype(dtype).kind == "c" else np.dot(x0, y0)
    np.testing.assert_allclose(got[0][1][2], y0[2] - r, rtol=1e-5)  # (the store back happened)


def test_out_of_memory_for_a_chunk_changes_nothing(dispatch_path: str) -> None:
    """Each native allocation of a reduction on a fresh tape failing in turn (a chunk's shadow, the
    region table, the tape's list of chunks, then the record's; ba_debug_fail_after): MemoryError,
    a chunk whole or not there, and the same operation then succeeds; the gradient is the one of
    a run without failures."""
    from blasad._native_loader import lib

    x0 = rand(8)
    want: list[np.ndarray] = []
    for n in [-1, *range(8)]:
        x = x0.copy()
        with ba.Tape() as tape:
            tape.watch(x)
            r = ba.dot(x, x) if n < 0 else None
            seq = lib.ba_tape_region_seq(tape._ptr)
            lib.ba_debug_fail_after(n)
            try:
                r = ba.dot(x, x)
                failed = False
            except MemoryError:
                failed = True
            finally:
                lib.ba_debug_fail_after(-1)
            if failed:  # a chunk is whole (its region and shadow) or not there
                chunks = tape._pool_chunks
                assert all(tape._regions.bar(raw) for _, _, raw in chunks.values())
                if dispatch_path == "fast":  # (the validating path may have made the result's)
                    assert set(tape._regions.since(seq)) <= set(chunks)
                r = ba.dot(x, x)
            assert r is not None
            z = r * 3.0
        tape.backward(z, np.ones(()))
        want.append(tape.grad(x))
    for g in want:
        np.testing.assert_array_equal(g, 6.0 * x0)
