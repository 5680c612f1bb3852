"""Level 3: symm, hemm, syrk, herk, syr2k, her2k, trmm, trsm.

Forward against SciPy's BLAS and the spec references in every dtype BLAS defines, over every
flag and several layouts (C, F, ld > rows, row-major ld > cols, transposed views, strided and
reversed views that need staging); adjoints in float64 and complex128 against finite
differences (ba.gradcheck, layouts made inside the programs); structure (one triangle read,
one triangle written, unit diagonals); zero coefficients; copy-on-write of trsm's solution.

tests/test_routines.py checks every routine from its spec with two layout schemes per flag
combination. Where that meets every flag and every layout used here (harness_swept) the
forward and gradcheck sweeps below leave the routine to it; allocated outputs and scalar
dtype errors are left to it altogether.
"""

import itertools

import numpy as np
import pytest
from scipy.linalg import blas as scipy_blas

import blasad as ba
from blasad.specs import level3 as L3

ALL = (np.float32, np.float64, np.complex64, np.complex128)
AD = (np.float64, np.complex128)
TOL = {np.float32: 2e-5, np.float64: 1e-12, np.complex64: 2e-5, np.complex128: 1e-12}
LAYOUTS = ("C", "F", "ld", "rowld", "step", "rev")
FLAG = {
    "side": {"L": 0, "R": 1},
    "uplo": {"U": 0, "L": 1},
    "trans": {"N": 0, "T": 1, "C": 2},
    "diag": {"N": 0, "U": 1},
}


def _layout(name, r, c):
    """(shape of a C-contiguous base, base -> r x c view)."""
    return {
        "C": ((r, c), lambda b: b),
        "F": ((c, r), lambda b: b.T),  # a transposed view: column-major
        "ld": ((c + 1, r + 3), lambda b: b[1:, 1 : 1 + r].T),  # column-major, ld = r + 3
        "rowld": ((r + 2, c + 3), lambda b: b[1 : 1 + r, 2 : 2 + c]),  # row-major, ld = c + 3
        "step": ((2 * r + 1, 2 * c + 1), lambda b: b[1::2, 1::2]),  # no unit stride: staged
        "rev": ((r, c), lambda b: b[::-1]),  # negative stride: staged
    }[name]


def _rand(rng, shape, dt):
    x = rng.standard_normal(shape)
    if np.dtype(dt).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return np.asarray(x, dtype=dt)


def _base(rng, name, shape, dt):
    """A random base and its view of `shape` in layout `name`."""
    bshape, view = _layout(name, *shape)
    b = _rand(rng, bshape, dt)
    return b, view


def _real(dt):
    return np.dtype(dt).char.lower()


# ---- the routines' shapes, flags and SciPy oracles -------------------------------------------

FAMILY = {
    "symm": "mm", "hemm": "mm", "syrk": "rk", "herk": "rk",
    "syr2k": "r2k", "her2k": "r2k", "trmm": "tr", "trsm": "tr",
}  # fmt: skip
TRANS = {"syrk": "NTC", "herk": "NC", "syr2k": "NTC", "her2k": "NC"}
HERM = {"hemm", "herk", "her2k"}


def dtypes(name, among=ALL):
    return [dt for dt in among if name not in HERM or np.dtype(dt).kind == "c"]


def flag_combos(name, dt):
    """Every flag combination the routine takes in dtype dt."""
    fam = FAMILY[name]
    if fam == "mm":
        keys, vals = ("side", "uplo"), ("LR", "UL")
    elif fam in ("rk", "r2k"):
        tr = TRANS[name] if np.dtype(dt).kind == "f" or name in HERM else "NT"  # complex symmetric: no C
        keys, vals = ("uplo", "trans"), ("UL", tr)
    else:
        keys, vals = ("side", "uplo", "trans_a", "diag"), ("LR", "UL", "NTC", "NU")
    return [dict(zip(keys, v)) for v in itertools.product(*vals)]


