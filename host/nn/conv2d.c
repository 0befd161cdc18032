/* 2-D convolution with TensorFlow "same" padding, stride 1 or 2, and a fused
 * bias + ReLU + residual epilogue: forward and backward (kernels/conv2d.cl).
 *
 * Float engines run the implicit-GEMM kernels of conv_fast (kernels/conv_gemm.cl,
 * docs/perf-conv.md). Double engines (gradient checks) keep the reference kernels
 * of conv2d.cl: one work-item per output element, weight- and bias-gradient
 * kernels that loop over the batch. Both follow the contract of
 * include/clrestore/nn.h; tests/test_cl_nn_conv2d.c checks the float forward
 * against plain C and the float backward against the double engine. */
#include <string.h>

#include "nn_internal.h"

/* flag bits of kernels/conv2d.cl */
enum { K_RELU = 1, K_RESIDUAL = 2, K_BIAS = 4 };

void cr_conv2d_same(int in, int k, int stride, int *out, int *pad_before)
{
    int o = (in + stride - 1) / stride;
    int total = (o - 1) * stride + k - in;
    if (total < 0) total = 0;
    *out = o;
    *pad_before = total / 2;
}

/* Geometry shared by forward and backward. */
typedef struct conv_geom {
    int n, cin, h, w, cout, ho, wo, k, s, pad_y, pad_x, flags;
} conv_geom;

/* The engine's conv_fast handle, created on first use. */
static cr_status fast_handle(cr_nn *nn, conv_fast **out)
{
    if (!nn->cf) {
        cr_status st = conv_fast_create(nn->rt, &nn->cf);
        if (st != CR_OK) return st;
    }
    *out = nn->cf;
    return CR_OK;
}

static conv_fast_mem fm(const cr_tensor *t)
{
    conv_fast_mem m = {t ? t->buf : NULL, t ? t->off : 0};
    return m;
}

static cr_status fast_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *x, const cr_tensor *res,
                              const cr_tensor *w, const cr_tensor *b, const conv_geom *g)
{
    conv_fast *cf;
    cr_status st = fast_handle(nn, &cf);
    if (st != CR_OK) return st;
    return conv_fast_forward(cf, fm(y), fm(x), fm(w), fm(b), fm((g->flags & K_RESIDUAL) ? res : NULL),
                             (g->flags & K_RELU) != 0, g->n, g->cin, g->h, g->w, g->cout, g->k, g->s);
}

/* Float backward: with RELU, dz = dy masked by the forward output (and dres += dy in the
 * same pass) goes to a scratch buffer, so the GEMM kernels stay free of mask logic; without
 * it dz is dy itself. dX and dW/db then come from conv_fast (which accumulate). */
static cr_status fast_backward(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dw, const cr_tensor *db,
                               const cr_tensor *dres, const cr_tensor *dy, const cr_tensor *y,
                               const cr_tensor *x, const cr_tensor *res, const cr_tensor *w, const conv_geom *g)
{
    cr_status st;
    conv_fast *cf;
    CR_TRY(fast_handle(nn, &cf));
    int has_res = (g->flags & K_RESIDUAL) != 0;
    const cr_tensor *dr = has_res ? dres : NULL;
    conv_fast_mem dz = fm(dy);
    if (g->flags & K_RELU) {
        size_t count = cr_tensor_count(dy), bytes = count * sizeof(float);
        if (!dx && !dw && !db) /* only the residual's gradient is wanted */
            return dr ? cr_nn_axpy(nn, dr, dy, 1.0) : CR_OK;
        if (!nn->conv_dz || nn->conv_dz_bytes < bytes) {
            cr_buffer_release(nn->rt, &nn->conv_dz);
            nn->conv_dz_bytes = 0;
            CR_TRY(cr_buffer_create(nn->rt, bytes, "conv2d gradient before the ReLU", &nn->conv_dz));
            nn->conv_dz_bytes = bytes;
        }
        dz.buf = nn->conv_dz;
        dz.off = 0;
        CR_TRY(conv_fast_relu_mask(cf, dz, fm(dr), fm(dy), fm(y), fm(has_res ? res : NULL), count));
    } else if (dr) {
        CR_TRY(cr_nn_axpy(nn, dr, dy, 1.0));
    }
    if (dx) CR_TRY(conv_fast_backward_input(cf, fm(dx), dz, fm(w), 1, g->n, g->cin, g->h, g->w, g->cout, g->k, g->s));
    if (dw || db)
        CR_TRY(conv_fast_backward_weights(cf, fm(dw), fm(db), dz, fm(x), g->n, g->cin, g->h, g->w, g->cout, g->k,
                                          g->s));
cleanup:
    return st;
}

