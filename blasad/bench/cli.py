"""``python -m blasad.bench``: the options, and main, which runs every case and prints the
report."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from blasad.bench.cases import (
    CG_QUICK_SIZES,
    CG_SIZES,
    case_axpy,
    case_cg,
    case_chain_gemm,
    case_chain_gemm_dtypes,
    case_chain_gemv_axpy,
    case_gemm,
    case_gemv,
    case_memory,
    case_scalar,
    case_single,
    case_tape_bytes,
)
from blasad.bench.checkpoint import case_checkpoint, checkpoint_targets, ckpt_steps, print_checkpoint_table
from blasad.bench.forward import case_forward, forward_targets, forward_tasks, print_forward_tables
from blasad.bench.frameworks import Peers
from blasad.bench.lapack import (
    LAPACK_SIZES,
    case_lapack,
    lapack_targets,
    lapack_tasks,
    print_lapack_tables,
    xla_single_thread,
)
from blasad.bench.lapack import OPS as LAPACK_OPS
from blasad.bench.level3 import case_level3, level3_targets, level3_tasks, print_level3_table
from blasad.bench.report import (
    README_COMMAND,
    Row,
    check_targets,
    environment_lines,
    print_cg_table,
    print_chain_table,
    print_memory_table,
    print_op_tables,
    print_scalar_tables,
    print_single_table,
    print_tape_bytes_table,
    print_targets,
    threads_label,
    write_plot,
)
from blasad.bench.timing import CASES, Config, now

SIZES = (4, 16, 64, 256, 1024, 2048)
QUICK_SIZES = (4, 16, 64, 256)


def make_config(args: argparse.Namespace) -> Config:
    """--quick: sizes up to 256 and about 10 ms of repetitions per measurement; else 1.5 s."""
    threads, peers, plot, cases = tuple(args.threads), not args.no_peers, args.plot, tuple(args.cases)
    chosen = {"lapack_ops": tuple(args.lapack_ops or ()), "lapack_sizes": tuple(args.lapack_sizes or ())}
    if args.quick:
        sizes = tuple(args.sizes or QUICK_SIZES)
        return Config(sizes, threads, peers, plot, quick=True, budget=0.01, min_reps=3, min_reps_slow=1,
                      slow=0.05, max_reps=50, cases=cases, **chosen)  # fmt: skip
    sizes = tuple(args.sizes or SIZES)
    return Config(sizes, threads, peers, plot, quick=False, budget=1.5, min_reps=24, min_reps_slow=15,
                  slow=0.25, max_reps=2000, cases=cases, **chosen)  # fmt: skip


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


@contextlib.contextmanager
def blas_threads(n: int, peers: Peers) -> Iterator[None]:
    """Limit every BLAS library (and torch) to n threads; n = 0 leaves them as they are.

    threadpoolctl limits the libraries loaded when the limit is set: SciPy's own OpenBLAS, which
    JAX's LAPACK kernels call (through scipy.linalg.cython_lapack), is loaded here first, or JAX's
    eigh and svd would run on SciPy's default thread count under a one-thread report."""
    if n <= 0:
        yield
        return
    import threadpoolctl

    with contextlib.suppress(ImportError):
        import scipy.linalg.cython_lapack  # noqa: F401

    with threadpoolctl.threadpool_limits(limits=n, user_api="blas"), peers.threads(n):
        yield


