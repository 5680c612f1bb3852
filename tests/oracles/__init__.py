"""SciPy oracles of the LAPACK routines, one module per family (the BLAS ones live in
test_routines.py): each module's ORACLES maps a routine to a function of (dtype, *arguments in
spec order) that returns the new values of its written arguments (a tuple for several), as
scipy.linalg.lapack computes them."""

from typing import Any

import numpy as np
from scipy.linalg import lapack as scipy_lapack

LOWER = {"U": 0, "L": 1}


def lapack(name: str, dtype: Any) -> Any:
    """SciPy's LAPACK wrapper ?name for dtype."""
    return scipy_lapack.get_lapack_funcs(name, dtype=np.dtype(dtype))


def F(X: np.ndarray) -> np.ndarray:
    """A Fortran-ordered copy (SciPy's wrappers then work on it, never on the caller's array)."""
    return np.array(X, order="F")


def ok(result: tuple[Any, ...]) -> Any:
    """The results of a SciPy LAPACK call that must have succeeded (info == 0), without info."""
    *values, info = result
    assert info == 0, f"SciPy's LAPACK call failed: info = {info}"
    return values[0] if len(values) == 1 else tuple(values)


def all_oracles() -> dict[str, Any]:
    from oracles import chol, eig, lu, qr

    return {**chol.ORACLES, **lu.ORACLES, **qr.ORACLES, **eig.ORACLES}
