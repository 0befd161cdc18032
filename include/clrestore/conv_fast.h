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
 * All work goes to rt->queue in order; nothing here waits for it. */
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

cr_status conv_fast_create(cr_runtime *rt, conv_fast **out);
/* Accepts NULL and half-built handles. */
void conv_fast_free(conv_fast *cf);
conv_fast_tiles *conv_fast_tiles_of(conv_fast *cf);

/* Output size and padding before, TensorFlow "same" rule. */
void conv_fast_geometry(int in, int k, int stride, int *out, int *pad_before);

/* y (n, cout, ho, wo) = act(conv(x, w) + b) + residual.
 * x (n, cin, h, w); w (cout, cin, k, k); b (cout) or NULL; residual (n, cout, ho, wo) or
 * NULL (may be y itself: y += ...); relu != 0 applies max(., 0) before the residual add. */
cr_status conv_fast_forward(conv_fast *cf, cl_mem y, cl_mem x, cl_mem w, cl_mem b, cl_mem residual,
                            int relu, int n, int cin, int h, int w_, int cout, int k, int stride);

/* dx (n, cin, h, w) = conv^T(dy, w), or dx += that when accumulate != 0.
 * dy (n, cout, ho, wo): the gradient after any fused ReLU has been applied to it. */
cr_status conv_fast_backward_input(conv_fast *cf, cl_mem dx, cl_mem dy, cl_mem w, int accumulate,
                                   int n, int cin, int h, int w_, int cout, int k, int stride);

/* dw (cout, cin, k, k) += sum over images and pixels of dy * shifted x; db (cout) += sum of
 * dy, db may be NULL. x (n, cin, h, w) is the forward input. */
cr_status conv_fast_backward_weights(conv_fast *cf, cl_mem dw, cl_mem db, cl_mem dy, cl_mem x, int n,
                                     int cin, int h, int w_, int cout, int k, int stride);

#ifdef __cplusplus
}
#endif
#endif
