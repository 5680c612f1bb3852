"""What blasad.torch and blasad.jax share."""

from __future__ import annotations

from collections.abc import Sequence


def positions(outputs: int | Sequence[int], n: int | None = None) -> tuple[int, ...]:
    """outputs as a tuple of argument positions, checked against n arguments when n is given."""
    pos = (outputs,) if isinstance(outputs, int) else tuple(outputs)
    if not pos or not all(isinstance(i, int) and not isinstance(i, bool) for i in pos):
        raise TypeError(f"outputs must be an argument position or a sequence of them, got {outputs!r}")
    if len(set(pos)) != len(pos):
        raise ValueError(f"outputs names an argument twice: {outputs!r}")
    if n is not None and not all(-n <= i < n for i in pos):
        raise ValueError(f"outputs {outputs!r} names a position the call's {n} arguments do not have")
    return tuple(i % n for i in pos) if n is not None else pos
