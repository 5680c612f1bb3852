"""Every routine blasad implements is benchmarked: gemm, gemv and axpy in files of their own
(bench/test_bench_<name>.py), every other one by the spec-driven bench/test_bench_routines.py;
and every active-scalar operation (blasad/specs/scalar.py) by bench/test_bench_scalar.py."""

from __future__ import annotations

from pathlib import Path

from test_bench_routines import DEDICATED, ROUTINES
from test_bench_scalar import BENCHED

import blasad as ba
from blasad.specs.scalar import OPS


def test_every_routine_has_a_benchmark() -> None:
    here = Path(__file__).resolve().parent
    dedicated = {p.stem.removeprefix("test_bench_") for p in here.glob("test_bench_*.py")}
    assert set(DEDICATED) <= dedicated
    missing = sorted(set(ba.SPECS) - set(DEDICATED) - set(ROUTINES))
    assert not missing, f"no benchmark for: {', '.join(missing)}"


def test_every_scalar_op_has_a_benchmark() -> None:
    missing = sorted({op.name for op in OPS} - set(BENCHED))
    assert not missing, f"no benchmark for the active-scalar operations: {', '.join(missing)}"
