/* The executing half of the op table (host/nn/ops.h): each op kind's forward
 * and backward as wrappers of the layer functions on a wn_run, what its
 * backward reads, its profile bucket and its choice of implementation. */
#include "ops.h"

#include "clrestore/waunet.h"
#include "conv_flags.h"
#include "nn_internal.h"

cr_conv2d wn_op_conv2d(const wn_op *op)
{
    return (cr_conv2d){op->spec.cin, op->spec.cout, op->spec.k, op->spec.stride, op->flags, CR_CONV_AUTO};
}

static cr_status conv_fwd(const wn_run *r)
{
    return cr_conv2d_forward(r->nn, r->y, r->a, r->b, r->w, r->bias, r->cv);
}
static cr_status conv_bwd(const wn_run *r)
{
    if (r->da && r->da_fresh && r->da_relu_y)
        return cr_conv2d_backward_store_relu(r->nn, r->da, r->dw, r->dbias, r->db, r->dy, r->y, r->a, r->b, r->w,
                                             r->cv, r->da_relu_y);
    if (r->da && r->da_fresh)
        return cr_conv2d_backward_store(r->nn, r->da, r->dw, r->dbias, r->db, r->dy, r->y, r->a, r->b, r->w, r->cv);
    return cr_conv2d_backward(r->nn, r->da, r->dw, r->dbias, r->db, r->dy, r->y, r->a, r->b, r->w, r->cv);
}
/* x for dW; y for the ReLU mask, and res with it when the residual follows the ReLU */
static unsigned conv_reads(const wn_op *op)
{
    unsigned f = op->flags, r = WN_READS_A;
    if (f & CR_CONV_FLAG_RELU) r |= WN_READS_Y | ((f & CR_CONV_FLAG_RESIDUAL) ? WN_READS_B : 0);
    return r;
}
static int conv_prof(const wn_op *op)
{
    return op->spec.stride > 1 ? CR_PROF_CONVS2 : op->spec.k == 1 ? CR_PROF_CONV1 : CR_PROF_CONVK;
}
static void conv_choose(const cr_nn *nn, cr_conv2d *cv)
{
    cv->engine = CR_CONV_AUTO;
    cv->engine = cr_conv2d_engine(nn, cv);
}

static cr_status pool_fwd(const wn_run *r) { return cr_maxpool2_forward(r->nn, r->y, r->a); }
static cr_status pool_bwd(const wn_run *r) { return r->da ? cr_maxpool2_backward(r->nn, r->da, r->dy, r->a) : CR_OK; }
static unsigned reads_a(const wn_op *op) { return (void)op, WN_READS_A; } /* the argmax is recomputed from x */

static cr_status d2s_fwd(const wn_run *r) { return cr_depth_to_space_forward(r->nn, r->y, r->a); }
static cr_status d2s_bwd(const wn_run *r) { return r->da ? cr_depth_to_space_backward(r->nn, r->da, r->dy) : CR_OK; }
static unsigned reads_none(const wn_op *op) { return (void)op, 0u; }

static cr_status add_fwd(const wn_run *r) { return cr_add_forward(r->nn, r->y, r->a, r->b); }
static cr_status add_bwd(const wn_run *r) { return cr_add_backward(r->nn, r->da, r->db, r->dy); }
static cr_status cat_fwd(const wn_run *r) { return cr_concat_forward(r->nn, r->y, r->a, r->b); }
static cr_status cat_bwd(const wn_run *r) { return cr_concat_backward(r->nn, r->da, r->db, r->dy); }

/* a = prediction, b = target; the loss goes to *r->loss, and backward adds
 * dloss * dL/dprediction into da (the target gets no gradient) */
static cr_status mse_fwd(const wn_run *r) { return cr_mse_forward(r->nn, r->loss, r->a, r->b); }
static cr_status mse_bwd(const wn_run *r) { return cr_mse_backward(r->nn, r->da, r->a, r->b, r->dloss); }
static unsigned reads_ab(const wn_op *op) { return (void)op, WN_READS_A | WN_READS_B; }

static int prof_pool(const wn_op *op) { return (void)op, CR_PROF_POOL; }
static int prof_d2s(const wn_op *op) { return (void)op, CR_PROF_D2S; }
static int prof_add(const wn_op *op) { return (void)op, CR_PROF_ADD; }
static int prof_cat(const wn_op *op) { return (void)op, CR_PROF_CONCAT; }
/* the loss runs outside the network's forward and backward, which the profile times */
static int prof_none(const wn_op *op) { return (void)op, -1; }

const wn_op_impl wn_op_impl_table[] = {
    [WN_CONV] = {conv_fwd, conv_bwd, conv_reads, conv_prof, conv_choose, 1},
    [WN_POOL] = {pool_fwd, pool_bwd, reads_a, prof_pool, NULL, 0},
    [WN_D2S] = {d2s_fwd, d2s_bwd, reads_none, prof_d2s, NULL, 0},
    [WN_ADD] = {add_fwd, add_bwd, reads_none, prof_add, NULL, 0},
    [WN_CONCAT] = {cat_fwd, cat_bwd, reads_none, prof_cat, NULL, 0},
    [WN_MSE] = {mse_fwd, mse_bwd, reads_ab, prof_none, NULL, 0},
};
/* A row past the enum or a missing last one fails here (or against the header's
 * size); a missing middle row is refused by cr_waunet_create. */
_Static_assert(sizeof wn_op_impl_table / sizeof wn_op_impl_table[0] == WN_OPKINDS, "one row per op kind");
