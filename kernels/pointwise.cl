/* Elementwise layers of the network engine: fill, axpy, ReLU, residual add,
 * channel concat. One work-item per element of the written tensor, so no two
 * items ever write the same element; every buffer comes with an element
 * offset. Backward kernels accumulate (+=) into their gradients. */
#ifdef CR_REAL_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
#else
typedef float real;
#endif

/* x = value */
__kernel void nn_fill(__global real *x, const int xoff, const real value, const int n)
{
    int i = get_global_id(0);
    if (i < n) x[xoff + i] = value;
}

/* y += alpha * x */
__kernel void nn_axpy(__global real *y, const int yoff, __global const real *x, const int xoff,
                      const real alpha, const int n)
{
    int i = get_global_id(0);
    if (i < n) y[yoff + i] += alpha * x[xoff + i];
}

/* y = max(x, 0); in place allowed (same element read then written). */
__kernel void nn_relu_fwd(__global real *y, const int yoff, __global const real *x, const int xoff, const int n)
{
    int i = get_global_id(0);
    if (i < n) y[yoff + i] = fmax(x[xoff + i], (real)0);
}

/* dx += dy where y > 0 (y is the forward output; the gradient at 0 is 0). */
__kernel void nn_relu_bwd(__global real *dx, const int dxoff, __global const real *dy, const int dyoff,
                          __global const real *y, const int yoff, const int n)
{
    int i = get_global_id(0);
    if (i < n && y[yoff + i] > (real)0) dx[dxoff + i] += dy[dyoff + i];
}

/* y = a + b; y may alias a or b. */
__kernel void nn_add_fwd(__global real *y, const int yoff, __global const real *a, const int aoff,
                         __global const real *b, const int boff, const int n)
{
    int i = get_global_id(0);
    if (i < n) y[yoff + i] = a[aoff + i] + b[boff + i];
}

/* y (N, ca + cb, hw) = [a (N, ca, hw), b (N, cb, hw)] along channels; one item
 * per element of y, n = N (ca + cb) hw. */
__kernel void nn_concat_fwd(__global real *y, const int yoff, __global const real *a, const int aoff,
                            __global const real *b, const int boff, const int ca, const int cb, const int hw,
                            const int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    int p = i % hw, c = (i / hw) % (ca + cb), s = i / (hw * (ca + cb));
    y[yoff + i] = c < ca ? a[aoff + (s * ca + c) * hw + p] : b[boff + (s * cb + c - ca) * hw + p];
}

/* da += dy[:, :ca], db += dy[:, ca:]; has_a / has_b switch either off. */
__kernel void nn_concat_bwd(__global real *da, const int daoff, __global real *db, const int dboff,
                            __global const real *dy, const int dyoff, const int ca, const int cb, const int hw,
                            const int has_a, const int has_b, const int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    int p = i % hw, c = (i / hw) % (ca + cb), s = i / (hw * (ca + cb));
    if (c < ca) {
        if (has_a) da[daoff + (s * ca + c) * hw + p] += dy[dyoff + i];
    } else if (has_b) {
        db[dboff + (s * cb + c - ca) * hw + p] += dy[dyoff + i];
    }
}
