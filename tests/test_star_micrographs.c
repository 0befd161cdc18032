/* The micrograph view of STAR files: optics merging and pixel-size rules on the
 * shared RELION files, synthetic error cases, path resolution and even/odd
 * naming. */
#include <sys/stat.h>
#include <unistd.h>

#include "clrestore/star.h"
#include "testutil.h"

static int contains(const char *s, const char *sub) { return s && strstr(s, sub) != NULL; }

static cr_status micrographs_of(const char *root, const char *rel, int need_ctf,
                                cr_micrograph_row **rows, int *n)
{
    char path[4096];
    cr_star_file *f = NULL;
    snprintf(path, sizeof path, "%s/star/%s", root, rel);
    *rows = NULL;
    *n = 0;
    cr_status st = cr_star_read(path, &f);
    if (!st) st = cr_star_micrographs(f, need_ctf, rows, n);
    cr_star_free(f);
    return st;
}

static void test_shared_micrographs(const char *root)
{
    cr_micrograph_row *r = NULL, *r2 = NULL;
    int n = 0, n2 = 0;

    /* six optics groups, out of order; group 6 has its own micrograph pixel size */
    const double apix6[7] = {0, 1.25, 1.24, 1.25, 1.25, 1.24, 1.035};
    const int count6[7] = {0, 48, 29, 5, 7, 26, 24};
    int seen6[7] = {0};
    CHECK_OK(micrographs_of(root, "cryodrgn_relion31.6opticsgroups.star", 1, &r, &n));
    CHECK(n == 139);
    for (int i = 0; i < n; i++) {
        int g = r[i].optics_group;
        CHECK_MSG(g >= 1 && g <= 6, "row %d group %d", i, g);
        if (g < 1 || g > 6) continue;
        seen6[g]++;
        CHECK_NEAR(r[i].apix, apix6[g], 1e-9);
        CHECK_NEAR(r[i].voltage, 200.0, 1e-9);
        CHECK_NEAR(r[i].cs, g == 4 ? 2.6 : 2.7, 1e-9);
    }
    for (int g = 1; g <= 6; g++) CHECK_MSG(seen6[g] == count6[g], "group %d: %d rows", g, seen6[g]);
    if (n > 0) {
        CHECK(strcmp(r[0].name, "MotionCorr/job002/Micrographs/0003.mrc") == 0);
        CHECK_NEAR(r[0].defocus_v, 8905.919375, 1e-9);
        CHECK_NEAR(r[0].phase_shift, 0.0, 0.0);
        CHECK(r[0].name_even == NULL && r[0].name_odd == NULL);
    }
    cr_micrograph_rows_free(r, n);

    /* two optics groups: rows 0-7 in group 1 (300 kV), rows 8-16 in group 2 (200 kV) */
    CHECK_OK(micrographs_of(root, "aspire_sample_particles_relion31.star", 1, &r, &n));
    CHECK(n == 17);
    for (int i = 0; i < n; i++) {
        CHECK(r[i].optics_group == (i < 8 ? 1 : 2));
        CHECK_NEAR(r[i].voltage, i < 8 ? 300.0 : 200.0, 1e-9);
        CHECK_NEAR(r[i].apix, 1.4, 1e-9);
        CHECK_NEAR(r[i].amp_contrast, 0.1, 1e-9);
    }
    cr_micrograph_rows_free(r, n);

    /* no CTF columns: fine without phase flipping, an error with it */
    CHECK_OK(micrographs_of(root, "magellon_micassess_relion31.star", 0, &r, &n));
    CHECK(n == 3);
    for (int i = 0; i < n; i++) {
        CHECK_NEAR(r[i].apix, 0.832, 1e-12);
        CHECK_NEAR(r[i].voltage, 300.0, 1e-12);
        CHECK(isnan(r[i].defocus_u));
    }
    if (n == 3) CHECK(strcmp(r[2].name, "micrographs/session_003.mrc") == 0);
    cr_micrograph_rows_free(r, n);
    cr_status st = micrographs_of(root, "magellon_micassess_relion31.star", 1, &r, &n);
    CHECK(st == CR_ERR_NOT_FOUND && r == NULL);
    CHECK_MSG(contains(cr_error_message(), "magellon_micassess_relion31.star: data_micrographs: missing column _rlnDefocusU") &&
                  contains(cr_error_message(), "--no-phaseflip"),
              "message: %s", cr_error_message());
    st = micrographs_of(root, "aspire_sample_incomplete_ctf_params.star", 1, &r, &n);
    CHECK(st == CR_ERR_NOT_FOUND);
    CHECK_MSG(contains(cr_error_message(), "missing column _rlnVoltage"), "message: %s", cr_error_message());

    /* block order reversed: same rows */
    CHECK_OK(micrographs_of(root, "cryodrgn_relion31.star", 1, &r, &n));
    CHECK_OK(micrographs_of(root, "cryodrgn_relion31.v2.star", 1, &r2, &n2));
    CHECK(n == 5 && n2 == 5);
    for (int i = 0; i < n && i < n2; i++) {
        CHECK(strcmp(r[i].name, r2[i].name) == 0);
        CHECK_NEAR(r2[i].apix, 2.806, 1e-12);
        CHECK_NEAR(r2[i].voltage, 300.0, 1e-12);
        CHECK_NEAR(r2[i].cs, 0.01, 1e-12);
        CHECK(r[i].apix == r2[i].apix && r[i].defocus_u == r2[i].defocus_u && r2[i].optics_group == 1);
    }
    cr_micrograph_rows_free(r, n);
    cr_micrograph_rows_free(r2, n2);

    /* RELION 3.0: detector pixel (µm) * 1e4 / magnification */
    CHECK_OK(micrographs_of(root, "topaz_EMPIAR-10025_ctf_params.star", 1, &r, &n));
    CHECK(n == 30);
    for (int i = 0; i < n; i++) {
        CHECK_NEAR(r[i].apix, 0.6575, 1e-4);
        CHECK(r[i].optics_group == 0 && r[i].phase_shift == 0.0);
    }
    if (n == 30) {
        CHECK_NEAR(r[0].defocus_u, 14905.809570, 1e-9);
        CHECK_NEAR(r[0].defocus_v, 15058.5, 1e-9);
        CHECK_NEAR(r[0].defocus_angle, -0.22, 1e-12);
        CHECK_NEAR(r[0].cs, 2.7, 1e-12);
        CHECK(strcmp(r[29].name, "14sep05c_c_00007gr_00013sq_00014hl_00004es_c.mrc") == 0);
    }
    cr_micrograph_rows_free(r, n);
    CHECK_OK(micrographs_of(root, "cryodrgn_empiar_10076_7.star", 1, &r, &n));
    CHECK(n == 7);
    for (int i = 0; i < n; i++) CHECK_NEAR(r[i].apix, 5e4 / 38168.0, 1e-12);
    if (n == 7) CHECK(strcmp(r[6].name, "7") == 0 && r[6].source_row == 6);
    cr_micrograph_rows_free(r, n);

    /* RELION 5 particles (no even/odd columns in any shared file) */
    CHECK_OK(micrographs_of(root, "cryodrgn_relion5.star", 1, &r, &n));
    CHECK(n == 17);
    for (int i = 0; i < n; i++) {
        CHECK_NEAR(r[i].voltage, 100.0, 1e-12);
        CHECK_NEAR(r[i].apix, 0.89, 1e-12);
        CHECK(r[i].name_even == NULL);
    }
    cr_micrograph_rows_free(r, n);
}

