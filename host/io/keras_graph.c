/* Keras model_config (JSON) -> a small graph of the operations the
 * WA-U-Net uses -> a walk from the input that follows REFERENCE.md's network
 * step by step, collecting the convolutions in checkpoint order.
 *
 * Each step names what it expected where the graph differs, so a model that
 * is not a WA-U-Net fails with one line ("layer 'conv2d_7' (Conv2D): expected
 * ReLU after it"). Every node must be reached by the walk: a branch the
 * WA-U-Net does not have is an error, not silently dropped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/keras.h"

typedef enum kkind { K_INPUT, K_CONV, K_RELU, K_ADD, K_CONCAT, K_MAXPOOL, K_D2S, K_PASS } kkind;
static const char *const kkind_name[] = {"Input", "Conv2D", "ReLU", "Add", "Concatenate", "MaxPooling2D",
                                         "depth_to_space", "identity"};

typedef struct knode {
    kkind kind;
    const char *layer, *cls; /* Keras layer name and class */
    int k, stride, cout, use_bias;
    int in[2], nin;
    int out[8], nout; /* distinct consumers; more than 8 is not a WA-U-Net */
    int seen;
} knode;

typedef struct kgraph {
    const char *what;
    knode *n;
    int nn;
    const char **lname; /* (nlayers) layer names */
    int *lnode;         /* (nlayers) node holding each layer's output */
    int nlayers;
    int input, output;
    /* the walk */
    cr_keras_conv *convs;
    int nconvs, capconvs;
} kgraph;

static cr_status gfail(kgraph *g, int id, const char *msg)
{
    if (id < 0) return cr_fail(CR_ERR_UNSUPPORTED, "%s: not a restore WA-U-Net: %s", g->what, msg);
    return cr_fail(CR_ERR_UNSUPPORTED, "%s: not a restore WA-U-Net: layer '%s' (%s): %s", g->what, g->n[id].layer,
                   g->n[id].cls, msg);
}

static int pair_int(const cr_json *v, long *a)
{
    /* kernel_size, strides, pool_size: [n, n] (or a bare n); square only */
    long b;
    if (cr_json_int(v, 1, 64, a)) return 1;
    return v && v->type == CR_JSON_ARRAY && v->length == 2 && cr_json_int(cr_json_at(v, 0), 1, 64, a) &&
           cr_json_int(cr_json_at(v, 1), 1, 64, &b) && *a == b;
}

static int str_is(const cr_json *v, const char *s) { return cr_json_str(v) && strcmp(cr_json_str(v), s) == 0; }

/* Decodes base64 (skipping whitespace) and reports whether the bytes contain
 * needle: a Lambda's function is stored as marshalled Python bytecode, and
 * the names it calls ("depth_to_space") appear there as plain ASCII. */
static int base64_holds(const char *s, const char *needle)
{
    size_t n = strlen(s), m = 0, nl = strlen(needle);
    unsigned char *buf = malloc(n / 4 * 3 + 4);
    if (!buf) return 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
              : c == '+' || c == '-' ? 62 : c == '/' || c == '_' ? 63 : -1;
        if (v < 0) continue;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[m++] = (unsigned char)(acc >> bits);
        }
    }
    int found = 0;
    for (size_t i = 0; !found && i + nl <= m; i++) found = memcmp(buf + i, needle, nl) == 0;
    free(buf);
    return found;
}

/* Any string under v that names depth_to_space, as text or as base64 bytecode. */
static int names_depth_to_space(const cr_json *v, int depth)
{
    if (!v || depth > 8) return 0;
    if (v->type == CR_JSON_STRING) return strstr(v->string, "depth_to_space") || base64_holds(v->string, "depth_to_space");
    for (const cr_json *m = v->child; m; m = m->next)
        if (names_depth_to_space(m, depth + 1)) return 1;
    return 0;
}

