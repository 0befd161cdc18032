/* Helpers for the network-engine tests: a seeded host generator, device and
 * engine set-up (skip when there is no device; report when there is no
 * fp64), error norms, and a central-difference gradient checker that
 * perturbs one device element at a time on a double-precision engine. */
#ifndef CLRESTORE_NN_TESTUTIL_H
#define CLRESTORE_NN_TESTUTIL_H

#include <stdint.h>

#include "clrestore/nn.h"
#include "clrestore/runtime.h"
#include "testutil.h"

/* xorshift64* -> uniform in [lo, hi); deterministic across platforms */
static uint64_t tu_state = 0x9E3779B97F4A7C15ull;
static void tu_seed(uint64_t s) { tu_state = s ? s : 1; }
static double tu_uniform(double lo, double hi)
{
    tu_state ^= tu_state >> 12;
    tu_state ^= tu_state << 25;
    tu_state ^= tu_state >> 27;
    uint64_t r = tu_state * 0x2545F4914F6CDD1Dull;
    return lo + (hi - lo) * (double)(r >> 11) * (1.0 / 9007199254740992.0);
}
static void tu_fill(double *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) x[i] = tu_uniform(lo, hi);
}

static double *tu_alloc(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* max |a - ref| / max |ref| (absolute when ref is all zero) */
static double tu_maxrel(const double *a, const double *ref, size_t n)
{
    double diff = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(a[i] - ref[i]) > diff || a[i] != a[i]) diff = a[i] != a[i] ? INFINITY : fabs(a[i] - ref[i]);
        if (fabs(ref[i]) > scale) scale = fabs(ref[i]);
    }
    return scale > 0 ? diff / scale : diff;
}

static double tu_dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* The runtime of the first device, or NULL (the caller exits 77). */
static cr_runtime *tu_runtime(void)
{
    cr_runtime *rt = NULL;
    if (cr_runtime_create(NULL, &rt) != CR_OK) {
        printf("SKIP: no OpenCL device (%s)\n", cr_error_message());
        return NULL;
    }
    return rt;
}

/* A double engine, or NULL with a visible note when the device has no fp64. */
static cr_nn *tu_double_engine(cr_runtime *rt)
{
    cr_nn *nn = NULL;
    if (!rt->dev.fp64) {
        printf("NOTE: %s has no fp64; gradient checks skipped\n", rt->dev.device_name);
        return NULL;
    }
    CHECK_OK(cr_nn_create(rt, CR_DOUBLE, &nn));
    return nn;
}

/* Creates a tensor and uploads host values. */
static cr_tensor tu_tensor(cr_nn *nn, int n, int c, int h, int w, const double *host, const char *what)
{
    cr_tensor t;
    CHECK_OK(cr_tensor_alloc(nn, &t, n, c, h, w, what));
    if (host) CHECK_OK(cr_tensor_write(nn, &t, host));
    return t;
}

static double *tu_read(cr_nn *nn, const cr_tensor *t)
{
    double *h = tu_alloc(cr_tensor_count(t));
    CHECK_OK(cr_tensor_read(nn, t, h));
    return h;
}

/* Central differences of loss() with respect to the elements of t (a tensor
 * of a double engine whose current values are x), at every element when
 * there are at most max_check of them, else at max_check evenly spread ones
 * (first and last included). Returns max |numeric - analytic| / max |analytic|. */
static double tu_fd_check(cr_nn *nn, const cr_tensor *t, const double *x, const double *analytic,
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

#endif
