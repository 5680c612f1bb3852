"""Random multi-call BLAS programs over a few shared float64 or complex128 buffers, checked as
whole programs.

A program is a list of gemm/gemv/axpy calls on random views of 2-3 base matrices (blocks,
rows, columns, transposed, stepped, reversed) plus a small vector of scalars whose elements
serve as active 0-d α/β. Calls overwrite views that earlier calls read, so the tape's
copy-on-write is exercised. Flags are N, T or C (conjugate transpose). A complex128 program has
complex bases and scalar vector (so its 0-d α/β are complex and active) and complex constants
among its numbers; its adjoints follow x̄ = ∂L/∂Re x + i ∂L/∂Im x. Each program is checked against:
  - a pure-NumPy replay of the same calls through each routine's spec.reference;
  - ba.gradcheck (every element by central differences, and the dot-product test);
  - Tape and autodiff agreeing on the adjoints, and the taped forward equal to the plain one.
A drawn call whose output shares an element with one of its inputs must raise ValueError and
leave every array bit-identical; such calls are left out of the program.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import blasad as ba

MAX_DIM = 4
SETTINGS = settings(
    max_examples=int(os.environ.get("BLASAD_PROGRAM_EXAMPLES", "60")),  # raise it for a longer hunt
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def _slice(start: int, n: int, step: int) -> slice:
    stop = start + n * step
    return slice(start, stop if stop >= 0 else None, step)


@dataclass(frozen=True)
class Mat:
    """A 2-D view: rows/cols of a base picked with signed steps, optionally transposed."""

    base: int
    r0: int
    rn: int
    rs: int
    c0: int
    cn: int
    cs: int
    t: bool

    def of(self, bases: list[np.ndarray]) -> np.ndarray:
        v = bases[self.base][_slice(self.r0, self.rn, self.rs), _slice(self.c0, self.cn, self.cs)]
        return v.T if self.t else v


@dataclass(frozen=True)
class Vec:
    """A 1-D view: part of a row (axis 1) or a column (axis 0) of a base, with a signed step."""

    base: int
    axis: int
    fixed: int
    s0: int
    n: int
    step: int

    def of(self, bases: list[np.ndarray]) -> np.ndarray:
        sl = _slice(self.s0, self.n, self.step)
        X = bases[self.base]
        return X[sl, self.fixed] if self.axis == 0 else X[self.fixed, sl]


@dataclass(frozen=True)
class Elem:
    """A 0-d view of one element of a base (an active scalar)."""

    base: int
    i: int
    j: int

    def of(self, bases: list[np.ndarray]) -> np.ndarray:
        return bases[self.base][self.i, self.j, ...]


@dataclass(frozen=True)
class Svec:
    """A 0-d view of one element of the scalar vector (the last array)."""

    i: int

    def of(self, arrays: list[np.ndarray]) -> np.ndarray:
        return arrays[-1][self.i, ...]


@dataclass(frozen=True)
class Op:
    name: str
    args: tuple[Any, ...]  # in spec order; views as Mat/Vec/Elem/Svec, numbers and flags as is


@dataclass(frozen=True)
class Program:
    shapes: tuple[tuple[int, int], ...]  # logical shapes of the bases
    flips: tuple[bool, ...]  # base i is handed over transposed (so it is F-ordered in the program)
    nscalars: int
    ops: tuple[Op, ...]
    seed: int
    cplx: bool = False  # complex128 bases and scalars (float64 otherwise)

    def logical(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        return [X.T if f else X for X, f in zip(arrays, self.flips)]

    def views(self, op: Op, arrays: list[np.ndarray]) -> list[Any]:
        bases = self.logical(arrays)
        out = []
        for a in op.args:
            if isinstance(a, (Mat, Vec, Elem)):
                out.append(a.of(bases))
            elif isinstance(a, Svec):
                out.append(a.of(arrays))
            else:
                out.append(a)
        return out

    def run(self, *arrays: np.ndarray) -> None:
        """The program, with blasad (mutates arrays in place)."""
        routines = {"gemm": ba.gemm, "gemv": ba.gemv, "axpy": ba.axpy}
        for op in self.ops:
            routines[op.name](*self.views(op, list(arrays)))

    def replay(self, *arrays: np.ndarray) -> None:
        """The program, with NumPy: each call's new output from its spec's reference."""
        for op in self.ops:
            spec = ba.SPECS[op.name]
            vals = self.views(op, list(arrays))
            vals = [v.item() if isinstance(v, np.ndarray) and v.ndim == 0 else v for v in vals]
            out_i = next(i for i, a in enumerate(spec.args) if a.out)
            new = spec.reference(*vals)
            vals[out_i][...] = new

    def arrays(self) -> list[np.ndarray]:
        rng = np.random.default_rng(self.seed)

        def uniform(shape: tuple[int, ...]) -> np.ndarray:
            x = rng.uniform(-1.0, 1.0, shape)
            return x + 1j * rng.uniform(-1.0, 1.0, shape) if self.cplx else x

        out = []
        for (r, c), f in zip(self.shapes, self.flips):
            X = uniform((r, c))
            out.append(np.ascontiguousarray(X.T) if f else X)
        out.append(uniform((self.nscalars,)))
        return out

    def random(self, rng: np.random.Generator, like: np.ndarray) -> np.ndarray:
        """Standard normal values of like's shape (complex for a complex program)."""
        x = rng.standard_normal(like.shape)
        return x + 1j * rng.standard_normal(like.shape) if self.cplx else x


