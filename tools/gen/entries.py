"""The spec routines' C entries: their prototypes (routines.h, which cffi's cdef reads too) and
their definitions, each a switch over the spec's dtypes (dispatch.inc, included by rules.c)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gen.signature import params, rule_of

WIDTH = 110
PREFIX = "sdcz"  # dtype codes 0..3


def _wrap(head: str, items: list[str], tail: str, indent: int) -> list[str]:
    """head + the items joined by ", " + tail, broken between items into lines of at most WIDTH."""
    lines, line = [], head
    for i, item in enumerate(items):
        piece = item + (", " if i + 1 < len(items) else tail)
        if len(line) + len(piece.rstrip()) > WIDTH and line.strip():
            lines.append(line.rstrip())
            line = " " * indent
        line += piece
    return [*lines, line]


def _declaration(spec: Any, tail: str) -> list[str]:
    head = f"int ba_{spec.name}("
    parts = ["ba_tape *t", "int dtype", "int order"] + [f"{ty} {name}" for ty, name in params(spec)]
    return _wrap(head, parts, ")" + tail, len(head))


def header(specs: Iterable[Any]) -> str:
    """routines.h: the prototypes, plain declarations that the compiler and cffi's cdef read."""
    lines = [
        "/* Generated at build time from blasad's spec table by tools/gen/entries.py: do not edit.",
        " * The spec routines' entries, in the signature blasad/_lowering.py documents. */",
    ]
    for spec in specs:
        lines += _declaration(spec, ";")
    return "\n".join(lines) + "\n"


def dispatch(specs: Iterable[Any], defined: set[str]) -> str:
    """dispatch.inc: each entry, a switch over its spec's dtypes (any other dtype: -2) calling
    the per-precision rule; defined: the rules the C sources define."""
    lines = [
        "/* Generated at build time from blasad's spec table by tools/gen/entries.py: do not edit.",
        " * Included by csrc/rules.c after the per-precision rules: the spec routines' entries. */",
    ]
    for spec in specs:
        rule = rule_of(spec, defined)
        args = ["t", "order"] + [name for _, name in params(spec)]
        lines += ["", *_declaration(spec, ""), "{", "    switch (dtype) {"]
        for p in spec.dtypes:
            lines += _wrap(f"    case {PREFIX.index(p)}: return {rule}_{p}(", args, ");", 8)
        lines += ["    default: return -2;", "    }", "}"]
    return "\n".join(lines) + "\n"


def tangents(specs: Iterable[Any], defined: set[str]) -> str:
    """The end of dispatch.inc: forward mode's native tangent rules (F(<name>_tan), csrc/tangents.inc)
    behind one call by the entry's index, with the entry's words (ba_tangent_call: -3 for a routine
    without one), and whether routine r has one (ba_tangent_native)."""
    specs = list(specs)
    lines = [
        "",
        "/* Routine r's native tangent rule (forward mode) with the entry's words, its `_bar` words the",
        " * tangents: -3 when it has none (its Python rule runs), -2 for a word count not its entry's. */",
        "int ba_tangent_call(int r, int dtype, int order, const ba_word *w, int64_t nw)",
        "{",
        "    switch (r) {",
    ]
    have = []
    for r, spec in enumerate(specs):
        if f"{spec.name}_tan" not in defined:
            continue
        have.append(r)
        ps = params(spec)
        call = [_word(ty, k) for k, (ty, _) in enumerate(ps)]
        lines += [f"    case {r}:", f"        if (nw != {len(ps)}) return -2;", "        switch (dtype) {"]
        for p in spec.dtypes:
            head = f"        case {PREFIX.index(p)}: return {spec.name}_tan_{p}("
            lines += _wrap(head, ["NULL", "order", *call], ");", 16)
        lines += ["        default: return -2;", "        }"]
    lines += ["    default: return -3;", "    }", "}", ""]
    cases = " || ".join(f"r == {r}" for r in have) or "0"
    lines += ["int ba_tangent_native(int r)", "{", f"    return {cases};", "}"]
    return "\n".join(lines) + "\n"


def _word(ty: str, k: int) -> str:
    """Word k of an entry's argument list (ba_word, csrc/blasad.h) as a parameter of C type ty."""
    casts = {"int": f"(int)w[{k}].i", "int64_t": f"w[{k}].i", "intptr_t": f"(intptr_t)w[{k}].i"}
    return casts.get(ty, f"w[{k}].x")  # a double


def entries(specs: Iterable[Any]) -> str:
    """The end of dispatch.inc: every entry behind one call by index (ba_entry_call), its arguments
    as words in the entry's order, and the index of each routine's name (ba_spec_index). The
    fast path, the validating path on a replay tape, and the replay itself call the entries so."""
    specs = list(specs)
    lines = [
        "",
        "/* Routine r of the spec table with its arguments after (t, dtype, order) as nw words; -2 for",
        " * an r or a word count that is not an entry's. */",
        "int ba_entry_call(ba_tape *t, int r, int dtype, int order, const ba_word *w, int64_t nw)",
        "{",
        "    switch (r) {",
    ]
    for r, spec in enumerate(specs):
        ps = params(spec)
        call = [_word(ty, k) for k, (ty, _) in enumerate(ps)]
        head = f"    case {r}: return nw != {len(ps)} ? -2 : ba_{spec.name}("
        lines += _wrap(head, ["t", "dtype", "order", *call], ");", 12)
    lines += ["    default: return -2;", "    }", "}", ""]
    names = ", ".join(f'"{spec.name}"' for spec in specs)
    lines += _wrap("static const char *const entry_names[] = {", names.split(", "), "};", 4)
    lines += [
        "",
        "int ba_spec_index(const char *name) /* NULL: the number of routines */",
        "{",
        f"    if (!name) return {len(specs)};",
        f"    for (int r = 0; r < {len(specs)}; r++)",
        "        if (!strcmp(entry_names[r], name)) return r;",
        "    return -1;",
        "}",
    ]
    return "\n".join(lines) + "\n"
