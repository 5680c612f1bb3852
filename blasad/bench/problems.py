"""The problems every framework solves: one gemm, gemv or axpy on preallocated buffers with
its adjoint seed (OpProblem), and the constants the cases share."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

import blasad as ba

AXPY_ALPHA = 0.5
CHAIN_STEPS = 1000
SINGLE_CASE, SINGLE_N = "single-gemm", 4  # the single-call fixed cost: one n × n gemm, end to end
TAPE_BYTES_CALLS = 200_000  # recorded tiny calls over which the tape's memory per call is measured


@dataclasses.dataclass
class OpProblem:
    """One call of a routine on preallocated buffers, with its adjoint seed.

    ``arrays`` are blasad's buffers in call order, ``arrays[out]`` the output; ``inputs`` the
    active inputs; ``expr`` the same call written functionally for the AD peers. ``shadows``
    (one per array, ``shadows[out]`` the output's adjoint) serve blasad and the hand-written
    ideal alike: both then work on the same memory, so that where the allocator put a buffer
    (huge pages or not, cache sets) cannot favour either.
    """

    op: str
    n: int
    dtype: Any
    arrays: list[np.ndarray]
    out: int
    inputs: list[np.ndarray]
    seed: np.ndarray
    call: Callable[..., Any]
    expr: Callable[..., Any]
    shadows: list[np.ndarray] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.shadows:
            self.shadows = [np.zeros_like(a) for a in self.arrays]

    def reseed(self) -> None:
        """The output's adjoint ← the seed (a reverse sweep consumes it)."""
        np.copyto(self.shadows[self.out], self.seed)


def make_problem(op: str, n: int, dtype: Any, rng: np.random.Generator) -> OpProblem:
    """gemm C ← A B (n × n), gemv y ← A x (n × n), or axpy y ← α x + y (length n²)."""

    def rand(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(dtype)

    call: Callable[..., Any]
    expr: Callable[..., Any]
    if op == "gemm":
        A, B, C = rand(n, n), rand(n, n), np.zeros((n, n), dtype)
        arrays, out, inputs, seed = [A, B, C], 2, [A, B], rand(n, n)
        call, expr = (lambda A, B, C: ba.gemm(1.0, A, B, 0.0, C)), (lambda A, B: A @ B)
    elif op == "gemv":
        A, x, y = rand(n, n), rand(n), np.zeros(n, dtype)
        arrays, out, inputs, seed = [A, x, y], 2, [A, x], rand(n)
        call, expr = (lambda A, x, y: ba.gemv(1.0, A, x, 0.0, y)), (lambda A, x: A @ x)
    elif op == "axpy":
        x, y = rand(n * n), rand(n * n)
        arrays, out, inputs, seed = [x, y], 1, [x, y], rand(n * n)
        call, expr = (lambda x, y: ba.axpy(AXPY_ALPHA, x, y)), (lambda x, y: AXPY_ALPHA * x + y)
    else:
        raise ValueError(f"unknown op {op!r}")
    return OpProblem(op, n, dtype, arrays, out, inputs, seed, call, expr)


# ---------------------------------------------------------------------------------------------
# active scalars: one operation, written inline as a user writes it
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ScalarCase:
    """One active-scalar operation of the report, as source text on its operand {x}, the
    second operand {s} and the function sqrt (NumPy's or PyTorch's).

    ``out`` is the same operation as a NumPy ufunc call with ``out=out`` (how a result is
    stored into a buffer that ``autodiff`` seeds); ``start`` a value of r from which a chain
    z ← op(z) of CHAIN_STEPS operations, and its adjoint, stay finite and normal (s = 1)."""

    label: str
    expr: str
    out: str
    start: float = 1.5


SCALAR_OPS = (
    ScalarCase("r * 2.0", "{x} * 2.0", "np.multiply({x}, 2.0, out=out)", 2.0**-500),  # ends at 2⁵⁰⁰
    ScalarCase("r * s", "{x} * {s}", "np.multiply({x}, {s}, out=out)"),
    ScalarCase("2.0 / r", "2.0 / {x}", "np.true_divide(2.0, {x}, out=out)"),
    ScalarCase("-r", "-{x}", "np.negative({x}, out=out)"),
    ScalarCase("np.sqrt(r)", "sqrt({x})", "np.sqrt({x}, out=out)"),
    ScalarCase("r ** 2", "{x} ** 2", "np.power({x}, 2, out=out)", 1.0),  # stays 1; r̄ = 2ᵏ
)
EMPTY_OP = ScalarCase("z = r (the loop alone)", "{x}", "")


def _compile(name: str, source: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    code = compile(source, f"<blasad.bench {name}>", "exec")
    exec(code, namespace)
    fn: Callable[..., Any] = namespace[name]
    return fn


def scalar_loop(op: ScalarCase, chain: bool) -> Callable[..., Any]:
    """f(r, s, sqrt, k): k times z ← op(z) from z = r (chain: every result feeds the next,
    as in a recorded program whose reverse sweep visits every operation), or z ← op(r)
    (independent operations on the same operand); returns the last z. The operation is
    written inline in the loop's body, so that a repetition costs the operation and the
    loop's own ``for`` (EMPTY_OP measures the latter), not a Python call."""
    body = op.expr.format(x="z" if chain else "r", s="s")
    source = (
        f"def loop(r, s, sqrt, k):\n    z = r\n    for _ in range(k):\n        z = {body}\n    return z\n"
    )
    return _compile("loop", source, {})


def scalar_loop_out(op: ScalarCase) -> Callable[..., Any]:
    """f(r, s, sqrt, k, out): the chain of scalar_loop whose k-th operation stores its result
    into the 0-d array out with ``out=`` (the buffer ``autodiff`` seeds)."""
    body, last = op.expr.format(x="z", s="s"), op.out.format(x="z", s="s")
    source = (
        "def loop(r, s, sqrt, k, out):\n    z = r\n    for _ in range(k - 1):\n"
        f"        z = {body}\n    return {last}\n"
    )
    return _compile("loop", source, {"np": np})


def scalar_loop_backward(op: ScalarCase) -> Callable[..., Any]:
    """f(r, s, sqrt, k): k times ``(op(r)).backward()`` (PyTorch: one operation, forward and
    backward)."""
    body = op.expr.format(x="r", s="s")
    source = f"def loop(r, s, sqrt, k):\n    for _ in range(k):\n        ({body}).backward()\n"
    return _compile("loop", source, {})


def scalar_loop_tape(op: ScalarCase) -> Callable[..., Any]:
    """f(r, s, sqrt, k, one): k times a Tape recording one operation z ← op(r) (r and s
    watched), then ``backward(z, one)`` and ``grad(r)``: one operation with the Tape API's
    fixed costs."""
    body = op.expr.format(x="r", s="s")
    source = (
        "def loop(r, s, sqrt, k, one):\n    for _ in range(k):\n        with Tape() as tape:\n"
        f"            tape.watch(r.buffer, s.buffer)\n            z = {body}\n"
        "        tape.backward(z, one)\n        tape.grad(r.buffer)\n"
    )
    return _compile("loop", source, {"Tape": ba.Tape})


def scalar_loop_autodiff(op: ScalarCase) -> Callable[..., Any]:
    """f(r0, s0, out, dr, ds, dout, k): k times ``ba.autodiff`` of one operation stored with
    ``out=`` (r0, s0, out 0-d arrays, Duplicated with dr, ds, dout; dout re-seeded to 1
    before each): one operation with the autodiff API's fixed costs."""
    last = op.out.format(x="Scalar(r0)", s="Scalar(s0)")
    source = (
        "def one_op(r0, s0, out):\n"
        f"    {last}\n"
        "def loop(r0, s0, out, dr, ds, dout, k):\n    for _ in range(k):\n        dout[()] = 1.0\n"
        "        autodiff(one_op, Duplicated(r0, dr), Duplicated(s0, ds), Duplicated(out, dout))\n"
    )
    ns = {"np": np, "Scalar": ba.Scalar, "autodiff": ba.autodiff, "Duplicated": ba.Duplicated}
    return _compile("loop", source, ns)


# ---------------------------------------------------------------------------------------------
# conjugate gradient: BLAS calls and the active scalars between them
# ---------------------------------------------------------------------------------------------


def spd_matrix(n: int, rng: np.random.Generator, cond: float = 100.0) -> np.ndarray:
    """A symmetric positive definite n × n matrix with eigenvalues spread geometrically over
    [1, cond]: k ≤ 10 CG iterations are far from converged (no step divides by a round-off)."""
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    A = (Q * np.geomspace(1.0, cond, n)) @ Q.T
    return np.ascontiguousarray(0.5 * (A + A.T))


def cg_blasad(A: np.ndarray, b: np.ndarray, x: np.ndarray, r: np.ndarray, p: np.ndarray, Ap: np.ndarray,
              k: int) -> None:  # fmt: skip
    """k iterations of conjugate gradient for A x = b from x = 0, written naturally with
    blasad: in-place BLAS calls on preallocated vectors and the active scalars the
    reductions return (α = rᵀr / pᵀAp, β = r_newᵀr_new / rᵀr are recorded, as are −α's
    negation). x receives the iterate; r, p and Ap are work vectors."""
    ba.scal(0.0, x)  # x ← 0
    ba.copy(b, r)  # r ← b − A x = b
    ba.copy(b, p)  # p ← r
    rr = ba.dot(r, r)
    for _ in range(k):
        ba.gemv(1.0, A, p, 0.0, Ap)  # Ap ← A p
        alpha = rr / ba.dot(p, Ap)  # α = rᵀr / pᵀAp
        ba.axpy(alpha, p, x)  # x ← x + α p
        ba.axpy(-alpha, Ap, r)  # r ← r − α A p
        rr_new = ba.dot(r, r)
        ba.scal(rr_new / rr, p)  # p ← β p, β = r_newᵀr_new / rᵀr
        ba.axpy(1.0, r, p)  # p ← r + β p
        rr = rr_new


def cg_numpy(A: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """The same k iterations in plain NumPy (forward only: the floor)."""
    x, r, p = np.zeros_like(b), b.copy(), b.copy()
    rr = r @ r
    for _ in range(k):
        Ap = A @ p
        alpha = rr / (p @ Ap)
        x += alpha * p
        r -= alpha * Ap
        rr_new = r @ r
        p *= rr_new / rr
        p += r
        rr = rr_new
    return x


def cg_functional(A: Any, b: Any, k: int, zeros_like: Callable[[Any], Any]) -> Any:
    """The same k iterations written out of place, as PyTorch autograd requires (tensors in,
    the iterate out; zeros_like: the framework's)."""
    x, r, p = zeros_like(b), b, b
    rr = r @ r
    for _ in range(k):
        Ap = A @ p
        alpha = rr / (p @ Ap)
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x
