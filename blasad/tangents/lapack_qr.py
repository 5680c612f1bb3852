"""LAPACK tangent rules: QR factorization, its Q, products with Q, least squares.

Q = H₁⋯H_k from the reflectors as compact WY, Q = I - V T Vᴴ (V unit lower trapezoidal from
A's strict lower part, T = K⁻¹ D with K = I + D striu(Vᴴ V), D = diag τ), which holds for any
τ and V, so Q̇ = -(V̇ T Vᴴ + V Ṫ Vᴴ + V T V̇ᴴ) is exact for them. geqrf's compact form comes
in closed form from the thin QR's tangents (Q̇, Ṙ): E - Q = V (T V₁ᴴ) is an LU factorization
(E = [I; 0], V₁ = V's top square, T V₁ᴴ upper with diagonal τ), whose tangent gives V̇ and τ̇.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import numpy as np

import blasad as ba
from blasad.tangents._util import rule


def _cplx(dtype: np.dtype) -> bool:
    return np.dtype(dtype).kind == "c"


def _unit_lower(A: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """V (rows × cols, cols ≤ rows): A's strict lower part, unit diagonal (the reflectors)."""
    V = np.asfortranarray(np.tril(A[:rows, :cols], -1))
    V[np.arange(cols), np.arange(cols)] = 1
    return V


def _strict_lower(A: np.ndarray | None, rows: int, cols: int) -> np.ndarray | None:
    """V̇: A's strict lower part (what the reflectors read of Ȧ), None for a constant."""
    return None if A is None else np.asfortranarray(np.tril(A[:rows, :cols], -1))


