/* Specimens: the excess potential map of one molecule at the micrograph's
 * pixel size, from the built-in molecule, an atomic model or a 3D MRC map. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/mrc.h"
#include "sim_internal.h"

void cr_specimen_free(cr_specimen *sp)
{
    if (!sp) return;
    free(sp->vol);
    free(sp);
}

cr_status cr_specimen_builtin(double apix, cr_specimen **out)
{
    cr_atom *atoms = NULL;
    int n = 0;
    cr_status st = cr_atoms_builtin(&atoms, &n);
    if (st == CR_OK) st = cr_atoms_to_specimen(atoms, n, apix, 1, "built-in molecule", out);
    free(atoms);
    return st;
}

cr_status cr_specimen_from_model(const char *path, double apix, cr_specimen **out)
{
    cr_atom *atoms = NULL;
    int n = 0, has_h = 0;
    char desc[200];
    cr_status st = cr_atoms_read(path, &atoms, &n, &has_h);
    snprintf(desc, sizeof desc, "model %s", path);
    /* Models without hydrogens get them as united atoms (atoms.c). */
    if (st == CR_OK) st = cr_atoms_to_specimen(atoms, n, apix, !has_h, desc, out);
    free(atoms);
    return st;
}

/* Radius (voxels, from voxel n/2 on each axis) of the values above eps. */
static double support_radius(const float *v, int nx, int ny, int nz, float eps)
{
    double r2 = 0;
    for (int z = 0; z < nz; z++)
        for (int y = 0; y < ny; y++)
            for (int x = 0; x < nx; x++) {
                if (fabsf(v[((size_t)z * ny + y) * nx + x]) <= eps) continue;
                double dx = x - nx / 2, dy = y - ny / 2, dz = z - nz / 2;
                r2 = fmax(r2, dx * dx + dy * dy + dz * dz);
            }
    return sqrt(r2);
}

