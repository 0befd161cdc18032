/* Crash-safe output files and small file helpers.
 *
 * Outputs are written to "<path>.tmp.<host>.<pid>" in the same directory,
 * flushed with fsync and renamed over the final name, so a killed run never
 * leaves a half-written file under a final name (the redis RDB pattern). A
 * killed run can leave its temporary file behind; the next write of the same
 * path on the same host removes those whose process is gone. */
#ifndef CLRESTORE_FILEUTIL_H
#define CLRESTORE_FILEUTIL_H

#include <stdint.h>
#include <stdio.h>

#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cr_atomic_file {
    FILE *fp;            /* write here */
    char final_path[4096];
    char tmp_path[4096];
} cr_atomic_file;

/* Opens a temporary file beside path for writing. */
cr_status cr_atomic_open(cr_atomic_file *f, const char *path);
/* Flushes, fsyncs and renames onto the final path (and fsyncs the directory). */
cr_status cr_atomic_commit(cr_atomic_file *f);
/* Closes and removes the temporary file; safe after commit or on a zeroed struct. */
void cr_atomic_abort(cr_atomic_file *f);

/* The temporary name for path ("<path>.tmp.<host>.<pid>"). */
void cr_tmp_path(char *out, size_t outlen, const char *path);
/* Removes the temporary files of path that processes of this host no longer
 * running left behind (killed mid-write); never another host's, nor a live
 * process's. */
void cr_remove_stale_tmp(const char *path);
/* cr_remove_stale_tmp then cr_tmp_path: for writers that open files
 * themselves (HDF5); then call cr_commit_path(tmp, final). */
void cr_tmp_begin(char *out, size_t outlen, const char *path);
/* fsync the file at tmp, rename it to final, fsync the directory. */
cr_status cr_commit_path(const char *tmp, const char *final);

/* Creates a directory and its missing parents (mkdir -p); an error names the
 * part that could not be made, or a path that exists and is not a directory. */
cr_status cr_mkdir_p(const char *dir);

/* Size of a regular file, with a clear error for missing files and directories. */
cr_status cr_file_size(const char *path, int64_t *size);
/* Reads a whole file into a NUL-terminated buffer (caller frees). */
cr_status cr_read_file(const char *path, char **data, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
