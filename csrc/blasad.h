/* blasad native API.
 *
 * This header is read twice: by the C compiler, and by cffi's cdef, which takes
 * plain declarations only (no preprocessor guards, no macros). Keep it that way.
 *
 * Conventions shared by every entry point:
 *   - dtype: 0 = float32 (s), 1 = float64 (d), 2 = complex64 (c), 3 = complex128 (z).
 *   - trans flags as bits: 0 = N, 1 = T, 3 = C (conjugate transpose), 2 = conjugate
 *     without transpose; bit 0 transposes, bit 1 conjugates (ignored for real types).
 *   - Matrices are column-major: element (i, j) at p + (i + j*ld)*itemsize, ld >= max(1, rows).
 *   - Vectors: the pointer of logical element 0 and a signed inc (NumPy's convention,
 *     not BLAS's lowest-address one; the C side converts).
 *   - A pointer is passed as intptr_t; 0 means "absent". A `*_bar` pointer is the
 *     shadow (adjoint buffer) of the argument with the same layout; 0 = inactive.
 *   - t == NULL runs the plain BLAS call. With a tape, every call is checked for
 *     copy-on-write (it may overwrite values the tape saved by reference), and it is
 *     recorded when its output is active (out_bar != 0).
 *   - Return value: 0 on success, -1 when memory for the tape could not be allocated;
 *     in that case nothing was written.
 */
typedef struct ba_tape ba_tape;

ba_tape *ba_tape_new(void);
void ba_tape_free(ba_tape *t);
/* The reverse sweep, newest call first; it consumes the tape. backward = prepare, then
 * sweep. prepare does all that can fail, and changes no array: it verifies
 * the saved inputs (check mode) and allocates the sweep's scratch; 0, or -1 out of memory,
 * -2 consumed, -3 tampered (see check mode). After it returned 0, sweep cannot fail
 * (-2: the tape is consumed or was not prepared). */
int ba_tape_prepare(ba_tape *t);
int ba_tape_sweep(ba_tape *t);
/* Stop a running sweep (from another thread) before its next record: ba_tape_sweep returns -4
 * and, called again, continues where it stopped. swept: 1 once a sweep ran to the end. */
void ba_tape_cancel(ba_tape *t);
int ba_tape_swept(ba_tape *t);
int ba_tape_backward(ba_tape *t);
int64_t ba_tape_ncalls(ba_tape *t);
int64_t ba_tape_bytes_copied(ba_tape *t);
int64_t ba_tape_bytes_referenced(ba_tape *t);

/* Check mode: checksum every input the sweep reads by reference when it is recorded,
 * and verify it before it is copied and before the sweep. backward returns -3 (and
 * sweeps nothing) when a value changed outside blasad. */
void ba_tape_set_check(ba_tape *t, int on);
int64_t ba_tape_tampered(ba_tape *t);
/* How many times the reverse sweep found its adjoints invalid for a reason: 1, a nonzero adjoint
 * on the output of a LAPACK call that failed (info > 0), values no rule differentiates; 2, a
 * loss that depends on the phase of a complex eigen- or singular vector (not defined by A). */
int64_t ba_tape_invalid(ba_tape *t, int reason);

/* Checked builds (BLASAD_CHECKED=1 at build time): every CBLAS call checks that its
 * operands' footprints lie inside the arrays allowed for the current call (reset, then
 * allow each array's byte span [lo, hi)); the reverse sweep allows each record's own
 * arrays. violations: how many checks failed so far (-1: not a checked build); last:
 * a description of the latest one. */
void ba_checked_reset(void);
void ba_checked_allow(intptr_t lo, intptr_t hi);
int64_t ba_checked_violations(void);
const char *ba_checked_last(void);

/* Testing: make the n-th next allocation of any tape fail (n = 0: the next one);
 * a negative n turns injection off. */
void ba_debug_fail_after(int64_t n);

/* Shadow regions: bytes [lo, hi) of user memory have their shadow at shadow_lo.
 * Regions never overlap; the Python side allocates the shadows and registers them.
 * add_region: 0, -1 out of memory, -2 it overlaps a region (nothing registered).
 * shadow: the shadow address of byte ptr; region: the lo of its region (0: none). */
