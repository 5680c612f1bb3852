"""Forward mode's native LAPACK tangent rules (csrc/tangents_lapack.inc) against the Python rules
(blasad/tangents/lapack_lu.py), which stay the reference.

Each program runs natively with the routine's Python rule replaced by one that raises (so the
native rule is what ran: a call handed to Python would fail), then on the Python path (the
native forward entry switched off, as in tests/test_native_entry.py); the values agree bit for
bit and the tangents within a few units of rounding: the two rules order their products
differently. A failing call (info > 0) raises both ways and leaves every tangent as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import blasad as ba
from blasad import _forward, _lowering, _tape
from blasad.tangents import RULES

rng = np.random.default_rng(11)
DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def rand(shape: tuple[int, ...], dtype: Any, order: str = "C") -> np.ndarray:
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return np.asarray(x, dtype=dtype, order=order)  # type: ignore[call-overload]


def hpd(n: int, dtype: Any, order: str) -> np.ndarray:
    """A Hermitian positive definite matrix (its both triangles), well conditioned."""
    M = rand((n, n), dtype)
    return np.asarray(M @ M.conj().T + n * np.eye(n), dtype=dtype, order=order)  # type: ignore[call-overload]


def factor(A: np.ndarray, uplo: str) -> np.ndarray:
    """A Cholesky factor of A on its uplo triangle (the other one keeps A's values)."""
    G = A.copy(order="K")
    ba.potrf(G, uplo=uplo)
    return G


def tol(dtype: Any) -> float:
    return 1e-12 if np.dtype(dtype) in (np.float64, np.complex128) else 2e-5


def raising(name: str) -> Callable[..., Any]:
    def rule(a: Any, d: Any) -> Any:
        raise AssertionError(f"{name}: the Python tangent rule ran")

    return rule


def native_on(m: pytest.MonkeyPatch, names: str) -> None:
    """The C fast path on (whatever conftest's dispatch_path), the Python rules of names raising."""
    m.setattr(_lowering, "FAST", True)
    for name in names.split():
        m.setitem(RULES, name, raising(name))


def both_ways(
    monkeypatch: pytest.MonkeyPatch,
    names: str,
    f: Callable[..., None],
    pairs: list[tuple[np.ndarray, np.ndarray]],
) -> list[np.ndarray]:
    """f forward over the (x, ẋ) pairs natively (the Python rules of `names` raising) and on the
    Python path; asserts the values equal and the tangents close; returns the native [x..., ẋ...]."""

    def run() -> list[np.ndarray]:
        xs = [(x.copy(order="K"), d.copy(order="K")) for x, d in pairs]
        ba.autodiff(f, *(ba.Duplicated(x, d) for x, d in xs), mode="forward")
        return [x for x, _ in xs] + [d for _, d in xs]

    with monkeypatch.context() as m:
        native_on(m, names)
        native = run()
    with monkeypatch.context() as m:
        m.setattr(_forward, "_native_forward", lambda f, args: _tape._FALLBACK)
        python = run()
    k = len(pairs)
    for a, b in zip(native[:k], python[:k]):
        np.testing.assert_array_equal(a, b)
    rtol = tol(pairs[0][0].dtype)
    for a, b in zip(native[k:], python[k:]):
        scale = max(float(np.max(np.abs(b), initial=0.0)), 1.0)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale)
    return native


