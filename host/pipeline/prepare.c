/* prepare: for each micrograph of a STAR file, its even and odd sums go
 * through the shared pre-processing chain (host/fourier/preprocess.c) and are
 * cut into P×P patches at multiples of P from the origin, each normalised to
 * mean 0 and std 1, and streamed into the training set (memory: one
 * micrograph pair at a time). */
#include "clrestore/prepare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/dist.h"
#include "clrestore/fourier.h"
#include "clrestore/loader.h"
#include "clrestore/log.h"
#include "clrestore/mrc.h"
#include "clrestore/npy.h"
#include "clrestore/star.h"
#include "clrestore/trainset.h"

void cr_prepare_opts_default(cr_prepare_opts *o)
{
    memset(o, 0, sizeof *o);
    o->suffixes = "DW,EVN,ODD";
    o->max_resolution = 4.5;
    o->highpass_resolution = 200.0;
    o->patch = 192;
    o->phaseflip = 1;
    o->validation_fraction = 0.05;
    o->seed = 1;
}

cr_ctf_params cr_ctf_from_row(const cr_micrograph_row *row)
{
    cr_ctf_params c = {row->defocus_u, row->defocus_v, row->defocus_angle, row->voltage,
                       row->cs,        row->amp_contrast, row->phase_shift};
    return c;
}

/* z-score in double: the patch is small, and double keeps std exact enough
 * that tests can check it at 1e-6. */
static void normalise_patch(float *p, int n)
{
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += p[i];
    double mean = s / n;
    for (int i = 0; i < n; i++) ss += (p[i] - mean) * (p[i] - mean);
    double sd = sqrt(ss / n);
    double inv = sd > 0 ? 1.0 / sd : 0.0;
    for (int i = 0; i < n; i++) p[i] = (float)((p[i] - mean) * inv);
}

/* Cuts patches (origins at multiples of P) out of the binned even/odd images. */
static cr_status cut_and_append(cr_trainset_writer *w, int mic, const float *be, const float *bo, int bx, int by,
                                int p, float *pe, float *po, int32_t *org, int64_t *count)
{
    int cols = bx / p, rows = by / p, n = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++, n++) {
            for (int y = 0; y < p; y++) {
                memcpy(pe + ((size_t)n * p + y) * p, be + (size_t)(r * p + y) * bx + (size_t)c * p, p * sizeof(float));
                memcpy(po + ((size_t)n * p + y) * p, bo + (size_t)(r * p + y) * bx + (size_t)c * p, p * sizeof(float));
            }
            normalise_patch(pe + (size_t)n * p * p, p * p);
            normalise_patch(po + (size_t)n * p * p, p * p);
            org[2 * n] = r * p;
            org[2 * n + 1] = c * p;
        }
    *count += n;
    return cr_trainset_append(w, mic, n, pe, po, org);
}

/* Picks round(fraction * n) of n rows for validation (at least one when
 * fraction > 0 and n > 1, never all), by a seeded partial shuffle. */
static uint8_t *pick_validation(int n, double fraction, uint64_t seed)
{
    uint8_t *v = calloc((size_t)n + 1, 1);
    int *order = malloc(((size_t)n + 1) * sizeof(int));
    if (!v || !order) {
        free(v), free(order);
        return NULL;
    }
    int k = (int)floor(fraction * n + 0.5);
    if (fraction > 0 && n > 1 && k < 1) k = 1;
    if (k >= n) k = n - 1;
    cr_xoshiro rng;
    cr_xoshiro_seed(&rng, seed);
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 0; i < k; i++) {
        int j = i + (int)cr_xoshiro_below(&rng, (uint64_t)(n - i));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
        v[order[i]] = 1;
    }
    free(order);
    return v;
}

