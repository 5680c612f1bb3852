"""Banded and packed Level 2 routines: forward against SciPy's BLAS (the oracle) and against the
spec's dense reference; adjoints against finite differences and the dot-product test; the
storage helpers; what each storage leaves without an adjoint.

tests/test_routines.py checks every routine from its spec. tpmv, tpsv, tbmv and tbsv have twelve
flag combinations, enough for its forward and gradcheck cases to meet every flag and every
layout in every dtype, so only their structure stays here (a unit diagonal gets no adjoint). The
other routines have two or three flag combinations and meet only some layouts there: their
forward and adjoint sweeps over the layouts, band widths and shapes below stay.

gradcheck runs the program on C-ordered copies of its arguments, so the programs below take
base arrays and make the strided / reversed / transposed views themselves.
"""

import numpy as np
import pytest
from scipy.linalg import blas as sb

import blasad as ba
from blasad.specs import packed_band as L
from blasad.specs.structure import band, pack, unband, unpack

DTYPES = (np.float32, np.float64, np.complex64, np.complex128)
REAL = (np.float32, np.float64)
CPLX = (np.complex64, np.complex128)
PREFIX = {np.float32: "s", np.float64: "d", np.complex64: "c", np.complex128: "z"}
TOL = {np.float32: 2e-4, np.float64: 1e-12, np.complex64: 2e-4, np.complex128: 1e-12}
VEC_LAYOUTS = ("C", "step", "rev", "rev2")


def _rand(rng, shape, dtype):
    v = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        v = v + 1j * rng.standard_normal(shape)
    return np.asarray(v).astype(dtype)


def _s(v, dtype):
    """A 0-d array scalar (an active α or β): v, or its real part for a real dtype."""
    return np.array(v if np.dtype(dtype).kind == "c" else complex(v).real, dtype)


def _vec_base(rng, n, dtype, layout):
    """A C-contiguous base and the view of length n that the layout names."""
    size = {"C": n, "step": 2 * n + 1, "rev": n, "rev2": 2 * n}[layout]
    return _rand(rng, size, dtype)


def _vview(b, layout):
    return {"C": lambda b: b, "step": lambda b: b[1::2], "rev": lambda b: b[::-1], "rev2": lambda b: b[::-2]}[
        layout
    ](b)


def _close(a, b, dtype):
    scale = max(1.0, float(np.abs(b).max(initial=0.0)))
    assert np.abs(np.asarray(a) - np.asarray(b)).max(initial=0.0) <= TOL[dtype] * scale * 10, (a, b)


def _scipy(name, dtype):
    return getattr(sb, PREFIX[dtype] + name)


def _adjoint(rng, prog, args, i):
    """The adjoint of args[i] alone (its shadow starts at 0; the others get random seeds)."""
    i %= len(args)
    shadows = [np.zeros_like(a) if j == i else _rand(rng, a.shape, a.dtype) for j, a in enumerate(args)]
    ba.autodiff(prog, *(ba.Duplicated(a.copy(), s) for a, s in zip(args, shadows)))
    return shadows[i]


def _packed_tri(rng, n, dtype, uplo, well=False):
    """Packed storage of a triangle; well-conditioned (dominant diagonal) for the solves."""
    M = _rand(rng, (n, n), dtype) * (0.3 if well else 1.0)
    if well:
        M += np.eye(n, dtype=dtype) * 3
    return pack(M, uplo)


def _band_tri(rng, n, k, dtype, uplo, well=False):
    A = _rand(rng, (k + 1, n), dtype) * (0.3 if well else 1.0)
    if well:
        A[k if uplo == "U" else 0] += 3
    return A


# ---- storage helpers ----------------------------------------------------------------------


