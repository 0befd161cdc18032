/* Synchronous data-parallel training steps over MPI ranks (dist.h): each
 * rank runs its share of the global batch, the gradients are summed with one
 * allreduce, and every rank applies the same Adam update. */
#ifndef CLRESTORE_TRAIN_DIST_H
#define CLRESTORE_TRAIN_DIST_H

#include "clrestore/nn_params.h"
#include "clrestore/waunet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* This rank's share of a global batch of b over the ranks: rows [*off, *off + *n). */
void cr_train_share(int b, int rank, int ranks, int *off, int *n);

/* The buffer of one reduce: the gradient of every parameter in table
 * order, then this share's weighted loss as a float pair hi + lo (lo keeps
 * what rounding the share to float drops) and a stop flag. */
typedef struct cr_grad_reduce {
    float *host;   /* (total + 3) */
    size_t total;  /* parameters */
} cr_grad_reduce;

cr_status cr_grad_reduce_create(cr_waunet *m, cr_grad_reduce *g);
void cr_grad_reduce_free(cr_grad_reduce *g);

/* One step on this rank's `local` pairs of a global batch of `global` (in
 * the model's input/target, prepared for `local`): forward, this share's
 * part of the global mean-squared error and its gradient (weight local /
 * global), the sum over ranks, Adam. *loss: the global batch's loss; *stop:
 * in, this rank wants to stop; out, some rank does (all stop after the same
 * step). */
cr_status cr_train_step_shared(cr_waunet *m, cr_grad_reduce *g, const cr_adam *hp, int local, int global,
                               int *stop, double *loss);

#ifdef __cplusplus
}
#endif
#endif
