"""The structured matrices BLAS reads, in NumPy: what the references of the specs are built of
(and the tests' oracles). Dense triangles, packed and band storage."""

from __future__ import annotations

from typing import Any

import numpy as np


def triangle(A: np.ndarray, uplo: str, k: int = 0) -> np.ndarray:
    """The uplo triangle of A, offset k from the diagonal (k = 1: strictly), zeros elsewhere."""
    return np.triu(A, k) if uplo == "U" else np.tril(A, -k)


def symmetric(A: np.ndarray, uplo: str) -> np.ndarray:
    """The symmetric matrix BLAS reads from A's uplo triangle."""
    return triangle(A, uplo) + triangle(A, uplo, 1).T


def hermitian(A: np.ndarray, uplo: str) -> np.ndarray:
    """The Hermitian matrix BLAS reads from A's uplo triangle (the diagonal's imaginary part is 0)."""
    H = triangle(A, uplo, 1)
    return H + H.conj().T + np.diag(np.diag(A).real).astype(A.dtype)


def triangular(A: np.ndarray, uplo: str, diag: str) -> np.ndarray:
    """The triangular matrix BLAS reads from A (diag = "U": an implicit unit diagonal)."""
    if diag == "U":
        return triangle(A, uplo, 1) + np.eye(A.shape[0], dtype=A.dtype)
    return triangle(A, uplo)


def on_triangle(C: np.ndarray, new: np.ndarray, uplo: str) -> np.ndarray:
    """C with its uplo triangle replaced by new's."""
    return np.where(triangle(np.ones(C.shape, bool), uplo), new, C).astype(C.dtype)


def scaled(beta: Any, C: np.ndarray) -> np.ndarray:
    """β C, exactly zero for β = 0 (C is not read then: a NaN in it does not propagate)."""
    return beta * C if beta != 0 else np.zeros_like(C)


def unpack(AP: np.ndarray, uplo: str = "U") -> np.ndarray:
    """The n × n matrix whose ``uplo`` triangle is stored in packed AP (zeros elsewhere)."""
    n = round((np.sqrt(8 * AP.shape[0] + 1) - 1) / 2)
    M = np.zeros((n, n), AP.dtype)
    p = 0
    for j in range(n):
        rows = range(j + 1) if uplo.upper() == "U" else range(j, n)
        for i in rows:
            M[i, j] = AP[p]
            p += 1
    return M


def pack(M: np.ndarray, uplo: str = "U") -> np.ndarray:
    """The packed storage of the ``uplo`` triangle of the square matrix M."""
    n = M.shape[0]
    cols = [M[: j + 1, j] if uplo.upper() == "U" else M[j:, j] for j in range(n)]
    return np.concatenate(cols) if cols else np.zeros(0, M.dtype)


def unband(A: np.ndarray, m: int, kl: int, ku: int) -> np.ndarray:
    """The m × n matrix stored in band storage A (shape (kl+ku+1, n)): M[i, j] = A[ku+i-j, j]."""
    n = A.shape[1]
    M = np.zeros((m, n), A.dtype)
    for j in range(n):
        for i in range(max(0, j - ku), min(m, j + kl + 1)):
            M[i, j] = A[ku + i - j, j]
    return M


def band(M: np.ndarray, kl: int, ku: int) -> np.ndarray:
    """The band storage (kl+ku+1, n) of M's band: A[ku+i-j, j] = M[i, j] (zeros outside)."""
    m, n = M.shape
    A = np.zeros((kl + ku + 1, n), M.dtype)
    for j in range(n):
        for i in range(max(0, j - ku), min(m, j + kl + 1)):
            A[ku + i - j, j] = M[i, j]
    return A
