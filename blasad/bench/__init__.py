"""The benchmark report: blasad against the ideal adjoint and against other AD frameworks.

Run it as ``python -m blasad.bench`` (``--help`` lists the options). It measures, in one run
and for each BLAS thread count asked for:

- one gemm, gemv and axpy per size n (axpy on vectors of length n², the data volume of the
  n × n gemv): forward, reverse sweep, total, reverse/forward, total/ideal;
- chains of 1000 tiny dependent calls (4 × 4 gemm X ← W X, 8-vector gemv + axpy), in µs per step;
- memory: the bytes the tape copied against the bytes of the inputs;

for these frameworks:

- ``blasad``: ``ba.autodiff`` with preallocated shadows (re-seeded before each repetition); the
  forward is timed inside the differentiated function, the reverse is everything after it;
- ``blasad-tape``: the same through ``Tape`` (watch, backward, grad: it allocates the shadows);
- ``ideal``: the same adjoint by hand, direct CBLAS calls (through blasad's own cffi extension)
  on the very OpenBLAS blasad links to, into preallocated buffers, pointers computed once;
- ``torch``, ``jax-jit``, ``jax-eager``, ``autograd`` (HIPS) when they are installed.

Every time is the median of repeated ``time.perf_counter`` samples after warm-up runs. The
frameworks a target compares take turns in a few rounds (a drift of the machine touches them
alike); in its turn each first runs untimed repetitions, so that its timed ones start from the
caches its own repetitions leave: the steady state of a program that repeats its step. Each
forward starts alike for all: after a reverse sweep and a refill of the output's adjoint from
the seed (untimed). blasad and the ideal work on the same buffers and adjoints. A repetition of
``blasad`` times, back to back, the call without a tape ("plain"), the hand-written reverse and
autodiff; the targets that compare these take the median of the ratio within each repetition,
in which a drift of the machine's speed cancels. Targets are checked and printed as PASS/FAIL;
the exit status does not depend on them.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.metadata
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import scipy_openblas64

import blasad as ba
from blasad._native_loader import ffi, lib

SIZES = (4, 16, 64, 256, 1024, 2048)
QUICK_SIZES = (4, 16, 64, 256)
CHAIN_STEPS = 1000
ROUNDS = 8  # the samples of a case take turns this many times
WARM_TIME = 0.08  # seconds of untimed repetitions at the start of a sample's turn
AXPY_ALPHA = 0.5
FRAMEWORKS = ("blasad", "blasad-tape", "ideal", "torch", "jax-jit", "jax-eager", "autograd")
PEERS = ("torch", "jax-jit", "jax-eager", "autograd")
JAX_JIT_NOTE = "reverse = (fwd+vjp) - fwd"
README_COMMAND = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m blasad.bench"

Sample = Callable[[], dict[str, float]]  # one timed repetition: segment name -> seconds
now = time.perf_counter


def phases(t0: float, t1: float, t2: float) -> dict[str, float]:
    """A repetition's segments from the clock read at its start, between forward and reverse,
    and at its end."""
    return {"forward": t1 - t0, "backward": t2 - t1, "total": t2 - t0}


# ---------------------------------------------------------------------------------------------
# configuration, timing, progress
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Config:
    """What to measure and how long to spend on each measurement."""

    sizes: tuple[int, ...]
    threads: tuple[int, ...]
    peers: bool
    plot: str
    quick: bool
    budget: float  # seconds of timed repetitions per measurement
    min_reps: int  # repetitions at least ...
    min_reps_slow: int  # ... or this many when one repetition costs more than `slow` seconds
    slow: float
    max_reps: int


def make_config(args: argparse.Namespace) -> Config:
    """--quick: sizes up to 256 and about 10 ms of repetitions per measurement; else 1.5 s."""
    threads, peers, plot = tuple(args.threads), not args.no_peers, args.plot
    if args.quick:
        sizes = tuple(args.sizes or QUICK_SIZES)
        return Config(sizes, threads, peers, plot, quick=True, budget=0.01, min_reps=3, min_reps_slow=1,
                      slow=0.05, max_reps=50)  # fmt: skip
    sizes = tuple(args.sizes or SIZES)
    return Config(sizes, threads, peers, plot, quick=False, budget=1.5, min_reps=24, min_reps_slow=15,
                  slow=0.25, max_reps=2000)  # fmt: skip


def _warm_up(sample: Sample, cfg: Config) -> tuple[int, int]:
    """Run sample once or twice untimed (compilation, page faults, caches); return how many
    repetitions fill cfg.budget, and how many untimed ones start each of its turns: those of
    WARM_TIME seconds (one when a repetition is slow, over cfg.slow)."""
    cost = sample()["total"]
    if not (cfg.quick and cost > cfg.slow):  # --quick: one warm-up of a slow case is enough
        cost = sample()["total"]
    least = cfg.min_reps_slow if cost > cfg.slow else cfg.min_reps
    reps = max(least, min(cfg.max_reps, int(cfg.budget / max(cost, 1e-9))))
    warm = 1 if cost > cfg.slow else min(cfg.max_reps, math.ceil(WARM_TIME / max(cost, 1e-9)))
    return reps, warm


def measure(samples: dict[str, Sample], cfg: Config) -> dict[str, dict[str, float]]:
    """The median of each segment of each sample over its repetitions.

    The samples take turns in ROUNDS rounds (a…a b…b c…c, a…a b…b c…c, ...) so that a drift
    in the machine's speed touches them alike: their ratios are what the targets check. In a
    round a sample first runs untimed repetitions (see _warm_up), so that its timed ones start
    from the caches its own repetitions leave: the steady state of a program repeating its
    step (on the development machine, a memory-bound call takes some 50 ms of repetitions to
    reach it after another sample's), then its share of timed ones. Every sample reports a "total" (its cost),
    from which its numbers of repetitions are chosen.
    """
    reps, warm = {}, {}
    for name, sample in samples.items():
        reps[name], warm[name] = _warm_up(sample, cfg)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in samples}
    for r in range(ROUNDS):
        for name, sample in samples.items():
            todo = -(-reps[name] * (r + 1) // ROUNDS) - len(runs[name])  # this round's share
            if todo <= 0:
                continue
            for _ in range(warm[name]):
                sample()
            runs[name] += [sample() for _ in range(todo)]
    return {name: {k: statistics.median(x[k] for x in rs) for k in rs[0]} for name, rs in runs.items()}


def measure_each(samples: dict[str, Sample], cfg: Config) -> dict[str, dict[str, float]]:
    """Like measure, one sample after the other: for the peers, whose thread pools would
    otherwise spin against OpenBLAS's and one another's, and for samples that allocate their
    buffers anew in each repetition (they would evict the others' data from the caches)."""
    out: dict[str, dict[str, float]] = {}
    for name, sample in samples.items():
        out.update(measure({name: sample}, cfg))
    return out


class Progress:
    """A one-line progress bar on stderr (a line per tenth when stderr is not a terminal)."""

    def __init__(self, total: int, width: int = 30) -> None:
        self.total, self.width, self.done = max(total, 1), width, 0
        self.tty = sys.stderr.isatty()
        self.start = now()
        self._last_tenth = -1

    def step(self, label: str) -> None:
        """Announce the next task, `label`, and draw the bar for the tasks done so far."""
        frac = self.done / self.total
        bar = "#" * int(frac * self.width)
        line = f"[{bar:<{self.width}}] {self.done:>3}/{self.total} {now() - self.start:6.1f}s  {label}"
        if self.tty:
            sys.stderr.write("\r" + line[:110].ljust(110))
            sys.stderr.flush()
        elif int(frac * 10) != self._last_tenth:
            self._last_tenth = int(frac * 10)
            sys.stderr.write(line + "\n")
        self.done += 1

    def close(self) -> None:
        self.done = self.total
        self.step("done")
        if self.tty:
            sys.stderr.write("\n")


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    """One measurement. Times in seconds for the whole case (a chain: all of its steps)."""

    case: str  # gemm, gemv, axpy, chain-gemm, chain-gemv-axpy
    framework: str
    dtype: str  # float32 / float64
    n: int
    threads: int  # 0: not limited
    forward: float  # the forward under AD (recording)
    backward: float  # the reverse sweep
    total: float  # forward + reverse (median of per-repetition sums)
    plain: float | None = None  # the forward without AD
    fwd_plain: float | None = None  # median over repetitions of forward / plain (blasad)
    rev_plain: float | None = None  # median over repetitions of backward / plain (blasad)
    rev_ideal: float | None = None  # median over repetitions of backward / the ideal's (blasad)
    steps: int = 1
    note: str = ""


def _row(case: str, fw: str, dtype: Any, n: int, threads: int, m: dict[str, float], **kw: Any) -> Row:
    return Row(case, fw, np.dtype(dtype).name, n, threads, m["forward"], m["backward"], m["total"], **kw)


def find(rows: Sequence[Row], **key: Any) -> Row | None:
    """The first row whose fields equal `key`."""
    for r in rows:
        if all(getattr(r, k) == v for k, v in key.items()):
            return r
    return None


# ---------------------------------------------------------------------------------------------
# the ideal: direct CBLAS calls on blasad's own OpenBLAS
# ---------------------------------------------------------------------------------------------

ROW_MAJOR, NO_TRANS, TRANS = lib.CblasRowMajor, lib.CblasNoTrans, lib.CblasTrans


def cblas(name: str, dtype: Any) -> Any:
    """The CBLAS routine `name` (gemm, gemv, ger, axpy, copy) for dtype, from blasad's own cffi
    extension (csrc/cblas_cdef.h): a direct call into the OpenBLAS that blasad links to."""
    return getattr(lib, f"scipy_cblas_{'s' if np.dtype(dtype) == np.float32 else 'd'}{name}64_")


def ptr(a: np.ndarray) -> Any:
    """A typed pointer to the C-contiguous array a, which it keeps alive."""
    return ffi.from_buffer("float[]" if a.dtype == np.float32 else "double[]", a)


# ---------------------------------------------------------------------------------------------
# the peers
# ---------------------------------------------------------------------------------------------


class Peers:
    """The AD frameworks found installed; `notes` says why the others are skipped."""

    def __init__(self, enabled: bool) -> None:
        self.torch: Any = None
        self.jax: Any = None
        self.autograd: Any = None
        self.notes: list[str] = []
        self._jit: dict[tuple[str, ...], Any] = {}
        self.jax_threads = 0  # the thread count under which JAX is measured (see jax_at)
        if not enabled:
            self.notes.append("peers skipped (--no-peers)")
            return
        try:
            import torch

            self.torch = torch
        except ImportError:
            self.notes.append("torch not installed: skipped (pip install 'blasad[bench]')")
        try:
            import jax

            jax.config.update("jax_enable_x64", True)  # float64 arrays stay float64
            self.jax = jax
        except ImportError:
            self.notes.append("jax not installed: skipped (pip install 'blasad[bench]')")
        try:
            import autograd

            self.autograd = autograd
        except ImportError:
            self.notes.append("autograd (HIPS) not installed: skipped (pip install 'blasad[bench]')")
        if self.jax is not None:
            self.notes.append(
                "jax: XLA keeps its own thread pool, which --threads does not limit: measured once, "
                "under the first thread count"
            )

    def jax_at(self, threads: int) -> Any:
        """jax when it is installed and `threads` is the thread count it is measured under."""
        return self.jax if threads == self.jax_threads else None

    def versions(self) -> list[str]:
        mods = (("torch", self.torch), ("jax", self.jax), ("jaxlib", self.jax), ("autograd", self.autograd))
        return [f"{name} {_version(name)}" for name, m in mods if m is not None]

    def jit(self, key: tuple[str, ...], make: Callable[[], Any]) -> Any:
        """A jitted function, made once per key so that the compilation cache is reused."""
        if key not in self._jit:
            self._jit[key] = make()
        return self._jit[key]

    @contextlib.contextmanager
    def threads(self, n: int) -> Iterator[None]:
        """Limit torch's intra-op threads to n (0: leave as is) for the duration."""
        if self.torch is None or n <= 0:
            yield
            return
        before = self.torch.get_num_threads()
        self.torch.set_num_threads(n)
        try:
            yield
        finally:
            self.torch.set_num_threads(before)


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _block(x: Any) -> Any:
    """Wait for JAX's asynchronous dispatch to finish computing x."""
    import jax

    return jax.block_until_ready(x)


# ---------------------------------------------------------------------------------------------
# single calls: gemm, gemv, axpy
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class OpProblem:
    """One call of a routine on preallocated buffers, with its adjoint seed.

    ``arrays`` are blasad's buffers in call order, ``arrays[out]`` the output; ``inputs`` the
    active inputs; ``expr`` the same call written functionally for the AD peers. ``shadows``
    (one per array, ``shadows[out]`` the output's adjoint) serve blasad and the hand-written
    ideal alike: both then work on the same memory, so that where the allocator put a buffer
    (huge pages or not, cache sets) cannot favour either.
    """

    op: str
    n: int
    dtype: Any
    arrays: list[np.ndarray]
    out: int
    inputs: list[np.ndarray]
    seed: np.ndarray
    call: Callable[..., Any]
    expr: Callable[..., Any]
    shadows: list[np.ndarray] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.shadows:
            self.shadows = [np.zeros_like(a) for a in self.arrays]

    def reseed(self) -> None:
        """The output's adjoint ← the seed (a reverse sweep consumes it)."""
        np.copyto(self.shadows[self.out], self.seed)


def make_problem(op: str, n: int, dtype: Any, rng: np.random.Generator) -> OpProblem:
    """gemm C ← A B (n × n), gemv y ← A x (n × n), or axpy y ← α x + y (length n²)."""

    def rand(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(dtype)

    call: Callable[..., Any]
    expr: Callable[..., Any]
    if op == "gemm":
        A, B, C = rand(n, n), rand(n, n), np.zeros((n, n), dtype)
        arrays, out, inputs, seed = [A, B, C], 2, [A, B], rand(n, n)
        call, expr = (lambda A, B, C: ba.gemm(1.0, A, B, 0.0, C)), (lambda A, B: A @ B)
    elif op == "gemv":
        A, x, y = rand(n, n), rand(n), np.zeros(n, dtype)
        arrays, out, inputs, seed = [A, x, y], 2, [A, x], rand(n)
        call, expr = (lambda A, x, y: ba.gemv(1.0, A, x, 0.0, y)), (lambda A, x: A @ x)
    elif op == "axpy":
        x, y = rand(n * n), rand(n * n)
        arrays, out, inputs, seed = [x, y], 1, [x, y], rand(n * n)
        call, expr = (lambda x, y: ba.axpy(AXPY_ALPHA, x, y)), (lambda x, y: AXPY_ALPHA * x + y)
    else:
        raise ValueError(f"unknown op {op!r}")
    return OpProblem(op, n, dtype, arrays, out, inputs, seed, call, expr)


def blasad_sample(p: OpProblem, reverse: Callable[[], Any] | None = None) -> Sample:
    """One repetition: the plain call (no tape); reverse(), the hand-written reverse sweep on
    the same buffers; then ``ba.autodiff`` with p.shadows, its forward timed inside the
    differentiated function, its reverse everything after it. The output's adjoint is refilled
    from the seed (untimed) before each of the two forwards, so that both start from the caches
    a reverse sweep and a re-seed leave. Besides the times, the ratios fwd AD / plain, reverse /
    plain and reverse / hand-written reverse are taken within each repetition (at most seconds
    apart, where the samples of a case take turns over a minute or more; a drift of the
    machine's speed cancels in them); the report gives their medians."""
    marks = [0.0, 0.0]

    def f(*arrays: np.ndarray) -> None:
        marks[0] = now()
        p.call(*arrays)
        marks[1] = now()

    def sample() -> dict[str, float]:
        p.reseed()
        t0 = now()
        p.call(*p.arrays)
        plain = now() - t0
        t0 = now()
        if reverse is not None:
            reverse()
        ideal = now() - t0
        p.reseed()
        t0 = now()
        ba.autodiff(f, *(ba.Duplicated(a, s) for a, s in zip(p.arrays, p.shadows)))
        t3 = now()
        fwd, bwd = marks[1] - marks[0], t3 - marks[1]
        out = {"plain": plain, "forward": fwd, "backward": bwd, "total": t3 - t0,
               "fwd/plain": fwd / plain, "rev/plain": bwd / plain}  # fmt: skip
        if reverse is not None:
            out["rev/ideal"] = bwd / ideal
        return out

    return sample


def blasad_tape(p: OpProblem) -> Sample:
    """The Tape API: watch, record, backward, grad of every input (shadows allocated by blasad)."""
    output = p.arrays[p.out]

    def sample() -> dict[str, float]:
        t0 = now()
        with ba.Tape() as tape:
            tape.watch(*p.inputs)
            t1 = now()
            p.call(*p.arrays)
            t2 = now()
        tape.backward(output, p.seed)
        for x in p.inputs:
            tape.grad(x)
        t3 = now()
        return {"forward": t2 - t1, "backward": t3 - t2, "total": t3 - t0}

    return sample


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


def two_phase(
    fwd: Callable[[], Any], bwd: Callable[[], Any], before: Callable[[], Any] | None = None
) -> Sample:
    """Time fwd() then bwd() as one repetition, after before() (untimed)."""

    def sample() -> dict[str, float]:
        if before is not None:
            before()
        t0 = now()
        fwd()
        t1 = now()
        bwd()
        t2 = now()
        return phases(t0, t1, t2)

    return sample


def torch_sample(
    torch: Any, expr: Callable[..., Any], inputs: Sequence[np.ndarray], seed: np.ndarray
) -> Sample:
    """PyTorch autograd: expr on leaf tensors, then out.backward(seed)."""
    ins = [torch.from_numpy(x.copy()).requires_grad_(True) for x in inputs]
    s = torch.from_numpy(seed.copy())

    def sample() -> dict[str, float]:
        for t in ins:
            t.grad = None
        t0 = now()
        out = expr(*ins)
        t1 = now()
        out.backward(s)
        t2 = now()
        return phases(t0, t1, t2)

    return sample


def jax_jit_sample(
    peers: Peers, key: str, expr: Callable[..., Any], inputs: Sequence[np.ndarray], seed: np.ndarray
) -> Sample:
    """jax.jit of the forward, and of forward + vjp; the reverse is their difference."""
    jax = peers.jax

    def both(ins: tuple[Any, ...], s: Any) -> Any:
        out, vjp = jax.vjp(expr, *ins)
        return out, vjp(s)

    fwd = peers.jit(("fwd", key), lambda: jax.jit(expr))
    total = peers.jit(("total", key), lambda: jax.jit(both))
    ins = tuple(jax.numpy.asarray(x) for x in inputs)
    s = jax.numpy.asarray(seed)

    def sample() -> dict[str, float]:
        t0 = now()
        _block(fwd(*ins))
        t1 = now()
        _block(total(ins, s))
        t2 = now()
        return {"forward": t1 - t0, "backward": (t2 - t1) - (t1 - t0), "total": t2 - t1}

    return sample


def jax_eager_sample(
    jax: Any, expr: Callable[..., Any], inputs: Sequence[np.ndarray], seed: np.ndarray
) -> Sample:
    """jax.vjp run op by op (no jit)."""
    ins = [jax.numpy.asarray(x) for x in inputs]
    s = jax.numpy.asarray(seed)

    def sample() -> dict[str, float]:
        t0 = now()
        out, vjp = jax.vjp(expr, *ins)
        _block(out)
        t1 = now()
        _block(vjp(s))
        t2 = now()
        return phases(t0, t1, t2)

    return sample


def autograd_sample(
    autograd: Any, expr: Callable[..., Any], inputs: Sequence[np.ndarray], seed: np.ndarray
) -> Sample:
    """HIPS autograd: make_vjp over every input, then the vjp."""
    make_vjp = autograd.make_vjp(expr, argnum=tuple(range(len(inputs))))

    def sample() -> dict[str, float]:
        t0 = now()
        vjp, _ = make_vjp(*inputs)
        t1 = now()
        vjp(seed)
        t2 = now()
        return phases(t0, t1, t2)

    return sample


def peer_samples(
    peers: Peers,
    threads: int,
    key: str,
    expr: Callable[..., Any],
    inputs: Sequence[np.ndarray],
    seed: np.ndarray,
) -> dict[str, Sample]:
    """A sample per installed peer for the functional program expr(*inputs) -> output."""
    out: dict[str, Sample] = {}
    if peers.torch is not None:
        out["torch"] = torch_sample(peers.torch, expr, inputs, seed)
    if peers.jax_at(threads) is not None:
        out["jax-jit"] = jax_jit_sample(peers, key, expr, inputs, seed)
        out["jax-eager"] = jax_eager_sample(peers.jax, expr, inputs, seed)
    if peers.autograd is not None:
        out["autograd"] = autograd_sample(peers.autograd, expr, inputs, seed)
    return out


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


def _autodiff_sample(
    f: Callable[..., None],
    arrays: Sequence[np.ndarray],
    shadows: Sequence[np.ndarray],
    seeds: dict[int, np.ndarray],
    marks: list[float],
) -> Sample:
    """ba.autodiff(f) over Duplicated(arrays[i], shadows[i]); f stores its end time in marks[0].

    Before each run (untimed) the arrays get their initial values back, since f overwrites
    them, and the shadows their seeds (zero where none is given).
    """
    initial = [a.copy() for a in arrays]

    def sample() -> dict[str, float]:
        for a, a0 in zip(arrays, initial):
            np.copyto(a, a0)
        for i, s in enumerate(shadows):
            if i in seeds:
                np.copyto(s, seeds[i])
            else:
                s.fill(0)
        t0 = now()
        ba.autodiff(f, *(ba.Duplicated(a, s) for a, s in zip(arrays, shadows)))
        t2 = now()
        return phases(t0, marks[0], t2)

    return sample


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
    samples = {"blasad": _autodiff_sample(f, arrays, shadows, {1: seed}, marks)}  # X0 holds the final X
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
    samples = {"blasad": _autodiff_sample(f, arrays, shadows, {1: seed}, marks)}
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


# ---------------------------------------------------------------------------------------------
# memory: what the tape copies
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class MemoryResult:
    scenario: str
    input_bytes: int  # bytes of the watched inputs
    copied: int  # tape.bytes_copied
    expected: int  # the overwritten ranges that the reverse sweep needs


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


# ---------------------------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Target:
    name: str
    where: str
    measured: str
    status: str  # PASS, FAIL or SKIP


def _get(r: Row | None, field: str) -> float | None:
    return None if r is None else getattr(r, field)


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or den is None or den <= 0 else num / den


def _target(name: str, where: str, value: float | None, limit: float, fmt: str = "{:.3f}×") -> Target:
    """PASS when value ≤ limit (≥ when the name says "faster"); SKIP when not measured."""
    if value is None:
        return Target(name, where, "not measured", "SKIP")
    ok = value >= limit if "faster" in name else value <= limit
    return Target(name, where, fmt.format(value), "PASS" if ok else "FAIL")


def check_targets(rows: Sequence[Row], memory: Sequence[MemoryResult], cfg: Config) -> list[Target]:
    """Every target of the report, per dtype, size and thread count measured."""
    out: list[Target] = []
    big = [n for n in cfg.sizes if n >= 1024]
    for t in cfg.threads:
        for dtype in ("float64", "float32"):
            if not big:
                why = "n ≥ 1024 not measured (--quick or --sizes)"
                out.append(
                    Target(
                        "gemm n ≥ 1024: reverse, total, taped forward",
                        f"{dtype} threads={_threads_label(t)}",
                        why,
                        "SKIP",
                    )
                )
            for n in big:
                b = find(rows, case="gemm", framework="blasad", dtype=dtype, n=n, threads=t)
                i = find(rows, case="gemm", framework="ideal", dtype=dtype, n=n, threads=t)
                where = f"{dtype} n={n} threads={_threads_label(t)}"
                out += [
                    _target(
                        "gemm reverse ≤ 2.05 × forward",
                        where,
                        _get(b, "rev_plain"),
                        2.05,
                    ),
                    _target(
                        "gemm total ≤ 1.03 × ideal", where, _ratio(_get(b, "total"), _get(i, "total")), 1.03
                    ),
                    _target(
                        "gemm forward under tape ≤ 1.02 × plain",
                        where,
                        _get(b, "fwd_plain"),
                        1.02,
                    ),
                ]
            for op in ("gemv", "axpy"):
                b = find(rows, case=op, framework="blasad", dtype=dtype, n=2048, threads=t)
                ratio = _get(b, "rev_ideal")
                out.append(
                    _target(
                        f"{op} n=2048 reverse ≤ 1.05 × ideal",
                        f"{dtype} threads={_threads_label(t)}",
                        ratio,
                        1.05,
                    )
                )
        out += _chain_targets(rows, t)
    for m in memory:
        measured = f"{m.copied} B (expected {m.expected} B)"
        status = "PASS" if m.copied == m.expected else "FAIL"
        out.append(Target("tape copies exactly the needed overwritten bytes", m.scenario, measured, status))
    return out


def _chain_targets(rows: Sequence[Row], t: int) -> list[Target]:
    b = find(rows, case="chain-gemm", framework="blasad", threads=t)
    torch = find(rows, case="chain-gemm", framework="torch", threads=t)
    g = find(rows, case="chain-gemv-axpy", framework="blasad", threads=t)
    us = "{:.2f} µs/step"
    where = f"threads={_threads_label(t)}"
    return [
        _target(
            "4×4 gemm chain: record + reverse ≤ 1.5 µs/step",
            where,
            None if b is None else b.total / b.steps * 1e6,
            1.5,
            us,
        ),
        _target(
            "4×4 gemm chain ≥ 6× faster than PyTorch",
            where,
            _ratio(_get(torch, "total"), _get(b, "total")),
            6,
        ),
        _target(
            "8-vector gemv + axpy chain ≤ 2.0 µs/step",
            where,
            None if g is None else g.total / g.steps * 1e6,
            2.0,
            us,
        ),
    ]


# ---------------------------------------------------------------------------------------------
# output: tables, plot, environment
# ---------------------------------------------------------------------------------------------


def fmt_time(s: float | None) -> str:
    """Seconds in µs, ms or s with three significant digits."""
    if s is None or math.isnan(s):
        return "-"
    a = abs(s)
    if a < 1e-3:
        return f"{s * 1e6:.3g} µs"
    if a < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> None:
    """A plain-text table; `align` has an 'l' or 'r' per column (default: first left, rest right)."""
    align = align or "l" + "r" * (len(headers) - 1)
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(cells, widths, align)
        ).rstrip()

    print(f"\n{title}")
    print(line(headers))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))


