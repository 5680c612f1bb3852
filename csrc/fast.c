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
 * has no shadow yet that C makes (a written scalar's; in forward mode once Python's Forward
 * exists); the caller gives it one and calls again. fast_new (py_fast_new) takes the calls whose
 * array outputs are left None: it allocates them here, so that a new output costs no Python.
 *
 * Every routine goes through one function, ba_fast_run, driven by the table that
 * tools/gen/fast.py generates from the specs at build time (fast_generic.inc). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL blasad_ARRAY_API /* NumPy's C API: active scalars make 0-d arrays */
#include <numpy/arrayobject.h>
#include <structmember.h>
#include <complex.h>

#include "tape.h"
#include "routines.h"

#define BAIL 1
#define NEEDS_SHADOW 2
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define FLIP(tr) ((tr) ^ 1)

static PyTypeObject *nd_type;
static PyObject *dtypes[2];
static PyTypeObject *float_scalar; /* numpy.float64: a float subclass, its value the float's */
static PyTypeObject *scalar_type, *complex_scalar; /* blasad.Scalar (once registered), numpy.complex128 */
static PyObject *cdtypes[2];                        /* complex64, complex128 */

/* blasad.Scalar's native base (ScalarBase, below): its one field, the 0-d buffer `_a` */
typedef struct {
    PyObject_HEAD
    PyObject *a;
} ScalarObject;

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
    case 'S': case 's': return 6; /* LAPACK's jobz */
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

static const int ES_OF[4] = {4, 8, 8, 16}; /* bytes per element of dtype code 0..3 (s d c z) */
static const int npy_types[4] = {NPY_FLOAT32, NPY_FLOAT64, NPY_COMPLEX64, NPY_COMPLEX128}; /* (NumPy's) */

/* An exact numpy.ndarray of ndim nd whose dtype is float32/float64, or complex64/complex128
 * (the LAPACK routines' complex calls: their specs read no scalar), equal to *dt once that is
 * set, with strides in whole elements. */
static int as_array(intptr_t o, int nd, int *dt, nd_t *a)
{
    PyObject *obj = (PyObject *)o;
    if (!nd_type || Py_TYPE(obj) != nd_type) return 0;
    PyArrayObject *arr = (PyArrayObject *)obj;
    if (PyArray_NDIM(arr) != nd) return 0;
    PyObject *d = (PyObject *)PyArray_DESCR(arr);
    int code = d == dtypes[0] ? 0 : d == dtypes[1] ? 1 : !cdtypes[0] ? -1 : d == cdtypes[0] ? 2 : d == cdtypes[1] ? 3 : -1;
    if (code < 0 || (*dt >= 0 && *dt != code)) return 0;
    *dt = code;
    const int64_t es = ES_OF[code];
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

/* Pivots: an exact numpy.ndarray of int64, 1-D, contiguous (what the validator asks of written
 * ones and makes of read ones). */
static int as_pivots(intptr_t o, nd_t *a)
{
    PyObject *obj = (PyObject *)o;
    if (!nd_type || Py_TYPE(obj) != nd_type) return 0;
    PyArrayObject *arr = (PyArrayObject *)obj;
    if (PyArray_NDIM(arr) != 1 || PyArray_TYPE(arr) != NPY_INT64) return 0;
    a->p = PyArray_DATA(arr);
    a->rows = PyArray_DIMS(arr)[0];
    a->cols = 1;
    a->s0 = 1;
    a->s1 = 0;
    return a->rows <= 1 || PyArray_STRIDES(arr)[0] == 8;
}

/* An ndarray, or a blasad.Scalar (its 0-d buffer may be a user's array): what the tape keeps */
static int is_array_or_scalar(PyObject *o) { return Py_TYPE(o) == nd_type || (scalar_type && Py_TYPE(o) == scalar_type); }

/* o onto tape t's keep list, unless one of its last 8 items is o already (a loop of calls on the
 * same arrays: 8 bytes per operand and call saved; the list holds o as long as before). Each one,
 * while a checkpointed loop runs its steps: it reads what each step appended. 0, or -1. */
static int keep_add(ba_tape *t, PyObject *keep, PyObject *o)
{
    if (!ba_tape_keep_all(t) && ba_tape_paused(t) < 0)
        for (Py_ssize_t n = PyList_GET_SIZE(keep), i = n - 1; i >= 0 && i >= n - 8; i--)
            if (PyList_GET_ITEM(keep, i) == o) return 0;
    return PyList_Append(keep, o);
}

static int writeable(intptr_t o) { return PyArray_FLAGS((PyArrayObject *)o) & NPY_ARRAY_WRITEABLE; }

/* The n CPython functions of defs, appended to the list box (the Python side's handles on them):
 * 0, or -1 with an exception set */
static int append_functions(PyObject *box, PyMethodDef *defs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        PyObject *f = PyCFunction_NewEx(&defs[i], NULL, NULL);
        const int rc = f ? PyList_Append(box, f) : -1;
        Py_XDECREF(f);
        if (rc < 0) return -1;
    }
    return 0;
}

/* The shadow of array a (elements of es bytes) on tape t: its address, 0 when a is inactive,
 * -1 when a straddles a tracked region (not a view of the tracked base: the Python path
 * raises the error). */
/* Forward mode's regions on this thread (blasad/_forward.py mirrors its table here): sorted by lo,
 * disjoint; the tangent of byte p of [lo, hi) is at tan + (p - lo). fw_on: native calls, while
 * forward mode runs with one tangent per argument and not inside a rule (ba_fast_set_forward).
 * A region the native calls made themselves (fw_cover: a new output's, before Python's Forward
 * exists) has wr: a weak reference to the array that owns the memory, whose callback (a
 * FwTangent, which owns the tangent memory) drops the region when that array goes; the table
 * holds wr until then or until the run ends (ba_fw_native(0)). The table changes with the GIL
 * held: the callback may run on another thread. */
static intptr_t array_bound(intptr_t o, int upper);

typedef struct {
    intptr_t lo, hi, tan;
    PyObject *wr; /* NULL: a region Python made (ba_fw_add) */
} fw_region;
static _Thread_local fw_region *fw_tab;
static _Thread_local int64_t fw_n, fw_cap;
static _Thread_local uint64_t fw_run; /* this thread's run: its number (never reused), 0 when none */
/* Every thread's live run, so that a region whose array goes on another thread leaves the table of
 * the run that made it (ba_fw_drop by run number: a run already over is not found). GIL held. */
typedef struct {
    uint64_t run;
    fw_region **tab;
    int64_t *n;
} fw_live;
static fw_live *fw_lives;
static int64_t fw_nlive, fw_caplive;
static uint64_t fw_runs_made;
static _Thread_local int fw_native_on, forward;
static _Thread_local int fw_py; /* Python's Forward exists for this run: it makes the regions */
static _Thread_local int64_t *dry; /* ba_fast_check's dims: validate only (no tangents looked up) */

static int fw_insert(intptr_t lo, intptr_t hi, intptr_t tan, PyObject *wr)
{
    if (fw_n == fw_cap) {
        const int64_t cap = fw_cap ? 2 * fw_cap : 64;
        fw_region *p = realloc(fw_tab, (size_t)cap * sizeof *p);
        if (!p) return -1;
        fw_tab = p, fw_cap = cap;
    }
    int64_t i = fw_n;
    while (i > 0 && fw_tab[i - 1].lo > lo) i--;
    memmove(fw_tab + i + 1, fw_tab + i, (size_t)(fw_n - i) * sizeof *fw_tab);
    fw_tab[i] = (fw_region){lo, hi, tan, wr};
    fw_n++;
    return 0;
}

int ba_fw_add(intptr_t lo, intptr_t hi, intptr_t tan)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    const int rc = fw_insert(lo, hi, tan, NULL);
    PyGILState_Release(g);
    return rc;
}

/* Region lo (a Python one), or the native one whose weak reference is wr, leaves run's table, if
 * that run is still live (on whichever thread). GIL held. */
static void fw_remove(uint64_t run, intptr_t lo, PyObject *wr)
{
    for (int64_t k = 0; k < fw_nlive; k++) {
        if (fw_lives[k].run != run) continue;
        fw_region *tab = *fw_lives[k].tab;
        int64_t *n = fw_lives[k].n;
        for (int64_t i = 0; i < *n; i++)
            if (wr ? tab[i].wr == wr : tab[i].lo == lo && !tab[i].wr) { /* (a native region goes with its array) */
                memmove(tab + i, tab + i + 1, (size_t)(*n - i - 1) * sizeof *tab);
                (*n)--;
                if (wr) Py_DECREF(wr); /* (the caller holds it while we run) */
                return;
            }
        return;
    }
}

void ba_fw_drop(uint64_t run, intptr_t lo)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    fw_remove(run, lo, NULL);
    PyGILState_Release(g);
}

uint64_t ba_fw_run(void) { return fw_run; }

int ba_fw_native(int on)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    int rc = 0;
    fw_native_on = on;
    fw_py = 0; /* (on: until Python's Forward says it exists) */
    if (on && !fw_run) { /* a new run: registered live */
        if (fw_nlive == fw_caplive) {
            const int64_t cap = fw_caplive ? 2 * fw_caplive : 8;
            fw_live *p = realloc(fw_lives, (size_t)cap * sizeof *p);
            if (p) fw_lives = p, fw_caplive = cap;
        }
        if (fw_nlive < fw_caplive) {
            fw_run = ++fw_runs_made;
            fw_lives[fw_nlive++] = (fw_live){fw_run, &fw_tab, &fw_n};
        } else {
            fw_native_on = 0, rc = -1;
        }
    }
    if (!on) { /* the run is over: the native regions' weak references go, their tangents with them */
        for (int64_t k = 0; k < fw_nlive; k++)
            if (fw_lives[k].run == fw_run) {
                fw_lives[k] = fw_lives[--fw_nlive];
                break;
            }
        fw_run = 0;
        fw_region *tab = fw_tab;
        const int64_t n = fw_n;
        fw_tab = NULL, fw_n = fw_cap = 0;
        for (int64_t i = 0; i < n; i++) Py_XDECREF(tab[i].wr);
        free(tab);
    }
    PyGILState_Release(g);
    return rc;
}

void ba_fw_python(void) { fw_py = 1; }

/* The tangent of p, whose argument spans bytes [lo, hi): 0 when they meet no region, -1 when they
 * straddle one's edge (the Python path names it). */
static intptr_t fw_lookup(intptr_t p, intptr_t lo, intptr_t hi)
{
    int64_t a = 0, b = fw_n; /* the last region with its lo <= lo */
    while (a < b) {
        const int64_t c = (a + b) / 2;
        if (fw_tab[c].lo <= lo) a = c + 1;
        else b = c;
    }
    if (a > 0 && lo < fw_tab[a - 1].hi) return hi <= fw_tab[a - 1].hi ? fw_tab[a - 1].tan + (p - fw_tab[a - 1].lo) : -1;
    return a < fw_n && fw_tab[a].lo < hi ? -1 : 0;
}

/* A native region's tangent memory and the callback of its array's weak reference: called, it
 * drops the region from the table of the run that made it (run), when that run is still live: the
 * array may go on another thread. */
typedef struct {
    PyObject_HEAD
    char *mem;
    uint64_t run;
} FwTangent;
static PyTypeObject *fw_tangent_type; /* (made by ba_fast_new_init) */

static PyObject *fwt_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)kwargs;
    PyObject *wr = PyTuple_Check(args) && PyTuple_GET_SIZE(args) == 1 ? PyTuple_GET_ITEM(args, 0) : NULL;
    if (wr) fw_remove(((FwTangent *)self)->run, 0, wr);
    Py_RETURN_NONE;
}

static void fwt_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    free(((FwTangent *)self)->mem);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyType_Slot fwt_slots[] = {
    {Py_tp_dealloc, (void *)fwt_dealloc},
    {Py_tp_call, (void *)fwt_call},
    {Py_tp_doc, (void *)"forward mode: a new output's tangent memory; called, it drops the region"},
    {0, NULL},
};

static PyType_Spec fwt_spec = {"blasad._native.FwTangent", sizeof(FwTangent), 0, Py_TPFLAGS_DEFAULT, fwt_slots};

/* A tangent for array o, which has none, as Python's Forward.cover makes it: zeros over its base's
 * whole span, the region held until the base goes. Its address at o's first element; 0 when this
 * is Python's to do (no native tangents yet, Python's Forward made, an empty o, a base that meets a
 * region); -1 out of memory. The GIL is held. */
static intptr_t fw_cover(PyObject *o)
{
    if (fw_py || !fw_tangent_type) return 0;
    PyObject *root = o;
    while (PyArray_BASE((PyArrayObject *)root) && PyArray_Check(PyArray_BASE((PyArrayObject *)root)))
        root = PyArray_BASE((PyArrayObject *)root);
    const intptr_t lo = array_bound((intptr_t)root, 0), top = array_bound((intptr_t)root, 1);
    if (top < lo || !PyType_SUPPORTS_WEAKREFS(Py_TYPE(root))) return 0;
    const intptr_t hi = top + PyArray_ITEMSIZE((PyArrayObject *)root);
    if (fw_lookup(lo, lo, hi)) return 0; /* (Python's cover takes o's own span then, or names it) */
    FwTangent *owner = PyObject_New(FwTangent, fw_tangent_type);
    if (!owner) goto oom;
    Py_INCREF(fw_tangent_type); /* (a heap type: its instances hold it) */
    owner->run = fw_run;
    owner->mem = calloc(1, (size_t)(hi - lo));
    PyObject *wr = owner->mem ? PyWeakref_NewRef(root, (PyObject *)owner) : NULL;
    const intptr_t tan = (intptr_t)owner->mem;
    Py_DECREF(owner); /* the weak reference holds it */
    if (!wr) goto oom;
    if (fw_insert(lo, hi, tan, wr)) {
        Py_DECREF(wr);
        goto oom;
    }
    return tan + ((intptr_t)PyArray_DATA((PyArrayObject *)o) - lo);
oom:
    PyErr_Clear();
    return -1;
}

static intptr_t shadow(ba_tape *t, const nd_t *a, int es)
{
    const int fw = !t && forward && fw_native_on && !dry;
    if (!t && !fw) return 0;
    intptr_t lo = (intptr_t)a->p, hi = lo;
    if (a->rows > 0 && a->cols > 0) {
        const int64_t d0 = (a->rows - 1) * a->s0 * es, d1 = (a->cols - 1) * a->s1 * es;
        lo += (d0 < 0 ? d0 : 0) + (d1 < 0 ? d1 : 0);
        hi += (d0 > 0 ? d0 : 0) + (d1 > 0 ? d1 : 0) + es;
    } else if (fw) {
        return 0; /* an empty argument: no tangent to carry */
    }
    return fw ? fw_lookup((intptr_t)a->p, lo, hi) : ba_tape_lookup(t, (intptr_t)a->p, lo, hi);
}

