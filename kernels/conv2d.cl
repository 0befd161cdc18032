/* Reference 2-D convolution, NCHW, square k x k kernel, stride s, TensorFlow
 * "same" padding (pad_y, pad_x before; the host derives them), with the fused
 * epilogue y = [relu](conv(x, w) + b) [+ res]. Simple and correct, one
 * work-item per output element; faster kernels replace these behind the same
 * host API (host/nn/conv2d.c).
 *
 * Index conventions: x (N, cin, h, w), w (cout, cin, k, k), y (N, cout, ho, wo);
 * output (oy, ox) reads input rows oy*s - pad_y + ky, columns ox*s - pad_x + kx.
 * flags: CR_CONV_FLAG_* of conv_flags.h. */
#include "nn_prelude.cl"
#include "conv_flags.h"

/* Gradient at the pre-activation (before ReLU) of output element i: dy[i],
 * masked by the ReLU, which was active where y > 0 (or y > res when the
 * residual was added after it). */
real dpre_at(__global const real *dy, __global const real *y, __global const real *res, int i, int flags)
{
    real g = dy[i];
    if (flags & CR_CONV_FLAG_RELU) {
        real thr = (flags & CR_CONV_FLAG_RESIDUAL) ? res[i] : (real)0;
        if (!(y[i] > thr)) g = (real)0;
    }
    return g;
}

/* global (wo, ho, N*cout) */
__kernel void conv2d_fwd(__global real *y, const int yoff, __global const real *x, const int xoff,
                         __global const real *res, const int resoff, __global const real *w, const int woff,
                         __global const real *b, const int boff, const int n, const int cin, const int h,
                         const int wd, const int cout, const int ho, const int wo, const int k, const int s,
                         const int pad_y, const int pad_x, const int flags)
{
    int ox = get_global_id(0), oy = get_global_id(1), nc = get_global_id(2);
    if (ox >= wo || oy >= ho || nc >= n * cout) return;
    int img = nc / cout, co = nc % cout;
    __global const real *xi = x + xoff + img * cin * h * wd;
    __global const real *wc = w + woff + co * cin * k * k;
    real acc = (flags & CR_CONV_FLAG_BIAS) ? b[boff + co] : (real)0;
    for (int ci = 0; ci < cin; ci++) {
        for (int ky = 0; ky < k; ky++) {
            int iy = oy * s - pad_y + ky;
            if (iy < 0 || iy >= h) continue;
            for (int kx = 0; kx < k; kx++) {
                int ix = ox * s - pad_x + kx;
                if (ix < 0 || ix >= wd) continue;
                acc += wc[(ci * k + ky) * k + kx] * xi[(ci * h + iy) * wd + ix];
            }
        }
    }
    if (flags & CR_CONV_FLAG_RELU) acc = fmax(acc, (real)0);
    int o = (nc * ho + oy) * wo + ox;
    if (flags & CR_CONV_FLAG_RESIDUAL) acc += res[resoff + o];
    y[yoff + o] = acc;
}

/* dx += sum over (co, ky, kx) of w * dpre at the outputs that read (iy, ix):
 * oy = (iy + pad_y - ky) / s when that divides exactly and lands inside.
 * global (w, h, N*cin) */
__kernel void conv2d_bwd_data(__global real *dx, const int dxoff, __global const real *dy, const int dyoff,
                              __global const real *y, const int yoff, __global const real *res, const int resoff,
                              __global const real *w, const int woff, const int n, const int cin, const int h,
                              const int wd, const int cout, const int ho, const int wo, const int k, const int s,
                              const int pad_y, const int pad_x, const int flags)
{
    int ix = get_global_id(0), iy = get_global_id(1), nc = get_global_id(2);
    if (ix >= wd || iy >= h || nc >= n * cin) return;
    int img = nc / cin, ci = nc % cin;
    __global const real *dyi = dy + dyoff + img * cout * ho * wo;
    __global const real *yi = y + yoff + img * cout * ho * wo;
    __global const real *ri = res + resoff + img * cout * ho * wo;
    real acc = (real)0;
    for (int co = 0; co < cout; co++) {
        __global const real *wc = w + woff + (co * cin + ci) * k * k;
        for (int ky = 0; ky < k; ky++) {
            int ty = iy + pad_y - ky;
            if (ty < 0 || ty % s) continue;
            int oy = ty / s;
            if (oy >= ho) continue;
            for (int kx = 0; kx < k; kx++) {
                int tx = ix + pad_x - kx;
                if (tx < 0 || tx % s) continue;
                int ox = tx / s;
                if (ox >= wo) continue;
                acc += wc[ky * k + kx] * dpre_at(dyi, yi, ri, (co * ho + oy) * wo + ox, flags);
            }
        }
    }
    dx[dxoff + (nc * h + iy) * wd + ix] += acc;
}

/* dw[co, ci, ky, kx] += sum over (img, oy, ox) of dpre * x at the tap.
 * global (k*k, cin, cout) */
__kernel void conv2d_bwd_weight(__global real *dw, const int dwoff, __global const real *dy, const int dyoff,
                                __global const real *y, const int yoff, __global const real *res,
                                const int resoff, __global const real *x, const int xoff, const int n,
                                const int cin, const int h, const int wd, const int cout, const int ho,
                                const int wo, const int k, const int s, const int pad_y, const int pad_x,
                                const int flags)
{
    int t = get_global_id(0), ci = get_global_id(1), co = get_global_id(2);
    if (t >= k * k || ci >= cin || co >= cout) return;
    int ky = t / k, kx = t % k;
    real acc = (real)0;
    for (int img = 0; img < n; img++) {
        __global const real *xi = x + xoff + (img * cin + ci) * h * wd;
        int obase = (img * cout + co) * ho * wo;
        for (int oy = 0; oy < ho; oy++) {
            int iy = oy * s - pad_y + ky;
            if (iy < 0 || iy >= h) continue;
            for (int ox = 0; ox < wo; ox++) {
                int ix = ox * s - pad_x + kx;
                if (ix < 0 || ix >= wd) continue;
                int o = obase + oy * wo + ox;
                acc += dpre_at(dy + dyoff, y + yoff, res + resoff, o, flags) * xi[iy * wd + ix];
            }
        }
    }
    dw[dwoff + ((co * cin + ci) * k + ky) * k + kx] += acc;
}

/* db[co] += sum over (img, oy, ox) of dpre. global (cout) */
__kernel void conv2d_bwd_bias(__global real *db, const int dboff, __global const real *dy, const int dyoff,
                              __global const real *y, const int yoff, __global const real *res, const int resoff,
                              const int n, const int cout, const int ho, const int wo, const int flags)
{
    int co = get_global_id(0);
    if (co >= cout) return;
    real acc = (real)0;
    for (int img = 0; img < n; img++) {
        int obase = (img * cout + co) * ho * wo;
        for (int p = 0; p < ho * wo; p++) acc += dpre_at(dy + dyoff, y + yoff, res + resoff, obase + p, flags);
    }
    db[dboff + co] += acc;
}
