"""rotg and rotmg: BLAS's constructions of plane rotations, on 0-d arrays, differentiable.

tests/test_routines.py checks both from their specs at random points inside Spec.domain (away
from the boundaries between their branches). This file checks every branch at points chosen to
reach it:

  1. forward == SciPy's ?rotg / ?rotmg (c and s; param) and == spec.reference (all written
     arguments), in every precision; the rotation does what it promises ([c s; −s̄ c] [a; b] =
     [r; 0], H (√d1 x1, √d2 y1) = (√d1' x1', 0)); a and b (d1, d2, x1) are written in place and
     returned, complex b is kept.
  2. adjoints == central differences with steps relative to each input (rotmg's inputs span
     many orders of magnitude: its rescalings by 4096² included), and the exact adjoints at the
     points where BLAS picks a branch by an equality (a = 0, b = 0, d2 = 0, ...).
  3. validation: a written argument that is a number, or of another dtype, or shares memory with
     another, raises naming it, and nothing is written.
  4. rotg feeding rot on a tape: a Givens step, differentiated end to end.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.linalg.blas as sblas

import blasad as ba
from blasad.specs import SPECS

F32, F64, C64, C128 = (np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))
TOL = {F32: 2e-6, F64: 1e-14, C64: 2e-6, C128: 1e-14}
PREFIX = {F32: "s", F64: "d", C64: "c", C128: "z"}


def real_of(dtype: np.dtype) -> np.dtype:
    return np.dtype(dtype.char.lower()) if dtype.kind == "c" else dtype


def close(got: Any, want: Any, dtype: np.dtype, what: str, scale: float = 1.0) -> None:
    got, want = np.asarray(got), np.asarray(want)
    tol = TOL[np.dtype(dtype)] * 10 * max(scale, float(np.abs(want).max(initial=0.0)), 1e-300)
    assert np.all(np.abs(got.astype(complex) - want.astype(complex)) <= tol), f"{what}: {got} != {want}"


# -- rotg: forward ------------------------------------------------------------------------------

REAL_AB = [
    (3.0, 4.0), (4.0, 3.0), (-3.0, 4.0), (3.0, -4.0), (-4.0, -3.0), (1.5, -1.5), (1.5, 1.5),
    (0.0, 2.0), (0.0, -2.0), (2.0, 0.0), (-2.0, 0.0), (0.0, 0.0), (1e-20, 3e-20), (5e18, -1e18),
]  # fmt: skip
COMPLEX_AB = [
    (1 + 1j, 2 - 1j), (-3 + 0j, 4j), (0.5j, -2 + 0.25j), (0j, 2 - 1j), (0j, -3 + 0j), (0j, 2j),
    (1 + 1j, 0j), (0j, 0j), (1e-20 - 2e-20j, 3e-20j), (2e30j, -1e30 + 1e29j), (1e-25 + 1e-25j, 1.0 - 1j),
    (1e-170 - 2e-170j, 3j), (1e-30, 1e-20j),
]  # fmt: skip


def openblas_zrotg_is_exact(a: complex, b: complex, dt: np.dtype) -> bool:
    """Where OpenBLAS's crotg/zrotg (SciPy's, and blasad's before it works around them) give the
    rotation: a or b zero, or both of moderate size and |a| not below √min |b| (see
    csrc/level1.inc: elsewhere their scaled branches return a wrong s)."""
    info = np.finfo(real_of(dt))
    f, g = max(abs(a.real), abs(a.imag)), max(abs(b.real), abs(b.imag))
    rtmin, rtmax = 2 * np.sqrt(info.tiny / info.eps), np.sqrt(info.max / 4) / 2
    return f == 0 or g == 0 or (rtmin < f < rtmax and rtmin < g < rtmax and f > 4 * np.sqrt(info.tiny) * g)


def _rotg_cases():
    for dt in (F32, F64):
        for a, b in REAL_AB:
            yield pytest.param(dt, a, b, id=f"{dt.name}-{a:g},{b:g}")
    for dt in (C64, C128):
        for a, b in COMPLEX_AB:
            yield pytest.param(dt, a, b, id=f"{dt.name}-{a},{b}")


@pytest.mark.parametrize(("dt", "a0", "b0"), list(_rotg_cases()))
def test_rotg_forward(dt: np.dtype, a0: Any, b0: Any) -> None:
    a, b = np.array(a0, dt), np.array(b0, dt)
    c, s = np.array(np.nan, real_of(dt)), np.array(np.nan, dt)  # written, never read
    ref = SPECS["rotg"].reference(a.copy(), b.copy(), c, s)
    res = ba.rotg(a, b, c, s)
    assert len(res) == 4 and all(
        isinstance(x, ba.Scalar) and x.buffer is y for x, y in zip(res, (a, b, c, s))
    )
    assert (a.dtype, b.dtype, c.dtype, s.dtype) == (dt, dt, real_of(dt), dt)
    for name, got, want in zip("abcs", (a, b, c, s), ref):
        close(got, want, dt, f"{name} vs spec.reference")
    if dt.kind == "f" or openblas_zrotg_is_exact(complex(a0), complex(b0), dt):
        sc, ss = getattr(sblas, PREFIX[dt] + "rotg")(a0, b0)  # SciPy: c and s only
        close(c, np.real(sc), dt, "c vs SciPy")  # (SciPy's complex c: BLAS sets its real part only)
        close(s, ss, dt, "s vs SciPy")
    if dt.kind == "c":
        assert b[()] == np.array(b0, dt)[()], "complex rotg keeps b"
    else:  # b ← z, from which BLAS's rotm user rebuilds c and s
        z = b[()]
        if abs(z) < 1:
            close(z, s, dt, "z = s")
        elif z != 1:
            close(1 / z, c, dt, "z = 1/c")
        else:
            assert c == 0
    # the rotation: [c s; −conj(s) c] [a; b] = [r; 0], c² + |s|² = 1
    r, a1, b1 = a[()], np.array(a0, dt)[()], np.array(b0, dt)[()]
    scale = float(max(abs(a1), abs(b1)))
    close(c * a1 + s * b1, r, dt, "c a + s b = r", scale)
    close(-np.conj(s) * a1 + c * b1, 0, dt, "−conj(s) a + c b = 0", scale)
    close(c * c + abs(s) ** 2, 1, dt, "c² + |s|² = 1")


def test_rotg_allocates_c_and_s() -> None:
    for dt in (F32, F64, C64, C128):
        a, b = np.array(3, dt), np.array(4, dt)
        _, _, c, s = ba.rotg(a, b)
        assert c.shape == s.shape == () and (c.dtype, s.dtype) == (real_of(dt), dt)
        close(c, 0.6, dt, "c")
        close(s, 0.8, dt, "s")


# -- rotg: adjoints -----------------------------------------------------------------------------


def _rotg_program(a, b, c, s):
    ba.rotg(a, b, c, s)


@pytest.mark.parametrize(("dt", "a0", "b0"), [p for p in _rotg_cases() if p.values[0] in (F64, C128)])
def test_rotg_gradcheck_where_differentiable(dt: np.dtype, a0: Any, b0: Any) -> None:
    """Every point with a ≠ 0 and, for real a, b, |a| ≠ |b| (b = 0 included: rotg is smooth
    there) against central differences with a step relative to |a| + |b|."""
    if a0 == 0 or (dt.kind == "f" and abs(a0) == abs(b0)) or (b0 != 0 and abs(a0) < 1e-3 * abs(b0)):
        return  # (|a| ≪ |b|: ā ~ r̄ ρ/|a|, and a step of |b|'s size turns a around)
    scale = abs(a0) + abs(b0)
    args = [
        np.array(a0, dt),
        np.array(b0, dt),
        np.array(0.25),
        np.array(0.5 - 0.25j if dt.kind == "c" else 0.5),
    ]
    g = ba.gradcheck(_rotg_program, *args, eps=1e-6 * scale)
    assert g.ok, (g.max_abs_error, g.dot_adjoint, g.dot_numeric)


def _rotg_adjoints(a0, b0, dt, seeds):
    """(ā, b̄, c̄, s̄) after rotg from seeds (r̄, z̄ or b̄, c̄, s̄) on its four outputs."""
    prim = [np.array(a0, dt), np.array(b0, dt), np.zeros((), real_of(dt)), np.zeros((), dt)]
    shadows = [np.array(v, p.dtype) for v, p in zip(seeds, prim)]
    ba.autodiff(_rotg_program, *(ba.Duplicated(p, s) for p, s in zip(prim, shadows)))
    return [s[()] for s in shadows], prim


def test_rotg_adjoint_at_real_a_zero() -> None:
    """a = 0: r = b, c = 0, s = 1, z = 1. r, c and s are smooth in a there (dr = db, dc = da/b,
    ds = 0); z = 1/c jumps to ±∞ beside it, so BLAS's z = 1 is taken as a constant."""
    (a_bar, b_bar, c_bar, s_bar), prim = _rotg_adjoints(0.0, -2.0, F64, (0.3, 0.7, 0.11, -0.4))
    assert [p[()] for p in prim] == [-2.0, 1.0, 0.0, 1.0]
    assert a_bar == pytest.approx(0.11 / -2.0, rel=1e-15)  # c̄/b
    assert b_bar == pytest.approx(0.3, rel=1e-15)  # r̄ (z̄ = 0.7 reaches nothing)
    assert c_bar == 0 and s_bar == 0


