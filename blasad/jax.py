"""blasad programs inside JAX (DESIGN §10): ``blasad.jax.wrap``.

An in-place program ``f(*arrays)`` (blasad calls on NumPy arrays) becomes a function of JAX
arrays that returns the final values of the arguments named in ``outputs``, usable under
``jax.jit`` and ``jax.grad``: it runs through ``jax.pure_callback``, and its reverse rule
(``jax.custom_vjp``, JAX's one custom rule per callback) runs f again under a blasad Tape and
sweeps it. Needs ``jax`` (``pip install 'blasad[jax]'``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from blasad._interop import positions
from blasad._tape import _FLOAT_DTYPES, Tape

try:
    import jax
except ImportError as e:  # pragma: no cover (the message is the point)
    raise ImportError("blasad.jax needs JAX: pip install 'blasad[jax]'") from e

__all__ = ["wrap"]


def _arrays(xs: Sequence[Any]) -> list[np.ndarray]:
    """The callback's arguments as new NumPy arrays of float dtypes (f writes them)."""
    out = []
    for i, x in enumerate(xs):
        a = np.array(x, copy=True)
        if a.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"argument {i} has dtype {a.dtype}: blasad.jax.wrap takes float32, float64, "
                            "complex64 or complex128 arrays (close over anything else in f)")  # fmt: skip
        out.append(a)
    return out


def wrap(f: Callable[..., Any], outputs: int | Sequence[int] = (0,)) -> Callable[..., Any]:
    """g(*arrays) = the final values of f's arguments at the positions `outputs`, after f ran
    in place on copies of them; differentiable by JAX in reverse mode (``jax.grad``, ``vjp``),
    under ``jax.jit`` too.

    ``f`` takes NumPy arrays (float32, float64, complex64 or complex128; close over anything
    else) and writes them with blasad calls. The reverse rule runs f again on copies of the
    inputs under a blasad Tape and sweeps it with the cotangents as seeds (JAX keeps no Python
    object between the two callbacks). One output gives an array, several a tuple. Forward
    mode (``jax.jvp``) is not supported: JAX takes one custom rule per callback.

    Example::

        def program(A, x):
            x0 = ba.copy(x, np.empty_like(x))
            ba.gemv(1.0, A, x0, 0.5, x)          # x ← A x + x / 2, in place

        g = blasad.jax.wrap(program, outputs=(1,))
        dA = jax.grad(lambda A, x: g(A, x).sum())(A, x)
    """
    if not callable(f):
        raise TypeError(f"f must be a function of arrays, got {type(f).__name__}")
    pos0 = positions(outputs)

    def forward(*xs: Any) -> tuple[np.ndarray, ...]:
        arrays = _arrays(xs)
        f(*arrays)
        return tuple(arrays[i] for i in positions(pos0, len(arrays)))

    def reverse(xs: Sequence[Any], cotangents: Sequence[Any]) -> tuple[np.ndarray, ...]:
        arrays = _arrays(xs)
        with Tape() as tape:
            tape.watch(*arrays)
            f(*arrays)
        outs = [arrays[i] for i in positions(pos0, len(arrays))]
        # JAX's cotangents of complex values are the conjugates of blasad's adjoints (and of
        # PyTorch's gradients): its vjp is the transpose, not the adjoint, of the Jacobian
        tape.backward(outs, [np.conj(np.asarray(c, dtype=o.dtype)) for c, o in zip(cotangents, outs)])
        return tuple(np.conj(tape.grad(a)) for a in arrays)

    def shapes(xs: Sequence[Any], which: Sequence[int]) -> tuple[Any, ...]:
        return tuple(jax.ShapeDtypeStruct(np.shape(xs[i]), xs[i].dtype) for i in which)

    @jax.custom_vjp
    def g(*xs: Any) -> Any:
        which = positions(pos0, len(xs))
        out = jax.pure_callback(forward, shapes(xs, which), *xs)
        return out[0] if len(out) == 1 else out

    def g_fwd(*xs: Any) -> tuple[Any, Any]:
        return g(*xs), xs

    def g_bwd(xs: Any, cts: Any) -> tuple[Any, ...]:
        cts = (cts,) if len(positions(pos0, len(xs))) == 1 else tuple(cts)
        return tuple(jax.pure_callback(reverse, shapes(xs, range(len(xs))), xs, cts))

    g.defvjp(g_fwd, g_bwd)
    g.__name__ = getattr(f, "__name__", "wrapped")
    return g
