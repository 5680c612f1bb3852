"""Level 1 routines: scal, copy, swap, dot, dotu, dotc, nrm2, asum, iamax, rot, rotm.

tests/test_routines.py checks every routine from its spec, but a routine without flags meets only
a few layout schemes per dtype there; this file sweeps them. Every routine is checked over
float32, float64, complex64 and complex128 (those BLAS defines it for) and over vector layouts
(contiguous, strided, reversed, reversed and strided, an offset slice, and a zero-stride
broadcast for inputs), all as views of C-contiguous base arrays:

  1. forward == SciPy's BLAS (s/d/c/z) == spec.reference; inputs bit-identical; only the
     written elements of the bases change; out= is written and returned, None allocates one of
     the right dtype (the real dtype for nrm2 and asum).
  2. adjoints == central differences and the dot-product test (ba.gradcheck, float64 and
     complex128), with every scalar argument active too (α, c, s, out); rotm's are left to
     tests/test_routines.py, whose gradcheck cases meet its four flags and all of these layouts.
  3. float32 adjoints == float64 adjoints, complex64 == complex128.
  4. the contract, exactly: copy clears ȳ, swap swaps the shadows, a reduction's out shadow is
     consumed (exactly 0 afterwards), nrm2 at 0 and asum's sign(0) give 0, rot's adjoint is the
     transposed rotation, rotm's flag gets no adjoint; saved inputs survive later overwrites.
  5. validation: wrong lengths, dtypes, shapes and aliasing raise before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import scipy.linalg.blas as sblas
from numpy.testing import assert_array_equal

import blasad as ba
from blasad.specs import level1

F32, F64, C64, C128 = (np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))
ALL = (F32, F64, C64, C128)
REAL = (F32, F64)
CPLX = (C64, C128)
TOL = {F32: 2e-5, F64: 1e-13, C64: 2e-5, C128: 1e-13}
PREFIX = {F32: "s", F64: "d", C64: "c", C128: "z"}
WIDE = {F32: F64, F64: F64, C64: C128, C128: C128}


def real_of(dtype: np.dtype) -> np.dtype:
    return np.dtype(dtype.char.lower()) if dtype.kind == "c" else dtype


def rand(rng: np.random.Generator, shape: Any, dtype: np.dtype) -> np.ndarray:
    x = rng.standard_normal(shape)
    if dtype.kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return np.array(x, dtype)


# -- vector layouts: (base length for n, view of the base) -------------------------------------------

LAYOUTS: dict[str, tuple[Callable[[int], int], Callable[[np.ndarray, int], np.ndarray]]] = {
    "contig": (lambda n: n, lambda b, n: b),
    "step": (lambda n: 2 * n, lambda b, n: b[::2]),
    "rev": (lambda n: n, lambda b, n: b[::-1]),
    "revstep": (lambda n: 3 * n, lambda b, n: b[::-3]),
    "offset": (lambda n: n + 3, lambda b, n: b[1 : n + 1]),
    "bcast": (lambda n: 1, lambda b, n: np.broadcast_to(b, (n,))),  # inputs only (read-only)
}
OUT_LAYOUTS = ("contig", "step", "rev", "revstep", "offset")
LAYOUT_PAIRS = [
    ("contig", "contig"),
    ("step", "rev"),
    ("rev", "revstep"),
    ("offset", "step"),
    ("revstep", "rev"),
]
IN_PAIRS = [*LAYOUT_PAIRS, ("bcast", "contig"), ("rev", "bcast")]

# routine -> its arguments: vectors "in", "out", "inout"; scalars "scalar" (α, of the dtype),
# "real" (c, s), "res" / "rres" (a 0-d out of the dtype / of the real dtype), "param" (rotm)
ARGS: dict[str, tuple[tuple[str, str], ...]] = {
    "scal": (("alpha", "scalar"), ("x", "inout")),
    "copy": (("x", "in"), ("y", "out")),
    "swap": (("x", "inout"), ("y", "inout")),
    "dot": (("x", "in"), ("y", "in"), ("out", "res")),
    "dotu": (("x", "in"), ("y", "in"), ("out", "res")),
    "dotc": (("x", "in"), ("y", "in"), ("out", "res")),
    "nrm2": (("x", "in"), ("out", "rres")),
    "asum": (("x", "in"), ("out", "rres")),
    "rot": (("x", "inout"), ("y", "inout"), ("c", "real"), ("s", "real")),
    "rotm": (("x", "inout"), ("y", "inout"), ("param", "param")),
}
DTYPES = {"dot": REAL, "rotm": REAL, "rotmg": REAL, "dotu": CPLX, "dotc": CPLX}  # as BLAS: Spec.dtypes
ROUTINES = tuple(ARGS)


def dtypes_of(name: str) -> tuple[np.dtype, ...]:
    return DTYPES.get(name, ALL)


@dataclass
class Case:
    """One call: the bases of the array arguments (what a program differentiates) and, for
    each argument, how it is made from its base (a view) or the constant it is."""

    name: str
    dtype: np.dtype
    n: int
    layouts: dict[str, str]
    makers: list[Callable[[Any], Any]]
    bases: list[np.ndarray | None]  # None: a constant argument (a Python number)
    flag: float = -1.0  # rotm's param[0]

    @property
    def arrays(self) -> list[np.ndarray]:
        return [b for b in self.bases if b is not None]

    def args(self, arrays: list[np.ndarray] | None = None) -> list[Any]:
        it = iter(self.arrays if arrays is None else arrays)
        return [m(next(it)) if b is not None else m(None) for m, b in zip(self.makers, self.bases)]

    def call(self, *arrays: np.ndarray) -> Any:
        return getattr(ba, self.name)(*self.args(list(arrays)))

    def __str__(self) -> str:
        return f"{self.name} {self.dtype.name} n={self.n} layouts={self.layouts} flag={self.flag}"


def make_case(
    name: str,
    dtype: np.dtype,
    n: int,
    layouts: tuple[str, ...],
    rng: np.random.Generator,
    active_scalars: bool = True,
    flag: float = -1.0,
) -> Case:
    """layouts: one per vector argument, in order. Scalars are 0-d arrays when active_scalars,
    else Python numbers; rotm's param is a 5-vector (a 0-d-free buffer) with the given flag."""
    makers: list[Callable[[Any], Any]] = []
    bases: list[np.ndarray | None] = []
    used: dict[str, str] = {}
    lay = iter(layouts)
    rdt = real_of(dtype)
    for arg, kind in ARGS[name]:
        if kind in ("in", "out", "inout"):
            lname = next(lay)
            size, view = LAYOUTS[lname]
            used[arg] = lname
            bases.append(rand(rng, size(n), dtype))
            makers.append(lambda b, view=view, n=n: view(b, n))
        elif kind == "param":
            h = rng.uniform(0.5, 1.5, 4) * rng.choice([-1.0, 1.0], 4)
            bases.append(np.array([flag, *h], dtype))
            makers.append(lambda b: b)
        elif kind in ("res", "rres"):
            bases.append(np.array(17.0, dtype if kind == "res" else rdt))  # overwritten, never read
            makers.append(lambda b: b)
        else:
            if kind == "real":
                v = rng.uniform(0.3, 1.2) * rng.choice([-1.0, 1.0])
                d = rdt
            else:
                v = rng.uniform(0.5, 1.5) * rng.choice([-1.0, 1.0])
                if dtype.kind == "c":
                    v = v * np.exp(1j * rng.uniform(0.2, 1.4))
                d = dtype
            if active_scalars:
                bases.append(np.array(v, d))
                makers.append(lambda b: b)
            else:
                bases.append(None)
                makers.append(lambda _, v=v: v)
    return Case(name, np.dtype(dtype), n, used, makers, bases, flag)


