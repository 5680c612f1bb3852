"""Level 1 BLAS routines: one spec each, run by the generic front end (_generic.run)."""

from __future__ import annotations

import numpy as np

from blasad._generic import run
from blasad._specs import Arg, Spec

Scalar = float | complex | np.ndarray

SCAL = Spec(
    name="scal",
    formula="x ← α x",
    args=(Arg("alpha", "scalar"), Arg("x", "vector", ("n",), inout=True)),
    reference=lambda alpha, x: alpha * x,
    adjoint=("ᾱ += ⟨x_old, x̄⟩", "x̄ ← conj(α) x̄  (exactly 0 when α = 0)"),
    saves="x_old if α is active",
)


def scal(alpha: Scalar, x: np.ndarray) -> np.ndarray:
    """x ← α x, in place; returns x."""
    run(SCAL, (alpha, x))
    return x


LEVEL1: tuple[Spec, ...] = (SCAL,)

__all__ = ["scal"]
