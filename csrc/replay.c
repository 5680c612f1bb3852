/* Replay (DESIGN §8): a replay tape's log of the calls made while it recorded, and their rerun.
 *
 * Every recorded call reaches the C core through one entry: a spec routine's ba_<name>, ba_copy2d
 * (the validating path's staging copies) or ba_scalar_rec (active scalars). ba_entry runs any of
 * them from its arguments as words, and on a replay tape appends the call to the log: its entry,
 * dtype, order, words, and the read scalars whose values live in 0-d arrays (an earlier call may
 * have computed them: CG's rr / pAp). ba_tape_replay rewinds the tape (no record, no snapshot)
 * and calls every logged entry again with those scalars read anew, so the records, the
 * copy-on-write snapshots and the values they hold are those of a recording at the new point. */
#include <complex.h>
#include <stdlib.h>

#include "tape.h"

enum { MAX_WORDS = 64, MAX_SRC = 8 };

typedef struct {
    int32_t r, nw, nsrc;
    int16_t dtype, order;
} entry_head; /* then nw words, then nsrc sources */

struct ba_log {
    char *buf; /* entries, each 8-byte aligned */
    size_t n, cap;
    int failed; /* the entry index of the first LAPACK call the latest replay saw fail */
};

static int n_entries(void) { return ba_spec_index(NULL); }

int ba_entry_index(const char *name)
{
    if (!strcmp(name, "copy2d")) return n_entries();
    if (!strcmp(name, "scalar_op")) return n_entries() + 1;
    return ba_spec_index(name);
}

int ba_tape_set_replay(ba_tape *t)
{
    if (ba_tape_log(t)) return 0;
    ba_log *log = calloc(1, sizeof *log);
    if (!log) return -1;
    ba_tape_set_log(t, log);
    return 0;
}

void ba_log_free(ba_log *log)
{
    if (!log) return;
    free(log->buf);
    free(log);
}

int64_t ba_tape_log_bytes(ba_tape *t)
{
    const ba_log *log = ba_tape_log(t);
    return log ? (int64_t)log->n : 0;
}

int ba_tape_replay_failed(ba_tape *t)
{
    const ba_log *log = ba_tape_log(t);
    return log ? log->failed : -1;
}

static size_t entry_bytes(int64_t nw, int64_t nsrc)
{
    return sizeof(entry_head) + (size_t)nw * sizeof(ba_word) + (size_t)nsrc * sizeof(ba_src);
}

/* Routine r's entry with words w (the dispatch behind ba_entry and the replay). */
static int run_entry(ba_tape *t, int r, int dtype, int order, const ba_word *w, int64_t nw)
{
    const int n = n_entries();
    if (r >= 0 && r < n) return ba_entry_call(t, r, dtype, order, w, nw);
    if (r == n) /* copy2d */
        return nw != 10 ? -2
                        : ba_copy2d(t, dtype, w[0].i, w[1].i, (intptr_t)w[2].i, w[3].i, w[4].i, (intptr_t)w[5].i,
                                    (intptr_t)w[6].i, w[7].i, w[8].i, (intptr_t)w[9].i);
    if (r == n + 1) /* scalar_op */
        return nw != 12 ? -2
                        : ba_scalar_rec(t, (int)w[0].i, (int)w[1].i, (char *)w[2].i, (char *)w[3].i,
                                        CMPLX(w[4].x, w[5].x), (int)w[6].i, (char *)w[7].i, CMPLX(w[8].x, w[9].x),
                                        (int)w[10].i, (char *)w[11].i);
    return -2;
}