def cast(case: Case, dtype: np.dtype) -> Case:
    """The same call with every array in another precision (real arrays stay real)."""
    bases = [
        None if b is None else b.astype(dtype if b.dtype == case.dtype else real_of(dtype))
        for b in case.bases
    ]
    return Case(case.name, np.dtype(dtype), case.n, case.layouts, case.makers, bases, case.flag)


# -- the SciPy oracle ---------------------------------------------------------------------------------


def scipy_forward(name: str, dtype: np.dtype, args: list[Any]) -> tuple[np.ndarray, ...]:
    """New values of the written arguments, by SciPy's BLAS on contiguous copies."""
    p = PREFIX[dtype]
    c = [np.array(a) if isinstance(a, np.ndarray) and a.ndim else a for a in args]
    num = (lambda v: complex(v)) if dtype.kind == "c" else (lambda v: float(v))
    if name == "scal":
        return (getattr(sblas, p + "scal")(num(args[0]), c[1]) if len(c[1]) else c[1],)
    if name == "copy":
        return (getattr(sblas, p + "copy")(c[0], c[1]) if len(c[0]) else c[1],)
    if name == "swap":
        return tuple(getattr(sblas, p + "swap")(c[0], c[1])) if len(c[0]) else (c[0], c[1])
    if name in ("dot", "dotu", "dotc"):
        fn = "dot" if dtype.kind == "f" else name
        r = getattr(sblas, p + fn)(c[0], c[1]) if len(c[0]) else 0.0
        return (np.array(r, dtype),)
    if name in ("nrm2", "asum"):
        fn = {"c": "sc", "z": "dz"}.get(p, p) + name
        return (np.array(getattr(sblas, fn)(c[0]) if len(c[0]) else 0.0, real_of(dtype)),)
    if name == "rot":
        fn = {"c": "cs", "z": "zd"}.get(p, p) + "rot"
        return (
            tuple(getattr(sblas, fn)(c[0], c[1], float(args[2]), float(args[3])))
            if len(c[0])
            else (c[0], c[1])
        )
    if name == "rotm":
        return tuple(getattr(sblas, p + "rotm")(c[0], c[1], np.array(args[2]))) if len(c[0]) else (c[0], c[1])
    raise AssertionError(name)


def written(name: str) -> list[int]:
    return [i for i, (_, k) in enumerate(ARGS[name]) if k in ("out", "inout", "res", "rres")]


