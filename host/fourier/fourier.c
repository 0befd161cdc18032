/* The cr_fourier object (kernels of kernels/fourier.cl, the FFT plan cache,
 * scratch buffers) and thin host wrappers that launch each Fourier kernel.
 * The chains built from them are in preprocess.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fourier.h"
#include "clrestore/log.h"
#include "fourier_internal.h"

/* Partial sums per statistics pass: enough work-items to fill any device,
 * few enough that the host adds them in microseconds. */
#define CR_STAT_PARTIALS 4096

double cr_electron_wavelength(double kv)
{
    double v = kv * 1e3;
    return 12.2643247 / sqrt(v * (1.0 + 0.978466e-6 * v));
}

/* Keyed by id, so the table cannot fall out of step with the enum; every row is
 * built in cr_fourier_create. */
static const char *const cr_fourier_kernel_names[] = {
    [CR_FK_CTF_EVAL] = "ctf_eval",      [CR_FK_CTF_FLIP] = "ctf_flip",     [CR_FK_CROP] = "fourier_crop",
    [CR_FK_PAD] = "fourier_pad",        [CR_FK_HERMITIAN] = "hermitian_nyquist", [CR_FK_BANDPASS] = "bandpass",
    [CR_FK_MASK] = "lowpass_mask",      [CR_FK_MERGE_BAND] = "merge_band_partial", [CR_FK_MERGE] = "merge_noisy",
    [CR_FK_SUM] = "sum_partial",        [CR_FK_AFFINE] = "zscore_f32",
};
_Static_assert(sizeof cr_fourier_kernel_names / sizeof cr_fourier_kernel_names[0] == CR_FK_COUNT,
               "one name per cr_fourier kernel id");

cr_status cr_fourier_create(cr_runtime *rt, cr_fourier **out)
{
    cr_status st = CR_OK;
    *out = NULL;
    cr_fourier *fw = calloc(1, sizeof *fw);
    if (!fw) return cr_fail(CR_ERR_NOMEM, "out of memory creating the Fourier pipeline");
    fw->rt = rt;
    fw->fp64 = rt->dev.fp64;
    fw->partial_host = malloc(2 * CR_STAT_PARTIALS * sizeof *fw->partial_host);
    if (!fw->partial_host) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory creating the Fourier pipeline");
        goto cleanup;
    }
    for (int i = 0; i < CR_FK_COUNT; i++) {
        if (!cr_fourier_kernel_names[i]) {
            st = cr_fail(CR_ERR_INTERNAL, "Fourier kernel %d has no name", i);
            goto cleanup;
        }
        CR_TRY(cr_kernel_create(rt, "fourier.cl", cr_fourier_kernel_names[i], "", &fw->k[i]));
    }
    CR_TRY(cr_fft_create(rt, &fw->fft));
    CR_TRY(cr_buffer_create(rt, 2 * CR_STAT_PARTIALS * sizeof(float), "statistics partial sums", &fw->partial));
    *out = fw;
    return CR_OK;
cleanup:
    cr_fourier_free(fw);
    return st;
}

void cr_fourier_free(cr_fourier *fw)
{
    if (!fw) return;
    for (int i = 0; i < CR_FK_COUNT; i++)
        if (fw->k[i]) clReleaseKernel(fw->k[i]);
    for (int i = 0; i < CR_SCRATCH_COUNT + CR_WS_COUNT; i++) cr_buffer_release(fw->rt, &fw->scratch[i]);
    cr_buffer_release(fw->rt, &fw->partial);
    cr_fft_free(fw->fft);
    free(fw->partial_host);
    free(fw);
}

cr_fft *cr_fourier_fft(cr_fourier *fw)
{
    return fw->fft;
}

cr_runtime *cr_fourier_runtime(cr_fourier *fw)
{
    return fw->rt;
}

cr_status cr_fourier_workspace(cr_fourier *fw, cr_workspace slot, size_t bytes, cl_mem *out)
{
    return cr_fourier_scratch(fw, CR_SCRATCH_COUNT + (int)slot, bytes, out);
}

