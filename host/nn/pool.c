/* 2x2 max-pool, stride 2, on even sizes (kernels/pool.cl); ties go to the
 * first maximum in row-major window order in both directions. */
#include "nn_internal.h"

static cr_status pool_check(cr_nn *nn, const cr_tensor *x, const char *what)
{
    cr_status st = cr_nn_check(nn, x, what);
    if (st == CR_OK && (x->h % 2 || x->w % 2))
        st = cr_fail(CR_ERR_ARG, "%s: maxpool2 needs even sizes, got %d x %d", what, x->h, x->w);
    return st;
}

cr_status cr_maxpool2_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *x)
{
    cr_status st;
    cl_kernel k = NULL;
    CR_TRY(pool_check(nn, x, "maxpool2 x"));
    CR_TRY(cr_nn_check_shape(nn, y, "maxpool2 y", x->n, x->c, x->h / 2, x->w / 2));
    CR_TRY(cr_nn_kernel(nn, CR_NNK_POOL_FWD, &k));
    int yoff = (int)y->off, xoff = (int)x->off;
    /* 8 outputs of one row per work-item (kernels/pool.cl) */
    size_t global[3] = {(size_t)(x->w / 2 + 7) / 8, (size_t)(x->h / 2), (size_t)x->n * x->c};
    CR_TRY(cr_kernel_args(k, 6, KA(y->buf), KA(yoff), KA(x->buf), KA(xoff), KA(x->h), KA(x->w)));
    CR_TRY(cr_enqueue(nn->rt, k, 3, global, NULL));
cleanup:
    return st;
}

cr_status cr_maxpool2_backward(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dy, const cr_tensor *x)
{
    cr_status st;
    cl_kernel k = NULL;
    if (!dx) return CR_OK;
    CR_TRY(pool_check(nn, x, "maxpool2 backward x"));
    CR_TRY(cr_nn_check_shape(nn, dx, "maxpool2 backward dx", x->n, x->c, x->h, x->w));
    CR_TRY(cr_nn_check_shape(nn, dy, "maxpool2 backward dy", x->n, x->c, x->h / 2, x->w / 2));
    CR_TRY(cr_nn_kernel(nn, CR_NNK_POOL_BWD, &k));
    int dxoff = (int)dx->off, dyoff = (int)dy->off, xoff = (int)x->off;
    size_t global[3] = {(size_t)(x->w / 2 + 7) / 8, (size_t)(x->h / 2), (size_t)x->n * x->c};
    CR_TRY(cr_kernel_args(k, 8, KA(dx->buf), KA(dxoff), KA(dy->buf), KA(dyoff), KA(x->buf), KA(xoff), KA(x->h),
                          KA(x->w)));
    CR_TRY(cr_enqueue(nn->rt, k, 3, global, NULL));
cleanup:
    return st;
}
