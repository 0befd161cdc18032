/* SNR estimators on synthetic images whose components are known: raw halves
 * S + N1, S + N2, denoised halves S + B + n3, S + B + n4 with independent
 * white Gaussian S, B and noises of chosen variances. The estimates must
 * recover those variances (within 4 standard errors of the estimators), per
 * micrograph and per Fourier ring. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "clrestore/loader.h"
#include "clrestore/snr.h"
#include "testutil.h"

static double gauss(cr_xoshiro *r)
{
    double u = ((double)(cr_xoshiro_next(r) >> 11) + 0.5) / 9007199254740992.0;
    double v = ((double)(cr_xoshiro_next(r) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

int main(void)
{
    enum { W = 384, H = 384, N = W * H, P = 64 };
    const double vs = 0.25, vn = 1.0, vb = 0.04, vd = 0.01;
    float *re = malloc(N * sizeof(float)), *ro = malloc(N * sizeof(float));
    float *de = malloc(N * sizeof(float)), *dd = malloc(N * sizeof(float));
    cr_xoshiro r;
    cr_xoshiro_seed(&r, 2020);
    for (int i = 0; i < N; i++) {
        double s = sqrt(vs) * gauss(&r), b = sqrt(vb) * gauss(&r);
        re[i] = (float)(s + sqrt(vn) * gauss(&r));
        ro[i] = (float)(s + sqrt(vn) * gauss(&r));
        de[i] = (float)(s + b + sqrt(vd) * gauss(&r));
        dd[i] = (float)(s + b + sqrt(vd) * gauss(&r));
    }
    cr_snr_stats st;
    cr_snr_compute(re, ro, de, dd, N, &st);
    /* standard error of a covariance estimate of two unit-ish variables ~ sqrt(var_a var_b / n) */
    double se = sqrt((vs + vn) * (vs + vn) / N);
    printf("var_s %.4f (%.2f) var_n_raw %.4f (%.2f) var_b %.4f (%.2f) var_n_den %.4f (%.2f)\n", st.var_s, vs,
           st.var_n_raw, vn, st.var_b, vb, st.var_n_den, vd);
    CHECK_NEAR(st.var_s, vs, 4 * se);
    CHECK_NEAR(st.var_n_raw, vn, 8 * se);
    CHECK_NEAR(st.var_b, vb, 4 * se);
    CHECK_NEAR(st.var_n_den, vd, 4 * sqrt((vs + vb + vd) * vd / N) * 2);
    CHECK_NEAR(st.cov_dd, vs + vb, 4 * se);
    CHECK_NEAR(st.snr_raw, vs / vn, 0.02);
    CHECK_REL(st.snr_den, (vs + vb) / vd, 0.05);
    CHECK_REL(st.snbr, vs / (vd + vb), 0.1);

    cr_runtime *rt = NULL;
    if (cr_runtime_create(getenv("CLRESTORE_DEVICE"), &rt) != CR_OK) {
        printf("SKIP spectral part: no OpenCL device\n");
        return test_finish("test_cl_snr_stats");
    }
    cr_fft *fft = NULL;
    cr_snr_spectral *sp = NULL;
    CHECK_OK(cr_fft_create(rt, &fft));
    CHECK_OK(cr_snr_spectral_create(rt, fft, P, &sp));
    if (sp) {
        CHECK_OK(cr_snr_spectral_add(sp, re, ro, de, dd, W, H));
        CHECK(sp->patches == (W / P) * (H / P) && sp->nrings == P / 2 + 1);
        double sig[P], bias[P], nr[P], nd[P];
        cr_snr_spectral_result(sp, sig, bias, nr, nd);
        /* white components: every ring from 4 to Nyquist carries the variance;
         * a ring of m terms averages m · patches samples */
        int bad = 0;
        for (int k = 4; k < sp->nrings; k++) {
            /* count sums over all patches; a column and its conjugate are one
             * independent sample. The real part of X·conj(Y) for complex
             * Gaussians has variance (|X|²|Y|² + Re(cov)²)/2, at most (vs + vn)²/2. */
            double m = sp->count[k] / 2.0;
            double tol = 5 * sqrt((vs + vn) * (vs + vn) / 2 / m);
            /* nd = Re(De conj(De - Do)): variance about (vs + vb + vd) vd / m */
            double tol_nd = 5 * sqrt((vs + vb + vd) * vd / m);
            if (fabs(sig[k] - vs) > tol || fabs(nr[k] - vn) > 2 * tol || fabs(bias[k] - vb) > 2 * tol ||
                fabs(nd[k] - vd) > tol_nd) {
                bad++;
                printf("ring %d: signal %.4f bias %.4f noise %.4f/%.4f (tol %.4f, %.4f)\n", k, sig[k], bias[k], nr[k],
                       nd[k], tol, tol_nd);
            }
        }
        CHECK(bad == 0);
        /* the spectral sums integrate to the pixel domain (Parseval): over all
         * frequencies but the origin they give the mean per-patch covariances */
        double cov_rr = 0, cov_dd = 0, cov_dr = 0, var_re = 0;
        int np = 0;
        for (int y0 = 0; y0 + P <= H; y0 += P)
            for (int x0 = 0; x0 + P <= W; x0 += P, np++) {
                double m[4] = {0, 0, 0, 0}, srr = 0, sdd = 0, sdr = 0, see = 0;
                for (int y = y0; y < y0 + P; y++)
                    for (int x = x0; x < x0 + P; x++)
                        m[0] += re[y * W + x], m[1] += ro[y * W + x], m[2] += de[y * W + x], m[3] += dd[y * W + x];
                for (int k = 0; k < 4; k++) m[k] /= P * P;
                for (int y = y0; y < y0 + P; y++)
                    for (int x = x0; x < x0 + P; x++) {
                        double a = re[y * W + x] - m[0], b = ro[y * W + x] - m[1], c = de[y * W + x] - m[2],
                               e = dd[y * W + x] - m[3];
                        srr += a * b, sdd += c * e, sdr += c * b, see += a * a;
                    }
                cov_rr += srr / (P * P), cov_dd += sdd / (P * P), cov_dr += sdr / (P * P), var_re += see / (P * P);
            }
        double f = ((double)P * P - 1) / ((double)P * P) / sp->total_count;
        CHECK_REL(sp->total_rr * f * np, cov_rr, 1e-5);
        CHECK_REL(sp->total_dd * f * np, cov_dd, 1e-5);
        CHECK_REL(sp->total_dr * f * np, cov_dr, 1e-5);
        CHECK_REL(sp->total_re * f * np, var_re, 1e-5);
        /* averaged over rings 4..Nyquist the levels are tight */
        double ms = 0, mb = 0, mn = 0, md = 0;
        int cnt = 0;
        for (int k = 4; k < sp->nrings; k++, cnt++) ms += sig[k], mb += bias[k], mn += nr[k], md += nd[k];
        CHECK_NEAR(ms / cnt, vs, 0.01);
        CHECK_NEAR(mb / cnt, vb, 0.01);
        CHECK_NEAR(mn / cnt, vn, 0.02);
        CHECK_NEAR(md / cnt, vd, 0.001);
    }
    cr_snr_spectral_free(sp);
    cr_fft_free(fft);
    cr_runtime_free(rt);
    free(re), free(ro), free(de), free(dd);
    return test_finish("test_cl_snr_stats");
}
