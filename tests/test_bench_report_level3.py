"""The level-3 case of the benchmark report (blasad.bench.level3): its problems compute the
routine they name, and the CLI prints a row and a target per routine and dtype."""

from typing import Any

import numpy as np
import pytest

from blasad.bench import level3


def _expected(op: str, before: list[np.ndarray]) -> np.ndarray:
    A, B = before[0], before[1]
    L = np.tril(A)
    S = L + np.tril(A, -1).T
    H = L + np.tril(A, -1).conj().T
    H[np.diag_indices_from(H)] = H.diagonal().real
    return {
        "gemm": lambda: A @ B,
        "symm": lambda: S @ B,
        "hemm": lambda: H @ B,
        "syrk": lambda: np.tril(A @ A.T),
        "herk": lambda: np.tril(A @ A.conj().T),
        "syr2k": lambda: np.tril(A @ B.T + B @ A.T),
        "her2k": lambda: np.tril(A @ B.conj().T + B @ A.conj().T),
        "trmm": lambda: L @ B,
        "trsm": lambda: np.linalg.solve(L, B),
    }[op]()


@pytest.mark.parametrize(("op", "dtype"), [(op, dt) for op, (dts, _) in level3.LEVEL3.items() for dt in dts])
def test_problem_computes_the_routine(op: str, dtype: Any) -> None:
    p = level3.make_level3_problem(op, 7, dtype, np.random.default_rng(1))
    before = [a.copy() for a in p.arrays]
    p.call(*p.arrays)
    got = p.arrays[p.out]
    if op in ("syrk", "herk", "syr2k", "her2k"):
        got = np.tril(got)
    assert np.allclose(got, _expected(op, before), rtol=1e-12, atol=1e-12)


def test_cli_level3_case(capsys: pytest.CaptureFixture[str]) -> None:
    """--cases level3 prints the table and one target per routine and dtype."""
    from blasad.bench.cli import main

    assert main(["--quick", "--no-peers", "--threads", "1", "--cases", "level3"]) == 0
    out = capsys.readouterr().out
    assert "level 3: one call through ba.autodiff" in out
    targets = [line for line in out.splitlines() if line[:4] in ("PASS", "FAIL") and "level 3 " in line]
    assert len(targets) == sum(len(dts) for dts, _ in level3.LEVEL3.values())
    assert all(f"level 3 {op}:" in out for op in level3.LEVEL3)
