"""LAPACK tangent rules: Hermitian eigenproblems (syevd, heevd) and the thin SVD (gesdd).

The conventions are the reverse rules' (csrc/lapack_eig.inc): values that agree to 16 (dims) eps
times the largest are taken as repeated (their coupling terms F_ij are 0), 1/s_j is 0 where s_j is
(numerically) zero, and a complex vector's free phase moves by the symmetric split of what A fixes.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import numpy as np

import blasad as ba
from blasad.tangents._util import rule

GAP = 16  # values within GAP × (dims) eps × the largest are repeated (the reverse rules' LA_GAP)


def _tol(dtype: np.dtype, dims: int, big: float) -> float:
    return GAP * dims * float(np.finfo(dtype).eps) * big


def _coupling(x: np.ndarray, tol: float, square: bool = False) -> np.ndarray:
    """F_ij = 1/(x_j - x_i) (square: 1/(x_j² - x_i²)), 0 where |x_j - x_i| <= tol (the diagonal too)."""
    diff = x[None, :] - x[:, None]
    denom = diff * (x[None, :] + x[:, None]) if square else diff
    return np.divide(1, denom, out=np.zeros(denom.shape, x.dtype, order="F"), where=np.abs(diff) > tol)


def _eigh(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẇ = Re diag(M), V̇ = V (F ∘ M), M = Vᴴ Ȧ V, F_ij = 1/(w_j - w_i) (Ȧ Hermitian from its uplo triangle)"""
    yield
    V, w, n = a.A, a.w, a.n
    if n == 0:
        return
    T = np.empty((n, n), a.dtype, order="F")
    hemm = ba.hemm if a.dtype.kind == "c" else ba.symm
    hemm(1.0, d.A, V, 0.0, T, "L", a.uplo)  # T = Ȧ V (Ȧ read from its triangle, Re of its diagonal)
    M = ba.gemm(1.0, V, T, 0.0, np.empty((n, n), a.dtype, order="F"), "C", "N")  # M = Vᴴ Ȧ V
    d.w[...] = M.diagonal().real  # ẇ = Re diag(M)
    M *= _coupling(w, _tol(w.dtype, n, float(np.abs(w).max())))  # M ← F ∘ M (0 on the diagonal)
    ba.gemm(1.0, V, M, 0.0, d.A)  # V̇ = V (F ∘ M)


@rule
def syevd(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẇ = diag(M), V̇ = V (F ∘ M), M = Vᵀ Ȧ V, F_ij = 1/(w_j - w_i) (Ȧ symmetric from its uplo triangle)"""
    yield from _eigh(a, d)


@rule
def heevd(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẇ = Re diag(M), V̇ = V (F ∘ M), M = Vᴴ Ȧ V, F_ij = 1/(w_j - w_i) (Ȧ Hermitian from its uplo triangle)"""
    yield from _eigh(a, d)


@rule
def gesdd(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ṡ = Re diag(P), U̇ = U Ω_U + (I - UUᴴ) Ȧ V S⁻¹, V̇ = V Ω_V + (I - VVᴴ) Ȧᴴ U S⁻¹, P = Uᴴ Ȧ V"""
    yield
    m, n, k, dt = a.m, a.n, a.k, a.dtype
    if d.A is None or k == 0:  # (A constant: the outputs' old values reach nothing)
        d.s[...], d.U[...], d.VT[...] = 0, 0, 0
        return
    s, U, VT = (a.s, a.U, a.VT) if a.jobz == "S" else ba.gesdd(a.A, jobz="S")  # (N: the vectors ṡ needs)
    P = np.empty((k, k), dt, order="F")
    if m >= n:
        T = ba.gemm(1.0, d.A, VT, 0.0, np.empty((m, k), dt, order="F"), "N", "C")  # T = Ȧ V
        ba.gemm(1.0, U, T, 0.0, P, "C", "N")  # P = Uᴴ Ȧ V
    else:
        R = ba.gemm(1.0, U, d.A, 0.0, np.empty((k, n), dt, order="F"), "C", "N")  # R = Uᴴ Ȧ
        ba.gemm(1.0, R, VT, 0.0, P, "N", "C")  # P = Uᴴ Ȧ V
    d.s[...] = P.diagonal().real  # ṡ = Re diag(P)
    if a.jobz == "N":
        return
    tol = _tol(s.dtype, max(m, n), float(s[0]))  # (s descending)
    inv = np.divide(1, s, out=np.zeros(k, s.dtype), where=s > tol)  # S⁻¹, 0 at a zero s_j
    F = _coupling(s, tol, square=True)  # F_ij = 1/(s_j² - s_i²)
    Ph = P.conj().T
    OU = F * (P * s + s[:, None] * Ph)  # Ω_U = F ∘ (P S + S Pᴴ)
    OV = F * (s[:, None] * P + Ph * s)  # Ω_V = F ∘ (S P + Pᴴ S)
    if dt.kind == "c":  # Ω_U,jj = -Ω_V,jj = i Im P_jj / (2 s_j): the pair's phases' difference
        half = 0.5j * P.diagonal().imag * inv
        OU[np.diag_indices(k)], OV[np.diag_indices(k)] = half, -half
    if m > n:
        d.U[...] = T * inv  # U̇ = T S⁻¹ ...
        ba.gemm(1.0, U, OU - P * inv, 1.0, d.U)  # ... + U (Ω_U - P S⁻¹)
    else:
        ba.gemm(1.0, U, OU, 0.0, d.U)  # U̇ = U Ω_U
    if m < n:
        d.VT[...] = inv[:, None] * R  # V̇T = S⁻¹ Uᴴ Ȧ ...
        ba.gemm(-1.0, OV + inv[:, None] * P, VT, 1.0, d.VT)  # ... - (Ω_V + S⁻¹ P) VT
    else:
        ba.gemm(-1.0, OV, VT, 0.0, d.VT)  # V̇T = Ω_Vᴴ VT = -Ω_V VT
