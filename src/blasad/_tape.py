"""The tape front end: shadows of buffers, Tape, autodiff, Duplicated, Const.

Shadows live per memory region. A region is a span of bytes [lo, hi) of user memory
together with a shadow buffer of the same span; the shadow of any view inside the
region is the same view of the shadow buffer (same offset, same strides), so views
share their base's adjoint and the C side can use the primal's ld/inc for both.
"""

from __future__ import annotations

import bisect
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from blasad._native_loader import ffi, lib


class _Local(threading.local):
    tape: Tape | None = None  # the tape recording on this thread


_local = _Local()


def current_tape() -> Tape | None:
    """The tape recording on this thread, or None."""
    return _local.tape


def address(x: np.ndarray) -> int:
    """Address of x's first element (logical index 0)."""
    return int(lib.ba_array_data(id(x)))


def extent(x: np.ndarray) -> tuple[int, int]:
    """Byte span [lo, hi) that the elements of x occupy (lo == hi when x is empty)."""
    lo = int(lib.ba_array_lo(id(x)))
    return (lo, int(lib.ba_array_hi(id(x))) + x.itemsize) if x.size else (lo, lo)


if sys.implementation.name != "cpython":  # no object addresses: ask NumPy

    def address(x: np.ndarray) -> int:
        """Address of x's first element (logical index 0)."""
        return int(x.__array_interface__["data"][0])

    def extent(x: np.ndarray) -> tuple[int, int]:
        """Byte span [lo, hi) that the elements of x occupy (lo == hi when x is empty)."""
        lo = hi = address(x)
        if x.size == 0:
            return lo, lo
        for n, s in zip(x.shape, x.strides):
            if s < 0:
                lo += (n - 1) * s
            else:
                hi += (n - 1) * s
        return lo, hi + x.itemsize


def _root(x: np.ndarray) -> np.ndarray:
    while isinstance(x.base, np.ndarray):
        x = x.base
    return x


class _Region:
    """Bytes [lo, hi) of user memory and their shadow starting at address shadow_lo.
    `data` is the shadow as a uint8 array of the span when blasad owns it."""

    __slots__ = ("data", "hi", "keep", "lo", "shadow_lo")

    def __init__(self, lo: int, hi: int, shadow_lo: int, data: np.ndarray | None, keep: object) -> None:
        self.lo, self.hi, self.shadow_lo, self.data, self.keep = lo, hi, shadow_lo, data, keep


def _zeros_like_span(lo: int, hi: int) -> np.ndarray:
    """A zeroed uint8 array of hi - lo bytes, aligned (mod 64) like address lo."""
    buf = np.zeros(hi - lo + 64, dtype=np.uint8)
    shift = (lo - address(buf)) % 64
    return buf[shift : shift + hi - lo]


class _Regions:
    """Sorted, non-overlapping memory regions with their shadows."""

    def __init__(self, tape_ptr: Any) -> None:
        self._tape_ptr = tape_ptr  # the C tape keeps the same table for its fast paths
        self._los: list[int] = []
        self._regions: list[_Region] = []

    def find(self, ptr: int) -> _Region | None:
        i = bisect.bisect_right(self._los, ptr) - 1
        if i >= 0 and ptr < self._regions[i].hi:
            return self._regions[i]
        return None

    def bar(self, x: np.ndarray) -> int:
        """Shadow address of x's first element, or 0 when x is inactive."""
        ptr = address(x)
        r = self.find(ptr)
        return 0 if r is None else ptr - r.lo + r.shadow_lo

    def _insert(self, region: _Region, what: str) -> None:
        i = bisect.bisect_right(self._los, region.lo)
        prev = self._regions[i - 1] if i > 0 else None
        nxt = self._regions[i] if i < len(self._regions) else None
        if (prev is not None and prev.hi > region.lo) or (nxt is not None and region.hi > nxt.lo):
            raise ValueError(
                f"{what} overlaps memory that is already tracked through another array object; "
                "pass one base array and take views of it"
            )
        if lib.ba_tape_add_region(self._tape_ptr, region.lo, region.hi, region.shadow_lo):
            raise MemoryError("blasad: out of memory while registering a shadow")
        self._los.insert(i, region.lo)
        self._regions.insert(i, region)

    def ensure(self, x: np.ndarray) -> int:
        """Shadow address of x, giving x's whole base a zeroed shadow if it has none."""
        ptr = address(x)
        r = self.find(ptr)
        if r is None:
            root = _root(x)
            lo, hi = extent(root)
            lo, hi = min(lo, ptr), max(hi, ptr + x.itemsize)
            data = _zeros_like_span(lo, hi)
            r = _Region(lo, hi, address(data), data, root)
            self._insert(r, "an array")
        return ptr - r.lo + r.shadow_lo

    def attach(self, x: np.ndarray, dx: np.ndarray, name: str) -> Callable[[], None] | None:
        """Make dx the shadow of x. Returns a copy-back hook when dx's strides differ
        from x's and an internal buffer with x's layout stands in for it."""
        lo, hi = extent(x)
        hi = max(hi, lo + x.itemsize)
        if x.strides == dx.strides:
            self._insert(_Region(lo, hi, extent(dx)[0], None, (x, dx)), name)
            return None
        data = _zeros_like_span(lo, hi)
        self._insert(_Region(lo, hi, address(data), data, x), name)
        view = self.view(x)
        assert view is not None
        view[...] = dx

        def copy_back() -> None:
            dx[...] = view

        return copy_back

    def view(self, x: np.ndarray) -> np.ndarray | None:
        """The shadow of x: an array with x's shape, dtype and strides, or None."""
        ptr = address(x)
        r = self.find(ptr)
        if r is None:
            return None
        if r.data is None:
            raise RuntimeError("the shadow of this array is a user buffer (Duplicated); read it there")
        if x.size == 0:
            return np.zeros(x.shape, x.dtype)
        offset = ptr - r.lo
        anchor = r.data[offset : offset + x.itemsize].view(x.dtype)
        return np.lib.stride_tricks.as_strided(anchor, shape=x.shape, strides=x.strides, writeable=True)


