/* HDF5 helpers and the `clrestore info` summary of HDF5 files. */
#include "clrestore/h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clrestore/checkpoint.h"
#include "clrestore/fileutil.h"

void cr_h5_quiet(void)
{
    static int done = 0;
    /* Debian's libhdf5 is built thread-safe, and there the error-printing
     * setting is per thread: the training loader's thread printed HDF5's
     * whole error stack on a damaged pair (found by fuzzing). */
    static _Thread_local int done_here = 0;
    if (!done) {
        /* No library shutdown at exit: a file whose close failed (disk
         * full) stays open inside HDF5, and closing it again at exit
         * crashes. Everything of ours is closed before then anyway. Must
         * come before the library's first use. */
        H5dont_atexit();
        done = 1;
    }
    if (!done_here) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        done_here = 1;
    }
}

typedef struct sys_error {
    char *buf;
    size_t len;
} sys_error;

static herr_t sys_error_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    sys_error *se = data;
    /* the file drivers put "errno = N, error message = 'TEXT'" in the description */
    const char *m = e->desc ? strstr(e->desc, "error message = '") : NULL;
    if (m && !se->buf[0]) {
        m += strlen("error message = '");
        snprintf(se->buf, se->len, "%.*s", (int)strcspn(m, "'"), m);
    }
    return 0;
}

void cr_h5_sys_error(char *buf, size_t len)
{
    if (!len) return;
    buf[0] = '\0';
    sys_error se = {buf, len};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, sys_error_cb, &se);
}

int cr_h5_is_hdf5(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    unsigned char buf[8];
    int found = 0;
    for (long off = 0; off <= 65536 && !found; off = off ? off * 2 : 512) {
        if (fseek(fp, off, SEEK_SET) != 0 || fread(buf, 1, 8, fp) != 8) break;
        found = memcmp(buf, sig, 8) == 0;
    }
    fclose(fp);
    return found;
}

int cr_h5_numeric_type(int64_t type)
{
    if (type < 0) return 0;
    H5T_class_t cls = H5Tget_class((hid_t)type);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) return 0;
    /* Exactly the standard types, compared field by field (size, precision,
     * offset, byte order, float layout): what h5py, Keras and we write. A
     * corrupt precision or offset alone is enough to crash the converters. */
    const hid_t known[] = {H5T_STD_I8LE,  H5T_STD_I8BE,  H5T_STD_U8LE,    H5T_STD_U8BE,    H5T_STD_I16LE,
                           H5T_STD_I16BE, H5T_STD_U16LE, H5T_STD_U16BE,   H5T_STD_I32LE,   H5T_STD_I32BE,
                           H5T_STD_U32LE, H5T_STD_U32BE, H5T_STD_I64LE,   H5T_STD_I64BE,   H5T_STD_U64LE,
                           H5T_STD_U64BE, H5T_IEEE_F32LE, H5T_IEEE_F32BE, H5T_IEEE_F64LE, H5T_IEEE_F64BE};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (H5Tequal((hid_t)type, known[i]) > 0) return 1;
    return 0;
}

int cr_h5_holds_numbers(int64_t object)
{
    hid_t type = -1;
    if (object >= 0 && H5Iget_type((hid_t)object) == H5I_DATASET) type = H5Dget_type((hid_t)object);
    else if (object >= 0 && H5Iget_type((hid_t)object) == H5I_ATTR) type = H5Aget_type((hid_t)object);
    int numeric = cr_h5_numeric_type(type);
    if (type >= 0) H5Tclose(type);
    return numeric;
}

int cr_h5_string_type(int64_t type)
{
    if (type < 0 || H5Tget_class((hid_t)type) != H5T_STRING) return 0;
    return H5Tis_variable_str((hid_t)type) > 0 || H5Tget_size((hid_t)type) <= 65536;
}

static int in_guard_child = 0;

/* Damaged files can also send HDF5 into an endless loop: the child gets a
 * minute plus a second per 10 MB (a slow network file system), then it is
 * stopped. Valid checkpoints and training-set headers read in well under a
 * second. */
