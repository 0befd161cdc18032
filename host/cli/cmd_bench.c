/* clrestore bench: throughput of the selected device, one section per part
 * of the pipeline (one static function each; add a section by adding a
 * function and a row to bench_sections). Results go to stdout. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clrestore/checkpoint.h"
#include "clrestore/denoise.h"
#include "clrestore/fft.h"
#include "clrestore/fourier.h"
#include "clrestore/log.h"
#include "clrestore/runtime.h"
#include "clrestore/tune.h"
#include "clrestore/waunet.h"

static const char bench_usage[] =
    "usage: clrestore bench [--params] [--fourier] [--network [--torch [--torch-device D]] [--no-jemalloc]]\n"
    "                       [--denoise] [--startup] [--repeat N]\n\n"
    "Measures the device. With no section named, runs every section.\n"
    "  --params     the convolution parameters per shape class and where they come from\n"
    "               (tuning cache file of clrestore tune, built-in entry, or fallback)\n"
    "  --fourier    FFT forward + inverse at 4096x4096, 3838x3710 (K2) and 5760x4092 (K3)\n"
    "               for each backend (clFFT, VkFFT), and the pre-processing chain on a\n"
    "               4096x4096 micrograph at 1 A/px binned to 4.5 A\n"
    "  --network    the WA-U-Net (default architecture): a 1024x1024 forward (inference\n"
    "               mode) and a training step on 10 x 192x192; ms, GFLOP/s, device memory peak\n"
    "  --torch      also run bench/torch_reference.py bench --json (PyTorch, 2 threads, same\n"
    "               model and counting) and print the ratio; the script is looked up in\n"
    "               $CLRESTORE_SOURCE_DIR/bench, else in the source tree this was built from\n"
    "  --torch-device D  where PyTorch runs: cpu, or cuda (cuDNN, fp32 without TF32); default cuda\n"
    "               when our device is an NVIDIA GPU, else cpu (implies --torch)\n"
    "  --no-jemalloc  PyTorch with its default allocator (slower: page faults)\n"
    "  --denoise    end to end: seconds per 4096x4096 micrograph at 1.0 A/px with the default\n"
    "               settings (phase flip, 4.5 A, default network, tiles from device memory,\n"
    "               un-binning), the model Glorot-initialised (speed does not depend on weights)\n"
    "  --startup    start-up of denoise --network-only on a 256x256 image (warm caches): runtime,\n"
    "               checkpoint load, network set-up, program loads; then the network itself and\n"
    "               the Fourier set-up of the full pipeline. Run alone for a fresh process's figures\n"
    "  --repeat N   timed repetitions after one warm-up (default 3); the median is shown\n";

typedef struct bench_ctx {
    cr_runtime *rt;
    int repeat;
    int torch, no_jemalloc; /* --torch, --no-jemalloc */
    char torch_device[32];  /* --torch-device; empty: chosen from our device */
    double rt_create_s, rt_create_cpu; /* wall and CPU seconds cr_runtime_create took (--startup) */
} bench_ctx;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static void fill_noise(float *x, size_t n)
{
    unsigned long long s = 0x2545F4914F6CDD1DULL;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[i] = 100.0f + (float)((s >> 40) & 0xffff) / 65536.0f;
    }
}

/* Forward + inverse of one shape with one backend: plan time, median pair time. */
static cr_status bench_fft_pair(bench_ctx *b, cr_fft *fft, int nx, int ny, cr_fft_backend be, cl_mem real,
                                cl_mem spec)
{
    cr_status st = CR_OK;
    cr_fft_plan *p = NULL;
    double t[64];
    if (be == CR_FFT_CLFFT && !(cr_fft_clfft_supports(nx) && cr_fft_clfft_supports(ny))) {
        printf("  %-6s %4dx%-4d  n/a (a prime factor above 13)\n", cr_fft_backend_name(be), nx, ny);
        return CR_OK;
    }
    if (!cr_fft_backend_available(be)) {
        printf("  %-6s %4dx%-4d  n/a (not in this build)\n", cr_fft_backend_name(be), nx, ny);
        return CR_OK;
    }
    double t0 = cr_now();
    CR_TRY(cr_fft_plan_get(fft, nx, ny, 1, be, &p));
    double plan_s = cr_now() - t0;
    for (int i = -1; i < b->repeat; i++) { /* i = -1: warm-up (PoCL compiles work-group functions) */
        double s = cr_now();
        CR_TRY(cr_fft_forward(p, real, spec));
        CR_TRY(cr_fft_inverse(p, spec, real));
        CR_TRY(cr_finish(b->rt));
        if (i >= 0) t[i] = cr_now() - s;
    }
    printf("  %-6s %4dx%-4d  forward+inverse %8.1f ms   (plan %.2f s)\n", cr_fft_backend_name(be), nx, ny,
           1e3 * median(t, b->repeat), plan_s);
cleanup:
    return st;
}

