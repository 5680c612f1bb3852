"""Differentiable twins of scipy.linalg's factorizations and solves (arrays in, new arrays out).

Each has SciPy's signature and results and runs blasad's LAPACK routines through the
``blasad.linalg.lapack`` twins, so it is recorded on the active tape: ``x = solve(A, b)``
inside ``ba.Tape()`` differentiates with respect to ``A`` and ``b``. The inputs are never
written (``overwrite_*`` flags are accepted: with a Fortran-ordered array of the routine's
dtype they let the call work in place, as SciPy's do). Failures raise what SciPy raises
(``numpy.linalg.LinAlgError``); ``lu_factor`` of a singular matrix warns as SciPy does.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from blasad.linalg import lapack as _lapack

_PREFIX = {
    np.dtype(np.float32): "s",
    np.dtype(np.float64): "d",
    np.dtype(np.complex64): "c",
    np.dtype(np.complex128): "z",
}


def _array(a: Any, name: str, check_finite: bool, ndim: tuple[int, ...] = (2,)) -> np.ndarray:
    """a as an array of a LAPACK dtype (an array of one is passed as is, so its gradient flows;
    others are converted as SciPy converts them: ints and bools to float64)."""
    x = a if isinstance(a, np.ndarray) else np.asarray(a)
    if x.dtype not in _PREFIX:
        if x.dtype.kind not in "biuf" and x.dtype != np.complex256:
            raise TypeError(f"{name}: unsupported dtype {x.dtype}")
        x = x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)
    if x.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be a {want} array, got a {x.ndim}-D array")
    if check_finite and not np.isfinite(x).all():
        raise ValueError("array must not contain infs or NaNs")
    return x


def _square(a: np.ndarray, name: str = "a") -> None:
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"expected square matrix, got {name} with shape {a.shape}")


def _common(*arrays: np.ndarray) -> np.dtype[Any]:
    return np.dtype(np.result_type(*arrays))


def _as(x: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """x in dtype: itself, or a converted copy (a constant, as SciPy converts it)."""
    return x if x.dtype == dtype else x.astype(dtype)


def _rhs(b: np.ndarray, n: int, name: str = "b") -> None:
    if b.shape[0] != n:
        raise ValueError(f"shapes of a {(n, n)} and {name} {b.shape} are incompatible")


def cholesky(a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True) -> np.ndarray:
    """a = Uᴴ U (or L Lᴴ with lower=True): the factor, a new array with the other triangle zero."""
    a = _array(a, "a", check_finite)
    _square(a)
    c, info = getattr(_lapack, _PREFIX[a.dtype] + "potrf")(
        a, lower=int(lower), clean=1, overwrite_a=int(overwrite_a)
    )
    if info > 0:
        raise np.linalg.LinAlgError(f"{info}-th leading minor of the array is not positive definite")
    return c  # type: ignore[no-any-return]


def cho_factor(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> tuple[np.ndarray, bool]:
    """(c, lower): the Cholesky factor in c's lower or upper triangle (the other holds a's values)."""
    a = _array(a, "a", check_finite)
    _square(a)
    c, info = getattr(_lapack, _PREFIX[a.dtype] + "potrf")(
        a, lower=int(lower), clean=0, overwrite_a=int(overwrite_a)
    )
    if info > 0:
        raise np.linalg.LinAlgError(f"{info}-th leading minor of the array is not positive definite")
    return c, lower


def cho_solve(
    c_and_lower: tuple[Any, bool], b: Any, overwrite_b: bool = False, check_finite: bool = True
) -> np.ndarray:
    """x with A x = b, from cho_factor's (c, lower)."""
    c, lower = c_and_lower
    c = _array(c, "c", check_finite)
    b = _array(b, "b", check_finite, (1, 2))
    _square(c, "c")
    _rhs(b, c.shape[0])
    dt = _common(c, b)
    x, _ = getattr(_lapack, _PREFIX[dt] + "potrs")(
        _as(c, dt), _as(b, dt), lower=int(lower), overwrite_b=int(overwrite_b)
    )
    return x  # type: ignore[no-any-return]


