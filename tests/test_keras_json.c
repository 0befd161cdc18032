/* The JSON reader (hand-derived values and errors, truncated and deeply
 * nested input) and the Keras graph matcher on edited copies of a model_config
 * written by TensorFlow (tests/fixtures/restore_small.hdf5):
 * - the layer list reversed: the same architecture and convolution order;
 * - a Conv2D with activation 'relu' in place of Conv2D + Activation('relu')
 *   (Keras defines them as the same function), model_config stored as a
 *   fixed-length string as TF 1.x Keras wrote it: the same checkpoint;
 * - the skip connection's Concatenate listing the skip first: the merge
 *   convolution's input channels rotated by f (REFERENCE.md: concat(x, skip));
 * - changes that leave the WA-U-Net (another activation, padding, pooling, a
 *   Lambda that is not depth_to_space, a missing layer, a dangling branch):
 *   one error naming the layer. */
#include <hdf5.h>
#include <unistd.h>

#include "clrestore/fileutil.h"
#include "clrestore/h5util.h"
#include "clrestore/keras.h"
#include "testutil.h"

static cr_status parse(const char *s, cr_json **j) { return cr_json_parse(s, strlen(s), "t.json", j); }

static void expect_error(const char *text, const char *what)
{
    cr_json *j = NULL;
    cr_status st = parse(text, &j);
    CHECK_MSG(st == CR_ERR_FORMAT && j == NULL && strstr(cr_error_message(), what), "'%s': %s", text,
              cr_error_message());
    cr_json_free(j);
}

static void test_values(void)
{
    cr_json *j = NULL;
    CHECK_OK(parse(" {\"a\": [1, -0.5e2, true, false, null, \"x\\\"\\u00e9\\ud83d\\ude00\\n\"],"
                   " \"b\": {\"c\": NaN, \"d\": -Infinity}, \"a2\": 3, \"a2\": 4} ", &j));
    const cr_json *a = cr_json_get(j, "a");
    CHECK(a && a->type == CR_JSON_ARRAY && a->length == 6);
    long v = 0;
    CHECK(cr_json_int(cr_json_at(a, 0), 0, 10, &v) && v == 1);
    CHECK(!cr_json_int(cr_json_at(a, 0), 2, 10, &v));
    CHECK(cr_json_at(a, 1)->number == -50.0 && cr_json_int(cr_json_at(a, 1), -100, 100, &v) && v == -50);
    CHECK(cr_json_at(a, 2)->type == CR_JSON_BOOL && cr_json_at(a, 2)->number == 1);
    CHECK(cr_json_at(a, 3)->type == CR_JSON_BOOL && cr_json_at(a, 3)->number == 0);
    CHECK(cr_json_at(a, 4)->type == CR_JSON_NULL && cr_json_at(a, 6) == NULL);
    /* x " é (C3 A9) 😀 (F0 9F 98 80) newline */
    CHECK(cr_json_str(cr_json_at(a, 5)) && strcmp(cr_json_str(cr_json_at(a, 5)), "x\"\xc3\xa9\xf0\x9f\x98\x80\n") == 0);
    CHECK(isnan(cr_json_get(cr_json_get(j, "b"), "c")->number));
    CHECK(cr_json_get(cr_json_get(j, "b"), "d")->number == -INFINITY);
    CHECK(cr_json_int(cr_json_get(j, "a2"), 0, 9, &v) && v == 4); /* the last of a repeated name, as Python */
    CHECK(cr_json_get(j, "zz") == NULL && cr_json_get(a, "a") == NULL && cr_json_str(a) == NULL);
    cr_json_free(j);
    CHECK_OK(parse("[2.5]", &j));
    CHECK(!cr_json_int(cr_json_at(j, 0), -9, 9, &v));
    cr_json_free(j);
    CHECK_OK(parse("[]", &j));
    CHECK(j && j->type == CR_JSON_ARRAY && j->length == 0 && j->child == NULL);
    cr_json_free(j);
}

