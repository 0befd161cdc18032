/* The architecture's hyper-parameters, and what derives from its graph
 * (host/model/graph.c): the conv list in checkpoint order, the parameter count,
 * the multiply-adds per pixel and the receptive field; and TF "same" padding,
 * the one geometry rule that the graph's field steps and both convolution
 * engines (host/nn) share. */
#include "clrestore/arch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

cr_arch cr_arch_default(void)
{
    cr_arch a = {3, 4, 32, 4, 3, 4};
    return a;
}

void cr_conv2d_same(int in, int k, int stride, int *out, int *pad_before)
{
    int o = (in + stride - 1) / stride;
    int total = (o - 1) * stride + k - in;
    if (total < 0) total = 0;
    *out = o;
    *pad_before = total / 2;
}

cr_status cr_arch_check(const cr_arch *a)
{
    if (a->levels < 1 || a->levels > 8) return cr_fail(CR_ERR_ARG, "levels %d: must be 1..8", a->levels);
    if (a->blocks < 1 || a->blocks > 64) return cr_fail(CR_ERR_ARG, "blocks %d: must be 1..64", a->blocks);
    if (a->filters < 2 || a->filters > 1024) return cr_fail(CR_ERR_ARG, "filters %d: must be 2..1024", a->filters);
    if (a->expansion < 1 || a->expansion > 64)
        return cr_fail(CR_ERR_ARG, "expansion %d: must be 1..64", a->expansion);
    if (a->encoder_kernel < 1 || a->encoder_kernel > 9 || a->decoder_kernel < 1 || a->decoder_kernel > 9)
        return cr_fail(CR_ERR_ARG, "kernel sizes %d/%d: must be 1..9", a->encoder_kernel, a->decoder_kernel);
    return CR_OK;
}

cr_status cr_arch_convs(const cr_arch *a, cr_conv_spec **convs, int *n)
{
    wn_graph g;
    *convs = NULL;
    *n = 0;
    cr_status st = wn_graph_build(a, &g);
    if (st != CR_OK) return st;
    cr_conv_spec *v = calloc((size_t)g.nconvs, sizeof *v);
    if (!v) st = cr_fail(CR_ERR_NOMEM, "out of memory listing the network's layers");
    for (int i = 0; v && i < g.nops; i++)
        if (g.ops[i].conv >= 0) v[g.ops[i].conv] = g.ops[i].spec;
    if (v) *convs = v, *n = g.nconvs;
    wn_graph_free(&g);
    return st;
}

/* Weights + biases and multiply-adds per input pixel, summed over the graph's op rows;
 * an op at level lv has 4^-lv output pixels per input pixel. */
static cr_status graph_totals(const cr_arch *a, int64_t *params, double *macs)
{
    wn_graph g;
    cr_status st = wn_graph_build(a, &g);
    if (st != CR_OK) return st;
    *params = 0, *macs = 0;
    for (int i = 0; i < g.nops; i++) {
        const wn_op *op = &g.ops[i];
        *params += wn_op_desc_table[op->kind].params(op);
        *macs += wn_op_desc_table[op->kind].macs(op) / (double)(1L << (2 * g.t[op->y].lv));
    }
    wn_graph_free(&g);
    return CR_OK;
}

int64_t cr_arch_param_count(const cr_arch *a)
{
    int64_t p;
    double m;
    return graph_totals(a, &p, &m) == CR_OK ? p : -1;
}

double cr_arch_macs_per_pixel(const cr_arch *a)
{
    int64_t p;
    double m;
    return graph_totals(a, &p, &m) == CR_OK ? m : -1;
}

cr_status cr_arch_field(const cr_arch *a, int n, int p, int *lo, int *hi)
{
    wn_graph g;
    cr_status st = wn_graph_build(a, &g);
    if (st != CR_OK) return st;
    long l, h;
    wn_graph_field(&g, n, p, &l, &h);
    *lo = (int)l, *hi = (int)h;
    wn_graph_free(&g);
    return CR_OK;
}

void cr_arch_receptive_field(const cr_arch *a, int *before, int *after)
{
    /* positions far from 0 so that no step sees a negative index; the field depends on
     * the output position only through p mod 2^levels */
    wn_graph g;
    *before = *after = 0;
    if (wn_graph_build(a, &g) != CR_OK) return;
    long q = 1L << a->levels, base = q << 16, n = 2 * base;
    for (long ph = 0; ph < q; ph++) {
        long lo, hi;
        wn_graph_field(&g, n, base + ph, &lo, &hi);
        if (base + ph - lo > *before) *before = (int)(base + ph - lo);
        if (hi - base - ph > *after) *after = (int)(hi - base - ph);
    }
    wn_graph_free(&g);
}
