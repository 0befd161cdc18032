/* Convolutions as implicit GEMMs, register-tiled for CPUs (PoCL) and sane on GPUs.
 *
 * Forward, per image: Y[co, p] = b[co] + sum_{ci, tap} Wt[ci, tap, co] * Xp[ci, p + shift(tap)].
 * Each work-item holds CONV_TM output channels x CONV_VW consecutive output pixels of one
 * row in registers (CONV_TM accumulators of floatVW), reads one input vector per (ci, tap)
 * and broadcasts CONV_TM weights into it: no local memory, no barriers (both are slow on
 * PoCL's CPU device; wide vectors and many independent accumulators are what it rewards).
 *
 * Borders are never tested in the inner loop: for k > 1 or stride > 1 the host first copies
 * the input into a zero-padded buffer (conv_pad) whose rows are wide enough that every read
 * of every work-item stays inside. Stride s is handled by splitting each padded row into s
 * phases (column c goes to phase c % s, position c / s), so a strided read becomes a
 * contiguous vector load. A 1x1 stride-1 convolution reads X directly, treating the H*W
 * plane as one long row; only the last vector of a plane needs masked loads.
 *
 * Backward input is the same forward kernel on dY (zero-padded, and dilated for stride 2)
 * with flipped, transposed weights. Backward weights (conv_dw) is a GEMM whose reduction
 * axis is the pixels: each work-item keeps DW_TM x DW_TN vector accumulators (outer
 * products of dY rows with shifted X rows) over a chunk of pixels; chunks are summed by
 * conv_reduce_add.
 *
 * Compile-time: CONV_K (kernel size), CONV_S (stride, i.e. phases of the padded input).
 *
 * Every buffer argument comes with an element offset (the network's tensors are views into
 * large arenas); kernels add it to the pointer once at entry. */

#ifndef CONV_TM /* output channels per work-item (forward) */
#define CONV_TM 16
#endif
#ifndef CONV_VW /* pixels per work-item (forward), a vector width: 4, 8 or 16 */
#define CONV_VW 8
#endif
#ifndef CONV_WBLK /* 1: GEMM weights stored per block of CONV_TM output channels (conv_prep_weights blk) */
#define CONV_WBLK 0
#endif
#ifndef CONV_KC /* input channels per chunk of conv_fwd_allco */
#define CONV_KC 128
#endif
#ifndef DW_TM /* output channels per work-item (weight gradient) */
#define DW_TM 4
#endif
#ifndef DW_TN /* (input channel, tap) columns per work-item (weight gradient) */
#define DW_TN 4
#endif
#ifndef DW_VW /* pixels per vector step (weight gradient) */
#define DW_VW 8
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VEC CAT(float, CONV_VW)
#define VLOAD CAT(vload, CONV_VW)
#define VSTORE CAT(vstore, CONV_VW)
#define DVEC CAT(float, DW_VW)
#define DVLOAD CAT(vload, DW_VW)

#include "conv_flags.h"

/* Loads the first `valid` floats of p into a vector, zeros after (row and plane ends). */
static VEC load_tail(__global const float *p, int valid)
{
    float t[CONV_VW];
    _Pragma("unroll") for (int i = 0; i < CONV_VW; i++) t[i] = i < valid ? p[i] : 0.0f;
    return VLOAD(0, t);
}

static DVEC dload_tail(__global const float *p, int valid)
{
    float t[DW_VW];
    _Pragma("unroll") for (int i = 0; i < DW_VW; i++) t[i] = i < valid ? p[i] : 0.0f;
    return DVLOAD(0, t);
}

/* Weights for the GEMM: wt[ci', tap', co'] with co' padded to cout_pad (zeros), so the
 * CONV_TM weights a work-item broadcasts are contiguous and never out of range.
 * mode 0 (forward): ci' = ci, co' = co, tap' = tap, from w[co, ci, kh, kw].
 * mode 1 (backward input): ci' = co, co' = ci, tap' = k*k-1-tap (the flipped kernel).
 * blk > 0 (CONV_WBLK): wt[co' / blk, ci', tap', co' % blk] instead, each work-item's weights
 * one contiguous run: with rows of cout_pad floats, 512 channels put every row 2 KiB apart,
 * so a work-item's 102..512 weight lines fell into 2 of L1's 64 sets and were re-read from L2.
 * One work-item per output element; global = cin' * k*k * cout_pad. */
