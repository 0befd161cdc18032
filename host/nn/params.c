/* The parameter table: one entry per trainable tensor (v, g, b of every
 * weight-normalised convolution), laid out in table order in one contiguous
 * buffer each for values, gradients and the two Adam moments; the effective
 * kernels W and dW in two more. Allocation, views, Glorot initialisation
 * (host-side Philox, device-independent), and the per-step passes over the
 * whole table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/nn_params.h"
#include "clrestore/philox.h"
#include "nn_internal.h"

cr_status cr_params_create(cr_nn *nn, cr_params **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return cr_fail(CR_ERR_NOMEM, "out of memory creating the parameter table");
    (*out)->nn = nn;
    return CR_OK;
}

void cr_params_free(cr_params *p)
{
    if (!p) return;
    cr_runtime *rt = p->nn ? p->nn->rt : NULL;
    cr_buffer_release(rt, &p->values);
    cr_buffer_release(rt, &p->grads);
    cr_buffer_release(rt, &p->adam_m);
    cr_buffer_release(rt, &p->adam_v);
    cr_buffer_release(rt, &p->weights);
    cr_buffer_release(rt, &p->dweights);
    free(p->table);
    free(p->convs);
    free(p);
}

static cr_status add_param(cr_params *p, int conv, cr_param_kind kind, const char *suffix, int s0, int s1, int s2,
                           int s3, int *index)
{
    if (p->nparams == p->cap_params) {
        int cap = p->cap_params ? 2 * p->cap_params : 48;
        cr_param *t = realloc(p->table, (size_t)cap * sizeof *t);
        if (!t) return cr_fail(CR_ERR_NOMEM, "out of memory growing the parameter table");
        p->table = t;
        p->cap_params = cap;
    }
    cr_param *e = &p->table[p->nparams];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s/%s", p->convs[conv].name, suffix);
    e->conv = conv;
    e->kind = kind;
    e->shape[0] = s0;
    e->shape[1] = s1;
    e->shape[2] = s2;
    e->shape[3] = s3;
    e->count = (size_t)s0 * (size_t)s1 * (size_t)s2 * (size_t)s3;
    e->off = p->total;
    p->total += e->count;
    *index = p->nparams++;
    return CR_OK;
}

cr_status cr_params_add_conv(cr_params *p, const char *name, int cin, int cout, int k, int *index)
{
    cr_status st;
    if (p->values) return cr_fail(CR_ERR_INTERNAL, "conv %s added after the parameters were allocated", name);
    if (cin < 1 || cout < 1 || k < 1)
        return cr_fail(CR_ERR_ARG, "conv %s: bad shape (cin %d, cout %d, k %d)", name, cin, cout, k);
    if (p->nconvs == p->cap_convs) {
        int cap = p->cap_convs ? 2 * p->cap_convs : 16;
        cr_wn_conv *t = realloc(p->convs, (size_t)cap * sizeof *t);
        if (!t) return cr_fail(CR_ERR_NOMEM, "out of memory growing the convolution table");
        p->convs = t;
        p->cap_convs = cap;
    }
    int ci = p->nconvs;
    cr_wn_conv *c = &p->convs[ci];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->cin = cin;
    c->cout = cout;
    c->k = k;
    c->w_off = p->total_w;
    CR_TRY(add_param(p, ci, CR_PARAM_V, "v", cout, cin, k, k, &c->v));
    CR_TRY(add_param(p, ci, CR_PARAM_G, "g", cout, 1, 1, 1, &c->g));
    CR_TRY(add_param(p, ci, CR_PARAM_B, "b", cout, 1, 1, 1, &c->b));
    p->total_w += (size_t)cout * cin * k * k;
    p->nconvs++;
    if (index) *index = ci;
cleanup:
    return st;
}

cr_status cr_params_alloc(cr_params *p)
{
    cr_status st;
    cr_runtime *rt = p->nn->rt;
    size_t rs = p->nn->real_size;
    if (p->values) return cr_fail(CR_ERR_INTERNAL, "parameters allocated twice");
    if (p->nconvs == 0) return cr_fail(CR_ERR_ARG, "no convolutions in the parameter table");
    if (p->total >= (size_t)INT_MAX || p->total_w >= (size_t)INT_MAX)
        return cr_fail(CR_ERR_UNSUPPORTED, "%zu parameters is more than kernels index", p->total);
    CR_TRY(cr_buffer_create(rt, p->total * rs, "parameters", &p->values));
    CR_TRY(cr_buffer_create(rt, p->total * rs, "parameter gradients", &p->grads));
    CR_TRY(cr_buffer_create(rt, p->total * rs, "Adam first moments", &p->adam_m));
    CR_TRY(cr_buffer_create(rt, p->total * rs, "Adam second moments", &p->adam_v));
    CR_TRY(cr_buffer_create(rt, p->total_w * rs, "convolution kernels", &p->weights));
    CR_TRY(cr_buffer_create(rt, p->total_w * rs, "convolution kernel gradients", &p->dweights));
    cl_mem all[] = {p->values, p->grads, p->adam_m, p->adam_v, p->weights, p->dweights};
    for (int i = 0; i < 6; i++) {
        size_t count = i < 4 ? p->total : p->total_w;
        cr_tensor t = cr_tensor_view(all[i], 0, 1, 1, 1, (int)count);
        CR_TRY(cr_nn_fill(p->nn, &t, 0.0));
    }
    p->step = 0;
cleanup:
    return st;
}

static cr_tensor param_view(const cr_params *p, cl_mem buf, int param)
{
    const cr_param *e = &p->table[param];
    return cr_tensor_view(buf, e->off, e->shape[0], e->shape[1], e->shape[2], e->shape[3]);
}

cr_tensor cr_params_value(const cr_params *p, int param) { return param_view(p, p->values, param); }
cr_tensor cr_params_grad(const cr_params *p, int param) { return param_view(p, p->grads, param); }

static cr_tensor w_view(const cr_params *p, cl_mem buf, int conv)
{
    const cr_wn_conv *c = &p->convs[conv];
    return cr_tensor_view(buf, c->w_off, c->cout, c->cin, c->k, c->k);
}

cr_tensor cr_params_w(const cr_params *p, int conv) { return w_view(p, p->weights, conv); }
cr_tensor cr_params_dw(const cr_params *p, int conv) { return w_view(p, p->dweights, conv); }

static cr_tensor b_view(const cr_params *p, cl_mem buf, int conv)
{
    const cr_param *e = &p->table[p->convs[conv].b];
    return cr_tensor_view(buf, e->off, 1, (int)e->count, 1, 1);
}

cr_tensor cr_params_b(const cr_params *p, int conv) { return b_view(p, p->values, conv); }
cr_tensor cr_params_db(const cr_params *p, int conv) { return b_view(p, p->grads, conv); }

void cr_philox_uniform(double *out, size_t count, double limit, uint64_t seed, uint32_t stream)
{
    const uint32_t key[2] = {(uint32_t)seed, stream};
    for (size_t i = 0; i < count; i++) {
        const uint32_t ctr[4] = {(uint32_t)i, (uint32_t)((uint64_t)i >> 32), (uint32_t)(seed >> 32), 0};
        uint32_t r[4];
        cr_philox4x32(ctr, key, r);
        /* 53 random bits -> u in [0, 1), exactly representable */
        uint64_t bits = ((uint64_t)(r[0] >> 5) << 26) | (r[1] >> 6);
        double u = (double)bits * (1.0 / 9007199254740992.0);
        out[i] = limit * (2.0 * u - 1.0);
    }
}

