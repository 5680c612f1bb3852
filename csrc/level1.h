/* Level 1 entries (cdef-able: plain declarations only; see _generic.py for the signature rule). */
int ba_scal(ba_tape *t, int dtype, int order, int64_t n, double alpha_re, double alpha_im, intptr_t alpha_bar,
            intptr_t x, int64_t incx, intptr_t x_bar);
