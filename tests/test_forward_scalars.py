"""Forward mode's active scalars run natively (csrc/fast.c fw_scalar, csrc/scalar.c
ba_scalar_tangent): a reduction's result and every operation on it get their tangents in the run's
native table, with no Python Forward object, until Python's side takes over.

Each program runs natively and on the Python path (the native forward entry switched off, as in
tests/test_native_entry.py), and the values and tangents agree bit for bit. Every op of
blasad/specs/scalar.py in the four dtypes, operands active, constant (a Python number, a 0-d array
with no tangent) and of mixed precision, into a new result or with out= (an array with a tangent,
one without, the operand itself); in float64 and complex128 ż also matches central differences and
the op's tangent formula in the spec (which the batches use). Then: forward and reverse mode agree on
a CG step (⟨ū, J v⟩ = ⟨Jᵀ ū, v⟩) in every dtype; scalars after Python's Forward took over; threads;
f raising mid-run; a scalar that outlives its run; memory over a long loop; batches."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from test_scalar import PARAMS, _apply, _draw

import blasad as ba
from blasad import _forward, _lowering, _tape
from blasad._native_loader import lib
from blasad._tape import thread_local
from blasad.specs.scalar import OPS, ScalarOp

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
OTHER = {np.dtype(np.float32): np.float64, np.dtype(np.float64): np.float32,
         np.dtype(np.complex64): np.complex128, np.dtype(np.complex128): np.complex64}  # fmt: skip


def _python_path(m: pytest.MonkeyPatch) -> None:
    """The native forward entry off: Python's Forward runs the whole program."""
    m.setattr(_forward, "_native_forward", lambda f, args: _tape._FALLBACK)


def _bits(a: Any) -> bytes | None:
    return None if a is None else np.ascontiguousarray(a).tobytes()


def both_ways(monkeypatch: pytest.MonkeyPatch, run: Callable[[], list[Any]]) -> list[Any]:
    """run() natively and on the Python path: the same arrays, bit for bit; the native ones."""
    native = run()
    with monkeypatch.context() as m:
        _python_path(m)
        python = run()
    assert len(native) == len(python)
    for i, (a, b) in enumerate(zip(native, python)):
        assert _bits(a) == _bits(b), (i, a, b)
    assert thread_local.forward is None and lib.ba_fw_run() == 0
    return native


# ---- every op --------------------------------------------------------------------------------------

# operand patterns: x, y active ("xy"); one active, the other a Python number ("x2", "2y") or a 0-d
# array with no tangent ("x0"); both active, y of the other precision ("mixed")
PATTERNS = {1: ["x"], 2: ["xy", "x2", "2y", "x0", "mixed"]}
OUTS = [None, "given", "fresh", "self"]  # into a new result; out= an array with a tangent, one without, x


