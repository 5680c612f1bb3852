"""One harness for every routine in ``ba.SPECS`` (in the spirit of JAX's LAX_GRAD_OPS).

All arguments are generated from the spec's declaration: symbolic dims get small random sizes
(1 and 0 included), every array argument gets a memory layout (C, F, ld > rows, row-major with
ld > cols, negative strides, doubly strided, zero-stride broadcast inputs), flags take every value
in ``choices`` (N, T and C = conjugate transpose) and scalars are 0, 1, -0.7, 0.7-0.3j (complex
dtypes) or a 0-d array (active under AD; complex-valued for complex dtypes). A new spec is covered
with no new test code; only the SciPy oracle needs one entry in ORACLES.

Dtypes: float32, float64, complex64, complex128. A complex x's adjoint is x̄ = ∂L/∂Re x + i ∂L/∂Im x
for L = Re Σ ⟨seed, x_final⟩ (so y = M x gives x̄ += Mᴴ ȳ, and C̄ ← conj(β) C̄).

Checked for every routine:
  1. forward == spec.reference == SciPy's BLAS (s/d/c/z); inputs bit-identical; only the output's
     elements of its base array change; an output the reference does not read (β = 0) may hold NaN.
  2. float64 and complex128 adjoints == central differences (ba.gradcheck), and the dot-product test.
  3. the output's shadow after the sweep is exactly conj(c) × seed, c = ∂out_new/∂out_old (β; 1 for
     axpy): exactly 0 when c = 0, even for a NaN seed; a NaN in an unread output reaches nothing.
  4. float32 adjoints == float64 adjoints, complex64 adjoints == complex128 adjoints.

Array arguments are built as views of C-contiguous base arrays, and the differentiated programs
take the bases and make the views themselves: gradcheck runs the program on copies of its
arguments, so this is what keeps the layouts under test.
"""

import inspect
import itertools
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pytest
from scipy.linalg import blas as scipy_blas

import blasad as ba

SPECS = ba.SPECS
ARRAY_KINDS = ("vector", "matrix")
DTYPES = {"f32": np.float32, "f64": np.float64, "c64": np.complex64, "c128": np.complex128}
PRECISION = {"f32": "s", "f64": "d", "c64": "c", "c128": "z"}  # BLAS's prefix letters


def _has(spec, *dts):
    """Does the routine exist in these precisions (Spec.dtypes, e.g. "sdcz")?"""
    return all(PRECISION[dt] in spec.dtypes for dt in dts)


FWD_TOL = {
    np.dtype(np.float32): 1e-5,
    np.dtype(np.float64): 1e-12,
    np.dtype(np.complex64): 1e-5,
    np.dtype(np.complex128): 1e-12,
}
CPLX = 0.7 - 0.3j  # the constant complex scalar
DYADIC_CPLX = 0.75 - 0.5j  # one whose products with small dyadic numbers are exact

# Layouts that every argument may take; "bcast" (zero strides, read-only) is for inputs only.
LAYOUTS = ("C", "F", "ld", "rowld", "rev0", "rev1", "revboth", "step")
SCHEMES = (*LAYOUTS, "bcast", "mixed")  # a scheme assigns a layout to each array argument


def _matrix_layout(name, r, c):
    """(shape of a C-contiguous base, base -> r x c view) for a layout name."""
    return {
        "C": ((r, c), lambda b: b),  # row-major, contiguous
        "F": ((c, r), lambda b: b.T),  # column-major: a transposed view
        "ld": ((c + 1, r + 3), lambda b: b[1:, 1 : 1 + r].T),  # column-major, ld = r + 3
        "rowld": ((r + 2, c + 3), lambda b: b[1 : 1 + r, 2 : 2 + c]),  # row-major, ld = c + 3
        "rev0": ((r, c), lambda b: b[::-1]),  # X[::-1]
        "rev1": ((c, r), lambda b: b.T[:, ::-1]),  # F-ordered X[:, ::-1]
        "revboth": ((r, c), lambda b: b[::-1, ::-1]),
        "step": ((2 * r + 1, 2 * c + 1), lambda b: b[1::2, 1::2]),  # no unit stride
        "bcast": ((1, c), lambda b: np.broadcast_to(b, (r, c))),  # row stride 0
    }[name]


def _vector_layout(name, n):
    """(shape of a C-contiguous base, base -> length-n view) for a layout name."""
    return {
        "C": ((n,), lambda b: b),
        "F": ((n, 1), lambda b: b[:, 0]),
        "ld": ((n, 3), lambda b: b[:, 1]),  # a column of a matrix: inc 3
        "rowld": ((n + 2,), lambda b: b[1 : 1 + n]),  # offset slice
        "rev0": ((n,), lambda b: b[::-1]),  # inc -1
        "rev1": ((2 * n,), lambda b: b[::-2]),  # inc -2
        "revboth": ((n, 3), lambda b: b[::-1, 2]),  # inc -3
        "step": ((2 * n + 1,), lambda b: b[1::2]),  # inc 2
        "bcast": ((1,), lambda b: np.broadcast_to(b, (n,))),  # inc 0
    }[name]


