/* Mean squared error over all elements (kernels/loss.cl). The forward sums
 * CR_NN_MSE_PARTS per-work-item partials on the host in double, so the loss
 * is deterministic for a given device and shape. */
#include <stdlib.h>

#include "nn_internal.h"

static cr_status mse_check(cr_nn *nn, const cr_tensor *pred, const cr_tensor *target)
{
    cr_status st = cr_nn_check(nn, pred, "mse pred");
    if (st == CR_OK) st = cr_nn_check_shape(nn, target, "mse target", pred->n, pred->c, pred->h, pred->w);
    return st;
}

cr_status cr_mse_forward(cr_nn *nn, double *loss, const cr_tensor *pred, const cr_tensor *target)
{
    cr_status st;
    cl_kernel k = NULL;
    double *part = NULL;
    *loss = 0;
    CR_TRY(mse_check(nn, pred, target));
    if (!nn->mse_partial)
        CR_TRY(cr_buffer_create(nn->rt, CR_NN_MSE_PARTS * nn->real_size, "mse partial sums", &nn->mse_partial));
    CR_TRY(cr_nn_kernel(nn, CR_NNK_MSE_PARTIAL, &k));
    int poff = (int)pred->off, toff = (int)target->off, n = (int)cr_tensor_count(pred), parts = CR_NN_MSE_PARTS;
    CR_TRY(cr_kernel_args(k, 7, KA(nn->mse_partial), KA(pred->buf), KA(poff), KA(target->buf), KA(toff), KA(n),
                          KA(parts)));
    CR_TRY(cr_nn_launch1(nn, k, (size_t)parts));
    part = malloc(CR_NN_MSE_PARTS * sizeof *part);
    if (!part) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory reading mse partial sums");
        goto cleanup;
    }
    cr_tensor pt = cr_tensor_view(nn->mse_partial, 0, 1, 1, 1, CR_NN_MSE_PARTS);
    CR_TRY(cr_tensor_read(nn, &pt, part));
    double sum = 0;
    for (int i = 0; i < CR_NN_MSE_PARTS; i++) sum += part[i];
    *loss = sum / (double)n;
cleanup:
    free(part);
    return st;
}

cr_status cr_mse_backward(cr_nn *nn, const cr_tensor *dpred, const cr_tensor *pred, const cr_tensor *target,
                          double dloss)
{
    cr_status st;
    cl_kernel k = NULL;
    if (!dpred) return CR_OK;
    CR_TRY(mse_check(nn, pred, target));
    CR_TRY(cr_nn_check_shape(nn, dpred, "mse dpred", pred->n, pred->c, pred->h, pred->w));
    CR_TRY(cr_nn_kernel(nn, CR_NNK_MSE_BWD, &k));
    int dpoff = (int)dpred->off, poff = (int)pred->off, toff = (int)target->off, n = (int)cr_tensor_count(pred);
    cr_real_arg scale = cr_nn_real(nn, 2.0 * dloss / (double)n);
    CR_TRY(cr_kernel_args(k, 8, KA(dpred->buf), KA(dpoff), KA(pred->buf), KA(poff), KA(target->buf), KA(toff),
                          KR(nn, scale), KA(n)));
    CR_TRY(cr_nn_launch1(nn, k, (size_t)n));
cleanup:
    return st;
}
