/* Micrograph simulation on the device (host/sim/micrograph.c drives it):
 * projected potential by ray sums through the specimen map, the transfer
 * function applied to the phase spectrum, expected counts and Poisson
 * even/odd draws from a counter-based generator (Philox4x32-10). */

#ifndef SIM_PTRS_MIN_MEAN
#define SIM_PTRS_MIN_MEAN 10.0f /* below: inversion; from here: PTRS (valid for mean >= 10) */
#endif
#ifndef SIM_PARTICLE_STRIDE
#define SIM_PARTICLE_STRIDE 16 /* floats per particle: cx, cy, R^T (9), padding */
#endif

#define SIM_PI 3.14159265358979323846f

/* ---- Philox4x32-10 (Salmon et al., SC'11): Random123's philox.h, the header
 * host/core/philox.c uses, flattened for OpenCL C at build time
 * (cmake/flatten_random123.cmake); test_cl_sim_philox checks its known
 * answers and the host's draws on the device ---- */
#include "random123_philox.h"

inline uint4 cr_philox4x32(uint4 c, uint2 k)
{
    philox4x32_ctr_t ctr = {{c.x, c.y, c.z, c.w}};
    philox4x32_key_t key = {{k.x, k.y}};
    philox4x32_ctr_t r = philox4x32_R(10, ctr, key);
    return (uint4)(r.v[0], r.v[1], r.v[2], r.v[3]);
}

/* A per-pixel stream: counter (draw, pixel, micrograph, half). Each pixel's
 * draws depend only on these numbers, never on work-item scheduling. */
typedef struct sim_rng {
    uint4 ctr;
    uint2 key;
    uint4 buf;
    int left;
} sim_rng;

