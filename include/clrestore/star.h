/* STAR files as RELION writes and reads them: a tokenizer/parser, a writer, and
 * a view of the micrograph table (names, CTF parameters, pixel size).
 *
 * Model. A file is a list of tables. Each `data_NAME` block gives one table:
 * either a `loop_` (labels, then one row per line) or key/value pairs
 * (`_rlnKey value`, stored as a table with exactly one row). A block that holds
 * several loops, or pairs followed by a loop, gives several tables with the
 * same block name; cr_star_find_block returns the first.
 *
 * Lexical rules (RELION's, which are line based where STAR 1.1 is not):
 * - `#` where a token starts opens a comment to the end of the line; so does
 *   anything after a loop label (`_rlnMtfFileName #7 [Modulation ...]`).
 * - a value quoted with ' or " ends at the first matching quote that is
 *   followed by whitespace or the end of the line (`'it's'` is "it's");
 * - `[a, b]` is one token even with spaces inside; spaces, tabs and CR
 *   separate tokens; blank lines anywhere are ignored; `stop_` and `global_`
 *   (with what follows up to the next data_) are ignored.
 * - a loop row is one line and must hold exactly one value per label.
 * Errors (CR_ERR_FORMAT) read "FILE: line N: problem", e.g.
 *   "sample.star: line 20: data_planetary: row has 5 values, expected 4".
 *
 * Storage. All text (labels, values, names) lives in one buffer per file and
 * tables hold 32-bit offsets into it, so a 760 KB particle file parses in a
 * few milliseconds with three allocations per table. Strings returned by the
 * accessors stay valid until the file is modified or freed. */
#ifndef CLRESTORE_STAR_H
#define CLRESTORE_STAR_H

#include <stddef.h>

#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cr_star_file cr_star_file;   /* opaque: the tables and their text */
typedef struct cr_star_table cr_star_table; /* one loop or one set of key/value pairs */

/* ---- reading ---------------------------------------------------------------- */

/* Reads and parses path. A file without any data_ block is an error ("no data blocks"). */
cr_status cr_star_read(const char *path, cr_star_file **out);
/* Parses len bytes of text; name_for_errors starts every message (and is cr_star_path). */
cr_status cr_star_parse(const char *text, size_t len, const char *name_for_errors,
                        cr_star_file **out);
void cr_star_free(cr_star_file *f); /* accepts NULL */

const char *cr_star_path(const cr_star_file *f);
/* Renames f for messages (a STAR built from another format names its source). */
cr_status cr_star_set_path(cr_star_file *f, const char *path);
int cr_star_nblocks(const cr_star_file *f); /* number of tables */
const cr_star_table *cr_star_block(const cr_star_file *f, int i);
/* First table named "micrographs" (or "data_micrographs"); NULL when none. */
const cr_star_table *cr_star_find_block(const cr_star_file *f, const char *name);
/* The "# version 30001" number seen before the first block (0 when none). */
int cr_star_version(const cr_star_file *f);

const char *cr_star_block_name(const cr_star_table *t); /* without "data_"; "" for a bare data_ */
int cr_star_is_loop(const cr_star_table *t);
int cr_star_ncols(const cr_star_table *t);
int cr_star_nrows(const cr_star_table *t); /* key/value tables: 1 */
const char *cr_star_col_name(const cr_star_table *t, int c); /* "_rlnDefocusU" */
/* Column index of name ("_rlnDefocusU" or "rlnDefocusU"); -1 when absent. */
int cr_star_col_index(const cr_star_table *t, const char *name);
/* The value as written, quotes removed ("" for ''); NULL when out of range. */
const char *cr_star_value(const cr_star_table *t, int row, int col);
/* Source line of a row (1-based; 0 for rows built in memory). */
int cr_star_row_line(const cr_star_table *t, int row);

/* Strict number conversion: the whole value must be a finite decimal number
 * (no "nan", "inf", hex or trailing text). CR_ERR_FORMAT otherwise, naming file,
 * block, column, row (1-based) and line: "f.star: data_images: column
 * _rlnDefocusU, row 3 (line 17): 'abc' is not a number". */
cr_status cr_star_get_double(const cr_star_file *f, const cr_star_table *t, int row, int col,
                             double *out);
/* As cr_star_get_double, and the number must be an integer that fits an int. */
cr_status cr_star_get_int(const cr_star_file *f, const cr_star_table *t, int row, int col,
                          int *out);

/* ---- building and writing --------------------------------------------------- */
/* Typical use (denoise): new file, copy data_optics and the micrograph table
 * from the input, cr_star_add_column("_rlnMicrographName") (returns the
 * existing column), cr_star_set_value per row, cr_star_write. Adding tables,
 * columns, rows or values may move the text buffer: re-fetch strings after. */