def _threads_label(t: int) -> str:
    return str(t) if t > 0 else "default"


OP_HEADERS = ("framework", "dtype", "n", "threads", "fwd plain", "fwd AD", "reverse", "total", "rev/fwd",
              "total/ideal", "note")  # fmt: skip
OP_WHAT = {"gemm": "C ← A B, n × n", "gemv": "y ← A x, A n × n", "axpy": "y ← α x + y, length n²"}


def print_op_tables(rows: Sequence[Row]) -> None:
    """A table per routine: every framework, size, dtype and thread count."""
    for op, what in OP_WHAT.items():
        ideal = {(r.dtype, r.n, r.threads): r for r in rows if r.case == op and r.framework == "ideal"}
        body = []
        for r in sorted((r for r in rows if r.case == op), key=_op_order):
            i = ideal.get((r.dtype, r.n, r.threads))
            fwd = r.plain if r.plain is not None else r.forward
            rev_fwd = r.rev_plain if r.rev_plain is not None else r.backward / fwd if fwd > 0 else None
            rev_fwd_text = "-" if rev_fwd is None else f"{rev_fwd:.2f}"
            vs_ideal = f"{r.total / i.total:.3f}" if i is not None and i.total > 0 else "-"
            body.append([r.framework, r.dtype, str(r.n), _threads_label(r.threads), fmt_time(r.plain),
                         fmt_time(r.forward), fmt_time(r.backward), fmt_time(r.total), rev_fwd_text, vs_ideal,
                         r.note])  # fmt: skip
        if body:
            print_table(f"{op}: {what}; times per call (median)", OP_HEADERS, body, "llrrrrrrrrl")
    print(
        "  fwd AD: the forward while recording (blasad: inside autodiff); rev/fwd divides by fwd plain\n"
        "  when measured (blasad: the median of reverse / plain within each repetition, which times\n"
        "  both); blasad's total includes autodiff's set-up (Tape, Duplicated checks);\n"
        "  blasad-tape's reverse includes backward() and a grad() (a copy) per input, and each Tape\n"
        "  allocates its shadows."
    )


