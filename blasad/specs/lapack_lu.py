"""LAPACK: LU factorization with partial pivoting, its solves and inverse, row interchanges.

P A = L U with L unit lower triangular (trapezoidal for m > n), U upper (trapezoidal for
m < n), both over A; ipiv holds the row interchanges, 0-based as SciPy's lu_factor gives them:
row i was swapped with row ipiv[i], for i = 0, 1, ... in order. The pivots are piecewise
constant (never differentiated); the factors' adjoints live where the factors are stored (L's
strictly lower part, no adjoint on its unit diagonal; U's upper part). References are NumPy's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad.specs.core import TRANS, Arg, Spec, op

SINGULAR = "U[{index}, {index}] is exactly zero: the matrix is singular"


def _cabs1(x: np.ndarray) -> np.ndarray:
    """|Re x| + |Im x|: the magnitude LAPACK's pivot search (i?amax) compares."""
    return np.abs(x.real) + np.abs(x.imag)


def _lu(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """getrf in NumPy, column by column: (LU, ipiv, margins), the margin of each pivot choice being
    (largest - second largest candidate) / largest (1 when there is one candidate)."""
    m, n = A.shape
    LU = np.array(A, dtype=A.dtype)
    ipiv = np.zeros(min(m, n), np.int64)
    margins = []
    for j in range(min(m, n)):
        mag = _cabs1(LU[j:, j])
        p = j + int(np.argmax(mag))
        top = np.sort(mag)[::-1]
        margins.append(1.0 if top.size < 2 or top[0] == 0 else float((top[0] - top[1]) / top[0]))
        ipiv[j] = p
        LU[[j, p]] = LU[[p, j]]
        if LU[j, j] != 0:
            LU[j + 1 :, j] /= LU[j, j]
        LU[j + 1 :, j + 1 :] -= np.outer(LU[j + 1 :, j], LU[j, j + 1 :])
    return LU, ipiv, margins


def swapped(X: np.ndarray, ipiv: np.ndarray, reverse: bool = False) -> np.ndarray:
    """X with rows i and ipiv[i] interchanged for each i in order (reverse: in reverse order)."""
    X = np.array(X)
    for i in reversed(range(len(ipiv))) if reverse else range(len(ipiv)):
        p = int(ipiv[i])
        X[[i, p]] = X[[p, i]]
    return X


def factored(LU: np.ndarray, ipiv: np.ndarray) -> np.ndarray:
    """Pᵀ L U: the square matrix whose getrf factors and pivots LU and ipiv are."""
    n = LU.shape[0]
    L = np.tril(LU, -1) + np.eye(n, dtype=LU.dtype)
    return swapped(L @ np.triu(LU), ipiv, reverse=True)


def _getrf_ref(A: np.ndarray, ipiv: np.ndarray) -> Any:  # (LU, ipiv)
    LU, piv, _ = _lu(A)
    return LU, piv


def _getrs_ref(A: np.ndarray, ipiv: np.ndarray, B: np.ndarray, trans: str) -> np.ndarray:
    if B.size == 0:
        return np.array(B)
    return np.linalg.solve(op(factored(A, ipiv), trans), B).astype(B.dtype)


def _gesv_ref(A: np.ndarray, B: np.ndarray, ipiv: np.ndarray) -> Any:  # (LU, X, ipiv)
    LU, piv, _ = _lu(A)
    X = np.linalg.solve(A, B).astype(B.dtype) if B.size else np.array(B)
    return LU, X, piv


def _getri_ref(A: np.ndarray, ipiv: np.ndarray) -> np.ndarray:
    return np.linalg.inv(factored(A, ipiv)).astype(A.dtype) if A.size else np.array(A)


def _laswp_ref(A: np.ndarray, ipiv: np.ndarray, trans: str) -> np.ndarray:
    return swapped(A, ipiv, reverse=trans == "T")


def pivots_clear(A: np.ndarray, *rest: Any) -> bool:
    """For the tests: partial pivoting on A chooses each pivot by a clear margin and no pivot is
    small, so finite differences and lower precisions choose the same pivots."""
    if A.size == 0:
        return True
    LU, _, margins = _lu(np.asarray(A, np.complex128 if A.dtype.kind == "c" else np.float64))
    k = min(A.shape)
    return min(margins, default=1.0) > 0.05 and float(np.min(np.abs(np.diagonal(LU)[:k]))) > 0.1


def lu_factors(args: dict[str, Any], rng: Any) -> None:
    """The harness's A made a well-conditioned pair of getrf factors: L's strictly lower part
    halved, U's diagonal moved away from 0 by n + 1."""
    A = args["A"]
    n = A.shape[0]
    d = np.diagonal(A).copy()
    A[...] = np.tril(A, -1) / 2 + np.triu(A)
    A[np.diag_indices(n)] = d + np.where(d.real < 0, -1, 1) * (n + 1)


GETRF = Spec(
    name="getrf",
    formula="A ← L, U with P A = L U (partial pivoting), ipiv ← P's row interchanges",
    args=(
        Arg("A", "matrix", ("m", "n"), inout=True),
        Arg("ipiv", "pivots", ("k",), out=True, bound="m"),
    ),
    derived=(("k", "m if m < n else n"),),
    reference=_getrf_ref,
    adjoint=(
        "L̄ = the strictly lower part of Ā (no unit diagonal), Ū = its upper part; P A = L U",
        "square: Ā ← Pᵀ L⁻ᴴ (tril₋₁(Lᴴ L̄) + triu(Ū Uᴴ)) U⁻ᴴ (trmm, trsm)",
        "m > n, L = [L1; L2]: M = tril₋₁(L1ᴴ L̄1) + triu(Ū Uᴴ - L2ᴴ L̄2), Ā ← Pᵀ [L1⁻ᴴ M; L̄2] U⁻ᴴ",
        "m < n, U = [U1 U2]: M = tril₋₁(Lᴴ L̄ - Ū2 U2ᴴ) + triu(Ū1 U1ᴴ), Ā ← Pᵀ L⁻ᴴ [M U1⁻ᴴ, Ū2]",
        "the pivots are piecewise constant: no adjoint",
    ),
    saves="the factors, by reference (copied only if a later call overwrites them); the pivots, a copy",
    failure=SINGULAR,
    column_major=True,
    domain=pivots_clear,
    defaults={"ipiv": None},
    doc="""A ← L, U with P A = L U, ipiv ← P's row interchanges: LU with partial pivoting, in place;
returns (A, ipiv).

A is m × n; L (unit lower triangular, its unit diagonal not stored) and U (upper) overwrite A.
ipiv (int64, length min(m, n); None allocates it) gets 0-based row indices as
scipy.linalg.lu_factor returns them: row i was interchanged with row ipiv[i], i = 0, 1, ...
The pivots are piecewise constant in A: the gradient treats them as constants. Raises
numpy.linalg.LinAlgError (``.info`` = i + 1) when U[i, i] is exactly zero: LAPACK completed the
factorization, A and ipiv hold it, and a gradient that reaches A raises in backward.""",
)

GETRS = Spec(
    name="getrs",
    formula="B ← op(Pᵀ L U)⁻¹ B, A holding getrf's L and U and ipiv its pivots",
    args=(
        Arg("A", "matrix", ("n", "n")),
        Arg("ipiv", "pivots", ("n",), bound="n"),
        Arg("B", "matrix", ("n", "nrhs"), inout=True),
        Arg("trans", "flag", choices=TRANS),
    ),
    reference=_getrs_ref,
    adjoint=(
        "N: X = U⁻¹ Y, Y = L⁻¹ P B: Ȳ = U⁻ᴴ X̄, Ū -= triu(Ȳ Xᴴ); Z̄ = L⁻ᴴ Ȳ, L̄ -= tril₋₁(Z̄ Yᴴ) (Y = U X)",
        "N: B̄ ← Pᵀ Z̄",
        "C: X = Pᵀ V, V = L⁻ᴴ W, W = U⁻ᴴ B: W̄ = L⁻¹ P X̄, L̄ -= tril₋₁(V W̄ᴴ) (V = P X); B̄ ← U⁻¹ W̄",
        "C: Ū -= triu(W B̄ᴴ) (W = Lᴴ V)",
        "T: the C rule on conjugates (conj(X̄) in, conj(B̄) out, V = conj(P X))",
        "the factor adjoints are gemm products of n × nrhs matrices onto a triangle: O(n² nrhs)",
    ),
    saves="A by reference; the solution X by reference if A is active (copied only if overwritten "
    "later); the pivots, a copy",
    column_major=True,
    conditioned=lu_factors,
    defaults={"trans": "N"},
    doc="""B ← op(Pᵀ L U)⁻¹ B: solves with getrf's factors A and pivots ipiv, in place; returns B.

A (n × n) holds L (strictly lower part; unit diagonal) and U (upper part) of P M = L U, ipiv
getrf's 0-based pivots (any integer dtype; read only); trans N solves M X = B, T Mᵀ X = B,
C Mᴴ X = B. The adjoint reaches A's strictly lower part (L) and upper part (U), not the pivots.""",
)

GESV = Spec(
    name="gesv",
    formula="A ← L, U with P A = L U, B ← A⁻¹ B, ipiv ← P's row interchanges",
    args=(
        Arg("A", "matrix", ("n", "n"), inout=True),
        Arg("B", "matrix", ("n", "nrhs"), inout=True),
        Arg("ipiv", "pivots", ("n",), out=True, bound="n"),
    ),
    reference=_gesv_ref,
    adjoint=("getrs's rule, then getrf's: the call is recorded as getrf(A, ipiv) then getrs(A, ipiv, B)",),
    saves="as getrf and getrs",
    failure=SINGULAR,
    column_major=True,
    domain=pivots_clear,
    defaults={"ipiv": None},
    doc="""A ← L, U with P A = L U, B ← A⁻¹ B, ipiv ← P's row interchanges: solves A X = B by LU
with partial pivoting, in place; returns (A, B, ipiv).

Exactly getrf(A, ipiv) then getrs(A, ipiv, B) (and recorded as those two calls). ipiv comes last
(None allocates it), unlike LAPACK's argument order, so that it can be left out. Raises
numpy.linalg.LinAlgError (``.info`` = i + 1) when U[i, i] is exactly zero: A and ipiv then hold
the factorization, B is not written, and a gradient that reaches A raises in backward.""",
)

GETRI = Spec(
    name="getri",
    formula="A ← (Pᵀ L U)⁻¹, A holding getrf's L and U and ipiv its pivots",
    args=(
        Arg("A", "matrix", ("n", "n"), inout=True),
        Arg("ipiv", "pivots", ("n",), bound="n"),
    ),
    reference=_getri_ref,
    adjoint=(
        "X = Y P, Y = U⁻¹ L⁻¹: Ȳ = X̄ Pᵀ (column interchanges), Q = U⁻ᴴ Ȳ L⁻ᴴ (two trsm)",
        "Ū = -triu(Q U⁻ᴴ), L̄ = -tril₋₁(L⁻ᴴ Q) (two trsm); Ā ← L̄ + Ū",
    ),
    saves="the factors, a copy taken before the call overwrites them; the pivots, a copy",
    failure=SINGULAR,
    column_major=True,
    conditioned=lu_factors,
    doc="""A ← (Pᵀ L U)⁻¹: the inverse from getrf's factors A and pivots ipiv, in place; returns A.

The adjoint reaches the factors: A's strictly lower part (L) and upper part (U). Raises
numpy.linalg.LinAlgError (``.info`` = i + 1) when U[i, i] is exactly zero: A is then not
written, and a gradient that reaches it raises in backward.""",
)

LASWP = Spec(
    name="laswp",
    formula="A ← op(P) A: rows i and ipiv[i] interchanged for each i, in order (trans N) or in reverse (T)",
    args=(
        Arg("A", "matrix", ("m", "n"), inout=True),
        Arg("ipiv", "pivots", ("k",), bound="m"),
        Arg("trans", "flag", choices=("N", "T")),
    ),
    reference=_laswp_ref,
    adjoint=("Ā ← op(P)ᵀ Ā: the same interchanges in the other order",),
    saves="the pivots, a copy",
    column_major=True,
    defaults={"trans": "N"},
    doc="""A ← op(P) A: rows i and ipiv[i] of A interchanged for i = 0, 1, ..., k - 1 (trans "N": P A)
or for i = k - 1, ..., 0 (trans "T": Pᵀ A, which undoes "N"), in place; returns A.

ipiv holds k <= m 0-based row indices: with getrf's pivots, laswp(B, ipiv) is P B and
laswp(B, ipiv, "T") is Pᵀ B. (LAPACK's incx = 1 is trans "N", incx = -1 trans "T".)""",
)

ROUTINES: tuple[Spec, ...] = (GETRF, GETRS, GESV, GETRI, LASWP)
