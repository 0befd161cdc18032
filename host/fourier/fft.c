/* FFT plan cache and the clFFT backend; VkFFT lives in fft_vkfft.c.
 *
 * clFFT needs clfftSetup once per process before any plan and clfftTeardown
 * after the last; several runtimes may exist at once (tests, multi-device
 * denoise), so both are reference-counted under a mutex. clFFT keeps its own
 * binary cache in $CLFFT_CACHE_PATH; when the user has not set it we point it
 * at "<our kernel cache>/clfft/" so a second start does not recompile. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <clFFT.h>

#include "clrestore/log.h"
#include "fft_internal.h"

struct cr_fft_plan {
    int nx, ny, batch;
    cr_fft_backend backend;
    clfftPlanHandle fwd, inv; /* clFFT: one plan per direction (layouts differ) */
    int have_fwd, have_inv;
    cr_vkfft_plan *vk;
    cr_runtime *rt;
};

struct cr_fft {
    cr_runtime *rt;
    cr_fft_backend preferred;
    int clfft_ref; /* this object holds one clfftSetup reference */
    cr_fft_plan **plans;
    int nplans, cap;
};

#ifdef __SANITIZE_ADDRESS__
/* clFFT 2.12 destroys its plan actions through a base-class pointer without a
 * virtual destructor (FFTRepo::deletePlan), which ASan reports as a
 * new-delete size mismatch inside libclFFT; that check is off for it, only
 * in sanitizer builds. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "new_delete_type_mismatch=0";
}
#endif

static pthread_mutex_t cr_clfft_lock = PTHREAD_MUTEX_INITIALIZER;
static int cr_clfft_users = 0;

const char *cr_fft_backend_name(cr_fft_backend b)
{
    switch (b) {
    case CR_FFT_CLFFT: return "clfft";
    case CR_FFT_VKFFT: return "vkfft";
    default: return "auto";
    }
}

int cr_fft_backend_available(cr_fft_backend b)
{
#ifdef CLRESTORE_HAVE_VKFFT
    return b == CR_FFT_CLFFT || b == CR_FFT_VKFFT;
#else
    return b == CR_FFT_CLFFT;
#endif
}

int cr_fft_clfft_supports(int n)
{
    static const int primes[] = {2, 3, 5, 7, 11, 13};
    if (n < 1) return 0;
    for (int i = 0; i < 6; i++)
        while (n % primes[i] == 0) n /= primes[i];
    return n == 1;
}

static cr_status cr_fail_clfft(clfftStatus s, const char *call, const cr_fft_plan *p)
{
    /* clFFT statuses are OpenCL codes plus its own block from 4096 up. */
    const char *name = (int)s < 0 ? cr_cl_error_name((int)s)
                       : s == CLFFT_NOTIMPLEMENTED ? "CLFFT_NOTIMPLEMENTED"
                       : s == CLFFT_INVALID_PLAN   ? "CLFFT_INVALID_PLAN"
                       : s == CLFFT_FILE_NOT_FOUND ? "CLFFT_FILE_NOT_FOUND"
                                                   : "CLFFT error";
    if (p) return cr_fail(CR_ERR_CLFFT, "%s(%dx%d, batch %d): %s (%d)", call, p->nx, p->ny, p->batch, name, (int)s);
    return cr_fail(CR_ERR_CLFFT, "%s: %s (%d)", call, name, (int)s);
}

/* Points clFFT's binary cache at our cache directory unless the user chose one. */
static void cr_clfft_cache_path(const cr_runtime *rt)
{
    const char *env = getenv("CLFFT_CACHE_PATH");
    if ((env && *env) || !rt->cache_dir[0]) return;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/clfft/", rt->cache_dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return;
    setenv("CLFFT_CACHE_PATH", dir, 0);
}

/* clFFT files binaries under $CLFFT_CACHE_PATH/<device vendor>/<device
 * name>/<driver version>/, making one directory per name; a name with a '/'
 * in it (rusticl's vendor "Mesa/X.org") makes it print "Cannot not create
 * directory" and turn its cache off for the whole process. Making the full
 * path first avoids both. */
