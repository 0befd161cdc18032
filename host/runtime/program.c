/* Program builds: kernel sources (embedded or from CLRESTORE_KERNEL_DIR), one
 * build function with per-device options, an in-memory table of built
 * programs and an on-disk binary cache so a second start does not recompile.
 *
 * Cache entry: <cache_dir>/<key as 16 hex digits>.bin holding a header
 * {magic "CRKBIN01", key, payload length, payload checksum} and the device
 * binary. key = FNV-1a 64 over source, options, platform, device, device and
 * driver versions and our own version. A bad magic, key, length or checksum,
 * or a binary the driver rejects, is counted as a reject and rebuilt from
 * source; entries are written to a temporary name and renamed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clrestore/fileutil.h"
#include "clrestore/log.h"
#include "clrestore/runtime.h"
#include "runtime_internal.h"

struct cr_embedded_kernel {
    const char *name;
    const char *source;
    size_t length;
    int generated; /* made by the build (random123_philox.h), not a file of kernels/ */
};
extern const struct cr_embedded_kernel cr_embedded_kernels[];

typedef struct cr_kernel_entry {
    char *name;
    cl_kernel kernel;
} cr_kernel_entry;

struct cr_program_entry {
    char *label;   /* kernel file name or caller's label */
    char *options; /* caller's options */
    cl_program program;
    cr_kernel_entry *kernels; /* (nkernels) made by cr_kernel_get, released with the runtime */
    int nkernels;
};

#define CR_CACHE_MAGIC "CRKBIN01"

typedef struct cr_cache_header {
    char magic[8];
    uint64_t key;
    uint64_t length;
    uint64_t checksum;
} cr_cache_header;

/* FNV-1a 64-bit (Fowler, Noll, Vo); chained by passing the previous hash. */
static uint64_t cr_fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define CR_FNV_OFFSET 0xcbf29ce484222325ULL

static uint64_t cr_fnv1a_str(uint64_t h, const char *s)
{
    return cr_fnv1a(h, s, strlen(s) + 1); /* include NUL so "ab"+"c" != "a"+"bc" */
}

void cr_program_cache_init(cr_runtime *rt)
{
    const char *env = getenv("CLRESTORE_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    rt->cache_dir[0] = '\0';
    if (getenv("CLRESTORE_NO_KERNEL_CACHE")) return;
    if (env && *env)
        snprintf(rt->cache_dir, sizeof rt->cache_dir, "%s", env);
    else if (xdg && *xdg)
        snprintf(rt->cache_dir, sizeof rt->cache_dir, "%s/clrestore/kernels", xdg);
    else if (home && *home)
        snprintf(rt->cache_dir, sizeof rt->cache_dir, "%s/.cache/clrestore/kernels", home);
    if (rt->cache_dir[0] && cr_mkdir_p(rt->cache_dir) != CR_OK) {
        cr_debug("kernel cache unusable (%s); building without it", cr_error_message());
        cr_error_clear();
        rt->cache_dir[0] = '\0';
    }
}

void cr_program_cache_free(cr_runtime *rt)
{
    if (!rt->state) return;
    for (int i = 0; i < rt->state->nprograms; i++) {
        for (int j = 0; j < rt->state->programs[i].nkernels; j++) {
            free(rt->state->programs[i].kernels[j].name);
            clReleaseKernel(rt->state->programs[i].kernels[j].kernel);
        }
        free(rt->state->programs[i].kernels);
        free(rt->state->programs[i].label);
        free(rt->state->programs[i].options);
        if (rt->state->programs[i].program) clReleaseProgram(rt->state->programs[i].program);
    }
    free(rt->state->programs);
    rt->state->programs = NULL;
    rt->state->nprograms = rt->state->cap_programs = 0;
}

/* The text of kernels/<file> as stored (CLRESTORE_KERNEL_DIR or embedded). A
 * header the build generated is read from CLRESTORE_KERNEL_DIR when it holds
 * one, else from the embedded copy, since a copy of kernels/ has none. */
static cr_status kernel_source_raw(const char *file, char **src, size_t *len)
{
    *src = NULL;
    const char *dir = getenv("CLRESTORE_KERNEL_DIR");
    const struct cr_embedded_kernel *k = cr_embedded_kernels;
    while (k->name && strcmp(k->name, file) != 0) k++;
    if (dir && *dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, file);
        if (!k->name || !k->generated || access(path, F_OK) == 0) return cr_read_file(path, src, len);
    }
    if (k->name) {
        *src = malloc(k->length + 1);
        if (!*src) return cr_fail(CR_ERR_NOMEM, "out of memory loading kernel %s", file);
        memcpy(*src, k->source, k->length);
        (*src)[k->length] = '\0';
        if (len) *len = k->length;
        return CR_OK;
    }
    return cr_fail(CR_ERR_NOT_FOUND, "kernel file %s is not built into this clrestore", file);
}

