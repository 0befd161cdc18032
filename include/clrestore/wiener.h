/* Linear baselines for the network on binned (pre-processed) images: ring
 * (radially symmetric) Wiener filters whose spectra come from the even/odd
 * halves or, on simulated data, from the truth; the Gaussian low-pass; and
 * the true SNR of a filtered image against the noise-free one. Derivations:
 * docs/snr.md ("Linear baseline") and docs/evaluate.md.
 *
 * Spectra here are host copies of half spectra (by rows × (bx/2+1) complex,
 * re/im interleaved; fft.h's layout and unnormalised forward transform). A
 * column kx other than 0 and bx/2 stands for kx and -kx: sums over the plane
 * weight it twice (cr_spec_weight). */
#ifndef CLRESTORE_WIENER_H
#define CLRESTORE_WIENER_H

#include <stddef.h>

#include "clrestore/fourier.h"
#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Forward / inverse transform of one bx×by image through the device FFT
 * (spec: by·(bx/2+1)·2 floats; inverse scaled by 1/(bx·by)). */
cr_status cr_spec_forward(cr_fourier *fw, const float *img, int bx, int by, float *spec);
cr_status cr_spec_inverse(cr_fourier *fw, const float *spec, int bx, int by, float *img);

/* Weight of half-spectrum column c in a sum over the whole plane: 1 for
 * columns 0 and bx/2, 2 for the others. */
static inline double cr_spec_weight(int c, int bx) { return (c == 0 || 2 * c == bx) ? 1.0 : 2.0; }

/* Ring of each half-spectrum point: floor(|k|·m), |k| = sqrt((kx/bx)² +
 * (ky/by)²) in cycles per pixel, m = min(bx, by), so that a ring is one
 * frequency step of the shorter axis wide. *ring: malloc'd by·(bx/2+1) ints;
 * *nrings: rings 0..max. */
cr_status cr_ring_map(int bx, int by, int **ring, int *nrings);

/* Per-ring spectra of the even/odd Wiener filter (docs/snr.md):
 * over the rings r' = r-hw..r+hw other than r itself,
 *   S(r) = max(0, mean Re(E·conj O)) / (bx·by)    signal power per half,
 *   N(r) = mean |E - O|² / 2 / (bx·by)            noise power per half,
 * and h(r) = S / (S + noise_factor·N): noise_factor 1 for a half, 1/2 for
 * the even + odd sum (the halves' noises add, the signal adds coherently).
 * Leaving ring r out makes h at a frequency independent of the noise at that
 * frequency. signal, noise may be NULL; h, signal, noise: (nrings). */
void cr_wiener_eo(const float *E, const float *O, int bx, int by, const int *ring, int nrings, int hw,
                  double noise_factor, double *h, double *signal, double *noise);
/* The oracle ring Wiener filter of X against its truth T: per ring,
 * h = max(0, Σ w Re(X conj T)) / Σ w |X|², scaled to a largest gain of 1.
 * With X = a·T + noise this is S/(S + N) for the true signal power
 * S = |a·T|² and noise N = |X - a·T|², up to the realised signal-noise cross
 * term (zero in expectation) that makes it the exact maximum of
 * cr_true_snr over non-negative ring filters (docs/evaluate.md). w: the band
 * weights (NULL: the whole plane but the origin). */
void cr_wiener_oracle(const float *X, const float *T, const float *w, int bx, int by, const int *ring, int nrings,
                      double *h);
/* spec *= h[ring] at every point. */
void cr_ring_filter(float *spec, int bx, int by, const int *ring, const double *h);
/* spec *= exp(-2 π² σ² |k|²), σ in pixels: convolution with a normalised
 * Gaussian of standard deviation σ. */
void cr_gauss_filter(float *spec, int bx, int by, double sigma);

/* Band weights for the true SNR: cr_spec_weight where lo <= s <= hi (s in
 * 1/Å at bapix Å/px), 0 elsewhere and at the origin. w: by·(bx/2+1). */
void cr_band_weights(int bx, int by, double bapix, double lo, double hi, float *w);
/* True SNR of X = f·R against the truth T in the band w (f NULL: 1):
 * a = Σ w Re(X conj T) / Σ w |T|², SNR = a² Σ w |T|² / Σ w |X - a T|², the
 * pixel-domain var(a·T_b) / var(X_b - a·T_b) of the band-filtered images by
 * Parseval. INFINITY when X is exactly a·T. */
double cr_true_snr(const float *R, const float *f, const float *T, const float *w, size_t npoints);
/* The Gaussian low-pass that maximises cr_true_snr on R (an oracle: it needs
 * T): σ from 0 (none) and a log grid 0.25..32 px, refined by golden-section
 * search. Returns the SNR; *sigma receives σ in pixels. */
double cr_best_gauss(const float *R, const float *T, const float *w, int bx, int by, double *sigma);

#ifdef __cplusplus
}
#endif
#endif