cr_status cr_params_init_glorot(cr_params *p, uint64_t seed)
{
    cr_status st = CR_OK;
    double *host = NULL;
    if (!p->values) return cr_fail(CR_ERR_INTERNAL, "parameters initialised before allocation");
    host = calloc(p->total ? p->total : 1, sizeof *host);
    if (!host) return cr_fail(CR_ERR_NOMEM, "out of memory initialising %zu parameters", p->total);
    for (int ci = 0; ci < p->nconvs; ci++) {
        const cr_wn_conv *c = &p->convs[ci];
        const cr_param *v = &p->table[c->v], *g = &p->table[c->g];
        double fan_in = (double)c->k * c->k * c->cin, fan_out = (double)c->k * c->k * c->cout;
        double limit = sqrt(6.0 / (fan_in + fan_out));
        /* stream = convolution index: adding layers later leaves earlier ones unchanged */
        cr_philox_uniform(host + v->off, v->count, limit, seed, (uint32_t)ci);
        size_t len = v->count / (size_t)c->cout;
        for (int o = 0; o < c->cout; o++) {
            double ss = 0;
            for (size_t j = 0; j < len; j++) ss += host[v->off + o * len + j] * host[v->off + o * len + j];
            host[g->off + o] = sqrt(ss); /* so that g V/||V|| = V = W at the start */
        }
        /* b stays 0 (calloc) */
    }
    cr_tensor all = cr_tensor_view(p->values, 0, 1, 1, 1, (int)p->total);
    CR_TRY(cr_tensor_write(p->nn, &all, host));
    cr_tensor m = cr_tensor_view(p->adam_m, 0, 1, 1, 1, (int)p->total);
    cr_tensor v = cr_tensor_view(p->adam_v, 0, 1, 1, 1, (int)p->total);
    CR_TRY(cr_nn_fill(p->nn, &m, 0.0));
    CR_TRY(cr_nn_fill(p->nn, &v, 0.0));
    p->step = 0;
cleanup:
    free(host);
    return st;
}

cr_status cr_params_zero_grad(cr_params *p)
{
    cr_status st;
    cr_tensor g = cr_tensor_view(p->grads, 0, 1, 1, 1, (int)p->total);
    cr_tensor dw = cr_tensor_view(p->dweights, 0, 1, 1, 1, (int)p->total_w);
    CR_TRY(cr_nn_fill(p->nn, &g, 0.0));
    CR_TRY(cr_nn_fill(p->nn, &dw, 0.0));
cleanup:
    return st;
}

cr_status cr_params_weightnorm_forward(cr_params *p)
{
    cr_status st = CR_OK;
    for (int ci = 0; ci < p->nconvs; ci++) {
        const cr_wn_conv *c = &p->convs[ci];
        cr_tensor w = cr_params_w(p, ci), v = cr_params_value(p, c->v), g = cr_params_value(p, c->g);
        CR_TRY(cr_weightnorm_forward(p->nn, &w, &v, &g));
    }
cleanup:
    return st;
}

cr_status cr_params_weightnorm_backward(cr_params *p)
{
    cr_status st = CR_OK;
    for (int ci = 0; ci < p->nconvs; ci++) {
        const cr_wn_conv *c = &p->convs[ci];
        cr_tensor dv = cr_params_grad(p, c->v), dg = cr_params_grad(p, c->g), dw = cr_params_dw(p, ci);
        cr_tensor v = cr_params_value(p, c->v), g = cr_params_value(p, c->g);
        CR_TRY(cr_weightnorm_backward(p->nn, &dv, &dg, &dw, &v, &g));
    }
cleanup:
    return st;
}

cr_status cr_params_adam(cr_params *p, const cr_adam *hp)
{
    p->step++;
    return cr_adam_update(p->nn, p->values, p->grads, p->adam_m, p->adam_v, p->total, p->step, hp);
}
