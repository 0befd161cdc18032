/* The search behind `clrestore tune` (include/clrestore/tune.h, docs/tuning.md): for
 * each shape class a network uses, its costliest convolution (at the training crop and
 * a small batch) is run with candidate parameters; each candidate's forward, dX and dW
 * are first compared with the reference kernels (kernels/conv2d.cl via
 * CR_CONV_REFERENCE, run once per class) and rejected on a mismatch, then timed
 * (median of a few runs, after a warm-up that also compiles). The forward tiles are
 * scored by forward + dX (both run the forward kernel), the weight-gradient tiles by dW.
 * A coarse grid pruned by the register budget comes first, then neighbours of the best. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/arch.h"
#include "clrestore/log.h"
#include "clrestore/nn_params.h"
#include "clrestore/tune.h"
#include "conv_local.h"
#include "conv_tune.h"
#include "nn_internal.h"

enum { P_FWD, P_DX, P_DW };

/* The search's state of the classes: parameters, and seconds before / chosen. */
typedef struct tune_state {
    cr_conv_params params;
    double base_s[CR_CONV_NCLASSES][2], best_s[CR_CONV_NCLASSES][2];
    int tried, rejected;
} tune_state;

/* One class's problem: buffers, references and the representative layer. */
typedef struct problem {
    cr_conv_geom g;
    cr_conv2d cv;
    cr_tensor x, w, b, y, dy, dx, dw, db;
    float *ref[4];       /* forward y, dx, dw, db from the reference engine */
    size_t count[4];
    float *got;          /* download buffer, the largest count */
} problem;

static cr_status upload_random(cr_nn *nn, cr_tensor *t, uint64_t seed, double scale)
{
    size_t n = cr_tensor_count(t);
    double *u = malloc(n * sizeof *u);
    float *f = malloc(n * sizeof *f);
    cr_status st = CR_OK;
    if (!u || !f) st = cr_fail(CR_ERR_NOMEM, "out of memory for the tuning problem");
    if (st == CR_OK) {
        cr_philox_uniform(u, n, scale * 1.7320508, seed, 0); /* unit variance times scale */
        for (size_t i = 0; i < n; i++) f[i] = (float)u[i];
        st = cr_tensor_write_f32(nn, t, f);
    }
    free(u), free(f);
    return st;
}

static cr_status tensor_new(cr_nn *nn, int n, int c, int h, int w, const char *what, cr_tensor *t)
{
    return cr_tensor_alloc(nn, t, n, c, h, w, what);
}

static void problem_free(cr_nn *nn, problem *p)
{
    cr_tensor *ts[] = {&p->x, &p->w, &p->b, &p->y, &p->dy, &p->dx, &p->dw, &p->db};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) cr_tensor_release(nn, ts[i]);
    for (int i = 0; i < 4; i++) free(p->ref[i]);
    free(p->got);
    memset(p, 0, sizeof *p);
}

