/* The executing half of the op table: for each op kind of the network's
 * description (host/model/graph.h, which has the other half: shape, field,
 * MACs, parameters), its forward and backward on resolved tensors, what the
 * backward reads of the forward (the planner's lifetimes), the profile
 * bucket, and its implementation choice per precision. Internal to host/nn;
 * docs/nn.md says how to add a row. */
#ifndef CLRESTORE_NN_OPS_H
#define CLRESTORE_NN_OPS_H

#include "clrestore/nn.h"
#include "model/graph.h"

/* What a backward reads of its forward, besides dy (planner lifetimes). */
enum { WN_READS_A = 1, WN_READS_B = 2, WN_READS_Y = 4 };

/* Tensors resolved for one op run (views into the model's arenas). */
typedef struct wn_run {
    cr_nn *nn;
    const wn_op *op;
    const cr_conv2d *cv;        /* WN_CONV: shape, flags and the engine chosen at prepare */
    const cr_tensor *y, *a, *b; /* b: second input or residual; NULL when the op has none */
    const cr_tensor *w, *bias;  /* parameters (WN_CONV) */
    const cr_tensor *dy;        /* backward: dL/dy */
    const cr_tensor *da, *db;   /* backward: gradients to add into; NULL: not wanted */
    int da_fresh;               /* backward: da holds nothing of this pass yet and was not cleared,
                                   so the op stores it (only ops whose wn_op_impl has stores_da) */
    const cr_tensor *da_relu_y; /* with da_fresh: store da through the ReLU whose output is a (WN_CONV:
                                   a is the output of a ReLU convolution read by this op alone) */
    const cr_tensor *dw, *dbias;
    double *loss;               /* WN_MSE forward: the loss, on the host (y is NULL) */
    double dloss;               /* WN_MSE backward: dL/dloss (dy is NULL) */
} wn_run;

typedef struct wn_op_impl {
    cr_status (*forward)(const wn_run *r);
    cr_status (*backward)(const wn_run *r);
    unsigned (*bwd_reads)(const wn_op *op);
    int (*prof)(const wn_op *op); /* the cr_waunet_prof_kind its time is booked to */
    /* the implementation for nn's precision, set in *cv at prepare (WN_CONV: the tiled
     * engine for float, the reference kernels otherwise); NULL: one implementation, the
     * kernels in `real` built for the engine's precision */
    void (*choose)(const cr_nn *nn, cr_conv2d *cv);
    /* != 0: backward can store da instead of adding into it (wn_run.da_fresh), so the first
     * writer of a gradient need not clear it: a write and a read of the tensor saved */
    int stores_da;
} wn_op_impl;

extern const wn_op_impl wn_op_impl_table[WN_OPKINDS];

/* The convolution parameters of a conv op of the graph (engine AUTO until chosen). */
cr_conv2d wn_op_conv2d(const wn_op *op);

#endif