/* An empty file, version 30001 (a "# version 30001" line before each block). */
cr_status cr_star_new(cr_star_file **out);
void cr_star_set_version(cr_star_file *f, int version); /* 0: no version lines */
/* Mutable access to a table of f (for tables found through the const accessors). */
cr_star_table *cr_star_table_mut(cr_star_file *f, const cr_star_table *t);
/* Appends an empty table (block name without "data_"). */
cr_status cr_star_add_table(cr_star_file *f, const char *name, int is_loop, cr_star_table **out);
/* Appends a copy of table src (of any file, f included) named name (NULL: src's name). */
cr_status cr_star_copy_table(cr_star_file *f, const cr_star_table *src, const char *name,
                             int with_rows, cr_star_table **out);
/* Index of column name in t, appended (every row gets "") when absent. */
cr_status cr_star_add_column(cr_star_file *f, cr_star_table *t, const char *name, int *col);
/* Appends a row to a loop; values has ncols entries, or is NULL for all "". */
cr_status cr_star_append_row(cr_star_file *f, cr_star_table *t, const char *const *values,
                             int *row);
cr_status cr_star_set_value(cr_star_file *f, cr_star_table *t, int row, int col,
                            const char *value);
/* Writes atomically (temp file + rename). Values are quoted when empty, when
 * they hold whitespace, or start with _ # ' " or a reserved word (data_, loop_,
 * ...); a value that cannot be quoted (newline, or both quote kinds followed by
 * whitespace) is CR_ERR_UNSUPPORTED. The output parses back to the same tables. */
cr_status cr_star_write(const cr_star_file *f, const char *path);

/* ---- the micrograph table ----------------------------------------------------- */

typedef struct cr_micrograph_row {
    char *name;                 /* _rlnMicrographName as written */
    char *name_even, *name_odd; /* RELION 5 _rlnMicrographNameEven/Odd, else NULL */
    double defocus_u, defocus_v; /* Å, underfocus positive; NAN when absent */
    double defocus_angle;        /* degrees; NAN when absent */
    double voltage;              /* kV; NAN when absent */
    double cs;                   /* mm; NAN when absent */
    double amp_contrast;         /* fraction; NAN when absent */
    double phase_shift;          /* degrees; 0 when absent */
    double apix;                 /* Å/px; 0 when unknown */
    int optics_group;            /* 1-based; 0 when none */
    int source_row;              /* row index in the table it came from */
} cr_micrograph_row;

/* The rows of the micrograph table of f with optics merged in.
 * Table: data_micrographs, else the first table with _rlnMicrographName (e.g.
 * data_particles, or a RELION 3.0 data_ / data_images). Optics: data_optics
 * rows matched on _rlnOpticsGroup, in any block order; a value in the row
 * table overrides the optics one. Pixel size, first found (row, then optics):
 * _rlnMicrographPixelSize, _rlnImagePixelSize, then _rlnDetectorPixelSize (µm)
 * * 1e4 / _rlnMagnification. With need_ctf, each of _rlnDefocusU/V/Angle,
 * _rlnVoltage, _rlnSphericalAberration, _rlnAmplitudeContrast must be present
 * (CR_ERR_NOT_FOUND otherwise, naming file, table and column); a table without
 * rows is CR_ERR_FORMAT. Free the rows
 * with cr_micrograph_rows_free. */
cr_status cr_star_micrographs(const cr_star_file *f, int need_ctf, cr_micrograph_row **rows,
                              int *n);
/* The table cr_star_micrographs reads: data_micrographs, else the first table
 * (other than data_optics) with _rlnMicrographName; CR_ERR_NOT_FOUND naming
 * the file when there is none. */
cr_status cr_star_micrograph_table(const cr_star_file *f, const cr_star_table **out);
void cr_micrograph_rows_free(cr_micrograph_row *rows, int n); /* accepts NULL */

/* Resolves a micrograph name: absolute names as they are; otherwise relative to
 * the STAR file's directory, then to the working directory, the first that
 * exists. When neither exists, out gets the STAR-relative path and the result
 * is CR_ERR_NOT_FOUND with a message naming both tries. */
cr_status cr_resolve_path(const char *star_path, const char *name, char *out, size_t outlen);

/* Even/odd names from a full-sum name: suffixes "DW,EVN,ODD" replaces the last
 * "DW" in the file's base name by "EVN" and by "ODD"
 * ("Movies/mic_0001_DW.mrc" -> "Movies/mic_0001_EVN.mrc", "..._ODD.mrc").
 * CR_ERR_NOT_FOUND when the base name lacks the first suffix. */
cr_status cr_even_odd_names(const char *name, const char *suffixes, char *even, char *odd,
                            size_t len);

#ifdef __cplusplus
}
#endif
#endif
