/* The WA-U-Net model: parameter table from the graph (host/model/graph.c),
 * activation arenas per batch shape and mode, forward and backward as lookups
 * in the op table (host/nn/ops.c), and the training step, whose loss is the
 * table's WN_MSE row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/log.h"
#include "conv_fast.h"
#include "conv_flags.h"
#include "nn_internal.h"
#include "waunet_internal.h"

cr_status cr_waunet_create(cr_nn *nn, const cr_arch *a, cr_waunet **out)
{
    cr_status st;
    cr_waunet *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m) return cr_fail(CR_ERR_NOMEM, "out of memory creating the network");
    m->nn = nn;
    m->arch = *a;
    m->w_stale = 1;
    for (int k = 0; k < WN_OPKINDS; k++) {
        const wn_op_impl *r = &wn_op_impl_table[k];
        if (!r->forward || !r->backward || !r->bwd_reads || !r->prof) {
            st = cr_fail(CR_ERR_INTERNAL, "op kind %d has no row in wn_op_impl_table", k);
            goto cleanup;
        }
    }
    CR_TRY(wn_graph_build(a, &m->graph));
    m->cv = calloc((size_t)m->graph.nops, sizeof *m->cv);
    if (!m->cv) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory creating the network");
        goto cleanup;
    }
    for (int i = 0; i < m->graph.nops; i++)
        if (m->graph.ops[i].kind == WN_CONV) m->cv[i] = wn_op_conv2d(&m->graph.ops[i]);
    /* the loss reads the output and the target (a slot of the plan, not a graph tensor) */
    m->loss = (wn_op){.kind = WN_MSE, .conv = -1, .y = -1, .a = m->graph.output, .b = -1};
    CR_TRY(cr_params_create(nn, &m->params));
    /* the parameter table: one weight-normalised conv per conv op, in graph (= checkpoint) order */
    for (int i = 0; i < m->graph.nops; i++) {
        const wn_op *op = &m->graph.ops[i];
        if (op->conv >= 0) /* an op with weights: a weight-normalised conv of the table */
            CR_TRY(cr_params_add_conv(m->params, op->spec.name, op->spec.cin, op->spec.cout, op->spec.k, NULL));
    }
    CR_TRY(cr_params_alloc(m->params));
    m->zeroed = calloc((size_t)m->graph.nt, 1);
    m->premasked = calloc((size_t)m->graph.nt, 1);
    m->readers = calloc((size_t)m->graph.nt, sizeof *m->readers);
    m->fuse_eb = calloc((size_t)m->graph.nops, 1);
    if (!m->zeroed || !m->premasked || !m->readers || !m->fuse_eb) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory creating the network");
        goto cleanup;
    }
    for (int i = 0; i < m->graph.nops; i++) {
        const wn_op *op = &m->graph.ops[i];
        m->readers[op->a]++;
        if (op->b >= 0) m->readers[op->b]++;
    }
    *out = m;
    m = NULL;
cleanup:
    cr_waunet_free(m);
    return st;
}

static void release_arenas(cr_waunet *m)
{
    if (m->arenas)
        for (int i = 0; i < m->plan.narenas; i++) cr_buffer_release(m->nn->rt, &m->arenas[i]);
    free(m->arenas);
    m->arenas = NULL;
    wn_plan_free(&m->plan);
    m->prepared = 0;
    m->fwd_done = 0;
}

void cr_waunet_free(cr_waunet *m)
{
    if (!m) return;
    if (m->nn) release_arenas(m);
    cr_params_free(m->params);
    wn_graph_free(&m->graph);
    free(m->cv);
    free(m->zeroed);
    free(m->premasked);
    free(m->readers);
    free(m->fuse_eb);
    free(m);
}

const cr_arch *cr_waunet_arch(const cr_waunet *m) { return &m->arch; }
cr_nn *cr_waunet_nn(const cr_waunet *m) { return m->nn; }
cr_params *cr_waunet_params(cr_waunet *m) { return m->params; }
void cr_waunet_params_changed(cr_waunet *m) { m->w_stale = 1; }

cr_status cr_waunet_init(cr_waunet *m, uint64_t seed)
{
    m->w_stale = 1;
    return cr_params_init_glorot(m->params, seed);
}

