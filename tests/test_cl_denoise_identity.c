/* A WA-U-Net whose weights (set here through the checkpoint struct) make it
 * the identity map, run through the real network code:
 * 1. the network alone (cr_waunet_apply_image) returns an odd-sized input
 *    unchanged, for three architectures; the same weights with two
 *    depth-to-space sub-positions swapped do not (so the check can fail);
 * 2. `denoise` — the library's cr_denoise_micrograph (untiled, small tiles,
 *    TTA) and the `clrestore denoise` CLI on a saved checkpoint (default tile
 *    and --tile 24) — equals cr_preprocess -> cr_unbin applied directly to an
 *    odd-sized simulated micrograph with the parameters denoise uses
 *    (phase flip with the STAR's CTF, max resolution 4.5 A from the
 *    checkpoint, merge mask 3 A / 2 A, no noisy merge, no flip back); the
 *    chain without the phase flip differs (so the comparison sees the CTF).
 * Those two chains are pinned down by test_cl_preprocess / test_cl_unbin.
 *
 * Why the weights give the identity. Every activation path ends in ReLUs, so
 * a signed value x travels as the pair (relu(x), relu(-x)) and is rebuilt as
 * their difference at the end. All full-resolution information leaves level
 * 0 through the last encoder block's stride-2 3x3 "down" conv (its 2x2 block
 * of inputs at taps (i, j): TensorFlow "same" padding pads 0 before for even
 * sizes) and comes back through dec0.merge (skip half of the concat) and
 * dec0.up (1x1 conv, then depth-to-space in TensorFlow order). Every other
 * convolution has zero weights and biases, so every wa_block is x + 0 and the
 * deeper levels and up_skip branches contribute exactly 0. Channels (f >= 9):
 *   input          ch 0 = x (centre tap; no ReLU here)
 *   enc0 down      ch 1+2p = relu(+x at sub-position p = 2i+j), ch 2+2p = relu(-x ...)
 *                  (ch 0 of the level output is relu(0) + maxpool(x): unused)
 *   dec0.merge     ch c = relu(skip ch c), c = 1..8 (skip = concat channels f..2f-1)
 *   dec0.up.conv   ch p*f + 0 = merge ch 1+2p, ch p*f + 1 = merge ch 2+2p;
 *                  depth-to-space puts ch p*f + c at sub-position p, channel c
 *   output.hidden  ch 0 = ch 1 = relu(x), ch 2 = ch 3 = relu(-x)
 *   output.final   0.5 (ch0 + ch1 - ch2 - ch3) = x
 * Weight norm W = g v/||v||: every used row of v has entries +-1 (norm 1, or
 * 2 for output.final with g = 1 giving 0.5), unused rows v = 0, g = 0 (the
 * kernel clamps ||v||^2, giving W = 0). All products are by 1, -1 or 0.5 and
 * every sum has one non-zero term or two equal halves, so the forward is
 * exact in float on a device with correctly rounded sqrt and division. */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clrestore/checkpoint.h"
#include "clrestore/denoise.h"
#include "clrestore/mrc.h"
#include "clrestore/prepare.h"
#include "clrestore/star.h"
#include "clrestore/tiles.h"
#include "clrestore/waunet.h"
#pragma GCC diagnostic ignored "-Wunused-function" /* not every helper is used here */
#include "nn_testutil.h"

/* OpenCL lets single-precision sqrt be 3 ulp and division 2.5 ulp off, so a
 * device may give W = 1 +- 6e-8 * 5.5 per weight-normalised conv; x passes
 * six of them: |out - x| <= 6 * 5.5 * 6e-8 |x| ~ 2e-6 |x|. */
#define FWD_REL_TOL 4e-6

