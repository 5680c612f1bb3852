"""Active scalars (blasad.Scalar, what a reduction returns): every operation of
blasad/specs/scalar.py, as a user writes it (``r * s``, ``-r``, ``np.sqrt(r)``, ``r.real``),
in single and double precision: the operation outside any recording, ``OPS_PER_ROUND``
independent operations recorded on a tape, and the reverse sweep over as many records.

The recorded and reverse modes time OPS_PER_ROUND operations per round (a single one is
below the timer's resolution); divide by it for the time per operation. Each operation is
called through a small function, whose call the times include (``python -m blasad.bench``
writes the operations inline, and compares them with NumPy's and PyTorch's).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import blasad as ba
from blasad.specs.scalar import OPS, ScalarOp

OPS_PER_ROUND = 100
BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}


def user_call(op: ScalarOp) -> Callable[[Any, Any], Any]:
    """op(r, s) written the way a user writes it: the operator, the method or attribute, else
    the ufunc (np.positive: unary + returns the Scalar itself and records nothing)."""
    if op.operator in BINARY:
        return BINARY[op.operator]
    by_operator: dict[str, Callable[[Any, Any], Any]] = {
        "unary -": lambda r, s: -r,
        "abs()": lambda r, s: abs(r),
        ".conj()": lambda r, s: r.conj(),
        ".real": lambda r, s: r.real,
        ".imag": lambda r, s: r.imag,
    }
    if op.operator in by_operator:
        return by_operator[op.operator]
    ufunc = op.ufunc
    assert ufunc is not None, op.name
    if op.arity == 2:
        return lambda r, s: ufunc(r, s)
    return lambda r, s: ufunc(r)


BENCHED = [op.name for op in OPS]  # bench/test_bench_coverage.py checks that none is missing


def _operands(dtype: Any) -> tuple[ba.Scalar, ba.Scalar]:
    """r = 1.5, s = 1.2: inside every operation's domain (sqrt and log: > 0; div: s ≠ 0)."""
    return ba.Scalar(np.array(1.5, dtype)), ba.Scalar(np.array(1.2, dtype))


def _record(call: Callable[[Any, Any], Any], r: ba.Scalar, s: ba.Scalar) -> Any:
    z = None
    for _ in range(OPS_PER_ROUND):
        z = call(r, s)
    return z


@pytest.mark.parametrize("name", BENCHED)
@pytest.mark.parametrize("mode", ["plain", "taped", "reverse"])
def test_scalar_op(run: Any, name: str, mode: str, dtype: Any) -> None:
    op = next(o for o in OPS if o.name == name)
    call = user_call(op)
    r, s = _operands(dtype)
    run.benchmark.group = f"scalar-{name}-{np.dtype(dtype).name}"
    if mode == "plain":  # no tape: a NumPy scalar comes back
        z = run.plain(call, (r, s))
        assert not isinstance(z, ba.Scalar)
        return
    if mode == "taped":

        def setup_taped() -> tuple[Any, ...]:
            tape = ba.Tape()
            tape.__enter__()
            tape.watch(r.buffer, s.buffer)
            call(r, s)  # the tape's first operation takes its scalar pool: untimed
            return (tape,)

        def taped(tape: ba.Tape) -> Any:
            try:
                return _record(call, r, s)
            finally:
                tape.__exit__(None, None, None)

        z = run(taped, setup_taped)
        assert isinstance(z, ba.Scalar)
        return
    z0 = call(r.buffer[()], s.buffer[()])  # NumPy's own result, for the seed's dtype
    one = np.ones((), np.asarray(z0).dtype)

    def setup_reverse() -> tuple[Any, ...]:
        with ba.Tape() as tape:
            tape.watch(r.buffer, s.buffer)
            z = _record(call, r, s)
        return tape, z

    def reverse(tape: ba.Tape, z: Any) -> ba.Tape:
        tape.backward(z, one)
        return tape

    tape = run(reverse, setup_reverse)
    assert np.isfinite(tape.grad(r.buffer)).all() and np.isfinite(z0)
