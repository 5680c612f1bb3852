/* The tape: an arena of call records, copy-on-write of saved inputs, and the
 * reverse sweep. */
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "tape.h"

#define CHUNK 256
#define RW 6 /* a region's entry: lo, hi, shadow_lo, written by a recorded call, the block its
                   * shadow lives in when the tape made it (0: the front end's), its number */

static void block_give(char *b); /* a shadow's block back to the pool */

/* Every allocation of the tape goes through here, so that tests can make the n-th
 * one fail (ba_debug_fail_after) and check that nothing is left half-done. */
static int64_t fail_after = -1;

void ba_debug_fail_after(int64_t n) { fail_after = n; }

static int injected_failure(void)
{
    if (fail_after < 0) return 0;
    if (fail_after == 0) {
        fail_after = -1;
        return 1;
    }
    fail_after--;
    return 0;
}

static void *ba_malloc(size_t n) { return injected_failure() ? NULL : malloc(n); }
static void *ba_realloc(void *p, size_t n) { return injected_failure() ? NULL : realloc(p, n); }

typedef struct ba_chunk {
    struct ba_chunk *prev;
    int64_t base; /* the position of recs[0] among the tape's records */
    int n;
    ba_rec recs[CHUNK];
} ba_chunk;

struct ba_tape {
    ba_chunk *head;
    ba_arg **live;             /* saved inputs still read from user memory, sorted by address */
    int64_t n_live, cap_live;
    int64_t max_span;          /* the widest byte span among them (a bound for range queries) */
    int64_t ncalls, bytes_copied, bytes_referenced;
    size_t scratch;            /* largest temporary any adjoint needs */
    char *buf;                 /* the sweep's scratch, once ba_tape_prepare allocated it */
    size_t nbuf;
    int consumed;              /* swept to the end (or released) */
    atomic_int cancel;         /* ba_tape_cancel: stop the running sweep before its next record */
    ba_chunk *sc;              /* the sweep's place: the next record is sc->recs[si - 1] */
    int si, started;
    int check;                 /* checksum saved inputs to catch writes made outside blasad */
    int64_t tampered;          /* saved inputs found changed (check mode) */
    intptr_t *reg;             /* shadow regions, sorted: lo, hi, shadow_lo, written per entry */
    int64_t n_reg, cap_reg;
    void *keep;                /* the front end's list of arrays the sweep reads (a Python list) */
    char *pool;                /* active scalars' slots: pool_k of pool_n taken (16 bytes each) */
    int64_t pool_n, pool_k;
    void *pool_owner;          /* the chunk's array (a Python object the front end keeps alive) */
    int64_t invalid[3];        /* the sweep found its adjoints invalid, by reason (ba_tape_invalid) */
    ba_log *log;               /* a replay tape's calls (replay.c); NULL for a tape swept once */
    int swept;                 /* a replay tape: its latest sweep ran to the end */
    ba_ckpt *ck;               /* a checkpointed loop's forward: notes what its steps write */
    ba_rec *paused;            /* the barrier the sweep stopped at (a checkpointed loop's place) */
    int keep_all;              /* the fast paths keep every operand (a checkpointed loop's forward) */
    intptr_t reg_seq;          /* the number the next region gets */
    void *bases;               /* the front end's list of the arrays whose shadows the tape made */
};

ba_log *ba_tape_log(ba_tape *t) { return t->log; }
void ba_tape_set_log(ba_tape *t, ba_log *log) { t->log = log; }

void ba_tape_set_keep(ba_tape *t, void *list) { t->keep = list; }
void ba_tape_set_bases(ba_tape *t, intptr_t list) { t->bases = (void *)list; }
void *ba_tape_bases(ba_tape *t) { return t->bases; }

void ba_tape_set_pool(ba_tape *t, intptr_t p, int64_t nslots, intptr_t owner)
{
    t->pool_owner = (void *)owner;
    t->pool = (char *)p;
    t->pool_n = nslots;
    t->pool_k = 0;
}

void *ba_tape_pool_owner(ba_tape *t) { return t->pool_owner; }

char *ba_tape_pool_take(ba_tape *t) { return t->pool_k < t->pool_n ? t->pool + 16 * t->pool_k++ : NULL; }
void *ba_tape_keep(ba_tape *t) { return t->keep; }

ba_tape *ba_tape_new(void) { return calloc(1, sizeof(ba_tape)); }

static void barrier_adj(ba_rec *r, char *scratch)
{
    (void)r, (void)scratch; /* never run: the sweep stops at a barrier (ba_tape_paused) */
}

/* A record's own memory: its snapshots (and a barrier's references) */
static void free_rec(ba_rec *r)
{
    for (int j = 0; j < 4; j++) free(r->a[j].snap);
    if (r->adjoint == barrier_adj) {
        ba_arg *refs = (ba_arg *)r->q[0];
        for (int64_t i = 0; i < r->s[1]; i++) free(refs[i].snap);
        free(refs);
    }
}

static void release(ba_tape *t)
{
    ba_chunk *c = t->head;
    while (c) {
        for (int i = 0; i < c->n; i++) free_rec(&c->recs[i]);
        ba_chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    t->head = NULL;
    free(t->live);
    t->live = NULL;
    free(t->buf);
    t->buf = NULL;
    t->nbuf = 0;
    t->n_live = t->cap_live = t->max_span = 0;
}

void ba_tape_free(ba_tape *t)
{
    if (!t) return;
    release(t);
    for (int64_t i = 0; i < t->n_reg; i++) block_give((char *)t->reg[RW * i + 4]);
    ba_log_free(t->log);
    free(t->reg);
    free(t);
}

void ba_tape_rewind(ba_tape *t)
{
    release(t);
    t->ncalls = t->bytes_copied = t->bytes_referenced = t->tampered = 0;
    t->scratch = 0;
    t->consumed = t->started = t->swept = 0;
    t->sc = NULL;
    t->paused = NULL;
    t->si = 0;
    memset(t->invalid, 0, sizeof t->invalid);
}


/* The index past the last region with reg.lo <= ptr. */
static int64_t region_after(const ba_tape *t, intptr_t ptr)
{
    int64_t lo = 0, hi = t->n_reg;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (t->reg[RW * mid] <= ptr) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Do bytes [lo, hi) meet a region? i: region_after(t, lo). */
static int meets_region(const ba_tape *t, int64_t i, intptr_t lo, intptr_t hi)
{
    return (i > 0 && t->reg[RW * (i - 1) + 1] > lo) || (i < t->n_reg && hi > t->reg[RW * i]);
}

int ba_tape_add_region(ba_tape *t, intptr_t lo, intptr_t hi, intptr_t shadow_lo)
{
    const int64_t i = region_after(t, lo);
    if (meets_region(t, i, lo, hi)) return -2;
    if (t->n_reg == t->cap_reg) {
        int64_t cap = t->cap_reg ? 2 * t->cap_reg : 16;
        intptr_t *reg = ba_realloc(t->reg, (size_t)cap * RW * sizeof *reg);
        if (!reg) return -1;
        t->reg = reg;
        t->cap_reg = cap;
    }
    memmove(t->reg + RW * (i + 1), t->reg + RW * i, (size_t)(t->n_reg - i) * RW * sizeof *t->reg);
    t->reg[RW * i] = lo;
    t->reg[RW * i + 1] = hi;
    t->reg[RW * i + 2] = shadow_lo;
    t->reg[RW * i + 3] = 0; /* not written yet */
    t->reg[RW * i + 4] = 0;
    t->reg[RW * i + 5] = t->reg_seq++;
    t->n_reg++;
    return 0;
}

/* ---- shadows the tape makes, from a pool shared by all tapes ---------------------------- */

static intptr_t *region_of(ba_tape *t, intptr_t ptr);

/* A block: a header (its capacity), then capacity bytes. A shadow starts inside it at the
 * offset that aligns it like its primal (mod 64). The pool keeps up to POOL_MAX bytes of freed
 * blocks for the next tapes (no fresh pages to fault in), the best fit first. */
#define POOL_BLOCKS 64
static struct {
    pthread_mutex_t lock;
    char *block[POOL_BLOCKS];
    int64_t n, bytes, max;
} pool = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0, (int64_t)256 << 20};

static int64_t capacity(const char *block) { return *(const int64_t *)block; }

static char *block_take(int64_t need)
{
    if (injected_failure()) return NULL; /* (tests: as if there were no memory, pooled or not) */
    char *b = NULL;
    pthread_mutex_lock(&pool.lock);
    int best = -1;
    for (int i = 0; i < pool.n; i++) {
        const int64_t c = capacity(pool.block[i]);
        if (c >= need && c <= 2 * need + 4096 && (best < 0 || c < capacity(pool.block[best]))) best = i;
    }
    if (best >= 0) {
        b = pool.block[best];
        pool.block[best] = pool.block[--pool.n];
        pool.bytes -= capacity(b);
    }
    pthread_mutex_unlock(&pool.lock);
    if (b) {
        memset(b + 64, 0, (size_t)need); /* it held a shadow */
        return b;
    }
    b = calloc(1, (size_t)need + 64); /* fresh pages come zeroed */
    if (b) *(int64_t *)b = need;
    return b;
}

static void block_give(char *b)
{
    if (!b) return;
    char *drop[POOL_BLOCKS + 1];
    int nd = 0;
    pthread_mutex_lock(&pool.lock);
    if (capacity(b) > pool.max) {
        drop[nd++] = b;
    } else { /* room for it: the smallest blocks go first (they are the cheapest to make again) */
        while (pool.n == POOL_BLOCKS || pool.bytes + capacity(b) > pool.max) {
            int small = 0;
            for (int i = 1; i < pool.n; i++)
                if (capacity(pool.block[i]) < capacity(pool.block[small])) small = i;
            drop[nd++] = pool.block[small];
            pool.bytes -= capacity(pool.block[small]);
            pool.block[small] = pool.block[--pool.n];
        }
        pool.block[pool.n++] = b;
        pool.bytes += capacity(b);
    }
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < nd; i++) free(drop[i]);
}

int64_t ba_shadow_pool(int64_t max_bytes)
{
    pthread_mutex_lock(&pool.lock);
    if (max_bytes >= 0) pool.max = max_bytes;
    char *drop[POOL_BLOCKS];
    int nd = 0;
    while (pool.n && pool.bytes > pool.max) { /* the largest first */
        int big = 0;
        for (int i = 1; i < pool.n; i++)
            if (capacity(pool.block[i]) > capacity(pool.block[big])) big = i;
        drop[nd++] = pool.block[big];
        pool.bytes -= capacity(pool.block[big]);
        pool.block[big] = pool.block[--pool.n];
    }
    const int64_t held = pool.bytes;
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < nd; i++) free(drop[i]);
    return held;
}

