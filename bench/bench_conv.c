/* bench_conv: GFLOP/s of the tiled convolution engine (host/nn/conv_fast.h; forward, dX, dW) at the WA-U-Net's layer
 * shapes, next to OpenBLAS SGEMM measured in the same run at n = 2048 and at each layer's
 * GEMM shape (M x N x K = cout x pixels x cin*k*k). Every timed result is first checked
 * against a double-precision CPU computation at sampled points.
 *
 * usage: bench_conv [--quick] [--filter TEXT] [--passes fwd,dX,dW] [--reps N] [--min]
 *                   [--fwd TM,VW,LOCAL] [--dw TM,TN,VW,LOCAL]
 *                   [--dw-split MIN_ITEMS,CHUNK_PX] [--versus PARAMS.conv] [--device SEL]
 *                   [--variant register|local] [--lm MWG,NWG,KWG,MDIMC,NDIMC,VWM] [--s2dx-versus]
 * --variant: the forward / dX kernel of every class (cr_conv_tiles.fwd_variant); --lm: the
 * work-group tiled variant's tiles (docs/perf-conv.md). To time both kernels in one run,
 * give the other one as --versus: a file whose first line is "clrestore-conv-params 1",
 * then one "class NAME fwd_variant=1" line per class (docs/tuning.md).
 * Times are medians (--min: the best) of N runs: wall clock around clFinish, after one
 * warm-up call. OpenBLAS (libopenblas-dev) uses its own threads; OPENBLAS_CORETYPE=SkylakeX
 * makes Debian's 0.3.21 use its AVX-512 kernels on Zen 5 (see docs/perf-conv.md).
 * --versus FILE: a second parameter set (a tuning cache file or any file of that syntax,
 * docs/tuning.md, for any device) timed in the same run, repetitions alternating with the
 * first (the device's own set), with the ratio "vs/own" per layer.
 * --s2dx-versus: the versus run of stride-2 dX is the zero-dilated path (cr_conv_fast_set_s2_dx 0)
 * with the own parameters, against the phase-split default; other passes as without it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clrestore/arch.h"
#include "clrestore/runtime.h"
#include "conv_fast.h"
#include "conv_tune.h"

#ifdef CLRESTORE_HAVE_OPENBLAS
#include <cblas.h>
#endif

typedef struct layer {
    char what[48]; /* the first convolution of the graph with this shape */
    int n, cin, cout, size, k, s, train, quick;
} layer;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static unsigned rng = 1;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

