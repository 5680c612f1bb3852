"""Replay (DESIGN §8): Tape(replay=True), tape.replay(), and a backward that does not consume.

The contract checked for every routine of the spec table (both dispatch paths where it has two,
every dtype, layouts from test_routines' schemes): record one call at a point P0 on a replay tape,
write new values P1 into the same arrays, replay, backward: the outputs and every gradient equal,
bit for bit, those of a fresh recording at P1 on the same arrays. A second backward without a
replay gives the same gradients again (the sweep consumed nothing). Then whole programs: a chain
of gemms over views, new outputs, CG with active scalars, staged layouts, LAPACK; and misuse.
"""

import numpy as np
import pytest
from test_routines import (
    DTYPES,
    SCHEMES,
    SPECS,
    _flag_sets,
    _has,
    _param,
    _rotation,
    _symbols,
    make_case,
    parametrize,
)

import blasad as ba

TAGS = ("1", "-0.7", "arr")  # read scalars: constants, or 0-d arrays (a replay reads them anew)


def _params():
    for name, spec in SPECS.items():
        for dt in DTYPES:
            if not _has(spec, dt):
                continue
            sets = _flag_sets(spec, dt)
            for i in range(2):  # two cases: flag choices, scalars and layouts rotate
                flags = sets[(len(name) + i) % len(sets)]
                scalars = _rotation(spec, TAGS, i + len(name))
                scheme = SCHEMES[(3 * i + len(name)) % len(SCHEMES)]
                yield from _param(name, flags, scalars, scheme, dt, id=f"{name}-{dt}-{scheme}-{i}")


def _moved(bases, rng):
    """New values near the old ones (same structure: a triangular diagonal stays dominant, an SPD
    matrix SPD): each float entry times (1 + 10⁻³ u), u uniform in [-1, 1]; pivots unchanged."""
    out = {}
    for n, b in bases.items():
        if b.dtype.kind not in "fc":
            out[n] = b.copy()
            continue
        u = rng.uniform(-1, 1, b.shape)
        out[n] = (b * (1 + 1e-3 * u)).astype(b.dtype)
    return out


def _record(case, arrays, seeds, replay):
    """Run the case's call on `arrays` (its bases, written in place) on a new tape; backward with
    seeds on the written bases. Returns the tape."""
    names = list(arrays)
    tape = ba.Tape(replay=replay)
    active = [arrays[n] for n in names if arrays[n].dtype.kind in "fc"]
    with tape:
        tape.watch(*active)
        case.program(names)(*(arrays[n] for n in names))
    tape.backward([arrays[n] for n in seeds], list(seeds.values()))
    return tape


def _state(case, arrays, tape):
    """Every base's value and gradient (NaN-exact comparison: assert_array_equal)."""
    vals = {n: a.copy() for n, a in arrays.items()}
    grads = {n: tape.grad(a) for n, a in arrays.items() if a.dtype.kind in "fc"}
    return vals, grads


def _same(got, want, what, case):
    for n in want:
        np.testing.assert_array_equal(got[n], want[n], err_msg=f"{what} of {n}; {case}")


@parametrize(("name", "flags", "scalars", "scheme", "dt"), list(_params()))
def test_replay_equals_a_fresh_recording(name, flags, scalars, scheme, dt, rng):
    spec = SPECS[name]
    dims = {s: int(rng.integers(1, 4)) for s in _symbols(spec)}
    case = make_case(spec, DTYPES[dt], dims, flags, scalars, scheme, rng)
    p1 = _moved(case.bases, rng)
    seeds = {  # on the written floats (not pivots)
        n: np.asarray(rng.standard_normal(case.bases[n].shape)).astype(case.bases[n].dtype)
        for n in case.written
        if case.bases[n].dtype.kind in "fc"
    }
    arrays = {n: b.copy() for n, b in case.bases.items()}  # the arrays the tape records on
    tape = _record(case, arrays, seeds, replay=True)
    first = _state(case, arrays, tape)

    tape.backward([arrays[n] for n in seeds], list(seeds.values()))  # not consumed
    _same(_state(case, arrays, tape)[1], first[1], "a second backward's gradient", case)

    for n in arrays:
        np.copyto(arrays[n], p1[n])
    tape.replay()
    tape.backward([arrays[n] for n in seeds], list(seeds.values()))
    replayed = _state(case, arrays, tape)

    for n in arrays:  # a fresh recording at P1 on the same arrays (same addresses: same kernels)
        np.copyto(arrays[n], p1[n])
    fresh = _state(case, arrays, _record(case, arrays, seeds, replay=False))
    _same(replayed[0], fresh[0], "value after replay", case)
    _same(replayed[1], fresh[1], "gradient after replay", case)