typedef struct prep_state {
    const cr_prepare_opts *o;
    cr_star_file *star;
    cr_micrograph_row *rows;
    int nrows;
    uint8_t *validation;
    cr_fourier *fw;
    cr_trainset_writer *w;
    float *pe, *po;    /* (patches, P, P) of one micrograph */
    int32_t *org;      /* (patches, 2) */
    size_t cap_patches;
    int first_shape[2];
    double first_apix;
} prep_state;

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* One micrograph: CR_OK with *used = 0 for a skip (reported), an error to stop. */
static cr_status prepare_one(prep_state *s, int i, cr_prepare_report *rep, int *used)
{
    const cr_prepare_opts *o = s->o;
    const cr_micrograph_row *row = &s->rows[i];
    char even_name[4096], odd_name[4096], even_path[4096], odd_path[4096];
    cr_mrc_header he, ho;
    float *even = NULL, *odd = NULL, *be = NULL, *bo = NULL;
    cr_status st = CR_OK;
    *used = 0;
    if (row->name_even && row->name_odd) {
        snprintf(even_name, sizeof even_name, "%s", row->name_even);
        snprintf(odd_name, sizeof odd_name, "%s", row->name_odd);
    } else if (cr_even_odd_names(row->name, o->suffixes, even_name, odd_name, sizeof even_name) != CR_OK) {
        cr_warn("skipping %s: %s", row->name, cr_error_message());
        return CR_OK;
    }
    if (cr_resolve_path(o->star_path, even_name, even_path, sizeof even_path) != CR_OK ||
        cr_resolve_path(o->star_path, odd_name, odd_path, sizeof odd_path) != CR_OK) {
        cr_warn("skipping %s: even/odd pair not found (%s)", row->name, cr_error_message());
        return CR_OK;
    }
    CR_TRY(cr_mrc_read(even_path, &he, &even));
    CR_TRY(cr_mrc_read(odd_path, &ho, &odd));
    CR_TRY(cr_mrc_check_finite(even_path, even, he.nx, he.ny, 1));
    CR_TRY(cr_mrc_check_finite(odd_path, odd, ho.nx, ho.ny, 1));
    double apix = row->apix > 0 ? row->apix : he.apix;
    /* halves of one exposure that disagree are a corrupt pair, not a micrograph to skip quietly */
    if (he.nx != ho.nx || he.ny != ho.ny || he.nz != 1 || ho.nz != 1) {
        st = cr_fail(CR_ERR_FORMAT,
                     "%s: %dx%dx%d, but the even sum %s is %dx%dx%d (both must be single images of "
                     "one shape)",
                     odd_path, ho.nx, ho.ny, ho.nz, even_path, he.nx, he.ny, he.nz);
        goto cleanup;
    }
    if (!(apix > 0)) {
        st = cr_fail(CR_ERR_FORMAT, "%s: no pixel size in the STAR file or the MRC header", even_path);
        goto cleanup;
    }
    if (s->first_shape[0] == 0) {
        s->first_shape[0] = he.ny, s->first_shape[1] = he.nx, s->first_apix = apix;
    } else if (he.ny != s->first_shape[0] || he.nx != s->first_shape[1] ||
               fabs(apix - s->first_apix) > 1e-3 * s->first_apix) {
        cr_warn("skipping %s: %dx%d at %.4f A/px differs from the first micrograph (%dx%d at %.4f A/px)",
                base_name(even_path), he.nx, he.ny, apix, s->first_shape[1], s->first_shape[0], s->first_apix);
        goto cleanup;
    }
    cr_ctf_params ctf = cr_ctf_from_row(row);
    cr_preprocess_opts po;
    cr_preprocess_opts_default(&po);
    po.apix = apix;
    po.max_resolution = o->max_resolution;
    po.highpass_resolution = o->highpass_resolution;
    po.phaseflip = o->phaseflip;
    po.ctf = o->phaseflip ? &ctf : NULL;
    int bx = 0, by = 0, bx2 = 0, by2 = 0;
    double bapix = 0;
    st = cr_preprocess(s->fw, even, he.nx, he.ny, &po, &be, &bx, &by, &bapix);
    if (st == CR_OK) st = cr_preprocess(s->fw, odd, ho.nx, ho.ny, &po, &bo, &bx2, &by2, &bapix);
    if (st != CR_OK) {
        cr_error_prefix("%s", even_path);
        goto cleanup;
    }
    int p = o->patch;
    size_t np = (size_t)(bx / p) * (size_t)(by / p);
    if (np == 0) {
        cr_warn("skipping %s: binned to %dx%d, smaller than one %dx%d patch", base_name(even_path), bx, by, p, p);
        goto cleanup;
    }
    if (np > s->cap_patches) {
        free(s->pe), free(s->po), free(s->org);
        s->pe = malloc(np * p * p * sizeof(float));
        s->po = malloc(np * p * p * sizeof(float));
        s->org = malloc(np * 2 * sizeof(int32_t));
        s->cap_patches = s->pe && s->po && s->org ? np : 0;
        if (!s->cap_patches) {
            st = cr_fail(CR_ERR_NOMEM, "%s: out of memory for %zu patches", even_path, np);
            goto cleanup;
        }
    }
    int mic = 0;
    CR_TRY(cr_trainset_add_micrograph(s->w, row->name, s->validation[i], &mic));
    CR_TRY(cut_and_append(s->w, mic, be, bo, bx, by, p, s->pe, s->po, s->org, &rep->pairs));
    rep->apix = bapix;
    rep->binned[0] = by, rep->binned[1] = bx;
    rep->validation += s->validation[i];
    *used = 1;
cleanup:
    free(even), free(odd), free(be), free(bo);
    return st;
}