def _identity(b):
    return b


def _random(rng, shape, dtype):
    """Standard normal values; complex dtypes get independent real and imaginary parts."""
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return np.array(x, dtype)  # an ndarray also for shape ()


def _nan(dtype):
    """NaN in every part of an element of dtype."""
    return complex(np.nan, np.nan) if np.dtype(dtype).kind == "c" else np.nan


def _scalar(tag, dtype, rng):
    """A scalar argument: a Python number (constant) or a 0-d array (a buffer, active under AD)."""
    if tag == "arr":  # a random magnitude in [0.5, 1.5]; complex dtypes: a random phase too
        v = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5)
        if np.dtype(dtype).kind == "c":
            v = v * np.exp(1j * rng.uniform(0.2, 1.4))
        return np.array(v, dtype)
    if tag == "arr0":
        return np.array(0.0, dtype)
    return {"0": 0.0, "1": 1, "2": 2.0, "-0.7": -0.7, "0.7-0.3j": CPLX, "0.75-0.5j": DYADIC_CPLX}[tag]


def _symbols(spec):
    return list(dict.fromkeys(s for a in spec.args for s in a.dims))


def _pick_layout(scheme, is_out, rng):
    if scheme == "mixed":
        return str(rng.choice(LAYOUTS if is_out else (*LAYOUTS, "bcast")))
    if scheme == "bcast":
        return "F" if is_out else "bcast"
    return scheme


@dataclass
class Case:
    """One generated call: constant scalars, and the bases and views of everything else."""

    spec: Any
    dtype: Any
    dims: dict
    flags: dict
    layouts: dict
    numbers: dict  # constant scalars (Python numbers)
    bases: dict  # C-contiguous base of each array argument; 0-d arrays for array scalars
    views: dict = field(repr=False)  # base -> the argument

    @property
    def out(self):
        return self.spec.output.name

    @property
    def out_index(self):
        return next(i for i, a in enumerate(self.spec.args) if a.out)

    def args(self, bases=None):
        """The routine's arguments in signature order, as views of `bases`."""
        bases = self.bases if bases is None else bases
        vals = []
        for a in self.spec.args:
            if a.kind == "flag":
                vals.append(self.flags[a.name])
            elif a.name in self.numbers:
                vals.append(self.numbers[a.name])
            else:
                vals.append(self.views[a.name](bases[a.name]))
        return vals

    def call(self, bases=None):
        return getattr(ba, self.spec.name)(*self.args(bases))

    def program(self, names):
        """f(*bases in the order of names): the routine on the views of those bases."""

        def f(*values):
            return self.call(dict(zip(names, values)))

        return f

    def astype(self, dtype):
        bases = {n: b.astype(dtype) for n, b in self.bases.items()}
        return replace(self, dtype=np.dtype(dtype), bases=bases)

    def __str__(self):
        scalars = {**self.numbers, **{n: b.item() for n, b in self.bases.items() if b.ndim == 0}}
        return (
            f"{self.spec.name} {np.dtype(self.dtype).name} dims={self.dims} flags={self.flags} "
            f"layouts={self.layouts} scalars={scalars}"
        )


def make_case(spec, dtype, dims, flags, scalars, scheme, rng):
    numbers, bases, views, layouts = {}, {}, {}, {}
    for a in spec.args:
        if a.kind == "scalar":
            v = _scalar(scalars[a.name], dtype, rng)
            if isinstance(v, np.ndarray):
                bases[a.name], views[a.name] = v, _identity
            else:
                numbers[a.name] = v
        elif a.kind in ARRAY_KINDS:
            shape = tuple(dims[s] for s in a.dims)  # of op(X)
            if a.trans and flags[a.trans] != "N":
                shape = shape[::-1]
            layouts[a.name] = _pick_layout(scheme, a.out, rng)
            make = _matrix_layout if a.kind == "matrix" else _vector_layout
            base_shape, views[a.name] = make(layouts[a.name], *shape)
            bases[a.name] = _random(rng, base_shape, dtype)
    return Case(spec, np.dtype(dtype), dict(dims), dict(flags), layouts, numbers, bases, views)


def _combos(spec, scalar_tags):
    """(flags, scalars) for every flag choice × every scalar tag of every scalar argument."""
    flag_args = [a for a in spec.args if a.kind == "flag"]
    scalar_names = [a.name for a in spec.args if a.kind == "scalar"]
    for fl in itertools.product(*(a.choices for a in flag_args)):
        for sc in itertools.product(scalar_tags, repeat=len(scalar_names)):
            yield dict(zip((a.name for a in flag_args), fl)), dict(zip(scalar_names, sc))


def _id(name, flags, scalars=None, *rest):
    parts = [name, "".join(flags.values())] if flags else [name]
    if scalars:
        parts.append(",".join(f"{k}={v}" for k, v in scalars.items()))
    return "-".join([*parts, *rest])


def _copy(v):
    return np.array(v) if isinstance(v, np.ndarray) else v


