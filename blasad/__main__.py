"""`python -m blasad`: differentiate an in-place BLAS program and check the result.

The program takes STEPS explicit Euler steps of the linear ODE dx/dt = W x, written as
BLAS calls on two preallocated buffers that it overwrites at every step (PyTorch refuses
to differentiate this: x is saved by one call and overwritten by the next). blasad
records it on a tape, runs the reverse sweep and the demo checks the gradient of
L = <u, x_final> with respect to W, x0 and the step h against central finite
differences, the dot-product test, the closed form x_final = (I + hW)^STEPS x0 and
ba.gradcheck. Exit status 0 when everything agrees, 1 otherwise.
"""

from __future__ import annotations

import inspect
import sys
import textwrap
from collections.abc import Callable

import numpy as np

import blasad as ba

N_STATE = 6  # x has N_STATE entries, W is N_STATE x N_STATE
STEPS = 10  # Euler steps, all in the same buffers
EPS = 1e-6  # central-difference step
RTOL = 1e-6  # accepted relative error of blasad against finite differences


def euler(W: np.ndarray, x: np.ndarray, v: np.ndarray, h: np.ndarray) -> None:
    for _ in range(STEPS):
        ba.gemv(1.0, W, x, 0.0, v)  # v <- W x, overwriting v
        ba.axpy(h, v, x)  # x <- x + h v, overwriting x


def loss(W: np.ndarray, x0: np.ndarray, h: np.ndarray, u: np.ndarray) -> float:
    """L = <u, x_final>, running the program on copies (no tape)."""
    x = x0.copy()
    euler(W, x, np.zeros_like(x), np.array(h, dtype=x.dtype))
    return float(u @ x)


def central_difference(f: Callable[[float], float]) -> float:
    return (f(EPS) - f(-EPS)) / (2 * EPS)


