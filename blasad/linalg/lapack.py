"""x, info = lapack.dpotrs(c, b) is scipy.linalg.lapack.dpotrs's, recorded: a differentiable twin.

Replace ``from scipy.linalg import lapack`` with ``from blasad.linalg import lapack`` for the
routines blasad differentiates (potrf potrs posv potri trtrs trtri getrf getrs gesv getri laswp
geqrf orgqr ungqr ormqr unmqr gels syevd heevd gesdd, each under SciPy's prefixed names:
``dpotrf``, ``zgetrs``, ...): SciPy's parameters, keyword names and defaults, SciPy's results
with ``info`` last, 0-based pivots, SciPy's ``lower=`` / ``trans=`` / ``unitdiag=`` integers and
overwrite flags. Each call runs blasad's routine (``ba.potrf``, ``ba.getrs``, ...), so under
``ba.Tape`` or ``ba.autodiff`` it is recorded and differentiable.

* ``overwrite_a=0`` (the default) works on a new Fortran-ordered array made by a recorded copy
  (``ba.geadd``), so the gradient flows back to ``a``; ``overwrite_a=1`` works in ``a`` itself
  when it is a writeable Fortran-contiguous array of the routine's dtype (what SciPy's wrappers
  check), else on a copy, as SciPy does.
* An argument SciPy would convert (a list, another dtype) is converted with NumPy: a new
  constant, no gradient reaches the original.
* ``info > 0`` (a matrix that is not positive definite, a zero pivot) is returned as SciPy
  returns it, with the arrays LAPACK left; blasad's routine raised ``LinAlgError`` inside, so a
  gradient that reaches those values makes ``backward`` raise. ``info < 0`` never happens: bad
  arguments raise ``ValueError`` before anything runs.
* Workspace parameters (``lwork``, ``liwork``, ``lrwork``) are accepted and ignored: blasad
  sizes LAPACK's workspaces itself; a result named ``work`` has SciPy's length and a valid
  workspace size in ``work[0]`` (SciPy's holds LAPACK's optimal size there).
* ``?laswp`` takes ``off=0`` and ``inc`` of 1 or -1 (SciPy's defaults and its reverse order).
* Eigen- and singular vectors are LAPACK's, so they equal SciPy's up to a sign (real) or a
  phase (complex) per vector when SciPy's LAPACK build differs. Deliberate differences:
  ``?syevd``/``?heevd`` with ``compute_v=0`` still compute the vectors (blasad's rule needs
  them) and return them as ``v``; ``?gesdd`` with ``full_matrices=1`` and a non-square ``a``
  completes the thin ``u`` (or ``vt``) by a Householder QR: the extra columns span the same
  space as SciPy's, in another basis (``a`` does not determine it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import blasad as ba
from blasad.specs import SPECS

_DTYPES: dict[str, np.dtype[Any]] = {
    "s": np.dtype(np.float32), "d": np.dtype(np.float64),
    "c": np.dtype(np.complex64), "z": np.dtype(np.complex128),
}  # fmt: skip


def _own(x: Any, dtype: np.dtype[Any], overwrite: Any, name: str, ndim: int = 2) -> np.ndarray:
    """The array a routine works on: x itself when overwrite is set and LAPACK can write it in
    place, else a new Fortran-ordered array (a recorded copy of an array of the dtype, so the
    gradient flows back; a NumPy conversion of anything else, a constant)."""
    if not isinstance(x, np.ndarray) or x.dtype != dtype:
        out = np.array(x, dtype=dtype, order="F", ndmin=ndim)
        if out.ndim != ndim:
            raise ValueError(f"{name} must be a rank-{ndim} array, got rank {out.ndim}")
        return out
    if x.ndim != ndim:
        raise ValueError(f"{name} must be a rank-{ndim} array, got rank {x.ndim}")
    if overwrite and x.flags.f_contiguous and x.flags.writeable and x.flags.aligned:
        return x
    out = np.empty(x.shape, dtype, order="F")
    if ndim == 2:
        ba.geadd(1.0, x, 0.0, out)
    else:
        ba.copy(x, out)
    return out


def _rhs(b: Any, dt: np.dtype[Any], overwrite: Any) -> tuple[np.ndarray, np.ndarray]:
    """(x, its matrix view): the right-hand side a solve overwrites with its solution, as _own
    gives it (a vector b stays a vector, solved as its one-column matrix view)."""
    x = _own(b, dt, overwrite, "b", 2 if np.ndim(b) == 2 else 1)
    return x, x if x.ndim == 2 else x[:, None]


def _pivots(piv: Any, name: str = "piv") -> np.ndarray:
    p = np.asarray(piv)
    if p.ndim != 1 or p.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a rank-1 integer array")
    return p


def _info(run: Callable[[], Any]) -> int:
    """0, or LAPACK's info > 0 from the LinAlgError blasad's routine raised."""
    try:
        run()
    except np.linalg.LinAlgError as e:
        info = getattr(e, "info", None)
        if info is None:
            raise
        return int(info)
    return 0


def _uplo(lower: Any) -> str:
    return "L" if lower else "U"


def _trans(trans: Any, complex_: bool) -> str:
    t = int(trans)
    if t not in (0, 1, 2):
        raise ValueError(f"trans must be 0, 1 or 2, got {trans!r}")
    return "NTC"[t] if complex_ or t < 2 else "T"


def _zero_other_triangle(c: np.ndarray, lower: Any) -> None:
    """SciPy's clean=1: the triangle potrf did not write set to zero (recorded: ba.fill per column)."""
    n = c.shape[0]
    for j in range(1, n):
        if lower:
            ba.fill(0.0, c[:j, j])
        else:
            ba.fill(0.0, c[j, :j])


