"""checked.h: footprint checks around every CBLAS call (checked builds).

In a build with BLASAD_CHECKED=1 each CBLAS function that blasad may call becomes a
macro that first checks that every array operand's memory footprint (from its dims, ld
and inc) lies inside an array the current call was given, then calls the function.
The table below holds the CBLAS signatures (one row per BLAS symbol, not per routine:
a rule that calls a new CBLAS function needs its row; a test finds the missing ones).
"""

from __future__ import annotations

ES = {"s": 4, "d": 8, "c": 8, "z": 16}
# ((name, precisions), ...) of the routines that share a signature, its parameters, and the
# checks: ("mat", ptr, rows, cols, ld) | ("vec", ptr, n, inc) | ("packed", ptr, n). Expressions
# may use the parameters and BA_CHK_TR(t), BA_CHK_LEFT(s), BA_CHK_ROW(o).
TABLE: list[tuple[tuple[tuple[str, str], ...], list[str], list[tuple[str, ...]]]] = [
    (
        (("axpy", "sdcz"),),
        ["n", "a", "x", "incx", "y", "incy"],
        [("vec", "x", "n", "incx"), ("vec", "y", "n", "incy")],
    ),
    (
        (("copy", "sdcz"), ("swap", "sdcz"), ("dot", "sd")),
        ["n", "x", "incx", "y", "incy"],
        [("vec", "x", "n", "incx"), ("vec", "y", "n", "incy")],
    ),
    ((("scal", "sdcz"),), ["n", "a", "x", "incx"], [("vec", "x", "n", "incx")]),
    (
        (("dotu_sub", "cz"), ("dotc_sub", "cz")),
        ["n", "x", "incx", "y", "incy", "r"],
        [("vec", "x", "n", "incx"), ("vec", "y", "n", "incy")],
    ),
    (
        (("rot", "sd"),),
        ["n", "x", "incx", "y", "incy", "c", "s"],
        [("vec", "x", "n", "incx"), ("vec", "y", "n", "incy")],
    ),
    (
        (("rotm", "sd"),),
        ["n", "x", "incx", "y", "incy", "p"],
        [("vec", "x", "n", "incx"), ("vec", "y", "n", "incy")],
    ),
    # rotg and rotmg work on the rule's own copies of their scalars (and param): no user memory
    ((("rotg", "sdcz"),), ["a", "b", "c", "s"], []),
    ((("rotmg", "sd"),), ["d1", "d2", "b1", "b2", "p"], []),
    (
        (("gemv", "sdcz"),),
        ["o", "t", "m", "n", "a", "A", "lda", "x", "incx", "b", "y", "incy"],
        [
            ("mat", "A", "m", "n", "lda"),
            ("vec", "x", "BA_CHK_TR(t) ? (m) : (n)", "incx"),
            ("vec", "y", "BA_CHK_TR(t) ? (n) : (m)", "incy"),
        ],
    ),
    (
        (("gbmv", "sdcz"),),
        ["o", "t", "m", "n", "kl", "ku", "a", "A", "lda", "x", "incx", "b", "y", "incy"],
        [
            (
                "mat",
                "A",
                "BA_CHK_ROW(o) ? (m) : (kl) + (ku) + 1",
                "BA_CHK_ROW(o) ? (kl) + (ku) + 1 : (n)",
                "lda",
            ),
            ("vec", "x", "BA_CHK_TR(t) ? (m) : (n)", "incx"),
            ("vec", "y", "BA_CHK_TR(t) ? (n) : (m)", "incy"),
        ],
    ),
    (
        (("ger", "sd"), ("geru", "cz"), ("gerc", "cz")),
        ["o", "m", "n", "a", "x", "incx", "y", "incy", "A", "lda"],
        [("vec", "x", "m", "incx"), ("vec", "y", "n", "incy"), ("mat", "A", "m", "n", "lda")],
    ),
    (
        (("symv", "sd"), ("hemv", "cz")),
        ["o", "u", "n", "a", "A", "lda", "x", "incx", "b", "y", "incy"],
        [("mat", "A", "n", "n", "lda"), ("vec", "x", "n", "incx"), ("vec", "y", "n", "incy")],
    ),
    (
        (("sbmv", "sd"), ("hbmv", "cz")),
        ["o", "u", "n", "k", "a", "A", "lda", "x", "incx", "b", "y", "incy"],
        [
            ("mat", "A", "BA_CHK_ROW(o) ? (n) : (k) + 1", "BA_CHK_ROW(o) ? (k) + 1 : (n)", "lda"),
            ("vec", "x", "n", "incx"),
            ("vec", "y", "n", "incy"),
        ],
    ),
    (
        (("spmv", "sd"), ("hpmv", "cz")),
        ["o", "u", "n", "a", "Ap", "x", "incx", "b", "y", "incy"],
        [("packed", "Ap", "n"), ("vec", "x", "n", "incx"), ("vec", "y", "n", "incy")],
    ),
    (
        (("trmv", "sdcz"), ("trsv", "sdcz")),
        ["o", "u", "t", "d", "n", "A", "lda", "x", "incx"],
        [("mat", "A", "n", "n", "lda"), ("vec", "x", "n", "incx")],
    ),
    (
        (("tbmv", "sdcz"), ("tbsv", "sdcz")),
        ["o", "u", "t", "d", "n", "k", "A", "lda", "x", "incx"],
        [
            ("mat", "A", "BA_CHK_ROW(o) ? (n) : (k) + 1", "BA_CHK_ROW(o) ? (k) + 1 : (n)", "lda"),
            ("vec", "x", "n", "incx"),
        ],
    ),
    (
        (("tpmv", "sdcz"), ("tpsv", "sdcz")),
        ["o", "u", "t", "d", "n", "Ap", "x", "incx"],
        [("packed", "Ap", "n"), ("vec", "x", "n", "incx")],
    ),
    (
        (("syr", "sd"), ("her", "cz")),
        ["o", "u", "n", "a", "x", "incx", "A", "lda"],
        [("vec", "x", "n", "incx"), ("mat", "A", "n", "n", "lda")],
    ),
    (
        (("syr2", "sd"), ("her2", "cz")),
        ["o", "u", "n", "a", "x", "incx", "y", "incy", "A", "lda"],
        [("vec", "x", "n", "incx"), ("vec", "y", "n", "incy"), ("mat", "A", "n", "n", "lda")],
    ),
    (
        (("spr", "sd"), ("hpr", "cz")),
        ["o", "u", "n", "a", "x", "incx", "Ap"],
        [("vec", "x", "n", "incx"), ("packed", "Ap", "n")],
    ),
    (
        (("spr2", "sd"), ("hpr2", "cz")),
        ["o", "u", "n", "a", "x", "incx", "y", "incy", "Ap"],
        [("vec", "x", "n", "incx"), ("vec", "y", "n", "incy"), ("packed", "Ap", "n")],
    ),
    (
        (("gemm", "sdcz"),),
        ["o", "ta", "tb", "m", "n", "k", "a", "A", "lda", "B", "ldb", "b", "C", "ldc"],
        [
            ("mat", "A", "BA_CHK_TR(ta) ? (k) : (m)", "BA_CHK_TR(ta) ? (m) : (k)", "lda"),
            ("mat", "B", "BA_CHK_TR(tb) ? (n) : (k)", "BA_CHK_TR(tb) ? (k) : (n)", "ldb"),
            ("mat", "C", "m", "n", "ldc"),
        ],
    ),
    (
        (("gemmt", "sdcz"),),  # C's uplo triangle only
        ["o", "u", "ta", "tb", "n", "k", "a", "A", "lda", "B", "ldb", "b", "C", "ldc"],
        [
            ("mat", "A", "BA_CHK_TR(ta) ? (k) : (n)", "BA_CHK_TR(ta) ? (n) : (k)", "lda"),
            ("mat", "B", "BA_CHK_TR(tb) ? (n) : (k)", "BA_CHK_TR(tb) ? (k) : (n)", "ldb"),
            ("mat", "C", "n", "n", "ldc"),
        ],
    ),
    (
        (("symm", "sdcz"), ("hemm", "cz")),
        ["o", "s", "u", "m", "n", "a", "A", "lda", "B", "ldb", "b", "C", "ldc"],
        [
            ("mat", "A", "BA_CHK_LEFT(s) ? (m) : (n)", "BA_CHK_LEFT(s) ? (m) : (n)", "lda"),
            ("mat", "B", "m", "n", "ldb"),
            ("mat", "C", "m", "n", "ldc"),
        ],
    ),
    (
        (("syrk", "sdcz"), ("herk", "cz")),
        ["o", "u", "t", "n", "k", "a", "A", "lda", "b", "C", "ldc"],
        [
            ("mat", "A", "BA_CHK_TR(t) ? (k) : (n)", "BA_CHK_TR(t) ? (n) : (k)", "lda"),
            ("mat", "C", "n", "n", "ldc"),
        ],
    ),
    (
        (("syr2k", "sdcz"), ("her2k", "cz")),
        ["o", "u", "t", "n", "k", "a", "A", "lda", "B", "ldb", "b", "C", "ldc"],
        [
            ("mat", "A", "BA_CHK_TR(t) ? (k) : (n)", "BA_CHK_TR(t) ? (n) : (k)", "lda"),
            ("mat", "B", "BA_CHK_TR(t) ? (k) : (n)", "BA_CHK_TR(t) ? (n) : (k)", "ldb"),
            ("mat", "C", "n", "n", "ldc"),
        ],
    ),
    (
        (("trmm", "sdcz"), ("trsm", "sdcz")),
        ["o", "s", "u", "t", "d", "m", "n", "a", "A", "lda", "B", "ldb"],
        [
            ("mat", "A", "BA_CHK_LEFT(s) ? (m) : (n)", "BA_CHK_LEFT(s) ? (m) : (n)", "lda"),
            ("mat", "B", "m", "n", "ldb"),
        ],
    ),
]
# functions whose names do not follow <prefix><name>: (symbol part, element size, params, checks)
IRREGULAR = (
    [
        (f"{p}{name}", es, ["n", "x", "incx"], [("vec", "x", "n", "incx")])
        for name, pairs in (("nrm2", "s d sc dz"), ("asum", "s d sc dz"))
        for p, es in zip(pairs.split(), (4, 8, 8, 16))
    ]
    + [
        (f"i{p}amax", es, ["n", "x", "incx"], [("vec", "x", "n", "incx")])
        for p, es in zip("sdcz", (4, 8, 8, 16))
    ]
    + [
        (f"{p}scal", es, ["n", "a", "x", "incx"], [("vec", "x", "n", "incx")])
        for p, es in (("cs", 8), ("zd", 16))
    ]
    + [
        (
            f"{p}rot",
            es,
            ["n", "x", "incx", "y", "incy", "c", "s"],
            [("vec", "x", "n", "incx"), ("vec", "y", "n", "incy")],
        )
        for p, es in (("cs", 8), ("zd", 16))
    ]
)


