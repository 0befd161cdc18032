/* The built-in specimen: a fixed, procedurally built protein-like molecule
 * of about 280 kDa (~2600 residues, ~20k heavy atoms). Four ellipsoidal
 * domains of different sizes in an asymmetric arrangement are filled with
 * α-helices (rise 1.5 Å and 100° per residue on a 2.3 Å radius, Pauling &
 * Corey 1951) and coil segments (3.8 Å Cα-Cα steps), Cα atoms of different
 * segments at least 4.0 Å apart; each residue gets backbone N, C, O and 0-7
 * side-chain atoms with a protein-like composition. It is always the same
 * molecule (its own fixed seed), so data sets made with different --seed
 * values show the same particle. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define BUILTIN_SEED 0x5EED2024u
#define BUILTIN_RESIDUES 3000
#define CA_MIN_DIST 4.0
#define GRID_CELL 5.0
#define GRID_N 48 /* cells per axis: 240 Å, the molecule spans < 200 Å */

typedef struct domain {
    double c[3];    /* centre, Å */
    double ax[3];   /* semi-axes, Å (along x, y, z of the domain frame) */
    double share;   /* fraction of the residues */
} domain;

/* Domain layout: a large core, two mid-size lobes and a small arm, offsets
 * chosen so that no rotation or mirror maps the molecule onto itself. */
static const domain cr_domains[4] = {
    {{0, 0, 0}, {42, 35, 30}, 0.40},
    {{36, 20, 4}, {35, 28, 25}, 0.26},
    {{-18, 32, -12}, {30, 26, 22}, 0.21},
    {{18, -32, 18}, {28, 20, 18}, 0.13},
};

typedef struct builder {
    cr_atom *atoms;
    int n, cap;
    double (*ca)[3]; /* Cα of accepted residues */
    int nca;
    int *head, *next; /* grid of Cα for the clash test */
    cr_rng rng;
} builder;

static int grid_cell(const double p[3])
{
    int i[3];
    for (int a = 0; a < 3; a++) {
        i[a] = (int)floor(p[a] / GRID_CELL) + GRID_N / 2;
        if (i[a] < 0 || i[a] >= GRID_N) return -1;
    }
    return (i[2] * GRID_N + i[1]) * GRID_N + i[0];
}

/* 1 when p is at least CA_MIN_DIST from every accepted Cα. */
static int free_at(const builder *b, const double p[3])
{
    int c = grid_cell(p);
    if (c < 0) return 0;
    int cx = c % GRID_N, cy = (c / GRID_N) % GRID_N, cz = c / (GRID_N * GRID_N);
    for (int dz = -1; dz <= 1; dz++)
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int x = cx + dx, y = cy + dy, z = cz + dz;
                if (x < 0 || y < 0 || z < 0 || x >= GRID_N || y >= GRID_N || z >= GRID_N) continue;
                for (int k = b->head[(z * GRID_N + y) * GRID_N + x]; k >= 0; k = b->next[k]) {
                    double d0 = b->ca[k][0] - p[0], d1 = b->ca[k][1] - p[1], d2 = b->ca[k][2] - p[2];
                    if (d0 * d0 + d1 * d1 + d2 * d2 < CA_MIN_DIST * CA_MIN_DIST) return 0;
                }
            }
    return 1;
}

static int inside(const domain *d, const double p[3])
{
    double s = 0;
    for (int a = 0; a < 3; a++) {
        double t = (p[a] - d->c[a]) / d->ax[a];
        s += t * t;
    }
    return s <= 1.0;
}

static cr_status add_atom(builder *b, const double p[3], int el)
{
    if (b->n == b->cap) {
        int nc = b->cap ? 2 * b->cap : 32768;
        cr_atom *t = realloc(b->atoms, (size_t)nc * sizeof *t);
        if (!t) return cr_fail(CR_ERR_NOMEM, "out of memory building the built-in molecule");
        b->atoms = t;
        b->cap = nc;
    }
    b->atoms[b->n++] = (cr_atom){(float)p[0], (float)p[1], (float)p[2], el};
    return CR_OK;
}

static void unit_random(cr_rng *r, double u[3])
{
    double z = 2.0 * cr_rng_uniform(r) - 1.0, phi = 2.0 * M_PI * cr_rng_uniform(r), s = sqrt(1.0 - z * z);
    u[0] = s * cos(phi);
    u[1] = s * sin(phi);
    u[2] = z;
}

static void normalise(double v[3])
{
    double l = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (l > 0)
        for (int a = 0; a < 3; a++) v[a] /= l;
}

