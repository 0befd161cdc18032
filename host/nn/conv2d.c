/* 2-D convolution with TensorFlow "same" padding, stride 1 or 2, and a fused
 * bias + ReLU + residual epilogue: forward and backward (kernels/conv2d.cl).
 *
 * Two engines behind one interface, chosen per op (cr_conv2d.engine): the
 * register-tiled implicit GEMM of conv_fast.h (kernels/conv_gemm.cl,
 * docs/perf-conv.md; float), and the reference kernels of conv2d.cl (one
 * work-item per output element, weight- and bias-gradient kernels that loop over
 * the batch; any precision, the double engine's gradient checks). Both follow the
 * contract of
 * include/clrestore/nn.h; tests/test_cl_nn_conv2d.c checks the float forward
 * against plain C and the float backward against the double engine. */
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

/* The public flags are the kernels' bits (kernels/conv_flags.h), passed through as they are. */
_Static_assert(CR_CONV_RELU == CR_CONV_FLAG_RELU && CR_CONV_RESIDUAL == CR_CONV_FLAG_RESIDUAL,
               "nn.h flags are conv_flags.h bits");

const char *cr_conv_engine_name(cr_conv_engine e)
{
    static const char *const names[] = {[CR_CONV_AUTO] = "auto", [CR_CONV_TILED] = "tiled",
                                        [CR_CONV_REFERENCE] = "reference"};
    _Static_assert(sizeof names / sizeof names[0] == CR_CONV_ENGINES, "one name per engine");
    return e >= 0 && e < CR_CONV_ENGINES ? names[e] : "?";
}

cr_conv_engine cr_conv2d_engine(const cr_nn *nn, const cr_conv2d *cv)
{
    if (cv->engine != CR_CONV_AUTO) return cv->engine;
    /* CLRESTORE_CONV_ENGINE=reference: the reference kernels for a float network too (a
     * truth for the tiled engine's parameters, tests/cli_tune.sh) */
    const char *env = getenv("CLRESTORE_CONV_ENGINE");
    if (env && !strcmp(env, "reference")) return CR_CONV_REFERENCE;
    return nn->prec == CR_FLOAT ? CR_CONV_TILED : CR_CONV_REFERENCE;
}

cr_status cr_nn_conv_fast(cr_nn *nn, cr_conv_fast **out)
{
    if (!nn->cf) {
        cr_status st = cr_conv_fast_create(nn->rt, &nn->cf);
        if (st != CR_OK) return st;
    }
    *out = nn->cf;
    return CR_OK;
}

static cr_status fast_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *x, const cr_tensor *res,
                              const cr_tensor *w, const cr_tensor *b, const cr_conv_geom *g, unsigned flags)
{
    cr_conv_fast *cf;
    cr_status st = cr_nn_conv_fast(nn, &cf);
    if (st != CR_OK) return st;
    return cr_conv_fast_forward(cf, g, y, x, w, b, (flags & CR_CONV_FLAG_RESIDUAL) ? res : NULL,
                                (flags & CR_CONV_FLAG_RELU) != 0);
}

/* Tiled backward: with RELU, dz = dy masked by the forward output (and dres += dy in the
 * same pass) goes to a scratch buffer, so the GEMM kernels stay free of mask logic; without
 * it dz is dy itself. dX and dW/db then come from the tiled kernels (which accumulate). */
