"""The tape front end: shadows of buffers, Tape, autodiff, Duplicated, Const.

Shadows live per memory region. A region is a span of bytes [lo, hi) of user memory
together with a shadow buffer of the same span; the shadow of any view inside the
region is the same view of the shadow buffer (same offset, same strides), so views
share their base's adjoint and the C side can use the primal's ld/inc for both.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from blasad._native_loader import ffi, lib
from blasad._validate import overlaps_itself


class _Local(threading.local):
    _tape: Tape | None = None
    _forward: Any = None

    @property
    def tape(self) -> Tape | None:
        """The tape recording on this thread: a Tape's, or a native autodiff call's (made now)."""
        tape = self._tape
        return tape if tape is not None else _native_tape()

    @tape.setter
    def tape(self, tape: Tape | None) -> None:
        self._tape = tape

    @property
    def forward(self) -> Any:
        """The forward-mode run on this thread (blasad._forward.Forward; a native one's made now)."""
        forward = self._forward
        return forward if forward is not None else _native_forward()

    @forward.setter
    def forward(self, forward: Any) -> None:
        self._forward = forward


thread_local = _Local()


def current_tape() -> Tape | None:
    """The tape recording on this thread, or None."""
    return thread_local.tape


def address(x: np.ndarray) -> int:
    """Address of x's first element (logical index 0)."""
    return lib.ba_array_data(id(x))


def extent(x: np.ndarray) -> tuple[int, int]:
    """Byte span [lo, hi) that the elements of x occupy (lo == hi when x is empty)."""
    lo = lib.ba_array_lo(id(x))
    return (lo, lib.ba_array_hi(id(x)) + x.itemsize) if x.size else (lo, lo)


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


def _zeros_like_span(lo: int, hi: int) -> np.ndarray:
    """A zeroed uint8 array of hi - lo bytes, aligned (mod 64) like address lo."""
    buf = np.zeros(hi - lo + 64, dtype=np.uint8)
    shift = (lo - address(buf)) % 64
    return buf[shift : shift + hi - lo]


SHADOW: list[Callable[[int, np.ndarray], Any]] = []  # blasad._scalar's native shadow(tape, x)

_STRADDLES = (
    "an array overlaps memory that is already tracked through another array object, without lying "
    "inside it; pass one base array and take views of it"
)


class _Regions:
    """Non-overlapping memory regions with their shadows. The C tape holds the table
    (lo, hi, shadow address) for lookups and makes most shadows itself (from a pool of blocks
    it shares with later tapes), keeping each one's base array in `bases` (the Tape's list),
    so that its memory cannot be reused while the tape lives. A shadow the front end gives
    (``Duplicated``) is here instead: by lo, its uint8 array (None when it is the user's dx),
    with `_keep` holding the user arrays."""

    def __init__(self, tape_ptr: Any, bases: list[Any], address: int) -> None:
        self._tape_ptr = tape_ptr
        self._list = bases
        self._shadows: dict[int, np.ndarray | None] = {}
        self._keep: dict[int, object] = {}  # by lo, as _shadows
        self._address = address

    def bar(self, x: np.ndarray) -> int:
        """Shadow address of x's first element, or 0 when x is inactive."""
        bar: int = lib.ba_tape_lookup_array(self._tape_ptr, id(x), x.itemsize)
        if bar < 0:
            raise ValueError(_STRADDLES)
        return bar

    def _insert(
        self, lo: int, hi: int, data: np.ndarray | None, shadow_lo: int, keep: object, what: str
    ) -> None:
        rc = lib.ba_tape_add_region(self._tape_ptr, lo, hi, shadow_lo)
        if rc == -2:
            raise ValueError(
                f"{what} overlaps memory that is already tracked through another array object; "
                "pass one base array and take views of it"
            )
        if rc:
            raise MemoryError("blasad: out of memory while registering a shadow")
        self._shadows[lo] = data
        self._keep[lo] = keep

    def ensure(self, x: np.ndarray) -> int:
        """Shadow address of x, giving x's whole base a zeroed shadow if it has none."""
        bar: int = lib.ba_tape_ensure_array(self._tape_ptr, id(x), id(self._list))
        if bar == -1:
            raise ValueError(_STRADDLES)
        if bar == -2:
            raise ValueError(
                "an array overlaps memory that is already tracked through another array object; "
                "pass one base array and take views of it"
            )
        if bar == -3:
            raise MemoryError("blasad: out of memory while registering a shadow")
        return bar

    def attach(self, x: np.ndarray, dx: np.ndarray, name: str) -> Callable[[], None] | None:
        """Make dx the shadow of x. Returns a copy-back hook when dx's strides differ
        from x's and an internal buffer with x's layout stands in for it."""
        lo, hi = extent(x)
        hi = max(hi, lo + x.itemsize)
        if x.strides == dx.strides:
            self._insert(lo, hi, None, lib.ba_array_lo(id(dx)), (x, dx), name)
            return None
        data = _zeros_like_span(lo, hi)
        self._insert(lo, hi, data, address(data), x, name)
        view = self.view(x)
        assert view is not None
        view[...] = dx

        def copy_back() -> None:
            dx[...] = view

        return copy_back

    def view(self, x: np.ndarray) -> np.ndarray | None:
        """The shadow of x: an array with x's shape, dtype and strides, or None. Over the tape's
        memory: for the front end's own use (grad copies it), not to outlive the tape."""
        if x.size == 0:
            return np.zeros(x.shape, x.dtype) if self.bar(x) else None
        made = SHADOW[0](self._address, x)
        if type(made) is not int:
            return made  # type: ignore[no-any-return]
        if made < 0:
            raise ValueError(_STRADDLES)
        ptr = address(x)
        lo = lib.ba_tape_region(self._tape_ptr, ptr)
        data = self._shadows[lo]
        if data is None:
            raise RuntimeError("the shadow of this array is a user buffer (Duplicated); read it there")
        return np.ndarray(x.shape, x.dtype, buffer=data, offset=ptr - lo, strides=x.strides)

    def since(self, seq: int) -> list[int]:
        """The lo of each region made since the tape's region number was seq."""
        n = int(lib.ba_tape_regions_since(self._tape_ptr, seq, 0, 0))
        if not n:
            return []
        out = np.empty(n, np.intp)
        lib.ba_tape_regions_since(self._tape_ptr, seq, out.ctypes.data, n)
        return [int(v) for v in out]


_SCALAR: list[type] = []  # [blasad.Scalar], once imported


def _is_scalar(v: Any) -> bool:
    """v is an active scalar (blasad.Scalar, which imports this module: imported late)."""
    if not _SCALAR:
        from blasad._scalar import Scalar

        _SCALAR.append(Scalar)
    return isinstance(v, _SCALAR[0])


def _as_list(v: Any, what: str) -> list[Any]:
    if isinstance(v, np.ndarray) or _is_scalar(v):
        return [v]
    if isinstance(v, (list, tuple)):
        return list(v)
    raise TypeError(f"{what} must be a NumPy array or a list of them, got {type(v).__name__}")


_FLOAT_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))


