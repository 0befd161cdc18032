/* Image formation on the device: projected potential, CTF (the Fourier
 * module's RELION-convention kernel), expected counts, Poisson halves.
 *
 * Derivation (weak-phase, weak-amplitude object; Kirkland 2010 ch. 3; Frank,
 * "Three-dimensional electron microscopy of macromolecular assemblies",
 * 2006, ch. 2). Exit wave ψ = exp(iφ − a) ≈ 1 + iφ − a with phase φ = σ P
 * (σ the interaction constant, P the projected potential in V·Å) and an
 * amplitude term a = φ A / sqrt(1 − A²) (A = amplitude contrast). The lens
 * multiplies the scattered wave by exp(−iγ) with γ exactly the RELION γ of
 * REFERENCE.md (γ = −π λ Δf s² + π/2 Cs λ³ s⁴, Δf > 0 underfocus; this is
 * Kirkland's χ with his positive-underfocus Δf). To first order
 *   I = 1 + 2 Re F⁻¹[(iΦ − A_a) e^{−iγ}] = 1 + 2 F⁻¹[Φ sin γ − A_a cos γ]
 *     = 1 − (2 / sqrt(1 − A²)) F⁻¹[Φ · CTF_RELION],
 * CTF_RELION = −(sqrt(1 − A²) sin γ − A cos γ). At low s and underfocus
 * γ < 0, CTF > 0, so a molecule (Φ > 0) lowers the intensity: particles are
 * dark on the raw image, and phase flipping by sign(CTF_RELION) gives
 * consistently dark particles (prepare's convention). The constant part of
 * φ (the mean ice and specimen phase) only scales the zero-frequency term,
 * which the weak-phase expansion gets wrong for thick ice, so the spectrum's
 * DC is set to zero and the mean intensity is the dose: expected counts
 *   E = dose · apix² · (1 + c),  c = F⁻¹[−2σ/sqrt(1 − A²) · CTF · env · MTF · F[P]],
 * clamped at 0 (only reached for strong carbon edges, outside the weak-phase
 * regime anyway). env = exp(−B s²/4) is RELION's B-factor envelope. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/log.h"
#include "sim_internal.h"

enum { K_POT, K_TRANSFER, K_COUNTS, K_COUNT };

struct cr_simulator {
    cr_runtime *rt;
    cr_fourier *fw;
    cr_fft_plan *fft;       /* owned by fw's plan cache */
    cl_kernel k[K_COUNT];
    cr_sim_opts o;
    int n, tr;              /* specimen box edge; ray half-length, voxels */
    double rpx;             /* specimen radius, px */
    int cnx, cny, ox, oy;   /* canvas = micrograph + margins (FFT-friendly); micrograph origin in it */
    cl_mem vol;             /* n^3 float, V */
    cl_mem owner;           /* cny x cnx int: particle index or -1 */
    cl_mem parts;           /* maxparts x SIM_PARTICLE_STRIDE float */
    cl_mem modes;           /* CR_SIM_ICE_MODES x 4 float */
    cl_mem pot;             /* cny x cnx float: P, V·Å; reused for the contrast */
    cl_mem spec;            /* cny x (cnx/2+1) float2 */
    cl_mem ctf;             /* cny x (cnx/2+1) float */
    cl_mem out[4];          /* truth, even, odd, sum: ny x nx float */
    int maxparts;
    int *owner_host;        /* cny x cnx */
    float *parts_host;      /* maxparts x PARTICLE_STRIDE */
};

#define PARTICLE_STRIDE 16 /* = SIM_PARTICLE_STRIDE of simulate.cl */

/* Smallest even n' >= n whose prime factors are 2, 3, 5, 7 (fast FFT sizes). */
static int fft_size(int n)
{
    for (int m = n + (n & 1);; m += 2) {
        int r = m;
        for (int p = 2; p <= 7; p++)
            while (r % p == 0) r /= p;
        if (r == 1) return m;
    }
}

