"""The public routines, made from the spec table: one function per spec, and iamax.

Each function has the routine's BLAS signature (the spec's arguments in order, their defaults
from ``Spec.defaults``, the spec's keyword dims keyword-only), its docstring (``Spec.doc``) and
type hints from the argument kinds. Its body is the same for every routine: for a routine in
the C fast path's table, one native call (``ba_fast_call``) that validates, lowers and records
the common calls on the tape recording on this thread; anything that call does not take in
full comes back untouched and goes through ``_lowering.run`` (the spec's ``prepare``, the
validator, staging copies). An array output left None (``x = ba.gemm(1.0, W, x)``) is made by
that native call too (``fast_new``: the array, its shadow or its tangent), unless it turns the
call down: then it is allocated here before the usual call. It returns the arguments the routine
writes (one, or a pair).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from blasad import _lowering
from blasad._lowering import INFO, Call, allocate, failed, fast_new, give_shadows, out_of_memory, run
from blasad._native_loader import lib
from blasad._scalar import Scalar, result_buffer, wrap
from blasad._tape import address
from blasad.specs import DTYPE_CODES, ROUTINES, Arg, Spec, real_dtype

_SCALAR = "float | complex | np.ndarray | Scalar"
_REAL_SCALAR = "float | np.ndarray | Scalar"


def _annotation(spec: Spec, a: Arg) -> str:
    if a.kind == "flag":
        return "str"
    if a.kind == "pivots" and spec.defaults.get(a.name, 0) is None:
        return "np.ndarray | None"
    if a.kind == "scalar" and not (a.out or a.inout):
        return _REAL_SCALAR if a.real or spec.dtypes in ("s", "d", "sd") else _SCALAR
    return "np.ndarray | None" if spec.defaults.get(a.name, 0) is None else "np.ndarray"


def _result(a: Arg) -> str:
    return "Scalar" if a.kind == "scalar" else "np.ndarray"


def _def_line(spec: Spec, default: Callable[[str], str]) -> str:
    """`def name(params) -> annotation:` with each default written as default(name)."""
    params = [
        f"{a.name}: {_annotation(spec, a)}" + (f" = {default(a.name)}" if a.name in spec.defaults else "")
        for a in spec.args
    ]
    if spec.keywords:
        params += ["*", *(f"{k}: int" for k in spec.keywords if k not in spec.defaults)]
        params += [f"{k}: int | None = {default(k)}" for k in spec.keywords if k in spec.defaults]
    written = [_result(a) for a in spec.args if a.out or a.inout]
    annotation = written[0] if len(written) == 1 else f"tuple[{', '.join(written)}]"
    return f"def {spec.name}({', '.join(params)}) -> {annotation}:"


def signatures() -> str:
    """blasad/_signatures.pyi: the public functions' signatures, for type checkers (blasad's
    __init__ imports it only under TYPE_CHECKING); a committed document of tools/gen."""
    lines = [
        '"""Generated from the spec table by tools/generate.py: do not edit."""',
        "",
        "import numpy as np",
        "",
        "from blasad._scalar import Scalar",
        "",
    ]
    lines += [_def_line(spec, lambda name: "...") + " ..." for spec in ROUTINES]
    return "\n".join(lines) + "\n"


def source(spec: Spec) -> str:
    """The Python source of spec's public function (what `function` executes)."""
    names = [a.name for a in spec.args]
    written = [a.name for a in spec.args if a.out or a.inout]
    # a written scalar comes back as an active scalar (blasad.Scalar) over its 0-d buffer
    results = [f"_wrap({a.name})" if a.kind == "scalar" else a.name for a in spec.args if a.out or a.inout]
    returns = results[0] if len(results) == 1 else f"({', '.join(results)})"
    lines = [_def_line(spec, lambda name: f"_defaults[{name!r}]")]
    rid = int(lib.ba_fast_routine(spec.name.encode()))
    first = next((a.name for a in spec.args if a.kind in ("vector", "matrix")), None)
    if first is None:  # scalars only (rotg): the dtype of the first one updated in place
        first = next((a.name for a in spec.args if a.kind == "scalar" and a.inout and not a.real), None)
    zero_d = f" and {first}.ndim == 0" if first and spec.by_name[first].kind == "scalar" else ""
    fresh = [  # a reduction's result (rotg's c, s) left None: a 0-d array, as the validator makes it
        a.name
        for a in spec.args
        if rid >= 0 and first and a.kind == "scalar" and a.out and spec.defaults.get(a.name, 0) is None
    ]
    real = {a.name for a in spec.args if a.real}  # nrm2's result: the real dtype of a complex call
    result_dtype = {n: f"_real_dtype({first}.dtype)" if n in real else f"{first}.dtype" for n in fresh}
    lines += _native_allocations(spec, rid, names)
    for name in fresh:
        lines += [
            f"    fresh_{name} = None",
            f"    if {name} is None and type({first}) is _ndarray{zero_d} and {first}.dtype in _DTYPES:",
            f"        {name} = fresh_{name} = _zeros((), {result_dtype[name]})",
        ]
    lines += _allocations(spec, rid)
    lines += [f"    args = ({', '.join(names)},)", "    rc = 0  # not tried"]
    fast_args = "args"
    if rid >= 0 and spec.keywords:  # the fast path's tuple: the arguments, then the keyword dims
        fast_args = "fast_args"  # (a variable: the native call takes it by id)
        lines.append(f"    fast_args = ({', '.join([*names, *spec.keywords])},)")
    if rid >= 0:  # the fast path first; an output left None is the validating path's
        unset = "".join(f"{n} is not None and " for n in written if spec.defaults.get(n, 0) is None)
        writes = tuple(i for i, a in enumerate(spec.args) if a.out or a.inout)
        lines += [
            f"    if {unset}_lowering.FAST:",
            f"        rc = _fast_call({rid}, id({fast_args}))",
            "        if rc == 2:  # active, and an output has no shadow yet",
            *(
                [  # allocated here: a slot of the tape's scalar pool instead, tracked already (a
                    # new tracked region per result would cost microseconds)
                    f"            if {fresh[0]} is fresh_{fresh[0]}:",
                    f"                {fresh[0]} = _result_buffer({result_dtype[fresh[0]]})",
                    f"                args = ({', '.join(names)},)",
                    "            else:",
                    f"                _give_shadows(args, {writes})",
                ]
                if fresh and written == fresh
                else [f"            _give_shadows(args, {writes})"]
            ),
            f"            rc = _fast_call({rid}, id({fast_args}))",
            "        if rc == 0:",
            f"            return {returns}",
            "        if rc == -1:",
            f"            _out_of_memory({spec.name!r})",
        ]
        if spec.failure:  # LAPACK's info > 0: the call ran (and wrote what LAPACK leaves)
            lines += ["        if rc >= _INFO:", "            _failed(_spec, rc - _INFO)"]
    keywords = "{" + ", ".join(f"{k!r}: {k}" for k in spec.keywords) + "}"
    if spec.prepare is not None:  # routine-specific conversion of the arguments, by name
        lines += [
            "    given = args  # a written array comes back as given (prepare may view it as a matrix)",
            "    args = tuple(a._a if type(a) is Scalar else a for a in args)  # active scalars: buffers",
            f"    bound = dict(zip({tuple(names)!r}, args), **{keywords})",
            "    _spec.prepare(bound)",
            f"    args = tuple(bound[n] for n in {tuple(names)!r})",
            f"    keywords = {{k: bound[k] for k in {spec.keywords!r}}}",
        ]
    else:
        lines.append(f"    keywords = {keywords}")
    out = [
        f"_wrap(vals[{i}])"
        if a.kind == "scalar"
        else f"(given[{i}] if type(given[{i}]) is _ndarray else vals[{i}])"
        if spec.prepare is not None
        else f"vals[{i}]"
        for i, a in enumerate(spec.args)
        if a.out or a.inout
    ]
    # rc 1: the fast path turned it down; rc < -1: its rule refused the call before writing
    # anything (a LAPACK size rule the spec's prepare checks): the validating path names the problem
    lines.append("    vals = _run(_spec, args, keywords, rc == 1)")
    lines.append(f"    return {out[0] if len(out) == 1 else '(' + ', '.join(out) + ')'}")
    return "\n".join(lines) + "\n"