def _abs(v):
    if isinstance(v, str):  # a flag
        return v
    return np.abs(v) if isinstance(v, np.ndarray) else abs(v)


def _assert_close(res, ref, bound, tol, what, case):
    """|res - ref| <= tol · bound elementwise, bound = the formula on |arguments|."""
    assert res.shape == ref.shape, f"{what}: shape {res.shape} != {ref.shape}; {case}"
    wide = np.complex128 if np.iscomplexobj(res) or np.iscomplexobj(ref) else np.float64
    err = np.abs(res.astype(wide) - ref.astype(wide))
    lim = tol * np.abs(bound).astype(np.float64)
    bad = ~(err <= lim)
    assert not bad.any(), (
        f"{what}: {int(bad.sum())} of {res.size} elements differ (max error {np.nanmax(err, initial=0)}, "
        f"got {res[bad][:4]} expected {ref[bad][:4]}); {case}"
    )


# -- the SciPy oracle -------------------------------------------------------------------------------

_TRANS = {"N": 0, "T": 1, "C": 2}  # SciPy's trans: 2 is the conjugate transpose


def _num(dtype, s):
    """A scalar argument (number or 0-d array) as the Python number SciPy's wrappers take."""
    return complex(s) if np.dtype(dtype).kind == "c" else float(s)


def _scipy_gemm(dtype, alpha, A, B, beta, C, trans_a, trans_b):
    f = scipy_blas.get_blas_funcs("gemm", dtype=dtype)  # s/d/c/z gemm
    beta = _num(dtype, beta)
    c = None if beta == 0 else np.asfortranarray(C)
    return f(
        _num(dtype, alpha), np.asfortranarray(A), np.asfortranarray(B), beta=beta, c=c,
        trans_a=_TRANS[trans_a], trans_b=_TRANS[trans_b], overwrite_c=0,
    )  # fmt: skip


def _scipy_gemv(dtype, alpha, A, x, beta, y, trans):
    f = scipy_blas.get_blas_funcs("gemv", dtype=dtype)
    beta = _num(dtype, beta)
    yy = None if beta == 0 else np.array(y)
    return f(_num(dtype, alpha), np.asfortranarray(A), np.array(x), beta=beta, y=yy, trans=_TRANS[trans])


def _scipy_axpy(dtype, alpha, x, y):
    f = scipy_blas.get_blas_funcs("axpy", dtype=dtype)
    return f(np.array(x), np.array(y), n=x.shape[0], a=_num(dtype, alpha))


ORACLES = {"gemm": _scipy_gemm, "gemv": _scipy_gemv, "axpy": _scipy_axpy}


def test_every_spec_has_a_scipy_oracle():
    assert set(SPECS) <= set(ORACLES), f"add SciPy oracles for {sorted(set(SPECS) - set(ORACLES))}"


def test_routines_accept_exactly_their_spec_dtypes(rng):
    """gemm, gemv and axpy exist in s, d, c and z; a routine is called with each dtype and must
    accept those in Spec.dtypes and reject the others (TypeError naming the dtype, nothing written)."""
    for name in ("gemm", "gemv", "axpy"):
        assert SPECS[name].dtypes == "sdcz", name
    for name, spec in SPECS.items():
        flags = {a.name: a.choices[0] for a in spec.args if a.kind == "flag"}
        scalars = {a.name: "-0.7" for a in spec.args if a.kind == "scalar"}
        for dt in DTYPES:
            case = make_case(spec, DTYPES[dt], dict.fromkeys(_symbols(spec), 2), flags, scalars, "C", rng)
            args = case.args()
            if _has(spec, dt):
                assert getattr(ba, name)(*args).dtype == np.dtype(DTYPES[dt]), (name, dt)
                continue
            before = case.bases[case.out].copy()
            message = f"{name}: {np.dtype(DTYPES[dt]).name} arrays are not supported"
            with pytest.raises(TypeError, match=message):
                getattr(ba, name)(*args)
            assert case.bases[case.out].tobytes() == before.tobytes()


# -- 1. forward ------------------------------------------------------------------------------------


def _dim_sets(spec, rng):
    """Random sizes, all ones, sizes with 1s mixed in, and each symbol 0 in turn."""
    syms = _symbols(spec)
    sets = [
        {s: int(rng.integers(2, 6)) for s in syms},
        dict.fromkeys(syms, 1),
        {s: int(rng.choice([1, 2, 7])) for s in syms},
    ]
    for z in syms:
        d = {s: int(rng.integers(1, 4)) for s in syms}
        d[z] = 0
        sets.append(d)
    return sets


