/* ReLU, residual add, channel concat, 2x2 max-pool, depth-to-space and MSE:
 * forward on the float engine against plain-C double references written
 * here; gradients on the double engine against central differences of the
 * device forward; max-pool tie-breaking; backward accumulates; the concat of
 * a tensor with itself; every row of the engine's kernel table builds. */
#include "clrestore/nn.h"
#include "nn_internal.h" /* the kernel table, every row built below */
#include "nn_testutil.h"

enum { OP_RELU, OP_ADD, OP_CONCAT, OP_POOL, OP_D2S, OP_MSE };
static const char *op_names[] = {"relu", "add", "concat", "maxpool2", "depth_to_space", "mse"};

typedef struct op_run {
    cr_nn *nn;
    int op, nin;
    cr_tensor in[2], y;
    double *r; /* dL/dy; for MSE the loss itself is L */
    size_t ny;
} op_run;

static void op_forward(op_run *o)
{
    cr_nn *nn = o->nn;
    switch (o->op) {
    case OP_RELU: CHECK_OK(cr_relu_forward(nn, &o->y, &o->in[0])); break;
    case OP_ADD: CHECK_OK(cr_add_forward(nn, &o->y, &o->in[0], &o->in[1])); break;
    case OP_CONCAT: CHECK_OK(cr_concat_forward(nn, &o->y, &o->in[0], &o->in[1])); break;
    case OP_POOL: CHECK_OK(cr_maxpool2_forward(nn, &o->y, &o->in[0])); break;
    case OP_D2S: CHECK_OK(cr_depth_to_space_forward(nn, &o->y, &o->in[0])); break;
    }
}

static double op_loss(void *ctx)
{
    op_run *o = ctx;
    if (o->op == OP_MSE) {
        double l = 0;
        CHECK_OK(cr_mse_forward(o->nn, &l, &o->in[0], &o->in[1]));
        return l;
    }
    op_forward(o);
    double *y = tu_read(o->nn, &o->y);
    double l = tu_dot(y, o->r, o->ny);
    free(y);
    return l;
}

/* gradients of the inputs (accumulated onto g, which may hold NULLs) */
static void op_backward(op_run *o, const cr_tensor *g0, const cr_tensor *g1, const cr_tensor *dy)
{
    cr_nn *nn = o->nn;
    switch (o->op) {
    case OP_RELU: CHECK_OK(cr_relu_backward(nn, g0, dy, &o->y)); break;
    case OP_ADD: CHECK_OK(cr_add_backward(nn, g0, g1, dy)); break;
    case OP_CONCAT: CHECK_OK(cr_concat_backward(nn, g0, g1, dy)); break;
    case OP_POOL: CHECK_OK(cr_maxpool2_backward(nn, g0, dy, &o->in[0])); break;
    case OP_D2S: CHECK_OK(cr_depth_to_space_backward(nn, g0, dy)); break;
    case OP_MSE: CHECK_OK(cr_mse_backward(nn, g0, &o->in[0], &o->in[1], 1.0)); break;
    }
}

/* shapes: in[i] = s[i][0..3]; y = ys; yref = double reference output (or the
 * loss for MSE in yref[0]); x[i] host inputs */
