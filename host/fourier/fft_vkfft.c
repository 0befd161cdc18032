/* VkFFT backend (header-only vkFFT.h 1.2.x, OpenCL backend = 3): any length,
 * Bluestein for large primes. Used for sizes clFFT rejects or on request.
 *
 * One VkFFT application serves both directions: isInputFormatted puts the real
 * image in its own buffer ("inputBuffer", rows of nx floats) and the half
 * spectrum in "buffer" (rows of nx/2+1 complex), and inverseReturnToInputBuffer
 * sends the inverse back into the real buffer.
 *
 * VkFFT compiles its kernels from source at initialisation; PoCL's own
 * kernel cache makes a repeated shape cheap (0.1-0.2 s warm). VkFFT's
 * saveApplicationToString / loadApplicationFromString is deliberately not
 * used: in 1.2.26 the OpenCL load path copies two bytes less than the length
 * it hands to clCreateProgramWithBinary (a heap over-read under ASan). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/log.h"
#include "fft_internal.h"

#ifdef CLRESTORE_HAVE_VKFFT
#define VKFFT_BACKEND 3
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <vkFFT.h>
#pragma GCC diagnostic pop

struct cr_vkfft_plan {
    VkFFTApplication app;
    int initialised;
    int nx, ny, batch;
    uint64_t spec_bytes, real_bytes;
};

typedef struct {
    cr_vkfft_plan *p;
    VkFFTConfiguration *c;
} cr_vkfft_init_args;

static int cr_vkfft_init_quiet(void *arg)
{
    cr_vkfft_init_args *a = arg;
    return (int)initializeVkFFT(&a->p->app, *a->c);
}

static VkFFTResult cr_vkfft_init(cr_vkfft_plan *p, cr_runtime *rt)
{
    VkFFTConfiguration c;
    memset(&c, 0, sizeof c);
    c.FFTdim = 2;
    c.size[0] = (uint64_t)p->nx;
    c.size[1] = (uint64_t)p->ny;
    c.numberBatches = (uint64_t)p->batch;
    c.performR2C = 1;
    c.normalize = 1; /* inverse scaled by 1/(nx ny), as clFFT's default */
    c.isInputFormatted = 1;
    c.inverseReturnToInputBuffer = 1;
    c.inputBufferStride[0] = (uint64_t)p->nx;
    c.inputBufferStride[1] = (uint64_t)p->nx * p->ny;
    c.bufferStride[0] = (uint64_t)p->nx / 2 + 1;
    c.bufferStride[1] = ((uint64_t)p->nx / 2 + 1) * p->ny;
    c.bufferSize = &p->spec_bytes;
    c.inputBufferSize = &p->real_bytes;
    c.platform = &rt->dev.platform;
    c.device = &rt->dev.device;
    c.context = &rt->ctx;
    c.commandQueue = &rt->queue; /* Bluestein uploads its chirp at init */
    cr_vkfft_init_args a = {p, &c};
    VkFFTResult r = (VkFFTResult)cr_log_quiet_call(cr_vkfft_init_quiet, &a); /* VkFFT compiles here */
    if (r == VKFFT_SUCCESS) p->initialised = 1;
    return r;
}

cr_status cr_vkfft_plan_create(cr_runtime *rt, int nx, int ny, int batch, cr_vkfft_plan **out)
{
    *out = NULL;
    cr_vkfft_plan *p = calloc(1, sizeof *p);
    if (!p) return cr_fail(CR_ERR_NOMEM, "out of memory creating a VkFFT plan");
    p->nx = nx;
    p->ny = ny;
    p->batch = batch;
    p->spec_bytes = ((uint64_t)nx / 2 + 1) * ny * batch * 8;
    p->real_bytes = (uint64_t)nx * ny * batch * 4;
    VkFFTResult r = cr_vkfft_init(p, rt);
    if (r != VKFFT_SUCCESS) {
        cr_vkfft_plan_free(p);
        return cr_fail(CR_ERR_UNSUPPORTED, "VkFFT plan %dx%d (batch %d) on %s: initializeVkFFT error %d", nx, ny,
                       batch, rt->dev.device_name, (int)r);
    }
    *out = p;
    return CR_OK;
}

void cr_vkfft_plan_free(cr_vkfft_plan *p)
{
    if (!p) return;
    if (p->initialised) deleteVkFFT(&p->app);
    free(p);
}

cr_status cr_vkfft_exec(cr_vkfft_plan *p, cr_runtime *rt, int inverse, cl_mem real, cl_mem spec)
{
    VkFFTLaunchParams lp;
    memset(&lp, 0, sizeof lp);
    lp.commandQueue = &rt->queue;
    lp.buffer = &spec;
    lp.inputBuffer = &real;
    VkFFTResult r = VkFFTAppend(&p->app, inverse ? 1 : -1, &lp);
    if (r != VKFFT_SUCCESS)
        return cr_fail(CR_ERR_INTERNAL, "VkFFT %s %dx%d (batch %d): VkFFTAppend error %d",
                       inverse ? "inverse" : "forward", p->nx, p->ny, p->batch, (int)r);
    return CR_OK;
}

#else /* no VkFFT in this build: cr_fft_plan_get never asks for it */

cr_status cr_vkfft_plan_create(cr_runtime *rt, int nx, int ny, int batch, cr_vkfft_plan **out)
{
    *out = NULL;
    return cr_fail(CR_ERR_UNSUPPORTED, "FFT %dx%d: this build has no VkFFT", nx, ny);
}
void cr_vkfft_plan_free(cr_vkfft_plan *p)
{
    (void)p;
}
cr_status cr_vkfft_exec(cr_vkfft_plan *p, cr_runtime *rt, int inverse, cl_mem real, cl_mem spec)
{
    return cr_fail(CR_ERR_UNSUPPORTED, "this build has no VkFFT");
}
#endif
