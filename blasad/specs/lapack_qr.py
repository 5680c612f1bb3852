"""LAPACK: QR factorization, its Q, products with Q, and least squares.

Q = H₁ H₂ ⋯ H_k is held as LAPACK holds it: Householder reflectors H_i = I - τ_i v_i v_iᴴ, v_i
with zeros above row i, 1 at row i (implicit) and the rest stored below A's diagonal in column
i, and tau. The adjoints are exact for these raw outputs (any τ and v, not only orthogonal
reflectors). References are NumPy's, column by column as LAPACK's unblocked code does it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad.specs.core import Arg, Spec


def _larfg(alpha: Any, x: np.ndarray) -> tuple[Any, Any, np.ndarray]:
    """LAPACK's larfg: (β, τ, v) with Hᴴ [α; x] = [β; 0] for H = I - τ [1; v] [1; v]ᴴ, β real:
    β = -sign(Re α) ‖(α, x)‖, τ = (β - α)/β, v = x/(α - β); τ = 0 (H = I) when x = 0 and α is
    real."""
    xnorm = float(np.linalg.norm(x)) if x.size else 0.0
    if xnorm == 0 and np.imag(alpha) == 0:
        return alpha, 0 * alpha, x
    beta = -np.copysign(np.hypot(abs(alpha), xnorm), np.real(alpha))
    return beta, (beta - alpha) / beta, x / (alpha - beta)


def _geqrf_ref(A: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    A = np.array(A, dtype=np.result_type(A, np.float32))
    m, n = A.shape
    tau = np.zeros(min(m, n), A.dtype)
    for j in range(min(m, n)):
        A[j, j], tau[j], A[j + 1 :, j] = _larfg(A[j, j], A[j + 1 :, j])
        v = np.concatenate([[1], A[j + 1 :, j]])
        C = A[j:, j + 1 :]
        C -= np.conj(tau[j]) * np.outer(v, v.conj() @ C)  # Hᴴ C
    return A, tau


def _geqrf_domain(A: np.ndarray, tau: np.ndarray) -> bool:
    """Away from Re α = 0 at every step, where β's sign (a branch of larfg) flips: α = β (1 - τ)
    from the reference's β and τ."""
    if not A.size:
        return True
    R, t = _geqrf_ref(A, tau)
    alpha = np.diagonal(R)[: t.size] * (1 - t)
    return bool(np.all(np.abs(alpha.real) > 1e-3 * max(1.0, float(np.abs(A).max()))))


GEQRF = Spec(
    name="geqrf",
    formula="A ← R (on and above the diagonal) and V (below it), tau ← τ: A = Q R, Q = H₁⋯H_k, "
    "H_i = I - τ_i v_i v_iᴴ",
    args=(
        Arg("A", "matrix", ("m", "n"), inout=True),
        Arg("tau", "vector", ("k",), out=True),
    ),
    derived=(("k", "m if m < n else n"),),  # min(m, n)
    reference=_geqrf_ref,
    adjoint=(
        "the column-by-column Householder algorithm reversed, column k - 1 first, on a copy W of "
        "the outputs that each step turns back into its inputs:",
        "trailing update C ← Hᴴ C (c = conj τ): W ← (I - c v vᴴ)⁻¹ W = W + c/(1 - c‖v‖²) v vᴴ W; "
        "with w = vᴴ C_old, u = vᴴ C̄: v̄ += -conj(c) C̄ wᴴ - c C_old uᴴ, τ̄ += conj(-⟨w, u⟩), "
        "C̄ ← C̄ - conj(c) v u",
        "larfg (α, x) → (β, τ, v): with α = β(1 - τ), x = -τβ v, γ = α - β, "
        "b = Re β̄ + Re(v̄ᴴv/γ) + Re(conj(τ̄) α)/β²: ᾱ = -vᴴv̄/conj(γ) - τ̄/β + (b/β) α, "
        "x̄ = v̄/conj(γ) + (b/β) x (τ = 0: the identity)",
        "τ̄ ← 0 (tau's old value is not read)",
    ),
    saves="the outputs A and tau, by reference (copied only if a later call overwrites them)",
    column_major=True,
    domain=_geqrf_domain,
    defaults={"tau": None},
    doc="""A ← R and the Householder vectors, tau ← their factors: A = Q R, in place; returns (A, tau).

A (m × n) is overwritten by R on and above its diagonal and by the Householder vectors below
it: Q = H₁ H₂ ⋯ H_k with k = min(m, n), H_i = I - τ_i v_i v_iᴴ, v_i zero above row i, 1 at row
i (not stored) and A[i+1:, i] below. tau (length k; None allocates it) receives τ. For complex
A, R's diagonal is real and τ complex (LAPACK's zgeqrf). Hand A and tau to orgqr (ungqr) for Q
or to ormqr (unmqr) for products with it. The adjoint is exact for all of these outputs, the
Householder vectors and tau included: it reverses the column-by-column algorithm (O(m n²), as
the forward).""",
)

ROUTINES: tuple[Spec, ...] = (GEQRF,)
