"""LAPACK: QR factorization, its Q, products with Q, and least squares.

Q = H₁ H₂ ⋯ H_k is held as LAPACK holds it: Householder reflectors H_i = I - τ_i v_i v_iᴴ, v_i
with zeros above row i, 1 at row i (implicit) and the rest stored below A's diagonal in column
i, and tau. The adjoints are exact for these raw outputs (any τ and v, not only orthogonal
reflectors). References are NumPy's, column by column as LAPACK's unblocked code does it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad.specs.core import SIDE, Arg, Spec
from blasad.specs.lapack_eig import make_svd

_BLOCK_ADJOINT = (
    "blocks of 32 reflectors (compact WY): H_i ⋯ H_{i+b-1} = I - V T Vᴴ, V (unit lower trapezoidal), "
    "G = Vᴴ V, D = diag τ, T = (I + D U)⁻¹ D with U = striu(G) (larft's T: T⁻¹ = D⁻¹ + U)",
    "block step M_new = (I - V C Vᴴ) M_old (C = T or Tᴴ) undone by Woodbury: M_old = M_new + V S Vᴴ M_new, "
    "S = (I - C G)⁻¹ C (right: M_new + M_new V S Vᴴ)",
    "left, X = Vᴴ M_old, Y = C X, U = Vᴴ M̄: V̄ += -M̄ Yᴴ - M_old Uᴴ C, C̄ = -U Xᴴ, M̄ ← M̄ - V Cᴴ U",
    "right, P = M_old V, P̄ = M̄ V: V̄ += -M̄ᴴ P C - M_oldᴴ P̄ Cᴴ, C̄ = -Pᴴ P̄, M̄ ← M̄ - P̄ Cᴴ Vᴴ",
    "T̄ = triu(C̄ or C̄ᴴ), K = I + D U, Z = K⁻ᴴ T̄: τ̄_i += Σ_j Z_ij conj((I - U T)_ij), "
    "Ū = striu(-conj(D) Z Tᴴ), V̄ += V (Ū + Ūᴴ); V̄ lands on the stored entries only",
)


def _larfg(alpha: Any, x: np.ndarray) -> tuple[Any, Any, np.ndarray]:
    """LAPACK's larfg: (β, τ, v) with Hᴴ [α; x] = [β; 0] for H = I - τ [1; v] [1; v]ᴴ, β real:
    β = -sign(Re α) ‖(α, x)‖, τ = (β - α)/β, v = x/(α - β); τ = 0 (H = I) when x = 0 and α is
    real."""
    xnorm = float(np.linalg.norm(x)) if x.size else 0.0
    if xnorm == 0 and np.imag(alpha) == 0:
        return alpha, 0 * alpha, x
    beta = -np.copysign(np.hypot(abs(alpha), xnorm), np.real(alpha))
    return beta, (beta - alpha) / beta, x / (alpha - beta)


def _geqrf_ref(A: np.ndarray, tau: np.ndarray) -> Any:  # (A, tau)
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
        "the Householder algorithm reversed on a copy W of the outputs that each step turns back into "
        "its inputs, panels of 32 columns, the last first: the panel's trailing update C ← (I - V Tᴴ Vᴴ) C "
        "as a block step (below), then the panel's columns one at a time, column k - 1 first:",
        "trailing update C ← Hᴴ C (c = conj τ): W ← (I - c v vᴴ)⁻¹ W = W + c/(1 - c‖v‖²) v vᴴ W; "
        "with w = vᴴ C_old, u = vᴴ C̄: v̄ += -conj(c) C̄ wᴴ - c C_old uᴴ, τ̄ += conj(-⟨w, u⟩), "
        "C̄ ← C̄ - conj(c) v u",
        "larfg (α, x) → (β, τ, v): with α = β(1 - τ), x = -τβ v, γ = α - β, "
        "b = Re β̄ + Re(v̄ᴴv/γ) + Re(conj(τ̄) α)/β²: ᾱ = -vᴴv̄/conj(γ) - τ̄/β + (b/β) α, "
        "x̄ = v̄/conj(γ) + (b/β) x (τ = 0: the identity)",
        "τ̄ ← 0 (tau's old value is not read)",
        *_BLOCK_ADJOINT,
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
Householder vectors and tau included: it reverses the algorithm in blocks of 32 reflectors
(O(m n²), about three times the forward's FLOPs, nearly all in gemm).""",
)


