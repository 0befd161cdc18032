/* Neural-network engine: NCHW device tensors, an engine context that owns the
 * compiled layer kernels in one precision, and the layers of the WA-U-Net as
 * forward/backward pairs.
 *
 * Overview
 * - A cr_nn is created for one cr_runtime and one precision (float, or double
 *   for gradient checks on devices with fp64). Every kernel source is written
 *   with a `real` type; the engine builds it with -DCR_REAL_DOUBLE=1 for
 *   double. All tensors used with an engine hold `real` elements.
 * - A cr_tensor is a view: (cl_mem, element offset, n, c, h, w), contiguous
 *   NCHW. It does not own its buffer unless made by cr_tensor_alloc.
 * - Argument order everywhere (llm.c): outputs, inputs, weights, sizes/options.
 * - Forward writes (overwrites) its outputs. Backward ACCUMULATES into every
 *   gradient it is given (dx += ..., dw += ..., db += ...); zero them first
 *   with cr_nn_fill. A NULL gradient pointer means "not wanted".
 * - Functions only enqueue work on the runtime's in-order queue; reads
 *   (cr_tensor_read, cr_mse_forward) wait for it.
 */
#ifndef CLRESTORE_NN_H
#define CLRESTORE_NN_H

#include <stddef.h>
#include <stdint.h>

#include "clrestore/arch.h"
#include "clrestore/runtime.h"
#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cr_precision { CR_FLOAT = 0, CR_DOUBLE = 1 } cr_precision;

/* Engine context (opaque): runtime (not owned), precision, kernels built lazily
 * on first use and kept until cr_nn_free, small scratch buffers. */
typedef struct cr_nn cr_nn;

/* CR_ERR_UNSUPPORTED when double is asked of a device without fp64. */
cr_status cr_nn_create(cr_runtime *rt, cr_precision prec, cr_nn **out);
/* Accepts NULL and half-built engines; releases kernels and scratch. */
void cr_nn_free(cr_nn *nn);
cr_runtime *cr_nn_runtime(const cr_nn *nn);
cr_precision cr_nn_precision(const cr_nn *nn);
size_t cr_nn_real_size(const cr_nn *nn); /* 4 or 8 bytes */

/* A contiguous NCHW view of `real` elements: element (i, j, y, x) lives at
 * buf[off + ((i*c + j)*h + y)*w + x]. Offsets and counts are in elements and
 * must stay below INT_MAX (kernels index with int). */
typedef struct cr_tensor {
    cl_mem buf;     /* not owned (see cr_tensor_alloc) */
    size_t off;     /* element offset of (0,0,0,0) */
    int n, c, h, w; /* batch, channels, rows, columns */
} cr_tensor;

cr_tensor cr_tensor_view(cl_mem buf, size_t off, int n, int c, int h, int w);
size_t cr_tensor_count(const cr_tensor *t);
/* A new buffer sized for (n, c, h, w) reals; release with cr_tensor_release. */
cr_status cr_tensor_alloc(cr_nn *nn, cr_tensor *t, int n, int c, int h, int w, const char *what);
void cr_tensor_release(cr_nn *nn, cr_tensor *t); /* accepts NULL and empty tensors */
/* Host copies in double (converted to/from the engine precision); blocking. */
cr_status cr_tensor_write(cr_nn *nn, const cr_tensor *t, const double *src);
cr_status cr_tensor_read(cr_nn *nn, const cr_tensor *t, double *dst);
/* Host copies in float (the production path; converted on a double engine). */
cr_status cr_tensor_write_f32(cr_nn *nn, const cr_tensor *t, const float *src);
cr_status cr_tensor_read_f32(cr_nn *nn, const cr_tensor *t, float *dst);

/* ---- pointwise (host/nn/pointwise.c, kernels/pointwise.cl) ---------------- */

/* t = value */
cr_status cr_nn_fill(cr_nn *nn, const cr_tensor *t, double value);
/* y += alpha * x (same element count) */
cr_status cr_nn_axpy(cr_nn *nn, const cr_tensor *y, const cr_tensor *x, double alpha);
/* y = max(x, 0); y may be x (in place). */
cr_status cr_relu_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *x);
/* dx += dy where y > 0 (y: the forward output). Gradient at 0 is 0. */
cr_status cr_relu_backward(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dy, const cr_tensor *y);
/* y = a + b (same shape); y may alias a or b. */
cr_status cr_add_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *a, const cr_tensor *b);
/* da += dy, db += dy (either may be NULL). */
cr_status cr_add_backward(cr_nn *nn, const cr_tensor *da, const cr_tensor *db, const cr_tensor *dy);
/* y (N, Ca+Cb, H, W) = channels of a (N, Ca, H, W) then of b (N, Cb, H, W). */
cr_status cr_concat_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *a, const cr_tensor *b);
/* da += dy[:, :Ca], db += dy[:, Ca:] (either may be NULL; da and db may be one
 * tensor, for the concat of a tensor with itself). */
cr_status cr_concat_backward(cr_nn *nn, const cr_tensor *da, const cr_tensor *db, const cr_tensor *dy);