def assert_close(res: np.ndarray, ref: np.ndarray, scale: float, tol: float, what: str) -> None:
    res, ref = np.asarray(res), np.asarray(ref)
    assert res.shape == ref.shape, f"{what}: shape {res.shape} != {ref.shape}"
    err = np.abs(res.astype(np.complex128) - ref.astype(np.complex128))
    assert np.all(err <= tol * max(scale, 1.0)), f"{what}: max error {err.max() if err.size else 0}"


# -- 1. forward -------------------------------------------------------------------------------------


def _layout_sets(name: str) -> list[tuple[str, ...]]:
    kinds = [k for _, k in ARGS[name] if k in ("in", "out", "inout")]
    if len(kinds) == 1:
        return [(a,) for a in (LAYOUTS if kinds[0] == "in" else OUT_LAYOUTS)]
    pairs = IN_PAIRS if kinds == ["in", "in"] else LAYOUT_PAIRS
    if kinds == ["in", "out"]:
        pairs = [*LAYOUT_PAIRS, ("bcast", "step")]
    return list(pairs)


FWD = [
    pytest.param(name, dt, flag, id=f"{name}-{dt.name}" + (f"-flag{flag:g}" if name == "rotm" else ""))
    for name in ROUTINES
    for dt in dtypes_of(name)
    for flag in ((-1.0, 0.0, 1.0, -2.0) if name == "rotm" else (-1.0,))
]


@pytest.mark.parametrize(("name", "dt", "flag"), FWD)
def test_forward(name: str, dt: np.dtype, flag: float, rng: np.random.Generator) -> None:
    spec = next(s for s in level1.ROUTINES if s.name == name)
    outs = written(name)
    for n in (0, 1, 5):
        for layouts in _layout_sets(name):
            for active in (True, False):
                case = make_case(name, dt, n, layouts, rng, active_scalars=active, flag=flag)
                before = [None if b is None else b.copy() for b in case.bases]
                args = case.args()
                expected = scipy_forward(name, dt, args)
                reference = spec.reference(*[np.array(a) if isinstance(a, np.ndarray) else a for a in args])
                reference = reference if isinstance(reference, tuple) else (reference,)
                scale = float(sum(np.abs(np.asarray(a)).sum() for a in args if isinstance(a, np.ndarray)))
                mask = [None if b is None else np.ones(b.shape, bool) for b in case.bases]
                for i in outs:  # the elements each written argument covers
                    view = case.makers[i](mask[i])
                    view[...] = False
                res = getattr(ba, name)(*args)
                for j, i in enumerate(outs):
                    got = args[i]
                    assert got.dtype == (real_of(dt) if ARGS[name][i][1] == "rres" else dt), case
                    assert_close(got, expected[j], scale, TOL[dt], f"{case}: {ARGS[name][i][0]} vs scipy")
                    assert_close(
                        got, reference[j], scale, TOL[dt], f"{case}: {ARGS[name][i][0]} vs reference"
                    )
                for i, (b, b0) in enumerate(zip(case.bases, before)):
                    if b is None:
                        continue
                    keep = mask[i] if i in outs else np.ones(b.shape, bool)
                    assert b[keep].tobytes() == b0[keep].tobytes(), f"{case}: argument {i} changed outside"
                if name in ("dot", "dotu", "dotc", "nrm2", "asum"):
                    assert isinstance(res, ba.Scalar) and res.buffer is args[-1], "out= is returned"
                elif name in ("swap", "rot", "rotm"):
                    assert res[0] is args[0] and res[1] is args[1]
                else:
                    assert res is args[outs[0]]


@pytest.mark.parametrize("name", ["dot", "dotu", "dotc", "nrm2", "asum"])
@pytest.mark.parametrize("dt", ALL, ids=lambda d: d.name)
def test_reductions_allocate_a_0d_output(name: str, dt: np.dtype, rng: np.random.Generator) -> None:
    if dt not in dtypes_of(name):
        return
    x, y = rand(rng, 4, dt), rand(rng, 4, dt)
    r = getattr(ba, name)(x, y) if name.startswith("dot") else getattr(ba, name)(x)
    assert isinstance(r, ba.Scalar) and r.shape == () and r.buffer.shape == ()
    assert r.dtype == (real_of(dt) if name in ("nrm2", "asum") else dt)
    expected = {
        "dot": np.sum(x * y),
        "dotu": np.sum(x * y),
        "dotc": np.vdot(x, y),
        "nrm2": np.linalg.norm(x),
        "asum": np.abs(x.real).sum() + np.abs(x.imag).sum(),
    }[name]
    assert_close(r, expected, float(np.abs(x).sum() * (1 + np.abs(y).sum())), TOL[dt], name)


def test_specs_declare_the_blas_precisions() -> None:
    for s in level1.ROUTINES:
        assert s.dtypes == "".join(PREFIX[d] for d in dtypes_of(s.name)), s.name


def test_asum_is_blas_asum_not_the_modulus_sum() -> None:
    x = np.array([3 + 4j, -1 - 2j])
    assert ba.asum(x) == 10.0
    assert float(ba.nrm2(x)) == pytest.approx(np.sqrt(30.0), rel=1e-15)


