/* Trainable parameters: the parameter table (one source of truth for
 * allocation, gradients, Adam moments and checkpoint I/O), weight
 * normalisation, Adam, and Glorot-uniform initialisation.
 *
 * Every convolution of the network is weight-normalised (Salimans & Kingma
 * 2016): its kernel W = g * V / ||V|| per output channel. The table holds, per
 * convolution and in the order the convolutions were added, three parameters
 * v (cout, cin, k, k), g (cout) and b (cout). Parameter values, their
 * gradients and the two Adam moments are each ONE contiguous device buffer laid
 * out in table order; the effective kernels W and their gradients dW are two
 * more contiguous buffers, one (cout, cin, k, k) block per convolution.
 *
 * A training step: cr_params_weightnorm_forward (W from V, g) -> network
 * forward/backward with cr_params_w/_b and cr_params_dw/_db ->
 * cr_params_weightnorm_backward (dW -> dV, dg) -> cr_params_adam ->
 * cr_params_zero_grad. */
#ifndef CLRESTORE_NN_PARAMS_H
#define CLRESTORE_NN_PARAMS_H

#include <stdint.h>

#include "clrestore/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cr_param_kind { CR_PARAM_V = 0, CR_PARAM_G, CR_PARAM_B } cr_param_kind;

typedef struct cr_param {
    char name[64];      /* "<conv name>/v", "/g", "/b" */
    int conv;           /* index of its convolution */
    cr_param_kind kind;
    int shape[4];       /* v: (cout, cin, k, k); g, b: (cout, 1, 1, 1) */
    size_t off;         /* element offset in values, grads, adam_m, adam_v */
    size_t count;       /* elements */
} cr_param;

typedef struct cr_wn_conv {
    char name[48];
    int cin, cout, k;
    int v, g, b;        /* indices of its parameters in the table */
    size_t w_off;       /* element offset of its W in weights and dweights */
} cr_wn_conv;

typedef struct cr_params {
    cr_nn *nn;              /* not owned */
    cr_param *table;        /* (nparams) */
    int nparams, cap_params;
    cr_wn_conv *convs;      /* (nconvs) */
    int nconvs, cap_convs;
    size_t total;           /* elements of values (= grads = adam_m = adam_v) */
    size_t total_w;         /* elements of weights (= dweights) */
    cl_mem values;          /* (total) every v, g, b in table order */
    cl_mem grads;           /* (total) dL/d values */
    cl_mem adam_m;          /* (total) Adam first moments */
    cl_mem adam_v;          /* (total) Adam second moments */
    cl_mem weights;         /* (total_w) W = g V/||V||, (cout, cin, k, k) per conv */
    cl_mem dweights;        /* (total_w) dL/dW */
    int64_t step;           /* Adam steps taken (t of the last update) */
} cr_params;

typedef struct cr_adam {
    double lr;              /* learning rate, 1e-4 by default */
    double beta1, beta2;    /* 0.9, 0.99 */
    double eps;             /* 1e-8, added to sqrt(v) as Keras does (see adam.c) */
} cr_adam;

/* Reference defaults (REFERENCE.md "Training"). */
cr_adam cr_adam_defaults(void);

cr_status cr_params_create(cr_nn *nn, cr_params **out);
/* Appends a weight-normalised convolution (three table entries); only before
 * cr_params_alloc. *index (may be NULL) receives the convolution index. */
cr_status cr_params_add_conv(cr_params *p, const char *name, int cin, int cout, int k, int *index);
/* Allocates the six buffers for the table as it stands, all zero. */
cr_status cr_params_alloc(cr_params *p);
/* Accepts NULL and half-built tables. */
void cr_params_free(cr_params *p);

/* Views (valid after cr_params_alloc). */
cr_tensor cr_params_value(const cr_params *p, int param);   /* shape as in the table */
cr_tensor cr_params_grad(const cr_params *p, int param);
cr_tensor cr_params_w(const cr_params *p, int conv);        /* (cout, cin, k, k) */
cr_tensor cr_params_dw(const cr_params *p, int conv);
cr_tensor cr_params_b(const cr_params *p, int conv);        /* (1, cout, 1, 1) */
cr_tensor cr_params_db(const cr_params *p, int conv);

/* Glorot-uniform kernels W ~ U(-limit, limit), limit = sqrt(6/(fan_in + fan_out)),
 * fan_in = k*k*cin, fan_out = k*k*cout; then V = W, g = ||W|| per output
 * channel, b = 0; Adam moments and step reset. Generated on the host (see
 * cr_philox_uniform) so a seed gives the same model on every device. */
cr_status cr_params_init_glorot(cr_params *p, uint64_t seed);

/* out[i] = uniform in [-limit, limit) from Philox4x32-10 (Random123) with key
 * (low 32 bits of seed, stream) and counter (i, high 32 bits of seed, 0, 0):
 * 53 bits of the first two output words. Device- and platform-independent. */
void cr_philox_uniform(double *out, size_t count, double limit, uint64_t seed, uint32_t stream);

/* grads = 0, dweights = 0. */
cr_status cr_params_zero_grad(cr_params *p);
/* weights = g V/||V|| for every convolution. */
cr_status cr_params_weightnorm_forward(cr_params *p);
/* grads of v and g += from dweights (b's gradient is written directly by the layers). */
cr_status cr_params_weightnorm_backward(cr_params *p);
/* One Adam step over the whole values buffer; increments p->step first. */
cr_status cr_params_adam(cr_params *p, const cr_adam *hp);

/* The single kernels behind the above, usable on any views. */
/* w (rows, cin, k, k) = g (rows) * v / ||v|| row-wise. */
cr_status cr_weightnorm_forward(cr_nn *nn, const cr_tensor *w, const cr_tensor *v, const cr_tensor *g);
/* dv += g/||v|| dw - g dgr/||v||^2 v, dg += dgr, where dgr = dw . v/||v|| (per row). */
cr_status cr_weightnorm_backward(cr_nn *nn, const cr_tensor *dv, const cr_tensor *dg, const cr_tensor *dw,
                                 const cr_tensor *v, const cr_tensor *g);
/* Adam step t (>= 1) on `count` contiguous elements of param/grad/m/v. */
cr_status cr_adam_update(cr_nn *nn, cl_mem param, cl_mem grad, cl_mem m, cl_mem v, size_t count,
                         int64_t t, const cr_adam *hp);

#ifdef __cplusplus
}
#endif
#endif