def _op_order(r: Row) -> tuple[Any, ...]:
    return (r.threads, r.dtype, r.n, FRAMEWORKS.index(r.framework) if r.framework in FRAMEWORKS else 99)


def print_chain_table(rows: Sequence[Row]) -> None:
    """µs per step of each chain, framework and thread count, and the speed-up over PyTorch."""
    body = []
    chains = [r for r in rows if r.case.startswith("chain")]
    for r in sorted(chains, key=lambda r: (r.case, r.threads, FRAMEWORKS.index(r.framework))):
        torch = find(rows, case=r.case, framework="torch", threads=r.threads)
        us = 1e6 / r.steps
        vs_torch = f"{torch.total / r.total:.2f}×" if torch is not None else "-"
        body.append([r.case, _threads_label(r.threads), r.framework, f"{r.forward * us:.2f}",
                     f"{r.backward * us:.2f}", f"{r.total * us:.2f}", vs_torch, r.note])  # fmt: skip
    if body:
        title = (f"chains of {CHAIN_STEPS} dependent tiny calls (µs per step; float64): chain-gemm = 4×4 "
                 "X ← W X, chain-gemv-axpy = 8-vector y ← A x; x ← a y + x")  # fmt: skip
        headers = ("chain", "threads", "framework", "record", "reverse", "total", "vs torch", "note")
        print_table(title, headers, body, "lllrrrrl")