def shapes(name, flags, m=3, n=4, k=2):
    """Logical shapes of the array arguments, in signature order."""
    fam = FAMILY[name]
    if fam == "mm":
        ka = m if flags["side"] == "L" else n
        return {"A": (ka, ka), "B": (m, n), "C": (m, n)}
    if fam in ("rk", "r2k"):
        a = (n, k) if flags["trans"] == "N" else (k, n)
        return {"A": a, "B": a, "C": (n, n)} if fam == "r2k" else {"A": a, "C": (n, n)}
    ka = m if flags["side"] == "L" else n
    return {"A": (ka, ka), "B": (m, n)}


def scalars(name, dt, rng, active):
    """α, β: Python numbers or (active) 0-d arrays, of the routine's scalar dtypes."""
    cplx = np.dtype(dt).kind == "c"
    alpha_real = name == "herk"
    beta_real = name in ("herk", "her2k")
    a = 0.7 + (0.4j if cplx and not alpha_real else 0)
    b = -0.6 + (0.3j if cplx and not beta_real else 0)
    if not active:
        return a, b
    return np.array(a, _real(dt) if alpha_real else dt), np.array(b, _real(dt) if beta_real else dt)


def call(name, alpha, beta, arrs, flags):
    """The public call with views already made."""
    fam = FAMILY[name]
    f = getattr(ba, name)
    if fam == "mm":
        return f(alpha, arrs["A"], arrs["B"], beta, arrs["C"], flags["side"], flags["uplo"])
    if fam == "rk":
        return f(alpha, arrs["A"], beta, arrs["C"], flags["uplo"], flags["trans"])
    if fam == "r2k":
        return f(alpha, arrs["A"], arrs["B"], beta, arrs["C"], flags["uplo"], flags["trans"])
    return f(alpha, arrs["A"], arrs["B"], flags["side"], flags["uplo"], flags["trans_a"], flags["diag"])


def reference(name, alpha, beta, arrs, flags):
    spec = {s.name: s for s in L3.ROUTINES}[name]
    vals = {"alpha": alpha, "beta": beta, **arrs, **flags}
    return spec.reference(*(vals[a.name] for a in spec.args))


def scipy_call(name, alpha, beta, arrs, flags):
    f = scipy_blas.get_blas_funcs(name, dtype=arrs["A"].dtype)
    F = {k: np.asfortranarray(v) for k, v in arrs.items()}
    fam = FAMILY[name]
    if fam == "mm":
        return f(
            alpha,
            F["A"],
            F["B"],
            beta,
            F["C"],
            side=FLAG["side"][flags["side"]],
            lower=FLAG["uplo"][flags["uplo"]],
        )
    if fam in ("rk", "r2k"):
        kw = {"trans": FLAG["trans"][flags["trans"]], "lower": FLAG["uplo"][flags["uplo"]]}
        if fam == "rk":
            return f(alpha, F["A"], beta, F["C"], **kw)
        return f(alpha, F["A"], F["B"], beta, F["C"], **kw)
    return f(
        alpha, F["A"], F["B"], side=FLAG["side"][flags["side"]], lower=FLAG["uplo"][flags["uplo"]],
        trans_a=FLAG["trans"][flags["trans_a"]], diag=FLAG["diag"][flags["diag"]],
    )  # fmt: skip


def well_conditioned(name, A):
    """trsm: a triangular A with a dominant diagonal."""
    if name == "trsm":
        A += A.shape[0] * np.eye(A.shape[0], dtype=A.dtype)
    return A


def written(name):
    return "B" if FAMILY[name] == "tr" else "C"


def harness_swept(name, dt, gradcheck=False):
    """Does test_routines meet every flag combination and every layout of the sweeps here for
    (name, dt), on both dispatch paths? Its forward cases step through all ten layout schemes
    when a routine has five flag combinations or more (trmm, trsm: 24; syrk, syr2k in real dtypes:
    6); its gradcheck cases do for trmm and trsm."""
    if gradcheck:
        return name in ("trmm", "trsm")
    return len(flag_combos(name, dt)) >= 5


# ---- forward -------------------------------------------------------------------------------------