def test_rotg_adjoint_at_a_and_b_zero() -> None:
    """a = b = 0: no derivative; the branch b = 0 (r = a, c = 1, s = 0, real z = 0) gives ā = r̄
    and nothing else; complex b keeps its own seed."""
    (a_bar, b_bar, c_bar, s_bar), _ = _rotg_adjoints(0.0, 0.0, F64, (0.3, 0.7, 0.11, -0.4))
    assert (a_bar, b_bar, c_bar, s_bar) == (0.3, 0.0, 0.0, 0.0)
    (a_bar, b_bar, c_bar, s_bar), _ = _rotg_adjoints(0j, 0j, C128, (0.3 - 1j, 0.7j, 0.11, -0.4))
    assert (a_bar, b_bar, c_bar, s_bar) == (0.3 - 1j, 0.7j, 0.0, 0.0)


def test_rotg_adjoint_at_complex_a_zero() -> None:
    """a = 0 (complex): r = |b| and s = conj(b)/|b| are smooth in b, but r's phase follows a's
    direction, so a gets no adjoint; b's is checked against central differences with a fixed."""
    b0 = 1.5 - 2j
    g = ba.gradcheck(_rotg_program, ba.Const(np.array(0j)), np.array(b0), np.array(0.3), np.array(0.2j))
    assert g.ok, (g.max_abs_error, g.dot_adjoint, g.dot_numeric)
    (a_bar, _, c_bar, s_bar), prim = _rotg_adjoints(0j, b0, C128, (0.3 - 1j, 0.7j, 0.11, -0.4))
    assert prim[0][()] == abs(b0) and prim[2][()] == 0
    assert (a_bar, c_bar, s_bar) == (0, 0, 0)


