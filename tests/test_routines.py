"""One harness for every routine in ``ba.SPECS`` (in the spirit of JAX's LAX_GRAD_OPS).

All arguments are generated from the spec's declaration: symbolic dims get small random sizes
(1 and 0 included; derived dims such as packed storage's n(n+1)/2 follow from Spec.derived),
every array argument gets a memory layout (C, F, ld > rows, row-major with ld > cols, negative
strides, doubly strided, zero-stride broadcast inputs), flags take every value in ``choices``
(Arg.flag_choices: N, T and C = conjugate transpose), discrete vector entries (rotm's flag) every
value they may take, and scalars are 0, 1, -0.7, 0.7-0.3j (complex dtypes) or a 0-d array
(active under AD; complex-valued for complex dtypes, real for a real argument such as her's α).
A scalar the routine writes (a reduction's result, rotg's a and b) is a random 0-d array.
A triangular matrix gets its order added to its diagonal (in its storage: dense, packed or band)
so that solves are well conditioned. A piecewise routine's Spec.domain keeps the random arguments
away from the boundaries between its branches (rotg's |a| = |b|, rotmg's tests): a case is drawn
again until it holds. A new spec is covered with no new test code; only the SciPy oracle needs
one entry in ORACLES (an oracle returns None for a written argument SciPy does not return).

Dtypes: those of Spec.dtypes among float32, float64, complex64, complex128 (the others must raise
TypeError). A complex x's adjoint is x̄ = ∂L/∂Re x + i ∂L/∂Im x for L = Re Σ ⟨seed, x_final⟩ (so
y = M x gives x̄ += Mᴴ ȳ, and C̄ ← conj(β) C̄).

Checked for every routine:
  1. forward == spec.reference == SciPy's BLAS (s/d/c/z) for every written argument (an output, an
     argument updated in place, a 0-d reduction result; several for swap, rot, rotm); inputs
     bit-identical; only a written argument's elements of its base array change; a written
     argument whose old value the reference does not read (β = 0, copy's y) may hold NaN.
  2. float64 and complex128 adjoints == central differences (ba.gradcheck; real and imaginary
     perturbations), and the dot-product test; also with constant inputs and empty dims.
  3. Spec.seed_scaled routines: the output's shadow after the sweep is exactly conj(c) × seed,
     c = ∂out_new/∂out_old (β; 1 for axpy; 0 for copy and the reductions): exactly +0 when c = 0,
     even for a NaN seed; a NaN in an unread output reaches nothing.
  4. float32 adjoints == float64 adjoints, complex64 adjoints == complex128 adjoints.

Array arguments are built as views of C-contiguous base arrays, and the differentiated programs
take the bases and make the views themselves: gradcheck runs the program on copies of its
arguments, so this is what keeps the layouts under test.

The core routines (gemm, gemv, axpy) run every check through both dispatch paths (conftest's
``dispatch_path``) over every layout scheme; the others run over fewer combinations (each flag
combination meets two layout schemes and rotating scalar cases), to keep the suite fast:
through both paths when they are in the table of the spec-driven fast path (ba_fast_run: the
real routines), once otherwise.
"""

import inspect
import itertools
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pytest
from oracles import all_oracles
from scipy.linalg import blas as scipy_blas
from scipy.linalg import lapack as scipy_lapack

import blasad as ba
from blasad._native_loader import lib
from blasad.specs import real_dtype

SPECS = ba.SPECS
ARRAY_KINDS = ("vector", "matrix")
DTYPES = {"f32": np.float32, "f64": np.float64, "c64": np.complex64, "c128": np.complex128}
PRECISION = {"f32": "s", "f64": "d", "c64": "c", "c128": "z"}  # BLAS's prefix letters


def _has(spec, *dts):
    """Does the routine exist in these precisions (Spec.dtypes, e.g. "sdcz")?"""
    return all(PRECISION[dt] in spec.dtypes for dt in dts)


CORE = ("gemm", "gemv", "axpy")  # every check over every layout scheme, through both paths


def _fast(name):
    """Is the routine one of the core three, checked over every layout scheme?"""
    return name in CORE


def _two_paths(name):
    """Has the routine a C fast path: its own, or a row in ba_fast_run's table?"""
    return _fast(name) or lib.ba_fast_routine(name.encode()) >= 0


def _param(name, *values, id):
    """pytest params for a test of routine `name`: through both dispatch paths where it has two."""
    paths = ("fast", "validating") if _two_paths(name) else ("validating",)
    return [pytest.param(path, name, *values, id=f"{path}-{id}") for path in paths]


def parametrize(argnames, params):
    """parametrize over (dispatch_path, *argnames); dispatch_path is conftest's fixture (indirect)."""
    return pytest.mark.parametrize(("dispatch_path", *argnames), params, indirect=["dispatch_path"])


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
    """A scalar argument: a Python number (constant) or a 0-d array (a buffer, active under AD).
    dtype is the argument's (real for a real argument: a complex tag then gives its real part)."""
    if tag == "arr":  # a random magnitude in [0.5, 1.5]; complex dtypes: a random phase too
        v = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5)
        if np.dtype(dtype).kind == "c":
            v = v * np.exp(1j * rng.uniform(0.2, 1.4))
        return np.array(v, dtype)
    if tag == "arr0":
        return np.array(0.0, dtype)
    v = {"0": 0.0, "1": 1, "2": 2.0, "-0.7": -0.7, "0.7-0.3j": CPLX, "0.75-0.5j": DYADIC_CPLX}[tag]
    return v.real if isinstance(v, complex) and np.dtype(dtype).kind == "f" else v


def _symbols(spec):
    """The dims a call chooses (Spec.free_dims; derived ones follow from them and the flags)."""
    return list(spec.free_dims)


def _pick_layout(scheme, is_out, rng):
    if scheme == "mixed":
        return str(rng.choice(LAYOUTS if is_out else (*LAYOUTS, "bcast")))
    if scheme == "bcast":
        return "F" if is_out else "bcast"
    return scheme


def _written(a):
    return a.out or a.inout


def _discrete_key(a, i):
    return f"{a.name}[{i}]"


def _assembled(a, flags, n):
    """base -> a's value: a fresh vector with its discrete entries set to the case's values and the
    others copied from the base by a recorded ba.copy (so they are differentiated, the discrete
    ones are exact constants that finite differences never perturb)."""
    fixed = {i: flags[_discrete_key(a, i)] for i, _ in a.discrete}
    runs, start = [], None
    for i in range(n + 1):
        if i < n and i not in fixed:
            start = i if start is None else start
        elif start is not None:
            runs.append((start, i))
            start = None

    def view(b):
        v = np.empty(n, b.dtype)
        for i, value in fixed.items():
            v[i] = value
        j = 0
        for lo, hi in runs:
            ba.copy(b[j : j + hi - lo], v[lo:hi])
            j += hi - lo
        return v

    return view


