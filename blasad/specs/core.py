"""What a spec is: Arg, Spec, and the vocabulary they share (dtypes, flags, op).

A spec lists the routine's arguments in signature (BLAS) order with their kinds and
symbolic dims, the flags, what it writes, what its adjoint reads, and a NumPy
reference of the forward formula (used by the tests and the docs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DTYPE_CODES: dict[np.dtype[Any], int] = {
    np.dtype(np.float32): 0,
    np.dtype(np.float64): 1,
    np.dtype(np.complex64): 2,
    np.dtype(np.complex128): 3,
}
PREFIX: dict[np.dtype[Any], str] = dict(zip(DTYPE_CODES, "sdcz"))
TRANS = ("N", "T", "C")
UPLO = ("U", "L")
# the flags' letters as the C core takes them; trans: bit 0 transposes, bit 1 conjugates
FLAG_CODES: dict[str, dict[str, int]] = {
    "trans": {"N": 0, "T": 1, "C": 3},
    "uplo": {"U": 0, "L": 1},
    "diag": {"N": 0, "U": 1},
    "side": {"L": 0, "R": 1},
    "jobz": {"N": 0, "S": 1},  # LAPACK's: values only, or the thin vectors too
}
DIAG = ("N", "U")
SIDE = ("L", "R")


@dataclass(frozen=True)
class Arg:
    """One argument. dims are those of op(X) for a matrix with a trans flag."""

    name: str
    # "scalar", "vector", "matrix", "flag", or "pivots": LAPACK's row interchanges, a vector of
    # int64 row indices, 0-based as SciPy's lu_factor gives them (never differentiated)
    kind: str
    dims: tuple[str, ...] = ()
    trans: str | None = None  # the flag applied to this matrix
    out: bool = False  # written by the routine (None allocates it; a scalar output is a 0-d array)
    choices: tuple[str, ...] = ()  # flag values
    inout: bool = False  # read and then written in place (required; a scalar: a 0-d array)
    real: bool = False  # of the real dtype of a complex routine (nrm2's result, rot's c)
    structure: str = "general"  # matrices: general, symmetric, hermitian, triangular
    # how a structured matrix is stored: "dense" (an n × n array), "packed" (a vector of its
    # uplo triangle, n(n+1)/2 long) or "band" (a (k+1) × n array of its diagonals)
    storage: str = "dense"
    choices_complex: tuple[str, ...] = ()  # flags: the values for complex dtypes, when fewer
    # vectors: entries that take one of a few values and are not differentiated, as
    # (index, values) pairs (rotm's param[0], the flag, is one of -2, -1, 0, 1)
    discrete: tuple[tuple[int, tuple[float, ...]], ...] = ()
    # pivots: the dim their entries index (getrs's ipiv: rows of A), so 0 <= ipiv[i] < that dim
    bound: str = ""

    def flag_choices(self, dtype: Any) -> tuple[str, ...]:
        """The values a flag takes for arrays of dtype (syrk: no "C" for complex)."""
        return self.choices_complex if self.choices_complex and np.dtype(dtype).kind == "c" else self.choices


@dataclass(frozen=True)
class Spec:
    name: str
    formula: str
    args: tuple[Arg, ...]
    reference: Callable[..., np.ndarray]  # new value of the output, from the inputs
    adjoint: tuple[str, ...]  # the rules, as documentation
    saves: str  # which primal values the reverse sweep reads
    dtypes: str = "sdcz"  # the BLAS precisions it exists in: s, d, c, z
    # dims that follow from the others and the flags, as Python expressions over them
    # (packed storage: ("npk", "n * (n + 1) // 2"); symm: ("ka", "m if side == 'L' else n"))
    derived: tuple[tuple[str, str], ...] = ()
    # dims the public function takes as keyword arguments (gbmv's m, kl, ku); the reference
    # takes them as keyword arguments too
    keywords: tuple[str, ...] = ()
    # the written argument's adjoint is c × its seed, c = ∂out_new/∂out_old a scalar of the call
    # (β for gemm; 1 for axpy; 0 for copy and the reductions, whose old output is not read)
    seed_scaled: bool = False
    # the public function: its docstring (it starts with the formula), the default values of
    # its arguments, and the routine to use for the other dtypes (named in the dtype error)
    doc: str = ""
    defaults: dict[str, Any] = field(default_factory=dict, compare=False)
    other: str = ""
    # routine-specific conversion of the arguments (by name) before validation: rotm's param
    # given as a sequence, gbmv's m taken from x or y
    prepare: Callable[[dict[str, Any]], None] | None = field(default=None, compare=False)
    # where the routine is differentiable, for the tests: domain(*arguments in spec order) is
    # False near the boundaries between the branches of a piecewise routine (rotg's |a| = |b|,
    # rotmg's tests), where finite differences would straddle two branches; the test harness
    # draws random arguments until it holds. None: differentiable everywhere it is tested.
    domain: Callable[..., bool] | None = field(default=None, compare=False)
    # LAPACK: every matrix is handed over column-major (any other layout is staged through
    # recorded copies); False for a rule that takes row-major storage itself (potrf: the same
    # memory, read column-major, holds the conjugate in the other triangle)
    column_major: bool = False
    # LAPACK's info > 0: the rule returns BA_INFO + info and the call raises
    # numpy.linalg.LinAlgError with this message ("{info}" is replaced by info, "{index}" by
    # info - 1, a 0-based index: "U[{index}, {index}] is exactly zero"); "" for routines that
    # cannot fail
    failure: str = ""
    # for the tests: conditioned(args, rng) turns the harness's random arguments (a dict by name,
    # arrays changed in place) into valid ones of the routine's domain: potrf's A made Hermitian
    # positive definite, getrs's pivots a valid permutation. None: any values are valid.
    conditioned: Callable[..., None] | None = field(default=None, compare=False)
    # for the tests: after(args) runs blasad calls on the call's arguments (a dict by name) after
    # the routine, in the differentiated programs only, so that the harness's loss is one the
    # adjoint serves (complex eigenvectors: each column's phase fixed). None: the loss is any.
    after: Callable[..., None] | None = field(default=None, compare=False)
    # for the tests: sizes(dims) makes the harness's dims (every dim by name, a dict changed in
    # place) valid for the routine, as `conditioned` does its values (orgqr's m >= n >= k: n and
    # k clamped). None: any sizes are valid.
    sizes: Callable[[dict[str, int]], None] | None = field(default=None, compare=False)
    # for the tests: rephase(got, expected) -> expected, both tuples of the new values of the
    # written arguments in spec order, with expected's eigen- or singular vectors given got's
    # signs (complex: phases), which LAPACK chooses and a reference cannot know. None: compared as is.
    rephase: Callable[..., tuple[Any, ...]] | None = field(default=None, compare=False)
    by_name: dict[str, Arg] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {a.name: a for a in self.args})

    @property
    def output(self) -> Arg:
        """The (first) argument the routine writes."""
        return next(a for a in self.args if a.out or a.inout)

    @property
    def written(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if a.out or a.inout)

    @property
    def free_dims(self) -> tuple[str, ...]:
        """The dims a call chooses: those of the arguments that are not derived, then those
        only the derived ones name (gbmv's kl, ku)."""
        derived = dict(self.derived)
        flags = {a.name for a in self.args if a.kind == "flag"}
        names = [s for a in self.args for s in a.dims if s not in derived]
        for expr in derived.values():
            names += [
                n for n in compile(expr, "<dim>", "eval").co_names if n not in flags and n not in derived
            ]
        return tuple(dict.fromkeys(names))

    def flips(self, a: Arg) -> bool:
        """Whether a is a general matrix read through an N/T/C flag of its own: stored in the
        other CBLAS order than the call's, BLAS reads it as its transpose with the flag's
        transpose bit flipped (gemm's A and B, gemv's A), so it needs no staging copy."""
        if a.kind != "matrix" or a.structure != "general" or a.storage != "dense" or a.out or a.inout:
            return False
        flag = self.by_name.get(a.trans or "")
        return (
            flag is not None
            and flag.choices == TRANS
            and not flag.choices_complex
            and sum(b.trans == a.trans for b in self.args) == 1
        )

    def dims_for(self, free: dict[str, int], flags: dict[str, str]) -> dict[str, int]:
        """Every dim, from the free ones and the flags (the derived ones evaluated in order),
        made valid by Spec.sizes."""
        dims = dict(free)
        for _ in range(1 if self.sizes is None else 2):
            for sym, expr in self.derived:
                dims[sym] = int(eval(expr, {"__builtins__": {}}, {**flags, **dims}))
            if self.sizes is not None:
                self.sizes(dims)
        return dims


def op(X: np.ndarray, flag: str) -> np.ndarray:
    """op(X) for a flag N, T or C."""
    return X if flag == "N" else X.T.conj() if flag == "C" else X.T


def real_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """float32 for complex64, float64 for complex128, dtype itself for real ones."""
    return np.dtype(dtype.char.lower()) if dtype.kind == "c" else dtype


def flag_code(flag: str, letter: str, complex_: bool = False) -> int:
    """The C code of a flag's letter (trans_a and trans_b are trans flags); for real dtypes a
    conjugate transpose is a transpose (C → 1)."""
    code = FLAG_CODES["trans" if flag.startswith("trans") else flag][letter]
    return code if complex_ or not flag.startswith("trans") else code & 1
