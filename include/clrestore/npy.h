/* NumPy .npy files holding a one-dimensional structured array (the format of
 * cryoSPARC's .cs files), and the cryoSPARC exposure view of them.
 *
 * Format (numpy.lib.format, versions 1.0 to 3.0): "\x93NUMPY", major, minor,
 * a little-endian header length (2 bytes in 1.0, 4 in 2.0/3.0), then a Python
 * dict literal {'descr': [...], 'fortran_order': False, 'shape': (N,)} and the
 * N packed records. A field is ('name', 'typestr') or ('name', 'typestr',
 * (shape,)); typestr is a byte order (< > | =), a kind (b i u f S U V ...) and
 * a size in bytes (characters for U). Object fields ('O': pickled Python
 * objects) and nested records are refused with a message naming the field.
 * Every error reads "FILE: what is wrong". */
#ifndef CLRESTORE_NPY_H
#define CLRESTORE_NPY_H

#include <stddef.h>

#include "clrestore/star.h"
#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cr_npy_field {
    char *name;     /* "ctf/df1_A" */
    char kind;      /* numpy kind: 'b' 'i' 'u' 'f' 'S' 'U' 'V', others kept opaque */
    int big_endian; /* '>' byte order */
    size_t size;    /* bytes of one element (U: 4 per character) */
    size_t count;   /* elements per record (product of the sub-array shape; 1 for scalars) */
    size_t offset;  /* byte offset in the record */
} cr_npy_field;

typedef struct cr_npy {
    char *path;      /* for messages */
    size_t nrows;    /* records */
    size_t itemsize; /* bytes per record */
    int nfields;
    cr_npy_field *fields;      /* (nfields) */
    const unsigned char *data; /* (nrows, itemsize), inside buf */
    unsigned char *buf;        /* the whole file */
} cr_npy;

/* Parses len bytes (copied); name starts every message. */
cr_status cr_npy_parse(const void *bytes, size_t len, const char *name, cr_npy **out);
cr_status cr_npy_read(const char *path, cr_npy **out);
void cr_npy_free(cr_npy *a); /* accepts NULL */

/* Index of the field called name; -1 when absent. */
int cr_npy_field_index(const cr_npy *a, const char *name);
/* Element elem of a numeric (b, i, u, f) field of record row, as a double. */
cr_status cr_npy_get_double(const cr_npy *a, size_t row, int field, size_t elem, double *out);
/* A byte-string (S) or unicode (U, ASCII only) field, NUL padding removed. */
cr_status cr_npy_get_string(const cr_npy *a, size_t row, int field, char *out, size_t outlen);

/* ---- cryoSPARC exposures -------------------------------------------------- */

/* Whether path names a cryoSPARC file (ends in ".cs"). */
int cr_is_cs_path(const char *path);

/* The exposures of a cryoSPARC .cs file as the RELION 3.1 micrograph STAR a
 * user would write for them: data_optics with one group per distinct
 * (pixel size, voltage, Cs, amplitude contrast), data_micrographs with
 * _rlnMicrographName = micrograph_blob/path, _rlnOpticsGroup and, when the
 * ctf/ fields are there, _rlnDefocusU/V = ctf/df1_A, df2_A, _rlnDefocusAngle
 * and _rlnPhaseShift = ctf/df_angle_rad, phase_shift_rad in degrees (the
 * mapping of pyem's csparc2star). With need_ctf, the CTF fields must all be
 * present (the error names the missing one). The STAR's path (cr_star_path)
 * is the .cs path, so later messages name it. */
cr_status cr_cs_to_star(const cr_npy *a, int need_ctf, cr_star_file **out);

/* A micrograph list: a cryoSPARC .cs file (converted as above) or a STAR file. */
cr_status cr_micrograph_list_read(const char *path, int need_ctf, cr_star_file **out);

/* cryoSPARC paths are relative to the project directory, and a job's .cs
 * file lies in PROJECT/Jnn/: names are tried beside the .cs file, in its
 * parent directory, then in the working directory. Errors as cr_resolve_path. */
cr_status cr_cs_resolve_path(const char *cs_path, const char *name, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif
#endif
