"""blasad programs inside PyTorch (DESIGN §10): ``blasad.torch.wrap``.

An in-place program ``f(*arrays)`` (blasad calls on NumPy arrays) becomes a function of tensors
that returns the final values of the arguments named in ``outputs`` and leaves its inputs
alone; PyTorch differentiates it in reverse mode through blasad's tape and in forward mode
through blasad's forward mode. Needs ``torch``
(``pip install 'blasad[torch]'``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from blasad._interop import positions
from blasad._tape import _FLOAT_DTYPES, Const, Duplicated, Tape, autodiff
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


class _Run:
    """What one call leaves for its derivatives: the tape (None until a reverse pass needs it)
    and the arrays f ran on, passed beside the outputs (PyTorch hands non-tensor outputs on)."""

    def __init__(self, tape: Tape | None, arrays: list[Any], active: list[int]) -> None:
        self.tape, self.arrays, self.active = tape, arrays, active  # active: the watched positions


def _record(f: Callable[..., Any], arrays: list[Any], active: list[int]) -> Tape:
    tape = Tape(replay=True)  # (its backward does not consume it: PyTorch may call backward again)
    with tape:
        tape.watch(*(arrays[i] for i in active))
        f(*arrays)
    return tape


def _backward(tape: Tape, arrays: list[Any], outputs: Any, grads: Any, active: Any) -> list[Any]:
    """The tape's reverse sweep from the outputs' gradients (None: zero): the adjoints, as tensors,
    of the arrays at the positions `active`."""
    outs = [arrays[i] for i in outputs]
    tape.backward(outs, [np.zeros_like(a) if g is None else _seed(g, a.dtype) for a, g in zip(outs, grads)])
    return [torch.from_numpy(tape.grad(arrays[i])) for i in active]


class _Program(torch.autograd.Function):
    """f run on copies of the arguments; backward seeds the outputs' final values and returns the
    adjoints of the tensors' values through a blasad Tape, jvp pushes the tangents through
    blasad's forward mode (DESIGN §10). When a tensor requires grad, f runs under the Tape
    right away; under torch.func's transforms (which hide requires_grad) and in forward-mode AD it
    runs plainly, and backward records it then, on fresh copies of the inputs."""

    @staticmethod
    def forward(f: Callable[..., Any], outputs: tuple[int, ...], *args: Any) -> Any:
        arrays = [_array(i, t) for i, t in enumerate(args)]
        for i in outputs:
            if not isinstance(arrays[i], np.ndarray) or arrays[i].dtype not in _FLOAT_DTYPES:
                raise TypeError(f"output {i} must be a float or complex tensor, got {type(args[i]).__name__}")
        active = _floats(args, arrays, lambda i: args[i].requires_grad)
        if active:
            tape: Tape | None = _record(f, arrays, active)
        else:
            f(*arrays)
            tape = None
        # the outputs as new tensors: the tape reads the arrays in backward, and a tensor over them
        # could be written in place before that
        return (*(torch.from_numpy(arrays[i].copy()) for i in outputs), _Run(tape, arrays, active))

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.f, ctx.outputs, ctx.args, ctx.run = inputs[0], inputs[1], inputs[2:], output[-1]
        ctx.set_materialize_grads(False)
        # backward and jvp read the inputs' values through these (under torch.func's transforms
        # ctx.args are wrappers without storage)
        tensors = [t for t in ctx.args if isinstance(t, torch.Tensor)]
        ctx.save_for_forward(*tensors)
        ctx.save_for_backward(*tensors)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        run, args = ctx.run, ctx.args
        active = _floats(args, run.arrays, lambda i: ctx.needs_input_grad[2 + i])
        if run.tape is None or any(i not in run.active for i in active):  # not recorded in forward
            saved = iter(ctx.saved_tensors)
            values = [next(saved) if isinstance(t, torch.Tensor) else t for t in args]
            got = iter(_Adjoints.apply(ctx.f, ctx.outputs, tuple(active), len(args), *values, *grads[:-1]))
            return (None, None, *(next(got) if i in active else None for i in range(len(args))))
        got = iter(_backward(run.tape, run.arrays, ctx.outputs, grads, active))
        return (None, None, *(next(got) if i in active else None for i in range(len(args))))

    @staticmethod
    def jvp(ctx: Any, f_dot: Any, outputs_dot: Any, *dots: Any) -> Any:
        saved = iter(ctx.saved_tensors)
        values = [next(saved) if isinstance(t, torch.Tensor) else t for t in ctx.args]
        # (through a Function of its own: under torch.func.jvp the tensors here are wrappers, and
        # its forward gets their plain values)
        return (*_Tangents.apply(ctx.f, ctx.outputs, len(values), *values, *dots), None)


class _Adjoints(torch.autograd.Function):
    """The adjoints of f's inputs at `active` from their values and the outputs' gradients: f
    recorded on a blasad Tape (a Function of its own for the reason given in _Program.jvp)."""

    @staticmethod
    def forward(
        f: Callable[..., Any],
        outputs: tuple[int, ...],
        active: tuple[int, ...],
        n: int,
        *values_and_grads: Any,
    ) -> Any:
        values, grads = values_and_grads[:n], values_and_grads[n:]
        arrays = [_array(i, t) for i, t in enumerate(values)]
        return tuple(_backward(_record(f, arrays, list(active)), arrays, outputs, grads, active))

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        pass


class _Tangents(torch.autograd.Function):
    """The tangents of f's outputs from its inputs' values and tangents: blasad's forward mode."""

    @staticmethod
    def forward(f: Callable[..., Any], outputs: tuple[int, ...], n: int, *values_and_dots: Any) -> Any:
        values, dots = values_and_dots[:n], values_and_dots[n:]
        arrays = [_array(i, t) for i, t in enumerate(values)]
        tangents = {
            i: np.zeros_like(arrays[i]) if dots[i] is None else _seed(dots[i], arrays[i].dtype).copy()
            for i in _floats(values, arrays, lambda i: True)
            if dots[i] is not None or i in outputs
        }
        pairs = [Duplicated(a, tangents[i]) if i in tangents else Const(a) for i, a in enumerate(arrays)]
        autodiff(f, *pairs, mode="forward")
        return tuple(torch.from_numpy(tangents[i]) for i in outputs)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        pass


