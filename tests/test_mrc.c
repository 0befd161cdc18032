/* MRC2014 I/O: hand-built files (both byte orders, every mode, float16 edge
 * values), write/read round trips, malformed headers that must fail with a
 * message naming the file, and every MRC in the shared data set checked
 * against header facts from SOURCES.md and statistics computed with numpy. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clrestore/mrc.h"
#include "testutil.h"

static char tmpdir[256];

static const char *tmp_file(const char *name)
{
    static char buf[8][512];
    static int k = 0;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void put32(unsigned char *p, uint32_t u, int be)
{
    for (int i = 0; i < 4; i++) p[be ? 3 - i : i] = (unsigned char)(u >> (8 * i));
}
static void puti(unsigned char *p, int32_t v, int be) { put32(p, (uint32_t)v, be); }
static void putf(unsigned char *p, float v, int be)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    put32(p, u, be);
}
static void put16(unsigned char *p, uint16_t u, int be)
{
    p[be ? 1 : 0] = (unsigned char)u;
    p[be ? 0 : 1] = (unsigned char)(u >> 8);
}

/* A minimal MRC2014 header, built byte by byte; stamp = MACHST bytes 0 and 1. */
static void make_header(unsigned char *h, int be, int32_t nx, int32_t ny, int32_t nz, int32_t mode,
                        float apix, int32_t nsymbt, unsigned char stamp0, unsigned char stamp1)
{
    memset(h, 0, 1024);
    puti(h + 0, nx, be);
    puti(h + 4, ny, be);
    puti(h + 8, nz, be);
    puti(h + 12, mode, be);
    puti(h + 28, nx, be);
    puti(h + 32, ny, be);
    puti(h + 36, nz, be);
    putf(h + 40, apix * (float)nx, be);
    putf(h + 44, apix * (float)ny, be);
    putf(h + 48, apix * (float)nz, be);
    puti(h + 92, nsymbt, be);
    puti(h + 108, 20140, be);
    memcpy(h + 208, "MAP ", 4);
    h[212] = stamp0;
    h[213] = stamp1;
}

static void write_bytes(const char *path, const void *a, size_t na, const void *b, size_t nb)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        fprintf(stderr, "cannot create %s\n", path);
        exit(1);
    }
    if (na) fwrite(a, 1, na, fp);
    if (nb) fwrite(b, 1, nb, fp);
    fclose(fp);
}

/* ---- float16 ---------------------------------------------------------- */

static void test_half(void)
{
    CHECK(cr_half_to_float(0x3c00) == 1.0f);
    CHECK(cr_half_to_float(0xc000) == -2.0f);
    CHECK(cr_half_to_float(0x3800) == 0.5f);
    CHECK(cr_half_to_float(0x3555) == 0.333251953125f);
    CHECK(cr_half_to_float(0x7bff) == 65504.0f);              /* largest finite */
    CHECK(cr_half_to_float(0x0400) == ldexpf(1.0f, -14));     /* smallest normal */
    CHECK(cr_half_to_float(0x0001) == ldexpf(1.0f, -24));     /* smallest subnormal */
    CHECK(cr_half_to_float(0x03ff) == ldexpf(1023.0f, -24));  /* largest subnormal */
    CHECK(cr_half_to_float(0x8001) == -ldexpf(1.0f, -24));
    CHECK(cr_half_to_float(0x0000) == 0.0f && !signbit(cr_half_to_float(0x0000)));
    CHECK(cr_half_to_float(0x8000) == 0.0f && signbit(cr_half_to_float(0x8000)));
    CHECK(isinf(cr_half_to_float(0x7c00)) && cr_half_to_float(0x7c00) > 0);
    CHECK(isinf(cr_half_to_float(0xfc00)) && cr_half_to_float(0xfc00) < 0);
    CHECK(isnan(cr_half_to_float(0x7e00)));
    CHECK(isnan(cr_half_to_float(0x7c01)));
    /* Every finite half converts exactly: compare with m * 2^(e-25) computed another way. */
    int bad = 0;
    for (uint32_t b = 0; b < 0x7c00; b++) {
        uint32_t e = b >> 10, m = b & 0x3ff;
        double ref = e ? ldexp(1024.0 + m, (int)e - 25) : ldexp((double)m, -24);
        if ((double)cr_half_to_float((uint16_t)b) != ref) bad++;
    }
    CHECK_MSG(bad == 0, "%d of 31744 positive finite halves converted wrongly", bad);
}

