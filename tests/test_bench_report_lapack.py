"""The LAPACK case of the benchmark report (blasad.bench.lapack): its plain LAPACK calls compute
the factorizations, its rows and targets say what they measure, and operations blasad lacks
are reported as not available. No timing is asserted."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from blasad.bench import lapack
from blasad.bench.cli import make_config, parse_args
from blasad.bench.frameworks import Peers
from blasad.bench.report import Row

DTYPES = (np.float64, np.complex128)


def quick() -> Any:
    return make_config(parse_args(["--quick", "--no-peers", "--threads", "1", "--cases", "lapack"]))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("op", lapack.OPS)
def test_plain_lapack_computes_the_operation(op: str, dtype: Any) -> None:
    p = lapack.make_lapack_problem(op, 12, dtype, np.random.default_rng(2))
    bufs, reset, call = lapack.lapack_buffers(p)
    reset()
    call()
    A = p.initial[0]
    ok = np.allclose
    if op == "cholesky":
        assert ok(np.tril(bufs[0]), np.linalg.cholesky(A))
    elif op == "lu":
        assert ok(bufs[2], np.linalg.solve(A, p.initial[2]))
    elif op == "solve_triangular":
        assert ok(bufs[1], np.linalg.solve(A, p.initial[1])) and ok(A, np.triu(A))
    elif op == "qr":
        Q = bufs[2]
        assert ok(Q @ np.triu(bufs[0]), A) and ok(Q.conj().T @ Q, np.eye(12))
    elif op == "eigh":
        assert ok((bufs[0] * bufs[1]) @ bufs[0].conj().T, A)
    else:
        assert ok((bufs[2] * bufs[1]) @ bufs[3], A)
    reset()  # repeatable: the calls start again from the initial values
    call()


@pytest.mark.parametrize("op", ["eigh", "svd"])
def test_vector_seeds_ignore_the_phases(op: str) -> None:
    """The seeds of eigen- and singular vectors make the loss phase-invariant: Im diag(Vᴴ V̄) = 0."""
    p = lapack.make_lapack_problem(op, 10, np.complex128, np.random.default_rng(3))
    bufs, reset, call = lapack.lapack_buffers(p)
    reset()
    call()
    outs = [bufs[i] for i in p.outputs]
    seeds = p.seeds_from(outs)
    V, Vb = (outs[1], seeds[1])
    assert np.allclose(np.diag(V.conj().T @ Vb).imag, 0)
    if op == "svd":
        assert np.allclose(np.diag(seeds[2] @ outs[2].conj().T).imag, 0)


def test_case_rows_and_targets() -> None:
    """potrf (in blasad today): every framework's row, positive times, the ratios; the targets
    are SKIP below TARGET_MIN_N and checked at it."""
    rows = lapack.case_lapack("cholesky", 16, np.float64, 1, quick(), Peers(False))
    assert [r.framework for r in rows] == ["lapack", "blasad", "blasad-tape"]
    b = rows[1]
    assert b.total > 0 and b.forward > 0 and b.backward > 0 and b.plain is not None and b.plain > 0
    assert set(b.ratios) == {"plain/lapack", "fwd/lapack", "total/lapack"}
    assert [t.status for t in lapack.lapack_targets(rows)] == ["SKIP"]
    big = [Row(r.case, r.framework, r.dtype, 256, *(r.threads, r.forward, r.backward, r.total), plain=r.plain,
               ratios=r.ratios) for r in rows]  # fmt: skip
    big.append(Row("lapack-cholesky", "torch", "float64", 256, 1, 1.0, 1.0, b.total * 2))
    targets = lapack.lapack_targets(big)
    assert len(targets) == 4 and all(t.status in ("PASS", "FAIL") for t in targets), targets
    assert targets[2].status == "PASS"  # half PyTorch's total
    limit = lapack.FLOP_SLACK * (lapack.FLOPS["cholesky"].ratio(256, 256) + 1)
    assert f"{limit:.2f}" in targets[3].name


def test_missing_routine_is_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lapack, "missing", lambda op, dtype: ["getrf"])
    rows = lapack.case_lapack("lu", 16, np.float64, 1, quick(), Peers(False))
    assert len(rows) == 1 and rows[0].framework == "unavailable" and "ba.getrf" in rows[0].note
    (t,) = lapack.lapack_targets(rows)
    assert t.status == "SKIP" and "not available" in t.measured


def test_cli_lapack_case(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """--cases lapack prints a table or a not-available line per operation, and the targets."""
    monkeypatch.setattr(lapack, "LAPACK_QUICK_SIZES", (8,))
    monkeypatch.setattr(lapack, "LAPACK_DTYPES", (np.float64,))
    from blasad.bench.cli import main

    assert main(["--quick", "--no-peers", "--threads", "1", "--cases", "lapack"]) == 0
    out = capsys.readouterr().out
    for op in lapack.OPS:
        assert f"LAPACK {op}:" in out
    assert "targets" in out and "gemm: C ← A B" not in out


def test_cli_lapack_ops_and_sizes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--lapack-ops and --lapack-sizes run only the operations and sizes named; others are refused."""
    monkeypatch.setattr(lapack, "LAPACK_DTYPES", (np.float64,))
    from blasad.bench.cli import main, parse_args

    argv = ["--quick", "--no-peers", "--threads", "1", "--cases", "lapack"]
    assert main([*argv, "--lapack-ops", "qr,cholesky", "--lapack-sizes", "6"]) == 0
    out = capsys.readouterr().out
    assert "LAPACK cholesky:" in out and "LAPACK qr:" in out and "LAPACK eigh:" not in out
    rows = [line.split() for line in out.splitlines() if line.startswith("blasad  ")]
    assert rows and all(r[2] == "6" for r in rows), rows
    with pytest.raises(SystemExit):
        parse_args(["--lapack-ops", "qr,potato"])


def test_a_peers_lead_names_its_forward_and_reverse() -> None:
    """A failed peer target says how the peer's forward alone compares with the LAPACK call
    here, and the two reverse sweeps (the report's evidence of a library's lead)."""
    case, dt, n = "lapack-eigh", "complex128", 1024

    def row(fw: str, plain: float | None, fwd: float, rev: float, total: float) -> Row:
        ratios = {"plain/lapack": 1.0, "fwd/lapack": 1.0, "total/lapack": total} if fw == "blasad" else {}
        return Row(case, fw, dt, n, 1, fwd, rev, total, plain=plain, ratios=ratios)

    rows = [
        row("lapack", 1.0, 1.0, 0.0, 1.0),
        row("blasad", 1.0, 1.0, 0.3, 1.3),
        row("torch", 0.4, 0.4, 0.35, 0.75),
    ]
    (peer,) = [t for t in lapack.lapack_targets(rows) if "PyTorch and JAX" in t.name]
    assert peer.status == "FAIL"
    assert (
        "(PyTorch's forward alone 0.40× the LAPACK call here; reverse 300 ms against 350 ms)" in peer.measured
    )
    rows[2] = row("torch", 1.2, 1.2, 0.35, 1.55)
    (peer,) = [t for t in lapack.lapack_targets(rows) if "PyTorch and JAX" in t.name]
    assert peer.status == "PASS" and "forward alone" not in peer.measured
