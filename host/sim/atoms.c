/* Atoms -> excess Coulomb potential map, with element-dependent electron
 * scattering factors; the mean inner potentials of ice, protein and carbon
 * from the same factors; the interaction constant; PDB and mmCIF readers.
 *
 * Potential of one atom (Kirkland, "Advanced Computing in Electron
 * Microscopy", 2nd ed. 2010, eq. 5.9): V(r) = 2π a0 e ∫ f_e(q) e^{2πi q·r} d³q,
 * with a0 e = 0.529177 Å × 14.3996 V·Å = 7.6199 V·Å², f_e in Å, q = 2 sinθ/λ.
 * Peng et al. (Acta Cryst. A52 (1996) 257) fit f_e(s) = Σ a_i exp(-b_i s²)
 * with s = q/2, so each term is a_i exp(-(b_i/4) q²), whose 3D transform is a
 * normalised Gaussian of variance b_i/(8π²) per axis times a_i: every atom is
 * five normalised Gaussians with weights 2π a0 e a_i (V·Å³). A temperature
 * factor B adds to every b_i (f·exp(-B s²)). Each voxel gets the exact average
 * of these Gaussians over its cube (products of erf differences), so the
 * integral of the potential is exact at any pixel size. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fileutil.h"
#include "sim_internal.h"

/* a1..a5, b1..b5 (Å, Å²): International Tables Vol. C (2006) Table 4.3.2.2,
 * elastic electron scattering factors of neutral atoms, 0 < s < 2 Å⁻¹ (Peng
 * et al. 1996). OTHER uses sulfur's (see sim_internal.h). */
static const double cr_peng[CR_EL_COUNT][10] = {
    {0.0349, 0.1201, 0.1970, 0.0573, 0.1195, 0.5347, 3.5867, 12.3471, 18.9525, 38.6269}, /* H */
    {0.0893, 0.2563, 0.7570, 1.0487, 0.3575, 0.2465, 1.7100, 6.4094, 18.6113, 50.2523},  /* C */
    {0.1022, 0.3219, 0.7982, 0.8197, 0.1715, 0.2451, 1.7481, 6.1925, 17.3894, 48.1431},  /* N */
    {0.0974, 0.2921, 0.6910, 0.6990, 0.2039, 0.2067, 1.3815, 4.6943, 12.7105, 32.4726},  /* O */
    {0.2548, 0.6106, 1.4541, 2.3204, 0.8477, 0.2908, 1.8740, 8.5176, 24.3434, 63.2996},  /* P */
    {0.2497, 0.5628, 1.3899, 2.1865, 0.7715, 0.2681, 1.6711, 7.0267, 19.5377, 50.3888},  /* S */
    {0.2497, 0.5628, 1.3899, 2.1865, 0.7715, 0.2681, 1.6711, 7.0267, 19.5377, 50.3888},  /* other */
};
static const double cr_mass[CR_EL_COUNT] = {1.008, 12.011, 14.007, 15.999, 30.974, 32.06, 32.06};
/* United atoms: average bonded hydrogens per heavy atom in proteins (from the
 * average amino-acid composition, about C5.3 H7.8 N1.4 O1.5 S0.04 per residue:
 * CH/CH2/CH3 and NH groups carry nearly all of them). Approximate. */
static const double cr_implicit_h[CR_EL_COUNT] = {0.0, 1.1, 1.1, 0.2, 0.0, 0.3, 0.0};

#define CR_A0E 7.6199            /* a0 e, V·Å² (Kirkland 2010, Appendix C) */
#define CR_TWO_PI_A0E (2.0 * M_PI * CR_A0E)
#define CR_AVOGADRO 6.02214076e23
/* Temperature factor of every atom (Å²): a well-ordered protein. */
#define CR_ATOM_B 10.0
/* Partial specific volume of protein, 0.73 cm³/g = 1.212 Å³/Da: the volume of
 * ice an atom displaces is (its mass with its hydrogens) x this. */
#define CR_PROTEIN_VOL_PER_DA 1.212
/* Width (Å) of the Gaussian that spreads each atom's displaced volume: wide
 * enough that the sum is flat (≈ 1) inside the molecule. */
#define CR_EXCL_SIGMA 1.7