#define DIE(expr)                                                                              \
    do {                                                                                       \
        cr_status st_ = (expr);                                                                \
        if (st_ != CR_OK) {                                                                    \
            fprintf(stderr, "bench_conv: %s: %s\n", #expr, cr_error_message());                \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

/* The layer shapes of the default WA-U-Net, from its graph (cr_arch_convs: each
 * convolution with its level): training, batch 10 at 192^2, and inference, N = 1 at
 * 1024^2; each distinct shape once. --quick keeps the first of each (cin, cout, k, s)
 * in training and the full-resolution inference ones. */
static layer *graph_layers(int *count)
{
    cr_arch a = cr_arch_default();
    cr_conv_spec *c = NULL;
    int nc = 0, nl = 0;
    DIE(cr_arch_convs(&a, &c, &nc));
    layer *L = calloc((size_t)(2 * nc), sizeof *L);
    if (!L) exit(1);
    for (int train = 1; train >= 0; train--)
        for (int i = 0; i < nc; i++) {
            layer l = {"", train ? 10 : 1, c[i].cin, c[i].cout, (train ? 192 : 1024) >> c[i].level, c[i].k,
                       c[i].stride, train, 1};
            snprintf(l.what, sizeof l.what, "%s", c[i].name);
            int seen = 0;
            for (int j = 0; j < nl && !seen; j++) {
                const layer *o = &L[j];
                if (o->cin == l.cin && o->cout == l.cout && o->k == l.k && o->s == l.s && o->train == l.train) {
                    l.quick = 0;
                    seen = o->n == l.n && o->size == l.size;
                }
            }
            if (!train) l.quick = c[i].level == 0;
            if (!seen) L[nl++] = l;
        }
    free(c);
    *count = nl;
    return L;
}

typedef enum { FWD, DX, DW } pass;
static const char *pass_name[] = {"fwd", "dX", "dW"};

typedef struct bufs {
    cl_mem x, w, b, y, dy, dx, dw, db;
    float *hx, *hw, *hb, *hdy;
} bufs;

static cr_conv_geom geom(const layer *l) { return cr_conv_geom_make(l->n, l->cin, l->size, l->size, l->cout, l->k, l->s); }
#define TB(b) (&(cr_tensor){.buf = (b)})

static void run_pass(cr_conv_fast *cf, const layer *l, bufs *B, pass p)
{
    cr_conv_geom g = geom(l);
    if (p == FWD)
        DIE(cr_conv_fast_forward(cf, &g, TB(B->y), TB(B->x), TB(B->w), TB(B->b), NULL, 1));
    else if (p == DX)
        DIE(cr_conv_fast_backward_input(cf, &g, TB(B->dx), TB(B->dy), TB(B->w), 0));
    else
        DIE(cr_conv_fast_backward_weights(cf, &g, TB(B->dw), TB(B->db), TB(B->dy), TB(B->x)));
}

/* Input pixel that output o reads at tap t, or -1 in the padding. */
static int src(int o, int t, int s, int pad, int in) { int i = o * s + t - pad; return i >= 0 && i < in ? i : -1; }

/* Compares sampled results with a double computation; returns the worst relative error
 * (relative to the sum of |terms|, which bounds float rounding for any sign mix). */
static double check(cr_runtime *rt, const layer *l, bufs *B, pass p)
{
    cr_conv_geom g = geom(l);
    int ho = g.ho, pt = g.pad_y, k = l->k, H = l->size;
    double worst = 0;
    for (int t = 0; t < 24; t++) {
        double ref = 0, mag = 1e-30;
        float got = 0;
        rng = rng * 7 + (unsigned)t;
        if (p == FWD || p == DX) {
            int n = (int)(rng % l->n), c = (int)((rng >> 4) % (p == FWD ? l->cout : l->cin));
            int oy = (int)((rng >> 10) % (p == FWD ? ho : H)), ox = (int)((rng >> 20) % (p == FWD ? ho : H));
            if (p == FWD) {
                ref = B->hb[c];
                for (int ci = 0; ci < l->cin; ci++)
                    for (int kh = 0; kh < k; kh++)
                        for (int kw = 0; kw < k; kw++) {
                            int iy = src(oy, kh, l->s, pt, H), ix = src(ox, kw, l->s, pt, H);
                            if (iy < 0 || ix < 0) continue;
                            double v = (double)B->hw[((c * l->cin + ci) * k + kh) * k + kw] *
                                       B->hx[(((size_t)n * l->cin + ci) * H + iy) * H + ix];
                            ref += v, mag += fabs(v);
                        }
                if (ref < 0) ref = 0;
                size_t off = (((size_t)n * l->cout + c) * ho + oy) * ho + ox;
                DIE(cr_buffer_read(rt, B->y, off * 4, 4, &got));
            } else { /* dx[n, c, oy, ox]: every (co, tap) whose output reads this pixel */
                for (int co = 0; co < l->cout; co++)
                    for (int kh = 0; kh < k; kh++)
                        for (int kw = 0; kw < k; kw++) {
                            int ny = oy + pt - kh, nx = ox + pt - kw;
                            if (ny < 0 || nx < 0 || ny % l->s || nx % l->s) continue;
                            ny /= l->s, nx /= l->s;
                            if (ny >= ho || nx >= ho) continue;
                            double v = (double)B->hw[((co * l->cin + c) * k + kh) * k + kw] *
                                       B->hdy[(((size_t)n * l->cout + co) * ho + ny) * ho + nx];
                            ref += v, mag += fabs(v);
                        }
                size_t off = (((size_t)n * l->cin + c) * H + oy) * H + ox;
                DIE(cr_buffer_read(rt, B->dx, off * 4, 4, &got));
            }
        } else { /* dw[co, ci, kh, kw] from zero */
            int co = (int)(rng % l->cout), ci = (int)((rng >> 8) % l->cin);
            int kh = (int)((rng >> 16) % k), kw = (int)((rng >> 20) % k);
            for (int n = 0; n < l->n; n++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < ho; ox++) {
                        int iy = src(oy, kh, l->s, pt, H), ix = src(ox, kw, l->s, pt, H);
                        if (iy < 0 || ix < 0) continue;
                        double v = (double)B->hdy[(((size_t)n * l->cout + co) * ho + oy) * ho + ox] *
                                   B->hx[(((size_t)n * l->cin + ci) * H + iy) * H + ix];
                        ref += v, mag += fabs(v);
                    }
            size_t off = ((size_t)(co * l->cin + ci) * k + kh) * k + kw;
            DIE(cr_buffer_read(rt, B->dw, off * 4, 4, &got));
        }
        double e = fabs(got - ref) / mag;
        if (e > worst) worst = e;
    }
    return worst;
}

static int use_min = 0; /* --min: best of the repetitions, for tuning on a shared machine */
static int s2dx_versus = 0; /* --s2dx-versus */

/* Medians of the own set (*a) and the --versus set (*b), repetitions alternating so that a
 * change of load on the shared machine hits both alike. */
static void median_pair(cr_runtime *rt, cr_conv_fast *cf, const cr_conv_params *own, const cr_conv_params *vs,
                        const layer *l, bufs *B, pass p, int reps, double *a, double *b)
{
    double t[2][32];
    if (reps > 32) reps = 32;
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < 2; k++) {
            *cr_conv_fast_params(cf) = k ? *vs : *own;
            if (s2dx_versus) cr_conv_fast_set_s2_dx(cf, !k);
            double t0 = now();
            run_pass(cf, l, B, p);
            DIE(cr_finish(rt));
            t[k][r] = now() - t0;
        }
    *cr_conv_fast_params(cf) = *own;
    cr_conv_fast_set_s2_dx(cf, 1);
    qsort(t[0], reps, sizeof t[0][0], cmp_double);
    qsort(t[1], reps, sizeof t[1][0], cmp_double);
    *a = use_min ? t[0][0] : t[0][reps / 2];
    *b = use_min ? t[1][0] : t[1][reps / 2];
}

static double median_time(cr_runtime *rt, cr_conv_fast *cf, const layer *l, bufs *B, pass p, int reps)
{
    double t[32];
    if (reps > 32) reps = 32;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        run_pass(cf, l, B, p);
        DIE(cr_finish(rt));
        t[r] = now() - t0;
    }
    qsort(t, reps, sizeof t[0], cmp_double);
    return use_min ? t[0] : t[reps / 2];
}

#ifdef CLRESTORE_HAVE_OPENBLAS
/* SGEMM C[m, n] = A[m, k] B[k, n] (row-major; trans_b: B given as [n, k]), repeated count
 * times as the conv does per image; median seconds per call sequence. */
static double blas_time(int m, int n, int k, int trans_b, int count, int reps)
{
    float *a = malloc((size_t)m * k * 4), *b = malloc((size_t)k * n * 4), *c = calloc((size_t)m * n, 4);
    for (size_t i = 0; i < (size_t)m * k; i++) a[i] = frand();
    for (size_t i = 0; i < (size_t)k * n; i++) b[i] = frand();
    double t[32];
    if (reps > 32) reps = 32;
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        for (int i = 0; i < count; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, k, b,
                        trans_b ? k : n, 1.0f, c, n);
        if (r >= 0) t[r] = now() - t0;
    }
    free(a), free(b), free(c);
    /* OpenBLAS's idle threads spin for a while after a call; let them sleep before PoCL's run */
    struct timespec pause = {0, 300000000};
    nanosleep(&pause, NULL);
    qsort(t, reps, sizeof t[0], cmp_double);
    return use_min ? t[0] : t[reps / 2];
}
#endif

