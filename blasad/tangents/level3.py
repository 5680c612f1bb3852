"""Level 3 tangent rules (and the glue routines geadd, fill)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np

import blasad as ba
from blasad.tangents._util import old_term, rule


@rule
def gemm(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ċ ← β Ċ + β̇ C + α̇ op(A) op(B) + α op(Ȧ) op(B) + α op(A) op(Ḃ)"""
    old_term(d.C, a.beta, d.beta, a.C)  # Ċ ← β Ċ + β̇ C_old
    if d.A is not None:
        ba.gemm(a.alpha, d.A, a.B, 1.0, d.C, a.trans_a, a.trans_b)  # Ċ += α op(Ȧ) op(B)
    if d.B is not None:
        ba.gemm(a.alpha, a.A, d.B, 1.0, d.C, a.trans_a, a.trans_b)  # Ċ += α op(A) op(Ḃ)
    if d.alpha is not None:
        ba.gemm(d.alpha, a.A, a.B, 1.0, d.C, a.trans_a, a.trans_b)  # Ċ += α̇ op(A) op(B)
    yield


@rule
def symm(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ċ ← β Ċ + β̇ C + α̇ S B + α Ṡ B + α S Ḃ (side R: B S), Ṡ symmetric from Ȧ's uplo triangle"""
    yield from _xmm(ba.symm, a, d)


@rule
def hemm(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ċ ← β Ċ + β̇ C + α̇ H B + α Ḣ B + α H Ḃ (side R: B H), Ḣ Hermitian from Ȧ's uplo triangle"""
    yield from _xmm(ba.hemm, a, d)


def _xmm(xmm: Any, a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """symm's and hemm's rule: the product is linear in each of α, A, B."""
    old_term(d.C, a.beta, d.beta, a.C)  # Ċ ← β Ċ + β̇ C_old
    if d.A is not None:
        xmm(a.alpha, d.A, a.B, 1.0, d.C, a.side, a.uplo)  # Ċ += α Ṡ B
    if d.B is not None:
        xmm(a.alpha, a.A, d.B, 1.0, d.C, a.side, a.uplo)  # Ċ += α S Ḃ
    if d.alpha is not None:
        xmm(d.alpha, a.A, a.B, 1.0, d.C, a.side, a.uplo)  # Ċ += α̇ S B
    yield


def _old_triangle(a: SimpleNamespace, d: SimpleNamespace, hermitian: bool = False) -> None:
    """Ċ ← β Ċ + β̇ C_old on C's uplo triangle only; hermitian: the diagonal real (β Re Ċ_ii +
    β̇ Re C_ii), as the call leaves it, unless BLAS's quick return (β = 1, α = 0 or k = 0) keeps it."""
    n = a.n
    tri = np.triu(np.ones((n, n), bool)) if a.uplo == "U" else np.tril(np.ones((n, n), bool))
    if hermitian:
        np.fill_diagonal(tri, False)
    t = d.C[tri]  # (a copy)
    old_term(t, a.beta, d.beta, a.C[tri])  # Ċ ← β Ċ + β̇ C_old on the triangle
    d.C[tri] = t
    if hermitian:
        i = np.arange(n)
        quick = a.beta == 1 and (a.alpha == 0 or a.k == 0)
        t = d.C[i, i] if quick else d.C[i, i].real.copy()
        old_term(t, a.beta, d.beta, a.C[i, i].real)  # Ċ_ii ← β Re Ċ_ii + β̇ Re C_old_ii
        d.C[i, i] = t


@rule
def syrk(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ċ ← β Ċ + β̇ C + α̇ X Xᵀ + α (Ẋ Xᵀ + X Ẋᵀ) on C's uplo triangle, X = op(A)"""
    _old_triangle(a, d)  # Ċ ← β Ċ + β̇ C_old (triangle)
    if d.A is not None:
        ba.syr2k(a.alpha, d.A, a.A, 1.0, d.C, a.uplo, a.trans)  # Ċ += α (Ẋ Xᵀ + X Ẋᵀ)
    if d.alpha is not None:
        ba.syrk(d.alpha, a.A, 1.0, d.C, a.uplo, a.trans)  # Ċ += α̇ X Xᵀ
    yield


@rule
def herk(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ċ ← β Ċ + β̇ C + α̇ X Xᴴ + α (Ẋ Xᴴ + X Ẋᴴ) on C's uplo triangle, X = op(A), Im Ċ_ii = 0"""
    _old_triangle(a, d, hermitian=True)  # Ċ ← β Ċ + β̇ C_old (triangle, diagonal real)
    if d.A is not None:
        alpha = a.alpha.item() if isinstance(a.alpha, np.ndarray) else a.alpha  # (her2k's α: complex)
        ba.her2k(alpha, d.A, a.A, 1.0, d.C, a.uplo, a.trans)  # Ċ += α (Ẋ Xᴴ + X Ẋᴴ)
    if d.alpha is not None:
        ba.herk(d.alpha, a.A, 1.0, d.C, a.uplo, a.trans)  # Ċ += α̇ X Xᴴ
    yield


@rule
def syr2k(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ċ ← β Ċ + β̇ C + α̇ (X Yᵀ + Y Xᵀ) + α (Ẋ Yᵀ + Y Ẋᵀ) + α (X Ẏᵀ + Ẏ Xᵀ) on C's uplo triangle"""
    _old_triangle(a, d)  # Ċ ← β Ċ + β̇ C_old (triangle)
    yield from _r2k(ba.syr2k, a, d)


@rule
def her2k(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ċ ← β Ċ + β̇ C + α̇ X Yᴴ + conj(α̇) Y Xᴴ + (the same in Ẋ and in Ẏ) on C's uplo triangle, Im Ċ_ii = 0"""
    _old_triangle(a, d, hermitian=True)  # Ċ ← β Ċ + β̇ C_old (triangle, diagonal real)
    yield from _r2k(ba.her2k, a, d)


def _r2k(r2k: Any, a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """syr2k's and her2k's rule after the β C term: linear in each of α, A, B."""
    if d.A is not None:
        r2k(a.alpha, d.A, a.B, 1.0, d.C, a.uplo, a.trans)  # Ċ += α Ẋ Yᴴ + conj(α) Y Ẋᴴ
    if d.B is not None:
        r2k(a.alpha, a.A, d.B, 1.0, d.C, a.uplo, a.trans)  # Ċ += α X Ẏᴴ + conj(α) Ẏ Xᴴ
    if d.alpha is not None:
        r2k(d.alpha, a.A, a.B, 1.0, d.C, a.uplo, a.trans)  # Ċ += α̇ X Yᴴ + conj(α̇) Y Xᴴ
    yield


def _read_dot(a: SimpleNamespace, d: SimpleNamespace) -> np.ndarray:
    """Ȧ as a triangular routine reads it with diag N: its uplo triangle (diag U: the diagonal 0)."""
    if a.diag == "N":
        return d.A
    A_dot = np.array(d.A, order="F")
    np.fill_diagonal(A_dot, 0)
    return A_dot


def _dot_m_times(a: SimpleNamespace, d: SimpleNamespace, X: np.ndarray, alpha: Any) -> np.ndarray:
    """α Ṁ X (side R: α X Ṁ), Ṁ = op(Ȧ) on what the routine reads, in a new array."""
    W = np.array(X, order="F")
    ba.trmm(alpha, _read_dot(a, d), W, a.side, a.uplo, a.trans_a, "N")  # W ← α Ṁ X
    return W


@rule
def trmm(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ḃ ← M (α Ḃ + α̇ B) + α Ṁ B (side R: (α Ḃ + α̇ B) M + α B Ṁ), M = op(A) triangular"""
    W = None if d.A is None else _dot_m_times(a, d, a.B, a.alpha)  # W = α Ṁ B_old
    old_term(d.B, a.alpha, d.alpha, a.B)  # Ḃ ← α Ḃ + α̇ B_old
    ba.trmm(1.0, a.A, d.B, a.side, a.uplo, a.trans_a, a.diag)  # Ḃ ← M Ḃ
    if W is not None:
        d.B += W  # Ḃ += α Ṁ B_old
    yield


@rule
def trsm(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ḃ ← M⁻¹ (α Ḃ + α̇ B − Ṁ X) (side R: (α Ḃ + α̇ B − X Ṁ) M⁻¹), X = α M⁻¹ B the new B"""
    old_term(d.B, a.alpha, d.alpha, a.B)  # Ḃ ← α Ḃ + α̇ B_old
    yield
    if d.A is not None:
        d.B -= _dot_m_times(a, d, a.B, 1.0)  # Ḃ −= Ṁ X
    ba.trsm(1.0, a.A, d.B, a.side, a.uplo, a.trans_a, a.diag)  # Ḃ ← M⁻¹ Ḃ


@rule
def geadd(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ċ ← β Ċ + β̇ C + α op(Ȧ) + α̇ op(A)"""
    old_term(d.C, a.beta, d.beta, a.C)  # Ċ ← β Ċ + β̇ C_old
    if d.A is not None:
        ba.geadd(a.alpha, d.A, 1.0, d.C, a.trans)  # Ċ += α op(Ȧ)
    if d.alpha is not None:
        ba.geadd(d.alpha, a.A, 1.0, d.C, a.trans)  # Ċ += α̇ op(A)
    yield


@rule
def fill(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ẋ ← α̇ (every element; 0 for a constant α)"""
    ba.fill(0.0 if d.alpha is None else d.alpha, d.X)  # Ẋ ← α̇
    yield
