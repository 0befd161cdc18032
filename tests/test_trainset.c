/* Training sets: write -> read round trip (values bit-exact, attributes,
 * index datasets), the reference's N×P×P×1 float64 layout written here with
 * the plain HDF5 API, and clear errors for foreign or inconsistent files. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clrestore/fileutil.h"
#include "clrestore/h5util.h"
#include "clrestore/trainset.h"
#include "testutil.h"

#define P 16

static char dir[256];

static void write_reference_layout(const char *path, int n, int rank4, int odd_p)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t de[4] = {(hsize_t)n, P, P, 1}, dod[4] = {(hsize_t)n, (hsize_t)odd_p, (hsize_t)odd_p, 1};
    double *v = malloc(sizeof(double) * n * P * P);
    for (int i = 0; i < n * P * P; i++) v[i] = 0.5 * i;
    hid_t s1 = H5Screate_simple(rank4 ? 4 : 3, de, NULL), s2 = H5Screate_simple(rank4 ? 4 : 3, dod, NULL);
    hid_t d1 = H5Dcreate2(f, "even", H5T_IEEE_F64LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t d2 = H5Dcreate2(f, "odd", H5T_IEEE_F64LE, s2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d1, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    if (odd_p == P) H5Dwrite(d2, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    double apix = 2.4;
    hid_t sc = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "apix", H5T_IEEE_F64LE, sc, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_DOUBLE, &apix);
    H5Aclose(a), H5Sclose(sc), H5Dclose(d1), H5Dclose(d2), H5Sclose(s1), H5Sclose(s2), H5Fclose(f);
    free(v);
}

int main(void)
{
    cr_h5_quiet();
    snprintf(dir, sizeof dir, "/tmp/clrestore-ts-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    char path[400];
    snprintf(path, sizeof path, "%s/train.h5", dir);

    cr_trainset_meta m = {P, 2.25, 1.0, {959, 927}, {426, 412}, 4.5, 1};
    cr_trainset_writer *w = NULL;
    CHECK_OK(cr_trainset_create(path, &m, &w));
    int i0 = -1, i1 = -1;
    CHECK_OK(cr_trainset_add_micrograph(w, "mics/a_DW.mrc", 0, &i0));
    CHECK_OK(cr_trainset_add_micrograph(w, "mics/b_DW.mrc", 1, &i1));
    float even[5 * P * P], odd[5 * P * P];
    int32_t org[10];
    for (int i = 0; i < 5 * P * P; i++) even[i] = (float)i * 0.25f - 7.0f, odd[i] = -(float)i / 3.0f;
    for (int i = 0; i < 10; i++) org[i] = 16 * i;
    CHECK_OK(cr_trainset_append(w, i0, 3, even, odd, org));
    CHECK(access(path, F_OK) != 0); /* nothing under the final name before finish */
    CHECK_OK(cr_trainset_append(w, i1, 2, even + 3 * P * P, odd + 3 * P * P, org + 6));
    CHECK(cr_trainset_writer_count(w) == 5);
    CHECK(cr_trainset_append(w, 7, 1, even, odd, org) == CR_ERR_INTERNAL);
    CHECK_OK(cr_trainset_finish(w));
    cr_trainset_writer_free(w);

    cr_trainset *t = NULL;
    CHECK_OK(cr_trainset_open(path, &t));
    if (t) {
        CHECK(t->n == 5 && t->meta.patch == P && !t->layout4d);
        CHECK(t->meta.apix == 2.25 && t->meta.source_apix == 1.0 && t->meta.max_resolution == 4.5);
        CHECK(t->meta.source_shape[0] == 959 && t->meta.binned_shape[1] == 412 && t->meta.phaseflip == 1);
        CHECK(t->nmicrographs == 2 && strcmp(t->micrographs[1], "mics/b_DW.mrc") == 0);
        CHECK(t->validation && t->validation[0] == 0 && t->validation[1] == 1);
        CHECK(t->micrograph && t->micrograph[2] == 0 && t->micrograph[3] == 1);
        CHECK(t->origin && t->origin[9] == 144);
        float e[P * P], o[P * P];
        int bad = 0;
        for (int i = 0; i < 5; i++) {
            CHECK_OK(cr_trainset_read(t, i, e, o));
            bad += memcmp(e, even + i * P * P, sizeof e) != 0 || memcmp(o, odd + i * P * P, sizeof o) != 0;
        }
        CHECK(bad == 0);
        CHECK(cr_trainset_read(t, 5, e, o) != CR_OK);
    }
    cr_trainset_close(t);

    /* an abandoned writer leaves nothing behind */
    char p2[400];
    snprintf(p2, sizeof p2, "%s/abandoned.h5", dir);
    CHECK_OK(cr_trainset_create(p2, &m, &w));
    cr_trainset_writer_free(w);
    CHECK(access(p2, F_OK) != 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c tmp > /dev/null", dir);
    CHECK(system(cmd) != 0);

    /* the reference's layout: N×P×P×1 float64 with only apix */
    snprintf(p2, sizeof p2, "%s/reference.h5", dir);
    write_reference_layout(p2, 3, 1, P);
    CHECK_OK(cr_trainset_open(p2, &t));
    if (t) {
        float e[P * P], o[P * P];
        CHECK(t->n == 3 && t->layout4d && t->meta.apix == 2.4 && t->meta.phaseflip == -1 && t->micrograph == NULL);
        CHECK_OK(cr_trainset_read(t, 2, e, o));
        CHECK(e[5] == (float)(0.5 * (2 * P * P + 5)) && o[0] == (float)(0.5 * 2 * P * P));
    }
    cr_trainset_close(t);

    /* inconsistent shapes, foreign files */
    write_reference_layout(p2, 3, 0, P / 2);
    CHECK(cr_trainset_open(p2, &t) == CR_ERR_FORMAT && strstr(cr_error_message(), p2));
    hid_t f = H5Fcreate(p2, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    CHECK(cr_trainset_open(p2, &t) == CR_ERR_FORMAT && strstr(cr_error_message(), "/even and /odd are missing"));
    FILE *fp = fopen(p2, "w");
    fputs("not hdf5", fp);
    fclose(fp);
    CHECK(cr_trainset_open(p2, &t) == CR_ERR_FORMAT && strstr(cr_error_message(), "not an HDF5 file"));
    CHECK(cr_trainset_open(dir, &t) == CR_ERR_IO);
    snprintf(p2, sizeof p2, "%s/missing/x.h5", dir);
    CHECK(cr_trainset_create(p2, &m, &w) == CR_ERR_IO && strstr(cr_error_message(), p2));

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return test_finish("test_trainset");
}