static void cr_clfft_device_dirs(const cr_runtime *rt)
{
    const char *base = getenv("CLFFT_CACHE_PATH");
    char path[2048];
    if (!base || !*base) return;
    int n = snprintf(path, sizeof path, "%s/%s/%s/%s/", base, rt->dev.vendor, rt->dev.device_name,
                     rt->dev.driver_version);
    if (n <= 0 || n >= (int)sizeof path) return;
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(path, 0755) != 0 && errno != EEXIST) return; /* clFFT then says why */
            *p = '/';
        }
}

static cr_status cr_clfft_acquire(const cr_runtime *rt)
{
    cr_status st = CR_OK;
    pthread_mutex_lock(&cr_clfft_lock);
    if (cr_clfft_users == 0) {
        cr_clfft_cache_path(rt);
        /* clfftInitSetupData is a C99 "inline" without an external
         * definition: an unoptimised build cannot link it, so fill the
         * struct as it would (clFFT.h). */
        clfftSetupData setup;
        memset(&setup, 0, sizeof setup);
        setup.major = clfftVersionMajor;
        setup.minor = clfftVersionMinor;
        setup.patch = clfftVersionPatch;
        clfftStatus s = clfftSetup(&setup);
        if (s != CLFFT_SUCCESS) st = cr_fail_clfft(s, "clfftSetup", NULL);
    }
    if (st == CR_OK) cr_clfft_users++;
    if (st == CR_OK) cr_clfft_device_dirs(rt);
    pthread_mutex_unlock(&cr_clfft_lock);
    return st;
}

static void cr_clfft_release(void)
{
    pthread_mutex_lock(&cr_clfft_lock);
    if (cr_clfft_users > 0 && --cr_clfft_users == 0) clfftTeardown();
    pthread_mutex_unlock(&cr_clfft_lock);
}

cr_status cr_fft_create(cr_runtime *rt, cr_fft **out)
{
    *out = NULL;
    cr_fft *f = calloc(1, sizeof *f);
    if (!f) return cr_fail(CR_ERR_NOMEM, "out of memory creating the FFT plan cache");
    f->rt = rt;
    f->preferred = CR_FFT_CLFFT;
    const char *env = getenv("CLRESTORE_FFT");
    if (env && *env) {
        if (strcmp(env, "clfft") == 0) {
            f->preferred = CR_FFT_CLFFT;
        } else if (strcmp(env, "vkfft") == 0 && cr_fft_backend_available(CR_FFT_VKFFT)) {
            f->preferred = CR_FFT_VKFFT;
        } else {
            free(f);
            return cr_fail(CR_ERR_ARG, "CLRESTORE_FFT=%s: expected clfft%s", env,
                           cr_fft_backend_available(CR_FFT_VKFFT) ? " or vkfft" : " (built without VkFFT)");
        }
    }
    *out = f;
    return CR_OK;
}

cr_status cr_fft_set_preferred(cr_fft *f, cr_fft_backend b)
{
    if (b == CR_FFT_AUTO) b = CR_FFT_CLFFT;
    if (!cr_fft_backend_available(b)) return cr_fail(CR_ERR_UNSUPPORTED, "FFT backend %s is not in this build", cr_fft_backend_name(b));
    f->preferred = b;
    return CR_OK;
}

static void cr_fft_plan_free(cr_fft_plan *p)
{
    if (!p) return;
    if (p->have_fwd) clfftDestroyPlan(&p->fwd);
    if (p->have_inv) clfftDestroyPlan(&p->inv);
    cr_vkfft_plan_free(p->vk);
    free(p);
}

void cr_fft_free(cr_fft *f)
{
    if (!f) return;
    for (int i = 0; i < f->nplans; i++) cr_fft_plan_free(f->plans[i]);
    free(f->plans);
    if (f->clfft_ref) cr_clfft_release();
    free(f);
}

typedef struct {
    clfftPlanHandle h;
    cl_command_queue queue;
} cr_clfft_bake_args;

