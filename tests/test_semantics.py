"""Named semantic tests of the contract, each asserting exact values.

The contract is the README's "Semantics" section: seeds and adjoints (Duplicated(x, dx) seeds x's
final value and returns d loss / d x's initial value; adjoints accumulate), overwritten outputs
(the output's adjoint is scaled by β after the other adjoints read it, and set to exactly zero for
β = 0; a buffer overwritten in a loop contributes once), scalars, views sharing adjoints, aliasing,
constants costing nothing, copy-on-write (the tape keeps references and copies a needed range only
when a later recorded call is about to overwrite it, so a program that overwrites nothing it needs
saves nothing) and tapes (per thread, consumed by backward).

Most tests use small integer-valued float64 data, so that every product and sum is exact
and the adjoints can be compared with a NumPy hand derivation by equality; the complex tests
use Gaussian integers (integer real and imaginary parts) the same way. A complex x's adjoint is
x̄ = ∂L/∂Re x + i ∂L/∂Im x for L = Re Σ ⟨seed, x_final⟩ = Re Σ conj(seed)·x_final.
"""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import blasad as ba
from blasad._tape import current_tape


def ints(seed: int, shape: tuple[int, ...], order: str = "C", lo: int = -3, hi: int = 4) -> np.ndarray:
    """Integer-valued float64 data: BLAS and NumPy agree exactly on it."""
    values = np.random.default_rng(seed).integers(lo, hi, size=shape)
    return np.asarray(values, dtype=np.float64, order=order)


def cints(seed: int, shape: tuple[int, ...], order: str = "C", lo: int = -3, hi: int = 4) -> np.ndarray:
    """Gaussian-integer complex128 data: BLAS and NumPy agree exactly on it."""
    re, im = np.random.default_rng(seed).integers(lo, hi, size=(2, *shape))
    return np.asarray(re + 1j * im, dtype=np.complex128, order=order)


def gemm_program(R: np.ndarray, A: np.ndarray, B: np.ndarray) -> None:
    ba.gemm(1.0, A, B, 0.0, R)


# ---- Enzyme.jl #382: the output's shadow must be consumed -----------------------------------


@pytest.mark.parametrize(("m", "k", "n"), [(7, 3, 5), (3, 3, 3), (1, 1, 1)])
def test_enzyme_382_gemm_zeroes_the_output_shadow(m: int, k: int, n: int) -> None:
    A, B = ints(1, (m, k)), ints(2, (k, n))
    R = np.full((m, n), 17.0)  # β = 0: the old R is not read
    dR_seed = ints(3, (m, n))
    dR, dA, dB = dR_seed.copy(), np.zeros_like(A), np.zeros_like(B)
    ba.autodiff(gemm_program, ba.Duplicated(R, dR), ba.Duplicated(A, dA), ba.Duplicated(B, dB))
    assert_array_equal(R, A @ B)
    assert_array_equal(dR, np.zeros((m, n)))
    assert_array_equal(dA, dR_seed @ B.T)
    assert_array_equal(dB, A.T @ dR_seed)


@pytest.mark.parametrize(("m", "k", "n"), [(7, 3, 5), (3, 3, 3), (1, 1, 1)])
def test_enzyme_382_complex_gemm_zeroes_the_output_shadow(m: int, k: int, n: int) -> None:
    A, B = cints(1, (m, k)), cints(2, (k, n))
    R = np.full((m, n), 17.0 - 4.0j)  # β = 0: the old R is not read
    dR_seed = cints(3, (m, n))
    dR, dA, dB = dR_seed.copy(), np.zeros_like(A), np.zeros_like(B)
    ba.autodiff(gemm_program, ba.Duplicated(R, dR), ba.Duplicated(A, dA), ba.Duplicated(B, dB))
    assert_array_equal(R, A @ B)
    assert_array_equal(dR, np.zeros((m, n)))
    assert_array_equal(dA, dR_seed @ B.conj().T)  # Ā = R̄ Bᴴ
    assert_array_equal(dB, A.conj().T @ dR_seed)  # B̄ = Aᴴ R̄


def test_adjoints_accumulate_into_preseeded_input_shadows() -> None:
    # dA on entry seeds A's final value (= its initial value: A is not written), so it stays.
    A, B, R = ints(4, (4, 3)), ints(5, (3, 2)), np.zeros((4, 2))
    dA_seed, dB_seed, dR_seed = ints(6, (4, 3)), ints(7, (3, 2)), ints(8, (4, 2))
    dA, dB, dR = dA_seed.copy(), dB_seed.copy(), dR_seed.copy()
    ba.autodiff(gemm_program, ba.Duplicated(R, dR), ba.Duplicated(A, dA), ba.Duplicated(B, dB))
    assert_array_equal(dA, dA_seed + dR_seed @ B.T)
    assert_array_equal(dB, dB_seed + A.T @ dR_seed)
    assert_array_equal(dR, np.zeros((4, 2)))


# ---- a buffer overwritten in a loop contributes once -----------------------------------------


def test_loop_overwriting_output_ten_times_contributes_once() -> None:
    A, B = ints(10, (4, 3)), ints(11, (3, 5))
    seed = ints(12, (4, 5))

    def loop(R: np.ndarray, A: np.ndarray, B: np.ndarray) -> None:
        for _ in range(10):
            ba.gemm(1.0, A, B, 0.0, R)

    grads = []
    for program in (gemm_program, loop):
        R, dR, dA, dB = np.zeros((4, 5)), seed.copy(), np.zeros((4, 3)), np.zeros((3, 5))
        ba.autodiff(program, ba.Duplicated(R, dR), ba.Duplicated(A.copy(), dA), ba.Duplicated(B.copy(), dB))
        assert_array_equal(R, A @ B)
        assert_array_equal(dR, np.zeros((4, 5)))
        grads.append((dA, dB))
    assert_array_equal(grads[1][0], grads[0][0])
    assert_array_equal(grads[1][1], grads[0][1])
    assert_array_equal(grads[1][0], seed @ B.T)
    assert_array_equal(grads[1][1], A.T @ seed)

    R = np.zeros((4, 5))
    with ba.Tape() as tape:
        tape.watch(A, B)
        loop(R, A, B)
    assert tape.ncalls == 10
    assert tape.bytes_copied == 0  # R is overwritten, but no adjoint reads R
    tape.backward(R, seed)
    assert_array_equal(tape.grad(A), seed @ B.T)
    assert_array_equal(tape.grad(B), A.T @ seed)


def test_ping_pong_buffers_match_hand_derivation() -> None:
    # Q ← W P ; P ← W Q + P, three times, in the same two buffers.
    W = ints(20, (3, 3), lo=-1, hi=2)
    P0, Q0 = ints(21, (3, 2)), ints(22, (3, 2))
    sP, sQ = ints(23, (3, 2)), ints(24, (3, 2))

    def program(W: np.ndarray, P: np.ndarray, Q: np.ndarray) -> None:
        for _ in range(3):
            ba.gemm(1.0, W, P, 0.0, Q)
            ba.gemm(1.0, W, Q, 1.0, P)

    # NumPy forward, keeping every intermediate
    states = []
    P, Q = P0.copy(), Q0.copy()
    for _ in range(3):
        P_in = P
        Q = W @ P_in
        P = W @ Q + P_in
        states.append((P_in, Q))
    # and the reverse sweep by hand
    Pb, Qb, Wb = sP.copy(), sQ.copy(), np.zeros((3, 3))
    for P_in, Q_mid in reversed(states):
        Wb += Pb @ Q_mid.T  # P ← W Q + P
        Qb = Qb + W.T @ Pb  # (P̄ passes through β = 1)
        Wb += Qb @ P_in.T  # Q ← W P
        Pb = Pb + W.T @ Qb
        Qb = np.zeros_like(Qb)  # β = 0

    Pt, Qt = P0.copy(), Q0.copy()
    with ba.Tape() as tape:
        tape.watch(W, Pt, Qt)
        program(W, Pt, Qt)
    assert_array_equal(Pt, P)
    assert_array_equal(Qt, Q)
    assert tape.ncalls == 6
    # P (saved by Q ← W P) is overwritten 3 times, Q (saved by P ← W Q + P) twice; W never.
    assert tape.bytes_copied == 5 * P0.nbytes
    tape.backward([Pt, Qt], [sP, sQ])
    assert_array_equal(tape.grad(W), Wb)
    assert_array_equal(tape.grad(Pt), Pb)
    assert_array_equal(tape.grad(Qt), Qb)

    Pd, Qd = P0.copy(), Q0.copy()
    dW, dP, dQ = np.zeros((3, 3)), sP.copy(), sQ.copy()
    ba.autodiff(program, ba.Duplicated(W.copy(), dW), ba.Duplicated(Pd, dP), ba.Duplicated(Qd, dQ))
    assert_array_equal(dW, Wb)
    assert_array_equal(dP, Pb)
    assert_array_equal(dQ, Qb)


# ---- micrograd ----------------------------------------------------------------------------------


