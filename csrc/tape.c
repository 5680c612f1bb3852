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

#define CHUNK_MAX ((size_t)64 << 10) /* the largest chunk of records, in bytes */
#define RW 6 /* a region's entry: lo, hi, shadow_lo, written by a recorded call, the block its
                   * shadow lives in when the tape made it (0: the front end's), its number */

static void block_give(char *b); /* a shadow's block back to the pool */
static void *big_alloc(size_t bytes); /* memory the tape frees itself: big buffers from the pool */
static void big_free(void *p);
static void snap_free(const ba_arg *a); /* a's snapshot: big_free (it may be a buffer of its own) */

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

typedef struct oset oset;

/* ---- ordered sets ------------------------------------------------------------------------
 * Entries of w words sorted by their first word (a key: equal keys stay in insertion order),
 * held in blocks of up to OB entries, the blocks in a sorted array. An insert or an erase moves
 * the entries of one block (and the array of blocks when one splits or empties), not the whole
 * set: entries that come in any address order (arrays scattered over a fragmented heap) cost
 * O(OB + n/OB) each instead of O(n). An entry's address holds until the set next changes.
 * A small set costs no allocation: its first block (OB0 entries) and the array of blocks start
 * inside the set; the first block grows to OB when it fills. os_reserve(m) makes the next m
 * inserts unable to fail: each takes at most one slot of the array of blocks and one block's
 * memory (to grow the first block or split a full one), from spares made ahead; none is needed
 * while no block is nearly full (tight) and m <= OB/4. */
#define OB 64
#define OB0 8
#define OS_TIGHT(n) ((n) > OB - OB / 4)
typedef struct {
    intptr_t *e; /* cap entries of w words */
    int64_t n, cap;
} ob_blk;
struct oset {
    ob_blk *b;
    int64_t nb, capb, n;
    int64_t tight;    /* full-size blocks with fewer than OB/4 free entries */
    intptr_t **spare; /* full blocks' memory made ahead by os_reserve */
    int64_t nspare, capspare;
    int w;
    ob_blk b0[4]; /* the array of blocks while it has room */
    intptr_t *e0; /* the first block's entries until it grows: OB0 entries, beside the set */
};
typedef struct {
    int64_t k, j; /* entry j of block k; the end: (nb, 0) */
} opos;

static intptr_t *os_at(const oset *s, opos p) { return s->b[p.k].e + p.j * s->w; }
static int os_end(const oset *s, opos p) { return p.k >= s->nb; }
static opos os_next(const oset *s, opos p)
{
    if (++p.j >= s->b[p.k].n) p.k++, p.j = 0;
    return p;
}
/* the entry before p: 0 when p is the first */
static int os_prev(const oset *s, opos *p)
{
    if (p->j > 0) return p->j--, 1;
    if (p->k == 0) return 0;
    p->k--, p->j = s->b[p->k].n - 1;
    return 1;
}

/* The first entry whose key is > key (upper: 1) or >= key (upper: 0). */
static opos os_search(const oset *s, intptr_t key, int upper)
{
    int64_t a = 0, b = s->nb; /* the first block whose first key is past key */
    while (a < b) {
        const int64_t c = (a + b) / 2;
        if (upper ? s->b[c].e[0] <= key : s->b[c].e[0] < key) a = c + 1;
        else b = c;
    }
    if (a == 0) return (opos){0, 0};
    const ob_blk *B = &s->b[a - 1];
    int64_t lo = 0, hi = B->n;
    while (lo < hi) {
        const int64_t c = (lo + hi) / 2;
        const intptr_t k = B->e[c * s->w];
        if (upper ? k <= key : k < key) lo = c + 1;
        else hi = c;
    }
    return lo < B->n ? (opos){a - 1, lo} : (opos){a, 0};
}

/* A full block's memory: a spare, or a new one (NULL out of memory) */
static intptr_t *os_block(oset *s)
{
    return s->nspare ? s->spare[--s->nspare] : ba_malloc((size_t)OB * (size_t)s->w * sizeof(intptr_t));
}

/* Room in the array of blocks for `more` blocks: 0, or -1 out of memory */
static int os_room(oset *s, int64_t more)
{
    if (!s->b) s->b = s->b0, s->capb = 4;
    if (s->nb + more <= s->capb) return 0;
    int64_t cap = 2 * s->capb;
    while (cap < s->nb + more) cap *= 2;
    ob_blk *b = s->b == s->b0 ? ba_malloc((size_t)cap * sizeof *b) : ba_realloc(s->b, (size_t)cap * sizeof *b);
    if (!b) return -1;
    if (s->b == s->b0) memcpy(b, s->b0, (size_t)s->nb * sizeof *b);
    s->b = b, s->capb = cap;
    return 0;
}

static void os_free_block(oset *s, intptr_t *e)
{
    if (e != s->e0) free(e);
}

static int os_reserve(oset *s, int64_t m)
{
    if (os_room(s, m)) return -1;
    int64_t need = s->tight || m > OB / 4 ? m : 0;
    const int64_t room0 = s->nb ? s->b[0].cap - s->b[0].n : OB0; /* (the first block, while small) */
    if (!need && (s->nb <= 1 && (s->nb ? s->b[0].cap : OB0) < OB) && room0 < m) need = 1;
    if (need > s->capspare) {
        intptr_t **sp = ba_realloc(s->spare, (size_t)need * sizeof *sp);
        if (!sp) return -1;
        s->spare = sp, s->capspare = need;
    }
    while (s->nspare < need) {
        intptr_t *e = ba_malloc((size_t)OB * (size_t)s->w * sizeof(intptr_t));
        if (!e) return -1;
        s->spare[s->nspare++] = e;
    }
    return 0;
}

/* Insert entry (w words; a copy): its address in the set, or NULL out of memory (nothing changed). */
static intptr_t *os_insert(oset *s, const intptr_t *entry)
{
    const int w = s->w;
    if (os_room(s, 1)) return NULL; /* (room for a new block, split or first) */
    if (!s->nb) {
        s->b[0] = (ob_blk){s->e0, 0, OB0};
        s->nb = 1;
    }
    opos p = os_search(s, entry[0], 1);
    if (p.j == 0 && p.k > 0) p.k--, p.j = s->b[p.k].n; /* at the end of the block before */
    ob_blk *B = &s->b[p.k];
    if (B->n == B->cap && B->cap < OB) { /* the first block grows to full size */
        intptr_t *e = os_block(s);
        if (!e) return NULL;
        memcpy(e, B->e, (size_t)(B->n * w) * sizeof *e);
        os_free_block(s, B->e);
        B->e = e, B->cap = OB;
        s->tight += OS_TIGHT(B->n);
    } else if (B->n == OB) { /* split: the upper half (none when the entry goes last) to a new block after it */
        const int64_t keep = p.j == OB ? OB : OB / 2;
        intptr_t *e = os_block(s);
        if (!e) return NULL;
        memcpy(e, B->e + keep * w, (size_t)((OB - keep) * w) * sizeof *e);
        memmove(s->b + p.k + 2, s->b + p.k + 1, (size_t)(s->nb - p.k - 1) * sizeof *s->b);
        s->b[p.k + 1] = (ob_blk){e, OB - keep, OB};
        s->nb++;
        B = &s->b[p.k];
        B->n = keep;
        s->tight -= !OS_TIGHT(keep);
        if (keep == OB || p.j > keep) B = &s->b[++p.k], p.j -= keep;
    }
    intptr_t *at = B->e + p.j * w;
    memmove(at + w, at, (size_t)((B->n - p.j) * w) * sizeof *at);
    memcpy(at, entry, (size_t)w * sizeof *at);
    if (B->cap == OB) s->tight += OS_TIGHT(B->n + 1) - OS_TIGHT(B->n);
    B->n++, s->n++;
    return at;
}

/* Erase the entry at p: the position of the entry after it. */
static opos os_erase(oset *s, opos p)
{
    ob_blk *B = &s->b[p.k];
    intptr_t *at = B->e + p.j * s->w;
    memmove(at, at + s->w, (size_t)((B->n - p.j - 1) * s->w) * sizeof *at);
    if (B->cap == OB) s->tight += OS_TIGHT(B->n - 1) - OS_TIGHT(B->n);
    B->n--, s->n--;
    if (!B->n) { /* an empty block goes (the set keeps none) */
        os_free_block(s, B->e);
        memmove(s->b + p.k, s->b + p.k + 1, (size_t)(s->nb - p.k - 1) * sizeof *s->b);
        s->nb--;
        return (opos){p.k, 0};
    }
    return p.j < B->n ? p : (opos){p.k + 1, 0};
}

static void os_free(oset *s)
{
    for (int64_t k = 0; k < s->nb; k++) os_free_block(s, s->b[k].e);
    for (int64_t k = 0; k < s->nspare; k++) free(s->spare[k]);
    if (s->b != s->b0) free(s->b);
    free(s->spare);
    s->b = NULL;
    s->nb = s->capb = s->n = s->tight = s->nspare = s->capspare = 0;
    s->spare = NULL;
}

static int64_t os_bytes(const oset *s)
{
    int64_t b = (s->b != s->b0 ? s->capb * (int64_t)sizeof *s->b : 0) + s->capspare * (int64_t)sizeof *s->spare;
    for (int64_t k = 0; k < s->nb; k++)
        if (s->b[k].e != s->e0) b += s->b[k].cap * s->w * (int64_t)sizeof(intptr_t);
    return b + s->nspare * OB * s->w * (int64_t)sizeof(intptr_t);
}

#define OS_EACH(s, p) for (opos p = {0, 0}; !os_end((s), p); p = os_next((s), p))

/* Committed records, packed (ba_rec is the form the rules read and write: 440 bytes, most of
 * them zero for a tiny call, most of them as in the call before). A record holds how it differs
 * from a template: a record the tape keeps (t->tpl, the latest ones by adjoint in t->slot), or
 * the zero record. In a chunk's data:
 *   mask     a varint: bit j < 4, a[j] is a live reference (held raw, below); bit 4, the record
 *            owns memory that only its unpacked form shows (a snapshot, a barrier's references);
 *            bit 5 + w, the 8-byte word w of ba_rec differs from the template's (held below)
 *   template a varint: 0 the zero record, i + 1 t->tpl[i]
 *   widths   2 bits per word held: it takes 1, 2, 4 or 8 bytes
 *   pad      to 8 bytes, then the live a[j], raw (ba_cow redirects them in place: the sweep
 *            unpacks what they hold then); no pad without them
 *   words    each word held, little-endian in the bytes its width says, coded by its kind:
 *            integers zigzag, addresses zigzag from the record's previous address, the adjoint
 *            from barrier_adj, doubles byte-swapped (2.0: one byte), two ints zigzag with their
 *            low bytes first; by kind (K_*), then in word order
 *   length   the bytes before it, 1 byte (< 128) or 2 (the last with its high bit set): the
 *            records are walked newest first
 * A varint: L bytes (1 to 8) hold 7L bits after L - 1 zero bits and a one; 0 then 8 bytes: the
 * whole word. Words and varints are read and written 8 bytes at a time, so a chunk keeps slack
 * after its records: a record begins with at least MAXREC bytes left. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the packed records assume a little-endian machine"
#endif
#define NWORDS 55
#define W(f) (offsetof(ba_rec, f) / 8)
#define B(f) ((uint64_t)1 << W(f))
#define ARGB(f) (B(a[0].f) | B(a[1].f) | B(a[2].f) | B(a[3].f))
#define K_FN B(adjoint)
#define K_PTR (B(alpha_bar) | B(beta_bar) | ARGB(p) | ARGB(bar) | ARGB(snap) | B(q[0]) | B(q[1]))
#define K_INT                                                                                        \
    (B(m) | B(n) | B(k) | ARGB(ld) | ARGB(ld_bar) | ARGB(rows) | ARGB(cols) | B(s[0]) | B(s[1]) | B(s[2]) | \
     B(s[3]))
#define K_DBL (B(alpha[0]) | B(alpha[1]) | B(beta[0]) | B(beta[1]) | B(w[0]) | B(w[1]))
#define K_PAIR (B(f0) | ARGB(vec)) /* (f0, f1), (vec, es) */
#define K_RAW ARGB(sum)
#define M_OWNS 16u /* mask bit 4 */
#define M_WORDS 5  /* word w: mask bit 5 + w */
#define MAXREC 1024 /* a record's bytes at most (9 + 9 + 14 + 7 + 4·72 + 55·8 + 2 = 769), with slack */
#define SLOTS 64    /* the templates by adjoint: a direct-mapped table */
_Static_assert(sizeof(ba_rec) == 8 * NWORDS && sizeof(ba_arg) == 72 && offsetof(ba_rec, a) % 8 == 0,
               "ba_rec: 8-byte words");
_Static_assert(offsetof(ba_rec, f1) == offsetof(ba_rec, f0) + 4 && offsetof(ba_arg, es) == offsetof(ba_arg, vec) + 4 &&
                   offsetof(ba_rec, f0) % 8 == 0 && offsetof(ba_arg, vec) % 8 == 0,
               "the int pairs fill a word");
_Static_assert((K_FN | K_PTR | K_INT | K_DBL | K_PAIR | K_RAW) == ((uint64_t)1 << NWORDS) - 1 &&
                   __builtin_popcountll(K_FN) + __builtin_popcountll(K_PTR) + __builtin_popcountll(K_INT) +
                           __builtin_popcountll(K_DBL) + __builtin_popcountll(K_PAIR) + __builtin_popcountll(K_RAW) ==
                       NWORDS,
               "each word has one kind");

typedef struct ba_chunk {
    struct ba_chunk *prev;
    int64_t base; /* the position of its first record among the tape's records */
    int64_t n;    /* its records */
    size_t used, cap;
    int owns; /* a record may own memory: a snapshot, a live reference (ba_cow may give it one), a
               * barrier's references (else release and nbytes need not read the records) */
    _Alignas(8) unsigned char data[];
} ba_chunk;

struct ba_tape {
    ba_chunk *head;
    oset live;                 /* saved inputs still read from user memory: {p, ba_arg *} by address */
    int64_t max_span;          /* the widest byte span among them (a bound for range queries) */
    int64_t ncalls, bytes_copied, bytes_referenced;
    size_t scratch;            /* largest temporary any adjoint needs */
    char *buf;                 /* the sweep's scratch, once ba_tape_prepare allocated it */
    size_t nbuf;
    int consumed;              /* swept to the end (or released) */
    atomic_int cancel;         /* ba_tape_cancel: stop the running sweep before its next record */
    ba_chunk *sc;              /* the sweep's place: the next record ends at sc->data + se */
    size_t se;
    int started;
    int check;                 /* checksum saved inputs to catch writes made outside blasad */
    int64_t tampered;          /* saved inputs found changed (check mode) */
    oset reg;                  /* shadow regions by lo: RW words each */
    intptr_t live_e0[OB0 * 2], reg_e0[OB0 * RW]; /* their first blocks while small */
    void *keep;                /* the front end's list of arrays the sweep reads (a Python list) */
    char *pool;                /* active scalars' slots: pool_k of pool_n taken (16 bytes each) */
    int64_t pool_n, pool_k;
    void *pool_owner;          /* the chunk's array (a Python object the front end keeps alive) */
    void **chunks;             /* every chunk's owner, in order made (ba_tape_pool_add) */
    int64_t nchunks;
    int64_t invalid[3];        /* the sweep found its adjoints invalid, by reason (ba_tape_invalid) */
    ba_log *log;               /* a replay tape's calls (replay.c); NULL for a tape swept once */
    int swept;                 /* a replay tape: its latest sweep ran to the end */
    ba_ckpt *ck;               /* a checkpointed loop's forward: notes what its steps write */
    ba_rec *paused;            /* the barrier the sweep stopped at (a checkpointed loop's place): */
    ba_rec paused_rec;         /* NULL or this, its copy */
    ba_rec stage;              /* the record between ba_rec_begin and its commit (or abort) */
    ba_rec *tpl;               /* the templates the packed records refer to */
    int64_t n_tpl, cap_tpl;
    int64_t slot[SLOTS];       /* the latest template by adjoint (hashed): its index + 1, or 0 */
    int keep_all;              /* the fast paths keep every operand (a checkpointed loop's forward) */
    intptr_t reg_seq;          /* the number the next region gets */
    void *bases;               /* the front end's list of the arrays whose shadows the tape made */
};

ba_log *ba_tape_log(ba_tape *t) { return t->log; }
void ba_tape_set_log(ba_tape *t, ba_log *log) { t->log = log; }

void ba_tape_set_keep(ba_tape *t, void *list) { t->keep = list; }
void ba_tape_set_bases(ba_tape *t, intptr_t list) { t->bases = (void *)list; }
void *ba_tape_bases(ba_tape *t) { return t->bases; }

/* the current chunk of active scalars' slots: nslots at p, owner its array (ba_tape_pool_add) */
static void set_pool(ba_tape *t, intptr_t p, int64_t nslots, intptr_t owner)
{
    t->pool_owner = (void *)owner;
    t->pool = (char *)p;
    t->pool_n = nslots;
    t->pool_k = 0;
}

void *ba_tape_pool_owner(ba_tape *t) { return t->pool_owner; }

char *ba_tape_pool_take(ba_tape *t) { return t->pool_k < t->pool_n ? t->pool + 16 * t->pool_k++ : NULL; }
void *ba_tape_keep(ba_tape *t) { return t->keep; }

ba_tape *ba_tape_new(void)
{
    ba_tape *t = calloc(1, sizeof(ba_tape));
    if (t) t->live.w = 2, t->reg.w = RW, t->live.e0 = t->live_e0, t->reg.e0 = t->reg_e0;
    return t;
}

static void barrier_adj(ba_rec *r, char *scratch)
{
    (void)r, (void)scratch; /* never run: the sweep stops at a barrier (ba_tape_paused) */
}

/* ---- the packed records ------------------------------------------------------------ */

static uint64_t ld8(const unsigned char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

static unsigned char *put_v(unsigned char *o, uint64_t v)
{
    const int bits = 64 - __builtin_clzll(v | 1), L = (bits + 6) / 7;
    if (L > 8) {
        *o = 0;
        memcpy(o + 1, &v, 8);
        return o + 9;
    }
    const uint64_t x = v << L | (uint64_t)1 << (L - 1);
    memcpy(o, &x, 8);
    return o + L;
}

static const unsigned char *get_v(const unsigned char *i, uint64_t *v)
{
    if (!*i) {
        *v = ld8(i + 1);
        return i + 9;
    }
    const int L = __builtin_ctz(*i) + 1;
    *v = ld8(i) >> L & (((uint64_t)1 << 7 * L) - 1);
    return i + L;
}

/* set bits (__builtin_popcountll is a library call without -mpopcnt) */
static int bits(uint64_t x)
{
    x -= x >> 1 & 0x5555555555555555ull;
    x = (x & 0x3333333333333333ull) + (x >> 2 & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (int)(x * 0x0101010101010101ull >> 56);
}

static uint64_t zz(uint64_t v) { return v << 1 ^ (uint64_t)-(int64_t)(v >> 63); }
static uint64_t unzz(uint64_t u) { return u >> 1 ^ (uint64_t)-(int64_t)(u & 1); }

/* two 32-bit ints (zigzag), their low bytes first: small pairs make small words */
static uint64_t pair_code(uint64_t u)
{
    const uint64_t a = (uint32_t)(u << 1 ^ (uint64_t)-(int64_t)(u >> 31 & 1)),
                   b = (uint32_t)((u >> 32) << 1 ^ (uint64_t)-(int64_t)(u >> 63));
    return (a & 0xff) | (b & 0xff) << 8 | (a >> 8) << 16 | (b >> 8) << 40;
}

static uint64_t pair_word(uint64_t v)
{
    const uint64_t a = (v & 0xff) | (v >> 16 & 0xffffff) << 8, b = (v >> 8 & 0xff) | (v >> 40) << 8;
    return (uint32_t)(a >> 1 ^ (uint64_t)-(int64_t)(a & 1)) | (uint64_t)(uint32_t)(b >> 1 ^ (uint64_t)-(int64_t)(b & 1)) << 32;
}

/* adjoints are coded from this address: the rules lie near it, a few bytes of difference */
static uint64_t fn_base(void)
{
    const ba_adjoint f = barrier_adj;
    uint64_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
_Static_assert(sizeof(ba_adjoint) == 8, "an adjoint's address is a word");

/* Bit i: word i of the records at b and t differ (t NULL: the zero record). */
static uint64_t diff_words(const unsigned char *b, const unsigned char *t)
{
#if defined(__SSE2__)
    /* two words a block: the four 32-bit halves equal (movmskps), a word equal when both are */
    static const uint8_t two[16] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 2, 2, 2, 3};
    uint64_t same = 0;
    for (int i = 0; i < NWORDS / 2; i++) {
        const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + 16 * i)),
                      y = t ? _mm_loadu_si128((const __m128i *)(const void *)(t + 16 * i)) : _mm_setzero_si128();
        same |= (uint64_t)two[_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(x, y)))] << 2 * i;
    }
    const uint64_t last = ld8(b + 8 * (NWORDS - 1)) != (t ? ld8(t + 8 * (NWORDS - 1)) : 0);
    return (~same & (((uint64_t)1 << (NWORDS - 1)) - 1)) | last << (NWORDS - 1);
