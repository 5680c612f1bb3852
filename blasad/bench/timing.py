"""The one timing harness of the report: a sample is one timed repetition of a framework's
program; measure() warms each sample up, sizes its repetitions to the time budget and lets the
samples take turns in rounds; every time in the report is a median it returns."""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

ROUNDS = 8  # the samples of a case take turns this many times
WARM_TIME = 0.08  # seconds of untimed repetitions at the start of a sample's turn
# what a report can measure (--cases)
CASES = ("ops", "chains", "single", "tape-bytes", "memory", "scalar", "cg", "lapack", "level3", "checkpoint",
         "forward")  # fmt: skip
Sample = Callable[[], dict[str, float]]  # one timed repetition: segment name -> seconds
now = time.perf_counter


def phases(t0: float, t1: float, t2: float) -> dict[str, float]:
    """A repetition's segments from the clock read at its start, between forward and reverse,
    and at its end."""
    return {"forward": t1 - t0, "backward": t2 - t1, "total": t2 - t0}


@dataclasses.dataclass(frozen=True)
class Config:
    """What to measure and how long to spend on each measurement."""

    sizes: tuple[int, ...]
    threads: tuple[int, ...]
    peers: bool
    plot: str
    quick: bool
    budget: float  # seconds of timed repetitions per measurement
    min_reps: int  # repetitions at least ...
    min_reps_slow: int  # ... or this many when one repetition costs more than `slow` seconds
    slow: float
    max_reps: int
    cases: tuple[str, ...] = CASES  # the cases to run
    lapack_ops: tuple[str, ...] = ()  # the LAPACK operations to run (--lapack-ops; empty: all)
    lapack_sizes: tuple[int, ...] = ()  # their sizes (--lapack-sizes; empty: the defaults)


def _warm_up(sample: Sample, cfg: Config) -> tuple[int, int]:
    """Run sample once or twice untimed (compilation, page faults, caches); return how many
    repetitions fill cfg.budget, and how many untimed ones start each of its turns: those of
    WARM_TIME seconds (one when a repetition is slow, over cfg.slow)."""
    cost = sample()["total"]
    if not (cfg.quick and cost > cfg.slow):  # --quick: one warm-up of a slow case is enough
        cost = sample()["total"]
    least = cfg.min_reps_slow if cost > cfg.slow else cfg.min_reps
    reps = max(least, min(cfg.max_reps, int(cfg.budget / max(cost, 1e-9))))
    warm = 1 if cost > cfg.slow else min(cfg.max_reps, math.ceil(WARM_TIME / max(cost, 1e-9)))
    return reps, warm


def measure(samples: dict[str, Sample], cfg: Config) -> dict[str, dict[str, float]]:
    """The median of each segment of each sample over its repetitions.

    The samples take turns in ROUNDS rounds (a…a b…b c…c, a…a b…b c…c, ...) so that a drift
    in the machine's speed touches them alike: their ratios are what the targets check. In a
    round a sample first runs untimed repetitions (see _warm_up), so that its timed ones start
    from the caches its own repetitions leave: the steady state of a program repeating its
    step (on the development machine, a memory-bound call takes some 50 ms of repetitions to
    reach it after another sample's), then its share of timed ones. Every sample reports a "total" (its cost),
    from which its numbers of repetitions are chosen.
    """
    reps, warm = {}, {}
    for name, sample in samples.items():
        reps[name], warm[name] = _warm_up(sample, cfg)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in samples}
    for r in range(ROUNDS):
        for name, sample in samples.items():
            todo = -(-reps[name] * (r + 1) // ROUNDS) - len(runs[name])  # this round's share
            if todo <= 0:
                continue
            for _ in range(warm[name]):
                sample()
            runs[name] += [sample() for _ in range(todo)]
    return {name: {k: statistics.median(x[k] for x in rs) for k in rs[0]} for name, rs in runs.items()}


def measure_each(samples: dict[str, Sample], cfg: Config) -> dict[str, dict[str, float]]:
    """Like measure, one sample after the other: for the peers, whose thread pools would
    otherwise spin against OpenBLAS's and one another's, and for samples that allocate their
    buffers anew in each repetition (they would evict the others' data from the caches)."""
    out: dict[str, dict[str, float]] = {}
    for name, sample in samples.items():
        out.update(measure({name: sample}, cfg))
    return out


def two_phase(
    fwd: Callable[[], Any], bwd: Callable[[], Any], before: Callable[[], Any] | None = None
) -> Sample:
    """Time fwd() then bwd() as one repetition, after before() (untimed)."""

    def sample() -> dict[str, float]:
        if before is not None:
            before()
        t0 = now()
        fwd()
        t1 = now()
        bwd()
        t2 = now()
        return phases(t0, t1, t2)

    return sample
