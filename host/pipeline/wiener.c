/* Ring Wiener filters (even/odd and oracle), the Gaussian low-pass and the
 * true SNR against a noise-free image, on host copies of half spectra
 * (wiener.h; derivations in docs/snr.md "Linear baseline" and
 * docs/evaluate.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/wiener.h"

static cr_status spec_transform(cr_fourier *fw, const float *in, int bx, int by, float *out, int forward)
{
    cr_status st = CR_OK;
    cr_runtime *rt = cr_fourier_runtime(fw);
    cl_mem real = NULL, spec = NULL;
    cr_fft_plan *plan = NULL;
    size_t nr = (size_t)bx * by * sizeof(float), ns = (size_t)by * (bx / 2 + 1) * 2 * sizeof(float);
    CR_TRY(cr_buffer_create(rt, nr, "Wiener image", &real));
    CR_TRY(cr_buffer_create(rt, ns, "Wiener spectrum", &spec));
    CR_TRY(cr_fft_plan_get(cr_fourier_fft(fw), bx, by, 1, CR_FFT_AUTO, &plan));
    if (forward) {
        CR_TRY(cr_buffer_write(rt, real, 0, nr, in));
        CR_TRY(cr_fft_forward(plan, real, spec));
        CR_TRY(cr_buffer_read(rt, spec, 0, ns, out));
    } else {
        CR_TRY(cr_buffer_write(rt, spec, 0, ns, in));
        CR_TRY(cr_fft_inverse(plan, spec, real));
        CR_TRY(cr_buffer_read(rt, real, 0, nr, out));
    }
cleanup:
    cr_buffer_release(rt, &real);
    cr_buffer_release(rt, &spec);
    return st;
}

cr_status cr_spec_forward(cr_fourier *fw, const float *img, int bx, int by, float *spec)
{
    return spec_transform(fw, img, bx, by, spec, 1);
}

cr_status cr_spec_inverse(cr_fourier *fw, const float *spec, int bx, int by, float *img)
{
    return spec_transform(fw, spec, bx, by, img, 0);
}

/* |k| in cycles per pixel of half-spectrum point (r, c). */
static double freq(int r, int c, int bx, int by)
{
    int ky = r <= by / 2 ? r : r - by;
    double fx = (double)c / bx, fy = (double)ky / by;
    return sqrt(fx * fx + fy * fy);
}

cr_status cr_ring_map(int bx, int by, int **ring, int *nrings)
{
    int hx = bx / 2 + 1, m = bx < by ? bx : by, top = 0;
    int *map = malloc((size_t)by * hx * sizeof(int));
    *ring = NULL;
    if (!map) return cr_fail(CR_ERR_NOMEM, "out of memory for a %dx%d ring map", bx, by);
    for (int r = 0; r < by; r++)
        for (int c = 0; c < hx; c++) {
            int k = (int)floor(freq(r, c, bx, by) * m);
            map[(size_t)r * hx + c] = k;
            if (k > top) top = k;
        }
    *ring = map;
    *nrings = top + 1;
    return CR_OK;
}

void cr_wiener_eo(const float *E, const float *O, int bx, int by, const int *ring, int nrings, int hw,
                  double noise_factor, double *h, double *signal, double *noise)
{
    int hx = bx / 2 + 1;
    double *cross = calloc((size_t)nrings * 3, sizeof(double)), *diff = cross + nrings, *cnt = diff + nrings;
    if (!cross) {
        for (int k = 0; k < nrings; k++) h[k] = 0;
        return;
    }
    for (int r = 0; r < by; r++)
        for (int c = 0; c < hx; c++) {
            size_t i = (size_t)r * hx + c;
            double w = cr_spec_weight(c, bx), er = E[2 * i], ei = E[2 * i + 1], or_ = O[2 * i], oi = O[2 * i + 1];
            int k = ring[i];
            cross[k] += w * (er * or_ + ei * oi);
            diff[k] += w * ((er - or_) * (er - or_) + (ei - oi) * (ei - oi));
            cnt[k] += w;
        }
    double norm = 1.0 / ((double)bx * by);
    for (int k = 0; k < nrings; k++) {
        double sx = 0, sd = 0, sc = 0;
        for (int j = k - hw; j <= k + hw; j++) {
            if (j == k || j < 0 || j >= nrings) continue;
            sx += cross[j], sd += diff[j], sc += cnt[j];
        }
        double s = sc > 0 ? fmax(0.0, sx / sc * norm) : 0, n = sc > 0 ? sd / sc * norm / 2 : 0;
        h[k] = s + noise_factor * n > 0 ? s / (s + noise_factor * n) : 0;
        if (signal) signal[k] = s;
        if (noise) noise[k] = n;
    }
    free(cross);
}

