"""blasad.linalg.lapack and blasad.linalg's scipy.linalg twins, against SciPy call by call.

Each twin routine is called with SciPy's arguments (flags, overwrite flags, vector or matrix
right-hand sides, C- and F-ordered inputs) and must return what SciPy returns (values, info,
0-based pivots) without writing its inputs unless an overwrite flag lets it; then gradients
through the twins against central differences (ba.gradcheck).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.linalg as sl
from scipy.linalg import lapack as sp

import blasad as ba
import blasad.linalg as bl
from blasad.linalg import lapack as tw

PREFIXES = {"s": np.float32, "d": np.float64, "c": np.complex64, "z": np.complex128}
RTOL = {"s": 2e-4, "d": 1e-10, "c": 2e-4, "z": 1e-10}


def _rand(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return np.asarray(x, dtype)


def _hpd(rng, n, dtype):
    B = _rand(rng, (n, n), dtype)
    return (B @ B.conj().T / n + np.eye(n)).astype(dtype)


def _tri(rng, n, dtype, lower):
    T = _rand(rng, (n, n), dtype) + n * np.eye(n)
    return (np.tril(T) if lower else np.triu(T)).astype(dtype)


def _lu(rng, n, dtype):
    p = next(k for k, v in PREFIXES.items() if v == dtype)
    lu, piv, _ = getattr(sp, p + "getrf")(_rand(rng, (n, n), dtype) + n * np.eye(n, dtype=dtype))
    return lu, piv


# name -> rng, dtype -> list of (args, kwargs) SciPy calls
CALLS: dict[str, Callable[[Any, Any], list[tuple[tuple[Any, ...], dict[str, Any]]]]] = {
    "potrf": lambda rng, dt: [
        ((_hpd(rng, 4, dt),), dict(lower=lower, clean=clean))
        for lower, clean in itertools.product((0, 1), (0, 1))
    ],
    "potrs": lambda rng, dt: (
        [
            ((np.linalg.cholesky(_hpd(rng, 4, dt)).astype(dt), _rand(rng, shape, dt)), dict(lower=1))
            for shape in ((4,), (4, 3))
        ]
        + [
            (
                (np.linalg.cholesky(_hpd(rng, 3, dt)).conj().T.astype(dt), _rand(rng, (3, 2), dt)),
                dict(lower=0),
            )
        ]
    ),
    "posv": lambda rng, dt: [
        ((_hpd(rng, 4, dt), _rand(rng, (4, 2), dt)), dict(lower=lower)) for lower in (0, 1)
    ],
    "potri": lambda rng, dt: [
        ((np.linalg.cholesky(_hpd(rng, 4, dt)).astype(dt),), dict(lower=1)),
        ((np.linalg.cholesky(_hpd(rng, 4, dt)).conj().T.astype(dt),), dict(lower=0)),
    ],
    "trtri": lambda rng, dt: [
        ((_tri(rng, 4, dt, lower),), dict(lower=lower, unitdiag=unit))
        for lower, unit in itertools.product((0, 1), (0, 1))
    ],
    "trtrs": lambda rng, dt: [
        ((_tri(rng, 4, dt, lower), _rand(rng, (4, 2), dt)), dict(lower=lower, trans=trans, unitdiag=unit))
        for lower, trans, unit in itertools.product((0, 1), (0, 1, 2), (0, 1))
    ],
    "getrf": lambda rng, dt: [((_rand(rng, shape, dt),), {}) for shape in ((4, 4), (5, 3), (3, 5))],
    "getrs": lambda rng, dt: [((*_lu(rng, 4, dt), _rand(rng, (4, 2), dt)), dict(trans=t)) for t in (0, 1, 2)],
    "gesv": lambda rng, dt: [
        ((_rand(rng, (4, 4), dt), _rand(rng, shape, dt)), {}) for shape in ((4,), (4, 3))
    ],
    "getri": lambda rng, dt: [(_lu(rng, 4, dt), {})],
    "laswp": lambda rng, dt: [
        ((_rand(rng, (5, 3), dt), np.array([2, 4, 2, 3], np.int32)), kw)
        for kw in ({}, dict(inc=-1), dict(k1=1), dict(k1=1, k2=2, inc=-1))
    ],
    "geqrf": lambda rng, dt: [((_rand(rng, shape, dt),), {}) for shape in ((5, 3), (3, 5), (4, 4))],
    "orgqr": lambda rng, dt: [_reflectors(rng, dt, shape) for shape in ((5, 3), (4, 4))],
    "ungqr": lambda rng, dt: [_reflectors(rng, dt, shape) for shape in ((5, 3), (4, 4))],
    "ormqr": lambda rng, dt: (
        [(("L", t, *_reflectors(rng, dt, (5, 3))[0], _rand(rng, (5, 2), dt), 2), {}) for t in ("N", "T")]
        + [(("R", "N", *_reflectors(rng, dt, (4, 2))[0], _rand(rng, (3, 4), dt), 3), {})]
    ),
    "unmqr": lambda rng, dt: [
        ((side, t, *_reflectors(rng, dt, (4, 3))[0], _rand(rng, (4, 4), dt), 4), {})
        for side in "LR"
        for t in "NC"
    ],
    "gels": lambda rng, dt: [
        ((_rand(rng, shape, dt), _rand(rng, (max(shape), 2), dt)), dict(trans=t))
        for shape in ((5, 3), (3, 5))
        for t in ("N", "C" if np.dtype(dt).kind == "c" else "T")
    ],
    "syevd": lambda rng, dt: [((_hpd(rng, 4, dt),), dict(lower=lower)) for lower in (0, 1)],
    "heevd": lambda rng, dt: [((_hpd(rng, 4, dt),), dict(lower=lower)) for lower in (0, 1)],
    "gesdd": lambda rng, dt: (
        [((_rand(rng, shape, dt),), dict(full_matrices=0)) for shape in ((5, 3), (3, 5), (4, 4))]
        + [((_rand(rng, (4, 3), dt),), dict(compute_uv=0))]
    ),
}
# results that are LAPACK's workspace (SciPy's holds the optimal size and scratch): not compared
WORK = {"geqrf": 2, "orgqr": 1, "ungqr": 1, "ormqr": 1, "unmqr": 1}


def _phase(V):
    """V's columns, each scaled so that its largest entry is real and positive: eigen- and
    singular vectors are unique up to such a factor. Returns (the scaled V, the factors)."""
    idx = np.argmax(np.abs(V), axis=0)
    x = V[idx, np.arange(V.shape[1])]
    f = np.where(x == 0, 1, np.conj(x) / np.where(x == 0, 1, np.abs(x)))
    return V * f, f


def _vectors(base, res):
    """res with its eigen- or singular vectors in _phase's normal form (U's factor also on Vh's rows)."""
    res = list(res)
    if base in ("syevd", "heevd"):
        res[1] = _phase(res[1])[0]
    elif base == "gesdd" and res[0].shape != (1, 1):
        res[0], f = _phase(res[0])
        res[2] = res[2] * np.conj(f)[:, None]
    return tuple(res)


