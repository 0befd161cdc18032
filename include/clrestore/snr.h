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

#ifdef __cplusplus
}
#endif
#endif
