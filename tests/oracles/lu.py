"""SciPy oracles: LU factorization, its solves and inverse, row interchanges."""

from oracles import F, lapack, ok

TRANS = {"N": 0, "T": 1, "C": 2}


def _gesv(dtype, A, B, ipiv):
    LU, piv, X = ok(lapack("gesv", dtype)(F(A), F(B)))
    return LU, X, piv


def _laswp(dtype, A, ipiv, trans):
    return lapack("laswp", dtype)(F(A), ipiv, k1=0, k2=len(ipiv) - 1, off=0, inc=1 if trans == "N" else -1)


ORACLES = {
    "getrf": lambda dtype, A, ipiv: ok(lapack("getrf", dtype)(F(A))),
    "getrs": lambda dtype, A, ipiv, B, trans: ok(
        lapack("getrs", dtype)(F(A), ipiv, F(B), trans=TRANS[trans])
    ),
    "gesv": _gesv,
    "getri": lambda dtype, A, ipiv: ok(lapack("getri", dtype)(F(A), ipiv)),
    "laswp": _laswp,
}
