/* OpenCL runtime: device discovery and selection, one context + in-order queue
 * per selected device, kernel programs built once per (file, options) and kept
 * in an on-disk binary cache, checked buffers and launches.
 *
 * Every CL call made here is checked; a failure records
 * "clCall(kernel): CL_ERROR_NAME (code) at file:line" through cr_fail_cl(). */
#ifndef CLRESTORE_RUNTIME_H
#define CLRESTORE_RUNTIME_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stddef.h>
#include <stdint.h>

#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One OpenCL device as `clrestore devices` lists it. */
typedef struct cr_device_desc {
    int index;          /* position in the flat list over all platforms */
    int platform_index; /* position of its platform */
    cl_platform_id platform;
    cl_device_id device;
    char platform_name[128];
    char platform_version[128];
    char device_name[256];
    char vendor[128];
    char device_version[128]; /* "OpenCL 3.0 PoCL ..." */
    char driver_version[128];
    char c_version[128]; /* CL_DEVICE_OPENCL_C_VERSION */
    cl_device_type type;
    cl_uint compute_units;
    cl_ulong global_mem;     /* bytes */
    cl_ulong max_alloc;      /* bytes, largest single buffer */
    cl_ulong local_mem;      /* bytes */
    size_t max_work_group;
    cl_uint pref_vec_float;  /* CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT (convolution tuning fallback) */
    int fp64;                /* cl_khr_fp64 or a double-precision config */
} cr_device_desc;

/* All devices of all platforms (an empty list is not an error). Caller frees. */
cr_status cr_devices_list(cr_device_desc **list, int *n);

/* Picks one device: selector NULL/"" = first GPU, else first device; a decimal
 * index into the list; otherwise a case-insensitive substring of the device or
 * platform name. CR_ERR_NO_DEVICE with a message listing the choices. */
cr_status cr_device_select(const cr_device_desc *list, int n, const char *selector, int *index);

/* "CPU", "GPU", "ACCELERATOR" or "OTHER". */
const char *cr_device_type_name(cl_device_type t);

typedef struct cr_build_stats {
    int compiles;     /* programs compiled from source */
    int disk_hits;    /* programs loaded from the binary cache */
    int disk_rejects; /* cache entries found corrupt or stale and rebuilt */
    int disk_writes;  /* cache entries written */
    int memory_hits;  /* programs found already built in this runtime */
} cr_build_stats;

typedef struct cr_program_entry cr_program_entry;
typedef struct cr_runtime_state cr_runtime_state; /* private to host/runtime */

typedef struct cr_runtime {
    cr_device_desc dev;
    cl_context ctx;
    cl_command_queue queue;  /* in-order, profiling enabled */
    char cache_dir[1024];    /* "" when the disk cache is off */
    cr_runtime_state *state; /* programs, build counters, memory accounting */
} cr_runtime;

/* Bytes in buffers made by cr_buffer_create now, and the most since creation
 * or the last cr_runtime_mem_peak_reset (which sets the peak to the current). */
size_t cr_runtime_mem_current(const cr_runtime *rt);
size_t cr_runtime_mem_peak(const cr_runtime *rt);
void cr_runtime_mem_peak_reset(cr_runtime *rt);
cr_build_stats cr_runtime_build_stats(const cr_runtime *rt);

/* Selects a device (see cr_device_select) and sets up context and queue. */
cr_status cr_runtime_create(const char *selector, cr_runtime **out);
cr_status cr_runtime_create_for(const cr_device_desc *dev, cr_runtime **out);
/* Accepts NULL and half-built runtimes. */
void cr_runtime_free(cr_runtime *rt);

/* Source of kernels/<file>: from $CLRESTORE_KERNEL_DIR when set (development),
 * else the copy embedded at build time; each line `#include "name"` is
 * replaced by kernels/name (once per program: shared preludes and headers
 * such as nn_prelude.cl and conv_flags.h). Caller frees *src. */
cr_status cr_kernel_source(const char *file, char **src, size_t *len);

/* Builds (or finds) the program of kernels/<file> with extra build options
 * (e.g. "-DTILE_M=16"); the runtime owns the result. */
cr_status cr_program_get(cr_runtime *rt, const char *file, const char *options, cl_program *out);
/* Builds a program from a source string (label names it in errors and cache
 * keys); the runtime owns the result. */
