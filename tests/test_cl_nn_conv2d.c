/* conv2d: TF "same" geometry against REFERENCE.md's numbers; forward (float
 * engine) against a plain-C double reference written here; gradients of x, w,
 * b and the residual (double engine) against central differences of the
 * device forward, for k = 1, 3, 4, strides 1 and 2, odd and even sizes, with
 * and without bias, ReLU and residual; the float engine's forward with both
 * kernel sets (tiled and reference). The float engine's backward (tiled
 * kernels, host/nn/conv_fast.c) against the double engine's on the same inputs, with
 * every float tensor a view at an odd offset into one shared buffer. */
#include "clrestore/nn.h"
#include "nn_testutil.h"
#include "nn_internal.h" /* cr_conv2d_backward_store_relu */

typedef struct conv_case {
    int n, cin, cout, h, w, k, s;
    unsigned flags;
    int bias;
} conv_case;

/* Independent statement of the TF rule: out = ceil(in/s),
 * pad_total = max((out-1)s + k - in, 0), before = floor(pad_total/2). */
static void ref_same(int in, int k, int s, int *out, int *before)
{
    *out = (in + s - 1) / s;
    int total = (*out - 1) * s + k - in;
    *before = total > 0 ? total / 2 : 0;
}

/* y = [relu](conv(x, w) + b) [+ res], all double, cross-correlation as TF. */
static void ref_conv(double *y, const double *x, const double *res, const double *w, const double *b,
                     const conv_case *c)
{
    int ho, wo, py, px;
    ref_same(c->h, c->k, c->s, &ho, &py);
    ref_same(c->w, c->k, c->s, &wo, &px);
    for (int n = 0; n < c->n; n++)
        for (int co = 0; co < c->cout; co++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    double acc = c->bias ? b[co] : 0;
                    for (int ci = 0; ci < c->cin; ci++)
                        for (int ky = 0; ky < c->k; ky++)
                            for (int kx = 0; kx < c->k; kx++) {
                                int iy = oy * c->s + ky - py, ix = ox * c->s + kx - px;
                                if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w) continue;
                                acc += w[((co * c->cin + ci) * c->k + ky) * c->k + kx] *
                                       x[((n * c->cin + ci) * c->h + iy) * c->w + ix];
                            }
                    if ((c->flags & CR_CONV_RELU) && acc < 0) acc = 0;
                    size_t o = ((size_t)(n * c->cout + co) * ho + oy) * wo + ox;
                    if (c->flags & CR_CONV_RESIDUAL) acc += res[o];
                    y[o] = acc;
                }
}

/* Device state of one case on one engine. */
typedef struct conv_run {
    cr_nn *nn;
    cr_conv2d cv;
    int has_bias;
    cr_tensor x, w, b, res, y;
    double *r; /* dL/dy: the loss is sum(y * r) */
    size_t ny;
} conv_run;

static void run_forward(conv_run *r)
{
    CHECK_OK(cr_conv2d_forward(r->nn, &r->y, &r->x, (r->cv.flags & CR_CONV_RESIDUAL) ? &r->res : NULL, &r->w,
                               r->has_bias ? &r->b : NULL, &r->cv));
}

static double conv_loss(void *ctx)
{
    conv_run *r = ctx;
    run_forward(r);
    double *y = tu_read(r->nn, &r->y);
    double l = tu_dot(y, r->r, r->ny);
    free(y);
    return l;
}

