/* Raw CBLAS prototypes of OpenBLAS (scipy-openblas64's prefixed ILP64 symbols), for cffi's
 * cdef only: this file is never #included. The C compiler takes the real declarations from
 * OpenBLAS's cblas.h, which the generated module includes, and checks these against them;
 * `int...` and the enums' `...` let it fill in blasint's size and the constants' values.
 *
 * Only the calls of the hand-written ideal adjoint that `python -m blasad.bench` measures
 * blasad against (blasad/bench), so that it calls the very OpenBLAS blasad links to through
 * blasad's own extension.
 */
typedef int... blasint;
enum CBLAS_ORDER { CblasRowMajor, CblasColMajor, ... };
enum CBLAS_TRANSPOSE { CblasNoTrans, CblasTrans, ... };

void scipy_cblas_sgemm64_(enum CBLAS_ORDER Order, enum CBLAS_TRANSPOSE TransA, enum CBLAS_TRANSPOSE TransB,
                          blasint M, blasint N, blasint K, float alpha, const float *A, blasint lda,
                          const float *B, blasint ldb, float beta, float *C, blasint ldc);
void scipy_cblas_dgemm64_(enum CBLAS_ORDER Order, enum CBLAS_TRANSPOSE TransA, enum CBLAS_TRANSPOSE TransB,
                          blasint M, blasint N, blasint K, double alpha, const double *A, blasint lda,
                          const double *B, blasint ldb, double beta, double *C, blasint ldc);
void scipy_cblas_sgemv64_(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans, blasint m, blasint n,
                          float alpha, const float *a, blasint lda, const float *x, blasint incx,
                          float beta, float *y, blasint incy);
void scipy_cblas_dgemv64_(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans, blasint m, blasint n,
                          double alpha, const double *a, blasint lda, const double *x, blasint incx,
                          double beta, double *y, blasint incy);
void scipy_cblas_sger64_(enum CBLAS_ORDER order, blasint M, blasint N, float alpha, const float *X,
                         blasint incX, const float *Y, blasint incY, float *A, blasint lda);
void scipy_cblas_dger64_(enum CBLAS_ORDER order, blasint M, blasint N, double alpha, const double *X,
                         blasint incX, const double *Y, blasint incY, double *A, blasint lda);
void scipy_cblas_saxpy64_(blasint n, float alpha, const float *x, blasint incx, float *y, blasint incy);
void scipy_cblas_daxpy64_(blasint n, double alpha, const double *x, blasint incx, double *y, blasint incy);
void scipy_cblas_scopy64_(blasint n, const float *x, blasint incx, float *y, blasint incy);
void scipy_cblas_dcopy64_(blasint n, const double *x, blasint incx, double *y, blasint incy);
