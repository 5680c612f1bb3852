/* Level 1 entries (cdef-able: plain declarations only; see _generic.py for the signature rule). */
int ba_scal(ba_tape *t, int dtype, int order, int64_t n, double alpha_re, double alpha_im, intptr_t alpha_bar,
            intptr_t x, int64_t incx, intptr_t x_bar);
int ba_copy(ba_tape *t, int dtype, int order, int64_t n, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t y,
            int64_t incy, intptr_t y_bar);
int ba_swap(ba_tape *t, int dtype, int order, int64_t n, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t y,
            int64_t incy, intptr_t y_bar);
int ba_dot(ba_tape *t, int dtype, int order, int64_t n, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t y,
           int64_t incy, intptr_t y_bar, intptr_t out, intptr_t out_bar);
int ba_dotu(ba_tape *t, int dtype, int order, int64_t n, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t y,
            int64_t incy, intptr_t y_bar, intptr_t out, intptr_t out_bar);
int ba_dotc(ba_tape *t, int dtype, int order, int64_t n, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t y,
            int64_t incy, intptr_t y_bar, intptr_t out, intptr_t out_bar);
int ba_nrm2(ba_tape *t, int dtype, int order, int64_t n, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t out,
            intptr_t out_bar);
int ba_asum(ba_tape *t, int dtype, int order, int64_t n, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t out,
            intptr_t out_bar);
int ba_rot(ba_tape *t, int dtype, int order, int64_t n, intptr_t x, int64_t incx, intptr_t x_bar, intptr_t y,
           int64_t incy, intptr_t y_bar, double c_re, double c_im, intptr_t c_bar, double s_re, double s_im,
           intptr_t s_bar);
int ba_rotm(ba_tape *t, int dtype, int order, int64_t n, int64_t p5, intptr_t x, int64_t incx, intptr_t x_bar,
            intptr_t y, int64_t incy, intptr_t y_bar, intptr_t param, int64_t incp, intptr_t param_bar);
/* Not a spec routine (not differentiable, never recorded): the 0-based index of the first
 * element with the largest |Re x_i| + |Im x_i| (x: logical element 0, NumPy's signed inc);
 * -1 when n = 0. */
int64_t ba_iamax(int dtype, int64_t n, intptr_t x, int64_t incx);
