"""The C fast paths take the common calls; everything else goes through the validator.

Both paths must give bit-identical results and adjoints (the whole suite also runs once
per path through the dispatch_path fixture in conftest.py).
"""

import numpy as np
import pytest

import blasad as ba
import blasad._lowering as generic
import blasad._lowering as routines


def _forbid_validator(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the validating path was taken")

    monkeypatch.setattr(generic, "validate", boom)


def _counting(fn, seen):
    def wrapper(*args, **kwargs):
        seen.append(args[0].name)
        return fn(*args, **kwargs)

    return wrapper


def _common_calls(rng):
    A = rng.standard_normal((5, 4))
    B = np.asfortranarray(rng.standard_normal((4, 3)))
    C = rng.standard_normal((10, 6))[::2, 1:4]  # a row-major slice with ld > cols
    x, y = rng.standard_normal(8)[::-2], rng.standard_normal(5)
    alpha = np.array(0.5)
    ba.gemm(1.5, A, B, 0.25, C)
    ba.gemm(alpha, B.T, A.T, 0.0, C.T.copy(), "N", "N")
    ba.gemv(2.0, A, x, 1.0, y)
    ba.gemv(alpha, A, y, 0.0, rng.standard_normal(4), "T")
    ba.axpy(-1.0, x, y[::-1][:4])
    ba.gemm(1.0, A[:, ::-1], B, 1.0, C[::-1])  # staged (negative strides): recorded copies, in C
    return C, y


def test_common_calls_take_the_fast_path(monkeypatch, rng):
    # also in checked builds: the fast paths declare the arrays their CBLAS calls may touch
    monkeypatch.setattr(routines, "FAST", True)
    _forbid_validator(monkeypatch)
    _common_calls(rng)
    with ba.Tape() as tape:
        A, B = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
        C = np.zeros((3, 3))
        tape.watch(A, B, C)  # C gets its shadow here, so the fast path can record into it
        ba.gemm(1.0, A, B, 0.0, C)
    assert tape.ncalls == 1


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda A, B, C: ba.gemm(2**60, A, B, 0.0, C), id="int alpha beyond 2**53"),
        pytest.param(lambda A, B, C: ba.gemm(True, A, B, 0.0, C), id="bool alpha"),
        pytest.param(lambda A, B, C: ba.gemm(1.0, A[:, ::-1], B, 0.0, A[::-1]), id="staged, aliasing"),
        pytest.param(lambda A, B, C: ba.gemm(1.0, A, B.astype(int)), id="C=None, B of ints"),
        pytest.param(lambda A, B, C: ba.gemm(1.0, A, B, 0.0, C, trans_a="X"), id="bad flag"),
        pytest.param(lambda A, B, C: ba.gemm(1.0, A, A, 0.0, A), id="aliasing"),
    ],
)
def test_other_calls_reach_the_validator(dispatch_path, monkeypatch, rng, call):
    seen = []
    real = generic.validate

    def spy(*args, **kwargs):
        seen.append(args[0].name)
        return real(*args, **kwargs)

    monkeypatch.setattr(generic, "validate", spy)
    A, B, C = rng.standard_normal((3, 3)), rng.standard_normal((3, 3)), np.zeros((3, 3))
    try:
        call(A, B, C)
    except (TypeError, ValueError):
        pass
    assert seen == ["gemm"]


def test_paths_agree_bit_for_bit(monkeypatch):
    def run(fast):
        monkeypatch.setattr(routines, "FAST", fast)
        rng = np.random.default_rng(7)
        W = rng.standard_normal((4, 4))
        x = rng.standard_normal(4)
        v = np.zeros(4)
        h = np.array(0.1)
        dW, dx, dv, dh = np.zeros((4, 4)), rng.standard_normal(4), np.zeros(4), np.zeros(())

        def program(W, x, v, h):
            for _ in range(5):
                ba.gemv(1.0, W, x, 0.0, v)
                ba.axpy(h, v, x)
                ba.gemm(0.5, W[:2, :2], W[2:, 2:], 0.5, W[:2, 2:])  # disjoint blocks of W

        ba.autodiff(
            program, ba.Duplicated(W, dW), ba.Duplicated(x, dx), ba.Duplicated(v, dv), ba.Duplicated(h, dh)
        )
        return x, dW, dx, dh

    fast, slow = run(True), run(False)
    for a, b in zip(fast, slow):
        assert np.array_equal(a, b)


