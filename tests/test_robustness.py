"""Robustness (issue #4): bad input is rejected before anything is written, odd but legal input
works, and a failure midway (out of memory) leaves the user's arrays and the tape consistent.

tests/test_validation.py holds the bulk of the bad-input cases; this file adds the ones it lacks.
Every test runs on the C fast path and on the validating Python path (conftest.dispatch_path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided
from numpy.testing import assert_array_equal
from scipy.linalg import blas as scipy_blas

import blasad as ba
import blasad._tape as tape_module
from blasad._native_loader import lib
from blasad._tape import current_tape


def ints(seed: int, shape: tuple[int, ...], order: str = "C") -> np.ndarray:
    """Small integers as float64: every sum and product below is exact, whatever the order."""
    values = np.random.default_rng(seed).integers(-3, 4, size=shape).astype(np.float64)
    return np.asarray(values, order=order)


@contextmanager
def untouched(*arrays: np.ndarray) -> Iterator[None]:
    """Every array bit-identical (values and writeable flag) after the block."""
    before = [(a, a.tobytes(), a.flags.writeable) for a in arrays]
    yield
    for a, bits, writeable in before:
        assert a.tobytes() == bits, "an array was modified by a call that raised"
        assert a.flags.writeable == writeable


@pytest.fixture(autouse=True)
def _no_fault_injection() -> Iterator[None]:
    """Allocation fault injection is global: never leave it armed for the next test."""
    lib.ba_debug_fail_after(-1)
    yield
    lib.ba_debug_fail_after(-1)


# ================================================================================================
# 1. Validation: the cases tests/test_validation.py lacks
# ================================================================================================


def _data() -> SimpleNamespace:
    rng = np.random.default_rng(17)
    d = SimpleNamespace(
        A=rng.standard_normal((3, 4)),  # m = 3, k = 4
        B=rng.standard_normal((4, 2)),  # n = 2
        C=rng.standard_normal((3, 2)),
        x=rng.standard_normal(4),
        y=rng.standard_normal(3),
        C3=rng.standard_normal((3, 3)),
    )
    d.x_be = d.x.astype(">f8")  # float64 values in big-endian byte order: not a BLAS dtype here
    d.A16 = d.A.astype(np.float16)
    d.Bld = np.zeros(d.B.shape, np.longdouble)  # zeroed first: its padding bytes are defined
    d.Bld[...] = d.B
    d.xb = d.x > 0
    d.yo = d.y.astype(object)
    d.x32 = d.x.astype(np.float32)
    d.C_bytes = np.frombuffer(bytes(48)).reshape(3, 2)  # read-only memory
    d.C_base = rng.standard_normal((3, 2))
    d.C_view = d.C_base[:, :]
    d.C_view.flags.writeable = False  # a read-only view of a writable base
    d.y_ro = rng.standard_normal(3)
    d.y_ro.flags.writeable = False
    return d


def _arrays(d: SimpleNamespace) -> list[np.ndarray]:
    return [v for v in vars(d).values() if isinstance(v, np.ndarray)]


# (id, exception, message fragment naming the argument, call)
CASES: list[tuple[str, type[Exception], str, Callable[[SimpleNamespace], Any]]] = [
    # wrong ndim: 0-d and 3-D where test_validation has 1-D and 2-D
    (
        "gemm A 0-d",
        ValueError,
        r"gemm: A must be 2-D .*got a 0-D",
        lambda d: ba.gemm(1.0, d.A[0, 0, ...], d.B, 0.0, d.C),
    ),
    (
        "gemv A 3-D",
        ValueError,
        r"gemv: A must be 2-D .*got a 3-D",
        lambda d: ba.gemv(1.0, d.A[None], d.x, 0.0, d.y),
    ),
    (
        "gemv x 0-d",
        ValueError,
        r"gemv: x must be 1-D .*got a 0-D",
        lambda d: ba.gemv(1.0, d.A, d.x[0, ...], 0.0, d.y),
    ),
    ("axpy y 2-D", ValueError, r"axpy: y must be 1-D .*got a 2-D", lambda d: ba.axpy(1.0, d.y, d.C3)),
    # mismatched shapes: the message names the dim, both values and where each came from
    (
        "gemm k",
        ValueError,
        r"gemm: B has shape \(3, 4\), so k = 3, but A \(shape \(3, 4\)\) gives k = 4",
        lambda d: ba.gemm(1.0, d.A, d.A, 0.0, d.C),
    ),
    (
        "gemm n from C",
        ValueError,
        r"gemm: C has shape \(3, 3\), so n = 3, but B \(shape \(4, 2\)\) gives n = 2",
        lambda d: ba.gemm(1.0, d.A, d.B, 0.0, d.C3),
    ),
    (
        "gemm k through op(A) and op(B)",
        ValueError,
        r"gemm: op\(B\) has shape \(2, 4\), so k = 2, but op\(A\) \(shape \(4, 3\)\) gives k = 3",
        lambda d: ba.gemm(1.0, d.A, d.B, 0.0, d.C, "T", "T"),
    ),
    (
        "gemv n through op(A)",
        ValueError,
        r"gemv: x has shape \(4,\), so n = 4, but op\(A\) \(shape \(4, 3\)\) gives n = 3",
        lambda d: ba.gemv(1.0, d.A, d.x, 0.0, d.y, trans="T"),
    ),
    (
        "axpy n",
        ValueError,
        r"axpy: y has shape \(3,\), so n = 3, but x \(shape \(4,\)\) gives n = 4",
        lambda d: ba.axpy(1.0, d.x, d.y),
    ),
    # dtypes that are not float32/float64 (nor complex), and mixing
    ("gemm A float16", TypeError, r"gemm: A has dtype float16", lambda d: ba.gemm(1.0, d.A16, d.B, 0.0, d.C)),
    (
        "gemm B longdouble",
        TypeError,
        r"gemm: B has dtype float128",
        lambda d: ba.gemm(1.0, d.A, d.Bld, 0.0, d.C),
    ),
    ("gemv x bool", TypeError, r"gemv: x has dtype bool", lambda d: ba.gemv(1.0, d.A, d.xb, 0.0, d.y)),
    ("gemv y object", TypeError, r"gemv: y has dtype object", lambda d: ba.gemv(1.0, d.A, d.x, 0.0, d.yo)),
    ("gemv x big-endian", TypeError, r"gemv: x has dtype >f8", lambda d: ba.gemv(1.0, d.A, d.x_be, 0.0, d.y)),
    (
        "gemv mixed dtypes x",
        TypeError,
        r"gemv: mixed dtypes: x is float32 but A is float64",
        lambda d: ba.gemv(1.0, d.A, d.x32, 0.0, d.y),
    ),
    # outputs that are not arrays
    (
        "axpy y NumPy scalar",
        TypeError,
        r"axpy: y must be a NumPy array, got float64",
        lambda d: ba.axpy(1.0, d.y, np.float64(0.0)),
    ),
    (
        "gemm C memoryview",
        TypeError,
        r"gemm: C must be a NumPy array, got memoryview",
        lambda d: ba.gemm(1.0, d.A, d.B, 0.0, memoryview(d.C)),
    ),
    # read-only outputs
    (
        "gemm C read-only memory",
        ValueError,
        r"gemm: C is read-only",
        lambda d: ba.gemm(1.0, d.A, d.B, 0.0, d.C_bytes),
    ),
    (
        "gemm C read-only view",
        ValueError,
        r"gemm: C is read-only",
        lambda d: ba.gemm(1.0, d.A, d.B, 1.0, d.C_view),
    ),
    ("gemv y read-only", ValueError, r"gemv: y is read-only", lambda d: ba.gemv(1.0, d.A, d.x, 0.0, d.y_ro)),
    # unknown flags
    (
        "gemm trans_a None",
        ValueError,
        r"gemm: trans_a must be one of .*got None",
        lambda d: ba.gemm(1.0, d.A, d.B, 0.0, d.C, None),
    ),
    (
        "gemm trans_b bytes",
        ValueError,
        r"gemm: trans_b must be one of .*got b'N'",
        lambda d: ba.gemm(1.0, d.A, d.B, 0.0, d.C, "N", b"N"),
    ),
    (
        "gemv trans empty",
        ValueError,
        r"gemv: trans must be one of .*got ''",
        lambda d: ba.gemv(1.0, d.A, d.x, 0.0, d.y, ""),
    ),
    # non-numeric scalars and 0-d scalars of a wrong dtype or rank
    (
        "gemm alpha np.bool_",
        TypeError,
        r"gemm: alpha must be a real number",
        lambda d: ba.gemm(np.bool_(True), d.A, d.B, 0.0, d.C),
    ),
    (
        "gemm alpha Decimal",
        TypeError,
        r"gemm: alpha must be a real number",
        lambda d: ba.gemm(Decimal(1), d.A, d.B, 0.0, d.C),
    ),
    (
        "gemv beta complex128 scalar",
        TypeError,
        r"gemv: beta must be a real number",
        lambda d: ba.gemv(1.0, d.A, d.x, np.complex128(1.0), d.y),
    ),
    (
        "gemm beta 0-d bool",
        TypeError,
        r"gemm: beta is a 0-d array of dtype bool",
        lambda d: ba.gemm(1.0, d.A, d.B, np.array(True), d.C),
    ),
    (
        "axpy alpha 0-d object",
        TypeError,
        r"axpy: alpha is a 0-d array of dtype object",
        lambda d: ba.axpy(np.array(1.0, dtype=object), d.y, d.y.copy()),
    ),
    (
        "gemm beta 2-D",
        ValueError,
        r"gemm: beta must be a number or a 0-d array, got a 2-D array",
        lambda d: ba.gemm(1.0, d.A, d.B, np.ones((1, 1)), d.C),
    ),
]


@pytest.mark.parametrize(("exc", "match", "call"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("taped", [False, True], ids=["plain", "taped"])
def test_bad_input_is_rejected_before_any_write(
    exc: type[Exception], match: str, call: Callable[[SimpleNamespace], Any], taped: bool
) -> None:
    d = _data()
    if not taped:
        with untouched(*_arrays(d)), pytest.raises(exc, match=match):
            call(d)
        return
    watched = [a for a in _arrays(d) if a.dtype in (np.float32, np.float64) and a.flags.writeable]
    with untouched(*_arrays(d)), ba.Tape() as tape:
        tape.watch(*watched)
        with pytest.raises(exc, match=match):
            call(d)
    assert tape.ncalls == 0
    assert tape.bytes_copied == 0


# ---- Duplicated shadows and backward seeds -------------------------------------------------------


def test_duplicated_x_not_an_array() -> None:
    dx = np.zeros(3)
    with untouched(dx), pytest.raises(TypeError, match=r"Duplicated x must be a NumPy array, got list"):
        ba.Duplicated([1.0, 2.0, 3.0], dx)


def test_duplicated_dx_same_size_other_shape() -> None:
    x, dx = np.ones(6), np.ones((2, 3))
    with (
        untouched(x, dx),
        pytest.raises(ValueError, match=r"Duplicated: dx has shape \(2, 3\), expected \(6,\)"),
    ):
        ba.Duplicated(x, dx)


def test_duplicated_dx_wider_dtype_than_x() -> None:
    x, dx = np.ones(3, np.float32), np.ones(3)
    with (
        untouched(x, dx),
        pytest.raises(TypeError, match=r"Duplicated: dx has dtype float64, expected float32"),
    ):
        ba.Duplicated(x, dx)


def test_duplicated_dx_broadcast() -> None:
    x, one = np.ones(4), np.ones(1)
    dx = np.broadcast_to(one, (4,))
    with untouched(x, one), pytest.raises(ValueError, match=r"Duplicated dx has strides \(0,\) under which"):
        ba.Duplicated(x, dx)


def _recorded() -> tuple[ba.Tape, np.ndarray, np.ndarray, np.ndarray]:
    A, B = ints(1, (3, 4)), ints(2, (4, 2))
    with ba.Tape() as tape:
        tape.watch(A, B)
        C = ba.gemm(1.0, A, B)
    return tape, A, B, C


@pytest.mark.parametrize(
    ("seed", "shape"),
    [
        (np.ones(()), r"\(\)"),
        (np.ones((1, 2)), r"\(1, 2\)"),
        (np.ones(6), r"\(6,\)"),
        ([[1.0, 2.0]], r"\(2,\)"),
    ],
    ids=["0-d", "broadcastable", "same size", "a list holding a row"],
)
def test_backward_seed_that_only_broadcasts_is_rejected(seed: Any, shape: str) -> None:
    tape, A, B, C = _recorded()
    arrays = [A, B, C] + ([seed] if isinstance(seed, np.ndarray) else [])
    with (
        untouched(*arrays),
        pytest.raises(ValueError, match=rf"seeds\[0\] has shape {shape}, expected \(3, 2\)"),
    ):
        tape.backward(C, seed)
    S = ints(3, (3, 2))  # the rejected call consumed nothing
    tape.backward(C, S)
    assert_array_equal(tape.grad(A), S @ B.T)
    assert_array_equal(tape.grad(B), A.T @ S)


# ---- an output overlapping an input: decided per element, not per byte range -----------------------


@pytest.mark.parametrize("order", ["C", "F"])
def test_interleaved_disjoint_matrix_blocks_are_accepted(order: str) -> None:
    # rows 0, 2, 4 of M feed rows 1, 3, 5 of M: the byte ranges interleave, no element is shared
    M0, N = ints(10, (8, 8), order), ints(11, (3, 2))
    M = M0.copy(order="K")
    with ba.Tape() as tape:
        tape.watch(M, N)
        ba.gemm(2.0, M[0:6:2, :3], N, 0.0, M[1:7:2, 3:5])
    expected = M0.copy()
    expected[1:7:2, 3:5] = 2.0 * M0[0:6:2, :3] @ N
    assert_array_equal(M, expected)
    S = ints(12, (8, 8))
    tape.backward(M, S)
    expected_M = S.copy()
    expected_M[1:7:2, 3:5] = 0.0  # β = 0: the old values reach nothing
    expected_M[0:6:2, :3] += 2.0 * S[1:7:2, 3:5] @ N.T
    assert_array_equal(tape.grad(M), expected_M)
    assert_array_equal(tape.grad(N), 2.0 * M0[0:6:2, :3].T @ S[1:7:2, 3:5])


@pytest.mark.parametrize("order", ["C", "F"])
def test_interleaved_disjoint_blocks_gradcheck(order: str) -> None:
    def program(X: np.ndarray, N: np.ndarray) -> None:
        M = X.T if order == "F" else X  # gradcheck hands C-ordered copies; X.T is F-ordered
        ba.gemm(2.0, M[0:6:2, :3], N, 0.5, M[1:7:2, 3:5])
        ba.gemv(-1.0, M[1:7:2, :4], M[0, 0:8:2], 1.0, M[0:6:2, 7])

    rng = np.random.default_rng(13)
    check = ba.gradcheck(program, rng.standard_normal((8, 8)), rng.standard_normal((3, 2)))
    assert check.ok, check


@pytest.mark.parametrize(
    "call",
    [
        # A's rows 0, 2, 4 and cols 0..2; C's rows 4..6 and cols 2, 3: they share M[4, 2] only
        lambda M, v: ba.gemm(1.0, M[0:6:2, :3], M[:3, 6:8], 0.0, M[4:7, 2:4]),
        # x = v[0], v[2], v[4], v[6]; y = v[6], v[7], v[8]: v[6] only
        lambda M, v: ba.gemv(1.0, M[:3, :4], v[0:8:2], 0.0, v[6:9]),
        # x = v[1], v[3], v[5]; y = v[9], v[7], v[5] (reversed): v[5] only
        lambda M, v: ba.axpy(1.0, v[1:7:2], v[9:4:-2]),
        # a 0-d alpha that is one element of the output
        lambda M, v: ba.axpy(v[3, ...], v[0:3], v[3:6]),
    ],
    ids=["gemm", "gemv", "axpy reversed", "axpy alpha"],
)
@pytest.mark.parametrize("taped", [False, True], ids=["plain", "taped"])
def test_one_shared_element_is_rejected(call: Callable[..., Any], taped: bool) -> None:
    M, v = ints(20, (8, 8)), ints(21, (10,))
    with untouched(M, v):
        if taped:
            with ba.Tape() as tape:
                tape.watch(M, v)
                with pytest.raises(ValueError, match=r"output \w+ shares elements with input"):
                    call(M, v)
            assert tape.ncalls == 0
        else:
            with pytest.raises(ValueError, match=r"output \w+ shares elements with input"):
                call(M, v)


def test_interleaved_disjoint_vectors_in_both_directions_are_accepted() -> None:
    v0 = ints(22, (12,))
    v = v0.copy()
    M = ints(23, (3, 6))
    ba.gemv(1.0, M, v[0:12:2], 0.0, v[11:6:-2])  # even entries feed odd ones, reversed
    expected = v0.copy()
    expected[11:6:-2] = M @ v0[0:12:2]
    assert_array_equal(v, expected)


# ================================================================================================
# 2. Odd but legal input just works
# ================================================================================================


@pytest.mark.parametrize("trans", ["N", "T"])
def test_gemm_k_zero_beta_zero_zeroes_C(trans: str) -> None:
    A = np.ones((0, 3)) if trans == "T" else np.ones((3, 0))
    B = np.ones((0, 2))
    C = np.full((3, 2), np.nan)
    assert ba.gemm(1.0, A, B, 0.0, C, trans_a=trans) is C
    assert_array_equal(C, np.zeros((3, 2)))
    assert not np.signbit(C).any()


def test_gemm_k_zero_adjoint() -> None:
    A, B, C0, S = np.ones((3, 0)), np.ones((0, 2)), ints(30, (3, 2)), ints(31, (3, 2))
    beta, C = np.array(2.0), C0.copy()
    with ba.Tape() as tape:
        tape.watch(A, B, beta, C)
        ba.gemm(1.0, A, B, beta, C)
    assert_array_equal(C, 2.0 * C0)
    tape.backward(C, S)
    assert tape.grad(A).shape == (3, 0)
    assert tape.grad(B).shape == (0, 2)
    assert_array_equal(tape.grad(C), 2.0 * S)
    assert tape.grad(beta) == np.vdot(S, C0)


@pytest.mark.parametrize(("m", "n"), [(0, 2), (3, 0), (0, 0)])
def test_gemm_empty_output(m: int, n: int) -> None:
    A, B, C = ints(32, (m, 4)), ints(33, (4, n)), np.zeros((m, n))
    alpha = np.array(1.5)
    with ba.Tape() as tape:
        tape.watch(A, B, alpha)
        assert ba.gemm(alpha, A, B, 0.0, C) is C
    tape.backward(C, np.ones((m, n)))
    assert_array_equal(tape.grad(A), np.zeros((m, 4)))
    assert_array_equal(tape.grad(B), np.zeros((4, n)))
    assert tape.grad(alpha) == 0.0


@pytest.mark.parametrize(("m", "n"), [(0, 3), (3, 0), (0, 0)])
@pytest.mark.parametrize("trans", ["N", "T"])
def test_gemv_empty_dims(m: int, n: int, trans: str) -> None:
    A = ints(34, (m, n))
    nx, ny = (n, m) if trans == "N" else (m, n)
    x, y0, s = ints(35, (nx,)), np.full(ny, np.nan), ints(36, (ny,))
    alpha, y = np.array(2.0), y0.copy()
    with ba.Tape() as tape:
        tape.watch(A, x, alpha, y)
        assert ba.gemv(alpha, A, x, 0.0, y, trans) is y
    assert_array_equal(y, np.zeros(ny))  # β = 0 with an empty x: y ← 0, the NaN is not read
    tape.backward(y, s)
    assert_array_equal(tape.grad(x), np.zeros(nx))
    assert_array_equal(tape.grad(A), np.zeros((m, n)))
    assert_array_equal(tape.grad(y), np.zeros(ny))
    assert tape.grad(alpha) == 0.0


@pytest.mark.parametrize("routine", ["ger", "spmv"])
def test_all_dims_empty_with_an_active_alpha(routine: str) -> None:
    # the sweep's ᾱ term gets an empty scratch buffer here (tools/sanitize.sh checks it is valid)
    alpha, x = np.array(1.0), np.zeros(0)
    with ba.Tape() as tape:
        if routine == "ger":
            y, out = np.zeros(0), np.zeros((0, 0))
            tape.watch(x, y, out, alpha)
            assert ba.ger(alpha, x, y, out) is out
        else:
            AP, out = np.zeros(0), np.zeros(0)
            tape.watch(AP, x, alpha)
            assert ba.spmv(alpha, AP, x, 0.0, out) is out
    tape.backward(out, np.zeros(out.shape))
    assert tape.grad(alpha) == 0.0
    assert tape.grad(x).shape == (0,)


def test_axpy_empty() -> None:
    x, y, alpha = np.ones(0), np.ones(0), np.array(3.0)
    with ba.Tape() as tape:
        tape.watch(x, y, alpha)
        assert ba.axpy(alpha, x, y) is y
    tape.backward(y, np.ones(0))
    assert tape.grad(alpha) == 0.0
    assert tape.grad(x).shape == (0,)


def _nan_inf(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    X = ints(seed, shape)
    X.flat[0], X.flat[-1] = np.nan, np.inf
    if X.size > 2:
        X.flat[1] = -np.inf
    return X


@pytest.mark.parametrize("beta", [0.0, 1.0, -2.0])
def test_nan_and_inf_propagate_as_blas_does(beta: float) -> None:
    A, B, C0 = _nan_inf(40, (4, 3)), _nan_inf(41, (3, 5)), _nan_inf(42, (4, 5))
    C = C0.copy(order="F")
    ba.gemm(1.5, A, B, beta, C)
    assert_array_equal(C, scipy_blas.dgemm(1.5, A, B, beta=beta, c=C0.copy(order="F")))
    assert np.isnan(C).any()

    x, y0 = _nan_inf(43, (3,)), _nan_inf(44, (4,))
    y = y0.copy()
    ba.gemv(-1.0, A, x, beta, y)
    assert_array_equal(y, scipy_blas.dgemv(-1.0, A, x, beta=beta, y=y0.copy()))

    y = y0.copy()
    ba.axpy(beta, x, y[:3])
    assert_array_equal(y[:3], scipy_blas.daxpy(x, y0[:3].copy(), a=beta))


def test_beta_zero_never_reads_the_output() -> None:
    A, B, x = ints(45, (4, 3)), ints(46, (3, 5)), ints(47, (3,))
    C = np.full((4, 5), np.nan)
    y = np.full(4, -np.inf)
    ba.gemm(1.0, A, B, 0.0, C)
    ba.gemv(1.0, A, x, 0.0, y)
    assert_array_equal(C, A @ B)
    assert_array_equal(y, A @ x)


def test_both_strides_non_unit_gradcheck() -> None:
    # every matrix is a view with no unit stride: staged through recorded copies
    def program(Ab: np.ndarray, Bb: np.ndarray, Cb: np.ndarray, xb: np.ndarray, yb: np.ndarray) -> None:
        A, B, C = Ab[::2, ::3], Bb[1::2, ::2], Cb[::2, 1::2]
        ba.gemm(1.5, A, B, 0.5, C)
        ba.gemv(-1.0, A, xb[::3], 2.0, yb[::-2])
        ba.gemv(1.0, C[:, :3], yb[::2], 1.0, xb[1::3], trans="T")

    rng = np.random.default_rng(50)
    args = [rng.standard_normal(s) for s in ((7, 9), (6, 8), (7, 8), (9,), (8,))]
    check = ba.gradcheck(program, *args)
    assert check.ok, check


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_d_scalars(dtype: type) -> None:
    A, B, C0, S = (
        ints(s, sh).astype(dtype) for s, sh in ((51, (3, 4)), (52, (4, 2)), (53, (3, 2)), (54, (3, 2)))
    )
    base = np.array([2.0, -0.5], dtype)  # alpha and beta are elements of one base array
    alpha, beta, C = base[0, ...], base[1, ...], C0.copy()
    with ba.Tape() as tape:
        tape.watch(A, B, base)
        ba.gemm(alpha, A, B, beta, C)
        ba.axpy(np.array(0.5, dtype), C[:, 0], C[:, 1])  # a constant 0-d scalar
    C1 = 2.0 * A @ B - 0.5 * C0
    expected = C1.copy()
    expected[:, 1] += 0.5 * C1[:, 0]
    assert_array_equal(C, expected)
    tape.backward(C, S)
    Sg = S.copy()
    Sg[:, 0] += 0.5 * S[:, 1]  # the seed of the gemm's output, through the axpy
    assert_array_equal(tape.grad(base), np.array([np.vdot(Sg, A @ B), np.vdot(Sg, C0)], dtype))
    assert_array_equal(tape.grad(A), 2.0 * Sg @ B.T)


@pytest.mark.parametrize(
    "alpha", [2, np.float32(2.0), Fraction(2, 1), np.int64(2)], ids=lambda a: type(a).__name__
)
def test_other_real_numbers_as_constant_scalars(alpha: Any) -> None:
    x, y0 = ints(55, (4,)), ints(56, (4,))
    y = y0.copy()
    ba.axpy(alpha, x, y)
    assert_array_equal(y, y0 + 2.0 * x)


def test_huge_strides_into_a_big_array() -> None:
    big = ints(60, (10**6,))  # 8 MB
    big0 = big.copy()
    x = big[::100_000]  # 10 elements, stride 10^5 elements (800 kB)
    y = big[-1:0:-100_000]  # 10 elements, stride -10^5
    assert x.strides == (800_000,) and y.strides == (-800_000,)
    # A: 3 x 4 with strides of 7 and 200 003 elements (staged); B: column-major with ld 250 000
    A = as_strided(big[5:], shape=(3, 4), strides=(7 * 8, 200_003 * 8), writeable=False)
    B = as_strided(big[2:], shape=(4, 3), strides=(8, 250_000 * 8), writeable=False)
    alpha, C, S = np.array(1.5), np.zeros((3, 3)), ints(61, (3, 3))
    with ba.Tape() as tape:
        tape.watch(big, alpha)
        ba.axpy(alpha, x, y)  # writes 10 elements of big, none of them read by A or B
        ba.gemm(1.0, A, B, 0.0, C)
        ba.gemv(-1.0, A, y[:4], 1.0, C[:, 0])
    expected = big0.copy()
    expected[-1:0:-100_000] += 1.5 * big0[::100_000]
    assert_array_equal(big, expected)
    A0, B0 = A.copy(), B.copy()  # A and B were not written
    expected_C = A0 @ B0
    expected_C[:, 0] -= A0 @ expected[-1:0:-100_000][:4]
    assert_array_equal(C, expected_C)

    tape.backward(C, S)
    g = np.zeros_like(big)  # ∂L/∂big, assembled through the same views of a zero array
    gA = as_strided(g[5:], shape=(3, 4), strides=A.strides)
    gB = as_strided(g[2:], shape=(4, 3), strides=B.strides)
    gA += S @ B0.T
    gB += A0.T @ S
    gA -= np.outer(S[:, 0], expected[-1:0:-100_000][:4])
    g[-1:0:-100_000][:4] -= A0.T @ S[:, 0]  # ȳ[:4] from the gemv ...
    gy = g[-1:0:-100_000]
    g[::100_000] += 1.5 * gy  # ... flows to x̄ through the axpy (ȳ itself passes unchanged)
    assert_array_equal(tape.grad(big), g)
    assert tape.grad(alpha) == np.vdot(gy, big0[::100_000])


# ================================================================================================
# 3. Failure midway: out of memory inside a call
# ================================================================================================


def _state() -> SimpleNamespace:
    return SimpleNamespace(
        M=ints(70, (6, 6)),  # watched
        v=ints(71, (9,)),  # watched
        W=ints(72, (7, 7)),  # watched; its doubly strided views are staged
        u=ints(73, (3,)),  # watched; read by the prefix calls
        al=np.array(0.5),  # watched
        be=np.array(-2.0),  # watched
        z=np.zeros(3),  # not watched: gets a shadow when a call writes it
        D=np.zeros((4, 3)),  # not watched
    )


WATCHED = ("M", "v", "W", "u", "al", "be")

# Each call overwrites values that earlier calls saved by reference (copy-on-write snapshots),
# creates shadows for new outputs, or stages layouts through recorded copies.
PROGRAM: list[Callable[[SimpleNamespace], Any]] = [
    lambda s: ba.gemm(s.al, s.M[:3, :3], s.M[3:, 3:], s.be, s.M[:3, 3:]),  # saves A, B and the old C
    lambda s: ba.gemv(1.0, s.M[:3, :3], s.v[:3], 0.0, s.z),  # z gets a shadow
    lambda s: ba.axpy(s.al, s.z, s.v[:3]),  # overwrites v[:3], saved by the gemv
    lambda s: ba.gemm(-1.0, s.M[3:, :3], s.M[:3, 3:], 1.0, s.M[:3, :3]),  # overwrites the saved M[:3, :3]
    lambda s: ba.gemm(1.0, s.W[::2, ::2], s.M[:4, :3], 0.0, s.D),  # staged input, D gets a shadow
    lambda s: ba.axpy(2.0, s.z, s.M[3:, 3]),  # overwrites part of the saved M[3:, 3:]
    lambda s: ba.gemm(s.al, s.D[:3, :], s.M[:3, 3:], 0.0, s.W[1::2, 1::2]),  # staged output
    lambda s: ba.gemv(s.al, s.M[3:, :3], s.v[3:6], s.be, s.v[:3]),  # saves the old v[:3]
    lambda s: ba.axpy(s.be, s.v[::-2], s.W[6, 2:7]),  # reversed input, overwrites a staged-read row
]


def _run(
    prefix: int, skip: int | None = None, fail_at: int | None = None, inject: Callable[[], Any] | None = None
) -> tuple[SimpleNamespace, dict[str, np.ndarray], list[int], bool]:
    """Run PROGRAM on a tape, after `prefix` recorded calls that each save a value. With fail_at,
    inject() arms a fault for that call; a MemoryError there must leave every array as it was.
    Returns the final state, the gradients, the bytes copied by each call, and whether it failed."""
    s = _state()
    copied: list[int] = []
    failed = False
    with ba.Tape() as tape:
        tape.watch(*(getattr(s, k) for k in WATCHED))
        for _ in range(prefix):
            ba.axpy(s.al, s.u, s.v[6:])  # recorded, saves u (α is active)
        for i, call in enumerate(PROGRAM):
            before = tape.bytes_copied
            if i == skip:
                pass
            elif i == fail_at:
                assert inject is not None
                bits = {k: a.tobytes() for k, a in vars(s).items()}
                try:
                    with inject():
                        call(s)
                except MemoryError as e:
                    failed = True
                    assert "out of memory" in str(e) or "injected" in str(e)
                    assert {k: a.tobytes() for k, a in vars(s).items()} == bits
            else:
                call(s)
            copied.append(tape.bytes_copied - before)
    seeds = {k: ints(80 + i, a.shape) for i, (k, a) in enumerate(vars(s).items()) if k not in ("al", "be")}
    tape.backward([getattr(s, k) for k in seeds], list(seeds.values()))
    grads = {k: tape.grad(getattr(s, k)) for k in WATCHED}
    return s, grads, copied, failed


def _assert_same(got: tuple[Any, ...], ref: tuple[Any, ...], what: str) -> None:
    s, grads = got[0], got[1]
    s_ref, grads_ref = ref[0], ref[1]
    for k, a in vars(s_ref).items():
        assert_array_equal(getattr(s, k), a, err_msg=f"{what}: value of {k}")
    for k, g in grads_ref.items():
        assert_array_equal(grads[k], g, err_msg=f"{what}: gradient of {k}")


@contextmanager
def _native_fault(n: int) -> Iterator[None]:
    lib.ba_debug_fail_after(n)
    try:
        yield
    finally:
        lib.ba_debug_fail_after(-1)


@pytest.mark.parametrize("prefix", [0, 255], ids=["short tape", "tape at a chunk boundary"])
def test_native_allocation_failure_midway_leaves_arrays_and_tape_consistent(prefix: int) -> None:
    full = _run(prefix)
    copied = full[2]
    assert sum(c > 0 for c in copied) >= 4, f"the program should need snapshots: {copied}"
    failures = dict.fromkeys(range(len(PROGRAM)), 0)
    for j in range(len(PROGRAM)):
        skipped = _run(prefix, skip=j)
        for n in range(64):
            got = _run(prefix, fail_at=j, inject=lambda n=n: _native_fault(n))
            if not got[3]:  # the n-th allocation is past this call's last: it succeeded
                _assert_same(got, full, f"call {j}, no failure at n = {n}")
                break
            failures[j] += 1
            _assert_same(got, skipped, f"call {j} failed at allocation {n}")
        else:
            pytest.fail(f"call {j} kept failing")
        if copied[j]:  # a call that takes a snapshot allocates: the first allocation must fail it
            assert failures[j] >= 1, f"call {j} copied {copied[j]} bytes but never failed"
    assert sum(failures.values()) >= 6, failures


def test_shadow_allocation_failure_midway() -> None:
    """A call whose output needs a shadow, when the tape cannot make it (the first native
    allocation of the call: the shadow's block), raises MemoryError with nothing written, and the
    program goes on as without that call."""
    made: list[bool] = []

    @contextmanager
    def counting() -> Iterator[None]:
        tape = current_tape()
        assert tape is not None
        seq = lib.ba_tape_region_seq(tape._ptr)
        yield
        made.append(lib.ba_tape_region_seq(tape._ptr) > seq)

    full = _run(0)
    for j in range(len(PROGRAM)):  # which calls make a shadow?
        _assert_same(_run(0, fail_at=j, inject=counting), full, f"call {j}, counting")
    assert sum(made) >= 2, made

    for j in range(len(PROGRAM)):
        got = _run(0, fail_at=j, inject=lambda: _native_fault(0))
        if made[j]:
            assert got[3], f"call {j} makes a shadow but did not fail"
        if got[3]:
            _assert_same(got, _run(0, skip=j), f"call {j} failed making a shadow")
        else:
            _assert_same(got, full, f"call {j}")


def test_watch_and_autodiff_shadow_allocation_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(lo: int, hi: int) -> np.ndarray:
        raise MemoryError("injected")

    A, B = ints(90, (3, 3)), ints(91, (3, 3))
    with untouched(A, B), ba.Tape() as tape:
        with _native_fault(0), pytest.raises(MemoryError):  # the tape makes A's shadow
            tape.watch(A)
    assert current_tape() is None

    monkeypatch.setattr(tape_module, "_zeros_like_span", failing)
    dA = np.zeros((3, 3), order="F")  # other strides than A's: autodiff needs an internal shadow
    calls: list[int] = []
    with untouched(A, B, dA), pytest.raises(MemoryError):
        ba.autodiff(lambda A, B: calls.append(1), ba.Duplicated(A, dA), ba.Const(B))
    assert calls == []
    assert current_tape() is None
    monkeypatch.undo()

    C, S = np.zeros((3, 3)), ints(92, (3, 3))  # everything works afterwards
    with ba.Tape() as tape:
        tape.watch(A)
        ba.gemm(1.0, A, B, 0.0, C)
    tape.backward(C, S)
    assert_array_equal(tape.grad(A), S @ B.T)


def test_region_registration_failure_is_a_memory_error() -> None:
    A, B, C = ints(93, (3, 3)), ints(94, (3, 3)), np.zeros((3, 3))
    with ba.Tape() as tape:
        lib.ba_debug_fail_after(0)  # the first native allocation: the region table
        with untouched(A), pytest.raises(MemoryError):
            tape.watch(A)
        lib.ba_debug_fail_after(-1)
        tape.watch(A)
        ba.gemm(1.0, A, B, 0.0, C)
    S = ints(95, (3, 3))
    tape.backward(C, S)
    assert_array_equal(tape.grad(A), S @ B.T)


def test_out_of_memory_in_the_reverse_sweep_can_be_retried() -> None:
    """The sweep's scratch buffer cannot be allocated: backward raises MemoryError, nothing is
    consumed, and a second backward with the same seeds gives the right gradients."""
    A, B, C, S = ints(96, (3, 4)), ints(97, (4, 2)), np.zeros((3, 2)), ints(98, (3, 2))
    alpha = np.array(2.0)
    with ba.Tape() as tape:
        tape.watch(A, B, alpha)
        ba.gemm(alpha, A, B, 0.0, C)  # an active α: the sweep needs a scratch buffer
    with _native_fault(0), untouched(A, B, C, S, alpha), pytest.raises(MemoryError):
        tape.backward(C, S)
    tape.backward(C, S)
    assert_array_equal(tape.grad(A), 2.0 * S @ B.T)
    assert_array_equal(tape.grad(B), 2.0 * A.T @ S)
    assert tape.grad(alpha) == np.vdot(S, A @ B)


@pytest.mark.parametrize("tamper", [False, True], ids=["retry", "outside write before the retry"])
def test_out_of_memory_in_the_reverse_sweep_with_check_mode(tamper: bool) -> None:
    """All that can fail in backward (the check-mode verification, the scratch) comes before the
    seeds are added: the failed call adds none, the retry verifies again and adds each seed once."""
    x, y, S = ints(102, (3,)), ints(103, (3,)), ints(104, (3,))
    alpha, x0, y0 = np.array(2.0), x.copy(), y.copy()
    with ba.Tape(check=True) as tape:
        tape.watch(x, y, alpha)
        ba.axpy(alpha, x, y)  # saves x by reference (for ᾱ): check mode checksums it
    with _native_fault(0), untouched(x, y, S, alpha), pytest.raises(MemoryError):
        tape.backward(y, S)
    if tamper:
        x[0] += 1.0
        with pytest.raises(RuntimeError, match="changed outside blasad"):
            tape.backward(y, S)
        return
    tape.backward(y, S)
    assert_array_equal(tape.grad(y), S)  # ȳ passes through axpy unchanged: the seed, once
    assert_array_equal(tape.grad(x), 2.0 * S)
    assert tape.grad(alpha) == np.vdot(S, x0)
    assert_array_equal(y, 2.0 * x0 + y0)


def test_native_prepare_and_sweep() -> None:
    """The C API: sweep runs only after prepare succeeded, and once."""
    t = lib.ba_tape_new()
    try:
        assert lib.ba_tape_sweep(t) == -2  # not prepared
        lib.ba_debug_fail_after(0)
        assert lib.ba_tape_prepare(t) == -1  # the scratch: out of memory
        assert lib.ba_tape_sweep(t) == -2
        assert lib.ba_tape_prepare(t) == 0
        assert lib.ba_tape_prepare(t) == 0  # again: keeps its scratch
        assert lib.ba_tape_sweep(t) == 0
        assert lib.ba_tape_sweep(t) == -2  # consumed
        assert lib.ba_tape_prepare(t) == -2
        assert lib.ba_tape_backward(t) == -2
    finally:
        lib.ba_debug_fail_after(-1)
        lib.ba_tape_free(t)


def test_out_of_memory_anywhere_in_autodiff() -> None:
    """autodiff with the n-th native allocation failing, n = 0, 1, ...: a MemoryError leaves the
    shadows as they were (the sweep runs all or nothing) and no tape active; then it succeeds."""
    A0, B0, dC0 = ints(99, (3, 4)), ints(100, (4, 2)), ints(101, (3, 2))

    def f(alpha: np.ndarray, A: np.ndarray, B: np.ndarray, C: np.ndarray, y: np.ndarray) -> None:
        ba.gemm(alpha, A, B, 0.0, C)
        ba.gemv(1.0, A, B[:, 0], 0.0, y)
        ba.axpy(alpha, y, A[:, 0])  # overwrites a saved input: a snapshot

    failures = 0
    for n in range(32):
        alpha, A, B, C, y = np.array(2.0), A0.copy(), B0.copy(), np.zeros((3, 2)), np.zeros(3)
        shadows = [np.zeros(()), np.zeros((3, 4)), np.zeros((4, 2)), dC0.copy(), np.ones(3)]
        args = [ba.Duplicated(x, dx) for x, dx in zip((alpha, A, B, C, y), shadows)]
        with _native_fault(n):
            try:
                ba.autodiff(f, *args)
            except MemoryError:
                failures += 1
                assert current_tape() is None
                for dx, dx0 in zip(shadows, (0.0, 0.0, 0.0, dC0, 1.0)):
                    assert_array_equal(dx, np.broadcast_to(dx0, dx.shape))
                continue
        break
    assert failures >= 3
    ref = [np.zeros(()), np.zeros((3, 4)), np.zeros((4, 2)), dC0.copy(), np.ones(3)]
    ba.autodiff(
        f,
        *(
            ba.Duplicated(x, dx)
            for x, dx in zip((np.array(2.0), A0.copy(), B0.copy(), np.zeros((3, 2)), np.zeros(3)), ref)
        ),
    )
    for dx, r in zip(shadows, ref):
        assert_array_equal(dx, r)
