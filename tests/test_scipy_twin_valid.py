"""Random valid calls of every twin against SciPy, call by call, drawn from a model of SciPy's own checks.

Every routine that ``blasad.linalg.blas`` exports, in every prefix, gets ``DRAWS`` random calls
that SciPy 1.17's wrappers and BLAS accept: random sizes (0 where BLAS allows it), non-square
and band shapes (m ≠ n, kl ≠ ku, a band wider than the matrix, band and symm/trmm matrices
with more rows or columns than BLAS reads), every flag value BLAS takes, offsets and positive
or negative increments, optional counts, outputs and overwrite flags given or left to their
defaults, α and β zero or not, and required arguments by position or by keyword. SciPy's
function and the twin get the same call on their own copies of the arrays (the draw is made
twice from one seed). Both must succeed with the same results (each returned array of the
same shape and dtype, equal within the precision's tolerance; a Python number from SciPy is a
0-d array from the twin), return the same argument objects, and leave the arguments equal; or
both must raise, the twin a :class:`BlasError` where SciPy raises its ``_fblas.error``. The
draws are valid by construction, so SciPy rejecting one fails the test too: the model below is
then wrong.

Why ``test_scipy_twin.py`` did not catch ``?gbmv`` checking ``x`` against ``y``'s length (the
check SciPy had before 1.12, scipy/scipy#18652; issue 12, item 10): its random calls are drawn
from the twin's own table. ``random_call`` made every vector at least as long as the dim its
``Array.check`` named (a field gone with the fix), so gbmv's ``x`` always had ``len(y)``
elements or more: exactly the calls the wrong check accepts. The calls SciPy answers and the
twin rejected, an ``x`` of n elements with m > n (or of m elements with trans and n > m), were
never drawn. Calls drawn from the table under test can only find what the table gets right.
The same blind spot hid four more rules stricter than SciPy's: a packed ``ap`` was always
drawn with at least one element (``offset = 0 is outside ap``, though SciPy only asks
``len(ap) >= n(n+1)/2``, so n = 0 with an empty ``ap`` is valid), a band matrix with k + 1
rows or more (SciPy's ld is max(rows, 1), so a 0 x 0 one is valid for n = 0 and one
diagonal), and symm/hemm's ``a`` and trmm's ``a`` with the spec's square shape (SciPy's symm
takes ``a`` of m x p and ``b`` of p x n with p >= m, side R alike, and its trmm any ``a`` with
ka <= columns <= max(rows, 1); BLAS reads the leading blocks). The generators here are written
from SciPy's wrappers (``fblas_l1.pyf.src``, ``fblas_l2.pyf.src``, ``fblas_l3.pyf.src`` of
SciPy 1.17) and BLAS's argument checks, one per routine, and read nothing of the twin but its
list of names.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest
from scipy.linalg import blas as sp

import blasad as ba
from blasad.linalg import blas as tw
from blasad.linalg.blas import BlasError

DRAWS = 24  # random valid calls per twin and dispatch path
RTOL = {4: 2e-5, 8: 1e-12}  # by the size of the real component

# SciPy's names whose routine or dtype is not their first letter + the rest
_SPECIAL = {
    "csscal": ("rscal", "c"),
    "zdscal": ("rscal", "z"),
    "scasum": ("asum", "c"),
    "dzasum": ("asum", "z"),
    "scnrm2": ("nrm2", "c"),
    "dznrm2": ("nrm2", "z"),
    "csrot": ("rot", "c"),
    "zdrot": ("rot", "z"),
    **{f"i{p}amax": ("iamax", p) for p in "sdcz"},
}
# SciPy's c of crotg/zrotg is complex, but BLAS writes only its real part (c is real): the
# imaginary part SciPy returns is whatever its buffer held. The twin returns the real c.
_UNSET_IMAG = {"crotg": (0,), "zrotg": (0,)}
_DTYPES = {"s": np.float32, "d": np.float64, "c": np.complex64, "z": np.complex128}


class Draw:
    """One random valid call being drawn: SciPy's required parameters in order, and the
    optional ones given (each left to its default at random when it has the default value)."""

    def __init__(self, rng: np.random.Generator, routine: str, dtype: Any) -> None:
        self.rng, self.routine, self.dtype = rng, routine, np.dtype(dtype)
        self.complex = self.dtype.kind == "c"
        self.required: list[tuple[str, Any]] = []
        self.optional: dict[str, Any] = {}

    # -- choices

    def coin(self, p: float = 0.5) -> bool:
        return bool(self.rng.random() < p)

    def randint(self, lo: int, hi: int) -> int:
        """lo..hi, both included."""
        return int(self.rng.integers(lo, hi + 1))

    def pick(self, choices: tuple[Any, ...]) -> Any:
        return choices[int(self.rng.integers(len(choices)))]

    def size(self, lo: int = 0) -> int:
        """A dim: lo..5, small ones more often."""
        return lo + int(self.rng.integers(0, 6 - lo))

    # -- parameters

    def req(self, name: str, value: Any) -> Any:
        self.required.append((name, value))
        return value

    def opt(self, name: str, value: Any, default: Any) -> Any:
        """An optional parameter: given unless it has its default value (then at random)."""
        if value != default or self.coin():
            self.optional[name] = value
        return value

    def flag(self, name: str, choices: tuple[int, ...] = (0, 1)) -> int:
        return int(self.opt(name, self.pick(choices), 0))

    def number(self, real: bool = False, zero: float = 0.2) -> Any:
        """A Python number of the dtype (real: a float), zero with probability `zero`."""
        if self.coin(zero):
            return 0.0
        x = float(self.rng.standard_normal())
        return complex(x, float(self.rng.standard_normal())) if self.complex and not real else x

    def scalar(self, name: str, real: bool = False, default: Any = None) -> Any:
        """α (required: default None) or β (optional, SciPy's default 0)."""
        value = self.number(real)
        return self.req(name, value) if default is None else self.opt(name, value, default)

    def values(self, n: int, scale: float = 1.0) -> np.ndarray:
        x = self.rng.standard_normal(n) * scale
        if self.complex:
            x = x + 1j * self.rng.standard_normal(n) * scale
        return x.astype(self.dtype)

    def vector(self, length: int, scale: float = 1.0) -> np.ndarray:
        """A 1-D array: contiguous, every other element of a longer one, or reversed."""
        layout = self.pick(("contig", "contig", "step", "rev"))
        if layout == "step":
            return self.values(2 * length, scale)[::2]
        x = self.values(length, scale)
        return x[::-1] if layout == "rev" else x

    def matrix(self, r: int, c: int, scale: float = 1.0) -> np.ndarray:
        """An r x c array: C or Fortran order, a block of a larger Fortran array, or strided."""
        layout = self.pick(("F", "F", "C", "block", "step"))
        if layout == "F":
            return self.values(r * c, scale).reshape((r, c), order="F")
        if layout == "C":
            return self.values(r * c, scale).reshape(r, c)
        if layout == "block":
            return self.values((r + 1) * (c + 2), scale).reshape((r + 1, c + 2), order="F")[1:, 1 : c + 1]
        return self.values(2 * r * c, scale).reshape(2 * r, c)[::2]

    def band(self, rows: int, n: int, scale: float = 1.0) -> np.ndarray:
        """A band matrix of n columns and `rows` rows (k + 1, kl + ku + 1), sometimes more; one
        with a row of no columns may also be 0 x 0 (SciPy's ld is max(rows, 1))."""
        if rows == 1 and n == 0 and self.coin():
            return self.matrix(0, 0)
        return self.matrix(rows + self.randint(0, 2) * self.coin(0.3), n, scale)

    def stride(self, off: str, inc: str, positive: bool = False) -> tuple[int, int]:
        """A vector's offset and increment (positive: nrm2's), given or left to (0, 1)."""
        o = self.opt(off, self.randint(0, 2), 0)
        i = self.opt(inc, self.pick((1, 1, 2, 3) if positive else (1, 1, 2, 3, -1, -2)), 1)
        return o, i

    def strided(self, n: int, off: str, inc: str) -> np.ndarray:
        """A vector argument of n elements from an offset, with an increment, and some slack."""
        o, i = self.stride(off, inc)
        return self.vector(o + max(n - 1, 0) * abs(i) + 1 + self.randint(0, 2))

    def output(self, name: str, length: int, overwrite: str) -> None:
        """An optional output vector y of `length` elements from offy with incy: given, or left
        out (SciPy allocates zeros; only when it has elements); and its overwrite flag."""
        o, i = self.stride("off" + name, "inc" + name)
        if length == 0 or self.coin(0.7):
            self.optional[name] = self.vector(o + max(length - 1, 0) * abs(i) + 1 + self.randint(0, 2))
        self.opt(overwrite, self.randint(0, 1), 0)

    def counted(self, n: int, names: tuple[str, ...], ceil: bool = False, positive: bool = False) -> None:
        """Vectors x (and y) of n elements: SciPy takes n from x, (len - off) // |inc| or with
        `ceil` (len - 1 - off) // |inc| + 1, unless n is given (always for n = 0)."""
        give = n == 0 or self.coin(0.4)
        for j, name in enumerate(names):
            o, i = self.stride("off" + name, "inc" + name, positive)
            step = abs(i)
            if j == 0 and not give:  # the length that gives n
                length = o + (1 + (n - 1) * step if ceil else n * step) + self.randint(0, step - 1)
            else:
                length = o + max(n - 1, 0) * step + 1 + self.randint(0, 2)
            self.req(name, self.vector(length))
        if give:
            self.optional["n"] = n

    def call(self) -> tuple[list[Any], dict[str, Any]]:
        """Some leading required parameters by position, the rest by keyword."""
        k = self.randint(0, len(self.required))
        return [v for _, v in self.required[:k]], dict(self.required[k:]) | self.optional


# -- well-conditioned triangles for the solves --------------------------------------------------


def _dense_diagonal(a: np.ndarray) -> None:
    for j in range(min(a.shape)):
        a[j, j] += 3


def _band_diagonal(a: np.ndarray, k: int, lower: int) -> None:
    if a.size:
        a[0 if lower else k, :] += 3


def _packed_diagonal(ap: np.ndarray, n: int, lower: int) -> None:
    for j in range(n):
        ap[j + (2 * n - j - 1) * j // 2 if lower else j + j * (j + 1) // 2] += 3


# -- one generator per routine, from SciPy's wrapper ----------------------------------------------


def _gemm(d: Draw) -> None:
    ta, tb = d.pick((0, 1, 2)), d.pick((0, 1, 2))
    m, n, k = d.size(1), d.size(), d.size()
    if tb == 0 or ta != 0:
        k = max(k, 1)  # b's (or a's) rows are BLAS's ld: at least 1
    if tb != 0:
        n = max(n, 1)
    d.scalar("alpha")
    d.req("a", d.matrix(*((k, m) if ta else (m, k))))
    d.req("b", d.matrix(*((n, k) if tb else (k, n))))
    d.scalar("beta", default=0.0)
    if n and d.coin(0.7):  # (SciPy rejects an empty c: f2py cannot fix its dims)
        d.optional["c"] = d.matrix(m, n)
    d.opt("trans_a", ta, 0)
    d.opt("trans_b", tb, 0)
    d.opt("overwrite_c", d.randint(0, 1), 0)


def _gemv(d: Draw) -> None:
    m, n, trans = d.size(1), d.size(), d.pick((0, 1, 2))
    rows, cols = (n, m) if trans else (m, n)
    d.scalar("alpha")
    d.req("a", d.matrix(m, n))
    d.req("x", d.strided(cols, "offx", "incx"))
    d.scalar("beta", default=0.0)
    d.output("y", rows, "overwrite_y")
    d.opt("trans", trans, 0)


def _level1(rule: str, names: tuple[str, ...], scalar: str = "") -> Callable[[Draw], None]:
    """axpy, copy, swap, dot*, nrm2, asum, scal and the rotations: n from the first vector."""

    def draw(d: Draw) -> None:
        n = d.size()
        if scalar == "a_first":  # scal(a, x): a comes first
            d.req("a", d.number(real=d.routine == "rscal"))
        d.counted(n, names, ceil=rule == "ceil", positive=d.routine == "nrm2")
        if scalar == "a":  # axpy's optional a
            d.opt("a", d.number(), 1.0)
        elif scalar == "cs":
            d.req("c", d.number(real=True, zero=0.1))
            d.req("s", d.number(real=True, zero=0.1))
        elif scalar == "param":
            param = d.rng.standard_normal(5).astype(d.dtype)
            param[0] = d.pick((-2.0, -1.0, 0.0, 1.0))
            d.req("param", param)
        if d.routine in ("rot", "rotm", "rscal"):
            for name in names:
                d.opt("overwrite_" + name, d.randint(0, 1), 0)

    return draw


def _rotg(d: Draw) -> None:
    """c, s = rotg(a, b): numbers, zero at times (rotg's branches a = 0, b = 0)."""
    d.req("a", d.number())
    d.req("b", d.number())


def _rotmg(d: Draw) -> None:
    """param = rotmg(d1, d2, x1, y1): real numbers, zero at times, d1 and d2 of either sign, and
    scales that reach rotmg's rescaling by 4096² (|d| below 4096⁻² or above 4096² afterwards)."""
    for name in ("d1", "d2", "x1", "y1"):
        scale = d.pick((1.0, 1.0, 1e-9, 1e9)) if name in ("d1", "d2") else 1.0
        d.req(name, d.number(real=True) * scale)


def _iamax(d: Draw) -> None:
    """k = i?amax(x, n, offx, incx): n from x, or given (0 included); incx < 0 gives -1."""
    d.counted(d.size(), ("x",))


def _symv(d: Draw) -> None:  # symv, hemv
    n = d.size(1)
    d.scalar("alpha")
    d.req("a", d.matrix(n, n))
    d.req("x", d.strided(n, "offx", "incx"))
    d.scalar("beta", default=0.0)
    d.output("y", n, "overwrite_y")
    d.flag("lower")


def _trmv(d: Draw) -> None:  # trmv, trsv (SciPy's trsv allows n = 0: lda = max(n, 1))
    n = d.size(1 if d.routine == "trmv" else 0)
    lower, diag = d.randint(0, 1), d.randint(0, 1)
    a = d.matrix(n, n, scale=0.3)
    _dense_diagonal(a)
    d.req("a", a)
    d.req("x", d.strided(n, "offx", "incx"))
    d.opt("lower", lower, 0)
    d.flag("trans", (0, 1, 2))
    d.opt("diag", diag, 0)
    d.opt("overwrite_x", d.randint(0, 1), 0)


def _ger(d: Draw) -> None:  # SciPy 1.17.1 segfaults on an empty x or y
    m, n = d.size(1), d.size(1)
    d.scalar("alpha")
    d.req("x", d.vector(m))
    d.req("y", d.vector(n))
    d.opt("incx", d.pick((1, -1)), 1)
    d.opt("incy", d.pick((1, -1)), 1)
    if d.coin(0.7):
        d.optional["a"] = d.matrix(m, n)
    for name in ("overwrite_x", "overwrite_y"):
        d.opt(name, d.randint(0, 1), 1)
    d.opt("overwrite_a", d.randint(0, 1), 0)


def _syr(d: Draw) -> None:  # syr, her, syr2, her2: a is n x n with ld n, so n >= 1
    n = d.size(1)
    rank2 = d.routine in ("syr2", "her2")
    d.scalar("alpha", real=d.routine == "her")
    d.counted(n, ("x", "y") if rank2 else ("x",), ceil=True)
    d.flag("lower")
    if d.coin(0.7):
        d.optional["a"] = d.matrix(n, n)
    d.opt("overwrite_a", d.randint(0, 1), 0)


def _symm(d: Draw) -> None:  # symm, hemm: a's extra columns (side L) or rows (side R) are not read
    side = d.randint(0, 1)
    m, n = d.size(1), d.size(1)
    ka = n if side else m
    p = ka + (d.randint(0, 2) if d.coin(0.3) else 0)  # b's rows (L) / columns (R): BLAS's ld >= ka
    d.scalar("alpha")
    d.req("a", d.matrix(*((p, n) if side else (m, p))))
    d.req("b", d.matrix(*((m, p) if side else (p, n))))
    d.scalar("beta", default=0.0)
    if d.coin(0.7):
        d.optional["c"] = d.matrix(m, n)
    d.opt("side", side, 0)
    d.flag("lower")
    d.opt("overwrite_c", d.randint(0, 1), 0)


def _syrk(d: Draw) -> None:  # syrk, herk, syr2k, her2k
    herm = d.routine in ("herk", "her2k")
    rank2 = d.routine in ("syr2k", "her2k")
    trans = d.pick((0, 2) if herm else (0, 1) if d.complex else (0, 1, 2))  # what BLAS accepts
    n, k = d.size(1), d.size(1 if trans else 0)
    shape = (k, n) if trans else (n, k)
    d.scalar("alpha", real=d.routine == "herk")
    d.req("a", d.matrix(*shape))
    if rank2:  # b may have more rows (N) or columns (T) than BLAS reads
        extra = d.randint(0, 2) if d.coin(0.3) else 0
        d.req("b", d.matrix(shape[0], shape[1] + extra) if trans else d.matrix(shape[0] + extra, shape[1]))
    d.opt("beta", d.number(real=herm), 0.0)
    if d.coin(0.7):
        d.optional["c"] = d.matrix(n, n)
    d.opt("trans", trans, 0)
    d.flag("lower")
    d.opt("overwrite_c", d.randint(0, 1), 0)


def _trmm(d: Draw) -> None:  # trmm, trsm
    side, lower, diag = d.randint(0, 1), d.randint(0, 1), d.randint(0, 1)
    m, n = d.size(), d.size()
    ka = n if side else m
    cols, rows = ka, ka
    if d.routine == "trmm" and d.coin(0.3):  # SciPy's trmm: ka <= a's columns <= a's rows
        cols = ka + d.randint(0, 2)
        rows = cols + d.randint(0, 2)
    d.scalar("alpha")
    a = d.matrix(rows, cols, scale=0.3)
    _dense_diagonal(a)
    d.req("a", a)
    d.req("b", d.matrix(m, n))
    d.opt("side", side, 0)
    d.opt("lower", lower, 0)
    d.flag("trans_a", (0, 1, 2))
    d.opt("diag", diag, 0)
    d.opt("overwrite_b", d.randint(0, 1), 0)


def _packed(n: int) -> int:
    return n * (n + 1) // 2


def _spmv(d: Draw) -> None:  # spmv, hpmv, sbmv, hbmv
    band = d.routine in ("sbmv", "hbmv")
    n = d.size()
    k = d.size() if band else 0  # k > n - 1 allowed
    d.req("k" if band else "n", k if band else n)
    d.scalar("alpha")
    if band:
        d.req("a", d.band(k + 1, n))
    else:
        d.req("ap", d.vector(_packed(n) + d.randint(0, 2) * d.coin(0.3)))
    d.req("x", d.strided(n, "offx", "incx"))
    d.scalar("beta", default=0.0)
    d.output("y", n, "overwrite_y")
    d.flag("lower")


def _tpmv(d: Draw) -> None:  # tpmv, tpsv, tbmv, tbsv
    band = d.routine in ("tbmv", "tbsv")
    n, k = d.size(), d.size()
    lower, diag = d.randint(0, 1), d.randint(0, 1)
    d.req("k" if band else "n", k if band else n)
    if band:
        a = d.band(k + 1, n, scale=0.3)
        _band_diagonal(a, k, lower)
    else:
        a = d.vector(_packed(n) + d.randint(0, 2) * d.coin(0.3), scale=0.3)
        _packed_diagonal(a, n, lower)
    d.req("a" if band else "ap", a)
    d.req("x", d.strided(n, "offx", "incx"))
    d.opt("lower", lower, 0)
    d.flag("trans", (0, 1, 2))
    d.opt("diag", diag, 0)
    d.opt("overwrite_x", d.randint(0, 1), 0)


def _spr(d: Draw) -> None:  # spr, hpr, spr2, hpr2
    rank2 = d.routine in ("spr2", "hpr2")
    n = d.size()
    d.req("n", n)
    d.scalar("alpha", real=d.routine == "hpr")
    d.req("x", d.strided(n, "offx", "incx"))
    if rank2:
        d.req("y", d.strided(n, "offy", "incy"))
    d.req("ap", d.vector(_packed(n) + d.randint(0, 2) * d.coin(0.3)))
    d.flag("lower")
    d.opt("overwrite_ap", d.randint(0, 1), 0)


def _gbmv(d: Draw) -> None:
    """A general m x n band matrix, m ≠ n and kl ≠ ku at random; SciPy asks m >= kl + ku + 1
    and n == a's columns; x has n elements (m with trans), y m (n with trans)."""
    kl, ku, trans = d.randint(0, 3), d.randint(0, 3), d.pick((0, 1, 2))
    m, n = kl + ku + 1 + d.randint(0, 3), d.size()
    nx, ny = (m, n) if trans else (n, m)
    for name, value in (("m", m), ("n", n), ("kl", kl), ("ku", ku)):
        d.req(name, value)
    d.scalar("alpha")
    d.req("a", d.band(kl + ku + 1, n))
    d.req("x", d.strided(nx, "offx", "incx"))
    d.scalar("beta", default=0.0)
    d.output("y", ny, "overwrite_y")
    d.opt("trans", trans, 0)


GENERATORS: dict[str, Callable[[Draw], None]] = {
    "gemm": _gemm,
    "gemv": _gemv,
    "axpy": _level1("floor", ("x", "y"), scalar="a"),
    "copy": _level1("floor", ("x", "y")),
    "swap": _level1("floor", ("x", "y")),
    "dot": _level1("floor", ("x", "y")),
    "dotu": _level1("floor", ("x", "y")),
    "dotc": _level1("floor", ("x", "y")),
    "nrm2": _level1("floor", ("x",)),
    "asum": _level1("floor", ("x",)),
    "scal": _level1("floor", ("x",), scalar="a_first"),
    "rscal": _level1("floor", ("x",), scalar="a_first"),
    "rot": _level1("ceil", ("x", "y"), scalar="cs"),
    "rotm": _level1("floor", ("x", "y"), scalar="param"),
    "rotg": _rotg,
    "rotmg": _rotmg,
    "iamax": _iamax,
    **dict.fromkeys(("symv", "hemv"), _symv),
    **dict.fromkeys(("trmv", "trsv"), _trmv),
    **dict.fromkeys(("ger", "geru", "gerc"), _ger),
    **dict.fromkeys(("syr", "her", "syr2", "her2"), _syr),
    **dict.fromkeys(("symm", "hemm"), _symm),
    **dict.fromkeys(("syrk", "herk", "syr2k", "her2k"), _syrk),
    **dict.fromkeys(("trmm", "trsm"), _trmm),
    **dict.fromkeys(("spmv", "hpmv", "sbmv", "hbmv"), _spmv),
    **dict.fromkeys(("tpmv", "tpsv", "tbmv", "tbsv"), _tpmv),
    **dict.fromkeys(("spr", "hpr", "spr2", "hpr2"), _spr),
    "gbmv": _gbmv,
}


def routine_of(name: str) -> tuple[str, Any]:
    """(the routine's generator key, dtype) of SciPy's name."""
    routine, prefix = _SPECIAL.get(name, (name[1:], name[0]))
    return routine, np.dtype(_DTYPES[prefix])


def draw_call(name: str, seed: int) -> tuple[list[Any], dict[str, Any]]:
    """The random valid call of `name` that `seed` gives: the same call, on new arrays, each time."""
    routine, dtype = routine_of(name)
    d = Draw(np.random.default_rng(seed), routine, dtype)
    GENERATORS[routine](d)
    return d.call()


# -- SciPy and the twin, call by call ----------------------------------------------------------


def _call(f: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> tuple[Any, Exception | None]:
    try:
        return f(*args, **kwargs), None
    except Exception as e:  # compared below: both sides must agree on failing
        return None, e


def _show(v: Any) -> str:
    """An argument in a failure message: an array by its dtype and shape."""
    if isinstance(v, np.ndarray):
        return f"<{v.dtype} {v.shape}>"
    return f"{v:.3g}" if isinstance(v, float) else repr(v)


def _rtol(dtype: np.dtype[Any]) -> float:
    return RTOL[dtype.itemsize // (2 if dtype.kind == "c" else 1)]


def _close(got: np.ndarray, want: np.ndarray, dtype: np.dtype[Any], what: str) -> None:
    rtol = _rtol(dtype)
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, err_msg=what)


def compare(name: str, make: Callable[[], tuple[list[Any], dict[str, Any]]], label: str = "") -> bool:
    """Call SciPy's `name` and the twin's, each on a call that make() makes; False when both
    raised."""
    _, dtype = routine_of(name)
    a1, k1 = make()
    a2, k2 = make()
    shown = [_show(v) for v in a1] + [f"{k}={_show(v)}" for k, v in k1.items()]
    what = f"{name}({', '.join(shown)}) {label}"
    r1, e1 = _call(getattr(sp, name), a1, k1)
    r2, e2 = _call(getattr(tw, name), a2, k2)
    if e1 is not None or e2 is not None:
        assert e1 is not None, f"{what}: SciPy answered, the twin raised {e2!r}"
        assert e2 is not None, f"{what}: SciPy raised {e1!r}, the twin answered"
        want = BlasError if type(e1).__name__ == "error" else type(e1)
        assert isinstance(e2, want), f"{what}: SciPy raised {e1!r}, the twin {e2!r}"
        return False
    r1, r2 = (list(r) if isinstance(r, tuple) else [r] for r in (r1, r2))
    assert len(r1) == len(r2), what
    for i in _UNSET_IMAG.get(name, ()):
        r1[i] = r1[i].real
    every1, every2 = [*a1, *k1.values()], [*a2, *k2.values()]
    for x1, x2 in zip(r1, r2):
        if type(x1) is int:  # i?amax: an index, as SciPy's
            assert type(x2) is int and x2 == x1, f"{what}: {x2!r} for {x1!r}"
            continue
        if not isinstance(x1, np.ndarray):  # SciPy's Python number is the twin's active scalar
            assert isinstance(x2, ba.Scalar) and x2.shape == (), f"{what}: {x2!r} for {x1!r}"
            x2 = x2.buffer
            assert x2.dtype in (dtype, np.empty(0, dtype).real.dtype), f"{what}: {x2.dtype}"
            assert type(x1) is (complex if x2.dtype.kind == "c" else float), f"{what}: {x1!r}, {x2.dtype}"
        else:
            assert (x2.shape, x2.dtype) == (x1.shape, x1.dtype), f"{what}: {x2.shape} {x2.dtype}"
            for v1, v2 in zip(every1, every2):
                assert (x2 is v2) == (x1 is v1), f"{what}: the result is (not) an argument"
        _close(np.asarray(x2), np.asarray(x1), dtype, what)
    for v1, v2 in zip(every1, every2):  # the same side effects
        if isinstance(v1, np.ndarray):
            _close(v2, v1, dtype, f"{what}: an argument after the call")
    return True


@pytest.mark.parametrize("name", sorted(tw.TWINS))
def test_random_valid_calls_match_scipy(name, rng):
    """DRAWS random valid calls of `name`: the twin answers each as SciPy does."""
    seeds = [int(seed) for seed in rng.integers(2**32, size=DRAWS)]
    answered = sum(compare(name, partial(draw_call, name, seed), f"[seed {seed}]") for seed in seeds)
    assert answered == DRAWS, f"SciPy rejected {DRAWS - answered} draws: the generator is wrong"


_EMPTY_BAND = {"gbmv": (2, 0, 0, 0, 1.0), "sbmv": (0, 1.0), "hbmv": (0, 1.0), "tbmv": (0,), "tbsv": (0,)}


@pytest.mark.parametrize("name", sorted(n for n in tw.TWINS if routine_of(n)[0] in _EMPTY_BAND))
def test_empty_band_matrix(name):
    """A 0 x 0 band matrix with n = 0 and one diagonal (kl = ku = 0, k = 0): SciPy's ld is
    max(rows, 1) = 1 and BLAS reads none of it. The random draws reach it only now and then."""
    routine, dtype = routine_of(name)

    def make() -> tuple[list[Any], dict[str, Any]]:
        y = (
            {"beta": 2.0, "y": np.arange(1.0, 3.0).astype(dtype)}
            if routine in ("gbmv", "sbmv", "hbmv")
            else {}
        )
        return [*_EMPTY_BAND[routine], np.zeros((0, 0), dtype), np.ones(1, dtype)], y

    assert compare(name, make)


def test_every_twin_has_a_generator():
    """A new twin needs its generator here: the test covers every routine the twin exports."""
    assert {routine_of(name)[0] for name in tw.TWINS} <= set(GENERATORS)
