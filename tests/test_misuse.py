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


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda x, y, dx, dy, c: (ba.Duplicated(x, dx), ba.Duplicated(y, x)),
            r"argument 1's shadow dx shares memory with argument 0 \(Duplicated x\)",
        ),
        (
            lambda x, y, dx, dy, c: (ba.Duplicated(x, dx), ba.Duplicated(y, dx[::-1].copy()), ba.Const(dx)),
            r"argument 2 \(constant\) shares memory with argument 0's shadow dx",
        ),
        (
            lambda x, y, dx, dy, c: (ba.Duplicated(x, c[:3]), ba.Duplicated(y, dy), ba.Const(c)),
            r"argument 2 \(constant\) shares memory with argument 0's shadow dx",
        ),
        (
            lambda x, y, dx, dy, c: (ba.Duplicated(x, dx), ba.Duplicated(y, dy[::-1]), dy),
            r"argument 2 \(constant\) shares memory with argument 1's shadow dx",
        ),
    ],
    ids=[
        "shadow is another primal",
        "constant is a shadow",
        "shadow inside a constant",
        "plain array is a shadow",
    ],
)
def test_a_shadow_that_aliases_any_other_argument_is_refused_naming_both(make, match):
    """Issue 12 item 1: every pair of arguments, not only x against its own dx; nothing runs."""
    x, y, dx, dy, c = np.ones(3), np.ones(3), np.zeros(3), np.zeros(3), np.arange(6.0)
    before = [a.copy() for a in (x, y, dx, dy, c)]
    calls: list[int] = []
    with pytest.raises(ValueError, match=match):
        ba.autodiff(lambda *a: calls.append(1), *make(x, y, dx, dy, c))
    assert calls == []
    for a, b in zip((x, y, dx, dy, c), before):
        np.testing.assert_array_equal(a, b)


def test_elements_that_overlap_cannot_be_written_or_seeded_but_may_be_read_and_watched():
    """Issue 12 item 2: a broadcast or as_strided view whose elements overlap is refused as an
    output (every routine), a Duplicated primal or shadow, and a backward output; as a watched
    input its adjoint is the sum over its aliases."""
    from numpy.lib.stride_tricks import as_strided

    base = np.arange(1.0, 5.0)
    over = as_strided(base, shape=(3, 3), strides=(8, 8))  # element (i, j) is base[i + j]
    with pytest.raises(ValueError, match=r"gemm: C has strides .* its elements overlap"):
        ba.gemm(1.0, np.eye(3), np.eye(3), 0.0, over)
    with pytest.raises(ValueError, match=r"Duplicated x has strides .* overlap"):
        ba.Duplicated(over, np.zeros((3, 3)))
    x = np.broadcast_to(np.array([2.0]), (3,))
    y = np.zeros(3)
    with ba.Tape() as tape:
        tape.watch(x)
        ba.axpy(1.0, x, y)
    with pytest.raises(ValueError, match=r"outputs\[0\] has strides .* overlap"):
        tape.backward(x, np.ones(3))
    tape.backward(y, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(tape.grad(x), [6.0, 6.0, 6.0])  # the one number x holds: 1 + 2 + 3


def test_watch_after_a_recorded_write_is_refused():
    """Issue 12 item 5: grad(x) is the adjoint of x's value when it was watched. After a
    recorded call wrote x that value's adjoint cannot be told apart from the earlier one's (it
    used to come back as zero), so watch refuses; watching before the write works."""
    A, x, y = np.eye(2), np.ones(2), np.zeros(2)
    with ba.Tape() as tape:
        tape.watch(A, x)
        ba.gemv(1.0, A, x, 0.0, y)  # writes y (active)
        with pytest.raises(ValueError, match="watch argument 0 lies in memory that a call recorded"):
            tape.watch(y)
        tape.watch(x)  # read, never written: fine to watch again
    tape.backward(y, np.array([1.0, 2.0]))
    np.testing.assert_array_equal(tape.grad(x), [1.0, 2.0])


def test_an_empty_call_with_a_huge_other_dim_is_immediate():
    """Issue 12 item 7: k = 2**40 with m = n = 0 (and the like) must not loop over the empty
    extents, forward or reverse, on either path. Run in a subprocess so that a regression fails
    (timeout) instead of hanging the suite."""
    import subprocess
    import sys

    code = """
import numpy as np, blasad as ba
import blasad._lowering as L
big = 2**40
def e(shape, order="C"):
    return np.empty(shape, order=order)
for fast in (True, False):
    L.FAST = fast
    for order in "CF":
        A, B, C = e((0, big), order), e((big, 0), order), np.zeros((0, 0))
        ba.gemm(1.0, A, B, 0.0, C)
        ba.gemm(1.0, B, B, 0.0, C, "T", "N")
        ba.syrk(1.0, A, 0.0, C)
        ba.trmm(1.0, np.eye(0), e((0, big), order))
        ba.symm(1.0, np.eye(0), e((0, big), order), 0.0, e((0, big), order))
        with ba.Tape() as tape:
            tape.watch(A, B)
            ba.gemm(1.0, A, B, 0.0, C)
            ba.syrk(1.0, A, 0.0, C)
        tape.backward(C, np.zeros((0, 0)))
        assert tape.grad(A).shape == (0, big)
print("done")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "done", out.stderr