static cr_status fast_backward(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dw, const cr_tensor *db,
                               const cr_tensor *dres, const cr_tensor *dy, const cr_tensor *y,
                               const cr_tensor *x, const cr_tensor *res, const cr_tensor *w, const cr_conv_geom *g,
                               unsigned flags, int dx_add, const cr_tensor *relu_y)
{
    cr_status st;
    cr_conv_fast *cf;
    CR_TRY(cr_nn_conv_fast(nn, &cf));
    int has_res = (flags & CR_CONV_FLAG_RESIDUAL) != 0;
    const cr_tensor *dr = has_res ? dres : NULL;
    cr_tensor dzv;
    const cr_tensor *dz = dy;
    if (flags & CR_CONV_FLAG_RELU) {
        size_t count = cr_tensor_count(dy), bytes = count * sizeof(float);
        if (!dx && !dw && !db) /* only the residual's gradient is wanted */
            return dr ? cr_nn_axpy(nn, dr, dy, 1.0) : CR_OK;
        if (!nn->conv_dz || nn->conv_dz_bytes < bytes) {
            cr_buffer_release(nn->rt, &nn->conv_dz);
            nn->conv_dz_bytes = 0;
            CR_TRY(cr_buffer_create(nn->rt, bytes, "conv2d gradient before the ReLU", &nn->conv_dz));
            nn->conv_dz_bytes = bytes;
        }
        dzv = cr_tensor_view(nn->conv_dz, 0, dy->n, dy->c, dy->h, dy->w);
        dz = &dzv;
        CR_TRY(cr_conv_fast_relu_mask(cf, dz, dr, dy, y, has_res ? res : NULL, count));
    } else if (dr) {
        CR_TRY(cr_nn_axpy(nn, dr, dy, 1.0));
    }
    if (dx && relu_y) CR_TRY(cr_conv_fast_backward_input_relu(cf, g, dx, dz, w, relu_y));
    else if (dx) CR_TRY(cr_conv_fast_backward_input(cf, g, dx, dz, w, dx_add));
    if (dw || db) CR_TRY(cr_conv_fast_backward_weights(cf, g, dw, db, dz, x));
cleanup:
    return st;
}

static cr_status conv_check(cr_nn *nn, const cr_conv2d *cv, const cr_tensor *x, const cr_tensor *wt,
                            cr_conv_geom *g, unsigned *flags)
{
    cr_status st;
    if (!cv || cv->cin < 1 || cv->cout < 1 || cv->k < 1 || (cv->stride != 1 && cv->stride != 2) ||
        (cv->flags & ~(unsigned)(CR_CONV_RELU | CR_CONV_RESIDUAL)) || cv->engine < 0 ||
        cv->engine >= CR_CONV_ENGINES)
        return cr_fail(CR_ERR_ARG, "conv2d: bad description (cin %d, cout %d, k %d, stride %d, flags %#x, engine %d)",
                       cv ? cv->cin : 0, cv ? cv->cout : 0, cv ? cv->k : 0, cv ? cv->stride : 0,
                       cv ? cv->flags : 0u, cv ? (int)cv->engine : 0);
    if (cr_conv2d_engine(nn, cv) == CR_CONV_TILED && nn->prec != CR_FLOAT)
        return cr_fail(CR_ERR_UNSUPPORTED, "conv2d: the tiled engine is float only");
    CR_TRY(cr_nn_check(nn, x, "conv2d x"));
    if (x->c != cv->cin) return cr_fail(CR_ERR_ARG, "conv2d x: %d channels, expected %d", x->c, cv->cin);
    CR_TRY(cr_nn_check_shape(nn, wt, "conv2d w", cv->cout, cv->cin, cv->k, cv->k));
    *g = cr_conv_geom_make(x->n, cv->cin, x->h, x->w, cv->cout, cv->k, cv->stride);
    *flags = cv->flags;
cleanup:
    return st;
}

cr_status cr_conv2d_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *x, const cr_tensor *res,
                            const cr_tensor *w, const cr_tensor *b, const cr_conv2d *cv)
{
    cr_status st;
    cl_kernel k = NULL;
    cr_conv_geom g;
    unsigned flags;
    CR_TRY(conv_check(nn, cv, x, w, &g, &flags));
    CR_TRY(cr_nn_check_shape(nn, y, "conv2d y", g.n, g.cout, g.ho, g.wo));
    if (b) {
        CR_TRY(cr_nn_check(nn, b, "conv2d b"));
        if (cr_tensor_count(b) != (size_t)g.cout)
            return cr_fail(CR_ERR_ARG, "conv2d b: %zu elements, expected %d", cr_tensor_count(b), g.cout);
        flags |= CR_CONV_FLAG_BIAS;
    }
    if (flags & CR_CONV_FLAG_RESIDUAL) {
        CR_TRY(cr_nn_check_shape(nn, res, "conv2d res", g.n, g.cout, g.ho, g.wo));
        if ((flags & CR_CONV_FLAG_RELU) && res->buf == y->buf && res->off == y->off)
            return cr_fail(CR_ERR_ARG, "conv2d: ReLU + residual cannot run in place (backward needs both)");
    }
    if (cr_conv2d_engine(nn, cv) == CR_CONV_TILED) return fast_forward(nn, y, x, res, w, b, &g, flags);
    CR_TRY(cr_nn_kernel(nn, CR_NNK_CONV_FWD, &k));
    /* unused buffers get x's handle: the kernel never reads them */
    cl_mem rbuf = (flags & CR_CONV_FLAG_RESIDUAL) ? res->buf : x->buf, bbuf = b ? b->buf : x->buf;
    int yoff = (int)y->off, xoff = (int)x->off, roff = (flags & CR_CONV_FLAG_RESIDUAL) ? (int)res->off : 0;
    int woff = (int)w->off, boff = b ? (int)b->off : 0;
    CR_TRY(cr_kernel_args(k, 22, KA(y->buf), KA(yoff), KA(x->buf), KA(xoff), KA(rbuf), KA(roff), KA(w->buf),
                          KA(woff), KA(bbuf), KA(boff), KA(g.n), KA(g.cin), KA(g.h), KA(g.w), KA(g.cout), KA(g.ho),
                          KA(g.wo), KA(g.k), KA(g.s), KA(g.pad_y), KA(g.pad_x), KA(flags)));
    size_t global[3] = {(size_t)g.wo, (size_t)g.ho, (size_t)g.n * (size_t)g.cout};
    CR_TRY(cr_enqueue(nn->rt, k, 3, global, NULL));
cleanup:
    return st;
}

