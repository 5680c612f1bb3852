"""The report's forward-mode case (``--cases forward``, blasad.bench.forward): its hand-written
tangents are the JVPs, its CLI run prints the tables and targets, its targets decide as they say.
Fast in smoke mode (--quick, no peers, small sizes, short warm-ups); no timing is asserted, the
tangent checks (deterministic) are."""

from __future__ import annotations

import numpy as np
import pytest

from blasad.bench import forward, timing
from blasad.bench.cli import main, make_config, parse_args
from blasad.bench.report import Row


@pytest.fixture(autouse=True)
def short_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Untimed repetitions of a few ms per round instead of 80: the smoke run stays fast."""
    monkeypatch.setattr(timing, "WARM_TIME", 0.002)


def test_ideals_are_the_tangents() -> None:
    """The hand-written gemm, chain and batch compute the primal and Ȧ B + A Ḃ (per step, per tangent)."""
    A, B, dA, dB, C, dC = arrays = forward.gemm_arrays(5)
    primal, tangent = forward.ideal_gemm(*arrays)
    primal()
    tangent()
    np.testing.assert_allclose(C, A @ B, rtol=1e-13)
    np.testing.assert_allclose(dC, dA @ B + A @ dB, rtol=1e-13)

    rng = np.random.default_rng(2)
    W, dW, X0, dX0 = (rng.standard_normal((4, 4)) * 0.5 for _ in range(4))
    steps = 6
    i_primal, jvp, X, D = forward.ideal_chain(W, dW, X0, dX0, steps)
    x, d = X0, dX0
    for _ in range(steps):
        x, d = W @ x, dW @ x + W @ d
    jvp()
    np.testing.assert_allclose(X[0], x, rtol=1e-12)
    np.testing.assert_allclose(D[0], d, rtol=1e-12)
    X[0] = 0
    i_primal()
    np.testing.assert_allclose(X[0], x, rtol=1e-12)

    n, nb = 6, 3
    A, B, C = rng.standard_normal((n, n)), rng.standard_normal((n, n)), np.zeros((n, n))
    dAs, dBs = rng.standard_normal((nb, n, n)), rng.standard_normal((nb, n, n))
    run, tangents = forward.ideal_batch(A, B, C, dAs, dBs)
    run()
    np.testing.assert_allclose(C, A @ B, rtol=1e-13)
    np.testing.assert_allclose(tangents(), dAs @ B + A @ dBs, rtol=1e-13)


def test_forward_tables_and_targets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--cases forward prints the gemm table (blasad and the ideal per size), the chain and the
    batch tables, and the targets: one per size of the gemm, the tangent check (PASS); without
    the peers no wrapper table."""
    monkeypatch.setattr(forward, "BATCH_SIZES", (8,))
    argv = ["--quick", "--no-peers", "--threads", "1", "--cases", "forward", "--sizes", "4,16"]
    assert parse_args(argv).cases == ["forward"]
    assert [p for p, _ in forward.forward_tasks(make_config(parse_args(argv)))] == (
        [forward.GEMM] * 2 + [forward.CHAIN, forward.BATCH] + [forward.WRAP] * len(forward.WRAP_SIZES)
    )
    assert main(argv) == 0
    out = capsys.readouterr().out
    table = out[out.index("forward mode: one gemm") :].split("\n\n")[0].splitlines()
    body = [line.split() for line in table[3:] if line.split()[0].isdigit()]
    assert [(int(c[0]), c[1]) for c in body] == [(4, "blasad"), (4, "ideal"), (16, "blasad"), (16, "ideal")]
    assert all(c[-1] in ("0.0e+00", "ref") or float(c[-1]) <= forward.CHECK_LIMIT for c in body)
    chain = out[out.index("forward mode: a chain") :].split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in chain[3:8] if line[:1].isalpha()][:3] == [
        "blasad",
        forward.NEW_OUTPUTS,
        "ideal",
    ]
    batch = out[out.index("forward mode, B tangents") :].split("\n\n")[0].splitlines()
    assert [line.split()[2] for line in batch[3:6]] == ["blasad-batch", "blasad-loop", "ideal"]
    assert "the wrappers' cost" not in out
    targets = [line for line in out.splitlines() if line.startswith(("PASS", "FAIL", "SKIP"))]
    assert len(targets) == 3, targets
    assert all(forward.TARGET in t and t[:4] in ("PASS", "FAIL") for t in targets[:2])
    assert targets[2].startswith("PASS") and "blasad's tangents = the ideal's" in targets[2]


def _row(case: str, fw: str, n: int, ratio: float | None = None, check: float | None = None) -> Row:
    ratios = {} if ratio is None else {"÷ ideal": ratio}
    checks = {} if check is None else {"ideal": check}
    return Row(case, fw, "float64", n, 1, 1.0, float("nan"), 1.0, ratios=ratios, checks=checks)


def test_forward_targets_pass_fail_skip() -> None:
    """A gemm target per size (PASS ≤ 1.1, FAIL over); SKIP when no size was measured; the tangent
    check fails over its limit; nothing at all without forward rows."""
    rows = [_row(forward.GEMM, "blasad", 4, 30.0, 0.0), _row(forward.GEMM, "blasad", 1024, 1.05, 0.0),
            _row(forward.GEMM, "ideal", 4), _row(forward.BATCH, "blasad-batch", 64, check=1e-9)]  # fmt: skip
    got = [(t.status, t.where) for t in forward.forward_targets(rows)]
    assert got[:2] == [("FAIL", "float64 n=4 threads=1"), ("PASS", "float64 n=1024 threads=1")]
    assert got[2] == ("FAIL", "gemm, batch")
    skipped = forward.forward_targets([_row(forward.CHAIN, "blasad", 4, check=0.0)])
    assert [t.status for t in skipped] == ["SKIP", "PASS"]
    assert forward.forward_targets([_row("gemm", "blasad", 4, 1.0)]) == []
