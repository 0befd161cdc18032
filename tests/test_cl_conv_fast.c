/* The tiled convolution engine (host/nn/conv_fast.h, kernels/conv_gemm.cl) against a plain
 * double-precision reference written here:
 * forward with bias / ReLU / residual, dX (overwrite and accumulate), dW and db (both
 * accumulate), on odd sizes, k = 1, 3, 4, stride 1 and 2, with default and odd tile sets,
 * with the weight-gradient reduction done in one pass and split into chunks, and the
 * work-group tiled variant (conv_local.cl: forward and dX) with its default tiles and with
 * tiles that leave edges in every dimension; stride-2 dX both by output phases (conv_s2.cl,
 * the default) and through zero-dilated dY, each against the reference and the two
 * bit for bit (same sums in the same order, conv_s2.cl); the fused inference expand +
 * bottleneck (conv_fuse.c) against the two convolutions in double (the first compile of its 30 programs costs
 * about 60 s on PoCL; later runs hit the caches: a few seconds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_fast.h"
#include "conv_tune.h"
#include "clrestore/runtime.h"
#include "testutil.h"

/* A whole buffer as the engine's tensor argument (it reads buf and off only). */
#define TB(b) (&(cr_tensor){.buf = (b)})

typedef struct shape {
    int n, cin, h, w, cout, k, s;
} shape;

static unsigned rng_state = 12345;
static float frand(void) /* uniform in [-1, 1) */
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}
static float *rand_buf(size_t count)
{
    float *p = malloc(count * sizeof *p);
    for (size_t i = 0; i < count; i++) p[i] = frand();
    return p;
}

/* The input pixel that output pixel o reads at tap kt, or -1 when it falls in the padding. */
static int src_index(int o, int kt, int s, int pad, int in)
{
    int i = o * s + kt - pad;
    return i >= 0 && i < in ? i : -1;
}

static void ref_forward(const shape *c, const float *x, const float *w, const float *b, const float *r, int relu,
                        int ho, int wo, int pt, int pl, double *y)
{
    int k = c->k;
    for (int n = 0; n < c->n; n++)
        for (int co = 0; co < c->cout; co++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    double acc = b ? b[co] : 0.0;
                    for (int ci = 0; ci < c->cin; ci++)
                        for (int kh = 0; kh < k; kh++) {
                            int iy = src_index(oy, kh, c->s, pt, c->h);
                            if (iy < 0) continue;
                            for (int kw = 0; kw < k; kw++) {
                                int ix = src_index(ox, kw, c->s, pl, c->w);
                                if (ix < 0) continue;
                                acc += (double)w[((co * c->cin + ci) * k + kh) * k + kw] *
                                       x[((n * c->cin + ci) * c->h + iy) * c->w + ix];
                            }
                        }
                    if (relu && acc < 0) acc = 0;
                    size_t o = ((size_t)(n * c->cout + co) * ho + oy) * wo + ox;
                    if (r) acc += r[o];
                    y[o] = acc;
                }
}

/* dx, dw, db accumulate into what they hold. */
static void ref_backward(const shape *c, const float *x, const float *w, const float *dy, int ho, int wo, int pt,
                         int pl, double *dx, double *dw, double *db)
{
    int k = c->k;
    for (int n = 0; n < c->n; n++)
        for (int co = 0; co < c->cout; co++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    double g = dy[((size_t)(n * c->cout + co) * ho + oy) * wo + ox];
                    db[co] += g;
                    for (int ci = 0; ci < c->cin; ci++)
                        for (int kh = 0; kh < k; kh++) {
                            int iy = src_index(oy, kh, c->s, pt, c->h);
                            if (iy < 0) continue;
                            for (int kw = 0; kw < k; kw++) {
                                int ix = src_index(ox, kw, c->s, pl, c->w);
                                if (ix < 0) continue;
                                size_t xi = ((size_t)(n * c->cin + ci) * c->h + iy) * c->w + ix;
                                size_t wi = ((size_t)(co * c->cin + ci) * k + kh) * k + kw;
                                dx[xi] += g * w[wi];
                                dw[wi] += g * x[xi];
                            }
                        }
                }
}