/* A read scalar, as as_scalar reads it. */
typedef struct {
    double v, y; /* its value: real and imaginary part */
    intptr_t bar;
    ba_arg fp; /* its bytes, for the overlap test (empty for a number) */
    int dt;    /* a 0-d array's dtype code (its address: fp.p) */
} scalar_t;

/* A read scalar of a call of dtype dt (real: an argument of the real dtype, her's α): a Python
 * float or numpy.float64; for a complex argument also a Python complex or numpy.complex128; or a
 * 0-d array of the argument's dtype (maybe active). */
static int as_scalar(intptr_t o, int dt, int real, ba_tape *t, scalar_t *s)
{
    PyObject *obj = (PyObject *)o;
    memset(s, 0, sizeof *s);
    if (scalar_type && Py_TYPE(obj) == scalar_type) { /* a blasad.Scalar: its 0-d buffer */
        obj = ((ScalarObject *)obj)->a;
        o = (intptr_t)obj;
    }
    if (Py_TYPE(obj) == &PyFloat_Type || Py_TYPE(obj) == float_scalar) {
        s->v = PyFloat_AS_DOUBLE(obj);
        return 1;
    }
    if (dt >= 2 && !real && (Py_TYPE(obj) == &PyComplex_Type || (complex_scalar && Py_TYPE(obj) == complex_scalar))) {
        const Py_complex c = PyComplex_AsCComplex(obj);
        s->v = c.real, s->y = c.imag;
        return 1;
    }
    nd_t a;
    int d = real ? dt & 1 : dt;
    if (!as_array(o, 0, &d, &a)) return 0;
    const double complex v = ba_scalar_load(a.p, d);
    s->v = creal(v), s->y = cimag(v);
    s->dt = d;
    s->bar = shadow(t, &a, ES_OF[d]);
    s->fp = ba_mat((intptr_t)a.p, 1, 0, 1, 1, ES_OF[d]);
    return s->bar >= 0;
}

static intptr_t ensure(ba_tape *t, PyObject *o, PyObject *keep);

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
 * ba_fast_run mirrors _lowering.run + _validate.validate: every array an exact ndarray, every
 * read scalar a number or a 0-d array of its argument's dtype, every written one a 0-d array.
 * An array BLAS cannot address in the call's CBLAS order (a band matrix: column-major only) is
 * staged as run stages it, through the same recorded copies (stage_in, stage_out); a written
 * one whose byte span meets another argument's, or whose elements may overlap, is run's. */

enum { FG_SCALAR, FG_VECTOR, FG_MATRIX, FG_FLAG, FG_PIVOTS, FG_INT }; /* FG_INT: a keyword dim (gbmv's kl) */
enum { FG_IN, FG_OUT, FG_INOUT }; /* read; written (its old value not read); read and written */
#define FG_MAXARGS 12
#define FG_MAXDIMS 8

typedef struct {
    signed char kind, io, real; /* real: of the real dtype (her's α, nrm2's result, heevd's w) */
    signed char packed;         /* a vector holding a packed triangle: contiguous for BLAS */
    signed char band;           /* a band matrix: BLAS reads it column-major only */
    signed char trans;          /* the flag argument that transposes this matrix, or -1 */
    signed char flip;           /* a general matrix read through its own N/T/C flag: stored in the
                                   other CBLAS order, it is read as its transpose (flag ^ 1) */
    signed char bound;          /* pivots: the symbol index of the dim they index (-1: their length) */
    signed char dims[2];        /* symbol indices of the dims of op(X) */
    signed char codes[2][7];    /* a flag: the C code of each letter N T C U L R S for the real
                                   dtypes [0] and the complex ones [1]; -1: not a choice */
    signed char disc_at, ndisc; /* a vector whose entry disc_at takes one of ndisc values (rotm's flag) */
    double disc[4];
} fg_arg;

typedef struct {
    const char *name;
    int entry;                /* its index for ba_entry (dispatch.inc) */
    int nargs, ndims, dtypes; /* dtypes: bits 0-3 float32, float64, complex64, complex128 */
    int colmajor;             /* LAPACK's Spec.column_major: every matrix column-major, or bail */
    fg_arg args[FG_MAXARGS];
} fg_spec;

typedef struct {
    intptr_t p, bar; /* element 0 (a written scalar: its address), its shadow */
    int64_t ld;      /* ld (matrix) or inc (vector) */
    double x, y;     /* a read scalar's value (real, imaginary part) */
    intptr_t src;    /* a read scalar held in a 0-d array: its address (0: a number) */
    int sdt;         /* and that array's dtype code */
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

/* A matrix's byte span as a contiguous vector: a footprint that holds every element. */
static ba_arg span_of(const nd_t *x, int es)
{
    const int64_t d0 = (x->rows - 1) * x->s0, d1 = (x->cols - 1) * x->s1; /* (not empty) */
    const int64_t lo = (d0 < 0 ? d0 : 0) + (d1 < 0 ? d1 : 0), hi = (d0 > 0 ? d0 : 0) + (d1 > 0 ? d1 : 0) + 1;
    return ba_vec((intptr_t)x->p + lo * es, 1, 0, hi - lo, es);
}

/* Are the elements of a matrix distinct? The sufficient test of _validate.overlaps_itself (each
 * axis's stride at least the span of the smaller one): 0 for some distinct ones too (run's). */
static int distinct(const nd_t *x)
{
    if (x->rows <= 1 || x->cols <= 1) return (x->rows <= 1 || x->s0) && (x->cols <= 1 || x->s1);
    const int64_t s0 = x->s0 < 0 ? -x->s0 : x->s0, s1 = x->s1 < 0 ? -x->s1 : x->s1;
    return s0 <= s1 ? s0 >= 1 && s1 >= s0 * x->rows : s1 >= 1 && s0 >= s1 * x->cols;
}

/* dst <- src (rows x cols, signed element strides; a vector is a column, its second stride 0)
 * through copy2d's entry, logged on a replay tape: the recorded copy _lowering.Call.copy makes. */
static int copy2d(ba_tape *t, int dt, const nd_t *src, intptr_t src_bar, intptr_t src_obj, const nd_t *dst,
                  intptr_t dst_bar, intptr_t dst_obj)
{
    static int entry = -1;
    if (entry < 0) entry = ba_entry_index("copy2d");
    const intptr_t objs[2] = {src_obj, dst_obj};
    allow(ES_OF[dt], 2, objs);
    const ba_word w[10] = {{.i = src->rows}, {.i = src->cols},          {.i = (intptr_t)src->p}, {.i = src->s0},
                           {.i = src->s1},   {.i = src_bar},            {.i = (intptr_t)dst->p}, {.i = dst->s0},
                           {.i = dst->s1},   {.i = dst_bar}};
    int rc;
    KERNEL(rc, src->rows * src->cols, ba_entry(t, entry, dt, 0, w, 10, NULL, 0));
    return rc;
}

/* The staged arguments of a call (stage[i]) into temporaries, as _lowering.run stages them: each a
 * new array (Fortran-ordered for a matrix when order is column-major) that the tape keeps, with a
 * shadow when its argument had one (bar0: the shadows before the call's outputs got theirs) or it
 * is written by an active call, copied in (matrices first, then vectors; a written-only output too:
 * beta C reads it). The call then reads the temporaries: obj[i] and v[i] become theirs, and ubar[i]
 * keeps the argument's own shadow. 0, BAIL (no copy made), or a copy's status. */
static int stage_in(ba_tape *t, const fg_spec *s, int dt, int order, int active, const intptr_t *bar0,
                    intptr_t *obj, const nd_t *a, fg_val *v, const int *stage, PyObject **tmp, nd_t *ta,
                    intptr_t *ubar)
{
    PyObject *keep = t ? ba_tape_keep(t) : NULL;
    for (int i = 0; i < s->nargs; i++) { /* first every temporary and its shadow: nothing written */
        if (!stage[i]) continue;
        PyArrayObject *u = (PyArrayObject *)obj[i];
        PyArray_Descr *d = PyArray_DESCR(u);
        Py_INCREF(d); /* (PyArray_Empty takes it) */
        tmp[i] = PyArray_Empty(PyArray_NDIM(u), PyArray_DIMS(u), d, s->args[i].kind == FG_MATRIX && !order);
        if (!tmp[i] || (keep && PyList_Append(keep, tmp[i]) < 0)) {
            PyErr_Clear();
            return -1;
        }
        int code = dt;
        if (!as_array((intptr_t)tmp[i], PyArray_NDIM(u), &code, &ta[i]) || shadow(t, &ta[i], ES_OF[dt]))
            return BAIL; /* (fresh memory: never tracked) */
        ubar[i] = v[i].bar;
        v[i].bar = 0;
        if (t && (bar0[i] || (s->args[i].io != FG_IN && active))) {
            const intptr_t bar = ensure(t, tmp[i], ba_tape_bases(t));
            if (bar < 0) return bar == -3 ? -1 : BAIL;
            v[i].bar = bar;
        }
    }
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < s->nargs; i++) {
            if (!stage[i] || (s->args[i].kind == FG_MATRIX) == pass) continue;
            /* the temporary's shadow takes part only when the argument's did (run's out_bar) */
            const int rc = copy2d(t, dt, &a[i], bar0[i], obj[i], &ta[i], bar0[i] ? v[i].bar : 0, (intptr_t)tmp[i]);
            if (rc) return rc;
            obj[i] = (intptr_t)tmp[i];
            v[i].p = (intptr_t)ta[i].p;
            int64_t l[2];
            lds_of(&ta[i], l);
            v[i].ld = s->args[i].kind == FG_MATRIX ? l[order] : 1;
        }
    return 0;
}

/* The written temporaries back into their arguments (user: their objects; ubar: their shadows),
 * recorded, in stage_in's order. 0 or a copy's status. */
static int stage_out(ba_tape *t, const fg_spec *s, int dt, const int *stage, PyObject **tmp, const nd_t *ta,
                     const fg_val *v, const intptr_t *user, const nd_t *a, const intptr_t *ubar)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < s->nargs; i++) {
            if (!stage[i] || s->args[i].io == FG_IN || (s->args[i].kind == FG_MATRIX) == pass) continue;
            const int rc = copy2d(t, dt, &ta[i], v[i].bar, (intptr_t)tmp[i], &a[i], ubar[i], user[i]);
            if (rc) return rc;
        }
    return 0;
}

/* fresh (ba_fast_new; else NULL): an array output left None is allocated here, as the generated
 * function would allocate it (zeros of the call's dtype, its shape from the dims the other
 * arguments bind; column-major for a LAPACK routine), into fresh[i] (a new reference the caller
 * owns whatever the status; nothing else is written before it exists). */