static cl_mem upload_rand(cr_runtime *rt, size_t count, float scale, float **keep)
{
    float *h = malloc(count * sizeof *h);
    for (size_t i = 0; i < count; i++) h[i] = frand() * scale;
    cl_mem m = NULL;
    DIE(cr_buffer_create(rt, count * 4, "bench buffer", &m));
    DIE(cr_buffer_write(rt, m, 0, count * 4, h));
    if (keep) *keep = h;
    else free(h);
    return m;
}

int main(int argc, char **argv)
{
    int quick = 0, reps = 3;
    const char *filter = NULL, *device = NULL, *passes = "fwd,dX,dW", *versus = NULL;
    cr_conv_tiles over = {0}, lm = {0};
    int over_dw_items = 0, variant = -1; /* -1: each class's own */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--min")) use_min = 1;
        else if (!strcmp(argv[i], "--s2dx-versus")) s2dx_versus = 1;
        else if (!strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--passes") && i + 1 < argc) passes = argv[++i];
        else if (!strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
        else if (!strcmp(argv[i], "--versus") && i + 1 < argc) versus = argv[++i];
        else if (!strcmp(argv[i], "--fwd") && i + 1 < argc)
            sscanf(argv[++i], "%d,%d,%d", &over.fwd_tm, &over.fwd_vw, &over.fwd_local);
        else if (!strcmp(argv[i], "--dw") && i + 1 < argc)
            sscanf(argv[++i], "%d,%d,%d,%d", &over.dw_tm, &over.dw_tn, &over.dw_vw, &over.dw_local);
        else if (!strcmp(argv[i], "--variant") && i + 1 < argc) {
            i++;
            variant = !strcmp(argv[i], "register") ? 0 : !strcmp(argv[i], "local") ? 1 : -2;
            if (variant == -2) {
                fprintf(stderr, "bench_conv: --variant %s: expected register or local\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--lm") && i + 1 < argc)
            sscanf(argv[++i], "%d,%d,%d,%d,%d,%d", &lm.lm_mwg, &lm.lm_nwg, &lm.lm_kwg, &lm.lm_mdimc, &lm.lm_ndimc,
                   &lm.lm_vwm);
        else if (!strcmp(argv[i], "--dw-split") && i + 1 < argc)
            sscanf(argv[++i], "%d,%d", &over_dw_items, &over.dw_chunk_px);
        else {
            fprintf(stderr, "usage: bench_conv [--quick] [--filter TEXT] [--passes fwd,dX,dW] [--reps N] [--min] "
                            "[--fwd TM,VW,LOCAL] "
                            "[--dw TM,TN,VW,LOCAL] [--dw-split MIN_ITEMS,CHUNK_PX] [--versus PARAMS.conv] [--device SEL] "
                            "[--variant register|local] [--lm MWG,NWG,KWG,MDIMC,NDIMC,VWM] [--s2dx-versus]\n");
            return 2;
        }
    }
    cr_runtime *rt = NULL;
    cr_conv_fast *cf = NULL;
    DIE(cr_runtime_create(device, &rt));
    DIE(cr_conv_fast_create(rt, &cf));
    /* an override on the command line replaces every class's value */
    cr_conv_params *P = cr_conv_fast_params(cf);
    for (int c = 0; c < CR_CONV_NCLASSES; c++) {
        cr_conv_tiles *t = &P->cls[c];
        int changed = 0;
        if (over.fwd_tm)
            t->fwd_tm = over.fwd_tm, t->fwd_vw = over.fwd_vw, t->fwd_local = over.fwd_local, t->fwd_tm_fit = 0,
            changed = 1;
        if (over.dw_tm)
            t->dw_tm = over.dw_tm, t->dw_tn = over.dw_tn, t->dw_vw = over.dw_vw, t->dw_local = over.dw_local,
            changed = 1;
        if (over_dw_items) /* MIN_ITEMS is the total; the tiles say per compute unit */
            t->dw_items_per_cu = (over_dw_items + (int)rt->dev.compute_units - 1) / (int)rt->dev.compute_units,
            t->dw_chunk_px = over.dw_chunk_px, changed = 1;
        if (lm.lm_mwg)
            t->lm_mwg = lm.lm_mwg, t->lm_nwg = lm.lm_nwg, t->lm_kwg = lm.lm_kwg, t->lm_mdimc = lm.lm_mdimc,
            t->lm_ndimc = lm.lm_ndimc, t->lm_vwm = lm.lm_vwm, changed = 1;
        if (variant >= 0) t->fwd_variant = variant, changed = 1;
        if (changed) {
            char was[sizeof P->source[c]];
            snprintf(was, sizeof was, "%s", P->source[c]);
            snprintf(P->source[c], sizeof P->source[c], "command line over %.280s", was);
        }
    }
    printf("device: %s (%s), %u compute units\n", rt->dev.device_name, rt->dev.device_version,
           rt->dev.compute_units);
    for (int c = 0; c < CR_CONV_NCLASSES; c++) {
        char line[512];
        cr_conv_tiles_format(&P->cls[c], line, sizeof line);
        printf("params %-10s %s\n  from %s\n", cr_conv_class_name(c), line, P->source[c]);
    }
    cr_conv_params own = *P, vs = *P;
    if (versus) {
        unsigned found = 0;
        DIE(cr_conv_params_read(versus, &rt->dev, 1, &vs, &found));
        for (int c = 0; c < CR_CONV_NCLASSES; c++) {
            char line[512];
            cr_conv_tiles_format(&vs.cls[c], line, sizeof line);
            printf("versus %-10s %s\n  from %s\n", cr_conv_class_name(c), line, vs.source[c]);
        }
    }
    double sum_vs[2] = {0, 0};
    double blas2048 = 0;
#ifdef CLRESTORE_HAVE_OPENBLAS
    printf("OpenBLAS %s, %d threads\n", openblas_get_config(), openblas_get_num_threads());
    blas2048 = 2.0 * 2048 * 2048 * 2048 / blas_time(2048, 2048, 2048, 0, 1, reps) * 1e-9;
    printf("OpenBLAS SGEMM n=2048: %.1f GFLOP/s\n", blas2048);
#else
    printf("OpenBLAS: not built in (install libopenblas-dev and reconfigure); no reference column\n");
#endif
    printf("\n%-26s %-10s %3s %4s %4s %5s %2s %2s %-4s %8s %9s %8s %9s %7s %7s %8s\n", "layer", "class", "n", "cin",
           "cout", "size", "k", "s", "pass", "GFLOP", "ms", "GFLOP/s", "BLAS", "/BLAS", "/2048", "maxrel");
    int nl = 0;
    layer *layers = graph_layers(&nl);
    double sum_flop[2] = {0, 0}, sum_time[2] = {0, 0};
    int failed = 0;
    for (int li = 0; li < nl; li++) {
        const layer *l = &layers[li];
        if ((quick && !l->quick) || (filter && !strstr(l->what, filter))) continue;
        int ho = geom(l).ho;
        size_t nx = (size_t)l->n * l->cin * l->size * l->size, ny = (size_t)l->n * l->cout * ho * ho;
        size_t nw = (size_t)l->cout * l->cin * l->k * l->k;
        bufs B = {0};
        B.x = upload_rand(rt, nx, 1.0f, &B.hx);
        B.w = upload_rand(rt, nw, 1.0f / sqrtf((float)l->cin * l->k * l->k), &B.hw);
        B.b = upload_rand(rt, l->cout, 0.1f, &B.hb);
        DIE(cr_buffer_create(rt, ny * 4, "y", &B.y));
        if (l->train) {
            B.dy = upload_rand(rt, ny, 1.0f, &B.hdy);
            DIE(cr_buffer_create(rt, nx * 4, "dx", &B.dx));
            B.dw = upload_rand(rt, nw, 0.0f, NULL);
            B.db = upload_rand(rt, l->cout, 0.0f, NULL);
        }
        double flop = 2.0 * l->n * ho * ho * (double)l->cout * l->cin * l->k * l->k;
        for (int p = FWD; p <= (l->train ? DW : FWD); p++) {
            if (!strstr(passes, pass_name[p])) continue;
            run_pass(cf, l, &B, (pass)p); /* warm-up: compile, scratch buffers */
            DIE(cr_finish(rt));
            double err = check(rt, l, &B, (pass)p);
            if (err > 1e-4) failed++;
            double sec, vsec = 0;
            int s2v = s2dx_versus && p == DX && l->s == 2;
            if (s2v) {
                cr_conv_fast_set_s2_dx(cf, 0); /* the dilated path's warm-up and check */
                run_pass(cf, l, &B, (pass)p);
                DIE(cr_finish(rt));
                double e2 = check(rt, l, &B, (pass)p);
                if (e2 > err) err = e2;
                if (e2 > 1e-4) failed++;
                cr_conv_fast_set_s2_dx(cf, 1);
                median_pair(rt, cf, &own, &own, l, &B, (pass)p, reps, &sec, &vsec);
                sum_vs[l->train] += vsec;
            } else if (versus) {
                if (p == DW) { /* dW accumulates: its check wants it from zero again */
                    float *zero = calloc((size_t)l->cout * l->cin * l->k * l->k, sizeof *zero);
                    DIE(cr_buffer_write(rt, B.dw, 0, (size_t)l->cout * l->cin * l->k * l->k * 4, zero));
                    free(zero);
                }
                *cr_conv_fast_params(cf) = vs; /* its warm-up and check */
                run_pass(cf, l, &B, (pass)p);
                DIE(cr_finish(rt));
                double e2 = check(rt, l, &B, (pass)p);
                if (e2 > err) err = e2;
                if (e2 > 1e-4) failed++;
                *cr_conv_fast_params(cf) = own;
                median_pair(rt, cf, &own, &vs, l, &B, (pass)p, reps, &sec, &vsec);
                sum_vs[l->train] += vsec;
            } else {
                sec = median_time(rt, cf, l, &B, (pass)p, reps);
                if (s2dx_versus) sum_vs[l->train] += sec; /* the versus set runs these alike */
            }
            double blas = 0;
#ifdef CLRESTORE_HAVE_OPENBLAS
            int kk = l->k * l->k, pix = ho * ho, ipix = l->size * l->size;
            double bt = p == FWD ? blas_time(l->cout, pix, l->cin * kk, 0, l->n, reps)
                        : p == DX ? blas_time(l->cin, ipix, l->cout * kk, 0, l->n, reps)
                                  : blas_time(l->cout, l->cin * kk, pix, 1, l->n, reps);
            blas = flop / bt * 1e-9;
            if (p == DX) blas = 2.0 * l->n * ipix * (double)l->cout * l->cin * kk / bt * 1e-9;
#endif
            double gf = flop / sec * 1e-9;
            sum_flop[l->train] += flop, sum_time[l->train] += sec;
            printf("%-26s %-10s %3d %4d %4d %5d %2d %2d %-4s %8.2f %9.2f %8.1f %9.1f %7.2f %7.2f %8.1e%s\n", l->what,
                   cr_conv_class_name(cr_conv_class_of(l->cin, l->cout, l->k, l->s)), l->n,
                   l->cin, l->cout, l->size, l->k, l->s, pass_name[p], flop * 1e-9, sec * 1e3, gf, blas,
                   blas > 0 ? gf / blas : 0, blas2048 > 0 ? gf / blas2048 : 0, err, err > 1e-4 ? "  CHECK FAILED" : "");
            if (versus || s2v)
                printf("%-26s versus%s: %8.1f GFLOP/s, vs/own %.2f\n", "", s2v ? " (dilated dX)" : "", flop / vsec * 1e-9,
                       sec / vsec);
            fflush(stdout);
        }
        cl_mem *m[] = {&B.x, &B.w, &B.b, &B.y, &B.dy, &B.dx, &B.dw, &B.db};
        for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) cr_buffer_release(rt, m[i]);
        free(B.hx), free(B.hw), free(B.hb), free(B.hdy);
    }
    for (int tr = 1; tr >= 0; tr--)
        if (sum_time[tr] > 0)
            printf("%s layers: %.1f GFLOP in %.0f ms = %.1f GFLOP/s%s\n", tr ? "training" : "inference",
                   sum_flop[tr] * 1e-9, sum_time[tr] * 1e3, sum_flop[tr] / sum_time[tr] * 1e-9,
                   blas2048 > 0 ? "" : "");
    for (int tr = 1; tr >= 0; tr--)
        if (sum_vs[tr] > 0)
            printf("%s layers, versus set: %.0f ms = %.1f GFLOP/s, vs/own %.2f\n", tr ? "training" : "inference",
                   sum_vs[tr] * 1e3, sum_flop[tr] / sum_vs[tr] * 1e-9, sum_time[tr] / sum_vs[tr]);
    free(layers);
    cr_conv_fast_free(cf);
    cr_runtime_free(rt);
    return failed ? 1 : 0;
}
