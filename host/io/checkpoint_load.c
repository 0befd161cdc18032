/* Reading checkpoints: every attribute and shape is checked against the
 * architecture before data are read, and each error names the file and the
 * object ("model.h5: /layers/012/v: shape 32x25x3x3, expected 32x25x4x4"). */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/checkpoint.h"
#include "clrestore/fileutil.h"
#include "clrestore/h5util.h"

typedef struct h5r {
    const char *path;
    hid_t file;
} h5r;

static cr_status attr_read(h5r *r, hid_t loc, const char *where, const char *name, hid_t mem_type, void *out,
                           int required)
{
    if (H5Aexists(loc, name) <= 0) {
        if (!required) return CR_OK;
        return cr_fail(CR_ERR_FORMAT, "%s: %s: attribute '%s' is missing", r->path, where, name);
    }
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t sp = a >= 0 ? H5Aget_space(a) : -1;
    int ok = a >= 0 && sp >= 0 && cr_h5_holds_numbers(a) && H5Sget_simple_extent_npoints(sp) == 1 &&
             H5Aread(a, mem_type, out) >= 0;
    if (sp >= 0) H5Sclose(sp);
    if (a >= 0) H5Aclose(a);
    if (!ok) return cr_fail(CR_ERR_FORMAT, "%s: %s: attribute '%s' is not a single number", r->path, where, name);
    return CR_OK;
}

static cr_status attr_int(h5r *r, hid_t loc, const char *where, const char *name, int *out, int required)
{
    long long v = *out;
    cr_status st = attr_read(r, loc, where, name, H5T_NATIVE_LLONG, &v, required);
    if (st == CR_OK) {
        if (v < -1000000000LL || v > 1000000000LL)
            return cr_fail(CR_ERR_FORMAT, "%s: %s: attribute '%s' = %lld is out of range", r->path, where, name, v);
        *out = (int)v;
    }
    return st;
}

/* Reads a string attribute (fixed or variable length, as h5py writes) into out. */
static cr_status attr_string(h5r *r, hid_t loc, const char *where, const char *name, char *out, size_t len)
{
    out[0] = '\0';
    if (H5Aexists(loc, name) <= 0)
        return cr_fail(CR_ERR_FORMAT, "%s: %s: attribute '%s' is missing", r->path, where, name);
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1, sp = a >= 0 ? H5Aget_space(a) : -1;
    int ok = 0;
    /* one string only: H5Aread writes every element into the buffer */
    if (cr_h5_string_type(t) && sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        if (H5Tis_variable_str(t) > 0) {
            char *v = NULL;
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(t));
            if (H5Aread(a, mt, &v) >= 0 && v) {
                snprintf(out, len, "%s", v);
                H5free_memory(v);
                ok = 1;
            }
        } else {
            size_t sz = H5Tget_size(t);
            char *v = calloc(sz + 1, 1);
            /* one byte more than stored: a NUL-terminated type of the same
             * size drops the last byte of a NULLPAD string that fills it
             * (h5py's numpy bytes: np.bytes_("clrestore-checkpoint")) */
            H5Tset_size(mt, sz + 1);
            if (v && H5Aread(a, mt, v) >= 0) {
                snprintf(out, len, "%s", v);
                ok = 1;
            }
            free(v);
        }
        H5Tclose(mt);
    }
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    if (!ok) return cr_fail(CR_ERR_FORMAT, "%s: %s: attribute '%s' is not a string", r->path, where, name);
    return CR_OK;
}

/* Reads dataset loc/name of exactly the given shape as float (converting
 * from float64 or other numeric types); *out is allocated. */