static int pool_grow(ba_tape *t);
static PyObject *slot_array(ba_tape *t, char *p, int dt);
static int fast_run(ba_tape *t, int r, intptr_t args, PyObject **fresh)
{
    PyObject *tuple = (PyObject *)args;
    if (r < 0 || r >= FG_NROUTINES || !PyTuple_CheckExact(tuple)) return BAIL;
    const fg_spec *s = &fg_specs[r];
    const int na = s->nargs;
    const int fw = !t && forward && fw_native_on && !dry; /* forward mode's native call */
    if (fw && !ba_tangent_native(s->entry)) return BAIL; /* its Python rule's */
    if (PyTuple_GET_SIZE(tuple) != na) return BAIL;
    intptr_t obj[FG_MAXARGS];
    for (int i = 0; i < na; i++) obj[i] = (intptr_t)PyTuple_GET_ITEM(tuple, i);
    nd_t a[FG_MAXARGS];
    fg_val v[FG_MAXARGS];
    ba_arg fp[FG_MAXARGS]; /* footprints for the overlap test (empty: none) */
    int f[FG_MAXARGS], L[FG_MAXARGS], dt = -1, rdt = -1; /* rdt: the dtype of the real arguments */
    int64_t d[FG_MAXDIMS] = {0}, ld[FG_MAXARGS][2];
    unsigned bound = 0;
    int nfresh = 0;
    memset(v, 0, sizeof v);
    memset(fp, 0, sizeof fp);

    /* validate: flags among the choices; arrays exact ndarrays of one dtype, of their ndim,
     * strides in whole elements (None, for an output to allocate, is not an array) */
    for (int i = 0; i < na; i++) {
        const fg_arg *g = &s->args[i];
        if (fresh && (PyObject *)obj[i] == Py_None && g->io == FG_OUT &&
            (g->kind == FG_VECTOR || g->kind == FG_MATRIX) && !g->real && (g->kind == FG_VECTOR || g->trans < 0)) {
            nfresh++; /* allocated once the dims are known */
        } else if (fresh && (PyObject *)obj[i] == Py_None && g->io == FG_OUT && g->kind == FG_SCALAR) {
            nfresh++; /* a reduction's result: allocated once the dtype is known */
        } else if (g->kind == FG_FLAG) {
            if ((L[i] = letter_of(obj[i])) < 0) return BAIL;
        } else if (g->kind == FG_INT) { /* a keyword dim: an int >= 0, or None (the arrays bind it) */
            PyObject *o = (PyObject *)obj[i];
            a[i].rows = -1;
            if (o == Py_None) continue;
            if (!PyLong_CheckExact(o)) return BAIL;
            const long long n = PyLong_AsLongLong(o);
            if (n < 0) {
                PyErr_Clear();
                return BAIL;
            }
            a[i].rows = n;
        } else if (g->kind == FG_PIVOTS) {
            if (!as_pivots(obj[i], &a[i])) return BAIL;
        } else if (g->kind == FG_SCALAR) { /* a written one: a 0-d array (rotg's alone give the dtype) */
            if (g->io != FG_IN && !as_array(obj[i], 0, g->real ? &rdt : &dt, &a[i])) return BAIL;
        } else if (!as_array(obj[i], g->kind == FG_MATRIX ? 2 : 1, g->real ? &rdt : &dt, &a[i]))
            return BAIL;
    }
    if (dt < 0 || !(s->dtypes >> dt & 1)) return BAIL;
    if (rdt >= 0 && rdt != (dt & 1)) return BAIL; /* a real argument (heevd's w): the real dtype */
    for (int i = 0; i < na; i++) /* the dtype's choices (complex: a trans flag's C is 3, not T's 1) */
        if (s->args[i].kind == FG_FLAG && (f[i] = s->args[i].codes[dt >= 2][L[i]]) < 0) return BAIL;
    const int es = ES_OF[dt];

    /* dims agree across the arguments, through op(X) for a transposed matrix (and the keywords) */
    for (int i = 0; i < na; i++) {
        const fg_arg *g = &s->args[i];
        if (g->kind == FG_INT && a[i].rows < 0) continue; /* None */
        if ((PyObject *)obj[i] == Py_None) continue; /* (an output to allocate) */
        if (g->kind != FG_VECTOR && g->kind != FG_MATRIX && g->kind != FG_PIVOTS && g->kind != FG_INT) continue;
        const int tr = g->kind != FG_INT && g->trans >= 0 && L[g->trans] != 0;
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
    fg_solve(r, d, L, &bound);
    for (int i = 0; nfresh && i < na; i++) { /* the outputs left None: zeros of the bound dims */
        const fg_arg *g = &s->args[i];
        if ((PyObject *)obj[i] == Py_None && g->kind == FG_SCALAR) { /* 0-d zeros (active: a slot, below) */
            int sdt = g->real ? dt & 1 : dt;
            if (!PyArray_API || !(fresh[i] = PyArray_Zeros(0, NULL, PyArray_DescrFromType(npy_types[sdt]), 0))) {
                PyErr_Clear();
                return PyArray_API ? -1 : BAIL;
            }
            obj[i] = (intptr_t)fresh[i];
            if (!as_array(obj[i], 0, &sdt, &a[i])) return BAIL; /* (never) */
            continue;
        }
        if ((PyObject *)obj[i] != Py_None || (g->kind != FG_VECTOR && g->kind != FG_MATRIX)) continue;
        const int nd = g->kind == FG_MATRIX ? 2 : 1;
        npy_intp shape[2];
        for (int k = 0; k < nd; k++) {
            if (!(bound >> g->dims[k] & 1)) return BAIL; /* a dim only it carries: the spec's allocate */
            shape[k] = d[g->dims[k]];
        }
        if (!PyArray_API || !(fresh[i] = PyArray_Zeros(nd, shape, PyArray_DescrFromType(npy_types[dt]), s->colmajor))) {
            PyErr_Clear();
            return PyArray_API ? -1 : BAIL;
        }
        obj[i] = (intptr_t)fresh[i];
        if (!as_array(obj[i], nd, &dt, &a[i])) return BAIL; /* (never: of the call's dtype) */
    }
    if (!fg_derived(r, d, L)) return BAIL; /* the wrappers check these; this is a guard */

    /* pivots read: row indices in [0, bound) (LAPACK would read or write out of bounds) */
    for (int i = 0; i < na; i++) {
        const fg_arg *g = &s->args[i];
        if (g->kind != FG_PIVOTS || g->io != FG_IN) continue;
        const int64_t bnd = g->bound >= 0 ? d[(int)g->bound] : a[i].rows, *p = (const int64_t *)a[i].p;
        if (a[i].rows > bnd) return BAIL; /* entry k interchanges row k: no more than bnd of them */
        for (int64_t k = 0; k < a[i].rows; k++)
            if (p[k] < 0 || p[k] >= bnd) return BAIL; /* the validator names it */
    }

    /* scalars: read, a Python float or a 0-d array of the dtype; written, a 0-d array */
    for (int i = 0; i < na; i++) {
        const fg_arg *g = &s->args[i];
        if (g->kind != FG_SCALAR) continue;
        if (g->io == FG_IN) {
            scalar_t sc;
            if (!as_scalar(obj[i], dt, g->real, t, &sc)) return BAIL;
            v[i].x = sc.v;
            v[i].y = sc.y;
            v[i].bar = sc.bar;
            v[i].src = (intptr_t)sc.fp.p;
            v[i].sdt = sc.dt;
            fp[i] = sc.fp;
        } else { /* (read above; nrm2's result, rotg's c: of the real dtype) */
            v[i].p = (intptr_t)a[i].p;
            fp[i] = ba_mat(v[i].p, 1, 0, 1, 1, ES_OF[g->real ? dt & 1 : dt]);
        }
    }

    /* run's CBLAS order: the one that needs the fewest staging copies; a tie takes the first
     * written matrix's native order (LAPACK's routines: column-major). A matrix with flip set
     * goes either way: in the other order, as its transpose. */
    int need[2] = {0, 0}, wfirst = -1;
    for (int i = 0; i < na; i++)
        if (s->args[i].kind == FG_MATRIX) {
            lds_of(&a[i], ld[i]);
            if (s->args[i].band || s->colmajor) ld[i][1] = 0; /* column-major only */
            for (int o = 0; o < 2; o++) need[o] += !ld[i][o] && !(s->args[i].flip && ld[i][!o]);
            if (s->args[i].io != FG_IN && wfirst < 0) wfirst = i;
        }
    const int order = s->colmajor ? 0 : need[0] == need[1] ? wfirst >= 0 && !ld[wfirst][0] : need[1] < need[0];

    /* staging, as run: a matrix BLAS cannot address in that order, a packed vector that is not
     * contiguous and a read vector with a zero stride go through recorded copies into
     * temporaries (stage_in, stage_out); their footprints for the overlap test: their byte spans */
    int stage[FG_MAXARGS] = {0}, nstage = 0;
    for (int i = 0; i < na; i++) {
        const fg_arg *g = &s->args[i];
        const nd_t *x = &a[i];
        const int aes = g->real ? ES_OF[dt & 1] : es; /* this argument's element size */
        if (g->kind == FG_PIVOTS) {
            v[i].p = (intptr_t)x->p;
            v[i].ld = 1;
            fp[i] = ba_vec(v[i].p, 1, 0, x->rows, 8);
        } else if (g->kind == FG_VECTOR) {
            if (x->s0 == 0 && x->rows > 1 && g->io != FG_IN) return BAIL; /* the validator refuses it */
            stage[i] = x->rows > 1 && (x->s0 == 0 || (g->packed && x->s0 != 1));
            if (stage[i] && g->io == FG_OUT) return BAIL; /* (run copies back only what it updates) */
            v[i].p = (intptr_t)x->p;
            v[i].ld = x->s0 ? x->s0 : 1;
            fp[i] = ba_vec(v[i].p, v[i].ld, 0, x->rows, aes);
        } else if (g->kind == FG_MATRIX) {
            const int empty = !x->rows || !x->cols; /* np.zeros((0, n)): zero strides, no element */
            if (g->io != FG_IN && !empty && ((x->s0 == 0 && x->rows > 1) || (x->s1 == 0 && x->cols > 1)))
                return BAIL;
            v[i].p = (intptr_t)x->p;
            if (!ld[i][order] && !(g->flip && ld[i][!order])) { /* staged */
                if (g->io != FG_IN && !distinct(x)) return BAIL; /* the validator tells */
                stage[i] = 1;
                fp[i] = span_of(x, aes);
            } else {
                const int o = ld[i][order] ? order : !order; /* !order: read as its transpose */
                if (o != order) f[g->trans] ^= 1;
                v[i].ld = ld[i][o];
                fp[i] = ba_mat_o(o, v[i].p, v[i].ld, 0, x->rows, x->cols, aes);
            }
        }
        nstage += stage[i];
        /* (staging copies in the call's dtype: a real argument of a complex call is the Python path's) */
        if (stage[i] && (g->real ? dt & 1 : dt) != dt) return BAIL;
    }
    if (nstage && (fw || !PyArray_API)) return BAIL; /* forward mode: its Python rule's */

    /* discrete entries (rotm's param[0] in -2, -1, 0, 1): another value is the validator's error */
    for (int i = 0; i < na; i++) {
        const fg_arg *g = &s->args[i];
        if (!g->ndisc || a[i].rows <= g->disc_at) continue;
        const double e = creal(ba_scalar_load(a[i].p + g->disc_at * a[i].s0 * es, dt));
        int ok = 0;
        for (int k = 0; k < g->ndisc; k++) ok |= e == g->disc[k];
        if (!ok) return BAIL;
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
    intptr_t bar0[FG_MAXARGS] = {0}; /* the arrays' shadows before the outputs get theirs */
    for (int i = 0; i < na; i++) {
        const fg_arg *g = &s->args[i];
        if (g->kind == FG_PIVOTS || g->kind == FG_INT) continue; /* never differentiated */
        if (g->kind == FG_FLAG || (g->kind == FG_SCALAR && g->io == FG_IN)) {
            active |= v[i].bar != 0; /* a read scalar's shadow is set above */
            continue;
        }
        if ((v[i].bar = bar0[i] = shadow(t, &a[i], g->real ? ES_OF[dt & 1] : es)) < 0) return BAIL;
        active |= g->io != FG_OUT && v[i].bar;
    }
    int tangents = 0; /* forward mode: a tangent anywhere runs the native tangent rule */
    if (fw) {
        for (int i = 0; i < na; i++)
            if (s->args[i].kind != FG_PIVOTS && s->args[i].kind != FG_INT) tangents |= v[i].bar != 0;
        for (int i = 0; tangents && i < na; i++) { /* a written argument without a tangent gets one */
            const fg_arg *g = &s->args[i];
            if (g->io == FG_IN || g->kind == FG_PIVOTS || g->kind == FG_INT || v[i].bar) continue;
            const intptr_t tan = fw_cover((PyObject *)obj[i]); /* (a reduction's result: its 0-d array's) */
            if (tan < 0) return -1;
            if (!tan) return NEEDS_SHADOW; /* the caller makes it (Python's Forward.cover) */
            v[i].bar = tan;
        }
        active = 0; /* (no tape: nothing below records) */
    }
    for (int i = 0; i < na; i++) /* an active call's outputs without a shadow get one (a result: a slot) */
        if (s->args[i].io != FG_IN && s->args[i].kind != FG_PIVOTS && active && !v[i].bar) {
            if (s->args[i].kind == FG_SCALAR && !(fresh && fresh[i])) return NEEDS_SHADOW; /* (the caller's) */
            if (s->args[i].kind == FG_SCALAR) { /* made here: a slot of the tape's pool instead, tracked */
                char *p = ba_tape_pool_take(t);
                if (!p && !pool_grow(t)) p = ba_tape_pool_take(t);
                PyObject *slot = p ? slot_array(t, p, s->args[i].real ? dt & 1 : dt) : NULL;
                if (!slot) {
                    PyErr_Clear();
                    return -1;
                }
                Py_SETREF(fresh[i], slot);
                obj[i] = (intptr_t)slot;
                a[i].p = p;
                v[i].p = (intptr_t)p;
                v[i].bar = ba_tape_shadow(t, (intptr_t)p);
                continue;
            }
            const intptr_t bar = ensure(t, (PyObject *)obj[i], ba_tape_bases(t));
            if (bar == -3) return -1;
            if (bar < 0) return BAIL; /* the validating path names the overlap */
            v[i].bar = bar;
        }
    if (t) { /* the sweep reads these by address: keep them alive until then */
        PyObject *keep = ba_tape_keep(t);
        for (int i = 0; i < na; i++)
            if (s->args[i].kind != FG_FLAG && is_array_or_scalar((PyObject *)obj[i]) && keep &&
                keep_add(t, keep, (PyObject *)obj[i]) < 0) {
                PyErr_Clear();
                return -1; /* out of memory; nothing written */
            }
    }
    if (dry) { /* ba_fast_check: validated; the dims, and nothing run */
        memcpy(dry, d, sizeof(int64_t) * (size_t)s->ndims);
        return 0;
    }
    PyObject *tmp[FG_MAXARGS] = {NULL}; /* the staged arguments' temporaries */
    nd_t ta[FG_MAXARGS];
    intptr_t user[FG_MAXARGS], ubar[FG_MAXARGS] = {0};
    int ret = 0;
    memcpy(user, obj, sizeof user);
    if (nstage && (ret = stage_in(t, s, dt, order, active, bar0, obj, a, v, stage, tmp, ta, ubar))) goto done;
    allow(es, na, obj);
#ifdef BA_CHECKED
    for (int i = 0; tangents && i < na; i++) /* the tangent rule's CBLAS calls reach the tangents too */
        if (v[i].bar && Py_TYPE((PyObject *)obj[i]) == nd_type && s->args[i].kind != FG_SCALAR) {
            const intptr_t shift = v[i].bar - (intptr_t)a[i].p, lo = array_bound(obj[i], 0);
            const intptr_t hi = array_bound(obj[i], 1) + es;
            if (hi > lo) ba_checked_allow(lo + shift, hi + shift);
        }
#endif
    int64_t work = 1;
    for (int k = 0; k < s->ndims; k++) work *= d[k] > 1 ? d[k] : 1;
    /* the entry's arguments as words, in its order: flags, dims, then each argument */
    ba_word w[3 * FG_MAXARGS + FG_MAXDIMS];
    ba_src src[FG_MAXARGS];
    int nw = 0, ns = 0;
    for (int i = 0; i < na; i++)
        if (s->args[i].kind == FG_FLAG) w[nw++].i = f[i];
    for (int k = 0; k < s->ndims; k++) w[nw++].i = d[k];
    for (int i = 0; i < na; i++) {
        const fg_arg *g = &s->args[i];
        if (g->kind == FG_FLAG || g->kind == FG_INT) continue; /* (a keyword dim: among the dims) */
        if (g->kind == FG_SCALAR && g->io == FG_IN) {
            if (v[i].src) src[ns++] = (ba_src){nw, v[i].sdt, v[i].src};
            w[nw++].x = v[i].x;
            w[nw++].x = v[i].y;
        } else {
            w[nw++].i = v[i].p;
            if (g->kind != FG_SCALAR) w[nw++].i = v[i].ld;
        }
        if (g->kind != FG_PIVOTS) w[nw++].i = v[i].bar;
    }
    if (tangents) { /* (forward mode stages nothing) */
        KERNEL(ret, work, ba_tangent_call(s->entry, dt, order, w, nw));
        return ret == -3 ? BAIL : ret;
    }
    KERNEL(ret, work, ba_entry(t, s->entry, dt, order, w, nw, src, ns));
    if (nstage && (ret == 0 || ret >= BA_INFO)) { /* (after a LAPACK failure too: A holds what LAPACK left) */
        const int rc = stage_out(t, s, dt, stage, tmp, ta, v, user, a, ubar);
        if (rc) ret = rc;
    }
done:
    for (int i = 0; i < na; i++) Py_XDECREF(tmp[i]); /* (the tape's keep list holds them while it needs them) */
    return ret;
}

int ba_fast_run(ba_tape *t, int r, intptr_t args)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    const int rc = fast_run(t, r, args, NULL);
    PyGILState_Release(g);
    return rc;
}

static _Thread_local ba_tape *recording; /* the tape recording on this thread */
/* forward (declared above): forward mode on this thread; every call is Python's but for fw_native_on */

void ba_fast_set_forward(int on) { forward = on; }

void ba_fast_set_tape(ba_tape *t, intptr_t keep)
{
    if (t) ba_tape_set_keep(t, (void *)keep);
    recording = t;
}

int ba_fast_call(int r, intptr_t args)
{
    if (forward && !fw_native_on) return 1;
    const PyGILState_STATE g = PyGILState_Ensure();
    const int rc = fast_run(recording, r, args, NULL);
    PyGILState_Release(g);
    return rc;
}

int ba_fast_check(int r, intptr_t args, intptr_t dims)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    dry = (int64_t *)dims;
    const int rc = fast_run(NULL, r, args, NULL);
    dry = NULL;
    PyGILState_Release(g);
    return rc;
}