static cr_status problem_make(cr_nn *nn, const cr_conv_spec *c, int size, int batch, problem *p)
{
    cr_status st;
    memset(p, 0, sizeof *p);
    int h = size >> c->level;
    if (h < 1) h = 1;
    p->g = cr_conv_geom_make(batch, c->cin, h, h, c->cout, c->k, c->stride);
    p->cv = (cr_conv2d){c->cin, c->cout, c->k, c->stride, 0, CR_CONV_REFERENCE};
    CR_TRY(tensor_new(nn, batch, c->cin, h, h, "tune x", &p->x));
    CR_TRY(tensor_new(nn, c->cout, c->cin, c->k, c->k, "tune w", &p->w));
    CR_TRY(tensor_new(nn, 1, 1, 1, c->cout, "tune b", &p->b));
    CR_TRY(tensor_new(nn, batch, c->cout, p->g.ho, p->g.wo, "tune y", &p->y));
    CR_TRY(tensor_new(nn, batch, c->cout, p->g.ho, p->g.wo, "tune dy", &p->dy));
    CR_TRY(tensor_new(nn, batch, c->cin, h, h, "tune dx", &p->dx));
    CR_TRY(tensor_new(nn, c->cout, c->cin, c->k, c->k, "tune dw", &p->dw));
    CR_TRY(tensor_new(nn, 1, 1, 1, c->cout, "tune db", &p->db));
    CR_TRY(upload_random(nn, &p->x, 11, 1.0));
    CR_TRY(upload_random(nn, &p->w, 12, 1.0 / sqrt((double)c->cin * c->k * c->k)));
    CR_TRY(upload_random(nn, &p->b, 13, 0.1));
    CR_TRY(upload_random(nn, &p->dy, 14, 1.0));
    /* the references: forward (bias, no epilogue), dX, and dW and db from zero */
    const cr_tensor *outs[4] = {&p->y, &p->dx, &p->dw, &p->db};
    CR_TRY(cr_conv2d_forward(nn, &p->y, &p->x, NULL, &p->w, &p->b, &p->cv));
    CR_TRY(cr_nn_fill(nn, &p->dw, 0.0)); /* the backward accumulates */
    CR_TRY(cr_nn_fill(nn, &p->dx, 0.0));
    CR_TRY(cr_nn_fill(nn, &p->db, 0.0));
    CR_TRY(cr_conv2d_backward(nn, &p->dx, &p->dw, &p->db, NULL, &p->dy, NULL, &p->x, NULL, &p->w, &p->cv));
    size_t most = 0;
    for (int i = 0; i < 4; i++) {
        p->count[i] = cr_tensor_count(outs[i]);
        if (p->count[i] > most) most = p->count[i];
        p->ref[i] = malloc(p->count[i] * sizeof(float));
        if (!p->ref[i]) {
            st = cr_fail(CR_ERR_NOMEM, "out of memory for the tuning references");
            goto cleanup;
        }
        CR_TRY(cr_tensor_read_f32(nn, outs[i], p->ref[i]));
    }
    p->got = malloc(most * sizeof(float));
    if (!p->got) st = cr_fail(CR_ERR_NOMEM, "out of memory for the tuning references");
cleanup:
    return st;
}

static cr_status run_pass(cr_conv_fast *cf, problem *p, int pass)
{
    if (pass == P_FWD) return cr_conv_fast_forward(cf, &p->g, &p->y, &p->x, &p->w, &p->b, NULL, 0);
    if (pass == P_DX) return cr_conv_fast_backward_input(cf, &p->g, &p->dx, &p->dy, &p->w, 0);
    return cr_conv_fast_backward_weights(cf, &p->g, &p->dw, &p->db, &p->dy, &p->x);
}

/* max |got - ref| / max |ref| of one output after one run */
static double rel_error(const float *got, const float *ref, size_t n)
{
    double worst = 0, mag = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]), m = fabs((double)ref[i]);
        if (!(d <= worst)) worst = d; /* NaN counts as the worst */
        if (m > mag) mag = m;
    }
    return worst / mag;
}

/* The relative error of a pass's outputs after one run (dW and db from zero; the worse of
 * the two); the references are float sums in another order, so agreement is to rounding,
 * far below what a wrong index gives. */