def check_forward(case):
    spec, out, i_out = case.spec, case.out, case.out_index
    args = case.args()

    # Does the formula read the output's old value? If not (β = 0), it may hold NaN.
    probe = [_copy(v) for v in args]
    probe[i_out] = np.full_like(probe[i_out], np.nan)
    with np.errstate(invalid="ignore"):
        unread = not np.isnan(spec.reference(*probe)).any()
    if unread:
        args[i_out][...] = _nan(case.dtype)

    before = {n: b.copy() for n, b in case.bases.items()}
    out_before = np.array(args[i_out])
    ref = spec.reference(*[_copy(v) for v in args])
    bound = spec.reference(*[_abs(v) for v in args])

    res = getattr(ba, spec.name)(*args)

    assert res is args[i_out], f"{spec.name} must return its output argument itself; {case}"
    _assert_close(res, ref, bound, FWD_TOL[case.dtype], "forward vs spec.reference", case)
    for n, b in case.bases.items():
        if n != out:
            assert b.tobytes() == before[n].tobytes(), f"input {n} was modified; {case}"
    after = case.bases[out].copy()
    case.views[out](after)[...] = out_before
    assert after.tobytes() == before[out].tobytes(), f"{out} was written outside its elements; {case}"

    if all(d > 0 for d in case.dims.values()):  # SciPy's wrappers reject some empty arguments
        oracle_args = [_copy(v) for v in args]
        oracle_args[i_out] = out_before
        expected = ORACLES[spec.name](case.dtype, *oracle_args)
        _assert_close(res, expected, bound, FWD_TOL[case.dtype], "forward vs scipy.linalg.blas", case)


# complex: constant complex numbers and integers, complex 0-d arrays (real numbers with complex
# arrays: test_scalar_must_fit_the_array_dtype); complex64 with fewer combinations
FORWARD_SCALARS = {
    "f32": ("0", "1", "-0.7", "arr", "arr0"),
    "f64": ("0", "1", "-0.7", "arr", "arr0"),
    "c64": ("1", "0.7-0.3j", "arr"),
    "c128": ("0", "0.7-0.3j", "arr", "arr0"),
}
FORWARD_PARAMS = [
    pytest.param(name, flags, scalars, dt, id=_id(name, flags, scalars, dt))
    for name, spec in SPECS.items()
    for dt, tags in FORWARD_SCALARS.items()
    if _has(spec, dt)
    for flags, scalars in _combos(spec, tags)
]


@pytest.mark.parametrize(("name", "flags", "scalars", "dt"), FORWARD_PARAMS)
def test_forward(name, flags, scalars, dt, rng):
    """Every layout scheme; dims cycle through random, 1 and 0 sizes."""
    spec = SPECS[name]
    sets = _dim_sets(spec, rng)
    start = int(rng.integers(len(sets)))
    for i, scheme in enumerate(SCHEMES):
        dims = sets[(start + i) % len(sets)]
        check_forward(make_case(spec, DTYPES[dt], dims, flags, scalars, scheme, rng))


@pytest.mark.parametrize("name", SPECS)
def test_forward_allocates_missing_output(name, rng):
    """An output passed as None (where the signature allows it) starts as zeros."""
    spec = SPECS[name]
    if inspect.signature(getattr(ba, name)).parameters[spec.output.name].default is not None:
        return  # the routine has no default output (axpy)
    flags = {a.name: a.choices[-1] for a in spec.args if a.kind == "flag"}
    for dims in _dim_sets(spec, rng):
        for dt in (DTYPES[d] for d in DTYPES if _has(spec, d)):
            tag = "0.7-0.3j" if np.dtype(dt).kind == "c" else "-0.7"
            scalars = {a.name: tag for a in spec.args if a.kind == "scalar"}
            case = make_case(spec, dt, dims, flags, scalars, "mixed", rng)
            args = case.args()
            expected_shape = args[case.out_index].shape
            args[case.out_index] = None
            res = getattr(ba, name)(*args)
            ref_args = [_copy(v) for v in args]
            ref_args[case.out_index] = np.zeros(expected_shape, dt)
            bound = spec.reference(*[_abs(v) for v in ref_args])
            assert res.dtype == np.dtype(dt)
            _assert_close(res, spec.reference(*ref_args), bound, FWD_TOL[np.dtype(dt)], "output=None", case)


# -- dtypes of the arguments must agree ---------------------------------------------------------------

# (dtype of the call, dtype of the one odd argument)
MIXES = [("f64", "c128"), ("f32", "c64"), ("c128", "f64"), ("c64", "f32"), ("c128", "c64"), ("c64", "c128")]


MIX_PARAMS = [
    pytest.param(name, dt, odd, id=f"{name}-{dt}-with-{odd}")
    for name, spec in SPECS.items()
    for dt, odd in MIXES
    if _has(spec, dt, odd)
]


