/* Fast paths: validate and lower the common calls entirely in C.
 *
 * The Python wrappers pass objects by address (CPython's id()); the caller keeps them
 * alive. cffi releases the GIL around every call, so each entry point takes it back
 * (PyGILState_Ensure) before it reads any object, matches flag strings by value, and
 * releases it again around the BLAS work of a large call (WORK_UNLOCKED elements of
 * work or more; a tiny call is over before another thread could use the interpreter).
 * It never touches reference counts or raises. Anything it does not accept in full
 * returns 1 before writing anything, and the validating Python path takes over and
 * produces the result or the error message. 2: the call is valid, active, and an output
 * has no shadow yet; the caller gives it one (Python allocates shadows) and calls again.
 *
 * gemm, gemv and axpy have a function each; the spec-driven routines share one,
 * ba_fast_run, driven by the table tools/gen_fast.py generates (fast_generic.inc). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/ndarraytypes.h>

#include "tape.h"
#include "level1.h"
#include "level2.h"
#include "level2_packed.h"
#include "level3.h"

#define BAIL 1
#define NEEDS_SHADOW 2
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define FLIP(tr) ((tr) ^ 1)

static PyTypeObject *nd_type;
static PyObject *dtypes[2];
static PyTypeObject *float_scalar; /* numpy.float64: a float subclass, its value the float's */

int ba_fast_init(intptr_t ndarray_type, intptr_t f32, intptr_t f64, intptr_t float64_scalar)
{
    nd_type = (PyTypeObject *)ndarray_type;
    dtypes[0] = (PyObject *)f32;
    dtypes[1] = (PyObject *)f64;
    float_scalar = (PyTypeObject *)float64_scalar;
    return 0;
}

/* 0..5 for a one-character str N T C U L R (either case), -1 for anything else. */
static int letter_of(intptr_t o)
{
    PyObject *obj = (PyObject *)o;
    if (!PyUnicode_CheckExact(obj) || PyUnicode_GET_LENGTH(obj) != 1) return -1;
    switch (PyUnicode_READ_CHAR(obj, 0)) {
    case 'N': case 'n': return 0;
    case 'T': case 't': return 1;
    case 'C': case 'c': return 2;
    case 'U': case 'u': return 3;
    case 'L': case 'l': return 4;
    case 'R': case 'r': return 5;
    default: return -1;
    }
}

/* Run `call` (an expression giving an int) with the GIL released when the call does at
 * least WORK_UNLOCKED elements of work; the tape and the kernels touch no Python object. */
#define WORK_UNLOCKED ((int64_t)1 << 15)
#define KERNEL(rc, work, call)                           \
    do {                                                 \
        if ((work) >= WORK_UNLOCKED) {                   \
            PyThreadState *ts_ = PyEval_SaveThread();    \
            rc = (call);                                 \
            PyEval_RestoreThread(ts_);                   \
        } else {                                         \
            rc = (call);                                 \
        }                                                \
    } while (0)

/* "N" -> BA_N, "T"/"C" -> BA_T (the fast paths are real: conjugate transpose is
 * transpose); -1: anything else */
static int flag_of(intptr_t o)
{
    const int l = letter_of(o);
    return l == 0 ? BA_N : l == 1 || l == 2 ? BA_T : -1;
}

typedef struct {
    char *p;
    int64_t rows, cols, s0, s1; /* element strides; a vector has cols = 1 */
} nd_t;

/* An exact numpy.ndarray of ndim nd whose dtype is float32/float64 (and equal to *dt
 * once that is set), with strides in whole elements. */
static int as_array(intptr_t o, int nd, int *dt, nd_t *a)
{
    PyObject *obj = (PyObject *)o;
    if (!nd_type || Py_TYPE(obj) != nd_type) return 0;
    PyArrayObject *arr = (PyArrayObject *)obj;
    if (PyArray_NDIM(arr) != nd) return 0;
    PyObject *d = (PyObject *)PyArray_DESCR(arr);
    int code = d == dtypes[0] ? 0 : d == dtypes[1] ? 1 : -1;
    if (code < 0 || (*dt >= 0 && *dt != code)) return 0;
    *dt = code;
    const int64_t es = code ? 8 : 4;
    const npy_intp *sh = PyArray_DIMS(arr), *st = PyArray_STRIDES(arr);
    a->p = PyArray_DATA(arr);
    a->rows = nd > 0 ? sh[0] : 1;
    a->cols = nd > 1 ? sh[1] : 1;
    a->s0 = nd > 0 ? st[0] : 0;
    a->s1 = nd > 1 ? st[1] : 0;
    if (a->s0 % es || a->s1 % es) return 0;
    a->s0 /= es;
    a->s1 /= es;
    return 1;
}