void cr_wiener_oracle(const float *X, const float *T, const float *w, int bx, int by, const int *ring, int nrings,
                      double *h)
{
    int hx = bx / 2 + 1;
    size_t np = (size_t)by * hx;
    double *c = calloc((size_t)nrings * 2, sizeof(double)), *p = c + nrings;
    if (!c) {
        for (int k = 0; k < nrings; k++) h[k] = 0;
        return;
    }
    /* per ring: c = Σ Re(X conj T), p = Σ |X|²; h = max(0, c)/p is the ring
     * filter of greatest correlation with T (Cauchy-Schwarz), and in
     * expectation a·S/(S+N) (docs/evaluate.md): the scale a does not change
     * the true SNR */
    for (size_t i = 0; i < np; i++) {
        double wt = w ? w[i] : (i ? cr_spec_weight((int)(i % hx), bx) : 0);
        c[ring[i]] += wt * (X[2 * i] * T[2 * i] + X[2 * i + 1] * T[2 * i + 1]);
        p[ring[i]] += wt * (X[2 * i] * X[2 * i] + X[2 * i + 1] * X[2 * i + 1]);
    }
    double cmax = 0;
    for (int k = 0; k < nrings; k++) h[k] = p[k] > 0 ? fmax(0.0, c[k]) / p[k] : 0, cmax = fmax(cmax, h[k]);
    /* scaled so that the largest gain is 1, like S/(S+N) */
    for (int k = 0; k < nrings && cmax > 0; k++) h[k] /= cmax;
    free(c);
}

void cr_ring_filter(float *spec, int bx, int by, const int *ring, const double *h)
{
    size_t np = (size_t)by * (bx / 2 + 1);
    for (size_t i = 0; i < np; i++) spec[2 * i] *= (float)h[ring[i]], spec[2 * i + 1] *= (float)h[ring[i]];
}

void cr_gauss_filter(float *spec, int bx, int by, double sigma)
{
    int hx = bx / 2 + 1;
    for (int r = 0; r < by; r++)
        for (int c = 0; c < hx; c++) {
            double k = freq(r, c, bx, by), g = exp(-2 * M_PI * M_PI * sigma * sigma * k * k);
            size_t i = (size_t)r * hx + c;
            spec[2 * i] *= (float)g, spec[2 * i + 1] *= (float)g;
        }
}

void cr_band_weights(int bx, int by, double bapix, double lo, double hi, float *w)
{
    int hx = bx / 2 + 1;
    for (int r = 0; r < by; r++)
        for (int c = 0; c < hx; c++) {
            double s = freq(r, c, bx, by) / bapix;
            w[(size_t)r * hx + c] = (r == 0 && c == 0) || s < lo || s > hi ? 0.0f : (float)cr_spec_weight(c, bx);
        }
}

double cr_true_snr(const float *R, const float *f, const float *T, const float *w, size_t npoints)
{
    double xt = 0, tt = 0, xx = 0;
    for (size_t i = 0; i < npoints; i++) {
        if (w[i] == 0) continue;
        double g = f ? f[i] : 1.0, xr = g * R[2 * i], xi = g * R[2 * i + 1], tr = T[2 * i], ti = T[2 * i + 1];
        xt += w[i] * (xr * tr + xi * ti), tt += w[i] * (tr * tr + ti * ti), xx += w[i] * (xr * xr + xi * xi);
    }
    if (!(tt > 0)) return NAN;
    /* Σ w |X - aT|² = Σ w|X|² - a² Σ w|T|² at the regression coefficient a */
    double a = xt / tt, sig = a * a * tt, res = xx - sig;
    if (res <= 1e-12 * xx) return INFINITY;
    return sig / res;
}

static double gauss_snr(const float *R, const float *T, const float *w, int bx, int by, double sigma, float *f)
{
    int hx = bx / 2 + 1;
    for (int r = 0; r < by; r++)
        for (int c = 0; c < hx; c++) {
            double k = freq(r, c, bx, by);
            f[(size_t)r * hx + c] = (float)exp(-2 * M_PI * M_PI * sigma * sigma * k * k);
        }
    return cr_true_snr(R, f, T, w, (size_t)by * hx);
}

double cr_best_gauss(const float *R, const float *T, const float *w, int bx, int by, double *sigma)
{
    float *f = malloc((size_t)by * (bx / 2 + 1) * sizeof(float));
    double best = cr_true_snr(R, NULL, T, w, (size_t)by * (bx / 2 + 1)), bs = 0;
    *sigma = 0;
    if (!f) return best;
    /* grid: 29 values, steps of 2^(1/4) from 0.25 px to 32 px */
    int bi = -1;
    for (int i = 0; i <= 28; i++) {
        double s = 0.25 * pow(2.0, i / 4.0), v = gauss_snr(R, T, w, bx, by, s, f);
        if (v > best) best = v, bs = s, bi = i;
    }
    if (bi >= 0) {
        /* golden-section search on log σ between the grid neighbours */
        double a = log(0.25) + (bi - 1) * log(2.0) / 4, b = a + log(2.0) / 2, g = 0.5 * (sqrt(5.0) - 1);
        double x1 = b - g * (b - a), x2 = a + g * (b - a);
        double f1 = gauss_snr(R, T, w, bx, by, exp(x1), f), f2 = gauss_snr(R, T, w, bx, by, exp(x2), f);
        for (int it = 0; it < 20; it++) {
            if (f1 > f2) b = x2, x2 = x1, f2 = f1, x1 = b - g * (b - a), f1 = gauss_snr(R, T, w, bx, by, exp(x1), f);
            else a = x1, x1 = x2, f1 = f2, x2 = a + g * (b - a), f2 = gauss_snr(R, T, w, bx, by, exp(x2), f);
        }
        if (f1 > best) best = f1, bs = exp(x1);
        if (f2 > best) best = f2, bs = exp(x2);
    }
    *sigma = bs;
    free(f);
    return best;
}