static cr_status bench_fourier(bench_ctx *b)
{
    cr_status st = CR_OK;
    static const int sizes[][2] = {{4096, 4096}, {3838, 3710}, {5760, 4092}};
    const cr_fft_backend backends[] = {CR_FFT_CLFFT, CR_FFT_VKFFT};
    cr_fourier *fw = NULL;
    cl_mem real = NULL, spec = NULL, in = NULL, out = NULL;
    float *img = NULL, *binned = NULL;
    double t[64];
    size_t maxn = 5760 * 4092, maxs = (5760 / 2 + 1) * 4092;

    printf("Fourier pipeline on %s (%s)\n", b->rt->dev.device_name, b->rt->dev.platform_name);
    CR_TRY(cr_fourier_create(b->rt, &fw));
    CR_TRY(cr_buffer_create(b->rt, maxn * sizeof(float), "bench image", &real));
    CR_TRY(cr_buffer_create(b->rt, maxs * 2 * sizeof(float), "bench spectrum", &spec));
    img = malloc(maxn * sizeof *img);
    if (!img) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory for the bench image");
        goto cleanup;
    }
    fill_noise(img, maxn);
    CR_TRY(cr_buffer_write(b->rt, real, 0, maxn * sizeof(float), img));
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t k = 0; k < sizeof backends / sizeof backends[0]; k++)
            CR_TRY(bench_fft_pair(b, cr_fourier_fft(fw), sizes[s][0], sizes[s][1], backends[k], real, spec));

    /* the pre-processing chain per 4096^2 micrograph (1 A/px -> 4.5 A, phase flip) */
    const int nx = 4096, ny = 4096;
    cr_ctf_params ctf = {15000, 15500, 30, 300, 2.7, 0.1, 0};
    cr_preprocess_opts o;
    cr_preprocess_opts_default(&o);
    o.apix = 1.0;
    o.ctf = &ctf;
    int bx, by;
    double bapix;
    CR_TRY(cr_binned_shape(nx, ny, o.apix, o.max_resolution, &bx, &by, &bapix));
    CR_TRY(cr_buffer_create(b->rt, (size_t)nx * ny * sizeof(float), "bench micrograph", &in));
    CR_TRY(cr_buffer_create(b->rt, (size_t)bx * by * sizeof(float), "bench binned", &out));
    CR_TRY(cr_buffer_write(b->rt, in, 0, (size_t)nx * ny * sizeof(float), img));
    for (size_t k = 0; k < sizeof backends / sizeof backends[0]; k++) {
        if (!cr_fft_backend_available(backends[k])) continue;
        CR_TRY(cr_fft_set_preferred(cr_fourier_fft(fw), backends[k]));
        for (int i = -1; i < b->repeat; i++) {
            double s0 = cr_now();
            CR_TRY(cr_preprocess_dev(fw, in, nx, ny, &o, out, bx, by));
            CR_TRY(cr_finish(b->rt));
            if (i >= 0) t[i] = cr_now() - s0;
        }
        double dev = median(t, b->repeat);
        for (int i = 0; i < b->repeat; i++) {
            double s0 = cr_now();
            CR_TRY(cr_preprocess(fw, img, nx, ny, &o, &binned, &bx, &by, &bapix));
            t[i] = cr_now() - s0;
            free(binned);
            binned = NULL;
        }
        printf("  pre-processing %dx%d -> %dx%d (%.3f A/px), FFTs by %s: %.0f ms on the device, "
               "%.0f ms with upload and download\n",
               nx, ny, bx, by, bapix, cr_fft_backend_name(backends[k]), 1e3 * dev, 1e3 * median(t, b->repeat));
    }
