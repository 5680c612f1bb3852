"""Long loops in bounded memory: checkpoint_loop and its binomial (revolve) schedule.

A loop ``for i in range(n): step(i)`` inside a recording keeps every state the reverse sweep
needs. ``checkpoint_loop`` runs it with at most k snapshots of what the steps overwrite instead:
during the forward it records each step and drops the records again (which also learns what a
step writes), keeping snapshots where revolve's schedule puts them; a barrier record stands for
the loop on the tape. When the reverse sweep reaches the barrier it stops, and this module
reverses the loop: restore a snapshot, advance without recording, and for each step in turn
(last first) record it, sweep its records, drop them (Griewank & Walther's binomial
checkpointing, ACM TOMS 26(1), 2000).

The state of step i is every range of memory the steps write (found by the tape's
copy-on-write hook, with its value from before the loop first wrote it); arrays a step
allocates and drops are its own, as are active scalars it computes. What the steps only read
stays in place, protected by the barrier: a later call that overwrites it copies it first.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from math import comb
from typing import Any, cast

import numpy as np

from blasad._lowering import INFO
from blasad._native_loader import ffi, lib
from blasad._tape import Tape, _is_scalar, current_tape, extent, thread_local

_ALL = 2**62  # "before" every step: all the written ranges


def _beta(s: int, r: int) -> int:
    """β(s, r) = C(s + r, s): the most steps s snapshots reverse with r re-runs of each step."""
    return comb(s + r, s) if r >= 0 else 0


def _reps(n: int, s: int) -> int:
    """The least r with β(s, r) ≥ n."""
    r = 0
    while _beta(s, r) < n:
        r += 1
    return r


def revolve_advances(n: int, snapshots: int) -> int:
    """t(n, s) = r n − β(s + 1, r − 1): the fewest step evaluations (besides the n recorded ones)
    that reverse n steps with s snapshots, the first of them the initial state (Griewank)."""
    if n <= 1:
        return 0
    if snapshots == 1:
        return n * (n - 1) // 2
    r = _reps(n, snapshots)
    return r * n - _beta(snapshots + 1, r - 1)


def split(n: int, s: int) -> int:
    """Where to put the next snapshot, m steps on (n ≥ 2, s ≥ 2): the largest m with
    m + t(n − m, s − 1) + t(m, s) = t(n, s) (the optimal m form the interval
    [max(β(s, r − 2), n − β(s − 1, r)), min(β(s, r − 1), n − β(s − 1, r − 1))])."""
    r = _reps(n, s)
    return min(_beta(s, r - 1), n - _beta(s - 1, r - 1))


def _descent(n: int, k: int) -> list[int]:
    """The steps before which the forward keeps a snapshot: the schedule's first descent."""
    lo, s, at = 0, k, []
    while n - lo > 1 and s > 1:
        lo += split(n - lo, s)
        s -= 1
        at.append(lo)
    return at


class _Recording:
    """Make tape the one recording on this thread (None: none) for a block, then put back the
    one that was."""

    def __init__(self, tape: Tape | None) -> None:
        self.tape = tape
        self.prev: Tape | None = None

    @staticmethod
    def _set(tape: Tape | None) -> None:
        thread_local.tape = tape
        if tape is None:
            lib.ba_fast_set_tape(ffi.NULL, 0)
        else:
            lib.ba_fast_set_tape(tape._ptr, id(tape._keep))

    def __enter__(self) -> None:
        self.prev = thread_local.tape
        self._set(self.tape)

    def __exit__(self, *exc: object) -> None:
        self._set(self.prev)


