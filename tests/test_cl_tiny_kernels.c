/* Every kernel family once on a tiny case, for slow devices and checkers
 * (tests/device_rusticl.sh, tests/device_oclgrind.sh) as well as the default
 * device. Truths:
 * - network (convolutions, pointwise, pool, depth-to-space, weight norm,
 *   loss, Adam): the float engine against the double engine with the same
 *   Glorot weights (on CLRESTORE_REF_DEVICE when the device has no fp64):
 *   an inference forward, a training step's loss and the output after it;
 * - Fourier chains (statistics, z-score, CTF flip, crop, Hermitian
 *   projection, band-pass, pad, mask, merge, both FFT directions): a cosine
 *   inside the band through pre-processing and un-binning, against its
 *   analytic result: sqrt(2) sign(CTF(s)) cos at the binned and at the full
 *   size, the CTF evaluated on the host in double (REFERENCE.md "CTF");
 * - test-time augmentation (kernels/denoise.cl): the device average over
 *   the 8 transforms against untiled runs on host-transformed images.
 * Argument "nn", "fourier" or "tta" runs one part (default: all). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/denoise.h"
#include "clrestore/fourier.h"
#include "nn_testutil.h"

static double maxrel_f(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e > d || e != e) d = e != e ? INFINITY : e;
        if (fabs(b[i]) > s) s = fabs(b[i]);
    }
    return s > 0 ? d / s : d;
}

/* ---- network: float vs double --------------------------------------------- */

enum { NB = 2, NH = 8, NW = 12 };

/* Inference output, training loss and the output after one step of an
 * engine's network on the shared input and target. */
static void run_net(cr_nn *nn, const cr_arch *a, const float *x, const float *t, float *y0, double *loss, float *y1)
{
    cr_waunet *m = NULL;
    CHECK_OK(cr_waunet_create(nn, a, &m));
    if (!m) return;
    CHECK_OK(cr_waunet_init(m, 7));
    CHECK_OK(cr_waunet_prepare(m, CR_WAUNET_INFERENCE, NB, NH, NW));
    cr_tensor in = cr_waunet_input(m), out = cr_waunet_output(m);
    CHECK_OK(cr_tensor_write_f32(nn, &in, x));
    CHECK_OK(cr_waunet_forward(m));
    CHECK_OK(cr_tensor_read_f32(nn, &out, y0));
    CHECK_OK(cr_waunet_prepare(m, CR_WAUNET_TRAINING, NB, NH, NW));
    in = cr_waunet_input(m);
    cr_tensor tg = cr_waunet_target(m);
    CHECK_OK(cr_tensor_write_f32(nn, &in, x));
    CHECK_OK(cr_tensor_write_f32(nn, &tg, t));
    cr_adam hp = {1e-2, 0.9, 0.99, 1e-8};
    CHECK_OK(cr_waunet_train_step(m, &hp, loss));
    CHECK_OK(cr_waunet_prepare(m, CR_WAUNET_INFERENCE, NB, NH, NW));
    in = cr_waunet_input(m), out = cr_waunet_output(m);
    CHECK_OK(cr_tensor_write_f32(nn, &in, x));
    CHECK_OK(cr_waunet_forward(m));
    CHECK_OK(cr_tensor_read_f32(nn, &out, y1));
    cr_waunet_free(m);
}

