"""The benchmark report (python -m blasad.bench): its ideal is a correct adjoint, its samples and
target checks compute what they say, and a --quick run goes through. No timing is asserted."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from blasad.bench.cli import main, make_config, parse_args
from blasad.bench.frameworks import blasad_sample
from blasad.bench.ideal import ideal_calls
from blasad.bench.problems import AXPY_ALPHA, OpProblem, make_problem
from blasad.bench.report import Row, check_targets
from blasad.bench.timing import two_phase

OPS = ("gemm", "gemv", "axpy")


def problem(op: str) -> tuple[OpProblem, list[np.ndarray]]:
    """A small problem and a copy of its arrays' initial values."""
    p = make_problem(op, 8, np.float64, np.random.default_rng(1))
    return p, [a.copy() for a in p.arrays]


def expected(p: OpProblem, initial: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """By NumPy: the output after one call, and the adjoints of p's arrays for the seed."""
    s = p.seed
    if p.op == "gemm":  # C ← A B, β = 0: Ā = C̄ Bᵀ, B̄ = Aᵀ C̄, C̄ ← 0
        A, B, _ = initial
        return A @ B, [s @ B.T, A.T @ s, np.zeros_like(s)]
    if p.op == "gemv":  # y ← A x, β = 0: Ā = ȳ xᵀ, x̄ = Aᵀ ȳ, ȳ ← 0
        A, x, _ = initial
        return A @ x, [np.outer(s, x), A.T @ s, np.zeros_like(s)]
    x, y = initial  # y ← α x + y: x̄ = α ȳ, ȳ unchanged
    return AXPY_ALPHA * x + y, [AXPY_ALPHA * s, s]


def close(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("op", OPS)
def test_ideal_is_the_adjoint(op: str) -> None:
    p, initial = problem(op)
    fwd, bwd = ideal_calls(p)
    two_phase(fwd, bwd, before=p.reseed)()
    out, bars = expected(p, initial)
    bars[p.out] = p.seed  # the ideal leaves the output's adjoint as it found it: no one reads it again
    close(p.arrays[p.out], out)
    for got, want in zip(p.shadows, bars):
        close(got, want)


@pytest.mark.parametrize("op", OPS)
def test_blasad_sample_shares_the_ideal_buffers(op: str) -> None:
    """One repetition runs the ideal's reverse, then autodiff, on the same adjoints: the inputs'
    adjoints hold the sum of both, the output's what autodiff leaves (the seed is refilled
    before it). The ratios are those of the repetition's times."""
    p, initial = problem(op)
    _, bwd = ideal_calls(p)
    t = blasad_sample(p, reverse=bwd)()
    out, bars = expected(p, initial)
    if op == "axpy":  # the plain call and autodiff's forward both ran: y₀ + 2 α x
        out = out + AXPY_ALPHA * initial[0]
    close(p.arrays[p.out], out)
    for i, (got, want) in enumerate(zip(p.shadows, bars)):
        close(got, want if i == p.out else 2 * want)
    assert t["fwd/plain"] == pytest.approx(t["forward"] / t["plain"])
    assert t["rev/plain"] == pytest.approx(t["backward"] / t["plain"])
    assert t["forward"] > 0 and t["backward"] > 0 and t["rev/ideal"] > 0


def rows_with(rev_plain: float, fwd_plain: float, total: float, rev_ideal: float) -> list[Row]:
    """The rows the targets read, for float64 n = 2048 at one thread; the ideal's total is 1."""
    at = ("float64", 2048, 1)
    gemm = Row("gemm", "blasad", *at, 1.0, 2.0, total, plain=1.0, fwd_plain=fwd_plain, rev_plain=rev_plain)
    ideal = Row("gemm", "ideal", *at, 1.0, 2.0, 1.0, plain=1.0)
    return [gemm, ideal] + [
        Row(op, "blasad", *at, 1.0, 1.0, 2.0, rev_ideal=rev_ideal) for op in ("gemv", "axpy")
    ]


@pytest.mark.parametrize(
    ("values", "status"),
    [
        ((2.049, 1.019, 1.029, 1.049), ["PASS"] * 5),
        ((2.051, 1.019, 1.029, 1.049), ["FAIL", "PASS", "PASS", "PASS", "PASS"]),
        ((2.0, 1.021, 1.031, 1.051), ["PASS", "FAIL", "FAIL", "FAIL", "FAIL"]),
    ],
)
def test_targets_read_the_paired_ratios(values: tuple[float, ...], status: list[str]) -> None:
    cfg = make_config(parse_args(["--sizes", "2048", "--threads", "1"]))
    targets = [t for t in check_targets(rows_with(*values), [], cfg) if "float64" in t.where]
    names = [t.name for t in targets]
    assert names == [
        "gemm reverse ≤ 2.05 × forward",
        "gemm total ≤ 1.03 × ideal",
        "gemm forward under tape ≤ 1.02 × plain",
        "gemv n=2048 reverse ≤ 1.05 × ideal",
        "axpy n=2048 reverse ≤ 1.05 × ideal",
    ]
    by_name = dict(zip(names, (t.status for t in targets)))
    order = [names[0], names[2], names[1], names[3], names[4]]  # the order of `values`, then the rest
    assert [by_name[n] for n in order] == status


def test_quick_report(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--quick at n = 4 without peers: every table is printed, and the memory targets (exact
    byte counts, not timings) pass."""
    plot = str(tmp_path / "report.png")
    assert main(["--quick", "--no-peers", "--threads", "1", "--sizes", "4", "--plot", plot]) == 0
    out = capsys.readouterr().out
    titles = ("gemm: C ← A B", "gemv: y ← A x", "axpy: y ← α x + y", "chains of 1000", "memory:", "targets")
    assert all(title in out for title in titles)
    memory = [line for line in out.splitlines() if "tape copies exactly" in line]
    assert len(memory) == 7 and all(line.startswith("PASS") for line in memory)
    assert "FAIL" not in "\n".join(memory)
