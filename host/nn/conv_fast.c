/* Host side of kernels/conv_gemm.cl: geometry (TF "same" padding), scratch buffers that
 * grow once and are reused, a small cache of kernel objects keyed by (name, build options),
 * and the launch sequences for forward, backward-input and backward-weights. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/conv_fast.h"

#define CF_MAX_KERNELS 48
#define CF_FILE "conv_gemm.cl"
/* kernel flags, as in conv_gemm.cl */
#define FLAG_BIAS 1
#define FLAG_RELU 2
#define FLAG_RESIDUAL 4

typedef struct cf_kernel {
    char key[200]; /* "name|options" */
    cl_kernel k;
} cf_kernel;

struct conv_fast {
    cr_runtime *rt;
    conv_fast_tiles tiles;
    cl_mem wt, pad, part; /* transposed weights, padded input, dW partial sums */
    size_t wt_bytes, pad_bytes, part_bytes;
    cf_kernel kernels[CF_MAX_KERNELS];
    int nkernels;
};

static int round_up(int a, int m) { return (a + m - 1) / m * m; }
static int div_up(int a, int m) { return (a + m - 1) / m; }

void conv_fast_geometry(int in, int k, int stride, int *out, int *pad_before)
{
    int o = div_up(in, stride);
    int total = (o - 1) * stride + k - in;
    if (total < 0) total = 0;
    *out = o;
    *pad_before = total / 2;
}

cr_status conv_fast_create(cr_runtime *rt, conv_fast **out)
{
    conv_fast *cf = calloc(1, sizeof *cf);
    *out = NULL;
    if (!cf) return cr_fail(CR_ERR_NOMEM, "out of memory creating conv_fast");
    cf->rt = rt;
    /* Defaults measured with bench_conv on PoCL's CPU device (docs/perf-conv.md); on a GPU
     * the same register tiles are reasonable but want many more work-items. */
    int gpu = (rt->dev.type & CL_DEVICE_TYPE_GPU) != 0;
    cf->tiles = (conv_fast_tiles){
        .fwd_tm = 16,
        .fwd_vw = 16,
        .fwd_local = 16,
        .dw_tm = 4,
        .dw_tn = 6,
        .dw_vw = 16,
        .dw_local = gpu ? 32 : 1,
        .dw_min_items = (int)rt->dev.compute_units * (gpu ? 256 : 16),
        .dw_chunk_px = gpu ? 1 << 16 : 8192,
        .dw_max_partial_bytes = (size_t)64 << 20,
    };
    *out = cf;
    return CR_OK;
}

void conv_fast_free(conv_fast *cf)
{
    if (!cf) return;
    for (int i = 0; i < cf->nkernels; i++)
        if (cf->kernels[i].k) clReleaseKernel(cf->kernels[i].k);
    cr_buffer_release(cf->rt, &cf->wt);
    cr_buffer_release(cf->rt, &cf->pad);
    cr_buffer_release(cf->rt, &cf->part);
    free(cf);
}

conv_fast_tiles *conv_fast_tiles_of(conv_fast *cf) { return &cf->tiles; }

static cr_status get_kernel(conv_fast *cf, const char *name, const char *options, cl_kernel *out)
{
    char key[200];
    snprintf(key, sizeof key, "%s|%s", name, options);
    for (int i = 0; i < cf->nkernels; i++)
        if (strcmp(cf->kernels[i].key, key) == 0) {
            *out = cf->kernels[i].k;
            return CR_OK;
        }
    if (cf->nkernels == CF_MAX_KERNELS) { /* many tile sets tried (bench): recycle the oldest */
        clReleaseKernel(cf->kernels[0].k);
        memmove(cf->kernels, cf->kernels + 1, (CF_MAX_KERNELS - 1) * sizeof cf->kernels[0]);
        cf->nkernels--;
    }
    cr_status st = cr_kernel_create(cf->rt, CF_FILE, name, options, out);
    if (st != CR_OK) return st;
    cf_kernel *e = &cf->kernels[cf->nkernels++];
    snprintf(e->key, sizeof e->key, "%s", key);
    e->k = *out;
    return CR_OK;
}