static cr_status data_read(h5r *r, hid_t loc, const char *where, const char *name, int rank, const hsize_t *dims,
                           hid_t mem_type, size_t elem, void **out, const char *role)
{
    *out = NULL;
    char obj[160];
    snprintf(obj, sizeof obj, "%s/%s", where, name);
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return cr_fail(CR_ERR_FORMAT, "%s: %s is missing", r->path, obj);
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0) return cr_fail(CR_ERR_FORMAT, "%s: %s is not a dataset", r->path, obj);
    if (!cr_h5_holds_numbers(d)) {
        H5Dclose(d);
        return cr_fail(CR_ERR_FORMAT, "%s: %s does not hold numbers (%s)", r->path, obj, role);
    }
    hid_t sp = H5Dget_space(d);
    hsize_t got[8] = {0};
    int gr = H5Sget_simple_extent_ndims(sp);
    if (gr >= 0 && gr <= 8) H5Sget_simple_extent_dims(sp, got, NULL);
    H5Sclose(sp);
    int same = gr == rank;
    for (int i = 0; same && i < rank; i++) same = got[i] == dims[i];
    if (!same) {
        char gs[96] = "", es[96] = "";
        for (int i = 0; i < gr && i < 8; i++)
            snprintf(gs + strlen(gs), sizeof gs - strlen(gs), "%s%llu", i ? "x" : "", (unsigned long long)got[i]);
        for (int i = 0; i < rank; i++)
            snprintf(es + strlen(es), sizeof es - strlen(es), "%s%llu", i ? "x" : "", (unsigned long long)dims[i]);
        H5Dclose(d);
        return cr_fail(CR_ERR_FORMAT, "%s: %s: shape %s, expected %s (%s)", r->path, obj, gr ? gs : "scalar", es, role);
    }
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
    void *buf = malloc(n > 0 ? n * elem : 1);
    if (!buf) {
        H5Dclose(d);
        return cr_fail(CR_ERR_NOMEM, "%s: out of memory reading %s", r->path, obj);
    }
    herr_t rc = n ? H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : 0;
    H5Dclose(d);
    if (rc < 0) {
        free(buf);
        return cr_fail(CR_ERR_FORMAT, "%s: %s cannot be read (truncated or corrupt file?)", r->path, obj);
    }
    *out = buf;
    return CR_OK;
}

static cr_status layer_floats(h5r *r, hid_t g, const char *where, const char *name, const cr_conv_spec *s, int full,
                              float **out, const cr_arch *a)
{
    hsize_t dims[4] = {(hsize_t)s->cout, (hsize_t)s->cin, (hsize_t)s->k, (hsize_t)s->k};
    char role[160];
    snprintf(role, sizeof role, "%s in a levels-%d blocks-%d filters-%d expansion-%d network", s->name, a->levels,
             a->blocks, a->filters, a->expansion);
    cr_status st =
        data_read(r, g, where, name, full ? 4 : 1, dims, H5T_NATIVE_FLOAT, sizeof(float), (void **)out, role);
    if (st != CR_OK) return st;
    /* a diverged run saves NaN weights; applied, they would turn every micrograph into NaN */
    size_t n = (size_t)s->cout * (full ? (size_t)s->cin * s->k * s->k : 1);
    for (size_t i = 0; i < n; i++)
        if (!isfinite((*out)[i]))
            return cr_fail(CR_ERR_FORMAT,
                           "%s: %s/%s: NaN or Inf at element %zu (a diverged or corrupt model)", r->path,
                           where, name, i);
    return CR_OK;
}

/* Group <parent>/NNN of layer i: datasets names[0..n) into *dst[j]; the
 * names ending in "v" are (cout, cin, k, k) weights, the others (cout). */
static cr_status read_layer_group(h5r *r, hid_t parent, const char *parent_name, int i, cr_checkpoint *c, int n,
                                  const char *const *names, float ***dst)
{
    char where[48], name[16];
    snprintf(name, sizeof name, "%03d", i);
    snprintf(where, sizeof where, "%s/%03d", parent_name, i);
    if (H5Lexists(parent, name, H5P_DEFAULT) <= 0) return cr_fail(CR_ERR_FORMAT, "%s: %s is missing", r->path, where);
    hid_t g = H5Gopen2(parent, name, H5P_DEFAULT);
    cr_status st = CR_OK;
    for (int j = 0; j < n && st == CR_OK; j++) {
        size_t len = strlen(names[j]);
        free(*dst[j]);
        *dst[j] = NULL;
        st = layer_floats(r, g, where, names[j], &c->layers[i].spec, names[j][len - 1] == 'v', dst[j], &c->arch);
    }
    H5Gclose(g);
    return st;
}

static cr_status read_layers(h5r *r, cr_checkpoint *c)
{
    cr_status st = CR_OK;
    hid_t layers = H5Gopen2(r->file, "layers", H5P_DEFAULT);
    if (layers < 0) return cr_fail(CR_ERR_FORMAT, "%s: group /layers is missing", r->path);
    H5G_info_t info;
    if (H5Gget_info(layers, &info) < 0 || info.nlinks != (hsize_t)c->nlayers) {
        st = cr_fail(CR_ERR_FORMAT, "%s: /layers holds %llu layers, the architecture (levels %d, blocks %d) has %d",
                     r->path, (unsigned long long)info.nlinks, c->arch.levels, c->arch.blocks, c->nlayers);
        goto cleanup;
    }
    static const char *names[3] = {"v", "g", "b"};
    for (int i = 0; i < c->nlayers && st == CR_OK; i++) {
        cr_ckpt_layer *l = &c->layers[i];
        float **dst[3] = {&l->v, &l->g, &l->b};
        st = read_layer_group(r, layers, "/layers", i, c, 3, names, dst);
    }
cleanup:
    H5Gclose(layers);
    return st;
}