cr_status cr_fourier_scratch(cr_fourier *fw, int slot, size_t bytes, cl_mem *out)
{
    static const char *const what[CR_SCRATCH_COUNT + CR_WS_COUNT] = {
        "full-size image", "full-size spectrum", "raw spectrum", "binned image", "binned spectrum",
        "input image", "output image", "second input image",
        "micrograph", "binned micrograph", "denoised binned micrograph", "denoised micrograph",
        "padded binned micrograph", "network result", "transformed micrograph", "transformed result",
        "augmentation sum",
    };
    *out = NULL;
    if (fw->scratch[slot] && fw->scratch_bytes[slot] >= bytes) {
        *out = fw->scratch[slot];
        return CR_OK;
    }
    cr_buffer_release(fw->rt, &fw->scratch[slot]);
    fw->scratch_bytes[slot] = 0;
    cr_status st = cr_buffer_create(fw->rt, bytes, what[slot], &fw->scratch[slot]);
    if (st != CR_OK) return st;
    fw->scratch_bytes[slot] = bytes;
    *out = fw->scratch[slot];
    return CR_OK;
}

static cr_status cr_launch2(cr_fourier *fw, int kernel, int w, int h)
{
    size_t g[2] = {(size_t)w, (size_t)h};
    return cr_enqueue(fw->rt, fw->k[kernel], 2, g, NULL);
}

/* Sets the CTF kernels' (out, nx, ny, ds, p) arguments; ds and p are double
 * vectors when the program was built with CR_HAVE_FP64, else float. */
static cr_status cr_ctf_args(cr_fourier *fw, cl_kernel k, cl_mem buf, int nx, int ny, double apix,
                             const cr_ctf_params *c)
{
    if (apix <= 0 || !c) return cr_fail(CR_ERR_ARG, "CTF needs a positive pixel size and parameters");
    if (c->amp_contrast < 0 || c->amp_contrast > 1 || c->voltage <= 0)
        return cr_fail(CR_ERR_ARG, "CTF: amplitude contrast %g or voltage %g kV out of range", c->amp_contrast,
                       c->voltage);
    double ast = c->defocus_angle * M_PI / 180.0;
    double p[8] = {cr_electron_wavelength(c->voltage), c->cs * 1e7, c->defocus_u, c->defocus_v, cos(2 * ast),
                   sin(2 * ast), c->amp_contrast, c->phase_shift * M_PI / 180.0};
    double ds[2] = {1.0 / (nx * apix), 1.0 / (ny * apix)};
    if (fw->fp64) {
        cl_double8 pv;
        cl_double2 dv;
        for (int i = 0; i < 8; i++) pv.s[i] = p[i];
        dv.s[0] = ds[0];
        dv.s[1] = ds[1];
        return cr_kernel_args(k, 5, sizeof(cl_mem), &buf, sizeof(int), &nx, sizeof(int), &ny, sizeof dv, &dv,
                              sizeof pv, &pv);
    }
    cl_float8 pv;
    cl_float2 dv;
    for (int i = 0; i < 8; i++) pv.s[i] = (float)p[i];
    dv.s[0] = (float)ds[0];
    dv.s[1] = (float)ds[1];
    return cr_kernel_args(k, 5, sizeof(cl_mem), &buf, sizeof(int), &nx, sizeof(int), &ny, sizeof dv, &dv, sizeof pv,
                          &pv);
}

cr_status cr_ctf_eval(cr_fourier *fw, cl_mem out, int nx, int ny, double apix, const cr_ctf_params *ctf)
{
    cr_status st = cr_ctf_args(fw, fw->k[CR_FK_CTF_EVAL], out, nx, ny, apix, ctf);
    return st != CR_OK ? st : cr_launch2(fw, CR_FK_CTF_EVAL, nx / 2 + 1, ny);
}

cr_status cr_ctf_flip(cr_fourier *fw, cl_mem spec, int nx, int ny, double apix, const cr_ctf_params *ctf)
{
    cr_status st = cr_ctf_args(fw, fw->k[CR_FK_CTF_FLIP], spec, nx, ny, apix, ctf);
    return st != CR_OK ? st : cr_launch2(fw, CR_FK_CTF_FLIP, nx / 2 + 1, ny);
}

static cr_status cr_check_binned(int nx, int ny, int bx, int by)
{
    if (bx < 2 || by < 2 || bx % 2 || by % 2 || bx > nx || by > ny)
        return cr_fail(CR_ERR_ARG, "Fourier crop/pad between %dx%d and %dx%d: the small shape must be even and fit",
                       nx, ny, bx, by);
    return CR_OK;
}

