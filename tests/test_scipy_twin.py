"""blasad.linalg.blas against scipy.linalg.blas, call by call: SciPy is the oracle.

Random calls are drawn from the twin's own table (``blasad.linalg.blas.FAMILIES``) and blasad's
specs, so a new table row is tested with no new test code (DIM_TIES holds the only per-routine
knowledge: dims the flags tie together, as side ties symm's A to m or n). Each call draws sizes
(0 and 1 included), every flag value, scalars as numbers or 0-d arrays, arrays in many layouts
(C, F, Fortran-contiguous column blocks, strided, reversed, transposed views), offsets and
positive or negative increments, outputs left out, given, NaN-filled where they are not read,
overwrite flags off and on, arguments SciPy converts (lists, other dtypes) and, in one call in
four, an argument SciPy rejects. Every array argument lives in a 1-D buffer that the call views,
and SciPy and the twin each get their own copy of the buffers. Checked per call: both raise or
neither; the same results (value, shape, dtype, memory order); the result is the same argument
object, or shares memory with the same arguments; the buffers end equal (the same side
effects); the same ComplexWarning.

Then: gradients of random twin calls (float64, complex128) with ba.gradcheck, the gradient
through the output copy in closed form, get_blas_funcs against SciPy's, the signatures against
SciPy's docstrings, and a row for every routine of ba.SPECS that SciPy has.
"""

from __future__ import annotations

import ast
import inspect
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from scipy.linalg import blas as sp

import blasad as ba
from blasad.linalg import blas as tw
from blasad.linalg.blas import Array, BlasError, Flag, Output, Scalar

NAMES = sorted(tw.TWINS)
# SciPy's c of crotg/zrotg is complex, but BLAS writes only its real part (c is real): the
# imaginary part SciPy returns is whatever its buffer held. The twin returns the real c.
UNSET_IMAG = {"crotg": (0,), "zrotg": (0,)}  # name -> the results SciPy leaves half-written
N_CALLS = 25  # random calls per twin and dispatch path
RTOL = {4: 2e-5, 8: 1e-12}  # by the size of the real component


# -- random calls from the table -------------------------------------------------------------------


