"""The checkpointed-loop case of the report (``--cases checkpoint``): memory and time of a long
loop's gradient against its number of steps n, through ``ba.checkpoint_loop`` with k snapshots
against the fully taped loop, and the peers' own schemes on the same program.

The program: classical RK4 for x' = A x (state m = CKPT_M, float64, A fixed random / √m), n
steps of h = 1/n (the ODE over [0, 1] whatever n is: the values stay O(1)), loss = the sum of
the final x, its gradient with respect to A and x0. blasad's step works in place on
preallocated arrays (the README's example), so that checkpoint_loop re-runs it natively; the
peers run it functionally: PyTorch fully taped and with ``torch.utils.checkpoint`` over k
segments, JAX (jit) as a ``lax.scan``, a scan of a ``jax.checkpoint`` body, and a scan of √n
checkpointed segments of √n steps. Every row's gradient is checked against the fully taped
blasad loop's at the same n."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import blasad as ba
from blasad.bench.cases import _rel
from blasad.bench.frameworks import (
    JAX_JIT_NOTE,
    Peers,
    jax_jit_sample,
    jax_vjp,
    tape_program_sample,
    torch_sample,
)
from blasad.bench.report import (
    Row,
    Target,
    _check_targets,
    _get,
    _ratio,
    _target,
    find,
    fmt_bytes,
    fmt_time,
    print_table,
    threads_label,
)
from blasad.bench.timing import Config, Sample, measure, measure_each

CASE = "checkpoint"
CKPT_M = 32  # the state's length
CKPT_STEPS = (100, 1000, 10000)  # n
CKPT_QUICK_STEPS = (100, 500)
CKPT_SNAPSHOTS = (5, 20, 60)  # k
TORCH_CHECKPOINT_MAX_N = 1000  # torch.utils.checkpoint rows up to this n: at 10⁴ a repetition takes 5 s
CKPT_BUDGET = 0.1  # seconds of timed repetitions per measurement, at most (the longest loops take 1 s)
TARGET_K = 20  # the k of the memory target ...
MEMORY_FRACTION = 0.1  # ... its tape at the largest n ≤ this × the fully taped loop's
# checkpoint_loop's tape at the largest n at most this much over the smallest n's: packed records'
# sizes depend on the arrays' addresses (a run's allocation pattern), so the same loop's tape varies
# by about 10 % from run to run; a tape growing with n grows by the ratio of the n's (5-100 x)
FLAT = 0.25
TAPED, SCAN = "taped", "scan"  # the fully taped schemes: blasad's and torch's, JAX's
BASELINE = {"blasad": TAPED, "torch": TAPED, "jax-jit": SCAN}  # what "÷ taped" divides by


def loop_label(k: int) -> str:
    """The scheme of blasad's row with k snapshots."""
    return f"checkpoint_loop k={k}"


def ckpt_steps(cfg: Config) -> tuple[int, ...]:
    """The numbers of steps n the report measures (--quick: fewer)."""
    return CKPT_QUICK_STEPS if cfg.quick else CKPT_STEPS


def rk4_arrays() -> tuple[np.ndarray, np.ndarray]:
    """A (m × m, random / √m: its eigenvalues about the unit disc) and x0, fixed."""
    rng = np.random.default_rng(32)
    return rng.standard_normal((CKPT_M, CKPT_M)) / np.sqrt(CKPT_M), rng.standard_normal(CKPT_M)


