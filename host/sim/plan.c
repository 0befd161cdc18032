/* Options, the host-side random draws of each micrograph (CTF, ice, carbon
 * edge, particle positions and orientations) and the micrographs.star writer.
 * Every draw comes from a Philox stream keyed by (seed, kind of draw,
 * micrograph), so a plan is a pure function of its inputs on any machine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/star.h"
#include "sim_internal.h"

void cr_sim_opts_default(cr_sim_opts *o)
{
    memset(o, 0, sizeof *o);
    o->nx = 1024;
    o->ny = 1024;
    o->apix = 1.5;
    o->dose = 40.0;
    o->seed = 1;
    o->noise_seed = cr_sim_noise_seed(1);
    o->density = 0.25;
    o->defocus_min = 8000.0;
    o->defocus_max = 25000.0;
    o->astigmatism = 500.0;
    o->voltage = 300.0;
    o->cs = 2.7;
    o->amp_contrast = 0.1;
    o->bfactor = 0.0;
    o->mtf = 0;
    o->ice_thickness = 300.0;
    o->ice_variation = 0.05;
    o->carbon = 0;
    o->carbon_thickness = 200.0;
}

uint64_t cr_sim_noise_seed(uint64_t seed)
{
    /* A different stream of the same key: independent of every plan draw. */
    uint32_t ctr[4] = {0, 0, 0x4E01u, 0}, key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)}, out[4];
    cr_philox4x32(ctr, key, out);
    return ((uint64_t)out[1] << 32) | out[0];
}

int cr_sim_margin(const cr_sim_opts *o)
{
    double lam = cr_electron_wavelength(o->voltage), s = 0.5 / o->apix, cs = o->cs * 1e7;
    double df = o->defocus_max + 0.5 * o->astigmatism;
    return (int)ceil((lam * df * s + cs * lam * lam * lam * s * s * s) / o->apix) + 8;
}

void cr_sim_plan_clear(cr_sim_plan *plan)
{
    if (!plan) return;
    free(plan->particles);
    memset(plan, 0, sizeof *plan);
}

/* Rounds to the decimals the STAR file carries, so that the image is made
 * with exactly the numbers a reader gets back. */
static double round_to(double v, double step)
{
    return round(v / step) * step;
}

/* Uniform random rotation: a unit quaternion from three uniforms (Shoemake,
 * "Uniform random rotations", Graphics Gems III, 1992), uniform on SO(3). */
static void random_quaternion(cr_rng *r, double q[4])
{
    double u1 = cr_rng_uniform(r), u2 = cr_rng_uniform(r), u3 = cr_rng_uniform(r);
    double a = sqrt(1.0 - u1), b = sqrt(u1);
    q[0] = b * cos(2.0 * M_PI * u3);
    q[1] = a * sin(2.0 * M_PI * u2);
    q[2] = a * cos(2.0 * M_PI * u2);
    q[3] = b * sin(2.0 * M_PI * u3);
}

