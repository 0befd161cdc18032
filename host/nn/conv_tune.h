/* Tuning as data for the tiled convolutions (conv_fast.h, docs/tuning.md): the
 * parameters (cr_conv_tiles) are looked up per device and per convolution shape
 * class, from (1) a file named by CLRESTORE_CONV_PARAMS, (2) the user's tuning cache
 * written by `clrestore tune`, (3) the built-in database (conv_tune_db.c), (4) a
 * fallback derived from the device's properties; each class takes the first that
 * has it. Every tunable is one row of cr_conv_fields, which the cache files, the
 * database rows and the reports all go through. Internal to host/nn. */
#ifndef CLRESTORE_CONV_TUNE_H
#define CLRESTORE_CONV_TUNE_H

#include <stddef.h>

#include "clrestore/runtime.h"
#include "conv_fast.h"

/* Shape classes: what changes the best tiles. Tiny layers (the test networks, at
 * most 8 channels in and out) are one class; the others split by kind (1x1, k x k
 * stride 1, stride 2) and, where the default network has both, by output channels
 * (the forward register tile's dimension): narrow <= 32 < wide. A 1x1 that reduces
 * at least 256 input channels to a quarter or fewer (the 512 -> 102 bottlenecks) is
 * its own class, 1x1-deep: its forward fetched the input once per 6 output blocks per
 * core, from DRAM, and gained from conv_fwd_allco where no other class did. */
typedef enum cr_conv_class {
    CR_CC_TINY,
    CR_CC_1X1_NARROW,
    CR_CC_1X1_WIDE,
    CR_CC_KXK_NARROW,
    CR_CC_KXK_WIDE,
    CR_CC_S2,
    CR_CC_1X1_DEEP,
    CR_CONV_NCLASSES
} cr_conv_class;

const char *cr_conv_class_name(int cls);      /* "tiny", "1x1-narrow", ... */
int cr_conv_class_find(const char *name);      /* -1 when unknown */
int cr_conv_class_of(int cin, int cout, int k, int stride);

/* One tunable: the name in files and reports, where it lives, its valid range. */
typedef struct cr_conv_field {
    const char *name;
    size_t offset; /* of an int in cr_conv_tiles */
    int min, max;
    int pow2;      /* the value must also be a power of two (vector widths) */
} cr_conv_field;

extern const cr_conv_field cr_conv_fields[];
extern const int cr_conv_nfields;

/* Applies "name=value name=value ..." to t (fields not named keep their value).
 * Returns 0, or -1 with a one-line reason in err. */
int cr_conv_tiles_parse(const char *text, cr_conv_tiles *t, char *err, size_t errlen);
/* "name=value ..." for every field. */
void cr_conv_tiles_format(const cr_conv_tiles *t, char *buf, size_t len);
/* 0 when every field is within its range, else -1 with the reason. */
int cr_conv_tiles_check(const cr_conv_tiles *t, char *err, size_t errlen);

/* The parameter set of one device: one tile set per class, and where each came from
 * ("cache FILE", "built-in ENTRY", "fallback: WHY", "file FILE"). */
typedef struct cr_conv_params {
    cr_conv_tiles cls[CR_CONV_NCLASSES];
    char source[CR_CONV_NCLASSES][320];
} cr_conv_params;

/* ---- built-in database (conv_tune_db.c) ------------------------------------ */

/* The register budget and vector width a CPU device's compiler targets, from PoCL's
 * device name ("pthread-<llvm cpu>-...") else CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT. */
typedef struct cr_conv_isa {
    int vec_floats; /* floats per vector register: 16 (AVX-512), 8 (AVX/AVX2), 4 */
    int registers;  /* vector registers: 32 or 16 */
    const char *why; /* "name says skylake-avx512", ... */
} cr_conv_isa;
cr_conv_isa cr_conv_isa_of(const cr_device_desc *d);

/* The tiles derived from device properties alone (no database entry). why gets the rule. */
void cr_conv_fallback(const cr_device_desc *d, cr_conv_tiles *t, char *why, size_t len);

/* The built-in entry for d, or NULL; *rows gets "class-or-all params" lines. */
typedef struct cr_conv_db_entry {
    const char *name;      /* "pocl3-avx512-xeon" */
    const char *platform;  /* case-insensitive substrings that must all match; NULL: any */
    const char *vendor;
    const char *device;
    cl_device_type type;   /* 0: any */
    const char *measured;  /* where the figures come from */
    const char *rows[CR_CONV_NCLASSES + 2]; /* "all ...", "<class> ...", NULL-terminated */
} cr_conv_db_entry;
const cr_conv_db_entry *cr_conv_db_match(const cr_device_desc *d);
extern const cr_conv_db_entry cr_conv_db[];
extern const int cr_conv_db_count;

/* ---- resolution and the cache ---------------------------------------------- */

/* The identity a cache file is keyed by: platform name and version, vendor, device
 * name and version, driver version, compute units. */
void cr_conv_device_identity(const cr_device_desc *d, char *buf, size_t len);
/* The tuning cache file for d: $CLRESTORE_TUNE_DIR, else $XDG_CACHE_HOME/clrestore/tune,
 * else ~/.cache/clrestore/tune (beside the kernel cache), then <16 hex of FNV-1a of the
 * identity>.conv. -1 when no directory can be named (no HOME). */
int cr_conv_cache_path(const cr_device_desc *d, char *buf, size_t len);

/* The parameters for d: fallback, then the database, then the cache (unless
 * CLRESTORE_NO_TUNE_CACHE is set), then CLRESTORE_CONV_PARAMS. A cache file that
 * cannot be read or parsed gives one warning naming it and is ignored. */
void cr_conv_params_resolve(const cr_device_desc *d, cr_conv_params *out);

/* Reads a parameter file for d (its device line must be d's identity unless
 * any_device) into p for the classes it lists (their bits in *found); p is
 * unchanged and the error says file, line and problem when it fails. */
cr_status cr_conv_params_read(const char *path, const cr_device_desc *d, int any_device, cr_conv_params *p,
                              unsigned *found);
/* Writes the classes in mask (bit per class) of p for d, atomically (temp + rename);
 * note[cls] (or NULL) goes into a comment after each class line. */
cr_status cr_conv_params_write(const char *path, const cr_device_desc *d, const cr_conv_params *p, unsigned mask,
                               const char *const *note);

#endif