static unsigned guard_seconds(const char *path)
{
    const char *env = getenv("CLRESTORE_H5_GUARD_SECONDS"); /* tests */
    if (env && atoi(env) > 0) return (unsigned)atoi(env);
    int64_t size = 0;
    if (cr_file_size(path, &size) != CR_OK) size = 0;
    return 60u + (unsigned)(size / 10000000);
}

cr_status cr_h5_guard(const char *path, const char *kind, cr_h5_probe_fn probe, void *ctx)
{
    cr_h5_quiet();
    int64_t size = 0;
    cr_status st = cr_file_size(path, &size);
    if (st != CR_OK) return st;
    if (!cr_h5_is_hdf5(path)) {
        if (kind) return cr_fail(CR_ERR_FORMAT, "%s: not an HDF5 file (%s is HDF5)", path, kind);
        return cr_fail(CR_ERR_FORMAT, "%s: not an HDF5 file", path);
    }
    const char *env = getenv("CLRESTORE_H5_GUARD");
    if (in_guard_child || (env && strcmp(env, "0") == 0)) return CR_OK;
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t pid = fork();
    if (pid < 0) return CR_OK; /* cannot guard: read it unguarded, as before */
    if (pid == 0) {
        /* The child only reads. Its stderr goes nowhere: a crash report there
         * would break our one-line errors; the parent says what happened. */
        in_guard_child = 1;
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, STDERR_FILENO);
        signal(SIGALRM, SIG_DFL);
        alarm(guard_seconds(path));
        _exit(probe(path, ctx) == CR_OK ? 0 : 3); /* no atexit handlers: they belong to the parent */
    }
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR) return CR_OK;
    if (WIFEXITED(ws) && (WEXITSTATUS(ws) == 0 || WEXITSTATUS(ws) == 3)) return CR_OK;
    if (WIFSIGNALED(ws) && WTERMSIG(ws) == SIGALRM)
        return cr_fail(CR_ERR_FORMAT, "%s: damaged HDF5 file: the HDF5 library did not finish reading it in %u s",
                       path, guard_seconds(path));
    if (WIFSIGNALED(ws))
        return cr_fail(CR_ERR_FORMAT, "%s: damaged HDF5 file: the HDF5 library crashed reading it (%s)", path,
                       strsignal(WTERMSIG(ws)));
    return cr_fail(CR_ERR_FORMAT, "%s: damaged HDF5 file: the HDF5 library crashed reading it (exit %d)", path,
                   WEXITSTATUS(ws));
}

/* A growing text buffer. */
typedef struct cr_text {
    char *s;
    size_t len, cap;
    int oom;
} cr_text;

static void cr_text_add(cr_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cr_text_add(cr_text *t, const char *fmt, ...)
{
    if (t->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) return;
    if (t->len + (size_t)need + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + (size_t)need + 1) cap *= 2;
        char *s = realloc(t->s, cap);
        if (!s) {
            t->oom = 1;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)need;
}

/* Long strings (a Keras model_config is tens of KB of JSON) are cut. */
static void cr_text_add_cut(cr_text *t, const char *v)
{
    size_t n = strlen(v);
    if (n <= 160) cr_text_add(t, "%s", v);
    else cr_text_add(t, "%.120s... (%zu characters)", v, n);
}

static void cr_text_attr_value(cr_text *t, hid_t attr)
{
    hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    H5T_class_t cls = H5Tget_class(type);
    if (cls == H5T_STRING && n == 1 && cr_h5_string_type(type)) {
        if (H5Tis_variable_str(type) > 0) {
            char *v = NULL;
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(type));
            if (H5Aread(attr, mt, &v) >= 0 && v) {
                cr_text_add_cut(t, v);
                H5free_memory(v);
            }
            H5Tclose(mt);
        } else {
            size_t sz = H5Tget_size(type);
            char *v = calloc(sz + 1, 1);
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, sz + 1); /* + 1: see checkpoint_load.c attr_string */
            H5Tset_cset(mt, H5Tget_cset(type));
            if (v && H5Aread(attr, mt, v) >= 0) cr_text_add_cut(t, v);
            free(v);
            H5Tclose(mt);
        }
    } else if (cr_h5_numeric_type(type) && n >= 1 && n <= 16) {
        double v[16];
        if (H5Aread(attr, H5T_NATIVE_DOUBLE, v) >= 0)
            for (hssize_t i = 0; i < n; i++) cr_text_add(t, "%s%.9g", i ? " " : "", v[i]);
    } else {
        cr_text_add(t, "(%lld values)", (long long)n);
    }
    H5Sclose(space);
    H5Tclose(type);
}