static cr_status read_optimizer(h5r *r, cr_checkpoint *c)
{
    if (H5Lexists(r->file, "optimizer", H5P_DEFAULT) <= 0) return CR_OK;
    cr_status st = cr_checkpoint_alloc_optimizer(c);
    if (st != CR_OK) return st;
    hid_t opt = H5Gopen2(r->file, "optimizer", H5P_DEFAULT);
    long long step = 0;
    st = attr_read(r, opt, "/optimizer", "step", H5T_NATIVE_LLONG, &step, 1);
    c->step = step;
    if (st == CR_OK) st = attr_read(r, opt, "/optimizer", "beta1", H5T_NATIVE_DOUBLE, &c->beta1, 0);
    if (st == CR_OK) st = attr_read(r, opt, "/optimizer", "beta2", H5T_NATIVE_DOUBLE, &c->beta2, 0);
    if (st == CR_OK) st = attr_read(r, opt, "/optimizer", "epsilon", H5T_NATIVE_DOUBLE, &c->eps, 0);
    static const char *names[6] = {"m_v", "s_v", "m_g", "s_g", "m_b", "s_b"};
    for (int i = 0; i < c->nlayers && st == CR_OK; i++) {
        cr_ckpt_layer *l = &c->layers[i];
        float **dst[6] = {&l->m_v, &l->s_v, &l->m_g, &l->s_g, &l->m_b, &l->s_b};
        st = read_layer_group(r, opt, "/optimizer", i, c, 6, names, dst);
    }
    H5Gclose(opt);
    return st;
}

static cr_status read_training(h5r *r, cr_checkpoint *c)
{
    if (H5Lexists(r->file, "training", H5P_DEFAULT) <= 0) return CR_OK;
    hid_t tr = H5Gopen2(r->file, "training", H5P_DEFAULT);
    cr_status st = attr_int(r, tr, "/training", "epoch", &c->epoch, 0);
    if (st == CR_OK) st = attr_int(r, tr, "/training", "batch", &c->batch, 0);
    if (st == CR_OK) st = attr_read(r, tr, "/training", "epoch_loss_sum", H5T_NATIVE_DOUBLE, &c->epoch_loss_sum, 0);
    if (st == CR_OK) st = attr_read(r, tr, "/training", "learning_rate", H5T_NATIVE_DOUBLE, &c->lr, 0);
    if (st == CR_OK) st = attr_read(r, tr, "/training", "seed", H5T_NATIVE_UINT64, &c->seed, 0);
    if (st == CR_OK) st = attr_read(r, tr, "/training", "time_limit", H5T_NATIVE_DOUBLE, &c->time_limit, 0);
    if (st == CR_OK) st = attr_read(r, tr, "/training", "elapsed_seconds", H5T_NATIVE_DOUBLE, &c->elapsed, 0);
    if (st == CR_OK && !(c->time_limit >= 0 && c->time_limit < 1e12 && c->elapsed >= 0 && c->elapsed < 1e12))
        st = cr_fail(CR_ERR_FORMAT,
                     "%s: /training: time_limit and elapsed_seconds must be non-negative seconds", r->path);
    if (st == CR_OK && H5Lexists(tr, "rng", H5P_DEFAULT) > 0) {
        hsize_t four = 4;
        uint64_t *rng = NULL;
        st = data_read(r, tr, "/training", "rng", 1, &four, H5T_NATIVE_UINT64, sizeof(uint64_t), (void **)&rng,
                       "random stream state");
        if (st == CR_OK) memcpy(c->rng, rng, sizeof c->rng);
        free(rng);
    }
    if (st == CR_OK && H5Lexists(tr, "history", H5P_DEFAULT) > 0) {
        hid_t d = H5Dopen2(tr, "history", H5P_DEFAULT);
        hid_t sp = H5Dget_space(d);
        hsize_t dims[2] = {0, 0};
        int rank = H5Sget_simple_extent_ndims(sp);
        if (rank == 2) H5Sget_simple_extent_dims(sp, dims, NULL);
        H5Sclose(sp);
        H5Dclose(d);
        if (rank != 2 || dims[1] != CR_HISTORY_COLUMNS || dims[0] > 10000000) {
            st = cr_fail(CR_ERR_FORMAT, "%s: /training/history must be N x %d", r->path, CR_HISTORY_COLUMNS);
        } else {
            hsize_t want[2] = {dims[0], CR_HISTORY_COLUMNS};
            double *h = NULL;
            st = data_read(r, tr, "/training", "history", 2, want, H5T_NATIVE_DOUBLE, sizeof(double), (void **)&h,
                           "training history");
            if (st == CR_OK) {
                free(c->history);
                c->history = h;
                c->nhistory = (int)dims[0];
            }
        }
    }
    H5Gclose(tr);
    return st;
}