intptr_t ba_tape_new_shadow(ba_tape *t, intptr_t lo, intptr_t hi)
{
    if (meets_region(t, region_after(t, lo), lo, hi)) return -2; /* (before a block is taken) */
    const int64_t bytes = hi - lo;
    char *b = block_take(bytes + 64);
    if (!b) return -1;
    char *data = b + 64;
    char *shadow = data + (((lo - (intptr_t)data) % 64) + 64) % 64;
    if (ba_tape_add_region(t, lo, hi, (intptr_t)shadow)) {
        block_give(b);
        return -1;
    }
    region_of(t, lo)[4] = (intptr_t)b;
    return (intptr_t)shadow;
}

/* The region holding byte ptr (its entry: lo, hi, shadow_lo, written), or NULL. */
static intptr_t *region_of(ba_tape *t, intptr_t ptr)
{
    int64_t i = region_after(t, ptr);
    return i > 0 && ptr < t->reg[RW * (i - 1) + 1] ? t->reg + RW * (i - 1) : NULL;
}

intptr_t ba_tape_shadow(ba_tape *t, intptr_t ptr)
{
    const intptr_t *r = region_of(t, ptr);
    return r ? ptr - r[0] + r[2] : 0;
}

/* The shadow address of element 0 (at p) of an array whose elements span bytes [lo, hi):
 * 0 when the span touches no region, -1 when it is not inside the one region it touches
 * (an array over tracked memory that is not a view of the tracked base: its shadow would
 * run past that region's). An empty span is looked up by p alone. */
