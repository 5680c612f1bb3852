"""FAMILIES[name] = Family(SciPy's signature, {blasad argument: Source}): the SciPy twin's table.

One row per BLAS name, in the vocabulary of :mod:`blasad.linalg.blas.vocabulary`, with the
rules that derive dims SciPy computes (packed and banded sizes) and the adapters for SciPy's
quirks (rotm's flag).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import blasad as ba
from blasad.linalg.blas.call import copy_into
from blasad.linalg.blas.vocabulary import Array, BlasError, Family, Flag, Output, Result, Scalar, Source
from blasad.specs import Arg, Spec


def _rotm_flag(call: Any) -> None:
    """BLAS reads rotm's flag param[0] as -2 (H = I) when it is exactly -2, else by its sign
    (< 0: -1, = 0: 0, > 0 or NaN: 1); blasad takes only those four values: pass a recorded
    copy of param with the flag BLAS would read (the flag has no adjoint)."""
    param = call.vals["param"]
    flag = float(param[0].real)
    canon = -2.0 if flag == -2 else -1.0 if flag < 0 else 0.0 if flag == 0 else 1.0
    if flag != canon:
        fixed = np.full(param.shape, -0.0, param.dtype)
        copy_into(param, fixed)
        fixed[0] = canon
        call.vals["param"] = fixed


def _own_scalars(*names: str) -> Callable[[Any], None]:
    """blasad's rotg and rotmg write these scalars, SciPy's leave them as they are: each becomes a
    new 0-d array, a recorded copy of a 0-d array of the dtype (so its adjoint flows back) or the
    converted number (a constant)."""

    def adapt(call: Any) -> None:
        for name in names:
            value, new = call.vals[name], np.full((), -0.0, call.dtype)
            if isinstance(value, np.ndarray):
                copy_into(value, new)
            else:
                new[()] = value
            call.vals[name] = new

    return adapt


def _returned(call: Any, out: Any) -> Any:
    """SciPy's results among blasad's written arguments (rotg returns (a, b, c, s), SciPy c, s;
    rotmg (d1, d2, x1, param), SciPy param): those that are Results in the table."""
    written = [a for a in call.spec.args if a.out or a.inout]
    picked = [v for a, v in zip(written, out) if isinstance(call.fam.args[a.name], Result)]
    return picked[0] if len(picked) == 1 else tuple(picked)


# i?amax is not differentiable, so not in ba.SPECS: the spec of its argument, for the conversions
IAMAX = Spec(
    name="iamax",
    formula="k ← the 0-based index of the first largest |Re x_i| + |Im x_i|",
    args=(Arg("x", "vector", ("n",)),),
    reference=lambda x: np.array(np.argmax(np.abs(x.real) + np.abs(x.imag))),
    adjoint=(),
    saves="nothing (never recorded)",
    doc=str(ba.iamax.__doc__),
)


def _iamax_noop(call: Any) -> None:
    """BLAS's i?amax returns 0 (SciPy's -1) without searching for n <= 0 or incx < 0."""
    call.rejected |= call.dims["n"] <= 0 or call.strides["x"][1] < 0


def _iamax_result(call: Any, out: Any) -> int:
    """ba.iamax's 0-based index, or -1 where BLAS did not search (as SciPy returns)."""
    return -1 if out is None else int(out)


def _leading(call: Any, name: str, rows: int, cols: int) -> None:
    """Input matrix `name` becomes its leading rows x cols block (a view), as BLAS reads it."""
    x = call.inputs[name][:rows, :cols]
    call.inputs[name], call.shapes[name] = x, x.shape


def _symm_blocks(call: Any) -> None:
    """SciPy's symm and hemm take m from a's rows and check only that a's columns equal b's
    rows, p (side R: n from a's columns, p = a's rows = b's columns); BLAS reads a's leading
    m x m block with ld p and b's leading m x n block. With p > m the rest is not read. (With
    p < m BLAS rejects ld = p; the twin's dims then disagree and it raises.)"""
    (ra, ca), (rb, cb) = call.shapes["A"], call.shapes["B"]
    left = call.flags["side"] == "L"
    p, q = (ca, rb) if left else (ra, cb)
    if p != q:
        a_side, b_side = ("columns", "rows") if left else ("rows", "columns")
        raise call.error(f"a has {p} {a_side} but b has {q} {b_side} (SciPy asks them equal)")
    ka = ra if left else ca
    if p > ka:
        _leading(call, "A", ka, ka)
        _leading(call, "B", *((ka, cb) if left else (rb, ka)))