cleanup:
    cr_buffer_release(b->rt, &real);
    cr_buffer_release(b->rt, &spec);
    cr_buffer_release(b->rt, &in);
    cr_buffer_release(b->rt, &out);
    free(img);
    free(binned);
    cr_fourier_free(fw);
    return st;
}

/* PyTorch's numbers for the same two benchmarks, from bench/torch_reference.py's JSON line.
 * Returns 0 (with a note on stdout) when python, torch or the script are missing. */
typedef struct torch_result {
    double fwd_ms, fwd_gflops, train_ms, train_gflops;
    double fwd_rss_mib; /* peak resident memory after the forwards */
    double fwd_dev_mib; /* cuda: peak device memory allocated by the forwards; else 0 */
    char version[32];
    char device[64]; /* "cpu" or the GPU's name */
} torch_result;

static double json_number(const char *js, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(js, pat);
    if (!p) return -1.0;
    p += strlen(pat);
    while (*p == ' ' || *p == ':') p++;
    return strtod(p, NULL);
}

static int run_torch(const bench_ctx *b, torch_result *r)
{
    const char *dir = getenv("CLRESTORE_SOURCE_DIR");
#ifdef CLRESTORE_SOURCE_DIR
    if (!dir) dir = CLRESTORE_SOURCE_DIR;
#endif
    char script[1024], cmd[1500], line[4096] = "";
    if (!dir) {
        printf("  PyTorch: skipped (set CLRESTORE_SOURCE_DIR to the source tree)\n");
        return 0;
    }
    snprintf(script, sizeof script, "%s/bench/torch_reference.py", dir);
    FILE *f = fopen(script, "r");
    if (!f) {
        printf("  PyTorch: skipped (no %s)\n", script);
        return 0;
    }
    fclose(f);
    /* $CLRESTORE_PYTHON, else python3 on the PATH, else Debian's (python3-torch is a system
     * package that a pyenv or venv python3 on the PATH does not see) */
    const char *env_py = getenv("CLRESTORE_PYTHON");
    const char *pythons[2] = {env_py ? env_py : "python3", env_py ? NULL : "/usr/bin/python3"};
    int rc = -1;
    for (int i = 0; i < 2 && pythons[i] && !line[0]; i++) {
        snprintf(cmd, sizeof cmd, "'%s' '%s' bench --json --repeat %d --device %s%s 2>/dev/null", pythons[i], script,
                 b->repeat, b->torch_device, b->no_jemalloc ? " --no-jemalloc" : "");
        FILE *pp = popen(cmd, "r");
        if (!pp) continue;
        char buf[4096];
        while (fgets(buf, sizeof buf, pp))
            if (buf[0] == '{') snprintf(line, sizeof line, "%s", buf);
        rc = pclose(pp);
        if (rc != 0) line[0] = 0;
    }
    if (!line[0]) {
        printf("  PyTorch: skipped (python3 with torch not found, or the script failed: exit %d; "
               "CLRESTORE_PYTHON names the interpreter)\n", rc);
        return 0;
    }
    r->fwd_ms = json_number(line, "forward_ms");
    r->fwd_gflops = json_number(line, "forward_gflops");
    r->train_ms = json_number(line, "train_step_ms");
    r->train_gflops = json_number(line, "train_gflops");
    r->fwd_rss_mib = json_number(line, "forward_peak_rss_mib");
    r->fwd_dev_mib = strstr(line, "forward_peak_device_mib") ? json_number(line, "forward_peak_device_mib") : 0;
    const char *v = strstr(line, "\"torch\": \"");
    snprintf(r->version, sizeof r->version, "%s", "?");
    snprintf(r->device, sizeof r->device, "%s", "?");
    const char *dv = strstr(line, "\"device\": \"");
    if (dv) sscanf(dv + 11, "%63[^\"]", r->device);
    if (v) sscanf(v + 10, "%31[^\"]", r->version);
    if (r->fwd_ms <= 0 || r->train_ms <= 0) {
        printf("  PyTorch: skipped (unexpected output: %.200s)\n", line);
        return 0;
    }
    return 1;
}