def _native_allocations(spec: Spec, rid: int, names: list[str]) -> list[str]:
    """A routine's vector and matrix outputs left None (``x = ba.gemm(1.0, W, x)``), or a reduction's
    result (``r = ba.dot(x, y)``): first one native call that allocates them (with their shadow on a
    recording tape, their tangent in forward mode; an active result: a slot of the tape's scalar
    pool) and runs the call (``fast_new``, csrc/fast.c): lines of source. What it does not take (an
    int scalar, a dim that only the output carries, an output forward mode's Python side must cover)
    goes on as before: the outputs allocated here (_allocations), the fast path, the validating one."""
    written = [a for a in spec.args if a.out or a.inout]
    if len(written) == 1 and written[0].kind == "scalar" and spec.defaults.get(written[0].name, 0) is None:
        unset = written if any(a.kind == "vector" for a in spec.args) else []  # (rotg: scalars only)
    else:
        unset = [
            a
            for a in spec.args
            if a.kind in ("vector", "matrix") and a.out and spec.defaults.get(a.name, 0) is None
        ]
    given = {d for a in spec.args if a.kind in ("vector", "matrix") and a not in unset for d in a.dims}
    bad = [a for a in unset if (a.real and a.kind != "scalar") or a.trans or not set(a.dims) <= given]
    if rid < 0 or not unset or bad:  # (a reduction's real result, nrm2's: fast_new makes it)
        return []  # (a dim the given arrays do not bind, LAPACK's min(m, n): the spec's allocate)
    results = [
        f"_wrap(vals[{i}])" if a.kind == "scalar" else f"vals[{i}]"
        for i, a in enumerate(spec.args)
        if a.out or a.inout
    ]
    values = ", ".join([*names, *spec.keywords])
    lines = [
        f"    if ({' or '.join(f'{a.name} is None' for a in unset)}) and _lowering.FAST:",
        f"        vals = _fast_new({rid}, ({values},))",
        "        if type(vals) is tuple:",
        f"            return {results[0] if len(results) == 1 else '(' + ', '.join(results) + ')'}",
        "        if vals == -1:",
        f"            _out_of_memory({spec.name!r})",
    ]
    if spec.failure:  # LAPACK's info > 0: the call ran
        lines += ["        if vals >= _INFO:", "            _failed(_spec, vals - _INFO)"]
    return lines


