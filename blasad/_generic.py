"""The generic front end of the spec-driven routines: one function lowers any call.

For a routine `name` with spec S, the C core exports

    int ba_<name>(ba_tape *t, int dtype, int order, <flags>, <dims>, <arguments>)

with, in spec order: each flag as an int (trans: N 0, T 1, C 3 — C is 1 for real
dtypes; uplo: U 0, L 1; diag: N 0, U 1; side: L 0, R 1); each symbolic dim, in order
of first appearance, as an int64; and each array or scalar argument as

    scalar read     -> double re, double im, intptr_t bar
    scalar written  -> intptr_t p, intptr_t bar          (a 0-d array)
    vector          -> intptr_t p, int64_t inc, intptr_t bar   (p: logical element 0)
    matrix          -> intptr_t p, int64_t ld, intptr_t bar    (in `order`)

order is 0 (column-major) or 1 (row-major): CBLAS's order, shared by every matrix of
the call; a matrix BLAS cannot address in that order is staged through a recorded
copy, so its adjoint still flows back.

The common calls of the real routines never get here in Python: ba_fast_run (csrc/fast.c,
its table generated from the specs by tools/gen_fast.py) validates and lowers them in C,
and bails out to the code below for anything else.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from blasad import _routines
from blasad._native_loader import ffi, lib
from blasad._routines import _as_float, _Call
from blasad._tape import Tape, _local, address
from blasad._validate import validate
from blasad.specs import DTYPE_CODES, Spec

FLAG_CODES: dict[str, dict[str, int]] = {
    "uplo": {"U": 0, "L": 1},
    "diag": {"N": 0, "U": 1},
    "side": {"L": 0, "R": 1},
}
_TRANS_REAL = {"N": 0, "T": 1, "C": 1}
_TRANS_COMPLEX = {"N": 0, "T": 1, "C": 3}


def _lds(X: np.ndarray) -> tuple[int | None, int | None]:
    """Leading dimensions under which BLAS can address X in place: (column-major, row-major)."""
    rows, cols = X.shape
    if rows == 0 or cols == 0:  # NumPy gives empty arrays zero strides; BLAS touches nothing
        return max(rows, 1), max(cols, 1)
    s0, s1 = X.strides[0] // X.itemsize, X.strides[1] // X.itemsize
    col = (
        (s1 if cols > 1 else max(rows, 1))
        if (s0 == 1 or rows <= 1) and (cols <= 1 or s1 >= max(rows, 1))
        else None
    )
    row = (
        (s0 if rows > 1 else max(cols, 1))
        if (s1 == 1 or cols <= 1) and (rows <= 1 or s0 >= max(cols, 1))
        else None
    )
    return col, row


def _flag_code(spec_flag: str, value: str, complex_: bool) -> int:
    if spec_flag.startswith("trans"):
        return (_TRANS_COMPLEX if complex_ else _TRANS_REAL)[value]
    return FLAG_CODES[spec_flag][value]


_F = TypeVar("_F", bound=Callable[..., Any])
_REAL = (np.dtype(np.float32), np.dtype(np.float64))
_Plan = tuple[int, int, int, tuple[int, ...], tuple[int, ...]]
_PLANS: dict[str, _Plan] = {}  # spec name: _plan(spec)


def _plan(spec: Spec) -> _Plan:
    """(ba_fast_run's index of the routine or -1, the index of a 0-d output that may be None
    or -1, the index of the array that sets the dtype, the indices of the written arguments,
    the indices of the scalars read)."""
    plan = (
        int(lib.ba_fast_routine(spec.name.encode())),
        next((i for i, a in enumerate(spec.args) if a.kind == "scalar" and a.out), -1),
        next(i for i, a in enumerate(spec.args) if a.kind in ("vector", "matrix")),
        tuple(i for i, a in enumerate(spec.args) if a.out or a.inout),
        tuple(i for i, a in enumerate(spec.args) if a.kind == "scalar" and not a.out),
    )
    _PLANS[spec.name] = plan
    return plan


def fast(spec: Spec, values: tuple[Any, ...], tape: Tape | None) -> list[Any] | None:
    """Run a call through the C fast path (ba_fast_run) when it takes it: the values as run
    returns them (a reduction's out allocated), or None (nothing written: validate and lower
    in Python)."""
    rid, out, first, writes, scalars = _PLANS.get(spec.name) or _plan(spec)
    if rid < 0:
        return None
    if out >= 0 and values[out] is None:  # a reduction's result, allocated as validate would
        x = values[first]
        if type(x) is not np.ndarray or x.dtype not in _REAL:
            return None
        values = (*values[:out], np.zeros((), x.dtype), *values[out + 1 :])
    ptr = tape._ptr if tape is not None else ffi.NULL
    rc = lib.ba_fast_run(ptr, rid, id(values))
    if rc == 2 and tape is not None:  # active, and an output has no shadow yet
        for i in writes:
            tape._regions.ensure(values[i])
        rc = lib.ba_fast_run(ptr, rid, id(values))
    if rc == 0:  # (the C side appended the arrays to the tape's keep list)
        return list(values)
    if rc < 0:
        raise MemoryError(f"blasad: out of memory while recording {spec.name}; nothing was written")
    if rc == 1:  # the C side reads floats: retry with ints and other NumPy scalars as floats
        retry = list(values)
        for i in scalars:
            retry[i] = _as_float(values[i])
        if any(retry[i] is not values[i] for i in scalars):
            return fast(spec, tuple(retry), tape)
    return None


def _out_of_memory(name: str) -> None:
    raise MemoryError(f"blasad: out of memory while recording {name}; nothing was written")


def _give_shadows(values: tuple[Any, ...], writes: tuple[int, ...]) -> None:
    """Shadows for the written arguments of an active call (ba_fast_call's rc 2)."""
    tape = _local.tape
    assert tape is not None, "rc 2 comes only from a recording"
    for i in writes:
        tape._regions.ensure(values[i])


def fast_first(spec: Spec, returns: str) -> Callable[[_F], _F]:
    """Decorate the public function of spec's routine: the function it returns has the same
    signature and docstring and first makes one native call, ba_fast_call, on the tape
    recording on this thread; it returns `returns` (an expression over the arguments) when
    that call took the routine's call, and calls the decorated function otherwise (anything
    the fast path does not take in full comes back untouched). Routines outside the fast
    path's table are left as they are."""

    def decorate(f: _F) -> _F:
        rid = int(lib.ba_fast_routine(spec.name.encode()))
        if rid < 0:
            return f
        sig = inspect.signature(f)
        names = list(sig.parameters)
        defaults = {f"_d_{p.name}": p.default for p in sig.parameters.values() if p.default is not p.empty}
        params = ", ".join(f"{n}=_d_{n}" if f"_d_{n}" in defaults else n for n in names)
        # a reduction's result left None: a 0-d array of a real array argument's dtype (as the
        # validator allocates it); any other output that defaults to None: the validating path's
        first = next(a.name for a in spec.args if a.kind in ("vector", "matrix"))
        alloc = "".join(
            f"    if {a.name} is None and type({first}) is _ndarray and {first}.dtype in _REAL:\n"
            f"        {a.name} = _zeros((), {first}.dtype)\n"
            for a in spec.args
            if a.kind == "scalar" and a.out and defaults.get(f"_d_{a.name}", 0) is None
        )
        guard = "".join(
            f"{n} is not None and " for n in names if n in returns and defaults.get(f"_d_{n}", 0) is None
        )
        writes = tuple(i for i, a in enumerate(spec.args) if a.out or a.inout)
        src = (
            f"def {f.__name__}({params}):\n{alloc}"
            f"    args = ({', '.join(names)},)\n"
            f"    if {guard}_routines.FAST:\n"
            f"        rc = _fast_call({rid}, id(args))\n"
            f"        if rc == 2:  # active, and an output has no shadow yet\n"
            f"            _give_shadows(args, {writes})\n"
            f"            rc = _fast_call({rid}, id(args))\n"
            f"        if rc == 0:\n"
            f"            return {returns}\n"
            f"        if rc < 0:\n"
            f"            _out_of_memory({spec.name!r})\n"
            f"    return _slow({', '.join(names)})\n"
        )
        namespace: dict[str, Any] = {
            "_give_shadows": _give_shadows,
            "_routines": _routines, "_fast_call": lib.ba_fast_call, "_slow": f, "_ndarray": np.ndarray,
            "_out_of_memory": _out_of_memory,
            "_REAL": _REAL, "_zeros": np.zeros, **defaults,
        }  # fmt: skip
        exec(src, namespace)
        fn = functools.update_wrapper(namespace[f.__name__], f)
        return fn  # type: ignore[return-value]

    return decorate


def run(spec: Spec, values: tuple[Any, ...]) -> list[Any]:
    """Validate a call of spec's routine, lower it to BLAS terms and run it (recorded on
    the active tape). Returns the validated values (outputs allocated)."""
    tape = _local.tape
    if _routines.FAST:
        done = fast(spec, values, tape)
        if done is not None:
            return done
    dtype, dims, vals = validate(spec, values)
    call = _Call(tape, DTYPE_CODES[dtype])
    args = spec.args

    # one CBLAS order for every matrix: the one that needs the fewest staging copies. A matrix
    # that flips (spec.flips) goes either way: in the other order, read as its transpose.
    mats = [i for i, a in enumerate(args) if a.kind == "matrix"]
    lds = {i: _lds(vals[i]) for i in mats}
    order = 0
    if mats:
        need = [
            sum(lds[i][o] is None and not (spec.flips(args[i]) and lds[i][1 - o] is not None) for i in mats)
            for o in (0, 1)
        ]
        written = [i for i in mats if args[i].out or args[i].inout]
        native = 1 if written and lds[written[0]][0] is None else 0
        order = native if need[0] == need[1] else int(need[1] < need[0])
    staged: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # written: (temporary, user array) to copy back
    flipped: set[str] = set()  # the trans flags of the matrices read as their transposes
    for i in mats:
        if lds[i][order] is None and spec.flips(args[i]) and lds[i][1 - order] is not None:
            flipped.add(str(args[i].trans))
            lds[i] = (lds[i][1], lds[i][0])  # its ld in the other order, where `order` looks
        elif lds[i][order] is None:
            user = vals[i]
            tmp = np.empty(user.shape, user.dtype, order="F" if order == 0 else "C")
            call.copy(user, tmp)  # even a written-only output: β C reads it, a triangle update keeps the rest
            if args[i].out or args[i].inout:
                staged[i] = (tmp, user)
            vals[i] = tmp
            lds[i] = _lds(tmp)
    for i, a in enumerate(args):
        if a.kind == "vector" and not (a.out or a.inout):
            v = vals[i]
            if v.strides[0] == 0 and v.shape[0] > 1:
                vals[i] = call.staged(v)

    # activity: every written argument is active when any read argument is
    read_bars = [
        call.bar(vals[i])
        for i, a in enumerate(args)
        if a.kind in ("scalar", "vector", "matrix") and not a.out
    ]
    active = any(read_bars)
    flat: list[Any] = []
    for i, a in enumerate(args):
        v = vals[i]
        if a.kind == "flag":
            continue
        bar = call.out_bar(v, active) if (a.out or a.inout) else call.bar(v)
        if a.kind == "scalar" and not a.out:
            re, im, _ = call.scalar(v)
            flat += [re, im, bar]
        elif a.kind == "scalar":
            flat += [address(v), bar]
        elif a.kind == "vector":
            flat += [address(v), v.strides[0] // v.itemsize or 1, bar]
        else:
            ld = lds[i][order]
            assert ld is not None
            flat += [address(v), ld, bar]
    flags = [
        _flag_code(a.name, vals[i], dtype.kind == "c") ^ (a.name in flipped)
        for i, a in enumerate(args)
        if a.kind == "flag"
    ]
    symbols = list(dict.fromkeys(s for a in args for s in a.dims))
    call.allow(*(v for v in vals if isinstance(v, np.ndarray)))
    rc = getattr(lib, "ba_" + spec.name)(
        call.ptr, call.code, order, *flags, *(dims[s] for s in symbols), *flat
    )
    call.check(rc, spec.name)
    call.keep(*(v for v in vals if isinstance(v, np.ndarray)))
    for i, (tmp, user) in staged.items():
        call.copy(tmp, user)
        vals[i] = user
    return vals