/* dx_add 0: dx is stored (the tiled kernels' accumulate flag off; the direct kernel,
 * which only adds, gets a cleared dx) */
static cr_status conv_backward(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dw, const cr_tensor *db,
                               const cr_tensor *dres, const cr_tensor *dy, const cr_tensor *y, const cr_tensor *x,
                               const cr_tensor *res, const cr_tensor *w, const cr_conv2d *cv, int dx_add,
                               const cr_tensor *relu_y)
{
    cr_status st;
    cl_kernel k = NULL;
    cr_conv_geom g;
    unsigned flags;
    CR_TRY(conv_check(nn, cv, x, w, &g, &flags));
    CR_TRY(cr_nn_check_shape(nn, dy, "conv2d dy", g.n, g.cout, g.ho, g.wo));
    if (flags & CR_CONV_FLAG_RELU) CR_TRY(cr_nn_check_shape(nn, y, "conv2d y (ReLU mask)", g.n, g.cout, g.ho, g.wo));
    if ((flags & CR_CONV_FLAG_RELU) && (flags & CR_CONV_FLAG_RESIDUAL))
        CR_TRY(cr_nn_check_shape(nn, res, "conv2d res (ReLU mask)", g.n, g.cout, g.ho, g.wo));
    if (dx) CR_TRY(cr_nn_check_shape(nn, dx, "conv2d dx", g.n, g.cin, g.h, g.w));
    if (dw) CR_TRY(cr_nn_check_shape(nn, dw, "conv2d dw", g.cout, g.cin, g.k, g.k));
    if (db) {
        CR_TRY(cr_nn_check(nn, db, "conv2d db"));
        if (cr_tensor_count(db) != (size_t)g.cout)
            return cr_fail(CR_ERR_ARG, "conv2d db: %zu elements, expected %d", cr_tensor_count(db), g.cout);
    }
    if (dres && (flags & CR_CONV_FLAG_RESIDUAL)) CR_TRY(cr_nn_check_shape(nn, dres, "conv2d dres", g.n, g.cout, g.ho, g.wo));
    if (!dx_add && dx && dres && (flags & CR_CONV_FLAG_RESIDUAL) && dx->buf == dres->buf && dx->off == dres->off)
        return cr_fail(CR_ERR_ARG, "conv2d: a stored dx cannot be dres too (the residual's gradient would be lost)");
    if (relu_y) {
        if (cr_conv2d_engine(nn, cv) != CR_CONV_TILED)
            return cr_fail(CR_ERR_UNSUPPORTED, "conv2d: the ReLU-masked dx is for the tiled engine only");
        CR_TRY(cr_nn_check_shape(nn, relu_y, "conv2d relu_y", g.n, g.cin, g.h, g.w));
    }
    if (cr_conv2d_engine(nn, cv) == CR_CONV_TILED)
        return fast_backward(nn, dx, dw, db, dres, dy, y, x, res, w, &g, flags, dx_add, relu_y);
    if (dx && !dx_add) CR_TRY(cr_nn_fill(nn, dx, 0.0));
    /* the mask inputs exist only when the ReLU needs them; otherwise dy's handle stands in */
    int need_y = (flags & CR_CONV_FLAG_RELU) != 0, need_res = need_y && (flags & CR_CONV_FLAG_RESIDUAL);
    cl_mem ybuf = need_y ? y->buf : dy->buf, rbuf = need_res ? res->buf : dy->buf;
    int yoff = need_y ? (int)y->off : 0, roff = need_res ? (int)res->off : 0, dyoff = (int)dy->off;
    if (dx) {
        CR_TRY(cr_nn_kernel(nn, CR_NNK_CONV_BWD_DATA, &k));
        int dxoff = (int)dx->off, woff = (int)w->off;
        CR_TRY(cr_kernel_args(k, 22, KA(dx->buf), KA(dxoff), KA(dy->buf), KA(dyoff), KA(ybuf), KA(yoff),
                              KA(rbuf), KA(roff), KA(w->buf), KA(woff), KA(g.n), KA(g.cin), KA(g.h), KA(g.w),
                              KA(g.cout), KA(g.ho), KA(g.wo), KA(g.k), KA(g.s), KA(g.pad_y), KA(g.pad_x),
                              KA(flags)));
        size_t global[3] = {(size_t)g.w, (size_t)g.h, (size_t)g.n * (size_t)g.cin};
        CR_TRY(cr_enqueue(nn->rt, k, 3, global, NULL));
    }
    if (dw) {
        CR_TRY(cr_nn_kernel(nn, CR_NNK_CONV_BWD_WEIGHT, &k));
        int dwoff = (int)dw->off, xoff = (int)x->off;
        CR_TRY(cr_kernel_args(k, 22, KA(dw->buf), KA(dwoff), KA(dy->buf), KA(dyoff), KA(ybuf), KA(yoff),
                              KA(rbuf), KA(roff), KA(x->buf), KA(xoff), KA(g.n), KA(g.cin), KA(g.h), KA(g.w),
                              KA(g.cout), KA(g.ho), KA(g.wo), KA(g.k), KA(g.s), KA(g.pad_y), KA(g.pad_x),
                              KA(flags)));
        size_t global[3] = {(size_t)g.k * (size_t)g.k, (size_t)g.cin, (size_t)g.cout};
        CR_TRY(cr_enqueue(nn->rt, k, 3, global, NULL));
    }
    if (db) {
        CR_TRY(cr_nn_kernel(nn, CR_NNK_CONV_BWD_BIAS, &k));
        int dboff = (int)db->off;
        CR_TRY(cr_kernel_args(k, 13, KA(db->buf), KA(dboff), KA(dy->buf), KA(dyoff), KA(ybuf), KA(yoff), KA(rbuf),
                              KA(roff), KA(g.n), KA(g.cout), KA(g.ho), KA(g.wo), KA(flags)));
        size_t global = (size_t)g.cout;
        CR_TRY(cr_enqueue(nn->rt, k, 1, &global, NULL));
    }
    /* the residual passes dy through unchanged */
    if (dres && (flags & CR_CONV_FLAG_RESIDUAL)) CR_TRY(cr_nn_axpy(nn, dres, dy, 1.0));
cleanup:
    return st;
}