/* Uniform in (0, 1): 24 random bits, centred in their cell (exact in float). */
inline float sim_uniform(sim_rng *r)
{
    if (r->left == 0) {
        r->buf = cr_philox4x32(r->ctr, r->key);
        r->ctr.x++;
        r->left = 4;
    }
    uint v = r->left == 4 ? r->buf.x : r->left == 3 ? r->buf.y : r->left == 2 ? r->buf.z : r->buf.w;
    r->left--;
    return ((float)(v >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

/* Poisson(mu) draw, exact in distribution up to float rounding:
 * - mu < 10: inversion by sequential search of the CDF (Devroye 1986, X.3.3);
 *   the recurrence p_k = p_{k-1} mu / k accumulates ~k ulp, so CDF values
 *   are good to ~1e-6.
 * - mu >= 10: PTRS, transformed rejection with squeeze (Hörmann 1993,
 *   "The transformed rejection method for generating Poisson random
 *   variables", Insurance: Math. Econ. 12:39), ~1.1 uniform pairs per draw.
 *   Its acceptance test compares log densities of size ~k log mu in float:
 *   relative error ~1e-7 x k log mu, below 1e-4 for means up to ~10^3.
 * Both consume the pixel's own stream, so the result is deterministic. */
inline float sim_poisson(float mu, sim_rng *r)
{
    if (!(mu > 0.0f)) return 0.0f;
    if (mu < SIM_PTRS_MIN_MEAN) {
        float u = sim_uniform(r), p = exp(-mu), f = p;
        int k = 0;
        while (u > f && k < 200) {
            k++;
            p *= mu / (float)k;
            f += p;
        }
        return (float)k;
    }
    float smu = sqrt(mu), lmu = log(mu);
    float b = 0.931f + 2.53f * smu, a = -0.059f + 0.02483f * b;
    float inv_alpha = 1.1239f + 1.1328f / (b - 3.4f), vr = 0.9277f - 3.6224f / (b - 2.0f);
    for (int it = 0; it < 1000; it++) {
        float u = sim_uniform(r) - 0.5f, v = sim_uniform(r);
        float us = 0.5f - fabs(u);
        float k = floor((2.0f * a / us + b) * u + mu + 0.43f);
        if (us >= 0.07f && v <= vr) return k;
        if (k < 0.0f || (us < 0.013f && v > us)) continue;
        if (log(v) + log(inv_alpha) - log(a / (us * us) + b) <= -mu + k * lmu - lgamma(k + 1.0f)) return k;
    }
    return floor(mu + 0.5f); /* unreachable in practice (acceptance ~0.9 per pair) */
}

inline float sim_trilinear(__global const float *vol, int n, float3 p)
{
    float3 f = floor(p);
    int x0 = (int)f.x, y0 = (int)f.y, z0 = (int)f.z;
    if (x0 < 0 || y0 < 0 || z0 < 0 || x0 >= n - 1 || y0 >= n - 1 || z0 >= n - 1) return 0.0f;
    float3 t = p - f;
    __global const float *v = vol + ((size_t)z0 * n + y0) * n + x0;
    size_t sy = n, sz = (size_t)n * n;
    float c00 = mix(v[0], v[1], t.x), c10 = mix(v[sy], v[sy + 1], t.x);
    float c01 = mix(v[sz], v[sz + 1], t.x), c11 = mix(v[sz + sy], v[sz + sy + 1], t.x);
    return mix(mix(c00, c10, t.y), mix(c01, c11, t.y), t.z);
}

/* P[y, x] = projected potential (V·Å) at canvas pixel (x, y), whose
 * micrograph coordinates are (x - ox, y - oy):
 *   ice     V_ice T0 (1 + sum_k a_k cos(2 pi (kx x + ky y) + phi_k))
 *   carbon  V_c T_c times a 2-px soft half-plane (cn . (x, y) > cd)
 *   particle owner[y, x] >= 0: the ray sum along world z through the
 *           specimen, body = R^T (x - cx, y - cy, t) + n/2 in voxels
 *           (voxel = pixel), t = -tr..tr in steps of one voxel, times apix.
 * ice = {V_ice T0, V_c T_c, cn.x, cn.y, cd, carbon on, ox, oy}; the ice and
 * carbon use micrograph coordinates, particles canvas ones (parts). */
__kernel void sim_potential(__global float *P, const int nx, const int ny, __global const int *owner,
                            __global const float *parts, __global const float *vol, const int n, const int tr,
                            const float apix, const float8 ice, __global const float *modes, const int nmodes)
{
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= nx || y >= ny) return;
    size_t idx = (size_t)y * nx + x;
    float xm = x - ice.s6, ym = y - ice.s7, rel = 1.0f;
    for (int k = 0; k < nmodes; k++) {
        float4 m = vload4(k, modes);
        rel += m.w * cos(2.0f * SIM_PI * (m.x * xm + m.y * ym) + m.z);
    }
    float acc = nmodes > 0 ? ice.s0 * rel : 0.0f;
    if (ice.s5 != 0.0f) acc += ice.s1 * 0.5f * (1.0f + tanh(0.5f * (ice.s2 * xm + ice.s3 * ym - ice.s4)));
    int o = owner[idx];
    if (o >= 0) {
        __global const float *p = parts + (size_t)o * SIM_PARTICLE_STRIDE;
        float dx = x - p[0], dy = y - p[1], c = (float)(n / 2);
        float3 b0 = (float3)(p[2] * dx + p[3] * dy + c, p[5] * dx + p[6] * dy + c, p[8] * dx + p[9] * dy + c);
        float3 dz = (float3)(p[4], p[7], p[10]);
        float s = 0.0f;
        for (int t = -tr; t <= tr; t++) s += sim_trilinear(vol, n, b0 + (float)t * dz);
        acc += s * apix;
    }
    P[idx] = acc;
}

/* spec (half spectrum of the phase sigma P, ny x (nx/2+1)) *= the contrast
 * transfer: scale x CTF x exp(-B s^2 / 4) x MTF, DC set to zero (the mean
 * intensity is the dose; see micrograph.c for the derivation of scale).
 * MTF (mtf != 0): sinc(pi fx) sinc(pi fy), f in cycles/px, the transfer of
 * counting over square pixels. ds = (1/(nx apix), 1/(ny apix)). */
__kernel void sim_transfer(__global float2 *spec, __global const float *ctf, const int nx, const int ny,
                           const float2 ds, const float scale, const float bfactor, const int mtf)
{
    int c = get_global_id(0), r = get_global_id(1), hx = nx / 2 + 1;
    if (c >= hx || r >= ny) return;
    size_t i = (size_t)r * hx + c;
    if (r == 0 && c == 0) {
        spec[i] = (float2)(0.0f, 0.0f);
        return;
    }
    int fr = r <= (ny - 1) / 2 ? r : r - ny;
    float sx = c * ds.x, sy = fr * ds.y, s2 = sx * sx + sy * sy;
    float h = scale * ctf[i];
    if (bfactor != 0.0f) h *= exp(-0.25f * bfactor * s2);
    if (mtf) {
        float fx = SIM_PI * (float)c / nx, fy = SIM_PI * (float)fr / ny;
        h *= (fx != 0.0f ? sin(fx) / fx : 1.0f) * (fy != 0.0f ? sin(fy) / fy : 1.0f);
    }
    spec[i] *= h;
}

/* From the contrast on the canvas: for each micrograph pixel, truth =
 * expected counts at the full dose, dose_px (1 + c) clamped at 0; even and
 * odd = independent Poisson draws of mean truth/2 (counters (draw, pixel,
 * micrograph, 0 or 1), pixel = y nx + x of the micrograph); sum = even + odd.
 * geom = {nx, ny, canvas row length, canvas index of micrograph pixel 0}. */
__kernel void sim_counts(__global const float *contrast, __global float *truth, __global float *even,
                         __global float *odd, __global float *sum, const int4 geom, const float dose_px,
                         const uint2 key, const uint micrograph)
{
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= geom.x || y >= geom.y) return;
    int i = y * geom.x + x;
    float e = fmax(dose_px * (1.0f + contrast[geom.w + y * geom.z + x]), 0.0f);
    sim_rng r;
    r.key = key;
    r.left = 0;
    r.ctr = (uint4)(0u, (uint)i, micrograph, 0u);
    float ne = sim_poisson(0.5f * e, &r);
    r.ctr = (uint4)(0u, (uint)i, micrograph, 1u);
    r.left = 0;
    float no = sim_poisson(0.5f * e, &r);
    truth[i] = e;
    even[i] = ne;
    odd[i] = no;
    sum[i] = ne + no;
}

/* out[i] = Philox4x32-10 of (ctr[i], key[i]): lets the tests check the device
 * generator against known answers and the host one bit for bit. */
__kernel void sim_philox_test(__global uint4 *out, __global const uint4 *ctr, __global const uint2 *key,
                              const int n)
{
    int i = get_global_id(0);
    if (i < n) out[i] = cr_philox4x32(ctr[i], key[i]);
}