def rk4_program(n: int, k: int | None) -> Callable[..., None]:
    """f(A, x0, x, k1, k2, k3, k4, y): x ← x0, then n RK4 steps of x' = A x in place on the
    preallocated stages (k None: a plain loop, every step on the tape; else checkpoint_loop
    with k snapshots). A repetition starts from x0 again."""
    h = 1.0 / n

    def f(A: np.ndarray, x0: np.ndarray, x: np.ndarray, k1: np.ndarray, k2: np.ndarray, k3: np.ndarray,
          k4: np.ndarray, y: np.ndarray) -> None:  # fmt: skip
        ba.copy(x0, x)

        def step(i: int) -> None:
            ba.gemv(1.0, A, x, 0.0, k1)
            ba.gemv(1.0, A, ba.axpy(h / 2, k1, ba.copy(x, y)), 0.0, k2)
            ba.gemv(1.0, A, ba.axpy(h / 2, k2, ba.copy(x, y)), 0.0, k3)
            ba.gemv(1.0, A, ba.axpy(h, k3, ba.copy(x, y)), 0.0, k4)
            for c, k_ in ((h / 6, k1), (h / 3, k2), (h / 3, k3), (h / 6, k4)):
                ba.axpy(c, k_, x)

        if k is None:
            for i in range(n):
                step(i)
        else:
            ba.checkpoint_loop(step, n, snapshots=k)

    return f


def rk4_steps(A: Any, x: Any, steps: int, h: float) -> Any:
    """`steps` RK4 steps of x' = A x from x, functionally (the peers' program; the same
    operations in the same order as blasad's)."""
    for _ in range(steps):
        x = _rk4(A, x, h)
    return x


def _rk4(A: Any, x: Any, h: float) -> Any:
    """One RK4 step from x, functionally: x + h/6 k1 + h/3 k2 + h/3 k3 + h/6 k4, summed in that order."""
    k1 = A @ x
    k2 = A @ (x + (h / 2) * k1)
    k3 = A @ (x + (h / 2) * k2)
    k4 = A @ (x + h * k3)
    return x + (h / 6) * k1 + (h / 3) * k2 + (h / 3) * k3 + (h / 6) * k4


def segments(n: int, k: int) -> list[int]:
    """The bounds of k segments of n steps, as even as they come (k ≤ n)."""
    return [round(j * n / k) for j in range(k + 1)]


def nested(n: int) -> int:
    """The divisor of n nearest √n: the number of segments of the nested-scan scheme."""
    return min((d for d in range(1, n + 1) if n % d == 0), key=lambda d: abs(d - math.sqrt(n)))


# ---------------------------------------------------------------------------------------------
# one untimed run per row: its gradient and the memory its AD holds
# ---------------------------------------------------------------------------------------------


def blasad_run(
    f: Callable[..., None], arrays: Sequence[np.ndarray]
) -> tuple[list[np.ndarray], int, int | None]:
    """f(*arrays) recorded on a Tape (A = arrays[0] and x0 = arrays[1] watched), then backward
    from the final x = arrays[2] with the seed all ones: the gradients (of A, of x0), the tape's
    bytes at the end of the recording (tape.nbytes) and the steps the reverse sweep re-ran
    (the checkpointed loop's advances; None without one)."""
    A, x0, x = arrays[:3]
    with ba.Tape() as tape:
        tape.watch(A, x0)
        f(*arrays)
    nbytes = tape.nbytes
    tape.backward(x, np.ones_like(x))
    loops = tape._loops
    return [tape.grad(A), tape.grad(x0)], nbytes, loops[0].advances if loops else None


