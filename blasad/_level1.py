"""Level 1 BLAS routines: one spec each, run by the generic front end (_generic.run).

Reductions (dot, dotu, dotc, nrm2, asum) write their result into a 0-d array ``out``
(allocated when None) and return it: the result is a buffer like any other, so it can be
seeded, read by later calls (as a 0-d α, say) and differentiated. ``out``'s old value reaches
nothing, so its shadow is consumed: after the adjoint has read r̄ it is set to exactly 0.
iamax is a plain function: an integer index is not differentiable and is never recorded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blasad._generic import fast_first, run
from blasad._native_loader import lib
from blasad._routines import _Call
from blasad._specs import DTYPE_CODES, SPECS, Arg, Spec
from blasad._tape import address

Scalar = float | complex | np.ndarray


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
)


SCAL = Spec(
    name="scal",
    formula="x ← α x",
    args=(Arg("alpha", "scalar"), Arg("x", "vector", ("n",), inout=True)),
    reference=lambda alpha, x: alpha * x,
    adjoint=("ᾱ += ⟨x_old, x̄⟩", "x̄ ← conj(α) x̄  (exactly 0 when α = 0)"),
    saves="x_old if α is active",
)

COPY = Spec(
    name="copy",
    formula="y ← x",
    args=(Arg("x", "vector", ("n",)), Arg("y", "vector", ("n",), out=True)),
    reference=lambda x, y: np.array(x, copy=True),
    adjoint=("x̄ += ȳ", "ȳ ← 0  (exactly: y's old value reaches nothing)"),
    saves="nothing",
    seed_scaled=True,
)

SWAP = Spec(
    name="swap",
    formula="x ↔ y",
    args=(Arg("x", "vector", ("n",), inout=True), Arg("y", "vector", ("n",), inout=True)),
    reference=lambda x, y: _pair(np.array(y, copy=True), np.array(x, copy=True)),
    adjoint=("(x̄, ȳ) ← (ȳ, x̄)",),
    saves="nothing",
)


def _dot_spec(name: str, formula: str, reference: Any, adjoint: tuple[str, ...], dtypes: str) -> Spec:
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
    )


DOT = _dot_spec(
    "dot",
    "r ← Σ x y  (real dtypes)",
    lambda x, y, out: np.array(np.sum(x * y)),
    ("x̄ += r̄ y", "ȳ += r̄ x"),
    "sd",
)
DOTU = _dot_spec(
    "dotu",
    "r ← Σ x y  (no conjugation)",
    lambda x, y, out: np.array(np.sum(x * y)),
    ("x̄ += r̄ conj(y)", "ȳ += r̄ conj(x)"),
    "cz",
)
DOTC = _dot_spec(
    "dotc",
    "r ← Σ conj(x) y",
    lambda x, y, out: np.array(np.sum(np.conj(x) * y)),
    ("x̄ += conj(r̄) y", "ȳ += r̄ x"),
    "cz",
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
)

ASUM = Spec(
    name="asum",
    formula="r ← Σ |Re x| + |Im x|  (BLAS asum; r of the real dtype)",
    args=(Arg("x", "vector", ("n",)), Arg("out", "scalar", out=True, real=True)),
    reference=_asum_ref,
    adjoint=("x̄ += r̄ (sign(Re x) + i sign(Im x)), sign(0) = 0", "r̄ ← 0"),
    saves="x (by reference) if x is active",
    seed_scaled=True,
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
)


def _real_only(name: str, x: Any, hint: str) -> None:
    if isinstance(x, np.ndarray) and x.dtype.kind == "c":
        raise TypeError(f"{name}: x has dtype {x.dtype}; {name} is for real dtypes ({hint})")


@fast_first(AXPY, "y")
def axpy(alpha: Scalar, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y ← α x + y, in place; returns y."""
    run(AXPY, (alpha, x, y))
    return y


@fast_first(SCAL, "x")
def scal(alpha: Scalar, x: np.ndarray) -> np.ndarray:
    """x ← α x, in place; returns x."""
    run(SCAL, (alpha, x))
    return x


@fast_first(COPY, "y")
def copy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y ← x, in place; returns y. y's old value is overwritten: its adjoint goes to x and ȳ ← 0."""
    run(COPY, (x, y))
    return y


