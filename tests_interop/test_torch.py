"""blasad.torch.wrap (DESIGN §10): an in-place blasad program as a PyTorch function, its
reverse mode through blasad's tape checked by torch.autograd.gradcheck. Needs torch (CI installs
it for this directory: pip install 'blasad[torch]')."""

from __future__ import annotations

import numpy as np
import pytest
import scipy  # noqa: F401  (imported before torch: see NOTES on SciPy's gesdd after torch)
import torch

import blasad as ba
import blasad.torch as bt


def kalman_step(F: np.ndarray, H: np.ndarray, y: np.ndarray, x: np.ndarray, P: np.ndarray) -> None:
    """One Kalman predict + update, in place on x and P (R = I): the README's example."""
    m, p = x.shape[0], y.shape[0]
    x1, FP = ba.gemv(1.0, F, x), ba.gemm(1.0, F, P)
    ba.gemm(1.0, FP, F, 0.0, P, trans_b="T")
    HP = ba.gemm(1.0, H, P)
    S = ba.gemm(1.0, HP, H, trans_b="T")
    ba.axpy(1.0, np.eye(p, dtype=S.dtype).reshape(-1), S.reshape(-1))
    v = ba.gemv(-1.0, H, x1, 1.0, ba.copy(y, np.empty(p, y.dtype)))
    KT = ba.copy(HP.reshape(-1), np.empty(p * m, HP.dtype)).reshape(p, m)
    ba.posv(S, KT)
    ba.gemv(1.0, KT, v, 1.0, x1, trans="T")
    ba.copy(x1, x)
    ba.gemm(-1.0, KT, HP, 1.0, P, trans_a="T")