static int writeable(intptr_t o) { return PyArray_FLAGS((PyArrayObject *)o) & NPY_ARRAY_WRITEABLE; }

/* Column-major storage of a matrix: ld, and whether the storage is its transpose
 * (row-major). 0 when BLAS cannot address it in place (mirrors _blas_matrix). */
static int blas_matrix(const nd_t *a, int64_t *ld, int *tr)
{
    const int64_t r = a->rows, c = a->cols;
    if ((a->s0 == 1 || r <= 1) && (c <= 1 || a->s1 >= MAX(r, 1))) {
        *ld = c > 1 ? a->s1 : MAX(r, 1);
        *tr = 0;
        return 1;
    }
    if ((a->s1 == 1 || c <= 1) && (r <= 1 || a->s0 >= MAX(c, 1))) {
        *ld = r > 1 ? a->s0 : MAX(c, 1);
        *tr = 1;
        return 1;
    }
    return 0;
}

static ba_arg storage(const nd_t *a, int64_t ld, int tr, int es)
{
    return ba_mat((intptr_t)a->p, ld, 0, tr ? a->cols : a->rows, tr ? a->rows : a->cols, es);
}

/* The shadow of array a (elements of es bytes) on tape t: its address, 0 when a is inactive,
 * -1 when a straddles a tracked region (not a view of the tracked base: the Python path
 * raises the error). */
static intptr_t shadow(ba_tape *t, const nd_t *a, int es)
{
    if (!t) return 0;
    intptr_t lo = (intptr_t)a->p, hi = lo;
    if (a->rows > 0 && a->cols > 0) {
        const int64_t d0 = (a->rows - 1) * a->s0 * es, d1 = (a->cols - 1) * a->s1 * es;
        lo += (d0 < 0 ? d0 : 0) + (d1 < 0 ? d1 : 0);
        hi += (d0 > 0 ? d0 : 0) + (d1 > 0 ? d1 : 0) + es;
    }
    return ba_tape_lookup(t, (intptr_t)a->p, lo, hi);
}

/* A Python float or numpy.float64 (constant) or a 0-d array of the call's dtype (a buffer,
 * maybe active). */
typedef struct {
    double v;
    intptr_t bar;
    ba_arg fp; /* its bytes, for the overlap test (empty for a float) */
} scalar_t;

static int as_scalar(intptr_t o, int dt, ba_tape *t, scalar_t *s)
{
    PyObject *obj = (PyObject *)o;
    memset(s, 0, sizeof *s);
    if (Py_TYPE(obj) == &PyFloat_Type || Py_TYPE(obj) == float_scalar) {
        s->v = PyFloat_AS_DOUBLE(obj);
        return 1;
    }
    nd_t a;
    int d = dt;
    if (!as_array(o, 0, &d, &a)) return 0;
    s->v = dt ? *(const double *)a.p : (double)*(const float *)a.p;
    s->bar = shadow(t, &a, dt ? 8 : 4);
    s->fp = ba_mat((intptr_t)a.p, 1, 0, 1, 1, dt ? 8 : 4);
    return s->bar >= 0;
}

static intptr_t array_bound(intptr_t o, int upper);

/* Checked builds (BA_CHECKED): the arrays among objs (all of element size es) are the
 * memory the call's CBLAS calls may touch, as the Python path declares with
 * ba_checked_allow. A no-op otherwise. */
static void allow(int es, int n, const intptr_t *objs)
{
#ifdef BA_CHECKED
    ba_checked_reset();
    for (int i = 0; i < n; i++) {
        const intptr_t lo = Py_TYPE((PyObject *)objs[i]) == nd_type ? array_bound(objs[i], 0) : 0;
        const intptr_t hi = lo ? array_bound(objs[i], 1) + es : 0; /* hi <= lo: empty */
        if (hi > lo) ba_checked_allow(lo, hi);
    }
#else
    (void)es, (void)n, (void)objs;
#endif
}

