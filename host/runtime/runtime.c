/* Context, queue, checked buffers and kernel launches for one device. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/log.h"
#include "clrestore/runtime.h"
#include "runtime_internal.h"

cr_status cr_runtime_create_for(const cr_device_desc *dev, cr_runtime **out)
{
    cr_status st = CR_OK;
    cl_int err = CL_SUCCESS;
    cr_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) return cr_fail(CR_ERR_NOMEM, "out of memory creating the OpenCL runtime");
    rt->dev = *dev;
    rt->state = calloc(1, sizeof *rt->state);
    if (!rt->state) {
        free(rt);
        return cr_fail(CR_ERR_NOMEM, "out of memory creating the OpenCL runtime");
    }

    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->platform, 0};
    rt->ctx = clCreateContext(props, 1, &dev->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        st = cr_fail_cl(err, "clCreateContext", dev->device_name, __FILE__, __LINE__);
        goto cleanup;
    }
    rt->queue = clCreateCommandQueue(rt->ctx, dev->device, CL_QUEUE_PROFILING_ENABLE, &err);
    if (err != CL_SUCCESS) {
        st = cr_fail_cl(err, "clCreateCommandQueue", dev->device_name, __FILE__, __LINE__);
        goto cleanup;
    }
    cr_program_cache_init(rt);
    cr_debug("device %d: %s (%s), %u compute units, %.1f GiB", dev->index, dev->device_name,
             dev->platform_name, dev->compute_units, (double)dev->global_mem / (1 << 30));
    *out = rt;
    return CR_OK;
cleanup:
    cr_runtime_free(rt);
    *out = NULL;
    return st;
}

cr_status cr_runtime_create(const char *selector, cr_runtime **out)
{
    cr_device_desc *list = NULL;
    int n = 0, idx = 0;
    *out = NULL;
    cr_status st = cr_devices_list(&list, &n);
    if (st == CR_OK) st = cr_device_select(list, n, selector, &idx);
    if (st == CR_OK) st = cr_runtime_create_for(&list[idx], out);
    free(list);
    return st;
}

void cr_runtime_free(cr_runtime *rt)
{
    if (!rt) return;
    if (rt->queue) clFinish(rt->queue);
    cr_program_cache_free(rt);
    if (rt->queue) clReleaseCommandQueue(rt->queue);
    if (rt->ctx) clReleaseContext(rt->ctx);
    free(rt->state);
    free(rt);
}

size_t cr_runtime_mem_current(const cr_runtime *rt) { return rt->state->mem_current; }
size_t cr_runtime_mem_peak(const cr_runtime *rt) { return rt->state->mem_peak; }
void cr_runtime_mem_peak_reset(cr_runtime *rt) { rt->state->mem_peak = rt->state->mem_current; }
cr_build_stats cr_runtime_build_stats(const cr_runtime *rt) { return rt->state->stats; }

static void cr_kernel_name(cl_kernel k, char *name, size_t len)
{
    name[0] = '\0';
    if (clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, len, name, NULL) != CL_SUCCESS)
        snprintf(name, len, "?");
    name[len - 1] = '\0';
}

cr_status cr_kernel_args_n(cl_kernel k, int nargs, int nvalues, ...)
{
    va_list ap;
    char name[128];
    cl_uint have = 0;
    /* a count that does not match what was passed, or the kernel's signature, would
     * read past the variadic arguments or leave an argument unset */
    cl_int err = clGetKernelInfo(k, CL_KERNEL_NUM_ARGS, sizeof have, &have, NULL);
    if (err != CL_SUCCESS) return cr_fail_cl(err, "clGetKernelInfo", "CL_KERNEL_NUM_ARGS", __FILE__, __LINE__);
    if (nvalues != 2 * nargs || (cl_uint)nargs != have) {
        cr_kernel_name(k, name, sizeof name);
        return cr_fail(CR_ERR_INTERNAL, "kernel %s takes %u arguments; the call says %d and passes %d values (%s)",
                       name, have, nargs, nvalues, nvalues % 2 ? "not (size, pointer) pairs" : "pairs");
    }
    va_start(ap, nvalues);
    for (int i = 0; i < nargs; i++) {
        size_t size = va_arg(ap, size_t);
        const void *value = va_arg(ap, const void *);
        err = clSetKernelArg(k, (cl_uint)i, size, value);
        if (err != CL_SUCCESS) {
            va_end(ap);
            char what[160];
            cr_kernel_name(k, name, sizeof name);
            snprintf(what, sizeof what, "%s, arg %d", name, i);
            return cr_fail_cl(err, "clSetKernelArg", what, __FILE__, __LINE__);
        }
    }
    va_end(ap);
    return CR_OK;
}

