/* The WA-U-Net as a graph of layer operations (REFERENCE.md "Network",
 * bench/torch_reference.py's forward) and the activation planner that gives
 * every tensor of a batch shape a lifetime and a place in a device arena.
 *
 * Fusions: the conv after a ReLU-free expand carries the ReLU in its store;
 * a wa_block's "x + y" is the residual epilogue of its last conv; the
 * encoder's "relu(down(.)) + maxpool(x)" is the down conv with ReLU then
 * residual (the epilogue order is exactly that). */
#define _GNU_SOURCE /* qsort_r */
#include <stdlib.h>
#include <string.h>

#include "waunet_internal.h"

/* Offsets and sizes in elements are multiples of this (256 bytes in float),
 * so vectorised kernels see aligned rows of every tensor. */
#define WN_ALIGN 64

typedef struct builder {
    wn_graph *g;
    const cr_conv_spec *spec; /* (nspec) checkpoint order */
    int nspec, next;          /* next conv to consume */
    int cap_ops, cap_t;
    cr_status st;             /* first failure; later calls do nothing */
} builder;

static int new_tensor(builder *b, int c, int lv, int producer)
{
    if (b->st != CR_OK) return -1;
    wn_graph *g = b->g;
    if (g->nt == b->cap_t) {
        int cap = b->cap_t ? 2 * b->cap_t : 64;
        wn_tensor *t = realloc(g->t, (size_t)cap * sizeof *t);
        if (!t) {
            b->st = cr_fail(CR_ERR_NOMEM, "out of memory building the network graph");
            return -1;
        }
        g->t = t;
        b->cap_t = cap;
    }
    g->t[g->nt].c = c;
    g->t[g->nt].lv = lv;
    g->t[g->nt].producer = producer;
    return g->nt++;
}

