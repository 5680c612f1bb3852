"""r = run(family, dtype, name, values): SciPy's arguments, converted and checked as f2py does, to blasad.

One call of a twin: the arguments are converted like SciPy's f2py wrappers convert them (dtype,
rank, offsets and increments), checked like SciPy checks them, bound to the arguments of
blasad's routine (views, or recorded copies where SciPy would copy) and passed to it; the
result is what SciPy returns.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

import blasad as ba
from blasad._scalar import buffer_as
from blasad.linalg.blas.vocabulary import REQUIRED, Array, BlasError, Family, Flag, Output, Result, Scalar
from blasad.specs import Arg, real_dtype

# -- argument conversion, as SciPy's f2py wrappers do it -----------------------------------------


def _compatible(x: np.ndarray, dtype: np.dtype[Any]) -> bool:
    """f2py uses an array as it is when kind and item size match and the byte order is native."""
    return x.dtype.kind == dtype.kind and x.itemsize == dtype.itemsize and x.dtype.isnative


def _as_array(v: Any, dtype: np.dtype[Any]) -> tuple[np.ndarray, bool]:
    """(v as an array of dtype, whether it is v's own memory)."""
    if isinstance(v, np.ndarray):
        if _compatible(v, dtype):
            return (v if v.dtype == dtype else v.view(dtype)), True
        return v.astype(dtype), False  # complex -> real warns and drops the imaginary part, as f2py
    return np.asarray(v, dtype=dtype), False


def _fixed_shape(fn: str, name: str, shape: tuple[int, ...], rank: int, strict: bool) -> tuple[int, ...]:
    """f2py's rank fix: missing trailing axes are added (the first takes what is left of the
    size: (3,) -> (3, 1), (0,) -> (1, 0)); extra axes of length 1 are dropped, and further
    extra axes are flattened in Fortran order (an error where f2py's dims are fixed)."""
    if len(shape) == rank:
        return shape
    if len(shape) < rank:
        kept = tuple(d or 1 for d in shape)
        size, rest = int(np.prod(shape)), int(np.prod(kept))
        return (*kept, size // rest, *(1,) * (rank - len(shape) - 1))
    big = [d for d in shape if d > 1]
    if 0 in shape or (strict and len(big) > rank):
        raise BlasError(f"{fn}: {name} with shape {shape} cannot be used as a rank-{rank} array")
    if len(big) <= rank:
        return (*big, *(1,) * (rank - len(big)))
    return (*big[: rank - 1], int(np.prod(big[rank - 1 :])))


def _flat(x: np.ndarray, order: str) -> np.ndarray | None:
    """x as a 1-D view in the given element order, or None when that needs a copy."""
    if x.ndim < 2 or min(x.shape) <= 1:
        return x.reshape(-1, order=order)  # type: ignore[call-overload]
    (r, c), (s0, s1) = x.shape, x.strides
    if (order == "F" and s1 == s0 * r) or (order == "C" and s0 == s1 * c):
        return x.reshape(-1, order=order)  # type: ignore[call-overload]
    return None


def _copy_routine() -> Any:
    """blasad's y ← x once it has one (BLAS copy, listed in ba.SPECS), else None."""
    copy = getattr(ba, "copy", None)
    if "copy" not in ba.SPECS or copy is None or list(inspect.signature(copy).parameters)[:2] != ["x", "y"]:
        return None
    return copy


_COPY = _copy_routine()


def _vcopy(x: np.ndarray, y: np.ndarray) -> None:
    """y ← x for vectors, as one recorded blasad call: y ← 1·x + y for real dtypes (y holds -0.0,
    so that is exact, and axpy has blasad's fastest path), blasad's copy for complex ones (1·x
    would turn an infinite part into NaN)."""
    if _COPY is not None and x.dtype.kind == "c":
        _COPY(x, y)
    else:
        ba.axpy(1.0, x, y)


def copy_into(src: np.ndarray, dst: np.ndarray) -> None:
    """dst ← src elementwise with recorded blasad calls, so that the copy's adjoint
    (src̄ += dst̄) flows back. dst is a new array filled with -0.0."""
    if src.size == 0:
        return
    for order in "FC":
        s, d = _flat(src, order), _flat(dst, order)
        if s is not None and d is not None:
            _vcopy(s, d)
            return
    if src.shape[0] <= src.shape[1]:
        for i in range(src.shape[0]):
            _vcopy(src[i], dst[i])
    else:
        for j in range(src.shape[1]):
            _vcopy(src[:, j], dst[:, j])


def _reshaped(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """x reshaped in Fortran order: a view when possible, otherwise a recorded copy."""
    if x.shape == shape:
        return x
    v = x.reshape(shape, order="F")
    if v.size and not np.may_share_memory(v, x):  # NumPy copied: copy with blasad instead
        tmp = np.full(x.shape, -0.0, x.dtype, order="F")
        copy_into(x, tmp)
        v = tmp.reshape(shape, order="F")
    return v


def _strided(x: np.ndarray, off: int, inc: int, n: int) -> np.ndarray:
    """The n elements BLAS addresses as (x + off, inc): x[off::inc], reversed when inc < 0."""
    step = abs(inc)
    v = x[off : off + (n - 1) * step + 1 : step] if n > 0 else x[off:off]
    return v[::-1] if inc < 0 else v


def _int(fn: str, name: str, v: Any, default: Any) -> int:
    if v is None and default is not None:
        v = default
    if isinstance(v, str | bytes):
        raise ValueError(f"{fn}: {name} ({v!r}) can't be converted to int")
    return int(v)


def _scalar(v: Any, default: Any, want: np.dtype[Any], takes: np.dtype[Any]) -> Any:
    """A Python number, or a 0-d array of the dtype blasad's argument takes (a differentiable
    buffer). want: what SciPy converts to; a complex number where BLAS takes a real one (her's
    alpha) is read by its real part, as BLAS reads it."""
    if v is None and default is not REQUIRED:
        v = default
    if v is None:  # NumPy would make it NaN; f2py refuses it
        raise TypeError(f"a required scalar can't be None (expected a {want} number)")
    if isinstance(v, ba.Scalar):  # an active scalar (a reduction's result): its buffer, or a recorded cast
        buffer = buffer_as(v, takes)
        if buffer is not None:
            return buffer
    if isinstance(v, np.ndarray) and v.size == 1 and v.dtype == takes:
        return v.reshape(())
    if want.kind == "f" and isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind == "c":
        raise IndexError(f"a 0-d complex array can't be converted to {want} (as in SciPy)")
    first = np.asarray(v).reshape(-1)[:1]
    if first.size == 0:
        raise BlasError(f"cannot use an empty array {v!r} as a scalar")
    if want.kind == "f" and first.dtype.kind == "c":
        first = first.real  # f2py takes the real part of a complex scalar, silently
    with np.errstate(over="ignore"):
        value = first.astype(want)[0]
    return (value.real if takes.kind == "f" else value).item()


# -- the one engine ----------------------------------------------------------------------------


class _TwinCall:
    """One call of a twin: SciPy's arguments converted and checked as f2py does, then bound to
    the arguments of blasad's routine (``vals``, by blasad name)."""

    def __init__(self, fam: Family, dtype: np.dtype[Any], fn: str, values: tuple[Any, ...]) -> None:
        self.fam, self.dtype, self.fn, self.spec = fam, dtype, fn, fam.spec
        self.kw = dict(zip((p for p, _ in fam.params), values))
        self.defaults = dict(fam.params)
        self.vals: dict[str, Any] = {}
        self.flags: dict[str, str] = {}
        self.overwrite: dict[str, bool] = {}
        self.inputs: dict[str, np.ndarray] = {}  # input arrays, converted and rank-fixed
        self.given: dict[str, tuple[Any, np.ndarray, bool]] = {}  # output -> (object, converted, own)
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.dims: dict[str, int] = {}
        self.strides: dict[str, tuple[int, int]] = {}  # vector -> (off, inc)
        self.rejected = False  # BLAS would reject the call (and do nothing)

    def integer(self, param: str) -> int:
        return _int(self.fn, param, self.kw[param], self.defaults[param])

    def error(self, msg: str) -> BlasError:
        return BlasError(f"{self.fn}: {msg}")

    def flags_and_arrays(self) -> None:
        for arg in self.spec.args:
            src = self.fam.args[arg.name]
            rank = 2 if arg.kind == "matrix" else 1
            if isinstance(src, Flag):
                values = src.complex_values if src.complex_values and self.dtype.kind == "c" else src.values
                i = self.integer(src.param)
                if not 0 <= i < len(values) and src.other is None:
                    raise self.error(f"{src.param} must be in 0..{len(values) - 1}, got {i}")
                flag = values[i] if 0 <= i < len(values) else src.other
                self.rejected |= flag is None
                # a value BLAS rejects still shapes the call as SciPy reads it: nonzero transposes
                self.vals[arg.name] = self.flags[arg.name] = flag or ("T" if i else "N")
            elif isinstance(src, Array):
                conv, _ = _as_array(self.kw[src.param], self.dtype)
                x = _reshaped(conv, _fixed_shape(self.fn, src.param, conv.shape, rank, False))
                self.inputs[arg.name], self.shapes[arg.name] = x, x.shape
            elif isinstance(src, Output):
                if src.overwrite is not None:  # converted even when unused: None raises TypeError
                    self.overwrite[arg.name] = _int(self.fn, src.overwrite, self.kw[src.overwrite], None) != 0
                obj = self.kw[src.param]
                if obj is not None:
                    conv, own = _as_array(obj, self.dtype)
                    self.given[arg.name] = (obj, conv, own)
                    self.shapes[arg.name] = _fixed_shape(self.fn, src.param, conv.shape, rank, rank == 2)

    def bind_dims(self) -> None:
        """Matrices bind the dims first (through their trans flags), then vectors do, with their
        offsets and increments, checked as SciPy checks them; then optional outputs get shapes."""
        fam, dims = self.fam, self.dims
        where: dict[str, str] = {}
        for param, sym in fam.dims.items():  # SciPy's n, k, kl, ku, m
            dims[sym], where[sym] = self.integer(param), param
            if dims[sym] < 0:
                raise self.error(f"{param} must be >= 0, got {dims[sym]}")
        for sym, rule in fam.derived.items():  # packed and banded sizes
            dims[sym], where[sym] = rule(dims, self.flags), rule.__name__
        for arg in self.spec.args:  # input matrices, then the given output matrices
            if arg.kind == "matrix" and arg.name in self.inputs:
                self.bind(arg, where)
        for arg in self.spec.args:  # an output SciPy requires (trmm's b) gives its own dims
            src = fam.args[arg.name]
            if arg.kind == "matrix" and arg.name in self.given and self.defaults[src.param] is REQUIRED:
                self.bind(arg, where)
        count = None
        if fam.count is not None and self.kw[fam.count] is not None:
            count = _int(self.fn, fam.count, self.kw[fam.count], None)
        counted = False  # the count gives n to the first vector no matrix sizes
        for arg in self.spec.args:
            src = fam.args[arg.name]
            if arg.kind != "vector" or not isinstance(src, Array | Output):
                continue
            off, inc = self.off_inc(src)
            if inc == 0 or (fam.positive_inc and inc < 0) or (fam.unit_inc and abs(inc) != 1):
                raise self.error(f"{src.inc} = {inc} is not allowed here")
            self.strides[arg.name] = (off, inc)
            sym = arg.dims[0]
            if arg.name not in self.shapes:  # an optional output, left out
                continue
            length = self.shapes[arg.name][0]
            if isinstance(src, Array) and src.size is not None:
                if length != src.size:
                    raise self.error(f"{src.param} must have {src.size} elements, got {length}")
                dims.setdefault(sym, length)
                continue
            if src.off:  # SciPy's offx < len(x); a vector without offset (ap) may be empty
                self.check_offset(src, off, length)
            if sym not in dims:
                dims[sym] = count if count is not None and not counted else self.default_count(sym)
                counted = True
            if not length - off > (dims[sym] - 1) * abs(inc):
                raise self.error(
                    f"{src.param} (length {length}) is too short for {dims[sym]} elements "
                    f"from offset {off} with increment {inc}"
                )
        for arg in self.spec.args:
            src = fam.args[arg.name]
            if not isinstance(src, Output):
                continue
            if arg.kind == "vector" and arg.name not in self.shapes:  # SciPy's ly = 1 + off + (n-1)|inc|
                off, inc = self.strides[arg.name]
                length = 1 + off + (dims[arg.dims[0]] - 1) * abs(inc)
                self.check_offset(src, off, length)
                self.shapes[arg.name] = (length,)
            elif arg.kind == "matrix":
                optional = self.defaults[src.param] is None  # its dims are fixed by the others
                if optional and arg.name in self.given and self.given[arg.name][1].size == 0:
                    raise self.error(f"{src.param} is empty; f2py cannot fix its dimensions (nor can SciPy)")
                want = tuple(dims[s] for s in arg.dims)
                if self.shapes.setdefault(arg.name, want) != want:
                    raise self.error(f"{src.param} has shape {self.shapes[arg.name]}, expected {want}")

    def off_inc(self, src: Array | Output) -> tuple[int, int]:
        """A vector's (offset, increment): SciPy's offx and incx, or (0, 1) where it has none."""
        return (self.integer(src.off) if src.off else 0), (self.integer(src.inc) if src.inc else 1)

    def check_offset(self, src: Array | Output, off: int, length: int) -> None:
        """0 <= offx < len(x), as SciPy checks it."""
        if not 0 <= off < length:
            raise self.error(f"{src.off or 'offset'} = {off} is outside {src.param} (length {length})")

    def bind(self, arg: Arg, where: dict[str, str]) -> None:
        """Bind the dims of a matrix argument (through its trans flag), checking earlier ones.
        A loose dim larger than the bound one is cut to its leading block, as BLAS reads it.
        An empty band matrix without rows has one (f2py's ld = max(rows, 1)), of no elements."""
        src = self.fam.args[arg.name]
        if arg.storage == "band" and self.shapes[arg.name] == (0, 0):
            self.inputs[arg.name] = self.inputs[arg.name].reshape(1, 0)
            self.shapes[arg.name] = (1, 0)
        transposed = bool(arg.trans and self.flags[arg.trans] != "N")
        shape = self.shapes[arg.name][::-1] if transposed else self.shapes[arg.name]
        if isinstance(src, Array) and src.loose:
            cut = tuple(
                slice(self.dims[sym]) if sym in src.loose and self.dims.get(sym, d) < d else slice(None)
                for sym, d in zip(arg.dims, shape)
            )
            x = self.inputs[arg.name]
            x = x[cut[::-1]] if transposed else x[cut]
            self.inputs[arg.name] = x
            self.shapes[arg.name] = x.shape
            shape = x.shape[::-1] if transposed else x.shape
        param = src.param
        for sym, d in zip(arg.dims, shape):
            if sym in self.dims and self.dims[sym] != d:
                raise self.error(f"{param} gives {sym} = {d} but {where[sym]} gives {sym} = {self.dims[sym]}")
            self.dims[sym], where[sym] = d, param

    def default_count(self, sym: str) -> int:
        """SciPy's default n for the vectors of dim sym: from the first of them, or the smallest
        over all of them ("ceil_min")."""
        counts = []
        for arg in self.spec.args:
            src = self.fam.args[arg.name]
            if arg.kind == "vector" and arg.dims[0] == sym and arg.name in self.shapes:
                assert isinstance(src, Array | Output)
                off, inc = self.off_inc(src)
                length, step = self.shapes[arg.name][0], abs(inc)
                rule = self.fam.count_rule
                counts.append((length - off) // step if rule == "floor" else (length - 1 - off) // step + 1)
                if rule != "ceil_min":
                    break
        return min(counts)

    def view(self, arg: Arg, x: np.ndarray) -> np.ndarray:
        """What blasad gets for x: a vector's n strided elements, a matrix as it is."""
        if arg.kind != "vector":
            return x
        off, inc = self.strides[arg.name]
        n = 0 if inc < 0 and self.fam.negative_inc_noop else self.dims[arg.dims[0]]
        return _strided(x, off, inc, n)

    def reads_old(self, arg: Arg, src: Output) -> bool:
        """Does the routine read the output's old value (or keep some of it)?"""
        zero = src.unread_if_zero
        if arg.kind == "vector" or zero is None:
            return True
        coef = self.vals[zero]
        return isinstance(coef, np.ndarray) or coef != 0

    def output(self, arg: Arg, src: Output) -> np.ndarray:
        """Bind an output: the caller's array when SciPy would write into it, else a new one
        (a recorded copy of the caller's array when the routine reads it). Returns the result."""
        if arg.name not in self.given:
            base = result = np.zeros(self.shapes[arg.name], self.dtype, order="F")
        else:
            obj, conv, own = self.given[arg.name]
            others = [*self.inputs.values(), *(g[1] for k, g in self.given.items() if k != arg.name)]
            in_place = (
                own
                and self.overwrite.get(arg.name, True)
                and conv.flags.f_contiguous
                and conv.flags.aligned
                and conv.flags.writeable
                and not any(np.may_share_memory(conv, x) and np.shares_memory(conv, x) for x in others)
            )
            if in_place:
                base, result = conv, obj
            else:
                base = result = np.full(conv.shape, -0.0, self.dtype, order="F")  # f2py's copy: same shape
                if self.reads_old(arg, src):
                    copy_into(conv, base)
        self.vals[arg.name] = self.view(arg, base.reshape(self.shapes[arg.name], order="F"))  # a view
        return result

    def run(self) -> Any:
        self.flags_and_arrays()
        if self.fam.blocks is not None:
            self.fam.blocks(self)
        self.bind_dims()
        for arg in self.spec.args:
            src = self.fam.args[arg.name]
            if isinstance(src, Scalar):
                want = real_dtype(self.dtype) if src.real else self.dtype  # what SciPy converts to
                takes = real_dtype(self.dtype) if arg.real else self.dtype  # what blasad's argument takes
                self.vals[arg.name] = _scalar(self.kw[src.param], self.defaults[src.param], want, takes)
            elif isinstance(src, Array):
                self.vals[arg.name] = self.view(arg, self.inputs[arg.name])
            elif isinstance(src, Result):
                self.vals[arg.name] = None  # blasad allocates it
        results = [
            self.output(arg, src)
            for arg in self.spec.args
            if isinstance(src := self.fam.args[arg.name], Output)
        ]
        if self.fam.adapt is not None:
            self.fam.adapt(self)
        self.rejected |= any(self.shapes[m][0] == 0 for m in self.fam.zero_ld_rejected if m in self.shapes)
        out = None
        if not self.rejected and not any(self.dims[d] == 0 for d in self.fam.quick_return):
            kwargs = {k: _int(self.fn, p, self.kw[p], None) for k, p in self.fam.kwargs.items()}
            out = getattr(ba, self.fam.routine)(*(self.vals[a.name] for a in self.spec.args), **kwargs)
        if self.fam.result is not None:  # SciPy's result made from blasad's (rotg's c, s; iamax's -1)
            return self.fam.result(self, out)
        if not results:
            return out
        return results[0] if len(results) == 1 else tuple(results)


def run(fam: Family, dtype: np.dtype[Any], fn: str, values: tuple[Any, ...]) -> Any:
    """Convert SciPy's arguments, check them like f2py, call blasad's routine, return SciPy's result."""
    return _TwinCall(fam, dtype, fn, values).run()
