/* Backward to the input of a stride-2 convolution by output phases (host/nn/conv_s2.c),
 * instead of a stride-1 convolution over dY dilated with zeros (three of every four
 * multiplies by zero).
 *
 * The forward reads x[oy*2 + kh - pt, ox*2 + kw - pl] (TF "same", cr_conv2d_same), so
 *   dx[iy, ix] = sum over co and the taps with iy + pt - kh and ix + pl - kw even of
 *                w[co, ci, kh, kw] * dy[(iy + pt - kh) / 2, (ix + pl - kw) / 2].
 * A dx row iy = 2a + py uses the taps kh = kh0 + 2j, kh0 = (py + pt) % 2, and dY row
 * a + (py + pt - kh) / 2: a stride-1 correlation of dY with the rows of one parity. Along x
 * each tap kw belongs to one column phase px = (kw + pl) % 2 and reads dY column
 * b + SX(kw) for dx column 2b + px. A work-item holds CONV_TM channels x CONV_VW column
 * pairs of one dx row for both column phases (2 CONV_TM accumulators), loads the few dY
 * vectors of distinct shifts once per (co, row tap) and interleaves the two phases into
 * contiguous dx vectors at the store.
 *
 * Same sums as the dilated path: per output, co outer, then kh and kw descending (the
 * flipped kernel's tap order in conv_fwd), and that path's extra terms are exact zeros, so
 * both give the same floats.
 *
 * Compile-time: CONV_K, S2_PT and S2_PL (the forward's padding before, 0..CONV_K-1),
 * CONV_TM, CONV_VW (4, 8 or 16). */

#ifndef CONV_TM
#define CONV_TM 8
#endif
#ifndef CONV_VW
#define CONV_VW 8
#endif
#ifndef S2_PT
#define S2_PT 0
#endif
#ifndef S2_PL
#define S2_PL 0
#endif

#include "conv_flags.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VEC CAT(float, CONV_VW)
#define VLOAD CAT(vload, CONV_VW)
#define VSTORE CAT(vstore, CONV_VW)

/* column phase of tap kw and its dY column shift; the extremes over the taps */
#define PX(kw) (((kw) + S2_PL) & 1)
#define SX(kw) ((PX(kw) + S2_PL - (kw)) / 2)
/* SX does not grow with kw (it drops by one after each phase-1 tap): extremes at the ends */
#define SX_TOP SX(0)
#define SX_BOT SX(CONV_K - 1)
#define NSX (SX_TOP - SX_BOT + 1)

/* Interleaves a (even columns) and b (odd columns) into lo, hi (2 CONV_VW columns). */
#if CONV_VW == 16
#define INTERLEAVE(a, b, lo, hi)                                                                   \
    lo = shuffle2(a, b, (uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));        \
    hi = shuffle2(a, b, (uint16)(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31))
#elif CONV_VW == 8
#define INTERLEAVE(a, b, lo, hi)                                                                   \
    lo = shuffle2(a, b, (uint8)(0, 8, 1, 9, 2, 10, 3, 11));                                        \
    hi = shuffle2(a, b, (uint8)(4, 12, 5, 13, 6, 14, 7, 15))
#else
#define INTERLEAVE(a, b, lo, hi)                                                                   \
    lo = shuffle2(a, b, (uint4)(0, 4, 1, 5));                                                      \
    hi = shuffle2(a, b, (uint4)(2, 6, 3, 7))
#endif

/* The taps of one row parity KH0: for co, for kh = KH0 + 2j descending, the NSX dY vectors
 * of the row, then kw descending into the accumulator of its column phase. wt is
 * conv_prep_weights' mode 1 layout [co][flipped tap][ci_pad]. */
