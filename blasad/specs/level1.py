"""Level 1 BLAS: one spec per routine.

Reductions (dot, dotu, dotc, nrm2, asum) write their result into a 0-d array ``out``
(allocated when None) and return it: the result is a buffer like any other, so it can be
seeded, read by later calls (as a 0-d α, say) and differentiated. ``out``'s old value reaches
nothing, so its shadow is consumed: after the adjoint has read r̄ it is set to exactly 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from blasad.specs.core import Arg, Spec, real_dtype


def _pair(new_x: np.ndarray, new_y: np.ndarray) -> Any:
    """The reference of a routine that writes two vectors (swap, rot, rotm): (new x, new y)."""
    return new_x, new_y


AXPY = Spec(
    name="axpy",
    formula="y ← α x + y",
    args=(
        Arg("alpha", "scalar"),
        Arg("x", "vector", ("n",)),
        Arg("y", "vector", ("n",), out=True),
    ),
    reference=lambda alpha, x, y: alpha * x + y,
    adjoint=("x̄ += α ȳ", "ᾱ += ⟨ȳ, x⟩", "ȳ unchanged"),
    saves="x if α is active",
    seed_scaled=True,
    doc="""y ← α x + y, in place; returns y.""",
)


SCAL = Spec(
    name="scal",
    formula="x ← α x",
    args=(Arg("alpha", "scalar"), Arg("x", "vector", ("n",), inout=True)),
    reference=lambda alpha, x: alpha * x,
    adjoint=("ᾱ += ⟨x_old, x̄⟩", "x̄ ← conj(α) x̄  (exactly 0 when α = 0)"),
    saves="x_old if α is active",
    doc="""x ← α x, in place; returns x.""",
)


def _copy_prepare(args: dict[str, Any]) -> None:
    """0-d x and y (scalars): copied as vectors of one element."""
    x, y = args["x"], args["y"]
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.ndim == 0 and y.ndim == 0:
        args["x"], args["y"] = x.reshape(1), y.reshape(1)


COPY = Spec(
    name="copy",
    formula="y ← x",
    args=(Arg("x", "vector", ("n",)), Arg("y", "vector", ("n",), out=True)),
    reference=lambda x, y: np.array(x, copy=True),
    adjoint=("x̄ += ȳ", "ȳ ← 0  (exactly: y's old value reaches nothing)"),
    saves="nothing",
    seed_scaled=True,
    prepare=_copy_prepare,
    doc="""y ← x, in place; returns y. y's old value is overwritten: its adjoint goes to x and ȳ ← 0.

