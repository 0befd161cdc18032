/* `prepare`: even/odd micrograph pairs -> HDF5 training set (REFERENCE.md
 * "Pre-processing"; PRODUCT.md "Training set"). */
#ifndef CLRESTORE_PREPARE_H
#define CLRESTORE_PREPARE_H

#include <stdint.h>

#include "clrestore/fourier.h"
#include "clrestore/runtime.h"
#include "clrestore/star.h"
#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cr_prepare_opts {
    const char *star_path;       /* micrograph STAR file */
    const char *out_path;        /* training set to write */
    const char *suffixes;        /* "DW,EVN,ODD" */
    double max_resolution;       /* Å, 4.5 */
    double highpass_resolution;  /* Å, 200 */
    int patch;                   /* 192 */
    int phaseflip;               /* 1 */
    int max_micrographs;         /* 0 = all */
    double validation_fraction;  /* 0.05 of the micrographs held out */
    uint64_t seed;               /* picks the validation micrographs */
    int shard_index, shard_count; /* --shard I/N: rows of block I of N only (0: all) */
} cr_prepare_opts;

void cr_prepare_opts_default(cr_prepare_opts *o);

/* The CTF parameters of a micrograph row (RELION units as the STAR has them). */
cr_ctf_params cr_ctf_from_row(const cr_micrograph_row *row);

typedef struct cr_prepare_report {
    int micrographs;  /* rows considered */
    int used;         /* micrographs that gave patches */
    int skipped;      /* missing pair, shape or pixel-size mismatch, too small */
    int validation;   /* used micrographs held out for validation */
    int64_t pairs;    /* patch pairs written */
    double apix;      /* binned pixel size */
    int binned[2];    /* rows, columns of the binned micrographs */
    double seconds;
} cr_prepare_report;

/* Runs the whole preparation; skipped micrographs are reported with
 * cr_warn (one line each, naming the file). Fails when nothing usable is left. */
cr_status cr_prepare_run(cr_runtime *rt, const cr_prepare_opts *o, cr_prepare_report *rep);

/* Joins the training sets of `prepare --shard I/N` runs into the set one run
 * over all rows writes (same pairs, micrographs, validation flags and
 * attributes, in row order): inputs named *.shard_I_of_N.h5 are taken in
 * shard order and must all be there; the attributes must agree. */
cr_status cr_prepare_merge(const char *const *in, int n, const char *out, int64_t *pairs);

#ifdef __cplusplus
}
#endif
#endif