# -- whole programs -------------------------------------------------------------------------------


def _chain(W, X, new_outputs=False):
    """X[i+1] = W X[i] over views of one base, or as new arrays (returns the last)."""
    x = X[0]
    for i in range(len(X) - 1):
        if new_outputs:
            x = ba.gemm(1.0, W, x)
        else:
            ba.gemm(1.0, W, X[i], 0.0, X[i + 1])
            x = X[i + 1]
    return x


@pytest.mark.parametrize("new_outputs", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_chain_replayed_at_new_points(new_outputs, dtype, rng):
    n, steps = 3, 20

    def rand(*shape):
        z = rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if dtype == np.complex128 else 0)
        return z.astype(dtype)

    W, X = rand(n, n) / 2, np.zeros((steps + 1, n, n), dtype)
    X[0] = rand(n, n)
    seed = rand(n, n)
    with ba.Tape(replay=True) as tape:
        tape.watch(W, X)
        out = _chain(W, X, new_outputs)
    for _ in range(3):
        W[...], X[0] = rand(n, n) / 2, rand(n, n)
        tape.replay()
        tape.backward(out, seed)
        got = tape.grad(W), tape.grad(X)[0], out.copy()
        with ba.Tape() as fresh:
            fresh.watch(W, X)
            out2 = _chain(W, X, new_outputs)
        fresh.backward(out2, seed)
        np.testing.assert_array_equal(got[2], out2)
        np.testing.assert_array_equal(got[0], fresh.grad(W))
        np.testing.assert_array_equal(got[1], fresh.grad(X)[0])


def _cg(A, b, x, r, p, Ap, iters):
    """Conjugate gradients in place: active scalars rr / pAp between the BLAS calls."""
    ba.copy(b, r)
    ba.gemv(-1.0, A, x, 1.0, r)
    ba.copy(r, p)
    rr = ba.dot(r, r)
    for _ in range(iters):
        ba.gemv(1.0, A, p, 0.0, Ap)
        alpha = rr / ba.dot(p, Ap)
        ba.axpy(alpha, p, x)
        ba.axpy(-alpha, Ap, r)
        rr_new = ba.dot(r, r)
        ba.scal(rr_new / rr, p)
        ba.axpy(1.0, r, p)
        rr = rr_new
    return x


def test_cg_with_active_scalars_replays_exactly(rng):
    n = 6
    M = rng.standard_normal((n, n))
    A = M @ M.T + n * np.eye(n)
    b, x = rng.standard_normal(n), np.zeros(n)
    r, p, Ap = np.zeros(n), np.zeros(n), np.zeros(n)
    seed = rng.standard_normal(n)
    with ba.Tape(replay=True) as tape:
        tape.watch(A, b)
        _cg(A, b, x, r, p, Ap, 4)
    for _ in range(2):
        M = rng.standard_normal((n, n))
        A[...] = M @ M.T + n * np.eye(n)
        b[...] = rng.standard_normal(n)
        x[...] = 0.0
        tape.replay()
        tape.backward(x, seed)
        got = x.copy(), tape.grad(A), tape.grad(b)
        x[...] = 0.0
        with ba.Tape() as fresh:
            fresh.watch(A, b)
            _cg(A, b, x, r, p, Ap, 4)
        fresh.backward(x, seed)
        np.testing.assert_array_equal(got[0], x)
        np.testing.assert_array_equal(got[1], fresh.grad(A))
        np.testing.assert_array_equal(got[2], fresh.grad(b))