/* Adds node i with the given kind; returns its index. */
static int add_node(kgraph *g, kkind kind, const char *layer, const char *cls)
{
    knode *k = &g->n[g->nn];
    memset(k, 0, sizeof *k);
    k->kind = kind;
    k->layer = layer;
    k->cls = cls;
    return g->nn++;
}

/* One layer's kind and parameters; a Conv2D with activation 'relu' adds a
 * ReLU node after it. lnode gets the node holding the layer's output. */
static cr_status add_layer(kgraph *g, int li, const cr_json *L)
{
    const char *cls = cr_json_str(cr_json_get(L, "class_name"));
    const cr_json *cfg = cr_json_get(L, "config");
    const char *name = g->lname[li];
    if (!cls || !cfg || cfg->type != CR_JSON_OBJECT)
        return cr_fail(CR_ERR_FORMAT, "%s: model_config: layer '%s' has no class_name or config", g->what, name);
    int id = g->nn;
    long a = 0;
    if (strcmp(cls, "InputLayer") == 0) {
        add_node(g, K_INPUT, name, cls);
        const cr_json *shape = cr_json_get(cfg, "batch_input_shape");
        if (!shape) shape = cr_json_get(cfg, "batch_shape");
        const cr_json *ch = shape && shape->type == CR_JSON_ARRAY && shape->length ? cr_json_at(shape, shape->length - 1) : NULL;
        if (ch && !(cr_json_int(ch, 1, 1, &a))) return gfail(g, id, "the input must have one channel");
    } else if (strcmp(cls, "Conv2D") == 0) {
        knode *k = &g->n[add_node(g, K_CONV, name, cls)];
        long s = 1, d = 1, filters = 0, groups = 1;
        const cr_json *pad = cr_json_get(cfg, "padding"), *df = cr_json_get(cfg, "data_format");
        const cr_json *act = cr_json_get(cfg, "activation"), *ub = cr_json_get(cfg, "use_bias");
        if (!pair_int(cr_json_get(cfg, "kernel_size"), &a)) return gfail(g, id, "kernel_size is not square");
        if (cr_json_get(cfg, "strides") && !pair_int(cr_json_get(cfg, "strides"), &s))
            return gfail(g, id, "strides differ between the axes");
        if (cr_json_get(cfg, "dilation_rate") && (!pair_int(cr_json_get(cfg, "dilation_rate"), &d) || d != 1))
            return gfail(g, id, "dilated convolution");
        if (cr_json_get(cfg, "groups") && (!cr_json_int(cr_json_get(cfg, "groups"), 1, 1 << 20, &groups) || groups != 1))
            return gfail(g, id, "grouped convolution");
        if (!cr_json_int(cr_json_get(cfg, "filters"), 1, 1 << 20, &filters)) return gfail(g, id, "no filter count");
        if (df && df->type != CR_JSON_NULL && !str_is(df, "channels_last")) return gfail(g, id, "data_format is not channels_last");
        if (!str_is(pad, "same") && !(str_is(pad, "valid") && a == 1 && s == 1))
            return gfail(g, id, "padding is not 'same'");
        k->k = (int)a;
        k->stride = (int)s;
        k->cout = (int)filters;
        k->use_bias = !(ub && ub->type == CR_JSON_BOOL && ub->number == 0);
        if (str_is(act, "relu")) {
            add_node(g, K_RELU, name, "Conv2D activation");
        } else if (act && act->type != CR_JSON_NULL && !str_is(act, "linear")) {
            return gfail(g, id, "activation is neither linear nor relu");
        }
    } else if (strcmp(cls, "Activation") == 0) {
        const cr_json *act = cr_json_get(cfg, "activation");
        if (str_is(act, "relu")) add_node(g, K_RELU, name, cls);
        else if (str_is(act, "linear")) add_node(g, K_PASS, name, cls);
        else return cr_fail(CR_ERR_UNSUPPORTED, "%s: not a restore WA-U-Net: layer '%s' (Activation): activation is neither relu nor linear", g->what, name);
    } else if (strcmp(cls, "ReLU") == 0) {
        const cr_json *mv = cr_json_get(cfg, "max_value"), *ns = cr_json_get(cfg, "negative_slope"), *th = cr_json_get(cfg, "threshold");
        add_node(g, K_RELU, name, cls);
        if ((mv && mv->type != CR_JSON_NULL) || (ns && ns->number != 0) || (th && th->number != 0))
            return gfail(g, id, "not a plain ReLU (max_value, negative_slope or threshold set)");
    } else if (strcmp(cls, "Add") == 0) {
        add_node(g, K_ADD, name, cls);
    } else if (strcmp(cls, "Concatenate") == 0) {
        add_node(g, K_CONCAT, name, cls);
        const cr_json *ax = cr_json_get(cfg, "axis");
        if (ax && !(cr_json_int(ax, -1, -1, &a) || cr_json_int(ax, 3, 3, &a)))
            return gfail(g, id, "concatenates along an axis other than the channels");
    } else if (strcmp(cls, "MaxPooling2D") == 0) {
        long s = 0;
        add_node(g, K_MAXPOOL, name, cls);
        const cr_json *st = cr_json_get(cfg, "strides");
        if (!pair_int(cr_json_get(cfg, "pool_size"), &a) || a != 2 ||
            (st && st->type != CR_JSON_NULL && (!pair_int(st, &s) || s != 2)))
            return gfail(g, id, "not a 2x2 pooling with stride 2");
    } else if (strcmp(cls, "Lambda") == 0 || strcmp(cls, "TFOpLambda") == 0) {
        add_node(g, K_D2S, name, cls);
        /* the block size is not checked here: the channel counts of the
         * convolutions around it (4f in, f out) allow only 2 */
        if (!names_depth_to_space(cr_json_get(cfg, "function"), 0))
            return gfail(g, id, "a Lambda that is not tf.depth_to_space");
    } else if (strcmp(cls, "Dropout") == 0) {
        add_node(g, K_PASS, name, cls); /* identity at inference */
    } else {
        add_node(g, K_INPUT, name, cls);
        return gfail(g, id, "a layer class the WA-U-Net does not use");
    }
    g->lnode[li] = g->nn - 1;
    return CR_OK;
}

