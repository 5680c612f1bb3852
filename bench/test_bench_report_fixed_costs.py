"""The report's (python -m blasad.bench) measurements of tiny calls beyond the float64 chains:
the 4×4 gemm chain in float32, complex128 and complex64; the single-call fixed cost (one 4×4
gemm differentiated end to end against the ideal); the tape bytes per recorded call; their
tables and targets; and the plot's panels of time ÷ the ideal. Fast in smoke mode (--quick,
no peers, short warm-ups, short chains); no timing is asserted."""

from __future__ import annotations

import numpy as np
import pytest

from blasad.bench import cases, timing
from blasad.bench.cli import main, make_config, parse_args
from blasad.bench.frameworks import Peers
from blasad.bench.problems import SINGLE_CASE, TAPE_BYTES_CALLS
from blasad.bench.report import (
    SINGLE_LIMIT,
    TAPE_BYTES_LIMIT,
    Row,
    check_targets,
    panel_series,
    print_chain_table,
)
from blasad.bench.timing import Config

SINGLE_TARGET = f"one 4×4 gemm end to end ≤ {SINGLE_LIMIT:g} × ideal"
BYTES_TARGET = f"tape bytes per recorded tiny call ≤ {TAPE_BYTES_LIMIT} B"


@pytest.fixture(autouse=True)
def short_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Untimed repetitions of a few ms per round instead of 80: the smoke run stays fast."""
    monkeypatch.setattr(timing, "WARM_TIME", 0.002)


def quick_config(*args: str) -> Config:
    return make_config(parse_args(["--quick", "--no-peers", "--threads", "1", *args]))


def test_chain_dtype_rows(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The gemm chain in each other dtype: a blasad row per dtype in the chain table, and the
    program computes Wᵏ X0 in that dtype (the benchmark measures the real chain)."""
    steps = 20
    monkeypatch.setattr(cases, "CHAIN_STEPS", steps)
    rows = cases.case_chain_gemm_dtypes(1, quick_config("--cases", "chains"), Peers(False))
    names = ("float32", "complex64", "complex128")
    assert [(r.case, r.dtype, r.framework) for r in rows] == [("chain-gemm", d, "blasad") for d in names]
    assert all(r.steps == steps and r.forward > 0 and r.backward > 0 and r.total > 0 for r in rows)
    for dtype in cases.CHAIN_DTYPES:
        W, X0, X1, _ = cases._chain_gemm_arrays(dtype)
        want = np.linalg.matrix_power(W.astype(np.complex128), steps) @ X0
        cases._chain_gemm_program(steps, [0.0])(W, X0, X1)
        assert X0.dtype == dtype
        np.testing.assert_allclose(X0, want, rtol=1e-3 if X0.itemsize <= 8 else 1e-10, atol=1e-4)
    print_chain_table(rows)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("chains of") and "dtype" in lines[2]
    for name in names:
        assert any(line.split()[:4] == ["chain-gemm", "1", name, "blasad"] for line in lines), name


def test_single_call_and_tape_bytes_report(capsys: pytest.CaptureFixture[str]) -> None:
    """--cases single,tape-bytes prints both tables, a fixed-cost target per API (autodiff,
    Tape) and the tape-bytes target, each PASS or FAIL."""
    assert main(["--quick", "--no-peers", "--threads", "1", "--cases", "single,tape-bytes"]) == 0
    out = capsys.readouterr().out
    single = out[out.index("single-call fixed cost") :].split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in single[3:6]] == ["blasad", "blasad-tape", "ideal"]
    table = out[out.index("tape bytes per call:") :].splitlines()
    assert table[3].split()[:2] == ["blasad", str(TAPE_BYTES_CALLS)] and float(table[3].split()[2]) >= 0
    targets = [line for line in out.splitlines() if SINGLE_TARGET in line or BYTES_TARGET in line]
    assert len(targets) == 3 and all(t.split()[0] in ("PASS", "FAIL") for t in targets), targets
    assert "ba.autodiff" in targets[0] and "ba.Tape" in targets[1] and targets[2].endswith(" B")
    assert "chains of" not in out and "memory:" not in out


@pytest.mark.parametrize(("ratio", "status"), [(SINGLE_LIMIT - 0.01, "PASS"), (SINGLE_LIMIT + 0.01, "FAIL")])
def test_single_targets(ratio: float, status: str) -> None:
    """The fixed-cost targets divide each API's total by the ideal's; a missing row is SKIP."""
    rows = [Row(SINGLE_CASE, "ideal", "float64", 4, 1, 1.0, 1.0, 2.0),
            Row(SINGLE_CASE, "blasad", "float64", 4, 1, 1.0, 1.0, 2.0 * ratio)]  # fmt: skip
    targets = [
        t for t in check_targets(rows, [], quick_config("--cases", "single")) if t.name == SINGLE_TARGET
    ]
    assert [t.status for t in targets] == [status, "SKIP"]


def test_plot_has_a_panel_over_the_ideal() -> None:
    """Beside each routine and dtype's panel of times, one of each framework's time ÷ the
    ideal's at the same n (the data of plot_figure's panels; drawing them needs matplotlib)."""
    rows = [Row("gemm", fw, "float64", n, 1, 0.0, 0.0, k * n * 1e-6)
            for n in (4, 16) for fw, k in (("ideal", 1.0), ("blasad", 2.5))]  # fmt: skip
    assert panel_series(rows, "gemm", "float64", over_ideal=True) == {
        ("blasad", 1): [(4, 2.5), (16, 2.5)],
        ("ideal", 1): [(4, 1.0), (16, 1.0)],
    }
    times = panel_series(rows, "gemm", "float64", over_ideal=False)
    assert times[("blasad", 1)] == [(4, 2.5 * 4e-6), (16, 2.5 * 16e-6)]
    assert panel_series(rows, "gemm", "float32", over_ideal=True) == {}
