/* One even/odd pair through snr's chain: pre-process, denoise, estimate. */
#include <stdlib.h>
#include <string.h>

#include "clrestore/prepare.h"
#include "clrestore/runtime.h"
#include "clrestore/snr_measure.h"

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
    free(p->re), free(p->ro), free(p->de), free(p->dd);
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