static herr_t cr_attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    cr_text *t = data;
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    if (attr < 0) return 0;
    cr_text_add(t, "  @%s = ", name);
    cr_text_attr_value(t, attr);
    cr_text_add(t, "\n");
    H5Aclose(attr);
    return 0;
}

static void cr_text_dataset(cr_text *t, hid_t file, const char *name)
{
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    if (ds < 0) return;
    hid_t space = H5Dget_space(ds), type = H5Dget_type(ds);
    hsize_t dims[8] = {0};
    int nd = H5Sget_simple_extent_ndims(space);
    if (nd > 8) nd = 8;
    if (nd > 0) H5Sget_simple_extent_dims(space, dims, NULL);
    const char *tn = "other";
    H5T_class_t cls = H5Tget_class(type);
    size_t sz = H5Tget_size(type);
    if (cls == H5T_FLOAT) tn = sz == 4 ? "float32" : sz == 8 ? "float64" : sz == 2 ? "float16" : "float";
    else if (cls == H5T_INTEGER) tn = sz == 4 ? "int32" : sz == 8 ? "int64" : sz == 2 ? "int16" : "int8";
    else if (cls == H5T_STRING) tn = "string";
    cr_text_add(t, "  %-28s %-8s ", name, tn);
    for (int i = 0; i < nd; i++) cr_text_add(t, "%s%llu", i ? "x" : "", (unsigned long long)dims[i]);
    if (nd == 0) cr_text_add(t, "scalar");
    cr_text_add(t, "\n");
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(ds);
}

typedef struct cr_walk {
    cr_text *t;
    hid_t file;
    int count;
} cr_walk;

static herr_t cr_visit_cb(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    cr_walk *w = data;
    if (strcmp(name, ".") == 0) return 0;
    if (++w->count > 200) {
        if (w->count == 201) cr_text_add(w->t, "  ... (more objects not listed)\n");
        return 0;
    }
    if (info->type == H5O_TYPE_GROUP)
        cr_text_add(w->t, "  %s/\n", name);
    else if (info->type == H5O_TYPE_DATASET)
        cr_text_dataset(w->t, w->file, name);
    return 0;
}

static int cr_h5_has(hid_t file, const char *name)
{
    return H5Lexists(file, name, H5P_DEFAULT) > 0;
}

/* Checkpoints are summarised through the loader, so that what info shows is
 * what train and denoise will accept (and a broken one gives the same error). */