void cr_simulator_free(cr_simulator *s)
{
    if (!s) return;
    for (int i = 0; i < K_COUNT; i++)
        if (s->k[i]) clReleaseKernel(s->k[i]);
    cl_mem *bufs[] = {&s->vol, &s->owner, &s->parts, &s->modes, &s->pot, &s->spec, &s->ctf,
                      &s->out[0], &s->out[1], &s->out[2], &s->out[3]};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cr_buffer_release(s->rt, bufs[i]);
    cr_fourier_free(s->fw);
    free(s->owner_host);
    free(s->parts_host);
    free(s);
}

cr_status cr_simulator_create(cr_runtime *rt, const cr_specimen *sp, const cr_sim_opts *o, cr_simulator **out)
{
    cr_status st = CR_OK;
    /* keyed by id: the table cannot fall out of step with the enum */
    static const char *const names[] = {[K_POT] = "sim_potential", [K_TRANSFER] = "sim_transfer",
                                        [K_COUNTS] = "sim_counts"};
    _Static_assert(sizeof names / sizeof names[0] == K_COUNT, "one name per simulator kernel id");
    *out = NULL;
    if (o->nx < 16 || o->ny < 16 || o->nx % 2 || o->ny % 2)
        return cr_fail(CR_ERR_ARG, "micrograph size %dx%d: both sides must be even and at least 16", o->nx, o->ny);
    if (fabs(sp->apix - o->apix) > 1e-9 * o->apix)
        return cr_fail(CR_ERR_ARG, "specimen sampled at %g A, micrographs at %g A", sp->apix, o->apix);
    cr_simulator *s = calloc(1, sizeof *s);
    if (!s) return cr_fail(CR_ERR_NOMEM, "out of memory creating the simulator");
    s->rt = rt;
    s->o = *o;
    s->n = sp->n;
    s->rpx = sp->radius / sp->apix;
    s->tr = (int)ceil(s->rpx) + 1;
    if (s->tr > sp->n / 2) s->tr = sp->n / 2;
    int margin = cr_sim_margin(o);
    s->cnx = fft_size(o->nx + 2 * margin);
    s->cny = fft_size(o->ny + 2 * margin);
    s->ox = (s->cnx - o->nx) / 2;
    s->oy = (s->cny - o->ny) / 2;
    size_t npix = (size_t)o->nx * o->ny, ncan = (size_t)s->cnx * s->cny, nspec = (size_t)s->cny * (s->cnx / 2 + 1);
    for (int i = 0; i < K_COUNT; i++) CR_TRY(cr_kernel_create(rt, "simulate.cl", names[i], "", &s->k[i]));
    CR_TRY(cr_fourier_create(rt, &s->fw));
    CR_TRY(cr_fft_plan_get(cr_fourier_fft(s->fw), s->cnx, s->cny, 1, CR_FFT_AUTO, &s->fft));
    size_t nv = (size_t)sp->n * sp->n * sp->n;
    CR_TRY(cr_buffer_create(rt, nv * sizeof(float), "specimen map", &s->vol));
    CR_TRY(cr_buffer_write(rt, s->vol, 0, nv * sizeof(float), sp->vol));
    CR_TRY(cr_buffer_create(rt, ncan * sizeof(int), "particle owner map", &s->owner));
    CR_TRY(cr_buffer_create(rt, CR_SIM_ICE_MODES * 4 * sizeof(float), "ice modes", &s->modes));
    CR_TRY(cr_buffer_create(rt, ncan * sizeof(float), "projected potential", &s->pot));
    CR_TRY(cr_buffer_create(rt, nspec * 2 * sizeof(float), "simulation spectrum", &s->spec));
    CR_TRY(cr_buffer_create(rt, nspec * sizeof(float), "CTF", &s->ctf));
    for (int i = 0; i < 4; i++) CR_TRY(cr_buffer_create(rt, npix * sizeof(float), "simulated image", &s->out[i]));
    s->owner_host = malloc(ncan * sizeof *s->owner_host);
    if (!s->owner_host) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory creating the simulator");
        goto cleanup;
    }
    *out = s;
    return CR_OK;
cleanup:
    cr_simulator_free(s);
    return st;
}

/* Uploads the plan (owner map, particle frames, ice modes) and enqueues the
 * projected potential into s->pot. */
