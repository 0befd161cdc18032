/* Convolution parameters as data (host/nn/conv_tune.h), no device needed: the database
 * lookup by key and the fallback from synthetic device properties (expected tiles derived
 * by hand from the rules in docs/tuning.md), the field table's parse/format, and the
 * cache file's write/read round trip, including corrupt and foreign files, which must
 * be refused (and, in cr_conv_params_resolve, ignored for the built-in parameters). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clrestore/status.h"
#include "conv_tune.h"
#include "testutil.h"

static cr_device_desc dev(const char *platform, const char *vendor, const char *name, cl_device_type type,
                          unsigned cu, unsigned pref)
{
    cr_device_desc d;
    memset(&d, 0, sizeof d);
    snprintf(d.platform_name, sizeof d.platform_name, "%s", platform);
    snprintf(d.platform_version, sizeof d.platform_version, "OpenCL 3.0 test");
    snprintf(d.vendor, sizeof d.vendor, "%s", vendor);
    snprintf(d.device_name, sizeof d.device_name, "%s", name);
    snprintf(d.device_version, sizeof d.device_version, "OpenCL 3.0");
    snprintf(d.driver_version, sizeof d.driver_version, "1.0");
    d.type = type, d.compute_units = cu, d.pref_vec_float = pref, d.local_mem = 64 << 10;
    d.max_work_group = 1024;
    return d;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

int main(void)
{
    const char *pocl = "Portable Computing Language";
    cr_device_desc x512 = dev(pocl, "GenuineIntel", "pthread-skylake-avx512-Intel(R) Xeon(R) Processor",
                              CL_DEVICE_TYPE_CPU, 2, 16);
    cr_device_desc hsw = dev(pocl, "AuthenticAMD", "pthread-haswell-AMD EPYC 7763", CL_DEVICE_TYPE_CPU, 2, 16);
    cr_device_desc zen4 = dev(pocl, "AuthenticAMD", "pthread-znver4-AMD EPYC 9654", CL_DEVICE_TYPE_CPU, 4, 16);
    cr_device_desc pipe = dev("rusticl", "Mesa", "llvmpipe (LLVM 15.0.6, 256 bits)", CL_DEVICE_TYPE_CPU, 2, 8);
    cr_device_desc gpu = dev("NVIDIA CUDA", "NVIDIA Corporation", "NVIDIA A100", CL_DEVICE_TYPE_GPU, 108, 1);
    cr_device_desc sse = dev("Other", "Other", "some cpu", CL_DEVICE_TYPE_CPU, 2, 4);
    /* as NVIDIA's OpenCL named the lent H200 (session 10's devices -v) */
    cr_device_desc h200 = dev("NVIDIA CUDA", "NVIDIA Corporation", "NVIDIA H200", CL_DEVICE_TYPE_GPU, 132, 1);

    /* database: by platform + device name; not by a name it does not contain */
    const cr_conv_db_entry *e = cr_conv_db_match(&x512);
    CHECK(e && !strcmp(e->name, "pocl3-skylake-avx512"));
    e = cr_conv_db_match(&hsw);
    CHECK(e && !strcmp(e->name, "pocl3-haswell"));
    CHECK(cr_conv_db_match(&zen4) == NULL);
    CHECK(cr_conv_db_match(&pipe) == NULL && cr_conv_db_match(&gpu) == NULL);
    e = cr_conv_db_match(&h200); /* the H200 entry is not any NVIDIA GPU's (the A100 above) */
    CHECK(e && !strcmp(e->name, "nvidia-h200"));
    cr_device_desc h200_cpu = h200; /* a device type must match too */
    h200_cpu.type = CL_DEVICE_TYPE_CPU;
    CHECK(cr_conv_db_match(&h200_cpu) == NULL);
    cr_device_desc other_platform = x512; /* the same name on another platform is not PoCL's */
    snprintf(other_platform.platform_name, sizeof other_platform.platform_name, "rusticl");
    CHECK(cr_conv_db_match(&other_platform) == NULL);

    /* every built-in row parses, and names a class or "all" */
    for (int i = 0; i < cr_conv_db_count; i++)
        for (int r = 0; cr_conv_db[i].rows[r]; r++) {
            const char *row = cr_conv_db[i].rows[r];
            size_t nl = strcspn(row, " ");
            char name[32], err[256];
            snprintf(name, sizeof name, "%.*s", (int)nl, row);
            cr_conv_tiles t;
            cr_conv_fallback(&x512, &t, err, sizeof err);
            CHECK_MSG(!strcmp(name, "all") || cr_conv_class_find(name) >= 0, "%s: class %s", cr_conv_db[i].name, name);
            CHECK_MSG(cr_conv_tiles_parse(row + nl, &t, err, sizeof err) == 0, "%s: %s", cr_conv_db[i].name, err);
        }

    /* fallback: 32 zmm -> 16 x float16, 4 x 6 float16; 16 registers -> 12 x 8 floats, 3 x 4 */
    char why[256];
    cr_conv_tiles t;
    cr_conv_fallback(&zen4, &t, why, sizeof why);
    CHECK(t.fwd_tm == 16 && t.fwd_vw == 16 && t.dw_tm == 4 && t.dw_tn == 6 && t.dw_vw == 16 && t.dw_local == 1);
    CHECK(t.fwd_variant == 0 && t.dw_items_per_cu == 16 && t.dw_chunk_px == 8192 && strstr(why, "32 registers"));
    cr_conv_fallback(&hsw, &t, why, sizeof why); /* the name wins over PoCL's preferred width (16) */
    CHECK(t.fwd_tm == 12 && t.fwd_vw == 8 && t.dw_tm == 3 && t.dw_tn == 4 && t.dw_vw == 8);
    cr_conv_fallback(&pipe, &t, why, sizeof why); /* no known CPU in the name: preferred width 8 */
    CHECK(t.fwd_tm == 12 && t.fwd_vw == 8 && strstr(why, "preferred float vector 8"));
    cr_conv_fallback(&sse, &t, why, sizeof why);
    CHECK(t.fwd_vw == 4 && t.dw_vw == 4 && t.db_local == 1);
    cr_conv_fallback(&gpu, &t, why, sizeof why);
    CHECK(t.dw_local == 32 && t.dw_items_per_cu == 256 && t.dw_chunk_px == 65536 && strstr(why, "GPU"));
    /* a GPU thread has at most 255 registers: 64 accumulators for dW and the register forward;
     * the bias gradient by 256-item work-groups (one item per channel took the H200's 10 x
     * 192^2 backward to 670 ms), one item per channel on CPUs */
    CHECK(t.dw_tm * t.dw_tn * t.dw_vw == 64 && t.fwd_tm * t.fwd_vw == 64 && t.db_local == 256);
    /* GPUs get the work-group tiled forward: 64 x 64 tiles, 16 x 16 items, 16-deep slices */
    CHECK(t.fwd_variant == 1 && t.lm_mwg == 64 && t.lm_nwg == 64 && t.lm_kwg == 16 && t.lm_mdimc == 16 &&
          t.lm_ndimc == 16 && t.lm_vwm == 4);
    cr_device_desc small_gpu = gpu;
    small_gpu.max_work_group = 128; /* 16 x 16 items do not fit: the register tiles */
    cr_conv_fallback(&small_gpu, &t, why, sizeof why);
    CHECK(t.fwd_variant == 0 && strstr(why, "register tiles") && strstr(why, "work-items"));
    /* local memory of the default tiles: 16-deep slices of the 64 + 64 rows of weights and
     * input (16 x 128 floats, 8192 bytes) and 64 column offsets (ints, 256 bytes) = 8448
     * bytes: 8448 fit, 8447 do not (the former rule asked 16384 and chose the register
     * tiles for both) */
    small_gpu = gpu;
    small_gpu.max_work_group = 256;
    small_gpu.local_mem = 8448;
    cr_conv_fallback(&small_gpu, &t, why, sizeof why);
    CHECK_MSG(t.fwd_variant == 1 && strstr(why, "work-group tiled"), "%s", why);
    small_gpu.local_mem = 8447;
    cr_conv_fallback(&small_gpu, &t, why, sizeof why);
    CHECK_MSG(t.fwd_variant == 0 && strstr(why, "register tiles") && strstr(why, "needs 8448 bytes"), "%s", why);
    CHECK(cr_error_message()[0] == '\0'); /* the check's refusal stays inside the fallback */
    cr_conv_isa isa = cr_conv_isa_of(&x512);
    CHECK(isa.registers == 32 && isa.vec_floats == 16);

    /* classes */
    CHECK(cr_conv_class_of(2, 8, 3, 1) == CR_CC_TINY && cr_conv_class_of(32, 128, 1, 1) == CR_CC_1X1_WIDE);
    CHECK(cr_conv_class_of(128, 25, 1, 1) == CR_CC_1X1_NARROW && cr_conv_class_of(25, 32, 3, 1) == CR_CC_KXK_NARROW);
    CHECK(cr_conv_class_of(102, 128, 4, 1) == CR_CC_KXK_WIDE && cr_conv_class_of(32, 32, 3, 2) == CR_CC_S2);
    /* deep: >= 256 inputs to a quarter or fewer (the 512 -> 102 bottlenecks; 512 -> 128 too) */
    CHECK(cr_conv_class_of(512, 102, 1, 1) == CR_CC_1X1_DEEP && cr_conv_class_of(512, 128, 1, 1) == CR_CC_1X1_DEEP);
    CHECK(cr_conv_class_of(512, 129, 1, 1) == CR_CC_1X1_WIDE && cr_conv_class_of(128, 25, 1, 1) == CR_CC_1X1_NARROW);
    CHECK(cr_conv_class_of(512, 102, 3, 1) == CR_CC_KXK_WIDE && cr_conv_class_of(512, 102, 1, 2) == CR_CC_S2);
    for (int c = 0; c < CR_CONV_NCLASSES; c++) CHECK(cr_conv_class_find(cr_conv_class_name(c)) == c);

    /* field table: parse, refuse, format round trip */
    char err[256], line[1024];
    cr_conv_fallback(&x512, &t, why, sizeof why);
    cr_conv_tiles u = t;
    CHECK(cr_conv_tiles_parse(" fwd_tm=7\tdw_vw=8 ", &u, err, sizeof err) == 0 && u.fwd_tm == 7 && u.dw_vw == 8);
    CHECK(u.fwd_vw == t.fwd_vw);
    cr_conv_tiles v = u;
    CHECK(cr_conv_tiles_parse("fwd_vw=12", &v, err, sizeof err) == -1 && strstr(err, "power of two"));
    CHECK(cr_conv_tiles_parse("fwd_tm=7 bogus=1", &v, err, sizeof err) == -1 && strstr(err, "bogus"));
    CHECK(cr_conv_tiles_parse("fwd_tm=x", &v, err, sizeof err) == -1 && strstr(err, "integer"));
    CHECK(cr_conv_tiles_parse("fwd_variant=2", &v, err, sizeof err) == -1); /* 0 register, 1 local memory */
    CHECK(cr_conv_tiles_parse("lm_vwm=3", &v, err, sizeof err) == -1 && strstr(err, "power of two"));
    CHECK(cr_conv_tiles_parse("fwd_tm", &v, err, sizeof err) == -1);
    CHECK(!memcmp(&v, &u, sizeof u)); /* a refused line changes nothing */
    cr_conv_tiles_format(&u, line, sizeof line);
    CHECK(strstr(line, "fwd_variant=0 ") == line);
    cr_conv_tiles w = t;
    CHECK(cr_conv_tiles_parse(line, &w, err, sizeof err) == 0 && !memcmp(&w, &u, sizeof u));

    /* the cache: round trip in a private directory */
    char dir[] = "/tmp/test_conv_tune.XXXXXX", path[4096], cmd[4200];
    CHECK(mkdtemp(dir) != NULL);
    setenv("CLRESTORE_TUNE_DIR", dir, 1);
    unsetenv("CLRESTORE_NO_TUNE_CACHE");
    unsetenv("CLRESTORE_CONV_PARAMS");
    CHECK(cr_conv_cache_path(&x512, path, sizeof path) == 0 && !strncmp(path, dir, strlen(dir)));
    char other[4096];
    CHECK(cr_conv_cache_path(&hsw, other, sizeof other) == 0 && strcmp(path, other) != 0);
    cr_conv_params p, q;
    cr_conv_params_resolve(&x512, &p); /* no cache yet: the built-in entry everywhere */
    for (int c = 0; c < CR_CONV_NCLASSES; c++) CHECK(!strcmp(p.source[c], "built-in pocl3-skylake-avx512"));
    p.cls[CR_CC_1X1_WIDE] = u;
    p.cls[CR_CC_S2].dw_chunk_px = 4096;
    unsigned mask = (1u << CR_CC_1X1_WIDE) | (1u << CR_CC_S2), found = 0;
    const char *note[CR_CONV_NCLASSES] = {0};
    note[CR_CC_S2] = "a note";
    CHECK_OK(cr_conv_params_write(path, &x512, &p, mask, note));
    cr_conv_params_resolve(&x512, &q);
    CHECK(!memcmp(&q.cls[CR_CC_1X1_WIDE], &u, sizeof u) && q.cls[CR_CC_S2].dw_chunk_px == 4096);
    CHECK(!strncmp(q.source[CR_CC_S2], "cache ", 6) && strstr(q.source[CR_CC_S2], path));
    CHECK(!strcmp(q.source[CR_CC_TINY], "built-in pocl3-skylake-avx512"));
    CHECK(q.cls[CR_CC_TINY].fwd_tm == 16);
    cr_conv_params r = p;
    CHECK_OK(cr_conv_params_read(path, &x512, 0, &r, &found));
    CHECK(found == mask);
    /* another device's identity (compute units count) refuses the file */
    cr_device_desc x512_4 = x512;
    x512_4.compute_units = 4;
    cr_conv_params_resolve(&x512, &q);
    r = q;
    CHECK(cr_conv_params_read(path, &x512_4, 0, &r, &found) == CR_ERR_FORMAT && found == 0);
    CHECK(strstr(cr_error_message(), "another device") && strstr(cr_error_message(), path));
    CHECK(!memcmp(&r, &q, sizeof q));
    cr_error_clear();
    /* CLRESTORE_NO_TUNE_CACHE ignores it */
    setenv("CLRESTORE_NO_TUNE_CACHE", "1", 1);
    cr_conv_params_resolve(&x512, &q);
    CHECK(!strcmp(q.source[CR_CC_S2], "built-in pocl3-skylake-avx512") && q.cls[CR_CC_S2].dw_chunk_px == 8192);
    unsetenv("CLRESTORE_NO_TUNE_CACHE");

    /* corrupt files: truncated in a class line, garbage, a value out of range, empty */
    static const char *const bad[] = {
        "clrestore-conv-params 1\nclass stride2 fwd_tm=",
        "\x7f" "ELF\x02\x01\x01 binary junk\n",
        "clrestore-conv-params 1\nclass 1x1-wide fwd_tm=99\n",
        "clrestore-conv-params 1\nclass nosuch fwd_tm=8\n",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(path, bad[i]);
        cr_conv_params_resolve(&x512, &q); /* warns (one line naming the file), keeps the built-in set */
        for (int c = 0; c < CR_CONV_NCLASSES; c++)
            CHECK_MSG(!strcmp(q.source[c], "built-in pocl3-skylake-avx512"), "bad file %zu: %s", i, q.source[c]);
        r = q;
        CHECK_MSG(cr_conv_params_read(path, &x512, 0, &r, &found) == CR_ERR_FORMAT, "bad file %zu", i);
        CHECK(strstr(cr_error_message(), path) != NULL);
        cr_error_clear();
    }
    /* a file named by CLRESTORE_CONV_PARAMS is taken on any device, over the cache */
    char forced[4200];
    snprintf(forced, sizeof forced, "%s/forced.conv", dir);
    write_text(forced, "clrestore-conv-params 1\n# pinned\nclass tiny dw_items_per_cu=3\n");
    setenv("CLRESTORE_CONV_PARAMS", forced, 1);
    cr_conv_params_resolve(&gpu, &q);
    CHECK(q.cls[CR_CC_TINY].dw_items_per_cu == 3 && !strncmp(q.source[CR_CC_TINY], "file ", 5));
    CHECK(q.cls[CR_CC_S2].dw_items_per_cu == 256 && !strncmp(q.source[CR_CC_S2], "fallback: GPU", 13));
    unsetenv("CLRESTORE_CONV_PARAMS");

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return test_finish("test_conv_tune");
}