FWD = [
    pytest.param(name, dt, id=f"{name}-{np.dtype(dt).name}")
    for name in FAMILY
    for dt in dtypes(name)
    if not harness_swept(name, dt)
]


@pytest.mark.parametrize(("name", "dt"), FWD)
def test_forward_matches_scipy_and_reference(name, dt, rng):
    """Every flag combination, rotating layouts over the arguments, β = 0 and β ≠ 0."""
    out = written(name)
    for i, flags in enumerate(flag_combos(name, dt)):
        for j, beta_zero in enumerate((False, True)):
            alpha, beta = scalars(name, dt, rng, active=False)
            if beta_zero:
                beta = 0.0
            shp = shapes(name, flags)
            bases, views, arrs = {}, {}, {}
            for a_i, (arg, s) in enumerate(shp.items()):
                lay = LAYOUTS[(i + 2 * j + a_i) % len(LAYOUTS)]
                bases[arg], views[arg] = _base(rng, lay, s, dt)
                v = views[arg](bases[arg])
                if arg == "A":
                    well_conditioned(name, v)
                arrs[arg] = v
            logical = {k: v.copy() for k, v in arrs.items()}
            before = {k: b.copy() for k, b in bases.items()}
            ref = reference(name, alpha, beta, logical, flags)
            sp = scipy_call(name, alpha, beta, logical, flags)
            res = call(name, alpha, beta, arrs, flags)
            what = f"{name} {np.dtype(dt).name} {flags} beta={beta}"
            assert res is arrs[out], what
            tol = TOL[dt] * (1 + np.abs(ref).max())
            assert np.abs(arrs[out] - ref).max() <= tol, what
            assert np.abs(arrs[out] - sp).max() <= tol, what
            for k in shp:  # inputs bit-identical; only the output's view of its base changes
                if k != out:
                    np.testing.assert_array_equal(bases[k], before[k], err_msg=what)
            outside = np.ones(bases[out].shape, bool)
            views[out](outside)[...] = False
            np.testing.assert_array_equal(bases[out][outside], before[out][outside], err_msg=what)


@pytest.mark.parametrize("name", ["syrk", "herk", "syr2k", "her2k"])
def test_beta_zero_does_not_read_c(name, rng):
    """With β = 0 a NaN in C does not reach the written triangle, and the other triangle keeps it.
    (symm, hemm: test_routines puts NaN in C whenever β = 0; a rank-k update's reference reads
    the other triangle, so there it does not.)"""
    dt = np.complex128
    flags = flag_combos(name, dt)[0]
    arrs = {k: _rand(rng, s, dt) for k, s in shapes(name, flags).items()}
    C = arrs["C"]
    C[...] = np.nan
    call(name, 0.5, 0.0, arrs, flags)
    tri = np.triu(np.ones(C.shape, bool))
    assert np.all(np.isfinite(C[tri])) and np.all(np.isnan(C[~tri]))


def test_herk_her2k_diagonal_imaginary_part():
    """herk/her2k zero Im C_ii, except in BLAS's quick return (β = 1 and α = 0 or k = 0)."""
    rng = np.random.default_rng(1)
    A, B = _rand(rng, (3, 2), np.complex128), _rand(rng, (3, 2), np.complex128)
    for beta, alpha, k in ((0.5, 1.0, 2), (1.0, 1.0, 2), (1.0, 0.0, 2), (1.0, 1.0, 0), (0.0, 0.0, 0)):
        for name in ("herk", "her2k"):
            C = _rand(rng, (3, 3), np.complex128)
            ref = scipy_call(
                name, alpha, beta, {"A": A[:, :k], "B": B[:, :k], "C": C}, {"uplo": "U", "trans": "N"}
            )
            args = (alpha, A[:, :k], beta, C) if name == "herk" else (alpha, A[:, :k], B[:, :k], beta, C)
            getattr(ba, name)(*args)
            np.testing.assert_allclose(C, ref, rtol=1e-13, atol=1e-13)
            quick = beta == 1 and (alpha == 0 or k == 0)
            assert np.all(np.diag(C).imag != 0) if quick else np.all(np.diag(C).imag == 0)


