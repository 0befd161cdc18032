/* Weight normalisation w = g v/||v|| per output channel, forward and
 * backward (kernels/weightnorm.cl, which states the gradient formulas). */
#include "nn_internal.h"

/* v is (rows, cin, k, k); g has rows elements; other views must match v. */
static cr_status wn_check(cr_nn *nn, const cr_tensor *v, const cr_tensor *g, int *rows, int *len)
{
    cr_status st;
    CR_TRY(cr_nn_check(nn, v, "weightnorm v"));
    CR_TRY(cr_nn_check(nn, g, "weightnorm g"));
    *rows = v->n;
    *len = v->c * v->h * v->w;
    if (cr_tensor_count(g) != (size_t)*rows)
        st = cr_fail(CR_ERR_ARG, "weightnorm g: %zu elements for %d output channels", cr_tensor_count(g), *rows);
cleanup:
    return st;
}

cr_status cr_weightnorm_forward(cr_nn *nn, const cr_tensor *w, const cr_tensor *v, const cr_tensor *g)
{
    cr_status st;
    cl_kernel k = NULL;
    int rows = 0, len = 0;
    CR_TRY(wn_check(nn, v, g, &rows, &len));
    CR_TRY(cr_nn_check_shape(nn, w, "weightnorm w", v->n, v->c, v->h, v->w));
    CR_TRY(cr_nn_kernel(nn, CR_NNK_WN_FWD, &k));
    int woff = (int)w->off, voff = (int)v->off, goff = (int)g->off;
    CR_TRY(cr_kernel_args(k, 8, KA(w->buf), KA(woff), KA(v->buf), KA(voff), KA(g->buf), KA(goff), KA(rows),
                          KA(len)));
    CR_TRY(cr_nn_launch1(nn, k, (size_t)rows));
cleanup:
    return st;
}

cr_status cr_weightnorm_backward(cr_nn *nn, const cr_tensor *dv, const cr_tensor *dg, const cr_tensor *dw,
                                 const cr_tensor *v, const cr_tensor *g)
{
    cr_status st;
    cl_kernel k = NULL;
    int rows = 0, len = 0;
    CR_TRY(wn_check(nn, v, g, &rows, &len));
    CR_TRY(cr_nn_check_shape(nn, dv, "weightnorm dv", v->n, v->c, v->h, v->w));
    CR_TRY(cr_nn_check_shape(nn, dw, "weightnorm dw", v->n, v->c, v->h, v->w));
    CR_TRY(cr_nn_check(nn, dg, "weightnorm dg"));
    if (cr_tensor_count(dg) != (size_t)rows)
        return cr_fail(CR_ERR_ARG, "weightnorm dg: %zu elements for %d output channels", cr_tensor_count(dg), rows);
    CR_TRY(cr_nn_kernel(nn, CR_NNK_WN_BWD, &k));
    int dvoff = (int)dv->off, dgoff = (int)dg->off, dwoff = (int)dw->off, voff = (int)v->off, goff = (int)g->off;
    CR_TRY(cr_kernel_args(k, 12, KA(dv->buf), KA(dvoff), KA(dg->buf), KA(dgoff), KA(dw->buf), KA(dwoff), KA(v->buf),
                          KA(voff), KA(g->buf), KA(goff), KA(rows), KA(len)));
    CR_TRY(cr_nn_launch1(nn, k, (size_t)rows));
cleanup:
    return st;
}