def pin_one_cpu() -> str | None:
    """Pin the process to one CPU (Linux; before the peers start their thread pools, which
    inherit it): a one-thread report is then one core for every framework. XLA's CPU backend
    runs large dot products on its own pool whatever XLA_FLAGS ask (jit a @ b at n = 1024:
    129 GFLOP/s here against one core's 67), which threadpoolctl does not reach. Returns the
    note for the report, None where the platform cannot pin."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"one thread: the process is pinned to CPU {cpu} (JAX's own pool included)"


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from e
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _some_of(choices: Sequence[str]) -> Callable[[str], list[str]]:
    """An argparse type: a comma-separated subset of choices, returned in their order."""

    def parse(text: str) -> list[str]:
        values = [v.strip() for v in text.split(",") if v.strip()]
        if not values or set(values) - set(choices):
            raise argparse.ArgumentTypeError(f"expected some of {','.join(choices)}, got {text!r}")
        return [c for c in choices if c in values]

    return parse


_cases, _lapack_ops = _some_of(CASES), _some_of(LAPACK_OPS)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m blasad.bench",
        description="blasad's benchmark report: blasad against the hand-written ideal adjoint and other AD "
        f"frameworks. For reportable numbers run on a quiet machine as: {README_COMMAND}",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes and few repeats (about a minute with PyTorch)"
    )
    parser.add_argument("--threads", type=_int_list, default=[1, 2], help="BLAS thread counts (default 1,2)")
    parser.add_argument("--no-peers", action="store_true", help="skip PyTorch, JAX and HIPS autograd")
    parser.add_argument("--plot", default="bench_report.png", help="PNG to write (default bench_report.png)")
    parser.add_argument(
        "--sizes",
        type=_int_list,
        default=None,
        help=f"sizes n of gemm, gemv and axpy (default {','.join(map(str, SIZES))})",
    )
    parser.add_argument(
        "--cases",
        type=_cases,
        default=list(CASES),
        help="what to measure, comma-separated (default all): ops (gemm, gemv, axpy per size), chains "
        "(1000 tiny dependent calls; the gemm chain also in float32, complex128, complex64), single (one "
        "4×4 gemm differentiated end to end against the ideal: the fixed cost; the first thread count), "
        "tape-bytes (the memory a recording holds per tiny call, in a fresh process), memory (bytes the "
        "tape copies), scalar (active-scalar operations, "
        "recorded and not), cg (conjugate gradient per iteration), lapack (cholesky, lu, solve_triangular, "
        "qr, eigh, svd against the plain LAPACK call, PyTorch and JAX; under the first thread count), "
        "level3 (each level-3 routine's forward + reverse against its FLOP ratio; the first thread count), "
        "checkpoint (an RK4 loop's gradient, memory and time against n through ba.checkpoint_loop, against "
        "the fully taped loop, torch.utils.checkpoint and jax.checkpoint; the first thread count), forward "
        "(forward mode: one gemm per size up to 1024 against the hand-written tangent, torch.func.jvp, "
        "forward_ad and jax.jvp; the 4×4 gemm chain; 16 tangents at once; the torch and jax wrappers' "
        "cost per call; the first thread count)",
    )
    parser.add_argument(
        "--lapack-ops",
        type=_lapack_ops,
        default=None,
        help=f"the LAPACK operations to measure (default all: {','.join(LAPACK_OPS)})",
    )
    parser.add_argument(
        "--lapack-sizes",
        type=_int_list,
        default=None,
        help=f"sizes n of the LAPACK operations (default {','.join(map(str, LAPACK_SIZES))})",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the report; prints tables and targets, writes the plot. Returns 0."""
    cfg = make_config(parse_args(argv))
    threads = cfg.threads
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        threads = (0,)
    # the LAPACK case measures JAX under one thread when the first thread count is 1: XLA's own
    # pool is limited by XLA_FLAGS only, read when JAX first computes
    xla_note = xla_single_thread() if "lapack" in cfg.cases and cfg.peers and threads[0] == 1 else None
    pin_note = pin_one_cpu() if threads == (1,) and cfg.peers else None
    peers = Peers(cfg.peers)
    if xla_note is not None and peers.jax is not None:
        peers.notes.append(xla_note)
    if pin_note is not None:
        peers.notes.append(pin_note)
    cfg = dataclasses.replace(cfg, threads=threads)
    peers.jax_threads = threads[0]

    print("blasad benchmark report" + (" (--quick: indicative only)" if cfg.quick else ""))
    for line in environment_lines(peers):
        print("  " + line)

    op_cases = (("gemm", case_gemm), ("gemv", case_gemv), ("axpy", case_axpy))
    dtypes = (np.float64, np.float32)
    cases = cfg.cases
    cg_sizes = CG_QUICK_SIZES if cfg.quick else CG_SIZES
    per_thread = (len(op_cases) * len(dtypes) * len(cfg.sizes) if "ops" in cases else 0) + (
        3 * ("chains" in cases) + len(cg_sizes) * ("cg" in cases)
    )
    lapack = lapack_tasks(cfg) if "lapack" in cases else []
    level3 = level3_tasks(cfg) if "level3" in cases else []
    ckpt = ckpt_steps(cfg) if "checkpoint" in cases else ()
    fwd = forward_tasks(cfg) if "forward" in cases else []
    once = sum(c in cases for c in ("single", "tape-bytes", "memory", "scalar"))  # not per thread count
    progress = Progress(len(threads) * per_thread + once + len(lapack) + len(level3) + len(ckpt) + len(fwd))
    rows: list[Row] = []
    for t in threads:
        with blas_threads(t, peers):
            for n in cfg.sizes if "ops" in cases else ():
                for dtype in dtypes:
                    for name, case in op_cases:
                        progress.step(f"{name} {np.dtype(dtype).name} n={n} threads={threads_label(t)}")
                        rows += case(n, dtype, t, cfg, peers)
            if "chains" in cases:
                progress.step(f"chain-gemm threads={threads_label(t)}")
                rows += case_chain_gemm(t, cfg, peers)
                progress.step(f"chain-gemm float32, complex threads={threads_label(t)}")
                rows += case_chain_gemm_dtypes(t, cfg, peers)
                progress.step(f"chain-gemv-axpy threads={threads_label(t)}")
                rows += case_chain_gemv_axpy(t, cfg, peers)
            for n, k in cg_sizes if "cg" in cases else ():
                progress.step(f"cg n={n} k={k} threads={threads_label(t)}")
                rows += case_cg(n, k, t, cfg, peers)
    if "single" in cases:  # one tiny call: BLAS threads do not matter; under the first thread count only
        progress.step("single-call fixed cost")
        with blas_threads(threads[0], peers):
            rows += case_single(threads[0], cfg, peers)
    if "tape-bytes" in cases:
        progress.step("tape bytes per call")
        rows += case_tape_bytes(threads[0], peers)
    if "scalar" in cases:  # no BLAS: under the first thread count only
        progress.step("active scalars")
        with blas_threads(threads[0], peers):
            rows += case_scalar(threads[0], cfg, peers)
    if lapack:  # one BLAS thread by default: under the first thread count only
        with blas_threads(threads[0], peers):
            for op, n, dtype in lapack:
                progress.step(f"lapack {op} {np.dtype(dtype).name} n={n} threads={threads_label(threads[0])}")
                rows += case_lapack(op, n, dtype, threads[0], cfg, peers)
    if level3:  # one BLAS thread by default: under the first thread count only
        with blas_threads(threads[0], peers):
            for op, n, dtype in level3:
                progress.step(f"level3 {op} {np.dtype(dtype).name} n={n} threads={threads_label(threads[0])}")
                rows += case_level3(op, n, dtype, threads[0], cfg)
    if ckpt:  # under the first thread count only
        with blas_threads(threads[0], peers):
            for n in ckpt:
                progress.step(f"checkpointed loop n={n} threads={threads_label(threads[0])}")
                rows += case_checkpoint(n, threads[0], cfg, peers)
    if fwd:  # under the first thread count only
        with blas_threads(threads[0], peers):
            for part, n in fwd:
                progress.step(f"{part} n={n} threads={threads_label(threads[0])}")
                rows += case_forward(part, n, threads[0], cfg, peers)
    memory = []
    if "memory" in cases:
        progress.step("memory")
        memory = case_memory()
    progress.close()

    print_op_tables(rows)
    print_chain_table(rows)
    print_single_table(rows)
    print_tape_bytes_table(rows)
    print_scalar_tables(rows)
    print_cg_table(rows)
    if "memory" in cases:
        print_memory_table(memory)
    print_lapack_tables(rows)
    print_level3_table(rows)
    print_checkpoint_table(rows)
    print_forward_tables(rows)
    targets = check_targets(rows, memory, cfg) + lapack_targets(rows) + level3_targets(rows)
    print_targets(targets + checkpoint_targets(rows) + forward_targets(rows))
    if "ops" in cases:
        print("\n" + write_plot(rows, cfg.plot))
    return 0