static void test_errors(void)
{
    expect_error("", "ends early");
    expect_error("[1, 2", "ends early");
    expect_error("{\"a\" 1}", "line 1, column 6: expected ':'");
    expect_error("{\"a\": 1,\n \"b\": }", "line 2, column 7: expected a value");
    expect_error("[1] 2", "text after the end");
    expect_error("01", "text after the end");
    expect_error("[1.]", "bad number");
    expect_error("[1e]", "bad number");
    expect_error("\"a\tb\"", "control character");
    expect_error("\"\\x\"", "unknown escape");
    expect_error("\"\\u12g4\"", "bad \\u escape");
    expect_error("\"abc", "unterminated string");
    expect_error("{1: 2}", "member name");
    expect_error("[tru]", "expected a value");
    /* nesting up to the limit is fine, one more is not */
    char deep[2 * CR_JSON_MAX_DEPTH + 8];
    for (int d = CR_JSON_MAX_DEPTH; d <= CR_JSON_MAX_DEPTH + 1; d++) {
        memset(deep, '[', (size_t)d);
        memset(deep + d, ']', (size_t)d);
        deep[2 * d] = '\0';
        cr_json *j = NULL;
        cr_status st = parse(deep, &j);
        CHECK(d == CR_JSON_MAX_DEPTH ? st == CR_OK : st == CR_ERR_FORMAT && strstr(cr_error_message(), "nested too deeply"));
        cr_json_free(j);
    }
}

/* ---- the model_config of a TensorFlow-written model ---- */

static char *read_config(const char *path)
{
    char *out = NULL;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t a = f >= 0 ? H5Aopen(f, "model_config", H5P_DEFAULT) : -1;
    if (a >= 0) {
        hid_t t = H5Tcopy(H5T_C_S1);
        char *v = NULL;
        H5Tset_size(t, H5T_VARIABLE);
        if (H5Aread(a, t, &v) >= 0 && v) {
            out = strdup(v);
            H5free_memory(v);
        }
        H5Tclose(t);
        H5Aclose(a);
    }
    if (f >= 0) H5Fclose(f);
    return out;
}

typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = 2 * (b->n + n + 1);
        b->s = realloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void put_str(sbuf *b, const char *s)
{
    put(b, "\"", 1);
    for (; *s; s++) {
        char e[8];
        if (*s == '"' || *s == '\\') {
            e[0] = '\\';
            e[1] = *s;
            put(b, e, 2);
        } else if ((unsigned char)*s < 0x20) {
            snprintf(e, sizeof e, "\\u%04x", (unsigned char)*s);
            put(b, e, 6);
        } else {
            put(b, s, 1);
        }
    }
    put(b, "\"", 1);
}

/* Writes a tree back as JSON (the test's edits are made on the tree). */
static void ser(sbuf *b, const cr_json *j)
{
    char num[64];
    switch (j->type) {
    case CR_JSON_NULL: put(b, "null", 4); break;
    case CR_JSON_BOOL: put(b, j->number ? "true" : "false", j->number ? 4 : 5); break;
    case CR_JSON_NUMBER:
        snprintf(num, sizeof num, "%.17g", j->number);
        put(b, num, strlen(num));
        break;
    case CR_JSON_STRING: put_str(b, j->string); break;
    default:
        put(b, j->type == CR_JSON_ARRAY ? "[" : "{", 1);
        for (const cr_json *m = j->child; m; m = m->next) {
            if (m != j->child) put(b, ", ", 2);
            if (m->key) {
                put_str(b, m->key);
                put(b, ": ", 2);
            }
            ser(b, m);
        }
        put(b, j->type == CR_JSON_ARRAY ? "]" : "}", 1);
    }
}

static void set_str(cr_json *j, const char *s)
{
    free(j->string);
    j->string = strdup(s);
    j->length = strlen(s);
}

static cr_json *layers_of(cr_json *mc) { return (cr_json *)cr_json_get(cr_json_get(mc, "config"), "layers"); }
static cr_json *field(cr_json *l, const char *k) { return (cr_json *)cr_json_get(l, k); }
static const char *lname(cr_json *l) { return cr_json_str(field(l, "name")); }
static const char *lclass(cr_json *l) { return cr_json_str(field(l, "class_name")); }

/* The first inbound reference ["name", 0, 0, {}] of layer l (its name node). */
static cr_json *first_ref(cr_json *l, int which)
{
    cr_json *node = (cr_json *)cr_json_at(cr_json_at(field(l, "inbound_nodes"), 0), (size_t)which);
    return (cr_json *)cr_json_at(node, 0);
}