size_t wn_max_arena_count(const cr_waunet *m)
{
    /* kernels index with int, and one buffer can be at most max_alloc bytes */
    size_t by_int = (size_t)INT_MAX - 1;
    size_t by_dev = (size_t)(m->nn->rt->dev.max_alloc / m->nn->real_size);
    size_t c = by_dev > 0 && by_dev < by_int ? by_dev : by_int;
    return c / 64 * 64;
}

static cr_status check_shape(const cr_waunet *m, int n, int h, int w)
{
    int q = 1 << m->arch.levels;
    if (n < 1 || h < q || w < q || h % q || w % q)
        return cr_fail(CR_ERR_ARG, "network input %d x %d x %d: height and width must be positive multiples of "
                                   "2^levels = %d, and the batch at least 1",
                       n, h, w, q);
    return CR_OK;
}

/* Inference: op i is a 1x1 expand with ReLU (no residual) whose output only op i + 1 reads,
 * a linear 1x1 without residual, both on the tiled engine, and the device's parameters fuse
 * this pair (cr_conv_fast_eb_fits). Training keeps the expanded activation for backward. */
static int eb_fusable(const cr_waunet *m, int i)
{
    if (i + 1 >= m->graph.nops) return 0;
    const wn_op *e = &m->graph.ops[i], *b = &m->graph.ops[i + 1];
    if (e->kind != WN_CONV || b->kind != WN_CONV || e->conv < 0 || b->conv < 0) return 0;
    if (e->spec.k != 1 || e->spec.stride != 1 || e->flags != CR_CONV_FLAG_RELU || e->b >= 0) return 0;
    if (b->spec.k != 1 || b->spec.stride != 1 || b->flags != 0 || b->b >= 0 || b->a != e->y) return 0;
    if (m->readers[e->y] != 1 || e->y == m->graph.output) return 0;
    if (cr_conv2d_engine(m->nn, &m->cv[i]) != CR_CONV_TILED || cr_conv2d_engine(m->nn, &m->cv[i + 1]) != CR_CONV_TILED)
        return 0;
    cr_conv_fast *cf;
    if (cr_nn_conv_fast(m->nn, &cf) != CR_OK) {
        cr_error_clear(); /* the unfused ops report it when they run */
        return 0;
    }
    return cr_conv_fast_eb_fits(cf, e->spec.cin, e->spec.cout, b->spec.cout);
}

/* fused (graph.nops): which ops run fused with the next in this mode (none in training). */
static void fuse_mask(const cr_waunet *m, cr_waunet_mode mode, unsigned char *fused)
{
    for (int i = 0; i < m->graph.nops; i++) fused[i] = 0;
    if (mode != CR_WAUNET_INFERENCE) return;
    for (int i = 0; i < m->graph.nops; i++)
        if (eb_fusable(m, i)) fused[i] = 1, i++; /* a bottleneck is never also an expand */
}

/* The float engine's convolution scratch (host/nn/conv2d.c, conv_fast): each buffer grows
 * to the largest need over the layers and passes run in this mode; fused (graph.nops) marks
 * the pairs that run as one kernel (fuse_mask). */
