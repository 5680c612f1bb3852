"""One declarative spec per routine, and the one validator they drive.

A spec lists the routine's arguments in signature (BLAS) order with their kinds and
symbolic dims, the flags, what it writes, what its adjoint reads, and a NumPy
reference of the forward formula (used by the tests and the docs).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DTYPE_CODES: dict[np.dtype[Any], int] = {
    np.dtype(np.float32): 0,
    np.dtype(np.float64): 1,
    np.dtype(np.complex64): 2,
    np.dtype(np.complex128): 3,
}
PREFIX: dict[np.dtype[Any], str] = dict(zip(DTYPE_CODES, "sdcz"))
TRANS = ("N", "T", "C")


@dataclass(frozen=True)
class Arg:
    """One argument. dims are those of op(X) for a matrix with a trans flag."""

    name: str
    kind: str  # "scalar", "vector", "matrix" or "flag"
    dims: tuple[str, ...] = ()
    trans: str | None = None  # the flag applied to this matrix
    out: bool = False  # written by the routine (None allocates it; a scalar output is a 0-d array)
    choices: tuple[str, ...] = ()  # flag values
    inout: bool = False  # read and then written in place (required)
    real: bool = False  # of the real dtype of a complex routine (nrm2's result, rot's c)
    structure: str = "general"  # matrices: general, symmetric, hermitian, triangular
    # how a structured matrix is stored: "dense" (an n × n array), "packed" (a vector of its
    # uplo triangle, n(n+1)/2 long) or "band" (a (k+1) × n array of its diagonals)
    storage: str = "dense"
    choices_complex: tuple[str, ...] = ()  # flags: the values for complex dtypes, when fewer
    # vectors: entries that take one of a few values and are not differentiated, as
    # (index, values) pairs (rotm's param[0], the flag, is one of -2, -1, 0, 1)
    discrete: tuple[tuple[int, tuple[float, ...]], ...] = ()

    def flag_choices(self, dtype: Any) -> tuple[str, ...]:
        """The values a flag takes for arrays of dtype (syrk: no "C" for complex)."""
        return self.choices_complex if self.choices_complex and np.dtype(dtype).kind == "c" else self.choices


@dataclass(frozen=True)
class Spec:
    name: str
    formula: str
    args: tuple[Arg, ...]
    reference: Callable[..., np.ndarray]  # new value of the output, from the inputs
    adjoint: tuple[str, ...]  # the rules, as documentation
    saves: str  # which primal values the reverse sweep reads
    dtypes: str = "sdcz"  # the BLAS precisions it exists in: s, d, c, z
    # dims that follow from the others and the flags, as Python expressions over them
    # (packed storage: ("npk", "n * (n + 1) // 2"); symm: ("ka", "m if side == 'L' else n"))
    derived: tuple[tuple[str, str], ...] = ()
    # dims the public function takes as keyword arguments (gbmv's m, kl, ku); the reference
    # takes them as keyword arguments too
    keywords: tuple[str, ...] = ()
    # the written argument's adjoint is c × its seed, c = ∂out_new/∂out_old a scalar of the call
    # (β for gemm; 1 for axpy; 0 for copy and the reductions, whose old output is not read)
    seed_scaled: bool = False
    by_name: dict[str, Arg] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {a.name: a for a in self.args})

    @property
    def output(self) -> Arg:
        """The (first) argument the routine writes."""
        return next(a for a in self.args if a.out or a.inout)

    @property
    def written(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if a.out or a.inout)

    @property
    def free_dims(self) -> tuple[str, ...]:
        """The dims a call chooses: those of the arguments that are not derived, then those
        only the derived ones name (gbmv's kl, ku)."""
        derived = dict(self.derived)
        flags = {a.name for a in self.args if a.kind == "flag"}
        names = [s for a in self.args for s in a.dims if s not in derived]
        for expr in derived.values():
            names += [n for n in compile(expr, "<dim>", "eval").co_names if n not in flags]
        return tuple(dict.fromkeys(names))

    def flips(self, a: Arg) -> bool:
        """Whether a is a general matrix read through an N/T/C flag of its own: stored in the
        other CBLAS order than the call's, BLAS reads it as its transpose with the flag's
        transpose bit flipped (gemm's A and B, gemv's A), so it needs no staging copy."""
        if a.kind != "matrix" or a.structure != "general" or a.storage != "dense" or a.out or a.inout:
            return False
        flag = self.by_name.get(a.trans or "")
        return (
            flag is not None
            and flag.choices == TRANS
            and not flag.choices_complex
            and sum(b.trans == a.trans for b in self.args) == 1
        )

    def dims_for(self, free: dict[str, int], flags: dict[str, str]) -> dict[str, int]:
        """Every dim, from the free ones and the flags (the derived ones evaluated in order)."""
        dims = dict(free)
        for sym, expr in self.derived:
            dims[sym] = int(eval(expr, {"__builtins__": {}}, {**flags, **dims}))
        return dims


def op(X: np.ndarray, flag: str) -> np.ndarray:
    """op(X) for a flag N, T or C."""
    return X if flag == "N" else X.T.conj() if flag == "C" else X.T


SPECS: dict[str, Spec] = {}  # every routine's spec, by name (filled by the level modules)


_NDIM = {"vector": 1, "matrix": 2}


def real_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """float32 for complex64, float64 for complex128, dtype itself for real ones."""
    return np.dtype(dtype.char.lower()) if dtype.kind == "c" else dtype


_KIND_WORD = {"vector": "1-D (a vector)", "matrix": "2-D (a matrix)"}


def _label(a: Arg, flags: dict[str, str]) -> str:
    return f"op({a.name})" if a.trans and flags[a.trans] != "N" else a.name


def validate(spec: Spec, values: tuple[Any, ...]) -> tuple[np.dtype[Any], dict[str, int], list[Any]]:
    """Check every argument of a call against its spec before anything is written.

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
        elif a.kind in _NDIM and not (a.out and v is None):
            if not isinstance(v, np.ndarray):
                raise TypeError(f"{name}: {a.name} must be a NumPy array, got {type(v).__name__}")
            if v.dtype not in DTYPE_CODES:
                raise TypeError(
                    f"{name}: {a.name} has dtype {v.dtype}; expected float32, float64, complex64 "
                    "or complex128"
                )
            if dtype is None:
                dtype, first = v.dtype, a.name
            elif v.dtype != dtype:
                raise TypeError(f"{name}: mixed dtypes: {a.name} is {v.dtype} but {first} is {dtype}")
            if v.ndim != _NDIM[a.kind]:
                raise ValueError(f"{name}: {a.name} must be {_KIND_WORD[a.kind]}, got a {v.ndim}-D array")
            if any(s % v.itemsize for s in v.strides):
                raise ValueError(
                    f"{name}: {a.name} has strides {v.strides} that are not multiples of its itemsize"
                )
    assert dtype is not None, "every spec has an array input"
    if PREFIX[dtype] not in spec.dtypes:
        names = ", ".join(str(d) for d, p in PREFIX.items() if p in spec.dtypes)
        kind = {"sd": "real dtypes only", "cz": "complex dtypes only"}.get(spec.dtypes, "dtypes")
        raise TypeError(f"{name}: {kind} ({names}), got {dtype} arrays")

    dims: dict[str, int] = {}
    source: dict[str, str] = {}
    for i, a in enumerate(spec.args):
        v = vals[i]
        if a.kind not in _NDIM or v is None:
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

    for i, a in enumerate(spec.args):
        v = vals[i]
        if a.kind != "scalar" or (a.out and v is None):
            continue
        want = real_dtype(dtype) if a.real else dtype
        if isinstance(v, np.ndarray):
            if v.ndim != 0:
                raise ValueError(f"{name}: {a.name} must be a number or a 0-d array, got a {v.ndim}-D array")
            if v.dtype != want:
                raise TypeError(f"{name}: {a.name} is a 0-d array of dtype {v.dtype}; expected {want}")
        elif a.out:
            raise TypeError(
                f"{name}: {a.name} must be a 0-d {want} array (it is written), got {type(v).__name__}"
            )
        elif isinstance(v, bool) or not isinstance(v, numbers.Real if want.kind == "f" else numbers.Complex):
            kind = "real" if want.kind == "f" else "complex"
            raise TypeError(
                f"{name}: {a.name} must be a {kind} number or a 0-d {want} array, got {type(v).__name__}"
            )

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
        if out.size > 1 and any(s == 0 and n > 1 for s, n in zip(out.strides, out.shape)):
            raise ValueError(f"{name}: {out_arg.name} has a zero stride, so its elements overlap")
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
            vals[out_i] = np.zeros(tuple(dims[s] for s in a.dims), real_dtype(dtype) if a.real else dtype)
    return dtype, dims, vals
