/* One status type for every fallible function in clrestore.
 *
 * Values: 0 is success; negative values are OpenCL error codes exactly as the
 * CL API returns them; our own errors live in a positive block. A failing
 * function records a one-line message (thread-local) with cr_fail(); only main
 * prints it and chooses the exit code. */
#ifndef CLRESTORE_STATUS_H
#define CLRESTORE_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cr_status {
    CR_OK = 0,
    /* negative: OpenCL error codes (CL_OUT_OF_RESOURCES = -5, ...); this floor
     * keeps the enum signed */
    CR_CL_ERROR_FLOOR = -9999,
    CR_ERR_CLFFT = 4000,    /* clFFT returned an error (message says which) */
    CR_ERR_HDF5 = 4002,     /* an HDF5 call failed */
    CR_ERR_IO = 5000,       /* open/read/write/rename failed (errno in message) */
    CR_ERR_FORMAT,          /* a file is not what it claims to be */
    CR_ERR_NOMEM,           /* host allocation failed */
    CR_ERR_ARG,             /* bad argument or option value */
    CR_ERR_NOT_FOUND,       /* file, column, device or key not found */
    CR_ERR_UNSUPPORTED,     /* valid input we do not handle */
    CR_ERR_BUILD,           /* an OpenCL program failed to build */
    CR_ERR_NO_DEVICE,       /* no OpenCL device matches */
    CR_ERR_INTERNAL         /* a bug: an invariant did not hold */
} cr_status;

/* Short symbolic name of a status: "CL_OUT_OF_RESOURCES", "CR_ERR_FORMAT". */
const char *cr_status_str(int status);

/* Name of an OpenCL error code ("CL_INVALID_KERNEL_ARGS"), or "CL_UNKNOWN_ERROR". */
const char *cr_cl_error_name(int cl_error);

/* Records a printf-style message for this thread and returns status, so that
 * `return cr_fail(CR_ERR_FORMAT, "%s: header too short", path);` reads well. */
cr_status cr_fail(cr_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records an OpenCL failure: "clEnqueueNDRangeKernel(conv2d_fwd): CL_OUT_OF_RESOURCES (-5) at host/nn/conv2d.c:120".
 * what may be NULL (no kernel or object to name). Returns err. */
cr_status cr_fail_cl(int err, const char *call, const char *what, const char *file, int line);

/* Prefixes the recorded message with "prefix: " (e.g. a file name added by a caller). */
void cr_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last recorded message of this thread ("" when none). */
const char *cr_error_message(void);
void cr_error_clear(void);

/* Propagates a cr_status inside a function with `cr_status st` and `cleanup:`. */
#define CR_TRY(expr)                                                            \
    do {                                                                        \
        st = (expr);                                                            \
        if (st != CR_OK) goto cleanup;                                          \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
