"""Active scalars: the numbers between BLAS calls, recorded like the calls themselves.

A reduction (dot, dotu, dotc, nrm2, asum) returns a ``Scalar``: a 0-d buffer that behaves
like a NumPy scalar (prints, formats, compares, works as α or β of every routine and in
NumPy expressions) and whose arithmetic is recorded on the tape recording on this thread:
``+ - * / **``, unary ``-``, ``abs``, ``.real``, ``.imag``, ``.conj()``, and the ufuncs
``np.sqrt exp log sin cos conj hypot reciprocal positive`` (the ops of blasad/specs/scalar.py,
their rules in csrc/scalar.c; ``+r`` is r itself). Each operation is one native call (the
arithmetic: the number slots of Scalar's C base; ufuncs: its ``__array_ufunc__``), which
computes z, takes a slot for it in the tape's scalar pool (one tracked region per 1024 slots,
64 in a tape's first; made natively) and records the op with its operands' values. An
operation whose operands are all constants, or any operation outside a recording, records
nothing and gives the NumPy scalar NumPy would (computed by the same native code, so recorded
and unrecorded values agree).

Never silent: inside a recording, turning an active scalar into a plain number (``float(r)``,
``complex(r)``, ``int(r)``, ``r.item()``, ``np.asarray(r)``, a NumPy store ``A[j, j] = r``, an
operation with an n-d array) warns ``GradientLostWarning`` at the user's line, and raises it
under ``Tape(check=True)``. Comparisons, ``bool(r)``, formatting and rounding do not warn (a
branch is piecewise constant). A result is stored into a tracked array, recorded, with
``out=``: ``np.sqrt(r, out=A[j, j, ...])``, ``np.subtract(a, r, out=a)``, or an in-place
operator on a 0-d view, ``A[j, j, ...] -= r``; these return the written buffer as a Scalar.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

import blasad._tape as _tape_module
from blasad._native_loader import lib
from blasad._tape import thread_local
from blasad.specs import DTYPE_CODES
from blasad.specs.scalar import OPS


class GradientLostWarning(UserWarning):
    """An active scalar became a plain number inside a recording: no gradient flows through
    that number. Raised instead of warned under ``Tape(check=True)``."""


_INDEX = {op.name: int(lib.ba_scalar_op_index(op.name.encode())) for op in OPS}
assert all(i >= 0 for i in _INDEX.values()), "an op of blasad/specs/scalar.py has no rule in csrc/scalar.c"
_REFERENCE = {_INDEX[op.name]: op.reference for op in OPS}
_UFUNCS = {op.ufunc: _INDEX[op.name] for op in OPS if op.ufunc is not None}
_ADD, _SUB, _MUL, _DIV, _POW = (_INDEX[n] for n in ("add", "sub", "mul", "div", "pow"))
_NEG, _POS, _ABS, _CONJ, _REAL, _IMAG = (_INDEX[n] for n in ("neg", "pos", "abs", "conj", "real", "imag"))
# ufuncs whose result is piecewise constant in an active operand: they lose no gradient
_PIECEWISE = {
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal, np.isfinite,
    np.isnan, np.isinf, np.signbit, np.sign, np.floor, np.ceil, np.trunc, np.rint,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
}  # fmt: skip
# an in-place operator's result, `A[j, j, ...] -= r`, until Python stores it back into A[j, j]
# (the element the recorded operation wrote: that store loses nothing), per thread
_STORE_BACK = threading.local()
# forward mode's handler of a scalar operation (blasad._forward.scalar_op, which imports this
# module): the native calls answer -7 in forward mode when they leave the operation to it (Python's
# Forward exists for the run, a batch, an operand they do not read: csrc/fast.c fw_scalar)
FORWARD: list[Any] = []
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


_base: list[Any] = []
if lib.ba_scalar_base(id(_base)):
    raise ImportError("blasad: the native core could not create the active scalars' type")


_ScalarBase: Any = _base[0]  # blasad._native.ScalarBase: the field `_a` and the arithmetic


class Scalar(_ScalarBase):  # type: ignore[misc]
    """An active scalar: a 0-d buffer (``ba.Scalar(np.array(2.0))`` wraps one, no copy) whose
    arithmetic is recorded on the tape; see the module's documentation for the rules."""

    if TYPE_CHECKING:
        __slots__ = ("_a",)  # (the native base's field)
    else:
        __slots__ = ()
    __hash__ = None  # type: ignore[assignment]  # a buffer, as a 0-d ndarray

    _a: np.ndarray

    def __init__(self, a: np.ndarray | Scalar) -> None:
        if isinstance(a, Scalar):
            a = a._a
        if not isinstance(a, np.ndarray) or a.ndim != 0 or a.dtype not in DTYPE_CODES:
            raise TypeError(
                "Scalar(a): a must be a 0-d NumPy array of dtype float32, float64, complex64 or "
                f"complex128 (its buffer), got {_describe(a)}"
            )
        self._a = a if type(a) is np.ndarray else a.view(np.ndarray)

    # -- what it is ------------------------------------------------------------------
    @property
    def dtype(self) -> np.dtype[Any]:
        return self._a.dtype

    shape: tuple[int, ...] = ()
    ndim = 0
    size = 1

    @property
    def buffer(self) -> np.ndarray:
        """The 0-d array holding the value (tracked by the tape: pass it to tape.watch/grad)."""
        return self._a

    def __reduce__(self) -> tuple[Any, ...]:
        """copy and pickle: a Scalar over a copy of the buffer (a constant: it is recorded nowhere)."""
        return (Scalar, (np.array(self._a, copy=True),))

    def __repr__(self) -> str:
        dtype = "" if self._a.dtype == np.float64 else f", dtype={self._a.dtype}"
        return f"Scalar({self._a[()]!s}{dtype})"

    def __str__(self) -> str:
        return str(self._a[()])

    def __format__(self, spec: str) -> str:
        return format(self._a[()], spec)

    # -- arithmetic: recorded --------------------------------------------------------
    # + - * / ** (and reflected), unary - + and abs() are the native base's number slots, and
    # __array_ufunc__ its method (csrc/fast.c): no Python runs for them (out= and the ufuncs that
    # are not ops go to _ufunc_slow). Their signatures, for type checkers:
    if TYPE_CHECKING:

        def __add__(self, other: Any) -> Any: ...
        def __radd__(self, other: Any) -> Any: ...
        def __sub__(self, other: Any) -> Any: ...
        def __rsub__(self, other: Any) -> Any: ...
        def __mul__(self, other: Any) -> Any: ...
        def __rmul__(self, other: Any) -> Any: ...
        def __truediv__(self, other: Any) -> Any: ...
        def __rtruediv__(self, other: Any) -> Any: ...
        def __pow__(self, other: Any) -> Any: ...
        def __rpow__(self, other: Any) -> Any: ...
        def __neg__(self) -> Any: ...
        def __pos__(self) -> Any: ...
        def __abs__(self) -> Any: ...
        def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any: ...

    def conj(self) -> Any:
        return apply(_CONJ, self)

    conjugate = conj

    @property
    def real(self) -> Any:
        return apply(_REAL, self)

    @property
    def imag(self) -> Any:
        return apply(_IMAG, self)

    # -- comparisons: plain (piecewise constant) ---------------------------------------
    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return self._a[()] == _value(other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return self._a[()] != _value(other)

    def __lt__(self, other: Any) -> Any:
        return self._a[()] < _value(other)

    def __le__(self, other: Any) -> Any:
        return self._a[()] <= _value(other)

    def __gt__(self, other: Any) -> Any:
        return self._a[()] > _value(other)

    def __ge__(self, other: Any) -> Any:
        return self._a[()] >= _value(other)

    def __bool__(self) -> bool:
        return bool(self._a)

    def __round__(self, ndigits: int | None = None) -> Any:
        return round(self._a[()], ndigits)  # type: ignore[call-overload]

    def __floor__(self) -> int:
        return int(np.floor(self._a[()]))

    def __ceil__(self) -> int:
        return int(np.ceil(self._a[()]))

    def __trunc__(self) -> int:
        return int(np.trunc(self._a[()]))

    # -- conversions to plain numbers: the gradient stops here ---------------------------
    def __float__(self) -> float:
        lost(self, "float() (or a NumPy store such as A[j, j] = r, which calls it)")
        return float(self._a)

    def __complex__(self) -> complex:
        lost(self, "complex()")
        return complex(self._a[()])

    def __int__(self) -> int:
        lost(self, "int()")
        return int(self._a)

    def item(self) -> Any:
        lost(self, ".item()")
        return self._a.item()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if getattr(_STORE_BACK, "result", None) is self:  # `A[j, j, ...] -= r`'s store of its result
            _STORE_BACK.result = None  # into the element the operator wrote (recorded): no loss
        else:
            lost(self, "conversion to a NumPy array (np.asarray, a NumPy store such as A[j, j] = r)")
        if copy or (dtype is not None and np.dtype(dtype) != self._a.dtype):
            return np.array(self._a, dtype=dtype, copy=True)
        return self._a


def _describe(v: Any) -> str:
    return f"{v.dtype} array of shape {v.shape}" if isinstance(v, np.ndarray) else type(v).__name__


def _value(v: Any) -> Any:
    """v as a plain value (a Scalar's NumPy scalar)."""
    return v._a[()] if type(v) is Scalar else v


def wrap(a: np.ndarray) -> Scalar:
    """A Scalar over the 0-d array a (no checks: a is a 0-d array of a float dtype)."""
    s = object.__new__(Scalar)
    s._a = a
    return s


def lost(s: Scalar, what: str) -> None:
    """Warn (raise, under check=True) when s is active on the recording tape: `what` turns it
    into a plain number, and its gradient stops there."""
    tape = thread_local.tape
    forward = thread_local.forward
    if forward is not None and forward.tangent(s._a) is not None:
        warnings.warn(
            f"{what} turned a scalar with a tangent into a plain number in forward mode: "
            "no tangent flows through it",
            GradientLostWarning,
            stacklevel=3,
        )
        return
    if tape is None or not tape._regions.bar(s._a):
        return
    msg = (
        f"{what} turned an active scalar into a plain number inside a recording: no gradient flows "
        "through it. Keep it a blasad.Scalar (its arithmetic and np.sqrt & co. are recorded; store "
        "it with out=, e.g. np.sqrt(r, out=A[j, j, ...])), or compute it outside the tape if it is "
        "meant to be a constant"
    )
    if tape._check:
        raise GradientLostWarning(msg)
    level, f = 1, sys._getframe()
    while f is not None and _in_blasad(f):  # the user's line
        f = f.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(msg, GradientLostWarning, stacklevel=level)


def _in_blasad(frame: Any) -> bool:
    """A frame of blasad's code: a file of the package, or a function it generated with exec
    (the routines, the twins), whose globals name a blasad module."""
    name = frame.f_globals.get("__name__", "")
    in_package = frame.f_code.co_filename.startswith(_PACKAGE)
    return bool(in_package or name == "blasad" or name.startswith("blasad."))


def _numpy(ufunc: np.ufunc, method: str, inputs: Any, kwargs: dict[str, Any], lose: bool) -> Any:
    """The ufunc on plain values: what NumPy does with Scalars replaced by their buffers
    (warning, when lose, for every active one: its gradient stops here)."""
    for v in (*inputs, *(kwargs.get("out") or ())):
        if lose and type(v) is Scalar:
            lost(v, f"np.{ufunc.__name__} (an operation blasad does not record on an active scalar)")
    inputs = tuple(v._a if type(v) is Scalar else v for v in inputs)
    if "out" in kwargs:
        kwargs["out"] = tuple(v._a if type(v) is Scalar else v for v in kwargs["out"])
    return getattr(ufunc, method)(*inputs, **kwargs)


def buffer_as(s: Scalar, dtype: np.dtype[Any]) -> np.ndarray | None:
    """s's value as a 0-d buffer of dtype, differentiable: s's own buffer when it has that dtype,
    else a recorded cast into a new one (a real ‖z‖ as α of a complex routine, a float64 scale for
    sscal); None when NumPy would not cast it same-kind (complex into real)."""
    if s.dtype == dtype:
        return s._a
    if not np.can_cast(s.dtype, dtype, "same_kind"):
        return None
    cast = np.empty((), dtype)
    np.positive(s, out=cast)  # recorded: the cast's adjoint reaches s
    return cast


def result_buffer(dtype: np.dtype[Any]) -> np.ndarray:
    """A reduction's result buffer: while a tape records, a 0-d array over a fresh slot of its
    scalar pool (tracked already, so the call needs no new region; a used-up pool gets a new chunk
    natively, csrc/fast.c pool_grow); else a new 0-d array."""
    if thread_local.forward is not None:  # forward mode once Python's Forward exists (before: C covers it)
        a = np.zeros((), dtype)
        thread_local.forward.cover(a)
        return a
    a = _slot(DTYPE_CODES[dtype])
    return np.zeros((), dtype) if a is None else a


def apply(op: int, x: Any, y: Any = None, out: np.ndarray | None = None) -> Any:
    """z ← op(x, y) (y None for a unary op), recorded when an operand is active; into out (a
    0-d array) when given, returned as a Scalar; else a new Scalar, or a NumPy scalar when
    nothing is recorded."""
    z = _op(op, x, y, out, -1)  # a Scalar, a NumPy scalar (nothing recorded), or a status (an int)
    return _apply_slow(op, x, y, out, z) if type(z) is int else z


def _apply_slow(op: int, x: Any, y: Any, out: np.ndarray | None, rc: int, dtype: int = -1) -> Any:
    """apply, once the native call returned the status rc (see scalar_call in csrc/fast.c)."""
    if rc == -7:  # forward mode
        return FORWARD[0](op, x, y, out)
    args = (x,) if y is None else (x, y)
    tape = thread_local.tape
    for _ in range(4):  # each cause below is handled once, then the call is made again
        if rc == -2:  # nothing recording, into out: NumPy's operation
            assert out is not None
            _REFERENCE[op](*(_value(v) for v in args), out=out)
            return wrap(out)
        if rc == -1:
            raise MemoryError("blasad: out of memory while recording a scalar operation; nothing was written")
        if rc == -3 and dtype < 0:
            return _convert_and_apply(op, args, out)
        if rc == -3:  # an array of a dtype the native call does not read (a subclass, say)
            reference = _REFERENCE[op]
            ufunc = reference if isinstance(reference, np.ufunc) else np.positive
            return _numpy(ufunc, "__call__", args, {} if out is None else {"out": (out,)}, lose=True)
        assert tape is not None, f"status {rc} comes only from a recording"
        if rc == -5:
            assert out is not None
            tape._regions.ensure(out)
        elif rc == -6:
            for v in (*args, out):  # the lookup raises the error naming the problem
                if isinstance(v, Scalar | np.ndarray):
                    tape._regions.bar(v._a if isinstance(v, Scalar) else v)
            raise AssertionError("unreachable")
        z = _op(op, x, y, out, dtype)
        if type(z) is not int:
            return z
        rc = z
    raise RuntimeError(f"blasad: a scalar operation failed in the native core (code {rc})")


def _convert_and_apply(op: int, args: tuple[Any, ...], out: np.ndarray | None) -> Any:
    """Operands the native call does not read: NumPy scalars other than float64/complex128,
    bools, ints beyond 2⁵³, 0-d arrays of other dtypes (constants, given as Python numbers with
    NumPy's result dtype), or something that is not a scalar at all (NumPy's operation, and a
    warning for each active operand)."""
    reference = _REFERENCE[op]
    plain = tuple(v._a if type(v) is Scalar else v for v in args)
    scalar_like = all(
        isinstance(v, int | float | complex | np.generic) or (isinstance(v, np.ndarray) and v.ndim == 0)
        for v in plain
    )
    if not all(isinstance(v, int | float | complex | np.generic | np.ndarray | list | tuple) for v in plain):
        return NotImplemented  # another type's operator may know (its __radd__, ...)
    if not scalar_like or (out is not None and not isinstance(out, np.ndarray)):
        ufunc = reference if isinstance(reference, np.ufunc) else np.positive
        return _numpy(ufunc, "__call__", args, {} if out is None else {"out": (out,)}, lose=True)
    want = np.asarray(reference(*plain)).dtype  # NumPy's result dtype (and its errors: hypot of complex)
    if want not in DTYPE_CODES:
        raise TypeError(f"a scalar operation with result dtype {want}; blasad records float and complex only")
    if out is not None:
        reference(*plain, out=np.empty((), out.dtype))  # NumPy's casting error, before anything is written
    converted = tuple(
        v
        if type(v) is Scalar or (type(v) is np.ndarray and v.dtype in DTYPE_CODES)
        else (complex(v) if np.iscomplexobj(v) else float(v))
        for v in args
    )
    x, y = converted if len(converted) == 2 else (converted[0], None)
    code = DTYPE_CODES[want]
    z = _op(op, x, y, out, code)
    return _apply_slow(op, x, y, out, z, code) if type(z) is int else z


def _ufunc_slow(self: Scalar, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    """Scalar.__array_ufunc__ for what the native one does not do itself: out= (recorded into a
    0-d array, returned as a Scalar over it), and every other ufunc or method (NumPy's, with a
    warning for each active operand unless the ufunc is piecewise constant)."""
    op = _UFUNCS.get(ufunc)
    out = kwargs.get("out")
    if op is not None and method == "__call__" and kwargs.keys() <= {"out"}:
        if out is not None:
            out = out[0] if isinstance(out, tuple) and len(out) == 1 else out
            out = out._a if isinstance(out, Scalar) else out
        if out is None or (isinstance(out, np.ndarray) and out.ndim == 0):
            result = apply(op, inputs[0], inputs[1] if len(inputs) > 1 else None, out)
            if out is not None and inputs[0] is out:  # an in-place operator, `A[j, j, ...] -= r`:
                _STORE_BACK.result = result  # Python stores the result back where it already is
            return result
    return _numpy(ufunc, method, inputs, kwargs, lose=ufunc not in _PIECEWISE)


def _from_c(op: int, x: Any, y: Any, rc: int) -> Any:
    """The native number slots' slow path: what scalar_call (csrc/fast.c) left to Python, its
    status rc."""
    return _apply_slow(op, x, y, None, rc)


_box: list[Any] = [_from_c, _ufunc_slow]
if lib.ba_scalar_init(
    id(Scalar), id(np.dtype(np.complex64)), id(np.dtype(np.complex128)), id(np.complex128), id(_box)
):
    raise ImportError("blasad: the native core could not set up active scalars (NumPy's C API)")
_, _, _op, _slot, _shadow = _box
_tape_module.SHADOW.append(_shadow)  # (blasad._tape cannot import this module)
for _ufunc, _index in _UFUNCS.items():
    lib.ba_scalar_ufunc(id(_ufunc), _index)
