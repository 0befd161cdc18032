/* FFT backends against a naive DFT in double on the host: powers of two,
 * 3*5*7, a prime (101), odd x even, a batch of two; then a forward + inverse
 * round trip at the K2 size 3838 x 3710 (clFFT cannot do it: VkFFT). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fft.h"
#include "clrestore/log.h"
#include "clrestore/runtime.h"
#include "testutil.h"

static unsigned long long rng = 88172645463325252ULL;
static double urand(void) /* xorshift64, uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* X[ky, kx] = sum_{y,x} img[y,x] exp(-2 pi i (kx x / nx + ky y / ny)) for kx <= nx/2. */
static void naive_dft(const float *img, int nx, int ny, double *re, double *im)
{
    int hx = nx / 2 + 1;
    for (int ky = 0; ky < ny; ky++)
        for (int kx = 0; kx < hx; kx++) {
            double sr = 0, si = 0;
            for (int y = 0; y < ny; y++)
                for (int x = 0; x < nx; x++) {
                    /* exact phase reduction keeps the reference accurate */
                    long ph = ((long)kx * x * ny + (long)ky * y * nx) % ((long)nx * ny);
                    double a = -2.0 * M_PI * (double)ph / ((double)nx * ny);
                    sr += img[y * nx + x] * cos(a);
                    si += img[y * nx + x] * sin(a);
                }
            re[ky * hx + kx] = sr;
            im[ky * hx + kx] = si;
        }
}

static void check_size(cr_runtime *rt, cr_fft *f, int nx, int ny, int batch, cr_fft_backend b)
{
    int hx = nx / 2 + 1;
    size_t nreal = (size_t)nx * ny, nspec = (size_t)hx * ny;
    float *img = malloc(nreal * batch * sizeof *img), *back = malloc(nreal * batch * sizeof *back);
    float *spec = malloc(nspec * batch * 2 * sizeof *spec);
    double *re = malloc(nspec * sizeof *re), *im = malloc(nspec * sizeof *im);
    cl_mem dr = NULL, ds = NULL;
    cr_fft_plan *p = NULL;
    for (size_t i = 0; i < nreal * batch; i++) img[i] = (float)urand();
    CHECK_OK(cr_buffer_create(rt, nreal * batch * 4, "fft test image", &dr));
    CHECK_OK(cr_buffer_create(rt, nspec * batch * 8, "fft test spectrum", &ds));
    CHECK_OK(cr_fft_plan_get(f, nx, ny, batch, b, &p));
    if (!p || !dr || !ds) goto done;
    CHECK(cr_fft_plan_backend(p) == b);
    CHECK_OK(cr_buffer_write(rt, dr, 0, nreal * batch * 4, img));
    CHECK_OK(cr_fft_forward(p, dr, ds));
    CHECK_OK(cr_buffer_read(rt, ds, 0, nspec * batch * 8, spec));
    CHECK_OK(cr_fft_inverse(p, ds, dr));
    CHECK_OK(cr_buffer_read(rt, dr, 0, nreal * batch * 4, back));
    for (int bi = 0; bi < batch; bi++) {
        naive_dft(img + bi * nreal, nx, ny, re, im);
        double err = 0, norm = 0, rerr = 0;
        for (size_t i = 0; i < nspec; i++) {
            double dr_ = spec[2 * (bi * nspec + i)] - re[i], di = spec[2 * (bi * nspec + i) + 1] - im[i];
            err = fmax(err, sqrt(dr_ * dr_ + di * di));
            norm = fmax(norm, sqrt(re[i] * re[i] + im[i] * im[i]));
        }
        for (size_t i = 0; i < nreal; i++) rerr = fmax(rerr, fabs(back[bi * nreal + i] - img[bi * nreal + i]));
        /* float FFT error grows like eps * log N relative to the largest coefficient */
        CHECK_MSG(err <= 2e-6 * norm * log2((double)nx * ny + 2), "%s %dx%d batch %d/%d: max |X - DFT| %.3g (max |X| %.3g)",
                  cr_fft_backend_name(b), nx, ny, bi, batch, err, norm);
        CHECK_MSG(rerr <= 1e-5, "%s %dx%d: round trip max error %.3g", cr_fft_backend_name(b), nx, ny, rerr);
        printf("%s %4dx%-4d batch %d: max |X - DFT| / max |X| = %.2e, round trip %.2e\n", cr_fft_backend_name(b), nx,
               ny, bi, err / norm, rerr);
    }
done:
    cr_buffer_release(rt, &dr);
    cr_buffer_release(rt, &ds);
    free(img);
    free(back);
    free(spec);
    free(re);
    free(im);
}