static cr_status enqueue_potential(cr_simulator *s, const cr_sim_plan *p)
{
    cr_status st = CR_OK;
    const cr_sim_opts *o = &s->o;
    int nx = s->cnx, ny = s->cny;
    if (p->nparticles > s->maxparts || !s->parts) {
        int np = p->nparticles > 64 ? p->nparticles : 64;
        cr_buffer_release(s->rt, &s->parts);
        free(s->parts_host);
        s->maxparts = 0;
        s->parts_host = calloc((size_t)np * PARTICLE_STRIDE, sizeof(float));
        if (!s->parts_host) return cr_fail(CR_ERR_NOMEM, "out of memory for %d particles", np);
        CR_TRY(cr_buffer_create(s->rt, (size_t)np * PARTICLE_STRIDE * sizeof(float), "particle frames", &s->parts));
        s->maxparts = np;
    }
    /* Owner map: discs of the specimen radius (non-overlapping by plan). */
    double rpx = s->rpx;
    for (size_t i = 0; i < (size_t)nx * ny; i++) s->owner_host[i] = -1;
    for (int i = 0; i < p->nparticles; i++) {
        const cr_sim_particle *pa = &p->particles[i];
        double px = pa->x + s->ox, py = pa->y + s->oy; /* canvas coordinates */
        int y0 = (int)floor(py - rpx), y1 = (int)ceil(py + rpx);
        int x0 = (int)floor(px - rpx), x1 = (int)ceil(px + rpx);
        for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < ny; y++)
            for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < nx; x++) {
                double dx = x - px, dy = y - py;
                if (dx * dx + dy * dy <= rpx * rpx) s->owner_host[(size_t)y * nx + x] = i;
            }
        /* R^T of the rotation of q (world = R body), row-major, after the centre. */
        double w = pa->q[0], a = pa->q[1], b = pa->q[2], c = pa->q[3];
        double R[3][3] = {{1 - 2 * (b * b + c * c), 2 * (a * b - w * c), 2 * (a * c + w * b)},
                          {2 * (a * b + w * c), 1 - 2 * (a * a + c * c), 2 * (b * c - w * a)},
                          {2 * (a * c - w * b), 2 * (b * c + w * a), 1 - 2 * (a * a + b * b)}};
        float *f = s->parts_host + (size_t)i * PARTICLE_STRIDE;
        f[0] = (float)px;
        f[1] = (float)py;
        for (int r = 0; r < 3; r++)
            for (int k = 0; k < 3; k++) f[2 + 3 * r + k] = (float)R[k][r];
    }
    float modes[CR_SIM_ICE_MODES * 4];
    for (int k = 0; k < CR_SIM_ICE_MODES; k++)
        for (int j = 0; j < 4; j++) modes[4 * k + j] = (float)p->ice_mode[k][j];
    CR_TRY(cr_buffer_write(s->rt, s->owner, 0, (size_t)nx * ny * sizeof(int), s->owner_host));
    if (p->nparticles > 0)
        CR_TRY(cr_buffer_write(s->rt, s->parts, 0, (size_t)p->nparticles * PARTICLE_STRIDE * sizeof(float),
                               s->parts_host));
    CR_TRY(cr_buffer_write(s->rt, s->modes, 0, sizeof modes, modes));
    cl_float8 ice = {{0}};
    int nmodes = o->ice_thickness > 0 ? CR_SIM_ICE_MODES : 0;
    ice.s[0] = (float)(cr_sim_ice_potential() * o->ice_thickness);
    ice.s[1] = (float)(cr_sim_carbon_potential() * o->carbon_thickness);
    ice.s[2] = (float)p->carbon_nx;
    ice.s[3] = (float)p->carbon_ny;
    ice.s[4] = (float)p->carbon_d;
    ice.s[5] = p->carbon ? 1.0f : 0.0f;
    ice.s[6] = (float)s->ox;
    ice.s[7] = (float)s->oy;
    float apix = (float)o->apix;
    CR_TRY(cr_kernel_args(s->k[K_POT], 12, sizeof(cl_mem), &s->pot, sizeof(int), &nx, sizeof(int), &ny,
                          sizeof(cl_mem), &s->owner, sizeof(cl_mem), &s->parts, sizeof(cl_mem), &s->vol,
                          sizeof(int), &s->n, sizeof(int), &s->tr, sizeof(float), &apix, sizeof ice, &ice,
                          sizeof(cl_mem), &s->modes, sizeof(int), &nmodes));
    size_t g[2] = {(size_t)nx, (size_t)ny};
    CR_TRY(cr_enqueue(s->rt, s->k[K_POT], 2, g, NULL));
