/* snr's bias estimate against ground truth (issue 8). simulate draws the
 * same micrograph (same --seed: specimen, CTF, ice) K times with independent
 * Poisson noise (--noise-seed). Each draw goes through snr's own chain
 * (cr_snr_measure_pair: pre-processing with the model's band limit and phase
 * flip, the network on both binned halves, cr_snr_compute), and the 2K
 * pre-processed and denoised halves feed the ground-truth sums of
 * cr_snr_truth (snr.h): the truth T through the same pre-processing, D̄ the
 * mean network output, var_B(truth) = var(D̄ - S) less the noise that the
 * mean of 2K outputs still carries. The mean over draws of snr's var_N
 * (denoised), var_B and SNBR must agree with the truth-based values within
 * `--tolerance` (relative, default 0.10: about 4 standard errors of the mean
 * over the 8 draws of this small case, while the wrong formulas differ by far
 * more: var_B = var_S alone +80%, SNBR = var_S/var_B +30%; docs/snr.md), and
 * var_S within 5% as in test_cl_snr_truth. Draw 0 is also run through
 * `clrestore snr` to confirm that its CSV holds the in-process numbers.
 *
 * Without --model it first trains a tiny network for ~20 s, enough to leave
 * noise, bias and signal all of comparable size (a barely trained one
 * outputs almost nothing, and its bias is just the missing signal). The
 * full experiment of docs/snr.md is bench/bias_truth.sh, which runs this
 * program with a better-trained model, larger micrographs and more draws:
 *   test_slow_bias_truth [--model M.h5] [--draws K] [--size WxH] [--seed N]
 *                        [--tolerance REL] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clrestore/checkpoint.h"
#include "clrestore/denoise.h"
#include "clrestore/mrc.h"
#include "clrestore/snr.h"
#include "clrestore/snr_measure.h"
#include "clrestore/star.h"
#include "testutil.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

typedef struct run_ctx {
    const char *bin, *model;
    char dir[64];
    int draws;
    char size[32];
    int seed;
    cr_checkpoint *ck;
    cr_denoiser d;
    float *truth_raw;     /* draw 0's noise-free image, to check every draw has the same signal */
    cr_snr_truth *truth;
    double sum[4], sum2[4]; /* snr's var_s, var_b, var_n_den, snbr over draws */
    int bx, by;
} run_ctx;

/* One noise draw: simulate it, measure it as snr does, add its halves to the
 * truth sums. */
