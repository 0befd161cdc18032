/* Training to a wall-clock budget (train --time-limit): the clock that spans
 * resumed invocations, the time-based learning-rate schedule, and the
 * reserve kept for ending cleanly; the best epoch of a history (best.h5,
 * --patience). Internal to the training loop (host/pipeline/train.c). */
#ifndef CLRESTORE_TRAIN_BUDGET_H
#define CLRESTORE_TRAIN_BUDGET_H

#include <stdint.h>

typedef struct cr_budget {
    double limit;        /* s; 0 = no time limit */
    double used_before;  /* training time recorded in the checkpoint resumed from, s */
    double t0;           /* cr_now() when this invocation started */
    double startup;      /* from then to its first step (device, kernels, data), s */
    int64_t steps;       /* optimiser steps of this invocation */
    double step_first;   /* the first one's duration (it includes warm-up), s */
    double step_max;     /* the longest of the others, s */
    double validation;   /* duration of the last validation, s; < 0 before the first */
    double save;         /* duration of the last end-of-epoch save, s; < 0 before the first */
    int64_t val_batches; /* batches a validation takes (its first estimate) */
    double save_guess;   /* estimate of a save before the first is measured, s */
} cr_budget;

/* At the first step of an invocation (clock `now`) that started at t0. */
void cr_budget_start(cr_budget *b, double limit, double used_before, double t0, double now,
                     int64_t val_batches, double save_guess);
/* Training time of the run: what earlier invocations recorded plus this
 * invocation's time since it started. */
double cr_budget_elapsed(const cr_budget *b, double now);
/* Records a step's duration. */
void cr_budget_step(cr_budget *b, double seconds);
/* Seconds kept for ending cleanly after one more step: that step, a
 * validation and an end-of-epoch save, each as long as the longest measured
 * (or estimated), times 1.5, plus 0.25 s to exit. Before the first step the
 * step is taken as long as the start-up (which builds the kernels the step
 * runs first: an upper bound of its warm-up); the first step, slowed by
 * warm-up, stands for a step until there is another, and gives no
 * validation estimate. */
double cr_budget_reserve(const cr_budget *b);
/* 1 when one more step would leave less than the reserve before the limit. */
int cr_budget_over(const cr_budget *b, double now);

/* The epoch (column 0) of the first of n history rows of `columns` values
 * whose validation loss (column 2) is the lowest; NaN losses never count;
 * 0 when there is none. */
int cr_best_epoch(const double *history, int columns, int n);

#endif
