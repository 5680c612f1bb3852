"""LAPACK through blasad (blasad.bench.lapack's problems): cholesky, lu_factor + lu_solve,
solve_triangular, qr, eigh and svd on Fortran-ordered arrays, float64 and complex128: the plain
LAPACK call (the floor), blasad's calls with no tape, under a tape, and the reverse sweep. An
operation whose blasad routines do not exist yet is skipped. n ≤ 1024 (the report's sizes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import blasad as ba
from blasad.bench.lapack import OPS, LapackProblem, lapack_buffers, make_lapack_problem, missing

MAX_N = 1024


@pytest.fixture(params=OPS)
def op(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=[np.float64, np.complex128], ids=["float64", "complex128"])
def ldtype(request: pytest.FixtureRequest) -> Any:
    return request.param


def _problem(op: str, n: int, dtype: Any, blasad: bool = True) -> LapackProblem:
    if n > MAX_N:
        pytest.skip(f"LAPACK: n ≤ {MAX_N}")
    if blasad and missing(op, dtype):
        pytest.skip(f"not available: {', '.join(missing(op, dtype))}")
    p = make_lapack_problem(op, n, dtype, np.random.default_rng(n))
    if blasad:
        p.reset()
        p.program(*p.arrays)
        p.seeds = [np.asfortranarray(s) for s in p.seeds_from([p.arrays[i].copy() for i in p.outputs])]
    return p


def _setup(reset: Callable[[], None]) -> Callable[[], tuple[Any, ...]]:
    """A round's untimed set-up: the arguments their initial values (the calls work in place)."""

    def setup() -> tuple[Any, ...]:
        reset()
        return ()

    return setup


def test_lapack_plain_lapack(run: Any, op: str, n: int, ldtype: Any) -> None:
    p = _problem(op, n, ldtype, blasad=False)
    _, reset, call = lapack_buffers(p)
    run(call, _setup(reset))


def test_lapack_plain(run: Any, op: str, n: int, ldtype: Any) -> None:
    p = _problem(op, n, ldtype)
    run(lambda: p.program(*p.arrays), _setup(p.reset))


def test_lapack_taped(run: Any, op: str, n: int, ldtype: Any) -> None:
    p = _problem(op, n, ldtype)

    def setup() -> tuple[Any, ...]:
        p.reset()
        tape = ba.Tape()
        tape.__enter__()
        tape.watch(*(p.arrays[i] for i in p.inputs))
        return (tape,)

    def target(tape: ba.Tape) -> None:
        try:
            p.program(*p.arrays)
        finally:
            tape.__exit__(None, None, None)

    run(target, setup)


def test_lapack_reverse(run: Any, op: str, n: int, ldtype: Any) -> None:
    p = _problem(op, n, ldtype)

    def setup() -> tuple[Any, ...]:
        p.reset()
        with ba.Tape() as tape:
            tape.watch(*(p.arrays[i] for i in p.inputs))
            p.program(*p.arrays)
        return (tape,)

    def target(tape: ba.Tape) -> ba.Tape:
        tape.backward([p.arrays[i] for i in p.outputs], p.seeds)
        return tape

    tape = run(target, setup)
    for i in p.inputs:
        assert np.all(np.isfinite(tape.grad(p.arrays[i])))