static int run(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static cr_ckpt_layer *layer(cr_checkpoint *c, const char *name)
{
    for (int i = 0; i < c->nlayers; i++)
        if (strcmp(c->layers[i].spec.name, name) == 0) return &c->layers[i];
    fprintf(stderr, "FAIL: no layer %s\n", name);
    test_failures++;
    return NULL;
}

/* v[o, i, ky, kx] = val, g[o] = 1 */
static void set(cr_ckpt_layer *l, int o, int i, int ky, int kx, float val)
{
    if (!l) return;
    const cr_conv_spec *s = &l->spec;
    l->v[(((size_t)o * s->cin + i) * s->k + ky) * s->k + kx] = val;
    l->g[o] = 1.0f;
}

/* The identity weights described at the top, into a zeroed checkpoint (from
 * cr_checkpoint_create). swap != 0 exchanges sub-positions 0 and 1 in
 * dec0.up.conv: the negative control. */
static void set_identity(cr_checkpoint *c, int swap)
{
    const cr_arch *a = &c->arch;
    int f = a->filters;
    char down[48];
    snprintf(down, sizeof down, "enc0.block%d.down", a->blocks - 1);
    cr_ckpt_layer *in = layer(c, "input"), *dn = layer(c, down), *mg = layer(c, "dec0.merge"),
                  *up = layer(c, "dec0.up.conv"), *hid = layer(c, "output.hidden"), *fin = layer(c, "output.final");
    set(in, 0, 0, 1, 1, 1.0f);
    for (int p = 0; p < 4; p++) {
        int i = p / 2, j = p % 2, q = swap && p < 2 ? 1 - p : p;
        set(dn, 1 + 2 * p, 0, i, j, 1.0f);
        set(dn, 2 + 2 * p, 0, i, j, -1.0f);
        set(up, q * f + 0, 1 + 2 * p, 0, 0, 1.0f);
        set(up, q * f + 1, 2 + 2 * p, 0, 0, 1.0f);
    }
    for (int ch = 1; ch <= 8; ch++) set(mg, ch, f + ch, 0, 0, 1.0f);
    set(hid, 0, 0, 0, 0, 1.0f);
    set(hid, 1, 0, 0, 0, 1.0f);
    set(hid, 2, 1, 0, 0, 1.0f);
    set(hid, 3, 1, 0, 0, 1.0f);
    set(fin, 0, 0, 0, 0, 1.0f);
    set(fin, 0, 1, 0, 0, 1.0f);
    set(fin, 0, 2, 0, 0, -1.0f);
    set(fin, 0, 3, 0, 0, -1.0f);
}

/* Part 1 for one architecture: max |out - x| / |x| over the pixels (and the
 * swapped control's max |out - x|). */
static void forward_identity(cr_nn *nn, const cr_arch *a)
{
    enum { NX = 101, NY = 77 };
    cr_waunet *m = NULL;
    cr_checkpoint *c = NULL;
    float *x = malloc(sizeof(float) * NX * NY), *y = malloc(sizeof(float) * NX * NY);
    CHECK_OK(cr_waunet_create(nn, a, &m));
    CHECK_OK(cr_checkpoint_create(a, &c));
    if (!m || !c || !x || !y) goto cleanup;
    /* both signs, zeros, magnitudes from 1e-3 to 1e3, a ramp */
    tu_seed(11);
    for (int i = 0; i < NX * NY; i++) {
        double u = tu_uniform(-1, 1);
        x[i] = (float)(u * pow(10.0, tu_uniform(-3, 3)) + 0.001 * (i % NX));
        if (i % 37 == 0) x[i] = 0.0f;
    }
    set_identity(c, 0);
    CHECK_OK(cr_waunet_upload(m, c));
    CHECK_OK(cr_waunet_apply_image(m, x, NX, NY, y));
    double worst = 0;
    int exact = 1;
    for (int i = 0; i < NX * NY; i++) {
        double d = fabs((double)y[i] - x[i]);
        exact &= y[i] == x[i];
        if (x[i] == 0 ? d > 0 : d / fabs(x[i]) > worst) worst = x[i] == 0 ? INFINITY : d / fabs(x[i]);
    }
    printf("levels %d blocks %d filters %d expansion %d, %dx%d: max |out - x|/|x| = %.3g (%s)\n", a->levels,
           a->blocks, a->filters, a->expansion, NX, NY, worst, exact ? "bit-exact" : "not bit-exact");
    CHECK(worst <= FWD_REL_TOL);

    /* two depth-to-space sub-positions swapped: the output moves pixels */
    for (int i = 0; i < c->nlayers; i++) {
        size_t nv = (size_t)c->layers[i].spec.cout * c->layers[i].spec.cin * c->layers[i].spec.k * c->layers[i].spec.k;
        memset(c->layers[i].v, 0, nv * sizeof(float));
        memset(c->layers[i].g, 0, (size_t)c->layers[i].spec.cout * sizeof(float));
    }
    set_identity(c, 1);
    CHECK_OK(cr_waunet_upload(m, c));
    CHECK_OK(cr_waunet_apply_image(m, x, NX, NY, y));
    double dmax = 0;
    for (int i = 0; i < NX * NY; i++) dmax = fmax(dmax, fabs((double)y[i] - x[i]));
    printf("  control with sub-positions 0 and 1 swapped: max |out - x| = %.3g\n", dmax);
    CHECK(dmax > 1.0);
cleanup:
    free(x), free(y);
    cr_checkpoint_free(c);
    cr_waunet_free(m);
}

/* max |a - b| and the standard deviation of b */
static void compare(const float *a, const float *b, size_t n, double *maxd, double *std)
{
    double s = 0, ss = 0;
    *maxd = 0;
    for (size_t i = 0; i < n; i++) {
        *maxd = fmax(*maxd, fabs((double)a[i] - b[i]));
        if (a[i] != a[i]) *maxd = INFINITY;
        s += b[i];
        ss += (double)b[i] * b[i];
    }
    *std = sqrt(fmax(ss / (double)n - (s / (double)n) * (s / (double)n), 0));
}

/* Denoise output vs the direct chain: expected bit-identical (the network
 * is exact, tiles are cropped copies, cr_unbin is deterministic); the
 * tolerance, 1e-5 of the image's std, covers a device whose weight norm is
 * not exact (FWD_REL_TOL per binned pixel; the un-binning is z-score plus a
 * mask <= 1, so the error stays of that order relative to the std). */
#define CHAIN_TOL 1e-5

static void check_chain(const char *what, const float *got, const float *want, size_t n)
{
    double d = 0, sd = 0;
    compare(got, want, n, &d, &sd);
    printf("%-38s max |denoise - chain| = %.3g (std %.3g)\n", what, d, sd);
    CHECK_MSG(sd > 0.1 && d <= CHAIN_TOL * sd, "%s: %.3g vs std %.3g", what, d, sd);
}

int main(void)
{
    cr_runtime *rt = tu_runtime();
    if (!rt) return 77;
    cr_nn *nn = NULL;
    cr_fourier *fw = NULL;
    cr_waunet *net = NULL;
    cr_checkpoint *c = NULL;
    cr_star_file *sf = NULL;
    cr_micrograph_row *rows = NULL;
    int nrows = 0, made = 0;
    char dir[] = "/tmp/clrestore-identity-XXXXXX", cmd[16384];
    float *sim = NULL, *img = NULL, *binned = NULL, *want = NULL, *noflip = NULL, *got = NULL, *cli = NULL;
    CHECK_OK(cr_nn_create(rt, CR_FLOAT, &nn));
    CHECK_OK(cr_fourier_create(rt, &fw));
    if (!nn || !fw) goto cleanup;

    /* 1. the network alone */
    cr_arch archs[3] = {{2, 1, 12, 2, 3, 4}, {1, 1, 9, 1, 3, 4}, {3, 2, 10, 2, 3, 4}};
    for (int k = 0; k < 3; k++) forward_identity(nn, &archs[k]);

    /* 2. the pipeline on a simulated micrograph cropped to odd sizes */
    const char *bin = getenv("CLRESTORE_BIN");
    char path[4096], star[4096], model[4096];
    if (!bin || !*bin) {
        printf("SKIP (part 2): CLRESTORE_BIN not set\n");
        goto cleanup;
    }
    made = mkdtemp(dir) != NULL;
    CHECK(made);
    snprintf(path, sizeof path, "%s/sim/micrographs/sim_0001_DW.mrc", dir);
    snprintf(star, sizeof star, "%s/sim/micrographs.star", dir);
    snprintf(cmd, sizeof cmd, "'%s' simulate -o '%s/sim' --count 1 --size 384x320 --seed 4 --quiet", bin, dir);
    CHECK(run(cmd) == 0);
    CHECK_OK(cr_star_read(star, &sf));
    if (sf) CHECK_OK(cr_star_micrographs(sf, 1, &rows, &nrows));
    cr_mrc_header h;
    CHECK_OK(cr_mrc_read(path, &h, &sim));
    if (!sim || nrows != 1) goto cleanup;
    enum { NX = 383, NY = 317 };
    double apix = rows[0].apix;
    cr_ctf_params ctf = cr_ctf_from_row(&rows[0]);
    img = malloc(sizeof(float) * NX * NY);
    for (int y = 0; y < NY; y++) memcpy(img + (size_t)y * NX, sim + (size_t)y * h.nx, sizeof(float) * NX);
    snprintf(path, sizeof path, "%s/odd_DW.mrc", dir);
    CHECK_OK(cr_mrc_write(path, img, NX, NY, 1, (float)apix, "test input"));
    snprintf(star, sizeof star, "%s/odd.star", dir);
    FILE *fp = fopen(star, "w");
    CHECK(fp != NULL);
    if (!fp) goto cleanup;
    fprintf(fp, "data_optics\nloop_\n_rlnOpticsGroup\n_rlnMicrographPixelSize\n_rlnVoltage\n_rlnSphericalAberration\n"
                "_rlnAmplitudeContrast\n1 %.17g %.17g %.17g %.17g\n\n",
            apix, ctf.voltage, ctf.cs, ctf.amp_contrast);
    fprintf(fp, "data_micrographs\nloop_\n_rlnMicrographName\n_rlnOpticsGroup\n_rlnDefocusU\n_rlnDefocusV\n"
                "_rlnDefocusAngle\nodd_DW.mrc 1 %.17g %.17g %.17g\n",
            ctf.defocus_u, ctf.defocus_v, ctf.defocus_angle);
    CHECK(fclose(fp) == 0);

    /* the direct chain, with the parameters cr_denoise_micrograph uses */
    int bx = 0, by = 0;
    double bapix = 0;
    cr_preprocess_opts po;
    cr_preprocess_opts_default(&po);
    po.apix = apix;
    po.max_resolution = 4.5;
    po.phaseflip = 1;
    po.ctf = &ctf;
    CHECK_OK(cr_preprocess(fw, img, NX, NY, &po, &binned, &bx, &by, &bapix));
    cr_unbin_opts uo;
    cr_unbin_opts_default(&uo);
    uo.apix = apix;
    uo.merge_resolution = 3.0;
    uo.merge_width = 2.0;
    uo.phaseflipped = 1;
    uo.ctf = &ctf;
    want = malloc(sizeof(float) * NX * NY);
    noflip = malloc(sizeof(float) * NX * NY);
    got = malloc(sizeof(float) * NX * NY);
    if (!binned || !want || !noflip || !got) goto cleanup;
    CHECK_OK(cr_unbin(fw, binned, bx, by, NULL, NX, NY, &uo, want));
    printf("micrograph %dx%d at %.2f A/px binned to %dx%d (%.4f A/px)\n", NX, NY, apix, bx, by, bapix);
    free(binned);
    binned = NULL;
    po.phaseflip = 0;
    po.ctf = NULL;
    uo.phaseflipped = 0;
    CHECK_OK(cr_preprocess(fw, img, NX, NY, &po, &binned, &bx, &by, &bapix));
    CHECK_OK(cr_unbin(fw, binned, bx, by, NULL, NX, NY, &uo, noflip));

    /* the identity model, saved as the CLI will read it */
    cr_arch a = archs[0];
    CHECK_OK(cr_checkpoint_create(&a, &c));
    CHECK_OK(cr_waunet_create(nn, &a, &net));
    if (!c || !net) goto cleanup;
    set_identity(c, 0);
    c->apix = bapix;
    c->max_resolution = 4.5;
    c->phaseflip = 1;
    snprintf(model, sizeof model, "%s/identity.h5", dir);
    CHECK_OK(cr_checkpoint_save(c, model));
    CHECK_OK(cr_waunet_upload(net, c));

    cr_denoiser d;
    CHECK_OK(cr_denoiser_init(&d, fw, net));
    cr_denoise_opts o;
    cr_denoise_opts_default(&o);
    o.model_apix = bapix;
    const struct {
        int tile, tta;
        const char *what;
    } runs[] = {{0, 0, "library, automatic tile:"}, {16, 0, "library, tiles of 16:"}, {40, 1, "library, tiles of 40, TTA:"}};
    for (int k = 0; k < 3; k++) {
        if (runs[k].tile) {
            /* the forced tiles really split the padded binned image */
            cr_tile_plan plan;
            CHECK_OK(cr_tile_plan_make((by + 3) / 4 * 4, (bx + 3) / 4 * 4, runs[k].tile, d.margin, 4, &plan));
            CHECK(plan.ntiles > 1);
            printf("tiles of %d, margin %d: %d tiles\n", runs[k].tile, d.margin, plan.ntiles);
            cr_tile_plan_free(&plan);
        }
        o.tile = runs[k].tile;
        o.tta = runs[k].tta;
        CHECK_OK(cr_denoise_micrograph(&d, img, NX, NY, apix, &ctf, &o, got, NULL, NULL, NULL, NULL));
        check_chain(runs[k].what, got, want, (size_t)NX * NY);
    }
    double dflip = 0, sd = 0;
    compare(noflip, want, (size_t)NX * NY, &dflip, &sd);
    printf("control: chain without phase flip differs by %.3g (std %.3g)\n", dflip, sd);
    CHECK(dflip > 0.1 * sd);

    const char *tiles[] = {"", "--tile 24"};
    for (int k = 0; k < 2; k++) {
        char out[4200];
        snprintf(cmd, sizeof cmd, "'%s' denoise --quiet -p '%s' -m '%s' -o '%s/out%d' %s", bin, model, star, dir, k,
                 tiles[k]);
        CHECK(run(cmd) == 0);
        snprintf(out, sizeof out, "%s/out%d/odd_DW_denoised.mrc", dir, k);
        free(cli);
        cli = NULL;
        CHECK_OK(cr_mrc_read(out, &h, &cli));
        if (!cli) continue;
        CHECK(h.nx == NX && h.ny == NY);
        char what[64];
        snprintf(what, sizeof what, "clrestore denoise %s:", k ? tiles[k] : "(default tile)");
        if (h.nx == NX && h.ny == NY) check_chain(what, cli, want, (size_t)NX * NY);
    }

cleanup:
    if (made) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(run(cmd) == 0);
    }
    free(sim), free(img), free(binned), free(want), free(noflip), free(got), free(cli);
    cr_micrograph_rows_free(rows, nrows);
    cr_star_free(sf);
    cr_checkpoint_free(c);
    cr_waunet_free(net);
    cr_fourier_free(fw);
    cr_nn_free(nn);
    cr_runtime_free(rt);
    return test_finish("test_cl_denoise_identity");
}
