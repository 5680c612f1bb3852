"""LAPACK tangent rules: Cholesky and triangular (potrf ... trtrs), LU (getrf ... laswp).

A Cholesky factor G is L (uplo L) or Uᴴ (uplo U) on A's uplo triangle, the matrix being G Gᴴ;
getrf's factors are L (strictly lower, unit diagonal) and U (upper) packed in A, P A = L U.
Factorizations and inverses work after the yield (or write after it), so that a call that
raises leaves the tangents alone. The pivots are constants: they have no tangent.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import numpy as np

import blasad as ba
from blasad.tangents._util import rule


def _mask(m: int, n: int, uplo: str, k: int = 0) -> np.ndarray:
    """The uplo triangle of an m × n matrix (k = 1: strictly), as booleans."""
    return np.tri(m, n, -k, bool) if uplo == "L" else ~np.tri(m, n, k - 1, bool)


def _tri(X: np.ndarray, uplo: str, k: int = 0) -> np.ndarray:
    """A temporary holding X's uplo triangle (k = 1: strictly), zeros elsewhere."""
    m, n = X.shape
    T = np.zeros((m, n), X.dtype, order="F")
    np.copyto(T, X, where=_mask(m, n, uplo, k))
    return T


def _herm(X: np.ndarray, uplo: str) -> np.ndarray:
    """The Hermitian matrix read from X's uplo triangle (its diagonal's real part), a temporary."""
    T = _tri(X, uplo, 1)
    H = np.asfortranarray(T + T.conj().T)
    np.fill_diagonal(H, X.diagonal().real)
    return H


def _ops(uplo: str) -> tuple[str, str]:
    """The trans flags of G and Gᴴ for the factor on the uplo triangle (G = L, or Uᴴ)."""
    return ("N", "C") if uplo == "L" else ("C", "N")


def _chol_dot(a: SimpleNamespace, A_dot: np.ndarray, H: np.ndarray) -> None:
    """Ġ = G Φ(G⁻¹ Ȧ G⁻ᴴ) onto A_dot's triangle, H = Ȧ (overwritten), a.A the new factor G."""
    g, gh = _ops(a.uplo)
    ba.trsm(1.0, a.A, H, "L", a.uplo, g)  # G⁻¹ Ȧ
    ba.trsm(1.0, a.A, H, "R", a.uplo, gh)  # W = G⁻¹ Ȧ G⁻ᴴ (Hermitian)
    P = _tri(H, a.uplo)  # Φ(W): its triangle,
    np.fill_diagonal(P, H.diagonal().real / 2)  # the diagonal halved
    ba.trmm(1.0, a.A, P, "L" if a.uplo == "L" else "R", a.uplo)  # L̇ = L Φ (uplo U: U̇ = Φᴴ U)
    np.copyto(A_dot, P, where=_mask(a.n, a.n, a.uplo))