def _op_program(
    op: ScalarOp, pattern: str, out: str | None, vals: list[Any], seen: dict[str, Any]
) -> Callable:
    def f(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
        x, y = ba.Scalar(a[0, ...]), ba.Scalar(b[0, ...])
        v = vals[-1]  # (y's value)
        operands = {"x": [x], "xy": [x, y], "x2": [x, v], "2y": [vals[0], y], "x0": [x, np.array(v, a.dtype)],
                    "mixed": [x, y]}[pattern]  # fmt: skip
        if out is None:
            z = _apply(op, *operands)
            target = z.buffer if isinstance(z, ba.Scalar) else None
        else:
            target = {"given": c[0, ...], "fresh": np.zeros((), c.dtype), "self": a[0, ...]}[out]
            z = op.reference(*operands, out=target)
        seen["python"] = thread_local._forward is not None  # (before asking for it: that makes it)
        seen["z"] = np.array(z.buffer if isinstance(z, ba.Scalar) else z)
        t = None if target is None else thread_local.forward.tangent(target)
        seen["dz"] = None if t is None else t.copy()

    return f


def _op_run(
    op: ScalarOp, dtype: Any, pattern: str, out: str | None, vals: list[Any], tans: list[Any]
) -> list[Any]:
    ydtype = OTHER[np.dtype(dtype)] if pattern == "mixed" else dtype
    plain = [np.asarray(vals[0], dtype)[()], np.asarray(vals[-1], ydtype)[()]][: op.arity]
    zdtype = np.asarray(op.reference(*plain)).dtype if out != "self" else np.dtype(dtype)
    a, b, c = np.array([vals[0]], dtype), np.array([vals[-1]], ydtype), np.array([0.5], zdtype)
    da, db, dc = np.array([tans[0]], dtype), np.array([tans[-1]], ydtype), np.array([7.0], zdtype)
    seen: dict[str, Any] = {}
    ba.autodiff(_op_program(op, pattern, out, vals, seen), ba.Duplicated(a, da), ba.Duplicated(b, db),
                ba.Duplicated(c, dc), mode="forward")  # fmt: skip
    MADE.append(seen["python"])
    return [seen["z"], seen["dz"], a, b, c, da, db, dc]


MADE: list[bool] = []  # each run: was Python's Forward made before the op's tangent was asked for?


def _ufunc_op(op: ScalarOp) -> bool:
    return op.ufunc is not None


@pytest.mark.parametrize(("name", "dt"), PARAMS)
def test_every_op_matches_the_python_path(monkeypatch, rng, name, dt):
    """Every operand pattern and out= kind: the same values and tangents as Python's Forward, bit for
    bit, with no Python Forward made natively; in double precision ż matches central differences
    and the spec's tangent formula."""
    op = next(o for o in OPS if o.name == name)
    dtype = np.dtype(dt)
    for pattern in PATTERNS[op.arity]:
        for out in OUTS if _ufunc_op(op) else [None]:
            if out == "self" and pattern == "2y":
                continue  # (x is a number)
            vals = [_draw(rng, op, dtype.type, i) for i in range(op.arity)]
            tans = [
                complex(*rng.standard_normal(2)) if dtype.kind == "c" else rng.standard_normal() for _ in vals
            ]
            MADE.clear()
            run = functools.partial(_op_run, op, dtype.type, pattern, out, vals, tans)
            native = both_ways(monkeypatch, run)
            z, dz = native[0], native[1]
            assert MADE == [False, True], (pattern, out)  # (natively: no Python Forward)
            active = pattern != "2y", pattern in ("xy", "2y", "mixed")
            assert (dz is not None) == (any(active) or out == "given"), (pattern, out)
            if dtype in (np.float64, np.complex128) and pattern != "mixed":
                _check_tangent(op, vals, tans, active, z, dz)


def _check_tangent(
    op: ScalarOp, vals: list[Any], tans: list[Any], active: tuple[bool, bool], z: Any, dz: Any
) -> None:
    """ż against central differences along (ẋ, ẏ) (constants: 0) and the spec's tangent formula."""
    vals, direction = list(vals), [t if on else 0 for t, on in zip(tans, active)]
    h = 1e-6

    def at(t: float) -> complex:
        return complex(op.reference(*[np.asarray(v + t * d)[()] for v, d in zip(vals, direction)]))

    fd = (at(h) - at(-h)) / (2 * h)
    got = complex(dz[()])
    assert abs(got - fd) <= 1e-6 * max(1.0, abs(fd)), (op.name, got, fd)
    formula = sum(
        (
            part(*[np.asarray(v)[()] for v in vals], z[()], np.asarray(d))
            for part, d, on in zip(op.tangent, direction, active)
            if on
        ),
        0,
    )
    assert abs(got - complex(formula)) <= 1e-13 * max(1.0, abs(complex(formula))), (op.name, got, formula)


def test_constants_give_plain_values_and_zero_an_outs_tangent(monkeypatch):
    """Operands without tangents: a NumPy scalar, as outside forward mode; into an out that has a
    tangent, that tangent becomes 0 (its old value reaches nothing); into one without, none is made."""
    seen: dict[str, Any] = {}

    def f(a: np.ndarray, c: np.ndarray) -> None:
        k = ba.Scalar(np.array(1.5))  # (a 0-d array with no tangent: a constant)
        seen["plain"] = k * 2.0
        np.multiply(k, 3.0, out=c[0, ...])
        free = np.zeros(())
        np.sqrt(k, out=free)
        seen["free"] = thread_local.forward.tangent(free)

    def run() -> list[Any]:
        a, c, dc = np.ones(1), np.ones(2), np.full(2, 7.0)
        ba.autodiff(f, ba.Duplicated(a, np.ones(1)), ba.Duplicated(c, dc), mode="forward")
        assert type(seen["plain"]) is np.float64 and seen["free"] is None
        return [c, dc]

    c, dc = both_ways(monkeypatch, run)
    np.testing.assert_array_equal(c, [4.5, 1.0])
    np.testing.assert_array_equal(dc, [0.0, 7.0])


# ---- programs -------------------------------------------------------------------------------------


def _rand(rng: np.random.Generator, dtype: Any, *shape: int) -> np.ndarray:
    z = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        z = z + 1j * rng.standard_normal(shape)
    return z.astype(dtype)


def cg_step(A: np.ndarray, b: np.ndarray, x: np.ndarray) -> None:
    """Two CG steps from x: r = b − A x, α = ⟨r, r⟩ / ⟨p, A p⟩, x += α p, r −= α A p, β = ..."""
    dot = ba.dotc if A.dtype.kind == "c" else ba.dot
    r, p = b.copy(), np.empty_like(b)
    ba.gemv(-1.0, A, x, 1.0, r)
    ba.copy(r, p)
    rr = dot(r, r)
    for _ in range(2):
        Ap = ba.gemv(1.0, A, p)
        alpha = rr / dot(p, Ap)
        ba.axpy(alpha, p, x)
        ba.axpy(-alpha, Ap, r)
        rr_new = dot(r, r)
        ba.scal(rr_new / rr, p)
        ba.axpy(1.0, r, p)
        rr = rr_new


def _cg_inputs(rng: np.random.Generator, dtype: Any) -> list[np.ndarray]:
    M = _rand(rng, dtype, 5, 5)
    return [(M @ M.conj().T + 5 * np.eye(5)).astype(dtype), _rand(rng, dtype, 5), _rand(rng, dtype, 5)]


def _inner(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.vdot(a.astype(np.complex128), b.astype(np.complex128)).real)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_cg_forward_and_reverse_agree(monkeypatch, rng, dtype):
    """⟨ū, J v⟩ (forward mode, natively and on the Python path: bit for bit) = ⟨Jᵀ ū, v⟩ (reverse)."""
    arrays = _cg_inputs(rng, dtype)
    v = [_rand(rng, dtype, *a.shape) for a in arrays]
    u = _rand(rng, dtype, 5)

    def forward() -> list[Any]:
        xs, dxs = [a.copy() for a in arrays], [t.copy() for t in v]
        ba.autodiff(cg_step, *(ba.Duplicated(x, d) for x, d in zip(xs, dxs)), mode="forward")
        return [*xs, *dxs]

    got = both_ways(monkeypatch, forward)
    xs, bars = [a.copy() for a in arrays], [np.zeros_like(a) for a in arrays]
    bars[2][...] = u
    ba.autodiff(cg_step, *(ba.Duplicated(x, d) for x, d in zip(xs, bars)))
    np.testing.assert_array_equal(xs[2], got[2])
    jv = _inner(u, got[5])
    jtu = sum(_inner(bar, t) for bar, t in zip(bars, v))
    tol = 1e-3 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-10
    assert abs(jv - jtu) <= tol * max(1.0, abs(jv)), (jv, jtu)


def _cholesky_by_scalars(A: np.ndarray) -> None:
    """A ← L in place, column by column, with active scalars stored into A (out= and -=)."""
    n = A.shape[0]
    for j in range(n):
        if j:
            A[j, j, ...] -= ba.dot(A[j, :j], A[j, :j])
        np.sqrt(ba.Scalar(A[j, j, ...]), out=A[j, j, ...])
        if j + 1 < n:
            ba.gemv(-1.0, A[j + 1 :, :j], A[j, :j], 1.0, A[j + 1 :, j])
            ba.scal(np.reciprocal(ba.Scalar(A[j, j, ...])), A[j + 1 :, j])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_scalars_stored_in_place(monkeypatch, rng, dtype):
    """In-place operators and out= on 0-d views of an array with a tangent (`A[j, j, ...] -= r`: the
    operand is the output), and the tangent against central differences."""
    M = rng.standard_normal((5, 5))
    A0, dA0 = (M @ M.T + 5 * np.eye(5)).astype(dtype), _rand(rng, dtype, 5, 5)
    dA0 = dA0 + dA0.T

    def run() -> list[Any]:
        A, dA = A0.copy(), dA0.copy()
        ba.autodiff(_cholesky_by_scalars, ba.Duplicated(A, dA), mode="forward")
        return [A, dA]

    _, dA = both_ways(monkeypatch, run)
    if dtype == np.float64:
        h = 1e-6
        up, down = A0 + h * dA0, A0 - h * dA0
        _cholesky_by_scalars(up)
        _cholesky_by_scalars(down)
        np.testing.assert_allclose(np.tril(dA), np.tril(up - down) / (2 * h), rtol=1e-6, atol=1e-8)


def test_scalar_ops_after_pythons_forward_took_over(monkeypatch, rng, dispatch_path):
    """A Python rule (trtri's) makes Python's Forward mid-run: it takes over the scalars' regions made
    natively (r, alive and used after) and does every scalar op from then on."""
    n = 4
    M = rng.standard_normal((n, n))
    S0 = M @ M.T + n * np.eye(n)
    x0, dS0, dx0 = rng.standard_normal(n), rng.standard_normal((n, n)), rng.standard_normal(n)
    dS0 = dS0 + dS0.T
    made: list[bool] = []

    def f(S: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
        r = ba.dot(x, x)
        s = np.sqrt(r) * 2.0
        made.append(thread_local._forward is not None)
        ba.trtri(S)  # (its tangent rule is Python's)
        made.append(thread_local._forward is not None)
        t = s / r + r * r
        ba.axpy(t, x, out)
        ba.axpy(-s, S[0], out)

    def run() -> list[Any]:
        S, x, out = S0.copy(), x0.copy(), np.zeros(n)
        dS, dx, dout = dS0.copy(), dx0.copy(), np.zeros(n)
        ba.autodiff(f, ba.Duplicated(S, dS), ba.Duplicated(x, dx), ba.Duplicated(out, dout), mode="forward")
        return [S, x, out, dS, dx, dout]

    got = both_ways(monkeypatch, run)
    # (the validating path's calls are Python's Forward's from the first one)
    assert made[:2] == [dispatch_path != "fast", True] and made[2:] == [True, True]
    assert np.abs(got[5]).max() > 0


def test_threads_run_their_own_scalars(rng):
    """Two threads, each in its own forward runs of the CG steps: the results of one thread alone."""
    arrays = {k: _cg_inputs(rng, np.float64) for k in (0, 1)}
    v = {k: [rng.standard_normal(a.shape) for a in arrays[k]] for k in (0, 1)}

    def one(k: int) -> list[np.ndarray]:
        xs, dxs = [a.copy() for a in arrays[k]], [t.copy() for t in v[k]]
        ba.autodiff(cg_step, *(ba.Duplicated(x, d) for x, d in zip(xs, dxs)), mode="forward")
        return [*xs, *dxs]

    want = {k: one(k) for k in (0, 1)}
    bad: list[Any] = []

    def work(k: int) -> None:
        for _ in range(200):
            got = one(k)
            if any(_bits(a) != _bits(b) for a, b in zip(got, want[k])):
                bad.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


def test_f_raising_mid_run_leaves_the_table_clean(rng):
    """f raises between scalar ops: the run's table goes (with the scalars' tangents), and the next
    run on the thread starts clean; a scalar kept from the failed run is a constant there."""
    kept: list[Any] = []

    def fails(x: np.ndarray) -> None:
        r = ba.dot(x, x)
        kept.append(r * 3.0)
        raise KeyError("boom")

    x, dx = rng.standard_normal(4), rng.standard_normal(4)
    with pytest.raises(KeyError):
        ba.autodiff(fails, ba.Duplicated(x, dx), mode="forward")
    assert lib.ba_fw_run() == 0 and thread_local.forward is None and _lowering.fw_regions() == []
    y, dy = np.zeros(4), np.zeros(4)
    ba.autodiff(lambda x, y: ba.axpy(kept[0] * 2.0, x, y), ba.Const(x), ba.Duplicated(y, dy), mode="forward")
    np.testing.assert_array_equal(dy, 0)  # (kept[0] carries no tangent into this run)
    np.testing.assert_array_equal(y, float(kept[0]) * 2.0 * x)


def test_a_scalar_returned_from_f_outlives_its_tangent(rng):
    """autodiff returns f's result; a Scalar's tangent is the run's and goes with it (f's result has
    none: the tangents reported are the Duplicated arguments'). The Scalar stays a plain value."""
    x, dx = rng.standard_normal(4), rng.standard_normal(4)
    r = ba.autodiff(lambda x: np.sqrt(ba.dot(x, x)) * 2.0, ba.Duplicated(x, dx), mode="forward")
    assert isinstance(r, ba.Scalar)
    assert float(r) == float(np.sqrt(np.float64(ba.dot(x, x)))) * 2.0
    y, dy = np.zeros(4), np.zeros(4)
    ba.autodiff(lambda y: ba.axpy(r / 2.0, x, y), ba.Duplicated(y, dy), mode="forward")
    np.testing.assert_array_equal(dy, 0)
    with ba.Tape() as tape:  # (and in a recording: a constant)
        z = r * 2.0
    assert tape.ncalls == 0 and not isinstance(z, ba.Scalar)


def test_memory_stays_flat_over_a_long_loop(rng, dispatch_path):
    """10 000 scalar ops in a loop: each result's tangent goes with it; the table holds the live ones."""
    counts: list[int] = []

    def loop(x: np.ndarray, out: np.ndarray) -> None:
        r = ba.dot(x, x)
        s = r
        for _ in range(10_000):
            s = s * 0.5 + r
        counts.append(len(_lowering.fw_regions()))  # (hands the run to Python's side)
        ba.axpy(s, x, out)

    x, dx, out, dout = rng.standard_normal(4), rng.standard_normal(4), np.zeros(4), np.zeros(4)
    ba.autodiff(loop, ba.Duplicated(x, dx), ba.Duplicated(out, dout), mode="forward")
    assert counts == [2 if dispatch_path == "fast" else 0]  # r and s (the validating path: Python's)
    r = float(x @ x)
    np.testing.assert_allclose(out, 2 * r * x, rtol=1e-12)
    np.testing.assert_allclose(dout, 2 * r * dx + 2 * 2 * (x @ dx) * x, rtol=1e-12)


def test_batches_stay_on_the_python_path(rng):
    """BatchDuplicated: the spec's tangent formulas, equal to one-tangent runs to rounding."""
    arrays = _cg_inputs(rng, np.float64)
    vs = [rng.standard_normal((3, *a.shape)) for a in arrays]
    xs, dxs = [a.copy() for a in arrays], [t.copy() for t in vs]
    ba.autodiff(cg_step, *(ba.BatchDuplicated(x, d) for x, d in zip(xs, dxs)), mode="forward")
    for k in range(3):
        one, tangents = [a.copy() for a in arrays], [t[k].copy() for t in vs]
        ba.autodiff(cg_step, *(ba.Duplicated(x, d) for x, d in zip(one, tangents)), mode="forward")
        for got, want in zip(dxs, tangents):
            np.testing.assert_allclose(got[k], want, rtol=1e-10, atol=1e-12)
