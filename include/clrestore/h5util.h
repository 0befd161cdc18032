/* Small HDF5 helpers shared by training sets and checkpoints, and a
 * human-readable summary of any HDF5 file for `clrestore info`. */
#ifndef CLRESTORE_H5UTIL_H
#define CLRESTORE_H5UTIL_H

#include <stddef.h>

#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Turns off HDF5's own error printing (we report errors ourselves). Idempotent. */
void cr_h5_quiet(void);

/* The operating system's reason ("No space left on device", "File too
 * large") recorded on the HDF5 error stack by the call that just failed, or
 * "" when it holds none. Call before any other HDF5 call (each clears it). */
void cr_h5_sys_error(char *buf, size_t len);

/* 1 when the file starts with the HDF5 signature (at 0 or a power-of-two user
 * block offset up to 64 KiB), 0 otherwise (also for unreadable files). */
int cr_h5_is_hdf5(const char *path);

/* What the file holds, as text ending in a newline (caller frees): a
 * clrestore training set (pairs, patch size, pixel size), a checkpoint
 * (architecture, layers, parameters, epoch), or any other HDF5 file as a
 * listing of groups, datasets (type, shape) and root attributes. */
cr_status cr_h5_describe(const char *path, char **text);

#ifdef __cplusplus
}
#endif
#endif
