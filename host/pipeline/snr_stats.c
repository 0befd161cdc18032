/* The estimators of REFERENCE.md "Measuring signal, noise and bias": per
 * micrograph over pixels, and per Fourier ring over P×P patches. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/snr.h"

void cr_snr_compute(const float *re, const float *ro, const float *de, const float *dd, size_t n, cr_snr_stats *s)
{
    double m[4] = {0, 0, 0, 0};
    const float *x[4] = {re, ro, de, dd};
    for (int k = 0; k < 4; k++) {
        for (size_t i = 0; i < n; i++) m[k] += x[k][i];
        m[k] /= (double)n;
    }
    double c_rr = 0, v_re = 0, c_dd = 0, v_de = 0, c_dr = 0;
    for (size_t i = 0; i < n; i++) {
        double a = re[i] - m[0], b = ro[i] - m[1], c = de[i] - m[2], d = dd[i] - m[3];
        c_rr += a * b, v_re += a * a, c_dd += c * d, v_de += c * c, c_dr += c * b;
    }
    double inv = 1.0 / (double)n;
    s->var_s = c_rr * inv;
    s->var_n_raw = v_re * inv - s->var_s;
    s->cov_dd = c_dd * inv;
    s->var_n_den = v_de * inv - s->cov_dd;
    s->var_b = s->cov_dd + s->var_s - 2 * c_dr * inv;
    s->snr_raw = s->var_s / s->var_n_raw;
    s->snr_den = s->cov_dd / s->var_n_den;
    s->snbr = s->var_s / (s->var_n_den + s->var_b);
}

void cr_snr_spectral_free(cr_snr_spectral *s)
{
    if (!s) return;
    free(s->sum_rr), free(s->sum_dd), free(s->sum_dr), free(s->pow_re), free(s->pow_de), free(s->count);
    free(s->host_spec);
    cr_buffer_release(s->rt, &s->real);
    cr_buffer_release(s->rt, &s->spec);
    free(s);
}

cr_status cr_snr_spectral_create(cr_runtime *rt, cr_fft *fft, int patch, cr_snr_spectral **out)
{
    cr_status st = CR_OK;
    *out = NULL;
    if (patch < 8 || patch % 2) return cr_fail(CR_ERR_ARG, "spectral SNR: patch %d must be even and >= 8", patch);
    cr_snr_spectral *s = calloc(1, sizeof *s);
    if (!s) return cr_fail(CR_ERR_NOMEM, "out of memory");
    s->rt = rt, s->fft = fft, s->patch = patch, s->nrings = patch / 2 + 1;
    s->batch = 4; /* the four images of one patch position per transform */
    size_t nr = (size_t)s->nrings, hx = (size_t)patch / 2 + 1;
    s->sum_rr = calloc(2 * nr, sizeof(double));
    s->sum_dd = calloc(2 * nr, sizeof(double));
    s->sum_dr = calloc(2 * nr, sizeof(double));
    s->pow_re = calloc(nr, sizeof(double));
    s->pow_de = calloc(nr, sizeof(double));
    s->count = calloc(nr, sizeof(double));
    s->host_spec = malloc((size_t)s->batch * patch * hx * 2 * sizeof(float));
    if (!s->sum_rr || !s->sum_dd || !s->sum_dr || !s->pow_re || !s->pow_de || !s->count || !s->host_spec) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    CR_TRY(cr_buffer_create(rt, (size_t)s->batch * patch * patch * sizeof(float), "SNR patches", &s->real));
    CR_TRY(cr_buffer_create(rt, (size_t)s->batch * patch * hx * 2 * sizeof(float), "SNR spectra", &s->spec));
    *out = s;
    return CR_OK;
cleanup:
    cr_snr_spectral_free(s);
    return st;
}

/* Adds the spectra of one patch position (4 half spectra in host_spec). A
 * column kx of the half spectrum stands for kx and -kx: columns other than 0
 * and P/2 count twice, so ring sums cover the whole plane. */
