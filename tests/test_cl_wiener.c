/* The even/odd Wiener filter of snr's linear baseline on synthetic halves of
 * known spectra: E = S + N_e, O = S + N_o with S a Gaussian field of radial
 * power P_S(k) and independent noises of power P_N(k) (white, then
 * coloured). Checks against the analytic values:
 *   h per ring = the window means of P_S and P_N put into S/(S + f·N), within
 *     5 standard errors of the cross-spectrum and difference estimates
 *     (f = 1 for a half, 1/2 for the sum), and close to the ring mean of
 *     the pointwise P_S/(P_S + P_N);
 *   snr's estimates on the filtered halves (cr_snr_measure_wiener) =
 *     mean_k H²P_S (signal), mean_k H²P_N (noise), mean_k (1-H)²P_S (bias)
 *     with the analytic H, and = the variances of the known components of
 *     this realisation filtered with the estimated h, each within 4 standard
 *     errors of the estimator (computed from the spectra below). */
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

static double gauss(cr_xoshiro *r) { return field_gauss(r); }
static double kfreq(int r, int c) { return field_kfreq(r, c, BX, BY); }

static double p_signal(double k) { return 1.5 * exp(-(k / 0.2) * (k / 0.2)); }
static double p_noise(double k, int coloured) { return coloured ? 0.3 + 3.0 * k : 1.0; }

/* A Gaussian field of power p(k) per frequency (E|X(k)|²/npix = p): white
 * unit noise shaped by sqrt(p); spec receives its spectrum. */
static void field(cr_fourier *fw, cr_xoshiro *g, double (*p)(double, int), int coloured, float *img, float *spec)
{
    for (int i = 0; i < NPIX; i++) img[i] = (float)gauss(g);
    CHECK_OK(cr_spec_forward(fw, img, BX, BY, spec));
    for (int r = 0; r < BY; r++)
        for (int c = 0; c < HX; c++) {
            size_t i = (size_t)r * HX + c;
            double a = sqrt(p(kfreq(r, c), coloured));
            spec[2 * i] *= (float)a, spec[2 * i + 1] *= (float)a;
        }
    spec[0] = spec[1] = 0;
    float *tmp = malloc(NP * 2 * sizeof(float));
    memcpy(tmp, spec, NP * 2 * sizeof(float));
    CHECK_OK(cr_spec_inverse(fw, tmp, BX, BY, img));
    free(tmp);
}

static double p_signal2(double k, int unused) { (void)unused; return p_signal(k); }

static double var_of(const float *x)
{
    double m = 0, v = 0;
    for (int i = 0; i < NPIX; i++) m += x[i];
    m /= NPIX;
    for (int i = 0; i < NPIX; i++) v += (x[i] - m) * (x[i] - m);
    return v / NPIX;
}

/* The variance of the image whose spectrum is spec·h[ring]. */
static double filtered_var(cr_fourier *fw, const float *spec, const int *ring, const double *h, float *img)
{
    float *tmp = malloc(NP * 2 * sizeof(float));
    memcpy(tmp, spec, NP * 2 * sizeof(float));
    cr_ring_filter(tmp, BX, BY, ring, h);
    CHECK_OK(cr_spec_inverse(fw, tmp, BX, BY, img));
    free(tmp);
    return var_of(img);
}

