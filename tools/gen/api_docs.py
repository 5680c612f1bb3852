"""docs/api.md ← blasad's public API: signatures, docstrings and the specs (ba.SPECS).

Everything is read from the installed package: the public names (``blasad.__all__``), each
function's signature and docstring, each routine's spec (formula, arguments with their kinds
and dims, adjoint rules, what the reverse sweep saves) and the SciPy twin's table
(``blasad.linalg.blas.FAMILIES``). A committed document: `python tools/generate.py` rewrites it,
and tests/test_generated.py regenerates the text in memory and compares, so it cannot go stale.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import blasad as ba
from blasad.linalg import blas as twin
from blasad.specs import Spec

FRONT_END = ("Tape", "autodiff", "Duplicated", "Const")
SCALARS = ("Scalar", "GradientLostWarning")
CHECKING = ("gradcheck", "GradCheck")


def _annotation(a: Any) -> str:
    if isinstance(a, str):
        return a
    return getattr(a, "__name__", repr(a))


def signature(name: str, obj: Callable[..., Any]) -> str:
    """name(params) -> return, formatted the same way on every Python version."""
    sig = inspect.signature(obj)
    params = list(sig.parameters.values())
    parts: list[str] = []
    star_done = False
    for i, p in enumerate(params):
        if p.kind is p.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        stars = "*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else ""
        text = stars + p.name
        star_done |= p.kind is p.VAR_POSITIONAL
        if p.annotation is not p.empty:
            text += f": {_annotation(p.annotation)}"
        if p.default is not p.empty:
            text += f" = {p.default!r}" if p.annotation is not p.empty else f"={p.default!r}"
        parts.append(text)
        if p.kind is p.POSITIONAL_ONLY and (
            i + 1 == len(params) or params[i + 1].kind is not p.POSITIONAL_ONLY
        ):
            parts.append("/")
    ret = "" if sig.return_annotation is sig.empty else f" -> {_annotation(sig.return_annotation)}"
    return f"{name}({', '.join(parts)}){ret}"


def docstring(obj: Any) -> str:
    return inspect.cleandoc(obj.__doc__ or "").strip()


def _code(text: str) -> list[str]:
    return ["```python", text, "```", ""]


def _doc_block(obj: Any) -> list[str]:
    doc = docstring(obj)
    return [doc, ""] if doc else []


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


# -- the routines -------------------------------------------------------------------------------


def _arg_notes(arg: Any) -> str:
    """Every field of an argument that differs from its default, in words."""
    notes: list[str] = []
    for f in dataclasses.fields(arg):
        if f.name in ("name", "kind", "dims"):
            continue
        value = getattr(arg, f.name)
        if value == f.default:
            continue
        if f.name == "trans":
            notes.append(f"dims are those of op({arg.name}) under flag {value}")
        elif f.name == "out":
            notes.append("written (None allocates it)")
        elif f.name == "inout":
            notes.append("read, then written in place")
        elif f.name == "choices":
            notes.append("one of " + ", ".join(f"`{c}`" for c in value))
        elif f.name == "real":
            notes.append("of the real dtype (for complex routines)")
        else:
            notes.append(f"{f.name}: {value}")
    if arg.kind == "scalar" and not (arg.out or arg.inout):
        notes.append("a number (constant) or a 0-d array (differentiated when active)")
    elif arg.kind == "scalar" and arg.inout:
        notes.append("a 0-d array (a number cannot be written)")
    return "; ".join(notes)


def _spec_section(name: str, spec: Any) -> list[str]:
    lines = [f"### `{name}`", "", f"**{spec.formula}**", ""]
    fn = getattr(ba, name, None)
    if fn is not None:
        lines += _code("ba." + signature(name, fn)) + _doc_block(fn)
    lines += ["| argument | kind | dims | notes |", "| --- | --- | --- | --- |"]
    for a in spec.args:
        dims = " × ".join(a.dims)
        lines.append(f"| `{a.name}` | {a.kind} | {_cell(dims)} | {_cell(_arg_notes(a))} |")
    lines += ["", "Adjoint (reverse sweep, in this order):", ""]
    lines += [f"- {rule}" for rule in spec.adjoint]
    lines += ["", f"Saves: {spec.saves}.", ""]
    # (doc and defaults are the function's docstring and signature, shown above)
    known = {
        "name",
        "formula",
        "args",
        "reference",
        "adjoint",
        "saves",
        "by_name",
        "doc",
        "defaults",
        "prepare",
    }
    if spec.other:
        lines += [f"Other dtypes: {spec.other}.", ""]
        known.add("other")
    if spec.failure:  # LAPACK's info > 0
        message = spec.failure.replace("{info}", "*info*").replace("{index}", "*info* - 1")
        lines += [f"Fails (LAPACK's info > 0) with `numpy.linalg.LinAlgError`: {message}.", ""]
        known.add("failure")
    if spec.column_major:
        lines += ["Matrices are handed to LAPACK column-major (other layouts through recorded copies).", ""]
        known.add("column_major")
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if f.name not in known and isinstance(value, str | int | float | tuple) and value != f.default:
            lines += [f"{f.name.replace('_', ' ').capitalize()}: {value}", ""]
    return lines


def _function_section(name: str, obj: Any, prefix: str = "ba.") -> list[str]:
    return [f"### `{name}`", "", *_code(prefix + signature(name, obj)), *_doc_block(obj)]


def _class_section(name: str, cls: type) -> list[str]:
    try:
        head = signature(name, cls)
    except ValueError:  # an exception class: no signature of its own
        head = f"{name}({', '.join(b.__name__ for b in cls.__bases__)})"
    lines = [f"### `{name}`", "", *_code(f"class {head}"), *_doc_block(cls)]
    if dataclasses.is_dataclass(cls):
        lines += ["| field | type |", "| --- | --- |"]
        lines += [f"| `{f.name}` | `{_cell(_annotation(f.type))}` |" for f in dataclasses.fields(cls)]
        lines.append("")
    for attr, value in vars(cls).items():
        if attr.startswith("_"):
            continue
        if isinstance(value, property):
            lines += [f"#### `{name}.{attr}` (property)", "", *_doc_block(value)]
        elif inspect.isfunction(value):
            lines += [f"#### `{name}.{attr}`", "", *_code(signature(attr, value)), *_doc_block(value)]
    return lines


# -- the SciPy twin ------------------------------------------------------------------------------


def _source(src: Any) -> str:
    kind = type(src).__name__
    extra = [
        f"{f.name}={getattr(src, f.name)!r}"
        for f in dataclasses.fields(src)
        if f.name != "param" and getattr(src, f.name) != f.default
    ]
    return f"{kind}" + (f" ({', '.join(extra)})" if extra else "")


def _twin_section() -> list[str]:
    lines = ["## `blasad.linalg.blas`: the SciPy twin", "", *_doc_block(twin)]
    lines += ["### The table", ""]
    lines += [
        "One row per BLAS name (`blasad.linalg.blas.FAMILIES`). Twins exist for the dtypes blasad "
        f"supports (prefixes `{twin.SUPPORTED_PREFIXES}`) once the routine is in `ba.SPECS`.",
        "",
    ]
    for key, fam in twin.FAMILIES.items():
        names = sorted(n for n, f in twin.TWINS.items() if f.family is fam)
        lines += [f"#### `{key}` → `ba.{fam.routine}`", "", *_code(fam.scipy_call())]
        lines.append("Twins: " + (", ".join(f"`{n}`" for n in names) if names else "none yet"))
        options = [
            f"{f.name}={_value(getattr(fam, f.name))}"
            for f in dataclasses.fields(fam)
            if f.init
            and f.name not in ("signature", "args")
            and getattr(fam, f.name) != _default(f)
            and not (f.name == "routine" and fam.routine == fam.name)
        ]
        if options:
            lines += ["", "Options: " + ", ".join(f"`{o}`" for o in options)]
        lines += ["", "| blasad argument | SciPy parameter | source |", "| --- | --- | --- |"]
        for arg, src in fam.args.items():
            lines.append(f"| `{arg}` | `{src.param}` | {_cell(_source(src))} |")
        lines.append("")
    lines += ["### Functions", ""]
    lines += _function_section("get_blas_funcs", twin.get_blas_funcs, "blas.")
    lines += _function_section("find_best_blas_type", twin.find_best_blas_type, "blas.")
    lines += ["### `BlasError`", "", *_doc_block(twin.BlasError)]
    return lines


def _lapack_twin_section() -> list[str]:
    """blasad.linalg.lapack (SciPy's LAPACK names) and blasad.linalg's scipy.linalg twins."""
    import blasad.linalg as linalg
    from blasad.linalg import lapack

    lines = ["## `blasad.linalg.lapack`: the SciPy LAPACK twin", "", *_doc_block(lapack)]
    lines += ["### The routines", "", "| SciPy names | blasad routine | signature |", "| --- | --- | --- |"]
    for name, (routine, _) in lapack.FACTORIES.items():
        names = [n for n in lapack.__all__ if n[1:] == name]
        if names:
            sig = signature(names[0], getattr(lapack, names[0]))
            lines.append(f"| {', '.join(f'`{n}`' for n in names)} | `ba.{routine}` | `{_cell(sig)}` |")
    lines += ["", *_function_section("get_lapack_funcs", lapack.get_lapack_funcs, "lapack.")]
    lines += ["## `blasad.linalg`: twins of scipy.linalg", "", *_doc_block(linalg)]
    for name in linalg.__all__:
        obj = getattr(linalg, name)
        if inspect.isfunction(obj) and obj.__module__ == "blasad.linalg._decomp":
            lines += _function_section(name, obj, "blasad.linalg.")
    return lines


def _value(v: Any) -> str:
    """repr, but a function by its name (a repr with an address would change every run)."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, Spec):  # (a routine outside ba.SPECS: iamax)
        return f"the spec of {v.name}({', '.join(a.name for a in v.args)})"
    return v.__name__ if callable(v) and hasattr(v, "__name__") else repr(v)


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


# -- the page -------------------------------------------------------------------------------------


def _scalars_section() -> list[str]:
    """Active scalars: the rules (blasad._scalar's docstring), the class, and one row per op
    of blasad/specs/scalar.py."""
    from blasad import _scalar
    from blasad.specs.scalar import OPS

    lines = ["## Active scalars", "", docstring(_scalar), ""]
    for name in _names(SCALARS):
        lines += _class_section(name, getattr(ba, name))
    lines += [
        "### The recorded operations",
        "",
        "| op | written as | formula | adjoint |",
        "| --- | --- | --- | --- |",
    ]
    for op in OPS:
        written = [f"`{op.operator}`"] if op.operator else []
        if op.ufunc is not None:
            written.append(f"`np.{op.ufunc.__name__}`")
        cells = (f"`{op.name}`", ", ".join(written), op.formula, "; ".join(op.adjoint))
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return [*lines, ""]


def _names(names: Iterable[str]) -> list[str]:
    return [n for n in names if n in ba.__all__]


def render() -> str:
    public = list(ba.__all__)
    specs = [n for n in ba.SPECS if n in public or hasattr(ba, n)]
    other_routines = sorted(
        n
        for n in public
        if n not in ba.SPECS
        and inspect.isfunction(getattr(ba, n))
        and getattr(ba, n).__module__ == "blasad._routines"
    )
    grouped = {"SPECS", *specs, *other_routines, *FRONT_END, *SCALARS, *CHECKING}
    rest = [n for n in public if n not in grouped]

    lines = [
        "# blasad API reference",
        "",
        "<!-- Generated by `python tools/generate.py` from the docstrings and `ba.SPECS`; "
        "do not edit. tests/test_generated.py fails when it is out of date. -->",
        "",
        docstring(ba),
        "",
        f"Version {ba.__version__}. Public names: " + ", ".join(f"`{n}`" for n in public) + ".",
        "",
        "## Routines",
        "",
        "Each routine has a spec in `ba.SPECS`: its formula, its arguments in BLAS order with their "
        "kinds and symbolic dims, the adjoint rules of its reverse sweep and the values the sweep "
        "saves. Arrays may have any layout (C or F order, slices, transposed views, negative "
        "strides); the arrays' dtype (float32, float64, complex64, complex128) picks the precision.",
        "",
    ]
    for name in specs:
        lines += _spec_section(name, ba.SPECS[name])
    if other_routines:
        lines += ["## Routines without a spec in `ba.SPECS` yet", ""]
        for name in other_routines:
            lines += _function_section(name, getattr(ba, name))
    lines += ["## Differentiation", ""]
    for name in _names(FRONT_END):
        obj = getattr(ba, name)
        lines += _class_section(name, obj) if inspect.isclass(obj) else _function_section(name, obj)
    lines += _scalars_section()
    lines += ["## Checking gradients", ""]
    for name in _names(CHECKING):
        obj = getattr(ba, name)
        lines += _class_section(name, obj) if inspect.isclass(obj) else _function_section(name, obj)
    if rest:
        lines += ["## Other public names", ""]
        for name in rest:
            obj = getattr(ba, name)
            if inspect.isclass(obj):
                lines += _class_section(name, obj)
            elif callable(obj):
                lines += _function_section(name, obj)
            else:
                lines += [f"### `{name}`", "", f"`{type(obj).__name__}`", ""]
    lines += _twin_section()
    lines += _lapack_twin_section()
    return "\n".join(lines).rstrip() + "\n"
