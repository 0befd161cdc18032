/* The denoising chain of one micrograph; tiles keep the network's memory
 * bounded (see tiles.h for why the stitched result equals the untiled one). */
#include "clrestore/denoise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/tiles.h"

void cr_denoise_opts_default(cr_denoise_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_resolution = 4.5;
    o->phaseflip = 1;
    o->merge_resolution = 3.0;
    o->merge_width = 2.0;
}

cr_status cr_denoiser_init(cr_denoiser *d, cr_fourier *fw, cr_waunet *net)
{
    d->fw = fw;
    d->net = net;
    const cr_arch *a = cr_waunet_arch(net);
    int before = 0, after = 0, q = 1 << a->levels;
    cr_arch_receptive_field(a, &before, &after);
    int m = before > after ? before : after;
    d->margin = (m + q - 1) / q * q;
    return CR_OK;
}

int cr_denoise_auto_tile(cr_denoiser *d, int bx, int by)
{
    const cr_arch *a = cr_waunet_arch(d->net);
    cr_runtime *rt = cr_nn_runtime(cr_waunet_nn(d->net));
    int q = 1 << a->levels;
    size_t budget = (size_t)(rt->dev.global_mem / 3);
    int side = (bx > by ? bx : by);
    side = (side + q - 1) / q * q;
    /* largest square window (core + 2·margin) that fits; stop at the image */
    int best = q;
    for (int core = q; core - q < side; core += q) {
        int win = core + 2 * d->margin;
        cr_waunet_memory mem;
        if (cr_waunet_memory_estimate(d->net, CR_WAUNET_INFERENCE, 1, win, win, &mem) != CR_OK) break;
        if (mem.activation_bytes > budget) break;
        best = core;
        if (core >= side) break;
    }
    cr_error_clear();
    return best;
}

typedef struct net_ctx {
    cr_waunet *net;
    cr_status last;
} net_ctx;

/* cr_tile_fn: one window through the network (inference mode). */
static cr_status net_window(void *ctx, const float *in, int h, int w, float *out)
{
    net_ctx *c = ctx;
    cr_status st;
    CR_TRY(cr_waunet_prepare(c->net, CR_WAUNET_INFERENCE, 1, h, w));
    cr_tensor ti = cr_waunet_input(c->net), to = cr_waunet_output(c->net);
    cr_nn *nn = cr_waunet_nn(c->net);
    CR_TRY(cr_tensor_write_f32(nn, &ti, in));
    CR_TRY(cr_waunet_forward(c->net));
    CR_TRY(cr_tensor_read_f32(nn, &to, out));
cleanup:
    return st;
}

/* Dihedral transform d of an h×w image (bit 2 transposes, bit 1 flips rows,
 * bit 0 flips columns, applied to output coordinates in that order); the
 * result is w×h when transposed. inverse = 1 undoes transform d. */
static void dihedral_rect(float *out, const float *in, int h, int w, int d, int inverse)
{
    int oh = (d & 4) ? w : h, ow = (d & 4) ? h : w;
    for (int r = 0; r < oh; r++)
        for (int c = 0; c < ow; c++) {
            int sr = r, sc = c;
            if (!inverse) {
                if (d & 1) sc = ow - 1 - sc;
                if (d & 2) sr = oh - 1 - sr;
                if (d & 4) {
                    int t = sr;
                    sr = sc;
                    sc = t;
                }
                out[(size_t)r * ow + c] = in[(size_t)sr * w + sc];
            } else {
                /* out is the un-transformed image (oh×ow = original); find where
                 * (r, c) went in the transformed input (h×w) */
                int tr = r, tc = c;
                if (d & 4) {
                    int t = tr;
                    tr = tc;
                    tc = t;
                }
                if (d & 2) tr = h - 1 - tr;
                if (d & 1) tc = w - 1 - tc;
                out[(size_t)r * ow + c] = in[(size_t)tr * w + tc];
            }
        }
}