static size_t conv_scratch_bytes(const cr_waunet *m, cr_waunet_mode mode, const unsigned char *fused, int n, int h,
                                 int w)
{
    cr_conv_fast *cf = NULL;
    if (m->nn->prec != CR_FLOAT) return 0;
    if (cr_nn_conv_fast(m->nn, &cf) != CR_OK) { /* out of host memory: the estimate goes without */
        cr_error_clear();
        return 0;
    }
    cr_conv_scratch most = {0, 0, 0, 0}, s;
    size_t dz = 0;
    for (int i = 0; i < m->graph.nops; i++) {
        const wn_op *op = &m->graph.ops[i];
        if (op->kind != WN_CONV) continue;
        const wn_tensor *in = &m->graph.t[op->a];
        const cr_conv2d *cv = &m->cv[i];
        cr_conv_geom g = cr_conv_geom_make(n, cv->cin, h >> in->lv, w >> in->lv, cv->cout, cv->k, cv->stride);
        int passes = mode == CR_WAUNET_TRAINING ? 3 : 1;
        for (int pass = 0; pass < passes; pass++) {
            if (pass == 1 && op->a == m->graph.input) continue; /* no dX of the image */
            if (fused[i])
                cr_conv_fast_eb_scratch_need(cf, cv->cin, cv->cout, m->cv[i + 1].cout, &s);
            else
                cr_conv_fast_scratch_need(cf, pass, &g, &s);
            most.pad = s.pad > most.pad ? s.pad : most.pad;
            most.wt = s.wt > most.wt ? s.wt : most.wt;
            most.part = s.part > most.part ? s.part : most.part;
            most.wt2 = s.wt2 > most.wt2 ? s.wt2 : most.wt2;
        }
        size_t z = (size_t)n * cv->cout * g.ho * g.wo * sizeof(float);
        if (mode == CR_WAUNET_TRAINING && (cv->flags & CR_CONV_RELU) && z > dz) dz = z;
        i += fused[i]; /* the bottleneck ran inside the pair */
    }
    return most.pad + most.wt + most.part + most.wt2 + dz;
}

/* The activation plan for this device; a too-large activation is reported
 * with the device and the remedy, which the planner does not know. */
static cr_status plan_on_device(const cr_waunet *m, cr_waunet_mode mode, const unsigned char *fused, int n, int h,
                                int w, wn_plan *p)
{
    cr_status st = wn_plan_make(&m->graph, mode, n, h, w, wn_max_arena_count(m),
                                mode == CR_WAUNET_INFERENCE ? fused : NULL, p);
    if (st == CR_ERR_UNSUPPORTED) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", cr_error_message());
        return cr_fail(st, "%s on %s: use a smaller --tile (denoise, snr) or --batch-size (train)", msg,
                       m->nn->rt->dev.device_name);
    }
    return st;
}

cr_status cr_waunet_memory_estimate(const cr_waunet *m, cr_waunet_mode mode, int n, int h, int w,
                                    cr_waunet_memory *out)
{
    cr_status st;
    wn_plan p;
    memset(&p, 0, sizeof p);
    memset(out, 0, sizeof *out);
    unsigned char *fused = calloc((size_t)m->graph.nops, 1);
    if (!fused) return cr_fail(CR_ERR_NOMEM, "out of memory estimating the network's memory");
    CR_TRY(check_shape(m, n, h, w));
    fuse_mask(m, mode, fused);
    CR_TRY(plan_on_device(m, mode, fused, n, h, w, &p));
    size_t rs = m->nn->real_size;
    out->parameters = cr_arch_param_count(&m->arch);
    out->param_bytes = (4 * m->params->total + 2 * m->params->total_w) * rs;
    for (int i = 0; i < p.narenas; i++) out->activation_bytes += p.arena_count[i] * rs;
    out->live_peak_bytes = p.live_peak * rs;
    out->scratch_bytes = conv_scratch_bytes(m, mode, fused, n, h, w);
    out->arenas = p.narenas;
cleanup:
    wn_plan_free(&p);
    free(fused);
    return st;
}

cr_status cr_waunet_prepare(cr_waunet *m, cr_waunet_mode mode, int n, int h, int w)
{
    cr_status st;
    if (m->prepared && m->plan.mode == mode && m->plan.n == n && m->plan.h == h && m->plan.w == w)
        return CR_OK;
    CR_TRY(check_shape(m, n, h, w));
    /* drop the old arenas first: the new ones may need the memory */
    release_arenas(m);
    /* each op's implementation for this engine's precision, by its row: the tiled
     * convolutions for float, the reference kernels otherwise (cr_conv2d_engine); the
     * choice is per op, and decides which pairs fuse, which decides the plan */
    for (int i = 0; i < m->graph.nops; i++) {
        const wn_op_impl *row = &wn_op_impl_table[m->graph.ops[i].kind];
        if (row->choose) row->choose(m->nn, &m->cv[i]);
    }
    fuse_mask(m, mode, m->fuse_eb);
    CR_TRY(plan_on_device(m, mode, m->fuse_eb, n, h, w, &m->plan));
    m->arenas = calloc((size_t)m->plan.narenas, sizeof *m->arenas);
    if (!m->arenas) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory preparing the network");
        goto cleanup;
    }
    for (int i = 0; i < m->plan.narenas; i++)
        CR_TRY(cr_buffer_create(m->nn->rt, m->plan.arena_count[i] * m->nn->real_size,
                                mode == CR_WAUNET_TRAINING ? "network training activations"
                                                           : "network activations",
                                &m->arenas[i]));
    m->prepared = 1;
