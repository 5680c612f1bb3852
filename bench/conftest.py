"""Shared setup of the pytest-benchmark suites: sizes, dtypes, smoke mode, the runner.

Full mode measures n in {4, 16, 64, 256, 1024, 2048}. Smoke mode, for CI (no timing is
asserted anywhere), keeps n in {4, 16} and runs each benchmark once::

    BLASAD_BENCH_SMOKE=1 python -m pytest bench -q --benchmark-disable
    python -m pytest bench --smoke
    python -m pytest bench                      # the full suite (slow; on a quiet machine)
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import blasad as ba

SIZES = (4, 16, 64, 256, 1024, 2048)
SMOKE_SIZES = (4, 16)
DTYPES = (np.float32, np.float64)

if importlib.util.find_spec("pytest_benchmark") is None:  # pragma: no cover - the [test] extra has it
    collect_ignore_glob = ["test_*.py"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--smoke",
        action="store_true",
        default=False,
        help="blasad bench: n in {4, 16} and one round per benchmark (also BLASAD_BENCH_SMOKE=1)",
    )


def smoke_mode(config: pytest.Config) -> bool:
    """True when the suite runs in smoke mode (--smoke or BLASAD_BENCH_SMOKE=1)."""
    env = os.environ.get("BLASAD_BENCH_SMOKE", "").strip().lower()
    return env not in ("", "0", "false", "no") or bool(config.getoption("--smoke", default=False))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize every benchmark taking `n` or `dtype` over the sizes and dtypes of the mode."""
    if "n" in metafunc.fixturenames:
        sizes = SMOKE_SIZES if smoke_mode(metafunc.config) else SIZES
        metafunc.parametrize("n", sizes, ids=[f"n{n}" for n in sizes])
    if "dtype" in metafunc.fixturenames:
        metafunc.parametrize("dtype", DTYPES, ids=[np.dtype(d).name for d in DTYPES])


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


class Runner:
    """Runs one benchmark in the mode of the session: plain, under a tape, or the reverse sweep.

    ``run(target)`` times a call that can be repeated as is; ``run(target, setup)`` times
    ``target(*setup())`` with a fresh, untimed ``setup()`` before every round (a tape to
    record on, or a recorded tape to sweep: a tape is consumed by its reverse sweep).
    Smoke mode runs each target once (with ``--benchmark-disable`` pytest-benchmark
    does the same). Each returns what the last call of target returned.
    """

    def __init__(self, benchmark: Any, smoke: bool, group: str) -> None:
        self.benchmark, self.smoke = benchmark, smoke
        benchmark.group = group

    def __call__(self, target: Callable[..., Any], setup: Callable[[], tuple[Any, ...]] | None = None) -> Any:
        if setup is None:
            if self.smoke:
                return self.benchmark.pedantic(target, rounds=1, iterations=1, warmup_rounds=0)
            return self.benchmark(target)

        def pedantic_setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
            return setup(), {}

        rounds = 1 if self.smoke else self._rounds(target, setup)
        return self.benchmark.pedantic(target, setup=pedantic_setup, rounds=rounds, warmup_rounds=0)

    @staticmethod
    def _rounds(target: Callable[..., Any], setup: Callable[[], tuple[Any, ...]]) -> int:
        """Rounds for about one second of timed work (5 to 1000), from one trial round."""
        args = setup()
        t0 = time.perf_counter()
        target(*args)
        cost = time.perf_counter() - t0
        return int(min(1000, max(5, 1.0 / max(cost, 1e-7))))

    # -- the three modes of every routine ------------------------------------------
    def plain(self, call: Callable[..., Any], args: Sequence[Any]) -> Any:
        """The call with no tape recording."""
        return self(lambda: call(*args))

    def taped(self, call: Callable[..., Any], args: Sequence[Any], watched: Sequence[np.ndarray]) -> Any:
        """The call while a tape records (watching `watched`): a fresh tape every round, on which
        one untimed call was recorded first, so that the time is that of recording a call, not
        the one-time costs of a new tape (its arena, the output's shadow)."""

        def setup() -> tuple[Any, ...]:
            tape = ba.Tape()
            tape.__enter__()
            try:
                tape.watch(*watched)
                call(*args)
            except BaseException:  # no tape left recording for the benchmarks after this one
                tape.__exit__(None, None, None)
                raise
            return (tape,)

        def target(tape: ba.Tape) -> Any:
            try:
                return call(*args)
            finally:
                tape.__exit__(None, None, None)

        return self(target, setup)

    def reverse(
        self,
        call: Callable[..., Any],
        args: Sequence[Any],
        watched: Sequence[np.ndarray],
        output: np.ndarray,
        seed: np.ndarray,
    ) -> ba.Tape:
        """The reverse sweep ``tape.backward(output, seed)`` of one recorded call; returns the
        last tape, consumed, for ``tape.grad``."""

        def setup() -> tuple[Any, ...]:
            with ba.Tape() as tape:
                tape.watch(*watched)
                call(*args)
            return (tape,)

        def target(tape: ba.Tape) -> ba.Tape:
            tape.backward(output, seed)
            return tape

        result: ba.Tape = self(target, setup)
        return result


@pytest.fixture
def run(benchmark: Any, request: pytest.FixtureRequest) -> Runner:
    """The runner for this benchmark, its group named after the routine, dtype and size."""
    params = getattr(request.node, "callspec", None)
    p = params.params if params is not None else {}
    routine = request.node.module.__name__.rsplit("_", 1)[-1]
    dtype = np.dtype(p["dtype"]).name if "dtype" in p else ""
    group = "-".join(str(s) for s in (routine, dtype, f"n{p['n']}" if "n" in p else "") if s)
    return Runner(benchmark, smoke_mode(request.config), group)
