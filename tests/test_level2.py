"""Level 2 routines: symv, hemv, trmv, trsv, ger, geru, gerc, syr, her, syr2, her2.

tests/test_routines.py checks every routine from its spec (forward against the reference and
SciPy, adjoints against finite differences and the dot-product test, the β = 0 output shadow,
dtype and scalar errors, allocated outputs). What stays here is what it does not generate:
  1. forward == SciPy's BLAS == the spec's NumPy reference for the routines with one or two flag
     combinations (the harness meets only two layout schemes per combination; trmv and trsv, with
     twelve, meet every scheme there), over every layout here (C, F, ld > rows, row-major
     ld > cols, staged negative and non-unit strides; strided and negative-stride vectors) with
     everything outside the written triangle bit-identical; sizes 0 and 1 under a tape;
  2. adjoints against central differences for the same routines over every layout here, and with
     α = 0 and β = 0 active;
  3. structure: A's shadow passes through exactly where A is not read (the other triangle, a unit
     diagonal) and everywhere for the rank updates; Im of a Hermitian diagonal; adjoints
     accumulate; her/her2's diagonal and hemv's ignored Im A_ii; ȳ ← +0 for β = 0 with x
     constant, in layouts the harness's β = 0 cases do not take;
  4. multi-call programs (copy-on-write of trsv's solution and trmv's snapshot), repeated
     arguments; float32/complex64 adjoints of the routines with one or two flag combinations.
"""

import itertools

import numpy as np
import pytest
from scipy.linalg.blas import get_blas_funcs

import blasad as ba
from blasad.specs import DTYPE_CODES, PREFIX
from blasad.specs.level2 import ROUTINES as LEVEL2

SPEC = {s.name: s for s in LEVEL2 if s.name != "gemv"}
# the dtypes BLAS defines each routine for (others raise TypeError)
DTYPES = {
    name: tuple(d for d in DTYPE_CODES if PREFIX[d] in spec.dtypes) for name, spec in SPEC.items()
}  # gemv: test_routines.py's core checks
TOL = {np.dtype(t): tol for t, tol in ((np.float32, 2e-5), (np.float64, 1e-12))}
TOL.update({np.dtype(np.complex64): 2e-5, np.dtype(np.complex128): 1e-12})


@pytest.fixture(autouse=True)
def dispatch_path():
    """Overrides conftest's (fast / validating): level 2 has no C fast path, so one run suffices."""
    return "generic"


# ---- layouts: (shape of a C-contiguous base, base -> view) ----------------------------------


def mat_layout(name, r, c):
    return {
        "C": ((r, c), lambda b: b),
        "F": ((c, r), lambda b: b.T),
        "ld": ((c + 1, r + 3), lambda b: b[1:, 1 : 1 + r].T),  # column-major, ld = r + 3
        "rowld": ((r + 2, c + 3), lambda b: b[1 : 1 + r, 2 : 2 + c]),  # row-major, ld = c + 3
        "rev": ((r, c), lambda b: b[::-1, ::-1]),  # staged through a copy
        "step": ((2 * r + 1, 2 * c + 1), lambda b: b[1::2, 1::2]),  # staged
    }[name]


def vec_layout(name, n):
    return {
        "C": ((n,), lambda b: b),
        "inc3": ((n, 3), lambda b: b[:, 1]),
        "neg": ((n,), lambda b: b[::-1]),
        "neg2": ((2 * n,), lambda b: b[::-2]),
        "step": ((2 * n + 1,), lambda b: b[1::2]),
    }[name]


# (matrix layout, vector layout): every matrix and vector layout appears
SCHEMES = (("C", "C"), ("F", "inc3"), ("ld", "neg"), ("rowld", "neg2"), ("rev", "step"), ("step", "C"))


