/* Shared by host/nn/waunet*.c: the activation plan that places every tensor
 * of a batch shape in a few device arenas, and the model struct. */
#ifndef CLRESTORE_WAUNET_INTERNAL_H
#define CLRESTORE_WAUNET_INTERNAL_H

#include "clrestore/waunet.h"
#include "ops.h"

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
 * time), a new arena when one would exceed max_count elements. fused (nops)
 * or NULL, inference only: op i with fused[i] hands its output to op i + 1
 * inside one kernel, so that output gets no place. */
cr_status wn_plan_make(const wn_graph *g, cr_waunet_mode mode, int n, int h, int w, size_t max_count,
                       const unsigned char *fused, wn_plan *p);
void wn_plan_free(wn_plan *p);

struct cr_waunet {
    cr_nn *nn;          /* not owned */
    cr_arch arch;
    cr_params *params;  /* one weight-normalised conv per conv op of the graph, in graph order */
    wn_graph graph;
    cr_conv2d *cv;      /* (graph.nops) conv ops: their shape, flags and engine (chosen at prepare) */
    wn_op loss;         /* the training loss (WN_MSE) on the graph's output and the target */
    wn_plan plan;       /* prepared shape and mode; plan.n == 0 before prepare */
    cl_mem *arenas;     /* (plan.narenas) buffers of plan.arena_count reals */
    unsigned char *zeroed; /* (graph.nt) backward: activation gradient already cleared (or stored) */
    unsigned char *premasked; /* (graph.nt) backward: the gradient was stored through its producer's
                                 ReLU already (cr_conv2d_backward_store_relu), so that producer's
                                 backward runs without the ReLU */
    int *readers;       /* (graph.nt) how many op inputs are each tensor (a and b counted apart) */
    unsigned char *fuse_eb; /* (graph.nops) prepared for inference: op i (a 1x1 expand, ReLU) and op
                               i + 1 (the 1x1 bottleneck, its only reader) run as one kernel */
    int prepared;
    int w_stale;        /* W must be recomputed from V, g before the next forward */
    int fwd_done;       /* the activations hold a forward of the current input */
    cr_waunet_profile *prof; /* not owned; NULL: no per-layer timing */
};

/* Largest arena, in elements, for this model's engine and device. */
size_t wn_max_arena_count(const cr_waunet *m);

#endif
