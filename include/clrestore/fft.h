/* 2D real <-> complex FFTs in single precision on the device, behind one
 * interface with two backends: clFFT (default; lengths whose prime factors are
 * 2, 3, 5, 7, 11, 13) and VkFFT (any length, used automatically for the rest).
 *
 * Layouts (row-major, x = the fast, column axis):
 *   real image       ny rows x nx columns of float, batch images back to back;
 *   half spectrum    ny rows x (nx/2 + 1) columns of complex float (re, im
 *                    interleaved), batch spectra back to back. Row r holds
 *                    the row frequency index r (r <= (ny-1)/2) or r - ny.
 * Normalisation: forward unnormalised, X[k] = sum_n x[n] exp(-2 pi i k n / N);
 * inverse scaled by 1/(nx ny), so inverse(forward(x)) = x.
 *
 * Plans are cached per (nx, ny, batch, backend) in the cr_fft object and
 * baked once; clfftSetup/clfftTeardown are reference-counted per process.
 * Backend choice: CLRESTORE_FFT=clfft|vkfft sets the preferred backend for
 * CR_FFT_AUTO; a size clFFT cannot do goes to VkFFT whatever the preference. */
#ifndef CLRESTORE_FFT_H
#define CLRESTORE_FFT_H

#include "clrestore/runtime.h"
#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cr_fft_backend { CR_FFT_AUTO = 0, CR_FFT_CLFFT = 1, CR_FFT_VKFFT = 2 } cr_fft_backend;

typedef struct cr_fft cr_fft;           /* per-runtime plan cache (opaque) */
typedef struct cr_fft_plan cr_fft_plan; /* owned by its cr_fft */

/* "clfft", "vkfft" or "auto". */
const char *cr_fft_backend_name(cr_fft_backend b);
/* 1 when this build has the backend (VkFFT is optional at build time). */
int cr_fft_backend_available(cr_fft_backend b);
/* 1 when clFFT accepts a transform length n (prime factors 2..13 only). */
int cr_fft_clfft_supports(int n);

/* A plan cache for rt (which must outlive it). Reads CLRESTORE_FFT. */
cr_status cr_fft_create(cr_runtime *rt, cr_fft **out);
/* Releases every cached plan; accepts NULL and half-built objects. */
void cr_fft_free(cr_fft *f);

/* The plan for batch images of ny x nx with the given backend (CR_FFT_AUTO:
 * the preferred one when it supports the size, else VkFFT). Asking for clFFT
 * at a size it cannot do is CR_ERR_UNSUPPORTED. The first call per shape
 * compiles kernels (seconds on PoCL; both backends keep a disk cache). */
cr_status cr_fft_plan_get(cr_fft *f, int nx, int ny, int batch, cr_fft_backend backend, cr_fft_plan **out);
cr_fft_backend cr_fft_plan_backend(const cr_fft_plan *p);

/* Out-of-place real -> half spectrum; real_in is left unchanged. */
cr_status cr_fft_forward(cr_fft_plan *p, cl_mem real_in, cl_mem spec_out);
/* Out-of-place half spectrum -> real, scaled by 1/(nx ny). The spectrum is
 * used as scratch and is undefined afterwards. Both enqueue only (no wait). */
cr_status cr_fft_inverse(cr_fft_plan *p, cl_mem spec_in, cl_mem real_out);

#ifdef __cplusplus
}
#endif
#endif