#else
    uint64_t d = 0;
    for (int i = 0; i < NWORDS; i++) d |= (uint64_t)(ld8(b + 8 * i) != (t ? ld8(t + 8 * i) : 0)) << i;
    return d;
#endif
}

static void zero_rec(unsigned char *b)
{
#if defined(__SSE2__)
    for (int i = 0; i < NWORDS / 2; i++) _mm_storeu_si128((__m128i *)(void *)(b + 16 * i), _mm_setzero_si128());
    memset(b + 16 * (NWORDS / 2), 0, 8);
#else
    memset(b, 0, 8 * NWORDS);
#endif
}

/* The words of mask m, coded, from o on; their widths into *cb from bit 2k on (k: the count so
 * far; 32 widths a word). One loop per kind: the coding is the loop's, no branch per word. */
#define PUT_WORDS(m, code)                                                                         \
    for (uint64_t m_ = (m); m_; m_ &= m_ - 1, k++) {                                               \
        const uint64_t u = ld8(b + 8 * __builtin_ctzll(m_)), v = (code);                           \
        const uint64_t w = (uint64_t)(v > 0xff) + (v > 0xffff) + (v > 0xffffffffu); /* 1 << w bytes */ \
        memcpy(o, &v, 8);                                                                          \
        o += 1 << w;                                                                               \
        if (k < 32) cb[0] |= w << 2 * k;                                                           \
        else cb[1] |= w << 2 * (k - 32);                                                           \
    }

