"""Misuse gets a clear error, not a silent wrong answer (issue: reliability under misuse)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import blasad as ba


def test_a_tape_that_never_recorded_refuses_backward():
    """`t = Tape(); t.watch(A); gemm(...); t.backward(...)` without `with t:` used to return
    zeros: nothing was recorded."""
    A, B, C = np.eye(2), np.eye(2), np.zeros((2, 2))
    tape = ba.Tape()
    tape.watch(A, B)
    ba.gemm(1.0, A, B, 0.0, C)
    with pytest.raises(RuntimeError, match="never recorded"):
        tape.backward(C, np.ones((2, 2)))


@pytest.mark.parametrize("alpha", [10**400, -(10**400), Fraction(10**400), Fraction(10**400, 3)])
def test_a_scalar_too_large_for_a_double_is_a_value_error_naming_it(alpha):
    x, y = np.ones(3), np.ones(3)
    with pytest.raises(ValueError, match=r"axpy: alpha is a \w+ too large for a double"):
        ba.axpy(alpha, x, y)
    np.testing.assert_array_equal(y, 1.0)  # nothing written
    with pytest.raises(ValueError, match=r"gemm: beta is a \w+ too large for a double"):
        ba.gemm(1.0, np.eye(2), np.eye(2), alpha, np.zeros((2, 2)))
    xc = np.ones(3, complex)
    with pytest.raises(ValueError, match=r"scal: alpha is a \w+ too large for a double"):
        ba.scal(alpha, xc)


def test_strides_not_a_multiple_of_the_itemsize_are_refused_naming_the_argument():
    """A float64 field of a packed record array has stride 12: BLAS cannot address it, and the
    README says so (the promise is any strides in whole elements)."""
    rec = np.zeros(4, dtype=[("a", np.int32), ("x", np.float64)])
    x = rec["x"]
    assert x.strides == (12,)
    with pytest.raises(
        ValueError, match="axpy: x has strides \\(12,\\) that are not multiples of its itemsize"
    ):
        ba.axpy(1.0, x, np.ones(4))


def test_another_thread_cannot_touch_a_recording_tape():
    """watch/backward/grad from a thread that is not recording on the tape: RuntimeError (it
    used to be a use-after-free in the region table); the owner's recording goes on."""
    import threading

    A, B, C = np.ones((3, 3)), np.ones((3, 3)), np.zeros((3, 3))
    errors: list[BaseException] = []

    def other(tape: ba.Tape) -> None:
        for call in (lambda: tape.watch(np.ones(5)), lambda: tape.backward(C, C), lambda: tape.grad(A)):
            try:
                call()
            except RuntimeError as e:
                errors.append(e)

    with ba.Tape() as tape:
        tape.watch(A, B)
        worker = threading.Thread(target=other, args=(tape,))
        worker.start()
        for _ in range(200):
            ba.gemm(1.0, A, B, 1.0, C)
        worker.join()
    assert len(errors) == 3 and all("another thread" in str(e) for e in errors), errors
    tape.backward(C, np.ones((3, 3)))
    np.testing.assert_allclose(tape.grad(A), 200 * np.ones((3, 3)) @ B.T)


def test_two_threads_cannot_sweep_one_tape_at_once():
    import threading

    A, B, C = np.ones((300, 300)), np.ones((300, 300)), np.zeros((300, 300))
    with ba.Tape() as tape:
        tape.watch(A, B)
        for _ in range(20):
            ba.gemm(1.0, A, B, 1.0, C)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def sweep() -> None:
        start.wait()
        try:
            tape.backward(C, np.ones_like(C))
            outcomes.append("swept")
        except RuntimeError as e:
            outcomes.append("running" if "another thread" in str(e) else "consumed")

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) in (["consumed", "swept"], ["running", "swept"]), outcomes
    np.testing.assert_allclose(tape.grad(A), 20 * np.ones_like(C) @ B.T)
