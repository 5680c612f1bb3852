"""gemv, y ← α A x + β y with an n × n A: the plain call, the call under a tape, the reverse sweep."""

from __future__ import annotations

from typing import Any

import numpy as np

import blasad as ba


def _problem(n: int, dtype: Any, rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    A = rng.standard_normal((n, n)).astype(dtype)
    x = rng.standard_normal(n).astype(dtype)
    y = np.zeros(n, dtype)
    return [A, x, y], rng.standard_normal(n).astype(dtype)


def _call(A: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return ba.gemv(1.0, A, x, 0.0, y)


def test_gemv_plain(run: Any, n: int, dtype: Any, rng: np.random.Generator) -> None:
    args, _ = _problem(n, dtype, rng)
    run.plain(_call, args)


def test_gemv_taped(run: Any, n: int, dtype: Any, rng: np.random.Generator) -> None:
    args, _ = _problem(n, dtype, rng)
    run.taped(_call, args, watched=args[:2])


def test_gemv_reverse(run: Any, n: int, dtype: Any, rng: np.random.Generator) -> None:
    args, seed = _problem(n, dtype, rng)
    A, x, y = args
    tape = run.reverse(_call, args, watched=[A, x], output=y, seed=seed)
    if n <= 64:  # a cheap sanity check that the benchmark measured the real thing
        rtol = 1e-4 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(tape.grad(A), np.outer(seed, x), rtol=rtol, atol=rtol * n)
        np.testing.assert_allclose(tape.grad(x), A.T @ seed, rtol=rtol, atol=rtol * n)
