/* Architecture table and HDF5 checkpoints: parameter count and multiply-adds
 * against the independent PyTorch count, loading the h5py-written golden
 * fixture, bit-identical save -> load -> save, and clear errors for wrong
 * architectures, wrong shapes, truncated and foreign files. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clrestore/checkpoint.h"
#include "clrestore/fileutil.h"
#include "clrestore/h5util.h"
#include "testutil.h"

static char tmpdir[256];

static int files_equal(const char *a, const char *b)
{
    char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    if (cr_read_file(a, &da, &la) != CR_OK || cr_read_file(b, &db, &lb) != CR_OK) return 0;
    int eq = la == lb && memcmp(da, db, la) == 0;
    free(da), free(db);
    return eq;
}

static void fill(cr_checkpoint *c, float scale)
{
    for (int i = 0; i < c->nlayers; i++) {
        cr_ckpt_layer *l = &c->layers[i];
        int64_t nw = (int64_t)l->spec.cout * l->spec.cin * l->spec.k * l->spec.k;
        for (int64_t j = 0; j < nw; j++) l->v[j] = scale * (float)((j * 7 + i) % 13) - 0.5f;
        for (int j = 0; j < l->spec.cout; j++) l->g[j] = 1.0f + 0.01f * (float)j, l->b[j] = -0.001f * (float)(i + j);
    }
}

/* Overwrites dataset name (in an existing file) with a float array of the given shape. */
static void replace_dataset(const char *path, const char *name, int rank, const hsize_t *dims)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, name, H5P_DEFAULT);
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d), H5Sclose(sp), H5Fclose(f);
}

static void test_arch(void)
{
    cr_arch a = cr_arch_default();
    /* 2,383,826 parameters and 317,982 multiply-adds per pixel: counted by
     * bench/torch_reference.py (PyTorch) and stated in the issue. */
    CHECK(cr_arch_param_count(&a) == 2383826);
    CHECK_NEAR(cr_arch_macs_per_pixel(&a), 317982.0, 0.5);
    cr_conv_spec *c = NULL;
    int n = 0;
    CHECK_OK(cr_arch_convs(&a, &c, &n));
    CHECK(n == 96);
    if (n == 96) {
        CHECK(strcmp(c[0].name, "input") == 0 && c[0].k == 3 && c[0].cin == 1 && c[0].cout == 32);
        CHECK(strcmp(c[4].name, "enc0.block1.expand") == 0);
        /* enc0.block3: expand, bottleneck, conv3, down = layers 10..13 */
        CHECK(strcmp(c[13].name, "enc0.block3.down") == 0 && c[13].stride == 2 && c[13].k == 3);
        CHECK(strcmp(c[95].name, "output.final") == 0 && c[95].cout == 1);
        CHECK(c[2].cout == 25); /* int(0.8 * 32) */
    }
    free(c);
    a.levels = 0;
    CHECK(cr_arch_convs(&a, &c, &n) == CR_ERR_ARG);
}

static void test_golden_load(const char *fixture)
{
    cr_checkpoint *c = NULL;
    CHECK_OK(cr_checkpoint_load(fixture, &c));
    if (!c) return;
    cr_arch small = {2, 2, 4, 2, 3, 4};
    CHECK(memcmp(&c->arch, &small, sizeof small) == 0);
    CHECK(c->nlayers == 41 && !c->has_optimizer);
    /* names and values as h5py wrote them, read here with the plain HDF5 API */
    hid_t f = H5Fopen(fixture, H5F_ACC_RDONLY, H5P_DEFAULT);
    int bad_names = 0, bad_values = 0;
    for (int i = 0; i < c->nlayers; i++) {
        char path[64];
        snprintf(path, sizeof path, "layers/%03d", i);
        hid_t g = H5Gopen2(f, path, H5P_DEFAULT);
        hid_t at = H5Aopen(g, "name", H5P_DEFAULT), t = H5Aget_type(at), mt = H5Tcopy(H5T_C_S1);
        char *name = NULL;
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        if (H5Aread(at, mt, &name) < 0 || !name || strcmp(name, c->layers[i].spec.name) != 0) {
            bad_names++;
            fprintf(stderr, "layer %d: file says %s, arch says %s\n", i, name ? name : "?", c->layers[i].spec.name);
        }
        if (name) H5free_memory(name);
        H5Tclose(mt), H5Tclose(t), H5Aclose(at);
        hid_t d = H5Dopen2(g, "b", H5P_DEFAULT);
        double b[1024];
        if (c->layers[i].spec.cout <= 1024 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, b) >= 0)
            for (int j = 0; j < c->layers[i].spec.cout; j++) bad_values += c->layers[i].b[j] != (float)b[j];
        H5Dclose(d), H5Gclose(g);
    }
    H5Fclose(f);
    CHECK(bad_names == 0);
    CHECK(bad_values == 0);
    cr_checkpoint_free(c);

    cr_arch def = cr_arch_default();
    CHECK(cr_checkpoint_load_expect(fixture, &def, &c) == CR_ERR_ARG && c == NULL);
    CHECK(strstr(cr_error_message(), "architecture") && strstr(cr_error_message(), fixture));
}

