/* cryoSPARC .cs exposure files: values read back through the micrograph list
 * equal the ones cryosparc-tools wrote (tests/fixtures/cs/, made by
 * make_cs_fixtures.py from the same Dataset), the raw .npy accessors, the
 * project-relative path search, and bad input: every truncation and many
 * header corruptions of the real file give an error naming it, never a crash. */
#include <sys/stat.h>
#include <unistd.h>

#include "clrestore/fileutil.h"
#include "clrestore/npy.h"
#include "testutil.h"

static char fixdir[4096];

static int contains(const char *s, const char *sub)
{
    return s && strstr(s, sub) != NULL;
}

static char *slurp(const char *name, size_t *len)
{
    char path[4200], *data = NULL;
    snprintf(path, sizeof path, "%s/%s", fixdir, name);
    if (cr_read_file(path, &data, len) != CR_OK) {
        fprintf(stderr, "FAIL: cannot read fixture %s: %s\n", path, cr_error_message());
        test_failures++;
        return NULL;
    }
    return data;
}

/* One expected line: 'path' then 10 numbers. */
typedef struct expected_row {
    char path[512];
    double v[10]; /* psize df1 df2 angle_deg kv cs ac phase_deg shape0 shape1 */
} expected_row;

static int read_expected(expected_row *rows, int max)
{
    char path[4200], line[2048];
    snprintf(path, sizeof path, "%s/exposures_expected.txt", fixdir);
    FILE *fp = fopen(path, "r");
    int n = 0;
    if (!fp) return 0;
    while (n < max && fgets(line, sizeof line, fp)) {
        if (line[0] != '\'') continue;
        char *q = strchr(line + 1, '\'');
        if (!q) break;
        snprintf(rows[n].path, sizeof rows[n].path, "%.*s", (int)(q - line - 1), line + 1);
        char *s = q + 1;
        for (int k = 0; k < 10; k++)
            rows[n].v[k] = strtod(s, &s);
        n++;
    }
    fclose(fp);
    return n;
}

static void test_values_read_back(void)
{
    expected_row ex[8];
    int nex = read_expected(ex, 8);
    CHECK(nex == 3);
    char path[4200];
    snprintf(path, sizeof path, "%s/exposures.cs", fixdir);
    cr_star_file *f = NULL;
    cr_micrograph_row *rows = NULL;
    int n = 0;
    CHECK_OK(cr_micrograph_list_read(path, 1, &f));
    if (!f) return;
    CHECK(strcmp(cr_star_path(f), path) == 0);
    CHECK_OK(cr_star_micrographs(f, 1, &rows, &n));
    CHECK(n == nex);
    for (int i = 0; i < n && i < nex; i++) {
        const cr_micrograph_row *r = &rows[i];
        CHECK_MSG(strcmp(r->name, ex[i].path) == 0, "row %d: %s", i, r->name);
        /* exact: float32 values, carried as doubles with 17 digits */
        const double got[8] = {r->apix,    r->defocus_u, r->defocus_v,    r->defocus_angle,
                               r->voltage, r->cs,        r->amp_contrast, r->phase_shift};
        for (int k = 0; k < 8; k++)
            CHECK_MSG(got[k] == ex[i].v[k], "row %d value %d: %.17g, cryosparc-tools wrote %.17g", i, k,
                      got[k], ex[i].v[k]);
        CHECK(r->name_even == NULL && r->name_odd == NULL);
    }
    /* two optics groups: (0.83 A, 300 kV, 2.7 mm, 0.1) and (1.06 A, 200 kV, 0.01 mm, 0.07) */
    if (n == 3) CHECK(rows[0].optics_group == 1 && rows[1].optics_group == 1 && rows[2].optics_group == 2);
    CHECK(cr_star_nrows(cr_star_find_block(f, "optics")) == 2);
    cr_micrograph_rows_free(rows, n);
    cr_star_free(f);

    /* the raw accessors on the same file */
    cr_npy *a = NULL;
    CHECK_OK(cr_npy_read(path, &a));
    if (!a) return;
    CHECK(a->nrows == 3);
    CHECK(a->nfields == 23); /* 22 written + cryosparc-tools' uid */
    int shape = cr_npy_field_index(a, "micrograph_blob/shape"), type = cr_npy_field_index(a, "ctf/type");
    int uid = cr_npy_field_index(a, "uid");
    CHECK(shape >= 0 && type >= 0 && uid == 0);
    double s0 = 0, s1 = 0, u = 0;
    char str[64] = "";
    CHECK_OK(cr_npy_get_double(a, 2, shape, 0, &s0));
    CHECK_OK(cr_npy_get_double(a, 2, shape, 1, &s1));
    CHECK(s0 == ex[2].v[8] && s1 == ex[2].v[9]);
    CHECK_OK(cr_npy_get_double(a, 0, uid, 0, &u));
    CHECK(u > 0);
    CHECK_OK(cr_npy_get_string(a, 1, type, str, sizeof str));
    CHECK(strcmp(str, "spline") == 0);
    CHECK(cr_npy_get_double(a, 0, type, 0, &u) == CR_ERR_FORMAT);
    CHECK(cr_npy_get_double(a, 3, shape, 0, &u) == CR_ERR_ARG);
    CHECK(cr_npy_get_double(a, 0, shape, 2, &u) == CR_ERR_ARG);
    cr_npy_free(a);
}

