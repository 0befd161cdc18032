/* Checkpoints: the model's weights, the optimiser state and the training
 * record in HDF5 (layout in docs/checkpoint.md and PRODUCT.md). Host memory
 * only: the network uploads from and downloads to this struct, so a
 * checkpoint written on one device loads on any other. */
#ifndef CLRESTORE_CHECKPOINT_H
#define CLRESTORE_CHECKPOINT_H

#include <stdint.h>

#include "clrestore/arch.h"
#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CR_CHECKPOINT_FORMAT "clrestore-checkpoint"
#define CR_CHECKPOINT_VERSION 1
/* epoch, train loss, validation loss, learning rate. No timings: a checkpoint
 * depends only on the computation, so an interrupted and resumed run writes
 * the same bytes as an uninterrupted one (timings go to history.csv). */
#define CR_HISTORY_COLUMNS 4

typedef struct cr_ckpt_layer {
    cr_conv_spec spec;
    float *v;          /* (cout, cin, k, k) weight direction */
    float *g;          /* (cout) weight norm: W = g·v/‖v‖ per output channel */
    float *b;          /* (cout) bias */
    float *m_v, *s_v;  /* (cout, cin, k, k) Adam first/second moments; NULL without optimiser state */
    float *m_g, *s_g;  /* (cout) */
    float *m_b, *s_b;  /* (cout) */
} cr_ckpt_layer;

typedef struct cr_checkpoint {
    cr_arch arch;
    /* pre-processing the model was trained with */
    double apix;           /* binned pixel size in Å; 0 = unknown */
    double max_resolution; /* Å; 0 = unknown */
    int phaseflip;         /* 1, 0, or -1 = unknown */
    int nlayers;
    cr_ckpt_layer *layers; /* (nlayers) in cr_arch_convs order */
    /* optimiser */
    int has_optimizer;
    int64_t step;          /* Adam steps taken */
    double beta1, beta2, eps;
    /* training record */
    int epoch;             /* epochs completed */
    int batch;             /* batches done in the epoch under way (an interrupted run) */
    double epoch_loss_sum; /* sum of those batches' losses */
    double lr;             /* base learning rate */
    uint64_t seed;
    uint64_t rng[4];       /* state of the data-order random stream, for --resume */
    int nhistory;
    double *history;       /* (nhistory, CR_HISTORY_COLUMNS) */
    /* a run with a time limit (train --time-limit); both 0 otherwise, and
     * then not stored, so an untimed run's files stay reproducible */
    double time_limit; /* s */
    double elapsed;    /* training time used of it, all invocations, s */
} cr_checkpoint;

/* A checkpoint of the given architecture with zeroed weights (no optimiser state). */
cr_status cr_checkpoint_create(const cr_arch *a, cr_checkpoint **out);
/* Allocates zeroed Adam moments for every layer (idempotent). */
cr_status cr_checkpoint_alloc_optimizer(cr_checkpoint *c);
/* Appends one history row (CR_HISTORY_COLUMNS values). */
cr_status cr_checkpoint_add_history(cr_checkpoint *c, const double *row);
/* Accepts NULL and half-built checkpoints. */
void cr_checkpoint_free(cr_checkpoint *c);

/* Writes atomically (temporary file, fsync, rename). The same checkpoint
 * written twice gives identical bytes (no timestamps are stored). */
cr_status cr_checkpoint_save(const cr_checkpoint *c, const char *path);
/* Reads and checks the format version, the architecture and every shape;
 * float32 or float64 datasets are accepted. Errors name the file and the
 * dataset. */
cr_status cr_checkpoint_load(const char *path, cr_checkpoint **out);
/* Loads and also requires the given architecture (for --initial-model). */
cr_status cr_checkpoint_load_expect(const char *path, const cr_arch *expect, cr_checkpoint **out);

#ifdef __cplusplus
}
#endif
#endif
