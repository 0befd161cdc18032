/* Elementwise layers: fill, axpy, ReLU, residual add, channel concat
 * (kernels/pointwise.cl). Each checks shapes, then launches one work-item per
 * element of the tensor it writes. */
#include "nn_internal.h"

static int same_count(const cr_tensor *a, const cr_tensor *b)
{
    return cr_tensor_count(a) == cr_tensor_count(b);
}

static cr_status count_mismatch(const char *op, const cr_tensor *a, const cr_tensor *b)
{
    return cr_fail(CR_ERR_ARG, "%s: (%d, %d, %d, %d) and (%d, %d, %d, %d) differ in size", op, a->n, a->c, a->h,
                   a->w, b->n, b->c, b->h, b->w);
}

cr_status cr_nn_fill(cr_nn *nn, const cr_tensor *t, double value)
{
    cr_status st;
    cl_kernel k = NULL;
    CR_TRY(cr_nn_check(nn, t, "fill"));
    CR_TRY(cr_nn_kernel(nn, CR_NNK_FILL, &k));
    int off = (int)t->off, n = (int)cr_tensor_count(t);
    cr_real_arg v = cr_nn_real(nn, value);
    CR_TRY(cr_kernel_args(k, 4, KA(t->buf), KA(off), KR(nn, v), KA(n)));
    CR_TRY(cr_nn_launch1(nn, k, ((size_t)n + 7) / 8)); /* 8 elements per item */
cleanup:
    return st;
}

cr_status cr_nn_axpy(cr_nn *nn, const cr_tensor *y, const cr_tensor *x, double alpha)
{
    cr_status st;
    cl_kernel k = NULL;
    CR_TRY(cr_nn_check(nn, y, "axpy y"));
    CR_TRY(cr_nn_check(nn, x, "axpy x"));
    if (!same_count(x, y)) return count_mismatch("axpy", y, x);
    CR_TRY(cr_nn_kernel(nn, CR_NNK_AXPY, &k));
    int yoff = (int)y->off, xoff = (int)x->off, n = (int)cr_tensor_count(y);
    cr_real_arg a = cr_nn_real(nn, alpha);
    CR_TRY(cr_kernel_args(k, 6, KA(y->buf), KA(yoff), KA(x->buf), KA(xoff), KR(nn, a), KA(n)));
    CR_TRY(cr_nn_launch1(nn, k, ((size_t)n + 7) / 8)); /* 8 elements per item */
cleanup:
    return st;
}

cr_status cr_relu_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *x)
{
    cr_status st;
    cl_kernel k = NULL;
    CR_TRY(cr_nn_check(nn, x, "relu x"));
    CR_TRY(cr_nn_check_shape(nn, y, "relu y", x->n, x->c, x->h, x->w));
    CR_TRY(cr_nn_kernel(nn, CR_NNK_RELU_FWD, &k));
    int yoff = (int)y->off, xoff = (int)x->off, n = (int)cr_tensor_count(y);
    CR_TRY(cr_kernel_args(k, 5, KA(y->buf), KA(yoff), KA(x->buf), KA(xoff), KA(n)));
    CR_TRY(cr_nn_launch1(nn, k, ((size_t)n + 7) / 8)); /* 8 elements per item */
cleanup:
    return st;
}

cr_status cr_relu_backward(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dy, const cr_tensor *y)
{
    cr_status st;
    cl_kernel k = NULL;
    if (!dx) return CR_OK;
    CR_TRY(cr_nn_check(nn, y, "relu backward y"));
    CR_TRY(cr_nn_check_shape(nn, dy, "relu backward dy", y->n, y->c, y->h, y->w));
    CR_TRY(cr_nn_check_shape(nn, dx, "relu backward dx", y->n, y->c, y->h, y->w));
    CR_TRY(cr_nn_kernel(nn, CR_NNK_RELU_BWD, &k));
    int dxoff = (int)dx->off, dyoff = (int)dy->off, yoff = (int)y->off, n = (int)cr_tensor_count(y);
    CR_TRY(cr_kernel_args(k, 7, KA(dx->buf), KA(dxoff), KA(dy->buf), KA(dyoff), KA(y->buf), KA(yoff), KA(n)));
    CR_TRY(cr_nn_launch1(nn, k, ((size_t)n + 7) / 8)); /* 8 elements per item */
cleanup:
    return st;
}