def torch_run(
    torch: Any, expr: Callable[..., Any], inputs: Sequence[np.ndarray]
) -> tuple[list[np.ndarray], int]:
    """expr on leaf tensors, then backward of the sum of its output: the gradients, and the bytes
    of the tensors autograd saved for the reverse sweep (the distinct storages that reach
    torch.autograd.graph.saved_tensors_hooks, the leaves' own left out)."""
    ins = [torch.from_numpy(v.copy()).requires_grad_(True) for v in inputs]
    saved: dict[int, int] = {}

    def pack(t: Any) -> Any:
        s = t.untyped_storage()
        saved[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = expr(*ins)
    for t in ins:
        saved.pop(t.untyped_storage().data_ptr(), None)
    out.sum().backward()
    return [t.grad.numpy() for t in ins], sum(saved.values())


def jax_run(
    peers: Peers, key: str, expr: Callable[..., Any], inputs: Sequence[np.ndarray], seed: np.ndarray
) -> tuple[list[np.ndarray], int | None]:
    """The jitted forward + vjp of expr (jax_jit_sample's, by key): the gradients, and the
    temporary bytes XLA's memory analysis gives the compiled program (None where it has none)."""
    jnp = peers.jax.numpy
    f = jax_vjp(peers, key, expr)
    ins, s = tuple(jnp.asarray(v) for v in inputs), jnp.asarray(seed)
    analysis = f.lower(ins, s).compile().memory_analysis()
    temp = getattr(analysis, "temp_size_in_bytes", None)
    _, grads = f(ins, s)
    return [np.asarray(g) for g in grads], None if temp is None else int(temp)


# ---------------------------------------------------------------------------------------------
# the case
# ---------------------------------------------------------------------------------------------


def _config(cfg: Config, slow_reps: int) -> Config:
    """cfg with fewer repetitions: a repetition of the longest loops takes up to a second
    (PyTorch's seconds), of which slow_reps timed ones (at most cfg's) are enough."""
    return dataclasses.replace(cfg, budget=min(cfg.budget, CKPT_BUDGET), min_reps=min(cfg.min_reps, 5),
                               min_reps_slow=min(cfg.min_reps_slow, slow_reps))  # fmt: skip


@dataclasses.dataclass
class _Result:
    """One scheme's measurement: its times, its gradients (of A, of x0), the bytes its AD held
    at the end of the forward, the steps re-run (blasad's checkpointed loops), a note."""

    framework: str
    scheme: str
    times: dict[str, float]
    grads: list[np.ndarray]
    nbytes: int | None
    reruns: int | None = None
    note: str = ""


def _blasad_results(n: int, cfg: Config, A0: np.ndarray, x00: np.ndarray) -> list[_Result]:
    """blasad fully taped and through checkpoint_loop with each k, measured in turns (their
    ratios compare them)."""
    samples: dict[str, Sample] = {}
    runs: dict[str, tuple[list[np.ndarray], int, int | None]] = {}
    for k in (None, *CKPT_SNAPSHOTS):
        f = rk4_program(n, k)
        arrays = [A0.copy(), x00.copy(), *(np.zeros(CKPT_M) for _ in range(6))]
        scheme = TAPED if k is None else loop_label(k)
        runs[scheme] = blasad_run(f, arrays)
        samples[scheme] = tape_program_sample(f, arrays, arrays[:2], arrays[2], np.ones(CKPT_M))
    return [_Result("blasad", scheme, t, *runs[scheme]) for scheme, t in measure(samples, cfg).items()]


def _torch_results(torch: Any, n: int, cfg: Config, A0: np.ndarray, x00: np.ndarray) -> list[_Result]:
    """PyTorch on the functional loop: fully taped, and (n ≤ TORCH_CHECKPOINT_MAX_N) with
    torch.utils.checkpoint over k segments for each k."""
    from torch.utils.checkpoint import checkpoint

    h = 1.0 / n

    def taped(A: Any, x: Any) -> Any:
        return rk4_steps(A, x, n, h)

    def segmented(k: int) -> Callable[[Any, Any], Any]:
        def expr(A: Any, x: Any) -> Any:
            for lo, hi in itertools.pairwise(segments(n, k)):
                x = checkpoint(rk4_steps, A, x, hi - lo, h, use_reentrant=False)
            return x

        return expr

    exprs: dict[str, Callable[[Any, Any], Any]] = {TAPED: taped}
    if n <= TORCH_CHECKPOINT_MAX_N:
        exprs |= {f"checkpoint k={k}": segmented(k) for k in CKPT_SNAPSHOTS}
    out = []
    for scheme, expr in exprs.items():
        grads, nbytes = torch_run(torch, expr, [A0, x00])
        t = measure_each({scheme: torch_sample(torch, expr, [A0, x00], np.ones(CKPT_M))}, cfg)[scheme]
        out.append(_Result("torch", scheme, t, grads, nbytes))
    return out


def _jax_results(peers: Peers, n: int, cfg: Config, A0: np.ndarray, x00: np.ndarray) -> list[_Result]:
    """JAX (jit) on the functional loop: a lax.scan of the step, a scan of jax.checkpoint(step),
    and a scan of √n checkpointed scans of √n steps; their compile times in the notes."""
    lax, jax, h, s = peers.jax.lax, peers.jax, 1.0 / n, nested(n)

    def scan(step: Callable[[Any, Any], Any], x: Any, length: int) -> Any:
        return lax.scan(step, x, None, length=length)[0]

    def body(A: Any) -> Callable[[Any, Any], Any]:
        return lambda x, _: (_rk4(A, x, h), None)

    def nested_body(A: Any) -> Callable[[Any, Any], Any]:
        return lambda x, _: (scan(body(A), x, n // s), None)

    schemes: dict[str, Callable[[Any, Any], Any]] = {
        SCAN: lambda A, x: scan(body(A), x, n),
        "scan, jax.checkpoint body": lambda A, x: scan(jax.checkpoint(body(A)), x, n),
        f"nested scan {s}×{n // s}": lambda A, x: scan(jax.checkpoint(nested_body(A)), x, s),
    }
    out = []
    for scheme, expr in schemes.items():
        key, seed = f"{CASE}-{scheme}-{n}", np.ones(CKPT_M)
        sample = jax_jit_sample(peers, key, expr, [A0, x00], seed)  # compiles (compile_s)
        grads, nbytes = jax_run(peers, key, expr, [A0, x00], seed)
        t = measure_each({scheme: sample}, cfg)[scheme]
        note = f"{JAX_JIT_NOTE}; compile {peers.compile_s[key]:.2f} s"
        out.append(_Result("jax-jit", scheme, t, grads, nbytes, note=note))
    return out


def case_checkpoint(n: int, threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """The RK4 loop of n steps (see the module docstring) through blasad (fully taped and
    checkpoint_loop with each k of CKPT_SNAPSHOTS), PyTorch and JAX (under the thread count JAX
    is measured at) when installed: a row per scheme. Each row's gradient, the memory its AD
    holds at the end of the forward and (blasad) the steps re-run come from one untimed run;
    its gradient is checked against the fully taped blasad loop's ("taped" in checks)."""
    A0, x00 = rk4_arrays()
    results = _blasad_results(n, _config(cfg, 3), A0, x00)  # three timed: the ratios compare them
    theirs = _config(cfg, 1)
    if peers.torch is not None:
        results += _torch_results(peers.torch, n, theirs, A0, x00)
    if peers.jax_at(threads) is not None:
        results += _jax_results(peers, n, theirs, A0, x00)
    ref = results[0].grads  # blasad, fully taped
    rows = []
    for r in results:
        t = r.times
        checks = {} if r is results[0] else {"taped": max(_rel(g, w) for g, w in zip(r.grads, ref))}
        rows.append(Row(CASE, r.framework, "float64", n, threads, t["forward"], t["backward"], t["total"],
                        steps=n, note=r.note, op=r.scheme, checks=checks, nbytes=r.nbytes,
                        reruns=r.reruns))  # fmt: skip
    return rows


# ---------------------------------------------------------------------------------------------
# targets and table
# ---------------------------------------------------------------------------------------------


def _mine(rows: Sequence[Row]) -> list[Row]:
    return [r for r in rows if r.case == CASE]


def _nbytes(rows: Sequence[Row], n: int, scheme: str) -> int | None:
    """blasad's AD memory at n through scheme (None: not measured)."""
    r = find(rows, framework="blasad", n=n, op=scheme)
    return None if r is None else r.nbytes


def checkpoint_targets(rows: Sequence[Row]) -> list[Target]:
    """blasad's tape through checkpoint_loop with TARGET_K snapshots at the largest n ≤
    MEMORY_FRACTION × the fully taped loop's; with each k, at the largest n at most FLAT over
    the smallest n's; and every framework's gradient = the fully taped blasad loop's."""
    mine = _mine(rows)
    if not mine:
        return []
    ns = sorted({r.n for r in mine})
    lo, hi = ns[0], ns[-1]
    k_mem, full = _nbytes(mine, hi, loop_label(TARGET_K)), _nbytes(mine, hi, TAPED)
    ratio = None if k_mem is None or not full else k_mem / full
    name = f"checkpoint_loop k={TARGET_K}: tape ≤ {MEMORY_FRACTION:g} × the fully taped loop's"
    where = f"RK4 n={hi}: {fmt_bytes(k_mem)} of {fmt_bytes(full)}"
    out = [_target(name, where, ratio, MEMORY_FRACTION, "{:.4f}×")]
    for k in CKPT_SNAPSHOTS:
        a, b = _nbytes(mine, lo, loop_label(k)), _nbytes(mine, hi, loop_label(k))
        # (growth alone: packed records make a tape's size vary a little with its templates, and a
        # smaller tape at the larger n is still one that does not grow with n)
        change = None if a is None or b is None or lo == hi else max(0.0, b / a - 1)
        name = f"checkpoint_loop k={k}: tape does not grow with n (within {FLAT:.0%})"
        where = f"RK4 n={hi}: {fmt_bytes(b)}, n={lo}: {fmt_bytes(a)}"
        out.append(_target(name, where, change, FLAT, "{:.1%}"))
    for fw in BASELINE:
        mine_fw = [r for r in mine if r.framework == fw]
        where = f"RK4 n={','.join(str(n) for n in ns)}, every scheme"
        out += _check_targets(f"checkpointed loop, {fw}: the gradient", where, mine_fw)
    return out


def print_checkpoint_table(rows: Sequence[Row]) -> None:
    """Per n and scheme: record, reverse and total time, total ÷ the framework's fully taped
    loop, the bytes the AD holds at the end of the forward, the steps re-run and the gradient's
    difference from the fully taped blasad loop's."""
    mine = _mine(rows)
    if not mine:
        return
    body = []
    for r in mine:
        base = find(mine, framework=r.framework, n=r.n, op=BASELINE[r.framework])
        ratio = _ratio(r.total, _get(base, "total"))
        check = f"{r.checks['taped']:.1e}" if "taped" in r.checks else "ref"
        body.append([str(r.n), r.framework, r.op, fmt_time(r.forward), fmt_time(r.backward),
                     fmt_time(r.total), "-" if ratio is None else f"{ratio:.2f}", fmt_bytes(r.nbytes),
                     "-" if r.reruns is None else str(r.reruns), check, r.note])  # fmt: skip
    title = (
        f"checkpointed loop: RK4 for x' = A x, m = {CKPT_M}, float64, n steps of h = 1/n, loss = sum of the "
        f"final x, gradient of A and x0; threads={threads_label(mine[0].threads)}; time per gradient (median)"
    )
    headers = ("n", "framework", "scheme", "record", "reverse", "total", "÷ taped", "AD memory", "re-runs",
               "grad diff", "note")  # fmt: skip
    print_table(title, headers, body, "rllrrrrrrrl")
    print(
        "  blasad: a Tape watching A and x0, x ← x0 and the loop of README's step (in place on\n"
        "  preallocated stages), plain (taped) or ba.checkpoint_loop(step, n, snapshots=k);\n"
        "  backward(x, 1), grad(A), grad(x0). AD memory: tape.nbytes at the end of the recording\n"
        "  (records, copies, shadows, snapshots); re-runs: the loop's un-recorded step re-runs.\n"
        "  torch: the functional loop, fully taped or torch.utils.checkpoint(use_reentrant=False)\n"
        f"  over k segments (n ≤ {TORCH_CHECKPOINT_MAX_N}); AD memory: the storages saved for backward\n"
        "  (saved_tensors_hooks; A and x0 not counted). jax-jit: lax.scan of the step, of\n"
        "  jax.checkpoint(step), or of √n checkpointed scans of √n steps; AD memory: the temporary\n"
        "  bytes of the compiled forward + vjp (memory_analysis: a peak over forward and reverse,\n"
        "  where the others' figure is what is held between the two). ÷ taped: total over the same\n"
        "  framework's fully taped loop (jax: the plain scan); blasad's rows are measured in turns.\n"
        "  grad diff: max |g − g_taped| / max |g_taped| over A and x0, against the fully taped blasad loop."
    )
