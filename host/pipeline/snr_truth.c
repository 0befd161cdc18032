/* Ground-truth signal, noise and bias of one simulated micrograph over many
 * noise draws (the definitions are in snr.h). */
#include <math.h>
#include <stdlib.h>

#include "clrestore/snr.h"

void cr_snr_truth_free(cr_snr_truth *t)
{
    if (!t) return;
    free(t->t), free(t->sum_d), free(t->sum_d2), free(t->sum_r), free(t->sum_r2);
    free(t);
}

cr_status cr_snr_truth_create(const float *truth, size_t n, cr_snr_truth **out)
{
    *out = NULL;
    if (n < 2) return cr_fail(CR_ERR_ARG, "ground-truth SNR: %zu pixels", n);
    cr_snr_truth *t = calloc(1, sizeof *t);
    if (!t) return cr_fail(CR_ERR_NOMEM, "out of memory");
    t->n = n;
    t->t = malloc(n * sizeof(float));
    t->sum_d = calloc(n, sizeof(double));
    t->sum_d2 = calloc(n, sizeof(double));
    t->sum_r = calloc(n, sizeof(double));
    t->sum_r2 = calloc(n, sizeof(double));
    if (!t->t || !t->sum_d || !t->sum_d2 || !t->sum_r || !t->sum_r2) {
        cr_snr_truth_free(t);
        return cr_fail(CR_ERR_NOMEM, "out of memory for the ground-truth sums of %zu pixels", n);
    }
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++) m += truth[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) {
        t->t[i] = (float)(truth[i] - m);
        v += (truth[i] - m) * (truth[i] - m);
    }
    t->var_t = v / (double)n;
    *out = t;
    return CR_OK;
}

void cr_snr_truth_add(cr_snr_truth *t, const float *r, const float *d)
{
    double c = 0;
    for (size_t i = 0; i < t->n; i++) {
        c += (double)r[i] * t->t[i]; /* T has mean 0: no need to centre r */
        t->sum_d[i] += d[i], t->sum_d2[i] += (double)d[i] * d[i];
        t->sum_r[i] += r[i], t->sum_r2[i] += (double)r[i] * r[i];
    }
    t->sum_a += t->var_t > 0 ? c / (double)t->n / t->var_t : 0;
    t->halves++;
}

void cr_snr_truth_result(const cr_snr_truth *t, cr_snr_truth_stats *s)
{
    double m = t->halves, a = t->sum_a / m, vd = 0, vr = 0, md = 0, e = 0, e2 = 0;
    for (size_t i = 0; i < t->n; i++) {
        double dbar = t->sum_d[i] / m, rbar = t->sum_r[i] / m;
        vd += (t->sum_d2[i] - m * dbar * dbar) / (m - 1);
        vr += (t->sum_r2[i] - m * rbar * rbar) / (m - 1);
        md += dbar;
    }
    md /= (double)t->n;
    for (size_t i = 0; i < t->n; i++) {
        double x = t->sum_d[i] / m - md - a * t->t[i];
        e += x, e2 += x * x;
    }
    e /= (double)t->n;
    s->var_s = a * a * t->var_t;
    s->var_n_den = vd / (double)t->n;
    s->var_n_raw = vr / (double)t->n;
    s->var_dbar_s = e2 / (double)t->n - e * e;
    s->var_b = s->var_dbar_s - s->var_n_den / m;
    s->snr_raw = s->var_s / s->var_n_raw;
    s->snbr = s->var_s / (s->var_n_den + s->var_b);
    s->signal_to_bias = s->var_s / s->var_b;
}
