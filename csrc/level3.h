/* Level 3 entries (cdef-able: plain declarations only; see _generic.py for the signature rule). */
int ba_symm(ba_tape *t, int dtype, int order, int side, int uplo, int64_t ka, int64_t m, int64_t n, double alpha_re,
            double alpha_im, intptr_t alpha_bar, intptr_t A, int64_t lda, intptr_t A_bar, intptr_t B, int64_t ldb,
            intptr_t B_bar, double beta_re, double beta_im, intptr_t beta_bar, intptr_t C, int64_t ldc, intptr_t C_bar);
int ba_hemm(ba_tape *t, int dtype, int order, int side, int uplo, int64_t ka, int64_t m, int64_t n, double alpha_re,
            double alpha_im, intptr_t alpha_bar, intptr_t A, int64_t lda, intptr_t A_bar, intptr_t B, int64_t ldb,
            intptr_t B_bar, double beta_re, double beta_im, intptr_t beta_bar, intptr_t C, int64_t ldc, intptr_t C_bar);
int ba_syrk(ba_tape *t, int dtype, int order, int uplo, int trans, int64_t n, int64_t k, double alpha_re,
            double alpha_im, intptr_t alpha_bar, intptr_t A, int64_t lda, intptr_t A_bar, double beta_re,
            double beta_im, intptr_t beta_bar, intptr_t C, int64_t ldc, intptr_t C_bar);
int ba_herk(ba_tape *t, int dtype, int order, int uplo, int trans, int64_t n, int64_t k, double alpha_re,
            double alpha_im, intptr_t alpha_bar, intptr_t A, int64_t lda, intptr_t A_bar, double beta_re,
            double beta_im, intptr_t beta_bar, intptr_t C, int64_t ldc, intptr_t C_bar);
int ba_syr2k(ba_tape *t, int dtype, int order, int uplo, int trans, int64_t n, int64_t k, double alpha_re,
             double alpha_im, intptr_t alpha_bar, intptr_t A, int64_t lda, intptr_t A_bar, intptr_t B, int64_t ldb,
             intptr_t B_bar, double beta_re, double beta_im, intptr_t beta_bar, intptr_t C, int64_t ldc,
             intptr_t C_bar);
int ba_her2k(ba_tape *t, int dtype, int order, int uplo, int trans, int64_t n, int64_t k, double alpha_re,
             double alpha_im, intptr_t alpha_bar, intptr_t A, int64_t lda, intptr_t A_bar, intptr_t B, int64_t ldb,
             intptr_t B_bar, double beta_re, double beta_im, intptr_t beta_bar, intptr_t C, int64_t ldc,
             intptr_t C_bar);
int ba_trmm(ba_tape *t, int dtype, int order, int side, int uplo, int trans_a, int diag, int64_t ka, int64_t m,
            int64_t n, double alpha_re, double alpha_im, intptr_t alpha_bar, intptr_t A, int64_t lda, intptr_t A_bar,
            intptr_t B, int64_t ldb, intptr_t B_bar);
int ba_trsm(ba_tape *t, int dtype, int order, int side, int uplo, int trans_a, int diag, int64_t ka, int64_t m,
            int64_t n, double alpha_re, double alpha_im, intptr_t alpha_bar, intptr_t A, int64_t lda, intptr_t A_bar,
            intptr_t B, int64_t ldb, intptr_t B_bar);
