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


def _system(a: Any, b: Any, name: str, check_finite: bool) -> tuple[np.ndarray, np.ndarray, np.dtype[Any]]:
    """(a, b, their common dtype) of a square system a x = b, b a vector or a matrix, checked as
    SciPy checks them (a is called `name` in the messages: "c" for cho_solve, "lu" for lu_solve)."""
    a = _array(a, name, check_finite)
    b = _array(b, "b", check_finite, (1, 2))
    _square(a, name)
    if b.shape[0] != a.shape[0]:
        raise ValueError(f"shapes of {name} {a.shape} and b {b.shape} are incompatible")
    return a, b, _common(a, b)


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
    c, b, dt = _system(c, b, "c", check_finite)
    x, _ = getattr(_lapack, _PREFIX[dt] + "potrs")(
        _as(c, dt), _as(b, dt), lower=int(lower), overwrite_b=int(overwrite_b)
    )
    return x  # type: ignore[no-any-return]


def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(lu, piv): P a = L U with L (unit diagonal) and U in lu, 0-based row interchanges in piv."""
    a = _array(a, "a", check_finite)
    lu, piv, info = getattr(_lapack, _PREFIX[a.dtype] + "getrf")(a, overwrite_a=int(overwrite_a))
    if info > 0:
        # (SciPy's LinAlgWarning is a RuntimeWarning; blasad does not import SciPy)
        warnings.warn(
            f"Diagonal number {info} is exactly zero. Singular matrix.", RuntimeWarning, stacklevel=2
        )
    return lu, piv


def lu_solve(
    lu_and_piv: tuple[Any, Any], b: Any, trans: int = 0, overwrite_b: bool = False, check_finite: bool = True
) -> np.ndarray:
    """x with op(a) x = b (trans 0, 1, 2: a, aᵀ, aᴴ), from lu_factor's (lu, piv)."""
    lu, piv = lu_and_piv
    lu, b, dt = _system(lu, b, "lu", check_finite)
    x, _ = getattr(_lapack, _PREFIX[dt] + "getrs")(
        _as(lu, dt), piv, _as(b, dt), trans=trans, overwrite_b=int(overwrite_b)
    )
    return x  # type: ignore[no-any-return]


