"""blasad.linalg: drop-in, differentiable twins of SciPy's linear-algebra interfaces.

``from blasad.linalg import blas`` replaces ``from scipy.linalg import blas``: the same names,
parameters, defaults and results, computed by blasad's recorded routines, so the calls are
differentiable under ``ba.Tape`` and ``ba.autodiff``. See :mod:`blasad.linalg.blas`.
"""

from blasad.linalg import blas
from blasad.linalg.blas import find_best_blas_type, get_blas_funcs

__all__ = ["blas", "find_best_blas_type", "get_blas_funcs"]