static void accumulate(cr_snr_spectral *s)
{
    int p = s->patch, hx = p / 2 + 1;
    size_t one = (size_t)p * hx * 2;
    const float *R_e = s->host_spec, *R_o = R_e + one, *D_e = R_o + one, *D_o = D_e + one;
    double norm = 1.0 / ((double)p * p); /* |X|²/P² per frequency: white variance v gives v */
    for (int r = 0; r < p; r++) {
        int ky = r <= p / 2 ? r : r - p;
        for (int c = 0; c < hx; c++) {
            int ring = (int)floor(sqrt((double)ky * ky + (double)c * c)); /* |k|·P, k in cycles/pixel */
            double w = (c == 0 || c == p / 2) ? 1.0 : 2.0;
            size_t i = ((size_t)r * hx + c) * 2;
            double ar = R_e[i], ai = R_e[i + 1], br = R_o[i], bi = R_o[i + 1];
            double cr = D_e[i], ci = D_e[i + 1], dr = D_o[i], di = D_o[i + 1];
            if (r != 0 || c != 0) {
                s->total_rr += w * norm * (ar * br + ai * bi);
                s->total_dd += w * norm * (cr * dr + ci * di);
                s->total_dr += w * norm * (cr * br + ci * bi);
                s->total_re += w * norm * (ar * ar + ai * ai);
                s->total_de += w * norm * (cr * cr + ci * ci);
                s->total_count += w;
            }
            if (ring >= s->nrings) continue;
            /* X conj(Y) = (xr yr + xi yi) + i (xi yr - xr yi); the conjugate
             * column's term is the complex conjugate, so only real parts add
             * up over the plane: keep the real part. */
            s->sum_rr[2 * ring] += w * norm * (ar * br + ai * bi);
            s->sum_dd[2 * ring] += w * norm * (cr * dr + ci * di);
            s->sum_dr[2 * ring] += w * norm * (cr * br + ci * bi);
            s->pow_re[ring] += w * norm * (ar * ar + ai * ai);
            s->pow_de[ring] += w * norm * (cr * cr + ci * ci);
            s->count[ring] += w;
        }
    }
}

cr_status cr_snr_spectral_add(cr_snr_spectral *s, const float *re, const float *ro, const float *de,
                              const float *dd, int w, int h)
{
    cr_status st = CR_OK;
    int p = s->patch;
    cr_fft_plan *plan = NULL;
    const float *img[4] = {re, ro, de, dd};
    size_t pp = (size_t)p * p, hx = (size_t)p / 2 + 1;
    float *patch = malloc(4 * pp * sizeof(float));
    if (!patch) return cr_fail(CR_ERR_NOMEM, "out of memory");
    CR_TRY(cr_fft_plan_get(s->fft, p, p, s->batch, CR_FFT_AUTO, &plan));
    for (int y0 = 0; y0 + p <= h; y0 += p)
        for (int x0 = 0; x0 + p <= w; x0 += p) {
            for (int k = 0; k < 4; k++)
                for (int y = 0; y < p; y++)
                    memcpy(patch + k * pp + (size_t)y * p, img[k] + (size_t)(y0 + y) * w + x0, p * sizeof(float));
            CR_TRY(cr_buffer_write(s->rt, s->real, 0, 4 * pp * sizeof(float), patch));
            CR_TRY(cr_fft_forward(plan, s->real, s->spec));
            CR_TRY(cr_buffer_read(s->rt, s->spec, 0, 4 * p * hx * 2 * sizeof(float), s->host_spec));
            accumulate(s);
            s->patches++;
        }
cleanup:
    free(patch);
    return st;
}

void cr_snr_spectral_result(const cr_snr_spectral *s, double *signal, double *bias, double *noise_raw,
                            double *noise_den)
{
    for (int k = 0; k < s->nrings; k++) {
        double n = s->count[k] > 0 ? s->count[k] : 1;
        double sig = fabs(s->sum_rr[2 * k] / n), dd = fabs(s->sum_dd[2 * k] / n), dr = fabs(s->sum_dr[2 * k] / n);
        signal[k] = sig;
        bias[k] = dd + sig - 2 * dr;
        noise_raw[k] = s->pow_re[k] / n - sig;
        noise_den[k] = s->pow_de[k] / n - dd;
    }
}