@rule
def potrf(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ġ ← G Φ(G⁻¹ Ȧ G⁻ᴴ) on A's triangle (Φ: lower triangle, diagonal halved; G = L or Uᴴ)"""
    yield
    _chol_dot(a, d.A, _herm(d.A, a.uplo))  # Ȧ Hermitian from its triangle


@rule
def potrs(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ḃ ← (G Gᴴ)⁻¹ (Ḃ − (Ġ Gᴴ + G Ġᴴ) X), X the solution"""
    yield
    R = np.array(d.B, order="F")  # Ḃ
    if d.A is not None:
        g, gh = _ops(a.uplo)
        Y, Z = np.array(a.B, order="F"), np.array(a.B, order="F")  # X
        ba.trmm(1.0, a.A, Y, "L", a.uplo, gh)  # Y = Gᴴ X
        ba.trmm(1.0, d.A, Y, "L", a.uplo, g)  # Y = Ġ Gᴴ X
        ba.trmm(1.0, d.A, Z, "L", a.uplo, gh)  # Z = Ġᴴ X
        ba.trmm(1.0, a.A, Z, "L", a.uplo, g)  # Z = G Ġᴴ X
        R -= Y + Z  # Ḃ − Ṁ X
    ba.potrs(a.A, R, a.uplo)  # (G Gᴴ)⁻¹ R
    d.B[...] = R


@rule
def posv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ḃ ← A⁻¹ (Ḃ − Ȧ X); Ġ ← G Φ(G⁻¹ Ȧ G⁻ᴴ) on A's triangle (potrf's)"""
    yield
    H = _herm(d.A, a.uplo)  # Ȧ Hermitian from its triangle
    R = np.array(d.B, order="F")
    ba.gemm(-1.0, H, a.B, 1.0, R)  # Ḃ − Ȧ X
    ba.potrs(a.A, R, a.uplo)  # A⁻¹ (Ḃ − Ȧ X), by the new factor
    d.B[...] = R
    _chol_dot(a, d.A, H)


@rule
def potri(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ṡ ← −G⁻ᴴ (K + Kᴴ) G⁻¹ on A's triangle, S = (G Gᴴ)⁻¹, K = G⁻¹ Ġ (real diagonals)"""
    g, gh = _ops(a.uplo)
    G, K = _tri(a.A, a.uplo), _tri(d.A, a.uplo)  # the factor and its tangent (before the call)
    np.fill_diagonal(G, G.diagonal().real)  # (Im G_ii is not read)
    np.fill_diagonal(K, K.diagonal().real)
    ba.trsm(1.0, G, K, "L" if a.uplo == "L" else "R", a.uplo)  # K = L⁻¹ L̇ (uplo U: Kᴴ = U̇ U⁻¹)
    W = np.asfortranarray(K + K.conj().T)  # K + Kᴴ
    ba.trsm(-1.0, G, W, "L", a.uplo, gh)  # −G⁻ᴴ (K + Kᴴ)
    ba.trsm(1.0, G, W, "R", a.uplo, g)  # Ṡ = −G⁻ᴴ (K + Kᴴ) G⁻¹
    np.fill_diagonal(W, W.diagonal().real)  # (S's diagonal is real)
    yield
    np.copyto(d.A, W, where=_mask(a.n, a.n, a.uplo))


@rule
def trtri(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ẋ ← −X Ȧ X on A's triangle (diag U: strictly), X = A⁻¹"""
    yield
    k = 1 if a.diag == "U" else 0
    W = _tri(d.A, a.uplo, k)  # Ȧ (no diagonal for a unit one)
    ba.trmm(-1.0, a.A, W, "L", a.uplo, "N", a.diag)  # −X Ȧ
    ba.trmm(1.0, a.A, W, "R", a.uplo, "N", a.diag)  # −X Ȧ X
    np.copyto(d.A, W, where=_mask(a.n, a.n, a.uplo, k))


@rule
def trtrs(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ḃ ← op(A)⁻¹ (Ḃ − op(Ȧ) X), X the solution (diag U: Ȧ strictly triangular)"""
    yield
    R = np.array(d.B, order="F")  # Ḃ
    if d.A is not None:
        W = np.array(a.B, order="F")  # X
        ba.trmm(-1.0, _tri(d.A, a.uplo, 1 if a.diag == "U" else 0), W, "L", a.uplo, a.trans)  # −op(Ȧ) X
        R += W
    ba.trsm(1.0, a.A, R, "L", a.uplo, a.trans, a.diag)  # op(A)⁻¹ R
    d.B[...] = R


def _lu_dot(LU: np.ndarray, ipiv: np.ndarray, A_dot: np.ndarray) -> None:
    """A_dot ← L̇ + U̇ packed, from Ȧ (A_dot) and P A = L U (LU, ipiv); A m × n."""
    m, n = LU.shape
    k = min(m, n)
    W = np.array(A_dot, order="F")
    ba.laswp(W, ipiv, "N")  # P Ȧ
    ba.trsm(1.0, LU[:k, :k], W[:k], "L", "L", "N", "U")  # L1⁻¹ P Ȧ on the first k rows (m < n: L⁻¹ P Ȧ)
    ba.trsm(1.0, LU[:k, :k], W[:, :k], "R", "U", "N", "N")  # F = L1⁻¹ P Ȧ1 U1⁻¹ (m > n: below, P Ȧ2 U⁻¹)
    Lf, Uf = _tri(W[:k, :k], "L", 1), _tri(W[:k, :k], "U")  # strictly_lower(F), upper(F)
    if m > n:
        ba.gemm(-1.0, LU[k:], Uf, 1.0, W[k:])  # L̇2 = P Ȧ2 U⁻¹ − L2 upper(F)
    if m < n:
        ba.gemm(-1.0, Lf, LU[:, k:], 1.0, W[:, k:])  # U̇2 = L⁻¹ P Ȧ2 − strictly_lower(F) U2
    ba.trmm(1.0, LU[:k, :k], Lf, "L", "L", "N", "U")  # L̇1 = L1 strictly_lower(F)
    ba.trmm(1.0, LU[:k, :k], Uf, "R", "U", "N", "N")  # U̇1 = upper(F) U1
    W[:k, :k] = Lf + Uf
    A_dot[...] = W


def _lu_times(LU: np.ndarray, LU_dot: np.ndarray, X: np.ndarray, trans: str) -> np.ndarray:
    """op(L̇ U + L U̇) X, a temporary (L̇: LU_dot's strictly lower part, U̇ its upper part)."""
    L_dot = _tri(LU_dot, "L", 1)
    Y, Z = np.array(X, order="F"), np.array(X, order="F")
    if trans == "N":
        ba.trmm(1.0, LU, Y, "L", "U", "N", "N")  # U X
        ba.trmm(1.0, L_dot, Y, "L", "L", "N", "N")  # L̇ U X
        ba.trmm(1.0, LU_dot, Z, "L", "U", "N", "N")  # U̇ X
        ba.trmm(1.0, LU, Z, "L", "L", "N", "U")  # L U̇ X
    else:
        ba.trmm(1.0, L_dot, Y, "L", "L", trans, "N")  # op(L̇) X
        ba.trmm(1.0, LU, Y, "L", "U", trans, "N")  # op(U) op(L̇) X
        ba.trmm(1.0, LU, Z, "L", "L", trans, "U")  # op(L) X
        ba.trmm(1.0, LU_dot, Z, "L", "U", trans, "N")  # op(U̇) op(L) X
    Y += Z
    return Y


@rule
def getrf(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """L̇ ← L strictly_lower(F), U̇ ← upper(F) U, F = L⁻¹ P Ȧ U⁻¹ (rectangular: the rest by solves)"""
    yield
    _lu_dot(a.A, a.ipiv, d.A)


@rule
def getrs(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ḃ ← op(M)⁻¹ (Ḃ − op(Ṁ) X), M = Pᵀ L U, Ṁ = Pᵀ (L̇ U + L U̇), X the solution"""
    yield
    R = np.array(d.B, order="F")  # Ḃ
    if d.A is not None:
        V = np.array(a.B, order="F")  # X
        if a.trans == "N":
            V = _lu_times(a.A, d.A, V, "N")  # (L̇ U + L U̇) X
            ba.laswp(V, a.ipiv, "T")  # Ṁ X = Pᵀ (L̇ U + L U̇) X
        else:
            ba.laswp(V, a.ipiv, "N")  # P X
            V = _lu_times(a.A, d.A, V, a.trans)  # op(Ṁ) X = op(L̇ U + L U̇) P X
        R -= V
    ba.getrs(a.A, a.ipiv, R, a.trans)  # op(M)⁻¹ R
    d.B[...] = R


@rule
def gesv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ḃ ← A⁻¹ (Ḃ − Ȧ X); L̇, U̇ ← getrf's"""
    yield
    R = np.array(d.B, order="F")
    ba.gemm(-1.0, d.A, a.B, 1.0, R)  # Ḃ − Ȧ X (Ȧ: the tangent before the call)
    ba.getrs(a.A, a.ipiv, R)  # A⁻¹ (Ḃ − Ȧ X), by the new factors
    d.B[...] = R
    _lu_dot(a.A, a.ipiv, d.A)


@rule
def getri(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ẋ ← −X Ṁ X = −U⁻¹ (L⁻¹ L̇ + U̇ U⁻¹) L⁻¹ P, X = M⁻¹, M = Pᵀ L U"""
    Lk, W = _tri(d.A, "L", 1), _tri(d.A, "U")  # L̇, U̇ (the factors' tangents, before the call)
    ba.trsm(1.0, a.A, Lk, "L", "L", "N", "U")  # L⁻¹ L̇
    ba.trsm(1.0, a.A, W, "R", "U", "N", "N")  # U̇ U⁻¹
    W += Lk  # K = L⁻¹ L̇ + U̇ U⁻¹
    ba.trsm(-1.0, a.A, W, "L", "U", "N", "N")  # −U⁻¹ K
    ba.trsm(1.0, a.A, W, "R", "L", "N", "U")  # −U⁻¹ K L⁻¹
    ba.laswp(W.T, a.ipiv, "T")  # Ẋ = −U⁻¹ K L⁻¹ P ((W P)ᵀ = Pᵀ Wᵀ)
    yield
    d.A[...] = W


@rule
def laswp(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← op(P) Ȧ"""
    yield
    ba.laswp(d.A, a.ipiv, a.trans)  # the same interchanges on Ȧ
