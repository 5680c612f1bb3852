"""A timed sample per AD framework: blasad (autodiff, and the Tape API) and the peers found
installed (PyTorch, JAX jit and eager, HIPS autograd); for whole programs (CG) and for the
active-scalar operations (recorded, and not, against NumPy's and PyTorch's scalars)."""

from __future__ import annotations

import contextlib
import importlib.metadata
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

import blasad as ba
from blasad.bench.problems import (
    OpProblem,
    ScalarCase,
    scalar_loop,
    scalar_loop_autodiff,
    scalar_loop_backward,
    scalar_loop_out,
    scalar_loop_tape,
)
from blasad.bench.timing import Sample, now, phases

PEERS = ("torch", "jax-jit", "jax-eager", "autograd")
JAX_JIT_NOTE = "reverse = (fwd+vjp) - fwd"


# ---------------------------------------------------------------------------------------------
# blasad
# ---------------------------------------------------------------------------------------------


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


def _seed(shadows: Sequence[np.ndarray], seeds: dict[int, np.ndarray]) -> None:
    """Each shadow its seed (autodiff reads it on entry), zero where none is given."""
    for i, s in enumerate(shadows):
        if i in seeds:
            np.copyto(s, seeds[i])
        else:
            s.fill(0)


def autodiff_sample(
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
        _seed(shadows, seeds)
        t0 = now()
        ba.autodiff(f, *(ba.Duplicated(a, s) for a, s in zip(arrays, shadows)))
        t2 = now()
        return phases(t0, marks[0], t2)

    return sample


def replay_sample(f: Callable[..., None], arrays: Sequence[np.ndarray], out: int, seed: np.ndarray) -> Sample:
    """``Tape(replay=True)``: f(*arrays) recorded once, untimed, every array watched. One
    repetition: the arrays get their initial values back (untimed), then ``replay()`` (the
    forward) and ``backward(arrays[out], seed)`` (the reverse)."""
    initial = [a.copy() for a in arrays]
    with ba.Tape(replay=True) as tape:
        tape.watch(*arrays)
        f(*arrays)

    def sample() -> dict[str, float]:
        for a, a0 in zip(arrays, initial):
            np.copyto(a, a0)
        t0 = now()
        tape.replay()
        t1 = now()
        tape.backward(arrays[out], seed)
        t2 = now()
        return phases(t0, t1, t2)

    return sample


CHAIN_FORMS = {  # how a user may write the gemm chain with the Tape API (chain_tape_sample)
    "blasad-tape": "views X[i] of one base array",
    "blasad-tape-arrays": "distinct preallocated arrays",
    "blasad-tape-new": "new outputs, x = ba.gemm(1.0, W, x)",
}


def chain_tape_sample(form: str, W: np.ndarray, X0: np.ndarray, seed: np.ndarray, steps: int) -> Sample:
    """X ← W X `steps` times with the Tape API, written in one of CHAIN_FORMS: a new Tape, watch,
    the chain (forward); backward, grad(W), grad(X0) (reverse). The arrays are allocated before
    the clock starts, except the new outputs, which that form allocates as it runs."""
    views = np.zeros((steps + 1, *X0.shape), X0.dtype)
    arrays = [np.zeros_like(X0) for _ in range(steps + 1)]

    def sample() -> dict[str, float]:
        gemm = ba.gemm
        xs: Any = views if form == "blasad-tape" else arrays
        np.copyto(xs[0], X0)
        t0 = now()
        with ba.Tape() as tape:
            tape.watch(W, views if form == "blasad-tape" else xs[0])
            x = xs[0]
            for i in range(steps):
                if form == "blasad-tape-new":
                    x = gemm(1.0, W, x)
                else:
                    gemm(1.0, W, xs[i], 0.0, xs[i + 1])
                    x = xs[i + 1]
        t1 = now()
        tape.backward(x, seed)
        tape.grad(W)
        tape.grad(xs[0])
        t2 = now()
        return phases(t0, t1, t2)

    return sample


def program_sample(
    f: Callable[..., None],
    arrays: Sequence[np.ndarray],
    shadows: Sequence[np.ndarray],
    seeds: dict[int, np.ndarray],
) -> Sample:
    """A program f(*arrays) that sets up its own state from its inputs (it writes only its
    outputs and work arrays, so that it can be repeated as is). One repetition: f without a
    tape ("plain"), then ``ba.autodiff`` over Duplicated(arrays[i], shadows[i]), its forward
    timed inside the differentiated function, its reverse everything after it. Before
    autodiff (untimed) the shadows get their seeds (zero where none is given); fwd/plain is
    taken within the repetition."""
    marks = [0.0, 0.0]

    def timed(*a: np.ndarray) -> None:
        marks[0] = now()
        f(*a)
        marks[1] = now()

    def sample() -> dict[str, float]:
        t0 = now()
        f(*arrays)
        plain = now() - t0
        _seed(shadows, seeds)
        t0 = now()
        ba.autodiff(timed, *(ba.Duplicated(a, s) for a, s in zip(arrays, shadows)))
        t3 = now()
        fwd = marks[1] - marks[0]
        return {"plain": plain, "forward": fwd, "backward": t3 - marks[1], "total": t3 - t0,
                "fwd/plain": fwd / plain}  # fmt: skip

    return sample


def tape_program_sample(
    f: Callable[..., None],
    arrays: Sequence[np.ndarray],
    watched: Sequence[np.ndarray],
    output: np.ndarray,
    seed: np.ndarray,
) -> Sample:
    """The Tape API on the program of program_sample: watch, f(*arrays), backward(output,
    seed), grad of every watched array (the shadows allocated by the tape)."""

    def sample() -> dict[str, float]:
        t0 = now()
        with ba.Tape() as tape:
            tape.watch(*watched)
            t1 = now()
            f(*arrays)
            t2 = now()
        tape.backward(output, seed)
        for x in watched:
            tape.grad(x)
        t3 = now()
        return {"forward": t2 - t1, "backward": t3 - t2, "total": t3 - t0}

    return sample


def numpy_sample(f: Callable[[], Any]) -> Sample:
    """A forward-only program (no AD): its time is the forward and the total."""

    def sample() -> dict[str, float]:
        t0 = now()
        f()
        t = now() - t0
        return {"forward": t, "total": t}

    return sample


# ---------------------------------------------------------------------------------------------
# active scalars
# ---------------------------------------------------------------------------------------------


def scalar_tape_chain(op: ScalarCase, k: int) -> Sample:
    """The Tape API: r and s watched (0-d buffers wrapped as ba.Scalar), the chain z ← op(z)
    of k recorded operations, then backward(z, 1) and grad(r), grad(s)."""
    loop = scalar_loop(op, chain=True)
    r0, s0, one = np.array(op.start), np.array(1.0), np.array(1.0)

    def sample() -> dict[str, float]:
        r, s = ba.Scalar(r0), ba.Scalar(s0)
        t0 = now()
        with ba.Tape() as tape:
            tape.watch(r.buffer, s.buffer)
            t1 = now()
            z = loop(r, s, np.sqrt, k)
            t2 = now()
        tape.backward(z, one)
        tape.grad(r.buffer)
        tape.grad(s.buffer)
        t3 = now()
        return {"forward": t2 - t1, "backward": t3 - t2, "total": t3 - t0}

    return sample


def scalar_autodiff_chain(op: ScalarCase, k: int, grads: list[float] | None = None) -> Sample:
    """ba.autodiff over Duplicated 0-d arrays r, s and out: the differentiated function wraps r
    and s as ba.Scalar and runs the chain, its last operation stored into out with ``out=``
    (seeded 1); its forward is timed inside the function. `grads` receives r̄ and s̄."""
    loop = scalar_loop_out(op)
    r0, s0, out = np.array(op.start), np.array(1.0), np.zeros(())
    dr, ds, dout = np.zeros(()), np.zeros(()), np.zeros(())
    marks = [0.0, 0.0]

    def f(r0: np.ndarray, s0: np.ndarray, out: np.ndarray) -> None:
        r, s = ba.Scalar(r0), ba.Scalar(s0)
        marks[0] = now()
        loop(r, s, np.sqrt, k, out)
        marks[1] = now()

    def sample() -> dict[str, float]:
        dr[()], ds[()], dout[()] = 0.0, 0.0, 1.0
        t0 = now()
        ba.autodiff(f, ba.Duplicated(r0, dr), ba.Duplicated(s0, ds), ba.Duplicated(out, dout))
        t3 = now()
        if grads is not None:
            grads[:] = [float(dr), float(ds)]
        return {"forward": marks[1] - marks[0], "backward": t3 - marks[1], "total": t3 - t0}

    return sample


def scalar_torch_chain(torch: Any, op: ScalarCase, k: int, grads: list[float] | None = None) -> Sample:
    """PyTorch autograd: 0-d float64 leaf tensors r, s (requires_grad), the chain of k
    operations, then z.backward(). `grads` receives r.grad and s.grad."""
    loop = scalar_loop(op, chain=True)
    r = torch.tensor(op.start, dtype=torch.float64, requires_grad=True)
    s = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)

    def sample() -> dict[str, float]:
        r.grad = s.grad = None
        t0 = now()
        z = loop(r, s, torch.sqrt, k)
        t1 = now()
        z.backward()
        t2 = now()
        if grads is not None:
            grads[:] = [float(r.grad), 0.0 if s.grad is None else float(s.grad)]
        return phases(t0, t1, t2)

    return sample