x and y may also both be 0-d arrays (or x an active scalar): a scalar stored into a tracked
element, ``ba.copy(r, A[j, j, ...])``.""",
)

SWAP = Spec(
    name="swap",
    formula="x ↔ y",
    args=(Arg("x", "vector", ("n",), inout=True), Arg("y", "vector", ("n",), inout=True)),
    reference=lambda x, y: _pair(np.array(y, copy=True), np.array(x, copy=True)),
    adjoint=("(x̄, ȳ) ← (ȳ, x̄)",),
    saves="nothing",
    doc="""x ↔ y, in place; returns (x, y). The adjoints swap too.""",
)


def _dot_spec(
    name: str, formula: str, reference: Any, adjoint: tuple[str, ...], dtypes: str, **extra: Any
) -> Spec:
    return Spec(
        name=name,
        formula=formula,
        args=(
            Arg("x", "vector", ("n",)),
            Arg("y", "vector", ("n",)),
            Arg("out", "scalar", out=True),
        ),
        reference=reference,
        adjoint=(*adjoint, "r̄ ← 0  (out's old value reaches nothing)"),
        saves="x if y is active; y if x is active (by reference, copied only if overwritten later)",
        dtypes=dtypes,
        seed_scaled=True,
        **extra,
    )


DOT = _dot_spec(
    "dot",
    "r ← Σ x y  (real dtypes)",
    lambda x, y, out: np.array(np.sum(x * y)),
    ("x̄ += r̄ y", "ȳ += r̄ x"),
    "sd",
    defaults={"out": None},
    other="dotu for Σ x y, dotc for Σ conj(x) y",
    doc="""r ← Σ x y for real dtypes (complex: use dotu or dotc); returns r as a 0-d array (out).""",
)
DOTU = _dot_spec(
    "dotu",
    "r ← Σ x y  (no conjugation)",
    lambda x, y, out: np.array(np.sum(x * y)),
    ("x̄ += r̄ conj(y)", "ȳ += r̄ conj(x)"),
    "cz",
    defaults={"out": None},
    other="dot",
    doc="""r ← Σ x y, unconjugated, for complex dtypes (real: dot); returns r as a 0-d array (out).""",
)
DOTC = _dot_spec(
    "dotc",
    "r ← Σ conj(x) y",
    lambda x, y, out: np.array(np.sum(np.conj(x) * y)),
    ("x̄ += conj(r̄) y", "ȳ += r̄ x"),
    "cz",
    defaults={"out": None},
    other="dot",
    doc="""r ← Σ conj(x) y for complex dtypes (real: dot); returns r as a 0-d array (out).""",
)


def _nrm2_ref(x: np.ndarray, out: Any) -> np.ndarray:
    return np.array(np.sqrt(np.sum(np.abs(x) ** 2)))


def _asum_ref(x: np.ndarray, out: Any) -> np.ndarray:
    return np.array(np.sum(np.abs(x.real)) + np.sum(np.abs(x.imag)))


NRM2 = Spec(
    name="nrm2",
    formula="r ← ‖x‖₂ = √(Σ |x|²)  (r of the real dtype)",
    args=(Arg("x", "vector", ("n",)), Arg("out", "scalar", out=True, real=True)),
    reference=_nrm2_ref,
    adjoint=("x̄ += (r̄ / r) x, and 0 when r = 0 (x = 0: the subgradient 0)", "r̄ ← 0"),
    saves="x (by reference) if x is active; r by value",
    seed_scaled=True,
    defaults={"out": None},
    doc="""r ← ‖x‖₂ = √(Σ |x|²), overflow-safe as BLAS; returns r as a 0-d array of the real dtype.

Adjoint x̄ += (r̄ / r) x; at x = 0 (r = 0, where ‖·‖ has no derivative) it takes the
subgradient 0, so x̄ is left unchanged.""",
)

ASUM = Spec(
    name="asum",
    formula="r ← Σ |Re x| + |Im x|  (BLAS asum; r of the real dtype)",
    args=(Arg("x", "vector", ("n",)), Arg("out", "scalar", out=True, real=True)),
    reference=_asum_ref,
    adjoint=("x̄ += r̄ (sign(Re x) + i sign(Im x)), sign(0) = 0", "r̄ ← 0"),
    saves="x (by reference) if x is active",
    seed_scaled=True,
    defaults={"out": None},
    doc="""r ← Σ |Re x| + |Im x| (BLAS asum, not Σ |x| for complex); returns r as a 0-d array of
the real dtype. Adjoint x̄ += r̄ (sign(Re x) + i sign(Im x)), with sign(0) = 0.""",
)

ROT = Spec(
    name="rot",
    formula="x ← c x + s y,  y ← c y − s x  (c, s real; csrot/zdrot for complex x, y)",
    args=(
        Arg("x", "vector", ("n",), inout=True),
        Arg("y", "vector", ("n",), inout=True),
        Arg("c", "scalar", real=True),
        Arg("s", "scalar", real=True),
    ),
    reference=lambda x, y, c, s: _pair(c * x + s * y, c * y - s * x),
    adjoint=(
        "c̄ += Re(⟨x_old, x̄⟩ + ⟨y_old, ȳ⟩)",
        "s̄ += Re(⟨y_old, x̄⟩ − ⟨x_old, ȳ⟩)",
        "(x̄, ȳ) ← (c x̄ − s ȳ, s x̄ + c ȳ)  (the transposed rotation)",
    ),
    saves="x_old, y_old (copies) if c or s is active",
    doc="""x ← c x + s y, y ← c y − s x, in place; returns (x, y).

