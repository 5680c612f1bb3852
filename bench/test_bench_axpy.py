"""axpy, y ← α x + y with vectors of length n: the plain call, the call under a tape, the reverse sweep."""

from __future__ import annotations

from typing import Any

import numpy as np

import blasad as ba

ALPHA = 0.5


def _problem(n: int, dtype: Any, rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    x, y = (rng.standard_normal(n).astype(dtype) for _ in range(2))
    return [x, y], rng.standard_normal(n).astype(dtype)


def _call(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return ba.axpy(ALPHA, x, y)


def test_axpy_plain(run: Any, n: int, dtype: Any, rng: np.random.Generator) -> None:
    args, _ = _problem(n, dtype, rng)
    run.plain(_call, args)


def test_axpy_taped(run: Any, n: int, dtype: Any, rng: np.random.Generator) -> None:
    args, _ = _problem(n, dtype, rng)
    run.taped(_call, args, watched=args)


def test_axpy_reverse(run: Any, n: int, dtype: Any, rng: np.random.Generator) -> None:
    args, seed = _problem(n, dtype, rng)
    x, y = args
    tape = run.reverse(_call, args, watched=[x, y], output=y, seed=seed)
    if n <= 64:  # a cheap sanity check that the benchmark measured the real thing
        np.testing.assert_allclose(tape.grad(x), ALPHA * seed, rtol=1e-6)
        np.testing.assert_allclose(tape.grad(y), seed, rtol=1e-6)