def scalar_plain(op: ScalarCase, r: Any, s: Any, sqrt: Callable[..., Any], k: int) -> Sample:
    """z ← op(r), k independent operations on the same operands, outside any recording."""
    loop = scalar_loop(op, chain=False)

    def sample() -> dict[str, float]:
        t0 = now()
        loop(r, s, sqrt, k)
        t = now() - t0
        return {"forward": t, "total": t}

    return sample


def scalar_torch_grad(torch: Any, op: ScalarCase, k: int) -> Sample:
    """PyTorch, 0-d leaf tensors with requires_grad: k operations z ← op(r) (each builds its
    graph), then k operations each followed by its backward()."""
    loop, loop_backward = scalar_loop(op, chain=False), scalar_loop_backward(op)
    r = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    s = torch.tensor(1.2, dtype=torch.float64, requires_grad=True)

    def sample() -> dict[str, float]:
        r.grad = s.grad = None
        t0 = now()
        loop(r, s, torch.sqrt, k)
        t1 = now()
        loop_backward(r, s, torch.sqrt, k)
        t2 = now()
        return {"forward": t1 - t0, "fwd+bwd": t2 - t1, "total": t2 - t0}

    return sample


def scalar_tape_single(op: ScalarCase, k: int) -> Sample:
    """k times one operation under its own Tape (watch, op, backward, grad(r))."""
    loop = scalar_loop_tape(op)
    r, s, one = ba.Scalar(np.array(1.5)), ba.Scalar(np.array(1.2)), np.array(1.0)

    def sample() -> dict[str, float]:
        t0 = now()
        loop(r, s, np.sqrt, k, one)
        return {"total": now() - t0}

    return sample


