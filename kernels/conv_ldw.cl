/* GPU-shaped weight gradient (cr_conv_tiles.dw_variant = 1; host: host/nn/conv_local.c): per
 * chunk of output pixels the GEMM
 *   dW[co, r] = sum_p dY[co, p] * B[r, p],   r = ci*K*K + kh*K + kw,  p = (image, oy, ox),
 * with B as conv_lfwd's (kernels/conv_local.cl: conv_pad's phase-split layout, or the raw input
 * for 1x1 stride 1, where hout = 1, wout = h*w, hp = 1, wq = h*w). A work-group of
 * LD_NDIMC x LD_MDIMC work-items computes an LD_MWG (channels) x LD_NWG (rows r) tile of one
 * chunk, walking its pixels in slices of LD_KWG and staging both operands' slices in local
 * memory: conv_lfwd's blocking (after CLBlast's xgemm), with the reduction along pixels.
 *
 * Staging: element e of a slice is pixel e % KWG of row e / KWG. KWG divides the work-group,
 * so each work-item stages one pixel column throughout a slice and decodes (image, oy, ox) once;
 * consecutive work-items read consecutive pixels (coalesced). The slices are stored with one
 * padding word per pixel (MWG + 1, NWG + 1), so those column-wise stores hit distinct banks.
 * Edges: pixels past the chunk stage dY as zero (and read B at a valid pixel); channels past
 * cout and rows past R re-read the last one and are not stored.
 * Output: direct (one chunk) adds into dW; else part[chunk][co][r], which conv_reduce_add
 * (conv_gemm.cl) folds into dW.
 * global = (ceil(R / NWG) * NDIMC, ceil(cout / MWG) * MDIMC, chunks), local = (NDIMC, MDIMC, 1).
 * Compile-time: CONV_K, CONV_S as in conv_gemm.cl and the LD_* tunables; the host checks their
 * constraints (cr_conv_ldw_check) before building. */

#ifndef CONV_K
#define CONV_K 3
#endif
#ifndef CONV_S
#define CONV_S 1
#endif
#ifndef LD_MWG /* output channels per work-group tile */
#define LD_MWG 64
#endif
#ifndef LD_NWG /* (input channel, tap) rows per work-group tile */
#define LD_NWG 64
#endif
#ifndef LD_KWG /* pixels per local-memory slice */
#define LD_KWG 16
#endif
#ifndef LD_MDIMC /* work-items along the channels (local size dimension 1) */
#define LD_MDIMC 16
#endif
#ifndef LD_NDIMC /* work-items along the rows (local size dimension 0) */
#define LD_NDIMC 16
#endif

#define LD_MWI (LD_MWG / LD_MDIMC)
#define LD_NWI (LD_NWG / LD_NDIMC)
#define LD_NT (LD_MDIMC * LD_NDIMC)
#define LD_ROWS (LD_NT / LD_KWG) /* rows one staging pass covers */
#define LD_MWGP (LD_MWG + 1)
#define LD_NWGP (LD_NWG + 1)
#define LD_KK (CONV_K * CONV_K)

#if LD_MWG % LD_MDIMC || LD_NWG % LD_NDIMC || LD_NT % LD_KWG || LD_MWG % LD_ROWS || LD_NWG % LD_ROWS
#error "conv_ldw.cl: LD_* tunables violate a divisibility constraint (see host/nn/conv_local.c)"
#endif