cr_status cr_program_from_source(cr_runtime *rt, const char *label, const char *src,
                                 const char *options, cl_program *out);
/* A new kernel object from kernels/<file>; the caller releases it. */
cr_status cr_kernel_create(cr_runtime *rt, const char *file, const char *name, const char *options,
                           cl_kernel *out);

/* The kernel `name` of kernels/<file> built with options, made once and owned by the
 * runtime (released by cr_runtime_free): the one kernel cache of every module. Set its
 * arguments and enqueue it from one thread at a time. */
cr_status cr_kernel_get(cr_runtime *rt, const char *file, const char *name, const char *options, cl_kernel *out);
/* Sets nargs kernel arguments given as (size_t size, const void *value) pairs;
 * an error names the kernel and the argument index. Checked: the values passed
 * are counted by the preprocessor, and nargs must equal both half their number
 * and the kernel's own argument count (CR_ERR_INTERNAL naming the kernel), so a
 * miscounted call fails instead of reading past its arguments. */
#define cr_kernel_args(k, nargs, ...) cr_kernel_args_n((k), (nargs), CR_COUNT_VALUES(__VA_ARGS__), __VA_ARGS__)
cr_status cr_kernel_args_n(cl_kernel k, int nargs, int nvalues, ...);
/* The number of its (macro-expanded) arguments, up to 96. */
#define CR_COUNT_VALUES(...) CR_COUNT_VALUES_(__VA_ARGS__, CR_COUNT_SEQ_)
#define CR_COUNT_VALUES_(...) CR_COUNT_PICK_(__VA_ARGS__)
#define CR_COUNT_PICK_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, \
                       _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, _33, _34, _35, _36, _37, _38,  \
                       _39, _40, _41, _42, _43, _44, _45, _46, _47, _48, _49, _50, _51, _52, _53, _54, _55, _56,  \
                       _57, _58, _59, _60, _61, _62, _63, _64, _65, _66, _67, _68, _69, _70, _71, _72, _73, _74,  \
                       _75, _76, _77, _78, _79, _80, _81, _82, _83, _84, _85, _86, _87, _88, _89, _90, _91, _92,  \
                       _93, _94, _95, _96, N, ...)                                                                \
    N
#define CR_COUNT_SEQ_                                                                                              \
    96, 95, 94, 93, 92, 91, 90, 89, 88, 87, 86, 85, 84, 83, 82, 81, 80, 79, 78, 77, 76, 75, 74, 73, 72, 71, 70, 69, \
        68, 67, 66, 65, 64, 63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42,  \
        41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15,  \
        14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1
/* Enqueues an NDRange; global sizes are rounded up to a multiple of local
 * when local is given. An error names the kernel. */
cr_status cr_enqueue(cr_runtime *rt, cl_kernel k, cl_uint dim, const size_t *global,
                     const size_t *local);

/* Records an OpenCL failure on rt's device like cr_fail_cl(); the codes that
 * mean the device ran out of memory (CL_MEM_OBJECT_ALLOCATION_FAILURE,
 * CL_OUT_OF_RESOURCES, CL_OUT_OF_HOST_MEMORY) instead name the device and
 * what to do (a smaller --tile or --batch-size). Returns err. */
cr_status cr_fail_device(const cr_runtime *rt, int err, const char *call, const char *what, const char *file,
                         int line);

/* Device buffers, counted towards cr_runtime_mem_current / _peak. what names the
 * buffer in errors ("conv activations"); a request larger than the device's
 * largest buffer, or than its global memory less what is already allocated,
 * fails before clCreateBuffer with the device's name and what to do. */
cr_status cr_buffer_create(cr_runtime *rt, size_t bytes, const char *what, cl_mem *out);
/* Releases *buf (size queried from the buffer) and sets it to NULL; accepts NULL. */
void cr_buffer_release(cr_runtime *rt, cl_mem *buf);
cr_status cr_buffer_write(cr_runtime *rt, cl_mem buf, size_t offset, size_t bytes, const void *src);
cr_status cr_buffer_read(cr_runtime *rt, cl_mem buf, size_t offset, size_t bytes, void *dst);
cr_status cr_finish(cr_runtime *rt);

#ifdef __cplusplus
}
#endif
#endif
