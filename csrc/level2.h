/* Level 2 entries (cdef-able: plain declarations only; see _generic.py for the signature rule). */
int ba_symv(ba_tape *t, int dtype, int order, int uplo, int64_t n, double alpha_re, double alpha_im,
            intptr_t alpha_bar, intptr_t A, int64_t lda, intptr_t A_bar, intptr_t x, int64_t incx, intptr_t x_bar,
            double beta_re, double beta_im, intptr_t beta_bar, intptr_t y, int64_t incy, intptr_t y_bar);
int ba_hemv(ba_tape *t, int dtype, int order, int uplo, int64_t n, double alpha_re, double alpha_im,
            intptr_t alpha_bar, intptr_t A, int64_t lda, intptr_t A_bar, intptr_t x, int64_t incx, intptr_t x_bar,
            double beta_re, double beta_im, intptr_t beta_bar, intptr_t y, int64_t incy, intptr_t y_bar);
int ba_trmv(ba_tape *t, int dtype, int order, int uplo, int trans, int diag, int64_t n, intptr_t A, int64_t lda,
            intptr_t A_bar, intptr_t x, int64_t incx, intptr_t x_bar);
int ba_trsv(ba_tape *t, int dtype, int order, int uplo, int trans, int diag, int64_t n, intptr_t A, int64_t lda,
            intptr_t A_bar, intptr_t x, int64_t incx, intptr_t x_bar);
int ba_ger(ba_tape *t, int dtype, int order, int64_t m, int64_t n, double alpha_re, double alpha_im,
           intptr_t alpha_bar, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t y, int64_t incy, intptr_t y_bar,
           intptr_t A, int64_t lda, intptr_t A_bar);
int ba_geru(ba_tape *t, int dtype, int order, int64_t m, int64_t n, double alpha_re, double alpha_im,
            intptr_t alpha_bar, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t y, int64_t incy, intptr_t y_bar,
            intptr_t A, int64_t lda, intptr_t A_bar);
int ba_gerc(ba_tape *t, int dtype, int order, int64_t m, int64_t n, double alpha_re, double alpha_im,
            intptr_t alpha_bar, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t y, int64_t incy, intptr_t y_bar,
            intptr_t A, int64_t lda, intptr_t A_bar);
int ba_syr(ba_tape *t, int dtype, int order, int uplo, int64_t n, double alpha_re, double alpha_im,
           intptr_t alpha_bar, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t A, int64_t lda, intptr_t A_bar);
int ba_her(ba_tape *t, int dtype, int order, int uplo, int64_t n, double alpha_re, double alpha_im,
           intptr_t alpha_bar, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t A, int64_t lda, intptr_t A_bar);
int ba_syr2(ba_tape *t, int dtype, int order, int uplo, int64_t n, double alpha_re, double alpha_im,
            intptr_t alpha_bar, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t y, int64_t incy, intptr_t y_bar,
            intptr_t A, int64_t lda, intptr_t A_bar);
int ba_her2(ba_tape *t, int dtype, int order, int uplo, int64_t n, double alpha_re, double alpha_im,
            intptr_t alpha_bar, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t y, int64_t incy, intptr_t y_bar,
            intptr_t A, int64_t lda, intptr_t A_bar);
