"""The LAPACK case of the report (``--cases lapack``): each factorization, solve and
decomposition that blasad differentiates, against the plain LAPACK call and the AD peers.

Per operation (cholesky, lu = lu_factor + lu_solve, solve_triangular, qr, eigh, svd), size n
(LAPACK_SIZES; --quick: LAPACK_QUICK_SIZES), float64 and complex128, under the report's first
BLAS thread count (one by default), side by side in one run:

- ``lapack``: the plain LAPACK calls (scipy_dpotrf_64_, ...) on the very OpenBLAS blasad links
  to, through blasad's own cffi extension (csrc/lapack_cdef.h), on Fortran-ordered buffers with
  their workspaces queried and allocated once: the floor of the forward;
- ``blasad``: the same calls through blasad (``ba.potrf``, ...; Fortran-ordered arrays, which
  LAPACK takes as they are): without a tape ("fwd plain"), and through ``ba.autodiff`` with
  preallocated shadows (its forward recorded, timed inside the differentiated function, and its
  reverse), in one repetition after the plain LAPACK call; the targets take the median of the
  ratios within each repetition;
- ``blasad-tape``: the Tape API (watch, the calls, backward, grad of every input);
- ``torch``: torch.linalg (cholesky, lu_factor + lu_solve, solve_triangular, qr, eigh, svd)
  with autograd, forward and backward, and the forward alone without autograd ("fwd plain"):
  where PyTorch leads, its LAPACK (MKL in PyTorch's wheels) may be why;
- ``jax-jit``: jax.jit of the function ("fwd plain") and of the function with its vjp.

An operation whose blasad routines do not exist (``hasattr(ba, name)`` is False) is skipped
with a "not available" line. The adjoint's cost is judged against its FLOP count: FLOPS below
states, per operation, the standard count of the forward and of the adjoint the rule computes.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import statistics
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import blasad as ba
from blasad._native_loader import ffi, lib
from blasad.bench.frameworks import JAX_JIT_NOTE, Peers
from blasad.bench.report import Row, Target, fmt_time, print_table, threads_label
from blasad.bench.timing import Config, Sample, measure, measure_each, now

LAPACK_SIZES = (256, 1024)
LAPACK_QUICK_SIZES = (64,)
LAPACK_DTYPES = (np.float64, np.complex128)
TARGET_MIN_N = 256  # the targets are checked from this size up (below it, call overheads dominate)
XLA_SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
FORWARD_LIMIT = 1.02  # blasad's forward ≤ this × the plain LAPACK call's
FLOP_SLACK = 1.1  # forward + reverse ≤ this × (adjoint / forward FLOPs + 1) × forward


# ---------------------------------------------------------------------------------------------
# the operations: FLOP counts, blasad's routines
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Flops:
    """Real flops of the forward and of the adjoint (a multiply-add is 2) for an n × n matrix
    and k right-hand sides; complex arithmetic multiplies both by about 4, their ratio not."""

    forward: Callable[[int, int], float]
    adjoint: Callable[[int, int], float]
    how: str  # what the counts are made of

    def ratio(self, n: int, k: int) -> float:
        return self.adjoint(n, k) / self.forward(n, k)


# The standard counts (Golub & Van Loan; LAPACK Working Note 41) of the forward, and of the
# adjoint as the rules compute it with BLAS-3: trmm and trsm of an n × n triangle on n columns
# n³ each, gemm 2n³, gemmt (one triangle of a product) n³. eigh and svd count divide and
# conquer without deflation (an upper bound).
FLOPS: dict[str, Flops] = {
    "cholesky": Flops(
        lambda n, k: n**3 / 3,
        lambda n, k: 3 * n**3,
        "potrf n³/3; adjoint Φ(Lᴴ L̄) by trmm (n³), L⁻ᴴ P L⁻¹ by two trsm (2n³; real: trtri n³/3 "
        "and two trmm): 3n³",
    ),
    "lu": Flops(
        lambda n, k: 2 * n**3 / 3 + 2 * n * n * k,
        lambda n, k: 4 * n**3 + 4 * n * n * k,
        "getrf 2n³/3 + getrs 2n²k; adjoint: getrs's, a transposed solve (2n²k) and the factors' "
        "rank-k update by gemm (2n²k); getrf's, two trmm and two trsm (4n³)",
    ),
    "solve_triangular": Flops(
        lambda n, k: n * n * k,
        lambda n, k: 2 * n * n * k,
        "trtrs n²k; adjoint B̄ ← A⁻ᴴ B̄ by trsm (n²k), Ā -= the triangle of B̄ Xᴴ by gemmt (n²k)",
    ),
    "qr": Flops(
        lambda n, k: 8 * n**3 / 3,
        lambda n, k: 5 * n**3,
        "geqrf 4n³/3 + orgqr 4n³/3; adjoint on Q and R (ba.qr, csrc/lapack_qr.inc): triu(R̄) Rᴴ by "
        "trmm (n³), Qᴴ Q̄'s upper triangle by gemmt (n³), Q̄ + Q K by gemm (2n³), × R⁻ᴴ by trsm (n³; "
        "real: trtri n³/3 + trmm n³): 5n³ (PyTorch's and JAX's, the same rule with two full gemm, 6n³)",
    ),
    "eigh": Flops(
        lambda n, k: 14 * n**3 / 3,
        lambda n, k: 5 * n**3,
        "syevd: tridiagonalization 4n³/3, divide and conquer 4n³/3, back-transformation 2n³; "
        "adjoint X = Vᴴ V̄ (gemm, 2n³), V (Z + Zᴴ) Vᴴ with Z = diag(w̄) + F ∘ X on A's triangle "
        "(gemm 2n³, gemmt n³): 5n³",
    ),
    "svd": Flops(
        lambda n, k: 28 * n**3 / 3,
        lambda n, k: 8 * n**3,
        "gesdd (thin): bidiagonalization 8n³/3, divide and conquer 8n³/3, back-transformations "
        "of U and V 4n³; adjoint Uᴴ Ū and Vᴴ V̄ (two gemm, 4n³), U (...) Vᴴ (two gemm, 4n³): 8n³",
    ),
}

OPS = tuple(FLOPS)
OP_WHAT = {
    "cholesky": "potrf: A = L Lᴴ (lower), loss on L",
    "lu": "getrf + getrs (lu_factor + lu_solve): X = A⁻¹ B, B n × n/8, loss on X",
    "solve_triangular": "trtrs: X = A⁻¹ B, A upper, B n × n, loss on X",
    "qr": "ba.qr, geqrf + orgqr/ungqr (qr, economic): A = Q R, loss on Q and R",
    "eigh": "syevd/heevd (eigh): A = V diag(w) Vᴴ (lower), loss on w and V",
    "svd": "gesdd (svd, thin): A = U diag(s) Vᴴ, loss on s, U and Vᴴ",
}


def nrhs(op: str, n: int) -> int:
    """Right-hand sides: n/8 for lu (a few solves with one factorization), n for trtrs."""
    return max(1, n // 8) if op == "lu" else n


def routines(op: str, dtype: Any) -> tuple[str, ...]:
    """The blasad routines the operation calls, for dtype."""
    cplx = np.dtype(dtype).kind == "c"
    return {
        "cholesky": ("potrf",),
        "lu": ("getrf", "getrs"),
        "solve_triangular": ("trtrs",),
        "qr": ("qr",),
        "eigh": ("heevd" if cplx else "syevd",),
        "svd": ("gesdd",),
    }[op]


def missing(op: str, dtype: Any) -> list[str]:
    """blasad's routines for op that do not exist (yet)."""
    return [name for name in routines(op, dtype) if not hasattr(ba, name)]


