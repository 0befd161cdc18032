/* Joins the STAR listings of sharded runs (`denoise --shard I/N`) into the
 * listing one run over all inputs writes. */
#ifndef CLRESTORE_STAR_MERGE_H
#define CLRESTORE_STAR_MERGE_H

#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the n listings and writes out (atomically): the first listing's
 * tables, with the rows of the others' micrograph tables (data_micrographs,
 * else the first loop with _rlnMicrographName) appended in order. Listings
 * named *.shard_I_of_N.star are taken in shard order whatever the order
 * given, and all N must be there, each once. Every other table must equal
 * the first listing's (the optics), the micrograph tables must have the same
 * columns. Errors name the file and the difference. */
cr_status cr_star_merge(const char *const *in, int n, const char *out, int *rows_written);

#ifdef __cplusplus
}
#endif
#endif
