/* The WA-U-Net as a graph of layer operations (REFERENCE.md "Network",
 * bench/torch_reference.py's forward; conv names match it), built once per
 * architecture, and the descriptive half of the op table (what each op kind
 * is; host/nn/ops.c has how it runs).
 *
 * Fusions: the conv after a ReLU-free expand carries the ReLU in its store;
 * a wa_block's "x + y" is the residual epilogue of its last conv; the
 * encoder's "relu(down(.)) + maxpool(x)" is the down conv with ReLU then
 * residual (the epilogue order is exactly that). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_flags.h"
#include "graph.h"

/* ---- the op table: what each kind is ------------------------------------- */

static void conv_shape(const wn_op *op, const wn_tensor *a, const wn_tensor *b, int *c, int *lv)
{
    (void)b;
    *c = op->spec.cout;
    *lv = a->lv + (op->spec.stride == 2 ? 1 : 0);
}
/* output o reads inputs o*s - pad_before .. o*s - pad_before + k - 1 (cr_conv2d_same) */
static void conv_field(const wn_op *op, wn_span y, long n_in, wn_span *sa, wn_span *sb)
{
    int out, pb;
    cr_conv2d_same((int)n_in, op->spec.k, op->spec.stride, &out, &pb);
    sa->lo = y.lo * op->spec.stride - pb;
    sa->hi = y.hi * op->spec.stride - pb + op->spec.k - 1;
    *sb = y; /* the residual, same positions as y */
}
static double conv_macs(const wn_op *op)
{
    return (double)op->spec.k * op->spec.k * op->spec.cin * op->spec.cout;
}
static int64_t conv_params(const wn_op *op)
{
    return (int64_t)op->spec.k * op->spec.k * op->spec.cin * op->spec.cout + op->spec.cout;
}

static void pool_shape(const wn_op *op, const wn_tensor *a, const wn_tensor *b, int *c, int *lv)
{
    (void)op, (void)b;
    *c = a->c;
    *lv = a->lv + 1;
}
static void pool_field(const wn_op *op, wn_span y, long n_in, wn_span *sa, wn_span *sb)
{
    (void)op, (void)n_in, (void)sb;
    sa->lo = 2 * y.lo; /* the whole 2x2 window: any of it can become the maximum */
    sa->hi = 2 * y.hi + 1;
}

static void d2s_shape(const wn_op *op, const wn_tensor *a, const wn_tensor *b, int *c, int *lv)
{
    (void)op, (void)b;
    *c = a->c / 4;
    *lv = a->lv - 1;
}
/* y position 2r + i reads x position r (floor division; positions here are >= 0) */
static void d2s_field(const wn_op *op, wn_span y, long n_in, wn_span *sa, wn_span *sb)
{
    (void)op, (void)n_in, (void)sb;
    sa->lo = y.lo >> 1;
    sa->hi = y.hi >> 1;
}

static void add_shape(const wn_op *op, const wn_tensor *a, const wn_tensor *b, int *c, int *lv)
{
    *c = op->kind == WN_CONCAT ? a->c + b->c : a->c;
    *lv = a->lv;
}
static void same_field(const wn_op *op, wn_span y, long n_in, wn_span *sa, wn_span *sb)
{
    (void)op, (void)n_in;
    *sa = y;
    *sb = y;
}

/* The loss is one number, which its forward returns on the host (no graph
 * tensor holds it): described as one channel at the prediction's level. */
static void mse_shape(const wn_op *op, const wn_tensor *a, const wn_tensor *b, int *c, int *lv)
{
    (void)op, (void)b;
    *c = 1;
    *lv = a->lv;
}
/* the mean reads every position of the prediction and of the target */
static void all_field(const wn_op *op, wn_span y, long n_in, wn_span *sa, wn_span *sb)
{
    (void)op, (void)y;
    *sa = (wn_span){0, n_in - 1};
    *sb = *sa;
}

static double no_macs(const wn_op *op) { return (void)op, 0.0; }
static int64_t no_params(const wn_op *op) { return (void)op, 0; }

const wn_op_desc wn_op_desc_table[] = {
    [WN_CONV] = {"conv", 1, conv_shape, conv_field, conv_macs, conv_params},
    [WN_POOL] = {"maxpool2", 1, pool_shape, pool_field, no_macs, no_params},
    [WN_D2S] = {"depth_to_space2", 1, d2s_shape, d2s_field, no_macs, no_params},
    [WN_ADD] = {"add", 2, add_shape, same_field, no_macs, no_params},
    [WN_CONCAT] = {"concat", 2, add_shape, same_field, no_macs, no_params},
    [WN_MSE] = {"mse", 2, mse_shape, all_field, no_macs, no_params},
};
/* A row past the enum or a missing last one fails here (or against the header's
 * size); a missing middle row is refused by wn_graph_build. */
_Static_assert(sizeof wn_op_desc_table / sizeof wn_op_desc_table[0] == WN_OPKINDS, "one row per op kind");

/* ---- building the graph ---------------------------------------------------- */