def _as_list(v: Any, what: str) -> list[Any]:
    if isinstance(v, np.ndarray):
        return [v]
    if isinstance(v, (list, tuple)):
        return list(v)
    raise TypeError(f"{what} must be a NumPy array or a list of them, got {type(v).__name__}")


def _check_float_array(x: Any, what: str) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{what} must be a NumPy array, got {type(x).__name__}")
    if x.dtype not in (np.float32, np.float64, np.complex64, np.complex128):
        raise TypeError(f"{what} must have dtype float32, float64, complex64 or complex128, got {x.dtype}")
    return x


class Tape:
    """Records the BLAS calls made inside ``with tape:`` on this thread, for one reverse sweep.

    Example::

        with ba.Tape() as tape:
            tape.watch(A, B)
            ba.gemm(1.0, A, B, 0.0, C)
        tape.backward(C, dC)
        dA = tape.grad(A)
    """

    def __init__(self, check: bool = False) -> None:
        """check=True checksums every input the reverse sweep reads by reference and
        verifies it before the sweep: a write made outside blasad (``A[:] = 0`` in
        NumPy) to such a value then raises RuntimeError in backward() instead of
        giving a wrong gradient. It costs one pass over those inputs per call."""
        ptr = lib.ba_tape_new()
        if ptr == ffi.NULL:
            raise MemoryError("blasad: could not allocate a tape")
        self._ptr = ffi.gc(ptr, lib.ba_tape_free)
        if check:
            lib.ba_tape_set_check(self._ptr, 1)
        self._regions = _Regions(self._ptr)
        self._keep: list[np.ndarray] = []  # inputs the sweep may read by address
        self._state = "new"  # new -> recording -> stopped -> consumed

    # -- recording -----------------------------------------------------------
    def __enter__(self) -> Tape:
        if self._state != "new":
            raise RuntimeError("a Tape records once; create a new Tape for another recording")
        if current_tape() is not None:
            raise RuntimeError(
                "another Tape is already recording on this thread; nested tapes are not supported"
            )
        _local.tape = self
        self._state = "recording"
        return self

    def __exit__(self, *exc: object) -> None:
        _local.tape = None
        self._state = "stopped"

    def watch(self, *arrays: np.ndarray) -> None:
        """Mark arrays as active inputs: their adjoints will be available from grad()."""
        if self._state == "consumed":
            raise RuntimeError("this tape was consumed by backward()")
        checked = [_check_float_array(x, f"watch argument {i}") for i, x in enumerate(arrays)]
        for x in checked:
            self._regions.ensure(x)

    # -- reverse sweep ---------------------------------------------------------
    def backward(
        self, outputs: np.ndarray | Sequence[np.ndarray], seeds: np.ndarray | Sequence[np.ndarray]
    ) -> None:
        """Run the reverse sweep for loss = Σ ⟨seed_i, output_i⟩ (outputs at their final values).

        Consumes the tape: a second call raises RuntimeError.
        """
        if self._state == "consumed":
            raise RuntimeError("backward() was already called on this tape; record a new Tape")
        if self._state == "recording":
            raise RuntimeError("call backward() after the `with tape:` block has ended")
        outs = [_check_float_array(x, f"outputs[{i}]") for i, x in enumerate(_as_list(outputs, "outputs"))]
        seeds_l = _as_list(seeds, "seeds")
        if len(seeds_l) != len(outs):
            raise ValueError(f"backward got {len(outs)} outputs but {len(seeds_l)} seeds")
        checked = []
        for i, (out, seed) in enumerate(zip(outs, seeds_l)):
            seed = np.asarray(seed)
            if seed.shape != out.shape:
                raise ValueError(
                    f"seeds[{i}] has shape {seed.shape}, expected {out.shape} (the shape of outputs[{i}])"
                )
            if not np.can_cast(seed.dtype, out.dtype, "same_kind"):
                raise TypeError(f"seeds[{i}] has dtype {seed.dtype}, expected one castable to {out.dtype}")
            checked.append((out, seed))
        seeded = []
        for out, seed in checked:
            shadow = self._regions.view(out)
            if shadow is not None:  # an output no active value reached has a zero gradient
                seeded.append((shadow, shadow.copy()))
                shadow += seed
        try:
            self._sweep()
        except MemoryError:  # nothing was swept: take the seeds back so that backward can be retried
            for shadow, before in seeded:
                shadow[...] = before
            raise

    def _sweep(self) -> None:
        rc = lib.ba_tape_backward(self._ptr)
        if rc == -3:
            self._state = "consumed"
            raise RuntimeError(
                f"Tape(check=True): {lib.ba_tape_tampered(self._ptr)} value(s) the reverse sweep needs were "
                "changed outside blasad (e.g. by a NumPy write) after they were recorded; the gradient "
                "would be wrong, so no adjoint was computed"
            )
        if rc == -1:
            raise MemoryError(
                "blasad: out of memory for the reverse sweep's scratch buffer; no adjoint was touched"
            )
        if rc != 0:
            raise RuntimeError("this tape was already consumed by backward()")
        self._state = "consumed"
        self._keep.clear()

    def grad(self, x: np.ndarray) -> np.ndarray:
        """Adjoint of x's value at the time it was watched (a new array)."""
        if self._state != "consumed":
            raise RuntimeError("grad() is available after backward()")
        _check_float_array(x, "x")
        shadow = self._regions.view(x)
        if shadow is None:
            raise ValueError("x was not watched on this tape (and no watched value reached it)")
        return np.array(shadow, copy=True)

    # -- introspection ---------------------------------------------------------
    @property
    def ncalls(self) -> int:
        """Number of calls recorded so far."""
        return int(lib.ba_tape_ncalls(self._ptr))

    @property
    def bytes_copied(self) -> int:
        """Bytes the tape copied because a later call overwrote a value it needs."""
        return int(lib.ba_tape_bytes_copied(self._ptr))


