/* Training batches: random patch pairs drawn from a training set by a
 * background thread while the device computes, with an explicit random
 * stream (xoshiro256**) whose state after each consumed batch can be saved in
 * a checkpoint, so that a resumed run draws exactly the batches an
 * uninterrupted run would have drawn. */
#ifndef CLRESTORE_LOADER_H
#define CLRESTORE_LOADER_H

#include <stdint.h>

#include "clrestore/status.h"
#include "clrestore/trainset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The batch-order generator (which patches, flips and rotations, the
 * validation split): xoshiro256** (Blackman & Vigna 2018), seeded through
 * splitmix64; a sequential stream whose state a checkpoint keeps. Not the
 * counter-based Philox of weight init and simulation (Random123's; see
 * cr_philox4x32 in clrestore/simulate.h). */
typedef struct cr_xoshiro {
    uint64_t s[4];
} cr_xoshiro;
void cr_xoshiro_seed(cr_xoshiro *r, uint64_t seed);
uint64_t cr_xoshiro_next(cr_xoshiro *r);
/* Uniform integer in [0, n), n > 0 (Lemire's multiply-shift with rejection). */
uint64_t cr_xoshiro_below(cr_xoshiro *r, uint64_t n);

/* Splits pair indices into training and validation: pairs of micrographs
 * flagged for validation in the set; for sets without that record (the
 * reference's), the last `fraction` of the pairs (at least one pair when
 * fraction > 0 and n > 1). Caller frees both arrays. */
cr_status cr_trainset_split(const cr_trainset *t, double fraction, int64_t **train, int64_t *ntrain, int64_t **val,
                            int64_t *nval);

/* Applies dihedral transform d (0..7) to a square P×P image: bit 2 transposes,
 * bit 1 flips rows, bit 0 flips columns, in that order. out != in. */
void cr_dihedral(float *out, const float *in, int p, int d);

typedef struct cr_loader cr_loader;

/* Starts drawing batches of `batch` pairs uniformly (with replacement) from
 * indices[0..n). With augment, each pair gets a random swap of even and odd
 * and one of the 8 dihedral transforms. rng is the stream's starting state. */
cr_status cr_loader_create(cr_trainset *t, const int64_t *indices, int64_t n, int batch, int augment,
                           const cr_xoshiro *rng, cr_loader **out);
/* Blocks for the next batch: even and odd (batch, P, P), valid until the next
 * call. Errors of the reading thread surface here. */
cr_status cr_loader_next(cr_loader *l, const float **even, const float **odd);
/* The stream's state after the batches consumed so far. */
cr_xoshiro cr_loader_state(const cr_loader *l);
/* Stops the thread and frees; accepts NULL. */
void cr_loader_free(cr_loader *l);

#ifdef __cplusplus
}
#endif
#endif
