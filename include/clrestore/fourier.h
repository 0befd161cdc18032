/* The Fourier pipeline on the device: CTF and phase flip, Fourier crop (bin)
 * and zero-pad (un-bin), band-pass, soft mask, "merge noisy", accurate mean
 * and variance, and the two chains shared by prepare, denoise and snr.
 * Conventions (layouts, frequency indices, binning rule, FFT scaling) are in
 * docs/fourier.md and include/clrestore/fft.h.
 *
 * A cr_fourier belongs to one runtime: it holds the compiled kernels, the FFT
 * plan cache and scratch buffers that grow to the largest shape seen and are
 * then reused, so a stream of same-shape micrographs allocates nothing.
 * Device functions only enqueue work on rt->queue (in order) unless they
 * return numbers (statistics), which wait for them. */
#ifndef CLRESTORE_FOURIER_H
#define CLRESTORE_FOURIER_H

#include "clrestore/fft.h"
#include "clrestore/runtime.h"
#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CTF parameters as in a RELION micrograph STAR file. */
typedef struct cr_ctf_params {
    double defocus_u, defocus_v; /* A, positive = underfocus */
    double defocus_angle;        /* degrees, astigmatism angle from the x axis */
    double voltage;              /* kV */
    double cs;                   /* mm */
    double amp_contrast;         /* fraction, e.g. 0.1 */
    double phase_shift;          /* degrees */
} cr_ctf_params;

/* Relativistic electron wavelength in A for an accelerating voltage in kV:
 * 12.2643247 / sqrt(V (1 + 0.978466e-6 V)), V in volts (REFERENCE.md). */
double cr_electron_wavelength(double kv);

typedef struct cr_fourier cr_fourier;

cr_status cr_fourier_create(cr_runtime *rt, cr_fourier **out);
/* Accepts NULL and half-built objects. */
void cr_fourier_free(cr_fourier *fw);
/* Its plan cache, for callers that run FFTs of their own. */
cr_fft *cr_fourier_fft(cr_fourier *fw);
/* Its runtime. */
cr_runtime *cr_fourier_runtime(cr_fourier *fw);

/* Device buffers the pipelines keep between stages, so a micrograph crosses
 * host <-> device once (denoise.c, snr_measure.c). Owned by the cr_fourier,
 * grown to the largest request and reused; one user at a time, like the
 * object itself. No chain in this header uses them. */
typedef enum cr_workspace {
    CR_WS_IMAGE,   /* the uploaded micrograph (ny x nx float) */
    CR_WS_BINNED,  /* the pre-processed binned image (by x bx float) */
    CR_WS_DEN,     /* the denoised binned image */
    CR_WS_OUT,     /* the result to read back (ny x nx float) */
    CR_WS_PAD,     /* the binned image padded to a multiple of 2^levels */
    CR_WS_RES,     /* the network's answer for the padded image */
    CR_WS_TTA_IN,  /* a dihedral transform of the padded image */
    CR_WS_TTA_OUT, /* the network's answer for it */
    CR_WS_TTA_ACC, /* the running sum of the answers (8 bytes a pixel) */
    CR_WS_COUNT
} cr_workspace;
cr_status cr_fourier_workspace(cr_fourier *fw, cr_workspace slot, size_t bytes, cl_mem *out);

/* ---- Operations on device buffers (half spectra: ny x (nx/2+1) float2) ---- */

/* out (ny x (nx/2+1) float) = CTF at each half-spectrum point; apix in A/px. */
cr_status cr_ctf_eval(cr_fourier *fw, cl_mem out, int nx, int ny, double apix, const cr_ctf_params *ctf);
/* spec *= sign(CTF) (sign(0) = +1, so twice is the identity). */
cr_status cr_ctf_flip(cr_fourier *fw, cl_mem spec, int nx, int ny, double apix, const cr_ctf_params *ctf);
/* dst (by x (bx/2+1)) = scale * the rows [-by/2, by/2-1], columns [0, bx/2] of
 * src (ny x (nx/2+1)); bx, by even, bx <= nx, by <= ny. */
cr_status cr_fourier_crop(cr_fourier *fw, cl_mem src, int nx, int ny, cl_mem dst, int bx, int by, float scale);
/* dst (ny x (nx/2+1)) = scale * src (by x (bx/2+1)) at the same frequencies,
 * zero elsewhere; the binned Nyquist row/column is split half to +N/2 and
 * half to -N/2 where the larger spectrum has both. */
