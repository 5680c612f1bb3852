"""The report's results and what it prints: rows, targets checked as PASS/FAIL, the tables,
the plot, and the environment lines."""

from __future__ import annotations

import dataclasses
import math
import os
import platform
from collections.abc import Sequence
from typing import Any

import numpy as np

import blasad as ba
from blasad._native_loader import _openblas_dir
from blasad.bench.frameworks import Peers
from blasad.bench.problems import CHAIN_STEPS, SINGLE_CASE, SINGLE_N, TAPE_BYTES_CALLS
from blasad.bench.timing import Config

README_COMMAND = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m blasad.bench"
FRAMEWORKS = (
    "blasad", "blasad-tape", "blasad-tape-arrays", "blasad-tape-new", "blasad-replay",
    "ideal", "torch", "jax-jit", "jax-eager", "autograd",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    """One measurement. Times in seconds for the whole case (a chain: all of its steps)."""

    case: str  # gemm, gemv, axpy, chain-gemm, chain-gemv-axpy, scalar-recorded, scalar-plain, cg, lapack-*
    framework: str
    dtype: str  # float32 / float64 (LAPACK: float64 / complex128)
    n: int
    threads: int  # 0: not limited
    forward: float  # the forward under AD (recording)
    backward: float  # the reverse sweep
    total: float  # forward + reverse (median of per-repetition sums)
    plain: float | None = None  # the forward without AD
    fwd_plain: float | None = None  # median over repetitions of forward / plain (blasad)
    rev_plain: float | None = None  # median over repetitions of backward / plain (blasad)
    rev_ideal: float | None = None  # median over repetitions of backward / the ideal's (blasad)
    steps: int = 1  # repetitions of the step the row times (chain steps, operations, CG iterations)
    note: str = ""
    op: str = ""  # the active-scalar operation ("r * 2.0") of a scalar-* row; a checkpoint row's scheme
    checks: dict[str, float] = dataclasses.field(default_factory=dict)  # gradient checks: rel. difference
    # LAPACK: medians of ratios within each repetition ("fwd/lapack", ...)
    ratios: dict[str, float] = dataclasses.field(default_factory=dict)
    bytes_per_step: float | None = None  # tape-bytes: resident memory a recording grew by per step
    nbytes: int | None = None  # checkpoint: bytes the AD holds at the end of the forward
    reruns: int | None = None  # checkpoint: step evaluations the reverse sweep re-ran


def find(rows: Sequence[Row], **key: Any) -> Row | None:
    """The first row whose fields equal `key`."""
    for r in rows:
        if all(getattr(r, k) == v for k, v in key.items()):
            return r
    return None


@dataclasses.dataclass
class MemoryResult:
    scenario: str
    input_bytes: int  # bytes of the watched inputs
    copied: int  # tape.bytes_copied
    expected: int  # the overwritten ranges that the reverse sweep needs


def threads_label(t: int) -> str:
    return str(t) if t > 0 else "default"


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
    """Every target of the report, per dtype, size and thread count measured (of the cases
    run: cfg.cases)."""
    out: list[Target] = []
    big = [n for n in cfg.sizes if n >= 1024]
    for t in cfg.threads:
        for dtype in ("float64", "float32") if "ops" in cfg.cases else ():
            if not big:
                why = "n ≥ 1024 not measured (--quick or --sizes)"
                out.append(
                    Target(
                        "gemm n ≥ 1024: reverse, total, taped forward",
                        f"{dtype} threads={threads_label(t)}",
                        why,
                        "SKIP",
                    )
                )
            for n in big:
                b = find(rows, case="gemm", framework="blasad", dtype=dtype, n=n, threads=t)
                i = find(rows, case="gemm", framework="ideal", dtype=dtype, n=n, threads=t)
                where = f"{dtype} n={n} threads={threads_label(t)}"
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
                        f"{dtype} threads={threads_label(t)}",
                        ratio,
                        1.05,
                    )
                )
        if "chains" in cfg.cases:
            out += _chain_targets(rows, t)
        if "cg" in cfg.cases:
            out += _cg_targets(rows, t)
    if "single" in cfg.cases:
        out += _single_targets(rows)
    if "tape-bytes" in cfg.cases:
        b = find(rows, case="tape-bytes", framework="blasad")
        where = f"ba.axpy(2.0, x, y) on 4-vectors, x watched, {TAPE_BYTES_CALLS} calls"
        out.append(_target(f"tape bytes per recorded tiny call ≤ {TAPE_BYTES_LIMIT} B", where,
                           _get(b, "bytes_per_step"), TAPE_BYTES_LIMIT, "{:.0f} B"))  # fmt: skip
    if "scalar" in cfg.cases:
        out += _scalar_targets(rows)
    for m in memory:
        measured = f"{m.copied} B (expected {m.expected} B)"
        status = "PASS" if m.copied == m.expected else "FAIL"
        out.append(Target("tape copies exactly the needed overwritten bytes", m.scenario, measured, status))
    return out