cleanup:
    if (st != CR_OK) release_arenas(m);
    return st;
}

/* The view of a slot holding tensor t's shape (t = -1: the output's shape). */
static cr_tensor slot_view(const cr_waunet *m, int slot, int t)
{
    cr_tensor v;
    memset(&v, 0, sizeof v);
    if (!m->prepared || m->plan.slot[slot].arena < 0) return v;
    const wn_tensor *tt = &m->graph.t[t < 0 ? m->graph.output : t];
    const wn_slot *s = &m->plan.slot[slot];
    return cr_tensor_view(m->arenas[s->arena], s->off, m->plan.n, tt->c, m->plan.h >> tt->lv,
                          m->plan.w >> tt->lv);
}

cr_tensor cr_waunet_input(const cr_waunet *m) { return slot_view(m, m->graph.input, m->graph.input); }
cr_tensor cr_waunet_output(const cr_waunet *m) { return slot_view(m, m->graph.output, m->graph.output); }
cr_tensor cr_waunet_target(const cr_waunet *m) { return slot_view(m, WN_SLOT_TARGET(&m->graph), -1); }
cr_tensor cr_waunet_doutput(const cr_waunet *m) { return slot_view(m, WN_SLOT_DOUT(&m->graph), -1); }

void cr_waunet_set_profile(cr_waunet *m, cr_waunet_profile *p) { m->prof = p; }

const char *cr_waunet_prof_name(cr_waunet_prof_kind k)
{
    static const char *names[CR_PROF_KINDS] = {"conv 1x1", "conv kxk", "conv stride 2", "max-pool",
                                               "depth-to-space", "add", "concat", "weight norm, zeroing"};
    return k >= 0 && k < CR_PROF_KINDS ? names[k] : "?";
}

static cr_waunet_prof_kind prof_kind(const wn_op *op)
{
    return (cr_waunet_prof_kind)wn_op_impl_table[op->kind].prof(op);
}

/* Profiling: waits for the device and books the time since *t0 to slot, then restarts. */
static cr_status prof_mark(cr_waunet *m, double *slot, double *t0)
{
    if (!m->prof) return CR_OK;
    cr_status st = cr_finish(m->nn->rt);
    double t = cr_now();
    *slot += t - *t0;
    *t0 = t;
    return st;
}

/* ops i and i + 1 as one fused expand + bottleneck (m->fuse_eb[i]) */
static cr_status run_pair(cr_waunet *m, int i)
{
    const wn_op *e = &m->graph.ops[i], *b = &m->graph.ops[i + 1];
    cr_tensor y = slot_view(m, b->y, b->y), x = slot_view(m, e->a, e->a);
    cr_tensor w1 = cr_params_w(m->params, e->conv), b1 = cr_params_b(m->params, e->conv);
    cr_tensor w2 = cr_params_w(m->params, b->conv), b2 = cr_params_b(m->params, b->conv);
    cr_conv_fast *cf;
    cr_status st = cr_nn_conv_fast(m->nn, &cf);
    if (st != CR_OK) return st;
    return cr_conv_fast_forward_eb(cf, x.n, x.h, x.w, &y, &x, &w1, &b1, &w2, &b2);
}

static cr_status run_op(cr_waunet *m, int i)
{
    const wn_op *op = &m->graph.ops[i];
    cr_tensor y = slot_view(m, op->y, op->y), a = slot_view(m, op->a, op->a), b, w, bias;
    wn_run r = {.nn = m->nn, .op = op, .cv = &m->cv[i], .y = &y, .a = &a};
    if (op->b >= 0) b = slot_view(m, op->b, op->b), r.b = &b;
    if (op->conv >= 0) {
        w = cr_params_w(m->params, op->conv), bias = cr_params_b(m->params, op->conv);
        r.w = &w, r.bias = &bias;
    }
    return wn_op_impl_table[op->kind].forward(&r);
}

