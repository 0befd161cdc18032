/* Reading restore's Keras HDF5 models (model_config, keras_version,
 * model_weights/<layer>/<weight name>) into a clrestore checkpoint, and
 * saving it with its source recorded. The graph matching is in
 * keras_graph.c; this file is the HDF5 side and the weight layout:
 * TensorFlow kernels are (kh, kw, cin, cout), ours (cout, cin, kh, kw). */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fileutil.h"
#include "clrestore/h5util.h"
#include "clrestore/keras.h"
#include "clrestore/log.h"

/* model_config of the default WA-U-Net is about 200 KB; far above that is not a Keras file of ours */
#define MAX_CONFIG_BYTES (64u << 20)

cr_keras_opts cr_keras_opts_default(void) { return (cr_keras_opts){0.0, 4.5, -1}; }

/* One string attribute (scalar or one element; fixed or variable length,
 * as h5py 2 and 3 write them) into a malloc'd buffer. 0 when absent or not
 * a string. */
static int read_str_attr(hid_t loc, const char *name, char **out)
{
    *out = NULL;
    if (H5Aexists(loc, name) <= 0) return 0;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1, sp = a >= 0 ? H5Aget_space(a) : -1;
    hid_t mt = -1;
    int ok = 0;
    if (t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_STRING && H5Sget_simple_extent_npoints(sp) == 1) {
        mt = H5Tcopy(H5T_C_S1);
        if (H5Tis_variable_str(t) > 0) {
            char *v = NULL;
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(t));
            if (H5Aread(a, mt, &v) >= 0 && v) {
                if (strlen(v) < MAX_CONFIG_BYTES) *out = strdup(v);
                ok = *out != NULL;
                H5free_memory(v);
            }
        } else {
            /* read as stored: a C string type of the same size would be
             * NUL-terminated and lose the last byte of a NULLPAD string
             * that fills its size, as numpy's bytes arrays are */
            size_t sz = H5Tget_size(t);
            char *v = sz > 0 && sz < MAX_CONFIG_BYTES ? calloc(sz + 1, 1) : NULL;
            H5Tclose(mt);
            mt = H5Tcopy(t);
            if (v && mt >= 0 && H5Aread(a, mt, v) >= 0) {
                *out = v;
                ok = 1;
            } else {
                free(v);
            }
        }
    }
    if (mt >= 0) H5Tclose(mt);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return ok;
}

/* A 1-D string array attribute (weight_names) as n malloc'd strings. */
static int read_str_array_attr(hid_t loc, const char *name, char ***out, int *n)
{
    *out = NULL;
    *n = 0;
    if (H5Aexists(loc, name) <= 0) return 0;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1, sp = a >= 0 ? H5Aget_space(a) : -1, mt = -1;
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    int ok = 0;
    char **list = NULL;
    if (t >= 0 && H5Tget_class(t) == H5T_STRING && np > 0 && np <= 64 && (list = calloc((size_t)np, sizeof *list))) {
        mt = H5Tcopy(H5T_C_S1);
        if (H5Tis_variable_str(t) > 0) {
            char *v[64] = {0};
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(t));
            if (H5Aread(a, mt, v) >= 0) {
                ok = 1;
                for (hssize_t i = 0; i < np; i++) {
                    list[i] = strdup(v[i] ? v[i] : "");
                    ok = ok && list[i];
                }
                H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, v);
            }
        } else {
            size_t sz = H5Tget_size(t);
            char *v = sz > 0 && sz < 4096 ? calloc((size_t)np, sz) : NULL;
            H5Tclose(mt);
            mt = H5Tcopy(t); /* as stored: see read_str_attr */
            if (v && mt >= 0 && H5Aread(a, mt, v) >= 0) {
                ok = 1;
                for (hssize_t i = 0; i < np; i++) {
                    list[i] = strndup(v + i * sz, sz);
                    ok = ok && list[i];
                }
            }
            free(v);
        }
    }
    if (mt >= 0) H5Tclose(mt);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    if (!ok && list) {
        for (hssize_t i = 0; i < np; i++) free(list[i]);
        free(list);
        return 0;
    }
    *out = list;
    *n = ok ? (int)np : 0;
    return ok;
}

