/* evaluate's true SNR and its linear baselines (wiener.h) on synthetic
 * fields of known spectra, against values derived by hand:
 *   X = T: infinite; X = 2T + white noise of variance v, T confined to the
 *     band: SNR = 4 var(T) / (v · fraction of the plane in the band);
 *   even/odd halves S + N_e, S + N_o summed: the ring Wiener filter from the
 *     halves (noise factor 1/2) gives the SNR that the pointwise
 *     H = P_S/(P_S + P_N/2) gives in expectation, ρ²/(1 - ρ²) with
 *     ρ² = (Σ H 2P_S)² / (Σ P_S · Σ H² (4P_S + 2P_N)) over the band;
 *   the oracle is >= every non-negative ring filter (the e/o Wiener, none)
 *     and the best Gaussian >= none and >= a fixed σ. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/loader.h"
#include "clrestore/snr_measure.h"
#include "clrestore/wiener.h"
#include "field_testutil.h"
#include "testutil.h"

enum { BX = 384, BY = 320, HX = BX / 2 + 1, NP = BY * HX, NPIX = BX * BY };
static const double APIX = 2.0, LO = 1.0 / 200, HI = 1.0 / 4.5;

static double gauss(cr_xoshiro *r) { return field_gauss(r); }
static double kfreq(int r, int c) { return field_kfreq(r, c, BX, BY); }

static double p_signal(double k) { return 2.0 * exp(-(k / 0.15) * (k / 0.15)); }
static double p_noise(double k) { return 0.5 + 2.0 * k; }

/* spec of a Gaussian field with E|X(k)|²/npix = p(k) (p NULL: white, 1) */
static void field(cr_fourier *fw, cr_xoshiro *g, double (*p)(double), float *spec)
{
    float *img = malloc(NPIX * sizeof(float));
    for (int i = 0; i < NPIX; i++) img[i] = (float)gauss(g);
    CHECK_OK(cr_spec_forward(fw, img, BX, BY, spec));
    for (int r = 0; r < BY && p; r++)
        for (int c = 0; c < HX; c++) {
            size_t i = (size_t)r * HX + c;
            double a = sqrt(p(kfreq(r, c)));
            spec[2 * i] *= (float)a, spec[2 * i + 1] *= (float)a;
        }
    free(img);
}