static void run_case(cr_fourier *fw, int coloured)
{
    cr_xoshiro g;
    cr_xoshiro_seed(&g, 17 + coloured);
    float *s = malloc(NPIX * 4), *ne = malloc(NPIX * 4), *no = malloc(NPIX * 4), *img = malloc(NPIX * 4);
    float *S = malloc(NP * 8), *Ne = malloc(NP * 8), *No = malloc(NP * 8), *E = malloc(NP * 8), *O = malloc(NP * 8);
    int *ring = NULL, nr = 0;
    field(fw, &g, p_signal2, 0, s, S);
    field(fw, &g, p_noise, coloured, ne, Ne);
    field(fw, &g, p_noise, coloured, no, No);
    for (int i = 0; i < 2 * NP; i++) E[i] = S[i] + Ne[i], O[i] = S[i] + No[i];
    CHECK_OK(cr_ring_map(BX, BY, &ring, &nr));
    double *h = calloc((size_t)nr * 4, sizeof(double)), *hs = h + nr, *ps = hs + nr, *pn = ps + nr;
    double *cnt = calloc((size_t)nr * 4, sizeof(double)), *ms = cnt + nr, *mn = ms + nr, *mh = mn + nr;
    cr_wiener_eo(E, O, BX, BY, ring, nr, CR_SNR_WIENER_HW, 1.0, h, ps, pn);
    cr_wiener_eo(E, O, BX, BY, ring, nr, CR_SNR_WIENER_HW, 0.5, hs, NULL, NULL);
    /* analytic ring means over the half plane with the plane weights */
    double a_sig = 0, a_noise = 0, a_bias = 0, a_var_s = 0, v_sig = 0, v_sig_r = 0, v_noise = 0;
    for (int r = 0; r < BY; r++)
        for (int c = 0; c < HX; c++) {
            size_t i = (size_t)r * HX + c;
            double w = cr_spec_weight(c, BX), k = kfreq(r, c), P = p_signal(k), N = p_noise(k, coloured);
            double H = P / (P + N);
            cnt[ring[i]] += w, ms[ring[i]] += w * P, mn[ring[i]] += w * N, mh[ring[i]] += w * H;
            if (i == 0) continue;
            a_sig += w * H * H * P / NPIX, a_noise += w * H * H * N / NPIX, a_bias += w * (1 - H) * (1 - H) * P / NPIX;
            a_var_s += w * P / NPIX;
            /* sampling variances of the filtered covariances, per frequency (k and -k
             * are one sample): Re(E conj O) varies by P² + PN + N²/2, of which P²
             * is the realised signal's own; |E|² - Re(E conj O) by about N² + PN */
            double h4 = 2 * w * H * H * H * H / ((double)NPIX * NPIX);
            v_sig += h4 * (P * P + P * N + N * N / 2), v_sig_r += h4 * (P * N + N * N / 2), v_noise += h4 * (N * N + P * N);
        }
    double zmax = 0, dmax = 0;
    int checked = 0;
    for (int k = 2; k < nr; k++) {
        double sc = 0, sp = 0, sn = 0;
        for (int j = k - CR_SNR_WIENER_HW; j <= k + CR_SNR_WIENER_HW; j++)
            if (j != k && j >= 0 && j < nr) sc += cnt[j], sp += ms[j], sn += mn[j];
        if (sc < 200 || cnt[k] < 50) continue; /* the corners' last rings */
        double P = sp / sc, N = sn / sc, m = sc / 2; /* independent samples: k and -k are one */
        double se_s = sqrt((P * P + P * N + N * N / 2) / m), se_n = N / sqrt(m);
        double d = (P + N) * (P + N), se_h = sqrt(pow(N / d * se_s, 2) + pow(P / d * se_n, 2));
        double z = fabs(h[k] - P / (P + N)) / (se_h + 1e-4);
        double d2 = (P + 0.5 * N) * (P + 0.5 * N), se_h2 = sqrt(pow(0.5 * N / d2 * se_s, 2) + pow(0.5 * P / d2 * se_n, 2));
        double z2 = fabs(hs[k] - P / (P + 0.5 * N)) / (se_h2 + 1e-4);
        if (z2 > z) z = z2;
        if (z > zmax) zmax = z;
        double dd = fabs(P / (P + N) - mh[k] / cnt[k]); /* what the window's smoothing costs */
        if (dd > dmax) dmax = dd;
        checked++;
    }
    printf("%s noise: %d rings, max |h - analytic| / s.e. = %.2f, max |window H - ring mean of H| = %.4f\n",
           coloured ? "coloured" : "white", checked, zmax, dmax);
    CHECK(checked > 150);
    CHECK(zmax < 5);
    CHECK(dmax < 0.01);

    /* snr's estimator on the filtered halves */
    cr_snr_pair p = {0};
    p.bx = BX, p.by = BY;
    p.re = malloc(NPIX * 4), p.ro = malloc(NPIX * 4);
    for (int i = 0; i < NPIX; i++) p.re[i] = s[i] + ne[i], p.ro[i] = s[i] + no[i];
    cr_snr_stats st = {0};
    CHECK_OK(cr_snr_measure_wiener(fw, &p, &st));
    /* this realisation's components through the estimated filter */
    double t_sig = filtered_var(fw, S, ring, h, img), t_noise = filtered_var(fw, Ne, ring, h, img);
    for (int i = 0; i < nr; i++) hs[i] = h[i] - 1; /* (h - 1)·S: the bias field */
    double t_bias = filtered_var(fw, S, ring, hs, img), t_var_s = var_of(s);
    double snr_a = a_sig / a_noise, snbr_a = a_var_s / (a_noise + a_bias);
    printf("  signal %.4f (analytic %.4f, realised %.4f)  noise %.4f (%.4f, %.4f)  bias %.5f (%.5f, %.5f)\n",
           st.cov_dd, a_sig, t_sig, st.var_n_den, a_noise, t_noise, st.var_b, a_bias, t_bias);
    printf("  SNR %.3f (analytic %.3f, realised %.3f)  SNBR %.3f (analytic %.3f, realised %.3f)\n", st.snr_den, snr_a,
           t_sig / t_noise, st.snbr, snbr_a, t_var_s / (t_noise + t_bias));
    double se_s = sqrt(v_sig), se_sr = sqrt(v_sig_r), se_n = sqrt(v_noise);
    printf("  standard errors: signal %.5f (given the realisation %.5f), noise %.5f\n", se_s, se_sr, se_n);
    CHECK_NEAR(st.cov_dd, a_sig, 4 * se_s + 0.01 * a_sig);
    CHECK_NEAR(st.var_n_den, a_noise, 4 * se_n + 0.01 * a_noise);
    CHECK_REL(st.snr_den, snr_a, 4 * hypot(se_s / a_sig, se_n / a_noise) + 0.01);
    CHECK_REL(st.snbr, snbr_a, 0.05);
    /* var_B carries var_S's sampling error: cov(R_e, R_o) of this realisation
     * differs from var(S) by cross terms of standard error ~ (var_S + var_N)/sqrt(n) */
    double se = (st.var_s + st.var_n_raw) / sqrt((double)NPIX);
    CHECK_NEAR(st.var_b, a_bias, 4 * se + 0.02 * a_bias);
    CHECK_NEAR(st.cov_dd, t_sig, 4 * se_sr + 0.005 * t_sig);
    CHECK_NEAR(st.var_n_den, t_noise, 4 * se_n + 0.005 * t_noise);
    CHECK_NEAR(st.var_b, t_bias, 4 * se);
    CHECK_REL(st.snbr, t_var_s / (t_noise + t_bias), 4 * se / (t_noise + t_bias) + 0.01);
    cr_snr_pair_free(&p);
    free(s), free(ne), free(no), free(img), free(S), free(Ne), free(No), free(E), free(O);
    free(ring), free(h), free(cnt);
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
    if (fw) run_case(fw, 0), run_case(fw, 1);
    cr_fourier_free(fw);
    cr_runtime_free(rt);
    return test_finish("test_cl_wiener");
}