# -- iamax ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", ALL, ids=lambda d: d.name)
def test_iamax_matches_scipy(dt: np.dtype, rng: np.random.Generator) -> None:
    fn = getattr(sblas, "i" + PREFIX[dt] + "amax")
    for n in (1, 2, 7):
        for lname, (size, view) in LAYOUTS.items():
            x = view(rand(rng, size(n), dt), n)
            i = ba.iamax(x)
            assert type(i) is int
            assert i == int(fn(np.array(x))), (lname, n, x)


def test_iamax_ties_and_measure() -> None:
    x = np.array([1.0, -3.0, 2.0, 3.0, -3.0])
    assert ba.iamax(x) == 1
    assert ba.iamax(x[::-1]) == 0  # the first maximum in the logical order, also backwards
    assert ba.iamax(x[::-2]) == 0  # (-3, 2, 1)
    assert ba.iamax(np.array([2 + 2j, 0 + 3.5j, -3 + 0j])) == 0  # |Re| + |Im|: 4 > 3.5 > 3
    assert ba.iamax(np.broadcast_to(np.array([5.0]), (4,))) == 0
    assert ba.iamax(np.array([7.0])) == 0


def test_iamax_is_not_recorded() -> None:
    x = np.array([1.0, -4.0, 2.0])
    with ba.Tape() as tape:
        tape.watch(x)
        assert ba.iamax(x) == 1
    assert tape.ncalls == 0


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (np.zeros(0), ValueError, "iamax: x is empty"),
        (np.zeros((2, 2)), ValueError, "iamax: x must be 1-D"),
        ([1.0, 2.0], TypeError, "iamax: x must be a NumPy array"),
        (np.arange(3), TypeError, "iamax: x has dtype int64"),
    ],
)
def test_iamax_validation(value: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        ba.iamax(value)


# -- 2. adjoints against finite differences ------------------------------------------------------------

# rotm is left out: test_routines' gradcheck cases meet its four flags and every layout here
# (contiguous, strided, reversed, reversed and strided, offset), with param assembled the same way.
GRAD = [
    pytest.param(name, dt, id=f"{name}-{dt.name}")
    for name in ROUTINES
    if name != "rotm"
    for dt in (F64, C128)
    if dt in dtypes_of(name)
]


@pytest.mark.parametrize(("name", "dt"), GRAD)
def test_adjoints_match_finite_differences(name: str, dt: np.dtype, rng: np.random.Generator) -> None:
    for n in (0, 1, 4):
        for layouts in _layout_sets(name):
            for active in (True, False):
                case = make_case(name, dt, n, layouts, rng, active_scalars=active)
                res = ba.gradcheck(case.call, *case.arrays, seed=int(rng.integers(1 << 30)))
                assert res.ok, (
                    f"{case}: max error {res.max_abs_error}, dot test {res.dot_adjoint} vs {res.dot_numeric}"
                )


def test_programs_with_reductions_feeding_later_calls(rng: np.random.Generator) -> None:
    """out is a buffer: overwritten twice, read in between as an active α; x and y are
    overwritten after dot read them (copy-on-write keeps the values the adjoints need)."""

    def prog(x: np.ndarray, y: np.ndarray, z: np.ndarray, r: np.ndarray, c: np.ndarray) -> None:
        ba.dot(x, y, r)  # r = ⟨x, y⟩
        ba.axpy(r, x, z)  # z += r x
        ba.nrm2(z, r)  # r = ‖z‖ (overwrites r)
        ba.scal(r, y)  # y *= r: overwrites y, which dot's x̄ needs
        ba.rot(x, z, c, 0.3)  # overwrites x, which dot's ȳ and axpy's ᾱ need
        ba.asum(x[::2], r)
        ba.swap(y, z)
        ba.copy(y[::-1], x)

    args = [rand(rng, 5, F64) for _ in range(3)] + [np.array(0.0), np.array(0.8)]
    res = ba.gradcheck(prog, *args)
    assert res.ok, res.max_abs_error

    def cprog(x: np.ndarray, y: np.ndarray, r: np.ndarray, s: np.ndarray) -> None:
        ba.dotc(x, y, r)
        ba.scal(r, y)
        ba.dotu(y, x, r)
        ba.rot(x, y, 0.6, s)
        ba.nrm2(y, s)  # s is read by rot above, overwritten here
        ba.rot(x, y, s, 0.5)

    cargs = [rand(rng, 4, C128), rand(rng, 4, C128), np.array(0j), np.array(0.4)]
    res = ba.gradcheck(cprog, *cargs)
    assert res.ok, res.max_abs_error


# -- 3. single precision adjoints == double precision adjoints ----------------------------------------


def _adjoints(case: Case, arrays: list[np.ndarray], seeds: list[np.ndarray]) -> list[np.ndarray]:
    run = [a.copy() for a in arrays]
    shadows = [s.copy() for s in seeds]
    ba.autodiff(case.call, *(ba.Duplicated(a, s) for a, s in zip(run, shadows)))
    return shadows


LOW = [
    pytest.param(name, dt, id=f"{name}-{dt.name}")
    for name in ROUTINES
    for dt in (F32, C64)
    if dt in dtypes_of(name)
]


@pytest.mark.parametrize(("name", "dt"), LOW)
def test_single_precision_adjoints_match_double(name: str, dt: np.dtype, rng: np.random.Generator) -> None:
    for layouts in _layout_sets(name)[:4]:
        case = make_case(name, dt, 6, layouts, rng)
        seeds = [rand(rng, a.shape, a.dtype) for a in case.arrays]
        low = _adjoints(case, case.arrays, seeds)
        wide = cast(case, WIDE[dt])
        high = _adjoints(wide, wide.arrays, [s.astype(a.dtype) for s, a in zip(seeds, wide.arrays)])
        scale = 1.0 + sum(float(np.abs(a).sum()) for a in case.arrays) ** 2
        for lo, hi in zip(low, high):
            assert lo.dtype in (dt, real_of(dt))
            assert_close(lo, hi, scale, 2e-5, f"{case}: single vs double adjoint")


# -- 4. the contract, exactly ------------------------------------------------------------------------------


def ints(rng: np.random.Generator, shape: Any, dtype: np.dtype = F64) -> np.ndarray:
    """Small integers (complex: both parts): every product and sum below is exact."""
    x = rng.integers(-3, 4, size=shape).astype(np.float64)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.integers(-3, 4, size=shape)
    return np.array(x, dtype)


@pytest.mark.parametrize("dt", ALL, ids=lambda d: d.name)
def test_copy_moves_the_adjoint_to_x_and_clears_y(dt: np.dtype, rng: np.random.Generator) -> None:
    x, y = ints(rng, 5, dt), np.full(5, np.nan, dt)  # y's old value is not read
    dx0, dy0 = ints(rng, 5, dt), ints(rng, 5, dt)
    dx, dy = dx0.copy(), dy0.copy()
    ba.autodiff(ba.copy, ba.Duplicated(x, dx), ba.Duplicated(y, dy))
    assert_array_equal(y, x)
    assert_array_equal(dx, dx0 + dy0)
    assert dy.tobytes() == np.zeros(5, dt).tobytes()  # exactly +0


def test_copy_from_a_constant_still_clears_the_shadow(rng: np.random.Generator) -> None:
    x, y = ints(rng, 4), ints(rng, 4)
    with ba.Tape() as tape:
        tape.watch(y)
        ba.copy(x, y)  # x constant: y no longer depends on its old value
    tape.backward(y, np.full(4, np.nan))
    assert tape.grad(y).tobytes() == np.zeros(4).tobytes()


@pytest.mark.parametrize("dt", ALL, ids=lambda d: d.name)
def test_swap_swaps_the_shadows(dt: np.dtype, rng: np.random.Generator) -> None:
    x, y = ints(rng, 5, dt), ints(rng, 5, dt)
    x0, y0 = x.copy(), y.copy()
    dx0, dy0 = ints(rng, 5, dt), np.full(5, np.nan, dt)
    dx, dy = dx0.copy(), dy0.copy()
    ba.autodiff(lambda a, b: ba.swap(a[::-1], b[::-1]), ba.Duplicated(x, dx), ba.Duplicated(y, dy))
    assert_array_equal(x, y0)
    assert_array_equal(y, x0)
    assert dx.tobytes() == dy0.tobytes() and dy.tobytes() == dx0.tobytes()


def test_swap_with_one_active_side() -> None:
    x, y = np.arange(3.0), np.arange(3.0, 6.0)
    with ba.Tape() as tape:
        tape.watch(x)  # y is a constant, but it receives x's (active) value
        ba.swap(x, y)
    tape.backward([x, y], [np.ones(3), np.full(3, 2.0)])
    assert_array_equal(tape.grad(x), np.full(3, 2.0))  # x_old went to y


@pytest.mark.parametrize("name", ["dot", "dotu", "dotc", "nrm2", "asum"])
@pytest.mark.parametrize("dt", ALL, ids=lambda d: d.name)
def test_reduction_output_shadow_is_consumed(name: str, dt: np.dtype, rng: np.random.Generator) -> None:
    if dt not in dtypes_of(name):
        return
    rdt = dt if name.startswith("dot") else real_of(dt)
    x, y = ints(rng, 5, dt), ints(rng, 5, dt)
    call = (lambda a, r: getattr(ba, name)(a, y, r)) if name.startswith("dot") else getattr(ba, name)
    # active x: the seed flows to x̄, then r̄ is exactly 0
    r, dr, dx = np.array(np.nan, rdt), np.array(3.0, rdt), np.zeros(5, dt)
    ba.autodiff(call, ba.Duplicated(x, dx), ba.Duplicated(r, dr))
    assert dr.tobytes() == np.zeros((), rdt).tobytes()
    assert np.any(dx != 0)
    # constant x: r̄ is still consumed, even a NaN
    r, dr = np.array(1.0, rdt), np.array(np.nan, rdt)
    ba.autodiff(call, ba.Const(x), ba.Duplicated(r, dr))
    assert dr.tobytes() == np.zeros((), rdt).tobytes()


@pytest.mark.parametrize("dt", ALL, ids=lambda d: d.name)
def test_dot_adjoints_exact(dt: np.dtype, rng: np.random.Generator) -> None:
    x, y = ints(rng, 6, dt), ints(rng, 6, dt)
    g = ints(rng, (), dt)[()]
    if dt.kind == "c":
        cases = [("dotc", np.conj(g) * y, g * x), ("dotu", g * np.conj(y), g * np.conj(x))]
    else:
        cases = [("dot", g * y, g * x)]
    for name, want_x, want_y in cases:
        dx, dy, r, dr = np.zeros(6, dt), np.zeros(6, dt), np.zeros((), dt), np.array(g, dt)
        ba.autodiff(
            getattr(ba, name), ba.Duplicated(x.copy(), dx), ba.Duplicated(y.copy(), dy), ba.Duplicated(r, dr)
        )
        assert_array_equal(dx, want_x, err_msg=name)
        assert_array_equal(dy, want_y, err_msg=name)


def test_dot_of_a_vector_with_itself() -> None:
    x = np.array([1.0, -2.0, 3.0])
    dx, r, dr = np.zeros(3), np.zeros(()), np.array(2.0)
    ba.autodiff(lambda a, r: ba.dot(a, a, r), ba.Duplicated(x, dx), ba.Duplicated(r, dr))
    assert r[()] == 14.0
    assert_array_equal(dx, 4.0 * x)  # d(x·x) = 2x, times r̄ = 2


@pytest.mark.parametrize("dt", ALL, ids=lambda d: d.name)
def test_nrm2_adjoint_and_its_value_at_zero(dt: np.dtype) -> None:
    rdt = real_of(dt)
    x = np.array([3, 0, -4], dt) * (1j if dt.kind == "c" else 1)
    dx, dr = np.zeros(3, dt), np.array(10.0, rdt)
    ba.autodiff(ba.nrm2, ba.Duplicated(x, dx), ba.Duplicated(np.zeros((), rdt), dr))
    np.testing.assert_allclose(dx, 10.0 * x / 5.0, rtol=TOL[dt])  # x̄ += r̄ x / r
    for n in (0, 3):  # r = 0: the subgradient 0 (x̄ unchanged, no NaN)
        z, dz0 = np.zeros(n, dt), np.arange(n).astype(dt)
        dz = dz0.copy()
        ba.autodiff(ba.nrm2, ba.Duplicated(z, dz), ba.Duplicated(np.zeros((), rdt), np.array(1.0, rdt)))
        assert dz.tobytes() == dz0.tobytes()


@pytest.mark.parametrize("dt", ALL, ids=lambda d: d.name)
def test_asum_adjoint_uses_signs_with_sign_zero_zero(dt: np.dtype, rng: np.random.Generator) -> None:
    rdt = real_of(dt)
    x = ints(rng, 9, dt)
    x[:2] = 0
    dr = np.array(2.0, rdt)
    base = np.zeros(18, dt)
    base[::-2] = x  # a reversed strided view
    dbase = np.zeros(18, dt)
    ba.autodiff(
        lambda b, r: ba.asum(b[::-2], r), ba.Duplicated(base, dbase), ba.Duplicated(np.zeros((), rdt), dr)
    )
    dx = dbase[::-2]
    want = 2.0 * (np.sign(x.real) + (1j * np.sign(x.imag) if dt.kind == "c" else 0))
    assert_array_equal(dx, want)
    assert_array_equal(dbase[-2::-2], np.zeros(9, dt))


def test_asum_adjoint_propagates_nan() -> None:
    x, dx = np.array([1.0, np.nan, -2.0]), np.zeros(3)
    ba.autodiff(ba.asum, ba.Duplicated(x, dx), ba.Duplicated(np.zeros(()), np.array(1.0)))
    assert dx[0] == 1.0 and np.isnan(dx[1]) and dx[2] == -1.0


@pytest.mark.parametrize("dt", ALL, ids=lambda d: d.name)
def test_rot_adjoint_is_the_transposed_rotation(dt: np.dtype, rng: np.random.Generator) -> None:
    rdt = real_of(dt)
    x, y = ints(rng, 5, dt), ints(rng, 5, dt)
    c, s = np.array(2.0, rdt), np.array(-1.0, rdt)  # exact arithmetic (not a rotation: fine)
    dx0, dy0 = ints(rng, 5, dt), ints(rng, 5, dt)
    dx, dy, dc, ds = dx0.copy(), dy0.copy(), np.zeros((), rdt), np.zeros((), rdt)
    xo, yo = x.copy(), y.copy()
    ba.autodiff(
        ba.rot, ba.Duplicated(x, dx), ba.Duplicated(y, dy), ba.Duplicated(c, dc), ba.Duplicated(s, ds)
    )
    assert_array_equal(x, 2 * xo - yo)
    assert_array_equal(y, 2 * yo + xo)
    assert_array_equal(dx, 2 * dx0 + dy0)  # c x̄ − s ȳ
    assert_array_equal(dy, -dx0 + 2 * dy0)  # s x̄ + c ȳ
    assert dc[()] == np.real(np.vdot(xo, dx0) + np.vdot(yo, dy0))
    assert ds[()] == np.real(np.vdot(yo, dx0) - np.vdot(xo, dy0))


def test_rot_identity_with_constant_c_s_is_not_recorded() -> None:
    x, y, s = np.arange(3.0), np.arange(3.0), np.array(0.0)
    with ba.Tape() as tape:
        tape.watch(x, y, s)
        ba.rot(x, y, 1.0, 0.0)
        assert tape.ncalls == 0
        ba.rot(x, y, 1.0, s)  # an active s: recorded
        assert tape.ncalls == 1


@pytest.mark.parametrize("flag", [-1.0, 0.0, 1.0, -2.0])
def test_rotm_param_adjoint_exact(flag: float, rng: np.random.Generator) -> None:
    x, y = ints(rng, 4), ints(rng, 4)
    param = np.array([flag, 2.0, -1.0, 3.0, 1.0])
    h11, h21, h12, h22 = level1._rotm_h(param)
    dx0, dy0 = ints(rng, 4), ints(rng, 4)
    dx, dy, dp = dx0.copy(), dy0.copy(), np.zeros(5)
    xo, yo = x.copy(), y.copy()
    ba.autodiff(ba.rotm, ba.Duplicated(x, dx), ba.Duplicated(y, dy), ba.Duplicated(param, dp))
    assert_array_equal(x, h11 * xo + h12 * yo)
    assert_array_equal(y, h21 * xo + h22 * yo)
    assert_array_equal(dx, h11 * dx0 + h21 * dy0)  # Hᵀ
    assert_array_equal(dy, h12 * dx0 + h22 * dy0)
    free = {-1.0: (1, 2, 3, 4), 0.0: (2, 3), 1.0: (1, 4), -2.0: ()}[flag]
    full = [0.0, xo @ dx0, xo @ dy0, yo @ dx0, yo @ dy0]
    want = np.array([full[i] if i in free else 0.0 for i in range(5)])  # the flag: never
    assert_array_equal(dp, want)


def test_rotm_accepts_a_constant_sequence() -> None:
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    ba.rotm(x, y, [0.0, 9.0, 2.0, -1.0, 9.0])  # flag 0: h11 = h22 = 1
    assert_array_equal(x, [-2.0, -2.0])
    assert_array_equal(y, [5.0, 8.0])


@pytest.mark.parametrize("dt", ALL, ids=lambda d: d.name)
def test_scal_adjoints_exact_and_zero_alpha(dt: np.dtype, rng: np.random.Generator) -> None:
    x, dx0 = ints(rng, 5, dt), ints(rng, 5, dt)
    a = ints(rng, (), dt)
    a[()] = a[()] or 2
    dx, da = dx0.copy(), np.zeros((), dt)
    xo = x.copy()
    ba.autodiff(ba.scal, ba.Duplicated(a, da), ba.Duplicated(x, dx))
    assert_array_equal(x, a * xo)
    assert_array_equal(dx, np.conj(a) * dx0)
    assert da[()] == np.vdot(xo, dx0)
    x, dx = ints(rng, 5, dt), np.full(5, np.nan, dt)  # α = 0: x̄ ← 0 exactly, a NaN too
    ba.autodiff(lambda v: ba.scal(0.0, v[::-1]), ba.Duplicated(x, dx))
    assert dx.tobytes() == np.zeros(5, dt).tobytes()


def test_saved_inputs_survive_later_overwrites(rng: np.random.Generator) -> None:
    x, y = ints(rng, 6), ints(rng, 6)
    xo, yo = x.copy(), y.copy()
    with ba.Tape() as tape:
        tape.watch(x, y)
        r = ba.dot(x, y)
        s = ba.nrm2(y)
        t = ba.asum(x)
        ba.scal(0.0, x)  # overwrites what the three adjoints read
        ba.copy(x, y)
    assert tape.bytes_copied > 0
    tape.backward([r, s, t], [np.array(1.0), np.array(2.0), np.array(3.0)])
    assert_array_equal(tape.grad(x), yo + 3.0 * np.sign(xo))
    np_s = np.linalg.norm(yo)
    np.testing.assert_allclose(tape.grad(y), xo + 2.0 * yo / np_s, rtol=1e-15)


def test_reduction_overwritten_in_a_loop_contributes_once(rng: np.random.Generator) -> None:
    x = ints(rng, 5)
    r, dr, dx = np.zeros(()), np.array(1.0), np.zeros(5)

    def loop(x: np.ndarray, r: np.ndarray) -> None:
        for _ in range(10):
            ba.asum(x, r)

    ba.autodiff(loop, ba.Duplicated(x, dx), ba.Duplicated(r, dr))
    assert_array_equal(dx, np.sign(x))
    assert dr[()] == 0.0


# -- 5. validation -------------------------------------------------------------------------------------


def _x(n: int = 3, dt: Any = np.float64) -> np.ndarray:
    return np.arange(1, n + 1).astype(dt)


BAD: list[tuple[str, Callable[[], Any], type, str]] = [
    ("copy lengths", lambda: ba.copy(_x(3), _x(4)), ValueError, r"copy: y has shape \(4,\), so n = 4"),
    ("swap lengths", lambda: ba.swap(_x(3), _x(2)), ValueError, "swap: y has shape"),
    ("dot lengths", lambda: ba.dot(_x(3), _x(4)), ValueError, "dot: y has shape"),
    ("rot lengths", lambda: ba.rot(_x(3), _x(4), 0.6, 0.8), ValueError, "rot: y has shape"),
    (
        "dot complex",
        lambda: ba.dot(_x(3, complex), _x(3, complex)),
        TypeError,
        "dot: real dtypes only .* use dotu",
    ),
    ("dotc mixed", lambda: ba.dotc(_x(3, complex), _x(3)), TypeError, "dotc: mixed dtypes"),
    (
        "dotc real",
        lambda: ba.dotc(_x(3), _x(3)),
        TypeError,
        r"dotc: complex dtypes only \(complex64, complex128\), got float64 arrays",
    ),
    (
        "dotu real",
        lambda: ba.dotu(_x(3, np.float32), _x(3, np.float32)),
        TypeError,
        r"dotu: complex dtypes only \(complex64, complex128\), got float32 arrays",
    ),
    (
        "rotm complex",
        lambda: ba.rotm(_x(3, complex), _x(3, complex), [-1, 1, 0, 0, 1]),
        TypeError,
        "rotm: real dtypes only",
    ),
    (
        "rotm param shape",
        lambda: ba.rotm(_x(3), _x(3), [-1, 1, 0, 0]),
        ValueError,
        r"rotm: param has shape \(4,\), but its dim p5 must be 5",
    ),
    (
        "rotm flag",
        lambda: ba.rotm(_x(3), _x(3), [0.5, 1, 0, 0, 1]),
        ValueError,
        "rotm: param\\[0\\] .* got 0.5",
    ),
    (
        "rotm param dtype",
        lambda: ba.rotm(_x(3), _x(3), np.zeros(5, np.float32) - 1),
        TypeError,
        "rotm: mixed dtypes",
    ),
    (
        "nrm2 out dtype",
        lambda: ba.nrm2(_x(3, complex), np.zeros((), complex)),
        TypeError,
        "nrm2: out is a 0-d array of dtype complex128; expected float64",
    ),
    (
        "asum out shape",
        lambda: ba.asum(_x(3), np.zeros(1)),
        ValueError,
        r"asum: out must be a 0-d array \(it is written\), got a 1-D array",
    ),
    ("dot out number", lambda: ba.dot(_x(3), _x(3), 0.0), TypeError, "dot: out must be a 0-d float64 array"),
    (
        "dotu out dtype",
        lambda: ba.dotu(_x(3, complex), _x(3, complex), np.zeros(())),
        TypeError,
        "dotu: out is a 0-d array of dtype float64; expected complex128",
    ),
    (
        "rot s 0-d complex",
        lambda: ba.rot(_x(3, complex), _x(3, complex), 0.6, np.array(0.8 + 0j)),
        TypeError,
        "rot: s is a 0-d array of dtype complex128; expected float64",
    ),
    ("scal 2-D", lambda: ba.scal(2.0, np.zeros((2, 2))), ValueError, "scal: x must be 1-D"),
    ("copy list", lambda: ba.copy([1.0], _x(1)), TypeError, "copy: x must be a NumPy array"),
]


@pytest.mark.parametrize(("what", "call", "error", "match"), BAD, ids=[b[0] for b in BAD])
def test_invalid_calls_raise(what: str, call: Callable[[], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_aliasing_and_read_only_outputs_are_rejected_before_writing() -> None:
    base = np.arange(8.0)
    before = base.copy()
    with pytest.raises(ValueError, match="copy: output y shares elements with input x"):
        ba.copy(base[:4], base[2:6])
    with pytest.raises(ValueError, match="swap: output x shares elements with output y"):
        ba.swap(base[:4], base[::-2])
    with pytest.raises(ValueError, match="dot: output out shares elements with input x"):
        ba.dot(base[:3], base[4:7], base[1:2].reshape(()))
    ro = np.zeros(())
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="nrm2: out is read-only"):
        ba.nrm2(base[:3], ro)
    with pytest.raises(ValueError, match="rot: x is read-only"):
        ba.rot(np.broadcast_to(base[:1], (3,)), base[:3], 0.6, 0.8)
    assert base.tobytes() == before.tobytes()
    # disjoint interleaved halves of one array are fine
    ba.swap(base[::2], base[1::2])
    assert_array_equal(base, [1, 0, 3, 2, 5, 4, 7, 6])


def test_specs_document_every_routine() -> None:
    names = [s.name for s in level1.ROUTINES]
    assert names == [
        "axpy", "scal", "copy", "swap", "dot", "dotu", "dotc", "nrm2", "asum", "rot", "rotm", "rotg", "rotmg"
    ]  # fmt: skip
    for s in level1.ROUTINES:
        assert s.adjoint and s.saves and s.formula
        fn = getattr(ba, s.name)
        assert fn.__doc__ and fn.__doc__.strip()
    assert set(names) | {"iamax"} <= set(ba.__all__)
