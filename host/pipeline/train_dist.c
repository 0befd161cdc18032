/* The data-parallel step of train_dist.h. The gradient of the global mean
 * over B pairs is the sum over ranks of each share's gradient of
 * (n_r / B) x its own mean, so one sum (MPI_Allreduce) of the fused gradient
 * buffer gives every rank the single-process gradient up to float rounding
 * order; the loss and a stop flag ride in the same buffer, so a step costs
 * one collective and all ranks stop after the same step. */
#include "clrestore/train_dist.h"

#include <stdlib.h>

#include "clrestore/dist.h"

void cr_train_share(int b, int rank, int ranks, int *off, int *n)
{
    int base = b / ranks, extra = b % ranks;
    *n = base + (rank < extra);
    *off = rank * base + (rank < extra ? rank : extra);
}

cr_status cr_grad_reduce_create(cr_waunet *m, cr_grad_reduce *g)
{
    g->total = cr_waunet_params(m)->total;
    g->host = malloc((g->total + 3) * sizeof *g->host);
    return g->host ? CR_OK : cr_fail(CR_ERR_NOMEM, "out of memory for %zu gradients", g->total);
}

void cr_grad_reduce_free(cr_grad_reduce *g)
{
    free(g->host);
    g->host = NULL;
}

cr_status cr_train_step_shared(cr_waunet *m, cr_grad_reduce *g, const cr_adam *hp, int local, int global,
                               int *stop, double *loss)
{
    cr_status st = CR_OK;
    cr_nn *nn = cr_waunet_nn(m);
    cr_params *p = cr_waunet_params(m);
    cr_tensor out = cr_waunet_output(m), target = cr_waunet_target(m), dout = cr_waunet_doutput(m);
    cr_tensor grads = cr_tensor_view(p->grads, 0, 1, 1, 1, (int)g->total);
    double l = 0, w = (double)local / global;
    CR_TRY(cr_params_zero_grad(p));
    CR_TRY(cr_waunet_forward(m));
    CR_TRY(cr_mse_forward(nn, &l, &out, &target));
    CR_TRY(cr_nn_fill(nn, &dout, 0.0));
    CR_TRY(cr_mse_backward(nn, &dout, &out, &target, w));
    CR_TRY(cr_waunet_backward(m, &dout, NULL));
    CR_TRY(cr_tensor_read_f32(nn, &grads, g->host));
    double lw = l * w;
    float hi = (float)lw;
    g->host[g->total] = hi;
    g->host[g->total + 1] = (float)(lw - hi);
    g->host[g->total + 2] = *stop ? 1.0f : 0.0f;
    CR_TRY(cr_dist_sum_floats(g->host, g->total + 3));
    CR_TRY(cr_tensor_write_f32(nn, &grads, g->host));
    CR_TRY(cr_params_adam(p, hp));
    cr_waunet_params_changed(m);
    *loss = (double)g->host[g->total] + (double)g->host[g->total + 1];
    *stop = g->host[g->total + 2] > 0;
cleanup:
    return st;
}