cr_status cr_enqueue(cr_runtime *rt, cl_kernel k, cl_uint dim, const size_t *global, const size_t *local)
{
    size_t g[3] = {1, 1, 1};
    for (cl_uint i = 0; i < dim; i++) {
        g[i] = global[i];
        if (local && local[i]) g[i] = (g[i] + local[i] - 1) / local[i] * local[i];
        if (g[i] == 0) return CR_OK; /* an empty range is nothing to do, not an error */
    }
    cl_int err = clEnqueueNDRangeKernel(rt->queue, k, dim, NULL, g, local, 0, NULL, NULL);
    if (err != CL_SUCCESS) {
        char name[128];
        cr_kernel_name(k, name, sizeof name);
        return cr_fail_device(rt, err, "clEnqueueNDRangeKernel", name, __FILE__, __LINE__);
    }
    return CR_OK;
}

#define CR_MEMORY_ADVICE "use a smaller --tile (denoise, snr) or --batch-size (train), or another --device"

cr_status cr_fail_device(const cr_runtime *rt, int err, const char *call, const char *what, const char *file,
                         int line)
{
    if (err != CL_MEM_OBJECT_ALLOCATION_FAILURE && err != CL_OUT_OF_RESOURCES && err != CL_OUT_OF_HOST_MEMORY)
        return cr_fail_cl(err, call, what, file, line);
    /* drivers often allocate lazily, so this can come from a launch or a copy,
     * not only from clCreateBuffer */
    cr_fail((cr_status)err,
            "%s ran out of memory (%s from %s%s%s, with %.1f MiB of buffers allocated): " CR_MEMORY_ADVICE,
            rt->dev.device_name, cr_cl_error_name(err), call, what ? " for " : "", what ? what : "",
            (double)rt->state->mem_current / (1 << 20));
    return (cr_status)err;
}

cr_status cr_buffer_create(cr_runtime *rt, size_t bytes, const char *what, cl_mem *out)
{
    *out = NULL;
    if (bytes == 0) bytes = 4; /* CL forbids empty buffers; keep a valid handle */
    if (bytes > rt->dev.max_alloc)
        return cr_fail(CR_ERR_NOMEM,
                       "%s: %.1f MiB is more than the largest buffer %s allows (%.1f MiB): " CR_MEMORY_ADVICE,
                       what, (double)bytes / (1 << 20), rt->dev.device_name,
                       (double)rt->dev.max_alloc / (1 << 20));
    /* only our own buffers are counted (FFT plans hold more), so this catches
     * the sure failures; the driver's error catches the rest */
    if (rt->state->mem_current > rt->dev.global_mem || bytes > rt->dev.global_mem - rt->state->mem_current)
        return cr_fail(CR_ERR_NOMEM,
                       "%s: %.1f MiB more would exceed the %.1f MiB of memory on %s (%.1f MiB in "
                       "use): " CR_MEMORY_ADVICE,
                       what, (double)bytes / (1 << 20), (double)rt->dev.global_mem / (1 << 20),
                       rt->dev.device_name, (double)rt->state->mem_current / (1 << 20));
    cl_int err = CL_SUCCESS;
    *out = clCreateBuffer(rt->ctx, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        *out = NULL;
        return cr_fail_device(rt, err, "clCreateBuffer", what, __FILE__, __LINE__);
    }
    rt->state->mem_current += bytes;
    if (rt->state->mem_current > rt->state->mem_peak) rt->state->mem_peak = rt->state->mem_current;
    return CR_OK;
}

void cr_buffer_release(cr_runtime *rt, cl_mem *buf)
{
    if (!buf || !*buf) return;
    size_t bytes = 0;
    if (clGetMemObjectInfo(*buf, CL_MEM_SIZE, sizeof bytes, &bytes, NULL) == CL_SUCCESS && rt &&
        rt->state->mem_current >= bytes)
        rt->state->mem_current -= bytes;
    clReleaseMemObject(*buf);
    *buf = NULL;
}

cr_status cr_buffer_write(cr_runtime *rt, cl_mem buf, size_t offset, size_t bytes, const void *src)
{
    if (bytes == 0) return CR_OK;
    cl_int err = clEnqueueWriteBuffer(rt->queue, buf, CL_TRUE, offset, bytes, src, 0, NULL, NULL);
    if (err != CL_SUCCESS) return cr_fail_device(rt, err, "clEnqueueWriteBuffer", NULL, __FILE__, __LINE__);
    return CR_OK;
}

cr_status cr_buffer_read(cr_runtime *rt, cl_mem buf, size_t offset, size_t bytes, void *dst)
{
    if (bytes == 0) return CR_OK;
    cl_int err = clEnqueueReadBuffer(rt->queue, buf, CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
    if (err != CL_SUCCESS) return cr_fail_device(rt, err, "clEnqueueReadBuffer", NULL, __FILE__, __LINE__);
    return CR_OK;
}

cr_status cr_finish(cr_runtime *rt)
{
    cl_int err = clFinish(rt->queue);
    if (err != CL_SUCCESS)
        return cr_fail_device(rt, err, "clFinish", rt->dev.device_name, __FILE__, __LINE__);
    return CR_OK;
}