cr_status cr_prepare_run(cr_runtime *rt, const cr_prepare_opts *o, cr_prepare_report *rep)
{
    cr_status st = CR_OK;
    prep_state s = {0};
    s.o = o;
    memset(rep, 0, sizeof *rep);
    double t0 = cr_now();
    CR_TRY(cr_micrograph_list_read(o->star_path, o->phaseflip, &s.star));
    CR_TRY(cr_star_micrographs(s.star, o->phaseflip, &s.rows, &s.nrows));
    int n = s.nrows, first = 0, end;
    if (o->max_micrographs > 0 && n > o->max_micrographs) n = o->max_micrographs;
    end = n;
    /* a shard takes its block of the rows; the validation pick stays over all
     * of them, so the shards together hold what one run would */
    if (o->shard_count) cr_shard_range(n, o->shard_index, o->shard_count, &first, &end);
    rep->micrographs = end - first;
    if (!(s.validation = pick_validation(n, o->validation_fraction, o->seed))) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    CR_TRY(cr_fourier_create(rt, &s.fw));
    cr_trainset_meta meta = {o->patch, 0, 0, {0, 0}, {0, 0}, o->max_resolution, o->phaseflip};
    CR_TRY(cr_trainset_create(o->out_path, &meta, &s.w));
    cr_progress prog;
    cr_progress_begin(&prog, "prepare", "mic", end - first);
    for (int i = first; i < end; i++) {
        int used = 0;
        st = prepare_one(&s, i, rep, &used);
        if (st != CR_OK) break;
        rep->used += used;
        rep->skipped += !used;
        cr_progress_update(&prog, i + 1 - first);
    }
    cr_progress_end(&prog);
    if (st != CR_OK) goto cleanup;
    if (rep->pairs == 0) {
        st = cr_fail(CR_ERR_FORMAT, "%s: no usable micrograph pairs (%d skipped); nothing written", o->star_path,
                     rep->skipped);
        goto cleanup;
    }
    /* the attributes describe what was written: record them before finishing */
    meta.apix = rep->apix;
    meta.source_apix = s.first_apix;
    meta.source_shape[0] = s.first_shape[0], meta.source_shape[1] = s.first_shape[1];
    meta.binned_shape[0] = rep->binned[0], meta.binned_shape[1] = rep->binned[1];
    CR_TRY(cr_trainset_set_meta(s.w, &meta));
    CR_TRY(cr_trainset_finish(s.w));
    rep->seconds = cr_now() - t0;
cleanup:
    cr_trainset_writer_free(s.w);
    cr_fourier_free(s.fw);
    free(s.pe), free(s.po), free(s.org), free(s.validation);
    cr_micrograph_rows_free(s.rows, s.nrows);
    cr_star_free(s.star);
    return st;
}