static void test_network(cr_runtime *rt)
{
    cr_arch a = {2, 1, 4, 2, 3, 4}; /* as test_cl_denoise_tiles: its programs are built already */
    cr_nn *nf = NULL, *nd = tu_double_engine(rt);
    if (!nd) return;
    CHECK_OK(cr_nn_create(rt, CR_FLOAT, &nf));
    size_t n = (size_t)NB * NH * NW;
    float *x = malloc(n * 4), *t = malloc(n * 4), *y[2][2];
    for (int e = 0; e < 2; e++)
        for (int k = 0; k < 2; k++) y[e][k] = malloc(n * 4);
    unsigned s = 5;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
        t[i] = 0.5f * x[i] + 0.1f;
    }
    double loss[2] = {0, 0};
    run_net(nf, &a, x, t, y[0][0], &loss[0], y[0][1]);
    run_net(nd, &a, x, t, y[1][0], &loss[1], y[1][1]);
    double e0 = maxrel_f(y[0][0], y[1][0], n), e1 = maxrel_f(y[0][1], y[1][1], n);
    double el = fabs(loss[0] - loss[1]) / fabs(loss[1]), moved = maxrel_f(y[1][1], y[1][0], n);
    printf("network float vs double: forward %.3g, loss %.3g (%.6g), after a step %.3g (the step moved it %.3g)\n",
           e0, el, loss[1], e1, moved);
    CHECK(e0 < 1e-5);
    CHECK(el < 1e-5);
    CHECK(e1 < 1e-4);
    CHECK_MSG(moved > 1e-3, "the training step changed the output by only %.3g", moved);
    for (int e = 0; e < 2; e++)
        for (int k = 0; k < 2; k++) free(y[e][k]);
    free(x), free(t);
    cr_nn_free(nf);
    cr_nn_free(nd);
}

/* ---- Fourier chains: a cosine ---------------------------------------------- */

/* CTF at spatial frequency s (1/A), no astigmatism (REFERENCE.md "CTF"). */
static double ctf_host(const cr_ctf_params *c, double s)
{
    double lam = cr_electron_wavelength(c->voltage), a = c->amp_contrast;
    double g = -M_PI * lam * c->defocus_u * s * s + M_PI / 2 * c->cs * 1e7 * lam * lam * lam * s * s * s * s -
               c->phase_shift * M_PI / 180;
    return -(sqrt(1 - a * a) * sin(g) - a * cos(g));
}

static void test_fourier(cr_runtime *rt)
{
    enum { NX = 64, NY = 48, KX = 5, KY = 3 };
    const double apix = 2.0;
    cr_fourier *fw = NULL;
    CHECK_OK(cr_fourier_create(rt, &fw));
    if (!fw) return;
    cr_ctf_params ctf = {25000, 25000, 0, 300, 2.7, 0.1, 0};
    float *img = malloc(sizeof(float) * NX * NY), *out = malloc(sizeof(float) * NX * NY), *binned = NULL;
    /* 100 + cos(2 pi (KX x / NX + KY y / NY)): one frequency, s = 0.044 1/A */
    for (int y = 0; y < NY; y++)
        for (int x = 0; x < NX; x++)
            img[y * NX + x] = (float)(100 + cos(2 * M_PI * ((double)KX * x / NX + (double)KY * y / NY)));
    double s = sqrt(pow(KX / (NX * apix), 2) + pow(KY / (NY * apix), 2)), sign = ctf_host(&ctf, s) < 0 ? -1 : 1;
    cr_preprocess_opts po;
    cr_preprocess_opts_default(&po);
    po.apix = apix;
    po.max_resolution = 8.0; /* 64 px at 2 A -> 32 x 24 */
    po.ctf = &ctf;
    int bx = 0, by = 0;
    double bapix = 0;
    CHECK_OK(cr_preprocess(fw, img, NX, NY, &po, &binned, &bx, &by, &bapix));
    CHECK(bx == 32 && by == 24);
    if (binned && bx == 32 && by == 24) {
        double e = 0;
        for (int y = 0; y < by; y++)
            for (int x = 0; x < bx; x++) {
                double want = sign * sqrt(2.0) * cos(2 * M_PI * ((double)KX * x / bx + (double)KY * y / by));
                e = fmax(e, fabs(binned[y * bx + x] - want));
            }
        printf("pre-processing of a cosine (CTF sign %+.0f at s = %.4f 1/A): max |error| %.3g\n", sign, s, e);
        CHECK(e < 1e-4);
        for (int merge = 0; merge < 2; merge++) {
            cr_unbin_opts uo;
            cr_unbin_opts_default(&uo);
            uo.apix = apix;
            uo.merge_noisy = merge;
            uo.flip_back = 1;
            uo.ctf = &ctf;
            CHECK_OK(cr_unbin(fw, binned, bx, by, img, NX, NY, &uo, out));
            double eu = 0;
            for (int y = 0; y < NY; y++)
                for (int x = 0; x < NX; x++) {
                    double want = sqrt(2.0) * cos(2 * M_PI * ((double)KX * x / NX + (double)KY * y / NY));
                    eu = fmax(eu, fabs(out[y * NX + x] - want));
                }
            printf("un-binning it (flip back%s): max |error| %.3g\n", merge ? ", merge noisy" : "", eu);
            CHECK(eu < 1e-4);
        }
    }
    free(img), free(out), free(binned);
    cr_fourier_free(fw);
}