static void run_case(cr_nn *nf, cr_nn *nd, const conv_case *c)
{
    int ho, wo, py, px;
    ref_same(c->h, c->k, c->s, &ho, &py);
    ref_same(c->w, c->k, c->s, &wo, &px);
    size_t nx = (size_t)c->n * c->cin * c->h * c->w, nw = (size_t)c->cout * c->cin * c->k * c->k;
    size_t ny = (size_t)c->n * c->cout * ho * wo;
    double *x = tu_alloc(nx), *w = tu_alloc(nw), *b = tu_alloc(c->cout), *res = tu_alloc(ny);
    double *yref = tu_alloc(ny), *rr = tu_alloc(ny);
    tu_fill(x, nx, -1, 1);
    tu_fill(w, nw, -0.5, 0.5);
    tu_fill(b, c->cout, -0.3, 0.3);
    tu_fill(res, ny, -1, 1);
    tu_fill(rr, ny, -1, 1);
    ref_conv(yref, x, res, w, b, c);
    char label[96];
    snprintf(label, sizeof label, "n%d cin%d cout%d %dx%d k%d s%d flags%u bias%d", c->n, c->cin, c->cout, c->h,
             c->w, c->k, c->s, c->flags, c->bias);

    /* pass 0: float, tiled engine; 1: double (reference kernels); 2: float, reference kernels */
    static const char *const pass_name[3] = {"float", "double", "float reference"};
    for (int pass = 0; pass < 3; pass++) {
        cr_nn *nn = pass == 1 ? nd : nf;
        if (!nn) continue;
        cr_conv_engine eng = pass == 2 ? CR_CONV_REFERENCE : CR_CONV_AUTO;
        conv_run r = {nn, {c->cin, c->cout, c->k, c->s, c->flags, eng}, c->bias, {0}, {0}, {0}, {0}, {0}, rr, ny};
        CHECK(cr_conv2d_engine(nn, &r.cv) == (pass == 0 ? CR_CONV_TILED : CR_CONV_REFERENCE));
        r.x = tu_tensor(nn, c->n, c->cin, c->h, c->w, x, "x");
        r.w = tu_tensor(nn, c->cout, c->cin, c->k, c->k, w, "w");
        r.b = tu_tensor(nn, 1, c->cout, 1, 1, b, "b");
        r.res = tu_tensor(nn, c->n, c->cout, ho, wo, res, "res");
        r.y = tu_tensor(nn, c->n, c->cout, ho, wo, NULL, "y");
        run_forward(&r);
        double *y = tu_read(nn, &r.y);
        double e = tu_maxrel(y, yref, ny);
        double tol = pass == 1 ? 1e-12 : 1e-5;
        CHECK_MSG(e < tol, "%s: %s forward rel error %.3g", label, pass_name[pass], e);
        free(y);
        if ((c->flags & CR_CONV_RESIDUAL) && !(c->flags & CR_CONV_RELU)) {
            /* in place: y starts as the residual and is its own res */
            CHECK_OK(cr_tensor_write(nn, &r.y, res));
            CHECK_OK(cr_conv2d_forward(nn, &r.y, &r.x, &r.y, &r.w, c->bias ? &r.b : NULL, &r.cv));
            y = tu_read(nn, &r.y);
            e = tu_maxrel(y, yref, ny);
            CHECK_MSG(e < tol, "%s: in-place residual forward rel error %.3g", label, e);
            free(y);
        }
        if (pass == 1) {
            /* analytic gradients with dy = r, accumulated onto a nonzero start
             * (0.25) to check that backward adds rather than overwrites */
            cr_tensor dy = tu_tensor(nn, c->n, c->cout, ho, wo, rr, "dy");
            cr_tensor dx = tu_tensor(nn, c->n, c->cin, c->h, c->w, NULL, "dx");
            cr_tensor dw = tu_tensor(nn, c->cout, c->cin, c->k, c->k, NULL, "dw");
            cr_tensor db = tu_tensor(nn, 1, c->cout, 1, 1, NULL, "db");
            cr_tensor dres = tu_tensor(nn, c->n, c->cout, ho, wo, NULL, "dres");
            const cr_tensor *all[] = {&dx, &dw, &db, &dres};
            for (int i = 0; i < 4; i++) CHECK_OK(cr_nn_fill(nn, all[i], 0.25));
            CHECK_OK(cr_conv2d_backward(nn, &dx, &dw, c->bias ? &db : NULL, &dres, &dy, &r.y, &r.x, &r.res, &r.w,
                                        &r.cv));
            double *gx = tu_read(nn, &dx), *gw = tu_read(nn, &dw), *gb = tu_read(nn, &db), *gr = tu_read(nn, &dres);
            for (size_t i = 0; i < nx; i++) gx[i] -= 0.25;
            for (size_t i = 0; i < nw; i++) gw[i] -= 0.25;
            for (int i = 0; i < c->cout; i++) gb[i] -= 0.25;
            for (size_t i = 0; i < ny; i++) gr[i] -= 0.25;
            const double h = 1e-6, tol_fd = 1e-7;
            double ex = tu_fd_check(nn, &r.x, x, gx, conv_loss, &r, h, 400);
            double ew = tu_fd_check(nn, &r.w, w, gw, conv_loss, &r, h, 400);
            CHECK_MSG(ex < tol_fd, "%s: dx rel error %.3g", label, ex);
            CHECK_MSG(ew < tol_fd, "%s: dw rel error %.3g", label, ew);
            if (c->bias) {
                double eb = tu_fd_check(nn, &r.b, b, gb, conv_loss, &r, h, 400);
                CHECK_MSG(eb < tol_fd, "%s: db rel error %.3g", label, eb);
            } else {
                for (int i = 0; i < c->cout; i++) CHECK(gb[i] == 0); /* NULL db: untouched */
            }
            if (c->flags & CR_CONV_RESIDUAL) {
                double er = tu_fd_check(nn, &r.res, res, gr, conv_loss, &r, h, 400);
                CHECK_MSG(er < tol_fd, "%s: dres rel error %.3g", label, er);
            }
            free(gx);
            free(gw);
            free(gb);
            free(gr);
            for (int i = 0; i < 4; i++) cr_tensor_release(nn, (cr_tensor *)all[i]);
            cr_tensor_release(nn, &dy);
        }
        cr_tensor_release(nn, &r.x);
        cr_tensor_release(nn, &r.w);
        cr_tensor_release(nn, &r.b);
        cr_tensor_release(nn, &r.res);
        cr_tensor_release(nn, &r.y);
    }
    free(x);
    free(w);
    free(b);
    free(res);
    free(yref);
    free(rr);
}

