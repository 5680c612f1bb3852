"""Family(signature, {blasad argument: Source}) is one row of the SciPy twin's table: its vocabulary.

A :class:`Family` holds SciPy's signature of one BLAS name and, for every argument of blasad's
routine, the :data:`Source` it comes from: a :class:`Scalar`, an :class:`Array`, a
:class:`Flag`, an :class:`Output` or a :class:`Result`. :class:`BlasError` is the error SciPy's
wrappers raise as ``_fblas.error``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import blasad as ba
from blasad.specs import Spec


class BlasError(ValueError):
    """A check of SciPy's BLAS wrapper failed (SciPy raises its f2py ``_fblas.error``)."""


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
        accepts what blasad does not (rotm's flag), or marks a call BLAS returns from at once
        (``call.rejected``: iamax with n <= 0).
    result: ``result(call, out)`` is SciPy's result from what blasad's routine returned (None
        when it was not called) where that is not the outputs or blasad's return value: rotg's
        c and s of its four written arguments, iamax's -1 for a call BLAS does not search.
    routine_spec: blasad's spec of the arguments where the routine has none in ``ba.SPECS``
        (iamax: not differentiable).
    blocks: ``blocks(call)`` checks the input matrices as SciPy does where its shape rules are
        not blasad's dims, and cuts them (``call.inputs``, ``call.shapes``) to the leading
        blocks BLAS reads, before the dims are bound (symm's ``a`` of m x p and ``b`` of p x n,
        trmm's ``a`` larger than ka x ka).
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
    blocks: Callable[[Any], None] | None = None  # checks and cuts the input matrices before binding
    result: Callable[[Any, Any], Any] | None = None  # SciPy's result from blasad's return value
    routine_spec: Spec | None = None  # the spec of a routine outside ba.SPECS (iamax)
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
        return self.routine_spec if self.routine_spec is not None else ba.SPECS[self.routine]

    def scipy_call(self, name: str = "", params: Sequence[tuple[str, Any]] = ()) -> str:
        """SciPy's call line: ``c = gemm(alpha, a, b, beta=0.0, ...)``; a twin's with its own name
        and typed defaults (``c = dgemm(...)``)."""
        return f"{', '.join(self.results)} = {name or self.name}({parameter_list(params or self.params)})"


def parameter_list(params: Iterable[tuple[str, Any]]) -> str:
    """``alpha, a, b, beta=0.0``: parameters as a def line writes them (REQUIRED: no default)."""
    return ", ".join(p if d is REQUIRED else f"{p}={d!r}" for p, d in params)