static int fast_gemm(ba_tape *t, intptr_t alpha, intptr_t A, intptr_t B, intptr_t beta, intptr_t C,
                     intptr_t trans_a, intptr_t trans_b)
{
    int dt = -1, ra, rb, rc;
    nd_t a, b, c;
    int64_t lda, ldb, ldc;
    scalar_t al, be;
    const int fa = flag_of(trans_a), fb = flag_of(trans_b);
    if (fa < 0 || fb < 0 || !as_array(A, 2, &dt, &a) || !as_array(B, 2, &dt, &b) || !as_array(C, 2, &dt, &c) ||
        !writeable(C))
        return BAIL;
    const int64_t m = fa == BA_N ? a.rows : a.cols, k = fa == BA_N ? a.cols : a.rows;
    const int64_t kb = fb == BA_N ? b.rows : b.cols, n = fb == BA_N ? b.cols : b.rows;
    if (kb != k || c.rows != m || c.cols != n) return BAIL;
    if (!blas_matrix(&a, &lda, &ra) || !blas_matrix(&b, &ldb, &rb) || !blas_matrix(&c, &ldc, &rc)) return BAIL;
    if (!as_scalar(alpha, dt, t, &al) || !as_scalar(beta, dt, t, &be)) return BAIL;
    const int es = dt ? 8 : 4;
    ba_arg sa = storage(&a, lda, ra, es), sb = storage(&b, ldb, rb, es), sc = storage(&c, ldc, rc, es);
    if (ba_args_overlap(&sc, &sa) || ba_args_overlap(&sc, &sb) || ba_args_overlap(&sc, &al.fp) ||
        ba_args_overlap(&sc, &be.fp))
        return BAIL; /* maybe shared: the exact test is on the Python path */
    const intptr_t a_bar = shadow(t, &a, es), b_bar = shadow(t, &b, es), c_bar = shadow(t, &c, es);
    if (a_bar < 0 || b_bar < 0 || c_bar < 0) return BAIL;
    if ((a_bar || b_bar || al.bar || be.bar) && !c_bar) return NEEDS_SHADOW;
    const int ta = ra ? FLIP(fa) : fa, tb = rb ? FLIP(fb) : fb;
    allow(es, 5, (intptr_t[]){alpha, A, B, beta, C});
    int ret;
    if (!rc)
        KERNEL(ret, m * n * k,
               ba_gemm(t, dt, ta, tb, m, n, k, al.v, 0.0, al.bar, (intptr_t)a.p, lda, a_bar, (intptr_t)b.p, ldb,
                       b_bar, be.v, 0.0, be.bar, (intptr_t)c.p, ldc, c_bar));
    else /* C is row-major: Cᵀ = op(B)ᵀ op(A)ᵀ in column-major */
        KERNEL(ret, m * n * k,
               ba_gemm(t, dt, FLIP(tb), FLIP(ta), n, m, k, al.v, 0.0, al.bar, (intptr_t)b.p, ldb, b_bar,
                       (intptr_t)a.p, lda, a_bar, be.v, 0.0, be.bar, (intptr_t)c.p, ldc, c_bar));
    return ret;
}

int ba_fast_gemm(ba_tape *t, intptr_t alpha, intptr_t A, intptr_t B, intptr_t beta, intptr_t C,
                 intptr_t trans_a, intptr_t trans_b)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    const int rc = fast_gemm(t, alpha, A, B, beta, C, trans_a, trans_b);
    PyGILState_Release(g);
    return rc;
}

/* A vector BLAS can address: any nonzero stride (zero only when it has <= 1 element). */
static int blas_vector(const nd_t *x, int64_t *inc)
{
    if (x->s0 == 0 && x->rows > 1) return 0;
    *inc = x->s0 ? x->s0 : 1;
    return 1;
}