/* One residue at Cα ca with chain tangent t and outward side-chain direction o. */
static cr_status add_residue(builder *b, const double ca[3], const double t[3], const double o[3])
{
    cr_status st = CR_OK;
    double p[3];
    int c = grid_cell(ca);
    for (int a = 0; a < 3; a++) b->ca[b->nca][a] = ca[a];
    b->next[b->nca] = b->head[c];
    b->head[c] = b->nca++;
    for (int a = 0; a < 3; a++) p[a] = ca[a] - 1.2 * t[a] - 0.5 * o[a];
    CR_TRY(add_atom(b, p, CR_EL_N));
    CR_TRY(add_atom(b, ca, CR_EL_C));
    for (int a = 0; a < 3; a++) p[a] = ca[a] + 1.3 * t[a] - 0.4 * o[a];
    CR_TRY(add_atom(b, p, CR_EL_C));
    for (int a = 0; a < 3; a++) p[a] += 1.2 * o[a] - 0.6 * t[a] + 0.3;
    CR_TRY(add_atom(b, p, CR_EL_O));
    /* Side chain: glycine 8 %, else 1-7 atoms (mean 3.7), C 80 % N 9 % O 9 % S 2 %. */
    int k = cr_rng_uniform(&b->rng) < 0.08 ? 0 : 1 + (int)(7 * cr_rng_uniform(&b->rng));
    double q[3] = {ca[0], ca[1], ca[2]}, zig[3];
    unit_random(&b->rng, zig);
    for (int j = 0; j < k; j++) {
        double sgn = (j & 1) ? 1.0 : -1.0;
        for (int a = 0; a < 3; a++) q[a] += 1.25 * o[a] + 0.7 * sgn * zig[a];
        double u = cr_rng_uniform(&b->rng);
        int el = u < 0.80 ? CR_EL_C : u < 0.89 ? CR_EL_N : u < 0.98 ? CR_EL_O : CR_EL_S;
        CR_TRY(add_atom(b, q, el));
    }
cleanup:
    return st;
}

/* Tries one helix (helix = 1) or coil segment in domain d; adds what fits. */
static cr_status try_segment(builder *b, const domain *d, int helix, int budget, int *added)
{
    double ca[32][3], tan[32][3], out[32][3], start[3], u[3], e1[3], e2[3];
    int len = helix ? 8 + (int)(15 * cr_rng_uniform(&b->rng)) : 4 + (int)(10 * cr_rng_uniform(&b->rng));
    if (len > budget) len = budget;
    *added = 0;
    for (int a = 0; a < 3; a++) start[a] = d->c[a] + d->ax[a] * (2.0 * cr_rng_uniform(&b->rng) - 1.0);
    unit_random(&b->rng, u);
    /* e1, e2: a frame perpendicular to u. */
    double ref[3] = {fabs(u[0]) < 0.9 ? 1.0 : 0.0, fabs(u[0]) < 0.9 ? 0.0 : 1.0, 0.0};
    e1[0] = u[1] * ref[2] - u[2] * ref[1];
    e1[1] = u[2] * ref[0] - u[0] * ref[2];
    e1[2] = u[0] * ref[1] - u[1] * ref[0];
    normalise(e1);
    e2[0] = u[1] * e1[2] - u[2] * e1[1];
    e2[1] = u[2] * e1[0] - u[0] * e1[2];
    e2[2] = u[0] * e1[1] - u[1] * e1[0];
    int n = 0;
    double dir[3] = {u[0], u[1], u[2]}, p[3] = {start[0], start[1], start[2]};
    for (int i = 0; i < len; i++) {
        if (helix) {
            double ang = i * 100.0 * M_PI / 180.0;
            for (int a = 0; a < 3; a++) {
                out[n][a] = cos(ang) * e1[a] + sin(ang) * e2[a];
                ca[n][a] = start[a] + 1.5 * i * u[a] + 2.3 * out[n][a];
                tan[n][a] = u[a];
            }
        } else {
            double r[3];
            unit_random(&b->rng, r);
            for (int a = 0; a < 3; a++) dir[a] += 0.7 * r[a];
            normalise(dir);
            for (int a = 0; a < 3; a++) {
                p[a] += 3.8 * dir[a];
                ca[n][a] = p[a];
                tan[n][a] = dir[a];
                out[n][a] = r[a];
            }
        }
        if (!inside(d, ca[n]) || !free_at(b, ca[n])) break;
        /* Within a segment, neighbours are closer than CA_MIN_DIST by design. */
        n++;
    }
    if (n < (helix ? 7 : 3)) return CR_OK; /* helices of two turns or more, coils of 3 or more */
    for (int i = 0; i < n; i++) {
        cr_status st = add_residue(b, ca[i], tan[i], out[i]);
        if (st != CR_OK) return st;
    }
    *added = n;
    return CR_OK;
}

cr_status cr_atoms_builtin(cr_atom **atoms, int *n)
{
    cr_status st = CR_OK;
    builder b;
    memset(&b, 0, sizeof b);
    *atoms = NULL;
    *n = 0;
    b.ca = malloc((BUILTIN_RESIDUES + 64) * sizeof *b.ca);
    b.next = malloc((BUILTIN_RESIDUES + 64) * sizeof *b.next);
    b.head = malloc((size_t)GRID_N * GRID_N * GRID_N * sizeof *b.head);
    if (!b.ca || !b.next || !b.head) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory building the built-in molecule");
        goto cleanup;
    }
    for (int i = 0; i < GRID_N * GRID_N * GRID_N; i++) b.head[i] = -1;
    cr_rng_init(&b.rng, BUILTIN_SEED, CR_STREAM_BUILTIN, 0);
    for (int di = 0; di < 4; di++) {
        const domain *d = &cr_domains[di];
        int target = (int)(d->share * BUILTIN_RESIDUES + 0.5), placed = 0;
        for (int attempt = 0; attempt < 200000 && placed < target; attempt++) {
            int added = 0;
            int helix = cr_rng_uniform(&b.rng) < 0.55;
            CR_TRY(try_segment(&b, d, helix, target - placed, &added));
            placed += added;
        }
    }
    *atoms = b.atoms;
    *n = b.n;
    b.atoms = NULL;
cleanup:
    free(b.atoms);
    free(b.ca);
    free(b.next);
    free(b.head);
    return st;
}
