"""The forward-mode case of the report (``--cases forward``): JVPs through
``ba.autodiff(f, ..., mode="forward")`` against the tangent written by hand (CBLAS on
preallocated buffers, as blasad.bench.ideal writes the adjoints), PyTorch's ``torch.func.jvp``
and ``torch.autograd.forward_ad`` and JAX's jitted ``jax.jvp`` on the same programs; under the
first thread count.

Four parts, a table each:

* forward-gemm: one gemm C ← A B (n × n, float64, A and B active) per size n ≤ FORWARD_MAX_N of
  the report's sizes. blasad's figure is the whole autodiff call (Duplicated wrappers, the primal,
  the tangent rule's gemms; the caller's dx is the tangent buffer itself); the ideal's the primal gemm and
  Ċ = Ȧ B + A Ḃ as two gemms into the same buffers. The target: blasad ÷ ideal ≤ FORWARD_LIMIT
  (the median of the ratio within each repetition, which times both back to back).
* forward-chain: CHAIN_STEPS dependent 4 × 4 gemms X ← W X (ping-pong buffers), W and X0 active,
  the final X's tangent: µs per step (the fixed cost of a forward-mode call, paid per call).
* forward-batch: the gemm at n = BATCH_SIZES with BATCH_TANGENTS tangents at once through
  BatchDuplicated, against as many separate forward runs and the ideal (one primal gemm, and two
  gemms over the stacked tangents).
* forward-wrap: the wrappers' cost per call: blasad.torch.wrap of a one-gemm program under
  torch.func.jvp and torch.autograd.forward_ad, blasad.jax.wrap under jax.jit(jax.grad) (JAX
  takes the wrapper in reverse mode only), each against blasad's own run of the same derivative
  in the same repetition (forward mode for PyTorch, reverse for JAX).

Every row's derivative is checked (untimed) against the ideal's, the wrappers' against
blasad's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import blasad as ba
from blasad.bench.cases import _chain_gemm_arrays, _loop, _rel
from blasad.bench.frameworks import Peers, _block
from blasad.bench.ideal import NO_TRANS, ROW_MAJOR, cblas, ptr
from blasad.bench.problems import CHAIN_STEPS
from blasad.bench.report import Row, Target, _target, find, fmt_time, print_table, threads_label
from blasad.bench.timing import Config, Sample, measure, measure_each, now

GEMM, CHAIN, BATCH, WRAP = "forward-gemm", "forward-chain", "forward-batch", "forward-wrap"  # Row.case
FORWARD_LIMIT = 1.1  # blasad's forward-mode call ÷ the hand-written tangent (issue 17)
FORWARD_MAX_N = 1024  # the gemm's sizes: the report's up to this n
BATCH_TANGENTS = 16
BATCH_SIZES = (64, 256)
WRAP_SIZES = (4, 256)
CHECK_LIMIT = 1e-12  # a derivative's largest difference from the reference's, relative
F64 = "float64"
TORCH_JVP, TORCH_FWAD, JAX_JVP = "torch.func.jvp", "torch.forward_ad", "jax-jit"
JAX_GRAD = "jax.jit(jax.grad)"
NEW_OUTPUTS = "blasad-new-outputs"  # the chain written X = ba.gemm(1.0, W, X): a new array per step
ORDER = (
    "blasad",
    NEW_OUTPUTS,
    "blasad-batch",
    "blasad-loop",
    "ideal",
    TORCH_JVP,
    TORCH_FWAD,
    JAX_JVP,
    JAX_GRAD,
)
RM, N = ROW_MAJOR, NO_TRANS


def forward_tasks(cfg: Config) -> list[tuple[str, int]]:
    """(part, n) in the order the report runs them: a progress step each."""
    tasks = [(GEMM, n) for n in cfg.sizes if n <= FORWARD_MAX_N]
    tasks += [(CHAIN, 4)] + [(BATCH, n) for n in BATCH_SIZES]
    return tasks + [(WRAP, n) for n in WRAP_SIZES]


def case_forward(part: str, n: int, threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """The rows of one task of forward_tasks."""
    run = {GEMM: case_forward_gemm, CHAIN: case_forward_chain, BATCH: case_forward_batch,
           WRAP: case_forward_wrap}[part]  # fmt: skip
    return run(n, threads, cfg, peers)


# ---------------------------------------------------------------------------------------------
# the programs, and their tangents by hand
# ---------------------------------------------------------------------------------------------


def gemm_program(marks: list[float] | None = None) -> Callable[..., None]:
    """f(A, B, C): C ← A B through ba.gemm; marks (when given) receives its start and end times."""
    gemm = ba.gemm
    if marks is None:

        def plain(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> None:
            gemm(1.0, A, B, 0.0, C)

        return plain

    def f(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> None:
        marks[0] = now()
        gemm(1.0, A, B, 0.0, C)
        marks[1] = now()

    return f


def gemm_arrays(n: int) -> tuple[np.ndarray, ...]:
    """A, B, Ȧ, Ḃ (random, fixed per n), C and Ċ (zero)."""
    rng = np.random.default_rng(n)
    A, B, dA, dB = (rng.standard_normal((n, n)) for _ in range(4))
    return A, B, dA, dB, np.zeros((n, n)), np.zeros((n, n))


def ideal_gemm(*arrays: np.ndarray) -> tuple[Callable[[], None], Callable[[], None]]:
    """(primal, tangent) by hand on A, B, Ȧ, Ḃ, C, Ċ: C = A B; Ċ = Ȧ B, Ċ += A Ḃ (CBLAS,
    row-major, pointers computed once)."""
    n = arrays[0].shape[0]
    gemm = cblas("gemm", np.float64)
    pA, pB, pdA, pdB, pC, pdC = map(ptr, arrays)

    def primal() -> None:
        gemm(RM, N, N, n, n, n, 1.0, pA, n, pB, n, 0.0, pC, n)

    def tangent() -> None:
        gemm(RM, N, N, n, n, n, 1.0, pdA, n, pB, n, 0.0, pdC, n)
        gemm(RM, N, N, n, n, n, 1.0, pA, n, pdB, n, 1.0, pdC, n)

    return primal, tangent


def chain_program(steps: int, marks: list[float]) -> Callable[..., None]:
    """f(W, X0, X1): `steps` (even) times X ← W X, ping-pong, the final X in X0; marks receives
    the start and end times."""

    def f(W: np.ndarray, X0: np.ndarray, X1: np.ndarray) -> None:
        gemm = ba.gemm
        marks[0] = now()
        for _ in range(steps // 2):
            gemm(1.0, W, X0, 0.0, X1)
            gemm(1.0, W, X1, 0.0, X0)
        marks[1] = now()

    return f


def ideal_chain(
    W: np.ndarray, dW: np.ndarray, X0: np.ndarray, dX0: np.ndarray, steps: int
) -> tuple[Callable[[], None], Callable[[], None], np.ndarray, np.ndarray]:
    """The chain by hand: (primal, jvp, X, Ẋ). primal runs X ← W X alone; jvp Xᵢ₊₁ = W Xᵢ and
    Ẋᵢ₊₁ = Ẇ Xᵢ + W Ẋᵢ (three 4 × 4 gemms a step); both start from copies of X0 (and Ẋ0) in
    ping-pong buffers X[0], X[1] (Ẋ[0], Ẋ[1]): the final values in X[0] and Ẋ[0]."""
    gemm, copy = cblas("gemm", np.float64), cblas("copy", np.float64)
    X, D = np.zeros((2, 4, 4)), np.zeros((2, 4, 4))
    xp, dp = [ptr(X[0]), ptr(X[1])], [ptr(D[0]), ptr(D[1])]
    pW, pdW, pX0, pdX0 = ptr(W), ptr(dW), ptr(X0), ptr(dX0)

    def primal() -> None:
        copy(16, pX0, 1, xp[0], 1)
        for _ in range(steps // 2):
            gemm(RM, N, N, 4, 4, 4, 1.0, pW, 4, xp[0], 4, 0.0, xp[1], 4)
            gemm(RM, N, N, 4, 4, 4, 1.0, pW, 4, xp[1], 4, 0.0, xp[0], 4)

    def jvp() -> None:
        copy(16, pX0, 1, xp[0], 1)
        copy(16, pdX0, 1, dp[0], 1)
        cur = 0
        for _ in range(steps):
            x, d, x2, d2 = xp[cur], dp[cur], xp[1 - cur], dp[1 - cur]
            gemm(RM, N, N, 4, 4, 4, 1.0, pW, 4, x, 4, 0.0, x2, 4)  # Xᵢ₊₁ = W Xᵢ
            gemm(RM, N, N, 4, 4, 4, 1.0, pdW, 4, x, 4, 0.0, d2, 4)  # Ẋᵢ₊₁ = Ẇ Xᵢ ...
            gemm(RM, N, N, 4, 4, 4, 1.0, pW, 4, d, 4, 1.0, d2, 4)  # ... + W Ẋᵢ
            cur = 1 - cur

    return primal, jvp, X, D


def ideal_batch(
    A: np.ndarray, B: np.ndarray, C: np.ndarray, dAs: np.ndarray, dBs: np.ndarray
) -> tuple[Callable[[], None], Callable[[], np.ndarray]]:
    """The batch by hand: (run, tangents). The tangents are kept interleaved, tangent b of an
    n × n matrix in rows [i, b, :] of an (n, B, n) buffer, so that each product is one gemm:
    C = A B; [Ċ] = [Ȧ] B, an (n·B × n) by (n × n) product; [Ċ] += A [Ḃ], (n × n) by (n × B·n).
    tangents() gives Ċ as (B, n, n)."""
    nb, n = dAs.shape[0], A.shape[0]
    gemm = cblas("gemm", np.float64)
    dAi, dBi = (np.ascontiguousarray(d.transpose(1, 0, 2)) for d in (dAs, dBs))
    dCi = np.zeros((n, nb, n))
    pA, pB, pC, pdA, pdB, pdC = map(ptr, (A, B, C, dAi, dBi, dCi))

    def run() -> None:
        gemm(RM, N, N, n, n, n, 1.0, pA, n, pB, n, 0.0, pC, n)
        gemm(RM, N, N, n * nb, n, n, 1.0, pdA, n, pB, n, 0.0, pdC, n)
        gemm(RM, N, N, n, nb * n, n, 1.0, pA, n, pdB, nb * n, 1.0, pdC, nb * n)

    return run, lambda: dCi.transpose(1, 0, 2)


# ---------------------------------------------------------------------------------------------
# the peers' forward modes
# ---------------------------------------------------------------------------------------------


def torch_jvp_samples(
    torch: Any, expr: Callable[..., Any], inputs: Sequence[np.ndarray], tangents: Sequence[np.ndarray]
) -> tuple[dict[str, Sample], dict[str, np.ndarray]]:
    """PyTorch's two forward modes on the functional expr(*inputs): torch.func.jvp, and dual
    tensors of torch.autograd.forward_ad. A repetition: the plain expr ("plain"), then the JVP
    ("jvp"). Also the output's tangent from each (untimed), for the checks."""
    ins = tuple(torch.from_numpy(x.copy()) for x in inputs)
    dots = tuple(torch.from_numpy(t.copy()) for t in tangents)
    jvp, fwad = torch.func.jvp, torch.autograd.forward_ad

    def run_jvp() -> Any:
        return jvp(expr, ins, dots)[1]

    def run_fwad() -> Any:
        with fwad.dual_level():
            out = expr(*(fwad.make_dual(x, d) for x, d in zip(ins, dots)))
            return fwad.unpack_dual(out).tangent

    def sample(run: Callable[[], Any]) -> Sample:
        def timed() -> dict[str, float]:
            t0 = now()
            expr(*ins)
            t1 = now()
            run()
            t2 = now()
            return {"plain": t1 - t0, "jvp": t2 - t1, "total": t2 - t0}

        return timed

    samples = {TORCH_JVP: sample(run_jvp), TORCH_FWAD: sample(run_fwad)}
    return samples, {TORCH_JVP: run_jvp().numpy().copy(), TORCH_FWAD: run_fwad().numpy().copy()}