static int cr_clfft_bake(void *arg)
{
    cr_clfft_bake_args *a = arg;
    return (int)clfftBakePlan(a->h, 1, &a->queue, NULL, NULL);
}

/* One clFFT plan for one direction: out of place, single precision, the
 * layouts of fft.h (strides in elements of the respective type). */
static cr_status cr_clfft_make(cr_fft_plan *p, int inverse, clfftPlanHandle *h)
{
    cr_runtime *rt = p->rt;
    size_t len[2] = {(size_t)p->nx, (size_t)p->ny};
    size_t hx = (size_t)p->nx / 2 + 1;
    size_t rstride[2] = {1, (size_t)p->nx}, cstride[2] = {1, hx};
    size_t rdist = (size_t)p->nx * p->ny, cdist = hx * p->ny;
    clfftStatus s;
    const char *call = "clfftCreateDefaultPlan";
    if ((s = clfftCreateDefaultPlan(h, rt->ctx, CLFFT_2D, len)) != CLFFT_SUCCESS) goto fail;
    call = "clfftSetPlan*";
    if ((s = clfftSetPlanPrecision(*h, CLFFT_SINGLE)) != CLFFT_SUCCESS) goto fail;
    if ((s = clfftSetResultLocation(*h, CLFFT_OUTOFPLACE)) != CLFFT_SUCCESS) goto fail;
    if ((s = clfftSetPlanBatchSize(*h, (size_t)p->batch)) != CLFFT_SUCCESS) goto fail;
    if (!inverse) {
        if ((s = clfftSetLayout(*h, CLFFT_REAL, CLFFT_HERMITIAN_INTERLEAVED)) != CLFFT_SUCCESS) goto fail;
        if ((s = clfftSetPlanInStride(*h, CLFFT_2D, rstride)) != CLFFT_SUCCESS) goto fail;
        if ((s = clfftSetPlanOutStride(*h, CLFFT_2D, cstride)) != CLFFT_SUCCESS) goto fail;
        if ((s = clfftSetPlanDistance(*h, rdist, cdist)) != CLFFT_SUCCESS) goto fail;
        if ((s = clfftSetPlanScale(*h, CLFFT_FORWARD, 1.0f)) != CLFFT_SUCCESS) goto fail;
    } else {
        if ((s = clfftSetLayout(*h, CLFFT_HERMITIAN_INTERLEAVED, CLFFT_REAL)) != CLFFT_SUCCESS) goto fail;
        if ((s = clfftSetPlanInStride(*h, CLFFT_2D, cstride)) != CLFFT_SUCCESS) goto fail;
        if ((s = clfftSetPlanOutStride(*h, CLFFT_2D, rstride)) != CLFFT_SUCCESS) goto fail;
        if ((s = clfftSetPlanDistance(*h, cdist, rdist)) != CLFFT_SUCCESS) goto fail;
        if ((s = clfftSetPlanScale(*h, CLFFT_BACKWARD, 1.0f / (float)rdist)) != CLFFT_SUCCESS) goto fail;
    }
    call = "clfftBakePlan";
    cr_clfft_bake_args bake = {*h, rt->queue};
    s = (clfftStatus)cr_log_quiet_call(cr_clfft_bake, &bake); /* clFFT compiles here */
    if (s != CLFFT_SUCCESS) goto fail;
    return CR_OK;
fail:
    return cr_fail_clfft(s, call, p);
}

static cr_status cr_fft_plan_build(cr_fft *f, cr_fft_plan *p)
{
    cr_status st = CR_OK;
    double t0 = cr_now();
    if (p->backend == CR_FFT_CLFFT) {
        if (!f->clfft_ref) {
            CR_TRY(cr_clfft_acquire(f->rt));
            f->clfft_ref = 1;
        }
        CR_TRY(cr_clfft_make(p, 0, &p->fwd));
        p->have_fwd = 1;
        CR_TRY(cr_clfft_make(p, 1, &p->inv));
        p->have_inv = 1;
    } else {
        CR_TRY(cr_vkfft_plan_create(f->rt, p->nx, p->ny, p->batch, &p->vk));
    }
    cr_debug("FFT plan %dx%d (batch %d, %s) ready in %.2f s", p->nx, p->ny, p->batch,
             cr_fft_backend_name(p->backend), cr_now() - t0);
cleanup:
    return st;
}

