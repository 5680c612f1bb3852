"""r = blas.dgemm(α, a, b, β, c) is scipy.linalg.blas.dgemm's r, recorded: a differentiable twin.

Replace ``from scipy.linalg import blas`` with ``from blasad.linalg import blas``. Every routine
blasad supports has its SciPy name (``dgemm``, ``sgemv``, ``zaxpy``, ``dznrm2``, ...), SciPy's
parameters in SciPy's order with SciPy's keyword names and defaults, SciPy's integer flags
(trans 0/1/2 = N/T/C), offsets and increments (``offx``/``incx`` address ``x[offx::incx]``; a
negative increment walks the same elements backwards, as BLAS does), SciPy's results and
SciPy's overwrite rules. ``get_blas_funcs`` and ``find_best_blas_type`` pick prefixes by
SciPy's rules. Each call runs blasad's public routine (``ba.gemm``, ``ba.gemv``, ``ba.axpy``,
...) on views of the arguments, so under ``ba.Tape`` or ``ba.autodiff`` it is recorded and
differentiable.

Outputs, overwrite and gradients:

* ``c = dgemm(..., c, overwrite_c=0)`` (the default) returns a new Fortran-ordered array and
  leaves ``c`` untouched. The twin makes that array with recorded blasad calls (a copy of
  ``c``, then ``ba.gemm`` with β into it), so the reverse sweep passes ``c̄ += β C̄`` back to
  ``c`` through the copy, and ``c`` keeps its own adjoint. When β is a Python zero the old
  ``c`` is not read, so no copy is made. (The copy is ``y ← 1·x + y`` into a buffer of -0.0,
  exact for real values, or ``ba.copy`` for complex ones: one call when ``c`` and the new array
  share an element order, else one per row or column of the shorter side.)
* ``overwrite_c=1`` writes into ``c`` and returns ``c`` itself when ``c`` is a writeable,
  aligned, Fortran-contiguous array of the routine's dtype (what SciPy's f2py wrappers check);
  otherwise it makes a new array, as SciPy does. Gradients then follow blasad's in-place rules
  (``C̄ ← β C̄``).
* Outputs without an overwrite flag (axpy's ``y``, scal's ``x``, swap's ``x`` and ``y``) are
  updated in place and returned when they are contiguous arrays of the routine's dtype, and
  copied otherwise, as SciPy does. Strided outputs (gemv's ``y``) are returned whole, with only
  ``y[offy::incy]`` updated.
* Reductions (dot, nrm2, asum) return blasad's 0-d array where SciPy returns a Python number:
  equal in value and in arithmetic, and differentiable.
* Scalars: α and β given as 0-d (or size-1) arrays of the routine's dtype are buffers and are
  differentiated when active; every other scalar is converted like SciPy does and is constant.
* Arguments SciPy would convert (a list, an int array, float32 passed to a ``d`` routine, a
  byte-swapped array) are converted with NumPy: the converted copy is a new constant, so no
  gradient reaches the original. Pass arrays of the routine's dtype to differentiate them.
* BLAS's and SciPy's own conventions stay: gemv with an empty ``a`` leaves ``y`` unscaled (BLAS
  returns at once), scal/asum with ``incx < 0`` do nothing, nrm2 rejects ``incx < 0``, a flag
  value BLAS rejects (csyrk's trans=2, cherk's trans=1) or a matrix without rows where BLAS
  wants ld >= 1 (syrk with trans and k = 0) leaves the outputs as they are, a band matrix or
  syr2k's ``b`` may have more rows than BLAS reads (the leading block is used), a packed
  ``ap`` may be longer than n(n+1)/2.

Deliberate differences from SciPy, all for calls whose SciPy result is unsafe or undefined:
a read-only output is never written (SciPy's wrappers write into read-only arrays; the twin
returns a new array), and an output that shares memory with an input of the same call is
computed into a new array (BLAS's result would be undefined; blasad rejects such aliasing).
Errors SciPy's wrappers raise as ``_fblas.error`` are raised as :class:`BlasError`, a
``ValueError``; conversion errors are the same ``TypeError``/``ValueError``.

The twin is built from one table, :data:`FAMILIES`: one :class:`Family` per BLAS name,
mapping each argument of blasad's routine (``ba.SPECS[name].args``) to the SciPy parameter it
comes from. Adding a routine is one row (and, for a SciPy quirk, an adapter); its twins appear
for the dtypes the spec lists once the routine is in ``ba.SPECS``.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, overload

import numpy as np

import blasad as ba
from blasad._specs import DTYPE_CODES, Arg, Spec, real_dtype


class BlasError(ValueError):
    """A check of SciPy's BLAS wrapper failed (SciPy raises its f2py ``_fblas.error``)."""


