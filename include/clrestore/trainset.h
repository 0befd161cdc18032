/* Training sets: even/odd patch pairs in HDF5 (PRODUCT.md "Training set").
 * The writer streams patches into chunked datasets (memory bounded by what
 * the caller passes per call) and renames the file into place when finished;
 * the reader gives random access to pairs, for the reference's N×P×P×1
 * layout too. */
#ifndef CLRESTORE_TRAINSET_H
#define CLRESTORE_TRAINSET_H

#include <stdint.h>

#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cr_trainset_meta {
    int patch;              /* P */
    double apix;            /* binned pixel size, Å */
    double source_apix;     /* pixel size of the micrographs, Å */
    int source_shape[2];    /* rows, columns of the micrographs */
    int binned_shape[2];    /* rows, columns after binning */
    double max_resolution;  /* Å */
    int phaseflip;          /* 1/0 (-1 unknown, e.g. a reference set without the attribute) */
} cr_trainset_meta;

typedef struct cr_trainset_writer cr_trainset_writer;

/* Starts a training set at path (written under a temporary name). */
cr_status cr_trainset_create(const char *path, const cr_trainset_meta *meta, cr_trainset_writer **out);
/* Registers a micrograph name; returns its index for cr_trainset_append. */
cr_status cr_trainset_add_micrograph(cr_trainset_writer *w, const char *name, int validation, int *index);
/* Appends n pairs: even, odd (n, P, P); origins (n, 2) row, column in the binned image. */
cr_status cr_trainset_append(cr_trainset_writer *w, int micrograph, int n, const float *even, const float *odd,
                             const int32_t *origins);
/* Replaces the metadata written by cr_trainset_finish (known only at the end
 * for streamed sets: binned shape and pixel size). The patch size must not change. */
cr_status cr_trainset_set_meta(cr_trainset_writer *w, const cr_trainset_meta *meta);
/* Writes the micrograph list and attributes, closes and renames into place. */
cr_status cr_trainset_finish(cr_trainset_writer *w);
/* Frees; removes the temporary file when cr_trainset_finish was not reached. Accepts NULL. */
void cr_trainset_writer_free(cr_trainset_writer *w);
int64_t cr_trainset_writer_count(const cr_trainset_writer *w);

typedef struct cr_trainset {
    char *path;
    cr_trainset_meta meta;
    int64_t n;              /* pairs */
    int nmicrographs;       /* 0 for reference sets without /micrographs */
    char **micrographs;     /* (nmicrographs) names */
    int32_t *micrograph;    /* (n) micrograph index of each pair, or NULL */
    int32_t *origin;        /* (n, 2) or NULL */
    uint8_t *validation;    /* (nmicrographs) 1 = held out for validation, or NULL */
    int64_t h5file, h5even, h5odd; /* HDF5 handles (hid_t) */
    int layout4d;           /* the reference's N×P×P×1 */
} cr_trainset;

/* Opens and checks a training set: both datasets N×P×P (or N×P×P×1),
 * float32 or float64, same shape; optional index datasets of matching length. */
cr_status cr_trainset_open(const char *path, cr_trainset **out);
/* Reads pair i into even and odd (P×P each). */
cr_status cr_trainset_read(cr_trainset *t, int64_t i, float *even, float *odd);
/* Accepts NULL. */
void cr_trainset_close(cr_trainset *t);

#ifdef __cplusplus
}
#endif
#endif
