"""Per-call overhead of small BLAS calls: plain, under a Tape (inputs watched), and a whole
fresh-Tape block (Tape, watch, one call: the output gets its shadow on the way).

Run `python tools/time_calls.py` (the best of 7 repeats, in µs per call); `--slow` runs the
validating Python path alone (blasad._lowering.FAST off) for comparison.
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np

import blasad as ba
import blasad._lowering as routines

N_CALLS = 2000


def cases() -> dict[str, tuple[Callable[[], Any], tuple[np.ndarray, ...]]]:
    """name: (one call, the arrays to watch under a tape)."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(8), rng.standard_normal(8)
    A, B, C = rng.standard_normal((4, 4)), rng.standard_normal((4, 4)), np.zeros((4, 4))
    T = np.triu(A) + 4 * np.eye(4)
    v, w, z, r = rng.standard_normal(4), np.zeros(4), rng.standard_normal(8), np.zeros(())
    P, zc = rng.standard_normal(10), z.astype(np.complex128)  # P: a packed 4 × 4 triangle
    return {
        "dot(x, y)": (lambda: ba.dot(x, y), (x, y)),
        "dot(x, y, out)": (lambda: ba.dot(x, y, r), (x, y)),
        "nrm2(x)": (lambda: ba.nrm2(x), (x,)),
        "scal(2.0, z)": (lambda: ba.scal(2.0, z), (z,)),
        "copy(x, y)": (lambda: ba.copy(x, y), (x,)),
        "symv(1.0, A, v, 0.0, w)": (lambda: ba.symv(1.0, A, v, 0.0, w), (A, v)),
        "trmv(T, v)": (lambda: ba.trmv(T, v), (T, v)),
        "ger(1.0, v, v, C)": (lambda: ba.ger(1.0, v, v, C), (v,)),
        "syrk(1.0, A, 0.0, C)": (lambda: ba.syrk(1.0, A, 0.0, C), (A,)),
        "trsm(1.0, T, B)": (lambda: ba.trsm(1.0, T, B), (T,)),
        "spmv(1.0, P, v, 0.0, w)": (lambda: ba.spmv(1.0, P, v, 0.0, w), (P, v)),
        "scal(2.0, zc) complex": (lambda: ba.scal(2.0, zc), (zc,)),
        "axpy(2.0, x, y)": (lambda: ba.axpy(2.0, x, y), (x,)),
        "gemm(1.0, A, B, 0.0, C)": (lambda: ba.gemm(1.0, A, B, 0.0, C), (A, B)),
        "np.dot(x, y)": (lambda: np.dot(x, y), ()),
    }


def per_call(run: Callable[[], Any]) -> float:
    """Best of 7 of N_CALLS calls, µs per call."""
    return min(timeit.repeat(run, number=N_CALLS, repeat=7)) / N_CALLS * 1e6


def under_tape(call: Callable[[], Any], watch: tuple[np.ndarray, ...]) -> float:
    """µs per call inside a Tape that watches `watch` (a fresh Tape per N_CALLS calls)."""
    best = float("inf")
    for _ in range(7):
        tape = ba.Tape()
        with tape:
            tape.watch(*watch)
            t = timeit.timeit(call, number=N_CALLS)
        best = min(best, t)
    return best / N_CALLS * 1e6


def fresh_tape(call: Callable[[], Any], watch: tuple[np.ndarray, ...]) -> float:
    """µs per `with Tape() as t: t.watch(...); call()` block."""

    def block() -> None:
        with ba.Tape() as tape:
            tape.watch(*watch)
            call()

    return min(timeit.repeat(block, number=N_CALLS // 4, repeat=7)) / (N_CALLS // 4) * 1e6


def main() -> None:
    if "--slow" in sys.argv:
        routines.FAST = False
    print(f"FAST = {routines.FAST}; µs per call (best of 7)")
    print(f"{'call':26} {'plain':>8} {'tape':>8} {'fresh tape':>11}")
    for name, (call, watch) in cases().items():
        plain = per_call(call)
        if watch:
            print(f"{name:26} {plain:8.2f} {under_tape(call, watch):8.2f} {fresh_tape(call, watch):11.2f}")
        else:
            print(f"{name:26} {plain:8.2f}")


if __name__ == "__main__":
    main()
