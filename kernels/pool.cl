/* 2x2 max-pool with stride 2 on even sizes: forward, and backward that routes
 * each output gradient to its window's argmax, recomputed from x. Ties: the
 * first maximum in the order (0,0), (0,1), (1,0), (1,1) wins (strict >), so
 * forward and backward agree. One work-item per output element; windows do
 * not overlap, so the backward's += never races. */
#include "nn_prelude.cl" /* `real`, real8_t, real16_t */

/* x (N*C, h, w) -> index in x of the argmax of output (plane, oy, ox). */
int window_argmax(__global const real *x, int plane, int oy, int ox, int h, int w)
{
    int base = (plane * h + 2 * oy) * w + 2 * ox;
    int best = base;
    if (x[base + 1] > x[best]) best = base + 1;
    if (x[base + w] > x[best]) best = base + w;
    if (x[base + w + 1] > x[best]) best = base + w + 1;
    return best;
}

#ifdef CR_REAL_DOUBLE
#define TO_MASK convert_long8 /* select on double8 takes a long8 mask */
#else
#define TO_MASK convert_int8
#endif

/* The window maxima of 8 outputs from the two input rows a, b (16 columns each), and which
 * of the four taps won (0..3), with the scalar rule's strict > in the same order. */
#define POOL_WINDOWS(a, b, m, which)                                               \
    real8_t m = (a).even;                                                          \
    int8 which = (int8)(0);                                    \
    {                                                                              \
        real8_t cand[3] = {(a).odd, (b).even, (b).odd};                           \
        for (int t = 0; t < 3; t++) {                                              \
            real8_t v = cand[t];                                                   \
            int8 gt = convert_int8(v > m);                               \
            m = select(m, v, v > m);                                               \
            which = select(which, (int8)(t + 1), gt);                    \
        }                                                                          \
    }

/* y (N*C, h/2, w/2). global = (ceil(wo / 8), ho, N*C): 8 outputs of one row per work-item,
 * from two 16-wide row loads (one item per output with four scalar loads and index
 * divisions was several times slower). */
__kernel void maxpool2_fwd(__global real *y, const int yoff, __global const real *x, const int xoff,
                           const int h, const int w)
{
    int wo = w / 2, ho = h / 2;
    int ox0 = get_global_id(0) * 8, oy = get_global_id(1), plane = get_global_id(2);
    if (ox0 >= wo) return;
    __global const real *xs = x + xoff;
    __global real *yo = y + yoff + ((size_t)plane * ho + oy) * wo + ox0;
    if (ox0 + 8 <= wo) {
        __global const real *r0 = xs + ((size_t)plane * h + 2 * oy) * w + 2 * ox0;
        real16_t a = vload16(0, r0), b = vload16(0, r0 + w);
        POOL_WINDOWS(a, b, m, which)
        (void)which;
        vstore8(m, 0, yo);
        return;
    }
    for (int j = 0; ox0 + j < wo; j++) yo[j] = xs[window_argmax(xs, plane, oy, ox0 + j, h, w)];
}

/* dx[argmax] += dy; same range as the forward. Windows do not overlap: no races. */
__kernel void maxpool2_bwd(__global real *dx, const int dxoff, __global const real *dy, const int dyoff,
                           __global const real *x, const int xoff, const int h, const int w)
{
    int wo = w / 2, ho = h / 2;
    int ox0 = get_global_id(0) * 8, oy = get_global_id(1), plane = get_global_id(2);
    if (ox0 >= wo) return;
    __global const real *xs = x + xoff;
    __global real *dxs = dx + dxoff;
    __global const real *g = dy + dyoff + ((size_t)plane * ho + oy) * wo + ox0;
    if (ox0 + 8 <= wo) {
        size_t o = ((size_t)plane * h + 2 * oy) * w + 2 * ox0;
        real16_t a = vload16(0, xs + o), b = vload16(0, xs + o + w);
        POOL_WINDOWS(a, b, m, which)
        (void)m;
        real8_t gv = vload8(0, g), z = (real8_t)(0);
        real8_t g0 = select(z, gv, TO_MASK(which == 0)), g1 = select(z, gv, TO_MASK(which == 1));
        real8_t g2 = select(z, gv, TO_MASK(which == 2)), g3 = select(z, gv, TO_MASK(which == 3));
        real16_t d0 = vload16(0, dxs + o), d1 = vload16(0, dxs + o + w);
        d0 += (real16_t)(g0.s0, g1.s0, g0.s1, g1.s1, g0.s2, g1.s2, g0.s3, g1.s3, g0.s4, g1.s4, g0.s5, g1.s5, g0.s6,
                         g1.s6, g0.s7, g1.s7);
        d1 += (real16_t)(g2.s0, g3.s0, g2.s1, g3.s1, g2.s2, g3.s2, g2.s3, g3.s3, g2.s4, g3.s4, g2.s5, g3.s5, g2.s6,
                         g3.s6, g2.s7, g3.s7);
        vstore16(d0, 0, dxs + o);
        vstore16(d1, 0, dxs + o + w);
        return;
    }
    for (int j = 0; ox0 + j < wo; j++) dxs[window_argmax(xs, plane, oy, ox0 + j, h, w)] += g[j];
}