static void run_op(cr_nn *nf, cr_nn *nd, int op, int nin, const int s[2][4], const int ys[4], double *x[2],
                   const double *yref)
{
    size_t ny = (size_t)ys[0] * ys[1] * ys[2] * ys[3];
    double *rr = tu_alloc(ny);
    tu_fill(rr, ny, -1, 1);
    for (int pass = 0; pass < 2; pass++) {
        cr_nn *nn = pass == 0 ? nf : nd;
        if (!nn) continue;
        op_run o = {nn, op, nin, {{0}, {0}}, {0}, rr, ny};
        for (int i = 0; i < nin; i++) o.in[i] = tu_tensor(nn, s[i][0], s[i][1], s[i][2], s[i][3], x[i], "in");
        o.y = tu_tensor(nn, ys[0], ys[1], ys[2], ys[3], NULL, "y");
        double tol = pass == 0 ? 1e-5 : 1e-13;
        if (op == OP_MSE) {
            double l = op_loss(&o);
            CHECK_MSG(fabs(l - yref[0]) <= tol * fabs(yref[0]), "mse: %.12g vs %.12g", l, yref[0]);
        } else {
            op_forward(&o);
            double *y = tu_read(nn, &o.y);
            double e = tu_maxrel(y, yref, ny);
            CHECK_MSG(e < tol, "%s: %s forward rel error %.3g", op_names[op], pass ? "double" : "float", e);
            free(y);
        }
        if (pass == 1) {
            cr_tensor dy = tu_tensor(nn, ys[0], ys[1], ys[2], ys[3], rr, "dy");
            cr_tensor g[2];
            int ng = op == OP_MSE ? 1 : nin; /* MSE: no gradient for the target */
            for (int i = 0; i < ng; i++) {
                g[i] = tu_tensor(nn, s[i][0], s[i][1], s[i][2], s[i][3], NULL, "grad");
                CHECK_OK(cr_nn_fill(nn, &g[i], 0.5)); /* backward must add onto this */
            }
            op_backward(&o, &g[0], ng > 1 ? &g[1] : NULL, &dy);
            for (int i = 0; i < ng; i++) {
                double *ga = tu_read(nn, &g[i]);
                size_t n = cr_tensor_count(&g[i]);
                for (size_t j = 0; j < n; j++) ga[j] -= 0.5;
                double e = tu_fd_check(nn, &o.in[i], x[i], ga, op_loss, &o, 1e-6, 500);
                CHECK_MSG(e < 1e-7, "%s: gradient of input %d rel error %.3g", op_names[op], i, e);
                free(ga);
                cr_tensor_release(nn, &g[i]);
            }
            cr_tensor_release(nn, &dy);
        }
        for (int i = 0; i < nin; i++) cr_tensor_release(nn, &o.in[i]);
        cr_tensor_release(nn, &o.y);
    }
    free(rr);
}

/* values in [-1, 1] at least 1e-3 away from 0, so ReLU's kink is never
 * crossed by the finite-difference step */
static void fill_away_from_zero(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v = tu_uniform(-1, 1);
        x[i] = v < 0 ? v - 1e-3 : v + 1e-3;
    }
}