def test_micrograd_a_plus_a_has_gradient_two() -> None:
    a = np.array([3.0])
    with ba.Tape() as tape:
        tape.watch(a)
        b = np.zeros(1)
        ba.axpy(1.0, a, b)
        ba.axpy(1.0, a, b)
    tape.backward(b, np.ones(1))
    assert_array_equal(b, [6.0])
    assert_array_equal(tape.grad(a), [2.0])

    # the same as a 1x1 gemm: b = a·1 + a·1 through two different calls on the same a
    a2, one = np.array([[3.0]]), np.array([[1.0]])
    b2, db2, da2 = np.zeros((1, 1)), np.ones((1, 1)), np.zeros((1, 1))

    def twice(b: np.ndarray, a: np.ndarray, one: np.ndarray) -> None:
        ba.gemm(1.0, a, one, 0.0, b)
        ba.gemm(1.0, a, one, 1.0, b)

    ba.autodiff(twice, ba.Duplicated(b2, db2), ba.Duplicated(a2, da2), ba.Const(one))
    assert_array_equal(b2, [[6.0]])
    assert_array_equal(da2, [[2.0]])


def test_micrograd_d_times_e() -> None:
    # d = a·b, e = a + b, f = d·e: ∂f/∂a = b(a+b) + ab, ∂f/∂b = a(a+b) + ab.
    # a = 2, b = -3 gives ∂f/∂a = -3, ∂f/∂b = -8 (and f = 6).
    a, b = np.array([2.0]), np.array([-3.0])

    def program(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d = ba.gemm(1.0, a.reshape(1, 1), b.reshape(1, 1))
        e = np.zeros(1)
        ba.axpy(1.0, a, e)
        ba.axpy(1.0, b, e)
        return ba.gemm(1.0, d, e.reshape(1, 1))

    with ba.Tape() as tape:
        tape.watch(a, b)
        f = program(a, b)
    tape.backward(f, np.ones((1, 1)))
    assert_array_equal(f, [[6.0]])
    assert_array_equal(tape.grad(a), [-3.0])
    assert_array_equal(tape.grad(b), [-8.0])


def test_micrograd_readme_expression() -> None:
    # micrograd's README up to f = e**2, with a = -4, b = 2 (ReLU branches as they fall there):
    #   c = a + b; d = a*b + b**3; c += c + 1; c += 1 + c + (-a); d += d*2 + (b + a).relu();
    #   d += 3*d + (b - a).relu(); e = c - d; f = e**2
    # e = c - d = 4a + 3b + 3 - 12ab - 12b³ = -7, f = e²:
    # ∂f/∂a = 2e(4 - 12b) = 280, ∂f/∂b = 2e(3 - 12a - 36b²) = 1302.
    a, b = np.array([-4.0]), np.array([2.0])
    one = np.ones(1)

    def m(v: np.ndarray) -> np.ndarray:
        return v.reshape(1, 1)

    def program(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        c = np.zeros(1)
        ba.axpy(1.0, a, c)
        ba.axpy(1.0, b, c)  # c = a + b
        d = np.zeros(1)
        ba.gemm(1.0, m(a), m(b), 0.0, m(d))
        b2 = ba.gemm(1.0, m(b), m(b))
        ba.gemm(1.0, b2, m(b), 1.0, m(d))  # d = a*b + b**3
        t = np.zeros(1)
        ba.axpy(1.0, c, t)
        ba.axpy(1.0, t, c)
        ba.axpy(1.0, one, c)  # c += c + 1
        t = np.zeros(1)
        ba.axpy(1.0, c, t)
        ba.axpy(1.0, t, c)
        ba.axpy(1.0, one, c)
        ba.axpy(-1.0, a, c)  # c += 1 + c + (-a)
        assert b[0] + a[0] < 0  # (b + a).relu() is 0 here
        t = np.zeros(1)
        ba.axpy(2.0, d, t)
        ba.axpy(1.0, t, d)  # d += d*2
        assert b[0] - a[0] > 0  # (b - a).relu() is b - a here
        t = np.zeros(1)
        ba.axpy(3.0, d, t)
        ba.axpy(1.0, t, d)
        ba.axpy(1.0, b, d)
        ba.axpy(-1.0, a, d)  # d += 3*d + (b - a)
        e = np.zeros(1)
        ba.axpy(1.0, c, e)
        ba.axpy(-1.0, d, e)  # e = c - d
        return ba.gemm(1.0, m(e), m(e))  # f = e**2

    with ba.Tape() as tape:
        tape.watch(a, b)
        f = program(a, b)
    tape.backward(f, np.ones((1, 1)))
    assert_array_equal(f, [[49.0]])
    assert_array_equal(tape.grad(a), [280.0])
    assert_array_equal(tape.grad(b), [1302.0])

    # ...and through g = f/2 + 10/f (outside BLAS): micrograd prints a.grad 138.8338, b.grad 645.5773
    dg_df = 0.5 - 10.0 / 49.0**2
    with ba.Tape() as tape:
        tape.watch(a, b)
        f = program(a, b)
    tape.backward(f, np.full((1, 1), dg_df))
    assert f"{tape.grad(a)[0]:.4f}" == "138.8338"
    assert f"{tape.grad(b)[0]:.4f}" == "645.5773"


def test_micrograd_readme_prefix_c_and_d() -> None:
    # a = -4, b = 2: c = a + b, d = a·b + b³, loss = c + d: ∂/∂a = 1 + b = 3, ∂/∂b = 1 + a + 3b² = 9
    a, b = np.array([[-4.0]]), np.array([[2.0]])
    c, d = np.zeros((1, 1)), np.zeros((1, 1))
    dc, dd, da, db = np.ones((1, 1)), np.ones((1, 1)), np.zeros((1, 1)), np.zeros((1, 1))

    def program(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> None:
        ba.axpy(1.0, a[0], c[0])
        ba.axpy(1.0, b[:, 0], c[:, 0])
        ba.gemm(1.0, a, b, 0.0, d)
        bb = ba.gemm(1.0, b, b)
        ba.gemm(1.0, bb, b, 1.0, d)

    ba.autodiff(
        program, ba.Duplicated(a, da), ba.Duplicated(b, db), ba.Duplicated(c, dc), ba.Duplicated(d, dd)
    )
    assert_array_equal(c, [[-2.0]])
    assert_array_equal(d, [[0.0]])
    assert_array_equal(da, [[3.0]])
    assert_array_equal(db, [[9.0]])
    assert_array_equal(dc, [[1.0]])  # axpy leaves ȳ unchanged
    assert_array_equal(dd, [[0.0]])  # d was overwritten (β = 0) first


# ---- accumulation: an array used twice gets the sum of its contributions ------------------------


def test_gemm_with_A_twice_gets_both_contributions() -> None:
    A, S = ints(30, (4, 4)), ints(31, (4, 4))
    with ba.Tape() as tape:
        tape.watch(A)
        C = ba.gemm(1.0, A, A)
    tape.backward(C, S)
    assert_array_equal(C, A @ A)
    assert_array_equal(tape.grad(A), S @ A.T + A.T @ S)

    # Aᵀ A with a rectangular A: Ā = A (S + Sᵀ)
    A, S = ints(32, (4, 3)), ints(33, (3, 3))
    with ba.Tape() as tape:
        tape.watch(A)
        C = ba.gemm(2.0, A, A, trans_a="T")
    tape.backward(C, S)
    assert_array_equal(C, 2.0 * A.T @ A)
    assert_array_equal(tape.grad(A), 2.0 * A @ (S + S.T))


def test_gemm_with_A_twice_matches_finite_differences() -> None:
    rng = np.random.default_rng(34)
    A, C = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    check = ba.gradcheck(lambda A, C: ba.gemm(0.7, A, A, 0.3, C, trans_b="T"), A, C)
    assert check.ok, check
    assert check.dot_adjoint == pytest.approx(check.dot_numeric, rel=1e-6)


def test_axpy_twice_from_the_same_x() -> None:
    x, y = ints(40, (5,)), ints(41, (5,))
    dx_seed, dy_seed = ints(42, (5,)), ints(43, (5,))
    dx, dy = dx_seed.copy(), dy_seed.copy()

    def program(x: np.ndarray, y: np.ndarray) -> None:
        ba.axpy(2.0, x, y)
        ba.axpy(-5.0, x, y)

    y0 = y.copy()
    ba.autodiff(program, ba.Duplicated(x, dx), ba.Duplicated(y, dy))
    assert_array_equal(y, y0 - 3.0 * x)
    assert_array_equal(dx, dx_seed + 2.0 * dy_seed - 5.0 * dy_seed)
    assert_array_equal(dy, dy_seed)


# ---- views share adjoints ---------------------------------------------------------------------

# (name, base order, A view (3x2), B view (2x4)) -- views taken of the base M (6x5)
VIEW_CASES = [
    ("slices", "C", lambda X: X[0:3, 0:2], lambda X: X[1:3, 1:5]),
    ("transposed", "C", lambda X: X[0:2, 1:4].T, lambda X: X.T[0:2, 2:6]),
    ("F-order", "F", lambda X: X[1:4, 0:2], lambda X: X[0:2, 1:5]),
    ("negative-strides", "C", lambda X: X[5:2:-1, 0:2], lambda X: X[1:3, 4:0:-1]),
    ("negative-strides-F", "F", lambda X: X[::-2, 3:1:-1], lambda X: X[4:0:-3, :4]),
    ("ld>rows", "F", lambda X: X[0:3, 0:2], lambda X: X[3:5, 1:5]),
    ("stepped", "C", lambda X: X[::2, ::2][:, 1:3], lambda X: X[1::3, ::1][:, 1:5]),
]


@pytest.mark.parametrize(("name", "order", "view_a", "view_b"), VIEW_CASES, ids=[c[0] for c in VIEW_CASES])
def test_views_share_the_adjoint_of_their_base(name: str, order: str, view_a, view_b) -> None:
    M, S = ints(50, (6, 5), order), ints(51, (3, 4))
    A, B = view_a(M), view_b(M)
    assert A.shape == (3, 2) and B.shape == (2, 4)
    expected = np.zeros((6, 5))
    view_a(expected)[...] += S @ B.T
    view_b(expected)[...] += A.T @ S

    with ba.Tape() as tape:
        tape.watch(M)
        C = ba.gemm(1.0, view_a(M), view_b(M))
    tape.backward(C, S)
    assert_array_equal(C, A @ B)
    assert_array_equal(tape.grad(M), expected)
    assert_array_equal(tape.grad(view_a(M)), view_a(expected))

    # autodiff: a shadow with M's own layout, and one with the other layout (copied back)
    for dorder in ("C", "F"):
        dM, dC, C = np.zeros((6, 5), order=dorder), S.copy(), np.zeros((3, 4))
        ba.autodiff(
            lambda M, C: ba.gemm(1.0, view_a(M), view_b(M), 0.0, C),
            ba.Duplicated(M, dM),
            ba.Duplicated(C, dC),
        )
        assert_array_equal(dM, expected)
        assert_array_equal(dC, np.zeros((3, 4)))


@pytest.mark.parametrize("shadow", ["same strides", "contiguous"])
def test_duplicated_negative_stride_view(shadow: str) -> None:
    # x and y are reversed / stepped views; their shadows either share their layout or not
    base, xbase = ints(61, (8,)), ints(62, (6,))
    y, x = base[6::-2], xbase[::-2]  # 4 and 3 elements
    A, sy = ints(63, (4, 3)), ints(64, (4,))
    y0, x0 = y.copy(), x.copy()
    if shadow == "same strides":
        dbase, dxbase = np.zeros(8), np.zeros(6)
        dy, dx = dbase[6::-2], dxbase[::-2]
        dy[...] = sy
    else:
        dy, dx = sy.copy(), np.zeros(3)

    def program(A: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        ba.gemv(2.0, A, x, 0.5, y)
        ba.gemv(1.0, A, y, 0.0, x, trans="T")  # then x is overwritten

    dA = np.zeros((4, 3))
    ba.autodiff(program, ba.Duplicated(A, dA), ba.Duplicated(x, dx), ba.Duplicated(y, dy))
    y1 = 2.0 * A @ x0 + 0.5 * y0
    assert_array_equal(y, y1)
    assert_array_equal(x, A.T @ y1)
    assert_array_equal(dy, 0.5 * sy)  # x's final value had a zero seed
    assert_array_equal(dx, 2.0 * A.T @ sy)
    assert_array_equal(dA, 2.0 * np.outer(sy, x0))


def test_output_view_of_a_base_and_vector_views() -> None:
    # y ← A x + β y with A a transposed block, x a strided column and y a reversed row, all of M
    M = ints(52, (6, 5), "F")
    s = ints(53, (3,))

    def views(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return X[0:4, 0:3].T, X[0:4, 4], X[5, 3:0:-1]

    A, x, y = (v.copy() for v in views(M))
    expected_y = A @ x + 0.5 * y
    expected = np.zeros((6, 5))
    ea, ex, ey = views(expected)
    ey[...] = 0.5 * s  # ȳ_old = β ȳ
    ea[...] += np.outer(s, x)
    ex[...] += A.T @ s

    with ba.Tape() as tape:
        tape.watch(M)
        va, vx, vy = views(M)
        ba.gemv(1.0, va, vx, 0.5, vy)
    tape.backward(views(M)[2], s)
    assert_array_equal(views(M)[2], expected_y)
    assert_array_equal(tape.grad(M), expected)


def test_overlapping_views_get_one_adjoint_per_element() -> None:
    v = ints(54, (5,))
    S = ints(55, (3,))
    with ba.Tape() as tape:
        tape.watch(v)
        y = np.zeros(3)
        ba.axpy(1.0, v[0:3], y)
        ba.axpy(1.0, v[1:4], y)
        ba.axpy(1.0, v[4:1:-1], y)
    tape.backward(y, S)
    assert_array_equal(y, v[0:3] + v[1:4] + v[4:1:-1])
    expected = np.zeros(5)
    expected[0:3] += S
    expected[1:4] += S
    expected[4:1:-1] += S
    assert_array_equal(tape.grad(v), expected)

    # a matrix and one of its own rows as the vector of one gemv
    M, s = ints(56, (4, 4)), ints(57, (3,))
    with ba.Tape() as tape:
        tape.watch(M)
        A, x = M[0:3, 0:3], M[1, 1:4]
        y = ba.gemv(2.0, A, x)
    tape.backward(y, s)
    A, x = M[0:3, 0:3], M[1, 1:4]
    assert_array_equal(y, 2.0 * A @ x)
    expected = np.zeros((4, 4))
    expected[0:3, 0:3] += 2.0 * np.outer(s, x)
    expected[1, 1:4] += 2.0 * A.T @ s
    assert_array_equal(tape.grad(M), expected)


def test_staged_constant_input_survives_until_the_sweep() -> None:
    # B (negative strides) is staged through a temporary that the sweep reads for Ā.
    A, Bbase, S = ints(58, (4, 3)), ints(59, (3, 5)), ints(60, (4, 5))
    with ba.Tape() as tape:
        tape.watch(A)
        C = ba.gemm(1.0, A, Bbase[::-1, ::-1])
    junk = [np.full((3, 5), 1e300, order="F") for _ in range(100)]  # would reuse a freed temporary
    gc.collect()
    tape.backward(C, S)
    assert_array_equal(tape.grad(A), S @ Bbase[::-1, ::-1].T)
    assert len(junk) == 100


# ---- aliasing: an output sharing an element with an input is rejected ---------------------------


def _bases() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return ints(70, (5, 5)), ints(71, (5, 5), "F"), ints(72, (6,))


ALIASING = [
    ("gemm C is A", lambda M, N, v: ba.gemm(1.0, M[:3, :3], N[:3, :3], 0.0, M[:3, :3])),
    ("gemm C is B transposed", lambda M, N, v: ba.gemm(1.0, M[:3, :3], N[:3, :3], 1.0, N[:3, :3].T)),
    (
        "gemm C overlaps A in one element",
        lambda M, N, v: ba.gemm(1.0, M[0:3, 0:2], N[:2, :3], 0.0, M[2:5, 1:4]),
    ),
    ("gemm C is a reversed A", lambda M, N, v: ba.gemm(1.0, M[:3, :3], N[:3, :3], 0.0, M[2::-1, :3])),
    ("gemm alpha inside C", lambda M, N, v: ba.gemm(M[0, 0, ...], N[:2, :2], N[2:4, :2], 0.0, M[:2, :2])),
    ("gemm beta inside C", lambda M, N, v: ba.gemm(1.0, N[:2, :2], N[2:4, :2], M[1, 1, ...], M[:2, :2])),
    ("gemv y is x", lambda M, N, v: ba.gemv(1.0, M[:3, :3], v[:3], 0.0, v[:3])),
    ("gemv y is a column of A", lambda M, N, v: ba.gemv(1.0, M[:3, :3], v[:3], 0.0, M[:3, 2])),
    ("gemv y overlaps x", lambda M, N, v: ba.gemv(1.0, M[:3, :3], v[:3], 1.0, v[4:1:-1])),
    ("axpy y is x", lambda M, N, v: ba.axpy(1.0, v[:3], v[:3])),
    ("axpy y overlaps x", lambda M, N, v: ba.axpy(2.0, v[0:3], v[2:5])),
    ("axpy alpha inside y", lambda M, N, v: ba.axpy(v[0, ...], N[0, :3], v[:3])),
]


@pytest.mark.parametrize("call", [c[1] for c in ALIASING], ids=[c[0] for c in ALIASING])
@pytest.mark.parametrize("taped", [False, True], ids=["plain", "taped"])
def test_aliasing_output_and_input_is_rejected(call, taped: bool) -> None:
    M, N, v = _bases()
    before = [x.tobytes() for x in (M, N, v)]
    if taped:
        with ba.Tape() as tape:
            tape.watch(M, N, v)
            with pytest.raises(ValueError, match="shares elements"):
                call(M, N, v)
        assert tape.ncalls == 0
        assert tape.bytes_copied == 0
    else:
        with pytest.raises(ValueError, match="shares elements"):
            call(M, N, v)
    assert [x.tobytes() for x in (M, N, v)] == before


def test_interleaved_but_disjoint_vectors_are_accepted() -> None:
    v, s = ints(73, (6,)), ints(74, (3,))
    v0 = v.copy()
    with ba.Tape() as tape:
        tape.watch(v)
        ba.axpy(2.0, v[::2], v[1::2])
    seed = np.repeat(s, 2)
    tape.backward(v, seed)
    expected_v = v0.copy()
    expected_v[1::2] += 2.0 * v0[::2]
    assert_array_equal(v, expected_v)
    expected = seed.copy()
    expected[::2] += 2.0 * seed[1::2]
    assert_array_equal(tape.grad(v), expected)


@pytest.mark.parametrize("order", ["F", "C"])
def test_blocked_trailing_update_is_accepted_and_differentiated(order: str) -> None:
    k = 2
    M0, S = ints(75, (5, 5), order), ints(76, (5, 5))
    M = M0.copy(order="K")
    assert M.flags[f"{order}_CONTIGUOUS"]
    with ba.Tape() as tape:
        tape.watch(M)
        ba.gemm(-1.0, M[k:, :k], M[:k, k:], 1.0, M[k:, k:])
    assert tape.bytes_copied == 0  # the update reads A21, A12 and writes only A22
    tape.backward(M, S)
    expected_M = M0.copy()
    expected_M[k:, k:] -= M0[k:, :k] @ M0[:k, k:]
    assert_array_equal(M, expected_M)
    expected = S.copy()  # M̄22 = S22 (β = 1); M̄21 = S21 - S22 A12ᵀ; M̄12 = S12 - A21ᵀ S22
    expected[k:, :k] -= S[k:, k:] @ M0[:k, k:].T
    expected[:k, k:] -= M0[k:, :k].T @ S[k:, k:]
    assert_array_equal(tape.grad(M), expected)

    def program(X: np.ndarray) -> None:
        M = X.T if order == "F" else X  # gradcheck hands C-ordered copies; X.T is F-ordered
        ba.gemm(-1.0, M[k:, :k], M[:k, k:], 1.0, M[k:, k:])

    check = ba.gradcheck(program, np.random.default_rng(78).standard_normal((5, 5)))
    assert check.ok, check
    assert check.dot_adjoint == pytest.approx(check.dot_numeric, rel=1e-6)


@pytest.mark.parametrize("order", ["F", "C"])
def test_blocked_elimination_program_gradcheck(order: str) -> None:
    # successive trailing updates: each reads blocks the previous one wrote; none overwrites a
    # block an earlier update read (right-looking elimination), so nothing needs to be copied
    def program(X: np.ndarray) -> None:
        M = X.T if order == "F" else X  # gradcheck hands C-ordered copies; X.T is F-ordered
        for k in (1, 2, 3):
            ba.gemm(-1.0, M[k:, :k], M[:k, k:], 1.0, M[k:, k:])

    X = np.random.default_rng(77).standard_normal((5, 5))
    check = ba.gradcheck(program, X)
    assert check.ok, check
    assert check.dot_adjoint == pytest.approx(check.dot_numeric, rel=1e-6)

    M_ref = X.T.copy() if order == "F" else X.copy()
    for k in (1, 2, 3):
        M_ref[k:, k:] -= M_ref[k:, :k] @ M_ref[:k, k:]
    Xr = X.copy()
    with ba.Tape() as tape:
        tape.watch(Xr)
        program(Xr)
    assert tape.ncalls == 3
    assert tape.bytes_copied == 0
    assert_allclose(Xr.T if order == "F" else Xr, M_ref, rtol=1e-13, atol=1e-13)


# ---- β = 0: the output's shadow is set to exactly zero ------------------------------------------

C_LAYOUTS = {
    "C-order": lambda X, m, n: X[:m, :n],
    "F-order": lambda X, m, n: X.T[:m, :n],
    "negative": lambda X, m, n: X[m - 1 :: -1, n - 1 :: -1] if m and n else X[:m, :n],
    "stepped": lambda X, m, n: X[: 2 * m : 2, : 2 * n : 2],
}


def _nan_seed(shape: tuple[int, ...]) -> np.ndarray:
    seed = np.full(shape, np.nan)
    seed.flat[1::3] = np.inf
    seed.flat[2::3] = -np.inf
    return seed


@pytest.mark.parametrize(("m", "k", "n"), [(1, 1, 1), (3, 3, 3), (7, 3, 5), (2, 4, 1), (1, 5, 3)])
@pytest.mark.parametrize("layout", list(C_LAYOUTS))
@pytest.mark.parametrize("active_inputs", [False, True], ids=["const-AB", "dup-AB"])
def test_beta_zero_sets_gemm_output_shadow_exactly_to_zero(m, k, n, layout, active_inputs) -> None:
    A, B = ints(80, (m, k)), ints(81, (k, n))
    base = np.full((16, 16), np.nan)  # the old C: NaN must not propagate either
    dbase = _nan_seed((16, 16))

    def program(base: np.ndarray, A: np.ndarray, B: np.ndarray) -> None:
        ba.gemm(1.0, A, B, 0.0, C_LAYOUTS[layout](base, m, n))

    dA, dB = np.zeros((m, k)), np.zeros((k, n))
    wrap = (lambda x, dx: ba.Duplicated(x, dx)) if active_inputs else (lambda x, dx: ba.Const(x))
    ba.autodiff(program, ba.Duplicated(base, dbase), wrap(A, dA), wrap(B, dB))
    assert_array_equal(C_LAYOUTS[layout](base, m, n), A @ B)
    dC = C_LAYOUTS[layout](dbase, m, n)
    assert np.all(dC == 0.0), dC
    # elements outside C keep their seed (d loss / d x = seed where nothing wrote)
    untouched = np.ones((16, 16), bool)
    C_LAYOUTS[layout](untouched, m, n)[...] = False
    assert_array_equal(dbase[untouched], _nan_seed((16, 16))[untouched])


@pytest.mark.parametrize(("m", "n"), [(1, 1), (3, 3), (7, 3)])
@pytest.mark.parametrize("trans", ["N", "T"])
@pytest.mark.parametrize("layout", ["contiguous", "strided", "reversed"])
@pytest.mark.parametrize("active_inputs", [False, True], ids=["const-Ax", "dup-Ax"])
def test_beta_zero_sets_gemv_output_shadow_exactly_to_zero(m, n, trans, layout, active_inputs) -> None:
    A = ints(82, (m, n))
    ny, nx = (m, n) if trans == "N" else (n, m)
    x = ints(83, (nx,))
    base, dbase = np.full(20, np.nan), _nan_seed((20,))
    sel = {"contiguous": slice(0, ny), "strided": slice(0, 2 * ny, 2), "reversed": slice(ny - 1, None, -1)}[
        layout
    ]

    def program(base: np.ndarray, A: np.ndarray, x: np.ndarray) -> None:
        ba.gemv(1.0, A, x, 0.0, base[sel], trans=trans)

    dA, dx = np.zeros((m, n)), np.zeros(nx)
    wrap = (lambda x, dx: ba.Duplicated(x, dx)) if active_inputs else (lambda x, dx: ba.Const(x))
    ba.autodiff(program, ba.Duplicated(base, dbase), wrap(A, dA), wrap(x, dx))
    assert_array_equal(base[sel], (A if trans == "N" else A.T) @ x)
    assert np.all(dbase[sel] == 0.0), dbase[sel]
    untouched = np.ones(20, bool)
    untouched[sel] = False
    assert_array_equal(dbase[untouched], _nan_seed((20,))[untouched])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("offset", [0, 1, 3], ids=["aligned", "1 element in", "3 elements in"])
def test_beta_zero_exactly_zeroes_a_large_output_shadow(dtype, offset) -> None:
    """An output shadow of 8 MiB or more is zeroed with streaming stores (where the CPU has
    them): every element exactly 0 from NaN/±inf seeds, whatever the alignment and the tail, and
    not one byte outside it."""
    m, n = 1031, 2053 if dtype == np.float32 else 1027  # over 8 MiB, a size no power of two divides
    A, B = np.ones((m, 2), dtype), np.ones((2, n), dtype)
    C = np.zeros((m, n), dtype)
    guard = np.full(m * n + offset + 5, np.nan, dtype)  # the shadow lies inside, offset elements in
    dC = guard[offset : offset + m * n].reshape(m, n)
    dC[...] = _nan_seed((m, n)).astype(dtype)
    ba.autodiff(lambda A, B, C: ba.gemm(1.0, A, B, 0.0, C), ba.Const(A), ba.Const(B), ba.Duplicated(C, dC))
    assert dC.nbytes >= 8 << 20
    assert not np.any(dC)  # exactly zero (a NaN or inf would not compare equal to 0)
    assert np.isnan(guard[:offset]).all() and np.isnan(guard[offset + m * n :]).all()


def test_beta_zero_with_only_the_output_active() -> None:
    A, B = ints(84, (3, 2)), ints(85, (2, 4))
    C = np.full((3, 4), np.nan)
    with ba.Tape() as tape:
        tape.watch(C)
        ba.gemm(1.0, A, B, 0.0, C)
    assert tape.ncalls == 1  # recorded: C̄ must be zeroed
    tape.backward(C, _nan_seed((3, 4)))
    assert_array_equal(C, A @ B)
    assert_array_equal(tape.grad(C), np.zeros((3, 4)))


# ---- active α and β ---------------------------------------------------------------------------


@pytest.mark.parametrize(("trans_a", "trans_b"), [("N", "N"), ("T", "N"), ("N", "T"), ("T", "T")])
def test_active_alpha_beta_gemm_exact(trans_a: str, trans_b: str) -> None:
    A = ints(90, (3, 4) if trans_a == "N" else (4, 3))
    B = ints(91, (4, 2) if trans_b == "N" else (2, 4))
    C0, S = ints(92, (3, 2)), ints(93, (3, 2))
    opA = A if trans_a == "N" else A.T
    opB = B if trans_b == "N" else B.T
    alpha, beta, C = np.array(2.0), np.array(-3.0), C0.copy()
    with ba.Tape() as tape:
        tape.watch(alpha, beta, A, B, C)
        ba.gemm(alpha, A, B, beta, C, trans_a=trans_a, trans_b=trans_b)
    assert tape.bytes_copied == C.nbytes  # β̄ needs the old C, which the call overwrites
    tape.backward(C, S)
    assert_array_equal(C, 2.0 * opA @ opB - 3.0 * C0)
    assert tape.grad(alpha) == np.vdot(S, opA @ opB)
    assert tape.grad(beta) == np.vdot(S, C0)
    assert_array_equal(tape.grad(C), -3.0 * S)
    gA, gB = 2.0 * S @ opB.T, 2.0 * opA.T @ S
    assert_array_equal(tape.grad(A), gA if trans_a == "N" else gA.T)
    assert_array_equal(tape.grad(B), gB if trans_b == "N" else gB.T)


def test_active_alpha_beta_gradcheck_all_routines() -> None:
    rng = np.random.default_rng(94)
    a, b = np.array(0.7), np.array(-1.3)
    A, B, C = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    x, y = rng.standard_normal(4), rng.standard_normal(3)
    checks = [
        ba.gradcheck(lambda a, b, A, B, C: ba.gemm(a, A, B, b, C), a, b, A, B, C),
        ba.gradcheck(lambda a, b, A, B, C: ba.gemm(a, B, A, b, C.T, "T", "T"), a, b, A, B, C),
        ba.gradcheck(lambda a, b, A, B, C: ba.gemm(a, A, B, b, C), a, b, ba.Const(A), ba.Const(B), C),
        ba.gradcheck(lambda a, b, A, x, y: ba.gemv(a, A, x, b, y), a, b, A, x, y),
        ba.gradcheck(lambda a, b, A, x, y: ba.gemv(a, A, y, b, x, "T"), a, b, A, x, y),
        ba.gradcheck(lambda a, b, A, x, y: ba.gemv(a, A, x, b, y), a, b, ba.Const(A), ba.Const(x), y),
        ba.gradcheck(lambda a, x, y: ba.axpy(a, x, y), a, x, rng.standard_normal(4)),
        ba.gradcheck(lambda a, x, y: ba.axpy(a, x[::-1], y[::2]), a, x, rng.standard_normal(8)),
        ba.gradcheck(lambda a, x, y: ba.axpy(a, x, y), a, ba.Const(x), rng.standard_normal(4)),
        # the same 0-d array as α and β of one call: ᾱ and β̄ both land on it
        ba.gradcheck(lambda a, A, x, y: ba.gemv(a, A, x, a, y), a, A, x, y),
    ]
    for check in checks:
        assert check.ok, check
        assert check.dot_adjoint == pytest.approx(check.dot_numeric, rel=1e-6, abs=1e-8)


def test_active_alpha_gemv_and_axpy_exact() -> None:
    A, x, y0, s = ints(95, (3, 4)), ints(96, (4,)), ints(97, (3,)), ints(98, (3,))
    alpha, beta, y = np.array(3.0), np.array(0.5), y0.copy()
    with ba.Tape() as tape:
        tape.watch(alpha, beta, A, x, y)
        ba.gemv(alpha, A, x, beta, y)
        ba.axpy(alpha, x[1:], y)
    tape.backward(y, s)
    assert_array_equal(y, 3.0 * A @ x + 0.5 * y0 + 3.0 * x[1:])
    assert tape.grad(alpha) == np.vdot(s, A @ x) + np.vdot(s, x[1:])
    assert tape.grad(beta) == np.vdot(s, y0)
    expected_x = 3.0 * A.T @ s
    expected_x[1:] += 3.0 * s
    assert_array_equal(tape.grad(x), expected_x)
    assert_array_equal(tape.grad(A), 3.0 * np.outer(s, x))
    assert_array_equal(tape.grad(y), 0.5 * s)


def test_zero_d_scalar_view_that_is_later_overwritten() -> None:
    rng = np.random.default_rng(99)

    def by_axpy(S: np.ndarray, A: np.ndarray, B: np.ndarray, C: np.ndarray, w: np.ndarray) -> None:
        ba.gemm(S[0, ...], A, B, S[1, ...], C)  # α = S[0], β = S[1], both 0-d views of S
        ba.axpy(1.5, w, S)  # overwrites α's and β's elements
        ba.gemm(S[0, ...], A, B, S[1, ...], C)

    def by_gemm(S: np.ndarray, A: np.ndarray, B: np.ndarray, C: np.ndarray, w: np.ndarray) -> None:
        ba.gemm(S[0, 0, ...], A, B, 1.0, C)  # α = S[0, 0], a 0-d view of a matrix
        ba.gemm(1.0, A[:1, :2], B[:2, :1], 0.0, S[0:1, 0:1])  # the 1x1 block holding α is overwritten
        ba.gemv(S[0, 0, ...], A, w[:2], S[1, 1, ...], C[:, 0])

    A, B, C = rng.standard_normal((3, 2)), rng.standard_normal((2, 2)), rng.standard_normal((3, 2))
    check = ba.gradcheck(by_axpy, np.array([0.8, -0.6]), A, B, C, rng.standard_normal(2))
    assert check.ok, check
    check = ba.gradcheck(by_gemm, rng.standard_normal((2, 2)), A, B, C, rng.standard_normal(2))
    assert check.ok, check

    # exact: α = s[0] used, then s[0] ← 0·... overwritten by gemm with β = 0, then used again
    s = np.array([[2.0]])
    a, b, p = np.array([[3.0]]), np.array([[5.0]]), np.array([[7.0]])
    c, q = np.zeros((1, 1)), np.zeros((1, 1))
    with ba.Tape() as tape:
        tape.watch(s, a, b, p)
        ba.gemm(s[0, 0, ...], a, b, 0.0, c)  # c = s·a·b = 30
        ba.gemm(1.0, a, p, 0.0, s)  # s = a·p = 21
        ba.gemm(s[0, 0, ...], b, p, 0.0, q)  # q = s·b·p = 735
    tape.backward([c, q], [np.ones((1, 1)), np.ones((1, 1))])
    assert_array_equal(c, [[30.0]])
    assert_array_equal(q, [[735.0]])
    # c = s0 a b; q = (a p) b p: ∂/∂s0 = ab = 15; ∂/∂a = s0 b + pbp = 10 + 245; ∂/∂b = s0 a + app = 6 + 147
    assert_array_equal(tape.grad(s), [[15.0]])
    assert_array_equal(tape.grad(a), [[255.0]])
    assert_array_equal(tape.grad(b), [[153.0]])
    assert_array_equal(tape.grad(p), [[2 * 3.0 * 5.0 * 7.0]])


# ---- complex: N, T and C (conjugate transpose) against hand derivations -------------------------

# gemm: C ← α op(A) op(B) + β C. With X = op(A), Y = op(B): X̄ = conj(α) C̄ Yᴴ, Ȳ = conj(α) Xᴴ C̄,
# and Ā is X̄, X̄ᵀ or X̄ᴴ for N, T, C. Written out per flag pair (S = C̄, a = α):
GEMM_COMPLEX_RULES = {
    ("N", "N"): (
        lambda A, B, S, a: np.conj(a) * S @ B.conj().T,
        lambda A, B, S, a: np.conj(a) * A.conj().T @ S,
    ),
    ("C", "N"): (lambda A, B, S, a: a * B @ S.conj().T, lambda A, B, S, a: np.conj(a) * A @ S),
    ("N", "C"): (lambda A, B, S, a: np.conj(a) * S @ B, lambda A, B, S, a: a * S.conj().T @ A),
    ("C", "C"): (
        lambda A, B, S, a: a * B.conj().T @ S.conj().T,
        lambda A, B, S, a: a * S.conj().T @ A.conj().T,
    ),
    ("C", "T"): (lambda A, B, S, a: a * B.T @ S.conj().T, lambda A, B, S, a: np.conj(a) * S.T @ A.T),
    ("T", "C"): (lambda A, B, S, a: np.conj(a) * B.T @ S.T, lambda A, B, S, a: a * S.conj().T @ A.T),
    ("T", "T"): (
        lambda A, B, S, a: np.conj(a) * B.conj().T @ S.T,
        lambda A, B, S, a: np.conj(a) * S.T @ A.conj().T,
    ),
}


def _op(X: np.ndarray, flag: str) -> np.ndarray:
    return {"N": X, "T": X.T, "C": X.conj().T}[flag]


@pytest.mark.parametrize("order", ["C", "F"])  # C-ordered operands reach BLAS as transposed storage
@pytest.mark.parametrize(("trans_a", "trans_b"), list(GEMM_COMPLEX_RULES), ids="".join)
def test_complex_gemm_adjoints_match_hand_derivation(trans_a: str, trans_b: str, order: str) -> None:
    m, k, n = 3, 4, 2
    A = cints(300, (m, k) if trans_a == "N" else (k, m), order)
    B = cints(301, (k, n) if trans_b == "N" else (n, k), order)
    C0, S = cints(302, (m, n), order), cints(303, (m, n))
    alpha, beta = np.array(2.0 - 1.0j), np.array(-1.0 + 3.0j)  # active 0-d α, β
    rule_a, rule_b = GEMM_COMPLEX_RULES[trans_a, trans_b]

    C, dC = C0.copy(order="K"), S.copy()
    dA, dB, dalpha, dbeta = np.zeros_like(A), np.zeros_like(B), np.zeros((), complex), np.zeros((), complex)

    def program(alpha: np.ndarray, A: np.ndarray, B: np.ndarray, beta: np.ndarray, C: np.ndarray) -> None:
        ba.gemm(alpha, A, B, beta, C, trans_a, trans_b)

    ba.autodiff(
        program,
        ba.Duplicated(alpha, dalpha),
        ba.Duplicated(A, dA),
        ba.Duplicated(B, dB),
        ba.Duplicated(beta, dbeta),
        ba.Duplicated(C, dC),
    )
    P = _op(A, trans_a) @ _op(B, trans_b)
    a, b = complex(alpha), complex(beta)
    assert_array_equal(C, a * P + b * C0)
    assert_array_equal(dA, rule_a(A, B, S, a))
    assert_array_equal(dB, rule_b(A, B, S, a))
    assert dalpha == np.vdot(P, S)  # ᾱ = Σ conj(op(A) op(B)) C̄
    assert dbeta == np.vdot(C0, S)  # β̄ = Σ conj(C_old) C̄
    assert_array_equal(dC, np.conj(b) * S)  # C̄ ← conj(β) C̄


# gemv: y ← α op(A) x + β y (s = ȳ, a = α): (Ā, x̄) per flag
GEMV_COMPLEX_RULES = {
    "N": (
        lambda A, x, s, a: np.conj(a) * np.outer(s, x.conj()),
        lambda A, x, s, a: np.conj(a) * A.conj().T @ s,
    ),
    "T": (
        lambda A, x, s, a: np.conj(a) * np.outer(x.conj(), s),
        lambda A, x, s, a: np.conj(a) * A.conj() @ s,
    ),
    "C": (lambda A, x, s, a: a * np.outer(x, s.conj()), lambda A, x, s, a: np.conj(a) * A @ s),
}


def _gemv_view(base: np.ndarray, layout: str, m: int, n: int) -> np.ndarray:
    """An m x n block of base; "strided": every other row, reversed, and every other column."""
    return base[::-2, 1::2][:m, :n] if layout == "strided" else base[:m, :n]


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("trans", list(GEMV_COMPLEX_RULES))
def test_complex_gemv_adjoints_match_hand_derivation(trans: str, layout: str) -> None:
    m, n = 4, 3
    base = cints(310, (8, 9), "F" if layout == "F" else "C")
    A0 = _gemv_view(base, layout, m, n).copy()
    nx, ny = (n, m) if trans == "N" else (m, n)
    x0, y0, s = cints(311, (nx,)), cints(312, (ny,)), cints(313, (ny,))
    alpha, beta = 1.0 + 2.0j, np.array(3.0 - 1.0j)  # a constant complex α, an active β
    xb, yb = np.zeros((2 * nx,), complex), np.zeros((2 * ny,), complex)  # x, y as stride-2 views
    x, y = xb[::2], yb[::-2]
    x[...], y[...] = x0, y0
    dbase, dxb, dyb, dbeta = np.zeros_like(base), np.zeros_like(xb), np.zeros_like(yb), np.zeros((), complex)
    dyb[::-2] = s
    rule_a, rule_x = GEMV_COMPLEX_RULES[trans]

    def program(base: np.ndarray, xb: np.ndarray, yb: np.ndarray, beta: np.ndarray) -> None:
        ba.gemv(alpha, _gemv_view(base, layout, m, n), xb[::2], beta, yb[::-2], trans)

    ba.autodiff(
        program,
        ba.Duplicated(base, dbase),
        ba.Duplicated(xb, dxb),
        ba.Duplicated(yb, dyb),
        ba.Duplicated(beta, dbeta),
    )
    b = complex(beta)
    assert_array_equal(yb[::-2], alpha * _op(A0, trans) @ x0 + b * y0)
    expected = np.zeros_like(base)
    _gemv_view(expected, layout, m, n)[...] = rule_a(A0, x0, s, alpha)
    assert_array_equal(dbase, expected)
    assert_array_equal(dxb[::2], rule_x(A0, x0, s, alpha))
    assert_array_equal(dxb[1::2], np.zeros(nx))
    assert dbeta == np.vdot(y0, s)  # β̄ = Σ conj(y_old) ȳ
    assert_array_equal(dyb[::-2], np.conj(b) * s)  # ȳ ← conj(β) ȳ


def test_complex_axpy_adjoints() -> None:
    # y ← α x + y: x̄ += conj(α) ȳ, ᾱ += Σ conj(x) ȳ, ȳ unchanged
    x, y0 = cints(320, (5,)), cints(321, (5,))
    sx, sy = cints(322, (5,)), cints(323, (5,))
    alpha = np.array(-2.0 + 1.0j)
    x_run, y, dx, dy, dalpha = x.copy(), y0.copy(), sx.copy(), sy.copy(), np.zeros((), complex)
    ba.autodiff(
        lambda alpha, x, y: ba.axpy(alpha, x, y),
        ba.Duplicated(alpha, dalpha),
        ba.Duplicated(x_run, dx),
        ba.Duplicated(y, dy),
    )
    a = complex(alpha)
    assert_array_equal(y, a * x + y0)
    assert_array_equal(dx, sx + np.conj(a) * sy)
    assert dalpha == np.vdot(x, sy)
    assert dalpha == np.sum(np.conj(x) * sy)
    assert_array_equal(dy, sy)

    # a constant complex α (a Python number), Tape style, x read through a reversed view
    xb = x[::-1].copy()
    with ba.Tape() as tape:
        tape.watch(xb)
        y = y0.copy()
        tape.watch(y)
        ba.axpy(0.5 - 1.5j, xb[::-1], y)
    tape.backward(y, sy)
    assert_array_equal(y, (0.5 - 1.5j) * x + y0)
    assert_array_equal(tape.grad(xb)[::-1], (0.5 + 1.5j) * sy)
    assert_array_equal(tape.grad(y), sy)


def test_complex_tape_takes_real_and_complex_seeds() -> None:
    # L = Re Σ conj(seed) C: a real seed is a complex seed with zero imaginary part
    A, B = cints(330, (3, 2)), cints(331, (2, 4))
    for seed in (ints(332, (3, 4)), cints(333, (3, 4))):
        with ba.Tape() as tape:
            tape.watch(A, B)
            C = ba.gemm(1.0, A, B, trans_b="N")
        tape.backward(C, seed)
        assert_array_equal(tape.grad(A), seed @ B.conj().T)
        assert_array_equal(tape.grad(B), A.conj().T @ seed)


def test_real_and_imaginary_part_views_share_the_complex_adjoint() -> None:
    # Z.real and Z.imag are float64 views into Z's memory: their adjoints land in the real and
    # imaginary slots of Z's shadow, which is exactly Z̄ = ∂L/∂Re Z + i ∂L/∂Im Z.
    Z0, x, s = cints(340, (3, 4)), ints(341, (4,)), ints(342, (3,))
    Z = Z0.copy()
    with ba.Tape() as tape:
        tape.watch(Z, x)
        y = ba.gemv(1.0, Z.real, x)  # y = Re(Z) x
        ba.gemv(2.0, Z.imag, x, 1.0, y)  # y += 2 Im(Z) x
    tape.backward(y, s)
    assert_array_equal(y, Z0.real @ x + 2.0 * Z0.imag @ x)
    assert_array_equal(tape.grad(Z), (1.0 + 2.0j) * np.outer(s, x))
    assert_array_equal(tape.grad(x), Z0.real.T @ s + 2.0 * Z0.imag.T @ s)


def test_complex_saved_input_overwritten_is_copied_whole() -> None:
    # copy-on-write copies 16 bytes per complex128 element: the whole saved block, no more
    A, S, T = cints(350, (3, 2)), cints(351, (3, 4)), cints(352, (2, 4))
    D, E = cints(353, (2, 5)), cints(354, (5, 4))
    base = cints(355, (6, 7), "F")
    B = base[1:3, 2:6]
    B0 = B.copy()
    C = np.zeros((3, 4), complex)
    with ba.Tape() as tape:
        tape.watch(A, base, D, E)
        ba.gemm(1.0, A, B, 0.0, C, trans_a="N", trans_b="N")
        ba.gemm(1.0j, D, E, 0.0, B)  # overwrites B, which Ā needs
    assert tape.bytes_copied == B.nbytes == 8 * 16
    tape.backward([C, B], [S, T])
    assert_array_equal(B, 1.0j * D @ E)
    assert_array_equal(tape.grad(A), S @ B0.conj().T)
    assert_array_equal(tape.grad(B), A.conj().T @ S)
    assert_array_equal(tape.grad(D), -1.0j * T @ E.conj().T)  # conj(α) T Eᴴ
    assert_array_equal(tape.grad(E), -1.0j * D.conj().T @ T)


def test_complex_gradient_is_not_the_conjugate_or_the_real_part() -> None:
    # the adjoint convention, pinned on one number: L = Re(conj(s) · a·x) for y = a x
    x, y = np.array([1.0 + 2.0j]), np.zeros(1, complex)
    s = np.array([3.0 - 1.0j])
    a = np.array(2.0 + 1.0j)
    dx, dy, da = np.zeros(1, complex), s.copy(), np.zeros((), complex)
    ba.autodiff(
        lambda a, x, y: ba.axpy(a, x, y), ba.Duplicated(a, da), ba.Duplicated(x, dx), ba.Duplicated(y, dy)
    )
    # L = Re(conj(s) a x) = Re((3 + i)(2 + i)(x)) = Re((5 + 5i) x) = 5 Re x - 5 Im x:
    # x̄ = ∂L/∂Re x + i ∂L/∂Im x = 5 - 5i = conj(a) s
    assert_array_equal(dx, [5.0 - 5.0j])
    # L = Re((3 + i)(1 + 2i) a) = Re((1 + 7i) a) = Re a - 7 Im a: ā = 1 - 7i = conj(x) s
    assert da == 1.0 - 7.0j


# ---- constants cost no adjoint work -----------------------------------------------------------


def test_only_output_active_through_beta_is_recorded() -> None:
    A, B, C0, S = ints(100, (3, 2)), ints(101, (2, 4)), ints(102, (3, 4)), ints(103, (3, 4))
    C = C0.copy()
    A1, B1 = A.copy(), B.copy()
    with ba.Tape() as tape:
        tape.watch(C)
        ba.gemm(1.0, A1, B1, 0.5, C)
        ba.gemm(1.0, A1, B1, 0.0, np.zeros((3, 4)))  # nothing active: not recorded
        ba.axpy(1.0, A1[:, 0], A1[:, 1])  # overwrite the constants: they were not saved
        ba.axpy(-1.0, A1[0], B1[:, 0])
    assert tape.ncalls == 1
    assert tape.bytes_copied == 0
    tape.backward(C, S)
    assert_array_equal(C, A @ B + 0.5 * C0)
    assert_array_equal(tape.grad(C), 0.5 * S)
    with pytest.raises(ValueError, match="not watched"):
        tape.grad(A)


def test_calls_with_nothing_active_are_not_recorded() -> None:
    A, B, C, x, y = ints(104, (3, 2)), ints(105, (2, 4)), ints(106, (3, 4)), ints(107, (2,)), ints(108, (3,))
    w = ints(109, (5,))
    with ba.Tape() as tape:
        tape.watch(w)  # active, but never reaches these calls
        ba.gemm(1.0, A, B, 0.5, C)
        ba.gemv(2.0, A, x, 0.0, y)
        ba.axpy(3.0, y, C[:, 0])
        ba.gemm(1.0, A, B, 1.0, C)
    assert tape.ncalls == 0
    assert tape.bytes_copied == 0


def test_identity_coefficients_on_an_active_output_are_not_recorded() -> None:
    # y ← αx + y with only y active, and C ← AB + 1·C with only C active: Ȳ passes unchanged.
    A, B, C0, S = ints(110, (3, 2)), ints(111, (2, 4)), ints(112, (3, 4)), ints(113, (3, 4))
    C = C0.copy()
    with ba.Tape() as tape:
        tape.watch(C)
        ba.axpy(2.0, A[:, 0], C[:, 1])
        ba.gemm(1.0, A, B, 1.0, C)
        ba.gemv(1.0, A, B[:, 0], 1.0, C[:, 2])
    assert tape.ncalls == 0
    tape.backward(C, S)
    assert_array_equal(tape.grad(C), S)


def test_const_argument_is_untouched_and_not_saved() -> None:
    A, B, D, E, S = (
        ints(114, (3, 2)),
        ints(115, (2, 4)),
        ints(116, (3, 5)),
        ints(117, (5, 2)),
        ints(118, (3, 4)),
    )
    A0, B0 = A.copy(), B.copy()
    C, dC, dA = np.zeros((3, 4)), S.copy(), np.zeros((3, 2))

    def program(C: np.ndarray, A: np.ndarray, B: np.ndarray) -> None:
        ba.gemm(1.0, A, B, 0.0, C)
        ba.gemm(1.0, D, E, 0.0, A)  # overwrites A: only B̄ would need A, and B is constant

    ba.autodiff(program, ba.Duplicated(C, dC), ba.Duplicated(A, dA), ba.Const(B))
    assert B.tobytes() == B0.tobytes()
    assert_array_equal(dA, S @ B0.T)
    assert_array_equal(C, A0 @ B0)

    A = A0.copy()
    C = np.zeros((3, 4))
    with ba.Tape() as tape:
        tape.watch(A)
        program(C, A, B)
    assert tape.bytes_copied == 0  # A was not saved: B̄ is skipped
    tape.backward(C, S)
    assert_array_equal(tape.grad(A), S @ B0.T)
    with pytest.raises(ValueError, match="not watched"):
        tape.grad(B)


# ---- copy-on-write: save only what must be saved ----------------------------------------------


def test_program_overwriting_nothing_needed_copies_nothing() -> None:
    A, B, E, S = ints(120, (3, 2)), ints(121, (2, 4)), ints(122, (4, 2)), ints(123, (3, 2))
    with ba.Tape() as tape:
        tape.watch(A, B, E)
        C = ba.gemm(1.0, A, B)
        D = ba.gemm(1.0, C, E)
        y = ba.gemv(1.0, C, E[:, 0])
        ba.axpy(2.0, y, D[:, 1])  # overwrites D, which no adjoint reads
    assert tape.ncalls == 4
    assert tape.bytes_copied == 0
    tape.backward(D, S)
    C0 = A @ B
    ybar = 2.0 * S[:, 1]
    Cbar = S @ E.T + np.outer(ybar, E[:, 0])
    assert_array_equal(tape.grad(A), Cbar @ B.T)
    assert_array_equal(tape.grad(B), A.T @ Cbar)
    expected_E = C0.T @ S
    expected_E[:, 0] += C0.T @ ybar
    assert_array_equal(tape.grad(E), expected_E)


def _read_twice_then_overwrite(case: str, A: np.ndarray, B: np.ndarray, E: np.ndarray) -> list[np.ndarray]:
    """C ← A B is read by two saved references, then overwritten: C ← 2 A B. Returns the outputs."""
    C = ba.gemm(1.0, A, B)
    if case == "two calls":
        outs = [ba.gemm(1.0, C, E), ba.gemv(1.0, C, E[:, 0])]  # C saved for Ē, and again for x̄
    else:
        outs = [ba.gemm(1.0, C[:, :3], C[:, :3].T)]  # one call reading C[:, :3] as both operands
    ba.gemm(2.0, A, B, 0.0, C)
    return [*outs, C]


@pytest.mark.parametrize("case", ["two calls", "both operands"])
def test_value_read_twice_then_overwritten_has_correct_gradient(case: str) -> None:
    A, B, E = ints(124, (3, 2)), ints(125, (2, 4)), ints(126, (4, 2))
    with ba.Tape() as tape:
        tape.watch(A, B, E)
        outs = _read_twice_then_overwrite(case, A, B, E)
    seeds = [ints(127 + i, o.shape) for i, o in enumerate(outs)]
    tape.backward(outs, seeds)
    C0 = A @ B
    T = seeds[-1]  # reaches only the final C = 2 A B
    if case == "two calls":
        S, s = seeds[0], seeds[1]
        Cbar = S @ E.T + np.outer(s, E[:, 0])
        expected_E = C0.T @ S
        expected_E[:, 0] += C0.T @ s
    else:
        S = seeds[0]
        Cbar = np.zeros((3, 4))
        Cbar[:, :3] = S @ C0[:, :3] + S.T @ C0[:, :3]
        expected_E = np.zeros((4, 2))
    assert_array_equal(outs[-1], 2.0 * C0)
    assert_array_equal(tape.grad(A), Cbar @ B.T + 2.0 * T @ B.T)
    assert_array_equal(tape.grad(B), A.T @ Cbar + 2.0 * A.T @ T)
    assert_array_equal(tape.grad(E), expected_E)


@pytest.mark.parametrize("case", ["two calls", "both operands"])
def test_value_read_twice_then_overwritten_is_copied_once(case: str) -> None:
    # Copy-on-write: a needed range is copied when it is about to be overwritten, once, not per reader.
    A, B, E = ints(124, (3, 2)), ints(125, (2, 4)), ints(126, (4, 2))
    with ba.Tape() as tape:
        tape.watch(A, B, E)
        _read_twice_then_overwrite(case, A, B, E)
    needed = 3 * 4 if case == "two calls" else 3 * 3  # C, or the block C[:, :3]
    assert tape.bytes_copied == needed * 8


@pytest.mark.parametrize("where", ["own", "F-block", "C-block"])
def test_overwriting_a_saved_input_copies_exactly_it(where: str) -> None:
    A, S, T = ints(130, (3, 2)), ints(131, (3, 4)), ints(132, (2, 4))
    D, E = ints(133, (2, 5)), ints(134, (5, 4))
    base = {"own": ints(135, (2, 4)), "F-block": ints(135, (6, 7), "F"), "C-block": ints(135, (6, 7))}[where]
    B = base if where == "own" else base[1:3, 2:6]
    B0, base0 = B.copy(), base.copy()
    C = np.zeros((3, 4))
    with ba.Tape() as tape:
        tape.watch(A, base, D, E)
        ba.gemm(1.0, A, B, 0.0, C)
        ba.gemm(1.0, D, E, 0.0, B)
    assert tape.bytes_copied == B.nbytes
    tape.backward([C, B], [S, T])
    assert_array_equal(C, A @ B0)
    assert_array_equal(B, D @ E)
    assert_array_equal(tape.grad(A), S @ B0.T)
    assert_array_equal(tape.grad(B), A.T @ S)  # B's initial value: T reached only B's final value
    assert_array_equal(tape.grad(D), T @ E.T)
    assert_array_equal(tape.grad(E), D.T @ T)
    if where != "own":
        outside = np.ones(base.shape, bool)
        outside[1:3, 2:6] = False
        assert_array_equal(tape.grad(base)[outside], np.zeros(base.shape)[outside])
        assert_array_equal(base[outside], base0[outside])


def test_partial_overwrite_of_a_saved_input() -> None:
    A, B0, S, x = ints(140, (3, 2)), ints(141, (2, 4)), ints(142, (3, 4)), ints(143, (2,))
    B = B0.copy()
    with ba.Tape() as tape:
        tape.watch(A, B)
        C = ba.gemm(1.0, A, B)
        ba.axpy(1.0, x, B[:, 1])  # one column of the saved B
    assert tape.bytes_copied == B.nbytes
    tape.backward(C, S)
    assert_array_equal(tape.grad(A), S @ B0.T)
    assert_array_equal(tape.grad(B), A.T @ S)


@pytest.mark.parametrize("order", ["F", "C"])
def test_writing_a_disjoint_interleaved_block_copies_nothing(order: str) -> None:
    M, S = ints(150, (6, 4), order), ints(151, (3, 2))
    M0 = M.copy()
    with ba.Tape() as tape:
        tape.watch(M)
        C = ba.gemm(1.0, M[0:3, 0:2], M[0:2, 2:4].T)  # saves the top-left and top-right blocks
        ba.gemm(1.0, M[0:3, 0:2], M[0:2, 2:4], 0.0, M[3:6, 0:2])  # writes the rows below them
    assert tape.bytes_copied == 0
    tape.backward(C, S)
    expected = np.zeros((6, 4))
    expected[0:3, 0:2] = S @ M0[0:2, 2:4]
    expected[0:2, 2:4] = (M0[0:3, 0:2].T @ S).T
    assert_array_equal(tape.grad(M), expected)


def test_active_beta_copies_the_old_output() -> None:
    A, B, S = ints(160, (3, 2)), ints(161, (2, 4)), ints(162, (3, 4))
    base = ints(163, (5, 6), "F")
    C = base[1:4, 1:5]
    C0 = C.copy()
    beta = np.array(2.0)
    with ba.Tape() as tape:
        tape.watch(beta)
        ba.gemm(1.0, A, B, beta, C)
    assert tape.ncalls == 1
    assert tape.bytes_copied == C.nbytes
    tape.backward(C, S)
    assert_array_equal(C, A @ B + 2.0 * C0)
    assert tape.grad(beta) == np.vdot(S, C0)


# ---- tapes: per thread, consumed once, never left active ------------------------------------------


def test_tapes_are_per_thread() -> None:
    barrier = threading.Barrier(2, timeout=30)
    results: dict[int, tuple] = {}
    errors: list[BaseException] = []
    n_calls = {0: 3, 1: 5}

    def worker(tid: int) -> None:
        try:
            A, B, S = ints(170 + tid, (5, 4)), ints(180 + tid, (4, 3)), ints(190 + tid, (5, 3))
            R = np.zeros((5, 3))
            with ba.Tape() as tape:
                tape.watch(A, B)
                for i in range(5):
                    barrier.wait()  # both threads are recording, in lock step
                    if i < n_calls[tid]:
                        ba.gemm(1.0, A, B, 0.0, R)
            ncalls = tape.ncalls
            barrier.wait()
            tape.backward(R, S)
            results[tid] = (ncalls, tape.grad(A), tape.grad(B), S @ B.T, A.T @ S, R, A @ B)
        except BaseException as e:  # reported below
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(t,)) for t in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert current_tape() is None
    for tid in (0, 1):
        ncalls, gA, gB, eA, eB, R, AB = results[tid]
        assert ncalls == n_calls[tid]
        assert_array_equal(R, AB)
        assert_array_equal(gA, eA)
        assert_array_equal(gB, eB)


def test_main_thread_calls_are_not_recorded_on_another_threads_tape() -> None:
    entered, done = threading.Event(), threading.Event()
    out: dict[str, int] = {}
    A, B = ints(200, (3, 3)), ints(201, (3, 3))

    def worker() -> None:
        with ba.Tape() as tape:
            tape.watch(A, B)
            entered.set()
            done.wait(30)
        out["ncalls"] = tape.ncalls

    t = threading.Thread(target=worker)
    t.start()
    assert entered.wait(30)
    assert current_tape() is None
    C = np.zeros((3, 3))
    ba.gemm(1.0, A, B, 0.0, C)  # A and B are watched on the other thread's tape
    done.set()
    t.join(30)
    assert out["ncalls"] == 0
    assert_array_equal(C, A @ B)


def test_backward_consumes_the_tape() -> None:
    A, B, S = ints(210, (2, 2)), ints(211, (2, 2)), ints(212, (2, 2))
    with ba.Tape() as tape:
        tape.watch(A, B)
        C = ba.gemm(1.0, A, B)
    tape.backward(C, S)
    gA = tape.grad(A)
    with pytest.raises(RuntimeError):
        tape.backward(C, S)
    assert_array_equal(tape.grad(A), gA)  # the failed second call accumulated nothing
    assert_array_equal(gA, S @ B.T)


def test_exception_inside_autodiff_leaves_no_tape_active() -> None:
    A, B = ints(220, (3, 3)), ints(221, (3, 3))
    dA, dB = np.zeros((3, 3)), np.zeros((3, 3))
    C, dC = np.zeros((3, 3)), np.ones((3, 3))

    def failing(C: np.ndarray, A: np.ndarray, B: np.ndarray) -> None:
        ba.gemm(1.0, A, B, 0.0, C)
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        ba.autodiff(failing, ba.Duplicated(C, dC), ba.Duplicated(A, dA), ba.Duplicated(B, dB))
    assert current_tape() is None
    assert_array_equal(dA, np.zeros((3, 3)))  # no sweep ran

    # a later plain call is not recorded anywhere, and a new Tape records normally
    C2 = ba.gemm(1.0, A, B)
    assert_array_equal(C2, A @ B)
    with ba.Tape() as tape:
        tape.watch(A)
        C3 = ba.gemm(1.0, A, B)
    assert tape.ncalls == 1
    tape.backward(C3, np.ones((3, 3)))
    assert_array_equal(tape.grad(A), np.ones((3, 3)) @ B.T)


def test_exception_inside_tape_block_leaves_no_tape_active() -> None:
    A = ints(230, (2, 2))
    with pytest.raises(ZeroDivisionError), ba.Tape() as tape:
        tape.watch(A)
        ba.gemm(1.0, A, A)
        _ = 1 / 0
    assert current_tape() is None
    with ba.Tape() as tape2:
        tape2.watch(A)
        ba.gemm(1.0, A, A)
    assert tape2.ncalls == 1