def _check_float_array(x: Any, what: str, distinct: bool = True) -> np.ndarray:
    """x, a float array (an active scalar: its 0-d buffer); distinct: its elements must not
    overlap (an active array's shadow holds one adjoint per element, which a seed or an adjoint
    through aliases would break)."""
    if _is_scalar(x):
        return x._a
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{what} must be a NumPy array, got {type(x).__name__}")
    if x.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{what} must have dtype float32, float64, complex64 or complex128, got {x.dtype}")
    if distinct and overlaps_itself(x):
        raise ValueError(
            f"{what} has strides {x.strides} under which its elements overlap (a broadcast or "
            "as_strided view); pass an array of distinct elements (a copy)"
        )
    return x


def _debug_step(step: str) -> None:
    """Tests: blasad._tape.DEBUG_HOOK(step) runs at each step of backward (to inject interrupts)."""
    if DEBUG_HOOK is not None:
        DEBUG_HOOK(step)


DEBUG_HOOK: Callable[[str], None] | None = None
# a sweep of at least this many records reading at least this many bytes runs on a helper thread
# (Ctrl-C stops it between records); a shorter one is over before Ctrl-C would matter
_LONG_SWEEP = (256, 4 << 20)


try:  # CPython's C module under `signal`: its signal() without the enum wrappers (8 µs a pair)
    from _signal import signal as _set_handler