intptr_t ba_tape_lookup(ba_tape *t, intptr_t p, intptr_t lo, intptr_t hi)
{
    if (hi <= lo) return ba_tape_shadow(t, p);
    const int64_t i = region_after(t, lo);
    const intptr_t *r = i > 0 && lo < t->reg[RW * (i - 1) + 1] ? t->reg + RW * (i - 1) : NULL;
    if (r) return hi <= r[1] ? p - r[0] + r[2] : -1;
    return i < t->n_reg && t->reg[RW * i] < hi ? -1 : 0; /* a region starting inside the span */
}

intptr_t ba_tape_region(ba_tape *t, intptr_t ptr)
{
    const intptr_t *r = region_of(t, ptr);
    return r ? r[0] : 0;
}

int64_t ba_tape_ncalls(ba_tape *t) { return t->ncalls; }
void ba_tape_set_check(ba_tape *t, int on) { t->check = on; }
int64_t ba_tape_tampered(ba_tape *t) { return t->tampered; }
int64_t ba_tape_invalid(ba_tape *t, int reason) { return reason > 0 && reason < 3 ? t->invalid[reason] : 0; }
void ba_tape_note_invalid(ba_tape *t, int reason)
{
    if (reason > 0 && reason < 3) t->invalid[reason]++;
}

static uint64_t checksum(const ba_arg *a); /* of the values a references now */
static void verify(ba_tape *t, const ba_arg *a)
{
    if (t->check && checksum(a) != a->sum) t->tampered++;
}
int64_t ba_tape_bytes_copied(ba_tape *t) { return t->bytes_copied; }
int64_t ba_tape_bytes_referenced(ba_tape *t) { return t->bytes_referenced; }

/* The sweep's scratch buffer, the largest any recorded adjoint needs: 0, or -1 out of memory. */
static int scratch_ready(ba_tape *t)
{
    /* never NULL, even when no adjoint needs scratch (a zero-length memset must get a valid pointer) */
    const size_t need = t->scratch ? t->scratch : 16;
    if (t->nbuf < need) {
        char *buf = ba_malloc(need);
        if (!buf) return -1;
        free(t->buf);
        t->buf = buf;
        t->nbuf = need;
    }
    return 0;
}

/* Everything of the sweep that can fail, before it changes anything. */
int ba_tape_prepare(ba_tape *t)
{
    if (t->consumed) return -2;
    if (t->log) { /* a replay tape: a new sweep from the newest record, into zeroed shadows */
        t->started = t->swept = 0;
        for (int64_t i = 0; i < t->n_reg; i++)
            memset((char *)t->reg[RW * i + 2], 0, (size_t)(t->reg[RW * i + 1] - t->reg[RW * i]));
    }
    for (int64_t i = 0; i < t->n_live; i++) verify(t, t->live[i]);
    if (t->tampered) return -3;
    return scratch_ready(t);
}

static int in_records_from(const ba_tape *t, const ba_arg *a, int64_t pos);

/* The sweep stopped at barrier b (at pos - 1): the loop's re-runs are about to write what it and
 * the records after it (swept) reference; none of those need a copy any more. */