# -- rotmg --------------------------------------------------------------------------------------

GAM2 = 4096.0**2
# (d1, d2, x1, y1): each of OpenBLAS's branches, and its rescalings by GAM² = 2²⁴
ROTMG_POINTS = {
    "keep-d2": (1.5, 0.0, 0.7, 2.0),  # d2 = 0: flag −2
    "keep-y1": (1.5, 0.3, 0.7, 0.0),  # y1 = 0: flag −2
    "zero-d1": (-1.0, 2.0, 0.5, 3.0),  # d1 < 0: flag −1, all zero
    "zero-q2": (0.2, -3.0, 0.5, 3.0),  # |d1 x1²| <= |d2 y1²|, d2 < 0: flag −1, all zero
    "swap-d1": (0.0, 2.0, 0.5, 3.0),  # d1 = 0, d2 > 0: flag 1, H = [0 1; −1 0]
    "swap-x1": (1.5, 2.0, 0.0, 3.0),  # x1 = 0, d2 > 0
    "h0": (1.0, 2.0, 3.0, 0.5),  # |d1 x1²| > |d2 y1²|: flag 0
    "h0-neg": (1.0, -2.0, -3.0, 0.5),
    "h1": (1.0, 2.0, 0.5, 3.0),  # otherwise: flag 1
    "d1-up": (3e-9, 1.0, 1e5, 0.5),  # h0, then d1 ← d1 GAM² (new d1 = d1/u tiny): flag −1
    "d2-up": (1.0, 3e-9, 0.5, 3.0),  # h0, new d2 = d2/u tiny
    "d1-down": (3e8, 1.0, 3.0, 0.5),  # h0, new d1 = d1/u huge
    "d2-down": (1.0, -5e7, 3.0, 1e-4),  # h0, new d2 = d2/u huge (and negative)
    "h1-d2-up": (2e-9, 1.0, 0.5, 3.0),  # h1, new d2 = d1/u tiny
    "h1-d1-down": (1.0, 4e8, 0.5, 3.0),  # h1, new d1 = d2/u huge
    "twice": (1e-20, 1.0, 0.5, 3.0),  # h1, new d2 rescaled twice
}