# ---- strategies --------------------------------------------------------------------------------


def _axis(draw: Any, size: int, n: int) -> tuple[int, int]:
    """(start, signed step) picking n of size indices."""
    steps = [s for s in (1, 2) if (n - 1) * s + 1 <= size]
    step = draw(st.sampled_from(steps))
    span = (n - 1) * step + 1
    lo = draw(st.integers(0, size - span))
    if draw(st.booleans()):
        return lo + span - 1, -step
    return lo, step


@st.composite
def _mat(draw: Any, shapes: tuple[tuple[int, int], ...], p: int, q: int) -> Mat:
    b = draw(st.integers(0, len(shapes) - 1))
    t = draw(st.booleans())
    rn, cn = (q, p) if t else (p, q)
    R, K = shapes[b]
    r0, rs = _axis(draw, R, rn)
    c0, cs = _axis(draw, K, cn)
    return Mat(b, r0, rn, rs, c0, cn, cs, t)


@st.composite
def _vec(draw: Any, shapes: tuple[tuple[int, int], ...], n: int) -> Vec:
    b = draw(st.integers(0, len(shapes) - 1))
    axis = draw(st.integers(0, 1))
    size, other = shapes[b] if axis == 0 else shapes[b][::-1]
    s0, step = _axis(draw, size, n)
    return Vec(b, axis, draw(st.integers(0, other - 1)), s0, n, step)


@st.composite
def _scalar(
    draw: Any, shapes: tuple[tuple[int, int], ...], nscalars: int, constants: tuple[float, ...]
) -> Any:
    kind = draw(st.sampled_from(["const", "const", "svec", "elem"]))
    if kind == "const":
        return draw(st.sampled_from(constants))
    if kind == "svec":
        return Svec(draw(st.integers(0, nscalars - 1)))
    b = draw(st.integers(0, len(shapes) - 1))
    return Elem(b, draw(st.integers(0, shapes[b][0] - 1)), draw(st.integers(0, shapes[b][1] - 1)))


ALPHAS = (1.0, -0.5, 2.0, 0.0)
BETAS = (0.0, 1.0, 0.5, -1.0)
COMPLEX_ALPHAS = (1.0, -0.5, 0.7 - 0.3j, 1j, 0.0)  # real numbers are fine for complex arrays
COMPLEX_BETAS = (0.0, 1.0, 0.5 + 0.5j, -1j)


