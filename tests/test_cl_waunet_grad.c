/* Whole-network gradient check in double (levels 2, blocks 2, filters 4,
 * expansion 2): central finite differences of the MSE loss with respect to
 * a sample of v, g and b of every convolution and of the input, against
 * cr_waunet_backward. Biases are random so every bias path is exercised. */
#include "clrestore/waunet.h"
#pragma GCC diagnostic ignored "-Wunused-function" /* not every helper is used here */
#include "nn_testutil.h"

typedef struct ctx {
    cr_waunet *m;
    cr_nn *nn;
} ctx;

static double loss_of(void *p)
{
    ctx *c = p;
    double l = 0;
    cr_waunet_params_changed(c->m); /* a perturbed v or g changes W */
    cr_tensor out = cr_waunet_output(c->m), tg = cr_waunet_target(c->m);
    CHECK_OK(cr_waunet_forward(c->m));
    CHECK_OK(cr_mse_forward(c->nn, &l, &out, &tg));
    return l;
}

int main(void)
{
    cr_runtime *rt = tu_runtime();
    if (!rt) return 77;
    cr_nn *nn = tu_double_engine(rt);
    if (!nn) {
        cr_runtime_free(rt);
        return test_finish("test_cl_waunet_grad");
    }
    cr_arch a = cr_arch_default();
    a.levels = 2;
    a.blocks = 2;
    a.filters = 4;
    a.expansion = 2;
    cr_waunet *m = NULL;
    CHECK_OK(cr_waunet_create(nn, &a, &m));
    CHECK_OK(cr_waunet_init(m, 9));
    cr_params *p = cr_waunet_params(m);
    tu_seed(21);
    for (int i = 0; i < p->nconvs; i++) {
        cr_tensor b = cr_params_value(p, p->convs[i].b);
        size_t n = cr_tensor_count(&b);
        double *v = tu_alloc(n);
        tu_fill(v, n, -0.2, 0.2);
        CHECK_OK(cr_tensor_write(nn, &b, v));
        free(v);
    }
    int n = 2, h = 8, w = 12, count = n * h * w;
    CHECK_OK(cr_waunet_prepare(m, CR_WAUNET_TRAINING, n, h, w));
    double *x = tu_alloc(count), *t = tu_alloc(count);
    tu_fill(x, count, -1.5, 1.5);
    tu_fill(t, count, -1, 1);
    cr_tensor in = cr_waunet_input(m), tg = cr_waunet_target(m), out = cr_waunet_output(m);
    cr_tensor dout = cr_waunet_doutput(m), din;
    CHECK_OK(cr_tensor_alloc(nn, &din, n, 1, h, w, "d input"));
    CHECK_OK(cr_tensor_write(nn, &in, x));
    CHECK_OK(cr_tensor_write(nn, &tg, t));

    /* analytic gradients */
    cr_waunet_params_changed(m);
    CHECK_OK(cr_params_zero_grad(p));
    CHECK_OK(cr_waunet_forward(m));
    CHECK_OK(cr_nn_fill(nn, &dout, 0.0));
    CHECK_OK(cr_nn_fill(nn, &din, 0.0));
    CHECK_OK(cr_mse_backward(nn, &dout, &out, &tg, 1.0));
    CHECK_OK(cr_waunet_backward(m, &dout, &din));

    ctx c = {m, nn};
    double worst[3] = {0, 0, 0}, eps = 1e-6;
    int worst_conv[3] = {0, 0, 0};
    for (int i = 0; i < p->nconvs; i++) {
        int idx[3] = {p->convs[i].v, p->convs[i].g, p->convs[i].b};
        size_t checks[3] = {4, 2, 2};
        for (int k = 0; k < 3; k++) {
            cr_tensor val = cr_params_value(p, idx[k]), gr = cr_params_grad(p, idx[k]);
            double *v = tu_read(nn, &val), *g = tu_read(nn, &gr);
            double e = tu_fd_check(nn, &val, v, g, loss_of, &c, eps, checks[k]);
            if (e > worst[k]) {
                worst[k] = e;
                worst_conv[k] = i;
            }
            free(v);
            free(g);
        }
    }
    double *gin = tu_read(nn, &din);
    double ein = tu_fd_check(nn, &in, x, gin, loss_of, &c, eps, 24);
    printf("finite differences vs backward (max error / max |gradient|): v %.3g (conv %d), g %.3g (conv %d), "
           "b %.3g (conv %d), input %.3g\n",
           worst[0], worst_conv[0], worst[1], worst_conv[1], worst[2], worst_conv[2], ein);
    CHECK(worst[0] < 1e-6 && worst[1] < 1e-6 && worst[2] < 1e-6 && ein < 1e-6);

    /* backward accumulates: a second pass doubles every gradient */
    cr_tensor g0 = cr_params_grad(p, p->convs[0].v);
    double *first = tu_read(nn, &g0);
    CHECK_OK(cr_waunet_forward(m));
    CHECK_OK(cr_waunet_backward(m, &dout, NULL));
    double *second = tu_read(nn, &g0);
    double e2 = 0;
    for (size_t i = 0; i < cr_tensor_count(&g0); i++) e2 = fmax(e2, fabs(second[i] - 2 * first[i]));
    CHECK(e2 < 1e-12);

    free(first);
    free(second);
    free(gin);
    free(x);
    free(t);
    cr_tensor_release(nn, &din);
    cr_waunet_free(m);
    cr_nn_free(nn);
    cr_runtime_free(rt);
    return test_finish("test_cl_waunet_grad");
}