/* fast_new(r, args): ba_fast_call's call with its array outputs left None allocated here (with
 * their shadow, or their tangent in forward mode): a CPython function (no cffi conversions, the GIL
 * held). The arguments with those outputs in place (a new tuple) when the call ran; else its status
 * (an int, as ba_fast_call's), the outputs dropped. */
static PyObject *py_fast_new(PyObject *self, PyObject *const *a, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2 || !PyLong_CheckExact(a[0]) || !PyTuple_CheckExact(a[1])) {
        PyErr_SetString(PyExc_TypeError, "fast_new(routine, args)");
        return NULL;
    }
    const int r = (int)PyLong_AsLong(a[0]);
    if (forward && !fw_native_on) return PyLong_FromLong(BAIL);
    PyObject *fresh[FG_MAXARGS] = {NULL};
    const int rc = r < 0 ? BAIL : fast_run(recording, r, (intptr_t)a[1], fresh);
    PyObject *out = NULL;
    const Py_ssize_t n = PyTuple_GET_SIZE(a[1]);
    if (rc == 0 && (out = PyTuple_New(n)) != NULL) {
        for (Py_ssize_t i = 0; i < n; i++)
            PyTuple_SET_ITEM(out, i, i < FG_MAXARGS && fresh[i] ? Py_NewRef(fresh[i]) : Py_NewRef(PyTuple_GET_ITEM(a[1], i)));
    }
    for (int i = 0; i < FG_MAXARGS; i++) Py_XDECREF(fresh[i]);
    if (rc == 0 && !out) PyErr_Clear();
    return out ? out : PyLong_FromLong(rc == 0 ? -1 : rc); /* (out of memory after the call: -1) */
}

/* fw_regions(): forward mode's native regions on this thread, as (lo, hi, tan, array, tangent owner)
 * tuples (array None: it is going, its region with it), for Python's Forward, which makes every
 * region from now until the run ends. */
static PyObject *py_fw_regions(PyObject *self, PyObject *const *a, Py_ssize_t nargs)
{
    (void)self, (void)a, (void)nargs;
    PyObject *out = PyList_New(0);
    for (int64_t i = 0; out && i < fw_n; i++) {
        PyObject *wr = fw_tab[i].wr, *x = wr ? PyWeakref_GetObject(wr) : NULL;
        if (!x) continue; /* Python's own */
        PyObject *cb = ((PyWeakReference *)wr)->wr_callback;
        PyObject *item = Py_BuildValue("(nnnOO)", (Py_ssize_t)fw_tab[i].lo, (Py_ssize_t)fw_tab[i].hi,
                                       (Py_ssize_t)fw_tab[i].tan, x, cb ? cb : Py_None);
        if (!item || PyList_Append(out, item) < 0) Py_CLEAR(out);
        Py_XDECREF(item);
    }
    if (out) fw_py = 1;
    return out;
}

static PyMethodDef fast_new_methods[] = {
    {"fast_new", (PyCFunction)(void (*)(void))py_fast_new, METH_FASTCALL,
     "fast_new(routine, args): the call with its outputs left None made here; the arguments, or a status"},
    {"fw_regions", (PyCFunction)(void (*)(void))py_fw_regions, METH_FASTCALL,
     "fw_regions(): forward mode's native regions on this thread; Python makes the next ones"},
};

int ba_fast_new_init(intptr_t box)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    int rc = -1;
    if (_import_array() < 0) goto done;
    if (!fw_tangent_type && !(fw_tangent_type = (PyTypeObject *)PyType_FromSpec(&fwt_spec))) goto done;
    if (append_functions((PyObject *)box, fast_new_methods, sizeof fast_new_methods / sizeof *fast_new_methods))
        goto done;
    rc = 0;
done:
    PyErr_Clear();
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

/* Replay: the arrays of the keep list (by id; a blasad.Scalar: its buffer) have the data and size
 * pinned in pins (n pairs) at the end of the recording. check 0: pin them; 1: the index of the
 * first one that has changed (a resize with refcheck=False), or -1. */
int64_t ba_keep_pins(intptr_t list, intptr_t pins, int64_t n, int check)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    PyObject *keep = (PyObject *)list;
    int64_t *pin = (int64_t *)pins, bad = -1;
    for (int64_t i = 0; i < n && i < PyList_GET_SIZE(keep); i++) {
        PyObject *o = PyList_GET_ITEM(keep, i);
        if (scalar_type && Py_TYPE(o) == scalar_type) o = ((ScalarObject *)o)->a;
        int64_t data = 0, size = 0;
        if (o && Py_TYPE(o) == nd_type) {
            data = (int64_t)(intptr_t)PyArray_DATA((PyArrayObject *)o);
            size = (int64_t)PyArray_NBYTES((PyArrayObject *)o);
        }
        if (!check) {
            pin[2 * i] = data, pin[2 * i + 1] = size;
        } else if (pin[2 * i] != data || pin[2 * i + 1] != size) {
            bad = i;
            break;
        }
    }
    PyGILState_Release(g);
    return bad;
}

/* ba_tape_lookup for array o (elements of itemsize bytes), the GIL held. */
static intptr_t lookup_array(ba_tape *t, intptr_t o, int64_t itemsize)
{
    const intptr_t p = (intptr_t)PyArray_DATA((PyArrayObject *)o), lo = array_bound(o, 0);
    const intptr_t top = array_bound(o, 1); /* lo - 1 for an empty array */
    return ba_tape_lookup(t, p, lo, top < lo ? lo : top + itemsize);
}

/* The shadow of array o's first element on tape t; when o has none, its base gets one (zeroed,
 * over the base's whole span, which keep then holds). -1: o straddles a tracked region; -2 its
 * base overlaps one; -3 out of memory (nothing made). The GIL is held. */
static intptr_t ensure(ba_tape *t, PyObject *o, PyObject *keep)
{
    PyArrayObject *arr = (PyArrayObject *)o;
    const int64_t itemsize = PyArray_ITEMSIZE(arr);
    const intptr_t p = (intptr_t)PyArray_DATA(arr), bar = lookup_array(t, (intptr_t)o, itemsize);
    if (bar) return bar;
    PyObject *root = o;
    while (PyArray_BASE((PyArrayObject *)root) && PyArray_Check(PyArray_BASE((PyArrayObject *)root)))
        root = PyArray_BASE((PyArrayObject *)root);
    intptr_t rlo = array_bound((intptr_t)root, 0), rhi = array_bound((intptr_t)root, 1);
    rhi = rhi < rlo ? rlo : rhi + PyArray_ITEMSIZE((PyArrayObject *)root);
    if (p < rlo) rlo = p;
    if (p + itemsize > rhi) rhi = p + itemsize;
    const intptr_t shadow_lo = ba_tape_new_shadow(t, rlo, rhi);
    if (shadow_lo < 0) return shadow_lo == -1 ? -3 : -2;
    if (keep && PyList_Append(keep, root) < 0) { /* the region stays; its base may outlive the tape */
        PyErr_Clear();
        return -3;
    }
    return p - rlo + shadow_lo;
}

static int span_order(const void *x, const void *y)
{
    const intptr_t a = ((const intptr_t *)x)[0], b = ((const intptr_t *)y)[0];
    return (a > b) - (a < b);
}

/* ba_arrays_disjoint for n objects, the GIL held */
static int disjoint_spans(PyObject *const *objs, Py_ssize_t n)
{
    intptr_t small[64], *span = n <= 32 ? small : malloc((size_t)n * 2 * sizeof *span); /* (lo, hi) pairs */
    int disjoint = span != NULL;
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < n && disjoint; i++) {
        PyObject *o = objs[i];
        if (!PyArray_Check(o)) {
            disjoint = 0;
            break;
        }
        const intptr_t a = array_bound((intptr_t)o, 0), top = array_bound((intptr_t)o, 1);
        if (top < a) continue; /* empty: no byte */
        span[2 * k] = a, span[2 * k + 1] = top + PyArray_ITEMSIZE((PyArrayObject *)o);
        k++;
    }
    if (disjoint) qsort(span, (size_t)k, 2 * sizeof *span, span_order); /* by lo */
    for (Py_ssize_t i = 1; i < k && disjoint; i++)
        if (span[2 * i] < span[2 * i - 1]) disjoint = 0;
    if (span != small) free(span);
    return disjoint;
}

int ba_arrays_disjoint(intptr_t list)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    PyObject *l = (PyObject *)list;
    const int disjoint = disjoint_spans(((PyListObject *)l)->ob_item, PyList_GET_SIZE(l));
    PyGILState_Release(g);
    return disjoint;
}

intptr_t ba_tape_ensure_array(ba_tape *t, intptr_t o, intptr_t keep)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    const intptr_t bar = ensure(t, (PyObject *)o, (PyObject *)keep);
    PyGILState_Release(g);
    return bar;
}

intptr_t ba_tape_lookup_array(ba_tape *t, intptr_t o, int64_t itemsize)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    const intptr_t bar = lookup_array(t, o, itemsize);
    PyGILState_Release(g);
    return bar;
}
intptr_t ba_array_hi(intptr_t o) { return locked_bound(o, 1); }

/* ---- active scalars: one native call per operation (blasad/_scalar.py) ---------------- */

/* The active scalars' entry points are CPython functions (METH_FASTCALL), not cffi calls:
 * an operation is a few hundred nanoseconds of Python around it, and a cffi call would add
 * its argument conversions and a GIL release and retake. They run with the GIL held, create
 * the result (a 0-d array over a pool slot, and the Scalar holding it) with NumPy's C API, and
 * return a new reference, or an int status for the Python side to act on (see scalar_call). */
static PyObject *py_op(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
static PyObject *py_slot(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
/* shadow(tape address, x): x's shadow on the tape as an array over its memory (x's shape, dtype and
 * strides) when the tape made it; None when x has none; 1 when the front end gave it (Duplicated);
 * -1 when x straddles a tracked region. */
static PyObject *py_shadow(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2 || !PyArray_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "shadow(tape address, ndarray)");
        return NULL;
    }
    ba_tape *t = (ba_tape *)PyLong_AsVoidPtr(args[0]);
    if (!t) return NULL;
    PyArrayObject *x = (PyArrayObject *)args[1];
    const intptr_t p = (intptr_t)PyArray_DATA(x), bar = lookup_array(t, (intptr_t)x, PyArray_ITEMSIZE(x));
    if (!bar) Py_RETURN_NONE;
    if (bar < 0) return PyLong_FromLong(-1);
    intptr_t info[3];
    if (ba_tape_region_info(t, p, (intptr_t)info) != 2) return PyLong_FromLong(1);
    PyArray_Descr *d = PyArray_DESCR(x);
    Py_INCREF(d);
    return PyArray_NewFromDescr(&PyArray_Type, d, PyArray_NDIM(x), PyArray_DIMS(x), PyArray_STRIDES(x), (void *)bar,
                                NPY_ARRAY_WRITEABLE, NULL);
}

static PyMethodDef scalar_methods[] = {
    {"op", (PyCFunction)(void (*)(void))py_op, METH_FASTCALL,
     "op(op, x, y, out, dtype): z <- op(x, y) recorded; a Scalar, or an int status"},
    {"slot", (PyCFunction)(void (*)(void))py_slot, METH_FASTCALL,
     "slot(dtype): a 0-d array over a fresh slot of the recording tape's pool, or None"},
    {"shadow", (PyCFunction)(void (*)(void))py_shadow, METH_FASTCALL,
     "shadow(tape address, x): x's shadow as an array when the tape made it; None, 1 or -1"},
};

/* blasad.Scalar's base, a C type: its one field (`_a`, the 0-d buffer) and its arithmetic as
 * number slots, so that `r * 2.0` runs no Python code at all (blasad/_scalar.py subclasses it,
 * adding the conversions, ufuncs and comparisons in Python). Each slot is scalar_call: a Scalar
 * when recorded, a NumPy scalar when not; any other outcome goes to the Python side's slow path. */
static PyObject *slow_path; /* blasad._scalar._from_c(op, x, y, status) */
static PyObject *kw_out; /* ("out",): the keyword names of a ufunc's vectorcall (fw_scalar) */
static int op_add = -1, op_sub, op_mul, op_div, op_pow, op_neg, op_abs;
static int scalar_entry = -1; /* ba_entry's index of ba_scalar_rec */
static PyObject *scalar_object(int rc, char *slot, const double *constant, PyObject *out);
static int scalar_call(ba_tape *t, int op, intptr_t xo, intptr_t yo, intptr_t out, int dz, char **slot,
                       char *constant);

static PyObject *fw_scalar(int op, PyObject *xo, PyObject *yo, PyObject *out, int dz, int *rc);
static int pool_grow(ba_tape *t);

static PyObject *scalar_result(int op, PyObject *x, PyObject *y)
{
    char *slot = NULL;
    double constant[2];
    int rc;
    if (forward) {
        PyObject *z = fw_scalar(op, x, y, NULL, -1, &rc);
        if (z || !rc) return z; /* (rc 0: an exception) */
    } else {
        rc = scalar_call(recording, op, (intptr_t)x, (intptr_t)y, 0, -1, &slot, (char *)constant);
    }
    if (rc >= 0) return scalar_object(rc, slot, constant, NULL);
    if (!slow_path) Py_RETURN_NOTIMPLEMENTED;
    return PyObject_CallFunction(slow_path, "iOOi", op, x, y ? y : Py_None, rc);
}

