/* Level 2 banded and packed entries (cdef-able: plain declarations only; see _generic.py).
 * spmv/hpmv/sbmv/hbmv: na is len(AP) = n(n+1)/2 (packed) or k+1, the rows of the band
 * storage; tpmv/tpsv/tbmv/tbsv likewise. spr/hpr/spr2/hpr2: npk = len(AP). gbmv takes
 * m, n, kl, ku explicitly (its own lowering in _level2p.py); its A is column-major. */
int ba_spmv(ba_tape *t, int dtype, int order, int uplo, int64_t na, int64_t n, double alpha_re, double alpha_im,
            intptr_t alpha_bar, intptr_t A, int64_t lda, intptr_t A_bar, intptr_t x, int64_t incx, intptr_t x_bar,
            double beta_re, double beta_im, intptr_t beta_bar, intptr_t y, int64_t incy, intptr_t y_bar);
int ba_hpmv(ba_tape *t, int dtype, int order, int uplo, int64_t na, int64_t n, double alpha_re, double alpha_im,
            intptr_t alpha_bar, intptr_t A, int64_t lda, intptr_t A_bar, intptr_t x, int64_t incx, intptr_t x_bar,
            double beta_re, double beta_im, intptr_t beta_bar, intptr_t y, int64_t incy, intptr_t y_bar);
int ba_sbmv(ba_tape *t, int dtype, int order, int uplo, int64_t na, int64_t n, double alpha_re, double alpha_im,
            intptr_t alpha_bar, intptr_t A, int64_t lda, intptr_t A_bar, intptr_t x, int64_t incx, intptr_t x_bar,
            double beta_re, double beta_im, intptr_t beta_bar, intptr_t y, int64_t incy, intptr_t y_bar);
int ba_hbmv(ba_tape *t, int dtype, int order, int uplo, int64_t na, int64_t n, double alpha_re, double alpha_im,
            intptr_t alpha_bar, intptr_t A, int64_t lda, intptr_t A_bar, intptr_t x, int64_t incx, intptr_t x_bar,
            double beta_re, double beta_im, intptr_t beta_bar, intptr_t y, int64_t incy, intptr_t y_bar);
int ba_tpmv(ba_tape *t, int dtype, int order, int uplo, int trans, int diag, int64_t na, int64_t n, intptr_t A,
            int64_t lda, intptr_t A_bar, intptr_t x, int64_t incx, intptr_t x_bar);
int ba_tpsv(ba_tape *t, int dtype, int order, int uplo, int trans, int diag, int64_t na, int64_t n, intptr_t A,
            int64_t lda, intptr_t A_bar, intptr_t x, int64_t incx, intptr_t x_bar);
int ba_tbmv(ba_tape *t, int dtype, int order, int uplo, int trans, int diag, int64_t na, int64_t n, intptr_t A,
            int64_t lda, intptr_t A_bar, intptr_t x, int64_t incx, intptr_t x_bar);
int ba_tbsv(ba_tape *t, int dtype, int order, int uplo, int trans, int diag, int64_t na, int64_t n, intptr_t A,
            int64_t lda, intptr_t A_bar, intptr_t x, int64_t incx, intptr_t x_bar);
int ba_spr(ba_tape *t, int dtype, int order, int uplo, int64_t n, int64_t npk, double alpha_re, double alpha_im,
           intptr_t alpha_bar, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t AP, int64_t incap, intptr_t AP_bar);
int ba_hpr(ba_tape *t, int dtype, int order, int uplo, int64_t n, int64_t npk, double alpha_re, double alpha_im,
           intptr_t alpha_bar, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t AP, int64_t incap, intptr_t AP_bar);
int ba_spr2(ba_tape *t, int dtype, int order, int uplo, int64_t n, int64_t npk, double alpha_re, double alpha_im,
            intptr_t alpha_bar, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t y, int64_t incy, intptr_t y_bar,
            intptr_t AP, int64_t incap, intptr_t AP_bar);
int ba_hpr2(ba_tape *t, int dtype, int order, int uplo, int64_t n, int64_t npk, double alpha_re, double alpha_im,
            intptr_t alpha_bar, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t y, int64_t incy, intptr_t y_bar,
            intptr_t AP, int64_t incap, intptr_t AP_bar);
int ba_gbmv(ba_tape *t, int dtype, int order, int trans, int64_t kb, int64_t n, int64_t nx, int64_t ny, int64_t m,
            int64_t kl, int64_t ku, double alpha_re, double alpha_im, intptr_t alpha_bar, intptr_t A, int64_t lda,
            intptr_t A_bar, intptr_t x, int64_t incx, intptr_t x_bar, double beta_re, double beta_im,
            intptr_t beta_bar, intptr_t y, int64_t incy, intptr_t y_bar);