__kernel __attribute__((reqd_work_group_size(LD_NDIMC, LD_MDIMC, 1)))
void conv_ldw(__global float *out, const int out_off, __global const float *dy, const int dy_off,
              __global const float *x, const int x_off, const int direct, const int cin, const int cout,
              const int hout, const int wout, const int hp, const int wq, const int npix, const int chunk_px)
{
    __local float als[LD_KWG * LD_MWGP]; /* [kk][m]: the dY slice */
    __local float bls[LD_KWG * LD_NWGP]; /* [kk][j]: the input slice */

    out += out_off;
    dy += dy_off;
    x += x_off;
    const int tn = get_local_id(0), tm = get_local_id(1), tid = tm * LD_NDIMC + tn;
    const int n0 = get_group_id(0) * LD_NWG, co0 = get_group_id(1) * LD_MWG, chunk = get_global_id(2);
    const int R = cin * LD_KK, opix = hout * wout;
    const size_t plane = (size_t)hp * CONV_S * wq;
    const int kk = tid % LD_KWG, row0 = tid / LD_KWG;
    const int p_begin = chunk * chunk_px, p_end = min(p_begin + chunk_px, npix);

    /* this work-item's staged rows: channel offsets in dY, (channel, tap) offsets in B */
    int dyrow[LD_MWG / LD_ROWS];
    size_t xrow[LD_NWG / LD_ROWS];
    _Pragma("unroll") for (int l = 0; l < LD_MWG / LD_ROWS; l++)
        dyrow[l] = min(co0 + row0 + l * LD_ROWS, cout - 1) * opix;
    _Pragma("unroll") for (int l = 0; l < LD_NWG / LD_ROWS; l++) {
        int r = min(n0 + row0 + l * LD_ROWS, R - 1);
        int ci = r / LD_KK, tap = r - ci * LD_KK, kh = tap / CONV_K, kw = tap - kh * CONV_K;
        xrow[l] = (size_t)ci * plane + (kh * CONV_S + kw % CONV_S) * wq + kw / CONV_S;
    }

    float acc[LD_MWI][LD_NWI];
    _Pragma("unroll") for (int i = 0; i < LD_MWI; i++)
        _Pragma("unroll") for (int j = 0; j < LD_NWI; j++) acc[i][j] = 0.0f;

    for (int k0 = p_begin; k0 < p_end; k0 += LD_KWG) {
        int p = k0 + kk, valid = p < p_end, pc = min(p, npix - 1);
        int img = pc / opix, rem = pc - img * opix, oy = rem / wout, ox = rem - oy * wout;
        __global const float *dyp = dy + (size_t)img * cout * opix + rem;
        __global const float *xp = x + (size_t)img * cin * plane + (size_t)oy * CONV_S * CONV_S * wq + ox;
        _Pragma("unroll") for (int l = 0; l < LD_MWG / LD_ROWS; l++)
            als[kk * LD_MWGP + row0 + l * LD_ROWS] = valid ? dyp[dyrow[l]] : 0.0f;
        _Pragma("unroll") for (int l = 0; l < LD_NWG / LD_ROWS; l++)
            bls[kk * LD_NWGP + row0 + l * LD_ROWS] = xp[xrow[l]];
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int q = 0; q < LD_KWG; q++) {
            float a[LD_MWI], b[LD_NWI];
            _Pragma("unroll") for (int i = 0; i < LD_MWI; i++) a[i] = als[q * LD_MWGP + tm + i * LD_MDIMC];
            _Pragma("unroll") for (int j = 0; j < LD_NWI; j++) b[j] = bls[q * LD_NWGP + tn + j * LD_NDIMC];
            _Pragma("unroll") for (int i = 0; i < LD_MWI; i++)
                _Pragma("unroll") for (int j = 0; j < LD_NWI; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    __global float *o = out + (direct ? 0 : (size_t)chunk * cout * R);
    _Pragma("unroll") for (int i = 0; i < LD_MWI; i++) {
        int co = co0 + tm + i * LD_MDIMC;
        if (co >= cout) break; /* channels grow with i */
        _Pragma("unroll") for (int j = 0; j < LD_NWI; j++) {
            int r = n0 + tn + j * LD_NDIMC;
            if (r >= R) break;
            size_t idx = (size_t)co * R + r;
            o[idx] = direct ? o[idx] + acc[i][j] : acc[i][j];
        }
    }
}