/* The convolution parameters the network runs with, per shape class, and their source. */
static void print_conv_params(const cr_runtime *rt)
{
    cr_conv_param_row rows[CR_TUNE_MAX_CLASSES];
    int nrows = 0;
    cr_conv_params_report(&rt->dev, rows, &nrows);
    printf("  convolution parameters per shape class (docs/tuning.md):\n");
    for (int r = 0; r < nrows; r++)
        printf("    %-10s %s\n               from %s\n", rows[r].cls, rows[r].params, rows[r].source);
}

static cr_status bench_params(bench_ctx *b)
{
    printf("Convolutions on %s (%s)\n", b->rt->dev.device_name, b->rt->dev.platform_name);
    print_conv_params(b->rt);
    return CR_OK;
}

static cr_status bench_network(bench_ctx *b)
{
    cr_status st;
    cr_arch a = cr_arch_default();
    cr_bench_result fwd, train;
    printf("Network (WA-U-Net levels %d, blocks %d, filters %d, expansion %d) on %s (%s)\n", a.levels, a.blocks,
           a.filters, a.expansion, b->rt->dev.device_name, b->rt->dev.platform_name);
    print_conv_params(b->rt);
    if ((st = cr_waunet_bench(b->rt, &a, 1024, 1, 0, b->repeat, &fwd)) != CR_OK) return st;
    if ((st = cr_waunet_bench(b->rt, &a, 192, 10, 1, b->repeat, &train)) != CR_OK) return st;
    torch_result t;
    memset(&t, 0, sizeof t);
    int have_torch = b->torch && run_torch(b, &t);
    printf("  %-28s %10s %9s %9s %12s", "", "ms", "best ms", "GFLOP/s", "peak MiB");
    if (have_torch) printf(" %12s %9s %7s", "PyTorch ms", "GFLOP/s", "speed");
    printf("\n");
    const cr_bench_result *rs[2] = {&fwd, &train};
    const char *names[2] = {"forward 1 x 1024^2", "training step 10 x 192^2"};
    const double tms[2] = {t.fwd_ms, t.train_ms}, tgf[2] = {t.fwd_gflops, t.train_gflops};
    for (int i = 0; i < 2; i++) {
        printf("  %-28s %10.1f %9.1f %9.1f %12.1f", names[i], rs[i]->ms, rs[i]->best_ms, rs[i]->gflops,
               (double)rs[i]->peak_bytes / (1 << 20));
        if (have_torch) printf(" %12.1f %9.1f %6.2fx", tms[i], tgf[i], tms[i] / rs[i]->ms);
        printf("\n");
    }
    if (have_torch && strcmp(b->torch_device, "cpu")) {
        printf("  PyTorch %s on %s (%s: cuDNN, fp32, TF32 off); speed = PyTorch time / ours\n", t.version, t.device,
               b->torch_device);
        printf("  memory of the 1024^2 forward: ours %.0f MiB peak on the device, PyTorch %.0f MiB peak allocated\n",
               (double)fwd.peak_bytes / (1 << 20), t.fwd_dev_mib);
    } else if (have_torch) {
        printf("  PyTorch %s, 2 threads, %s; speed = PyTorch time / ours\n", t.version,
               b->no_jemalloc ? "default allocator" : "jemalloc");
        printf("  memory of the 1024^2 forward: ours %.0f MiB peak on the device, PyTorch %.0f MiB peak resident\n",
               (double)fwd.peak_bytes / (1 << 20), t.fwd_rss_mib);
    }
    /* the profiled runs wait after every layer, so their sums exceed the timings above */
    printf("  time by layer kind, ms (one profiled run each)\n  %-22s %12s %12s %12s\n", "", "fwd 1024^2",
           "train fwd", "train bwd");
    for (int k = 0; k < CR_PROF_KINDS; k++)
        printf("  %-22s %12.1f %12.1f %12.1f\n", cr_waunet_prof_name((cr_waunet_prof_kind)k),
               1e3 * fwd.profile.fwd[k], 1e3 * train.profile.fwd[k], 1e3 * train.profile.bwd[k]);
    printf("  ms: median of %d runs, GFLOP/s from it; PyTorch likewise\n", b->repeat);
    printf("  (per-layer GFLOP/s against OpenBLAS SGEMM of the same shapes: bench_conv, "
           "-DCLRESTORE_BUILD_BENCH=ON)\n");
    return CR_OK;
}