def _reflectors(rng, dt, shape):
    """(qr, tau) of a random matrix, from SciPy's geqrf: the arguments of orgqr and ormqr."""
    p = next(k for k, v in PREFIXES.items() if v == dt)
    qr, tau, _, _ = getattr(sp, p + "geqrf")(_rand(rng, shape, dt))
    return (qr, tau), {}


def _same(got, want, tol, what):
    if isinstance(want, np.ndarray):
        got = np.asarray(got)
        assert got.shape == want.shape, (what, got.shape, want.shape)
        if want.dtype.kind in "iu":
            np.testing.assert_array_equal(got, want, err_msg=what)
        else:
            scale = 1 + np.abs(want).max(initial=0)
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale, err_msg=what)
    else:
        assert got == want, (what, got, want)


TWINS = [name for name in tw.__all__ if name != "get_lapack_funcs"]


def test_every_lapack_routine_blasad_has_a_twin():
    from blasad.specs import LAPACK

    for spec in LAPACK:
        for p in spec.dtypes:
            if hasattr(sp, p + spec.name):
                assert p + spec.name in TWINS, f"no twin of scipy.linalg.lapack.{p}{spec.name}"


@pytest.mark.parametrize("name", TWINS)
def test_twin_matches_scipy(name, rng):
    p, base = name[0], name[1:]
    dt = PREFIXES[p]
    for args, kwargs in CALLS[base](rng, dt):
        for order in "CF":
            given = [
                np.array(a, order=order) if isinstance(a, np.ndarray) and a.ndim == 2 else a for a in args
            ]
            before = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in given]
            want = getattr(sp, name)(
                *[np.array(a) if isinstance(a, np.ndarray) else a for a in given], **kwargs
            )
            got = getattr(tw, name)(*given, **kwargs)
            want = _vectors(base, want if isinstance(want, tuple) else (want,))
            got = _vectors(base, got if isinstance(got, tuple) else (got,))
            assert len(got) == len(want), (name, kwargs)
            for i, (g, w) in enumerate(zip(got, want)):
                unspecified = base == "gesdd" and kwargs.get("compute_uv") == 0 and i != 1  # (SciPy's u, vt)
                if i != WORK.get(base) and not unspecified:
                    _same(g, w, RTOL[p], f"{name} {kwargs} {order} result {i}")
            for a, b in zip(given, before):  # inputs are not written (no overwrite flag given)
                if isinstance(a, np.ndarray):
                    assert a.tobytes() == b.tobytes(), f"{name} wrote an input"


