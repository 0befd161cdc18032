/* Depth-to-space with block 2 in TensorFlow's channel order
 * (kernels/depth_to_space.cl): y[n, c, 2r + i, 2s + j] = x[n, (2i + j)C + c, r, s]. */
#include "nn_internal.h"

cr_status cr_depth_to_space_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *x)
{
    cr_status st;
    cl_kernel k = NULL;
    CR_TRY(cr_nn_check(nn, x, "depth_to_space x"));
    if (x->c % 4) return cr_fail(CR_ERR_ARG, "depth_to_space x: %d channels, not a multiple of 4", x->c);
    int c = x->c / 4;
    CR_TRY(cr_nn_check_shape(nn, y, "depth_to_space y", x->n, c, 2 * x->h, 2 * x->w));
    CR_TRY(cr_nn_kernel(nn, CR_NNK_D2S_FWD, &k));
    int yoff = (int)y->off, xoff = (int)x->off;
    CR_TRY(cr_kernel_args(k, 7, KA(y->buf), KA(yoff), KA(x->buf), KA(xoff), KA(c), KA(x->h), KA(x->w)));
    size_t global[3] = {(size_t)(x->w + 7) / 8, (size_t)x->h, (size_t)x->n * c}; /* 8 columns per item */
    CR_TRY(cr_enqueue(nn->rt, k, 3, global, NULL));
cleanup:
    return st;
}

cr_status cr_depth_to_space_backward(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dy)
{
    cr_status st;
    cl_kernel k = NULL;
    if (!dx) return CR_OK;
    CR_TRY(cr_nn_check(nn, dx, "depth_to_space dx"));
    if (dx->c % 4) return cr_fail(CR_ERR_ARG, "depth_to_space dx: %d channels, not a multiple of 4", dx->c);
    int c = dx->c / 4;
    CR_TRY(cr_nn_check_shape(nn, dy, "depth_to_space dy", dx->n, c, 2 * dx->h, 2 * dx->w));
    CR_TRY(cr_nn_kernel(nn, CR_NNK_D2S_BWD, &k));
    int dxoff = (int)dx->off, dyoff = (int)dy->off;
    CR_TRY(cr_kernel_args(k, 7, KA(dx->buf), KA(dxoff), KA(dy->buf), KA(dyoff), KA(c), KA(dx->h), KA(dx->w)));
    size_t global[3] = {(size_t)(dx->w + 7) / 8, (size_t)dx->h, (size_t)dx->n * c};
    CR_TRY(cr_enqueue(nn->rt, k, 3, global, NULL));
cleanup:
    return st;
}
