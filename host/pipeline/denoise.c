/* The denoising chain of one micrograph; tiles keep the network's memory
 * bounded (see tiles.h for why the stitched result equals the untiled one). */
#include "clrestore/denoise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/runtime.h"
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

cr_status cr_denoiser_env_create(const char *device, const cr_checkpoint *ck, const char *model_path, int fourier,
                                 cr_denoiser_env **out)
{
    cr_status st = CR_OK;
    cr_denoiser_env *e = calloc(1, sizeof *e);
    *out = NULL;
    if (!e) return cr_fail(CR_ERR_NOMEM, "out of memory");
    CR_TRY(cr_runtime_create(device, &e->rt));
    if (ck) {
        CR_TRY(cr_nn_create(e->rt, CR_FLOAT, &e->nn));
        CR_TRY(cr_waunet_create(e->nn, &ck->arch, &e->net));
        if ((st = cr_waunet_upload(e->net, ck)) != CR_OK) {
            if (model_path) cr_error_prefix("%s", model_path);
            goto cleanup;
        }
    }
    if (fourier) CR_TRY(cr_fourier_create(e->rt, &e->fw));
    if (e->fw && e->net) CR_TRY(cr_denoiser_init(&e->den, e->fw, e->net));
    *out = e;
    e = NULL;
cleanup:
    cr_denoiser_env_free(e);
    return st;
}