def _rotmg(point, dt, param=None):
    d1, d2, x1 = (np.array(v, dt) for v in point[:3])
    p = np.arange(10.0, 15.0).astype(dt) if param is None else param
    return ba.rotmg(d1, d2, x1, dt.type(point[3]), p)


@pytest.mark.parametrize("dt", [F32, F64], ids=lambda d: d.name)
@pytest.mark.parametrize("name", ROTMG_POINTS)
def test_rotmg_forward(name: str, dt: np.dtype) -> None:
    point = ROTMG_POINTS[name]
    old = np.arange(10.0, 15.0).astype(dt)
    d1, d2, x1, param = _rotmg(point, dt)
    ref = SPECS["rotmg"].reference(*(np.array(v, dt) for v in point[:3]), dt.type(point[3]), old)
    for what, got, want in zip(("d1", "d2", "x1", "param"), (d1, d2, x1, param), ref):
        close(got, want, dt, f"{what} vs spec.reference")
    flag = param[0]
    sp = getattr(sblas, PREFIX[dt] + "rotmg")(*point)  # SciPy: param only, 0 where not written
    written = {-2: [0], -1: [0, 1, 2, 3, 4], 0: [0, 2, 3], 1: [0, 1, 4]}[int(flag)]
    close(param[written], sp[written], dt, "param vs SciPy")
    kept = [i for i in range(5) if i not in written]
    assert param[kept].tobytes() == old[kept].tobytes(), "entries the flag does not use are kept"
    if name.startswith(("d1", "d2", "h1-", "twice")):
        assert flag == -1 and all(1 / GAM2 <= abs(v) <= GAM2 for v in (d1, d2)), "rescaled"
    # H (x1, y1) = (x1', ·) and √d2' times its second entry is 0: H zeros the second entry of
    # (√d1 x1, √d2 y1), keeping d1 x1² + d2 y1² = d1' x1'²
    h11, h21, h12, h22 = _h(param)
    if flag != -2 and not name.startswith("zero"):
        x, y = dt.type(point[2]), dt.type(point[3])
        close(h11 * x + h12 * y, x1, dt, "x1' = h11 x1 + h12 y1", scale=abs(h11 * x) + abs(h12 * y))
        second = d2 * (h21 * x + h22 * y) ** 2
        close(second, 0, dt, "d2' (h21 x1 + h22 y1)² = 0", scale=abs(d2) * (abs(h21 * x) + abs(h22 * y)) ** 2)
        q = point[0] * x * x + point[1] * y * y
        close(
            d1 * x1 * x1,
            q,
            dt,
            "d1' x1'² = d1 x1² + d2 y1²",
            scale=abs(point[0] * x * x) + abs(point[1] * y * y),
        )


def _h(param):
    flag, h11, h21, h12, h22 = param
    if flag == 0:
        return 1.0, h21, h12, 1.0
    if flag == 1:
        return h11, -1.0, 1.0, h22
    return (1.0, 0.0, 0.0, 1.0) if flag == -2 else (h11, h21, h12, h22)


def _steps(point):
    """The central differences' steps: 1e-6 of each input."""
    return 1e-6 * np.array([abs(v) or 1.0 for v in point])


def _rotmg_jacobian_fd(point, param):
    """∂(d1, d2, x1, param)/∂(d1, d2, x1, y1) by central differences, each step 1e-6 of |input|."""
    base = np.array(point, float)
    cols = []
    for j, h in enumerate(_steps(point)):
        outs = []
        for sign in (1, -1):
            v = base.copy()
            v[j] += sign * h
            d1, d2, x1, p = _rotmg(v, F64, param.copy())
            outs.append(np.concatenate([[d1, d2, x1], p]))
        cols.append((outs[0] - outs[1]) / (2 * h))
    return np.array(cols).T  # 8 x 4