def _q(A: np.ndarray, tau: np.ndarray, mq: int) -> np.ndarray:
    """Q = H₁⋯H_k (mq × mq) from the k reflectors in A's first k columns (below the diagonal)."""
    Q = np.eye(mq, dtype=np.result_type(A, tau, np.float32))
    for i in range(tau.shape[0]):
        v = np.zeros(mq, Q.dtype)
        v[i], v[i + 1 :] = 1, A[i + 1 : mq, i]
        Q -= tau[i] * np.outer(Q @ v, v.conj())  # Q ← Q H_i
    return Q


def _orgqr_ref(A: np.ndarray, tau: np.ndarray) -> np.ndarray:
    return _q(A, tau, A.shape[0])[:, : A.shape[1]]


def _orgqr_sizes(dims: dict[str, int]) -> None:
    dims["n"] = min(dims["n"], dims["m"])
    dims["k"] = min(dims["k"], dims["n"])


def _orgqr_prepare(name: str) -> Any:
    def prepare(args: dict[str, Any]) -> None:
        A, tau = args["A"], args["tau"]
        if isinstance(A, np.ndarray) and isinstance(tau, np.ndarray) and A.ndim == 2 and tau.ndim == 1:
            (m, n), k = A.shape, tau.shape[0]
            if not m >= n >= k:
                raise ValueError(
                    f"{name}: A has shape {A.shape} and tau length {k}; {name} needs m >= n >= k "
                    "(A m × n holding k reflectors)"
                )

    return prepare


def _org_spec(name: str, dtypes: str, other: str) -> Spec:
    kind, others = ("real", "complex") if dtypes == "sd" else ("complex", "real")
    return Spec(
        name=name,
        formula="A ← Q[:, :n], Q = H₁⋯H_k, H_i = I - τ_i v_i v_iᴴ (v_i below A's diagonal in column i)",
        args=(Arg("A", "matrix", ("m", "n"), inout=True), Arg("tau", "vector", ("k",))),
        reference=_orgqr_ref,
        adjoint=(
            "Q = H₁(H₂⋯H_k E), E = [I; 0]: the reflectors peeled from the left in blocks of 32, the "
            "first first, each a block step from the left (C = T, rows and columns ≥ i0) on a copy W of "
            "Q turned back block by block, with Q̄ in place:",
            *_BLOCK_ADJOINT,
            "Ā ← v̄_i below the diagonal of column i (i < k); 0 on and above it and in the columns ≥ k "
            "(not read)",
        ),
        saves="Q by reference; the reflectors (A's first k columns, which the call overwrites) as a copy",
        dtypes=dtypes,
        other=other,
        column_major=True,
        prepare=_orgqr_prepare(name),
        sizes=_orgqr_sizes,
        doc=f"""A ← the first n columns of Q = H₁⋯H_k from the reflectors of geqrf, in place; returns A.

A (m × n, m ≥ n ≥ k) holds k Householder reflectors as geqrf leaves them (v_i below the
diagonal of column i, with an implicit 1 on it; the rest of A is not read), tau (length k)
their factors: H_i = I - τ_i v_i v_iᴴ. A is overwritten by Q's first n columns. The adjoint
reaches the reflectors and tau (exact for any values, not only geqrf's). {name} takes {kind}
arrays; {other} the {others} ones.""",
    )


ORGQR = _org_spec("orgqr", "sd", "ungqr")
UNGQR = _org_spec("ungqr", "cz", "orgqr")


def _ormqr_ref(A: np.ndarray, tau: np.ndarray, C: np.ndarray, side: str, trans: str) -> np.ndarray:
    Q = _q(A, tau, A.shape[0])
    op = Q if trans == "N" else Q.conj().T
    return op @ C if side == "L" else C @ op


def _ormqr_sizes(dims: dict[str, int]) -> None:
    dims["k"] = min(dims["k"], dims["mq"])


def _ormqr_prepare(name: str) -> Any:
    def prepare(args: dict[str, Any]) -> None:
        A = args["A"]
        if isinstance(A, np.ndarray) and A.ndim == 2 and A.shape[1] > A.shape[0]:
            raise ValueError(
                f"{name}: A has shape {A.shape}: k = {A.shape[1]} reflectors need k <= mq rows "
                "(mq = C's rows for side 'L', its columns for side 'R')"
            )

    return prepare


