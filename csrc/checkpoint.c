/* A checkpointed loop's state (DESIGN §9): the ranges its steps write, each with its value from
 * before the loop first wrote it, and the snapshots that pack those ranges. */
#include <stdlib.h>

#include "tape.h"

struct ba_ckpt {
    ba_arg *e;      /* the written ranges, in the order the steps first wrote them */
    char **w0;      /* each one's value before that first write (packed) */
    int64_t *first; /* the step that first wrote it */
    int64_t n, cap, step, w0_bytes;
};

ba_ckpt *ba_ckpt_new(void) { return calloc(1, sizeof(ba_ckpt)); }

void ba_ckpt_free(ba_ckpt *ck)
{
    if (!ck) return;
    for (int64_t i = 0; i < ck->n; i++) free(ck->w0[i]);
    free(ck->e);
    free(ck->w0);
    free(ck->first);
    free(ck);
}

void ba_ckpt_set_step(ba_ckpt *ck, int64_t step) { ck->step = step; }
int64_t ba_ckpt_n(ba_ckpt *ck) { return ck->n; }
int64_t ba_ckpt_w0_bytes(ba_ckpt *ck) { return ck->w0_bytes + ck->cap * (int64_t)(sizeof(ba_arg) + 16); }

int ba_ckpt_note(ba_ckpt *ck, const ba_arg *w)
{
    for (int64_t i = ck->n - 1; i >= 0; i--)
        if (ba_same_range(&ck->e[i], w)) return 0;
    if (ck->n == ck->cap) {
        const int64_t cap = ck->cap ? 2 * ck->cap : 16;
        ba_arg *e = realloc(ck->e, (size_t)cap * sizeof *e);
        if (e) ck->e = e;
        char **w0 = e ? realloc(ck->w0, (size_t)cap * sizeof *w0) : NULL;
        if (w0) ck->w0 = w0;
        int64_t *first = w0 ? realloc(ck->first, (size_t)cap * sizeof *first) : NULL;
        if (!first) return -1;
        ck->first = first;
        ck->cap = cap;
    }
    const int64_t bytes = ba_arg_bytes(w);
    char *buf = malloc(bytes ? (size_t)bytes : 1);
    if (!buf) return -1;
    ba_pack(w, buf, 0);
    ck->e[ck->n] = *w;
    ck->e[ck->n].bar = ck->e[ck->n].snap = NULL;
    ck->w0[ck->n] = buf;
    ck->first[ck->n] = ck->step;
    ck->n++;
    ck->w0_bytes += bytes;
    return 0;
}

void ba_ckpt_span(ba_ckpt *ck, int64_t i, intptr_t lohi)
{
    intptr_t *out = (intptr_t *)lohi;
    ba_arg_span(&ck->e[i], &out[0], &out[1]);
}

void ba_ckpt_drop(ba_ckpt *ck, int64_t i)
{
    ck->w0_bytes -= ba_arg_bytes(&ck->e[i]);
    free(ck->w0[i]);
    const size_t m = (size_t)(ck->n - i - 1);
    memmove(ck->e + i, ck->e + i + 1, m * sizeof *ck->e);
    memmove(ck->w0 + i, ck->w0 + i + 1, m * sizeof *ck->w0);
    memmove(ck->first + i, ck->first + i + 1, m * sizeof *ck->first);
    ck->n--;
}

int64_t ba_ckpt_bytes(ba_ckpt *ck, int64_t before)
{
    int64_t b = 0;
    for (int64_t i = 0; i < ck->n && ck->first[i] < before; i++) b += ba_arg_bytes(&ck->e[i]);
    return b;
}

void ba_ckpt_save(ba_ckpt *ck, int64_t before, intptr_t buf)
{
    char *p = (char *)buf;
    for (int64_t i = 0; i < ck->n && ck->first[i] < before; i++) {
        ba_checked_reset(); /* (checked builds: each copy allows its own two ranges) */
        ba_pack(&ck->e[i], p, 0);
        p += ba_arg_bytes(&ck->e[i]);
    }
}

/* The state before step `before` from a snapshot of it (ba_ckpt_save) and the ranges first
 * written later: those take their values from before their first write, latest first, so that
 * where two overlap, the earlier, older value stays (it is the value before the loop). */
void ba_ckpt_load(ba_ckpt *ck, int64_t before, intptr_t buf)
{
    int64_t k = 0;
    while (k < ck->n && ck->first[k] < before) k++;
    for (int64_t i = ck->n - 1; i >= k; i--) {
        ba_checked_reset(); /* (checked builds: each copy allows its own two ranges) */
        ba_pack(&ck->e[i], ck->w0[i], 1);
    }
    const char *p = (const char *)buf;
    for (int64_t i = 0; i < k; i++) {
        ba_checked_reset();
        ba_pack(&ck->e[i], (char *)p, 1);
        p += ba_arg_bytes(&ck->e[i]);
    }
}
