/* Small HDF5 helpers shared by training sets and checkpoints, and a
 * human-readable summary of any HDF5 file for `clrestore info`. */
#ifndef CLRESTORE_H5UTIL_H
#define CLRESTORE_H5UTIL_H

#include <stddef.h>
#include <stdint.h>

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

/* 1 when the HDF5 datatype (an hid_t) is one of the standard integer (8 to
 * 64 bits) or IEEE float (32, 64 bits) types in either byte order: the only
 * stored types we convert to numbers. Corrupt variants (a 3-byte float, a
 * precision beyond the size) make HDF5 1.10's converters read and write out
 * of bounds, so everything else is refused first. */
int cr_h5_numeric_type(int64_t type);

/* cr_h5_numeric_type of a dataset's or an attribute's stored type (an hid_t
 * of either); 0 for anything else. */
int cr_h5_holds_numbers(int64_t object);

/* 1 when the stored string type (an hid_t) can be read safely: class string,
 * variable length, or fixed length of at most 64 KiB. */
int cr_h5_string_type(int64_t type);

/* A check that reads path completely (loads and frees) and reports how it went. */
typedef cr_status (*cr_h5_probe_fn)(const char *path, void *ctx);

/* The common start of every read of a user's HDF5 file: the file exists
 * and is HDF5 (else "path: not an HDF5 file", with " (KIND is HDF5)" when
 * kind is given), and it does not crash the HDF5 library itself.
 *
 * That last check guards against damaged files that crash libhdf5 (1.10
 * dereferences corrupt object headers and attribute tables unchecked;
 * fuzzing found dozens of such files): probe runs in a forked child first,
 * and when the child dies (signal, sanitizer report, a minute (plus 1 s per
 * 10 MB) without an end) the result is CR_ERR_FORMAT "path: damaged HDF5
 * file: the HDF5 library crashed reading it (...)"; otherwise CR_OK, and the
 * caller reads the file itself, which then cannot crash (HDF5 is
 * deterministic) and reports its own errors. CLRESTORE_H5_GUARD=0 turns the
 * child off (the fuzz targets do, to see the crashes); calls from inside a
 * probe are not guarded again. */
cr_status cr_h5_guard(const char *path, const char *kind, cr_h5_probe_fn probe, void *ctx);

/* What the file holds, as text ending in a newline (caller frees): a
 * clrestore training set (pairs, patch size, pixel size), a checkpoint
 * (architecture, layers, parameters, epoch), or any other HDF5 file as a
 * listing of groups, datasets (type, shape) and root attributes. */
cr_status cr_h5_describe(const char *path, char **text);

#ifdef __cplusplus
}
#endif
#endif
