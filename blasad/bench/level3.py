"""The level-3 case of the report: each level-3 routine once at n = LEVEL3_N (one BLAS thread),
forward + reverse through ``ba.autodiff`` against its own forward, and the target that this ratio
stays within LEVEL3_SLACK × the FLOP-count ratio (1 + the adjoint's FLOPs / the forward's).

Every routine's adjoint costs twice its forward in FLOPs when it computes only what it needs: a
triangular operand's adjoint is one triangle of a product (gemmt), a Hermitian one's the sum of
a product and its transpose (a full gemm, or the symm/hemm of a symmetrized matrix). The
operands are square (n × n; syrk's A n × n), the outputs overwritten (β = 0) or, for trmm and
trsm, updated in place with a unit-diagonal triangle, so that repetitions neither overflow nor
underflow."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import blasad as ba
from blasad.bench.frameworks import blasad_sample
from blasad.bench.problems import OpProblem
from blasad.bench.report import Row, Target, fmt_time, print_table, threads_label
from blasad.bench.timing import Config, measure

LEVEL3_N = 768
LEVEL3_QUICK_N = 64
LEVEL3_SLACK = 1.05
# the routine, the dtypes it is measured in, and its FLOPs (n × n operands): forward, adjoint
LEVEL3: dict[str, tuple[tuple[Any, ...], str]] = {
    "gemm": ((np.float64, np.complex128), "C ← A B: 2n³; Ā = C̄ Bᴴ, B̄ = Aᴴ C̄: 4n³"),
    "symm": ((np.float64, np.complex128), "C ← S B: 2n³; S̄ from C̄ Bᴴ (gemm), B̄ = S C̄ (symm): 4n³"),
    "hemm": ((np.complex128,), "C ← H B: 2n³; H̄ from C̄ Bᴴ (gemm), B̄ = H C̄ (hemm): 4n³"),
    "syrk": ((np.float64, np.complex128), "C ← A Aᵀ, one triangle: n³; Ā = (C̄ + C̄ᵀ) A (symm): 2n³"),
    "herk": ((np.complex128,), "C ← A Aᴴ, one triangle: n³; Ā = (C̄ + C̄ᴴ) A (hemm): 2n³"),
    "syr2k": ((np.float64, np.complex128), "C ← A Bᵀ + B Aᵀ, one triangle: 2n³; Ā, B̄ (two symm): 4n³"),
    "her2k": ((np.complex128,), "C ← A Bᴴ + B Aᴴ, one triangle: 2n³; Ā, B̄ (two hemm): 4n³"),
    "trmm": ((np.float64, np.complex128), "B ← T B: n³; T̄ = the triangle of B̄ B_oldᴴ (gemmt), B̄ ← Tᴴ B̄: 2n³"),
    "trsm": (
        (np.float64, np.complex128),
        "B ← T⁻¹ B: n³; B̄ ← T⁻ᴴ B̄ (trsm), T̄ = -the triangle of B̄ Xᴴ (gemmt): 2n³",
    ),
}
LEVEL3_RATIO = 3.0  # 1 + adjoint / forward FLOPs, the same for every routine above


def level3_tasks(cfg: Config) -> list[tuple[str, int, Any]]:
    """(routine, n, dtype) in the order the report runs them."""
    n = LEVEL3_QUICK_N if cfg.quick else LEVEL3_N
    return [(op, n, dt) for op, (dtypes, _) in LEVEL3.items() for dt in dtypes]


def make_level3_problem(op: str, n: int, dtype: Any, rng: np.random.Generator) -> OpProblem:
    """One call of the level-3 routine op on n × n operands (see the module docstring)."""
    cplx = np.dtype(dtype).kind == "c"

    def rand(*shape: int) -> np.ndarray:
        x = rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if cplx else 0)
        return np.asfortranarray(x.astype(dtype))

    A, B, C = rand(n, n), rand(n, n), np.zeros((n, n), dtype, order="F")
    routine = getattr(ba, op)
    call: Callable[..., Any]
    none = lambda *x: None  # noqa: E731  (no peer runs this case)
    if op == "gemm":
        call = lambda A, B, C: routine(1.0, A, B, 0.0, C)  # noqa: E731
        return OpProblem(op, n, dtype, [A, B, C], 2, [A, B], rand(n, n), call, none)
    if op in ("symm", "hemm", "syr2k", "her2k"):
        call = lambda A, B, C: routine(1.0, A, B, 0.0, C, uplo="L")  # noqa: E731
        return OpProblem(op, n, dtype, [A, B, C], 2, [A, B], rand(n, n), call, none)
    if op in ("syrk", "herk"):
        call = lambda A, C: routine(1.0, A, 0.0, C, uplo="L")  # noqa: E731
        return OpProblem(op, n, dtype, [A, C], 1, [A], rand(n, n), call, none)
    if op in ("trmm", "trsm"):  # a unit diagonal (stored, diag "N"): repetitions stay bounded
        T = np.asfortranarray(np.eye(n, dtype=dtype) + np.tril(rand(n, n), -1) * (0.1 / np.sqrt(n)))
        call = lambda T, B: routine(1.0, T, B, uplo="L")  # noqa: E731
        return OpProblem(op, n, dtype, [T, B], 1, [T, B], rand(n, n), call, none)
    raise ValueError(f"unknown level-3 routine {op!r}")


def case_level3(op: str, n: int, dtype: Any, threads: int, cfg: Config) -> list[Row]:
    """blasad's autodiff of one call: forward, reverse, and the ratios to its plain call."""
    p = make_level3_problem(op, n, dtype, np.random.default_rng(n))
    b = measure({"blasad": blasad_sample(p)}, cfg)["blasad"]
    dt = np.dtype(dtype).name
    row = Row(f"level3-{op}", "blasad", dt, n, threads, b["forward"], b["backward"], b["total"])
    row.plain, row.fwd_plain, row.rev_plain = b["plain"], b["fwd/plain"], b["rev/plain"]
    return [row]