def scalar_autodiff_single(op: ScalarCase, k: int) -> Sample:
    """k times ``ba.autodiff`` of one operation (stored with out=, dout re-seeded each time)."""
    loop = scalar_loop_autodiff(op)
    r0, s0, out = np.array(1.5), np.array(1.2), np.zeros(())
    dr, ds, dout = np.zeros(()), np.zeros(()), np.zeros(())

    def sample() -> dict[str, float]:
        t0 = now()
        loop(r0, s0, out, dr, ds, dout, k)
        return {"total": now() - t0}

    return sample


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
        self.compile_s: dict[str, float] = {}  # jax_jit_sample's key: seconds of its first calls
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


def jax_vjp(peers: Peers, key: str, expr: Callable[..., Any]) -> Any:
    """jax.jit of forward + vjp, made once per key: f(inputs, seed) -> (expr(*inputs), the
    inputs' adjoints); what jax_jit_sample times as the total."""
    jax = peers.jax

    def both(ins: tuple[Any, ...], s: Any) -> Any:
        out, vjp = jax.vjp(expr, *ins)
        return out, vjp(s)

    return peers.jit(("total", key), lambda: jax.jit(both))


def jax_jit_sample(
    peers: Peers, key: str, expr: Callable[..., Any], inputs: Sequence[np.ndarray], seed: np.ndarray
) -> Sample:
    """jax.jit of the forward, and of forward + vjp; the reverse is their difference."""
    jax = peers.jax
    fresh = ("total", key) not in peers._jit
    fwd = peers.jit(("fwd", key), lambda: jax.jit(expr))
    total = jax_vjp(peers, key, expr)
    ins = tuple(jax.numpy.asarray(x) for x in inputs)
    s = jax.numpy.asarray(seed)
    if fresh:  # the first calls compile: their time, for the report (compile_s)
        t0 = now()
        _block(fwd(*ins))
        _block(total(ins, s))
        peers.compile_s[key] = now() - t0

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
