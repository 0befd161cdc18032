/* Host side of kernels/conv_local.cl, the work-group tiled (local memory, GPU-shaped) variant
 * of the convolution engine: tunable checks against the device, and the forward and
 * backward-input launch sequences. The weights and the padded input are prepared by
 * conv_fast.c's kernels (conv_local.h); the weight gradient stays with conv_fast.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_local.h"

#define CL_FILE_LOCAL "conv_local.cl"

static int round_up(int a, int m) { return (a + m - 1) / m * m; }
static int div_up(int a, int m) { return (a + m - 1) / m; }

size_t cr_conv_local_lmem_bytes(const cr_conv_tiles *t)
{
    /* conv_lfwd's three __local arrays: als, bls (floats), colb (ints) */
    return ((size_t)t->lm_kwg * (t->lm_mwg + t->lm_nwg)) * sizeof(float) + (size_t)t->lm_nwg * sizeof(int);
}

cr_status cr_conv_local_check(const cr_conv_tiles *t, const cr_device_desc *dev)
{
    int mwg = t->lm_mwg, nwg = t->lm_nwg, kwg = t->lm_kwg, md = t->lm_mdimc, nd = t->lm_ndimc, vw = t->lm_vwm;
    if (mwg < 1 || nwg < 1 || kwg < 1 || md < 1 || nd < 1 || !(vw == 1 || vw == 2 || vw == 4 || vw == 8))
        return cr_fail(CR_ERR_ARG,
                       "conv local variant: tunables must be positive and lm_vwm 1, 2, 4 or 8 (mwg %d nwg %d kwg %d "
                       "mdimc %d ndimc %d vwm %d)", mwg, nwg, kwg, md, nd, vw);
    long nt = (long)md * nd;
    if (mwg % md || nwg % nd)
        return cr_fail(CR_ERR_ARG, "conv local variant: lm_mwg %d must be a multiple of lm_mdimc %d and lm_nwg %d of "
                       "lm_ndimc %d", mwg, md, nwg, nd);
    if (mwg % vw || ((long)kwg * mwg) % (nt * vw))
        return cr_fail(CR_ERR_ARG, "conv local variant: the weight slice lm_kwg x lm_mwg = %d x %d must split into "
                       "vectors of lm_vwm %d, an equal number for each of the %ld work-items", kwg, mwg, vw, nt);
    if (((long)kwg * nwg) % nt)
        return cr_fail(CR_ERR_ARG, "conv local variant: the input slice lm_kwg x lm_nwg = %d x %d must be a "
                       "multiple of the %ld work-items", kwg, nwg, nt);
    if ((mwg / md) * (nwg / nd) > 256)
        return cr_fail(CR_ERR_ARG, "conv local variant: %d x %d accumulators per work-item is more than 256",
                       mwg / md, nwg / nd);
    if (dev && (size_t)nt > dev->max_work_group)
        return cr_fail(CR_ERR_ARG, "conv local variant: work-groups of %ld work-items, device %s allows %zu", nt,
                       dev->device_name, dev->max_work_group);
    size_t lmem = cr_conv_local_lmem_bytes(t);
    if (dev && lmem > dev->local_mem)
        return cr_fail(CR_ERR_ARG, "conv local variant: a work-group needs %zu bytes of local memory, device %s has %lu",
                       lmem, dev->device_name, (unsigned long)dev->local_mem);
    return CR_OK;
}

cr_status cr_conv_local_variant_from_env(cr_conv_tiles *t)
{
    const char *v = getenv("CLRESTORE_CONV_VARIANT");
    if (!v || !*v || !strcmp(v, "register")) return CR_OK; /* the configured (default) variant */
    if (!strcmp(v, "local")) { /* forward, dX and dW */
        t->fwd_variant = 1;
        t->dw_variant = 1;
        return CR_OK;
    }
    return cr_fail(CR_ERR_ARG, "CLRESTORE_CONV_VARIANT=%s: expected \"register\" or \"local\"", v);
}