static void retire(ba_tape *t, const ba_rec *b, int64_t pos)
{
    const ba_arg *refs = (const ba_arg *)b->q[0];
    int64_t k = 0;
    for (int64_t i = 0; i < t->n_live; i++) {
        const ba_arg *a = t->live[i];
        if (!(a >= refs && a < refs + b->s[1]) && !in_records_from(t, a, pos)) t->live[k++] = t->live[i];
    }
    t->n_live = k;
}

/* The reverse sweep, newest record first. It keeps its place, so a sweep stopped by
 * ba_tape_cancel (-4) continues where it stopped when called again, and the finished sweep is
 * the uninterrupted one. (Records and their snapshots, which records may share, are freed at
 * the end.) */
int ba_tape_sweep(ba_tape *t)
{
    if (t->consumed || t->swept || t->nbuf < (t->scratch ? t->scratch : 16)) return -2;
    char *scratch = t->buf;
    atomic_store(&t->cancel, 0);
    t->paused = NULL;
    if (!t->started) {
        t->started = 1;
        t->sc = t->head;
        t->si = t->sc ? t->sc->n : 0;
    }
    while (t->sc) {
        while (t->si > 0) {
            if (atomic_load_explicit(&t->cancel, memory_order_relaxed)) return -4;
            ba_rec *r = &t->sc->recs[t->si - 1];
            if (r->adjoint == barrier_adj) { /* a checkpointed loop: the front end reverses it */
                t->si--;
                t->paused = r;
                retire(t, r, t->sc->base + t->si + 1);
                return 1;
            }
#ifdef BA_CHECKED
            ba_checked_reset();
            for (int j = 0; j < 4; j++) ba_chk_allow_arg(&r->a[j]);
            ba_chk_allow_range(scratch, t->scratch);
            ba_chk_allow_range(r->alpha_bar, 16);
            ba_chk_allow_range(r->beta_bar, 16);
#endif
            r->adjoint(r, scratch);
            t->si--;
        }
        t->sc = t->sc->prev;
        t->si = t->sc ? t->sc->n : 0;
    }
    if (t->log) { /* a replay tape keeps its records for the next sweep */
        t->swept = 1;
        return 0;
    }
    t->consumed = 1;
    release(t);
    return 0;
}

void ba_tape_cancel(ba_tape *t) { atomic_store(&t->cancel, 1); }
int ba_tape_swept(ba_tape *t) { return t->consumed || t->swept; }

int ba_tape_backward(ba_tape *t)
{
    int rc = ba_tape_prepare(t);
    return rc ? rc : ba_tape_sweep(t);
}

ba_rec *ba_rec_begin(ba_tape *t, int nlive)
{
    if (t->n_live + nlive > t->cap_live) {
        int64_t cap = t->cap_live ? 2 * t->cap_live : 64;
        while (cap < t->n_live + nlive) cap *= 2;
        ba_arg **live = ba_realloc(t->live, (size_t)cap * sizeof *live);
        if (!live) return NULL;
        t->live = live;
        t->cap_live = cap;
    }
    if (!t->head || t->head->n == CHUNK) {
        ba_chunk *c = ba_malloc(sizeof *c);
        if (!c) return NULL;
        c->prev = t->head;
        c->base = t->head ? t->head->base + t->head->n : 0;
        c->n = 0;
        t->head = c;
    }
    ba_rec *r = &t->head->recs[t->head->n];
    memset(r, 0, sizeof *r);
    return r;
}

void ba_rec_abort(ba_tape *t, ba_rec *r)
{
    (void)t;
    if (!r) return;
    for (int j = 0; j < 4; j++) {
        free(r->a[j].snap);
        r->a[j].snap = NULL;
    }
}

static int64_t arg_bytes(const ba_arg *a) { return a->rows * a->cols * a->es; }

static int64_t span(const ba_arg *a); /* bytes from the lowest to past the highest element */
static int same_range(const ba_arg *a, const ba_arg *b);

/* Keep live sorted by address so that copy-on-write only looks near a write. */
static void live_insert(ba_tape *t, ba_arg *a)
{
    int64_t lo = 0, hi = t->n_live;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (t->live[mid]->p <= a->p) lo = mid + 1;
        else hi = mid;
    }
    memmove(t->live + lo + 1, t->live + lo, (size_t)(t->n_live - lo) * sizeof *t->live);
    t->live[lo] = a;
    t->n_live++;
    int64_t s = span(a);
    if (s > t->max_span) t->max_span = s;
}

void ba_rec_commit(ba_tape *t, ba_rec *r, ba_adjoint adj, unsigned needed, size_t scratch)
{
    r->adjoint = adj;
    for (int j = 0; j < 4; j++)
        if (needed & (1u << j)) {
            if (t->check) r->a[j].sum = checksum(&r->a[j]);
            live_insert(t, &r->a[j]);
            t->bytes_referenced += arg_bytes(&r->a[j]);
        }
    if (r->a[3].snap) t->bytes_copied += arg_bytes(&r->a[3]);
    if (scratch > t->scratch) t->scratch = scratch;
    t->head->n++;
    t->ncalls++;
}

