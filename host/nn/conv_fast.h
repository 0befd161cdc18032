/* The register-tiled (implicit GEMM) convolution engine of float networks
 * (kernels/conv_gemm.cl), internal to host/nn: cr_conv2d_forward/_backward
 * (host/nn/conv2d.c) call it when an op is prepared with CR_CONV_TILED. Not
 * installed; the bench and its own test include it from host/nn.
 *
 * Forward with fused bias, ReLU and residual add; backward to the input; weight
 * and bias gradients. Layout: activations NCHW float32, weights (cout, cin, k, k),
 * bias (cout); geometry from cr_conv_geom_make (TF "same", cr_conv2d_same).
 *
 * A cr_conv_fast owns scratch buffers (GEMM-order weights, padded input, partial
 * sums) that grow to the largest shape seen and are then reused: no allocation per
 * call once warm. Its kernels are built and cached by host/runtime/program.c
 * (cr_kernel_get). All work goes to rt->queue in order; nothing here waits.
 *
 * Buffers are cr_tensor views of which only (buf, off) are read, as CLBlast passes
 * (cl_mem, offset): activations are views into a few arenas, and sub-buffers would
 * need offsets aligned to CL_DEVICE_MEM_BASE_ADDR_ALIGN, which the planner does not
 * give. A NULL tensor pointer means absent (bias, residual, db). */
#ifndef CLRESTORE_CONV_FAST_H
#define CLRESTORE_CONV_FAST_H

#include "clrestore/nn.h"
#include "conv_flags.h"

/* The tunables of one shape class (the kernels' #defines and the work splitting). All are
 * ints, each one row of cr_conv_fields (conv_tune.c) for files and reports; where a set
 * comes from: conv_tune.h (cache, built-in database, fallback). */
typedef struct cr_conv_tiles {
    int fwd_variant;  /* forward and dX kernel: 0 register-tiled (conv_fwd, CPU-shaped); 1 work-group
                         tiled with local memory (conv_lfwd, GPU-shaped; its lm_* below) */
    int fwd_tm;       /* output channels per work-item: CONV_TM */
    int fwd_tm_fit;   /* != 0: per layer, CONV_TM in [fwd_tm - 4, fwd_tm + 1] (or cout itself when
                         smaller) if that pads the output channels less (cr_conv_fast_pick_tm) */
    int fwd_vw;       /* output pixels per work-item (vector width 4/8/16): CONV_VW */
    int fwd_local;    /* work-group size along pixels; 0 lets the driver choose */
    int fwd_wblock;   /* != 0: the 1x1 stride-1 forward / dX read weights stored per block of CONV_TM
                         output channels (one contiguous run per work-item) instead of rows of cout_pad */
    int fwd_kc;       /* > 0: the 1x1 stride-1 forward / dX computes every output channel of a pixel vector
                         in one work-item, input channels in chunks of this many (conv_fwd_allco, CONV_KC);
                         0: one block of CONV_TM output channels per work-item (conv_fwd) */
    int fwd_eb_kib;   /* inference, in the class of a 1x1 expand (ReLU) whose only reader is a 1x1
                         bottleneck: > 0 runs the pair as one kernel (conv_fwd_eb) when both weight sets
                         take at most this many KiB together; 0: never */
    int dw_tm, dw_tn; /* weight-gradient tile: output channels x (input channel, tap) */
    int dw_vw;        /* pixels per vector step of the weight gradient */
    int dw_local;     /* work-group size along the (input channel, tap) tiles; 0: driver */
    int dw_items_per_cu; /* split the pixel reduction until this many work-items per compute unit */
    int dw_chunk_px;  /* ... and until no chunk has more pixels than this (cache reuse) */
    int dw_max_partial_mib; /* cap on the partial-sum buffer that chunks need, MiB */
    int db_local;     /* bias gradient: work-items summing one channel (a power of two). 1: one
                         work-item per channel (conv_db: CPUs); more: work-groups of this many
                         reduce slices of a channel in local memory (conv_db_wg: GPUs) */
    /* ---- work-group tiled variant (fwd_variant 1: kernels/conv_local.cl, host/nn/conv_local.c);
     * forward and backward input; the weight gradient stays register-tiled. The GEMM is
     * (output channels M) x (output pixels N) x (input channel, tap: K) per image. ---- */
    int lm_mwg;   /* output channels per work-group tile (M): LM_MWG */
    int lm_nwg;   /* output pixels per work-group tile (N): LM_NWG */
    int lm_kwg;   /* (input channel, tap) rows per local-memory slice (K): LM_KWG */
    int lm_mdimc; /* work-items along the channels (local size dim 1); lm_mwg / lm_mdimc each: LM_MDIMC */
    int lm_ndimc; /* work-items along the pixels (local size dim 0); lm_nwg / lm_ndimc each: LM_NDIMC */
    int lm_vwm;   /* channels per vector load staging the weights, 1/2/4/8: LM_VWM */
    /* ---- end of the work-group tiled variant ---- */
    /* ---- the weight gradient's work-group tiled variant (dw_variant 1: kernels/conv_ldw.cl,
     * host/nn/conv_local.c): per pixel chunk (dw_items_per_cu, dw_chunk_px, dw_max_partial_mib
     * as above) the GEMM (output channels M) x (input channel, tap: N) x (pixels: K) ---- */
    int dw_variant; /* 0: register tiles (conv_dw); 1: work-group tiles in local memory (conv_ldw) */
    int ld_mwg;     /* output channels per work-group tile: LD_MWG */
    int ld_nwg;     /* (input channel, tap) rows per work-group tile: LD_NWG */
    int ld_kwg;     /* pixels per local-memory slice: LD_KWG (divides ld_mdimc * ld_ndimc) */
    int ld_mdimc;   /* work-items along the channels (local size dim 1): LD_MDIMC */
    int ld_ndimc;   /* work-items along the rows (local size dim 0): LD_NDIMC */
} cr_conv_tiles;

