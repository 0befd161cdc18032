/* The one description of the network, below both the engine (host/nn) and
 * the file formats (host/io): the op kinds, the graph of ops that
 * wn_graph_build writes once per cr_arch (host/model/graph.c), and the
 * descriptive half of the op table (output shape, receptive-field step,
 * multiply-adds, parameters). The checkpoint's conv order, the parameter
 * table, the receptive field, the MAC count and the bench's shapes are walks
 * of this graph (host/model/arch.c); host/nn/ops.h adds the executing half of
 * each row (forward, backward, what backward reads). Internal to host/;
 * nothing here knows a device. docs/nn.md says how to add a row. */
#ifndef CLRESTORE_MODEL_GRAPH_H
#define CLRESTORE_MODEL_GRAPH_H

#include <stdint.h>

#include "clrestore/arch.h"

/* Op kinds; each has one row in wn_op_desc_table (here) and one in
 * wn_op_impl_table (host/nn/ops.c); static asserts keep both in step with
 * the enum. WN_MSE is the training loss: the builder does not place it in
 * the network's graph, the training step runs it on the graph's output and
 * the target (cr_waunet_train_step). */
typedef enum wn_opkind { WN_CONV, WN_POOL, WN_D2S, WN_ADD, WN_CONCAT, WN_MSE, WN_OPKINDS } wn_opkind;

/* One layer. Convolutions carry their fused epilogue: `y = epi(conv(a) + bias)`
 * with RELU and/or RESIDUAL (res = b); the other kinds read a (and b). */
typedef struct wn_op {
    wn_opkind kind;
    int conv;          /* ops with weights: their index among them (= checkpoint layer, parameter-
                          table conv, in graph order); -1 for ops without */
    cr_conv_spec spec; /* ops with weights: name, kernel, stride, channels, input level */
    unsigned flags;    /* WN_CONV: epilogue bits CR_CONV_FLAG_RELU | _RESIDUAL (kernels/conv_flags.h) */
    int y, a, b;       /* tensor ids: output, first input, second input (or -1) */
} wn_op;

/* An activation: channels and scale; its shape is (n, c, h >> lv, w >> lv). */
typedef struct wn_tensor {
    int c, lv;
    int producer; /* op index, -1 for the input image */
} wn_tensor;

typedef struct wn_graph {
    wn_op *ops;   /* (nops) in forward order */
    int nops;
    wn_tensor *t; /* (nt) */
    int nt;
    int nconvs;   /* ops with weights (conv >= 0) */
    int input;    /* tensor id of the image (n, 1, h, w) */
    int output;   /* tensor id of the result (n, 1, h, w) */
} wn_graph;

/* The graph of architecture a (REFERENCE.md "Network"); CR_ERR_ARG for a bad arch. */
cr_status wn_graph_build(const cr_arch *a, wn_graph *g);
void wn_graph_free(wn_graph *g);

/* A closed interval of positions along one axis of a tensor. */
typedef struct wn_span {
    long lo, hi;
} wn_span;

/* What an op kind is, independent of how it runs. */
typedef struct wn_op_desc {
    const char *name;
    int inputs; /* tensors read: 1 (a) or 2 (a, b) */
    /* output channels and level from the inputs' */
    void (*out_shape)(const wn_op *op, const wn_tensor *a, const wn_tensor *b, int *c, int *lv);
    /* receptive-field step: the input positions that output positions y (along one axis of
     * a tensor of n positions at the input's level) read: *sa for a, *sb for b */
    void (*field)(const wn_op *op, wn_span y, long n_in, wn_span *sa, wn_span *sb);
    double (*macs)(const wn_op *op);    /* multiply-adds per output pixel */
    int64_t (*params)(const wn_op *op); /* weights + biases it owns (weight-norm g not counted) */
} wn_op_desc;

extern const wn_op_desc wn_op_desc_table[WN_OPKINDS];

/* The input positions (along one axis, image of n pixels, n a multiple of
 * 2^levels) that output position p depends on: exact for all-positive weights
 * (a max-pool counts its whole window); *lo, *hi may fall outside [0, n). */
void wn_graph_field(const wn_graph *g, long n, long p, long *lo, long *hi);

#endif