/* Grows a scratch buffer to at least bytes (contents are not kept). */
static cr_status scratch(conv_fast *cf, cl_mem *buf, size_t *have, size_t bytes, const char *what)
{
    if (*buf && *have >= bytes) return CR_OK;
    cr_buffer_release(cf->rt, buf);
    *have = 0;
    cr_status st = cr_buffer_create(cf->rt, bytes, what, buf);
    if (st == CR_OK) *have = bytes;
    return st;
}

static cr_status check_shape(int n, int cin, int h, int w, int cout, int k, int stride)
{
    if (n < 1 || cin < 1 || h < 1 || w < 1 || cout < 1 || k < 1 || k > 7 || stride < 1 || stride > 4)
        return cr_fail(CR_ERR_ARG, "conv_fast: bad shape n=%d cin=%d %dx%d cout=%d k=%d stride=%d", n,
                       cin, h, w, cout, k, stride);
    return CR_OK;
}

static const char *simple_opts = ""; /* prep/pad/reduce/db do not depend on the tiles */

/* wt = weights rearranged for the GEMM (mode 0 forward, 1 backward-input). */
static cr_status prep_weights(conv_fast *cf, cl_mem w, int cout, int cin, int k, int cout_pad, int mode)
{
    cr_status st;
    cl_kernel kr;
    int kk = k * k, cin_t = mode ? cout : cin;
    size_t count = (size_t)cin_t * kk * cout_pad;
    if ((st = scratch(cf, &cf->wt, &cf->wt_bytes, count * sizeof(float), "conv weights (GEMM order)")) ||
        (st = get_kernel(cf, "conv_prep_weights", simple_opts, &kr)) ||
        (st = cr_kernel_args(kr, 7, sizeof(cl_mem), &cf->wt, sizeof(cl_mem), &w, sizeof(int), &cout,
                             sizeof(int), &cin, sizeof(int), &kk, sizeof(int), &cout_pad, sizeof(int), &mode)))
        return st;
    size_t local = 64, global = count;
    return cr_enqueue(cf->rt, kr, 1, &global, &local);
}

/* Padded copy geometry: hp rows, s phases of wq columns. */
typedef struct pad_geom {
    int hp, s, wq, pt, pl, dil;
} pad_geom;

static cr_status pad_input(conv_fast *cf, cl_mem src, int nc, int h, int w, pad_geom g)
{
    cr_status st;
    cl_kernel kr;
    size_t count = (size_t)nc * g.hp * g.s * g.wq;
    if ((st = scratch(cf, &cf->pad, &cf->pad_bytes, count * sizeof(float), "conv padded input")) ||
        (st = get_kernel(cf, "conv_pad", simple_opts, &kr)) ||
        (st = cr_kernel_args(kr, 11, sizeof(cl_mem), &cf->pad, sizeof(cl_mem), &src, sizeof(int), &nc,
                             sizeof(int), &h, sizeof(int), &w, sizeof(int), &g.hp, sizeof(int), &g.s,
                             sizeof(int), &g.wq, sizeof(int), &g.pt, sizeof(int), &g.pl, sizeof(int), &g.dil)))
        return st;
    size_t global[3] = {(size_t)div_up(g.wq, 8), (size_t)g.hp * g.s, (size_t)nc};
    return cr_enqueue(cf->rt, kr, 3, global, NULL);
}

/* The forward GEMM over an already prepared input (padded, or raw for the direct case). */
static cr_status run_fwd(conv_fast *cf, cl_mem y, cl_mem xsrc, cl_mem b, cl_mem res, int flags, int n,
                         int cin, int cout, int cout_pad, int hout, int wout, int hp, int wq, int k, int s)
{
    const conv_fast_tiles *t = &cf->tiles;
    char opts[160];
    snprintf(opts, sizeof opts, "-DCONV_K=%d -DCONV_S=%d -DCONV_TM=%d -DCONV_VW=%d", k, s, t->fwd_tm,
             t->fwd_vw);
    cl_kernel kr;
    cr_status st = get_kernel(cf, "conv_fwd", opts, &kr);
    if (st) return st;
    cl_mem bb = b ? b : cf->wt, rr = res ? res : cf->wt; /* unused when the flag is off */
    if ((st = cr_kernel_args(kr, 13, sizeof(cl_mem), &y, sizeof(cl_mem), &xsrc, sizeof(cl_mem), &cf->wt,
                             sizeof(cl_mem), &bb, sizeof(cl_mem), &rr, sizeof(int), &flags, sizeof(int), &cin,
                             sizeof(int), &cout, sizeof(int), &cout_pad, sizeof(int), &hout, sizeof(int),
                             &wout, sizeof(int), &hp, sizeof(int), &wq)))
        return st;
    size_t global[3] = {(size_t)(cout_pad / t->fwd_tm), (size_t)hout * div_up(wout, t->fwd_vw), (size_t)n};
    size_t local[3] = {1, (size_t)t->fwd_local, 1};
    return cr_enqueue(cf->rt, kr, 3, global, t->fwd_local > 0 ? local : NULL);
}

