"""What the tangent rules share: the registry and the output's own term.

A rule is a generator function named after its routine, registered with ``@rule``. It takes
``a``, the call's validated arguments by name (flags as letters, every dim by name, ``a.dtype``),
and ``d``, their tangents by name: None for a constant, else an array of the argument's shape (a
0-d array for a scalar). A written argument always has one. The rule updates the written
arguments' tangents with blasad's own routines (run plainly: nothing inside a rule is tangent- or
tape-tracked) and yields once, where the call itself runs: work before the yield sees the old
values of the written arguments, work after it the new ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np

Rule = Callable[[SimpleNamespace, SimpleNamespace], Iterator[None]]
RULES: dict[str, Rule] = {}
# rules for a batch of tangents at once (every tangent in d with the batch axis first: a (B,)
# array for a scalar), where one level-3 call can serve them all; other routines' batches run
# the rule once per tangent
BATCHED: dict[str, Rule] = {}


def rule(fn: Rule) -> Rule:
    """Register fn as the tangent rule of the routine it is named after."""
    RULES[fn.__name__.rstrip("_")] = fn
    return fn


def batched(fn: Rule) -> Rule:
    """Register fn as the batched tangent rule of the routine it is named after."""
    BATCHED[fn.__name__.rstrip("_")] = fn
    return fn


def scale(x_dot: np.ndarray, beta: Any) -> None:
    """ẋ ← β ẋ, exactly 0 when β = 0 (a NaN in ẋ does not survive), as BLAS treats β C."""
    if beta == 0:
        x_dot[...] = 0
    elif beta != 1:
        x_dot *= beta


def old_term(x_dot: np.ndarray, beta: Any, beta_dot: np.ndarray | None, x_old: np.ndarray) -> None:
    """ẋ ← β ẋ + β̇ x_old: the tangent of an output's own term β x (before the call)."""
    scale(x_dot, beta)
    if beta_dot is not None:
        x_dot += beta_dot * x_old
