"""blasad.jax.wrap (DESIGN §10): an in-place blasad program as a JAX function, under jit and
grad, its reverse mode checked by jax.test_util.check_grads. Needs jax (CI installs it for this
directory: pip install 'blasad[jax]')."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import blasad as ba
import blasad.jax as bj

jax.config.update("jax_enable_x64", True)


def program(A: np.ndarray, x: np.ndarray) -> None:
    """x ← A x + x / 2, then x ← x / ‖x‖ (an active scalar), in place."""
    ba.gemv(1.0, A, ba.copy(x, np.empty_like(x)), 0.5, x)
    ba.scal(1.0 / ba.nrm2(x), x)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_check_grads_under_jit(dtype: type) -> None:
    rng = np.random.default_rng(3)
    A, x = rng.standard_normal((4, 4)), rng.standard_normal(4)
    if np.dtype(dtype).kind == "c":
        A, x = A + 1j * rng.standard_normal((4, 4)), x + 1j * rng.standard_normal(4)
    A, x = jnp.asarray(A), jnp.asarray(x)
    g = bj.wrap(program, outputs=(1,))
    check_grads(g, (A, x), order=1, modes=["rev"])
    check_grads(jax.jit(g), (A, x), order=1, modes=["rev"])
    both = bj.wrap(program, outputs=(0, 1))
    check_grads(both, (A, x), order=1, modes=["rev"])


def test_values_and_a_model_around_it() -> None:
    rng = np.random.default_rng(4)
    A, x = rng.standard_normal((4, 4)), rng.standard_normal(4)
    g = bj.wrap(program, outputs=1)
    expected = A @ x + 0.5 * x
    np.testing.assert_allclose(g(jnp.asarray(A), jnp.asarray(x)), expected / np.linalg.norm(expected))

    def loss(W: jax.Array, z: jax.Array) -> jax.Array:
        return jnp.sum(jnp.tanh(g(jnp.sin(W), 2.0 * z)) ** 2)

    check_grads(loss, (jnp.asarray(A), jnp.asarray(x)), order=1, modes=["rev"])
    check_grads(jax.jit(loss), (jnp.asarray(A), jnp.asarray(x)), order=1, modes=["rev"])


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="outputs must be"):
        bj.wrap(program, outputs=[])
    g = bj.wrap(program, outputs=(1,))
    with pytest.raises(Exception, match="argument 0 has dtype int64"):
        jax.block_until_ready(g(jnp.ones((2, 2), jnp.int64), jnp.ones(2)))
