/* Runtime: device selection, kernel launches checked against hand-computed
 * values, the on-disk program cache (hits counted, corrupt entries rebuilt),
 * build failures carrying the build log, errors naming the kernel. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clrestore/runtime.h"
#include "runtime_internal.h" /* the memory count, set by hand below */
#include "testutil.h"

static char cache_dir[256];

static int cache_entry(char *path, size_t len)
{
    DIR *d = opendir(cache_dir);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)) != NULL) {
        if (strstr(e->d_name, ".bin") && !strstr(e->d_name, ".tmp")) {
            snprintf(path, len, "%s/%s", cache_dir, e->d_name);
            found++;
        }
    }
    if (d) closedir(d);
    return found;
}

/* zscore_f32 (fourier.cl), y = ((x - m_hi) - m_lo) a, with x[i] = i, m_hi = -1,
 * m_lo = 0.5, a = 2: expect y[i] = 2i + 1 (exact in float). */
static void run_axpy(cr_runtime *rt)
{
    enum { N = 1000 };
    float x[N], y[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)i;
        y[i] = -1.0f;
    }
    cl_mem bx = NULL, by = NULL;
    cl_kernel k = NULL;
    CHECK_OK(cr_buffer_create(rt, sizeof x, "x", &bx));
    CHECK_OK(cr_buffer_create(rt, sizeof y, "y", &by));
    CHECK(cr_runtime_mem_current(rt) == 2 * sizeof x);
    CHECK_OK(cr_buffer_write(rt, bx, 0, sizeof x, x));
    CHECK_OK(cr_buffer_write(rt, by, 0, sizeof y, y));
    CHECK_OK(cr_kernel_create(rt, "fourier.cl", "zscore_f32", "-DCR_TEST_TAG=1", &k));
    float a = 2.0f, m_hi = -1.0f, m_lo = 0.5f;
    cl_long n = N;
    CHECK_OK(cr_kernel_args(k, 6, sizeof(cl_mem), &bx, sizeof(cl_mem), &by, sizeof n, &n, sizeof a, &a, sizeof m_hi,
                            &m_hi, sizeof m_lo, &m_lo));
    size_t global = N, local = 64;
    CHECK_OK(cr_enqueue(rt, k, 1, &global, &local));
    CHECK_OK(cr_buffer_read(rt, by, 0, sizeof y, y));
    int bad = 0;
    for (int i = 0; i < N; i++) bad += y[i] != 2.0f * (float)i + 1.0f;
    CHECK_MSG(bad == 0, "%d wrong zscore results", bad);
    if (k) clReleaseKernel(k);
    cr_buffer_release(rt, &bx);
    cr_buffer_release(rt, &by);
    CHECK(bx == NULL && cr_runtime_mem_current(rt) == 0 && cr_runtime_mem_peak(rt) == 2 * sizeof x);
}