/* Replaces the first occurrence of from by to (same length) in a copy. */
static char *patched(const char *data, size_t len, const char *from, const char *to)
{
    char *c = malloc(len);
    memcpy(c, data, len);
    size_t fl = strlen(from);
    for (size_t i = 0; i + fl <= len; i++)
        if (memcmp(c + i, from, fl) == 0) {
            memcpy(c + i, to, fl);
            return c;
        }
    free(c);
    return NULL;
}

static cr_status list_from_bytes(const char *data, size_t len, int need_ctf, cr_star_file **f)
{
    cr_npy *a = NULL;
    *f = NULL;
    cr_status st = cr_npy_parse(data, len, "bad.cs", &a);
    if (!st) st = cr_cs_to_star(a, need_ctf, f);
    cr_npy_free(a);
    return st;
}

static void test_bad_input(void)
{
    size_t len = 0, clen = 0;
    char *data = slurp("exposures.cs", &len), *csdat = slurp("exposures_csdat.cs", &clen);
    cr_star_file *f = NULL;
    cr_npy *a = NULL;
    if (!data || !csdat) goto done;

    CHECK(cr_npy_parse(csdat, clen, "c.cs", &a) == CR_ERR_UNSUPPORTED);
    CHECK(contains(cr_error_message(), "c.cs: ") && contains(cr_error_message(), "CSDAT"));

    /* every truncation is an error naming the file */
    int bad_trunc = 0;
    for (size_t n = 0; n < len; n++) {
        cr_error_clear();
        cr_status st = cr_npy_parse(data, n, "t.cs", &a);
        if (st == CR_OK || strncmp(cr_error_message(), "t.cs: ", 6) != 0) bad_trunc++;
        cr_npy_free(a);
        a = NULL;
    }
    CHECK_MSG(bad_trunc == 0, "%d truncations accepted or unnamed", bad_trunc);

    /* header bytes replaced by syntax characters: an error or a valid parse, never a crash */
    size_t hend = 10 + ((unsigned char)data[8] | (unsigned char)data[9] << 8);
    static const char subst[] = "(){}[],:'\"0 9<|S";
    char *c = malloc(len);
    for (size_t i = 6; i < hend && c; i++)
        for (const char *s = subst; *s; s++) {
            memcpy(c, data, len);
            c[i] = *s;
            cr_status st = list_from_bytes(c, len, 1, &f);
            if (st != CR_OK)
                CHECK_MSG(contains(cr_error_message(), "bad.cs: "), "byte %zu: %s", i, cr_error_message());
            cr_star_free(f);
            f = NULL;
        }
    free(c);

    /* a particle file (no micrograph paths), a missing CTF field, a NaN, pickled objects */
    c = patched(data, len, "micrograph_blob/path", "micrograph_blob/patX");
    CHECK(list_from_bytes(c, len, 0, &f) == CR_ERR_NOT_FOUND &&
          contains(cr_error_message(), "micrograph_blob/path"));
    free(c);
    c = patched(data, len, "'ctf/df1_A'", "'ctf/df1_X'");
    CHECK(list_from_bytes(c, len, 1, &f) == CR_ERR_NOT_FOUND && contains(cr_error_message(), "ctf/df1_A"));
    CHECK_OK(list_from_bytes(c, len, 0, &f)); /* without phase flipping the CTF is not needed */
    cr_micrograph_row *rows = NULL;
    int n = 0;
    if (f) CHECK_OK(cr_star_micrographs(f, 0, &rows, &n));
    CHECK(n == 3 && rows && isnan(rows[0].defocus_u) && rows[0].apix > 0.82 && rows[0].apix < 0.84);
    cr_micrograph_rows_free(rows, n);
    cr_star_free(f);
    f = NULL;
    free(c);
    CHECK_OK(cr_npy_parse(data, len, "x.cs", &a));
    if (a) {
        size_t off = a->fields[cr_npy_field_index(a, "ctf/df1_A")].offset + a->itemsize; /* row 2 */
        size_t at = (size_t)(a->data - a->buf) + off;
        c = malloc(len);
        memcpy(c, data, len);
        memcpy(c + at, "\x00\x00\xc0\x7f", 4); /* float32 NaN */
        CHECK(list_from_bytes(c, len, 1, &f) == CR_ERR_FORMAT &&
              contains(cr_error_message(), "row 2: ctf/df1_A"));
        free(c);
    }
    cr_npy_free(a);
    a = NULL;
    c = patched(data, len, "'|S7'", "'|O7'");
    CHECK(list_from_bytes(c, len, 1, &f) == CR_ERR_UNSUPPORTED && contains(cr_error_message(), "ctf/type"));
    free(c);
    c = patched(data, len, "'descr': [", "'descr': '<");
    CHECK(c && list_from_bytes(c, len, 1, &f) != CR_OK);
    free(c);
done:
    free(data);
    free(csdat);
}