/* Collects the layer references of one inbound node: Keras 2 writes
 * [["name", node, tensor, {kwargs}], ...]; Keras 3 writes {"args": [...]}
 * with {"keras_history": ["name", node, tensor]} objects. */
static cr_status collect_refs(kgraph *g, int id, const cr_json *v, int depth, const char **refs, int *nrefs)
{
    if (!v || depth > 8) return CR_OK;
    const cr_json *h = cr_json_get(v, "keras_history");
    if (h) v = h;
    if (v->type == CR_JSON_ARRAY && v->length >= 3 && cr_json_str(cr_json_at(v, 0))) {
        long node, tensor;
        if (!cr_json_int(cr_json_at(v, 1), 0, 1 << 20, &node) || !cr_json_int(cr_json_at(v, 2), 0, 1 << 20, &tensor))
            return cr_fail(CR_ERR_FORMAT, "%s: model_config: layer '%s': a bad inbound reference", g->what, g->n[id].layer);
        if (node != 0 || tensor != 0) return gfail(g, id, "a shared layer or a layer with several outputs");
        if (*nrefs >= 2) return gfail(g, id, "more than two inputs");
        refs[(*nrefs)++] = cr_json_str(cr_json_at(v, 0));
        return CR_OK;
    }
    if (v->type != CR_JSON_ARRAY && v->type != CR_JSON_OBJECT) return CR_OK;
    for (const cr_json *m = v->child; m; m = m->next) {
        if (m->key && strcmp(m->key, "kwargs") == 0) continue;
        cr_status st = collect_refs(g, id, m, depth + 1, refs, nrefs);
        if (st != CR_OK) return st;
    }
    return CR_OK;
}