static double f0(int el) /* f_e(0), Å */
{
    double s = 0;
    for (int i = 0; i < 5; i++) s += cr_peng[el][i];
    return s;
}

double cr_sim_interaction_constant(double kv)
{
    /* σ = (2π / (λ V)) (m0c² + eV) / (2 m0c² + eV)  (Kirkland 2010, eq. 5.6),
     * V in volts, λ in Å: rad / (V·Å). 300 kV: 6.526e-4. */
    double v = kv * 1e3, mc2 = 510998.95; /* eV */
    return 2.0 * M_PI / (cr_electron_wavelength(kv) * v) * (mc2 + v) / (2.0 * mc2 + v);
}

double cr_sim_ice_potential(void)
{
    /* Water molecules per Å³ at 0.92 g/cm³ (vitreous ice), each O + 2 H as
     * neutral atoms: 4.5 V, within the 3.5-4.9 V range of measurements. */
    double n = 0.92 / 18.015 * CR_AVOGADRO * 1e-24;
    return n * CR_TWO_PI_A0E * (f0(CR_EL_O) + 2.0 * f0(CR_EL_H));
}

double cr_sim_protein_excess(void)
{
    /* Average residue C5.3 H7.8 N1.4 O1.5 S0.04 (116 Da) in 116 x 1.212 Å³:
     * 8.1 V for protein, so 3.6 V above ice. */
    double f = 5.3 * f0(CR_EL_C) + 7.8 * f0(CR_EL_H) + 1.4 * f0(CR_EL_N) + 1.5 * f0(CR_EL_O) + 0.04 * f0(CR_EL_S);
    double mass = 5.3 * 12.011 + 7.8 * 1.008 + 1.4 * 14.007 + 1.5 * 15.999 + 0.04 * 32.06;
    return CR_TWO_PI_A0E * f / (mass * CR_PROTEIN_VOL_PER_DA) - cr_sim_ice_potential();
}

double cr_sim_carbon_potential(void)
{
    /* Amorphous carbon film, 2.0 g/cm³: about 12 V. */
    double n = 2.0 / 12.011 * CR_AVOGADRO * 1e-24;
    return n * CR_TWO_PI_A0E * f0(CR_EL_C);
}

int cr_element_index(const char *sym)
{
    char s[3] = {0, 0, 0};
    int k = 0;
    while (*sym == ' ') sym++;
    for (; *sym && isalpha((unsigned char)*sym) && k < 2; sym++) s[k++] = (char)toupper((unsigned char)*sym);
    if (k == 2) s[1] = (char)toupper((unsigned char)s[1]);
    if (strcmp(s, "H") == 0 || strcmp(s, "D") == 0) return CR_EL_H;
    if (strcmp(s, "C") == 0) return CR_EL_C;
    if (strcmp(s, "N") == 0) return CR_EL_N;
    if (strcmp(s, "O") == 0) return CR_EL_O;
    if (strcmp(s, "P") == 0) return CR_EL_P;
    if (strcmp(s, "S") == 0) return CR_EL_S;
    return CR_EL_OTHER;
}

/* Average over the voxels [i - 1/2, i + 1/2] (units of h) of a normalised 1D
 * Gaussian of standard deviation sig centred at x0, for i in [i0, i0 + len). */
static void voxel_weights(double x0, double sig, double h, int i0, int len, double *w)
{
    double k = 1.0 / (sig * M_SQRT2);
    double prev = 0.5 * erfc(-((i0 - 0.5) * h - x0) * k);
    for (int j = 0; j < len; j++) {
        double next = 0.5 * erfc(-((i0 + j + 0.5) * h - x0) * k);
        w[j] = (next - prev) / h;
        prev = next;
    }
}