static void test_float16_file(void)
{
    const char *p = tmp_file("f16.mrc");
    unsigned char h[1024], d[16];
    /* 4x2x1: 1, -2, smallest subnormal, +inf / -inf, 65504, 0.5, -0 */
    const uint16_t v[8] = {0x3c00, 0xc000, 0x0001, 0x7c00, 0xfc00, 0x7bff, 0x3800, 0x8000};
    make_header(h, 0, 4, 2, 1, 12, 1.5f, 0, 0x44, 0x44);
    for (int i = 0; i < 8; i++) put16(d + 2 * i, v[i], 0);
    write_bytes(p, h, 1024, d, 16);
    cr_mrc_header hd;
    float *x = NULL;
    CHECK_OK(cr_mrc_read(p, &hd, &x));
    if (!x) return;
    CHECK(hd.mode == 12 && strcmp(cr_mrc_mode_name(hd.mode), "float16") == 0);
    CHECK_NEAR(hd.apix, 1.5, 1e-6);
    CHECK(x[0] == 1.0f && x[1] == -2.0f && x[2] == ldexpf(1.0f, -24));
    CHECK(isinf(x[3]) && x[3] > 0 && isinf(x[4]) && x[4] < 0);
    CHECK(x[5] == 65504.0f && x[6] == 0.5f && x[7] == 0.0f && signbit(x[7]));
    cr_image_stats s;
    cr_image_stats_compute(x, 8, &s);
    CHECK(s.n_nonfinite == 2);
    CHECK(s.min == -2.0 && s.max == 65504.0);
    CHECK_NEAR(s.mean, (1.0 - 2.0 + ldexp(1.0, -24) + 65504.0 + 0.5) / 6.0, 1e-9);
    CHECK(cr_mrc_check_finite(p, x, 4, 2, 1) == CR_ERR_FORMAT);
    CHECK_MSG(strstr(cr_error_message(), p) && strstr(cr_error_message(), "2 pixels are NaN or Inf") &&
                  strstr(cr_error_message(), "x=3,y=0,z=0"),
              "%s", cr_error_message());
    free(x);
}

/* ---- byte orders and integer modes ------------------------------------ */

