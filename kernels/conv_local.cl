/* GPU-shaped convolution: a work-group-tiled implicit GEMM that stages slices of both operands
 * in local memory, the blocking of CLBlast's xgemm (its tunable names MWG, NWG, KWG, MDIMC,
 * NDIMC, VWM, after Matsumoto et al. 2012 and C. Nugteren's OpenCL SGEMM tutorial; the design
 * is summarised in docs/perf-conv.md, "Work-group tiled variant"). Host: host/nn/conv_local.c.
 *
 * Per image n the forward is the GEMM Y[co, p] = sum_r Wt[r, co] * B[r, p] with
 *   r = ci*K*K + kh*K + kw  (the reduction, R = cin*K*K),
 *   p = oy*wout + ox        (the output pixels, npix = hout*wout, NCHW order),
 *   Wt = conv_prep_weights' [ci][tap][co_pad] layout (co contiguous, zero past cout),
 *   B[r, p] = Xp[ci, oy*S + kh, kw % S, ox + kw / S] in conv_pad's padded, phase-split layout
 *   (kernels/conv_gemm.cl; for 1x1 stride 1 the raw input, hout = 1, wout = h*w).
 * Both preparations are conv_gemm.cl's: this file only holds the GEMM.
 *
 * A work-group of LM_NDIMC x LM_MDIMC work-items computes an LM_MWG (channels) x LM_NWG
 * (pixels) tile of Y. It walks R in slices of LM_KWG: all its work-items copy the KWG x MWG
 * slice of Wt and the KWG x NWG slice of B into local memory, meet at a barrier, and each
 * accumulates its MWI x NWI register sub-tile (MWI = MWG / MDIMC, NWI = NWG / NDIMC) from
 * local memory; a second barrier guards the slice before it is overwritten.
 * The sub-tile is strided: work-item (tn, tm) owns channels tm + i*MDIMC and pixels
 * tn + j*NDIMC, so neighbouring work-items read neighbouring local words (no bank conflicts,
 * broadcasts along the other axis) and store neighbouring pixels (coalesced writes).
 * Staging loads are coalesced too: consecutive work-items copy consecutive channels of Wt
 * (LM_VWM of them per vector load) and consecutive pixels of B.
 *
 * Edges: the grid covers ceil(npix / NWG) x ceil(cout / MWG) whole tiles and every work-item
 * reaches every barrier. Pixels past npix are read at npix - 1 (in range, never stored);
 * channels past cout read Wt's zero padding (cout_pad is a multiple of MWG); reduction rows
 * past R, in the last slice only, are staged as zeros. Stores are masked per element.
 *
 * The fused epilogue is conv_fwd's: y = act(acc + b) + res (flags: CR_CONV_FLAG_*), res may
 * alias y (each element is read and written by the same work-item).
 *
 * Compile-time: CONV_K, CONV_S as in conv_gemm.cl, and the LM_* tunables below; the host
 * checks their constraints (divisibility, local memory, work-group size) before building. */

#ifndef LM_MWG /* output channels per work-group tile */
#define LM_MWG 64
#endif
#ifndef LM_NWG /* output pixels per work-group tile */
#define LM_NWG 64
#endif
#ifndef LM_KWG /* reduction rows (input channel, tap) per local-memory slice */
#define LM_KWG 16
#endif
#ifndef LM_MDIMC /* work-items along the channels (local size dimension 1) */
#define LM_MDIMC 16
#endif
#ifndef LM_NDIMC /* work-items along the pixels (local size dimension 0) */
#define LM_NDIMC 16
#endif
#ifndef LM_VWM /* channels per vector load when staging the weights: 1, 2, 4 or 8 */
#define LM_VWM 4
#endif

#define LM_MWI (LM_MWG / LM_MDIMC) /* channels per work-item */
#define LM_NWI (LM_NWG / LM_NDIMC) /* pixels per work-item */
#define LM_NT (LM_MDIMC * LM_NDIMC) /* work-items per work-group */
#define LM_KK (CONV_K * CONV_K)
#define LM_A_LOADS (LM_KWG * LM_MWG / (LM_NT * LM_VWM)) /* weight vectors each work-item stages */
#define LM_B_LOADS (LM_KWG * LM_NWG / LM_NT)            /* input floats each work-item stages */

#if LM_MWG % LM_MDIMC || LM_NWG % LM_NDIMC || (LM_KWG * LM_MWG) % (LM_NT * LM_VWM) || \
    (LM_KWG * LM_NWG) % LM_NT || LM_MWG % LM_VWM
#error "conv_local.cl: LM_* tunables violate a divisibility constraint (see host/nn/conv_local.c)"
#endif

#define LM_CAT_(a, b) a##b
#define LM_CAT(a, b) LM_CAT_(a, b)
#if LM_VWM == 1
#define AVEC float
#define AVLOAD(p) (*(p))
#define AVSTORE(v, p) (*(p) = (v))
#else
#define AVEC LM_CAT(float, LM_VWM)
#define AVLOAD(p) LM_CAT(vload, LM_VWM)(0, p)
#define AVSTORE(v, p) LM_CAT(vstore, LM_VWM)(v, 0, p)
#endif

