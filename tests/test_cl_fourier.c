/* Fourier kernels against independent truth: CTF values worked out by hand
 * and its first zero where the defocus puts it; phase flip twice = identity;
 * crop/pad index bookkeeping bit-exact for even and odd sizes; bin then
 * un-bin of a band-limited image; band-pass and mask values; merge noisy of
 * a spectrum with itself; mean/std of 4096^2 values around 10^4. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fourier.h"
#include "clrestore/runtime.h"
#include "testutil.h"

static unsigned long long rng = 0x9E3779B97F4A7C15ULL;
static double urand(void) /* xorshift64: uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}
static double gauss(void)
{
    double u = 0.5 * (urand() + 1.0) + 1e-300, v = 0.5 * (urand() + 1.0);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static cr_runtime *rt;
static cr_fourier *fw;

static cl_mem upload(const void *data, size_t bytes)
{
    cl_mem b = NULL;
    CHECK_OK(cr_buffer_create(rt, bytes, "test buffer", &b));
    if (b && data) CHECK_OK(cr_buffer_write(rt, b, 0, bytes, data));
    return b;
}

/* CTF on a 64 x 64 grid at 2 A/px (frequency step 1/128 1/A), 300 kV,
 * Cs 2.7 mm, A = 0.1, defocus U 20000 A, V 18000 A, astigmatism at 30 deg.
 * lambda = 12.2643247 / sqrt(3e5 (1 + 0.978466e-6 * 3e5))
 *        = 12.2643247 / sqrt(3e5 * 1.2935398) = 12.2643247 / 622.9462 = 0.0196876 A.
 * Point (column 8, row 0): s = 8/128 = 0.0625, alpha = 0,
 *   df = 19000 + 1000 cos(2(0 - 30 deg)) = 19000 + 500 = 19500 A,
 *   gamma = -pi 0.0196876 19500 0.0625^2 + pi/2 2.7e7 0.0196876^3 0.0625^4
 *         = -4.711265 + 0.004938 = -4.706328,
 *   CTF = -(sqrt(0.99) sin(-4.706328) - 0.1 cos(-4.706328))
 *       = -(0.994987 * 0.999978 - 0.1 * (-0.006060)) = -0.995575.
 * Point (0, 8): alpha = 90 deg, df = 19000 + 1000 cos(120 deg) = 18500,
 *   gamma = -4.469663 + 0.004938 = -4.464724, CTF = -0.989142.
 * Point (6, -6): s^2 = 72/128^2, alpha = -45 deg, df = 19000 + 1000 cos(-150 deg)
 *   = 18133.97, gamma = -4.922633, CTF = -0.952208.
 * Point (0, 0): gamma = -phi = 0, CTF = A = 0.1; with phi = 90 deg CTF = sqrt(0.99). */
static void test_ctf_values(void)
{
    enum { N = 64 };
    cr_ctf_params c = {20000, 18000, 30, 300, 2.7, 0.1, 0};
    float *v = malloc(sizeof(float) * (N / 2 + 1) * N);
    cl_mem b = upload(NULL, sizeof(float) * (N / 2 + 1) * N);
    CHECK_REL(cr_electron_wavelength(300), 0.01968761530923358, 1e-12);
    CHECK_OK(cr_ctf_eval(fw, b, N, N, 2.0, &c));
    CHECK_OK(cr_buffer_read(rt, b, 0, sizeof(float) * (N / 2 + 1) * N, v));
#define AT(col, ky) v[(((ky) + N) % N) * (N / 2 + 1) + (col)]
    CHECK_NEAR(AT(8, 0), -0.9955752816685183, 1e-6);
    CHECK_NEAR(AT(0, 8), -0.9891419910205934, 1e-6);
    CHECK_NEAR(AT(6, -6), -0.952207877968566, 1e-6);
    CHECK_NEAR(AT(20, 13), -0.9697796428765348, 1e-5); /* gamma = -42.56: larger phase, looser */
    CHECK_NEAR(AT(0, 0), 0.1, 1e-7);
    c.phase_shift = 90;
    CHECK_OK(cr_ctf_eval(fw, b, N, N, 2.0, &c));
    CHECK_OK(cr_buffer_read(rt, b, 0, sizeof(float) * (N / 2 + 1) * N, v));
    CHECK_NEAR(AT(0, 0), sqrt(0.99), 1e-7);
    CHECK_NEAR(AT(8, 0), 0.09396732693149489, 1e-6);
#undef AT
    cr_buffer_release(rt, &b);
    free(v);
}

