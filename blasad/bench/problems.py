"""The problems every framework solves: one gemm, gemv or axpy on preallocated buffers with
its adjoint seed (OpProblem), and the constants the cases share."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

import blasad as ba

AXPY_ALPHA = 0.5
CHAIN_STEPS = 1000


@dataclasses.dataclass
class OpProblem:
    """One call of a routine on preallocated buffers, with its adjoint seed.

    ``arrays`` are blasad's buffers in call order, ``arrays[out]`` the output; ``inputs`` the
    active inputs; ``expr`` the same call written functionally for the AD peers. ``shadows``
    (one per array, ``shadows[out]`` the output's adjoint) serve blasad and the hand-written
    ideal alike: both then work on the same memory, so that where the allocator put a buffer
    (huge pages or not, cache sets) cannot favour either.
    """

    op: str
    n: int
    dtype: Any
    arrays: list[np.ndarray]
    out: int
    inputs: list[np.ndarray]
    seed: np.ndarray
    call: Callable[..., Any]
    expr: Callable[..., Any]
    shadows: list[np.ndarray] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.shadows:
            self.shadows = [np.zeros_like(a) for a in self.arrays]

    def reseed(self) -> None:
        """The output's adjoint ← the seed (a reverse sweep consumes it)."""
        np.copyto(self.shadows[self.out], self.seed)


def make_problem(op: str, n: int, dtype: Any, rng: np.random.Generator) -> OpProblem:
    """gemm C ← A B (n × n), gemv y ← A x (n × n), or axpy y ← α x + y (length n²)."""

    def rand(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(dtype)

    call: Callable[..., Any]
    expr: Callable[..., Any]
    if op == "gemm":
        A, B, C = rand(n, n), rand(n, n), np.zeros((n, n), dtype)
        arrays, out, inputs, seed = [A, B, C], 2, [A, B], rand(n, n)
        call, expr = (lambda A, B, C: ba.gemm(1.0, A, B, 0.0, C)), (lambda A, B: A @ B)
    elif op == "gemv":
        A, x, y = rand(n, n), rand(n), np.zeros(n, dtype)
        arrays, out, inputs, seed = [A, x, y], 2, [A, x], rand(n)
        call, expr = (lambda A, x, y: ba.gemv(1.0, A, x, 0.0, y)), (lambda A, x: A @ x)
    elif op == "axpy":
        x, y = rand(n * n), rand(n * n)
        arrays, out, inputs, seed = [x, y], 1, [x, y], rand(n * n)
        call, expr = (lambda x, y: ba.axpy(AXPY_ALPHA, x, y)), (lambda x, y: AXPY_ALPHA * x + y)
    else:
        raise ValueError(f"unknown op {op!r}")
    return OpProblem(op, n, dtype, arrays, out, inputs, seed, call, expr)