def _chain_targets(rows: Sequence[Row], t: int) -> list[Target]:
    b = _chain(rows, "blasad", t)
    torch = _chain(rows, "torch", t)
    g = find(rows, case="chain-gemv-axpy", framework="blasad", threads=t)
    replay = _chain(rows, "blasad-replay", t)
    jit = _chain(rows, "jax-jit", t)
    us = "{:.2f} µs/step"
    where = f"threads={threads_label(t)}"
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
        _target(
            f"4×4 gemm chain: replay + backward ≤ {REPLAY_LIMIT} µs/step",
            where,
            None if replay is None else replay.total / replay.steps * 1e6,
            REPLAY_LIMIT,
            us,
        ),
        _target(
            "4×4 gemm chain: replay + backward faster than JAX jit (×)",
            where,
            _ratio(_get(jit, "total"), _get(replay, "total")),
            1,
        ),
        *(
            _target(
                f"4×4 gemm chain, {fw}: ≤ {FORM_LIMIT} × autodiff",
                where,
                _ratio(_get(_chain(rows, fw, t), "total"), _get(b, "total")),
                FORM_LIMIT,
            )
            for fw in ("blasad-tape", "blasad-tape-arrays", "blasad-tape-new")
        ),
    ]


def _chain(rows: Sequence[Row], framework: str, t: int) -> Row | None:
    """The float64 gemm chain's row of framework under t threads."""
    return find(rows, case="chain-gemm", framework=framework, threads=t, dtype="float64")


REPLAY_LIMIT = 0.6  # µs per step of the 4×4 gemm chain, replay + backward (issue 15)
FORM_LIMIT = 1.5  # a Tape form's chain ÷ autodiff over views (issue 15)
SINGLE_LIMIT = 3.0  # one tiny call differentiated end to end ÷ the ideal (issue 15)
TAPE_BYTES_LIMIT = 128  # bytes a recording holds per tiny call (issue 15)
SINGLE_APIS = {"blasad": "ba.autodiff", "blasad-tape": "ba.Tape"}


def _single_targets(rows: Sequence[Row]) -> list[Target]:
    """A target per API of the single-call fixed cost: its total ÷ the ideal's."""
    ideal = find(rows, case=SINGLE_CASE, framework="ideal")
    out = []
    for fw, api in SINGLE_APIS.items():
        r = find(rows, case=SINGLE_CASE, framework=fw)
        where = api + ("" if r is None else f" threads={threads_label(r.threads)}")
        out.append(_target(f"one {SINGLE_N}×{SINGLE_N} gemm end to end ≤ {SINGLE_LIMIT:g} × ideal", where,
                           _ratio(_get(r, "total"), _get(ideal, "total")), SINGLE_LIMIT))  # fmt: skip
    return out


