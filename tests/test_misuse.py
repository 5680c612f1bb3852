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
