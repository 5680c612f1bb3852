"""Tape(check=True): writes made outside blasad to values the reverse sweep needs are caught
(checksums taken when a call is recorded, verified before a copy-on-write copy and before the
sweep) and raise at backward instead of giving a wrong gradient."""

import numpy as np
import pytest

import blasad as ba


def _program(A, B, C):
    ba.gemm(1.0, A, B, 0.0, C)  # saves B (for Ā) and A (for B̄) by reference


def _inputs():
    rng = np.random.default_rng(5)
    return rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), np.zeros((3, 2))


def test_an_outside_write_to_a_saved_input_raises_at_backward():
    A, B, C = _inputs()
    with ba.Tape(check=True) as tape:
        tape.watch(A, B)
        _program(A, B, C)
    B[1, 1] += 1.0  # NumPy, not blasad: the tape cannot see it ...
    with pytest.raises(RuntimeError, match="changed outside blasad"):
        tape.backward(C, np.ones_like(C))  # ... but check mode notices
    with pytest.raises(RuntimeError):  # and the tape is consumed
        tape.backward(C, np.ones_like(C))


def test_the_same_write_without_check_mode_gives_a_wrong_gradient():
    """What check mode protects against: the unchecked tape silently uses the new B."""
    A, B, C = _inputs()
    B0 = B.copy()
    with ba.Tape() as tape:
        tape.watch(A, B)
        _program(A, B, C)
    B[1, 1] += 1.0
    tape.backward(C, np.ones_like(C))
    assert not np.allclose(tape.grad(A), np.ones_like(C) @ B0.T)


def test_without_outside_writes_check_mode_changes_nothing():
    grads = []
    for check in (False, True):
        A, B, C = _inputs()
        with ba.Tape(check=check) as tape:
            tape.watch(A, B)
            _program(A, B, C)
            ba.gemm(1.0, C, C.T, 0.0, np.zeros((3, 3)))
            ba.gemm(2.0, A, A.T, 0.0, np.zeros((3, 3)))
        tape.backward(C, np.ones_like(C))
        grads.append((tape.grad(A), tape.grad(B)))
    for plain, checked in zip(*grads):
        assert np.array_equal(plain, checked)


def test_an_outside_write_to_a_value_nobody_needs_is_fine():
    A, B, C = _inputs()
    with ba.Tape(check=True) as tape:
        tape.watch(A, B)
        _program(A, B, C)
    C[0, 0] = 7.0  # C is an output: the sweep reads only its shadow
    tape.backward(C, np.ones_like(C))
    assert np.allclose(tape.grad(A), np.ones_like(C) @ B.T)


def test_an_outside_write_is_caught_before_a_copy_on_write_copy():
    """B is changed by NumPy, then overwritten by a recorded call: the copy would preserve the
    wrong value, so the checksum is verified before copying."""
    A, B, C = _inputs()
    with ba.Tape(check=True) as tape:
        tape.watch(A, B)
        _program(A, B, C)
        B[0, 0] = -3.0  # outside write
        ba.gemm(1.0, np.ones((4, 4)), np.ones((4, 2)), 0.0, B)  # overwrites B: copy-on-write
    with pytest.raises(RuntimeError, match="changed outside blasad"):
        tape.backward(C, np.ones_like(C))


def test_autodiff_takes_check_too():
    A, B, C = _inputs()
    dA, dB, dC = np.zeros_like(A), np.zeros_like(B), np.ones_like(C)

    def f(A, B, C):
        _program(A, B, C)
        B[2, 0] = 0.0  # outside write inside the program

    with pytest.raises(RuntimeError, match="changed outside blasad"):
        ba.autodiff(f, ba.Duplicated(A, dA), ba.Duplicated(B, dB), ba.Duplicated(C, dC), check=True)
    assert not dA.any() and not dB.any()  # no adjoint was computed