/* A template for r (its words but for those of the live arguments, `held`): the latest one of
 * its adjoint, a new one when that differs in more than a few words, or none (the zero record)
 * when that is closer; its index + 1 (0: none) to *id, the words that differ returned. New ones
 * are kept to one per 16 records (plus 64): a program whose calls change shape each time costs
 * no more than the zero template does. */
static uint64_t tpl_pick(ba_tape *t, const ba_rec *r, uint64_t held, int64_t *id)
{
    const unsigned char *b = (const unsigned char *)r;
    uint64_t fa;
    memcpy(&fa, &r->adjoint, 8);
    int64_t *slot = &t->slot[(fa >> 4 ^ fa >> 10) & (SLOTS - 1)];
    uint64_t d = *slot ? diff_words(b, (const unsigned char *)&t->tpl[*slot - 1]) & held : ~(uint64_t)0;
    if (bits(d) <= 4) {
        *id = *slot;
        return d;
    }
    if (t->n_tpl < 64 + t->ncalls / 16) { /* a new template: r itself (nothing held, then) */
        if (t->n_tpl == t->cap_tpl) {
            const int64_t cap = t->cap_tpl ? 2 * t->cap_tpl : 16;
            ba_rec *tpl = realloc(t->tpl, (size_t)cap * sizeof *tpl); /* (none is no failure) */
            if (tpl) t->tpl = tpl, t->cap_tpl = cap;
        }
        if (t->n_tpl < t->cap_tpl) {
            t->tpl[t->n_tpl++] = *r;
            *slot = *id = t->n_tpl;
            return 0;
        }
    }
    const uint64_t z = diff_words(b, NULL) & held;
    if (bits(z) <= bits(d)) {
        *id = 0;
        return z;
    }
    *id = *slot;
    return d;
}