# ---------------------------------------------------------------------------------------------
# the plain LAPACK calls (csrc/lapack_cdef.h)
# ---------------------------------------------------------------------------------------------

_CTYPES = {"float64": "double *", "complex128": "double _Complex *", "int64": "int64_t *"}


def _ptr(a: np.ndarray) -> Any:
    """A typed pointer to a's data (any layout: ffi.from_buffer takes C order only); the
    caller keeps a alive."""
    return ffi.cast(_CTYPES[a.dtype.name], a.ctypes.data)


def _lapack_fn(name: str, dtype: Any) -> Any:
    """LAPACK's routine from blasad's extension: scipy_dpotrf_64_, scipy_zheevd_64_, ..."""
    return getattr(lib, f"scipy_{'z' if np.dtype(dtype).kind == 'c' else 'd'}{name}_64_")


class _Info:
    """LAPACK's integer arguments (by pointer) and info, checked after each call."""

    def __init__(self) -> None:
        self.info = ffi.new("int64_t *")
        self._ints: dict[int, Any] = {}

    def __call__(self, v: int) -> Any:
        if v not in self._ints:
            self._ints[v] = ffi.new("int64_t *", v)
        return self._ints[v]

    def check(self, what: str) -> None:
        if self.info[0] != 0:
            raise RuntimeError(f"{what}: LAPACK info = {self.info[0]}")


def _workspace(query: Callable[[Any, Any], None], dtype: Any) -> tuple[np.ndarray, Any]:
    """The optimal workspace that query(work, lwork) reports with lwork = -1, allocated."""
    w = np.zeros(1, dtype)
    query(_ptr(w), ffi.new("int64_t *", -1))
    size = max(1, int(w[0].real))
    return np.zeros(size, dtype), ffi.new("int64_t *", size)


def plain_lapack(op: str, bufs: list[np.ndarray]) -> Callable[[], None]:
    """The plain LAPACK calls of op on bufs (Fortran-ordered, laid out as blasad's arguments;
    the pivots 1-based, as LAPACK writes them), workspaces allocated once, pointers computed
    once. It raises RuntimeError when LAPACK reports info ≠ 0."""
    keep = list(bufs)  # the arrays behind the raw pointers: alive as long as the calls
    call = _plain_calls(op, bufs, keep)
    setattr(call, "_arrays", keep)  # noqa: B010
    return call


