"""fast_generic.inc: the spec routines' C fast path table (ba_fast_run in csrc/fast.c).

Per eligible routine of blasad's spec table: a descriptor (each argument's kind, whether it is
read or written, its dims as symbol indices, the flag that transposes it; a flag's accepted
letters and their C codes, for the real dtypes and the complex ones), its entry's index for
ba_entry (dispatch.inc: fast.c packs the lowered arguments into the words of the signature
_lowering.py documents) and the check of its derived dims.

Eligible: every dtype of the spec's; arguments scalar (read: a Python float or complex, a NumPy
float64 or complex128, a 0-d array of the call's dtype or, for a real argument, its real one;
written, or updated in place as rotg's and rotmg's: an exact 0-d ndarray of its dtype), vector,
matrix or flag, dense (or a packed vector, or a band matrix, taken column-major only as BLAS reads
it), keyword dims (gbmv's m, kl, ku: ints after the arguments; None, for m, solved from the arrays
by fg_solve), at most one discrete entry of a vector
(rotm's param[0], checked in C), derived dims that are expressions C can check (symm's
ka = m if side == 'L' else n; validate binds ka from A's shape like any dim, the wrappers check
the relation, and so does C);
LAPACK routines too: pivots (int64, contiguous; read ones range-checked in C), a rule's
BA_INFO + info passed back (the public function raises), Spec.column_major calls with every
matrix column-major. Layouts BLAS cannot address are staged in C as _lowering.run stages them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any

from gen.signature import dims as symbols  # the dims of the C entry, in its order
from gen.signature import flag_code

LETTERS = "NTCULRS"  # the flag letters, numbered as letter_of in csrc/fast.c reads them
MAX_ARGS, MAX_DIMS = 12, 8
KINDS = {
    "scalar": "FG_SCALAR", "vector": "FG_VECTOR", "matrix": "FG_MATRIX", "flag": "FG_FLAG",
    "pivots": "FG_PIVOTS", "int": "FG_INT",
}  # fmt: skip


class Ineligible(Exception):
    pass


class Unbound(Ineligible):
    """A derived dim over a name no argument binds (band storage's k1 = k + 1, k free): no check."""


def c_expr(expr: str, spec: Any) -> str:
    """A derived dim's Python expression over dims and flags, in C over d[] and the letters L[]."""
    syms = symbols(spec)
    flags = {a.name: i for i, a in enumerate(spec.args) if a.kind == "flag"}

    def tr(node: ast.AST) -> str:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return str(node.value)
        if isinstance(node, ast.Name) and node.id in syms:
            return f"d[{syms.index(node.id)}]"
        if isinstance(node, ast.Name) and node.id not in flags:
            raise Unbound(f"derived dim {expr!r}: {node.id} is bound by no argument")
        if isinstance(node, ast.BinOp):
            ops = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "/"}  # dims are >= 0
            if type(node.op) in ops:
                return f"({tr(node.left)} {ops[type(node.op)]} {tr(node.right)})"
        if isinstance(node, ast.IfExp):
            return f"({tr(node.test)} ? {tr(node.body)} : {tr(node.orelse)})"
        cmp = {ast.Lt: "<", ast.Gt: ">", ast.LtE: "<=", ast.GtE: ">="}
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in cmp:
            return f"({tr(node.left)} {cmp[type(node.ops[0])]} {tr(node.comparators[0])})"  # dims: min, max
        if (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.Eq)
            and isinstance(node.left, ast.Name)
            and node.left.id in flags
            and isinstance(node.comparators[0], ast.Constant)
            and node.comparators[0].value in tuple(LETTERS)
        ):
            return f"L[{flags[node.left.id]}] == {LETTERS.index(node.comparators[0].value)}"
        raise Ineligible(f"derived dim {expr!r}")

    return tr(ast.parse(expr, mode="eval").body)


def check(spec: Any) -> None:
    """Raise Ineligible when the spec's calls cannot take the C fast path."""
    if len(spec.args) + len(spec.keywords) > MAX_ARGS or len(symbols(spec)) > MAX_DIMS:
        raise Ineligible("too many arguments")
    for a in spec.args:
        if a.kind not in KINDS:
            raise Ineligible(f"{a.name}: kind {a.kind}")
        many = len(a.discrete) > 1 or any(len(c) > 4 for _, c in a.discrete)
        if many or (a.discrete and a.kind != "vector"):
            raise Ineligible(f"{a.name}: discrete entries past one of a vector's, of up to 4 values")
        if not (a.storage == "dense" or (a.storage, a.kind) in (("packed", "vector"), ("band", "matrix"))):
            raise Ineligible(f"{a.name}: {a.storage} storage")
    for _, expr in spec.derived:
        try:
            c_expr(expr, spec)
        except Unbound:
            continue


def eligible(specs: Iterable[Any]) -> list[Any]:
    out = []
    for spec in specs:
        try:
            check(spec)
        except Ineligible:
            continue
        out.append(spec)
    return out


