/* STAR parser, writer and micrograph view: every shared STAR file, RELION
 * 3.0/3.1/5 optics and pixel-size rules, synthetic lexical edge cases and bad
 * inputs, a write/parse round trip, and even/odd naming. */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clrestore/fileutil.h"
#include "clrestore/star.h"
#include "testutil.h"

/* Expected structure of each shared STAR file. Obtained once with a throwaway
 * python3 script (shlex.split per line with comments=True, a new table per
 * data_, per loop_ after a non-empty table, and per key after loop rows; the
 * "main" table is the one with the most rows, first on ties), then checked by
 * eye against the files. Columns: path under star/, tables, main table index,
 * its block name, rows, columns, last column label, value of that column in
 * the last row. */
typedef struct expect {
    const char *path;
    int ntables, main, nrows, ncols;
    const char *name, *last_col, *last_value;
} expect;

static const expect EXPECT[] = {
    {"aspire_sample_incomplete_ctf_params.star", 1, 0, 1, 28, "model_class_1", "_rlnRandomSubset", "2"},
    {"aspire_sample_particles_relion30.star", 1, 0, 17, 29, "model_class_1", "_rlnRandomSubset", "2"},
    {"aspire_sample_particles_relion31.star", 2, 1, 17, 26, "particles", "_rlnRandomSubset", "2"},
    {"cryodrgn_FinalRefinement-OriginalParticles-PfCRT.star", 1, 0, 5, 22, "images", "_rlnVoltage", "300.000000"},
    {"cryodrgn_empiar_10076_7.star", 1, 0, 7, 10, "", "_rlnDetectorPixelSize", "5"},
    {"cryodrgn_relion31.6opticsgroups.star", 2, 1, 139, 23, "particles", "_rlnGroupNumber", "2695"},
    {"cryodrgn_relion31.star", 2, 1, 5, 26, "particles", "_rlnGroupNumber", "1"},
    {"cryodrgn_relion31.v2.star", 2, 0, 5, 26, "particles", "_rlnGroupNumber", "1"},
    {"cryodrgn_relion5.star", 2, 1, 17, 26, "particles", "_rlnRandomSubset", "1"},
    {"cryodrgn_sta_testing_bin8.star", 1, 0, 219, 20, "", "_rlnGroupName", "ay19102021_L3_position6_ribo_it09_bin8_0000005"},
    {"magellon_micassess_relion31.star", 2, 1, 3, 2, "micrographs", "_rlnOpticsGroup", "1"},
    {"micrograph_cleaner_Ucsf_stack_1142_DW_autopick.star", 1, 0, 45, 5, "", "_rlnAnglePsi", "0.000000"},
    {"relion_tomo_220728_TS_01.star", 1, 0, 41, 29, "220728_TS_01", "_rlnTomoProjW", "[0,0,0,1]"},
    {"relion_tomo_tilt_series.star", 1, 0, 5, 14, "global", "_rlnTomoReconstructedTomogram", "ReconstructTomograms/job007/tomograms/rec_220728_TS_54.mrc"},
    {"tomodrgn_warptools_optimisation_set.star", 1, 0, 1, 2, "", "_rlnTomoTomogramsFile", "warptools_test_4-tomos_10-ptcls_box-32_angpix-12_tomograms.star"},
    {"tomodrgn_warptools_tomograms.star", 5, 1, 37, 9, "Unt_083.tomostar", "_rlnMicrographPreExposure", "86.906"},
    {"topaz_EMPIAR-10025_ctf_params.star", 1, 0, 30, 10, "images", "_rlnMicrographName", "14sep05c_c_00007gr_00013sq_00014hl_00004es_c.mrc"},
    {"topaz_EMPIAR-10025_particles.star", 1, 0, 1500, 29, "images", "_rlnMaxValueProbDistribution", "0.022701"},
    {"starfile/basic_double_quote.star", 1, 0, 1, 4, "", "_empty_string", ""},
    {"starfile/basic_single_quote.star", 1, 0, 1, 4, "", "_empty_string", ""},
    {"starfile/default_pipeline.star", 5, 2, 74, 2, "pipeline_nodes", "_rlnPipeLineNodeType", "13"},
    {"starfile/empty_loop.star", 1, 0, 0, 1, "", "_rlnCoordinateX", NULL},
    {"starfile/loop_double_quote.star", 1, 0, 2, 8, "", "_empty_string_and_normal_string", "test"},
    {"starfile/loop_single_quote.star", 1, 0, 2, 8, "", "_empty_string_and_normal_string", "test"},
    {"starfile/one_loop.star", 1, 0, 16, 12, "", "_rlnAnglePsi", "0"},
    {"starfile/postprocess.star", 3, 1, 49, 7, "fsc", "_rlnCorrectedFourierShellCorrelationPhaseRandomizedMaskedMaps", "0.124267"},
    {"starfile/rln3.1_data_style.star", 3, 1, 2, 5, "block_2", "_rlnCoordinateZ", "-51.52270"},
    {"starfile/single_line_end_of_multiblock.star", 2, 0, 2, 5, "block_1", "_rlnCoordinateZ", "-51.52270"},
    {"starfile/single_line_middle_of_multiblock.star", 2, 0, 1, 5, "block_1", "_rlnCoordinateZ", "-51.52270"},
    {"starfile/two_basic_blocks.star", 2, 0, 1, 3, "block_0", "_val3", "3.0"},
    {"starfile/two_single_line_loop_blocks.star", 2, 0, 1, 3, "block_0", "_val3", "3.0"},
    {"starfile/relion_tutorial/run_it025_optimiser_2D.star", 1, 0, 1, 84, "optimiser_general", "_rlnMaxNumberOfPooledParticles", "6"},
    {"starfile/relion_tutorial/run_it025_optimiser_3D.star", 1, 0, 1, 84, "optimiser_general", "_rlnMaxNumberOfPooledParticles", "6"},
    {"starfile/relion_tutorial/run_it025_sampling_2D.star", 1, 0, 1, 12, "sampling_general", "_rlnOffsetStepOriginal", "7.080000"},
    {"starfile/relion_tutorial/run_it025_sampling_3D.star", 2, 1, 192, 2, "sampling_directions", "_rlnAngleTilt", "99.594068"},
};
#define NEXPECT ((int)(sizeof EXPECT / sizeof EXPECT[0]))
#define MALFORMED "aspire_sample_generic_malformed.star"