typedef struct builder {
    wn_graph *g;
    int cap_ops, cap_t;
    cr_status st; /* first failure; later calls do nothing */
} builder;

/* Room for one more element in the array *v of n (capacity *cap); 0 when out of memory. */
static int grow(builder *b, void **v, int n, int *cap, size_t elem)
{
    if (n < *cap) return 1;
    int c = *cap ? 2 * *cap : 64;
    void *p = realloc(*v, (size_t)c * elem);
    if (!p) {
        b->st = cr_fail(CR_ERR_NOMEM, "out of memory building the network graph");
        return 0;
    }
    *v = p;
    *cap = c;
    return 1;
}

static int new_tensor(builder *b, int c, int lv, int producer)
{
    if (b->st != CR_OK) return -1;
    wn_graph *g = b->g;
    if (!grow(b, (void **)&g->t, g->nt, &b->cap_t, sizeof *g->t)) return -1;
    g->t[g->nt].c = c;
    g->t[g->nt].lv = lv;
    g->t[g->nt].producer = producer;
    return g->nt++;
}

/* Appends op (kind, inputs, conv fields set by the caller); its output shape
 * comes from the row. Returns the output id. */
static int add_op(builder *b, wn_op op)
{
    if (b->st != CR_OK) return -1;
    wn_graph *g = b->g;
    if (!grow(b, (void **)&g->ops, g->nops, &b->cap_ops, sizeof *g->ops)) return -1;
    int c, lv;
    wn_op_desc_table[op.kind].out_shape(&op, &g->t[op.a], op.b >= 0 ? &g->t[op.b] : NULL, &c, &lv);
    op.y = new_tensor(b, c, lv, g->nops);
    if (op.y < 0) return -1;
    g->ops[g->nops++] = op;
    return op.y;
}

/* conv k x k, stride, to cout channels, applied to x with epilogue flags and residual res (-1: none). */
static int conv(builder *b, const char *name, int x, int res, unsigned flags, int k, int stride, int cout)
{
    if (b->st != CR_OK) return -1;
    wn_op op;
    memset(&op, 0, sizeof op);
    op.kind = WN_CONV;
    op.a = x;
    op.b = res;
    op.conv = b->g->nconvs++;
    snprintf(op.spec.name, sizeof op.spec.name, "%s", name);
    op.spec.k = k;
    op.spec.stride = stride;
    op.spec.cin = b->g->t[x].c;
    op.spec.cout = cout;
    op.spec.level = b->g->t[x].lv;
    op.flags = flags;
    return add_op(b, op);
}

static int other(builder *b, wn_opkind kind, int x, int y)
{
    if (b->st != CR_OK) return -1;
    wn_op op;
    memset(&op, 0, sizeof op);
    op.kind = kind;
    op.conv = -1;
    op.a = x;
    op.b = y;
    return add_op(b, op);
}

/* out = prefix + suffix; a name that does not fit a cr_conv_spec's name is an
 * internal error (layer names are made here, never read from a file). */
static void name2(builder *b, char *out, const char *prefix, const char *suffix)
{
    size_t cap = sizeof(((cr_conv_spec *)0)->name), lp = strlen(prefix), ls = strlen(suffix);
    out[0] = '\0';
    if (lp + ls >= cap) {
        if (b->st == CR_OK)
            b->st = cr_fail(CR_ERR_INTERNAL, "network graph: layer name %s%s is longer than %zu characters",
                            prefix, suffix, cap - 1);
        return;
    }
    memcpy(out, prefix, lp);
    memcpy(out + lp, suffix, ls + 1);
}

/* wa_block(x, f, e, k) = x + conv_k(conv_1(relu(conv_1(x, f·e)), int(0.8 f)), f), f the
 * channels of x; with down: relu(conv_3/2(.)) + j. int(0.8·f) truncates as Python's
 * int() does: 4f/5 in integers avoids 0.8's binary rounding. */
static int wa_block(builder *b, const char *name, int x, int e, int k, int down, int j)
{
    if (b->st != CR_OK) return -1;
    int f = b->g->t[x].c;
    char nm[48], kname[16];
    snprintf(kname, sizeof kname, ".conv%d", k);
    name2(b, nm, name, ".expand");
    int t = conv(b, nm, x, -1, CR_CONV_FLAG_RELU, 1, 1, f * e);
    name2(b, nm, name, ".bottleneck");
    t = conv(b, nm, t, -1, 0, 1, 1, (4 * f) / 5);
    name2(b, nm, name, kname);
    t = conv(b, nm, t, x, CR_CONV_FLAG_RESIDUAL, k, 1, f);
    name2(b, nm, name, ".down");
    if (down) t = conv(b, nm, t, j, CR_CONV_FLAG_RELU | CR_CONV_FLAG_RESIDUAL, 3, 2, f);
    return t;
}

/* up(x) = depth_to_space(wa_block(relu(conv_1(x, 4f)))) */
static int up(builder *b, const char *name, int x, int e, int k)
{
    if (b->st != CR_OK) return -1;
    char nm[48];
    name2(b, nm, name, ".conv");
    int u = conv(b, nm, x, -1, CR_CONV_FLAG_RELU, 1, 1, 4 * b->g->t[x].c);
    name2(b, nm, name, ".block");
    u = wa_block(b, nm, u, e, k, 0, -1);
    return other(b, WN_D2S, u, -1);
}

