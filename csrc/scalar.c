/* Active scalars: z ← op(x, y) on 0-d buffers, recorded with its adjoint.
 *
 * One row of OPS per operation of blasad/specs/scalar.py (the names must match; the Python
 * side asks for each op's index by name). Every operand and the result are carried as
 * double complex values: a float32 result is the double result rounded once (exact for
 * + − × ÷ and sqrt, which double computes to more than twice float's precision; within an
 * ulp for the others), and an operation whose operands and result are all real is computed
 * with the real functions (sqrt(−1) is NaN, as NumPy's, not i).
 *
 * Adjoints follow the rules' convention (rules.inc): for complex z the adjoint is
 * z̄ = ∂L/∂Re z + i ∂L/∂Im z, so a holomorphic z = f(x) gives x̄ += conj(f'(x)) z̄; an operand
 * of a real dtype takes the real part of what reaches it. The record keeps x, y and z by
 * value (a scalar is smaller than a reference to it), so nothing is saved by reference and
 * nothing is ever copied on write. z's old value reaches nothing: z̄ is read, then set to
 * exactly 0, before x̄ and ȳ accumulate (x or y may be z itself: `a -= r` in place). */
#include <complex.h>
#include <math.h>

#include "tape.h"

typedef double complex dc;

/* x̄, ȳ from g = z̄ (only those the op's operands need: ax, ay say which are active) */
typedef struct {
    const char *name;
    int arity, kind; /* kind: 1 its result is real (abs, real, imag); 2 real operands only (hypot) */
    dc (*fwd)(dc x, dc y, int real);
    void (*adj)(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb);
} ba_sop;

static dc f_add(dc x, dc y, int real) { (void)real; return x + y; }
static void a_add(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)x, (void)y, (void)z, (void)real;
    *xb = g; /* x̄ += z̄ */
    *yb = g; /* ȳ += z̄ */
}

static dc f_sub(dc x, dc y, int real) { (void)real; return x - y; }
static void a_sub(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)x, (void)y, (void)z, (void)real;
    *xb = g;  /* x̄ += z̄ */
    *yb = -g; /* ȳ −= z̄ */
}

static dc f_mul(dc x, dc y, int real) { return real ? creal(x) * creal(y) : x * y; }
static void a_mul(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)z, (void)real;
    *xb = g * conj(y); /* x̄ += conj(y) z̄ */
    *yb = g * conj(x); /* ȳ += conj(x) z̄ */
}

/* x / y by Smith's algorithm, as NumPy divides complex numbers (so a recorded division gives
 * NumPy's value to the last bit) */
static dc smith_div(dc x, dc y)
{
    const double a = creal(x), b = cimag(x), c = creal(y), d = cimag(y);
    if (fabs(c) >= fabs(d)) {
        if (c == 0 && d == 0) return CMPLX(a / fabs(c), b / fabs(d));
        const double rat = d / c, scl = 1.0 / (c + d * rat);
        return CMPLX((a + b * rat) * scl, (b - a * rat) * scl);
    }
    const double rat = c / d, scl = 1.0 / (d + c * rat);
    return CMPLX((a * rat + b) * scl, (b * rat - a) * scl);
}

static dc f_div(dc x, dc y, int real) { return real ? creal(x) / creal(y) : smith_div(x, y); }
static void a_div(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)x, (void)real;
    *xb = g / conj(y);       /* x̄ += z̄ / conj(y) */
    *yb = -g * conj(z / y);  /* ȳ −= conj(x / y²) z̄ */
}

static dc f_pow(dc x, dc y, int real)
{
    if (real) return pow(creal(x), creal(y));
    if (cimag(y) == 0 && (creal(y) == 1 || creal(y) == 2)) return creal(y) == 1 ? x : x * x; /* exact, as NumPy */
    return cpow(x, y);
}
/* x^(y−1), with the limits at x = 0 */
static dc pow_m1(dc x, dc y, int real)
{
    if (real) return pow(creal(x), creal(y) - 1);
    if (x == 0) return y == 1 ? 1 : creal(y) > 1 ? 0 : INFINITY;
    return cpow(x, y - 1);
}
static void a_pow(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    *xb = g * conj(y * pow_m1(x, y, real));                                      /* x̄ += conj(y x^(y−1)) z̄ */
    *yb = x == 0 ? 0 : g * conj(z * (real ? log(creal(x)) : clog(x))); /* ȳ += conj(z log x) z̄ (0 at x = 0) */
}

