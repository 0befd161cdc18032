/* The wide-activation U-Net (REFERENCE.md "Network") as a model object on a
 * network engine: its parameter table, a forward pass on a batch, backward,
 * a training step, checkpoint upload/download and a benchmark.
 *
 * Overview
 * - cr_waunet_create builds the parameter table from a cr_arch (one
 *   weight-normalised convolution per cr_arch_convs entry, same order) and
 *   the layer graph that walks it. Weights start at zero: call
 *   cr_waunet_init (Glorot, seeded) or cr_waunet_upload (a checkpoint).
 * - cr_waunet_prepare(m, mode, N, H, W) plans the activations for a batch
 *   shape (H, W divisible by 2^levels) and allocates them ONCE into a few
 *   large device arenas; later calls with the same shape and mode do
 *   nothing, so a training loop allocates nothing per step.
 *   TRAINING keeps every activation backward needs and the gradients of the
 *   activations; INFERENCE lets an activation's memory be reused as soon as
 *   its last reader has run (offsets planned ahead, like a register
 *   allocator), which needs far less memory.
 * - The model owns its input, output and (training) target tensors inside
 *   the arena: write the batch into cr_waunet_input, run cr_waunet_forward,
 *   read cr_waunet_output.
 * - Effective kernels W = g V/||V|| are recomputed lazily before a forward
 *   whenever the parameters changed (init, upload, Adam).
 */
#ifndef CLRESTORE_WAUNET_H
#define CLRESTORE_WAUNET_H

#include <stddef.h>
#include <stdint.h>

#include "clrestore/arch.h"
#include "clrestore/checkpoint.h"
#include "clrestore/nn.h"
#include "clrestore/nn_params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cr_waunet_mode { CR_WAUNET_INFERENCE = 0, CR_WAUNET_TRAINING = 1 } cr_waunet_mode;

typedef struct cr_waunet cr_waunet; /* opaque */

/* The model for architecture a on engine nn (not owned; must outlive it). */
cr_status cr_waunet_create(cr_nn *nn, const cr_arch *a, cr_waunet **out);
/* Accepts NULL and half-built models; releases parameters and arenas. */
void cr_waunet_free(cr_waunet *m);

const cr_arch *cr_waunet_arch(const cr_waunet *m);
cr_nn *cr_waunet_nn(const cr_waunet *m);
/* The parameter table (v, g, b per convolution; grads; Adam moments; step). */
cr_params *cr_waunet_params(cr_waunet *m);
/* Call after writing parameter values directly through cr_waunet_params, so
 * the next forward recomputes W. */
void cr_waunet_params_changed(cr_waunet *m);

/* Glorot-uniform kernels from seed (cr_params_init_glorot), zero biases,
 * zero Adam state. */
cr_status cr_waunet_init(cr_waunet *m, uint64_t seed);

/* Plans and allocates activations for batches (n, 1, h, w) in this mode.
 * CR_ERR_ARG when h or w is not a positive multiple of 2^levels. */
cr_status cr_waunet_prepare(cr_waunet *m, cr_waunet_mode mode, int n, int h, int w);

/* Views into the arena, valid until the next prepare with another shape or mode. */
cr_tensor cr_waunet_input(const cr_waunet *m);   /* (n, 1, h, w) */
cr_tensor cr_waunet_output(const cr_waunet *m);  /* (n, 1, h, w) */
cr_tensor cr_waunet_target(const cr_waunet *m);  /* (n, 1, h, w); TRAINING only */
cr_tensor cr_waunet_doutput(const cr_waunet *m); /* (n, 1, h, w) dL/doutput scratch; TRAINING only */

/* output = network(input) for the prepared shape. */
cr_status cr_waunet_forward(cr_waunet *m);

/* After a TRAINING forward: adds dL/dv, dL/dg, dL/db of every convolution
 * into the parameter gradients (through the weight norm) given dy = dL/doutput
 * (n, 1, h, w; may be cr_waunet_doutput), and dL/dinput into dinput (n, 1, h, w)
 * when it is not NULL. The gradients of the activations are internal. */
cr_status cr_waunet_backward(cr_waunet *m, const cr_tensor *dy, const cr_tensor *dinput);

/* One training step on the batch in input/target (TRAINING, prepared):
 * zero gradients -> forward -> MSE loss -> backward -> Adam with hp (the
 * step's learning rate in hp->lr). *loss (may be NULL) receives the loss
 * before the update. */
cr_status cr_waunet_train_step(cr_waunet *m, const cr_adam *hp, double *loss);

