"""The cases of the report: one gemm, gemv and axpy per size, the chains of tiny dependent
calls, the memory programs, the active-scalar operations and conjugate gradient; each
measures every framework and returns its rows."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import blasad as ba
from blasad.bench.frameworks import (
    CHAIN_FORMS,
    JAX_JIT_NOTE,
    Peers,
    autodiff_sample,
    autograd_sample,
    blasad_sample,
    blasad_tape,
    chain_tape_sample,
    jax_eager_sample,
    jax_jit_sample,
    numpy_sample,
    peer_samples,
    program_sample,
    replay_sample,
    scalar_autodiff_chain,
    scalar_autodiff_single,
    scalar_plain,
    scalar_tape_chain,
    scalar_tape_single,
    scalar_torch_chain,
    scalar_torch_grad,
    tape_program_sample,
    torch_sample,
)
from blasad.bench.ideal import ideal_calls, ideal_chain_gemm, ideal_chain_gemv_axpy
from blasad.bench.problems import (
    CHAIN_STEPS,
    EMPTY_OP,
    SCALAR_OPS,
    SINGLE_CASE,
    SINGLE_N,
    TAPE_BYTES_CALLS,
    ScalarCase,
    cg_blasad,
    cg_functional,
    cg_numpy,
    make_problem,
    scalar_loop,
    spd_matrix,
)
from blasad.bench.report import MemoryResult, Row
from blasad.bench.timing import Config, Sample, measure, measure_each, now, two_phase

# ---------------------------------------------------------------------------------------------
# single calls: gemm, gemv, axpy
# ---------------------------------------------------------------------------------------------


def _row(case: str, fw: str, dtype: Any, n: int, threads: int, m: dict[str, float], **kw: Any) -> Row:
    return Row(case, fw, np.dtype(dtype).name, n, threads, m["forward"], m["backward"], m["total"], **kw)


def case_op(
    op: str, n: int, dtype: Any, threads: int, cfg: Config, peers: Peers, case: str = ""
) -> list[Row]:
    """One call of `op` at size n: every framework, forward / reverse / total; the rows' case
    is `case` (default: op)."""
    p = make_problem(op, n, dtype, np.random.default_rng(n))
    label = case or op
    fwd, bwd = ideal_calls(p)
    ours = {"blasad": blasad_sample(p, reverse=bwd), "ideal": two_phase(fwd, bwd, before=p.reseed)}
    m = measure(ours, cfg)  # blasad and the ideal take turns: the targets compare them
    m |= measure_each({"blasad-tape": blasad_tape(p)}, cfg)  # allocates its shadows: alone
    b = m.pop("blasad")
    rows = [_row(label, "blasad", dtype, n, threads, b, plain=b["plain"], fwd_plain=b["fwd/plain"],
                 rev_plain=b["rev/plain"], rev_ideal=b.get("rev/ideal"))]  # fmt: skip
    rows.append(_row(label, "blasad-tape", dtype, n, threads, m["blasad-tape"], plain=b["plain"]))
    rows.append(_row(label, "ideal", dtype, n, threads, m["ideal"], plain=m["ideal"]["forward"]))
    key = f"{op}-{np.dtype(dtype).name}-{n}"
    for name, t in measure_each(peer_samples(peers, threads, key, p.expr, p.inputs, p.seed), cfg).items():
        rows.append(_row(label, name, dtype, n, threads, t, note=JAX_JIT_NOTE if name == "jax-jit" else ""))
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


def case_single(threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """One tiny call differentiated end to end, its fixed costs: a 4 × 4 float64 gemm C ← A B
    through ``ba.autodiff`` and through a ``ba.Tape`` (enter, watch, call, backward, grad),
    against the hand-written adjoint on preallocated buffers and the peers (rows of case
    SINGLE_CASE)."""
    return case_op("gemm", SINGLE_N, np.float64, threads, cfg, peers, case=SINGLE_CASE)


# ---------------------------------------------------------------------------------------------
# chains of tiny dependent calls
# ---------------------------------------------------------------------------------------------


def _chain_rows(
    case: str,
    n: int,
    threads: int,
    cfg: Config,
    samples: dict[str, Sample],
    compile_s: float | None = None,
    dtype: Any = np.float64,
) -> list[Row]:
    """The rows of a chain: blasad's autodiff and the ideal measured in turns, the others alone
    (the Tape forms allocate, the peers run their own runtimes); compile_s: JAX's compile time."""
    ours = {k: v for k, v in samples.items() if k in ("blasad", "ideal")}
    theirs = {k: v for k, v in samples.items() if k not in ours}
    m = measure(ours, cfg) | measure_each(theirs, cfg)
    jit_note = JAX_JIT_NOTE + (f"; compile {compile_s:.2f} s" if compile_s is not None else "")
    notes = {"jax-jit": jit_note, "blasad-replay": "recorded once; replay() + backward", **CHAIN_FORMS}
    return [
        _row(case, name, dtype, n, threads, t, steps=CHAIN_STEPS, note=notes.get(name, ""))
        for name, t in m.items()
    ]


