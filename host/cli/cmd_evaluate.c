/* clrestore evaluate: true SNR against simulate's noise-free images for the
 * raw sum, linear baselines and the network (docs/evaluate.md); the work is
 * in host/pipeline/evaluate.c. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clrestore/checkpoint.h"
#include "clrestore/denoise.h"
#include "clrestore/evaluate.h"
#include "clrestore/fileutil.h"
#include "clrestore/log.h"
#include "clrestore/plot.h"
#include "clrestore/star.h"

static const char evaluate_usage[] =
    "usage: clrestore evaluate -m MICS.star -o EVAL.csv [-p MODEL.h5] [options]\n\n"
    "For simulated data with ground truth (clrestore simulate): the true SNR, in the band\n"
    "1/200..1/max-resolution 1/A, of the full sum and of each denoiser's version of it,\n"
    "against the noise-free image through the same pre-processing: SNR = var(a T) / var(X - a T),\n"
    "a the regression coefficient of X on T (docs/evaluate.md). Methods: raw (the sum), even\n"
    "(the even half alone), gaussian (the best Gaussian low-pass, its sigma searched against the\n"
    "truth: an oracle), wiener_eo (ring Wiener filter from the even/odd spectra, no truth),\n"
    "wiener_oracle (ring Wiener filter from the true signal and noise spectra) and denoised (the\n"
    "network, with -p). One CSV row per micrograph; medians and gains over the raw sum on stdout.\n\n"
    "  -m, --micrographs STAR   simulate's micrographs.star (names of the full sums, CTFs)\n"
    "  -o, --output EVAL.csv    per-micrograph table\n"
    "  -p, --model MODEL.h5     network to evaluate (its max resolution and phase flip are used)\n"
    "      --truth DIR          noise-free images DIR/<stem>.mrc (default: truth/ beside the STAR)\n"
    "      --plot PREFIX        PREFIX_evaluate.png: true SNR per micrograph and method\n"
    "      --max-resolution A   band limit and binning without -p (default 4.5)\n"
    "      --suffixes A,B,C     full-sum, even and odd suffixes (default DW,EVN,ODD)\n"
    "      --no-phaseflip       no CTF phase flip\n"
    "      --max-micrographs N  use at most N micrographs\n"
    "      --tile N             network tile core (default: from device memory)\n";

static int run_evaluate(int argc, char **argv, const cr_global_opts *g)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'p'}, {"micrographs", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'}, {"truth", required_argument, NULL, 1000},
        {"plot", required_argument, NULL, 1001}, {"max-resolution", required_argument, NULL, 1002},
        {"suffixes", required_argument, NULL, 1003}, {"no-phaseflip", no_argument, NULL, 1004},
        {"max-micrographs", required_argument, NULL, 1005}, {"tile", required_argument, NULL, 1006},
        {NULL, 0, NULL, 0}};
    const char *model = NULL, *star_path = NULL, *out = NULL, *plot = NULL;
    int no_phaseflip = 0, max_mics = 0, have_res = 0, c;
    cr_eval_opts eo;
    cr_eval_opts_default(&eo);
    optind = 1;
    opterr = 0;
    while ((c = cr_cli_getopt(argc, argv, ":p:m:o:", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'p': model = optarg; break;
        case 'm': star_path = optarg; break;
        case 'o': out = optarg; break;
        case 1000: eo.truth_dir = optarg; break;
        case 1001: plot = optarg; break;
        case 1002: bad = cr_opt_double("evaluate", "--max-resolution", optarg, 0.1, 100, &eo.max_resolution), have_res = 1; break;
        case 1003: eo.suffixes = optarg; break;
        case 1004: no_phaseflip = 1; break;
        case 1005: bad = cr_opt_int("evaluate", "--max-micrographs", optarg, 1, 100000000, &max_mics); break;
        case 1006: bad = cr_opt_int("evaluate", "--tile", optarg, 8, 65536, &eo.tile); break;
        case ':': return cr_cli_usage_error("evaluate", "%s needs a value", argv[optind - 1]);
        default: return cr_cli_usage_error("evaluate", "unknown option '%s'", argv[optind - 1]);
        }
        if (bad) return CR_EXIT_USAGE;
    }
    if (optind < argc) return cr_cli_usage_error("evaluate", "unexpected argument '%s'", argv[optind]);
    if (!star_path || !out) return cr_cli_usage_error("evaluate", "-m MICS.star and -o EVAL.csv are required");
    if (model && have_res)
        return cr_cli_usage_error("evaluate", "--max-resolution is the model's with -p; give one of them");

    int rc = CR_EXIT_OK, n = 0, done = 0;
    cr_checkpoint *ck = NULL;
    cr_denoiser_env *env = NULL;
    cr_star_file *star = NULL;
    cr_micrograph_row *rows = NULL;
    cr_eval_result *res = NULL;
    cr_atomic_file f = {0};
    if ((model && cr_checkpoint_load(model, &ck) != CR_OK) || cr_star_read(star_path, &star) != CR_OK) {
        rc = cr_cli_fail();
        goto cleanup;
    }
    if (ck) eo.max_resolution = ck->max_resolution, eo.model_apix = ck->apix;
    eo.phaseflip = !no_phaseflip && (!ck || ck->phaseflip != 0);
    if (cr_star_micrographs(star, eo.phaseflip, &rows, &n) != CR_OK ||
        cr_denoiser_env_create(g->device, ck, model, 1, &env) != CR_OK) {
        rc = cr_cli_fail();
        goto cleanup;
    }
    if (max_mics > 0 && n > max_mics) n = max_mics;
    if (!(res = calloc((size_t)n + 1, sizeof *res))) {
        rc = CR_EXIT_FAIL;
        goto cleanup;
    }
    if (cr_atomic_open(&f, out) != CR_OK) {
        rc = cr_cli_fail();
        goto cleanup;
    }
    fprintf(f.fp, "micrograph");
    for (int k = 0; k < CR_EVAL_COUNT; k++) fprintf(f.fp, ",snr_%s", cr_eval_names[k]);
    fprintf(f.fp, ",gaussian_sigma_A\n");
    cr_progress pr;
    cr_progress_begin(&pr, "evaluate", "mic", n);
    for (int i = 0; i < n; i++) {
        if (cr_evaluate_row(env->fw, ck ? &env->den : NULL, star_path, &rows[i], &eo, &res[done]) != CR_OK) {
            cr_progress_end(&pr);
            rc = cr_cli_fail();
            cr_progress_begin(&pr, "evaluate", "mic", n);
            continue;
        }
        fprintf(f.fp, "%s", rows[i].name);
        for (int k = 0; k < CR_EVAL_COUNT; k++) fprintf(f.fp, ",%.6g", res[done].snr[k]);
        fprintf(f.fp, ",%.4g\n", res[done].gauss_sigma);
        done++;
        cr_progress_update(&pr, i + 1);
    }
    cr_progress_end(&pr);
    if (done == 0 || cr_atomic_commit(&f) != CR_OK) {
        if (done == 0 && rc == CR_EXIT_FAIL) goto cleanup;
        if (done == 0) cr_fail(CR_ERR_FORMAT, "%s: no micrograph could be evaluated", star_path);
        rc = cr_cli_fail();
        goto cleanup;
    }
    double med[CR_EVAL_COUNT], gain[CR_EVAL_COUNT];
    cr_evaluate_summary(res, done, med, gain);
    printf("%d micrographs, true SNR in 1/%g..1/%g 1/A, median (gain over the raw sum):", done, eo.highpass,
           eo.max_resolution);
    for (int k = 0; k < CR_EVAL_COUNT; k++)
        if (!isnan(med[k])) printf("%s %s %.4g (x%.3g)", k ? ";" : "", cr_eval_names[k], med[k], gain[k]);
    printf("\n");
    if (ck) {
        int wins = 0;
        for (int i = 0; i < done; i++) wins += res[i].snr[CR_EVAL_DENOISED] > res[i].snr[CR_EVAL_WIENER_EO];
        printf("denoised / wiener_eo: x%.3g (ratio of median gains); denoised is higher in %d of %d micrographs\n",
               gain[CR_EVAL_DENOISED] / gain[CR_EVAL_WIENER_EO], wins, done);
    }
    if (plot) {
        static const int shown[] = {CR_EVAL_RAW, CR_EVAL_GAUSS, CR_EVAL_WIENER_EO, CR_EVAL_WIENER_ORACLE,
                                    CR_EVAL_DENOISED};
        static const char *const label[] = {"raw sum", "best Gaussian (oracle)", "Wiener (even/odd)",
                                            "Wiener (oracle)", "denoised"};
        char pp[4200];
        double *v = malloc(sizeof(double) * (size_t)done * 6);
        cr_plot_series ser[5];
        int ns = 0;
        for (int j = 0; v && j < 5; j++) {
            if (shown[j] == CR_EVAL_DENOISED && !ck) continue;
            for (int i = 0; i < done; i++) v[5 * done + i] = i + 1, v[j * done + i] = res[i].snr[shown[j]];
            ser[ns++] = (cr_plot_series){v + 5 * done, v + j * done, done, label[j]};
        }
        snprintf(pp, sizeof pp, "%s_evaluate.png", plot);
        if (!v || cr_plot_lines(pp, "True SNR against the noise-free image", "micrograph", "true SNR", 1, ser,
                                ns) != CR_OK)
            rc = cr_cli_fail();
        free(v);
    }
cleanup:
    cr_atomic_abort(&f);
    free(res);
    cr_denoiser_env_free(env);
    cr_micrograph_rows_free(rows, n);
    cr_star_free(star);
    cr_checkpoint_free(ck);
    return rc;
}

const cr_command cr_cmd_evaluate = {"evaluate", run_evaluate,
                                    "true SNR of raw, linear filters and the network against simulated truth",
                                    evaluate_usage};
