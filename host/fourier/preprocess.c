/* The two chains every command shares (REFERENCE.md "Pre-processing" and
 * "Denoising a full micrograph"): pre-processing to the binned image, and
 * un-binning a denoised binned image back to the original shape. Device
 * variants work on cl_mem; the host wrappers upload into scratch buffers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fourier.h"
#include "clrestore/log.h"
#include "fourier_internal.h"

cr_status cr_binned_shape(int nx, int ny, double apix, double max_res, int *bx, int *by, double *bapix)
{
    if (nx < 2 || ny < 2 || !(apix > 0) || !(max_res > 0))
        return cr_fail(CR_ERR_ARG, "binning %dx%d at %g A/px to %g A: bad shape, pixel size or resolution", nx, ny,
                       apix, max_res);
    /* The cut-off 1/max_res sits at frequency index n apix / max_res; the
     * binned image keeps [-n'/2, n'/2 - 1] (PRODUCT.md), so n' = 2 round(it). */
    int n[2] = {nx, ny}, b[2];
    for (int i = 0; i < 2; i++) {
        long k = lround((double)n[i] * apix / max_res);
        long lim = n[i] / 2; /* n' <= n rounded down to even */
        if (k > lim) k = lim;
        if (k < 1) k = 1;
        b[i] = (int)(2 * k);
    }
    *bx = b[0];
    *by = b[1];
    if (bapix) *bapix = 0.5 * (apix * nx / b[0] + apix * ny / b[1]);
    return CR_OK;
}

void cr_preprocess_opts_default(cr_preprocess_opts *o)
{
    memset(o, 0, sizeof *o);
    o->apix = 1.0;
    o->max_resolution = 4.5;
    o->highpass_resolution = 200.0;
    o->phaseflip = 1;
}

void cr_unbin_opts_default(cr_unbin_opts *o)
{
    memset(o, 0, sizeof *o);
    o->apix = 1.0;
    o->merge_resolution = 3.0;
    o->merge_width = 2.0;
    o->phaseflipped = 1;
}

cr_status cr_preprocess_dev(cr_fourier *fw, cl_mem image, int nx, int ny, const cr_preprocess_opts *o, cl_mem binned,
                            int bx, int by)
{
    cr_status st = CR_OK;
    cl_mem real = NULL, spec = NULL, spec_s = NULL;
    cr_fft_plan *big = NULL, *small = NULL;
    int ebx = 0, eby = 0;
    CR_TRY(cr_binned_shape(nx, ny, o->apix, o->max_resolution, &ebx, &eby, NULL));
    if (bx != ebx || by != eby) {
        st = cr_fail(CR_ERR_ARG, "pre-processing %dx%d: binned shape %dx%d given, %dx%d expected", nx, ny, bx, by, ebx,
                     eby);
        goto cleanup;
    }
    if (!(o->highpass_resolution > o->max_resolution)) {
        st = cr_fail(CR_ERR_ARG, "high-pass resolution %g A must be coarser than the cut-off %g A",
                     o->highpass_resolution, o->max_resolution);
        goto cleanup;
    }
    size_t n = (size_t)nx * ny, hn = (size_t)(nx / 2 + 1) * ny, bn = (size_t)(bx / 2 + 1) * by;
    CR_TRY(cr_fourier_scratch(fw, CR_SCR_REAL_BIG, n * sizeof(float), &real));
    CR_TRY(cr_fourier_scratch(fw, CR_SCR_SPEC_BIG, hn * 2 * sizeof(float), &spec));
    CR_TRY(cr_fourier_scratch(fw, CR_SCR_SPEC_SMALL, bn * 2 * sizeof(float), &spec_s));
    CR_TRY(cr_fft_plan_get(fw->fft, nx, ny, 1, CR_FFT_AUTO, &big));
    CR_TRY(cr_fft_plan_get(fw->fft, bx, by, 1, CR_FFT_AUTO, &small));

    CR_TRY(cr_normalise(fw, image, real, n, NULL, NULL));
    CR_TRY(cr_fft_forward(big, real, spec));
    if (o->phaseflip && o->ctf) CR_TRY(cr_ctf_flip(fw, spec, nx, ny, o->apix, o->ctf));
    /* scale bx by / (nx ny): the binned image keeps the amplitude of the input */
    CR_TRY(cr_fourier_crop(fw, spec, nx, ny, spec_s, bx, by, (float)((double)bx * by / ((double)nx * ny))));
    CR_TRY(cr_hermitian_nyquist(fw, spec_s, bx, by));
    /* physical frequencies do not change with cropping: ds = 1/(n apix) of the input */
    CR_TRY(cr_bandpass(fw, spec_s, bx, by, 1.0 / (nx * o->apix), 1.0 / (ny * o->apix), 1.0 / o->highpass_resolution,
                       1.0 / o->max_resolution));
    CR_TRY(cr_fft_inverse(small, spec_s, binned));
    CR_TRY(cr_normalise(fw, binned, binned, (size_t)bx * by, NULL, NULL));
cleanup:
    return st;
}