def print_memory_table(memory: Sequence[MemoryResult]) -> None:
    """Bytes copied by the tape per program, against the inputs and the expected count."""
    body = []
    for m in memory:
        status = "PASS" if m.copied == m.expected else "FAIL"
        ratio = f"{m.copied / m.input_bytes:.3f}"
        body.append([m.scenario, str(m.input_bytes), str(m.copied), str(m.expected), ratio, status])
    headers = ("program (float64)", "inputs B", "copied B", "expected B", "copied/inputs", "")
    title = "memory: bytes the tape copied (tape.bytes_copied) against the bytes of the watched inputs"
    print_table(title, headers, body, "lrrrrl")


def print_targets(targets: Sequence[Target]) -> None:
    body = [[t.status, t.name, t.where, t.measured] for t in targets]
    print_table("targets", ["", "target", "where", "measured"], body, "llll")
    counts = {s: sum(t.status == s for t in targets) for s in ("PASS", "FAIL", "SKIP")}
    summary = ", ".join(f"{counts[s]} {s}" for s in ("PASS", "FAIL", "SKIP"))
    print(f"  {summary} (informational: the exit status does not depend on them)")
    print(
        "  blasad's reverse / forward, forward under tape / plain and reverse / ideal (gemv, axpy):\n"
        "  medians over repetitions of the ratio within one repetition, which times the plain call,\n"
        "  the hand-written reverse and autodiff back to back on the same buffers; total / ideal:\n"
        "  blasad's median total over the ideal's, measured in turns."
    )