static int find_layer(const kgraph *g, const char *name)
{
    for (int i = 0; i < g->nlayers; i++)
        if (strcmp(g->lname[i], name) == 0) return g->lnode[i];
    return -1;
}

static cr_status link(kgraph *g, int from, int to)
{
    knode *t = &g->n[to], *f = &g->n[from];
    t->in[t->nin++] = from;
    for (int i = 0; i < f->nout; i++)
        if (f->out[i] == to) return CR_OK;
    if (f->nout == (int)(sizeof f->out / sizeof f->out[0])) return gfail(g, from, "too many consumers");
    f->out[f->nout++] = to;
    return CR_OK;
}

/* The single model input or output: [["name", 0, 0]] or ["name", 0, 0]. */
static int io_node(const kgraph *g, const cr_json *v)
{
    if (v && v->type == CR_JSON_ARRAY && v->length == 1 && cr_json_at(v, 0)->type == CR_JSON_ARRAY) v = cr_json_at(v, 0);
    const char *name = v && v->type == CR_JSON_ARRAY ? cr_json_str(cr_json_at(v, 0)) : NULL;
    return name ? find_layer(g, name) : -1;
}

static cr_status build(kgraph *g, const cr_json *mc)
{
    const char *cls = cr_json_str(cr_json_get(mc, "class_name"));
    const cr_json *cfg = cr_json_get(mc, "config");
    const cr_json *layers = cr_json_get(cfg, "layers");
    if (cls && strcmp(cls, "Sequential") == 0) return gfail(g, -1, "a Sequential model (the WA-U-Net has branches)");
    if (!layers || layers->type != CR_JSON_ARRAY || layers->length == 0)
        return cr_fail(CR_ERR_FORMAT, "%s: model_config: no layer list (config.layers)", g->what);
    if (layers->length > 100000) return gfail(g, -1, "too many layers");
    g->nlayers = (int)layers->length;
    g->n = calloc((size_t)g->nlayers * 2, sizeof *g->n);
    g->lname = calloc((size_t)g->nlayers, sizeof *g->lname);
    g->lnode = calloc((size_t)g->nlayers, sizeof *g->lnode);
    if (!g->n || !g->lname || !g->lnode) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", g->what);
    int i = 0;
    for (const cr_json *L = layers->child; L; L = L->next, i++) {
        const char *name = cr_json_str(cr_json_get(L, "name"));
        if (!name) name = cr_json_str(cr_json_get(cr_json_get(L, "config"), "name"));
        if (!name) return cr_fail(CR_ERR_FORMAT, "%s: model_config: layer %d has no name", g->what, i);
        for (int j = 0; j < i; j++)
            if (strcmp(g->lname[j], name) == 0)
                return cr_fail(CR_ERR_FORMAT, "%s: model_config: two layers are called '%s'", g->what, name);
        g->lname[i] = name;
    }
    i = 0;
    for (const cr_json *L = layers->child; L; L = L->next, i++) {
        cr_status st = add_layer(g, i, L);
        if (st != CR_OK) return st;
    }
    i = 0;
    for (const cr_json *L = layers->child; L; L = L->next, i++) {
        const cr_json *inb = cr_json_get(L, "inbound_nodes");
        int id = g->lnode[i], first = id;
        /* a fused Conv2D+ReLU: the inputs go to the convolution */
        if (g->n[id].kind == K_RELU && id > 0 && g->n[id - 1].kind == K_CONV && g->n[id - 1].layer == g->n[id].layer) {
            first = id - 1;
            cr_status st = link(g, first, id);
            if (st != CR_OK) return st;
        }
        size_t nnodes = inb && inb->type == CR_JSON_ARRAY ? inb->length : 0;
        if (g->n[first].kind == K_INPUT) {
            if (nnodes) return gfail(g, first, "an input layer with inputs");
            continue;
        }
        if (nnodes != 1) return gfail(g, first, nnodes ? "called more than once (a shared layer)" : "has no input");
        const char *refs[2];
        int nrefs = 0;
        cr_status st = collect_refs(g, first, cr_json_at(inb, 0), 0, refs, &nrefs);
        if (st != CR_OK) return st;
        int want = g->n[first].kind == K_ADD || g->n[first].kind == K_CONCAT ? 2 : 1;
        if (nrefs != want) return gfail(g, first, want == 2 ? "expected two inputs" : "expected one input");
        for (int r = 0; r < nrefs; r++) {
            int src = find_layer(g, refs[r]);
            if (src < 0)
                return cr_fail(CR_ERR_FORMAT, "%s: model_config: layer '%s' reads layer '%s', which does not exist",
                               g->what, g->n[first].layer, refs[r]);
            if ((st = link(g, src, first)) != CR_OK) return st;
        }
    }
    g->input = io_node(g, cr_json_get(cfg, "input_layers"));
    g->output = io_node(g, cr_json_get(cfg, "output_layers"));
    if (g->input < 0 || g->output < 0 || g->n[g->input].kind != K_INPUT)
        return gfail(g, -1, "not one input layer and one output layer");
    return CR_OK;
}