static void test_big_endian(void)
{
    /* mode 2, 3x2x2, stamp 0x11 0x11 */
    const char *p = tmp_file("be2.mrc");
    unsigned char h[1024], d[48];
    float ref[12];
    make_header(h, 1, 3, 2, 2, 2, 2.25f, 0, 0x11, 0x11);
    for (int i = 0; i < 12; i++) {
        ref[i] = (float)i * 0.75f - 3.5f;
        putf(d + 4 * i, ref[i], 1);
    }
    write_bytes(p, h, 1024, d, 48);
    cr_mrc_header hd;
    float *x = NULL;
    CHECK_OK(cr_mrc_read(p, &hd, &x));
    CHECK(hd.big_endian == 1 && hd.machst_trusted == 1 && hd.has_map_stamp == 1);
    CHECK(hd.nx == 3 && hd.ny == 2 && hd.nz == 2 && hd.mode == 2 && hd.nversion == 20140);
    CHECK(hd.data_offset == 1024 && hd.data_bytes == 48 && hd.file_size == 1072);
    CHECK_NEAR(hd.apix, 2.25, 1e-6);
    CHECK(x && memcmp(x, ref, sizeof ref) == 0);
    free(x);
    float sec[6];
    CHECK_OK(cr_mrc_read_section(p, &hd, 1, sec));
    CHECK(memcmp(sec, ref + 6, sizeof sec) == 0);
    CHECK(cr_mrc_read_section(p, &hd, 2, sec) == CR_ERR_ARG);
    CHECK(strstr(cr_error_message(), p) != NULL);

    /* Same data with a zero stamp: the order is inferred from MODE and the sizes. */
    p = tmp_file("be2_nostamp.mrc");
    make_header(h, 1, 3, 2, 2, 2, 2.25f, 0, 0, 0);
    write_bytes(p, h, 1024, d, 48);
    x = NULL;
    CHECK_OK(cr_mrc_read(p, &hd, &x));
    CHECK(hd.big_endian == 1 && hd.machst_trusted == 0);
    CHECK(x && memcmp(x, ref, sizeof ref) == 0);
    free(x);

    /* A little-endian stamp on big-endian data: the header wins. */
    p = tmp_file("be2_wrongstamp.mrc");
    make_header(h, 1, 3, 2, 2, 2, 2.25f, 0, 0x44, 0x44);
    write_bytes(p, h, 1024, d, 48);
    CHECK_OK(cr_mrc_read_header(p, &hd));
    CHECK(hd.big_endian == 1 && hd.machst_trusted == 0);

    /* mode 1 (int16), big-endian, 5x1x1 with the extremes */
    p = tmp_file("be1.mrc");
    const int16_t iv[5] = {-32768, -1, 0, 1234, 32767};
    unsigned char d1[10];
    make_header(h, 1, 5, 1, 1, 1, 0.0f, 0, 0x11, 0x11);
    for (int i = 0; i < 5; i++) put16(d1 + 2 * i, (uint16_t)iv[i], 1);
    write_bytes(p, h, 1024, d1, 10);
    x = NULL;
    CHECK_OK(cr_mrc_read(p, &hd, &x));
    CHECK(hd.big_endian == 1 && hd.mode == 1 && hd.apix == 0.0f);
    CHECK(x && x[0] == -32768.0f && x[1] == -1.0f && x[2] == 0.0f && x[3] == 1234.0f && x[4] == 32767.0f);
    free(x);
}

static void test_int_modes_exthdr_trailing(void)
{
    unsigned char h[1024], d[8], ext[100];
    cr_mrc_header hd;
    float *x = NULL;
    /* mode 0 is signed int8 in MRC2014 */
    const char *p = tmp_file("m0.mrc");
    const unsigned char b0[4] = {0x80, 0xff, 0x00, 0x7f};
    make_header(h, 0, 2, 2, 1, 0, 1.0f, 0, 0x44, 0x44);
    write_bytes(p, h, 1024, b0, 4);
    CHECK_OK(cr_mrc_read(p, &hd, &x));
    CHECK(x && x[0] == -128.0f && x[1] == -1.0f && x[2] == 0.0f && x[3] == 127.0f);
    CHECK(strcmp(cr_mrc_mode_name(0), "int8") == 0);
    free(x);

    /* mode 6, uint16, behind a 100-byte extended header, with 7 trailing bytes */
    p = tmp_file("m6_ext.mrc");
    const uint16_t u[4] = {0, 1, 40000, 65535};
    memset(ext, 0xab, sizeof ext);
    make_header(h, 0, 4, 1, 1, 6, 1.0f, 100, 0x44, 0x44);
    memcpy(h + 104, "FEI2", 4);
    for (int i = 0; i < 4; i++) put16(d + 2 * i, u[i], 0);
    unsigned char body[115];
    memcpy(body, ext, 100);
    memcpy(body + 100, d, 8);
    memset(body + 108, 0x7f, 7);
    write_bytes(p, h, 1024, body, sizeof body);
    x = NULL;
    CHECK_OK(cr_mrc_read(p, &hd, &x));
    CHECK(hd.nsymbt == 100 && hd.data_offset == 1124 && strcmp(hd.exttyp, "FEI2") == 0);
    CHECK(x && x[0] == 0.0f && x[1] == 1.0f && x[2] == 40000.0f && x[3] == 65535.0f);
    CHECK(strcmp(cr_mrc_mode_name(6), "uint16") == 0 && strcmp(cr_mrc_mode_name(1), "int16") == 0 &&
          strcmp(cr_mrc_mode_name(2), "float32") == 0);
    free(x);
}