def _plain_calls(op: str, bufs: list[np.ndarray], keep: list[np.ndarray]) -> Callable[[], None]:
    A = bufs[0]
    n, dt, cplx = A.shape[0], A.dtype, A.dtype.kind == "c"
    ints = _Info()
    N, info, pA = ints(n), ints.info, _ptr(A)
    if op == "cholesky":
        potrf = _lapack_fn("potrf", dt)

        def cholesky() -> None:
            potrf(b"L", N, pA, N, info, 1)
            ints.check("potrf")

        return cholesky
    if op == "lu":
        getrf, getrs = _lapack_fn("getrf", dt), _lapack_fn("getrs", dt)
        ipiv, B = bufs[1], bufs[2]
        pP, pB, K = _ptr(ipiv), _ptr(B), ints(B.shape[1])

        def lu() -> None:
            getrf(N, N, pA, N, pP, info)
            ints.check("getrf")
            getrs(b"N", N, K, pA, N, pP, pB, N, info, 1)
            ints.check("getrs")

        return lu
    if op == "solve_triangular":
        trtrs = _lapack_fn("trtrs", dt)
        B = bufs[1]
        pB, K = _ptr(B), ints(B.shape[1])

        def solve_triangular() -> None:
            trtrs(b"U", b"N", b"N", N, K, pA, N, pB, N, info, 1, 1, 1)
            ints.check("trtrs")

        return solve_triangular
    if op == "qr":
        geqrf, orgqr = _lapack_fn("geqrf", dt), _lapack_fn("ungqr" if cplx else "orgqr", dt)
        tau, Q = bufs[1], bufs[2]
        pT, pQ = _ptr(tau), _ptr(Q)
        work1, lw1 = _workspace(lambda w, lw: geqrf(N, N, pA, N, pT, w, lw, info), dt)
        work2, lw2 = _workspace(lambda w, lw: orgqr(N, N, N, pQ, N, pT, w, lw, info), dt)
        pW1, pW2 = _ptr(work1), _ptr(work2)
        keep += [work1, work2]

        def qr() -> None:
            geqrf(N, N, pA, N, pT, pW1, lw1, info)
            ints.check("geqrf")
            np.copyto(Q, A)
            orgqr(N, N, N, pQ, N, pT, pW2, lw2, info)
            ints.check("orgqr")

        return qr
    if op == "eigh":
        w = bufs[1]
        pw = _ptr(w)
        if cplx:
            heevd = _lapack_fn("heevd", dt)
            lr, li = ints(1 + 5 * n + 2 * n * n), ints(3 + 5 * n)
            rwork, iwork = np.zeros(lr[0]), np.zeros(li[0], np.int64)
            pR, pI = _ptr(rwork), _ptr(iwork)
            keep += [rwork, iwork]
            work, lw = _workspace(
                lambda wk, lw: heevd(b"V", b"L", N, pA, N, pw, wk, lw, pR, lr, pI, li, info, 1, 1), dt
            )
            pW = _ptr(work)
            keep.append(work)

            def eigh() -> None:
                heevd(b"V", b"L", N, pA, N, pw, pW, lw, pR, lr, pI, li, info, 1, 1)
                ints.check("heevd")

            return eigh
        syevd = _lapack_fn("syevd", dt)
        li = ints(3 + 5 * n)
        iwork = np.zeros(li[0], np.int64)
        pI = _ptr(iwork)
        keep.append(iwork)
        work, lw = _workspace(lambda wk, lw: syevd(b"V", b"L", N, pA, N, pw, wk, lw, pI, li, info, 1, 1), dt)
        pW = _ptr(work)
        keep.append(work)

        def eigh_real() -> None:
            syevd(b"V", b"L", N, pA, N, pw, pW, lw, pI, li, info, 1, 1)
            ints.check("syevd")

        return eigh_real
    if op == "svd":
        gesdd = _lapack_fn("gesdd", dt)
        s, U, VT = bufs[1], bufs[2], bufs[3]
        ps, pU, pV = _ptr(s), _ptr(U), _ptr(VT)
        iwork = np.zeros(8 * n, np.int64)
        pI = _ptr(iwork)
        keep.append(iwork)
        if cplx:
            rwork = np.zeros(max(1, 5 * n * n + 7 * n))
            pR = _ptr(rwork)
            keep.append(rwork)
            work, lw = _workspace(
                lambda wk, lw: gesdd(b"S", N, N, pA, N, ps, pU, N, pV, N, wk, lw, pR, pI, info, 1), dt
            )
            pW = _ptr(work)
            keep.append(work)

            def svd() -> None:
                gesdd(b"S", N, N, pA, N, ps, pU, N, pV, N, pW, lw, pR, pI, info, 1)
                ints.check("gesdd")

            return svd
        work, lw = _workspace(
            lambda wk, lw: gesdd(b"S", N, N, pA, N, ps, pU, N, pV, N, wk, lw, pI, info, 1), dt
        )
        pW = _ptr(work)
        keep.append(work)

        def svd_real() -> None:
            gesdd(b"S", N, N, pA, N, ps, pU, N, pV, N, pW, lw, pI, info, 1)
            ints.check("gesdd")

        return svd_real
    raise ValueError(f"unknown LAPACK op {op!r}")