int main(void)
{
    cr_device_desc *list = NULL;
    int n = 0, idx = -1;
    CHECK_OK(cr_devices_list(&list, &n));
    if (n == 0) {
        printf("SKIP: no OpenCL device on this machine\n");
        return 77;
    }
    /* selection */
    CHECK_OK(cr_device_select(list, n, NULL, &idx));
    CHECK(idx >= 0 && idx < n);
    CHECK_OK(cr_device_select(list, n, "0", &idx));
    CHECK(idx == 0);
    char sub[8];
    snprintf(sub, sizeof sub, "%.4s", list[0].device_name);
    for (char *p = sub; *p; p++) *p = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : *p); /* case-insensitive */
    CHECK_OK(cr_device_select(list, n, sub, &idx));
    CHECK(idx == 0);
    CHECK(cr_device_select(list, n, "nosuch-device", &idx) == CR_ERR_NO_DEVICE);
    CHECK(strstr(cr_error_message(), "nosuch-device") != NULL);
    CHECK(cr_device_select(list, n, "99", &idx) == CR_ERR_NO_DEVICE);
    CHECK(cr_device_select(list, 0, NULL, &idx) == CR_ERR_NO_DEVICE);
    free(list);

    snprintf(cache_dir, sizeof cache_dir, "/tmp/clrestore-cache-XXXXXX");
    CHECK(mkdtemp(cache_dir) != NULL);
    setenv("CLRESTORE_CACHE_DIR", cache_dir, 1);

    /* first start: compiled from source and stored */
    cr_runtime *rt = NULL;
    CHECK_OK(cr_runtime_create(NULL, &rt));
    if (!rt) return test_finish("test_cl_runtime");
    run_axpy(rt);
    CHECK(cr_runtime_build_stats(rt).compiles == 1 && cr_runtime_build_stats(rt).disk_hits == 0 && cr_runtime_build_stats(rt).disk_writes == 1);
    cl_program p = NULL;
    CHECK_OK(cr_program_get(rt, "fourier.cl", "-DCR_TEST_TAG=1", &p));
    CHECK(cr_runtime_build_stats(rt).memory_hits >= 1 && cr_runtime_build_stats(rt).compiles == 1);
    cr_runtime_free(rt);

    /* second start: a cache hit, no compile */
    char entry[512];
    CHECK(cache_entry(entry, sizeof entry) == 1);
    CHECK_OK(cr_runtime_create(NULL, &rt));
    run_axpy(rt);
    CHECK_MSG(cr_runtime_build_stats(rt).disk_hits == 1 && cr_runtime_build_stats(rt).compiles == 0, "hits %d compiles %d", cr_runtime_build_stats(rt).disk_hits,
              cr_runtime_build_stats(rt).compiles);
    cr_runtime_free(rt);

    /* a corrupt entry (one payload byte flipped) is rejected and rebuilt */
    FILE *fp = fopen(entry, "r+b");
    CHECK(fp != NULL);
    if (fp) {
        fseek(fp, 100, SEEK_SET);
        int c = fgetc(fp);
        fseek(fp, 100, SEEK_SET);
        fputc(c ^ 0x5a, fp);
        fclose(fp);
    }
    CHECK_OK(cr_runtime_create(NULL, &rt));
    run_axpy(rt);
    CHECK(cr_runtime_build_stats(rt).disk_rejects == 1 && cr_runtime_build_stats(rt).compiles == 1 && cr_runtime_build_stats(rt).disk_writes == 1);
    cr_runtime_free(rt);

    /* a truncated entry likewise */
    CHECK(truncate(entry, 20) == 0);
    CHECK_OK(cr_runtime_create(NULL, &rt));
    run_axpy(rt);
    CHECK(cr_runtime_build_stats(rt).disk_rejects == 1 && cr_runtime_build_stats(rt).compiles == 1);

    /* a broken kernel: CR_ERR_BUILD with the device and the build log */
    cl_program broken = NULL;
    cr_status st = cr_program_from_source(rt, "broken_test.cl",
                                          "__kernel void broken(__global float *x) { x[0] = undefined_symbol_xyz; }",
                                          "", &broken);
    CHECK(st == CR_ERR_BUILD && broken == NULL);
    CHECK(strstr(cr_error_message(), "undefined_symbol_xyz") != NULL);
    CHECK(strstr(cr_error_message(), "broken_test.cl") != NULL);
    CHECK(strstr(cr_error_message(), rt->dev.device_name) != NULL);

    /* a launch with arguments unset names the kernel */
    cl_kernel k = NULL;
    CHECK_OK(cr_kernel_create(rt, "fourier.cl", "zscore_f32", "", &k));
    size_t global = 16;
    st = cr_enqueue(rt, k, 1, &global, NULL);
    CHECK(st != CR_OK && strstr(cr_error_message(), "zscore_f32") != NULL &&
          strstr(cr_error_message(), "clEnqueueNDRangeKernel") != NULL);
    if (k) clReleaseKernel(k);
    CHECK(cr_kernel_create(rt, "fourier.cl", "no_such_kernel", "", &k) == CL_INVALID_KERNEL_NAME);
    CHECK(strstr(cr_error_message(), "no_such_kernel") != NULL &&
          strstr(cr_error_message(), "CL_INVALID_KERNEL_NAME") != NULL);

    /* a miscounted cr_kernel_args is an error naming the kernel, not undefined
     * behaviour: nn_fill(x, xoff, value, n) takes four arguments */
    cl_kernel kf = NULL;
    CHECK_OK(cr_kernel_get(rt, "pointwise.cl", "nn_fill", "", &kf));
    cl_kernel kf2 = NULL;
    CHECK_OK(cr_kernel_get(rt, "pointwise.cl", "nn_fill", "", &kf2));
    CHECK(kf != NULL && kf == kf2); /* made once, owned by the runtime */
    if (kf) {
        cl_mem fb = NULL;
        CHECK_OK(cr_buffer_create(rt, 64, "fill test", &fb));
        int off = 0, n = 16;
        float v = 2.0f;
        CHECK_OK(cr_kernel_args(kf, 4, sizeof fb, &fb, sizeof off, &off, sizeof v, &v, sizeof n, &n));
        st = cr_kernel_args(kf, 4, sizeof fb, &fb, sizeof off, &off, sizeof v, &v); /* one pair short */
        CHECK(st == CR_ERR_INTERNAL && strstr(cr_error_message(), "nn_fill") &&
              strstr(cr_error_message(), "passes 6 values"));
        st = cr_kernel_args(kf, 3, sizeof fb, &fb, sizeof off, &off, sizeof v, &v); /* pairs, but the kernel has 4 */
        CHECK(st == CR_ERR_INTERNAL && strstr(cr_error_message(), "takes 4 arguments"));
        st = cr_kernel_args(kf, 2, sizeof fb, &fb, sizeof off, &off, sizeof v); /* not pairs */
        CHECK(st == CR_ERR_INTERNAL && strstr(cr_error_message(), "not (size, pointer) pairs"));
        cr_buffer_release(rt, &fb);
    }

    /* an allocation beyond the device limit says so */
    cl_mem big = NULL;
    CHECK(cr_buffer_create(rt, (size_t)rt->dev.max_alloc + 4096, "huge test buffer", &big) == CR_ERR_NOMEM);
    CHECK(strstr(cr_error_message(), "huge test buffer") != NULL);
    CHECK(strstr(cr_error_message(), rt->dev.device_name) != NULL &&
          strstr(cr_error_message(), "--tile") != NULL);
    /* ... and so does one that fits the largest buffer but not what is left of
     * the global memory (the count of allocated bytes is set, not allocated) */
    size_t saved = rt->state->mem_current;
    rt->state->mem_current = (size_t)rt->dev.global_mem - 1024;
    CHECK(cr_buffer_create(rt, 4096, "one too many", &big) == CR_ERR_NOMEM && big == NULL);
    CHECK(strstr(cr_error_message(), "one too many") != NULL &&
          strstr(cr_error_message(), "would exceed") != NULL &&
          strstr(cr_error_message(), rt->dev.device_name) != NULL &&
          strstr(cr_error_message(), "--tile") != NULL);
    rt->state->mem_current = saved;
    /* the drivers' out-of-memory codes get the device and the remedy; others stay as they are */
    CHECK(cr_fail_device(rt, CL_MEM_OBJECT_ALLOCATION_FAILURE, "clEnqueueNDRangeKernel", "conv", "f.c", 1) ==
          CL_MEM_OBJECT_ALLOCATION_FAILURE);
    CHECK(strstr(cr_error_message(), rt->dev.device_name) != NULL &&
          strstr(cr_error_message(), "ran out of memory") != NULL &&
          strstr(cr_error_message(), "--tile") != NULL &&
          strstr(cr_error_message(), "CL_MEM_OBJECT_ALLOCATION_FAILURE") != NULL);
    CHECK(cr_fail_device(rt, CL_OUT_OF_RESOURCES, "clFinish", NULL, "f.c", 1) == CL_OUT_OF_RESOURCES);
    CHECK(strstr(cr_error_message(), "ran out of memory") != NULL);
    CHECK(cr_fail_device(rt, CL_INVALID_KERNEL_ARGS, "clEnqueueNDRangeKernel", "conv", "f.c", 1) ==
          CL_INVALID_KERNEL_ARGS);
    CHECK(strstr(cr_error_message(), "CL_INVALID_KERNEL_ARGS") != NULL &&
          !strstr(cr_error_message(), "--tile"));
    cr_runtime_free(rt);

    /* sources: embedded, a missing one, and CLRESTORE_KERNEL_DIR */
    char *src = NULL;
    CHECK_OK(cr_kernel_source("fourier.cl", &src, NULL));
    CHECK(src && strstr(src, "zscore_f32") != NULL);
    free(src);
    CHECK(cr_kernel_source("missing.cl", &src, NULL) == CR_ERR_NOT_FOUND);
    char kpath[512];
    snprintf(kpath, sizeof kpath, "%s/dev.cl", cache_dir);
    fp = fopen(kpath, "w");
    if (fp) {
        fputs("__kernel void from_dir(__global float *x) { x[0] = 1.0f; }\n", fp);
        fclose(fp);
    }
    setenv("CLRESTORE_KERNEL_DIR", cache_dir, 1);
    CHECK_OK(cr_kernel_source("dev.cl", &src, NULL));
    CHECK(src && strstr(src, "from_dir") != NULL);
    free(src);
    /* #include "name" lines are replaced by kernels/name, once per program */
    char ipath[512];
    snprintf(ipath, sizeof ipath, "%s/dev_inc.h", cache_dir);
    fp = fopen(ipath, "w");
    if (fp) {
        fputs("#define DEV_VALUE 7.0f\n", fp);
        fclose(fp);
    }
    fp = fopen(kpath, "w");
    if (fp) {
        fputs("  #include \"dev_inc.h\"\n#include \"dev_inc.h\"\n__kernel void inc(__global float *x) { x[0] = DEV_VALUE; }\n", fp);
        fclose(fp);
    }
    CHECK_OK(cr_kernel_source("dev.cl", &src, NULL));
    CHECK(src && strstr(src, "#define DEV_VALUE 7.0f") && !strstr(src, "#include") && strstr(src, "void inc("));
    CHECK(src && strstr(src, "#define DEV_VALUE") &&
          !strstr(strstr(src, "#define DEV_VALUE") + 1, "#define DEV_VALUE")); /* inserted once */
    free(src);
    /* an include of a missing file names it */
    fp = fopen(kpath, "w");
    if (fp) {
        fputs("#include \"nowhere.h\"\n", fp);
        fclose(fp);
    }
    CHECK(cr_kernel_source("dev.cl", &src, NULL) != CR_OK && strstr(cr_error_message(), "nowhere.h"));
    unsetenv("CLRESTORE_KERNEL_DIR");
    unlink(kpath);
    unlink(ipath);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache_dir);
    CHECK(system(cmd) == 0);
    return test_finish("test_cl_runtime");
}
