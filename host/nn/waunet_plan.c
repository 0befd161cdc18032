/* The activation planner: every tensor of the graph (host/model/graph.c) at a
 * batch shape gets a lifetime, from what each op's row says its backward
 * reads, and a place in a device arena. */
#define _GNU_SOURCE /* qsort_r */
#include <stdlib.h>
#include <string.h>

#include "waunet_internal.h"

/* Offsets and sizes in elements are multiples of this (256 bytes in float),
 * so vectorised kernels see aligned rows of every tensor. */
#define WN_ALIGN 64

/* ---- planning ------------------------------------------------------------ */

static void use(wn_slot *s, int time)
{
    if (s->first < 0 || time < s->first) s->first = time;
    if (time > s->last) s->last = time;
}

/* Lifetimes of all slots for a mode; unused slots keep first = -1. In inference, the
 * output of op i with fused[i] set goes straight into op i + 1 in one kernel and is
 * never stored. */
static void lifetimes(const wn_graph *g, cr_waunet_mode mode, const unsigned char *fused, wn_slot *s)
{
    int F = g->nops, T = mode == CR_WAUNET_TRAINING ? 2 * F : F;
    for (int i = 0; i < WN_NSLOTS(g); i++) {
        s[i].arena = -1;
        s[i].first = -1;
        s[i].last = -1;
    }
    for (int i = 0; i < F; i++) {
        const wn_op *op = &g->ops[i];
        int fused_in = fused && i > 0 && fused[i - 1]; /* a comes from the fused op i - 1 */
        if (!(fused && fused[i])) use(&s[op->y], i);
        if (!fused_in) use(&s[op->a], i);
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
        /* what each backward reads of the forward (its op row) */
        unsigned r = wn_op_impl_table[op->kind].bwd_reads(op);
        if (r & WN_READS_A) use(&s[op->a], bt);
        if ((r & WN_READS_B) && op->b >= 0) use(&s[op->b], bt);
        if (r & WN_READS_Y) use(&s[op->y], bt);
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
                       const unsigned char *fused, wn_plan *p)
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
    if (fused && mode == CR_WAUNET_TRAINING) {
        st = cr_fail(CR_ERR_INTERNAL, "fused ops planned for training, whose backward reads every activation");
        goto cleanup;
    }
    lifetimes(g, mode, fused, p->slot);
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