/* ---- write / read round trip ------------------------------------------ */

static void test_round_trip(void)
{
    const int nx = 37, ny = 23, nz = 3;
    const int64_t n = (int64_t)nx * ny * nz;
    float *a = malloc((size_t)n * sizeof *a), *b = NULL;
    for (int64_t i = 0; i < n; i++) a[i] = (float)(sin(0.37 * (double)i) * 1000.0 + 6800.0 + 1e-3 * (double)i);
    a[5] = -0.0f;
    a[6] = ldexpf(1.0f, -140); /* float32 subnormal survives */
    const char *p = tmp_file("rt.mrc");
    CHECK_OK(cr_mrc_write(p, a, nx, ny, nz, 1.31f, "clrestore test label"));
    cr_mrc_header hd;
    CHECK_OK(cr_mrc_read(p, &hd, &b));
    CHECK(b && memcmp(a, b, (size_t)n * sizeof *a) == 0);
    CHECK(hd.nx == nx && hd.ny == ny && hd.nz == nz && hd.mode == 2);
    CHECK(hd.mx == nx && hd.my == ny && hd.mz == nz);
    CHECK(hd.big_endian == 0 && hd.machst_trusted == 1 && hd.has_map_stamp == 1 && hd.nversion == 20140);
    CHECK(hd.file_size == 1024 + 4 * n && hd.nsymbt == 0);
    CHECK_REL(hd.apix, 1.31, 1e-6);
    CHECK_REL(hd.cell[2], 1.31 * nz, 1e-6);
    CHECK(hd.nlabl == 1 && strcmp(hd.labels[0], "clrestore test label") == 0);
    cr_image_stats s;
    cr_image_stats_compute(a, n, &s);
    CHECK(s.n_nonfinite == 0);
    CHECK(hd.dmin == (float)s.min && hd.dmax == (float)s.max);
    CHECK(hd.dmean == (float)s.mean && hd.rms == (float)s.rms);
    /* independent naive check of the statistics */
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; i++) sum += a[i];
    for (int64_t i = 0; i < n; i++) sq += (a[i] - sum / n) * (a[i] - sum / n);
    CHECK_REL(s.mean, sum / n, 1e-12);
    CHECK_REL(s.rms, sqrt(sq / n), 1e-9);
    float sec[37 * 23];
    CHECK_OK(cr_mrc_read_section(p, &hd, 2, sec));
    CHECK(memcmp(sec, a + 2 * nx * ny, sizeof sec) == 0);
    free(b);
    b = NULL;

    /* NaN/Inf are written and read back; stats skip them; check_finite reports them. */
    a[nx * ny + 2 * nx + 4] = NAN;
    a[n - 1] = -INFINITY;
    p = tmp_file("rt_nan.mrc");
    CHECK_OK(cr_mrc_write(p, a, nx, ny, nz, 0.0f, NULL));
    CHECK_OK(cr_mrc_read(p, &hd, &b));
    CHECK(b && isnan(b[nx * ny + 2 * nx + 4]) && isinf(b[n - 1]));
    CHECK(hd.apix == 0.0f && hd.nlabl == 0);
    cr_image_stats_compute(a, n, &s);
    CHECK(s.n_nonfinite == 2 && isfinite(hd.dmean) && hd.dmean == (float)s.mean);
    CHECK(b && cr_mrc_check_finite(p, b, nx, ny, nz) == CR_ERR_FORMAT);
    CHECK_MSG(strstr(cr_error_message(), "2 pixels are NaN or Inf (first at x=4,y=2,z=1)") &&
                  strstr(cr_error_message(), p), "%s", cr_error_message());
    CHECK_OK(cr_mrc_check_finite(p, a, nx, ny, 1));
    /* no temporary file left behind */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    CHECK(access(tmp, F_OK) != 0);

    CHECK(cr_mrc_write(p, a, 0, ny, nz, 1.0f, NULL) == CR_ERR_ARG);
    CHECK(cr_mrc_write(p, a, nx, ny, nz, NAN, NULL) == CR_ERR_ARG);
    CHECK(cr_mrc_write(tmp_file("no/such/dir.mrc"), a, nx, ny, nz, 1.0f, NULL) != CR_OK);
    CHECK(strstr(cr_error_message(), "no/such/dir.mrc") != NULL);
    free(a);
    free(b);

    /* 613x509 values span two 1 MiB chunks on both write and read. */
    const int64_t m = 613 * 509;
    a = malloc((size_t)m * sizeof *a);
    b = NULL;
    for (int64_t i = 0; i < m; i++) a[i] = (float)((i * 7919) % 100003) * 0.01f - 500.0f;
    p = tmp_file("rt_big.mrc");
    CHECK_OK(cr_mrc_write(p, a, 613, 509, 1, 0.885f, "big"));
    CHECK_OK(cr_mrc_read(p, &hd, &b));
    CHECK(b && memcmp(a, b, (size_t)m * sizeof *a) == 0);
    free(a);
    free(b);
}