static int fast_gemv(ba_tape *t, intptr_t alpha, intptr_t A, intptr_t x, intptr_t beta, intptr_t y, intptr_t trans)
{
    int dt = -1, ra;
    nd_t a, xv, yv;
    int64_t lda, incx, incy;
    scalar_t al, be;
    const int f = flag_of(trans);
    if (f < 0 || !as_array(A, 2, &dt, &a) || !as_array(x, 1, &dt, &xv) || !as_array(y, 1, &dt, &yv) || !writeable(y))
        return BAIL;
    if (xv.rows != (f == BA_N ? a.cols : a.rows) || yv.rows != (f == BA_N ? a.rows : a.cols)) return BAIL;
    if (!blas_matrix(&a, &lda, &ra) || !blas_vector(&xv, &incx) || !blas_vector(&yv, &incy)) return BAIL;
    if (!as_scalar(alpha, dt, t, &al) || !as_scalar(beta, dt, t, &be)) return BAIL;
    const int es = dt ? 8 : 4;
    ba_arg sa = storage(&a, lda, ra, es), sx = ba_vec((intptr_t)xv.p, incx, 0, xv.rows, es);
    ba_arg sy = ba_vec((intptr_t)yv.p, incy, 0, yv.rows, es);
    if (ba_args_overlap(&sy, &sa) || ba_args_overlap(&sy, &sx) || ba_args_overlap(&sy, &al.fp) ||
        ba_args_overlap(&sy, &be.fp))
        return BAIL;
    const intptr_t a_bar = shadow(t, &a, es), x_bar = shadow(t, &xv, es), y_bar = shadow(t, &yv, es);
    if (a_bar < 0 || x_bar < 0 || y_bar < 0) return BAIL;
    if ((a_bar || x_bar || al.bar || be.bar) && !y_bar) return NEEDS_SHADOW;
    allow(es, 5, (intptr_t[]){alpha, A, x, beta, y});
    int ret;
    KERNEL(ret, sa.rows * sa.cols,
           ba_gemv(t, dt, ra ? FLIP(f) : f, sa.rows, sa.cols, al.v, 0.0, al.bar, (intptr_t)a.p, lda, a_bar,
                   (intptr_t)xv.p, incx, x_bar, be.v, 0.0, be.bar, (intptr_t)yv.p, incy, y_bar));
    return ret;
}

int ba_fast_gemv(ba_tape *t, intptr_t alpha, intptr_t A, intptr_t x, intptr_t beta, intptr_t y, intptr_t trans)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    const int rc = fast_gemv(t, alpha, A, x, beta, y, trans);
    PyGILState_Release(g);
    return rc;
}

static int fast_axpy(ba_tape *t, intptr_t alpha, intptr_t x, intptr_t y)
{
    int dt = -1;
    nd_t xv, yv;
    int64_t incx, incy;
    scalar_t al;
    if (!as_array(x, 1, &dt, &xv) || !as_array(y, 1, &dt, &yv) || !writeable(y) || xv.rows != yv.rows) return BAIL;
    if (!blas_vector(&xv, &incx) || !blas_vector(&yv, &incy) || !as_scalar(alpha, dt, t, &al)) return BAIL;
    const int es = dt ? 8 : 4;
    ba_arg sx = ba_vec((intptr_t)xv.p, incx, 0, xv.rows, es), sy = ba_vec((intptr_t)yv.p, incy, 0, yv.rows, es);
    if (ba_args_overlap(&sy, &sx) || ba_args_overlap(&sy, &al.fp)) return BAIL;
    const intptr_t x_bar = shadow(t, &xv, es), y_bar = shadow(t, &yv, es);
    if (x_bar < 0 || y_bar < 0) return BAIL;
    if ((x_bar || al.bar) && !y_bar) return NEEDS_SHADOW;
    allow(es, 3, (intptr_t[]){alpha, x, y});
    int ret;
    KERNEL(ret, xv.rows,
           ba_axpy(t, dt, xv.rows, al.v, 0.0, al.bar, (intptr_t)xv.p, incx, x_bar, (intptr_t)yv.p, incy, y_bar));
    return ret;
}

int ba_fast_axpy(ba_tape *t, intptr_t alpha, intptr_t x, intptr_t y)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    const int rc = fast_axpy(t, alpha, x, y);
    PyGILState_Release(g);
    return rc;
}

/* ---- the spec-driven routines: one table-driven fast path ----------------
 *
 * ba_fast_run mirrors _generic.run + _specs.validate for the calls they accept without
 * staging: real dtypes, every array an exact ndarray BLAS can address in one CBLAS order. */

enum { FG_SCALAR, FG_VECTOR, FG_MATRIX, FG_FLAG };
enum { FG_IN, FG_OUT, FG_INOUT }; /* read; written (its old value not read); read and written */
#define FG_MAXARGS 8
#define FG_MAXDIMS 4

typedef struct {
    signed char kind, io, real; /* real: of the real dtype (the same one, for the real dtypes here) */
    signed char packed;         /* a vector holding a packed triangle: contiguous for BLAS */
    signed char trans;          /* the flag argument that transposes this matrix, or -1 */
    signed char dims[2];        /* symbol indices of the dims of op(X) */
    signed char codes[6];       /* a flag: the C code of each letter N T C U L R; -1: not a choice */
} fg_arg;

typedef struct {
    const char *name;
    int nargs, ndims, dtypes; /* dtypes: bit 0 float32, bit 1 float64 */
    fg_arg args[FG_MAXARGS];
} fg_spec;

