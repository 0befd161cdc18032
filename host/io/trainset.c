/* HDF5 training sets: a streaming writer and a random-access reader. */
#include "clrestore/trainset.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fileutil.h"
#include "clrestore/h5util.h"

struct cr_trainset_writer {
    char path[4096], tmp[4200];
    cr_trainset_meta meta;
    hid_t file, even, odd, mic, origin;
    int64_t n;
    int nmics, cap_mics;
    char **mics;
    uint8_t *validation;
    int finished;
    char why[256]; /* the system's reason for a failed write, when HDF5 recorded one */
};

static hid_t create_extendible(hid_t file, const char *name, hid_t type, int rank, const hsize_t *chunk)
{
    hsize_t dims[3] = {0, rank > 1 ? chunk[1] : 0, rank > 2 ? chunk[2] : 0};
    hsize_t maxd[3] = {H5S_UNLIMITED, dims[1], dims[2]};
    hid_t sp = H5Screate_simple(rank, dims, maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, rank, chunk);
    H5Pset_obj_track_times(dcpl, 0);
    hid_t d = H5Dcreate2(file, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return d;
}

void cr_trainset_writer_free(cr_trainset_writer *w)
{
    if (!w) return;
    if (w->even >= 0) H5Dclose(w->even);
    if (w->odd >= 0) H5Dclose(w->odd);
    if (w->mic >= 0) H5Dclose(w->mic);
    if (w->origin >= 0) H5Dclose(w->origin);
    if (w->file >= 0) H5Fclose(w->file);
    if (!w->finished && w->tmp[0]) remove(w->tmp);
    for (int i = 0; i < w->nmics; i++) free(w->mics[i]);
    free(w->mics);
    free(w->validation);
    free(w);
}

cr_status cr_trainset_create(const char *path, const cr_trainset_meta *meta, cr_trainset_writer **out)
{
    cr_h5_quiet();
    *out = NULL;
    if (meta->patch < 8 || meta->patch > 8192)
        return cr_fail(CR_ERR_ARG, "%s: patch size %d must be 8..8192", path, meta->patch);
    cr_trainset_writer *w = calloc(1, sizeof *w);
    if (!w) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", path);
    w->file = w->even = w->odd = w->mic = w->origin = -1;
    w->meta = *meta;
    snprintf(w->path, sizeof w->path, "%s", path);
    cr_tmp_begin(w->tmp, sizeof w->tmp, path);
    w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (w->file < 0) {
        w->tmp[0] = '\0';
        cr_trainset_writer_free(w);
        return cr_fail(CR_ERR_IO, "%s: cannot create (directory missing or not writable?)", path);
    }
    hsize_t chunk3[3] = {1, (hsize_t)meta->patch, (hsize_t)meta->patch};
    hsize_t chunk_mic[1] = {4096}, chunk_org[2] = {4096, 2};
    w->even = create_extendible(w->file, "even", H5T_IEEE_F32LE, 3, chunk3);
    w->odd = create_extendible(w->file, "odd", H5T_IEEE_F32LE, 3, chunk3);
    w->mic = create_extendible(w->file, "micrograph", H5T_STD_I32LE, 1, chunk_mic);
    w->origin = create_extendible(w->file, "origin", H5T_STD_I32LE, 2, chunk_org);
    if (w->even < 0 || w->odd < 0 || w->mic < 0 || w->origin < 0) {
        cr_trainset_writer_free(w);
        return cr_fail(CR_ERR_HDF5, "%s: cannot create the patch datasets", path);
    }
    *out = w;
    return CR_OK;
}

cr_status cr_trainset_add_micrograph(cr_trainset_writer *w, const char *name, int validation, int *index)
{
    if (w->nmics == w->cap_mics) {
        int cap = w->cap_mics ? 2 * w->cap_mics : 64;
        char **m = realloc(w->mics, (size_t)cap * sizeof *m);
        if (m) w->mics = m;
        uint8_t *v = realloc(w->validation, (size_t)cap);
        if (v) w->validation = v;
        if (!m || !v) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", w->path);
        w->cap_mics = cap;
    }
    if (!(w->mics[w->nmics] = strdup(name))) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", w->path);
    w->validation[w->nmics] = validation ? 1 : 0;
    *index = w->nmics++;
    return CR_OK;
}

static int append_rows(cr_trainset_writer *w, hid_t d, int rank, int64_t at, int n, hid_t mem_type,
                       const void *data)
{
    hsize_t dims[3] = {0, 0, 0}, cur[3] = {0, 0, 0};
    hid_t sp = H5Dget_space(d);
    H5Sget_simple_extent_dims(sp, cur, NULL);
    H5Sclose(sp);
    memcpy(dims, cur, sizeof dims);
    dims[0] = (hsize_t)(at + n);
    if (H5Dset_extent(d, dims) < 0) {
        cr_h5_sys_error(w->why, sizeof w->why);
        return -1;
    }
    hid_t fs = H5Dget_space(d);
    hsize_t start[3] = {(hsize_t)at, 0, 0}, count[3] = {(hsize_t)n, cur[1], rank > 2 ? cur[2] : 0};
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t ms = H5Screate_simple(rank, count, NULL);
    herr_t rc = H5Dwrite(d, mem_type, ms, fs, H5P_DEFAULT, data);
    if (rc < 0) cr_h5_sys_error(w->why, sizeof w->why);
    H5Sclose(ms);
    H5Sclose(fs);
    return rc < 0 ? -1 : 0;
}

cr_status cr_trainset_append(cr_trainset_writer *w, int micrograph, int n, const float *even, const float *odd,
                             const int32_t *origins)
{
    if (n <= 0) return CR_OK;
    if (micrograph < 0 || micrograph >= w->nmics)
        return cr_fail(CR_ERR_INTERNAL, "%s: patches for unregistered micrograph %d", w->path, micrograph);
    int32_t *mic = malloc((size_t)n * sizeof *mic);
    if (!mic) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", w->path);
    for (int i = 0; i < n; i++) mic[i] = micrograph;
    int bad = append_rows(w, w->even, 3, w->n, n, H5T_NATIVE_FLOAT, even) ||
              append_rows(w, w->odd, 3, w->n, n, H5T_NATIVE_FLOAT, odd) ||
              append_rows(w, w->mic, 1, w->n, n, H5T_NATIVE_INT32, mic) ||
              append_rows(w, w->origin, 2, w->n, n, H5T_NATIVE_INT32, origins);
    free(mic);
    if (bad && w->why[0]) return cr_fail(CR_ERR_IO, "%s: writing patches failed: %s", w->path, w->why);
    if (bad) return cr_fail(CR_ERR_HDF5, "%s: writing patches failed (disk full?)", w->path);
    w->n += n;
    return CR_OK;
}

cr_status cr_trainset_set_meta(cr_trainset_writer *w, const cr_trainset_meta *meta)
{
    if (meta->patch != w->meta.patch)
        return cr_fail(CR_ERR_INTERNAL, "%s: patch size changed from %d to %d", w->path, w->meta.patch, meta->patch);
    w->meta = *meta;
    return CR_OK;
}

int64_t cr_trainset_writer_count(const cr_trainset_writer *w) { return w->n; }

static void attr_num(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int n, const void *v, int *bad)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t sp = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
    hid_t a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mtype, v) < 0) *bad = 1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
}