cr_status cr_conv2d_backward(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dw, const cr_tensor *db,
                             const cr_tensor *dres, const cr_tensor *dy, const cr_tensor *y,
                             const cr_tensor *x, const cr_tensor *res, const cr_tensor *w,
                             const cr_conv2d *cv)
{
    return conv_backward(nn, dx, dw, db, dres, dy, y, x, res, w, cv, 1, NULL);
}

cr_status cr_conv2d_backward_store(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dw, const cr_tensor *db,
                                   const cr_tensor *dres, const cr_tensor *dy, const cr_tensor *y,
                                   const cr_tensor *x, const cr_tensor *res, const cr_tensor *w,
                                   const cr_conv2d *cv)
{
    return conv_backward(nn, dx, dw, db, dres, dy, y, x, res, w, cv, 0, NULL);
}

cr_status cr_conv2d_backward_store_relu(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dw, const cr_tensor *db,
                                        const cr_tensor *dres, const cr_tensor *dy, const cr_tensor *y,
                                        const cr_tensor *x, const cr_tensor *res, const cr_tensor *w,
                                        const cr_conv2d *cv, const cr_tensor *relu_y)
{
    if (!relu_y) return cr_fail(CR_ERR_ARG, "conv2d: the ReLU-masked dx needs relu_y");
    return conv_backward(nn, dx, dw, db, dres, dy, y, x, res, w, cv, 0, relu_y);
}
