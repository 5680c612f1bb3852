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
 * Every routine goes through one function, ba_fast_run, driven by the table that
 * tools/gen/fast.py generates from the specs at build time (fast_generic.inc). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/ndarraytypes.h>

#include "tape.h"
#include "routines.h"

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

/* ---- the spec-driven routines: one table-driven fast path ----------------
 *
 * ba_fast_run mirrors _lowering.run + _validate.validate for the calls they accept without
 * staging: real dtypes, every array an exact ndarray BLAS can address in one CBLAS order. */

enum { FG_SCALAR, FG_VECTOR, FG_MATRIX, FG_FLAG };
enum { FG_IN, FG_OUT, FG_INOUT }; /* read; written (its old value not read); read and written */
#define FG_MAXARGS 8
#define FG_MAXDIMS 4

typedef struct {
    signed char kind, io, real; /* real: of the real dtype (the same one, for the real dtypes here) */
    signed char packed;         /* a vector holding a packed triangle: contiguous for BLAS */
    signed char trans;          /* the flag argument that transposes this matrix, or -1 */
    signed char flip;           /* a general matrix read through its own N/T/C flag: stored in the
                                   other CBLAS order, it is read as its transpose (flag ^ 1) */
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
 * row-major; 0: none (mirrors _lowering.lds: an empty matrix takes either). */
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
     * column-major when every matrix allows it (a tie then has native order 0), else
     * row-major. A matrix with flip set goes either way: in the other order, as its transpose. */
    int need[2] = {0, 0};
    for (int i = 0; i < na; i++)
        if (s->args[i].kind == FG_MATRIX) {
            lds_of(&a[i], ld[i]);
            for (int o = 0; o < 2; o++) need[o] += !ld[i][o] && !(s->args[i].flip && ld[i][!o]);
        }
    const int order = need[0] ? 1 : 0;
    if (need[order]) return BAIL;

    for (int i = 0; i < na; i++) {
        const fg_arg *g = &s->args[i];
        const nd_t *x = &a[i];
        if (g->kind == FG_VECTOR) {
            if (x->s0 == 0 && x->rows > 1) return BAIL; /* run stages an input; an output is refused */
            if (g->packed && x->s0 != 1 && x->rows > 1) return BAIL; /* _lowering.run stages it */
            v[i].p = (intptr_t)x->p;
            v[i].ld = x->s0 ? x->s0 : 1;
            fp[i] = ba_vec(v[i].p, v[i].ld, 0, x->rows, es);
        } else if (g->kind == FG_MATRIX) {
            if (g->io != FG_IN && ((x->s0 == 0 && x->rows > 1) || (x->s1 == 0 && x->cols > 1))) return BAIL;
            const int o = ld[i][order] ? order : !order; /* !order: read as its transpose */
            if (o != order) f[g->trans] ^= 1;
            v[i].p = (intptr_t)x->p;
            v[i].ld = ld[i][o];
            fp[i] = ba_mat_o(o, v[i].p, v[i].ld, 0, x->rows, x->cols, es);
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
    if (t) { /* the sweep reads these by address: keep them alive until then */
        PyObject *keep = ba_tape_keep(t);
        for (int i = 0; i < na; i++)
            if (s->args[i].kind != FG_FLAG && Py_TYPE((PyObject *)obj[i]) == nd_type && keep &&
                PyList_Append(keep, (PyObject *)obj[i]) < 0) {
                PyErr_Clear();
                return -1; /* out of memory; nothing written */
            }
    }
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

static _Thread_local ba_tape *recording; /* the tape recording on this thread */

void ba_fast_set_tape(ba_tape *t, intptr_t keep)
{
    if (t) ba_tape_set_keep(t, (void *)keep);
    recording = t;
}

int ba_fast_call(int r, intptr_t args)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    const int rc = fast_run(recording, r, args);
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

intptr_t ba_tape_lookup_array(ba_tape *t, intptr_t o, int64_t itemsize)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    const intptr_t p = (intptr_t)PyArray_DATA((PyArrayObject *)o), lo = array_bound(o, 0);
    const intptr_t top = array_bound(o, 1); /* lo - 1 for an empty array */
    PyGILState_Release(g);
    return ba_tape_lookup(t, p, lo, top < lo ? lo : top + itemsize);
}
intptr_t ba_array_hi(intptr_t o) { return locked_bound(o, 1); }
