/* The micrograph view of a parsed STAR file: one row per micrograph with its
 * CTF parameters and pixel size (RELION 3.0 single table, or 3.1+ optics
 * groups merged in), plus micrograph path resolution and even/odd naming. */
#include "clrestore/npy.h"
#include "clrestore/star.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const CTF_COLUMNS[6] = {"_rlnDefocusU", "_rlnDefocusV", "_rlnDefocusAngle",
                                           "_rlnVoltage", "_rlnSphericalAberration",
                                           "_rlnAmplitudeContrast"};

static int col_of(const cr_star_table *t, const char *name)
{
    return t ? cr_star_col_index(t, name) : -1;
}

/* A number from the row table (row r), else from the optics row (orow), else
 * fallback; *found says whether either had the column. */
static cr_status pick(const cr_star_file *f, const cr_star_table *mt, int r,
                      const cr_star_table *ot, int orow, const char *name, double fallback,
                      double *out, int *found)
{
    int c = col_of(mt, name);
    *found = 1;
    if (c >= 0) return cr_star_get_double(f, mt, r, c, out);
    c = orow >= 0 ? col_of(ot, name) : -1;
    if (c >= 0) return cr_star_get_double(f, ot, orow, c, out);
    *found = 0;
    *out = fallback;
    return CR_OK;
}

/* Å/px: micrograph pixel size, else image pixel size, else detector pixel
 * (µm) / magnification; for each, the row table first. 0 when unknown. */
static cr_status pixel_size(const cr_star_file *f, const cr_star_table *mt, int r,
                            const cr_star_table *ot, int orow, double *apix)
{
    static const char *const direct[2] = {"_rlnMicrographPixelSize", "_rlnImagePixelSize"};
    double v, det, mag;
    int found, fd, fm;
    cr_status st;
    *apix = 0.0;
    for (int k = 0; k < 2; k++) {
        if ((st = pick(f, mt, r, ot, orow, direct[k], 0.0, &v, &found))) return st;
        if (found && v > 0) {
            *apix = v;
            return CR_OK;
        }
    }
    if ((st = pick(f, mt, r, ot, orow, "_rlnDetectorPixelSize", 0.0, &det, &fd))) return st;
    if ((st = pick(f, mt, r, ot, orow, "_rlnMagnification", 0.0, &mag, &fm))) return st;
    if (fd && fm && det > 0 && mag > 0) *apix = det * 1e4 / mag;
    return CR_OK;
}

cr_status cr_star_micrograph_table(const cr_star_file *f, const cr_star_table **out)
{
    const cr_star_table *t = cr_star_find_block(f, "micrographs");
    *out = NULL;
    if (t) {
        if (col_of(t, "_rlnMicrographName") < 0)
            return cr_fail(CR_ERR_NOT_FOUND, "%s: data_micrographs: missing column _rlnMicrographName",
                           cr_star_path(f));
        *out = t;
        return CR_OK;
    }
    for (int i = 0; i < cr_star_nblocks(f); i++) {
        t = cr_star_block(f, i);
        if (strcmp(cr_star_block_name(t), "optics") != 0 && col_of(t, "_rlnMicrographName") >= 0) {
            *out = t;
            return CR_OK;
        }
    }
    return cr_fail(CR_ERR_NOT_FOUND, "%s: missing column _rlnMicrographName (no data_micrographs "
                   "block and no other table has it)", cr_star_path(f));
}

void cr_micrograph_rows_free(cr_micrograph_row *rows, int n)
{
    if (!rows) return;
    for (int i = 0; i < n; i++) {
        free(rows[i].name);
        free(rows[i].name_even);
        free(rows[i].name_odd);
    }
    free(rows);
}

static char *dup_value(const cr_star_table *t, int r, int c)
{
    return c >= 0 ? strdup(cr_star_value(t, r, c)) : NULL;
}