@pytest.mark.parametrize(("name", "dt", "odd"), MIX_PARAMS)
def test_mixed_array_dtypes_are_rejected(name, dt, odd, rng):
    """Complex never mixes with real, nor complex64 with complex128: each array argument in turn."""
    spec = SPECS[name]
    flags = {a.name: a.choices[-1] for a in spec.args if a.kind == "flag"}
    scalars = {a.name: "1" for a in spec.args if a.kind == "scalar"}
    case = make_case(spec, DTYPES[dt], {s: 2 for s in _symbols(spec)}, flags, scalars, "C", rng)
    array_idx = [i for i, a in enumerate(spec.args) if a.kind in ARRAY_KINDS]
    for i in array_idx:
        args = case.args()
        args[i] = _random(rng, args[i].shape, DTYPES[odd])
        before = [np.array(v) for v in args if isinstance(v, np.ndarray)]
        with pytest.raises(TypeError, match=rf"{name}: mixed dtypes: ") as err:
            getattr(ba, name)(*args)
        for dtype in (DTYPES[dt], DTYPES[odd]):  # the message names both dtypes
            assert np.dtype(dtype).name in str(err.value), (str(err.value), case)
        after = [v for v in args if isinstance(v, np.ndarray)]
        assert all(a.tobytes() == b.tobytes() for a, b in zip(after, before)), f"argument {i} written"


def _scalar_cases(dt):
    """(value of one scalar argument, error fragment or None when accepted) for arrays of dtype dt."""
    if np.dtype(dt).kind == "f":
        return [
            (CPLX, "must be a real number"),
            (1 + 0j, "must be a real number"),  # a complex number, even with no imaginary part
            (np.complex128(0.5j), "must be a real number"),
            (np.array(CPLX), "is a 0-d array of dtype complex128"),
            (np.array(1.0, np.complex64), "is a 0-d array of dtype complex64"),
            (-0.7, None),
            (np.float64(2.0), None),
            (np.array(0.5, dt), None),
        ]
    other = np.complex64 if np.dtype(dt) == np.complex128 else np.complex128
    return [
        ("1", "must be a complex number"),
        (True, "must be a complex number"),
        (None, "must be a complex number"),
        (np.array(0.5), "is a 0-d array of dtype float64"),
        (np.array(CPLX, other), f"is a 0-d array of dtype {np.dtype(other).name}"),
        (CPLX, None),
        (-0.7, None),  # real numbers are complex numbers
        (3, None),
        (np.complex128(-1j), None),
        (np.array(CPLX, dt), None),
    ]


@pytest.mark.parametrize(
    ("name", "dt"), [(name, dt) for name, spec in SPECS.items() for dt in DTYPES if _has(spec, dt)]
)
def test_scalar_must_fit_the_array_dtype(name, dt, rng):
    """Complex scalars (numbers or 0-d arrays) only with complex arrays; 0-d arrays of the call's
    dtype exactly; real numbers with any arrays (then the forward matches spec.reference)."""
    spec = SPECS[name]
    flags = {a.name: a.choices[-1] for a in spec.args if a.kind == "flag"}
    scalar_names = [a.name for a in spec.args if a.kind == "scalar"]
    for which in scalar_names:
        for value, error in _scalar_cases(DTYPES[dt]):
            scalars = dict.fromkeys(scalar_names, "1")
            case = make_case(spec, DTYPES[dt], {s: 3 for s in _symbols(spec)}, flags, scalars, "F", rng)
            args = case.args()
            i = next(j for j, a in enumerate(spec.args) if a.name == which)
            args[i] = value
            out_before = args[case.out_index].copy()
            if error is not None:
                with pytest.raises(TypeError, match=f"{name}: {which} {error}"):
                    getattr(ba, name)(*args)
                assert args[case.out_index].tobytes() == out_before.tobytes()
                continue
            ref_args = [_copy(v) for v in args]
            ref = spec.reference(*ref_args)
            bound = spec.reference(*[_abs(v) for v in ref_args])
            res = getattr(ba, name)(*args)
            assert res.dtype == np.dtype(DTYPES[dt])
            _assert_close(res, ref, bound, FWD_TOL[res.dtype], f"{which} = {value!r}", case)


# -- 2. adjoints against finite differences (float64, complex128) ----------------------------------


def _gradcheck(case, rng, const=()):
    names = list(case.bases)
    vals = [ba.Const(case.bases[n]) if n in const else case.bases[n] for n in names]
    g = ba.gradcheck(case.program(names), *vals, seed=int(rng.integers(2**31)))
    active = [n for n in names if n not in const]
    assert g.ok, f"gradcheck failed (max abs error {g.max_abs_error}); {case}"
    assert abs(g.dot_adjoint - g.dot_numeric) <= 1e-6 * max(1.0, abs(g.dot_numeric)), (
        f"dot-product test: ⟨Jᵀū, v⟩ = {g.dot_adjoint} but ⟨ū, Jv⟩ = {g.dot_numeric}; {case}"
    )
    assert len(g.adjoints) == len(g.numeric) == len(active)
    for n, adj, num in zip(active, g.adjoints, g.numeric):
        assert adj.shape == case.bases[n].shape
        np.testing.assert_allclose(adj, num, rtol=1e-6, atol=1e-7, err_msg=f"adjoint of {n}; {case}")
    return g


# (scalar tags, scheme offsets): each (flags, scalars) combination runs on len(offsets) layout
# schemes, cycling through SCHEMES; None: as few as let every flag combination meet every scheme
ADJ_CASES = {
    "f64": (("0", "1", "-0.7", "arr"), (0, 3, 7)),
    "c128": (("0", "1", "0.7-0.3j", "arr"), None),
}


