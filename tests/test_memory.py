"""Memory: no leak over many recorded calls and tapes, and a tape's native memory (records,
copy-on-write snapshots) is given back when the Tape is dropped.

RSS is read from /proc/self/statm on Linux and from `ps` elsewhere (macOS): both give the current
resident set size. BLASAD_HEAVY_TESTS=1 runs ten times as many calls.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import numpy as np
import pytest

import blasad as ba

HEAVY = os.environ.get("BLASAD_HEAVY_TESTS", "0") not in ("", "0")
MB = 1 << 20


def rss() -> int:
    """Current resident set size of this process, in bytes."""
    if sys.platform.startswith("linux"):
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    out = subprocess.run(
        ["ps", "-o", "rss=", "-p", str(os.getpid())], capture_output=True, text=True, check=True
    )
    return int(out.stdout.split()[0]) * 1024  # KiB


def _settled_rss() -> int:
    gc.collect()
    return rss()


class _Workload:
    """Tapes of tiny recorded calls that save values and overwrite them (every call records,
    every second call takes a copy-on-write snapshot). A third of the tapes are dropped without
    backward, the rest are reversed; every tenth program runs through ba.autodiff."""

    def __init__(self) -> None:
        self.x, self.y = np.ones(4), np.ones(4)
        self.alpha = np.array(1e-3)
        self.seed = np.ones(4)
        self.dx, self.dy, self.dalpha = np.zeros(4), np.zeros(4), np.zeros(())
        self.calls = 0

    def _program(self, x: np.ndarray, y: np.ndarray, alpha: np.ndarray, pairs: int) -> None:
        for _ in range(pairs):
            ba.axpy(alpha, x, y)  # saves x (α is active)
            ba.axpy(alpha, y, x)  # overwrites x: snapshot; saves y

    def run(self, n_tapes: int, calls_per_tape: int) -> None:
        x, y, alpha = self.x, self.y, self.alpha
        pairs = calls_per_tape // 2
        for i in range(n_tapes):
            x[...], y[...] = 1.0, 2.0
            if i % 10 == 9:
                self.dx[...], self.dy[...], self.dalpha[...] = 1.0, 1.0, 0.0
                ba.autodiff(
                    self._program,
                    ba.Duplicated(x, self.dx),
                    ba.Duplicated(y, self.dy),
                    ba.Duplicated(alpha, self.dalpha),
                    pairs,
                )
                assert self.dalpha > 0
            else:
                tape = ba.Tape()
                with tape:
                    tape.watch(x, y, alpha)
                    self._program(x, y, alpha, pairs)
                assert tape.ncalls == 2 * pairs
                if i % 3:
                    tape.backward([x, y], [self.seed, self.seed])
                    assert tape.grad(alpha) > 0
                del tape  # dropped with or without its sweep
            self.calls += 2 * pairs


def test_no_leak_over_many_recorded_calls_and_tapes(dispatch_path: str) -> None:
    # 10^4 short tapes and a few long ones, 10^6 recorded calls in all on the fast path; the
    # validating path (about 20 times slower per call) runs a twentieth of it.
    scale = (10 if HEAVY else 1) * (1 if dispatch_path == "fast" else 0.05)
    short = (int(10_000 * scale), 50)
    long = (max(int(50 * scale), 2), 10_000)
    w = _Workload()
    w.run(short[0] // 10, short[1])  # warm-up: every kind of tape, at its full length
    w.run(3, long[1])
    before, calls_before = _settled_rss(), w.calls

    w.run(*short)
    w.run(*long)
    after = _settled_rss()
    calls = w.calls - calls_before
    assert calls >= (10**6 if dispatch_path == "fast" else 4 * 10**4)
    growth = after - before
    assert growth < 4 * MB, f"RSS grew by {growth / MB:.1f} MB over {calls} recorded calls"


@pytest.mark.parametrize("reverse", [False, True], ids=["dropped", "reversed then dropped"])
def test_native_memory_is_freed_when_the_tape_is_dropped(reverse: bool) -> None:
    # A 40 MB matrix is saved by reference, then overwritten: the tape copies it into native
    # memory. The copy must be resident while the tape lives and, once the tape is dropped, back
    # in the shadow pool (a block for later tapes), which ba.shadow_pool(0) gives back.
    rows, cols = 2000, 2500
    A = np.ones((rows, cols))
    x, y = np.ones(cols), np.zeros(rows)
    u, v = np.ones((rows, 1)), np.full((1, cols), 2.0)
    alpha = np.array(0.5)
    gc.collect()
    base = _settled_rss()

    tape = ba.Tape()
    with tape:
        tape.watch(alpha)
        ba.gemv(alpha, A, x, 0.0, y)  # ᾱ needs A: saved by reference
        ba.gemm(1.0, u, v, 0.0, A)  # overwrites A: the tape copies it
    assert tape.bytes_copied >= A.nbytes
    held = _settled_rss() - base
    assert held >= 0.9 * A.nbytes, f"the snapshot should be resident: RSS grew by {held / MB:.1f} MB"
    if reverse:
        tape.backward(y, np.ones(rows))
        assert tape.grad(alpha) == rows * cols  # ⟨ȳ, A x⟩ with the old A (all ones)
        assert A.min() == A.max() == 2.0  # reductions: a 5 MB temporary (A == 2) could stay in
        # the heap after it is freed (glibc raises its mmap threshold after large frees) and
        # be counted as held below
    del tape
    assert ba.shadow_pool() >= A.nbytes  # the copy's block, kept for the next tape
    ba.shadow_pool(0)
    ba.shadow_pool(256 << 20)  # (the default bound back, for the tests after this one)
    left = _settled_rss() - base
    assert left < 0.1 * A.nbytes, f"{left / MB:.1f} MB still held after the tape was dropped"