@dataclass
class Call:
    """A random call of twin `name`: 1-D buffers and how the call's arguments view them."""

    name: str
    bufs: list[np.ndarray] = field(default_factory=list)
    makers: dict[str, tuple[int, Callable[[np.ndarray], Any]]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    positional: int = 0  # how many leading parameters are passed by position
    converted: bool = False  # some argument is one SciPy converts (not differentiable)
    error: str = ""  # the injected error, if any
    notes: list[str] = field(default_factory=list)

    def add(self, param: str, buf: np.ndarray, make: Callable[[np.ndarray], Any], note: str) -> None:
        self.makers[param] = (len(self.bufs), make)
        self.bufs.append(buf)
        self.notes.append(f"{param}={note}")

    def build(self, bufs: list[np.ndarray]) -> tuple[list[Any], dict[str, Any]]:
        vals = dict(self.values)
        for p, (i, make) in self.makers.items():
            vals[p] = make(bufs[i])
        order = [p for p, _ in tw.TWINS[self.name].family.params if p in vals]
        args = [vals[p] for p in order[: self.positional]]
        return args, {p: vals[p] for p in order[self.positional :]}

    def __str__(self) -> str:
        return f"{self.name}({', '.join(self.notes)}){' error: ' + self.error if self.error else ''}"


def _values(rng: np.random.Generator, n: int, dtype: np.dtype[Any]) -> np.ndarray:
    x = rng.standard_normal(n)
    if dtype.kind == "c":
        x = x + 1j * rng.standard_normal(n)
    return x.astype(dtype)


MATRIX_LAYOUTS = ("C", "F", "Fcols", "Fld", "T", "rev", "step")
VECTOR_LAYOUTS = ("contig", "step", "rev")


def _matrix(rng: np.random.Generator, r: int, c: int, layout: str, dtype: np.dtype[Any]):
    """(buffer, buffer -> r x c view) for a layout."""
    make: Callable[[np.ndarray], np.ndarray]
    if layout == "C":
        size, make = r * c, lambda b: b.reshape(r, c)
    elif layout == "F":
        size, make = r * c, lambda b: b.reshape((r, c), order="F")
    elif layout == "Fcols":  # a block of columns of an F array: Fortran-contiguous, not its own base
        size, make = r * (c + 2), lambda b: b.reshape((r, c + 2), order="F")[:, 1 : 1 + c]
    elif layout == "Fld":  # a block of rows of an F array: leading dimension r + 2
        size, make = (r + 2) * c, lambda b: b.reshape((r + 2, c), order="F")[1 : 1 + r]
    elif layout == "T":  # the transpose of a C array
        size, make = r * c, lambda b: b.reshape(c, r).T
    elif layout == "rev":
        size, make = r * c, lambda b: b.reshape(r, c)[::-1]
    else:  # every other row of a C array
        size, make = 2 * r * c, lambda b: b.reshape(2 * r, c)[::2]
    return _values(rng, size, dtype), make


def _vector(rng: np.random.Generator, n: int, layout: str, dtype: np.dtype[Any]):
    if layout == "contig":
        return _values(rng, n, dtype), lambda b: b
    if layout == "step":
        return _values(rng, 2 * n, dtype), lambda b: b[::2]
    return _values(rng, n, dtype), lambda b: b[::-1]


def _converted(rng: np.random.Generator, make: Callable[[np.ndarray], Any], dtype: np.dtype[Any]):
    """An argument SciPy converts: a list, another float dtype, an int array, complex to real."""
    choices = ["list", "other", "int"] + (["complex"] if dtype.kind == "f" else [])
    how = str(rng.choice(choices))
    other = {"f": {4: np.float64, 8: np.float32}, "c": {8: np.complex128, 16: np.complex64}}
    if how == "list":
        return how, lambda b: make(b).tolist()
    if how == "other":
        t = other[dtype.kind][dtype.itemsize]
        return how, lambda b: make(b).astype(t)
    if how == "int":
        return how, lambda b: np.round(make(b).real * 3).astype(np.int64)
    return how, lambda b: make(b) + 0.5j


def _band_tie(flags: dict[str, str], dims: dict[str, int]) -> None:
    """gbmv: SciPy asks m >= kl + ku + 1."""
    dims["m"] = max(dims["m"], dims["kl"] + dims["ku"] + 1)


def _side_tie(flags: dict[str, str], dims: dict[str, int]) -> None:
    """symm, hemm, trmm, trsm: A is ka x ka with ka = m for side L, n for side R."""
    dims["ka"] = dims["m"] if flags["side"] == "L" else dims["n"]


# Relations between dims that blasad's spec leaves to the flags (the only per-routine test code).
DIM_TIES: dict[str, Callable[[dict[str, str], dict[str, int]], None]] = {
    **{name: _side_tie for name in ("symm", "hemm", "trmm", "trsm")},
    "gbmv": _band_tie,
}


def _injectable(fam: tw.Family) -> list[str]:
    """The errors a random call of the family can carry."""
    srcs = list(fam.args.values())
    errors = ["flag"] if any(isinstance(s, Flag) and s.other is None for s in srcs) else []
    errors += ["inc0"] if any(getattr(s, "inc", None) for s in srcs) else []
    errors += ["offset"] if any(getattr(s, "off", None) for s in srcs) else []
    errors += ["shape"] if sum(a.kind == "matrix" for a in fam.spec.args) >= 2 else []
    errors += ["count"] if fam.count else []
    if not errors and any(isinstance(s, Scalar) for s in srcs):  # rotg: only its scalars can be wrong
        errors = ["scalar"]
    return errors


def random_call(name: str, rng: np.random.Generator, errors: bool = True, nan: bool = True) -> Call:
    """A random call of twin `name`, drawn from its family's table row and blasad's spec.
    errors: one call in four carries an error SciPy rejects; nan: outputs that are not read
    may be NaN-filled."""
    f = tw.TWINS[name]
    fam, dtype = f.family, f.dtype
    spec = fam.spec
    call = Call(name)
    symbols = list(dict.fromkeys([*(s for a in spec.args for s in a.dims), *fam.dims.values()]))
    dims = {s: int(rng.choice([0, 1, 2, 3, 4], p=[0.06, 0.19, 0.25, 0.25, 0.25])) for s in symbols}
    defaults = dict(fam.params)
    flags: dict[str, str] = {}
    error = ""
    if errors and rng.random() < 0.25:
        error = str(rng.choice(_injectable(fam)))

    for arg in spec.args:  # flags first: matrix shapes depend on them
        src = fam.args[arg.name]
        if isinstance(src, Flag):
            i = int(rng.integers(len(src.values)))
            if error == "flag" and src.other is None:
                i, error = int(rng.choice([-1, len(src.values)])), "flag done"
            flags[arg.name] = src.values[i] if 0 <= i < len(src.values) else "N"
            if i != defaults[src.param] or rng.random() < 0.5:
                call.values[src.param] = i
                call.notes.append(f"{src.param}={i}")

    if fam.routine in DIM_TIES:
        DIM_TIES[fam.routine](flags, dims)
    for param, sym in fam.dims.items():  # SciPy's n, k, kl, ku, m: required integers
        call.values[param] = dims[sym]
        call.notes.append(f"{param}={dims[sym]}")
    for sym, rule in fam.derived.items():
        dims[sym] = rule(dims, {k: v or "T" for k, v in flags.items()})
    # dims that a matrix argument fixes; a vector's own length sets the others (SciPy's default n)
    fixed = (
        {
            s
            for a in spec.args
            if a.kind == "matrix"
            and (isinstance(fam.args[a.name], Array) or defaults[fam.args[a.name].param] is tw.REQUIRED)
            for s in a.dims
        }
        | set(fam.dims.values())
        | set(fam.derived)
    )
    if fam.count is None:  # SciPy 1.17.1 segfaults on dger(1.0, np.ones(2), np.zeros(0))
        for a in spec.args:
            if a.kind == "vector" and a.dims[0] not in fixed:
                dims[a.dims[0]] = max(dims[a.dims[0]], 1)
    zero_coef = set()
    for arg in spec.args:
        src = fam.args[arg.name]
        if isinstance(src, Scalar):
            want = np.dtype(dtype.char.lower()) if src.real else dtype
            kind = str(rng.choice(["number", "array", "special", "omit"]))
            if defaults[src.param] is tw.REQUIRED and kind == "omit":
                kind = "number"
            zero = any(isinstance(o, Output) and o.unread_if_zero == arg.name for o in fam.args.values())
            if zero and rng.random() < 0.35:
                kind = "zero"
            if error == "scalar" and defaults[src.param] is tw.REQUIRED:  # SciPy cannot convert None
                kind, error = "none", "scalar done"
            takes = np.dtype(dtype.char.lower()) if arg.real else dtype  # what blasad takes
            if kind == "array":  # of the dtype blasad takes: a differentiable buffer
                buf_dtype = want if src.real else takes  # (SciPy refuses a complex 0-d array for a real)
                call.add(src.param, _values(rng, 1, buf_dtype), lambda b: b.reshape(()), "0-d array")
                call.converted |= buf_dtype != takes
            elif kind == "number":
                v = _values(rng, 1, want)[0].item()
                call.values[src.param] = v
                call.notes.append(f"{src.param}={v:.3g}")
            elif kind == "special":
                v = [1, 2, -1.5, True][int(rng.integers(4))]
                call.values[src.param] = v
                call.notes.append(f"{src.param}={v!r}")
            elif kind == "zero":
                call.values[src.param] = 0.0
                zero_coef.add(arg.name)
                call.notes.append(f"{src.param}=0")
            elif kind == "none":
                call.values[src.param] = None
                call.notes.append(f"{src.param}=None")

    count_param = fam.count
    free_seen: set[str] = set()
    seen: set[str] = set()  # dims that earlier arrays bind
    for arg in spec.args:
        src = fam.args[arg.name]
        if not isinstance(src, Array | Output):
            continue
        out = isinstance(src, Output)
        if out and defaults[src.param] is None and rng.random() < 0.25:
            call.notes.append(f"{src.param}=None")
            if rng.random() < 0.5:
                call.values[src.param] = None
            continue
        if arg.kind == "matrix":
            shape = tuple(
                dims[s] + (s in getattr(src, "loose", ()) and int(rng.integers(0, 2))) for s in arg.dims
            )
            if arg.trans and flags[arg.trans] != "N":
                shape = shape[::-1]
            shared = [i for i, s in enumerate(arg.dims) if s in seen and s not in getattr(src, "loose", ())]
            if error == "shape" and shared:  # disagree with an earlier array on a dim
                i = 1 - shared[0] if arg.trans and flags[arg.trans] != "N" else shared[0]
                shape = tuple(d + (j == i) for j, d in enumerate(shape))
                error = "shape done"
            layout = str(rng.choice(MATRIX_LAYOUTS))
            buf, make = _matrix(rng, shape[0], shape[1], layout, dtype)
            note = f"{layout}{shape}"
        else:
            n = dims[arg.dims[0]] if getattr(src, "size", None) is None else src.size
            off = int(rng.integers(0, 3)) if src.off else 0
            inc = int(rng.choice([1, 1, 2, 3, -1, -2])) if src.inc else 1
            step = abs(inc)
            sym = arg.dims[0]
            if sym not in fixed and sym not in free_seen and getattr(src, "size", None) is None:
                free_seen.add(sym)
                if count_param is not None and (n == 0 or rng.random() < 0.4):
                    call.values[count_param] = n
                    length = off + max(n - 1, 0) * step + 1 + int(rng.integers(0, 3))
                elif fam.count_rule == "floor":  # SciPy's default n = (len(x) - offx) // abs(incx)
                    length = off + n * step + int(rng.integers(0, step))
                else:  # n = (len(x) - 1 - offx) // abs(incx) + 1
                    length = off + 1 + (n - 1) * step + int(rng.integers(0, step))
            else:
                length = off + max(n - 1, 0) * step + 1 + int(rng.integers(0, 3))
            if error == "offset" and src.off:
                off, error = length, "offset done"
            if error == "inc0" and src.inc:
                inc, error = 0, "inc0 done"
            if error == "count" and count_param is not None and count_param in call.values:
                call.values[count_param], error = length + 1, "count done"
            if src.off and (off or rng.random() < 0.3):
                call.values[src.off] = off
            if src.inc and (inc != 1 or rng.random() < 0.3):
                call.values[src.inc] = inc
            layout = str(rng.choice(VECTOR_LAYOUTS))
            buf, make = _vector(rng, length, layout, dtype)
            note = f"{layout}[{length}] off={off} inc={inc}"
        seen.update(arg.dims)
        if nan and out and src.unread_if_zero in zero_coef and rng.random() < 0.6:
            buf[:] = np.nan  # not read: no NaN may reach the result
            note += " NaN"
        elif rng.random() < 0.1 and buf.size:  # (an empty list would lose its shape)
            how, make = _converted(rng, make, dtype)
            call.converted = True
            note += f" as {how}"
        call.add(src.param, buf, make, note)
        if out and src.overwrite is not None and rng.random() < 0.8:
            call.values[src.overwrite] = rng.choice([0, 1, 1, True]).item()
            call.notes.append(f"{src.overwrite}={call.values[src.overwrite]}")
    call.error = error if error.endswith("done") else ""
    present = [p for p, _ in fam.params if p in call.values or p in call.makers]
    lead = 0
    while lead < len(present) and present[lead] == fam.params[lead][0]:
        lead += 1
    call.positional = int(rng.integers(0, lead + 1))
    return call


# -- running one call on SciPy and on the twin -----------------------------------------------------


@dataclass
class Outcome:
    result: Any
    args: list[Any]
    exc: BaseException | None
    complex_warning: bool


def run(module: Any, call: Call, bufs: list[np.ndarray]) -> Outcome:
    args, kwargs = call.build(bufs)
    every = [*args, *kwargs.values()]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result, exc = getattr(module, call.name)(*args, **kwargs), None
        except Exception as e:  # both sides must agree on failing
            result, exc = None, e
    cw = any(issubclass(w.category, np.exceptions.ComplexWarning) for w in caught)
    return Outcome(result, every, exc, cw)


def _scale(x: np.ndarray) -> float:
    """The magnitude for an absolute tolerance: the largest finite |x| (inf and NaN must match
    exactly)."""
    finite = np.abs(x[np.isfinite(x)])
    return max(1.0, float(finite.max(initial=0.0)))


def _as_list(r: Any) -> list[Any]:
    return list(r) if isinstance(r, tuple) else [r]


def compare(call: Call) -> None:
    """The twin does what SciPy does: result, identity, side effects, errors, warnings."""
    b1 = [b.copy() for b in call.bufs]
    b2 = [b.copy() for b in call.bufs]
    o1, o2 = run(sp, call, b1), run(tw, call, b2)
    what = str(call)
    if o1.exc is not None or o2.exc is not None:
        assert o1.exc is not None, f"{what}: SciPy succeeded, the twin raised {o2.exc!r}"
        assert o2.exc is not None, f"{what}: SciPy raised {o1.exc!r}, the twin did not"
        want = next((t for t in (TypeError, IndexError) if isinstance(o1.exc, t)), ValueError)
        assert isinstance(o2.exc, want), f"{what}: SciPy raised {o1.exc!r}, the twin {o2.exc!r}"
    else:
        assert not call.error, f"{what}: neither raised"
        r1, r2 = _as_list(o1.result), _as_list(o2.result)
        assert len(r1) == len(r2), what
        for i in UNSET_IMAG.get(call.name, ()):
            r1[i] = r1[i].real
        for x1, x2 in zip(r1, r2):
            if type(x1) is int:  # i?amax: an index, as SciPy's
                assert type(x2) is int and x2 == x1, f"{what}: {x2!r} for {x1!r}"
                continue
            rtol = RTOL[np.asarray(x2).dtype.itemsize // (2 if np.asarray(x2).dtype.kind == "c" else 1)]
            if not isinstance(x1, np.ndarray):  # SciPy returns a Python number, the twin an active scalar
                assert isinstance(x2, ba.Scalar) and type(x1) in (float, complex), what
                x2 = x2.buffer.astype(np.result_type(x2.buffer, type(x1)))
            x1, x2 = np.asarray(x1), np.asarray(x2)
            assert (x2.shape, x2.dtype) == (x1.shape, x1.dtype), what
            if x1.ndim == 2 and x1.size > 1:
                assert x2.flags.f_contiguous == x1.flags.f_contiguous, f"{what}: memory order"
            np.testing.assert_allclose(
                x2, x1, rtol=rtol, atol=rtol * _scale(x1), equal_nan=True, err_msg=what
            )
        for a1, a2 in zip(o1.args, o2.args):
            for x1, x2 in zip(r1, r2):
                if isinstance(a1, np.ndarray):
                    assert (x2 is a2) == (x1 is a1), f"{what}: the result is (not) the argument"
                    assert np.shares_memory(x2, a2) == np.shares_memory(x1, a1), f"{what}: shared memory"
        assert o2.complex_warning == o1.complex_warning, f"{what}: ComplexWarning"
    for x1, x2 in zip(b1, b2):  # the same side effects on every argument's memory
        rtol = RTOL[x1.dtype.itemsize // (2 if x1.dtype.kind == "c" else 1)]
        np.testing.assert_allclose(x2, x1, rtol=rtol, atol=rtol * _scale(x1), equal_nan=True, err_msg=what)


@pytest.mark.parametrize("name", NAMES)
def test_random_calls_match_scipy(name, rng):
    errors = 0
    for _ in range(N_CALLS):
        call = random_call(name, rng)
        compare(call)
        errors += bool(call.error)
    assert errors, "no call injected an error"  # the draws reach the error paths


# -- explicit behaviour, checked on both -----------------------------------------------------------


def _both(fn: Callable[[Any], Any]) -> tuple[Any, Any]:
    return fn(sp), fn(tw)


def test_gemm_overwrite_semantics():
    """overwrite_c=0: a new F-ordered array, c untouched. overwrite_c=1: c itself when it is a
    Fortran-contiguous array of the dtype (a column block of an F array counts), else a copy."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    for lib in (sp, tw):
        c = np.asfortranarray(rng.standard_normal((3, 2)))
        c0 = c.copy()
        r = lib.dgemm(1.0, a, b, 0.5, c)
        assert r is not c and r.flags.f_contiguous and np.array_equal(c, c0)
        np.testing.assert_allclose(r, a @ b + 0.5 * c0, rtol=1e-13)
        r = lib.dgemm(1.0, a, b, 0.5, c, overwrite_c=1)
        assert r is c
        np.testing.assert_allclose(c, a @ b + 0.5 * c0, rtol=1e-13)
        big = np.asfortranarray(rng.standard_normal((3, 4)))
        block = big[:, 1:3]
        r = lib.dgemm(1.0, a, b, 1.0, block, overwrite_c=1)
        assert r is block and np.shares_memory(r, big)
        for other in (np.ascontiguousarray(c0), c0.astype(np.float32, order="F"), big[:2, :2].T[:, :2]):
            keep = other.copy()
            r = lib.dgemm(1.0, a[: other.shape[0]], b[:, : other.shape[1]], 1.0, other, overwrite_c=1)
            assert r is not other and not np.shares_memory(r, other) and np.array_equal(other, keep)
        nan = np.full((3, 2), np.nan, order="F")
        assert not np.isnan(lib.dgemm(1.0, a, b, 0.0, nan)).any()  # β = 0: c is not read


def test_axpy_and_gemv_in_place_rules():
    """axpy has no overwrite flag: y is updated in place when it is a contiguous array of the
    dtype, else a copy is returned; gemv returns all of y with only y[offy::incy] updated."""
    x = np.arange(1.0, 7.0)
    for lib in (sp, tw):
        y = np.arange(10.0, 16.0)
        assert lib.daxpy(x, y, a=2.0) is y and np.array_equal(y, 2 * x + np.arange(10.0, 16.0))
        base = np.arange(10.0, 16.0)
        z = lib.daxpy(x[:3], base[::2])
        assert not np.shares_memory(z, base) and np.array_equal(base, np.arange(10.0, 16.0))
        assert np.array_equal(z, np.arange(10.0, 16.0)[::2] + x[:3])
        yi = np.arange(6)
        assert lib.daxpy(x, yi).dtype == np.float64 and np.array_equal(yi, np.arange(6))
        A = np.arange(6.0).reshape(2, 3)
        y = np.arange(10.0, 17.0)
        r = lib.dgemv(1.0, A, np.ones(3), 2.0, y, offy=1, incy=3)
        assert np.array_equal(r, [10, 2 * 11 + 3, 12, 13, 2 * 14 + 12, 15, 16]) and r is not y
        assert lib.dgemv(1.0, A, np.ones(3), 2.0, y, offy=1, incy=3, overwrite_y=1) is y


def test_negative_increments_walk_backwards():
    """BLAS's (x + off, inc < 0) is x[off::|inc|][:n] reversed; both agree element by element."""
    A = np.arange(6.0).reshape(2, 3)
    x = np.arange(1.0, 8.0)
    r1, r2 = _both(lambda lib: lib.dgemv(1.0, A, x, offx=1, incx=-2))
    assert np.array_equal(r1, r2) and np.array_equal(r2, A @ x[1:6:2][::-1])


def test_deliberate_differences_from_scipy():
    """Where SciPy's side effect is unsafe the twin does not copy it, and returns the same
    values: a read-only output gets a new array (SciPy 1.17's wrappers write into it), and an
    output overlapping an input is computed into a new array (BLAS's result is undefined)."""
    a = np.ones((2, 2), order="F")
    c = np.zeros((2, 2), order="F")
    c.flags.writeable = False
    r = tw.dgemm(1.0, a, a, 1.0, c, overwrite_c=1)
    assert r is not c and not c.any() and np.array_equal(r, sp.dgemm(1.0, a, a, 1.0, c.copy()))
    y = np.zeros(2)
    y.flags.writeable = False
    r = tw.daxpy(np.ones(2), y)
    assert r is not y and not y.any() and np.array_equal(r, np.ones(2))
    sq = np.asfortranarray(np.arange(4.0).reshape(2, 2))
    r = tw.dgemm(1.0, sq, sq, 1.0, sq, overwrite_c=1)
    assert r is not sq and np.array_equal(r, sq @ sq + sq)
    x = np.arange(3.0)
    r = tw.daxpy(x, x, a=2.0)  # SciPy: x in place, 3x; the twin: a new 3x, x as it was
    assert r is not x and np.array_equal(r, 3 * np.arange(3.0)) and np.array_equal(x, np.arange(3.0))


def test_errors_are_blas_errors():
    with pytest.raises(BlasError, match="trans_a"):
        tw.dgemm(1.0, np.ones((2, 2)), np.ones((2, 2)), trans_a=3)
    with pytest.raises(BlasError, match="incx"):
        tw.daxpy(np.ones(3), np.ones(3), incx=0)
    with pytest.raises(BlasError, match="offx"):
        tw.daxpy(np.ones(3), np.ones(3), offx=3)
    with pytest.raises(BlasError, match="k = "):
        tw.dgemm(1.0, np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(TypeError):
        tw.dgemm(None, np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(TypeError):
        tw.dgemm(1.0, np.ones((2, 2)), np.ones((2, 2)), overwrite_c=None)
    with pytest.raises(TypeError, match="unexpected keyword"):
        tw.dgemm(1.0, np.ones((2, 2)), np.ones((2, 2)), transa=1)


# -- gradients --------------------------------------------------------------------------------------


def _flat(r: np.ndarray) -> np.ndarray:
    r = r.buffer if isinstance(r, ba.Scalar) else r  # a reduction's result: its 0-d buffer
    v = r.reshape(-1, order="F")
    assert np.shares_memory(v, r) or r.size <= 1
    return v


DIFFERENTIABLE = [n for n in NAMES if tw.TWINS[n].family.routine in ba.SPECS]  # (not i?amax)


@pytest.mark.parametrize(
    "name", [n for n in DIFFERENTIABLE if tw.TWINS[n].dtype in (np.float64, np.complex128)]
)
def test_random_calls_are_differentiable(name, rng):
    """ba.gradcheck of random twin calls: every buffer (matrices, vectors, 0-d α/β) is active;
    the program writes the returned array into one more buffer, R += result."""
    done = 0
    for _ in range(100):
        if done == 3:
            break
        call = random_call(name, rng, errors=False, nan=False)
        if call.converted:
            continue
        args, kwargs = call.build([b.copy() for b in call.bufs])
        try:
            result = _as_list(getattr(tw, name)(*args, **kwargs))
        except ValueError:
            continue  # SciPy rejects some draws too (gemv with m = 0 has no room for y)
        sizes = [r.size for r in result]
        if not sum(sizes):
            continue

        def program(*bufs: np.ndarray, call: Call = call, n_out: int = len(result)) -> None:
            args, kwargs = call.build(list(bufs[:-n_out]))
            for r, R in zip(_as_list(getattr(tw, call.name)(*args, **kwargs)), bufs[-n_out:]):
                ba.axpy(1.0, _flat(r), R)

        outs = [np.zeros(r.size, r.dtype) for r in result]
        check = ba.gradcheck(program, *call.bufs, *outs, seed=done)
        assert check.ok, (
            f"{call}: max error {check.max_abs_error}, dot {check.dot_adjoint} {check.dot_numeric}"
        )
        done += 1
    assert done == 3, "too few differentiable draws"


@pytest.mark.parametrize("overwrite", [0, 1])
def test_gradient_through_the_output_copy(overwrite):
    """r = dgemm(α, a, b, β, c, overwrite_c): r̄ = seed gives ā = α r̄ bᵀ, b̄ = α aᵀ r̄,
    β̄ = ⟨r̄, c_old⟩ and c̄ = β r̄ + (c's own seed when r is a new array). With overwrite_c=0 the
    new array is a recorded copy of c, and c̄ flows back through it; with overwrite_c=1 r is c."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    c = np.asfortranarray(rng.standard_normal((3, 2)))
    c_old, beta = c.copy(), np.array(0.7)
    seed, c_seed = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    with ba.Tape() as tape:
        tape.watch(a, b, c, beta)
        r = tw.dgemm(2.0, a, b, beta, c, overwrite_c=overwrite)
    assert (r is c) == bool(overwrite)
    if overwrite:
        tape.backward(r, seed)
        c_bar = 0.7 * seed
    else:
        tape.backward([r, c], [seed, c_seed])
        c_bar = 0.7 * seed + c_seed
    np.testing.assert_allclose(tape.grad(a), 2.0 * seed @ b.T, rtol=1e-13)
    np.testing.assert_allclose(tape.grad(b), 2.0 * a.T @ seed, rtol=1e-13)
    np.testing.assert_allclose(tape.grad(beta), np.vdot(seed, c_old), rtol=1e-13)
    np.testing.assert_allclose(tape.grad(c), c_bar, rtol=1e-13)


def test_gradient_of_strided_gemv_and_axpy():
    """gemv into y[1::2] of a copy of y, then axpy from the result: ȳ passes the untouched
    elements through the copy and β ȳ through the updated ones; x[offx::incx] gets its own."""
    rng = np.random.default_rng(2)
    A, x, y = rng.standard_normal((3, 2)), rng.standard_normal(5), rng.standard_normal(7)
    w = rng.standard_normal(7)

    def program(A, x, y, w):
        r = tw.dgemv(1.5, A, x, 0.5, y, offx=1, incx=-3, offy=1, incy=2)
        tw.daxpy(r, w, a=2.0)  # w += 2 r: writes into w

    assert ba.gradcheck(program, A, x, y, w).ok
    with ba.Tape() as tape:
        tape.watch(A, x, y, w)
        program(A, x, y, w)
    seed = rng.standard_normal(7)
    tape.backward(w, seed)
    r_bar = 2.0 * seed
    y_bar = r_bar.copy()
    y_bar[1::2] *= 0.5
    np.testing.assert_allclose(tape.grad(y), y_bar, rtol=1e-13)
    x_bar = np.zeros(5)
    x_bar[[4, 1]] = 1.5 * A.T @ r_bar[1::2]  # offx = 1, incx = -3: the vector is (x[4], x[1])
    np.testing.assert_allclose(tape.grad(x), x_bar, rtol=1e-13)


def test_converted_arguments_are_constants():
    """An argument SciPy would convert (float32 into dgemm) is converted by NumPy: the copy is
    a new constant, so the original gets no gradient; arrays of the dtype do."""
    a = np.ones((2, 2))
    c32 = np.ones((2, 2), np.float32)
    with ba.Tape() as tape:
        tape.watch(a, c32)
        r = tw.dgemm(1.0, a, a, 1.0, c32)
    tape.backward(r, np.ones((2, 2)))
    assert not tape.grad(c32).any()
    np.testing.assert_allclose(tape.grad(a), 4 * np.ones((2, 2)))


def test_size_one_alpha_is_a_buffer():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    alpha = np.array([0.5])
    with ba.Tape() as tape:
        tape.watch(alpha)
        r = tw.dgemm(alpha, a, b)
    seed = rng.standard_normal((2, 2))
    tape.backward(r, seed)
    np.testing.assert_allclose(tape.grad(alpha), [np.vdot(seed, a @ b)], rtol=1e-13)


# -- names, signatures, get_blas_funcs -----------------------------------------------------------


def _scipy_names(fam: tw.Family) -> dict[str, str]:
    """prefix -> SciPy's function name, for the prefixes SciPy has (not counting an alias to
    another family's function: SciPy's cdot is cdotc)."""
    out = {}
    others = {p + f.name for f in tw.FAMILIES.values() if f is not fam for p in "sdcz"}
    for p in "sdcz":
        fn = fam.names.get(p) or tw.ALIASES.get(p + fam.name, p + fam.name)
        if hasattr(sp, fn) and not (fn != p + fam.name and fn in others):
            out[p] = fn
    return out


def test_every_supported_routine_has_its_twins():
    """Each family defines exactly SciPy's names for the dtypes blasad supports, and every
    routine of ba.SPECS that SciPy offers has a family (a new routine needs its table row)."""
    want = set()
    for fam in tw.FAMILIES.values():
        assert set(fam.prefixes) == set(_scipy_names(fam)), fam.name
        if fam.routine in ba.SPECS or fam.routine_spec is not None:  # (i?amax: not differentiable)
            dtypes = getattr(fam.spec, "dtypes", "sdcz")
            want |= {fn for p, fn in _scipy_names(fam).items() if p in tw.SUPPORTED_PREFIXES and p in dtypes}
    assert set(tw.TWINS) == want
    assert set(tw.SUPPORTED_PREFIXES) >= {"s", "d"}
    covered = {fam.routine for fam in tw.FAMILIES.values()}
    offered = {name for name in ba.SPECS if any(hasattr(sp, p + name) for p in "sdcz")}
    assert offered <= covered, f"ba.SPECS routines without a twin row: {sorted(offered - covered)}"
    for fn, f in tw.TWINS.items():
        assert f.__name__ == fn and getattr(tw, fn) is f and fn in tw.__all__
        assert f.__doc__.startswith(f.family.spec.formula)


def _scipy_signature(fn: str) -> tuple[list[str], list[str], dict[str, str]]:
    """(required, optional, default text) from the first line and Default: lines of SciPy's doc."""
    doc = getattr(sp, fn).__doc__
    m = re.match(r"\s*[\w, ]+ = \w+\((.*)\)", doc.splitlines()[0])
    assert m, doc
    inner = m.group(1)
    req_part, _, opt_part = inner.partition("[")
    required = [p for p in req_part.replace("]", "").split(",") if p]
    optional = [p for p in opt_part.rstrip("]").split(",") if p]
    defaults = dict(re.findall(r"^(\w+) : input .*\n\s+Default: (.*)$", doc, re.M))
    return required, optional, defaults


@pytest.mark.parametrize("fn", NAMES)
def test_signature_matches_scipy(fn):
    required, optional, defaults = _scipy_signature(fn)
    params = inspect.signature(getattr(tw, fn)).parameters
    assert list(params) == required + optional
    for p in required:
        assert params[p].default is inspect.Parameter.empty
    arrays = {src.param for src in tw.TWINS[fn].family.args.values() if isinstance(src, Array | Output)}
    for p in optional:
        d, text = params[p].default, defaults.get(p)
        if text is None or text.startswith("((len(") or text.startswith("(len(") or p in arrays:
            assert d is None, p  # an optional array (SciPy: zeros), or an n SciPy computes
        elif text.startswith("("):  # complex: (re, im)
            assert d == complex(*map(float, text.strip("()").split(","))) and type(d) is complex, p
        else:
            want = ast.literal_eval(text)
            assert d == want and type(d) is type(want), p
    results = getattr(sp, fn).__doc__.splitlines()[0].split("=")[0].split(",")
    assert tw.TWINS[fn].family.results == tuple(r.strip() for r in results)


PREFIX_DTYPES = [np.float16, np.float32, np.float64, np.longdouble, np.complex64, np.complex128,
                 np.clongdouble, np.int32, np.int64, np.uint8, np.bool_]  # fmt: skip


def _fname(f: Any) -> str:
    """A SciPy wrapper's name (its __name__ reads 'function dgemm')."""
    return str(f.__name__).split()[-1]


def _arrays_for_prefix_rules():
    rng = np.random.default_rng(4)
    combos: list[tuple[np.ndarray, ...]] = [()]
    for t in PREFIX_DTYPES:
        for order in "CF":
            combos.append((np.zeros((2, 3), t, order=order),))
    for _ in range(40):
        picks = rng.integers(len(PREFIX_DTYPES), size=int(rng.integers(2, 4)))
        combos.append(
            tuple(np.zeros((2, 3), PREFIX_DTYPES[i], order=str(rng.choice(["C", "F"]))) for i in picks)
        )
    return combos


@pytest.mark.parametrize("dtype", [None, "f", "d", "F", "D", "g", "G", np.float16, np.int64, np.bool_])
def test_get_blas_funcs_dtype_rules(dtype):
    for names in ("gemm", ("gemv", "axpy"), ["axpy", "gemm"]):
        got, want = tw.get_blas_funcs(names, dtype=dtype), sp.get_blas_funcs(names, dtype=dtype)
        if isinstance(names, str):
            got, want = [got], [want]
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            assert (g.__name__, g.typecode, g.dtype) == (_fname(w), w.typecode, w.dtype)
            assert g is getattr(tw, g.__name__)


def test_get_blas_funcs_array_rules():
    for arrays in _arrays_for_prefix_rules():
        assert tw.find_best_blas_type(arrays) == sp.find_best_blas_type(arrays)
        for name in ("gemm", "gemv", "axpy"):
            g, w = tw.get_blas_funcs(name, arrays), sp.get_blas_funcs(name, arrays)
            assert (g.__name__, g.typecode, g.dtype, g.prefix) == (_fname(w), w.typecode, w.dtype, w.prefix)
            assert g.int_dtype == w.int_dtype


def test_get_blas_funcs_aliases_and_missing_names():
    assert tw.get_blas_funcs("gemm", dtype="d", ilp64="preferred").int_dtype == np.int64
    assert tw.get_blas_funcs("gemm", dtype="d").int_dtype == np.intc
    with pytest.raises(ValueError, match="ilp64"):
        tw.get_blas_funcs("gemm", ilp64="yes")
    with pytest.raises(ValueError, match="could not be found"):
        tw.get_blas_funcs("nosuchroutine")
    missing = [n for n in ("symm", "trmv", "rotg", "dot") if not hasattr(tw, "d" + n)]
    for name in missing:  # SciPy has them; blasad does not yet: a ValueError like SciPy's
        sp.get_blas_funcs(name)
        with pytest.raises(ValueError, match="could not be found"):
            tw.get_blas_funcs(name)
    f = tw.get_blas_funcs("gemm", (np.zeros((2, 2), np.complex64), np.zeros((2, 2))))
    assert (
        f.typecode
        == "z"
        == sp.get_blas_funcs("gemm", (np.zeros((2, 2), np.complex64), np.zeros((2, 2)))).typecode
    )