SCALAR_RECORDED_LIMIT = 1e-6  # s per recorded operation, record + reverse (issue 13)
SCALAR_PLAIN_LIMIT = 2.0  # × NumPy's np.float64 operation, outside a recording ("about" as fast)
GRAD_CHECK_LIMIT = {"autodiff": 1e-12, "torch": 1e-10, "fd": 1e-6, "taped": 1e-10}
GRAD_CHECK_WHAT = {
    "autodiff": "autodiff's",
    "torch": "PyTorch's",
    "fd": "a central difference's",
    "taped": "the fully taped blasad loop's",
}


def _scalar_targets(rows: Sequence[Row]) -> list[Target]:
    out: list[Target] = []
    labels = list(dict.fromkeys(r.op for r in rows if r.case == "scalar-recorded"))
    for label in labels:
        tape = find(rows, case="scalar-recorded", op=label, framework="blasad-tape")
        ad = find(rows, case="scalar-recorded", op=label, framework="blasad")
        per_op = {
            api: (r.forward + r.backward) / r.steps for api, r in (("Tape", tape), ("autodiff", ad)) if r
        }
        where = label + " (" + ", ".join(f"{api} {t * 1e6:.3f}" for api, t in per_op.items()) + ")"
        out.append(
            _target(
                "active scalar recorded: record + reverse ≤ 1 µs/op",
                where,
                max(per_op.values()) * 1e6 if per_op else None,
                SCALAR_RECORDED_LIMIT * 1e6,
                "{:.3f} µs/op",
            )
        )
    for label in labels:
        b = find(rows, case="scalar-plain", op=label, framework="blasad")
        f = find(rows, case="scalar-plain", op=label, framework="numpy-float64")
        out.append(
            _target(
                f"active scalar, no recording ≤ {SCALAR_PLAIN_LIMIT:g} × NumPy np.float64",
                label,
                _ratio(_get(b, "total"), _get(f, "total")),
                SCALAR_PLAIN_LIMIT,
            )
        )
    out += _check_targets(
        "active-scalar chain: the Tape's gradient",
        "every operation above, r̄ and s̄",
        [r for r in rows if r.case == "scalar-recorded" and r.framework == "blasad"],
    )
    return out


def _check_targets(subject: str, where: str, rows: Sequence[Row]) -> list[Target]:
    """A target per kind of gradient check in rows' checks: the largest relative difference."""
    out = []
    for key, limit in GRAD_CHECK_LIMIT.items():
        values = [r.checks[key] for r in rows if key in r.checks]
        if values:
            what = GRAD_CHECK_WHAT[key]
            out.append(
                _target(f"{subject} = {what} (rel. diff ≤ {limit:g})", where, max(values), limit, "{:.1e}")
            )
    return out


def _cg_targets(rows: Sequence[Row], t: int) -> list[Target]:
    out: list[Target] = []
    for r in rows:
        if r.case == "cg" and r.framework == "blasad" and r.threads == t:
            where = f"n={r.n} k={r.steps} threads={threads_label(t)}"
            out += _check_targets("CG: the Tape's gradient", where, [r])
    return out


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


def fmt_bytes(b: float | None) -> str:
    """Bytes in B, kB, MB or GB (powers of 1000) with three significant digits."""
    if b is None or math.isnan(b):
        return "-"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(b) >= size:
            return f"{b / size:.3g} {unit}"
    return f"{b:.0f} B"


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


OP_HEADERS = ("framework", "dtype", "n", "threads", "fwd plain", "fwd AD", "reverse", "total", "rev/fwd",
              "total/ideal", "note")  # fmt: skip


OP_WHAT = {"gemm": "C ← A B, n × n", "gemv": "y ← A x, A n × n", "axpy": "y ← α x + y, length n²"}