/* The whole denoising chain on a synthetic 4096² micrograph (Poisson-like
 * noise around a mean; content does not change the work). */
static cr_status bench_denoise(bench_ctx *b)
{
    cr_status st = CR_OK;
    enum { N = 4096 };
    cr_arch a = cr_arch_default();
    cr_nn *nn = NULL;
    cr_waunet *net = NULL;
    cr_fourier *fw = NULL;
    float *img = malloc(sizeof(float) * N * N), *out = malloc(sizeof(float) * N * N);
    double *t = calloc((size_t)b->repeat, sizeof(double));
    cr_ctf_params ctf = {15000, 14500, 30, 300, 2.7, 0.1, 0};
    if (!img || !out || !t) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory for a %dx%d micrograph", N, N);
        goto cleanup;
    }
    fill_noise(img, (size_t)N * N);
    CR_TRY(cr_nn_create(b->rt, CR_FLOAT, &nn));
    CR_TRY(cr_waunet_create(nn, &a, &net));
    CR_TRY(cr_waunet_init(net, 1));
    CR_TRY(cr_fourier_create(b->rt, &fw));
    cr_denoiser d;
    CR_TRY(cr_denoiser_init(&d, fw, net));
    cr_denoise_opts o;
    cr_denoise_opts_default(&o);
    printf("Denoise end to end: %dx%d at 1.0 A/px, default settings, on %s\n", N, N, b->rt->dev.device_name);
    int bx = 0, by = 0;
    for (int r = -1; r < b->repeat; r++) { /* r = -1: warm-up (kernel builds, FFT plans) */
        double t0 = cr_now();
        CR_TRY(cr_denoise_micrograph(&d, img, N, N, 1.0, &ctf, &o, out, NULL, NULL, &bx, &by));
        if (r >= 0) t[r] = cr_now() - t0;
    }
    printf("  %.1f s per micrograph (median of %d; binned %dx%d, tile core %d, margin %d)\n", median(t, b->repeat),
           b->repeat, bx, by, cr_denoise_auto_tile(&d, bx, by), d.margin);
cleanup:
    cr_fourier_free(fw);
    cr_waunet_free(net);
    cr_nn_free(nn);
    free(img), free(out), free(t);
    return st;
}

/* What a short run spends besides the network: the steps of
 * `denoise --network-only` on a 256x256 image with warm caches, in the order
 * the command takes them, then the Fourier set-up the full pipeline adds.
 * Run it as the only section (a fresh process) for figures that match a
 * command's start-up; the runtime was created before this section ran. */
/* Wall-clock and process CPU seconds (the CPU figures are steadier on a
 * shared machine for the single-threaded steps). */
