"""Level 2 tangent rules (dense, packed and band).

The products (gemv, symv, ...) and rank updates (ger, syr, ...) are multilinear: the tangent
is the routine itself on one tangent at a time, accumulated into the output's tangent. The
triangular ones (trmv, trsv and their packed and band kin) are in place: op(Ȧ) acts through the
triangle BLAS reads only, strictly for diag = "U" (``_tri_mv``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np

import blasad as ba
from blasad.tangents._util import old_term, rule

# ---- helpers -------------------------------------------------------------------------------


def _mv(mv: Callable[..., Any], a: SimpleNamespace, d: SimpleNamespace, A: str, flag: dict[str, Any]) -> None:
    """ẏ ← β ẏ + β̇ y_old + α̇ M x + α Ṁ x + α M ẋ, for y ← α M x + β y (mv(α, M, x, β, y, **flag))."""
    old_term(d.y, a.beta, d.beta, a.y)  # ẏ ← β ẏ + β̇ y_old
    if d.alpha is not None:
        mv(d.alpha, getattr(a, A), a.x, 1.0, d.y, **flag)  # ẏ += α̇ M x
    if getattr(d, A) is not None:
        mv(a.alpha, getattr(d, A), a.x, 1.0, d.y, **flag)  # ẏ += α Ṁ x
    if d.x is not None:
        mv(a.alpha, getattr(a, A), d.x, 1.0, d.y, **flag)  # ẏ += α M ẋ


def _packed_diag(n: int, uplo: str) -> np.ndarray:
    """The indices of A's diagonal in its packed storage."""
    j = np.arange(n)
    return j * (j + 3) // 2 if uplo == "U" else j * (2 * n - j + 1) // 2


def _tri_mv(
    mv: Callable[..., Any], S: np.ndarray, v: np.ndarray, a: SimpleNamespace, packed: bool
) -> np.ndarray:
    """op(T) v, T: the part of S (dense, packed or band storage) that the triangular routine mv
    reads: its uplo triangle, without the diagonal for diag = "U"."""
    w = v.copy()
    if a.diag == "N":
        mv(S, w, a.uplo, a.trans, "N")  # w = op(T) v
        return w
    if packed:  # a copy with a zero diagonal
        S = S.copy()
        S[_packed_diag(a.n, a.uplo)] = 0
        mv(S, w, a.uplo, a.trans, "N")  # w = op(T) v
        return w
    # T strictly triangular: its nonzero part is the triangle of the (n-1) × (n-1) submatrix
    # S[:-1, 1:] (U) or S[1:, :-1] (L); band storage: the same slices, with k - 1 diagonals
    S = S[:-1, 1:] if a.uplo == "U" else S[1:, :-1]
    w[...] = 0
    if S.size:
        up = (a.uplo == "U") == (a.trans == "N")  # op(T) strictly upper: w[:-1] = op(S) v[1:]
        dst, src = (slice(None, -1), slice(1, None)) if up else (slice(1, None), slice(None, -1))
        w[dst] = v[src]
        mv(S, w[dst], a.uplo, a.trans, "N")  # w = op(T) v
    return w