def print_op_tables(rows: Sequence[Row]) -> None:
    """A table per routine: every framework, size, dtype and thread count."""
    if not any(r.case in OP_WHAT for r in rows):
        return
    for op, what in OP_WHAT.items():
        ideal = {(r.dtype, r.n, r.threads): r for r in rows if r.case == op and r.framework == "ideal"}
        body = []
        for r in sorted((r for r in rows if r.case == op), key=_op_order):
            i = ideal.get((r.dtype, r.n, r.threads))
            fwd = r.plain if r.plain is not None else r.forward
            rev_fwd = r.rev_plain if r.rev_plain is not None else r.backward / fwd if fwd > 0 else None
            rev_fwd_text = "-" if rev_fwd is None else f"{rev_fwd:.2f}"
            vs_ideal = f"{r.total / i.total:.3f}" if i is not None and i.total > 0 else "-"
            body.append([r.framework, r.dtype, str(r.n), threads_label(r.threads), fmt_time(r.plain),
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


DTYPES = ("float64", "float32", "complex128", "complex64")  # the order of the tables' rows


def _dtype_order(dtype: str) -> int:
    return DTYPES.index(dtype) if dtype in DTYPES else len(DTYPES)


def print_chain_table(rows: Sequence[Row]) -> None:
    """µs per step of each chain, dtype, framework and thread count, and the speed-up over
    PyTorch (on the same chain and dtype)."""
    body = []
    chains = [r for r in rows if r.case.startswith("chain")]
    order = {fw: i for i, fw in enumerate(FRAMEWORKS)}
    for r in sorted(chains, key=lambda r: (r.case, r.threads, _dtype_order(r.dtype), order[r.framework])):
        torch = find(rows, case=r.case, framework="torch", threads=r.threads, dtype=r.dtype)
        us = 1e6 / r.steps
        vs_torch = f"{torch.total / r.total:.2f}×" if torch is not None else "-"
        body.append([r.case, threads_label(r.threads), r.dtype, r.framework, f"{r.forward * us:.2f}",
                     f"{r.backward * us:.2f}", f"{r.total * us:.2f}", vs_torch, r.note])  # fmt: skip
    if body:
        title = (f"chains of {CHAIN_STEPS} dependent tiny calls (µs per step): chain-gemm = 4×4 X ← W X "
                 "(every framework in float64; autodiff and torch also in float32, complex128 and "
                 "complex64), chain-gemv-axpy = 8-vector y ← A x; x ← a y + x (float64)")  # fmt: skip
        headers = ("chain", "threads", "dtype", "framework", "record", "reverse", "total", "vs torch", "note")
        print_table(title, headers, body, "llllrrrrl")


def print_single_table(rows: Sequence[Row]) -> None:
    """The single-call fixed cost: one tiny gemm differentiated end to end, per framework: its
    forward, reverse and total, and the total ÷ the ideal's."""
    single = [r for r in rows if r.case == SINGLE_CASE]
    ideal = find(single, framework="ideal")
    body = []
    for r in sorted(single, key=_op_order):
        ratio = _ratio(r.total, _get(ideal, "total"))
        body.append([r.framework, threads_label(r.threads), fmt_time(r.forward), fmt_time(r.backward),
                     fmt_time(r.total), "-" if ratio is None else f"{ratio:.2f}", r.note])  # fmt: skip
    if body:
        title = (f"single-call fixed cost: one {SINGLE_N}×{SINGLE_N} gemm C ← A B, float64, differentiated "
                 "end to end (A and B active); time per call (median)")  # fmt: skip
        headers = ("framework", "threads", "forward", "reverse", "total", "total/ideal", "note")
        print_table(title, headers, body, "llrrrrl")
        print(
            "  blasad: ba.autodiff(f, Duplicated(A, dA), Duplicated(B, dB), Duplicated(C, dC)) with\n"
            "  preallocated shadows (the forward is timed inside f); blasad-tape: a new Tape, enter,\n"
            "  watch(A, B), the call, backward(C, seed), grad(A), grad(B) (it allocates its shadows);\n"
            "  ideal: the adjoint by hand, CBLAS on preallocated buffers (pointers computed once); the\n"
            "  peers: the functional A @ B and its vector-Jacobian product."
        )


def print_tape_bytes_table(rows: Sequence[Row]) -> None:
    """The resident memory a recording holds per tiny call, and the time to record one."""
    body = []
    for r in (r for r in rows if r.case == "tape-bytes"):
        per_call = "-" if r.bytes_per_step is None else f"{r.bytes_per_step:.0f}"
        body.append([r.framework, str(r.steps), per_call, fmt_time(_per_step(r, "forward"))])
    if body:
        title = (f"tape bytes per call: resident memory growth over {TAPE_BYTES_CALLS} recorded y ← 2 x + y "
                 "on length-4 float64 vectors, x active (a fresh process per framework)")  # fmt: skip
        print_table(title, ("framework", "calls", "B/call", "record/call"), body)
        print(
            "  blasad: ba.axpy(2.0, x, y) inside one Tape with x watched; torch: y.add_(x, alpha=2.0) with\n"
            "  x requiring grad (the graph grows by a node per call). The growth is the resident set\n"
            "  (/proc/self/statm) after the calls less before, the recording still alive, after a short\n"
            "  recording that warms up."
        )


def _per_step(r: Row | None, field: str = "total") -> float | None:
    v = _get(r, field)
    return None if r is None or v is None or math.isnan(v) else v / r.steps


SCALAR_RECORDED = ("blasad-tape", "blasad", "torch")
SCALAR_PLAIN = (
    ("blasad", "forward", "blasad"),
    ("np.float64", "forward", "numpy-float64"),
    ("0-d array", "forward", "numpy-0d"),
    ("torch", "forward", "torch"),
    ("torch grad", "forward", "torch-grad"),
    ("+backward()", "total", "torch-grad"),
    ("Tape, 1 op", "total", "blasad-tape-1"),
    ("autodiff, 1 op", "total", "blasad-1"),
)


def print_scalar_tables(rows: Sequence[Row]) -> None:
    """Time per active-scalar operation: recorded (a chain, forward and reverse, against
    PyTorch's), and outside any recording (against NumPy's and PyTorch's scalar operations)."""
    recorded = [r for r in rows if r.case == "scalar-recorded"]
    labels = list(dict.fromkeys(r.op for r in recorded))
    body = []
    for label in labels:
        torch = find(recorded, op=label, framework="torch")
        for fw in SCALAR_RECORDED:
            r = find(recorded, op=label, framework=fw)
            if r is None:
                continue
            vs_torch = f"{torch.total / r.total:.1f}×" if torch is not None else "-"
            body.append([label, fw, fmt_time(_per_step(r, "forward")), fmt_time(_per_step(r, "backward")),
                         fmt_time(_per_step(r)), vs_torch])  # fmt: skip
    if body:
        steps = recorded[0].steps
        title = (
            f"active scalars recorded on a tape: a chain z ← op(z) of {steps} operations from an active "
            "r (s = 1, active too), float64; time per operation (median)"
        )
        print_table(title, ("op", "framework", "record", "reverse", "total", "vs torch"), body, "llrrrr")
        print(
            "  blasad-tape: Tape, watch(r, s), the chain, backward(z, 1), grad(r), grad(s); blasad:\n"
            "  ba.autodiff over Duplicated 0-d arrays r, s, out (wrapped as ba.Scalar; the last operation\n"
            "  stores into out with out=); torch: 0-d float64 leaf tensors with requires_grad,\n"
            "  z.backward(). total includes the set-up (Tape, autodiff) spread over the chain; each\n"
            "  operation is written inline in the loop's body."
        )
    plain = [r for r in rows if r.case == "scalar-plain"]
    labels = list(dict.fromkeys(r.op for r in plain if r.framework != "python"))
    body = []
    for label in labels:
        cells = [label]
        for _, field, fw in SCALAR_PLAIN:
            cells.append(fmt_time(_per_step(find(plain, op=label, framework=fw), field)))
        b, f = find(plain, op=label, framework="blasad"), find(plain, op=label, framework="numpy-float64")
        ratio = _ratio(_get(b, "total"), _get(f, "total"))
        cells.insert(3, "-" if ratio is None else f"{ratio:.1f}×")
        body.append(cells)
    if body:
        headers = ["op"] + [h for h, _, _ in SCALAR_PLAIN]
        headers.insert(3, "blasad/f64")
        loop = find(plain, framework="python")
        steps = plain[0].steps
        title = f"active scalars outside any recording: z ← op(r), {steps} times, float64; time per operation"
        print_table(title, headers, body)
        print(
            "  blasad: r a ba.Scalar (what a reduction returns) with no tape recording; np.float64 and\n"
            "  0-d array: NumPy's own; torch: 0-d float64 tensors, plain and with requires_grad (forward,\n"
            "  and forward + backward() per operation); Tape, 1 op: a Tape per operation (watch(r, s), op,\n"
            "  backward, grad(r)); autodiff, 1 op: ba.autodiff of one operation stored with out=. Every\n"
            f"  figure includes the loop's own cost: {fmt_time(_per_step(loop))} per iteration for z = r."
        )


CG_FRAMEWORKS = ("blasad", "blasad-tape", "numpy", "torch")


def print_cg_table(rows: Sequence[Row]) -> None:
    """Time per CG iteration, forward and reverse, per size, thread count and framework."""
    cg = [r for r in rows if r.case == "cg"]
    body = []
    order = {fw: i for i, fw in enumerate(CG_FRAMEWORKS)}
    for r in sorted(cg, key=lambda r: (r.threads, r.n, order.get(r.framework, 99))):
        floor = find(cg, framework="numpy", n=r.n, threads=r.threads)
        torch = find(cg, framework="torch", n=r.n, threads=r.threads)
        vs_floor = _ratio(r.total, _get(floor, "total"))
        body.append([str(r.n), str(r.steps), threads_label(r.threads), r.framework,
                     fmt_time(_per_step(r, "plain")), fmt_time(_per_step(r, "forward")),
                     fmt_time(_per_step(r, "backward")), fmt_time(_per_step(r)),
                     "-" if vs_floor is None else f"{vs_floor:.2f}",
                     f"{torch.total / r.total:.2f}×" if torch is not None else "-", r.note])  # fmt: skip
    if body:
        title = (
            "conjugate gradient, k iterations from x = 0 on an n × n SPD system (gemv, dot, axpy, scal "
            "and active-scalar α, β), loss ⟨seed, x_k⟩, A and b active, float64; time per iteration (median)"
        )
        headers = ("n", "k", "threads", "framework", "fwd plain", "fwd AD", "reverse", "total", "total/numpy",
                   "vs torch", "note")  # fmt: skip
        print_table(title, headers, body, "rrrlrrrrrrl")
        print(
            "  blasad: ba.autodiff with preallocated shadows (fwd plain: the same program with no tape, in\n"
            "  the same repetition); blasad-tape: Tape, watch(A, b), backward(x, seed), grad(A), grad(b)\n"
            "  (each Tape allocates its shadows); numpy: the program in plain NumPy, forward only (the\n"
            "  floor); torch: the program out of place (as autograd requires), x.backward(seed).\n"
            "  total/numpy: total over NumPy's forward. The gradients are checked once per case (targets)."
        )


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
    if any(t.name.startswith(("gemm", "gemv", "axpy")) for t in targets):
        print(
            "  blasad's reverse / forward, forward under tape / plain and reverse / ideal (gemv, axpy):\n"
            "  medians over repetitions of the ratio within one repetition, which times the plain call,\n"
            "  the hand-written reverse and autodiff back to back on the same buffers; total / ideal:\n"
            "  blasad's median total over the ideal's, measured in turns."
        )
    if any(t.name.startswith("active scalar") for t in targets):
        print(
            "  active scalar recorded: (record + reverse) / operations of the chain, the Tape's or\n"
            "  autodiff's set-up left out (the table's total has it); no recording: medians measured in\n"
            "  turns, each with the loop's own cost."
        )


PLOT_DTYPES = ("float32", "float64")


def write_plot(rows: Sequence[Row], path: str) -> str:
    """Writes plot_figure(rows) to path; returns a line for the report."""
    try:
        fig = plot_figure(rows)
    except ImportError:
        return "plot skipped: matplotlib is not installed"
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"plot written to {path}"


def plot_figure(rows: Sequence[Row]) -> Any:
    """The report's figure: per routine (a row of panels) and dtype, the total time per call
    (forward + reverse) against n, and beside it each framework's total ÷ the ideal's at the
    same n and thread count (overhead at a glance); a line per framework and thread count
    (solid: the first thread count, dashed: the second, ...). Raises ImportError without
    matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ops = tuple(OP_WHAT)
    fig, axes = plt.subplots(len(ops), 2 * len(PLOT_DTYPES), figsize=(22, 12), squeeze=False)
    labels: dict[str, Any] = {}  # one legend entry per line kind, for the figure's legend
    for i, op in enumerate(ops):
        for j, dtype in enumerate(PLOT_DTYPES):
            for k, over_ideal in enumerate((False, True)):
                _plot_panel(axes[i, 2 * j + k], rows, op, dtype, over_ideal, labels)
    if labels:
        fig.legend(list(labels.values()), list(labels), loc="lower center", ncol=5, fontsize=8)
    fig.suptitle("blasad benchmark: time per call (median) against n, and ÷ the hand-written ideal")
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    return fig


def panel_series(
    rows: Sequence[Row], op: str, dtype: str, over_ideal: bool
) -> dict[tuple[str, int], list[Any]]:
    """The lines of one panel of plot_figure, by (framework, threads): (n, total per call) points,
    or (over_ideal) (n, total ÷ the ideal's at the same n and thread count), sorted by n."""
    mine = [r for r in rows if (r.case, r.dtype) == (op, dtype)]
    ideal = {(r.n, r.threads): r.total for r in mine if r.framework == "ideal"}
    out: dict[tuple[str, int], list[Any]] = {}
    for r in mine:
        y = _ratio(r.total, ideal.get((r.n, r.threads))) if over_ideal else r.total
        if y is not None and r.framework in FRAMEWORKS:
            out.setdefault((r.framework, r.threads), []).append((r.n, y))
    return {key: sorted(pts) for key, pts in out.items()}


def _plot_panel(
    ax: Any, rows: Sequence[Row], op: str, dtype: str, over_ideal: bool, labels: dict[str, Any]
) -> None:
    """One panel of plot_figure: total per call against n, or (over_ideal) total ÷ the ideal's;
    adds its lines to labels."""
    threads = sorted({r.threads for r in rows})
    styles = ["-", "--", ":", "-."]
    series = panel_series(rows, op, dtype, over_ideal)
    for c, fw in enumerate(FRAMEWORKS):
        for k, t in enumerate(threads):
            pts = series.get((fw, t))
            if pts:
                label = f"{fw}, {threads_label(t)} thread(s)"
                (line,) = ax.plot(*zip(*pts), styles[k % len(styles)], marker="o", markersize=3,
                                  color=f"C{c}", label=label)  # fmt: skip
                labels.setdefault(label, line)
    what = "total ÷ ideal" if over_ideal else "forward + reverse per call [s]"
    title = f"{op}, {dtype}: ÷ ideal" if over_ideal else f"{op}: {OP_WHAT[op]}, {dtype}"
    ax.set(yscale="log", title=title, xlabel="n", ylabel=what)
    ax.set_xscale("log", base=2)
    ax.grid(True, which="both", alpha=0.3)


def environment_lines(peers: Peers) -> list[str]:
    """Versions, the OpenBLAS libraries and kernels loaded, and the OPENBLAS_* variables set."""
    lines = [
        f"blasad {ba.__version__}, numpy {np.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs",
    ]
    try:
        import threadpoolctl

        blas_dir = _openblas_dir()  # blasad's extension and the ideal call it
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