/* r packed at the end of c (which has MAXREC bytes left), a[j] raw for each bit j of live; the
 * raw copies' addresses to raw[j]. */
static void rec_put(ba_tape *t, ba_chunk *c, const ba_rec *r, unsigned live, ba_arg **raw)
{
    const unsigned char *b = (const unsigned char *)r;
    uint64_t held = ((uint64_t)1 << NWORDS) - 1;
    for (int j = 0; j < 4; j++)
        if (live >> j & 1) held &= ~((((uint64_t)1 << 9) - 1) << W(a[j])); /* (held raw) */
    int64_t id;
    const uint64_t present = tpl_pick(t, r, held, &id);
    unsigned inline_owns = r->adjoint == barrier_adj; /* memory the raw arguments do not show */
    for (int j = 0; j < 4; j++) inline_owns |= r->a[j].snap && !(live >> j & 1);
    const int np = bits(present);
    unsigned char *const s = c->data + c->used;
    unsigned char *const cls = put_v(put_v(s, present << M_WORDS | (inline_owns ? M_OWNS : 0u) | live), (uint64_t)id);
    unsigned char *o = cls + (2 * np + 7) / 8;
    if (live) {
        while ((uintptr_t)o & 7) *o++ = 0;
        for (int j = 0; j < 4; j++)
            if (live >> j & 1) {
                memcpy(o, &r->a[j], sizeof(ba_arg));
                raw[j] = (ba_arg *)(void *)o;
                o += sizeof(ba_arg);
            }
    }
    uint64_t cb[2] = {0, 0}, prev = 0, p; /* (cb: in registers, its index being known) */
    const uint64_t fb = fn_base();
    int k = 0;
    PUT_WORDS(present & K_FN, zz(u - fb))
    PUT_WORDS(present & K_PTR, (p = prev, prev = u, zz(u - p)))
    PUT_WORDS(present & K_INT, zz(u))
    PUT_WORDS(present & K_DBL, __builtin_bswap64(u))
    PUT_WORDS(present & K_PAIR, pair_code(u))
    PUT_WORDS(present & K_RAW, u)
    memcpy(cls, cb, (size_t)(2 * np + 7) / 8);
    const size_t len = (size_t)(o - s);
    if (len < 128) {
        *o++ = (unsigned char)len;
    } else {
        *o++ = (unsigned char)(len >> 7);
        *o++ = (unsigned char)(0x80 | (len & 0x7f));
    }
    c->used += (size_t)(o - s);
    c->n++;
    if (live || inline_owns) c->owns = 1;
}