/* One convolution on one batch shape: the one place its output size and padding
 * are derived (both engines, the scratch estimate and the bench read it). */
typedef struct cr_conv_geom {
    int n, cin, h, w;   /* input (n, cin, h, w) */
    int cout, k, s;     /* output channels, kernel size, stride */
    int ho, wo;         /* output size, TF "same": ceil(in / s) */
    int pad_y, pad_x;   /* padding before (cr_conv2d_same) */
} cr_conv_geom;

cr_conv_geom cr_conv_geom_make(int n, int cin, int h, int w, int cout, int k, int stride);

typedef struct cr_conv_fast cr_conv_fast;

typedef struct cr_conv_params cr_conv_params; /* conv_tune.h */

/* Creates the engine with rt's device's parameters (cr_conv_params_resolve: tuning cache,
 * built-in database, fallback). */
cr_status cr_conv_fast_create(cr_runtime *rt, cr_conv_fast **out);
/* Accepts NULL and half-built handles. */
void cr_conv_fast_free(cr_conv_fast *cf);
/* The parameter set in use (per shape class, with sources); the bench, the tuner and the
 * tests may change it between calls. */
cr_conv_params *cr_conv_fast_params(cr_conv_fast *cf);
/* Stride-2 backward input: phase != 0 by output phases (conv_s2.h, the default), 0 through
 * zero-dilated dY and conv_fwd (the older path, kept for tests and bench_conv). The
 * environment's CLRESTORE_CONV_S2_DX=phase|dilate sets it at creation. */
void cr_conv_fast_set_s2_dx(cr_conv_fast *cf, int phase);
int cr_conv_fast_s2_dx(const cr_conv_fast *cf);
/* Sets every class to t (benches and tests); the source becomes what. */
void cr_conv_fast_set_all(cr_conv_fast *cf, const cr_conv_tiles *t, const char *what);
/* The tiles a convolution of this geometry runs with. */
const cr_conv_tiles *cr_conv_fast_tiles_for(const cr_conv_fast *cf, const cr_conv_geom *g);

/* The CONV_TM used for a layer with cout output channels (see fwd_tm_fit). */
int cr_conv_fast_pick_tm(const cr_conv_tiles *t, int cout);

/* Bytes of the handle's scratch buffers one call needs (each buffer grows to the largest
 * need seen): pass 0 forward, 1 backward input, 2 backward weights. For memory plans. */