cr_status conv_fast_forward(conv_fast *cf, cl_mem y, cl_mem x, cl_mem w, cl_mem b, cl_mem residual, int relu,
                            int n, int cin, int h, int w_, int cout, int k, int stride)
{
    cr_status st = check_shape(n, cin, h, w_, cout, k, stride);
    if (st) return st;
    int ho, wo, pt, pl, vw = cf->tiles.fwd_vw;
    conv_fast_geometry(h, k, stride, &ho, &pt);
    conv_fast_geometry(w_, k, stride, &wo, &pl);
    int cout_pad = round_up(cout, cf->tiles.fwd_tm);
    int flags = (b ? FLAG_BIAS : 0) | (relu ? FLAG_RELU : 0) | (residual ? FLAG_RESIDUAL : 0);
    if ((st = prep_weights(cf, w, cout, cin, k, cout_pad, 0))) return st;
    if (k == 1 && stride == 1) /* plain GEMM: the H*W plane is one long row */
        return run_fwd(cf, y, x, b, residual, flags, n, cin, cout, cout_pad, 1, h * w_, 1, h * w_, 1, 1);
    /* rows (ho-1)*s + k; each phase row holds every vector's reach: round_up(wo, vw) + (k-1)/s */
    pad_geom g = {(ho - 1) * stride + k, stride, round_up(wo, vw) + (k - 1) / stride, pt, pl, 1};
    if ((st = pad_input(cf, x, n * cin, h, w_, g))) return st;
    return run_fwd(cf, y, cf->pad, b, residual, flags, n, cin, cout, cout_pad, ho, wo, g.hp, g.wq, k, stride);
}

cr_status conv_fast_backward_input(conv_fast *cf, cl_mem dx, cl_mem dy, cl_mem w, int accumulate, int n,
                                   int cin, int h, int w_, int cout, int k, int stride)
{
    cr_status st = check_shape(n, cin, h, w_, cout, k, stride);
    if (st) return st;
    int ho, wo, pt, pl, vw = cf->tiles.fwd_vw;
    conv_fast_geometry(h, k, stride, &ho, &pt);
    conv_fast_geometry(w_, k, stride, &wo, &pl);
    /* dx = conv(dilate(dy, stride), flip(w)^T), stride 1, padding before k-1-pad_before */
    int cin_pad = round_up(cin, cf->tiles.fwd_tm);
    int flags = accumulate ? FLAG_RESIDUAL : 0;
    cl_mem res = accumulate ? dx : NULL;
    if ((st = prep_weights(cf, w, cout, cin, k, cin_pad, 1))) return st;
    if (k == 1 && stride == 1)
        return run_fwd(cf, dx, dy, NULL, res, flags, n, cout, cin, cin_pad, 1, h * w_, 1, h * w_, 1, 1);
    pad_geom g = {h + k - 1, 1, round_up(w_, vw) + k - 1, k - 1 - pt, k - 1 - pl, stride};
    if ((st = pad_input(cf, dy, n * cout, ho, wo, g))) return st;
    return run_fwd(cf, dx, cf->pad, NULL, res, flags, n, cout, cin, cin_pad, h, w_, g.hp, g.wq, k, 1);
}