/* ---- footprints: the set of bytes an argument covers -------------------- */

typedef struct {
    char *lo;
    int64_t n0, s0, n1, s1; /* element (i, j) at lo + i*s0 + j*s1, byte strides >= 0 */
    int es;
} fp_t;

static fp_t footprint(const ba_arg *a)
{
    fp_t f = {a->p, a->rows, (int64_t)a->es, a->cols, a->ld * a->es, a->es};
    if (a->vec) {
        int64_t inc = a->ld < 0 ? -a->ld : a->ld;
        if (inc == 1 || a->rows <= 1) {
            f.n1 = 1;
            f.s1 = 0;
        } else { /* a strided vector is one row of a matrix with ld = inc */
            f.n0 = 1;
            f.n1 = a->rows;
            f.s1 = inc * a->es;
        }
    }
    return f;
}

static int64_t floordiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/* Do two footprints share a byte? Exact for unit-stride columns sharing one ld
 * (blocks of one matrix, its rows and columns); otherwise exact on the byte
 * interval and conservative inside it (a needless copy, never a missed one). */
static int overlaps(const fp_t *f, const fp_t *g)
{
    if (!f->n0 || !f->n1 || !g->n0 || !g->n1) return 0;
    char *fhi = f->lo + (f->n0 - 1) * f->s0 + (f->n1 - 1) * f->s1 + f->es;
    char *ghi = g->lo + (g->n0 - 1) * g->s0 + (g->n1 - 1) * g->s1 + g->es;
    if (fhi <= g->lo || ghi <= f->lo) return 0;
    if (f->es != g->es || f->s0 != f->es || g->s0 != g->es) return 1;
    if (f->n1 > 1 && g->n1 > 1 && f->s1 != g->s1) return 1;
    int64_t L = (f->n1 > 1 ? f->s1 : g->s1) / f->es;
    int64_t d = g->lo - f->lo;
    if (L <= 0 || d % f->es) return 1;
    d /= f->es;
    int64_t c = floordiv(d, L), r = d - c * L;
    if (r + g->n0 > L || f->n0 > L) return 1;
    return r < f->n0 && c < f->n1 && c + g->n1 > 0;
}

/* FNV-1a over the referenced bytes, in address order */
static uint64_t checksum(const ba_arg *a)
{
    fp_t f = footprint(a);
    uint64_t h = 1469598103934665603ull;
    for (int64_t j = 0; j < f.n1; j++)
        for (int64_t i = 0; i < f.n0; i++) {
            const unsigned char *e = (const unsigned char *)f.lo + i * f.s0 + j * f.s1;
            for (int b = 0; b < f.es; b++) h = (h ^ e[b]) * 1099511628211ull;
        }
    return h;
}

int ba_snapshot(ba_tape *t, const ba_arg *src, ba_arg *dst)
{
    size_t bytes = (size_t)arg_bytes(src);
    char *snap = ba_malloc(bytes ? bytes : 1);
    if (!snap) return -1;
    ba_pack(src, snap, 0);
    ba_arg a = *src;
    a.p = a.snap = snap;
    a.ld = a.vec ? (src->ld < 0 ? -1 : 1) : (a.rows > 1 ? a.rows : 1);
    *dst = a;
    if (t) t->bytes_copied += (int64_t)bytes;
    return 0;
}

void ba_pack(const ba_arg *a, char *buf, int unpack)
{
    const fp_t f = footprint(a);
    const size_t bytes = (size_t)arg_bytes(a);
    ba_chk_allow_range(f.lo, (size_t)span(a));
    ba_chk_allow_range(buf, bytes);
    /* in address order: a vector with negative inc keeps its sign in the packed form's ld */
    if (f.s0 == f.es && (f.n1 == 1 || f.s1 == f.n0 * f.es)) {
        if (unpack) memcpy(f.lo, buf, bytes);
        else memcpy(buf, f.lo, bytes);
    } else if (f.s0 == f.es) {
        for (int64_t j = 0; j < f.n1; j++) {
            char *u = f.lo + j * f.s1, *p = buf + j * f.n0 * f.es;
            if (unpack) memcpy(u, p, (size_t)(f.n0 * f.es));
            else memcpy(p, u, (size_t)(f.n0 * f.es));
        }
    } else if (unpack) { /* a strided vector: f.n0 == 1 */
        ba_copy_strided(f.n1, buf, 1, f.lo, f.s1 / f.es, f.es);
    } else {
        ba_copy_strided(f.n1, f.lo, f.s1 / f.es, buf, 1, f.es);
    }
}

int ba_same_range(const ba_arg *a, const ba_arg *b) { return same_range(a, b); }

void ba_arg_span(const ba_arg *a, intptr_t *lo, intptr_t *hi)
{
    *lo = (intptr_t)footprint(a).lo;
    *hi = *lo + span(a);
}

int64_t ba_arg_bytes(const ba_arg *a) { return arg_bytes(a); }

static int same_range(const ba_arg *a, const ba_arg *b)
{
    return a->p == b->p && a->rows == b->rows && a->cols == b->cols && a->ld == b->ld && a->es == b->es &&
           a->vec == b->vec;
}