/* The record of c that ends at byte `end`: where it starts. */
static size_t rec_start(const ba_chunk *c, size_t end)
{
    const unsigned char *d = c->data;
    size_t t = end - 1, len = d[t];
    if (len & 0x80) {
        t--;
        len = (size_t)d[t] << 7 | (len & 0x7f);
    }
    return t - len;
}

/* The record of c that starts at byte `start`: its mask; its template (*id), its widths at *cls,
 * its live arguments (raw) at *raw (NULL: none), its words at *words. */
static uint64_t rec_head(const ba_chunk *c, size_t start, uint64_t *id, const unsigned char **cls, ba_arg **raw,
                         const unsigned char **words)
{
    uint64_t mask;
    *cls = get_v(get_v(c->data + start, &mask), id);
    const unsigned char *o = *cls + (2 * bits(mask >> M_WORDS) + 7) / 8;
    *raw = NULL;
    if (mask & 15) {
        o += (8 - ((uintptr_t)o & 7)) & 7;
        *raw = (ba_arg *)(void *)o;
        o += sizeof(ba_arg) * (size_t)bits(mask & 15);
    }
    *words = o;
    return mask;
}

#define GET_WORDS(m, decode)                                                                       \
    for (uint64_t m_ = (m); m_; m_ &= m_ - 1) {                                                    \
        const unsigned w = (unsigned)(cb & 3);                                                     \
        const uint64_t v = ld8(i) & keep[w];                                                       \
        i += 1 << w;                                                                               \
        cb = ++k == 32 ? ld8(cls + 8) : cb >> 2;                                                   \
        const uint64_t u = (decode);                                                               \
        memcpy(b + 8 * __builtin_ctzll(m_), &u, 8);                                                \
    }

/* The record of c that ends at byte `end`, unpacked into r: where it starts. */
static size_t rec_get(const ba_tape *t, const ba_chunk *c, size_t end, ba_rec *r)
{
    static const uint64_t keep[4] = {0xff, 0xffff, 0xffffffffu, ~(uint64_t)0};
    const size_t start = rec_start(c, end);
    const unsigned char *cls, *i;
    ba_arg *raw;
    uint64_t id;
    const uint64_t mask = rec_head(c, start, &id, &cls, &raw, &i), present = mask >> M_WORDS;
    unsigned char *b = (unsigned char *)r;
    if (id) *r = t->tpl[id - 1];
    else zero_rec(b);
    for (int j = 0; j < 4; j++)
        if (mask >> j & 1) r->a[j] = *raw++;
    uint64_t cb = ld8(cls), prev = 0;
    const uint64_t fb = fn_base();
    int k = 0;
    GET_WORDS(present & K_FN, fb + unzz(v))
    GET_WORDS(present & K_PTR, prev += unzz(v))
    GET_WORDS(present & K_INT, unzz(v))
    GET_WORDS(present & K_DBL, __builtin_bswap64(v))
    GET_WORDS(present & K_PAIR, pair_word(v))
    GET_WORDS(present & K_RAW, v)
    return start;
}