static void test_all(cr_nn *nf, cr_nn *nd)
{
    enum { N = 2, C = 5, H = 7, W = 11, HW = H * W, CNT = N * C * HW };
    double *a = tu_alloc(CNT), *b = tu_alloc(CNT), *y = tu_alloc(4 * CNT);
    fill_away_from_zero(a, CNT);
    fill_away_from_zero(b, CNT);
    int s5[2][4] = {{N, C, H, W}, {N, C, H, W}}, y5[4] = {N, C, H, W};

    for (int i = 0; i < CNT; i++) y[i] = a[i] > 0 ? a[i] : 0;
    run_op(nf, nd, OP_RELU, 1, s5, y5, (double *[2]){a, NULL}, y);

    for (int i = 0; i < CNT; i++) y[i] = a[i] + b[i];
    run_op(nf, nd, OP_ADD, 2, s5, y5, (double *[2]){a, b}, y);

    /* concat a (N, 3, H, W) and b (N, 2, H, W) */
    int sc[2][4] = {{N, 3, H, W}, {N, 2, H, W}};
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int p = 0; p < HW; p++)
                y[(n * C + c) * HW + p] = c < 3 ? a[(n * 3 + c) * HW + p] : b[(n * 2 + c - 3) * HW + p];
    run_op(nf, nd, OP_CONCAT, 2, sc, y5, (double *[2]){a, b}, y);
    /* only the second part's gradient wanted */
    {
        cr_tensor dy = tu_tensor(nf, N, C, H, W, y, "dy"), db = tu_tensor(nf, N, 2, H, W, NULL, "db");
        CHECK_OK(cr_nn_fill(nf, &db, 1));
        CHECK_OK(cr_concat_backward(nf, NULL, &db, &dy));
        double *g = tu_read(nf, &db);
        int bad = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < 2 * HW; i++) bad += fabs(g[n * 2 * HW + i] - 1 - y[(n * C + 3) * HW + i]) > 1e-6;
        CHECK_MSG(bad == 0, "concat backward with NULL da: %d wrong", bad);
        free(g);
        cr_tensor_release(nf, &dy);
        cr_tensor_release(nf, &db);
    }

    /* max-pool on 6 x 10 */
    int sp[2][4] = {{N, C, 6, 10}}, yp[4] = {N, C, 3, 5};
    for (int pl = 0; pl < N * C; pl++)
        for (int oy = 0; oy < 3; oy++)
            for (int ox = 0; ox < 5; ox++) {
                const double *q = a + pl * 60 + 2 * oy * 10 + 2 * ox;
                double m = fmax(fmax(q[0], q[1]), fmax(q[10], q[11]));
                y[(pl * 3 + oy) * 5 + ox] = m;
            }
    run_op(nf, nd, OP_POOL, 1, sp, yp, (double *[2]){a, NULL}, y);

    /* depth-to-space: x (N, 12, 3, 5) -> y (N, 3, 6, 10), TF order */
    int sd[2][4] = {{N, 12, 3, 5}}, yd[4] = {N, 3, 6, 10};
    for (int n = 0; n < N; n++)
        for (int c = 0; c < 3; c++)
            for (int r = 0; r < 3; r++)
                for (int s = 0; s < 5; s++)
                    for (int i = 0; i < 2; i++)
                        for (int j = 0; j < 2; j++)
                            y[((n * 3 + c) * 6 + 2 * r + i) * 10 + 2 * s + j] =
                                a[((n * 12 + (2 * i + j) * 3 + c) * 3 + r) * 5 + s];
    run_op(nf, nd, OP_D2S, 1, sd, yd, (double *[2]){a, NULL}, y);

    /* wide rows, so the vector paths (8 outputs per work-item) run as well as the tails */
    {
        enum { PH = 4, PW = 38, DH = 3, DW = 19 };
        enum { BIG = N * 4 * C * DH * DW > N * C * PH * PW ? N * 4 * C * DH * DW : N * C * PH * PW };
        double *pa = tu_alloc(BIG), *py = tu_alloc(BIG);
        tu_fill(pa, BIG, -1, 1);
        int sw[2][4] = {{N, C, PH, PW}}, yw[4] = {N, C, PH / 2, PW / 2};
        for (int pl = 0; pl < N * C; pl++)
            for (int oy = 0; oy < PH / 2; oy++)
                for (int ox = 0; ox < PW / 2; ox++) {
                    const double *q = pa + pl * PH * PW + 2 * oy * PW + 2 * ox;
                    py[(pl * PH / 2 + oy) * PW / 2 + ox] = fmax(fmax(q[0], q[1]), fmax(q[PW], q[PW + 1]));
                }
        run_op(nf, nd, OP_POOL, 1, sw, yw, (double *[2]){pa, NULL}, py);
        int sdw[2][4] = {{N, 4 * C, DH, DW}}, ydw[4] = {N, C, 2 * DH, 2 * DW};
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++)
                for (int r = 0; r < DH; r++)
                    for (int q = 0; q < DW; q++)
                        for (int i = 0; i < 2; i++)
                            for (int j = 0; j < 2; j++)
                                py[((n * C + c) * 2 * DH + 2 * r + i) * 2 * DW + 2 * q + j] =
                                    pa[((n * 4 * C + (2 * i + j) * C + c) * DH + r) * DW + q];
        run_op(nf, nd, OP_D2S, 1, sdw, ydw, (double *[2]){pa, NULL}, py);
        free(pa);
        free(py);
    }

    /* MSE over (N, C, H, W) */
    double l = 0;
    for (int i = 0; i < CNT; i++) l += (a[i] - b[i]) * (a[i] - b[i]);
    y[0] = l / CNT;
    int ym[4] = {1, 1, 1, 1};
    run_op(nf, nd, OP_MSE, 2, s5, ym, (double *[2]){a, b}, y);
    free(a);
    free(b);
    free(y);
}

