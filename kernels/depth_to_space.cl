/* Depth-to-space with block 2 in TensorFlow's channel order:
 * y (N, C, 2h, 2w), x (N, 4C, h, w), y[n, c, 2r + i, 2s + j] = x[n, (2i + j)C + c, r, s].
 * A permutation, so the backward is the inverse gather (accumulated). */
#ifdef CR_REAL_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
#else
typedef float real;
#endif

/* index in x of y element i, y having c channels of (2h, 2w) */
int d2s_source(int i, int c, int h, int w)
{
    int W2 = 2 * w, H2 = 2 * h;
    int X = i % W2, Y = (i / W2) % H2, ch = (i / (W2 * H2)) % c, img = i / (W2 * H2 * c);
    int si = Y & 1, sj = X & 1;
    return ((img * 4 * c + (2 * si + sj) * c + ch) * h + (Y >> 1)) * w + (X >> 1);
}

/* one item per y element; n = N*C*4hw */
__kernel void d2s_fwd(__global real *y, const int yoff, __global const real *x, const int xoff, const int c,
                      const int h, const int w, const int n)
{
    int i = get_global_id(0);
    if (i < n) y[yoff + i] = x[xoff + d2s_source(i, c, h, w)];
}

/* dx[source(i)] += dy[i]; the map is one-to-one, so items never collide */
__kernel void d2s_bwd(__global real *dx, const int dxoff, __global const real *dy, const int dyoff, const int c,
                      const int h, const int w, const int n)
{
    int i = get_global_id(0);
    if (i < n) dx[dxoff + d2s_source(i, c, h, w)] += dy[dyoff + i];
}