static void bench_clock(double *wall, double *cpu)
{
    struct timespec ts;
    *wall = cr_now();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    *cpu = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static cr_status bench_startup(bench_ctx *b)
{
    enum { N = 256 };
    cr_status st = CR_OK;
    cr_arch a = cr_arch_default();
    cr_checkpoint *ck = NULL, *loaded = NULL;
    cr_nn *nn = NULL, *nn0 = NULL;
    cr_waunet *net = NULL, *net0 = NULL;
    cr_fourier *fw = NULL;
    float *img = malloc(sizeof(float) * N * N), *out = malloc(sizeof(float) * N * N);
    double *t = calloc((size_t)b->repeat, sizeof(double));
    char path[1100];
    snprintf(path, sizeof path, "%s/bench_startup.%ld.tmp.h5", b->rt->cache_dir[0] ? b->rt->cache_dir : "/tmp",
             (long)getpid());
    if (!img || !out || !t) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory for the start-up bench");
        goto cleanup;
    }
    fill_noise(img, (size_t)N * N);
    /* untimed: a default-architecture checkpoint to load, as a user would */
    CR_TRY(cr_nn_create(b->rt, CR_FLOAT, &nn0));
    CR_TRY(cr_waunet_create(nn0, &a, &net0));
    CR_TRY(cr_waunet_init(net0, 1));
    CR_TRY(cr_checkpoint_create(&a, &ck));
    CR_TRY(cr_waunet_download(net0, ck, 0));
    CR_TRY(cr_checkpoint_save(ck, path));
    cr_waunet_free(net0), net0 = NULL;
    cr_nn_free(nn0), nn0 = NULL;
    cr_build_stats s0 = cr_runtime_build_stats(b->rt);
    double w[6], c[6]; /* wall and process CPU seconds at each step */
    bench_clock(&w[0], &c[0]);
    CR_TRY(cr_checkpoint_load(path, &loaded));
    bench_clock(&w[1], &c[1]);
    CR_TRY(cr_nn_create(b->rt, CR_FLOAT, &nn));
    CR_TRY(cr_waunet_create(nn, &loaded->arch, &net));
    CR_TRY(cr_waunet_upload(net, loaded));
    bench_clock(&w[2], &c[2]);
    CR_TRY(cr_waunet_apply_image(net, img, N, N, out)); /* first: plans, allocates, loads programs */
    bench_clock(&w[3], &c[3]);
    cr_build_stats s1 = cr_runtime_build_stats(b->rt);
    double *tc = calloc((size_t)b->repeat, sizeof(double));
    if (!tc) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory for the start-up bench");
        goto cleanup;
    }
    for (int r = 0; r < b->repeat; r++) {
        double w0, c0, w1, c1;
        bench_clock(&w0, &c0);
        st = cr_waunet_apply_image(net, img, N, N, out);
        bench_clock(&w1, &c1);
        t[r] = w1 - w0, tc[r] = c1 - c0;
        if (st != CR_OK) break;
    }
    double fwd = median(t, b->repeat), fwd_c = median(tc, b->repeat);
    free(tc);
    CR_TRY(st);
    bench_clock(&w[4], &c[4]);
    CR_TRY(cr_fourier_create(b->rt, &fw));
    cr_fft_plan *p1 = NULL, *p2 = NULL;
    int bx = 0, by = 0;
    CR_TRY(cr_binned_shape(N, N, 1.0, 4.5, &bx, &by, NULL));
    CR_TRY(cr_fft_plan_get(cr_fourier_fft(fw), N, N, 1, CR_FFT_AUTO, &p1));
    CR_TRY(cr_fft_plan_get(cr_fourier_fft(fw), bx, by, 1, CR_FFT_AUTO, &p2));
    bench_clock(&w[5], &c[5]);
    printf("Start-up of denoise --network-only on %dx%d, default network, warm caches, on %s\n", N, N,
           b->rt->dev.device_name);
    printf("  %-46s %8s %8s\n", "", "wall s", "CPU s");
    printf("  %-46s %8.3f %8.3f\n", "runtime (platforms, context, queue)", b->rt_create_s, b->rt_create_cpu);
    printf("  %-46s %8.3f %8.3f\n", "checkpoint load", w[1] - w[0], c[1] - c[0]);
    printf("  %-46s %8.3f %8.3f\n", "network create + weights upload", w[2] - w[1], c[2] - c[1]);
    printf("  %-46s %8.3f %8.3f  (%d programs from the disk cache, %d compiled)\n",
           "first image beyond a later one (programs)", w[3] - w[2] - fwd, c[3] - c[2] - fwd_c,
           s1.disk_hits - s0.disk_hits, s1.compiles - s0.compiles);
    printf("  %-46s %8.3f %8.3f\n", "overhead in all (before main not counted)",
           b->rt_create_s + (w[3] - w[0]) - fwd, b->rt_create_cpu + (c[3] - c[0]) - fwd_c);
    printf("  %-46s %8.3f %8.3f  (median of %d)\n", "the network itself (a later image)", fwd, fwd_c, b->repeat);
    printf("  %-46s %8.3f %8.3f  (FFT %dx%d and %dx%d, %s)\n", "full pipeline adds: Fourier kernels + FFT plans",
           w[5] - w[4], c[5] - c[4], N, N, bx, by, cr_fft_backend_name(cr_fft_plan_backend(p1)));
cleanup:
    if (path[0]) remove(path);
    cr_fourier_free(fw);
    cr_waunet_free(net), cr_waunet_free(net0);
    cr_nn_free(nn), cr_nn_free(nn0);
    cr_checkpoint_free(ck), cr_checkpoint_free(loaded);
    free(img), free(out), free(t);
    return st;
}