# ---------------------------------------------------------------------------------------------
# the problems
# ---------------------------------------------------------------------------------------------


def _hermitian(M: np.ndarray) -> np.ndarray:
    return (M + M.conj().T) / 2


@dataclasses.dataclass
class LapackProblem:
    """One operation at size n on preallocated Fortran-ordered buffers.

    ``initial`` holds the initial value of each of blasad's arguments (``arrays``, restored
    before every forward since the calls work in place); ``active[i]``: arrays[i] is
    differentiated (a Duplicated; the pivots are not); ``inputs``: the indices of the
    differentiated inputs; ``outputs``: the indices of the outputs, in the order of the
    functional form's results (``torch_expr``/``jax_expr``: inputs → a tuple of outputs).
    ``seeds_from(outputs)`` gives each output's adjoint seed from the outputs' values (the
    eigen- and singular vectors' seeds are V S with S Hermitian, so that the loss does not
    depend on their phases: each framework's seeds come from its own outputs).
    """

    op: str
    n: int
    dtype: Any
    initial: list[np.ndarray]
    active: list[bool]
    inputs: list[int]
    outputs: list[int]
    program: Callable[..., Any]
    seeds_from: Callable[[Sequence[np.ndarray]], list[np.ndarray]]
    arrays: list[np.ndarray] = dataclasses.field(default_factory=list)
    seeds: list[np.ndarray] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self.arrays = [a.copy(order="F") for a in self.initial]

    def reset(self) -> None:
        """Every argument its initial value."""
        for a, a0 in zip(self.arrays, self.initial):
            np.copyto(a, a0)

    def peer_inputs(self) -> list[np.ndarray]:
        """The differentiated inputs' initial values, C-ordered, for the peers."""
        return [np.ascontiguousarray(self.initial[i]) for i in self.inputs]


def _ba(name: str) -> Any:
    """blasad's routine `name` (the LAPACK ones land one by one: looked up, not imported); one
    that raises AttributeError when called where blasad lacks it (the plain calls still serve)."""
    routine = getattr(ba, name, None)
    if routine is not None:
        return routine

    def unavailable(*args: Any, **kwargs: Any) -> None:
        raise AttributeError(f"blasad has no {name} (not available)")

    return unavailable


def make_lapack_problem(op: str, n: int, dtype: Any, rng: np.random.Generator) -> LapackProblem:
    """The operation's arguments (well conditioned: an HPD A for cholesky and eigh, an upper
    Cholesky factor for trtrs), blasad's program and the seeds."""
    dt = np.dtype(dtype)
    cplx = dt.kind == "c"

    def rand(*shape: int) -> np.ndarray:
        x = rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if cplx else 0)
        return np.asfortranarray(x.astype(dt))

    def hermitian_seed(V: np.ndarray, S: np.ndarray) -> np.ndarray:
        return np.asarray(V) @ S

    def hpd() -> np.ndarray:
        M = rand(n, n)
        return np.asfortranarray(M @ M.conj().T / n + np.eye(n, dtype=dt))

    k = nrhs(op, n)
    if op == "cholesky":
        G = np.tril(rand(n, n))
        return LapackProblem(
            op, n, dt, [hpd()], [True], [0], [0], lambda A: ba.potrf(A, uplo="L"), lambda outs: [G]
        )
    if op == "lu":
        A, B, X_bar = rand(n, n) + 2 * np.sqrt(n) * np.eye(n, dtype=dt), rand(n, k), rand(n, k)
        ipiv = np.zeros(n, np.int64)

        getrf, getrs = _ba("getrf"), _ba("getrs")

        def lu(A: np.ndarray, ipiv: np.ndarray, B: np.ndarray) -> None:
            getrf(A, ipiv)
            getrs(A, ipiv, B)

        return LapackProblem(
            op,
            n,
            dt,
            [np.asfortranarray(A), ipiv, B],
            [True, False, True],
            [0, 2],
            [2],
            lu,
            lambda outs: [X_bar],
        )
    if op == "solve_triangular":
        U = np.asfortranarray(np.linalg.cholesky(hpd()).conj().T)  # upper, well conditioned
        B, X_bar = rand(n, k), rand(n, k)
        return LapackProblem(
            op,
            n,
            dt,
            [U, B],
            [True, True],
            [0, 1],
            [1],
            functools.partial(_ba("trtrs"), uplo="U"),
            lambda outs: [X_bar],
        )
    if op == "qr":
        Q_bar, R_bar = rand(n, n), np.triu(rand(n, n))
        arrays = [rand(n, n), np.zeros((n, n), dt, order="F"), np.zeros((n, n), dt, order="F")]
        return LapackProblem(
            op, n, dt, arrays, [True, True, True], [0], [1, 2], _ba("qr"), lambda outs: [Q_bar, R_bar]
        )
    if op == "eigh":
        S, w_bar = _hermitian(rand(n, n)), rng.standard_normal(n)
        heevd = _ba("heevd" if cplx else "syevd")
        return LapackProblem(
            op,
            n,
            dt,
            [hpd(), np.zeros(n)],
            [True, True],
            [0],
            [1, 0],
            lambda A, w: heevd(A, w, uplo="L"),
            lambda outs: [w_bar, hermitian_seed(outs[1], S)],
        )
    if op == "svd":
        S1, S2, s_bar = _hermitian(rand(n, n)), _hermitian(rand(n, n)), rng.standard_normal(n)
        arrays = [rand(n, n), np.zeros(n), np.zeros((n, n), dt, order="F"), np.zeros((n, n), dt, order="F")]

        def seeds(outs: Sequence[np.ndarray]) -> list[np.ndarray]:
            return [s_bar, hermitian_seed(outs[1], S1), S2 @ np.asarray(outs[2])]

        return LapackProblem(op, n, dt, arrays, [True] * 4, [0], [1, 2, 3], _ba("gesdd"), seeds)
    raise ValueError(f"unknown LAPACK op {op!r}")


