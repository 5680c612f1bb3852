"""SciPy oracles: QR factorization, its Q, products with Q, least squares."""

from oracles import F, lapack, ok


def _geqrf(dtype, A, tau):
    qr, tau, _ = ok(lapack("geqrf", dtype)(F(A)))
    return qr, tau


ORACLES = {
    "geqrf": _geqrf,
}