def jax_jvp_sample(
    peers: Peers, key: str, expr: Callable[..., Any], inputs: Sequence[np.ndarray],
    tangents: Sequence[np.ndarray],
) -> tuple[Sample, np.ndarray]:  # fmt: skip
    """jax.jit of expr and of jax.jvp(expr), made once per key; the JVP's first call (its
    compilation) timed into peers.compile_s[key]. A repetition: the jitted expr ("plain"), then
    the jitted JVP ("jvp"). Also the output's tangent, for the checks."""
    jax = peers.jax
    plain = peers.jit(("fwd", key), lambda: jax.jit(expr))
    jvp = peers.jit(("jvp", key), lambda: jax.jit(lambda p, t: jax.jvp(expr, p, t)))
    ins = tuple(jax.numpy.asarray(x) for x in inputs)
    dots = tuple(jax.numpy.asarray(t) for t in tangents)
    _block(plain(*ins))
    if key not in peers.compile_s:
        t0 = now()
        _block(jvp(ins, dots))
        peers.compile_s[key] = now() - t0

    def sample() -> dict[str, float]:
        t0 = now()
        _block(plain(*ins))
        t1 = now()
        _block(jvp(ins, dots))
        t2 = now()
        return {"plain": t1 - t0, "jvp": t2 - t1, "total": t2 - t0}

    return sample, np.asarray(jvp(ins, dots)[1])