/* First zero along x without astigmatism: CTF = 0 where tan(gamma) = A/sqrt(1-A^2),
 * i.e. gamma = atan(A/w) - pi on the first branch (gamma falls from 0). With
 * u = s^2: (pi/2) Cs lambda^3 u^2 - pi lambda df u + (pi - atan(A/w)) = 0, the
 * smaller root. The device CTF must keep its sign up to there and change it
 * between the two samples around it. */
static void test_ctf_first_zero(void)
{
    enum { N = 512 };
    const double apix = 1.0, df = 15000, cs = 2.7, A = 0.07;
    cr_ctf_params c = {df, df, 0, 300, cs, A, 0};
    double lam = cr_electron_wavelength(300), w = sqrt(1 - A * A);
    double qa = M_PI / 2 * cs * 1e7 * lam * lam * lam, qb = -M_PI * lam * df, qc = M_PI - atan(A / w);
    double u = (-qb - sqrt(qb * qb - 4 * qa * qc)) / (2 * qa), s0 = sqrt(u);
    double k0 = s0 * N * apix; /* as a column index */
    float *v = malloc(sizeof(float) * (N / 2 + 1) * N);
    cl_mem b = upload(NULL, sizeof(float) * (N / 2 + 1) * N);
    CHECK_OK(cr_ctf_eval(fw, b, N, N, apix, &c));
    CHECK_OK(cr_buffer_read(rt, b, 0, sizeof(float) * (N / 2 + 1) * N, v));
    int first = -1;
    for (int k = 1; k <= N / 2 && first < 0; k++)
        if ((v[k] > 0) != (v[0] > 0)) first = k;
    CHECK_MSG(first == (int)floor(k0) + 1, "first sign change at column %d, predicted zero at %.3f", first, k0);
    /* the same radius along y and along the diagonal */
    int ky = (int)floor(k0);
    CHECK(v[ky * (N / 2 + 1)] > 0 && v[(ky + 1) * (N / 2 + 1)] < 0);
    printf("CTF first zero: predicted s = %.5f 1/A (index %.3f), device sign change after index %d\n", s0, k0,
           first - 1);
    cr_buffer_release(rt, &b);
    free(v);
}

static void test_flip_twice(void)
{
    enum { NX = 37, NY = 30 };
    size_t n = (size_t)(NX / 2 + 1) * NY * 2;
    float *a = malloc(n * 4), *b = malloc(n * 4);
    for (size_t i = 0; i < n; i++) a[i] = (float)urand();
    cr_ctf_params c = {12000, 14000, -40, 200, 2.0, 0.1, 20};
    cl_mem d = upload(a, n * 4);
    CHECK_OK(cr_ctf_flip(fw, d, NX, NY, 1.3, &c));
    CHECK_OK(cr_buffer_read(rt, d, 0, n * 4, b));
    int changed = 0;
    for (size_t i = 0; i < n; i++) changed += b[i] != a[i];
    CHECK(changed > 0);
    CHECK_OK(cr_ctf_flip(fw, d, NX, NY, 1.3, &c));
    CHECK_OK(cr_buffer_read(rt, d, 0, n * 4, b));
    CHECK(memcmp(a, b, n * 4) == 0);
    cr_buffer_release(rt, &d);
    free(a);
    free(b);
}

/* Row index of frequency ky in an n-row half spectrum. */
static int row_of(int ky, int n)
{
    return ky < 0 ? ky + n : ky;
}

