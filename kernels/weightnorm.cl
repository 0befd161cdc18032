/* Weight normalisation (Salimans & Kingma 2016, "Weight Normalization: A
 * Simple Reparameterization to Accelerate Training of Deep Neural Networks",
 * eq. 2 and 3), one row per output channel of a kernel (cout, cin, k, k):
 *   w = g v / ||v||
 *   dL/dg = dL/dw . v / ||v||
 *   dL/dv = (g / ||v||) dL/dw - (g dL/dg / ||v||^2) v
 * ||v||^2 is clamped below at WN_MIN_SQ (as tf.nn.l2_normalize does with
 * 1e-12) so an all-zero row gives w = 0 instead of NaN; in the clamped region
 * the norm is a constant and the second term of dL/dv vanishes.
 * One work-item per row: rows are short (cin k k <= a few thousand). */
#include "nn_prelude.cl" /* `real`, real8_t, real16_t */

#ifndef WN_MIN_SQ
#define WN_MIN_SQ 1e-12
#endif

__kernel void weightnorm_fwd(__global real *w, const int woff, __global const real *v, const int voff,
                             __global const real *g, const int goff, const int rows, const int len)
{
    int r = get_global_id(0);
    if (r >= rows) return;
    __global const real *vr = v + voff + r * len;
    real ss = (real)0;
    for (int j = 0; j < len; j++) ss += vr[j] * vr[j];
    real scale = g[goff + r] / sqrt(fmax(ss, (real)WN_MIN_SQ));
    __global real *wr = w + woff + r * len;
    for (int j = 0; j < len; j++) wr[j] = scale * vr[j];
}

__kernel void weightnorm_bwd(__global real *dv, const int dvoff, __global real *dg, const int dgoff,
                             __global const real *dw, const int dwoff, __global const real *v, const int voff,
                             __global const real *g, const int goff, const int rows, const int len)
{
    int r = get_global_id(0);
    if (r >= rows) return;
    __global const real *vr = v + voff + r * len;
    __global const real *dwr = dw + dwoff + r * len;
    real ss = (real)0, dot = (real)0;
    for (int j = 0; j < len; j++) {
        ss += vr[j] * vr[j];
        dot += dwr[j] * vr[j];
    }
    real inv = (real)1 / sqrt(fmax(ss, (real)WN_MIN_SQ));
    real gr = g[goff + r];
    real dgr = dot * inv;
    real a = gr * inv;
    real b = ss > (real)WN_MIN_SQ ? gr * dgr * inv * inv : (real)0;
    dg[dgoff + r] += dgr;
    __global real *dvr = dv + dvoff + r * len;
    for (int j = 0; j < len; j++) dvr[j] += a * dwr[j] - b * vr[j];
}
