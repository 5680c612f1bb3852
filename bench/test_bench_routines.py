"""Every other routine of the spec table, benchmarked from its spec alone: the plain call,
the call under a tape and the reverse sweep, at every size n, in single and double precision
(real, or complex for the complex-only routines). gemm, gemv and axpy have files of their own.
A LAPACK routine gets arguments in its domain (Spec.conditioned) and each call first restores the
arrays it writes (a NumPy copy each, timed with it: the LAPACK report, bench/test_bench_lapack.py
and ``python -m blasad.bench --cases lapack``, times the factorizations without it).

Arguments come from the spec: every free dim is n (band widths are kept small), flags take
their first value except diag="U" (unit triangles keep the solves stable with the small
random entries used here), discrete entries (rotm's flag) their first allowed value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import blasad as ba
from blasad.specs import LAPACK

DEDICATED = ("gemm", "gemv", "axpy")  # bench/test_bench_<name>.py
ROUTINES = sorted(name for name in ba.SPECS if name not in DEDICATED)


def _dtype(name: str, double: bool) -> np.dtype[Any]:
    real = "sd" if "s" in ba.SPECS[name].dtypes else "cz"
    return np.dtype({"s": np.float32, "d": np.float64, "c": np.complex64, "z": np.complex128}[real[double]])


def _random(
    rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype[Any], scale: float
) -> np.ndarray:
    x = rng.uniform(-scale, scale, shape)
    if dtype.kind == "c":
        x = x + 1j * rng.uniform(-scale, scale, shape)
    return np.asarray(x, dtype=dtype)


def problem(
    name: str, n: int, dtype: np.dtype[Any], rng: np.random.Generator
) -> tuple[list[Any], dict[str, int]]:
    """Positional arguments (in the spec's order) and keywords for one call of routine `name`."""
    spec = ba.SPECS[name]
    flags = {
        a.name: ("U" if a.name == "diag" else a.flag_choices(dtype)[0]) for a in spec.args if a.kind == "flag"
    }
    free = {
        s: (min(2, n - 1) if s in ("kl", "ku") else min(3, n) if s == "k1" else n) for s in spec.free_dims
    }
    dims = spec.dims_for(free, flags)
    scale = 1.0 / max(n, 1)
    args: list[Any] = []
    for a in spec.args:
        if a.kind == "flag":
            args.append(flags[a.name])
        elif a.kind == "pivots":  # read: valid row interchanges; written: zeros
            k, bound = dims[a.dims[0]], dims[a.bound] if a.bound else dims[a.dims[0]]
            args.append(
                np.array([rng.integers(min(i, bound - 1), bound) for i in range(k)] if not a.out else [0] * k)
            )
        elif a.kind == "scalar":
            want = np.dtype(dtype.char.lower()) if (a.real or (a.out and a.real)) else dtype
            args.append(np.zeros((), want) if a.out else np.array(0.5, want))
        else:
            shape = tuple(dims[s] for s in a.dims)
            if a.kind == "matrix" and a.trans and flags.get(a.trans, "N") != "N":
                shape = shape[::-1]
            x = _random(rng, shape, np.dtype(dtype.char.lower()) if a.real else dtype, scale)  # (heevd's w)
            for index, values in a.discrete:
                x[index] = values[0]
            args.append(x)
    if spec.conditioned is not None:  # into the routine's domain (potrf: positive definite)
        spec.conditioned(dict(zip((a.name for a in spec.args), args)), rng)
    keywords = {k: dims[k] for k in spec.keywords}
    return args, keywords


def _arrays(name: str, args: list[Any]) -> tuple[list[np.ndarray], np.ndarray]:
    """(the arrays to watch, the first written argument)."""
    spec = ba.SPECS[name]
    arrays = [
        v
        for a, v in zip(spec.args, args)
        if a.kind not in ("flag", "pivots") and isinstance(v, np.ndarray) and not a.out
    ]
    written = next(v for a, v in zip(spec.args, args) if a.out or a.inout)
    return arrays, written


@pytest.fixture(params=["single", "double"])
def double(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "double")


@pytest.mark.parametrize("name", ROUTINES)
@pytest.mark.parametrize("mode", ["plain", "taped", "reverse"])
def test_routine(run: Any, name: str, mode: str, n: int, double: bool, rng: np.random.Generator) -> None:
    dtype = _dtype(name, double)
    args, keywords = problem(name, n, dtype, rng)
    run.benchmark.group = f"{name}-{dtype.name}-n{n}"
    routine = getattr(ba, name)

    spec = ba.SPECS[name]
    saved = [
        (v, v.copy()) for a, v in zip(spec.args, args) if (a.out or a.inout) and isinstance(v, np.ndarray)
    ]

    def call(*a: Any) -> Any:
        if spec in LAPACK:  # the arguments again, not the previous call's factors
            for v, old in saved:
                np.copyto(v, old)
        res = routine(*a, **keywords)
        if mode == "reverse" and spec.after is not None:  # a loss the adjoint serves (heevd: phases fixed)
            spec.after(dict(zip((x.name for x in spec.args), a)))
        return res

    if mode == "plain":
        run.plain(call, args)
        return
    watched, written = _arrays(name, args)
    if mode == "taped":
        run.taped(call, args, watched=watched)
        return
    tape = run.reverse(call, args, watched=watched, output=written, seed=np.ones_like(written))
    assert all(np.isfinite(tape.grad(x)).all() for x in watched), f"{name}: non-finite gradient"
