"""blasad programs inside PyTorch (DESIGN §10): ``blasad.torch.wrap``.

An in-place program ``f(*arrays)`` (blasad calls on NumPy arrays) becomes a function of tensors
that returns the final values of the arguments named in ``outputs`` and leaves its inputs
alone; PyTorch differentiates it in reverse mode through blasad's tape. Needs ``torch``
(``pip install 'blasad[torch]'``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from blasad._interop import positions
from blasad._tape import _FLOAT_DTYPES, Tape
from blasad._validate import overlaps_itself

try:
    import torch
except ImportError as e:  # pragma: no cover (the message is the point)
    raise ImportError("blasad.torch needs PyTorch: pip install 'blasad[torch]' (torch==2.13.0)") from e

__all__ = ["wrap"]


def _array(i: int, t: Any) -> Any:
    """Argument i as f receives it: a tensor's values in a new NumPy array of its own (the
    tensor is not written), anything else as it is."""
    if not isinstance(t, torch.Tensor):
        return t
    if t.device.type != "cpu":
        raise ValueError(f"argument {i} is on {t.device}: blasad runs on the CPU; pass t.cpu()")
    a = t.detach().resolve_conj().resolve_neg().numpy()
    if a.dtype in _FLOAT_DTYPES and overlaps_itself(a):
        raise ValueError(f"argument {i} has overlapping elements (an expanded tensor); pass a copy")
    return a.copy()


def _seed(g: Any, dtype: np.dtype[Any]) -> np.ndarray:
    """An output's gradient from PyTorch as a NumPy array of the output's dtype."""
    return np.asarray(g.detach().resolve_conj().resolve_neg().cpu().numpy(), dtype=dtype)


class _Program(torch.autograd.Function):
    """f run on copies of the arguments under a blasad Tape; backward seeds the outputs' final
    values and returns the adjoints of the tensors' values (DESIGN §10)."""

    @staticmethod
    def forward(ctx: Any, f: Callable[..., Any], outputs: tuple[int, ...], *args: Any) -> Any:
        arrays = [_array(i, t) for i, t in enumerate(args)]
        for i in outputs:
            if not isinstance(arrays[i], np.ndarray) or arrays[i].dtype not in _FLOAT_DTYPES:
                raise TypeError(f"output {i} must be a float or complex tensor, got {type(args[i]).__name__}")
        active = [
            i
            for i, t in enumerate(args)
            if isinstance(t, torch.Tensor) and t.requires_grad and arrays[i].dtype in _FLOAT_DTYPES
        ]
        tape = Tape(replay=True)  # (its backward does not consume it: PyTorch may call backward again)
        with tape:
            tape.watch(*(arrays[i] for i in active))
            f(*arrays)
        ctx.tape, ctx.arrays, ctx.outputs, ctx.active, ctx.n = tape, arrays, outputs, active, len(args)
        # the outputs as new tensors: the tape reads the arrays in backward, and a tensor over them
        # could be written in place before that
        results = tuple(torch.from_numpy(arrays[i].copy()) for i in outputs)
        return results[0] if len(results) == 1 else results

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        outs = [ctx.arrays[i] for i in ctx.outputs]
        seeds = [
            np.zeros_like(a)
            if g is None
            else g.detach().resolve_conj().cpu().numpy().astype(a.dtype, copy=False)
            for a, g in zip(outs, grads)
        ]
        ctx.tape.backward(outs, seeds)
        adjoints: list[Any] = [None] * ctx.n
        for i in ctx.active:
            adjoints[i] = torch.from_numpy(ctx.tape.grad(ctx.arrays[i]))
        return (None, None, *adjoints)


def wrap(f: Callable[..., Any], outputs: int | Sequence[int] = (0,)) -> Callable[..., Any]:
    """g(*tensors) = the final values of f's arguments at the positions `outputs`, after f ran
    in place on copies of them; differentiable by PyTorch in reverse mode.

    ``f`` takes NumPy arrays (and whatever else it is given, passed as is) and writes them with
    blasad calls. Tensors are CPU tensors of float32, float64, complex64 or complex128; those
    that require grad are watched, and their ``.grad`` is the adjoint of their value (blasad's
    reverse sweep, on the same BLAS). One output gives a tensor, several a tuple. Forward mode
    (``torch.func.jvp``) is not supported yet.

    Example::

        def program(A, x):
            x0 = ba.copy(x, np.empty_like(x))   # (recorded: a NumPy copy would cut the gradient)
            ba.gemv(1.0, A, x0, 0.5, x)         # x ← A x + x / 2, in place

        g = blasad.torch.wrap(program, outputs=(1,))
        y = g(A_tensor, x_tensor)               # x_tensor itself is not written
    """
    if not callable(f):
        raise TypeError(f"f must be a function of arrays, got {type(f).__name__}")
    pos = positions(outputs)

    def wrapped(*args: Any) -> Any:
        return _Program.apply(f, positions(pos, len(args)), *args)

    wrapped.__name__ = getattr(f, "__name__", "wrapped")
    wrapped.__doc__ = f.__doc__
    return wrapped