def _trmv(mv: Callable[..., Any], A: str, a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẋ ← op(A) ẋ + op(Ȧ) x_old, for x ← op(A) x (mv: trmv, tpmv or tbmv)."""
    packed = A == "AP"
    w = None if getattr(d, A) is None else _tri_mv(mv, getattr(d, A), a.x, a, packed)  # w = op(Ȧ) x_old
    mv(getattr(a, A), d.x, a.uplo, a.trans, a.diag)  # ẋ ← op(A) ẋ
    if w is not None:
        ba.axpy(1.0, w, d.x)  # ẋ += op(Ȧ) x_old
    yield


def _trsv(
    mv: Callable[..., Any], sv: Callable[..., Any], A: str, a: SimpleNamespace, d: SimpleNamespace
) -> Iterator[None]:
    """ẋ ← op(A)⁻¹ (ẋ − op(Ȧ) x_new), for x ← op(A)⁻¹ x (mv, sv: trmv, trsv or their kin)."""
    yield
    if getattr(d, A) is not None:
        ba.axpy(-1.0, _tri_mv(mv, getattr(d, A), a.x, a, A == "AP"), d.x)  # ẋ −= op(Ȧ) x_new
    sv(getattr(a, A), d.x, a.uplo, a.trans, a.diag)  # ẋ ← op(A)⁻¹ ẋ


def _sym_rank2(alpha: Any, x: np.ndarray, y: np.ndarray, A: np.ndarray, uplo: str) -> None:
    """A += α (x yᵀ + y xᵀ) on A's uplo triangle (complex: unconjugated, by syr2k)."""
    if A.dtype.kind == "f":
        ba.syr2(alpha, x, y, A, uplo)
    else:
        ba.syr2k(alpha, x.reshape(-1, 1), y.reshape(-1, 1), 1.0, A, uplo, "N")


def _hermitian_diag(dA: np.ndarray, ix: Any, alpha: Any, update: Callable[[], None]) -> None:
    """Run update (the tangent's rank updates), then Im Ȧ_ii ← 0 as BLAS sets Im A_ii, unless
    α = 0 (BLAS then returns at once: Im Ȧ_ii is kept, whatever the α̇ term's update did)."""
    kept = dA[ix].imag.copy()
    update()
    dA[ix] = dA[ix].real if alpha != 0 else dA[ix].real + 1j * kept


def _dense_diag(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The indices of an n × n matrix's diagonal."""
    i = np.arange(n)
    return i, i


# ---- products ------------------------------------------------------------------------------


@rule
def gemv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẏ ← β ẏ + β̇ y + α̇ op(A) x + α op(Ȧ) x + α op(A) ẋ"""
    _mv(ba.gemv, a, d, "A", {"trans": a.trans})
    yield


@rule
def gbmv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẏ ← β ẏ + β̇ y + α̇ op(A) x + α op(Ȧ) x + α op(A) ẋ  (A band)"""
    _mv(ba.gbmv, a, d, "A", {"trans": a.trans, "m": a.m, "kl": a.kl, "ku": a.ku})
    yield


@rule
def symv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẏ ← β ẏ + β̇ y + α̇ A x + α Ȧ x + α A ẋ  (A, Ȧ symmetric from their uplo triangle)"""
    _mv(ba.symv, a, d, "A", {"uplo": a.uplo})
    yield


@rule
def hemv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẏ ← β ẏ + β̇ y + α̇ A x + α Ȧ x + α A ẋ  (A, Ȧ Hermitian from their uplo triangle)"""
    _mv(ba.hemv, a, d, "A", {"uplo": a.uplo})
    yield


@rule
def spmv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẏ ← β ẏ + β̇ y + α̇ A x + α Ȧ x + α A ẋ  (A symmetric, packed)"""
    _mv(ba.spmv, a, d, "AP", {"uplo": a.uplo})
    yield


@rule
def hpmv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẏ ← β ẏ + β̇ y + α̇ A x + α Ȧ x + α A ẋ  (A Hermitian, packed)"""
    _mv(ba.hpmv, a, d, "AP", {"uplo": a.uplo})
    yield


@rule
def sbmv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẏ ← β ẏ + β̇ y + α̇ A x + α Ȧ x + α A ẋ  (A symmetric band)"""
    _mv(ba.sbmv, a, d, "A", {"uplo": a.uplo})
    yield


@rule
def hbmv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẏ ← β ẏ + β̇ y + α̇ A x + α Ȧ x + α A ẋ  (A Hermitian band)"""
    _mv(ba.hbmv, a, d, "A", {"uplo": a.uplo})
    yield


# ---- triangular ----------------------------------------------------------------------------


@rule
def trmv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẋ ← op(A) ẋ + op(Ȧ) x  (Ȧ: A's triangle, strict for diag = U)"""
    yield from _trmv(ba.trmv, "A", a, d)


@rule
def tpmv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẋ ← op(A) ẋ + op(Ȧ) x  (packed; Ȧ: A's triangle, strict for diag = U)"""
    yield from _trmv(ba.tpmv, "AP", a, d)


@rule
def tbmv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẋ ← op(A) ẋ + op(Ȧ) x  (band; Ȧ: A's triangle, strict for diag = U)"""
    yield from _trmv(ba.tbmv, "A", a, d)


@rule
def trsv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẋ ← op(A)⁻¹ (ẋ − op(Ȧ) x_new)  (Ȧ: A's triangle, strict for diag = U)"""
    yield from _trsv(ba.trmv, ba.trsv, "A", a, d)


@rule
def tpsv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẋ ← op(A)⁻¹ (ẋ − op(Ȧ) x_new)  (packed; Ȧ: A's triangle, strict for diag = U)"""
    yield from _trsv(ba.tpmv, ba.tpsv, "AP", a, d)


@rule
def tbsv(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẋ ← op(A)⁻¹ (ẋ − op(Ȧ) x_new)  (band; Ȧ: A's triangle, strict for diag = U)"""
    yield from _trsv(ba.tbmv, ba.tbsv, "A", a, d)


# ---- rank updates --------------------------------------------------------------------------


def _ger(r: Callable[..., Any], a: SimpleNamespace, d: SimpleNamespace) -> None:
    """Ȧ += α̇ x y' + α ẋ y' + α x ẏ' for A ← α x y' + A (r: ger, geru or gerc; ' its transpose)."""
    if d.alpha is not None:
        r(d.alpha, a.x, a.y, d.A)  # Ȧ += α̇ x y'
    if d.x is not None:
        r(a.alpha, d.x, a.y, d.A)  # Ȧ += α ẋ y'
    if d.y is not None:
        r(a.alpha, a.x, d.y, d.A)  # Ȧ += α x ẏ'


@rule
def ger(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Ȧ + α̇ x yᵀ + α ẋ yᵀ + α x ẏᵀ"""
    _ger(ba.ger, a, d)
    yield


@rule
def geru(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Ȧ + α̇ x yᵀ + α ẋ yᵀ + α x ẏᵀ"""
    _ger(ba.geru, a, d)
    yield


@rule
def gerc(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Ȧ + α̇ x yᴴ + α ẋ yᴴ + α x ẏᴴ"""
    _ger(ba.gerc, a, d)
    yield


@rule
def syr(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Ȧ + α̇ x xᵀ + α (ẋ xᵀ + x ẋᵀ)  (on the uplo triangle)"""
    if d.alpha is not None:
        ba.syr(d.alpha, a.x, d.A, a.uplo)  # Ȧ += α̇ x xᵀ
    if d.x is not None:
        _sym_rank2(a.alpha, d.x, a.x, d.A, a.uplo)  # Ȧ += α (ẋ xᵀ + x ẋᵀ)
    yield


@rule
def spr(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Ȧ + α̇ x xᵀ + α (ẋ xᵀ + x ẋᵀ)  (packed)"""
    if d.alpha is not None:
        ba.spr(d.alpha, a.x, d.AP, a.uplo)  # Ȧ += α̇ x xᵀ
    if d.x is not None:
        ba.spr2(a.alpha, d.x, a.x, d.AP, a.uplo)  # Ȧ += α (ẋ xᵀ + x ẋᵀ)
    yield


def _her(
    r: Callable[..., Any], r2: Callable[..., Any], A: str, a: SimpleNamespace, d: SimpleNamespace
) -> None:
    """Ȧ += α̇ x xᴴ + α (ẋ xᴴ + x ẋᴴ), Im Ȧ_ii ← 0 (α ≠ 0), for A ← α x xᴴ + A, α real (r, r2:
    her, her2 or hpr, hpr2)."""
    dA = getattr(d, A)

    def update() -> None:
        if d.alpha is not None:
            r(d.alpha, a.x, dA, a.uplo)  # Ȧ += α̇ x xᴴ
        if d.x is not None:
            r2(np.asarray(a.alpha, a.dtype), d.x, a.x, dA, a.uplo)  # Ȧ += α ẋ xᴴ + α x ẋᴴ (α real)

    _hermitian_diag(dA, _packed_diag(a.n, a.uplo) if A == "AP" else _dense_diag(a.n), a.alpha, update)


@rule
def her(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Ȧ + α̇ x xᴴ + α (ẋ xᴴ + x ẋᴴ)  (on the uplo triangle; Im Ȧ_ii ← 0 unless α = 0)"""
    _her(ba.her, ba.her2, "A", a, d)
    yield


@rule
def hpr(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Ȧ + α̇ x xᴴ + α (ẋ xᴴ + x ẋᴴ)  (packed; Im Ȧ_ii ← 0 unless α = 0)"""
    _her(ba.hpr, ba.hpr2, "AP", a, d)
    yield


def _r2(r2: Callable[..., Any], A: str, a: SimpleNamespace, d: SimpleNamespace) -> None:
    """Ȧ += R(α̇, x, y) + R(α, ẋ, y) + R(α, x, ẏ), R(α, x, y) = α x yᴴ + conj(α) y xᴴ the
    update r2 (syr2, her2, spr2 or hpr2) makes."""
    dA = getattr(d, A)
    if d.alpha is not None:
        r2(d.alpha, a.x, a.y, dA, a.uplo)  # Ȧ += R(α̇, x, y)
    if d.x is not None:
        r2(a.alpha, d.x, a.y, dA, a.uplo)  # Ȧ += R(α, ẋ, y)
    if d.y is not None:
        r2(a.alpha, a.x, d.y, dA, a.uplo)  # Ȧ += R(α, x, ẏ)


@rule
def syr2(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Ȧ + α̇ (x yᵀ + y xᵀ) + α (ẋ yᵀ + y ẋᵀ) + α (x ẏᵀ + ẏ xᵀ)  (on the uplo triangle)"""
    _r2(ba.syr2, "A", a, d)
    yield


@rule
def spr2(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Ȧ + α̇ (x yᵀ + y xᵀ) + α (ẋ yᵀ + y ẋᵀ) + α (x ẏᵀ + ẏ xᵀ)  (packed)"""
    _r2(ba.spr2, "AP", a, d)
    yield


@rule
def her2(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Ȧ + R(α̇, x, y) + R(α, ẋ, y) + R(α, x, ẏ), R(α, x, y) = α x yᴴ + conj(α) y xᴴ
    (on the uplo triangle; Im Ȧ_ii ← 0 unless α = 0)"""
    _hermitian_diag(d.A, _dense_diag(a.n), a.alpha, lambda: _r2(ba.her2, "A", a, d))
    yield


@rule
def hpr2(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Ȧ + R(α̇, x, y) + R(α, ẋ, y) + R(α, x, ẏ), R(α, x, y) = α x yᴴ + conj(α) y xᴴ
    (packed; Im Ȧ_ii ← 0 unless α = 0)"""
    _hermitian_diag(d.AP, _packed_diag(a.n, a.uplo), a.alpha, lambda: _r2(ba.hpr2, "AP", a, d))
    yield