typedef struct {
    intptr_t p, bar; /* element 0 (a written scalar: its address), its shadow */
    int64_t ld;      /* ld (matrix) or inc (vector) */
    double x;        /* a read scalar's value */
} fg_val;

#include "fast_generic.inc"

/* Leading dimensions under which BLAS can address a matrix in place, column-major and
 * row-major; 0: none (mirrors _generic._lds: an empty matrix takes either). */
static void lds_of(const nd_t *a, int64_t ld[2])
{
    const int64_t r = a->rows, c = a->cols;
    if (r == 0 || c == 0) {
        ld[0] = MAX(r, 1);
        ld[1] = MAX(c, 1);
        return;
    }
    ld[0] = (a->s0 == 1 || r <= 1) && (c <= 1 || a->s1 >= MAX(r, 1)) ? (c > 1 ? a->s1 : MAX(r, 1)) : 0;
    ld[1] = (a->s1 == 1 || c <= 1) && (r <= 1 || a->s0 >= MAX(c, 1)) ? (r > 1 ? a->s0 : MAX(c, 1)) : 0;
}

static int fast_run(ba_tape *t, int r, intptr_t args)
{
    PyObject *tuple = (PyObject *)args;
    if (r < 0 || r >= FG_NROUTINES || !PyTuple_CheckExact(tuple)) return BAIL;
    const fg_spec *s = &fg_specs[r];
    const int na = s->nargs;
    if (PyTuple_GET_SIZE(tuple) != na) return BAIL;
    intptr_t obj[FG_MAXARGS];
    for (int i = 0; i < na; i++) obj[i] = (intptr_t)PyTuple_GET_ITEM(tuple, i);
    nd_t a[FG_MAXARGS];
    fg_val v[FG_MAXARGS];
    ba_arg fp[FG_MAXARGS]; /* footprints for the overlap test (empty: none) */
    int f[FG_MAXARGS], L[FG_MAXARGS], dt = -1;
    int64_t d[FG_MAXDIMS] = {0}, ld[FG_MAXARGS][2];
    unsigned bound = 0;
    memset(v, 0, sizeof v);
    memset(fp, 0, sizeof fp);

    /* validate: flags among the choices; arrays exact ndarrays of one dtype, of their ndim,
     * strides in whole elements (None, for an output to allocate, is not an array) */
    for (int i = 0; i < na; i++) {
        const fg_arg *g = &s->args[i];
        if (g->kind == FG_FLAG) {
            L[i] = letter_of(obj[i]);
            if (L[i] < 0 || (f[i] = g->codes[L[i]]) < 0) return BAIL;
        } else if (g->kind != FG_SCALAR && !as_array(obj[i], g->kind == FG_MATRIX ? 2 : 1, &dt, &a[i]))
            return BAIL;
    }
    if (dt < 0 || !(s->dtypes >> dt & 1)) return BAIL;
    const int es = dt ? 8 : 4;

    /* dims agree across the arguments, through op(X) for a transposed matrix */
    for (int i = 0; i < na; i++) {
        const fg_arg *g = &s->args[i];
        if (g->kind != FG_VECTOR && g->kind != FG_MATRIX) continue;
        const int tr = g->trans >= 0 && L[g->trans] != 0;
        const int64_t shape[2] = {tr ? a[i].cols : a[i].rows, tr ? a[i].rows : a[i].cols};
        for (int k = 0; k < (g->kind == FG_MATRIX ? 2 : 1); k++) {
            const int sym = g->dims[k];
            if (bound >> sym & 1) {
                if (d[sym] != shape[k]) return BAIL;
            } else {
                d[sym] = shape[k];
                bound |= 1u << sym;
            }
        }
    }
    if (!fg_derived(r, d, L)) return BAIL; /* the wrappers check these; this is a guard */

    /* scalars: read, a Python float or a 0-d array of the dtype; written, a 0-d array */
    for (int i = 0; i < na; i++) {
        const fg_arg *g = &s->args[i];
        if (g->kind != FG_SCALAR) continue;
        if (g->io == FG_IN) {
            scalar_t sc;
            if (!as_scalar(obj[i], dt, t, &sc)) return BAIL;
            v[i].x = sc.v;
            v[i].bar = sc.bar;
            fp[i] = sc.fp;
        } else {
            int d0 = dt;
            if (!as_array(obj[i], 0, &d0, &a[i])) return BAIL;
            v[i].p = (intptr_t)a[i].p;
            fp[i] = ba_mat(v[i].p, 1, 0, 1, 1, es);
        }
    }

    /* run's CBLAS order needs the fewest staging copies, and staging bails here: so
     * column-major when every matrix allows it (a tie then has native order 0), else row-major */
    int order = 0, row_ok = 1;
    for (int i = 0; i < na; i++)
        if (s->args[i].kind == FG_MATRIX) {
            lds_of(&a[i], ld[i]);
            order |= !ld[i][0];
            row_ok &= ld[i][1] != 0;
        }
    if (order && !row_ok) return BAIL;

    for (int i = 0; i < na; i++) {
        const fg_arg *g = &s->args[i];
        const nd_t *x = &a[i];
        if (g->kind == FG_VECTOR) {
            if (x->s0 == 0 && x->rows > 1) return BAIL; /* run stages an input; an output is refused */
            if (g->packed && x->s0 != 1 && x->rows > 1) return BAIL; /* _level2p stages it */
            v[i].p = (intptr_t)x->p;
            v[i].ld = x->s0 ? x->s0 : 1;
            fp[i] = ba_vec(v[i].p, v[i].ld, 0, x->rows, es);
        } else if (g->kind == FG_MATRIX) {
            if (g->io != FG_IN && ((x->s0 == 0 && x->rows > 1) || (x->s1 == 0 && x->cols > 1))) return BAIL;
            v[i].p = (intptr_t)x->p;
            v[i].ld = ld[i][order];
            fp[i] = ba_mat_o(order, v[i].p, v[i].ld, 0, x->rows, x->cols, es);
        }
    }

    /* written arguments: writeable, sharing no element with another argument (maybe shared:
     * the exact test is on the Python path) */
    for (int w = 0; w < na; w++) {
        if (s->args[w].io == FG_IN) continue;
        if (!writeable(obj[w])) return BAIL;
        for (int j = 0; j < na; j++)
            if (j != w && ba_args_overlap(&fp[w], &fp[j])) return BAIL;
    }

    /* activity as run: a shadow among the read arguments makes every written one active */
    int active = 0;
    for (int i = 0; i < na; i++) {
        const fg_arg *g = &s->args[i];
        if (g->kind == FG_FLAG || (g->kind == FG_SCALAR && g->io == FG_IN)) {
            active |= v[i].bar != 0; /* a read scalar's shadow is set above */
            continue;
        }
        if ((v[i].bar = shadow(t, &a[i], es)) < 0) return BAIL;
        active |= g->io != FG_OUT && v[i].bar;
    }
    for (int i = 0; i < na; i++)
        if (s->args[i].io != FG_IN && active && !v[i].bar) return NEEDS_SHADOW;
    allow(es, na, obj);
    int64_t work = 1;
    for (int k = 0; k < s->ndims; k++) work *= d[k] > 1 ? d[k] : 1;
    int ret;
    KERNEL(ret, work, fg_call(r, t, dt, order, f, d, v));
    return ret;
}