cr_status cr_fourier_crop(cr_fourier *fw, cl_mem src, int nx, int ny, cl_mem dst, int bx, int by, float scale)
{
    cr_status st = cr_check_binned(nx, ny, bx, by);
    if (st == CR_OK)
        st = cr_kernel_args(fw->k[CR_FK_CROP], 7, sizeof(cl_mem), &src, sizeof(int), &nx, sizeof(int), &ny,
                            sizeof(cl_mem), &dst, sizeof(int), &bx, sizeof(int), &by, sizeof(float), &scale);
    return st != CR_OK ? st : cr_launch2(fw, CR_FK_CROP, bx / 2 + 1, by);
}

cr_status cr_fourier_pad(cr_fourier *fw, cl_mem src, int bx, int by, cl_mem dst, int nx, int ny, float scale)
{
    cr_status st = cr_check_binned(nx, ny, bx, by);
    if (st == CR_OK)
        st = cr_kernel_args(fw->k[CR_FK_PAD], 7, sizeof(cl_mem), &src, sizeof(int), &bx, sizeof(int), &by,
                            sizeof(cl_mem), &dst, sizeof(int), &nx, sizeof(int), &ny, sizeof(float), &scale);
    return st != CR_OK ? st : cr_launch2(fw, CR_FK_PAD, nx / 2 + 1, ny);
}

cr_status cr_hermitian_nyquist(cr_fourier *fw, cl_mem spec, int nx, int ny)
{
    cr_status st = cr_kernel_args(fw->k[CR_FK_HERMITIAN], 3, sizeof(cl_mem), &spec, sizeof(int), &nx, sizeof(int), &ny);
    return st != CR_OK ? st : cr_launch2(fw, CR_FK_HERMITIAN, ny / 2 + 1, 2);
}

cr_status cr_bandpass(cr_fourier *fw, cl_mem spec, int nx, int ny, double dsx, double dsy, double hp, double lp)
{
    cl_float2 ds = {{(float)dsx, (float)dsy}};
    float h = (float)hp, l = (float)lp;
    if (!(lp > 0) || hp < 0) return cr_fail(CR_ERR_ARG, "band-pass %g..%g 1/A: bad corner frequencies", hp, lp);
    cr_status st = cr_kernel_args(fw->k[CR_FK_BANDPASS], 6, sizeof(cl_mem), &spec, sizeof(int), &nx, sizeof(int), &ny,
                                  sizeof ds, &ds, sizeof h, &h, sizeof l, &l);
    return st != CR_OK ? st : cr_launch2(fw, CR_FK_BANDPASS, nx / 2 + 1, ny);
}

cr_status cr_lowpass_mask(cr_fourier *fw, cl_mem spec, int nx, int ny, double dsx, double dsy, double lo, double hi)
{
    cl_float2 ds = {{(float)dsx, (float)dsy}};
    float l = (float)lo, h = (float)hi;
    if (!(hi > lo) || lo < 0) return cr_fail(CR_ERR_ARG, "soft mask %g..%g 1/A: need 0 <= lo < hi", lo, hi);
    cr_status st = cr_kernel_args(fw->k[CR_FK_MASK], 6, sizeof(cl_mem), &spec, sizeof(int), &nx, sizeof(int), &ny,
                                  sizeof ds, &ds, sizeof l, &l, sizeof h, &h);
    return st != CR_OK ? st : cr_launch2(fw, CR_FK_MASK, nx / 2 + 1, ny);
}

