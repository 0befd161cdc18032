/* One even/odd pair through snr's chain: pre-process, denoise, estimate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/prepare.h"
#include "clrestore/runtime.h"
#include "clrestore/snr_measure.h"
#include "clrestore/wiener.h"

void cr_snr_preprocess_opts(const cr_micrograph_row *row, double header_apix, double max_resolution, int phaseflip,
                            cr_ctf_params *ctf, cr_preprocess_opts *po)
{
    *ctf = cr_ctf_from_row(row);
    cr_preprocess_opts_default(po);
    po->apix = row->apix > 0 ? row->apix : header_apix;
    po->max_resolution = max_resolution > 0 ? max_resolution : 4.5;
    po->phaseflip = phaseflip != 0;
    po->ctf = phaseflip ? ctf : NULL;
}

void cr_snr_pair_free(cr_snr_pair *p)
{
    if (!p) return;
    free(p->re), free(p->ro), free(p->de), free(p->dd), free(p->we), free(p->wo);
    memset(p, 0, sizeof *p);
}

/* One half through pre-processing and the network on the device; only the
 * binned image and its denoised version come back (the statistics need
 * both on the host). */
static cr_status measure_half(cr_denoiser *d, const float *img, int nx, int ny, const cr_preprocess_opts *po,
                              int tile, int bx, int by, float *binned, float *den)
{
    cr_status st = CR_OK;
    cr_runtime *rt = cr_nn_runtime(cr_waunet_nn(d->net));
    cl_mem dimg = NULL, dbin = NULL, dden = NULL;
    size_t n = (size_t)nx * ny * sizeof(float), b = (size_t)bx * by * sizeof(float);
    CR_TRY(cr_fourier_workspace(d->fw, CR_WS_IMAGE, n, &dimg));
    CR_TRY(cr_fourier_workspace(d->fw, CR_WS_BINNED, b, &dbin));
    CR_TRY(cr_fourier_workspace(d->fw, CR_WS_DEN, b, &dden));
    CR_TRY(cr_buffer_write(rt, dimg, 0, n, img));
    CR_TRY(cr_preprocess_dev(d->fw, dimg, nx, ny, po, dbin, bx, by));
    CR_TRY(cr_denoise_binned_dev(d, dbin, bx, by, tile, 0, dden));
    CR_TRY(cr_buffer_read(rt, dbin, 0, b, binned));
    CR_TRY(cr_buffer_read(rt, dden, 0, b, den));
cleanup:
    return st;
}

cr_status cr_snr_measure_pair(cr_denoiser *d, const float *even, const float *odd, int nx, int ny,
                              const cr_preprocess_opts *po, int tile, cr_snr_pair *p, cr_snr_stats *s)
{
    cr_status st = CR_OK;
    memset(p, 0, sizeof *p);
    CR_TRY(cr_binned_shape(nx, ny, po->apix, po->max_resolution, &p->bx, &p->by, &p->bapix));
    size_t n = (size_t)p->bx * p->by;
    p->re = malloc(n * sizeof(float));
    p->ro = malloc(n * sizeof(float));
    p->de = malloc(n * sizeof(float));
    p->dd = malloc(n * sizeof(float));
    if (!p->re || !p->ro || !p->de || !p->dd) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory for four %dx%d binned images", p->bx, p->by);
        goto cleanup;
    }
    CR_TRY(measure_half(d, even, nx, ny, po, tile, p->bx, p->by, p->re, p->de));
    CR_TRY(measure_half(d, odd, nx, ny, po, tile, p->bx, p->by, p->ro, p->dd));
    cr_snr_compute(p->re, p->ro, p->de, p->dd, n, s);
cleanup:
    return st;
}

cr_status cr_snr_measure_wiener(cr_fourier *fw, cr_snr_pair *p, cr_snr_stats *s)
{
    cr_status st = CR_OK;
    int bx = p->bx, by = p->by, nrings = 0, *ring = NULL;
    size_t n = (size_t)bx * by, ns = (size_t)by * (bx / 2 + 1) * 2;
    float *E = malloc(ns * sizeof(float)), *O = malloc(ns * sizeof(float));
    double *h = NULL;
    free(p->we), free(p->wo);
    p->we = malloc(n * sizeof(float));
    p->wo = malloc(n * sizeof(float));
    if (!E || !O || !p->we || !p->wo) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory for the Wiener filter of a %dx%d pair", bx, by);
        goto cleanup;
    }
    CR_TRY(cr_ring_map(bx, by, &ring, &nrings));
    if (!(h = malloc((size_t)nrings * sizeof(double)))) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    CR_TRY(cr_spec_forward(fw, p->re, bx, by, E));
    CR_TRY(cr_spec_forward(fw, p->ro, bx, by, O));
    cr_wiener_eo(E, O, bx, by, ring, nrings, CR_SNR_WIENER_HW, 1.0, h, NULL, NULL);
    cr_ring_filter(E, bx, by, ring, h);
    cr_ring_filter(O, bx, by, ring, h);
    CR_TRY(cr_spec_inverse(fw, E, bx, by, p->we));
    CR_TRY(cr_spec_inverse(fw, O, bx, by, p->wo));
    cr_snr_compute(p->re, p->ro, p->we, p->wo, n, s);
cleanup:
    free(E), free(O), free(h), free(ring);
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, int n)
{
    if (n <= 0) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void cr_snr_baseline_summary(const cr_snr_stats *net, const cr_snr_stats *lin, int n, char *buf, size_t len)
{
    double *v = malloc(sizeof(double) * 4 * (size_t)(n > 0 ? n : 1));
    if (!v || n <= 0) {
        snprintf(buf, len, "linear baseline: no micrographs");
        free(v);
        return;
    }
    int wins = 0;
    for (int i = 0; i < n; i++) {
        v[i] = lin[i].snr_den, v[n + i] = lin[i].snbr;
        v[2 * n + i] = net[i].snr_den / lin[i].snr_den, v[3 * n + i] = net[i].snbr / lin[i].snbr;
        wins += net[i].snbr > lin[i].snbr;
    }
    double snr = median_of(v, n), snbr = median_of(v + n, n), rs = median_of(v + 2 * n, n),
           rb = median_of(v + 3 * n, n);
    snprintf(buf, len,
             "linear baseline (even/odd Wiener filter): SNR median %.4g, SNBR median %.4g; network/Wiener: "
             "SNR x%.3g, SNBR x%.3g (medians of per-micrograph ratios): the network %s the linear filter "
             "(higher SNBR in %d of %d micrographs)",
             snr, snbr, rs, rb, rb > 1 ? "beats" : "does not beat", wins, n);
    free(v);
}