static void test_roundtrip(void)
{
    cr_arch a = {2, 3, 8, 2, 3, 4};
    cr_checkpoint *c = NULL, *c2 = NULL;
    char p1[300], p2[300];
    snprintf(p1, sizeof p1, "%s/a.h5", tmpdir);
    snprintf(p2, sizeof p2, "%s/b.h5", tmpdir);
    CHECK_OK(cr_checkpoint_create(&a, &c));
    if (!c) return;
    fill(c, 0.25f);
    c->apix = 2.25, c->max_resolution = 4.5, c->phaseflip = 1;
    CHECK_OK(cr_checkpoint_alloc_optimizer(c));
    c->step = 1234, c->epoch = 3, c->lr = 1e-4, c->seed = 0xfeedbeefcafeULL;
    c->batch = 17, c->epoch_loss_sum = 12.375;
    c->rng[0] = 1, c->rng[3] = UINT64_MAX;
    c->layers[5].m_v[3] = 0.5f, c->layers[5].s_b[0] = 2e-9f;
    double row[CR_HISTORY_COLUMNS] = {1, 0.9, 0.95, 1e-4};
    CHECK_OK(cr_checkpoint_add_history(c, row));
    row[0] = 2;
    CHECK_OK(cr_checkpoint_add_history(c, row));
    CHECK_OK(cr_checkpoint_save(c, p1));
    CHECK_OK(cr_checkpoint_load(p1, &c2));
    if (c2) {
        CHECK(c2->has_optimizer && c2->step == 1234 && c2->epoch == 3 && c2->seed == 0xfeedbeefcafeULL);
        CHECK(c2->batch == 17 && c2->epoch_loss_sum == 12.375);
        CHECK(c2->rng[3] == UINT64_MAX && c2->nhistory == 2 && c2->history[4] == 2 && c2->history[2] == 0.95);
        CHECK(c2->apix == 2.25 && c2->phaseflip == 1 && c2->max_resolution == 4.5);
        CHECK(c2->layers[5].m_v[3] == 0.5f && c2->layers[5].s_b[0] == 2e-9f);
        CHECK(memcmp(c2->layers[7].v, c->layers[7].v, sizeof(float) * 8 * 16 * 4 * 4 / 16) == 0);
        CHECK_OK(cr_checkpoint_save(c2, p2));
        CHECK_MSG(files_equal(p1, p2), "save -> load -> save is not bit-identical");
    }
    cr_checkpoint_free(c2);
    c2 = NULL;
    /* an untimed run stores no time attributes (checked by the bytes above);
     * a timed one's round-trip, and a negative one is refused */
    if (c2 == NULL) {
        char p5[300];
        snprintf(p5, sizeof p5, "%s/timed.h5", tmpdir);
        CHECK(c->time_limit == 0 && c->elapsed == 0);
        c->time_limit = 5400, c->elapsed = 1234.5;
        CHECK_OK(cr_checkpoint_save(c, p5));
        CHECK(!files_equal(p1, p5));
        CHECK_OK(cr_checkpoint_load(p5, &c2));
        CHECK(c2 && c2->time_limit == 5400 && c2->elapsed == 1234.5);
        cr_checkpoint_free(c2);
        c2 = NULL;
        CHECK_OK(cr_checkpoint_load(p1, &c2));
        CHECK(c2 && c2->time_limit == 0 && c2->elapsed == 0);
        cr_checkpoint_free(c2);
        c2 = NULL;
        c->elapsed = -1;
        CHECK_OK(cr_checkpoint_save(c, p5));
        CHECK(cr_checkpoint_load(p5, &c2) == CR_ERR_FORMAT && strstr(cr_error_message(), "elapsed_seconds"));
        c->time_limit = 0, c->elapsed = 0;
    }

    /* a dataset of the wrong shape */
    hsize_t wrong[4] = {8, 16, 3, 3};
    replace_dataset(p2, "layers/003/v", 4, wrong);
    CHECK(cr_checkpoint_load(p2, &c2) == CR_ERR_FORMAT && c2 == NULL);
    CHECK(strstr(cr_error_message(), "/layers/003/v") && strstr(cr_error_message(), "8x16x3x3"));
    /* truncated file */
    int64_t size = 0;
    CHECK_OK(cr_file_size(p1, &size));
    CHECK(truncate(p1, size / 2) == 0);
    CHECK(cr_checkpoint_load(p1, &c2) != CR_OK && c2 == NULL && strstr(cr_error_message(), p1));
    /* a file that is HDF5 but not ours, and one that is not HDF5 */
    char p3[300];
    snprintf(p3, sizeof p3, "%s/other.h5", tmpdir);
    hid_t f = H5Fcreate(p3, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    CHECK(cr_checkpoint_load(p3, &c2) == CR_ERR_FORMAT && strstr(cr_error_message(), "not a clrestore checkpoint"));
    CHECK(cr_checkpoint_load("/nonexistent/model.h5", &c2) == CR_ERR_IO &&
          strstr(cr_error_message(), "/nonexistent/model.h5"));
    CHECK(cr_checkpoint_load(tmpdir, &c2) == CR_ERR_IO);
    /* unwritable destination: an error, nothing left behind */
    char p4[300];
    snprintf(p4, sizeof p4, "%s/nodir/x.h5", tmpdir);
    CHECK(cr_checkpoint_save(c, p4) != CR_OK && strstr(cr_error_message(), p4));
    cr_checkpoint_free(c);
}

int main(void)
{
    cr_h5_quiet();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/clrestore-ckpt-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_arch();
    const char *src = getenv("CLRESTORE_TEST_SRC");
    char fixture[1024];
    snprintf(fixture, sizeof fixture, "%s/fixtures/golden_waunet_small.h5", src ? src : "tests");
    test_golden_load(fixture);
    test_roundtrip();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    CHECK(system(cmd) == 0);
    return test_finish("test_checkpoint");
}
