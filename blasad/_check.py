"""Gradient checking for users: blasad's adjoints against central finite differences."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from blasad._tape import Const, Duplicated, autodiff


@dataclass
class GradCheck:
    """Result of gradcheck: adjoints, their finite-difference estimates, the dot-product test."""

    adjoints: list[np.ndarray]  # d loss / d (initial value) of each active argument, from blasad
    numeric: list[np.ndarray]  # the same by central differences (empty when full=False)
    max_abs_error: float  # max |adjoint - numeric| over all elements (0.0 when full=False)
    dot_adjoint: float  # ⟨Jᵀū, v⟩ from blasad's adjoints
    dot_numeric: float  # ⟨ū, J v⟩ by a central difference along v
    ok: bool  # every comparison within tolerance

    def __bool__(self) -> bool:
        return self.ok


def _random(rng: np.random.Generator, like: np.ndarray) -> np.ndarray:
    """Standard normal values of like's shape and dtype (complex: both parts)."""
    x = rng.standard_normal(like.shape)
    if like.dtype.kind == "c":
        x = x + 1j * rng.standard_normal(like.shape)
    return np.array(x, dtype=like.dtype)


def _loss(f: Callable[..., Any], values: list[Any], active: list[int], seeds: list[np.ndarray]) -> float:
    """Σ ⟨seed_i, final value of active argument i⟩ after running f on copies."""
    run = [v.copy() if isinstance(v, np.ndarray) else v for v in values]
    f(*run)
    return float(sum(np.vdot(s, run[i]).real for i, s in zip(active, seeds)))


def gradcheck(
    f: Callable[..., Any],
    *args: Any,
    seed: int = 0,
    eps: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    full: bool = True,
) -> GradCheck:
    """⟨ū, J v⟩ = ⟨Jᵀ ū, v⟩: check the adjoints of the program f against finite differences.

    f mutates its arguments in place with blasad calls. Every float ndarray argument is
    active (wrap one in Const to hold it constant); the loss is Σ ⟨ū_i, x_i final⟩ with
    random seeds ū_i. With full=True every element is perturbed (2 runs of f per
    element; meant for small problems); the dot-product test always runs (2 runs).
    The arguments themselves are not modified.
    """
    rng = np.random.default_rng(seed)
    values = [a.x if isinstance(a, Const) else a for a in args]
    active = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind in "fc"]
    if not active:
        raise ValueError("gradcheck: no active argument (a float ndarray not wrapped in Const)")
    dtype = np.result_type(*(values[i] for i in active))
    if eps is None:
        eps = 1e-6 if dtype.itemsize * (2 if dtype.kind == "f" else 1) >= 16 else 1e-2
    double = eps < 1e-3
    if rtol is None:
        rtol = 1e-6 if double else 2e-2
    if atol is None:
        atol = 1e-8 if double else 1e-3
    seeds = [_random(rng, values[i]) for i in active]

    # blasad: run f on copies under autodiff
    run: list[Any] = [v.copy() if isinstance(v, np.ndarray) else v for v in values]
    shadows = {i: s.copy() for i, s in zip(active, seeds)}
    wrapped = [Duplicated(run[i], shadows[i]) if i in shadows else Const(run[i]) for i in range(len(run))]
    autodiff(f, *wrapped)
    adjoints = [shadows[i] for i in active]

    # the dot-product test along a random direction v
    v = [_random(rng, values[i]) for i in active]
    plus, minus = list(values), list(values)
    for i, vi in zip(active, v):
        plus[i] = np.array(values[i] + eps * vi, dtype=values[i].dtype)
        minus[i] = np.array(values[i] - eps * vi, dtype=values[i].dtype)
    dot_numeric = (_loss(f, plus, active, seeds) - _loss(f, minus, active, seeds)) / (2 * eps)
    dot_adjoint = float(sum(np.vdot(a, vi).real for a, vi in zip(adjoints, v)))
    scale = max(1.0, abs(dot_numeric), abs(dot_adjoint))
    ok = abs(dot_numeric - dot_adjoint) <= rtol * scale * 10 + atol

    numeric: list[np.ndarray] = []
    max_err = 0.0
    if full:
        for i, adj in zip(active, adjoints):
            # x̄ = ∂L/∂Re x + i ∂L/∂Im x: perturb the real part, and the imaginary part of complex x
            directions = (1.0, 1j) if values[i].dtype.kind == "c" else (1.0,)
            g = np.zeros(values[i].shape, dtype=np.complex128 if len(directions) == 2 else np.float64)
            for idx in np.ndindex(values[i].shape):
                for d in directions:
                    for sign in (1, -1):
                        pert = list(values)
                        pert[i] = values[i].copy()
                        pert[i][idx] += sign * eps * d
                        g[idx] += d * sign * _loss(f, pert, active, seeds) / (2 * eps)
            numeric.append(g)
            err = np.abs(adj - g)
            if err.size:
                max_err = max(max_err, float(err.max()))
                ok = ok and bool(np.all(err <= atol + rtol * np.maximum(np.abs(g), 1.0) * 10))
    return GradCheck(adjoints, numeric, max_err, dot_adjoint, dot_numeric, bool(ok))