typedef struct cr_conv_scratch {
    size_t pad, wt, part; /* padded input, GEMM-order weights, dW partial sums */
    size_t wt2;           /* the second weight set of a fused pair (cr_conv_fast_forward_eb) */
} cr_conv_scratch;
void cr_conv_fast_scratch_need(const cr_conv_fast *cf, int pass, const cr_conv_geom *g, cr_conv_scratch *out);

/* y (n, cout, ho, wo) = act(conv(x, w) + b) + res. x (n, cin, h, w); w (cout, cin, k, k);
 * b (cout) or NULL; res (n, cout, ho, wo) or NULL (may be y itself: y += ...); relu != 0
 * applies max(., 0) before the residual add. */
cr_status cr_conv_fast_forward(cr_conv_fast *cf, const cr_conv_geom *g, const cr_tensor *y, const cr_tensor *x,
                               const cr_tensor *w, const cr_tensor *b, const cr_tensor *res, int relu);

/* dx (n, cin, h, w) = conv^T(dy, w), or dx += that when accumulate != 0.
 * dy (n, cout, ho, wo): the gradient after any fused ReLU has been applied to it. */
cr_status cr_conv_fast_backward_input(cr_conv_fast *cf, const cr_conv_geom *g, const cr_tensor *dx,
                                      const cr_tensor *dy, const cr_tensor *w, int accumulate);
/* dx = conv^T(dy) where relu_y > 0, else 0 (stored): the gradient through the ReLU whose
 * output relu_y (n, cin, h, w) is this convolution's input, so that the ReLU's own mask
 * pass is not needed. In the dX epilogue of the register-tiled stride-1 path; the other
 * paths store and then mask in a second pass. */
cr_status cr_conv_fast_backward_input_relu(cr_conv_fast *cf, const cr_conv_geom *G, const cr_tensor *dx,
                                           const cr_tensor *dy, const cr_tensor *w, const cr_tensor *relu_y);

/* dw (cout, cin, k, k) += sum over images and pixels of dy * shifted x; db (cout) += sum of
 * dy. Either may be NULL (then it is not computed). x (n, cin, h, w) is the forward input. */
cr_status cr_conv_fast_backward_weights(cr_conv_fast *cf, const cr_conv_geom *g, const cr_tensor *dw,
                                        const cr_tensor *db, const cr_tensor *dy, const cr_tensor *x);

/* ---- the fused inference pair (conv_fuse.c) ---- */

/* Whether cr_conv_fast_forward_eb runs a 1x1 expand cin -> e (ReLU) followed by a 1x1
 * bottleneck e -> cout: the expand's class has fwd_eb_kib > 0, both GEMM weight sets fit
 * in it, e <= 512. */
int cr_conv_fast_eb_fits(const cr_conv_fast *cf, int cin, int e, int cout);
/* Scratch of cr_conv_fast_forward_eb for a pair that fits (both weight sets; nothing padded). */
void cr_conv_fast_eb_scratch_need(const cr_conv_fast *cf, int cin, int e, int cout, cr_conv_scratch *out);
/* y (n, cout, h, w) = conv(relu(conv(x, w1) + b1), w2) + b2 with 1x1 kernels: x (n, cin, h, w),
 * w1 (e, cin, 1, 1), b1 (e), w2 (cout, e, 1, 1), b2 (cout); the expanded activation is never
 * stored. CR_ERR_ARG when the pair does not fit (cr_conv_fast_eb_fits). */
cr_status cr_conv_fast_forward_eb(cr_conv_fast *cf, int n, int h, int w, const cr_tensor *y, const cr_tensor *x,
                                  const cr_tensor *w1, const cr_tensor *b1, const cr_tensor *w2,
                                  const cr_tensor *b2);

/* The gradient through the fused epilogue y = relu(z) + res, count elements:
 * dz = dy where y > res (y > 0 without a residual), else 0; and dres += dy when dres is
 * given. res may be NULL (no residual). dz is the caller's scratch: dy stays as it was. */
cr_status cr_conv_fast_relu_mask(cr_conv_fast *cf, const cr_tensor *dz, const cr_tensor *dres, const cr_tensor *dy,
                                 const cr_tensor *y, const cr_tensor *res, size_t count);

#endif