/* max |got - want| / max |want|: a norm-wise relative error, robust to values near zero. */
static double rel_err(const float *got, const double *want, size_t count)
{
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < count; i++) {
        double d = fabs(got[i] - want[i]);
        if (d > num || d != d) num = d != d ? INFINITY : d;
        if (fabs(want[i]) > den) den = fabs(want[i]);
    }
    return num / den;
}

static cl_mem upload(cr_runtime *rt, const float *p, size_t count)
{
    cl_mem m = NULL;
    CHECK_OK(cr_buffer_create(rt, count * sizeof(float), "test buffer", &m));
    if (m) CHECK_OK(cr_buffer_write(rt, m, 0, count * sizeof(float), p));
    return m;
}

static float *download(cr_runtime *rt, cl_mem m, size_t count)
{
    float *p = calloc(count, sizeof *p);
    CHECK_OK(cr_buffer_read(rt, m, 0, count * sizeof(float), p));
    return p;
}

static void run_case(cr_runtime *rt, cr_conv_fast *cf, const shape *c, const char *label)
{
    cr_conv_geom G = cr_conv_geom_make(c->n, c->cin, c->h, c->w, c->cout, c->k, c->s);
    int ho = G.ho, wo = G.wo, pt = G.pad_y, pl = G.pad_x;
    size_t nx = (size_t)c->n * c->cin * c->h * c->w, ny = (size_t)c->n * c->cout * ho * wo;
    size_t nw = (size_t)c->cout * c->cin * c->k * c->k;
    float *x = rand_buf(nx), *w = rand_buf(nw), *b = rand_buf(c->cout), *r = rand_buf(ny), *dy = rand_buf(ny);
    float *dx0 = rand_buf(nx), *dw0 = rand_buf(nw), *db0 = rand_buf(c->cout);
    double *ry = malloc(ny * sizeof *ry), *rdx = malloc(nx * sizeof *rdx);
    double *rdw = malloc(nw * sizeof *rdw), *rdb = malloc(c->cout * sizeof *rdb);
    cl_mem bx = upload(rt, x, nx), bw = upload(rt, w, nw), bb = upload(rt, b, c->cout), br = upload(rt, r, ny);
    cl_mem bdy = upload(rt, dy, ny), bdx = upload(rt, dx0, nx), bdw = upload(rt, dw0, nw);
    cl_mem bdb = upload(rt, db0, c->cout), by = NULL;
    CHECK_OK(cr_buffer_create(rt, ny * sizeof(float), "y", &by));
    const double tol = 1e-5;

    /* forward, every epilogue: bias (bit 2) x ReLU (bit 0) x residual (bit 1), the kernels' flags */
    for (int mode = 0; mode < 8; mode++) {
        int relu = (mode & CR_CONV_FLAG_RELU) != 0;
        const float *res = (mode & CR_CONV_FLAG_RESIDUAL) ? r : NULL, *bias = (mode & CR_CONV_FLAG_BIAS) ? b : NULL;
        CHECK_OK(cr_conv_fast_forward(cf, &G, TB(by), TB(bx), TB(bw), bias ? TB(bb) : NULL, res ? TB(br) : NULL,
                                      relu));
        float *y = download(rt, by, ny);
        ref_forward(c, x, w, bias, res, relu, ho, wo, pt, pl, ry);
        double e = rel_err(y, ry, ny);
        CHECK_MSG(e < tol, "%s forward flags %d: rel err %.3g", label, mode, e);
        free(y);
    }

    /* backward: dx accumulate onto dx0, dw onto dw0, db onto db0 */
    for (size_t i = 0; i < nx; i++) rdx[i] = dx0[i];
    for (size_t i = 0; i < nw; i++) rdw[i] = dw0[i];
    for (int i = 0; i < c->cout; i++) rdb[i] = db0[i];
    ref_backward(c, x, w, dy, ho, wo, pt, pl, rdx, rdw, rdb);
    CHECK_OK(cr_conv_fast_backward_input(cf, &G, TB(bdx), TB(bdy), TB(bw), 1));
    CHECK_OK(cr_conv_fast_backward_weights(cf, &G, TB(bdw), TB(bdb), TB(bdy), TB(bx)));
    float *gdx = download(rt, bdx, nx), *gdw = download(rt, bdw, nw), *gdb = download(rt, bdb, c->cout);
    double e;
    e = rel_err(gdx, rdx, nx);
    CHECK_MSG(e < tol, "%s dX (accumulate): rel err %.3g", label, e);
    e = rel_err(gdw, rdw, nw);
    CHECK_MSG(e < tol, "%s dW: rel err %.3g", label, e);
    e = rel_err(gdb, rdb, c->cout);
    CHECK_MSG(e < tol, "%s db: rel err %.3g", label, e);
    free(gdx);

    /* dx overwrite: the reference without dx0 */
    memset(rdx, 0, nx * sizeof *rdx);
    memset(rdw, 0, nw * sizeof *rdw);
    ref_backward(c, x, w, dy, ho, wo, pt, pl, rdx, rdw, rdb);
    CHECK_OK(cr_conv_fast_backward_input(cf, &G, TB(bdx), TB(bdy), TB(bw), 0));
    gdx = download(rt, bdx, nx);
    e = rel_err(gdx, rdx, nx);
    CHECK_MSG(e < tol, "%s dX: rel err %.3g", label, e);
    if (c->s == 2) { /* the other stride-2 dX path (phases / dilated), overwrite and accumulate */
        int phase = cr_conv_fast_s2_dx(cf);
        cr_conv_fast_set_s2_dx(cf, !phase);
        CHECK_OK(cr_conv_fast_backward_input(cf, &G, TB(bdx), TB(bdy), TB(bw), 0));
        float *odx = download(rt, bdx, nx);
        e = rel_err(odx, rdx, nx);
        CHECK_MSG(e < tol, "%s dX (s2 %s): rel err %.3g", label, phase ? "dilated" : "phases", e);
        CHECK_MSG(!memcmp(odx, gdx, nx * sizeof *odx), "%s dX: phases and dilated differ in bits", label);
        CHECK_OK(cr_buffer_write(rt, bdx, 0, nx * sizeof(float), dx0));
        CHECK_OK(cr_conv_fast_backward_input(cf, &G, TB(bdx), TB(bdy), TB(bw), 1));
        free(odx);
        odx = download(rt, bdx, nx);
        for (size_t i = 0; i < nx; i++) rdx[i] += dx0[i];
        e = rel_err(odx, rdx, nx);
        CHECK_MSG(e < tol, "%s dX accumulate (s2 %s): rel err %.3g", label, phase ? "dilated" : "phases", e);
        free(odx);
        cr_conv_fast_set_s2_dx(cf, phase);
    }

    free(gdx), free(gdw), free(gdb);
    cl_mem bufs[] = {bx, bw, bb, br, bdy, bdx, bdw, bdb, by};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cr_buffer_release(rt, &bufs[i]);
    free(x), free(w), free(b), free(r), free(dy), free(dx0), free(dw0), free(db0);
    free(ry), free(rdx), free(rdw), free(rdb);
}

