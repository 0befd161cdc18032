/* The one description of the network: the op table (one row per op kind: its
 * forward, backward, what backward reads of the forward, output shape,
 * receptive-field step, multiply-adds, parameters) and the graph of ops that
 * cr_arch builds once (host/nn/graph.c). The checkpoint's conv order, the
 * parameter table, the receptive field, the MAC count, the planner's
 * lifetimes and the bench's shapes are all walks of this graph. Internal to
 * host/nn; docs/nn.md says how to add a row. */
#ifndef CLRESTORE_NN_GRAPH_H
#define CLRESTORE_NN_GRAPH_H

#include "clrestore/arch.h"
#include "clrestore/nn.h"

/* Op kinds; each has one row in wn_op_table (graph.c's static assert keeps
 * the two in step). */
typedef enum wn_opkind { WN_CONV, WN_POOL, WN_D2S, WN_ADD, WN_CONCAT, WN_OPKINDS } wn_opkind;

/* One layer. Convolutions carry their fused epilogue: `y = epi(conv(a) + bias)`
 * with RELU and/or RESIDUAL (res = b); the other kinds read a (and b). */
typedef struct wn_op {
    wn_opkind kind;
    int conv;          /* ops with weights: their index among them (= checkpoint layer, parameter-
                          table conv, in graph order); -1 for ops without */
    cr_conv_spec spec; /* ops with weights: name, kernel, stride, channels, input level */
    cr_conv2d cv;      /* WN_CONV: shape, flags, and the engine chosen at prepare */
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

/* What a backward reads of its forward, besides dy (planner lifetimes). */
enum { WN_READS_A = 1, WN_READS_B = 2, WN_READS_Y = 4 };

/* Tensors resolved for one op run (views into the model's arenas). */
typedef struct wn_run {
    cr_nn *nn;
    const wn_op *op;
    const cr_tensor *y, *a, *b; /* b: second input or residual; NULL when the op has none */
    const cr_tensor *w, *bias;  /* parameters (WN_CONV) */
    const cr_tensor *dy;        /* backward: dL/dy */
    const cr_tensor *da, *db;   /* backward: gradients to add into; NULL: not wanted */
    const cr_tensor *dw, *dbias;
} wn_run;

typedef struct wn_op_row {
    const char *name;
    int inputs; /* tensors read: 1 (a) or 2 (a, b) */
    cr_status (*forward)(const wn_run *r);
    cr_status (*backward)(const wn_run *r);
    unsigned (*bwd_reads)(const wn_op *op);
    /* output channels and level from the inputs' */
    void (*out_shape)(const wn_op *op, const wn_tensor *a, const wn_tensor *b, int *c, int *lv);
    /* receptive-field step: the input positions that output positions y (along one axis of
     * a tensor of n positions at the input's level) read: *sa for a, *sb for b */
    void (*field)(const wn_op *op, wn_span y, long n_in, wn_span *sa, wn_span *sb);
    double (*macs)(const wn_op *op); /* multiply-adds per output pixel */
    int64_t (*params)(const wn_op *op); /* weights + biases it owns (weight-norm g not counted) */
    int (*prof)(const wn_op *op);    /* the cr_waunet_prof_kind its time is booked to */
} wn_op_row;

extern const wn_op_row wn_op_table[WN_OPKINDS];

/* The input positions (along one axis, image of n pixels, n a multiple of
 * 2^levels) that output position p depends on: exact for all-positive weights
 * (a max-pool counts its whole window); *lo, *hi may fall outside [0, n). */
void wn_graph_field(const wn_graph *g, long n, long p, long *lo, long *hi);

#endif