/* Appends an op whose output has c channels at scale lv; returns the output id. */
static int add_op(builder *b, wn_opkind kind, int a, int b2, int c, int lv, int conv, unsigned flags)
{
    if (b->st != CR_OK) return -1;
    wn_graph *g = b->g;
    if (g->nops == b->cap_ops) {
        int cap = b->cap_ops ? 2 * b->cap_ops : 64;
        wn_op *o = realloc(g->ops, (size_t)cap * sizeof *o);
        if (!o) {
            b->st = cr_fail(CR_ERR_NOMEM, "out of memory building the network graph");
            return -1;
        }
        g->ops = o;
        b->cap_ops = cap;
    }
    int y = new_tensor(b, c, lv, g->nops);
    if (y < 0) return -1;
    wn_op *op = &g->ops[g->nops++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->y = y;
    op->a = a;
    op->b = b2;
    op->conv = conv;
    if (kind == WN_CONV) {
        const cr_conv_spec *s = &b->spec[conv];
        op->cv.cin = s->cin;
        op->cv.cout = s->cout;
        op->cv.k = s->k;
        op->cv.stride = s->stride;
        op->cv.flags = flags;
    }
    return y;
}

/* The next convolution of the list applied to x, with epilogue flags and
 * residual res (-1 without). Its shape must fit x: the graph and the list
 * are two walks of one description and must agree. */
static int conv(builder *b, int x, int res, unsigned flags)
{
    if (b->st != CR_OK) return -1;
    if (b->next >= b->nspec) {
        b->st = cr_fail(CR_ERR_INTERNAL, "network graph uses more convolutions than the architecture lists");
        return -1;
    }
    const cr_conv_spec *s = &b->spec[b->next];
    const wn_tensor *tx = &b->g->t[x];
    if (s->cin != tx->c || (res >= 0 && b->g->t[res].c != s->cout)) {
        b->st = cr_fail(CR_ERR_INTERNAL, "network graph: conv %d (%s) expects %d channels, gets %d", b->next,
                        s->name, s->cin, tx->c);
        return -1;
    }
    int lv = tx->lv + (s->stride == 2 ? 1 : 0);
    return add_op(b, WN_CONV, x, res, s->cout, lv, b->next++, flags);
}

/* wa_block: x + conv_k(conv_1(relu(conv_1(x)))); with down: relu(down(.)) + j. */
static int wa_block(builder *b, int x, int down, int j)
{
    int t = conv(b, x, -1, CR_CONV_RELU);
    t = conv(b, t, -1, 0);
    t = conv(b, t, x, CR_CONV_RESIDUAL);
    if (down) t = conv(b, t, j, CR_CONV_RELU | CR_CONV_RESIDUAL);
    return t;
}

/* up(x) = depth_to_space(wa_block(relu(conv_1(x)))) */
static int up(builder *b, int x)
{
    int u = conv(b, x, -1, CR_CONV_RELU);
    u = wa_block(b, u, 0, -1);
    if (b->st != CR_OK) return -1;
    const wn_tensor *t = &b->g->t[u];
    return add_op(b, WN_D2S, u, -1, t->c / 4, t->lv - 1, -1, 0);
}

static int two(builder *b, wn_opkind kind, int x, int y)
{
    if (b->st != CR_OK) return -1;
    const wn_tensor *tx = &b->g->t[x], *ty = &b->g->t[y];
    return add_op(b, kind, x, y, kind == WN_CONCAT ? tx->c + ty->c : tx->c, tx->lv, -1, 0);
}

cr_status wn_graph_build(const cr_arch *a, wn_graph *g)
{
    builder b;
    memset(g, 0, sizeof *g);
    memset(&b, 0, sizeof b);
    b.g = g;
    cr_conv_spec *spec = NULL;
    int *skip = NULL;
    b.st = cr_arch_convs(a, &spec, &b.nspec);
    if (b.st != CR_OK) goto cleanup;
    b.spec = spec;
    skip = calloc((size_t)a->levels, sizeof *skip);
    if (!skip) {
        b.st = cr_fail(CR_ERR_NOMEM, "out of memory building the network graph");
        goto cleanup;
    }
    g->input = new_tensor(&b, 1, 0, -1);
    int x = conv(&b, g->input, -1, 0);
    for (int lv = 0; lv < a->levels; lv++) {
        int j = b.st == CR_OK ? add_op(&b, WN_POOL, x, -1, g->t[x].c, g->t[x].lv + 1, -1, 0) : -1;
        for (int k = 0; k < a->blocks; k++) x = wa_block(&b, x, k == a->blocks - 1, j);
        skip[lv] = x;
    }
    for (int lv = a->levels - 1; lv >= 0; lv--) {
        int j = up(&b, x);
        x = conv(&b, two(&b, WN_CONCAT, x, skip[lv]), -1, CR_CONV_RELU);
        for (int k = 0; k < a->blocks - 1; k++) x = wa_block(&b, x, 0, -1);
        x = two(&b, WN_ADD, up(&b, x), j);
    }
    x = conv(&b, x, -1, CR_CONV_RELU);
    g->output = conv(&b, x, -1, 0);
    if (b.st == CR_OK && (b.next != b.nspec || g->t[g->output].c != 1 || g->t[g->output].lv != 0))
        b.st = cr_fail(CR_ERR_INTERNAL, "network graph uses %d of %d convolutions", b.next, b.nspec);
cleanup:
    free(spec);
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

/* ---- planning ------------------------------------------------------------ */

static void use(wn_slot *s, int time)
{
    if (s->first < 0 || time < s->first) s->first = time;
    if (time > s->last) s->last = time;
}

/* Lifetimes of all slots for a mode; unused slots keep first = -1. */
static void lifetimes(const wn_graph *g, cr_waunet_mode mode, wn_slot *s)
{
    int F = g->nops, T = mode == CR_WAUNET_TRAINING ? 2 * F : F;
    for (int i = 0; i < WN_NSLOTS(g); i++) {
        s[i].arena = -1;
        s[i].first = -1;
        s[i].last = -1;
    }
    for (int i = 0; i < F; i++) {
        const wn_op *op = &g->ops[i];
        use(&s[op->y], i);
        use(&s[op->a], i);
        if (op->b >= 0) use(&s[op->b], i);
    }
    /* the caller writes the input before and reads the output after */
    use(&s[g->input], 0);
    use(&s[g->input], T - 1);
    use(&s[g->output], T - 1);
    if (mode != CR_WAUNET_TRAINING) return;
    use(&s[WN_SLOT_TARGET(g)], 0);
    use(&s[WN_SLOT_TARGET(g)], T - 1);
    use(&s[WN_SLOT_DOUT(g)], 0);
    use(&s[WN_SLOT_DOUT(g)], T - 1);
    for (int i = 0; i < F; i++) {
        const wn_op *op = &g->ops[i];
        int bt = 2 * F - 1 - i;
        /* what each backward reads of the forward: conv: x (for dW), y (ReLU
         * mask) and res (mask with ReLU + residual); max-pool: x (argmax) */
        if (op->kind == WN_CONV) {
            use(&s[op->a], bt);
            if (op->cv.flags & CR_CONV_RELU) {
                use(&s[op->y], bt);
                if (op->cv.flags & CR_CONV_RESIDUAL) use(&s[op->b], bt);
            }
        } else if (op->kind == WN_POOL) {
            use(&s[op->a], bt);
        }
        /* gradients: written by this backward into its inputs' gradients,
         * read here as dy; the image's and the output's come from the caller */
        if (op->y != g->output) use(&s[WN_SLOT_GRAD(g, op->y)], bt);
        if (op->a != g->input) use(&s[WN_SLOT_GRAD(g, op->a)], bt);
        if (op->b >= 0 && op->b != g->input) use(&s[WN_SLOT_GRAD(g, op->b)], bt);
    }
}

static size_t slot_elems(const wn_graph *g, int slot, int n, int h, int w)
{
    int t = slot < g->nt ? slot : slot < 2 * g->nt ? slot - g->nt : g->output;
    const wn_tensor *tt = &g->t[t];
    size_t e = (size_t)n * (size_t)tt->c * (size_t)(h >> tt->lv) * (size_t)(w >> tt->lv);
    return (e + WN_ALIGN - 1) / WN_ALIGN * WN_ALIGN;
}

static int overlaps(const wn_slot *a, const wn_slot *b) { return a->first <= b->last && b->first <= a->last; }

/* qsort_r comparators over slot indices (glibc's argument order) */
static int by_size_desc(const void *x, const void *y, void *base)
{
    const wn_slot *a = (const wn_slot *)base + *(const int *)x, *b = (const wn_slot *)base + *(const int *)y;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return *(const int *)x - *(const int *)y; /* deterministic */
}
static int by_off(const void *x, const void *y, void *base)
{
    const wn_slot *a = (const wn_slot *)base + *(const int *)x, *b = (const wn_slot *)base + *(const int *)y;
    if (a->off != b->off) return a->off < b->off ? -1 : 1;
    return 0;
}

cr_status wn_plan_make(const wn_graph *g, cr_waunet_mode mode, int n, int h, int w, size_t max_count,
                       wn_plan *p)
{
    cr_status st = CR_OK;
    int ns = WN_NSLOTS(g), nplaced = 0, *order = NULL, *placed = NULL, *near = NULL;
    memset(p, 0, sizeof *p);
    p->mode = mode;
    p->n = n;
    p->h = h;
    p->w = w;
    p->slot = calloc((size_t)ns, sizeof *p->slot);
    order = calloc((size_t)ns, sizeof *order);
    placed = calloc((size_t)ns, sizeof *placed);
    near = calloc((size_t)ns, sizeof *near);
    p->arena_count = calloc((size_t)ns, sizeof *p->arena_count); /* at most one arena per slot */
    if (!p->slot || !order || !placed || !near || !p->arena_count) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory planning the network's activations");
        goto cleanup;
    }
    lifetimes(g, mode, p->slot);
    int nused = 0;
    for (int i = 0; i < ns; i++) {
        if (p->slot[i].first < 0) continue;
        p->slot[i].count = slot_elems(g, i, n, h, w);
        if (p->slot[i].count > max_count) {
            st = cr_fail(CR_ERR_UNSUPPORTED,
                         "an activation of %zu elements (batch %d, %dx%d) exceeds the largest "
                         "buffer (%zu elements)",
                         p->slot[i].count, n, w, h, max_count);
            goto cleanup;
        }
        order[nused++] = i;
    }
    /* peak of the sum of live sizes: what no placement can beat */
    int T = mode == CR_WAUNET_TRAINING ? 2 * g->nops : g->nops;
    for (int t = 0; t < T; t++) {
        size_t live = 0;
        for (int k = 0; k < nused; k++)
            if (p->slot[order[k]].first <= t && t <= p->slot[order[k]].last) live += p->slot[order[k]].count;
        if (live > p->live_peak) p->live_peak = live;
    }
    qsort_r(order, (size_t)nused, sizeof *order, by_size_desc, p->slot);
    for (int k = 0; k < nused; k++) {
        wn_slot *s = &p->slot[order[k]];
        for (int a = 0; a <= p->narenas && s->arena < 0; a++) {
            /* lowest gap in arena a between tensors alive at the same time */
            int nn = 0;
            for (int q = 0; q < nplaced; q++)
                if (p->slot[placed[q]].arena == a && overlaps(&p->slot[placed[q]], s)) near[nn++] = placed[q];
            qsort_r(near, (size_t)nn, sizeof *near, by_off, p->slot);
            size_t off = 0;
            for (int q = 0; q < nn; q++) {
                const wn_slot *o = &p->slot[near[q]];
                if (off + s->count <= o->off) break;
                if (o->off + o->count > off) off = o->off + o->count;
            }
            if (off + s->count > max_count) continue;
            s->arena = a;
            s->off = off;
            if (a == p->narenas) p->narenas++;
            if (off + s->count > p->arena_count[a]) p->arena_count[a] = off + s->count;
        }
        placed[nplaced++] = order[k];
    }
cleanup:
    free(order);
    free(placed);
    free(near);
    if (st != CR_OK) wn_plan_free(p);
    return st;
}

void wn_plan_free(wn_plan *p)
{
    if (!p) return;
    free(p->slot);
    free(p->arena_count);
    memset(p, 0, sizeof *p);
}