static cr_status describe_checkpoint(const char *path, int64_t size, char **text)
{
    cr_checkpoint *c = NULL;
    cr_status st = cr_checkpoint_load(path, &c);
    if (st != CR_OK) return st;
    cr_text t = {0};
    cr_text_add(&t, "%s: clrestore checkpoint, %lld bytes\n", path, (long long)size);
    cr_text_add(&t, "  network: WA-U-Net, levels %d, blocks %d, filters %d, expansion %d, kernels %d/%d\n",
                c->arch.levels, c->arch.blocks, c->arch.filters, c->arch.expansion, c->arch.encoder_kernel,
                c->arch.decoder_kernel);
    int before = 0, after = 0;
    cr_arch_receptive_field(&c->arch, &before, &after);
    cr_text_add(&t, "  %d convolutions, %lld parameters, %.1f multiply-adds per output pixel\n", c->nlayers,
                (long long)cr_arch_param_count(&c->arch), cr_arch_macs_per_pixel(&c->arch));
    cr_text_add(&t, "  receptive field: %d pixels before, %d after, per axis\n", before, after);
    if (c->apix > 0)
        cr_text_add(&t, "  trained on %.4f A/px (max resolution %.2f A), phase flip %s\n", c->apix,
                    c->max_resolution, c->phaseflip == 1 ? "on" : c->phaseflip == 0 ? "off" : "unknown");
    else
        cr_text_add(&t, "  pre-processing not recorded\n");
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0 && H5Aexists(f, "source_file") > 0 && H5Aexists(f, "source_keras_version") > 0) {
        /* written by import-restore (host/io/keras_import.c) */
        hid_t a = H5Aopen(f, "source_file", H5P_DEFAULT), b = H5Aopen(f, "source_keras_version", H5P_DEFAULT);
        cr_text_add(&t, "  converted from ");
        if (a >= 0) cr_text_attr_value(&t, a);
        cr_text_add(&t, " (Keras ");
        if (b >= 0) cr_text_attr_value(&t, b);
        cr_text_add(&t, ")\n");
        if (a >= 0) H5Aclose(a);
        if (b >= 0) H5Aclose(b);
    }
    if (f >= 0) H5Fclose(f);
    if (c->has_optimizer || c->epoch > 0)
        cr_text_add(&t, "  epochs completed %d, optimiser steps %lld, learning rate %g\n", c->epoch,
                    (long long)c->step, c->lr);
    if (c->nhistory > 0) {
        const double *last = c->history + (size_t)(c->nhistory - 1) * CR_HISTORY_COLUMNS;
        cr_text_add(&t, "  last epoch %.0f: train loss %.6g, validation loss %.6g\n", last[0], last[1], last[2]);
    }
    if (c->time_limit > 0)
        cr_text_add(&t, "  training time %.3f s of a %.3f s time limit\n", c->elapsed, c->time_limit);
    cr_checkpoint_free(c);
    if (t.oom) {
        free(t.s);
        return cr_fail(CR_ERR_NOMEM, "%s: out of memory describing it", path);
    }
    *text = t.s;
    return CR_OK;
}

static cr_status describe(const char *path, char **text)
{
    int64_t size = 0;
    cr_status st = cr_file_size(path, &size);
    if (st != CR_OK) return st;
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return cr_fail(CR_ERR_HDF5, "%s: HDF5 cannot open it (truncated or damaged?)", path);
    cr_text t = {0};
    const char *kind = "HDF5 file";
    if (cr_h5_has(file, "even") && cr_h5_has(file, "odd"))
        kind = "clrestore training set (even/odd patch pairs)";
    else if (cr_h5_has(file, "layers"))
        kind = "clrestore checkpoint";
    else if (H5Aexists(file, "model_config") > 0)
        kind = "Keras model ('clrestore import-restore' converts one of UCSF restore)";
    cr_text_add(&t, "%s: %s, %lld bytes\n", path, kind, (long long)size);
    if (strcmp(kind, "clrestore checkpoint") == 0) {
        H5Fclose(file);
        free(t.s);
        return describe_checkpoint(path, size, text);
    }
    cr_text_add(&t, " attributes:\n");
    hsize_t idx = 0;
    H5Aiterate2(file, H5_INDEX_NAME, H5_ITER_INC, &idx, cr_attr_cb, &t);
    cr_text_add(&t, " contents:\n");
    cr_walk w = {&t, file, 0};
    H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, cr_visit_cb, &w, H5O_INFO_BASIC);
    H5Fclose(file);
    if (t.oom) {
        free(t.s);
        return cr_fail(CR_ERR_NOMEM, "%s: out of memory describing it", path);
    }
    *text = t.s;
    return CR_OK;
}

static cr_status describe_probe(const char *path, void *ctx)
{
    char *text = NULL;
    cr_status st = describe(path, &text);
    free(text);
    return st;
}

cr_status cr_h5_describe(const char *path, char **text)
{
    *text = NULL;
    cr_status st = cr_h5_guard(path, NULL, describe_probe, NULL);
    return st == CR_OK ? describe(path, text) : st;
}