# -- the table's vocabulary -------------------------------------------------------------------


@dataclass(frozen=True)
class Scalar:
    """A scipy scalar parameter. A 0-d/size-1 array of the dtype blasad's argument takes is
    passed on as a differentiable buffer; anything else is converted like f2py does (a
    constant). ``real``: SciPy takes a real number here for complex routines (csscal's a)."""

    param: str
    real: bool = False


@dataclass(frozen=True)
class Array:
    """A scipy input array: a matrix, or a vector ``x[off::inc]`` of n elements (BLAS's
    ``x + off, inc``; a negative inc walks the same elements backwards)."""

    param: str
    off: str | None = None  # scipy's offset parameter (offx), for vectors
    inc: str | None = None  # scipy's increment parameter (incx), for vectors
    size: int | None = None  # a vector of fixed length (rotm's param: 5)
    loose: tuple[str, ...] = ()  # dims SciPy lets this matrix exceed: BLAS reads the leading block
    check: str | None = None  # the dim SciPy checks this vector's length against, if not its own


@dataclass(frozen=True)
class Flag:
    """A scipy integer flag; its value indexes ``values`` (trans: 0, 1, 2 = "N", "T", "C";
    lower: 0, 1 = "U", "L"), or ``complex_values`` for complex routines. None marks a value
    SciPy passes on but BLAS rejects (csyrk's "C", cherk's "T"): BLAS prints "On entry to ...
    had an illegal value" and returns, so the twin leaves every output as it is."""

    param: str
    values: tuple[str | None, ...] = ("N", "T", "C")
    complex_values: tuple[str | None, ...] | None = None
    other: str | None = None  # what any other int means (SciPy's trsv checks nothing: "T")


@dataclass(frozen=True)
class Output:
    """The array scipy returns (f2py ``intent(in,out)``). With ``overwrite`` (``intent(copy)``)
    it is written in place only when that flag is nonzero; without, whenever it can be.
    An optional one (default None) is allocated as zeros. ``unread_if_zero`` names the
    blasad scalar whose Python-zero value means the old value is not read (β)."""

    param: str
    overwrite: str | None = None
    off: str | None = None
    inc: str | None = None
    unread_if_zero: str | None = None


@dataclass(frozen=True)
class Result:
    """A value blasad's routine allocates and returns and SciPy returns (dot's result: a 0-d
    array, a buffer, where SciPy returns a Python number)."""

    param: str = ""  # no SciPy parameter


Source = Scalar | Array | Flag | Output | Result
REQUIRED: Any = object()  # marks a scipy parameter without default


