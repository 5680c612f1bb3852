"""The report's checkpointed-loop case (``--cases checkpoint``, blasad.bench.checkpoint): an
RK4 loop's gradient through ba.checkpoint_loop against the fully taped loop, its table and
targets. Fast in smoke mode (--quick, no peers, short warm-ups); no timing is asserted, the
memory and gradient targets (deterministic) are."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from blasad.bench import checkpoint, timing
from blasad.bench.cli import main
from blasad.bench.report import Row


@pytest.fixture(autouse=True)
def short_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Untimed repetitions of a few ms per round instead of 80: the smoke run stays fast."""
    monkeypatch.setattr(timing, "WARM_TIME", 0.002)


def test_checkpoint_table_and_targets(capsys: pytest.CaptureFixture[str]) -> None:
    """--cases checkpoint prints a row per n and scheme (blasad fully taped and with each k,
    its re-runs and a gradient equal to the fully taped loop's) and the targets: the memory at
    the largest n against the fully taped loop's, its independence of n per k, the gradient."""
    assert main(["--quick", "--no-peers", "--threads", "1", "--cases", "checkpoint"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("checkpointed loop: RK4") :].split("\n\n")[0].splitlines()
    body = [line.split() for line in table[3:] if line.split()[0].isdigit()]
    schemes = [checkpoint.TAPED] + [checkpoint.loop_label(k) for k in checkpoint.CKPT_SNAPSHOTS]
    got = [(int(c[0]), c[1], " ".join(c[2:4]) if c[2] != "taped" else "taped") for c in body]
    assert got == [(n, "blasad", s) for n in checkpoint.CKPT_QUICK_STEPS for s in schemes]
    for cells in body:
        if cells[2] == "taped":
            assert cells[-1] == "ref"
        else:
            assert int(cells[-2]) > 0 and float(cells[-1]) <= 1e-10  # re-runs, grad diff
    targets = [line for line in out.splitlines() if line.startswith(("PASS", "FAIL", "SKIP"))]
    names = [f"checkpoint_loop k={checkpoint.TARGET_K}: tape ≤ 0.1 × the fully taped loop's"]
    grow = "tape does not grow with n (within 25%)"
    names += [f"checkpoint_loop k={k}: {grow}" for k in checkpoint.CKPT_SNAPSHOTS]
    names += ["checkpointed loop, blasad: the gradient = the fully taped blasad loop's (rel. diff ≤ 1e-10)"]
    assert len(targets) == len(names)
    for line, name in zip(targets, names):
        assert line.startswith("PASS") and name in line, line


def _row(n: int, scheme: str, nbytes: int, check: float | None = None) -> Row:
    checks = {} if check is None else {"taped": check}
    return Row(checkpoint.CASE, "blasad", "float64", n, 1, 1.0, 1.0, 2.0, op=scheme, nbytes=nbytes,
               checks=checks)  # fmt: skip


def test_checkpoint_targets_fail_and_skip() -> None:
    """The memory targets fail on a tape over the fraction or growing with n, are SKIP where a
    row is missing; the gradient target fails over its limit."""
    k = checkpoint.TARGET_K
    big, five = checkpoint.loop_label(k), checkpoint.loop_label(5)
    rows = [_row(100, "taped", 1000), _row(10000, "taped", 100_000),
            _row(100, big, 9000, 0.0), _row(10000, big, 12_000, 1e-9),
            _row(100, five, 500, 0.0), _row(10000, five, 520, 0.0)]  # fmt: skip
    status = {t.name: t.status for t in checkpoint.checkpoint_targets(rows)}
    assert status[f"checkpoint_loop k={k}: tape ≤ 0.1 × the fully taped loop's"] == "FAIL"  # 0.11
    assert status[f"checkpoint_loop k={k}: tape does not grow with n (within 25%)"] == "FAIL"  # 33%
    assert status["checkpoint_loop k=5: tape does not grow with n (within 25%)"] == "PASS"  # 4%
    assert status["checkpoint_loop k=60: tape does not grow with n (within 25%)"] == "SKIP"
    grad = [v for name, v in status.items() if "gradient" in name]
    assert grad == ["FAIL"]
    assert checkpoint.checkpoint_targets([]) == []


def test_peer_program_is_blasads() -> None:
    """The functional RK4 loop the peers differentiate computes blasad's in-place loop (outside
    a recording); the segments and nested scans cover the n steps."""
    A, x0 = checkpoint.rk4_arrays()
    n = 50
    arrays = [A, x0, *(np.zeros(checkpoint.CKPT_M) for _ in range(6))]
    checkpoint.rk4_program(n, None)(*arrays)
    np.testing.assert_allclose(arrays[2], checkpoint.rk4_steps(A, x0, n, 1.0 / n), rtol=1e-13, atol=1e-13)
    for n, k in ((100, 60), (1000, 20), (7, 7)):
        b = checkpoint.segments(n, k)
        assert (
            b[0] == 0 and b[-1] == n and len(b) == k + 1 and all(hi > lo for lo, hi in itertools.pairwise(b))
        )
    assert [checkpoint.nested(n) for n in (100, 1000, 10000, 7)] == [10, 25, 100, 1]