cr_status cr_add_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *a, const cr_tensor *b)
{
    cr_status st;
    cl_kernel k = NULL;
    CR_TRY(cr_nn_check(nn, a, "add a"));
    CR_TRY(cr_nn_check_shape(nn, b, "add b", a->n, a->c, a->h, a->w));
    CR_TRY(cr_nn_check_shape(nn, y, "add y", a->n, a->c, a->h, a->w));
    CR_TRY(cr_nn_kernel(nn, CR_NNK_ADD_FWD, &k));
    int yoff = (int)y->off, aoff = (int)a->off, boff = (int)b->off, n = (int)cr_tensor_count(y);
    CR_TRY(cr_kernel_args(k, 7, KA(y->buf), KA(yoff), KA(a->buf), KA(aoff), KA(b->buf), KA(boff), KA(n)));
    CR_TRY(cr_nn_launch1(nn, k, ((size_t)n + 7) / 8)); /* 8 elements per item */
cleanup:
    return st;
}

cr_status cr_add_backward(cr_nn *nn, const cr_tensor *da, const cr_tensor *db, const cr_tensor *dy)
{
    cr_status st = CR_OK;
    if (da) CR_TRY(cr_nn_axpy(nn, da, dy, 1.0));
    if (db) CR_TRY(cr_nn_axpy(nn, db, dy, 1.0));
cleanup:
    return st;
}

cr_status cr_concat_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *a, const cr_tensor *b)
{
    cr_status st;
    cl_kernel k = NULL;
    CR_TRY(cr_nn_check(nn, a, "concat a"));
    CR_TRY(cr_nn_check_shape(nn, b, "concat b", a->n, b->c, a->h, a->w));
    CR_TRY(cr_nn_check_shape(nn, y, "concat y", a->n, a->c + b->c, a->h, a->w));
    CR_TRY(cr_nn_kernel(nn, CR_NNK_CONCAT_FWD, &k));
    int yoff = (int)y->off, aoff = (int)a->off, boff = (int)b->off, hw = y->h * y->w;
    int n = (int)cr_tensor_count(y);
    CR_TRY(cr_kernel_args(k, 10, KA(y->buf), KA(yoff), KA(a->buf), KA(aoff), KA(b->buf), KA(boff), KA(a->c),
                          KA(b->c), KA(hw), KA(n)));
    CR_TRY(cr_nn_launch1(nn, k, ((size_t)n + 7) / 8)); /* 8 elements per item */
cleanup:
    return st;
}

cr_status cr_concat_backward(cr_nn *nn, const cr_tensor *da, const cr_tensor *db, const cr_tensor *dy)
{
    cr_status st;
    cl_kernel k = NULL;
    if (!da && !db) return CR_OK;
    const cr_tensor *any = da ? da : db;
    CR_TRY(cr_nn_check(nn, dy, "concat backward dy"));
    CR_TRY(cr_nn_check(nn, any, "concat backward da/db"));
    int ca = da ? da->c : dy->c - db->c, cb = dy->c - ca;
    if (ca < 1 || cb < 1)
        return cr_fail(CR_ERR_ARG, "concat backward: dy has %d channels, da %d, db %d", dy->c,
                       da ? da->c : -1, db ? db->c : -1);
    if (da) CR_TRY(cr_nn_check_shape(nn, da, "concat backward da", dy->n, ca, dy->h, dy->w));
    if (db) CR_TRY(cr_nn_check_shape(nn, db, "concat backward db", dy->n, cb, dy->h, dy->w));
    CR_TRY(cr_nn_kernel(nn, CR_NNK_CONCAT_BWD, &k));
    /* an absent gradient is switched off by its flag; its buffer slot gets dy's (never written) */
    cl_mem abuf = da ? da->buf : dy->buf, bbuf = db ? db->buf : dy->buf;
    int aoff = da ? (int)da->off : 0, boff = db ? (int)db->off : 0, dyoff = (int)dy->off;
    int hw = dy->h * dy->w, n = (int)cr_tensor_count(dy);
    /* da and db may share elements: the network's bottom level concatenates x
     * with itself. One launch would then have two work-items add into the same
     * element, and with several device threads one addition is sometimes lost
     * (training was not reproducible). Such gradients get two launches, a's
     * half then b's; the in-order queue runs them one after the other. */
    int shared = da && db && da->buf == db->buf && da->off < db->off + cr_tensor_count(db) &&
                 db->off < da->off + cr_tensor_count(da);
    for (int pass = 0; pass < (shared ? 2 : 1); pass++) {
        int has_a = da && (!shared || pass == 0), has_b = db && (!shared || pass == 1);
        CR_TRY(cr_kernel_args(k, 12, KA(abuf), KA(aoff), KA(bbuf), KA(boff), KA(dy->buf), KA(dyoff), KA(ca),
                              KA(cb), KA(hw), KA(has_a), KA(has_b), KA(n)));
        CR_TRY(cr_nn_launch1(nn, k, ((size_t)n + 7) / 8)); /* 8 elements per item */
    }
cleanup:
    return st;
}
