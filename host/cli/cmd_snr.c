/* clrestore snr: signal, noise and bias of raw and denoised even/odd pairs
 * (REFERENCE.md "Measuring signal, noise and bias"; Palovcak et al. 2020,
 * Sec. 3.3 and Fig. 3), per micrograph and per Fourier ring. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clrestore/checkpoint.h"
#include "clrestore/denoise.h"
#include "clrestore/fileutil.h"
#include "clrestore/log.h"
#include "clrestore/mrc.h"
#include "clrestore/plot.h"
#include "clrestore/prepare.h"
#include "clrestore/snr.h"
#include "clrestore/snr_measure.h"
#include "clrestore/npy.h"
#include "clrestore/star.h"

static const char snr_usage[] =
    "usage: clrestore snr -p MODEL.h5 -m MICS.star -o SNR.csv [options]\n\n"
    "For each micrograph: pre-process its even and odd sums (R_e, R_o), denoise both with\n"
    "the network (D_e, D_o), and estimate var_S = cov(R_e, R_o), the raw and denoised noise,\n"
    "the bias var_B = cov(D_e, D_o) + var_S - 2 cov(D_e, R_o), SNR raw and denoised and the\n"
    "signal-to-noise-and-bias ratio SNBR. The same for a linear baseline: the Wiener filter\n"
    "built from each micrograph's own even/odd spectra, applied to both halves (columns\n"
    "*_wiener). One CSV row per micrograph; means and medians on stdout, and whether the\n"
    "network beats the linear filter.\n\n"
    "  -p, --model MODEL.h5     checkpoint (its max resolution and phase flip are used)\n"
    "  -m, --micrographs STAR   micrographs with CTF (names of the full sums): RELION STAR\n"
    "                           or cryoSPARC exposures .cs\n"
    "  -o, --output SNR.csv     per-micrograph table\n"
    "      --spectral FILE.csv  per-ring signal, bias and noise power over PxP patches\n"
    "      --plot PREFIX        PREFIX_snr.png (histograms of SNR raw, denoised and SNBR, as\n"
    "                           the paper's Fig. 3a) and, with --spectral, PREFIX_spectral.png\n"
    "                           (signal, bias and noise power per frequency, Fig. 3b)\n"
    "      --patch N            patch size of the spectral estimate (default 192)\n"
    "      --suffixes A,B,C     full-sum, even and odd suffixes (default DW,EVN,ODD)\n"
    "      --no-phaseflip       no CTF phase flip\n"
    "      --max-micrographs N  use at most N micrographs\n"
    "      --tile N             network tile core (default: from device memory)\n";

typedef struct snr_opts {
    const char *model, *star, *out, *spectral, *suffixes, *plot;
    int patch, no_phaseflip, max_mics, tile;
} snr_opts;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    if (n == 0) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Pre-processed pair and its denoised versions for one row. */
static cr_status measure(cr_denoiser *d, const snr_opts *o, const cr_checkpoint *ck, const cr_micrograph_row *row,
                         cr_snr_stats *s, cr_snr_stats *lin, cr_snr_spectral *sp, cr_snr_spectral *sp_lin,
                         double *bapix_out)
{
    cr_status st = CR_OK;
    char en[4096], on[4096], ep[4096], op[4096];
    cr_mrc_header he, ho;
    float *e = NULL, *od = NULL;
    cr_snr_pair p = {0};
    /* set while a step runs whose errors name its file already; the others get
     * the micrograph's name in front */
    int names_file = 0;
    if (row->name_even && row->name_odd) {
        snprintf(en, sizeof en, "%s", row->name_even);
        snprintf(on, sizeof on, "%s", row->name_odd);
    } else {
        CR_TRY(cr_even_odd_names(row->name, o->suffixes, en, on, sizeof en));
    }
    names_file = 1;
    CR_TRY(cr_resolve_path(o->star, en, ep, sizeof ep));
    CR_TRY(cr_resolve_path(o->star, on, op, sizeof op));
    CR_TRY(cr_mrc_read(ep, &he, &e));
    CR_TRY(cr_mrc_read(op, &ho, &od));
    CR_TRY(cr_mrc_check_finite(ep, e, he.nx, he.ny, 1));
    CR_TRY(cr_mrc_check_finite(op, od, ho.nx, ho.ny, 1));
    if (he.nx != ho.nx || he.ny != ho.ny) {
        st = cr_fail(CR_ERR_FORMAT, "%s: %dx%d, but the odd sum %s is %dx%d", ep, he.nx, he.ny, op, ho.nx, ho.ny);
        goto cleanup;
    }
    cr_ctf_params ctf;
    cr_preprocess_opts po;
    cr_snr_preprocess_opts(row, he.apix, ck->max_resolution, ck->phaseflip != 0 && !o->no_phaseflip, &ctf, &po);
    {
        /* the model's pixel size must match the binned one before any work */
        int bx = 0, by = 0;
        double bapix = 0;
        CR_TRY(cr_binned_shape(he.nx, he.ny, po.apix, po.max_resolution, &bx, &by, &bapix));
        if ((st = cr_denoise_check_apix(ck->apix, bapix, po.apix, po.max_resolution)) != CR_OK) {
            cr_error_prefix("%s", ep);
            goto cleanup;
        }
    }
    names_file = 0;
    CR_TRY(cr_snr_measure_pair(d, e, od, he.nx, he.ny, &po, o->tile, &p, s));
    CR_TRY(cr_snr_measure_wiener(d->fw, &p, lin));
    if (sp) CR_TRY(cr_snr_spectral_add(sp, p.re, p.ro, p.de, p.dd, p.bx, p.by));
    if (sp_lin) CR_TRY(cr_snr_spectral_add(sp_lin, p.re, p.ro, p.we, p.wo, p.bx, p.by));
    *bapix_out = p.bapix;
cleanup:
    if (st != CR_OK && !names_file) cr_error_prefix("%s", row->name);
    free(e), free(od);
    cr_snr_pair_free(&p);
    return st;
}