/* ---- the walk ---- */

/* Skips identity layers (Activation linear, Dropout) after x. */
static int skip_pass(kgraph *g, int x)
{
    while (g->n[x].nout == 1 && g->n[g->n[x].out[0]].kind == K_PASS) {
        x = g->n[x].out[0];
        g->n[x].seen = 1;
    }
    return x;
}

/* The one consumer of x of the given kind; an error when there is none or more. */
static cr_status next(kgraph *g, int x, kkind kind, const char *what, int *out)
{
    int found = -1, count = 0;
    for (int i = 0; i < g->n[x].nout; i++) {
        int c = g->n[x].out[i];
        if (g->n[c].kind == kind) {
            found = c;
            count++;
        }
    }
    if (count != 1) {
        char msg[160];
        snprintf(msg, sizeof msg, "expected %s %s after it (%s)", count ? "one" : "a", kkind_name[kind], what);
        return gfail(g, x, msg);
    }
    if (g->n[found].seen) return gfail(g, found, "reached twice (a cycle or a shared branch)");
    g->n[found].seen = 1;
    *out = kind == K_CONV ? found : skip_pass(g, found); /* conv() needs the node itself */
    return CR_OK;
}

static int has_next(const kgraph *g, int x, kkind kind)
{
    for (int i = 0; i < g->n[x].nout; i++)
        if (g->n[g->n[x].out[i]].kind == kind) return 1;
    return 0;
}

static cr_status conv(kgraph *g, int x, const char *what, int *out, int *k, int *stride)
{
    int c;
    cr_status st = next(g, x, K_CONV, what, &c);
    if (st != CR_OK) return st;
    if (g->nconvs == g->capconvs) {
        int cap = g->capconvs ? 2 * g->capconvs : 128;
        cr_keras_conv *nc = realloc(g->convs, (size_t)cap * sizeof *nc);
        if (!nc) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", g->what);
        g->convs = nc;
        g->capconvs = cap;
    }
    knode *n = &g->n[c];
    g->convs[g->nconvs++] = (cr_keras_conv){n->layer, n->k, n->stride, n->cout, n->use_bias, 0};
    if (k) *k = n->k;
    if (stride) *stride = n->stride;
    /* a fused Conv2D+ReLU: its ReLU node is the convolution's one consumer */
    *out = skip_pass(g, c);
    return CR_OK;
}

static cr_status relu(kgraph *g, int x, const char *what, int *out) { return next(g, x, K_RELU, what, out); }

/* The Add after y whose other input is x. */
static cr_status add(kgraph *g, int y, int x, const char *what, int *out)
{
    cr_status st = next(g, y, K_ADD, what, out);
    if (st != CR_OK) return st;
    knode *a = &g->n[*out];
    if (!((a->in[0] == y && a->in[1] == x) || (a->in[0] == x && a->in[1] == y))) {
        char msg[160];
        snprintf(msg, sizeof msg, "adds the wrong tensors (expected %s)", what);
        return gfail(g, *out, msg);
    }
    return CR_OK;
}