#include "conv_flags.h"

/* Arguments as conv_fwd's (conv_gemm.cl); cout_pad must be a multiple of LM_MWG.
 * global = (ceil(hout*wout / NWG) * NDIMC, cout_pad / MWG * MDIMC, n), local = (NDIMC, MDIMC, 1). */
__kernel __attribute__((reqd_work_group_size(LM_NDIMC, LM_MDIMC, 1)))
void conv_lfwd(__global float *y, const int y_off, __global const float *x, const int x_off,
               __global const float *wt, __global const float *bias, const int b_off,
               __global const float *res, const int r_off, const int flags,
               const int cin, const int cout, const int cout_pad, const int hout,
               const int wout, const int hp, const int wq)
{
    __local float als[LM_KWG * LM_MWG]; /* [kk][m]: the weight slice */
    __local float bls[LM_KWG * LM_NWG]; /* [kk][j]: the input slice */
    __local int colb[LM_NWG];           /* offset of tile pixel j in a phase-split input plane */

    y += y_off;
    bias += b_off;
    res += r_off;
    const int tn = get_local_id(0), tm = get_local_id(1), tid = tm * LM_NDIMC + tn;
    const int p0 = get_group_id(0) * LM_NWG, co0 = get_group_id(1) * LM_MWG, n = get_global_id(2);
    const int npix = hout * wout, R = cin * LM_KK;
    const size_t plane = (size_t)hp * CONV_S * wq;
    __global const float *xn = x + x_off + (size_t)n * cin * plane;
    __global const float *wtile = wt + co0;

    /* The pixel -> (row, column) divisions once per tile, not once per staged element. */
    for (int j = tid; j < LM_NWG; j += LM_NT) {
        int p = min(p0 + j, npix - 1);
        int oy = p / wout, ox = p - oy * wout;
        colb[j] = oy * CONV_S * CONV_S * wq + ox;
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    float acc[LM_MWI][LM_NWI];
    _Pragma("unroll") for (int i = 0; i < LM_MWI; i++)
        _Pragma("unroll") for (int j = 0; j < LM_NWI; j++) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < R; k0 += LM_KWG) {
        /* stage Wt[k0 .. k0+KWG, co0 .. co0+MWG] */
        _Pragma("unroll") for (int l = 0; l < LM_A_LOADS; l++) {
            int e = (tid + l * LM_NT) * LM_VWM;
            int kk = e / LM_MWG, m = e - kk * LM_MWG;
            AVEC v = (AVEC)(0.0f);
            if (k0 + kk < R) v = AVLOAD(wtile + (size_t)(k0 + kk) * cout_pad + m);
            AVSTORE(v, als + e);
        }
        /* stage B[k0 .. k0+KWG, p0 .. p0+NWG] */
        _Pragma("unroll") for (int l = 0; l < LM_B_LOADS; l++) {
            int e = tid + l * LM_NT;
            int kk = e / LM_NWG, j = e - kk * LM_NWG, r = k0 + kk;
            float v = 0.0f;
            if (r < R) {
                int ci = r / LM_KK, tap = r - ci * LM_KK, kh = tap / CONV_K, kw = tap - kh * CONV_K;
                v = xn[(size_t)ci * plane + (kh * CONV_S + kw % CONV_S) * wq + kw / CONV_S + colb[j]];
            }
            bls[e] = v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < LM_KWG; kk++) {
            float a[LM_MWI], b[LM_NWI];
            _Pragma("unroll") for (int i = 0; i < LM_MWI; i++) a[i] = als[kk * LM_MWG + tm + i * LM_MDIMC];
            _Pragma("unroll") for (int j = 0; j < LM_NWI; j++) b[j] = bls[kk * LM_NWG + tn + j * LM_NDIMC];
            _Pragma("unroll") for (int i = 0; i < LM_MWI; i++)
                _Pragma("unroll") for (int j = 0; j < LM_NWI; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    _Pragma("unroll") for (int i = 0; i < LM_MWI; i++) {
        int co = co0 + tm + i * LM_MDIMC;
        if (co >= cout) break; /* channels grow with i */
        float bv = (flags & CR_CONV_FLAG_BIAS) ? bias[co] : 0.0f;
        size_t ob = ((size_t)n * cout + co) * npix;
        _Pragma("unroll") for (int j = 0; j < LM_NWI; j++) {
            int p = p0 + tn + j * LM_NDIMC;
            if (p >= npix) break;
            float v = acc[i][j] + bv;
            if (flags & CR_CONV_FLAG_RELU) v = fmax(v, 0.0f);
            if (flags & CR_CONV_FLAG_RESIDUAL) v += res[ob + p];
            y[ob + p] = v;
        }
    }
}