cr_status cr_fourier_pad(cr_fourier *fw, cl_mem src, int bx, int by, cl_mem dst, int nx, int ny, float scale);
/* Projects columns 0 and nx/2 onto Hermitian symmetry (see fourier.cl). */
cr_status cr_hermitian_nyquist(cr_fourier *fw, cl_mem spec, int nx, int ny);
/* spec *= HP(s) LP(s) with Butterworth exponent 10, corners in 1/A; the
 * frequency steps dsx = 1/(nx apix_x), dsy = 1/(ny apix_y) in 1/A. */
cr_status cr_bandpass(cr_fourier *fw, cl_mem spec, int nx, int ny, double dsx, double dsy, double hp, double lp);
/* spec *= 1 - smoothstep(s; lo, hi), lo < hi in 1/A. */
cr_status cr_lowpass_mask(cr_fourier *fw, cl_mem spec, int nx, int ny, double dsx, double dsy, double lo,
                          double hi);
/* den = the merge of den (weight 1 - smoothstep(s; lo, hi)) with raw, whose
 * amplitudes are first scaled to den's in the band lo..hi (where den != 0). */
cr_status cr_merge_noisy(cr_fourier *fw, cl_mem den, cl_mem raw, int nx, int ny, double dsx, double dsy, double lo,
                         double hi);
/* Mean and (population) standard deviation of n floats; two passes of
 * compensated partial sums, accurate beyond 10^8 values. Waits. */
cr_status cr_mean_std(cr_fourier *fw, cl_mem x, size_t n, double *mean, double *std);
/* y = (x - mean) / std over n floats (y may be x); a constant image (std 0)
 * becomes zero. mean/std may be NULL. */
cr_status cr_normalise(cr_fourier *fw, cl_mem x, cl_mem y, size_t n, double *mean, double *std);

/* ---- Binning rule and the two chains ---- */

/* Binned shape for a cut-off 1/max_res: n' = 2 round(n apix / max_res) per
 * axis (n apix / max_res is the cut-off's frequency index), at most n rounded
 * down to even and at least 2. Binned pixel size per axis n apix / n'; *bapix
 * is their mean (the axes differ by under 1/n'). */
cr_status cr_binned_shape(int nx, int ny, double apix, double max_res, int *bx, int *by, double *bapix);

typedef struct cr_preprocess_opts {
    double apix;                /* A/px of the input */
    double max_resolution;      /* A, default 4.5: cut-off 1/max_resolution */
    double highpass_resolution; /* A, default 200 */
    int phaseflip;              /* default 1; needs ctf */
    const cr_ctf_params *ctf;   /* NULL: no phase flip */
} cr_preprocess_opts;
void cr_preprocess_opts_default(cr_preprocess_opts *o);

/* REFERENCE.md "Pre-processing": z-score, FFT, phase flip, crop to the binned
 * shape, band-pass HP*LP, inverse FFT, z-score. image: ny x nx floats (left
 * unchanged); binned: by x bx floats with (bx, by) from cr_binned_shape. */
cr_status cr_preprocess_dev(cr_fourier *fw, cl_mem image, int nx, int ny, const cr_preprocess_opts *o, cl_mem binned,
                            int bx, int by);
/* Host wrapper: *binned is malloc'ed (caller frees); bapix may be NULL. */
cr_status cr_preprocess(cr_fourier *fw, const float *image, int nx, int ny, const cr_preprocess_opts *o,
                        float **binned, int *bx, int *by, double *bapix);

typedef struct cr_unbin_opts {
    double apix;             /* A/px of the original (un-binned) image */
    double merge_resolution; /* A, r: default 3 */
    double merge_width;      /* A, w: default 2; mask 1 - smoothstep(s; 1/(r+w), 1/r) */
    int merge_noisy;         /* blend in the raw image's high frequencies */
    int phaseflipped;        /* the binned image was phase-flipped (raw is flipped to match before merging) */
    int flip_back;           /* multiply the result by sign(CTF) again */
    const cr_ctf_params *ctf;
} cr_unbin_opts;
void cr_unbin_opts_default(cr_unbin_opts *o);

/* REFERENCE.md "Denoising a full micrograph", un-binning: z-score, FFT,
 * zero-pad to ny x nx, soft mask (or merge with raw, which is then required),
 * optional flip back, inverse FFT. binned (by x bx) and raw (ny x nx) are left
 * unchanged; out is ny x nx. */
cr_status cr_unbin_dev(cr_fourier *fw, cl_mem binned, int bx, int by, cl_mem raw, int nx, int ny,
                       const cr_unbin_opts *o, cl_mem out);
/* Host wrapper; raw may be NULL unless merge_noisy; out holds nx*ny floats. */
cr_status cr_unbin(cr_fourier *fw, const float *binned, int bx, int by, const float *raw, int nx, int ny,
                   const cr_unbin_opts *o, float *out);

#ifdef __cplusplus
}
#endif
#endif
