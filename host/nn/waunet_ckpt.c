/* Checkpoint glue: copies a host cr_checkpoint's per-layer v, g, b (and the
 * Adam moments and step) into the model's parameter table and back. Layer i
 * of the checkpoint is convolution i of the table: both follow cr_arch_convs. */
#include <stdlib.h>
#include <string.h>

#include "waunet_internal.h"

static cr_status check_arch(const cr_waunet *m, const cr_checkpoint *c)
{
    const cr_arch *a = &m->arch, *b = &c->arch;
    if (a->levels != b->levels || a->blocks != b->blocks || a->filters != b->filters ||
        a->expansion != b->expansion || a->encoder_kernel != b->encoder_kernel ||
        a->decoder_kernel != b->decoder_kernel)
        return cr_fail(CR_ERR_ARG,
                       "checkpoint architecture (levels %d, blocks %d, filters %d, expansion %d, kernels %d/%d) "
                       "differs from the network's (%d, %d, %d, %d, %d/%d)",
                       b->levels, b->blocks, b->filters, b->expansion, b->encoder_kernel, b->decoder_kernel,
                       a->levels, a->blocks, a->filters, a->expansion, a->encoder_kernel, a->decoder_kernel);
    const cr_params *p = m->params;
    if (c->nlayers != p->nconvs)
        return cr_fail(CR_ERR_ARG, "checkpoint has %d layers, the network %d", c->nlayers, p->nconvs);
    for (int i = 0; i < p->nconvs; i++) {
        const cr_conv_spec *s = &c->layers[i].spec;
        const cr_wn_conv *w = &p->convs[i];
        if (s->cin != w->cin || s->cout != w->cout || s->k != w->k)
            return cr_fail(CR_ERR_ARG, "checkpoint layer %03d (%s) is %dx%d %d->%d, the network's %s %dx%d %d->%d", i,
                           s->name, s->k, s->k, s->cin, s->cout, w->name, w->k, w->k, w->cin, w->cout);
    }
    return CR_OK;
}

/* Which three float arrays of a layer feed the table's v, g, b entries:
 * 0 = values, 1 = first moments, 2 = second moments. */
static void layer_arrays(cr_ckpt_layer *l, int which, float **v, float **g, float **b)
{
    *v = which == 0 ? l->v : which == 1 ? l->m_v : l->s_v;
    *g = which == 0 ? l->g : which == 1 ? l->m_g : l->s_g;
    *b = which == 0 ? l->b : which == 1 ? l->m_b : l->s_b;
}

/* host (p->total, table order) <-> checkpoint arrays `which` of every layer */
static void gather(const cr_params *p, cr_checkpoint *c, int which, double *host)
{
    for (int i = 0; i < p->nconvs; i++) {
        const cr_wn_conv *w = &p->convs[i];
        float *a[3];
        layer_arrays(&c->layers[i], which, &a[0], &a[1], &a[2]);
        int idx[3] = {w->v, w->g, w->b};
        for (int k = 0; k < 3; k++) {
            const cr_param *e = &p->table[idx[k]];
            for (size_t j = 0; j < e->count; j++) host[e->off + j] = a[k][j];
        }
    }
}

static void scatter(const cr_params *p, cr_checkpoint *c, int which, const double *host)
{
    for (int i = 0; i < p->nconvs; i++) {
        const cr_wn_conv *w = &p->convs[i];
        float *a[3];
        layer_arrays(&c->layers[i], which, &a[0], &a[1], &a[2]);
        int idx[3] = {w->v, w->g, w->b};
        for (int k = 0; k < 3; k++) {
            const cr_param *e = &p->table[idx[k]];
            for (size_t j = 0; j < e->count; j++) a[k][j] = (float)host[e->off + j];
        }
    }
}

cr_status cr_waunet_upload(cr_waunet *m, const cr_checkpoint *c)
{
    cr_status st;
    cr_params *p = m->params;
    double *host = NULL;
    CR_TRY(check_arch(m, c));
    host = malloc(p->total * sizeof *host);
    if (!host) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory uploading %zu parameters", p->total);
        goto cleanup;
    }
    cl_mem bufs[3] = {p->values, p->adam_m, p->adam_v};
    int has_moments = c->has_optimizer && c->nlayers > 0 && c->layers[0].m_v;
    for (int which = 0; which < 3; which++) {
        cr_tensor all = cr_tensor_view(bufs[which], 0, 1, 1, 1, (int)p->total);
        if (which > 0 && !has_moments) {
            CR_TRY(cr_nn_fill(m->nn, &all, 0.0)); /* a weights-only file starts Adam afresh */
            continue;
        }
        /* gather only reads the checkpoint; the cast keeps one helper for both directions */
        gather(p, (cr_checkpoint *)c, which, host);
        CR_TRY(cr_tensor_write(m->nn, &all, host));
    }
    p->step = has_moments ? c->step : 0;
    m->w_stale = 1;
cleanup:
    free(host);
    return st;
}

cr_status cr_waunet_download(cr_waunet *m, cr_checkpoint *c, int with_optimizer)
{
    cr_status st;
    cr_params *p = m->params;
    double *host = NULL;
    CR_TRY(check_arch(m, c));
    if (with_optimizer) CR_TRY(cr_checkpoint_alloc_optimizer(c));
    host = malloc(p->total * sizeof *host);
    if (!host) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory downloading %zu parameters", p->total);
        goto cleanup;
    }
    cl_mem bufs[3] = {p->values, p->adam_m, p->adam_v};
    for (int which = 0; which < (with_optimizer ? 3 : 1); which++) {
        cr_tensor all = cr_tensor_view(bufs[which], 0, 1, 1, 1, (int)p->total);
        CR_TRY(cr_tensor_read(m->nn, &all, host));
        scatter(p, c, which, host);
    }
    if (with_optimizer) {
        c->has_optimizer = 1;
        c->step = p->step;
    }
cleanup:
    free(host);
    return st;
}
