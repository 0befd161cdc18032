/* True SNR of the raw sum and of each denoiser against simulate's noise-free
 * image (evaluate.h; docs/evaluate.md). All in the Fourier domain of the
 * binned images: a filter is a factor per frequency, and the band-limited
 * variances are sums over the band by Parseval. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/evaluate.h"
#include "clrestore/mrc.h"
#include "clrestore/snr_measure.h"
#include "clrestore/wiener.h"

const char *const cr_eval_names[CR_EVAL_COUNT] = {"raw",       "even",          "gaussian",
                                                  "wiener_eo", "wiener_oracle", "denoised"};

cr_status cr_evaluate_truth_path(const char *star_path, const char *name, const char *truth_dir,
                                 const char *suffixes, char *out, size_t len)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    char stem[1024], sfx[64] = "_";
    int n = snprintf(stem, sizeof stem, "%s", base);
    if (n < 0 || (size_t)n >= sizeof stem) return cr_fail(CR_ERR_ARG, "%s: micrograph name too long", name);
    size_t l = strlen(stem);
    if (l > 4 && strcmp(stem + l - 4, ".mrc") == 0) stem[l -= 4] = 0;
    size_t k = strcspn(suffixes, ",");
    if (k > 0 && k < sizeof sfx - 1) {
        memcpy(sfx + 1, suffixes, k), sfx[k + 1] = 0;
        if (l > k + 1 && strcmp(stem + l - (k + 1), sfx) == 0) stem[l - (k + 1)] = 0;
    }
    if (truth_dir) {
        n = snprintf(out, len, "%s/%s.mrc", truth_dir, stem);
    } else {
        const char *slash = strrchr(star_path, '/');
        n = slash ? snprintf(out, len, "%.*s/truth/%s.mrc", (int)(slash - star_path), star_path, stem)
                  : snprintf(out, len, "truth/%s.mrc", stem);
    }
    if (n < 0 || (size_t)n >= len) return cr_fail(CR_ERR_ARG, "%s: path of its truth too long", name);
    return CR_OK;
}

cr_status cr_evaluate_micrograph(cr_fourier *fw, cr_denoiser *d, const float *sum, const float *even,
                                 const float *odd, const float *truth, int nx, int ny, const cr_preprocess_opts *po,
                                 int tile, double lo, double hi, cr_eval_result *r)
{
    cr_status st = CR_OK;
    float *img[4] = {NULL, NULL, NULL, NULL}, *spec[5] = {NULL, NULL, NULL, NULL, NULL}, *w = NULL, *f = NULL;
    float *den = NULL;
    double *h = NULL;
    int *ring = NULL, nrings = 0, bx = 0, by = 0;
    const float *src[4] = {sum, even, odd, truth};
    memset(r, 0, sizeof *r);
    for (int k = 0; k < 4; k++) CR_TRY(cr_preprocess(fw, src[k], nx, ny, po, &img[k], &bx, &by, &r->bapix));
    r->bx = bx, r->by = by;
    size_t np = (size_t)by * (bx / 2 + 1);
    for (int k = 0; k < 5; k++)
        if (!(spec[k] = malloc(np * 2 * sizeof(float)))) goto nomem;
    if (!(w = malloc(np * sizeof(float))) || !(f = malloc(np * sizeof(float)))) goto nomem;
    float *R = spec[0], *E = spec[1], *O = spec[2], *T = spec[3];
    for (int k = 0; k < 4; k++) CR_TRY(cr_spec_forward(fw, img[k], bx, by, spec[k]));
    cr_band_weights(bx, by, r->bapix, lo, hi, w);
    CR_TRY(cr_ring_map(bx, by, &ring, &nrings));
    if (!(h = malloc((size_t)nrings * sizeof(double)))) goto nomem;

    r->snr[CR_EVAL_RAW] = cr_true_snr(R, NULL, T, w, np);
    r->snr[CR_EVAL_EVEN] = cr_true_snr(E, NULL, T, w, np);
    double sigma = 0;
    r->snr[CR_EVAL_GAUSS] = cr_best_gauss(R, T, w, bx, by, &sigma);
    r->gauss_sigma = sigma * r->bapix;
    /* the sum's noise is the two halves' together, its per-frequency SNR twice a half's */
    cr_wiener_eo(E, O, bx, by, ring, nrings, CR_SNR_WIENER_HW, 0.5, h, NULL, NULL);
    for (size_t i = 0; i < np; i++) f[i] = (float)h[ring[i]];
    r->snr[CR_EVAL_WIENER_EO] = cr_true_snr(R, f, T, w, np);
    cr_wiener_oracle(R, T, w, bx, by, ring, nrings, h);
    for (size_t i = 0; i < np; i++) f[i] = (float)h[ring[i]];
    r->snr[CR_EVAL_WIENER_ORACLE] = cr_true_snr(R, f, T, w, np);
    r->snr[CR_EVAL_DENOISED] = NAN;
    if (d) {
        if (!(den = malloc((size_t)bx * by * sizeof(float)))) goto nomem;
        CR_TRY(cr_denoise_binned(d, img[0], bx, by, tile, 0, den));
        CR_TRY(cr_spec_forward(fw, den, bx, by, spec[4]));
        r->snr[CR_EVAL_DENOISED] = cr_true_snr(spec[4], NULL, T, w, np);
    }
    goto cleanup;