c and s are real (numbers, or 0-d arrays of the real dtype, differentiable when active),
also for complex x and y (BLAS csrot/zdrot).""",
)


def _rotm_h(param: np.ndarray) -> tuple[Any, Any, Any, Any]:
    """(h11, h21, h12, h22) of drotm's H for param = (flag, h11, h21, h12, h22)."""
    flag, h11, h21, h12, h22 = (param[i] for i in range(5))
    if flag == -2:
        return 1, 0, 0, 1
    if flag == 0:
        return 1, h21, h12, 1
    if flag == 1:
        return h11, -1, 1, h22
    return h11, h21, h12, h22


def _rotm_ref(x: np.ndarray, y: np.ndarray, param: np.ndarray) -> Any:
    h11, h21, h12, h22 = _rotm_h(param)
    return _pair(h11 * x + h12 * y, h21 * x + h22 * y)


def _rotm_prepare(args: dict[str, Any]) -> None:
    """param given as a sequence: a constant array of x's dtype (float64 when x is none)."""
    param, x = args["param"], args["x"]
    if isinstance(param, np.ndarray):
        return
    dtype = x.dtype if isinstance(x, np.ndarray) and x.dtype.kind in "fc" else np.float64
    try:
        args["param"] = np.array(param, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"rotm: param must be a sequence of 5 real numbers ({e})") from None


ROTM = Spec(
    name="rotm",
    formula="(x_i, y_i) ← H (x_i, y_i),  H = [[h11, h12], [h21, h22]], param = (flag, h11, h21, h12, h22)",
    args=(
        Arg("x", "vector", ("n",), inout=True),
        Arg("y", "vector", ("n",), inout=True),
        Arg("param", "vector", ("p5",), discrete=((0, (-2.0, -1.0, 0.0, 1.0)),)),
    ),
    reference=_rotm_ref,
    adjoint=(
        "(x̄, ȳ) ← Hᵀ (x̄, ȳ)",
        "h̄11 += ⟨x_old, x̄⟩, h̄21 += ⟨x_old, ȳ⟩, h̄12 += ⟨y_old, x̄⟩, h̄22 += ⟨y_old, ȳ⟩ for the entries "
        "the flag leaves free (flag −1: all four; 0: h21, h12; 1: h11, h22; −2: none)",
        "flaḡ = 0 (the flag is discrete)",
    ),
    saves="H by value; x_old, y_old (copies) if param is active",
    dtypes="sd",
    derived=(("p5", "5"),),
    prepare=_rotm_prepare,
    doc="""(x_i, y_i) ← H (x_i, y_i), in place, for real x, y; returns (x, y).

param = (flag, h11, h21, h12, h22) as BLAS drotm's: flag −1 uses all four entries,
0 means h11 = h22 = 1, 1 means h21 = −1 and h12 = 1, −2 means H = I. A param ndarray of
x's dtype is a buffer: differentiable (the entries its flag uses; never the flag);
any other sequence is converted and is a constant.""",
)


def _value(v: Any) -> Any:
    """A scalar argument (a 0-d array or a number) as a NumPy scalar, or the number itself."""
    return v[()] if isinstance(v, np.ndarray) else v