__kernel void conv_prep_weights(__global float *wt, __global const float *w, const int w_off,
                                const int cout, const int cin, const int kk, const int cout_pad,
                                const int mode, const int blk)
{
    int i = get_global_id(0);
    w += w_off;
    int cin_t = mode ? cout : cin;
    int cout_t = mode ? cin : cout;
    if (i >= cin_t * kk * cout_pad) return;
    int b = blk > 0 ? blk : cout_pad;
    int cb = i / (b * kk * cin_t); /* 0 unless blocked */
    int co_t = cb * b + i % b;
    int tap_t = (i / b) % kk;
    int ci_t = (i / (b * kk)) % cin_t;
    float v = 0.0f;
    if (co_t < cout_t) {
        int co = mode ? ci_t : co_t, ci = mode ? co_t : ci_t;
        int tap = mode ? kk - 1 - tap_t : tap_t;
        v = w[(co * cin + ci) * kk + tap];
    }
    wt[i] = v;
}

/* xp[n, c, r, ph, q] = x[n, c, rr, cc] where the padded column is q*s + ph, rr = (r - pt) / dil,
 * cc = (col - pl) / dil when both divide exactly and land inside, else 0. dil > 1 inserts the
 * zeros of a transposed strided convolution; s > 1 splits columns into phases.
 * global = (1, hp * s, nc): each work-item fills one phase row, with vector loads (stride 1)
 * or a load and an even split (stride 2) between the borders, element by element at them.
 * One work-item per 8 columns spent more on work-item set-up and border tests than on the
 * copy (half of a stride-2 forward's time); a scalar 1-D version with four divisions per
 * element took longer than the convolution after it. */
__kernel void conv_pad(__global float *xp, __global const float *x, const int x_off, const int nc,
                       const int h, const int w, const int hp, const int s, const int wq,
                       const int pt, const int pl, const int dil)
{
    x += x_off;
    int rs = get_global_id(1), c = get_global_id(2);
    if (rs >= hp * s || c >= nc) return;
    int r = rs / s, ph = rs - r * s;
    int rr = r - pt;
    __global float *out = xp + ((size_t)c * hp * s + rs) * wq;
    if (dil == 1) {
        int q = 0;
        if (rr < 0 || rr >= h) { /* a border row */
            for (; q + 8 <= wq; q += 8) vstore8((float8)(0.0f), 0, out + q);
            for (; q < wq; q++) out[q] = 0.0f;
            return;
        }
        __global const float *row = x + ((size_t)c * h + rr) * w + ph - pl; /* column q*s of the phase */
        for (; q < wq && q * s + ph - pl < 0; q++) out[q] = 0.0f;              /* left border */
        if (s == 1)
            for (; q + 8 <= wq && q + ph - pl + 8 <= w; q += 8) vstore8(vload8(0, row + q), 0, out + q);
        else if (s == 2)
            for (; q + 8 <= wq && 2 * q + ph - pl + 16 <= w; q += 8) vstore8(vload16(0, row + 2 * q).even, 0, out + q);
        for (; q < wq; q++) out[q] = q * s + ph - pl < w ? row[q * s] : 0.0f; /* right border */
        return;
    }
    for (int q = 0; q < wq; q++) {
        int ry = rr, cx = q * s + ph - pl;
        float v = 0.0f;
        if (ry >= 0 && cx >= 0 && ry % dil == 0 && cx % dil == 0) {
            ry /= dil;
            cx /= dil;
            if (ry < h && cx < w) v = x[((size_t)c * h + ry) * w + cx];
        }
        out[q] = v;
    }
}

/* The forward epilogue of one tile: acc[i] is output channel co0 + i at y[o + i*opix ..],
 * `valid` pixels of it (a row or plane end stops short of CONV_VW). */