# ---- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HERM))
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_hermitian_routines_reject_real(name, dt):
    flags = flag_combos(name, np.complex128)[0]
    arrs = {k: np.ones(s, dt) for k, s in shapes(name, flags).items()}
    with pytest.raises(TypeError, match=f"{name}: .*complex"):
        call(name, 1.0, 0.0, arrs, flags)


@pytest.mark.parametrize("name", ["symm", "hemm", "trmm", "trsm"])
def test_a_shape_follows_side(name):
    dt = np.complex128
    for side, bad in (("L", (4, 4)), ("R", (3, 3)), ("L", (3, 4))):
        flags = {**flag_combos(name, dt)[0], "side": side}
        arrs = {k: np.ones(s, dt) for k, s in shapes(name, flags).items()}
        arrs["A"] = np.ones(bad, dt)
        with pytest.raises(ValueError, match=f"{name}: A has shape"):
            call(name, 1.0, 0.0, arrs, flags)


@pytest.mark.parametrize("name", ["syrk", "syr2k"])
def test_complex_symmetric_rank_k_rejects_conjugate_transpose(name):
    arrs = {k: np.ones(s, np.complex64) for k, s in shapes(name, {"trans": "C"}).items()}
    with pytest.raises(ValueError, match="trans 'C'"):
        call(name, 1.0, 0.0, arrs, {"uplo": "U", "trans": "C"})


# ---- adjoints ------------------------------------------------------------------------------------


def gradcheck_case(name, dt, flags, layouts, active, rng, beta=None):
    """ba.gradcheck of one call on bases whose views (in `layouts`) the program makes itself;
    α, β active 0-d arrays when `active` (trmm, trsm: α only)."""
    shp = shapes(name, flags)
    views = [_layout(lay, *s)[1] for s, lay in zip(shp.values(), layouts)]
    args = []
    for (k, s), lay in zip(shp.items(), layouts):
        bshape, view = _layout(lay, *s)
        args.append(_rand(rng, bshape, dt))
        if k == "A":
            well_conditioned(name, view(args[-1]))
    alpha, beta0 = scalars(name, dt, rng, active)
    if beta is not None:
        beta0 = np.array(beta, beta0.dtype) if active else beta
    nscal = (1 if FAMILY[name] == "tr" else 2) if active else 0
    extra = [alpha, beta0][:nscal]

    def f(*xs):
        arrs = {k: v(b) for k, v, b in zip(shp, views, xs)}
        a, b = (list(xs[len(shp) :]) + [alpha, beta0][nscal:])[:2]
        call(name, a, b, arrs, flags)

    g = ba.gradcheck(f, *args, *extra)
    what = f"{name} {np.dtype(dt).name} {flags} layouts={layouts} active={active}"
    assert g.ok, f"{what}: max error {g.max_abs_error}, dot {g.dot_adjoint} vs {g.dot_numeric}"
    assert abs(g.dot_adjoint - g.dot_numeric) <= 1e-6 * max(1.0, abs(g.dot_numeric)), what


ADJ_LAYOUTS = (
    ("C", "C", "C"),
    ("F", "ld", "rowld"),
    ("rowld", "F", "ld"),
    ("ld", "rowld", "F"),
    ("step", "rev", "C"),
)
ADJ = [
    pytest.param(name, dt, id=f"{name}-{np.dtype(dt).name}")
    for name in FAMILY
    for dt in dtypes(name, AD)
    if not harness_swept(name, dt, gradcheck=True)
]


@pytest.mark.parametrize(("name", "dt"), ADJ)
def test_adjoint_gradcheck(name, dt, rng):
    """Every flag combination, layouts rotating over column-major, row-major, transposed views and
    staged ones; α, β constant and active."""
    for i, flags in enumerate(flag_combos(name, dt)):
        for active in (False, True):
            layouts = ADJ_LAYOUTS[(2 * i + active) % len(ADJ_LAYOUTS)]
            gradcheck_case(name, dt, flags, layouts, active, rng)


