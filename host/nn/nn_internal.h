/* Shared by the files of host/nn: the engine struct, the table of layer kernels (built
 * lazily, one program per kernel file and precision), argument helpers and
 * shape checks. */
#ifndef CLRESTORE_NN_INTERNAL_H
#define CLRESTORE_NN_INTERNAL_H

#include <limits.h>

#include "clrestore/nn.h"
#include "conv_fast.h"

/* Every kernel the engine launches; cr_nn_kernel_table in nn.c names its file
 * and function. */
typedef enum cr_nnk {
    CR_NNK_FILL,
    CR_NNK_AXPY,
    CR_NNK_RELU_FWD,
    CR_NNK_RELU_BWD,
    CR_NNK_ADD_FWD,
    CR_NNK_CONCAT_FWD,
    CR_NNK_CONCAT_BWD,
    CR_NNK_CONV_FWD,
    CR_NNK_CONV_BWD_DATA,
    CR_NNK_CONV_BWD_WEIGHT,
    CR_NNK_CONV_BWD_BIAS,
    CR_NNK_POOL_FWD,
    CR_NNK_POOL_BWD,
    CR_NNK_D2S_FWD,
    CR_NNK_D2S_BWD,
    CR_NNK_MSE_PARTIAL,
    CR_NNK_MSE_BWD,
    CR_NNK_WN_FWD,
    CR_NNK_WN_BWD,
    CR_NNK_ADAM,
    CR_NNK_COUNT
} cr_nnk;

/* Work-items of the MSE partial-sum kernel (= reals in the scratch buffer). */
#define CR_NN_MSE_PARTS 1024

struct cr_nn {
    cr_runtime *rt;           /* not owned */
    cr_precision prec;
    size_t real_size;         /* sizeof(real) on the device: 4 or 8 */
    char options[64];         /* build options: "" or "-DCR_REAL_DOUBLE=1" */
    cl_mem mse_partial;       /* (CR_NN_MSE_PARTS) reals, NULL until first use */
    cr_conv_fast *cf;         /* the register-tiled convolutions, created on first use */
    cl_mem conv_dz;           /* float engines: dL/d(pre-ReLU) of the convolution in backward */
    size_t conv_dz_bytes;     /* its size; grows to the largest layer, then is reused */
};

/* The engine's register-tiled convolutions, created on first use (with the device's
 * tuned parameters, conv_tune.h). */
cr_status cr_nn_conv_fast(cr_nn *nn, cr_conv_fast **out);

/* cr_conv2d_backward_store with dx = 0 where relu_y <= 0: relu_y (N, cin, H, W) is x, the
 * output of a ReLU convolution (no residual) whose only reader is this one, so that its
 * backward can drop the ReLU (and its mask pass: the network's backward, waunet.c).
 * Tiled engine only (CR_ERR_UNSUPPORTED otherwise). */
cr_status cr_conv2d_backward_store_relu(cr_nn *nn, const cr_tensor *dx, const cr_tensor *dw, const cr_tensor *db,
                                        const cr_tensor *dres, const cr_tensor *dy, const cr_tensor *y,
                                        const cr_tensor *x, const cr_tensor *res, const cr_tensor *w,
                                        const cr_conv2d *cv, const cr_tensor *relu_y);

/* The kernel for id with the engine's options (cr_kernel_get: built on first use,
 * owned by the runtime). */
cr_status cr_nn_kernel(cr_nn *nn, cr_nnk id, cl_kernel *out);

/* A `real` kernel argument: pass (nn->real_size, &arg) to cr_kernel_args; the
 * union puts the float or the double at its start. */
typedef union cr_real_arg {
    float f;
    double d;
} cr_real_arg;
cr_real_arg cr_nn_real(const cr_nn *nn, double v);

/* Checks a tensor for use with nn: non-NULL buffer, positive dimensions,
 * off + count < INT_MAX, and the buffer large enough. what names it in the error. */
cr_status cr_nn_check(const cr_nn *nn, const cr_tensor *t, const char *what);
/* Same, and the shape must be (n, c, h, w). */
cr_status cr_nn_check_shape(const cr_nn *nn, const cr_tensor *t, const char *what, int n, int c, int h, int w);

/* Launches a 1-D kernel over n items (local size left to the runtime). */
cr_status cr_nn_launch1(cr_nn *nn, cl_kernel k, size_t n);

/* Kernel argument pair for cr_kernel_args: KA(x) -> sizeof x, &x. */
#define KA(x) sizeof(x), (const void *)&(x)
/* A real argument held in a cr_real_arg. */
#define KR(nn, u) (nn)->real_size, (const void *)&(u)

#endif