cr_status cr_fft_plan_get(cr_fft *f, int nx, int ny, int batch, cr_fft_backend backend, cr_fft_plan **out)
{
    cr_status st = CR_OK;
    cr_fft_plan *p = NULL;
    *out = NULL;
    if (nx < 1 || ny < 1 || batch < 1) return cr_fail(CR_ERR_ARG, "FFT of %dx%d (batch %d): bad shape", nx, ny, batch);
    int clfft_ok = cr_fft_clfft_supports(nx) && cr_fft_clfft_supports(ny);
    if (backend == CR_FFT_AUTO) {
        backend = f->preferred;
        if (backend == CR_FFT_CLFFT && !clfft_ok) backend = CR_FFT_VKFFT;
    }
    if (!cr_fft_backend_available(backend))
        return cr_fail(CR_ERR_UNSUPPORTED, "FFT of %dx%d: clFFT accepts only lengths with prime factors up to 13 "
                                           "and this build has no VkFFT", nx, ny);
    if (backend == CR_FFT_CLFFT && !clfft_ok)
        return cr_fail(CR_ERR_UNSUPPORTED, "FFT of %dx%d: clFFT accepts only lengths with prime factors up to 13",
                       nx, ny);
    for (int i = 0; i < f->nplans; i++) {
        cr_fft_plan *q = f->plans[i];
        if (q->nx == nx && q->ny == ny && q->batch == batch && q->backend == backend) {
            *out = q;
            return CR_OK;
        }
    }
    if (f->nplans == f->cap) {
        int cap = f->cap ? 2 * f->cap : 8;
        cr_fft_plan **np = realloc(f->plans, (size_t)cap * sizeof *np);
        if (!np) return cr_fail(CR_ERR_NOMEM, "out of memory growing the FFT plan cache");
        f->plans = np;
        f->cap = cap;
    }
    p = calloc(1, sizeof *p);
    if (!p) return cr_fail(CR_ERR_NOMEM, "out of memory creating an FFT plan");
    p->nx = nx;
    p->ny = ny;
    p->batch = batch;
    p->backend = backend;
    p->rt = f->rt;
    CR_TRY(cr_fft_plan_build(f, p));
    f->plans[f->nplans++] = p;
    *out = p;
    return CR_OK;
cleanup:
    cr_fft_plan_free(p);
    return st;
}

cr_fft_backend cr_fft_plan_backend(const cr_fft_plan *p)
{
    return p->backend;
}

cr_status cr_fft_forward(cr_fft_plan *p, cl_mem real_in, cl_mem spec_out)
{
    if (p->backend == CR_FFT_VKFFT) return cr_vkfft_exec(p->vk, p->rt, 0, real_in, spec_out);
    clfftStatus s = clfftEnqueueTransform(p->fwd, CLFFT_FORWARD, 1, &p->rt->queue, 0, NULL, NULL, &real_in,
                                          &spec_out, NULL);
    return s == CLFFT_SUCCESS ? CR_OK : cr_fail_clfft(s, "clfftEnqueueTransform(forward)", p);
}

cr_status cr_fft_inverse(cr_fft_plan *p, cl_mem spec_in, cl_mem real_out)
{
    if (p->backend == CR_FFT_VKFFT) return cr_vkfft_exec(p->vk, p->rt, 1, real_out, spec_in);
    clfftStatus s = clfftEnqueueTransform(p->inv, CLFFT_BACKWARD, 1, &p->rt->queue, 0, NULL, NULL, &spec_in,
                                          &real_out, NULL);
    return s == CLFFT_SUCCESS ? CR_OK : cr_fail_clfft(s, "clfftEnqueueTransform(inverse)", p);
}