static PyObject *sb_add(PyObject *x, PyObject *y) { return scalar_result(op_add, x, y); }
static PyObject *sb_sub(PyObject *x, PyObject *y) { return scalar_result(op_sub, x, y); }
static PyObject *sb_mul(PyObject *x, PyObject *y) { return scalar_result(op_mul, x, y); }
static PyObject *sb_div(PyObject *x, PyObject *y) { return scalar_result(op_div, x, y); }
static PyObject *sb_pow(PyObject *x, PyObject *y, PyObject *mod)
{
    if (mod != Py_None) Py_RETURN_NOTIMPLEMENTED;
    return scalar_result(op_pow, x, y);
}
static PyObject *sb_neg(PyObject *x) { return scalar_result(op_neg, x, NULL); }
static PyObject *sb_abs(PyObject *x) { return scalar_result(op_abs, x, NULL); }
static PyObject *sb_pos(PyObject *x) { return Py_NewRef(x); }

/* __array_ufunc__: np.sqrt(r), np.hypot(r, s), ... called plainly (no other method) on an op of the
 * table is scalar_result, or with out= a 0-d array (or a Scalar's), py_op's call into it; anything
 * else is the Python side's (ufunc_slow), as is an in-place operator's call (`A[j, j, ...] -= r`:
 * out is the first operand, and Python notes the result it then stores back). */
#define MAX_UFUNCS 32
static PyObject *ufuncs[MAX_UFUNCS]; /* numpy's ufunc objects (they live as long as numpy) */
static int ufunc_op[MAX_UFUNCS], n_ufuncs;
static PyObject *ufunc_slow; /* blasad._scalar._ufunc_slow(self, ufunc, method, *inputs, **kwargs) */

int ba_scalar_ufunc(intptr_t ufunc, int op)
{
    if (n_ufuncs == MAX_UFUNCS || ba_scalar_op_arity(op) < 0) return -1;
    ufuncs[n_ufuncs] = (PyObject *)ufunc;
    ufunc_op[n_ufuncs++] = op;
    return 0;
}

static PyObject *scalar_into(int op, PyObject *x, PyObject *y, PyObject *out);

static PyObject *sb_array_ufunc(PyObject *self, PyObject *args, PyObject *kwargs)
{
    const Py_ssize_t n = PyTuple_GET_SIZE(args);
    PyObject *out = NULL; /* out=(o,): o a 0-d ndarray, or a Scalar's */
    if (kwargs && kw_out && PyDict_GET_SIZE(kwargs) == 1) {
        PyObject *o = PyDict_GetItemWithError(kwargs, PyTuple_GET_ITEM(kw_out, 0));
        if (o && PyTuple_CheckExact(o) && PyTuple_GET_SIZE(o) == 1) {
            o = PyTuple_GET_ITEM(o, 0);
            o = scalar_type && Py_TYPE(o) == scalar_type ? ((ScalarObject *)o)->a : o;
            if (o && Py_TYPE(o) == nd_type && PyArray_NDIM((PyArrayObject *)o) == 0 && n >= 3 &&
                PyTuple_GET_ITEM(args, 2) != o)
                out = o;
        }
        PyErr_Clear();
    }
    if (n >= 3 && n <= 4 && (!kwargs || PyDict_GET_SIZE(kwargs) == 0 || out)) {
        PyObject *uf = PyTuple_GET_ITEM(args, 0), *method = PyTuple_GET_ITEM(args, 1);
        for (int i = 0; i < n_ufuncs; i++)
            if (ufuncs[i] == uf && PyUnicode_Check(method) && PyUnicode_CompareWithASCIIString(method, "__call__") == 0 &&
                ba_scalar_op_arity(ufunc_op[i]) == n - 2) {
                PyObject *x = PyTuple_GET_ITEM(args, 2), *y = n == 4 ? PyTuple_GET_ITEM(args, 3) : NULL;
                if (!out) return scalar_result(ufunc_op[i], x, y);
                PyObject *z = scalar_into(ufunc_op[i], x, y, out);
                if (z != Py_None) return z; /* (NULL: an exception) */
                Py_DECREF(z);
                break; /* a status: the Python side's */
            }
    }
    if (!ufunc_slow) Py_RETURN_NOTIMPLEMENTED;
    PyObject *full = PyTuple_New(n + 1);
    if (!full) return NULL;
    PyTuple_SET_ITEM(full, 0, Py_NewRef(self));
    for (Py_ssize_t i = 0; i < n; i++) PyTuple_SET_ITEM(full, i + 1, Py_NewRef(PyTuple_GET_ITEM(args, i)));
    PyObject *res = PyObject_Call(ufunc_slow, full, kwargs);
    Py_DECREF(full);
    return res;
}

static PyMethodDef sb_methods[] = {
    {"__array_ufunc__", (PyCFunction)(void (*)(void))sb_array_ufunc, METH_VARARGS | METH_KEYWORDS,
     "NumPy's ufuncs on an active scalar: recorded (blasad/specs/scalar.py's ops), or NumPy's"},
    {NULL, NULL, 0, NULL},
};

static void sb_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    Py_CLEAR(((ScalarObject *)self)->a);
    type->tp_free(self);
    Py_DECREF(type); /* a heap type's instances hold a reference to it */
}

static PyMemberDef sb_members[] = {
    {"_a", T_OBJECT_EX, offsetof(ScalarObject, a), 0, "the 0-d array holding the value"},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot sb_slots[] = {
    {Py_tp_dealloc, (void *)sb_dealloc},
    {Py_tp_members, sb_members},
    {Py_tp_methods, sb_methods},
    {Py_nb_add, (void *)sb_add},
    {Py_nb_subtract, (void *)sb_sub},
    {Py_nb_multiply, (void *)sb_mul},
    {Py_nb_true_divide, (void *)sb_div},
    {Py_nb_power, (void *)sb_pow},
    {Py_nb_negative, (void *)sb_neg},
    {Py_nb_absolute, (void *)sb_abs},
    {Py_nb_positive, (void *)sb_pos},
    {Py_tp_doc, (void *)"blasad.Scalar's native base: the buffer and the recorded arithmetic"},
    {0, NULL},
};

static PyType_Spec sb_spec = {
    "blasad._native.ScalarBase", sizeof(ScalarObject), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, sb_slots,
};

int ba_scalar_base(intptr_t box)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    int rc = -1;
    PyObject *type = PyType_FromSpec(&sb_spec);
    if (type && PyList_Append((PyObject *)box, type) == 0) rc = 0;
    Py_XDECREF(type);
    PyErr_Clear();
    PyGILState_Release(g);
    return rc;
}

int ba_scalar_init(intptr_t type, intptr_t c64, intptr_t c128, intptr_t complex128_scalar, intptr_t box)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    int rc = -1;
    if (_import_array() < 0) goto done;
    scalar_type = (PyTypeObject *)type; /* a subclass of ScalarBase: its field is ScalarObject's */
    cdtypes[0] = (PyObject *)c64;
    cdtypes[1] = (PyObject *)c128;
    complex_scalar = (PyTypeObject *)complex128_scalar;
    if (PyList_GET_SIZE((PyObject *)box) != 2) goto done;
    slow_path = Py_NewRef(PyList_GET_ITEM((PyObject *)box, 0)); /* both kept for the process's life */
    ufunc_slow = Py_NewRef(PyList_GET_ITEM((PyObject *)box, 1));
    op_add = ba_scalar_op_index("add"), op_sub = ba_scalar_op_index("sub");
    op_mul = ba_scalar_op_index("mul"), op_div = ba_scalar_op_index("div");
    op_pow = ba_scalar_op_index("pow"), op_neg = ba_scalar_op_index("neg");
    op_abs = ba_scalar_op_index("abs");
    if (!kw_out && !(kw_out = Py_BuildValue("(s)", "out"))) goto done; /* (kept for the process's life) */
    if (append_functions((PyObject *)box, scalar_methods, 3)) goto done;
    rc = 0;
done:
    PyErr_Clear();
    PyGILState_Release(g);
    return rc;
}

typedef struct {
    double complex v;
    int dt;   /* dtype code; for a weak number: 1 (real) or 3 (complex) */
    int weak; /* a Python int, float or complex: it takes the other operand's precision */
    char *p;  /* a buffer's element (NULL: a number) */
    intptr_t bar;
} sopnd;

/* 1: read; 0: not a kind read here; -1: straddles a tracked region */
static int s_operand(ba_tape *t, PyObject *o, sopnd *s)
{
    memset(s, 0, sizeof *s);
    if (scalar_type && Py_TYPE(o) == scalar_type) o = ((ScalarObject *)o)->a;
    if (!o) return 0;
    PyTypeObject *type = Py_TYPE(o);
    if (type == nd_type) {
        PyArrayObject *arr = (PyArrayObject *)o;
        if (PyArray_NDIM(arr) != 0) return 0;
        PyObject *d = (PyObject *)PyArray_DESCR(arr);
        s->dt = d == dtypes[0] ? 0 : d == dtypes[1] ? 1 : d == cdtypes[0] ? 2 : d == cdtypes[1] ? 3 : -1;
        if (s->dt < 0) return 0;
        s->p = PyArray_DATA(arr);
        s->v = ba_scalar_load(s->p, s->dt);
        if (t) {
            const int es = s->dt < 2 ? 4 << s->dt : 8 << (s->dt - 2);
            s->bar = ba_tape_lookup(t, (intptr_t)s->p, (intptr_t)s->p, (intptr_t)s->p + es);
        }
        return s->bar < 0 ? -1 : 1;
    }
    if (type == &PyFloat_Type || type == float_scalar) {
        s->v = PyFloat_AS_DOUBLE(o);
        s->dt = 1;
        s->weak = type == &PyFloat_Type;
        return 1;
    }
    if (type == &PyComplex_Type || type == complex_scalar) {
        const Py_complex c = PyComplex_AsCComplex(o);
        s->v = CMPLX(c.real, c.imag);
        s->dt = 3;
        s->weak = type == &PyComplex_Type;
        return 1;
    }
    if (type == &PyLong_Type) {
        int overflow = 0;
        const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow || v > ((long long)1 << 53) || v < -((long long)1 << 53)) {
            PyErr_Clear();
            return 0;
        }
        s->v = (double)v;
        s->dt = 1;
        s->weak = 1;
        return 1;
    }
    return 0;
}

/* NumPy's promotion of the two operands (NEP 50: a Python number takes the other's precision) */
static int s_promote(const sopnd *x, const sopnd *y, int arity)
{
    if (arity == 1) return x->dt;
    if (x->weak && y->weak) return -1;
    if (x->weak || y->weak) {
        const sopnd *s = x->weak ? y : x, *w = x->weak ? x : y;
        return w->dt == 3 ? (s->dt | 2) : s->dt;
    }
    return ((x->dt | y->dt) & 2) | ((x->dt | y->dt) & 1);
}

/* z <- op(x, y) on tape t (NULL: none recording): z's dtype code (>= 0), with *slot the pool
 * slot it took (NULL: out); dtype code + 4 when nothing is recorded (no tape, or constants only)
 * and there is no out: the value is in constant (16 bytes); or a status: -1 out of memory;
 * -2 nothing recording and an out (the caller computes it with NumPy); -3 an operand or dtype
 * not read here (the caller converts and calls again with dz set, or lets NumPy raise); -5 active
 * and out has no shadow (the caller gives it one); -6 an array straddles a tracked region. Nothing
 * is written unless it returns >= 0 (a pool used up gets a new chunk here: pool_grow). */
static int scalar_call(ba_tape *t, int op, intptr_t xo, intptr_t yo, intptr_t out, int dz, char **slot,
                       char *constant)
{
    const int arity = ba_scalar_op_arity(op);
    if (arity < 0) return -3;
    if (!t && out) return -2;
    sopnd x, y;
    memset(&y, 0, sizeof y);
    int rc = s_operand(t, (PyObject *)xo, &x);
    if (rc > 0 && arity == 2) rc = s_operand(t, (PyObject *)yo, &y);
    if (rc < 0) return -6;
    if (rc == 0) return -3;
    if (dz < 0) {
        dz = s_promote(&x, &y, arity);
        if (dz < 0) return -3;
    }
    const int kind = ba_scalar_op_kind(op);
    if (kind == 2 && ((dz | x.dt | (arity == 2 ? y.dt : 0)) & 2)) return -3; /* hypot: NumPy's TypeError */
    if (kind == 1) dz &= 1;
    char *z;
    intptr_t z_bar;
    *slot = NULL;
    /* nothing to record: the value, into constant (on a replay tape, an operand held in an array
     * makes the result a slot's, so that a replay computes it anew) */
    if (!x.bar && !y.bar && !out && !(t && ba_tape_log(t) && (x.p || y.p))) {
        ba_scalar_rec(NULL, op, dz, constant, NULL, x.v, x.dt, NULL, y.v, y.dt, NULL);
        return dz + 4;
    }
    if (out) {
        sopnd o;
        PyObject *obj = (PyObject *)out;
        if (Py_TYPE(obj) != nd_type || s_operand(t, obj, &o) <= 0 || !writeable(out)) return -3;
        if ((dz & 2) && !(o.dt & 2)) return -3; /* complex into a real out: NumPy's error */
        dz = o.dt;
        z = o.p;
        z_bar = o.bar;
        if ((x.bar || y.bar) && !z_bar) return -5;
    } else {
        z = ba_tape_pool_take(t);
        if (!z && !pool_grow(t)) z = ba_tape_pool_take(t);
        if (!z) {
            PyErr_Clear();
            return -1;
        }
        z_bar = ba_tape_shadow(t, (intptr_t)z);
        *slot = z;
    }
    if (t && (ba_tape_log(t) || ba_tape_keep_all(t))) { /* the replay writes out and reads the operands' arrays: keep them */
        PyObject *keep = ba_tape_keep(t), *objs[3] = {(PyObject *)xo, arity == 2 ? (PyObject *)yo : NULL, (PyObject *)out};
        for (int i = 0; i < 3; i++)
            if (keep && objs[i] && is_array_or_scalar(objs[i]) && PyList_Append(keep, objs[i]) < 0) {
                PyErr_Clear();
                return -1;
            }
    }
    /* through ba_entry, which logs it on a replay tape: ba_scalar_rec's arguments as words */
    const ba_word w[12] = {{.i = op},         {.i = dz},         {.i = (intptr_t)z},  {.i = z_bar},
                           {.x = creal(x.v)}, {.x = cimag(x.v)}, {.i = x.dt},         {.i = x.bar},
                           {.x = creal(y.v)}, {.x = cimag(y.v)}, {.i = y.dt},         {.i = y.bar}};
    ba_src src[2];
    int ns = 0;
    if (x.p) src[ns++] = (ba_src){4, x.dt, (intptr_t)x.p};
    if (y.p && arity == 2) src[ns++] = (ba_src){8, y.dt, (intptr_t)y.p};
    if (scalar_entry < 0) scalar_entry = ba_entry_index("scalar_op");
    if (ba_entry(t, scalar_entry, 0, 0, w, 12, src, ns)) return -1;
    return dz;
}