void cr_conv_local_scratch_need(const cr_conv_tiles *t, int pass, const cr_conv_geom *G, cr_conv_scratch *out)
{
    int n = G->n, cin = G->cin, h = G->h, w_ = G->w, cout = G->cout, k = G->k, s = G->s;
    int plain = k == 1 && s == 1;
    memset(out, 0, sizeof *out);
    if (pass == 0) {
        out->wt = (size_t)cin * k * k * round_up(cout, t->lm_mwg) * sizeof(float);
        if (!plain) out->pad = (size_t)n * cin * ((G->ho - 1) * s + k) * s * (G->wo + (k - 1) / s) * sizeof(float);
    } else if (pass == 1) {
        out->wt = (size_t)cout * k * k * round_up(cin, t->lm_mwg) * sizeof(float);
        if (!plain) out->pad = (size_t)n * cout * (h + k - 1) * (w_ + k - 1) * sizeof(float);
    }
}

/* The built kernel may allow fewer work-items per group than the device (registers, local
 * memory): CR_ERR_ARG naming the kernel and its options when nt is more. */
static cr_status kernel_fits(cr_runtime *rt, cl_kernel kr, size_t nt, const char *what, const char *name,
                             const char *opts)
{
    size_t kwg_max = 0;
    cl_int err = clGetKernelWorkGroupInfo(kr, rt->dev.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kwg_max, &kwg_max,
                                          NULL);
    if (err != CL_SUCCESS) return cr_fail_cl(err, "clGetKernelWorkGroupInfo", name, __FILE__, __LINE__);
    if (nt > kwg_max)
        return cr_fail(CR_ERR_ARG, "%s: work-groups of %zu work-items, %s (%s) allows %zu on %s", what, nt, name, opts,
                       kwg_max, rt->dev.device_name);
    return CR_OK;
}

/* conv_lfwd over a prepared input: the raw one (1x1 stride 1: hout = 1, wout = h*w, hp = 1,
 * wq = h*w) or conv_pad's copy. wt holds cin x k*k rows of cout_pad channels. */
static cr_status run_lfwd(cr_conv_fast *cf, const cr_conv_tiles *t, const cr_tensor *y, cl_mem xbuf, size_t xoff, cl_mem wt,
                          const cr_tensor *b, const cr_tensor *res, int flags, int n, int cin, int cout, int cout_pad,
                          int hout, int wout, int hp, int wq, int k, int s)
{
    cr_runtime *rt = cr_conv_fast_runtime(cf);
    char opts[200];
    snprintf(opts, sizeof opts,
             "-DCONV_K=%d -DCONV_S=%d -DLM_MWG=%d -DLM_NWG=%d -DLM_KWG=%d -DLM_MDIMC=%d -DLM_NDIMC=%d -DLM_VWM=%d", k,
             s, t->lm_mwg, t->lm_nwg, t->lm_kwg, t->lm_mdimc, t->lm_ndimc, t->lm_vwm);
    cl_kernel kr;
    cr_status st = cr_kernel_get(rt, CL_FILE_LOCAL, "conv_lfwd", opts, &kr);
    if (st || (st = kernel_fits(rt, kr, (size_t)t->lm_mdimc * t->lm_ndimc, "conv local variant", "conv_lfwd", opts)))
        return st;
    cl_mem bb = b ? b->buf : wt, rr = res ? res->buf : wt; /* unused when the flag is off */
    int y_off = (int)y->off, x_off = (int)xoff, b_off = b ? (int)b->off : 0, r_off = res ? (int)res->off : 0;
    if ((st = cr_kernel_args(kr, 17, sizeof(cl_mem), &y->buf, sizeof(int), &y_off, sizeof(cl_mem), &xbuf,
                             sizeof(int), &x_off, sizeof(cl_mem), &wt, sizeof(cl_mem), &bb, sizeof(int), &b_off,
                             sizeof(cl_mem), &rr, sizeof(int), &r_off, sizeof(int), &flags, sizeof(int), &cin,
                             sizeof(int), &cout, sizeof(int), &cout_pad, sizeof(int), &hout, sizeof(int), &wout,
                             sizeof(int), &hp, sizeof(int), &wq)))
        return st;
    size_t global[3] = {(size_t)div_up(hout * wout, t->lm_nwg) * t->lm_ndimc,
                        (size_t)(cout_pad / t->lm_mwg) * t->lm_mdimc, (size_t)n};
    size_t local[3] = {(size_t)t->lm_ndimc, (size_t)t->lm_mdimc, 1};
    return cr_enqueue(rt, kr, 3, global, local);
}

