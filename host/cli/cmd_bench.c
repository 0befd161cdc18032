/* clrestore bench: throughput of the selected device, one section per part
 * of the pipeline (one static function each; add a section by adding a
 * function and a row to bench_sections). Results go to stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clrestore/fft.h"
#include "clrestore/fourier.h"
#include "clrestore/log.h"
#include "clrestore/runtime.h"

static const char bench_usage[] =
    "usage: clrestore bench [--fourier] [--network] [--repeat N]\n\n"
    "Measures the device. With no section named, runs every section.\n"
    "  --fourier    FFT forward + inverse at 4096x4096, 3838x3710 (K2) and 5760x4092 (K3)\n"
    "               for each backend (clFFT, VkFFT), and the pre-processing chain on a\n"
    "               4096x4096 micrograph at 1 A/px binned to 4.5 A\n"
    "  --network    network inference and training step (not implemented yet)\n"
    "  --repeat N   timed repetitions after one warm-up (default 3); the median is shown\n";

typedef struct bench_ctx {
    cr_runtime *rt;
    int repeat;
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

static cr_status bench_network(bench_ctx *b)
{
    (void)b;
    printf("Network: not implemented yet\n");
    return CR_OK;
}

typedef struct bench_section {
    const char *option; /* "--fourier" */
    cr_status (*run)(bench_ctx *b);
} bench_section;

static const bench_section bench_sections[] = {
    {"--fourier", bench_fourier},
    {"--network", bench_network},
};
#define BENCH_NSECTIONS ((int)(sizeof bench_sections / sizeof bench_sections[0]))

static int run_bench(int argc, char **argv, const cr_global_opts *g)
{
    int chosen[BENCH_NSECTIONS] = {0}, any = 0;
    bench_ctx b = {NULL, 3};
    for (int i = 1; i < argc; i++) {
        int matched = 0;
        for (int s = 0; s < BENCH_NSECTIONS; s++)
            if (strcmp(argv[i], bench_sections[s].option) == 0) chosen[s] = matched = any = 1;
        if (matched) continue;
        if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            char *end = NULL;
            long r = strtol(argv[++i], &end, 10);
            if (*end || r < 1 || r > 64) return cr_cli_usage_error("bench", "--repeat wants 1..64, not '%s'", argv[i]);
            b.repeat = (int)r;
        } else {
            return cr_cli_usage_error("bench", "unexpected argument '%s'", argv[i]);
        }
    }
    if (cr_runtime_create(g->device, &b.rt) != CR_OK) return cr_cli_fail();
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
