/* `clrestore import-restore` and `denoise -p MODEL.hdf5` against TensorFlow
 * itself: tests/fixtures/restore_*.hdf5 are Keras models of restore's
 * WA-U-Net with random weights written by TensorFlow 2.21 / tf-keras, and
 * restore_*_tf.mrc is TensorFlow's output for restore_*_in.mrc (48 x 40, a
 * multiple of 2^levels, so --network-only pads nothing and the comparison is
 * of the network alone). Measured: max |ours - TF| / max |TF| <= 1e-4.
 *
 * Also: the copy whose layer list TensorFlow saw shuffled and renamed imports
 * to the same weights (the graph is walked, not the list); the checkpoint
 * records the source; bad inputs (wrong topology, weights only, not HDF5, a
 * clrestore checkpoint, an output in a missing directory) fail with exit 1,
 * one line naming the file, and no output. */
#include <hdf5.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clrestore/checkpoint.h"
#include "clrestore/fileutil.h"
#include "clrestore/mrc.h"
#pragma GCC diagnostic ignored "-Wunused-function" /* not every helper is used here */
#include "nn_testutil.h"

static int run(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static const char *bin, *src;
static char dir[] = "/tmp/clrestore-keras-XXXXXX";

/* max |a - b| / max |b| of the network output against TensorFlow's. */
static double compare(const char *ours, const char *stem)
{
    char tf[4096];
    snprintf(tf, sizeof tf, "%s/fixtures/%s_tf.mrc", src, stem);
    cr_mrc_header ha, hb;
    float *a = NULL, *b = NULL;
    double diff = INFINITY, scale = 0, d = 0;
    CHECK_OK(cr_mrc_read(ours, &ha, &a));
    CHECK_OK(cr_mrc_read(tf, &hb, &b));
    if (a && b && ha.nx == hb.nx && ha.ny == hb.ny) {
        for (int i = 0; i < ha.nx * ha.ny; i++) {
            d = fmax(d, fabs((double)a[i] - b[i]));
            scale = fmax(scale, fabs((double)b[i]));
        }
        diff = scale > 0 ? d / scale : INFINITY;
    }
    printf("%s: %d x %d, max |clrestore - TensorFlow| = %.3g, max |TensorFlow| = %.3g, relative %.3g\n", stem, hb.nx,
           hb.ny, d, scale, diff);
    free(a);
    free(b);
    return diff;
}

static char *attr_str(const char *path, const char *name)
{
    static char buf[256];
    buf[0] = '\0';
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return buf;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    if (a >= 0) {
        hid_t t = H5Aget_type(a);
        if (H5Tget_size(t) < sizeof buf) H5Aread(a, t, buf);
        H5Tclose(t);
        H5Aclose(a);
    }
    H5Fclose(f);
    return buf;
}

/* import then denoise --network-only; returns the relative difference. */
static double import_and_run(const char *model, const char *stem, const char *ckpt)
{
    char cmd[16384], out[4200];
    snprintf(cmd, sizeof cmd, "'%s' import-restore --quiet '%s/fixtures/%s.hdf5' -o '%s'", bin, src, model, ckpt);
    CHECK(run(cmd) == 0);
    snprintf(cmd, sizeof cmd, "'%s' denoise --quiet -p '%s' --network-only '%s/fixtures/%s_in.mrc' -o '%s/%s'", bin,
             ckpt, src, stem, dir, model);
    CHECK(run(cmd) == 0);
    snprintf(out, sizeof out, "%s/%s/%s_in_denoised.mrc", dir, model, stem);
    return compare(out, stem);
}

/* The command fails with exit 1, one stderr line holding file and what, and out is not created. */
static void bad(const char *args, const char *file, const char *what, const char *out)
{
    char cmd[16384], err[4200];
    snprintf(err, sizeof err, "%s/err.txt", dir);
    snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s'", bin, args, err);
    CHECK_MSG(run(cmd) == 1, "%s", args);
    char *msg = NULL;
    size_t len = 0;
    CHECK_OK(cr_read_file(err, &msg, &len));
    CHECK_MSG(msg && len > 0 && strchr(msg, '\n') == msg + len - 1, "not one line: %s", msg ? msg : "");
    CHECK_MSG(msg && strstr(msg, file) && strstr(msg, what), "'%s' lacks '%s' or '%s'", msg ? msg : "", file, what);
    printf("%s", msg ? msg : "(no message)\n");
    free(msg);
    struct stat sb;
    CHECK_MSG(stat(out, &sb) != 0, "%s was written", out);
}

static int same_weights(const cr_checkpoint *a, const cr_checkpoint *b)
{
    if (!a || !b || memcmp(&a->arch, &b->arch, sizeof a->arch) || a->nlayers != b->nlayers) return 0;
    for (int i = 0; i < a->nlayers; i++) {
        const cr_conv_spec *s = &a->layers[i].spec;
        size_t nv = (size_t)s->cout * s->cin * s->k * s->k;
        if (memcmp(a->layers[i].v, b->layers[i].v, nv * sizeof(float)) ||
            memcmp(a->layers[i].g, b->layers[i].g, (size_t)s->cout * sizeof(float)) ||
            memcmp(a->layers[i].b, b->layers[i].b, (size_t)s->cout * sizeof(float)))
            return 0;
    }
    return 1;
}

int main(void)
{
    bin = getenv("CLRESTORE_BIN");
    src = getenv("CLRESTORE_TEST_SRC");
    if (!bin || !*bin || !src || !*src) {
        printf("SKIP: CLRESTORE_BIN or CLRESTORE_TEST_SRC not set\n");
        return 77;
    }
    cr_runtime *rt = tu_runtime();
    if (!rt) return 77;
    cr_runtime_free(rt);
    CHECK(mkdtemp(dir) != NULL);
    char small[4200], perm[4200], shape[4200], args[16384], miss[4200];
    snprintf(small, sizeof small, "%s/small.h5", dir);
    snprintf(perm, sizeof perm, "%s/permuted.h5", dir);
    snprintf(shape, sizeof shape, "%s/shape.h5", dir);
    snprintf(miss, sizeof miss, "%s/never.h5", dir);

    /* levels 2, blocks 2, filters 4, expansion 2 */
    double d_small = import_and_run("restore_small", "restore_small", small);
    CHECK(d_small <= 1e-4);
    /* the same model, its layer list shuffled and every layer renamed */
    double d_perm = import_and_run("restore_small_permuted", "restore_small", perm);
    CHECK(d_perm <= 1e-4);
    cr_checkpoint *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(cr_checkpoint_load(small, &a));
    CHECK_OK(cr_checkpoint_load(perm, &b));
    CHECK_MSG(same_weights(a, b), "the shuffled and renamed model imports differently");
    if (a) {
        CHECK(a->arch.levels == 2 && a->arch.blocks == 2 && a->arch.filters == 4 && a->arch.expansion == 2);
        CHECK(a->arch.encoder_kernel == 3 && a->arch.decoder_kernel == 4);
        CHECK(a->max_resolution == 4.5 && a->apix == 0 && a->phaseflip == -1 && !a->has_optimizer);
    }
    CHECK(strcmp(attr_str(small, "source_file"), "restore_small.hdf5") == 0);
    CHECK(strcmp(attr_str(small, "source_format"), "keras-hdf5") == 0);
    CHECK(strcmp(attr_str(small, "source_keras_version"), "2.21.0") == 0); /* the fixture's keras_version */
    CHECK(strcmp(attr_str(small, "source_backend"), "tensorflow") == 0);

    /* the default architecture's shape (3/4/.../4), 4 filters: read directly by denoise */
    snprintf(args, sizeof args, "'%s' denoise --quiet -p '%s/fixtures/restore_shape.hdf5' --network-only "
             "'%s/fixtures/restore_shape_in.mrc' -o '%s/direct'", bin, src, src, dir);
    CHECK(run(args) == 0);
    snprintf(shape, sizeof shape, "%s/direct/restore_shape_in_denoised.mrc", dir);
    double d_shape = compare(shape, "restore_shape");
    CHECK(d_shape <= 1e-4);

    /* pre-processing given on the command line is recorded */
    snprintf(args, sizeof args, "'%s' import-restore --quiet '%s/fixtures/restore_small.hdf5' -o '%s' --apix 1.5 "
             "--max-resolution 6 --no-phaseflip", bin, src, small);
    CHECK(run(args) == 0);
    CHECK_OK(cr_checkpoint_load(small, &c));
    if (c) CHECK(c->apix == 1.5 && c->max_resolution == 6 && c->phaseflip == 0);

    snprintf(args, sizeof args, "import-restore '%s/fixtures/restore_bad_topology.hdf5' -o '%s'", src, miss);
    bad(args, "restore_bad_topology.hdf5", "not a restore WA-U-Net", miss);
    snprintf(args, sizeof args, "import-restore '%s/fixtures/restore_weights_only.h5' -o '%s'", src, miss);
    bad(args, "restore_weights_only.h5", "weights only", miss);
    snprintf(args, sizeof args, "import-restore '%s/fixtures/restore_small_in.mrc' -o '%s'", src, miss);
    bad(args, "restore_small_in.mrc", "not an HDF5 file", miss);
    snprintf(args, sizeof args, "import-restore '%s/fixtures/golden_waunet_small.h5' -o '%s'", src, miss);
    bad(args, "golden_waunet_small.h5", "a clrestore checkpoint, not a Keras model", miss);
    snprintf(args, sizeof args, "import-restore '%s/fixtures/restore_small.hdf5' -o '%s/nodir/x.h5'", src, dir);
    snprintf(miss, sizeof miss, "%s/nodir", dir);
    bad(args, "nodir/x.h5: cannot create", "No such file", miss);
    snprintf(miss, sizeof miss, "%s/never.h5", dir);
    snprintf(args, sizeof args, "denoise -p '%s/fixtures/restore_bad_topology.hdf5' --network-only "
             "'%s/fixtures/restore_small_in.mrc' -o '%s/neverdir'", src, src, dir);
    bad(args, "restore_bad_topology.hdf5", "not a restore WA-U-Net", miss);

    printf("max relative difference to TensorFlow: small %.3g, permuted %.3g, default shape %.3g\n", d_small, d_perm,
           d_shape);
    cr_checkpoint_free(a);
    cr_checkpoint_free(b);
    cr_checkpoint_free(c);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(run(cmd) == 0);
    return test_finish("test_cl_keras_import");
}