@st.composite
def _op(draw: Any, shapes: tuple[tuple[int, int], ...], nscalars: int, cplx: bool = False) -> Op:
    name = draw(st.sampled_from(["gemm", "gemm", "gemv", "axpy"]))
    dim = st.integers(1, MAX_DIM)
    alphas, betas = (COMPLEX_ALPHAS, COMPLEX_BETAS) if cplx else (ALPHAS, BETAS)
    flag = st.sampled_from("NTC")  # C is T for real arrays
    alpha = draw(_scalar(shapes, nscalars, alphas))
    if name == "gemm":
        m, n, k = draw(dim), draw(dim), draw(dim)
        ta, tb = draw(flag), draw(flag)
        A = draw(_mat(shapes, *((m, k) if ta == "N" else (k, m))))
        B = draw(_mat(shapes, *((k, n) if tb == "N" else (n, k))))
        beta = draw(_scalar(shapes, nscalars, betas))
        C = draw(_mat(shapes, m, n))
        return Op("gemm", (alpha, A, B, beta, C, ta, tb))
    if name == "gemv":
        m, n = draw(dim), draw(dim)
        tr = draw(flag)
        A = draw(_mat(shapes, m, n))
        nx, ny = (n, m) if tr == "N" else (m, n)
        x, y = draw(_vec(shapes, nx)), draw(_vec(shapes, ny))
        beta = draw(_scalar(shapes, nscalars, betas))
        return Op("gemv", (alpha, A, x, beta, y, tr))
    n = draw(dim)
    return Op("axpy", (alpha, draw(_vec(shapes, n)), draw(_vec(shapes, n))))


@st.composite
def programs(draw: Any, max_ops: int = 6) -> Program:
    nb = draw(st.integers(2, 3))
    shapes = tuple((draw(st.integers(MAX_DIM, 5)), draw(st.integers(MAX_DIM, 5))) for _ in range(nb))
    flips = tuple(draw(st.booleans()) for _ in range(nb))
    nscalars = 2
    cplx = draw(st.booleans())
    ops = tuple(draw(st.lists(_op(shapes, nscalars, cplx), min_size=1, max_size=max_ops)))
    return Program(shapes, flips, nscalars, ops, draw(st.integers(0, 2**32 - 1)), cplx)


# ---- aliasing ----------------------------------------------------------------------------------


def aliases(prog: Program, op: Op, arrays: list[np.ndarray]) -> bool:
    """Does the op's output share an element with any of its other arguments?"""
    spec = ba.SPECS[op.name]
    vals = prog.views(op, arrays)
    out_i = next(i for i, a in enumerate(spec.args) if a.out)
    return any(
        i != out_i and isinstance(v, np.ndarray) and np.shares_memory(vals[out_i], v)
        for i, v in enumerate(vals)
    )


def split(prog: Program) -> tuple[Program, list[Op]]:
    """The program without its aliasing calls, and those calls."""
    arrays = prog.arrays()
    bad = [op for op in prog.ops if aliases(prog, op, arrays)]
    good = tuple(op for op in prog.ops if op not in bad)
    return Program(prog.shapes, prog.flips, prog.nscalars, good, prog.seed, prog.cplx), bad


def _bits(arrays: list[np.ndarray]) -> list[bytes]:
    return [x.tobytes() for x in arrays]


# ---- the properties ----------------------------------------------------------------------------


@SETTINGS
@given(programs())
def test_random_program_forward_matches_numpy_replay(prog: Program) -> None:
    prog, _ = split(prog)
    ours, ref = prog.arrays(), prog.arrays()
    prog.run(*ours)
    prog.replay(*ref)
    for x, y in zip(ours, ref):
        assert x.dtype == y.dtype == (np.complex128 if prog.cplx else np.float64)
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(programs())
def test_random_program_gradcheck(prog: Program) -> None:
    prog, _ = split(prog)
    arrays = prog.arrays()
    before = _bits(arrays)
    check = ba.gradcheck(prog.run, *arrays)
    assert _bits(arrays) == before  # gradcheck works on copies
    assert all(g.dtype.kind == ("c" if prog.cplx else "f") for g in check.adjoints)
    assert check.ok, (prog, check)
    scale = max(1.0, abs(check.dot_numeric))
    assert abs(check.dot_adjoint - check.dot_numeric) <= 1e-6 * scale, check
    assert check.max_abs_error <= 1e-6 * max(1.0, *(float(np.abs(g).max()) for g in check.numeric)), check