int ba_fast_run(ba_tape *t, int r, intptr_t args)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    const int rc = fast_run(t, r, args);
    PyGILState_Release(g);
    return rc;
}

/* The index ba_fast_run knows routine `name` by, or -1. */
int ba_fast_routine(const char *name)
{
    for (int r = 0; r < FG_NROUTINES; r++)
        if (!strcmp(fg_specs[r].name, name)) return r;
    return -1;
}

intptr_t ba_array_data(intptr_t o)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    const intptr_t p = (intptr_t)PyArray_DATA((PyArrayObject *)o);
    PyGILState_Release(g);
    return p;
}

static intptr_t array_bound(intptr_t o, int upper)
{
    PyArrayObject *arr = (PyArrayObject *)o;
    const int nd = PyArray_NDIM(arr);
    const npy_intp *sh = PyArray_DIMS(arr), *st = PyArray_STRIDES(arr);
    intptr_t lo = (intptr_t)PyArray_DATA(arr), hi = lo;
    for (int i = 0; i < nd; i++) {
        if (sh[i] == 0) return upper ? lo - 1 : lo;
        if (st[i] < 0) lo += (sh[i] - 1) * st[i];
        else hi += (sh[i] - 1) * st[i];
    }
    return upper ? hi : lo;
}

static intptr_t locked_bound(intptr_t o, int upper)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    const intptr_t p = array_bound(o, upper);
    PyGILState_Release(g);
    return p;
}

intptr_t ba_array_lo(intptr_t o) { return locked_bound(o, 0); }
intptr_t ba_array_hi(intptr_t o) { return locked_bound(o, 1); }