/* Adds amp x (normalised 3D Gaussian of sd sig at p, voxel-averaged) to vol. */
static void splat(float *vol, int n, double h, const double p[3], double sig, double amp)
{
    double w[3][64];
    int lo[3], len[3];
    double reach = 4.0 * sig + h;
    for (int a = 0; a < 3; a++) {
        int i0 = (int)floor((p[a] - reach) / h), i1 = (int)ceil((p[a] + reach) / h);
        if (i0 < 0) i0 = 0;
        if (i1 > n - 1) i1 = n - 1;
        if (i1 - i0 + 1 > 64) i1 = i0 + 63;
        lo[a] = i0;
        len[a] = i1 - i0 + 1;
        if (len[a] <= 0) return;
        voxel_weights(p[a], sig, h, i0, len[a], w[a]);
    }
    for (int z = 0; z < len[2]; z++) {
        double wz = amp * w[2][z];
        for (int y = 0; y < len[1]; y++) {
            double wzy = wz * w[1][y];
            float *row = vol + ((size_t)(lo[2] + z) * n + (lo[1] + y)) * n + lo[0];
            for (int x = 0; x < len[0]; x++) row[x] += (float)(wzy * w[0][x]);
        }
    }
}

cr_status cr_atoms_to_specimen(const cr_atom *atoms, int n, double apix, int implicit_h, const char *desc,
                               cr_specimen **out)
{
    cr_status st = CR_OK;
    float *excl = NULL;
    cr_specimen *sp = NULL;
    *out = NULL;
    if (n <= 0) return cr_fail(CR_ERR_FORMAT, "%s: no atoms", desc);
    double c[3] = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        c[0] += atoms[i].x;
        c[1] += atoms[i].y;
        c[2] += atoms[i].z;
    }
    for (int a = 0; a < 3; a++) c[a] /= n;
    double rmax = 0, mass = 0;
    int nother = 0;
    for (int i = 0; i < n; i++) {
        double dx = atoms[i].x - c[0], dy = atoms[i].y - c[1], dz = atoms[i].z - c[2];
        rmax = fmax(rmax, sqrt(dx * dx + dy * dy + dz * dz));
        mass += cr_mass[atoms[i].el] + (implicit_h ? cr_implicit_h[atoms[i].el] * cr_mass[CR_EL_H] : 0);
        if (atoms[i].el == CR_EL_OTHER) nother++;
    }
    double radius = rmax + 4.0 * CR_EXCL_SIGMA + apix;
    int half = (int)ceil(radius / apix) + 2;
    if (half > 400) return cr_fail(CR_ERR_ARG, "%s: molecule of radius %.0f A needs a box over 800^3 at %.3g A/px", desc, radius, apix);
    sp = calloc(1, sizeof *sp);
    if (!sp) return cr_fail(CR_ERR_NOMEM, "out of memory for the specimen");
    sp->n = 2 * half;
    sp->apix = apix;
    sp->radius = radius;
    sp->natoms = n;
    sp->mass_kda = mass / 1000.0;
    size_t nv = (size_t)sp->n * sp->n * sp->n;
    sp->vol = calloc(nv, sizeof *sp->vol);
    excl = calloc(nv, sizeof *excl);
    if (!sp->vol || !excl) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory for a %d^3 specimen map", sp->n);
        goto cleanup;
    }
    double origin = half * apix; /* molecule centre at voxel n/2 */
    for (int i = 0; i < n; i++) {
        const cr_atom *at = &atoms[i];
        double p[3] = {at->x - c[0] + origin, at->y - c[1] + origin, at->z - c[2] + origin};
        double nh = implicit_h ? cr_implicit_h[at->el] : 0.0;
        for (int g = 0; g < 5; g++) {
            double sig = sqrt((cr_peng[at->el][5 + g] + CR_ATOM_B) / (8.0 * M_PI * M_PI));
            splat(sp->vol, sp->n, apix, p, sig, CR_TWO_PI_A0E * cr_peng[at->el][g]);
            if (nh > 0) {
                double sh = sqrt((cr_peng[CR_EL_H][5 + g] + CR_ATOM_B) / (8.0 * M_PI * M_PI));
                splat(sp->vol, sp->n, apix, p, sh, nh * CR_TWO_PI_A0E * cr_peng[CR_EL_H][g]);
            }
        }
        double m = cr_mass[at->el] + nh * cr_mass[CR_EL_H];
        if (at->el != CR_EL_H) splat(excl, sp->n, apix, p, CR_EXCL_SIGMA, m * CR_PROTEIN_VOL_PER_DA);
    }
    /* Solvent flattening: the molecule displaces ice, so the excess over the
     * ice background is V_atoms - V_ice x (displaced fraction, at most 1). */
    double vice = cr_sim_ice_potential();
    for (size_t i = 0; i < nv; i++) sp->vol[i] -= (float)(vice * fmin(excl[i], 1.0));
    snprintf(sp->desc, sizeof sp->desc, "%s: %d atoms, %.0f kDa%s, box %d^3 at %.3g A", desc, n, sp->mass_kda,
             nother ? " (some elements approximated as S)" : "", sp->n, apix);
    *out = sp;
    sp = NULL;
