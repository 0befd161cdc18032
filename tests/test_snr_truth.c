/* The ground-truth bias sums (cr_snr_truth) on synthetic halves whose parts
 * are known: signal a_h·T with a_h varying a little per half (as z-scoring
 * does), raw noise of variance 1, and denoised halves D = 0.8·a·T + B + n'
 * with a fixed bias field B and fresh noise n' of variance vd per half.
 * var_B must be var(D's expectation - signal) computed from the generated
 * fields, after removing the residual noise vd/m left in the mean of m
 * halves; without that correction it would be off by vd/m, far outside the
 * tolerance, so the test tells the two apart. */
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
    enum { N = 256 * 256, M = 6 };
    const double vb = 0.04, vd = 0.5, alpha = 0.8;
    float *t = malloc(N * sizeof(float)), *b = malloc(N * sizeof(float));
    float *r = malloc(N * sizeof(float)), *d = malloc(N * sizeof(float));
    double *expect = malloc(N * sizeof(double));
    CHECK(t && b && r && d && expect);
    if (!t || !b || !r || !d || !expect) return test_finish("test_snr_truth");
    cr_xoshiro g;
    cr_xoshiro_seed(&g, 77);
    double abar = 0;
    for (int h = 0; h < M; h++) abar += (0.3 + 0.01 * h) / M;
    for (int i = 0; i < N; i++) t[i] = (float)(2.0 + gauss(&g)), b[i] = (float)(sqrt(vb) * gauss(&g));
    cr_snr_truth *tr = NULL;
    CHECK_OK(cr_snr_truth_create(t, N, &tr));
    double mt = 0, vt = 0;
    for (int i = 0; i < N; i++) mt += t[i] / (double)N;
    for (int i = 0; i < N; i++) vt += (t[i] - mt) * (t[i] - mt) / N;
    for (int h = 0; h < M && tr; h++) {
        double a = 0.3 + 0.01 * h;
        for (int i = 0; i < N; i++) {
            r[i] = (float)(a * (t[i] - mt) + gauss(&g));
            d[i] = (float)(alpha * abar * (t[i] - mt) + b[i] + sqrt(vd) * gauss(&g));
        }
        cr_snr_truth_add(tr, r, d);
    }
    /* the bias field E[D] - S = (alpha - 1)·abar·T + B, its variance over these pixels */
    double me = 0, ve = 0;
    for (int i = 0; i < N; i++) expect[i] = (alpha - 1) * abar * (t[i] - mt) + b[i], me += expect[i] / N;
    for (int i = 0; i < N; i++) ve += (expect[i] - me) * (expect[i] - me) / N;
    cr_snr_truth_stats s = {0};
    if (tr) cr_snr_truth_result(tr, &s);
    printf("var_s %.5f (%.5f) var_n_raw %.4f (1) var_n_den %.4f (%.2f) var_b %.5f (%.5f; uncorrected %.5f)\n",
           s.var_s, abar * abar * vt, s.var_n_raw, s.var_n_den, vd, s.var_b, ve, s.var_dbar_s);
    CHECK_REL(s.var_s, abar * abar * vt, 0.03);
    /* per-pixel variances over M halves: relative error sqrt(2/((M-1)N)) ~ 0.25% */
    CHECK_REL(s.var_n_raw, 1.0, 0.02);
    CHECK_REL(s.var_n_den, vd, 0.02);
    /* residual noise left after the correction: ~ (vd/M)·sqrt(2/N) plus the
     * cross term 2·sqrt(ve·vd/M/N): both ~5e-4; 0.003 is ~5 of them, vd/M = 0.083 */
    CHECK_NEAR(s.var_b, ve, 0.003);
    CHECK(fabs(s.var_dbar_s - ve) > 0.07);
    CHECK_REL(s.snbr, s.var_s / (s.var_n_den + s.var_b), 1e-12);
    CHECK_REL(s.snr_raw, s.var_s / s.var_n_raw, 1e-12);
    cr_snr_truth_free(tr);
    cr_snr_truth_free(NULL);
    free(t), free(b), free(r), free(d), free(expect);
    return test_finish("test_snr_truth");
}
