/* Helpers for the network-engine tests: a seeded host generator, device and
 * engine set-up (skip when there is no device; report when there is no
 * fp64), error norms, and a central-difference gradient checker that
 * perturbs one device element at a time on a double-precision engine; and
 * host references of the 8 dihedral transforms test-time augmentation uses. */
#ifndef CLRESTORE_NN_TESTUTIL_H
#define CLRESTORE_NN_TESTUTIL_H

#include <stdint.h>

#include "clrestore/nn.h"
#include "clrestore/runtime.h"
#include "testutil.h"

/* xorshift64* -> uniform in [lo, hi); deterministic across platforms */
static uint64_t tu_state = 0x9E3779B97F4A7C15ull;
static inline void tu_seed(uint64_t s) { tu_state = s ? s : 1; }
static inline double tu_uniform(double lo, double hi)
{
    tu_state ^= tu_state >> 12;
    tu_state ^= tu_state << 25;
    tu_state ^= tu_state >> 27;
    uint64_t r = tu_state * 0x2545F4914F6CDD1Dull;
    return lo + (hi - lo) * (double)(r >> 11) * (1.0 / 9007199254740992.0);
}
static inline void tu_fill(double *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) x[i] = tu_uniform(lo, hi);
}

static inline double *tu_alloc(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* max |a - ref| / max |ref| (absolute when ref is all zero) */
static inline double tu_maxrel(const double *a, const double *ref, size_t n)
{
    double diff = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(a[i] - ref[i]) > diff || a[i] != a[i]) diff = a[i] != a[i] ? INFINITY : fabs(a[i] - ref[i]);
        if (fabs(ref[i]) > scale) scale = fabs(ref[i]);
    }
    return scale > 0 ? diff / scale : diff;
}

static inline double tu_dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* The runtime of the first device, or NULL (the caller exits 77). */
static inline cr_runtime *tu_runtime(void)
{
    cr_runtime *rt = NULL;
    if (cr_runtime_create(getenv("CLRESTORE_DEVICE"), &rt) != CR_OK) {
        printf("SKIP: no OpenCL device (%s)\n", cr_error_message());
        return NULL;
    }
    return rt;
}

/* The reference device's runtime (CLRESTORE_REF_DEVICE) when the device
 * under test has no fp64; freed at exit, after the tests freed its engine. */
static cr_runtime *tu_ref_rt;
static inline void tu_ref_free(void)
{
    cr_runtime_free(tu_ref_rt);
    tu_ref_rt = NULL;
}

/* A double engine, or NULL with a visible note when the device has no fp64.
 * Then CLRESTORE_REF_DEVICE names another device to run the double engine on
 * (tests/device_rusticl.sh: PoCL), so the float kernels of a device without
 * fp64 are still compared with double ones; values move through the host. */
static inline cr_nn *tu_double_engine(cr_runtime *rt)
{
    cr_nn *nn = NULL;
    if (!rt->dev.fp64) {
        const char *ref = getenv("CLRESTORE_REF_DEVICE");
        if (!ref || !*ref) {
            printf("NOTE: %s has no fp64; gradient checks skipped\n", rt->dev.device_name);
            return NULL;
        }
        if (!tu_ref_rt) {
            CHECK_OK(cr_runtime_create(ref, &tu_ref_rt));
            if (!tu_ref_rt) return NULL;
            atexit(tu_ref_free);
        }
        if (!tu_ref_rt->dev.fp64) {
            printf("NOTE: neither %s nor the reference %s has fp64; gradient checks skipped\n", rt->dev.device_name,
                   tu_ref_rt->dev.device_name);
            return NULL;
        }
        printf("NOTE: %s has no fp64; the double engine runs on %s\n", rt->dev.device_name,
               tu_ref_rt->dev.device_name);
        rt = tu_ref_rt;
    }
    CHECK_OK(cr_nn_create(rt, CR_DOUBLE, &nn));
    return nn;
}

/* Creates a tensor and uploads host values. */
static inline cr_tensor tu_tensor(cr_nn *nn, int n, int c, int h, int w, const double *host, const char *what)
{
    cr_tensor t;
    CHECK_OK(cr_tensor_alloc(nn, &t, n, c, h, w, what));
    if (host) CHECK_OK(cr_tensor_write(nn, &t, host));
    return t;
}

static inline double *tu_read(cr_nn *nn, const cr_tensor *t)
{
    double *h = tu_alloc(cr_tensor_count(t));
    CHECK_OK(cr_tensor_read(nn, t, h));
    return h;
}

/* Central differences of loss() with respect to the elements of t (a tensor
 * of a double engine whose current values are x), at every element when
 * there are at most max_check of them, else at max_check evenly spread ones
 * (first and last included). Returns max |numeric - analytic| / max |analytic|. */
static inline double tu_fd_check(cr_nn *nn, const cr_tensor *t, const double *x, const double *analytic,
                          double (*loss)(void *), void *ctx, double h, size_t max_check)
{
    cr_runtime *rt = cr_nn_runtime(nn);
    size_t n = cr_tensor_count(t);
    double scale = 0, err = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(analytic[i]) > scale) scale = fabs(analytic[i]);
    if (scale == 0) scale = 1;
    size_t checks = n <= max_check ? n : max_check;
    for (size_t c = 0; c < checks; c++) {
        size_t i = checks == n ? c : (c * (n - 1)) / (checks - 1);
        size_t at = (t->off + i) * sizeof(double);
        double v = x[i] + h;
        CHECK_OK(cr_buffer_write(rt, t->buf, at, sizeof v, &v));
        double lp = loss(ctx);
        v = x[i] - h;
        CHECK_OK(cr_buffer_write(rt, t->buf, at, sizeof v, &v));
        double lm = loss(ctx);
        CHECK_OK(cr_buffer_write(rt, t->buf, at, sizeof x[i], &x[i]));
        double num = (lp - lm) / (2 * h);
        double e = fabs(num - analytic[i]) / scale;
        if (e > err || e != e) err = e != e ? INFINITY : e;
    }
    return err;
}

/* Host reference of dihedral transform d (bit 2 transposes, bit 1 flips
 * rows, bit 0 flips columns of the output): out[r][c] = in at the source. */
static inline void dihedral_host(float *out, const float *in, int h, int w, int d)
{
    int oh = (d & 4) ? w : h, ow = (d & 4) ? h : w;
    for (int r = 0; r < oh; r++)
        for (int c = 0; c < ow; c++) {
            int sr = (d & 2) ? oh - 1 - r : r, sc = (d & 1) ? ow - 1 - c : c;
            out[r * ow + c] = (d & 4) ? in[sc * w + sr] : in[sr * w + sc];
        }
}

/* The inverse of dihedral_host: res (the transformed shape) mapped back to
 * h x w, each output pixel written where its source pixel sat. */
static inline void undo_host(float *out, const float *res, int h, int w, int d)
{
    int oh = (d & 4) ? w : h, ow = (d & 4) ? h : w;
    for (int r = 0; r < oh; r++)
        for (int c = 0; c < ow; c++) {
            int sr = (d & 2) ? oh - 1 - r : r, sc = (d & 1) ? ow - 1 - c : c;
            if (d & 4) out[sc * w + sr] = res[r * ow + c];
            else out[sr * w + sc] = res[r * ow + c];
        }
}

#endif
