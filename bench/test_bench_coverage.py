"""Every routine blasad implements has a benchmark module here (bench/test_bench_<name>.py)."""

from __future__ import annotations

from pathlib import Path

import blasad as ba


def test_every_routine_has_a_benchmark() -> None:
    here = Path(__file__).resolve().parent
    benchmarked = {p.stem.removeprefix("test_bench_") for p in here.glob("test_bench_*.py")}
    missing = sorted(set(ba.SPECS) - benchmarked)
    assert not missing, f"no benchmark for: {', '.join(missing)} (add bench/test_bench_<name>.py)"