static dc f_neg(dc x, dc y, int real) { (void)y, (void)real; return -x; }
static void a_neg(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)x, (void)y, (void)z, (void)real, (void)yb;
    *xb = -g; /* x̄ −= z̄ */
}

static dc f_pos(dc x, dc y, int real) { (void)y, (void)real; return x; }
static void a_pos(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)x, (void)y, (void)z, (void)real, (void)yb;
    *xb = g; /* x̄ += z̄ */
}

static dc f_abs(dc x, dc y, int real) { (void)y, (void)real; return cabs(x); }
static void a_abs(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)y, (void)real, (void)yb;
    *xb = creal(z) == 0 ? 0 : creal(g) * x / creal(z); /* x̄ += Re(z̄) x / |x|  (0 at x = 0) */
}

static dc f_sqrt(dc x, dc y, int real) { (void)y; return real ? sqrt(creal(x)) : csqrt(x); }
static void a_sqrt(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)x, (void)y, (void)real, (void)yb;
    *xb = g / (2 * conj(z)); /* x̄ += z̄ / (2 conj(z)) */
}

static dc f_exp(dc x, dc y, int real) { (void)y; return real ? exp(creal(x)) : cexp(x); }
static void a_exp(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)x, (void)y, (void)real, (void)yb;
    *xb = g * conj(z); /* x̄ += conj(z) z̄ */
}

static dc f_log(dc x, dc y, int real) { (void)y; return real ? log(creal(x)) : clog(x); }
static void a_log(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)y, (void)z, (void)real, (void)yb;
    *xb = g / conj(x); /* x̄ += z̄ / conj(x) */
}

static dc f_sin(dc x, dc y, int real) { (void)y; return real ? sin(creal(x)) : csin(x); }
static void a_sin(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)y, (void)z, (void)yb;
    *xb = g * conj(real ? cos(creal(x)) : ccos(x)); /* x̄ += conj(cos x) z̄ */
}

static dc f_cos(dc x, dc y, int real) { (void)y; return real ? cos(creal(x)) : ccos(x); }
static void a_cos(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)y, (void)z, (void)yb;
    *xb = -g * conj(real ? sin(creal(x)) : csin(x)); /* x̄ −= conj(sin x) z̄ */
}

static dc f_conj(dc x, dc y, int real) { (void)y, (void)real; return conj(x); }
static void a_conj(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)x, (void)y, (void)z, (void)real, (void)yb;
    *xb = conj(g); /* x̄ += conj(z̄) */
}

static dc f_real(dc x, dc y, int real) { (void)y, (void)real; return creal(x); }
static void a_real(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)x, (void)y, (void)z, (void)real, (void)yb;
    *xb = creal(g); /* x̄ += Re z̄  (z real) */
}

static dc f_imag(dc x, dc y, int real) { (void)y, (void)real; return cimag(x); }
static void a_imag(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)x, (void)y, (void)z, (void)real, (void)yb;
    *xb = I * creal(g); /* x̄ += i Re z̄  (z real; nothing reaches a real x) */
}

static dc f_hypot(dc x, dc y, int real) { (void)real; return hypot(creal(x), creal(y)); }
static void a_hypot(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)real;
    *xb = creal(z) == 0 ? 0 : creal(g) * creal(x) / creal(z); /* x̄ += z̄ x / z  (0 at z = 0) */
    *yb = creal(z) == 0 ? 0 : creal(g) * creal(y) / creal(z); /* ȳ += z̄ y / z */
}

static dc f_reciprocal(dc x, dc y, int real) { (void)y; return real ? 1 / creal(x) : smith_div(1, x); }
static void a_reciprocal(dc x, dc y, dc z, dc g, int real, dc *xb, dc *yb)
{
    (void)x, (void)y, (void)real, (void)yb;
    *xb = -g * conj(z * z); /* x̄ −= conj(z²) z̄ */
}

#define OP(name, arity, kind) {#name, arity, kind, f_##name, a_##name}
static const ba_sop OPS[] = {
    OP(add, 2, 0), OP(sub, 2, 0), OP(mul, 2, 0), OP(div, 2, 0), OP(pow, 2, 0), OP(neg, 1, 0),
    OP(pos, 1, 0), OP(abs, 1, 1), OP(sqrt, 1, 0), OP(exp, 1, 0), OP(log, 1, 0), OP(sin, 1, 0),
    OP(cos, 1, 0), OP(conj, 1, 0), OP(real, 1, 1), OP(imag, 1, 1), OP(hypot, 2, 2),
    OP(reciprocal, 1, 0),
};
#define NOPS ((int)(sizeof OPS / sizeof *OPS))