cr_status conv_fast_backward_weights(conv_fast *cf, cl_mem dw, cl_mem db, cl_mem dy, cl_mem x, int n, int cin,
                                     int h, int w_, int cout, int k, int stride)
{
    cr_status st = check_shape(n, cin, h, w_, cout, k, stride);
    if (st) return st;
    const conv_fast_tiles *t = &cf->tiles;
    int ho, wo, pt, pl;
    conv_fast_geometry(h, k, stride, &ho, &pt);
    conv_fast_geometry(w_, k, stride, &wo, &pl);
    cl_mem xsrc = x;
    int hout = 1, wout = h * w_, hp = 1, wq = h * w_; /* the direct 1x1 view */
    /* A row that the vector width does not divide ends in a masked step, slow enough to
     * halve the speed at 24^2 with float16: narrow the vector while that helps. */
    int vw = t->dw_vw;
    while (vw > 4 && (k == 1 && stride == 1 ? h * w_ : wo) % vw != 0) vw /= 2;
    if (!(k == 1 && stride == 1)) {
        pad_geom g = {(ho - 1) * stride + k, stride, round_up(wo, vw) + (k - 1) / stride, pt, pl, 1};
        if ((st = pad_input(cf, x, n * cin, h, w_, g))) return st;
        xsrc = cf->pad;
        hout = ho, wout = wo, hp = g.hp, wq = g.wq;
    }
    int kw_total = cin * k * k;
    int steps = n * hout * div_up(wout, vw);
    size_t tiles = (size_t)div_up(kw_total, t->dw_tn) * div_up(cout, t->dw_tm);
    /* Split the pixel reduction into chunks: enough work-items for the device, chunks small
     * enough to stay in cache, partial sums within the memory cap. */
    int chunks = (int)((t->dw_min_items + tiles - 1) / tiles);
    int by_px = div_up(steps * vw, t->dw_chunk_px > 0 ? t->dw_chunk_px : 1);
    if (by_px > chunks) chunks = by_px;
    size_t slice = (size_t)cout * kw_total * sizeof(float);
    size_t cap = t->dw_max_partial_bytes / slice;
    if ((size_t)chunks > cap) chunks = (int)cap;
    if (chunks > steps) chunks = steps;
    if (chunks < 1) chunks = 1;
    int chunk_steps = div_up(steps, chunks);
    chunks = div_up(steps, chunk_steps);
    int direct = chunks == 1;
    if (!direct && (st = scratch(cf, &cf->part, &cf->part_bytes, slice * chunks, "conv dW partial sums")))
        return st;

    char opts[160];
    snprintf(opts, sizeof opts, "-DCONV_K=%d -DCONV_S=%d -DDW_TM=%d -DDW_TN=%d -DDW_VW=%d", k, stride,
             t->dw_tm, t->dw_tn, vw);
    cl_kernel kr;
    cl_mem out = direct ? dw : cf->part;
    if ((st = get_kernel(cf, "conv_dw", opts, &kr)) ||
        (st = cr_kernel_args(kr, 12, sizeof(cl_mem), &out, sizeof(cl_mem), &dy, sizeof(cl_mem), &xsrc,
                             sizeof(int), &direct, sizeof(int), &cin, sizeof(int), &cout, sizeof(int), &hout,
                             sizeof(int), &wout, sizeof(int), &hp, sizeof(int), &wq, sizeof(int), &steps,
                             sizeof(int), &chunk_steps)))
        return st;
    size_t global[3] = {(size_t)div_up(kw_total, t->dw_tn), (size_t)div_up(cout, t->dw_tm), (size_t)chunks};
    size_t local[3] = {(size_t)t->dw_local, 1, 1};
    if ((st = cr_enqueue(cf->rt, kr, 3, global, t->dw_local > 0 ? local : NULL))) return st;
    if (!direct) {
        int len = cout * kw_total;
        if ((st = get_kernel(cf, "conv_reduce_add", simple_opts, &kr)) ||
            (st = cr_kernel_args(kr, 4, sizeof(cl_mem), &dw, sizeof(cl_mem), &cf->part, sizeof(int), &len,
                                 sizeof(int), &chunks)))
            return st;
        size_t g1 = (size_t)len, l1 = 64;
        if ((st = cr_enqueue(cf->rt, kr, 1, &g1, &l1))) return st;
    }
    if (db) {
        int pix = ho * wo;
        if ((st = get_kernel(cf, "conv_db", simple_opts, &kr)) ||
            (st = cr_kernel_args(kr, 5, sizeof(cl_mem), &db, sizeof(cl_mem), &dy, sizeof(int), &n, sizeof(int),
                                 &cout, sizeof(int), &pix)))
            return st;
        size_t g1 = (size_t)cout;
        if ((st = cr_enqueue(cf->rt, kr, 1, &g1, NULL))) return st;
    }
    return CR_OK;
}