def _adjoint_params():
    for dt, (tags, offsets) in ADJ_CASES.items():
        for name, spec in ((n, sp) for n, sp in SPECS.items() if _has(sp, dt)):
            per_flags = len(tags) ** sum(a.kind == "scalar" for a in spec.args)  # combos per flag choice
            for i, (flags, scalars) in enumerate(_combos(spec, tags)):
                for j in offsets or range(0, len(SCHEMES), per_flags):
                    scheme = SCHEMES[(i + j) % len(SCHEMES)]
                    pid = _id(name, flags, scalars, scheme, dt)
                    yield pytest.param(name, flags, scalars, scheme, dt, id=pid)


@pytest.mark.parametrize(("name", "flags", "scalars", "scheme", "dt"), list(_adjoint_params()))
def test_adjoint_gradcheck(name, flags, scalars, scheme, dt, rng):
    """float64 and complex128 (every flag N/T/C, complex α/β constant or active) vs central differences."""
    spec = SPECS[name]
    dims = {s: int(rng.integers(1, 4)) for s in _symbols(spec)}
    _gradcheck(make_case(spec, DTYPES[dt], dims, flags, scalars, scheme, rng), rng)


def _const_params():
    for dt in ("f64", "c128"):
        for name, spec in ((n, sp) for n, sp in SPECS.items() if _has(sp, dt)):
            inputs = [a.name for a in spec.args if a.kind != "flag" and not a.out]
            flag_args = [a for a in spec.args if a.kind == "flag"]
            combos = list(itertools.product(*(a.choices for a in flag_args)))
            for j, const in enumerate([*([n] for n in inputs), inputs]):
                for i, fl in enumerate(combos):
                    if dt == "c128" and (i + j) % 2:  # complex: every other flag combination
                        continue
                    flags = dict(zip((a.name for a in flag_args), fl))
                    scheme = SCHEMES[(i + 3 * j) % len(SCHEMES)]
                    label = "const=" + ("all-inputs" if len(const) > 1 else const[0])
                    pid = _id(name, flags, None, label, scheme, dt)
                    yield pytest.param(name, flags, tuple(const), scheme, dt, id=pid)


@pytest.mark.parametrize(("name", "flags", "const", "scheme", "dt"), list(_const_params()))
def test_adjoint_with_constant_inputs(name, flags, const, scheme, dt, rng):
    """Const inputs (incl. a 0-d α/β held constant) skip their adjoints; the rest stay exact."""
    spec = SPECS[name]
    scalars = {a.name: "arr" for a in spec.args if a.kind == "scalar"}
    dims = {s: int(rng.integers(1, 4)) for s in _symbols(spec)}
    _gradcheck(make_case(spec, DTYPES[dt], dims, flags, scalars, scheme, rng), rng, const=const)


def _empty_params():
    for dt in ("f64", "c128"):
        for name, spec in ((n, sp) for n, sp in SPECS.items() if _has(sp, dt)):
            flag_args = [a for a in spec.args if a.kind == "flag"]
            for j, zero in enumerate(_symbols(spec)):
                for i, fl in enumerate(itertools.product(*(a.choices for a in flag_args))):
                    flags = dict(zip((a.name for a in flag_args), fl))
                    scheme = SCHEMES[(i + j + (dt == "c128")) % len(SCHEMES)]
                    pid = _id(name, flags, None, f"{zero}=0", scheme, dt)
                    yield pytest.param(name, flags, zero, scheme, dt, id=pid)


@pytest.mark.parametrize(("name", "flags", "zero", "scheme", "dt"), list(_empty_params()))
def test_adjoint_with_an_empty_dim(name, flags, zero, scheme, dt, rng):
    spec = SPECS[name]
    scalars = {a.name: "arr" for a in spec.args if a.kind == "scalar"}
    dims = {s: int(rng.integers(1, 4)) for s in _symbols(spec)}
    dims[zero] = 0
    _gradcheck(make_case(spec, DTYPES[dt], dims, flags, scalars, scheme, rng), rng)


# -- 3. the output's shadow, by construction ----------------------------------------------------------


def _autodiff(case, seeds, bases=None):
    """Run the call under ba.autodiff with every base Duplicated; returns (primals, shadows)."""
    bases = case.bases if bases is None else bases
    names = list(bases)
    prim = {n: bases[n].copy() for n in names}
    shadows = {n: seeds[n].copy() for n in names}
    ba.autodiff(case.program(names), *(ba.Duplicated(prim[n], shadows[n]) for n in names))
    return prim, shadows


def _out_coefficient(case):
    """c in out_new = c · out_old + (terms without out_old), from spec.reference."""
    probe = []
    for a, v in zip(case.spec.args, case.args()):
        if a.kind in ARRAY_KINDS:
            probe.append(np.ones(v.shape, case.dtype) if a.out else np.zeros(v.shape, case.dtype))
        else:
            probe.append(v)
    ref = np.asarray(case.spec.reference(*probe), case.dtype)
    if ref.size == 0:
        return case.dtype.type(0)
    assert np.all(ref == ref.flat[0]), "the output's old value should enter through one scalar"
    return ref.flat[0]