static void test_crop_pad(int nx, int ny, int bx, int by)
{
    int hx = nx / 2 + 1, bhx = bx / 2 + 1;
    size_t n = (size_t)hx * ny * 2, bn = (size_t)bhx * by * 2;
    float *a = malloc(n * 4), *c = malloc(bn * 4), *p = malloc(n * 4);
    for (size_t i = 0; i < n; i++) a[i] = (float)urand();
    cl_mem da = upload(a, n * 4), dc = upload(NULL, bn * 4), dp = upload(NULL, n * 4);
    CHECK_OK(cr_fourier_crop(fw, da, nx, ny, dc, bx, by, 1.0f));
    CHECK_OK(cr_buffer_read(rt, dc, 0, bn * 4, c));
    int bad = 0;
    for (int ky = -by / 2; ky < by / 2; ky++)
        for (int kx = 0; kx <= bx / 2; kx++)
            for (int j = 0; j < 2; j++)
                bad += c[(row_of(ky, by) * bhx + kx) * 2 + j] != a[(row_of(ky, ny) * hx + kx) * 2 + j];
    CHECK_MSG(bad == 0, "crop %dx%d -> %dx%d: %d values differ", nx, ny, bx, by, bad);
    CHECK_OK(cr_fourier_pad(fw, dc, bx, by, dp, nx, ny, 1.0f));
    CHECK_OK(cr_buffer_read(rt, dp, 0, n * 4, p));
    int bad_kept = 0, bad_zero = 0;
    for (int r = 0; r < ny; r++) {
        int ky = r <= (ny - 1) / 2 ? r : r - ny;
        for (int kx = 0; kx < hx; kx++) {
            int inside = kx <= bx / 2 && ky >= -by / 2 && ky <= by / 2 && !(ky == by / 2 && by == ny);
            for (int j = 0; j < 2; j++) {
                float got = p[(r * hx + kx) * 2 + j];
                if (!inside) {
                    bad_zero += got != 0.0f;
                    continue;
                }
                /* +by/2 holds the binned -by/2 row; Nyquist row/column halved when padded */
                int src_ky = ky == by / 2 ? -by / 2 : ky;
                float f = 1.0f;
                if (by < ny && (ky == by / 2 || ky == -by / 2)) f *= 0.5f;
                if (bx < nx && kx == bx / 2) f *= 0.5f;
                bad_kept += got != f * c[(row_of(src_ky, by) * bhx + kx) * 2 + j];
            }
        }
    }
    CHECK_MSG(bad_kept == 0 && bad_zero == 0, "pad %dx%d -> %dx%d: %d kept wrong, %d not zero", bx, by, nx, ny,
              bad_kept, bad_zero);
    cr_buffer_release(rt, &da);
    cr_buffer_release(rt, &dc);
    cr_buffer_release(rt, &dp);
    free(a);
    free(c);
    free(p);
}

/* A band-limited image (random cosines with |kx| < bx/2, |ky| < by/2, built
 * in double on the host), Fourier-cropped to bx x by and zero-padded back,
 * must come back: crop + pad of such a spectrum loses nothing. */
