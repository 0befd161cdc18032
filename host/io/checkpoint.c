/* HDF5 checkpoints (docs/checkpoint.md). Writes are deterministic (object
 * timestamps off) and atomic; reads check every shape before allocating. */
#include "clrestore/checkpoint.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fileutil.h"
#include "clrestore/h5util.h"

static int64_t weight_count(const cr_conv_spec *s) { return (int64_t)s->cout * s->cin * s->k * s->k; }

void cr_checkpoint_free(cr_checkpoint *c)
{
    if (!c) return;
    for (int i = 0; c->layers && i < c->nlayers; i++) {
        cr_ckpt_layer *l = &c->layers[i];
        free(l->v), free(l->g), free(l->b);
        free(l->m_v), free(l->s_v), free(l->m_g), free(l->s_g), free(l->m_b), free(l->s_b);
    }
    free(c->layers);
    free(c->history);
    free(c);
}

cr_status cr_checkpoint_create(const cr_arch *a, cr_checkpoint **out)
{
    *out = NULL;
    cr_conv_spec *specs = NULL;
    int n = 0;
    cr_status st = cr_arch_convs(a, &specs, &n);
    if (st != CR_OK) return st;
    cr_checkpoint *c = calloc(1, sizeof *c);
    if (!c || !(c->layers = calloc((size_t)n, sizeof *c->layers))) {
        free(c);
        free(specs);
        return cr_fail(CR_ERR_NOMEM, "out of memory creating a checkpoint");
    }
    c->arch = *a;
    c->nlayers = n;
    c->phaseflip = -1;
    c->beta1 = 0.9, c->beta2 = 0.99, c->eps = 1e-8;
    for (int i = 0; i < n; i++) {
        cr_ckpt_layer *l = &c->layers[i];
        l->spec = specs[i];
        l->v = calloc((size_t)weight_count(&specs[i]), sizeof(float));
        l->g = calloc((size_t)specs[i].cout, sizeof(float));
        l->b = calloc((size_t)specs[i].cout, sizeof(float));
        if (!l->v || !l->g || !l->b) {
            free(specs);
            cr_checkpoint_free(c);
            return cr_fail(CR_ERR_NOMEM, "out of memory creating a checkpoint");
        }
    }
    free(specs);
    *out = c;
    return CR_OK;
}

cr_status cr_checkpoint_alloc_optimizer(cr_checkpoint *c)
{
    for (int i = 0; i < c->nlayers; i++) {
        cr_ckpt_layer *l = &c->layers[i];
        size_t nw = (size_t)weight_count(&l->spec), nc = (size_t)l->spec.cout;
        if (!l->m_v) l->m_v = calloc(nw, sizeof(float));
        if (!l->s_v) l->s_v = calloc(nw, sizeof(float));
        if (!l->m_g) l->m_g = calloc(nc, sizeof(float));
        if (!l->s_g) l->s_g = calloc(nc, sizeof(float));
        if (!l->m_b) l->m_b = calloc(nc, sizeof(float));
        if (!l->s_b) l->s_b = calloc(nc, sizeof(float));
        if (!l->m_v || !l->s_v || !l->m_g || !l->s_g || !l->m_b || !l->s_b)
            return cr_fail(CR_ERR_NOMEM, "out of memory for optimiser state");
    }
    c->has_optimizer = 1;
    return CR_OK;
}

cr_status cr_checkpoint_add_history(cr_checkpoint *c, const double *row)
{
    double *h = realloc(c->history, (size_t)(c->nhistory + 1) * CR_HISTORY_COLUMNS * sizeof(double));
    if (!h) return cr_fail(CR_ERR_NOMEM, "out of memory for the training history");
    memcpy(h + (size_t)c->nhistory * CR_HISTORY_COLUMNS, row, CR_HISTORY_COLUMNS * sizeof(double));
    c->history = h;
    c->nhistory++;
    return CR_OK;
}

