/* MRC2014 reader and writer.
 *
 * The 1024-byte header is decoded byte by byte for an explicit byte order, so
 * the code does not depend on the host's endianness. Every size in the header
 * is checked against the real file size before any data buffer is allocated;
 * data are then read in fixed-size chunks and converted to float32 as they go. */
#include "clrestore/mrc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "clrestore/fileutil.h"

/* Raw bytes per read/write chunk: large enough for throughput, small enough
 * that int modes never need a second full-size buffer. */
#define CR_MRC_CHUNK_BYTES (1 << 20)

/* Byte offsets of the MRC2014 header fields (word n at 4*(n-1)). */
enum {
    OFF_NX = 0, OFF_NY = 4, OFF_NZ = 8, OFF_MODE = 12,
    OFF_NXSTART = 16, OFF_NYSTART = 20, OFF_NZSTART = 24,
    OFF_MX = 28, OFF_MY = 32, OFF_MZ = 36,
    OFF_CELLA = 40, OFF_CELLB = 52,
    OFF_MAPC = 64, OFF_MAPR = 68, OFF_MAPS = 72,
    OFF_DMIN = 76, OFF_DMAX = 80, OFF_DMEAN = 84,
    OFF_ISPG = 88, OFF_NSYMBT = 92,
    OFF_EXTTYP = 104, OFF_NVERSION = 108,
    OFF_ORIGIN = 196, OFF_MAP = 208, OFF_MACHST = 212, OFF_RMS = 216,
    OFF_NLABL = 220, OFF_LABELS = 224
};

/* ---- byte-order helpers ------------------------------------------------ */

static uint32_t get_u32(const unsigned char *p, int be)
{
    if (be)
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | (uint32_t)p[0];
}

