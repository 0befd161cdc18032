/* Tiled network = untiled network (max |difference| < 1e-4) on an image the
 * untiled run fits, with a real WA-U-Net; test-time augmentation on the
 * device = the mean of untiled runs on host-transformed images, mapped back
 * on the host (an independent transform); the same tiling without the margin
 * differs at the seams (so the test can fail); the response to a single
 * changed pixel stays inside the receptive field derived in tiles.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/denoise.h"
#include "clrestore/mrc.h"
#include "clrestore/tiles.h"
#include "nn_testutil.h"

int main(void)
{
    cr_runtime *rt = NULL;
    if (cr_runtime_create(getenv("CLRESTORE_DEVICE"), &rt) != CR_OK) {
        printf("SKIP: no OpenCL device (%s)\n", cr_error_message());
        return 77;
    }
    cr_nn *nn = NULL;
    cr_waunet *net = NULL;
    cr_fourier *fw = NULL;
    cr_arch a = {2, 1, 4, 2, 3, 4};
    CHECK_OK(cr_nn_create(rt, CR_FLOAT, &nn));
    CHECK_OK(cr_waunet_create(nn, &a, &net));
    CHECK_OK(cr_waunet_init(net, 5));
    CHECK_OK(cr_fourier_create(rt, &fw));
    cr_denoiser d;
    CHECK_OK(cr_denoiser_init(&d, fw, net));
    int before = 0, after = 0;
    cr_arch_receptive_field(&a, &before, &after);
    printf("receptive field %d before, %d after; tile margin %d\n", before, after, d.margin);

    enum { BX = 150, BY = 118 };
    float *img = malloc(sizeof(float) * BX * BY), *full = malloc(sizeof(float) * BX * BY),
          *tiled = malloc(sizeof(float) * BX * BY);
    unsigned s = 99;
    for (int i = 0; i < BX * BY; i++) {
        s = s * 1664525u + 1013904223u;
        img[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    CHECK_OK(cr_denoise_binned(&d, img, BX, BY, 4096, 0, full)); /* one window: the whole image */
    CHECK_OK(cr_denoise_binned(&d, img, BX, BY, 16, 0, tiled));
    double maxd = 0;
    for (int i = 0; i < BX * BY; i++) maxd = fmax(maxd, fabs(full[i] - tiled[i]));
    printf("tiles of 16 + margin %d vs untiled: max |difference| %.3g\n", d.margin, maxd);
    CHECK(maxd < 1e-4);
    /* TTA of the untiled and tiled runs agree as well */
    CHECK_OK(cr_denoise_binned(&d, img, BX, BY, 4096, 1, full));
    CHECK_OK(cr_denoise_binned(&d, img, BX, BY, 24, 1, tiled));
    maxd = 0;
    for (int i = 0; i < BX * BY; i++) maxd = fmax(maxd, fabs(full[i] - tiled[i]));
    CHECK(maxd < 1e-4);
    /* ... and equal the host-side average of the 8 transformed runs. Both
     * padded sizes exceed the image by an even count (152x120), so padding
     * commutes with the flips. */
    {
        float *ti = malloc(sizeof(float) * BX * BY), *to = malloc(sizeof(float) * BX * BY),
              *back = malloc(sizeof(float) * BX * BY);
        double *acc = calloc(BX * BY, sizeof(double)), plain = 0;
        for (int k = 0; k < 8; k++) {
            int th = (k & 4) ? BX : BY, tw = (k & 4) ? BY : BX;
            dihedral_host(ti, img, BY, BX, k);
            CHECK_OK(cr_denoise_binned(&d, ti, tw, th, 4096, 0, to));
            undo_host(back, to, BY, BX, k);
            for (int i = 0; i < BX * BY; i++) acc[i] += back[i];
        }
        CHECK_OK(cr_denoise_binned(&d, img, BX, BY, 4096, 0, to));
        maxd = 0;
        for (int i = 0; i < BX * BY; i++) {
            maxd = fmax(maxd, fabs(full[i] - acc[i] / 8));
            plain = fmax(plain, fabs(full[i] - to[i]));
        }
        printf("TTA on the device vs host-transformed runs: max |difference| %.3g (TTA vs none: %.3g)\n", maxd, plain);
        CHECK(maxd < 1e-5);
        CHECK_MSG(plain > 1e-3, "TTA changes the answer by only %.3g: the check cannot tell", plain);
        free(ti), free(to), free(back), free(acc);
    }
    /* without a margin the seams show */
    int margin = d.margin;
    d.margin = 0;
    CHECK_OK(cr_denoise_binned(&d, img, BX, BY, 16, 0, tiled));
    CHECK_OK(cr_denoise_binned(&d, img, BX, BY, 4096, 0, full));
    maxd = 0;
    for (int i = 0; i < BX * BY; i++) maxd = fmax(maxd, fabs(full[i] - tiled[i]));
    CHECK_MSG(maxd > 1e-3, "no-margin tiling differs by only %.3g", maxd);
    d.margin = margin;

    /* impulse response along the row of a changed pixel (image width a
     * multiple of 4 so no padding shifts it) */
    enum { W = 128, H = 64, X0 = 64, Y0 = 32 };
    float *z = calloc(W * H, sizeof(float)), *r0 = malloc(sizeof(float) * W * H), *r1 = malloc(sizeof(float) * W * H);
    CHECK_OK(cr_denoise_binned(&d, z, W, H, 4096, 0, r0));
    z[Y0 * W + X0] = 10.0f;
    CHECK_OK(cr_denoise_binned(&d, z, W, H, 4096, 0, r1));
    int lo = W, hi = -1, outside = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (r1[y * W + x] == r0[y * W + x]) continue;
            /* output p depends on input p - before .. p + after, so the
             * impulse at X0 reaches outputs X0 - after .. X0 + before */
            outside += x < X0 - after || x > X0 + before || y < Y0 - after || y > Y0 + before;
            if (y == Y0) lo = x < lo ? x : lo, hi = x > hi ? x : hi;
        }
    printf("impulse at x=%d reaches x=%d..%d (derived bound %d..%d)\n", X0, lo, hi, X0 - after, X0 + before);
    CHECK(outside == 0);
    CHECK(hi >= X0 && lo <= X0 && hi - lo >= (before + after) / 2);
    free(z), free(r0), free(r1), free(img), free(full), free(tiled);

    /* the real 959 x 927 micrograph (odd sizes), pre-processed without phase
     * flip at its header's 1.0 A/px: three tiles per axis vs untiled */
    const char *data = test_shared_data();
    if (data) {
        char p[1024];
        snprintf(p, sizeof p, "%s/micrographs/Ucsf_stack_1142_DW.mrc", data);
        cr_mrc_header h;
        float *mic = NULL, *b = NULL;
        int bx = 0, by = 0;
        double bapix = 0;
        cr_preprocess_opts po;
        cr_preprocess_opts_default(&po);
        po.apix = 1.0;
        po.phaseflip = 0;
        CHECK_OK(cr_mrc_read(p, &h, &mic));
        if (mic) CHECK_OK(cr_preprocess(fw, mic, h.nx, h.ny, &po, &b, &bx, &by, &bapix));
        if (b) {
            float *u = malloc(sizeof(float) * bx * by), *t = malloc(sizeof(float) * bx * by);
            int core = (bx > by ? bx : by) / 3 + 8;
            cr_tile_plan plan;
            CHECK_OK(cr_tile_plan_make((by + 3) / 4 * 4, (bx + 3) / 4 * 4, core, d.margin, 4, &plan));
            CHECK(plan.ntiles == 9);
            cr_tile_plan_free(&plan);
            CHECK_OK(cr_denoise_binned(&d, b, bx, by, 4096, 0, u));
            CHECK_OK(cr_denoise_binned(&d, b, bx, by, core, 0, t));
            double md = 0;
            for (int i = 0; i < bx * by; i++) md = fmax(md, fabs(u[i] - t[i]));
            printf("959x927 micrograph binned to %dx%d: 3x3 tiles of %d vs untiled: max |difference| %.3g\n", bx, by,
                   core, md);
            CHECK(md < 1e-4);
            free(u), free(t);
        }
        free(mic), free(b);
    }
    cr_fourier_free(fw);
    cr_waunet_free(net);
    cr_nn_free(nn);
    cr_runtime_free(rt);
    return test_finish("test_cl_denoise_tiles");
}