def _floats(args: tuple[Any, ...], arrays: list[Any], pick: Callable[[Any], bool]) -> list[int]:
    """The positions i of the float or complex tensors among args for which pick(i) holds."""
    return [
        i
        for i, t in enumerate(args)
        if isinstance(t, torch.Tensor) and arrays[i].dtype in _FLOAT_DTYPES and pick(i)
    ]


def wrap(f: Callable[..., Any], outputs: int | Sequence[int] = (0,)) -> Callable[..., Any]:
    """g(*tensors) = the final values of f's arguments at the positions `outputs`, after f ran
    in place on copies of them; differentiable by PyTorch in reverse mode.

    ``f`` takes NumPy arrays (and whatever else it is given, passed as is) and writes them with
    blasad calls. Tensors are CPU tensors of float32, float64, complex64 or complex128; those
    that require grad are watched, and their ``.grad`` is the adjoint of their value (blasad's
    reverse sweep, on the same BLAS). Forward-mode AD (``torch.func.jvp``,
    ``torch.autograd.forward_ad``) runs f again under blasad's forward mode, from the inputs'
    values and tangents. One output gives a tensor, several a tuple.

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
        results = _Program.apply(f, positions(pos, len(args)), *args)[:-1]
        return results[0] if len(results) == 1 else results

    wrapped.__name__ = getattr(f, "__name__", "wrapped")
    wrapped.__doc__ = f.__doc__
    return wrapped