def _chain_gemm_arrays(dtype: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """W, X0, X1 and the seed of the gemm chain in dtype: W orthogonal (unitary), so that the
    values stay O(1) over the chain; X1 zero."""
    rng = np.random.default_rng(4)

    def rand() -> np.ndarray:
        z = rng.standard_normal((4, 4))
        return z + 1j * rng.standard_normal((4, 4)) if np.dtype(dtype).kind == "c" else z

    W = np.linalg.qr(rand())[0].astype(dtype, order="C")
    X0, X1 = rand().astype(dtype), np.zeros((4, 4), dtype)
    return W, X0, X1, rand().astype(dtype)


def _chain_gemm_program(steps: int, marks: list[float]) -> Callable[..., None]:
    """f(W, X0, X1): `steps` times X ← W X with ping-pong buffers (the final X in X0); stores
    its end time in marks[0]."""

    def f(W: np.ndarray, X0: np.ndarray, X1: np.ndarray) -> None:
        gemm = ba.gemm
        for _ in range(steps // 2):
            gemm(1.0, W, X0, 0.0, X1)
            gemm(1.0, W, X1, 0.0, X0)
        marks[0] = now()

    return f


def _chain_gemm_autodiff(dtype: Any, steps: int) -> tuple[Sample, Callable[..., None], list[np.ndarray]]:
    """The gemm chain in dtype through ``ba.autodiff`` (W, X0 and X1 Duplicated, X0 seeded):
    its sample, the program and [W, X0, X1, seed] at their initial values (copies: the
    sample overwrites its own)."""
    W, X0, X1, seed = _chain_gemm_arrays(dtype)
    marks = [0.0]
    f = _chain_gemm_program(steps, marks)
    initial = [W.copy(), X0.copy(), X1.copy(), seed]
    arrays = [W, X0, X1]
    shadows = [np.zeros_like(a) for a in arrays]
    return autodiff_sample(f, arrays, shadows, {1: seed}, marks), f, initial


def _torch_chain_gemm(peers: Peers, steps: int, W: np.ndarray, X0: np.ndarray, seed: np.ndarray) -> Sample:
    """PyTorch autograd on the gemm chain written functionally (X ← W @ X)."""
    return torch_sample(peers.torch, _loop(steps, lambda W, X: W @ X), [W, X0], seed)


def case_chain_gemm(threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """1000 steps of X ← W X on 4 × 4 matrices (ping-pong buffers X0, X1); W and X0 active."""
    steps = CHAIN_STEPS
    blasad, f, (W0, X00, X1, seed) = _chain_gemm_autodiff(np.float64, steps)
    samples = {"blasad": blasad}
    samples["ideal"] = two_phase(*ideal_chain_gemm(W0, X00, seed, steps))
    samples["blasad-replay"] = replay_sample(f, [W0.copy(), X00.copy(), X1.copy()], 1, seed)
    for form in CHAIN_FORMS:
        samples[form] = chain_tape_sample(form, W0, X00, seed, steps)
    if peers.torch is not None:
        samples["torch"] = _torch_chain_gemm(peers, steps, W0, X00, seed)
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
    return _chain_rows("chain-gemm", 4, threads, cfg, samples, peers.compile_s.get("chain-gemm"))


CHAIN_DTYPES = (np.float32, np.complex64, np.complex128)  # the gemm chain's other dtypes


def case_chain_gemm_dtypes(threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """The gemm chain of case_chain_gemm in each of CHAIN_DTYPES: blasad's autodiff and
    PyTorch autograd (float64 is case_chain_gemm's)."""
    rows: list[Row] = []
    for dtype in CHAIN_DTYPES:
        blasad, _, (W, X0, _, seed) = _chain_gemm_autodiff(dtype, CHAIN_STEPS)
        samples = {"blasad": blasad}
        if peers.torch is not None:
            samples["torch"] = _torch_chain_gemm(peers, CHAIN_STEPS, W, X0, seed)
        rows += _chain_rows("chain-gemm", 4, threads, cfg, samples, dtype=dtype)
    return rows


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
    samples["blasad-replay"] = replay_sample(f, [A0.copy(), x0.copy(), y.copy()], 1, seed)
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
    return _chain_rows("chain-gemv-axpy", 8, threads, cfg, samples, peers.compile_s.get("chain-gemv-axpy"))


# ---------------------------------------------------------------------------------------------
# active scalars: one operation, recorded and not
# ---------------------------------------------------------------------------------------------

SCALAR_STEPS = CHAIN_STEPS  # operations per repetition; the report gives the time per operation
SCALAR_SINGLE_STEPS = 100  # operations per repetition where each has a Tape or autodiff of its own
F64 = "float64"


def _scalar_row(case: str, op: str, fw: str, threads: int, t: dict[str, float], k: int, **kw: Any) -> Row:
    nan = math.nan
    fwd, bwd, total = t.get("forward", nan), t.get("backward", nan), t.get("total", nan)
    return Row(case, fw, F64, 0, threads, fwd, bwd, total, steps=k, op=op, **kw)


def scalar_chain_gradients(op: ScalarCase, k: int, torch: Any = None) -> dict[str, float]:
    """r̄ and s̄ of the chain z ← op(z) of k operations through the Tape API, autodiff and, when
    given, PyTorch: the largest relative difference of autodiff's and PyTorch's from the
    Tape's ("autodiff", "torch"), so that the timings compare one computation."""
    r, s, one = ba.Scalar(np.array(op.start)), ba.Scalar(np.array(1.0)), np.array(1.0)
    with ba.Tape() as tape:
        tape.watch(r.buffer, s.buffer)
        z = scalar_loop(op, chain=True)(r, s, np.sqrt, k)
    tape.backward(z, one)
    want = np.array([tape.grad(r.buffer)[()], tape.grad(s.buffer)[()]])
    out = {}
    peers = {"autodiff": lambda g: scalar_autodiff_chain(op, k, g)}
    if torch is not None:
        peers["torch"] = lambda g: scalar_torch_chain(torch, op, k, g)
    for name, make in peers.items():
        got: list[float] = []
        make(got)()
        out[name] = float(np.max(np.abs(np.array(got) - want) / np.maximum(np.abs(want), 1e-300)))
    return out


def case_scalar(threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """Per operation of SCALAR_OPS, SCALAR_STEPS times: (a) recorded: a chain z ← op(z) from
    active r (and s) through the Tape API, autodiff and PyTorch, forward and reverse; (b)
    outside any recording: z ← op(r) on a ba.Scalar, an np.float64, a 0-d ndarray, a 0-d
    tensor (with and without requires_grad; with: forward, and forward + backward per
    operation), and, SCALAR_SINGLE_STEPS times, one operation per Tape and per autodiff call
    (their fixed costs)."""
    k, k1, torch, rows = SCALAR_STEPS, SCALAR_SINGLE_STEPS, peers.torch, []
    for op in SCALAR_OPS:
        checks = scalar_chain_gradients(op, k, torch)
        m = measure({"blasad-tape": scalar_tape_chain(op, k), "blasad": scalar_autodiff_chain(op, k)}, cfg)
        if torch is not None:
            m |= measure_each({"torch": scalar_torch_chain(torch, op, k)}, cfg)
        for name, t in m.items():
            rows.append(_scalar_row("scalar-recorded", op.label, name, threads, t, k,
                                    checks=checks if name == "blasad" else {}))  # fmt: skip

        ours = {
            "blasad": scalar_plain(op, ba.Scalar(np.array(1.5)), ba.Scalar(np.array(1.2)), np.sqrt, k),
            "numpy-float64": scalar_plain(op, np.float64(1.5), np.float64(1.2), np.sqrt, k),
            "numpy-0d": scalar_plain(op, np.array(1.5), np.array(1.2), np.sqrt, k),
        }
        m = measure(ours, cfg)  # these take turns: the targets compare them
        single = {"blasad-tape-1": scalar_tape_single(op, k1), "blasad-1": scalar_autodiff_single(op, k1)}
        m |= measure_each(single, cfg)  # a Tape per operation allocates: alone
        if torch is not None:
            r, s = torch.tensor(1.5, dtype=torch.float64), torch.tensor(1.2, dtype=torch.float64)
            m |= measure_each({"torch": scalar_plain(op, r, s, torch.sqrt, k),
                               "torch-grad": scalar_torch_grad(torch, op, k)}, cfg)  # fmt: skip
        for name, t in m.items():
            if name == "torch-grad":  # forward: the operation alone; total: with its backward()
                t = {"forward": t["forward"], "backward": t["fwd+bwd"] - t["forward"], "total": t["fwd+bwd"]}
            steps = k1 if name in single else k
            rows.append(_scalar_row("scalar-plain", op.label, name, threads, t, steps))
    empty = measure({"python": scalar_plain(EMPTY_OP, np.float64(1.5), np.float64(1.2), np.sqrt, k)}, cfg)
    rows.append(_scalar_row("scalar-plain", EMPTY_OP.label, "python", threads, empty["python"], k))
    return rows


# ---------------------------------------------------------------------------------------------
# conjugate gradient
# ---------------------------------------------------------------------------------------------

CG_SIZES = ((32, 10), (1000, 10))  # (n, k): a small and a medium system, k iterations each
CG_QUICK_SIZES = ((32, 10), (512, 10))


def _rel(got: np.ndarray, want: np.ndarray) -> float:
    """The largest difference relative to the largest entry of want."""
    return float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-300))


def cg_checks(A: np.ndarray, b: np.ndarray, seed: np.ndarray, k: int, torch: Any = None) -> dict[str, float]:
    """blasad's gradient of ⟨seed, x_k⟩ (A and b active) through the Tape API against
    autodiff's ("autodiff"), PyTorch's on the out-of-place program ("torch", when torch is
    given), both as the largest difference relative to the largest entry, and against a
    central difference of the NumPy program along a random symmetric direction ("fd",
    relative error of the directional derivative)."""
    n = b.size
    x, r, p, Ap = (np.zeros(n) for _ in range(4))
    with ba.Tape() as tape:
        tape.watch(A, b)
        cg_blasad(A, b, x, r, p, Ap, k)
    tape.backward(x, seed)
    gA, gb = tape.grad(A), tape.grad(b)
    arrays = [A, b, x, r, p, Ap]
    shadows = [np.zeros_like(v) for v in arrays]
    shadows[2][:] = seed

    def f(A: np.ndarray, b: np.ndarray, x: np.ndarray, r: np.ndarray, p: np.ndarray, Ap: np.ndarray) -> None:
        cg_blasad(A, b, x, r, p, Ap, k)

    ba.autodiff(f, *(ba.Duplicated(v, s) for v, s in zip(arrays, shadows)))
    out = {"autodiff": max(_rel(shadows[0], gA), _rel(shadows[1], gb))}
    if torch is not None:
        At, bt = (torch.from_numpy(v.copy()).requires_grad_(True) for v in (A, b))
        cg_functional(At, bt, k, torch.zeros_like).backward(torch.from_numpy(seed.copy()))
        out["torch"] = max(_rel(gA, At.grad.numpy()), _rel(gb, bt.grad.numpy()))
    rng = np.random.default_rng(1)
    V, v = rng.standard_normal((n, n)), rng.standard_normal(n)
    V = (V + V.T) / np.linalg.norm(V + V.T)  # ‖V‖_F = 1, symmetric: A + h V stays SPD
    v /= np.linalg.norm(v)
    h = 1e-5

    def loss(t: float) -> float:
        return float(seed @ cg_numpy(A + t * V, b + t * v, k))

    fd = (loss(h) - loss(-h)) / (2 * h)
    ad = float(np.sum(gA * V) + gb @ v)
    out["fd"] = abs(fd - ad) / max(abs(ad), 1e-300)
    return out


def case_cg(n: int, k: int, threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """k iterations of conjugate gradient on an n × n SPD system (cg_blasad; loss ⟨seed, x_k⟩,
    A and b active): blasad through autodiff (preallocated shadows; its plain forward, no
    tape, in the same repetition) and the Tape API, plain NumPy (forward only, the floor) and
    PyTorch autograd on the out-of-place program. Its gradient is checked once first."""
    rng = np.random.default_rng(n)
    A, b, seed = spd_matrix(n, rng), rng.standard_normal(n), rng.standard_normal(n)
    x, r, p, Ap = (np.zeros(n) for _ in range(4))
    arrays = [A, b, x, r, p, Ap]
    checks = cg_checks(A, b, seed, k, peers.torch)

    def f(A: np.ndarray, b: np.ndarray, x: np.ndarray, r: np.ndarray, p: np.ndarray, Ap: np.ndarray) -> None:
        cg_blasad(A, b, x, r, p, Ap, k)

    shadows = [np.zeros_like(a) for a in arrays]
    ours = {
        "blasad": program_sample(f, arrays, shadows, {2: seed}),
        "numpy": numpy_sample(lambda: cg_numpy(A, b, k)),
    }
    m = measure(ours, cfg)  # blasad and the floor take turns
    tape = tape_program_sample(f, arrays, [A, b], x, seed)
    m |= measure_each({"blasad-tape": tape}, cfg)  # each Tape allocates its shadows: alone
    if peers.torch is not None:
        torch = peers.torch

        def expr(A: Any, b: Any) -> Any:
            return cg_functional(A, b, k, torch.zeros_like)

        m |= measure_each({"torch": torch_sample(torch, expr, [A, b], seed)}, cfg)
    rows = []
    for name, t in m.items():
        extra: dict[str, Any] = (
            {"plain": t["plain"], "fwd_plain": t["fwd/plain"], "checks": checks} if name == "blasad" else {}
        )
        note = "forward only" if name == "numpy" else ""
        bwd = t.get("backward", math.nan)
        rows.append(
            Row("cg", name, F64, n, threads, t["forward"], bwd, t["total"], steps=k, note=note, **extra)
        )
    return rows


# ---------------------------------------------------------------------------------------------
# tape bytes per call: the memory a recording holds for each tiny call
# ---------------------------------------------------------------------------------------------


def _rss_bytes() -> int:
    """The resident set size of this process in bytes: /proc/self/statm where there is one,
    else getrusage's peak (which a growing recording raises alike)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def tape_growth(framework: str, calls: int) -> dict[str, float]:
    """The resident memory growth ("bytes") and the time ("seconds") of recording `calls` tiny
    calls y ← 2 x + y on length-4 float64 vectors, x active, in this process: blasad,
    ``ba.axpy(2.0, x, y)`` inside one Tape with x watched; torch, ``y.add_(x, alpha=2.0)``
    with x requiring grad. A short recording first warms up (the lazy allocations of a first
    call); the growth is measured while the recording is still alive."""
    out: dict[str, float] = {}
    for k in (1000, calls):
        if framework == "torch":
            import torch

            x = torch.ones(4, dtype=torch.float64, requires_grad=True)
            y = torch.zeros(4, dtype=torch.float64)
            rss, t0 = _rss_bytes(), now()
            for _ in range(k):
                y.add_(x, alpha=2.0)
            out = {"seconds": now() - t0, "bytes": _rss_bytes() - rss}
            del y  # the graph, before the next recording
            continue
        x, y = np.ones(4), np.zeros(4)
        with ba.Tape() as tape:
            tape.watch(x)
            rss, t0 = _rss_bytes(), now()
            for _ in range(k):
                ba.axpy(2.0, x, y)
            out = {"seconds": now() - t0, "bytes": _rss_bytes() - rss}
        assert tape.ncalls == k, (tape.ncalls, k)
    return out


def case_tape_bytes(threads: int, peers: Peers, calls: int = TAPE_BYTES_CALLS) -> list[Row]:
    """The memory a recording holds per tiny call (tape_growth), blasad's and PyTorch's when
    installed, each in a fresh Python process: memory that earlier cases freed, and that the
    allocator keeps, would otherwise absorb the growth."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(ba.__file__)))  # this blasad, in the child too
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    code = (
        "import json, sys; from blasad.bench.cases import tape_growth as g; "
        "print(json.dumps(g(sys.argv[1], int(sys.argv[2]))))"
    )
    rows = []
    for fw in ["blasad"] + (["torch"] if peers.torch is not None else []):
        child = subprocess.run([sys.executable, "-c", code, fw, str(calls)], env=env, capture_output=True,
                               text=True)  # fmt: skip
        if child.returncode != 0:
            raise RuntimeError(f"tape bytes ({fw}): the measuring process failed:\n{child.stderr[-2000:]}")
        m = json.loads(child.stdout.splitlines()[-1])
        t = m["seconds"]
        rows.append(Row("tape-bytes", fw, F64, 4, threads, t, math.nan, t, steps=calls,
                        bytes_per_step=m["bytes"] / calls))  # fmt: skip
    return rows


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