def _rotg_ref(a: Any, b: Any, c: Any, s: Any) -> Any:
    """(a, b, c, s) after ?rotg, computed as OpenBLAS computes it, in the arrays' dtype."""
    a, b = _value(a), _value(b)
    dt = np.asarray(a).dtype
    rdt = real_dtype(dt)
    if dt.kind == "c":  # b is left as it is
        if b == 0:
            r, cv, sv = a, 1, 0
        elif a == 0:
            r, cv, sv = abs(b), 0, np.conj(b) / abs(b)
        else:
            rho = np.hypot(abs(a), abs(b))
            u = a / abs(a)
            r, cv, sv = u * rho, abs(a) / rho, u * np.conj(b) / rho
        z = b
    elif b == 0:
        r, z, cv, sv = a, 0, 1, 0
    elif a == 0:
        r, z, cv, sv = b, 1, 0, 1
    else:
        r = np.copysign(1, a if abs(a) > abs(b) else b) * np.hypot(a, b)
        cv, sv = a / r, b / r
        z = sv if abs(a) > abs(b) else 1 / cv
    return np.array(r, dt), np.array(z, dt), np.array(cv, rdt), np.array(sv, dt)


def _rotg_domain(a: Any, b: Any, c: Any, s: Any) -> bool:
    """a and b away from 0 and, for real ones, |a| away from |b| (relative 1e-3): where rotg's
    branches meet (a = 0: z jumps; a = b = 0: no derivative; |a| = |b|: the sign of r and z's
    formula change)."""
    fa, fb = abs(complex(_value(a))), abs(complex(_value(b)))
    m = 1e-3 * max(fa, fb)
    return fa > m and fb > m and (np.iscomplexobj(a) or abs(fa - fb) > m)


ROTG = Spec(
    name="rotg",
    formula="a ← r, b ← z (complex: b kept), c, s ← the rotation with [c s; −s̄ c] [a; b] = [r; 0], c real",
    args=(
        Arg("a", "scalar", inout=True),
        Arg("b", "scalar", inout=True),
        Arg("c", "scalar", out=True, real=True),
        Arg("s", "scalar", out=True),
    ),
    reference=_rotg_ref,
    adjoint=(
        "real, from the saved a, b: r = σ √(a² + b²) (σ the sign of the larger of a, b), c = a/r, "
        "s = b/r, z = s (|a| > |b|) or 1/c: z̄ joins s̄, or c̄ as −z̄/c²; "
        "g = r̄ − (c c̄ + s s̄)/r; ā ← c̄/r + g c, b̄ ← s̄/r + g s",
        "complex: with u = a/|a|, ρ = √(|a|² + |b|²), r = u ρ, c = |a|/ρ, s = u conj(b)/ρ: "
        "ρ̄ = Re(conj(r̄) u) − (c̄ c + Re(conj(s̄) s))/ρ; the modulus of a gets m̄ = c̄/ρ + c ρ̄, its phase "
        "φ̄ = −ρ Im(conj(r̄) u) − Im(conj(s̄) s); ā ← u (m̄ + i φ̄/|a|), b̄ += ρ̄ b/ρ + conj(s̄) u/ρ (b is kept)",
        "c̄ ← 0, s̄ ← 0 (their old values reach nothing)",
        "a = 0 (complex) or a = b = 0: no derivative; the branch BLAS takes (a = 0: r = |b| and ā ← 0; "
        "a = b = 0: r = a, so ā ← r̄ and b̄ gets nothing)",
    ),
    saves="a and b by value",
    defaults={"c": None, "s": None},
    domain=_rotg_domain,
    doc="""a ← r, b ← z, c, s ← the Givens rotation with [c s; −s̄ c] [a; b] = [r; 0] (BLAS rotg), in
place on 0-d arrays; returns (a, b, c, s).

For real dtypes b ← z (s if |a| > |b|, 1/c if not and c ≠ 0, 1 if c = 0), and r takes
the sign of the larger of a and b; for complex ones r = (a/|a|) √(|a|² + |b|²) and b is left as
it is (OpenBLAS's crotg/zrotg). c is real (a 0-d array of the real dtype), s of the dtype.
a and b must be 0-d arrays of one float or complex dtype (they are written); c and s are 0-d
arrays too, or None to allocate them. The adjoints are exact where rotg is differentiable
(a ≠ 0; real: |a| ≠ |b|, where z's formula and r's sign change); at a = 0 they follow the
branch BLAS takes (see the spec).""",
)