/* The caller (cr_conv_fast_forward) has checked the shape and the buffer extents. */
cr_status cr_conv_local_forward(cr_conv_fast *cf, const cr_conv_tiles *t, const cr_conv_geom *G, const cr_tensor *y, const cr_tensor *x,
                                const cr_tensor *w, const cr_tensor *b, const cr_tensor *res, int relu)
{
    cr_runtime *rt = cr_conv_fast_runtime(cf);
    int n = G->n, cin = G->cin, h = G->h, w_ = G->w, cout = G->cout, k = G->k, s = G->s;
    cr_status st = cr_conv_local_check(t, &rt->dev);
    if (st) return st;
    if (b && !b->buf) b = NULL;
    if (res && !res->buf) res = NULL;
    int cout_pad = round_up(cout, t->lm_mwg);
    int flags = (b ? CR_CONV_FLAG_BIAS : 0) | (relu ? CR_CONV_FLAG_RELU : 0) | (res ? CR_CONV_FLAG_RESIDUAL : 0);
    cl_mem wt, pad;
    if ((st = cr_conv_fast_gemm_weights(cf, w, cout, cin, k, cout_pad, 0, &wt))) return st;
    if (k == 1 && s == 1) /* the H*W plane as one row, read in place */
        return run_lfwd(cf, t, y, x->buf, x->off, wt, b, res, flags, n, cin, cout, cout_pad, 1, h * w_, 1, h * w_, 1, 1);
    /* rows (ho-1)*s + k; each phase row reaches column wo - 1 + (k-1)/s (no vector overhang) */
    int hp = (G->ho - 1) * s + k, wq = G->wo + (k - 1) / s;
    if ((st = cr_conv_fast_padded_input(cf, x, n * cin, h, w_, hp, s, wq, G->pad_y, G->pad_x, 1, &pad))) return st;
    return run_lfwd(cf, t, y, pad, 0, wt, b, res, flags, n, cin, cout, cout_pad, G->ho, G->wo, hp, wq, k, s);
}

/* dx = conv(dilate(dy, s), flip(w)^T) at stride 1 with padding k-1-pad_before, as
 * cr_conv_fast_backward_input; accumulate is the residual flag with res = dx. */
cr_status cr_conv_local_backward_input(cr_conv_fast *cf, const cr_conv_tiles *t, const cr_conv_geom *G, const cr_tensor *dx,
                                       const cr_tensor *dy, const cr_tensor *w, int accumulate)
{
    cr_runtime *rt = cr_conv_fast_runtime(cf);
    int n = G->n, cin = G->cin, h = G->h, w_ = G->w, cout = G->cout, k = G->k, s = G->s;
    cr_status st = cr_conv_local_check(t, &rt->dev);
    if (st) return st;
    int cin_pad = round_up(cin, t->lm_mwg);
    int flags = accumulate ? CR_CONV_FLAG_RESIDUAL : 0;
    const cr_tensor *res = accumulate ? dx : NULL;
    cl_mem wt, pad;
    if ((st = cr_conv_fast_gemm_weights(cf, w, cout, cin, k, cin_pad, 1, &wt))) return st;
    if (k == 1 && s == 1)
        return run_lfwd(cf, t, dx, dy->buf, dy->off, wt, NULL, res, flags, n, cout, cin, cin_pad, 1, h * w_, 1, h * w_,
                        1, 1);
    int hp = h + k - 1, wq = w_ + k - 1;
    if ((st = cr_conv_fast_padded_input(cf, dy, n * cout, G->ho, G->wo, hp, 1, wq, k - 1 - G->pad_y,
                                        k - 1 - G->pad_x, s, &pad)))
        return st;
    return run_lfwd(cf, t, dx, pad, 0, wt, NULL, res, flags, n, cout, cin, cin_pad, h, w_, hp, wq, k, 1);
}

/* ---- the weight gradient by work-group tiles (dw_variant 1, kernels/conv_ldw.cl) ---- */

