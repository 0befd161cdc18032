/* The list of WA-U-Net convolutions (REFERENCE.md "Network"). Names match
 * bench/torch_reference.py, the independent implementation. */
#include "clrestore/arch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cr_arch cr_arch_default(void)
{
    cr_arch a = {3, 4, 32, 4, 3, 4};
    return a;
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

typedef struct cr_conv_list {
    cr_conv_spec *v;
    int n, cap;
} cr_conv_list;

static void add(cr_conv_list *l, const char *prefix, const char *suffix, int k, int stride, int cin, int cout)
{
    if (l->n < l->cap) {
        cr_conv_spec *c = &l->v[l->n];
        snprintf(c->name, sizeof c->name, "%s%s", prefix, suffix);
        c->k = k;
        c->stride = stride;
        c->cin = cin;
        c->cout = cout;
    }
    l->n++;
}

/* wa_block(x, f, e, k): conv(1, f·e) → ReLU → conv(1, int(0.8·f)) → conv(k, f),
 * plus conv(3, f) stride 2 for the down-sampling block. int(0.8·f) truncates
 * as Python's int() does: computed as 4f/5 in integers to avoid 0.8's binary
 * rounding (0.8·f is never an exact integer boundary problem for f < 2^20). */
static void wa_block(cr_conv_list *l, const char *name, int cin, int f, int e, int k, int down)
{
    int bottleneck = (4 * f) / 5;
    char kname[16];
    snprintf(kname, sizeof kname, ".conv%d", k);
    add(l, name, ".expand", 1, 1, cin, f * e);
    add(l, name, ".bottleneck", 1, 1, f * e, bottleneck);
    add(l, name, kname, k, 1, bottleneck, f);
    if (down) add(l, name, ".down", 3, 2, f, f);
}

/* up(x) = conv(1, 4f) → ReLU → wa_block(·, 4f, e, k_dec) → depth_to_space(2) */
static void up_block(cr_conv_list *l, const char *name, int f, int e, int k)
{
    char block[48];
    add(l, name, ".conv", 1, 1, f, 4 * f);
    snprintf(block, sizeof block, "%s.block", name);
    wa_block(l, block, 4 * f, 4 * f, e, k, 0);
}

static void enumerate(const cr_arch *a, cr_conv_list *l)
{
    int f = a->filters, e = a->expansion;
    char name[48];
    add(l, "input", "", 3, 1, 1, f);
    for (int lv = 0; lv < a->levels; lv++)
        for (int b = 0; b < a->blocks; b++) {
            snprintf(name, sizeof name, "enc%d.block%d", lv, b);
            wa_block(l, name, f, f, e, a->encoder_kernel, b == a->blocks - 1);
        }
    for (int lv = a->levels - 1; lv >= 0; lv--) {
        snprintf(name, sizeof name, "dec%d.up_skip", lv);
        up_block(l, name, f, e, a->decoder_kernel);
        snprintf(name, sizeof name, "dec%d.merge", lv);
        add(l, name, "", 1, 1, 2 * f, f);
        for (int b = 0; b < a->blocks - 1; b++) {
            snprintf(name, sizeof name, "dec%d.block%d", lv, b);
            wa_block(l, name, f, f, e, a->decoder_kernel, 0);
        }
        snprintf(name, sizeof name, "dec%d.up", lv);
        up_block(l, name, f, e, a->decoder_kernel);
    }
    add(l, "output.hidden", "", 1, 1, f, f);
    add(l, "output.final", "", 1, 1, f, 1);
}

cr_status cr_arch_convs(const cr_arch *a, cr_conv_spec **convs, int *n)
{
    *convs = NULL;
    *n = 0;
    cr_status st = cr_arch_check(a);
    if (st != CR_OK) return st;
    cr_conv_list count = {NULL, 0, 0};
    enumerate(a, &count);
    cr_conv_list l = {calloc((size_t)count.n, sizeof(cr_conv_spec)), 0, count.n};
    if (!l.v) return cr_fail(CR_ERR_NOMEM, "out of memory listing the network's layers");
    enumerate(a, &l);
    *convs = l.v;
    *n = l.n;
    return CR_OK;
}

int64_t cr_arch_param_count(const cr_arch *a)
{
    cr_conv_spec *c = NULL;
    int n = 0;
    if (cr_arch_convs(a, &c, &n) != CR_OK) return -1;
    int64_t total = 0;
    for (int i = 0; i < n; i++) total += (int64_t)c[i].k * c[i].k * c[i].cin * c[i].cout + c[i].cout;
    free(c);
    return total;
}

double cr_arch_macs_per_pixel(const cr_arch *a)
{
    /* Each convolution's output area relative to the input: level lv of the
     * encoder works at 1/4^lv before its down-sampling convolution and 1/4^(lv+1)
     * after; decoder level lv works at 1/4^(lv+1), its up blocks' wa_block at the
     * same area and the result at 1/4^lv. Walk the list with that scale. */
    cr_conv_spec *c = NULL;
    int n = 0;
    if (cr_arch_convs(a, &c, &n) != CR_OK) return -1;
    double total = 0, area = 1.0;
    for (int i = 0; i < n; i++) {
        const char *nm = c[i].name;
        if (strncmp(nm, "enc", 3) == 0) {
            int lv = atoi(nm + 3);
            area = 1.0 / (double)(1 << (2 * lv));
            if (strstr(nm, ".down")) area /= 4.0;
        } else if (strncmp(nm, "dec", 3) == 0) {
            int lv = atoi(nm + 3);
            area = 1.0 / (double)(1 << (2 * (lv + 1)));
        } else {
            area = 1.0;
        }
        total += area * c[i].k * c[i].k * c[i].cin * c[i].cout;
    }
    free(c);
    return total;
}