def _merged(spans: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of byte spans as disjoint spans, in address order."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


class _Loop:
    """One checkpointed loop on a tape: its step function, its written ranges (a native ckpt)
    and its snapshots, by the step they come before."""

    def __init__(self, tape: Tape, step: Callable[[int], Any], n: int, k: int) -> None:
        self.tape, self.step, self.n, self.k = tape, step, n, k
        ck = lib.ba_ckpt_new()
        if ck == ffi.NULL:
            raise MemoryError("blasad: could not allocate a checkpointed loop")
        self.ck = ffi.gc(ck, lib.ba_ckpt_free)
        self.snaps: dict[int, np.ndarray] = {}
        self.reads: set[tuple[int, int]] = set()  # byte spans the steps read (or write)
        self.at: int | None = None  # the step whose state the arrays hold, when known
        self.advances = self.recorded = 0  # step evaluations, for tests and reports
        self.peak = 0  # the most bytes of snapshots held at once (the final values' included)
        # what the steps use: bases by id (a weak reference, lo, hi), the arrays that outlive a
        # step by id (their bases are among those), the owners of the regions a step made
        self.bases: dict[int, tuple[Any, int, int]] = {}
        self.known: dict[int, Any] = {}
        self.owners: dict[int, int] = {}
        self.log: Any = None  # the calls of steps log_from.. (each made the same ones), or None
        self.log_from = n
        # the forward compares the log's run of a step with the step's own, for the first step
        # that made the log's calls again and for the last: a step that writes outside blasad
        # (a NumPy write, which the log does not hold) turns native re-runs off (-1)
        self.checks = 2

    # -- the state ------------------------------------------------------------------
    def nbytes(self) -> int:
        """Bytes of the written ranges' first values and the snapshots."""
        return int(lib.ba_ckpt_w0_bytes(self.ck)) + sum(s.nbytes for s in self.snaps.values())

    def _take(self, i: int) -> None:
        """A snapshot of the state before step i: the ranges first written before it."""
        buf = np.empty(int(lib.ba_ckpt_bytes(self.ck, i)), np.uint8)
        lib.ba_ckpt_save(self.ck, i, buf.ctypes.data)
        self.snaps[i] = buf
        self.peak = max(self.peak, self.nbytes())

    def _restore(self, i: int) -> None:
        """The state before step i, from its snapshot (i = 0: the values from before the loop)."""
        if self.at != i:
            buf = self.snaps.get(i)
            lib.ba_ckpt_load(self.ck, i, 0 if buf is None else buf.ctypes.data)
            self.at = i

    # -- running steps ----------------------------------------------------------------
    def _replayable(self, i: int) -> bool:
        return self.log is not None and i >= self.log_from

    def _native(self, i: int, times: int, tape: Any) -> None:
        """Steps i.. (times of them) from the log of their calls, in C (tape: recorded on it)."""
        rc = lib.ba_log_run(self.log, tape, times)
        if rc >= INFO:
            raise np.linalg.LinAlgError(f"checkpoint_loop: a LAPACK call of step {i} failed when re-run")
        if rc:
            raise RuntimeError(f"blasad: re-running step {i} failed in the native core (code {rc})")

    def _advance(self, lo: int, hi: int) -> None:
        """Steps lo..hi-1, not recorded: the state before hi."""
        if hi <= lo:
            return
        if self._replayable(lo):
            self._native(lo, hi - lo, ffi.NULL)
        else:
            with _Recording(None):
                for i in range(lo, hi):
                    self.step(i)
        self.advances += hi - lo
        self.at = hi if self.at == lo else None

    def _run(self, i: int, learn: bool) -> None:
        """step(i) recorded, then dropped again: learn (the forward), noting what it writes and
        reads and logging its calls; else (the reverse sweep) with its records swept first."""
        t, tape = self.tape._ptr, self.tape
        pos, keep_at, regions_at = lib.ba_tape_ncalls(t), len(tape._keep), lib.ba_tape_region_seq(t)
        bases_at = len(tape._bases)
        pool = (lib.ba_tape_pool_base(t), lib.ba_tape_pool_used(t))
        noted = lib.ba_ckpt_n(self.ck)
        self.at = None
        last = self.checks == 1 and i == self.n - 1
        check = learn and self.log is not None and (self.checks == 2 or last)
        if check:  # the log's run of step i, to compare with the step's own
            before = self._state()
            self._native(i, 1, ffi.NULL)
            natively = self._state()
            lib.ba_ckpt_load(self.ck, _ALL, before.ctypes.data)
        if learn:
            lib.ba_ckpt_set_step(self.ck, i)
            if lib.ba_tape_log_begin(t):
                raise MemoryError("blasad: out of memory while recording a checkpointed loop")
            try:
                self.step(i)
            finally:
                log = ffi.gc(lib.ba_tape_log_end(t), lib.ba_log_free)
        elif self._replayable(i):  # no Python: no arrays to keep, no regions, no scalar slots taken
            self._native(i, 1, t)
            self.recorded += 1
            rc = lib.ba_tape_sweep_from(t, pos)
            lib.ba_tape_truncate(t, pos)
            if rc:
                raise MemoryError("blasad: out of memory for the reverse sweep's scratch buffer")
            return
        else:
            with _Recording(tape):
                self.step(i)
        if not learn:
            self.recorded += 1
            if lib.ba_tape_sweep_from(t, pos):
                raise MemoryError("blasad: out of memory for the reverse sweep's scratch buffer")
        lib.ba_tape_truncate(t, pos)
        own = self._settle(keep_at, bases_at, regions_at, pool, noted if learn else -1)
        if not learn:
            return
        # the log re-runs steps natively from the first of a run of steps that made the same calls
        # on arrays that outlive them (no array of their own: its memory is gone)
        if self.checks < 0:  # turned off
            return
        if own:
            self.log, self.log_from = None, i + 1
        elif self.log is None or not lib.ba_log_same(self.log, log):
            self.log, self.log_from = log, i
        elif check:
            self.checks -= 1
            if not np.array_equal(natively, self._state()):  # the step writes outside blasad
                self.log, self.log_from, self.checks = None, self.n, -1

    def _state(self) -> np.ndarray:
        """The values of every range written so far, packed."""
        buf = np.empty(int(lib.ba_ckpt_bytes(self.ck, _ALL)), np.uint8)
        lib.ba_ckpt_save(self.ck, _ALL, buf.ctypes.data)
        return buf

    def _let_go(
        self, keep_at: int, bases_at: int, new: list[int], reads: bool
    ) -> tuple[list[int], list[tuple[int, Any]]]:
        """Drop the tape's references to what the step used (the arrays kept from keep_at on,
        the bases of the regions it made, `new`, from bases_at on), noting each one's base (an id,
        with a weak reference and its byte span, in self.bases) and the new regions' owners;
        returns the ids of the bases to look at (reads: those of the arrays not seen before;
        the new regions' owners) and weak references to the arrays not seen before. The strong
        references end with this function."""
        tape = self.tape
        kept = tape._keep[keep_at:]
        del tape._keep[keep_at:]
        bases: dict[int, Any] = {}
        seen: list[tuple[int, Any]] = []
        if reads:
            known = self.known
            pools = {id(raw) for _, _, raw in tape._pool_chunks.values()}
            for obj in kept:
                w = known.get(id(obj))
                if w is not None and w() is obj:
                    continue  # an array seen before, alive: its base is known
                a: Any = cast(Any, obj)._a if _is_scalar(obj) else obj
                if not isinstance(a, np.ndarray):
                    continue
                r = a
                while isinstance(r.base, np.ndarray):
                    r = r.base
                if id(r) not in pools:
                    bases[id(r)] = r
                    seen.append((id(a), weakref.ref(a)))
        made = tape._bases[bases_at:]
        del tape._bases[bases_at:]
        if new:  # the tape kept each new region's base (its lowest byte, the region's lo)
            where = set(new)
            for obj in made:
                lo = extent(obj)[0]
                if lo in where:
                    self.owners[lo] = id(obj)
                    bases[id(obj)] = obj
        for rid, r in bases.items():
            b = self.bases.get(rid)
            if b is None or b[0]() is not r:
                self.bases[rid] = (weakref.ref(r), *extent(r))
        return list(bases), seen

    def _settle(
        self, keep_at: int, bases_at: int, regions_at: int, pool: tuple[int, int], noted: int
    ) -> bool:
        """After a step's records are dropped: let go of what the step allocated (the arrays the
        tape kept, their shadow regions, the scalar slots), and (noted ≥ 0, the forward) keep
        the written ranges and read spans of arrays that outlive the step. Returns whether the
        step used arrays of its own (that did not outlive it)."""
        tape, t = self.tape, self.tape._ptr
        regions = tape._regions
        new = [lo for lo in regions.since(regions_at) if lo not in tape._pool_chunks]
        used, seen = self._let_go(keep_at, bases_at, new, noted >= 0)
        dead = {rid for rid in used if self.bases[rid][0]() is None}
        self.known.update((aid, w) for aid, w in seen if w() is not None)
        for rid in dead:
            del self.bases[rid]
        for lo in new:  # a region of an array that outlives the step stays, with its shadow
            rid = self.owners.pop(lo, -1)  # (-1: the tape keeps its base elsewhere)
            if rid in dead:
                lib.ba_tape_remove_region(t, lo)
                regions._shadows.pop(lo, None)
                regions._keep.pop(lo, None)
            elif rid >= 0:
                tape._bases.append(self.bases[rid][0]())
        base = lib.ba_tape_pool_base(t)
        lib.ba_tape_pool_rewind(t, base, pool[1] if base == pool[0] else 0)
        if noted < 0:
            return bool(dead)
        self.reads.update(self.bases[rid][1:] for rid in used if rid not in dead)
        if lib.ba_ckpt_n(self.ck) == noted:
            return bool(dead)
        live = [b[1:] for b in self.bases.values() if b[0]() is not None]
        pools = [(a, b) for a, b, _ in tape._pool_chunks.values()]
        lohi = ffi.new("intptr_t[2]")
        for j in range(int(lib.ba_ckpt_n(self.ck)) - 1, noted - 1, -1):
            lib.ba_ckpt_span(self.ck, j, ffi.cast("intptr_t", lohi))
            lo, hi = lohi[0], lohi[1]
            if not any(a <= lo and hi <= b for a, b in live) or any(a <= lo < b for a, b in pools):
                lib.ba_ckpt_drop(self.ck, j)  # an array of the step's own, or a scalar slot
        return bool(dead)

    # -- the two sweeps -------------------------------------------------------------------
    def forward(self) -> None:
        """Run the loop, keeping the snapshots of the schedule's first descent."""
        t = self.tape._ptr
        at = set(_descent(self.n, self.k))
        lib.ba_tape_set_ckpt(t, self.ck)
        lib.ba_tape_set_keep_all(t, 1)
        try:
            for i in range(self.n):
                if i in at:
                    self._take(i)
                self._run(i, learn=True)
        finally:
            lib.ba_tape_set_ckpt(t, ffi.NULL)
            lib.ba_tape_set_keep_all(t, 0)
        self.peak = max(self.peak, self.nbytes())

    def reverse(self) -> None:
        """The loop's adjoint, when the sweep stopped at its barrier: the arrays get the values
        the loop read, the steps are reversed on the schedule, and the final values come back."""
        t = self.tape._ptr
        final = self._state()  # the (k + 1)-th snapshot
        self.peak = max(self.peak, self.nbytes() + final.nbytes)
        lib.ba_tape_paused_swap(t)
        self.at = None
        try:
            self._reverse(0, self.n, self.k)
        finally:
            lib.ba_ckpt_load(self.ck, _ALL, final.ctypes.data)
            lib.ba_tape_paused_swap(t)
            self.snaps.clear()

    def _reverse(self, lo: int, hi: int, s: int) -> None:
        """Reverse steps lo..hi-1, given the state before lo (a snapshot, or the loop's start)
        and s snapshots counting that one."""
        while hi > lo:
            if hi - lo == 1 or s == 1:
                for i in range(hi - 1, lo - 1, -1):
                    self._restore(lo)
                    self._advance(lo, i)
                    self._run(i, learn=False)
                return
            m = lo + split(hi - lo, s)
            if m not in self.snaps:
                self._restore(lo)
                self._advance(lo, m)
                self._take(m)
            self._reverse(m, hi, s - 1)
            del self.snaps[m]
            hi = m


def checkpoint_loop(step: Callable[[int], Any], n: int, snapshots: int) -> None:
    """for i in range(n): step(i), differentiated with at most `snapshots` snapshots of state.

    Inside a recording (a ``Tape`` or ``autodiff``), the reverse sweep re-runs steps on the
    binomial (revolve) schedule of Griewank and Walther instead of keeping every state: memory
    stays at the snapshots plus one step's records, independent of n, and the gradient is the
    fully taped loop's. ``step(i)`` makes blasad calls on arrays it closes over; the state is
    what the steps write (found by the tape, not declared). Arrays and active scalars a step
    creates are its own: keep values that pass from step to step in arrays made outside the
    loop (a Python variable a step rebinds is not restored). Re-runs assume that step(i), run
    again on the same values, makes the same calls. After backward the arrays hold the
    program's final values. Outside a recording it is the plain loop.

    Example::

        def step(i):
            ba.gemv(h, A, x, 1.0, x)      # x ← x + h A x

        with ba.Tape() as tape:
            tape.watch(A, x)
            ba.checkpoint_loop(step, 1000, snapshots=20)
    """
    if not callable(step):
        raise TypeError(f"step must be a function of the step index, got {type(step).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an integer ≥ 0 (the number of steps), got {n!r}")
    if isinstance(snapshots, bool) or not isinstance(snapshots, (int, np.integer)) or snapshots < 1:
        raise ValueError(f"snapshots must be an integer ≥ 1 (the initial state counts), got {snapshots!r}")
    n, k = int(n), int(snapshots)
    tape = current_tape()
    if tape is None:
        for i in range(n):
            step(i)
        return
    if tape._replay:
        raise RuntimeError("checkpoint_loop inside Tape(replay=True) is not supported; use a plain Tape")
    if tape._in_loop:
        raise RuntimeError("checkpoint_loop inside a checkpointed step is not supported")
    if n == 0:
        return
    loop = _Loop(tape, step, n, k)
    tape._in_loop = True
    try:
        loop.forward()
        spans = _merged(loop.reads)
        lohi = np.array(spans, np.int64).reshape(-1, 2)
        if lib.ba_tape_barrier(tape._ptr, len(tape._loops), len(spans), lohi.ctypes.data):
            raise MemoryError("blasad: out of memory while recording a checkpointed loop")
    except BaseException as e:  # the steps that ran left no record: a gradient would miss them
        tape._broken = f"a checkpoint_loop raised {type(e).__name__} while it recorded"
        raise
    finally:
        tape._in_loop = False
    tape._loops.append(loop)