class Duplicated:
    """An active argument of autodiff: x with its shadow dx (same shape and dtype).

    On entry dx seeds x's final value; on exit it holds d loss / d x's initial value.
    """

    __slots__ = ("dx", "x")

    def __init__(self, x: np.ndarray, dx: np.ndarray) -> None:
        _check_float_array(x, "Duplicated x")
        _check_float_array(dx, "Duplicated dx")
        if dx.shape != x.shape:
            raise ValueError(f"Duplicated: dx has shape {dx.shape}, expected {x.shape} (the shape of x)")
        if dx.dtype != x.dtype:
            raise TypeError(f"Duplicated: dx has dtype {dx.dtype}, expected {x.dtype} (the dtype of x)")
        if not dx.flags.writeable:
            raise ValueError("Duplicated: dx is read-only; it receives the adjoint")
        if np.shares_memory(x, dx):
            raise ValueError("Duplicated: dx shares memory with x")
        self.x, self.dx = x, dx


class Const:
    """A constant argument of autodiff: no adjoint, no adjoint work."""

    __slots__ = ("x",)

    def __init__(self, x: Any) -> None:
        self.x = x


def autodiff(f: Callable[..., Any], *args: Any, check: bool = False) -> Any:
    """Run f(*primals) and its reverse sweep, Enzyme style; returns f's result.

    Each ``Duplicated(x, dx)`` is active: dx seeds x's final value on entry and holds
    d loss / d x's initial value on exit, for loss = Σ ⟨dx_entry, x_final⟩.
    ``Const(x)`` and plain values are constants. check=True: see Tape.
    """
    tape = Tape(check=check)
    primals: list[Any] = []
    hooks: list[Callable[[], None]] = []
    dups = [a for a in args if isinstance(a, Duplicated)]
    for i, a in enumerate(dups):
        for b in dups[:i]:
            if np.shares_memory(a.x, b.x):
                raise ValueError(
                    "autodiff: two Duplicated arguments share memory; pass the base once and take views in f"
                )
            if np.shares_memory(a.dx, b.dx):
                raise ValueError("autodiff: two Duplicated shadows share memory")
    for a in args:
        if isinstance(a, Duplicated):
            hook = tape._regions.attach(a.x, a.dx, "a Duplicated argument")
            if hook is not None:
                hooks.append(hook)
            primals.append(a.x)
        elif isinstance(a, Const):
            primals.append(a.x)
        else:
            primals.append(a)
    with tape:
        result = f(*primals)
    tape._sweep()
    for hook in hooks:
        hook()
    return result