cr_status cr_waunet_forward(cr_waunet *m)
{
    cr_status st = CR_OK;
    if (!m->prepared) return cr_fail(CR_ERR_ARG, "network forward before cr_waunet_prepare");
    m->fwd_done = 0;
    double t0 = cr_now();
    if (m->prof) CR_TRY(cr_finish(m->nn->rt));
    if (m->w_stale) {
        CR_TRY(cr_params_weightnorm_forward(m->params));
        m->w_stale = 0;
        if (m->prof) CR_TRY(prof_mark(m, &m->prof->fwd[CR_PROF_WNORM], &t0));
    }
    for (int i = 0; i < m->graph.nops; i++) {
        int pair = m->fuse_eb[i];
        CR_TRY(pair ? run_pair(m, i) : run_op(m, i));
        if (m->prof) CR_TRY(prof_mark(m, &m->prof->fwd[prof_kind(&m->graph.ops[i])], &t0));
        i += pair;
    }
    m->fwd_done = 1;
cleanup:
    return st;
}

/* The gradient of tensor t for a backward op to add into: the caller's for
 * the image (NULL when not wanted), else its slot, cleared on first use in
 * this backward pass unless the op may store it (may_store): then *fresh = 1
 * and the op overwrites it. */
static cr_status grad_for_write(cr_waunet *m, int t, const cr_tensor *dinput, int may_store, cr_tensor *out,
                                int *want, int *fresh)
{
    *want = 0;
    *fresh = 0;
    if (t == m->graph.input) {
        if (dinput) {
            *out = *dinput;
            *want = 1;
        }
        return CR_OK;
    }
    *out = slot_view(m, WN_SLOT_GRAD(&m->graph, t), t);
    *want = 1;
    if (m->zeroed[t]) return CR_OK;
    m->zeroed[t] = 1;
    if (may_store) return *fresh = 1, CR_OK;
    return cr_nn_fill(m->nn, out, 0.0);
}

/* Whether conv op i may store its dX through the ReLU of the op that produced its input:
 * that op is a convolution with a ReLU and no residual (y > 0 is then the whole mask),
 * op i is the input's only reader, and both run on the tiled engine. */
static int relu_fusable(const cr_waunet *m, int i)
{
    const wn_op *op = &m->graph.ops[i];
    int p = m->graph.t[op->a].producer;
    if (op->kind != WN_CONV || p < 0 || op->a == m->graph.output || m->readers[op->a] != 1) return 0;
    const wn_op *q = &m->graph.ops[p];
    return q->kind == WN_CONV && q->flags == CR_CONV_RELU && cr_conv2d_engine(m->nn, &m->cv[i]) == CR_CONV_TILED &&
           cr_conv2d_engine(m->nn, &m->cv[p]) == CR_CONV_TILED;
}

static cr_status backward_op(cr_waunet *m, int i, const cr_tensor *dout, const cr_tensor *dinput)
{
    cr_status st;
    const wn_op *op = &m->graph.ops[i];
    int wa = 0, wb = 0, fresh = 0, unused;
    cr_tensor dy = op->y == m->graph.output ? *dout : slot_view(m, WN_SLOT_GRAD(&m->graph, op->y), op->y);
    cr_tensor y = slot_view(m, op->y, op->y), a = slot_view(m, op->a, op->a), b, da, db, w, dw, dbias;
    wn_run r = {.nn = m->nn, .op = op, .cv = &m->cv[i], .y = &y, .a = &a, .dy = &dy};
    /* a second input that is the first one too gets added into: no storing then */
    int may_store = wn_op_impl_table[op->kind].stores_da && op->b != op->a;
    CR_TRY(grad_for_write(m, op->a, dinput, may_store, &da, &wa, &fresh));
    if (wa) r.da = &da, r.da_fresh = fresh;
    if (wa && fresh && relu_fusable(m, i)) r.da_relu_y = &a, m->premasked[op->a] = 1;
    cr_conv2d cv_unmasked;
    if (op->kind == WN_CONV && m->premasked[op->y]) { /* dy came through this op's ReLU already */
        cv_unmasked = m->cv[i];
        cv_unmasked.flags &= ~(unsigned)CR_CONV_RELU;
        r.cv = &cv_unmasked;
    }
    if (op->b >= 0) {
        b = slot_view(m, op->b, op->b), r.b = &b;
        CR_TRY(grad_for_write(m, op->b, dinput, 0, &db, &wb, &unused));
        if (wb) r.db = &db;
    }
    if (op->conv >= 0) {
        w = cr_params_w(m->params, op->conv), dw = cr_params_dw(m->params, op->conv);
        dbias = cr_params_db(m->params, op->conv);
        r.w = &w, r.dw = &dw, r.dbias = &dbias;
    }
    st = wn_op_impl_table[op->kind].backward(&r);
cleanup:
    return st;
}