/* ---- malformed inputs -------------------------------------------------- */

static void expect_fail(const char *path, const char *what)
{
    cr_mrc_header hd;
    float *x = (float *)&hd; /* must be reset to NULL */
    cr_error_clear();
    cr_status st = cr_mrc_read_header(path, &hd);
    CHECK_MSG(st != CR_OK, "%s: header accepted", what);
    CHECK_MSG(strstr(cr_error_message(), path) != NULL, "%s: message lacks the path: %s", what,
              cr_error_message());
    st = cr_mrc_read(path, &hd, &x);
    CHECK_MSG(st != CR_OK && x == NULL, "%s: read accepted", what);
    printf("  %-22s -> %s: %s\n", what, cr_status_str(st), cr_error_message());
}

static void test_bad_inputs(void)
{
    unsigned char h[1024], d[64];
    memset(d, 0, sizeof d);
    const char *p;

    make_header(h, 0, 4, 4, 1, 2, 1.0f, 0, 0x44, 0x44);
    p = tmp_file("short.mrc");
    write_bytes(p, h, 500, NULL, 0);
    expect_fail(p, "shorter than 1024");
    CHECK(strstr(cr_error_message(), "500 bytes") != NULL);

    p = tmp_file("lying.mrc");
    make_header(h, 0, 4096, 4096, 1, 2, 1.0f, 0, 0x44, 0x44);
    write_bytes(p, h, 1024, d, 64);
    expect_fail(p, "header that lies");
    CHECK_MSG(strstr(cr_error_message(), "4096x4096x1 mode 2 (67108864 data bytes after 1024+0) but the file "
                                         "has 1088 bytes") != NULL, "%s", cr_error_message());

    p = tmp_file("nx0.mrc");
    make_header(h, 0, 0, 4, 1, 2, 1.0f, 0, 0x44, 0x44);
    write_bytes(p, h, 1024, d, 64);
    expect_fail(p, "nx = 0");

    p = tmp_file("nyneg.mrc");
    make_header(h, 0, 4, -4, 1, 2, 1.0f, 0, 0x44, 0x44);
    write_bytes(p, h, 1024, d, 64);
    expect_fail(p, "negative ny");

    p = tmp_file("huge.mrc");
    make_header(h, 0, 1 << 30, 1 << 30, 1 << 30, 2, 1.0f, 0, 0x44, 0x44);
    write_bytes(p, h, 1024, d, 64);
    expect_fail(p, "2^30 cubed");

    p = tmp_file("huge2.mrc");
    make_header(h, 0, 1 << 30, 1 << 30, 1, 2, 1.0f, 0, 0x44, 0x44); /* 2^62 bytes: fits int64, not the file */
    write_bytes(p, h, 1024, d, 64);
    expect_fail(p, "2^62 data bytes");
    CHECK(strstr(cr_error_message(), "(4611686018427387904 data bytes after 1024+0)") != NULL);

    p = tmp_file("mode7.mrc");
    make_header(h, 0, 4, 4, 1, 7, 1.0f, 0, 0x44, 0x44);
    write_bytes(p, h, 1024, d, 64);
    expect_fail(p, "unknown mode 7");
    CHECK(strstr(cr_error_message(), "mode 7") != NULL);

    p = tmp_file("mode4.mrc");
    make_header(h, 0, 2, 2, 1, 4, 1.0f, 0, 0x44, 0x44);
    write_bytes(p, h, 1024, d, 64);
    expect_fail(p, "complex mode 4");

    p = tmp_file("nsymbt.mrc");
    make_header(h, 0, 4, 4, 1, 2, 1.0f, 5000, 0x44, 0x44);
    write_bytes(p, h, 1024, d, 64);
    expect_fail(p, "nsymbt beyond file");
    CHECK(strstr(cr_error_message(), "NSYMBT=5000") != NULL);

    p = tmp_file("nsymbtneg.mrc");
    make_header(h, 0, 4, 4, 1, 2, 1.0f, -8, 0x44, 0x44);
    write_bytes(p, h, 1024, d, 64);
    expect_fail(p, "negative nsymbt");

    p = tmp_file("exthdr_eats_data.mrc"); /* extended header fits, data then do not */
    make_header(h, 0, 4, 4, 1, 2, 1.0f, 32, 0x44, 0x44);
    write_bytes(p, h, 1024, d, 64);
    expect_fail(p, "data after ext header");

    p = tmp_file("adir");
    mkdir(p, 0700);
    expect_fail(p, "a directory");
    CHECK(strstr(cr_error_message(), "directory") != NULL);

    expect_fail(tmp_file("does_not_exist.mrc"), "nonexistent path");

    /* Negative cell (DE software) and NaN cell: pixel size unknown, file still reads. */
    p = tmp_file("negcell.mrc");
    make_header(h, 0, 4, 4, 1, 2, -10.0f, 0, 0x44, 0x44);
    write_bytes(p, h, 1024, d, 64);
    cr_mrc_header hd;
    CHECK_OK(cr_mrc_read_header(p, &hd));
    CHECK(hd.apix == 0.0f && hd.cell[0] == -40.0f);
    make_header(h, 0, 4, 4, 1, 2, NAN, 0, 0x44, 0x44);
    write_bytes(p, h, 1024, d, 64);
    CHECK_OK(cr_mrc_read_header(p, &hd));
    CHECK(hd.apix == 0.0f);
}