int ba_tape_add_region(ba_tape *t, intptr_t lo, intptr_t hi, intptr_t shadow_lo);
intptr_t ba_tape_shadow(ba_tape *t, intptr_t ptr);
intptr_t ba_tape_lookup(ba_tape *t, intptr_t p, intptr_t lo, intptr_t hi);
intptr_t ba_tape_region(ba_tape *t, intptr_t ptr);
/* Was the region holding byte ptr written by a call recorded on the tape? (1 or 0) */
int ba_tape_written(ba_tape *t, intptr_t ptr);

/* The spec routines' entries, ba_<name> in the signature blasad/_lowering.py documents, are
 * generated from the specs at build time (routines.h, tools/gen/entries.py). The entries
 * below are written by hand. */

/* Not a spec routine (not differentiable, never recorded): the 0-based index of the first
 * element with the largest |Re x_i| + |Im x_i| (x: logical element 0, NumPy's signed inc);
 * -1 when n = 0. */
int64_t ba_iamax(int dtype, int64_t n, intptr_t x, int64_t incx);

/* dst <- src for a rows x cols array with signed element strides (rs, cs) on
 * both sides; used to stage layouts BLAS cannot address (negative or doubly
 * non-unit strides) through a packed buffer, with the adjoint flowing back. */
int ba_copy2d(ba_tape *t, int dtype, int64_t rows, int64_t cols,
              intptr_t src, int64_t src_rs, int64_t src_cs, intptr_t src_bar,
              intptr_t dst, int64_t dst_rs, int64_t dst_cs, intptr_t dst_bar);

/* Replay (DESIGN §8). A replay tape logs every call made while it records (its entry and its
 * arguments as words), and ba_tape_replay runs them all again, natively, on the arrays' current
 * values: its records are made anew (copy-on-write redone). Its sweep does not consume it, and
 * prepare zeroes every shadow first, so that each backward gives that backward's gradient.
 * set_replay: 0, or -1 out of memory. entry_index: the index of a spec routine by name, or of
 * "copy2d" and "scalar_op". entry: routine r with its arguments after (t, dtype, order) as nw
 * words in the entry's order (copy2d: ba_copy2d's after dtype; scalar_op: op, dz, z, z_bar,
 * x re, x im, dx, x_bar, y re, y im, dy, y_bar); src: the read scalars whose values a replay
 * reads again (the word of the real part, the dtype code, the 0-d array's address). It returns
 * the entry's rc (-2: no such entry); on a replay tape, a call that ran (0, or BA_INFO + info)
 * is logged, and -1 means the log could not grow (nothing ran).
 * replay: 0; -1 out of memory (the records are half made: replay again); -2 not a replay tape;
 * BA_INFO + info for the first LAPACK call that failed (the later calls ran, as they did when
 * recorded; replay_failed: that call's entry index). log_bytes: the log's size. */
typedef union { int64_t i; double x; } ba_word;
typedef struct { int32_t word, dtype; intptr_t p; } ba_src;
int ba_tape_set_replay(ba_tape *t);
int ba_entry_index(const char *name);
int ba_entry(ba_tape *t, int r, int dtype, int order, const ba_word *w, int64_t nw, const ba_src *src, int64_t nsrc);
int ba_tape_replay(ba_tape *t);
int ba_tape_replay_failed(ba_tape *t);
int64_t ba_tape_log_bytes(ba_tape *t);
/* The arrays of the keep list (by id; a blasad.Scalar: its buffer) and n (data, size) pairs at
 * pins: check 0 writes them (at the end of a replay tape's recording); 1 returns the index of
 * the first array that changed since (a resize with refcheck=False), or -1. */
int64_t ba_keep_pins(intptr_t list, intptr_t pins, int64_t n, int check);