static int64_t span(const ba_arg *a)
{
    fp_t f = footprint(a);
    if (!f.n0 || !f.n1) return 0;
    return (f.n0 - 1) * f.s0 + (f.n1 - 1) * f.s1 + f.es;
}

int ba_tape_written(ba_tape *t, intptr_t ptr)
{
    const intptr_t *r = region_of(t, ptr);
    return r ? (int)r[3] : 0;
}

int ba_cow(ba_tape *t, const ba_arg *w)
{
    fp_t fw = footprint(w);
    const int64_t wspan = span(w);
    if (t->ck && wspan && ba_ckpt_note(t->ck, w)) return -1;
    intptr_t *r = wspan ? region_of(t, (intptr_t)fw.lo) : NULL;
    if (r) r[3] = 1; /* a recorded call writes it: watch may no longer start its adjoint here */
    if (!wspan || !t->n_live) return 0;
    /* candidates start at most max_span bytes below the write */
    const uintptr_t wlo = (uintptr_t)fw.lo, from = wlo > (uintptr_t)t->max_span ? wlo - (uintptr_t)t->max_span : 0;
    int64_t lo = 0, hi = t->n_live;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if ((uintptr_t)t->live[mid]->p < from) lo = mid + 1;
        else hi = mid;
    }
    int64_t keep = lo, i = lo;
    ba_arg *done = NULL; /* the last range copied: readers of exactly that range share it */
    ba_arg orig;
    for (; i < t->n_live && (uintptr_t)t->live[i]->p < wlo + (uintptr_t)wspan; i++) {
        ba_arg *a = t->live[i];
        fp_t fa = footprint(a);
        if (!overlaps(&fw, &fa)) {
            t->live[keep++] = a;
            continue;
        }
        if (done && same_range(a, &orig) && !t->ck && !t->paused) { /* (a checkpointed loop drops
            records: each keeps its own copy) */
            a->p = done->p;
            a->ld = done->ld;
            continue;
        }
        orig = *a;
        verify(t, a); /* the values must still be those the call read */
        if (ba_snapshot(t, a, a)) { /* keep the list consistent: nothing of a changed */
            memmove(t->live + keep, t->live + i, (size_t)(t->n_live - i) * sizeof *t->live);
            t->n_live -= i - keep;
            return -1;
        }
        done = a;
    }
    memmove(t->live + keep, t->live + i, (size_t)(t->n_live - i) * sizeof *t->live);
    t->n_live -= i - keep;
    return 0;
}

/* ---- checked builds: footprints of CBLAS operands against the allowed arrays ---- */

#define CHK_MAX 64
static _Thread_local struct {
    const char *lo[CHK_MAX], *hi[CHK_MAX];
    int n;
} chk;
static int64_t chk_violations; /* over all threads; a test reads it between calls */
static char chk_last[256];

void ba_checked_reset(void) { chk.n = 0; }

void ba_chk_allow_range(const void *lo, size_t bytes)
{
    if (!lo || !bytes || chk.n == CHK_MAX) return;
    chk.lo[chk.n] = lo;
    chk.hi[chk.n] = (const char *)lo + bytes;
    chk.n++;
}

void ba_checked_allow(intptr_t lo, intptr_t hi) { ba_chk_allow_range((const void *)lo, (size_t)(hi - lo)); }

void ba_chk_allow_arg(const ba_arg *a)
{
    int64_t s = span(a);
    if (s <= 0) return;
    ba_chk_allow_range(a->p, (size_t)s);
    if (a->bar) {
        ba_arg b = *a; /* the shadow keeps the layout the argument had at call time */
        b.p = a->bar;
        b.ld = a->ld_bar;
        ba_chk_allow_range(b.p, (size_t)span(&b));
    }
}

static void chk_range(const char *lo, int64_t bytes, const char *what)
{
    if (bytes <= 0) return;
    for (int i = 0; i < chk.n; i++)
        if (lo >= chk.lo[i] && lo + bytes <= chk.hi[i]) return;
    chk_violations++;
    snprintf(chk_last, sizeof chk_last, "%s: %lld bytes at %p lie outside the arrays of the call", what,
             (long long)bytes, (const void *)lo);
}

void ba_chk_mat(int row_major, int64_t rows, int64_t cols, const void *p, int64_t ld, int es, const char *what)
{
    if (rows <= 0 || cols <= 0) return;
    int64_t elems = row_major ? (rows - 1) * ld + cols : (cols - 1) * ld + rows;
    chk_range(p, elems * es, what);
}

void ba_chk_vec(int64_t n, const void *p, int64_t inc, int es, const char *what)
{
    if (n <= 0) return;
    chk_range(p, ((n - 1) * (inc < 0 ? -inc : inc) + 1) * es, what);
}

void ba_chk_packed(int64_t n, const void *p, int es, const char *what)
{
    if (n > 0) chk_range(p, n * (n + 1) / 2 * es, what);
}

int64_t ba_checked_violations(void)
{
#ifdef BA_CHECKED
    return chk_violations;
#else
    return -1; /* not a checked build */
#endif
}

const char *ba_checked_last(void) { return chk_last; }

/* ---- constructors and exact zeroing --------------------------------------- */