static char g_tmpdir[256];
static void check_same(const cr_star_file *a, const cr_star_file *b);

static int contains(const char *s, const char *sub) { return s && strstr(s, sub) != NULL; }

static cr_status parse_str(const char *text, cr_star_file **f)
{
    return cr_star_parse(text, strlen(text), "synthetic.star", f);
}

/* Parses text; expects failure with status st and every piece in the message. */
static void expect_parse_error(const char *text, cr_status want, const char *piece1, const char *piece2)
{
    cr_star_file *f = NULL;
    cr_error_clear();
    cr_status st = parse_str(text, &f);
    CHECK_MSG(st == want, "got %s for <<%s>>", cr_status_str(st), text);
    CHECK(f == NULL);
    CHECK_MSG(contains(cr_error_message(), "synthetic.star"), "message: %s", cr_error_message());
    if (piece1) CHECK_MSG(contains(cr_error_message(), piece1), "message: %s", cr_error_message());
    if (piece2) CHECK_MSG(contains(cr_error_message(), piece2), "message: %s", cr_error_message());
    cr_star_free(f);
}

/* ---- shared data -------------------------------------------------------------- */

static int g_seen[64];

static void check_one_file(const char *root, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/star/%s", root, rel);
    cr_star_file *f = NULL;
    cr_status st = cr_star_read(path, &f);
    if (strcmp(rel, MALFORMED) == 0) {
        /* documented: the 'Mars' row on line 20 has an extra value */
        CHECK(st == CR_ERR_FORMAT);
        CHECK_MSG(contains(cr_error_message(), MALFORMED) &&
                      contains(cr_error_message(), "line 20: data_planetary: row has 5 values, expected 4"),
                  "message: %s", cr_error_message());
        cr_star_free(f);
        return;
    }
    CHECK_MSG(st == CR_OK, "%s: %s", rel, cr_error_message());
    if (st) return;
    int k = 0;
    while (k < NEXPECT && strcmp(EXPECT[k].path, rel) != 0) k++;
    CHECK_MSG(k < NEXPECT, "%s: not in the expectation table", rel);
    if (k < NEXPECT) {
        const expect *e = &EXPECT[k];
        g_seen[k] = 1;
        CHECK_MSG(cr_star_nblocks(f) == e->ntables, "%s: %d tables", rel, cr_star_nblocks(f));
        const cr_star_table *t = cr_star_block(f, e->main);
        if (t) {
            CHECK_MSG(strcmp(cr_star_block_name(t), e->name) == 0, "%s: block %s", rel, cr_star_block_name(t));
            CHECK_MSG(cr_star_nrows(t) == e->nrows, "%s: %d rows", rel, cr_star_nrows(t));
            CHECK_MSG(cr_star_ncols(t) == e->ncols, "%s: %d cols", rel, cr_star_ncols(t));
            CHECK_MSG(strcmp(cr_star_col_name(t, e->ncols - 1), e->last_col) == 0, "%s: %s", rel,
                      cr_star_col_name(t, e->ncols - 1));
            const char *v = cr_star_value(t, e->nrows - 1, e->ncols - 1);
            if (e->last_value) CHECK_MSG(v && strcmp(v, e->last_value) == 0, "%s: last value %s", rel, v);
            else CHECK(v == NULL);
        }
    }
    /* writer round trip of every file */
    char out[512];
    cr_star_file *g = NULL;
    snprintf(out, sizeof out, "%s/rt.star", g_tmpdir);
    CHECK_OK(cr_star_write(f, out));
    CHECK_OK(cr_star_read(out, &g));
    if (g) check_same(f, g);
    unlink(out);
    cr_star_free(g);
    cr_star_free(f);
}