cleanup:
    free(excl);
    cr_specimen_free(sp);
    return st;
}

static int is_water(const char *res)
{
    return strcmp(res, "HOH") == 0 || strcmp(res, "WAT") == 0 || strcmp(res, "DOD") == 0;
}

static cr_status push_atom(cr_atom **a, int *n, int *cap, double x, double y, double z, int el)
{
    if (*n == *cap) {
        int nc = *cap ? 2 * *cap : 4096;
        cr_atom *t = realloc(*a, (size_t)nc * sizeof *t);
        if (!t) return cr_fail(CR_ERR_NOMEM, "out of memory reading atoms");
        *a = t;
        *cap = nc;
    }
    (*a)[*n] = (cr_atom){(float)x, (float)y, (float)z, el};
    (*n)++;
    return CR_OK;
}

/* Copies columns [from, from + len) of line (1-based, PDB style) trimmed. */
static void pdb_field(const char *line, size_t ll, int from, int len, char *out)
{
    int k = 0;
    for (int i = from - 1; i < from - 1 + len && (size_t)i < ll; i++)
        if (line[i] != ' ' && line[i] != '\n' && line[i] != '\r') out[k++] = line[i];
    out[k] = 0;
}

static cr_status read_pdb(const char *path, char *text, cr_atom **a, int *n, int *cap)
{
    cr_status st = CR_OK;
    int lineno = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t ll = nl ? (size_t)(nl - line) : strlen(line);
        lineno++;
        if (ll >= 6 && strncmp(line, "ENDMDL", 6) == 0) break;
        if (ll >= 54 && (strncmp(line, "ATOM  ", 6) == 0 || strncmp(line, "HETATM", 6) == 0)) {
            char res[8], xs[16], ys[16], zs[16], el[8], name[8];
            char alt = line[16];
            pdb_field(line, ll, 18, 3, res);
            if ((alt == ' ' || alt == 'A') && !is_water(res)) {
                pdb_field(line, ll, 31, 8, xs);
                pdb_field(line, ll, 39, 8, ys);
                pdb_field(line, ll, 47, 8, zs);
                pdb_field(line, ll, 77, 2, el);
                if (!el[0]) { /* element from the atom name: letters of columns 13-14 */
                    pdb_field(line, ll, 13, 2, name);
                    snprintf(el, sizeof el, "%s", name);
                }
                char *e1, *e2, *e3;
                double x = strtod(xs, &e1), y = strtod(ys, &e2), z = strtod(zs, &e3);
                if (!xs[0] || *e1 || !ys[0] || *e2 || !zs[0] || *e3)
                    return cr_fail(CR_ERR_FORMAT, "%s: line %d: bad coordinates", path, lineno);
                CR_TRY(push_atom(a, n, cap, x, y, z, cr_element_index(el)));
            }
        }
        line = nl ? nl + 1 : NULL;
    }
cleanup:
    return st;
}

/* Splits a mmCIF line into at most max tokens ('...' and "..." quoted). */
static int cif_tokens(char *s, char **tok, int max)
{
    int k = 0;
    while (*s && k < max) {
        while (*s == ' ' || *s == '\t' || *s == '\r') s++;
        if (!*s || *s == '\n') break;
        if (*s == '\'' || *s == '"') {
            char q = *s++;
            tok[k++] = s;
            while (*s && !(*s == q && (s[1] == ' ' || s[1] == '\t' || s[1] == 0 || s[1] == '\n' || s[1] == '\r'))) s++;
        } else {
            tok[k++] = s;
            while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') s++;
        }
        if (*s) *s++ = 0;
    }
    return k;
}

