"""SciPy oracles: Cholesky and triangular routines."""

import numpy as np

from oracles import LOWER, F, lapack, ok

TRANS = {"N": 0, "T": 1, "C": 2}


def _real_diagonal(A):
    """A with its diagonal's imaginary part dropped (potri does not read it; SciPy's would)."""
    A = F(A)
    if A.dtype.kind == "c":
        np.fill_diagonal(A, np.diag(A).real)
    return A


def _keep_other(A, new, uplo, diag="N"):
    """new on A's written triangle (strictly, for a unit diagonal), A's values elsewhere."""
    k = 1 if diag == "U" else 0
    mask = np.tril(np.ones(A.shape, bool), -k) if uplo == "L" else np.triu(np.ones(A.shape, bool), k)
    return np.where(mask, new, A)


ORACLES = {
    "potrf": lambda dtype, A, uplo: ok(lapack("potrf", dtype)(F(A), lower=LOWER[uplo], clean=0)),
    "potrs": lambda dtype, A, B, uplo: ok(lapack("potrs", dtype)(F(A), F(B), lower=LOWER[uplo])),
    "posv": lambda dtype, A, B, uplo: ok(lapack("posv", dtype)(F(A), F(B), lower=LOWER[uplo])),
    "potri": lambda dtype, A, uplo: _keep_other(
        A, ok(lapack("potri", dtype)(_real_diagonal(A), lower=LOWER[uplo])), uplo
    ),
    "trtri": lambda dtype, A, uplo, diag: _keep_other(
        A, ok(lapack("trtri", dtype)(F(A), lower=LOWER[uplo], unitdiag=int(diag == "U"))), uplo, diag
    ),
    "trtrs": lambda dtype, A, B, uplo, trans, diag: ok(
        lapack("trtrs", dtype)(F(A), F(B), lower=LOWER[uplo], trans=TRANS[trans], unitdiag=int(diag == "U"))
    ),
}
