"""f = get_blas_funcs(name, arrays): the twin functions, made from the table, and SciPy's lookups.

Each row of :data:`FAMILIES` gives one function per prefix blasad supports, with SciPy's name,
signature, defaults and attributes (``typecode``, ``dtype``, ...); ``get_blas_funcs`` and
``find_best_blas_type`` pick prefixes by SciPy's rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, Protocol, overload

import numpy as np

import blasad as ba
from blasad.linalg.blas.call import run
from blasad.linalg.blas.table import FAMILIES
from blasad.linalg.blas.vocabulary import (
    REQUIRED,
    Array,
    Family,
    Flag,
    Result,
    Scalar,
    Source,
    parameter_list,
)
from blasad.specs import DTYPE_CODES, real_dtype

# SciPy's prefix rules (scipy.linalg.blas.find_best_blas_type and _blas_alias).
_TYPE_SCORE = {c: 1 for c in "?bBhHef"} | {c: 2 for c in "iIlLqQdg"} | {"F": 3, "D": 4, "G": 4}
_TYPE_CONV: dict[int, tuple[str, np.dtype[Any]]] = {
    i: (p, np.dtype(t)) for i, p, t in ((1, "s", "f4"), (2, "d", "f8"), (3, "c", "c8"), (4, "z", "c16"))
}
_PREFIX_DTYPE: dict[str, np.dtype[Any]] = {p: dt for p, dt in _TYPE_CONV.values()}
ALIASES = {"cnrm2": "scnrm2", "znrm2": "dznrm2", "cdot": "cdotc", "zdot": "zdotc", "cger": "cgerc",
          "zger": "zgerc", "sdotc": "sdot", "sdotu": "sdot", "ddotc": "ddot", "ddotu": "ddot"}  # fmt: skip


class BlasFunction(Protocol):
    """A twin routine, with the attributes SciPy's get_blas_funcs sets on its functions."""

    __name__: str
    typecode: str
    prefix: str
    dtype: np.dtype[Any]
    int_dtype: np.dtype[Any]
    module_name: str
    family: Family

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...


# -- the twin functions ------------------------------------------------------------------------


def _default(src: Source | None, default: Any, dtype: np.dtype[Any]) -> Any:
    """SciPy shows scalar defaults in the routine's type: beta=0.0 for d, 0j for z."""
    if isinstance(src, Scalar) and default is not REQUIRED and default is not None:
        return (real_dtype(dtype) if src.real else dtype).type(default).item()
    return default


def _doc(fam: Family, prefix: str, fn: str, call: str) -> str:
    spec, dtype = fam.spec, _PREFIX_DTYPE[prefix]
    how = "differentiable" if fam.routine in ba.SPECS else "not differentiable"
    lines = [
        f"{spec.formula}  ({dtype} twin of scipy.linalg.blas.{fn}, {how}).",
        "",
        f"    {call}",
        "",
        f"SciPy's parameters, defaults, results and overwrite rules; computed by blasad.{fam.routine},",
        "so the call is recorded under ba.Tape / ba.autodiff. Arguments (scipy → blasad):",
        "",
    ]
    for arg in spec.args:
        src = fam.args[arg.name]
        if isinstance(src, Scalar):
            what = f"scalar; a 0-d {dtype} array is differentiable"
        elif isinstance(src, Flag):
            what = ", ".join(f"{i} = {v!r}" for i, v in enumerate(src.values))
        elif isinstance(src, Array):
            what = arg.kind + (f" {src.param}[{src.off}::{src.inc}]" if src.off else "")
        elif isinstance(src, Result):
            shape = "a 0-d" if arg.kind == "scalar" else f"a {arg.kind} of"
            of = real_dtype(dtype) if arg.real else dtype
            lines.append(f"    returned: {arg.name}, {shape} {of} array")
            continue
        else:
            what = (
                f"returned; {arg.kind}"
                + (f" {src.param}[{src.off}::{src.inc}]" if src.off else "")
                + (
                    f"; written in place only if {src.overwrite} is nonzero"
                    if src.overwrite
                    else "; written in place when it can be"
                )
                + f" and {src.param} is a writeable Fortran-contiguous {dtype} array, else a new array"
            )
        lines.append(f"    {src.param} → {arg.name}: {what}")
    if fam.count:
        rule = (
            "(len(x) - offx) // abs(incx)"
            if fam.count_rule == "floor"
            else "(len(x) - 1 - offx) // abs(incx) + 1"
        )
        lines.append(f"    {fam.count}: number of elements (default {rule})")
    return "\n".join(lines) + "\n"


