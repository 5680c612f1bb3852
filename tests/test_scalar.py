"""Active scalars: every op of blasad/specs/scalar.py (forward vs NumPy, result dtype, adjoint vs
central finite differences and the dot-product test, over dtypes and operand kinds), and the rules
of blasad._scalar: what is recorded, what returns NumPy scalars, what warns."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import blasad as ba
from blasad.specs.scalar import OPS, ScalarOp

DTYPES = (np.float32, np.float64, np.complex64, np.complex128)
TOL = {np.dtype(np.float32): 2e-6, np.dtype(np.float64): 1e-14, np.dtype(np.complex64): 2e-6}
TOL[np.dtype(np.complex128)] = 1e-14


def _draw(rng: np.random.Generator, op: ScalarOp, dtype: type, which: int) -> complex:
    """An operand in the op's domain (which: 0 for x, 1 for y)."""
    complex_ = np.dtype(dtype).kind == "c"
    v = complex(rng.uniform(0.5, 1.5), rng.uniform(-0.5, 0.5) if complex_ else 0.0)
    if op.domain == "any" or (op.domain == "nonzero" and which == 0 and op.name == "div"):
        v *= rng.choice([-1, 1])
    return v if complex_ else v.real


def _apply(op: ScalarOp, *xs: object) -> object:
    """The op written as a user writes it on active scalars."""
    forms = {
        "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
        "div": lambda x, y: x / y, "pow": lambda x, y: x**y, "neg": lambda x: -x,
        "abs": abs, "conj": lambda x: x.conj() if isinstance(x, ba.Scalar) else np.conj(x),
        "real": np.real, "imag": np.imag,
    }  # fmt: skip
    f = forms.get(op.name, op.reference)
    return f(*xs)


PARAMS = [
    (op.name, np.dtype(d).name)
    for op in OPS
    for d in DTYPES
    if not (op.real_only and np.dtype(d).kind == "c")
]


@pytest.mark.parametrize(("name", "dt"), PARAMS)
def test_forward_matches_numpy(name: str, dt: str, rng: np.random.Generator) -> None:
    """Every operand kind: active scalars, Python numbers, NumPy scalars, 0-d arrays; same value as
    NumPy's (within rounding) and the same result dtype."""
    op = next(o for o in OPS if o.name == name)
    dtype = np.dtype(dt)
    vals = [_draw(rng, op, dtype.type, i) for i in range(op.arity)]
    arrays = [np.array(v, dtype) for v in vals]
    plain = [a[()] for a in arrays]
    want = np.asarray(_apply(op, *plain))
    with ba.Tape() as tape:
        tape.watch(*arrays)
        active = [ba.Scalar(a) for a in arrays]
        kinds = [active]
        if op.arity == 2:  # one operand active, the other a Python number, a NumPy scalar, a 0-d array
            kinds += [[active[0], vals[1]], [vals[0], active[1]], [active[0], plain[1]]]
            kinds.append([arrays[0], active[1]])
        for operands in kinds:
            got = _apply(op, *operands)
            assert isinstance(got, ba.Scalar), (name, operands, type(got))
            ref = np.asarray(_apply(op, *[o.buffer[()] if isinstance(o, ba.Scalar) else o for o in operands]))
            assert got.dtype == ref.dtype, (name, operands, got.dtype, ref.dtype)
            tol = TOL[np.dtype(got.dtype)] if got.dtype.kind in "fc" else 0
            assert abs(complex(got.buffer[()]) - complex(ref)) <= 4 * tol * max(1.0, abs(complex(ref))), name
        calls = tape.ncalls
        assert calls >= len(kinds)
        const = _apply(op, *plain)  # constants only: NumPy's result, nothing recorded
        assert not isinstance(const, ba.Scalar) and tape.ncalls == calls
    assert np.asarray(const).dtype == want.dtype


def _loss_and_grads(op: ScalarOp, vals: list[complex], dtype: np.dtype, seed: complex):
    """L = Re(conj(seed) z) for z = op(x, y) on active scalars; (z, [x̄, ȳ]) from the tape."""
    arrays = [np.array(v, dtype) for v in vals]
    with ba.Tape() as tape:
        tape.watch(*arrays)
        z = _apply(op, *[ba.Scalar(a) for a in arrays])
    assert isinstance(z, ba.Scalar)
    tape.backward(z, np.array(seed if z.dtype.kind == "c" else seed.real, z.dtype))
    return z.buffer[()], [tape.grad(a)[()] for a in arrays]