def _from_triangle(a: np.ndarray, lower: bool, conj: bool) -> np.ndarray:
    """The symmetric (conj: Hermitian) matrix a's lower or upper triangle holds, a new array built
    with recorded calls, as SciPy's solve reads a for assume_a "sym" and "her"."""
    import blasad as ba

    n = a.shape[0]
    T = np.empty((n, n), a.dtype, order="F")  # the triangle alone
    S = np.empty((n, n), a.dtype, order="F")  # its strict part alone
    ba.geadd(1.0, a, 0.0, T)
    for j in range(n):
        rest = T[:j, j] if lower else T[j + 1 :, j]  # the other triangle's part of column j
        ba.fill(0.0, rest)
    ba.geadd(1.0, T, 0.0, S)
    for j in range(n):
        ba.fill(0.0, S[j : j + 1, j])
    if conj:  # a Hermitian matrix's diagonal is real
        for j in range(n):
            np.multiply(ba.Scalar(T[j, j, ...]).real, 1.0, out=T[j, j, ...])
    ba.geadd(1.0, S, 1.0, T, trans="C" if conj else "T")
    return T


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
    (Cholesky), "sym"/"her" (the symmetric or Hermitian matrix a's lower or upper triangle holds,
    solved by LU: SciPy's sysv/hesv give the same x), "upper triangular"/"lower triangular"."""
    a, b, dt = _system(a, b, "a", check_finite)
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
    if kind in ("sym", "her"):  # the matrix one triangle holds, then LU (SciPy: sysv/hesv, the same x)
        a = _from_triangle(_as(a, dt), lower, conj=kind == "her" and dt.kind == "c")
    if transposed and dt.kind == "c":  # (as SciPy)
        raise NotImplementedError("solve: a^T x = b for complex a is not supported (as in SciPy)")
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
    a, b, dt = _system(a, b, "a", check_finite)
    t = {"N": 0, "T": 1, "C": 2}.get(trans, trans) if isinstance(trans, str) else trans
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


def _upper(lqr: np.ndarray, rows: int) -> np.ndarray:
    """R: the upper trapezoid of lqr's first `rows` rows, a new array (recorded copies)."""
    import blasad as ba

    R = np.empty((rows, lqr.shape[1]), lqr.dtype, order="F")
    ba.geadd(1.0, lqr[:rows], 0.0, R)
    for j in range(min(rows, lqr.shape[1])):
        ba.fill(0.0, R[j + 1 :, j])
    return R


def qr(
    a: Any,
    overwrite_a: bool = False,
    lwork: Any = None,
    mode: str = "full",
    pivoting: bool = False,
    check_finite: bool = True,
) -> Any:
    """a = Q R (Householder QR: geqrf, then orgqr/ungqr for Q). mode "full": Q m × m, R m × n;
    "economic": Q m × k, R k × n (k = min(m, n)); "r": (R,); "raw": ((qr, tau), R), LAPACK's
    reflectors as geqrf leaves them. pivoting=True (geqp3) is not supported: ValueError.
    Gradients: "economic" (and "full" when m ≤ n) is ba.qr, differentiated by the rule on Q and
    R (exact where a has full rank k); "full" with m > n differentiates geqrf and orgqr (its
    last m - n columns of Q are LAPACK's, not determined by a alone)."""
    import blasad as ba

    if pivoting:
        raise ValueError("qr: pivoting=True (LAPACK's geqp3) has no blasad rule; use pivoting=False")
    if mode not in ("full", "r", "economic", "raw"):
        raise ValueError(f"qr: mode must be 'full', 'r', 'economic' or 'raw', got {mode!r}")
    a = _array(a, "a", check_finite)
    p = _PREFIX[a.dtype]
    m, n = a.shape
    k = min(m, n)
    if mode == "economic" or (mode == "full" and m <= n):  # Q m × k: the rule on Q and R (ba.qr)
        return ba.qr(a)
    lqr, tau, _, _ = getattr(_lapack, p + "geqrf")(a, overwrite_a=int(overwrite_a))
    R = _upper(lqr, k if mode in ("economic", "raw") else m)
    if mode == "r":
        return (R,)
    if mode == "raw":
        return (lqr, tau), R
    cols = m if mode == "full" else k
    Q = np.zeros((m, cols), a.dtype, order="F")
    ba.geadd(1.0, lqr[:, : min(cols, n)], 0.0, Q[:, : min(cols, n)])  # the reflectors (recorded)
    getattr(ba, "ungqr" if a.dtype.kind == "c" else "orgqr")(Q, tau)
    return Q, R


def eigh(
    a: Any,
    b: Any = None,
    *,
    lower: bool = True,
    eigvals_only: bool = False,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    type: int = 1,
    check_finite: bool = True,
    subset_by_index: Any = None,
    subset_by_value: Any = None,
    driver: str | None = None,
) -> Any:
    """w, or (w, v): a = v diag(w) vᴴ for a Hermitian (real: symmetric) a read from its lower
    (upper) triangle, w ascending (LAPACK's syevd/heevd, whatever driver is named: the same w,
    and v up to a sign or phase per column). The generalized problem (b) and subsets are not
    offered: ValueError. Gradients: exact for distinct eigenvalues, and at repeated ones for
    functions of w and of projectors onto whole eigenspaces (ba.syevd's docstring)."""
    if b is not None or subset_by_index is not None or subset_by_value is not None:
        raise ValueError(
            "eigh: blasad solves the standard problem only (b, subset_by_index, subset_by_value: None)"
        )
    if driver not in (None, "ev", "evd", "evr", "evx"):
        raise ValueError(f"eigh: unknown driver {driver!r}")
    a = _array(a, "a", check_finite)
    _square(a)
    p = _PREFIX[a.dtype]
    w, v, info = getattr(_lapack, p + ("heevd" if a.dtype.kind == "c" else "syevd"))(
        a, lower=int(lower), overwrite_a=int(overwrite_a)
    )
    if info > 0:
        raise np.linalg.LinAlgError(f"eigh: the algorithm failed to converge (info {info})")
    return w if eigvals_only else (w, v)


def svd(
    a: Any,
    full_matrices: bool = True,
    compute_uv: bool = True,
    overwrite_a: bool = False,
    check_finite: bool = True,
    lapack_driver: str = "gesdd",
) -> Any:
    """(U, s, Vh) with a = U diag(s) Vh, s descending, or s alone (LAPACK's gesdd, for either
    driver: the same s, and vectors up to a sign or phase per pair). full_matrices with a
    non-square a: the thin U (Vh) completed to a unitary matrix by a Householder QR: the extra
    columns span the same space as SciPy's in another basis. Gradients: ba.gesdd's docstring."""
    if lapack_driver not in ("gesdd", "gesvd"):
        raise ValueError(f'lapack_driver must be "gesdd" or "gesvd", not "{lapack_driver}"')
    a = _array(a, "a", check_finite)
    u, s, vt, info = getattr(_lapack, _PREFIX[a.dtype] + "gesdd")(
        a, compute_uv=int(compute_uv), full_matrices=int(full_matrices)
    )
    if info > 0:
        raise np.linalg.LinAlgError("SVD did not converge")
    return (u, s, vt) if compute_uv else s


def lstsq(
    a: Any,
    b: Any,
    cond: Any = None,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
    lapack_driver: str | None = None,
) -> tuple[np.ndarray, np.ndarray, int, None]:
    """(x, residues, rank, s): x minimizing ‖b - a x‖ (m >= n) or the minimum-norm solution
    (m < n), by LAPACK's gels (QR or LQ) for a of full rank, as SciPy's lapack_driver="gelsy"
    returns it: s is None, rank min(m, n), residues the squared residual norms per column when
    m > n (else empty; 0-d for a vector b). A rank-deficient a raises LinAlgError (gels's zero
    diagonal); SciPy's gelsd/gelss drivers (SVD, any rank) are not offered: ValueError."""
    import blasad as ba

    if lapack_driver not in (None, "gelsy", "gels"):
        raise ValueError(f"lstsq: lapack_driver {lapack_driver!r}: blasad solves with gels (full rank)")
    a = _array(a, "a", check_finite)
    b = _array(b, "b", check_finite, (1, 2))
    m, n = a.shape
    if b.shape[0] != m:
        raise ValueError(
            f"Shape mismatch: a and b should have the same number of rows ({m} != {b.shape[0]})."
        )
    dt = _common(a, b)
    B = np.zeros((max(m, n), *b.shape[1:]), dt, order="F")  # room for n > m unknowns
    ba.geadd(1.0, _as(b, dt).reshape(m, -1), 0.0, B.reshape(max(m, n), -1, order="F")[:m])
    _, _, info = getattr(_lapack, _PREFIX[dt] + "gels")(
        _as(a, dt), B, overwrite_a=int(overwrite_a), overwrite_b=1
    )
    if info > 0:
        raise np.linalg.LinAlgError("lstsq: a does not have full rank (gels's triangular factor is singular)")
    x = np.empty((n, *b.shape[1:]), dt, order="F")
    ba.geadd(1.0, B.reshape(max(m, n), -1, order="F")[:n], 0.0, x.reshape(n, -1, order="F"))
    residues = np.empty((0,), np.dtype(dt.char.lower()))
    if m > n:
        tail = B.reshape(max(m, n), -1, order="F")[n:]
        residues = np.empty(tail.shape[1], residues.dtype)
        for j in range(tail.shape[1]):
            np.multiply(ba.nrm2(tail[:, j]) ** 2, 1.0, out=residues[j, ...])  # recorded
        if b.ndim == 1:  # (SciPy: a 0-d array for a vector b)
            residues = residues.reshape(())
    return x, residues, min(m, n), None


__all__ = [
    "cho_factor", "cho_solve", "cholesky", "eigh", "inv", "lstsq", "lu_factor", "lu_solve", "qr",
    "solve", "solve_triangular", "svd",
]  # fmt: skip