def _trmm_block(call: Any) -> None:
    """SciPy's trmm takes ka from b (m, side R: n) and checks only ka <= k <= max(lda, 1) for
    a of lda x k; BLAS reads a's leading ka x ka block with ld lda."""
    rows, cols = call.shapes["A"]
    m, n = call.shapes["B"]
    ka = m if call.flags["side"] == "L" else n
    if not ka <= cols <= max(rows, 1):
        raise call.error(f"a has shape {(rows, cols)}; SciPy asks {ka} <= columns <= max(rows, 1)")
    _leading(call, "A", ka, ka)


def packed(dims: Mapping[str, int], flags: Mapping[str, str]) -> int:
    """npk = n(n+1)/2, the length of a packed triangle."""
    return dims["n"] * (dims["n"] + 1) // 2


def band(dims: Mapping[str, int], flags: Mapping[str, str]) -> int:
    """k1 = k + 1, the rows of a symmetric or triangular band matrix."""
    return dims["k"] + 1


def general_band(dims: Mapping[str, int], flags: Mapping[str, str]) -> int:
    """kb = kl + ku + 1, the rows of a general band matrix (SciPy also asks m >= kb)."""
    kb = dims["kl"] + dims["ku"] + 1
    if dims["m"] < kb:
        raise BlasError(f"gbmv: m = {dims['m']} must be at least kl + ku + 1 = {kb} (SciPy's check)")
    return kb


def band_x(dims: Mapping[str, int], flags: Mapping[str, str]) -> int:
    """gbmv's x has n elements (m with trans)."""
    return dims["n"] if flags["trans"] == "N" else dims["m"]


def band_y(dims: Mapping[str, int], flags: Mapping[str, str]) -> int:
    """gbmv's y has m elements (n with trans)."""
    return dims["m"] if flags["trans"] == "N" else dims["n"]


_LOWER = Flag("lower", ("U", "L"))  # SciPy's lower=0/1 is BLAS's uplo
_SIDE = Flag("side", ("L", "R"))
_DIAG = Flag("diag", ("N", "U"))
_TRANS_ANY = Flag("trans", other="T")  # SciPy's trsv, tbmv, tpmv... check nothing: nonzero is "T"


def _update(rank2: bool, matrix: str, param: str) -> dict[str, Source]:
    """A ← α x xᵀ + A, A ← α x yᵀ + α y xᵀ + A (xᴴ, yᴴ and conj(α) for her, her2): the arguments of
    the rank-1 and rank-2 updates, dense (syr, her, syr2, her2: "A") or packed (spr, ...: "AP")."""
    return {
        "alpha": Scalar("alpha"),
        "x": Array("x", off="offx", inc="incx"),
        **({"y": Array("y", off="offy", inc="incy")} if rank2 else {}),
        matrix: Output(param, overwrite=f"overwrite_{param}"),
        "uplo": _LOWER,
    }


