/* Elementwise vector kernels shared by every part: fill, scale, axpy.
 * One work-item per element; n may be any size (the host rounds the range up). */

__kernel void fill_f32(__global float *x, const float value, const int n)
{
    int i = get_global_id(0);
    if (i < n) x[i] = value;
}

/* x = alpha * x */
__kernel void scale_f32(__global float *x, const float alpha, const int n)
{
    int i = get_global_id(0);
    if (i < n) x[i] *= alpha;
}

/* y = alpha * x + y */
__kernel void axpy_f32(__global float *y, __global const float *x, const float alpha, const int n)
{
    int i = get_global_id(0);
    if (i < n) y[i] += alpha * x[i];
}