/* ---- shared data -------------------------------------------------------- */

/* Header facts from shared/data/SOURCES.md (apix = CELL_X/MX, 0 where the cell
 * is zero or negative). mean/std: computed independently with python3 + numpy
 * 2.4: the raw bytes read with np.frombuffer(dtype '<i1'/'<i2'/'<f4'/'<u2'/'<f2'
 * by MODE, count NX*NY*NZ, offset 1024+NSYMBT), cast to float64, then
 * a.mean() and a.std() (population std, ddof=0). Header DMEAN/RMS are NOT used:
 * several are stale or unset. EMD-3001.map has MAPC/MAPR/MAPS = 3,1,2: it is
 * read as raw sections in file order, and the statistics do not depend on it. */
static const struct ref_file {
    const char *name;
    int nx, ny, nz, mode;
    double apix, mean, std;
    int trusted, map_stamp, nsymbt;
} refs[] = {
    {"maps/EMD-3001.map", 73, 43, 25, 2, 0.448250008, 0.00053296668229498685, 0.15705722114575821, 1, 1, 160},
    {"maps/EMD-3197.map", 20, 20, 20, 2, 11.4, 0.7836120336436434, 2.3999529084942899, 1, 1, 0},
    {"maps/aspire_clean70SRibosome_vol_65p.mrc", 65, 65, 65, 2, 0, 1.6258794378457057e-06,
     6.8800442497491331e-05, 1, 1, 0},
    {"maps/tomodrgn_10076_classD_32.mrc", 32, 32, 32, 2, 1, -1.2299051759281809, 4.738827129504795, 0, 1, 0},
    {"micrographs/Ucsf_stack_1142_DW.mrc", 959, 927, 1, 2, 1, 6802.1264171269268, 8.896080083856301, 1, 1, 0},
    {"micrographs/leginon_groel_negstain_07jan05b_12gr_02en_00.dwn.mrc", 512, 512, 1, 2, 1, 6990.2635528966784,
     252.75610697427047, 1, 1, 0},
    {"micrographs/leginon_holemag_08mar13e_00010gr_00004sq_v02_00005hl.mrc", 512, 512, 1, 2, 1,
     1323.22343168105, 120.85802568155641, 0, 1, 0},
    {"micrographs/magellon_apoferritin_24dec03a_00018ex_ds8_norm_staleheader.mrc", 512, 512, 1, 2, 0.79,
     -0.032238592383690298, 1.1891997276116497, 1, 1, 0},
    {"micrographs/magellon_apoferritin_24dec03a_00018ex_ds8_raw.mrc", 512, 512, 1, 2, 0.79,
     498.61707800737349, 16.39783935596498, 1, 1, 0},
    {"mrc/de_custom_movie_mode6_16x16x30.mrc", 16, 16, 30, 6, 0, 1172.7122395833333, 362.13486100971545, 1, 1, 0},
    {"mrc/de_final_negcell_8x4.mrc", 8, 4, 1, 2, 0, 496, 0, 1, 1, 0},
    {"mrc/de_movie_mode6_8x4x32.mrc", 8, 4, 32, 6, 0, 15.5, 9.2330926563096938, 1, 1, 0},
    {"mrc/emd_3001_f16.mrc", 73, 43, 25, 12, 0.448249974, 0.00052520159362569362, 0.15708256277458454, 1, 1, 0},
    {"mrc/emd_3001_proj.mrcs", 73, 43, 10, 2, 0.448249974, 0.0086991548179950542, 1.2869621944157938, 1, 1, 0},
    {"mrc/emd_3197_f16.mrc", 20, 20, 20, 12, 11.4, 0.78411026346683499, 2.4004228905294505, 1, 1, 0},
    {"mrc/emd_3197_proj.mrcs", 20, 20, 10, 2, 11.4, 18.92471495921281, 23.001409223574857, 1, 1, 0},
    {"mrc/fei2_exthdr_HAADFscan.mrc", 16, 16, 1, 6, 56.7913132, 6066.19921875, 1134.7458464753856, 1, 1, 909312},
    {"mrc/leginon_mymrc_nx256_mx512.mrc", 256, 256, 1, 2, 1, 5591.5324384234846, 388.76522911270774, 1, 1, 0},
    {"mrc/magellon_atlas_lowmag_mode1_1024.mrc", 1024, 1024, 1, 1, 1, 53.818089485168457, 69.051477552864299, 1,
     1, 0},
    {"particles/aspire_sample.mrcs", 200, 200, 17, 2, 0, 0.010644475740102143, 1.0071221516592785, 1, 1, 0},
    {"particles/cryodrgn_relion31.mrcs", 256, 256, 5, 2, 1, 0.010766173491712498, 1.0130505612025769, 0, 0, 0},
    {"particles/empiar_10076_7.mrcs", 320, 320, 7, 2, 0, -0.0034343706676186552, 1.005141858437214, 1, 1, 0},
};