static void one_draw(run_ctx *c, int k)
{
    char cmd[2048], path[1024];
    snprintf(cmd, sizeof cmd,
             "'%s' simulate -o '%s/draw' --count 1 --size %s --apix 1.5 --seed %d --noise-seed %d --quiet",
             c->bin, c->dir, c->size, c->seed, 1000 + k);
    CHECK(system(cmd) == 0);
    cr_star_file *star = NULL;
    cr_micrograph_row *rows = NULL;
    cr_mrc_header he, ho, ht;
    float *e = NULL, *o = NULL, *t = NULL, *tp = NULL;
    cr_snr_pair p = {0};
    int n = 0;
    snprintf(path, sizeof path, "%s/draw/micrographs.star", c->dir);
    CHECK_OK(cr_star_read(path, &star));
    if (star) CHECK_OK(cr_star_micrographs(star, 1, &rows, &n));
    snprintf(path, sizeof path, "%s/draw/micrographs/sim_0001_EVN.mrc", c->dir);
    CHECK_OK(cr_mrc_read(path, &he, &e));
    snprintf(path, sizeof path, "%s/draw/micrographs/sim_0001_ODD.mrc", c->dir);
    CHECK_OK(cr_mrc_read(path, &ho, &o));
    snprintf(path, sizeof path, "%s/draw/truth/sim_0001.mrc", c->dir);
    CHECK_OK(cr_mrc_read(path, &ht, &t));
    if (n < 1 || !e || !o || !t) goto cleanup;
    size_t np = (size_t)he.nx * he.ny;
    if (k == 0) {
        c->truth_raw = t, t = NULL;
    } else {
        CHECK_MSG(memcmp(t, c->truth_raw, np * sizeof(float)) == 0, "draw %d has another signal", k);
    }
    cr_ctf_params ctf;
    cr_preprocess_opts po;
    cr_snr_preprocess_opts(&rows[0], he.apix, c->ck->max_resolution, c->ck->phaseflip != 0, &ctf, &po);
    cr_snr_stats s;
    CHECK_OK(cr_snr_measure_pair(&c->d, e, o, he.nx, he.ny, &po, 0, &p, &s));
    if (!p.de) goto cleanup;
    if (k == 0) {
        int bx, by;
        CHECK_OK(cr_preprocess(c->d.fw, c->truth_raw, he.nx, he.ny, &po, &tp, &bx, &by, NULL));
        if (tp) CHECK_OK(cr_snr_truth_create(tp, (size_t)bx * by, &c->truth));
        c->bx = bx, c->by = by;
        /* the CLI on the same pair: its CSV row must be these numbers */
        snprintf(cmd, sizeof cmd, "'%s' snr -p '%s' -m '%s/draw/micrographs.star' -o '%s/snr.csv' --quiet", c->bin,
                 c->model, c->dir, c->dir);
        CHECK(system(cmd) == 0);
        snprintf(path, sizeof path, "%s/snr.csv", c->dir);
        FILE *fp = fopen(path, "r");
        double v[7] = {0};
        CHECK(fp && fscanf(fp, "%*[^\n]\n%*[^,],%lf,%lf,%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3], &v[4],
                           &v[5], &v[6]) == 7);
        if (fp) fclose(fp);
        CHECK_REL(v[0], s.var_s, 1e-6);
        CHECK_REL(v[3], s.var_b, 1e-6);
        CHECK_REL(v[6], s.snbr, 1e-6);
    }
    if (c->truth) cr_snr_truth_add(c->truth, p.re, p.de), cr_snr_truth_add(c->truth, p.ro, p.dd);
    double x[4] = {s.var_s, s.var_b, s.var_n_den, s.snbr};
    for (int i = 0; i < 4; i++) c->sum[i] += x[i], c->sum2[i] += x[i] * x[i];
    printf("draw %2d: var_S %.5f  var_N(den) %.5f  var_B %.5f  SNBR %.4f\n", k, s.var_s, s.var_n_den, s.var_b,
           s.snbr);
cleanup:
    cr_snr_pair_free(&p);
    free(e), free(o), free(t), free(tp);
    cr_micrograph_rows_free(rows, n);
    cr_star_free(star);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/draw'", c->dir);
    CHECK(system(cmd) == 0);
}

