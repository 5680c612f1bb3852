/* Internal: the tape, its records, and copy-on-write bookkeeping. */
#ifndef BLASAD_TAPE_H
#define BLASAD_TAPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cblas.h>

#include "blasad.h"

/* trans flags as bits: bit 0 transposes, bit 1 conjugates */
#define BA_N 0
#define BA_T 1
#define BA_R 2
#define BA_C 3

/* One array argument of a recorded call, in BLAS terms.
 * Matrix: rows x cols, column-major, element (i, j) at p + (i + j*ld)*es.
 * Vector: rows = n, cols = 1, vec = 1, ld = the signed BLAS inc, p = the lowest
 * address (BLAS's convention for negative inc).
 * The shadow keeps the layout the argument had at call time (bar, ld_bar); the
 * primal may later be redirected to a packed snapshot (p = snap, packed ld). */
typedef struct ba_arg {
    char *p, *bar, *snap;
    int64_t ld, ld_bar, rows, cols;
    int vec, es;
    uint64_t sum; /* check mode: checksum of the values at call time */
} ba_arg;

typedef struct ba_rec ba_rec;
typedef void (*ba_adjoint)(ba_rec *r, char *scratch);

/* One recorded call. a[0..2] are the routine's array arguments in BLAS order
 * (for gemm: A, B, C); a[3] holds the output's value before the call when an
 * adjoint needs it (beta_bar). alpha/beta are captured by value at call time. */
struct ba_rec {
    ba_adjoint adjoint;
    int f0, f1;
    int64_t m, n, k;
    double alpha[2], beta[2];
    char *alpha_bar, *beta_bar;
    ba_arg a[4];
    int64_t s[4]; /* routine-specific integers (copy2d: strides) */
    char *q[2];   /* routine-specific addresses (copy2d: the shadows' first elements) */
    double w[2];  /* a scalar op's result (scalar.c) */
};

/* The front end's list that keeps alive the arrays a recorded call reads by address (a
 * Python list owned by the Tape object; csrc/fast.c appends to it with the GIL held). */
void ba_tape_set_keep(ba_tape *t, void *list);
void *ba_tape_keep(ba_tape *t);
void *ba_tape_bases(ba_tape *t); /* the list ba_tape_set_bases gave */

/* Record lifecycle: begin reserves a zeroed record (and room for `nlive` live
 * references); abort gives it back with its snapshots; commit makes it part of
 * the tape, registering a[i] as a live reference for each bit i of `needed`.
 * The record is the tape's one staging record until then: commit packs it (tape.c),
 * and the sweep hands each adjoint an unpacked copy; no pointer into it outlives the
 * commit (the live references point into the packed record). */
ba_rec *ba_rec_begin(ba_tape *t, int nlive);
void ba_rec_abort(ba_tape *t, ba_rec *r);
void ba_rec_commit(ba_tape *t, ba_rec *r, ba_adjoint adj, unsigned needed, size_t scratch);

/* Copy-on-write: snapshot every live reference that overlaps what `w` is about to
 * overwrite. Returns -1 (and writes nothing the user can see) when out of memory. */
int ba_cow(ba_tape *t, const ba_arg *w);

/* a's elements, in address order, to a packed buffer (unpack: back from it); its bytes; its
 * byte span [lo, hi); a and b cover exactly the same elements. */
void ba_pack(const ba_arg *a, char *buf, int unpack);
int64_t ba_arg_bytes(const ba_arg *a);
void ba_arg_span(const ba_arg *a, intptr_t *lo, intptr_t *hi);
int ba_same_range(const ba_arg *a, const ba_arg *b);

/* A checkpointed loop's forward (checkpoint.c): ba_cow notes each range its steps write, with
 * the value from before the first write (0, or -1 out of memory: nothing written). */
int ba_ckpt_note(ba_ckpt *ck, const ba_arg *w);

/* Might a and b share a byte? Exact for blocks of one column-major matrix. */
int ba_args_overlap(const ba_arg *a, const ba_arg *b);

/* Copy src's current values into a packed buffer owned by dst (dst may be src). */
int ba_snapshot(ba_tape *t, const ba_arg *src, ba_arg *dst);
/* bytes of memory from the shadow pool (not zeroed; NULL out of memory), and back to it */
char *ba_pool_take(int64_t bytes);
void ba_pool_give(char *p);

/* Constructors: vectors take NumPy's pointer to logical element 0. */
ba_arg ba_mat(intptr_t p, int64_t ld, intptr_t bar, int64_t rows, int64_t cols, int es);
ba_arg ba_vec(intptr_t p, int64_t inc, intptr_t bar, int64_t n, int es);