def lapack_buffers(p: LapackProblem) -> tuple[list[np.ndarray], Callable[[], None], Callable[[], None]]:
    """The plain LAPACK calls on buffers of their own: (buffers, reset, call)."""
    bufs = [a.copy(order="F") for a in p.initial]
    call = plain_lapack(p.op, bufs)

    def reset() -> None:
        for b, b0 in zip(bufs, p.initial):
            np.copyto(b, b0)

    return bufs, reset, call


def _seed_blasad(p: LapackProblem) -> None:
    """p.seeds from blasad's own outputs (one forward, untimed)."""
    p.reset()
    p.program(*p.arrays)
    p.seeds = [np.asfortranarray(s) for s in p.seeds_from([p.arrays[i].copy() for i in p.outputs])]
    p.reset()


# ---------------------------------------------------------------------------------------------
# the samples
# ---------------------------------------------------------------------------------------------


def ours_sample(p: LapackProblem) -> Sample:
    """One repetition: the plain LAPACK calls (own buffers), blasad without a tape, then
    ``ba.autodiff`` over p.arrays with preallocated shadows (forward timed inside the
    differentiated function); each after an untimed restore of its arrays (and the shadows'
    seeds). The ratios to the plain LAPACK time are taken within the repetition."""
    _, lapack_reset, lapack_call = lapack_buffers(p)
    shadows = [np.zeros_like(a) if act else None for a, act in zip(p.arrays, p.active)]
    seed_of = dict(zip(p.outputs, p.seeds))
    marks = [0.0, 0.0]

    def f(*arrays: np.ndarray) -> None:
        marks[0] = now()
        p.program(*arrays)
        marks[1] = now()

    def sample() -> dict[str, float]:
        lapack_reset()
        t0 = now()
        lapack_call()
        lapack = now() - t0
        p.reset()
        t0 = now()
        p.program(*p.arrays)
        plain = now() - t0
        p.reset()
        args: list[Any] = []
        for i, (a, s) in enumerate(zip(p.arrays, shadows)):
            if s is None:
                args.append(a)
                continue
            if i in seed_of:
                np.copyto(s, seed_of[i])
            else:
                s.fill(0)
            args.append(ba.Duplicated(a, s))
        t0 = now()
        ba.autodiff(f, *args)
        t3 = now()
        fwd, total = marks[1] - marks[0], t3 - t0
        return {
            "lapack": lapack,
            "plain": plain,
            "forward": fwd,
            "backward": t3 - marks[1],
            "total": total,
            "plain/lapack": plain / lapack,
            "fwd/lapack": fwd / lapack,
            "total/lapack": total / lapack,
        }

    return sample


def tape_sample(p: LapackProblem) -> Sample:
    """The Tape API: watch the inputs, the calls, backward(outputs, seeds), grad of each input."""

    def sample() -> dict[str, float]:
        p.reset()
        t0 = now()
        with ba.Tape() as tape:
            tape.watch(*(p.arrays[i] for i in p.inputs))
            t1 = now()
            p.program(*p.arrays)
            t2 = now()
        tape.backward([p.arrays[i] for i in p.outputs], p.seeds)
        for i in p.inputs:
            tape.grad(p.arrays[i])
        t3 = now()
        return {"forward": t2 - t1, "backward": t3 - t2, "total": t3 - t0}

    return sample


def torch_expr(torch: Any, op: str) -> Callable[..., tuple[Any, ...]]:
    """The operation in torch.linalg: inputs → the outputs in LapackProblem.outputs' order."""
    la = torch.linalg
    if op == "cholesky":
        return lambda A: (la.cholesky(A),)
    if op == "lu":

        def lu(A: Any, B: Any) -> tuple[Any, ...]:
            LU, piv = la.lu_factor(A)
            return (la.lu_solve(LU, piv, B),)

        return lu
    if op == "solve_triangular":
        return lambda A, B: (la.solve_triangular(A, B, upper=True),)
    if op == "qr":
        return lambda A: tuple(la.qr(A))
    if op == "eigh":
        return lambda A: tuple(la.eigh(A, UPLO="L"))
    if op == "svd":

        def svd(A: Any) -> tuple[Any, ...]:
            U, s, Vh = la.svd(A, full_matrices=False)
            return s, U, Vh

        return svd
    raise ValueError(op)