cleanup:
    return st;
}

cr_status cr_simulator_potential(cr_simulator *s, const cr_sim_plan *p, float *out)
{
    cr_status st = enqueue_potential(s, p);
    /* The micrograph's rows of the canvas, one strided read. */
    size_t origin[3] = {(size_t)s->ox * sizeof(float), (size_t)s->oy, 0};
    size_t region[3] = {(size_t)s->o.nx * sizeof(float), (size_t)s->o.ny, 1};
    if (st == CR_OK) {
        int err = clEnqueueReadBufferRect(s->rt->queue, s->pot, CL_TRUE, origin, (size_t[3]){0, 0, 0}, region,
                                          (size_t)s->cnx * sizeof(float), 0, (size_t)s->o.nx * sizeof(float), 0, out,
                                          0, NULL, NULL);
        if (err) st = cr_fail_cl(err, "clEnqueueReadBufferRect", "projected potential", __FILE__, __LINE__);
    }
    return st;
}

cr_status cr_simulator_run(cr_simulator *s, const cr_sim_plan *p, float *truth, float *even, float *odd, float *sum)
{
    cr_status st = CR_OK;
    const cr_sim_opts *o = &s->o;
    int nx = s->cnx, ny = s->cny, npix = o->nx * o->ny, mtf = o->mtf;
    CR_TRY(enqueue_potential(s, p));
    CR_TRY(cr_fft_forward(s->fft, s->pot, s->spec));
    CR_TRY(cr_ctf_eval(s->fw, s->ctf, nx, ny, o->apix, &p->ctf));
    double A = p->ctf.amp_contrast;
    float scale = (float)(-2.0 * cr_sim_interaction_constant(p->ctf.voltage) / sqrt(1.0 - A * A));
    float bfac = (float)o->bfactor;
    cl_float2 ds = {{(float)(1.0 / (nx * o->apix)), (float)(1.0 / (ny * o->apix))}};
    CR_TRY(cr_kernel_args(s->k[K_TRANSFER], 8, sizeof(cl_mem), &s->spec, sizeof(cl_mem), &s->ctf, sizeof(int), &nx,
                          sizeof(int), &ny, sizeof ds, &ds, sizeof(float), &scale, sizeof(float), &bfac, sizeof(int),
                          &mtf));
    size_t g2[2] = {(size_t)(nx / 2 + 1), (size_t)ny};
    CR_TRY(cr_enqueue(s->rt, s->k[K_TRANSFER], 2, g2, NULL));
    CR_TRY(cr_fft_inverse(s->fft, s->spec, s->pot)); /* pot now holds the contrast c */
    float dose_px = (float)(o->dose * o->apix * o->apix);
    cl_uint2 key = {{(cl_uint)o->noise_seed, (cl_uint)(o->noise_seed >> 32)}};
    cl_uint mic = (cl_uint)p->index;
    cl_int4 geom = {{o->nx, o->ny, s->cnx, s->oy * s->cnx + s->ox}};
    CR_TRY(cr_kernel_args(s->k[K_COUNTS], 9, sizeof(cl_mem), &s->pot, sizeof(cl_mem), &s->out[0], sizeof(cl_mem),
                          &s->out[1], sizeof(cl_mem), &s->out[2], sizeof(cl_mem), &s->out[3], sizeof geom, &geom,
                          sizeof(float), &dose_px, sizeof key, &key, sizeof mic, &mic));
    size_t g1[2] = {(size_t)o->nx, (size_t)o->ny};
    CR_TRY(cr_enqueue(s->rt, s->k[K_COUNTS], 2, g1, NULL));
    float *dst[4] = {truth, even, odd, sum};
    for (int i = 0; i < 4; i++)
        if (dst[i]) CR_TRY(cr_buffer_read(s->rt, s->out[i], 0, (size_t)npix * sizeof(float), dst[i]));
cleanup:
    return st;
}