def tensors(dtype: torch.dtype, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    F = torch.eye(3, dtype=dtype) + 0.1 * torch.randn(3, 3, generator=g, dtype=dtype)
    H = torch.randn(2, 3, generator=g, dtype=dtype)
    y = torch.randn(2, generator=g, dtype=dtype)
    x = torch.randn(3, generator=g, dtype=dtype)
    P = torch.eye(3, dtype=dtype)
    return tuple(t.requires_grad_(True) for t in (F, H, y, x, P))


def test_values_and_inputs_untouched() -> None:
    F, H, y, x, P = tensors(torch.float64)
    before = [t.detach().clone() for t in (F, H, y, x, P)]
    x1, P1 = bt.wrap(kalman_step, outputs=(3, 4))(F, H, y, x, P)
    a = [t.detach().numpy().copy() for t in before]
    kalman_step(*a)
    np.testing.assert_allclose(x1.detach().numpy(), a[3], rtol=1e-14)
    np.testing.assert_allclose(P1.detach().numpy(), a[4], rtol=1e-14)
    assert all(torch.equal(t.detach(), b) for t, b in zip((F, H, y, x, P), before))


def test_gradcheck_kalman() -> None:
    g = bt.wrap(kalman_step, outputs=(3, 4))
    assert torch.autograd.gradcheck(g, tensors(torch.float64))
    one = bt.wrap(kalman_step, outputs=3)
    assert torch.autograd.gradcheck(one, tensors(torch.float64, seed=1))


def test_gradcheck_complex_and_a_model_around_it() -> None:
    def program(A: np.ndarray, x: np.ndarray) -> None:
        ba.gemv(1.0, A, ba.copy(x, np.empty_like(x)), 0.5, x)

    g = bt.wrap(program, outputs=(1,))
    A = torch.randn(3, 3, dtype=torch.complex128, requires_grad=True)
    x = torch.randn(3, dtype=torch.complex128, requires_grad=True)
    assert torch.autograd.gradcheck(g, (A, x))
    # inside a bigger model: torch layers before and after, the gradient through all of them
    W = torch.randn(3, 3, dtype=torch.float64, requires_grad=True)
    B = torch.randn(3, 3, dtype=torch.float64, requires_grad=True)
    z = torch.randn(3, dtype=torch.float64, requires_grad=True)

    def model(W: torch.Tensor, B: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(g(torch.sin(W) @ B, 2.0 * z)).sum()

    assert torch.autograd.gradcheck(model, (W, B, z))


def test_arguments_that_need_no_gradient_and_bad_outputs() -> None:
    F, H, y, x, P = tensors(torch.float64)
    y = y.detach()  # a constant observation
    x1 = bt.wrap(kalman_step, outputs=3)(F, H, y, x, P)
    x1.sum().backward()
    assert y.grad is None and F.grad is not None and P.grad is not None
    with pytest.raises(ValueError, match="names an argument twice"):
        bt.wrap(kalman_step, outputs=(3, 3))
    with pytest.raises(ValueError, match="names a position"):
        bt.wrap(kalman_step, outputs=(7,))(F, H, y, x, P)
    with pytest.raises(TypeError, match="outputs must be"):
        bt.wrap(kalman_step, outputs="x")
    with pytest.raises(TypeError, match="output 0 must be a float"):
        bt.wrap(lambda n, x: None, outputs=0)(3, x)


def test_forward_mode_jvp_and_forward_ad() -> None:
    """torch.func.jvp and torch.autograd.forward_ad through blasad's forward mode, against the
    reverse mode's vector-Jacobian products (⟨u, J v⟩ both ways) and finite differences."""
    g = bt.wrap(kalman_step, outputs=(3, 4))
    primals = tuple(t.detach() for t in tensors(torch.float64))
    gen = torch.Generator().manual_seed(3)
    v = tuple(torch.randn(t.shape, generator=gen, dtype=t.dtype) for t in primals)
    (x1, P1), (dx1, dP1) = torch.func.jvp(g, primals, v)
    eps = 1e-6
    plus = g(*(p + eps * d for p, d in zip(primals, v)))
    minus = g(*(p - eps * d for p, d in zip(primals, v)))
    for got, p, m in zip((dx1, dP1), plus, minus):
        np.testing.assert_allclose(got.numpy(), ((p - m) / (2 * eps)).numpy(), rtol=1e-6, atol=1e-8)
    u = (torch.randn(x1.shape, dtype=x1.dtype), torch.randn(P1.shape, dtype=P1.dtype))
    _, vjp = torch.func.vjp(g, *primals)
    jtu = vjp(u)
    lhs = sum(float((a * b).sum()) for a, b in zip(u, (dx1, dP1)))
    rhs = sum(float((a * b).sum()) for a, b in zip(jtu, v))
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))
    import torch.autograd.forward_ad as fwad

    with fwad.dual_level():
        duals = [fwad.make_dual(p, d) for p, d in zip(primals, v)]
        out = g(*duals)
        np.testing.assert_allclose(fwad.unpack_dual(out[1]).tangent.numpy(), dP1.numpy(), rtol=1e-13)


def test_gradcheck_forward_ad_complex() -> None:
    def program(A: np.ndarray, x: np.ndarray) -> None:
        ba.gemv(1.0, A, ba.copy(x, np.empty_like(x)), 0.5, x)
        r = ba.dotc(x, x)  # an active scalar between the calls
        ba.scal(r / 4.0, x)

    g = bt.wrap(program, outputs=(1,))
    A = torch.randn(3, 3, dtype=torch.complex128, requires_grad=True)
    x = torch.randn(3, dtype=torch.complex128, requires_grad=True)
    assert torch.autograd.gradcheck(g, (A, x), check_forward_ad=True)
    kalman = bt.wrap(kalman_step, outputs=(3, 4))
    assert torch.autograd.gradcheck(kalman, tensors(torch.float64), check_forward_ad=True)
    # torch.func.grad hides requires_grad from the wrapped function: the tape is recorded in backward
    gx = torch.func.grad(lambda A, x: g(A, x).abs().sum())(A.detach(), x.detach())
    A.grad = None
    g(A, x).abs().sum().backward()
    np.testing.assert_allclose(gx.numpy(), A.grad.numpy(), rtol=1e-12)
