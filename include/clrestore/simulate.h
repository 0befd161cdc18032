/* Synthetic cryo-EM micrographs with ground truth (PRODUCT.md "simulate").
 *
 * Pipeline, per micrograph:
 *   specimen  a 3D map of the excess Coulomb potential of one molecule over
 *             vitreous ice (V), sampled at the micrograph's pixel size;
 *   plan      host-side random draws (counter-based Philox, so identical on
 *             any machine): CTF, ice, carbon edge, particle positions and
 *             orientations;
 *   device    projected potential P(x, y) (V·Å) by ray sums, phase σ·P,
 *             FFT, transfer function (RELION CTF, B envelope, detector MTF),
 *             inverse FFT, expected counts and Poisson even/odd draws.
 * The physics (units, formulas, conventions, sources) is documented where it
 * is implemented: host/sim/atoms.c (potentials), host/sim/micrograph.c
 * (image formation), kernels/simulate.cl (Poisson sampling). */
#ifndef CLRESTORE_SIMULATE_H
#define CLRESTORE_SIMULATE_H

#include <stdint.h>

#include "clrestore/fourier.h"
#include "clrestore/runtime.h"
#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- counter-based random numbers (Philox4x32-10, Salmon et al., SC'11) ---- */

#include "clrestore/philox.h" /* cr_philox4x32 */

/* ---- specimen: excess potential of one molecule ------------------------------ */

typedef struct cr_specimen {
    float *vol;        /* n x n x n, x fastest; excess potential over ice, V */
    int n;             /* box edge, voxels; centre at voxel n/2 (RELION) */
    double apix;       /* voxel size = micrograph pixel size, Å */
    double radius;     /* Å: all density lies within this distance of the centre */
    double mass_kda;   /* molecular mass (atoms) or estimated from the envelope (map) */
    int natoms;        /* 0 for a map */
    char desc[256];    /* "built-in ...", "map FILE ...", "model FILE ..." */
} cr_specimen;

/* The built-in molecule: a fixed, procedurally built ~280 kDa asymmetric
 * protein-like assembly of four domains of helices and coil (~20k atoms). */
cr_status cr_specimen_builtin(double apix, cr_specimen **out);
/* An atomic model (PDB or mmCIF by extension; waters skipped, first model,
 * first alternate location) with element-dependent scattering factors. */
cr_status cr_specimen_from_model(const char *path, double apix, cr_specimen **out);
/* A 3D MRC density resampled to apix. map_apix > 0 overrides the header's
 * voxel size (needed when the cell is zero). threshold: density level of the
 * molecular envelope; NAN = 10% of the way from background to maximum. The
 * density above the threshold is scaled so that its integral is the excess
 * potential of protein times the envelope volume. */
cr_status cr_specimen_from_map(const char *path, double apix, double map_apix, double threshold,
                               cr_specimen **out);
/* A specimen that takes a copy of vol (n^3 floats, V) as it is (tests). */
cr_status cr_specimen_from_volume(const float *vol, int n, double apix, cr_specimen **out);
void cr_specimen_free(cr_specimen *sp); /* accepts NULL */

/* ---- options and per-micrograph plans --------------------------------------- */

typedef struct cr_sim_opts {
    int nx, ny;             /* micrograph size, px (default 1024 x 1024) */
    double apix;            /* Å/px (default 1.5) */
    double dose;            /* e/Å² for the full (DW) sum (default 40) */
    uint64_t seed;          /* specimen placement, CTF, ice (default 1) */
    uint64_t noise_seed;    /* Poisson draws (default derived from seed) */
    double density;         /* fraction of the area covered by particle discs (default 0.25) */
    double defocus_min, defocus_max; /* Å, mean defocus range (default 8000..25000) */
    double astigmatism;     /* Å, max |DfU - DfV| (default 500) */
    double voltage;         /* kV (300) */
    double cs;              /* mm (2.7) */
    double amp_contrast;    /* (0.1) */
    double bfactor;         /* Å², CTF envelope exp(-B s²/4); 0 = none (default 0) */
    int mtf;                /* detector MTF: pixel-integration sinc (default 0) */
    double ice_thickness;   /* Å, mean (default 300); 0 = no ice */
    double ice_variation;   /* relative amplitude of smooth thickness variation (0.05) */
    int carbon;             /* a carbon film edge crossing each micrograph (default 0) */
    double carbon_thickness; /* Å (200) */
} cr_sim_opts;

void cr_sim_opts_default(cr_sim_opts *o);
/* The noise seed derived from a seed (used when --noise-seed is not given). */
uint64_t cr_sim_noise_seed(uint64_t seed);

typedef struct cr_sim_particle {
    double x, y;    /* centre, px (x = column); may lie in the margin, outside the image */
    double q[4];    /* unit quaternion (w, x, y, z): world = R(q) body */
} cr_sim_particle;

#define CR_SIM_ICE_MODES 6

typedef struct cr_sim_plan {
    int index;                  /* micrograph number, 0-based */
    cr_ctf_params ctf;
    double ice_mode[CR_SIM_ICE_MODES][4]; /* kx, ky (cycles/px), phase (rad), relative amplitude */
    int carbon;                 /* carbon where cx*x + cy*y > cd */
    double carbon_nx, carbon_ny, carbon_d;
    cr_sim_particle *particles;
    int nparticles;
} cr_sim_plan;

/* Margin (px) simulated around each side of the micrograph and cropped away,
 * so that the CTF's delocalisation (λ Δf s + Cs λ³ s³ at Nyquist, for the
 * largest defocus) never wraps around the periodic FFT: edges look like a
 * crop of a larger exposure, as real micrographs are. */
int cr_sim_margin(const cr_sim_opts *o);

/* All host-side draws for micrograph index: a pure function of (o->seed,
 * index, specimen radius). Clear with cr_sim_plan_clear. */
cr_status cr_sim_plan_make(const cr_sim_opts *o, const cr_specimen *sp, int index, cr_sim_plan *plan);
void cr_sim_plan_clear(cr_sim_plan *plan);

/* ---- the device simulator ------------------------------------------------------ */

typedef struct cr_simulator cr_simulator;

cr_status cr_simulator_create(cr_runtime *rt, const cr_specimen *sp, const cr_sim_opts *o, cr_simulator **out);
void cr_simulator_free(cr_simulator *s); /* accepts NULL and half-built */

/* Projected potential P (V·Å, ny x nx) of ice, carbon and particles. */
cr_status cr_simulator_potential(cr_simulator *s, const cr_sim_plan *p, float *out);

/* One micrograph: truth = expected counts at the full dose; even and odd =
 * independent Poisson draws at half the dose; sum = even + odd. Each is
 * ny x nx floats; any may be NULL (not read back). */
cr_status cr_simulator_run(cr_simulator *s, const cr_sim_plan *p, float *truth, float *even, float *odd,
                           float *sum);

/* micrographs.star (RELION 3.1): one optics group, one row per plan with
 * names[i] (relative to the STAR file) and the plan's CTF. */
cr_status cr_sim_write_star(const char *path, const cr_sim_opts *o, const cr_sim_plan *plans,
                            const char *const *names, int n);

#ifdef __cplusplus
}
#endif
#endif
