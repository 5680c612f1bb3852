"""Conjugate gradient, k = min(10, n/2) iterations on an n × n SPD system, written with blasad
calls and the active scalars between them (blasad.bench.problems.cg_blasad): the program with
no tape, under a tape, and the reverse sweep (A and b active, loss ⟨seed, x_k⟩). In float64,
the dtype of the program."""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad.bench.problems import cg_blasad, cg_numpy, spd_matrix

CG_ITERATIONS = 10


def _problem(n: int, rng: np.random.Generator) -> tuple[list[Any], np.ndarray]:
    """The arguments of cg_blasad (A, b, x, r, p, Ap, k) and the seed of x."""
    k = min(CG_ITERATIONS, max(n // 2, 1))  # fewer iterations than n: far from converged
    A, b = spd_matrix(n, rng), rng.standard_normal(n)
    return [A, b, *(np.zeros(n) for _ in range(4)), k], rng.standard_normal(n)


def test_cg_plain(run: Any, n: int, rng: np.random.Generator) -> None:
    args, _ = _problem(n, rng)
    run.plain(cg_blasad, args)
    np.testing.assert_allclose(args[2], cg_numpy(args[0], args[1], args[-1]), rtol=1e-9, atol=1e-12)


def test_cg_taped(run: Any, n: int, rng: np.random.Generator) -> None:
    args, _ = _problem(n, rng)
    run.taped(cg_blasad, args, watched=args[:2])


def test_cg_reverse(run: Any, n: int, rng: np.random.Generator) -> None:
    args, seed = _problem(n, rng)
    A, b, x, k = args[0], args[1], args[2], args[-1]
    tape = run.reverse(cg_blasad, args, watched=[A, b], output=x, seed=seed)
    if n <= 64:  # a cheap sanity check: the directional derivative against a central difference
        V, v = rng.standard_normal((n, n)), rng.standard_normal(n)
        V += V.T
        h = 1e-6

        def loss(t: float) -> float:
            return float(seed @ cg_numpy(A + t * V, b + t * v, k))

        fd = (loss(h) - loss(-h)) / (2 * h)
        ad = float(np.sum(tape.grad(A) * V) + tape.grad(b) @ v)
        assert abs(fd - ad) <= 1e-6 * max(abs(ad), 1.0), (fd, ad)