@SETTINGS
@given(programs())
def test_random_program_tape_and_autodiff_agree(prog: Program) -> None:
    prog, _ = split(prog)
    rng = np.random.default_rng(prog.seed ^ 0x5EED)
    init = prog.arrays()
    seeds = [prog.random(rng, x) for x in init]

    plain = prog.arrays()
    prog.run(*plain)

    taped = prog.arrays()
    with ba.Tape() as tape:
        tape.watch(*taped)
        prog.run(*taped)
    assert tape.ncalls <= 5 * len(prog.ops)  # gemm may stage A, B, C in and C out
    tape.backward(taped, seeds)
    tape_grads = [tape.grad(x) for x in taped]

    dup = prog.arrays()
    shadows = [s.copy() for s in seeds]
    ba.autodiff(prog.run, *(ba.Duplicated(x, dx) for x, dx in zip(dup, shadows)))

    for p, t, d in zip(plain, taped, dup):
        np.testing.assert_array_equal(t, p)  # recording does not change the forward values
        np.testing.assert_array_equal(d, p)
    for g, dx in zip(tape_grads, shadows):
        np.testing.assert_allclose(g, dx, rtol=1e-13, atol=1e-13)


@SETTINGS
@given(programs(max_ops=8))
def test_random_aliasing_calls_are_rejected_without_side_effects(prog: Program) -> None:
    full = prog
    prog, bad = split(full)
    arrays = prog.arrays()
    routines = {"gemm": ba.gemm, "gemv": ba.gemv, "axpy": ba.axpy}
    for op in bad:
        before = _bits(arrays)
        with pytest.raises(ValueError, match="shares elements"):
            routines[op.name](*prog.views(op, arrays))
        assert _bits(arrays) == before
        with ba.Tape() as tape:
            tape.watch(*arrays)
            with pytest.raises(ValueError, match="shares elements"):
                routines[op.name](*prog.views(op, arrays))
        assert tape.ncalls == 0
        assert _bits(arrays) == before
    # and interleaving rejected calls with the accepted program changes nothing
    mixed = prog.arrays()
    for op in full.ops:
        if op in bad:
            before = _bits(mixed)
            with pytest.raises(ValueError):
                routines[op.name](*prog.views(op, mixed))
            assert _bits(mixed) == before
        else:
            routines[op.name](*prog.views(op, mixed))
    clean = prog.arrays()
    prog.run(*clean)
    for x, y in zip(mixed, clean):
        np.testing.assert_array_equal(x, y)


def test_program_strategy_draws_overwrites_and_aliasing() -> None:
    """The generator is not degenerate: it produces programs that overwrite saved inputs
    (so the tape copies), calls that alias (so the rejection is exercised), and complex
    programs with conjugate-transpose flags and complex α/β."""
    copied = aliased = 0
    kinds = {"complex": 0, "real": 0, "conj": 0, "complex scalar": 0}

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(programs())
    def probe(prog: Program) -> None:
        nonlocal copied, aliased
        good, bad = split(prog)
        aliased += bool(bad)
        kinds["complex" if prog.cplx else "real"] += 1
        args = [a for op in prog.ops for a in op.args]
        kinds["conj"] += prog.cplx and "C" in args
        kinds["complex scalar"] += prog.cplx and any(isinstance(a, complex | Svec | Elem) for a in args)
        arrays = good.arrays()
        with ba.Tape() as tape:
            tape.watch(*arrays)
            good.run(*arrays)
        copied += tape.bytes_copied > 0

    probe()
    assert copied >= 5
    assert aliased >= 5
    assert min(kinds.values()) >= 5, kinds