static void free_list(char **l, int n)
{
    for (int i = 0; i < n; i++) free(l[i]);
    free(l);
}

/* Reads dataset `where` of exactly rank/dims as float. */
static cr_status read_floats(const char *path, hid_t loc, const char *where, int rank, const hsize_t *dims, float *out)
{
    /* H5Lexists on "a/b/c" fails (not 0) when "a/b" is missing: both mean absent */
    if (H5Lexists(loc, where, H5P_DEFAULT) <= 0)
        return cr_fail(CR_ERR_FORMAT, "%s: model_weights/%s is missing", path, where);
    hid_t d = H5Dopen2(loc, where, H5P_DEFAULT);
    if (d < 0) return cr_fail(CR_ERR_FORMAT, "%s: model_weights/%s is not a dataset", path, where);
    cr_status st = CR_OK;
    hid_t sp = H5Dget_space(d);
    hsize_t got[8] = {0};
    int gr = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (gr > 0 && gr <= 8) H5Sget_simple_extent_dims(sp, got, NULL);
    int same = gr == rank;
    for (int i = 0; same && i < rank; i++) same = got[i] == dims[i];
    if (!cr_h5_holds_numbers(d)) {
        st = cr_fail(CR_ERR_FORMAT, "%s: model_weights/%s does not hold numbers", path, where);
    } else if (!same) {
        char gs[96] = "", es[96] = "";
        for (int i = 0; i < gr && i < 8; i++)
            snprintf(gs + strlen(gs), sizeof gs - strlen(gs), "%s%llu", i ? "x" : "", (unsigned long long)got[i]);
        for (int i = 0; i < rank; i++)
            snprintf(es + strlen(es), sizeof es - strlen(es), "%s%llu", i ? "x" : "", (unsigned long long)dims[i]);
        st = cr_fail(CR_ERR_FORMAT, "%s: model_weights/%s: shape %s, expected %s", path, where, gr > 0 ? gs : "scalar", es);
    } else if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
        st = cr_fail(CR_ERR_FORMAT, "%s: model_weights/%s cannot be read", path, where);
    }
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(d);
    return st;
}

/* The dataset path of a layer's kernel or bias: from the layer group's
 * weight_names attribute ("conv2d_1/kernel:0"), else Keras's usual
 * <layer>/<layer>/<role>:0. */
static void weight_path(hid_t mw, const char *layer, const char *role, char *out, size_t len)
{
    snprintf(out, len, "%s/%s/%s:0", layer, layer, role);
    hid_t g = H5Lexists(mw, layer, H5P_DEFAULT) > 0 ? H5Gopen2(mw, layer, H5P_DEFAULT) : -1;
    if (g < 0) return;
    char **names = NULL;
    int n = 0;
    if (read_str_array_attr(g, "weight_names", &names, &n)) {
        for (int i = 0; i < n; i++) {
            const char *base = strrchr(names[i], '/');
            base = base ? base + 1 : names[i];
            if (strncmp(base, role, strlen(role)) == 0 && (base[strlen(role)] == ':' || !base[strlen(role)]))
                snprintf(out, len, "%s/%s", layer, names[i]);
        }
        free_list(names, n);
    }
    H5Gclose(g);
}

static float *alloc_floats(size_t n) { return malloc((n ? n : 1) * sizeof(float)); }

/* One convolution: Keras kernel (k, k, cin, cout) -> v (cout, cin, k, k),
 * g = ‖W‖ per output channel, b. The merge convolution whose Concatenate
 * put the skip first has its input channels rotated by half, so that ours
 * see the decoder's f channels first (REFERENCE.md: concat(x, skip)). */
