"""Forward mode, every routine of the spec table through one harness (test_routines' cases).

For each routine, float64 and complex128, every flag combination (rotating scalar tags and
layout schemes), with every float argument Duplicated and a random tangent:
  1. the tangents of the final values == central differences of the program along the tangents;
  2. the two modes agree: ⟨ū, J v⟩ from forward mode == ⟨Jᵀ ū, v⟩ from reverse mode (for real
     and complex dtypes alike, ⟨a, b⟩ = Re Σ conj(a) b);
  3. an output whose old value is not read (β = 0, copy, a reduction) gets its tangent
     overwritten exactly: a NaN in it does not survive;
  4. BatchDuplicated with 3 tangents == three forward runs with one each (every case of the
     routines with a batched rule, blasad/tangents/batched.py);
  5. float32 and complex64 tangents == float64 and complex128 ones, to their precision.
A routine with a native tangent rule (csrc/tangents*.inc) runs each check through both rules: the
native one where the C fast path takes the call (else the Python rule), and the Python one alone.
"""

import numpy as np
import pytest
from test_routines import (
    DTYPES,
    SCHEMES,
    _autodiff,
    _flag_sets,
    _has,
    _out_coefficient,
    _random,
    _rotation,
    _symbols,
    make_case,
)

import blasad as ba
from blasad._native_loader import lib
from blasad.tangents import BATCHED

SPECS = ba.SPECS
TAGS = {"f64": ("0", "1", "-0.7", "arr"), "c128": ("0", "1", "0.7-0.3j", "arr")}
MIN_CASES = 6  # per routine and dtype: max(flag combinations, this)


