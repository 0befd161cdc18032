/* Host side of kernels/conv_gemm.cl (the register-tiled engine of conv_fast.h): the
 * convolution geometry, scratch buffers that grow once and are reused, and the launch
 * sequences for forward, backward-input and backward-weights. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_fast.h"
#include "conv_local.h"
#include "conv_s2.h"
#include "conv_tune.h"

#define CF_FILE "conv_gemm.cl"

struct cr_conv_fast {
    cr_runtime *rt;
    cr_conv_params params; /* per shape class (conv_tune.h) */
    cl_mem wt, pad, part; /* transposed weights, padded input, dW partial sums */
    size_t wt_bytes, pad_bytes, part_bytes;
    cl_mem wt2;           /* the second weight set of a fused pair (conv_fuse.c) */
    size_t wt2_bytes;
    int s2_dx_phase; /* stride-2 dX by output phases (conv_s2.c), else through zero-dilated dY */
};

static int round_up(int a, int m) { return (a + m - 1) / m * m; }
static int div_up(int a, int m) { return (a + m - 1) / m; }

cr_conv_geom cr_conv_geom_make(int n, int cin, int h, int w, int cout, int k, int stride)
{
    cr_conv_geom g = {n, cin, h, w, cout, k, stride, 0, 0, 0, 0};
    cr_conv2d_same(h, k, stride, &g.ho, &g.pad_y);
    cr_conv2d_same(w, k, stride, &g.wo, &g.pad_x);
    return g;
}

/* A buffer and the element offset of a tensor in it; buf NULL: absent. */
typedef struct mem {
    cl_mem buf;
    size_t off;
} mem;
static mem mem_of(const cr_tensor *t)
{
    mem m = {t ? t->buf : NULL, t ? t->off : 0};
    return m;
}
static mem whole(cl_mem buf)
{
    mem m = {buf, 0};
    return m;
}

cr_status cr_conv_fast_create(cr_runtime *rt, cr_conv_fast **out)
{
    cr_conv_fast *cf = calloc(1, sizeof *cf);
    *out = NULL;
    if (!cf) return cr_fail(CR_ERR_NOMEM, "out of memory creating the convolution engine");
    cf->rt = rt;
    cr_conv_params_resolve(&rt->dev, &cf->params);
    cr_status est = cr_conv_s2_dx_from_env(&cf->s2_dx_phase);
    if (est != CR_OK) {
        free(cf);
        return est;
    }
    /* CLRESTORE_CONV_VARIANT=local|register overrides every class's forward variant */
    for (int c = 0; c < CR_CONV_NCLASSES; c++) {
        cr_status st = cr_conv_local_variant_from_env(&cf->params.cls[c]);
        if (st != CR_OK) {
            free(cf);
            return st;
        }
    }
    *out = cf;
    return CR_OK;
}

void cr_conv_fast_free(cr_conv_fast *cf)
{
    if (!cf) return;
    cr_buffer_release(cf->rt, &cf->wt);
    cr_buffer_release(cf->rt, &cf->wt2);
    cr_buffer_release(cf->rt, &cf->pad);
    cr_buffer_release(cf->rt, &cf->part);
    free(cf);
}

cr_conv_params *cr_conv_fast_params(cr_conv_fast *cf) { return &cf->params; }

void cr_conv_fast_set_s2_dx(cr_conv_fast *cf, int phase) { cf->s2_dx_phase = phase != 0; }
int cr_conv_fast_s2_dx(const cr_conv_fast *cf) { return cf->s2_dx_phase; }

void cr_conv_fast_set_all(cr_conv_fast *cf, const cr_conv_tiles *t, const char *what)
{
    for (int c = 0; c < CR_CONV_NCLASSES; c++) {
        cf->params.cls[c] = *t;
        snprintf(cf->params.source[c], sizeof cf->params.source[c], "%s", what);
    }
}

const cr_conv_tiles *cr_conv_fast_tiles_for(const cr_conv_fast *cf, const cr_conv_geom *g)
{
    return &cf->params.cls[cr_conv_class_of(g->cin, g->cout, g->k, g->s)];
}

/* The runtime keeps every (name, options) kernel: one program per tile set. */
static cr_status get_kernel(cr_conv_fast *cf, const char *name, const char *options, cl_kernel *out)
{
    return cr_kernel_get(cf->rt, CF_FILE, name, options, out);
}