static cr_status conv_check(cr_nn *nn, const cr_conv2d *cv, const cr_tensor *x, const cr_tensor *wt,
                            conv_geom *g)
{
    cr_status st;
    if (!cv || cv->cin < 1 || cv->cout < 1 || cv->k < 1 || (cv->stride != 1 && cv->stride != 2) ||
        (cv->flags & ~(unsigned)(CR_CONV_RELU | CR_CONV_RESIDUAL)))
        return cr_fail(CR_ERR_ARG, "conv2d: bad description (cin %d, cout %d, k %d, stride %d, flags %#x)",
                       cv ? cv->cin : 0, cv ? cv->cout : 0, cv ? cv->k : 0, cv ? cv->stride : 0,
                       cv ? cv->flags : 0u);
    CR_TRY(cr_nn_check(nn, x, "conv2d x"));
    if (x->c != cv->cin) return cr_fail(CR_ERR_ARG, "conv2d x: %d channels, expected %d", x->c, cv->cin);
    CR_TRY(cr_nn_check_shape(nn, wt, "conv2d w", cv->cout, cv->cin, cv->k, cv->k));
    memset(g, 0, sizeof *g);
    g->n = x->n;
    g->cin = cv->cin;
    g->h = x->h;
    g->w = x->w;
    g->cout = cv->cout;
    g->k = cv->k;
    g->s = cv->stride;
    cr_conv2d_same(x->h, cv->k, cv->stride, &g->ho, &g->pad_y);
    cr_conv2d_same(x->w, cv->k, cv->stride, &g->wo, &g->pad_x);
    g->flags = ((cv->flags & CR_CONV_RELU) ? K_RELU : 0) | ((cv->flags & CR_CONV_RESIDUAL) ? K_RESIDUAL : 0);
cleanup:
    return st;
}

cr_status cr_conv2d_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *x, const cr_tensor *res,
                            const cr_tensor *w, const cr_tensor *b, const cr_conv2d *cv)
{
    cr_status st;
    cl_kernel k = NULL;
    conv_geom g;
    CR_TRY(conv_check(nn, cv, x, w, &g));
    CR_TRY(cr_nn_check_shape(nn, y, "conv2d y", g.n, g.cout, g.ho, g.wo));
    if (b) {
        CR_TRY(cr_nn_check(nn, b, "conv2d b"));
        if (cr_tensor_count(b) != (size_t)g.cout)
            return cr_fail(CR_ERR_ARG, "conv2d b: %zu elements, expected %d", cr_tensor_count(b), g.cout);
        g.flags |= K_BIAS;
    }
    if (g.flags & K_RESIDUAL) {
        CR_TRY(cr_nn_check_shape(nn, res, "conv2d res", g.n, g.cout, g.ho, g.wo));
        if ((g.flags & K_RELU) && res->buf == y->buf && res->off == y->off)
            return cr_fail(CR_ERR_ARG, "conv2d: ReLU + residual cannot run in place (backward needs both)");
    }
    if (nn->prec == CR_FLOAT) return fast_forward(nn, y, x, res, w, b, &g);
    CR_TRY(cr_nn_kernel(nn, CR_NNK_CONV_FWD, &k));
    /* unused buffers get x's handle: the kernel never reads them */
    cl_mem rbuf = (g.flags & K_RESIDUAL) ? res->buf : x->buf, bbuf = b ? b->buf : x->buf;
    int yoff = (int)y->off, xoff = (int)x->off, roff = (g.flags & K_RESIDUAL) ? (int)res->off : 0;
    int woff = (int)w->off, boff = b ? (int)b->off : 0;
    CR_TRY(cr_kernel_args(k, 22, KA(y->buf), KA(yoff), KA(x->buf), KA(xoff), KA(rbuf), KA(roff), KA(w->buf),
                          KA(woff), KA(bbuf), KA(boff), KA(g.n), KA(g.cin), KA(g.h), KA(g.w), KA(g.cout), KA(g.ho),
                          KA(g.wo), KA(g.k), KA(g.s), KA(g.pad_y), KA(g.pad_x), KA(g.flags)));
    size_t global[3] = {(size_t)g.wo, (size_t)g.ho, (size_t)g.n * (size_t)g.cout};
    CR_TRY(cr_enqueue(nn->rt, k, 3, global, NULL));
cleanup:
    return st;
}

