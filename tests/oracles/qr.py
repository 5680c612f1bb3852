"""SciPy oracles: QR factorization, its Q, products with Q, least squares."""

import numpy as np
import scipy.linalg

from oracles import F, lapack, ok


def _geqrf(dtype, A, tau):
    qr, tau, _ = ok(lapack("geqrf", dtype)(F(A)))
    return qr, tau


def _orgqr(name):
    def oracle(dtype, A, tau):
        q, _ = ok(lapack(name, dtype)(F(A), np.array(tau)))
        return q

    return oracle


def _ormqr(name):
    def oracle(dtype, A, tau, C, side, trans):
        lwork = 64 * max(1, *C.shape)
        cq, _ = ok(lapack(name, dtype)(side, trans, F(A), np.array(tau), F(C), lwork))
        return cq

    return oracle


def _gels(dtype, A, B, trans):
    trans = "T" if trans == "C" and np.dtype(dtype).kind == "f" else trans  # (real C is T)
    lqr, x, info = lapack("gels", dtype)(F(A), F(B), trans=trans)
    assert info == 0, f"SciPy's gels failed: info = {info}"
    return lqr, x


def _qr(dtype, A, Q, R):
    return scipy.linalg.qr(F(A), mode="economic")  # (geqrf and orgqr/ungqr, as ba.qr)


ORACLES = {
    "geqrf": _geqrf,
    "orgqr": _orgqr("orgqr"),
    "ungqr": _orgqr("ungqr"),
    "ormqr": _ormqr("ormqr"),
    "unmqr": _ormqr("unmqr"),
    "gels": _gels,
    "qr": _qr,
}