int ba_entry(ba_tape *t, int r, int dtype, int order, const ba_word *w, int64_t nw, const ba_src *src, int64_t nsrc)
{
    ba_log *log = t ? ba_tape_log(t) : NULL;
    if (!log) return run_entry(t, r, dtype, order, w, nw);
    if (nw > MAX_WORDS || nsrc > MAX_SRC || nsrc < 0 || nw < 0) return -2;
    const size_t need = entry_bytes(nw, nsrc);
    if (log->n + need > log->cap) { /* room first: a call that ran is always logged */
        size_t cap = log->cap ? 2 * log->cap : 4096;
        while (cap < log->n + need) cap *= 2;
        char *buf = realloc(log->buf, cap);
        if (!buf) return -1;
        log->buf = buf;
        log->cap = cap;
    }
    const int rc = run_entry(t, r, dtype, order, w, nw);
    if (rc == 0 || rc >= BA_INFO) {
        char *e = log->buf + log->n;
        const entry_head h = {r, (int32_t)nw, (int32_t)nsrc, (int16_t)dtype, (int16_t)order};
        memcpy(e, &h, sizeof h);
        memcpy(e + sizeof h, w, (size_t)nw * sizeof *w);
        if (nsrc) memcpy(e + sizeof h + (size_t)nw * sizeof *w, src, (size_t)nsrc * sizeof *src);
        log->n += need;
    }
    return rc;
}

int ba_log_run(ba_log *log, ba_tape *t, int64_t times)
{
    log->failed = -1;
    int first = 0;
    ba_word w[MAX_WORDS];
    for (int64_t k = 0; k < times; k++)
        for (size_t at = 0; at < log->n;) {
            entry_head h;
            memcpy(&h, log->buf + at, sizeof h);
            memcpy(w, log->buf + at + sizeof h, (size_t)h.nw * sizeof *w);
            const ba_src *src = (const ba_src *)(log->buf + at + sizeof h + (size_t)h.nw * sizeof *w);
            for (int i = 0; i < h.nsrc; i++) { /* a scalar held in a 0-d array: its value now */
                const double complex v = ba_scalar_load((const char *)src[i].p, src[i].dtype);
                w[src[i].word].x = creal(v);
                w[src[i].word + 1].x = cimag(v);
            }
#ifdef BA_CHECKED /* the calls were checked against their arrays when recorded; the log holds no objects */
            ba_checked_reset();
            ba_chk_allow_range((const void *)1, SIZE_MAX / 2);
#endif
            const int rc = run_entry(t, h.r, h.dtype, h.order, w, h.nw);
            if (rc >= BA_INFO && !first) {
                first = rc;
                log->failed = h.r;
            } else if (rc && rc < BA_INFO) {
                return rc;
            }
            at += entry_bytes(h.nw, h.nsrc);
        }
    return first;
}

int ba_tape_replay(ba_tape *t)
{
    ba_log *log = ba_tape_log(t);
    if (!log) return -2;
    ba_tape_rewind(t);
    return ba_log_run(log, t, 1);
}

int ba_tape_log_begin(ba_tape *t)
{
    if (ba_tape_log(t)) return -2;
    return ba_tape_set_replay(t);
}

ba_log *ba_tape_log_end(ba_tape *t)
{
    ba_log *log = ba_tape_log(t);
    ba_tape_set_log(t, NULL);
    return log;
}

/* The same entries with the same words, but for the values of scalars read from 0-d arrays
 * (which a run reads anew). */
int ba_log_same(const ba_log *a, const ba_log *b)
{
    if (a->n != b->n) return 0;
    for (size_t at = 0; at < a->n;) {
        entry_head h, g;
        memcpy(&h, a->buf + at, sizeof h);
        memcpy(&g, b->buf + at, sizeof g);
        if (memcmp(&h, &g, sizeof h)) return 0;
        const size_t words = sizeof h, srcs = words + (size_t)h.nw * sizeof(ba_word);
        if (memcmp(a->buf + at + srcs, b->buf + at + srcs, (size_t)h.nsrc * sizeof(ba_src))) return 0;
        ba_word u[MAX_WORDS], v[MAX_WORDS];
        memcpy(u, a->buf + at + words, (size_t)h.nw * sizeof *u);
        memcpy(v, b->buf + at + words, (size_t)h.nw * sizeof *v);
        const ba_src *src = (const ba_src *)(a->buf + at + srcs);
        for (int i = 0; i < h.nsrc; i++) {
            u[src[i].word].i = v[src[i].word].i = 0;
            u[src[i].word + 1].i = v[src[i].word + 1].i = 0;
        }
        if (memcmp(u, v, (size_t)h.nw * sizeof *u)) return 0;
        at += entry_bytes(h.nw, h.nsrc);
    }
    return 1;
}

int64_t ba_log_nbytes(const ba_log *log) { return (int64_t)(sizeof *log + log->cap); }