# -- the routines, one factory each: f(prefix) -> the SciPy-named function -------------------------


def _potrf(p: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def potrf(a: Any, lower: int = 0, clean: int = 1, overwrite_a: int = 0) -> tuple[np.ndarray, int]:
        c = _own(a, dt, overwrite_a, "a")
        info = _info(lambda: ba.potrf(c, uplo=_uplo(lower)))
        if clean:
            _zero_other_triangle(c, lower)
        return c, info

    return potrf


def _potrs(p: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def potrs(c: Any, b: Any, lower: int = 0, overwrite_b: int = 0) -> tuple[np.ndarray, int]:
        c = _own(c, dt, 0, "c") if not isinstance(c, np.ndarray) or c.dtype != dt else c
        x, x2 = _rhs(b, dt, overwrite_b)
        ba.potrs(c, x2, uplo=_uplo(lower))
        return x, 0

    return potrs


def _posv(p: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def posv(a: Any, b: Any, lower: int = 0, overwrite_a: int = 0, overwrite_b: int = 0) -> tuple[Any, ...]:
        c = _own(a, dt, overwrite_a, "a")
        x, x2 = _rhs(b, dt, overwrite_b)
        info = _info(lambda: ba.posv(c, x2, uplo=_uplo(lower)))
        return c, x, info

    return posv


def _potri(p: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def potri(c: Any, lower: int = 0, overwrite_c: int = 0) -> tuple[np.ndarray, int]:
        inv = _own(c, dt, overwrite_c, "c")
        return inv, _info(lambda: ba.potri(inv, uplo=_uplo(lower)))

    return potri


def _trtri(p: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def trtri(c: Any, lower: int = 0, unitdiag: int = 0, overwrite_c: int = 0) -> tuple[np.ndarray, int]:
        inv = _own(c, dt, overwrite_c, "c")
        return inv, _info(lambda: ba.trtri(inv, uplo=_uplo(lower), diag="U" if unitdiag else "N"))

    return trtri


def _trtrs(p: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def trtrs(
        a: Any,
        b: Any,
        lower: int = 0,
        trans: int = 0,
        unitdiag: int = 0,
        lda: Any = None,
        overwrite_b: int = 0,
    ) -> tuple[np.ndarray, int]:
        a = _own(a, dt, 0, "a") if not isinstance(a, np.ndarray) or a.dtype != dt else a
        x, x2 = _rhs(b, dt, overwrite_b)
        info = _info(
            lambda: ba.trtrs(
                a, x2, uplo=_uplo(lower), trans=_trans(trans, dt.kind == "c"),
                diag="U" if unitdiag else "N",
            )
        )  # fmt: skip
        return x, info

    return trtrs


def _getrf(p: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def getrf(a: Any, overwrite_a: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
        lu = _own(a, dt, overwrite_a, "a")
        piv = np.zeros(min(lu.shape), np.int64)
        info = _info(lambda: ba.getrf(lu, piv))
        return lu, piv.astype(np.int32), info

    return getrf


def _getrs(p: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def getrs(lu: Any, piv: Any, b: Any, trans: int = 0, overwrite_b: int = 0) -> tuple[np.ndarray, int]:
        lu = _own(lu, dt, 0, "lu") if not isinstance(lu, np.ndarray) or lu.dtype != dt else lu
        x, x2 = _rhs(b, dt, overwrite_b)
        ba.getrs(lu, _pivots(piv), x2, trans=_trans(trans, dt.kind == "c"))
        return x, 0

    return getrs


def _gesv(p: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def gesv(a: Any, b: Any, overwrite_a: int = 0, overwrite_b: int = 0) -> tuple[Any, ...]:
        lu = _own(a, dt, overwrite_a, "a")
        x, x2 = _rhs(b, dt, overwrite_b)
        piv = np.zeros(lu.shape[0], np.int64)
        info = _info(lambda: ba.gesv(lu, x2, piv))
        return lu, piv.astype(np.int32), x, info

    return gesv


def _getri(p: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def getri(lu: Any, piv: Any, lwork: Any = None, overwrite_lu: int = 0) -> tuple[np.ndarray, int]:
        inv = _own(lu, dt, overwrite_lu, "lu")
        return inv, _info(lambda: ba.getri(inv, _pivots(piv)))

    return getri


def _laswp(p: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def laswp(
        a: Any, piv: Any, k1: int = 0, k2: Any = None, off: int = 0, inc: int = 1, overwrite_a: int = 0
    ) -> np.ndarray:
        a2 = _own(a, dt, overwrite_a, "a")
        piv = _pivots(piv)
        k2 = piv.shape[0] - 1 if k2 is None else int(k2)
        if off != 0 or inc not in (1, -1):
            raise ValueError("laswp: blasad's twin takes off=0 and inc=1 or -1")
        if not 0 <= k1 <= k2 < piv.shape[0]:
            raise ValueError(f"laswp: need 0 <= k1 <= k2 < len(piv), got k1={k1}, k2={k2}")
        ipiv = np.array(piv[: k2 + 1], np.int64)
        ipiv[:k1] = np.arange(k1)  # rows before k1: no interchange
        ba.laswp(a2, ipiv, trans="N" if inc > 0 else "T")
        return a2

    return laswp


def _work(size: int) -> np.ndarray:
    """SciPy's `work` result: an array whose first element is a valid workspace size (blasad
    sizes LAPACK's workspaces itself; SciPy's holds LAPACK's optimal size there)."""
    work = np.zeros(max(size, 1))
    work[0] = max(size, 1)
    return work


def _letter(x: Any, name: str, allowed: str) -> str:
    letter = (x.decode() if isinstance(x, bytes) else str(x)).upper()[:1]
    if letter not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {x!r}")
    return letter


def _geqrf(p: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def geqrf(a: Any, lwork: Any = None, overwrite_a: int = 0) -> tuple[Any, ...]:
        qr = _own(a, dt, overwrite_a, "a")
        tau = np.zeros(min(qr.shape), dt)
        ba.geqrf(qr, tau)
        return qr, tau, _work(qr.shape[1] if lwork is None else int(lwork)), 0

    return geqrf


def _orgqr(p: str, routine: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def orgqr(a: Any, tau: Any, lwork: Any = None, overwrite_a: int = 0) -> tuple[Any, ...]:
        q = _own(a, dt, overwrite_a, "a")
        t = tau if isinstance(tau, np.ndarray) and tau.dtype == dt else np.asarray(tau, dt)
        getattr(ba, routine)(q, t)
        return q, _work(q.shape[1] if lwork is None else int(lwork)), 0

    return orgqr


def _ormqr(p: str, routine: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def ormqr(
        side: Any, trans: Any, a: Any, tau: Any, c: Any, lwork: Any, overwrite_c: int = 0
    ) -> tuple[Any, ...]:
        a = a if isinstance(a, np.ndarray) and a.dtype == dt else np.asarray(a, dt)
        t = tau if isinstance(tau, np.ndarray) and tau.dtype == dt else np.asarray(tau, dt)
        cq = _own(c, dt, overwrite_c, "c")
        op = _letter(trans, "trans", "NC" if dt.kind == "c" else "NT")
        getattr(ba, routine)(a[:, : t.shape[0]], t, cq, side=_letter(side, "side", "LR"), trans=op)
        return cq, _work(int(lwork)), 0

    return ormqr


def _gels(p: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def gels(
        a: Any, b: Any, trans: Any = "N", lwork: Any = None, overwrite_a: int = 0, overwrite_b: int = 0
    ) -> tuple[Any, ...]:
        lqr = _own(a, dt, overwrite_a, "a")
        x, x2 = _rhs(b, dt, overwrite_b)
        op = _letter(trans, "trans", "NC" if dt.kind == "c" else "NT")
        info = _info(lambda: ba.gels(lqr, x2, trans=op))
        return lqr, x, info

    return gels


def _evd(p: str, routine: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def evd(
        a: Any,
        compute_v: int = 1,
        lower: int = 0,
        lwork: Any = None,
        liwork: Any = None,
        lrwork: Any = None,
        overwrite_a: int = 0,
    ) -> tuple[Any, ...]:
        v = _own(a, dt, overwrite_a, "a")
        if v.shape[0] != v.shape[1]:
            raise ValueError(f"{p}{routine}: a must be square, got shape {v.shape}")
        w = np.zeros(v.shape[0], np.dtype(dt.char.lower()))
        info = _info(lambda: getattr(ba, routine)(v, w, uplo=_uplo(lower)))
        return w, v, info  # (compute_v=0: SciPy's v is then unspecified; here the vectors)

    return evd


def _gesdd(p: str) -> Callable[..., Any]:
    dt = _DTYPES[p]

    def gesdd(
        a: Any, compute_uv: int = 1, full_matrices: int = 1, lwork: Any = None, overwrite_a: int = 0
    ) -> tuple[Any, ...]:
        a = a if isinstance(a, np.ndarray) and a.dtype == dt and a.ndim == 2 else _own(a, dt, 0, "a")
        m, n = a.shape
        k = min(m, n)
        s = np.zeros(k, np.dtype(dt.char.lower()))
        if not compute_uv:
            info = _info(
                lambda: ba.gesdd(
                    a, s, np.zeros((m, 0), dt, order="F"), np.zeros((0, n), dt, order="F"), jobz="N"
                )
            )
            return np.zeros((1, 1), dt), s, np.zeros((1, 1), dt), info  # (SciPy's shapes)
        u, vt = np.zeros((m, k), dt, order="F"), np.zeros((k, n), dt, order="F")
        info = _info(lambda: ba.gesdd(a, s, u, vt))
        if full_matrices and m != n:
            u, vt = (_complete(u), vt) if m > n else (u, _complete(vt.T).T)
        return u, s, vt, info

    return gesdd


def _complete(U: np.ndarray) -> np.ndarray:
    """[U, C]: U's orthonormal columns (m × k) completed to a unitary m × m matrix by Householder
    QR of U (recorded: geqrf, then orgqr/ungqr of the reflectors). Q's first k columns are U's up
    to a sign or phase each; C spans the complement, which the matrix U came from does not
    determine (SciPy's full SVD returns another basis of the same space)."""
    m, k = U.shape
    W = np.empty((m, k), U.dtype, order="F")
    ba.geadd(1.0, U, 0.0, W)
    tau = np.zeros(k, U.dtype)
    ba.geqrf(W, tau)
    Q = np.zeros((m, m), U.dtype, order="F")
    ba.geadd(1.0, W, 0.0, Q[:, :k])
    getattr(ba, "ungqr" if U.dtype.kind == "c" else "orgqr")(Q, tau)
    full = np.empty((m, m), U.dtype, order="F")
    ba.geadd(1.0, U, 0.0, full[:, :k])
    ba.geadd(1.0, Q[:, k:], 0.0, full[:, k:])
    return full


FACTORIES: dict[str, tuple[str, Callable[[str], Callable[..., Any]]]] = {
    # SciPy's name without its prefix: (the blasad routine it runs, the factory)
    "potrf": ("potrf", _potrf),
    "potrs": ("potrs", _potrs),
    "posv": ("posv", _posv),
    "potri": ("potri", _potri),
    "trtri": ("trtri", _trtri),
    "trtrs": ("trtrs", _trtrs),
    "getrf": ("getrf", _getrf),
    "getrs": ("getrs", _getrs),
    "gesv": ("gesv", _gesv),
    "getri": ("getri", _getri),
    "laswp": ("laswp", _laswp),
    "geqrf": ("geqrf", _geqrf),
    "orgqr": ("orgqr", lambda p: _orgqr(p, "orgqr")),
    "ungqr": ("ungqr", lambda p: _orgqr(p, "ungqr")),
    "ormqr": ("ormqr", lambda p: _ormqr(p, "ormqr")),
    "unmqr": ("unmqr", lambda p: _ormqr(p, "unmqr")),
    "gels": ("gels", _gels),
    "syevd": ("syevd", lambda p: _evd(p, "syevd")),
    "heevd": ("heevd", lambda p: _evd(p, "heevd")),
    "gesdd": ("gesdd", _gesdd),
}


def _install() -> list[str]:
    """Define the SciPy-named function of every prefix blasad's routine exists in."""
    names = []
    for name, (routine, factory) in FACTORIES.items():
        spec = SPECS.get(routine)
        if spec is None:  # (a routine not built yet)
            continue
        for p in spec.dtypes:
            fn = factory(p)
            fn.__name__ = fn.__qualname__ = p + name
            fn.__module__ = __name__
            fn.__doc__ = f"{p}{name}: scipy.linalg.lapack.{p}{name}'s twin, recorded (runs ba.{routine})."
            globals()[p + name] = fn
            names.append(p + name)
    return names


_NAMES = _install()


def get_lapack_funcs(
    names: str | Sequence[str], arrays: Sequence[Any] = (), dtype: Any = None, ilp64: Any = False
) -> Any:
    """The twins of ``scipy.linalg.lapack.get_lapack_funcs``'s results: the prefix by SciPy's
    rules (``dtype``, else the arrays' common type: s, d, c or z), a tuple for a sequence of
    names. Raises ValueError for a routine blasad has no twin of."""
    from scipy.linalg import lapack as scipy_lapack

    single = isinstance(names, str)
    wanted = (names,) if single else tuple(names)
    funcs = scipy_lapack.get_lapack_funcs(wanted, arrays, dtype)
    out = []
    for name, f in zip(wanted, funcs):
        full = f.typecode + name
        if full not in _NAMES:
            raise ValueError(f"blasad.linalg.lapack has no twin of {full}")
        out.append(globals()[full])
    return out[0] if single else tuple(out)


__all__ = ["get_lapack_funcs", *_NAMES]