cr_status cr_preprocess(cr_fourier *fw, const float *image, int nx, int ny, const cr_preprocess_opts *o,
                        float **binned, int *bx, int *by, double *bapix)
{
    cr_status st = CR_OK;
    cl_mem in = NULL, out = NULL;
    float *res = NULL;
    *binned = NULL;
    CR_TRY(cr_binned_shape(nx, ny, o->apix, o->max_resolution, bx, by, bapix));
    size_t n = (size_t)nx * ny, bn = (size_t)*bx * *by;
    res = malloc(bn * sizeof *res);
    if (!res) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory for a %dx%d binned image", *bx, *by);
        goto cleanup;
    }
    CR_TRY(cr_fourier_scratch(fw, CR_SCR_IN, n * sizeof(float), &in));
    CR_TRY(cr_fourier_scratch(fw, CR_SCR_OUT, bn * sizeof(float), &out));
    CR_TRY(cr_buffer_write(fw->rt, in, 0, n * sizeof(float), image));
    CR_TRY(cr_preprocess_dev(fw, in, nx, ny, o, out, *bx, *by));
    CR_TRY(cr_buffer_read(fw->rt, out, 0, bn * sizeof(float), res));
    *binned = res;
    return CR_OK;
cleanup:
    free(res);
    return st;
}

cr_status cr_unbin_dev(cr_fourier *fw, cl_mem binned, int bx, int by, cl_mem raw, int nx, int ny,
                       const cr_unbin_opts *o, cl_mem out)
{
    cr_status st = CR_OK;
    cl_mem real_s = NULL, spec_s = NULL, spec = NULL, real = NULL, spec_raw = NULL;
    cr_fft_plan *big = NULL, *small = NULL;
    if (!(o->apix > 0) || !(o->merge_resolution > 0) || !(o->merge_width > 0))
        return cr_fail(CR_ERR_ARG, "un-binning: pixel size %g A, merge resolution %g A and width %g A must be positive",
                       o->apix, o->merge_resolution, o->merge_width);
    if (o->merge_noisy && !raw) return cr_fail(CR_ERR_ARG, "un-binning with merge noisy needs the raw image");
    size_t n = (size_t)nx * ny, hn = (size_t)(nx / 2 + 1) * ny;
    size_t b = (size_t)bx * by, bn = (size_t)(bx / 2 + 1) * by;
    double dsx = 1.0 / (nx * o->apix), dsy = 1.0 / (ny * o->apix);
    double lo = 1.0 / (o->merge_resolution + o->merge_width), hi = 1.0 / o->merge_resolution;
    CR_TRY(cr_fourier_scratch(fw, CR_SCR_REAL_SMALL, b * sizeof(float), &real_s));
    CR_TRY(cr_fourier_scratch(fw, CR_SCR_SPEC_SMALL, bn * 2 * sizeof(float), &spec_s));
    CR_TRY(cr_fourier_scratch(fw, CR_SCR_SPEC_BIG, hn * 2 * sizeof(float), &spec));
    CR_TRY(cr_fft_plan_get(fw->fft, nx, ny, 1, CR_FFT_AUTO, &big));
    CR_TRY(cr_fft_plan_get(fw->fft, bx, by, 1, CR_FFT_AUTO, &small));

    CR_TRY(cr_normalise(fw, binned, real_s, b, NULL, NULL));
    CR_TRY(cr_fft_forward(small, real_s, spec_s));
    CR_TRY(cr_fourier_pad(fw, spec_s, bx, by, spec, nx, ny, (float)((double)n / (double)b)));
    if (o->merge_noisy) {
        CR_TRY(cr_fourier_scratch(fw, CR_SCR_REAL_BIG, n * sizeof(float), &real));
        CR_TRY(cr_fourier_scratch(fw, CR_SCR_SPEC_RAW, hn * 2 * sizeof(float), &spec_raw));
        CR_TRY(cr_normalise(fw, raw, real, n, NULL, NULL));
        CR_TRY(cr_fft_forward(big, real, spec_raw));
        if (o->phaseflipped && o->ctf) CR_TRY(cr_ctf_flip(fw, spec_raw, nx, ny, o->apix, o->ctf));
        CR_TRY(cr_merge_noisy(fw, spec, spec_raw, nx, ny, dsx, dsy, lo, hi));
    } else {
        CR_TRY(cr_lowpass_mask(fw, spec, nx, ny, dsx, dsy, lo, hi));
    }
    if (o->flip_back && o->ctf) CR_TRY(cr_ctf_flip(fw, spec, nx, ny, o->apix, o->ctf));
    CR_TRY(cr_fft_inverse(big, spec, out));
cleanup:
    return st;
}

cr_status cr_unbin(cr_fourier *fw, const float *binned, int bx, int by, const float *raw, int nx, int ny,
                   const cr_unbin_opts *o, float *out)
{
    cr_status st = CR_OK;
    cl_mem in = NULL, in_raw = NULL, res = NULL;
    size_t n = (size_t)nx * ny, b = (size_t)bx * by;
    if (o->merge_noisy && !raw) return cr_fail(CR_ERR_ARG, "un-binning with merge noisy needs the raw image");
    CR_TRY(cr_fourier_scratch(fw, CR_SCR_IN, b * sizeof(float), &in));
    CR_TRY(cr_fourier_scratch(fw, CR_SCR_OUT, n * sizeof(float), &res));
    CR_TRY(cr_buffer_write(fw->rt, in, 0, b * sizeof(float), binned));
    if (o->merge_noisy) {
        CR_TRY(cr_fourier_scratch(fw, CR_SCR_IN2, n * sizeof(float), &in_raw));
        CR_TRY(cr_buffer_write(fw->rt, in_raw, 0, n * sizeof(float), raw));
    }
    CR_TRY(cr_unbin_dev(fw, in, bx, by, in_raw, nx, ny, o, res));
    CR_TRY(cr_buffer_read(fw->rt, res, 0, n * sizeof(float), out));
cleanup:
    return st;
}