/* A new 0-d array of dtype dt over pool slot p of tape t (its base: the pool's chunk). */
static PyObject *slot_array(ba_tape *t, char *p, int dt)
{
    PyObject *a = PyArray_NewFromDescr(&PyArray_Type, PyArray_DescrFromType(npy_types[dt]), 0, NULL, NULL, p,
                                       NPY_ARRAY_CARRAY, NULL);
    PyObject *owner = ba_tape_pool_owner(t);
    if (!a) return NULL;
    Py_INCREF(owner);
    if (PyArray_SetBaseObject((PyArrayObject *)a, owner) < 0) {
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

/* A new blasad.Scalar holding a (a reference it takes over) */
static PyObject *new_scalar(PyObject *a)
{
    if (!a) return NULL;
    PyObject *s = scalar_type->tp_alloc(scalar_type, 0);
    if (!s) {
        Py_DECREF(a);
        return NULL;
    }
    ((ScalarObject *)s)->a = a;
    return s;
}

/* scalar_call's result rc >= 0 as a new reference: a NumPy scalar of the value in constant when
 * nothing was recorded, else a Scalar over the pool slot it took, or over out. */
static PyObject *scalar_object(int rc, char *slot, const double *constant, PyObject *out)
{
    if (rc >= 4) /* recorded nothing: a NumPy scalar, as NumPy's own operation gives */
        return PyArray_Scalar((void *)constant, (PyArray_Descr *)(rc - 4 < 2 ? dtypes[rc - 4] : cdtypes[rc - 6]), NULL);
    return new_scalar(slot ? slot_array(recording, slot, rc) : Py_NewRef(out));
}

/* z <- op(x, y) into out (a 0-d ndarray), promoted as NumPy: a Scalar over out; None for any status
 * (nothing written: the Python side's apply acts on it); NULL with an exception. */
static PyObject *scalar_into(int op, PyObject *x, PyObject *y, PyObject *out)
{
    double constant[2];
    char *slot = NULL;
    int rc;
    if (forward) {
        PyObject *z = fw_scalar(op, x, y, out, -1, &rc);
        if (z || !rc) return z; /* (rc 0: an exception) */
    } else {
        rc = scalar_call(recording, op, (intptr_t)x, (intptr_t)y, (intptr_t)out, -1, &slot, (char *)constant);
    }
    return rc < 0 ? Py_NewRef(Py_None) : scalar_object(rc, slot, constant, out);
}

/* op(op, x, y, out, dtype): out None or a 0-d array; dtype -1 to promote as NumPy */
static PyObject *py_op(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "op(op, x, y, out, dtype)");
        return NULL;
    }
    const long op = PyLong_AsLong(args[0]), dtype = PyLong_AsLong(args[4]);
    if ((op == -1 || dtype == -1) && PyErr_Occurred()) return NULL;
    PyObject *out = args[3] == Py_None ? NULL : args[3];
    char *slot = NULL;
    double constant[2]; /* 16 bytes, aligned for any of the four dtypes */
    int rc;
    if (forward) {
        PyObject *z = fw_scalar((int)op, args[1], args[2] == Py_None ? NULL : args[2], out, (int)dtype, &rc);
        if (z || !rc) return z; /* (rc 0: an exception) */
    } else {
        rc = scalar_call(recording, (int)op, (intptr_t)args[1], (intptr_t)args[2], (intptr_t)out, (int)dtype, &slot,
                         (char *)constant);
    }
    return rc < 0 ? PyLong_FromLong(rc) : scalar_object(rc, slot, constant, out);
}

/* ---- forward mode's active scalars: one native call per operation ------------------------------
 *
 * While forward mode runs natively on this thread (fw_native_on, not inside a rule, and no Python
 * Forward for the run yet: fw_py), z <- op(x, y) takes its value as outside forward mode (scalar_call's
 * computation; into out, NumPy's ufunc, as blasad._forward.scalar_op has it computed) and ż from
 * ba_scalar_tangent, with the operands' tangents found in the run's table as any array's. The
 * result's tangent: a region made for the new 0-d result as fw_cover makes a new output's (it goes
 * with the array), or out's own (made over its base when it has none); none when no operand has a
 * tangent (a NumPy scalar, or NumPy's operation into out, as outside forward mode). Once Python's
 * Forward exists, every operation is its (status -7: its regions must be known to it). */

/* o as the Python side hands it to NumPy's ufunc (blasad._scalar._value), a new reference: a
 * blasad.Scalar's value as a NumPy scalar (a copy: NumPy's loop for an operand that is out itself
 * may round otherwise), anything else itself */
static PyObject *ufunc_operand(PyObject *o)
{
    if (!scalar_type || Py_TYPE(o) != scalar_type) return Py_NewRef(o);
    PyArrayObject *a = (PyArrayObject *)((ScalarObject *)o)->a;
    return PyArray_Scalar(PyArray_DATA(a), PyArray_DESCR(a), (PyObject *)a);
}

/* Forward mode's z <- op(x, y) (y NULL for a unary op; out NULL or the 0-d array to write; dz < 0 to
 * promote as NumPy): a new reference, a Scalar when z has a tangent, else a NumPy scalar; or NULL
 * with *rc: -7 the Python side's (blasad._forward.scalar_op: Python's Forward made, batches, an
 * operand or dtype not read here, an array straddling a region's edge, a base meeting one), -2 into
 * out with no tangent anywhere (NumPy's operation, as outside forward mode), -1 out of memory, 0 an
 * exception set (NumPy's ufunc raised: out's base may have a zero tangent by then). Nothing else is
 * written unless it returns an object. The GIL is held. */
static PyObject *fw_scalar(int op, PyObject *xo, PyObject *yo, PyObject *out, int dz, int *rc)
{
    *rc = -7;
    const int arity = ba_scalar_op_arity(op);
    if (!fw_native_on || fw_py || dz >= 0 || arity < 0 || !fw_tangent_type) return NULL;
    sopnd x, y;
    memset(&y, 0, sizeof y);
    if (s_operand(NULL, xo, &x) <= 0 || (arity == 2 && s_operand(NULL, yo, &y) <= 0)) return NULL;
    if ((dz = s_promote(&x, &y, arity)) < 0) return NULL;
    const int kind = ba_scalar_op_kind(op);
    if (kind == 2 && ((dz | x.dt | (arity == 2 ? y.dt : 0)) & 2)) return NULL; /* hypot of complex: NumPy's TypeError */
    if (kind == 1) dz &= 1;
    /* the operands' tangents (a number's: none) */
    const intptr_t xp = (intptr_t)x.p, yp = (intptr_t)y.p;
    const intptr_t xt = xp ? fw_lookup(xp, xp, xp + ES_OF[x.dt]) : 0, yt = yp ? fw_lookup(yp, yp, yp + ES_OF[y.dt]) : 0;
    if (xt < 0 || yt < 0) return NULL; /* (the Python side names the array) */
    double v[6] = {creal(x.v), cimag(x.v), creal(y.v), cimag(y.v), 0, 0}; /* x, y, z for ba_scalar_tangent */
    PyObject *z;
    intptr_t zt;
    if (out) {
        sopnd o;
        if (Py_TYPE(out) != nd_type || s_operand(NULL, out, &o) <= 0 || !writeable((intptr_t)out)) return NULL;
        if ((dz & 2) && !(o.dt & 2)) return NULL; /* complex into a real out: NumPy's error */
        if ((zt = fw_lookup((intptr_t)o.p, (intptr_t)o.p, (intptr_t)o.p + ES_OF[o.dt])) < 0) return NULL;
        if (!xt && !yt && !zt) {
            *rc = -2;
            return NULL;
        }
        PyObject *uf = NULL;
        for (int i = 0; i < n_ufuncs && !uf; i++)
            if (ufunc_op[i] == op) uf = ufuncs[i];
        if (!uf || !kw_out) return NULL;
        if (!zt && (zt = fw_cover(out)) <= 0) { /* (before the write: a base meeting a region is Python's) */
            *rc = zt ? -1 : -7;
            return NULL;
        }
        /* the value: NumPy's, as the Python side writes it (ẋ, ẏ are read below, before ż is stored:
         * out may be an operand, and its tangent theirs) */
        PyObject *stack[3] = {ufunc_operand(xo), arity == 2 ? ufunc_operand(yo) : Py_NewRef(out), out};
        PyObject *res = stack[0] && stack[1] ? PyObject_Vectorcall(uf, stack, (size_t)arity, kw_out) : NULL;
        Py_XDECREF(stack[0]);
        Py_XDECREF(stack[1]);
        if (!res) {
            *rc = 0;
            return NULL;
        }
        Py_DECREF(res);
        z = Py_NewRef(out);
        dz = o.dt;
    } else {
        if (!xt && !yt) { /* constants: the NumPy scalar, as outside forward mode */
            double constant[2];
            ba_scalar_rec(NULL, op, dz, (char *)constant, NULL, x.v, x.dt, NULL, y.v, y.dt, NULL);
            return scalar_object(dz + 4, NULL, constant, NULL);
        }
        if (!(z = PyArray_SimpleNew(0, NULL, npy_types[dz]))) {
            PyErr_Clear();
            *rc = -1;
            return NULL;
        }
        ba_scalar_rec(NULL, op, dz, PyArray_DATA((PyArrayObject *)z), NULL, x.v, x.dt, NULL, y.v, y.dt, NULL);
        if ((zt = fw_cover(z)) <= 0) {
            Py_DECREF(z);
            *rc = zt ? -1 : -7;
            return NULL;
        }
    }
    const double complex zv = ba_scalar_load(PyArray_DATA((PyArrayObject *)z), dz); /* (the value stored) */
    v[4] = creal(zv), v[5] = cimag(zv);
    ba_scalar_tangent(op, dz, x.dt, y.dt, (intptr_t)v, xt, yt, zt);
    return new_scalar(z);
}

/* ---- the scalar pool's chunks, made here -------------------------------------------------------
 *
 * A chunk: POOL_SLOTS slots of 16 bytes, 16-byte aligned, in a zeroed uint8 array, its owner (the
 * slots' 0-d arrays have it as their base, so that a result outlives its tape), tracked as one
 * region whose shadow the tape makes from its pool of blocks. The first chunk of a tape has
 * POOL_FIRST slots: a small program's tape makes and zeroes 2 x 1 KiB (values and shadows), not
 * 2 x 16 KiB. The tape lists the owners (ba_tape_pool_add) and holds a reference to each, which
 * tape_free lets go: no Python code runs, and no Tape object is needed (a native autodiff call
 * does not make one for it). */
#define POOL_SLOTS 1024
#define POOL_FIRST 64

/* A new chunk for tape t, its current one from now on: 0, or -1 with an exception set (nothing
 * changed). The GIL is held. */
static int pool_grow(ba_tape *t)
{
    const int64_t slots = ba_tape_pool_nchunks(t) ? POOL_SLOTS : POOL_FIRST;
    npy_intp n = 16 * slots + 16; /* (16 bytes of slack to align the slots) */
    PyObject *raw = PyArray_ZEROS(1, &n, NPY_UINT8, 0);
    if (!raw) return -1;
    const intptr_t lo = (intptr_t)PyArray_DATA((PyArrayObject *)raw), shadow = ba_tape_new_shadow(t, lo, lo + n);
    if (shadow >= 0 && !ba_tape_pool_add(t, lo + (-lo & 15), slots, raw)) return 0; /* (t holds raw) */
    if (shadow >= 0) ba_tape_remove_region(t, lo);
    Py_DECREF(raw);
    if (shadow == -2) /* (fresh memory under a region: an array freed while the tape tracks it) */
        PyErr_SetString(PyExc_ValueError, "blasad: a new scalar pool chunk lies in memory the tape tracks");
    else PyErr_SetString(PyExc_MemoryError, "blasad: out of memory while adding scalar slots to the tape");
    return -1;
}

/* ba_tape_free, letting go of the scalar pool's chunks (the GIL is held) */
static void tape_free(ba_tape *t)
{
    if (!t) return;
    for (int64_t i = ba_tape_pool_nchunks(t); i-- > 0;) Py_DECREF((PyObject *)ba_tape_pool_chunk(t, i));
    ba_tape_free(t);
}

/* slot(dtype): a reduction's result buffer while a tape records (a new chunk when the pool is used
 * up); None when none records */
static PyObject *py_slot(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    const long dt = nargs == 1 ? PyLong_AsLong(args[0]) : -1;
    if (dt < 0 || dt > 3) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "slot(dtype code)");
        return NULL;
    }
    if (!recording) Py_RETURN_NONE;
    char *p = ba_tape_pool_take(recording);
    if (!p && pool_grow(recording)) return NULL;
    return slot_array(recording, p ? p : ba_tape_pool_take(recording), (int)dt);
}

/* pool_chunks(tape address, start): the owners of the tape's scalar pool chunks from the start-th
 * on (a new list), in order made */
static PyObject *py_pool_chunks(PyObject *self, PyObject *const *a, Py_ssize_t nargs)
{
    (void)self;
    ba_tape *t = nargs == 2 ? (ba_tape *)PyLong_AsVoidPtr(a[0]) : NULL;
    const Py_ssize_t start = t ? PyLong_AsSsize_t(a[1]) : -1;
    if (!t || start < 0)
        return PyErr_Occurred() ? NULL : PyErr_Format(PyExc_TypeError, "pool_chunks(tape address, start)");
    const int64_t n = ba_tape_pool_nchunks(t);
    PyObject *list = PyList_New(n > start ? (Py_ssize_t)n - start : 0);
    for (int64_t i = start; list && i < n; i++)
        PyList_SET_ITEM(list, (Py_ssize_t)(i - start), Py_NewRef(ba_tape_pool_chunk(t, i)));
    return list;
}

/* ---- reverse-mode autodiff in one native call (blasad/_tape.py autodiff) ---------------------
 *
 * The common case, every Duplicated with dx laid out as x and no argument sharing a byte with
 * another (ba_arrays_disjoint): the tape, its regions and lists are made here, f runs with the
 * tape recording on this thread, and the reverse sweep follows, with no Python object for the
 * tape. Python code that asks for the recording tape while f runs (thread_local.tape: an active
 * scalar's slow path, a routine's validating path, checkpoint_loop, a nested Tape) gets one made
 * then over the same tape and lists (blasad._tape._adopt), which owns the tape from then on and
 * finishes the call as the Python path would (blasad._tape._end_adopted). A long sweep (as
 * _run_sweep counts it) goes that way too, so that Ctrl-C can stop it. */