/* The optics row for row r of mt (-1 when there is no optics table) and its group. */
static cr_status optics_row(const cr_star_file *f, const cr_star_table *mt, int r,
                            const cr_star_table *ot, const int *groups, int *orow, int *group)
{
    const char *path = cr_star_path(f);
    int c = col_of(mt, "_rlnOpticsGroup");
    cr_status st;
    *orow = -1;
    *group = 0;
    if (c >= 0 && (st = cr_star_get_int(f, mt, r, c, group))) return st;
    if (!ot) return CR_OK;
    if (c < 0) { /* no group column: fine when data_optics has a single row */
        if (cr_star_nrows(ot) != 1)
            return cr_fail(CR_ERR_NOT_FOUND, "%s: data_%s: missing column _rlnOpticsGroup "
                           "(data_optics defines %d groups)", path, cr_star_block_name(mt),
                           cr_star_nrows(ot));
        *orow = 0;
        *group = groups[0];
        return CR_OK;
    }
    for (int i = 0; i < cr_star_nrows(ot); i++)
        if (groups[i] == *group) {
            *orow = i;
            return CR_OK;
        }
    return cr_fail(CR_ERR_NOT_FOUND, "%s: data_%s: row %d (line %d): optics group %d is not "
                   "defined in data_optics", path, cr_star_block_name(mt), r + 1,
                   cr_star_row_line(mt, r), *group);
}

cr_status cr_star_micrographs(const cr_star_file *f, int need_ctf, cr_micrograph_row **rows_out,
                              int *n_out)
{
    const char *path = cr_star_path(f);
    const cr_star_table *mt = NULL, *ot = cr_star_find_block(f, "optics");
    cr_micrograph_row *rows = NULL;
    int *groups = NULL, n = 0;
    cr_status st = CR_OK;
    *rows_out = NULL;
    *n_out = 0;
    CR_TRY(cr_star_micrograph_table(f, &mt));
    if (ot && cr_star_nrows(ot) == 0) ot = NULL;
    if (need_ctf)
        for (int k = 0; k < 6; k++)
            if (col_of(mt, CTF_COLUMNS[k]) < 0 && col_of(ot, CTF_COLUMNS[k]) < 0) {
                st = cr_fail(CR_ERR_NOT_FOUND, "%s: data_%s: missing column %s (needed for CTF "
                             "phase flipping; use --no-phaseflip to go without)", path,
                             cr_star_block_name(mt), CTF_COLUMNS[k]);
                goto cleanup;
            }
    if (cr_star_nrows(mt) == 0) {
        st = cr_fail(CR_ERR_FORMAT, "%s: data_%s: the micrograph table has no rows", path,
                     cr_star_block_name(mt));
        goto cleanup;
    }
    if (ot) { /* group number of each optics row (1, 2, ... when unnumbered) */
        int gc = col_of(ot, "_rlnOpticsGroup");
        groups = calloc((size_t)cr_star_nrows(ot), sizeof *groups);
        if (!groups) { st = cr_fail(CR_ERR_NOMEM, "%s: out of memory", path); goto cleanup; }
        for (int i = 0; i < cr_star_nrows(ot); i++) {
            groups[i] = i + 1;
            if (gc >= 0) CR_TRY(cr_star_get_int(f, ot, i, gc, &groups[i]));
        }
    }
    n = cr_star_nrows(mt);
    rows = calloc((size_t)n, sizeof *rows);
    if (!rows) { st = cr_fail(CR_ERR_NOMEM, "%s: out of memory", path); goto cleanup; }
    int cname = col_of(mt, "_rlnMicrographName");
    int ceven = col_of(mt, "_rlnMicrographNameEven"), codd = col_of(mt, "_rlnMicrographNameOdd");
    for (int r = 0; r < n; r++) {
        cr_micrograph_row *m = &rows[r];
        int orow, found;
        m->source_row = r;
        m->name = dup_value(mt, r, cname);
        m->name_even = dup_value(mt, r, ceven);
        m->name_odd = dup_value(mt, r, codd);
        if (!m->name || (ceven >= 0 && !m->name_even) || (codd >= 0 && !m->name_odd)) {
            st = cr_fail(CR_ERR_NOMEM, "%s: out of memory", path);
            goto cleanup;
        }
        CR_TRY(optics_row(f, mt, r, ot, groups, &orow, &m->optics_group));
        double *dst[6] = {&m->defocus_u, &m->defocus_v, &m->defocus_angle, &m->voltage, &m->cs,
                          &m->amp_contrast};
        for (int k = 0; k < 6; k++) CR_TRY(pick(f, mt, r, ot, orow, CTF_COLUMNS[k], NAN, dst[k], &found));
        CR_TRY(pick(f, mt, r, ot, orow, "_rlnPhaseShift", 0.0, &m->phase_shift, &found));
        CR_TRY(pixel_size(f, mt, r, ot, orow, &m->apix));
    }
    *rows_out = rows;
    *n_out = n;
    rows = NULL;
cleanup:
    cr_micrograph_rows_free(rows, n);
    free(groups);
    return st;
}

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && !S_ISDIR(sb.st_mode);
}