cr_status cr_specimen_from_volume(const float *vol, int n, double apix, cr_specimen **out)
{
    *out = NULL;
    if (n < 2 || n > 1024 || apix <= 0) return cr_fail(CR_ERR_ARG, "specimen volume: bad size %d or pixel size %g", n, apix);
    cr_specimen *sp = calloc(1, sizeof *sp);
    size_t nv = (size_t)n * n * n;
    if (!sp || !(sp->vol = malloc(nv * sizeof *sp->vol))) {
        free(sp);
        return cr_fail(CR_ERR_NOMEM, "out of memory for a %d^3 specimen", n);
    }
    memcpy(sp->vol, vol, nv * sizeof *vol);
    float vmax = 0;
    for (size_t i = 0; i < nv; i++) vmax = fmaxf(vmax, fabsf(vol[i]));
    sp->n = n;
    sp->apix = apix;
    sp->radius = (support_radius(vol, n, n, n, 1e-4f * vmax) + 1.5) * apix;
    snprintf(sp->desc, sizeof sp->desc, "volume %d^3 at %.3g A", n, apix);
    *out = sp;
    return CR_OK;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Trilinear sample of v (nx, ny, nz) at voxel coordinates p; 0 outside. */
static double trilinear(const float *v, int nx, int ny, int nz, double px, double py, double pz)
{
    int x0 = (int)floor(px), y0 = (int)floor(py), z0 = (int)floor(pz);
    double fx = px - x0, fy = py - y0, fz = pz - z0, s = 0;
    for (int c = 0; c < 8; c++) {
        int x = x0 + (c & 1), y = y0 + ((c >> 1) & 1), z = z0 + (c >> 2);
        if (x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz) continue;
        double w = ((c & 1) ? fx : 1 - fx) * (((c >> 1) & 1) ? fy : 1 - fy) * ((c >> 2) ? fz : 1 - fz);
        s += w * v[((size_t)z * ny + y) * nx + x];
    }
    return s;
}

cr_status cr_specimen_from_map(const char *path, double apix, double map_apix, double threshold, cr_specimen **out)
{
    cr_status st = CR_OK;
    cr_mrc_header h;
    float *m = NULL, *shell = NULL;
    cr_specimen *sp = NULL;
    *out = NULL;
    CR_TRY(cr_mrc_read(path, &h, &m));
    double vm = map_apix > 0 ? map_apix : h.apix;
    if (!(vm > 0)) {
        st = cr_fail(CR_ERR_FORMAT, "%s: the header has no pixel size (cell %g); give --map-apix", path, h.cell[0]);
        goto cleanup;
    }
    if (h.nx < 4 || h.ny < 4 || h.nz < 4) {
        st = cr_fail(CR_ERR_FORMAT, "%s: %d x %d x %d is not a 3D map", path, h.nx, h.ny, h.nz);
        goto cleanup;
    }
    CR_TRY(cr_mrc_check_finite(path, m, h.nx, h.ny, h.nz));
    size_t nv = (size_t)h.nx * h.ny * h.nz, ns = 0;
    /* Background: median of the box faces, where a map holds solvent. */
    shell = malloc(nv * sizeof *shell);
    if (!shell) {
        st = cr_fail(CR_ERR_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    float vmax = -INFINITY;
    for (int z = 0; z < h.nz; z++)
        for (int y = 0; y < h.ny; y++)
            for (int x = 0; x < h.nx; x++) {
                float v = m[((size_t)z * h.ny + y) * h.nx + x];
                vmax = fmaxf(vmax, v);
                if (x == 0 || y == 0 || z == 0 || x == h.nx - 1 || y == h.ny - 1 || z == h.nz - 1) shell[ns++] = v;
            }
    qsort(shell, ns, sizeof *shell, cmp_float);
    double bg = shell[ns / 2];
    double t = isnan(threshold) ? bg + 0.1 * (vmax - bg) : threshold;
    if (!(t < vmax)) {
        st = cr_fail(CR_ERR_ARG, "%s: threshold %g is not below the map maximum %g", path, t, (double)vmax);
        goto cleanup;
    }
    /* Envelope: values above t. The density over t (continuous, zero at the
     * envelope) is scaled so that its integral equals the excess potential
     * of protein over ice times the envelope volume. */
    double sum = 0;
    size_t nenv = 0;
    for (size_t i = 0; i < nv; i++) {
        float v = m[i] > t ? (float)(m[i] - t) : 0.0f;
        if (v > 0) nenv++;
        sum += v;
        m[i] = v;
    }
    double k = cr_sim_protein_excess() * (double)nenv / sum;
    double r_map = support_radius(m, h.nx, h.ny, h.nz, 0.0f) * vm; /* Å */
    sp = calloc(1, sizeof *sp);
    if (!sp) {
        st = cr_fail(CR_ERR_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    int half = (int)ceil((r_map + vm) / apix) + 2;
    if (half > 400) {
        st = cr_fail(CR_ERR_ARG, "%s: a %.0f A map needs a box over 800^3 at %.3g A/px", path, 2 * r_map, apix);
        goto cleanup;
    }
    sp->n = 2 * half;
    sp->apix = apix;
    sp->radius = r_map + vm + apix;
    sp->mass_kda = (double)nenv * vm * vm * vm / 1.212 / 1000.0; /* 1.212 Å³/Da, as in atoms.c */
    sp->vol = calloc((size_t)sp->n * sp->n * sp->n, sizeof *sp->vol);
    if (!sp->vol) {
        st = cr_fail(CR_ERR_NOMEM, "%s: out of memory for a %d^3 specimen", path, sp->n);
        goto cleanup;
    }
    /* Resample: each target voxel is the average of s^3 trilinear samples
     * spread over it (a box filter that stops aliasing when the map is finer
     * than the micrograph). */
    int s = (int)ceil(apix / vm);
    if (s > 4) s = 4;
    for (int z = 0; z < sp->n; z++)
        for (int y = 0; y < sp->n; y++)
            for (int x = 0; x < sp->n; x++) {
                double acc = 0;
                for (int c = 0; c < s * s * s; c++) {
                    double ox = ((c % s) + 0.5) / s - 0.5, oy = ((c / s % s) + 0.5) / s - 0.5, oz = ((c / (s * s)) + 0.5) / s - 0.5;
                    double px = (x - half + ox) * apix / vm + h.nx / 2, py = (y - half + oy) * apix / vm + h.ny / 2,
                           pz = (z - half + oz) * apix / vm + h.nz / 2;
                    acc += trilinear(m, h.nx, h.ny, h.nz, px, py, pz);
                }
                sp->vol[((size_t)z * sp->n + y) * sp->n + x] = (float)(k * acc / (s * s * s));
            }
    snprintf(sp->desc, sizeof sp->desc, "map %s: %d x %d x %d at %.3g A, envelope above %.4g (~%.0f kDa), box %d^3 at %.3g A",
             path, h.nx, h.ny, h.nz, vm, t, sp->mass_kda, sp->n, apix);
    *out = sp;
    sp = NULL;
cleanup:
    free(m);
    free(shell);
    cr_specimen_free(sp);
    return st;
}