static void walk(const char *root, const char *sub, int *nfiles)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/star%s%s", root, *sub ? "/" : "", sub);
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char rel[1024], full[4096 + 1024];
        snprintf(rel, sizeof rel, "%s%s%s", sub, *sub ? "/" : "", de->d_name);
        snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (stat(full, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            walk(root, rel, nfiles);
        } else if (strstr(de->d_name, ".star")) {
            check_one_file(root, rel);
            (*nfiles)++;
        }
    }
    closedir(d);
}

static void test_speed(const char *root)
{
    char path[4096], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/star/topaz_EMPIAR-10025_particles.star", root);
    CHECK_OK(cr_read_file(path, &text, &len));
    if (!text) return;
    const int reps = 20;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < reps; i++) {
        cr_star_file *f = NULL;
        CHECK_OK(cr_star_parse(text, len, path, &f));
        cr_star_free(f);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-6) / reps;
    printf("parse %s: %zu bytes in %.2f ms (%.0f MB/s)\n", "topaz_EMPIAR-10025_particles.star", len, ms,
           (double)len / (ms * 1e3));
    CHECK_MSG(ms < 200.0, "parsing took %.1f ms", ms); /* generous: sanitizer builds are slow */
    free(text);
}

static void test_shared(void)
{
    const char *root = test_shared_data();
    if (!root) return;
    int nfiles = 0;
    walk(root, "", &nfiles);
    CHECK_MSG(nfiles == NEXPECT + 1, "%d STAR files found", nfiles);
    for (int k = 0; k < NEXPECT; k++) CHECK_MSG(g_seen[k], "%s not found", EXPECT[k].path);
    test_speed(root);
}

