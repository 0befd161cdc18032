/* Flag bits of the fused convolution epilogue y = [relu](conv(x, w) [+ b]) [+ res], the one
 * definition for the host (host/nn/conv2d.c, host/nn/conv_fast.c, which pass the public
 * CR_CONV_RELU / CR_CONV_RESIDUAL of include/clrestore/nn.h straight through and check them
 * against these at compile time) and the kernels (kernels/conv2d.cl, kernels/conv_gemm.cl,
 * which `#include "conv_flags.h"`; host/runtime/program.c inserts it). Plain C and OpenCL C. */
#ifndef CR_CONV_FLAGS_H
#define CR_CONV_FLAGS_H

#define CR_CONV_FLAG_RELU 1     /* max(., 0) after the bias */
#define CR_CONV_FLAG_RESIDUAL 2 /* + res after the ReLU */
#define CR_CONV_FLAG_BIAS 4     /* a bias is given */
#define CR_CONV_FLAG_MASK 8     /* dX only: y = (res > 0) ? sum : 0, res the ReLU output that was
                                   this convolution's input (internal; never in a layer's flags) */

#ifdef __OPENCL_VERSION__
/* The implicit-GEMM kernels (conv_gemm.cl, conv_local.cl) are built per kernel size and
 * stride (the host passes -DCONV_K= -DCONV_S=); these defaults only let them build alone. */
#ifndef CONV_K
#define CONV_K 1
#endif
#ifndef CONV_S
#define CONV_S 1
#endif
#endif

#endif