/* Float backward vs double backward. The forward output y (the ReLU mask) is
 * computed once in double and written to both engines, so both use the same
 * mask. Float tensors live at odd offsets in one buffer, like the network's
 * arena views. */
static void check_float_backward(cr_nn *nf, cr_nn *nd, const conv_case *c)
{
    int ho, wo, py, px;
    ref_same(c->h, c->k, c->s, &ho, &py);
    ref_same(c->w, c->k, c->s, &wo, &px);
    size_t nx = (size_t)c->n * c->cin * c->h * c->w, nw = (size_t)c->cout * c->cin * c->k * c->k;
    size_t ny = (size_t)c->n * c->cout * ho * wo;
    double *x = tu_alloc(nx), *w = tu_alloc(nw), *b = tu_alloc(c->cout), *res = tu_alloc(ny);
    double *y = tu_alloc(ny), *dy = tu_alloc(ny);
    tu_fill(x, nx, -1, 1);
    tu_fill(w, nw, -0.5, 0.5);
    tu_fill(b, c->cout, -0.3, 0.3);
    tu_fill(res, ny, -1, 1);
    tu_fill(dy, ny, -1, 1);
    ref_conv(y, x, res, w, b, c);
    cr_conv2d cv = {c->cin, c->cout, c->k, c->s, c->flags, CR_CONV_AUTO};
    /* x, w, b, res, y, dy, dx, dw, db, dres */
    const size_t counts[10] = {nx, nw, (size_t)c->cout, ny, ny, ny, nx, nw, (size_t)c->cout, ny};
    const int shapes[10][4] = {{c->n, c->cin, c->h, c->w}, {c->cout, c->cin, c->k, c->k}, {1, c->cout, 1, 1},
                               {c->n, c->cout, ho, wo}, {c->n, c->cout, ho, wo}, {c->n, c->cout, ho, wo},
                               {c->n, c->cin, c->h, c->w}, {c->cout, c->cin, c->k, c->k}, {1, c->cout, 1, 1},
                               {c->n, c->cout, ho, wo}};
    const double *host[10] = {x, w, b, res, y, dy, NULL, NULL, NULL, NULL};
    size_t total = 0;
    for (int i = 0; i < 10; i++) total += counts[i] + 3;
    cl_mem arena = NULL;
    CHECK_OK(cr_buffer_create(cr_nn_runtime(nf), total * sizeof(float), "test arena", &arena));
    cr_tensor whole = cr_tensor_view(arena, 0, 1, 1, 1, (int)total);
    CHECK_OK(cr_nn_fill(nf, &whole, 0.0));
    cr_tensor tf[10], td[10];
    size_t off = 3;
    for (int i = 0; i < 10; i++) {
        const int *sh = shapes[i];
        tf[i] = cr_tensor_view(arena, off, sh[0], sh[1], sh[2], sh[3]);
        off += counts[i] + 3;
        td[i] = tu_tensor(nd, sh[0], sh[1], sh[2], sh[3], host[i], "t");
        if (host[i])
            CHECK_OK(cr_tensor_write(nf, &tf[i], host[i]));
        else {
            CHECK_OK(cr_nn_fill(nf, &tf[i], 0.25));
            CHECK_OK(cr_nn_fill(nd, &td[i], 0.25));
        }
    }
    cr_tensor *T[2] = {tf, td};
    cr_nn *E[2] = {nf, nd};
    double *g[2][4];
    for (int e = 0; e < 2; e++) {
        cr_tensor *t = T[e];
        CHECK_OK(cr_conv2d_backward(E[e], &t[6], &t[7], c->bias ? &t[8] : NULL, &t[9], &t[5], &t[4], &t[0], &t[3],
                                    &t[1], &cv));
        for (int i = 0; i < 4; i++) g[e][i] = tu_read(E[e], &t[6 + i]);
    }
    /* the storing form: dx over a buffer of garbage must come out as the accumulated dx
     * less what dx held before (0.25), every element written (odd sizes, stride 2, padding) */
    for (int e = 0; e < 2; e++) {
        cr_tensor *t = T[e];
        CHECK_OK(cr_nn_fill(E[e], &t[6], 7.0));
        CHECK_OK(cr_conv2d_backward_store(E[e], &t[6], NULL, NULL, NULL, &t[5], &t[4], &t[0], &t[3], &t[1], &cv));
        double *st = tu_read(E[e], &t[6]), *want = tu_alloc(nx);
        for (size_t i = 0; i < nx; i++) want[i] = g[1][0][i] - 0.25;
        double err = tu_maxrel(st, want, nx);
        CHECK_MSG(err < 1e-4, "n%d cin%d cout%d %dx%d k%d s%d flags%u: %s stored dx vs double rel error %.3g", c->n,
                  c->cin, c->cout, c->h, c->w, c->k, c->s, c->flags, e ? "double" : "float", err);
        free(st);
        free(want);
    }
    /* through a ReLU whose output was x: dx = 0 where x <= 0 (x stands in for that output;
     * its signs are mixed), the rest as stored; the double engine has no such path */
    CHECK_OK(cr_nn_fill(nf, &tf[6], 7.0));
    CHECK_OK(cr_conv2d_backward_store_relu(nf, &tf[6], NULL, NULL, NULL, &tf[5], &tf[4], &tf[0], &tf[3], &tf[1], &cv,
                                           &tf[0]));
    {
        double *st = tu_read(nf, &tf[6]), *want = tu_alloc(nx);
        for (size_t i = 0; i < nx; i++) want[i] = x[i] > 0 ? g[1][0][i] - 0.25 : 0.0;
        double err = tu_maxrel(st, want, nx);
        size_t wrong_zero = 0;
        for (size_t i = 0; i < nx; i++) wrong_zero += x[i] <= 0 && st[i] != 0.0;
        CHECK_MSG(err < 1e-4 && wrong_zero == 0,
                  "n%d cin%d cout%d %dx%d k%d s%d flags%u: dx through the ReLU: rel error %.3g, %zu masked not 0",
                  c->n, c->cin, c->cout, c->h, c->w, c->k, c->s, c->flags, err, wrong_zero);
        free(st);
        free(want);
    }
    cr_error_clear();
    CHECK(cr_conv2d_backward_store_relu(nd, &td[6], NULL, NULL, NULL, &td[5], &td[4], &td[0], &td[3], &td[1], &cv,
                                        &td[0]) == CR_ERR_UNSUPPORTED);
    cr_error_clear();
    static const char *names[4] = {"dx", "dw", "db", "dres"};
    for (int i = 0; i < 4; i++) {
        double err = tu_maxrel(g[0][i], g[1][i], counts[6 + i]);
        CHECK_MSG(err < 1e-4, "n%d cin%d cout%d %dx%d k%d s%d flags%u bias%d: float %s vs double rel error %.3g",
                  c->n, c->cin, c->cout, c->h, c->w, c->k, c->s, c->flags, c->bias, names[i], err);
        free(g[0][i]);
        free(g[1][i]);
    }
    /* the padding between the views is untouched */
    float *all = malloc(total * sizeof *all);
    CHECK(all != NULL);
    CHECK_OK(cr_buffer_read(cr_nn_runtime(nf), arena, 0, total * sizeof(float), all));
    off = 0;
    for (int i = 0; i < 10; i++) {
        for (int j = 0; j < 3; j++) CHECK_MSG(all[off + j] == 0.0f, "view %d: guard %d overwritten", i, j);
        off += counts[i] + 3;
    }
    free(all);
    for (int i = 0; i < 10; i++) cr_tensor_release(nd, &td[i]);
    cr_buffer_release(cr_nn_runtime(nf), &arena);
    free(x);
    free(w);
    free(b);
    free(res);
    free(y);
    free(dy);
}