/* ---- synthetic ---------------------------------------------------------------- */

static void test_lexical(void)
{
    cr_star_file *f = NULL;
    /* quotes, embedded quote chars, comments, #N labels with trailing text,
     * brackets, tabs, CRLF, a bare data_ and a dotted name, key/value pairs */
    const char *text =
        "# leading comment\r\n"
        "\r\n"
        "data_general\r\n"
        "_rlnKey1   'two words'   # trailing comment\r\n"
        "_rlnKey2\t\"it's \"\"\r\n"
        "_rlnKey3 it's\r\n"
        "data_\r\n"
        "\r\n"
        "loop_ \r\n"
        "_rlnA #1 [with text after]\r\n"
        "_rlnB #2\r\n"
        "_rlnC\t#3\r\n"
        "  1\t'a b'  [0.1, 0.2,0.3]   # comment after a row\r\n"
        "\r\n"
        "   \t \r\n"
        "2 'don't' ''\r\n"
        "#3 commented row\r\n"
        "data_Unt_083.tomostar\n"
        "loop_\n"
        "_rlnOnly\n"
        "data_empty\n"
        "loop_\n"
        "_x #1\n"
        "_y #2\n"
        "\n"
        "data_single\n"
        "loop_\n_p\n_q\nv1 \"#not a comment\"";
    CHECK_OK(parse_str(text, &f));
    if (!f) return;
    CHECK(cr_star_nblocks(f) == 5);
    const cr_star_table *g = cr_star_find_block(f, "data_general");
    CHECK(g && g == cr_star_find_block(f, "general") && !cr_star_is_loop(g));
    if (g) {
        CHECK(cr_star_nrows(g) == 1 && cr_star_ncols(g) == 3);
        CHECK(strcmp(cr_star_value(g, 0, 0), "two words") == 0);
        CHECK(strcmp(cr_star_value(g, 0, 1), "it's \"") == 0);
        CHECK(strcmp(cr_star_value(g, 0, 2), "it's") == 0);
        CHECK(cr_star_col_index(g, "rlnKey2") == 1 && cr_star_col_index(g, "_rlnKey3") == 2);
        CHECK(cr_star_col_index(g, "_rlnKey4") == -1);
    }
    const cr_star_table *t = cr_star_block(f, 1);
    CHECK(t && strcmp(cr_star_block_name(t), "") == 0 && cr_star_is_loop(t));
    if (t) {
        CHECK(cr_star_ncols(t) == 3 && cr_star_nrows(t) == 2);
        CHECK(strcmp(cr_star_col_name(t, 0), "_rlnA") == 0 && strcmp(cr_star_col_name(t, 2), "_rlnC") == 0);
        CHECK(strcmp(cr_star_value(t, 0, 1), "a b") == 0);
        CHECK(strcmp(cr_star_value(t, 0, 2), "[0.1, 0.2,0.3]") == 0);
        CHECK(strcmp(cr_star_value(t, 1, 1), "don't") == 0);
        CHECK(strcmp(cr_star_value(t, 1, 2), "") == 0);
        CHECK(cr_star_row_line(t, 0) == 13 && cr_star_row_line(t, 1) == 16);
        CHECK(cr_star_value(t, 2, 0) == NULL && cr_star_value(t, 0, 3) == NULL);
        double x = 0;
        CHECK_OK(cr_star_get_double(f, t, 1, 0, &x));
        CHECK(x == 2.0);
        cr_error_clear();
        CHECK(cr_star_get_double(f, t, 0, 1, &x) == CR_ERR_FORMAT);
        CHECK_MSG(contains(cr_error_message(), "synthetic.star: data_: column _rlnB, row 1 (line 13): 'a b' is not a number"),
                  "message: %s", cr_error_message());
    }
    t = cr_star_find_block(f, "Unt_083.tomostar");
    CHECK(t && cr_star_ncols(t) == 1 && cr_star_nrows(t) == 0);
    t = cr_star_find_block(f, "empty");
    CHECK(t && cr_star_is_loop(t) && cr_star_ncols(t) == 2 && cr_star_nrows(t) == 0);
    t = cr_star_find_block(f, "single");
    CHECK(t && cr_star_nrows(t) == 1 && strcmp(cr_star_value(t, 0, 1), "#not a comment") == 0);
    CHECK(cr_star_find_block(f, "nothing") == NULL);
    cr_star_free(f);

    /* numbers: strict */
    CHECK_OK(parse_str("data_n\nloop_\n_v\n1e3\n-2.5\nnan\ninf\n0x10\n12abc\n\"\"\n+.5E-1\n", &f));
    if (f) {
        const cr_star_table *n = cr_star_block(f, 0);
        double x = 0;
        const int good[8] = {1, 1, 0, 0, 0, 0, 0, 1};
        for (int r = 0; r < 8; r++) CHECK_MSG((cr_star_get_double(f, n, r, 0, &x) == CR_OK) == good[r], "row %d", r);
        CHECK_OK(cr_star_get_double(f, n, 7, 0, &x));
        CHECK_NEAR(x, 0.05, 1e-15);
        int i = 0;
        CHECK(cr_star_get_int(f, n, 1, 0, &i) == CR_ERR_FORMAT);
        CHECK_OK(cr_star_get_int(f, n, 0, 0, &i));
        CHECK(i == 1000);
    }
    cr_star_free(f);

    /* a second loop in one block, and pairs after a loop: separate tables, same name */
    CHECK_OK(parse_str("data_a\n_k 1\nloop_\n_x\n1\n2\nloop_\n_y\n3\n_z 4\n", &f));
    if (f) {
        CHECK(cr_star_nblocks(f) == 4);
        for (int i = 0; i < cr_star_nblocks(f); i++) CHECK(strcmp(cr_star_block_name(cr_star_block(f, i)), "a") == 0);
        CHECK(cr_star_nrows(cr_star_block(f, 1)) == 2 && !cr_star_is_loop(cr_star_block(f, 3)));
    }
    cr_star_free(f);
}