FD_PARAMS = [
    (op.name, d) for op in OPS for d in ("float64", "complex128") if not (op.real_only and d == "complex128")
]


@pytest.mark.parametrize(("name", "dt"), FD_PARAMS)
def test_adjoint_matches_finite_differences(name: str, dt: str, rng: np.random.Generator) -> None:
    """x̄ = ∂L/∂Re x + i ∂L/∂Im x against central differences of L = Re(conj(seed) z), and the
    dot-product test ⟨z̄, J v⟩ = ⟨J* z̄, v⟩ for a random direction v."""
    op = next(o for o in OPS if o.name == name)
    dtype = np.dtype(dt)
    for _ in range(3):
        vals = [_draw(rng, op, dtype.type, i) for i in range(op.arity)]
        z, grads = _loss_and_grads(op, vals, dtype, 1.0 + 0j)
        real_z = np.asarray(z).dtype.kind == "f"
        seed = complex(rng.standard_normal(), 0.0 if real_z else rng.standard_normal())
        _, grads = _loss_and_grads(op, vals, dtype, seed)

        def loss(vs: list[complex], seed: complex = seed) -> float:
            out = _apply(op, *[dtype.type(v) for v in vs])
            return float((np.conj(seed) * complex(out)).real)

        h = 1e-6
        directions = [1.0] if dtype.kind == "f" else [1.0, 1j]
        for i in range(op.arity):
            for d in directions:
                up, down = list(vals), list(vals)
                up[i] = up[i] + h * d
                down[i] = down[i] - h * d
                fd = (loss(up) - loss(down)) / (2 * h)
                got = (np.conj(d) * complex(grads[i])).real
                assert abs(got - fd) <= 1e-6 * max(1.0, abs(fd)), (name, i, d, got, fd)
        # dot-product test: Re Σ conj(x̄_i) v_i = d/dt L(x + t v)
        v = [
            complex(rng.standard_normal(), rng.standard_normal())
            if dtype.kind == "c"
            else rng.standard_normal()
            for _ in vals
        ]
        lhs = sum((np.conj(complex(g)) * vi).real for g, vi in zip(grads, v))
        up = [a + h * b for a, b in zip(vals, v)]
        down = [a - h * b for a, b in zip(vals, v)]
        rhs = (loss(up) - loss(down)) / (2 * h)
        assert abs(lhs - rhs) <= 1e-6 * max(1.0, abs(rhs)), (name, lhs, rhs)


def test_mixed_precision_and_kinds_accumulate_into_each_operand(rng: np.random.Generator) -> None:
    """float32 × float64 → float64, real × complex → complex: each operand's adjoint lands in its
    own dtype (a real one takes the real part), and an operand used twice gets the sum."""
    a, b, c = np.array(1.5, np.float32), np.array(-0.75), np.array(0.5 + 2j)
    with ba.Tape() as tape:
        tape.watch(a, b, c)
        A, B, C = ba.Scalar(a), ba.Scalar(b), ba.Scalar(c)
        z = A * B + A * A  # float64
        w = z * C  # complex128
    assert z.dtype == np.float64 and w.dtype == np.complex128
    tape.backward(w, np.array(1.0 + 0.0j))
    # L = Re(w) = Re(c) (a b + a²): ā = Re(c)(b + 2a), b̄ = Re(c) a, c̄ = z
    assert tape.grad(a).dtype == np.float32
    assert np.isclose(tape.grad(a)[()], 0.5 * (-0.75 + 3.0), rtol=1e-6)
    assert np.isclose(tape.grad(b)[()], 0.5 * 1.5)
    assert np.isclose(tape.grad(c)[()], 1.5 * -0.75 + 1.5**2)


def test_scalars_work_as_alpha_and_their_gradient_flows(rng: np.random.Generator) -> None:
    """y ← (1 / ‖x‖) x with axpy on the fast path and gemv on either path: the gradient of a
    normalisation against finite differences."""
    x0 = rng.standard_normal(5)

    def program(x: np.ndarray, y: np.ndarray) -> None:
        r = ba.nrm2(x)
        ba.axpy(1.0 / r, x, y)  # y ← x / ‖x‖
        ba.gemv(r * 0.5, np.eye(5)[::-1], x, 1.0, y)  # y += (‖x‖ / 2) J x, a staged layout

    x, y, seed = x0.copy(), np.zeros(5), rng.standard_normal(5)
    dx, dy = np.zeros(5), seed.copy()
    ba.autodiff(program, ba.Duplicated(x, dx), ba.Duplicated(y, dy))

    def f(x: np.ndarray) -> float:
        n = np.linalg.norm(x)
        return float(seed @ (x / n + 0.5 * n * x[::-1]))

    fd = np.array([(f(x0 + 1e-6 * e) - f(x0 - 1e-6 * e)) / 2e-6 for e in np.eye(5)])
    assert np.allclose(dx, fd, rtol=1e-6, atol=1e-8)


