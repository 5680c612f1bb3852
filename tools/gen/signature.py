"""The C entry of a spec's routine, by the one signature rule that blasad/_lowering.py documents:

    int ba_<name>(ba_tape *t, int dtype, int order, <flags>, <dims>, <arguments>)

the flags as int in spec order; the dims as int64_t in order of first appearance over the
arguments' dims, then the spec's keyword dims; per argument, in spec order: a scalar read ->
double <a>_re, double <a>_im, intptr_t <a>_bar; a scalar written -> intptr_t <a>, intptr_t
<a>_bar; a vector -> intptr_t <a>, int64_t inc<a>, intptr_t <a>_bar; a matrix -> intptr_t <a>,
int64_t ld<a>, intptr_t <a>_bar; pivots -> intptr_t <a>, int64_t inc<a> (int64, 0-based, no shadow).

The entry dispatches on dtype to the per-precision rule that csrc/rules.c instantiates from
csrc/level*.inc (`F(name)` in the C sources: name_s, name_d, name_c, name_z), for the spec's
dtypes only. A Hermitian routine whose rule is its symmetric twin's (hpmv is spmv's complex
instantiation) dispatches to the twin's rule.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any


@functools.cache
def _specs() -> Any:
    """blasad.specs, read once (each read without blasad imported imports it anew)."""
    from gen import spec_table

    return spec_table()


def flag_code(flag: str, letter: str, complex_: bool = False) -> int:
    """The C code of a flag's letter, for real dtypes or complex ones (the spec table's flag_code)."""
    return int(_specs().flag_code(flag, letter, complex_))


def dims(spec: Any) -> list[str]:
    """The dims of the entry: first appearance over the arguments' dims, then the keywords."""
    return list(dict.fromkeys([s for a in spec.args for s in a.dims] + list(spec.keywords)))


def params(spec: Any) -> list[tuple[str, str]]:
    """(C type, name) of each parameter of the entry after (t, dtype, order)."""
    out = [("int", a.name) for a in spec.args if a.kind == "flag"]
    out += [("int64_t", d) for d in dims(spec)]
    for a in spec.args:
        if a.kind == "scalar" and not (a.out or a.inout):
            out += [("double", f"{a.name}_re"), ("double", f"{a.name}_im"), ("intptr_t", f"{a.name}_bar")]
        elif a.kind == "scalar":
            out += [("intptr_t", a.name), ("intptr_t", f"{a.name}_bar")]
        elif a.kind in ("vector", "matrix"):
            step = ("inc" if a.kind == "vector" else "ld") + a.name.lower()
            out += [("intptr_t", a.name), ("int64_t", step), ("intptr_t", f"{a.name}_bar")]
        elif a.kind == "pivots":  # int64 row indices, 0-based, never differentiated
            out += [("intptr_t", a.name), ("int64_t", "inc" + a.name.lower())]
        elif a.kind != "flag":
            raise ValueError(f"{spec.name}: argument {a.name} of kind {a.kind} has no C form")
    names = ["t", "dtype", "order"] + [n for _, n in out]
    if len(set(names)) != len(names):
        raise ValueError(f"{spec.name}: the entry's parameter names collide: {names}")
    return out


_RULE = re.compile(r"^static\s+\w+\s+F\((\w+)\)\s*\(", re.MULTILINE)


def rules(sources: Iterable[str]) -> set[str]:
    """The names of the per-precision rules (`static int F(name)(...)`) defined in C sources."""
    return {m for text in sources for m in _RULE.findall(text)}


def rule_of(spec: Any, defined: set[str]) -> str:
    """The per-precision rule behind spec's entry: its own, or its symmetric twin's."""
    for name in (spec.name, "s" + spec.name[1:] if spec.name.startswith("h") else None):
        if name in defined:
            return name
    raise LookupError(f"{spec.name}: no C rule F({spec.name}) in csrc/*.inc (add its forward entry)")