typedef struct {
    ba_tape *t;
    PyObject *keep, *bases; /* the tape's keep and bases lists */
    PyObject *tape;                /* the Tape object made for it (it owns t), or NULL */
} lazy_t;
static _Thread_local lazy_t *lazy;
static PyTypeObject *dup_type, *const_type, *batch_type;
static PyObject *str_x, *str_dx, *fallback, *adopt_fn, *end_fn, *failed_fn;

/* ba_tape_sweep of a short tape (as _run_sweep counts it), the GIL let go while it reads 64 KiB or more */
static int sweep(ba_tape *t)
{
    if (ba_tape_bytes_referenced(t) < (1 << 16)) return ba_tape_sweep(t);
    PyThreadState *state = PyEval_SaveThread();
    const int rc = ba_tape_sweep(t);
    PyEval_RestoreThread(state);
    return rc;
}

/* The Tape object of the autodiff running on this thread, made on first demand; NULL with no
 * exception set when none runs. */
static void free_tape(PyObject *capsule) { tape_free(PyCapsule_GetPointer(capsule, "blasad.tape")); }

static PyObject *lazy_tape(void)
{
    if (!lazy) return NULL;
    if (!lazy->tape) { /* the capsule frees the tape once the Tape object holds it */
        PyObject *owner = PyCapsule_New(lazy->t, "blasad.tape", NULL);
        if (!owner) return NULL;
        lazy->tape = PyObject_CallFunction(adopt_fn, "nOOO", (Py_ssize_t)(intptr_t)lazy->t, owner, lazy->keep,
                                           lazy->bases);
        if (lazy->tape) PyCapsule_SetDestructor(owner, free_tape);
        Py_DECREF(owner);
    }
    return lazy->tape;
}

/* tape(): the Tape object of the autodiff running on this thread (made now), or None */
static PyObject *py_lazy_tape(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self, (void)args, (void)nargs;
    if (!lazy || recording != lazy->t) Py_RETURN_NONE; /* (a checkpointed loop's advance: none) */
    PyObject *tape = lazy_tape();
    return tape ? Py_NewRef(tape) : NULL;
}

/* x and dx of a Duplicated, x of a Const (borrowed: the argument holds them while autodiff runs) */
static PyObject *field(PyObject *o, PyObject *name)
{
    PyObject *v = PyObject_GetAttr(o, name);
    Py_XDECREF(v); /* (the object keeps it) */
    return v;
}

/* The nd shapes or strides a and b agree (a 0-d array's are NULL) */
static int same_dims(const npy_intp *a, const npy_intp *b, int nd)
{
    return !nd || !memcmp(a, b, (size_t)nd * sizeof(npy_intp));
}

/* Python's end of a native call for which Python made its object: fn(*args) (a new tuple, NULL when
 * making it failed), with f's exception, if f raised, kept aside while it runs (it wins over fn's);
 * result, or NULL when f or fn raised. */
static PyObject *end_in_python(PyObject *result, PyObject *fn, PyObject *args)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *end = args ? PyObject_Call(fn, args, NULL) : NULL;
    Py_XDECREF(args);
    if (!end) Py_CLEAR(result);
    Py_XDECREF(end);
    if (type) PyErr_Restore(type, value, tb);
    return result;
}

/* The arguments' primals into primals (a new tuple of n); each Duplicated's x and dx into arr, in
 * pairs (*nd of them), then the constants' arrays, which reverse mode checks too (*na arrays in
 * all). fw: forward mode's common case, where dx is x's tangent region, so x's elements must fill
 * their span. 0, or 1: not the common case (the Python path's). */
static int classify(PyObject *args, PyObject *primals, PyObject **arr, Py_ssize_t *nd, Py_ssize_t *na, int fw)
{
    const Py_ssize_t n = PyTuple_GET_SIZE(args);
    PyObject *constants[64];
    Py_ssize_t nc = 0;
    *nd = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *a = PyTuple_GET_ITEM(args, i), *primal = a;
        if (Py_TYPE(a) == dup_type) {
            PyObject *x = field(a, str_x), *dx = x ? field(a, str_dx) : NULL;
            if (!dx || !PyArray_Check(x) || !PyArray_Check(dx)) return 1;
            PyArrayObject *xa = (PyArrayObject *)x, *da = (PyArrayObject *)dx;
            const int ndim = PyArray_NDIM(xa);
            if (ndim != PyArray_NDIM(da) ||
                !same_dims(PyArray_STRIDES(xa), PyArray_STRIDES(da), ndim))
                return 1; /* dx through a buffer of x's layout, copied back: the Python path's */
            const intptr_t lo = array_bound((intptr_t)x, 0), top = array_bound((intptr_t)x, 1);
            if (fw && top >= lo && top + PyArray_ITEMSIZE(xa) - lo != (intptr_t)PyArray_NBYTES(xa)) return 1;
            arr[2 * *nd] = x, arr[2 * *nd + 1] = dx;
            ++*nd;
            primal = x;
        } else if (Py_TYPE(a) == const_type) {
            if (!(primal = field(a, str_x))) return 1;
            if (PyArray_Check(primal) && !fw) constants[nc++] = primal;
        } else if (PyArray_Check(a)) {
            if (!fw) constants[nc++] = a;
        } else if (PyObject_TypeCheck(a, dup_type) || PyObject_TypeCheck(a, const_type) ||
                   PyObject_TypeCheck(a, batch_type)) {
            return 1; /* subclasses (the Python path's isinstance), BatchDuplicated (its path or error) */
        }
        PyTuple_SET_ITEM(primals, i, Py_NewRef(primal));
    }
    memcpy(arr + 2 * *nd, constants, (size_t)nc * sizeof *constants);
    *na = 2 * *nd + nc;
    return 0;
}

/* autodiff(f, args): f(*primals) and its reverse sweep, as blasad._tape.autodiff(mode="reverse",
 * check=False) does it, returning f's result; the fallback object when the call is not the
 * common case (nothing done: the Python path runs it). */
static PyObject *py_autodiff(PyObject *self, PyObject *const *a, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2 || !PyTuple_Check(a[1])) {
        PyErr_SetString(PyExc_TypeError, "autodiff(f, args)");
        return NULL;
    }
    PyObject *f = a[0], *args = a[1];
    if (recording || forward || lazy || !dup_type) return Py_NewRef(fallback); /* (its errors) */
    const Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (n > 64) return Py_NewRef(fallback);
    PyObject *arr[128], *primals = PyTuple_New(n);
    Py_ssize_t nd, na;
    if (!primals) return NULL;
    if (classify(args, primals, arr, &nd, &na, 0) || !disjoint_spans(arr, na)) {
        PyErr_Clear();
        Py_DECREF(primals);
        return Py_NewRef(fallback);
    }
    lazy_t L = {ba_tape_new(), PyList_New(0), PyList_New(0), NULL};
    int rc = L.t && L.keep && L.bases ? 0 : -1;
    if (!rc) ba_tape_set_bases(L.t, (intptr_t)L.bases);
    for (Py_ssize_t i = 0; i < 2 * nd && !rc; i += 2) { /* each Duplicated: dx is x's shadow */
        const intptr_t lo = array_bound((intptr_t)arr[i], 0), top = array_bound((intptr_t)arr[i], 1);
        const int64_t es = PyArray_ITEMSIZE((PyArrayObject *)arr[i]);
        const intptr_t hi = top < lo ? lo + es : top + es; /* (an empty x: one element's span) */
        rc = ba_tape_add_region(L.t, lo, hi, array_bound((intptr_t)arr[i + 1], 0));
    }
    if (rc) {
        if (L.t) tape_free(L.t);
        Py_XDECREF(L.keep), Py_XDECREF(L.bases), Py_DECREF(primals);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    lazy = &L;
    ba_fast_set_tape(L.t, (intptr_t)L.keep);
    PyObject *result = PyObject_Call(f, primals, NULL);
    Py_DECREF(primals);
    /* a long sweep runs in Python, which stops it on Ctrl-C between two records */
    if (result && !L.tape && ba_tape_ncalls(L.t) >= 256 && ba_tape_bytes_referenced(L.t) >= (4 << 20) &&
        !lazy_tape())
        Py_CLEAR(result);
    recording = NULL, lazy = NULL;
    if (L.tape) { /* Python made the Tape object: it ends the call (and owns the tape) */
        result = end_in_python(result, end_fn, Py_BuildValue("(Oi)", L.tape, result != NULL));
        Py_DECREF(L.tape), Py_DECREF(L.keep), Py_DECREF(L.bases);
        return result;
    }
    if (result) {
        rc = ba_tape_prepare(L.t);
        if (!rc) rc = sweep(L.t);
        const long bad = rc ? rc : ba_tape_invalid(L.t, BA_FAILED_READ) ? BA_FAILED_READ
                                 : ba_tape_invalid(L.t, BA_PHASE)       ? BA_PHASE
                                                                         : 0;
        if (bad) { /* blasad._tape._sweep_failed raises the Python path's error */
            PyObject *r = PyObject_CallFunction(failed_fn, "ll", (long)rc, rc ? 0L : bad);
            Py_XDECREF(r);
            Py_CLEAR(result);
        }
    }
    tape_free(L.t);
    Py_DECREF(L.keep), Py_DECREF(L.bases);
    return result;
}

/* An ndarray of float32, float64, complex64 or complex128 in native byte order (a dtype the
 * Python checks' _FLOAT_DTYPES holds) */
static int float_array(PyObject *o)
{
    if (!PyArray_Check(o)) return 0;
    const int tn = PyArray_TYPE((PyArrayObject *)o);
    return (tn == NPY_FLOAT || tn == NPY_DOUBLE || tn == NPY_CFLOAT || tn == NPY_CDOUBLE) &&
           PyArray_ISNOTSWAPPED((PyArrayObject *)o);
}

/* A float array of distinct elements that the Python checks would take at once: contiguous (or
 * of at most one element). */
static int plain_float_array(PyObject *o)
{
    PyArrayObject *a = (PyArrayObject *)o;
    return float_array(o) && (PyArray_SIZE(a) <= 1 || PyArray_IS_C_CONTIGUOUS(a) || PyArray_IS_F_CONTIGUOUS(a));
}

/* duplicated(x, dx): True when Duplicated(x, dx) passes all its checks (the common case: two
 * contiguous float arrays of one shape and dtype, dx writeable, apart); False: check in Python */
static PyObject *py_duplicated(PyObject *self, PyObject *const *a, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2 || !plain_float_array(a[0]) || !plain_float_array(a[1])) Py_RETURN_FALSE;
    PyArrayObject *x = (PyArrayObject *)a[0], *dx = (PyArrayObject *)a[1];
    const int nd = PyArray_NDIM(x);
    if (nd != PyArray_NDIM(dx) || PyArray_TYPE(x) != PyArray_TYPE(dx) || !PyArray_ISWRITEABLE(dx) ||
        !same_dims(PyArray_DIMS(x), PyArray_DIMS(dx), nd))
        Py_RETURN_FALSE;
    return PyBool_FromLong(disjoint_spans(a, 2));
}

/* The tape whose address is a native entry's first argument, its nargs being want; NULL with
 * TypeError (usage) or the address's own error. */
static ba_tape *tape_arg(PyObject *const *a, Py_ssize_t nargs, Py_ssize_t want, const char *usage)
{
    if (nargs != want) {
        PyErr_SetString(PyExc_TypeError, usage);
        return NULL;
    }
    return (ba_tape *)PyLong_AsVoidPtr(a[0]);
}

/* tape_new(bases): a new native tape's address, and a capsule that frees it; bases: its list of
 * the arrays whose shadows it makes */
static PyObject *py_tape_new(PyObject *self, PyObject *const *a, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 1 || !PyList_Check(a[0])) {
        PyErr_SetString(PyExc_TypeError, "tape_new(bases)");
        return NULL;
    }
    ba_tape *t = ba_tape_new();
    if (!t) return PyErr_Format(PyExc_MemoryError, "blasad: could not allocate a tape");
    ba_tape_set_bases(t, (intptr_t)a[0]);
    PyObject *owner = PyCapsule_New(t, "blasad.tape", free_tape);
    if (!owner) {
        ba_tape_free(t);
        return NULL;
    }
    return Py_BuildValue("(NN)", PyLong_FromVoidPtr(t), owner);
}

/* leave(): no tape records on this thread (Tape.__exit__) */
static PyObject *py_leave(PyObject *self, PyObject *const *a, Py_ssize_t nargs)
{
    (void)self, (void)a, (void)nargs;
    recording = NULL;
    Py_RETURN_NONE;
}

/* enter(tape address, keep): the tape records on this thread (Tape.__enter__), and True; False
 * when a tape records already or forward mode runs (nothing done: the Python side raises). */
static PyObject *py_enter(PyObject *self, PyObject *const *a, Py_ssize_t nargs)
{
    (void)self;
    ba_tape *t = tape_arg(a, nargs, 2, "enter(tape address, keep)");
    if (!t) return NULL;
    if (!PyList_Check(a[1])) return PyErr_Format(PyExc_TypeError, "enter(tape address, keep)");
    if (recording || lazy || forward) Py_RETURN_FALSE;
    ba_fast_set_tape(t, (intptr_t)a[1]);
    Py_RETURN_TRUE;
}

/* grad(tape address, x): a copy of x's shadow (x's shape and dtype, its layout), when x is a float
 * ndarray whose shadow the tape made; None: the Python path's case (its answer, its errors). */
/* An array of x's shape, dtype and contiguous order over memory of the shadow pool, which goes
 * back to the pool with the array (its base, a capsule, gives it back): a big gradient copied
 * into warm memory, not into fresh pages to fault in (an 8 MB one: ~2,000 page faults). */
static void pool_capsule_free(PyObject *cap) { ba_pool_give(PyCapsule_GetPointer(cap, "blasad.pool")); }