/* wa_block(x): expand 1x1 -> ReLU -> bottleneck 1x1 -> k x k -> + x. */
static cr_status wa_block(kgraph *g, int x, int *out, int *k)
{
    int c, r;
    cr_status st;
    if ((st = conv(g, x, "a wa_block's expansion", &c, NULL, NULL)) != CR_OK) return st;
    if ((st = relu(g, c, "the wide activation", &r)) != CR_OK) return st;
    if ((st = conv(g, r, "the linear bottleneck", &c, NULL, NULL)) != CR_OK) return st;
    if ((st = conv(g, skip_pass(g, c), "the wa_block's k x k convolution", &c, k, NULL)) != CR_OK) return st;
    return add(g, skip_pass(g, c), x, "the wa_block's residual", out);
}

/* up(x): 1x1 to 4f -> ReLU -> wa_block -> depth_to_space. */
static cr_status up(kgraph *g, int x, int *out, int *k)
{
    int c = -1, r = -1, a = -1;
    cr_status st;
    if ((st = conv(g, x, "the up-sampling's 1x1 convolution", &c, NULL, NULL)) != CR_OK) return st;
    if ((st = relu(g, c, "the up-sampling", &r)) != CR_OK) return st;
    if ((st = wa_block(g, r, &a, k)) != CR_OK) return st;
    return next(g, a, K_D2S, "the up-sampling", out);
}

static cr_status walk(kgraph *g, cr_arch *arch)
{
    cr_status st;
    int x, c, r, j, k = 0, skips[32], levels = 0, blocks = -1, ek = 0, dk = 0;
    g->n[g->input].seen = 1;
    if ((st = conv(g, skip_pass(g, g->input), "the input convolution", &x, NULL, NULL)) != CR_OK) return st;
    int filters = g->convs[0].cout; /* >= 1: add_layer checked it */
    while (has_next(g, x, K_MAXPOOL)) {
        if (levels == 32) return gfail(g, x, "more than 32 levels");
        if ((st = next(g, x, K_MAXPOOL, "the level's pooling", &j)) != CR_OK) return st;
        int b = 0;
        for (;;) {
            if ((st = wa_block(g, x, &x, &k)) != CR_OK) return st;
            b++;
            if (!ek) ek = k;
            /* the last block of a level continues with the stride-2 convolution */
            int down = 0;
            for (int i = 0; i < g->n[x].nout; i++)
                if (g->n[g->n[x].out[i]].kind == K_CONV && g->n[g->n[x].out[i]].stride == 2) down = 1;
            if (down) break;
            if (b > 1000) return gfail(g, x, "too many blocks");
        }
        if ((st = conv(g, x, "the down-sampling", &c, NULL, NULL)) != CR_OK) return st;
        if ((st = relu(g, skip_pass(g, c), "the down-sampling", &r)) != CR_OK) return st;
        if ((st = add(g, r, j, "the level's pooled residual", &x)) != CR_OK) return st;
        if (blocks >= 0 && b != blocks) return gfail(g, x, "levels with different numbers of blocks");
        blocks = b;
        skips[levels++] = x;
    }
    if (levels == 0) return gfail(g, x, "no MaxPooling2D after the input convolution");
    for (int l = levels - 1; l >= 0; l--) {
        int u, cat, m;
        if ((st = up(g, x, &u, &k)) != CR_OK) return st;
        if (!dk) dk = k;
        if ((st = next(g, x, K_CONCAT, "the skip connection", &cat)) != CR_OK) return st;
        knode *cn = &g->n[cat];
        int swapped = cn->in[0] == skips[l] && cn->in[1] == x && x != skips[l];
        if (!swapped && !(cn->in[0] == x && cn->in[1] == skips[l]))
            return gfail(g, cat, "does not join the decoder with its encoder level");
        if ((st = conv(g, cat, "the merge of the skip connection", &m, NULL, NULL)) != CR_OK) return st;
        g->convs[g->nconvs - 1].concat_swapped = swapped;
        if ((st = relu(g, skip_pass(g, m), "the merge", &x)) != CR_OK) return st;
        int b = 1;
        /* a wa_block's input also feeds its residual Add; up()'s does not */
        while (has_next(g, x, K_ADD)) {
            if ((st = wa_block(g, x, &x, &k)) != CR_OK) return st;
            if (b++ > 1000) return gfail(g, x, "too many blocks");
        }
        if (b != blocks) return gfail(g, x, "a decoder level with a different number of blocks from the encoder's");
        if ((st = up(g, x, &x, &k)) != CR_OK) return st;
        if ((st = add(g, x, u, "the decoder level's up-sampled residual", &x)) != CR_OK) return st;
    }
    if ((st = conv(g, x, "the output's hidden convolution", &c, NULL, NULL)) != CR_OK) return st;
    if ((st = relu(g, skip_pass(g, c), "the output's hidden layer", &r)) != CR_OK) return st;
    if ((st = conv(g, r, "the output convolution", &c, NULL, NULL)) != CR_OK) return st;
    c = skip_pass(g, c);
    if (c != g->output || g->n[c].nout) return gfail(g, c, "the WA-U-Net ends here but the model does not");
    for (int i = 0; i < g->nn; i++)
        if (!g->n[i].seen) return gfail(g, i, "not on the WA-U-Net's path");
    int expand = g->convs[1].cout;
    if (expand % filters) return gfail(g, -1, "the expansion is not a whole multiple of the filters");
    *arch = (cr_arch){levels, blocks, filters, expand / filters, ek, dk};
    return CR_OK;
}