ba_arg ba_mat(intptr_t p, int64_t ld, intptr_t bar, int64_t rows, int64_t cols, int es)
{
    ba_arg a = {(char *)p, (char *)bar, NULL, ld, ld, rows, cols, 0, es, 0};
    return a;
}

ba_arg ba_vec(intptr_t p, int64_t inc, intptr_t bar, int64_t n, int es)
{
    int64_t shift = (inc < 0 && n > 0) ? (n - 1) * inc * es : 0; /* to the lowest address */
    ba_arg a = {(char *)p + shift, bar ? (char *)bar + shift : NULL, NULL, inc, inc, n, 1, 1, es, 0};
    return a;
}

void ba_copy_strided(int64_t n, const char *x, int64_t incx, char *y, int64_t incy, int es)
{
    if (es == 4) scipy_cblas_scopy64_(n, (const float *)x, incx, (float *)y, incy);
    else if (es == 8) scipy_cblas_dcopy64_(n, (const double *)x, incx, (double *)y, incy);
    else scipy_cblas_zcopy64_(n, x, incx, y, incy);
}

void ba_zero_vec(char *p, int64_t n, int64_t inc, int es)
{
    int64_t step = (inc < 0 ? -inc : inc) * es;
    if (step == es) {
        memset(p, 0, (size_t)(n * es));
        return;
    }
    for (int64_t i = 0; i < n; i++) memset(p + i * step, 0, (size_t)es);
}

/* p[0..n) ← 0. A block of 8 MiB or more (an adjoint the sweep zeroes after its last read, e.g.
 * C̄ for β = 0) is written with non-temporal stores where SSE2 has them: on the development
 * machine that took 8 MiB from 0.81 to 0.53 ms and 32 MiB from 3.4 to 1.4 ms after a gemm,
 * and lost below 8 MiB (4 MiB: 0.43 against 0.50 ms). */
static void zero_bytes(char *p, size_t n)
{
#if defined(__SSE2__)
    if (n >= ((size_t)8 << 20)) {
        const size_t head = (16 - ((uintptr_t)p & 15)) & 15, k = (n - head) / 16;
        const __m128i z = _mm_setzero_si128();
        memset(p, 0, head);
        for (size_t i = 0; i < k; i++) _mm_stream_si128((__m128i *)(p + head + 16 * i), z);
        _mm_sfence();
        memset(p + head + 16 * k, 0, n - head - 16 * k);
        return;
    }
#endif
    memset(p, 0, n);
}

void ba_zero_mat(char *p, int64_t rows, int64_t cols, int64_t ld, int es)
{
    if (ld == rows) {
        zero_bytes(p, (size_t)(rows * cols * es));
        return;
    }
    for (int64_t j = 0; j < cols; j++) zero_bytes(p + j * ld * es, (size_t)(rows * es));
}

int ba_args_overlap(const ba_arg *a, const ba_arg *b)
{
    fp_t fa = footprint(a), fb = footprint(b);
    return overlaps(&fa, &fb);
}

/* ---- segments: a checkpointed loop's steps, recorded, swept and dropped -------- */

void ba_tape_set_ckpt(ba_tape *t, ba_ckpt *ck) { t->ck = ck; }
void ba_tape_set_keep_all(ba_tape *t, int on) { t->keep_all = on; }
int ba_tape_keep_all(ba_tape *t) { return t->keep_all; }

/* Is a (a live reference) inside a record at a position >= pos? */
static int in_records_from(const ba_tape *t, const ba_arg *a, int64_t pos)
{
    for (const ba_chunk *c = t->head; c && c->base + c->n > pos; c = c->prev) {
        const int from = pos > c->base ? (int)(pos - c->base) : 0;
        if ((const char *)a >= (const char *)&c->recs[from] && (const char *)a < (const char *)&c->recs[c->n])
            return 1;
    }
    return 0;
}

void ba_tape_truncate(ba_tape *t, int64_t pos)
{
    int64_t k = 0;
    for (int64_t i = 0; i < t->n_live; i++)
        if (!in_records_from(t, t->live[i], pos)) t->live[k++] = t->live[i];
    t->n_live = k;
    while (t->head && t->head->base + t->head->n > pos) {
        ba_chunk *c = t->head;
        const int from = pos > c->base ? (int)(pos - c->base) : 0;
        for (int i = from; i < c->n; i++) free_rec(&c->recs[i]);
        if (from > 0) {
            c->n = from;
            break;
        }
        t->head = c->prev;
        free(c);
    }
    if (t->ncalls > pos) t->ncalls = pos;
}

int ba_tape_sweep_from(ba_tape *t, int64_t pos)
{
    if (scratch_ready(t)) return -1;
    for (ba_chunk *c = t->head; c && c->base + c->n > pos; c = c->prev)
        for (int i = c->n - 1; i >= 0 && c->base + i >= pos; i--) {
            ba_rec *r = &c->recs[i];
#ifdef BA_CHECKED
            ba_checked_reset();
            for (int j = 0; j < 4; j++) ba_chk_allow_arg(&r->a[j]);
            ba_chk_allow_range(t->buf, t->scratch);
            ba_chk_allow_range(r->alpha_bar, 16);
            ba_chk_allow_range(r->beta_bar, 16);
#endif
            r->adjoint(r, t->buf);
        }
    return 0;
}

