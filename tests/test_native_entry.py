"""The native entry points of autodiff (both modes), Duplicated, Tape.watch, Tape.backward and
Tape.grad (csrc/fast.c py_autodiff, py_forward, py_duplicated, py_watch, py_backward): each takes
the common case in one call and leaves everything else to the Python path, which stays the
reference. Every program here runs both ways, the native entry switched off by monkeypatching,
and the values and derivatives agree bit for bit; the programs include those that make the
native call hand over to Python halfway (a Tape or Forward object made while f runs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from _tools import run_threads

import blasad as ba
from blasad import _forward, _tape
from blasad._tape import current_tape

rng = np.random.default_rng(7)
DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def rand(*shape: int, dtype: Any = np.float64, order: str = "C") -> np.ndarray:
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return np.asarray(x, dtype=dtype, order=order)  # type: ignore[call-overload]


def python_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch the native entry points off: every call takes the Python path."""
    monkeypatch.setattr(_tape, "_native_autodiff", lambda f, args: _tape._FALLBACK)
    monkeypatch.setattr(_forward, "_native_forward", lambda f, args: _tape._FALLBACK)
    monkeypatch.setattr(_tape, "_native_duplicated", lambda x, dx: False)
    monkeypatch.setattr(_tape, "_native_watch", lambda address, bases, arrays: False)
    monkeypatch.setattr(_tape, "_native_backward", lambda address, out, seed: _tape._FALLBACK)


def both_ways(monkeypatch: pytest.MonkeyPatch, run: Callable[[], list[np.ndarray]]) -> list[np.ndarray]:
    """run() natively and on the Python path: the same arrays, bit for bit; the native ones."""
    native = run()
    with monkeypatch.context() as m:
        python_path(m)
        python = run()
    assert len(native) == len(python)
    for a, b in zip(native, python):
        np.testing.assert_array_equal(a, b)
    assert current_tape() is None and _tape.thread_local.forward is None
    return native


# ---- programs -------------------------------------------------------------------------------------


def chain(W: np.ndarray, X: np.ndarray) -> None:
    """X[i + 1] ← W X[i] over views of one base, then a scaled sum into X[-1]."""
    for i in range(X.shape[0] - 1):
        ba.gemm(1.0, W, X[i], 0.0, X[i + 1])
    ba.axpy(0.5, X[0].reshape(-1), X[-1].reshape(-1))


def with_a_tape_object(W: np.ndarray, X: np.ndarray) -> None:
    """chain, asking for the recording tape halfway (the native call hands over to Python)."""
    ba.gemm(1.0, W, X[0], 0.0, X[1])
    assert current_tape() is not None
    chain(W, X)


def with_a_checkpointed_loop(W: np.ndarray, X: np.ndarray) -> None:
    def step(i: int) -> None:
        ba.gemm(1.0, W, X[i], 0.0, X[i + 1])

    ba.checkpoint_loop(step, X.shape[0] - 1, snapshots=2)


def with_active_scalars(W: np.ndarray, X: np.ndarray) -> None:
    """A normalisation through active scalars (rr / pAp style), a reduction's result made new."""
    for i in range(X.shape[0] - 1):
        ba.gemm(1.0, W, X[i], 0.0, X[i + 1])
        r = ba.nrm2(X[i + 1].reshape(-1))
        ba.scal(1.0 / r, X[i + 1].reshape(-1))


PROGRAMS = [chain, with_a_tape_object, with_a_checkpointed_loop, with_active_scalars]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_reverse_autodiff_matches_the_python_path(monkeypatch: pytest.MonkeyPatch, program, dtype) -> None:
    W0, X0 = rand(3, 3, dtype=dtype), rand(6, 3, 2, dtype=dtype)
    seed = rand(6, 3, 2, dtype=dtype)

    def run() -> list[np.ndarray]:
        W, X, dW, dX = W0.copy(), X0.copy(), np.zeros_like(W0), seed.copy()
        ba.autodiff(program, ba.Duplicated(W, dW), ba.Duplicated(X, dX))
        return [W, X, dW, dX]

    _, _, dW, dX = both_ways(monkeypatch, run)
    assert np.abs(dW).max() > 0 and np.abs(dX[0]).max() > 0