static cr_status read_conv(const char *path, hid_t mw, const cr_keras_conv *kc, cr_ckpt_layer *L)
{
    const cr_conv_spec *s = &L->spec;
    int k = s->k, ci = s->cin, co = s->cout;
    char where[1024];
    cr_status st = CR_OK;
    size_t n = (size_t)k * k * ci * co;
    float *w = alloc_floats(n);
    if (!w) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", path);
    hsize_t kd[4] = {(hsize_t)k, (hsize_t)k, (hsize_t)ci, (hsize_t)co}, bd[1] = {(hsize_t)co};
    weight_path(mw, kc->layer, "kernel", where, sizeof where);
    CR_TRY(read_floats(path, mw, where, 4, kd, w));
    for (int o = 0; o < co; o++) {
        double ss = 0;
        for (int i = 0; i < ci; i++) {
            int src = kc->concat_swapped ? (i + ci / 2) % ci : i;
            for (int y = 0; y < k; y++)
                for (int x = 0; x < k; x++) {
                    float v = w[(((size_t)y * k + x) * ci + src) * co + o];
                    if (!isfinite(v)) {
                        st = cr_fail(CR_ERR_FORMAT, "%s: model_weights/%s: the kernel holds NaN or Inf", path, where);
                        goto cleanup;
                    }
                    L->v[(((size_t)o * ci + i) * k + y) * k + x] = v;
                    ss += (double)v * v;
                }
        }
        L->g[o] = (float)sqrt(ss);
    }
    if (kc->use_bias) {
        weight_path(mw, kc->layer, "bias", where, sizeof where);
        CR_TRY(read_floats(path, mw, where, 1, bd, L->b));
        for (int o = 0; o < co; o++)
            if (!isfinite(L->b[o])) {
                st = cr_fail(CR_ERR_FORMAT, "%s: model_weights/%s: the bias holds NaN or Inf", path, where);
                goto cleanup;
            }
    } else {
        memset(L->b, 0, (size_t)co * sizeof *L->b);
    }
cleanup:
    free(w);
    return st;
}

static cr_status import_open(const char *path, hid_t f, const cr_keras_opts *o, cr_checkpoint **out,
                             cr_keras_source *src)
{
    cr_status st = CR_OK;
    char *text = NULL, *ver = NULL, *backend = NULL;
    cr_json *mc = NULL;
    cr_keras_conv *convs = NULL;
    int nconvs = 0;
    cr_checkpoint *c = NULL;
    hid_t mw = -1;
    char what[1200];
    if (!read_str_attr(f, "model_config", &text)) {
        if (H5Aexists(f, "format") > 0)
            st = cr_fail(CR_ERR_FORMAT, "%s: no model_config attribute: a clrestore checkpoint, not a Keras model", path);
        else if (H5Aexists(f, "layer_names") > 0)
            st = cr_fail(CR_ERR_FORMAT, "%s: no model_config attribute: Keras weights only (save_weights), without "
                         "the layer graph; restore's training saves whole models", path);
        else
            st = cr_fail(CR_ERR_FORMAT, "%s: no model_config attribute: not a saved Keras model", path);
        goto cleanup;
    }
    snprintf(what, sizeof what, "%s: model_config", path);
    CR_TRY(cr_json_parse(text, strlen(text), what, &mc));
    cr_arch arch;
    CR_TRY(cr_keras_match(mc, path, &arch, &convs, &nconvs));
    if (H5Lexists(f, "model_weights", H5P_DEFAULT) <= 0 || (mw = H5Gopen2(f, "model_weights", H5P_DEFAULT)) < 0) {
        st = cr_fail(CR_ERR_FORMAT, "%s: no model_weights group (the model was saved without its weights?)", path);
        goto cleanup;
    }
    CR_TRY(cr_checkpoint_create(&arch, &c));
    for (int i = 0; i < nconvs; i++) CR_TRY(read_conv(path, mw, &convs[i], &c->layers[i]));
    c->apix = o ? o->apix : 0;
    c->max_resolution = o ? o->max_resolution : 4.5;
    c->phaseflip = o ? o->phaseflip : -1;
    if (src) {
        memset(src, 0, sizeof *src);
        const char *base = strrchr(path, '/');
        snprintf(src->file, sizeof src->file, "%s", base ? base + 1 : path);
        if (read_str_attr(f, "keras_version", &ver)) snprintf(src->keras_version, sizeof src->keras_version, "%s", ver);
        if (read_str_attr(f, "backend", &backend)) snprintf(src->backend, sizeof src->backend, "%s", backend);
    }
    *out = c;
    c = NULL;
cleanup:
    if (mw >= 0) H5Gclose(mw);
    cr_checkpoint_free(c);
    free(convs);
    cr_json_free(mc);
    free(text);
    free(ver);
    free(backend);
    return st;
}

typedef struct import_ctx {
    const cr_keras_opts *o;
} import_ctx;