/* numpy's own writer, format 2.0: byte orders, float16, int16, bool, unicode, 2x2 sub-arrays */
static void test_numpy_types(void)
{
    char path[4200], line[1024];
    snprintf(path, sizeof path, "%s/numpy_types.npy", fixdir);
    cr_npy *a = NULL;
    CHECK_OK(cr_npy_read(path, &a));
    snprintf(path, sizeof path, "%s/numpy_types_expected.txt", fixdir);
    FILE *fp = fopen(path, "r");
    CHECK(fp != NULL);
    if (!a || !fp) goto done;
    CHECK(a->nrows == 3 && a->nfields == 6 && a->itemsize == 8 + 2 + 2 + 1 + 24 + 16);
    size_t r = 0;
    while (fgets(line, sizeof line, fp) && r < a->nrows) {
        if (line[0] == '#') continue;
        char *s = line, *q;
        double want[4], got = 0;
        for (int k = 0; k < 4; k++)
            want[k] = strtod(s, &s);
        for (int k = 0; k < 4; k++) {
            CHECK_OK(cr_npy_get_double(a, r, k, 0, &got));
            CHECK_MSG(got == want[k], "row %zu field %d: %.17g, numpy wrote %.17g", r, k, got, want[k]);
        }
        s = strchr(s, '\'') + 1;
        q = strchr(s, '\'');
        char str[16] = "";
        CHECK_OK(cr_npy_get_string(a, r, 4, str, sizeof str));
        CHECK_MSG(strlen(str) == (size_t)(q - s) && strncmp(str, s, (size_t)(q - s)) == 0, "row %zu: '%s'", r,
                  str);
        s = q + 1;
        for (size_t e = 0; e < 4; e++) {
            double w = strtod(s, &s);
            CHECK_OK(cr_npy_get_double(a, r, 5, e, &got));
            CHECK_MSG(got == w, "row %zu f[%zu]: %.17g, numpy wrote %.17g", r, e, got, w);
        }
        r++;
    }
    CHECK(r == 3);
    /* a string field asked for a number (and the reverse) is an error, not a read of its bytes */
    double d = 0;
    char str[16];
    CHECK(cr_npy_get_double(a, 0, 4, 0, &d) == CR_ERR_FORMAT);
    CHECK(cr_npy_get_string(a, 0, 0, str, sizeof str) == CR_ERR_FORMAT);
done:
    if (fp) fclose(fp);
    cr_npy_free(a);
}

static void touch(const char *p)
{
    FILE *fp = fopen(p, "w");
    if (fp) fclose(fp);
}

/* cryoSPARC names are relative to the project; the .cs lies in PROJECT/Jnn/. */
static void test_project_paths(void)
{
    char tmpl[] = "/tmp/cr_cs_XXXXXX", p[4200], out[4200];
    if (!mkdtemp(tmpl)) return;
    snprintf(p, sizeof p, "%s/J2", tmpl);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/J2/motioncorrected", tmpl);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/J2/motioncorrected/a_DW.mrc", tmpl);
    touch(p);
    snprintf(p, sizeof p, "%s/J2/beside.mrc", tmpl);
    touch(p);
    char cs[4200];
    snprintf(cs, sizeof cs, "%s/J2/J2_exposures.cs", tmpl);
    CHECK_OK(cr_resolve_path(cs, "J2/motioncorrected/a_DW.mrc", out, sizeof out));
    snprintf(p, sizeof p, "%s/J2/J2/motioncorrected/a_DW.mrc", tmpl);
    CHECK(strstr(out, "/J2/motioncorrected/a_DW.mrc") && strcmp(out, p) != 0);
    CHECK_OK(cr_resolve_path(cs, "beside.mrc", out, sizeof out));
    CHECK(cr_resolve_path(cs, "J9/none.mrc", out, sizeof out) == CR_ERR_NOT_FOUND);
    CHECK(contains(cr_error_message(), "J2_exposures.cs: ") &&
          contains(cr_error_message(), "project directory"));
    snprintf(p, sizeof p, "rm -rf '%s'", tmpl);
    CHECK(system(p) == 0);
}

int main(void)
{
    const char *src = getenv("CLRESTORE_TEST_SRC");
    snprintf(fixdir, sizeof fixdir, "%s/fixtures/cs", src ? src : "tests");
    test_values_read_back();
    test_numpy_types();
    test_bad_input();
    test_project_paths();
    return test_finish("test_cs_exposures");
}