def _total_ratio(r: Row) -> float:
    """(forward + reverse) / plain forward, from the per-repetition ratios' medians."""
    return (r.fwd_plain or 0.0) + (r.rev_plain or 0.0)


def level3_targets(rows: Sequence[Row]) -> list[Target]:
    """Per routine and dtype: forward + reverse ≤ LEVEL3_SLACK × the FLOP ratio × the forward."""
    out = []
    limit = LEVEL3_SLACK * LEVEL3_RATIO
    for r in rows:
        if not r.case.startswith("level3-"):
            continue
        v = _total_ratio(r)
        out.append(
            Target(
                f"level 3 {r.case.removeprefix('level3-')}: forward + reverse ≤ {LEVEL3_SLACK:g} × "
                f"(adjoint/forward FLOPs {LEVEL3_RATIO - 1:g} + 1) = {limit:.2f} × forward",
                f"{r.dtype} n={r.n} threads={threads_label(r.threads)}",
                f"{v:.2f}×",
                "PASS" if v <= limit else "FAIL",
            )
        )
    return out


def print_level3_table(rows: Sequence[Row]) -> None:
    mine = [r for r in rows if r.case.startswith("level3-")]
    if not mine:
        return
    body = [
        [
            r.case.removeprefix("level3-"),
            r.dtype,
            str(r.n),
            fmt_time(r.plain),
            fmt_time(r.forward),
            fmt_time(r.backward),
            f"{_total_ratio(r):.2f}",
            LEVEL3[r.case.removeprefix("level3-")][1],
        ]
        for r in mine
    ]
    title = (
        f"level 3: one call through ba.autodiff, (forward + reverse) / forward against the FLOP ratio "
        f"{LEVEL3_RATIO:g}; threads={threads_label(mine[0].threads)}"
    )
    headers = ("routine", "dtype", "n", "forward", "fwd AD", "reverse", "total/fwd", "FLOPs")
    print_table(title, headers, body, "llrrrrrl")