static int32_t get_i32(const unsigned char *p, int be)
{
    uint32_t u = get_u32(p, be);
    int32_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static float get_f32(const unsigned char *p, int be)
{
    uint32_t u = get_u32(p, be);
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static uint16_t get_u16(const unsigned char *p, int be)
{
    return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static void put_u32le(unsigned char *p, uint32_t u)
{
    p[0] = (unsigned char)u;
    p[1] = (unsigned char)(u >> 8);
    p[2] = (unsigned char)(u >> 16);
    p[3] = (unsigned char)(u >> 24);
}

static void put_i32le(unsigned char *p, int32_t v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    put_u32le(p, u);
}

static void put_f32le(unsigned char *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    put_u32le(p, u);
}

/* binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Subnormals
 * (exponent 0) are m * 2^-24; they are renormalised into binary32's range by
 * shifting the mantissa up until its implicit bit appears. */
float cr_half_to_float(uint16_t bits)
{
    uint32_t sign = (uint32_t)(bits >> 15) << 31;
    uint32_t exp = (bits >> 10) & 0x1f;
    uint32_t man = bits & 0x3ff;
    uint32_t out;
    if (exp == 0) {
        if (man == 0) {
            out = sign; /* ±0 */
        } else {
            int32_t e = 127 - 15 + 1;
            while (!(man & 0x400)) {
                man <<= 1;
                e--;
            }
            out = sign | (uint32_t)e << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        out = sign | 0x7f800000u | man << 13; /* Inf, or NaN keeping its payload */
    } else {
        out = sign | (exp - 15 + 127) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &out, sizeof f);
    return f;
}

const char *cr_mrc_mode_name(int mode)
{
    switch (mode) {
    case 0: return "int8";
    case 1: return "int16";
    case 2: return "float32";
    case 3: return "complex int16";
    case 4: return "complex float32";
    case 6: return "uint16";
    case 12: return "float16";
    case 101: return "4-bit";
    default: return "unknown";
    }
}

int cr_mrc_mode_bytes(int mode)
{
    switch (mode) {
    case 0: return 1;
    case 1: case 6: case 12: return 2;
    case 2: return 4;
    default: return 0;
    }
}

/* Converts count values of the given mode from raw bytes to float32. */
static void convert_chunk(const unsigned char *src, int64_t count, int mode, int be, float *dst)
{
    int64_t i;
    switch (mode) {
    case 0:
        for (i = 0; i < count; i++) dst[i] = (float)(int8_t)src[i];
        break;
    case 1:
        for (i = 0; i < count; i++) dst[i] = (float)(int16_t)get_u16(src + 2 * i, be);
        break;
    case 2:
        for (i = 0; i < count; i++) dst[i] = get_f32(src + 4 * i, be);
        break;
    case 6:
        for (i = 0; i < count; i++) dst[i] = (float)get_u16(src + 2 * i, be);
        break;
    case 12:
        for (i = 0; i < count; i++) dst[i] = cr_half_to_float(get_u16(src + 2 * i, be));
        break;
    }
}

/* ---- header ------------------------------------------------------------ */

/* nx*ny*nz*bytes(mode) in *out; 0 when a factor is not positive or the
 * product overflows int64. */
static int data_size(int32_t nx, int32_t ny, int32_t nz, int mode, int64_t *out)
{
    int64_t b = cr_mrc_mode_bytes(mode);
    if (nx <= 0 || ny <= 0 || nz <= 0 || b == 0) return 0;
    int64_t n = (int64_t)nx * ny; /* < 2^62: no overflow */
    if (n > INT64_MAX / nz) return 0;
    n *= nz;
    if (n > INT64_MAX / b) return 0;
    *out = n * b;
    return 1;
}

/* How well the header reads in one byte order: 0 = mode unknown or a
 * dimension not positive, 1 = mode and dimensions sane, 2 = also the
 * extended header and the data fit in the file. */
static int order_score(const unsigned char *b, int be, int64_t file_size)
{
    int32_t nx = get_i32(b + OFF_NX, be), ny = get_i32(b + OFF_NY, be);
    int32_t nz = get_i32(b + OFF_NZ, be), mode = get_i32(b + OFF_MODE, be);
    int32_t nsymbt = get_i32(b + OFF_NSYMBT, be);
    int64_t bytes;
    if (!data_size(nx, ny, nz, mode, &bytes)) return 0;
    if (nsymbt < 0 || (int64_t)CR_MRC_HEADER_BYTES + nsymbt > file_size) return 1;
    if (bytes > file_size - CR_MRC_HEADER_BYTES - nsymbt) return 1;
    return 2;
}

/* MACHST byte 0 is 0x44 for little-endian and 0x11 for big-endian data. A
 * stamp is followed unless the header only makes sense in the other order;
 * zero or odd stamps (00 00 44 44 from Leginon, all zeros from old writers)
 * are resolved by the score above, ties going to little-endian. */
static void choose_order(const unsigned char *b, int64_t file_size, int *be, int *trusted)
{
    int sl = order_score(b, 0, file_size), sb = order_score(b, 1, file_size);
    unsigned char st = b[OFF_MACHST];
    if (st == 0x44 || st == 0x11) {
        int stamped_be = st == 0x11;
        int s_stamp = stamped_be ? sb : sl, s_other = stamped_be ? sl : sb;
        if (s_stamp < 2 && s_other == 2) {
            *be = !stamped_be;
            *trusted = 0;
        } else {
            *be = stamped_be;
            *trusted = 1;
        }
        return;
    }
    *be = sb > sl;
    *trusted = 0;
}

/* A label: 80 characters, blank- or NUL-padded; kept up to the first NUL with
 * trailing blanks removed and non-printable bytes replaced by '?'. */
static void copy_label(char out[81], const unsigned char *src)
{
    int n = 0;
    while (n < 80 && src[n] != '\0') {
        out[n] = (src[n] >= 32 && src[n] < 127) ? (char)src[n] : '?';
        n++;
    }
    while (n > 0 && out[n - 1] == ' ') n--;
    out[n] = '\0';
}

/* Decodes and validates a header already read into b. */
static cr_status parse_header(const char *path, const unsigned char *b, int64_t file_size,
                              cr_mrc_header *h)
{
    int be, trusted, i;
    memset(h, 0, sizeof *h);
    choose_order(b, file_size, &be, &trusted);
    h->big_endian = be;
    h->machst_trusted = trusted;
    h->file_size = file_size;
    h->nx = get_i32(b + OFF_NX, be);
    h->ny = get_i32(b + OFF_NY, be);
    h->nz = get_i32(b + OFF_NZ, be);
    h->mode = get_i32(b + OFF_MODE, be);
    h->nxstart = get_i32(b + OFF_NXSTART, be);
    h->nystart = get_i32(b + OFF_NYSTART, be);
    h->nzstart = get_i32(b + OFF_NZSTART, be);
    h->mx = get_i32(b + OFF_MX, be);
    h->my = get_i32(b + OFF_MY, be);
    h->mz = get_i32(b + OFF_MZ, be);
    for (i = 0; i < 3; i++) {
        h->cell[i] = get_f32(b + OFF_CELLA + 4 * i, be);
        h->cellb[i] = get_f32(b + OFF_CELLB + 4 * i, be);
        h->origin[i] = get_f32(b + OFF_ORIGIN + 4 * i, be);
    }
    h->mapc = get_i32(b + OFF_MAPC, be);
    h->mapr = get_i32(b + OFF_MAPR, be);
    h->maps = get_i32(b + OFF_MAPS, be);
    h->dmin = get_f32(b + OFF_DMIN, be);
    h->dmax = get_f32(b + OFF_DMAX, be);
    h->dmean = get_f32(b + OFF_DMEAN, be);
    h->rms = get_f32(b + OFF_RMS, be);
    h->ispg = get_i32(b + OFF_ISPG, be);
    h->nsymbt = get_i32(b + OFF_NSYMBT, be);
    h->nversion = get_i32(b + OFF_NVERSION, be);
    for (i = 0; i < 4 && b[OFF_EXTTYP + i] >= 32 && b[OFF_EXTTYP + i] < 127; i++)
        h->exttyp[i] = (char)b[OFF_EXTTYP + i];
    h->has_map_stamp = memcmp(b + OFF_MAP, "MAP ", 4) == 0;
    int32_t nlabl = get_i32(b + OFF_NLABL, be);
    h->nlabl = nlabl < 0 ? 0 : nlabl > 10 ? 10 : nlabl;
    for (i = 0; i < h->nlabl; i++) copy_label(h->labels[i], b + OFF_LABELS + 80 * i);

    /* Pixel size from the cell: cell[0]/mx. DE software writes negative cell
     * lengths (-10 Å/px) and many tools write zeros; neither is a pixel size,
     * so both (and NaN/Inf) give 0 = unknown, and callers ask the user. */
    if (h->mx > 0 && isfinite(h->cell[0]) && h->cell[0] > 0.0f)
        h->apix = (float)((double)h->cell[0] / h->mx);

    const char *order = be ? "big-endian" : "little-endian";
    if (cr_mrc_mode_bytes(h->mode) == 0) {
        if (h->mode == 3 || h->mode == 4 || h->mode == 101)
            return cr_fail(CR_ERR_UNSUPPORTED,
                           "%s: MRC mode %d (%s) is not supported (supported: 0 int8, 1 int16, "
                           "2 float32, 6 uint16, 12 float16)", path, h->mode, cr_mrc_mode_name(h->mode));
        return cr_fail(CR_ERR_FORMAT,
                       "%s: unknown MRC mode %d (read %s; supported: 0 int8, 1 int16, 2 float32, "
                       "6 uint16, 12 float16) - not an MRC file?", path, h->mode, order);
    }
    if (h->nx <= 0 || h->ny <= 0 || h->nz <= 0)
        return cr_fail(CR_ERR_FORMAT, "%s: header has dimensions %dx%dx%d (read %s); all must be positive",
                       path, h->nx, h->ny, h->nz, order);
    if (h->nsymbt < 0)
        return cr_fail(CR_ERR_FORMAT, "%s: header has a negative extended header size NSYMBT=%d", path,
                       h->nsymbt);
    h->data_offset = (int64_t)CR_MRC_HEADER_BYTES + h->nsymbt;
    if (h->data_offset > file_size)
        return cr_fail(CR_ERR_FORMAT,
                       "%s: extended header of NSYMBT=%d bytes runs past the end of the file (%lld bytes)",
                       path, h->nsymbt, (long long)file_size);
    if (!data_size(h->nx, h->ny, h->nz, h->mode, &h->data_bytes))
        return cr_fail(CR_ERR_FORMAT,
                       "%s: header says %dx%dx%d mode %d (2^63 or more data bytes) but the file has %lld bytes",
                       path, h->nx, h->ny, h->nz, h->mode, (long long)file_size);
    if (h->data_bytes > file_size - h->data_offset)
        return cr_fail(CR_ERR_FORMAT,
                       "%s: header says %dx%dx%d mode %d (%lld data bytes after 1024+%d) but the file has "
                       "%lld bytes", path, h->nx, h->ny, h->nz, h->mode, (long long)h->data_bytes,
                       h->nsymbt, (long long)file_size);
    return CR_OK;
}

/* Opens path, checks its size and parses the header; on success *fp is open. */
static cr_status open_and_parse(const char *path, cr_mrc_header *h, FILE **fp_out)
{
    unsigned char b[CR_MRC_HEADER_BYTES];
    int64_t size = 0;
    if (!path || !h) return cr_fail(CR_ERR_ARG, "cr_mrc_read_header: NULL %s", path ? "header" : "path");
    cr_status st = cr_file_size(path, &size);
    if (st != CR_OK) return st;
    if (size < CR_MRC_HEADER_BYTES)
        return cr_fail(CR_ERR_FORMAT, "%s: file has %lld bytes, shorter than the 1024-byte MRC header", path,
                       (long long)size);
    FILE *fp = fopen(path, "rb");
    if (!fp) return cr_fail(CR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fread(b, 1, sizeof b, fp) != sizeof b) {
        int e = ferror(fp) ? errno : 0;
        fclose(fp);
        return cr_fail(CR_ERR_IO, "%s: cannot read the MRC header: %s", path,
                       e ? strerror(e) : "unexpected end of file");
    }
    st = parse_header(path, b, size, h);
    if (st != CR_OK) {
        fclose(fp);
        return st;
    }
    *fp_out = fp;
    return CR_OK;
}

cr_status cr_mrc_read_header(const char *path, cr_mrc_header *h)
{
    FILE *fp = NULL;
    cr_status st = open_and_parse(path, h, &fp);
    if (fp) fclose(fp);
    return st;
}

/* ---- data -------------------------------------------------------------- */

/* Reads count values starting at value index first (x fastest) into out. */
static cr_status read_values(FILE *fp, const char *path, const cr_mrc_header *h, int64_t first,
                             int64_t count, float *out)
{
    int bpv = cr_mrc_mode_bytes(h->mode);
    int64_t offset = h->data_offset + first * bpv;
    if (fseeko(fp, (off_t)offset, SEEK_SET) != 0)
        return cr_fail(CR_ERR_IO, "%s: cannot seek to byte %lld: %s", path, (long long)offset,
                       strerror(errno));
    unsigned char *buf = malloc(CR_MRC_CHUNK_BYTES);
    if (!buf) return cr_fail(CR_ERR_NOMEM, "%s: out of memory for a read buffer", path);
    int64_t per = CR_MRC_CHUNK_BYTES / bpv;
    while (count > 0) {
        int64_t k = count < per ? count : per;
        size_t got = fread(buf, (size_t)bpv, (size_t)k, fp);
        if (got != (size_t)k) {
            int e = ferror(fp) ? errno : 0;
            free(buf);
            if (e) return cr_fail(CR_ERR_IO, "%s: read failed: %s", path, strerror(e));
            return cr_fail(CR_ERR_IO, "%s: unexpected end of file near byte %lld (did it shrink?)", path,
                           (long long)(offset + (int64_t)got * bpv));
        }
        convert_chunk(buf, k, h->mode, h->big_endian, out);
        out += k;
        count -= k;
        offset += k * bpv;
    }
    free(buf);
    return CR_OK;
}

cr_status cr_mrc_read(const char *path, cr_mrc_header *h, float **data)
{
    FILE *fp = NULL;
    if (!data) return cr_fail(CR_ERR_ARG, "%s: cr_mrc_read: NULL output pointer", path ? path : "(null)");
    *data = NULL;
    cr_status st = open_and_parse(path, h, &fp);
    if (st != CR_OK) return st;
    int64_t n = (int64_t)h->nx * h->ny * h->nz; /* validated: n*bpv <= file size */
    if ((uint64_t)n > SIZE_MAX / sizeof(float)) {
        fclose(fp);
        return cr_fail(CR_ERR_NOMEM, "%s: %lld values do not fit in memory", path, (long long)n);
    }
    float *buf = malloc((size_t)n * sizeof(float));
    if (!buf) {
        fclose(fp);
        return cr_fail(CR_ERR_NOMEM, "%s: out of memory for %dx%dx%d float32 values (%lld bytes)", path,
                       h->nx, h->ny, h->nz, (long long)(n * 4));
    }
    st = read_values(fp, path, h, 0, n, buf);
    fclose(fp);
    if (st != CR_OK) {
        free(buf);
        return st;
    }
    *data = buf;
    return CR_OK;
}

cr_status cr_mrc_read_section(const char *path, const cr_mrc_header *h, int z, float *out)
{
    if (!path || !h || !out) return cr_fail(CR_ERR_ARG, "cr_mrc_read_section: NULL argument");
    int bpv = cr_mrc_mode_bytes(h->mode);
    if (bpv == 0 || h->nx <= 0 || h->ny <= 0 || h->nz <= 0)
        return cr_fail(CR_ERR_ARG, "%s: cr_mrc_read_section: header was not read successfully", path);
    if (z < 0 || z >= h->nz)
        return cr_fail(CR_ERR_ARG, "%s: section %d out of range (the file has %d sections)", path, z, h->nz);
    int64_t sec = (int64_t)h->nx * h->ny;
    int64_t size = 0;
    cr_status st = cr_file_size(path, &size);
    if (st != CR_OK) return st;
    int64_t end = h->data_offset + (int64_t)(z + 1) * sec * bpv;
    if (end > size)
        return cr_fail(CR_ERR_FORMAT, "%s: section %d ends at byte %lld but the file has %lld bytes", path, z,
                       (long long)end, (long long)size);
    FILE *fp = fopen(path, "rb");
    if (!fp) return cr_fail(CR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    st = read_values(fp, path, h, (int64_t)z * sec, sec, out);
    fclose(fp);
    return st;
}

/* ---- statistics -------------------------------------------------------- */

void cr_image_stats_compute(const float *data, int64_t n, cr_image_stats *s)
{
    double sum = 0.0, lo = INFINITY, hi = -INFINITY;
    int64_t good = 0, i;
    memset(s, 0, sizeof *s);
    for (i = 0; i < n; i++) {
        float v = data[i];
        if (!isfinite(v)) {
            s->n_nonfinite++;
            continue;
        }
        sum += v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        good++;
    }
    if (good == 0) return;
    double mean = sum / (double)good, ss = 0.0;
    /* Second pass about the mean: no cancellation for data far from zero. */
    for (i = 0; i < n; i++) {
        if (!isfinite(data[i])) continue;
        double d = (double)data[i] - mean;
        ss += d * d;
    }
    s->min = lo;
    s->max = hi;
    s->mean = mean;
    s->rms = sqrt(ss / (double)good);
}

cr_status cr_mrc_check_finite(const char *path, const float *data, int nx, int ny, int nz)
{
    int64_t n = (int64_t)nx * ny * nz, bad = 0, first = -1, i;
    for (i = 0; i < n; i++) {
        if (!isfinite(data[i])) {
            if (first < 0) first = i;
            bad++;
        }
    }
    if (bad == 0) return CR_OK;
    int64_t sec = (int64_t)nx * ny;
    return cr_fail(CR_ERR_FORMAT, "%s: %lld pixel%s NaN or Inf (first at x=%lld,y=%lld,z=%lld)", path,
                   (long long)bad, bad == 1 ? " is" : "s are", (long long)(first % nx),
                   (long long)((first / nx) % ny), (long long)(first / sec));
}

/* ---- writing ----------------------------------------------------------- */

cr_status cr_mrc_write(const char *path, const float *data, int nx, int ny, int nz, float apix,
                       const char *label)
{
    unsigned char hdr[CR_MRC_HEADER_BYTES];
    int64_t nbytes = 0, i;
    if (!path || !data) return cr_fail(CR_ERR_ARG, "cr_mrc_write: NULL %s", path ? "data" : "path");
    if (!data_size(nx, ny, nz, CR_MRC_MODE_FLOAT32, &nbytes))
        return cr_fail(CR_ERR_ARG, "%s: cannot write an MRC of %dx%dx%d values", path, nx, ny, nz);
    if (!isfinite(apix) || apix < 0.0f)
        return cr_fail(CR_ERR_ARG, "%s: pixel size %g is not a finite non-negative number", path, apix);
    int64_t n = nbytes / 4;
    cr_image_stats s;
    cr_image_stats_compute(data, n, &s);

    memset(hdr, 0, sizeof hdr);
    put_i32le(hdr + OFF_NX, nx);
    put_i32le(hdr + OFF_NY, ny);
    put_i32le(hdr + OFF_NZ, nz);
    put_i32le(hdr + OFF_MODE, CR_MRC_MODE_FLOAT32);
    put_i32le(hdr + OFF_MX, nx);
    put_i32le(hdr + OFF_MY, ny);
    put_i32le(hdr + OFF_MZ, nz);
    put_f32le(hdr + OFF_CELLA + 0, (float)((double)apix * nx));
    put_f32le(hdr + OFF_CELLA + 4, (float)((double)apix * ny));
    put_f32le(hdr + OFF_CELLA + 8, (float)((double)apix * nz));
    for (i = 0; i < 3; i++) {
        put_f32le(hdr + OFF_CELLB + 4 * i, 90.0f);
        put_i32le(hdr + OFF_MAPC + 4 * i, (int32_t)i + 1);
    }
    put_f32le(hdr + OFF_DMIN, (float)s.min);
    put_f32le(hdr + OFF_DMAX, (float)s.max);
    put_f32le(hdr + OFF_DMEAN, (float)s.mean);
    put_f32le(hdr + OFF_RMS, (float)s.rms);
    /* ISPG 0 = image (or stack of images); with MZ = NZ > 1 the file describes a volume, ISPG 1. */
    put_i32le(hdr + OFF_ISPG, nz > 1 ? 1 : 0);
    put_i32le(hdr + OFF_NVERSION, 20140);
    memcpy(hdr + OFF_MAP, "MAP ", 4);
    hdr[OFF_MACHST] = 0x44;
    hdr[OFF_MACHST + 1] = 0x44;
    if (label && *label) {
        size_t len = strlen(label);
        if (len > 80) len = 80;
        memset(hdr + OFF_LABELS, ' ', 80);
        memcpy(hdr + OFF_LABELS, label, len);
        put_i32le(hdr + OFF_NLABL, 1);
    }

    cr_atomic_file f;
    cr_status st = cr_atomic_open(&f, path);
    if (st != CR_OK) return st;
    unsigned char *buf = malloc(CR_MRC_CHUNK_BYTES);
    if (!buf) {
        cr_atomic_abort(&f);
        return cr_fail(CR_ERR_NOMEM, "%s: out of memory for a write buffer", path);
    }
    int ok = fwrite(hdr, 1, sizeof hdr, f.fp) == sizeof hdr;
    const int64_t per = CR_MRC_CHUNK_BYTES / 4;
    for (i = 0; ok && i < n; i += per) {
        int64_t k = n - i < per ? n - i : per, j;
        for (j = 0; j < k; j++) put_f32le(buf + 4 * j, data[i + j]);
        ok = fwrite(buf, 4, (size_t)k, f.fp) == (size_t)k;
    }
    int e = errno;
    free(buf);
    if (!ok) {
        cr_atomic_abort(&f);
        return cr_fail(CR_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    return cr_atomic_commit(&f);
}
