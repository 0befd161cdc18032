/* Host side of kernels/conv_gemm.cl: geometry (TF "same" padding), scratch buffers that
 * grow once and are reused, a small cache of kernel objects keyed by (name, build options),
 * and the launch sequences for forward, backward-input and backward-weights. */
#include <limits.h>
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

conv_fast_tiles conv_fast_default_tiles(const cr_runtime *rt)
{
    /* Defaults measured with bench_conv on PoCL's CPU device (docs/perf-conv.md); on a GPU
     * the same register tiles are reasonable but want many more work-items. */
    int gpu = (rt->dev.type & CL_DEVICE_TYPE_GPU) != 0;
    return (conv_fast_tiles){
        .fwd_tm = 16,
        .fwd_tm_fit = 1,
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
}

cr_status conv_fast_create(cr_runtime *rt, conv_fast **out)
{
    conv_fast *cf = calloc(1, sizeof *cf);
    *out = NULL;
    if (!cf) return cr_fail(CR_ERR_NOMEM, "out of memory creating conv_fast");
    cf->rt = rt;
    cf->tiles = conv_fast_default_tiles(rt);
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

/* Element offsets go to the kernels as int (they add them at entry). */
static cr_status check_mem(conv_fast_mem m, size_t count, const char *what)
{
    if (m.buf && m.off + count >= (size_t)INT_MAX)
        return cr_fail(CR_ERR_UNSUPPORTED, "conv_fast: %s ends %zu floats into its buffer, past what kernels index",
                       what, m.off + count);
    return CR_OK;
}

static const char *simple_opts = ""; /* prep/pad/reduce/db do not depend on the tiles */

/* wt = weights rearranged for the GEMM (mode 0 forward, 1 backward-input). */
static cr_status prep_weights(conv_fast *cf, conv_fast_mem w, int cout, int cin, int k, int cout_pad, int mode)
{
    int w_off = (int)w.off;
    cr_status st;
    cl_kernel kr;
    int kk = k * k, cin_t = mode ? cout : cin;
    size_t count = (size_t)cin_t * kk * cout_pad;
    if ((st = scratch(cf, &cf->wt, &cf->wt_bytes, count * sizeof(float), "conv weights (GEMM order)")) ||
        (st = get_kernel(cf, "conv_prep_weights", simple_opts, &kr)) ||
        (st = cr_kernel_args(kr, 8, sizeof(cl_mem), &cf->wt, sizeof(cl_mem), &w.buf, sizeof(int), &w_off,
                             sizeof(int), &cout,
                             sizeof(int), &cin, sizeof(int), &kk, sizeof(int), &cout_pad, sizeof(int), &mode)))
        return st;
    size_t local = 64, global = count;
    return cr_enqueue(cf->rt, kr, 1, &global, &local);
}

/* Padded copy geometry: hp rows, s phases of wq columns. */
typedef struct pad_geom {
    int hp, s, wq, pt, pl, dil;
} pad_geom;

static cr_status pad_input(conv_fast *cf, conv_fast_mem src, int nc, int h, int w, pad_geom g)
{
    int x_off = (int)src.off;
    cr_status st;
    cl_kernel kr;
    size_t count = (size_t)nc * g.hp * g.s * g.wq;
    if ((st = scratch(cf, &cf->pad, &cf->pad_bytes, count * sizeof(float), "conv padded input")) ||
        (st = get_kernel(cf, "conv_pad", simple_opts, &kr)) ||
        (st = cr_kernel_args(kr, 12, sizeof(cl_mem), &cf->pad, sizeof(cl_mem), &src.buf, sizeof(int), &x_off,
                             sizeof(int), &nc,
                             sizeof(int), &h, sizeof(int), &w, sizeof(int), &g.hp, sizeof(int), &g.s,
                             sizeof(int), &g.wq, sizeof(int), &g.pt, sizeof(int), &g.pl, sizeof(int), &g.dil)))
        return st;
    size_t global[3] = {(size_t)div_up(g.wq, 8), (size_t)g.hp * g.s, (size_t)nc};
    return cr_enqueue(cf->rt, kr, 3, global, NULL);
}

/* The forward GEMM over an already prepared input (padded, or raw for the direct case). */
/* Padding cout up to a multiple of CONV_TM is wasted work: 25 channels in blocks of 16 do
 * 32 channels' FMAs, 102 do 112, and the 1-channel output layer 16. Tiles of 13 (25 -> 26),
 * 17 (102 -> 102) or cout itself (< tm - 4) waste less; 17 accumulators still fit the 32
 * zmm registers. Ties keep the configured size. */
int conv_fast_pick_tm(const conv_fast_tiles *t, int cout)
{
    int tm = t->fwd_tm;
    if (!t->fwd_tm_fit) return tm;
    if (cout < tm - 4) return cout;
    int best = tm;
    for (int c = tm + 1; c >= tm - 4 && c >= 1; c--)
        if (round_up(cout, c) < round_up(cout, best)) best = c;
    return best;
}

static cr_status run_fwd(conv_fast *cf, conv_fast_mem y, conv_fast_mem xsrc, conv_fast_mem b,
                         conv_fast_mem res, int flags, int n,
                         int cin, int cout, int cout_pad, int hout, int wout, int hp, int wq, int k, int s)
{
    const conv_fast_tiles *t = &cf->tiles;
    int tm = conv_fast_pick_tm(t, cout);
    char opts[160];
    snprintf(opts, sizeof opts, "-DCONV_K=%d -DCONV_S=%d -DCONV_TM=%d -DCONV_VW=%d", k, s, tm,
             t->fwd_vw);
    cl_kernel kr;
    cr_status st = get_kernel(cf, "conv_fwd", opts, &kr);
    if (st) return st;
    cl_mem bb = b.buf ? b.buf : cf->wt, rr = res.buf ? res.buf : cf->wt; /* unused when the flag is off */
    int y_off = (int)y.off, x_off = (int)xsrc.off, b_off = b.buf ? (int)b.off : 0;
    int r_off = res.buf ? (int)res.off : 0;
    if ((st = cr_kernel_args(kr, 17, sizeof(cl_mem), &y.buf, sizeof(int), &y_off, sizeof(cl_mem), &xsrc.buf,
                             sizeof(int), &x_off, sizeof(cl_mem), &cf->wt, sizeof(cl_mem), &bb, sizeof(int),
                             &b_off, sizeof(cl_mem), &rr, sizeof(int), &r_off, sizeof(int), &flags, sizeof(int), &cin,
                             sizeof(int), &cout, sizeof(int), &cout_pad, sizeof(int), &hout, sizeof(int),
                             &wout, sizeof(int), &hp, sizeof(int), &wq)))
        return st;
    size_t global[3] = {(size_t)(cout_pad / tm), (size_t)hout * div_up(wout, t->fwd_vw), (size_t)n};
    size_t local[3] = {1, (size_t)t->fwd_local, 1};
    return cr_enqueue(cf->rt, kr, 3, global, t->fwd_local > 0 ? local : NULL);
}

cr_status conv_fast_forward(conv_fast *cf, conv_fast_mem y, conv_fast_mem x, conv_fast_mem w, conv_fast_mem b,
                            conv_fast_mem residual, int relu, int n, int cin, int h, int w_, int cout, int k,
                            int stride)
{
    cr_status st = check_shape(n, cin, h, w_, cout, k, stride);
    if (st) return st;
    int ho, wo, pt, pl, vw = cf->tiles.fwd_vw;
    conv_fast_geometry(h, k, stride, &ho, &pt);
    conv_fast_geometry(w_, k, stride, &wo, &pl);
    size_t ycount = (size_t)n * cout * ho * wo;
    if ((st = check_mem(y, ycount, "y")) || (st = check_mem(x, (size_t)n * cin * h * w_, "x")) ||
        (st = check_mem(w, (size_t)cout * cin * k * k, "w")) || (st = check_mem(b, (size_t)cout, "b")) ||
        (st = check_mem(residual, ycount, "residual")))
        return st;
    int cout_pad = round_up(cout, conv_fast_pick_tm(&cf->tiles, cout));
    int flags = (b.buf ? FLAG_BIAS : 0) | (relu ? FLAG_RELU : 0) | (residual.buf ? FLAG_RESIDUAL : 0);
    if ((st = prep_weights(cf, w, cout, cin, k, cout_pad, 0))) return st;
    if (k == 1 && stride == 1) /* plain GEMM: the H*W plane is one long row */
        return run_fwd(cf, y, x, b, residual, flags, n, cin, cout, cout_pad, 1, h * w_, 1, h * w_, 1, 1);
    /* rows (ho-1)*s + k; each phase row holds every vector's reach: round_up(wo, vw) + (k-1)/s */
    pad_geom g = {(ho - 1) * stride + k, stride, round_up(wo, vw) + (k - 1) / stride, pt, pl, 1};
    if ((st = pad_input(cf, x, n * cin, h, w_, g))) return st;
    return run_fwd(cf, y, cf_mem(cf->pad), b, residual, flags, n, cin, cout, cout_pad, ho, wo, g.hp, g.wq, k,
                   stride);
}

cr_status conv_fast_backward_input(conv_fast *cf, conv_fast_mem dx, conv_fast_mem dy, conv_fast_mem w,
                                   int accumulate, int n, int cin, int h, int w_, int cout, int k, int stride)
{
    cr_status st = check_shape(n, cin, h, w_, cout, k, stride);
    if (st) return st;
    int ho, wo, pt, pl, vw = cf->tiles.fwd_vw;
    conv_fast_geometry(h, k, stride, &ho, &pt);
    conv_fast_geometry(w_, k, stride, &wo, &pl);
    if ((st = check_mem(dx, (size_t)n * cin * h * w_, "dx")) ||
        (st = check_mem(dy, (size_t)n * cout * ho * wo, "dy")) ||
        (st = check_mem(w, (size_t)cout * cin * k * k, "w")))
        return st;
    conv_fast_mem none = {NULL, 0};
    /* dx = conv(dilate(dy, stride), flip(w)^T), stride 1, padding before k-1-pad_before */
    int cin_pad = round_up(cin, conv_fast_pick_tm(&cf->tiles, cin));
    int flags = accumulate ? FLAG_RESIDUAL : 0;
    conv_fast_mem res = accumulate ? dx : none;
    if ((st = prep_weights(cf, w, cout, cin, k, cin_pad, 1))) return st;
    if (k == 1 && stride == 1)
        return run_fwd(cf, dx, dy, none, res, flags, n, cout, cin, cin_pad, 1, h * w_, 1, h * w_, 1, 1);
    pad_geom g = {h + k - 1, 1, round_up(w_, vw) + k - 1, k - 1 - pt, k - 1 - pl, stride};
    if ((st = pad_input(cf, dy, n * cout, ho, wo, g))) return st;
    return run_fwd(cf, dx, cf_mem(cf->pad), none, res, flags, n, cout, cin, cin_pad, h, w_, g.hp, g.wq, k, 1);
}

/* How the weight gradient runs: vector width, padded-input geometry, pixel chunks. */
typedef struct dw_plan {
    int vw, hout, wout, steps, chunks, chunk_steps;
    pad_geom g; /* for k > 1 or stride > 1 */
} dw_plan;

static dw_plan plan_dw(const conv_fast_tiles *t, int n, int cin, int h, int w_, int cout, int k, int stride)
{
    dw_plan d;
    int ho, wo, pt, pl;
    conv_fast_geometry(h, k, stride, &ho, &pt);
    conv_fast_geometry(w_, k, stride, &wo, &pl);
    int direct_view = k == 1 && stride == 1;
    d.hout = direct_view ? 1 : ho; /* 1x1 stride 1: the H*W plane as one row */
    d.wout = direct_view ? h * w_ : wo;
    /* A row that the vector width does not divide ends in a masked step, slow enough to
     * halve the speed at 24^2 with float16: narrow the vector while that helps. */
    d.vw = t->dw_vw;
    while (d.vw > 4 && d.wout % d.vw != 0) d.vw /= 2;
    d.g = (pad_geom){(ho - 1) * stride + k, stride, round_up(wo, d.vw) + (k - 1) / stride, pt, pl, 1};
    int kw_total = cin * k * k;
    d.steps = n * d.hout * div_up(d.wout, d.vw);
    size_t tiles = (size_t)div_up(kw_total, t->dw_tn) * div_up(cout, t->dw_tm);
    /* Split the pixel reduction into chunks: enough work-items for the device, chunks small
     * enough to stay in cache, partial sums within the memory cap. */
    int chunks = (int)((t->dw_min_items + tiles - 1) / tiles);
    int by_px = div_up(d.steps * d.vw, t->dw_chunk_px > 0 ? t->dw_chunk_px : 1);
    if (by_px > chunks) chunks = by_px;
    size_t slice = (size_t)cout * kw_total * sizeof(float);
    size_t cap = t->dw_max_partial_bytes / slice;
    if ((size_t)chunks > cap) chunks = (int)cap;
    if (chunks > d.steps) chunks = d.steps;
    if (chunks < 1) chunks = 1;
    d.chunk_steps = div_up(d.steps, chunks);
    d.chunks = div_up(d.steps, d.chunk_steps);
    return d;
}

void conv_fast_scratch_need(const conv_fast_tiles *t, int pass, int n, int cin, int h, int w_, int cout, int k,
                            int stride, conv_fast_scratch *out)
{
    int ho, wo, pt, pl;
    conv_fast_geometry(h, k, stride, &ho, &pt);
    conv_fast_geometry(w_, k, stride, &wo, &pl);
    memset(out, 0, sizeof *out);
    int kk = k * k, plain = k == 1 && stride == 1;
    if (pass == 0) {
        out->wt = (size_t)cin * kk * round_up(cout, conv_fast_pick_tm(t, cout)) * sizeof(float);
        if (!plain)
            out->pad = (size_t)n * cin * ((ho - 1) * stride + k) * stride *
                       (round_up(wo, t->fwd_vw) + (k - 1) / stride) * sizeof(float);
    } else if (pass == 1) {
        out->wt = (size_t)cout * kk * round_up(cin, conv_fast_pick_tm(t, cin)) * sizeof(float);
        if (!plain) out->pad = (size_t)n * cout * (h + k - 1) * (round_up(w_, t->fwd_vw) + k - 1) * sizeof(float);
    } else {
        dw_plan d = plan_dw(t, n, cin, h, w_, cout, k, stride);
        if (!plain) out->pad = (size_t)n * cin * d.g.hp * d.g.s * d.g.wq * sizeof(float);
        if (d.chunks > 1) out->part = (size_t)d.chunks * cout * cin * kk * sizeof(float);
    }
}

/* db (cout) += sum over images and pixels of dy. */
static cr_status backward_bias(conv_fast *cf, conv_fast_mem db, conv_fast_mem dy, int n, int cout, int pix)
{
    cr_status st;
    cl_kernel kr;
    int db_off = (int)db.off, dy_off = (int)dy.off;
    if ((st = get_kernel(cf, "conv_db", simple_opts, &kr)) ||
        (st = cr_kernel_args(kr, 7, sizeof(cl_mem), &db.buf, sizeof(int), &db_off, sizeof(cl_mem), &dy.buf,
                             sizeof(int), &dy_off, sizeof(int), &n, sizeof(int), &cout, sizeof(int), &pix)))
        return st;
    size_t g1 = (size_t)cout;
    return cr_enqueue(cf->rt, kr, 1, &g1, NULL);
}

cr_status conv_fast_backward_weights(conv_fast *cf, conv_fast_mem dw, conv_fast_mem db, conv_fast_mem dy,
                                     conv_fast_mem x, int n, int cin, int h, int w_, int cout, int k, int stride)
{
    cr_status st = check_shape(n, cin, h, w_, cout, k, stride);
    if (st) return st;
    const conv_fast_tiles *t = &cf->tiles;
    int ho, wo, pt, pl;
    conv_fast_geometry(h, k, stride, &ho, &pt);
    conv_fast_geometry(w_, k, stride, &wo, &pl);
    (void)pl;
    if ((st = check_mem(dw, (size_t)cout * cin * k * k, "dw")) || (st = check_mem(db, (size_t)cout, "db")) ||
        (st = check_mem(dy, (size_t)n * cout * ho * wo, "dy")) ||
        (st = check_mem(x, (size_t)n * cin * h * w_, "x")))
        return st;
    if (db.buf && (st = backward_bias(cf, db, dy, n, cout, ho * wo))) return st;
    if (!dw.buf) return CR_OK;
    conv_fast_mem xsrc = x;
    dw_plan d = plan_dw(t, n, cin, h, w_, cout, k, stride);
    int hout = d.hout, wout = d.wout, hp = 1, wq = h * w_, vw = d.vw; /* the direct 1x1 view */
    if (!(k == 1 && stride == 1)) {
        if ((st = pad_input(cf, x, n * cin, h, w_, d.g))) return st;
        xsrc = cf_mem(cf->pad);
        hp = d.g.hp, wq = d.g.wq;
    }
    int kw_total = cin * k * k, steps = d.steps, chunks = d.chunks, chunk_steps = d.chunk_steps;
    size_t slice = (size_t)cout * kw_total * sizeof(float);
    int direct = chunks == 1;
    if (!direct && (st = scratch(cf, &cf->part, &cf->part_bytes, slice * chunks, "conv dW partial sums")))
        return st;

    char opts[160];
    snprintf(opts, sizeof opts, "-DCONV_K=%d -DCONV_S=%d -DDW_TM=%d -DDW_TN=%d -DDW_VW=%d", k, stride,
             t->dw_tm, t->dw_tn, vw);
    cl_kernel kr;
    conv_fast_mem out = direct ? dw : cf_mem(cf->part);
    int out_off = (int)out.off, dy_off = (int)dy.off, x_off = (int)xsrc.off;
    if ((st = get_kernel(cf, "conv_dw", opts, &kr)) ||
        (st = cr_kernel_args(kr, 15, sizeof(cl_mem), &out.buf, sizeof(int), &out_off, sizeof(cl_mem), &dy.buf,
                             sizeof(int), &dy_off, sizeof(cl_mem), &xsrc.buf, sizeof(int), &x_off, sizeof(int),
                             &direct, sizeof(int), &cin, sizeof(int), &cout, sizeof(int), &hout, sizeof(int),
                             &wout, sizeof(int), &hp, sizeof(int), &wq, sizeof(int), &steps, sizeof(int),
                             &chunk_steps)))
        return st;
    size_t global[3] = {(size_t)div_up(kw_total, t->dw_tn), (size_t)div_up(cout, t->dw_tm), (size_t)chunks};
    size_t local[3] = {(size_t)t->dw_local, 1, 1};
    if ((st = cr_enqueue(cf->rt, kr, 3, global, t->dw_local > 0 ? local : NULL))) return st;
    if (!direct) {
        int len = cout * kw_total, dw_off = (int)dw.off;
        if ((st = get_kernel(cf, "conv_reduce_add", simple_opts, &kr)) ||
            (st = cr_kernel_args(kr, 5, sizeof(cl_mem), &dw.buf, sizeof(int), &dw_off, sizeof(cl_mem), &cf->part,
                                 sizeof(int), &len, sizeof(int), &chunks)))
            return st;
        size_t g1 = (size_t)len, l1 = 64;
        if ((st = cr_enqueue(cf->rt, kr, 1, &g1, &l1))) return st;
    }
    return CR_OK;
}

cr_status conv_fast_relu_mask(conv_fast *cf, conv_fast_mem dz, conv_fast_mem dres, conv_fast_mem dy,
                              conv_fast_mem y, conv_fast_mem res, size_t count)
{
    cr_status st;
    cl_kernel kr;
    if ((st = check_mem(dz, count, "dz")) || (st = check_mem(dres, count, "dres")) ||
        (st = check_mem(dy, count, "dy")) || (st = check_mem(y, count, "y")) ||
        (st = check_mem(res, count, "res")))
        return st;
    if (!dz.buf || !dy.buf || !y.buf) return cr_fail(CR_ERR_ARG, "conv_fast_relu_mask: dz, dy and y are needed");
    /* absent buffers are replaced by dy: the kernel does not touch them */
    int has_res = res.buf != NULL, has_dres = dres.buf != NULL, n = (int)count;
    cl_mem rb = has_res ? res.buf : dy.buf, db = has_dres ? dres.buf : dy.buf;
    int dz_off = (int)dz.off, dres_off = has_dres ? (int)dres.off : 0, dy_off = (int)dy.off;
    int y_off = (int)y.off, r_off = has_res ? (int)res.off : 0;
    if ((st = get_kernel(cf, "conv_relu_mask", simple_opts, &kr)) ||
        (st = cr_kernel_args(kr, 13, sizeof(cl_mem), &dz.buf, sizeof(int), &dz_off, sizeof(cl_mem), &db,
                             sizeof(int), &dres_off, sizeof(cl_mem), &dy.buf, sizeof(int), &dy_off,
                             sizeof(cl_mem), &y.buf, sizeof(int), &y_off, sizeof(cl_mem), &rb, sizeof(int),
                             &r_off, sizeof(int), &has_res, sizeof(int), &has_dres, sizeof(int), &n)))
        return st;
    size_t g1 = (count + 15) / 16; /* MASK_VW elements per work-item */
    return cr_enqueue(cf->rt, kr, 1, &g1, NULL);
}