/* The offset in c where its record at position pos starts (c->used: none left there). */
static size_t rec_at(const ba_chunk *c, int64_t pos)
{
    size_t e = c->used;
    for (int64_t k = c->base + c->n; k > pos && e; k--) e = rec_start(c, e);
    return e;
}

/* A record's own memory: its snapshots (and a barrier's references) */
static void free_rec(ba_rec *r)
{
    for (int j = 0; j < 4; j++) snap_free(&r->a[j]);
    if (r->adjoint == barrier_adj) {
        ba_arg *refs = (ba_arg *)r->q[0];
        for (int64_t i = 0; i < r->s[1]; i++) snap_free(&refs[i]);
        free(refs);
    }
}

/* The records of c from byte `from` on: their memory freed */
static void free_recs(const ba_tape *t, const ba_chunk *c, size_t from)
{
    if (!c->owns) return;
    ba_rec r;
    const unsigned char *cls, *words;
    ba_arg *raw;
    uint64_t id;
    for (size_t e = c->used; e > from;) {
        const size_t start = rec_start(c, e);
        const uint64_t mask = rec_head(c, start, &id, &cls, &raw, &words);
        if (mask & M_OWNS) {
            rec_get(t, c, e, &r);
            free_rec(&r);
        } else {
            for (int j = 0; j < bits(mask & 15); j++) snap_free(&raw[j]);
        }
        e = start;
    }
}

static void release(ba_tape *t)
{
    ba_chunk *c = t->head;
    while (c) {
        free_recs(t, c, 0);
        ba_chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    t->head = NULL;
    free(t->tpl); /* (after the records that refer to them) */
    t->tpl = NULL;
    t->n_tpl = t->cap_tpl = 0;
    memset(t->slot, 0, sizeof t->slot);
    os_free(&t->live);
    big_free(t->buf);
    t->buf = NULL;
    t->nbuf = 0;
    t->max_span = 0;
}

void ba_tape_free(ba_tape *t)
{
    if (!t) return;
    release(t);
    OS_EACH(&t->reg, p) block_give((char *)os_at(&t->reg, p)[4]);
    ba_log_free(t->log);
    os_free(&t->reg);
    free(t->chunks);
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
    t->se = 0;
    memset(t->invalid, 0, sizeof t->invalid);
}


/* Do bytes [lo, hi) meet a region? */
static int meets_region(const ba_tape *t, intptr_t lo, intptr_t hi)
{
    opos p = os_search(&t->reg, lo, 1); /* the first region starting past lo */
    if (!os_end(&t->reg, p) && hi > os_at(&t->reg, p)[0]) return 1;
    return os_prev(&t->reg, &p) && os_at(&t->reg, p)[1] > lo;
}

/* A new region [lo, hi) whose shadow starts at shadow_lo: its entry, or NULL with *rc -2 (it meets
 * a region) or -1 (out of memory). */
static intptr_t *add_region(ba_tape *t, intptr_t lo, intptr_t hi, intptr_t shadow_lo, int *rc)
{
    *rc = meets_region(t, lo, hi) ? -2 : -1;
    const intptr_t e[RW] = {lo, hi, shadow_lo, 0 /* not written yet */, 0, t->reg_seq};
    intptr_t *r = *rc == -2 ? NULL : os_insert(&t->reg, e);
    if (r) t->reg_seq++;
    return r;
}

int ba_tape_add_region(ba_tape *t, intptr_t lo, intptr_t hi, intptr_t shadow_lo)
{
    int rc;
    return add_region(t, lo, hi, shadow_lo, &rc) ? 0 : rc;
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

static char *block_take(int64_t need, int zero)
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
        if (zero) memset(b + 64, 0, (size_t)need); /* it held a shadow */
        return b;
    }
    b = zero ? calloc(1, (size_t)need + 64) : malloc((size_t)need + 64); /* (fresh pages come zeroed) */
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

/* Big buffers the tape frees itself (snapshots, the sweep's scratch) are pool blocks too, lent
 * out (their data after the header): no fresh pages to fault in for each tape (a 768 x 768
 * trmm's snapshot and scratch: 2 x 4.7 MB, ~2,200 page faults a call). lent: the blocks out
 * now, which big_free tells from malloc's memory (a record's snapshot slot may also hold a
 * buffer of its own: LAPACK's tau, U, Vᴴ). Under pool.lock. */
#define BIG ((size_t)256 << 10)
#define LENT_MAX 64
static char *lent[LENT_MAX];
static atomic_int nlent; /* (read without the lock: none out, plain memory) */

static void *big_alloc(size_t bytes)
{
    if (bytes < BIG) return ba_malloc(bytes);
    char *b = block_take((int64_t)bytes, 0);
    if (!b) return NULL;
    pthread_mutex_lock(&pool.lock);
    const int room = nlent < LENT_MAX;
    if (room) lent[nlent++] = b;
    pthread_mutex_unlock(&pool.lock);
    if (room) return b + 64;
    block_give(b); /* (many out at once: plain memory for this one) */
    return malloc(bytes);
}

static void big_free(void *p)
{
    if (!p) return;
    if (!atomic_load_explicit(&nlent, memory_order_relaxed)) {
        free(p);
        return;
    }
    char *b = (char *)p - 64;
    int found = 0;
    pthread_mutex_lock(&pool.lock);
    for (int i = 0; i < nlent && !found; i++)
        if (lent[i] == b) lent[i] = lent[--nlent], found = 1;
    pthread_mutex_unlock(&pool.lock);
    if (found) block_give(b);
    else free(p);
}

static void snap_free(const ba_arg *a) { big_free(a->snap); }

char *ba_pool_take(int64_t bytes)
{
    char *b = block_take(bytes, 0);
    return b ? b + 64 : NULL;
}

void ba_pool_give(char *p)
{
    if (p) block_give(p - 64);
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
    if (meets_region(t, lo, hi)) return -2; /* (before a block is taken) */
    const int64_t bytes = hi - lo;
    char *b = block_take(bytes + 64, 1);
    if (!b) return -1;
    char *data = b + 64;
    char *shadow = data + (((lo - (intptr_t)data) % 64) + 64) % 64;
    int rc;
    intptr_t *r = add_region(t, lo, hi, (intptr_t)shadow, &rc);
    if (!r) {
        block_give(b);
        return -1;
    }
    r[4] = (intptr_t)b;
    return (intptr_t)shadow;
}

/* The region holding byte ptr (its entry: lo, hi, shadow_lo, written), or NULL. */
static intptr_t *region_of(ba_tape *t, intptr_t ptr)
{
    opos p = os_search(&t->reg, ptr, 1);
    return os_prev(&t->reg, &p) && ptr < os_at(&t->reg, p)[1] ? os_at(&t->reg, p) : NULL;
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
    const opos next = os_search(&t->reg, lo, 1);
    opos q = next;
    const intptr_t *r = os_prev(&t->reg, &q) && lo < os_at(&t->reg, q)[1] ? os_at(&t->reg, q) : NULL;
    if (r) return hi <= r[1] ? p - r[0] + r[2] : -1;
    return !os_end(&t->reg, next) && os_at(&t->reg, next)[0] < hi ? -1 : 0; /* a region starting inside the span */
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
        char *buf = big_alloc(need);
        if (!buf) return -1;
        big_free(t->buf);
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
        OS_EACH(&t->reg, p) {
            const intptr_t *r = os_at(&t->reg, p);
            memset((char *)r[2], 0, (size_t)(r[1] - r[0]));
        }
    }
    OS_EACH(&t->live, p) verify(t, (const ba_arg *)os_at(&t->live, p)[1]);
    if (t->tampered) return -3;
    return scratch_ready(t);
}