static void check_geometry(void)
{
    int out, pb;
    cr_conv2d_same(7, 3, 1, &out, &pb); /* REFERENCE.md: k=3 pads 1/1 */
    CHECK(out == 7 && pb == 1);
    cr_conv2d_same(7, 4, 1, &out, &pb); /* k=4 pads 1 before, 2 after */
    CHECK(out == 7 && pb == 1);
    cr_conv2d_same(7, 1, 1, &out, &pb);
    CHECK(out == 7 && pb == 0);
    cr_conv2d_same(6, 3, 2, &out, &pb); /* stride 2, even: half, pads 0/1 */
    CHECK(out == 3 && pb == 0);
    cr_conv2d_same(192, 3, 2, &out, &pb);
    CHECK(out == 96 && pb == 0);
    cr_conv2d_same(7, 3, 2, &out, &pb); /* odd: ceil, pad_total 2 -> 1/1 */
    CHECK(out == 4 && pb == 1);
    cr_conv2d_same(6, 4, 2, &out, &pb); /* pad_total 2 -> 1/1 */
    CHECK(out == 3 && pb == 1);
}

/* Shape errors are reported, not crashed on. */
static void check_errors(cr_nn *nn)
{
    cr_tensor x = tu_tensor(nn, 1, 3, 4, 4, NULL, "x"), w = tu_tensor(nn, 2, 3, 3, 3, NULL, "w");
    cr_tensor y = tu_tensor(nn, 1, 2, 4, 5, NULL, "y");
    cr_conv2d cv = {3, 2, 3, 1, 0, CR_CONV_AUTO};
    cr_status st = cr_conv2d_forward(nn, &y, &x, NULL, &w, NULL, &cv);
    CHECK(st == CR_ERR_ARG && strstr(cr_error_message(), "conv2d y"));
    cv.stride = 3;
    CHECK(cr_conv2d_forward(nn, &y, &x, NULL, &w, NULL, &cv) == CR_ERR_ARG);
    cv.stride = 1;
    cv.engine = CR_CONV_ENGINES;
    CHECK(cr_conv2d_forward(nn, &y, &x, NULL, &w, NULL, &cv) == CR_ERR_ARG);
    cr_tensor_release(nn, &x);
    cr_tensor_release(nn, &w);
    cr_tensor_release(nn, &y);
}

