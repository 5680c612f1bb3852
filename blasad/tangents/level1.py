"""Level 1 tangent rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np

import blasad as ba
from blasad.tangents._util import rule, scale


@rule
def axpy(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẏ ← ẏ + α ẋ + α̇ x"""
    if d.x is not None:
        ba.axpy(a.alpha, d.x, d.y)  # ẏ += α ẋ
    if d.alpha is not None:
        ba.axpy(d.alpha, a.x, d.y)  # ẏ += α̇ x
    yield


def _scalar_out(dtype: np.dtype) -> np.ndarray:
    """A 0-d temporary for a reduction's value."""
    return np.empty((), dtype)


def _dot_pair(dot: Callable[..., Any], a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ṙ ← dot(ẋ, y) + dot(x, ẏ) for any of dot, dotu, dotc (each real-linear in x and y)."""
    r_dot, t = np.zeros((), a.dtype), _scalar_out(a.dtype)
    if d.x is not None:
        dot(d.x, a.y, t)
        r_dot += t  # ṙ += dot(ẋ, y)
    if d.y is not None:
        dot(a.x, d.y, t)
        r_dot += t  # ṙ += dot(x, ẏ)
    d.out[...] = r_dot  # (out's old value reaches nothing: overwritten)
    yield


@rule
def scal(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẋ ← α ẋ + α̇ x"""
    alpha_dot = None if d.alpha is None else d.alpha.copy()  # (read before ẋ changes)
    scale(d.x, a.alpha)  # ẋ ← α ẋ (exactly 0 at α = 0)
    if alpha_dot is not None:
        ba.axpy(alpha_dot, a.x, d.x)  # ẋ += α̇ x_old
    yield


@rule
def copy(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẏ ← ẋ"""
    if d.x is not None:
        ba.copy(d.x, d.y)  # ẏ ← ẋ
    else:
        d.y[...] = 0  # ẏ ← 0 (y's old value reaches nothing)
    yield


@rule
def swap(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ẋ ↔ ẏ"""
    ba.swap(d.x, d.y)  # (ẋ, ẏ) ← (ẏ, ẋ)
    yield


@rule
def dot(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ṙ ← Σ ẋ y + x ẏ"""
    yield from _dot_pair(ba.dot, a, d)


@rule
def dotu(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ṙ ← Σ ẋ y + x ẏ"""
    yield from _dot_pair(ba.dotu, a, d)


@rule
def dotc(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ṙ ← Σ conj(ẋ) y + conj(x) ẏ"""
    yield from _dot_pair(ba.dotc, a, d)


def _re_dot(x: np.ndarray, x_dot: np.ndarray, dtype: np.dtype) -> Any:
    """Re ⟨x, ẋ⟩ = Re Σ conj(x) ẋ."""
    t = _scalar_out(dtype)
    (ba.dotc if dtype.kind == "c" else ba.dot)(x, x_dot, t)
    return t.real


@rule
def nrm2(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ṙ ← Re⟨x, ẋ⟩ / r, and 0 at r = 0 (x = 0: the subgradient 0, as the adjoint takes)"""
    num = 0 if d.x is None else _re_dot(a.x, d.x, a.dtype)  # Re⟨x, ẋ⟩ (before out is written)
    yield
    r = a.out[()]
    d.out[...] = num / r if r != 0 and d.x is not None else 0  # ṙ = Re⟨x, ẋ⟩ / r


@rule
def asum(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """ṙ ← Σ sign(Re x) Re ẋ + sign(Im x) Im ẋ, sign(0) = 0"""
    if d.x is None:
        d.out[...] = 0
    else:
        sign = np.sign(a.x.real).astype(a.dtype)  # σ = sign(Re x) + i sign(Im x)
        if a.dtype.kind == "c":
            sign.imag = np.sign(a.x.imag)
        d.out[...] = _re_dot(sign, d.x, a.dtype)  # ṙ = Re⟨σ, ẋ⟩
    yield


@rule
def rot(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """(ẋ, ẏ) ← (c ẋ + s ẏ + ċ x + ṡ y, c ẏ − s ẋ + ċ y − ṡ x)"""
    c_dot, s_dot = (None if t is None else t[()] for t in (d.c, d.s))  # (numbers: real, for any x)
    ba.rot(d.x, d.y, a.c, a.s)  # (ẋ, ẏ) ← (c ẋ + s ẏ, c ẏ − s ẋ)
    if c_dot is not None:
        ba.axpy(c_dot, a.x, d.x)  # ẋ += ċ x_old
        ba.axpy(c_dot, a.y, d.y)  # ẏ += ċ y_old
    if s_dot is not None:
        ba.axpy(s_dot, a.y, d.x)  # ẋ += ṡ y_old
        ba.axpy(-s_dot, a.x, d.y)  # ẏ −= ṡ x_old
    yield


def _rotm_flag(param: np.ndarray) -> int:
    """The flag as BLAS reads param[0]: −2, −1 (any other negative), 0 or 1 (any other positive)."""
    f = param[0]
    return -2 if f == -2 else -1 if f < 0 else 0 if f == 0 else 1


# the entries of param = (flag, h11, h21, h12, h22) each flag leaves free (differentiable)
_FREE = {-2: (), -1: (1, 2, 3, 4), 0: (2, 3), 1: (1, 4)}


@rule
def rotm(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """(ẋ, ẏ) ← H (ẋ, ẏ) + Ḣ (x, y), Ḣ over the entries of H the flag leaves free"""
    ba.rotm(d.x, d.y, a.param)  # (ẋ, ẏ) ← H (ẋ, ẏ)
    if d.param is not None:
        free = _FREE[_rotm_flag(a.param)]
        for i, src, dst in ((1, a.x, d.x), (2, a.x, d.y), (3, a.y, d.x), (4, a.y, d.y)):
            if i in free:  # ẋ += ḣ11 x + ḣ12 y,  ẏ += ḣ21 x + ḣ22 y  (old x, y)
                ba.axpy(d.param[i][()], src, dst)
    yield


@rule
def rotg(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """(ṙ, ż, ċ, ṡ) ← J (ȧ, ḃ), J the derivative of rotg's branch at (a, b) (complex: ḃ kept)"""
    av, bv, a_dot, b_dot = a.a[()], a.b[()], d.a[()], d.b[()]
    if a.dtype.kind == "c":
        r_dot, c_dot, s_dot = _crotg_tangent(av, bv, a_dot, b_dot)
    else:
        r_dot, z_dot, c_dot, s_dot = _rotg_tangent(av, bv, a_dot, b_dot)
        d.b[...] = z_dot  # ż (b ← z)
    d.a[...] = r_dot  # ṙ (a ← r)
    d.c[...] = c_dot  # (c's and s's old values reach nothing: overwritten)
    d.s[...] = s_dot
    yield


def _rotg_tangent(a: Any, b: Any, a_dot: Any, b_dot: Any) -> tuple[Any, Any, Any, Any]:
    """(ṙ, ż, ċ, ṡ) of real rotg: r = σ √(a² + b²) (σ the sign of the larger of a, b), c = a/r,
    s = b/r, z = s (|a| > |b|), 1/c (c ≠ 0) or 1 (c = 0). At a = b = 0 (no derivative): r = a."""
    if a == 0 and b == 0:
        return a_dot, 0, 0, 0  # the branch b = 0: r = a, z = c − 1 = s = 0
    big_a = abs(a) > abs(b)
    sigma = (-1 if a < 0 else 1) if big_a else (-1 if b < 0 else 1)
    r = sigma * np.hypot(a, b)
    c, s = a / r, b / r
    r_dot = c * a_dot + s * b_dot  # ṙ = c ȧ + s ḃ
    c_dot = (a_dot - c * r_dot) / r  # ċ = (ȧ − c ṙ)/r
    s_dot = (b_dot - s * r_dot) / r  # ṡ = (ḃ − s ṙ)/r
    z_dot = s_dot if big_a else -c_dot / (c * c) if c != 0 else 0  # z = s, or 1/c: ż = −ċ/c²
    return r_dot, z_dot, c_dot, s_dot


def _crotg_tangent(a: Any, b: Any, a_dot: Any, b_dot: Any) -> tuple[Any, Any, Any]:
    """(ṙ, ċ, ṡ) of complex rotg: u = a/|a| (1 at a = 0), ρ = √(|a|² + |b|²), r = u ρ, c = |a|/ρ,
    s = u conj(b)/ρ. At a = 0, r = |b| for any direction of a: ȧ counts for nothing there; at
    a = b = 0 (no derivative) r = a."""
    fa, fb = abs(a), abs(b)
    if fa == 0 and fb == 0:
        return a_dot, 0, 0  # the branch b = 0: r = a, c = 1, s = 0
    u = a / fa if fa != 0 else 1
    rho = np.hypot(fa, fb)
    c, s = fa / rho, u * np.conj(b) / rho
    w = np.conj(u) * a_dot if fa != 0 else 0  # ȧ = u (ṁ + i m φ̇): ṁ = Re w, φ̇ = Im w / m
    m_dot, phi_dot = np.real(w), np.imag(w) / fa if fa != 0 else 0
    rho_dot = c * m_dot + np.real(np.conj(b) * b_dot) / rho  # ρ̇ = (|a| ṁ + Re(conj(b) ḃ))/ρ
    r_dot = u * (rho_dot + 1j * rho * phi_dot)  # ṙ = u̇ ρ + u ρ̇, u̇ = i u φ̇
    c_dot = (m_dot - c * rho_dot) / rho  # ċ = (ṁ − c ρ̇)/ρ
    s_dot = 1j * phi_dot * s + (u * np.conj(b_dot) - s * rho_dot) / rho  # ṡ = i φ̇ s + (u conj(ḃ) − s ρ̇)/ρ
    return r_dot, c_dot, s_dot


Dual = tuple[Any, Any]  # (a value, its tangent)


def _mul(x: Dual, y: Dual) -> Dual:
    return x[0] * y[0], x[1] * y[0] + x[0] * y[1]  # d(xy) = ẋ y + x ẏ


def _div(x: Dual, y: Dual) -> Dual:
    q = x[0] / y[0]
    return q, (x[1] - q * y[1]) / y[0]  # d(x/y) = (ẋ − (x/y) ẏ)/y


def _rotmg_branch(d1: Dual, d2: Dual, x1: Dual, y1: Dual) -> tuple[bool, list[Dual]]:
    """(rescaled, [d1, d2, x1, h11, h21, h12, h22]) after the branch OpenBLAS's rotmg takes (its
    tests, on the same products), before its rescaling loops; rescaled: the branch goes on to them."""
    zero, one, minus_one = (0, 0), (1, 0), (-1, 0)
    if d2[0] == 0 or y1[0] == 0:  # flag −2, H = I: nothing changes
        return False, [d1, d2, x1, zero, zero, zero, zero]
    if d1[0] < 0:  # flag −1, H = 0; d1, d2, x1 ← 0
        return False, [zero] * 7
    if (d1[0] == 0 or x1[0] == 0) and d2[0] > 0:  # flag 1, H = [0 1; −1 0]: d1 ↔ d2, x1 ← y1
        return False, [d2, d1, y1, zero, minus_one, one, zero]
    p1, p2 = _mul(d1, x1), _mul(d2, y1)  # p1 = d1 x1, p2 = d2 y1
    q1, q2 = p1[0] * x1[0], p2[0] * y1[0]
    if abs(q1) > abs(q2):  # flag 0: h11 = h22 = 1
        h21 = _div((-y1[0], -y1[1]), x1)  # h21 = −y1/x1
        h12 = _div(p2, p1)  # h12 = p2/p1
        hh = _mul(h12, h21)
        u = (1 - hh[0], -hh[1])  # u = 1 − h12 h21
        return True, [_div(d1, u), _div(d2, u), _mul(x1, u), one, h21, h12, one]  # d1/u, d2/u, x1 u
    if q2 < 0:  # flag −1, H = 0
        return False, [zero] * 7
    h11, h22 = _div(p1, p2), _div(x1, y1)  # h11 = p1/p2, h22 = x1/y1; flag 1: h21 = −1, h12 = 1
    hh = _mul(h11, h22)
    u = (1 + hh[0], hh[1])  # u = 1 + h11 h22
    return True, [_div(d2, u), _div(d1, u), _mul(y1, u), h11, minus_one, one, h22]  # d2/u, d1/u, y1 u


def _rescalings(unscaled: Any, out: Any) -> int:
    """k with out = GAM²ᵏ unscaled: how many times rotmg's loops multiplied a d by 2²⁴ (negative:
    divided), read off the exponents, as the adjoint reads it."""
    if not (unscaled != 0 and out != 0 and np.isfinite(unscaled) and np.isfinite(out)):
        return 0
    e = int(np.frexp(out)[1]) - int(np.frexp(unscaled)[1])
    return int((e + (12 if e >= 0 else -12)) / 24)  # e / 24, rounded


@rule
def rotmg(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """(ḋ1, ḋ2, ẋ1, ḣ) ← J (ḋ1, ḋ2, ẋ1, ẏ1), J the derivative of the branch rotmg takes (with its
    rescalings by GAM = 4096); ḣ over the entries of H the flag writes, the flag's tangent 0"""
    y1 = (a.dtype.type(np.real(a.y1)), 0 if d.y1 is None else d.y1[()])  # (y1 a number or a 0-d array)
    ins = ((a.d1[()], d.d1[()]), (a.d2[()], d.d2[()]), (a.x1[()], d.x1[()]), y1)
    rescaled, o = _rotmg_branch(*ins)  # (d1, d2, x1, h11, h21, h12, h22) and their tangents
    yield
    dt = [tan for _, tan in o]
    if rescaled:  # d1 ← GAM²ᵏ¹ d1 and x1, h11, h12 ← GAM⁻ᵏ¹ (x1, h11, h12); d2, h21, h22 alike by k2
        k1, k2 = _rescalings(o[0][0], a.d1[()]), _rescalings(o[1][0], a.d2[()])
        shifts = (24 * k1, 24 * k2, -12 * k1, -12 * k1, -12 * k2, -12 * k1, -12 * k2)  # GAM = 2¹²
        dt = [tan * 2.0**f for tan, f in zip(dt, shifts)]
    d.d1[...], d.d2[...], d.x1[...] = dt[:3]  # (ḋ1, ḋ2, ẋ1) of the new d1, d2, x1
    d.param[0] = 0  # the flag: piecewise constant
    for i in _FREE[_rotm_flag(a.param)]:
        d.param[i] = dt[2 + i]  # ḣ of the entries the flag writes; the others keep their tangents
