/* Host side of conv_fwd_eb (kernels/conv_gemm.cl): for inference, a 1x1 expand with ReLU
 * and the 1x1 bottleneck that is its only reader, in one kernel, so that the expanded
 * activation (4x the block's channels) never goes through memory. The network decides
 * where it applies (waunet.c); this file decides whether a pair fits and launches it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_fast.h"
#include "conv_local.h" /* cr_conv_fast_runtime, cr_conv_fast_weights_blocked */
#include "conv_tune.h"

enum { EB_MAX_E = 512 }; /* the private array is EB_E x VW floats: 32 KiB at 512 x 16 */

static int div_up(int a, int m) { return (a + m - 1) / m; }

/* The expand's tiles decide (its class is the one whose output never reaches memory). */
static const cr_conv_tiles *eb_tiles(const cr_conv_fast *cf, int n, int cin, int h, int w, int e)
{
    cr_conv_geom g1 = cr_conv_geom_make(n, cin, h, w, e, 1, 1);
    return cr_conv_fast_tiles_for(cf, &g1);
}

/* The expand's channel block: the divisor of e nearest fwd_tm, the smaller on a tie (the
 * private array has no channel tail). The largest divisor not above it halved the block
 * where fwd_tm does not divide e: 14 (the AVX2 entry) gave 8 for e = 128 and 512. */
static int eb_tm1(const cr_conv_tiles *t, int e)
{
    int want = t->fwd_tm < e ? t->fwd_tm : e, best = 1;
    for (int d = 1; d <= e && d <= 2 * want; d++)
        if (e % d == 0 && abs(d - want) < abs(best - want)) best = d;
    return best;
}

static int eb_tm2(const cr_conv_fast *cf, int e, int cout)
{
    cr_conv_geom g2 = cr_conv_geom_make(1, e, 1, 1, cout, 1, 1);
    return cr_conv_fast_pick_tm(cr_conv_fast_tiles_for(cf, &g2), cout);
}

void cr_conv_fast_eb_scratch_need(const cr_conv_fast *cf, int cin, int e, int cout, cr_conv_scratch *out)
{
    int tm2 = eb_tm2(cf, e, cout);
    memset(out, 0, sizeof *out);
    out->wt = (size_t)cin * e * sizeof(float);                   /* blocked by tm1, which divides e */
    out->wt2 = (size_t)e * div_up(cout, tm2) * tm2 * sizeof(float); /* padded to cout_pad */
}

int cr_conv_fast_eb_fits(const cr_conv_fast *cf, int cin, int e, int cout)
{
    const cr_conv_tiles *t = eb_tiles(cf, 1, cin, 1, 1, e);
    if (t->fwd_variant != 0 || t->fwd_eb_kib <= 0 || e > EB_MAX_E || cin < 1 || cout < 1) return 0;
    cr_conv_scratch s; /* both weight sets, which the kernel re-reads for every pixel vector */
    cr_conv_fast_eb_scratch_need(cf, cin, e, cout, &s);
    return s.wt + s.wt2 <= (size_t)t->fwd_eb_kib * 1024;
}

cr_status cr_conv_fast_forward_eb(cr_conv_fast *cf, int n, int h, int w, const cr_tensor *y, const cr_tensor *x,
                                  const cr_tensor *w1, const cr_tensor *b1, const cr_tensor *w2,
                                  const cr_tensor *b2)
{
    if (!y || !x || !w1 || !b1 || !w2 || !b2 || !y->buf || !x->buf || !w1->buf || !b1->buf || !w2->buf || !b2->buf)
        return cr_fail(CR_ERR_ARG, "fused expand + bottleneck: every tensor and both biases are needed");
    int cin = x->c, e = w1->n, cout = w2->n;
    if (w1->c != cin || w2->c != e || y->c != cout || x->n != n || y->n != n || x->h != h || x->w != w ||
        y->h != h || y->w != w || w1->h != 1 || w1->w != 1 || w2->h != 1 || w2->w != 1)
        return cr_fail(CR_ERR_ARG, "fused expand + bottleneck: shapes x %dx%dx%dx%d, w1 %dx%d, w2 %dx%d, y %dx%dx%dx%d",
                       x->n, x->c, x->h, x->w, w1->n, w1->c, w2->n, w2->c, y->n, y->c, y->h, y->w);
    if (!cr_conv_fast_eb_fits(cf, cin, e, cout))
        return cr_fail(CR_ERR_ARG, "fused expand + bottleneck: %d -> %d -> %d is not fused on this device", cin, e,
                       cout);
    const cr_conv_tiles *t = eb_tiles(cf, n, cin, h, w, e);
    int tm1 = eb_tm1(t, e), tm2 = eb_tm2(cf, e, cout), cout_pad = div_up(cout, tm2) * tm2, npix = h * w;
    cl_mem wt1, wt2;
    cl_kernel kr;
    char opts[160];
    snprintf(opts, sizeof opts, "-DCONV_K=1 -DCONV_S=1 -DCONV_TM=%d -DCONV_VW=%d -DEB_E=%d -DEB_TM2=%d", tm1,
             t->fwd_vw, e, tm2);
    cr_status st;
    if ((st = cr_conv_fast_weights_blocked(cf, 0, w1, e, cin, e, tm1, &wt1)) ||
        (st = cr_conv_fast_weights_blocked(cf, 1, w2, cout, e, cout_pad, tm2, &wt2)) ||
        (st = cr_kernel_get(cr_conv_fast_runtime(cf), "conv_gemm.cl", "conv_fwd_eb", opts, &kr)))
        return st;
    int y_off = (int)y->off, x_off = (int)x->off, b1_off = (int)b1->off, b2_off = (int)b2->off;
    if ((st = cr_kernel_args(kr, 14, sizeof(cl_mem), &y->buf, sizeof(int), &y_off, sizeof(cl_mem), &x->buf,
                             sizeof(int), &x_off, sizeof(cl_mem), &wt1, sizeof(cl_mem), &b1->buf, sizeof(int),
                             &b1_off, sizeof(cl_mem), &wt2, sizeof(cl_mem), &b2->buf, sizeof(int), &b2_off,
                             sizeof(int), &cin, sizeof(int), &cout, sizeof(int), &cout_pad, sizeof(int), &npix)))
        return st;
    size_t global[3] = {1, (size_t)div_up(npix, t->fwd_vw), (size_t)n};
    size_t local[3] = {1, (size_t)t->fwd_local, 1};
    return cr_enqueue(cr_conv_fast_runtime(cf), kr, 3, global, t->fwd_local > 0 ? local : NULL);
}