#define CL_FILE_LDW "conv_ldw.cl"

static size_t ldw_lmem_bytes(const cr_conv_tiles *t)
{
    /* conv_ldw's two __local slices, one padding word per pixel each */
    return (size_t)t->ld_kwg * (t->ld_mwg + 1 + t->ld_nwg + 1) * sizeof(float);
}

cr_status cr_conv_ldw_check(const cr_conv_tiles *t, const cr_device_desc *dev)
{
    int mwg = t->ld_mwg, nwg = t->ld_nwg, kwg = t->ld_kwg, md = t->ld_mdimc, nd = t->ld_ndimc;
    if (mwg < 1 || nwg < 1 || kwg < 1 || md < 1 || nd < 1)
        return cr_fail(CR_ERR_ARG, "conv local dW: tunables must be positive (ld_mwg %d ld_nwg %d ld_kwg %d ld_mdimc %d "
                       "ld_ndimc %d)", mwg, nwg, kwg, md, nd);
    long nt = (long)md * nd;
    if (mwg % md || nwg % nd)
        return cr_fail(CR_ERR_ARG, "conv local dW: ld_mwg %d must be a multiple of ld_mdimc %d and ld_nwg %d of "
                       "ld_ndimc %d", mwg, md, nwg, nd);
    /* each work-item stages one pixel column of nt / kwg rows per pass */
    if (nt % kwg || mwg % (nt / kwg) || nwg % (nt / kwg))
        return cr_fail(CR_ERR_ARG, "conv local dW: ld_kwg %d must divide the %ld work-items, and ld_mwg %d and ld_nwg "
                       "%d must be multiples of their quotient", kwg, nt, mwg, nwg);
    if ((mwg / md) * (nwg / nd) > 256)
        return cr_fail(CR_ERR_ARG, "conv local dW: %d x %d accumulators per work-item is more than 256", mwg / md,
                       nwg / nd);
    if (dev && (size_t)nt > dev->max_work_group)
        return cr_fail(CR_ERR_ARG, "conv local dW: work-groups of %ld work-items, device %s allows %zu", nt,
                       dev->device_name, dev->max_work_group);
    if (dev && ldw_lmem_bytes(t) > dev->local_mem)
        return cr_fail(CR_ERR_ARG, "conv local dW: a work-group needs %zu bytes of local memory, device %s has %lu",
                       ldw_lmem_bytes(t), dev->device_name, (unsigned long)dev->local_mem);
    return CR_OK;
}

/* Pixel chunks: enough work-groups for the device (dw_items_per_cu work-items per compute
 * unit), none longer than dw_chunk_px, partial sums within dw_max_partial_mib; a chunk is a
 * whole number of slices. */
typedef struct ldw_plan {
    int chunks, chunk_px, npix;
    int hp, wq; /* conv_pad's geometry (k > 1 or stride 2) */
} ldw_plan;

static ldw_plan plan_ldw(const cr_conv_tiles *t, int compute_units, const cr_conv_geom *G)
{
    ldw_plan d;
    int R = G->cin * G->k * G->k, kwg = t->ld_kwg;
    d.npix = G->n * G->ho * G->wo;
    d.hp = (G->ho - 1) * G->s + G->k, d.wq = G->wo + (G->k - 1) / G->s;
    size_t tiles = (size_t)div_up(R, t->ld_nwg) * div_up(G->cout, t->ld_mwg);
    size_t nt = (size_t)t->ld_mdimc * t->ld_ndimc;
    size_t groups = ((size_t)t->dw_items_per_cu * (compute_units > 0 ? compute_units : 1) + nt - 1) / nt;
    size_t chunks = (groups + tiles - 1) / tiles;
    size_t by_px = (size_t)div_up(d.npix, t->dw_chunk_px > 0 ? t->dw_chunk_px : 1);
    if (by_px > chunks) chunks = by_px;
    size_t cap = ((size_t)t->dw_max_partial_mib << 20) / ((size_t)G->cout * R * sizeof(float));
    if (chunks > cap) chunks = cap;
    if (chunks > (size_t)div_up(d.npix, kwg)) chunks = (size_t)div_up(d.npix, kwg);
    if (chunks < 1) chunks = 1;
    d.chunk_px = round_up(div_up(d.npix, (int)chunks), kwg);
    d.chunks = div_up(d.npix, d.chunk_px);
    return d;
}