/* y <- x, element size es in {4, 8, 16}, BLAS pointer convention. */
void ba_copy_strided(int64_t n, const char *x, int64_t incx, char *y, int64_t incy, int es);

/* A matrix of `rows` x `cols` in CBLAS order o (0 column-major, 1 row-major), held as
 * its column-major storage (the transpose, for row-major): the form the footprint,
 * snapshot and block helpers work on. */
static inline ba_arg ba_mat_o(int o, intptr_t p, int64_t ld, intptr_t bar, int64_t rows, int64_t cols, int es)
{
    return o ? ba_mat(p, ld, bar, cols, rows, es) : ba_mat(p, ld, bar, rows, cols, es);
}

/* Exactly zero a strided vector or a column-major matrix (BLAS has no "set"
 * routine, and scal by 0 keeps NaN on some builds). */
void ba_zero_vec(char *p, int64_t n, int64_t inc, int es);
void ba_zero_mat(char *p, int64_t rows, int64_t cols, int64_t ld, int es);

/* Active scalars (scalar.c): z ← op(x, y) on values carried as double complex, z stored in
 * dtype dz at z and recorded when z has a shadow; x, y of dtypes dx, dy, shadows 0 when
 * constant. 0, or -1 out of memory (nothing written). */
int ba_scalar_rec(ba_tape *t, int op, int dz, char *z, char *z_bar, double _Complex x, int dx, char *x_bar,
                  double _Complex y, int dy, char *y_bar);
double _Complex ba_scalar_load(const char *p, int dt);
int ba_scalar_op_arity(int op); /* 1 or 2; -1: no such op */
int ba_scalar_op_kind(int op); /* 1: a real result (abs, real, imag); 2: real operands only (hypot) */
/* The tape's pool of scalar slots (16 bytes each, in one tracked region): the address of a
 * fresh slot, or 0 when the pool is used up (the front end adds a chunk: ba_tape_pool_add, which
 * makes it the current one and lists its owner, a Python object the front end holds until it
 * frees the tape; -1 out of memory, nothing changed). */
char *ba_tape_pool_take(ba_tape *t);
void *ba_tape_pool_owner(ba_tape *t);            /* the chunk's array (a Python object) */
int ba_tape_pool_add(ba_tape *t, intptr_t p, int64_t nslots, void *owner);
int64_t ba_tape_pool_nchunks(ba_tape *t);
void *ba_tape_pool_chunk(ba_tape *t, int64_t i); /* the i-th chunk's owner (NULL: no such chunk) */

/* Replay (replay.c): a replay tape's log of calls; rewind drops every record and snapshot, so
 * that the tape records anew (its regions, pool and log stay). entry_call: the generated switch
 * over the spec routines' entries (dispatch.inc), spec_index its index of a routine's name. */
ba_log *ba_tape_log(ba_tape *t); /* NULL: not a replay tape */
void ba_tape_set_log(ba_tape *t, ba_log *log);
void ba_tape_rewind(ba_tape *t);
int ba_entry_call(ba_tape *t, int r, int dtype, int order, const ba_word *w, int64_t nw);
int ba_tangent_call(int r, int dtype, int order, const ba_word *w, int64_t nw); /* -3: no native rule */
int ba_spec_index(const char *name);

/* LAPACK (lapack.inc): a rule returns BA_INFO + info when LAPACK reports info > 0. An adjoint
 * that finds the sweep's result invalid notes why (ba_tape_invalid: BA_FAILED_READ, a gradient
 * reaching a failed call's output; BA_PHASE, a loss that depends on a complex vector's phase);
 * backward then raises. */
#define BA_INFO 1000
#define BA_FAILED_READ 1
#define BA_PHASE 2
void ba_tape_note_invalid(ba_tape *t, int reason);

/* Checked builds (BLASAD_CHECKED=1): the arrays the current call or adjoint may touch,
 * and the footprint checks around every CBLAS call (checked.h, generated at build time). */
void ba_chk_allow_range(const void *lo, size_t bytes);
void ba_chk_allow_arg(const ba_arg *a); /* its primal and its shadow */
void ba_chk_mat(int row_major, int64_t rows, int64_t cols, const void *p, int64_t ld, int es, const char *what);
void ba_chk_vec(int64_t n, const void *p, int64_t inc, int es, const char *what);
void ba_chk_packed(int64_t n, const void *p, int es, const char *what);
#ifdef BA_CHECKED
#include "checked.h"
#endif

#endif