/* Ties go to the first maximum in (0,0), (0,1), (1,0), (1,1) order. */
static void test_pool_ties(cr_nn *nn)
{
    double x[16] = {1, 1, 2, 5, /* window 0: all 1 -> (0,0); window 1: 5 at (0,1) and (1,1) -> (0,1) */
                    1, 1, 0, 5,
                    -3, -4, 7, 7, /* window 2: -1 at (1,0) and (1,1) -> (1,0); window 3: 7,7,7,7 -> (0,0) */
                    -1, -1, 7, 7};
    cr_tensor tx = tu_tensor(nn, 1, 1, 4, 4, x, "x"), ty = tu_tensor(nn, 1, 1, 2, 2, NULL, "y");
    cr_tensor dx = tu_tensor(nn, 1, 1, 4, 4, NULL, "dx"), dy = tu_tensor(nn, 1, 1, 2, 2, (double[]){1, 2, 3, 4}, "dy");
    CHECK_OK(cr_maxpool2_forward(nn, &ty, &tx));
    CHECK_OK(cr_nn_fill(nn, &dx, 0));
    CHECK_OK(cr_maxpool2_backward(nn, &dx, &dy, &tx));
    double *y = tu_read(nn, &ty), *g = tu_read(nn, &dx);
    CHECK(y[0] == 1 && y[1] == 5 && y[2] == -1 && y[3] == 7);
    double expect[16] = {1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 4, 0, 3, 0, 0, 0};
    for (int i = 0; i < 16; i++) CHECK_MSG(g[i] == expect[i], "dx[%d] = %g, expected %g", i, g[i], expect[i]);
    /* odd sizes are refused */
    cr_tensor odd = tu_tensor(nn, 1, 1, 3, 4, NULL, "odd");
    CHECK(cr_maxpool2_forward(nn, &ty, &odd) == CR_ERR_ARG);
    free(y);
    free(g);
    cr_tensor_release(nn, &tx);
    cr_tensor_release(nn, &ty);
    cr_tensor_release(nn, &dx);
    cr_tensor_release(nn, &dy);
    cr_tensor_release(nn, &odd);
}

/* Concat of a tensor with itself (the network's bottom level: concat(x, skip)
 * with skip = x): the backward gets one tensor as da and db, so both halves of
 * dy add into the same elements. Integer values keep the sums exact: every
 * repeat must give 1 + dy[:, :c] + dy[:, c:]. Done in one launch, two device
 * threads sometimes added into one element at once and lost an addition: in
 * the larger shape about one repeat in 20 on two PoCL threads, so 150 repeats
 * catch it (not with a single device thread, where no two items overlap). */
static void test_concat_self(cr_nn *nn)
{
    /* (n, c, h, w, repeats): the network's bottom for batch 2, and a larger one */
    static const int cases[][5] = {{2, 4, 16, 16, 20}, {4, 32, 128, 128, 150}};
    for (int ci = 0; ci < 2; ci++) {
        const int *s = cases[ci];
        int n = s[0], c = s[1], hw = s[2] * s[3], reps = s[4];
        size_t half = (size_t)c * hw, cnt = (size_t)n * half;
        double *dy = tu_alloc(2 * cnt), *want = tu_alloc(cnt);
        for (size_t i = 0; i < 2 * cnt; i++) dy[i] = (double)((int)(i * 7919 % 17) - 8);
        for (int b = 0; b < n; b++)
            for (size_t i = 0; i < half; i++) want[b * half + i] = 1 + dy[2 * b * half + i] + dy[(2 * b + 1) * half + i];
        cr_tensor tdy = tu_tensor(nn, n, 2 * c, s[2], s[3], dy, "dy");
        cr_tensor g = tu_tensor(nn, n, c, s[2], s[3], NULL, "g");
        int bad_runs = 0;
        size_t bad_first = 0;
        for (int rep = 0; rep < reps; rep++) {
            CHECK_OK(cr_nn_fill(nn, &g, 1));
            CHECK_OK(cr_concat_backward(nn, &g, &g, &tdy));
            double *got = tu_read(nn, &g);
            size_t bad = 0;
            for (size_t i = 0; i < cnt; i++) bad += got[i] != want[i];
            if (bad && !bad_runs) bad_first = bad;
            bad_runs += bad > 0;
            free(got);
        }
        CHECK_MSG(bad_runs == 0, "concat backward into one tensor twice, %dx%dx%dx%d: %d of %d repeats wrong (%zu "
                  "elements in the first)", n, c, s[2], s[3], bad_runs, reps, bad_first);
        cr_tensor_release(nn, &tdy);
        cr_tensor_release(nn, &g);
        free(dy);
        free(want);
    }
}