/* A growing text buffer for include expansion. */
typedef struct src_buf {
    char *p;
    size_t len, cap;
} src_buf;

static int src_append(src_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) return -1;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

#define CR_MAX_INCLUDES 8

/* Appends file's text with each line `#include "name"` replaced by the text of
 * kernels/name (itself expanded). The embedded sources have no directory the
 * OpenCL compiler could search, so the host resolves includes the way it
 * finds files; a file is inserted once per program (seen[] holds the names
 * so far), which makes include guards unnecessary. */
static cr_status expand_file(const char *file, src_buf *out, const char **seen, int *nseen, int depth)
{
    char *src = NULL;
    cr_status st = kernel_source_raw(file, &src, NULL);
    if (st != CR_OK) return st;
    const char *line = src;
    while (st == CR_OK && *line) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) + 1 : strlen(line);
        const char *q = line;
        while (*q == ' ' || *q == '\t') q++;
        char name[128];
        const char *close = NULL;
        if (strncmp(q, "#include \"", 10) == 0 && (close = strchr(q + 10, '"')) && close < line + n &&
            (size_t)(close - q - 10) < sizeof name) {
            memcpy(name, q + 10, (size_t)(close - q - 10));
            name[close - q - 10] = '\0';
            int done = 0;
            for (int i = 0; i < *nseen; i++) done |= strcmp(seen[i], name) == 0;
            if (!done && (depth >= 4 || *nseen == CR_MAX_INCLUDES))
                st = cr_fail(CR_ERR_INTERNAL, "kernel %s: includes nest too deep at %s", file, name);
            else if (!done) {
                seen[(*nseen)++] = strdup(name);
                if (!seen[*nseen - 1]) st = cr_fail(CR_ERR_NOMEM, "out of memory loading kernel %s", file);
                if (st == CR_OK) st = expand_file(name, out, seen, nseen, depth + 1);
                if (st == CR_OK && src_append(out, "\n", 1)) st = cr_fail(CR_ERR_NOMEM, "out of memory loading kernel %s", file);
            }
        } else if (src_append(out, line, n)) {
            st = cr_fail(CR_ERR_NOMEM, "out of memory loading kernel %s", file);
        }
        line += n;
    }
    free(src);
    return st;
}

cr_status cr_kernel_source(const char *file, char **src, size_t *len)
{
    src_buf b = {NULL, 0, 0};
    const char *seen[CR_MAX_INCLUDES];
    int nseen = 0;
    *src = NULL;
    cr_status st = expand_file(file, &b, seen, &nseen, 0);
    for (int i = 0; i < nseen; i++) free((void *)seen[i]);
    if (st == CR_OK && !b.p) st = src_append(&b, "", 0) ? cr_fail(CR_ERR_NOMEM, "out of memory loading kernel %s", file) : CR_OK;
    if (st != CR_OK) {
        free(b.p);
        return st;
    }
    *src = b.p;
    if (len) *len = b.len;
    return CR_OK;
}

/* Options every program gets: the language version and what the kernels may
 * specialise on; these make the cache key. */
static void cr_full_options(const cr_runtime *rt, const char *options, char *out, size_t len)
{
    snprintf(out, len, "-cl-std=CL1.2 -DCR_DEVICE_%s=1%s %s", cr_device_type_name(rt->dev.type),
             rt->dev.fp64 ? " -DCR_HAVE_FP64=1" : "", options ? options : "");
}