cr_status cr_merge_noisy(cr_fourier *fw, cl_mem den, cl_mem raw, int nx, int ny, double dsx, double dsy, double lo,
                         double hi)
{
    cr_status st = CR_OK;
    cl_float2 ds = {{(float)dsx, (float)dsy}};
    float l = (float)lo, h = (float)hi;
    size_t g = CR_STAT_PARTIALS;
    if (!(hi > lo) || lo < 0) return cr_fail(CR_ERR_ARG, "merge band %g..%g 1/A: need 0 <= lo < hi", lo, hi);
    CR_TRY(cr_kernel_args(fw->k[CR_FK_MERGE_BAND], 8, sizeof(cl_mem), &den, sizeof(cl_mem), &raw, sizeof(int), &nx,
                          sizeof(int), &ny, sizeof ds, &ds, sizeof l, &l, sizeof h, &h, sizeof(cl_mem), &fw->partial));
    CR_TRY(cr_enqueue(fw->rt, fw->k[CR_FK_MERGE_BAND], 1, &g, NULL));
    CR_TRY(cr_buffer_read(fw->rt, fw->partial, 0, 2 * g * sizeof(float), fw->partial_host));
    double sd = 0, sr = 0;
    for (size_t i = 0; i < g; i++) {
        sd += fw->partial_host[2 * i];
        sr += fw->partial_host[2 * i + 1];
    }
    /* No overlap (a band beyond the binned cut-off): take the raw data as it is. */
    float scale = sr > 0 && sd > 0 ? (float)(sd / sr) : 1.0f;
    cr_debug("merge noisy: raw amplitudes scaled by %.4g in %.4g..%.4g 1/A", scale, lo, hi);
    CR_TRY(cr_kernel_args(fw->k[CR_FK_MERGE], 8, sizeof(cl_mem), &den, sizeof(cl_mem), &raw, sizeof(int), &nx,
                          sizeof(int), &ny, sizeof ds, &ds, sizeof l, &l, sizeof h, &h, sizeof scale, &scale));
    CR_TRY(cr_launch2(fw, CR_FK_MERGE, nx / 2 + 1, ny));
cleanup:
    return st;
}

/* One pass of sum_partial: sums of (x - shift) and (x - shift)^2 in double. */
static cr_status cr_sum_pass(cr_fourier *fw, cl_mem x, size_t n, float shift, double *s, double *q)
{
    cr_status st = CR_OK;
    cl_long nn = (cl_long)n;
    size_t g = CR_STAT_PARTIALS;
    CR_TRY(cr_kernel_args(fw->k[CR_FK_SUM], 4, sizeof(cl_mem), &x, sizeof nn, &nn, sizeof shift, &shift,
                          sizeof(cl_mem), &fw->partial));
    CR_TRY(cr_enqueue(fw->rt, fw->k[CR_FK_SUM], 1, &g, NULL));
    CR_TRY(cr_buffer_read(fw->rt, fw->partial, 0, 2 * g * sizeof(float), fw->partial_host));
    *s = *q = 0;
    for (size_t i = 0; i < g; i++) {
        *s += fw->partial_host[2 * i];
        *q += fw->partial_host[2 * i + 1];
    }
cleanup:
    return st;
}

cr_status cr_mean_std(cr_fourier *fw, cl_mem x, size_t n, double *mean, double *std)
{
    cr_status st = CR_OK;
    double s, q;
    if (n == 0) return cr_fail(CR_ERR_ARG, "statistics of an empty image");
    CR_TRY(cr_sum_pass(fw, x, n, 0.0f, &s, &q));
    /* second pass about the first estimate: no cancellation in the variance */
    float shift = (float)(s / (double)n);
    CR_TRY(cr_sum_pass(fw, x, n, shift, &s, &q));
    double d = s / (double)n, var = q / (double)n - d * d;
    *mean = shift + d;
    *std = sqrt(var > 0 ? var : 0);
cleanup:
    return st;
}

cr_status cr_normalise(cr_fourier *fw, cl_mem x, cl_mem y, size_t n, double *mean, double *std)
{
    cr_status st = CR_OK;
    double m, s;
    CR_TRY(cr_mean_std(fw, x, n, &m, &s));
    float a = s > 0 ? (float)(1.0 / s) : 0.0f, hi = (float)m, lo = (float)(m - (double)hi);
    cl_long nn = (cl_long)n;
    size_t g = n;
    CR_TRY(cr_kernel_args(fw->k[CR_FK_AFFINE], 6, sizeof(cl_mem), &x, sizeof(cl_mem), &y, sizeof nn, &nn, sizeof a,
                          &a, sizeof hi, &hi, sizeof lo, &lo));
    CR_TRY(cr_enqueue(fw->rt, fw->k[CR_FK_AFFINE], 1, &g, NULL));
    if (mean) *mean = m;
    if (std) *std = s;
cleanup:
    return st;
}
