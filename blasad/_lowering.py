"""The one lowering path: any routine's call, validated against its spec, in BLAS terms.

For a routine `name` with spec S, the C core exports

    int ba_<name>(ba_tape *t, int dtype, int order, <flags>, <dims>, <arguments>)

with, in spec order: each flag as an int (trans: N 0, T 1, C 3 — C is 1 for real
dtypes; uplo: U 0, L 1; diag: N 0, U 1; side: L 0, R 1); each symbolic dim, in order
of first appearance, then the spec's keywords (gbmv's m, kl, ku), as an int64; and each
array or scalar argument as

    scalar read     -> double re, double im, intptr_t bar
    scalar written  -> intptr_t p, intptr_t bar          (a 0-d array; also one read and written)
    vector          -> intptr_t p, int64_t inc, intptr_t bar   (p: logical element 0)
    matrix          -> intptr_t p, int64_t ld, intptr_t bar    (in `order`)
    pivots          -> intptr_t p, int64_t inc                 (int64 row indices, 0-based)

A LAPACK rule returns BA_INFO + info when LAPACK reports info > 0 (a singular pivot, a
minor that is not positive definite): the call raises numpy.linalg.LinAlgError with the
spec's failure message, and the tape holds no record of it that a gradient could flow
through (csrc/lapack.inc). A Spec.column_major routine gets every matrix column-major.

order is 0 (column-major) or 1 (row-major): CBLAS's order, shared by every matrix of
the call; a matrix BLAS cannot address in that order (band storage: column-major only), a
packed vector that is not contiguous and a read vector with a zero stride are staged through
recorded copies, so their adjoints still flow back.

The common calls never get here in Python: the public functions first
call ba_fast_call (csrc/fast.c, its table generated from the specs by tools/gen/fast.py),
which validates and lowers them in C (staging copies included, made and recorded as `run`
makes them), and comes back untouched for anything else: `run` stays the reference.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from blasad._native_loader import ffi, lib
from blasad._scalar import Scalar, buffer_as
from blasad._tape import Tape, address, current_tape, extent, thread_local
from blasad._validate import validate
from blasad.specs import DTYPE_CODES, Spec, flag_code, real_dtype

ScalarValue = float | complex | np.ndarray  # a scalar argument: a number or a 0-d array

# The fast paths read arrays through CPython object addresses (id); other
# interpreters, and tests that exercise the validating path alone, turn them off.
CHECKED = lib.ba_checked_violations() >= 0  # a checked build: see tools/gen/checked.py
FAST = sys.implementation.name == "cpython"
_NATIVE: list[Any] = []  # csrc/fast.c's fast_new and fw_regions (ba_fast_new_init)
if FAST:
    lib.ba_fast_init(id(np.ndarray), id(np.dtype(np.float32)), id(np.dtype(np.float64)), id(np.float64))
    if lib.ba_fast_new_init(id(_NATIVE)):
        raise ImportError("blasad: the native core could not set up its fast path")


def _turned_down(routine: int, values: tuple[Any, ...]) -> int:
    """fast_new where there is no fast path: every call is the validating path's."""
    return 1


def _no_regions() -> list[Any]:
    return []


# fast_new(routine, values): the call with its vector and matrix outputs left None allocated natively
# (the values with them in place), or ba_fast_call's status; fw_regions(): forward mode's native regions
fast_new: Any = _NATIVE[0] if FAST else _turned_down
fw_regions: Any = _NATIVE[1] if FAST else _no_regions


def as_float(s: Any) -> Any:
    """A real scalar the fast paths do not read as the float of the same value, which they do
    read (a Python float or numpy.float64): a Python or NumPy int within ±2⁵³, a NumPy float32
    or float16. Anything else (a bool, a larger int, a 0-d array: the validating path's)
    unchanged. The validating path reads every real scalar as the same double."""
    t = type(s)
    if t is int or issubclass(t, np.integer):
        return float(s) if -(2**53) <= s <= 2**53 else s
    return float(s) if t is np.float32 or t is np.float16 else s