/* What clBuildProgram gets: the full options and, below --verbose, -w.
 * Warnings about our kernels are ours to fix, not the user's to read, and
 * PoCL's clang prints them on stderr; -w is the whole of our side of "no
 * compiler output unless --verbose" (third-party builds: cr_log_quiet_call).
 * It changes no code, so it stays out of the cache key: a --verbose run
 * reuses the cached binaries. A failed build's log reaches the error either
 * way; --verbose prints a successful build's log (cr_build_log_show). */
static void cr_build_options(const char *full, char *out, size_t len)
{
    snprintf(out, len, "%s%s", full, cr_log_level() >= CR_LOG_VERBOSE ? "" : " -w");
}

/* The program's build log for the runtime's device (malloc'd, NUL-ended), or NULL. */
static char *cr_build_log(const cr_runtime *rt, cl_program prog)
{
    size_t log_len = 0;
    char *log = NULL;
    if (clGetProgramBuildInfo(prog, rt->dev.device, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_len) == CL_SUCCESS &&
        log_len > 0 && (log = malloc(log_len + 1)) != NULL) {
        if (clGetProgramBuildInfo(prog, rt->dev.device, CL_PROGRAM_BUILD_LOG, log_len, log, NULL) != CL_SUCCESS)
            log[0] = '\0';
        log[log_len] = '\0';
    }
    return log;
}

/* --verbose: a successful build's log, when it says anything (warnings). */
static void cr_build_log_show(const cr_runtime *rt, cl_program prog, const char *label)
{
    if (cr_log_level() < CR_LOG_VERBOSE) return;
    char *log = cr_build_log(rt, prog);
    size_t n = log ? strlen(log) : 0;
    while (n > 0 && (log[n - 1] == '\n' || log[n - 1] == ' ' || log[n - 1] == '\r')) log[--n] = '\0';
    if (n > 0) cr_debug("build log of %s for %s:\n%s", label, rt->dev.device_name, log);
    free(log);
}

static uint64_t cr_cache_key(const cr_runtime *rt, const char *src, const char *full_options)
{
    uint64_t h = CR_FNV_OFFSET;
    h = cr_fnv1a_str(h, src);
    h = cr_fnv1a_str(h, full_options);
    h = cr_fnv1a_str(h, rt->dev.platform_name);
    h = cr_fnv1a_str(h, rt->dev.platform_version);
    h = cr_fnv1a_str(h, rt->dev.device_name);
    h = cr_fnv1a_str(h, rt->dev.device_version);
    h = cr_fnv1a_str(h, rt->dev.driver_version);
    h = cr_fnv1a_str(h, CLRESTORE_VERSION);
    return h;
}

static void cr_cache_path(const cr_runtime *rt, uint64_t key, char *out, size_t len)
{
    snprintf(out, len, "%s/%016llx.bin", rt->cache_dir, (unsigned long long)key);
}

/* Tries the disk cache; returns a built program or NULL (miss or reject). */
static cl_program cr_cache_load(cr_runtime *rt, uint64_t key, const char *build_options, const char *label)
{
    char path[1200];
    cr_cache_path(rt, key, path, sizeof path);
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    cr_cache_header h;
    unsigned char *bin = NULL;
    cl_program prog = NULL;
    int ok = fread(&h, sizeof h, 1, fp) == 1 && memcmp(h.magic, CR_CACHE_MAGIC, 8) == 0 && h.key == key &&
             h.length > 0 && h.length < ((uint64_t)1 << 31);
    if (ok) {
        bin = malloc((size_t)h.length);
        ok = bin && fread(bin, 1, (size_t)h.length, fp) == (size_t)h.length &&
             cr_fnv1a(CR_FNV_OFFSET, bin, (size_t)h.length) == h.checksum;
    }
    fclose(fp);
    if (ok) {
        cl_int err = CL_SUCCESS, bin_status = CL_SUCCESS;
        size_t blen = (size_t)h.length;
        const unsigned char *bptr = bin;
        prog = clCreateProgramWithBinary(rt->ctx, 1, &rt->dev.device, &blen, &bptr, &bin_status, &err);
        if (err != CL_SUCCESS || bin_status != CL_SUCCESS) {
            if (prog) clReleaseProgram(prog);
            prog = NULL;
        } else if (clBuildProgram(prog, 1, &rt->dev.device, build_options, NULL, NULL) != CL_SUCCESS) {
            clReleaseProgram(prog);
            prog = NULL;
        }
    }
    free(bin);
    if (!prog) {
        rt->state->stats.disk_rejects++;
        cr_debug("kernel cache: rejected %s for %s; rebuilding", path, label);
        unlink(path);
    } else {
        rt->state->stats.disk_hits++;
        cr_debug("kernel cache: hit %s for %s", path, label);
    }
    return prog;
}