/* Checkpointed loops (DESIGN §9; the schedule: blasad/_checkpoint.py). A loop's steps are
 * recorded and their records dropped again (truncate: every record from position pos on, with
 * its snapshots; a position is ncalls at the time). sweep_from runs the adjoints of the records
 * from pos on, newest first (0, or -1 out of memory for its scratch). A barrier record stands for
 * the loop on the tape: it references the n byte spans (lo, hi pairs at spans) the steps read, so
 * that later calls that overwrite them copy them first; the sweep stops at it and returns 1, with
 * paused its id, and paused_swap exchanges the copied spans' values with the arrays' (the loop's
 * reverse sweep reads the values the loop read; a second swap puts the final values back).
 * A ckpt (set on the tape for the loop's forward) notes every range written, with its value
 * before the first write and the step that first wrote it (set_step); n, span (lo, hi into
 * lohi) and drop go over those ranges; bytes, save and load pack and unpack the state before a
 * step `before`: save the ranges first written before it; load puts back those and, for the
 * later ones, their values from before their first write. keep_all: the fast paths keep every
 * operand of a call (the loop learns from them which arrays outlive a step). pool_base,
 * pool_used and pool_rewind give back the scalar slots a step took (their values and shadows
 * zeroed). remove_region: the region starting at lo (0, or -1: none). nbytes: the tape's
 * memory (records, snapshots, tables, scratch, log); the shadows are the front end's. */
/* A step's calls as a log (DESIGN §8's): log_begin starts logging the calls made on a tape that
 * is not a replay tape (0; -1 out of memory; -2 it is one), log_end stops and returns the log;
 * log_run runs the logged calls `times` times over on tape t (NULL: not recorded), reading the
 * scalars held in 0-d arrays anew (0, BA_INFO + info for the first LAPACK call that failed, or
 * another entry's error); log_same: two logs of the same calls on the same arrays. */
typedef struct ba_log ba_log;
int ba_tape_log_begin(ba_tape *t);
ba_log *ba_tape_log_end(ba_tape *t);
int ba_log_run(ba_log *log, ba_tape *t, int64_t times);
int ba_log_same(const ba_log *a, const ba_log *b);
int64_t ba_log_nbytes(const ba_log *log);
void ba_log_free(ba_log *log);
void ba_tape_truncate(ba_tape *t, int64_t pos);
int ba_tape_sweep_from(ba_tape *t, int64_t pos);
int ba_tape_barrier(ba_tape *t, int64_t id, int64_t n, intptr_t spans);
int64_t ba_tape_paused(ba_tape *t);
void ba_tape_paused_swap(ba_tape *t);
typedef struct ba_ckpt ba_ckpt;
ba_ckpt *ba_ckpt_new(void);
void ba_ckpt_free(ba_ckpt *ck);
void ba_tape_set_ckpt(ba_tape *t, ba_ckpt *ck);
void ba_ckpt_set_step(ba_ckpt *ck, int64_t step);
int64_t ba_ckpt_n(ba_ckpt *ck);
void ba_ckpt_span(ba_ckpt *ck, int64_t i, intptr_t lohi);
void ba_ckpt_drop(ba_ckpt *ck, int64_t i);
int64_t ba_ckpt_bytes(ba_ckpt *ck, int64_t before);
void ba_ckpt_save(ba_ckpt *ck, int64_t before, intptr_t buf);
void ba_ckpt_load(ba_ckpt *ck, int64_t before, intptr_t buf);
int64_t ba_ckpt_w0_bytes(ba_ckpt *ck);
void ba_tape_set_keep_all(ba_tape *t, int on);
int ba_tape_keep_all(ba_tape *t);
intptr_t ba_tape_pool_base(ba_tape *t);
int64_t ba_tape_pool_used(ba_tape *t);
void ba_tape_pool_rewind(ba_tape *t, intptr_t base, int64_t k);
int ba_tape_remove_region(ba_tape *t, intptr_t lo);
int64_t ba_tape_nbytes(ba_tape *t);

/* Fast paths: the same calls taking Python objects by address (CPython's id()); they
 * take the GIL back before reading any object (cffi releases it around every call).
 * They validate and lower the common cases entirely in C and return 0; anything
 * else (a layout to stage, an int scalar, a shape error, a possible overlap) returns 1
 * with nothing written, and the caller takes the validating Python path; 2: the call
 * is valid and active but an output has no shadow yet (nothing written): the caller
 * gives it one and calls again. -1: out of memory, nothing written.
 * ba_fast_init registers numpy.ndarray, the float32/float64 dtypes and the numpy.float64
 * scalar type (read as a float), by id. Flags are one-character str objects, read by value. */