# One row per BLAS name. The keys are the arguments of blasad's routine, in any order.
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "c = gemm(alpha, a, b, beta=0.0, c=None, trans_a=0, trans_b=0, overwrite_c=0)",
            {
                "alpha": Scalar("alpha"),
                "A": Array("a"),
                "B": Array("b"),
                "beta": Scalar("beta"),
                "C": Output("c", overwrite="overwrite_c", unread_if_zero="beta"),
                "trans_a": Flag("trans_a"),
                "trans_b": Flag("trans_b"),
            },
        ),
        Family(
            "y = gemv(alpha, a, x, beta=0.0, y=None, offx=0, incx=1, offy=0, incy=1, trans=0, overwrite_y=0)",
            {
                "alpha": Scalar("alpha"),
                "A": Array("a"),
                "x": Array("x", off="offx", inc="incx"),
                "beta": Scalar("beta"),
                "y": Output("y", overwrite="overwrite_y", off="offy", inc="incy"),
                "trans": Flag("trans"),
            },
            quick_return=("m", "n"),
        ),
        Family(
            "z = axpy(x, y, n=None, a=1.0, offx=0, incx=1, offy=0, incy=1)",
            {
                "alpha": Scalar("a"),
                "x": Array("x", off="offx", inc="incx"),
                "y": Output("y", off="offy", inc="incy"),
            },
            count="n",
        ),
        Family(
            "y = copy(x, y, n=None, offx=0, incx=1, offy=0, incy=1)",
            {"x": Array("x", off="offx", inc="incx"), "y": Output("y", off="offy", inc="incy")},
            count="n",
        ),
        Family(
            "x, y = swap(x, y, n=None, offx=0, incx=1, offy=0, incy=1)",
            {"x": Output("x", off="offx", inc="incx"), "y": Output("y", off="offy", inc="incy")},
            count="n",
        ),
        *(
            Family(
                f"xy = {name}(x, y, n=None, offx=0, incx=1, offy=0, incy=1)",
                {
                    "x": Array("x", off="offx", inc="incx"),
                    "y": Array("y", off="offy", inc="incy"),
                    "out": Result(),
                },
                count="n",
                prefixes=prefixes,
            )
            for name, prefixes in (("dot", "sd"), ("dotu", "cz"), ("dotc", "cz"))
        ),
        Family(
            "n2 = nrm2(x, n=None, offx=0, incx=1)",
            {"x": Array("x", off="offx", inc="incx"), "out": Result()},
            count="n",
            positive_inc=True,
        ),
        Family(
            "s = asum(x, n=None, offx=0, incx=1)",
            {"x": Array("x", off="offx", inc="incx"), "out": Result()},
            count="n",
            negative_inc_noop=True,
            names={"c": "scasum", "z": "dzasum"},
        ),
        Family(
            "x, y = rot(x, y, c, s, n=None, offx=0, incx=1, offy=0, incy=1, overwrite_x=0, overwrite_y=0)",
            {
                "x": Output("x", overwrite="overwrite_x", off="offx", inc="incx"),
                "y": Output("y", overwrite="overwrite_y", off="offy", inc="incy"),
                "c": Scalar("c", real=True),
                "s": Scalar("s", real=True),
            },
            count="n",
            count_rule="ceil",
            names={"c": "csrot", "z": "zdrot"},
        ),
        Family(
            "c, s = rotg(a, b)",
            {"a": Scalar("a"), "b": Scalar("b"), "c": Result(), "s": Result()},
            adapt=_own_scalars("a", "b"),
            result=_returned,
        ),
        Family(
            "param = rotmg(d1, d2, x1, y1)",
            {
                "d1": Scalar("d1"),
                "d2": Scalar("d2"),
                "x1": Scalar("x1"),
                "y1": Scalar("y1"),
                "param": Result(),
            },
            prefixes="sd",
            adapt=_own_scalars("d1", "d2", "x1"),
            result=_returned,
        ),
        Family(
            "k = iamax(x, n=None, offx=0, incx=1)",
            {"x": Array("x", off="offx", inc="incx")},
            count="n",
            names={"s": "isamax", "d": "idamax", "c": "icamax", "z": "izamax"},
            adapt=_iamax_noop,
            result=_iamax_result,
            routine_spec=IAMAX,
        ),
        Family(
            "x, y = rotm(x, y, param, n=None, offx=0, incx=1, offy=0, incy=1, overwrite_x=0, overwrite_y=0)",
            {
                "x": Output("x", overwrite="overwrite_x", off="offx", inc="incx"),
                "y": Output("y", overwrite="overwrite_y", off="offy", inc="incy"),
                "param": Array("param", size=5),
            },
            count="n",
            prefixes="sd",
            adapt=_rotm_flag,
        ),
        *(
            Family(
                f"y = {name}(alpha, a, x, beta=0.0, y=None, offx=0, incx=1, offy=0, incy=1, lower=0, "
                "overwrite_y=0)",
                {
                    "alpha": Scalar("alpha"),
                    "A": Array("a"),
                    "x": Array("x", off="offx", inc="incx"),
                    "beta": Scalar("beta"),
                    "y": Output("y", overwrite="overwrite_y", off="offy", inc="incy"),
                    "uplo": _LOWER,
                },
                prefixes=prefixes,
            )
            for name, prefixes in (("symv", "sd"), ("hemv", "cz"))
        ),
        *(
            Family(
                f"{result} = {name}(a, x, {offinc}, lower=0, trans=0, diag=0, overwrite_x=0)",
                {
                    "A": Array("a"),
                    "x": Output("x", overwrite="overwrite_x", off="offx", inc="incx"),
                    "uplo": _LOWER,
                    "trans": trans,
                    "diag": _DIAG,
                },
            )
            for name, result, offinc, trans in (
                ("trmv", "x", "offx=0, incx=1", Flag("trans")),
                ("trsv", "xout", "incx=1, offx=0", _TRANS_ANY),
            )
        ),
        *(
            Family(
                f"a = {name}(alpha, x, y, incx=1, incy=1, a=None, overwrite_x=1, overwrite_y=1, "
                "overwrite_a=0)",
                {
                    "alpha": Scalar("alpha"),
                    "x": Array("x", inc="incx"),
                    "y": Array("y", inc="incy"),
                    "A": Output("a", overwrite="overwrite_a"),
                },
                prefixes=prefixes,
                unit_inc=True,
            )
            for name, prefixes in (("ger", "sd"), ("geru", "cz"), ("gerc", "cz"))
        ),
        *(
            Family(
                f"a = {name}(alpha, x, {y}lower=0, incx=1, offx=0, {offy}n=None, a=None, overwrite_a=0)",
                _update(bool(y), "A", "a"),
                count="n",
                count_rule="ceil_min" if y else "ceil",  # syr2: n from the shorter of x and y
                prefixes=prefixes,
            )
            for name, y, offy, prefixes in (
                ("syr", "", "", "sdcz"),
                ("her", "", "", "cz"),
                ("syr2", "y, ", "incy=1, offy=0, ", "sd"),
                ("her2", "y, ", "incy=1, offy=0, ", "cz"),
            )
        ),
        *(
            Family(
                f"c = {name}(alpha, a, b, beta=0.0, c=None, side=0, lower=0, overwrite_c=0)",
                {
                    "alpha": Scalar("alpha"),
                    "A": Array("a"),
                    "B": Array("b"),
                    "beta": Scalar("beta"),
                    "C": Output("c", overwrite="overwrite_c", unread_if_zero="beta"),
                    "side": _SIDE,
                    "uplo": _LOWER,
                },
                prefixes=prefixes,
                blocks=_symm_blocks,
            )
            for name, prefixes in (("symm", "sdcz"), ("hemm", "cz"))
        ),
        *(
            Family(
                f"c = {name}(alpha, a, {b}beta=0.0, c=None, trans=0, lower=0, overwrite_c=0)",
                {
                    "alpha": Scalar("alpha"),
                    "A": Array("a"),
                    **({"B": Array("b", loose=("n",))} if b else {}),
                    "beta": Scalar("beta"),
                    "C": Output("c", overwrite="overwrite_c"),  # the other triangle is kept
                    "uplo": _LOWER,
                    "trans": trans,
                },
                prefixes=prefixes,
                zero_ld_rejected=("A", "B"),
            )
            for name, b, prefixes, trans in (
                ("syrk", "", "sdcz", Flag("trans", complex_values=("N", "T", None))),
                ("herk", "", "cz", Flag("trans", ("N", None, "C"))),
                ("syr2k", "b, ", "sdcz", Flag("trans", complex_values=("N", "T", None))),
                ("her2k", "b, ", "cz", Flag("trans", ("N", None, "C"))),
            )
        ),
        *(
            Family(
                f"{result} = {name}(alpha, a, b, side=0, lower=0, trans_a=0, diag=0, overwrite_b=0)",
                {
                    "alpha": Scalar("alpha"),
                    "A": Array("a"),
                    "B": Output("b", overwrite="overwrite_b"),
                    "side": _SIDE,
                    "uplo": _LOWER,
                    "trans_a": Flag("trans_a"),
                    "diag": _DIAG,
                },
                blocks=blocks,
            )
            for name, result, blocks in (("trmm", "b", _trmm_block), ("trsm", "x", None))
        ),
        *(
            Family(
                f"yout = {name}({size}, alpha, {a}, x, incx=1, offx=0, beta=0.0, y=None, incy=1, offy=0, "
                "lower=0, overwrite_y=0)",
                {
                    "alpha": Scalar("alpha"),
                    matrix: Array(a, loose=("k1",) if matrix == "A" else ()),
                    "x": Array("x", off="offx", inc="incx"),
                    "beta": Scalar("beta"),
                    "y": Output("y", overwrite="overwrite_y", off="offy", inc="incy"),
                    "uplo": _LOWER,
                },
                prefixes=prefixes,
                dims={size: size},
                derived={"npk": packed} if size == "n" else {"k1": band},
            )
            for name, size, a, matrix, prefixes in (
                ("spmv", "n", "ap", "AP", "sdcz"),
                ("hpmv", "n", "ap", "AP", "cz"),
                ("sbmv", "k", "a", "A", "sd"),
                ("hbmv", "k", "a", "A", "cz"),
            )
        ),
        *(
            Family(
                f"xout = {name}({size}, {a}, x, incx=1, offx=0, lower=0, trans=0, diag=0, overwrite_x=0)",
                {
                    matrix: Array(a, loose=("k1",) if matrix == "A" else ()),
                    "x": Output("x", overwrite="overwrite_x", off="offx", inc="incx"),
                    "uplo": _LOWER,
                    "trans": _TRANS_ANY,
                    "diag": _DIAG,
                },
                dims={size: size},
                derived={"npk": packed} if size == "n" else {"k1": band},
            )
            for name, size, a, matrix in (
                ("tpmv", "n", "ap", "AP"),
                ("tpsv", "n", "ap", "AP"),
                ("tbmv", "k", "a", "A"),
                ("tbsv", "k", "a", "A"),
            )
        ),
        *(
            Family(
                f"apu = {name}(n, alpha, x, {y}ap, incx=1, offx=0, {offy}lower=0, overwrite_ap=0)",
                _update(bool(y), "AP", "ap"),
                prefixes=prefixes,
                dims={"n": "n"},
                derived={"npk": packed},
            )
            for name, y, offy, prefixes in (
                ("spr", "", "", "sdcz"),
                ("hpr", "", "", "cz"),
                ("spr2", "y, ", "incy=1, offy=0, ", "sd"),
                ("hpr2", "y, ", "incy=1, offy=0, ", "cz"),
            )
        ),
        Family(
            "yout = gbmv(m, n, kl, ku, alpha, a, x, incx=1, offx=0, beta=0.0, y=None, incy=1, offy=0, "
            "trans=0, overwrite_y=0)",
            {
                "alpha": Scalar("alpha"),
                "A": Array("a", loose=("kb",)),
                "x": Array("x", off="offx", inc="incx"),
                "beta": Scalar("beta"),
                "y": Output("y", overwrite="overwrite_y", off="offy", inc="incy"),
                "trans": Flag("trans"),
            },
            dims={"m": "m", "n": "n", "kl": "kl", "ku": "ku"},
            derived={"kb": general_band, "nx": band_x, "ny": band_y},
            kwargs={"kl": "kl", "ku": "ku", "m": "m"},
            quick_return=("m", "n"),
        ),
        Family(
            "x = scal(a, x, n=None, offx=0, incx=1)",
            {"alpha": Scalar("a"), "x": Output("x", off="offx", inc="incx")},
            count="n",
            negative_inc_noop=True,
        ),
        Family(  # a complex vector times a real number: csscal, zdscal
            "x = sscal(a, x, n=None, offx=0, incx=1, overwrite_x=0)",
            {
                "alpha": Scalar("a", real=True),
                "x": Output("x", overwrite="overwrite_x", off="offx", inc="incx"),
            },
            count="n",
            negative_inc_noop=True,
            prefixes="cz",
            routine="scal",
            names={"c": "csscal", "z": "zdscal"},
        ),
    )
}