def _arg(spec: Any, i: int) -> str:
    a = spec.args[i]
    syms = symbols(spec)
    io = "FG_INOUT" if a.inout else "FG_OUT" if a.out else "FG_IN"
    dims = [syms.index(s) for s in a.dims] + [-1] * (2 - len(a.dims))
    trans = next((j for j, b in enumerate(spec.args) if b.name == a.trans), -1)
    codes = [  # a flag's C code per letter for the real dtypes, then for the complex ones
        [flag_code(a.name, letter, cplx) if letter in choices else -1 for letter in LETTERS]
        for cplx, choices in ((False, a.choices), (True, a.choices_complex or a.choices))
    ] if a.kind == "flag" else [[-1] * len(LETTERS)] * 2  # fmt: skip
    what = f"{a.name}: " + (
        " ".join(a.choices) if a.kind == "flag" else f"({', '.join(a.dims)})" if a.dims else a.kind
    )
    packed = int(a.storage == "packed")
    band = int(a.storage == "band")
    flip = int(spec.flips(a))
    bound = syms.index(a.bound) if a.bound else -1
    fields = (
        f"{KINDS[a.kind]}, {io}, {int(a.real)}, {packed}, {band}, {trans}, {flip}, {bound}, "
        f"{{{dims[0]}, {dims[1]}}}"
    )
    real, cplx = (", ".join(map(str, c)) for c in codes)
    at, values = a.discrete[0] if a.discrete else (0, ())
    disc = f"{at}, {len(values)}, {{{', '.join(repr(float(x)) for x in values) or '0'}}}"
    return "{" + fields + ", {{" + real + "}, {" + cplx + "}}, " + disc + "}, /* " + what + " */"


def _keyword(spec: Any, name: str) -> str:
    """A keyword dim's descriptor: an int binding its symbol (None: the arrays bind it)."""
    none = ", ".join(["-1"] * len(LETTERS))
    sym = symbols(spec).index(name)
    codes = f"{{{{{none}}}, {{{none}}}}}"
    return f"{{FG_INT, FG_IN, 0, 0, 0, -1, 0, -1, {{{sym}, -1}}, {codes}, 0, 0, {{0}}}}, /* {name} */"


def table(specs: Iterable[Any]) -> str:
    """fast_generic.inc, from the spec table."""
    specs = list(specs)
    entry = {spec.name: r for r, spec in enumerate(specs)}  # ba_entry_call's index (dispatch.inc)
    specs = eligible(specs)
    lines = [
        "/* Generated at build time from blasad's spec table by tools/gen/fast.py: do not edit.",
        " * Included by csrc/fast.c: the routines ba_fast_run lowers, their descriptors (with their",
        " * entries' indices) and the checks of their derived dims. */",
        f"#define FG_NROUTINES {len(specs)}",
        "",
        "static const fg_spec fg_specs[FG_NROUTINES] = {",
    ]
    for r, spec in enumerate(specs):
        dtypes = sum(1 << "sdcz".index(p) for p in spec.dtypes)
        lines.append(f"    /* {r}: {spec.formula} */")
        nargs = len(spec.args) + len(spec.keywords)  # the keywords after the arguments, in order
        head = (
            f'"{spec.name}", {entry[spec.name]}, {nargs}, {len(symbols(spec))}, {dtypes}, '
            f"{int(spec.column_major)}"
        )
        lines.append(f"    {{{head}, {{")
        lines += [f"        {_arg(spec, i)}" for i in range(len(spec.args))]
        lines += [f"        {_keyword(spec, k)}" for k in spec.keywords]
        lines.append("    }},")
    lines += [
        "};",
        "",
        "/* Derived dims (symm's ka = m if side == 'L' else n): 0 when the bound ones disagree. */",
        "static int fg_derived(int r, const int64_t *d, const int *L)",
        "{",
        "    switch (r) {",
    ]
    syms_of = {s.name: symbols(s) for s in specs}
    for r, spec in enumerate(specs):
        conds = []
        for sym, expr in spec.derived:
            try:
                conds.append(f"d[{syms_of[spec.name].index(sym)}] == {c_expr(expr, spec)}")
            except Unbound:
                continue
        if conds:
            lines.append(f"    case {r}: return {' && '.join(conds)}; /* {spec.name} */")
    lines += ["    default: return 1;", "    }", "}", ""]
    lines += [
        "/* A keyword dim left None (gbmv's m) from the dim a derived relation gives it, where one",
        " * does (ny = m if trans == 'N' else n: m = ny for 'N'): then fg_derived checks the rest. */",
        "static void fg_solve(int r, int64_t *d, const int *L, unsigned *bound)",
        "{",
        "    (void)d, (void)L, (void)bound;",
        "    switch (r) {",
    ]
    for r, spec in enumerate(specs):
        body = _solve(spec)
        if body:
            lines += [f"    case {r}: /* {spec.name} */", *body, "        return;"]
    lines += ["    default: return;", "    }", "}"]
    return "\n".join(lines) + "\n"


def _solve(spec: Any) -> list[str]:
    """fg_solve's lines for spec: each keyword dim that a branch of a derived relation names."""
    syms = symbols(spec)
    out = []
    for sym, expr in spec.derived:
        node = ast.parse(expr, mode="eval").body
        if not isinstance(node, ast.IfExp):
            continue
        for branch, negate in ((node.body, False), (node.orelse, True)):
            if isinstance(branch, ast.Name) and branch.id in spec.keywords:
                k, s = syms.index(branch.id), syms.index(sym)
                test = c_expr(ast.unparse(node.test), spec)
                cond = f"!({test})" if negate else f"({test})"
                out.append(
                    f"        if (!(*bound >> {k} & 1) && (*bound >> {s} & 1) && {cond}) "
                    f"d[{k}] = d[{s}], *bound |= 1u << {k};"
                )
    return out
