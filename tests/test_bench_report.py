"""The benchmark report (python -m blasad.bench): its ideal is a correct adjoint, its samples and
target checks compute what they say, and a --quick run goes through. No timing is asserted."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import blasad as ba
from blasad.bench import cases, cli, lapack
from blasad.bench.cases import SCALAR_STEPS, cg_checks, scalar_chain_gradients
from blasad.bench.cli import main, make_config, parse_args
from blasad.bench.frameworks import CHAIN_FORMS, Peers, blasad_sample
from blasad.bench.ideal import ideal_calls
from blasad.bench.problems import (
    AXPY_ALPHA,
    CHAIN_STEPS,
    SCALAR_OPS,
    OpProblem,
    ScalarCase,
    cg_blasad,
    cg_functional,
    cg_numpy,
    make_problem,
    scalar_loop,
    spd_matrix,
)
from blasad.bench.report import Row, check_targets, find
from blasad.bench.timing import CASES, Config, two_phase

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


def test_quick_report(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--quick at n = 4 without peers (one active-scalar operation, one small CG): every table
    is printed, and the memory targets (exact byte counts, not timings) pass."""
    monkeypatch.setattr(cases, "SCALAR_OPS", SCALAR_OPS[:1])
    monkeypatch.setattr(cli, "CG_QUICK_SIZES", ((16, 4),))
    monkeypatch.setattr(lapack, "LAPACK_QUICK_SIZES", (8,))
    plot = str(tmp_path / "report.png")
    assert main(["--quick", "--no-peers", "--threads", "1", "--sizes", "4", "--plot", plot]) == 0
    out = capsys.readouterr().out
    titles = ("gemm: C ← A B", "gemv: y ← A x", "axpy: y ← α x + y", "chains of 1000", "memory:", "targets",
              "active scalars recorded on a tape", "active scalars outside any recording",
              "conjugate gradient", "LAPACK cholesky", "checkpointed loop")  # fmt: skip
    assert all(title in out for title in titles), [t for t in titles if t not in out]
    memory = [line for line in out.splitlines() if "tape copies exactly" in line]
    assert len(memory) == 7 and all(line.startswith("PASS") for line in memory)
    assert "FAIL" not in "\n".join(memory)
    checks = [line for line in out.splitlines() if "gradient =" in line]
    assert len(checks) == 4 and all(line.startswith("PASS") for line in checks), checks


# ---------------------------------------------------------------------------------------------
# active scalars and conjugate gradient
# ---------------------------------------------------------------------------------------------


def quick_config(*args: str) -> Config:
    return make_config(parse_args(["--quick", "--no-peers", "--threads", "1", *args]))


@pytest.mark.parametrize("op", SCALAR_OPS, ids=lambda op: op.label)
def test_scalar_loops_are_the_operation(op: ScalarCase) -> None:
    """The generated loops compute op on NumPy scalars, chained or not; the chain from op.start
    stays finite over the report's steps; the recorded chain's gradient (Tape) is a central
    difference's, and autodiff's is the Tape's exactly."""
    want = np.sqrt  # the sqrt the loops are handed
    z = np.float64(op.start)
    for _ in range(3):
        z = eval(op.expr.format(x="z", s="s"), {"sqrt": want, "s": np.float64(1.0), "z": z})
    assert scalar_loop(op, chain=True)(np.float64(op.start), np.float64(1.0), np.sqrt, 3) == z
    one = eval(op.expr.format(x="r", s="s"), {"sqrt": want, "s": np.float64(1.2), "r": np.float64(1.5)})
    assert scalar_loop(op, chain=False)(np.float64(1.5), np.float64(1.2), np.sqrt, 4) == one
    end = scalar_loop(op, chain=True)(np.float64(op.start), np.float64(1.0), np.sqrt, SCALAR_STEPS)
    assert np.isfinite(end) and abs(end) > np.finfo(np.float64).tiny

    k = 6  # (r ** 2 from 1 is r^(2^k): a short chain keeps the central difference accurate)
    r, s, seed = ba.Scalar(np.array(op.start)), ba.Scalar(np.array(1.0)), np.array(1.0)
    with ba.Tape() as tape:
        tape.watch(r.buffer, s.buffer)
        zr = scalar_loop(op, chain=True)(r, s, np.sqrt, k)
    assert tape.ncalls == k
    tape.backward(zr, seed)
    grads = tape.grad(r.buffer)[()], tape.grad(s.buffer)[()]
    for i, g in enumerate(grads):
        at = [np.float64(op.start), np.float64(1.0)]
        h = 1e-6 * abs(at[i])

        def f(t: float, i: int = i, at: list[np.float64] = at) -> float:
            x = list(at)
            x[i] = x[i] + t
            return float(scalar_loop(op, chain=True)(x[0], x[1], np.sqrt, k))

        fd = (f(h) - f(-h)) / (2 * h)
        assert g == pytest.approx(fd, rel=1e-6, abs=1e-9 * abs(f(0.0)) / abs(at[i])), (op.label, i)
    assert scalar_chain_gradients(op, k) == {"autodiff": 0.0}