static cr_json *find(cr_json *mc, const char *cls, int nth)
{
    for (cr_json *l = layers_of(mc)->child; l; l = l->next)
        if (strcmp(lclass(l), cls) == 0 && nth-- == 0) return l;
    return NULL;
}

static cr_json *by_name(cr_json *mc, const char *name)
{
    for (cr_json *l = layers_of(mc)->child; l; l = l->next)
        if (strcmp(lname(l), name) == 0) return l;
    return NULL;
}

/* Every reference to layer `from` now names `to`. */
static void rename_refs(cr_json *j, const char *from, const char *to)
{
    for (cr_json *m = j->child; m; m = m->next) {
        if (m->type == CR_JSON_ARRAY && m->child && m->child->type == CR_JSON_STRING &&
            strcmp(m->child->string, from) == 0 && m->length >= 3)
            set_str(m->child, to);
        rename_refs(m, from, to);
    }
}

static void unlink_layer(cr_json *mc, cr_json *l)
{
    cr_json *ls = layers_of(mc);
    for (cr_json **p = &ls->child; *p; p = &(*p)->next)
        if (*p == l) {
            *p = l->next;
            l->next = NULL;
            ls->length--;
            cr_json_free(l);
            return;
        }
}

/* convs point into the re-read trees: kept until the end of the test */
static cr_json *keep[64];
static int nkeep;

static cr_status match(cr_json *mc, cr_arch *a, cr_keras_conv **convs, int *n)
{
    sbuf b = {0};
    ser(&b, mc);
    cr_json *again = NULL;
    /* matched on the re-read text, as a file would give it */
    cr_status st = cr_json_parse(b.s, b.n, "edited", &again);
    if (st == CR_OK) st = cr_keras_match(again, "edited.hdf5", a, convs, n);
    free(b.s);
    if (nkeep < 64) keep[nkeep++] = again;
    else cr_json_free(again);
    return st;
}

/* A copy of the fixture with model_config replaced by the edited tree:
 * variable length (h5py 3) or, with fixed, a NULLPAD string exactly as long
 * as the text (h5py 2 with numpy bytes, as TF 1.x Keras wrote). */
static cr_status write_copy(const char *fixture, const char *path, cr_json *mc, int fixed)
{
    char *data = NULL;
    size_t len = 0;
    cr_status st = cr_read_file(fixture, &data, &len);
    if (st != CR_OK) return st;
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, len, fp) != len) st = CR_ERR_IO;
    if (fp) fclose(fp);
    free(data);
    sbuf b = {0};
    ser(&b, mc);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, fixed ? b.n : H5T_VARIABLE);
    if (fixed) H5Tset_strpad(t, H5T_STR_NULLPAD);
    int ok = f >= 0 && H5Adelete(f, "model_config") >= 0;
    hid_t a = ok ? H5Acreate2(f, "model_config", t, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    ok = a >= 0 && H5Awrite(a, t, fixed ? (const void *)b.s : (const void *)&b.s) >= 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    if (f >= 0) H5Fclose(f);
    free(b.s);
    return ok && st == CR_OK ? CR_OK : CR_ERR_IO;
}

static void expect_mismatch(cr_json *mc, const char *what)
{
    cr_arch a;
    cr_keras_conv *c = NULL;
    int n = 0;
    cr_status st = match(mc, &a, &c, &n);
    CHECK_MSG(st == CR_ERR_UNSUPPORTED && strstr(cr_error_message(), what) && !strchr(cr_error_message(), '\n'),
              "expected '%s': %s", what, cr_error_message());
    printf("  %s\n", cr_error_message());
    free(c);
}

static cr_json *fresh(const char *text)
{
    cr_json *j = NULL;
    CHECK_OK(cr_json_parse(text, strlen(text), "fixture", &j));
    return j;
}

