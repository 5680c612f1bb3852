"""gemm, C ← α A B + β C with n × n operands: the plain call, the call under a tape, the reverse sweep."""

from __future__ import annotations

from typing import Any

import numpy as np

import blasad as ba


def _problem(n: int, dtype: Any, rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    A, B = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    C = np.zeros((n, n), dtype)
    return [A, B, C], rng.standard_normal((n, n)).astype(dtype)


def _call(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> np.ndarray:
    return ba.gemm(1.0, A, B, 0.0, C)


def test_gemm_plain(run: Any, n: int, dtype: Any, rng: np.random.Generator) -> None:
    args, _ = _problem(n, dtype, rng)
    run.plain(_call, args)


def test_gemm_taped(run: Any, n: int, dtype: Any, rng: np.random.Generator) -> None:
    args, _ = _problem(n, dtype, rng)
    run.taped(_call, args, watched=args[:2])


def test_gemm_reverse(run: Any, n: int, dtype: Any, rng: np.random.Generator) -> None:
    args, seed = _problem(n, dtype, rng)
    A, B, C = args
    tape = run.reverse(_call, args, watched=[A, B], output=C, seed=seed)
    if n <= 64:  # a cheap sanity check that the benchmark measured the real thing
        rtol = 1e-4 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(tape.grad(A), seed @ B.T, rtol=rtol, atol=rtol * n)
        np.testing.assert_allclose(tape.grad(B), A.T @ seed, rtol=rtol, atol=rtol * n)
