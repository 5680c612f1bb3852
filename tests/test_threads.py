"""Threads: tapes are per thread, several threads record and reverse at once, and the GIL is
released while BLAS works (forward calls and the reverse sweep)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
from numpy.testing import assert_array_equal

import blasad as ba
from blasad._tape import current_tape


def ints(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Small integers as float64: results are exact whatever the summation order."""
    return rng.integers(-3, 4, size=shape).astype(np.float64)


# Four different programs, each overwriting values it saved (copy-on-write) on its own arrays.
def _gemm_chain(a: dict[str, np.ndarray]) -> None:
    ba.gemm(a["al"], a["A"], a["B"], 0.0, a["C"])
    ba.gemm(-1.0, a["C"], a["B"].T, 1.0, a["A"])  # overwrites A, saved by the first call
    ba.gemm(1.0, a["A"][:5, :3], a["C"][:3, :4], a["be"], a["B"][:, :4])


def _gemv_loop(a: dict[str, np.ndarray]) -> None:
    for _ in range(5):
        ba.gemv(1.0, a["A"], a["x"], 0.0, a["y"])
        ba.axpy(a["al"], a["y"], a["x"])  # overwrites x, saved by the gemv


def _strided(a: dict[str, np.ndarray]) -> None:
    ba.gemm(a["al"], a["A"][::2, ::2], a["B"][1::2, :], a["be"], a["C"][::-1, ::2])  # staged layouts
    ba.gemv(1.0, a["C"].T, a["y"][::-1], 0.5, a["x"][::2], trans="T")


def _views_of_one_base(a: dict[str, np.ndarray]) -> None:
    M = a["A"]  # blocked updates inside one matrix
    for k in (1, 2, 3):
        ba.gemm(-1.0, M[k:, :k], M[:k, k:], 1.0, M[k:, k:])
    ba.axpy(a["al"], M[0, :], M[-1, :])


PROGRAMS: list[tuple[Callable[[dict[str, np.ndarray]], None], dict[str, tuple[int, ...]]]] = [
    (_gemm_chain, {"A": (6, 5), "B": (5, 7), "C": (6, 7), "al": (), "be": ()}),
    (_gemv_loop, {"A": (6, 6), "x": (6,), "y": (6,), "al": ()}),
    (_strided, {"A": (9, 8), "B": (8, 5), "C": (5, 10), "x": (10,), "y": (10,), "al": (), "be": ()}),
    (_views_of_one_base, {"A": (7, 7), "al": ()}),
]


def _inputs(which: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1000 * which + seed)
    arrays = {k: ints(rng, s) for k, s in PROGRAMS[which][1].items()}
    for k in ("al", "be"):
        if k in arrays:
            arrays[k] = np.array(0.5 if k == "al" else -1.0)
    return arrays


def _differentiate(which: int, seed: int, barrier: threading.Barrier | None = None) -> dict[str, np.ndarray]:
    """Values and gradients of program `which` on inputs drawn from `seed` (Tape style)."""
    program = PROGRAMS[which][0]
    a = _inputs(which, seed)
    seeds = {k: np.random.default_rng(seed + 7).integers(-2, 3, v.shape).astype(float) for k, v in a.items()}
    with ba.Tape() as tape:
        tape.watch(*a.values())
        if barrier is not None:
            barrier.wait()  # every thread is recording now
        program(a)
    if barrier is not None:
        barrier.wait()  # every thread has a recorded tape; now all reverse at once
    tape.backward(list(a.values()), list(seeds.values()))
    out = {f"grad {k}": tape.grad(v) for k, v in a.items()}
    out.update({f"value {k}": v for k, v in a.items()})
    return out


