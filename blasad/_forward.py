"""Forward mode: tangents carried beside the primal values, one rule per routine.

``ba.autodiff(f, ba.Duplicated(x, dx), mode="forward")`` runs f once; every blasad call in it
updates the tangents of what it writes (its rule in blasad/tangents/, made of blasad's own
native calls on the tangents) and then runs as usual. Nothing is recorded. A tangent lives in a
buffer with the byte layout of the memory it shadows (a region), so the tangent of any view is
the same view of the tangent buffer, as shadows are in reverse mode; with
``BatchDuplicated(x, dxs)`` each region holds B tangents, one per row of a (B, bytes) buffer,
and a view's tangents are a (B, *shape) array. Memory that a call writes from active inputs
gets a region of zeros (its earlier values were constants) covering its whole base array.

While forward mode runs on a thread (ba_fast_set_forward), the C fast path runs the calls of the
routines with a native tangent rule itself, one native call each (csrc/tangents*.inc: every BLAS
routine but rotg and rotmg, and geadd), finding the tangents in a copy of the region table that
this module keeps in C (ba_fw_add, ba_fw_drop; with one tangent per argument only); it turns every
other call down, which then reaches ``Forward.call`` through the validating path. A written array
without a tangent gets one from the native call itself (a new output's, in the loop
``x = ba.gemv(1.0, A, x)``, or a reduction's 0-d result: csrc/fast.c fw_cover, the region dropped
when its array goes) while no Forward object exists for the run; once one does (``_adopt`` takes
over the native regions), the native call asks it for the tangent (rc 2: ``cover``). The active
scalars' arithmetic is native the same way (csrc/fast.c fw_scalar: ż from the op's adjoint,
csrc/scalar.c ba_scalar_tangent; the result's region made as a new output's) until a Forward object
exists; from then on, and for batches, it reaches ``scalar_op`` (status -7), which computes a single
tangent with the same native rule (the same bits) and a batch with the spec's tangent formulas.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import numpy as np

from blasad import _lowering, _scalar
from blasad._lowering import _scalar_buffers
from blasad._native_loader import lib
from blasad._scalar import Scalar, wrap
from blasad._tape import _FALLBACK, BatchDuplicated, Const, Duplicated, address, extent, thread_local
from blasad._validate import validate
from blasad.specs import DTYPE_CODES, Spec
from blasad.specs.scalar import OPS
from blasad.tangents import BATCHED, RULES


class _Region:
    """The tangents of bytes [lo, hi) of memory; owner: a weak reference to the array that owns
    that memory (None: held by the caller, a Duplicated argument)."""

    __slots__ = ("buf", "hi", "keep", "lo", "native", "owner")

    def __init__(self, lo: int, hi: int, buf: np.ndarray, owner: Any) -> None:
        self.lo, self.hi, self.buf, self.owner = lo, hi, buf, owner
        self.keep: Any = None  # what owns the memory of buf, when it is not buf's own
        self.native = False  # made by the native calls (csrc/fast.c fw_cover): C drops it from its table

    def alive(self) -> bool:
        return self.owner is None or self.owner() is not None


class _Memory:
    """Bytes at an address, for NumPy (the array interface): what _bytes_at views."""

    __slots__ = ("__array_interface__",)

    def __init__(self, at: int, shape: tuple[int, ...], strides: tuple[int, ...]) -> None:
        self.__array_interface__ = {"data": (at, False), "shape": shape, "strides": strides,
                                    "typestr": "|u1", "version": 3}  # fmt: skip


def _bytes_at(at: int, shape: tuple[int, ...], strides: tuple[int, ...]) -> np.ndarray:
    """A uint8 array over memory another array owns (the caller keeps that one alive)."""
    return np.asarray(_Memory(at, shape, strides))


_PER_THREAD = threading.local()


def _dims_buffer() -> tuple[np.ndarray, int]:
    """This thread's buffer for ba_fast_check's dims (FG_MAXDIMS in csrc/fast.c) and its address."""
    got = getattr(_PER_THREAD, "dims", None)
    if got is None:
        buf = np.zeros(8, np.int64)
        got = _PER_THREAD.dims = (buf, buf.ctypes.data)
    return got  # type: ignore[no-any-return]


class Forward:
    """The tangents of one forward-mode run (batch: the number carried at once, or None for one)."""

    def __init__(self, batch: int | None) -> None:
        self.batch = batch
        self._los: list[int] = []  # the regions' lo, sorted
        self._regions: list[_Region] = []
        self._dims, self._dims_at = _dims_buffer()  # ba_fast_check's dims
        self._run = 0  # the native run whose table mirrors the regions (ba_fw_run; 0: none)

    # -- regions -----------------------------------------------------------------------------
    def _find(self, lo: int, hi: int, what: str = "") -> _Region | None:
        """The region holding bytes [lo, hi); None when they meet none. Raises ValueError when
        they straddle a region's edge. (Regions are disjoint: sorted by lo, they are by hi too.)"""
        i = bisect.bisect_left(self._los, hi) - 1  # the last region that starts before hi
        while i >= 0:
            r = self._regions[i]
            if not r.alive():  # its array is gone: the memory may hold another one now
                del self._los[i], self._regions[i]
                if self.batch is None and not r.native:
                    lib.ba_fw_drop(self._run, r.lo)
                i -= 1
                continue
            if r.hi <= lo:
                return None
            if r.lo <= lo and hi <= r.hi:
                return r
            raise ValueError(
                f"forward mode: {what or 'an array'} covers part of the memory of an array with "
                "tangents and memory outside it; pass the whole base array and take views in f"
            )
        return None

    def _add(self, lo: int, hi: int, owner: Any) -> _Region:
        size = hi - lo
        row = -(-size // 64) * 64  # rows 64-byte aligned
        buf = np.zeros(size if self.batch is None else (self.batch, row), np.uint8)
        return self._insert(_Region(lo, hi, buf, owner))

    def _insert(self, r: _Region, native: bool = True) -> _Region:
        """Add region r (native: to the native calls' copy of the table too)."""
        i = bisect.bisect_right(self._los, r.lo)
        self._los.insert(i, r.lo)
        self._regions.insert(i, r)
        if native and self.batch is None and lib.ba_fw_add(r.lo, r.hi, address(r.buf)):
            raise MemoryError("blasad: out of memory in forward mode's table of tangents")
        return r

    def _drop(self, r: _Region) -> None:
        """Forget region r (its array was freed)."""
        i = bisect.bisect_left(self._los, r.lo)
        while i < len(self._los) and self._los[i] == r.lo:
            if self._regions[i] is r:
                del self._los[i], self._regions[i]
                if self.batch is None and not r.native:
                    lib.ba_fw_drop(self._run, r.lo)
                return
            i += 1

    def _view(self, r: _Region, x: np.ndarray) -> np.ndarray:
        offset = address(x) - r.lo
        if self.batch is None:
            return np.ndarray(x.shape, x.dtype, buffer=r.buf, offset=offset, strides=x.strides)
        shape, strides = (self.batch, *x.shape), (r.buf.strides[0], *x.strides)
        return np.ndarray(shape, x.dtype, buffer=r.buf, offset=offset, strides=strides)

    def tangent(self, x: Any) -> np.ndarray | None:
        """The tangent of x (an array, or an active scalar's buffer) as an array of its shape (with
        the batch axis first), or None for a constant."""
        if type(x) is Scalar:
            x = x._a
        if not isinstance(x, np.ndarray) or x.dtype.kind not in "fc" or x.size == 0:
            return None
        lo, hi = extent(x)
        r = self._find(lo, hi)
        return None if r is None else self._view(r, x)

    def ensure(self, x: np.ndarray) -> np.ndarray:
        """x's tangent, made (zeros, over x's whole base array) when it has none (an empty x: an
        empty tangent of its own)."""
        region = self.cover(x)
        return np.zeros((*self._lead(), *x.shape), x.dtype) if region is None else self._view(region, x)

    def cover(self, x: np.ndarray) -> _Region | None:
        """Give x a tangent (zeros, over x's whole base array) when it has none (an array the
        native path asks a tangent for: rc 2); the region that holds it (None: x is empty)."""
        if x.size == 0 or x.dtype.kind not in "fc":
            return None
        xlo, xhi = extent(x)
        found = self._find(xlo, xhi, "an array written from active inputs")
        if found is not None:
            return found
        owner = x
        while isinstance(owner.base, np.ndarray):
            owner = owner.base
        lo, hi = extent(owner) if owner is not x else (xlo, xhi)
        try:
            met = self._find(lo, hi)
        except ValueError:  # its base holds an array with tangents: x's own memory only
            owner, lo, hi, met = x, xlo, xhi, None
        assert met is None
        region = self._add(lo, hi, None)

        def freed(_: Any) -> None:  # its array is gone: so is the region
            self._drop(region)

        region.owner = weakref.ref(owner, freed)
        return region

    def _lead(self) -> tuple[int, ...]:
        return () if self.batch is None else (self.batch,)

    def attach(self, x: np.ndarray, dx: np.ndarray) -> bool:
        """x's tangent starts as dx (a Duplicated argument; dxs, batched). When dx has x's strides
        and x's elements fill their span, dx's own memory is the region (nothing copied: dx holds
        the tangent of x's current value all along); else a region of its own, dx copied in, and
        False: the caller copies the tangent back."""
        if not x.size:
            return True
        lo, hi = extent(x)
        self._find(lo, hi, "a Duplicated argument")
        lead = 0 if self.batch is None else 1
        step = dx.strides[0] if lead else 0
        nb = 1 if self.batch is None else self.batch
        if dx.strides[lead:] == x.strides and hi - lo == x.nbytes and (nb == 1 or step >= hi - lo) and nb > 0:
            first = dx[0, ...] if lead else dx  # (an array, 0-d included: its address is read by id)
            dlo = lib.ba_array_lo(id(first))
            size = hi - lo
            buf = _bytes_at(dlo, (nb, size) if lead else (size,), (step, 1) if lead else (1,))
            r = _Region(lo, hi, buf, None)
            r.keep = dx
            self._insert(r)
            return True
        self._add(lo, hi, None)
        t = self.tangent(x)
        assert t is not None
        t[...] = dx
        return False

    # -- calls -------------------------------------------------------------------------------
    @contextmanager
    def plain(self) -> Iterator[None]:
        """Forward mode off on this thread while a rule (or an active scalar's value) runs its
        native calls."""
        thread_local.forward = None
        lib.ba_fast_set_forward(0)
        try:
            yield
        finally:
            thread_local.forward = self
            lib.ba_fast_set_forward(1)

    def call(self, spec: Spec, values: tuple[Any, ...], keywords: dict[str, Any]) -> list[Any]:
        """spec's routine on values, its tangents updated by its rule; returns the validated values
        (outputs allocated), as _lowering.run does."""
        values = _scalar_buffers(spec, values)  # (a cast of an active scalar: through scalar_op)
        if self.batch is None and _lowering.FAST:  # the native path with int scalars as floats
            done = _lowering.retry_as_floats(spec, values)
            if done is not None:
                return list(done)
        checked = _checked(spec, values, keywords, self._dims, self._dims_at)
        if checked is None:  # (what the C fast path does not take: the validator's, and its errors)
            with self.plain():
                checked = validate(spec, values, keywords)
        dtype, dims, vals = checked
        keywords = {k: dims[k] for k in spec.keywords}  # (gbmv's m: solved when None)
        names, tracked, written = _LAYOUT.get(spec.name) or _layout(spec)
        args = dict(zip(names, vals))
        reads = {n: self.tangent(args[n]) for n in tracked}
        if all(t is None for t in reads.values()):  # constants in, and no tangent to update
            with self.plain():
                return _primal(spec, vals, keywords)
        rule = RULES.get(spec.name)
        if rule is None:
            raise NotImplementedError(f"forward mode: {spec.name} has no tangent rule")
        dots = dict(reads)
        for n in written:  # a written argument always has a tangent (made here: zeros)
            if dots[n] is None:
                dots[n] = self.ensure(args[n])
        a = SimpleNamespace(**{**args, **keywords, **dims}, dtype=dtype)  # (gbmv's m: a keyword and a dim)
        with self.plain():
            if self.batch is None or spec.name in BATCHED:
                steps = [(rule if self.batch is None else BATCHED[spec.name])(a, SimpleNamespace(**dots))]
            else:
                steps = [
                    rule(a, SimpleNamespace(**{n: None if t is None else t[b, ...] for n, t in dots.items()}))
                    for b in range(self.batch)
                ]
            for s in steps:  # each rule's work before the call (it yields where the call runs)
                next(s)
            vals = _primal(spec, vals, keywords)
            for s in steps:  # and after it
                next(s, None)
        return vals


_LAYOUT: dict[str, tuple[list[str], list[str], list[str]]] = {}


def _layout(spec: Spec) -> tuple[list[str], list[str], list[str]]:
    """spec's argument names, those that carry tangents, and the written ones among these."""
    tracked = [a.name for a in spec.args if a.kind in ("scalar", "vector", "matrix")]
    written = [n for n in tracked if spec.by_name[n].out or spec.by_name[n].inout]
    _LAYOUT[spec.name] = ([a.name for a in spec.args], tracked, written)
    return _LAYOUT[spec.name]


def _fast_id(spec: Spec) -> int:
    """ba_fast_call's index of spec's routine, or -1."""
    rid = _FAST_IDS.get(spec.name)
    if rid is None:
        rid = _FAST_IDS[spec.name] = int(lib.ba_fast_routine(spec.name.encode()))
        _DIM_NAMES[spec.name] = list(
            dict.fromkeys([s for a in spec.args for s in a.dims] + list(spec.keywords))
        )
    return rid


def _checked(
    spec: Spec, values: tuple[Any, ...], keywords: dict[str, Any], buf: np.ndarray, at: int
) -> tuple[np.dtype[Any], dict[str, int], list[Any]] | None:
    """validate's (dtype, dims, values) from the C fast path's validation when it takes the call
    (most calls: microseconds instead of the validator's tens), else None."""
    rid = _fast_id(spec)
    if rid < 0 or not _lowering.FAST or any(v is None for v in values):  # (outputs to allocate)
        return None
    fast_args = (*values, *(keywords.get(k) for k in spec.keywords))  # (alive: passed by id)
    if lib.ba_fast_check(rid, id(fast_args), at) != 0:  # (buf: at's array, 8 dims)
        return None
    names = _DIM_NAMES[spec.name]
    dims = dict(zip(names, buf[: len(names)].tolist()))
    vals = [v.upper() if a.kind == "flag" else v for a, v in zip(spec.args, values)]
    dtype = next(  # (rotg's, of scalars only: its 0-d arrays')
        v.dtype
        for a, v in zip(spec.args, vals)
        if a.kind in ("vector", "matrix", "scalar") and not a.real and isinstance(v, np.ndarray)
    )
    return dtype, dims, vals


_DIM_NAMES: dict[str, list[str]] = {}  # the entry's dims, in its order


def _primal(spec: Spec, vals: list[Any], keywords: dict[str, Any]) -> list[Any]:
    """The call itself on validated values (forward mode off): one native call through the C fast
    path when it takes them, else the validating path's lowering."""
    rid = _fast_id(spec)
    if rid >= 0 and _lowering.FAST:
        fast_args = (*vals, *(keywords[k] for k in spec.keywords))  # (alive: passed by id)
        rc = int(lib.ba_fast_call(rid, id(fast_args)))
        if rc == 0:
            return vals
        if rc >= _lowering.INFO:  # LAPACK's info > 0: the call ran
            _lowering.failed(spec, rc - _lowering.INFO)
    return _lowering.run(spec, tuple(vals), keywords)


_FAST_IDS: dict[str, int] = {}


# -- active scalars ------------------------------------------------------------------------------
_TANGENT = {int(lib.ba_scalar_op_index(op.name.encode())): op for op in OPS}


def scalar_op(op: int, x: Any, y: Any, out: np.ndarray | None) -> Any:
    """z ← op(x, y) in forward mode: the value as outside it, and ż when an operand has a tangent;
    z is then a Scalar (over out, or a new 0-d buffer). One tangent: ż from the op's adjoint in C
    (ba_scalar_tangent, as the native operation computes it: the same bits); a batch: each
    operand's share from the op's tangent rule (blasad/specs/scalar.py) on the batch axis."""
    fwd = thread_local.forward
    operands = (x,) if y is None else (x, y)
    dots = [fwd.tangent(v) if type(v) is Scalar or type(v) is np.ndarray else None for v in operands]
    out_dot = None if out is None else fwd.tangent(out)
    values = [v._a[()] if type(v) is Scalar else v[()] if type(v) is np.ndarray else v for v in operands]
    with fwd.plain():  # (out may be an operand: its value was read above)
        z = _scalar.apply(op, x, y, out)
    if z is NotImplemented or (out_dot is None and all(d is None for d in dots)):
        return z
    buf = z._a if type(z) is Scalar else np.array(z)
    region = fwd.cover(buf)
    z_dot = out_dot if out_dot is not None else fwd._view(region, buf)  # type: ignore[arg-type]
    codes = [_code(v) for v in operands]
    if fwd.batch is None and buf.dtype in DTYPE_CODES and all(c >= 0 for c in codes):
        _native_tangent(op, DTYPE_CODES[buf.dtype], codes, [*values, buf[()]], dots, z_dot)
        return z if type(z) is Scalar else wrap(buf)
    got: Any = 0
    with np.errstate(all="ignore"):
        for part, d in zip(_TANGENT[op].tangent, dots):
            if d is not None:  # this operand's share of ż
                got = got + part(*values, buf[()], d)
    z_dot[...] = got.real if buf.dtype.kind == "f" and np.iscomplexobj(got) else got
    return z if type(z) is Scalar else wrap(buf)


def _code(v: Any) -> int:
    """An operand's dtype code as the native operation reads it (a Python or NumPy number: real 1,
    complex 3); -1 for an array with a tangent of a dtype blasad does not carry."""
    dtype = v._a.dtype if type(v) is Scalar else getattr(v, "dtype", None)
    if dtype is not None and dtype in DTYPE_CODES:
        return DTYPE_CODES[dtype]
    if isinstance(v, np.ndarray) and v.dtype.kind in "fc":
        return -1
    return 3 if np.iscomplexobj(v) else 1


def _native_tangent(
    op: int, dz: int, codes: list[int], values: list[Any], dots: list[np.ndarray | None], z_dot: np.ndarray
) -> None:
    """z_dot ← ż of z = op(x, y) from the operands' tangents (dots; None: a constant), by the native
    rule (values: x, [y,] z; z the value stored)."""
    words = np.zeros(6)
    if len(values) == 2:  # (a unary op: y is 0)
        values = [values[0], 0, values[1]]
    for i, v in enumerate(values):
        c = complex(v)
        words[2 * i], words[2 * i + 1] = c.real, c.imag
    (dx, dy), (x_dot, y_dot) = [*codes, 1][:2], [*dots, None][:2]
    lib.ba_scalar_tangent(op, dz, dx, dy, words.ctypes.data, _at(x_dot), _at(y_dot), _at(z_dot))


def _at(a: np.ndarray | None) -> int:
    return 0 if a is None else int(a.ctypes.data)


_scalar.FORWARD.append(scalar_op)


def run_forward(f: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """autodiff(f, *args, mode="forward"): f's result; each Duplicated's dx (BatchDuplicated's dxs)
    holds the tangent(s) of its x's final value (if f raises: of the value f left in x)."""
    result = _native_forward(f, args)  # the common case natively (csrc/fast.c py_forward)
    if result is not _FALLBACK:
        return result
    if thread_local.tape is not None:
        raise RuntimeError("forward mode cannot run inside a recording Tape (mixing modes is not supported)")
    if thread_local.forward is not None:
        raise RuntimeError("forward mode is already running on this thread; nesting it is not supported")
    pairs, primals, batches, single = [], [], set(), False
    for a in args:
        kind = type(a)
        if kind is Duplicated:
            pairs.append((a.x, a.dx))
            single = True
        elif kind is BatchDuplicated:
            pairs.append((a.x, a.dxs))
            batches.add(a.dxs.shape[0])
        primals.append(a.x if kind is Duplicated or kind is BatchDuplicated or kind is Const else a)
    if batches and single:
        raise ValueError(
            "autodiff: Duplicated and BatchDuplicated do not mix; give each tangent a batch axis"
        )
    if len(batches) > 1:
        raise ValueError(f"autodiff: each BatchDuplicated must carry as many tangents; got {sorted(batches)}")
    arrays = [x for x, _ in pairs] + [t for _, t in pairs]
    disjoint = len(arrays) < 2 or lib.ba_arrays_disjoint(id(arrays))  # (byte spans apart: no pair shares)
    for j, b in enumerate([] if disjoint else arrays):
        for a in arrays[:j]:
            if np.shares_memory(a, b):
                raise ValueError(
                    "autodiff: two active arguments, or a tangent and an argument, share memory: "
                    "pass the base once and take views in f"
                )
    fwd = Forward(batches.pop() if batches else None)
    if lib.ba_fw_native(int(fwd.batch is None)):  # one tangent each: the native rules may run
        raise MemoryError("blasad: out of memory starting forward mode")
    fwd._run = lib.ba_fw_run()  # (its array may go on another thread: the drop names this run)
    lib.ba_fw_python()  # this Forward makes the regions (the native calls ask it: rc 2)
    try:
        copied = [(x, t) for x, t in pairs if not fwd.attach(x, t)]  # (the others are their regions)
    except BaseException:
        lib.ba_fw_native(0)
        raise
    thread_local.forward = fwd
    lib.ba_fast_set_forward(1)
    try:
        return f(*primals)
    finally:  # (also when f raises: dx is the tangent of x as f left it, as it is for the others)
        thread_local.forward = None
        lib.ba_fast_set_forward(0)
        lib.ba_fw_native(0)
        for x, t in copied:
            got = fwd.tangent(x)
            t[...] = 0 if got is None else got


def _adopt(args: tuple[Any, ...]) -> Forward:
    """The Forward object of the native forward-mode run on this thread (csrc/fast.c py_forward),
    which Python code asked for while f runs: each Duplicated's dx is its x's region, as attach
    makes it (the native table has them already)."""
    fwd = Forward(None)
    fwd._run = lib.ba_fw_run()
    for a in args:
        if type(a) is Duplicated and a.x.size:
            lo, hi = extent(a.x)
            r = _Region(lo, hi, _bytes_at(lib.ba_array_lo(id(a.dx)), (hi - lo,), (1,)), None)
            r.keep = a.dx
            fwd._insert(r, native=False)
    for lo, hi, tan, x, owner in _lowering.fw_regions():  # new outputs' tangents, made natively
        if x is None:  # (its array is going: so is the region)
            continue
        r = _Region(lo, hi, _bytes_at(tan, (hi - lo,), (1,)), None)
        r.keep, r.native = owner, True  # (owner: the tangent memory, while this region is known)
        r.owner = weakref.ref(x, _forget(fwd, r))
        fwd._insert(r, native=False)
    thread_local.forward = fwd
    return fwd


def _forget(fwd: Forward, r: _Region) -> Callable[[Any], None]:
    """The callback that drops region r from fwd when its array goes (C drops its own entry)."""
    return lambda _: fwd._drop(r)


def _end() -> None:
    """The end of a native forward-mode run whose Forward object _adopt made."""
    thread_local.forward = None


_box: list[Any] = [_adopt, _end]
if lib.ba_forward_init(id(_box)):
    raise ImportError("blasad: the native core could not set up forward mode")
_native_forward: Callable[[Callable[..., Any], tuple[Any, ...]], Any] = _box[2]
