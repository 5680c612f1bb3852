"""blasad: exact reverse-mode derivatives of in-place BLAS programs on NumPy arrays."""

from blasad._check import GradCheck, gradcheck
from blasad._routines import axpy, gemm, gemv
from blasad._specs import SPECS
from blasad._tape import Const, Duplicated, Tape, autodiff

__all__ = [
    "SPECS",
    "Const",
    "Duplicated",
    "GradCheck",
    "Tape",
    "autodiff",
    "axpy",
    "gemm",
    "gemv",
    "gradcheck",
]
__version__ = "0.1.0"