cr_status cr_resolve_path(const char *star_path, const char *name, char *out, size_t outlen)
{
    if (cr_is_cs_path(star_path)) return cr_cs_resolve_path(star_path, name, out, outlen);
    const char *slash = strrchr(star_path, '/');
    int dirlen = slash ? (int)(slash - star_path) : 0;
    if (!*name) return cr_fail(CR_ERR_ARG, "%s: empty micrograph name", star_path);
    int n = (name[0] == '/' || !slash) ? snprintf(out, outlen, "%s", name)
                                      : snprintf(out, outlen, "%.*s/%s", dirlen, star_path, name);
    if (n < 0 || (size_t)n >= outlen)
        return cr_fail(CR_ERR_ARG, "%s: path of micrograph %s too long", star_path, name);
    if (is_file(out)) return CR_OK;
    if (name[0] == '/' || !slash || strcmp(out, name) == 0)
        return cr_fail(CR_ERR_NOT_FOUND, "%s: micrograph %s not found", star_path, out);
    if (is_file(name)) {
        snprintf(out, outlen, "%s", name); /* fits: shorter than the first try */
        return CR_OK;
    }
    return cr_fail(CR_ERR_NOT_FOUND, "%s: micrograph %s not found (tried %s beside the STAR file, "
                   "then %s in the working directory)", star_path, name, out, name);
}

/* The LAST occurrence of the first suffix in the base name is replaced:
 * MotionCor2 appends "_DW" at the end of the stem, while the rest of the name
 * (directories, session or grid names such as "DW_screen/...", "DWarf_01_DW")
 * can contain the same letters; the directory is never touched. */
cr_status cr_even_odd_names(const char *name, const char *suffixes, char *even, char *odd,
                            size_t len)
{
    char sfx[3][64];
    int k = 0;
    const char *s = suffixes;
    for (; k < 3; k++) {
        const char *comma = strchr(s, ',');
        size_t l = comma ? (size_t)(comma - s) : strlen(s);
        if (l == 0 || l >= sizeof sfx[k]) break;
        memcpy(sfx[k], s, l);
        sfx[k][l] = '\0';
        if (!comma) { k++; break; }
        if (k == 2) { k = -1; break; } /* a fourth suffix */
        s = comma + 1;
    }
    if (k != 3)
        return cr_fail(CR_ERR_ARG, "suffixes '%s': expected three non-empty names like DW,EVN,ODD",
                       suffixes);
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *hit = NULL;
    for (const char *p = strstr(base, sfx[0]); p; p = strstr(p + 1, sfx[0])) hit = p;
    if (!hit)
        return cr_fail(CR_ERR_NOT_FOUND, "%s: file name does not contain '%s' to replace by '%s' "
                       "and '%s' (even/odd suffixes %s)", name, sfx[0], sfx[1], sfx[2], suffixes);
    int pre = (int)(hit - name);
    const char *rest = hit + strlen(sfx[0]);
    int ne = snprintf(even, len, "%.*s%s%s", pre, name, sfx[1], rest);
    int no = snprintf(odd, len, "%.*s%s%s", pre, name, sfx[2], rest);
    if (ne < 0 || no < 0 || (size_t)ne >= len || (size_t)no >= len)
        return cr_fail(CR_ERR_ARG, "%s: even/odd name too long", name);
    return CR_OK;
}