static void store_tile(__global float *y, __global const float *res, __global const float *bias,
                       const VEC *acc, int flags, size_t obase, size_t opix, int co0, int cout, int valid)
{
    _Pragma("unroll") for (int i = 0; i < CONV_TM; i++) {
        if (co0 + i >= cout) break;
        VEC v = acc[i];
        if (flags & CR_CONV_FLAG_BIAS) v += (VEC)(bias[co0 + i]);
        if (flags & CR_CONV_FLAG_RELU) v = fmax(v, (VEC)(0.0f));
        size_t o = obase + i * opix;
        if (valid == CONV_VW) {
            if (flags & CR_CONV_FLAG_RESIDUAL) v += VLOAD(0, res + o);
            if (flags & CR_CONV_FLAG_MASK) v = select((VEC)(0.0f), v, VLOAD(0, res + o) > (VEC)(0.0f));
            VSTORE(v, 0, y + o);
        } else {
            float t[CONV_VW];
            VSTORE(v, 0, t);
            for (int j = 0; j < valid; j++) {
                float u = t[j] + ((flags & CR_CONV_FLAG_RESIDUAL) ? res[o + j] : 0.0f);
                y[o + j] = (flags & CR_CONV_FLAG_MASK) && !(res[o + j] > 0.0f) ? 0.0f : u;
            }
        }
    }
}

/* One (ci, taps) step of the forward inner loop: K*K vector loads, K*K*CONV_TM FMAs. */
#define FWD_LOOP(LOAD)                                                                        \
    for (int ci = 0; ci < cin; ci++) {                                                        \
        _Pragma("unroll") for (int kh = 0; kh < CONV_K; kh++) {                                                 \
            _Pragma("unroll") for (int kw = 0; kw < CONV_K; kw++) {                                             \
                int off = (kh * CONV_S + kw % CONV_S) * wq + kw / CONV_S;                     \
                VEC xv = LOAD;                                                                \
                _Pragma("unroll") for (int i = 0; i < CONV_TM; i++) acc[i] = fma((VEC)(wp[i]), xv, acc[i]);     \
                wp += CONV_WBLK ? CONV_TM : cout_pad;                                         \
            }                                                                                 \
        }                                                                                     \
        xb += plane;                                                                          \
    }

/* y[n, co, oy, ox] = act(sum + b[co]) + res[n, co, oy, ox] (flags: CR_CONV_FLAG_*).
 * x: padded input [n, cin, hp, CONV_S, wq] (or the raw input for 1x1 stride 1, hp = 1,
 * wq = h*w, hout = 1, wout = h*w). global = (cout_pad / TM, hout * ceil(wout / VW), n).
 * The channel blocks vary fastest: work-groups are taken in order of their id, so every
 * block of output channels reads the same input pixels while they are still in cache
 * (with pixels fastest, large images streamed the whole input from DRAM once per block:
 * the planes are 4 MiB apart at 1024^2, beyond what L2 and its associativity keep). */
__kernel void conv_fwd(__global float *y, const int y_off, __global const float *x, const int x_off,
                       __global const float *wt, __global const float *bias, const int b_off,
                       __global const float *res, const int r_off, const int flags,
                       const int cin, const int cout, const int cout_pad, const int hout,
                       const int wout, const int hp, const int wq)
{
    y += y_off;
    x += x_off;
    bias += b_off;
    res += r_off;
    int xbc = (wout + CONV_VW - 1) / CONV_VW;
    int g = get_global_id(1);
    if (g >= hout * xbc) return;
    int oy = g / xbc, x0 = (g % xbc) * CONV_VW;
    int co0 = get_global_id(0) * CONV_TM;
    int n = get_global_id(2);
    size_t plane = (size_t)hp * CONV_S * wq;

    VEC acc[CONV_TM];
    _Pragma("unroll") for (int i = 0; i < CONV_TM; i++) acc[i] = (VEC)(0.0f);
    __global const float *xb = x + n * cin * plane + (size_t)oy * CONV_S * CONV_S * wq + x0;
    __global const float *wp = wt + (CONV_WBLK ? (size_t)co0 * cin * CONV_K * CONV_K : (size_t)co0);
    /* Reads reach column x0 + VW - 1 + (K-1)/S of a phase row; only the direct 1x1 path
     * (and odd widths there) can run past the row, so only it pays for masked loads. */
    int reach = x0 + CONV_VW + (CONV_K - 1) / CONV_S;
    if (reach <= wq) {
        FWD_LOOP(VLOAD(0, xb + off))
    } else {
        FWD_LOOP(load_tail(xb + off, wq - x0 - kw / CONV_S))
    }

    size_t opix = (size_t)hout * wout;
    size_t obase = ((size_t)n * cout + co0) * opix + (size_t)oy * wout + x0;
    store_tile(y, res, bias, acc, flags, obase, opix, co0, cout, min(CONV_VW, wout - x0));
}