class Call:
    """One call's view of the active tape: shadow lookups, and recorded copies that stage
    layouts BLAS cannot address."""

    __slots__ = ("code", "ptr", "regions", "tape")

    def __init__(self, tape: Tape | None, code: int) -> None:
        self.tape, self.code = tape, code
        self.ptr = tape._ptr if tape is not None else ffi.NULL
        self.regions = tape._regions if tape is not None else None

    def allow(self, *arrays: np.ndarray) -> None:
        """Checked builds: the arrays the next native call may touch."""
        if CHECKED:
            lib.ba_checked_reset()
            for x in arrays:
                lo, hi = extent(x)
                lib.ba_checked_allow(lo, hi)

    def keep(self, *arrays: np.ndarray) -> None:
        """The tape reads these by address in its reverse sweep: keep them alive until then."""
        if self.tape is not None:
            self.tape._keep.extend(arrays)

    def bar(self, x: Any) -> int:
        if self.regions is None or not isinstance(x, np.ndarray):
            return 0
        return self.regions.bar(x)

    def out_bar(self, x: np.ndarray, active: bool) -> int:
        if self.regions is None:
            return 0
        return self.regions.ensure(x) if active else self.regions.bar(x)

    def scalar(self, s: ScalarValue) -> tuple[float, float, int]:
        """(real part, imaginary part, shadow address) of a scalar argument."""
        v = complex(s[()]) if isinstance(s, np.ndarray) else complex(s)
        return v.real, v.imag, self.bar(s)

    def invoke(self, name: str, order: int, words: list[Any], srcs: list[tuple[int, int, int]]) -> int:
        """The entry of `name` (a spec routine, or "copy2d") with its arguments after (t, dtype,
        order), through ba_entry, which logs the call on a replay tape (Tape.replay); srcs:
        (word of the real part, dtype code, address) of each read scalar held in a 0-d array."""
        if self.tape is None or not (self.tape._replay or self.tape._in_loop):  # (a loop logs its steps)
            fn = getattr(lib, "ba_" + name)
            head = (self.ptr, self.code) if name == "copy2d" else (self.ptr, self.code, order)
            return int(fn(*head, *words))
        w = ffi.new("ba_word[]", len(words))
        for i, v in enumerate(words):
            if type(v) is float:
                w[i].x = v
            else:
                w[i].i = int(v)
        src = ffi.new("ba_src[]", srcs) if srcs else ffi.NULL
        return int(lib.ba_entry(self.ptr, _entry(name), self.code, order, w, len(words), src, len(srcs)))

    def check(self, rc: int, name: str) -> None:
        if rc == -1:
            out_of_memory(name)
        if rc != 0:
            raise RuntimeError(f"blasad: {name} failed in the native core (code {rc})")

    def copy(self, src: np.ndarray, dst: np.ndarray) -> None:
        """dst ← src elementwise (recorded), for layouts BLAS cannot address."""
        src2 = src if src.ndim == 2 else src[:, None]
        dst2 = dst if dst.ndim == 2 else dst[:, None]
        src_bar = self.bar(src2)
        dst_bar = self.out_bar(dst2, bool(src_bar))
        es = src.itemsize
        self.allow(src2, dst2)
        rc = self.invoke("copy2d", 0, [
            src2.shape[0], src2.shape[1],
            address(src2), src2.strides[0] // es, src2.strides[1] // es, src_bar,
            address(dst2), dst2.strides[0] // es, dst2.strides[1] // es, dst_bar,
        ], [])  # fmt: skip
        self.check(rc, "a layout copy")
        self.keep(src, dst)  # (a checkpointed loop learns from the kept arrays what outlives a step)

    def staged(self, x: np.ndarray) -> np.ndarray:
        """A Fortran-ordered copy of x (recorded, so its adjoint flows back to x)."""
        tmp = np.empty(x.shape, x.dtype, order="F")
        self.copy(x, tmp)
        return tmp


def lds(X: np.ndarray) -> tuple[int | None, int | None]:
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


REAL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_Plan = tuple[int, tuple[int, ...], tuple[int, ...]]
_PLANS: dict[str, _Plan] = {}  # spec name: _plan(spec)


def _plan(spec: Spec) -> _Plan:
    """(ba_fast_call's index of the routine or -1, the indices of the written arguments, the
    indices of the scalars read)."""
    plan = (
        int(lib.ba_fast_routine(spec.name.encode())),
        tuple(i for i, a in enumerate(spec.args) if a.out or a.inout),
        tuple(i for i, a in enumerate(spec.args) if a.kind == "scalar" and not a.out),
    )
    _PLANS[spec.name] = plan
    return plan