def _seed(rng, shape, dtype):
    """Random seeds; complex ones dyadic (k/4, |k| <= 16), so that conj(β)·seed is exact for a dyadic β
    however the product is evaluated (BLAS kernels may fuse multiply-adds; NumPy does not)."""
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    parts = rng.integers(-16, 17, size=(2, *shape)) / 4
    return (parts[0] + 1j * parts[1]).astype(dtype)


def check_output_shadow(case, rng):
    out = case.out
    c = _out_coefficient(case)
    seed = _seed(rng, case.bases[out].shape, case.dtype)
    seeds = {n: np.zeros_like(b) for n, b in case.bases.items()}
    seeds[out] = seed
    prim, shadows = _autodiff(case, seeds)
    plain = {n: b.copy() for n, b in case.bases.items()}
    case.call(plain)  # no tape
    assert prim[out].tobytes() == plain[out].tobytes(), f"{out} differs when recorded on a tape; {case}"

    expected = seed.copy()  # the padding of the output's base keeps its seed
    view = case.views[out](expected)
    view[...] = 0 if c == 0 else np.conj(c) * view  # C̄ ← conj(β) C̄
    assert np.array_equal(shadows[out], expected), (
        f"output shadow should be exactly conj({c}) × seed: got {case.views[out](shadows[out])}, "
        f"expected {view}; {case}"
    )
    if c != 0:
        return

    # c = 0: the old output is not read. A NaN in its primal reaches no value and no adjoint ...
    nan_bases = {n: b.copy() for n, b in case.bases.items()}
    case.views[out](nan_bases[out])[...] = _nan(case.dtype)
    prim2, shadows2 = _autodiff(case, seeds, nan_bases)
    for n in case.bases:
        assert shadows2[n].tobytes() == shadows[n].tobytes(), f"NaN in {out}'s old value reached {n}̄; {case}"
    assert prim2[out].tobytes() == prim[out].tobytes(), f"NaN in {out}'s old value reached {out}; {case}"

    # ... and a NaN in its seed does not survive: the shadow is set to 0, not multiplied by 0.
    nan_seeds = {n: s.copy() for n, s in seeds.items()}
    case.views[out](nan_seeds[out])[...] = _nan(case.dtype)
    _, shadows3 = _autodiff(case, nan_seeds)
    assert np.array_equal(shadows3[out], expected), (
        f"a NaN seed survived in {out}̄ with coefficient 0: {case.views[out](shadows3[out])}; {case}"
    )


STRUCT_SCALARS = {
    "f32": ("0", "1", "2", "-0.7"),
    "f64": ("0", "1", "2", "-0.7"),
    "c64": ("0", "-0.7", "0.75-0.5j"),
    "c128": ("0", "1", "-0.7", "0.75-0.5j"),
}
STRUCT_SCHEMES = {"c64": ("F", "rowld", "revboth", "mixed")}  # complex64: fewer layouts
STRUCT_PARAMS = [
    pytest.param(name, flags, scheme, dt, id=_id(name, flags, None, scheme, dt))
    for name, spec in SPECS.items()
    for flags, _ in _combos(spec, ("1",))
    for dt in DTYPES
    if _has(spec, dt)
    for scheme in STRUCT_SCHEMES.get(dt, SCHEMES)
]


@pytest.mark.parametrize(("name", "flags", "scheme", "dt"), STRUCT_PARAMS)
def test_output_shadow_is_coefficient_times_seed(name, flags, scheme, dt, rng):
    """gemm/gemv: C̄ ← conj(β) C̄ (exactly 0 for β = 0); axpy: ȳ unchanged. All scalars constant."""
    spec = SPECS[name]
    syms = _symbols(spec)
    inner = [s for s in syms if s not in spec.output.dims]  # empty inputs, non-empty output
    dim_sets = [{s: int(rng.integers(2, 5)) for s in syms}, dict.fromkeys(syms, 1)]
    dim_sets += [{**dict.fromkeys(syms, 2), s: 0} for s in inner]
    scalar_names = [a.name for a in spec.args if a.kind == "scalar"]
    tag_set = STRUCT_SCALARS[dt]
    if dt in ("f32", "f64"):
        tag_combos = list(itertools.product(tag_set, repeat=len(scalar_names)))
    else:  # complex: rotations, so that every scalar argument takes every value (β = 0 with complex α)
        tag_combos = [tuple(tag_set[(k + r) % len(tag_set)] for r in range(len(scalar_names))) for k in
                      range(len(tag_set))]  # fmt: skip
    for tags in tag_combos:
        for dims in dim_sets:
            scalars = dict(zip(scalar_names, tags))
            check_output_shadow(make_case(spec, DTYPES[dt], dims, flags, scalars, scheme, rng), rng)


# -- 4. single-precision adjoints against double-precision adjoints ----------------------------------

PRECISIONS = {"f32": ("f64", ("arr", "-0.7")), "c64": ("c128", ("arr", "0.7-0.3j"))}


