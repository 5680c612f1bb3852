"""blasad.linalg: drop-in, differentiable twins of SciPy's linear-algebra interfaces.

``from blasad.linalg import blas`` replaces ``from scipy.linalg import blas`` and ``from
blasad.linalg import lapack`` replaces ``from scipy.linalg import lapack``: the same names,
parameters, defaults and results, computed by blasad's recorded routines, so the calls are
differentiable under ``ba.Tape`` and ``ba.autodiff``. See :mod:`blasad.linalg.blas` and
:mod:`blasad.linalg.lapack`. The functions here are twins of ``scipy.linalg``'s (``cholesky``,
``solve``, ``lu_factor``, ...): arrays in, new arrays out, differentiable.
"""

from blasad.linalg import blas, lapack
from blasad.linalg._decomp import (
    cho_factor,
    cho_solve,
    cholesky,
    eigh,
    inv,
    lstsq,
    lu_factor,
    lu_solve,
    qr,
    solve,
    solve_triangular,
    svd,
)
from blasad.linalg.blas import find_best_blas_type, get_blas_funcs
from blasad.linalg.lapack import get_lapack_funcs

__all__ = [
    "blas", "cho_factor", "cho_solve", "cholesky", "eigh", "find_best_blas_type", "get_blas_funcs",
    "get_lapack_funcs", "inv", "lapack", "lstsq", "lu_factor", "lu_solve", "qr", "solve",
    "solve_triangular", "svd",
]  # fmt: skip
