/* Signal, noise and bias estimates from even/odd pairs (REFERENCE.md
 * "Measuring signal, noise and bias", after Palovcak et al. 2020, Sec. 3.3):
 * R_e, R_o pre-processed raw halves, D_e, D_o their denoised versions. */
#ifndef CLRESTORE_SNR_H
#define CLRESTORE_SNR_H

#include <stddef.h>

#include "clrestore/fft.h"
#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cr_snr_stats {
    double var_s;       /* cov(R_e, R_o): signal */
    double var_n_raw;   /* var(R_e) - var_s */
    double cov_dd;      /* cov(D_e, D_o): signal + bias power */
    double var_n_den;   /* var(D_e) - cov_dd */
    double var_b;       /* cov_dd + var_s - 2 cov(D_e, R_o) */
    double snr_raw;     /* var_s / var_n_raw */
    double snr_den;     /* cov_dd / var_n_den */
    double snbr;        /* var_s / (var_n_den + var_b) */
} cr_snr_stats;

/* Over n pixels, in double. */
void cr_snr_compute(const float *re, const float *ro, const float *de, const float *dd, size_t n, cr_snr_stats *s);

/* Per-ring accumulation over P×P patches (ring index floor(|k|·P), |k| in
 * cycles per pixel, rings 0..P/2): sums of X·conj(Y) for the pairs the
 * estimators need, over every patch of every image added. */
typedef struct cr_snr_spectral {
    int patch, nrings;
    double *sum_rr;     /* (nrings, 2) Σ R_e·conj(R_o), re/im */
    double *sum_dd;     /* (nrings, 2) Σ D_e·conj(D_o) */
    double *sum_dr;     /* (nrings, 2) Σ D_e·conj(R_o) */
    double *pow_re;     /* (nrings) Σ |R_e|² */
    double *pow_de;     /* (nrings) Σ |D_e|² */
    double *count;      /* (nrings) terms summed */
    /* the same sums over every frequency but the origin, corners beyond the
     * last ring included: by Parseval, total/total_count·(P² - 1)/P² is the
     * mean over patches of the pixel-domain covariance */
    double total_rr, total_dd, total_dr, total_re, total_de, total_count;
    int patches;        /* patches added */
    /* device resources */
    cr_fft *fft;        /* not owned */
    cr_runtime *rt;     /* not owned */
    cl_mem real, spec;  /* (batch, P, P) and (batch, P, P/2+1) complex */
    int batch;
    float *host_spec;   /* (batch, P, P/2+1, 2) */
} cr_snr_spectral;

cr_status cr_snr_spectral_create(cr_runtime *rt, cr_fft *fft, int patch, cr_snr_spectral **out);
void cr_snr_spectral_free(cr_snr_spectral *s);
/* Adds every P×P patch (origins at multiples of P) of four w×h images. */
cr_status cr_snr_spectral_add(cr_snr_spectral *s, const float *re, const float *ro, const float *de,
                              const float *dd, int w, int h);
/* Per ring k (frequency k/(P·apix) Å⁻¹): signal, bias, raw noise and denoised
 * noise power, each normalised so that a white image of variance v has power
 * v in every ring. Arrays of s->nrings. */
void cr_snr_spectral_result(const cr_snr_spectral *s, double *signal, double *bias, double *noise_raw,
                            double *noise_den);

/* Ground-truth versions of the per-micrograph estimates, for simulated data
 * (issue 8): the same signal T (pre-processed noise-free image) under many
 * independent noise draws, each giving a pre-processed raw half R and its
 * denoised version D (2 per draw: even and odd). Over the 2K halves added:
 *   signal in R: a·T, a the regression coefficient of R on T (the chain is
 *     linear up to z-scoring, so R = a·T + noise); S = mean(a)·T;
 *   D̄ = mean of the D: the network's expected output on this signal;
 *   var_N(denoised) = per-pixel variance of D over the halves (unbiased,
 *     1/(2K-1)), averaged over pixels; var_N(raw) likewise for R;
 *   var_B = var(D̄ - S) - var_N(denoised)/(2K): D̄ still carries the mean of
 *     2K independent residuals D - E[D], whose variance is var_N(denoised)/(2K),
 *     and which is uncorrelated with the fixed E[D] - S, so that much of
 *     var(D̄ - S) is noise, not bias;
 *   SNR(raw) = var_S / var_N(raw), SNBR = var_S / (var_N(denoised) + var_B). */
typedef struct cr_snr_truth {
    size_t n;            /* pixels */
    int halves;          /* images added */
    double var_t;        /* var(T) */
    double sum_a;        /* Σ a */
    float *t;            /* (n) T, mean removed */
    double *sum_d, *sum_d2, *sum_r, *sum_r2; /* (n) per-pixel sums of D, D², R, R² */
} cr_snr_truth;

typedef struct cr_snr_truth_stats {
    double var_s, var_n_raw, var_n_den;
    double var_dbar_s;   /* var(D̄ - S) before the correction */
    double var_b;        /* corrected */
    double snr_raw, snbr;
    double signal_to_bias; /* var_s / var_b */
} cr_snr_truth_stats;

cr_status cr_snr_truth_create(const float *truth, size_t n, cr_snr_truth **out);
void cr_snr_truth_free(cr_snr_truth *t);
/* One half: its pre-processed raw image r and denoised image d (n each). */
void cr_snr_truth_add(cr_snr_truth *t, const float *r, const float *d);
/* Needs at least 2 halves. */
void cr_snr_truth_result(const cr_snr_truth *t, cr_snr_truth_stats *s);

#ifdef __cplusplus
}
#endif
#endif