@dataclass(frozen=True)
class Family:
    """One BLAS name: SciPy's signature and where each argument of blasad's routine comes from.

    signature: SciPy's call line, ``"c = gemm(alpha, a, b, beta=0.0, c=None, ...)"``, with the
        defaults SciPy documents (None where SciPy computes one, like axpy's ``n``, or
        allocates an array, like ger's ``a``).
    args: every argument of ``ba.SPECS[routine]`` → its :data:`Source`.
    count, count_rule: the SciPy parameter giving n to the first vector no matrix sizes
        (axpy's ``n``); by default n = (len(x) - offx) // abs(incx) ("floor"),
        (len(x) - 1 - offx) // abs(incx) + 1 ("ceil": rot, syr), or the smallest of that over
        the vectors ("ceil_min": syr2).
    dims, derived, kwargs: SciPy integer parameters that give dims (spmv's n, gbmv's m, kl,
        ku); dims computed from dims and flags (packed npk = n(n+1)/2, banded k1 = k + 1);
        blasad keyword arguments taken from SciPy parameters (gbmv's kl, ku, m).
    prefixes, names, routine: the prefixes SciPy has (the twin defines those blasad
        supports), SciPy's name where it is not prefix + name (zdscal), blasad's routine
        (default: the name).
    negative_inc_noop, positive_inc, unit_inc: incx < 0 does nothing (scal, asum: BLAS returns
        at once), is rejected (nrm2), only ±1 is allowed (ger) — as SciPy does.
    quick_return: dims of which a zero makes BLAS return at once where blasad's formula would
        still apply β (gemv with an empty A leaves y unscaled).
    zero_ld_rejected: matrices whose leading dimension OpenBLAS wants >= 1 where SciPy passes
        ld = rows: one without rows makes BLAS reject the call (it prints "On entry to ...
        had an illegal value"), leaving the outputs as they are (syrk with trans and k = 0).
    adapt: ``adapt(call)`` adjusts ``call.vals`` (blasad's arguments by name) where SciPy
        accepts what blasad does not (rotm's flag).
    """

    signature: str
    args: Mapping[str, Source]
    count: str | None = None
    count_rule: str = "floor"
    prefixes: str = "sdcz"
    routine: str = ""  # blasad's routine; defaults to the family's name
    names: Mapping[str, str] = field(default_factory=dict)
    negative_inc_noop: bool = False
    positive_inc: bool = False
    unit_inc: bool = False
    quick_return: tuple[str, ...] = ()
    zero_ld_rejected: tuple[str, ...] = ()
    adapt: Callable[[Any], None] | None = None  # adjusts blasad's arguments before the call
    dims: Mapping[str, str] = field(default_factory=dict)  # SciPy int parameter -> the dim it gives
    derived: Mapping[str, Callable[[Mapping[str, int], Mapping[str, str]], int]] = field(default_factory=dict)
    kwargs: Mapping[str, str] = field(default_factory=dict)  # blasad keyword argument <- SciPy parameter
    name: str = field(init=False)
    results: tuple[str, ...] = field(init=False)
    params: tuple[tuple[str, Any], ...] = field(init=False)  # (name, default or REQUIRED)

    def __post_init__(self) -> None:
        lhs, rhs = self.signature.split("=", 1)
        call = ast.parse(rhs.strip(), mode="eval").body
        assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name), self.signature
        params: list[tuple[str, Any]] = []
        for a in call.args:
            assert isinstance(a, ast.Name), self.signature
            params.append((a.id, REQUIRED))
        params += [(k.arg or "", ast.literal_eval(k.value)) for k in call.keywords]
        object.__setattr__(self, "name", call.func.id)
        object.__setattr__(self, "results", tuple(r.strip() for r in lhs.split(",")))
        object.__setattr__(self, "params", tuple(params))
        if not self.routine:
            object.__setattr__(self, "routine", self.name)

    @property
    def spec(self) -> Spec:
        """blasad's spec of the routine (KeyError while blasad does not have it)."""
        return ba.SPECS[self.routine]

    def scipy_call(self) -> str:
        """SciPy's call line: ``c = gemm(alpha, a, b, beta=0.0, ...)``."""
        ps = [p if d is REQUIRED else f"{p}={d!r}" for p, d in self.params]
        return f"{', '.join(self.results)} = {self.name}({', '.join(ps)})"


def _rotm_flag(call: Any) -> None:
    """BLAS reads rotm's flag param[0] as -2 (H = I) when it is exactly -2, else by its sign
    (< 0: -1, = 0: 0, > 0 or NaN: 1); blasad takes only those four values: pass a recorded
    copy of param with the flag BLAS would read (the flag has no adjoint)."""
    param = call.vals["param"]
    flag = float(param[0].real)
    canon = -2.0 if flag == -2 else -1.0 if flag < 0 else 0.0 if flag == 0 else 1.0
    if flag != canon:
        fixed = np.full(param.shape, -0.0, param.dtype)
        _copy_into(param, fixed)
        fixed[0] = canon
        call.vals["param"] = fixed


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
                f"a = {name}(alpha, x, lower=0, incx=1, offx=0, n=None, a=None, overwrite_a=0)",
                {
                    "alpha": Scalar("alpha"),
                    "x": Array("x", off="offx", inc="incx"),
                    "A": Output("a", overwrite="overwrite_a"),
                    "uplo": _LOWER,
                },
                count="n",
                count_rule="ceil",
                prefixes=prefixes,
            )
            for name, prefixes in (("syr", "sdcz"), ("her", "cz"))
        ),
        *(
            Family(
                f"a = {name}(alpha, x, y, lower=0, incx=1, offx=0, incy=1, offy=0, n=None, a=None, "
                "overwrite_a=0)",
                {
                    "alpha": Scalar("alpha"),
                    "x": Array("x", off="offx", inc="incx"),
                    "y": Array("y", off="offy", inc="incy"),
                    "A": Output("a", overwrite="overwrite_a"),
                    "uplo": _LOWER,
                },
                count="n",
                count_rule="ceil_min",
                prefixes=prefixes,
            )
            for name, prefixes in (("syr2", "sd"), ("her2", "cz"))
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
            )
            for name, result in (("trmm", "b"), ("trsm", "x"))
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
                {
                    "alpha": Scalar("alpha"),
                    "x": Array("x", off="offx", inc="incx"),
                    **({"y": Array("y", off="offy", inc="incy")} if y else {}),
                    "AP": Output("ap", overwrite="overwrite_ap"),
                    "uplo": _LOWER,
                },
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
                "x": Array("x", off="offx", inc="incx", check="ny"),
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

