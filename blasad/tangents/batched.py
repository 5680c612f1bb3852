"""Batched tangent rules: B tangents of one call in a few level-3 calls instead of B rule runs.

Each tangent in ``d`` has the batch axis first. The products that do not involve a tangent are
formed once; a product with a tangent on the left becomes one gemm over the B tangents stacked
([Ȧ_1; …; Ȧ_B] B, a contiguous copy when their layout does not stack as it is). gemm's A Ḃ_b
runs one gemm per tangent into its output in place: stacking side by side costs two copies of
the batch, more than the B calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import numpy as np

import blasad as ba
from blasad.tangents._util import batched, scale


def _op(X: np.ndarray, trans: str) -> np.ndarray:
    """op(X_b) for every b of a batch X of shape (B, r, c), as a view (a copy for "C")."""
    Xt = X.transpose(0, 2, 1) if trans != "N" else X
    return Xt.conj() if trans == "C" else Xt


def _stacked(X: np.ndarray) -> np.ndarray | None:
    """A batch X of shape (B, r, c) as the (B·r × c) matrix [X_1; …; X_B], a view of it; None when
    its rows do not stack so."""
    nb, r, c = X.shape
    return X.reshape(nb * r, c) if r and X.strides[0] == r * X.strides[1] else None


def _bcast(v: np.ndarray, ndim: int) -> np.ndarray:
    """The B scalars v with ndim axes of length 1 after them, to scale a batch of arrays."""
    return v.reshape(v.shape[0], *(1,) * ndim)


@batched
def gemm(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ċ_b ← β Ċ_b + β̇_b C + α̇_b op(A) op(B) + α op(Ȧ_b) op(B) + α op(A) op(Ḃ_b), b = 1..B"""
    nb, m, n = d.C.shape
    k = a.A.shape[1] if a.trans_a == "N" else a.A.shape[0]
    scale(d.C, a.beta)  # Ċ_b ← β Ċ_b
    if d.beta is not None:
        d.C += _bcast(d.beta, 2) * a.C  # Ċ_b += β̇_b C_old
    if d.A is not None:  # [op(Ȧ_1); …; op(Ȧ_B)] (B·m × k) op(B): one gemm
        rows = np.ascontiguousarray(_op(d.A, a.trans_a)).reshape(nb * m, k)
        out = _stacked(d.C)
        if out is not None:  # [Ċ_1; …; Ċ_B] += α [op(Ȧ_b)] op(B), in place
            ba.gemm(a.alpha, rows, a.B, 1.0, out, trans_b=a.trans_b)
        else:
            d.C += ba.gemm(a.alpha, rows, a.B, trans_b=a.trans_b).reshape(nb, m, n)  # Ċ_b += α op(Ȧ_b) op(B)
    if d.B is not None:  # op(A) op(Ḃ_b), accumulated in place: one gemm per tangent (side by side,
        for b in range(nb):  # [op(Ḃ_b)] would need a copy of the tangents and of the products)
            ba.gemm(a.alpha, a.A, d.B[b], 1.0, d.C[b], a.trans_a, a.trans_b)  # Ċ_b += α op(A) op(Ḃ_b)
    if d.alpha is not None:
        product = ba.gemm(1.0, a.A, a.B, trans_a=a.trans_a, trans_b=a.trans_b)
        d.C += _bcast(d.alpha, 2) * product  # Ċ_b += α̇_b op(A) op(B)
    yield


@batched
def gemv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẏ_b ← β ẏ_b + β̇_b y + α̇_b op(A) x + α op(Ȧ_b) x + α op(A) ẋ_b, b = 1..B"""
    nb, m = d.y.shape
    scale(d.y, a.beta)  # ẏ_b ← β ẏ_b
    if d.beta is not None:
        d.y += _bcast(d.beta, 1) * a.y  # ẏ_b += β̇_b y_old
    if d.x is not None:  # [ẏ_1 … ẏ_B] += α op(A) [ẋ_1 … ẋ_B]: one gemm
        ba.gemm(a.alpha, a.A, d.x.T, 1.0, d.y.T, trans_a=a.trans)
    if d.A is not None:  # [op(Ȧ_1); …; op(Ȧ_B)] (B·m × n) x: one gemv
        rows = np.ascontiguousarray(_op(d.A, a.trans))
        d.y += ba.gemv(a.alpha, rows.reshape(nb * m, -1), a.x).reshape(nb, m)  # ẏ_b += α op(Ȧ_b) x
    if d.alpha is not None:
        d.y += _bcast(d.alpha, 1) * ba.gemv(1.0, a.A, a.x, trans=a.trans)  # ẏ_b += α̇_b op(A) x
    yield


def _triangle(X: np.ndarray, uplo: str, diag: str) -> np.ndarray:
    """What a triangular routine reads of every X_b of a batch (B, k, k): the uplo triangle, without
    the diagonal for diag "U" (a copy)."""
    strict = 1 if diag == "U" else 0
    return np.triu(X, strict) if uplo == "U" else np.tril(X, -strict)


@batched
def trsm(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ḃ_b ← M⁻¹ (α Ḃ_b + α̇_b B − Ṁ_b X) (side R: (α Ḃ_b + α̇_b B − X Ṁ_b) M⁻¹), M = op(A), X the
    new B, b = 1..B: one gemm for the Ṁ_b X terms and one trsm for the B solves"""
    nb, m, n = d.B.shape
    scale(d.B, a.alpha)  # Ḃ_b ← α Ḃ_b
    if d.alpha is not None:
        d.B += _bcast(d.alpha, 2) * a.B  # Ḃ_b += α̇_b B_old
    yield
    left = a.side == "L"
    if d.A is not None and m and n:
        M_dot = np.ascontiguousarray(_op(_triangle(d.A, a.uplo, a.diag), a.trans_a))  # Ṁ_b (B, k, k)
        if left:  # [Ṁ_1; …; Ṁ_B] X: (B·m × m)(m × n)
            d.B -= ba.gemm(1.0, M_dot.reshape(nb * m, m), a.B).reshape(nb, m, n)  # Ḃ_b −= Ṁ_b X
        else:  # X [Ṁ_1 … Ṁ_B]: (m × n)(n × B·n)
            prod = ba.gemm(1.0, a.B, np.ascontiguousarray(M_dot.transpose(1, 0, 2)).reshape(n, nb * n))
            d.B -= prod.reshape(m, nb, n).transpose(1, 0, 2)  # Ḃ_b −= X Ṁ_b
    if m and n and nb:  # M⁻¹ [Ḃ_1 … Ḃ_B] (side L: m × B·n), or [Ḃ_1; …; Ḃ_B] M⁻¹ (side R: B·m × n)
        stack = d.B.transpose(1, 0, 2).reshape(m, nb * n) if left else d.B.reshape(nb * m, n)  # (copies)
        ba.trsm(1.0, a.A, stack, a.side, a.uplo, a.trans_a, a.diag)
        d.B[...] = stack.reshape(m, nb, n).transpose(1, 0, 2) if left else stack.reshape(nb, m, n)
