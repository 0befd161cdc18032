/* cryoSPARC exposure files (.cs) as micrograph lists: the records of a
 * structured array mapped onto the RELION 3.1 tables that the STAR path
 * reads, so prepare, denoise and snr see one kind of input. Field names and
 * units are cryoSPARC's (cryosparc-tools' exposure schema): micrograph_blob/
 * path, psize_A; ctf/df1_A, df2_A (Å), df_angle_rad, phase_shift_rad
 * (radians), accel_kv, cs_mm, amp_contrast. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clrestore/npy.h"

#define RAD2DEG (180.0 / 3.14159265358979323846)

int cr_is_cs_path(const char *path)
{
    size_t n = strlen(path);
    return n > 3 && strcmp(path + n - 3, ".cs") == 0;
}

enum { F_PATH, F_PSIZE, F_DF1, F_DF2, F_ANGLE, F_KV, F_CS, F_AC, F_PHASE, NF };
static const char *const FIELD[NF] = {"micrograph_blob/path",
                                      "micrograph_blob/psize_A",
                                      "ctf/df1_A",
                                      "ctf/df2_A",
                                      "ctf/df_angle_rad",
                                      "ctf/accel_kv",
                                      "ctf/cs_mm",
                                      "ctf/amp_contrast",
                                      "ctf/phase_shift_rad"};

/* One row's numbers: NAN where the field is absent. */
static cr_status row_numbers(const cr_npy *a, const int *fi, size_t r, double *v)
{
    for (int k = F_PSIZE; k < NF; k++) {
        v[k] = NAN;
        if (fi[k] < 0) continue;
        cr_status st = cr_npy_get_double(a, r, fi[k], 0, &v[k]);
        if (st) return st;
        if (!isfinite(v[k]))
            return cr_fail(CR_ERR_FORMAT, "%s: row %zu: %s is %g", a->path, r + 1, FIELD[k], v[k]);
    }
    if (fi[F_PSIZE] >= 0 && !(v[F_PSIZE] > 0))
        return cr_fail(CR_ERR_FORMAT, "%s: row %zu: %s is %g; expected a positive pixel size", a->path, r + 1,
                       FIELD[F_PSIZE], v[F_PSIZE]);
    return CR_OK;
}

static cr_status set_num(cr_star_file *f, cr_star_table *t, int row, int col, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", v); /* round-trips every double */
    return cr_star_set_value(f, t, row, col, buf);
}