int ba_fast_init(intptr_t ndarray_type, intptr_t f32, intptr_t f64, intptr_t float64_scalar);

/* The spec-driven routines' fast path (the table: fast_generic.inc, generated from the
 * specs at build time by tools/gen/fast.py): routine r (ba_fast_routine's index) with args, the tuple of its
 * arguments in spec order; returns as above. */
int ba_fast_routine(const char *name);
int ba_fast_run(ba_tape *t, int routine, intptr_t args);
/* The same on the tape recording on this thread (ba_fast_set_tape: Tape.__enter__ sets it,
 * __exit__ clears it; NULL: none): the public routines' first try, with no Python work.
 * keep: the Python list (by id, owned by the Tape object) that keeps alive the arrays the
 * tape's records read; the fast paths append a recorded call's arrays to it. */
void ba_fast_set_tape(ba_tape *t, intptr_t keep);
/* Forward mode on this thread (on 1): ba_fast_call turns every call down (returns 1) and the
 * active scalars' arithmetic goes to the Python side (status -7), which carries the tangents;
 * while ba_fw_native is on (below), they run natively instead. */
void ba_fast_set_forward(int on);
/* ba_fast_call's validation alone, with no tape: 0 when it would take the call, with the
 * entry's dims (int64, in the entry's order) written to dims; nothing runs. */
int ba_fast_check(int routine, intptr_t args, intptr_t dims);
/* Forward mode's native calls (one tangent per argument; not for batches): on 1 makes ba_fast_call
 * run a call whose routine has a native tangent rule (ba_tangent_native, by entry index) with the
 * tangents found in this thread's table of regions: [lo, hi) bytes whose tangents start at tan
 * (fw_add; fw_drop by run and lo; off clears it). A written argument with no tangent yet (a
 * reduction's 0-d result too) gets one natively while Python's Forward does not exist
 * (ba_fw_python); after that ba_fast_call returns 2 for it (the caller makes one and calls again).
 * It returns 1 for what the Python rules do. The active scalars' arithmetic runs natively too until
 * Python's Forward exists (ba_scalar_tangent; their results' tangents made as a new output's). */
int ba_fw_native(int on); /* 0, or -1 out of memory (then off) */
int ba_fw_add(intptr_t lo, intptr_t hi, intptr_t tan);
/* This thread's run (a number never reused; 0 when none), and dropping region lo from a run's
 * table from any thread (nothing when that run is over). */
uint64_t ba_fw_run(void);
void ba_fw_drop(uint64_t run, intptr_t lo);
/* Python's Forward exists for this thread's run (until ba_fw_native(0)): it makes every region
 * from now on (before it, the native calls give a written array that lacks one its tangent). */
void ba_fw_python(void);
/* box: a list (by id); the CPython functions fast_new(routine, args) (ba_fast_call's call with
 * its array outputs left None allocated natively: the arguments with them in place, or the
 * status) and fw_regions() (forward mode's native regions: (lo, hi, tan, array, owner) tuples)
 * are appended to it. 0, or -1. */
int ba_fast_new_init(intptr_t box);
int ba_tangent_native(int r);
int ba_fast_call(int routine, intptr_t args);

/* Active scalars (blasad/_scalar.py; the operations: blasad/specs/scalar.py, their rules:
 * csrc/scalar.c). scalar_base appends blasad.Scalar's native base type (its buffer field `_a`
 * and its arithmetic as number slots) to the list box (by id). scalar_init imports NumPy's C
 * API, registers blasad.Scalar (the subclass), the complex dtypes and numpy.complex128, takes
 * box[0] and box[1] of its list as the Python functions the slots and __array_ufunc__ call for
 * what they do not do themselves (blasad._scalar._from_c, _ufunc_slow), and appends the three CPython functions the Python side calls:
 * op(op, x, y, out, dtype), slot(dtype) and shadow(tape address, x). op_index: an op's index by name (-1: none).
 * (The scalar pool's chunks are made natively: csrc/fast.c pool_grow, ba_tape_pool_add.) */