/* Grows a scratch buffer to at least bytes (contents are not kept). */
static cr_status scratch(cr_conv_fast *cf, cl_mem *buf, size_t *have, size_t bytes, const char *what)
{
    if (*buf && *have >= bytes) return CR_OK;
    cr_buffer_release(cf->rt, buf);
    *have = 0;
    cr_status st = cr_buffer_create(cf->rt, bytes, what, buf);
    if (st == CR_OK) *have = bytes;
    return st;
}

static cr_status check_shape(const cr_conv_geom *g)
{
    if (g->n < 1 || g->cin < 1 || g->h < 1 || g->w < 1 || g->cout < 1 || g->k < 1 || g->k > 7 || g->s < 1 ||
        g->s > 4)
        return cr_fail(CR_ERR_ARG, "conv_fast: bad shape n=%d cin=%d %dx%d cout=%d k=%d stride=%d", g->n, g->cin,
                       g->h, g->w, g->cout, g->k, g->s);
    return CR_OK;
}

/* Element offsets go to the kernels as int (they add them at entry). */
static cr_status check_mem(mem m, size_t count, const char *what)
{
    if (m.buf && m.off + count >= (size_t)INT_MAX)
        return cr_fail(CR_ERR_UNSUPPORTED, "conv_fast: %s ends %zu floats into its buffer, past what kernels index",
                       what, m.off + count);
    return CR_OK;
}

static const char *simple_opts = ""; /* prep/pad/reduce/db do not depend on the tiles */

/* wt = weights rearranged for the GEMM (mode 0 forward, 1 backward-input). */
/* slot 0: cf->wt, which every convolution uses; 1: cf->wt2 */
static cr_status prep_weights_into(cr_conv_fast *cf, int slot, mem w, int cout, int cin, int k, int cout_pad,
                                   int mode, int blk)
{
    int w_off = (int)w.off;
    cr_status st;
    cl_kernel kr;
    int kk = k * k, cin_t = mode ? cout : cin;
    size_t count = (size_t)cin_t * kk * cout_pad;
    cl_mem *dst = slot ? &cf->wt2 : &cf->wt;
    if ((st = scratch(cf, dst, slot ? &cf->wt2_bytes : &cf->wt_bytes, count * sizeof(float),
                      slot ? "conv weights (GEMM order, second of a pair)" : "conv weights (GEMM order)")) ||
        (st = get_kernel(cf, "conv_prep_weights", simple_opts, &kr)) ||
        (st = cr_kernel_args(kr, 9, sizeof(cl_mem), dst, sizeof(cl_mem), &w.buf, sizeof(int), &w_off,
                             sizeof(int), &cout,
                             sizeof(int), &cin, sizeof(int), &kk, sizeof(int), &cout_pad, sizeof(int), &mode,
                             sizeof(int), &blk)))
        return st;
    size_t local = 64, global = count;
    return cr_enqueue(cf->rt, kr, 1, &global, &local);
}

static cr_status prep_weights(cr_conv_fast *cf, mem w, int cout, int cin, int k, int cout_pad, int mode, int blk)
{
    return prep_weights_into(cf, 0, w, cout, cin, k, cout_pad, mode, blk);
}

/* Padded copy geometry: hp rows, s phases of wq columns. */
typedef struct pad_geom {
    int hp, s, wq, pt, pl, dil;
} pad_geom;

static cr_status pad_input(cr_conv_fast *cf, mem src, int nc, int h, int w, pad_geom g)
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
    size_t global[3] = {1, (size_t)g.hp * g.s, (size_t)nc}; /* a phase row per work-item */
    return cr_enqueue(cf->rt, kr, 3, global, NULL);
}

/* The forward GEMM over an already prepared input (padded, or raw for the direct case). */
/* Padding cout up to a multiple of CONV_TM is wasted work: 25 channels in blocks of 16 do
 * 32 channels' FMAs, 102 do 112, and the 1-channel output layer 16. Tiles of 13 (25 -> 26),
 * 17 (102 -> 102) or cout itself (< tm - 4) waste less; 17 accumulators still fit the 32
 * zmm registers. Ties keep the configured size. */
int cr_conv_fast_pick_tm(const cr_conv_tiles *t, int cout)
{
    int tm = t->fwd_tm;
    if (!t->fwd_tm_fit) return tm;
    if (cout < tm - 4) return cout;
    int best = tm;
    for (int c = tm + 1; c >= tm - 4 && c >= 1; c--)
        if (round_up(cout, c) < round_up(cout, best)) best = c;
    return best;
}