def _compile_note(peers: Peers, key: str) -> str:
    return f"compile {peers.compile_s[key]:.2f} s" if key in peers.compile_s else ""


def peer_rows(
    case: str, n: int, threads: int, cfg: Config, peers: Peers, expr: Callable[..., Any],
    inputs: Sequence[np.ndarray], tangents: Sequence[np.ndarray], want: np.ndarray, steps: int = 1,
    which: tuple[str, ...] = ("torch", "jax"),
) -> list[Row]:  # fmt: skip
    """A row per installed peer of `which` (PyTorch's two forward modes; JAX under the thread
    count it is measured at) for expr(*inputs) with these tangents, measured one after the other;
    each checked against want, the ideal's output tangent."""
    samples: dict[str, Sample] = {}
    got: dict[str, np.ndarray] = {}
    if peers.torch is not None and "torch" in which:
        timed, tangent = torch_jvp_samples(peers.torch, expr, inputs, tangents)
        samples |= timed
        got |= tangent
    key = f"{case}-{n}"
    if peers.jax_at(threads) is not None and "jax" in which:
        samples[JAX_JVP], got[JAX_JVP] = jax_jvp_sample(peers, key, expr, inputs, tangents)
    rows = []
    for name, t in measure_each(samples, cfg).items():
        note = _compile_note(peers, key) if name == JAX_JVP else ""
        rows.append(Row(case, name, F64, n, threads, t["jvp"], math.nan, t["jvp"], plain=t["plain"],
                        steps=steps, note=note, checks={"ideal": _rel(got[name], want)}))  # fmt: skip
    return rows