/* ---- writing ---------------------------------------------------------- */

typedef struct h5w {
    hid_t file, ocpl_group, ocpl_data;
    int failed;
} h5w;

static void attr_write(h5w *w, hid_t loc, const char *name, hid_t file_type, hid_t mem_type, const void *v)
{
    if (w->failed) return;
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mem_type, v) < 0) w->failed = 1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
}

static void attr_int(h5w *w, hid_t loc, const char *name, long long v)
{
    attr_write(w, loc, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, &v);
}

static void attr_double(h5w *w, hid_t loc, const char *name, double v)
{
    attr_write(w, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

static void attr_string(h5w *w, hid_t loc, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(s) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    attr_write(w, loc, name, t, t, s);
    H5Tclose(t);
}

static hid_t group_create(h5w *w, hid_t loc, const char *name)
{
    if (w->failed) return -1;
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, w->ocpl_group, H5P_DEFAULT);
    if (g < 0) w->failed = 1;
    return g;
}

static void data_write(h5w *w, hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
                       const hsize_t *dims, const void *v)
{
    if (w->failed) return;
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(loc, name, file_type, sp, H5P_DEFAULT, w->ocpl_data, H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) w->failed = 1;
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp);
}

static void floats_write(h5w *w, hid_t loc, const char *name, const cr_conv_spec *s, int full, const float *v)
{
    hsize_t dims[4] = {(hsize_t)s->cout, (hsize_t)s->cin, (hsize_t)s->k, (hsize_t)s->k};
    data_write(w, loc, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, full ? 4 : 1, dims, v);
}

static void write_all(h5w *w, const cr_checkpoint *c)
{
    hid_t root = w->file;
    attr_string(w, root, "format", CR_CHECKPOINT_FORMAT);
    attr_int(w, root, "format_version", CR_CHECKPOINT_VERSION);
    attr_int(w, root, "levels", c->arch.levels);
    attr_int(w, root, "blocks", c->arch.blocks);
    attr_int(w, root, "filters", c->arch.filters);
    attr_int(w, root, "expansion", c->arch.expansion);
    attr_int(w, root, "encoder_kernel", c->arch.encoder_kernel);
    attr_int(w, root, "decoder_kernel", c->arch.decoder_kernel);
    attr_double(w, root, "apix", c->apix);
    attr_double(w, root, "max_resolution", c->max_resolution);
    attr_int(w, root, "phaseflip", c->phaseflip);

    hid_t layers = group_create(w, root, "layers");
    for (int i = 0; i < c->nlayers && !w->failed; i++) {
        const cr_ckpt_layer *l = &c->layers[i];
        char name[16];
        snprintf(name, sizeof name, "%03d", i);
        hid_t g = group_create(w, layers, name);
        attr_string(w, g, "name", l->spec.name);
        attr_int(w, g, "kernel", l->spec.k);
        attr_int(w, g, "stride", l->spec.stride);
        floats_write(w, g, "v", &l->spec, 1, l->v);
        floats_write(w, g, "g", &l->spec, 0, l->g);
        floats_write(w, g, "b", &l->spec, 0, l->b);
        if (g >= 0) H5Gclose(g);
    }
    if (layers >= 0) H5Gclose(layers);

    if (c->has_optimizer) {
        hid_t opt = group_create(w, root, "optimizer");
        attr_string(w, opt, "name", "adam");
        attr_int(w, opt, "step", c->step);
        attr_double(w, opt, "beta1", c->beta1);
        attr_double(w, opt, "beta2", c->beta2);
        attr_double(w, opt, "epsilon", c->eps);
        for (int i = 0; i < c->nlayers && !w->failed; i++) {
            const cr_ckpt_layer *l = &c->layers[i];
            char name[16];
            snprintf(name, sizeof name, "%03d", i);
            hid_t g = group_create(w, opt, name);
            floats_write(w, g, "m_v", &l->spec, 1, l->m_v);
            floats_write(w, g, "s_v", &l->spec, 1, l->s_v);
            floats_write(w, g, "m_g", &l->spec, 0, l->m_g);
            floats_write(w, g, "s_g", &l->spec, 0, l->s_g);
            floats_write(w, g, "m_b", &l->spec, 0, l->m_b);
            floats_write(w, g, "s_b", &l->spec, 0, l->s_b);
            if (g >= 0) H5Gclose(g);
        }
        if (opt >= 0) H5Gclose(opt);
    }

    hid_t tr = group_create(w, root, "training");
    attr_int(w, tr, "epoch", c->epoch);
    attr_int(w, tr, "batch", c->batch);
    attr_double(w, tr, "epoch_loss_sum", c->epoch_loss_sum);
    attr_double(w, tr, "learning_rate", c->lr);
    attr_write(w, tr, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &c->seed);
    hsize_t four = 4;
    data_write(w, tr, "rng", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, &four, c->rng);
    hsize_t hd[2] = {(hsize_t)c->nhistory, CR_HISTORY_COLUMNS};
    static const double empty[CR_HISTORY_COLUMNS] = {0};
    data_write(w, tr, "history", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, hd, c->nhistory ? c->history : empty);
    attr_string(w, tr, "history_columns", "epoch,train_loss,validation_loss,learning_rate");
    if (c->time_limit > 0) {
        attr_double(w, tr, "time_limit", c->time_limit);
        attr_double(w, tr, "elapsed_seconds", c->elapsed);
    }
    if (tr >= 0) H5Gclose(tr);
}