def _orm_spec(name: str, dtypes: str, other: str) -> Spec:
    t = "T" if dtypes == "sd" else "C"
    kind, others = ("real", "complex") if dtypes == "sd" else ("complex", "real")
    return Spec(
        name=name,
        formula="C ← op(Q) C (side L) or C op(Q) (side R), Q = H₁⋯H_k from geqrf's reflectors",
        args=(
            Arg("A", "matrix", ("mq", "k")),
            Arg("tau", "vector", ("k",)),
            Arg("C", "matrix", ("m", "n"), inout=True),
            Arg("side", "flag", choices=SIDE),
            Arg("trans", "flag", choices=("N", t)),
        ),
        derived=(("mq", "m if side == 'L' else n"),),
        reference=_ormqr_ref,
        adjoint=(
            "the reflectors peeled in blocks of 32 in reverse order of application (side L, N: the "
            f"first block first; L, {t}: the last first; R, N: the last first; R, {t}: the first "
            "first), on a copy W of the new C turned back block by block, C = T (N) or Tᴴ:",
            *_BLOCK_ADJOINT,
            "Ā[i+1:, i] += v̄_i, τ̄_i accumulated; in all C̄ ← op(Q)ᴴ C̄",
        ),
        saves="A, tau and the new C, by reference (copied only if a later call overwrites them)",
        dtypes=dtypes,
        other=other,
        column_major=True,
        prepare=_ormqr_prepare(name),
        sizes=_ormqr_sizes,
        defaults={"side": "L", "trans": "N"},
        doc=f"""C ← op(Q) C (side "L") or C op(Q) (side "R"), Q = H₁⋯H_k from geqrf, in place; returns C.

A (mq × k, mq = C's rows for side "L" and its columns for side "R", k ≤ mq) holds k
Householder reflectors as geqrf leaves them (v_i below the diagonal of column i, with an
implicit 1 on it; the rest of A is not read), tau (length k) their factors:
H_i = I - τ_i v_i v_iᴴ, Q = H₁⋯H_k (mq × mq, never formed). op(Q) is Q (trans "N") or
{"Qᵀ" if t == "T" else "Qᴴ"} (trans "{t}"). The adjoint reaches C, the reflectors and tau (exact for any
values, not only geqrf's). {name} takes {kind} arrays; {other} the {others} ones.""",
    )


ORMQR = _orm_spec("ormqr", "sd", "unmqr")
UNMQR = _orm_spec("unmqr", "cz", "ormqr")


def _gels_ref(A: np.ndarray, B: np.ndarray, trans: str) -> Any:  # (A, B)
    """LAPACK's steps: m ≥ n on A = Q R, m < n on Aᴴ = Q R (gelqf stores that QR conjugate-
    transposed, with the same tau), where the problem is the one of the other op."""
    m, n = A.shape
    lq, k = m < n, min(m, n)
    B = np.array(B, dtype=np.result_type(A, B, np.float32))
    if k == 0 or B.shape[1] == 0:  # LAPACK: B ← 0, A untouched
        return np.array(A), np.zeros_like(B)
    W, tau = _geqrf_ref(A.conj().T if lq else A, np.zeros(k))
    A_new = W.conj().T if lq else W
    Q, R = _q(W, tau, max(m, n)), np.triu(W[:k])
    if (trans == "N") != lq:  # least squares: [R⁻¹ (Qᴴ B)_top; (Qᴴ B)_bot]
        Y = Q.conj().T @ B
        Y[:k] = np.linalg.solve(R, Y[:k])
        return A_new, Y
    Z = np.zeros_like(B)  # minimum norm: Q [R⁻ᴴ B_top; 0]
    Z[:k] = np.linalg.solve(R.conj().T, B[:k])
    return A_new, Q @ Z


def _gels_domain(A: np.ndarray, B: np.ndarray, trans: str) -> bool:
    return _geqrf_domain(A.conj().T if A.shape[0] < A.shape[1] else A, np.zeros(0))


