/* Elementwise layers of the network engine: fill, axpy, ReLU, residual add,
 * channel concat. Work-items own disjoint elements of the written tensor, so no two
 * items ever write the same element; every buffer comes with an element
 * offset. Backward kernels accumulate (+=) into their gradients. */
#include "nn_prelude.cl" /* `real`, real8_t, real16_t */

/* Every kernel handles PW_VW = 8 consecutive elements per work-item with vector loads and
 * stores (one item per element cost more in scheduling than the arithmetic on PoCL's CPU
 * device); the last, partial group goes element by element. global = ceil(n / 8). */
#define PW_VW 8
#define PW_BEGIN                       \
    int i0 = get_global_id(0) * PW_VW; \
    if (i0 >= n) return;               \
    int full = i0 + PW_VW <= n;

/* x = value */
__kernel void nn_fill(__global real *x, const int xoff, const real value, const int n)
{
    PW_BEGIN
    x += xoff + i0;
    if (full) vstore8((real8_t)(value), 0, x);
    else for (int j = 0; i0 + j < n; j++) x[j] = value;
}

/* y += alpha * x */
__kernel void nn_axpy(__global real *y, const int yoff, __global const real *x, const int xoff,
                      const real alpha, const int n)
{
    PW_BEGIN
    y += yoff + i0;
    x += xoff + i0;
    if (full) vstore8(vload8(0, y) + alpha * vload8(0, x), 0, y);
    else for (int j = 0; i0 + j < n; j++) y[j] += alpha * x[j];
}

/* y = max(x, 0); in place allowed (same element read then written). */
__kernel void nn_relu_fwd(__global real *y, const int yoff, __global const real *x, const int xoff, const int n)
{
    PW_BEGIN
    y += yoff + i0;
    x += xoff + i0;
    if (full) vstore8(fmax(vload8(0, x), (real8_t)(0)), 0, y);
    else for (int j = 0; i0 + j < n; j++) y[j] = fmax(x[j], (real)0);
}

/* dx += dy where y > 0 (y is the forward output; the gradient at 0 is 0). */
__kernel void nn_relu_bwd(__global real *dx, const int dxoff, __global const real *dy, const int dyoff,
                          __global const real *y, const int yoff, const int n)
{
    PW_BEGIN
    dx += dxoff + i0;
    dy += dyoff + i0;
    y += yoff + i0;
    for (int j = 0; j < PW_VW && i0 + j < n; j++)
        if (y[j] > (real)0) dx[j] += dy[j];
    (void)full;
}

/* y = a + b; y may alias a or b. */
__kernel void nn_add_fwd(__global real *y, const int yoff, __global const real *a, const int aoff,
                         __global const real *b, const int boff, const int n)
{
    PW_BEGIN
    y += yoff + i0;
    a += aoff + i0;
    b += boff + i0;
    if (full) vstore8(vload8(0, a) + vload8(0, b), 0, y);
    else for (int j = 0; i0 + j < n; j++) y[j] = a[j] + b[j];
}

/* The source of y element i of a concatenation: which input (0: a, 1: b) and the element
 * offset in it, with p the position inside its plane. */
static int concat_src(int i, int ca, int cb, int hw, int *p)
{
    *p = i % hw;
    int c = (i / hw) % (ca + cb), s = i / (hw * (ca + cb));
    return c < ca ? (s * ca + c) * hw + *p : -1 - ((s * cb + c - ca) * hw + *p);
}

/* y (N, ca + cb, hw) = [a (N, ca, hw), b (N, cb, hw)] along channels, n = N (ca + cb) hw.
 * The 8 elements of an item come from one plane unless the group straddles two. */
__kernel void nn_concat_fwd(__global real *y, const int yoff, __global const real *a, const int aoff,
                            __global const real *b, const int boff, const int ca, const int cb, const int hw,
                            const int n)
{
    PW_BEGIN
    int p, src = concat_src(i0, ca, cb, hw, &p);
    __global const real *from = src >= 0 ? a + aoff + src : b + boff + (-1 - src);
    if (full && p + PW_VW <= hw) {
        vstore8(vload8(0, from), 0, y + yoff + i0);
        return;
    }
    for (int j = 0; j < PW_VW && i0 + j < n; j++) {
        int q, sj = concat_src(i0 + j, ca, cb, hw, &q);
        y[yoff + i0 + j] = sj >= 0 ? a[aoff + sj] : b[boff + (-1 - sj)];
    }
}

/* da += dy[:, :ca], db += dy[:, ca:]; has_a / has_b switch either off. Items
 * write disjoint elements only while da and db do not overlap: the host runs
 * a concat of a tensor with itself as two launches, one flag each. */
__kernel void nn_concat_bwd(__global real *da, const int daoff, __global real *db, const int dboff,
                            __global const real *dy, const int dyoff, const int ca, const int cb, const int hw,
                            const int has_a, const int has_b, const int n)
{
    PW_BEGIN
    int p, src = concat_src(i0, ca, cb, hw, &p);
    if (full && p + PW_VW <= hw) {
        if (src >= 0 ? !has_a : !has_b) return;
        __global real *to = src >= 0 ? da + daoff + src : db + dboff + (-1 - src);
        vstore8(vload8(0, to) + vload8(0, dy + dyoff + i0), 0, to);
        return;
    }
    for (int j = 0; j < PW_VW && i0 + j < n; j++) {
        int q, sj = concat_src(i0 + j, ca, cb, hw, &q);
        if (sj >= 0 && has_a) da[daoff + sj] += dy[dyoff + i0 + j];
        if (sj < 0 && has_b) db[dboff + (-1 - sj)] += dy[dyoff + i0 + j];
    }
}