# ---------------------------------------------------------------------------------------------
# the parts
# ---------------------------------------------------------------------------------------------


def case_forward_gemm(n: int, threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """One gemm C ← A B in forward mode: blasad and the ideal back to back in each repetition
    (on the same buffers), then the peers. Row.forward: the time inside f (blasad), total: the
    whole JVP, plain: the framework's primal alone; ratios["÷ ideal"]: blasad's median ratio."""
    A, B, dA, dB, C, dC = arrays = gemm_arrays(n)
    primal, tangent = ideal_gemm(*arrays)
    primal()
    tangent()
    want = dC.copy()
    marks = [0.0, 0.0]
    f, plain = gemm_program(marks), gemm_program()
    D = ba.Duplicated

    def forward() -> None:
        ba.autodiff(f, D(A, dA), D(B, dB), D(C, dC), mode="forward")

    forward()
    check = _rel(dC, want)

    def sample() -> dict[str, float]:
        t0 = now()
        plain(A, B, C)
        t1 = now()
        primal()
        t2 = now()
        tangent()
        t3 = now()
        forward()
        t4 = now()
        ideal, ours = t3 - t1, t4 - t3
        return {"plain": t1 - t0, "ideal-plain": t2 - t1, "ideal": ideal, "jvp": ours,
                "inside": marks[1] - marks[0], "ratio": ours / ideal, "total": t4 - t0}  # fmt: skip

    m = measure({"blasad": sample}, cfg)["blasad"]
    rows = [
        Row(GEMM, "blasad", F64, n, threads, m["inside"], math.nan, m["jvp"], plain=m["plain"],
            ratios={"÷ ideal": m["ratio"]}, checks={"ideal": check}),
        Row(GEMM, "ideal", F64, n, threads, m["ideal"], math.nan, m["ideal"], plain=m["ideal-plain"]),
    ]  # fmt: skip
    return rows + peer_rows(GEMM, n, threads, cfg, peers, lambda A, B: A @ B, [A, B], [dA, dB], want)


def case_forward_chain(n: int, threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """CHAIN_STEPS steps of X ← W X on n × n (4 × 4) matrices in forward mode, W and X0 active
    (Ẇ random, Ẋ0 the reverse chain's seed): blasad and the ideal in turns, then the peers. Each
    repetition starts from X0 and Ẋ0 again (untimed)."""
    steps = CHAIN_STEPS
    W, X00, _, dX00 = _chain_gemm_arrays(np.float64)
    dW = np.random.default_rng(5).standard_normal((n, n))
    i_primal, i_jvp, _, i_dX = ideal_chain(W, dW, X00, dX00, steps)
    i_jvp()
    want = i_dX[0].copy()
    X0, X1, dX0, dX1, dW_ = X00.copy(), np.zeros((n, n)), dX00.copy(), np.zeros((n, n)), dW.copy()
    marks = [0.0, 0.0]
    f = chain_program(steps, marks)
    D = ba.Duplicated

    def blasad() -> dict[str, float]:
        np.copyto(X0, X00)
        t0 = now()
        f(W, X0, X1)
        plain = now() - t0
        np.copyto(X0, X00)
        np.copyto(dX0, dX00)
        np.copyto(dW_, dW)
        dX1.fill(0.0)
        t0 = now()
        ba.autodiff(f, D(W, dW_), D(X0, dX0), D(X1, dX1), mode="forward")
        t = now() - t0
        return {"plain": plain, "jvp": t, "inside": marks[1] - marks[0], "total": plain + t}

    def ideal() -> dict[str, float]:
        t0 = now()
        i_primal()
        t1 = now()
        i_jvp()
        t2 = now()
        return {"plain": t1 - t0, "jvp": t2 - t1, "total": t2 - t0}

    def fresh(W: np.ndarray, X0: np.ndarray) -> None:  # the form with a new output per step
        X = X0
        for _ in range(steps):
            X = ba.gemm(1.0, W, X)
        ba.geadd(1.0, X, 0.0, X0)

    def blasad_new() -> dict[str, float]:
        np.copyto(X0, X00)
        np.copyto(dX0, dX00)
        np.copyto(dW_, dW)
        t0 = now()
        ba.autodiff(fresh, D(W, dW_), D(X0, dX0), mode="forward")
        t = now() - t0
        return {"jvp": t, "total": t}

    blasad_new()
    check_new = _rel(dX0, want)
    blasad()
    check = _rel(dX0, want)
    m = measure({"blasad": blasad, "ideal": ideal, NEW_OUTPUTS: blasad_new}, cfg)
    b, i, nw = m["blasad"], m["ideal"], m[NEW_OUTPUTS]
    rows = [
        Row(CHAIN, "blasad", F64, n, threads, b["inside"], math.nan, b["jvp"], plain=b["plain"],
            steps=steps, checks={"ideal": check}),
        Row(CHAIN, NEW_OUTPUTS, F64, n, threads, nw["jvp"], math.nan, nw["jvp"], steps=steps,
            checks={"ideal": check_new}),
        Row(CHAIN, "ideal", F64, n, threads, i["jvp"], math.nan, i["jvp"], plain=i["plain"], steps=steps),
    ]  # fmt: skip
    ins, dots = [W, X00], [dW, dX00]
    loop = _loop(steps, lambda W, X: W @ X)  # PyTorch: the reverse case's functional chain
    rows += peer_rows(CHAIN, n, threads, cfg, peers, loop, ins, dots, want, steps, ("torch",))
    if peers.jax_at(threads) is not None:  # JAX: a lax.scan of the step, jitted
        lax = peers.jax.lax

        def scan(W: Any, X: Any) -> Any:
            return lax.scan(lambda Y, _: (W @ Y, None), X, None, length=steps)[0]

        rows += peer_rows(CHAIN, n, threads, cfg, peers, scan, ins, dots, want, steps, ("jax",))
    return rows


def case_forward_batch(n: int, threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """The gemm C ← A B with BATCH_TANGENTS tangents: through BatchDuplicated, through as many
    separate forward runs (Duplicated views of the same stacks) and by hand (ideal_batch), in
    turns; a row each, total: one call for every tangent."""
    nb = BATCH_TANGENTS
    rng = np.random.default_rng(n)
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    dAs, dBs = rng.standard_normal((nb, n, n)), rng.standard_normal((nb, n, n))
    C, dCs, dCl = np.zeros((n, n)), np.zeros((nb, n, n)), np.zeros((nb, n, n))
    f = gemm_program()
    BD, D = ba.BatchDuplicated, ba.Duplicated
    i_run, i_tangents = ideal_batch(A, B, C, dAs, dBs)

    def batch() -> None:
        ba.autodiff(f, BD(A, dAs), BD(B, dBs), BD(C, dCs), mode="forward")

    def loop() -> None:
        for b in range(nb):
            ba.autodiff(f, D(A, dAs[b]), D(B, dBs[b]), D(C, dCl[b]), mode="forward")

    samples = {"blasad-batch": _timed(batch), "blasad-loop": _timed(loop), "ideal": _timed(i_run)}
    for s in samples.values():
        s()
    want = i_tangents().copy()
    checks = {"blasad-batch": _rel(dCs, want), "blasad-loop": _rel(dCl, want)}
    m = measure(samples, cfg)
    return [
        Row(BATCH, name, F64, n, threads, t["total"], math.nan, t["total"], steps=nb,
            checks={"ideal": checks[name]} if name in checks else {})
        for name, t in m.items()
    ]  # fmt: skip


def case_forward_wrap(n: int, threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """The wrappers' cost per call on the one-gemm program C ← A B (A and B active, C an
    output): blasad.torch.wrap under torch.func.jvp and torch.autograd.forward_ad against
    ``ba.autodiff(mode="forward")`` alone, and blasad.jax.wrap under jax.jit(jax.grad) of
    ⟨S, C⟩ against ``ba.autodiff`` (reverse) alone, in the same repetition. Row.forward: blasad
    alone, total: through the wrapper, ratios["overhead"]: the median difference; op: the
    wrapper. No rows without the peers."""
    rows: list[Row] = []
    if peers.torch is not None:
        rows += _torch_wrap_rows(peers.torch, n, threads, cfg)
    if peers.jax_at(threads) is not None:
        rows += _jax_wrap_rows(peers, n, threads, cfg)
    return rows


def _torch_wrap_rows(torch: Any, n: int, threads: int, cfg: Config) -> list[Row]:
    import blasad.torch as bt

    A, B, dA, dB, C, dC = gemm_arrays(n)
    f, D = gemm_program(), ba.Duplicated

    def alone() -> None:
        ba.autodiff(f, D(A, dA), D(B, dB), D(C, dC), mode="forward")

    alone()
    want = dC.copy()
    g = bt.wrap(f, outputs=(2,))
    Ct = torch.zeros((n, n), dtype=torch.float64)

    def expr(A: Any, B: Any) -> Any:
        return g(A, B, Ct)

    _, got = torch_jvp_samples(torch, expr, [A, B], [dA, dB])
    At, Bt, dAt, dBt = (torch.from_numpy(x.copy()) for x in (A, B, dA, dB))
    jvp, fwad = torch.func.jvp, torch.autograd.forward_ad

    def run_jvp() -> None:
        jvp(expr, (At, Bt), (dAt, dBt))

    def run_fwad() -> None:
        with fwad.dual_level():
            fwad.unpack_dual(expr(fwad.make_dual(At, dAt), fwad.make_dual(Bt, dBt)))

    samples = {TORCH_JVP: _against(alone, run_jvp), TORCH_FWAD: _against(alone, run_fwad)}
    return [_wrap_row("blasad.torch.wrap", name, n, threads, t, _rel(got[name], want))
            for name, t in measure_each(samples, cfg).items()]  # fmt: skip


def _jax_wrap_rows(peers: Peers, n: int, threads: int, cfg: Config) -> list[Row]:
    import blasad.jax as bj

    jax, jnp = peers.jax, peers.jax.numpy
    A, B, _, _, C, _ = gemm_arrays(n)
    S = np.random.default_rng(n + 1).standard_normal((n, n))
    dA, dB, dC = np.zeros((n, n)), np.zeros((n, n)), np.zeros((n, n))
    f, D = gemm_program(), ba.Duplicated
    g = bj.wrap(f, outputs=(2,))
    Sj, Cj = jnp.asarray(S), jnp.zeros((n, n))
    key = f"{WRAP}-jax-{n}"
    grad = peers.jit(("grad", key), lambda: jax.jit(jax.grad(lambda A, B: jnp.sum(Sj * g(A, B, Cj)), (0, 1))))
    Aj, Bj = jnp.asarray(A), jnp.asarray(B)
    if key not in peers.compile_s:
        t0 = now()
        _block(grad(Aj, Bj))
        peers.compile_s[key] = now() - t0

    def reseed() -> None:
        dA.fill(0.0)
        dB.fill(0.0)
        np.copyto(dC, S)

    def alone() -> None:
        ba.autodiff(f, D(A, dA), D(B, dB), D(C, dC))

    reseed()
    alone()
    got = grad(Aj, Bj)
    check = max(_rel(np.asarray(got[0]), dA), _rel(np.asarray(got[1]), dB))
    t = measure_each({JAX_GRAD: _against(alone, lambda: _block(grad(Aj, Bj)), reseed)}, cfg)[JAX_GRAD]
    return [_wrap_row("blasad.jax.wrap", JAX_GRAD, n, threads, t, check, _compile_note(peers, key))]


def _timed(run: Callable[[], Any]) -> Sample:
    def sample() -> dict[str, float]:
        t0 = now()
        run()
        return {"total": now() - t0}

    return sample


def _against(
    alone: Callable[[], Any], wrapped: Callable[[], Any], before: Callable[[], Any] | None = None
) -> Sample:
    """A repetition: blasad's run alone, then through the wrapper (before(), untimed, ahead of
    each); their difference within the repetition is the wrapper's overhead."""

    def sample() -> dict[str, float]:
        if before is not None:
            before()
        t0 = now()
        alone()
        t1 = now()
        if before is not None:
            before()
        t2 = now()
        wrapped()
        t3 = now()
        return {"alone": t1 - t0, "wrapped": t3 - t2, "overhead": (t3 - t2) - (t1 - t0), "total": t3 - t0}

    return sample


def _wrap_row(wrapper: str, api: str, n: int, threads: int, t: dict[str, float], check: float,
              note: str = "") -> Row:  # fmt: skip
    return Row(WRAP, api, F64, n, threads, t["alone"], math.nan, t["wrapped"], op=wrapper, note=note,
               ratios={"overhead": t["overhead"]}, checks={"blasad": check})  # fmt: skip


# ---------------------------------------------------------------------------------------------
# targets and tables
# ---------------------------------------------------------------------------------------------

PARTS = (GEMM, CHAIN, BATCH, WRAP)
TARGET = f'forward gemm: ba.autodiff(mode="forward") ≤ {FORWARD_LIMIT:g} × ideal'


def forward_targets(rows: Sequence[Row]) -> list[Target]:
    """Per size of the gemm: blasad's forward-mode call ÷ the hand-written tangent ≤ FORWARD_LIMIT;
    blasad's tangents = the ideal's, and the wrappers' derivatives = blasad's own."""
    mine = [r for r in rows if r.case in PARTS]
    if not mine:
        return []
    gemm = [r for r in mine if r.case == GEMM and r.framework == "blasad"]
    out = [
        _target(TARGET, f"{F64} n={r.n} threads={threads_label(r.threads)}", r.ratios.get("÷ ideal"),
                FORWARD_LIMIT)
        for r in gemm
    ]  # fmt: skip
    if not gemm:
        out.append(Target(TARGET, F64, f"not measured (no size n ≤ {FORWARD_MAX_N})", "SKIP"))
    ours = [r for r in mine if r.framework.startswith("blasad") and "ideal" in r.checks]
    where = ", ".join(dict.fromkeys(f"{r.case.removeprefix('forward-')}" for r in ours))
    out += _max_check(f"forward mode: blasad's tangents = the ideal's (rel. diff ≤ {CHECK_LIMIT:g})", where,
                      [r.checks["ideal"] for r in ours])  # fmt: skip
    wraps = [r for r in mine if r.case == WRAP]
    where = ", ".join(dict.fromkeys(r.framework for r in wraps))
    where += f"; n={','.join(str(n) for n in dict.fromkeys(r.n for r in wraps))}"
    out += _max_check(f"wrappers' derivatives = blasad's own (rel. diff ≤ {CHECK_LIMIT:g})", where,
                      [r.checks["blasad"] for r in wraps])  # fmt: skip
    return out


def _max_check(name: str, where: str, values: Sequence[float]) -> list[Target]:
    return [_target(name, where, max(values), CHECK_LIMIT, "{:.1e}")] if values else []


def _order(r: Row) -> tuple[Any, ...]:
    return (r.n, ORDER.index(r.framework) if r.framework in ORDER else len(ORDER))


def _diff(r: Row) -> str:
    if r.framework == "ideal":
        return "ref"
    v = r.checks.get("ideal", r.checks.get("blasad"))
    return "-" if v is None else f"{v:.1e}"


def _times(a: float | None, b: float | None, suffix: str = "") -> str:
    return "-" if a is None or b is None or b <= 0 or math.isnan(a) else f"{a / b:.2f}{suffix}"


def print_forward_tables(rows: Sequence[Row]) -> None:
    """The four tables of the forward-mode case (those measured) and what they time."""
    mine = [r for r in rows if r.case in PARTS]
    if not mine:
        return
    threads = threads_label(mine[0].threads)
    _print_gemm([r for r in mine if r.case == GEMM], threads)
    _print_chain([r for r in mine if r.case == CHAIN], threads)
    _print_batch([r for r in mine if r.case == BATCH], threads)
    _print_wrap([r for r in mine if r.case == WRAP], threads)


def _print_gemm(rows: Sequence[Row], threads: str) -> None:
    body = []
    for r in sorted(rows, key=_order):
        ideal = find(rows, framework="ideal", n=r.n)
        vs = r.ratios.get("÷ ideal") if r.framework == "blasad" else None
        ratio = f"{vs:.3f}" if vs is not None else _times(r.total, None if ideal is None else ideal.total)
        inside = fmt_time(r.forward) if r.framework == "blasad" else "-"
        body.append([str(r.n), r.framework, fmt_time(r.plain), fmt_time(r.total), _times(r.total, r.plain),
                     inside, ratio, _diff(r), r.note])  # fmt: skip
    if not body:
        return
    title = (f"forward mode: one gemm C ← A B, n × n, float64, A and B active (Ȧ, Ḃ given), the JVP "
             f"(C and Ċ = Ȧ B + A Ḃ) per call (median); threads={threads}")  # fmt: skip
    headers = ("n", "framework", "primal", "JVP", "JVP/primal", "inside f", "÷ ideal", "tangent diff", "note")
    print_table(title, headers, body, "rlrrrrrrl")
    print(
        "  blasad: the whole ba.autodiff(f, Duplicated(A, dA), Duplicated(B, dB), Duplicated(C, dC),\n"
        '  mode="forward") call (dA, dB, dC are the tangent buffers, the primal, the rule\'s two gemms);\n'
        "  inside f: the time within f (the call through the forward engine); primal: ba.gemm with no\n"
        "  AD. ideal: C = A B, then Ċ = Ȧ B, Ċ += A Ḃ, CBLAS on the same preallocated buffers; blasad's\n"
        "  ÷ ideal is the median of the ratio within each repetition, which runs both back to back.\n"
        "  torch.func.jvp: jvp(lambda A, B: A @ B, (A, B), (Ȧ, Ḃ)); torch.forward_ad: dual tensors\n"
        "  (dual_level, make_dual, A @ B, unpack_dual); jax-jit: jax.jit of jax.jvp (compile: its\n"
        "  first call, excluded); their primal: A @ B (JAX: jitted); their ÷ ideal: medians measured\n"
        "  apart. tangent diff: max |Ċ − Ċ_ideal| / max |Ċ_ideal|."
    )


def _print_chain(rows: Sequence[Row], threads: str) -> None:
    ideal = find(rows, framework="ideal")
    body = []
    for r in sorted(rows, key=_order):
        us = 1e6 / r.steps
        inside = f"{r.forward * us:.2f}" if r.framework == "blasad" else "-"
        plain = "-" if r.plain is None else f"{r.plain * us:.2f}"
        body.append([r.framework, plain, f"{r.total * us:.2f}", inside,
                     _times(r.total, None if ideal is None else ideal.total), _diff(r), r.note])  # fmt: skip
    if not body:
        return
    title = (f"forward mode: a chain of {CHAIN_STEPS} dependent 4×4 gemms X ← W X, float64, W and X0 "
             f"active, the final X's tangent; µs per step (median); threads={threads}")  # fmt: skip
    headers = ("framework", "primal", "JVP", "inside f", "÷ ideal", "tangent diff", "note")
    print_table(title, headers, body, "lrrrrrl")
    print(
        "  blasad: ba.autodiff(f, Duplicated(W, dW), Duplicated(X0, dX0), Duplicated(X1, dX1),\n"
        '  mode="forward") over the reverse chain\'s ping-pong program (primal: f with no AD);\n'
        "  blasad-new-outputs: the chain written X = ba.gemm(1.0, W, X), a new array each step; ideal:\n"
        "  Xᵢ₊₁ = W Xᵢ, Ẋᵢ₊₁ = Ẇ Xᵢ + W Ẋᵢ, three CBLAS gemms a step on preallocated ping-pong buffers;\n"
        "  torch: the functional chain X = W @ X (torch.func.jvp, forward_ad dual tensors); jax-jit:\n"
        "  jax.jit of jax.jvp of a lax.scan of the step (compile excluded)."
    )


def _print_batch(rows: Sequence[Row], threads: str) -> None:
    body = []
    for r in sorted(rows, key=_order):
        ideal, loop = find(rows, framework="ideal", n=r.n), find(rows, framework="blasad-loop", n=r.n)
        body.append([str(r.n), str(r.steps), r.framework, fmt_time(r.total), fmt_time(r.total / r.steps),
                     _times(r.total, None if ideal is None else ideal.total),
                     _times(None if loop is None else loop.total, r.total, "×"), _diff(r)])  # fmt: skip
    if not body:
        return
    title = (f"forward mode, B tangents at once: one gemm C ← A B, float64, A and B active, B = "
             f"{BATCH_TANGENTS}; time per call for all B tangents (median); threads={threads}")  # fmt: skip
    headers = ("n", "B", "framework", "time", "per tangent", "÷ ideal", "vs loop", "tangent diff")
    print_table(title, headers, body, "rrlrrrrr")
    print(
        "  blasad-batch: one ba.autodiff over BatchDuplicated(A, dAs), (B, dBs), (C, dCs), dAs (B, n, n);\n"
        "  blasad-loop: B forward runs over Duplicated(A, dAs[b]), ... (the primal B times); ideal: one\n"
        "  gemm for C and two over the stacked tangents, kept interleaved ((n, B, n): [Ȧ] B is one\n"
        "  (n·B × n)(n × n) gemm, A [Ḃ] one (n × n)(n × B·n) gemm). Measured in turns; vs loop: the\n"
        "  loop's time over the row's."
    )


def _print_wrap(rows: Sequence[Row], threads: str) -> None:
    body = []
    for r in sorted(rows, key=lambda r: (r.op, _order(r))):
        over = r.ratios.get("overhead")
        body.append([r.op, r.framework, str(r.n), fmt_time(r.forward), fmt_time(r.total), fmt_time(over),
                     _times(over, r.forward), _diff(r), r.note])  # fmt: skip
    if not body:
        return
    title = (f"the wrappers' cost per call: a one-gemm program C ← A B (n × n, float64, A and B active, "
             f"C the output); time per call (median); threads={threads}")  # fmt: skip
    headers = ("wrapper", "under", "n", "blasad alone", "wrapped", "overhead", "overhead/alone", "diff",
               "note")  # fmt: skip
    print_table(title, headers, body, "llrrrrrrl")
    print(
        "  blasad.torch.wrap(f, outputs=(2,)) of f = ba.gemm(1.0, A, B, 0.0, C) under torch.func.jvp\n"
        '  and forward_ad dual tensors, against ba.autodiff(f, ..., mode="forward") alone;\n'
        "  blasad.jax.wrap (JAX takes it in reverse mode only) under jax.jit(jax.grad) of sum(S * C)\n"
        "  (compile excluded), against ba.autodiff(f, ...) (reverse, seed S) alone. Both run in each\n"
        "  repetition; overhead: the median of wrapped − alone (the wrapper's copies, the extra\n"
        "  primal run it makes, the framework's dispatch). diff: against blasad's own derivative."
    )
