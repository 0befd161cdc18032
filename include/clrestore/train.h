/* `train`: noise2noise training (REFERENCE.md "Training"): even patches in,
 * odd patches as targets, MSE, Adam with weight normalisation, the quarter
 * learning-rate schedule, a checkpoint after every epoch, resumable. */
#ifndef CLRESTORE_TRAIN_H
#define CLRESTORE_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "clrestore/arch.h"
#include "clrestore/runtime.h"
#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cr_train_opts {
    const char *trainset;       /* HDF5 training set */
    const char *outdir;         /* MODELDIR: epoch_NNN.h5, last.h5, history.csv */
    const char *initial_model;  /* start from these weights (architecture must match) */
    int resume;                 /* continue from MODELDIR/last.h5 */
    cr_arch arch;
    int epochs;                 /* 100; 0 = no cap (only with time_limit) */
    int batches_per_epoch;      /* 500 */
    int batch;                  /* 10 */
    double lr;                  /* 1e-4 */
    uint64_t seed;              /* weights and batch order */
    int augment;                /* random even/odd swap and dihedral transforms */
    int keep;                   /* keep the newest N epoch files; 0 = all */
    double validation_fraction; /* for sets without held-out micrographs */
    int max_validation;         /* validation pairs evaluated per epoch, 0 = all */
    volatile sig_atomic_t *stop; /* set by a signal handler: finish the step, save, return */
    int stop_after_batches;     /* testing: stop after this many batches in total (0 = never) */
    double time_limit;          /* s: training time of the run (all invocations); the lr schedule
                                   spans it; 0 = none, the schedule spans the epochs */
    double t_start;             /* cr_now() when this invocation started (its clock); 0 = on entry */
    int patience;               /* stop after N epochs without a lower validation loss; 0 = never */
} cr_train_opts;

void cr_train_opts_default(cr_train_opts *o);

/* Named recipes (host/pipeline/train_preset.c, docs/training.md "Presets"):
 * sets the architecture, batch size, learning rate, augmentation, epochs and
 * batches per epoch of o; CR_ERR_ARG naming the known presets for another
 * name. Apply it before the explicit options, which then override it. */
cr_status cr_train_preset_apply(const char *name, cr_train_opts *o);
/* "reference, cpu": the names, for help and messages. */
const char *cr_train_preset_names(void);

typedef struct cr_train_report {
    int epochs_done;            /* epochs completed, including earlier runs */
    double last_train_loss, last_val_loss;
    int interrupted;            /* stopped by *stop or stop_after_batches */
    int timed_out;              /* ended at the time limit */
    int patience_stop;          /* ended by --patience */
    int best_epoch;             /* the epoch best.h5 holds; 0 = none */
    double elapsed;             /* training time of the run so far, s (with a time limit) */
} cr_train_report;

cr_status cr_train_run(cr_runtime *rt, const cr_train_opts *o, cr_train_report *rep);

/* Learning rate of an epoch under the quarter schedule: x1, x0.5, x0.25,
 * x0.125 over the four quarters of the epochs. */
double cr_train_lr(double base, int epoch, int epochs);
/* The same schedule over a time budget: the rate at the fraction (elapsed /
 * limit) of it used, so the rate halves at 25, 50 and 75 % of the time. */
double cr_train_lr_at(double base, double fraction);

/* Training pixels (pairs x P^2) per network parameter below which train
 * warns that the set is small for the network (docs/training.md derives it
 * from runs that did and did not overfit). */
#define CR_TRAIN_MIN_PIXELS_PER_PARAM 10.0

#ifdef __cplusplus
}
#endif
#endif
