"""blasad: exact reverse- and forward-mode derivatives of in-place BLAS programs on NumPy arrays."""

from typing import TYPE_CHECKING

from blasad._check import GradCheck, gradcheck
from blasad._checkpoint import checkpoint_loop
from blasad._routines import FUNCTIONS, iamax
from blasad._scalar import GradientLostWarning, Scalar
from blasad._tape import BatchDuplicated, Const, Duplicated, Tape, autodiff, shadow_pool
from blasad.specs import SPECS

globals().update(FUNCTIONS)  # gemm, gemv, axpy, ...: the routines of the spec table

if TYPE_CHECKING:  # their signatures, for type checkers (generated from the specs)
    from blasad._signatures import *  # noqa: F403

__all__ = [
    "SPECS",
    "BatchDuplicated",
    "Const",
    "Duplicated",
    "GradCheck",
    "GradientLostWarning",
    "Scalar",
    "Tape",
    "autodiff",
    "checkpoint_loop",
    "gradcheck",
    "iamax",
    "shadow_pool",
    *FUNCTIONS,
]
__version__ = "0.1.0"