#define S2_LOOP(KH0)                                                                               \
    for (int co = 0; co < cout; co++) {                                                            \
        _Pragma("unroll") for (int j = (CONV_K - (KH0) + 1) / 2 - 1; j >= 0; j--) {                \
            const int kh = (KH0) + 2 * j;                                                          \
            __global const float *rp = yb - j * wq;                                                \
            VEC dv[NSX];                                                                           \
            _Pragma("unroll") for (int s = 0; s < NSX; s++) dv[s] = VLOAD(0, rp + SX_BOT + s);     \
            _Pragma("unroll") for (int kw = CONV_K - 1; kw >= 0; kw--) {                           \
                __global const float *wp = wc + (CONV_K * CONV_K - 1 - (kh * CONV_K + kw)) * ci_pad; \
                VEC xv = dv[SX(kw) - SX_BOT];                                                      \
                if (PX(kw) == 0) {                                                                 \
                    _Pragma("unroll") for (int i = 0; i < CONV_TM; i++) a0[i] = fma((VEC)(wp[i]), xv, a0[i]); \
                } else {                                                                           \
                    _Pragma("unroll") for (int i = 0; i < CONV_TM; i++) a1[i] = fma((VEC)(wp[i]), xv, a1[i]); \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        yb += plane;                                                                               \
        wc += CONV_K * CONV_K * ci_pad;                                                            \
    }

/* dx[n, ci, iy, :] (+= with CR_CONV_FLAG_RESIDUAL in flags) for CONV_TM channels and
 * 2 CONV_VW columns. dyp: dY zero-padded by conv_pad, [n, cout, hp, wq], dY (r, c) at
 * (r + pt2, c + pl2), wide and high enough that no read leaves it. wt: [cout][k*k][ci_pad].
 * global = (ci_pad / CONV_TM, h * ceil(ceil(w / 2) / CONV_VW), n), channel blocks fastest
 * (as conv_fwd: they share the dY rows in cache). */
__kernel void conv_dx_s2(__global float *dx, const int dx_off, __global const float *dyp, const int dyp_off,
                         __global const float *wt, const int flags, const int cout, const int cin,
                         const int ci_pad, const int h, const int w, const int hp, const int wq, const int pt2,
                         const int pl2)
{
    dx += dx_off;
    dyp += dyp_off;
    int xbc = ((w + 1) / 2 + CONV_VW - 1) / CONV_VW;
    int g = get_global_id(1);
    if (g >= h * xbc) return;
    int iy = g / xbc, b0 = (g - iy * xbc) * CONV_VW;
    int ci0 = get_global_id(0) * CONV_TM, n = get_global_id(2);
    int py = iy & 1, a = iy >> 1, kh0 = (py + S2_PT) & 1;
    size_t plane = (size_t)hp * wq;

    VEC a0[CONV_TM], a1[CONV_TM];
    _Pragma("unroll") for (int i = 0; i < CONV_TM; i++) a0[i] = a1[i] = (VEC)(0.0f);
    /* dY row of tap kh = kh0 (j = 0): a + (py + pt - kh0) / 2; the loop steps up by j */
    __global const float *yb = dyp + (size_t)n * cout * plane + (size_t)(a + (py + S2_PT - kh0) / 2 + pt2) * wq +
                               b0 + pl2;
    __global const float *wc = wt + ci0;
    if (kh0 == 0) {
        S2_LOOP(0)
    } else {
        S2_LOOP(1)
    }

    size_t opix = (size_t)h * w;
    size_t obase = ((size_t)n * cin + ci0) * opix + (size_t)iy * w + 2 * b0;
    int valid = min(2 * CONV_VW, w - 2 * b0);
    _Pragma("unroll") for (int i = 0; i < CONV_TM; i++) {
        if (ci0 + i >= cin) break;
        VEC lo, hi;
        INTERLEAVE(a0[i], a1[i], lo, hi);
        __global float *o = dx + obase + i * opix;
        if (valid == 2 * CONV_VW) {
            if (flags & CR_CONV_FLAG_RESIDUAL) {
                lo += VLOAD(0, o);
                hi += VLOAD(1, o);
            }
            VSTORE(lo, 0, o);
            VSTORE(hi, 1, o);
        } else {
            float t[2 * CONV_VW];
            VSTORE(lo, 0, t);
            VSTORE(hi, 1, t);
            for (int j = 0; j < valid; j++) o[j] = t[j] + ((flags & CR_CONV_FLAG_RESIDUAL) ? o[j] : 0.0f);
        }
    }
}