def test_overwrite_flag_works_in_place(rng):
    A = np.asfortranarray(_hpd(rng, 4, np.float64))
    want = np.linalg.cholesky(A)
    c, info = tw.dpotrf(A, lower=1, clean=0, overwrite_a=1)
    assert c is A and info == 0
    np.testing.assert_allclose(np.tril(A), want, rtol=1e-12)
    C = np.ascontiguousarray(_hpd(rng, 4, np.float64))  # not Fortran-ordered: a copy, as SciPy makes
    before = C.copy()
    c, _ = tw.dpotrf(C, lower=1, overwrite_a=1)
    assert c is not C and np.array_equal(C, before)


def test_info_is_returned_not_raised():
    A = np.array([[1.0, 2.0], [2.0, 1.0]])  # indefinite: the leading minor of order 2 fails
    _, info = tw.dpotrf(A)
    _, info_sp = sp.dpotrf(A)
    assert info == info_sp == 2


def test_get_lapack_funcs_picks_scipys_prefix():
    A = np.zeros((2, 2), np.complex64)
    assert tw.get_lapack_funcs("potrf", (A,)) is tw.cpotrf
    assert tw.get_lapack_funcs(("potrf",), dtype=np.float64) == (tw.dpotrf,)


def test_twin_gradient_potrf_potrs(rng):
    if not hasattr(tw, "dpotrs"):
        pytest.fail("dpotrs twin missing")
    n = 4
    A, b = _hpd(rng, n, np.float64), rng.standard_normal(n)

    def f(A, b, x):
        c, _ = tw.dpotrf(A, lower=1)
        y, _ = tw.dpotrs(c, b, lower=1)
        ba.copy(y, x)

    g = ba.gradcheck(f, A, b, np.zeros(n))
    assert g.ok, g.max_abs_error


# -- scipy.linalg twins ----------------------------------------------------------------------------