int main(void)
{
    cr_runtime *rt = tu_runtime();
    if (!rt) return 77;
    cr_nn *nf = NULL, *nd = NULL;
    CHECK_OK(cr_nn_create(rt, CR_FLOAT, &nf));
    nd = tu_double_engine(rt);
    check_geometry();
    check_errors(nf);
    if (nd) { /* the tiled engine is float only */
        cr_tensor x = tu_tensor(nd, 1, 3, 4, 4, NULL, "x"), w = tu_tensor(nd, 2, 3, 3, 3, NULL, "w");
        cr_tensor y = tu_tensor(nd, 1, 2, 4, 4, NULL, "y");
        cr_conv2d cv = {3, 2, 3, 1, 0, CR_CONV_TILED};
        CHECK(cr_conv2d_forward(nd, &y, &x, NULL, &w, NULL, &cv) == CR_ERR_UNSUPPORTED);
        cr_tensor_release(nd, &x), cr_tensor_release(nd, &w), cr_tensor_release(nd, &y);
    }
    tu_seed(42);
    static const conv_case cases[] = {
        {2, 5, 4, 7, 11, 1, 1, 0, 1},
        {2, 5, 4, 7, 11, 3, 1, 0, 1},
        {2, 5, 3, 7, 11, 4, 1, 0, 1},
        {2, 5, 4, 6, 10, 3, 2, CR_CONV_RELU, 1},
        {2, 3, 4, 7, 11, 3, 2, 0, 1},
        {1, 4, 3, 6, 10, 4, 2, 0, 0},
        {2, 5, 4, 7, 11, 3, 1, CR_CONV_RELU, 1},
        {2, 5, 5, 7, 11, 1, 1, CR_CONV_RESIDUAL, 0},
        {2, 3, 4, 6, 10, 3, 2, CR_CONV_RELU | CR_CONV_RESIDUAL, 1},
        {2, 4, 3, 7, 11, 4, 1, CR_CONV_RELU | CR_CONV_RESIDUAL, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_case(nf, nd, &cases[i]);
        if (nd) check_float_backward(nf, nd, &cases[i]);
    }
    cr_nn_free(nf);
    cr_nn_free(nd);
    CHECK(cr_runtime_mem_current(rt) == 0);
    cr_runtime_free(rt);
    return test_finish("test_cl_nn_conv2d");
}
