/* Test-time augmentation on the device (docs/fourier.md "One round trip per micrograph"): the 8
 * dihedral transforms of the padded binned image and the average of the
 * network's answers mapped back, so the image never leaves the device.
 *
 * Transform d of an h x w image (bit 2 transposes, bit 1 flips rows, bit 0
 * flips columns, applied to output coordinates in that order) gives an
 * oh x ow image, oh = w and ow = h when transposed. Kernels run on
 * (columns, rows) of the image they write. */

#ifdef CR_HAVE_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

/* Source pixel (row, column) in the untransformed h x w image of output
 * pixel (r, c) of transform d. */
inline int2 dihedral_source(int r, int c, int oh, int ow, int d)
{
    if (d & 1) c = ow - 1 - c;
    if (d & 2) r = oh - 1 - r;
    if (d & 4) {
        int t = r;
        r = c;
        c = t;
    }
    return (int2)(r, c);
}

/* out (oh x ow) = transform d of in (h x w). */
__kernel void dihedral(__global const float *in, const int h, const int w, const int d, __global float *out)
{
    int c = get_global_id(0), r = get_global_id(1);
    int oh = (d & 4) ? w : h, ow = (d & 4) ? h : w;
    if (c >= ow || r >= oh) return;
    int2 s = dihedral_source(r, c, oh, ow, d);
    out[r * ow + c] = in[s.x * w + s.y];
}

/* acc (h x w) += the untransformed res, where res (oh x ow) is the answer
 * for transform d. The sum runs in double where the device has it (as a
 * host sum would); else as a float pair (hi, lo) with Knuth's two-sum, which
 * holds 8 terms to within a float rounding of the exact sum. */
#ifdef CR_HAVE_FP64
typedef double acc_t;
#else
typedef float2 acc_t;
#endif

__kernel void dihedral_accumulate(__global acc_t *acc, const int h, const int w, const int d,
                                  __global const float *res, const int first)
{
    int c = get_global_id(0), r = get_global_id(1);
    if (c >= w || r >= h) return;
    int oh = (d & 4) ? w : h, ow = (d & 4) ? h : w;
    /* where (r, c) of the original went: the inverse of dihedral_source */
    int tr = r, tc = c;
    if (d & 4) {
        int t = tr;
        tr = tc;
        tc = t;
    }
    if (d & 2) tr = oh - 1 - tr;
    if (d & 1) tc = ow - 1 - tc;
    float v = res[tr * ow + tc];
    int i = r * w + c;
#ifdef CR_HAVE_FP64
    acc[i] = first ? (double)v : acc[i] + (double)v;
#else
    if (first) {
        acc[i] = (float2)(v, 0.0f);
    } else {
        float2 a = acc[i];
        float s = a.x + v, bb = s - a.x, e = (a.x - (s - bb)) + (v - bb);
        acc[i] = (float2)(s, a.y + e);
    }
#endif
}

/* out = acc / count, rounded once to float. */
__kernel void dihedral_mean(__global const acc_t *acc, const int n, const int count, __global float *out)
{
    int i = get_global_id(0);
    if (i >= n) return;
#ifdef CR_HAVE_FP64
    out[i] = (float)(acc[i] / (double)count);
#else
    out[i] = (acc[i].x + acc[i].y) / (float)count;
#endif
}