int main(int argc, char **argv)
{
    run_ctx c = {0};
    c.bin = getenv("CLRESTORE_BIN");
    c.draws = 8, c.seed = 5;
    snprintf(c.size, sizeof c.size, "512x512");
    double tol = 0.10, t0 = now();
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 == argc) {
            fprintf(stderr, "test_slow_bias_truth: %s needs a value\n", argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "--model")) c.model = argv[i + 1];
        else if (!strcmp(argv[i], "--draws")) c.draws = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--size")) snprintf(c.size, sizeof c.size, "%s", argv[i + 1]);
        else if (!strcmp(argv[i], "--seed")) c.seed = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--tolerance")) tol = atof(argv[i + 1]);
        else {
            fprintf(stderr, "test_slow_bias_truth: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!c.bin) {
        printf("SKIP: CLRESTORE_BIN not set\n");
        return 77;
    }
    if (c.draws < 2) return fprintf(stderr, "test_slow_bias_truth: --draws must be at least 2\n"), 2;
    snprintf(c.dir, sizeof c.dir, "/tmp/clrestore-biastruth-XXXXXX");
    if (!mkdtemp(c.dir)) return 1;
    char cmd[2048], model[1024];
    if (!c.model) {
        /* the reduced demo's data (ci/demo.sh, DEMO_QUICK=1), a lighter network trained longer */
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && '%s' simulate -o train --count 3 --size 512x512 --apix 1.5 --seed 1 --quiet && "
                 "'%s' prepare -m train/micrographs.star -o t.h5 --patch 64 --validation-fraction 0.125 --quiet && "
                 "'%s' train -t t.h5 -o model --levels 2 --blocks 1 --filters 16 --expansion 2 --epochs 4 "
                 "--batches-per-epoch 40 --batch-size 8 --lr 2e-3 --quiet && rm -rf train t.h5",
                 c.dir, c.bin, c.bin, c.bin);
        CHECK(system(cmd) == 0);
        snprintf(model, sizeof model, "%s/model/last.h5", c.dir);
        c.model = model;
    }
    double t_train = now() - t0;
    cr_runtime *rt = NULL;
    cr_nn *nn = NULL;
    cr_waunet *net = NULL;
    cr_fourier *fw = NULL;
    CHECK_OK(cr_checkpoint_load(c.model, &c.ck));
    CHECK_OK(cr_runtime_create(NULL, &rt));
    if (c.ck && rt) CHECK_OK(cr_nn_create(rt, CR_FLOAT, &nn));
    if (nn) CHECK_OK(cr_waunet_create(nn, &c.ck->arch, &net));
    if (net) CHECK_OK(cr_waunet_upload(net, c.ck));
    if (net) CHECK_OK(cr_fourier_create(rt, &fw));
    if (fw) CHECK_OK(cr_denoiser_init(&c.d, fw, net));
    if (fw) {
        cr_arch *a = &c.ck->arch;
        printf("model %s: levels %d, blocks %d, filters %d; max resolution %.2f A, phase flip %d\n", c.model,
               a->levels, a->blocks, a->filters, c.ck->max_resolution, c.ck->phaseflip);
        for (int k = 0; k < c.draws; k++) one_draw(&c, k);
    }
    if (c.truth && c.truth->halves == 2 * c.draws) {
        cr_snr_truth_stats tr;
        cr_snr_truth_result(c.truth, &tr);
        double m[4], se[4], K = c.draws;
        for (int i = 0; i < 4; i++) {
            m[i] = c.sum[i] / K;
            se[i] = sqrt(fmax(c.sum2[i] / K - m[i] * m[i], 0) / (K - 1));
        }
        printf("micrograph %s (binned %dx%d), seed %d, %d noise draws (%d denoised halves), %.0f s "
               "(training %.0f s)\n",
               c.size, c.bx, c.by, c.seed, c.draws, 2 * c.draws, now() - t0, t_train);
        printf("truth: var_S %.5f, var_N(den) %.5f, var(Dbar - S) %.5f - var_N(den)/%d = var_B %.5f; SNBR %.4f, "
               "var_S/var_B %.3f\n",
               tr.var_s, tr.var_n_den, tr.var_dbar_s, 2 * c.draws, tr.var_b, tr.snbr, tr.signal_to_bias);
        printf("snr (mean +- s.e. over draws): var_S %.5f +- %.5f, var_N(den) %.5f +- %.5f, var_B %.5f +- %.5f, "
               "SNBR %.4f +- %.4f\n",
               m[0], se[0], m[2], se[2], m[1], se[1], m[3], se[3]);
        printf("ratio snr/truth: var_S %.3f, var_N(den) %.3f, var_B %.3f, SNBR %.3f\n", m[0] / tr.var_s,
               m[2] / tr.var_n_den, m[1] / tr.var_b, m[3] / tr.snbr);
        CHECK_REL(m[0], tr.var_s, 0.05);
        CHECK_REL(m[2], tr.var_n_den, tol);
        CHECK_REL(m[1], tr.var_b, tol);
        CHECK_REL(m[3], tr.snbr, tol);
    } else {
        CHECK(!"every draw measured");
    }
    cr_snr_truth_free(c.truth);
    free(c.truth_raw);
    cr_fourier_free(fw);
    cr_waunet_free(net);
    cr_nn_free(nn);
    cr_runtime_free(rt);
    cr_checkpoint_free(c.ck);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", c.dir);
    CHECK(system(cmd) == 0);
    return test_finish("test_slow_bias_truth");
}