/* The checkpoint is built in memory (HDF5's core driver, no backing file)
 * and written out by us: a write error (disk full, file-size limit) is then
 * a plain write error on our own file, never a file HDF5 failed to close
 * (which it keeps open and trips over again when the library shuts down at
 * exit). */
cr_status cr_checkpoint_save(const cr_checkpoint *c, const char *path)
{
    cr_h5_quiet();
    h5w w = {-1, -1, -1, 0};
    unsigned char *image = NULL;
    ssize_t size = -1;
    /* No object timestamps anywhere (the root group takes the file creation
     * list's setting), so identical content gives identical bytes. */
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, (size_t)1 << 20, 0);
    w.ocpl_group = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(w.ocpl_group, 0);
    w.ocpl_data = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(w.ocpl_data, 0);
    w.file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    if (w.file < 0) {
        w.failed = 1;
    } else {
        write_all(&w, c);
        /* flushed first, or the image's superblock lacks the final end of file */
        if (!w.failed && H5Fflush(w.file, H5F_SCOPE_GLOBAL) < 0) w.failed = 1;
        if (!w.failed) size = H5Fget_file_image(w.file, NULL, 0);
        if (size > 0 && (image = malloc((size_t)size)) != NULL &&
            H5Fget_file_image(w.file, image, (size_t)size) != size)
            size = -1;
        if (H5Fclose(w.file) < 0) w.failed = 1;
    }
    H5Pclose(fcpl);
    H5Pclose(fapl);
    H5Pclose(w.ocpl_group);
    H5Pclose(w.ocpl_data);
    cr_status st = CR_OK;
    if (w.failed || size <= 0 || !image) {
        st = size > 0 && !image ? cr_fail(CR_ERR_NOMEM, "%s: out of memory for a %lld-byte checkpoint", path, (long long)size)
                                : cr_fail(CR_ERR_HDF5, "%s: HDF5 could not build the checkpoint", path);
        free(image);
        return st;
    }
    cr_atomic_file f;
    st = cr_atomic_open(&f, path);
    if (st == CR_OK) {
        if (fwrite(image, 1, (size_t)size, f.fp) != (size_t)size) {
            st = cr_fail(CR_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        } else {
            st = cr_atomic_commit(&f);
        }
        cr_atomic_abort(&f);
    }
    free(image);
    return st;
}