# OpenBLAS's ?rotmg rescales d1, d2 into [RGAMSQ, GAMSQ] by factors GAM² (exact powers of 2)
_GAM, _GAMSQ, _RGAMSQ = 4096.0, 16777216.0, 5.9604645e-8


def _rotmg_branch(d1: Any, d2: Any, x1: Any, y1: Any) -> tuple[float, bool, Any, Any, Any, list[Any]]:
    """(flag, rescaled, d1, d2, x1, [h11, h21, h12, h22]) of ?rotmg before its rescaling loops, as
    OpenBLAS computes them on NumPy scalars of one real dtype (flag −2: nothing changes;
    rescaled: the branch goes on to the loops that rescale d1 and d2)."""
    zero, one = type(d1)(0), type(d1)(1)
    h = [zero, zero, zero, zero]
    if d2 == 0 or y1 == 0:
        return -2.0, False, d1, d2, x1, h
    if d1 < 0:
        return -1.0, False, zero, zero, zero, h
    if (d1 == 0 or x1 == 0) and d2 > 0:  # swap: H = [0 1; −1 0]
        return 1.0, False, d2, d1, y1, [zero, -one, one, zero]
    p2, p1 = d2 * y1, d1 * x1
    q2, q1 = p2 * y1, p1 * x1
    if abs(q1) > abs(q2):
        h21, h12 = -y1 / x1, p2 / p1
        u = one - h12 * h21
        return 0.0, True, d1 / u, d2 / u, x1 * u, [one, h21, h12, one]
    if q2 < 0:
        return -1.0, False, zero, zero, zero, h
    h11, h22 = p1 / p2, x1 / y1
    u = one + h11 * h22
    return 1.0, True, d2 / u, d1 / u, y1 * u, [h11, -one, one, h22]


def _rotmg_ref(d1: Any, d2: Any, x1: Any, y1: Any, param: Any) -> Any:
    """(d1, d2, x1, param) after ?rotmg, computed as OpenBLAS computes it, in the arrays' dtype;
    param's entries that the flag does not use keep their values."""
    dt = np.asarray(d1).dtype
    d1, d2, x1, y1 = (dt.type(_value(v)) for v in (d1, d2, x1, y1))
    flag, rescaled, d1, d2, x1, (h11, h21, h12, h22) = _rotmg_branch(d1, d2, x1, y1)
    if rescaled:  # d1 and d2 into [RGAMSQ, GAMSQ]
        while d1 <= _RGAMSQ and d1 != 0:
            flag, d1, x1, h11, h12 = -1.0, d1 * (_GAM * _GAM), x1 / _GAM, h11 / _GAM, h12 / _GAM
        while abs(d1) > _GAMSQ:
            flag, d1, x1, h11, h12 = -1.0, d1 / (_GAM * _GAM), x1 * _GAM, h11 * _GAM, h12 * _GAM
        while abs(d2) <= _RGAMSQ and d2 != 0:
            flag, d2, h21, h22 = -1.0, d2 * (_GAM * _GAM), h21 / _GAM, h22 / _GAM
        while abs(d2) > _GAMSQ:
            flag, d2, h21, h22 = -1.0, d2 / (_GAM * _GAM), h21 * _GAM, h22 * _GAM
    p = np.array(param, dt)
    p[0] = flag
    written = {-2.0: (), -1.0: (1, 2, 3, 4), 0.0: (2, 3), 1.0: (1, 4)}[flag]
    for i in written:
        p[i] = (h11, h21, h12, h22)[i - 1]
    return np.array(d1, dt), np.array(d2, dt), np.array(x1, dt), p


