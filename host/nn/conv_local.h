/* The work-group tiled (local memory) variant of the convolution engine, internal to
 * host/nn: kernels/conv_local.cl + host/nn/conv_local.c. cr_conv_fast_forward and
 * cr_conv_fast_backward_input hand over to it when cr_conv_tiles.fwd_variant == 1; it
 * reuses conv_fast.c's GEMM-order weights and padded input (conv_gemm.cl's conv_prep_weights
 * and conv_pad) through the three functions at the end of this header. */
#ifndef CLRESTORE_CONV_LOCAL_H
#define CLRESTORE_CONV_LOCAL_H

#include "conv_fast.h"

/* Arguments, results and accumulation exactly as cr_conv_fast_forward / _backward_input;
 * t: the tiles of g's shape class, which the caller has already looked up. */
cr_status cr_conv_local_forward(cr_conv_fast *cf, const cr_conv_tiles *t, const cr_conv_geom *g, const cr_tensor *y, const cr_tensor *x,
                                const cr_tensor *w, const cr_tensor *b, const cr_tensor *res, int relu);
cr_status cr_conv_local_backward_input(cr_conv_fast *cf, const cr_conv_tiles *t, const cr_conv_geom *g, const cr_tensor *dx,
                                       const cr_tensor *dy, const cr_tensor *w, int accumulate);

/* CR_ERR_ARG naming the broken constraint when t's lm_* tunables cannot run on dev
 * (divisibility, local memory against CL_DEVICE_LOCAL_MEM_SIZE, work-group size against
 * CL_DEVICE_MAX_WORK_GROUP_SIZE). */
cr_status cr_conv_local_check(const cr_conv_tiles *t, const cr_device_desc *dev);

/* Bytes of local memory one work-group of t uses. */
size_t cr_conv_local_lmem_bytes(const cr_conv_tiles *t);

/* Scratch needs of passes 0 (forward) and 1 (backward input), as cr_conv_fast_scratch_need. */
void cr_conv_local_scratch_need(const cr_conv_tiles *t, int pass, const cr_conv_geom *g, cr_conv_scratch *out);

/* The weight gradient by work-group tiles (dw_variant 1): dw += the gradient of x's
 * convolution (the bias gradient is the caller's), as cr_conv_fast_backward_weights. */
cr_status cr_conv_local_backward_weights(cr_conv_fast *cf, const cr_conv_tiles *t, const cr_conv_geom *g,
                                         const cr_tensor *dw, const cr_tensor *dy, const cr_tensor *x);
/* CR_ERR_ARG naming the broken constraint when t's ld_* tunables cannot run on dev. */
cr_status cr_conv_ldw_check(const cr_conv_tiles *t, const cr_device_desc *dev);
/* Scratch needs of that weight gradient (padded input, partial sums), as pass 2 of
 * cr_conv_fast_scratch_need; compute_units as the device reports. */
void cr_conv_ldw_scratch_need(const cr_conv_tiles *t, int compute_units, const cr_conv_geom *g, cr_conv_scratch *out);

/* The one reader of CLRESTORE_CONV_VARIANT (unset or "register": the configured variants;
 * "local": fwd_variant and dw_variant 1);
 * cr_conv_fast_create calls it. Another value is CR_ERR_ARG. */
cr_status cr_conv_local_variant_from_env(cr_conv_tiles *t);

/* From conv_fast.c, for this variant: the handle's runtime; its GEMM-order weights (mode 0
 * forward, 1 backward input, cout_pad output channels with zeros past the real ones) and its
 * padded input (hp rows, s phases of wq columns, padding pt/pl before, zero insertion dil),
 * each written into the handle's scratch buffer, which *out names afterwards. */
cr_runtime *cr_conv_fast_runtime(cr_conv_fast *cf);
/* The handle's partial-sum scratch (shared with the register dW and the bias gradient), grown
 * to at least bytes. */
cr_status cr_conv_fast_part_scratch(cr_conv_fast *cf, size_t bytes, cl_mem *out);
/* out += the sum over chunks of part's chunks x len floats (conv_reduce_add). */
cr_status cr_conv_fast_fold_partials(cr_conv_fast *cf, const cr_tensor *out, cl_mem part, int len, int chunks);
cr_status cr_conv_fast_gemm_weights(cr_conv_fast *cf, const cr_tensor *w, int cout, int cin, int k, int cout_pad,
                                    int mode, cl_mem *out);
/* 1x1 forward weights blocked by blk output channels (conv_prep_weights, CONV_WBLK) into
 * scratch slot 0 (the one above) or 1 (a second set, for the fused pair of conv_fuse.c). */
cr_status cr_conv_fast_weights_blocked(cr_conv_fast *cf, int slot, const cr_tensor *w, int cout, int cin,
                                       int cout_pad, int blk, cl_mem *out);
cr_status cr_conv_fast_padded_input(cr_conv_fast *cf, const cr_tensor *src, int nc, int h, int w, int hp, int s,
                                    int wq, int pt, int pl, int dil, cl_mem *out);

#endif
