/* MRC2014 image files: header parsing with validation against the file size,
 * reading modes 0/1/2/6/12 in either byte order as float32, and writing
 * mode-2 little-endian files atomically with statistics and pixel size.
 *
 * Layout: values are stored x fastest (NX columns), then y (NY rows), then
 * z (NZ sections); data start at 1024 + NSYMBT (extended header skipped).
 * Axis permutations (MAPC/MAPR/MAPS) are reported but not applied: sections
 * are returned in file order. */
#ifndef CLRESTORE_MRC_H
#define CLRESTORE_MRC_H

#include <stdint.h>

#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CR_MRC_HEADER_BYTES 1024

/* MRC2014 data modes that clrestore reads. */
enum {
    CR_MRC_MODE_INT8 = 0,     /* signed 8-bit (MRC2014; old files may mean unsigned) */
    CR_MRC_MODE_INT16 = 1,    /* signed 16-bit */
    CR_MRC_MODE_FLOAT32 = 2,  /* IEEE binary32 */
    CR_MRC_MODE_UINT16 = 6,   /* unsigned 16-bit */
    CR_MRC_MODE_FLOAT16 = 12  /* IEEE binary16 */
};

typedef struct cr_mrc_header {
    int32_t nx, ny, nz;       /* columns (fast), rows, sections */
    int32_t mode;             /* 0,1,2,6,12 supported */
    int32_t nxstart, nystart, nzstart;
    int32_t mx, my, mz;       /* sampling along the cell axes */
    float cell[3];            /* cell lengths, Å */
    float cellb[3];           /* cell angles, degrees */
    int32_t mapc, mapr, maps; /* axis permutation (1,2,3 = none); not applied */
    float dmin, dmax, dmean, rms; /* as written in the header: may be stale or unset */
    int32_t ispg, nsymbt, nversion;
    char exttyp[5];           /* NUL-terminated; "FEI2", "MRCO", ... or "" */
    float origin[3];
    int big_endian;           /* data/header byte order actually used */
    int machst_trusted;       /* 0 when the stamp was zero/odd (or contradicted the header) and order was inferred */
    int has_map_stamp;        /* "MAP " present */
    int nlabl;                /* labels present, 0..10 */
    char labels[10][81];      /* trailing blanks stripped; unused entries "" */
    int64_t data_offset;      /* 1024 + nsymbt */
    int64_t data_bytes;       /* nx*ny*nz*bytes per value */
    int64_t file_size;
    float apix;               /* cell[0]/mx in Å/px; 0 when unknown (cell or mx zero, negative, nan) */
} cr_mrc_header;

/* Image statistics over the finite values; rms = standard deviation from the
 * mean (population, as MRC2014 defines RMS). All zero when no value is finite. */
typedef struct cr_image_stats {
    double min, max, mean, rms;
    int64_t n_nonfinite;      /* NaN and ±Inf values skipped */
} cr_image_stats;

/* Reads and validates the header: byte order, mode, dimensions, extended header
 * and data size against the file size; nothing is allocated. */
cr_status cr_mrc_read_header(const char *path, cr_mrc_header *h);

/* Reads all nx*ny*nz values as float32 (x fastest) into a new buffer the caller
 * free()s. NaN/Inf values are returned as they are (see cr_mrc_check_finite). */
cr_status cr_mrc_read(const char *path, cr_mrc_header *h, float **data);

/* Reads section z (0-based, file order) into out (nx*ny floats); h comes from
 * cr_mrc_read_header on the same path. */
cr_status cr_mrc_read_section(const char *path, const cr_mrc_header *h, int z, float *out);

/* Writes a mode-2 little-endian MRC2014 file atomically (temp + fsync + rename):
 * MX,MY,MZ = NX,NY,NZ; cell = apix*n per axis (apix 0 = unknown); header
 * DMIN/DMAX/DMEAN/RMS from cr_image_stats_compute; "MAP ", MACHST 44 44 00 00,
 * NVERSION 20140; label (may be NULL) truncated to 80 characters. */
cr_status cr_mrc_write(const char *path, const float *data, int nx, int ny, int nz, float apix,
                       const char *label);

/* Two-pass statistics in double precision over n values; NaN/Inf are counted and skipped. */
void cr_image_stats_compute(const float *data, int64_t n, cr_image_stats *s);

/* CR_OK when every value is finite, else CR_ERR_FORMAT with
 * "path: 3 pixels are NaN or Inf (first at x=..,y=..,z=..)". data holds nx*ny*nz values. */
cr_status cr_mrc_check_finite(const char *path, const float *data, int nx, int ny, int nz);

/* "int8", "int16", "float32", "uint16", "float16"; "complex int16", "complex float32",
 * "4-bit" for modes read by other programs; "unknown" otherwise. */
const char *cr_mrc_mode_name(int mode);

/* Bytes per value of a supported mode, 0 for any other. */
int cr_mrc_mode_bytes(int mode);

/* IEEE binary16 bit pattern to float32 (exact: normals, subnormals, ±0, ±Inf, NaN). */
float cr_half_to_float(uint16_t bits);

#ifdef __cplusplus
}
#endif
#endif