static void test_bad_inputs(void)
{
    expect_parse_error("data_x\nloop_\n_a\n_b\n'open quote\n", CR_ERR_FORMAT, "line 5", "unterminated single quote");
    expect_parse_error("data_x\n_k \"abc\"def\n", CR_ERR_FORMAT, "line 2: unterminated double quote", NULL);
    expect_parse_error("data_x\nloop_\n_a\n_b\n_a\n", CR_ERR_FORMAT, "line 5: duplicate column _a", NULL);
    expect_parse_error("data_x\n_a 1\n_a 2\n", CR_ERR_FORMAT, "duplicate column _a", NULL);
    expect_parse_error("data_x\nloop_\n_a\n_b\n1 2\n3\n", CR_ERR_FORMAT, "line 6: data_x: row has 1 values, expected 2", NULL);
    expect_parse_error("data_x\nloop_\n_a\n1 2 # c\n", CR_ERR_FORMAT, "line 4", "row has 2 values, expected 1");
    expect_parse_error("", CR_ERR_FORMAT, "no data blocks", NULL);
    expect_parse_error("# only a comment\n\n", CR_ERR_FORMAT, "no data blocks", NULL);
    expect_parse_error("_a 1\n", CR_ERR_FORMAT, "line 1", "before the first data_ block");
    expect_parse_error("data_x\n1 2\n", CR_ERR_FORMAT, "line 2", "outside a loop");
    expect_parse_error("data_x\n_k\n", CR_ERR_FORMAT, "line 2: _k has no value", NULL);
    expect_parse_error("data_x\n_k 1 2\n", CR_ERR_FORMAT, "more than one value", NULL);
    expect_parse_error("data_x junk\n", CR_ERR_FORMAT, "line 1", "unexpected text");

    cr_star_file *f = NULL;
    CHECK(cr_star_parse("data_x\0\n", 8, "nul.star", &f) == CR_ERR_FORMAT && f == NULL);
    CHECK(contains(cr_error_message(), "nul.star"));
    char path[512];
    snprintf(path, sizeof path, "%s/does_not_exist.star", g_tmpdir);
    CHECK(cr_star_read(path, &f) != CR_OK && f == NULL);
    CHECK_MSG(contains(cr_error_message(), "does_not_exist.star"), "message: %s", cr_error_message());
    CHECK(cr_star_read(g_tmpdir, &f) != CR_OK && f == NULL);
    CHECK_MSG(contains(cr_error_message(), g_tmpdir), "message: %s", cr_error_message());
    snprintf(path, sizeof path, "%s/empty.star", g_tmpdir);
    FILE *fp = fopen(path, "w");
    if (fp) fclose(fp);
    CHECK(cr_star_read(path, &f) == CR_ERR_FORMAT && f == NULL);
    CHECK_MSG(contains(cr_error_message(), "empty.star: no data blocks"), "message: %s", cr_error_message());
    unlink(path);
    cr_star_free(NULL);
}