int main(void)
{
    cr_h5_quiet();
    test_values();
    test_errors();
    const char *src = getenv("CLRESTORE_TEST_SRC");
    if (!src) {
        printf("SKIP: CLRESTORE_TEST_SRC not set\n");
        return 77;
    }
    char fixture[4096], dir[] = "/tmp/clrestore-kjson-XXXXXX", p1[4200], p2[4200];
    snprintf(fixture, sizeof fixture, "%s/fixtures/restore_small.hdf5", src);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(p1, sizeof p1, "%s/fused.hdf5", dir);
    snprintf(p2, sizeof p2, "%s/swapped.hdf5", dir);
    char *text = read_config(fixture);
    CHECK(text != NULL);
    if (!text) return test_finish("test_keras_json");
    size_t len = strlen(text);

    /* every truncation (sampled) is an error, never a crash */
    int truncated_ok = 1;
    for (size_t n = 0; n < len; n += 1 + n / 50) {
        cr_json *j = NULL;
        if (cr_json_parse(text, n, "cut", &j) != CR_ERR_FORMAT || j) truncated_ok = 0;
        cr_json_free(j);
    }
    CHECK(truncated_ok);

    cr_arch a0, a;
    cr_keras_conv *c0 = NULL, *c = NULL;
    int n0 = 0, n = 0;
    cr_json *mc = fresh(text);
    CHECK_OK(match(mc, &a0, &c0, &n0));
    CHECK(a0.levels == 2 && a0.blocks == 2 && a0.filters == 4 && a0.expansion == 2 && a0.encoder_kernel == 3 &&
          a0.decoder_kernel == 4 && n0 == 41);

    /* the layer list reversed */
    cr_json *ls = layers_of(mc), *rev = NULL;
    while (ls->child) {
        cr_json *l = ls->child;
        ls->child = l->next;
        l->next = rev;
        rev = l;
    }
    ls->child = rev;
    CHECK_OK(match(mc, &a, &c, &n));
    int same = n == n0 && memcmp(&a, &a0, sizeof a) == 0;
    for (int i = 0; same && i < n; i++) same = strcmp(c[i].layer, c0[i].layer) == 0;
    CHECK_MSG(same, "the reversed layer list matches differently");
    free(c);
    cr_json_free(mc);

    /* Conv2D(activation='relu') instead of Conv2D + Activation('relu'): the
     * first Activation layer (the input wa_block's wide activation) */
    mc = fresh(text);
    cr_json *act = find(mc, "Activation", 0);
    cr_json *conv = by_name(mc, cr_json_str(first_ref(act, 0)));
    CHECK(conv && strcmp(lclass(conv), "Conv2D") == 0);
    char actname[128];
    snprintf(actname, sizeof actname, "%s", lname(act));
    set_str(field(field(conv, "config"), "activation"), "relu");
    unlink_layer(mc, act);
    rename_refs(mc, actname, lname(conv));
    CHECK_OK(match(mc, &a, &c, &n));
    free(c);
    CHECK_OK(write_copy(fixture, p1, mc, 1));
    cr_checkpoint *k0 = NULL, *k1 = NULL, *k2 = NULL;
    CHECK_OK(cr_keras_import(fixture, NULL, &k0, NULL));
    CHECK_OK(cr_keras_import(p1, NULL, &k1, NULL));
    if (k0 && k1) {
        int eq = 1;
        for (int i = 0; i < k0->nlayers; i++) {
            const cr_conv_spec *s = &k0->layers[i].spec;
            eq = eq && !memcmp(k0->layers[i].v, k1->layers[i].v, sizeof(float) * s->cout * s->cin * s->k * s->k) &&
                 !memcmp(k0->layers[i].b, k1->layers[i].b, sizeof(float) * s->cout);
        }
        CHECK_MSG(eq, "a fused Conv2D+relu imports differently");
    }
    cr_json_free(mc);

    /* the Concatenate of level 0 lists the skip first (the one of the
     * deepest level joins x with itself and is left alone) */
    mc = fresh(text);
    cr_json *cat = NULL, *r0 = NULL, *r1 = NULL;
    for (int i = 0; (cat = find(mc, "Concatenate", i)) != NULL; i++) {
        r0 = first_ref(cat, 0);
        r1 = first_ref(cat, 1);
        if (strcmp(r0->string, r1->string) != 0) break;
    }
    CHECK(cat != NULL);
    if (!cat) return test_finish("test_keras_json");
    char t0[128];
    snprintf(t0, sizeof t0, "%s", r0->string);
    set_str(r0, r1->string);
    set_str(r1, t0);
    CHECK_OK(write_copy(fixture, p2, mc, 0));
    CHECK_OK(cr_keras_import(p2, NULL, &k2, NULL));
    if (k0 && k2) {
        int merge = -1, f = k0->arch.filters;
        for (int i = 0; i < k0->nlayers; i++)
            if (strcmp(k0->layers[i].spec.name, "dec0.merge") == 0) merge = i;
        CHECK(merge > 0);
        int rotated = merge > 0, unchanged = 1;
        for (int i = 0; merge > 0 && i < k0->nlayers; i++) {
            const cr_conv_spec *s = &k0->layers[i].spec;
            if (i != merge) {
                unchanged = unchanged && !memcmp(k0->layers[i].v, k2->layers[i].v,
                                                 sizeof(float) * s->cout * s->cin * s->k * s->k);
                continue;
            }
            /* ours: channel ci of the swapped import is Keras channel (ci + f) mod 2f */
            for (int o = 0; o < s->cout; o++)
                for (int ci = 0; ci < s->cin; ci++)
                    rotated = rotated && k2->layers[i].v[o * s->cin + ci] == k0->layers[i].v[o * s->cin + (ci + f) % (2 * f)];
            CHECK(k2->layers[i].g[0] == k0->layers[i].g[0]);
        }
        CHECK_MSG(rotated && unchanged, "the swapped Concatenate's merge weights are not rotated by f");
    }
    cr_checkpoint_free(k0);
    cr_checkpoint_free(k1);
    cr_checkpoint_free(k2);
    cr_json_free(mc);

    /* leaving the WA-U-Net */
    mc = fresh(text);
    set_str(field(field(find(mc, "Activation", 2), "config"), "activation"), "tanh");
    expect_mismatch(mc, "activation is neither relu nor linear");
    cr_json_free(mc);
    mc = fresh(text);
    set_str(field(field(find(mc, "Conv2D", 0), "config"), "padding"), "valid");
    expect_mismatch(mc, "padding is not 'same'");
    cr_json_free(mc);
    mc = fresh(text);
    cr_json *ps = field(field(find(mc, "MaxPooling2D", 1), "config"), "pool_size");
    ps->child->number = ps->child->next->number = 3;
    expect_mismatch(mc, "not a 2x2 pooling");
    cr_json_free(mc);
    mc = fresh(text);
    cr_json *fn = field(field(find(mc, "Lambda", 0), "config"), "function");
    set_str(fn->child, "4wEAAAAAAAAAAAAAAAQAAAATAAAA"); /* bytecode of another function */
    expect_mismatch(mc, "a Lambda that is not tf.depth_to_space");
    cr_json_free(mc);
    mc = fresh(text);
    /* the output convolution removed: the model ends at the hidden layer's ReLU */
    cr_json *out = by_name(mc, cr_json_str(cr_json_at(cr_json_at(cr_json_get(cr_json_get(mc, "config"), "output_layers"), 0), 0)));
    char outname[128], prev[128];
    snprintf(outname, sizeof outname, "%s", lname(out));
    snprintf(prev, sizeof prev, "%s", cr_json_str(first_ref(out, 0)));
    unlink_layer(mc, out);
    rename_refs(cr_json_get(mc, "config") ? (cr_json *)cr_json_get(mc, "config") : mc, outname, prev);
    expect_mismatch(mc, "expected a Conv2D after it (the output convolution)");
    cr_json_free(mc);
    mc = fresh(text);
    /* a second consumer of the input convolution: a branch the WA-U-Net lacks */
    cr_json *extra = fresh("{\"class_name\": \"Activation\", \"config\": {\"name\": \"extra\", \"activation\": \"relu\"},"
                           " \"name\": \"extra\", \"inbound_nodes\": [[[\"X\", 0, 0, {}]]]}");
    set_str(first_ref(extra, 0), lname(find(mc, "Conv2D", 0)));
    extra->next = layers_of(mc)->child;
    layers_of(mc)->child = extra;
    layers_of(mc)->length++;
    expect_mismatch(mc, "layer 'extra' (Activation): not on the WA-U-Net's path");
    cr_json_free(mc);

    free(c0);
    free(text);
    for (int i = 0; i < nkeep; i++) cr_json_free(keep[i]);
    unlink(p1);
    unlink(p2);
    rmdir(dir);
    return test_finish("test_keras_json");
}