def _precision_params():
    for low, (high, tags) in PRECISIONS.items():
        for name, spec in ((n, sp) for n, sp in SPECS.items() if _has(sp, low, high)):
            for i, (flags, scalars) in enumerate(_combos(spec, tags)):
                for scheme in (SCHEMES[i % len(SCHEMES)], SCHEMES[(i + 7) % len(SCHEMES)]):
                    pid = _id(name, flags, scalars, scheme, low)
                    yield pytest.param(name, flags, scalars, scheme, low, id=pid)


@pytest.mark.parametrize(("name", "flags", "scalars", "scheme", "low"), list(_precision_params()))
def test_adjoint_single_matches_double_precision(name, flags, scalars, scheme, low, rng):
    """float32 vs float64 and complex64 vs complex128: the same program on the same values."""
    spec = SPECS[name]
    lo_t, hi_t = DTYPES[low], DTYPES[PRECISIONS[low][0]]
    dims = {s: int(rng.integers(2, 5)) for s in _symbols(spec)}
    c_lo = make_case(spec, lo_t, dims, flags, scalars, scheme, rng)
    c_hi = c_lo.astype(hi_t)  # the same values, exactly
    seeds = {n: _random(rng, b.shape, lo_t) for n, b in c_lo.bases.items()}
    prim_lo, adj_lo = _autodiff(c_lo, seeds)
    prim_hi, adj_hi = _autodiff(c_hi, {n: s.astype(hi_t) for n, s in seeds.items()})
    for n in c_lo.bases:
        for what, v_lo, v_hi in (("value", prim_lo[n], prim_hi[n]), ("adjoint", adj_lo[n], adj_hi[n])):
            assert v_lo.dtype == lo_t and v_hi.dtype == hi_t
            scale = 1.0 + float(np.abs(v_hi).max(initial=0.0))
            err = float(np.abs(v_lo.astype(hi_t) - v_hi).max(initial=0.0))
            assert err <= 1e-4 * scale, f"{what} of {n}: {low} differs from {hi_t.__name__} by {err}; {c_lo}"


# -- empty outputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "dt"), [(name, dt) for name, spec in SPECS.items() for dt in DTYPES if _has(spec, dt)]
)
def test_empty_output_from_np_zeros_is_accepted(name, dt, rng):
    """np.zeros((2, 0)) has strides (0, 0); an empty output has no elements that could overlap."""
    spec = SPECS[name]
    flags = {a.name: a.choices[0] for a in spec.args if a.kind == "flag"}
    scalars = {a.name: "-0.7" for a in spec.args if a.kind == "scalar"}
    for zero in spec.output.dims:
        dims = {**dict.fromkeys(_symbols(spec), 2), zero: 0}
        case = make_case(spec, DTYPES[dt], dims, flags, scalars, "ld", rng)
        args = case.args()
        args[case.out_index] = out = np.zeros(args[case.out_index].shape, DTYPES[dt])
        assert out.size == 0
        assert getattr(ba, name)(*args) is out, f"{zero} = 0; {case}"


def _empty_output_params():
    for dt in ("f64", "c128"):
        for name, spec in ((n, sp) for n, sp in SPECS.items() if _has(sp, dt)):
            for zero in spec.output.dims:
                for i, (flags, _) in enumerate(_combos(spec, ("arr",))):
                    # layouts whose empty views keep nonzero strides; complex: one of them per flag
                    for scheme in ("ld", "step") if dt == "f64" else (("ld", "step")[i % 2],):
                        pid = _id(name, flags, None, f"{zero}=0", scheme, dt)
                        yield pytest.param(name, flags, zero, scheme, dt, id=pid)


@pytest.mark.parametrize(("name", "flags", "zero", "scheme", "dt"), list(_empty_output_params()))
def test_adjoint_through_an_empty_output_is_exactly_zero(name, flags, zero, scheme, dt, rng):
    """An empty output depends on nothing: every input's seed comes back exactly unchanged.

    A call of the same shape with the dim non-empty runs first, so that a scratch buffer the
    sweep reads without clearing holds stale nonzero values rather than fresh zeros."""
    spec = SPECS[name]
    scalars = {a.name: "arr" for a in spec.args if a.kind == "scalar"}
    dims = dict.fromkeys(_symbols(spec), 6)
    full = make_case(spec, DTYPES[dt], dims, flags, scalars, scheme, rng)
    empty = make_case(spec, DTYPES[dt], {**dims, zero: 0}, flags, scalars, scheme, rng)
    for _ in range(2):
        _autodiff(full, {n: np.ones_like(b) for n, b in full.bases.items()})
        seeds = {n: _random(rng, b.shape, DTYPES[dt]) for n, b in empty.bases.items()}
        _, shadows = _autodiff(empty, seeds)
        for n in empty.bases:
            assert np.array_equal(shadows[n], seeds[n]), (
                f"{n}̄ changed through an empty {empty.out}: {shadows[n] - seeds[n]}; {empty}"
            )