static void test_shared_file(const char *dir, const struct ref_file *r)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, r->name);
    cr_mrc_header hd;
    float *x = NULL;
    cr_status st = cr_mrc_read(path, &hd, &x);
    CHECK_MSG(st == CR_OK, "%s: %s", r->name, cr_error_message());
    if (st != CR_OK) return;
    CHECK_MSG(hd.nx == r->nx && hd.ny == r->ny && hd.nz == r->nz && hd.mode == r->mode,
              "%s: %dx%dx%d mode %d", r->name, hd.nx, hd.ny, hd.nz, hd.mode);
    CHECK_MSG(fabs(hd.apix - r->apix) <= 1e-6 * (1 + r->apix), "%s: apix %.9g vs %.9g", r->name, hd.apix,
              r->apix);
    CHECK_MSG(hd.big_endian == 0 && hd.machst_trusted == r->trusted && hd.has_map_stamp == r->map_stamp &&
                  hd.nsymbt == r->nsymbt && hd.data_offset == 1024 + r->nsymbt,
              "%s: be %d trusted %d map %d nsymbt %d", r->name, hd.big_endian, hd.machst_trusted,
              hd.has_map_stamp, hd.nsymbt);
    int64_t n = (int64_t)hd.nx * hd.ny * hd.nz;
    cr_image_stats s;
    cr_image_stats_compute(x, n, &s);
    CHECK_MSG(s.n_nonfinite == 0, "%s: %lld non-finite", r->name, (long long)s.n_nonfinite);
    /* Double sums in a different order than numpy's pairwise sums: agree to ~1e-12 relative. */
    double tol = 1e-9 * (fabs(r->mean) + r->std) + 1e-15;
    CHECK_MSG(fabs(s.mean - r->mean) <= tol, "%s: mean %.17g vs numpy %.17g", r->name, s.mean, r->mean);
    CHECK_MSG(fabs(s.rms - r->std) <= tol, "%s: std %.17g vs numpy %.17g", r->name, s.rms, r->std);
    /* the last section alone equals the tail of the full read */
    int64_t sec = (int64_t)hd.nx * hd.ny;
    float *one = malloc((size_t)sec * sizeof *one);
    CHECK_OK(cr_mrc_read_section(path, &hd, hd.nz - 1, one));
    CHECK_MSG(memcmp(one, x + n - sec, (size_t)sec * sizeof *one) == 0, "%s: last section differs", r->name);
    free(one);
    free(x);
}