void cr_conv_ldw_scratch_need(const cr_conv_tiles *t, int compute_units, const cr_conv_geom *G, cr_conv_scratch *out)
{
    ldw_plan d = plan_ldw(t, compute_units, G);
    memset(out, 0, sizeof *out);
    if (!(G->k == 1 && G->s == 1)) out->pad = (size_t)G->n * G->cin * d.hp * G->s * d.wq * sizeof(float);
    if (d.chunks > 1) out->part = (size_t)d.chunks * G->cout * G->cin * G->k * G->k * sizeof(float);
}

cr_status cr_conv_local_backward_weights(cr_conv_fast *cf, const cr_conv_tiles *t, const cr_conv_geom *G,
                                         const cr_tensor *dw, const cr_tensor *dy, const cr_tensor *x)
{
    cr_runtime *rt = cr_conv_fast_runtime(cf);
    int n = G->n, cin = G->cin, h = G->h, w_ = G->w, cout = G->cout, k = G->k, s = G->s;
    cr_status st = cr_conv_ldw_check(t, &rt->dev);
    if (st) return st;
    ldw_plan d = plan_ldw(t, (int)rt->dev.compute_units, G);
    /* the input as conv_lfwd reads it: raw for 1x1 stride 1, else conv_pad's copy */
    cl_mem xbuf = x->buf;
    int x_off = (int)x->off, hout = G->ho, wout = G->wo, hp = d.hp, wq = d.wq;
    if (k == 1 && s == 1) {
        hout = 1, wout = h * w_, hp = 1, wq = h * w_;
    } else {
        if ((st = cr_conv_fast_padded_input(cf, x, n * cin, h, w_, d.hp, s, d.wq, G->pad_y, G->pad_x, 1, &xbuf)))
            return st;
        x_off = 0;
    }
    int R = cin * k * k, direct = d.chunks == 1, len = cout * R;
    cl_mem out = dw->buf, part = NULL;
    int out_off = (int)dw->off;
    if (!direct) {
        if ((st = cr_conv_fast_part_scratch(cf, (size_t)d.chunks * len * sizeof(float), &part))) return st;
        out = part, out_off = 0;
    }
    char opts[160];
    snprintf(opts, sizeof opts, "-DCONV_K=%d -DCONV_S=%d -DLD_MWG=%d -DLD_NWG=%d -DLD_KWG=%d -DLD_MDIMC=%d -DLD_NDIMC=%d",
             k, s, t->ld_mwg, t->ld_nwg, t->ld_kwg, t->ld_mdimc, t->ld_ndimc);
    cl_kernel kr;
    if ((st = cr_kernel_get(rt, CL_FILE_LDW, "conv_ldw", opts, &kr)) ||
        (st = kernel_fits(rt, kr, (size_t)t->ld_mdimc * t->ld_ndimc, "conv local dW", "conv_ldw", opts)))
        return st;
    int dy_off = (int)dy->off;
    if ((st = cr_kernel_args(kr, 15, sizeof(cl_mem), &out, sizeof(int), &out_off, sizeof(cl_mem), &dy->buf,
                             sizeof(int), &dy_off, sizeof(cl_mem), &xbuf, sizeof(int), &x_off, sizeof(int), &direct,
                             sizeof(int), &cin, sizeof(int), &cout, sizeof(int), &hout, sizeof(int), &wout,
                             sizeof(int), &hp, sizeof(int), &wq, sizeof(int), &d.npix, sizeof(int), &d.chunk_px)))
        return st;
    size_t global[3] = {(size_t)div_up(R, t->ld_nwg) * t->ld_ndimc, (size_t)div_up(cout, t->ld_mwg) * t->ld_mdimc,
                        (size_t)d.chunks};
    size_t local[3] = {(size_t)t->ld_ndimc, (size_t)t->ld_mdimc, 1};
    if ((st = cr_enqueue(rt, kr, 3, global, local))) return st;
    return direct ? CR_OK : cr_conv_fast_fold_partials(cf, dw, part, len, d.chunks);
}
