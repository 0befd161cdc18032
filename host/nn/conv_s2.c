/* Host side of kernels/conv_s2.cl: the phase-split backward-input of stride-2
 * convolutions (see the kernel's header for the derivation). Geometry of the padded dY
 * copy, tiles, launch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_local.h" /* cr_conv_fast_gemm_weights, cr_conv_fast_padded_input */
#include "conv_s2.h"

static int round_up(int a, int m) { return (a + m - 1) / m * m; }
static int div_up(int a, int m) { return (a + m - 1) / m; }

/* How one call runs: tiles, and the padded dY [hp, wq] with dY (r, c) at (r + pt2, c + pl2). */
typedef struct s2_plan {
    int tm, vw, ci_pad, xbc, hp, wq, pt2, pl2;
} s2_plan;

/* dY column shift of tap kw (its column phase is (kw + pl) % 2), as SX in the kernel. */
static int sx_of(int kw, int pl) { return (((kw + pl) & 1) + pl - kw) / 2; }

static s2_plan plan_s2(const cr_conv_tiles *t, const cr_conv_geom *G)
{
    s2_plan p;
    int k = G->k, pt = G->pad_y, pl = G->pad_x, h = G->h, w = G->w;
    /* two column phases of accumulators: half the forward's channels keeps the register count */
    p.tm = t->fwd_tm / 2 > 1 ? t->fwd_tm / 2 : 1;
    if (G->cin < p.tm) p.tm = G->cin;
    p.ci_pad = round_up(G->cin, p.tm);
    /* a row of column pairs that the vector does not divide ends in a masked store */
    int pairs = (w + 1) / 2;
    p.vw = t->fwd_vw;
    while (p.vw > 4 && pairs % p.vw != 0) p.vw /= 2;
    p.xbc = div_up(pairs, p.vw);
    /* rows: dx row 2a + py reads dY rows a + (py + pt - kh) / 2 over the taps of its parity */
    int sy_min = 0, end = 1;
    for (int py = 0; py < 2 && py < h; py++)
        for (int kh = (py + pt) & 1; kh < k; kh += 2) {
            int sy = (py + pt - kh) / 2, last = (h - 1 - py) / 2 + sy + 1;
            if (sy < sy_min) sy_min = sy;
            if (last > end) end = last;
        }
    p.pt2 = -sy_min;
    p.hp = p.pt2 + end;
    /* columns: shifts from sx_of(0, pl) down to sx_of(k - 1, pl); every work-item's vectors */
    int sx_min = sx_of(k - 1, pl), sx_max = sx_of(0, pl);
    p.pl2 = sx_min < 0 ? -sx_min : 0;
    p.wq = p.pl2 + p.xbc * p.vw + (sx_max > 0 ? sx_max : 0);
    return p;
}

void cr_conv_s2_scratch_need(const cr_conv_tiles *t, const cr_conv_geom *G, cr_conv_scratch *out)
{
    s2_plan p = plan_s2(t, G);
    memset(out, 0, sizeof *out);
    out->wt = (size_t)G->cout * G->k * G->k * p.ci_pad * sizeof(float);
    out->pad = (size_t)G->n * G->cout * p.hp * p.wq * sizeof(float);
}

cr_status cr_conv_s2_dx_from_env(int *phase)
{
    const char *v = getenv("CLRESTORE_CONV_S2_DX");
    *phase = 1;
    if (!v || !*v || !strcmp(v, "phase")) return CR_OK;
    if (!strcmp(v, "dilate")) {
        *phase = 0;
        return CR_OK;
    }
    return cr_fail(CR_ERR_ARG, "CLRESTORE_CONV_S2_DX=%s: expected \"phase\" or \"dilate\"", v);
}

cr_status cr_conv_s2_backward_input(cr_conv_fast *cf, const cr_conv_tiles *t, const cr_conv_geom *G,
                                    const cr_tensor *dxt, const cr_tensor *dyt, const cr_tensor *wt, int accumulate)
{
    cr_runtime *rt = cr_conv_fast_runtime(cf);
    int n = G->n, cin = G->cin, h = G->h, w = G->w, cout = G->cout, k = G->k;
    if (G->s != 2) return cr_fail(CR_ERR_ARG, "conv_s2: stride %d, expected 2", G->s);
    s2_plan p = plan_s2(t, G);
    cl_mem wbuf = NULL, pbuf = NULL;
    cr_status st;
    if ((st = cr_conv_fast_gemm_weights(cf, wt, cout, cin, k, p.ci_pad, 1, &wbuf)) ||
        (st = cr_conv_fast_padded_input(cf, dyt, n * cout, G->ho, G->wo, p.hp, 1, p.wq, p.pt2, p.pl2, 1, &pbuf)))
        return st;
    char opts[160];
    snprintf(opts, sizeof opts, "-DCONV_K=%d -DS2_PT=%d -DS2_PL=%d -DCONV_TM=%d -DCONV_VW=%d", k, G->pad_y,
             G->pad_x, p.tm, p.vw);
    cl_kernel kr;
    int flags = accumulate ? CR_CONV_FLAG_RESIDUAL : 0, dx_off = (int)dxt->off, zero = 0;
    if ((st = cr_kernel_get(rt, "conv_s2.cl", "conv_dx_s2", opts, &kr)) ||
        (st = cr_kernel_args(kr, 15, sizeof(cl_mem), &dxt->buf, sizeof(int), &dx_off, sizeof(cl_mem), &pbuf,
                             sizeof(int), &zero, sizeof(cl_mem), &wbuf, sizeof(int), &flags, sizeof(int), &cout,
                             sizeof(int), &cin, sizeof(int), &p.ci_pad, sizeof(int), &h, sizeof(int), &w,
                             sizeof(int), &p.hp, sizeof(int), &p.wq, sizeof(int), &p.pt2, sizeof(int), &p.pl2)))
        return st;
    size_t global[3] = {(size_t)(p.ci_pad / p.tm), (size_t)h * p.xbc, (size_t)n};
    size_t local[3] = {1, (size_t)t->fwd_local, 1};
    return cr_enqueue(rt, kr, 3, global, t->fwd_local > 0 ? local : NULL);
}