@pytest.mark.parametrize("name", [n for n in ROTMG_POINTS if not n.startswith(("keep", "swap"))])
def test_rotmg_adjoint_vs_central_differences(name: str) -> None:
    """Inside each branch (steps relative to each input stay in it): d̄1, d̄2, x̄1, ȳ1 = Jᵀ seed
    for the outputs d1, d2, x1 and the param entries the flag writes."""
    rng = np.random.default_rng(len(name))
    point = ROTMG_POINTS[name]
    param = rng.standard_normal(5)
    J = _rotmg_jacobian_fd(point, param)
    seed = rng.standard_normal(8)
    prim = [np.array(v) for v in point] + [param.copy()]
    shadows = [np.array(seed[0]), np.array(seed[1]), np.array(seed[2]), np.array(0.0), seed[3:].copy()]
    ba.autodiff(ba.rotmg, *(ba.Duplicated(p, s) for p, s in zip(prim, shadows)))
    written = {-2: [], -1: [1, 2, 3, 4], 0: [2, 3], 1: [1, 4]}[int(prim[4][0])]
    rows = [0, 1, 2] + [3 + i for i in written]
    want = J[rows].T @ seed[rows]
    got = np.array([shadows[k][()] for k in range(4)])
    # the differences' rounding: 1 ulp of each output over the step, and truncation: 1e-6
    out = np.concatenate([[prim[0], prim[1], prim[2]], prim[4]])
    rounding = 4 * np.finfo(float).eps * float(np.abs(seed[rows]) @ np.abs(out[rows])) / _steps(point)
    assert np.all(np.abs(got - want) <= 1e-6 * np.abs(want) + rounding), (got, want)
    assert shadows[4][0] == 0 and all(shadows[4][i] == 0 for i in written), "written entries consumed"
    kept = [i for i in range(1, 5) if i not in written]
    assert np.array_equal(shadows[4][kept], seed[3:][kept]), "entries rotmg leaves keep their adjoints"


@pytest.mark.parametrize("name", [n for n in ROTMG_POINTS if n.startswith(("keep", "swap"))])
def test_rotmg_adjoint_at_its_equality_branches(name: str) -> None:
    """d2 = 0 or y1 = 0: H = I and nothing else changes (seeds pass through, the flag's is
    consumed); d1 = 0 or x1 = 0: d1 ↔ d2 and x1 ← y1 (the seeds swap; y1 gets x1's)."""
    point = ROTMG_POINTS[name]
    seed = np.array([0.5, -1.5, 2.5, 0.25, 1.0, 2.0, 3.0, 4.0, 5.0])  # d1 d2 x1 y1, param
    prim = [np.array(v) for v in point] + [np.full(5, 7.0)]
    shadows = [np.array(v) for v in seed[:4]] + [seed[4:].copy()]
    ba.autodiff(ba.rotmg, *(ba.Duplicated(p, s) for p, s in zip(prim, shadows)))
    got = [s[()] for s in shadows[:4]]
    if name.startswith("keep"):
        assert got == [0.5, -1.5, 2.5, 0.25] and shadows[4].tolist() == [0, 2, 3, 4, 5]
    else:  # flag 1: h11 = h22 = 0 written
        assert got == [-1.5, 0.5, 0.0, 0.25 + 2.5] and shadows[4].tolist() == [0, 0, 3, 4, 0]


def test_rotmg_param_layouts_and_allocation() -> None:
    """param may be any vector of 5 (strided, reversed) or None (zeros, as SciPy's)."""
    point = ROTMG_POINTS["d1-up"]
    want = _rotmg(point, F64)[3]
    for view in (lambda b: b[::2], lambda b: b[::-2], lambda b: b[1::2][::-1]):
        base = np.arange(20.0, 30.0)
        p = view(base)
        before = base.copy()
        _rotmg(point, F64, p)
        assert np.array_equal(p, want)
        untouched = np.ones(10, bool)
        view(untouched)[...] = False
        assert np.array_equal(base[untouched], before[untouched])
    d1, d2, x1 = (np.array(v) for v in point[:3])
    _, _, _, p = ba.rotmg(d1, d2, x1, point[3])
    assert np.array_equal(p, want) and p.dtype == F64


# -- validation ---------------------------------------------------------------------------------