cr_status cr_denoise_binned(cr_denoiser *d, const float *binned, int bx, int by, int tile, int tta, float *out)
{
    cr_status st = CR_OK;
    const cr_arch *a = cr_waunet_arch(d->net);
    int q = 1 << a->levels;
    int px = (bx + q - 1) / q * q, py = (by + q - 1) / q * q, ox = (px - bx) / 2, oy = (py - by) / 2;
    size_t np = (size_t)px * py;
    float *pad = malloc(np * sizeof(float)), *res = malloc(np * sizeof(float));
    float *tin = tta ? malloc(np * sizeof(float)) : NULL, *tout = tta ? malloc(np * sizeof(float)) : NULL;
    double *acc = tta ? calloc(np, sizeof(double)) : NULL;
    cr_tile_plan plan = {0}, plan_t = {0};
    if (!pad || !res || (tta && (!tin || !tout || !acc))) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory for a %dx%d binned image", bx, by);
        goto cleanup;
    }
    double mean = 0;
    for (size_t i = 0; i < (size_t)bx * by; i++) mean += binned[i];
    mean /= (double)bx * by;
    for (int y = 0; y < py; y++)
        for (int x = 0; x < px; x++) {
            int sx = x - ox, sy = y - oy;
            pad[(size_t)y * px + x] = (sy >= 0 && sy < by && sx >= 0 && sx < bx) ? binned[(size_t)sy * bx + sx] : (float)mean;
        }
    if (tile <= 0) tile = cr_denoise_auto_tile(d, px, py);
    net_ctx ctx = {d->net, CR_OK};
    CR_TRY(cr_tile_plan_make(py, px, tile, d->margin, q, &plan));
    if (!tta) {
        CR_TRY(cr_tile_apply(&plan, net_window, &ctx, pad, res));
    } else {
        CR_TRY(cr_tile_plan_make(px, py, tile, d->margin, q, &plan_t));
        for (int k = 0; k < 8; k++) {
            int th = (k & 4) ? px : py, tw = (k & 4) ? py : px;
            dihedral_rect(tin, pad, py, px, k, 0);
            CR_TRY(cr_tile_apply((k & 4) ? &plan_t : &plan, net_window, &ctx, tin, tout));
            dihedral_rect(res, tout, th, tw, k, 1);
            for (size_t i = 0; i < np; i++) acc[i] += res[i];
        }
        for (size_t i = 0; i < np; i++) res[i] = (float)(acc[i] / 8.0);
    }
    for (int y = 0; y < by; y++) memcpy(out + (size_t)y * bx, res + (size_t)(y + oy) * px + ox, (size_t)bx * sizeof(float));
cleanup:
    cr_tile_plan_free(&plan);
    cr_tile_plan_free(&plan_t);
    free(pad), free(res), free(tin), free(tout), free(acc);
    return st;
}

cr_status cr_denoise_check_apix(double model_apix, double bapix, double apix, double max_resolution)
{
    if (model_apix > 0 && fabs(bapix - model_apix) > 0.02 * model_apix)
        return cr_fail(
            CR_ERR_ARG,
            "pixel size mismatch: the model was trained at %.4f A/px, this micrograph bins to %.4f A/px "
            "(%.4f A/px at max resolution %.2f A)",
            model_apix, bapix, apix, max_resolution);
    return CR_OK;
}

cr_status cr_denoise_micrograph(cr_denoiser *d, const float *img, int nx, int ny, double apix,
                                const cr_ctf_params *ctf, const cr_denoise_opts *o, float *out, float **binned_raw,
                                float **binned_den, int *pbx, int *pby)
{
    cr_status st = CR_OK;
    float *binned = NULL, *den = NULL;
    int bx = 0, by = 0;
    double bapix = 0;
    if (o->phaseflip && !ctf)
        return cr_fail(CR_ERR_ARG, "phase flipping needs the micrograph's CTF (a STAR file) or --no-phaseflip");
    cr_preprocess_opts po;
    cr_preprocess_opts_default(&po);
    po.apix = apix;
    po.max_resolution = o->max_resolution;
    po.phaseflip = o->phaseflip;
    po.ctf = o->phaseflip ? ctf : NULL;
    CR_TRY(cr_preprocess(d->fw, img, nx, ny, &po, &binned, &bx, &by, &bapix));
    CR_TRY(cr_denoise_check_apix(o->model_apix, bapix, apix, o->max_resolution));
    den = malloc((size_t)bx * by * sizeof(float));
    if (!den) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    CR_TRY(cr_denoise_binned(d, binned, bx, by, o->tile, o->tta, den));
    cr_unbin_opts uo;
    cr_unbin_opts_default(&uo);
    uo.apix = apix;
    uo.merge_resolution = o->merge_resolution;
    uo.merge_width = o->merge_width;
    uo.merge_noisy = o->merge_noisy;
    uo.phaseflipped = o->phaseflip;
    uo.flip_back = o->flip_back && o->phaseflip;
    uo.ctf = ctf;
    CR_TRY(cr_unbin(d->fw, den, bx, by, o->merge_noisy ? img : NULL, nx, ny, &uo, out));
    if (pbx) *pbx = bx;
    if (pby) *pby = by;
    if (binned_raw) *binned_raw = binned, binned = NULL;
    if (binned_den) *binned_den = den, den = NULL;
cleanup:
    free(binned);
    free(den);
    return st;
}