def rel_error(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def main() -> int:
    rng = np.random.default_rng(2024)
    W = rng.standard_normal((N_STATE, N_STATE)) / np.sqrt(N_STATE)
    x0 = rng.standard_normal(N_STATE)
    h = np.array(0.1)  # a 0-d array: differentiable, like any buffer
    u = rng.standard_normal(N_STATE)  # the seed: L = <u, x_final>

    print("blasad demo: reverse and forward mode through an in-place BLAS program (float64, OpenBLAS)\n")
    print(f"The program: {STEPS} explicit Euler steps of dx/dt = W x, in place in x and v\n")
    print(textwrap.indent(inspect.getsource(euler), "    "))

    # -- the gradient, Tape style ---------------------------------------------------
    x, v = x0.copy(), np.zeros(N_STATE)
    with ba.Tape() as tape:
        tape.watch(W, x, h)
        euler(W, x, v, h)
    ncalls, copied = tape.ncalls, tape.bytes_copied
    tape.backward(x, u)  # L = <u, x_final>
    W_bar, x0_bar, h_bar = tape.grad(W), tape.grad(x), tape.grad(h)

    # -- the same with ba.autodiff (Enzyme style): shadows in, adjoints out ------------
    x_ad, dx = x0.copy(), u.copy()
    dW, dh = np.zeros_like(W), np.zeros(())
    ba.autodiff(euler, ba.Duplicated(W, dW), ba.Duplicated(x_ad, dx), ba.Const(v), ba.Duplicated(h, dh))
    autodiff_diff = max(
        float(np.abs(dW - W_bar).max()), float(np.abs(dx - x0_bar).max()), abs(float(dh - h_bar))
    )

    # -- what the tape saved ---------------------------------------------------------
    itemsize = x.itemsize
    # Every gemv saves x (for W_bar) and every axpy saves v (for h_bar) by reference; the next call
    # overwrites them, so each is copied once, except v after the last step. W is never copied.
    expected_copy = (2 * STEPS - 1) * N_STATE * itemsize
    # A tape that copies every saved input: gemv saves W and x, axpy saves v.
    copy_everything = STEPS * (N_STATE * N_STATE + 2 * N_STATE) * itemsize
    print(f"tape: {ncalls} calls recorded; copy-on-write copied {copied} bytes")
    print(f"      (the {2 * STEPS - 1} saved vectors a later call overwrote; W was read in place;")
    print(f"      a tape that copies every saved input would store {copy_everything} bytes)\n")

    # -- finite differences on a few entries and the dot-product test -----------------
    i, j, k = 0, 1, 2
    E = np.zeros_like(W)
    E[i, j] = 1.0
    e = np.zeros_like(x0)
    e[k] = 1.0
    dW_dir, dx_dir = rng.standard_normal(W.shape), rng.standard_normal(N_STATE)
    dh_dir = float(rng.standard_normal())
    rows = [
        ("dL/dh", float(h_bar), central_difference(lambda t: loss(W, x0, h + t, u))),
        (f"dL/dW[{i},{j}]", float(W_bar[i, j]), central_difference(lambda t: loss(W + t * E, x0, h, u))),
        (f"dL/dx0[{k}]", float(x0_bar[k]), central_difference(lambda t: loss(W, x0 + t * e, h, u))),
        (
            "dot test <J^T u, d>",
            float(np.vdot(W_bar, dW_dir) + x0_bar @ dx_dir + h_bar * dh_dir),
            central_difference(lambda t: loss(W + t * dW_dir, x0 + t * dx_dir, h + t * dh_dir, u)),
        ),
    ]
    failures: list[str] = []
    header = ("quantity", "blasad", "finite differences", "rel. error")
    print(f"{header[0]:<20} | {header[1]:>22} | {header[2]:>22} | {header[3]:>10}")
    print(f"{'-' * 20}-+-{'-' * 22}-+-{'-' * 22}-+-{'-' * 10}")
    for name, ours, fd in rows:
        err = rel_error(ours, fd)
        print(f"{name:<20} | {ours:>22.15g} | {fd:>22.15g} | {err:>10.1e}")
        if not err <= RTOL:
            failures.append(f"{name}: relative error {err:.1e} > {RTOL:.0e}")
    print()

    # -- forward mode: the tangent of x_final along the same direction -------------------
    x_fw, dx_fw, v_fw = x0.copy(), dx_dir.copy(), np.zeros(N_STATE)
    W_fw, h_fw = ba.Duplicated(W.copy(), dW_dir.copy()), ba.Duplicated(h.copy(), np.array(dh_dir))
    ba.autodiff(euler, W_fw, ba.Duplicated(x_fw, dx_fw), ba.Const(v_fw), h_fw, mode="forward")
    jvp = float(u @ dx_fw)  # <u, J d>, from the tangents pushed forward
    vjp = float(np.vdot(W_bar, dW_dir) + x0_bar @ dx_dir + h_bar * dh_dir)  # <J^T u, d>, from the adjoints

    # -- independent checks ----------------------------------------------------------
    M = np.eye(N_STATE) + float(h) * W  # one Euler step is x <- (I + hW) x
    forward_err = float(np.abs(x - np.linalg.matrix_power(M, STEPS) @ x0).max())
    closed_err = float(np.abs(x0_bar - np.linalg.matrix_power(M.T, STEPS) @ u).max())
    check = ba.gradcheck(euler, W, x0, ba.Const(np.zeros(N_STATE)), h, seed=1)
    n_entries = W.size + x0.size + h.size
    results = [
        (
            f"forward: x_final == (I + hW)^{STEPS} x0",
            forward_err <= 1e-12,
            f"max abs error {forward_err:.1e}",
        ),
        (
            f"adjoint: dL/dx0 == ((I + hW)^T)^{STEPS} u",
            closed_err <= 1e-12,
            f"max abs error {closed_err:.1e}",
        ),
        ("ba.autodiff == Tape", autodiff_diff <= 1e-13, f"max abs difference {autodiff_diff:.1e}"),
        (
            "forward mode: <u, J d> == <J^T u, d>",
            rel_error(jvp, vjp) <= 1e-12,
            f"relative difference {rel_error(jvp, vjp):.1e}",
        ),
        (
            f"ba.gradcheck, all {n_entries} entries + dot test",
            check.ok,
            f"max abs error {check.max_abs_error:.1e}",
        ),
        ("copy-on-write copied only overwritten values", copied == expected_copy, f"{copied} bytes"),
    ]
    for what, ok, detail in results:
        print(f"{'ok  ' if ok else 'FAIL'} {what:<46} {detail}")
        if not ok:
            failures.append(f"{what} ({detail})")
    print()

    if failures:
        for f in failures:
            print(f"FAIL: {f}")
        return 1
    print("OK: gradients match finite differences")
    return 0


if __name__ == "__main__":
    sys.exit(main())