def rand(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return np.asarray(x, dtype=dtype)


def flag_sets(name):
    """Every combination of the routine's flags, as dicts."""
    flags = [a for a in SPEC[name].args if a.kind == "flag"]
    return [
        dict(zip((a.name for a in flags), vals)) for vals in itertools.product(*(a.choices for a in flags))
    ]


def _id(flags):
    return "".join(flags.values()) or "-"


class Case:
    """One call of a routine: bases (C-contiguous; 0-d arrays for active scalars), how to make the
    views from them, constant scalars and flags."""

    def __init__(self, name, dtype, rng, scheme=("C", "C"), sizes=None, scalars=None, flags=None):
        self.spec = SPEC[name]
        self.name, self.dtype = name, np.dtype(dtype)
        sizes = sizes or {"m": 4, "n": 3} if name.startswith("ger") else sizes or {"n": 4}
        self.flags = flags or {}
        self.bases, self.makers, self.consts = {}, {}, {}
        real = self.dtype.char.lower()
        for a in self.spec.args:
            if a.kind == "scalar":
                v = (scalars or {}).get(a.name, 0.7 if a.name == "alpha" else 0.0)
                if isinstance(v, np.ndarray):
                    self.bases[a.name] = np.asarray(v, real if a.real else dtype)
                    self.makers[a.name] = lambda b: b
                else:
                    self.consts[a.name] = v
            elif a.kind in ("matrix", "vector"):
                dims = [sizes[s] for s in a.dims]
                shape, make = (
                    mat_layout(scheme[0], *dims) if a.kind == "matrix" else vec_layout(scheme[1], *dims)
                )
                self.bases[a.name] = rand(rng, shape, dtype)
                self.makers[a.name] = make
        if self.spec.by_name["A"].structure == "triangular":  # well conditioned: n on the diagonal
            view = self.makers["A"](self.bases["A"])
            view[np.diag_indices(view.shape[0])] += view.shape[0]

    def views(self, bases):
        return {k: self.makers[k](b) for k, b in bases.items()}

    def call_args(self, views):
        out = []
        for a in self.spec.args:
            if a.kind == "flag":
                out.append(self.flags[a.name])
            else:
                out.append(views[a.name] if a.name in views else self.consts[a.name])
        return out

    def run(self, *bases):
        """The program gradcheck differentiates: make the views, call the routine."""
        views = self.views(dict(zip(self.bases, bases)))
        return getattr(ba, self.name)(*self.call_args(views))

    def values(self):
        """Plain copies of every argument's value, in spec order (flags included)."""
        views = self.views(self.bases)
        return [np.array(v) if isinstance(v, np.ndarray) else v for v in self.call_args(views)]


def scipy_oracle(name, dtype, vals, flags):
    """The new value of the written argument by SciPy's BLAS (on contiguous copies)."""
    d = dict(zip((a.name for a in SPEC[name].args), vals))
    f = get_blas_funcs(name, dtype=dtype)
    lower = {"lower": int(flags.get("uplo") == "L")}
    alpha = d.get("alpha")
    if isinstance(alpha, np.ndarray):
        alpha = alpha[()]
    if name in ("symv", "hemv"):
        beta = d["beta"][()] if isinstance(d["beta"], np.ndarray) else d["beta"]
        return f(alpha, d["A"], d["x"], beta=beta, y=d["y"].copy(), **lower)
    if name in ("trmv", "trsv"):
        trans = {"N": 0, "T": 1, "C": 2}[flags["trans"]]
        return f(d["A"], d["x"].copy(), trans=trans, diag=int(flags["diag"] == "U"), **lower)
    if name.startswith("ger"):
        return f(alpha, d["x"], d["y"], a=d["A"].copy())
    if name in ("syr", "her"):
        return f(alpha, d["x"], a=d["A"].copy(), **lower)
    return f(alpha, d["x"], d["y"], a=d["A"].copy(), **lower)


def written_mask(name, n, flags):
    """Elements of A the routine may write: its uplo triangle (all of A for ger)."""
    if name.startswith("ger"):
        return None
    return np.triu(np.ones((n, n), bool)) if flags["uplo"] == "U" else np.tril(np.ones((n, n), bool))


# trmv and trsv have twelve flag combinations, enough for test_routines' forward, gradcheck and
# single-vs-double cases to meet every flag and every layout scheme in every dtype, on both
# dispatch paths; the other routines have one or two, and meet only some layouts there.
SWEPT = ("trmv", "trsv")


# ---- 1. forward ---------------------------------------------------------------------------------

FORWARD = [(n, dt, f) for n in SPEC if n not in SWEPT for dt in DTYPES[n] for f in flag_sets(n)]


@pytest.mark.parametrize("name,dtype,flags", FORWARD, ids=[f"{n}-{dt}-{_id(f)}" for n, dt, f in FORWARD])
def test_forward(name, dtype, flags, rng):
    cplx = dtype.kind == "c"
    alphas = (0.7, -1.3) if name == "her" or not cplx else (0.7 - 0.4j, -1.1 + 0.5j)
    for k, scheme in enumerate(SCHEMES):
        scalars = {"alpha": alphas[k % 2], "beta": (0.0, 1.0, -0.6 + (0.3j if cplx else 0))[k % 3]}
        if k == 5:  # α, β as 0-d arrays
            scalars = {a: np.array(v) for a, v in scalars.items()}
        case = Case(name, dtype, rng, scheme, scalars=scalars, flags=flags)
        vals = case.values()
        expect_ref = case.spec.reference(*vals)
        expect_blas = scipy_oracle(name, dtype, vals, flags)
        before = {k2: b.copy() for k2, b in case.bases.items()}
        out_name = case.spec.output.name
        out = case.run(*case.bases.values())
        views = case.views(case.bases)
        assert out is views[out_name] or np.shares_memory(out, case.bases[out_name])
        tol = TOL[dtype]
        np.testing.assert_allclose(views[out_name], expect_ref, rtol=tol, atol=tol, err_msg=str(scheme))
        np.testing.assert_allclose(views[out_name], expect_blas, rtol=tol, atol=tol, err_msg=str(scheme))
        for k2, b in case.bases.items():
            if k2 != out_name:  # inputs bit-identical
                assert np.array_equal(b, before[k2], equal_nan=True), k2
        # only the output's view (its written triangle) changed in its base
        marker = before[out_name].copy()
        view_before = case.makers[out_name](marker)
        mask = written_mask(name, view_before.shape[0], flags) if view_before.ndim == 2 else None
        view_before[...] = (
            np.where(mask, views[out_name], view_before) if mask is not None else views[out_name]
        )
        assert np.array_equal(case.bases[out_name], marker), scheme


@pytest.mark.parametrize("name", list(SPEC))
@pytest.mark.parametrize("n", [0, 1])
def test_small_sizes(name, n, rng):
    dtype = DTYPES[name][-1]
    flags = flag_sets(name)[-1]
    case = Case(name, dtype, rng, sizes={"m": n, "n": n}, scalars={"alpha": 0.5, "beta": 0.5}, flags=flags)
    vals = case.values()
    expect = case.spec.reference(*vals)
    dA = {k: np.zeros_like(b) for k, b in case.bases.items()}
    ba.autodiff(case.run, *(ba.Duplicated(b, dA[k]) for k, b in case.bases.items()))
    out = case.views(case.bases)[case.spec.output.name]
    np.testing.assert_allclose(out, expect, rtol=1e-12, atol=1e-12)


def test_her_her2_diagonal_and_zero_alpha(rng):
    """her/her2 zero Im A_ii (as OpenBLAS); with α = 0 they return at once and keep it."""
    for name, alpha in (("her", 0.6), ("her", 0.0), ("her2", 0.3j), ("her2", 0.0)):
        case = Case(name, np.complex128, rng, scalars={"alpha": alpha}, flags={"uplo": "L"})
        vals = case.values()  # before the call
        A0 = vals[-2].copy()
        out = case.run(*case.bases.values())
        if alpha == 0:
            assert np.array_equal(out, A0)
        else:
            assert np.all(out.diagonal().imag == 0) and np.all(A0.diagonal().imag != 0)
        np.testing.assert_allclose(out, case.spec.reference(*vals), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(out, scipy_oracle(name, np.complex128, vals, {"uplo": "L"}), atol=1e-13)


def test_hemv_ignores_imaginary_diagonal(rng):
    A = rand(rng, (4, 4), np.complex128)
    x = rand(rng, 4, np.complex128)
    y1 = ba.hemv(1.0, A, x)
    A2 = A.copy()
    A2[np.diag_indices(4)] = A.diagonal().real
    assert np.array_equal(y1, ba.hemv(1.0, A2, x))


# ---- 2. adjoints vs finite differences -----------------------------------------------------------

ADJ = [
    (n, dt, f, i)
    for n in SPEC
    if n not in SWEPT
    for dt in DTYPES[n]
    if dt.itemsize * (1 if dt.kind == "c" else 2) == 16
    for i, f in enumerate(flag_sets(n))
]


@pytest.mark.parametrize("name,dtype,flags,i", ADJ, ids=[f"{n}-{dt}-{_id(f)}" for n, dt, f, i in ADJ])
def test_adjoint(name, dtype, flags, i, rng):
    cplx = dtype.kind == "c"
    alpha = 0.8 if name == "her" or not cplx else 0.8 - 0.5j
    for j, scheme in enumerate(SCHEMES):
        active = (i + j) % 2 == 1
        scalars = {"alpha": alpha, "beta": (0.6 + 0.2j) if cplx else 0.6}
        if active:
            scalars = {a: np.array(v) for a, v in scalars.items()}
        case = Case(name, dtype, rng, scheme, scalars=scalars, flags=flags)
        g = ba.gradcheck(case.run, *case.bases.values())
        assert g.ok, (scheme, active, g.max_abs_error, g.dot_adjoint, g.dot_numeric)
        assert abs(g.dot_adjoint - g.dot_numeric) <= 1e-6 * max(1.0, abs(g.dot_numeric))


def test_adjoint_zero_alpha_beta(rng):
    """α = 0 and β = 0 as active 0-d arrays: ᾱ and β̄ still flow (her/her2: α = 0 keeps Im A_ii)."""
    for name, dtype in (("symv", np.float64), ("hemv", np.complex128), ("her", np.complex128),
                        ("her2", np.complex128), ("syr2", np.float64), ("gerc", np.complex128)):  # fmt: skip
        scalars = {"alpha": np.array(0.0), "beta": np.array(0.0)}
        case = Case(name, dtype, rng, scalars=scalars, flags=flag_sets(name)[-1])
        if name in ("her", "her2"):  # α = 0 is a jump in Im A_ii: perturb α only through constants
            case.consts["alpha"] = 0.0
            del case.bases["alpha"], case.makers["alpha"]
        g = ba.gradcheck(case.run, *case.bases.values())
        assert g.ok, (name, g.max_abs_error)


# ---- 3. structure: exact zeros and untouched shadows ----------------------------------------------


def _shadows(case, rng, nan_out=False):
    """Run the case under autodiff with random initial shadows; returns (initial, final) shadows."""
    init = {k: rand(rng, b.shape, b.dtype) for k, b in case.bases.items()}
    if nan_out:
        init[case.spec.output.name][...] = np.nan
    final = {k: v.copy() for k, v in init.items()}
    ba.autodiff(case.run, *(ba.Duplicated(b, final[k]) for k, b in case.bases.items()))
    return init, final


def passes_through(name, flags, shape):
    """Where Ā keeps its seed: the triangle a routine does not read, and a unit diagonal (symv,
    hemv, trmv, trsv); all of A for the rank updates, which only add to it (A ← A + ...)."""
    if name not in ("symv", "hemv", "trmv", "trsv"):
        return np.ones(shape, bool)
    read = np.triu(np.ones(shape, bool), 1 if flags.get("diag") == "U" else 0)
    return ~(read if flags["uplo"] == "U" else read.T)


@pytest.mark.parametrize("scheme", [("C", "C"), ("F", "neg"), ("F", "inc3")], ids=["C", "F-neg", "F-inc3"])
@pytest.mark.parametrize("name", list(SPEC))
def test_shadow_of_a_passes_through_where_a_is_not_read(name, scheme, rng):
    """Every flag combination, float64 and complex128: Ā is bit-identical to its seed where A is
    not read, and every element of its read part gets an adjoint. hemv: Im Ā_ii unchanged (Im A_ii
    is not read); her/her2 (α ≠ 0) zero Im Ā_ii, as they zero Im A_ii."""
    for dtype in (dt for dt in DTYPES[name] if dt in (np.float64, np.complex128)):
        for flags in flag_sets(name):
            case = Case(name, dtype, rng, scheme, scalars={"alpha": 0.7, "beta": 0.4}, flags=flags)
            init, final = _shadows(case, rng)
            dA0, dA = case.makers["A"](init["A"]), case.makers["A"](final["A"])
            keep = passes_through(name, flags, dA.shape)
            if name in ("her", "her2"):
                dA0 = dA0.copy()
                dA0[np.diag_indices(dA0.shape[0])] = dA0.diagonal().real
            what = (name, dtype, flags)
            assert np.array_equal(dA[keep], dA0[keep]), what
            assert np.all(dA[~keep] != dA0[~keep]), what
            if name == "hemv":
                assert np.array_equal(dA.diagonal().imag, dA0.diagonal().imag), what
            if keep.all():  # the rank updates: x still gets an adjoint
                assert not np.array_equal(final["x"], init["x"]), what


def test_beta_zero_output_shadow_exactly_zero(rng):
    """β = 0 with x constant, A in F order and y reversed (layouts the harness's β = 0 cases of
    symv/hemv do not take): ȳ ← +0 even for a NaN seed, and a NaN in y reaches nothing."""
    for name, dtype in (("symv", np.float64), ("hemv", np.complex128)):
        case = Case(name, dtype, rng, ("F", "neg"), scalars={"alpha": 0.5, "beta": 0.0}, flags={"uplo": "U"})
        case.bases["y"][...] = np.nan  # not read with β = 0: reaches nothing
        init = {k: np.zeros_like(b) for k, b in case.bases.items()}
        init["y"][...] = np.nan  # a NaN seed does not survive
        final = {k: v.copy() for k, v in init.items()}
        ba.autodiff(
            case.run,
            ba.Duplicated(case.bases["A"], final["A"]),
            ba.Const(case.bases["x"]),
            ba.Duplicated(case.bases["y"], final["y"]),
        )
        assert np.all(final["y"] == 0) and not np.any(np.signbit(final["y"].real))
        dy = rand(rng, 4, dtype)
        dA = np.zeros((4, 4), dtype)
        f, x = getattr(ba, name), case.bases["x"]
        ba.autodiff(
            lambda A, y, f=f, x=x: f(0.5, A, x, 0.0, y),
            ba.Duplicated(case.bases["A"].copy(), dA),
            ba.Duplicated(np.full(4, np.nan, dtype), dy),
        )
        assert np.all(np.isfinite(dA)) and np.all(dy == 0)


def test_adjoints_accumulate(rng):
    """x̄ += ..., never =: a nonzero initial shadow is added to."""
    for name in ("symv", "hemv", "syr2", "her2", "gerc", "trmv"):
        dtype = DTYPES[name][-1]
        flags = flag_sets(name)[-1]
        case = Case(name, dtype, rng, flags=flags)
        zero = {k: np.zeros_like(b) for k, b in case.bases.items()}
        seed = rand(rng, case.bases[case.spec.output.name].shape, dtype)
        zero[case.spec.output.name] = seed.copy()
        init = {k: v.copy() for k, v in zero.items()}
        for k in init:
            if k != case.spec.output.name:
                init[k] = rand(rng, init[k].shape, dtype)
        runs = []
        for start in (zero, init):
            sh = {k: v.copy() for k, v in start.items()}
            bases = {k: b.copy() for k, b in case.bases.items()}
            ba.autodiff(case.run, *(ba.Duplicated(bases[k], sh[k]) for k in bases))
            runs.append(sh)
        for k in case.bases:
            if k != case.spec.output.name:
                np.testing.assert_allclose(runs[1][k], init[k] + runs[0][k], rtol=1e-13, atol=1e-13)


# ---- 4. programs, repeated arguments, single precision --------------------------------------------


def _check(f, *args):
    g = ba.gradcheck(f, *args)
    assert g.ok, (g.max_abs_error, g.dot_adjoint, g.dot_numeric)


def _tri_matrix(rng, n, dtype):
    return rand(rng, (n, n), dtype) + n * np.eye(n)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_programs(dtype, rng):
    n = 4
    A, x, y = _tri_matrix(rng, n, dtype), rand(rng, n, dtype), rand(rng, n, dtype)
    cplx = np.dtype(dtype).kind == "c"
    mv = ba.hemv if cplx else ba.symv
    r1 = ba.her if cplx else ba.syr
    r2 = ba.her2 if cplx else ba.syr2
    ger = ba.geru if cplx else ba.ger

    def solve_twice(A, x):  # the second trsv overwrites the solution the first one's Ā reads
        ba.trsv(A, x, "L")
        ba.trsv(A[::-1, ::-1].T, x[::-1], "U", "C")

    def tri_chain(A, x):
        ba.trmv(A.T, x, "U", "T", "U")
        ba.trsv(A, x, "U", "N", "N")
        ba.trmv(A, x[::-1], "L", "C", "N")

    def rank_then_read(A, x, y):  # A updated between two reads of it
        z = mv(0.6, A, x, 0.0, None, "L")
        r1(0.3, z, A, "L")
        mv(1.0, A, z, 0.5, y, "L")
        r2(0.2, x, y, A, "L")
        ger(0.5, y, x[::-1], A)
        ba.trsv(A, x, "L")

    def repeated(A, x, y):  # x as both vectors, a row of A as x
        ger(0.4, x, x, A)
        r2(0.3, x, x, A)
        mv(0.7, A, A[1], 1.0, y, "U")

    _check(solve_twice, A, x)
    _check(tri_chain, A, x)
    _check(rank_then_read, A, x, y)
    _check(repeated, A, x, y)


def test_copy_on_write_saves_only_what_is_overwritten(rng):
    n = 5
    A, x, z = _tri_matrix(rng, n, np.float64), rand(rng, n, np.float64), rand(rng, n, np.float64)
    with ba.Tape() as tape:  # trsv reads its solution by reference: nothing copied
        tape.watch(A, x)
        ba.trsv(A, x)
    assert tape.bytes_copied == 0
    with ba.Tape() as tape:  # ... until a later call overwrites it
        tape.watch(A, x)
        ba.trsv(A, x)
        ba.axpy(1.0, z, x)
    assert tape.bytes_copied == n * 8
    with ba.Tape() as tape:  # trmv's Ā needs x before the call: a snapshot
        tape.watch(A, x)
        ba.trmv(A, x)
    assert tape.bytes_copied == n * 8
    with ba.Tape() as tape:  # A constant: no snapshot
        tape.watch(x)
        ba.trmv(A, x)
    assert tape.bytes_copied == 0


@pytest.mark.parametrize("name", [n for n in SPEC if n not in SWEPT])
def test_single_precision_adjoints(name, rng):
    """float32/complex64 adjoints == float64/complex128 adjoints of the same program."""
    flags = flag_sets(name)[-1]
    scalars = {"alpha": np.array(0.7), "beta": np.array(0.3)}
    case = Case(name, DTYPES[name][-1], rng, ("F", "neg"), scalars=scalars, flags=flags)
    seeds = {k: rand(rng, b.shape, b.dtype) for k, b in case.bases.items()}
    low = {"d": np.float32, "D": np.complex64}
    results = []
    for single in (False, True):
        bases = {k: b.astype(low[b.dtype.char]) if single else b.copy() for k, b in case.bases.items()}
        sh = {k: seeds[k].astype(bases[k].dtype) for k in bases}
        ba.autodiff(case.run, *(ba.Duplicated(bases[k], sh[k]) for k in bases))
        results.append(sh)
    for k in case.bases:
        scale = max(1.0, float(np.abs(results[0][k]).max()))
        np.testing.assert_allclose(results[1][k], results[0][k], rtol=1e-4, atol=1e-4 * scale)
