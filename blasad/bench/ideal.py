"""The ideal: the adjoints written by hand as direct CBLAS calls into preallocated buffers,
pointers computed once, through blasad's own cffi extension (the raw prototypes of
csrc/cblas_cdef.h) on the very OpenBLAS that blasad links to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from blasad._native_loader import ffi, lib
from blasad.bench.problems import AXPY_ALPHA, OpProblem

ROW_MAJOR, NO_TRANS, TRANS = lib.CblasRowMajor, lib.CblasNoTrans, lib.CblasTrans


def cblas(name: str, dtype: Any) -> Any:
    """The CBLAS routine `name` (gemm, gemv, ger, axpy, copy) for dtype, from blasad's own cffi
    extension (csrc/cblas_cdef.h): a direct call into the OpenBLAS that blasad links to."""
    return getattr(lib, f"scipy_cblas_{'s' if np.dtype(dtype) == np.float32 else 'd'}{name}64_")


def ptr(a: np.ndarray) -> Any:
    """A typed pointer to the C-contiguous array a, which it keeps alive."""
    return ffi.from_buffer("float[]" if a.dtype == np.float32 else "double[]", a)


def ideal_calls(p: OpProblem) -> tuple[Callable[[], None], Callable[[], None]]:
    """(forward, backward) written by hand: CBLAS into preallocated buffers, row-major, pointers
    computed once. The adjoints live in p.shadows, blasad's own; the backward reads the
    output's adjoint there, which p.reseed (untimed, before each repetition) refills."""
    n = p.n
    if p.op == "gemm":
        gemm = cblas("gemm", p.dtype)
        pA, pB, pC, pdA, pdB, pdC = map(ptr, p.arrays + p.shadows)

        def gemm_fwd() -> None:  # C = A B
            gemm(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, 1.0, pA, n, pB, n, 0.0, pC, n)

        def gemm_bwd() -> None:  # dA = dC Bᵀ ; dB = Aᵀ dC
            gemm(ROW_MAJOR, NO_TRANS, TRANS, n, n, n, 1.0, pdC, n, pB, n, 0.0, pdA, n)
            gemm(ROW_MAJOR, TRANS, NO_TRANS, n, n, n, 1.0, pA, n, pdC, n, 0.0, pdB, n)

        return gemm_fwd, gemm_bwd
    if p.op == "gemv":
        gemv, ger = cblas("gemv", p.dtype), cblas("ger", p.dtype)
        pA, px, py, pdA, pdx, pdy = map(ptr, p.arrays + p.shadows)

        def gemv_fwd() -> None:  # y = A x
            gemv(ROW_MAJOR, NO_TRANS, n, n, 1.0, pA, n, px, 1, 0.0, py, 1)

        def gemv_bwd() -> None:  # dA += dy xᵀ ; dx = Aᵀ dy
            ger(ROW_MAJOR, n, n, 1.0, pdy, 1, px, 1, pdA, n)
            gemv(ROW_MAJOR, TRANS, n, n, 1.0, pA, n, pdy, 1, 0.0, pdx, 1)

        return gemv_fwd, gemv_bwd
    axpy = cblas("axpy", p.dtype)
    N = p.arrays[0].size
    px, py, pdx, pdy = map(ptr, p.arrays + p.shadows)

    def axpy_fwd() -> None:  # y += α x
        axpy(N, AXPY_ALPHA, px, 1, py, 1)

    def axpy_bwd() -> None:  # dx += α dy ; dy unchanged
        axpy(N, AXPY_ALPHA, pdy, 1, pdx, 1)

    return axpy_fwd, axpy_bwd


def ideal_chain_gemm(
    W: np.ndarray, X0: np.ndarray, seed: np.ndarray, steps: int
) -> tuple[Callable[[], None], Callable[[], None]]:
    """The 4 × 4 chain by hand: forward keeps every X in a preallocated history, backward
    runs dW += G Xᵢᵀ, G ← Wᵀ G (ping-pong) from the newest step down."""
    gemm, copy = cblas("gemm", np.float64), cblas("copy", np.float64)
    H = np.zeros((steps + 1, 4, 4))
    G = np.zeros((2, 4, 4))
    dW = np.zeros((4, 4))
    hp = [ptr(H[i]) for i in range(steps + 1)]
    gp = [ptr(G[0]), ptr(G[1])]
    pW, pdW, pX0, pseed = ptr(W), ptr(dW), ptr(X0), ptr(seed)
    RM, N, T = ROW_MAJOR, NO_TRANS, TRANS

    def fwd() -> None:
        copy(16, pX0, 1, hp[0], 1)
        for i in range(steps):  # Xᵢ₊₁ = W Xᵢ
            gemm(RM, N, N, 4, 4, 4, 1.0, pW, 4, hp[i], 4, 0.0, hp[i + 1], 4)

    def bwd() -> None:
        copy(16, pseed, 1, gp[0], 1)
        cur = 0
        for i in range(steps - 1, -1, -1):
            g, g2 = gp[cur], gp[1 - cur]
            gemm(RM, N, T, 4, 4, 4, 1.0, g, 4, hp[i], 4, 1.0, pdW, 4)  # dW += G Xᵢᵀ
            gemm(RM, T, N, 4, 4, 4, 1.0, pW, 4, g, 4, 0.0, g2, 4)  # G ← Wᵀ G
            cur = 1 - cur

    return fwd, bwd


def ideal_chain_gemv_axpy(
    A: np.ndarray, x0: np.ndarray, seed: np.ndarray, a: float, steps: int
) -> tuple[Callable[[], None], Callable[[], None]]:
    """The gemv + axpy chain by hand: xᵢ₊₁ = xᵢ + a A xᵢ with a history of every x; backward
    dA += a g xᵢᵀ, g += a Aᵀ g (through a temporary)."""
    gemv, ger, axpy, copy = (cblas(name, np.float64) for name in ("gemv", "ger", "axpy", "copy"))
    H = np.zeros((steps + 1, 8))
    y, g, t, dA = np.zeros(8), np.zeros(8), np.zeros(8), np.zeros((8, 8))
    hp = [ptr(H[i]) for i in range(steps + 1)]
    pA, py, pg, pt, pdA, px0, pseed = (ptr(v) for v in (A, y, g, t, dA, x0, seed))
    RM, N, T = ROW_MAJOR, NO_TRANS, TRANS

    def fwd() -> None:
        copy(8, px0, 1, hp[0], 1)
        for i in range(steps):
            gemv(RM, N, 8, 8, 1.0, pA, 8, hp[i], 1, 0.0, py, 1)  # y = A xᵢ
            copy(8, hp[i], 1, hp[i + 1], 1)  # xᵢ₊₁ = xᵢ ...
            axpy(8, a, py, 1, hp[i + 1], 1)  # ... + a y

    def bwd() -> None:
        copy(8, pseed, 1, pg, 1)
        for i in range(steps - 1, -1, -1):
            ger(RM, 8, 8, a, pg, 1, hp[i], 1, pdA, 8)  # dA += a g xᵢᵀ
            gemv(RM, T, 8, 8, a, pA, 8, pg, 1, 0.0, pt, 1)  # t = a Aᵀ g
            axpy(8, 1.0, pt, 1, pg, 1)  # g += t

    return fwd, bwd