def test_pack_unpack_layout():
    """AP[i + j(j+1)/2] = A[i, j] (U) and AP[i + j(2n-j-1)/2] = A[i, j] (L), SciPy's layout."""
    n = 4
    M = np.arange(16.0).reshape(4, 4)
    U, Lo = pack(M, "U"), pack(M, "L")
    for j in range(n):
        for i in range(n):
            if i <= j:
                assert U[i + j * (j + 1) // 2] == M[i, j]
            if i >= j:
                assert Lo[i + j * (2 * n - j - 1) // 2] == M[i, j]
    assert np.array_equal(unpack(U, "U"), np.triu(M))
    assert np.array_equal(unpack(Lo, "L"), np.tril(M))
    B = band(M, 1, 2)
    assert B[2 + 0 - 1, 1] == M[0, 1] and B[2 + 3 - 2, 2] == M[3, 2]
    assert np.array_equal(unband(B, 4, 1, 2), np.triu(np.tril(M, 2), -1))


# ---- spmv / hpmv ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("uplo", ["U", "L"])
@pytest.mark.parametrize("layout", VEC_LAYOUTS)
def test_spmv_hpmv_forward(dtype, uplo, layout, rng):
    name = "hpmv" if np.dtype(dtype).kind == "c" else "spmv"
    f, spec = getattr(ba, name), getattr(L, name.upper())
    n = 5
    AP = _rand(rng, n * (n + 1) // 2, dtype)
    x = _vview(_vec_base(rng, n, dtype, layout), layout)
    y = _vview(_vec_base(rng, n, dtype, layout), layout)
    y0 = y.copy()
    alpha, beta = dtype(1.5 - 0.5j if np.dtype(dtype).kind == "c" else 1.5), dtype(-0.7)
    ref = _scipy(name, dtype)(n, alpha, AP, x, beta=beta, y=y0.copy(), lower=uplo == "L")
    out = f(alpha, AP, x, beta, y, uplo=uplo)
    assert out is y
    _close(y, ref, dtype)
    _close(y, spec.reference(alpha, AP, x, beta, y0, uplo), dtype)
    # β = 0: y is not read, a NaN in it does not survive
    y[:] = np.nan
    f(alpha, AP, x, 0.0, y, uplo=uplo)
    _close(y, _scipy(name, dtype)(n, alpha, AP, x, lower=uplo == "L"), dtype)
    # a strided AP (staged)
    APs = np.repeat(AP, 2)[::2]
    _close(f(alpha, APs, x, uplo=uplo), _scipy(name, dtype)(n, alpha, AP, x, lower=uplo == "L"), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("uplo", ["U", "L"])
@pytest.mark.parametrize("active", [False, True])
def test_spmv_hpmv_adjoint(dtype, uplo, active, rng):
    name = "hpmv" if np.dtype(dtype).kind == "c" else "spmv"
    f = getattr(ba, name)
    n = 4
    AP = _rand(rng, n * (n + 1) // 2, dtype)
    xb, yb = _rand(rng, 2 * n, dtype), _rand(rng, 3 * n, dtype)
    if active:

        def prog(alpha, beta, AP, xb, yb):
            f(alpha, AP, xb[::-2], beta, yb[1::3], uplo=uplo)

        check = ba.gradcheck(prog, _s(0.8 + 0.3j, dtype), _s(-0.6, dtype), AP, xb, yb)
    else:

        def prog(AP, xb, yb):
            f(0.8, AP, xb[::-2], -0.6, yb[1::3], uplo=uplo)

        check = ba.gradcheck(prog, AP, xb, yb)
    assert check.ok, check
    if dtype == np.complex128:  # the imaginary part of the diagonal is not referenced: adjoint 0
        diag = [j * (j + 1) // 2 + j if uplo == "U" else j * (2 * n - j + 1) // 2 for j in range(n)]
        AP_bar = _adjoint(
            rng,
            prog,
            [AP, xb, yb] if not active else [_s(0.8 + 0.3j, dtype), _s(-0.6, dtype), AP, xb, yb],
            -3,
        )
        assert np.all(AP_bar[diag].imag == 0)
        assert np.abs(AP_bar).max() > 0


@pytest.mark.parametrize("name", ["spmv", "sbmv", "gbmv"])
def test_zero_beta_shadow(name):
    """β = 0: ȳ is set to exactly 0, even when the seed holds NaN; the NaN reaches x through A."""
    n = 3
    A = np.ones(6) if name == "spmv" else np.ones((2, n), order="F")
    x, y = np.ones(n), np.zeros(n)
    x_bar, y_bar = np.zeros(n), np.full(n, np.nan)
    kw = {"kl": 1, "ku": 0} if name == "gbmv" else {}

    def prog(A, x, y):
        getattr(ba, name)(2.0, A, x, 0.0, y, **kw)

    ba.autodiff(prog, ba.Const(A), ba.Duplicated(x, x_bar), ba.Duplicated(y, y_bar))
    assert np.array_equal(y_bar, np.zeros(n))
    assert np.all(np.isnan(x_bar))


def test_dtype_errors():
    AP = np.ones(6, np.complex128)
    with pytest.raises(TypeError, match="real dtypes only"):
        ba.spmv(1.0, AP, np.ones(3, np.complex128))
    with pytest.raises(TypeError, match="complex dtypes only"):
        ba.hpmv(1.0, np.ones(6), np.ones(3))
    with pytest.raises(TypeError, match="complex dtypes only"):
        ba.hpr(1.0, np.ones(3), np.ones(6))
    with pytest.raises(ValueError, match=r"npk = n \* \(n \+ 1\) // 2"):
        ba.spmv(1.0, np.ones(5), np.ones(3))
    with pytest.raises(ValueError, match=r"npk = n \* \(n \+ 1\) // 2"):
        ba.tpmv(np.ones(7), np.ones(3))
    with pytest.raises(ValueError, match=r"kb = kl \+ ku \+ 1"):
        ba.gbmv(1.0, np.ones((3, 4)), np.ones(4), kl=1, ku=2, m=4)
    with pytest.raises(ValueError, match="pass m"):
        ba.gbmv(1.0, np.ones((3, 4)), np.ones(4), kl=1, ku=1)


# ---- tpmv / tpsv / tbmv / tbsv ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("uplo", ["U", "L"])
@pytest.mark.parametrize("trans", ["N", "T", "C"])
@pytest.mark.parametrize("name", ["tpmv", "tpsv", "tbmv", "tbsv"])
def test_unit_diagonal_gets_no_adjoint(name, dtype, uplo, trans, rng):
    """diag = "U": the stored diagonal is not referenced, so its adjoint is exactly 0 (in packed
    storage and in band storage); the rest of A gets one."""
    n, k = 4, 2
    packed, solve = name[1] == "p", name[2] == "s"
    f = getattr(ba, name)
    if packed:
        A = _packed_tri(rng, n, dtype, uplo, solve)

        def prog(A, xb):
            f(A, xb[::-2], uplo=uplo, trans=trans, diag="U")

    else:
        A = _band_tri(rng, n, k, dtype, uplo, solve).T.copy()  # the base holds the storage transposed

        def prog(A, xb):
            f(A.T, xb[::-2], uplo=uplo, trans=trans, diag="U")  # a column-major (k+1) x n view

    A_bar = _adjoint(rng, prog, [A, _rand(rng, 2 * n, dtype)], 0)
    assert np.abs(A_bar).max() > 0
    if packed:
        idx = [j * (j + 1) // 2 + j if uplo == "U" else j * (2 * n - j + 1) // 2 for j in range(n)]
        assert np.all(A_bar[idx] == 0)
    else:
        assert np.all(A_bar[:, k if uplo == "U" else 0] == 0)


# ---- spr / hpr / spr2 / hpr2 ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("uplo", ["U", "L"])
@pytest.mark.parametrize("layout", VEC_LAYOUTS)
@pytest.mark.parametrize("rank", [1, 2])
def test_spr_forward(rank, dtype, uplo, layout, rng):
    cplx = np.dtype(dtype).kind == "c"
    name = ("hpr" if cplx else "spr") + ("2" if rank == 2 else "")
    n = 5
    x = _vview(_vec_base(rng, n, dtype, layout), layout)
    y = _vview(_vec_base(rng, n, dtype, layout), layout)
    APb = _rand(rng, 2 * (n * (n + 1) // 2), dtype)
    for AP in (APb[: n * (n + 1) // 2], APb[::-2]):  # contiguous, and reversed strided (staged)
        AP0 = AP.copy()
        for alpha in ((1.3 - 0.4j if cplx and rank == 2 else 1.3), 0.0):
            AP[:] = AP0
            args = (x, y) if rank == 2 else (x,)
            ref = _scipy(name, dtype)(n, alpha, *args, AP0.copy(), lower=uplo == "L")
            out = getattr(ba, name)(alpha, *args, AP, uplo=uplo)
            assert out is AP
            _close(AP, ref, dtype)
            _close(AP, getattr(L, name.upper()).reference(alpha, *args, AP0, uplo), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("uplo", ["U", "L"])
@pytest.mark.parametrize("rank", [1, 2])
@pytest.mark.parametrize("active", [False, True])
def test_spr_adjoint(rank, dtype, uplo, active, rng):
    cplx = np.dtype(dtype).kind == "c"
    name = ("hpr" if cplx else "spr") + ("2" if rank == 2 else "")
    f = getattr(ba, name)
    n = 4
    npk = n * (n + 1) // 2
    xb, yb, APb = _rand(rng, 2 * n, dtype), _rand(rng, n, dtype), _rand(rng, 2 * npk, dtype)
    a = 0.9 - 0.3j if cplx and rank == 2 else 0.9
    args = (xb, yb) if rank == 2 else (xb,)

    def views(xb, *rest):
        return (xb[::-2], rest[0]) if rank == 2 else (xb[::-2],)

    if active:
        alpha = np.array(a, dtype=dtype if rank == 2 else np.dtype(dtype).char.lower())

        def prog(alpha, APb, *args):
            f(alpha, *views(*args), APb[::2], uplo=uplo)

        check = ba.gradcheck(prog, alpha, APb, *args)
    else:

        def prog(APb, *args):
            f(a, *views(*args), APb[::2], uplo=uplo)

        check = ba.gradcheck(prog, APb, *args)
    assert check.ok, check
    if active and rank == 1:
        assert check.adjoints[0].dtype == np.float64  # α is real, and so is its adjoint


def test_hpr_diagonal_imag_reset():
    """hpr with α ≠ 0 resets Im of the diagonal: its adjoint is 0; with α = 0 it passes through."""
    AP = np.array([1 + 2j, 3 + 4j, 5 + 6j, 7 + 1j, 8 - 1j, 9 + 3j])
    x = np.array([1 + 1j, 0.5j, 2.0])
    for alpha, expect in ((1.0, 0.0), (0.0, 1.0)):
        AP_bar = np.full(6, 1 + 1j)

        def prog(AP, alpha=alpha):
            ba.hpr(alpha, x, AP)

        ba.autodiff(prog, ba.Duplicated(AP.copy(), AP_bar))
        assert np.all(AP_bar[[0, 2, 5]].imag == expect)
        assert np.all(AP_bar[[1, 3, 4]] == 1 + 1j)


# ---- sbmv / hbmv ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("uplo", ["U", "L"])
@pytest.mark.parametrize("k", [0, 1, 3, 6])
def test_sbmv_hbmv_forward(dtype, uplo, k, rng):
    name = "hbmv" if np.dtype(dtype).kind == "c" else "sbmv"
    n = 5
    A = _rand(rng, (k + 1, n), dtype)
    layout = ("C", "step", "rev", "rev2")[rng.integers(4)]
    x = _vview(_vec_base(rng, n, dtype, layout), layout)
    y = _vview(_vec_base(rng, n, dtype, layout), layout)
    y0 = y.copy()
    alpha = 1.2 - 0.3j if np.dtype(dtype).kind == "c" else 1.2
    ref = _scipy(name, dtype)(k, alpha, A, x, beta=0.5, y=y0.copy(), lower=uplo == "L")
    getattr(ba, name)(alpha, A, x, 0.5, y, uplo=uplo)  # C-ordered A: staged to column-major
    _close(y, ref, dtype)
    _close(y, getattr(L, name.upper()).reference(alpha, A, x, 0.5, y0, uplo), dtype)
    _close(getattr(ba, name)(alpha, np.asfortranarray(A), x, uplo=uplo),
           _scipy(name, dtype)(k, alpha, A, x, lower=uplo == "L"), dtype)  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("uplo", ["U", "L"])
@pytest.mark.parametrize("active", [False, True])
def test_sbmv_hbmv_adjoint(dtype, uplo, active, rng):
    name = "hbmv" if np.dtype(dtype).kind == "c" else "sbmv"
    f = getattr(ba, name)
    n, k = 5, 2
    At = _rand(rng, (n + 1, k + 3), dtype)  # the storage is At[1:, 1:k+2].T: column-major, ld k+3
    xb, yb = _rand(rng, n, dtype), _rand(rng, 2 * n, dtype)
    if active:

        def prog(alpha, beta, At, xb, yb):
            f(alpha, At[1:, 1 : k + 2].T, xb[::-1], beta, yb[::2], uplo=uplo)

        check = ba.gradcheck(prog, _s(0.7 - 0.2j, dtype), _s(1.1, dtype), At, xb, yb)
    else:

        def prog(At, xb, yb):
            f(0.7, At[1:, 1 : k + 2].T, xb[::-1], 1.1, yb[::2], uplo=uplo)

        check = ba.gradcheck(prog, At, xb, yb)
    assert check.ok, check
    args = [At, xb, yb] if not active else [_s(0.7 - 0.2j, dtype), _s(1.1, dtype), At, xb, yb]
    At_bar = _adjoint(rng, prog, args, len(args) - 3)
    assert np.all(At_bar[0] == 0) and np.all(At_bar[:, 0] == 0) and np.all(At_bar[:, k + 2 :] == 0)
    # storage outside the band (the unreferenced corner) gets nothing
    S_bar = At_bar[1:, 1 : k + 2].T
    if uplo == "U":  # A[k + i - j, j] with i < 0
        corner = [(r, j) for j in range(k) for r in range(k - j)]
    else:  # A[i - j, j] with i > n - 1
        corner = [(r, j) for j in range(n - k, n) for r in range(n - j, k + 1)]
    assert corner
    for r, c in corner:
        assert S_bar[r, c] == 0


# ---- gbmv -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans", ["N", "T", "C"])
# (m, n, kl, ku); SciPy's wrapper wants m >= kl+ku+1
@pytest.mark.parametrize("shape", [(5, 4, 1, 2), (3, 6, 2, 0), (6, 3, 0, 1), (8, 5, 3, 3)])
def test_gbmv_forward(dtype, trans, shape, rng):
    m, n, kl, ku = shape
    A = _rand(rng, (kl + ku + 1, n), dtype)
    nx, ny = (n, m) if trans == "N" else (m, n)
    layout = ("C", "step", "rev", "rev2")[rng.integers(4)]
    x = _vview(_vec_base(rng, nx, dtype, layout), layout)
    y = _vview(_vec_base(rng, ny, dtype, layout), layout)
    y0 = y.copy()
    alpha = 0.9 + 0.2j if np.dtype(dtype).kind == "c" else 0.9
    code = {"N": 0, "T": 1, "C": 2}[trans]
    ref = _scipy("gbmv", dtype)(m, n, kl, ku, alpha, A, x, beta=-0.4, y=y0.copy(), trans=code)
    assert ba.gbmv(alpha, A, x, -0.4, y, trans, kl=kl, ku=ku) is y
    _close(y, ref, dtype)
    _close(y, L.GBMV.reference(alpha, A, x, -0.4, y0, trans, m, kl, ku), dtype)
    out = ba.gbmv(alpha, np.asfortranarray(A), x, trans=trans, kl=kl, ku=ku, m=m)
    _close(out, _scipy("gbmv", dtype)(m, n, kl, ku, alpha, A, x, trans=code), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("trans", ["N", "T", "C"])
@pytest.mark.parametrize("active", [False, True])
def test_gbmv_adjoint(dtype, trans, active, rng):
    m, n, kl, ku = 5, 4, 1, 2
    nx, ny = (n, m) if trans == "N" else (m, n)
    A = _rand(rng, (kl + ku + 1, n), dtype)
    xb, yb = _rand(rng, 2 * nx, dtype), _rand(rng, ny, dtype)
    if active:

        def prog(alpha, beta, A, xb, yb):
            ba.gbmv(alpha, A, xb[::-2], beta, yb, trans, kl=kl, ku=ku, m=m)

        check = ba.gradcheck(prog, _s(0.7 - 0.2j, dtype), _s(0.4, dtype), A, xb, yb)
    else:

        def prog(A, xb, yb):
            ba.gbmv(0.7, A, xb[::-2], 0.4, yb, trans, kl=kl, ku=ku, m=m)

        check = ba.gradcheck(prog, A, xb, yb)
    assert check.ok, check
    args = [A, xb, yb] if not active else [_s(0.7 - 0.2j, dtype), _s(0.4, dtype), A, xb, yb]
    A_bar = _adjoint(rng, prog, args, len(args) - 3)
    assert A_bar[0, 0] == 0 and A_bar[0, 1] == 0 and A_bar[1, 0] == 0  # above row 0: not stored


# ---- programs: copy-on-write across calls ---------------------------------------------------


def test_tpsv_then_overwrite_solution(rng):
    """tpsv's adjoint reads the solution; a later call that overwrites x must not corrupt it."""
    n = 4
    AP = _packed_tri(rng, n, np.float64, "U", True)

    def prog(AP, x, z):
        ba.tpsv(AP, x)
        ba.tpmv(AP, x)  # x back to its old value, overwritten in place
        ba.spr(0.5, x, z[: n * (n + 1) // 2])
        ba.scal(2.0, x)

    check = ba.gradcheck(prog, AP, _rand(rng, n, np.float64), _rand(rng, n * (n + 1) // 2, np.float64))
    assert check.ok, check


def test_spr2_chain_complex(rng):
    n = 3
    npk = n * (n + 1) // 2

    def prog(AP, x, y, alpha):
        ba.hpr2(alpha, x, y, AP, uplo="L")
        ba.hpmv(1.0, AP, x, 0.5, y, uplo="L")  # y overwritten after hpr2 read it
        ba.hpr(1.5, y, AP, uplo="L")

    check = ba.gradcheck(prog, _rand(rng, npk, np.complex128), _rand(rng, n, np.complex128),
                         _rand(rng, n, np.complex128), np.array(0.3 + 0.4j))  # fmt: skip
    assert check.ok, check


def test_spec_table():
    names = {s.name for s in L.ROUTINES}
    assert names <= set(ba.__all__)
    for s in L.ROUTINES:
        assert s.formula and s.adjoint and s.saves