int main(void)
{
    cr_runtime *rt = NULL;
    cr_fourier *fw = NULL;
    if (cr_runtime_create(NULL, &rt) != CR_OK) {
        printf("SKIP: no OpenCL device\n");
        return 77;
    }
    CHECK_OK(cr_fourier_create(rt, &fw));
    if (!fw) return test_finish("test_cl_evaluate");
    cr_xoshiro g;
    cr_xoshiro_seed(&g, 4242);
    float *w = malloc(NP * sizeof(float)), *f = malloc(NP * sizeof(float)), *T = malloc(NP * 8),
          *N = malloc(NP * 8), *X = malloc(NP * 8), *img = malloc(NPIX * sizeof(float));
    cr_band_weights(BX, BY, APIX, LO, HI, w);
    double wsum = 0;
    for (int i = 0; i < NP; i++) wsum += w[i];

    /* 1. identities: T confined to the band, its pixel variance by the inverse transform */
    field(fw, &g, p_signal, T);
    for (int i = 0; i < NP; i++)
        if (w[i] == 0) T[2 * i] = T[2 * i + 1] = 0;
    memcpy(X, T, NP * 8);
    CHECK_OK(cr_spec_inverse(fw, X, BX, BY, img));
    double vt = 0;
    for (int i = 0; i < NPIX; i++) vt += (double)img[i] * img[i] / NPIX; /* mean 0: no origin */
    CHECK(isinf(cr_true_snr(T, NULL, T, w, NP)));
    for (int i = 0; i < 2 * NP; i++) X[i] = 3 * T[i];
    CHECK(isinf(cr_true_snr(X, NULL, T, w, NP)));
    const double v = 4.0;
    field(fw, &g, NULL, N);
    for (int i = 0; i < 2 * NP; i++) X[i] = 2 * T[i] + (float)sqrt(v) * N[i];
    double snr = cr_true_snr(X, NULL, T, w, NP), expect = 4 * vt / (v * wsum / NPIX);
    printf("2T + noise: true SNR %.4f, analytic %.4f (band %.1f%% of the plane)\n", snr, expect, 100 * wsum / NPIX);
    /* relative error of the noise power over ~wsum/2 independent frequencies, and the cross term */
    CHECK_REL(snr, expect, 4 * sqrt(2.0 / wsum) * 2);

    /* 2. e/o Wiener and the oracle on the sum of two halves */
    float *S = T, *Ne = N, *No = malloc(NP * 8), *E = malloc(NP * 8), *O = malloc(NP * 8);
    field(fw, &g, p_signal, S);
    field(fw, &g, p_noise, Ne);
    field(fw, &g, p_noise, No);
    for (int i = 0; i < 2 * NP; i++) E[i] = S[i] + Ne[i], O[i] = S[i] + No[i], X[i] = E[i] + O[i];
    int *ring = NULL, nr = 0;
    CHECK_OK(cr_ring_map(BX, BY, &ring, &nr));
    double *h = malloc((size_t)nr * sizeof(double));
    cr_wiener_eo(E, O, BX, BY, ring, nr, CR_SNR_WIENER_HW, 0.5, h, NULL, NULL);
    for (int i = 0; i < NP; i++) f[i] = (float)h[ring[i]];
    double snr_eo = cr_true_snr(X, f, S, w, NP);
    cr_wiener_oracle(X, S, w, BX, BY, ring, nr, h);
    for (int i = 0; i < NP; i++) f[i] = (float)h[ring[i]];
    double snr_or = cr_true_snr(X, f, S, w, NP), snr_raw = cr_true_snr(X, NULL, S, w, NP);
    double sig, snr_g = cr_best_gauss(X, S, w, BX, BY, &sig);
    for (int r = 0; r < BY; r++)
        for (int c = 0; c < HX; c++) f[(size_t)r * HX + c] = (float)exp(-2 * M_PI * M_PI * kfreq(r, c) * kfreq(r, c));
    double snr_g1 = cr_true_snr(X, f, S, w, NP);
    /* analytic expectations */
    double cs = 0, ps = 0, px = 0, cs1 = 0, px1 = 0;
    for (int r = 0; r < BY; r++)
        for (int c = 0; c < HX; c++) {
            size_t i = (size_t)r * HX + c;
            double k = kfreq(r, c), P = p_signal(k), Nn = p_noise(k), H = P / (P + 0.5 * Nn);
            cs += w[i] * H * 2 * P, ps += w[i] * P, px += w[i] * H * H * (4 * P + 2 * Nn);
            cs1 += w[i] * 2 * P, px1 += w[i] * (4 * P + 2 * Nn);
        }
    double rho2 = cs * cs / (ps * px), a_eo = rho2 / (1 - rho2), rho2r = cs1 * cs1 / (ps * px1),
           a_raw = rho2r / (1 - rho2r);
    printf("sum of halves: raw %.4f (analytic %.4f), wiener_eo %.4f (analytic %.4f), oracle %.4f, "
           "best Gaussian %.4f (sigma %.2f px; sigma 1: %.4f)\n",
           snr_raw, a_raw, snr_eo, a_eo, snr_or, snr_g, sig, snr_g1);
    CHECK_REL(snr_raw, a_raw, 0.03);
    CHECK_REL(snr_eo, a_eo, 0.03);
    CHECK(snr_or >= snr_eo * (1 - 1e-9));
    CHECK(snr_or >= snr_raw * (1 - 1e-9));
    CHECK_REL(snr_or, a_eo, 0.05);  /* the oracle gains only the realised fluctuations */
    CHECK(snr_eo > 2 * snr_raw);
    CHECK(snr_g >= snr_raw && snr_g >= snr_g1 * (1 - 1e-9));
    CHECK(snr_g < snr_or);
    free(w), free(f), free(T), free(N), free(X), free(img), free(No), free(E), free(O), free(ring), free(h);
    cr_fourier_free(fw);
    cr_runtime_free(rt);
    return test_finish("test_cl_evaluate");
}