cr_status cr_waunet_backward(cr_waunet *m, const cr_tensor *dy, const cr_tensor *dinput)
{
    cr_status st;
    const wn_plan *p = &m->plan;
    if (!m->prepared || p->mode != CR_WAUNET_TRAINING)
        return cr_fail(CR_ERR_ARG, "network backward needs cr_waunet_prepare in training mode");
    if (!m->fwd_done) return cr_fail(CR_ERR_ARG, "network backward without a forward of the current input");
    CR_TRY(cr_nn_check_shape(m->nn, dy, "network dL/doutput", p->n, 1, p->h, p->w));
    if (dinput) CR_TRY(cr_nn_check_shape(m->nn, dinput, "network dL/dinput", p->n, 1, p->h, p->w));
    /* dW is a per-pass intermediate: the weight norm backward turns it into
     * dv, dg, which (like db) accumulate across passes */
    double t0 = cr_now();
    if (m->prof) CR_TRY(cr_finish(m->nn->rt));
    cr_tensor dw = cr_tensor_view(m->params->dweights, 0, 1, 1, 1, (int)m->params->total_w);
    CR_TRY(cr_nn_fill(m->nn, &dw, 0.0));
    memset(m->zeroed, 0, (size_t)m->graph.nt);
    memset(m->premasked, 0, (size_t)m->graph.nt);
    if (m->prof) CR_TRY(prof_mark(m, &m->prof->bwd[CR_PROF_WNORM], &t0));
    for (int i = m->graph.nops - 1; i >= 0; i--) {
        CR_TRY(backward_op(m, i, dy, dinput));
        if (m->prof) CR_TRY(prof_mark(m, &m->prof->bwd[prof_kind(&m->graph.ops[i])], &t0));
    }
    CR_TRY(cr_params_weightnorm_backward(m->params));
    if (m->prof) CR_TRY(prof_mark(m, &m->prof->bwd[CR_PROF_WNORM], &t0));
cleanup:
    return st;
}

cr_status cr_waunet_train_step(cr_waunet *m, const cr_adam *hp, double *loss)
{
    cr_status st;
    double l = 0;
    if (!m->prepared || m->plan.mode != CR_WAUNET_TRAINING)
        return cr_fail(CR_ERR_ARG, "training step needs cr_waunet_prepare in training mode");
    cr_tensor out = cr_waunet_output(m), target = cr_waunet_target(m), dout = cr_waunet_doutput(m);
    const wn_op_impl *mse = &wn_op_impl_table[m->loss.kind];
    wn_run r = {.nn = m->nn, .op = &m->loss, .a = &out, .b = &target, .loss = &l};
    CR_TRY(cr_params_zero_grad(m->params));
    CR_TRY(cr_waunet_forward(m));
    CR_TRY(mse->forward(&r));
    /* dL/doutput = 1 · dloss/doutput, added (like every backward) into a cleared buffer */
    CR_TRY(cr_nn_fill(m->nn, &dout, 0.0));
    r.da = &dout;
    r.dloss = 1.0;
    CR_TRY(mse->backward(&r));
    CR_TRY(cr_waunet_backward(m, &dout, NULL));
    CR_TRY(cr_params_adam(m->params, hp));
    m->w_stale = 1;
    if (loss) *loss = l;
cleanup:
    return st;
}