/* ---- test-time augmentation ------------------------------------------------ */

static void test_tta(cr_runtime *rt)
{
    enum { BX = 10, BY = 6 }; /* padded to 12 x 8: an even border each way */
    cr_arch a = {2, 1, 4, 2, 3, 4};
    cr_nn *nn = NULL;
    cr_waunet *net = NULL;
    cr_fourier *fw = NULL;
    CHECK_OK(cr_nn_create(rt, CR_FLOAT, &nn));
    CHECK_OK(cr_waunet_create(nn, &a, &net));
    CHECK_OK(cr_waunet_init(net, 3));
    CHECK_OK(cr_fourier_create(rt, &fw));
    if (!fw || !net) return;
    cr_denoiser d;
    CHECK_OK(cr_denoiser_init(&d, fw, net));
    float img[BX * BY], tta[BX * BY], ti[BX * BY], to[BX * BY], back[BX * BY];
    double acc[BX * BY] = {0};
    for (int i = 0; i < BX * BY; i++) img[i] = (float)sin(0.7 * i) + 0.01f * (float)i;
    CHECK_OK(cr_denoise_binned(&d, img, BX, BY, 0, 1, tta));
    for (int k = 0; k < 8; k++) {
        int th = (k & 4) ? BX : BY, tw = (k & 4) ? BY : BX;
        dihedral_host(ti, img, BY, BX, k);
        CHECK_OK(cr_denoise_binned(&d, ti, tw, th, 0, 0, to));
        undo_host(back, to, BY, BX, k);
        for (int i = 0; i < BX * BY; i++) acc[i] += back[i];
    }
    double e = 0, sc = 0;
    for (int i = 0; i < BX * BY; i++) {
        e = fmax(e, fabs(tta[i] - acc[i] / 8));
        sc = fmax(sc, fabs(acc[i] / 8));
    }
    printf("TTA %dx%d: device vs host transforms max |difference| %.3g (scale %.3g)\n", BX, BY, e, sc);
    CHECK(sc > 0 && e < 1e-5 * (1 + sc));
    cr_fourier_free(fw);
    cr_waunet_free(net);
    cr_nn_free(nn);
}

int main(int argc, char **argv)
{
    const char *part = argc > 1 ? argv[1] : "all";
    cr_runtime *rt = tu_runtime();
    if (!rt) return 77;
    printf("device: %s (%s)\n", rt->dev.device_name, rt->dev.platform_name);
    if (!strcmp(part, "all") || !strcmp(part, "nn")) test_network(rt);
    if (!strcmp(part, "all") || !strcmp(part, "fourier")) test_fourier(rt);
    if (!strcmp(part, "all") || !strcmp(part, "tta")) test_tta(rt);
    CHECK(cr_runtime_mem_current(rt) == 0);
    cr_runtime_free(rt);
    return test_finish("test_cl_tiny_kernels");
}