cr_status cr_keras_match(const cr_json *mc, const char *what, cr_arch *arch, cr_keras_conv **convs, int *nconvs)
{
    kgraph g = {0};
    g.what = what;
    *convs = NULL;
    *nconvs = 0;
    cr_conv_spec *spec = NULL;
    int nspec = 0;
    cr_status st = build(&g, mc);
    if (st == CR_OK) st = walk(&g, arch);
    if (st == CR_OK && cr_arch_check(arch) != CR_OK)
        st = cr_fail(CR_ERR_UNSUPPORTED, "%s: a WA-U-Net clrestore cannot run: %s", what, cr_error_message());
    if (st == CR_OK) st = cr_arch_convs(arch, &spec, &nspec);
    if (st == CR_OK && nspec != g.nconvs)
        st = cr_fail(CR_ERR_UNSUPPORTED, "%s: not a restore WA-U-Net: %d convolutions, levels %d blocks %d need %d",
                     what, g.nconvs, arch->levels, arch->blocks, nspec);
    /* the walk checked the wiring; this checks every kernel size, stride
     * and filter count against the architecture read off the graph */
    for (int i = 0; st == CR_OK && i < nspec; i++) {
        const cr_keras_conv *c = &g.convs[i];
        if (c->k != spec[i].k || c->stride != spec[i].stride || c->cout != spec[i].cout)
            st = cr_fail(CR_ERR_UNSUPPORTED,
                         "%s: not a restore WA-U-Net: layer '%s' is %dx%d stride %d to %d channels, but %s of "
                         "levels %d blocks %d filters %d expansion %d is %dx%d stride %d to %d",
                         what, c->layer, c->k, c->k, c->stride, c->cout, spec[i].name, arch->levels, arch->blocks,
                         arch->filters, arch->expansion, spec[i].k, spec[i].k, spec[i].stride, spec[i].cout);
    }
    free(spec);
    free(g.n);
    free(g.lname);
    free(g.lnode);
    if (st != CR_OK) {
        free(g.convs);
        return st;
    }
    *convs = g.convs;
    *nconvs = g.nconvs;
    return CR_OK;
}