/* Writes the program's binary to the cache; failures only cost a rebuild later. */
static void cr_cache_store(cr_runtime *rt, uint64_t key, cl_program prog, const char *label)
{
    size_t blen = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof blen, &blen, NULL) != CL_SUCCESS || blen == 0)
        return;
    unsigned char *bin = malloc(blen);
    if (!bin) return;
    unsigned char *bins[1] = {bin};
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS) {
        free(bin);
        return;
    }
    cr_cache_header h;
    memcpy(h.magic, CR_CACHE_MAGIC, 8);
    h.key = key;
    h.length = blen;
    h.checksum = cr_fnv1a(CR_FNV_OFFSET, bin, blen);
    char path[1200];
    cr_cache_path(rt, key, path, sizeof path);
    cr_atomic_file f;
    if (cr_atomic_open(&f, path) == CR_OK) {
        fwrite(&h, sizeof h, 1, f.fp);
        fwrite(bin, 1, blen, f.fp);
        if (cr_atomic_commit(&f) == CR_OK) {
            rt->state->stats.disk_writes++;
            cr_debug("kernel cache: stored %s (%zu bytes) for %s", path, blen, label);
        }
        cr_atomic_abort(&f);
    }
    cr_error_clear(); /* a cache write failure is not the caller's error */
    free(bin);
}

static cr_status cr_build_failure(cr_runtime *rt, cl_program prog, cl_int err, const char *label)
{
    char *log = cr_build_log(rt, prog);
    /* the first line names the file and the device and says what to do; the
     * compiler's log follows on its own lines */
    const char *dir = getenv("CLRESTORE_KERNEL_DIR");
    size_t ll = strlen(label);
    int from_dir = dir && *dir && ll > 3 && strcmp(label + ll - 3, ".cl") == 0;
    cr_status st =
        cr_fail(CR_ERR_BUILD, "%s%s%s: building it for %s failed (%s); %s; build log:\n%s",
                from_dir ? dir : "kernels", ll > 3 && strcmp(label + ll - 3, ".cl") == 0 ? "/" : " ", label,
                rt->dev.device_name, cr_cl_error_name(err),
                from_dir ? "the kernel sources come from CLRESTORE_KERNEL_DIR: fix the file, or unset "
                           "CLRESTORE_KERNEL_DIR to use the built-in kernels"
                         : "the built-in kernels should build: please report this with the log and "
                           "'clrestore devices'",
                log && log[0] ? log : "(empty)");
    free(log);
    return st;
}

cr_status cr_program_from_source(cr_runtime *rt, const char *label, const char *src, const char *options,
                                 cl_program *out)
{
    *out = NULL;
    if (!options) options = "";
    for (int i = 0; i < rt->state->nprograms; i++) {
        if (strcmp(rt->state->programs[i].label, label) == 0 && strcmp(rt->state->programs[i].options, options) == 0) {
            rt->state->stats.memory_hits++;
            *out = rt->state->programs[i].program;
            return CR_OK;
        }
    }
    char full[2048], build[2100];
    cr_full_options(rt, options, full, sizeof full);
    cr_build_options(full, build, sizeof build);
    uint64_t key = cr_cache_key(rt, src, full);
    cl_program prog = rt->cache_dir[0] ? cr_cache_load(rt, key, build, label) : NULL;
    if (!prog) {
        cl_int err = CL_SUCCESS;
        size_t len = strlen(src);
        double t0 = cr_now();
        prog = clCreateProgramWithSource(rt->ctx, 1, &src, &len, &err);
        if (err != CL_SUCCESS) return cr_fail_cl(err, "clCreateProgramWithSource", label, __FILE__, __LINE__);
        err = clBuildProgram(prog, 1, &rt->dev.device, build, NULL, NULL);
        if (err != CL_SUCCESS) {
            cr_status st = cr_build_failure(rt, prog, err, label);
            clReleaseProgram(prog);
            return st;
        }
        cr_build_log_show(rt, prog, label);
        rt->state->stats.compiles++;
        cr_debug("compiled %s [%s] in %.2f s", label, options, cr_now() - t0);
        if (rt->cache_dir[0]) cr_cache_store(rt, key, prog, label);
    }
    if (rt->state->nprograms == rt->state->cap_programs) {
        int cap = rt->state->cap_programs ? 2 * rt->state->cap_programs : 16;
        cr_program_entry *p = realloc(rt->state->programs, (size_t)cap * sizeof *p);
        if (!p) {
            clReleaseProgram(prog);
            return cr_fail(CR_ERR_NOMEM, "out of memory keeping program %s", label);
        }
        rt->state->programs = p;
        rt->state->cap_programs = cap;
    }
    cr_program_entry *e = &rt->state->programs[rt->state->nprograms];
    e->label = strdup(label);
    e->options = strdup(options);
    e->program = prog;
    e->kernels = NULL;
    e->nkernels = 0;
    if (!e->label || !e->options) {
        free(e->label);
        free(e->options);
        clReleaseProgram(prog);
        return cr_fail(CR_ERR_NOMEM, "out of memory keeping program %s", label);
    }
    rt->state->nprograms++;
    *out = prog;
    return CR_OK;
}

