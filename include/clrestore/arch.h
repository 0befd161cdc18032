/* The WA-U-Net architecture as data: its hyper-parameters and the list of
 * its convolutions in checkpoint order (REFERENCE.md "Network", read top to
 * bottom, left to right: the input convolution first, the last output
 * convolution last). The network builder, the checkpoint reader/writer and
 * the parameter count all walk this one list, which like the receptive field
 * and the multiply-adds derives from the network graph (host/model/graph.c,
 * a layer below both the engine, host/nn, and the checkpoint code, host/io). */
#ifndef CLRESTORE_ARCH_H
#define CLRESTORE_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cr_arch {
    int levels;         /* L, default 3: the input size must divide by 2^L */
    int blocks;         /* B, default 4: wa_blocks per level */
    int filters;        /* f, default 32 */
    int expansion;      /* e, default 4 */
    int encoder_kernel; /* 3 */
    int decoder_kernel; /* 4 */
} cr_arch;

/* The reference defaults: 3 / 4 / 32 / 4, kernels 3 and 4. */
cr_arch cr_arch_default(void);
/* CR_ERR_ARG naming the bad field when a value is out of range. */
cr_status cr_arch_check(const cr_arch *a);

typedef struct cr_conv_spec {
    char name[48]; /* "enc0.block3.down", "dec2.up_skip.block.conv4", ... */
    int k;         /* kernel size */
    int stride;    /* 1 or 2 */
    int cin, cout;
    int level;     /* its input is the image size >> level */
} cr_conv_spec;

/* TensorFlow "same" padding along one axis: out = ceil(in / stride),
 * pad_total = max((out - 1)*stride + k - in, 0), pad_before = pad_total / 2
 * (the smaller half before; the rest after). k=3,s=1: 1/1; k=4,s=1: 1/2;
 * k=3,s=2 on even in: 0/1. The one rule for the graph's receptive field and
 * both convolution engines. */
void cr_conv2d_same(int in, int k, int stride, int *out, int *pad_before);

/* The convolutions in checkpoint order (96 at the defaults). Caller frees. */
cr_status cr_arch_convs(const cr_arch *a, cr_conv_spec **convs, int *n);

/* Weights plus biases (2,383,826 at the defaults; weight-norm g not counted). */
int64_t cr_arch_param_count(const cr_arch *a);

/* Multiply-adds of all convolutions per input pixel (317,982 at the defaults). */
double cr_arch_macs_per_pixel(const cr_arch *a);

/* The input pixels [*lo, *hi] along one axis (image of n pixels, n a multiple of
 * 2^levels) that output pixel p can depend on: exact, with TF "same" padding's
 * asymmetry and the whole window of every max-pool, positions outside [0, n)
 * included as if the image went on. */
cr_status cr_arch_field(const cr_arch *a, int n, int p, int *lo, int *hi);

/* The receptive field: output pixel p depends on input pixels p - before ..
 * p + after along each axis at most (the largest of cr_arch_field over the
 * 2^levels positions p mod 2^levels). The tile margin must cover it. */
void cr_arch_receptive_field(const cr_arch *a, int *before, int *after);

#ifdef __cplusplus
}
#endif
#endif