/* Views at nonzero offsets inside one buffer, and MSE scaling of dloss. */
static void test_offsets(cr_nn *nn)
{
    cr_tensor big;
    CHECK_OK(cr_tensor_alloc(nn, &big, 1, 1, 1, 64, "big"));
    CHECK_OK(cr_nn_fill(nn, &big, -7));
    cr_tensor a = cr_tensor_view(big.buf, 3, 1, 2, 2, 2), y = cr_tensor_view(big.buf, 20, 1, 2, 2, 2);
    double av[8] = {-1, 2, -3, 4, 5, -6, 7, -8};
    CHECK_OK(cr_tensor_write(nn, &a, av));
    CHECK_OK(cr_relu_forward(nn, &y, &a));
    double *all = tu_read(nn, &big);
    CHECK(all[2] == -7 && all[11] == -7 && all[19] == -7 && all[28] == -7);
    for (int i = 0; i < 8; i++) CHECK(all[20 + i] == (av[i] > 0 ? av[i] : 0));
    free(all);
    /* d(mse)/dp with dloss = 3 on p = (1, 2), t = (0, 0): 3 * 2 p / 2 = (3, 6) */
    cr_tensor p = cr_tensor_view(big.buf, 40, 1, 1, 1, 2), t = cr_tensor_view(big.buf, 42, 1, 1, 1, 2);
    cr_tensor dp = cr_tensor_view(big.buf, 44, 1, 1, 1, 2);
    CHECK_OK(cr_tensor_write(nn, &p, (double[]){1, 2}));
    CHECK_OK(cr_tensor_write(nn, &t, (double[]){0, 0}));
    CHECK_OK(cr_nn_fill(nn, &dp, 0));
    CHECK_OK(cr_mse_backward(nn, &dp, &p, &t, 3.0));
    double l = 0, g[2];
    CHECK_OK(cr_mse_forward(nn, &l, &p, &t));
    CHECK_OK(cr_tensor_read(nn, &dp, g));
    CHECK(l == 2.5 && g[0] == 3 && g[1] == 6);
    /* a view past the end of its buffer is refused */
    cr_tensor bad = cr_tensor_view(big.buf, 60, 1, 1, 1, 8);
    CHECK(cr_nn_fill(nn, &bad, 0) == CR_ERR_ARG);
    cr_tensor_release(nn, &big);
}

int main(void)
{
    cr_runtime *rt = tu_runtime();
    if (!rt) return 77;
    cr_nn *nf = NULL, *nd = NULL;
    CHECK_OK(cr_nn_create(rt, CR_FLOAT, &nf));
    nd = tu_double_engine(rt);
    tu_seed(7);
    test_all(nf, nd);
    test_pool_ties(nf);
    test_offsets(nf);
    test_concat_self(nf);
    /* every row of the engine's kernel table names a kernel its file has */
    for (int e = 0; e < 2; e++) {
        cr_nn *nn = e ? nd : nf;
        for (int id = 0; nn && id < CR_NNK_COUNT; id++) {
            cl_kernel k = NULL;
            cr_status st = cr_nn_kernel(nn, (cr_nnk)id, &k);
            CHECK_MSG(st == CR_OK && k, "kernel %d (%s engine): %s", id, e ? "double" : "float",
                      st == CR_OK ? "" : cr_error_message());
        }
    }
    cr_nn_free(nf);
    cr_nn_free(nd);
    CHECK(cr_runtime_mem_current(rt) == 0);
    cr_runtime_free(rt);
    return test_finish("test_cl_nn_layers");
}