def fails_both_ways(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    f: Callable[..., None],
    pairs: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    """f raises LinAlgError natively and on the Python path, with every tangent untouched."""
    for native in (True, False):
        with monkeypatch.context() as m:
            if native:
                native_on(m, name)
            else:
                m.setattr(_forward, "_native_forward", lambda f, args: _tape._FALLBACK)
            xs = [(x.copy(order="K"), d.copy(order="K")) for x, d in pairs]
            with pytest.raises(np.linalg.LinAlgError):
                ba.autodiff(f, *(ba.Duplicated(x, d) for x, d in xs), mode="forward")
            for (_, d), (_, d0) in zip(xs, pairs):
                np.testing.assert_array_equal(d, d0)


# ---- trtrs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("trans", ["N", "T", "C"])
@pytest.mark.parametrize("diag", ["N", "U"])
@pytest.mark.parametrize("nrhs", [1, 3])
def test_trtrs(
    monkeypatch: pytest.MonkeyPatch, dtype: Any, order: str, uplo: str, trans: str, diag: str, nrhs: int
) -> None:
    n = 6
    A = rand((n, n), dtype, order)
    A[np.diag_indices(n)] += 4
    B, dA, dB = rand((n, nrhs), dtype, order), rand((n, n), dtype, order), rand((n, nrhs), dtype, order)

    def f(A: np.ndarray, B: np.ndarray) -> None:
        ba.trtrs(A, B, uplo=uplo, trans=trans, diag=diag)

    both_ways(monkeypatch, "trtrs", f, [(A, dA), (B, dB)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_trtrs_constant_matrix(monkeypatch: pytest.MonkeyPatch, dtype: Any) -> None:
    n = 5
    A = rand((n, n), dtype)
    A[np.diag_indices(n)] += 4
    B, dB = rand((n, 2), dtype), rand((n, 2), dtype)

    def f(B: np.ndarray) -> None:
        ba.trtrs(A, B, uplo="U", trans="C")

    both_ways(monkeypatch, "trtrs", f, [(B, dB)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_trtrs_singular(monkeypatch: pytest.MonkeyPatch, dtype: Any) -> None:
    n = 5
    A = rand((n, n), dtype)
    A[2, 2] = 0

    def f(A: np.ndarray, B: np.ndarray) -> None:
        ba.trtrs(A, B, uplo="L")

    fails_both_ways(
        monkeypatch, "trtrs", f, [(A, rand((n, n), dtype)), (rand((n, 2), dtype), rand((n, 2), dtype))]
    )


# ---- potrs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("nrhs", [1, 4])
def test_potrs(monkeypatch: pytest.MonkeyPatch, dtype: Any, order: str, uplo: str, nrhs: int) -> None:
    n = 7
    G = factor(hpd(n, dtype, order), uplo)
    B, dG, dB = rand((n, nrhs), dtype, order), rand((n, n), dtype, order), rand((n, nrhs), dtype, order)

    def f(G: np.ndarray, B: np.ndarray) -> None:
        ba.potrs(G, B, uplo=uplo)

    both_ways(monkeypatch, "potrs", f, [(G, dG), (B, dB)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_potrs_constant_factor(monkeypatch: pytest.MonkeyPatch, dtype: Any) -> None:
    n = 6
    G = factor(hpd(n, dtype, "C"), "U")
    B, dB = rand((n, 3), dtype), rand((n, 3), dtype)

    def f(B: np.ndarray) -> None:
        ba.potrs(G, B, uplo="U")

    both_ways(monkeypatch, "potrs", f, [(B, dB)])


# ---- potrf, posv ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("n", [1, 8])
def test_potrf(monkeypatch: pytest.MonkeyPatch, dtype: Any, order: str, uplo: str, n: int) -> None:
    A, dA = hpd(n, dtype, order), rand((n, n), dtype, order)  # (Ȧ's other triangle: not read, not written)

    def f(A: np.ndarray) -> None:
        ba.potrf(A, uplo=uplo)

    both_ways(monkeypatch, "potrf", f, [(A, dA)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("nrhs", [1, 3])
def test_posv(monkeypatch: pytest.MonkeyPatch, dtype: Any, order: str, uplo: str, nrhs: int) -> None:
    n = 7
    A, dA = hpd(n, dtype, order), rand((n, n), dtype, order)
    B, dB = rand((n, nrhs), dtype, order), rand((n, nrhs), dtype, order)

    def f(A: np.ndarray, B: np.ndarray) -> None:
        ba.posv(A, B, uplo=uplo)

    both_ways(monkeypatch, "posv", f, [(A, dA), (B, dB)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_potrf_then_potrs(monkeypatch: pytest.MonkeyPatch, dtype: Any) -> None:
    """Factor, then solve with the factor: both calls native."""
    n = 8
    A, dA = hpd(n, dtype, "C"), rand((n, n), dtype)
    b, db = rand((n,), dtype), rand((n,), dtype)

    def f(A: np.ndarray, b: np.ndarray) -> None:
        ba.potrf(A, uplo="L")
        ba.potrs(A, b.reshape(n, 1), uplo="L")

    both_ways(monkeypatch, "potrf potrs", f, [(A, dA), (b, db)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_potrf_not_definite(monkeypatch: pytest.MonkeyPatch, dtype: Any, uplo: str) -> None:
    n = 6
    A = hpd(n, dtype, "C")
    A[3, 3] = -50

    def f(A: np.ndarray) -> None:
        ba.potrf(A, uplo=uplo)

    fails_both_ways(monkeypatch, "potrf", f, [(A, rand((n, n), dtype))])

    def g(A: np.ndarray, B: np.ndarray) -> None:
        ba.posv(A, B, uplo=uplo)

    fails_both_ways(
        monkeypatch, "posv", g, [(A, rand((n, n), dtype)), (rand((n, 2), dtype), rand((n, 2), dtype))]
    )


# ---- getrf, getrs (column-major: other layouts are staged, which forward mode leaves to Python) --


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 6), (8, 5), (5, 8), (1, 3)])
def test_getrf(monkeypatch: pytest.MonkeyPatch, dtype: Any, shape: tuple[int, int]) -> None:
    A, dA = rand(shape, dtype, "F"), rand(shape, dtype, "F")
    ipiv = np.zeros(min(shape), np.int64)

    def f(A: np.ndarray) -> None:
        ba.getrf(A, ipiv)

    both_ways(monkeypatch, "getrf", f, [(A, dA)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_getrf_singular(monkeypatch: pytest.MonkeyPatch, dtype: Any) -> None:
    n = 5
    A = rand((n, n), dtype, "F")
    A[:, 2] = 0  # U[2, 2] exactly zero
    ipiv = np.zeros(n, np.int64)

    def f(A: np.ndarray) -> None:
        ba.getrf(A, ipiv)

    fails_both_ways(monkeypatch, "getrf", f, [(A, rand((n, n), dtype, "F"))])


def lu(n: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    A = rand((n, n), dtype, "F")
    ipiv = np.zeros(n, np.int64)
    ba.getrf(A, ipiv)
    return A, ipiv


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans", ["N", "T", "C"])
@pytest.mark.parametrize("nrhs", [1, 3])
def test_getrs(monkeypatch: pytest.MonkeyPatch, dtype: Any, trans: str, nrhs: int) -> None:
    n = 7
    LU, ipiv = lu(n, dtype)
    dLU = rand((n, n), dtype, "F")
    B, dB = rand((n, nrhs), dtype, "F"), rand((n, nrhs), dtype, "F")

    def f(LU: np.ndarray, B: np.ndarray) -> None:
        ba.getrs(LU, ipiv, B, trans=trans)

    both_ways(monkeypatch, "getrs", f, [(LU, dLU), (B, dB)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_getrf_then_getrs_constant_pivots(monkeypatch: pytest.MonkeyPatch, dtype: Any) -> None:
    """Factor, then solve with the factors; and a solve with constant factors."""
    n = 6
    A, dA = rand((n, n), dtype, "F"), rand((n, n), dtype, "F")
    B, dB = rand((n, 2), dtype, "F"), rand((n, 2), dtype, "F")
    ipiv = np.zeros(n, np.int64)

    def f(A: np.ndarray, B: np.ndarray) -> None:
        ba.getrf(A, ipiv)
        ba.getrs(A, ipiv, B, trans="C")

    both_ways(monkeypatch, "getrf getrs", f, [(A, dA), (B, dB)])
    LU, piv = lu(n, dtype)

    def g(B: np.ndarray) -> None:
        ba.getrs(LU, piv, B)

    both_ways(monkeypatch, "getrs", g, [(B, dB)])