/* acc[i] += wp[i] * x row by row: `rows` input rows a plane apart, the weights advancing by
 * wstep per row; `valid` < CONV_VW pixels at a plane end load masked. The 1x1 GEMM step of
 * conv_fwd_allco and conv_fwd_eb. */
static void gemm_rows(VEC *acc, __global const float *xb, __global const float *wp, int rows, size_t plane,
                      int wstep, int valid)
{
    if (valid == CONV_VW) {
        for (int r = 0; r < rows; r++, xb += plane, wp += wstep) {
            VEC xv = VLOAD(0, xb);
            _Pragma("unroll") for (int i = 0; i < CONV_TM; i++) acc[i] = fma((VEC)(wp[i]), xv, acc[i]);
        }
    } else {
        for (int r = 0; r < rows; r++, xb += plane, wp += wstep) {
            VEC xv = load_tail(xb, valid);
            _Pragma("unroll") for (int i = 0; i < CONV_TM; i++) acc[i] = fma((VEC)(wp[i]), xv, acc[i]);
        }
    }
}

/* The 1x1 stride-1 forward with every output channel of a pixel vector in one work-item
 * (fwd_kc > 0): global = (1, ceil(h*w / VW), n). conv_fwd gives each channel block its
 * own work-item, and the two cores take neighbouring blocks of the same pixels, so each
 * core fetched the input from DRAM for itself: with 512 input channels (the bottlenecks)
 * that is 512 rows a plane apart per vector, beyond what the prefetchers follow, and only
 * 6 blocks to share each fetch. Here the input is fetched once per pixel vector and the
 * blocks re-read it from L1: input channels go in chunks of CONV_KC (CONV_KC x VW floats
 * stay in L1 across the blocks), and partial sums wait in y between chunks, so the
 * epilogue must not read y: the host never passes a residual here (the accumulating
 * backward passes y as its residual). */
__kernel void conv_fwd_allco(__global float *y, const int y_off, __global const float *x, const int x_off,
                             __global const float *wt, __global const float *bias, const int b_off,
                             __global const float *res, const int r_off, const int flags,
                             const int cin, const int cout, const int cout_pad, const int npix)
{
    y += y_off;
    x += x_off;
    bias += b_off;
    res += r_off;
    int x0 = get_global_id(1) * CONV_VW;
    if (x0 >= npix) return;
    int n = get_global_id(2);
    int valid = min(CONV_VW, npix - x0);
    size_t plane = (size_t)npix;
    __global const float *xn = x + (size_t)n * cin * plane + x0;
    size_t ybase = (size_t)n * cout * plane + x0;
    for (int c0 = 0; c0 < cin; c0 += CONV_KC) {
        int c1 = min(cin, c0 + CONV_KC);
        for (int co0 = 0; co0 < cout_pad; co0 += CONV_TM) {
            VEC acc[CONV_TM];
            _Pragma("unroll") for (int i = 0; i < CONV_TM; i++) {
                acc[i] = (VEC)(0.0f);
                if (c0 > 0 && co0 + i < cout) {
                    __global const float *p = y + ybase + (size_t)(co0 + i) * plane;
                    acc[i] = valid == CONV_VW ? VLOAD(0, p) : load_tail(p, valid);
                }
            }
            __global const float *xb = xn + (size_t)c0 * plane;
            __global const float *wp = wt + (CONV_WBLK ? (size_t)co0 * cin + (size_t)c0 * CONV_TM
                                                       : (size_t)c0 * cout_pad + co0);
            gemm_rows(acc, xb, wp, c1 - c0, plane, CONV_WBLK ? CONV_TM : cout_pad, valid);
            size_t obase = ybase + (size_t)co0 * plane;
            /* partial sums are stored raw; the last chunk applies the epilogue */
            store_tile(y, res, bias, acc, c1 == cin ? flags : 0, obase, plane, co0, cout, valid);
        }
    }
}