static int run_snr(int argc, char **argv, const cr_global_opts *g)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'p'}, {"micrographs", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'}, {"spectral", required_argument, NULL, 1000},
        {"patch", required_argument, NULL, 1001}, {"suffixes", required_argument, NULL, 1002},
        {"no-phaseflip", no_argument, NULL, 1003}, {"max-micrographs", required_argument, NULL, 1004},
        {"tile", required_argument, NULL, 1005}, {"plot", required_argument, NULL, 1006}, {NULL, 0, NULL, 0}};
    snr_opts o = {0};
    o.suffixes = "DW,EVN,ODD";
    o.patch = 192;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = cr_cli_getopt(argc, argv, ":p:m:o:", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'p': o.model = optarg; break;
        case 'm': o.star = optarg; break;
        case 'o': o.out = optarg; break;
        case 1000: o.spectral = optarg; break;
        case 1001: bad = cr_opt_int("snr", "--patch", optarg, 16, 4096, &o.patch) || (o.patch % 2 && cr_cli_usage_error("snr", "--patch must be even")); break;
        case 1002: o.suffixes = optarg; break;
        case 1003: o.no_phaseflip = 1; break;
        case 1004: bad = cr_opt_int("snr", "--max-micrographs", optarg, 1, 100000000, &o.max_mics); break;
        case 1005: bad = cr_opt_int("snr", "--tile", optarg, 8, 65536, &o.tile); break;
        case 1006: o.plot = optarg; break;
        case ':': return cr_cli_usage_error("snr", "%s needs a value", argv[optind - 1]);
        default: return cr_cli_usage_error("snr", "unknown option '%s'", argv[optind - 1]);
        }
        if (bad) return CR_EXIT_USAGE;
    }
    if (optind < argc) return cr_cli_usage_error("snr", "unexpected argument '%s'", argv[optind]);
    if (!o.model || !o.star || !o.out) return cr_cli_usage_error("snr", "-p MODEL.h5, -m MICS.star and -o SNR.csv are required");

    int rc = CR_EXIT_OK, nrows = 0, n = 0, done = 0;
    cr_checkpoint *ck = NULL;
    cr_denoiser_env *env = NULL;
    cr_star_file *star = NULL;
    cr_micrograph_row *rows = NULL;
    cr_snr_spectral *sp = NULL, *sp_lin = NULL;
    cr_snr_stats *stats = NULL, *lin = NULL;
    double bapix = 0;
    cr_atomic_file f = {0};
    if (cr_checkpoint_load(o.model, &ck) != CR_OK ||
        cr_micrograph_list_read(o.star, ck->phaseflip != 0 && !o.no_phaseflip, &star) != CR_OK ||
        cr_star_micrographs(star, ck->phaseflip != 0 && !o.no_phaseflip, &rows, &nrows) != CR_OK ||
        cr_denoiser_env_create(g->device, ck, o.model, 1, &env) != CR_OK ||
        (o.spectral && (cr_snr_spectral_create(env->rt, cr_fourier_fft(env->fw), o.patch, &sp) != CR_OK ||
                        cr_snr_spectral_create(env->rt, cr_fourier_fft(env->fw), o.patch, &sp_lin) != CR_OK))) {
        rc = cr_cli_fail();
        goto cleanup;
    }
    n = o.max_mics > 0 && nrows > o.max_mics ? o.max_mics : nrows; /* all nrows rows are freed */
    stats = calloc((size_t)n + 1, sizeof *stats);
    lin = calloc((size_t)n + 1, sizeof *lin);
    if (!stats || !lin || cr_atomic_open(&f, o.out) != CR_OK) {
        rc = stats && lin ? cr_cli_fail() : CR_EXIT_FAIL;
        goto cleanup;
    }
    fprintf(f.fp, "micrograph,var_s,var_n_raw,var_n_denoised,var_b,snr_raw,snr_denoised,snbr,"
                  "var_n_wiener,var_b_wiener,snr_wiener,snbr_wiener\n");
    cr_progress pr;
    cr_progress_begin(&pr, "snr", "mic", n);
    for (int i = 0; i < n; i++) {
        cr_snr_stats *s = &stats[done];
        cr_snr_stats *l = &lin[done];
        if (measure(&env->den, &o, ck, &rows[i], s, l, sp, sp_lin, &bapix) != CR_OK) {
            cr_progress_end(&pr);
            rc = cr_cli_fail();
            cr_progress_begin(&pr, "snr", "mic", n);
            continue;
        }
        fprintf(f.fp, "%s,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", rows[i].name, s->var_s,
                s->var_n_raw, s->var_n_den, s->var_b, s->snr_raw, s->snr_den, s->snbr, l->var_n_den, l->var_b,
                l->snr_den, l->snbr);
        done++;
        cr_progress_update(&pr, i + 1);
    }
    cr_progress_end(&pr);
    if (done == 0 || cr_atomic_commit(&f) != CR_OK) {
        /* each failed micrograph has had its line; a summary would be a second one */
        if (done == 0 && rc == CR_EXIT_FAIL) goto cleanup;
        if (done == 0) cr_fail(CR_ERR_FORMAT, "%s: no micrograph could be measured", o.star);
        rc = cr_cli_fail();
        goto cleanup;
    }
    if (sp) {
        double *sig = calloc((size_t)sp->nrings * 8, sizeof(double));
        cr_atomic_file fs = {0};
        if (sig && cr_atomic_open(&fs, o.spectral) == CR_OK) {
            double *bias = sig + sp->nrings, *nr = bias + sp->nrings, *nd = nr + sp->nrings;
            double *lsig = nd + sp->nrings, *lbias = lsig + sp->nrings, *lnr = lbias + sp->nrings,
                   *lnd = lnr + sp->nrings;
            cr_snr_spectral_result(sp, sig, bias, nr, nd);
            cr_snr_spectral_result(sp_lin, lsig, lbias, lnr, lnd);
            fprintf(fs.fp, "ring,frequency,signal,bias,noise_raw,noise_denoised,ssnr_raw,ssnr_denoised,"
                           "bias_wiener,noise_wiener,ssnr_wiener\n");
            for (int k = 0; k < sp->nrings; k++)
                fprintf(fs.fp, "%d,%.6g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", k, k / (sp->patch * bapix),
                        sig[k], bias[k], nr[k], nd[k], sig[k] / nr[k], (sig[k] + bias[k]) / nd[k], lbias[k], lnd[k],
                        (sig[k] + lbias[k]) / lnd[k]);
            if (cr_atomic_commit(&fs) != CR_OK) rc = cr_cli_fail();
            if (o.plot && rc == CR_EXIT_OK) {
                char pp[4200];
                double *fq = malloc(sizeof(double) * (size_t)sp->nrings);
                for (int k = 0; fq && k < sp->nrings; k++) fq[k] = k / (sp->patch * bapix);
                cr_plot_series ser[6] = {{fq + 1, sig + 1, sp->nrings - 1, "signal"},
                                         {fq + 1, bias + 1, sp->nrings - 1, "bias"},
                                         {fq + 1, nr + 1, sp->nrings - 1, "noise (raw)"},
                                         {fq + 1, nd + 1, sp->nrings - 1, "noise (denoised)"},
                                         {fq + 1, lbias + 1, sp->nrings - 1, "bias (Wiener)"},
                                         {fq + 1, lnd + 1, sp->nrings - 1, "noise (Wiener)"}};
                snprintf(pp, sizeof pp, "%s_spectral.png", o.plot);
                if (!fq || cr_plot_lines(pp, "Spectral power (mean over patches and micrographs)",
                                         "spatial frequency (1/A)", "power", 1, ser, 6) != CR_OK)
                    rc = cr_cli_fail();
                free(fq);
            }
        } else {
            rc = cr_cli_fail();
        }
        cr_atomic_abort(&fs);
        free(sig);
    }
    double *v = malloc(sizeof(double) * (size_t)done * 5 + 8);
    if (v) {
        double mean[3] = {0, 0, 0};
        for (int i = 0; i < done; i++) {
            v[i] = stats[i].snr_raw, v[done + i] = stats[i].snr_den, v[2 * done + i] = stats[i].snbr;
            v[3 * done + i] = lin[i].snr_den, v[4 * done + i] = lin[i].snbr;
            mean[0] += v[i] / done, mean[1] += v[done + i] / done, mean[2] += v[2 * done + i] / done;
        }
        if (o.plot) {
            char pp[4200];
            cr_plot_series ser[5] = {{NULL, v, done, "SNR raw"}, {NULL, v + done, done, "SNR denoised"},
                                     {NULL, v + 2 * done, done, "SNBR"}, {NULL, v + 3 * done, done, "SNR Wiener"},
                                     {NULL, v + 4 * done, done, "SNBR Wiener"}};
            snprintf(pp, sizeof pp, "%s_snr.png", o.plot);
            if (cr_plot_log_histogram(pp, "Per-micrograph SNR", "SNR", ser, 5, 30) != CR_OK) rc = cr_cli_fail();
        }
        printf("%d micrographs: SNR raw mean %.4g median %.4g; SNR denoised mean %.4g median %.4g; "
               "SNBR mean %.4g median %.4g\n",
               done, mean[0], median(v, done), mean[1], median(v + done, done), mean[2], median(v + 2 * done, done));
        char line[512];
        cr_snr_baseline_summary(stats, lin, done, line, sizeof line);
        printf("%s\n", line);
        free(v);
    }
cleanup:
    cr_atomic_abort(&f);
    free(stats), free(lin);
    cr_snr_spectral_free(sp);
    cr_snr_spectral_free(sp_lin);
    cr_denoiser_env_free(env);
    cr_micrograph_rows_free(rows, nrows);
    cr_star_free(star);
    cr_checkpoint_free(ck);
    return rc;
}

const cr_command cr_cmd_snr = {"snr", run_snr, "signal, noise and bias of raw and denoised even/odd pairs", snr_usage};