static cr_status check_pass(cr_nn *nn, cr_conv_fast *cf, problem *p, int pass, double *err)
{
    cr_status st;
    const cr_tensor *outs[3] = {&p->y, &p->dx, &p->dw};
    if (pass == P_DW) CR_TRY(cr_nn_fill(nn, &p->dw, 0.0));
    if (pass == P_DW) CR_TRY(cr_nn_fill(nn, &p->db, 0.0));
    CR_TRY(run_pass(cf, p, pass));
    CR_TRY(cr_tensor_read_f32(nn, outs[pass], p->got));
    *err = rel_error(p->got, p->ref[pass], p->count[pass]);
    if (pass == P_DW) {
        CR_TRY(cr_tensor_read_f32(nn, &p->db, p->got));
        double e = rel_error(p->got, p->ref[3], p->count[3]);
        if (!(e <= *err)) *err = e;
    }
cleanup:
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static cr_status time_pass(cr_runtime *rt, cr_conv_fast *cf, problem *p, int pass, int reps, double *sec)
{
    cr_status st = CR_OK;
    double t[16];
    if (reps > 16) reps = 16;
    for (int r = 0; r < reps; r++) {
        double t0 = cr_now();
        CR_TRY(run_pass(cf, p, pass));
        CR_TRY(cr_finish(rt));
        t[r] = cr_now() - t0;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    *sec = t[reps / 2];
cleanup:
    return st;
}

#define TOL 1e-3

/* Seconds of the passes for candidate t in class cls (fwd + dX or dW), or INFINITY when
 * it does not compile, run or match the reference. */
typedef struct search {
    cr_runtime *rt;
    cr_nn *nn;
    cr_conv_fast *cf;
    const cr_conv_tune_opts *o;
    tune_state *res;
    cr_progress prog;
    int done;
    double t_start;
    double deadline; /* of the class being tuned: an equal share of what is left of the budget */
} search;

static double evaluate(search *s, problem *p, int cls, const cr_conv_tiles *t, int dw)
{
    cr_conv_params *P = cr_conv_fast_params(s->cf);
    P->cls[cls] = *t;
    double total = 0;
    s->res->tried++;
    for (int pass = dw ? P_DW : P_FWD; pass <= (dw ? P_DW : P_DX); pass++) {
        double err = 0, sec = 0;
        if (check_pass(s->nn, s->cf, p, pass, &err) != CR_OK) {
            cr_debug("tune: candidate failed to run: %s", cr_error_message());
            cr_error_clear();
            s->res->rejected++;
            return INFINITY;
        }
        if (!(err <= TOL)) {
            char line[512];
            cr_conv_tiles_format(t, line, sizeof line);
            cr_debug("tune: %s: %s rejected (relative error %.2g against the reference): %s", cr_conv_class_name(cls),
                     pass == P_FWD ? "forward" : pass == P_DX ? "dX" : "dW",
                     err, line);
            s->res->rejected++;
            return INFINITY;
        }
        if (time_pass(s->rt, s->cf, p, pass, s->o->quick ? 1 : 3, &sec) != CR_OK) {
            cr_error_clear();
            s->res->rejected++;
            return INFINITY;
        }
        total += sec;
    }
    cr_progress_update(&s->prog, ++s->done);
    return total;
}

static int over_budget(const search *s)
{
    return s->o->time_budget_s > 0 && cr_now() > s->deadline;
}

/* Live vector registers of a candidate (conv_tune_db.c's budget). */
static int fwd_live(const cr_conv_tiles *t, int vec) { return t->fwd_tm * ((t->fwd_vw + vec - 1) / vec) + 2; }
static int dw_live(const cr_conv_tiles *t, int vec)
{
    return t->dw_tm * t->dw_tn * ((t->dw_vw + vec - 1) / vec) + t->dw_tm + 1;
}

/* Tries candidates (n of them), keeping the best in *best / *best_s. */
static void try_list(search *s, problem *p, int cls, const cr_conv_tiles *cand, int n, int dw, cr_conv_tiles *best,
                     double *best_s)
{
    for (int i = 0; i < n && !over_budget(s); i++) {
        if (!memcmp(&cand[i], best, sizeof *best)) continue;
        double sec = evaluate(s, p, cls, &cand[i], dw);
        if (sec < *best_s) *best_s = sec, *best = cand[i];
    }
}

enum { MAXC = 64 };

/* The search's winner against the set it started from, timed again in alternation (7
 * each): on a shared machine one median of 3 picks noise as often as not. Keeps the
 * winner only when its median is at least 3% faster; returns the seconds of the one kept. */
static double confirm(search *s, problem *p, int cls, const cr_conv_tiles *base, cr_conv_tiles *best, int dw,
                      double best_s)
{
    if (!memcmp(base, best, sizeof *base) || s->o->quick) return best_s;
    cr_conv_params *P = cr_conv_fast_params(s->cf);
    double t[2][7];
    for (int r = 0; r < 7; r++)
        for (int k = 0; k < 2; k++) {
            P->cls[cls] = k ? *best : *base;
            t[k][r] = 0;
            for (int pass = dw ? P_DW : P_FWD; pass <= (dw ? P_DW : P_DX); pass++) {
                double sec = INFINITY;
                if (time_pass(s->rt, s->cf, p, pass, 1, &sec) != CR_OK) cr_error_clear();
                t[k][r] += sec;
            }
        }
    qsort(t[0], 7, sizeof t[0][0], cmp_double);
    qsort(t[1], 7, sizeof t[1][0], cmp_double);
    if (t[1][3] < 0.97 * t[0][3]) return t[1][3];
    cr_debug("tune: %s: %s winner not confirmed (%.2f ms against %.2f ms)", cr_conv_class_name(cls),
             dw ? "dW" : "forward", 1e3 * t[1][3], 1e3 * t[0][3]);
    *best = *base;
    return t[0][3];
}

/* The work-group tiled variant's candidate (lm_vwm: the widest of 4, 2, 1 that splits the
 * weight slice evenly), or 0 when the device or the divisibility rules refuse it. */
static int local_candidate(const cr_conv_tiles *from, const int g[5], const cr_device_desc *d, cr_conv_tiles *t)
{
    static const int vwms[] = {4, 2, 1};
    for (int i = 0; i < 3; i++) {
        *t = *from;
        t->fwd_variant = 1;
        t->lm_mwg = g[0], t->lm_nwg = g[1], t->lm_mdimc = g[2], t->lm_ndimc = g[3], t->lm_kwg = g[4];
        t->lm_vwm = vwms[i];
        cr_status st = cr_conv_local_check(t, d);
        cr_error_clear();
        if (st == CR_OK) return 1;
    }
    return 0;
}

/* The forward search of the work-group tiled variant (GPUs; any device whose set already
 * uses it): tiles of MWG channels x NWG pixels by MDIMC x NDIMC work-items, KWG-deep
 * slices, from narrow (the 1-, 25- and 32-channel layers) to CLBlast-sized 128 x 128, then
 * slice depths around the best and the register variant once. */
static void tune_local(search *s, problem *p, int cls, cr_conv_tiles *best, double *best_s)
{
    /* {lm_mwg, lm_nwg, lm_mdimc, lm_ndimc, lm_kwg} */
    static const int grid[][5] = {
        {32, 64, 8, 16, 16},  {32, 128, 8, 16, 16},  {64, 64, 16, 16, 16}, {64, 128, 16, 16, 16},
        {64, 128, 8, 16, 16}, {128, 64, 16, 16, 16}, {128, 128, 16, 16, 16}, {32, 256, 8, 32, 16},
        {16, 128, 4, 32, 16}, {8, 256, 2, 64, 16},   {16, 64, 4, 16, 16},    {128, 128, 16, 16, 8},
    }, grid_q[][5] = {{16, 64, 4, 16, 16}};
    const int(*G)[5] = s->o->quick ? grid_q : grid;
    int ng = s->o->quick ? 1 : (int)(sizeof grid / sizeof grid[0]), n = 0;
    const cr_device_desc *d = &s->rt->dev;
    cr_conv_tiles c[MAXC];
    for (int i = 0; i < ng; i++)
        if (local_candidate(best, G[i], d, &c[n])) n++;
    if (!s->o->quick) { /* the register-tiled variant with the set's register tiles */
        c[n] = *best;
        c[n++].fwd_variant = 0;
    }
    try_list(s, p, cls, c, n, 0, best, best_s);
    if (s->o->quick || best->fwd_variant != 1) return;
    n = 0;
    static const int kwgs[] = {8, 32};
    for (int i = 0; i < 2; i++) {
        int g[5] = {best->lm_mwg, best->lm_nwg, best->lm_mdimc, best->lm_ndimc, kwgs[i]};
        if (kwgs[i] != best->lm_kwg && local_candidate(best, g, d, &c[n])) n++;
    }
    try_list(s, p, cls, c, n, 0, best, best_s);
}

/* The weight gradient's work-group tiled candidates (conv_ldw.cl): MWG channels x NWG
 * (input channel, tap) rows by MDIMC x NDIMC work-items in KWG-pixel slices, those that
 * cr_conv_ldw_check passes on the device. Returns how many it wrote (at most room). */
static int ldw_candidates(search *s, const cr_conv_tiles *from, cr_conv_tiles *c, int room)
{
    /* {ld_mwg, ld_nwg, ld_kwg, ld_mdimc, ld_ndimc} */
    static const int grid[][5] = {
        {64, 64, 16, 16, 16}, {32, 64, 16, 8, 16},  {64, 128, 16, 16, 16}, {128, 64, 16, 16, 16},
        {32, 32, 16, 8, 8},   {128, 128, 16, 16, 16}, {64, 64, 32, 16, 16}, {32, 128, 16, 8, 16},
    }, grid_q[][5] = {{16, 16, 8, 4, 4}};
    const int(*G)[5] = s->o->quick ? grid_q : grid;
    int ng = s->o->quick ? 1 : (int)(sizeof grid / sizeof grid[0]), n = 0;
    for (int i = 0; i < ng && n < room; i++) {
        cr_conv_tiles t = *from;
        t.dw_variant = 1;
        t.ld_mwg = G[i][0], t.ld_nwg = G[i][1], t.ld_kwg = G[i][2], t.ld_mdimc = G[i][3], t.ld_ndimc = G[i][4];
        cr_status st = cr_conv_ldw_check(&t, &s->rt->dev);
        cr_error_clear();
        if (st == CR_OK) c[n++] = t;
    }
    return n;
}

static void tune_class(search *s, problem *p, int cls, const cr_conv_isa *isa)
{
    tune_state *r = s->res;
    cr_conv_tiles base = r->params.cls[cls], best = base, c[MAXC];
    int vec = isa->vec_floats, regs = isa->registers, n;
    int gpu = (s->rt->dev.type & CL_DEVICE_TYPE_GPU) != 0, local = gpu || base.fwd_variant == 1;
    double best_s = evaluate(s, p, cls, &base, 0);
    r->base_s[cls][0] = best_s;
    static const int tms[] = {4, 8, 12, 16, 24}, vws[] = {8, 16}, tms_q[] = {8}, vws_q[] = {8};
    const int *TM = s->o->quick ? tms_q : tms, *VW = s->o->quick ? vws_q : vws;
    int ntm = s->o->quick ? 1 : 5, nvw = s->o->quick ? 1 : 2;
    if (local) {
        tune_local(s, p, cls, &best, &best_s);
        goto confirm_forward;
    }
    /* forward: the baseline, then TM x VW within 1.25 x the registers */
    n = 0;
    for (int i = 0; i < ntm; i++)
        for (int j = 0; j < nvw; j++) {
            cr_conv_tiles t = base;
            t.fwd_tm = TM[i], t.fwd_vw = VW[j];
            if (fwd_live(&t, vec) * 4 <= regs * 5 && n < MAXC) c[n++] = t;
        }
    try_list(s, p, cls, c, n, 0, &best, &best_s);
    if (!s->o->quick) { /* refine: neighbouring TM, the work-group size */
        n = 0;
        static const int dtm[] = {-2, 2}, locals[] = {0, 8, 32};
        for (int i = 0; i < 2; i++) {
            cr_conv_tiles t = best;
            t.fwd_tm += dtm[i];
            if (t.fwd_tm >= 1 && fwd_live(&t, vec) * 4 <= regs * 5) c[n++] = t;
        }
        for (int i = 0; i < 3; i++) {
            cr_conv_tiles t = best;
            t.fwd_local = locals[i];
            c[n++] = t;
        }
        /* all output channels per work-item (fwd_kc), which won on the 1x1-deep forward only */
        if (cls == CR_CC_1X1_NARROW || cls == CR_CC_1X1_WIDE || cls == CR_CC_1X1_DEEP) {
            static const int kcs[] = {0, 64, 128, 256};
            for (int i = 0; i < 4; i++) {
                cr_conv_tiles t = best;
                t.fwd_kc = kcs[i];
                if (t.fwd_kc != best.fwd_kc) c[n++] = t;
            }
        }
        try_list(s, p, cls, c, n, 0, &best, &best_s);
    }
confirm_forward:
    best_s = confirm(s, p, cls, &base, &best, 0, best_s);
    r->best_s[cls][0] = best_s;
    /* weight gradient: tiles, then the pixel split */
    cr_conv_tiles dbase = best;
    double dbest = evaluate(s, p, cls, &best, 1);
    r->base_s[cls][1] = dbest;
    static const int dtile[][2] = {{2, 4}, {2, 8}, {4, 3}, {4, 4}, {4, 6}, {8, 3}}, dtile_q[][2] = {{2, 4}};
    const int(*DT)[2] = s->o->quick ? dtile_q : dtile;
    int ndt = s->o->quick ? 1 : 6;
    n = 0;
    for (int i = 0; i < ndt; i++)
        for (int j = 0; j < nvw; j++) {
            cr_conv_tiles t = best;
            t.dw_variant = 0;
            t.dw_tm = DT[i][0], t.dw_tn = DT[i][1], t.dw_vw = s->o->quick ? 8 : vws[j];
            /* GPUs: at most 128 accumulators per work-item (NVIDIA allows 255 registers of a
             * thread, and the occupancy falls well before); CPUs: 1.1 x the vector registers */
            int fits = gpu ? t.dw_tm * t.dw_tn * t.dw_vw <= 128 : dw_live(&t, vec) * 10 <= regs * 11;
            if (fits && n < MAXC) c[n++] = t;
        }
    if (local) /* and the weight gradient's work-group tiles */
        n += ldw_candidates(s, &best, c + n, MAXC - n);
    try_list(s, p, cls, c, n, 1, &best, &dbest);
    if (!s->o->quick) {
        n = 0;
        /* 1024-pixel chunks won on the 1x1 dW of both PoCL entries (docs/tuning.md) */
        static const int items[] = {4, 64}, chunk[] = {1024, 4096, 16384};
        for (int i = 0; i < 2; i++) {
            cr_conv_tiles t = best;
            t.dw_items_per_cu = items[i];
            c[n++] = t;
        }
        for (int i = 0; i < 3; i++) {
            cr_conv_tiles t = best;
            t.dw_chunk_px = chunk[i];
            if (t.dw_chunk_px != best.dw_chunk_px) c[n++] = t;
        }
        static const int db_locals[] = {1, 64, 256}; /* the bias gradient, a GPU's concern */
        for (int i = 0; gpu && i < 3; i++) {
            cr_conv_tiles t = best;
            t.db_local = db_locals[i];
            if (t.db_local != best.db_local) c[n++] = t;
        }
        try_list(s, p, cls, c, n, 1, &best, &dbest);
    }
    dbest = confirm(s, p, cls, &dbase, &best, 1, dbest);
    r->best_s[cls][1] = dbest;
    r->params.cls[cls] = best;
}

/* The costliest convolution of each class at this size (MACs x pixels). */
static void pick_layers(const cr_conv_spec *c, int nc, int size, int rep[CR_CONV_NCLASSES])
{
    double most[CR_CONV_NCLASSES] = {0};
    for (int k = 0; k < CR_CONV_NCLASSES; k++) rep[k] = -1;
    for (int i = 0; i < nc; i++) {
        int cls = cr_conv_class_of(c[i].cin, c[i].cout, c[i].k, c[i].stride);
        double side = (double)(size >> c[i].level), px = side * side / (c[i].stride * c[i].stride);
        double cost = px * c[i].cin * c[i].cout * c[i].k * c[i].k;
        if (rep[cls] < 0 || cost > most[cls]) rep[cls] = i, most[cls] = cost;
    }
}

_Static_assert((int)CR_CONV_NCLASSES <= (int)CR_TUNE_MAX_CLASSES, "tune.h has room for every class");

void cr_conv_params_report(const cr_device_desc *d, cr_conv_param_row *rows, int *n)
{
    cr_conv_params p;
    cr_conv_params_resolve(d, &p);
    for (int c = 0; c < CR_CONV_NCLASSES; c++) {
        snprintf(rows[c].cls, sizeof rows[c].cls, "%s", cr_conv_class_name(c));
        cr_conv_tiles_format(&p.cls[c], rows[c].params, sizeof rows[c].params);
        snprintf(rows[c].source, sizeof rows[c].source, "%s", p.source[c]);
    }
    *n = CR_CONV_NCLASSES;
}

void cr_conv_params_cache_file(const cr_device_desc *d, char *buf, size_t len)
{
    if (cr_conv_cache_path(d, buf, len)) buf[0] = '\0';
}

/* The cache after tuning: the classes tuned now, and those an existing cache had. */
static cr_status write_cache(cr_runtime *rt, const tune_state *ts, unsigned tuned, cr_conv_tune_result *out)
{
    char path[4096], notes[CR_CONV_NCLASSES][160];
    const char *note[CR_CONV_NCLASSES] = {0};
    if (cr_conv_cache_path(&rt->dev, path, sizeof path))
        return cr_fail(CR_ERR_IO, "tune: no cache directory (set XDG_CACHE_HOME, HOME or CLRESTORE_TUNE_DIR)");
    unsigned mask = tuned;
    for (int c = 0; c < CR_CONV_NCLASSES; c++) {
        if (!strncmp(ts->params.source[c], "cache ", 6)) mask |= 1u << c;
        if (!(tuned & (1u << c))) continue;
        snprintf(notes[c], sizeof notes[c], "fwd+dX %.2f ms, dW %.2f ms (before %.2f, %.2f)",
                 1e3 * ts->best_s[c][0], 1e3 * ts->best_s[c][1], 1e3 * ts->base_s[c][0], 1e3 * ts->base_s[c][1]);
        note[c] = notes[c];
    }
    cr_status st = cr_conv_params_write(path, &rt->dev, &ts->params, mask, note);
    if (st == CR_OK) snprintf(out->path, sizeof out->path, "%s", path);
    return st;
}

cr_status cr_conv_tune(cr_runtime *rt, const cr_arch *a, const cr_conv_tune_opts *o, cr_conv_tune_result *out)
{
    cr_status st;
    cr_conv_spec *convs = NULL;
    int nc = 0, rep[CR_CONV_NCLASSES];
    problem p;
    memset(&p, 0, sizeof p);
    memset(out, 0, sizeof *out);
    tune_state *ts = calloc(1, sizeof *ts);
    if (!ts) return cr_fail(CR_ERR_NOMEM, "out of memory for the tuner");
    search s = {rt, NULL, NULL, o, ts, {0}, 0, cr_now(), 0};
    unsigned tuned = 0;
    int size = o->size > 0 ? o->size : (o->quick ? 32 : 192), batch = o->batch > 0 ? o->batch : (o->quick ? 1 : 4);
    if (size % (1 << a->levels)) {
        st = cr_fail(CR_ERR_ARG, "tune: --size %d is not a multiple of 2^levels = %d", size, 1 << a->levels);
        goto cleanup;
    }
    CR_TRY(cr_arch_convs(a, &convs, &nc));
    pick_layers(convs, nc, size, rep);
    CR_TRY(cr_nn_create(rt, CR_FLOAT, &s.nn));
    CR_TRY(cr_conv_fast_create(rt, &s.cf));
    ts->params = *cr_conv_fast_params(s.cf);
    cr_conv_isa isa = cr_conv_isa_of(&rt->dev);
    /* the progress total: the grid sizes above (an upper bound; pruned ones are skipped) */
    int gpu_grid = ts->params.cls[0].fwd_variant == 1 || (rt->dev.type & CL_DEVICE_TYPE_GPU);
    int per_class = o->quick ? (gpu_grid ? 5 : 4) : 2 + (gpu_grid ? 15 + 8 + 3 : 10 + 5) + 12 + 4, nclasses = 0;
    for (int k = 0; k < CR_CONV_NCLASSES; k++) nclasses += rep[k] >= 0;
    cr_progress_begin(&s.prog, "tune", "candidates", (int64_t)per_class * nclasses);
    for (int k = 0, left = nclasses; k < CR_CONV_NCLASSES; k++) {
        if (rep[k] < 0) continue;
        const cr_conv_spec *c = &convs[rep[k]];
        double now = cr_now();
        s.deadline = now + (o->time_budget_s - (now - s.t_start)) / left--;
        cr_conv_tune_class *row = &out->cls[out->nclasses];
        snprintf(row->cls, sizeof row->cls, "%s", cr_conv_class_name(k));
        snprintf(row->layer, sizeof row->layer, "%s", c->name);
        cr_conv_tiles_format(&ts->params.cls[k], row->before, sizeof row->before);
        CR_TRY(problem_make(s.nn, c, size, batch, &p));
        row->n = p.g.n, row->cin = p.g.cin, row->cout = p.g.cout, row->h = p.g.h, row->w = p.g.w;
        row->k = p.g.k, row->stride = p.g.s;
        row->flop = 2.0 * p.g.n * p.g.ho * p.g.wo * (double)p.g.cout * p.g.cin * p.g.k * p.g.k;
        tune_class(&s, &p, k, &isa);
        if (!isfinite(ts->best_s[k][0]) || !isfinite(ts->best_s[k][1])) {
            st = cr_fail(CR_ERR_INTERNAL, "tune: no candidate for %s (%s) matched the reference kernels",
                         cr_conv_class_name(k), c->name);
            goto cleanup;
        }
        for (int i = 0; i < 2; i++) row->base_s[i] = ts->base_s[k][i], row->best_s[i] = ts->best_s[k][i];
        cr_conv_tiles_format(&ts->params.cls[k], row->params, sizeof row->params);
        tuned |= 1u << k;
        out->nclasses++;
        problem_free(s.nn, &p);
    }
    out->tried = ts->tried, out->rejected = ts->rejected;
    cr_progress_end(&s.prog);
    if (o->write) CR_TRY(write_cache(rt, ts, tuned, out));
    out->seconds = cr_now() - s.t_start;
cleanup:
    cr_progress_end(&s.prog);
    problem_free(s.nn, &p);
    cr_conv_fast_free(s.cf);
    cr_nn_free(s.nn);
    free(convs);
    free(ts);
    return st;
}
