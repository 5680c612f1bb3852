"""SciPy oracles: Cholesky and triangular routines."""

from oracles import LOWER, F, lapack, ok

ORACLES = {
    "potrf": lambda dtype, A, uplo: ok(lapack("potrf", dtype)(F(A), lower=LOWER[uplo], clean=0)),
}
