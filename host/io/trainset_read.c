/* Reading training sets: ours (N×P×P with index datasets) and the
 * reference's (N×P×P×1, attributes apix and phaseflip only). */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fileutil.h"
#include "clrestore/h5util.h"
#include "clrestore/trainset.h"

void cr_trainset_close(cr_trainset *t)
{
    if (!t) return;
    if (t->h5even > 0) H5Dclose((hid_t)t->h5even);
    if (t->h5odd > 0) H5Dclose((hid_t)t->h5odd);
    if (t->h5file > 0) H5Fclose((hid_t)t->h5file);
    for (int i = 0; i < t->nmicrographs; i++) free(t->micrographs[i]);
    free(t->micrographs);
    free(t->micrograph);
    free(t->origin);
    free(t->validation);
    free(t->path);
    free(t);
}

static void attr_opt(hid_t f, const char *name, hid_t mtype, int n, void *out)
{
    if (H5Aexists(f, name) <= 0) return;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    hid_t sp = H5Aget_space(a);
    if (cr_h5_holds_numbers(a) && H5Sget_simple_extent_npoints(sp) == n) H5Aread(a, mtype, out);
    H5Sclose(sp);
    H5Aclose(a);
}

/* Shape of dataset d: rank and dims (at most 4). */
static int shape_of(hid_t d, hsize_t *dims)
{
    hid_t sp = H5Dget_space(d);
    int r = H5Sget_simple_extent_ndims(sp);
    if (r >= 1 && r <= 4) H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    return r;
}

/* Reads an optional int32 dataset of exactly n0 x n1 values (n1 = 1 for 1-D). */
static cr_status read_index(cr_trainset *t, hid_t f, const char *name, int64_t n0, int n1, int32_t **out)
{
    *out = NULL;
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) return CR_OK;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hsize_t dims[4] = {0};
    int r = cr_h5_holds_numbers(d) ? shape_of(d, dims) : -1;
    if (r != (n1 == 1 ? 1 : 2) || (int64_t)dims[0] != n0 || (n1 > 1 && dims[1] != (hsize_t)n1)) {
        H5Dclose(d);
        return cr_fail(CR_ERR_FORMAT, "%s: /%s has the wrong shape for %lld patches", t->path, name, (long long)n0);
    }
    *out = malloc((size_t)n0 * (size_t)n1 * sizeof(int32_t) + 1);
    herr_t rc = *out ? H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) : -1;
    H5Dclose(d);
    if (rc < 0) return cr_fail(CR_ERR_FORMAT, "%s: /%s cannot be read", t->path, name);
    return CR_OK;
}

static cr_status read_names(cr_trainset *t, hid_t f)
{
    if (H5Lexists(f, "micrographs", H5P_DEFAULT) <= 0) return CR_OK;
    hid_t d = H5Dopen2(f, "micrographs", H5P_DEFAULT);
    hsize_t dims[4] = {0};
    hid_t ft = H5Dget_type(d);
    if (shape_of(d, dims) != 1 || H5Tget_class(ft) != H5T_STRING || dims[0] > 100000000) {
        H5Tclose(ft), H5Dclose(d);
        return cr_fail(CR_ERR_FORMAT, "%s: /micrographs is not a list of names", t->path);
    }
    int n = (int)dims[0];
    t->micrographs = calloc((size_t)n + 1, sizeof(char *));
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5Tget_cset(ft));
    char **tmp = calloc((size_t)n + 1, sizeof(char *));
    int ok = t->micrographs && tmp && H5Tis_variable_str(ft) > 0 &&
             (n == 0 || H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) >= 0);
    for (int i = 0; ok && i < n; i++) {
        t->micrographs[i] = strdup(tmp[i] ? tmp[i] : "");
        if (!t->micrographs[i]) ok = 0;
        else t->nmicrographs = i + 1;
    }
    if (tmp && n) {
        hid_t sp = H5Dget_space(d);
        H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, tmp);
        H5Sclose(sp);
    }
    free(tmp);
    H5Tclose(mt), H5Tclose(ft), H5Dclose(d);
    if (!ok) return cr_fail(CR_ERR_FORMAT, "%s: /micrographs cannot be read", t->path);
    if (H5Lexists(f, "validation", H5P_DEFAULT) > 0) {
        d = H5Dopen2(f, "validation", H5P_DEFAULT);
        if (cr_h5_holds_numbers(d) && shape_of(d, dims) == 1 && dims[0] == (hsize_t)n && (t->validation = malloc((size_t)n + 1)))
            ok = n == 0 || H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->validation) >= 0;
        else
            ok = 0;
        H5Dclose(d);
        if (!ok) return cr_fail(CR_ERR_FORMAT, "%s: /validation does not match /micrographs", t->path);
    }
    return CR_OK;
}

static cr_status open_file(const char *path, cr_trainset **out);

/* In the guard's child: open, read the first and the last pair, close. */
static cr_status open_probe(const char *path, void *ctx)
{
    cr_trainset *t = NULL;
    cr_status st = open_file(path, &t);
    if (st != CR_OK) return st;
    size_t pp = (size_t)t->meta.patch * t->meta.patch;
    float *even = malloc(pp * sizeof(float)), *odd = malloc(pp * sizeof(float));
    if (even && odd && t->n > 0) {
        st = cr_trainset_read(t, 0, even, odd);
        if (st == CR_OK) st = cr_trainset_read(t, t->n - 1, even, odd);
    }
    free(even);
    free(odd);
    cr_trainset_close(t);
    return st;
}

