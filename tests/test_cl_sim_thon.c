/* Thon rings: the radially averaged power spectrum of a simulated noisy
 * micrograph (DW) has its minima where the CTF formula predicts for the
 * defocus written in the plan, within one Fourier ring. The zeros are solved
 * here on the host from REFERENCE.md's formula (not with our CTF code) and
 * the spectrum comes from a host radix-2 FFT written for this test. */
#include "testutil.h"

#include <complex.h>

#include "clrestore/runtime.h"
#include "clrestore/simulate.h"

#define W 512

static void fft1(double complex *a, int n, int stride)
{
    for (int i = 1, j = 0; i < n; i++) { /* bit reversal */
        int bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            double complex t = a[i * stride];
            a[i * stride] = a[j * stride];
            a[j * stride] = t;
        }
    }
    for (int len = 2; len <= n; len <<= 1) {
        double complex w = cexp(-2.0 * M_PI * I / len);
        for (int i = 0; i < n; i += len) {
            double complex wk = 1;
            for (int k = 0; k < len / 2; k++) {
                double complex u = a[(i + k) * stride], v = a[(i + k + len / 2) * stride] * wk;
                a[(i + k) * stride] = u + v;
                a[(i + k + len / 2) * stride] = u - v;
                wk *= w;
            }
        }
    }
}

int main(void)
{
    cr_runtime *rt = NULL;
    if (cr_runtime_create(getenv("CLRESTORE_DEVICE"), &rt) != CR_OK) {
        printf("SKIP: no OpenCL device: %s\n", cr_error_message());
        return 77;
    }
    cr_sim_opts o;
    cr_sim_opts_default(&o);
    o.nx = o.ny = W;
    o.defocus_min = o.defocus_max = 25000; /* Å; the default maximum: same FFT canvas as the other tests */
    o.astigmatism = 0;
    o.density = 0.4;
    o.dose = 400;
    o.seed = 5;
    cr_specimen *sp = NULL;
    cr_simulator *sim = NULL;
    cr_sim_plan plan;
    float *dw = malloc(W * W * sizeof *dw);
    CHECK_OK(cr_specimen_builtin(o.apix, &sp));
    CHECK_OK(cr_sim_plan_make(&o, sp, 0, &plan));
    CHECK_OK(cr_simulator_create(rt, sp, &o, &sim));
    CHECK_OK(cr_simulator_run(sim, &plan, NULL, NULL, NULL, dw));

    double complex *a = malloc(W * W * sizeof *a);
    double mean = 0;
    for (int i = 0; i < W * W; i++) mean += dw[i];
    mean /= W * W;
    for (int i = 0; i < W * W; i++) a[i] = dw[i] - mean;
    for (int r = 0; r < W; r++) fft1(a + r * W, W, 1);
    for (int c = 0; c < W; c++) fft1(a + c, W, W);
    double ring[W / 2] = {0};
    int count[W / 2] = {0};
    for (int r = 0; r < W; r++)
        for (int c = 0; c < W; c++) {
            int fr = r < W / 2 ? r : r - W, fc = c < W / 2 ? c : c - W;
            int k = (int)lround(sqrt((double)fr * fr + (double)fc * fc));
            if (k < W / 2) {
                ring[k] += creal(a[r * W + c] * conj(a[r * W + c]));
                count[k]++;
            }
        }
    for (int k = 0; k < W / 2; k++) ring[k] /= count[k] ? count[k] : 1;

    /* Zeros: CTF = -(sqrt(1-A^2) sin g - A cos g) = 0 at g_n = atan(A / sqrt(1-A^2)) - n pi,
     * g(s) = -pi lam df s^2 + pi/2 Cs lam^3 s^4 (REFERENCE.md): the smaller root in s^2. */
    double kv = plan.ctf.voltage * 1e3, lam = 12.2643247 / sqrt(kv * (1 + 0.978466e-6 * kv));
    double df = plan.ctf.defocus_u, cs = plan.ctf.cs * 1e7, A = plan.ctf.amp_contrast;
    double pa = M_PI / 2 * cs * lam * lam * lam, pb = M_PI * lam * df;
    double kz[16];
    int nz = 0;
    for (int n = 1; n < 16; n++) {
        double g = atan(A / sqrt(1 - A * A)) - n * M_PI;
        double u = (pb - sqrt(pb * pb + 4 * pa * g)) / (2 * pa); /* pa u^2 - pb u - g = 0 */
        double k = sqrt(u) * W * o.apix;
        if (k > 0.8 * W / 2) break;
        kz[nz++] = k;
    }
    CHECK(nz >= 5);
    int tested = 0;
    for (int i = 0; i < nz; i++) {
        double gap = fmin(i > 0 ? kz[i] - kz[i - 1] : 1e9, i + 1 < nz ? kz[i + 1] - kz[i] : 1e9);
        if (gap < 6) break; /* rings too close to resolve one from the next */
        int k0 = (int)lround(kz[i]), best = k0;
        for (int k = k0 - 2; k <= k0 + 2; k++)
            if (ring[k] < ring[best]) best = k;
        /* Sub-ring position of the minimum: vertex of the parabola through
         * the smallest ring and its neighbours (as CTF fitting programs do). */
        double y0 = ring[best - 1], y1 = ring[best], y2 = ring[best + 1], den = y0 - 2 * y1 + y2;
        double kmin = best + (den > 0 ? 0.5 * (y0 - y2) / den : 0.0);
        printf("zero %d: predicted ring %.2f, minimum at %.2f\n", i + 1, kz[i], kmin);
        CHECK_MSG(fabs(kmin - kz[i]) <= 1.0, "zero %d: minimum at ring %.2f, predicted %.2f", i + 1, kmin, kz[i]);
        CHECK_MSG(ring[best] < 0.7 * fmin(ring[k0 - 3], ring[k0 + 3]), "zero %d: no dip at ring %d", i + 1, best);
        tested++;
    }
    CHECK(tested >= 4);
    free(a);
    free(dw);
    cr_sim_plan_clear(&plan);
    cr_simulator_free(sim);
    cr_specimen_free(sp);
    cr_runtime_free(rt);
    return test_finish("test_cl_sim_thon");
}
