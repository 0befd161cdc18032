/* `clrestore denoise --network-only` end to end ($CLRESTORE_BIN): a small
 * model written here, a 100 x 70 image (not a multiple of 2^3): the output
 * has the input's shape and pixel size and equals the network applied by the
 * library to the image padded here (centred, edge mean) and cropped; the
 * input is unchanged; an output path equal to the input and a missing model
 * fail with exit 1 and one line naming the file; no --network-only is a
 * usage error (exit 2). */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clrestore/checkpoint.h"
#include "clrestore/fileutil.h"
#include "clrestore/mrc.h"
#include "clrestore/waunet.h"
#pragma GCC diagnostic ignored "-Wunused-function" /* not every helper is used here */
#include "nn_testutil.h"

static int run(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *slurp(const char *path, size_t *len)
{
    char *d = NULL;
    if (cr_read_file(path, &d, len) != CR_OK) return NULL;
    return d;
}

/* The expected output, computed without cr_waunet_apply_image. */
static float *expected(cr_waunet *m, const float *img, int nx, int ny)
{
    int px = (nx + 7) / 8 * 8, py = (ny + 7) / 8 * 8, ox = (px - nx) / 2, oy = (py - ny) / 2;
    double sum = 0;
    int cnt = 0;
    for (int y = 0; y < ny; y++)
        for (int x = 0; x < nx; x++)
            if (y == 0 || y == ny - 1 || x == 0 || x == nx - 1) {
                sum += img[y * nx + x];
                cnt++;
            }
    float fill = (float)(sum / cnt);
    float *pad = malloc((size_t)px * py * sizeof *pad), *out = malloc((size_t)nx * ny * sizeof *out);
    for (int y = 0; y < py; y++)
        for (int x = 0; x < px; x++) {
            int sx = x - ox, sy = y - oy;
            pad[y * px + x] = sx >= 0 && sx < nx && sy >= 0 && sy < ny ? img[sy * nx + sx] : fill;
        }
    CHECK_NEAR(fill, cr_image_edge_mean(img, nx, ny), 1e-6);
    CHECK_OK(cr_waunet_prepare(m, CR_WAUNET_INFERENCE, 1, py, px));
    cr_tensor in = cr_waunet_input(m), o = cr_waunet_output(m);
    CHECK_OK(cr_tensor_write_f32(cr_waunet_nn(m), &in, pad));
    CHECK_OK(cr_waunet_forward(m));
    CHECK_OK(cr_tensor_read_f32(cr_waunet_nn(m), &o, pad));
    for (int y = 0; y < ny; y++)
        for (int x = 0; x < nx; x++) out[y * nx + x] = pad[(y + oy) * px + x + ox];
    free(pad);
    return out;
}

int main(void)
{
    const char *bin = getenv("CLRESTORE_BIN");
    if (!bin || !*bin) {
        printf("SKIP: CLRESTORE_BIN not set\n");
        return 77;
    }
    cr_runtime *rt = tu_runtime();
    if (!rt) return 77;
    char dir[] = "/tmp/clrestore-denoise-XXXXXX", model[4096], in[4096], outdir[4096], out[4200], cmd[16384];
    char err[4096];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(model, sizeof model, "%s/model.h5", dir);
    snprintf(in, sizeof in, "%s/mic.0001.mrc", dir);
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    snprintf(out, sizeof out, "%s/mic.0001_denoised.mrc", outdir);
    snprintf(err, sizeof err, "%s/stderr.txt", dir);
    CHECK(mkdir(outdir, 0755) == 0);

    /* a small model with non-zero biases, saved as a checkpoint */
    cr_arch a = cr_arch_default();
    a.blocks = 1;
    a.filters = 4;
    a.expansion = 2;
    cr_nn *nn = NULL;
    cr_waunet *m = NULL;
    cr_checkpoint *c = NULL;
    CHECK_OK(cr_nn_create(rt, CR_FLOAT, &nn));
    CHECK_OK(cr_waunet_create(nn, &a, &m));
    CHECK_OK(cr_waunet_init(m, 17));
    CHECK_OK(cr_checkpoint_create(&a, &c));
    CHECK_OK(cr_waunet_download(m, c, 0));
    for (int i = 0; i < c->nlayers; i++)
        for (int o = 0; o < c->layers[i].spec.cout; o++) c->layers[i].b[o] = 0.01f * (float)((o + i) % 7 - 3);
    CHECK_OK(cr_checkpoint_save(c, model));
    CHECK_OK(cr_waunet_upload(m, c));

    int nx = 100, ny = 70;
    float *img = malloc((size_t)nx * ny * sizeof *img);
    tu_seed(5);
    for (int y = 0; y < ny; y++)
        for (int x = 0; x < nx; x++) img[y * nx + x] = (float)(0.02 * x - 0.01 * y + tu_uniform(-1, 1));
    CHECK_OK(cr_mrc_write(in, img, nx, ny, 1, 1.5f, "test input"));
    size_t len0 = 0, len1 = 0;
    char *before = slurp(in, &len0);

    snprintf(cmd, sizeof cmd, "'%s' denoise --quiet -p '%s' --network-only '%s' -o '%s'", bin, model, in, outdir);
    CHECK(run(cmd) == 0);
    cr_mrc_header h;
    float *got = NULL;
    CHECK_OK(cr_mrc_read(out, &h, &got));
    if (got) {
        CHECK(h.nx == nx && h.ny == ny && h.nz == 1 && h.mode == 2);
        CHECK_NEAR(h.apix, 1.5, 1e-6);
        float *want = expected(m, img, nx, ny);
        double diff = 0, scale = 0;
        for (int i = 0; i < nx * ny; i++) {
            diff = fmax(diff, fabs((double)got[i] - want[i]));
            scale = fmax(scale, fabs((double)want[i]));
        }
        printf("denoise --network-only 100x70: max |cli - library| = %.3g (output scale %.3g)\n", diff, scale);
        CHECK(scale > 0 && diff <= 1e-6 * scale);
        free(want);
    }
    char *after = slurp(in, &len1);
    CHECK_MSG(before && after && len0 == len1 && memcmp(before, after, len0) == 0, "input file changed");
    free(after);

    /* output beside the input with an empty suffix would be the input itself */
    snprintf(cmd, sizeof cmd, "'%s' denoise --quiet -p '%s' --network-only --suffix '' '%s' 2>'%s'", bin, model, in,
             err);
    CHECK(run(cmd) == 1);
    after = slurp(in, &len1);
    CHECK_MSG(before && after && len0 == len1 && memcmp(before, after, len0) == 0, "input file overwritten");
    free(after);
    char *msg = slurp(err, &len1);
    CHECK(msg && strstr(msg, "overwrite") != NULL);
    printf("same path: %s", msg ? msg : "(none)\n");
    free(msg);

    /* a missing model: exit 1, one line naming it */
    snprintf(cmd, sizeof cmd, "'%s' denoise -p '%s/none.h5' --network-only '%s' -o '%s' 2>'%s'", bin, dir, in,
             outdir, err);
    CHECK(run(cmd) == 1);
    msg = slurp(err, &len1);
    CHECK(msg && strstr(msg, "none.h5") != NULL && strchr(msg, '\n') == msg + len1 - 1);
    printf("missing model: %s", msg ? msg : "(none)\n");
    free(msg);

    /* the full pipeline is not there yet: a usage error */
    snprintf(cmd, sizeof cmd, "'%s' denoise -p '%s' '%s' 2>/dev/null", bin, model, in);
    CHECK(run(cmd) == 2);

    free(before);
    free(img);
    free(got);
    cr_checkpoint_free(c);
    cr_waunet_free(m);
    cr_nn_free(nn);
    cr_runtime_free(rt);
    unlink(out);
    unlink(model);
    unlink(in);
    unlink(err);
    rmdir(outdir);
    rmdir(dir);
    return test_finish("test_cl_waunet_cli");
}