def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(lu, piv): P a = L U with L (unit diagonal) and U in lu, 0-based row interchanges in piv."""
    a = _array(a, "a", check_finite)
    lu, piv, info = getattr(_lapack, _PREFIX[a.dtype] + "getrf")(a, overwrite_a=int(overwrite_a))
    if info > 0:
        warnings.warn(
            f"Diagonal number {info} is exactly zero. Singular matrix.",
            np.exceptions.RankWarning,
            stacklevel=2,
        )
    return lu, piv


def lu_solve(
    lu_and_piv: tuple[Any, Any], b: Any, trans: int = 0, overwrite_b: bool = False, check_finite: bool = True
) -> np.ndarray:
    """x with op(a) x = b (trans 0, 1, 2: a, aᵀ, aᴴ), from lu_factor's (lu, piv)."""
    lu, piv = lu_and_piv
    lu = _array(lu, "lu", check_finite)
    b = _array(b, "b", check_finite, (1, 2))
    _square(lu, "lu")
    _rhs(b, lu.shape[0])
    dt = _common(lu, b)
    x, _ = getattr(_lapack, _PREFIX[dt] + "getrs")(
        _as(lu, dt), piv, _as(b, dt), trans=trans, overwrite_b=int(overwrite_b)
    )
    return x  # type: ignore[no-any-return]


def solve(
    a: Any,
    b: Any,
    lower: bool = False,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
    assume_a: str | None = None,
    transposed: bool = False,
) -> np.ndarray:
    """x with a x = b (transposed: aᵀ x = b). assume_a: "gen" (LU, the default), "pos"
    (Cholesky, reading a's lower or upper triangle), "sym"/"her" (LU of the full matrix; the
    same solution), "upper triangular"/"lower triangular"."""
    a = _array(a, "a", check_finite)
    b = _array(b, "b", check_finite, (1, 2))
    _square(a)
    _rhs(b, a.shape[0])
    dt = _common(a, b)
    p = _PREFIX[dt]
    kind = {
        None: "gen",
        "general": "gen",
        "positive definite": "pos",
        "symmetric": "sym",
        "hermitian": "her",
    }.get(assume_a, assume_a)
    if kind in ("upper triangular", "lower triangular"):
        return solve_triangular(
            a, b, trans=int(transposed), lower=kind.startswith("lower"), check_finite=False
        )
    if kind == "pos" and not transposed:
        _, x, info = getattr(_lapack, p + "posv")(_as(a, dt), _as(b, dt), lower=int(lower))
        if info > 0:
            raise np.linalg.LinAlgError(f"{info}-th leading minor of the array is not positive definite")
        return x  # type: ignore[no-any-return]
    if kind not in ("gen", "sym", "her", "pos"):
        raise ValueError(f"{assume_a!r} is not a recognized matrix structure")
    if transposed:
        lu, piv, info = getattr(_lapack, p + "getrf")(_as(a, dt))
        if info > 0:
            raise np.linalg.LinAlgError("Matrix is singular.")
        x, _ = getattr(_lapack, p + "getrs")(lu, piv, _as(b, dt), trans=1)
        return x  # type: ignore[no-any-return]
    _, _, x, info = getattr(_lapack, p + "gesv")(_as(a, dt), _as(b, dt))
    if info > 0:
        raise np.linalg.LinAlgError("Matrix is singular.")
    return x  # type: ignore[no-any-return]


def solve_triangular(
    a: Any,
    b: Any,
    trans: int | str = 0,
    lower: bool = False,
    unit_diagonal: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> np.ndarray:
    """x with op(a) x = b for a triangular a (its lower or upper triangle; unit_diagonal: ones)."""
    a = _array(a, "a", check_finite)
    b = _array(b, "b", check_finite, (1, 2))
    _square(a)
    _rhs(b, a.shape[0])
    t = {"N": 0, "T": 1, "C": 2}.get(trans, trans) if isinstance(trans, str) else trans
    dt = _common(a, b)
    x, info = getattr(_lapack, _PREFIX[dt] + "trtrs")(
        _as(a, dt),
        _as(b, dt),
        lower=int(lower),
        trans=int(t),
        unitdiag=int(unit_diagonal),
        overwrite_b=int(overwrite_b),
    )
    if info > 0:
        raise np.linalg.LinAlgError(f"singular matrix: resolution failed at diagonal {info - 1}")
    return x  # type: ignore[no-any-return]


def inv(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> np.ndarray:
    """a⁻¹, by LU (getrf, then getri)."""
    a = _array(a, "a", check_finite)
    _square(a)
    p = _PREFIX[a.dtype]
    lu, piv, info = getattr(_lapack, p + "getrf")(a, overwrite_a=int(overwrite_a))
    if info == 0:
        lu, info = getattr(_lapack, p + "getri")(lu, piv, overwrite_lu=1)
    if info > 0:
        raise np.linalg.LinAlgError("singular matrix")
    return lu  # type: ignore[no-any-return]


__all__ = ["cho_factor", "cho_solve", "cholesky", "inv", "lu_factor", "lu_solve", "solve", "solve_triangular"]
