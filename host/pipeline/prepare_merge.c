/* prepare --merge: the training sets of `prepare --shard I/N` joined in
 * shard order. Shards are contiguous blocks of the STAR rows and each writes
 * its micrographs and their pairs in row order, so the join is the set one
 * run writes, pair for pair. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/dist.h"
#include "clrestore/prepare.h"
#include "clrestore/trainset.h"

static int same_meta(const cr_trainset_meta *a, const cr_trainset_meta *b)
{
    return a->patch == b->patch && a->apix == b->apix && a->source_apix == b->source_apix &&
           a->source_shape[0] == b->source_shape[0] && a->source_shape[1] == b->source_shape[1] &&
           a->binned_shape[0] == b->binned_shape[0] && a->binned_shape[1] == b->binned_shape[1] &&
           a->max_resolution == b->max_resolution && a->phaseflip == b->phaseflip;
}

/* The pairs of one input, one micrograph at a time (the writer's unit). */
static cr_status copy_set(cr_trainset *t, cr_trainset_writer *w, int64_t *pairs)
{
    cr_status st = CR_OK;
    size_t pp = (size_t)t->meta.patch * (size_t)t->meta.patch;
    float *e = NULL, *o = NULL;
    int32_t *org = NULL;
    int64_t i = 0;
    while (i < t->n) {
        int m = t->micrograph[i], idx = 0;
        int64_t j = i;
        while (j < t->n && t->micrograph[j] == m) j++;
        size_t k = (size_t)(j - i);
        free(e), free(o), free(org);
        e = malloc(k * pp * sizeof *e), o = malloc(k * pp * sizeof *o), org = malloc(k * 2 * sizeof *org);
        if (!e || !o || !org) {
            st = cr_fail(CR_ERR_NOMEM, "%s: out of memory for %zu pairs", t->path, k);
            goto cleanup;
        }
        for (size_t q = 0; q < k; q++) {
            CR_TRY(cr_trainset_read(t, i + (int64_t)q, e + q * pp, o + q * pp));
            org[2 * q] = t->origin[2 * (i + (int64_t)q)], org[2 * q + 1] = t->origin[2 * (i + (int64_t)q) + 1];
        }
        CR_TRY(cr_trainset_add_micrograph(w, t->micrographs[m], t->validation ? t->validation[m] : 0, &idx));
        CR_TRY(cr_trainset_append(w, idx, (int)k, e, o, org));
        *pairs += (int64_t)k;
        i = j;
    }
cleanup:
    free(e), free(o), free(org);
    return st;
}

cr_status cr_prepare_merge(const char *const *in, int n, const char *out, int64_t *pairs)
{
    cr_status st = CR_OK;
    cr_trainset **t = calloc((size_t)n + 1, sizeof *t);
    int *order = calloc((size_t)n + 1, sizeof *order);
    cr_trainset_writer *w = NULL;
    *pairs = 0;
    if (!t || !order) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    CR_TRY(cr_shard_order(in, n, ".h5", order));
    for (int k = 0; k < n; k++) {
        const char *name = in[order[k]];
        if (strcmp(name, out) == 0) {
            st = cr_fail(CR_ERR_ARG, "%s: the output would overwrite an input", out);
            goto cleanup;
        }
        CR_TRY(cr_trainset_open(name, &t[k]));
        if (!t[k]->micrograph || !t[k]->origin || t[k]->nmicrographs == 0) {
            st = cr_fail(CR_ERR_FORMAT, "%s: no /micrograph and /origin datasets (not written by prepare)", name);
            goto cleanup;
        }
        for (int64_t i = 0; i < t[k]->n; i++)
            if (t[k]->micrograph[i] < 0 || t[k]->micrograph[i] >= t[k]->nmicrographs ||
                (i > 0 && t[k]->micrograph[i] < t[k]->micrograph[i - 1])) {
                st = cr_fail(CR_ERR_FORMAT, "%s: /micrograph is not in micrograph order at pair %lld", name,
                             (long long)i);
                goto cleanup;
            }
        if (k > 0 && !same_meta(&t[k]->meta, &t[0]->meta)) {
            st = cr_fail(CR_ERR_FORMAT,
                         "%s: attributes (patch, pixel sizes, shapes, max_resolution, phaseflip) differ from %s's",
                         name, in[order[0]]);
            goto cleanup;
        }
    }
    CR_TRY(cr_trainset_create(out, &t[0]->meta, &w));
    for (int k = 0; k < n; k++) CR_TRY(copy_set(t[k], w, pairs));
    CR_TRY(cr_trainset_finish(w));
cleanup:
    cr_trainset_writer_free(w);
    for (int k = 0; t && k < n; k++) cr_trainset_close(t[k]);
    free(t);
    free(order);
    return st;
}