/* Same tables, columns and values. */
static void check_same(const cr_star_file *a, const cr_star_file *b)
{
    CHECK(cr_star_nblocks(a) == cr_star_nblocks(b));
    for (int i = 0; i < cr_star_nblocks(a) && i < cr_star_nblocks(b); i++) {
        const cr_star_table *s = cr_star_block(a, i), *t = cr_star_block(b, i);
        CHECK(strcmp(cr_star_block_name(s), cr_star_block_name(t)) == 0);
        CHECK(cr_star_is_loop(s) == cr_star_is_loop(t));
        CHECK(cr_star_ncols(s) == cr_star_ncols(t) && cr_star_nrows(s) == cr_star_nrows(t));
        if (cr_star_ncols(s) != cr_star_ncols(t) || cr_star_nrows(s) != cr_star_nrows(t)) continue;
        int bad = 0;
        for (int c = 0; c < cr_star_ncols(s); c++) {
            bad += strcmp(cr_star_col_name(s, c), cr_star_col_name(t, c)) != 0;
            for (int r = 0; r < cr_star_nrows(s); r++)
                bad += strcmp(cr_star_value(s, r, c), cr_star_value(t, r, c)) != 0;
        }
        CHECK_MSG(bad == 0, "table %d: %d differences", i, bad);
    }
}