except ImportError:  # pragma: no cover (other implementations)
    _set_handler = signal.signal


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold back SIGINT (Ctrl-C, _thread.interrupt_main) for the block, then raise it: the block
    is not cut in two. In threads other than the main one there is nothing to hold back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = _set_handler(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        _set_handler(signal.SIGINT, previous)
        if caught:
            if callable(previous):
                previous(signal.SIGINT, None)
            else:
                raise KeyboardInterrupt


# why a finished sweep's adjoints are invalid, by ba_tape_invalid's reason
_INVALID = {
    1: "the gradient reached the output of a LAPACK call that failed (it raised LinAlgError when "
    "it ran): those values have no derivative, so the adjoints are invalid",
    2: "the loss depends on the phase of a complex eigenvector or singular vector, which the matrix "
    "does not determine (each column may be scaled by any e^{iφ}): the gradient is not defined; use "
    "a loss invariant to those phases (|V|, V diag(w) Vᴴ, ...)",
}
_OUT_OF_MEMORY = "blasad: out of memory for the reverse sweep's scratch buffer; no adjoint was touched"


def _run_sweep(ptr: Any) -> int:
    """ba_tape_sweep; a long sweep from the main thread runs on a helper thread, and an
    exception in the waiting one (KeyboardInterrupt) cancels it between two records. The
    helper's end is an Event it sets (Thread.join interrupted by a signal is not reliable)."""
    long = lib.ba_tape_ncalls(ptr) >= _LONG_SWEEP[0] and lib.ba_tape_bytes_referenced(ptr) >= _LONG_SWEEP[1]
    if not long or threading.current_thread() is not threading.main_thread():
        return int(lib.ba_tape_sweep(ptr))
    result: list[int] = []
    done = threading.Event()

    def work() -> None:
        try:
            result.append(lib.ba_tape_sweep(ptr))
        finally:
            done.set()

    launched = False
    try:
        with _interrupts_deferred():  # started and known to be started, together
            threading.Thread(target=work, daemon=True).start()
            launched = True
        while not done.wait(0.02):
            pass
    except BaseException:
        if launched:
            lib.ba_tape_cancel(ptr)
            while not done.is_set():  # it stops before its next record; wait for that, come what may
                try:
                    done.wait()
                except BaseException:
                    continue
        raise
    return result[0]


class Tape:
    """Records the BLAS calls made inside ``with tape:`` on this thread, for one reverse sweep.

    Example::

        with ba.Tape() as tape:
            tape.watch(A, B)
            ba.gemm(1.0, A, B, 0.0, C)
        tape.backward(C, dC)
        dA = tape.grad(A)
    """

    def __init__(self, check: bool = False, replay: bool = False) -> None:
        """check=True checksums every input the reverse sweep reads by reference and
        verifies it before the sweep: a write made outside blasad (``A[:] = 0`` in
        NumPy) to such a value then raises RuntimeError in backward() instead of
        giving a wrong gradient. It costs one pass over those inputs per call.

        replay=True keeps the tape after backward() and lets replay() run the recorded
        calls again on the arrays' current values (see replay)."""
        bases: list[np.ndarray] = []
        address, owner = _native_tape_new(bases)
        self._setup(address, owner, [], bases, check)
        if replay:
            self._replay = True
            if lib.ba_tape_set_replay(self._ptr):
                raise MemoryError("blasad: could not allocate a replay tape's log")

    # fields whose value at the start is shared (the class's) until a tape sets its own
    _replay = False
    _pins: np.ndarray | None = None  # replay: the kept arrays' (data, size) when recorded
    _state = "new"  # new -> recording -> stopped -> consumed (replay: stopped <-> swept)
    _owner = 0  # the thread recording on it (its threading.get_ident())
    _seeded: tuple[list[np.ndarray], list[np.ndarray]] | None = None  # the seeds in the shadows
    _check = False  # also: an active scalar turned into a plain number raises (blasad._scalar)
    _in_loop = False  # a checkpointed loop's forward is running
    _broken = ""  # why backward would give a wrong gradient (a loop that raised)
    _chunk_map: dict[int, tuple[int, int, np.ndarray]] | None = None  # _pool_chunks, as last seen

    def _setup(
        self, address: int, owner: Any, keep: list[Any], bases: list[Any], check: bool = False
    ) -> None:
        """The fields of a Tape over the native tape at address, which owner (a capsule) frees, and
        its lists (the tape knows bases already)."""
        self._address = address
        self._owner_capsule = owner
        if check:
            lib.ba_tape_set_check(self._ptr, 1)
            self._check = True
        self._keep = keep  # inputs the sweep may read by address (C appends too)
        self._bases = bases  # the arrays whose shadows the tape made (C appends)
        self._busy = threading.Lock()  # held by backward: one sweep at a time

    @functools.cached_property
    def _loops(self) -> list[Any]:
        """The checkpointed loops (blasad._checkpoint._Loop), by barrier id."""
        return []

    @property
    def _pool_chunks(self) -> dict[int, tuple[int, int, np.ndarray]]:
        """The scalar pool's chunks by lo: their region's byte span and the array they are (the
        native tape lists and holds them: csrc/fast.c pool_grow makes them as slots run out, at
        any time; the ones made since the last look are added)."""
        chunks = self._chunk_map
        if chunks is None:
            chunks = self._chunk_map = {}
        for raw in _native_pool_chunks(self._address, len(chunks)):
            lo, hi = extent(raw)
            chunks[lo] = (lo, hi, raw)
        return chunks

    @functools.cached_property
    def _ptr(self) -> Any:
        """The native tape, for cffi calls (made on first use)."""
        return ffi.cast("ba_tape *", self._address)

    @functools.cached_property
    def _regions(self) -> _Regions:
        """The shadows' regions (made on first use)."""
        return _Regions(self._ptr, self._bases, self._address)

    # -- recording -----------------------------------------------------------
    def __enter__(self) -> Tape:
        if self._state != "new":
            raise RuntimeError("a Tape records once; create a new Tape for another recording")
        if not _native_enter(self._address, self._keep):  # (it records: the common case)
            if thread_local.tape is not None:
                raise RuntimeError(
                    "another Tape is already recording on this thread; nested tapes are not supported"
                )
            if thread_local.forward is not None:
                raise RuntimeError("a Tape cannot record inside forward mode (mixing modes is not supported)")
            lib.ba_fast_set_tape(self._ptr, id(self._keep))
        thread_local._tape = self
        self._owner = threading.get_ident()
        self._state = "recording"
        return self

    def __exit__(self, *exc: object) -> None:
        thread_local._tape = None
        _native_leave()
        self._state = "stopped"
        if self._replay:  # what each kept array was, for replay() to refuse one resized since
            self._pins = np.zeros((len(self._keep), 2), np.int64)
            lib.ba_keep_pins(id(self._keep), self._pins.ctypes.data, len(self._keep), 0)

    def _same_thread(self, what: str) -> None:
        """While a tape records, only its own thread may touch it (the region table it reads
        on every call would change under it)."""
        if self._state == "recording" and threading.get_ident() != self._owner:
            raise RuntimeError(f"{what}: this Tape is recording on another thread; call it from that thread")

    def watch(self, *arrays: np.ndarray) -> None:
        """Mark arrays as active inputs: their adjoints will be available from grad()."""
        if self._state == "recording" and threading.get_ident() != self._owner:
            self._same_thread("watch()")
        if self._state == "consumed":
            raise RuntimeError("this tape was consumed by backward()")
        if _native_watch(self._address, self._bases, arrays):  # (the common case)
            return
        # (an input whose elements overlap may be watched: its adjoint is the sum over its
        # aliases, shown at each of them; it can be neither written nor seeded)
        checked = [_check_float_array(x, f"watch argument {i}", distinct=False) for i, x in enumerate(arrays)]
        written = self._state == "recording" and lib.ba_tape_ncalls(self._ptr) > 0  # (else none can be)
        for i, x in enumerate(checked):
            if written and x.size and lib.ba_tape_written(self._ptr, extent(x)[0]):
                raise ValueError(
                    f"watch argument {i} lies in memory that a call recorded on this tape has already "
                    "written: grad(x) is the adjoint of x's value when it was watched, which the "
                    "tape cannot separate from the earlier writes; watch it before the first call "
                    "that writes it"
                )
        for x in checked:
            self._regions.ensure(x)

    # -- replay ----------------------------------------------------------------
    def replay(self) -> None:
        """Run every recorded call again, natively, on the arrays' current values (a replay tape).

        Write new input values in place between replays (NumPy writes, ``np.copyto``, blasad
        calls outside the tape); ``backward`` then gives the gradient at the new point. Like
        ``jax.jit``, it assumes the sequence of calls does not depend on the data: what ran
        outside blasad's routines and active scalars while recording (NumPy arithmetic, Python
        numbers) is not run again. Raises LinAlgError when a LAPACK call fails (the later calls
        still ran, as in a recording)."""
        self._same_thread("replay()")
        if not self._replay:
            raise RuntimeError("replay() needs a tape made with Tape(replay=True)")
        if self._state in ("new", "recording"):
            raise RuntimeError("call replay() after the `with tape:` block has ended")
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("backward() or replay() is running on this tape in another thread")
        try:
            assert self._pins is not None
            bad = lib.ba_keep_pins(id(self._keep), self._pins.ctypes.data, len(self._pins), 1)
            if bad >= 0:
                raise ValueError(
                    "replay(): an array the recorded calls use was resized or reallocated since the "
                    "recording (ndarray.resize with refcheck=False); record a new Tape"
                )
            self._state = "replaying"  # until it ends: a failed replay leaves the records half made
            self._seeded = None
            rc = lib.ba_tape_replay(self._ptr)
            if rc == -1:
                raise MemoryError("blasad: out of memory in replay(); call replay() again")
            if rc < 0:
                raise RuntimeError(f"blasad: replay failed in the native core (code {rc})")
            self._state = "stopped"
            if rc > 0:  # INFO + info for the first LAPACK call that failed
                from blasad._lowering import INFO  # (which imports this module)
                from blasad.specs import ROUTINES

                name = ROUTINES[lib.ba_tape_replay_failed(self._ptr)].name
                raise np.linalg.LinAlgError(
                    f"replay(): {name} failed (LAPACK info = {rc - INFO}); a gradient that reaches "
                    "its outputs raises in backward()"
                )
        finally:
            self._busy.release()

    # -- reverse sweep ---------------------------------------------------------
    def backward(
        self, outputs: np.ndarray | Sequence[np.ndarray], seeds: np.ndarray | Sequence[np.ndarray]
    ) -> None:
        """Run the reverse sweep for loss = Σ ⟨seed_i, output_i⟩ (outputs at their final values).

        Consumes the tape (a second call raises RuntimeError), unless it is a replay tape:
        then each backward gives the gradient at the values of the latest recording or replay.
        """
        if self._state == "recording":
            self._same_thread("backward()")
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("backward() is running on this tape in another thread")
        try:
            sweepable = self._state in ("stopped", "swept") and self._seeded is None and not self._broken
            if sweepable and DEBUG_HOOK is None:  # the common case natively (csrc/fast.c py_backward)
                rc = _native_backward(self._address, outputs, seeds)
                if rc is None:  # swept to the end, the adjoints valid
                    self._swept()
                    return
                if rc is not _FALLBACK:
                    self._sweep(rc, swept=True)
                    return
            self._backward(outputs, seeds)
        finally:
            self._busy.release()

    def _backward(
        self, outputs: np.ndarray | Sequence[np.ndarray], seeds: np.ndarray | Sequence[np.ndarray]
    ) -> None:
        if self._state == "consumed":
            raise RuntimeError("backward() was already called on this tape; record a new Tape")
        if self._state == "recording":
            raise RuntimeError("call backward() after the `with tape:` block has ended")
        if self._state == "new":
            raise RuntimeError(
                "backward(): this Tape never recorded; run the program inside `with tape:` "
                "(watch may be called before or inside it)"
            )
        if self._state == "replaying":
            raise RuntimeError("backward(): the last replay() did not finish; call replay() again")
        if self._broken:
            raise RuntimeError(f"backward(): {self._broken}; record the program again on a new Tape")
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
            if seed.dtype != out.dtype and not np.can_cast(seed.dtype, out.dtype, "same_kind"):
                raise TypeError(f"seeds[{i}] has dtype {seed.dtype}, expected one castable to {out.dtype}")
            checked.append((out, seed))
        if self._seeded is not None:  # a retry after an interrupt: the seeds are in already
            outs0, seeds0 = self._seeded
            if len(outs0) != len(checked) or any(
                o is not out or not np.array_equal(s, seed)
                for o, s, (out, seed) in zip(outs0, seeds0, checked)
            ):
                raise ValueError(
                    "backward(): an interrupted backward is continued with the outputs and seeds it was "
                    "given; call it again with those"
                )
            self._sweep(0)
            return
        shadows = [self._regions.view(out) for out, _ in checked]
        # all that can fail comes first: out of memory (-1) adds no seed, and backward can be retried
        rc = lib.ba_tape_prepare(self._ptr)
        _debug_step("prepared")
        if rc == 0:
            with _interrupts_deferred():  # the seeds and the record that they are in, together
                for shadow, (_, seed) in zip(shadows, checked):
                    if shadow is not None:  # an output no active value reached has a zero gradient
                        shadow += seed
                self._seeded = ([out for out, _ in checked], [seed for _, seed in checked])
                _debug_step("seeded")
        self._sweep(rc)

    def _sweep(self, rc: int, swept: bool = False) -> None:
        """The reverse sweep, once ba_tape_prepare returned rc (and the seeds are in); swept: rc is
        the sweep's own status. A long one runs on a helper thread while this one waits in short
        steps, so Ctrl-C stops it between two records (KeyboardInterrupt); backward called again
        continues it."""
        if rc == 0 and not swept:
            rc = _run_sweep(self._ptr)
        while rc == 1:  # stopped at a checkpointed loop: reverse it, then go on
            self._reverse_loop()
            rc = _run_sweep(self._ptr)
        if rc == -2 and lib.ba_tape_swept(self._ptr):  # it finished just before an interrupt
            rc = 0
        if rc == -4:  # cancelled between two records: backward continues it
            raise KeyboardInterrupt
        if rc == -3:
            self._state = "stopped" if self._replay else "consumed"  # (a replay records anew)
            raise RuntimeError(
                f"Tape(check=True): {lib.ba_tape_tampered(self._ptr)} value(s) the reverse sweep needs were "
                "changed outside blasad (e.g. by a NumPy write) after they were recorded; the gradient "
                "would be wrong, so no adjoint was computed"
            )
        if rc == -1:
            raise MemoryError(_OUT_OF_MEMORY)
        if rc != 0:
            raise RuntimeError("this tape was already consumed by backward()")
        self._swept()
        for reason in _INVALID:
            if lib.ba_tape_invalid(self._ptr, reason):
                raise np.linalg.LinAlgError(_INVALID[reason])
        _debug_step("swept")

    def _swept(self) -> None:
        """The state after a sweep that ran to its end."""
        if self._replay:  # kept for the next backward or replay
            self._state = "swept"
            self._seeded = None
        else:
            self._state = "consumed"
            self._keep.clear()

    def _reverse_loop(self) -> None:
        """The adjoint of the checkpointed loop the sweep stopped at (it re-runs the loop's steps,
        not to be cut in two: Ctrl-C waits for its end). A step that raises ends the tape."""
        loop = self._loops[lib.ba_tape_paused(self._ptr)]
        try:
            with _interrupts_deferred():
                loop.reverse()
        except BaseException:
            self._state = "consumed"
            self._seeded = None
            raise

    def grad(self, x: np.ndarray) -> np.ndarray:
        """Adjoint of x's value at the time it was watched (a new array)."""
        if self._state == "consumed" or self._state == "swept":  # (the common case natively)
            made = _native_grad(self._address, x)
            if made is not None:
                return made  # type: ignore[no-any-return]
        self._same_thread("grad()")
        done = self._state in ("consumed", "swept")
        if not done and self._seeded is not None and lib.ba_tape_swept(self._ptr):
            # the sweep ended, and an interrupt came before backward returned
            self._state = "swept" if self._replay else "consumed"
        if self._state not in ("consumed", "swept"):
            raise RuntimeError("grad() is available after backward()")
        x = _check_float_array(x, "x", distinct=False)
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
    def nbytes(self) -> int:
        """Bytes the tape holds now: its records, the values it copied (copy-on-write and the
        snapshots of checkpointed loops), the shadows and its tables."""
        shadows = sum(d.nbytes for d in self._regions._shadows.values() if d is not None)
        loops = sum(loop.nbytes() for loop in self._loops)
        lists = 8 * (len(self._keep) + len(self._bases))
        return int(lib.ba_tape_nbytes(self._ptr)) + shadows + loops + lists

    @property
    def bytes_copied(self) -> int:
        """Bytes the tape copied because a later call overwrote a value it needs."""
        return int(lib.ba_tape_bytes_copied(self._ptr))


def shadow_pool(max_bytes: int | None = None) -> int:
    """Bytes of freed shadow memory kept for later tapes; max_bytes sets the bound (256 MiB at
    start) and frees what exceeds it, so ``shadow_pool(0)`` releases it all.

    The tape makes the shadows (adjoint buffers) of the arrays it tracks from blocks of this
    pool, and its big buffers too (copies of overwritten inputs and the reverse sweep's scratch,
    from 256 KiB), and gives them back when it is freed; a big array ``grad`` returns (from
    256 KiB) is a block too, given back when the array goes. A program recorded again and again
    reuses them instead of faulting in fresh pages each time."""
    bad = isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0
    if max_bytes is not None and bad:
        raise ValueError(f"max_bytes must be an integer ≥ 0 (or None), got {max_bytes!r}")
    return int(lib.ba_shadow_pool(-1 if max_bytes is None else max_bytes))


class Duplicated:
    """An active argument of autodiff: x with its shadow dx (same shape and dtype).

    On entry dx seeds x's final value; on exit it holds d loss / d x's initial value.
    """

    __slots__ = ("dx", "x")

    def __init__(self, x: np.ndarray, dx: np.ndarray) -> None:
        if not _native_duplicated(x, dx):  # (the common case passes at once)
            _check_duplicated(x, dx)
        self.x, self.dx = x, dx


def _check_duplicated(x: Any, dx: Any) -> None:
    """Duplicated(x, dx)'s checks, each with its message."""
    _check_float_array(x, "Duplicated x")
    _check_float_array(dx, "Duplicated dx")
    if dx.shape != x.shape:
        raise ValueError(f"Duplicated: dx has shape {dx.shape}, expected {x.shape} (the shape of x)")
    if dx.dtype != x.dtype:
        raise TypeError(f"Duplicated: dx has dtype {dx.dtype}, expected {x.dtype} (the dtype of x)")
    if not dx.flags.writeable:
        raise ValueError("Duplicated: dx is read-only; it receives the adjoint")
    pair = [x, dx]  # (alive during the call: it is passed by id)
    if not lib.ba_arrays_disjoint(id(pair)) and np.shares_memory(x, dx):
        raise ValueError("Duplicated: dx shares memory with x")


class BatchDuplicated:
    """An active argument of forward-mode autodiff with B tangents at once: dxs has shape
    (B, *x.shape) and x's dtype; on entry dxs[b] is the b-th tangent of x's initial value, on
    exit that of its final value."""

    __slots__ = ("dxs", "x")

    def __init__(self, x: np.ndarray, dxs: np.ndarray) -> None:
        _check_float_array(x, "BatchDuplicated x")
        _check_float_array(dxs, "BatchDuplicated dxs")
        if dxs.ndim != x.ndim + 1 or dxs.shape[1:] != x.shape:
            raise ValueError(
                f"BatchDuplicated: dxs has shape {dxs.shape}, expected (B, {', '.join(map(str, x.shape))}) "
                "(a batch of tangents of x's shape)"
            )
        if dxs.dtype != x.dtype:
            raise TypeError(f"BatchDuplicated: dxs has dtype {dxs.dtype}, expected {x.dtype} (x's dtype)")
        if not dxs.flags.writeable:
            raise ValueError("BatchDuplicated: dxs is read-only; it receives the tangents")
        if np.shares_memory(x, dxs):
            raise ValueError("BatchDuplicated: dxs shares memory with x")
        self.x, self.dxs = x, dxs


class Const:
    """A constant argument of autodiff: no adjoint, no adjoint work."""

    __slots__ = ("x",)

    def __init__(self, x: Any) -> None:
        self.x = x


def _role(i: int, role: int) -> str:
    return (f"argument {i} (Duplicated x)", f"argument {i}'s shadow dx", f"argument {i} (constant)")[role]


_RUN_FORWARD: list[Callable[[Callable[..., Any], tuple[Any, ...]], Any]] = []  # [blasad._forward.run_forward]


def autodiff(f: Callable[..., Any], *args: Any, check: bool = False, mode: str = "reverse") -> Any:
    """Run f(*primals) and its reverse sweep, Enzyme style; returns f's result.

    Each ``Duplicated(x, dx)`` is active: dx seeds x's final value on entry and holds
    d loss / d x's initial value on exit, for loss = Σ ⟨dx_entry, x_final⟩.
    ``Const(x)`` and plain values are constants. check=True: see Tape.

    mode="forward": ẋ_final = J ẋ_initial. dx holds the tangent of x's initial value on entry
    and that of its final value on exit; ``BatchDuplicated(x, dxs)`` carries dxs.shape[0]
    tangents at once. Nothing is recorded (blasad._forward).
    """
    if mode == "forward":
        if not _RUN_FORWARD:  # (blasad._forward imports this module: imported on first use)
            from blasad._forward import run_forward

            _RUN_FORWARD.append(run_forward)
        return _RUN_FORWARD[0](f, args)
    if mode != "reverse":
        raise ValueError(f"autodiff: mode must be 'reverse' or 'forward', got {mode!r}")
    if not check:  # the common case natively (csrc/fast.c py_autodiff), else _FALLBACK
        result = _native_autodiff(f, args)
        if result is not _FALLBACK:
            return result
    if any(isinstance(a, BatchDuplicated) for a in args):
        raise ValueError("autodiff: BatchDuplicated carries tangents: it needs mode='forward'")
    tape = Tape(check=check)
    primals: list[Any] = []
    hooks: list[Callable[[], None]] = []
    # every pair of arrays among the arguments: a shadow shares memory with nothing else (another
    # argument's primal or shadow, a constant's array), and two primals do not overlap
    arrays = []  # (argument index, array, role: 0 Duplicated x, 1 its shadow dx, 2 a constant)
    for i, a in enumerate(args):
        if isinstance(a, Duplicated):
            arrays += [(i, a.x, 0), (i, a.dx, 1)]
        elif isinstance(a, Const | np.ndarray):
            x = a.x if isinstance(a, Const) else a
            if isinstance(x, np.ndarray):
                arrays.append((i, x, 2))
    every = [x for _, x, _ in arrays]  # (alive during the call: it is passed by id)
    disjoint = len(every) < 2 or lib.ba_arrays_disjoint(id(every))
    for j, (ib, b, rb) in enumerate([] if disjoint else arrays):  # (byte spans apart: no pair shares)
        for ia, a, ra in arrays[:j]:  # a shadow with anything, two primals (not a constant)
            checked = 1 in (ra, rb) or (ra != 2 and rb != 2)
            if checked and np.may_share_memory(a, b) and np.shares_memory(a, b):
                hint = "" if 1 in (ra, rb) else ": pass the base once and take views in f"
                raise ValueError(f"autodiff: {_role(ib, rb)} shares memory with {_role(ia, ra)}{hint}")
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
    tape._sweep(lib.ba_tape_prepare(tape._ptr))
    for hook in hooks:
        hook()
    return result


# -- the native autodiff call's side (csrc/fast.c py_autodiff) ------------------------------------


def _adopt(address: int, owner: Any, keep: list[np.ndarray], bases: list[np.ndarray]) -> Tape:
    """The Tape object of the native autodiff call running on this thread, which Python code asked
    for while f runs: over its native tape (which it owns from now on) and its lists, recording.
    (The regions of the Duplicated arguments, dx over x, are in the native table; the call holds
    its arguments, so x and dx outlive its sweep.)"""
    tape = Tape.__new__(Tape)
    tape._setup(address, owner, keep, bases)
    tape._state = "recording"
    tape._owner = threading.get_ident()
    thread_local.tape = tape
    return tape


def _end_adopted(tape: Tape, ok: bool) -> None:
    """The end of a native autodiff call whose Tape object _adopt made: as the Python path ends."""
    tape.__exit__()
    if ok:
        tape._sweep(lib.ba_tape_prepare(tape._ptr))


def _sweep_failed(rc: int, reason: int) -> None:
    """Raise what a native autodiff call's sweep ended with: rc < 0, or its adjoints invalid."""
    if rc == -1:
        raise MemoryError(_OUT_OF_MEMORY)
    if rc:
        raise RuntimeError(f"blasad: the reverse sweep failed in the native core (code {rc})")
    raise np.linalg.LinAlgError(_INVALID[reason])


_FALLBACK = object()  # py_autodiff's answer when the call is not its common case
_box: list[Any] = [Duplicated, Const, BatchDuplicated, _FALLBACK, _adopt, _end_adopted, _sweep_failed]
if lib.ba_autodiff_init(id(_box)):
    raise ImportError("blasad: the native core could not set up autodiff (NumPy's C API)")
(  # csrc/fast.c's autodiff_methods
    _native_autodiff,
    _native_tape,
    _native_duplicated,
    _native_tape_new,
    _native_enter,
    _native_leave,
    _native_grad,
    _native_watch,
    _native_backward,
    _native_forward,
    _native_pool_chunks,
) = _box[7:]