static PyObject *pooled_like(PyArrayObject *x)
{
    char *p = ba_pool_take((int64_t)PyArray_NBYTES(x));
    if (!p) return PyErr_NoMemory();
    PyObject *cap = PyCapsule_New(p, "blasad.pool", pool_capsule_free);
    if (!cap) {
        ba_pool_give(p);
        return NULL;
    }
    PyArray_Descr *d = PyArray_DESCR(x);
    Py_INCREF(d);
    const int flags = PyArray_IS_C_CONTIGUOUS(x) ? NPY_ARRAY_CARRAY : NPY_ARRAY_FARRAY;
    PyObject *arr = PyArray_NewFromDescr(&PyArray_Type, d, PyArray_NDIM(x), PyArray_DIMS(x), NULL, p, flags, NULL);
    if (!arr || PyArray_SetBaseObject((PyArrayObject *)arr, cap) < 0) { /* (it takes cap, even failing) */
        if (!arr) Py_DECREF(cap);
        Py_XDECREF(arr);
        return NULL;
    }
    return arr;
}

static PyObject *py_grad(PyObject *self, PyObject *const *a, Py_ssize_t nargs)
{
    (void)self;
    ba_tape *t = tape_arg(a, nargs, 2, "grad(tape address, x)");
    if (!t) return NULL;
    if (Py_TYPE(a[1]) != nd_type || !float_array(a[1]) || !PyArray_SIZE((PyArrayObject *)a[1])) Py_RETURN_NONE;
    PyArrayObject *x = (PyArrayObject *)a[1];
    const intptr_t bar = lookup_array(t, (intptr_t)x, PyArray_ITEMSIZE(x));
    intptr_t info[3];
    if (bar <= 0 || ba_tape_region_info(t, (intptr_t)PyArray_DATA(x), (intptr_t)info) != 2) Py_RETURN_NONE;
    if (PyArray_IS_C_CONTIGUOUS(x) || PyArray_IS_F_CONTIGUOUS(x)) { /* the shadow's bytes as they lie */
        PyObject *copy = PyArray_NBYTES(x) >= (256 << 10) ? pooled_like(x) : PyArray_NewLikeArray(x, NPY_KEEPORDER, NULL, 0);
        if (copy) memcpy(PyArray_DATA((PyArrayObject *)copy), (const void *)bar, (size_t)PyArray_NBYTES(x));
        return copy;
    }
    PyArray_Descr *d = PyArray_DESCR(x);
    Py_INCREF(d);
    PyObject *view = PyArray_NewFromDescr(&PyArray_Type, d, PyArray_NDIM(x), PyArray_DIMS(x), PyArray_STRIDES(x),
                                          (void *)bar, 0, NULL);
    if (!view) return NULL;
    PyObject *copy = PyArray_NewCopy((PyArrayObject *)view, NPY_KEEPORDER);
    Py_DECREF(view);
    return copy;
}

/* watch(tape address, bases, arrays): Tape.watch's common case, arrays (a tuple) of float
 * ndarrays that no recorded call has written: each one's base gets a zeroed shadow unless it
 * has one (bases keeps those bases alive), and True; False: nothing done, or an array that
 * straddles a tracked region (the Python path names the problem); MemoryError. */
static PyObject *py_watch(PyObject *self, PyObject *const *a, Py_ssize_t nargs)
{
    (void)self;
    ba_tape *t = tape_arg(a, nargs, 3, "watch(tape address, bases, arrays)");
    if (!t) return NULL;
    if (!PyTuple_Check(a[2])) return PyErr_Format(PyExc_TypeError, "watch(tape address, bases, arrays)");
    const Py_ssize_t n = PyTuple_GET_SIZE(a[2]);
    const int written = ba_tape_ncalls(t) > 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PyTuple_GET_ITEM(a[2], i);
        if (!float_array(o) ||
            (written && PyArray_SIZE((PyArrayObject *)o) && ba_tape_written(t, array_bound((intptr_t)o, 0))))
            Py_RETURN_FALSE;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const intptr_t bar = ensure(t, PyTuple_GET_ITEM(a[2], i), a[1]);
        if (bar == -3) return PyErr_Format(PyExc_MemoryError, "blasad: out of memory while registering a shadow");
        if (bar < 0) Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

/* backward(tape address, output, seed): Tape.backward's common case, one output (an array, or an
 * active scalar: its buffer) and a seed of its shape and dtype laid out as it (both C- or both
 * Fortran-contiguous): prepare, seed and sweep in
 * one call, so that no Ctrl-C falls between the seeds and the sweep (the GIL is let go during the
 * sweep alone); None when the sweep ran to its end with valid adjoints, else the status of
 * prepare or of the sweep; the fallback object (nothing done): a long sweep, which runs in Python
 * (Ctrl-C stops it between two records), or any other call. */
static PyObject *py_backward(PyObject *self, PyObject *const *a, Py_ssize_t nargs)
{
    (void)self;
    ba_tape *t = tape_arg(a, nargs, 3, "backward(tape address, output, seed)");
    if (!t) return NULL;
    PyObject *output = scalar_type && Py_TYPE(a[1]) == scalar_type ? ((ScalarObject *)a[1])->a : a[1];
    if (!output || !plain_float_array(output) || !plain_float_array(a[2])) return Py_NewRef(fallback);
    PyArrayObject *out = (PyArrayObject *)output, *seed = (PyArrayObject *)a[2];
    const int nd = PyArray_NDIM(out), es = (int)PyArray_ITEMSIZE(out);
    const npy_intp size = PyArray_SIZE(out);
    const int both_c = PyArray_IS_C_CONTIGUOUS(out) && PyArray_IS_C_CONTIGUOUS(seed);
    const int both_f = PyArray_IS_F_CONTIGUOUS(out) && PyArray_IS_F_CONTIGUOUS(seed);
    if (PyArray_TYPE(out) != PyArray_TYPE(seed) || nd != PyArray_NDIM(seed) ||
        !same_dims(PyArray_DIMS(out), PyArray_DIMS(seed), nd) || !(size <= 1 || both_c || both_f) ||
        (ba_tape_ncalls(t) >= 256 && ba_tape_bytes_referenced(t) >= (4 << 20)))
        return Py_NewRef(fallback);
    const intptr_t bar = lookup_array(t, (intptr_t)out, es);
    if (bar < 0) return Py_NewRef(fallback); /* (it straddles a tracked region: the Python path's error) */
    int rc = ba_tape_prepare(t);
    if (rc) return PyLong_FromLong(rc);
    if (bar && size) { /* shadow += seed, element for element over the same layout: as real numbers */
        const int real = PyArray_TYPE(out) == NPY_FLOAT || PyArray_TYPE(out) == NPY_CFLOAT ? 4 : 8;
        const int64_t n = (int64_t)size * (es / real);
#ifdef BA_CHECKED
        ba_checked_reset();
        ba_checked_allow((intptr_t)PyArray_DATA(seed), (intptr_t)PyArray_DATA(seed) + (intptr_t)(size * es));
        ba_checked_allow(bar, bar + (intptr_t)(size * es));
#endif
        if (real == 4) scipy_cblas_saxpy64_(n, 1.0f, PyArray_DATA(seed), 1, (float *)bar, 1);
        else scipy_cblas_daxpy64_(n, 1.0, PyArray_DATA(seed), 1, (double *)bar, 1);
    }
    rc = sweep(t);
    if (!rc && !ba_tape_invalid(t, BA_FAILED_READ) && !ba_tape_invalid(t, BA_PHASE)) Py_RETURN_NONE;
    return PyLong_FromLong(rc);
}

/* ---- forward-mode autodiff in one native call (blasad/_forward.py run_forward) ------------------
 *
 * The common case, every Duplicated's dx laid out as x with x's elements filling their span, the
 * active arrays and tangents apart: dx is x's tangent region in the native table, and f runs in
 * forward mode with no Python object for the run. Python code that asks for it while f runs
 * (thread_local.forward: a Python tangent rule, a new output's tangent, an active scalar) gets
 * one made then over the same regions (blasad._forward._adopt). */
typedef struct {
    PyObject *args; /* autodiff's arguments */
    PyObject *fwd;  /* the Forward object made for the run, or NULL */
} lazy_fw_t;
static _Thread_local lazy_fw_t *lazy_fw;
static PyObject *fw_adopt_fn, *fw_end_fn;

/* forward_run(): the Forward object of the native forward-mode run on this thread (made now), or
 * None (also while a rule runs its plain calls: forward mode is off then) */
static PyObject *py_lazy_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self, (void)args, (void)nargs;
    if (!lazy_fw || !forward) Py_RETURN_NONE;
    if (!lazy_fw->fwd) lazy_fw->fwd = PyObject_CallOneArg(fw_adopt_fn, lazy_fw->args);
    return lazy_fw->fwd ? Py_NewRef(lazy_fw->fwd) : NULL;
}

/* forward(f, args): f(*primals) in forward mode, as blasad._forward.run_forward does it for the
 * common case, returning f's result; the fallback object when not taken (nothing done). */
static PyObject *py_forward(PyObject *self, PyObject *const *a, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2 || !PyTuple_Check(a[1])) {
        PyErr_SetString(PyExc_TypeError, "forward(f, args)");
        return NULL;
    }
    PyObject *f = a[0], *args = a[1];
    const Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (recording || forward || lazy || lazy_fw || fw_n || !fw_adopt_fn || n > 64) return Py_NewRef(fallback);
    PyObject *arr[128], *primals = PyTuple_New(n);
    Py_ssize_t nd, na;
    if (!primals) return NULL;
    if (classify(args, primals, arr, &nd, &na, 1) || !disjoint_spans(arr, na)) {
        PyErr_Clear();
        Py_DECREF(primals);
        return Py_NewRef(fallback);
    }
    if (ba_fw_native(1)) {
        Py_DECREF(primals);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < 2 * nd; i += 2) { /* each Duplicated: dx is x's tangent region */
        const intptr_t lo = array_bound((intptr_t)arr[i], 0), top = array_bound((intptr_t)arr[i], 1);
        const intptr_t hi = top + PyArray_ITEMSIZE((PyArrayObject *)arr[i]);
        if (top >= lo && ba_fw_add(lo, hi, array_bound((intptr_t)arr[i + 1], 0))) {
            ba_fw_native(0);
            Py_DECREF(primals);
            return PyErr_NoMemory();
        }
    }
    lazy_fw_t L = {args, NULL};
    lazy_fw = &L, forward = 1;
    PyObject *result = PyObject_Call(f, primals, NULL);
    Py_DECREF(primals);
    forward = 0, lazy_fw = NULL;
    if (L.fwd) { /* Python made the Forward object: it leaves forward mode */
        result = end_in_python(result, fw_end_fn, PyTuple_New(0));
        Py_DECREF(L.fwd);
    }
    ba_fw_native(0);
    return result;
}

static PyMethodDef forward_method = {"forward", (PyCFunction)(void (*)(void))py_forward, METH_FASTCALL,
                                     "forward(f, args): forward-mode autodiff's common case; the fallback object "
                                     "when not taken"};

/* box: [_adopt, _end] (blasad/_forward.py); forward is appended to it. 0, or -1. */
int ba_forward_init(intptr_t box)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    PyObject *b = (PyObject *)box;
    int rc = -1;
    if (!fallback || PyList_GET_SIZE(b) != 2) goto done;
    fw_end_fn = Py_NewRef(PyList_GET_ITEM(b, 1)); /* both kept for the process's life */
    fw_adopt_fn = Py_NewRef(PyList_GET_ITEM(b, 0));
    rc = append_functions(b, &forward_method, 1);
done:
    PyErr_Clear();
    PyGILState_Release(g);
    return rc;
}

static PyMethodDef autodiff_methods[] = {
    {"autodiff", (PyCFunction)(void (*)(void))py_autodiff, METH_FASTCALL,
     "autodiff(f, args): reverse-mode autodiff's common case; the fallback object when not taken"},
    {"tape", (PyCFunction)(void (*)(void))py_lazy_tape, METH_FASTCALL,
     "tape(): the Tape of the native autodiff running on this thread (made now), or None"},
    {"duplicated", (PyCFunction)(void (*)(void))py_duplicated, METH_FASTCALL,
     "duplicated(x, dx): True when Duplicated(x, dx) passes its checks at once"},
    {"tape_new", (PyCFunction)(void (*)(void))py_tape_new, METH_FASTCALL, "tape_new(bases): a new tape's address"},
    {"enter", (PyCFunction)(void (*)(void))py_enter, METH_FASTCALL,
     "enter(tape address, keep): the tape records on this thread; False when one records already"},
    {"leave", (PyCFunction)(void (*)(void))py_leave, METH_FASTCALL, "leave(): no tape records on this thread"},
    {"grad", (PyCFunction)(void (*)(void))py_grad, METH_FASTCALL,
     "grad(tape address, x): a copy of x's shadow when the tape made it; None otherwise"},
    {"watch", (PyCFunction)(void (*)(void))py_watch, METH_FASTCALL,
     "watch(tape address, bases, arrays): Tape.watch's common case; False when not taken"},
    {"backward", (PyCFunction)(void (*)(void))py_backward, METH_FASTCALL,
     "backward(tape address, output, seed): Tape.backward's common case; the fallback object when not taken"},
    {"forward_run", (PyCFunction)(void (*)(void))py_lazy_forward, METH_FASTCALL,
     "forward_run(): the Forward of the native forward-mode run on this thread (made now), or None"},
    {"pool_chunks", (PyCFunction)(void (*)(void))py_pool_chunks, METH_FASTCALL,
     "pool_chunks(tape address, start): the arrays of the tape's scalar pool chunks from the start-th on"},
};

/* box: [Duplicated, Const, BatchDuplicated, fallback object, _adopt, _end_adopted, _sweep_failed];
 * the functions of autodiff_methods are appended to it, in order. 0, or -1. */
int ba_autodiff_init(intptr_t box)
{
    const PyGILState_STATE g = PyGILState_Ensure();
    PyObject *b = (PyObject *)box;
    int rc = -1;
    if (_import_array() < 0 || PyList_GET_SIZE(b) != 7) goto done;
    PyObject *v[7];
    for (int i = 0; i < 7; i++) v[i] = Py_NewRef(PyList_GET_ITEM(b, i)); /* kept for the process's life */
    str_x = PyUnicode_InternFromString("x"), str_dx = PyUnicode_InternFromString("dx");
    if (!str_x || !str_dx) goto done;
    const_type = (PyTypeObject *)v[1], batch_type = (PyTypeObject *)v[2];
    fallback = v[3], adopt_fn = v[4], end_fn = v[5], failed_fn = v[6];
    dup_type = (PyTypeObject *)v[0]; /* (last: py_autodiff runs once it is set) */
    if (append_functions(b, autodiff_methods, sizeof autodiff_methods / sizeof *autodiff_methods)) goto done;
    rc = 0;
done:
    PyErr_Clear();
    PyGILState_Release(g);
    return rc;
}
