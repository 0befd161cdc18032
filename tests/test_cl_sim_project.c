/* Projection geometry of the simulator against host truth:
 * - identity orientation at an integer position: the projected potential
 *   equals the host sum over z of the map times the voxel size;
 * - a single off-centre Gaussian rotated by known rotations (built here from
 *   axis and angle with Rodrigues' formula, not from the library's
 *   quaternion code) lands where R b predicts.
 * (The device Philox against the host's and Random123's known answers:
 * test_cl_sim_philox.) */
#include "testutil.h"

#include "clrestore/runtime.h"
#include "clrestore/simulate.h"

#define N 32
#define W 256 /* with the default optics: the same FFT canvas as test_cl_sim_noise */

static void opts_flat(cr_sim_opts *o)
{
    cr_sim_opts_default(o);
    o->nx = o->ny = W;
    o->apix = 1.5;
    o->ice_thickness = 0;
    o->density = 0;
}

/* Projected potential of one particle at (px, py) with quaternion q. */
static cr_status project(cr_runtime *rt, const float *vol, const double q[4], double px, double py, float *out)
{
    cr_specimen *sp = NULL;
    cr_simulator *sim = NULL;
    cr_sim_opts o;
    opts_flat(&o);
    cr_sim_particle part = {px, py, {q[0], q[1], q[2], q[3]}};
    cr_sim_plan plan = {0};
    plan.particles = &part;
    plan.nparticles = 1;
    cr_status st = cr_specimen_from_volume(vol, N, 1.5, &sp);
    if (st == CR_OK) st = cr_simulator_create(rt, sp, &o, &sim);
    if (st == CR_OK) st = cr_simulator_potential(sim, &plan, out);
    cr_simulator_free(sim);
    cr_specimen_free(sp);
    return st;
}

static void gaussian(float *vol, double bx, double by, double bz, double sd, double amp)
{
    for (int z = 0; z < N; z++)
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++) {
                double dx = x - N / 2 - bx, dy = y - N / 2 - by, dz = z - N / 2 - bz;
                vol[(z * N + y) * N + x] += (float)(amp * exp(-(dx * dx + dy * dy + dz * dz) / (2 * sd * sd)));
            }
}

static void centroid(const float *img, double *cx, double *cy)
{
    double s = 0, sx = 0, sy = 0;
    for (int y = 0; y < W; y++)
        for (int x = 0; x < W; x++) {
            double v = img[y * W + x];
            s += v;
            sx += v * x;
            sy += v * y;
        }
    *cx = sx / s;
    *cy = sy / s;
}

int main(void)
{
    cr_runtime *rt = NULL;
    if (cr_runtime_create(getenv("CLRESTORE_DEVICE"), &rt) != CR_OK) {
        printf("SKIP: no OpenCL device: %s\n", cr_error_message());
        return 77;
    }
    float *vol = calloc(N * N * N, sizeof *vol), *img = calloc(W * W, sizeof *img);

    /* 1. Sum over z: an asymmetric cluster of Gaussians inside radius 10. */
    gaussian(vol, 3, -2, 1, 1.5, 2.0);
    gaussian(vol, -5, 4, -3, 2.0, 1.0);
    gaussian(vol, 1, 6, 5, 1.2, 3.0);
    for (int i = 0; i < N * N * N; i++)
        if (vol[i] < 1e-4f) vol[i] = 0; /* compact support within the ray range */
    double id[4] = {1, 0, 0, 0}, maxerr = 0, maxval = 0;
    CHECK_OK(project(rt, vol, id, 130, 93, img));
    for (int y = 0; y < W; y++)
        for (int x = 0; x < W; x++) {
            int vx = x - 130 + N / 2, vy = y - 93 + N / 2;
            double ref = 0;
            if (vx >= 0 && vx < N && vy >= 0 && vy < N)
                for (int z = 0; z < N; z++) ref += 1.5 * vol[(z * N + vy) * N + vx]; /* V x voxel (A) */
            maxerr = fmax(maxerr, fabs(img[y * W + x] - ref));
            maxval = fmax(maxval, fabs(ref));
        }
    CHECK_MSG(maxerr <= 1e-5 * maxval, "max |P - sum_z| = %g of %g", maxerr, maxval);

    /* 2. Rotations move an off-centre Gaussian at body b = (6, 0, 0) (plus a
     *    weaker one at (0, 0, 4) to make the rotation's other axes count)
     *    to R b: two rotations, from axis and angle (Rodrigues). */
    const double tests[2][4] = {{0, 0, 1, 90}, {1, 2, 3, 50}}; /* axis, degrees */
    for (int t = 0; t < 2; t++) {
        memset(vol, 0, N * N * N * sizeof *vol);
        gaussian(vol, 6, 0, 0, 1.3, 1.0);
        double u[3] = {tests[t][0], tests[t][1], tests[t][2]}, l = sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
        for (int a = 0; a < 3; a++) u[a] /= l;
        double th = tests[t][3] * M_PI / 180, c = cos(th), s = sin(th);
        /* R b with b = (6, 0, 0): Rodrigues, R = c I + s [u]x + (1 - c) u u^T. */
        double b[3] = {6, 0, 0}, ub = u[0] * b[0];
        double cross[3] = {u[1] * b[2] - u[2] * b[1], u[2] * b[0] - u[0] * b[2], u[0] * b[1] - u[1] * b[0]};
        double rb[3];
        for (int a = 0; a < 3; a++) rb[a] = c * b[a] + s * cross[a] + (1 - c) * u[a] * ub;
        double q[4] = {cos(th / 2), sin(th / 2) * u[0], sin(th / 2) * u[1], sin(th / 2) * u[2]};
        CHECK_OK(project(rt, vol, q, 128, 128, img));
        double cx, cy;
        centroid(img, &cx, &cy);
        CHECK_MSG(fabs(cx - (128 + rb[0])) < 0.1 && fabs(cy - (128 + rb[1])) < 0.1,
                  "rotation %d: centroid (%.3f, %.3f), expected (%.3f, %.3f)", t, cx, cy, 128 + rb[0], 128 + rb[1]);
    }

    free(vol);
    free(img);
    cr_runtime_free(rt);
    return test_finish("test_cl_sim_project");
}