static int in_records_from(const ba_tape *t, const ba_arg *a, const ba_chunk *c, size_t off);

/* The sweep stopped at barrier b (which ends at byte `end` of chunk c): the loop's re-runs are
 * about to write what it and the records after it (swept) reference; none of those need a copy
 * any more. */
static void retire(ba_tape *t, const ba_rec *b, const ba_chunk *c, size_t end)
{
    const ba_arg *refs = (const ba_arg *)b->q[0];
    for (opos p = {0, 0}; !os_end(&t->live, p);) {
        const ba_arg *a = (const ba_arg *)os_at(&t->live, p)[1];
        p = (a >= refs && a < refs + b->s[1]) || in_records_from(t, a, c, end) ? os_erase(&t->live, p)
                                                                               : os_next(&t->live, p);
    }
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
        t->se = t->sc ? t->sc->used : 0;
    }
    ba_rec r; /* the record unpacked: what its adjoint reads */
    while (t->sc) {
        while (t->se > 0) {
            if (atomic_load_explicit(&t->cancel, memory_order_relaxed)) return -4;
            const size_t end = t->se, start = rec_get(t, t->sc, end, &r);
            if (r.adjoint == barrier_adj) { /* a checkpointed loop: the front end reverses it */
                t->se = start;
                t->paused_rec = r;
                t->paused = &t->paused_rec;
                retire(t, t->paused, t->sc, end);
                return 1;
            }
#ifdef BA_CHECKED
            ba_checked_reset();
            for (int j = 0; j < 4; j++) ba_chk_allow_arg(&r.a[j]);
            ba_chk_allow_range(scratch, t->scratch);
            ba_chk_allow_range(r.alpha_bar, 16);
            ba_chk_allow_range(r.beta_bar, 16);
#endif
            r.adjoint(&r, scratch);
            t->se = start;
        }
        t->sc = t->sc->prev;
        t->se = t->sc ? t->sc->used : 0;
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
    if (nlive && os_reserve(&t->live, nlive)) return NULL;
    if (!t->head || t->head->cap - t->head->used < MAXREC) { /* chunks of 4 KiB, doubling to 64 */
        size_t bytes = t->head ? 2 * (sizeof *t->head + t->head->cap) : 4096;
        if (bytes > CHUNK_MAX) bytes = CHUNK_MAX;
        ba_chunk *c = ba_malloc(bytes);
        if (!c) return NULL;
        c->prev = t->head;
        c->base = t->head ? t->head->base + t->head->n : 0;
        c->n = 0;
        c->used = 0;
        c->cap = bytes - sizeof *c;
        c->owns = 0;
        t->head = c;
    }
    memset(&t->stage, 0, sizeof t->stage);
    return &t->stage;
}

void ba_rec_abort(ba_tape *t, ba_rec *r)
{
    (void)t;
    if (!r) return;
    for (int j = 0; j < 4; j++) {
        snap_free(&r->a[j]);
        r->a[j].snap = NULL;
    }
}

static int64_t arg_bytes(const ba_arg *a) { return a->rows * a->cols * a->es; }

static int64_t span(const ba_arg *a); /* bytes from the lowest to past the highest element */
static int same_range(const ba_arg *a, const ba_arg *b);

/* Keep live sorted by address so that copy-on-write only looks near a write (room reserved by
 * ba_rec_begin: it cannot fail). */
static void live_insert(ba_tape *t, ba_arg *a)
{
    const intptr_t e[2] = {(intptr_t)a->p, (intptr_t)a};
    os_insert(&t->live, e);
    int64_t s = span(a);
    if (s > t->max_span) t->max_span = s;
}