def _t_and_dot(
    V: np.ndarray, Vd: np.ndarray | None, tau: np.ndarray, taud: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(T, Ṫ) of Q = I - V T Vᴴ: T = K⁻¹ D, Ṫ = K⁻¹ (Ḋ (I - U T) - D U̇ T), U = striu(Vᴴ V)."""
    k = V.shape[1]
    tau = np.asarray(tau)
    U = np.triu(ba.gemm(1.0, V, V, 0.0, np.empty((k, k), V.dtype, order="F"), "C"), 1)  # U = striu(Vᴴ V)
    K = np.asfortranarray(np.eye(k, dtype=V.dtype) + tau[:, None] * U)  # K = I + D U
    T = ba.trsm(1.0, K, np.asfortranarray(np.diag(tau)), "L", "U", "N", "U")  # T = K⁻¹ D
    M = np.zeros((k, k), V.dtype, order="F")
    if Vd is not None:
        S = ba.gemm(1.0, Vd, V, 0.0, np.empty((k, k), V.dtype, order="F"), "C")  # V̇ᴴ V
        Ud = np.asfortranarray(np.triu(S + S.conj().T, 1))  # U̇ = striu(V̇ᴴ V + Vᴴ V̇)
        ba.gemm(1.0, Ud, T, 0.0, M)
        M *= -tau[:, None]  # M = -D U̇ T
    if taud is not None:
        N = ba.gemm(-1.0, U, T, 0.0, np.empty((k, k), V.dtype, order="F"))
        N[np.arange(k), np.arange(k)] += 1
        M += np.asarray(taud)[:, None] * N  # M += Ḋ (I - U T)
    return T, ba.trsm(1.0, K, M, "L", "U", "N", "U")  # Ṫ = K⁻¹ M


def _qdot(
    V: np.ndarray,
    Vd: np.ndarray | None,
    tau: np.ndarray,
    taud: np.ndarray | None,
    M: np.ndarray,
    right: bool,
    op: str,
) -> np.ndarray:
    """op(Q̇) M (right: M op(Q̇)), op(Q̇) = -(V̇ C Vᴴ + V Ċ Vᴴ + V C V̇ᴴ), C = op(T) (op N or C)."""
    T, Td = _t_and_dot(V, Vd, tau, taud)
    dt, k = V.dtype, V.shape[1]
    out = np.zeros(M.shape, dt, order="F")
    if not right:
        Y = ba.gemm(1.0, V, M, 0.0, np.empty((k, M.shape[1]), dt, order="F"), "C")  # Y = Vᴴ M
        Z = ba.gemm(1.0, Td, Y, 0.0, np.empty(Y.shape, dt, order="F"), op)  # Z = Ċ Y
        if Vd is not None:
            ba.gemm(-1.0, Vd, ba.gemm(1.0, T, Y, 0.0, np.empty(Y.shape, dt, order="F"), op), 0.0, out)
            Yd = ba.gemm(1.0, Vd, M, 0.0, np.empty(Y.shape, dt, order="F"), "C")  # Ẏ = V̇ᴴ M
            ba.gemm(1.0, T, Yd, 1.0, Z, op)  # Z += C Ẏ
        return ba.gemm(-1.0, V, Z, 1.0, out)  # op(Q̇) M = -V̇ C Y - V (Ċ Y + C Ẏ)
    P = ba.gemm(1.0, M, V, 0.0, np.empty((M.shape[0], k), dt, order="F"))  # P = M V
    Z = ba.gemm(1.0, P, Td, 0.0, np.empty(P.shape, dt, order="F"), "N", op)  # Z = P Ċ
    if Vd is not None:
        Pd = ba.gemm(1.0, M, Vd, 0.0, np.empty(P.shape, dt, order="F"))  # Ṗ = M V̇
        ba.gemm(1.0, Pd, T, 1.0, Z, "N", op)  # Z += Ṗ C
        PC = ba.gemm(1.0, P, T, 0.0, np.empty(P.shape, dt, order="F"), "N", op)
        ba.gemm(-1.0, PC, Vd, 0.0, out, "N", "C")  # out = -P C V̇ᴴ
    return ba.gemm(-1.0, Z, V, 1.0, out, "N", "C")  # M op(Q̇) = -(P Ċ + Ṗ C) Vᴴ - P C V̇ᴴ


def _qr_dot(Q: np.ndarray, R: np.ndarray, Ad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Q̇, Ṙ) of the thin A = Q [R₁ R₂]: B = Ȧ₁ R₁⁻¹, X = Qᴴ B, Ṙ₁ = Uₓ R₁ and Q̇ = B - Q Uₓ with
    Uₓ = triu(X) + stril(X)ᴴ (real diagonal: Qᴴ Q̇ = X - Uₓ skew-Hermitian), Ṙ₂ = Qᴴ (Ȧ₂ - Q̇ R₂)."""
    k, n, dt = Q.shape[1], R.shape[1], Q.dtype
    R1 = R[:, :k]
    B = ba.trsm(1.0, R1, np.array(Ad[:, :k], order="F"), "R", "U", "N", "N")  # B = Ȧ₁ R₁⁻¹
    X = ba.gemm(1.0, Q, B, 0.0, np.empty((k, k), dt, order="F"), "C")  # X = Qᴴ B
    Rd = np.zeros((k, n), dt, order="F")
    Ux = Rd[:, :k]
    Ux[...] = np.triu(X, 1) + np.tril(X, -1).conj().T + np.diag(np.diagonal(X).real)  # Uₓ
    Qd = ba.gemm(-1.0, Q, Ux, 1.0, B)  # Q̇ = B - Q Uₓ
    ba.trmm(1.0, R1, Ux, "R", "U", "N", "N")  # Ṙ₁ = Uₓ R₁
    if n > k:
        A2 = ba.gemm(-1.0, Qd, R[:, k:], 1.0, np.array(Ad[:, k:], order="F"))  # Ȧ₂ - Q̇ R₂
        ba.gemm(1.0, Q, A2, 0.0, Rd[:, k:], "C")  # Ṙ₂ = Qᴴ (Ȧ₂ - Q̇ R₂)
    return Qd, Rd


def _geqr2_dot(
    A: np.ndarray, Ad: np.ndarray, W: np.ndarray, tau: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(Ẇ, τ̇) column by column, geqr2's steps on C = A (H = I where τ = 0, as the adjoint takes it):
    larfg's β̇ = Re(ᾱ α̇ + xᴴ ẋ)/β, τ̇ = ((1 - τ) β̇ - α̇)/β, v̇ = (ẋ - v (α̇ - β̇))/(α - β), then
    C ← (I - c u uᴴ) C and Ċ ← (I - c u uᴴ) Ċ - (ċ u uᴴ + c u̇ uᴴ + c u u̇ᴴ) C (c = conj τ, u = [1; v])."""
    (m, n), dt = A.shape, A.dtype
    C, Cd, taud = np.array(A, order="F"), np.array(Ad, order="F"), np.zeros(min(m, n), dt)
    (dotc, ger), xx = (ba.dotc, ba.gerc) if _cplx(dt) else (ba.dot, ba.ger), np.empty((), dt)
    for j in range(min(m, n)):
        t = tau[j]
        if t == 0:  # H = I: β̇ = α̇, v̇ = ẋ
            continue
        alpha, ad, beta, v, xd = C[j, j], Cd[j, j], W[j, j].real, W[j + 1 :, j], Cd[j + 1 :, j]
        dotc(C[j + 1 :, j], xd, xx)
        bd = (np.conj(alpha) * ad + xx).real / beta  # β̇ = Re(ᾱ α̇ + xᴴ ẋ)/β
        taud[j] = ((1 - t) * bd - ad) / beta  # τ̇ = ((1 - τ) β̇ - α̇)/β
        xd -= (ad - bd) * v
        xd /= alpha - beta  # v̇ = (ẋ - v (α̇ - β̇))/(α - β)
        Cd[j, j] = bd
        if j + 1 < n:
            T, Td = C[j:, j + 1 :], Cd[j:, j + 1 :]
            u, ud = np.zeros(m - j, dt), np.zeros(m - j, dt)
            u[0], u[1:], ud[1:] = 1, v, xd
            z = ba.gemv(1.0, T, u, 0.0, np.empty(n - j - 1, dt), "C")  # z = Cᴴ u
            s = ba.gemv(1.0, T, ud, 0.0, np.empty(n - j - 1, dt), "C")
            ba.gemv(1.0, Td, u, 1.0, s, "C")
            s *= t
            s += taud[j] * z  # s = τ (Ċᴴ u + Cᴴ u̇) + τ̇ Cᴴ u
            ger(-1.0, u, s, Td)  # Ċ -= u sᴴ
            ger(-np.conj(t), ud, z, Td)  # Ċ -= c u̇ zᴴ
            ger(-np.conj(t), u, z, T)  # C ← C - c u zᴴ
    return Cd, taud


def _geqrf_dot(
    A: np.ndarray, W: np.ndarray, tau: np.ndarray, Wd: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(Ẇ, τ̇) of geqrf's compact output W (m × n) and tau, from its input A and tangent Wd.

    From (Q̇, Ṙ) of the thin QR: E - Q = V U', U' = T V₁ᴴ (LU: V unit lower, U' upper, diagonal τ),
    so with F = -V₁⁻¹ Q̇₁ U'⁻¹: V̇₁ = V₁ stril(F), τ̇ = diag(F) τ, V̇₂ = -Q̇₂ U'⁻¹ - V₂ triu(F). Real
    with m ≤ n: the last reflector is H = I (τ = 0, nothing stored) and the LU is of Q's first
    k - 1 columns. Another τ = 0 (x = 0 below a real α: not differentiable there) leaves U'
    singular: column by column then."""
    (m, n), dt = W.shape, W.dtype
    k = min(m, n)
    kk = k - 1 if m == k and not _cplx(dt) else k  # the reflectors that move
    if not np.all(tau[:kk]):
        return _geqr2_dot(A, Wd, W, tau)
    orgqr = ba.ungqr if _cplx(dt) else ba.orgqr
    Q = orgqr(np.array(W[:, :k], order="F"), np.ascontiguousarray(tau))  # Q (m × k)
    Qd, Rd = _qr_dot(Q, np.triu(W[:k]), Wd)
    out, taud = np.zeros((m, n), dt, order="F"), np.zeros(k, dt)
    out[:k] = np.triu(Rd)  # Ẇ's upper part: Ṙ
    if kk:
        V = _unit_lower(W, m, kk)
        V1 = V[:kk]
        Up = ba.trsm(1.0, V1, np.eye(kk, dtype=dt) - Q[:kk, :kk], "L", "L", "N", "U")  # V₁⁻¹ (I - Q₁)
        Up = np.triu(Up)  # U' = T V₁ᴴ
        H = -np.array(Qd[:, :kk], order="F")
        ba.trsm(1.0, V1, H[:kk], "L", "L", "N", "U")  # H₁ = -V₁⁻¹ Q̇₁
        ba.trsm(1.0, Up, H, "R", "U", "N", "N")  # H ← H U'⁻¹: F on top, -Q̇₂ U'⁻¹ below
        F = H[:kk].copy(order="F")
        taud[:kk] = np.diagonal(F) * tau[:kk]  # τ̇ = diag(F) τ
        H[:kk] = np.tril(
            ba.trmm(1.0, V1, np.asfortranarray(np.tril(F, -1)), "L", "L", "N", "U"), -1
        )  # V̇₁ = V₁ stril(F)
        if m > kk:
            ba.gemm(-1.0, V[kk:], np.asfortranarray(np.triu(F)), 1.0, H[kk:])  # V̇₂ = -Q̇₂ U'⁻¹ - V₂ triu(F)
        out[:, :kk] += np.tril(H, -1)
    return out, taud


@rule
def geqrf(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Ṙ (on and above the diagonal), V̇ (below it), τ̇: from the thin QR's Q̇, Ṙ (closed form)"""
    A = np.array(a.A, order="F")  # (the old A, for a τ = 0)
    yield
    if not a.k:
        return
    Wd, taud = _geqrf_dot(A, a.A, a.tau, d.A)
    d.A[...] = Wd
    d.tau[...] = taud  # (tau's old value is not read)


def _org(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Q̇[:, :n] = -(V̇ T Vᴴ + V Ṫ Vᴴ + V T V̇ᴴ) E (V from A's first k columns, E = [I; 0])"""
    V, Vd = _unit_lower(a.A, a.m, a.k), _strict_lower(d.A, a.m, a.k)  # (A's old value, before the call)
    yield
    E = np.eye(a.m, a.n, dtype=a.dtype, order="F")
    d.A[...] = _qdot(V, Vd, a.tau, d.tau, E, False, "N") if a.k else 0  # Ȧ ← Q̇ E (A's old value not read)


@rule
def orgqr(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Q̇[:, :n] = -(V̇ T Vᴴ + V Ṫ Vᴴ + V T V̇ᴴ) E (V from A's first k columns, E = [I; 0])"""
    yield from _org(a, d)


@rule
def ungqr(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ȧ ← Q̇[:, :n] = -(V̇ T Vᴴ + V Ṫ Vᴴ + V T V̇ᴴ) E (V from A's first k columns, E = [I; 0])"""
    yield from _org(a, d)


def _orm(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ċ ← op(Q) Ċ + op(Q̇) C (side L) or Ċ op(Q) + C op(Q̇) (side R)"""
    right, op = a.side == "R", "N" if a.trans == "N" else "C"
    extra = None
    if a.k and (d.A is not None or d.tau is not None):
        V, Vd = _unit_lower(a.A, a.mq, a.k), _strict_lower(d.A, a.mq, a.k)
        extra = _qdot(V, Vd, a.tau, d.tau, a.C, right, op)  # op(Q̇) C_old (right: C_old op(Q̇))
    yield
    (ba.unmqr if _cplx(a.dtype) else ba.ormqr)(a.A, a.tau, d.C, a.side, a.trans)  # Ċ ← op(Q) Ċ
    if extra is not None:
        d.C += extra


@rule
def ormqr(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ċ ← op(Q) Ċ + op(Q̇) C (side L) or Ċ op(Q) + C op(Q̇) (side R)"""
    yield from _orm(a, d)


@rule
def unmqr(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ċ ← op(Q) Ċ + op(Q̇) C (side L) or Ċ op(Q) + C op(Q̇) (side R)"""
    yield from _orm(a, d)


@rule
def qr(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Q̇ = B - Q Uₓ, Ṙ = [Uₓ R₁, Qᴴ (Ȧ₂ - Q̇ R₂)]: B = Ȧ₁ R₁⁻¹, Uₓ = triu(Qᴴ B) + stril(Qᴴ B)ᴴ (diag real)"""
    yield
    if d.A is None or not a.k:
        d.Q[...], d.R[...] = 0, 0  # (outputs whose old values are not read)
        return
    d.Q[...], d.R[...] = _qr_dot(a.Q, a.R, d.A)


@rule
def gels(a: SimpleNamespace, d: SimpleNamespace) -> Iterator[None]:
    """Ḃ, Ȧ through gels' steps in QR form W (A, or Aᴴ when m < n): geqrf's Ẇ, τ̇, then least squares
    Ẋ = R⁻¹ (Qᴴ Ḃ + Q̇ᴴ B - Ṙ X)_top, or minimum norm Ḃ ← Q [Ż; 0] + Q̇ [Z; 0], Ż = R⁻ᴴ (Ḃ_top - Ṙᴴ Z)"""
    m, n, k, dt = a.m, a.n, min(a.m, a.n), a.dtype
    lq, h = m < n, "C" if _cplx(dt) else "T"
    W = np.array(a.A.conj().T if lq else a.A, order="F")  # the old A in QR form
    B = np.array(a.B, order="F")  # the old B
    yield
    if not k or not a.nrhs:
        d.B[...] = 0  # B ← 0, A untouched
        return
    (Wf, tau), Bd = ba.geqrf(W.copy(order="F")), d.B  # (A's factors again, for tau)
    Wd, taud = _geqrf_dot(W, Wf, tau, d.A.conj().T if lq else d.A)
    R, Rd = Wf[:k, :k], np.asfortranarray(np.triu(Wd[:k, :k]))
    V, Vd = _unit_lower(Wf, W.shape[0], k), np.asfortranarray(np.tril(Wd, -1))
    orm = ba.unmqr if _cplx(dt) else ba.ormqr
    if (a.trans == "N") != lq:  # least squares: Y = Qᴴ B, X = R⁻¹ Y_top
        Y = orm(Wf, tau, np.array(Bd, order="F"), "L", h)  # Qᴴ Ḃ
        Y += _qdot(V, Vd, tau, taud, B, False, "C")  # Ẏ = Qᴴ Ḃ + Q̇ᴴ B
        ba.gemm(-1.0, Rd, a.B[:k], 1.0, Y[:k])  # Ẏ_top - Ṙ X
        ba.trsm(1.0, R, Y[:k], "L", "U", "N", "N")  # Ẋ = R⁻¹ (Ẏ_top - Ṙ X)
    else:  # minimum norm: B_new = Q [Z; 0], Z = R⁻ᴴ B_top
        Z = np.zeros(B.shape, dt, order="F")
        Z[:k] = B[:k]
        ba.trsm(1.0, R, Z[:k], "L", "U", "C", "N")  # Z = R⁻ᴴ B_top
        Y = np.zeros(B.shape, dt, order="F")
        Y[:k] = ba.gemm(-1.0, Rd, Z[:k], 1.0, np.array(Bd[:k], order="F"), "C")  # Ḃ_top - Ṙᴴ Z
        ba.trsm(1.0, R, Y[:k], "L", "U", "C", "N")  # Ż = R⁻ᴴ (Ḃ_top - Ṙᴴ Z)
        orm(Wf, tau, Y, "L", "N")  # Q [Ż; 0]
        Y += _qdot(V, Vd, tau, taud, Z, False, "N")  # + Q̇ [Z; 0]
    d.B[...] = Y
    d.A[...] = Wd.conj().T if lq else Wd