static cr_status read_cif(const char *path, char *text, cr_atom **a, int *n, int *cap)
{
    cr_status st = CR_OK;
    enum { SYM, X, Y, Z, ALT, COMP, MODEL, NCOL };
    static const char *const want[NCOL] = {"type_symbol", "Cartn_x", "Cartn_y", "Cartn_z",
                                           "label_alt_id", "label_comp_id", "pdbx_PDB_model_num"};
    int col[NCOL], ncols = 0, in_loop = 0, in_rows = 0, first_model = -1, lineno = 0;
    char *tok[128];
    for (int i = 0; i < NCOL; i++) col[i] = -1;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        lineno++;
        if (strncmp(line, "loop_", 5) == 0) {
            if (in_rows) break;
            in_loop = 1;
            ncols = 0;
        } else if (in_loop && strncmp(line, "_atom_site.", 11) == 0) {
            char *name = line + 11;
            name[strcspn(name, " \t\r")] = 0;
            for (int i = 0; i < NCOL; i++)
                if (strcmp(name, want[i]) == 0) col[i] = ncols;
            ncols++;
        } else if (in_loop && ncols > 0 && line[0] != '_' && line[0] != '#' && line[0]) {
            if (col[X] < 0 || col[Y] < 0 || col[Z] < 0 || col[SYM] < 0)
                return cr_fail(CR_ERR_FORMAT, "%s: _atom_site lacks type_symbol or Cartn_x/y/z", path);
            if (ncols > 128) return cr_fail(CR_ERR_UNSUPPORTED, "%s: _atom_site has over 128 columns", path);
            in_rows = 1;
            if (strncmp(line, "data_", 5) == 0) break;
            int k = cif_tokens(line, tok, 128);
            if (k != ncols) return cr_fail(CR_ERR_FORMAT, "%s: line %d: %d values for %d _atom_site columns", path, lineno, k, ncols);
            int model = col[MODEL] >= 0 ? atoi(tok[col[MODEL]]) : 1;
            if (first_model < 0) first_model = model;
            const char *alt = col[ALT] >= 0 ? tok[col[ALT]] : ".";
            const char *comp = col[COMP] >= 0 ? tok[col[COMP]] : "";
            if (model == first_model && (strcmp(alt, ".") == 0 || strcmp(alt, "?") == 0 || strcmp(alt, "A") == 0) &&
                !is_water(comp)) {
                char *e1, *e2, *e3;
                double x = strtod(tok[col[X]], &e1), y = strtod(tok[col[Y]], &e2), z = strtod(tok[col[Z]], &e3);
                if (*e1 || *e2 || *e3) return cr_fail(CR_ERR_FORMAT, "%s: line %d: bad coordinates", path, lineno);
                CR_TRY(push_atom(a, n, cap, x, y, z, cr_element_index(tok[col[SYM]])));
            }
        } else if (in_rows) {
            break; /* the end of the _atom_site loop */
        } else if (line[0] == '_' && ncols > 0 && col[X] < 0) {
            in_loop = 0; /* a loop of another category */
            ncols = 0;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (!in_rows) return cr_fail(CR_ERR_FORMAT, "%s: no _atom_site loop", path);
cleanup:
    return st;
}

cr_status cr_atoms_read(const char *path, cr_atom **atoms, int *n, int *has_h)
{
    cr_status st = CR_OK;
    char *text = NULL;
    size_t len = 0;
    int cap = 0;
    *atoms = NULL;
    *n = 0;
    *has_h = 0;
    CR_TRY(cr_read_file(path, &text, &len));
    size_t pl = strlen(path);
    int cif = (pl > 4 && strcasecmp(path + pl - 4, ".cif") == 0) || (pl > 6 && strcasecmp(path + pl - 6, ".mmcif") == 0);
    if (cif)
        CR_TRY(read_cif(path, text, atoms, n, &cap));
    else
        CR_TRY(read_pdb(path, text, atoms, n, &cap));
    if (*n == 0) {
        st = cr_fail(CR_ERR_FORMAT, "%s: no atoms (expected %s)", path, cif ? "an _atom_site loop" : "ATOM/HETATM records");
        goto cleanup;
    }
    for (int i = 0; i < *n; i++)
        if ((*atoms)[i].el == CR_EL_H) *has_h = 1;
cleanup:
    free(text);
    if (st != CR_OK) {
        free(*atoms);
        *atoms = NULL;
        *n = 0;
    }
    return st;
}