cr_status cr_trainset_finish(cr_trainset_writer *w)
{
    int bad = 0;
    const cr_trainset_meta *m = &w->meta;
    attr_num(w->file, "apix", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &m->apix, &bad);
    attr_num(w->file, "source_apix", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &m->source_apix, &bad);
    attr_num(w->file, "max_resolution", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &m->max_resolution, &bad);
    attr_num(w->file, "source_shape", H5T_STD_I32LE, H5T_NATIVE_INT, 2, m->source_shape, &bad);
    attr_num(w->file, "binned_shape", H5T_STD_I32LE, H5T_NATIVE_INT, 2, m->binned_shape, &bad);
    attr_num(w->file, "phaseflip", H5T_STD_I32LE, H5T_NATIVE_INT, 1, &m->phaseflip, &bad);
    attr_num(w->file, "patch", H5T_STD_I32LE, H5T_NATIVE_INT, 1, &m->patch, &bad);
    /* /micrographs: variable-length strings, as h5py reads them back as str */
    hsize_t nm = (hsize_t)w->nmics;
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    H5Tset_cset(st, H5T_CSET_UTF8);
    hid_t sp = H5Screate_simple(1, &nm, NULL);
    hid_t d = H5Dcreate2(w->file, "micrographs", st, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0 || (nm && H5Dwrite(d, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->mics) < 0)) bad = 1;
    if (d >= 0) H5Dclose(d);
    d = H5Dcreate2(w->file, "validation", H5T_STD_U8LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0 || (nm && H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->validation) < 0)) bad = 1;
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp);
    H5Tclose(st);
    H5Dclose(w->even), H5Dclose(w->odd), H5Dclose(w->mic), H5Dclose(w->origin);
    w->even = w->odd = w->mic = w->origin = -1;
    if (H5Fclose(w->file) < 0) {
        cr_h5_sys_error(w->why, sizeof w->why);
        bad = 1;
    }
    w->file = -1;
    if (bad && w->why[0]) return cr_fail(CR_ERR_IO, "%s: writing the training set failed: %s", w->path, w->why);
    if (bad) return cr_fail(CR_ERR_HDF5, "%s: writing the training set failed (disk full?)", w->path);
    cr_status s = cr_commit_path(w->tmp, w->path);
    if (s == CR_OK) w->finished = 1;
    return s;
}