def test_scipy_linalg_twins_match(rng):
    for dt in (np.float64, np.complex128):
        A, B = _hpd(rng, 5, dt), _rand(rng, (5, 2), dt)
        G = _rand(rng, (5, 5), dt) + 5 * np.eye(5)
        for lower in (False, True):
            _same(bl.cholesky(A, lower=lower), sl.cholesky(A, lower=lower), 1e-10, "cholesky")
            c = bl.cho_factor(A, lower=lower)
            _same(bl.cho_solve(c, B), sl.cho_solve(sl.cho_factor(A, lower=lower), B), 1e-10, "cho_solve")
            T = np.tril(G) if lower else np.triu(G)
            for trans in (0, 1, 2, "N", "T", "C"):
                _same(
                    bl.solve_triangular(T, B, trans=trans, lower=lower),
                    sl.solve_triangular(T, B, trans=trans, lower=lower),
                    1e-10,
                    "solve_triangular",
                )
        lu, piv = bl.lu_factor(G)
        lu_s, piv_s = sl.lu_factor(G)
        _same(lu, lu_s, 1e-10, "lu")
        _same(piv, piv_s, 0, "piv")
        for trans in (0, 1, 2):
            _same(
                bl.lu_solve((lu, piv), B, trans=trans),
                sl.lu_solve((lu_s, piv_s), B, trans=trans),
                1e-10,
                "lu_solve",
            )
        for assume_a in (None, "gen", "pos", "sym", "her"):
            M = A if assume_a in ("pos", "sym", "her") else G
            _same(
                bl.solve(M, B, assume_a=assume_a),
                sl.solve(M, B, assume_a=assume_a),
                1e-10,
                f"solve {assume_a}",
            )
        if dt is np.float64:  # (SciPy solves no transposed complex system)
            _same(
                bl.solve(G, B[:, 0], transposed=True), sl.solve(G, B[:, 0], transposed=True), 1e-10, "solve T"
            )
        else:
            with pytest.raises(NotImplementedError):
                bl.solve(G, B, transposed=True)
        _same(bl.inv(G), sl.inv(G), 1e-10, "inv")


def test_scipy_linalg_twins_raise_like_scipy():
    S = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError):
        bl.cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(np.linalg.LinAlgError):
        bl.solve(S, np.ones(2))
    with pytest.raises(np.linalg.LinAlgError):
        bl.inv(S)
    with pytest.raises(np.linalg.LinAlgError, match="diagonal 1"):
        bl.solve_triangular(np.array([[1.0, 0.0], [1.0, 0.0]]), np.ones(2), lower=True)
    with pytest.raises(ValueError, match="infs or NaNs"):
        bl.cholesky(np.array([[np.nan]]))


def test_solve_gradient_through_the_twin(rng):
    n = 4
    cases = ((np.float64, None), (np.float64, "pos"), (np.float64, "sym"), (np.complex128, "her"))
    for dt, assume_a in cases:
        A = _hpd(rng, n, dt) if assume_a else _rand(rng, (n, n), dt) + n * np.eye(n)
        b = _rand(rng, (n,), dt)

        def f(A, b, x, assume_a=assume_a):
            ba.copy(bl.solve(A, b, assume_a=assume_a, lower=True), x)

        g = ba.gradcheck(f, A, b, np.zeros(n, dt))
        assert g.ok, (assume_a, g.max_abs_error)


def test_qr_and_lstsq_match_scipy(rng):
    for shape in ((5, 3), (3, 5), (4, 4)):
        for dt in (np.float64, np.complex128):
            a = _rand(rng, shape, dt)
            for mode in ("full", "economic", "r"):
                for got, want in zip(bl.qr(a, mode=mode), sl.qr(a, mode=mode)):
                    _same(got, want, 1e-10, f"qr {mode}")
            (qr, tau), R = bl.qr(a, mode="raw")
            (qr_s, tau_s), R_s = sl.qr(a, mode="raw")
            for got, want in ((qr, qr_s), (tau, tau_s), (R, R_s)):
                _same(got, want, 1e-10, "qr raw")
            for b in (_rand(rng, (shape[0], 2), dt), _rand(rng, (shape[0],), dt)):
                x, res, rank, s = bl.lstsq(a, b)
                x_s, res_s, rank_s, _ = sl.lstsq(a, b)  # gelsd: the same x and residues for full rank
                _same(x, x_s, 1e-10, "lstsq x")
                _same(res, np.asarray(res_s), 1e-10, "lstsq residues")
                assert rank == rank_s and s is None
    with pytest.raises(ValueError, match="pivoting"):
        bl.qr(np.eye(2), pivoting=True)