static void test_bin_unbin(int nx, int ny, int bx, int by)
{
    size_t n = (size_t)nx * ny;
    size_t hn = (size_t)(nx / 2 + 1) * ny, bhn = (size_t)(bx / 2 + 1) * by;
    double *img = calloc(n, sizeof *img);
    float *f = malloc(n * 4), *back = malloc(n * 4);
    for (int t = 0; t < 40; t++) {
        int kx = (int)floor((urand() * 0.5 + 0.5) * (bx / 2)), ky = (int)lround(urand() * (by / 2 - 1));
        double amp = urand(), ph = M_PI * urand();
        for (int y = 0; y < ny; y++)
            for (int x = 0; x < nx; x++)
                img[y * nx + x] += amp * cos(2 * M_PI * ((double)kx * x / nx + (double)ky * y / ny) + ph);
    }
    double mx = 0;
    for (size_t i = 0; i < n; i++) {
        f[i] = (float)img[i];
        mx = fmax(mx, fabs(img[i]));
    }
    cr_fft_plan *pb = NULL, *ps = NULL;
    cl_mem dr = upload(f, n * 4), ds = upload(NULL, hn * 8), dsb = upload(NULL, bhn * 8), drb = upload(NULL, (size_t)bx * by * 4);
    CHECK_OK(cr_fft_plan_get(cr_fourier_fft(fw), nx, ny, 1, CR_FFT_AUTO, &pb));
    CHECK_OK(cr_fft_plan_get(cr_fourier_fft(fw), bx, by, 1, CR_FFT_AUTO, &ps));
    if (pb && ps) {
        CHECK_OK(cr_fft_forward(pb, dr, ds));
        CHECK_OK(cr_fourier_crop(fw, ds, nx, ny, dsb, bx, by, (float)((double)bx * by / n)));
        CHECK_OK(cr_hermitian_nyquist(fw, dsb, bx, by));
        CHECK_OK(cr_fft_inverse(ps, dsb, drb));
        CHECK_OK(cr_fft_forward(ps, drb, dsb));
        CHECK_OK(cr_fourier_pad(fw, dsb, bx, by, ds, nx, ny, (float)((double)n / (bx * by))));
        CHECK_OK(cr_fft_inverse(pb, ds, dr));
        CHECK_OK(cr_buffer_read(rt, dr, 0, n * 4, back));
        double err = 0;
        for (size_t i = 0; i < n; i++) err = fmax(err, fabs(back[i] - img[i]));
        CHECK_MSG(err <= 1e-4 * mx, "bin/unbin %dx%d via %dx%d: max error %.3g (max |image| %.3g)", nx, ny, bx, by, err,
                  mx);
        printf("bin/unbin %dx%d via %dx%d: max error / max |image| = %.2e\n", nx, ny, bx, by, err / mx);
    }
    cr_buffer_release(rt, &dr);
    cr_buffer_release(rt, &ds);
    cr_buffer_release(rt, &dsb);
    cr_buffer_release(rt, &drb);
    free(img);
    free(f);
    free(back);
}

/* Band-pass and soft mask on a spectrum of ones, against the formulas. */
static void test_filters(void)
{
    enum { NX = 50, NY = 40, HX = NX / 2 + 1 };
    const double apix = 1.5, dsx = 1.0 / (NX * apix), dsy = 1.0 / (NY * apix), hp = 0.02, lp = 0.2;
    float *v = malloc(sizeof(float) * HX * NY * 2);
    for (int i = 0; i < HX * NY * 2; i++) v[i] = 1.0f;
    cl_mem d = upload(v, sizeof(float) * HX * NY * 2);
    CHECK_OK(cr_bandpass(fw, d, NX, NY, dsx, dsy, hp, lp));
    CHECK_OK(cr_buffer_read(rt, d, 0, sizeof(float) * HX * NY * 2, v));
    double worst = 0;
    for (int r = 0; r < NY; r++)
        for (int c = 0; c < HX; c++) {
            int ky = r <= (NY - 1) / 2 ? r : r - NY;
            double s = hypot(c * dsx, ky * dsy);
            double g = s == 0 ? 0 : 1.0 / (1 + pow(hp / s, 10)) / (1 + pow(s / lp, 10));
            worst = fmax(worst, fabs(v[(r * HX + c) * 2 + 1] - g));
        }
    CHECK_MSG(worst < 2e-6, "band-pass: worst error %.3g", worst);
    /* mask: 1 below lo, 0 above hi, 1/2 half-way (smoothstep(1/2) = 1/2) */
    for (int i = 0; i < HX * NY * 2; i++) v[i] = 1.0f;
    CHECK_OK(cr_buffer_write(rt, d, 0, sizeof(float) * HX * NY * 2, v));
    double lo = 5 * dsx, hi = 15 * dsx;
    CHECK_OK(cr_lowpass_mask(fw, d, NX, NY, dsx, dsy, lo, hi));
    CHECK_OK(cr_buffer_read(rt, d, 0, sizeof(float) * HX * NY * 2, v));
    CHECK_NEAR(v[2 * 5], 1.0, 1e-6);
    CHECK_NEAR(v[2 * 10], 0.5, 1e-6);
    CHECK_NEAR(v[2 * 15], 0.0, 1e-6);
    double t = (8.0 - 5.0) / 10.0; /* column 8: 30% of the way from lo to hi */
    CHECK_NEAR(v[2 * 8], 1 - (6 * pow(t, 5) - 15 * pow(t, 4) + 10 * pow(t, 3)), 1e-6);
    cr_buffer_release(rt, &d);
    free(v);
}

