/* Training end to end: 300 Adam steps on one fixed 64 x 64 input/target
 * pair (float engine; levels 2, blocks 1, filters 8, expansion 2 so that they
 * run in seconds) must lower the MSE at least 100x. The target is a smooth image and the input that image plus noise,
 * the noise2noise situation at its simplest. */
#include "clrestore/log.h"
#include "clrestore/waunet.h"
#pragma GCC diagnostic ignored "-Wunused-function" /* not every helper is used here */
#include "nn_testutil.h"

int main(void)
{
    cr_runtime *rt = tu_runtime();
    if (!rt) return 77;
    cr_nn *nn = NULL;
    CHECK_OK(cr_nn_create(rt, CR_FLOAT, &nn));
    cr_arch a = cr_arch_default();
    a.levels = 2;
    a.blocks = 1;
    a.filters = 8;
    a.expansion = 2;
    cr_waunet *m = NULL;
    CHECK_OK(cr_waunet_create(nn, &a, &m));
    CHECK_OK(cr_waunet_init(m, 2024));
    int s = 64, steps = 300;
    double *x = tu_alloc(s * s), *t = tu_alloc(s * s);
    tu_seed(77);
    for (int y = 0; y < s; y++)
        for (int i = 0; i < s; i++) {
            t[y * s + i] = sin(0.2 * i) * cos(0.15 * y) + 0.5 * sin(0.07 * (i + y));
            x[y * s + i] = t[y * s + i] + tu_uniform(-0.5, 0.5);
        }
    CHECK_OK(cr_waunet_prepare(m, CR_WAUNET_TRAINING, 1, s, s));
    cr_tensor in = cr_waunet_input(m), tg = cr_waunet_target(m);
    CHECK_OK(cr_tensor_write(nn, &in, x));
    CHECK_OK(cr_tensor_write(nn, &tg, t));
    cr_adam hp = cr_adam_defaults();
    hp.lr = 1e-3;
    double first = 0, last = 0, t0 = cr_now();
    for (int i = 0; i < steps; i++) {
        double l = 0;
        CHECK_OK(cr_waunet_train_step(m, &hp, &l));
        if (i == 0) first = l;
        last = l;
    }
    double sec = cr_now() - t0;
    printf("overfit %dx%d, %d Adam steps (lr %g): loss %.4g -> %.4g (%.0fx lower), %.1f ms/step\n", s, s, steps,
           hp.lr, first, last, first / last, 1e3 * sec / steps);
    CHECK(cr_waunet_params(m)->step == steps);
    CHECK_MSG(last * 100 <= first, "loss fell only %.1fx", first / last);
    free(x);
    free(t);
    cr_waunet_free(m);
    cr_nn_free(nn);
    cr_runtime_free(rt);
    return test_finish("test_cl_waunet_train");
}