/* Every file under the four MRC folders must be in the table above. */
static void test_shared_listing(const char *dir)
{
    static const char *sub[] = {"mrc", "micrographs", "maps", "particles"};
    int seen = 0;
    for (int i = 0; i < 4; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, sub[i]);
        DIR *dp = opendir(path);
        CHECK_MSG(dp != NULL, "cannot list %s", path);
        if (!dp) continue;
        struct dirent *e;
        while ((e = readdir(dp))) {
            if (e->d_name[0] == '.') continue;
            char rel[600];
            snprintf(rel, sizeof rel, "%s/%s", sub[i], e->d_name);
            int found = 0;
            for (size_t k = 0; k < sizeof refs / sizeof refs[0]; k++) found |= strcmp(refs[k].name, rel) == 0;
            CHECK_MSG(found, "%s is not in the reference table of test_mrc.c", rel);
            seen++;
        }
        closedir(dp);
    }
    CHECK(seen == (int)(sizeof refs / sizeof refs[0]));
}

static void cleanup_tmpdir(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/clrestore_test_mrc_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_half();
    test_float16_file();
    test_big_endian();
    test_int_modes_exthdr_trailing();
    test_round_trip();
    test_bad_inputs();
    cleanup_tmpdir();

    const char *dir = test_shared_data();
    if (!dir) {
        int rc = test_finish("test_mrc (synthetic only)");
        return rc ? rc : 77;
    }
    test_shared_listing(dir);
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) test_shared_file(dir, &refs[i]);
    printf("  %zu shared MRC files checked\n", sizeof refs / sizeof refs[0]);
    return test_finish("test_mrc");
}
