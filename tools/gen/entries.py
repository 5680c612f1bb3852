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