/* Forward + inverse at a full detector size; relative error over the image. */
static void round_trip(cr_runtime *rt, cr_fft *f, int nx, int ny)
{
    size_t n = (size_t)nx * ny, ns = (size_t)(nx / 2 + 1) * ny;
    float *img = malloc(n * 4), *back = malloc(n * 4);
    cl_mem dr = NULL, ds = NULL;
    cr_fft_plan *p = NULL;
    for (size_t i = 0; i < n; i++) img[i] = (float)(100.0 + urand());
    double t0 = cr_now();
    CHECK_OK(cr_fft_plan_get(f, nx, ny, 1, CR_FFT_AUTO, &p));
    double t1 = cr_now();
    CHECK_OK(cr_buffer_create(rt, n * 4, "image", &dr));
    CHECK_OK(cr_buffer_create(rt, ns * 8, "spectrum", &ds));
    if (p && dr && ds) {
        CHECK_OK(cr_buffer_write(rt, dr, 0, n * 4, img));
        CHECK_OK(cr_fft_forward(p, dr, ds));
        CHECK_OK(cr_fft_inverse(p, ds, dr));
        CHECK_OK(cr_buffer_read(rt, dr, 0, n * 4, back));
        double e2 = 0, x2 = 0;
        for (size_t i = 0; i < n; i++) {
            e2 += ((double)back[i] - img[i]) * ((double)back[i] - img[i]);
            x2 += (double)img[i] * img[i];
        }
        double rel = sqrt(e2 / x2);
        CHECK_MSG(rel <= 1e-5, "round trip %dx%d: relative error %.3g", nx, ny, rel);
        printf("round trip %dx%d (%s): relative error %.2e, plan %.1f s, pair %.1f s\n", nx, ny,
               cr_fft_backend_name(cr_fft_plan_backend(p)), rel, t1 - t0, cr_now() - t1);
    }
    cr_buffer_release(rt, &dr);
    cr_buffer_release(rt, &ds);
    free(img);
    free(back);
}

int main(void)
{
    cr_runtime *rt = NULL;
    cr_fft *f = NULL;
    if (getenv("CLRESTORE_VERBOSE")) cr_log_set_level(CR_LOG_VERBOSE);
    if (cr_runtime_create(getenv("CLRESTORE_DEVICE"), &rt) != CR_OK) {
        printf("SKIP: no OpenCL device (%s)\n", cr_error_message());
        return 77;
    }
    CHECK(cr_fft_clfft_supports(4096) && cr_fft_clfft_supports(105) && cr_fft_clfft_supports(13 * 11));
    CHECK(!cr_fft_clfft_supports(101) && !cr_fft_clfft_supports(3838) && !cr_fft_clfft_supports(4092));
    CHECK_OK(cr_fft_create(rt, &f));
    static const int sizes[][2] = {{16, 8}, {32, 64}, {105, 9}, {101, 6}, {15, 14}, {14, 15}, {7, 101}};
    cr_fft_backend backends[2] = {CR_FFT_CLFFT, CR_FFT_VKFFT};
    for (int b = 0; b < 2 && f; b++) {
        if (!cr_fft_backend_available(backends[b])) {
            printf("%s not in this build: skipped\n", cr_fft_backend_name(backends[b]));
            continue;
        }
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            int nx = sizes[i][0], ny = sizes[i][1];
            if (backends[b] == CR_FFT_CLFFT && !(cr_fft_clfft_supports(nx) && cr_fft_clfft_supports(ny))) {
                cr_fft_plan *p = NULL;
                CHECK(cr_fft_plan_get(f, nx, ny, 1, CR_FFT_CLFFT, &p) == CR_ERR_UNSUPPORTED);
                cr_error_clear();
                continue;
            }
            check_size(rt, f, nx, ny, 1, backends[b]);
        }
        check_size(rt, f, 12, 10, 2, backends[b]);
    }
    /* automatic choice: clFFT where it can, VkFFT for the rest */
    if (f) {
        cr_fft_plan *p = NULL;
        if (!getenv("CLRESTORE_FFT")) {
            CHECK_OK(cr_fft_plan_get(f, 16, 8, 1, CR_FFT_AUTO, &p));
            CHECK(p && cr_fft_plan_backend(p) == CR_FFT_CLFFT);
        }
        if (cr_fft_backend_available(CR_FFT_VKFFT)) {
            CHECK_OK(cr_fft_plan_get(f, 101, 6, 1, CR_FFT_AUTO, &p));
            CHECK(p && cr_fft_plan_backend(p) == CR_FFT_VKFFT);
            if (!getenv("CLRESTORE_FFT_SKIP_LARGE")) round_trip(rt, f, 3838, 3710);
        }
    }
    cr_fft_free(f);
    cr_runtime_free(rt);
    return test_finish("test_cl_fft");
}
