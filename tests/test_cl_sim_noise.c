/* Counting noise and signal of simulated micrographs against statistics:
 * - flat field (no ice, no particles): even, odd and DW counts have mean and
 *   variance = dose x pixel area (per half: half of it), within 3 sigma of
 *   the estimators, for means on both sides of the inversion / PTRS switch;
 *   even and odd are uncorrelated; the truth is exactly flat.
 * - with particles: the even/odd SNR cov(e, o) / (var(e) - cov(e, o))
 *   matches the truth-based var(t/2) / var(e - t/2) within 5 %;
 * - particles are dark: mean truth over particle discs < background. */
#include "testutil.h"

#include "clrestore/runtime.h"
#include "clrestore/simulate.h"

#define W 256

static double mean_of(const float *a, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i];
    return s / n;
}

static double cov_of(const float *a, const float *b, int n)
{
    double ma = mean_of(a, n), mb = mean_of(b, n), s = 0;
    for (int i = 0; i < n; i++) s += (a[i] - ma) * (b[i] - mb);
    return s / n;
}

static cr_status simulate(cr_runtime *rt, const cr_sim_opts *o, cr_specimen *sp, float **img, cr_sim_plan *plan)
{
    cr_simulator *sim = NULL;
    cr_status st = cr_sim_plan_make(o, sp, 0, plan);
    if (st == CR_OK) st = cr_simulator_create(rt, sp, o, &sim);
    if (st == CR_OK) st = cr_simulator_run(sim, plan, img[0], img[1], img[2], img[3]);
    cr_simulator_free(sim);
    return st;
}

int main(void)
{
    cr_runtime *rt = NULL;
    if (cr_runtime_create(getenv("CLRESTORE_DEVICE"), &rt) != CR_OK) {
        printf("SKIP: no OpenCL device: %s\n", cr_error_message());
        return 77;
    }
    cr_specimen *sp = NULL;
    CHECK_OK(cr_specimen_builtin(1.5, &sp));
    int n = W * W;
    float *img[4];
    for (int k = 0; k < 4; k++) img[k] = malloc(2 * W * 2 * W * sizeof(float));

    /* 1. Flat field at three doses: per-half means 2.25, 45 and 450 counts. */
    const double doses[3] = {2.0, 40.0, 400.0};
    for (int d = 0; d < 3; d++) {
        cr_sim_opts o;
        cr_sim_plan plan;
        cr_sim_opts_default(&o);
        o.nx = o.ny = W;
        o.ice_thickness = 0;
        o.density = 0;
        o.dose = doses[d];
        o.seed = 7;
        o.noise_seed = 200 + d; /* fixed: the 3-sigma checks are deterministic */
        CHECK_OK(simulate(rt, &o, sp, img, &plan));
        cr_sim_plan_clear(&plan);
        double full = o.dose * o.apix * o.apix;
        for (int k = 0; k < 4; k++) {
            double mu = k == 0 || k == 3 ? full : full / 2, m = mean_of(img[k], n), v = cov_of(img[k], img[k], n);
            if (k == 0) {
                double dev = 0;
                for (int i = 0; i < n; i++) dev = fmax(dev, fabs(img[0][i] - mu));
                CHECK_MSG(dev <= 1e-5 * mu, "dose %g: truth not flat (max deviation %g)", o.dose, dev);
                continue;
            }
            double sm = sqrt(mu / n), sv = sqrt((mu + 2 * mu * mu) / n);
            CHECK_MSG(fabs(m - mu) <= 3 * sm, "dose %g image %d: mean %.5f, expected %.5f +- %.5f", o.dose, k, m, mu,
                      3 * sm);
            CHECK_MSG(fabs(v - mu) <= 3 * sv, "dose %g image %d: variance %.5f, expected %.5f +- %.5f", o.dose, k, v,
                      mu, 3 * sv);
        }
        double r = cov_of(img[1], img[2], n) / (full / 2);
        CHECK_MSG(fabs(r) <= 3 / sqrt((double)n), "dose %g: even/odd correlation %.5f", o.dose, r);
    }

    /* 2. SNR with particles (512^2, dose 200: estimator spread ~1 %). */
    {
        cr_sim_opts o;
        cr_sim_plan plan;
        cr_sim_opts_default(&o);
        o.nx = o.ny = 2 * W;
        o.dose = 200;
        o.density = 0.35;
        o.seed = 11;
        o.noise_seed = 12;
        int m = o.nx * o.ny;
        CHECK_OK(simulate(rt, &o, sp, img, &plan));
        float *half = malloc(m * sizeof *half), *resid = malloc(m * sizeof *resid);
        for (int i = 0; i < m; i++) {
            half[i] = 0.5f * img[0][i];
            resid[i] = img[1][i] - half[i];
        }
        double c = cov_of(img[1], img[2], m), snr_eo = c / (cov_of(img[1], img[1], m) - c);
        double snr_truth = cov_of(half, half, m) / cov_of(resid, resid, m);
        printf("SNR even/odd %.4f, truth-based %.4f, %d particles\n", snr_eo, snr_truth, plan.nparticles);
        CHECK_MSG(fabs(snr_eo / snr_truth - 1) <= 0.05, "SNR even/odd %.4f vs truth %.4f", snr_eo, snr_truth);
        CHECK(plan.nparticles > 5);
        /* Dark particles: truth inside discs of half the radius vs far outside. */
        double rin = 0.5 * sp->radius / o.apix, in = 0, out = 0;
        long nin = 0, nout = 0;
        for (int y = 0; y < o.ny; y++)
            for (int x = 0; x < o.nx; x++) {
                double dmin = 1e30;
                for (int p = 0; p < plan.nparticles; p++) {
                    double dx = x - plan.particles[p].x, dy = y - plan.particles[p].y;
                    dmin = fmin(dmin, sqrt(dx * dx + dy * dy));
                }
                if (dmin < rin) { in += img[0][y * o.nx + x]; nin++; }
                else if (dmin > 3 * rin) { out += img[0][y * o.nx + x]; nout++; }
            }
        CHECK(nin > 0 && nout > 0);
        printf("truth mean in particles %.3f, background %.3f\n", in / nin, out / nout);
        CHECK_MSG(in / nin < out / nout, "particles are not darker than the background");
        free(half);
        free(resid);
        cr_sim_plan_clear(&plan);
    }
    for (int k = 0; k < 4; k++) free(img[k]);
    cr_specimen_free(sp);
    cr_runtime_free(rt);
    return test_finish("test_cl_sim_noise");
}