# SciPy's prefix rules (scipy.linalg.blas.find_best_blas_type and _blas_alias).
_TYPE_SCORE = {c: 1 for c in "?bBhHef"} | {c: 2 for c in "iIlLqQdg"} | {"F": 3, "D": 4, "G": 4}
_TYPE_CONV: dict[int, tuple[str, np.dtype[Any]]] = {
    i: (p, np.dtype(t)) for i, p, t in ((1, "s", "f4"), (2, "d", "f8"), (3, "c", "c8"), (4, "z", "c16"))
}
_PREFIX_DTYPE: dict[str, np.dtype[Any]] = {p: dt for p, dt in _TYPE_CONV.values()}
_ALIAS = {"cnrm2": "scnrm2", "znrm2": "dznrm2", "cdot": "cdotc", "zdot": "zdotc", "cger": "cgerc",
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


# -- argument conversion, as SciPy's f2py wrappers do it -----------------------------------------


def _compatible(x: np.ndarray, dtype: np.dtype[Any]) -> bool:
    """f2py uses an array as it is when kind and item size match and the byte order is native."""
    return x.dtype.kind == dtype.kind and x.itemsize == dtype.itemsize and x.dtype.isnative


def _as_array(v: Any, dtype: np.dtype[Any]) -> tuple[np.ndarray, bool]:
    """(v as an array of dtype, whether it is v's own memory)."""
    if isinstance(v, np.ndarray):
        if _compatible(v, dtype):
            return (v if v.dtype == dtype else v.view(dtype)), True
        return v.astype(dtype), False  # complex -> real warns and drops the imaginary part, as f2py
    return np.asarray(v, dtype=dtype), False


def _fixed_shape(fn: str, name: str, shape: tuple[int, ...], rank: int, strict: bool) -> tuple[int, ...]:
    """f2py's rank fix: missing trailing axes are added (the first takes what is left of the
    size: (3,) -> (3, 1), (0,) -> (1, 0)); extra axes of length 1 are dropped, and further
    extra axes are flattened in Fortran order (an error where f2py's dims are fixed)."""
    if len(shape) == rank:
        return shape
    if len(shape) < rank:
        kept = tuple(d or 1 for d in shape)
        size, rest = int(np.prod(shape)), int(np.prod(kept))
        return (*kept, size // rest, *(1,) * (rank - len(shape) - 1))
    big = [d for d in shape if d > 1]
    if 0 in shape or (strict and len(big) > rank):
        raise BlasError(f"{fn}: {name} with shape {shape} cannot be used as a rank-{rank} array")
    if len(big) <= rank:
        return (*big, *(1,) * (rank - len(big)))
    return (*big[: rank - 1], int(np.prod(big[rank - 1 :])))


def _flat(x: np.ndarray, order: str) -> np.ndarray | None:
    """x as a 1-D view in the given element order, or None when that needs a copy."""
    if x.ndim < 2 or min(x.shape) <= 1:
        return x.reshape(-1, order=order)  # type: ignore[call-overload]
    (r, c), (s0, s1) = x.shape, x.strides
    if (order == "F" and s1 == s0 * r) or (order == "C" and s0 == s1 * c):
        return x.reshape(-1, order=order)  # type: ignore[call-overload]
    return None


def _copy_routine() -> Any:
    """blasad's y ← x once it has one (BLAS copy, listed in ba.SPECS), else None."""
    copy = getattr(ba, "copy", None)
    if "copy" not in ba.SPECS or copy is None or list(inspect.signature(copy).parameters)[:2] != ["x", "y"]:
        return None
    return copy


_COPY = _copy_routine()


def _vcopy(x: np.ndarray, y: np.ndarray) -> None:
    """y ← x for vectors, as one recorded blasad call: y ← 1·x + y for real dtypes (y holds -0.0,
    so that is exact, and axpy has blasad's fastest path), blasad's copy for complex ones (1·x
    would turn an infinite part into NaN)."""
    if _COPY is not None and x.dtype.kind == "c":
        _COPY(x, y)
    else:
        ba.axpy(1.0, x, y)


def _copy_into(src: np.ndarray, dst: np.ndarray) -> None:
    """dst ← src elementwise with recorded blasad calls, so that the copy's adjoint
    (src̄ += dst̄) flows back. dst is a new array filled with -0.0."""
    if src.size == 0:
        return
    for order in "FC":
        s, d = _flat(src, order), _flat(dst, order)
        if s is not None and d is not None:
            _vcopy(s, d)
            return
    if src.shape[0] <= src.shape[1]:
        for i in range(src.shape[0]):
            _vcopy(src[i], dst[i])
    else:
        for j in range(src.shape[1]):
            _vcopy(src[:, j], dst[:, j])


def _reshaped(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """x reshaped in Fortran order: a view when possible, otherwise a recorded copy."""
    if x.shape == shape:
        return x
    v = x.reshape(shape, order="F")
    if v.size and not np.may_share_memory(v, x):  # NumPy copied: copy with blasad instead
        tmp = np.full(x.shape, -0.0, x.dtype, order="F")
        _copy_into(x, tmp)
        v = tmp.reshape(shape, order="F")
    return v


def _strided(x: np.ndarray, off: int, inc: int, n: int) -> np.ndarray:
    """The n elements BLAS addresses as (x + off, inc): x[off::inc], reversed when inc < 0."""
    step = abs(inc)
    v = x[off : off + (n - 1) * step + 1 : step] if n > 0 else x[off:off]
    return v[::-1] if inc < 0 else v


def _int(fn: str, name: str, v: Any, default: Any) -> int:
    if v is None and default is not None:
        v = default
    if isinstance(v, str | bytes):
        raise ValueError(f"{fn}: {name} ({v!r}) can't be converted to int")
    return int(v)


def _scalar(v: Any, default: Any, want: np.dtype[Any], takes: np.dtype[Any]) -> Any:
    """A Python number, or a 0-d array of the dtype blasad's argument takes (a differentiable
    buffer). want: what SciPy converts to; a complex number where BLAS takes a real one (her's
    alpha) is read by its real part, as BLAS reads it."""
    if v is None and default is not REQUIRED:
        v = default
    if v is None:  # NumPy would make it NaN; f2py refuses it
        raise TypeError(f"a required scalar can't be None (expected a {want} number)")
    if isinstance(v, np.ndarray) and v.size == 1 and v.dtype == takes:
        return v.reshape(())
    if want.kind == "f" and isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind == "c":
        raise IndexError(f"a 0-d complex array can't be converted to {want} (as in SciPy)")
    first = np.asarray(v).reshape(-1)[:1]
    if first.size == 0:
        raise BlasError(f"cannot use an empty array {v!r} as a scalar")
    if want.kind == "f" and first.dtype.kind == "c":
        first = first.real  # f2py takes the real part of a complex scalar, silently
    with np.errstate(over="ignore"):
        value = first.astype(want)[0]
    return (value.real if takes.kind == "f" else value).item()


# -- the one engine ----------------------------------------------------------------------------


class _Call:
    """One call of a twin: SciPy's arguments converted and checked as f2py does, then bound to
    the arguments of blasad's routine (``vals``, by blasad name)."""

    def __init__(self, fam: Family, dtype: np.dtype[Any], fn: str, values: tuple[Any, ...]) -> None:
        self.fam, self.dtype, self.fn, self.spec = fam, dtype, fn, fam.spec
        self.kw = dict(zip((p for p, _ in fam.params), values))
        self.defaults = dict(fam.params)
        self.vals: dict[str, Any] = {}
        self.flags: dict[str, str] = {}
        self.overwrite: dict[str, bool] = {}
        self.inputs: dict[str, np.ndarray] = {}  # input arrays, converted and rank-fixed
        self.given: dict[str, tuple[Any, np.ndarray, bool]] = {}  # output -> (object, converted, own)
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.dims: dict[str, int] = {}
        self.strides: dict[str, tuple[int, int]] = {}  # vector -> (off, inc)
        self.rejected = False  # BLAS would reject the call (and do nothing)

    def integer(self, param: str) -> int:
        return _int(self.fn, param, self.kw[param], self.defaults[param])

    def error(self, msg: str) -> BlasError:
        return BlasError(f"{self.fn}: {msg}")

    def flags_and_arrays(self) -> None:
        for arg in self.spec.args:
            src = self.fam.args[arg.name]
            rank = 2 if arg.kind == "matrix" else 1
            if isinstance(src, Flag):
                values = src.complex_values if src.complex_values and self.dtype.kind == "c" else src.values
                i = self.integer(src.param)
                if not 0 <= i < len(values) and src.other is None:
                    raise self.error(f"{src.param} must be in 0..{len(values) - 1}, got {i}")
                flag = values[i] if 0 <= i < len(values) else src.other
                self.rejected |= flag is None
                # a value BLAS rejects still shapes the call as SciPy reads it: nonzero transposes
                self.vals[arg.name] = self.flags[arg.name] = flag or ("T" if i else "N")
            elif isinstance(src, Array):
                conv, _ = _as_array(self.kw[src.param], self.dtype)
                x = _reshaped(conv, _fixed_shape(self.fn, src.param, conv.shape, rank, False))
                self.inputs[arg.name], self.shapes[arg.name] = x, x.shape
            elif isinstance(src, Output):
                if src.overwrite is not None:  # converted even when unused: None raises TypeError
                    self.overwrite[arg.name] = _int(self.fn, src.overwrite, self.kw[src.overwrite], None) != 0
                obj = self.kw[src.param]
                if obj is not None:
                    conv, own = _as_array(obj, self.dtype)
                    self.given[arg.name] = (obj, conv, own)
                    self.shapes[arg.name] = _fixed_shape(self.fn, src.param, conv.shape, rank, rank == 2)

    def bind_dims(self) -> None:
        """Matrices bind the dims first (through their trans flags), then vectors do, with their
        offsets and increments, checked as SciPy checks them; then optional outputs get shapes."""
        fam, dims = self.fam, self.dims
        where: dict[str, str] = {}
        for param, sym in fam.dims.items():  # SciPy's n, k, kl, ku, m
            dims[sym], where[sym] = self.integer(param), param
            if dims[sym] < 0:
                raise self.error(f"{param} must be >= 0, got {dims[sym]}")
        for sym, rule in fam.derived.items():  # packed and banded sizes
            dims[sym], where[sym] = rule(dims, self.flags), rule.__name__
        for arg in self.spec.args:  # input matrices, then the given output matrices
            if arg.kind == "matrix" and arg.name in self.inputs:
                self.bind(arg, where)
        for arg in self.spec.args:  # an output SciPy requires (trmm's b) gives its own dims
            src = fam.args[arg.name]
            if arg.kind == "matrix" and arg.name in self.given and self.defaults[src.param] is REQUIRED:
                self.bind(arg, where)
        count = None
        if fam.count is not None and self.kw[fam.count] is not None:
            count = _int(self.fn, fam.count, self.kw[fam.count], None)
        counted = False  # the count gives n to the first vector no matrix sizes
        for arg in self.spec.args:
            src = fam.args[arg.name]
            if arg.kind != "vector" or not isinstance(src, Array | Output):
                continue
            off = self.integer(src.off) if src.off else 0
            inc = self.integer(src.inc) if src.inc else 1
            if inc == 0 or (fam.positive_inc and inc < 0) or (fam.unit_inc and abs(inc) != 1):
                raise self.error(f"{src.inc} = {inc} is not allowed here")
            self.strides[arg.name] = (off, inc)
            sym = arg.dims[0]
            if arg.name not in self.shapes:  # an optional output, left out
                continue
            length = self.shapes[arg.name][0]
            if isinstance(src, Array) and src.size is not None:
                if length != src.size:
                    raise self.error(f"{src.param} must have {src.size} elements, got {length}")
                dims.setdefault(sym, length)
                continue
            if not 0 <= off < length:
                raise self.error(f"{src.off or 'offset'} = {off} is outside {src.param} (length {length})")
            if sym not in dims:
                dims[sym] = count if count is not None and not counted else self.default_count(sym)
                counted = True
            need = dims[src.check] if isinstance(src, Array) and src.check else dims[sym]
            if not length - off > (need - 1) * abs(inc):
                raise self.error(
                    f"{src.param} (length {length}) is too short for {need} elements "
                    f"from offset {off} with increment {inc}"
                )
        for arg in self.spec.args:
            src = fam.args[arg.name]
            if not isinstance(src, Output):
                continue
            if arg.kind == "vector" and arg.name not in self.shapes:  # SciPy's ly = 1 + off + (n-1)|inc|
                off, inc = self.strides[arg.name]
                length = 1 + off + (dims[arg.dims[0]] - 1) * abs(inc)
                if not 0 <= off < length:
                    raise self.error(
                        f"{src.off or 'offset'} = {off} is outside {src.param} (length {length})"
                    )
                self.shapes[arg.name] = (length,)
            elif arg.kind == "matrix":
                optional = self.defaults[src.param] is None  # its dims are fixed by the others
                if optional and arg.name in self.given and self.given[arg.name][1].size == 0:
                    raise self.error(f"{src.param} is empty; f2py cannot fix its dimensions (nor can SciPy)")
                want = tuple(dims[s] for s in arg.dims)
                if self.shapes.setdefault(arg.name, want) != want:
                    raise self.error(f"{src.param} has shape {self.shapes[arg.name]}, expected {want}")

    def bind(self, arg: Arg, where: dict[str, str]) -> None:
        """Bind the dims of a matrix argument (through its trans flag), checking earlier ones.
        A loose dim larger than the bound one is cut to its leading block, as BLAS reads it."""
        src = self.fam.args[arg.name]
        transposed = bool(arg.trans and self.flags[arg.trans] != "N")
        shape = self.shapes[arg.name][::-1] if transposed else self.shapes[arg.name]
        if isinstance(src, Array) and src.loose:
            cut = tuple(
                slice(self.dims[sym]) if sym in src.loose and self.dims.get(sym, d) < d else slice(None)
                for sym, d in zip(arg.dims, shape)
            )
            x = self.inputs[arg.name]
            x = x[cut[::-1]] if transposed else x[cut]
            self.inputs[arg.name] = x
            self.shapes[arg.name] = x.shape
            shape = x.shape[::-1] if transposed else x.shape
        param = src.param
        for sym, d in zip(arg.dims, shape):
            if sym in self.dims and self.dims[sym] != d:
                raise self.error(f"{param} gives {sym} = {d} but {where[sym]} gives {sym} = {self.dims[sym]}")
            self.dims[sym], where[sym] = d, param

    def default_count(self, sym: str) -> int:
        """SciPy's default n for the vectors of dim sym: from the first of them, or the smallest
        over all of them ("ceil_min")."""
        counts = []
        for arg in self.spec.args:
            src = self.fam.args[arg.name]
            if arg.kind == "vector" and arg.dims[0] == sym and arg.name in self.shapes:
                assert isinstance(src, Array | Output)
                off, inc = (
                    (self.integer(src.off) if src.off else 0),
                    abs(self.integer(src.inc) if src.inc else 1),
                )
                length = self.shapes[arg.name][0]
                rule = self.fam.count_rule
                counts.append((length - off) // inc if rule == "floor" else (length - 1 - off) // inc + 1)
                if rule != "ceil_min":
                    break
        return min(counts)

    def view(self, arg: Arg, x: np.ndarray) -> np.ndarray:
        """What blasad gets for x: a vector's n strided elements, a matrix as it is."""
        if arg.kind != "vector":
            return x
        off, inc = self.strides[arg.name]
        n = 0 if inc < 0 and self.fam.negative_inc_noop else self.dims[arg.dims[0]]
        return _strided(x, off, inc, n)

    def reads_old(self, arg: Arg, src: Output) -> bool:
        """Does the routine read the output's old value (or keep some of it)?"""
        zero = src.unread_if_zero
        if arg.kind == "vector" or zero is None:
            return True
        coef = self.vals[zero]
        return isinstance(coef, np.ndarray) or coef != 0

    def output(self, arg: Arg, src: Output) -> np.ndarray:
        """Bind an output: the caller's array when SciPy would write into it, else a new one
        (a recorded copy of the caller's array when the routine reads it). Returns the result."""
        if arg.name not in self.given:
            base = result = np.zeros(self.shapes[arg.name], self.dtype, order="F")
        else:
            obj, conv, own = self.given[arg.name]
            others = [*self.inputs.values(), *(g[1] for k, g in self.given.items() if k != arg.name)]
            in_place = (
                own
                and self.overwrite.get(arg.name, True)
                and conv.flags.f_contiguous
                and conv.flags.aligned
                and conv.flags.writeable
                and not any(np.may_share_memory(conv, x) and np.shares_memory(conv, x) for x in others)
            )
            if in_place:
                base, result = conv, obj
            else:
                base = result = np.full(conv.shape, -0.0, self.dtype, order="F")  # f2py's copy: same shape
                if self.reads_old(arg, src):
                    _copy_into(conv, base)
        self.vals[arg.name] = self.view(arg, base.reshape(self.shapes[arg.name], order="F"))  # a view
        return result

    def run(self) -> Any:
        self.flags_and_arrays()
        self.bind_dims()
        for arg in self.spec.args:
            src = self.fam.args[arg.name]
            if isinstance(src, Scalar):
                want = real_dtype(self.dtype) if src.real else self.dtype  # what SciPy converts to
                takes = real_dtype(self.dtype) if arg.real else self.dtype  # what blasad's argument takes
                self.vals[arg.name] = _scalar(self.kw[src.param], self.defaults[src.param], want, takes)
            elif isinstance(src, Array):
                self.vals[arg.name] = self.view(arg, self.inputs[arg.name])
            elif isinstance(src, Result):
                self.vals[arg.name] = None  # blasad allocates it
        results = [
            self.output(arg, src)
            for arg in self.spec.args
            if isinstance(src := self.fam.args[arg.name], Output)
        ]
        if self.fam.adapt is not None:
            self.fam.adapt(self)
        self.rejected |= any(self.shapes[m][0] == 0 for m in self.fam.zero_ld_rejected if m in self.shapes)
        out = None
        if not self.rejected and not any(self.dims[d] == 0 for d in self.fam.quick_return):
            kwargs = {k: _int(self.fn, p, self.kw[p], None) for k, p in self.fam.kwargs.items()}
            out = getattr(ba, self.fam.routine)(*(self.vals[a.name] for a in self.spec.args), **kwargs)
        if not results:
            return out
        return results[0] if len(results) == 1 else tuple(results)


def _run(fam: Family, dtype: np.dtype[Any], fn: str, values: tuple[Any, ...]) -> Any:
    """Convert SciPy's arguments, check them like f2py, call blasad's routine, return SciPy's result."""
    return _Call(fam, dtype, fn, values).run()


# -- the twin functions ------------------------------------------------------------------------


def _default(src: Source | None, default: Any, dtype: np.dtype[Any]) -> Any:
    """SciPy shows scalar defaults in the routine's type: beta=0.0 for d, 0j for z."""
    if isinstance(src, Scalar) and default is not REQUIRED and default is not None:
        return (real_dtype(dtype) if src.real else dtype).type(default).item()
    return default


def _doc(fam: Family, prefix: str, fn: str, call: str) -> str:
    spec, dtype = fam.spec, _PREFIX_DTYPE[prefix]
    lines = [
        f"{spec.formula}  ({dtype} twin of scipy.linalg.blas.{fn}, differentiable).",
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
            lines.append(f"    returned: {arg.name}, a 0-d {real_dtype(dtype) if arg.real else dtype} array")
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
    fn = fam.names.get(prefix) or _ALIAS.get(prefix + fam.name, prefix + fam.name)
    params = [(p, _default(next((s for s in fam.args.values() if s.param == p), None), d, dtype))
              for p, d in fam.params]  # fmt: skip
    sig = ", ".join(p if d is REQUIRED else f"{p}={d!r}" for p, d in params)
    names = ", ".join(p for p, _ in params)
    namespace: dict[str, Any] = {"_run": partial(_run, fam, dtype, fn)}
    exec(f"def {fn}({sig}):\n    return _run(({names},))\n", namespace)
    f = namespace[fn]
    f.__module__ = __name__
    f.__qualname__ = fn
    f.__doc__ = _doc(fam, prefix, fn, f"{', '.join(fam.results)} = {fn}({sig})")
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
            and _fam.routine in ba.SPECS
            and _p in getattr(_fam.spec, "dtypes", "sdcz")
        ):
            _f = _make(_fam, _p)
            TWINS[_f.__name__] = _f
globals().update(TWINS)


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
        fn = _ALIAS.get(prefix + name, prefix + name)
        f = TWINS.get(fn)
        if f is None:
            raise ValueError(
                f"BLAS function {fn} could not be found (blasad.linalg.blas has {', '.join(sorted(TWINS))})"
            )
        f.int_dtype = np.dtype(np.int64 if ilp64 else np.intc)
        funcs.append(f)
    return funcs[0] if unpack else funcs


def __getattr__(name: str) -> BlasFunction:
    """Twins are defined from the table at import; this only types them for mypy."""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FAMILIES", "BlasError", "Family", "find_best_blas_type", "get_blas_funcs", *sorted(TWINS)]