def _params():
    for dt, tags in TAGS.items():
        for name, spec in SPECS.items():
            if not _has(spec, dt):
                continue
            sets = _flag_sets(spec, dt)
            for i in range(max(len(sets), MIN_CASES)):
                flags, scalars = sets[i % len(sets)], _rotation(spec, tags, i + i // len(sets))
                scheme = SCHEMES[(3 * i + len(name)) % len(SCHEMES)]
                tag = "".join(str(v) for v in flags.values())
                for path in ("fast", "validating") if _native(name) else ("fast",):
                    ident = f"{path}-{name}-{tag}-{i}-{scheme}-{dt}"
                    yield pytest.param(path, name, flags, scalars, scheme, dt, id=ident)


def _native(name):
    """Has the routine a native tangent rule (csrc/tangents.inc)? Then the fast path runs it, and
    the validating path its Python rule: both are checked."""
    return bool(lib.ba_tangent_native(lib.ba_entry_index(name.encode())))


PARAMS = list(_params())
# "fast": the C fast path runs the native tangent rule where there is one, else the Python rule
# (whose own calls take the fast path); "validating": the Python rules alone
ARGS = ("dispatch_path", "name", "flags", "scalars", "scheme", "dt")


def parametrize(params):
    return pytest.mark.parametrize(ARGS, params, indirect=["dispatch_path"])


def _case(name, flags, scalars, scheme, dt, rng):
    spec = SPECS[name]
    dims = {s: int(rng.integers(1, 4)) for s in _symbols(spec)}
    return make_case(spec, DTYPES[dt], dims, flags, scalars, scheme, rng)


def _floats(case):
    return [n for n, b in case.bases.items() if b.dtype.kind in "fc"]


def forward(case, tangents, bases=None, batch=False):
    """(final values, their tangents) of the case's program, every float base Duplicated."""
    bases = case.bases if bases is None else bases
    names = list(bases)
    prim = {n: bases[n].copy() for n in names}
    tan = {n: t.copy() for n, t in tangents.items()}
    pair = ba.BatchDuplicated if batch else ba.Duplicated
    ba.autodiff(
        case.program(names),
        *(pair(prim[n], tan[n]) if n in tan else prim[n] for n in names),
        mode="forward",
    )
    return prim, tan


def _finals(case, bases):
    vals = {n: b.copy() for n, b in bases.items()}
    case.program(list(vals))(*vals.values())
    return vals


def _dot(a, b):
    return float(np.vdot(a, b).real)


@parametrize(PARAMS)
def test_tangents(name, flags, scalars, scheme, dt, rng):
    case = _case(name, flags, scalars, scheme, dt, rng)
    floats = _floats(case)
    v = {n: _random(rng, case.bases[n].shape, case.bases[n].dtype) for n in floats}
    prim, tan = forward(case, v)

    # the primal is the program's
    plain = _finals(case, case.bases)
    for n in floats:
        np.testing.assert_array_equal(prim[n], plain[n], err_msg=f"primal {n}; {case}")

    # 1. central differences along v
    eps = 1e-6
    plus = _finals(case, {n: np.asarray(b + eps * v[n]) if n in v else b for n, b in case.bases.items()})
    minus = _finals(case, {n: np.asarray(b - eps * v[n]) if n in v else b for n, b in case.bases.items()})
    for n in floats:
        fd = (plus[n] - minus[n]) / (2 * eps)
        np.testing.assert_allclose(tan[n], fd, rtol=1e-6, atol=1e-7, err_msg=f"tangent of {n}; {case}")

    # 2. against reverse mode: ⟨ū, J v⟩ = ⟨Jᵀ ū, v⟩
    seeds = {n: _random(rng, case.bases[n].shape, case.bases[n].dtype) for n in floats}
    seeds.update({n: b for n, b in case.bases.items() if n not in seeds})
    _, adj = _autodiff(case, seeds)
    jv = sum(_dot(seeds[n], tan[n]) for n in floats)
    jtu = sum(_dot(adj[n], v[n]) for n in floats)
    assert abs(jv - jtu) <= 1e-9 * max(1.0, abs(jv)), f"⟨ū, Jv⟩ = {jv} but ⟨Jᵀū, v⟩ = {jtu}; {case}"


@parametrize([p for p in PARAMS if SPECS[p.values[1]].seed_scaled])
def test_unread_output_tangent_is_overwritten(name, flags, scalars, scheme, dt, rng):
    scalars = {n: "0" if t == "arr" else t for n, t in scalars.items()}  # (constants: c by value)
    case = _case(name, flags, scalars, scheme, dt, rng)
    if _out_coefficient(case) != 0 or case.out not in case.bases:
        return
    v = {n: _random(rng, case.bases[n].shape, case.bases[n].dtype) for n in _floats(case)}
    v[case.out][...] = np.nan
    _, tan = forward(case, v)
    written = case.views[case.out](tan[case.out])  # (the base's other elements keep theirs)
    assert not np.isnan(written).any(), f"a NaN in the unread output's tangent survived; {case}"


@parametrize([p for i, p in enumerate(PARAMS) if i % 3 == 0 or p.values[1] in BATCHED])  # (batched: all)
def test_batch_equals_one_at_a_time(name, flags, scalars, scheme, dt, rng):
    case = _case(name, flags, scalars, scheme, dt, rng)
    floats = _floats(case)
    vs = {n: _random(rng, (3, *case.bases[n].shape), case.bases[n].dtype) for n in floats}
    _, batched = forward(case, vs, batch=True)
    for b in range(3):
        _, one = forward(case, {n: vs[n][b, ...] for n in floats})
        for n in floats:
            np.testing.assert_allclose(
                batched[n][b], one[n], rtol=1e-12, atol=1e-13, err_msg=f"{n}[{b}]; {case}"
            )


@parametrize(PARAMS[1::4])
def test_single_precision_matches_double(name, flags, scalars, scheme, dt, rng):
    spec = SPECS[name]
    low = {"f64": "f32", "c128": "c64"}[dt]
    if not _has(spec, low):
        return
    case = _case(name, flags, scalars, scheme, dt, rng)
    floats = _floats(case)
    v = {n: _random(rng, case.bases[n].shape, case.bases[n].dtype) for n in floats}
    _, high = forward(case, v)
    case32 = case.astype(DTYPES[low])
    _, got = forward(case32, {n: v[n].astype(case32.bases[n].dtype) for n in floats})
    for n in floats:
        scale = max(1.0, float(np.abs(high[n]).max(initial=0)))
        np.testing.assert_allclose(got[n], high[n], rtol=2e-3, atol=2e-3 * scale, err_msg=f"{n}; {case}")
