/* Convolution parameters per device and shape class (docs/tuning.md): the search of
 * `clrestore tune`, and what `devices -v` and `bench` report. The parameters themselves
 * (host/nn/conv_tune.h) stay internal; this header passes them as text
 * ("fwd_tm=16 fwd_vw=16 ...", the cache files' syntax). */
#ifndef CLRESTORE_TUNE_H
#define CLRESTORE_TUNE_H

#include "clrestore/arch.h"
#include "clrestore/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { CR_TUNE_MAX_CLASSES = 8 };

/* One shape class: its parameters in use and where they come from ("cache FILE",
 * "built-in ENTRY", "fallback: RULE", "file FILE" for CLRESTORE_CONV_PARAMS). */
typedef struct cr_conv_param_row {
    char cls[16];      /* "1x1-wide", ... */
    char params[512];
    char source[320];
} cr_conv_param_row;

/* The rows for device d in class order (*n of them, at most CR_TUNE_MAX_CLASSES). */
void cr_conv_params_report(const cr_device_desc *d, cr_conv_param_row *rows, int *n);
/* The tuning cache file of d (may not exist); "" when no cache directory can be named. */
void cr_conv_params_cache_file(const cr_device_desc *d, char *buf, size_t len);

typedef struct cr_conv_tune_opts {
    int quick;            /* one or two candidates per class on a small problem (tests) */
    double time_budget_s; /* stop trying candidates after this (0: no limit); each class keeps its best */
    int size, batch;      /* problem: image side at level 0 and batch (0: 192 and 4; quick 32 and 1) */
    int write;            /* != 0: write the result into the tuning cache */
} cr_conv_tune_opts;

typedef struct cr_conv_tune_class {
    char cls[16], layer[48]; /* class, and the convolution it was tuned on */
    int n, cin, cout, h, w, k, stride;
    double flop;             /* one forward (= one dX, one dW) */
    double base_s[2], best_s[2]; /* fwd + dX, and dW, seconds: parameters before, and chosen */
    char before[512], params[512];
} cr_conv_tune_class;

typedef struct cr_conv_tune_result {
    cr_conv_tune_class cls[CR_TUNE_MAX_CLASSES];
    int nclasses;
    int tried, rejected; /* candidates run, and those that failed or mismatched the reference */
    double seconds;
    char path[4096];     /* the cache file written ("" when not written) */
} cr_conv_tune_result;

/* Tunes the convolution classes network a uses on rt's device; progress on a TTY. */
cr_status cr_conv_tune(cr_runtime *rt, const cr_arch *a, const cr_conv_tune_opts *o, cr_conv_tune_result *out);

#ifdef __cplusplus
}
#endif
#endif