typedef struct cr_waunet_memory {
    int64_t parameters;      /* weights + biases (cr_arch_param_count) */
    size_t param_bytes;      /* parameter table on the device: values, gradients, 2 Adam moments, W, dW */
    size_t activation_bytes; /* activation arenas for the shape and mode */
    size_t live_peak_bytes;  /* lower bound: most bytes of activations alive at one time */
    size_t scratch_bytes;    /* engine scratch of the convolutions (padded inputs, GEMM-order
                                weights, dW partial sums, masked gradients); float engines */
    int arenas;              /* device buffers the activations are split into */
} cr_waunet_memory;

/* Device memory the model needs for batches (n, 1, h, w) in this mode,
 * computed from the layer shapes by the same planner prepare uses (nothing
 * is allocated). */
cr_status cr_waunet_memory_estimate(const cr_waunet *m, cr_waunet_mode mode, int n, int h, int w,
                                    cr_waunet_memory *out);

/* ---- checkpoints (host/nn/waunet_ckpt.c) --------------------------------- */

/* Parameter values (and, when the checkpoint has them, Adam moments and
 * step) from c into the model. The architecture must match (CR_ERR_ARG). */
cr_status cr_waunet_upload(cr_waunet *m, const cr_checkpoint *c);
/* Parameter values (and with with_optimizer the Adam moments and step) from
 * the model into c, which must have the model's architecture (e.g. from
 * cr_checkpoint_create). Other fields of c are left as they are. */
cr_status cr_waunet_download(cr_waunet *m, cr_checkpoint *c, int with_optimizer);

/* ---- applying the network to one image (host/nn/waunet_apply.c) ---------- */

/* The network alone on one image (ny rows, nx columns, x fastest) as it is:
 * padded (centred, smaller half before) up to multiples of 2^levels with
 * the image's edge mean, run in
 * INFERENCE mode, cropped back into out (ny x nx). */
cr_status cr_waunet_apply_image(cr_waunet *m, const float *img, int nx, int ny, float *out);
/* The mean of the image's border pixels (first and last row and column,
 * each pixel counted once): the padding value of cr_waunet_apply_image. */
double cr_image_edge_mean(const float *img, int nx, int ny);

/* ---- profile -------------------------------------------------------------- */

/* Where the time of forward and backward goes, by layer kind. */
typedef enum cr_waunet_prof_kind {
    CR_PROF_CONV1,   /* 1x1 convolutions */
    CR_PROF_CONVK,   /* k x k convolutions, stride 1 */
    CR_PROF_CONVS2,  /* stride-2 convolutions */
    CR_PROF_POOL,    /* max-pool */
    CR_PROF_D2S,     /* depth-to-space */
    CR_PROF_ADD,     /* residual adds */
    CR_PROF_CONCAT,  /* skip concatenations */
    CR_PROF_WNORM,   /* weight norm (forward W, backward dV, dg) and gradient clearing */
    CR_PROF_KINDS
} cr_waunet_prof_kind;

typedef struct cr_waunet_profile {
    double fwd[CR_PROF_KINDS], bwd[CR_PROF_KINDS]; /* seconds, summed over the profiled passes */
} cr_waunet_profile;

/* With p non-NULL, forward and backward wait for the device after every layer and add its
 * wall time into *p (slower: no overlap of host and device); NULL turns it off. */
void cr_waunet_set_profile(cr_waunet *m, cr_waunet_profile *p);
const char *cr_waunet_prof_name(cr_waunet_prof_kind k);

/* ---- benchmark (host/nn/waunet_bench.c) ---------------------------------- */

typedef struct cr_bench_result {
    double ms;             /* median wall time of one forward / training step */
    double best_ms;        /* the fastest repetition (the machine may be shared: noise is one-sided) */
    double gflops;         /* 2 * MACs * pixels / time; training counts 3x the forward MACs */
    size_t peak_bytes;     /* device memory peak of the benchmark (parameters included), above what
                              was in use before; the runtime's peak is reset at the start */
    size_t activation_bytes;
    int size, batch, train, repeats;
    cr_waunet_profile profile; /* one extra, profiled run (cr_waunet_set_profile) */
} cr_bench_result;

/* Times a forward (train = 0) or a training step (train = 1) of a Glorot-
 * initialised model of architecture a on batch x 1 x size x size random
 * input, float engine, after one untimed warm-up; repeats >= 1. */
cr_status cr_waunet_bench(cr_runtime *rt, const cr_arch *a, int size, int batch, int train, int repeats,
                          cr_bench_result *out);

#ifdef __cplusplus
}
#endif
#endif