/* Micrograph rows of an in-memory STAR text. */
static cr_status mics_str(const char *text, int need_ctf, cr_micrograph_row **rows, int *n)
{
    cr_star_file *f = NULL;
    *rows = NULL;
    *n = 0;
    cr_status st = cr_star_parse(text, strlen(text), "mics.star", &f);
    if (!st) st = cr_star_micrographs(f, need_ctf, rows, n);
    cr_star_free(f);
    return st;
}

static void expect_mics_error(const char *text, int need_ctf, cr_status want, const char *piece)
{
    cr_micrograph_row *r = NULL;
    int n = -1;
    cr_error_clear();
    cr_status st = mics_str(text, need_ctf, &r, &n);
    CHECK_MSG(st == want, "got %s: %s", cr_status_str(st), cr_error_message());
    CHECK(r == NULL && n == 0);
    CHECK_MSG(contains(cr_error_message(), "mics.star") && contains(cr_error_message(), piece),
              "message: %s", cr_error_message());
}

#define CTF_HEAD "_rlnDefocusU\n_rlnDefocusV\n_rlnDefocusAngle\n_rlnVoltage\n_rlnSphericalAberration\n_rlnAmplitudeContrast\n"

static void test_synthetic_micrographs(void)
{
    cr_micrograph_row *r = NULL;
    int n = 0;
    /* RELION 5 even/odd columns; a per-row voltage overrides the optics one */
    const char *r5 =
        "# version 50001\n"
        "data_micrographs\nloop_\n_rlnMicrographName\n_rlnMicrographNameEven\n_rlnMicrographNameOdd\n"
        "_rlnOpticsGroup\n_rlnDefocusU\n_rlnDefocusV\n_rlnDefocusAngle\n_rlnPhaseShift\n_rlnVoltage\n"
        "MotionCorr/a.mrc MotionCorr/a_EVN.mrc MotionCorr/a_ODD.mrc 2 10000 9000 45 90 120\n"
        "MotionCorr/b.mrc MotionCorr/b_EVN.mrc MotionCorr/b_ODD.mrc 2 11000 9500 -30 0 300\n"
        "data_optics\nloop_\n_rlnOpticsGroup\n_rlnVoltage\n_rlnSphericalAberration\n_rlnAmplitudeContrast\n"
        "_rlnMicrographPixelSize\n_rlnImagePixelSize\n"
        "2 200 2.7 0.07 0.83 1.66\n";
    CHECK_OK(mics_str(r5, 1, &r, &n));
    CHECK(n == 2);
    if (n == 2) {
        CHECK(strcmp(r[0].name_even, "MotionCorr/a_EVN.mrc") == 0 && strcmp(r[1].name_odd, "MotionCorr/b_ODD.mrc") == 0);
        CHECK(r[0].voltage == 120.0 && r[1].voltage == 300.0);
        CHECK(r[0].cs == 2.7 && r[0].amp_contrast == 0.07 && r[0].apix == 0.83 && r[0].optics_group == 2);
        CHECK(r[0].phase_shift == 90.0 && r[0].defocus_angle == 45.0 && r[1].defocus_u == 11000.0);
        CHECK(r[1].source_row == 1);
    }
    cr_micrograph_rows_free(r, n);
    cr_micrograph_rows_free(NULL, 0);

    /* a pixel-size column in a RELION 3.0 table wins over detector/magnification */
    CHECK_OK(mics_str("data_\nloop_\n_rlnMicrographName\n_rlnMagnification\n_rlnDetectorPixelSize\n"
                      "_rlnMicrographPixelSize\nm.mrc 10000 5 1.1\n", 0, &r, &n));
    CHECK(n == 1 && r && r[0].apix == 1.1 && r[0].optics_group == 0 && isnan(r[0].voltage));
    cr_micrograph_rows_free(r, n);
    /* no pixel size at all: 0; one optics row and no group column: that row */
    CHECK_OK(mics_str("data_optics\nloop_\n_rlnOpticsGroup\n_rlnVoltage\n7 300\n"
                      "data_micrographs\nloop_\n_rlnMicrographName\nm.mrc\n", 0, &r, &n));
    CHECK(n == 1 && r && r[0].apix == 0.0 && r[0].voltage == 300.0 && r[0].optics_group == 7);
    cr_micrograph_rows_free(r, n);

    expect_mics_error("data_micrographs\nloop_\n_rlnImageName\nx\n", 0, CR_ERR_NOT_FOUND,
                      "data_micrographs: missing column _rlnMicrographName");
    expect_mics_error("data_images\nloop_\n_rlnImageName\nx\n", 0, CR_ERR_NOT_FOUND,
                      "missing column _rlnMicrographName");
    expect_mics_error("data_micrographs\nloop_\n_rlnMicrographName\n" CTF_HEAD "m.mrc abc 1 2 300 2.7 0.1\n", 1,
                      CR_ERR_FORMAT, "data_micrographs: column _rlnDefocusU, row 1 (line 10): 'abc' is not a number");
    expect_mics_error("data_micrographs\nloop_\n_rlnMicrographName\n_rlnDefocusU\n_rlnDefocusAngle\n_rlnVoltage\n"
                      "_rlnSphericalAberration\n_rlnAmplitudeContrast\nm.mrc 1 2 300 2.7 0.1\n", 1, CR_ERR_NOT_FOUND,
                      "mics.star: data_micrographs: missing column _rlnDefocusV (needed for CTF phase flipping; use "
                      "--no-phaseflip to go without)");
    expect_mics_error("data_optics\nloop_\n_rlnOpticsGroup\n_rlnVoltage\n1 300\n"
                      "data_micrographs\nloop_\n_rlnMicrographName\n_rlnOpticsGroup\nm.mrc 1\nn.mrc 3\n", 0,
                      CR_ERR_NOT_FOUND, "row 2 (line 11): optics group 3 is not defined in data_optics");
    expect_mics_error("data_optics\nloop_\n_rlnOpticsGroup\n_rlnVoltage\n1 300\n2 200\n"
                      "data_micrographs\nloop_\n_rlnMicrographName\nm.mrc\n", 0, CR_ERR_NOT_FOUND,
                      "missing column _rlnOpticsGroup");
    expect_mics_error("data_micrographs\nloop_\n_rlnMicrographName\n_rlnOpticsGroup\nm.mrc 1.5\n", 0, CR_ERR_FORMAT,
                      "'1.5' is not an integer");
    expect_mics_error("data_micrographs\nloop_\n_rlnMicrographName\n", 0, CR_ERR_FORMAT, "no rows");
}

