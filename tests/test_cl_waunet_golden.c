/* The WA-U-Net against an independent PyTorch implementation
 * (bench/torch_reference.py golden -> tests/fixtures/golden_waunet_small.h5):
 * output, MSE loss, the gradients of every v, g, b and of the input, in a
 * double engine (float64 weights read straight from the fixture) and in a
 * float engine (weights through cr_checkpoint_load, i.e. rounded to float32). */
#include <hdf5.h>

#include "clrestore/checkpoint.h"
#include "clrestore/waunet.h"
#pragma GCC diagnostic ignored "-Wunused-function" /* not every helper is used here */
#include "nn_testutil.h"

static double *h5_read_all(hid_t f, const char *name, size_t *count)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) {
        fprintf(stderr, "fixture: no dataset %s\n", name);
        exit(1);
    }
    hid_t s = H5Dget_space(d);
    size_t n = (size_t)H5Sget_simple_extent_npoints(s);
    double *buf = tu_alloc(n);
    CHECK(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Sclose(s);
    H5Dclose(d);
    if (count) *count = n;
    return buf;
}

typedef struct errors {
    double output, loss, grad_v, grad_g, grad_b, grad_input;
    double output_inference; /* the forward prepared for inference (fused expand + bottleneck on CPUs) */
} errors;

static double maxd(double a, double b) { return a > b ? a : b; }

/* Runs the fixture's batch through a model on nn; exact = load float64
 * weights from the file over the checkpoint's float32 ones. */
static errors run(cr_nn *nn, const cr_checkpoint *c, hid_t f, int exact)
{
    errors e = {0};
    cr_waunet *m = NULL;
    CHECK_OK(cr_waunet_create(nn, &c->arch, &m));
    if (!m) return e;
    CHECK_OK(cr_waunet_upload(m, c));
    cr_params *p = cr_waunet_params(m);
    char name[96];
    if (exact) {
        for (int i = 0; i < p->nconvs; i++) {
            const char *kinds[3] = {"v", "g", "b"};
            int idx[3] = {p->convs[i].v, p->convs[i].g, p->convs[i].b};
            for (int k = 0; k < 3; k++) {
                snprintf(name, sizeof name, "/layers/%03d/%s", i, kinds[k]);
                size_t n = 0;
                double *v = h5_read_all(f, name, &n);
                cr_tensor t = cr_params_value(p, idx[k]);
                CHECK(n == cr_tensor_count(&t));
                CHECK_OK(cr_tensor_write(nn, &t, v));
                free(v);
            }
        }
        cr_waunet_params_changed(m);
    }
    size_t nin = 0;
    double *x = h5_read_all(f, "/golden/input", &nin), *tgt = h5_read_all(f, "/golden/target", NULL);
    double *yref = h5_read_all(f, "/golden/output", NULL), *gin_ref = h5_read_all(f, "/golden/grad_input", NULL);
    double *lref = h5_read_all(f, "/golden/loss", NULL);
    int n = 2, h = 16, w = 16;
    CHECK(nin == (size_t)n * h * w);
    CHECK_OK(cr_waunet_prepare(m, CR_WAUNET_TRAINING, n, h, w));
    cr_tensor in = cr_waunet_input(m), out = cr_waunet_output(m), target = cr_waunet_target(m);
    cr_tensor dout = cr_waunet_doutput(m), din;
    CHECK_OK(cr_tensor_alloc(nn, &din, n, 1, h, w, "d input"));
    CHECK_OK(cr_tensor_write(nn, &in, x));
    CHECK_OK(cr_tensor_write(nn, &target, tgt));
    CHECK_OK(cr_params_zero_grad(p));
    CHECK_OK(cr_waunet_forward(m));
    double *y = tu_read(nn, &out);
    e.output = tu_maxrel(y, yref, nin);
    double loss = 0;
    CHECK_OK(cr_mse_forward(nn, &loss, &out, &target));
    e.loss = fabs(loss - lref[0]) / fabs(lref[0]);
    CHECK_OK(cr_nn_fill(nn, &dout, 0.0));
    CHECK_OK(cr_nn_fill(nn, &din, 0.0));
    CHECK_OK(cr_mse_backward(nn, &dout, &out, &target, 1.0));
    CHECK_OK(cr_waunet_backward(m, &dout, &din));
    double *gin = tu_read(nn, &din);
    e.grad_input = tu_maxrel(gin, gin_ref, nin);
    for (int i = 0; i < p->nconvs; i++) {
        const char *kinds[3] = {"v", "g", "b"};
        int idx[3] = {p->convs[i].v, p->convs[i].g, p->convs[i].b};
        double *err[3] = {&e.grad_v, &e.grad_g, &e.grad_b};
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof name, "/golden/grad/%03d/%s", i, kinds[k]);
            size_t cnt = 0;
            double *ref = h5_read_all(f, name, &cnt);
            cr_tensor t = cr_params_grad(p, idx[k]);
            double *got = tu_read(nn, &t);
            CHECK(cnt == cr_tensor_count(&t));
            *err[k] = maxd(*err[k], tu_maxrel(got, ref, cnt));
            free(ref);
            free(got);
        }
    }
    /* inference runs other kernels (conv_fuse.c): the same output is expected */
    CHECK_OK(cr_waunet_prepare(m, CR_WAUNET_INFERENCE, n, h, w));
    in = cr_waunet_input(m), out = cr_waunet_output(m);
    CHECK_OK(cr_tensor_write(nn, &in, x));
    CHECK_OK(cr_waunet_forward(m));
    double *yi = tu_read(nn, &out);
    e.output_inference = tu_maxrel(yi, yref, nin);
    free(yi);
    free(x);
    free(tgt);
    free(yref);
    free(gin_ref);
    free(lref);
    free(y);
    free(gin);
    cr_tensor_release(nn, &din);
    cr_waunet_free(m);
    return e;
}

static void report(const char *what, const errors *e)
{
    printf("%s: max relative error output %.3g (inference %.3g), loss %.3g, grad v %.3g, g %.3g, b %.3g, "
           "input %.3g\n",
           what, e->output, e->output_inference, e->loss, e->grad_v, e->grad_g, e->grad_b, e->grad_input);
}

int main(void)
{
    const char *src = getenv("CLRESTORE_TEST_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/fixtures/golden_waunet_small.h5", src ? src : "tests");
    cr_runtime *rt = tu_runtime();
    if (!rt) return 77;
    cr_checkpoint *c = NULL;
    CHECK_OK(cr_checkpoint_load(path, &c));
    if (!c) return test_finish("test_cl_waunet_golden");
    CHECK(c->nlayers == 41);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);

    cr_nn *nd = tu_double_engine(rt);
    if (nd) {
        errors e = run(nd, c, f, 1);
        report("double", &e);
        double tol = 1e-9;
        CHECK(e.output < tol && e.loss < tol && e.grad_v < tol && e.grad_g < tol && e.grad_b < tol &&
              e.grad_input < tol && e.output_inference < tol);
        cr_nn_free(nd);
    }
    cr_nn *nf = NULL;
    CHECK_OK(cr_nn_create(rt, CR_FLOAT, &nf));
    errors e = run(nf, c, f, 0);
    report("float", &e);
    double tol = 1e-4;
    CHECK(e.output < tol && e.loss < tol && e.grad_v < tol && e.grad_g < tol && e.grad_b < tol &&
          e.grad_input < tol && e.output_inference < tol);
    cr_nn_free(nf);
    H5Fclose(f);
    cr_checkpoint_free(c);
    cr_runtime_free(rt);
    return test_finish("test_cl_waunet_golden");
}
