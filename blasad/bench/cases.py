"""The cases of the report: one gemm, gemv and axpy per size, the chains of tiny dependent
calls, and the memory programs; each measures every framework and returns its rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import blasad as ba
from blasad.bench.frameworks import (
    JAX_JIT_NOTE,
    PEERS,
    Peers,
    autodiff_sample,
    autograd_sample,
    blasad_sample,
    blasad_tape,
    jax_eager_sample,
    jax_jit_sample,
    peer_samples,
    torch_sample,
)
from blasad.bench.ideal import ideal_calls, ideal_chain_gemm, ideal_chain_gemv_axpy
from blasad.bench.problems import CHAIN_STEPS, make_problem
from blasad.bench.report import MemoryResult, Row
from blasad.bench.timing import Config, Sample, measure, measure_each, now, two_phase

# ---------------------------------------------------------------------------------------------
# single calls: gemm, gemv, axpy
# ---------------------------------------------------------------------------------------------


def _row(case: str, fw: str, dtype: Any, n: int, threads: int, m: dict[str, float], **kw: Any) -> Row:
    return Row(case, fw, np.dtype(dtype).name, n, threads, m["forward"], m["backward"], m["total"], **kw)


def case_op(op: str, n: int, dtype: Any, threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """One call of `op` at size n: every framework, forward / reverse / total."""
    p = make_problem(op, n, dtype, np.random.default_rng(n))
    fwd, bwd = ideal_calls(p)
    ours = {"blasad": blasad_sample(p, reverse=bwd), "ideal": two_phase(fwd, bwd, before=p.reseed)}
    m = measure(ours, cfg)  # blasad and the ideal take turns: the targets compare them
    m |= measure_each({"blasad-tape": blasad_tape(p)}, cfg)  # allocates its shadows: alone
    b = m.pop("blasad")
    rows = [_row(op, "blasad", dtype, n, threads, b, plain=b["plain"], fwd_plain=b["fwd/plain"],
                 rev_plain=b["rev/plain"], rev_ideal=b.get("rev/ideal"))]  # fmt: skip
    rows.append(_row(op, "blasad-tape", dtype, n, threads, m["blasad-tape"], plain=b["plain"]))
    rows.append(_row(op, "ideal", dtype, n, threads, m["ideal"], plain=m["ideal"]["forward"]))
    key = f"{op}-{np.dtype(dtype).name}-{n}"
    for name, t in measure_each(peer_samples(peers, threads, key, p.expr, p.inputs, p.seed), cfg).items():
        rows.append(_row(op, name, dtype, n, threads, t, note=JAX_JIT_NOTE if name == "jax-jit" else ""))
    return rows


def case_gemm(n: int, dtype: Any, threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """C ← A B, n × n."""
    return case_op("gemm", n, dtype, threads, cfg, peers)


def case_gemv(n: int, dtype: Any, threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """y ← A x, A n × n."""
    return case_op("gemv", n, dtype, threads, cfg, peers)


def case_axpy(n: int, dtype: Any, threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """y ← α x + y, vectors of length n²."""
    return case_op("axpy", n, dtype, threads, cfg, peers)


# ---------------------------------------------------------------------------------------------
# chains of tiny dependent calls
# ---------------------------------------------------------------------------------------------


def _chain_rows(case: str, n: int, threads: int, cfg: Config, samples: dict[str, Sample]) -> list[Row]:
    ours = {k: v for k, v in samples.items() if k not in PEERS}
    theirs = {k: v for k, v in samples.items() if k in PEERS}
    m = measure(ours, cfg) | measure_each(theirs, cfg)
    return [
        _row(
            case,
            name,
            np.float64,
            n,
            threads,
            t,
            steps=CHAIN_STEPS,
            note=JAX_JIT_NOTE if name == "jax-jit" else "",
        )
        for name, t in m.items()
    ]


def case_chain_gemm(threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """1000 steps of X ← W X on 4 × 4 matrices (ping-pong buffers X0, X1); W and X0 active."""
    rng = np.random.default_rng(4)
    W = (np.linalg.qr(rng.standard_normal((4, 4)))[0]).copy()  # orthogonal: values stay O(1)
    X0, X1 = rng.standard_normal((4, 4)), np.zeros((4, 4))
    seed = rng.standard_normal((4, 4))
    steps = CHAIN_STEPS
    marks = [0.0]

    def f(W: np.ndarray, X0: np.ndarray, X1: np.ndarray) -> None:
        gemm = ba.gemm
        for _ in range(steps // 2):
            gemm(1.0, W, X0, 0.0, X1)
            gemm(1.0, W, X1, 0.0, X0)
        marks[0] = now()

    arrays = [W, X0, X1]
    W0, X00 = W.copy(), X0.copy()  # initial values for the others: blasad's f overwrites X0
    shadows = [np.zeros((4, 4)) for _ in arrays]
    samples = {"blasad": autodiff_sample(f, arrays, shadows, {1: seed}, marks)}  # X0 holds the final X
    samples["ideal"] = two_phase(*ideal_chain_gemm(W0, X00, seed, steps))
    if peers.torch is not None:
        samples["torch"] = torch_sample(peers.torch, _loop(steps, lambda W, X: W @ X), [W0, X00], seed)
    if peers.jax_at(threads) is not None:
        jax = peers.jax

        def scan(W: Any, X: Any) -> Any:
            return jax.lax.fori_loop(0, steps, lambda i, Y: W @ Y, X)

        samples["jax-jit"] = jax_jit_sample(peers, "chain-gemm", scan, [W0, X00], seed)
        samples["jax-eager"] = jax_eager_sample(jax, _loop(steps, lambda W, X: W @ X), [W0, X00], seed)
    if peers.autograd is not None:
        samples["autograd"] = autograd_sample(
            peers.autograd, _loop(steps, lambda W, X: W @ X), [W0, X00], seed
        )
    return _chain_rows("chain-gemm", 4, threads, cfg, samples)


def _loop(steps: int, step: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """The functional chain x ← step(W, x), `steps` times, for the AD peers."""

    def chain(W: Any, X: Any) -> Any:
        for _ in range(steps):
            X = step(W, X)
        return X

    return chain


def case_chain_gemv_axpy(threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """1000 steps of y ← A x; x ← a y + x on 8-vectors; A and x active."""
    rng = np.random.default_rng(8)
    S = rng.standard_normal((8, 8))
    A = 0.5 * (S - S.T) / np.linalg.norm(S)  # antisymmetric and small: I + aA keeps x bounded
    x, y = rng.standard_normal(8), np.zeros(8)
    seed = rng.standard_normal(8)
    a, steps = 0.1, CHAIN_STEPS
    marks = [0.0]

    def f(A: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        gemv, axpy = ba.gemv, ba.axpy
        for _ in range(steps):
            gemv(1.0, A, x, 0.0, y)
            axpy(a, y, x)
        marks[0] = now()

    def step(A: Any, x: Any) -> Any:
        return x + a * (A @ x)

    arrays = [A, x, y]
    A0, x0 = A.copy(), x.copy()  # initial values for the others: blasad's f overwrites x
    shadows = [np.zeros_like(v) for v in arrays]
    samples = {"blasad": autodiff_sample(f, arrays, shadows, {1: seed}, marks)}
    samples["ideal"] = two_phase(*ideal_chain_gemv_axpy(A0, x0, seed, a, steps))
    if peers.torch is not None:
        samples["torch"] = torch_sample(peers.torch, _loop(steps, step), [A0, x0], seed)
    if peers.jax_at(threads) is not None:
        jax = peers.jax

        def scan(A: Any, x: Any) -> Any:
            return jax.lax.fori_loop(0, steps, lambda i, v: step(A, v), x)

        samples["jax-jit"] = jax_jit_sample(peers, "chain-gemv-axpy", scan, [A0, x0], seed)
        samples["jax-eager"] = jax_eager_sample(jax, _loop(steps, step), [A0, x0], seed)
    if peers.autograd is not None:
        samples["autograd"] = autograd_sample(peers.autograd, _loop(steps, step), [A0, x0], seed)
    return _chain_rows("chain-gemv-axpy", 8, threads, cfg, samples)


# ---------------------------------------------------------------------------------------------
# memory: what the tape copies
# ---------------------------------------------------------------------------------------------


def case_memory() -> list[MemoryResult]:
    """Programs whose tapes must copy nothing, or exactly the overwritten needed ranges."""
    rng = np.random.default_rng(0)
    n, out = 64, []

    def rand(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape)

    def record(name: str, watched: Sequence[np.ndarray], program: Callable[[], Any], expected: int) -> None:
        with ba.Tape() as tape:
            tape.watch(*watched)
            program()
        out.append(MemoryResult(name, sum(x.nbytes for x in watched), tape.bytes_copied, expected))

    A, B, C, E, D = rand(n, n), rand(n, n), np.zeros((n, n)), rand(n, n), np.zeros((n, n))
    record(
        "gemm C ← A B, then D ← C E (nothing overwritten)",
        [A, B, E],
        lambda: (ba.gemm(1.0, A, B, 0.0, C), ba.gemm(1.0, C, E, 0.0, D)),
        0,
    )

    A, B, C, P = rand(n, n), rand(n, n), np.zeros((n, n)), rand(n, n)
    record(
        "gemm C ← A B, then A ← P P overwrites A (needed for B̄)",
        [A, B],
        lambda: (ba.gemm(1.0, A, B, 0.0, C), ba.gemm(1.0, P, P, 0.0, A)),
        A.nbytes,
    )

    M, Q = rand(2 * n, 2 * n), rand(n, n)
    M11, M12, M21, M22 = M[:n, :n], M[:n, n:], M[n:, :n], M[n:, n:]

    def blocked() -> None:
        ba.gemm(-1.0, M21, M12, 1.0, M22)  # trailing update: needs M21 and M12
        ba.gemm(1.0, Q, Q, 0.0, M11)  # M11 interleaves with M12 in memory but shares no element
        ba.gemm(1.0, Q, Q, 0.0, M21)  # overwrites M21: exactly that block is copied

    record("blocks of one matrix: M22 -= M21 M12, then M11, M21 overwritten", [M], blocked, M21.nbytes)

    W, X0, X1 = rand(4, 4), rand(4, 4), np.zeros((4, 4))

    def ping_pong() -> None:
        for _ in range(CHAIN_STEPS // 2):
            ba.gemm(1.0, W, X0, 0.0, X1)
            ba.gemm(1.0, W, X1, 0.0, X0)

    record(
        f"{CHAIN_STEPS}-step 4×4 chain X ← W X, W active (each X needed for W̄)",
        [W, X0],
        ping_pong,
        (CHAIN_STEPS - 1) * X0.nbytes,
    )
    W, X0, X1 = rand(4, 4), rand(4, 4), np.zeros((4, 4))
    record(f"{CHAIN_STEPS}-step 4×4 chain X ← W X, W constant", [X0], ping_pong, 0)

    def ping_pong_then_overwrite_w() -> None:
        ping_pong()
        ba.gemm(1.0, P4, P4, 0.0, W)  # W, read by every step (for X̄), is copied once

    W, X0, X1, P4 = rand(4, 4), rand(4, 4), np.zeros((4, 4)), rand(4, 4)
    record(
        f"the same chain, then W overwritten (W read by all {CHAIN_STEPS} calls)",
        [X0],
        ping_pong_then_overwrite_w,
        W.nbytes,
    )

    A8, x, y = rand(8, 8) * 0.05, rand(8), np.zeros(8)

    def gemv_axpy() -> None:
        for _ in range(CHAIN_STEPS):
            ba.gemv(1.0, A8, x, 0.0, y)
            ba.axpy(0.1, y, x)  # overwrites x, which this step's gemv needs for Ā

    record(
        f"{CHAIN_STEPS}-step 8-vector gemv + axpy chain, A and x active",
        [A8, x],
        gemv_axpy,
        CHAIN_STEPS * x.nbytes,
    )
    return out
