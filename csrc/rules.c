/* Per-precision instantiation of the rules, and the dtype dispatch behind the
 * public entry points of blasad.h and routines.h. */
#include <complex.h>
#include <float.h>
#include <math.h>

#include "tape.h"

/* LAPACK's prototypes, mangled to scipy-openblas64's symbols (scipy_dpotrf_64_, int64 ints) */
#define LAPACK_ILP64
#define LAPACK_GLOBAL(lcname, UCNAME) scipy_##lcname##_64_
#include <lapack.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define CAT3_(a, b, c) a##b##c
#define CAT3(a, b, c) CAT3_(a, b, c)
#define F(name) CAT(name, SUF)
#define CB(name) CAT3(scipy_cblas_, PFX, CAT(name, 64_))
/* LAPACK's Fortran routines as lapack.h declares them (scipy-openblas64's prefixed ILP64
 * symbols, scipy_dpotrf_64_; the macro appends the hidden string lengths) */
#define LP(name) CAT3(scipy_LAPACK_, PFX, CAT(name, 64_))

/* A footprint covering a whole strided 2-D extent, for copy-on-write. Exact for a
 * column-major block; otherwise the byte interval (conservative). */
static ba_arg ba_extent(intptr_t p, int64_t rows, int64_t rs, int64_t cols, int64_t cs, int es)
{
    if (rs == 1 && cs >= rows) return ba_mat(p, cs, 0, rows, cols, es);
    int64_t lo = 0, hi = 0;
    if (rows && cols) {
        lo = (rs < 0 ? (rows - 1) * rs : 0) + (cs < 0 ? (cols - 1) * cs : 0);
        hi = (rs > 0 ? (rows - 1) * rs : 0) + (cs > 0 ? (cols - 1) * cs : 0) + 1;
    }
    return ba_vec(p + lo * es, 1, 0, hi - lo, es);
}

/* flag bits -> CBLAS enum; real types ignore the conjugation bit */
#define CBLAS_FLAG(f, cplx) \
    ((cplx) ? ((f) == 0 ? CblasNoTrans : (f) == 1 ? CblasTrans : (f) == 2 ? CblasConjNoTrans : CblasConjTrans) \
            : ((f) & 1 ? CblasTrans : CblasNoTrans))
#define CONJ_BIT(f, cplx) ((cplx) ? ((f) >> 1) & 1 : 0)
#define ORDER(o) ((o) ? CblasRowMajor : CblasColMajor)

#define T float
#define R float
#define ES 4
#define CPLX 0
#define SUF _s
#define PFX s
#define CONJ(x) (x)
#define MKT(re, im) ((T)(re))
#include "precision.inc"

#define T double
#define R double
#define ES 8
#define CPLX 0
#define SUF _d
#define PFX d
#define CONJ(x) (x)
#define MKT(re, im) ((T)(re))
#include "precision.inc"

#define T float complex
#define R float
#define ES 8
#define CPLX 1
#define SUF _c
#define PFX c
#define CONJ(x) conjf(x)
#define MKT(re, im) CMPLXF((float)(re), (float)(im))
#include "precision.inc"

#define T double complex
#define R double
#define ES 16
#define CPLX 1
#define SUF _z
#define PFX z
#define CONJ(x) conj(x)
#define MKT(re, im) CMPLX((re), (im))
#include "precision.inc"

#define DISPATCH(name, ...)                 \
    switch (dtype) {                        \
    case 0: return name##_s(__VA_ARGS__);   \
    case 1: return name##_d(__VA_ARGS__);   \
    case 2: return name##_c(__VA_ARGS__);   \
    case 3: return name##_z(__VA_ARGS__);   \
    default: return -2;                     \
    }

int ba_copy2d(ba_tape *t, int dtype, int64_t rows, int64_t cols, intptr_t src, int64_t src_rs, int64_t src_cs,
              intptr_t src_bar, intptr_t dst, int64_t dst_rs, int64_t dst_cs, intptr_t dst_bar)
{
    DISPATCH(copy2d, t, rows, cols, src, src_rs, src_cs, src_bar, dst, dst_rs, dst_cs, dst_bar)
}

int64_t ba_iamax(int dtype, int64_t n, intptr_t x, int64_t incx)
{
    DISPATCH(iamax, n, x, incx)
}

/* The spec routines' entries, generated from the specs at build time (tools/gen/entries.py):
 * each a switch over the spec's dtypes calling the rule instantiated above. */
#include "routines.h"
#include "dispatch.inc"