def test_staged_layouts_and_lapack_replay(rng):
    """Reversed views (staged through recorded copies; C, written, copied back) and a Cholesky solve."""
    n = 4
    M = rng.standard_normal((n, n))
    S = M @ M.T + n * np.eye(n)
    A, B = S.copy(), rng.standard_normal((n, 2))
    C, F = np.zeros((n, 2))[::-1], np.zeros((n, n))
    seed = rng.standard_normal((n, 2))

    def program():
        ba.gemm(1.0, A[::-1, ::-1], B[::-1], 0.0, C)  # every operand staged
        L = ba.potrf(ba.geadd(1.0, A, 0.0, F), uplo="L")  # a recorded copy (NumPy's is not replayed)
        ba.potrs(L, C, uplo="L")

    with ba.Tape(replay=True) as tape:
        tape.watch(A, B)
        program()
    M = rng.standard_normal((n, n))
    A[...] = M @ M.T + n * np.eye(n)
    B[...] = rng.standard_normal((n, 2))
    tape.replay()
    tape.backward(C, seed)
    got = C.copy(), tape.grad(A), tape.grad(B)
    with ba.Tape() as fresh:
        fresh.watch(A, B)
        program()
    fresh.backward(C, seed)
    np.testing.assert_array_equal(got[0], C)
    np.testing.assert_array_equal(got[1], fresh.grad(A))
    np.testing.assert_array_equal(got[2], fresh.grad(B))


def test_a_failing_lapack_call_at_replay_raises(rng):
    A, L = np.eye(3) * 2.0, np.zeros((3, 3))
    with ba.Tape(replay=True) as tape:
        tape.watch(A)
        ba.potrf(ba.geadd(1.0, A, 0.0, L), uplo="L")
    A[2, 2] = -1.0  # not positive definite: potrf's info = 3
    with pytest.raises(np.linalg.LinAlgError, match="potrf failed"):
        tape.replay()
    with pytest.raises(np.linalg.LinAlgError):  # the gradient reaches the failed call's output
        tape.backward(L, np.ones((3, 3)))
    A[2, 2] = 2.0
    tape.replay()
    tape.backward(L, np.ones((3, 3)))
    assert np.isfinite(tape.grad(A)).all()


def test_misuse_is_refused(rng):
    x, y = rng.standard_normal(3), np.zeros(3)
    plain = ba.Tape()
    with plain:
        plain.watch(x)
        ba.axpy(2.0, x, y)
    with pytest.raises(RuntimeError, match="Tape\\(replay=True\\)"):
        plain.replay()
    tape = ba.Tape(replay=True)
    with pytest.raises(RuntimeError, match="after the `with tape:` block"):
        tape.replay()
    with tape:
        tape.watch(x)
        ba.axpy(2.0, x, y)
        with pytest.raises(RuntimeError, match="after the `with tape:` block"):
            tape.replay()
    tape.replay()
    with pytest.raises(RuntimeError, match="after backward"):
        tape.grad(x)  # a replay's gradient needs its own backward
    tape.backward(y, np.ones(3))
    np.testing.assert_array_equal(tape.grad(x), 2.0 * np.ones(3))
    tape.backward(y, np.ones(3))  # not a sum over backwards
    np.testing.assert_array_equal(tape.grad(x), 2.0 * np.ones(3))


def test_a_resized_array_is_refused(rng):
    x, y = rng.standard_normal(3), np.zeros(3)
    with ba.Tape(replay=True) as tape:
        tape.watch(x)
        ba.axpy(2.0, x, y)
    y.resize(1000, refcheck=False)  # new memory: the recorded address is gone
    with pytest.raises(ValueError, match="resized"):
        tape.replay()