int ba_scalar_op_index(const char *name)
{
    for (int i = 0; i < NOPS; i++)
        if (!strcmp(OPS[i].name, name)) return i;
    return -1;
}

int ba_scalar_op_arity(int op) { return op >= 0 && op < NOPS ? OPS[op].arity : -1; }
int ba_scalar_op_kind(int op) { return op >= 0 && op < NOPS ? OPS[op].kind : -1; }

static dc load(const char *p, int dt)
{
    switch (dt) {
    case 0: return *(const float *)p;
    case 1: return *(const double *)p;
    case 2: { const float *f = (const float *)p; return CMPLX(f[0], f[1]); }
    default: { const double *d = (const double *)p; return CMPLX(d[0], d[1]); }
    }
}

static void store(char *p, int dt, dc v)
{
    switch (dt) {
    case 0: *(float *)p = (float)creal(v); break;
    case 1: *(double *)p = creal(v); break;
    case 2: ((float *)p)[0] = (float)creal(v), ((float *)p)[1] = (float)cimag(v); break;
    default: ((double *)p)[0] = creal(v), ((double *)p)[1] = cimag(v);
    }
}

dc ba_scalar_load(const char *p, int dt) { return load(p, dt); }

/* bar += v, in bar's dtype (a real shadow takes Re v) */
static void acc(char *bar, int dt, dc v) { store(bar, dt, load(bar, dt) + (dt < 2 ? creal(v) : v)); }

/* f0: the op; f1: dtypes x | y << 2 | z << 4; alpha, beta, w: x, y, z; alpha_bar, beta_bar,
 * q[0]: their shadows */
static void scalar_adj(ba_rec *r, char *scratch)
{
    (void)scratch;
    const ba_sop *op = &OPS[r->f0];
    const int dx = r->f1 & 3, dy = r->f1 >> 2 & 3, dz = r->f1 >> 4 & 3;
    const dc x = CMPLX(r->alpha[0], r->alpha[1]), y = CMPLX(r->beta[0], r->beta[1]), z = CMPLX(r->w[0], r->w[1]);
    char *zb = r->q[0];
    const dc g = load(zb, dz);
    store(zb, dz, 0); /* z̄ ← 0: z's old value reaches nothing (zeroed before x̄, ȳ: x may be z) */
    dc xb = 0, yb = 0;
    op->adj(x, y, z, g, r->s[0], &xb, &yb);
    if (r->alpha_bar) acc(r->alpha_bar, dx, xb);
    if (r->beta_bar) acc(r->beta_bar, dy, yb);
}

int ba_scalar_rec(ba_tape *t, int op, int dz, char *z, char *z_bar, dc x, int dx, char *x_bar, dc y, int dy,
                  char *y_bar)
{
    const ba_sop *o = &OPS[op];
    const int real = dz < 2 && dx < 2 && (o->arity == 1 || dy < 2);
    const dc v = o->fwd(x, y, real);
    ba_rec *r = NULL;
    if (t) {
        ba_arg zarg = ba_mat((intptr_t)z, 1, 0, 1, 1, dz < 2 ? 4 << dz : 8 << (dz - 2));
        if (z_bar) { /* recorded even for constant operands: z̄ must be cleared */
            if (!(r = ba_rec_begin(t, 0))) return -1;
            r->f0 = op;
            r->f1 = dx | dy << 2 | dz << 4;
            r->s[0] = real;
            r->alpha[0] = creal(x), r->alpha[1] = cimag(x);
            r->beta[0] = creal(y), r->beta[1] = cimag(y);
            r->w[0] = creal(v), r->w[1] = cimag(v);
            r->alpha_bar = x_bar;
            r->beta_bar = o->arity == 2 ? y_bar : NULL;
            r->q[0] = z_bar;
        }
        if (ba_cow(t, &zarg)) {
            ba_rec_abort(t, r);
            return -1;
        }
    }
    store(z, dz, v);
    if (r) {
        /* w: the value stored, as the sweep will see it (rounded to z's dtype) */
        const dc stored = load(z, dz);
        r->w[0] = creal(stored), r->w[1] = cimag(stored);
        ba_rec_commit(t, r, scalar_adj, 0u, 0);
    }
    return 0;
}