/* ---- 2-D convolution (host/nn/conv2d.c, kernels/conv2d.cl) ---------------- */

/* Fused epilogue, applied in the store in this order:
 *   y = conv(x, w) + b;  if RELU: y = max(y, 0);  if RESIDUAL: y += res.
 * The values are the kernels' bits (kernels/conv_flags.h; checked at compile time). */
enum { CR_CONV_RELU = 1u << 0, CR_CONV_RESIDUAL = 1u << 1 };

/* Which kernels run a convolution: the register-tiled implicit GEMM (float only,
 * kernels/conv_gemm.cl) or the reference kernels (one work-item per output element,
 * kernels/conv2d.cl, any precision). AUTO: tiled for float engines, else reference.
 * The network chooses per op when it is prepared (cr_waunet_prepare). */
typedef enum cr_conv_engine { CR_CONV_AUTO = 0, CR_CONV_TILED, CR_CONV_REFERENCE, CR_CONV_ENGINES } cr_conv_engine;

typedef struct cr_conv2d {
    int cin, cout;  /* input and output channels */
    int k;          /* square kernel size (1, 3, 4, ...) */
    int stride;     /* 1 or 2 */
    unsigned flags; /* CR_CONV_RELU | CR_CONV_RESIDUAL */
    cr_conv_engine engine; /* CR_CONV_AUTO (0) unless chosen */
} cr_conv2d;

/* The engine cv runs on in nn (resolves CR_CONV_AUTO); "auto", "tiled", "reference". */
cr_conv_engine cr_conv2d_engine(const cr_nn *nn, const cr_conv2d *cv);
const char *cr_conv_engine_name(cr_conv_engine e);

/* cr_conv2d_same (TensorFlow "same" padding): clrestore/arch.h, with the
 * network's description that shares it. */

/* y (N, cout, Ho, Wo) = epilogue(conv(x (N, cin, H, W), w (cout, cin, k, k)) + b (cout)).
 * b may be NULL (no bias); res (N, cout, Ho, Wo) is read only with
 * CR_CONV_RESIDUAL and may be y itself (in place) unless RELU is also set. */
cr_status cr_conv2d_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *x, const cr_tensor *res,
                            const cr_tensor *w, const cr_tensor *b, const cr_conv2d *cv);

/* Accumulates dx (N, cin, H, W), dw (cout, cin, k, k), db (cout) and, with
 * CR_CONV_RESIDUAL, dres (N, cout, Ho, Wo) += dy; any of them may be NULL.
 * With RELU the mask is taken from the forward output y: active where y > 0,
 * or where y > res with RESIDUAL as well (y and res must then be the tensors
 * the forward wrote and read). Without RELU, y and res may be NULL. */
cr_status cr_conv2d_backward(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dw, const cr_tensor *db,
                             const cr_tensor *dres, const cr_tensor *dy, const cr_tensor *y,
                             const cr_tensor *x, const cr_tensor *res, const cr_tensor *w,
                             const cr_conv2d *cv);
/* The same, except that dx is overwritten (dx = the gradient, not dx += it): for a
 * gradient that nothing else has written yet, this saves clearing it first and the read
 * of the cleared buffer. dx must not alias dres. */
cr_status cr_conv2d_backward_store(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dw, const cr_tensor *db,
                                   const cr_tensor *dres, const cr_tensor *dy, const cr_tensor *y,
                                   const cr_tensor *x, const cr_tensor *res, const cr_tensor *w,
                                   const cr_conv2d *cv);

/* ---- 2x2 max-pool, stride 2 (host/nn/pool.c, kernels/pool.cl) ------------- */

/* y (N, C, H/2, W/2) = max over each 2x2 window of x (N, C, H, W); H, W even.
 * Ties: the first maximum in the order (0,0), (0,1), (1,0), (1,1) wins. */
cr_status cr_maxpool2_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *x);
/* dx += dy routed to each window's argmax (same tie rule), recomputed from x. */
cr_status cr_maxpool2_backward(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dy, const cr_tensor *x);

/* ---- depth-to-space, block 2 (host/nn/depth_to_space.c) ------------------- */

/* TensorFlow order: y (N, C, 2H, 2W), x (N, 4C, H, W),
 * y[n, c, 2r + i, 2s + j] = x[n, (2i + j)*C + c, r, s]. */
cr_status cr_depth_to_space_forward(cr_nn *nn, const cr_tensor *y, const cr_tensor *x);
cr_status cr_depth_to_space_backward(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dy);

/* ---- mean squared error (host/nn/loss.c, kernels/loss.cl) ----------------- */

/* *loss = mean over all elements of (pred - target)^2, summed on the host in
 * double from per-work-item partial sums; blocking. */
cr_status cr_mse_forward(cr_nn *nn, double *loss, const cr_tensor *pred, const cr_tensor *target);
/* dpred += dloss * 2 (pred - target) / count. */
cr_status cr_mse_backward(cr_nn *nn, const cr_tensor *dpred, const cr_tensor *pred,
                          const cr_tensor *target, double dloss);

#ifdef __cplusplus
}
#endif
#endif