cr_status wn_graph_build(const cr_arch *a, wn_graph *g)
{
    builder b;
    memset(g, 0, sizeof *g);
    memset(&b, 0, sizeof b);
    b.g = g;
    int *skip = NULL;
    char nm[48];
    for (int k = 0; k < WN_OPKINDS; k++) {
        const wn_op_desc *d = &wn_op_desc_table[k];
        if (!d->name || !d->out_shape || !d->field || !d->macs || !d->params)
            return cr_fail(CR_ERR_INTERNAL, "op kind %d has no row in wn_op_desc_table", k);
    }
    b.st = cr_arch_check(a);
    if (b.st != CR_OK) return b.st;
    skip = calloc((size_t)a->levels, sizeof *skip);
    if (!skip) {
        b.st = cr_fail(CR_ERR_NOMEM, "out of memory building the network graph");
        goto cleanup;
    }
    int e = a->expansion;
    g->input = new_tensor(&b, 1, 0, -1);
    int x = conv(&b, "input", g->input, -1, 0, 3, 1, a->filters);
    for (int lv = 0; lv < a->levels; lv++) {
        int j = other(&b, WN_POOL, x, -1);
        for (int k = 0; k < a->blocks; k++) {
            snprintf(nm, sizeof nm, "enc%d.block%d", lv, k);
            x = wa_block(&b, nm, x, e, a->encoder_kernel, k == a->blocks - 1, j);
        }
        skip[lv] = x;
    }
    for (int lv = a->levels - 1; lv >= 0; lv--) {
        snprintf(nm, sizeof nm, "dec%d.up_skip", lv);
        int j = up(&b, nm, x, e, a->decoder_kernel);
        snprintf(nm, sizeof nm, "dec%d.merge", lv);
        x = conv(&b, nm, other(&b, WN_CONCAT, x, skip[lv]), -1, CR_CONV_FLAG_RELU, 1, 1, a->filters);
        for (int k = 0; k < a->blocks - 1; k++) {
            snprintf(nm, sizeof nm, "dec%d.block%d", lv, k);
            x = wa_block(&b, nm, x, e, a->decoder_kernel, 0, -1);
        }
        snprintf(nm, sizeof nm, "dec%d.up", lv);
        x = other(&b, WN_ADD, up(&b, nm, x, e, a->decoder_kernel), j);
    }
    x = conv(&b, "output.hidden", x, -1, CR_CONV_FLAG_RELU, 1, 1, a->filters);
    g->output = conv(&b, "output.final", x, -1, 0, 1, 1, 1);
    if (b.st == CR_OK && (g->t[g->output].c != 1 || g->t[g->output].lv != 0))
        b.st = cr_fail(CR_ERR_INTERNAL, "network graph: output of %d channels at level %d", g->t[g->output].c,
                       g->t[g->output].lv);
cleanup:
    free(skip);
    if (b.st != CR_OK) wn_graph_free(g);
    return b.st;
}

void wn_graph_free(wn_graph *g)
{
    if (!g) return;
    free(g->ops);
    free(g->t);
    memset(g, 0, sizeof *g);
}

/* ---- receptive field --------------------------------------------------------
 * Backward from output position p: each op maps the positions of y that are
 * needed to the positions of its inputs it reads (its row's field step); a
 * tensor read by several ops needs the hull of what each needs. Every step
 * maps an interval to an interval and the unions overlap, so the hull is the
 * exact set (tests/test_cl_waunet_field.c checks it against the gradient). */
void wn_graph_field(const wn_graph *g, long n, long p, long *lo, long *hi)
{
    wn_span *need = malloc((size_t)g->nt * sizeof *need);
    if (!need) {
        *lo = 0, *hi = n - 1; /* out of memory: everything */
        return;
    }
    for (int t = 0; t < g->nt; t++) need[t] = (wn_span){1, 0}; /* empty */
    need[g->output] = (wn_span){p, p};
    for (int i = g->nops - 1; i >= 0; i--) {
        const wn_op *op = &g->ops[i];
        wn_span y = need[op->y], sa = {1, 0}, sb = {1, 0};
        if (y.lo > y.hi) continue;
        wn_op_desc_table[op->kind].field(op, y, n >> g->t[op->a].lv, &sa, &sb);
        int in[2] = {op->a, op->b};
        wn_span s[2] = {sa, sb};
        for (int k = 0; k < 2; k++) {
            if (in[k] < 0) continue;
            wn_span *d = &need[in[k]];
            if (d->lo > d->hi)
                *d = s[k];
            else {
                if (s[k].lo < d->lo) d->lo = s[k].lo;
                if (s[k].hi > d->hi) d->hi = s[k].hi;
            }
        }
    }
    *lo = need[g->input].lo;
    *hi = need[g->input].hi;
    free(need);
}