/* Inference: a 1x1 expand with ReLU and the 1x1 bottleneck that reads it, in one pass:
 *   y[co, p] = b2[co] + sum_e w2[co, e] * max(0, b1[e] + sum_ci w1[e, ci] * x[ci, p]).
 * The expanded activation (EB_E channels, 4x the block's) never reaches memory: each
 * work-item keeps its EB_E x CONV_VW values in a private array (8 KiB at 128 x 16, in L1)
 * between the two GEMMs. At 1024^2 that is 512 MiB written and read again per block,
 * which the separate expand and bottleneck spent much of their time on. Both weight sets
 * are blocked (conv_prep_weights blk): wt1 [EB_E / CONV_TM][cin][CONV_TM], wt2
 * [cout_pad / EB_TM2][EB_E][EB_TM2], read once per pixel vector (from L1 for the
 * 32 -> 128 -> 25 blocks, from L2 for 128 -> 512 -> 102: both gained, docs/tuning.md).
 * global = (1, ceil(npix / VW), n). */
#ifndef EB_E
#define EB_E 128
#endif
#ifndef EB_TM2
#define EB_TM2 CONV_TM
#endif
__kernel void conv_fwd_eb(__global float *y, const int y_off, __global const float *x, const int x_off,
                          __global const float *wt1, __global const float *b1, const int b1_off,
                          __global const float *wt2, __global const float *b2, const int b2_off,
                          const int cin, const int cout, const int cout_pad, const int npix)
{
    y += y_off;
    x += x_off;
    b1 += b1_off;
    b2 += b2_off;
    int x0 = get_global_id(1) * CONV_VW;
    if (x0 >= npix) return;
    int n = get_global_id(2);
    int valid = min(CONV_VW, npix - x0);
    size_t plane = (size_t)npix;
    __global const float *xn = x + (size_t)n * cin * plane + x0;
    float t[EB_E * CONV_VW];
    for (int e0 = 0; e0 < EB_E; e0 += CONV_TM) {
        VEC acc[CONV_TM];
        _Pragma("unroll") for (int i = 0; i < CONV_TM; i++) acc[i] = (VEC)(0.0f);
        gemm_rows(acc, xn, wt1 + (size_t)e0 * cin, cin, plane, CONV_TM, valid);
        _Pragma("unroll") for (int i = 0; i < CONV_TM; i++)
            VSTORE(fmax(acc[i] + (VEC)(b1[e0 + i]), (VEC)(0.0f)), 0, t + (e0 + i) * CONV_VW);
    }
    size_t ybase = (size_t)n * cout * plane + x0;
    for (int co0 = 0; co0 < cout_pad; co0 += EB_TM2) {
        VEC acc[EB_TM2];
        _Pragma("unroll") for (int i = 0; i < EB_TM2; i++) acc[i] = (VEC)(0.0f);
        __global const float *wp = wt2 + (size_t)co0 * EB_E;
        for (int e = 0; e < EB_E; e++, wp += EB_TM2) {
            VEC tv = VLOAD(0, t + e * CONV_VW);
            _Pragma("unroll") for (int i = 0; i < EB_TM2; i++) acc[i] = fma((VEC)(wp[i]), tv, acc[i]);
        }
        _Pragma("unroll") for (int i = 0; i < EB_TM2; i++) {
            if (co0 + i >= cout) break;
            VEC v = acc[i] + (VEC)(b2[co0 + i]);
            __global float *o = y + ybase + (size_t)(co0 + i) * plane;
            if (valid == CONV_VW) {
                VSTORE(v, 0, o);
            } else {
                float u[CONV_VW];
                VSTORE(v, 0, u);
                for (int j = 0; j < valid; j++) o[j] = u[j];
            }
        }
    }
}

static float dsum(DVEC v)
{
#if DW_VW == 16
    float8 a = v.lo + v.hi;
#elif DW_VW == 8
    float8 a = v;
#else
    float4 a4 = v;
    float8 a = (float8)(a4, (float4)(0.0f));
#endif
    float4 b = a.lo + a.hi;
    float2 c = b.lo + b.hi;
    return c.x + c.y;
}

/* The dW step: DW_TM dY vectors times DW_TN shifted X vectors, outer product into acc. */
#define DW_STEP(LOAD)                                                                         \
    {                                                                                         \
        DVEC dv[DW_TM], xv[DW_TN];                                                            \
        _Pragma("unroll") for (int i = 0; i < DW_TM; i++) dv[i] = LOAD(dyb + dyoff[i]);                         \
        _Pragma("unroll") for (int j = 0; j < DW_TN; j++) xv[j] = LOAD(xb + xoff[j]);                           \
        _Pragma("unroll") for (int i = 0; i < DW_TM; i++)                                                       \
            _Pragma("unroll") for (int j = 0; j < DW_TN; j++) acc[i][j] = fma(dv[i], xv[j], acc[i][j]);         \
    }