def _allocations(spec: Spec, rid: int) -> list[str]:
    """A routine's array outputs left None (``x = ba.gemm(1.0, W, x)``), allocated before the native
    call from the shapes of the arrays given, through op(X) for a transposed one, as the validator
    would allocate them on the slower path (so that the call runs fast): lines of source. A flag
    that is not a letter the routine takes leaves them None: the validator names it."""
    if rid < 0:
        return []
    unset = [
        a
        for a in spec.args
        if a.kind in ("vector", "matrix", "pivots") and a.out and spec.defaults.get(a.name, 0) is None
    ]
    given = [a for a in spec.args if a.kind in ("vector", "matrix") and a not in unset]
    if unset and not given:  # besides scalars, outputs of constant dims only (rotmg's param)
        return _constant_allocations(spec, unset)
    if not unset:
        return []
    dims: dict[str, str] = {}
    for a in given:
        for i, d in enumerate(a.dims):
            if a.trans:  # op(X)'s dim i: X's own dim i, or 1 - i when transposed
                dims.setdefault(d, f"{a.name}.shape[{i} if {a.trans} in _PLAIN else {1 - i}]")
            else:
                dims.setdefault(d, f"{a.name}.shape[{i}]")
    ndim = {"vector": 1, "matrix": 2}
    guard = " and ".join(f"type({a.name}) is _ndarray and {a.name}.ndim == {ndim[a.kind]}" for a in given)
    guard += f" and {given[0].name}.dtype in _DTYPES"  # (another dtype: the validator's error)
    trans = sorted({str(a.trans) for a in given if a.trans})
    guard += "".join(f" and type({t}) is str and {t} in _LETTERS" for t in trans)
    flags = ", ".join(f"{a.name!r}: {a.name}" for a in spec.args if a.kind == "flag")

    def inline(a: Any) -> bool:  # its shape from the given arrays' alone, its dtype theirs
        return a.kind != "pivots" and not a.real and all(d in dims for d in a.dims)

    lines = [f"    if ({' or '.join(f'{a.name} is None' for a in unset)}) and {guard}:"]
    if not all(inline(a) for a in unset):
        lines.append(f"        _dims = {{{', '.join(f'{d!r}: {e}' for d, e in dims.items())}}}")
    order = "F" if spec.column_major else "C"
    for a in unset:
        if inline(a):
            shape = "".join(f"{dims[d]}, " for d in a.dims)
            make = f"_zeros(({shape}), {given[0].name}.dtype, order={order!r})"
        else:  # a dim derived from others (LAPACK's min(m, n)), pivots, a real output: by the spec
            make = f"_allocate(_spec, {a.name!r}, _dims, {{{flags}}}, {given[0].name}.dtype)"
        lines += [f"        if {a.name} is None:", f"            {a.name} = {make}"]
    return lines