def jax_expr(jax: Any, op: str) -> Callable[..., tuple[Any, ...]]:
    """The operation in jax.numpy.linalg / jax.scipy.linalg, outputs as torch_expr's."""
    jnp, jsl = jax.numpy, jax.scipy.linalg
    if op == "cholesky":
        return lambda A: (jnp.linalg.cholesky(A),)
    if op == "lu":
        return lambda A, B: (jsl.lu_solve(jsl.lu_factor(A), B),)
    if op == "solve_triangular":
        return lambda A, B: (jsl.solve_triangular(A, B, lower=False),)
    if op == "qr":
        return lambda A: tuple(jnp.linalg.qr(A))
    if op == "eigh":
        return lambda A: tuple(jnp.linalg.eigh(A, UPLO="L", symmetrize_input=False))
    if op == "svd":

        def svd(A: Any) -> tuple[Any, ...]:
            U, s, Vh = jnp.linalg.svd(A, full_matrices=False)
            return s, U, Vh

        return svd
    raise ValueError(op)


def torch_samples(torch: Any, p: LapackProblem) -> dict[str, Sample]:
    """PyTorch autograd (forward, then backward(seeds from its own outputs)), and its forward
    alone without autograd ("torch-plain")."""
    expr = torch_expr(torch, p.op)
    ins = [torch.from_numpy(x) for x in p.peer_inputs()]
    leaves = [x.clone().requires_grad_(True) for x in ins]
    seeds = [torch.from_numpy(np.ascontiguousarray(s)) for s in p.seeds_from([o.numpy() for o in expr(*ins)])]

    def grad() -> dict[str, float]:
        for t in leaves:
            t.grad = None
        t0 = now()
        outs = expr(*leaves)
        t1 = now()
        torch.autograd.backward(outs, seeds)
        t2 = now()
        return {"forward": t1 - t0, "backward": t2 - t1, "total": t2 - t0}

    def plain() -> dict[str, float]:
        with torch.no_grad():
            t0 = now()
            expr(*ins)
            t = now() - t0
        return {"forward": t, "total": t}

    return {"torch": grad, "torch-plain": plain}


def jax_sample(peers: Peers, p: LapackProblem) -> Sample:
    """jax.jit of the function ("plain", its forward) and of the function with its vjp
    (seeds from its own outputs); the reverse is their difference."""
    jax = peers.jax
    expr = jax_expr(jax, p.op)
    key = ("lapack", p.op, p.dtype.name, str(p.n))

    def both(ins: tuple[Any, ...], seeds: tuple[Any, ...]) -> Any:
        out, vjp = jax.vjp(expr, *ins)
        return out, vjp(seeds)

    fwd = peers.jit(("fwd", *key), lambda: jax.jit(expr))
    total = peers.jit(("total", *key), lambda: jax.jit(both))
    ins = tuple(jax.numpy.asarray(x) for x in p.peer_inputs())
    seeds = tuple(jax.numpy.asarray(s) for s in p.seeds_from([np.asarray(o) for o in fwd(*ins)]))

    def sample() -> dict[str, float]:
        t0 = now()
        jax.block_until_ready(fwd(*ins))
        t1 = now()
        jax.block_until_ready(total(ins, seeds))
        t2 = now()
        return {"plain": t1 - t0, "forward": t1 - t0, "backward": (t2 - t1) - (t1 - t0), "total": t2 - t1}

    return sample


# ---------------------------------------------------------------------------------------------
# the case
# ---------------------------------------------------------------------------------------------


def _median_ratio(rs: Sequence[float]) -> float:
    return statistics.median(rs) if rs else math.nan


def case_lapack(op: str, n: int, dtype: Any, threads: int, cfg: Config, peers: Peers) -> list[Row]:
    """One operation at size n: the plain LAPACK calls, blasad (plain, autodiff, Tape), PyTorch
    and JAX. A row "unavailable" (its note naming the missing routines) when blasad lacks them."""
    case, dt = f"lapack-{op}", np.dtype(dtype).name
    nan = math.nan
    gone = missing(op, dtype)
    if gone:
        note = "not available: " + ", ".join(f"ba.{g}" for g in gone)
        return [Row(case, "unavailable", dt, n, threads, nan, nan, nan, note=note)]
    p = make_lapack_problem(op, n, dtype, np.random.default_rng(n))
    _seed_blasad(p)
    m = measure({"blasad": ours_sample(p)}, cfg)
    m |= measure_each({"blasad-tape": tape_sample(p)}, cfg)  # each Tape allocates its shadows: alone
    failed: dict[str, str] = {}
    if peers.torch is not None:
        m |= _peer(failed, "torch", lambda: torch_samples(peers.torch, p), cfg)
    if peers.jax_at(threads) is not None:
        m |= _peer(failed, "jax-jit", lambda: {"jax-jit": jax_sample(peers, p)}, cfg)
    b = m.pop("blasad")
    lapack = b["lapack"]
    ratios = {k: b[k] for k in ("plain/lapack", "fwd/lapack", "total/lapack")}
    rows = [
        Row(case, "lapack", dt, n, threads, lapack, nan, lapack, plain=lapack, note="plain LAPACK, forward"),
        Row(
            case,
            "blasad",
            dt,
            n,
            threads,
            b["forward"],
            b["backward"],
            b["total"],
            plain=b["plain"],
            ratios=ratios,
        ),
        Row(case, "blasad-tape", dt, n, threads, *_times(m.pop("blasad-tape"))),
    ]
    torch_plain = m.pop("torch-plain", None)
    for name, t in m.items():
        plain = torch_plain["forward"] if name == "torch" and torch_plain else t.get("plain")
        note = JAX_JIT_NOTE if name == "jax-jit" else ""
        rows.append(Row(case, name, dt, n, threads, *_times(t), plain=plain, note=note))
    for name, why in failed.items():
        rows.append(Row(case, name, dt, n, threads, nan, nan, nan, note=why))
    return rows