def test_scalar_case_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scalar case (no peers, one operation: r * s): every form's rows, with positive finite
    times, and its targets (the gradient check passes)."""
    monkeypatch.setattr(cases, "SCALAR_OPS", SCALAR_OPS[1:2])
    cfg = quick_config("--cases", "scalar")
    rows = cases.case_scalar(1, cfg, Peers(False))
    labels = [op.label for op in SCALAR_OPS[1:2]]
    for label in labels:
        for case, fws in (
            ("scalar-recorded", ("blasad-tape", "blasad")),
            ("scalar-plain", ("blasad", "numpy-float64", "numpy-0d", "blasad-tape-1", "blasad-1")),
        ):
            for fw in fws:
                r = find(rows, case=case, op=label, framework=fw)
                assert r is not None, (case, label, fw)
                assert np.isfinite(r.total) and r.total > 0 and r.steps > 1, r
                if case == "scalar-recorded":  # (medians: each part's is at most the total's, their
                    # sum need not be: the two parts peak in different repetitions)
                    assert 0 < r.forward <= r.total and 0 < r.backward <= r.total
    assert find(rows, case="scalar-plain", framework="python") is not None
    targets = check_targets(rows, [], cfg)
    assert [t.where.split(" (")[0] for t in targets if "record + reverse" in t.name] == labels
    assert all(t.status in ("PASS", "FAIL") for t in targets)
    check = [t for t in targets if "gradient" in t.name]
    assert len(check) == 1 and check[0].status == "PASS", check


def test_cg_programs_agree() -> None:
    """cg_blasad (in place, blasad) computes what cg_numpy and cg_functional do, and its
    gradient checks (Tape against autodiff, and a central difference) pass."""
    rng = np.random.default_rng(3)
    n, k = 16, 6
    A, b, seed = spd_matrix(n, rng), rng.standard_normal(n), rng.standard_normal(n)
    assert np.allclose(A, A.T) and np.linalg.eigvalsh(A).min() > 0.99
    x = rng.standard_normal(n)  # overwritten: the program starts from x = 0
    cg_blasad(A, b, x, np.zeros(n), np.zeros(n), np.zeros(n), k)
    close(x, cg_numpy(A, b, k))
    close(x, cg_functional(A, b, k, np.zeros_like))
    checks = cg_checks(A, b, seed, k)
    assert checks["autodiff"] == 0.0 and checks["fd"] < 1e-6, checks


def test_cg_case_rows() -> None:
    rows = cases.case_cg(16, 4, 1, quick_config("--cases", "cg"), Peers(False))
    assert sorted(r.framework for r in rows) == ["blasad", "blasad-tape", "numpy"]
    for r in rows:
        assert r.case == "cg" and r.n == 16 and r.steps == 4 and r.total > 0 and r.forward > 0
        if r.framework != "numpy":
            assert r.backward > 0 and r.forward + r.backward <= r.total
    b = find(rows, framework="blasad")
    assert b is not None and b.plain is not None and b.plain > 0
    targets = check_targets(rows, [], quick_config("--cases", "cg"))
    assert [t.status for t in targets] == ["PASS", "PASS"], targets  # autodiff and FD (no torch)


def test_cases_option(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--cases picks what runs: only its tables, targets and notes are printed, and the plot
    (of gemm, gemv and axpy) is not written without them."""
    assert parse_args(["--cases", "cg,scalar"]).cases == ["scalar", "cg"]  # in the report's order
    assert parse_args([]).cases == list(CASES)
    with pytest.raises(SystemExit):
        parse_args(["--cases", "scalars"])
    capsys.readouterr()
    monkeypatch.setattr(cli, "CG_QUICK_SIZES", ((16, 4),))
    plot = tmp_path / "report.png"
    assert main(["--quick", "--no-peers", "--threads", "1", "--cases", "cg", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "conjugate gradient" in out and "targets" in out and not plot.exists()
    for other in ("gemm", "chains of", "active scalars", "memory:", "fwd AD: the forward", "plot"):
        assert other not in out, other


def test_chain_rows_have_every_form_and_replay() -> None:
    """The gemm chain's rows: autodiff, the three Tape forms, replay and the ideal, each with its
    steps and a positive time, and the targets that compare them (no peers: JAX's is SKIP)."""
    cfg = quick_config("--cases", "chains")
    rows = cases.case_chain_gemm(1, cfg, Peers(False))
    names = {r.framework for r in rows}
    assert names == {"blasad", "ideal", "blasad-replay", *CHAIN_FORMS}
    assert all(r.steps == CHAIN_STEPS and r.total > 0 for r in rows)
    targets = {t.name: t.status for t in check_targets(rows, [], cfg)}
    assert targets["4×4 gemm chain: replay + backward faster than JAX jit (×)"] == "SKIP"
    assert all(targets[f"4×4 gemm chain, {fw}: ≤ 1.5 × autodiff"] in ("PASS", "FAIL") for fw in CHAIN_FORMS)