def test_qr_gradient_through_the_twin(rng):
    a = rng.standard_normal((5, 3))

    def f(a, q, r):
        Q, R = bl.qr(a, mode="economic")
        ba.geadd(1.0, Q, 0.0, q)
        ba.geadd(1.0, R, 0.0, r)

    g = ba.gradcheck(f, a, np.zeros((5, 3)), np.zeros((3, 3)))
    assert g.ok, g.max_abs_error


def test_lstsq_gradient_through_the_twin(rng):
    a, b = rng.standard_normal((6, 3)), rng.standard_normal(6)

    def f(a, b, x, r):
        xs, res, _, _ = bl.lstsq(a, b)
        ba.copy(xs, x)
        ba.copy(res, r)

    g = ba.gradcheck(f, a, b, np.zeros(3), np.zeros(()))
    assert g.ok, g.max_abs_error


def test_eigh_and_svd_match_scipy(rng):
    for dt in (np.float64, np.complex128):
        A = _hpd(rng, 5, dt)
        for lower in (True, False):
            w, v = bl.eigh(A, lower=lower)
            w_s, v_s = sl.eigh(A, lower=lower)
            _same(w, w_s, 1e-10, "eigh w")
            _same(_phase(v)[0], _phase(v_s)[0], 1e-8, "eigh v")
            _same(bl.eigh(A, lower=lower, eigvals_only=True), w_s, 1e-10, "eigvals_only")
        for shape in ((5, 3), (3, 5), (4, 4)):
            a = _rand(rng, shape, dt)
            _same(bl.svd(a, compute_uv=False), sl.svd(a, compute_uv=False), 1e-10, "svd s")
            for full in (False, True):
                u, s, vh = bl.svd(a, full_matrices=full)
                u_s, s_s, vh_s = sl.svd(a, full_matrices=full)
                assert u.shape == u_s.shape and vh.shape == vh_s.shape
                k = min(shape)
                got, want = (
                    _vectors("gesdd", (u[:, :k], s, vh[:k])),
                    _vectors("gesdd", (u_s[:, :k], s_s, vh_s[:k])),
                )
                for g, w_ in zip(got, want):
                    _same(g, w_, 1e-8, f"svd {shape} full={full}")
                # the completed columns: orthonormal, orthogonal to the thin ones (SciPy's span)
                for Q in (u, vh.conj().T):
                    _same(Q.conj().T @ Q, np.eye(Q.shape[1]), 1e-10, "unitary")
    with pytest.raises(ValueError):
        bl.eigh(np.eye(2), np.eye(2))


def test_eigh_and_svd_gradients_through_the_twins(rng):
    A = _hpd(rng, 4, np.float64)

    def f(A, w, P):  # eigenvalues, and V diag(w) Vᵀ: phase-invariant losses
        ws, V = bl.eigh(A)
        ba.copy(ws, w)
        VW = np.empty_like(V)
        ba.geadd(1.0, V, 0.0, VW)
        for j in range(4):
            ba.scal(ba.Scalar(ws[j, ...]), VW[:, j])
        ba.gemm(1.0, VW, V, 0.0, P, trans_b="T")

    g = ba.gradcheck(f, A, np.zeros(4), np.zeros((4, 4)))
    assert g.ok, g.max_abs_error

    a = rng.standard_normal((5, 3))

    def h(a, s):
        ba.copy(bl.svd(a, compute_uv=False), s)

    g = ba.gradcheck(h, a, np.zeros(3))
    assert g.ok, g.max_abs_error
