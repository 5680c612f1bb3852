"""Every routine blasad implements is benchmarked: gemm, gemv and axpy in files of their own
(bench/test_bench_<name>.py), every other one by the spec-driven bench/test_bench_routines.py."""

from __future__ import annotations

from pathlib import Path

from test_bench_routines import DEDICATED, ROUTINES

import blasad as ba


def test_every_routine_has_a_benchmark() -> None:
    here = Path(__file__).resolve().parent
    dedicated = {p.stem.removeprefix("test_bench_") for p in here.glob("test_bench_*.py")}
    assert set(DEDICATED) <= dedicated
    missing = sorted(set(ba.SPECS) - set(DEDICATED) - set(ROUTINES))
    assert not missing, f"no benchmark for: {', '.join(missing)}"
