/* 2x2 max-pool with stride 2 on even sizes: forward, and backward that routes
 * each output gradient to its window's argmax, recomputed from x. Ties: the
 * first maximum in the order (0,0), (0,1), (1,0), (1,1) wins (strict >), so
 * forward and backward agree. One work-item per output element; windows do
 * not overlap, so the backward's += never races. */
#ifdef CR_REAL_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
#else
typedef float real;
#endif

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

/* y (N*C, h/2, w/2); n = N*C*(h/2)*(w/2) */
__kernel void maxpool2_fwd(__global real *y, const int yoff, __global const real *x, const int xoff,
                           const int h, const int w, const int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    int wo = w / 2, ho = h / 2;
    int ox = i % wo, oy = (i / wo) % ho, plane = i / (wo * ho);
    __global const real *xs = x + xoff;
    y[yoff + i] = xs[window_argmax(xs, plane, oy, ox, h, w)];
}

/* dx[argmax] += dy */
__kernel void maxpool2_bwd(__global real *dx, const int dxoff, __global const real *dy, const int dyoff,
                           __global const real *x, const int xoff, const int h, const int w, const int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    int wo = w / 2, ho = h / 2;
    int ox = i % wo, oy = (i / wo) % ho, plane = i / (wo * ho);
    dx[dxoff + window_argmax(x + xoff, plane, oy, ox, h, w)] += dy[dyoff + i];
}