@pytest.mark.parametrize("name", ["symm", "syrk", "syr2k", "herk", "her2k"])
def test_adjoint_beta_zero_and_one(name, rng):
    dt = np.complex128 if name in HERM else np.float64
    for beta in (0.0, 1.0):
        for flags in flag_combos(name, dt)[:2]:
            gradcheck_case(name, dt, flags, ("C", "F", "ld"), True, rng, beta=beta)


@pytest.mark.parametrize("name", ["herk", "her2k"])
def test_adjoint_through_quick_return(name, rng):
    """β = 1, α = 0: BLAS leaves C as it is (Im C_ii too), and C̄ passes through whole."""
    dt = np.complex128
    flags = {"uplo": "L", "trans": "N"}
    shp = shapes(name, flags)
    arrs = {k: _rand(rng, s, dt) for k, s in shp.items()}
    seeds = {k: _rand(rng, s, dt) for k, s in shp.items()}
    dC = seeds["C"].copy()
    alpha = np.array(0.0, np.float64 if name == "herk" else dt)
    dalpha = np.zeros((), alpha.dtype)
    ba.autodiff(
        lambda a, *xs: call(name, a, 1.0, dict(zip(shp, xs)), flags),
        ba.Duplicated(alpha, dalpha),
        *(ba.Duplicated(arrs[k], seeds[k]) for k in shp),
    )
    np.testing.assert_array_equal(seeds["C"], dC)
    # α held at 0 (moving α leaves the quick return, a jump in Im C_ii): A, B, C against differences
    g = ba.gradcheck(lambda *xs: call(name, 0.0, 1.0, dict(zip(shp, xs)), flags), *arrs.values())
    assert g.ok, (g.max_abs_error, g.dot_adjoint, g.dot_numeric)


def test_adjoint_empty_dims(rng):
    """k = 0 (syrk: C ← β C) and n = 0 (trmm, symm) keep exact adjoints."""
    dt = np.float64
    A, C = _rand(rng, (3, 0), dt), _rand(rng, (3, 3), dt)
    g = ba.gradcheck(lambda A, C, b: ba.syrk(0.5, A, b, C), A, C, np.array(0.3))
    assert g.ok
    A, B = _rand(rng, (3, 3), dt), _rand(rng, (3, 0), dt)
    g = ba.gradcheck(lambda A, B, a: ba.trmm(a, A, B), A, B, np.array(2.0))
    assert g.ok
    g = ba.gradcheck(lambda A, B, C: ba.symm(1.0, A, B, 0.5, C, "R"), _rand(rng, (0, 0), dt),
                     _rand(rng, (2, 0), dt), _rand(rng, (2, 0), dt))  # fmt: skip
    assert g.ok


# ---- structure: what is read and written gets adjoints, nothing else -------------------------------


def _autodiff(name, dt, flags, rng, alpha=None, beta=None, seed_nan=False):
    """Run one call under autodiff with zero input shadows; returns (arrays, shadows)."""
    shp = shapes(name, flags)
    arrs = {k: _rand(rng, s, dt) for k, s in shp.items()}
    well_conditioned(name, arrs["A"])
    bars = {k: np.zeros(s, dt) for k, s in shp.items()}
    out = written(name)
    bars[out] = np.full(shp[out], np.nan, dt) if seed_nan else _rand(rng, shp[out], dt)
    a0, b0 = scalars(name, dt, rng, active=False)
    alpha = a0 if alpha is None else alpha
    beta = b0 if beta is None else beta
    seed = bars[out].copy()
    ba.autodiff(lambda *xs: call(name, alpha, beta, dict(zip(shp, xs)), flags),
                *(ba.Duplicated(arrs[k], bars[k]) for k in shp))  # fmt: skip
    return arrs, bars, seed


STRUCT = [
    pytest.param(name, dt, id=f"{name}-{np.dtype(dt).name}")
    for name in ("symm", "hemm", "trmm", "trsm") for dt in dtypes(name, AD)
]  # fmt: skip


