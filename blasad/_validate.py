"""The validator: every argument of a call checked against its routine's spec before
anything is written."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from blasad.specs.core import DTYPE_CODES, PREFIX, Arg, Spec, real_dtype

_NDIM = {"vector": 1, "matrix": 2}
_SHAPED = ("vector", "matrix", "pivots")  # arguments whose shapes bind dims


_KIND_WORD = {"vector": "1-D (a vector)", "matrix": "2-D (a matrix)"}


def _label(a: Arg, flags: dict[str, str]) -> str:
    return f"op({a.name})" if a.trans and flags[a.trans] != "N" else a.name


def overlaps_itself(x: np.ndarray) -> bool:
    """Do two elements of x share memory (a broadcast or as_strided view)? Exact for up to two
    axes with strides in whole elements: elements i·a + j·b (element strides a ≤ b, i < m,
    j < n) coincide iff b/g < m and a/g < n, g = gcd(a, b). Otherwise a sufficient test for
    distinct elements (each axis's stride at least the span of the smaller ones) decides."""
    if x.size <= 1 or x.flags.c_contiguous or x.flags.f_contiguous:  # (contiguous: distinct)
        return False
    es = x.itemsize
    if x.ndim == 1:  # (the common cases first, without the general machinery)
        return abs(x.strides[0]) < es
    axes = sorted((abs(s), n) for n, s in zip(x.shape, x.strides) if n > 1)
    if len(axes) <= 2 and all(s % es == 0 for s, _ in axes):
        if axes[0][0] == 0:
            return True
        if len(axes) == 1:
            return False
        (a, m), (b, n) = ((s // es, k) for s, k in axes)
        g = math.gcd(a, b)
        return b // g < m and a // g < n
    span = es
    for s, n in axes:
        if s < span:
            return True
        span = s * n
    return False


def _scalar_dtype(spec: Spec, vals: list[Any]) -> np.dtype[Any]:
    """The dtype of a call whose arguments are all scalars: that of the first 0-d array of a
    float or complex dtype among the scalars of the routine's dtype (not the real ones, such as
    rotg's c). Raises TypeError naming the first written one when there is none (a number
    cannot be written)."""
    candidates = [(a, v) for a, v in zip(spec.args, vals) if a.kind == "scalar" and not a.real]
    for _, v in candidates:
        if isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype in DTYPE_CODES:
            return v.dtype
    a, v = next(((a, v) for a, v in candidates if a.out or a.inout), candidates[0])
    if isinstance(v, np.ndarray):
        got = f"a 0-d array of dtype {v.dtype}" if v.ndim == 0 else f"a {v.ndim}-D array"
    else:
        got = type(v).__name__
    raise TypeError(
        f"{spec.name}: {a.name} must be a 0-d array of float32, float64, complex64 or complex128 "
        f"(it is written), got {got}"
    )


def validate(
    spec: Spec, values: tuple[Any, ...], keywords: dict[str, Any] | None = None
) -> tuple[np.dtype[Any], dict[str, int], list[Any]]:
    """Check every argument of a call against its spec before anything is written: kinds,
    dtypes (with the routine for the other dtypes named), flags (the choices of the dtype),
    dims across the arguments and the dims the spec derives from them, the keyword dims,
    the discrete entries, scalars, and the written arguments.

    Returns the dtype, the bound dims and the values with flags normalised and a
    missing output allocated. Raises TypeError or ValueError naming the argument.
    """
    name = spec.name
    vals = list(values)
    flags: dict[str, str] = {}
    dtype: np.dtype[Any] | None = None
    first = ""
    for i, a in enumerate(spec.args):
        v = vals[i]
        if a.kind == "flag":
            if not isinstance(v, str) or v.upper() not in a.choices:
                raise ValueError(
                    f"{name}: {a.name} must be one of {', '.join(map(repr, a.choices))}, got {v!r}"
                )
            vals[i] = flags[a.name] = v.upper()
        elif a.kind == "pivots" and not (a.out and v is None):
            if not isinstance(v, np.ndarray) or v.dtype.kind not in "iu" or v.ndim != 1:
                got = f"a {v.ndim}-D array of {v.dtype}" if isinstance(v, np.ndarray) else type(v).__name__
                raise TypeError(f"{name}: {a.name} must be a 1-D array of integers (pivots), got {got}")
            if (a.out or a.inout) and (v.dtype != np.int64 or (v.shape[0] > 1 and v.strides[0] != 8)):
                raise TypeError(
                    f"{name}: {a.name} is written: it must be a contiguous int64 array, got "
                    f"{v.dtype} with strides {v.strides}"
                )
        elif a.kind in _NDIM and not (a.out and v is None):
            if not isinstance(v, np.ndarray):
                raise TypeError(f"{name}: {a.name} must be a NumPy array, got {type(v).__name__}")
            if v.dtype not in DTYPE_CODES:
                raise TypeError(
                    f"{name}: {a.name} has dtype {v.dtype}; expected float32, float64, complex64 "
                    "or complex128"
                )
            if a.real:  # of the call's real dtype (syevd's w): checked below
                pass
            elif dtype is None:
                dtype, first = v.dtype, a.name
            elif v.dtype != dtype:
                raise TypeError(f"{name}: mixed dtypes: {a.name} is {v.dtype} but {first} is {dtype}")
            if v.ndim != _NDIM[a.kind]:
                raise ValueError(f"{name}: {a.name} must be {_KIND_WORD[a.kind]}, got a {v.ndim}-D array")
            if any(s % v.itemsize for s in v.strides):
                raise ValueError(
                    f"{name}: {a.name} has strides {v.strides} that are not multiples of its itemsize"
                )
    if dtype is None:  # a routine of scalars only (rotg): the dtype of its 0-d arrays
        dtype = _scalar_dtype(spec, vals)
    if PREFIX[dtype] not in spec.dtypes:
        names = ", ".join(str(d) for d, p in PREFIX.items() if p in spec.dtypes)
        kind = {"sd": "real dtypes only", "cz": "complex dtypes only"}.get(spec.dtypes, "dtypes")
        hint = f"; use {spec.other}" if spec.other else ""
        raise TypeError(f"{name}: {kind} ({names}), got {dtype} arrays{hint}")
    for a, v in zip(spec.args, vals):
        if a.real and a.kind in _NDIM and isinstance(v, np.ndarray) and v.dtype != real_dtype(dtype):
            raise TypeError(
                f"{name}: mixed dtypes: {a.name} is {v.dtype} but {first} is {dtype} ({a.name} is real: "
                f"{real_dtype(dtype)})"
            )
    for a in spec.args:
        if a.kind == "flag" and flags[a.name] not in a.flag_choices(dtype):
            allowed = " or ".join(map(repr, a.flag_choices(dtype)))
            raise ValueError(
                f"{name}: {a.name} {flags[a.name]!r} is for real dtypes; complex {name} takes {allowed}"
            )

    dims: dict[str, int] = {}
    source: dict[str, str] = {}
    shaped: dict[str, str] = {}  # a dim an argument's shape gave: "A has shape (3, 4)"
    for k in spec.keywords:
        v = (keywords or {}).get(k)
        if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{name}: {k} must be a non-negative integer, got {v!r}")
        dims[k], source[k] = int(v), f"{k}={int(v)}"
    for i, a in enumerate(spec.args):
        v = vals[i]
        if a.kind not in _SHAPED or v is None:
            continue
        shape = v.shape[::-1] if a.trans and flags[a.trans] != "N" else v.shape
        label = _label(a, flags)
        for sym, n in zip(a.dims, shape):
            if sym in dims and dims[sym] != n:
                raise ValueError(
                    f"{name}: {label} has shape {tuple(shape)}, so {sym} = {n}, "
                    f"but {source[sym]} gives {sym} = {dims[sym]}"
                )
            dims[sym], source[sym] = n, f"{label} (shape {tuple(shape)})"
            shaped[sym] = f"{label} has shape {tuple(shape)}"
        if a.storage == "band" and v.shape[0] < 1:
            raise ValueError(f"{name}: {a.name} has no rows; band storage has k+1 >= 1 rows")
    for sym, expr in spec.derived:  # dims that follow from the others: bound, or checked
        try:
            expected = int(eval(expr, {"__builtins__": {}}, {**flags, **dims}))
        except NameError:  # it reads a dim no argument gave (an output left None)
            continue
        if sym not in dims:
            dims[sym], source[sym] = expected, f"{sym} = {expr}"
        elif dims[sym] != expected:
            given = ", ".join(
                f"{d} = {dims[d]}" for d in compile(expr, "<dim>", "eval").co_names if d in dims
            )
            if not given:  # a constant (rotm's param has 5 entries)
                raise ValueError(
                    f"{name}: {shaped.get(sym, source[sym])}, but its dim {sym} must be {expected}"
                )
            raise ValueError(
                f"{name}: {shaped.get(sym, source[sym])}, so {sym} = {dims[sym]}, "
                f"but {sym} = {expr} = {expected} for {given}"
            )
    for i, a in enumerate(spec.args):
        for j, choices in a.discrete:
            v = vals[i]
            if v is not None and v.shape[0] > j and float(v[j].real) not in choices:
                allowed = ", ".join(f"{c:g}" for c in choices)
                raise ValueError(f"{name}: {a.name}[{j}] must be one of {allowed}, got {float(v[j].real):g}")

    for i, a in enumerate(spec.args):
        v = vals[i]
        if a.kind != "scalar" or (a.out and v is None):
            continue
        want = real_dtype(dtype) if a.real else dtype
        if isinstance(v, np.ndarray):
            if v.ndim != 0:
                what = "a 0-d array (it is written)" if a.out or a.inout else "a number or a 0-d array"
                raise ValueError(f"{name}: {a.name} must be {what}, got a {v.ndim}-D array")
            if v.dtype != want:
                raise TypeError(f"{name}: {a.name} is a 0-d array of dtype {v.dtype}; expected {want}")
        elif a.out or a.inout:
            raise TypeError(
                f"{name}: {a.name} must be a 0-d {want} array (it is written), got {type(v).__name__}"
            )
        elif isinstance(v, bool) or not isinstance(v, numbers.Real if want.kind == "f" else numbers.Complex):
            kind = "real" if want.kind == "f" else "complex"
            raise TypeError(
                f"{name}: {a.name} must be a {kind} number or a 0-d {want} array, got {type(v).__name__}"
            )
        else:
            try:
                complex(v)
            except OverflowError:
                raise ValueError(
                    f"{name}: {a.name} is a {type(v).__name__} too large for a double (|{a.name}| > 1.8e308)"
                ) from None

    for i, a in enumerate(spec.args):  # pivots read: valid row indices, handed over as int64
        v = vals[i]
        if a.kind != "pivots" or a.out or a.inout:
            continue
        bound = dims[a.bound] if a.bound else v.shape[0]
        if v.shape[0] > bound:  # entry i interchanges row i: there is no row i >= bound
            raise ValueError(f"{name}: {a.name} has {v.shape[0]} pivots but there are only {bound} rows")
        if v.size and (int(v.min()) < 0 or int(v.max()) >= bound):
            bad = int(v.min()) if int(v.min()) < 0 else int(v.max())
            raise ValueError(f"{name}: {a.name} holds {bad}; pivots are 0-based row indices in [0, {bound})")
        vals[i] = np.ascontiguousarray(v, np.int64)

    written = [i for i, a in enumerate(spec.args) if a.out or a.inout]
    for out_i in written:
        out_arg = spec.args[out_i]
        out = vals[out_i]
        shape = tuple(dims[s] for s in out_arg.dims)
        if out is None:
            if out_arg.inout:
                raise TypeError(f"{name}: {out_arg.name} must be a NumPy array (it is updated in place)")
            continue
        if out_arg.trans and flags[out_arg.trans] != "N":
            shape = shape[::-1]
        if not out.flags.writeable:
            raise ValueError(f"{name}: {out_arg.name} is read-only; it is written")
        if out.shape != shape:
            raise ValueError(
                f"{name}: {out_arg.name} has shape {out.shape}, expected {shape} from the inputs"
            )
        if overlaps_itself(out):
            raise ValueError(
                f"{name}: {out_arg.name} has strides {out.strides} under which its elements overlap "
                "(a broadcast or as_strided view); it is written: pass an array of distinct elements"
            )
        for i, a in enumerate(spec.args):
            v = vals[i]
            if (
                i != out_i
                and isinstance(v, np.ndarray)
                and np.may_share_memory(out, v)
                and np.shares_memory(out, v)
            ):
                what = "output" if a.out or a.inout else "input"
                raise ValueError(
                    f"{name}: output {out_arg.name} shares elements with {what} {a.name}; BLAS forbids it "
                    "(disjoint blocks of one matrix are fine)"
                )
    for out_i in written:
        if vals[out_i] is None:
            a = spec.args[out_i]
            want = np.dtype(np.int64) if a.kind == "pivots" else real_dtype(dtype) if a.real else dtype
            vals[out_i] = np.zeros(tuple(dims[s] for s in a.dims), want)
    return dtype, dims, vals