cr_status cr_sim_plan_make(const cr_sim_opts *o, const cr_specimen *sp, int index, cr_sim_plan *plan)
{
    cr_rng r;
    memset(plan, 0, sizeof *plan);
    plan->index = index;

    cr_rng_init(&r, o->seed, CR_STREAM_CTF, (uint32_t)index);
    double mean = o->defocus_min + cr_rng_uniform(&r) * (o->defocus_max - o->defocus_min);
    double astig = cr_rng_uniform(&r) * o->astigmatism;
    plan->ctf.defocus_u = round_to(mean + 0.5 * astig, 0.1);
    plan->ctf.defocus_v = round_to(mean - 0.5 * astig, 0.1);
    plan->ctf.defocus_angle = round_to(180.0 * cr_rng_uniform(&r), 0.01);
    plan->ctf.voltage = o->voltage;
    plan->ctf.cs = o->cs;
    plan->ctf.amp_contrast = o->amp_contrast;
    plan->ctf.phase_shift = 0.0;

    /* Ice thickness: T0 (1 + sum of CR_SIM_ICE_MODES plane waves) with
     * wavelengths 0.3-2 image widths, random directions and phases, and
     * amplitudes N(0, 1) ice_variation / sqrt(modes): a smooth field of
     * r.m.s. relative variation about ice_variation / sqrt(2). */
    cr_rng_init(&r, o->seed, CR_STREAM_ICE, (uint32_t)index);
    double width = o->nx > o->ny ? o->nx : o->ny;
    for (int k = 0; k < CR_SIM_ICE_MODES; k++) {
        double len = width * (0.3 + 1.7 * cr_rng_uniform(&r)), th = 2.0 * M_PI * cr_rng_uniform(&r);
        plan->ice_mode[k][0] = cos(th) / len;
        plan->ice_mode[k][1] = sin(th) / len;
        plan->ice_mode[k][2] = 2.0 * M_PI * cr_rng_uniform(&r);
        plan->ice_mode[k][3] = o->ice_variation * cr_rng_normal(&r) / sqrt((double)CR_SIM_ICE_MODES);
    }

    /* Carbon edge: a straight film edge at a random angle, covering 15-40 %
     * of the width on its side; particles stay in the hole. */
    double rpx = sp->radius / o->apix;
    if (o->carbon) {
        cr_rng_init(&r, o->seed, CR_STREAM_CARBON, (uint32_t)index);
        double th = 2.0 * M_PI * cr_rng_uniform(&r);
        plan->carbon = 1;
        plan->carbon_nx = cos(th);
        plan->carbon_ny = sin(th);
        double shortest = o->nx < o->ny ? o->nx : o->ny;
        plan->carbon_d = plan->carbon_nx * 0.5 * o->nx + plan->carbon_ny * 0.5 * o->ny +
                         (0.1 + 0.25 * cr_rng_uniform(&r)) * shortest;
    }

    /* Particles: random sequential addition of discs of the specimen's
     * radius over the image and its margin (particles at the border are cut
     * as in real micrographs), no two closer than 2 radii. */
    int m = cr_sim_margin(o);
    double wx = o->nx + 2.0 * m, wy = o->ny + 2.0 * m;
    int target = (int)floor(o->density * wx * wy / (M_PI * rpx * rpx) + 0.5);
    if (o->density <= 0 || target <= 0) return CR_OK;
    plan->particles = calloc((size_t)target, sizeof *plan->particles);
    if (!plan->particles) return cr_fail(CR_ERR_NOMEM, "out of memory for %d particles", target);
    cr_rng_init(&r, o->seed, CR_STREAM_PARTICLES, (uint32_t)index);
    for (long attempt = 0; attempt < 200L * target && plan->nparticles < target; attempt++) {
        double x = cr_rng_uniform(&r) * wx - m, y = cr_rng_uniform(&r) * wy - m, q[4];
        random_quaternion(&r, q);
        if (plan->carbon && plan->carbon_nx * x + plan->carbon_ny * y > plan->carbon_d - rpx) continue;
        int ok = 1;
        for (int i = 0; i < plan->nparticles && ok; i++) {
            double dx = plan->particles[i].x - x, dy = plan->particles[i].y - y;
            ok = dx * dx + dy * dy >= 4.0 * rpx * rpx;
        }
        if (!ok) continue;
        cr_sim_particle *p = &plan->particles[plan->nparticles++];
        p->x = x;
        p->y = y;
        memcpy(p->q, q, sizeof q);
    }
    return CR_OK;
}

static cr_status set_num(cr_star_file *f, cr_star_table *t, int row, int col, const char *fmt, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, fmt, v);
    return cr_star_set_value(f, t, row, col, buf);
}

cr_status cr_sim_write_star(const char *path, const cr_sim_opts *o, const cr_sim_plan *plans,
                            const char *const *names, int n)
{
    cr_status st = CR_OK;
    cr_star_file *f = NULL;
    cr_star_table *optics = NULL, *mics = NULL;
    static const char *const ocols[] = {"_rlnOpticsGroupName", "_rlnOpticsGroup", "_rlnMicrographPixelSize",
                                        "_rlnVoltage", "_rlnSphericalAberration", "_rlnAmplitudeContrast"};
    const char *mcols[] = {"_rlnMicrographName", "_rlnOpticsGroup", "_rlnDefocusU", "_rlnDefocusV",
                           "_rlnDefocusAngle", "_rlnCtfBfactor"};
    int nm = o->bfactor != 0.0 ? 6 : 5, col, row;
    CR_TRY(cr_star_new(&f));
    CR_TRY(cr_star_add_table(f, "optics", 1, &optics));
    for (int c = 0; c < 6; c++) CR_TRY(cr_star_add_column(f, optics, ocols[c], &col));
    CR_TRY(cr_star_append_row(f, optics, NULL, &row));
    CR_TRY(cr_star_set_value(f, optics, row, 0, "opticsGroup1"));
    CR_TRY(cr_star_set_value(f, optics, row, 1, "1"));
    CR_TRY(set_num(f, optics, row, 2, "%.6g", o->apix));
    CR_TRY(set_num(f, optics, row, 3, "%.6g", o->voltage));
    CR_TRY(set_num(f, optics, row, 4, "%.6g", o->cs));
    CR_TRY(set_num(f, optics, row, 5, "%.6g", o->amp_contrast));
    CR_TRY(cr_star_add_table(f, "micrographs", 1, &mics));
    for (int c = 0; c < nm; c++) CR_TRY(cr_star_add_column(f, mics, mcols[c], &col));
    for (int i = 0; i < n; i++) {
        CR_TRY(cr_star_append_row(f, mics, NULL, &row));
        CR_TRY(cr_star_set_value(f, mics, row, 0, names[i]));
        CR_TRY(cr_star_set_value(f, mics, row, 1, "1"));
        CR_TRY(set_num(f, mics, row, 2, "%.1f", plans[i].ctf.defocus_u));
        CR_TRY(set_num(f, mics, row, 3, "%.1f", plans[i].ctf.defocus_v));
        CR_TRY(set_num(f, mics, row, 4, "%.2f", plans[i].ctf.defocus_angle));
        if (nm == 6) CR_TRY(set_num(f, mics, row, 5, "%.6g", o->bfactor));
    }
    CR_TRY(cr_star_write(f, path));
cleanup:
    cr_star_free(f);
    return st;
}