typedef struct bench_section {
    const char *option; /* "fourier" for --fourier */
    cr_status (*run)(bench_ctx *b);
} bench_section;

static const bench_section bench_sections[] = {
    {"params", bench_params},
    {"fourier", bench_fourier},
    {"network", bench_network},
    {"denoise", bench_denoise},
    {"startup", bench_startup},
};
#define BENCH_NSECTIONS ((int)(sizeof bench_sections / sizeof bench_sections[0]))

static int run_bench(int argc, char **argv, const cr_global_opts *g)
{
    enum { OPT_TORCH = 1000, OPT_TORCH_DEVICE, OPT_NO_JEMALLOC, OPT_REPEAT, OPT_SECTION }; /* section s: OPT_SECTION + s */
    struct option longopts[BENCH_NSECTIONS + 5] = {
        {"torch", no_argument, NULL, OPT_TORCH},
        {"torch-device", required_argument, NULL, OPT_TORCH_DEVICE},
        {"no-jemalloc", no_argument, NULL, OPT_NO_JEMALLOC},
        {"repeat", required_argument, NULL, OPT_REPEAT},
    };
    for (int s = 0; s < BENCH_NSECTIONS; s++)
        longopts[4 + s] = (struct option){bench_sections[s].option, no_argument, NULL, OPT_SECTION + s};
    int chosen[BENCH_NSECTIONS] = {0}, any = 0, c;
    bench_ctx b;
    memset(&b, 0, sizeof b);
    b.repeat = 3;
    optind = 1;
    opterr = 0;
    while ((c = cr_cli_getopt(argc, argv, ":", longopts, NULL)) != -1) {
        if (c >= OPT_SECTION && c < OPT_SECTION + BENCH_NSECTIONS) {
            chosen[c - OPT_SECTION] = any = 1;
        } else if (c == OPT_TORCH) {
            b.torch = 1;
        } else if (c == OPT_TORCH_DEVICE) {
            /* it reaches a shell command line: only these spellings */
            size_t digits = !strncmp(optarg, "cuda:", 5) ? strspn(optarg + 5, "0123456789") : 0;
            int ok = !strcmp(optarg, "cpu") || !strcmp(optarg, "cuda") ||
                     (digits > 0 && digits < 4 && optarg[5 + digits] == '\0');
            if (!ok) return cr_cli_usage_error("bench", "--torch-device wants cpu, cuda or cuda:N, not '%s'", optarg);
            snprintf(b.torch_device, sizeof b.torch_device, "%s", optarg);
            b.torch = 1;
        } else if (c == OPT_NO_JEMALLOC) {
            b.torch = b.no_jemalloc = 1;
        } else if (c == OPT_REPEAT) {
            char *end = NULL;
            long r = strtol(optarg, &end, 10);
            if (end == optarg || *end || r < 1 || r > 64)
                return cr_cli_usage_error("bench", "--repeat wants 1..64, not '%s'", optarg);
            b.repeat = (int)r;
        } else {
            return cr_cli_getopt_error("bench", c, argv);
        }
    }
    if (optind < argc) return cr_cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
    double w0, c0, w1, c1;
    bench_clock(&w0, &c0);
    if (cr_runtime_create(g->device, &b.rt) != CR_OK) return cr_cli_fail();
    bench_clock(&w1, &c1);
    b.rt_create_s = w1 - w0, b.rt_create_cpu = c1 - c0;
    if (!b.torch_device[0]) /* PyTorch on the same kind of device: cuDNN beside an NVIDIA GPU */
        snprintf(b.torch_device, sizeof b.torch_device, "%s",
                 (b.rt->dev.type & CL_DEVICE_TYPE_GPU) && strstr(b.rt->dev.vendor, "NVIDIA") ? "cuda" : "cpu");
    int rc = CR_EXIT_OK;
    for (int s = 0; s < BENCH_NSECTIONS && rc == CR_EXIT_OK; s++) {
        if (any && !chosen[s]) continue;
        if (bench_sections[s].run(&b) != CR_OK) rc = cr_cli_fail();
        fflush(stdout);
    }
    cr_runtime_free(b.rt);
    return rc;
}

const cr_command cr_cmd_bench = {"bench", run_bench, "measure the device on the Fourier pipeline and the network",
                                 bench_usage};