def retry_as_floats(spec: Spec, values: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The public function's native call turned these values down; the C side reads float
    scalars only, so try once more with ints and other NumPy scalars as floats (as the
    generated function does: rc 2 gives the outputs shadows). The values it ran, or None."""
    rid, writes, scalars = _PLANS.get(spec.name) or _plan(spec)
    if rid < 0 or all(type(values[i]) is float for i in scalars):  # (nothing to convert: the usual case)
        return None
    retry = tuple(as_float(v) if i in scalars else v for i, v in enumerate(values))
    if all(retry[i] is values[i] for i in scalars):
        return None
    rc = lib.ba_fast_call(rid, id(retry))
    if rc == 2:  # active, and an output has no shadow yet
        give_shadows(retry, writes)
        rc = lib.ba_fast_call(rid, id(retry))
    if rc < 0:
        out_of_memory(spec.name)
    return retry if rc == 0 else None


def out_of_memory(name: str) -> None:
    raise MemoryError(f"blasad: out of memory while recording {name}; nothing was written")


def give_shadows(values: tuple[Any, ...], writes: tuple[int, ...]) -> None:
    """Shadows for the written arguments of an active call (ba_fast_call's rc 2)."""
    if thread_local.forward is not None:  # forward mode's native call: tangents for them
        for i in writes:
            if isinstance(values[i], np.ndarray):
                thread_local.forward.cover(values[i])
        return
    tape = current_tape()
    assert tape is not None, "rc 2 comes only from a recording or forward mode"
    for i in writes:
        tape._regions.ensure(values[i])


def _scalar_buffers(spec: Spec, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Active scalars (blasad.Scalar) as their 0-d buffers; one of another dtype than the argument
    takes (a real ‖z‖ as α of a complex routine, a float32 scale for a float64 one) through a
    recorded cast into a new 0-d buffer of that dtype, so that its gradient still flows."""
    if not any(type(v) is Scalar for v in values):
        return values
    arrays = (
        v for v, a in zip(values, spec.args) if a.kind in ("vector", "matrix") and isinstance(v, np.ndarray)
    )
    dtype = next((v.dtype for v in arrays), None)
    out = []
    for v, a in zip(values, spec.args):
        if type(v) is Scalar:
            want = None if dtype is None or a.out or a.inout else real_dtype(dtype) if a.real else dtype
            buffer = buffer_as(v, want) if want in DTYPE_CODES else None
            v = v._a if buffer is None else buffer  # (a dtype it cannot take: validate names it)
        out.append(v)
    return tuple(out)


def run(
    spec: Spec, values: tuple[Any, ...], keywords: dict[str, Any] | None = None, tried: bool = False
) -> list[Any]:
    """Validate a call of spec's routine (its arguments in spec order, and the values of the
    spec's keyword dims), lower it to BLAS terms and run it (recorded on the active tape).
    Returns the validated values (outputs allocated). tried: the public function's native
    call (ba_fast_call) turned these values down; it may take them with its scalars as floats.
    (Untried values it could not take: their outputs are left None, or FAST is off.)"""
    if thread_local.forward is not None:  # forward mode: the call and its tangent rule
        return thread_local.forward.call(spec, values, keywords or {})  # type: ignore[no-any-return]
    tape = thread_local.tape
    values = _scalar_buffers(spec, values)
    if FAST and tried:
        done = retry_as_floats(spec, values)
        if done is not None:
            return list(done)
    dtype, dims, vals = validate(spec, values, keywords)
    call = Call(tape, DTYPE_CODES[dtype])
    args = spec.args

    # one CBLAS order for every matrix: the one that needs the fewest staging copies. A matrix
    # that flips (spec.flips) goes either way: in the other order, read as its transpose.
    mats = [i for i, a in enumerate(args) if a.kind == "matrix"]
    lds_of = {i: lds(vals[i]) for i in mats}
    for i in mats:
        if args[i].storage == "band" or spec.column_major:  # read column-major only
            lds_of[i] = (lds_of[i][0], None)
    order = 0
    if mats and not spec.column_major:  # (column-major routines: order 0, the others staged)
        need = [
            sum(
                lds_of[i][o] is None and not (spec.flips(args[i]) and lds_of[i][1 - o] is not None)
                for i in mats
            )
            for o in (0, 1)
        ]
        written = [i for i in mats if args[i].out or args[i].inout]
        native = 1 if written and lds_of[written[0]][0] is None else 0
        order = native if need[0] == need[1] else int(need[1] < need[0])
        order = 0 if spec.column_major else order  # (LAPACK: a tie must not pick row-major)
    staged: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # written: (temporary, user array) to copy back
    flipped: set[str] = set()  # the trans flags of the matrices read as their transposes
    for i in mats:
        if lds_of[i][order] is None and spec.flips(args[i]) and lds_of[i][1 - order] is not None:
            flipped.add(str(args[i].trans))
            lds_of[i] = (lds_of[i][1], lds_of[i][0])  # its ld in the other order, where `order` looks
        elif lds_of[i][order] is None:
            user = vals[i]
            tmp = np.empty(user.shape, user.dtype, order="F" if order == 0 else "C")
            call.copy(user, tmp)  # even a written-only output: β C reads it, a triangle update keeps the rest
            if args[i].out or args[i].inout:
                staged[i] = (tmp, user)
            vals[i] = tmp
            lds_of[i] = lds(tmp)
    for i, a in enumerate(args):
        v = vals[i]
        if a.kind != "vector" or v.shape[0] <= 1:
            continue
        if a.storage == "packed" and v.strides[0] != v.itemsize:  # BLAS reads it contiguous
            tmp = np.empty(v.shape, v.dtype)
            call.copy(v, tmp)
            if a.inout:  # written: BLAS updates the copy, copied back after the call
                staged[i] = (tmp, v)
            vals[i] = tmp
        elif v.strides[0] == 0 and not (a.out or a.inout):
            vals[i] = call.staged(v)

    # activity: every written argument is active when any read argument is
    read_bars = [
        call.bar(vals[i])
        for i, a in enumerate(args)
        if a.kind in ("scalar", "vector", "matrix") and not a.out
    ]
    active = any(read_bars)
    symbols = [*dict.fromkeys(s for a in args for s in a.dims), *spec.keywords]
    flat: list[Any] = []
    srcs: list[tuple[int, int, int]] = []  # read scalars in 0-d arrays: a replay reads them anew
    head = sum(a.kind == "flag" for a in args) + len(symbols)  # the words before flat's
    for i, a in enumerate(args):
        v = vals[i]
        if a.kind == "flag":
            continue
        if a.kind == "pivots":  # int64, contiguous (validate made sure), never differentiated
            flat += [address(v), 1]
            continue
        bar = call.out_bar(v, active) if (a.out or a.inout) else call.bar(v)
        if a.kind == "scalar" and not (a.out or a.inout):  # (a written scalar: a 0-d array)
            re, im, _ = call.scalar(v)
            if isinstance(v, np.ndarray) and v.dtype in DTYPE_CODES:
                srcs.append((head + len(flat), DTYPE_CODES[v.dtype], address(v)))
            flat += [re, im, bar]
        elif a.kind == "scalar":
            flat += [address(v), bar]
        elif a.kind == "vector":
            flat += [address(v), v.strides[0] // v.itemsize or 1, bar]
        else:
            ld = lds_of[i][order]
            assert ld is not None
            flat += [address(v), ld, bar]
    flags = [
        flag_code(a.name, vals[i], dtype.kind == "c") ^ (a.name in flipped)
        for i, a in enumerate(args)
        if a.kind == "flag"
    ]
    call.allow(*(v for v in vals if isinstance(v, np.ndarray)))
    rc = call.invoke(spec.name, order, [*flags, *(dims[s] for s in symbols), *flat], srcs)
    info = rc - INFO if rc >= INFO else 0
    call.check(0 if info else rc, spec.name)
    call.keep(*(v for v in vals if isinstance(v, np.ndarray)))
    for i, (tmp, user) in staged.items():  # (after a failure too: A holds what LAPACK left)
        call.copy(tmp, user)
        vals[i] = user
    if info:
        failed(spec, info)
    return vals


_ENTRIES: dict[str, int] = {}


def _entry(name: str) -> int:
    """ba_entry's index of routine `name` (a spec routine's, or "copy2d")."""
    r = _ENTRIES.get(name)
    if r is None:
        r = _ENTRIES[name] = int(lib.ba_entry_index(name.encode()))
    return r


INFO = 1000  # a LAPACK rule's return for info > 0 is INFO + info (BA_INFO in csrc/lapack.inc)

_DERIVED: dict[str, list[tuple[str, Any]]] = {}  # spec name: its derived dims, compiled


def allocate(spec: Spec, name: str, dims: dict[str, int], flags: dict[str, Any], dtype: np.dtype[Any]) -> Any:
    """The output `name` of a call, allocated before its native call as the validator would
    (zeros; a LAPACK routine's matrices column-major), from the dims the given arrays bind: so
    that ``ba.getrf(A)`` and ``ba.gemm(1.0, W, x)`` take the fast path too. None when something
    does not fit (the validating path then names it)."""
    derived = _DERIVED.get(spec.name)
    if derived is None:
        derived = _DERIVED[spec.name] = [(d, compile(e, "<dim>", "eval")) for d, e in spec.derived]
    try:
        env = {**{k: (v.upper() if isinstance(v, str) else v) for k, v in flags.items()}, **dims}
        for sym, code in derived:
            if sym not in env:
                env[sym] = int(eval(code, {"__builtins__": {}}, env))
        a = spec.by_name[name]
        shape = tuple(int(env[d]) for d in a.dims)
    except Exception:  # a bad flag or dim: the validator's message
        return None
    if a.kind == "pivots":
        return np.zeros(shape, np.int64)
    return np.zeros(shape, real_dtype(dtype) if a.real else dtype, order="F" if spec.column_major else "C")


class LinAlgError(np.linalg.LinAlgError):
    """numpy.linalg.LinAlgError from a LAPACK routine, with LAPACK's info (> 0) as `info`."""

    def __init__(self, message: str, info: int) -> None:
        super().__init__(message)
        self.info = info


def failed(spec: Spec, info: int) -> None:
    """Raise the LinAlgError of spec's routine for LAPACK's info > 0."""
    raise LinAlgError(f"{spec.name}: " + spec.failure.format(info=info, index=info - 1), info)