static cr_status load(h5r *r, const cr_arch *expect, cr_checkpoint **out)
{
    cr_status st = CR_OK;
    cr_checkpoint *c = NULL;
    char format[64];
    int version = 0;
    cr_arch a = cr_arch_default();
    if (attr_string(r, r->file, "/", "format", format, sizeof format) != CR_OK || strcmp(format, CR_CHECKPOINT_FORMAT))
        return cr_fail(CR_ERR_FORMAT, "%s: not a clrestore checkpoint (root attribute format is not '%s')", r->path,
                       CR_CHECKPOINT_FORMAT);
    CR_TRY(attr_int(r, r->file, "/", "format_version", &version, 1));
    if (version < 1 || version > CR_CHECKPOINT_VERSION) {
        st = cr_fail(CR_ERR_UNSUPPORTED, "%s: checkpoint format version %d; this clrestore reads version %d", r->path,
                     version, CR_CHECKPOINT_VERSION);
        goto cleanup;
    }
    CR_TRY(attr_int(r, r->file, "/", "levels", &a.levels, 1));
    CR_TRY(attr_int(r, r->file, "/", "blocks", &a.blocks, 1));
    CR_TRY(attr_int(r, r->file, "/", "filters", &a.filters, 1));
    CR_TRY(attr_int(r, r->file, "/", "expansion", &a.expansion, 1));
    CR_TRY(attr_int(r, r->file, "/", "encoder_kernel", &a.encoder_kernel, 0));
    CR_TRY(attr_int(r, r->file, "/", "decoder_kernel", &a.decoder_kernel, 0));
    if (cr_arch_check(&a) != CR_OK) {
        st = cr_fail(CR_ERR_FORMAT, "%s: bad architecture: %s", r->path, cr_error_message());
        goto cleanup;
    }
    if (expect && memcmp(expect, &a, sizeof a) != 0) {
        st = cr_fail(CR_ERR_ARG,
                     "%s: architecture levels %d blocks %d filters %d expansion %d kernels %d/%d differs from the one "
                     "asked for (levels %d blocks %d filters %d expansion %d kernels %d/%d)",
                     r->path, a.levels, a.blocks, a.filters, a.expansion, a.encoder_kernel, a.decoder_kernel,
                     expect->levels, expect->blocks, expect->filters, expect->expansion, expect->encoder_kernel,
                     expect->decoder_kernel);
        goto cleanup;
    }
    CR_TRY(cr_checkpoint_create(&a, &c));
    CR_TRY(attr_read(r, r->file, "/", "apix", H5T_NATIVE_DOUBLE, &c->apix, 0));
    CR_TRY(attr_read(r, r->file, "/", "max_resolution", H5T_NATIVE_DOUBLE, &c->max_resolution, 0));
    CR_TRY(attr_int(r, r->file, "/", "phaseflip", &c->phaseflip, 0));
    CR_TRY(read_layers(r, c));
    CR_TRY(read_optimizer(r, c));
    CR_TRY(read_training(r, c));
    *out = c;
    return CR_OK;
cleanup:
    cr_checkpoint_free(c);
    return st;
}

static cr_status load_file(const char *path, const cr_arch *expect, cr_checkpoint **out)
{
    h5r r = {path, H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)};
    if (r.file < 0) return cr_fail(CR_ERR_FORMAT, "%s: HDF5 cannot open it (truncated or damaged?)", path);
    cr_status st = load(&r, expect, out);
    H5Fclose(r.file);
    return st;
}

static cr_status load_probe(const char *path, void *expect)
{
    cr_checkpoint *c = NULL;
    cr_status st = load_file(path, expect, &c);
    cr_checkpoint_free(c);
    return st;
}

cr_status cr_checkpoint_load_expect(const char *path, const cr_arch *expect, cr_checkpoint **out)
{
    *out = NULL;
    cr_status st = cr_h5_guard(path, "a checkpoint", load_probe, (void *)expect);
    return st == CR_OK ? load_file(path, expect, out) : st;
}

cr_status cr_checkpoint_load(const char *path, cr_checkpoint **out)
{
    return cr_checkpoint_load_expect(path, NULL, out);
}