def _check(kind: tuple[str, ...], es: int, what: str) -> str:
    if kind[0] == "mat":
        _, p, rows, cols, ld = kind
        return f'ba_chk_mat((int)(o) == CblasRowMajor, ({rows}), ({cols}), ({p}), ({ld}), {es}, "{what} {p}")'
    if kind[0] == "vec":
        _, p, n, inc = kind
        return f'ba_chk_vec(({n}), ({p}), ({inc}), {es}, "{what} {p}")'
    _, p, n = kind
    return f'ba_chk_packed(({n}), ({p}), {es}, "{what} {p}")'


def _macro(symbol: str, es: int, params: list[str], checks: list[tuple[str, ...]]) -> str:
    full = f"scipy_cblas_{symbol}64_"
    args = ", ".join(params)
    body = ", ".join([_check(c, es, symbol) for c in checks] + [f"{full}({args})"])
    return f"#define {full}({args}) ({body})"


def macros() -> str:
    """checked.h, from the table."""
    lines = [
        "/* Generated at build time by tools/gen/checked.py: do not edit. Included only in checked",
        " * builds (BLASAD_CHECKED=1): every CBLAS call first checks its operands' footprints. */",
        "#define BA_CHK_TR(t) ((t) == CblasTrans || (t) == CblasConjTrans)",
        "#define BA_CHK_LEFT(s) ((s) == CblasLeft)",
        "#define BA_CHK_ROW(o) ((o) == CblasRowMajor)",
        "",
    ]
    for routines, params, checks in TABLE:
        for name, precisions in routines:
            for p in precisions:
                lines.append(_macro(p + name, ES[p], params, checks))
    for symbol, es, params, checks in IRREGULAR:
        lines.append(_macro(symbol, es, params, checks))
    return "\n".join(lines) + "\n"