def _away_from_rescaling(v: Any) -> bool:
    """|v| not within 0.2 % of a threshold of rotmg's rescaling loops (RGAMSQ, GAMSQ times GAM²ᵏ)."""
    if v == 0 or not np.isfinite(v):
        return True
    return all(abs((k := math.log2(abs(float(v)) / t) / 24) - round(k)) > 1e-4 for t in (_RGAMSQ, _GAMSQ))


def _rotmg_domain(d1: Any, d2: Any, x1: Any, y1: Any, param: Any) -> bool:
    """d1, d2, x1, y1 away from 0 (1e-3), |d1 x1²| away from |d2 y1²| (relative 1e-3) and the new
    d1, d2 away from the rescaling thresholds: where rotmg's branches meet. y1 = 0 exactly (a
    constant: H = I) is fine."""
    v = [float(np.real(_value(t))) for t in (d1, d2, x1, y1)]
    if v[3] == 0:
        return True
    q1, q2 = abs(v[0] * v[2] * v[2]), abs(v[1] * v[3] * v[3])
    if min(abs(t) for t in v) <= 1e-3 or abs(q1 - q2) <= 1e-3 * (q1 + q2):
        return False
    _, _, n1, n2, _, _ = _rotmg_branch(*v)
    return _away_from_rescaling(n1) and _away_from_rescaling(n2)


ROTMG = Spec(
    name="rotmg",
    formula="param ← (flag, H): H zeros the 2nd entry of (√d1 x1, √d2 y1); d1, d2, x1 ← their new values",
    args=(
        Arg("d1", "scalar", inout=True),
        Arg("d2", "scalar", inout=True),
        Arg("x1", "scalar", inout=True),
        Arg("y1", "scalar"),
        Arg("param", "vector", ("p5",), out=True),
    ),
    reference=_rotmg_ref,
    adjoint=(
        "the branch OpenBLAS took (and its rescalings by GAM = 4096, products with constants) is "
        "evaluated again on the saved d1, d2, x1, y1 with tangents in those four directions: J = "
        "∂(d1, d2, x1, the H entries written)/∂(d1, d2, x1, y1)",
        "(d̄1, d̄2, x̄1) ← the first three entries of Jᵀ (d̄1, d̄2, x̄1, h̄), ȳ1 += the fourth, with h̄ the "
        "seeds of the param entries the flag writes (flag −1: h11, h21, h12, h22; 0: h21, h12; 1: "
        "h11, h22; −2: none)",
        "h̄ ← 0 for those entries and param̄[0] ← 0 (the flag is piecewise constant); the entries "
        "rotmg leaves alone keep their adjoints",
    ),
    saves="d1, d2, x1, y1 by value, the branch and the rescaling counts",
    dtypes="sd",
    derived=(("p5", "5"),),
    defaults={"param": None},
    domain=_rotmg_domain,
    doc="""param ← (flag, h11, h21, h12, h22): BLAS rotmg's modified Givens rotation H, which zeros
the second entry of (√d1 x1, √d2 y1); d1, d2 and x1 are updated in place. Returns
(d1, d2, x1, param).

d1, d2 and x1 are 0-d arrays of one real dtype (they are written); y1 is a number or a 0-d
array; param is a vector of 5 of the dtype (None allocates zeros), of which rotmg writes the
flag and the entries of H the flag uses (−1: all four; 0: h21, h12; 1: h11, h22; −2: none),
as OpenBLAS's rotmg computes them (rescaling d1 and d2 by GAM² = 4096² into
[1/GAM², GAM²]). The adjoints are exact in each branch (the flag gets none); the branches
meet at d1, d2, x1 or y1 = 0 and at |d1 x1²| = |d2 y1²|.""",
)

ROUTINES: tuple[Spec, ...] = (AXPY, SCAL, COPY, SWAP, DOT, DOTU, DOTC, NRM2, ASUM, ROT, ROTM, ROTG, ROTMG)
