/* Raw LAPACK prototypes of OpenBLAS (scipy-openblas64's prefixed ILP64 Fortran symbols,
 * scipy_dpotrf_64_), for cffi's cdef only, as cblas_cdef.h: this file is never #included. The
 * C compiler takes the real declarations from lapack.h (LAPACK_ILP64, and LAPACK_GLOBAL mangling
 * to scipy_##lcname##_64_, as csrc/rules.c does), which the generated module includes. Fortran
 * convention: every argument by pointer; a character flag's hidden length (size_t, 1) follows
 * the other arguments.
 *
 * Only the plain calls that the LAPACK case of `python -m blasad.bench` measures blasad's
 * forward against (blasad/bench/lapack.py), on the very OpenBLAS blasad links to.
 */
void scipy_dpotrf_64_(const char *uplo, const int64_t *n, double *A, const int64_t *lda, int64_t *info,
                      size_t uplo_len);
void scipy_zpotrf_64_(const char *uplo, const int64_t *n, double _Complex *A, const int64_t *lda,
                      int64_t *info, size_t uplo_len);
void scipy_dgetrf_64_(const int64_t *m, const int64_t *n, double *A, const int64_t *lda, int64_t *ipiv,
                      int64_t *info);
void scipy_zgetrf_64_(const int64_t *m, const int64_t *n, double _Complex *A, const int64_t *lda,
                      int64_t *ipiv, int64_t *info);
void scipy_dgetrs_64_(const char *trans, const int64_t *n, const int64_t *nrhs, const double *A,
                      const int64_t *lda, const int64_t *ipiv, double *B, const int64_t *ldb, int64_t *info,
                      size_t trans_len);
void scipy_zgetrs_64_(const char *trans, const int64_t *n, const int64_t *nrhs, const double _Complex *A,
                      const int64_t *lda, const int64_t *ipiv, double _Complex *B, const int64_t *ldb,
                      int64_t *info, size_t trans_len);
void scipy_dtrtrs_64_(const char *uplo, const char *trans, const char *diag, const int64_t *n,
                      const int64_t *nrhs, const double *A, const int64_t *lda, double *B, const int64_t *ldb,
                      int64_t *info, size_t uplo_len, size_t trans_len, size_t diag_len);
void scipy_ztrtrs_64_(const char *uplo, const char *trans, const char *diag, const int64_t *n,
                      const int64_t *nrhs, const double _Complex *A, const int64_t *lda, double _Complex *B,
                      const int64_t *ldb, int64_t *info, size_t uplo_len, size_t trans_len, size_t diag_len);
void scipy_dgeqrf_64_(const int64_t *m, const int64_t *n, double *A, const int64_t *lda, double *tau,
                      double *work, const int64_t *lwork, int64_t *info);
void scipy_zgeqrf_64_(const int64_t *m, const int64_t *n, double _Complex *A, const int64_t *lda,
                      double _Complex *tau, double _Complex *work, const int64_t *lwork, int64_t *info);
void scipy_dorgqr_64_(const int64_t *m, const int64_t *n, const int64_t *k, double *A, const int64_t *lda,
                      const double *tau, double *work, const int64_t *lwork, int64_t *info);
void scipy_zungqr_64_(const int64_t *m, const int64_t *n, const int64_t *k, double _Complex *A,
                      const int64_t *lda, const double _Complex *tau, double _Complex *work,
                      const int64_t *lwork, int64_t *info);
void scipy_dsyevd_64_(const char *jobz, const char *uplo, const int64_t *n, double *A, const int64_t *lda,
                      double *W, double *work, const int64_t *lwork, int64_t *iwork, const int64_t *liwork,
                      int64_t *info, size_t jobz_len, size_t uplo_len);
void scipy_zheevd_64_(const char *jobz, const char *uplo, const int64_t *n, double _Complex *A,
                      const int64_t *lda, double *W, double _Complex *work, const int64_t *lwork,
                      double *rwork, const int64_t *lrwork, int64_t *iwork, const int64_t *liwork,
                      int64_t *info, size_t jobz_len, size_t uplo_len);
void scipy_dgesdd_64_(const char *jobz, const int64_t *m, const int64_t *n, double *A, const int64_t *lda,
                      double *S, double *U, const int64_t *ldu, double *VT, const int64_t *ldvt, double *work,
                      const int64_t *lwork, int64_t *iwork, int64_t *info, size_t jobz_len);
void scipy_zgesdd_64_(const char *jobz, const int64_t *m, const int64_t *n, double _Complex *A,
                      const int64_t *lda, double *S, double _Complex *U, const int64_t *ldu,
                      double _Complex *VT, const int64_t *ldvt, double _Complex *work, const int64_t *lwork,
                      double *rwork, int64_t *iwork, int64_t *info, size_t jobz_len);