/* The fused inference pair (conv_fuse.c): y = conv1(relu(conv1(x, w1) + b1), w2) + b2 against
 * the two 1x1 convolutions summed here in double; e channels in between, cout out. */
static void check_fused_pair(cr_runtime *rt, cr_conv_fast *cf, int n, int cin, int h, int w, int e, int cout,
                             const char *label)
{
    int np = h * w;
    size_t nx = (size_t)n * cin * np, ny = (size_t)n * cout * np;
    float *x = rand_buf(nx), *w1 = rand_buf((size_t)e * cin), *b1 = rand_buf(e);
    float *w2 = rand_buf((size_t)cout * e), *b2 = rand_buf(cout);
    double *ref = calloc(ny, sizeof *ref), *t = calloc(e, sizeof *t);
    for (int i = 0; i < n; i++)
        for (int p = 0; p < np; p++) {
            for (int c = 0; c < e; c++) {
                double a = b1[c];
                for (int ci = 0; ci < cin; ci++) a += (double)w1[c * cin + ci] * x[((size_t)i * cin + ci) * np + p];
                t[c] = a > 0 ? a : 0;
            }
            for (int co = 0; co < cout; co++) {
                double a = b2[co];
                for (int c = 0; c < e; c++) a += (double)w2[co * e + c] * t[c];
                ref[((size_t)i * cout + co) * np + p] = a;
            }
        }
    cl_mem bx = upload(rt, x, nx), bw1 = upload(rt, w1, (size_t)e * cin), bb1 = upload(rt, b1, e);
    cl_mem bw2 = upload(rt, w2, (size_t)cout * e), bb2 = upload(rt, b2, cout), by = NULL;
    CHECK_OK(cr_buffer_create(rt, ny * sizeof(float), "y", &by));
    cr_tensor tx = cr_tensor_view(bx, 0, n, cin, h, w), ty = cr_tensor_view(by, 0, n, cout, h, w);
    cr_tensor tw1 = cr_tensor_view(bw1, 0, e, cin, 1, 1), tb1 = cr_tensor_view(bb1, 0, 1, e, 1, 1);
    cr_tensor tw2 = cr_tensor_view(bw2, 0, cout, e, 1, 1), tb2 = cr_tensor_view(bb2, 0, 1, cout, 1, 1);
    CHECK_MSG(cr_conv_fast_eb_fits(cf, cin, e, cout), "%s: %d -> %d -> %d should fuse", label, cin, e, cout);
    CHECK_OK(cr_conv_fast_forward_eb(cf, n, h, w, &ty, &tx, &tw1, &tb1, &tw2, &tb2));
    float *y = download(rt, by, ny);
    double err = rel_err(y, ref, ny);
    CHECK_MSG(err < 1e-5, "%s: fused %d -> %d -> %d at %dx%d: rel err %.3g", label, cin, e, cout, h, w, err);
    /* a missing bias, a wrong shape and a pair the parameters do not fuse are argument errors */
    CHECK(cr_conv_fast_forward_eb(cf, n, h, w, &ty, &tx, &tw1, NULL, &tw2, &tb2) == CR_ERR_ARG);
    CHECK(cr_conv_fast_forward_eb(cf, n, h, w + 1, &ty, &tx, &tw1, &tb1, &tw2, &tb2) == CR_ERR_ARG);
    cr_error_clear();
    free(y), free(x), free(w1), free(b1), free(w2), free(b2), free(ref), free(t);
    cl_mem bufs[] = {bx, bw1, bb1, bw2, bb2, by};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cr_buffer_release(rt, &bufs[i]);
}

