"""Bad input: one test per case. Each asserts the exception type, a fragment of the message that
names the offending argument, and that every array involved is bit-identical afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import blasad as ba


def _data() -> SimpleNamespace:
    rng = np.random.default_rng(7)
    d = SimpleNamespace(
        A=rng.standard_normal((3, 4)),  # m = 3, k = 4
        B=rng.standard_normal((4, 2)),  # n = 2
        C=rng.standard_normal((3, 2)),
        x=rng.standard_normal(4),
        y=rng.standard_normal(3),
        A32=rng.standard_normal((3, 4)).astype(np.float32),
        B32=rng.standard_normal((4, 2)).astype(np.float32),
        y32=rng.standard_normal(3).astype(np.float32),
        Ai=np.arange(12).reshape(3, 4),
        Bc=rng.standard_normal((4, 2)) + 1j,
        Cc=rng.standard_normal((3, 2)) - 2j,
        Ac64=(rng.standard_normal((3, 4)) + 1j).astype(np.complex64),
        Bc64=(rng.standard_normal((4, 2)) + 1j).astype(np.complex64),
        Ac=rng.standard_normal((3, 4)) + 0.5j,
        xc=rng.standard_normal(4) - 1j,
        yc=rng.standard_normal(3) + 1j,
        yc64=(rng.standard_normal(3) + 1j).astype(np.complex64),
        yi=np.arange(3),
        yb=np.ones(3, bool),
        y16=np.ones(3, np.float16),
        yo=np.array([1.0, 2.0, 3.0], object),
    )
    ro = rng.standard_normal((3, 2))
    ro.flags.writeable = False
    d.C_ro = ro
    yro = rng.standard_normal(3)
    yro.flags.writeable = False
    d.y_ro = yro
    d.y_bcast = np.broadcast_to(np.array([1.0]), (3,))
    d.y_zero = np.lib.stride_tricks.as_strided(
        rng.standard_normal(1), shape=(3,), strides=(0,), writeable=True
    )
    return d


def _arrays(d: SimpleNamespace) -> list[np.ndarray]:
    return [v for v in vars(d).values() if isinstance(v, np.ndarray)]


@contextmanager
def untouched(*arrays: np.ndarray) -> Iterator[None]:
    """Every array bit-identical (values and flags) after the block."""
    before = [(a, a.tobytes(), a.flags.writeable) for a in arrays]
    yield
    for a, bits, writeable in before:
        assert a.tobytes() == bits
        assert a.flags.writeable == writeable


# (id, exception, message fragment, call)
ROUTINE_CASES: list[tuple[str, type[Exception], str, Callable[[SimpleNamespace], Any]]] = [
    # wrong ndim
    ("gemm A 1-D", ValueError, r"gemm: A must be 2-D", lambda d: ba.gemm(1.0, d.x, d.B, 0.0, d.C)),
    ("gemm B 3-D", ValueError, r"gemm: B must be 2-D", lambda d: ba.gemm(1.0, d.A, d.B[None], 0.0, d.C)),
    ("gemm C 1-D", ValueError, r"gemm: C must be 2-D", lambda d: ba.gemm(1.0, d.A, d.B, 0.0, d.y)),
    ("gemv A 1-D", ValueError, r"gemv: A must be 2-D", lambda d: ba.gemv(1.0, d.x, d.x, 0.0, d.y)),
    ("gemv x 2-D", ValueError, r"gemv: x must be 1-D", lambda d: ba.gemv(1.0, d.A, d.B, 0.0, d.y)),
    ("gemv y 2-D", ValueError, r"gemv: y must be 1-D", lambda d: ba.gemv(1.0, d.A, d.x, 0.0, d.C)),
    ("axpy x 2-D", ValueError, r"axpy: x must be 1-D", lambda d: ba.axpy(1.0, d.C, d.y)),
    ("axpy y 0-D", ValueError, r"axpy: y must be 1-D", lambda d: ba.axpy(1.0, d.y, d.y[0, ...])),
    # mismatched shapes
    (
        "gemm inner dims",
        ValueError,
        r"gemm: B has shape \(3, 4\)",
        lambda d: ba.gemm(1.0, d.A, d.A, 0.0, d.C),
    ),
    (
        "gemm inner dims through op(A)",
        ValueError,
        r"op\(A\)",
        lambda d: ba.gemm(1.0, d.A, d.B, 0.0, d.C, trans_a="T"),
    ),
    ("gemm C shape", ValueError, r"gemm: C has shape \(2, 3\)", lambda d: ba.gemm(1.0, d.A, d.B, 0.0, d.C.T)),
    (
        "gemv x length",
        ValueError,
        r"gemv: x has shape \(3,\)",
        lambda d: ba.gemv(1.0, d.A, d.y, 0.0, d.y.copy()),
    ),
    (
        "gemv y length",
        ValueError,
        r"gemv: y has shape \(4,\)",
        lambda d: ba.gemv(1.0, d.A, d.x, 1.0, d.x.copy()),
    ),
    (
        "gemv y length through op(A)",
        ValueError,
        r"gemv: y has shape \(3,\)",
        lambda d: ba.gemv(1.0, d.A, d.y, 1.0, d.y.copy(), trans="T"),
    ),
    ("axpy lengths", ValueError, r"axpy: y has shape \(3,\)", lambda d: ba.axpy(1.0, d.x, d.y)),
    # mixed dtypes
    (
        "gemm mixed dtypes",
        TypeError,
        r"mixed dtypes: B is float32",
        lambda d: ba.gemm(1.0, d.A, d.B32, 0.0, d.C),
    ),
    (
        "gemm mixed dtypes C",
        TypeError,
        r"mixed dtypes: C is float64",
        lambda d: ba.gemm(1.0, d.A32, d.B32, 0.0, d.C),
    ),
    (
        "gemv mixed dtypes y",
        TypeError,
        r"mixed dtypes: y is float32",
        lambda d: ba.gemv(1.0, d.A, d.x, 0.0, d.y32),
    ),
    ("axpy mixed dtypes", TypeError, r"mixed dtypes: y is float32", lambda d: ba.axpy(1.0, d.y, d.y32)),
    # complex mixed with real, or complex64 with complex128
    (
        "gemm complex B with real A",
        TypeError,
        r"gemm: mixed dtypes: B is complex128 but A is float64",
        lambda d: ba.gemm(1.0, d.A, d.Bc, 0.0, d.C),
    ),
    (
        "gemm real C with complex A, B",
        TypeError,
        r"gemm: mixed dtypes: C is float64 but A is complex128",
        lambda d: ba.gemm(1.0, d.Ac, d.Bc, 0.0, d.C),
    ),
    (
        "gemm complex64 A with complex128 B",
        TypeError,
        r"gemm: mixed dtypes: B is complex128 but A is complex64",
        lambda d: ba.gemm(1.0, d.Ac64, d.Bc, 0.0, d.Cc, trans_a="C"),
    ),
    (
        "gemv real x with complex A",
        TypeError,
        r"gemv: mixed dtypes: x is float64 but A is complex128",
        lambda d: ba.gemv(1.0, d.Ac, d.x, 0.0, d.yc),
    ),
    (
        "gemv complex64 y",
        TypeError,
        r"gemv: mixed dtypes: y is complex64 but A is complex128",
        lambda d: ba.gemv(1.0, d.Ac, d.xc, 0.0, d.yc64),
    ),
    (
        "axpy complex x real y",
        TypeError,
        r"axpy: mixed dtypes: y is float64 but x is complex128",
        lambda d: ba.axpy(1.0, d.yc, d.y),
    ),
    (
        "axpy float32 x complex64 y",
        TypeError,
        r"axpy: mixed dtypes: y is complex64 but x is float32",
        lambda d: ba.axpy(1.0, d.y32, d.yc64),
    ),
    # dtypes BLAS has no routine for
    ("gemm int A", TypeError, r"gemm: A has dtype int64", lambda d: ba.gemm(1.0, d.Ai, d.B, 0.0, d.C)),
    (
        "gemm float16 B",
        TypeError,
        r"gemm: B has dtype float16; expected float32, float64, complex64 or complex128",
        lambda d: ba.gemm(1.0, d.A, d.B.astype(np.float16), 0.0, d.C),
    ),
    ("gemv int y", TypeError, r"gemv: y has dtype int64", lambda d: ba.gemv(1.0, d.A, d.x, 0.0, d.yi)),
    (
        "gemv bool y",
        TypeError,
        r"gemv: y has dtype bool; expected float32, float64, complex64 or complex128",
        lambda d: ba.gemv(1.0, d.A, d.x, 0.0, d.yb),
    ),
    ("axpy int y", TypeError, r"axpy: y has dtype int64", lambda d: ba.axpy(1.0, d.y, d.yi)),
    ("axpy float16 y", TypeError, r"axpy: y has dtype float16", lambda d: ba.axpy(1.0, d.y, d.y16)),
    ("axpy float16 x", TypeError, r"axpy: x has dtype float16", lambda d: ba.axpy(1.0, d.y16, d.y)),
    ("axpy object y", TypeError, r"axpy: y has dtype object", lambda d: ba.axpy(1.0, d.y, d.yo)),
    (
        "axpy object y with complex x",
        TypeError,
        r"axpy: y has dtype object",
        lambda d: ba.axpy(1.0, d.yc, d.yo),
    ),
    # non-array arguments
    (
        "gemm C list",
        TypeError,
        r"gemm: C must be a NumPy array, got list",
        lambda d: ba.gemm(1.0, d.A, d.B, 0.0, d.C.tolist()),
    ),
    (
        "gemm A list",
        TypeError,
        r"gemm: A must be a NumPy array",
        lambda d: ba.gemm(1.0, d.A.tolist(), d.B, 0.0, d.C),
    ),
    (
        "gemv y tuple",
        TypeError,
        r"gemv: y must be a NumPy array",
        lambda d: ba.gemv(1.0, d.A, d.x, 0.0, (0.0,) * 3),
    ),
    ("axpy y float", TypeError, r"axpy: y must be a NumPy array", lambda d: ba.axpy(1.0, d.y, 3.0)),
    # read-only and self-overlapping outputs
    ("gemm C read-only", ValueError, r"gemm: C is read-only", lambda d: ba.gemm(1.0, d.A, d.B, 0.0, d.C_ro)),
    (
        "gemv y broadcast",
        ValueError,
        r"gemv: y is read-only",
        lambda d: ba.gemv(1.0, d.A, d.x, 0.0, d.y_bcast),
    ),
    ("axpy y read-only", ValueError, r"axpy: y is read-only", lambda d: ba.axpy(1.0, d.y, d.y_ro)),
    (
        "axpy y zero stride",
        ValueError,
        r"axpy: y has strides \(0,\) under which its elements overlap",
        lambda d: ba.axpy(1.0, d.y, d.y_zero),
    ),
    # flags
    (
        "gemm unknown trans_a",
        ValueError,
        r"gemm: trans_a must be one of",
        lambda d: ba.gemm(1.0, d.A, d.B, 0.0, d.C, "X"),
    ),
    (
        "gemm non-string trans_b",
        ValueError,
        r"gemm: trans_b must be one of",
        lambda d: ba.gemm(1.0, d.A, d.B, 0.0, d.C, "N", 1),
    ),
    (
        "gemv unknown trans",
        ValueError,
        r"gemv: trans must be one of .*'NT'",
        lambda d: ba.gemv(1.0, d.A, d.x, 0.0, d.y, "NT"),
    ),
    # non-numeric scalars
    (
        "gemm alpha str",
        TypeError,
        r"gemm: alpha must be a real number",
        lambda d: ba.gemm("1", d.A, d.B, 0.0, d.C),
    ),
    (
        "gemm beta None",
        TypeError,
        r"gemm: beta must be a real number",
        lambda d: ba.gemm(1.0, d.A, d.B, None, d.C),
    ),
    (
        "gemm alpha list",
        TypeError,
        r"gemm: alpha must be a real number",
        lambda d: ba.gemm([1.0], d.A, d.B, 0.0, d.C),
    ),
    (
        "gemv alpha complex",
        TypeError,
        r"gemv: alpha must be a real number",
        lambda d: ba.gemv(1j, d.A, d.x, 0.0, d.y),
    ),
    (
        "axpy alpha bool",
        TypeError,
        r"axpy: alpha must be a real number",
        lambda d: ba.axpy(True, d.y, d.y.copy()),
    ),
    # complex numbers with real arrays
    (
        "gemm alpha complex on float64",
        TypeError,
        r"gemm: alpha must be a real number or a 0-d float64 array, got complex",
        lambda d: ba.gemm(0.7 - 0.3j, d.A, d.B, 0.0, d.C),
    ),
    (
        "gemm beta complex with zero imaginary part",
        TypeError,
        r"gemm: beta must be a real number",
        lambda d: ba.gemm(1.0, d.A, d.B, 1 + 0j, d.C),
    ),
    (
        "gemv beta NumPy complex128 scalar on float32",
        TypeError,
        r"gemv: beta must be a real number or a 0-d float32 array, got complex128",
        lambda d: ba.gemv(1.0, d.A32, d.B32[:, 0], np.complex128(0.5j), d.y32),
    ),
    (
        "axpy alpha complex on float32",
        TypeError,
        r"axpy: alpha must be a real number",
        lambda d: ba.axpy(2j, d.y32, d.y32.copy()),
    ),
    # non-numeric scalars with complex arrays
    (
        "gemm alpha str on complex128",
        TypeError,
        r"gemm: alpha must be a complex number or a 0-d complex128 array, got str",
        lambda d: ba.gemm("1j", d.Ac, d.Bc, 0.0, d.Cc),
    ),
    (
        "gemm beta None on complex128",
        TypeError,
        r"gemm: beta must be a complex number",
        lambda d: ba.gemm(1j, d.Ac, d.Bc, None, d.Cc),
    ),
    (
        "gemv alpha list on complex128",
        TypeError,
        r"gemv: alpha must be a complex number",
        lambda d: ba.gemv([1j], d.Ac, d.xc, 0.0, d.yc),
    ),
    (
        "axpy alpha bool on complex64",
        TypeError,
        r"axpy: alpha must be a complex number or a 0-d complex64 array, got bool",
        lambda d: ba.axpy(True, d.yc64, d.yc64.copy()),
    ),
    # 0-d scalars of the wrong dtype or rank
    (
        "gemm alpha 0-d complex128 on float64",
        TypeError,
        r"gemm: alpha is a 0-d array of dtype complex128; expected float64",
        lambda d: ba.gemm(np.array(1j), d.A, d.B, 0.0, d.C),
    ),
    (
        "gemv beta 0-d float64 on complex128",
        TypeError,
        r"gemv: beta is a 0-d array of dtype float64; expected complex128",
        lambda d: ba.gemv(1j, d.Ac, d.xc, np.array(0.5), d.yc),
    ),
    (
        "gemm beta 0-d complex128 on complex64",
        TypeError,
        r"gemm: beta is a 0-d array of dtype complex128; expected complex64",
        lambda d: ba.gemm(1.0, d.Ac64, d.Bc64, np.array(1j), d.Cc.astype(np.complex64)),
    ),
    (
        "axpy alpha 0-d complex64 on complex128",
        TypeError,
        r"axpy: alpha is a 0-d array of dtype complex64; expected complex128",
        lambda d: ba.axpy(np.array(1j, np.complex64), d.yc, d.yc.copy()),
    ),
    (
        "gemm alpha 0-d float32",
        TypeError,
        r"gemm: alpha is a 0-d array of dtype float32",
        lambda d: ba.gemm(np.array(1.0, np.float32), d.A, d.B, 0.0, d.C),
    ),
    (
        "gemv beta 0-d int",
        TypeError,
        r"gemv: beta is a 0-d array of dtype int64",
        lambda d: ba.gemv(1.0, d.A, d.x, np.array(1), d.y),
    ),
    (
        "axpy alpha 0-d float64 on float32",
        TypeError,
        r"axpy: alpha is a 0-d array of dtype float64",
        lambda d: ba.axpy(np.array(2.0), d.y32, d.y32.copy()),
    ),
    (
        "gemm beta 1-D",
        ValueError,
        r"gemm: beta must be a number or a 0-d array, got a 1-D array",
        lambda d: ba.gemm(1.0, d.A, d.B, d.x[:1], d.C),
    ),
    (
        "gemv alpha 1-D complex",
        ValueError,
        r"gemv: alpha must be a number or a 0-d array, got a 1-D array",
        lambda d: ba.gemv(d.xc[:1], d.Ac, d.xc, 0.0, d.yc),
    ),
    # the complex paths check shapes and outputs like the real ones
    (
        "gemm complex inner dims through op(A) = A^H",
        ValueError,
        r"gemm: B has shape \(4, 2\), so k = 4, but op\(A\) \(shape \(4, 3\)\) gives k = 3",
        lambda d: ba.gemm(1.0, d.Ac, d.Bc, 0.0, d.Cc, trans_a="C"),
    ),
    (
        "gemv complex y length through op(A) = A^H",
        ValueError,
        r"gemv: y has shape \(3,\), so m = 3, but op\(A\) \(shape \(4, 3\)\)",
        lambda d: ba.gemv(1.0, d.Ac, d.yc, 0.0, d.yc.copy(), trans="C"),
    ),
    (
        "gemm complex output aliasing an input",
        ValueError,
        r"gemm: output C shares elements with input A",
        lambda d: ba.gemm(1.0, d.Ac[:, :2], d.Ac[:2, :2], 0.0, d.Ac[:, 1:3]),
    ),
]


@pytest.mark.parametrize(
    ("exc", "match", "call"), [c[1:] for c in ROUTINE_CASES], ids=[c[0] for c in ROUTINE_CASES]
)
def test_routine_rejects_bad_input(
    exc: type[Exception], match: str, call: Callable[[SimpleNamespace], Any]
) -> None:
    d = _data()
    with untouched(*_arrays(d)), pytest.raises(exc, match=match):
        call(d)


@pytest.mark.parametrize(
    ("exc", "match", "call"), [c[1:] for c in ROUTINE_CASES], ids=[c[0] for c in ROUTINE_CASES]
)
def test_routine_rejects_bad_input_while_recording(
    exc: type[Exception], match: str, call: Callable[[SimpleNamespace], Any]
) -> None:
    d = _data()
    float_arrays = [a for a in _arrays(d) if a.dtype in (np.float32, np.float64, np.complex64, np.complex128)]
    float_arrays = [a for a in float_arrays if a.ndim]
    with untouched(*_arrays(d)), ba.Tape() as tape:
        tape.watch(*float_arrays)
        with pytest.raises(exc, match=match):
            call(d)
    assert tape.ncalls == 0
    assert tape.bytes_copied == 0


# ---- Duplicated / Const / autodiff -------------------------------------------------------------


def test_duplicated_dx_of_wrong_shape() -> None:
    x, dx = np.ones((3, 2)), np.full((2, 3), 2.0)
    with (
        untouched(x, dx),
        pytest.raises(ValueError, match=r"Duplicated: dx has shape \(2, 3\), expected \(3, 2\)"),
    ):
        ba.Duplicated(x, dx)


def test_duplicated_dx_of_wrong_dtype() -> None:
    x, dx = np.ones(3), np.ones(3, np.float32)
    with (
        untouched(x, dx),
        pytest.raises(TypeError, match=r"Duplicated: dx has dtype float32, expected float64"),
    ):
        ba.Duplicated(x, dx)


def test_duplicated_dx_of_int_dtype() -> None:
    x, dx = np.ones(3), np.ones(3, np.int64)
    with (
        untouched(x, dx),
        pytest.raises(
            TypeError,
            match=r"Duplicated dx must have dtype float32, float64, complex64 or complex128, got int64",
        ),
    ):
        ba.Duplicated(x, dx)


def test_duplicated_x_of_float16_dtype() -> None:
    x, dx = np.ones(3, np.float16), np.ones(3, np.float16)
    with untouched(x, dx), pytest.raises(TypeError, match=r"Duplicated x must have dtype .* got float16"):
        ba.Duplicated(x, dx)


def test_duplicated_complex_x_is_accepted() -> None:
    x, dx = np.ones(3, np.complex64), np.full(3, 1j, np.complex64)
    with untouched(x, dx):
        d = ba.Duplicated(x, dx)
    assert d.x is x and d.dx is dx


@pytest.mark.parametrize(
    ("x_dtype", "dx_dtype"),
    [(np.complex128, np.float64), (np.float64, np.complex128), (np.complex128, np.complex64)],
)
def test_duplicated_dx_of_other_complex_or_real_dtype(x_dtype: type, dx_dtype: type) -> None:
    x, dx = np.ones(3, x_dtype), np.ones(3, dx_dtype)
    name, dname = np.dtype(x_dtype).name, np.dtype(dx_dtype).name
    with (
        untouched(x, dx),
        pytest.raises(TypeError, match=rf"Duplicated: dx has dtype {dname}, expected {name}"),
    ):
        ba.Duplicated(x, dx)


def test_duplicated_dx_not_an_array() -> None:
    x = np.ones(3)
    with untouched(x), pytest.raises(TypeError, match=r"Duplicated dx must be a NumPy array, got list"):
        ba.Duplicated(x, [0.0, 0.0, 0.0])


def test_duplicated_dx_read_only() -> None:
    x, dx = np.ones(3), np.zeros(3)
    dx.flags.writeable = False
    with untouched(x, dx), pytest.raises(ValueError, match=r"Duplicated: dx is read-only"):
        ba.Duplicated(x, dx)


def test_duplicated_dx_sharing_memory_with_x() -> None:
    base = np.arange(6.0)
    with untouched(base), pytest.raises(ValueError, match=r"Duplicated: dx shares memory with x"):
        ba.Duplicated(base[:3], base[2:5])


def test_autodiff_with_overlapping_duplicated_arguments() -> None:
    base, d1, d2 = np.arange(6.0), np.ones(4), np.ones(4)
    calls: list[int] = []

    def f(u: np.ndarray, v: np.ndarray) -> None:
        calls.append(1)
        ba.axpy(1.0, u[:2], v[2:])

    with (
        untouched(base, d1, d2),
        pytest.raises(
            ValueError,
            match=r"autodiff: argument 1 \(Duplicated x\) shares memory with argument 0 \(Duplicated x\)",
        ),
    ):
        ba.autodiff(f, ba.Duplicated(base[:4], d1), ba.Duplicated(base[2:], d2))
    assert calls == []


def test_autodiff_with_overlapping_shadows() -> None:
    x, y, dbase = np.ones(3), np.ones(3), np.arange(5.0)
    calls: list[int] = []
    with (
        untouched(x, y, dbase),
        pytest.raises(
            ValueError, match=r"autodiff: argument 1's shadow dx shares memory with argument 0's shadow dx"
        ),
    ):
        ba.autodiff(lambda x, y: calls.append(1), ba.Duplicated(x, dbase[:3]), ba.Duplicated(y, dbase[2:]))
    assert calls == []


def test_autodiff_with_interleaved_duplicated_arguments() -> None:
    """No shared element, but the spans interleave: one shadow region cannot hold both."""
    base, d1, d2 = np.arange(6.0), np.ones(3), np.ones(3)
    calls: list[int] = []
    with (
        untouched(base, d1, d2),
        pytest.raises(ValueError, match=r"a Duplicated argument overlaps memory that is already tracked"),
    ):
        ba.autodiff(lambda u, v: calls.append(1), ba.Duplicated(base[::2], d1), ba.Duplicated(base[1::2], d2))
    assert calls == []


# ---- Tape ----------------------------------------------------------------------------------------


def test_watch_two_array_objects_over_one_memory() -> None:
    """Two arrays that are not views of one base but overlap in memory: the second is refused,
    nothing of it is registered, and the tape works on."""
    buf = bytearray(8 * 6)
    X, Y = np.frombuffer(buf, offset=16), np.frombuffer(buf, count=4)  # elements 2..5 and 0..3
    X[:] = np.arange(4.0)
    y = np.zeros(2)
    with untouched(X), ba.Tape() as tape:
        tape.watch(X)
        with pytest.raises(
            ValueError, match=r"an array overlaps memory that is already tracked through another"
        ):
            tape.watch(Y)
        tape.watch(X[2:])  # a view of the watched array is fine
        ba.axpy(2.0, X[1:3], y)
    tape.backward(y, np.array([1.0, 3.0]))
    assert_array_equal(tape.grad(X), [0.0, 2.0, 6.0, 0.0])


def test_an_array_that_starts_inside_a_watched_one_and_runs_past_it() -> None:
    """Y's first element lies in X's region but Y runs past its end: Y has no shadow that the
    region can give (its adjoint would run past X's shadow). Watching Y, reading it or writing
    it in a recorded call is refused before anything is written, on both dispatch paths."""
    buf = bytearray(8 * 6)
    X, Y = np.frombuffer(buf, count=4), np.frombuffer(buf, offset=16)  # elements 0..3 and 2..5
    X[:] = np.arange(4.0)
    y, z = np.zeros(4), np.ones(4)
    with ba.Tape() as tape:
        tape.watch(X)
        for call in (lambda: tape.watch(Y), lambda: ba.axpy(2.0, Y, y), lambda: ba.copy(z, Y),
                     lambda: ba.gemv(1.0, np.eye(4), Y, 0.0, y), lambda: ba.dot(Y, z)):  # fmt: skip
            with untouched(X, y, z), pytest.raises(ValueError, match=r"overlaps memory that is already"):
                call()
        ba.axpy(2.0, X[1:3], y[:2])  # the tape works on
    assert tape.ncalls == 1
    tape.backward(y, np.array([1.0, 3.0, 5.0, 7.0]))
    assert_array_equal(tape.grad(X), [0.0, 2.0, 6.0, 0.0])


def _recorded() -> tuple[ba.Tape, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    A, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    with ba.Tape() as tape:
        tape.watch(A, B)
        C = ba.gemm(1.0, A, B)
        y = ba.gemv(1.0, A, B[:, 0])
    return tape, A, B, C, y


def _backward_still_works(tape: ba.Tape, A: np.ndarray, B: np.ndarray, C: np.ndarray, y: np.ndarray) -> None:
    """The rejected backward consumed nothing: a correct one still gives the right gradient."""
    S, s = np.ones_like(C), np.ones_like(y)
    tape.backward([C, y], [S, s])
    assert_array_equal(tape.grad(A), S @ B.T + np.outer(s, B[:, 0]))
    expected_B = A.T @ S
    expected_B[:, 0] += A.T @ s
    assert_array_equal(tape.grad(B), expected_B)


def test_backward_seed_of_wrong_shape() -> None:
    tape, A, B, C, y = _recorded()
    seed = np.ones((2, 3))
    with (
        untouched(A, B, C, y, seed),
        pytest.raises(ValueError, match=r"seeds\[0\] has shape \(2, 3\), expected \(3, 2\)"),
    ):
        tape.backward(C, seed)
    _backward_still_works(tape, A, B, C, y)


def test_backward_second_seed_of_wrong_shape() -> None:
    tape, A, B, C, y = _recorded()
    seeds = [np.ones((3, 2)), np.ones(4)]
    with (
        untouched(A, B, C, y, *seeds),
        pytest.raises(ValueError, match=r"seeds\[1\] has shape \(4,\), expected \(3,\)"),
    ):
        tape.backward([C, y], seeds)
    _backward_still_works(tape, A, B, C, y)


def test_backward_seed_of_complex_dtype() -> None:
    tape, A, B, C, y = _recorded()
    seed = np.ones((3, 2), complex)
    with untouched(A, B, C, y, seed), pytest.raises(TypeError, match=r"seeds\[0\] has dtype complex128"):
        tape.backward(C, seed)
    _backward_still_works(tape, A, B, C, y)


def test_backward_mismatched_list_lengths() -> None:
    tape, A, B, C, y = _recorded()
    seeds = [np.ones((3, 2))]
    with (
        untouched(A, B, C, y, *seeds),
        pytest.raises(ValueError, match=r"backward got 2 outputs but 1 seeds"),
    ):
        tape.backward([C, y], seeds)
    _backward_still_works(tape, A, B, C, y)


def test_backward_more_seeds_than_outputs() -> None:
    tape, A, B, C, y = _recorded()
    seeds = [np.ones((3, 2)), np.ones(3)]
    with (
        untouched(A, B, C, y, *seeds),
        pytest.raises(ValueError, match=r"backward got 1 outputs but 2 seeds"),
    ):
        tape.backward(C, seeds)
    _backward_still_works(tape, A, B, C, y)


def test_backward_outputs_not_arrays() -> None:
    tape, A, B, C, y = _recorded()
    with untouched(A, B, C, y), pytest.raises(TypeError, match=r"outputs must be a NumPy array or a list"):
        tape.backward(3.0, np.ones(()))
    _backward_still_works(tape, A, B, C, y)


def test_backward_output_list_holding_a_list() -> None:
    tape, A, B, C, y = _recorded()
    with (
        untouched(A, B, C, y),
        pytest.raises(TypeError, match=r"outputs\[0\] must be a NumPy array, got list"),
    ):
        tape.backward(C.tolist(), np.ones((3, 2)))
    _backward_still_works(tape, A, B, C, y)


def test_backward_seeds_not_arrays() -> None:
    tape, A, B, C, y = _recorded()
    with untouched(A, B, C, y), pytest.raises(TypeError, match=r"seeds must be a NumPy array or a list"):
        tape.backward(C, 1.0)
    _backward_still_works(tape, A, B, C, y)


def test_backward_output_of_int_dtype() -> None:
    tape, A, B, C, y = _recorded()
    bad = np.ones(3, np.int64)
    with (
        untouched(A, B, C, y, bad),
        pytest.raises(
            TypeError,
            match=r"outputs\[1\] must have dtype float32, float64, complex64 or complex128, got int64",
        ),
    ):
        tape.backward([C, bad], [np.ones((3, 2)), np.ones(3)])
    _backward_still_works(tape, A, B, C, y)


def test_backward_inside_the_recording_block() -> None:
    A = np.ones((2, 2))
    with untouched(A), ba.Tape() as tape:
        tape.watch(A)
        C = ba.gemm(1.0, A, A)
        with pytest.raises(RuntimeError, match=r"after the `with tape:` block"):
            tape.backward(C, np.ones((2, 2)))
    tape.backward(C, np.ones((2, 2)))
    assert_array_equal(tape.grad(A), np.full((2, 2), 4.0))


def test_grad_before_backward() -> None:
    tape, A, *_ = _recorded()
    with untouched(A), pytest.raises(RuntimeError, match=r"grad\(\) is available after backward\(\)"):
        tape.grad(A)


def test_grad_of_an_unwatched_array() -> None:
    tape, _, _, C, _ = _recorded()
    tape.backward(C, np.ones((3, 2)))
    other = np.ones((3, 4))
    with untouched(other), pytest.raises(ValueError, match=r"x was not watched"):
        tape.grad(other)


def test_watch_non_array() -> None:
    A = np.ones(2)
    with untouched(A), ba.Tape() as tape:
        with pytest.raises(TypeError, match=r"watch argument 1 must be a NumPy array, got list"):
            tape.watch(A, [1.0])
    assert tape.ncalls == 0


def test_watch_int_array() -> None:
    A, Ai = np.ones(2), np.arange(3)
    with untouched(A, Ai), ba.Tape() as tape:
        with pytest.raises(
            TypeError,
            match=r"watch argument 1 must have dtype float32, float64, complex64 or complex128, got int64",
        ):
            tape.watch(A, Ai)


@pytest.mark.parametrize("dtype", [np.bool_, np.float16, np.object_])
def test_watch_array_of_unsupported_dtype(dtype: type) -> None:
    A, X = np.ones(2), np.ones(3, dtype)
    with untouched(A), ba.Tape() as tape:
        with pytest.raises(
            TypeError, match=rf"watch argument 1 must have dtype .* got {np.dtype(dtype).name}"
        ):
            tape.watch(A, X)


def test_nested_tapes_on_one_thread() -> None:
    A = np.ones((2, 2))
    with untouched(A), ba.Tape() as outer:
        outer.watch(A)
        with pytest.raises(RuntimeError, match=r"another Tape is already recording"), ba.Tape():
            pass
        ba.gemm(1.0, A, A)
    assert outer.ncalls == 1


def test_reentering_a_tape() -> None:
    tape = ba.Tape()
    with tape:
        pass
    with pytest.raises(RuntimeError, match=r"a Tape records once"), tape:
        pass
