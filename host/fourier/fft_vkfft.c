/* VkFFT backend (header-only vkFFT.h 1.2.x, OpenCL backend = 3): any length,
 * Bluestein for large primes. Used for sizes clFFT rejects or on request.
 *
 * One VkFFT application serves both directions: isInputFormatted puts the real
 * image in its own buffer ("inputBuffer", rows of nx floats) and the half
 * spectrum in "buffer" (rows of nx/2+1 complex), and inverseReturnToInputBuffer
 * sends the inverse back into the real buffer.
 *
 * VkFFT compiles its kernels at initialisation (seconds to tens of seconds on
 * PoCL), so the compiled binaries are saved with saveApplicationToString and
 * reloaded with loadApplicationFromString from <kernel cache>/vkfft-<key>.bin;
 * key = FNV-1a over the VkFFT version, device, driver and shape. A file the
 * driver rejects is ignored and rewritten. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fileutil.h"
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

static uint64_t cr_fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void cr_vkfft_cache_file(const cr_runtime *rt, int nx, int ny, int batch, char *path, size_t len)
{
    path[0] = '\0';
    if (!rt->cache_dir[0]) return;
    int ver = VkFFTGetVersion();
    int shape[3] = {nx, ny, batch};
    uint64_t h = 0xcbf29ce484222325ULL;
    h = cr_fnv(h, &ver, sizeof ver);
    h = cr_fnv(h, rt->dev.device_name, strlen(rt->dev.device_name));
    h = cr_fnv(h, rt->dev.device_version, strlen(rt->dev.device_version));
    h = cr_fnv(h, rt->dev.driver_version, strlen(rt->dev.driver_version));
    h = cr_fnv(h, rt->dev.platform_version, strlen(rt->dev.platform_version));
    h = cr_fnv(h, shape, sizeof shape);
    snprintf(path, len, "%s/vkfft-%016llx.bin", rt->cache_dir, (unsigned long long)h);
}

static VkFFTResult cr_vkfft_init(cr_vkfft_plan *p, cr_runtime *rt, void *cached)
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
    if (cached) {
        c.loadApplicationFromString = 1;
        c.loadApplicationString = cached;
    } else {
        c.saveApplicationToString = 1;
    }
    VkFFTResult r = initializeVkFFT(&p->app, c);
    if (r == VKFFT_SUCCESS) p->initialised = 1;
    return r;
}

cr_status cr_vkfft_plan_create(cr_runtime *rt, int nx, int ny, int batch, cr_vkfft_plan **out)
{
    cr_status st = CR_OK;
    char path[1200];
    char *cached = NULL;
    size_t cached_len = 0;
    cr_atomic_file af = {0};
    *out = NULL;
    cr_vkfft_plan *p = calloc(1, sizeof *p);
    if (!p) return cr_fail(CR_ERR_NOMEM, "out of memory creating a VkFFT plan");
    p->nx = nx;
    p->ny = ny;
    p->batch = batch;
    p->spec_bytes = ((uint64_t)nx / 2 + 1) * ny * batch * 8;
    p->real_bytes = (uint64_t)nx * ny * batch * 4;

    cr_vkfft_cache_file(rt, nx, ny, batch, path, sizeof path);
    if (path[0] && cr_read_file(path, &cached, &cached_len) != CR_OK) {
        cr_error_clear(); /* no cache entry yet: compile */
        cached = NULL;
    }
    VkFFTResult r = VKFFT_ERROR_FAILED_TO_INITIALIZE;
    if (cached) {
        r = cr_vkfft_init(p, rt, cached);
        if (r != VKFFT_SUCCESS) {
            cr_debug("VkFFT cache %s rejected (VkFFT error %d); recompiling", path, (int)r);
            if (p->initialised) deleteVkFFT(&p->app);
            memset(&p->app, 0, sizeof p->app);
            p->initialised = 0;
        } else {
            cr_debug("VkFFT %dx%d loaded from %s", nx, ny, path);
        }
    }
    if (!p->initialised) {
        r = cr_vkfft_init(p, rt, NULL);
        if (r != VKFFT_SUCCESS) {
            st = cr_fail(CR_ERR_UNSUPPORTED, "VkFFT plan %dx%d (batch %d) on %s: initializeVkFFT error %d", nx, ny,
                         batch, rt->dev.device_name, (int)r);
            goto cleanup;
        }
        /* The cache is an optimisation: a failure to write it is not an error. */
        if (path[0] && p->app.saveApplicationString && p->app.applicationStringSize > 0) {
            if (cr_atomic_open(&af, path) == CR_OK &&
                fwrite(p->app.saveApplicationString, 1, p->app.applicationStringSize, af.fp) ==
                    p->app.applicationStringSize &&
                cr_atomic_commit(&af) == CR_OK) {
                cr_debug("VkFFT %dx%d saved to %s", nx, ny, path);
            } else {
                cr_debug("VkFFT cache %s not written: %s", path, cr_error_message());
                cr_error_clear();
            }
            cr_atomic_abort(&af);
        }
    }
    free(cached);
    *out = p;
    return CR_OK;
cleanup:
    free(cached);
    cr_vkfft_plan_free(p);
    return st;
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
