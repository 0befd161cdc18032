/* Fast 2-D convolutions on raw OpenCL buffers (kernels/conv_gemm.cl): forward with fused
 * bias, ReLU and residual add; backward to the input; weight and bias gradients.
 *
 * Layout: activations NCHW float32, weights (cout, cin, k, k), bias (cout). Padding is
 * TensorFlow's "same": out = ceil(in / stride), pad_total = max((out-1)*stride + k - in, 0),
 * the smaller half before (k=3: 1/1, k=4: 1/2; k=3 stride 2 on an even size: 0/1).
 *
 * A conv_fast handle owns the compiled kernels (one program per kernel size, stride and
 * tile set) and scratch buffers (transposed weights, padded input, partial sums) that
 * grow to the largest shape seen and are then reused: no allocation per call once warm.
 * All work goes to rt->queue in order; nothing here waits for it.
 *
 * Buffers are passed as (cl_mem, element offset) pairs, as CLBlast does: the network keeps
 * its activations as views into a few large arenas, and sub-buffers would need offsets
 * aligned to CL_DEVICE_MEM_BASE_ADDR_ALIGN, which the arena planner does not give. */
#ifndef CLRESTORE_CONV_FAST_H
#define CLRESTORE_CONV_FAST_H

#include "clrestore/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Tile sizes (the kernels' #defines) and work splitting; conv_fast_create picks defaults
 * for the device, a bench may change them between calls. */
typedef struct conv_fast_tiles {
    int fwd_tm;       /* output channels per work-item: CONV_TM */
    int fwd_tm_fit;   /* != 0: per layer, CONV_TM in [fwd_tm - 4, fwd_tm + 1] (or cout itself when
                         smaller) if that pads the output channels less (conv_fast_pick_tm) */
    int fwd_vw;       /* output pixels per work-item (vector width 4/8/16): CONV_VW */
    int fwd_local;    /* work-group size along pixels; 0 lets the driver choose */
    int dw_tm, dw_tn; /* weight-gradient tile: output channels x (input channel, tap) */
    int dw_vw;        /* pixels per vector step of the weight gradient */
    int dw_local;     /* work-group size along the (input channel, tap) tiles; 0: driver */
    int dw_min_items; /* split the pixel reduction until this many work-items exist */
    int dw_chunk_px;  /* ... and until no chunk has more pixels than this (cache reuse) */
    size_t dw_max_partial_bytes; /* cap on the partial-sum buffer that chunks need */
} conv_fast_tiles;

typedef struct conv_fast conv_fast;

/* A float buffer and the element offset of the tensor's first element in it. */
typedef struct conv_fast_mem {
    cl_mem buf; /* NULL: absent (bias, residual, db) */
    size_t off; /* in floats; off + count must stay below INT_MAX */
} conv_fast_mem;

/* The whole buffer from its start. */
static inline conv_fast_mem cf_mem(cl_mem buf)
{
    conv_fast_mem m = {buf, 0};
    return m;
}

/* The tiles conv_fast_create starts with on rt's device. */
conv_fast_tiles conv_fast_default_tiles(const cr_runtime *rt);
cr_status conv_fast_create(cr_runtime *rt, conv_fast **out);
/* Accepts NULL and half-built handles. */
void conv_fast_free(conv_fast *cf);
conv_fast_tiles *conv_fast_tiles_of(conv_fast *cf);

/* The CONV_TM used for a layer with cout output channels (see fwd_tm_fit). */
int conv_fast_pick_tm(const conv_fast_tiles *t, int cout);

/* Output size and padding before, TensorFlow "same" rule. */
void conv_fast_geometry(int in, int k, int stride, int *out, int *pad_before);

/* Bytes of the handle's scratch buffers one call needs (each buffer grows to the largest
 * need seen): pass 0 forward, 1 backward input, 2 backward weights. For memory plans. */
typedef struct conv_fast_scratch {
    size_t pad, wt, part; /* padded input, GEMM-order weights, dW partial sums */
} conv_fast_scratch;
void conv_fast_scratch_need(const conv_fast_tiles *t, int pass, int n, int cin, int h, int w_, int cout, int k,
                            int stride, conv_fast_scratch *out);

/* y (n, cout, ho, wo) = act(conv(x, w) + b) + residual.
 * x (n, cin, h, w); w (cout, cin, k, k); b (cout) or NULL; residual (n, cout, ho, wo) or
 * NULL (may be y itself: y += ...); relu != 0 applies max(., 0) before the residual add. */
cr_status conv_fast_forward(conv_fast *cf, conv_fast_mem y, conv_fast_mem x, conv_fast_mem w, conv_fast_mem b,
                            conv_fast_mem residual, int relu, int n, int cin, int h, int w_, int cout, int k, int stride);

/* dx (n, cin, h, w) = conv^T(dy, w), or dx += that when accumulate != 0.
 * dy (n, cout, ho, wo): the gradient after any fused ReLU has been applied to it. */
cr_status conv_fast_backward_input(conv_fast *cf, conv_fast_mem dx, conv_fast_mem dy, conv_fast_mem w,
                                   int accumulate,
                                   int n, int cin, int h, int w_, int cout, int k, int stride);

/* dw (cout, cin, k, k) += sum over images and pixels of dy * shifted x; db (cout) += sum of
 * dy. Either may be NULL (then it is not computed). x (n, cin, h, w) is the forward input. */
cr_status conv_fast_backward_weights(conv_fast *cf, conv_fast_mem dw, conv_fast_mem db, conv_fast_mem dy,
                                     conv_fast_mem x, int n, int cin, int h, int w_, int cout, int k,
                                     int stride);

/* The gradient through the fused epilogue y = relu(z) + res, count elements:
 * dz = dy where y > res (y > 0 without a residual), else 0; and dres += dy when dres is
 * given. res may be NULL (no residual). dz gets its own buffer (it is a scratch of the
 * caller): dy stays as it was. */
cr_status conv_fast_relu_mask(conv_fast *cf, conv_fast_mem dz, conv_fast_mem dres, conv_fast_mem dy,
                              conv_fast_mem y, conv_fast_mem res, size_t count);

#ifdef __cplusplus
}
#endif
#endif