/* Blocked GEMM weights (fwd_wblock, CONV_WBLK) on the 1x1 stride-1 path, where they were
 * measured; the k x k paths keep the row layout. */
static int wblock_of(const cr_conv_tiles *t, int k, int s) { return t->fwd_wblock && k == 1 && s == 1; }

/* conv_fwd_allco (fwd_kc) on the 1x1 stride-1 forward, where the input is read directly;
 * it keeps partial sums in y, so not with a residual (which may be y itself). Measured on
 * the forward of the 1x1-deep class only: on the dX of those layers (512 outputs) and on
 * every other 1x1 it was slower (docs/tuning.md). */
static int allco_of(const cr_conv_tiles *t, int k, int s, int flags)
{
    return t->fwd_kc > 0 && k == 1 && s == 1 && !(flags & CR_CONV_FLAG_RESIDUAL);
}

static cr_status run_fwd(cr_conv_fast *cf, const cr_conv_tiles *t, mem y, mem xsrc, mem b,
                         mem res, int flags, int forward, int n,
                         int cin, int cout, int cout_pad, int hout, int wout, int hp, int wq, int k, int s)
{
    int tm = cr_conv_fast_pick_tm(t, cout);
    int allco = forward && allco_of(t, k, s, flags);
    char opts[192];
    snprintf(opts, sizeof opts, "-DCONV_K=%d -DCONV_S=%d -DCONV_TM=%d -DCONV_VW=%d%s -DCONV_KC=%d", k, s, tm,
             t->fwd_vw, wblock_of(t, k, s) ? " -DCONV_WBLK=1" : "", allco ? t->fwd_kc : 128);
    cl_kernel kr;
    cr_status st = get_kernel(cf, allco ? "conv_fwd_allco" : "conv_fwd", opts, &kr);
    if (st) return st;
    cl_mem bb = b.buf ? b.buf : cf->wt, rr = res.buf ? res.buf : cf->wt; /* unused when the flag is off */
    int y_off = (int)y.off, x_off = (int)xsrc.off, b_off = b.buf ? (int)b.off : 0;
    int r_off = res.buf ? (int)res.off : 0;
    if (allco) {
        int npix = wout;
        if ((st = cr_kernel_args(kr, 14, sizeof(cl_mem), &y.buf, sizeof(int), &y_off, sizeof(cl_mem), &xsrc.buf,
                                 sizeof(int), &x_off, sizeof(cl_mem), &cf->wt, sizeof(cl_mem), &bb, sizeof(int),
                                 &b_off, sizeof(cl_mem), &rr, sizeof(int), &r_off, sizeof(int), &flags, sizeof(int),
                                 &cin, sizeof(int), &cout, sizeof(int), &cout_pad, sizeof(int), &npix)))
            return st;
        size_t global[3] = {1, (size_t)div_up(npix, t->fwd_vw), (size_t)n};
        size_t local[3] = {1, (size_t)t->fwd_local, 1};
        return cr_enqueue(cf->rt, kr, 3, global, t->fwd_local > 0 ? local : NULL);
    }
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

cr_status cr_conv_fast_forward(cr_conv_fast *cf, const cr_conv_geom *G, const cr_tensor *yt, const cr_tensor *xt,
                               const cr_tensor *wt, const cr_tensor *bt, const cr_tensor *rt, int relu)
{
    mem y = mem_of(yt), x = mem_of(xt), w = mem_of(wt), b = mem_of(bt), residual = mem_of(rt);
    int n = G->n, cin = G->cin, h = G->h, w_ = G->w, cout = G->cout, k = G->k, stride = G->s;
    int ho = G->ho, wo = G->wo, pt = G->pad_y, pl = G->pad_x;
    cr_status st = check_shape(G);
    if (st) return st;
    const cr_conv_tiles *t = cr_conv_fast_tiles_for(cf, G);
    int vw = t->fwd_vw;
    size_t ycount = (size_t)n * cout * ho * wo;
    if ((st = check_mem(y, ycount, "y")) || (st = check_mem(x, (size_t)n * cin * h * w_, "x")) ||
        (st = check_mem(w, (size_t)cout * cin * k * k, "w")) || (st = check_mem(b, (size_t)cout, "b")) ||
        (st = check_mem(residual, ycount, "residual")))
        return st;
    if (t->fwd_variant == 1) return cr_conv_local_forward(cf, t, G, yt, xt, wt, bt, rt, relu);
    int cout_pad = round_up(cout, cr_conv_fast_pick_tm(t, cout));
    int flags = (b.buf ? CR_CONV_FLAG_BIAS : 0) | (relu ? CR_CONV_FLAG_RELU : 0) | (residual.buf ? CR_CONV_FLAG_RESIDUAL : 0);
    int blk = wblock_of(t, k, stride) ? cr_conv_fast_pick_tm(t, cout) : 0;
    if ((st = prep_weights(cf, w, cout, cin, k, cout_pad, 0, blk))) return st;
    if (k == 1 && stride == 1) /* plain GEMM: the H*W plane is one long row */
        return run_fwd(cf, t, y, x, b, residual, flags, 1, n, cin, cout, cout_pad, 1, h * w_, 1, h * w_, 1, 1);
    /* rows (ho-1)*s + k; each phase row holds every vector's reach: round_up(wo, vw) + (k-1)/s */
    pad_geom g = {(ho - 1) * stride + k, stride, round_up(wo, vw) + (k - 1) / stride, pt, pl, 1};
    if ((st = pad_input(cf, x, n * cin, h, w_, g))) return st;
    return run_fwd(cf, t, y, whole(cf->pad), b, residual, flags, 1, n, cin, cout, cout_pad, ho, wo, g.hp, g.wq, k,
                   stride);
}

/* relu_yt NULL: dx (+)= conv^T(dy); else dx = conv^T(dy) where relu_yt > 0, 0 elsewhere */
static cr_status backward_input(cr_conv_fast *cf, const cr_conv_geom *G, const cr_tensor *dxt, const cr_tensor *dyt,
                                const cr_tensor *wt, int accumulate, const cr_tensor *relu_yt)
{
    mem dx = mem_of(dxt), dy = mem_of(dyt), w = mem_of(wt), relu_y = mem_of(relu_yt);
    int n = G->n, cin = G->cin, h = G->h, w_ = G->w, cout = G->cout, k = G->k, stride = G->s;
    int ho = G->ho, wo = G->wo, pt = G->pad_y, pl = G->pad_x;
    cr_status st = check_shape(G);
    if (st) return st;
    const cr_conv_tiles *t = cr_conv_fast_tiles_for(cf, G);
    int vw = t->fwd_vw;
    size_t nx = (size_t)n * cin * h * w_;
    if ((st = check_mem(dx, nx, "dx")) || (st = check_mem(dy, (size_t)n * cout * ho * wo, "dy")) ||
        (st = check_mem(w, (size_t)cout * cin * k * k, "w")) || (st = check_mem(relu_y, nx, "relu_y")))
        return st;
    if (relu_y.buf && (t->fwd_variant == 1 || (stride == 2 && cf->s2_dx_phase))) {
        /* kernels without the masked epilogue: store, then mask in place */
        if ((st = backward_input(cf, G, dxt, dyt, wt, 0, NULL))) return st;
        return cr_conv_fast_relu_mask(cf, dxt, NULL, dxt, relu_yt, NULL, nx);
    }
    if (t->fwd_variant == 1) return cr_conv_local_backward_input(cf, t, G, dxt, dyt, wt, accumulate);
    if (stride == 2 && cf->s2_dx_phase) return cr_conv_s2_backward_input(cf, t, G, dxt, dyt, wt, accumulate);
    mem none = {NULL, 0};
    /* dx = conv(dilate(dy, stride), flip(w)^T), stride 1, padding before k-1-pad_before */
    int cin_pad = round_up(cin, cr_conv_fast_pick_tm(t, cin));
    int flags = relu_y.buf ? CR_CONV_FLAG_MASK : accumulate ? CR_CONV_FLAG_RESIDUAL : 0;
    mem res = relu_y.buf ? relu_y : accumulate ? dx : none;
    int blk = wblock_of(t, k, stride) ? cr_conv_fast_pick_tm(t, cin) : 0;
    if ((st = prep_weights(cf, w, cout, cin, k, cin_pad, 1, blk))) return st;
    if (k == 1 && stride == 1)
        return run_fwd(cf, t, dx, dy, none, res, flags, 0, n, cout, cin, cin_pad, 1, h * w_, 1, h * w_, 1, 1);
    pad_geom g = {h + k - 1, 1, round_up(w_, vw) + k - 1, k - 1 - pt, k - 1 - pl, stride};
    if ((st = pad_input(cf, dy, n * cout, ho, wo, g))) return st;
    return run_fwd(cf, t, dx, whole(cf->pad), none, res, flags, 0, n, cout, cin, cin_pad, h, w_, g.hp, g.wq, k, 1);
}

cr_status cr_conv_fast_backward_input(cr_conv_fast *cf, const cr_conv_geom *G, const cr_tensor *dxt,
                                      const cr_tensor *dyt, const cr_tensor *wt, int accumulate)
{
    return backward_input(cf, G, dxt, dyt, wt, accumulate, NULL);
}

cr_status cr_conv_fast_backward_input_relu(cr_conv_fast *cf, const cr_conv_geom *G, const cr_tensor *dxt,
                                           const cr_tensor *dyt, const cr_tensor *wt, const cr_tensor *relu_yt)
{
    if (!relu_yt || !relu_yt->buf) return cr_fail(CR_ERR_ARG, "cr_conv_fast_backward_input_relu: relu_y is needed");
    return backward_input(cf, G, dxt, dyt, wt, 0, relu_yt);
}

/* How the weight gradient runs: vector width, padded-input geometry, pixel chunks. */
typedef struct dw_plan {
    int vw, hout, wout, steps, chunks, chunk_steps;
    pad_geom g; /* for k > 1 or stride > 1 */
} dw_plan;

/* out[i] += sum over the chunks c of part[c * len + i] (conv_reduce_add): the fold of the
 * partial sums of the weight gradients (both variants) and of the bias gradient. */
static cr_status fold_partials(cr_conv_fast *cf, cl_mem out, int out_off, cl_mem part, int len, int chunks)
{
    cl_kernel kr;
    cr_status st;
    if ((st = get_kernel(cf, "conv_reduce_add", simple_opts, &kr)) ||
        (st = cr_kernel_args(kr, 5, sizeof(cl_mem), &out, sizeof(int), &out_off, sizeof(cl_mem), &part, sizeof(int),
                             &len, sizeof(int), &chunks)))
        return st;
    size_t g1 = (size_t)len, l1 = 64;
    return cr_enqueue(cf->rt, kr, 1, &g1, &l1);
}

cr_status cr_conv_fast_fold_partials(cr_conv_fast *cf, const cr_tensor *out, cl_mem part, int len, int chunks)
{
    return fold_partials(cf, out->buf, (int)out->off, part, len, chunks);
}

/* Work-groups per channel of conv_db_wg: about 16 pixels of an image per work-item, so that
 * a level-0 channel (192^2) spreads over 9 groups and a 24^2 one takes one. */
static int db_groups(const cr_conv_tiles *t, int pix)
{
    int g = div_up(pix, t->db_local * 16);
    return g < 1 ? 1 : g > 1024 ? 1024 : g;
}

static size_t db_part_bytes(const cr_conv_tiles *t, int cout, int pix)
{
    return t->db_local > 1 ? (size_t)db_groups(t, pix) * cout * sizeof(float) : 0;
}

static dw_plan plan_dw(const cr_conv_tiles *t, int compute_units, const cr_conv_geom *G)
{
    dw_plan d;
    int n = G->n, cin = G->cin, h = G->h, w_ = G->w, cout = G->cout, k = G->k, stride = G->s;
    int ho = G->ho, wo = G->wo, pt = G->pad_y, pl = G->pad_x;
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
    size_t min_items = (size_t)t->dw_items_per_cu * (size_t)(compute_units > 0 ? compute_units : 1);
    int chunks = (int)((min_items + tiles - 1) / tiles);
    int by_px = div_up(d.steps * d.vw, t->dw_chunk_px > 0 ? t->dw_chunk_px : 1);
    if (by_px > chunks) chunks = by_px;
    size_t slice = (size_t)cout * kw_total * sizeof(float);
    size_t cap = ((size_t)t->dw_max_partial_mib << 20) / slice;
    if ((size_t)chunks > cap) chunks = (int)cap;
    if (chunks > d.steps) chunks = d.steps;
    if (chunks < 1) chunks = 1;
    d.chunk_steps = div_up(d.steps, chunks);
    d.chunks = div_up(d.steps, d.chunk_steps);
    return d;
}

void cr_conv_fast_scratch_need(const cr_conv_fast *cf, int pass, const cr_conv_geom *G, cr_conv_scratch *out)
{
    const cr_conv_tiles *t = cr_conv_fast_tiles_for(cf, G);
    int n = G->n, cin = G->cin, h = G->h, w_ = G->w, cout = G->cout, k = G->k, stride = G->s;
    int ho = G->ho, wo = G->wo, pt = G->pad_y, pl = G->pad_x;
    (void)pt, (void)pl;
    memset(out, 0, sizeof *out);
    if (t->fwd_variant == 1 && pass != 2) {
        cr_conv_local_scratch_need(t, pass, G, out);
        return;
    }
    int kk = k * k, plain = k == 1 && stride == 1;
    if (pass == 0) {
        out->wt = (size_t)cin * kk * round_up(cout, cr_conv_fast_pick_tm(t, cout)) * sizeof(float);
        if (!plain)
            out->pad = (size_t)n * cin * ((ho - 1) * stride + k) * stride *
                       (round_up(wo, t->fwd_vw) + (k - 1) / stride) * sizeof(float);
    } else if (pass == 1 && stride == 2 && cf->s2_dx_phase) {
        cr_conv_s2_scratch_need(t, G, out);
    } else if (pass == 1) {
        out->wt = (size_t)cout * kk * round_up(cin, cr_conv_fast_pick_tm(t, cin)) * sizeof(float);
        if (!plain) out->pad = (size_t)n * cout * (h + k - 1) * (round_up(w_, t->fwd_vw) + k - 1) * sizeof(float);
    } else {
        if (t->dw_variant == 1) {
            cr_conv_ldw_scratch_need(t, (int)cf->rt->dev.compute_units, G, out);
        } else {
            dw_plan d = plan_dw(t, (int)cf->rt->dev.compute_units, G);
            if (!plain) out->pad = (size_t)n * cin * d.g.hp * d.g.s * d.g.wq * sizeof(float);
            if (d.chunks > 1) out->part = (size_t)d.chunks * cout * cin * kk * sizeof(float);
        }
        size_t dbp = db_part_bytes(t, cout, ho * wo); /* the bias gradient's, in the same buffer */
        if (dbp > out->part) out->part = dbp;
    }
}

/* db (cout) += sum over images and pixels of dy: one work-item per channel (conv_db), or
 * work-groups over slices of each channel whose sums conv_reduce_add folds (conv_db_wg).
 * The partial sums use the dW scratch (cf->part): this queue is in order, and dW's
 * conv_dw only writes it after the fold has read it. */
static cr_status backward_bias(cr_conv_fast *cf, const cr_conv_tiles *t, mem db, mem dy, int n, int cout, int pix)
{
    cr_status st;
    cl_kernel kr;
    int db_off = (int)db.off, dy_off = (int)dy.off;
    if (t->db_local <= 1) {
        if ((st = get_kernel(cf, "conv_db", simple_opts, &kr)) ||
            (st = cr_kernel_args(kr, 7, sizeof(cl_mem), &db.buf, sizeof(int), &db_off, sizeof(cl_mem), &dy.buf,
                                 sizeof(int), &dy_off, sizeof(int), &n, sizeof(int), &cout, sizeof(int), &pix)))
            return st;
        size_t g1 = (size_t)cout;
        return cr_enqueue(cf->rt, kr, 1, &g1, NULL);
    }
    int groups = db_groups(t, pix);
    char opts[32];
    snprintf(opts, sizeof opts, "-DDB_LOCAL=%d", t->db_local);
    if ((st = scratch(cf, &cf->part, &cf->part_bytes, db_part_bytes(t, cout, pix), "conv dB partial sums")) ||
        (st = cr_kernel_get(cf->rt, "conv_db.cl", "conv_db_wg", opts, &kr)) ||
        (st = cr_kernel_args(kr, 6, sizeof(cl_mem), &cf->part, sizeof(cl_mem), &dy.buf, sizeof(int), &dy_off,
                             sizeof(int), &n, sizeof(int), &cout, sizeof(int), &pix)))
        return st;
    size_t global[2] = {(size_t)groups * t->db_local, (size_t)cout}, local[2] = {(size_t)t->db_local, 1};
    if ((st = cr_enqueue(cf->rt, kr, 2, global, local))) return st;
    return fold_partials(cf, db.buf, db_off, cf->part, cout, groups);
}

cr_status cr_conv_fast_backward_weights(cr_conv_fast *cf, const cr_conv_geom *G, const cr_tensor *dwt,
                                        const cr_tensor *dbt, const cr_tensor *dyt, const cr_tensor *xt)
{
    mem dw = mem_of(dwt), db = mem_of(dbt), dy = mem_of(dyt), x = mem_of(xt);
    int n = G->n, cin = G->cin, h = G->h, w_ = G->w, cout = G->cout, k = G->k, stride = G->s;
    int ho = G->ho, wo = G->wo;
    cr_status st = check_shape(G);
    if (st) return st;
    const cr_conv_tiles *t = cr_conv_fast_tiles_for(cf, G);
    if ((st = check_mem(dw, (size_t)cout * cin * k * k, "dw")) || (st = check_mem(db, (size_t)cout, "db")) ||
        (st = check_mem(dy, (size_t)n * cout * ho * wo, "dy")) ||
        (st = check_mem(x, (size_t)n * cin * h * w_, "x")))
        return st;
    if (db.buf && (st = backward_bias(cf, t, db, dy, n, cout, ho * wo))) return st;
    if (!dw.buf) return CR_OK;
    if (t->dw_variant == 1) return cr_conv_local_backward_weights(cf, t, G, dwt, dyt, xt);
    mem xsrc = x;
    dw_plan d = plan_dw(t, (int)cf->rt->dev.compute_units, G);
    int hout = d.hout, wout = d.wout, hp = 1, wq = h * w_, vw = d.vw; /* the direct 1x1 view */
    if (!(k == 1 && stride == 1)) {
        if ((st = pad_input(cf, x, n * cin, h, w_, d.g))) return st;
        xsrc = whole(cf->pad);
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
    mem out = direct ? dw : whole(cf->part);
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
    return direct ? CR_OK : fold_partials(cf, dw.buf, (int)dw.off, cf->part, cout * kw_total, chunks);
}

cr_status cr_conv_fast_relu_mask(cr_conv_fast *cf, const cr_tensor *dzt, const cr_tensor *drest,
                                 const cr_tensor *dyt, const cr_tensor *yt, const cr_tensor *rest, size_t count)
{
    mem dz = mem_of(dzt), dres = mem_of(drest), dy = mem_of(dyt), y = mem_of(yt), res = mem_of(rest);
    cr_status st;
    cl_kernel kr;
    if ((st = check_mem(dz, count, "dz")) || (st = check_mem(dres, count, "dres")) ||
        (st = check_mem(dy, count, "dy")) || (st = check_mem(y, count, "y")) ||
        (st = check_mem(res, count, "res")))
        return st;
    if (!dz.buf || !dy.buf || !y.buf) return cr_fail(CR_ERR_ARG, "cr_conv_fast_relu_mask: dz, dy and y are needed");
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

/* ---- for the work-group tiled variant (conv_local.h) ---- */

cr_runtime *cr_conv_fast_runtime(cr_conv_fast *cf) { return cf->rt; }

cr_status cr_conv_fast_gemm_weights(cr_conv_fast *cf, const cr_tensor *w, int cout, int cin, int k, int cout_pad,
                                    int mode, cl_mem *out)
{
    cr_status st = prep_weights(cf, mem_of(w), cout, cin, k, cout_pad, mode, 0);
    *out = cf->wt;
    return st;
}

cr_status cr_conv_fast_weights_blocked(cr_conv_fast *cf, int slot, const cr_tensor *w, int cout, int cin,
                                       int cout_pad, int blk, cl_mem *out)
{
    cr_status st = prep_weights_into(cf, slot, mem_of(w), cout, cin, 1, cout_pad, 0, blk);
    *out = slot ? cf->wt2 : cf->wt;
    return st;
}

cr_status cr_conv_fast_part_scratch(cr_conv_fast *cf, size_t bytes, cl_mem *out)
{
    cr_status st = scratch(cf, &cf->part, &cf->part_bytes, bytes, "conv dW partial sums");
    *out = cf->part;
    return st;
}

cr_status cr_conv_fast_padded_input(cr_conv_fast *cf, const cr_tensor *src, int nc, int h, int w, int hp, int s,
                                    int wq, int pt, int pl, int dil, cl_mem *out)
{
    pad_geom g = {hp, s, wq, pt, pl, dil};
    cr_status st = pad_input(cf, mem_of(src), nc, h, w, g);
    *out = cf->pad;
    return st;
}