@pytest.mark.parametrize(("name", "dt"), STRUCT)
def test_unread_triangle_gets_no_adjoint(name, dt, rng):
    """Ā is exactly zero off A's uplo triangle, and on the diagonal for diag = U; the read
    part does get adjoints (and a Hermitian diagonal a real one)."""
    for flags in flag_combos(name, dt):
        arrs, bars, _ = _autodiff(name, dt, flags, rng)
        n = arrs["A"].shape[0]
        k = 0 if flags.get("diag", "N") == "N" else 1
        one = np.ones((n, n), bool)
        read = np.triu(one, k) if flags["uplo"] == "U" else np.tril(one, -k)
        assert np.all(bars["A"][~read] == 0), flags
        assert np.all(bars["A"][read] != 0), flags
        if name == "hemm":
            assert np.all(np.diag(bars["A"]).imag == 0)


@pytest.mark.parametrize("name", ["syrk", "herk", "syr2k", "her2k"])
def test_other_triangle_of_c_untouched(name, rng):
    """The unwritten triangle of C keeps its primal and its shadow (the seed passes through);
    herk/her2k: Im C̄_ii ← 0 on the written diagonal."""
    dt = np.complex128
    for flags in flag_combos(name, dt):
        shp = shapes(name, flags)
        arrs = {k: _rand(rng, s, dt) for k, s in shp.items()}
        C0 = arrs["C"].copy()
        bars = {k: np.zeros(s, dt) for k, s in shp.items()}
        bars["C"] = _rand(rng, shp["C"], dt)
        seed = bars["C"].copy()
        ba.autodiff(lambda *xs, shp=shp, flags=flags: call(name, 0.7, 0.5, dict(zip(shp, xs)), flags),
                    *(ba.Duplicated(arrs[k], bars[k]) for k in shp))  # fmt: skip
        n = shp["C"][0]
        off = ~(np.triu(np.ones((n, n), bool)) if flags["uplo"] == "U" else np.tril(np.ones((n, n), bool)))
        np.testing.assert_array_equal(arrs["C"][off], C0[off])
        np.testing.assert_array_equal(bars["C"][off], seed[off])
        tri = ~off & ~np.eye(n, dtype=bool)
        np.testing.assert_allclose(bars["C"][tri], 0.5 * seed[tri], rtol=1e-15)
        d = np.diag(bars["C"])
        want = 0.5 * (np.diag(seed).real if name in HERM else np.diag(seed))
        np.testing.assert_allclose(d, want, rtol=1e-15)


def test_symmetric_off_diagonal_adjoint_is_the_sum_of_both_uses(rng):
    """S_ij (i ≠ j) stands for A_ij and A_ji: its adjoint is both contributions, the diagonal's one
    (no factor-2 bug). C = S B with B = I: L = ⟨C̄, S⟩ gives Ā_ij = C̄_ij + C̄_ji, Ā_ii = C̄_ii."""
    A, B = _rand(rng, (3, 3), np.float64), np.eye(3)
    dA, dC = np.zeros((3, 3)), _rand(rng, (3, 3), np.float64)
    seed = dC.copy()
    ba.autodiff(lambda A, B, C: ba.symm(1.0, A, B, 0.0, C), ba.Duplicated(A, dA), ba.Const(B),
                ba.Duplicated(np.zeros((3, 3)), dC))  # fmt: skip
    want = np.triu(seed + seed.T) - np.diag(np.diag(seed))
    np.testing.assert_allclose(dA, want, rtol=1e-14)


@pytest.mark.parametrize(("name", "dt"), [pytest.param(n, d, id=f"{n}-{np.dtype(d).name}")
                                         for n in FAMILY for d in dtypes(n, AD)])  # fmt: skip