cr_status cr_program_get(cr_runtime *rt, const char *file, const char *options, cl_program *out)
{
    *out = NULL;
    if (!options) options = "";
    for (int i = 0; i < rt->state->nprograms; i++) {
        if (strcmp(rt->state->programs[i].label, file) == 0 && strcmp(rt->state->programs[i].options, options) == 0) {
            rt->state->stats.memory_hits++;
            *out = rt->state->programs[i].program;
            return CR_OK;
        }
    }
    char *src = NULL;
    cr_status st = cr_kernel_source(file, &src, NULL);
    if (st != CR_OK) return st;
    st = cr_program_from_source(rt, file, src, options, out);
    free(src);
    return st;
}

cr_status cr_kernel_create(cr_runtime *rt, const char *file, const char *name, const char *options,
                           cl_kernel *out)
{
    cl_program prog = NULL;
    *out = NULL;
    cr_status st = cr_program_get(rt, file, options, &prog);
    if (st != CR_OK) return st;
    cl_int err = CL_SUCCESS;
    *out = clCreateKernel(prog, name, &err);
    if (err != CL_SUCCESS) {
        *out = NULL;
        char what[256];
        snprintf(what, sizeof what, "%s in %s", name, file);
        return cr_fail_cl(err, "clCreateKernel", what, __FILE__, __LINE__);
    }
    return CR_OK;
}

cr_status cr_kernel_get(cr_runtime *rt, const char *file, const char *name, const char *options, cl_kernel *out)
{
    cl_program prog = NULL;
    *out = NULL;
    cr_status st = cr_program_get(rt, file, options, &prog);
    if (st != CR_OK) return st;
    cr_program_entry *e = NULL;
    for (int i = 0; i < rt->state->nprograms && !e; i++)
        if (rt->state->programs[i].program == prog) e = &rt->state->programs[i];
    if (!e) return cr_fail(CR_ERR_INTERNAL, "program %s is not in the runtime's table", file);
    for (int j = 0; j < e->nkernels; j++)
        if (strcmp(e->kernels[j].name, name) == 0) {
            *out = e->kernels[j].kernel;
            return CR_OK;
        }
    cr_kernel_entry *grown = realloc(e->kernels, (size_t)(e->nkernels + 1) * sizeof *grown);
    if (!grown) return cr_fail(CR_ERR_NOMEM, "out of memory keeping kernel %s", name);
    e->kernels = grown;
    cl_kernel k = NULL;
    st = cr_kernel_create(rt, file, name, options, &k);
    if (st != CR_OK) return st;
    char *nm = strdup(name);
    if (!nm) {
        clReleaseKernel(k);
        return cr_fail(CR_ERR_NOMEM, "out of memory keeping kernel %s", name);
    }
    e->kernels[e->nkernels].name = nm;
    e->kernels[e->nkernels].kernel = k;
    e->nkernels++;
    *out = k;
    return CR_OK;
}
