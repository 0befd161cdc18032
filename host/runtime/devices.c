/* Device discovery and selection (PRODUCT.md: --device index or substring,
 * default the first GPU, else the first device). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/log.h"
#include "clrestore/runtime.h"

#define CR_MAX_PLATFORMS 16
#define CR_MAX_DEVICES_PER_PLATFORM 64

static void cr_str_info_device(cl_device_id d, cl_device_info what, char *out, size_t len)
{
    out[0] = '\0';
    if (clGetDeviceInfo(d, what, len, out, NULL) != CL_SUCCESS) snprintf(out, len, "?");
    out[len - 1] = '\0';
}

static void cr_str_info_platform(cl_platform_id p, cl_platform_info what, char *out, size_t len)
{
    out[0] = '\0';
    if (clGetPlatformInfo(p, what, len, out, NULL) != CL_SUCCESS) snprintf(out, len, "?");
    out[len - 1] = '\0';
}

static void cr_describe_device(cr_device_desc *d)
{
    cr_str_info_device(d->device, CL_DEVICE_NAME, d->device_name, sizeof d->device_name);
    cr_str_info_device(d->device, CL_DEVICE_VENDOR, d->vendor, sizeof d->vendor);
    cr_str_info_device(d->device, CL_DEVICE_VERSION, d->device_version, sizeof d->device_version);
    cr_str_info_device(d->device, CL_DRIVER_VERSION, d->driver_version, sizeof d->driver_version);
    cr_str_info_device(d->device, CL_DEVICE_OPENCL_C_VERSION, d->c_version, sizeof d->c_version);
    clGetDeviceInfo(d->device, CL_DEVICE_TYPE, sizeof d->type, &d->type, NULL);
    clGetDeviceInfo(d->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof d->compute_units, &d->compute_units, NULL);
    clGetDeviceInfo(d->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof d->global_mem, &d->global_mem, NULL);
    clGetDeviceInfo(d->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof d->max_alloc, &d->max_alloc, NULL);
    clGetDeviceInfo(d->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof d->local_mem, &d->local_mem, NULL);
    clGetDeviceInfo(d->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof d->max_work_group, &d->max_work_group, NULL);
    clGetDeviceInfo(d->device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof d->pref_vec_float, &d->pref_vec_float,
                    NULL);
    cl_device_fp_config fp = 0;
    clGetDeviceInfo(d->device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp, &fp, NULL);
    char ext[4096] = "";
    clGetDeviceInfo(d->device, CL_DEVICE_EXTENSIONS, sizeof ext, ext, NULL);
    ext[sizeof ext - 1] = '\0';
    d->fp64 = fp != 0 || strstr(ext, "cl_khr_fp64") != NULL;
}

cr_status cr_devices_list(cr_device_desc **list, int *n)
{
    *list = NULL;
    *n = 0;
    cl_platform_id platforms[CR_MAX_PLATFORMS];
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(CR_MAX_PLATFORMS, platforms, &np);
    /* The ICD loader answers -1001 when no platform is installed: an empty list. */
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && np == 0)) return CR_OK;
    if (err != CL_SUCCESS) return cr_fail_cl(err, "clGetPlatformIDs", NULL, __FILE__, __LINE__);
    if (np > CR_MAX_PLATFORMS) np = CR_MAX_PLATFORMS;

    cr_device_desc *out = calloc((size_t)np * CR_MAX_DEVICES_PER_PLATFORM, sizeof *out);
    if (!out) return cr_fail(CR_ERR_NOMEM, "out of memory listing OpenCL devices");
    int count = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_device_id devs[CR_MAX_DEVICES_PER_PLATFORM];
        cl_uint nd = 0;
        err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, CR_MAX_DEVICES_PER_PLATFORM, devs, &nd);
        if (err == CL_DEVICE_NOT_FOUND) continue; /* a platform without devices */
        if (err != CL_SUCCESS) {
            free(out);
            return cr_fail_cl(err, "clGetDeviceIDs", NULL, __FILE__, __LINE__);
        }
        if (nd > CR_MAX_DEVICES_PER_PLATFORM) nd = CR_MAX_DEVICES_PER_PLATFORM;
        for (cl_uint i = 0; i < nd; i++) {
            cr_device_desc *d = &out[count];
            d->index = count;
            d->platform_index = (int)p;
            d->platform = platforms[p];
            d->device = devs[i];
            cr_str_info_platform(platforms[p], CL_PLATFORM_NAME, d->platform_name, sizeof d->platform_name);
            cr_str_info_platform(platforms[p], CL_PLATFORM_VERSION, d->platform_version,
                                 sizeof d->platform_version);
            cr_describe_device(d);
            count++;
        }
    }
    *list = out;
    *n = count;
    return CR_OK;
}

const char *cr_device_type_name(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU) return "GPU";
    if (t & CL_DEVICE_TYPE_CPU) return "CPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return "ACCELERATOR";
    return "OTHER";
}

static int cr_contains_nocase(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    for (const char *h = hay; *h; h++) {
        size_t i = 0;
        while (i < nl && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == nl) return 1;
    }
    return nl == 0;
}

cr_status cr_device_select(const cr_device_desc *list, int n, const char *selector, int *index)
{
    if (n == 0)
        return cr_fail(CR_ERR_NO_DEVICE,
                       "no OpenCL device found: install a driver (e.g. Debian's pocl-opencl-icd for CPUs) "
                       "and check 'clrestore devices'");
    if (!selector || !*selector) {
        for (int i = 0; i < n; i++)
            if (list[i].type & CL_DEVICE_TYPE_GPU) {
                *index = i;
                return CR_OK;
            }
        *index = 0;
        return CR_OK;
    }
    char *end = NULL;
    long v = strtol(selector, &end, 10);
    if (end != selector && *end == '\0') {
        if (v >= 0 && v < n) {
            *index = (int)v;
            return CR_OK;
        }
        return cr_fail(CR_ERR_NO_DEVICE,
                       "device '%s' (--device or CLRESTORE_DEVICE): no device with that index "
                       "(there are %d: 0..%d; see 'clrestore devices')",
                       selector, n, n - 1);
    }
    for (int i = 0; i < n; i++)
        if (cr_contains_nocase(list[i].device_name, selector)) {
            *index = i;
            return CR_OK;
        }
    for (int i = 0; i < n; i++)
        if (cr_contains_nocase(list[i].platform_name, selector)) {
            *index = i;
            return CR_OK;
        }
    char names[1024] = "";
    size_t used = 0;
    for (int i = 0; i < n && used < sizeof names - 64; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%d: %s", i ? "; " : "", i,
                                 list[i].device_name);
    return cr_fail(CR_ERR_NO_DEVICE,
                   "device '%s' (--device or CLRESTORE_DEVICE): no device or platform name "
                   "contains it; available: %s (see 'clrestore devices')",
                   selector, names);
}