def _peer(
    failed: dict[str, str], name: str, make: Callable[[], dict[str, Sample]], cfg: Config
) -> dict[str, Any]:
    """The peer's samples measured, or {} and failed[name] the reason when they raise: with
    blasad imported first, SciPy's LAPACK (which JAX's CPU linear algebra calls) can fail its
    workspace queries (gesdd: "exceeds the maximum representable value")."""
    try:
        return measure_each(make(), cfg)
    except Exception as e:  # a peer's failure is reported, not fatal
        failed[name] = f"failed: {type(e).__name__}: {str(e).splitlines()[0][:60]}"
        return {}


def _times(t: dict[str, float]) -> tuple[float, float, float]:
    return t["forward"], t["backward"], t["total"]


def lapack_sizes(cfg: Config) -> tuple[int, ...]:
    if cfg.lapack_sizes:
        return cfg.lapack_sizes
    return LAPACK_QUICK_SIZES if cfg.quick else LAPACK_SIZES


def lapack_tasks(cfg: Config) -> list[tuple[str, int, Any]]:
    """(op, n, dtype) in the order the report runs them."""
    ops = [op for op in OPS if not cfg.lapack_ops or op in cfg.lapack_ops]
    return [(op, n, dt) for n in lapack_sizes(cfg) for dt in LAPACK_DTYPES for op in ops]


