"""A timed sample per AD framework: blasad (autodiff, and the Tape API) and the peers found
installed (PyTorch, JAX jit and eager, HIPS autograd)."""

from __future__ import annotations

import contextlib
import importlib.metadata
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

import blasad as ba
from blasad.bench.problems import OpProblem
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