def write_plot(rows: Sequence[Row], path: str) -> str:
    """Total time per call (forward + reverse) against n, per routine and dtype, a line per
    framework and thread count (solid: the first thread count, dashed: the second, ...).
    Returns a line for the report."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot skipped: matplotlib is not installed"
    ops = tuple(OP_WHAT)
    fig, axes = plt.subplots(len(ops), 2, figsize=(12, 12), squeeze=False)
    threads = sorted({r.threads for r in rows})
    styles = ["-", "--", ":", "-."]
    labels: dict[str, Any] = {}  # one legend entry per line kind, for the figure's legend
    for ax, (op, dtype) in zip(axes.flat, [(op, dt) for op in ops for dt in ("float32", "float64")]):
        for c, fw in enumerate(FRAMEWORKS):
            for k, t in enumerate(threads):
                pts = sorted((r.n, r.total) for r in rows if (r.case, r.framework, r.dtype, r.threads) ==
                             (op, fw, dtype, t))  # fmt: skip
                if pts:
                    label = f"{fw}, {_threads_label(t)} thread(s)"
                    (line,) = ax.plot(*zip(*pts), styles[k % len(styles)], marker="o", markersize=3,
                                      color=f"C{c}", label=label)  # fmt: skip
                    labels.setdefault(label, line)
        ax.set(xscale="log", yscale="log", title=f"{op}: {OP_WHAT[op]}, {dtype}",
               xlabel="n", ylabel="forward + reverse per call [s]")  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.grid(True, which="both", alpha=0.3)
    if labels:
        fig.legend(list(labels.values()), list(labels), loc="lower center", ncol=4, fontsize=8)
    fig.suptitle("blasad benchmark: time per call (median) against n")
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"plot written to {path}"


def environment_lines(peers: Peers) -> list[str]:
    """Versions, the OpenBLAS libraries and kernels loaded, and the OPENBLAS_* variables set."""
    lines = [
        f"blasad {ba.__version__}, numpy {np.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs",
    ]
    try:
        import threadpoolctl

        blas_dir = scipy_openblas64.get_lib_dir()  # blasad's extension and the ideal call it
        for info in threadpoolctl.threadpool_info():
            if info.get("internal_api") != "openblas":
                continue
            mine = os.path.dirname(info["filepath"]) == blas_dir
            who = "blasad and the ideal" if mine else "NumPy/SciPy/peers"
            lines.append(
                f"OpenBLAS {info.get('version')} kernel {info.get('architecture')} "
                f"({info.get('num_threads')} threads) [{who}]: {info['filepath']}"
            )
    except ImportError:
        lines.append("threadpoolctl not installed: OpenBLAS kernel unknown, thread count not limited")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if var in os.environ:
            lines.append(f"{var}={os.environ[var]} is set")
    if any(v in os.environ for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")):
        lines.append(
            f"  (these force OpenBLAS's kernel choice; for the reported numbers run: {README_COMMAND})"
        )
    lines += [f"peers: {', '.join(peers.versions()) or 'none'}"] + [f"note: {n}" for n in peers.notes]
    return lines


@contextlib.contextmanager
def blas_threads(n: int, peers: Peers) -> Iterator[None]:
    """Limit every BLAS library (and torch) to n threads; n = 0 leaves them as they are."""
    if n <= 0:
        yield
        return
    import threadpoolctl

    with threadpoolctl.threadpool_limits(limits=n, user_api="blas"), peers.threads(n):
        yield


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from e
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m blasad.bench",
        description="blasad's benchmark report: blasad against the hand-written ideal adjoint and other AD "
        f"frameworks. For reportable numbers run on a quiet machine as: {README_COMMAND}",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (well under 30 s)")
    parser.add_argument("--threads", type=_int_list, default=[1, 2], help="BLAS thread counts (default 1,2)")
    parser.add_argument("--no-peers", action="store_true", help="skip PyTorch, JAX and HIPS autograd")
    parser.add_argument("--plot", default="bench_report.png", help="PNG to write (default bench_report.png)")
    parser.add_argument(
        "--sizes",
        type=_int_list,
        default=None,
        help=f"sizes n of gemm, gemv and axpy (default {','.join(map(str, SIZES))})",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the report; prints tables and targets, writes the plot. Returns 0."""
    cfg = make_config(parse_args(argv))
    peers = Peers(cfg.peers)
    threads = cfg.threads
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        threads = (0,)
    cfg = dataclasses.replace(cfg, threads=threads)
    peers.jax_threads = threads[0]

    print("blasad benchmark report" + (" (--quick: indicative only)" if cfg.quick else ""))
    for line in environment_lines(peers):
        print("  " + line)

    op_cases = (("gemm", case_gemm), ("gemv", case_gemv), ("axpy", case_axpy))
    dtypes = (np.float64, np.float32)
    progress = Progress(len(threads) * (len(op_cases) * len(dtypes) * len(cfg.sizes) + 2) + 1)
    rows: list[Row] = []
    for t in threads:
        with blas_threads(t, peers):
            for n in cfg.sizes:
                for dtype in dtypes:
                    for name, case in op_cases:
                        progress.step(f"{name} {np.dtype(dtype).name} n={n} threads={_threads_label(t)}")
                        rows += case(n, dtype, t, cfg, peers)
            progress.step(f"chain-gemm threads={_threads_label(t)}")
            rows += case_chain_gemm(t, cfg, peers)
            progress.step(f"chain-gemv-axpy threads={_threads_label(t)}")
            rows += case_chain_gemv_axpy(t, cfg, peers)
    progress.step("memory")
    memory = case_memory()
    progress.close()

    print_op_tables(rows)
    print_chain_table(rows)
    print_memory_table(memory)
    print_targets(check_targets(rows, memory, cfg))
    print("\n" + write_plot(rows, cfg.plot))
    return 0