static void test_names(void)
{
    char even[256], odd[256], out[512], dir[256], path[512], cwd_name[256];
    CHECK_OK(cr_even_odd_names("Movies/mic_0001_DW.mrc", "DW,EVN,ODD", even, odd, sizeof even));
    CHECK(strcmp(even, "Movies/mic_0001_EVN.mrc") == 0 && strcmp(odd, "Movies/mic_0001_ODD.mrc") == 0);
    /* the last DW of the base name; directories untouched */
    CHECK_OK(cr_even_odd_names("DW_run/DWarf_07_DW.mrc", "DW,EVN,ODD", even, odd, sizeof even));
    CHECK(strcmp(even, "DW_run/DWarf_07_EVN.mrc") == 0 && strcmp(odd, "DW_run/DWarf_07_ODD.mrc") == 0);
    CHECK_OK(cr_even_odd_names("a.mrc", ".mrc,_even.mrc,_odd.mrc", even, odd, sizeof even));
    CHECK(strcmp(even, "a_even.mrc") == 0 && strcmp(odd, "a_odd.mrc") == 0);
    cr_error_clear();
    CHECK(cr_even_odd_names("DW/mic_0001.mrc", "DW,EVN,ODD", even, odd, sizeof even) == CR_ERR_NOT_FOUND);
    CHECK_MSG(contains(cr_error_message(), "DW/mic_0001.mrc") && contains(cr_error_message(), "'DW'"),
              "message: %s", cr_error_message());
    CHECK(cr_even_odd_names("m_DW.mrc", "DW,EVN", even, odd, sizeof even) == CR_ERR_ARG);
    CHECK(cr_even_odd_names("m_DW.mrc", "DW,EVN,ODD,X", even, odd, sizeof even) == CR_ERR_ARG);
    CHECK(cr_even_odd_names("m_DW.mrc", ",EVN,ODD", even, odd, sizeof even) == CR_ERR_ARG);
    CHECK(cr_even_odd_names("m_DW.mrc", "DW,EVN,ODD", even, odd, 6) == CR_ERR_ARG);

    /* resolution: beside the STAR file first, then the working directory */
    snprintf(dir, sizeof dir, "/tmp/clrestore_test_star_mics_%ld", (long)getpid());
    snprintf(cwd_name, sizeof cwd_name, "clrestore_test_star_cwd_%ld.mrc", (long)getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/both.mrc", dir);
    FILE *fp = fopen(path, "w");
    if (fp) fclose(fp);
    fp = fopen(cwd_name, "w");
    if (fp) fclose(fp);
    char star[512];
    snprintf(star, sizeof star, "%s/mics.star", dir);
    CHECK_OK(cr_resolve_path(star, "both.mrc", out, sizeof out));
    CHECK(strcmp(out, path) == 0);
    CHECK_OK(cr_resolve_path(star, cwd_name, out, sizeof out));
    CHECK(strcmp(out, cwd_name) == 0);
    CHECK_OK(cr_resolve_path(star, path, out, sizeof out)); /* absolute */
    CHECK(strcmp(out, path) == 0);
    cr_error_clear();
    CHECK(cr_resolve_path(star, "missing.mrc", out, sizeof out) == CR_ERR_NOT_FOUND);
    CHECK(contains(out, "/mics.star") == 0 && contains(out, dir) && contains(out, "/missing.mrc"));
    CHECK_MSG(contains(cr_error_message(), "mics.star") && contains(cr_error_message(), "beside the STAR file") &&
                  contains(cr_error_message(), "working directory"),
              "message: %s", cr_error_message());
    CHECK(cr_resolve_path("mics.star", "missing.mrc", out, sizeof out) == CR_ERR_NOT_FOUND);
    CHECK(strcmp(out, "missing.mrc") == 0);
    CHECK(cr_resolve_path(star, "both.mrc", out, 8) == CR_ERR_ARG);
    CHECK(cr_resolve_path(star, dir, out, sizeof out) == CR_ERR_NOT_FOUND); /* a directory is no micrograph */
    unlink(path);
    unlink(cwd_name);
    rmdir(dir);
}

int main(void)
{
    test_synthetic_micrographs();
    test_names();
    const char *root = test_shared_data();
    if (root) test_shared_micrographs(root);
    return test_finish("test_star_micrographs");
}