void ba_rec_commit(ba_tape *t, ba_rec *r, ba_adjoint adj, unsigned needed, size_t scratch)
{
    r->adjoint = adj;
    needed &= 15u;
    for (int j = 0; j < 4; j++)
        if (t->check && (needed & (1u << j))) r->a[j].sum = checksum(&r->a[j]);
    ba_arg *raw[4];
    rec_put(t, t->head, r, needed, raw);
    for (int j = 0; j < 4; j++)
        if (needed & (1u << j)) { /* the record's own copy, which ba_cow may redirect */
            live_insert(t, raw[j]);
            t->bytes_referenced += arg_bytes(raw[j]);
        }
    if (r->a[3].snap) t->bytes_copied += arg_bytes(&r->a[3]);
    if (scratch > t->scratch) t->scratch = scratch;
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
    char *snap = big_alloc(bytes ? bytes : 1);
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
    if (!wspan || !t->live.n) return 0;
    /* candidates start at most max_span bytes below the write */
    const uintptr_t wlo = (uintptr_t)fw.lo, from = wlo > (uintptr_t)t->max_span ? wlo - (uintptr_t)t->max_span : 0;
    ba_arg *done = NULL; /* the last range copied: readers of exactly that range share it */
    ba_arg orig;
    for (opos p = os_search(&t->live, (intptr_t)from, 0);
         !os_end(&t->live, p) && (uintptr_t)os_at(&t->live, p)[0] < wlo + (uintptr_t)wspan;) {
        ba_arg *a = (ba_arg *)os_at(&t->live, p)[1];
        fp_t fa = footprint(a);
        if (!overlaps(&fw, &fa)) {
            p = os_next(&t->live, p);
            continue;
        }
        if (done && same_range(a, &orig) && !t->ck && !t->paused) { /* (a checkpointed loop drops
            records: each keeps its own copy) */
            a->p = done->p;
            a->ld = done->ld;
            p = os_erase(&t->live, p);
            continue;
        }
        orig = *a;
        verify(t, a); /* the values must still be those the call read */
        if (ba_snapshot(t, a, a)) return -1; /* (a stays: nothing of it changed) */
        done = a;
        p = os_erase(&t->live, p);
    }
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

/* Is a (a live reference) inside a record from byte off of chunk c on (c's and the newer
 * chunks' records)? */
static int in_records_from(const ba_tape *t, const ba_arg *a, const ba_chunk *c, size_t off)
{
    for (const ba_chunk *d = t->head; d; d = d->prev) {
        const unsigned char *lo = d->data + (d == c ? off : 0), *p = (const unsigned char *)a;
        if (p >= lo && p < d->data + d->used) return 1;
        if (d == c) break;
    }
    return 0;
}

/* Where the record at position pos starts: in *c (the newest chunk with base <= pos; NULL when
 * there is none) at byte *off (c->used: in no chunk up to c). */
static void rec_find(const ba_tape *t, int64_t pos, ba_chunk **c, size_t *off)
{
    ba_chunk *d = t->head;
    while (d && d->base > pos) d = d->prev;
    *c = d;
    *off = d ? rec_at(d, pos) : 0;
}

void ba_tape_truncate(ba_tape *t, int64_t pos)
{
    ba_chunk *c;
    size_t off;
    rec_find(t, pos, &c, &off);
    for (opos p = {0, 0}; !os_end(&t->live, p);)
        p = in_records_from(t, (const ba_arg *)os_at(&t->live, p)[1], c, off) ? os_erase(&t->live, p)
                                                                               : os_next(&t->live, p);
    while (t->head && t->head != c) {
        ba_chunk *d = t->head;
        free_recs(t, d, 0);
        t->head = d->prev;
        free(d);
    }
    if (c && c->base + c->n > pos) {
        free_recs(t, c, off);
        c->used = off;
        c->n = pos - c->base;
    }
    if (t->ncalls > pos) t->ncalls = pos;
}

int ba_tape_sweep_from(ba_tape *t, int64_t pos)
{
    if (scratch_ready(t)) return -1;
    ba_rec r;
    for (ba_chunk *c = t->head; c && c->base + c->n > pos; c = c->prev) {
        int64_t i = c->base + c->n; /* past the record that ends at e */
        for (size_t e = c->used; e && --i >= pos;) {
            e = rec_get(t, c, e, &r);
#ifdef BA_CHECKED
            ba_checked_reset();
            for (int j = 0; j < 4; j++) ba_chk_allow_arg(&r.a[j]);
            ba_chk_allow_range(t->buf, t->scratch);
            ba_chk_allow_range(r.alpha_bar, 16);
            ba_chk_allow_range(r.beta_bar, 16);
#endif
            r.adjoint(&r, t->buf);
        }
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
    ba_arg *raw[4];
    rec_put(t, t->head, r, 0u, raw);
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
    opos p = os_search(&t->reg, lo, 1);
    if (!os_prev(&t->reg, &p) || os_at(&t->reg, p)[0] != lo) return -1;
    block_give((char *)os_at(&t->reg, p)[4]);
    os_erase(&t->reg, p);
    return 0;
}

int64_t ba_tape_nbytes(ba_tape *t)
{
    int64_t b = (int64_t)sizeof *t + os_bytes(&t->live) + os_bytes(&t->reg) +
                (int64_t)t->nbuf + t->cap_tpl * (int64_t)sizeof *t->tpl;
    OS_EACH(&t->reg, p)
        if (os_at(&t->reg, p)[4]) b += capacity((const char *)os_at(&t->reg, p)[4]);
    ba_rec rec, *r = &rec;
    for (const ba_chunk *c = t->head; c; c = c->prev) {
        b += (int64_t)(sizeof *c + c->cap);
        if (!c->owns) continue;
        for (size_t e = c->used; e;) {
            e = rec_get(t, c, e, r);
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
    OS_EACH(&t->reg, p)
        if (os_at(&t->reg, p)[5] >= seq) {
            if (k < max) o[k] = os_at(&t->reg, p)[0];
            k++;
        }
    return k;
}

/* ---- the scalar pool's chunks ------------------------------------------------------------------
 * The front end makes each chunk (csrc/fast.c pool_grow: its memory, its region) and holds its
 * owner, a Python object, until it frees the tape; the tape lists the owners, in order made, for
 * the front end to find them (Tape._pool_chunks) and let them go. */
int ba_tape_pool_add(ba_tape *t, intptr_t p, int64_t nslots, void *owner)
{
    void **c = ba_realloc(t->chunks, (size_t)(t->nchunks + 1) * sizeof *c);
    if (!c) return -1;
    t->chunks = c;
    c[t->nchunks++] = owner;
    set_pool(t, p, nslots, (intptr_t)owner);
    return 0;
}

int64_t ba_tape_pool_nchunks(ba_tape *t) { return t->nchunks; }

void *ba_tape_pool_chunk(ba_tape *t, int64_t i) { return i >= 0 && i < t->nchunks ? t->chunks[i] : NULL; }