/* Tunables the work-group tiled variant cannot run are argument errors, before any build. */
static void check_local_limits(cr_runtime *rt, cr_conv_fast *cf)
{
    cr_conv_params keep = *cr_conv_fast_params(cf);
    cr_conv_tiles tiles, *t = &tiles;
    cr_conv_geom g = cr_conv_geom_make(1, 3, 5, 5, 4, 3, 1);
    cl_mem buf = NULL;
    CHECK_OK(cr_buffer_create(rt, 4096, "test buffer", &buf));
    struct {
        int mwg, nwg, kwg, mdimc, ndimc, vwm;
        const char *what, *key; /* key: a word of the message that names the rule */
    } bad[] = {
        {30, 64, 16, 16, 16, 4, "lm_mwg not a multiple of lm_mdimc", "multiple of lm_mdimc"},
        {64, 64, 16, 16, 16, 3, "lm_vwm 3", "lm_vwm 1, 2, 4 or 8"},
        {64, 64, 3, 16, 16, 1, "weight slice not shared evenly", "weight slice"},
        {64, 48, 4, 16, 16, 1, "input slice not shared evenly", "input slice"},
        {16, 16, (int)(rt->dev.local_mem / (32 * sizeof(float))) + 1, 1, 1, 1, "more local memory than the device",
         "local memory"},
        {128, 64, 128, 128, 64, 1, "work-group larger than the device allows", "work-items, device"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        *t = keep.cls[CR_CC_TINY];
        t->fwd_variant = 1;
        t->lm_mwg = bad[i].mwg, t->lm_nwg = bad[i].nwg, t->lm_kwg = bad[i].kwg;
        t->lm_mdimc = bad[i].mdimc, t->lm_ndimc = bad[i].ndimc, t->lm_vwm = bad[i].vwm;
        cr_conv_fast_set_all(cf, t, "test");
        if (i == 5 && (size_t)128 * 64 <= rt->dev.max_work_group) continue; /* a device that allows it */
        cr_status st = cr_conv_fast_forward(cf, &g, TB(buf), TB(buf), TB(buf), NULL, NULL, 0);
        CHECK_MSG(st == CR_ERR_ARG && strstr(cr_error_message(), bad[i].key), "%s: status %d, %s", bad[i].what,
                  (int)st, cr_error_message());
        st = cr_conv_fast_backward_input(cf, &g, TB(buf), TB(buf), TB(buf), 0);
        CHECK_MSG(st == CR_ERR_ARG, "%s (dX): status %d", bad[i].what, (int)st);
    }
    *cr_conv_fast_params(cf) = keep;
    cr_buffer_release(rt, &buf);
}

int main(int argc, char **argv)
{
    /* "local": only the work-group tiled variant on two tiny shapes, "s2": only stride-2 shapes
     * with the register tiles, "kc": one 1x1 shape with the odd tiles of set 1, whose forward
     * computes all channels per work-item, and the fused pairs (all three for
     * tests/device_oclgrind.sh) */
    int tiny = argc > 1 && !strcmp(argv[1], "local"), s2 = argc > 1 && !strcmp(argv[1], "s2");
    int kc = argc > 1 && !strcmp(argv[1], "kc");
    cr_runtime *rt = NULL;
    cr_status st = cr_runtime_create(getenv("CLRESTORE_DEVICE"), &rt);
    if (st == CR_ERR_NO_DEVICE) {
        printf("SKIP: no OpenCL device\n");
        return 77;
    }
    CHECK_OK(st);
    if (!rt) return test_finish("test_cl_conv_fast");
    cr_conv_fast *cf = NULL;
    CHECK_OK(cr_conv_fast_create(rt, &cf));
    if (!cf) return test_finish("test_cl_conv_fast");

    /* geometry: TF "same" */
    cr_conv_geom g = cr_conv_geom_make(1, 1, 8, 7, 1, 4, 1);
    CHECK(g.ho == 8 && g.pad_y == 1 && g.wo == 7 && g.pad_x == 1);
    g = cr_conv_geom_make(1, 1, 8, 7, 1, 3, 2);
    CHECK(g.ho == 4 && g.pad_y == 0 && g.wo == 4 && g.pad_x == 1);

    static const shape tiny_cases[] = {{1, 5, 7, 11, 6, 3, 2}, {1, 7, 5, 9, 26, 1, 1}};
    static const shape s2_cases[] = {{2, 5, 7, 11, 6, 3, 2}, {1, 3, 6, 9, 4, 4, 2}};
    static const shape kc_cases[] = {{1, 5, 7, 11, 6, 1, 1}};
    static const shape full_cases[] = {
        {2, 5, 7, 11, 6, 1, 1}, {2, 5, 7, 11, 6, 3, 1}, {2, 5, 7, 11, 6, 4, 1}, {2, 5, 7, 11, 6, 3, 2},
        {1, 5, 8, 10, 7, 3, 2}, {2, 3, 5, 7, 3, 1, 2},  {1, 19, 13, 21, 25, 4, 1}, {3, 17, 9, 13, 18, 1, 1},
        {2, 6, 9, 8, 5, 4, 2},  {1, 18, 8, 37, 20, 3, 2}, /* stride 2: k = 4 odd / even, 36 columns and a tail */
    };
    char label[96];
    /* the tiles of the class of the 1x1 k=... cases are as good a start as any: every class is set alike */
    cr_conv_tiles defaults = cr_conv_fast_params(cf)->cls[CR_CC_TINY], tiles, *t = &tiles;
    defaults.fwd_variant = 0; /* whatever CLRESTORE_CONV_VARIANT says: sets 3 and 4 test the other */
    defaults.dw_variant = 0;
    defaults.fwd_eb_kib = 1024; /* whatever the device's default (0 on GPUs): sets 0 and 1 fuse pairs */
    const shape *cases = tiny ? tiny_cases : s2 ? s2_cases : kc ? kc_cases : full_cases;
    size_t ncases = tiny ? sizeof tiny_cases / sizeof tiny_cases[0]
                    : s2 ? sizeof s2_cases / sizeof s2_cases[0]
                    : kc ? sizeof kc_cases / sizeof kc_cases[0]
                         : sizeof full_cases / sizeof full_cases[0];
    for (int set = tiny ? 4 : kc ? 1 : 0; set < (s2 ? 1 : kc ? 2 : 5); set++) {
        *t = defaults;
        if (set >= 3) t->fwd_variant = 1; /* work-group tiled (conv_local.cl): forward and dX */
        /* the bias gradient by work-groups (conv_db_wg, a GPU's default): set 2, 4 work-items, so
         * that a channel of 77 to 273 pixels spreads over 2 to 5 groups; set 3, 256, more work-items
         * than a channel has pixels (the local-memory tree over idle ones) */
        if (set == 2) t->db_local = 4;
        if (set == 3) t->db_local = 256;
        if (set == 4) t->db_local = 4; /* the tiny shapes (oclgrind: a two-level tree in one group) */
        /* the weight gradient by work-group tiles (conv_ldw.cl): set 4, tiles that no shape
         * fills, 12 x 10 by 4 x 2 items in 4-pixel slices, in 2 to 4 chunks (partial sums); the
         * default 64 x 64 tiles run in the _local network tests (CLRESTORE_CONV_VARIANT=local) */
        if (set == 4) {
            t->dw_variant = 1;
            t->ld_mwg = 12, t->ld_nwg = 10, t->ld_kwg = 4, t->ld_mdimc = 4, t->ld_ndimc = 2;
        }
        if (set == 4) { /* tiles that no test shape fills: 24 x 20, slices of 5, 4 x 5 items, float2 */
            t->lm_mwg = 24, t->lm_nwg = 20, t->lm_kwg = 5, t->lm_mdimc = 4, t->lm_ndimc = 5, t->lm_vwm = 2;
        }
        if (set == 1) { /* every tail: odd tiles, one-pass dW reduction */
            t->fwd_tm = 5, t->fwd_vw = 4, t->fwd_local = 0, t->fwd_tm_fit = 0; /* padded channels */
            t->dw_tm = 3, t->dw_tn = 5, t->dw_vw = 4, t->dw_items_per_cu = 1;
            t->fwd_kc = 3; /* 1x1 forward: all channels per work-item, input in chunks of 3 and a tail */
        } else if (set == 2) { /* default tiles, dW split into tiny chunks, 1x1 weights in rows */
            t->dw_chunk_px = 32, t->dw_items_per_cu = 1;
            t->fwd_wblock = !defaults.fwd_wblock; /* the other 1x1 weight layout than sets 0 and 1 */
            t->fwd_kc = 4;                        /* with it, all channels per work-item */
        }
        cr_conv_fast_set_all(cf, t, "test");
        for (size_t i = 0; i < ncases; i++) {
            const shape *c = &cases[i];
            /* odd tiles: the shapes with every kind of tail, fewer programs to compile */
            if (set == 1 && !(i == 0 || i == 3 || i == 6 || i == 7 || i == 8)) continue;
            snprintf(label, sizeof label, "tiles %d: n%d %d->%d %dx%d k%d s%d", set, c->n, c->cin, c->cout, c->h,
                     c->w, c->k, c->s);
            run_case(rt, cf, c, label);
        }
        if (!s2 && !tiny && set <= 1) { /* default and odd tiles: VW tails, TM not dividing e or cout */
            snprintf(label, sizeof label, "tiles %d", set);
            check_fused_pair(rt, cf, 2, 5, 7, 11, 12, 7, label);
            check_fused_pair(rt, cf, 1, 3, 4, 5, 8, 1, label);
            /* e = 18: at TM 5 the expand's block is 6, the divisor nearest it, above TM */
            check_fused_pair(rt, cf, 1, 4, 5, 9, 18, 5, label);
        }
    }
    *t = defaults;
    t->fwd_eb_kib = 0; /* the parameters decide: no fusion at 0 */
    cr_conv_fast_set_all(cf, t, "test");
    CHECK(!cr_conv_fast_eb_fits(cf, 5, 12, 7));
    t->fwd_eb_kib = 1; /* 1 KiB: (5*12 + 12*7) floats fit, (200*12 + ...) do not */
    cr_conv_fast_set_all(cf, t, "test");
    CHECK(cr_conv_fast_eb_fits(cf, 5, 12, 7) && !cr_conv_fast_eb_fits(cf, 200, 12, 7));
    /* a bad shape is an argument error, not a crash */
    cr_conv_geom bad = cr_conv_geom_make(0, 1, 1, 1, 1, 1, 1);
    CHECK(cr_conv_fast_forward(cf, &bad, NULL, NULL, NULL, NULL, NULL, 0) == CR_ERR_ARG);
    check_local_limits(rt, cf);

    cr_conv_fast_free(cf);
    cr_runtime_free(rt);
    return test_finish("test_cl_conv_fast");
}