def _packed_diagonal(n, uplo):
    return [j * (j + 1) // 2 + j if uplo == "U" else j * (2 * n - j + 1) // 2 for j in range(n)]


def _shift_diagonal(a, base, view, flags):
    """A triangular matrix gets its order n added to its diagonal, in its storage (dense, packed,
    band), through the base (so also under a broadcast view): well-conditioned solves."""
    idx = view(np.arange(base.size).reshape(base.shape))
    if a.storage == "packed":
        n = round((np.sqrt(8 * idx.shape[0] + 1) - 1) / 2)
        pos = idx[_packed_diagonal(n, flags["uplo"])]
    elif a.storage == "band":  # (k+1) x n: the diagonal is the last row for uplo U, the first for L
        n = idx.shape[1]
        pos = idx[-1 if flags["uplo"] == "U" else 0] if idx.shape[0] else idx[:0]
    else:
        n = idx.shape[0]
        pos = np.diagonal(idx)
    base.flat[np.unique(pos)] += n


@dataclass
class Case:
    """One generated call: constant scalars, and the bases and views of everything else."""

    spec: Any
    dtype: Any
    dims: dict  # every dim, derived ones included
    flags: dict  # flag arguments, and the values of discrete vector entries
    layouts: dict
    numbers: dict  # constant scalars (Python numbers)
    bases: dict  # C-contiguous base of each array argument; 0-d arrays for array scalars
    views: dict = field(repr=False)  # base -> the argument

    @property
    def written(self):
        """Names of the arguments the routine writes, in signature order."""
        return [a.name for a in self.spec.written]

    @property
    def out(self):
        return self.spec.output.name

    @property
    def out_index(self):
        return next(i for i, a in enumerate(self.spec.args) if _written(a))

    @property
    def written_index(self):
        return [i for i, a in enumerate(self.spec.args) if _written(a)]

    @property
    def kw(self):
        """The dims the routine (and its reference) take as keyword arguments (gbmv's m, kl, ku)."""
        return {k: self.dims[k] for k in self.spec.keywords}

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

    def routine(self, *args):
        return getattr(ba, self.spec.name)(*args, **self.kw)

    def reference(self, *args):
        """spec.reference's new values of the written arguments, as a tuple."""
        r = self.spec.reference(*args, **self.kw)
        return r if isinstance(r, tuple) else (r,)

    def call(self, bases=None):
        return self.routine(*self.args(bases))

    def program(self, names):
        """f(*bases in the order of names): the routine on the views of those bases."""

        def f(*values):
            args = self.args(dict(zip(names, values)))
            res = self.routine(*args)
            if self.spec.after is not None:  # a loss the adjoint serves (Spec.after)
                self.spec.after(dict(zip((a.name for a in self.spec.args), args)))
            return res

        return f

    def astype(self, dtype):
        """The same call in another precision (bases of real arguments in its real dtype)."""
        real = {a.name for a in self.spec.args if a.real}
        bases = {
            n: b if b.dtype.kind in "iu" else b.astype(real_dtype(np.dtype(dtype)) if n in real else dtype)
            for n, b in self.bases.items()
        }  # (pivots stay integers)
        return replace(self, dtype=np.dtype(dtype), bases=bases)

    def __str__(self):
        scalars = {**self.numbers, **{n: b.item() for n, b in self.bases.items() if b.ndim == 0}}
        return (
            f"{self.spec.name} {np.dtype(self.dtype).name} dims={self.dims} flags={self.flags} "
            f"layouts={self.layouts} scalars={scalars}"
        )


DOMAIN_TRIES = 200  # draws of a case until the arguments lie in the spec's domain


def make_case(spec, dtype, free, flags, scalars, scheme, rng):
    """A call with the free dims `free`, the flags (and discrete entries) `flags`, a tag per read
    scalar in `scalars`, and the array layouts of `scheme`; drawn again until its arguments lie in
    Spec.domain (away from the boundaries between a piecewise routine's branches)."""
    for _ in range(DOMAIN_TRIES):
        case = _draw_case(spec, dtype, free, flags, scalars, scheme, rng)
        if spec.domain is None or spec.domain(*(_copy(v) for v in case.args())):
            return case
    raise AssertionError(f"{spec.name}: no draw in its domain in {DOMAIN_TRIES} tries; {case}")


def _draw_case(spec, dtype, free, flags, scalars, scheme, rng):
    dtype = np.dtype(dtype)
    flag_values = {a.name: flags[a.name] for a in spec.args if a.kind == "flag"}
    dims = spec.dims_for(free, flag_values)
    for a in spec.args:  # read pivots: entry i interchanges row i, so at most `bound` of them (laswp)
        if a.kind == "pivots" and a.bound and not _written(a):
            dims[a.dims[0]] = min(dims[a.dims[0]], dims[a.bound])
    numbers, bases, views, layouts = {}, {}, {}, {}
    for a in spec.args:
        adt = real_dtype(dtype) if a.real else dtype
        if a.kind == "scalar" and _written(a):  # a 0-d result (reductions) or a 0-d array rotg updates
            bases[a.name], views[a.name] = _random(rng, (), adt), _identity
        elif a.kind == "scalar":
            v = _scalar(scalars[a.name], adt, rng)
            if isinstance(v, np.ndarray):
                bases[a.name], views[a.name] = v, _identity
            else:
                numbers[a.name] = v
        elif a.kind == "pivots":  # written: zeros; read: valid row interchanges, ipiv[i] in [i, bound)
            n, bound = dims[a.dims[0]], dims[a.bound] if a.bound else dims[a.dims[0]]
            layouts[a.name], views[a.name] = "C", _identity
            bases[a.name] = np.zeros(n, np.int64)
            if not _written(a):
                bases[a.name][:] = [rng.integers(min(i, bound - 1), bound) for i in range(n)]
        elif a.kind in ARRAY_KINDS:
            shape = tuple(dims[s] for s in a.dims)  # of op(X)
            if a.trans and flags[a.trans] != "N":
                shape = shape[::-1]
            if a.discrete:  # the base holds the other entries; the view assembles the vector
                layouts[a.name] = "assembled"
                bases[a.name] = _random(rng, (shape[0] - len(a.discrete),), adt)
                views[a.name] = _assembled(a, flags, shape[0])
                continue
            layouts[a.name] = _pick_layout(scheme, _written(a), rng)
            if spec.conditioned is not None and layouts[a.name] == "bcast":  # (values it cannot set)
                layouts[a.name] = "F"
            make = _matrix_layout if a.kind == "matrix" else _vector_layout
            base_shape, views[a.name] = make(layouts[a.name], *shape)
            bases[a.name] = _random(rng, base_shape, adt)
            if a.structure == "triangular":
                _shift_diagonal(a, bases[a.name], views[a.name], flags)
    case = Case(spec, dtype, dims, dict(flags), layouts, numbers, bases, views)
    if spec.conditioned is not None:  # into the routine's domain (potrf: A positive definite)
        spec.conditioned(dict(zip((a.name for a in spec.args), case.args())), rng)
    return case


def _flag_sets(spec, dt):
    """Every combination of the flags (for dtype dt) and of the discrete vector entries."""
    keys = [a.name for a in spec.args if a.kind == "flag"]
    values = [a.flag_choices(DTYPES[dt]) for a in spec.args if a.kind == "flag"]
    for a in spec.args:
        for i, vals in a.discrete:
            keys.append(_discrete_key(a, i))
            values.append(vals)
    return [dict(zip(keys, v)) for v in itertools.product(*values)]


def _read_scalars(spec):
    """The scalars the routine only reads (α, β, c, s): a number or a 0-d array each. Written ones
    (a reduction's result, rotg's a and b) are random 0-d arrays."""
    return [a.name for a in spec.args if a.kind == "scalar" and not _written(a)]


def _combos(spec, dt, scalar_tags):
    """(flags, scalars) for every flag choice × every scalar tag of every read scalar argument."""
    names = _read_scalars(spec)
    for fl in _flag_sets(spec, dt):
        for sc in itertools.product(scalar_tags, repeat=len(names)):
            yield fl, dict(zip(names, sc))


def _rotation(spec, tags, k):
    """The k-th of len(tags) scalar cases in which every read scalar takes every tag."""
    names = _read_scalars(spec)
    return {n: tags[(k + r) % len(tags)] for r, n in enumerate(names)}


def _id(name, flags, scalars=None, *rest):
    parts = (
        [name, "".join(f"{v:g}" if isinstance(v, float) else v for v in flags.values())] if flags else [name]
    )
    if scalars:
        parts.append(",".join(f"{k}={v}" for k, v in scalars.items()))
    return "-".join([*parts, *rest])


def _copy(v):
    return np.array(v) if isinstance(v, np.ndarray) else v


def _abs(v):
    if isinstance(v, str):  # a flag
        return v
    return np.abs(v) if isinstance(v, np.ndarray) else abs(v)


def _bound_args(case, args):
    """|arguments| for the error bound: the formula on them bounds |terms|; discrete entries
    (rotm's flag) keep their values; a NaN (an output's old value the call does not read, which a
    piecewise formula such as rotmg's may read on |arguments|) counts as 0."""
    out = []
    for a, v in zip(case.spec.args, args):
        w = _abs(v)
        if isinstance(w, np.ndarray | np.generic):  # (np.abs of a 0-d array is a NumPy scalar)
            w = np.nan_to_num(w, nan=0.0, posinf=np.inf, neginf=-np.inf)
        for i, _ in a.discrete:
            w[i] = v[i]
        out.append(w)
    return out


def _assert_close(res, ref, bound, tol, what, case):
    """|res - ref| <= tol · (b + max(b) / 10) elementwise, b = max(|ref|, |bound|), bound = the
    formula on |arguments| (the max term covers cancellation: rot's c y - s x, solves)."""
    res, ref = np.asarray(res), np.asarray(ref)
    assert res.shape == ref.shape, f"{what}: shape {res.shape} != {ref.shape}; {case}"
    wide = np.complex128 if np.iscomplexobj(res) or np.iscomplexobj(ref) else np.float64
    err = np.abs(res.astype(wide) - ref.astype(wide))
    b = np.maximum(np.abs(np.asarray(bound)).astype(np.float64), np.abs(ref).astype(np.float64))
    lim = tol * (b + np.nanmax(b, initial=0.0) / 10)
    bad = ~(err <= lim)
    assert not bad.any(), (
        f"{what}: {int(bad.sum())} of {res.size} elements differ (max error {np.nanmax(err, initial=0)}, "
        f"got {res[bad][:4]} expected {ref[bad][:4]}); {case}"
    )


def _check_returned(case, res, args):
    """A routine returns its written argument itself, or a tuple of them (swap, rot, rotm)."""
    written = [args[i] for i in case.written_index]
    if len(written) == 1 and written[0].ndim == 0:  # a written scalar: an active scalar over it
        assert isinstance(res, ba.Scalar) and res.buffer is written[0], (
            f"{case.spec.name} returns {res!r}; {case}"
        )
    elif len(written) == 1:
        assert res is written[0], f"{case.spec.name} must return its written argument itself; {case}"
    else:
        assert isinstance(res, tuple) and len(res) == len(written), f"returns {type(res)}; {case}"
        assert all(  # a written scalar comes back as an active scalar over it
            (r.buffer if isinstance(r, ba.Scalar) and w.ndim == 0 else r) is w for r, w in zip(res, written)
        ), f"must return its written arguments; {case}"


# -- the SciPy oracles: new values of the written arguments (a tuple for several) ---------------------
# Each takes (dtype, *arguments in spec order, **Spec.keywords) as plain copies; outputs whose old
# value is not read may hold NaN. Called only when no array argument is empty.

_TRANS = {"N": 0, "T": 1, "C": 2}  # SciPy's trans: 2 is the conjugate transpose
_LOWER = {"U": 0, "L": 1}


def _num(dtype, s):
    """A scalar argument (number or 0-d array) as the Python number SciPy's wrappers take."""
    return complex(s) if np.dtype(dtype).kind == "c" else float(np.real(s))


def _rnum(s):
    """A real scalar argument (her's α, rot's c) as a Python float."""
    return float(np.real(s))


def _f(name, dtype):
    return scipy_blas.get_blas_funcs(name, dtype=dtype)


def _F(X):
    return np.asfortranarray(X)


def _y(beta, y):
    """y for SciPy, or None when β = 0 (y is not read, and may hold NaN)."""
    return None if beta == 0 else np.array(y)


def _scipy_gemm(dtype, alpha, A, B, beta, C, trans_a, trans_b):
    beta = _num(dtype, beta)
    c = None if beta == 0 else _F(C)
    return _f("gemm", dtype)(
        _num(dtype, alpha), _F(A), _F(B), beta=beta, c=c,
        trans_a=_TRANS[trans_a], trans_b=_TRANS[trans_b], overwrite_c=0,
    )  # fmt: skip


def _scipy_gemv(dtype, alpha, A, x, beta, y, trans):
    beta = _num(dtype, beta)
    return _f("gemv", dtype)(
        _num(dtype, alpha), _F(A), np.array(x), beta=beta, y=_y(beta, y), trans=_TRANS[trans]
    )


def _scipy_axpy(dtype, alpha, x, y):
    return _f("axpy", dtype)(np.array(x), np.array(y), n=x.shape[0], a=_num(dtype, alpha))


# level 1 (the real-valued nrm2/asum and the real-scalar rot have their own BLAS prefixes)
_P = {np.dtype(t): p for t, p in zip((np.float32, np.float64, np.complex64, np.complex128), "sdcz")}


def _blas1(name, dtype, mixed=None):
    p = _P[np.dtype(dtype)]
    return getattr(scipy_blas, (mixed or {}).get(p, p) + name)


def _scipy_dot(name):
    def oracle(dtype, x, y, out):
        fn = "dot" if np.dtype(dtype).kind == "f" else name
        return np.array(_blas1(fn, dtype)(x, y), dtype)

    return oracle


def _scipy_norm(name):
    def oracle(dtype, x, out):
        return np.array(_blas1(name, dtype, {"c": "sc", "z": "dz"})(x), real_dtype(np.dtype(dtype)))

    return oracle


def _scipy_rotg(dtype, a, b):
    """SciPy's ?rotg returns c and s only (not r, z: None). Its complex c has an imaginary part
    that BLAS never sets (crotg's c is real): its real part is c."""
    c, s = _blas1("rotg", dtype)(_num(dtype, a), _num(dtype, b))
    return None, None, np.array(np.real(c), real_dtype(np.dtype(dtype))), np.array(s, dtype)


def _scipy_rotmg(dtype, d1, d2, x1, y1, param):
    """SciPy's ?rotmg returns param only (zeros where the flag writes nothing: those entries keep
    their old values in blasad's param, as BLAS leaves them)."""
    new = _blas1("rotmg", dtype)(*(_rnum(v) for v in (d1, d2, x1, y1)))
    kept = {-2: (1, 2, 3, 4), -1: (), 0: (1, 4), 1: (2, 3)}[int(new[0])]
    new[list(kept)] = np.asarray(param)[list(kept)]
    return None, None, None, new


ORACLES = {
    "gemm": _scipy_gemm,
    "gemv": _scipy_gemv,
    "axpy": _scipy_axpy,
    "scal": lambda dt, alpha, x: _blas1("scal", dt)(_num(dt, alpha), x.copy()),
    "copy": lambda dt, x, y: _blas1("copy", dt)(x, y.copy()),
    "swap": lambda dt, x, y: tuple(_blas1("swap", dt)(x.copy(), y.copy())),
    "dot": _scipy_dot("dot"),
    "dotu": _scipy_dot("dotu"),
    "dotc": _scipy_dot("dotc"),
    "nrm2": _scipy_norm("nrm2"),
    "asum": _scipy_norm("asum"),
    "rot": lambda dt, x, y, c, s: tuple(
        _blas1("rot", dt, {"c": "cs", "z": "zd"})(x.copy(), y.copy(), _rnum(c), _rnum(s))
    ),
    "rotm": lambda dt, x, y, param: tuple(_blas1("rotm", dt)(x.copy(), y.copy(), np.array(param))),
    "rotg": lambda dt, a, b, c, s: _scipy_rotg(dt, a, b),
    "rotmg": lambda dt, d1, d2, x1, y1, param: _scipy_rotmg(dt, d1, d2, x1, y1, param),
}


# level 2
def _scipy_symv(name):
    def oracle(dtype, alpha, A, x, beta, y, uplo):
        beta = _num(dtype, beta)
        return _f(name, dtype)(_num(dtype, alpha), A, x, beta=beta, y=_y(beta, y), lower=_LOWER[uplo])

    return oracle


def _scipy_trmv(name):
    def oracle(dtype, A, x, uplo, trans, diag):
        return _f(name, dtype)(A, x.copy(), trans=_TRANS[trans], diag=int(diag == "U"), lower=_LOWER[uplo])

    return oracle


def _scipy_ger(name):
    return lambda dtype, alpha, x, y, A: _f(name, dtype)(_num(dtype, alpha), x, y, a=A.copy())


def _scipy_syr(name, real_alpha=False):
    def oracle(dtype, alpha, x, A, uplo):
        a = _rnum(alpha) if real_alpha else _num(dtype, alpha)
        return _f(name, dtype)(a, x, a=A.copy(), lower=_LOWER[uplo])

    return oracle


def _scipy_syr2(name):
    def oracle(dtype, alpha, x, y, A, uplo):
        return _f(name, dtype)(_num(dtype, alpha), x, y, a=A.copy(), lower=_LOWER[uplo])

    return oracle


ORACLES.update(
    symv=_scipy_symv("symv"), hemv=_scipy_symv("hemv"),
    trmv=_scipy_trmv("trmv"), trsv=_scipy_trmv("trsv"),
    ger=_scipy_ger("ger"), geru=_scipy_ger("geru"), gerc=_scipy_ger("gerc"),
    syr=_scipy_syr("syr"), her=_scipy_syr("her", real_alpha=True),
    syr2=_scipy_syr2("syr2"), her2=_scipy_syr2("her2"),
)  # fmt: skip


# level 2, packed and band storage (SciPy takes n for packed, k for band storage)
def _scipy_spmv(name):
    def oracle(dtype, alpha, AP, x, beta, y, uplo):
        beta = _num(dtype, beta)
        n = x.shape[0]
        return _f(name, dtype)(n, _num(dtype, alpha), AP, x, beta=beta, y=_y(beta, y), lower=_LOWER[uplo])

    return oracle


def _scipy_sbmv(name):
    def oracle(dtype, alpha, A, x, beta, y, uplo):
        beta = _num(dtype, beta)
        k = A.shape[0] - 1
        return _f(name, dtype)(k, _num(dtype, alpha), _F(A), x, beta=beta, y=_y(beta, y), lower=_LOWER[uplo])

    return oracle


def _scipy_tpmv(name):
    def oracle(dtype, A, x, uplo, trans, diag):
        first = x.shape[0] if name[1] == "p" else A.shape[0] - 1  # n (packed) or k (band)
        kw = {"trans": _TRANS[trans], "diag": int(diag == "U"), "lower": _LOWER[uplo]}
        return _f(name, dtype)(first, _F(A), x.copy(), **kw)

    return oracle


def _scipy_spr(name, real_alpha):
    def oracle(dtype, alpha, x, AP, uplo):
        a = _rnum(alpha) if real_alpha else _num(dtype, alpha)
        return _f(name, dtype)(x.shape[0], a, x, AP.copy(), lower=_LOWER[uplo])

    return oracle


def _scipy_spr2(name):
    def oracle(dtype, alpha, x, y, AP, uplo):
        return _f(name, dtype)(x.shape[0], _num(dtype, alpha), x, y, AP.copy(), lower=_LOWER[uplo])

    return oracle


def _scipy_gbmv(dtype, alpha, A, x, beta, y, trans, m, kl, ku):
    """SciPy's wrapper wants m >= kl + ku + 1: rows past m are added (x padded with zeros for
    trans T/C, y's extra entries dropped for trans N), which changes nothing in rows < m."""
    mm = max(m, kl + ku + 1)
    beta = _num(dtype, beta)
    yy = None if beta == 0 else np.array(y)
    if trans == "N":
        x2 = np.array(x)
        y2 = None if yy is None else np.concatenate([yy, np.zeros(mm - m, yy.dtype)])
    else:
        x2 = np.concatenate([x, np.zeros(mm - m, x.dtype)])
        y2 = yy
    res = _f("gbmv", dtype)(mm, A.shape[1], kl, ku, _num(dtype, alpha), _F(A), x2, beta=beta, y=y2,
                            trans=_TRANS[trans])  # fmt: skip
    return res[:m] if trans == "N" else res


ORACLES.update(
    spmv=_scipy_spmv("spmv"), hpmv=_scipy_spmv("hpmv"),
    sbmv=_scipy_sbmv("sbmv"), hbmv=_scipy_sbmv("hbmv"),
    tpmv=_scipy_tpmv("tpmv"), tpsv=_scipy_tpmv("tpsv"), tbmv=_scipy_tpmv("tbmv"), tbsv=_scipy_tpmv("tbsv"),
    spr=_scipy_spr("spr", False), hpr=_scipy_spr("hpr", True),
    spr2=_scipy_spr2("spr2"), hpr2=_scipy_spr2("hpr2"),
    gbmv=_scipy_gbmv,
)  # fmt: skip


# level 3
def _scipy_xmm(name):
    def oracle(dtype, alpha, A, B, beta, C, side, uplo):
        beta = _num(dtype, beta)
        C = np.zeros_like(C) if beta == 0 else C  # β = 0: C is not read (may hold NaN)
        return _f(name, dtype)(_num(dtype, alpha), _F(A), _F(B), beta, _F(C), side=int(side == "R"),
                               lower=_LOWER[uplo])  # fmt: skip

    return oracle


def _scipy_rk(name, real_scalars):
    def oracle(dtype, alpha, A, beta, C, uplo, trans):
        num = _rnum if real_scalars else (lambda s: _num(dtype, s))
        return _f(name, dtype)(num(alpha), _F(A), num(beta), _F(C), trans=_TRANS[trans], lower=_LOWER[uplo])

    return oracle


def _scipy_r2k(name, real_beta):
    def oracle(dtype, alpha, A, B, beta, C, uplo, trans):
        b = _rnum(beta) if real_beta else _num(dtype, beta)
        return _f(name, dtype)(_num(dtype, alpha), _F(A), _F(B), b, _F(C), trans=_TRANS[trans],
                               lower=_LOWER[uplo])  # fmt: skip

    return oracle


def _scipy_trmm(name):
    def oracle(dtype, alpha, A, B, side, uplo, trans_a, diag):
        return _f(name, dtype)(_num(dtype, alpha), _F(A), _F(B), side=int(side == "R"), lower=_LOWER[uplo],
                               trans_a=_TRANS[trans_a], diag=int(diag == "U"))  # fmt: skip

    return oracle


ORACLES.update(
    symm=_scipy_xmm("symm"), hemm=_scipy_xmm("hemm"),
    syrk=_scipy_rk("syrk", False), herk=_scipy_rk("herk", True),
    syr2k=_scipy_r2k("syr2k", False), her2k=_scipy_r2k("her2k", True),
    trmm=_scipy_trmm("trmm"), trsm=_scipy_trmm("trsm"),
)  # fmt: skip


ORACLES.update(all_oracles())  # LAPACK's: tests/oracles/


def test_every_spec_has_a_scipy_oracle():
    """Every routine that SciPy wraps (as ?name in any of its precisions, in scipy.linalg.blas or
    scipy.linalg.lapack) is also compared with SciPy's; one it does not wrap (a BLAS extension
    such as geadd) with its reference only."""
    wrapped = {
        n
        for n, s in SPECS.items()
        if any(hasattr(scipy_blas, p + n) or hasattr(scipy_lapack, p + n) for p in s.dtypes)
    }
    assert {"gemm", "dot", "nrm2", "gbmv", "her2k", "potrf"} <= wrapped and "geadd" not in wrapped
    missing = wrapped - set(ORACLES)
    assert not missing, f"add SciPy oracles for {sorted(missing)}"


def test_every_spec_is_public():
    """Every spec's routine is blasad.<name>; the level modules register all of theirs."""
    from blasad.specs import level1, level2, level3, packed_band

    for level in (level1.ROUTINES, level2.ROUTINES, packed_band.ROUTINES, level3.ROUTINES):
        for s in level:
            assert SPECS[s.name] is s
    for name in SPECS:
        assert callable(getattr(ba, name)) and name in ba.__all__, name


def test_routines_accept_exactly_their_spec_dtypes(rng):
    """gemm, gemv and axpy exist in s, d, c and z; a routine is called with each dtype and must
    accept those in Spec.dtypes and reject the others (TypeError naming the routine and the dtype,
    nothing written)."""
    for name in ("gemm", "gemv", "axpy"):
        assert SPECS[name].dtypes == "sdcz", name
    for name, spec in SPECS.items():
        scalars = dict.fromkeys(_read_scalars(spec), "-0.7")
        for dt in DTYPES:
            flags = _flag_sets(spec, dt)[0]
            case = make_case(spec, DTYPES[dt], dict.fromkeys(_symbols(spec), 2), flags, scalars, "C", rng)
            args = case.args()
            if _has(spec, dt):
                _check_returned(case, case.routine(*args), args)
                continue
            before = {n: case.bases[n].copy() for n in case.written}
            message = f"{name}: .*{np.dtype(DTYPES[dt]).name}"
            with pytest.raises(TypeError, match=message):
                case.routine(*args)
            for n in case.written:
                assert case.bases[n].tobytes() == before[n].tobytes(), (name, dt, n)


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
    spec = case.spec
    args = case.args()

    # A written argument whose old value the formula does not read (β = 0, copy's y) may hold NaN.
    for i in case.written_index:
        if args[i].dtype.kind not in "fc":  # (written pivots: integers, no NaN)
            continue
        probe = [_copy(v) for v in args]
        probe[i] = np.full_like(probe[i], np.nan)
        try:
            with np.errstate(invalid="ignore"):
                unread = not any(np.isnan(r).any() for r in case.reference(*probe))
        except np.linalg.LinAlgError:  # a reference that reads it (an inverse of NaN raises)
            unread = False
        if unread:
            args[i][...] = _nan(args[i].dtype)

    before = {n: b.copy() for n, b in case.bases.items()}
    old = [_copy(v) for v in args]
    with np.errstate(invalid="ignore"):
        refs = case.reference(*old)
        bounds = case.reference(*_bound_args(case, old))

    res = case.routine(*args)

    _check_returned(case, res, args)
    if spec.rephase is not None:  # eigen- and singular vectors: the reference's with our signs/phases
        refs = spec.rephase(tuple(args[i] for i in case.written_index), refs)
    tol = FWD_TOL[case.dtype]
    for j, i in enumerate(case.written_index):
        name = spec.args[i].name
        _assert_close(args[i], refs[j], bounds[j], tol, f"forward vs spec.reference ({name})", case)
    for n, b in case.bases.items():
        if n not in case.written:
            assert b.tobytes() == before[n].tobytes(), f"input {n} was modified; {case}"
    for i in case.written_index:
        n = spec.args[i].name
        after = case.bases[n].copy()
        case.views[n](after)[...] = old[i]
        assert after.tobytes() == before[n].tobytes(), f"{n} was written outside its elements; {case}"

    oracle = ORACLES.get(spec.name)  # (SciPy lacks some: geadd is checked against its reference only)
    if oracle is not None and all(v.size > 0 for v in old if isinstance(v, np.ndarray) and v.ndim):
        expected = oracle(case.dtype, *old, **case.kw)
        expected = expected if isinstance(expected, tuple) else (expected,)
        if spec.rephase is not None:
            expected = spec.rephase(tuple(args[i] for i in case.written_index), expected)
        for j, i in enumerate(case.written_index):
            if expected[j] is None:  # a value SciPy does not return (rotg's r and z)
                continue
            name = spec.args[i].name
            _assert_close(
                args[i], expected[j], bounds[j], tol, f"forward vs scipy.linalg.blas ({name})", case
            )


# complex: constant complex numbers and integers, complex 0-d arrays (real numbers with complex
# arrays: test_scalar_must_fit_the_array_dtype); complex64 with fewer combinations
FORWARD_SCALARS = {
    "f32": ("0", "1", "-0.7", "arr", "arr0"),
    "f64": ("0", "1", "-0.7", "arr", "arr0"),
    "c64": ("1", "0.7-0.3j", "arr"),
    "c128": ("0", "0.7-0.3j", "arr", "arr0"),
}
FORWARD_PARAMS = [
    p
    for name, spec in SPECS.items()
    if _fast(name)
    for dt, tags in FORWARD_SCALARS.items()
    if _has(spec, dt)
    for flags, scalars in _combos(spec, dt, tags)
    for p in _param(name, flags, scalars, dt, id=_id(name, flags, scalars, dt))
]


@parametrize(("name", "flags", "scalars", "dt"), FORWARD_PARAMS)
def test_forward(name, flags, scalars, dt, rng):
    """Routines with a fast path: every layout scheme; dims cycle through random, 1 and 0 sizes."""
    spec = SPECS[name]
    sets = _dim_sets(spec, rng)
    start = int(rng.integers(len(sets)))
    for i, scheme in enumerate(SCHEMES):
        dims = sets[(start + i) % len(sets)]
        check_forward(make_case(spec, DTYPES[dt], dims, flags, scalars, scheme, rng))


# the other routines: every flag combination on two layout schemes, with scalar cases that rotate
# so that every read scalar takes every tag
FORWARD_TAGS = {
    "f32": ("0", "-0.7", "arr"),
    "f64": ("0", "1", "-0.7", "arr", "arr0"),
    "c64": ("0.7-0.3j", "arr"),
    "c128": ("0", "0.7-0.3j", "arr", "arr0"),
}
FORWARD_SPEC_PARAMS = [
    p
    for name, spec in SPECS.items()
    if not _fast(name)
    for dt in DTYPES
    if _has(spec, dt)
    for p in _param(name, dt, id=f"{name}-{dt}")
]


@parametrize(("name", "dt"), FORWARD_SPEC_PARAMS)
def test_forward_every_flag(name, dt, rng):
    spec = SPECS[name]
    sets = _dim_sets(spec, rng)
    tags = FORWARD_TAGS[dt]
    k = int(rng.integers(len(SCHEMES)))
    for flags in _flag_sets(spec, dt):
        for _ in range(2):
            k += 1
            scalars = _rotation(spec, tags, k)
            scheme = SCHEMES[(k * 3) % len(SCHEMES)]
            check_forward(make_case(spec, DTYPES[dt], sets[k % len(sets)], flags, scalars, scheme, rng))


def _allocatable(spec, name):
    """Is the output an `out` argument whose default is None (so a call may leave it out)?"""
    out = spec.output
    return out.out and inspect.signature(getattr(ba, name)).parameters[out.name].default is None


@pytest.mark.parametrize("name", SPECS)
def test_forward_allocates_missing_output(name, rng):
    """An output passed as None (where the signature allows it) starts as zeros."""
    spec = SPECS[name]
    if not _allocatable(spec, name):
        return  # the routine has no default output (axpy, and those updating in place)
    dim_sets = _dim_sets(spec, rng)
    for dims in dim_sets if _fast(name) else dim_sets[::2]:
        for dt in (d for d in DTYPES if _has(spec, d)):
            flags = _flag_sets(spec, dt)[-1]
            tag = "0.7-0.3j" if np.dtype(DTYPES[dt]).kind == "c" else "-0.7"
            scalars = dict.fromkeys(_read_scalars(spec), tag)
            case = make_case(spec, DTYPES[dt], dims, flags, scalars, "mixed", rng)
            args = case.args()
            i = case.out_index
            expected = args[i]
            args[i] = None
            res = case.routine(*args)
            res = res[case.written_index.index(i)] if isinstance(res, tuple) else res  # (gesdd: s, U, VT)
            ref_args = [_copy(v) for v in args]
            ref_args[i] = np.zeros(expected.shape, expected.dtype)
            ref = case.reference(*ref_args)[0]  # (the output's: the first written argument)
            bound = case.reference(*_bound_args(case, ref_args))[0]
            assert res.dtype == expected.dtype and res.shape == expected.shape
            _assert_close(res, ref, bound, FWD_TOL[np.dtype(DTYPES[dt])], "output=None", case)


# -- dtypes of the arguments must agree ---------------------------------------------------------------

# (dtype of the call, dtype of the one odd argument)
MIXES = [("f64", "c128"), ("f32", "c64"), ("c128", "f64"), ("c64", "f32"), ("c128", "c64"), ("c64", "c128")]


MIX_PARAMS = [
    p
    for name, spec in SPECS.items()
    if sum(a.kind in ARRAY_KINDS for a in spec.args) > 1  # one array alone cannot mix
    for dt, odd in MIXES
    if _has(spec, dt, odd)
    for p in _param(name, dt, odd, id=f"{name}-{dt}-with-{odd}")
]


@parametrize(("name", "dt", "odd"), MIX_PARAMS)
def test_mixed_array_dtypes_are_rejected(name, dt, odd, rng):
    """Complex never mixes with real, nor complex64 with complex128: each array argument in turn."""
    spec = SPECS[name]
    both = [f for f in _flag_sets(spec, dt) if f in _flag_sets(spec, odd)]  # valid for either dtype
    scalars = dict.fromkeys(_read_scalars(spec), "1")
    case = make_case(spec, DTYPES[dt], {s: 2 for s in _symbols(spec)}, both[-1], scalars, "C", rng)
    array_idx = [i for i, a in enumerate(spec.args) if a.kind in ARRAY_KINDS]
    real_arrays = [i for i in array_idx if spec.args[i].real][:1]  # (any: a real dtype may be named)
    for i in array_idx:
        if spec.args[i].real and np.dtype(DTYPES[odd]) == real_dtype(np.dtype(DTYPES[dt])):
            continue  # a real argument (syevd's w) of the call's real dtype: not odd
        args = case.args()
        args[i] = _random(rng, args[i].shape, DTYPES[odd])
        before = [np.array(v) for v in args if isinstance(v, np.ndarray)]
        with pytest.raises(TypeError, match=rf"{name}: mixed dtypes: ") as err:
            case.routine(*args)
        for dtype in (DTYPES[dt], DTYPES[odd]):  # the message names both dtypes (or their real ones)
            names = (np.dtype(dtype).name, *(real_dtype(np.dtype(dtype)).name for _ in real_arrays))
            assert any(n in str(err.value) for n in names), (str(err.value), case)
        after = [v for v in args if isinstance(v, np.ndarray)]
        assert all(a.tobytes() == b.tobytes() for a, b in zip(after, before)), f"argument {i} written"


def _scalar_cases(dt):
    """(value of one scalar argument, error fragment or None when accepted) for a scalar argument
    of dtype dt (the arrays' dtype, or its real dtype for a real argument)."""
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


SCALAR_PARAMS = [
    p
    for name, spec in SPECS.items()
    if _read_scalars(spec)
    for dt in DTYPES
    if _has(spec, dt)
    for p in _param(name, dt, id=f"{name}-{dt}")
]


@parametrize(("name", "dt"), SCALAR_PARAMS)
def test_scalar_must_fit_the_array_dtype(name, dt, rng):
    """Complex scalars (numbers or 0-d arrays) only with complex arrays and complex arguments; 0-d
    arrays of the argument's dtype exactly; real numbers always (then the forward matches
    spec.reference)."""
    spec = SPECS[name]
    flags = _flag_sets(spec, dt)[-1]
    scalar_names = _read_scalars(spec)
    for which in scalar_names:
        arg = spec.by_name[which]
        for value, error in _scalar_cases(real_dtype(np.dtype(DTYPES[dt])) if arg.real else DTYPES[dt]):
            scalars = dict.fromkeys(scalar_names, "1")
            case = make_case(spec, DTYPES[dt], {s: 3 for s in _symbols(spec)}, flags, scalars, "F", rng)
            args = case.args()
            i = next(j for j, a in enumerate(spec.args) if a.name == which)
            args[i] = value
            before = {n: case.bases[n].copy() for n in case.written}
            if error is not None:
                with pytest.raises(TypeError, match=f"{name}: {which} {error}"):
                    case.routine(*args)
                for n in case.written:
                    assert case.bases[n].tobytes() == before[n].tobytes()
                continue
            ref_args = [_copy(v) for v in args]
            refs = case.reference(*ref_args)
            bounds = case.reference(*_bound_args(case, ref_args))
            case.routine(*args)
            for j, k in enumerate(case.written_index):
                assert args[k].dtype == refs[j].dtype or args[k].dtype == np.dtype(DTYPES[dt])
                _assert_close(
                    args[k], refs[j], bounds[j], FWD_TOL[np.dtype(DTYPES[dt])], f"{which} = {value!r}", case
                )


# -- 2. adjoints against finite differences (float64, complex128) ----------------------------------


def _gradcheck(case, rng, const=()):
    names = list(case.bases)
    vals = [ba.Const(case.bases[n]) if n in const else case.bases[n] for n in names]
    g = ba.gradcheck(case.program(names), *vals, seed=int(rng.integers(2**31)))
    active = [n for n in names if n not in const and case.bases[n].dtype.kind in "fc"]  # (not pivots)
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
ADJ_MIN_CASES = 8  # routines without a fast path: max(2 × flag combinations, this) cases per dtype


def _adjoint_params():
    for dt, (tags, offsets) in ADJ_CASES.items():
        for name, spec in ((n, sp) for n, sp in SPECS.items() if _has(sp, dt)):
            if not _fast(name):  # one case per flag combination: rotating scalars and schemes
                sets = _flag_sets(spec, dt)
                for i in range(max(2 * len(sets), ADJ_MIN_CASES)):
                    # every scalar takes every tag: shifted once per pass over the flags (with one
                    # flag combination, or none, case i rotates by i alone)
                    k = i + i // len(sets) if len(sets) > 1 else i
                    flags, scalars = sets[i % len(sets)], _rotation(spec, tags, k)
                    scheme = SCHEMES[(3 * i + i // len(sets) + len(name)) % len(SCHEMES)]
                    yield from _param(
                        name, flags, scalars, scheme, dt, id=_id(name, flags, scalars, scheme, dt)
                    )
                continue
            per_flags = len(tags) ** len(_read_scalars(spec))  # combos per flag choice
            for i, (flags, scalars) in enumerate(_combos(spec, dt, tags)):
                for j in offsets or range(0, len(SCHEMES), per_flags):
                    scheme = SCHEMES[(i + j) % len(SCHEMES)]
                    yield from _param(
                        name, flags, scalars, scheme, dt, id=_id(name, flags, scalars, scheme, dt)
                    )


@parametrize(("name", "flags", "scalars", "scheme", "dt"), list(_adjoint_params()))
def test_adjoint_gradcheck(name, flags, scalars, scheme, dt, rng):
    """float64 and complex128 (every flag N/T/C, complex α/β constant or active) vs central differences."""
    spec = SPECS[name]
    dims = {s: int(rng.integers(1, 4)) for s in _symbols(spec)}
    _gradcheck(make_case(spec, DTYPES[dt], dims, flags, scalars, scheme, rng), rng)


def _const_choices(spec):
    """Each read-only input held constant in turn, then all of them."""
    inputs = [a.name for a in spec.args if a.kind not in ("flag", "pivots") and not _written(a)]
    return [[n] for n in inputs] + ([inputs] if len(inputs) > 1 else [])


def _const_params():
    for dt in ("f64", "c128"):
        for name, spec in ((n, sp) for n, sp in SPECS.items() if _has(sp, dt)):
            combos = _flag_sets(spec, dt)
            if not _fast(name):  # one item per routine: each choice once, flags rotating
                if _const_choices(spec):
                    yield from _param(name, None, None, None, dt, id=f"{name}-{dt}")
                continue
            for j, const in enumerate(_const_choices(spec)):
                for i, flags in enumerate(combos):
                    if dt == "c128" and (i + j) % 2:  # complex: every other flag combination
                        continue
                    scheme = SCHEMES[(i + 3 * j) % len(SCHEMES)]
                    label = "const=" + ("all-inputs" if len(const) > 1 else const[0])
                    yield from _param(
                        name, flags, tuple(const), scheme, dt, id=_id(name, flags, None, label, scheme, dt)
                    )


@parametrize(("name", "flags", "const", "scheme", "dt"), list(_const_params()))
def test_adjoint_with_constant_inputs(name, flags, const, scheme, dt, rng):
    """Const inputs (incl. a 0-d α/β held constant) skip their adjoints; the rest stay exact."""
    spec = SPECS[name]
    scalars = dict.fromkeys(_read_scalars(spec), "arr")
    cases = [(flags, const, scheme)]
    if flags is None:
        sets = _flag_sets(spec, dt)
        cases = [
            (sets[(j * 5) % len(sets)], tuple(c), SCHEMES[(3 * j + 1) % len(SCHEMES)])
            for j, c in enumerate(_const_choices(spec))
        ]
    for flags, const, scheme in cases:
        dims = {s: int(rng.integers(1, 4)) for s in _symbols(spec)}
        _gradcheck(make_case(spec, DTYPES[dt], dims, flags, scalars, scheme, rng), rng, const=const)


def _empty_params():
    for dt in ("f64", "c128"):
        for name, spec in ((n, sp) for n, sp in SPECS.items() if _has(sp, dt)):
            if not _fast(name):
                yield from _param(name, None, None, None, dt, id=f"{name}-{dt}")
                continue
            for j, zero in enumerate(_symbols(spec)):
                for i, flags in enumerate(_flag_sets(spec, dt)):
                    scheme = SCHEMES[(i + j + (dt == "c128")) % len(SCHEMES)]
                    yield from _param(
                        name, flags, zero, scheme, dt, id=_id(name, flags, None, f"{zero}=0", scheme, dt)
                    )


@parametrize(("name", "flags", "zero", "scheme", "dt"), list(_empty_params()))
def test_adjoint_with_an_empty_dim(name, flags, zero, scheme, dt, rng):
    spec = SPECS[name]
    scalars = dict.fromkeys(_read_scalars(spec), "arr")
    cases = [(flags, zero, scheme)]
    if flags is None:  # each dim 0 in turn, flags rotating
        sets = _flag_sets(spec, dt)
        cases = [
            (sets[(3 * j) % len(sets)], z, SCHEMES[(j + 2) % len(SCHEMES)])
            for j, z in enumerate(_symbols(spec))
        ]
    for flags, zero, scheme in cases:
        dims = {s: int(rng.integers(1, 4)) for s in _symbols(spec)}
        dims[zero] = 0
        _gradcheck(make_case(spec, DTYPES[dt], dims, flags, scalars, scheme, rng), rng)


# -- 3. the output's shadow, by construction ----------------------------------------------------------


def _autodiff(case, seeds, bases=None):
    """Run the call under ba.autodiff with every base Duplicated; returns (primals, shadows)."""
    bases = case.bases if bases is None else bases
    names = list(bases)
    prim = {n: bases[n].copy() for n in names}
    shadows = {n: seeds[n].copy() if bases[n].dtype.kind in "fc" else seeds[n] for n in names}
    ba.autodiff(
        case.program(names),
        *(ba.Duplicated(prim[n], shadows[n]) if prim[n].dtype.kind in "fc" else prim[n] for n in names),
    )  # (pivots: integers, never differentiated)
    return prim, shadows


def _out_coefficient(case):
    """c in out_new = c · out_old + (terms without out_old), from spec.reference: the difference of
    the new values for out_old = 2 and out_old = 1, every other array 0 (fill's α stays, and cancels)."""
    refs = []
    for old in (2, 1):
        probe = []
        for a, v in zip(case.spec.args, case.args()):
            if isinstance(v, np.ndarray):
                probe.append(np.full(v.shape, old, v.dtype) if a.out else np.zeros(v.shape, v.dtype))
            else:
                probe.append(v)
        refs.append(np.asarray(case.reference(*probe)[0]))
    ref = refs[0] - refs[1]
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
    return np.array(parts[0] + 1j * parts[1], dtype)  # an ndarray also for shape ()


def _exactly(got, expected, c):
    """conj(c) × seed compares by value; for c = 0 by bytes: the shadow is set to +0, not multiplied by
    0 (which would leave -0 for a negative seed and NaN for a NaN one)."""
    return got.tobytes() == expected.tobytes() if c == 0 else np.array_equal(got, expected)


def check_output_shadow(case, rng):
    out = case.out
    c = _out_coefficient(case)
    dtype = case.bases[out].dtype
    seed = _seed(rng, case.bases[out].shape, dtype)
    seeds = {n: np.zeros_like(b) for n, b in case.bases.items()}
    seeds[out] = seed
    prim, shadows = _autodiff(case, seeds)
    plain = {n: b.copy() for n, b in case.bases.items()}
    case.call(plain)  # no tape
    assert prim[out].tobytes() == plain[out].tobytes(), f"{out} differs when recorded on a tape; {case}"

    expected = seed.copy()  # the padding of the output's base keeps its seed
    view = case.views[out](expected)
    view[...] = 0 if c == 0 else np.conj(c) * view  # C̄ ← conj(β) C̄
    assert _exactly(shadows[out], expected, c), (
        f"output shadow should be exactly conj({c}) × seed: got {case.views[out](shadows[out])}, "
        f"expected {view}; {case}"
    )
    if c != 0:
        return

    # c = 0: the old output is not read. A NaN in its primal reaches no value and no adjoint ...
    nan_bases = {n: b.copy() for n, b in case.bases.items()}
    case.views[out](nan_bases[out])[...] = _nan(dtype)
    prim2, shadows2 = _autodiff(case, seeds, nan_bases)
    for n in case.bases:
        assert shadows2[n].tobytes() == shadows[n].tobytes(), f"NaN in {out}'s old value reached {n}̄; {case}"
    assert prim2[out].tobytes() == prim[out].tobytes(), f"NaN in {out}'s old value reached {out}; {case}"

    # ... and a NaN in its seed does not survive: the shadow is set to 0, not multiplied by 0.
    nan_seeds = {n: s.copy() for n, s in seeds.items()}
    case.views[out](nan_seeds[out])[...] = _nan(dtype)
    _, shadows3 = _autodiff(case, nan_seeds)
    assert _exactly(shadows3[out], expected, c), (
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
    p
    for name, spec in SPECS.items()
    if spec.seed_scaled
    for dt in DTYPES
    if _has(spec, dt)
    for flags in (_flag_sets(spec, dt) if _fast(name) else [None])
    for scheme in (STRUCT_SCHEMES.get(dt, SCHEMES) if _fast(name) else [None])
    for p in _param(name, flags, scheme, dt, id=_id(name, flags or {}, None, scheme or "", dt))
]


def _nonempty_output_zeros(spec, flags):
    """The dims that can be 0 while the output stays non-empty (its empty inputs)."""
    fl = {a.name: flags[a.name] for a in spec.args if a.kind == "flag"}
    out = spec.output
    syms = _symbols(spec)
    return [z for z in syms if all(spec.dims_for({**dict.fromkeys(syms, 2), z: 0}, fl)[s] for s in out.dims)]


@parametrize(("name", "flags", "scheme", "dt"), STRUCT_PARAMS)
def test_output_shadow_is_coefficient_times_seed(name, flags, scheme, dt, rng):
    """Spec.seed_scaled routines: gemm/gemv/symv-like: C̄ ← conj(β) C̄ (exactly 0 for β = 0); axpy:
    ȳ unchanged; copy and the reductions: ȳ ← 0. All scalars constant. Routines without a fast
    path: every flag combination, schemes and scalar cases rotating."""
    spec = SPECS[name]
    syms = _symbols(spec)
    scalar_names = _read_scalars(spec)
    tag_set = STRUCT_SCALARS[dt]
    if dt in ("f32", "f64"):
        tag_combos = list(itertools.product(tag_set, repeat=len(scalar_names)))
    else:  # complex: rotations, so that every scalar argument takes every value (β = 0 with complex α)
        tag_combos = [tuple(tag_set[(k + r) % len(tag_set)] for r in range(len(scalar_names))) for k in
                      range(len(tag_set))]  # fmt: skip
    runs = [(flags, scheme)] if flags is not None else [(f, None) for f in _flag_sets(spec, dt)]
    k = 0
    for flags, scheme in runs:
        dim_sets = [{s: int(rng.integers(2, 5)) for s in syms}, dict.fromkeys(syms, 1)]
        dim_sets += [{**dict.fromkeys(syms, 2), s: 0} for s in _nonempty_output_zeros(spec, flags)]
        for tags in tag_combos:
            for dims in dim_sets if scheme is not None else dim_sets[k % 2 :: 2]:
                k += 1
                sch = scheme or SCHEMES[(3 * k) % len(SCHEMES)]
                scalars = dict(zip(scalar_names, tags))
                check_output_shadow(make_case(spec, DTYPES[dt], dims, flags, scalars, sch, rng), rng)


# -- 4. single-precision adjoints against double-precision adjoints ----------------------------------

PRECISIONS = {"f32": ("f64", ("arr", "-0.7")), "c64": ("c128", ("arr", "0.7-0.3j"))}


def _precision_params():
    for low, (high, tags) in PRECISIONS.items():
        for name, spec in ((n, sp) for n, sp in SPECS.items() if _has(sp, low, high)):
            if not _fast(name):
                yield from _param(name, None, None, None, low, id=f"{name}-{low}")
                continue
            for i, (flags, scalars) in enumerate(_combos(spec, low, tags)):
                for scheme in (SCHEMES[i % len(SCHEMES)], SCHEMES[(i + 7) % len(SCHEMES)]):
                    yield from _param(
                        name, flags, scalars, scheme, low, id=_id(name, flags, scalars, scheme, low)
                    )


@parametrize(("name", "flags", "scalars", "scheme", "low"), list(_precision_params()))
def test_adjoint_single_matches_double_precision(name, flags, scalars, scheme, low, rng):
    """float32 vs float64 and complex64 vs complex128: the same program on the same values.
    Routines without a fast path: every flag combination once, schemes and scalars rotating."""
    spec = SPECS[name]
    high, tags = PRECISIONS[low]
    lo_t, hi_t = DTYPES[low], DTYPES[high]
    cases = [(flags, scalars, scheme)]
    if flags is None:
        cases = [
            (f, _rotation(spec, tags, i), SCHEMES[(3 * i + 2) % len(SCHEMES)])
            for i, f in enumerate(_flag_sets(spec, low))
        ]
    for flags, scalars, scheme in cases:
        dims = {s: int(rng.integers(2, 5)) for s in _symbols(spec)}
        c_lo = make_case(spec, lo_t, dims, flags, scalars, scheme, rng)
        c_hi = c_lo.astype(hi_t)  # the same values, exactly
        seeds = {n: _random(rng, b.shape, b.dtype) for n, b in c_lo.bases.items()}
        prim_lo, adj_lo = _autodiff(c_lo, seeds)
        prim_hi, adj_hi = _autodiff(c_hi, {n: s.astype(c_hi.bases[n].dtype) for n, s in seeds.items()})
        for n in c_lo.bases:
            for what, v_lo, v_hi in (("value", prim_lo[n], prim_hi[n]), ("adjoint", adj_lo[n], adj_hi[n])):
                assert v_lo.dtype == c_lo.bases[n].dtype and v_hi.dtype == c_hi.bases[n].dtype
                scale = 1.0 + float(np.abs(v_hi).max(initial=0.0))
                err = float(np.abs(v_lo.astype(v_hi.dtype) - v_hi).max(initial=0.0))
                assert err <= 1e-4 * scale, f"{what} of {n}: {low} differs from {high} by {err}; {c_lo}"


# -- empty outputs ----------------------------------------------------------------------------------


def _empties(spec, flags):
    """(written array argument, dim set to 0) pairs that make that argument empty."""
    fl = {a.name: flags[a.name] for a in spec.args if a.kind == "flag"}
    syms = _symbols(spec)
    pairs = []
    for a in spec.written:
        if a.kind not in ARRAY_KINDS:
            continue
        for z in syms:
            dims = spec.dims_for({**dict.fromkeys(syms, 2), z: 0}, fl)
            if not all(dims[s] for s in a.dims):
                pairs.append((a.name, z))
    return pairs


EMPTY_PARAMS = [
    p
    for name, spec in SPECS.items()
    for dt in DTYPES
    if _has(spec, dt) and _empties(spec, _flag_sets(spec, dt)[0])
    for p in _param(name, dt, id=f"{name}-{dt}")
]


@parametrize(("name", "dt"), EMPTY_PARAMS)
def test_empty_output_from_np_zeros_is_accepted(name, dt, rng):
    """np.zeros((2, 0)) has strides (0, 0); an empty output has no elements that could overlap."""
    spec = SPECS[name]
    flags = _flag_sets(spec, dt)[0]
    scalars = dict.fromkeys(_read_scalars(spec), "-0.7")
    for which, zero in _empties(spec, flags):
        dims = {**dict.fromkeys(_symbols(spec), 2), zero: 0}
        case = make_case(spec, DTYPES[dt], dims, flags, scalars, "ld", rng)
        args = case.args()
        i = next(j for j, a in enumerate(spec.args) if a.name == which)
        args[i] = out = np.zeros(args[i].shape, args[i].dtype)
        assert out.size == 0
        _check_returned(case, case.routine(*args), args)


def _empty_output_params():
    for dt in ("f64", "c128"):
        for name, spec in ((n, sp) for n, sp in SPECS.items() if _has(sp, dt)):
            if not _fast(name):
                if _empties(spec, _flag_sets(spec, dt)[0]):
                    yield from _param(name, None, None, None, dt, id=f"{name}-{dt}")
                continue
            for zero in spec.output.dims:
                for i, flags in enumerate(_flag_sets(spec, dt)):
                    # layouts whose empty views keep nonzero strides; complex: one of them per flag
                    for scheme in ("ld", "step") if dt == "f64" else (("ld", "step")[i % 2],):
                        yield from _param(
                            name, flags, zero, scheme, dt, id=_id(name, flags, None, f"{zero}=0", scheme, dt)
                        )


@parametrize(("name", "flags", "zero", "scheme", "dt"), list(_empty_output_params()))
def test_adjoint_through_an_empty_output_is_exactly_zero(name, flags, zero, scheme, dt, rng):
    """An empty output depends on nothing: every input's seed comes back exactly unchanged.

    A call of the same shape with the dim non-empty runs first, so that a scratch buffer the
    sweep reads without clearing holds stale nonzero values rather than fresh zeros. Routines
    without a fast path: each dim that empties a written argument, flags rotating."""
    spec = SPECS[name]
    scalars = dict.fromkeys(_read_scalars(spec), "arr")
    cases = [(flags, zero, scheme)]
    if flags is None:
        sets = _flag_sets(spec, dt)
        zeros = dict.fromkeys(z for f in sets for _, z in _empties(spec, f))
        cases = []
        for j, z in enumerate(zeros):  # flags under which z empties a written argument
            cands = [f for f in sets if any(zz == z for _, zz in _empties(spec, f))]
            cases.append((cands[(5 * j) % len(cands)], z, ("ld", "step")[j % 2]))
    for flags, zero, scheme in cases:
        dims = dict.fromkeys(_symbols(spec), 6 if _fast(name) else 4)
        full = make_case(spec, DTYPES[dt], dims, flags, scalars, scheme, rng)
        empty = make_case(spec, DTYPES[dt], {**dims, zero: 0}, flags, scalars, scheme, rng)
        for _ in range(2):
            _autodiff(full, {n: np.ones_like(b) for n, b in full.bases.items()})
            seeds = {n: _random(rng, b.shape, b.dtype) for n, b in empty.bases.items()}
            _, shadows = _autodiff(empty, seeds)
            for n in empty.bases:
                if n in empty.written and empty.bases[n].size:
                    continue  # a non-empty written argument (trmm's side-R A is read only) keeps its rules
                assert np.array_equal(shadows[n], seeds[n]), (
                    f"{n}̄ changed through an empty {empty.out}: {shadows[n] - seeds[n]}; {empty}"
                )