/* Merging a spectrum with itself changes nothing (scale 1, same phases). */
static void test_merge_self(void)
{
    enum { NX = 40, NY = 36, HN = (NX / 2 + 1) * NY * 2 };
    float *a = malloc(HN * 4), *b = malloc(HN * 4);
    for (int i = 0; i < HN; i++) a[i] = (float)urand();
    cl_mem d = upload(a, HN * 4), r = upload(a, HN * 4);
    CHECK_OK(cr_merge_noisy(fw, d, r, NX, NY, 0.01, 0.01, 0.1, 0.2));
    CHECK_OK(cr_buffer_read(rt, d, 0, HN * 4, b));
    double err = 0;
    for (int i = 0; i < HN; i++) err = fmax(err, fabs(a[i] - b[i]));
    CHECK_MSG(err < 1e-5, "merge with itself: max change %.3g", err);
    cr_buffer_release(rt, &d);
    cr_buffer_release(rt, &r);
    free(a);
    free(b);
}

/* 4096^2 pixels of 10^4 + unit Gaussian noise: device std within 1e-4 of
 * the host's two-pass double result over the same floats. */
static void test_stats(void)
{
    const size_t n = (size_t)4096 * 4096;
    float *x = malloc(n * 4);
    for (size_t i = 0; i < n; i++) x[i] = (float)(1e4 + gauss());
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++) m += x[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    double sd = sqrt(v / (double)n);
    cl_mem d = upload(x, n * 4);
    double dm = 0, dsd = 0;
    CHECK_OK(cr_mean_std(fw, d, n, &dm, &dsd));
    CHECK_NEAR(dm, m, 1e-4);
    CHECK_NEAR(dsd, sd, 1e-4);
    printf("stats 4096^2: mean %.9f (host %.9f), std %.9f (host %.9f)\n", dm, m, dsd, sd);
    CHECK_OK(cr_normalise(fw, d, d, n, NULL, NULL));
    CHECK_OK(cr_mean_std(fw, d, n, &dm, &dsd));
    CHECK_NEAR(dm, 0.0, 1e-5);
    CHECK_NEAR(dsd, 1.0, 1e-5);
    cr_buffer_release(rt, &d);
    free(x);
}

int main(void)
{
    if (cr_runtime_create(getenv("CLRESTORE_DEVICE"), &rt) != CR_OK) {
        printf("SKIP: no OpenCL device (%s)\n", cr_error_message());
        return 77;
    }
    CHECK_OK(cr_fourier_create(rt, &fw));
    if (!fw) return test_finish("test_cl_fourier");
    test_ctf_values();
    test_ctf_first_zero();
    test_flip_twice();
    test_crop_pad(20, 16, 12, 8);
    test_crop_pad(21, 15, 12, 10);
    test_crop_pad(9, 11, 8, 10);
    test_crop_pad(16, 12, 16, 12);
    test_bin_unbin(64, 48, 32, 24);
    test_bin_unbin(63, 45, 36, 20);
    test_bin_unbin(101, 97, 40, 38);
    test_filters();
    test_merge_self();
    test_stats();
    int bx, by;
    double bapix;
    CHECK_OK(cr_binned_shape(4096, 4096, 1.0, 4.5, &bx, &by, &bapix));
    CHECK(bx == 1820 && by == 1820); /* 4096 / 4.5 = 910.2 -> 2 * 910 */
    CHECK_NEAR(bapix, 4096.0 / 1820, 1e-12);
    CHECK_OK(cr_binned_shape(959, 927, 1.0, 4.5, &bx, &by, &bapix));
    CHECK(bx == 426 && by == 412); /* 213.1 -> 426, 206.0 -> 412 */
    cr_fourier_free(fw);
    cr_runtime_free(rt);
    return test_finish("test_cl_fourier");
}