cr_status cr_cs_to_star(const cr_npy *a, int need_ctf, cr_star_file **out)
{
    cr_status st = CR_OK;
    cr_star_file *f = NULL;
    cr_star_table *ot = NULL, *mt = NULL;
    double *groups = NULL; /* (ngroups, 4): pixel size, kV, Cs, amplitude contrast */
    int fi[NF], ngroups = 0, has_ctf = 1;
    char name[4096];
    *out = NULL;
    for (int k = 0; k < NF; k++)
        fi[k] = cr_npy_field_index(a, FIELD[k]);
    if (fi[F_PATH] < 0)
        return cr_fail(CR_ERR_NOT_FOUND,
                       "%s: no field micrograph_blob/path: not a cryoSPARC exposure file "
                       "(export the exposures of a Patch Motion or CTF job, not particles)",
                       a->path);
    for (int k = F_DF1; k <= F_AC; k++)
        if (fi[k] < 0) {
            if (need_ctf)
                return cr_fail(CR_ERR_NOT_FOUND,
                               "%s: no field %s (needed for CTF phase flipping; use the "
                               "exposures of a CTF estimation job, or --no-phaseflip)",
                               a->path, FIELD[k]);
            has_ctf = 0;
        }
    if (a->nrows == 0) return cr_fail(CR_ERR_FORMAT, "%s: no exposures", a->path);
    if (a->nrows > 100000000) return cr_fail(CR_ERR_UNSUPPORTED, "%s: %zu exposures", a->path, a->nrows);
    int n = (int)a->nrows;
    groups = calloc((size_t)n * 4, sizeof *groups);
    if (!groups) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", a->path);
    CR_TRY(cr_star_new(&f));
    CR_TRY(cr_star_set_path(f, a->path));
    CR_TRY(cr_star_add_table(f, "optics", 1, &ot));
    CR_TRY(cr_star_add_table(f, "micrographs", 1, &mt));
    static const char *const OCOLS[] = {"_rlnOpticsGroupName",     "_rlnOpticsGroup",
                                        "_rlnMicrographPixelSize", "_rlnVoltage",
                                        "_rlnSphericalAberration", "_rlnAmplitudeContrast"};
    static const char *const MCOLS[] = {"_rlnMicrographName", "_rlnOpticsGroup",  "_rlnDefocusU",
                                        "_rlnDefocusV",       "_rlnDefocusAngle", "_rlnPhaseShift"};
    /* optics columns only for the fields the file has: an empty value would not be a number */
    static const int OFIELD[4] = {F_PSIZE, F_KV, F_CS, F_AC};
    int oc[6] = {-1, -1, -1, -1, -1, -1}, mc[6];
    for (int k = 0; k < 6; k++)
        if (k < 2 || fi[OFIELD[k - 2]] >= 0) CR_TRY(cr_star_add_column(f, ot, OCOLS[k], &oc[k]));
    for (int k = 0; k < (has_ctf ? 6 : 2); k++)
        CR_TRY(cr_star_add_column(f, mt, MCOLS[k], &mc[k]));
    for (int r = 0; r < n; r++) {
        double v[NF];
        CR_TRY(row_numbers(a, fi, (size_t)r, v));
        CR_TRY(cr_npy_get_string(a, (size_t)r, fi[F_PATH], name, sizeof name));
        if (!name[0]) {
            st = cr_fail(CR_ERR_FORMAT, "%s: row %d: empty micrograph_blob/path", a->path, r + 1);
            goto cleanup;
        }
        /* optics groups: distinct (pixel size, kV, Cs, amplitude contrast), in order of appearance */
        double key[4] = {v[F_PSIZE], v[F_KV], v[F_CS], v[F_AC]};
        int g = 0;
        for (; g < ngroups; g++) {
            int same = 1;
            for (int k = 0; k < 4; k++)
                same &= (isnan(key[k]) && isnan(groups[4 * g + k])) || key[k] == groups[4 * g + k];
            if (same) break;
        }
        if (g == ngroups) {
            memcpy(&groups[4 * ngroups++], key, sizeof key);
            int orow;
            char gname[32];
            CR_TRY(cr_star_append_row(f, ot, NULL, &orow));
            snprintf(gname, sizeof gname, "opticsGroup%d", g + 1);
            CR_TRY(cr_star_set_value(f, ot, orow, oc[0], gname));
            CR_TRY(set_num(f, ot, orow, oc[1], g + 1));
            for (int k = 0; k < 4; k++)
                if (oc[2 + k] >= 0) CR_TRY(set_num(f, ot, orow, oc[2 + k], key[k]));
        }
        int row;
        CR_TRY(cr_star_append_row(f, mt, NULL, &row));
        CR_TRY(cr_star_set_value(f, mt, row, mc[0], name));
        CR_TRY(set_num(f, mt, row, mc[1], g + 1));
        if (has_ctf) {
            CR_TRY(set_num(f, mt, row, mc[2], v[F_DF1]));
            CR_TRY(set_num(f, mt, row, mc[3], v[F_DF2]));
            CR_TRY(set_num(f, mt, row, mc[4], v[F_ANGLE] * RAD2DEG));
            CR_TRY(set_num(f, mt, row, mc[5], isnan(v[F_PHASE]) ? 0.0 : v[F_PHASE] * RAD2DEG));
        }
    }
    *out = f;
    f = NULL;
cleanup:
    free(groups);
    cr_star_free(f);
    return st;
}

cr_status cr_micrograph_list_read(const char *path, int need_ctf, cr_star_file **out)
{
    *out = NULL;
    if (!cr_is_cs_path(path)) return cr_star_read(path, out);
    cr_npy *a = NULL;
    cr_status st = cr_npy_read(path, &a);
    if (st == CR_OK) st = cr_cs_to_star(a, need_ctf, out);
    cr_npy_free(a);
    return st;
}

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && !S_ISDIR(sb.st_mode);
}

cr_status cr_cs_resolve_path(const char *cs_path, const char *name, char *out, size_t outlen)
{
    if (!*name) return cr_fail(CR_ERR_ARG, "%s: empty micrograph name", cs_path);
    if (name[0] == '/') {
        if ((size_t)snprintf(out, outlen, "%s", name) >= outlen)
            return cr_fail(CR_ERR_ARG, "%s: path of micrograph %s too long", cs_path, name);
        if (is_file(out)) return CR_OK;
        return cr_fail(CR_ERR_NOT_FOUND, "%s: micrograph %s not found", cs_path, name);
    }
    char dir[4096], parent[4096];
    const char *slash = strrchr(cs_path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - cs_path) : 1, slash ? cs_path : ".");
    const char *ps = strrchr(dir, '/');
    if (ps)
        snprintf(parent, sizeof parent, "%.*s", (int)(ps - dir), dir);
    else
        snprintf(parent, sizeof parent, "%s", strcmp(dir, ".") == 0 ? ".." : ".");
    const char *tries[3] = {dir, parent, "."};
    for (int k = 0; k < 3; k++) {
        int m = snprintf(out, outlen, "%s/%s", tries[k], name);
        if (m < 0 || (size_t)m >= outlen)
            return cr_fail(CR_ERR_ARG, "%s: path of micrograph %s too long", cs_path, name);
        if (is_file(out)) {
            if (k == 2) snprintf(out, outlen, "%s", name);
            return CR_OK;
        }
    }
    return cr_fail(CR_ERR_NOT_FOUND,
                   "%s: micrograph %s not found (tried beside the .cs file in %s, in the project "
                   "directory %s, and in the working directory)",
                   cs_path, name, dir, parent);
}