def test_zero_coefficient_output_shadow_is_exactly_zero(name, dt, rng):
    """β = 0 (symm, syrk families) or α = 0 (trmm, trsm): the written part's shadow becomes exactly
    0 even for a NaN seed; the unwritten triangle of a rank-k update keeps its seed."""
    for flags in flag_combos(name, dt)[:4]:
        if FAMILY[name] == "tr":
            _, bars, _ = _autodiff(name, dt, flags, rng, alpha=0.0, seed_nan=True)
            assert np.all(bars["B"] == 0)
            assert np.all(bars["A"] == 0)
        else:
            _, bars, _ = _autodiff(name, dt, flags, rng, beta=0.0, seed_nan=True)
            if FAMILY[name] == "mm":
                assert np.all(bars["C"] == 0)
            else:
                one = np.ones(bars["C"].shape, bool)
                tri = np.triu(one) if flags["uplo"] == "U" else np.tril(one)
                assert np.all(bars["C"][tri] == 0) and np.all(np.isnan(bars["C"][~tri]))


# ---- saving: trmm snapshots B_old, trsm reads its solution by reference -------------------------------


def test_trsm_saves_nothing_unless_the_solution_is_overwritten(rng):
    A = np.triu(_rand(rng, (3, 3), np.float64)) + 3 * np.eye(3)
    B = _rand(rng, (3, 4), np.float64)
    with ba.Tape() as tape:
        tape.watch(A, B)
        ba.trsm(2.0, A, B)
    assert tape.bytes_copied == 0
    with ba.Tape() as tape:
        tape.watch(A, B)
        ba.trsm(2.0, A, B)
        ba.trmm(1.0, A, B, side="L", trans_a="T")  # overwrites trsm's solution
    assert tape.bytes_copied > 0

    def prog(A, B, a):
        ba.trsm(a, A, B, "R", "L", "C")
        ba.trmm(1.5, A.T, B, "R", "U", "N")  # overwrites the solution: copy-on-write keeps it
        ba.trsm(0.5, A, B, "R", "L", "N", "U")

    A4 = np.tril(_rand(rng, (4, 4), np.complex128)) + 4 * np.eye(4)
    g = ba.gradcheck(prog, A4, _rand(rng, (3, 4), np.complex128), np.array(1.2 - 0.3j))
    assert g.ok, (g.max_abs_error, g.dot_adjoint, g.dot_numeric)


def test_trsm_with_zero_alpha_and_active_alpha(rng):
    """α = 0: the solution carries no information about B_old, so ᾱ reads a snapshot of it."""
    for side in "LR":
        A = np.triu(_rand(rng, (3, 3), np.complex128)) + 3 * np.eye(3)
        B = _rand(rng, (3, 3), np.complex128)
        g = ba.gradcheck(lambda A, B, a, side=side: ba.trsm(a, A, B, side, "U", "T"), A, B, np.array(0j))
        assert g.ok, (g.max_abs_error, g.dot_adjoint, g.dot_numeric)


def test_blocked_program_on_one_matrix(rng):
    """A blocked triangular solve and update inside one matrix, as LAPACK writes it:
    X1 ← L11⁻¹ X1; X2 ← X2 - L21 X1; X2 ← L22⁻¹ X2, with syrk and symm on the blocks."""

    def prog(M, X):
        L11, L21, L22 = M[:2, :2], M[2:, :2], M[2:, 2:]
        ba.trsm(1.0, L11, X[:2], "L", "L")
        ba.gemm(-1.0, L21, X[:2], 1.0, X[2:])
        ba.trsm(1.0, L22, X[2:], "L", "L")
        ba.syrk(0.5, X[:2, :2], 1.0, M[:2, 2:4], "L", "T")  # the strictly upper block of M
        ba.symm(0.7, M[3:, 3:], X[3:], 0.5, X[:2], "L", "U")
        ba.syr2k(0.3, X[:2, :2], X[2:4, :2], 1.0, M[:2, 2:4], "U", "T")

    M = np.tril(_rand(rng, (5, 5), np.float64)) + 5 * np.eye(5)
    g = ba.gradcheck(prog, M, _rand(rng, (5, 3), np.float64))
    assert g.ok, (g.max_abs_error, g.dot_adjoint, g.dot_numeric)
