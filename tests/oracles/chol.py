"""SciPy oracles: Cholesky and triangular routines."""

from oracles import LOWER, F, lapack, ok

ORACLES = {
    "potrf": lambda dtype, A, uplo: ok(lapack("potrf", dtype)(F(A), lower=LOWER[uplo], clean=0)),
    "potrs": lambda dtype, A, B, uplo: ok(lapack("potrs", dtype)(F(A), F(B), lower=LOWER[uplo])),
    "posv": lambda dtype, A, B, uplo: ok(lapack("posv", dtype)(F(A), F(B), lower=LOWER[uplo])),
}