int ba_tape_barrier(ba_tape *t, int64_t id, int64_t n, intptr_t spans)
{
    const int64_t *lohi = (const int64_t *)spans;
    ba_arg *refs = ba_malloc((size_t)(2 * n + 1) * sizeof *refs);
    if (!refs) return -1;
    ba_rec *r = ba_rec_begin(t, (int)n);
    if (!r) {
        free(refs);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        refs[i] = refs[n + i] = ba_vec((intptr_t)lohi[2 * i], 1, 0, lohi[2 * i + 1] - lohi[2 * i], 1);
        if (t->check) refs[i].sum = checksum(&refs[i]);
    }
    r->adjoint = barrier_adj;
    r->s[0] = id;
    r->s[1] = n;
    r->q[0] = (char *)refs;
    for (int64_t i = 0; i < n; i++) live_insert(t, &refs[i]);
    t->head->n++;
    t->ncalls++;
    return 0;
}

int64_t ba_tape_paused(ba_tape *t) { return t->paused ? t->paused->s[0] : -1; }

void ba_tape_paused_swap(ba_tape *t)
{
    if (!t->paused) return;
    ba_arg *refs = (ba_arg *)t->paused->q[0];
    const int64_t n = t->paused->s[1];
    char tmp[4096];
    for (int64_t i = 0; i < n; i++) {
        if (!refs[i].snap) continue; /* never overwritten since: the values are in place */
        char *u = refs[n + i].p, *s = refs[i].snap;
        for (int64_t off = 0, len = refs[i].rows; off < len; off += (int64_t)sizeof tmp) {
            const size_t b = (size_t)(len - off < (int64_t)sizeof tmp ? len - off : (int64_t)sizeof tmp);
            memcpy(tmp, u + off, b);
            memcpy(u + off, s + off, b);
            memcpy(s + off, tmp, b);
        }
    }
}

intptr_t ba_tape_pool_base(ba_tape *t) { return (intptr_t)t->pool; }
int64_t ba_tape_pool_used(ba_tape *t) { return t->pool_k; }

void ba_tape_pool_rewind(ba_tape *t, intptr_t base, int64_t k)
{
    if ((intptr_t)t->pool != base || k < 0 || k >= t->pool_k) return;
    char *p = t->pool + 16 * k;
    const size_t bytes = (size_t)(16 * (t->pool_k - k));
    memset(p, 0, bytes);
    char *bar = (char *)ba_tape_shadow(t, (intptr_t)p);
    if (bar) memset(bar, 0, bytes);
    t->pool_k = k;
}

int ba_tape_remove_region(ba_tape *t, intptr_t lo)
{
    const int64_t i = region_after(t, lo) - 1;
    if (i < 0 || t->reg[RW * i] != lo) return -1;
    block_give((char *)t->reg[RW * i + 4]);
    memmove(t->reg + RW * i, t->reg + RW * (i + 1), (size_t)(t->n_reg - i - 1) * RW * sizeof *t->reg);
    t->n_reg--;
    return 0;
}

int64_t ba_tape_nbytes(ba_tape *t)
{
    int64_t b = (int64_t)sizeof *t + t->cap_live * (int64_t)sizeof *t->live + t->cap_reg * RW * (int64_t)sizeof *t->reg +
                (int64_t)t->nbuf;
    for (int64_t i = 0; i < t->n_reg; i++)
        if (t->reg[RW * i + 4]) b += capacity((const char *)t->reg[RW * i + 4]);
    for (const ba_chunk *c = t->head; c; c = c->prev) {
        b += (int64_t)sizeof *c;
        for (int i = 0; i < c->n; i++) {
            const ba_rec *r = &c->recs[i];
            for (int j = 0; j < 4; j++)
                if (r->a[j].snap) b += arg_bytes(&r->a[j]);
            if (r->adjoint == barrier_adj) {
                const ba_arg *refs = (const ba_arg *)r->q[0];
                b += (2 * r->s[1] + 1) * (int64_t)sizeof *refs;
                for (int64_t k = 0; k < r->s[1]; k++)
                    if (refs[k].snap) b += arg_bytes(&refs[k]);
            }
        }
    }
    return b + ba_tape_log_bytes(t);
}

int ba_tape_region_info(ba_tape *t, intptr_t ptr, intptr_t out)
{
    const intptr_t *r = region_of(t, ptr);
    if (!r) return 0;
    intptr_t *o = (intptr_t *)out;
    o[0] = r[0], o[1] = r[1], o[2] = r[2];
    return r[4] ? 2 : 1;
}

intptr_t ba_tape_region_seq(ba_tape *t) { return t->reg_seq; }

int64_t ba_tape_regions_since(ba_tape *t, intptr_t seq, intptr_t out, int64_t max)
{
    intptr_t *o = (intptr_t *)out;
    int64_t k = 0;
    for (int64_t i = 0; i < t->n_reg; i++)
        if (t->reg[RW * i + 5] >= seq) {
            if (k < max) o[k] = t->reg[RW * i];
            k++;
        }
    return k;
}
