/* Fast paths: validate and lower the common calls entirely in C.
 *
 * The Python wrappers pass objects by address (CPython's id()). This code runs
 * without the GIL (cffi releases it around calls): it only reads fields of objects
 * the caller keeps alive (array data, dims, strides, dtype, flags; a float's value)
 * and never touches reference counts or raises. Anything it does not accept in full
 * returns 1 before writing anything, and the validating Python path takes over and
 * produces the result or the error message. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/ndarraytypes.h>

#include "tape.h"

#define BAIL 1
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define FLIP(tr) ((tr) ^ 1)

static PyTypeObject *nd_type;
static PyObject *dtypes[2];
static intptr_t flag_ids[6];

int ba_fast_init(intptr_t ndarray_type, intptr_t f32, intptr_t f64, intptr_t N, intptr_t T, intptr_t C,
                 intptr_t n, intptr_t t, intptr_t c)
{
    nd_type = (PyTypeObject *)ndarray_type;
    dtypes[0] = (PyObject *)f32;
    dtypes[1] = (PyObject *)f64;
    intptr_t ids[6] = {N, T, C, n, t, c};
    memcpy(flag_ids, ids, sizeof ids);
    return 0;
}

/* "N" -> BA_N, "T"/"C" -> BA_T (the fast paths are real: conjugate transpose is
 * transpose); -1: anything else */
static int flag_of(intptr_t o)
{
    for (int i = 0; i < 6; i++)
        if (flag_ids[i] == o) return i % 3 == 0 ? BA_N : BA_T;
    return -1;
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

/* A Python float (constant) or a 0-d array of the call's dtype (a buffer, maybe active). */
typedef struct {
    double v;
    intptr_t bar;
    ba_arg fp; /* its bytes, for the overlap test (empty for a float) */
} scalar_t;

static int as_scalar(intptr_t o, int dt, ba_tape *t, scalar_t *s)
{
    PyObject *obj = (PyObject *)o;
    memset(s, 0, sizeof *s);
    if (Py_TYPE(obj) == &PyFloat_Type) {
        s->v = PyFloat_AS_DOUBLE(obj);
        return 1;
    }
    nd_t a;
    int d = dt;
    if (!as_array(o, 0, &d, &a)) return 0;
    s->v = dt ? *(const double *)a.p : (double)*(const float *)a.p;
    s->bar = t ? ba_tape_shadow(t, (intptr_t)a.p) : 0;
    s->fp = ba_mat((intptr_t)a.p, 1, 0, 1, 1, dt ? 8 : 4);
    return 1;
}

static intptr_t shadow(ba_tape *t, const void *p) { return t ? ba_tape_shadow(t, (intptr_t)p) : 0; }

int ba_fast_gemm(ba_tape *t, intptr_t alpha, intptr_t A, intptr_t B, intptr_t beta, intptr_t C,
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
    const intptr_t a_bar = shadow(t, a.p), b_bar = shadow(t, b.p), c_bar = shadow(t, c.p);
    if ((a_bar || b_bar || al.bar || be.bar) && !c_bar) return BAIL; /* C needs a new shadow */
    const int ta = ra ? FLIP(fa) : fa, tb = rb ? FLIP(fb) : fb;
    if (!rc)
        return ba_gemm(t, dt, ta, tb, m, n, k, al.v, 0.0, al.bar, (intptr_t)a.p, lda, a_bar, (intptr_t)b.p, ldb,
                       b_bar, be.v, 0.0, be.bar, (intptr_t)c.p, ldc, c_bar);
    /* C is row-major: Cᵀ = op(B)ᵀ op(A)ᵀ in column-major */
    return ba_gemm(t, dt, FLIP(tb), FLIP(ta), n, m, k, al.v, 0.0, al.bar, (intptr_t)b.p, ldb, b_bar,
                   (intptr_t)a.p, lda, a_bar, be.v, 0.0, be.bar, (intptr_t)c.p, ldc, c_bar);
}

/* A vector BLAS can address: any nonzero stride (zero only when it has <= 1 element). */
static int blas_vector(const nd_t *x, int64_t *inc)
{
    if (x->s0 == 0 && x->rows > 1) return 0;
    *inc = x->s0 ? x->s0 : 1;
    return 1;
}

int ba_fast_gemv(ba_tape *t, intptr_t alpha, intptr_t A, intptr_t x, intptr_t beta, intptr_t y, intptr_t trans)
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
    const intptr_t a_bar = shadow(t, a.p), x_bar = shadow(t, xv.p), y_bar = shadow(t, yv.p);
    if ((a_bar || x_bar || al.bar || be.bar) && !y_bar) return BAIL;
    return ba_gemv(t, dt, ra ? FLIP(f) : f, sa.rows, sa.cols, al.v, 0.0, al.bar, (intptr_t)a.p, lda, a_bar,
                   (intptr_t)xv.p, incx, x_bar, be.v, 0.0, be.bar, (intptr_t)yv.p, incy, y_bar);
}

int ba_fast_axpy(ba_tape *t, intptr_t alpha, intptr_t x, intptr_t y)
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
    const intptr_t x_bar = shadow(t, xv.p), y_bar = shadow(t, yv.p);
    if ((x_bar || al.bar) && !y_bar) return BAIL;
    return ba_axpy(t, dt, xv.rows, al.v, 0.0, al.bar, (intptr_t)xv.p, incx, x_bar, (intptr_t)yv.p, incy, y_bar);
}

intptr_t ba_array_data(intptr_t o) { return (intptr_t)PyArray_DATA((PyArrayObject *)o); }

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

intptr_t ba_array_lo(intptr_t o) { return array_bound(o, 0); }
intptr_t ba_array_hi(intptr_t o) { return array_bound(o, 1); }