def _make(fam: Family, prefix: str) -> BlasFunction:
    dtype = _PREFIX_DTYPE[prefix]
    fn = fam.names.get(prefix) or ALIASES.get(prefix + fam.name, prefix + fam.name)
    params = [(p, _default(next((s for s in fam.args.values() if s.param == p), None), d, dtype))
              for p, d in fam.params]  # fmt: skip
    names = ", ".join(p for p, _ in params)
    namespace: dict[str, Any] = {"_run": partial(run, fam, dtype, fn), "__name__": __name__}
    exec(f"def {fn}({parameter_list(params)}):\n    return _run(({names},))\n", namespace)
    f = namespace[fn]
    f.__module__ = __name__.rpartition(".")[0]  # blasad.linalg.blas, where the twins live
    f.__qualname__ = fn
    f.__doc__ = _doc(fam, prefix, fn, fam.scipy_call(fn, params))
    f.typecode = f.prefix = prefix
    f.dtype = dtype
    f.int_dtype = np.dtype(np.intc)
    f.module_name = "blasad"
    f.family = fam
    return f  # type: ignore[no-any-return]


SUPPORTED_PREFIXES = "".join(p for p, dt in _PREFIX_DTYPE.items() if dt in DTYPE_CODES)
TWINS: dict[str, BlasFunction] = {}
for _fam in FAMILIES.values():
    for _p in _fam.prefixes:
        if (
            _p in SUPPORTED_PREFIXES
            and (_fam.routine in ba.SPECS or _fam.routine_spec is not None)
            and _p in getattr(_fam.spec, "dtypes", "sdcz")
        ):
            _f = _make(_fam, _p)
            TWINS[_f.__name__] = _f


def find_best_blas_type(
    arrays: Sequence[np.ndarray] = (), dtype: Any = None
) -> tuple[str, np.dtype[Any], bool]:
    """prefix, dtype = the most generic of the arrays' types (SciPy's rules); (prefix, dtype, prefer_fortran).

    Mirrors scipy.linalg.blas.find_best_blas_type: float32 and smaller -> 's', integers and
    float64 -> 'd', complex64 -> 'c' (but 'z' when mixed with float64), complex128 -> 'z'.
    """
    dt = np.dtype(dtype)
    max_score = _TYPE_SCORE.get(dt.char, 5)
    prefer_fortran = False
    if arrays:
        if len(arrays) == 1:
            max_score = _TYPE_SCORE.get(arrays[0].dtype.char, 5)
            prefer_fortran = bool(arrays[0].flags["FORTRAN"])
        else:
            scores = [_TYPE_SCORE.get(x.dtype.char, 5) for x in arrays]
            max_score = max(scores)
            lead = scores.index(max_score)
            if max_score == 3 and 2 in scores:  # float64 with complex64 -> complex128
                max_score = 4
            if arrays[lead].flags["FORTRAN"]:
                prefer_fortran = True
    prefix, best = _TYPE_CONV.get(max_score, ("d", np.dtype(np.float64)))
    return prefix, best, prefer_fortran


@overload
def get_blas_funcs(  # type: ignore[overload-overlap]
    names: str, arrays: Sequence[np.ndarray] = ..., dtype: Any = ..., ilp64: bool | str = ...
) -> BlasFunction: ...
@overload
def get_blas_funcs(
    names: Sequence[str], arrays: Sequence[np.ndarray] = ..., dtype: Any = ..., ilp64: bool | str = ...
) -> list[BlasFunction]: ...
def get_blas_funcs(
    names: str | Sequence[str],
    arrays: Sequence[np.ndarray] = (),
    dtype: Any = None,
    ilp64: bool | str = False,
) -> BlasFunction | list[BlasFunction]:
    """f = prefix + name, prefix from the arrays' (or dtype's) type: blasad's twins, by SciPy's rules.

    Mirrors scipy.linalg.blas.get_blas_funcs: a str gives one function, a sequence a list;
    the prefix is find_best_blas_type(arrays, dtype)[0]; SciPy's aliases apply (dotc of a
    real type is dot, nrm2 of complex64 is scnrm2). Each function has .typecode, .prefix,
    .dtype and .int_dtype like SciPy's. A name blasad does not support raises ValueError.
    """
    if isinstance(ilp64, str):
        if ilp64 != "preferred":
            raise ValueError("Invalid value for 'ilp64'")
        ilp64 = True  # blasad calls ILP64 OpenBLAS
    unpack = isinstance(names, str)
    prefix, _, _ = find_best_blas_type(arrays, dtype)
    funcs: list[BlasFunction] = []
    for name in [names] if isinstance(names, str) else names:
        fn = ALIASES.get(prefix + name, prefix + name)
        f = TWINS.get(fn)
        if f is None:
            raise ValueError(
                f"BLAS function {fn} could not be found (blasad.linalg.blas has {', '.join(sorted(TWINS))})"
            )
        f.int_dtype = np.dtype(np.int64 if ilp64 else np.intc)
        funcs.append(f)
    return funcs[0] if unpack else funcs