def _bad_calls():
    f64 = lambda v: np.array(v)  # noqa: E731
    yield (
        "rotg a number",
        lambda: ba.rotg(3.0, f64(4.0)),
        TypeError,
        r"rotg: a must be a 0-d float64 array \(it is written\)",
    )
    yield "rotg b number", lambda: ba.rotg(f64(3.0), 4), TypeError, r"rotg: b must be a 0-d float64 array"
    yield "rotg numbers", lambda: ba.rotg(3.0, 4.0), TypeError, r"rotg: a must be a 0-d array of float32"
    yield (
        "rotg int arrays",
        lambda: ba.rotg(np.array(3), np.array(4)),
        TypeError,
        "rotg: a must be a 0-d array",
    )
    yield (
        "rotg mixed",
        lambda: ba.rotg(f64(3.0), np.array(4.0, np.float32)),
        TypeError,
        "rotg: b is a 0-d array of dtype float32",
    )
    yield (
        "rotg complex c",
        lambda: ba.rotg(np.array(1j), np.array(2j), np.array(0j)),
        TypeError,
        "rotg: c is a 0-d array of dtype complex128; expected float64",
    )
    yield (
        "rotg 1-D a",
        lambda: ba.rotg(np.array([3.0]), f64(4.0)),
        ValueError,
        r"rotg: a must be a 0-d array \(it is written\), got a 1-D array",
    )
    yield (
        "rotg aliased",
        lambda: (lambda x: ba.rotg(x, x))(f64(3.0)),
        ValueError,
        "rotg: output a shares elements with output b",
    )
    yield (
        "rotmg complex",
        lambda: ba.rotmg(np.array(1j), np.array(1j), np.array(1j), 1.0),
        TypeError,
        r"rotmg: real dtypes only \(float32, float64\), got complex128",
    )
    yield (
        "rotmg d2 number",
        lambda: ba.rotmg(f64(1.0), 2.0, f64(1.0), 1.0),
        TypeError,
        r"rotmg: d2 must be a 0-d float64 array \(it is written\)",
    )
    yield (
        "rotmg y1 complex",
        lambda: ba.rotmg(f64(1.0), f64(2.0), f64(1.0), 1j),
        TypeError,
        "rotmg: y1 must be a real number",
    )
    yield (
        "rotmg param length",
        lambda: ba.rotmg(f64(1.0), f64(2.0), f64(1.0), 1.0, np.zeros(4)),
        ValueError,
        "rotmg: param has shape",
    )
    yield (
        "rotmg param dtype",
        lambda: ba.rotmg(f64(1.0), f64(2.0), f64(1.0), 1.0, np.zeros(5, np.float32)),
        TypeError,
        "rotmg: .*float32",
    )
    yield (
        "rotmg param in d1",
        lambda: (lambda p: ba.rotmg(p[0, ...], f64(2.0), f64(1.0), 1.0, p))(np.ones(5)),
        ValueError,
        "rotmg: output d1 shares elements with output param",
    )
    ro = np.array(1.0)
    ro.flags.writeable = False
    yield (
        "rotmg read-only",
        lambda: ba.rotmg(f64(1.0), f64(2.0), ro, 1.0),
        ValueError,
        "rotmg: x1 is read-only",
    )


@pytest.mark.parametrize(
    ("what", "call", "error", "match"), list(_bad_calls()), ids=[c[0] for c in _bad_calls()]
)
def test_invalid_calls_raise(what, call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


def test_nothing_is_written_before_validation_passes() -> None:
    a, b, c = np.array(3.0), np.array(4.0), np.array(9.0)
    with pytest.raises(TypeError):
        ba.rotg(a, b, c, np.array(1.0, np.float32))
    assert (a[()], b[()], c[()]) == (3.0, 4.0, 9.0)
    d1, d2, x1, p = np.array(1.0), np.array(2.0), np.array(3.0), np.full(6, 5.0)
    with pytest.raises(ValueError):
        ba.rotmg(d1, d2, x1, 0.5, p)
    assert (d1[()], d2[()], x1[()]) == (1.0, 2.0, 3.0) and (p == 5).all()


# -- on a tape: a Givens step -------------------------------------------------------------------


def test_givens_step_on_a_tape() -> None:
    """rotg on the leading entries of two rows, then rot of the rows with its c, s (what a QR
    by Givens rotations does): the gradient reaches the rows through both calls."""

    def step(x, y, a, b, c, s):
        ba.copy(x[:1], a.reshape(1))
        ba.copy(y[:1], b.reshape(1))
        ba.rotg(a, b, c, s)
        ba.rot(x, y, c, s)

    rng = np.random.default_rng(3)
    x, y = rng.standard_normal(4), rng.standard_normal(4)
    zeros = [np.zeros(()) for _ in range(4)]
    g = ba.gradcheck(step, x, y, *zeros)
    assert g.ok, (g.max_abs_error, g.dot_adjoint, g.dot_numeric)
    with ba.Tape() as tape:
        tape.watch(x, y)
        a, b, c, s = (np.zeros(()) for _ in range(4))
        step(x, y, a, b, c, s)
    assert abs(y[0]) < 1e-15, "rot with rotg's c, s zeros y's leading entry"
    tape.backward([a, x], [np.ones(()), np.zeros(4)])  # d r / d (x, y) = (x0, y0) / r
    np.testing.assert_allclose(tape.grad(x)[0], c, rtol=1e-14)
    np.testing.assert_allclose(tape.grad(y)[0], s, rtol=1e-14)