int ba_scalar_base(intptr_t box);
/* ufunc (a numpy.ufunc by id) applied to an active scalar is op: __array_ufunc__ runs it natively */
int ba_scalar_ufunc(intptr_t ufunc, int op);
/* Forward mode's tangent of z = op(x, y) (one tangent; derived from op's adjoint): v holds x, y
 * and z (the value stored) as 6 doubles, (re, im) pairs; x_dot, y_dot the operands' tangents (of
 * dtype codes dx, dy; 0: a constant), z_dot where ż goes (dtype dz; it may be x_dot or y_dot). */
void ba_scalar_tangent(int op, int dz, int dx, int dy, intptr_t v, intptr_t x_dot, intptr_t y_dot, intptr_t z_dot);
int ba_scalar_init(intptr_t scalar_type, intptr_t c64, intptr_t c128, intptr_t complex128_scalar, intptr_t box);
/* Reverse-mode autodiff's common case in one native call (blasad/_tape.py): box holds Duplicated,
 * Const, BatchDuplicated, the fallback object and the Python side's _adopt, _end_adopted and
 * _sweep_failed; the CPython functions of csrc/fast.c's autodiff_methods are appended to it
 * (autodiff, tape, duplicated, tape_new, enter, grad, watch, backward, forward_run, pool_chunks).
 * ba_forward_init: forward mode's (blasad/_forward.py), box
 * [_adopt, _end], forward(f, args) appended. */
int ba_autodiff_init(intptr_t box);
int ba_forward_init(intptr_t box);
int ba_scalar_op_index(const char *name);

/* Byte addresses of a numpy.ndarray (any subclass) given by id: its first element,
 * its lowest element and its highest element (lowest - 1 when it is empty). */
intptr_t ba_array_data(intptr_t array);
intptr_t ba_array_lo(intptr_t array);
intptr_t ba_array_hi(intptr_t array);
/* 1 when the numpy.ndarrays of a list (by id; any number: sorted by span) cover pairwise disjoint byte spans
 * (their lowest to their highest byte: exact for disjoint arrays, 0 for interleaved ones, which
 * the caller then checks element by element), else 0. */
int ba_arrays_disjoint(intptr_t list);
/* ba_tape_lookup for a numpy.ndarray given by id (its elements of itemsize bytes): one call. */
intptr_t ba_tape_lookup_array(ba_tape *t, intptr_t array, int64_t itemsize);
/* Shadows the tape makes (the fast paths make an active call's output one the same way):
 * ensure_array gives the array (by id) a shadow when it has none, over its base's whole span,
 * zeroed, and appends the base to keep (a list, by id) so that its memory outlives the tape;
 * returns the shadow address of its first element, or -1 it straddles a tracked region, -2 its
 * base overlaps one, -3 out of memory (nothing made). new_shadow: the same for bytes [lo, hi).
 * The shadows come from a pool of blocks that tapes give back when they are freed (or a
 * region removed): shadow_pool(max) sets the most bytes it keeps (-1: leave it), frees what
 * exceeds it, and returns what it holds (shadow_pool(0) releases it all; 256 MiB at start).
 * region_info: lo, hi, shadow_lo of the region holding ptr into out; 0 none, 1 a shadow the
 * front end gave, 2 one the tape made. region_seq: the number the next region gets;
 * regions_since: the lo of each region numbered seq or later (up to max into out), their count. */
intptr_t ba_tape_ensure_array(ba_tape *t, intptr_t array, intptr_t keep);
/* The list (by id) where the fast paths put the bases of the shadows they make (the Tape's). */
void ba_tape_set_bases(ba_tape *t, intptr_t list);
intptr_t ba_tape_new_shadow(ba_tape *t, intptr_t lo, intptr_t hi);
int64_t ba_shadow_pool(int64_t max_bytes);
int ba_tape_region_info(ba_tape *t, intptr_t ptr, intptr_t out);
intptr_t ba_tape_region_seq(ba_tape *t);
int64_t ba_tape_regions_since(ba_tape *t, intptr_t seq, intptr_t out, int64_t max);
