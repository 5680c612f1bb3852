"""LAPACK routines in programs: failure (info > 0) and what the tape keeps of it, and the
programs that combine the routines (factor once, solve many; blocked algorithms). The
routines one by one are in the spec harness (test_routines.py)."""

import numpy as np
import pytest

import blasad as ba


def _indefinite(n, rng):
    """A symmetric matrix whose leading 1 × 1 minor is negative (potrf fails at order 1)."""
    B = rng.standard_normal((n, n))
    A = B @ B.T + n * np.eye(n)
    A[0, 0] = -1.0
    return A


def _chol_jitter(A, jitter):
    """The jitter-and-retry pattern: W ← A; potrf(W) fails; W ← A + jitter I; potrf(W)."""
    n = A.shape[0]
    W = np.empty((n, n), order="F")
    ba.geadd(1.0, A, 0.0, W)
    try:
        ba.potrf(W)
    except np.linalg.LinAlgError as e:
        assert e.info == 1 and "leading minor of order 1" in str(e)
        ba.geadd(1.0, A, 0.0, W)
        ba.geadd(jitter, np.eye(n), 1.0, W)
        ba.potrf(W)
    return W


def test_failure_raises_linalgerror_naming_the_minor(rng):
    A = _indefinite(4, rng)
    A[2, 2] = 1e-3
    A[:2, :2] = [[4.0, 0.0], [0.0, 1.0]]
    A[2, :2] = A[:2, 2] = [0.0, 0.0]
    A[3, :3] = A[:3, 3] = 0.0
    A[2, 2] = -2.0
    with pytest.raises(
        np.linalg.LinAlgError, match="potrf: the leading minor of order 3 is not positive definite"
    ) as e:
        ba.potrf(A)
    assert e.value.info == 3


def test_jitter_and_retry_under_a_tape_gives_the_gradient_of_the_retry(rng):
    n, jitter = 5, 10.0
    A = _indefinite(n, rng)
    seed = np.tril(rng.standard_normal((n, n)))
    with ba.Tape() as tape:
        tape.watch(A)
        W = _chol_jitter(A, jitter)
    tape.backward(W, seed)

    # oracle: central differences of ⟨seed, chol(sym(tril(A)) + jitter I)⟩ over A's elements
    def loss(X):
        S = np.tril(X) + np.tril(X, -1).T + jitter * np.eye(n)
        return float(np.sum(seed * np.linalg.cholesky(S)))

    eps, num = 1e-6, np.zeros_like(A)
    for i in range(n):
        for j in range(n):
            E = np.zeros_like(A)
            E[i, j] = eps
            num[i, j] = (loss(A + E) - loss(A - E)) / (2 * eps)
    np.testing.assert_allclose(tape.grad(A), num, rtol=1e-6, atol=1e-8)
    assert np.all(np.triu(tape.grad(A), 1) == 0)  # potrf reads A's lower triangle only


def _failed_potrf(A):
    """A tape on which W ← A (recorded) and potrf(W) failed; returns (tape, W)."""
    n = A.shape[0]
    with ba.Tape() as tape:
        tape.watch(A)
        W = np.empty((n, n), order="F")
        ba.geadd(1.0, A, 0.0, W)
        with pytest.raises(np.linalg.LinAlgError):
            ba.potrf(W)
    return tape, W


def test_a_gradient_through_a_failed_output_raises(rng):
    tape, W = _failed_potrf(_indefinite(4, rng))
    with pytest.raises(np.linalg.LinAlgError, match="output of a LAPACK call that failed"):
        tape.backward(W, np.tril(np.ones((4, 4))))


def test_the_untouched_triangle_of_a_failed_output_still_differentiates(rng):
    """The failed call wrote only its triangle: a loss on the other one is fine."""
    A = _indefinite(4, rng)
    tape, W = _failed_potrf(A)
    seed = np.triu(np.ones((4, 4)), 1)
    tape.backward(W, seed)
    np.testing.assert_array_equal(tape.grad(A), seed)


def test_importing_blasad_leaves_scipys_lapack_working():
    """scipy_openblas64's __init__ loads the ILP64 library RTLD_GLOBAL, where its unprefixed
    symbols (droundup_lwork_, ...) would replace those of SciPy's LP64 OpenBLAS: blasad loads the
    library itself, RTLD_LOCAL, and does not import that package."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, blasad, scipy.linalg as sl; "
        "assert 'scipy_openblas64' not in sys.modules; "
        "a = np.random.default_rng(0).standard_normal((6, 5)); "
        "assert np.allclose(sl.svd(a, compute_uv=False), np.linalg.svd(a, compute_uv=False))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