cr_status cr_conv2d_backward(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dw, const cr_tensor *db,
                             const cr_tensor *dres, const cr_tensor *dy, const cr_tensor *y,
                             const cr_tensor *x, const cr_tensor *res, const cr_tensor *w,
                             const cr_conv2d *cv)
{
    cr_status st;
    cl_kernel k = NULL;
    conv_geom g;
    CR_TRY(conv_check(nn, cv, x, w, &g));
    CR_TRY(cr_nn_check_shape(nn, dy, "conv2d dy", g.n, g.cout, g.ho, g.wo));
    if (g.flags & K_RELU) CR_TRY(cr_nn_check_shape(nn, y, "conv2d y (ReLU mask)", g.n, g.cout, g.ho, g.wo));
    if ((g.flags & K_RELU) && (g.flags & K_RESIDUAL))
        CR_TRY(cr_nn_check_shape(nn, res, "conv2d res (ReLU mask)", g.n, g.cout, g.ho, g.wo));
    if (dx) CR_TRY(cr_nn_check_shape(nn, dx, "conv2d dx", g.n, g.cin, g.h, g.w));
    if (dw) CR_TRY(cr_nn_check_shape(nn, dw, "conv2d dw", g.cout, g.cin, g.k, g.k));
    if (db) {
        CR_TRY(cr_nn_check(nn, db, "conv2d db"));
        if (cr_tensor_count(db) != (size_t)g.cout)
            return cr_fail(CR_ERR_ARG, "conv2d db: %zu elements, expected %d", cr_tensor_count(db), g.cout);
    }
    if (dres && (g.flags & K_RESIDUAL)) CR_TRY(cr_nn_check_shape(nn, dres, "conv2d dres", g.n, g.cout, g.ho, g.wo));
    if (nn->prec == CR_FLOAT) return fast_backward(nn, dx, dw, db, dres, dy, y, x, res, w, &g);
    /* the mask inputs exist only when the ReLU needs them; otherwise dy's handle stands in */
    int need_y = (g.flags & K_RELU) != 0, need_res = need_y && (g.flags & K_RESIDUAL);
    cl_mem ybuf = need_y ? y->buf : dy->buf, rbuf = need_res ? res->buf : dy->buf;
    int yoff = need_y ? (int)y->off : 0, roff = need_res ? (int)res->off : 0, dyoff = (int)dy->off;
    if (dx) {
        CR_TRY(cr_nn_kernel(nn, CR_NNK_CONV_BWD_DATA, &k));
        int dxoff = (int)dx->off, woff = (int)w->off;
        CR_TRY(cr_kernel_args(k, 22, KA(dx->buf), KA(dxoff), KA(dy->buf), KA(dyoff), KA(ybuf), KA(yoff),
                              KA(rbuf), KA(roff), KA(w->buf), KA(woff), KA(g.n), KA(g.cin), KA(g.h), KA(g.w),
                              KA(g.cout), KA(g.ho), KA(g.wo), KA(g.k), KA(g.s), KA(g.pad_y), KA(g.pad_x),
                              KA(g.flags)));
        size_t global[3] = {(size_t)g.w, (size_t)g.h, (size_t)g.n * (size_t)g.cin};
        CR_TRY(cr_enqueue(nn->rt, k, 3, global, NULL));
    }
    if (dw) {
        CR_TRY(cr_nn_kernel(nn, CR_NNK_CONV_BWD_WEIGHT, &k));
        int dwoff = (int)dw->off, xoff = (int)x->off;
        CR_TRY(cr_kernel_args(k, 22, KA(dw->buf), KA(dwoff), KA(dy->buf), KA(dyoff), KA(ybuf), KA(yoff),
                              KA(rbuf), KA(roff), KA(x->buf), KA(xoff), KA(g.n), KA(g.cin), KA(g.h), KA(g.w),
                              KA(g.cout), KA(g.ho), KA(g.wo), KA(g.k), KA(g.s), KA(g.pad_y), KA(g.pad_x),
                              KA(g.flags)));
        size_t global[3] = {(size_t)g.k * (size_t)g.k, (size_t)g.cin, (size_t)g.cout};
        CR_TRY(cr_enqueue(nn->rt, k, 3, global, NULL));
    }
    if (db) {
        CR_TRY(cr_nn_kernel(nn, CR_NNK_CONV_BWD_BIAS, &k));
        int dboff = (int)db->off;
        CR_TRY(cr_kernel_args(k, 13, KA(db->buf), KA(dboff), KA(dy->buf), KA(dyoff), KA(ybuf), KA(yoff), KA(rbuf),
                              KA(roff), KA(g.n), KA(g.cout), KA(g.ho), KA(g.wo), KA(g.flags)));
        size_t global = (size_t)g.cout;
        CR_TRY(cr_enqueue(nn->rt, k, 1, &global, NULL));
    }
    /* the residual passes dy through unchanged */
    if (dres && (g.flags & K_RESIDUAL)) CR_TRY(cr_nn_axpy(nn, dres, dy, 1.0));
cleanup:
    return st;
}