def test_out_stores_into_a_tracked_element_and_in_place_operators_record() -> None:
    """np.sqrt(r, out=A[j, j, ...]) and A[j, j, ...] -= r record the store (A's old value there
    gets a zero adjoint) and give a Scalar over the written element."""
    A0 = np.array([[4.0, 1.0], [1.0, 3.0]])
    A, x = A0.copy(), np.array([1.0, 2.0])
    with ba.Tape() as tape:
        tape.watch(A, x)
        d = A[1, 1, ...]
        d -= ba.dot(x, x)  # A11 ← A11 − xᵀx  = −2
        s = np.sqrt(-d, out=A[0, 0, ...])  # A00 ← sqrt(−A11) = √2
        assert isinstance(s, ba.Scalar) and np.shares_memory(s.buffer, A)
        t = np.multiply(s, 3.0, out=A[0, 1, ...])  # A01 ← 3 A00
    assert np.isclose(A[0, 0], np.sqrt(2)) and np.isclose(A[0, 1], 3 * np.sqrt(2)) and A[1, 1] == -2
    assert isinstance(t, ba.Scalar)
    tape.backward(A, np.ones((2, 2)))
    # L = A00 + A01 + A10 + A11 = 4 sqrt(x·x − A11_0) + A10 + (A11_0 − x·x)
    r = np.sqrt(x @ x - A0[1, 1])
    assert np.allclose(tape.grad(A), [[0.0, 0.0], [1.0, 1.0 - 4 * 0.5 / r]])
    assert np.allclose(tape.grad(x), 2 * x * (4 * 0.5 / r - 1))


