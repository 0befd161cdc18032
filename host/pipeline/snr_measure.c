/* One even/odd pair through snr's chain: pre-process, denoise, estimate. */
#include <stdlib.h>
#include <string.h>

#include "clrestore/prepare.h"
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

cr_status cr_snr_measure_pair(cr_denoiser *d, const float *even, const float *odd, int nx, int ny,
                              const cr_preprocess_opts *po, int tile, cr_snr_pair *p, cr_snr_stats *s)
{
    cr_status st = CR_OK;
    memset(p, 0, sizeof *p);
    CR_TRY(cr_preprocess(d->fw, even, nx, ny, po, &p->re, &p->bx, &p->by, &p->bapix));
    CR_TRY(cr_preprocess(d->fw, odd, nx, ny, po, &p->ro, &p->bx, &p->by, &p->bapix));
    size_t n = (size_t)p->bx * p->by;
    p->de = malloc(n * sizeof(float));
    p->dd = malloc(n * sizeof(float));
    if (!p->de || !p->dd) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory for two %dx%d denoised images", p->bx, p->by);
        goto cleanup;
    }
    CR_TRY(cr_denoise_binned(d, p->re, p->bx, p->by, tile, 0, p->de));
    CR_TRY(cr_denoise_binned(d, p->ro, p->bx, p->by, tile, 0, p->dd));
    cr_snr_compute(p->re, p->ro, p->de, p->dd, n, s);
cleanup:
    return st;
}
