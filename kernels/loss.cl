/* Mean squared error: per-work-item partial sums of (p - t)^2 (the host adds
 * them in double and divides by the count), and the gradient
 * dp += scale (p - t) with scale = 2 dloss / count. */
#include "nn_prelude.cl" /* `real`, real8_t, real16_t */

/* global = parts items; item i sums elements i, i + parts, i + 2 parts, ... */
__kernel void mse_partial(__global real *partial, __global const real *p, const int poff,
                          __global const real *t, const int toff, const int n, const int parts)
{
    int i = get_global_id(0);
    if (i >= parts) return;
    real acc = (real)0;
    for (int j = i; j < n; j += parts) {
        real d = p[poff + j] - t[toff + j];
        acc += d * d;
    }
    partial[i] = acc;
}

__kernel void mse_bwd(__global real *dp, const int dpoff, __global const real *p, const int poff,
                      __global const real *t, const int toff, const real scale, const int n)
{
    int i = get_global_id(0);
    if (i < n) dp[dpoff + i] += scale * (p[poff + i] - t[toff + i]);
}