GELS = Spec(
    name="gels",
    formula="B ← X solving op(A) X = B (least squares when overdetermined, minimum norm when "
    "underdetermined), A ← its QR (m ≥ n) or LQ (m < n) factors",
    args=(
        Arg("A", "matrix", ("m", "n"), inout=True),
        Arg("B", "matrix", ("mb", "nrhs"), inout=True),
        Arg("trans", "flag", choices=("N", "T", "C"), choices_complex=("N", "C")),
    ),
    derived=(("mb", "m if m > n else n"),),  # max(m, n)
    reference=_gels_ref,
    adjoint=(
        "in QR form W (A's factors for m ≥ n; their conjugate transpose for m < n, the problem of "
        "Aᴴ with the other op), R = triu(W), Q = H₁⋯H_k:",
        "least squares, Y = Qᴴ B, X = R⁻¹ Y_top: Ȳ_top = R⁻ᴴ X̄, R̄ -= Ȳ_top Xᴴ (its triangle), "
        "Y_top = R X, then ormqr's adjoint (side L, op C): B̄ ← Q Ȳ, V̄ and τ̄",
        "minimum norm, B_new = Q [Z; 0], Z = R⁻ᴴ B_top: ormqr's adjoint (side L, op N): Z and "
        "B̄ ← Qᴴ B̄, V̄ and τ̄; B̄_bot ← 0; b̄ = R⁻¹ Z̄ into B̄_top, R̄ -= Z b̄ᴴ",
        "then geqrf's adjoint (τ̄ an internal scratch vector: tau is the record's); Ā ← W̄ (m < n: W̄ᴴ)",
    ),
    saves="the new A and B by reference, and tau (internal, kept by the record)",
    column_major=True,
    failure="the triangular factor of A has a zero diagonal element at {index} (0-based): A does not "
    "have full rank",
    domain=_gels_domain,
    defaults={"trans": "N"},
    doc="""B ← X, the least-squares or minimum-norm solution of op(A) X = B, A ← its factors; returns (A, B).

A (m × n) has full rank; B has max(m, n) rows and nrhs columns. trans "N": A X = B, solved in
least squares for m ≥ n (B[:n] ← X, B[n:] holds Qᴴ B's rest, whose squared norms are the
residuals) and with minimum norm for m < n (B[:n] ← X). trans "T" (real) or "C": Aᴴ X = B,
minimum norm for m ≥ n (B[:m] ← X), least squares for m < n (B[:m] ← X, the rest as above).
A is overwritten by its QR (m ≥ n) or LQ (m < n) factors as LAPACK's geqrf or gelqf leaves
them; all in place, as LAPACK's gels. The adjoint is exact for
all of these raw outputs. Raises numpy.linalg.LinAlgError (``.info``) when a diagonal element
of the triangular factor is exactly zero: A then holds the factors and B what LAPACK left,
and a gradient that reaches them raises in backward.""",
)


def _qr_ref(A: np.ndarray, Q: Any, R: Any) -> Any:  # (Q, R)
    m, n = A.shape
    k = min(m, n)
    W, tau = _geqrf_ref(A, np.zeros(k, A.dtype))
    return _q(W, tau, m)[:, :k].astype(A.dtype), np.triu(W[:k]).astype(A.dtype)


QR = Spec(
    name="qr",
    formula="Q, R ← the thin QR A = Q R (Q m × k with orthonormal columns, R k × n upper trapezoidal, "
    "k = min(m, n))",
    args=(
        Arg("A", "matrix", ("m", "n")),
        Arg("Q", "matrix", ("m", "k"), out=True),
        Arg("R", "matrix", ("k", "n"), out=True),
    ),
    derived=(("k", "m if m < n else n"),),  # min(m, n)
    reference=_qr_ref,
    adjoint=(
        "R = [R₁ R₂] (R₁ k × k; R₂ only when m < n), P = R₂ R̄₂ᴴ (0 when m ≥ n), "
        "M = triu(R̄₁) R₁ᴴ - Qᴴ Q̄ - P (trmm; gemmt: M's upper triangle only)",
        "K = herm(M) + P, herm(M) the Hermitian matrix of M's upper triangle with a real diagonal",
        "Ā[:, :k] += (Q̄ + Q K) R₁⁻ᴴ (gemm; trsm, real: trtri and trmm), Ā[:, k:] += Q R̄₂ (gemm)",
        "Q̄, R̄ ← 0 (outputs whose old values were not read); R̄'s strictly lower part is not read",
    ),
    saves="Q and R, by reference (copied only if a later call overwrites them)",
    column_major=True,
    domain=lambda A, Q, R: _geqrf_domain(A, np.zeros(0, A.dtype)),
    conditioned=make_svd,  # (full rank: singular values of at least 0.8)
    defaults={"Q": None, "R": None},
    doc="""Q, R ← the thin QR factorization A = Q R; returns (Q, R).

A (m × n) is only read. Q (m × k, k = min(m, n)) gets orthonormal columns and R (k × n) the
upper trapezoidal factor (zeros below its diagonal; real diagonal for complex A): the values of
geqrf followed by orgqr (ungqr), bit for bit, so R's diagonal may be negative. Outputs left None
are allocated. blasad.linalg.qr's economic mode (and its full mode when m ≤ n) is this call.

The adjoint is the rule on Q and R alone (PyTorch's and JAX's), not the reflectors' of geqrf
and orgqr: about 1.9 × the forward's FLOPs for a square A against 3 × for differentiating the
two LAPACK calls (m ≥ n: 4mn² + n³, nearly all in gemm, trmm and gemmt). It is exact where A
has full rank k (R₁ = R[:, :k] invertible) and away from the sign switches of geqrf's
reflectors (Re α = 0), where Q and R jump.""",
)

ROUTINES: tuple[Spec, ...] = (GEQRF, ORGQR, UNGQR, ORMQR, UNMQR, GELS, QR)