nomem:
    st = cr_fail(CR_ERR_NOMEM, "out of memory for the evaluation of a %dx%d micrograph", nx, ny);
cleanup:
    for (int k = 0; k < 4; k++) free(img[k]);
    for (int k = 0; k < 5; k++) free(spec[k]);
    free(w), free(f), free(den), free(h), free(ring);
    return st;
}

void cr_eval_opts_default(cr_eval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->suffixes = "DW,EVN,ODD";
    o->max_resolution = 4.5;
    o->highpass = 200;
    o->phaseflip = 1;
}

cr_status cr_evaluate_row(cr_fourier *fw, cr_denoiser *d, const char *star_path, const cr_micrograph_row *row,
                          const cr_eval_opts *o, cr_eval_result *r)
{
    cr_status st = CR_OK;
    char name[3][4096], path[4][4096];
    cr_mrc_header hd[4];
    float *img[4] = {NULL, NULL, NULL, NULL};
    const char *given[3] = {row->name, row->name_even, row->name_odd};
    for (int k = 0; k < 3; k++)
        if (given[k] && strlen(given[k]) >= sizeof name[k])
            return cr_fail(CR_ERR_ARG, "%s: micrograph name of %zu characters is too long", star_path,
                           strlen(given[k]));
    snprintf(name[0], sizeof name[0], "%s", row->name);
    if (row->name_even && row->name_odd) {
        snprintf(name[1], sizeof name[1], "%s", row->name_even);
        snprintf(name[2], sizeof name[2], "%s", row->name_odd);
    } else {
        CR_TRY(cr_even_odd_names(row->name, o->suffixes, name[1], name[2], sizeof name[1]));
    }
    for (int k = 0; k < 3; k++) CR_TRY(cr_resolve_path(star_path, name[k], path[k], sizeof path[k]));
    CR_TRY(cr_evaluate_truth_path(star_path, row->name, o->truth_dir, o->suffixes, path[3], sizeof path[3]));
    for (int k = 0; k < 4; k++) {
        CR_TRY(cr_mrc_read(path[k], &hd[k], &img[k]));
        CR_TRY(cr_mrc_check_finite(path[k], img[k], hd[k].nx, hd[k].ny, 1));
        if (hd[k].nx != hd[0].nx || hd[k].ny != hd[0].ny) {
            st = cr_fail(CR_ERR_FORMAT, "%s: %dx%d, but the full sum %s is %dx%d", path[k], hd[k].nx, hd[k].ny,
                         path[0], hd[0].nx, hd[0].ny);
            goto cleanup;
        }
    }
    cr_ctf_params ctf;
    cr_preprocess_opts po;
    cr_snr_preprocess_opts(row, hd[0].apix, o->max_resolution, o->phaseflip, &ctf, &po);
    po.highpass_resolution = o->highpass;
    if (d) {
        int bx = 0, by = 0;
        double bapix = 0;
        CR_TRY(cr_binned_shape(hd[0].nx, hd[0].ny, po.apix, po.max_resolution, &bx, &by, &bapix));
        if ((st = cr_denoise_check_apix(o->model_apix, bapix, po.apix, po.max_resolution)) != CR_OK) {
            cr_error_prefix("%s", path[0]);
            goto cleanup;
        }
    }
    CR_TRY(cr_evaluate_micrograph(fw, d, img[0], img[1], img[2], img[3], hd[0].nx, hd[0].ny, &po, o->tile,
                                  1.0 / o->highpass, 1.0 / po.max_resolution, r));
cleanup:
    for (int k = 0; k < 4; k++) free(img[k]);
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_finite(double *v, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) v[m++] = v[i];
    if (m == 0) return NAN;
    qsort(v, (size_t)m, sizeof *v, cmp_double);
    return m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
}

void cr_evaluate_summary(const cr_eval_result *r, int n, double *med, double *gain)
{
    double *v = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    for (int k = 0; k < CR_EVAL_COUNT; k++) {
        med[k] = gain[k] = NAN;
        if (!v || n <= 0) continue;
        for (int i = 0; i < n; i++) v[i] = r[i].snr[k];
        med[k] = median_finite(v, n);
        for (int i = 0; i < n; i++) v[i] = r[i].snr[k] / r[i].snr[CR_EVAL_RAW];
        gain[k] = median_finite(v, n);
    }
    free(v);
}