def test_four_threads_record_and_reverse_at_once() -> None:
    rounds = 6
    expected = {(w, r): _differentiate(w, r) for w in range(4) for r in range(rounds)}
    barrier = threading.Barrier(4, timeout=60)
    results: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    errors: list[BaseException] = []

    def worker(which: int) -> None:
        try:
            for r in range(rounds):
                results[which, r] = _differentiate(which, r, barrier)
                assert current_tape() is None
        except BaseException as e:  # reported by the main thread
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    assert current_tape() is None
    for key, exp in expected.items():
        got = results[key]
        for name, value in exp.items():
            assert_array_equal(got[name], value, err_msg=f"program {key[0]}, round {key[1]}: {name}")


def test_four_threads_autodiff_match_the_tape() -> None:
    # the same programs through ba.autodiff at once, checked against the Tape in the main thread
    errors: list[BaseException] = []
    shadows: dict[int, list[np.ndarray]] = {}
    barrier = threading.Barrier(4, timeout=60)

    def worker(which: int) -> None:
        try:
            a = _inputs(which, 99)
            ds = [np.ones_like(v) for v in a.values()]
            barrier.wait()
            ba.autodiff(
                lambda *vals: PROGRAMS[which][0](dict(zip(a, vals))),
                *(ba.Duplicated(v, d) for v, d in zip(a.values(), ds)),
            )
            shadows[which] = ds
        except BaseException as e:
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for which in range(4):
        a = _inputs(which, 99)
        expected = _differentiate_with_ones(which, a)
        for got, exp in zip(shadows[which], expected):
            assert_array_equal(got, exp)


def _differentiate_with_ones(which: int, a: dict[str, np.ndarray]) -> list[np.ndarray]:
    values = {k: v.copy() for k, v in a.items()}
    with ba.Tape() as tape:
        tape.watch(*values.values())
        PROGRAMS[which][0](values)
    tape.backward(list(values.values()), [np.ones_like(v) for v in values.values()])
    return [tape.grad(v) for v in values.values()]


# ---- the GIL ---------------------------------------------------------------------------------------


@contextmanager
def _ticking() -> Iterator[Callable[[], int]]:
    """A background thread that counts while it holds the GIL and yields it at every step
    (time.sleep(0) releases it). The switch interval is raised so that the main thread is never
    made to give the GIL up: the counter can move during a call only if the call releases it."""
    count = [0]
    started, stop = threading.Event(), threading.Event()

    def tick() -> None:
        started.set()
        while not stop.is_set():
            count[0] += 1
            time.sleep(0)

    interval = sys.getswitchinterval()
    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    assert started.wait(30)
    sys.setswitchinterval(100.0)
    time.sleep(0.05)  # a wait for the GIL that began under the old interval ends here
    try:
        yield lambda: count[0]
    finally:
        sys.setswitchinterval(interval)
        stop.set()
        thread.join(30)


def test_gil_is_released_during_blas_work() -> None:
    n = 1500
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    C = np.zeros((n, n))
    with _ticking() as counter:
        before = counter()
        ba.gemm(1.0, A, B, 0.0, C)  # plain call: about 7 GFLOP
        during_plain = counter() - before

        with ba.Tape() as tape:
            tape.watch(A, B)
            before = counter()
            ba.gemm(1.0, A, B, 0.0, C)  # recorded call
            during_recorded = counter() - before
        before = counter()
        tape.backward(C, np.ones((n, n)))  # the sweep: two gemms of the same size, in one C call
        during_sweep = counter() - before
    assert during_plain > 0, "the counter did not move during a plain gemm: the GIL was held"
    assert during_recorded > 0, "the counter did not move during a recorded gemm: the GIL was held"
    assert during_sweep > 0, "the counter did not move during the reverse sweep: the GIL was held"
    assert np.allclose(C[:2, :2], A[:2] @ B[:, :2])


def test_ticking_detects_a_call_that_holds_the_gil() -> None:
    """The control: a call that keeps the GIL (a pure-Python loop) lets the counter stand still."""
    with _ticking() as counter:
        before = counter()
        total = 0
        for i in range(300_000):
            total += i
        held = counter() - before
    assert total == 300_000 * 299_999 // 2
    assert held == 0