#define DW_FULL(p) DVLOAD(0, p)

/* Weight gradient: out[co, j] (+)= sum over this chunk's pixels of dy[n, co, p] * X_j[n, p],
 * j = ci*K*K + tap, X_j the input shifted by the tap (padded layout as in conv_fwd).
 * The pixels are walked as (n, oy, x-block) steps; chunk c covers steps
 * [c*chunk_steps, (c+1)*chunk_steps). direct != 0: out is dW itself and is accumulated
 * into; else out is this chunk's slice of the partial sums [chunks, cout, kw_total].
 * global = (ceil(kw_total / DW_TN), ceil(cout / DW_TM), chunks); chunks vary slowest, so
 * the work-items running together share one chunk of dY and X in cache. */
__kernel void conv_dw(__global float *out, const int out_off, __global const float *dy,
                      const int dy_off, __global const float *x, const int x_off, const int direct, const int cin, const int cout, const int hout,
                      const int wout, const int hp, const int wq, const int steps,
                      const int chunk_steps)
{
    const int kk = CONV_K * CONV_K, kw_total = cin * kk;
    out += out_off;
    dy += dy_off;
    x += x_off;
    int j0 = get_global_id(0) * DW_TN, co0 = get_global_id(1) * DW_TM;
    int chunk = get_global_id(2);
    if (j0 >= kw_total || co0 >= cout) return;
    size_t plane = (size_t)hp * CONV_S * wq, opix = (size_t)hout * wout;
    int xbc = (wout + DW_VW - 1) / DW_VW;

    /* Offsets of this tile's rows; tiles past the end re-read the last row (not stored). */
    size_t dyoff[DW_TM], xoff[DW_TN];
    _Pragma("unroll") for (int i = 0; i < DW_TM; i++) dyoff[i] = (size_t)min(co0 + i, cout - 1) * opix;
    _Pragma("unroll") for (int j = 0; j < DW_TN; j++) {
        int jj = min(j0 + j, kw_total - 1), tap = jj % kk, kh = tap / CONV_K, kw = tap % CONV_K;
        xoff[j] = (jj / kk) * plane + (kh * CONV_S + kw % CONV_S) * wq + kw / CONV_S;
    }
    DVEC acc[DW_TM][DW_TN];
    _Pragma("unroll") for (int i = 0; i < DW_TM; i++)
        _Pragma("unroll") for (int j = 0; j < DW_TN; j++) acc[i][j] = (DVEC)(0.0f);

    /* Row by row: the x-blocks of this chunk in one row run in a tight loop (blocks below
     * full_blocks need no masks), then the row's masked last block if the chunk has it. */
    /* The row is stepped, not divided out of t: at 24^2-48^2 a row is only 2-3 vector
     * steps, and two integer divisions per row cost as much as the row's FMAs. */
    int t = chunk * chunk_steps, t_end = min(t + chunk_steps, steps);
    int full_blocks = min(wout, wq - (CONV_K - 1) / CONV_S) / DW_VW;
    int row0 = t / xbc, b0 = t - row0 * xbc, oy = row0 % hout, n = row0 / hout;
    while (t < t_end) {
        int b1 = min(xbc, b0 + (t_end - t));
        __global const float *dyr = dy + (size_t)n * cout * opix + (size_t)oy * wout;
        __global const float *xr = x + n * cin * plane + (size_t)oy * CONV_S * CONV_S * wq;
        int b = b0;
        for (; b < min(b1, full_blocks); b++) {
            __global const float *dyb = dyr + b * DW_VW, *xb = xr + b * DW_VW;
            DW_STEP(DW_FULL)
        }
        for (; b < b1; b++) {
            /* row or plane end: dY lanes past wout are zero; X reads stop at the end of
             * the tap's row (xoff % wq is the tap's column shift) */
            int x0 = b * DW_VW;
            __global const float *dyb = dyr + x0, *xb = xr + x0;
            DVEC dv[DW_TM], xv[DW_TN];
            _Pragma("unroll") for (int i = 0; i < DW_TM; i++) dv[i] = dload_tail(dyb + dyoff[i], wout - x0);
            _Pragma("unroll") for (int j = 0; j < DW_TN; j++)
                xv[j] = dload_tail(xb + xoff[j], wq - x0 - (int)(xoff[j] % wq));
            _Pragma("unroll") for (int i = 0; i < DW_TM; i++)
                _Pragma("unroll") for (int j = 0; j < DW_TN; j++) acc[i][j] = fma(dv[i], xv[j], acc[i][j]);
        }
        t += b1 - b0;
        b0 = 0;
        if (++oy == hout) oy = 0, n++;
    }

    __global float *o = out + (direct ? 0 : (size_t)chunk * cout * kw_total);
    _Pragma("unroll") for (int i = 0; i < DW_TM; i++) {
        if (co0 + i >= cout) break;
        _Pragma("unroll") for (int j = 0; j < DW_TN; j++) {
            if (j0 + j >= kw_total) break;
            size_t idx = (size_t)(co0 + i) * kw_total + j0 + j;
            float s = dsum(acc[i][j]);
            o[idx] = direct ? o[idx] + s : s;
        }
    }
}