static void test_round_trip(void)
{
    const char *text =
        "# version 50001\n"
        "data_optics\nloop_\n_rlnOpticsGroup\n_rlnVoltage\n1 300\n2 200\n"
        "data_micrographs\nloop_\n_rlnMicrographName #1\n_rlnOpticsGroup #2\n_rlnNote #3\n"
        "'dir with space/m 1_DW.mrc' 1 ''\n"
        "m2_DW.mrc 2 \"it's \"\n"
        "m3_DW.mrc 1 _under\n"
        "m4_DW.mrc 1 '#hash'\n"
        "m5_DW.mrc 1 \"'q'\"\n"
        "m6_DW.mrc 1 loop_\n"
        "m7_DW.mrc 1 DATA_x\n"
        "m8_DW.mrc 1 [1, 2]\n"
        "data_kv\n_a 'x y'\n_b ''\n_c plain\n"
        "data_emptyloop\nloop_\n_z\n";
    cr_star_file *f = NULL, *g = NULL, *h = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/round.star", g_tmpdir);
    CHECK_OK(parse_str(text, &f));
    if (!f) return;
    CHECK(cr_star_version(f) == 50001);
    CHECK_OK(cr_star_write(f, path));
    CHECK_OK(cr_star_read(path, &g));
    if (g) {
        check_same(f, g);
        CHECK(cr_star_version(g) == 50001);
    }

    /* what denoise does: copy optics and micrographs, replace the names, add a column */
    CHECK_OK(cr_star_new(&h));
    cr_star_table *mics = NULL;
    CHECK_OK(cr_star_copy_table(h, cr_star_find_block(f, "optics"), NULL, 1, NULL));
    CHECK_OK(cr_star_copy_table(h, cr_star_find_block(f, "micrographs"), NULL, 1, &mics));
    if (mics) {
        int cn = -1, cd = -1;
        CHECK_OK(cr_star_add_column(h, mics, "_rlnMicrographName", &cn));
        CHECK(cn == 0);
        CHECK_OK(cr_star_add_column(h, mics, "rlnDenoised", &cd));
        CHECK(cd == 3 && strcmp(cr_star_col_name(mics, 3), "_rlnDenoised") == 0);
        for (int r = 0; r < cr_star_nrows(mics); r++) {
            char buf[64];
            snprintf(buf, sizeof buf, "denoised/m%d.mrc", r + 1);
            CHECK_OK(cr_star_set_value(h, mics, r, cn, buf));
            /* a value taken from the same file's pool (may move while copying) */
            CHECK_OK(cr_star_set_value(h, mics, r, cd, cr_star_value(mics, r, 2)));
        }
        const char *row[4] = {"extra.mrc", "1", "", "x"};
        int rr = -1;
        CHECK_OK(cr_star_append_row(h, mics, row, &rr));
        CHECK(rr == 8);
        CHECK(cr_star_set_value(h, mics, 99, 0, "x") == CR_ERR_ARG);
        CHECK_OK(cr_star_copy_table(h, mics, "copy", 0, NULL)); /* copy within one file */
    }
    snprintf(path, sizeof path, "%s/denoised_micrographs.star", g_tmpdir);
    CHECK_OK(cr_star_write(h, path));
    cr_star_free(g);
    g = NULL;
    CHECK_OK(cr_star_read(path, &g));
    if (g) {
        check_same(h, g);
        CHECK(cr_star_version(g) == 30001);
        const cr_star_table *m = cr_star_find_block(g, "micrographs");
        CHECK(m && cr_star_nrows(m) == 9 && strcmp(cr_star_value(m, 1, 0), "denoised/m2.mrc") == 0);
        CHECK(m && strcmp(cr_star_value(m, 1, 3), "it's ") == 0);
        CHECK(cr_star_nrows(cr_star_find_block(g, "copy")) == 0);
        cr_micrograph_row *rows = NULL;
        int n = 0;
        CHECK_OK(cr_star_micrographs(g, 0, &rows, &n));
        CHECK(n == 9 && rows && rows[1].optics_group == 2 && rows[1].voltage == 200.0);
        cr_micrograph_rows_free(rows, n);
    }
    /* a value no quoting can carry */
    cr_star_table *kv = NULL;
    int c = -1;
    CHECK_OK(cr_star_add_table(h, "bad", 0, &kv));
    CHECK_OK(cr_star_add_column(h, kv, "_v", &c));
    CHECK_OK(cr_star_set_value(h, kv, 0, c, "line\nbreak"));
    cr_error_clear();
    CHECK(cr_star_write(h, path) == CR_ERR_UNSUPPORTED);
    CHECK(contains(cr_error_message(), "denoised_micrographs.star"));
    unlink(path);
    snprintf(path, sizeof path, "%s/round.star", g_tmpdir);
    unlink(path);
    cr_star_free(f);
    cr_star_free(g);
    cr_star_free(h);
}

static void test_synthetic(void)
{
    test_lexical();
    test_bad_inputs();
    test_round_trip();
}

int main(void)
{
    snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/clrestore_test_star_%ld", (long)getpid());
    mkdir(g_tmpdir, 0700);
    test_synthetic();
    test_shared();
    rmdir(g_tmpdir);
    return test_finish("test_star");
}