@fast_first(SWAP, "(x, y)")
def swap(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x ↔ y, in place; returns (x, y). The adjoints swap too."""
    run(SWAP, (x, y))
    return x, y


@fast_first(DOT, "out")
def dot(x: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """r ← Σ x y for real dtypes (complex: use dotu or dotc); returns r as a 0-d array (out)."""
    _real_only("dot", x, "complex vectors: dotu for Σ x y, dotc for Σ conj(x) y")
    return run(DOT, (x, y, out))[2]


def dotu(x: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """r ← Σ x y, unconjugated, for complex dtypes (real: dot); returns r as a 0-d array (out)."""
    return run(DOTU, (x, y, out))[2]


def dotc(x: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """r ← Σ conj(x) y for complex dtypes (real: dot); returns r as a 0-d array (out)."""
    return run(DOTC, (x, y, out))[2]


@fast_first(NRM2, "out")
def nrm2(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """r ← ‖x‖₂ = √(Σ |x|²), overflow-safe as BLAS; returns r as a 0-d array of the real dtype.

    Adjoint x̄ += (r̄ / r) x; at x = 0 (r = 0, where ‖·‖ has no derivative) it takes the
    subgradient 0, so x̄ is left unchanged.
    """
    return run(NRM2, (x, out))[1]


@fast_first(ASUM, "out")
def asum(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """r ← Σ |Re x| + |Im x| (BLAS asum, not Σ |x| for complex); returns r as a 0-d array of
    the real dtype. Adjoint x̄ += r̄ (sign(Re x) + i sign(Im x)), with sign(0) = 0."""
    return run(ASUM, (x, out))[1]


def iamax(x: np.ndarray) -> int:
    """The 0-based index of the first element with the largest |Re x_i| + |Im x_i| (as scipy's
    i?amax; BLAS's measure, not |x_i|, for complex x). Not differentiable and never recorded.
    Raises ValueError for an empty x."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"iamax: x must be a NumPy array, got {type(x).__name__}")
    if x.dtype not in DTYPE_CODES:
        raise TypeError(f"iamax: x has dtype {x.dtype}; expected float32, float64, complex64 or complex128")
    if x.ndim != 1:
        raise ValueError(f"iamax: x must be 1-D (a vector), got a {x.ndim}-D array")
    if x.strides[0] % x.itemsize:
        raise ValueError(f"iamax: x has strides {x.strides} that are not multiples of its itemsize")
    if x.shape[0] == 0:
        raise ValueError("iamax: x is empty")
    code = DTYPE_CODES[x.dtype]
    _Call(None, code).allow(x)
    return int(lib.ba_iamax(code, x.shape[0], address(x), x.strides[0] // x.itemsize))


@fast_first(ROT, "(x, y)")
def rot(
    x: np.ndarray, y: np.ndarray, c: float | np.ndarray, s: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """x ← c x + s y, y ← c y − s x, in place; returns (x, y).

    c and s are real (numbers, or 0-d arrays of the real dtype, differentiable when active),
    also for complex x and y (BLAS csrot/zdrot).
    """
    run(ROT, (x, y, c, s))
    return x, y


_ROTM_FLAGS = (-2.0, -1.0, 0.0, 1.0)


def rotm(x: np.ndarray, y: np.ndarray, param: Any) -> tuple[np.ndarray, np.ndarray]:
    """(x_i, y_i) ← H (x_i, y_i), in place, for real x, y; returns (x, y).

    param = (flag, h11, h21, h12, h22) as BLAS drotm's: flag −1 uses all four entries,
    0 means h11 = h22 = 1, 1 means h21 = −1 and h12 = 1, −2 means H = I. A param ndarray of
    x's dtype is a buffer: differentiable (the entries its flag uses; never the flag);
    any other sequence is converted and is a constant.
    """
    _real_only("rotm", x, "BLAS has no complex rotm")
    if not isinstance(param, np.ndarray):
        dtype = x.dtype if isinstance(x, np.ndarray) and x.dtype in DTYPE_CODES else np.float64
        try:
            param = np.array(param, dtype=dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(f"rotm: param must be a sequence of 5 real numbers ({e})") from None
    if param.shape != (5,):
        raise ValueError(f"rotm: param must have shape (5,) (flag, h11, h21, h12, h22), got {param.shape}")
    if param.dtype.kind == "f":
        flag = float(param[0])
        if flag not in _ROTM_FLAGS:
            raise ValueError(f"rotm: param[0] (the flag) must be -2, -1, 0 or 1, got {flag!r}")
    run(ROTM, (x, y, param))
    return x, y


LEVEL1: tuple[Spec, ...] = (AXPY, SCAL, COPY, SWAP, DOT, DOTU, DOTC, NRM2, ASUM, ROT, ROTM)
SPECS.update({s.name: s for s in LEVEL1})

__all__ = ["asum", "axpy", "copy", "dot", "dotc", "dotu", "iamax", "nrm2", "rot", "rotm", "scal", "swap"]