/* ---- forward mode: ż from the adjoint ---------------------------------------------------------
 *
 * op's derivative at (x, y) is an R-linear map J: (ẋ, ẏ) ↦ ż, and adj(g) above is its adjoint for
 * ⟨u, v⟩ = Re(conj(u) v) (the rules' convention: L = ⟨z̄, z⟩ gives x̄ = ∂L/∂Re x + i ∂L/∂Im x):
 * ⟨g, J(ẋ, ẏ)⟩ = ⟨x̄(g), ẋ⟩ + ⟨ȳ(g), ẏ⟩. So g = 1 and g = i read off ż's two parts, one rule per op
 * for both modes:
 *     Re ż = ⟨1, ż⟩ = Re(conj(x̄₁) ẋ) + Re(conj(ȳ₁) ẏ),   Im ż = ⟨i, ż⟩ = Re(conj(x̄ᵢ) ẋ) + Re(conj(ȳᵢ) ẏ).
 * Checks. A holomorphic op (+ − × ÷ pow sqrt exp log sin cos reciprocal) has x̄(g) = conj(f′) g:
 * x̄₁ = conj(f′), x̄ᵢ = i conj(f′), and ż = Re(f′ ẋ) + i Re(−i f′ ẋ) = Re(f′ ẋ) + i Im(f′ ẋ) = f′ ẋ
 * (+: f′ = 1, 1; −: 1, −1; ×: y, x; ÷: 1/y, −z/y = −x/y²: ż = ẋ/y − (x/y²) ẏ).
 * conj: x̄(g) = conj(g): x̄₁ = 1, x̄ᵢ = −i: ż = Re ẋ + i Re(i ẋ) = Re ẋ − i Im ẋ = conj(ẋ).
 * real: x̄(g) = Re g: ż = Re ẋ.  imag: x̄(g) = i Re g: x̄₁ = i, ż = Re(−i ẋ) = Im ẋ.
 * abs: x̄(g) = Re(g) x/|x|: ż = Re(conj(x) ẋ)/|x| (0 at x = 0, the adjoint's subgradient).
 * hypot (real): x̄₁ = x/z, ȳ₁ = y/z: ż = (x ẋ + y ẏ)/z (0 at z = 0).
 * A real result (abs, real, imag, hypot, or a real op) needs g = 1 only, and a real operand's
 * tangent is real: Re(conj(x̄₁) ẋ) = Re(x̄₁) ẋ. With both, ż = ∂f/∂x ẋ + ∂f/∂y ẏ, one adjoint call. */

/* ⟨a, b⟩ = Re(conj(a) b); b real when breal */
static double re_inner(dc a, dc b, int breal) { return breal ? creal(a) * creal(b) : creal(a) * creal(b) + cimag(a) * cimag(b); }

/* one part of ż: ⟨x̄(g), ẋ⟩ + ⟨ȳ(g), ẏ⟩ over the operands with a tangent (has: 1 x, 2 y) */
static double tangent_part(const ba_sop *o, dc x, dc y, dc z, dc g, int real, int dx, int dy, int has, dc xd, dc yd)
{
    dc xb = 0, yb = 0;
    o->adj(x, y, z, g, real, &xb, &yb);
    const double tx = has & 1 ? re_inner(xb, xd, dx < 2) : 0, ty = has & 2 ? re_inner(yb, yd, dy < 2) : 0;
    return (has & 3) == 3 ? tx + ty : has & 1 ? tx : ty;
}

void ba_scalar_tangent(int op, int dz, int dx, int dy, intptr_t v, intptr_t x_dot, intptr_t y_dot, intptr_t z_dot)
{
    const ba_sop *o = &OPS[op];
    const double *w = (const double *)v;
    const dc x = CMPLX(w[0], w[1]), y = CMPLX(w[2], w[3]), z = CMPLX(w[4], w[5]);
    const int real = dz < 2 && dx < 2 && (o->arity == 1 || dy < 2);
    if (o->arity == 1) y_dot = 0;
    const int has = (x_dot != 0) | (y_dot != 0) << 1;
    /* (both read before ż is stored: x or y may be z itself) */
    const dc xd = x_dot ? load((const char *)x_dot, dx) : 0, yd = y_dot ? load((const char *)y_dot, dy) : 0;
    const double re = tangent_part(o, x, y, z, 1, real, dx, dy, has, xd, yd);
    const double im = dz < 2 ? 0 : tangent_part(o, x, y, z, I, real, dx, dy, has, xd, yd);
    store((char *)z_dot, dz, CMPLX(re, im));
}
