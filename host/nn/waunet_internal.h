/* Shared by host/nn/waunet*.c: the WA-U-Net as a list of layer operations on
 * numbered tensors (the graph), the activation plan that places every tensor
 * of a batch shape in a few device arenas, and the model struct. */
#ifndef CLRESTORE_WAUNET_INTERNAL_H
#define CLRESTORE_WAUNET_INTERNAL_H

#include "clrestore/waunet.h"

typedef enum wn_opkind { WN_CONV, WN_POOL, WN_D2S, WN_ADD, WN_CONCAT } wn_opkind;

/* One layer. Convolutions carry their fused epilogue: `y = epi(conv(a) + bias)`
 * with RELU and/or RESIDUAL (res = b); the other kinds read a (and b). */
typedef struct wn_op {
    wn_opkind kind;
    int conv;     /* WN_CONV: index in cr_arch_convs order = parameter-table conv */
    cr_conv2d cv; /* WN_CONV: shape and flags */
    int y, a, b;  /* tensor ids: output, first input, second input (or -1) */
} wn_op;

/* An activation: channels and scale; its shape is (n, c, h >> lv, w >> lv). */
typedef struct wn_tensor {
    int c, lv;
    int producer; /* op index, -1 for the input image */
} wn_tensor;

typedef struct wn_graph {
    wn_op *ops;     /* (nops) in forward order */
    int nops;
    wn_tensor *t;   /* (nt) */
    int nt;
    int input;      /* tensor id of the image (n, 1, h, w) */
    int output;     /* tensor id of the result (n, 1, h, w) */
} wn_graph;

/* Builds the graph of architecture a; its convolutions consume the list in
 * checkpoint order (checked against the specs: CR_ERR_INTERNAL otherwise). */
cr_status wn_graph_build(const cr_arch *a, wn_graph *g);
void wn_graph_free(wn_graph *g);

/* Slots of a plan: activation t is slot t, the gradient of t is slot nt + t,
 * then the training target and dL/doutput. */
#define WN_SLOT_GRAD(g, t) ((g)->nt + (t))
#define WN_SLOT_TARGET(g) (2 * (g)->nt)
#define WN_SLOT_DOUT(g) (2 * (g)->nt + 1)
#define WN_NSLOTS(g) (2 * (g)->nt + 2)

typedef struct wn_slot {
    int arena;    /* -1: not stored (unused in this mode, or supplied by the caller) */
    size_t off;   /* element offset in the arena */
    size_t count; /* elements (rounded up to the alignment) */
    int first, last; /* lifetime on the timeline: forward op i at i, its backward at 2F-1-i */
} wn_slot;

typedef struct wn_plan {
    cr_waunet_mode mode;
    int n, h, w;
    wn_slot *slot;       /* (WN_NSLOTS) */
    size_t *arena_count; /* (narenas) elements of each arena */
    int narenas;
    size_t live_peak;    /* elements: the most alive at one time */
} wn_plan;

/* Lifetimes and offsets for batches (n, 1, h, w): greedy by size (largest
 * first, lowest offset that does not collide with a tensor alive at the same
 * time), a new arena when one would exceed max_count elements. */
cr_status wn_plan_make(const wn_graph *g, cr_waunet_mode mode, int n, int h, int w, size_t max_count,
                       wn_plan *p);
void wn_plan_free(wn_plan *p);

struct cr_waunet {
    cr_nn *nn;          /* not owned */
    cr_arch arch;
    cr_params *params;  /* one weight-normalised conv per cr_arch_convs entry */
    wn_graph graph;
    wn_plan plan;       /* prepared shape and mode; plan.n == 0 before prepare */
    cl_mem *arenas;     /* (plan.narenas) buffers of plan.arena_count reals */
    unsigned char *zeroed; /* (graph.nt) backward: activation gradient already cleared */
    int prepared;
    int w_stale;        /* W must be recomputed from V, g before the next forward */
    int fwd_done;       /* the activations hold a forward of the current input */
    cr_waunet_profile *prof; /* not owned; NULL: no per-layer timing */
};

/* Largest arena, in elements, for this model's engine and device. */
size_t wn_max_arena_count(const cr_waunet *m);

#endif