/* out[i] += sum_c part[c * len + i]: folds the chunks of conv_dw into dW. */
__kernel void conv_reduce_add(__global float *out, const int out_off, __global const float *part,
                              const int len, const int chunks)
{
    out += out_off;
    int i = get_global_id(0);
    if (i >= len) return;
    float s = 0.0f;
    for (int c = 0; c < chunks; c++) s += part[(size_t)c * len + i];
    out[i] += s;
}

/* db[co] += sum over images and pixels of dy[n, co, :]; one work-item per channel. */
__kernel void conv_db(__global float *db, const int db_off, __global const float *dy,
                      const int dy_off, const int n, const int cout, const int pix)
{
    db += db_off;
    dy += dy_off;
    int co = get_global_id(0);
    if (co >= cout) return;
    float8 acc = (float8)(0.0f);
    float tail = 0.0f;
    int full = pix / 8 * 8;
    for (int b = 0; b < n; b++) {
        __global const float *p = dy + ((size_t)b * cout + co) * pix;
        for (int i = 0; i < full; i += 8) acc += vload8(0, p + i);
        for (int i = full; i < pix; i++) tail += p[i];
    }
    float4 s4 = acc.lo + acc.hi;
    float2 s2 = s4.lo + s4.hi;
    db[co] += s2.x + s2.y + tail;
}

/* The gradient through y = relu(z) + res: dz = dy where y > res (y > 0 without a residual:
 * has_res = 0), else 0; dres += dy when has_dres. Each work-item handles MASK_VW elements
 * (one vector, masked only at the end), global = ceil(count / MASK_VW). */
#ifndef MASK_VW
#define MASK_VW 16
#endif
#define MVEC CAT(float, MASK_VW)
#define MVLOAD CAT(vload, MASK_VW)
#define MVSTORE CAT(vstore, MASK_VW)
__kernel void conv_relu_mask(__global float *dz, const int dz_off, __global float *dres,
                             const int dres_off, __global const float *dy, const int dy_off,
                             __global const float *y, const int y_off, __global const float *res,
                             const int r_off, const int has_res, const int has_dres, const int count)
{
    int i0 = get_global_id(0) * MASK_VW;
    if (i0 >= count) return;
    dz += dz_off + i0;
    dres += dres_off + i0;
    dy += dy_off + i0;
    y += y_off + i0;
    res += r_off + i0;
    if (i0 + MASK_VW <= count) {
        MVEC g = MVLOAD(0, dy), yv = MVLOAD(0, y);
        MVEC thr = has_res ? MVLOAD(0, res) : (MVEC)(0.0f);
        MVSTORE(select((MVEC)(0.0f), g, yv > thr), 0, dz);
        if (has_dres) MVSTORE(MVLOAD(0, dres) + g, 0, dres);
        return;
    }
    for (int j = 0; i0 + j < count; j++) {
        float g = dy[j];
        dz[j] = y[j] > (has_res ? res[j] : 0.0f) ? g : 0.0f;
        if (has_dres) dres[j] += g;
    }
}