NUMBERS = [int, np.float64, np.float32, np.float16, np.int64, np.int32]


@pytest.mark.parametrize("kind", NUMBERS, ids=lambda k: k.__name__)
def test_number_scalars_take_the_fast_path_with_the_float_result(monkeypatch, rng, kind):
    """Python ints and NumPy scalars for α and β (ints within ±2⁵³) are read as the floats of
    the same value: numpy.float64 in C, the others converted and tried again."""
    monkeypatch.setattr(routines, "FAST", True)
    A, B, x = rng.standard_normal((3, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)
    calls = [  # each with its scalars of type s
        lambda s, C, y: ba.gemm(s(2), A, B, s(0), C),
        lambda s, C, y: ba.gemv(s(-3), A, x, s(1), y),
        lambda s, C, y: ba.axpy(s(2), x, y),
        lambda s, C, y: ba.scal(s(3), y),
        lambda s, C, y: ba.syrk(s(1), A, s(0), C),
    ]

    def results(s):
        out = []
        for call in calls:
            C, y = np.ones((3, 3)), np.ones(3)
            call(s, C, y)
            out.append((C, y))
        return out

    want = results(float)
    _forbid_validator(monkeypatch)
    for (C, y), (C0, y0) in zip(results(kind), want):
        assert np.array_equal(C, C0) and np.array_equal(y, y0)


def test_flags_are_read_by_value(monkeypatch, rng):
    """Flag strings made at run time (CPython's cached one-character strs, not the interned
    literals), in either case, take the fast path: the C side reads a str's value."""
    monkeypatch.setattr(routines, "FAST", True)
    A, B, T = rng.standard_normal((3, 4)), rng.standard_normal((3, 2)), np.triu(rng.standard_normal((3, 3)))
    x = rng.standard_normal(3)
    made = {c: chr(ord(c)) for c in "NTtULn"}
    _forbid_validator(monkeypatch)
    C = ba.gemm(1.0, A, B, 0.0, np.empty((4, 2)), made["T"], made["n"])
    np.testing.assert_allclose(C, A.T @ B)
    y = ba.gemv(1.0, A, x, 0.0, np.empty(4), made["t"])
    np.testing.assert_allclose(y, A.T @ x)
    z = x.copy()
    ba.trmv(T.T.copy(), z, made["L"], made["N"], made["N"])
    np.testing.assert_allclose(z, np.tril(T.T) @ x)


class _Flag(str):
    pass


def test_a_str_subclass_flag_takes_the_validating_path(dispatch_path, monkeypatch, rng):
    seen = []
    monkeypatch.setattr(generic, "validate", _counting(generic.validate, seen))
    A, B = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    C = ba.gemm(1.0, A, B, 0.0, np.empty((3, 3)), _Flag("T"))
    np.testing.assert_allclose(C, A.T @ B)
    assert seen == ["gemm"]


def test_a_large_call_releases_the_gil(monkeypatch):
    """Another Python thread runs while a large gemm is in the kernel (the fast path takes the
    GIL to read its arguments and hands it back around the BLAS work)."""
    import threading
    import time

    monkeypatch.setattr(routines, "FAST", True)
    n = 1200
    A, B, C = np.ones((n, n)), np.ones((n, n)), np.empty((n, n))
    ticks, done = [], threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0)

    t0 = time.perf_counter()
    ba.gemm(1.0, A, B, 0.0, C)  # warm-up, and how long one call takes
    one = time.perf_counter() - t0
    worker = threading.Thread(target=count)
    worker.start()
    while not ticks:
        time.sleep(0.001)
    start = time.perf_counter()
    ba.gemm(1.0, A, B, 0.0, C)
    end = time.perf_counter()
    done.set()
    worker.join()
    inside = [t for t in ticks if start < t < end]
    assert C[0, 0] == n
    # with the GIL held through the call, the counter could only tick at its edges
    assert len(inside) >= 2 or end - start < 0.02, (len(inside), end - start, one)