static cr_status import_file(const char *path, const cr_keras_opts *o, cr_checkpoint **out, cr_keras_source *src)
{
    cr_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return cr_fail(CR_ERR_FORMAT, "%s: HDF5 cannot open it (truncated or damaged?)", path);
    cr_status st = import_open(path, f, o, out, src);
    H5Fclose(f);
    return st;
}

static cr_status import_probe(const char *path, void *ctx)
{
    cr_checkpoint *c = NULL;
    cr_keras_source s;
    cr_status st = import_file(path, ((import_ctx *)ctx)->o, &c, &s);
    cr_checkpoint_free(c);
    return st;
}

cr_status cr_keras_import(const char *path, const cr_keras_opts *o, cr_checkpoint **out, cr_keras_source *src)
{
    *out = NULL;
    import_ctx ctx = {o};
    cr_status st = cr_h5_guard(path, "a Keras model", import_probe, &ctx);
    return st == CR_OK ? import_file(path, o, out, src) : st;
}

static cr_status has_config(const char *path, int *yes)
{
    *yes = 0;
    cr_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return CR_OK;
    *yes = H5Aexists(f, "model_config") > 0;
    H5Fclose(f);
    return CR_OK;
}

static cr_status has_config_probe(const char *path, void *ctx)
{
    int yes;
    (void)ctx;
    return has_config(path, &yes);
}

int cr_keras_is_model(const char *path)
{
    int yes = 0;
    if (!cr_h5_is_hdf5(path)) return 0;
    /* opening a damaged file can crash libhdf5: look in a guarded child first */
    if (cr_h5_guard(path, NULL, has_config_probe, NULL) != CR_OK) {
        cr_error_clear();
        return 0;
    }
    has_config(path, &yes);
    return yes;
}

static int put_str(hid_t loc, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = t >= 0 && sp >= 0 && H5Tset_size(t, strlen(s) + 1) >= 0 &&
             (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 && H5Awrite(a, t, s) >= 0;
    if (a >= 0) ok = H5Aclose(a) >= 0 && ok;
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return ok;
}

cr_status cr_keras_save(const cr_checkpoint *c, const cr_keras_source *src, const char *path)
{
    char tmp[4200];
    cr_tmp_begin(tmp, sizeof tmp, path);
    /* the checkpoint goes to the temporary name (itself written atomically),
     * gets the source attributes, and only then its final name */
    cr_status st = cr_checkpoint_save(c, tmp);
    if (st != CR_OK) {
        /* the error names the temporary file; the user knows the target */
        char msg[1024];
        const char *m = cr_error_message();
        size_t n = strlen(tmp);
        snprintf(msg, sizeof msg, "%s", strncmp(m, tmp, n) == 0 && m[n] == ':' ? m + n + 2 : m);
        cr_error_clear();
        return cr_fail(st, "%s: %s", path, msg);
    }
    cr_h5_quiet();
    hid_t f = H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT);
    int ok = f >= 0 && put_str(f, "source_file", src ? src->file : "") && put_str(f, "source_format", "keras-hdf5") &&
             put_str(f, "source_keras_version", src ? src->keras_version : "") &&
             put_str(f, "source_backend", src ? src->backend : "");
    if (f >= 0) ok = H5Fclose(f) >= 0 && ok;
    if (!ok) {
        char why[256];
        cr_h5_sys_error(why, sizeof why);
        remove(tmp);
        return cr_fail(CR_ERR_IO, "%s: cannot write the source attributes%s%s", path, why[0] ? ": " : "", why);
    }
    st = cr_commit_path(tmp, path);
    if (st != CR_OK) remove(tmp);
    return st;
}

cr_status cr_model_load(const char *path, const cr_keras_opts *o, cr_checkpoint **out)
{
    if (cr_keras_is_model(path)) {
        cr_keras_opts d = cr_keras_opts_default();
        cr_status st = cr_keras_import(path, o ? o : &d, out, NULL);
        if (st == CR_OK)
            cr_info("%s: a Keras model (UCSF restore), converted in memory; it does not record its pre-processing: "
                    "max resolution %g A unless --max-resolution, phase flip unless --no-phaseflip",
                    path, (*out)->max_resolution);
        return st;
    }
    return cr_checkpoint_load(path, out);
}