cr_status cr_trainset_open(const char *path, cr_trainset **out)
{
    *out = NULL;
    cr_status st = cr_h5_guard(path, "a training set", open_probe, NULL);
    return st == CR_OK ? open_file(path, out) : st;
}

static cr_status open_file(const char *path, cr_trainset **out)
{
    cr_status st = CR_OK;
    cr_trainset *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(path))) {
        free(t);
        return cr_fail(CR_ERR_NOMEM, "%s: out of memory", path);
    }
    t->meta.phaseflip = -1;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    t->h5file = f;
    if (f < 0) {
        st = cr_fail(CR_ERR_FORMAT, "%s: HDF5 cannot open it (truncated or damaged?)", path);
        goto cleanup;
    }
    if (H5Lexists(f, "even", H5P_DEFAULT) <= 0 || H5Lexists(f, "odd", H5P_DEFAULT) <= 0) {
        st = cr_fail(CR_ERR_FORMAT, "%s: not a training set (datasets /even and /odd are missing)", path);
        goto cleanup;
    }
    t->h5even = H5Dopen2(f, "even", H5P_DEFAULT);
    t->h5odd = H5Dopen2(f, "odd", H5P_DEFAULT);
    hsize_t de[4] = {0}, dod[4] = {0};
    int re = t->h5even >= 0 ? shape_of((hid_t)t->h5even, de) : -1;
    int ro = t->h5odd >= 0 ? shape_of((hid_t)t->h5odd, dod) : -1;
    if (!cr_h5_holds_numbers(t->h5even) || !cr_h5_holds_numbers(t->h5odd)) re = -1;
    int ok3 = re == 3, ok4 = re == 4 && de[3] == 1;
    if (!(ok3 || ok4) || re != ro || memcmp(de, dod, sizeof de) != 0 || de[1] != de[2] || de[1] < 8 ||
        de[1] > 8192) {
        st = cr_fail(CR_ERR_FORMAT, "%s: /even and /odd must both be N x P x P (or N x P x P x 1) with equal shapes",
                     path);
        goto cleanup;
    }
    t->layout4d = ok4;
    t->n = (int64_t)de[0];
    t->meta.patch = (int)de[1];
    attr_opt(f, "apix", H5T_NATIVE_DOUBLE, 1, &t->meta.apix);
    attr_opt(f, "source_apix", H5T_NATIVE_DOUBLE, 1, &t->meta.source_apix);
    attr_opt(f, "max_resolution", H5T_NATIVE_DOUBLE, 1, &t->meta.max_resolution);
    attr_opt(f, "source_shape", H5T_NATIVE_INT, 2, t->meta.source_shape);
    attr_opt(f, "binned_shape", H5T_NATIVE_INT, 2, t->meta.binned_shape);
    attr_opt(f, "phaseflip", H5T_NATIVE_INT, 1, &t->meta.phaseflip);
    CR_TRY(read_index(t, f, "micrograph", t->n, 1, &t->micrograph));
    CR_TRY(read_index(t, f, "origin", t->n, 2, &t->origin));
    CR_TRY(read_names(t, f));
    for (int64_t i = 0; t->micrograph && i < t->n; i++)
        if (t->micrograph[i] < 0 || (t->nmicrographs && t->micrograph[i] >= t->nmicrographs)) {
            st = cr_fail(CR_ERR_FORMAT, "%s: /micrograph[%lld] = %d is not a valid index", path, (long long)i,
                         t->micrograph[i]);
            goto cleanup;
        }
    *out = t;
    return CR_OK;
cleanup:
    cr_trainset_close(t);
    return st;
}

static int read_patch(hid_t d, int layout4d, int64_t i, int p, float *out)
{
    hid_t fs = H5Dget_space(d);
    hsize_t start[4] = {(hsize_t)i, 0, 0, 0}, count[4] = {1, (hsize_t)p, (hsize_t)p, 1};
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t ms = H5Screate_simple(layout4d ? 4 : 3, count, NULL);
    herr_t rc = H5Dread(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, out);
    H5Sclose(ms);
    H5Sclose(fs);
    return rc < 0 ? -1 : 0;
}

cr_status cr_trainset_read(cr_trainset *t, int64_t i, float *even, float *odd)
{
    cr_h5_quiet(); /* per thread: the loader reads from its own */
    if (i < 0 || i >= t->n)
        return cr_fail(CR_ERR_INTERNAL, "%s: pair %lld out of range (%lld pairs)", t->path, (long long)i,
                       (long long)t->n);
    if (read_patch((hid_t)t->h5even, t->layout4d, i, t->meta.patch, even) ||
        read_patch((hid_t)t->h5odd, t->layout4d, i, t->meta.patch, odd))
        return cr_fail(CR_ERR_FORMAT, "%s: pair %lld cannot be read (truncated or corrupt file?)", t->path,
                       (long long)i);
    /* checked here, as each pair is read, so that opening a large set stays cheap */
    size_t pp = (size_t)t->meta.patch * t->meta.patch;
    for (size_t k = 0; k < pp; k++)
        if (!isfinite(even[k]) || !isfinite(odd[k]))
            return cr_fail(CR_ERR_FORMAT, "%s: pair %lld: NaN or Inf in /%s", t->path, (long long)i,
                           isfinite(even[k]) ? "odd" : "even");
    return CR_OK;
}
