/* The un-binning chain (normalise, FFT, zero-pad back, soft low-pass mask,
 * optional flip back, inverse FFT) against a double-precision host
 * implementation written here from REFERENCE.md: trigonometric interpolation
 * of the normalised binned image onto the original grid, each Fourier
 * component weighted by the mask 1 - smoothstep(s; 1/(r+w), 1/r) (and by
 * sign(CTF) for flip back), an even size's Nyquist component split half and
 * half between +N/2 and -N/2 so that the result is real. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fourier.h"
#include "clrestore/runtime.h"
#include "testutil.h"

static double smoothstep5(double lo, double hi, double s)
{
    double t = (s - lo) / (hi - lo);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return t * t * t * (t * (t * 6 - 15) + 10);
}

/* REFERENCE.md's CTF, in double, written again here. */
static double ctf_value(const cr_ctf_params *c, double sx, double sy)
{
    double V = c->voltage * 1e3, lambda = 12.2643247 / sqrt(V * (1 + 0.978466e-6 * V));
    double s2 = sx * sx + sy * sy, alpha = atan2(sy, sx);
    double df = 0.5 * (c->defocus_u + c->defocus_v) +
                0.5 * (c->defocus_u - c->defocus_v) * cos(2 * (alpha - c->defocus_angle * M_PI / 180));
    double gamma = -M_PI * lambda * df * s2 + 0.5 * M_PI * c->cs * 1e7 * lambda * lambda * lambda * s2 * s2 -
                   c->phase_shift * M_PI / 180;
    double a = c->amp_contrast;
    return -(sqrt(1 - a * a) * sin(gamma) - a * cos(gamma));
}

/* Frequencies of an n-point axis as the interpolation uses them: k in
 * [-(n-1)/2, n/2], and for even n the Nyquist k = n/2 listed at both signs
 * with weight 1/2. Returns the count; k[] and w[] filled. */
static int axis_freqs(int n, int *k, double *w)
{
    int c = 0;
    for (int f = -(n - 1) / 2; f <= (n - 1) / 2; f++) k[c] = f, w[c++] = 1;
    if (n % 2 == 0) k[c] = n / 2, w[c++] = 0.5, k[c] = -n / 2, w[c++] = 0.5;
    return c;
}

static void reference(const float *b, int bx, int by, int nx, int ny, double apix, double r, double wd,
                      const cr_ctf_params *flip, double *out)
{
    size_t nb = (size_t)bx * by;
    double *z = malloc(nb * sizeof(double)), m = 0, v = 0;
    for (size_t i = 0; i < nb; i++) m += b[i];
    m /= (double)nb;
    for (size_t i = 0; i < nb; i++) v += (b[i] - m) * (b[i] - m);
    double sd = sqrt(v / (double)nb);
    for (size_t i = 0; i < nb; i++) z[i] = (b[i] - m) / sd;
    int kx[512], ky[512];
    double wx[512], wy[512];
    int cx = axis_freqs(bx, kx, wx), cy = axis_freqs(by, ky, wy);
    /* binned spectrum at the listed frequencies (naive DFT; k and k ± N agree) */
    double *re = calloc((size_t)cx * cy, sizeof(double)), *im = calloc((size_t)cx * cy, sizeof(double));
    for (int a = 0; a < cy; a++)
        for (int c = 0; c < cx; c++) {
            double sr = 0, si = 0;
            for (int y = 0; y < by; y++)
                for (int x = 0; x < bx; x++) {
                    double ph = -2 * M_PI * ((double)ky[a] * y / by + (double)kx[c] * x / bx);
                    sr += z[y * bx + x] * cos(ph), si += z[y * bx + x] * sin(ph);
                }
            double sx = kx[c] / (nx * apix), sy = ky[a] / (ny * apix), s = sqrt(sx * sx + sy * sy);
            double g = wx[c] * wy[a] * (1 - smoothstep5(1 / (r + wd), 1 / r, s)) / (double)nb;
            if (flip) g *= ctf_value(flip, sx, sy) < 0 ? -1 : 1;
            re[a * cx + c] = sr * g, im[a * cx + c] = si * g;
        }
    for (int y = 0; y < ny; y++)
        for (int x = 0; x < nx; x++) {
            double s = 0;
            for (int a = 0; a < cy; a++)
                for (int c = 0; c < cx; c++) {
                    double ph = 2 * M_PI * ((double)ky[a] * y / ny + (double)kx[c] * x / nx);
                    s += re[a * cx + c] * cos(ph) - im[a * cx + c] * sin(ph);
                }
            out[y * nx + x] = s;
        }
    free(z), free(re), free(im);
}

static void run_case(cr_fourier *fw, int nx, int ny, double apix, int flip_back)
{
    int bx = 0, by = 0;
    double bapix = 0;
    CHECK_OK(cr_binned_shape(nx, ny, apix, 4.5, &bx, &by, &bapix));
    float *b = malloc(sizeof(float) * bx * by), *out = malloc(sizeof(float) * nx * ny);
    double *ref = malloc(sizeof(double) * nx * ny);
    unsigned s = 12345;
    for (int i = 0; i < bx * by; i++) {
        s = s * 1103515245u + 12345u;
        b[i] = 3.0f + (float)((s >> 9) & 0xffff) / 65536.0f;
    }
    cr_ctf_params ctf = {15000, 14000, 30, 300, 2.7, 0.1, 0};
    cr_unbin_opts o;
    cr_unbin_opts_default(&o);
    o.apix = apix;
    o.flip_back = flip_back;
    o.ctf = flip_back ? &ctf : NULL;
    CHECK_OK(cr_unbin(fw, b, bx, by, NULL, nx, ny, &o, out));
    reference(b, bx, by, nx, ny, apix, o.merge_resolution, o.merge_width, flip_back ? &ctf : NULL, ref);
    double maxd = 0, rms = 0;
    for (int i = 0; i < nx * ny; i++) {
        double d = fabs(out[i] - ref[i]);
        maxd = d > maxd ? d : maxd;
        rms += ref[i] * ref[i];
    }
    rms = sqrt(rms / (nx * ny));
    printf("unbin %dx%d <- %dx%d, flip back %d: max |device - host| %.3g (image rms %.3g)\n", nx, ny, bx, by,
           flip_back, maxd, rms);
    CHECK(rms > 0.1);
    CHECK(maxd < 1e-4);
    free(b), free(out), free(ref);
}

int main(void)
{
    cr_runtime *rt = NULL;
    cr_fourier *fw = NULL;
    if (cr_runtime_create(getenv("CLRESTORE_DEVICE"), &rt) != CR_OK) {
        printf("SKIP: no OpenCL device (%s)\n", cr_error_message());
        return 77;
    }
    CHECK_OK(cr_fourier_create(rt, &fw));
    if (fw) {
        run_case(fw, 131, 97, 1.0, 0); /* odd original: binned 58 x 44 */
        run_case(fw, 120, 75, 1.2, 1); /* even x odd, flip back */
    }
    cr_fourier_free(fw);
    cr_runtime_free(rt);
    return test_finish("test_cl_unbin");
}