def _constant_allocations(spec: Spec, unset: list[Arg]) -> list[str]:
    """Outputs whose dims the spec fixes (rotmg's param: 5 entries) of a routine with no other
    array, in the dtype of its first scalar updated in place when that is a 0-d array, as the
    validator allocates them: lines of source."""
    first = next((a.name for a in spec.args if a.kind == "scalar" and a.inout and not a.real), None)
    derived = dict(spec.derived)
    if first is None or any(a.kind == "pivots" or a.real for a in unset):
        return []
    if not all(derived.get(d, "").isdigit() for a in unset for d in a.dims):
        return []
    lines = [f"    if type({first}) is _ndarray and {first}.ndim == 0 and {first}.dtype in _DTYPES:"]
    for a in unset:
        shape = "".join(f"{derived[d]}, " for d in a.dims)
        lines += [f"        if {a.name} is None:", f"            {a.name} = _zeros(({shape}), {first}.dtype)"]
    return lines


def function(spec: Spec) -> Callable[..., Any]:
    """spec's public function."""
    namespace: dict[str, Any] = {
        "__name__": __name__, "np": np, "Scalar": Scalar, "_lowering": _lowering,
        "_fast_call": lib.ba_fast_call, "_fast_new": fast_new, "_give_shadows": give_shadows,
        "_out_of_memory": out_of_memory, "_run": run, "_spec": spec, "_defaults": spec.defaults,
        "_ndarray": np.ndarray, "_DTYPES": tuple(DTYPE_CODES), "_real_dtype": real_dtype,
        "_result_buffer": result_buffer, "_wrap": wrap,
        "_zeros": np.zeros, "_INFO": INFO, "_failed": failed, "_allocate": allocate,
        "_PLAIN": ("N", "n"), "_LETTERS": ("N", "n", "T", "t", "C", "c"),
    }  # fmt: skip
    exec(source(spec), namespace)
    fn = namespace[spec.name]
    fn.__doc__ = spec.doc
    fn.__module__ = "blasad"
    fn.__qualname__ = spec.name
    return fn  # type: ignore[no-any-return]


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
    Call(None, code).allow(x)
    return int(lib.ba_iamax(code, x.shape[0], address(x), x.strides[0] // x.itemsize))


# the public functions, by name, in the order of the spec table
FUNCTIONS: dict[str, Callable[..., Any]] = {spec.name: function(spec) for spec in ROUTINES}
