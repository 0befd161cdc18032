/* cr_status names and the thread-local error message that main prints. */
#include "clrestore/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CR_ERROR_MAX 2048
static _Thread_local char cr_error_buf[CR_ERROR_MAX];

const char *cr_cl_error_name(int e)
{
    switch (e) {
    case 0: return "CL_SUCCESS";
    case -1: return "CL_DEVICE_NOT_FOUND";
    case -2: return "CL_DEVICE_NOT_AVAILABLE";
    case -3: return "CL_COMPILER_NOT_AVAILABLE";
    case -4: return "CL_MEM_OBJECT_ALLOCATION_FAILURE";
    case -5: return "CL_OUT_OF_RESOURCES";
    case -6: return "CL_OUT_OF_HOST_MEMORY";
    case -7: return "CL_PROFILING_INFO_NOT_AVAILABLE";
    case -8: return "CL_MEM_COPY_OVERLAP";
    case -9: return "CL_IMAGE_FORMAT_MISMATCH";
    case -10: return "CL_IMAGE_FORMAT_NOT_SUPPORTED";
    case -11: return "CL_BUILD_PROGRAM_FAILURE";
    case -12: return "CL_MAP_FAILURE";
    case -13: return "CL_MISALIGNED_SUB_BUFFER_OFFSET";
    case -14: return "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST";
    case -15: return "CL_COMPILE_PROGRAM_FAILURE";
    case -16: return "CL_LINKER_NOT_AVAILABLE";
    case -17: return "CL_LINK_PROGRAM_FAILURE";
    case -18: return "CL_DEVICE_PARTITION_FAILED";
    case -19: return "CL_KERNEL_ARG_INFO_NOT_AVAILABLE";
    case -30: return "CL_INVALID_VALUE";
    case -31: return "CL_INVALID_DEVICE_TYPE";
    case -32: return "CL_INVALID_PLATFORM";
    case -33: return "CL_INVALID_DEVICE";
    case -34: return "CL_INVALID_CONTEXT";
    case -35: return "CL_INVALID_QUEUE_PROPERTIES";
    case -36: return "CL_INVALID_COMMAND_QUEUE";
    case -37: return "CL_INVALID_HOST_PTR";
    case -38: return "CL_INVALID_MEM_OBJECT";
    case -39: return "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR";
    case -40: return "CL_INVALID_IMAGE_SIZE";
    case -41: return "CL_INVALID_SAMPLER";
    case -42: return "CL_INVALID_BINARY";
    case -43: return "CL_INVALID_BUILD_OPTIONS";
    case -44: return "CL_INVALID_PROGRAM";
    case -45: return "CL_INVALID_PROGRAM_EXECUTABLE";
    case -46: return "CL_INVALID_KERNEL_NAME";
    case -47: return "CL_INVALID_KERNEL_DEFINITION";
    case -48: return "CL_INVALID_KERNEL";
    case -49: return "CL_INVALID_ARG_INDEX";
    case -50: return "CL_INVALID_ARG_VALUE";
    case -51: return "CL_INVALID_ARG_SIZE";
    case -52: return "CL_INVALID_KERNEL_ARGS";
    case -53: return "CL_INVALID_WORK_DIMENSION";
    case -54: return "CL_INVALID_WORK_GROUP_SIZE";
    case -55: return "CL_INVALID_WORK_ITEM_SIZE";
    case -56: return "CL_INVALID_GLOBAL_OFFSET";
    case -57: return "CL_INVALID_EVENT_WAIT_LIST";
    case -58: return "CL_INVALID_EVENT";
    case -59: return "CL_INVALID_OPERATION";
    case -60: return "CL_INVALID_GL_OBJECT";
    case -61: return "CL_INVALID_BUFFER_SIZE";
    case -62: return "CL_INVALID_MIP_LEVEL";
    case -63: return "CL_INVALID_GLOBAL_WORK_SIZE";
    case -64: return "CL_INVALID_PROPERTY";
    case -65: return "CL_INVALID_IMAGE_DESCRIPTOR";
    case -66: return "CL_INVALID_COMPILER_OPTIONS";
    case -67: return "CL_INVALID_LINKER_OPTIONS";
    case -68: return "CL_INVALID_DEVICE_PARTITION_COUNT";
    case -69: return "CL_INVALID_PIPE_SIZE";
    case -70: return "CL_INVALID_DEVICE_QUEUE";
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "CL_UNKNOWN_ERROR";
    }
}

const char *cr_status_str(int s)
{
    if (s <= 0) return cr_cl_error_name(s);
    switch (s) {
    case CR_ERR_CLFFT: return "CR_ERR_CLFFT";
    case CR_ERR_HDF5: return "CR_ERR_HDF5";
    case CR_ERR_IO: return "CR_ERR_IO";
    case CR_ERR_FORMAT: return "CR_ERR_FORMAT";
    case CR_ERR_NOMEM: return "CR_ERR_NOMEM";
    case CR_ERR_ARG: return "CR_ERR_ARG";
    case CR_ERR_NOT_FOUND: return "CR_ERR_NOT_FOUND";
    case CR_ERR_UNSUPPORTED: return "CR_ERR_UNSUPPORTED";
    case CR_ERR_BUILD: return "CR_ERR_BUILD";
    case CR_ERR_NO_DEVICE: return "CR_ERR_NO_DEVICE";
    case CR_ERR_INTERNAL: return "CR_ERR_INTERNAL";
    default: return "CR_ERR_UNKNOWN";
    }
}

cr_status cr_fail(cr_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cr_error_buf, sizeof cr_error_buf, fmt, ap);
    va_end(ap);
    return status;
}

cr_status cr_fail_cl(int err, const char *call, const char *what, const char *file, int line)
{
    /* Keep only the function name of the call text: "clFoo(a, b)" -> "clFoo". */
    char name[96];
    size_t n = strcspn(call, "(");
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, call, n);
    name[n] = '\0';
    if (what && *what)
        snprintf(cr_error_buf, sizeof cr_error_buf, "%s(%s): %s (%d) at %s:%d", name, what,
                 cr_cl_error_name(err), err, file, line);
    else
        snprintf(cr_error_buf, sizeof cr_error_buf, "%s: %s (%d) at %s:%d", name,
                 cr_cl_error_name(err), err, file, line);
    return (cr_status)err;
}

void cr_error_prefix(const char *fmt, ...)
{
    char prefix[1024], old[CR_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, cr_error_buf, sizeof old);
    size_t np = strlen(prefix), no = strlen(old);
    if (np > CR_ERROR_MAX - 3) np = CR_ERROR_MAX - 3;
    if (no > CR_ERROR_MAX - 3 - np) no = CR_ERROR_MAX - 3 - np;
    memcpy(cr_error_buf, prefix, np);
    memcpy(cr_error_buf + np, ": ", 2);
    memcpy(cr_error_buf + np + 2, old, no);
    cr_error_buf[np + 2 + no] = '\0';
}

const char *cr_error_message(void) { return cr_error_buf; }
void cr_error_clear(void) { cr_error_buf[0] = '\0'; }
