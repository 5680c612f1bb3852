"""SciPy oracles: Hermitian eigenproblems and the SVD. Eigen- and singular vectors are defined
up to a sign (complex: a phase) each: the harness gives SciPy's ours (Spec.rephase) before it
compares them, the pairs (u_j, v_j) of the SVD by one common phase."""

from oracles import LOWER, F, lapack, ok


def _evd(name):
    def oracle(dtype, A, w, uplo):
        w2, V = ok(lapack(name, dtype)(F(A), compute_v=1, lower=LOWER[uplo]))
        return V, w2

    return oracle


def _gesdd(dtype, A, s, U, VT, jobz):
    vectors = jobz == "S"
    U2, s2, VT2 = ok(lapack("gesdd", dtype)(F(A), compute_uv=int(vectors), full_matrices=0))
    return (s2, U2, VT2) if vectors else (s2, None, None)


ORACLES = {"syevd": _evd("syevd"), "heevd": _evd("heevd"), "gesdd": _gesdd}