def with_a_forward_object(W: np.ndarray, X: np.ndarray) -> None:
    """chain, asking for the forward-mode run halfway (the native call hands over to Python)."""
    ba.gemm(1.0, W, X[0], 0.0, X[1])
    assert _tape.thread_local.forward is not None
    chain(W, X)


@pytest.mark.parametrize(
    "program", [chain, with_a_forward_object, with_active_scalars], ids=lambda p: p.__name__
)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_forward_autodiff_matches_the_python_path(monkeypatch: pytest.MonkeyPatch, program, dtype) -> None:
    W0, X0 = rand(3, 3, dtype=dtype), rand(6, 3, 2, dtype=dtype)
    dW0, dX0 = rand(3, 3, dtype=dtype), rand(6, 3, 2, dtype=dtype)

    def run() -> list[np.ndarray]:
        W, X, dW, dX = W0.copy(), X0.copy(), dW0.copy(), dX0.copy()
        ba.autodiff(program, ba.Duplicated(W, dW), ba.Duplicated(X, dX), mode="forward")
        return [W, X, dW, dX]

    both_ways(monkeypatch, run)


def test_forward_hands_over_for_a_python_rule_and_new_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """trtri's tangent rule is Python's; `x = ba.gemv(...)` makes a new output; an active scalar."""
    n = 5
    B = rand(n, n)
    A0 = B @ B.T + n * np.eye(n)
    dA0, x0, dx0 = rand(n, n), rand(n), rand(n)
    dA0 = dA0 + dA0.T

    def f(A: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
        ba.trtri(A, uplo="L")
        y = ba.gemv(1.0, A, x)
        r = ba.dot(y, y)
        ba.scal(r, y)
        ba.copy(y, out)

    def run() -> list[np.ndarray]:
        A, x, dA, dx = A0.copy(), x0.copy(), dA0.copy(), dx0.copy()
        out, dout = np.zeros(n), np.zeros(n)
        ba.autodiff(f, ba.Duplicated(A, dA), ba.Duplicated(x, dx), ba.Duplicated(out, dout), mode="forward")
        return [A, dA, out, dout]

    _, _, _, dout = both_ways(monkeypatch, run)
    assert np.abs(dout).max() > 0


def test_a_long_sweep_goes_through_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """≥ 256 records reading ≥ 4 MiB: the sweep runs on a helper thread (Ctrl-C stops it)."""
    A0, x0 = rand(800, 800), rand(800)

    def f(A: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        for _ in range(300):
            ba.gemv(1e-3, A, x, 1.0, y)

    def run() -> list[np.ndarray]:
        A, x, y = A0.copy(), x0.copy(), np.zeros(800)
        dA, dx, dy = np.zeros_like(A), np.zeros_like(x), np.ones(800)
        ba.autodiff(f, ba.Duplicated(A, dA), ba.Duplicated(x, dx), ba.Duplicated(y, dy))
        return [y, dA, dx, dy]

    both_ways(monkeypatch, run)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("handed_over", [False, True])
def test_f_that_raises_leaves_nothing_recording(mode: str, handed_over: bool) -> None:
    A, dA = rand(9), rand(9)

    def f(A: np.ndarray) -> None:
        ba.scal(2.0, A)
        if handed_over:
            assert (current_tape() if mode == "reverse" else _tape.thread_local.forward) is not None
        raise KeyError("in f")

    before = dA.copy()
    with pytest.raises(KeyError, match="in f"):
        ba.autodiff(f, ba.Duplicated(A, dA), mode=mode)
    assert current_tape() is None and _tape.thread_local.forward is None
    if mode == "reverse":
        np.testing.assert_array_equal(dA, before)  # no sweep ran
    with ba.Tape() as tape:  # the thread records again
        tape.watch(A)
        ba.scal(3.0, A)
    tape.backward(A, np.ones_like(A))
    np.testing.assert_array_equal(tape.grad(A), np.full(9, 3.0))


def test_modes_and_tapes_do_not_nest_inside_the_native_call() -> None:
    A, dA = rand(3, 3), rand(3, 3)

    def tape_inside(A: np.ndarray) -> None:
        with ba.Tape():
            pass

    def forward_inside(A: np.ndarray) -> None:
        ba.autodiff(lambda B: None, ba.Duplicated(A, np.zeros_like(A)), mode="forward")

    def reverse_inside(A: np.ndarray) -> None:
        ba.autodiff(lambda B: None, ba.Duplicated(rand(2), np.zeros(2)))

    with pytest.raises(RuntimeError, match="another Tape is already recording"):
        ba.autodiff(tape_inside, ba.Duplicated(A, dA))
    with pytest.raises(RuntimeError, match="forward mode cannot run inside a recording Tape"):
        ba.autodiff(forward_inside, ba.Duplicated(A, dA))
    with pytest.raises(RuntimeError, match="another Tape is already recording"):
        ba.autodiff(reverse_inside, ba.Duplicated(A, dA))
    with pytest.raises(RuntimeError, match="a Tape cannot record inside forward mode"):
        ba.autodiff(reverse_inside, ba.Duplicated(A, dA), mode="forward")
    with pytest.raises(RuntimeError, match="already running on this thread"):
        ba.autodiff(forward_inside, ba.Duplicated(A, dA), mode="forward")
    with ba.Tape(), pytest.raises(RuntimeError, match="another Tape is already recording"):
        ba.autodiff(lambda B: None, ba.Duplicated(A, dA))
    assert current_tape() is None and _tape.thread_local.forward is None


def test_arguments_the_native_call_turns_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """dx laid out unlike x, a constant overlapping an active array, BatchDuplicated: the Python
    path's answers (its copy-back, its check, its error)."""
    A0, B0 = rand(4, 4), rand(4, 4)

    def f(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> None:
        ba.gemm(1.0, A, B, 1.0, C)

    def run() -> list[np.ndarray]:
        A, B, C = A0.copy(), B0.copy(), np.ones((4, 4))
        dA, dC = np.zeros((4, 4), order="F"), np.ones((4, 4))
        ba.autodiff(f, ba.Duplicated(A, dA), ba.Const(B), ba.Duplicated(C, dC))
        return [C, dA, dC]

    both_ways(monkeypatch, run)
    A, Z = rand(4, 4), np.zeros((4, 4))
    with pytest.raises(ValueError, match=r"argument 1 \(constant\) shares memory with argument 0's shadow"):
        ba.autodiff(f, ba.Duplicated(A, Z), Z[:2], ba.Duplicated(rand(4, 4), np.zeros((4, 4))))
    with pytest.raises(ValueError, match="needs mode='forward'"):
        ba.autodiff(f, ba.BatchDuplicated(A, np.zeros((2, 4, 4))), B0, A0)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("orders", ["CC", "FF", "CF", "FC"])
def test_tape_backward_and_grad_match_the_python_path(monkeypatch: pytest.MonkeyPatch, dtype, orders) -> None:
    A0, B0 = rand(3, 4, dtype=dtype), rand(4, 5, dtype=dtype)
    seed = rand(3, 5, dtype=dtype, order=orders[1])

    def run() -> list[np.ndarray]:
        A, B = A0.copy(), B0.copy()
        C = np.zeros((3, 5), dtype, order=orders[0])  # type: ignore[call-overload]
        with ba.Tape() as tape:
            tape.watch(A, B)
            ba.gemm(1.0, A, B, 0.0, C)
            ba.scal(2.0, C.reshape(-1, order="A"))  # (a view of C in either order)
        tape.backward(C, seed)
        return [C, tape.grad(A), tape.grad(B), tape.grad(C)]

    _, gA, _, gC = both_ways(monkeypatch, run)
    np.testing.assert_allclose(gA, 2 * seed @ B0.conj().T, rtol=1e-4)
    np.testing.assert_array_equal(gC, np.zeros_like(gC))  # C's value from before gemm: overwritten (β = 0)


def test_backward_seed_cases_the_python_path_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real seed for a complex output, a list of outputs, an output nothing active reached."""
    A0 = rand(3, 3, dtype=np.complex128)

    def run() -> list[np.ndarray]:
        A, C, D = A0.copy(), np.zeros((3, 3), complex), np.ones(3)
        with ba.Tape() as tape:
            tape.watch(A)
            ba.gemm(1.0, A, A, 0.0, C)
        tape.backward(C, np.ones((3, 3)))  # a float64 seed
        g1 = tape.grad(A)
        with ba.Tape() as tape:
            tape.watch(A)
            ba.gemm(1.0, A, A, 0.0, C)
            ba.scal(2.0, D)
        tape.backward([C, D], [np.ones((3, 3), complex), np.ones(3)])
        return [g1, tape.grad(A)]

    both_ways(monkeypatch, run)


def test_replay_tape_backward_twice_and_check_mode() -> None:
    A, B, C = rand(3, 3), rand(3, 3), np.zeros((3, 3))
    seed = rand(3, 3)
    with ba.Tape(replay=True) as tape:
        tape.watch(A, B)
        ba.gemm(1.0, A, B, 0.0, C)
    tape.backward(C, seed)
    g1 = tape.grad(A)
    tape.backward(C, seed)  # a replay tape's second backward repeats the first
    np.testing.assert_array_equal(tape.grad(A), g1)
    np.testing.assert_array_equal(g1, seed @ B.T)
    with ba.Tape(check=True) as tape:
        tape.watch(A, B)
        ba.gemm(1.0, A, B, 0.0, C)
    B[0, 0] += 1.0  # a NumPy write to a value the sweep reads
    with pytest.raises(RuntimeError, match="changed outside blasad"):
        tape.backward(C, seed)


def test_watch_and_duplicated_errors_are_the_python_paths() -> None:
    with ba.Tape() as tape:
        with pytest.raises(TypeError, match="watch argument 1 must have dtype"):
            tape.watch(rand(3), np.zeros(3, np.int64))
        x, y = rand(3), rand(3)
        tape.watch(y)
        ba.axpy(2.0, y, x)  # (recorded: it writes x from an active value)
        with pytest.raises(ValueError, match="already written"):
            tape.watch(rand(2), x)
    with pytest.raises(ValueError, match="read-only"):
        dx = np.zeros(3)
        dx.flags.writeable = False
        ba.Duplicated(rand(3), dx)
    with pytest.raises(ValueError, match="shares memory with x"):
        x = rand(6)
        ba.Duplicated(x[:3], x[2:5])
    with pytest.raises(TypeError, match="expected float64"):
        ba.Duplicated(rand(3), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="expected \\(3,\\)"):
        ba.Duplicated(rand(3), np.zeros(4))
    with pytest.raises(TypeError, match="must have dtype"):
        ba.Duplicated(rand(3).astype(">f8"), np.zeros(3, ">f8"))
    x = rand(4, 4)  # a non-contiguous pair of distinct elements passes (through the Python check)
    assert ba.Duplicated(x[:, ::2], np.zeros((4, 2))).x is not None


def test_native_autodiff_in_threads() -> None:
    """Each thread's call has its own tape (the native state is per thread)."""
    W = rand(3, 3)
    want: list[np.ndarray] = []

    def work(k: int) -> None:
        for _ in range(200):
            X, dX = np.ones((4, 3, 2)), np.ones((4, 3, 2))
            dW = np.zeros((3, 3))

            def f(W: np.ndarray, X: np.ndarray) -> None:
                if k % 2:
                    assert current_tape() is not None  # half of them hand over to Python
                chain(W, X)

            ba.autodiff(f, ba.Duplicated(W.copy(), dW), ba.Duplicated(X, dX))
            want.append(dW)

    run_threads(work)
    assert len(want) == 800
    for dW in want[1:]:
        np.testing.assert_array_equal(dW, want[0])