def test_in_place_operator_on_a_subscript_stores_back_silently() -> None:
    """`A[j, j, ...] -= r` is `t = A[j, j, ...]; t -= r; A[j, j, ...] = t`: the last store puts the
    recorded result back where it is, which loses nothing (no GradientLostWarning, check=True
    included); storing it anywhere else still warns."""
    A, x = np.array([[4.0, 1.0], [1.0, 3.0]]), np.array([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with ba.Tape(check=True) as tape:
            tape.watch(A, x)
            A[1, 1, ...] -= ba.dot(x, x)
    tape.backward(A, np.ones((2, 2)))
    assert A[1, 1] == -2 and np.allclose(tape.grad(x), -2 * x)
    with ba.Tape() as tape, pytest.warns(ba.GradientLostWarning):
        tape.watch(A, x)
        d = A[1, 1, ...]
        d -= ba.dot(x, x)
        np.zeros(2)[0] = ba.dot(x, x)


def test_operations_outside_a_recording_are_numpy_scalars() -> None:
    r = ba.dot(np.ones(3), np.ones(3))
    assert isinstance(r, ba.Scalar) and repr(r) == "Scalar(3.0)" and str(r) == "3.0" and f"{r:.2f}" == "3.00"
    for v in (r + 1, 2 * r, r / 2, r**2, -r, abs(r), np.sqrt(r), np.hypot(r, 4.0)):
        assert isinstance(v, np.float64), type(v)
    assert r == 3.0 and r > 2 and bool(r) and round(r) == 3 and float(r) == 3.0 and int(r) == 3
    r32 = ba.dot(np.ones(2, np.float32), np.ones(2, np.float32))
    assert (r32 * 2.0).dtype == np.float32 and (r32 * 1j).dtype == np.complex64  # NumPy's promotion


LOSING = {
    "float": lambda r: float(r),
    "int": lambda r: int(r),
    "complex": lambda r: complex(r),
    "item": lambda r: r.item(),
    "asarray": lambda r: np.asarray(r),
    "store": lambda r: np.zeros(2).__setitem__(0, r),
    "array op": lambda r: np.ones(3) * r,
}


@pytest.mark.parametrize("how", LOSING)
def test_losing_a_gradient_warns_at_the_users_line_and_raises_under_check(how: str) -> None:
    x = np.arange(1.0, 4.0)
    with ba.Tape() as tape:
        tape.watch(x)
        r = ba.dot(x, x)
        with pytest.warns(ba.GradientLostWarning) as record:
            LOSING[how](r)
    assert record[0].filename == __file__, record[0].filename
    with ba.Tape(check=True) as tape, pytest.raises(ba.GradientLostWarning):
        tape.watch(x)
        LOSING[how](ba.dot(x, x))


def test_what_does_not_lose_a_gradient_does_not_warn() -> None:
    x = np.arange(1.0, 4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r_out = ba.dot(x, x)
        for f in LOSING.values():  # outside a recording: plain values
            f(r_out)
        with ba.Tape() as tape:
            tape.watch(x)
            r = ba.dot(x, x)
            assert r > 1 and r != 0 and bool(r) and round(r) == 14
            assert f"{r:.1f}" == "14.0" and str(r) == "14.0"
            assert np.isfinite(r) and np.floor(r) == 14
            const = ba.dot(np.ones(3), np.ones(3))  # inactive: converting it loses nothing
            float(const), np.asarray(const)


def test_scalar_wraps_only_0d_float_arrays() -> None:
    for bad in (np.zeros(2), np.zeros((), int), 1.0, [1.0]):
        with pytest.raises(TypeError, match="0-d NumPy array"):
            ba.Scalar(bad)  # type: ignore[arg-type]
    a = np.array(2.0)
    assert ba.Scalar(a).buffer is a


def test_chained_program_records_each_op_once(rng: np.random.Generator) -> None:
    """The tape holds one record per recorded op, and many ops (more than one pool chunk) stay
    exact: r_{k+1} = sin(r_k) + 0.5 r_k, 3000 steps, against the chain rule in NumPy."""
    x = np.array([0.3, 0.4])
    with ba.Tape() as tape:
        tape.watch(x)
        r = ba.nrm2(x)
        for _ in range(3000):
            r = np.sin(r) + 0.5 * r
        assert tape.ncalls == 1 + 3 * 3000
    tape.backward(r, np.array(1.0))
    v, d = 0.5, 1.0
    for _ in range(3000):
        v, d = np.sin(v) + 0.5 * v, d * (np.cos(v) + 0.5)
    assert np.isclose(r.buffer[()], v) and np.allclose(tape.grad(x), d * x / 0.5)


@pytest.mark.parametrize(("a", "b"), list(itertools.product([np.float32, np.float64], repeat=2)))
def test_numpy_scalar_and_int_operands_follow_numpy_promotion(a: type, b: type) -> None:
    x = np.array(1.25, a)
    with ba.Tape() as tape:
        tape.watch(x)
        r = ba.Scalar(x)
        for other in (b(2.0), 3, np.int64(3), True, np.array(2, np.int32)):
            got = r * other
            want = (x[()] * other).dtype if not isinstance(other, np.ndarray) else (x[()] * other[()]).dtype
            assert isinstance(got, ba.Scalar) and got.dtype == want, (a, b, other, got.dtype, want)
    tape.backward(got, np.array(1.0, got.dtype))
    assert tape.grad(x)[()] == 2.0


def test_twin_takes_an_active_scalar_of_another_dtype_through_a_recorded_cast() -> None:
    """blas.sscal(1 / blas.dnrm2(x64), x32): the float64 scale reaches sscal as a float32 buffer
    through a recorded cast, so x64 still gets its gradient (SciPy would convert it silently)."""
    from blasad.linalg import blas

    x64, x32 = np.array([3.0, 4.0, 1.0]), np.array([1.0, -2.0, 0.5], np.float32)
    seed = np.array([1.0, 2.0, 3.0], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with ba.Tape() as tape:
            tape.watch(x64, x32)
            y = blas.sscal(1.0 / blas.dnrm2(x64), x32)
    tape.backward(y, seed)
    n, x0 = np.linalg.norm(x64), np.array([1.0, -2.0, 0.5])
    assert np.allclose(tape.grad(x32), seed / n, rtol=1e-6)
    assert np.allclose(tape.grad(x64), -x64 * float(seed @ x0) / n**3, rtol=1e-6)


def test_copy_and_pickle_give_a_scalar_over_a_copy() -> None:
    import copy
    import pickle

    r = ba.dot(np.arange(3.0), np.arange(3.0))
    for c in (copy.copy(r), copy.deepcopy(r), pickle.loads(pickle.dumps(r))):
        assert isinstance(c, ba.Scalar) and c == 5.0 and c.dtype == np.float64
        assert not np.shares_memory(c.buffer, r.buffer)