void cr_denoiser_env_free(cr_denoiser_env *e)
{
    if (!e) return;
    cr_fourier_free(e->fw);
    cr_waunet_free(e->net);
    cr_nn_free(e->nn);
    cr_runtime_free(e->rt);
    free(e);
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

/* One micrograph crosses host <-> device once: everything from the uploaded
 * image to the un-binned result runs on device buffers of the cr_fourier
 * workspace, tiles and augmentation included (windows and cores move by
 * clEnqueueCopyBufferRect, transforms by kernels/denoise.cl). */

#define F4 sizeof(float)

/* Copies an h x w block of floats from (sy, sx) of src (row length sw,
 * starting soff floats in) to (dy, dx) of dst (row length dw, doff in). */
static cr_status copy_rect(cr_runtime *rt, cl_mem src, size_t soff, int sw, int sy, int sx, cl_mem dst, size_t doff,
                           int dw, int dy, int dx, int h, int w, const char *what)
{
    size_t so[3] = {(soff + (size_t)sx) * F4, (size_t)sy, 0}, dO[3] = {(doff + (size_t)dx) * F4, (size_t)dy, 0};
    size_t reg[3] = {(size_t)w * F4, (size_t)h, 1};
    int err = clEnqueueCopyBufferRect(rt->queue, src, dst, so, dO, reg, (size_t)sw * F4, 0, (size_t)dw * F4, 0, 0,
                                      NULL, NULL);
    return err ? cr_fail_device(rt, err, "clEnqueueCopyBufferRect", what, __FILE__, __LINE__) : CR_OK;
}

/* Every window of plan through the network (inference), the cores of the
 * answers stitched into out; in and out are plan->height x plan->width. */
static cr_status net_tiles(cr_denoiser *d, const cr_tile_plan *plan, cl_mem in, cl_mem out)
{
    cr_status st = CR_OK;
    cr_nn *nn = cr_waunet_nn(d->net);
    cr_runtime *rt = cr_nn_runtime(nn);
    if (cr_nn_precision(nn) != CR_FLOAT)
        return cr_fail(CR_ERR_UNSUPPORTED, "denoising runs the network in float; this engine is double");
    CR_TRY(cr_waunet_prepare(d->net, CR_WAUNET_INFERENCE, 1, plan->win_h, plan->win_w));
    cr_tensor ti = cr_waunet_input(d->net), to = cr_waunet_output(d->net);
    for (int k = 0; k < plan->ntiles; k++) {
        const cr_tile *t = &plan->tiles[k];
        CR_TRY(copy_rect(rt, in, 0, plan->width, t->wy, t->wx, ti.buf, ti.off, plan->win_w, 0, 0, plan->win_h,
                         plan->win_w, "network tile"));
        CR_TRY(cr_waunet_forward(d->net));
        CR_TRY(copy_rect(rt, to.buf, to.off, plan->win_w, t->cy - t->wy, t->cx - t->wx, out, 0, plan->width, t->cy,
                         t->cx, t->ch, t->cw, "network tile"));
    }
cleanup:
    return st;
}

/* The average over the 8 dihedral transforms of pad (h x w) into res. */
static cr_status net_tta(cr_denoiser *d, const cr_tile_plan *plan, const cr_tile_plan *plan_t, cl_mem pad, int h,
                         int w, cl_mem res)
{
    cr_status st = CR_OK;
    cr_runtime *rt = cr_nn_runtime(cr_waunet_nn(d->net));
    cl_kernel kt = NULL, ka = NULL, km = NULL;
    cl_mem tin = NULL, tout = NULL, acc = NULL;
    size_t np = (size_t)h * w;
    CR_TRY(cr_fourier_workspace(d->fw, CR_WS_TTA_IN, np * F4, &tin));
    CR_TRY(cr_fourier_workspace(d->fw, CR_WS_TTA_OUT, np * F4, &tout));
    CR_TRY(cr_fourier_workspace(d->fw, CR_WS_TTA_ACC, np * 8, &acc));
    CR_TRY(cr_kernel_create(rt, "denoise.cl", "dihedral", "", &kt));
    CR_TRY(cr_kernel_create(rt, "denoise.cl", "dihedral_accumulate", "", &ka));
    CR_TRY(cr_kernel_create(rt, "denoise.cl", "dihedral_mean", "", &km));
    for (int k = 0; k < 8; k++) {
        int th = (k & 4) ? w : h, tw = (k & 4) ? h : w, first = k == 0;
        size_t gt[2] = {(size_t)tw, (size_t)th}, ga[2] = {(size_t)w, (size_t)h};
        CR_TRY(cr_kernel_args(kt, 5, sizeof(cl_mem), &pad, sizeof h, &h, sizeof w, &w, sizeof k, &k, sizeof(cl_mem),
                              &tin));
        CR_TRY(cr_enqueue(rt, kt, 2, gt, NULL));
        CR_TRY(net_tiles(d, (k & 4) ? plan_t : plan, tin, tout));
        CR_TRY(cr_kernel_args(ka, 6, sizeof(cl_mem), &acc, sizeof h, &h, sizeof w, &w, sizeof k, &k, sizeof(cl_mem),
                              &tout, sizeof first, &first));
        CR_TRY(cr_enqueue(rt, ka, 2, ga, NULL));
    }
    int n = (int)np, count = 8;
    size_t g = np;
    CR_TRY(cr_kernel_args(km, 4, sizeof(cl_mem), &acc, sizeof n, &n, sizeof count, &count, sizeof(cl_mem), &res));
    CR_TRY(cr_enqueue(rt, km, 1, &g, NULL));
cleanup:
    if (kt) clReleaseKernel(kt);
    if (ka) clReleaseKernel(ka);
    if (km) clReleaseKernel(km);
    return st;
}

cr_status cr_denoise_binned_dev(cr_denoiser *d, cl_mem binned, int bx, int by, int tile, int tta, cl_mem out)
{
    cr_status st = CR_OK;
    const cr_arch *a = cr_waunet_arch(d->net);
    cr_runtime *rt = cr_nn_runtime(cr_waunet_nn(d->net));
    int q = 1 << a->levels;
    int px = (bx + q - 1) / q * q, py = (by + q - 1) / q * q, ox = (px - bx) / 2, oy = (py - by) / 2;
    size_t np = (size_t)px * py;
    int padded = px != bx || py != by;
    cl_mem pad = binned, res = out;
    cr_tile_plan plan = {0}, plan_t = {0};
    if (padded) {
        /* the border takes the image's mean, the value the network sees most */
        double mean = 0, sd = 0;
        CR_TRY(cr_mean_std(d->fw, binned, (size_t)bx * by, &mean, &sd));
        float m = (float)mean;
        CR_TRY(cr_fourier_workspace(d->fw, CR_WS_PAD, np * F4, &pad));
        CR_TRY(cr_fourier_workspace(d->fw, CR_WS_RES, np * F4, &res));
        int err = clEnqueueFillBuffer(rt->queue, pad, &m, F4, 0, np * F4, 0, NULL, NULL);
        if (err) {
            st = cr_fail_device(rt, err, "clEnqueueFillBuffer", "padded binned micrograph", __FILE__, __LINE__);
            goto cleanup;
        }
        CR_TRY(copy_rect(rt, binned, 0, bx, 0, 0, pad, 0, px, oy, ox, by, bx, "padded binned micrograph"));
    }
    if (tile <= 0) tile = cr_denoise_auto_tile(d, px, py);
    CR_TRY(cr_tile_plan_make(py, px, tile, d->margin, q, &plan));
    if (!tta) {
        CR_TRY(net_tiles(d, &plan, pad, res));
    } else {
        CR_TRY(cr_tile_plan_make(px, py, tile, d->margin, q, &plan_t));
        CR_TRY(net_tta(d, &plan, &plan_t, pad, py, px, res));
    }
    if (padded) CR_TRY(copy_rect(rt, res, 0, px, oy, ox, out, 0, bx, 0, 0, by, bx, "denoised binned micrograph"));
cleanup:
    cr_tile_plan_free(&plan);
    cr_tile_plan_free(&plan_t);
    return st;
}

cr_status cr_denoise_binned(cr_denoiser *d, const float *binned, int bx, int by, int tile, int tta, float *out)
{
    cr_status st = CR_OK;
    cr_runtime *rt = cr_nn_runtime(cr_waunet_nn(d->net));
    cl_mem in = NULL, res = NULL;
    size_t bytes = (size_t)bx * by * F4;
    CR_TRY(cr_fourier_workspace(d->fw, CR_WS_BINNED, bytes, &in));
    CR_TRY(cr_fourier_workspace(d->fw, CR_WS_DEN, bytes, &res));
    CR_TRY(cr_buffer_write(rt, in, 0, bytes, binned));
    CR_TRY(cr_denoise_binned_dev(d, in, bx, by, tile, tta, res));
    CR_TRY(cr_buffer_read(rt, res, 0, bytes, out));
cleanup:
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
    cr_runtime *rt = cr_nn_runtime(cr_waunet_nn(d->net));
    float *braw = NULL, *bden = NULL;
    cl_mem dimg = NULL, dbin = NULL, dden = NULL, dout = NULL;
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
    CR_TRY(cr_binned_shape(nx, ny, apix, o->max_resolution, &bx, &by, &bapix));
    CR_TRY(cr_denoise_check_apix(o->model_apix, bapix, apix, o->max_resolution));
    size_t n = (size_t)nx * ny, b = (size_t)bx * by;
    if ((binned_raw && !(braw = malloc(b * F4))) || (binned_den && !(bden = malloc(b * F4)))) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory for a %dx%d binned image", bx, by);
        goto cleanup;
    }
    CR_TRY(cr_fourier_workspace(d->fw, CR_WS_IMAGE, n * F4, &dimg));
    CR_TRY(cr_fourier_workspace(d->fw, CR_WS_BINNED, b * F4, &dbin));
    CR_TRY(cr_fourier_workspace(d->fw, CR_WS_DEN, b * F4, &dden));
    CR_TRY(cr_fourier_workspace(d->fw, CR_WS_OUT, n * F4, &dout));
    CR_TRY(cr_buffer_write(rt, dimg, 0, n * F4, img));
    CR_TRY(cr_preprocess_dev(d->fw, dimg, nx, ny, &po, dbin, bx, by));
    CR_TRY(cr_denoise_binned_dev(d, dbin, bx, by, o->tile, o->tta, dden));
    cr_unbin_opts uo;
    cr_unbin_opts_default(&uo);
    uo.apix = apix;
    uo.merge_resolution = o->merge_resolution;
    uo.merge_width = o->merge_width;
    uo.merge_noisy = o->merge_noisy;
    uo.phaseflipped = o->phaseflip;
    uo.flip_back = o->flip_back && o->phaseflip;
    uo.ctf = ctf;
    CR_TRY(cr_unbin_dev(d->fw, dden, bx, by, o->merge_noisy ? dimg : NULL, nx, ny, &uo, dout));
    CR_TRY(cr_buffer_read(rt, dout, 0, n * F4, out));
    /* the binned images only when asked (previews) */
    if (braw) CR_TRY(cr_buffer_read(rt, dbin, 0, b * F4, braw));
    if (bden) CR_TRY(cr_buffer_read(rt, dden, 0, b * F4, bden));
    if (pbx) *pbx = bx;
    if (pby) *pby = by;
    if (binned_raw) *binned_raw = braw, braw = NULL;
    if (binned_den) *binned_den = bden, bden = NULL;
cleanup:
    free(braw);
    free(bden);
    return st;
}