def xla_single_thread() -> str | None:
    """Ask XLA for one thread (its Eigen pool) by XLA_FLAGS, unless they are set already: to be
    called before JAX first computes. Returns the note for the report, None when left alone."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" in flags:
        return None
    os.environ["XLA_FLAGS"] = (flags + " " + XLA_SINGLE_THREAD).strip()
    return f"jax: XLA_FLAGS={os.environ['XLA_FLAGS']} (set by the report for one BLAS thread)"


# ---------------------------------------------------------------------------------------------
# targets and the table
# ---------------------------------------------------------------------------------------------


def _find(rows: Sequence[Row], **key: Any) -> Row | None:
    for r in rows:
        if all(getattr(r, k) == v for k, v in key.items()):
            return r
    return None


def _status(value: float | None, limit: float) -> str:
    if value is None or math.isnan(value):
        return "SKIP"
    return "PASS" if value <= limit else "FAIL"


def lapack_targets(rows: Sequence[Row]) -> list[Target]:
    """Per operation, dtype and n ≥ TARGET_MIN_N measured: blasad's forward without a tape and
    recorded ≤ FORWARD_LIMIT × the plain LAPACK call; forward + reverse ≤ the faster of PyTorch
    and JAX; forward + reverse ≤ FLOP_SLACK × (adjoint / forward FLOPs + 1) × the LAPACK
    forward. SKIP for an operation blasad lacks (not available) or a peer not measured."""
    out: list[Target] = []
    mine = [r for r in rows if r.case.startswith("lapack-")]
    keys = list(dict.fromkeys((r.case, r.dtype, r.n, r.threads) for r in mine))
    for case, dtype, n, t in keys:
        op = case.removeprefix("lapack-")
        where = f"{dtype} n={n} threads={threads_label(t)}"
        gone = _find(rows, case=case, dtype=dtype, n=n, threads=t, framework="unavailable")
        if gone is not None:
            out.append(Target(f"LAPACK {op}: forward and reverse", where, gone.note, "SKIP"))
            continue
        if n < TARGET_MIN_N:
            out.append(
                Target(f"LAPACK {op}: forward and reverse", where, f"n < {TARGET_MIN_N}: not checked", "SKIP")
            )
            continue
        b = _find(rows, case=case, dtype=dtype, n=n, threads=t, framework="blasad")
        assert b is not None
        for key, what in (("plain/lapack", "no tape"), ("fwd/lapack", "recorded")):
            v = b.ratios.get(key)
            out.append(
                Target(
                    f"LAPACK {op}: blasad forward ({what}) ≤ {FORWARD_LIMIT:g} × plain LAPACK",
                    where,
                    f"{v:.3f}×",
                    _status(v, FORWARD_LIMIT),
                )
            )
        peers = [
            r
            for fw in ("torch", "jax-jit")
            if (r := _find(rows, case=case, dtype=dtype, n=n, threads=t, framework=fw)) is not None
            and not math.isnan(r.total)
        ]
        best = min(peers, key=lambda r: r.total) if peers else None
        v = b.total / best.total if best is not None else None
        lap = _find(rows, case=case, dtype=dtype, n=n, threads=t, framework="lapack")
        out.append(
            Target(
                f"LAPACK {op}: blasad forward + reverse ≤ the faster of PyTorch and JAX",
                where,
                "not measured" if v is None else f"{v:.3f}×" + _lead(b, best, lap, v),
                _status(v, 1.0),
            )
        )
        k = nrhs(op, n)
        ratio = FLOPS[op].ratio(n, k)
        limit = FLOP_SLACK * (ratio + 1)
        v = b.ratios.get("total/lapack")
        out.append(
            Target(
                f"LAPACK {op}: blasad forward + reverse ≤ {FLOP_SLACK:g} × (adjoint/forward FLOPs "
                f"{ratio:.2f} + 1) = {limit:.2f} × LAPACK forward",
                where,
                f"{v:.2f}×",
                _status(v, limit),
            )
        )
    return out


def _lead(b: Row, peer: Row | None, lap: Row | None, v: float | None) -> str:
    """Where a peer is ahead, where its lead comes from: its forward alone against the plain
    LAPACK call on blasad's OpenBLAS (PyTorch's is its own library's: MKL in the CPU wheel), and
    the two reverse sweeps."""
    if v is None or v <= 1.0 or peer is None or lap is None or peer.plain is None:
        return ""
    name = "PyTorch" if peer.framework == "torch" else "JAX"
    return (
        f" ({name}'s forward alone {peer.plain / lap.forward:.2f}× the LAPACK call here; "
        f"reverse {fmt_time(b.backward)} against {fmt_time(peer.backward)})"
    )


LAPACK_FRAMEWORKS = ("lapack", "blasad", "blasad-tape", "torch", "jax-jit")
HEADERS = (
    "framework",
    "dtype",
    "n",
    "fwd plain",
    "fwd AD",
    "reverse",
    "total",
    "plain/LAPACK",
    "total/LAPACK",
    "note",
)


def print_lapack_tables(rows: Sequence[Row]) -> None:
    """A table per operation: every framework, dtype and size; the operations blasad lacks as
    "not available" lines."""
    ours = [r for r in rows if r.case.startswith("lapack-")]
    if not ours:
        return
    order = {fw: i for i, fw in enumerate(LAPACK_FRAMEWORKS)}
    for op in OPS:
        case = f"lapack-{op}"
        mine = [r for r in ours if r.case == case]
        if not mine:
            continue
        body: list[list[str]] = []
        gone: list[str] = []
        for r in sorted(mine, key=lambda r: (r.threads, r.dtype, r.n, order.get(r.framework, 99))):
            if r.framework == "unavailable":
                gone.append(f"  {r.dtype} n={r.n}: {r.note}")
                continue
            lap = _find(mine, dtype=r.dtype, n=r.n, threads=r.threads, framework="lapack")
            base = lap.forward if lap is not None else math.nan
            plain_ratio = r.ratios.get("plain/lapack", (r.plain or math.nan) / base)
            total_ratio = r.ratios.get("total/lapack", r.total / base)
            fwd_ad = "-" if r.framework == "lapack" or r.note == JAX_JIT_NOTE else fmt_time(r.forward)
            body.append(
                [
                    r.framework,
                    r.dtype,
                    str(r.n),
                    fmt_time(r.plain),
                    fwd_ad,
                    fmt_time(r.backward),
                    fmt_time(r.total),
                    _fmt_ratio(plain_ratio),
                    _fmt_ratio(total_ratio),
                    r.note,
                ]
            )
        threads = threads_label(mine[0].threads)
        title = f"LAPACK {op}: {OP_WHAT[op]}; times per call (median), threads={threads}"
        if body:
            print_table(title, HEADERS, body, "llrrrrrrrl")
        else:
            print(f"\n{title}")
        for line in gone:
            print(line)
    print(
        "  lapack: the plain LAPACK calls on the same OpenBLAS (workspaces allocated once); blasad: fwd\n"
        "  plain without a tape, fwd AD recorded inside ba.autodiff (preallocated shadows), its\n"
        "  plain/LAPACK and total/LAPACK the medians of the ratios within each repetition; torch: fwd\n"
        "  plain without autograd (PyTorch's own LAPACK), fwd AD with it; jax-jit: fwd plain the jitted\n"
        "  function, total the jitted function with its vjp. FLOP counts of the targets:"
    )
    for op in OPS:
        print(f"    {op}: {FLOPS[op].how}")


def _fmt_ratio(v: float) -> str:
    return "-" if v is None or math.isnan(v) else f"{v:.3f}"
