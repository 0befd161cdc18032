/* clrestore tune: searches the convolution parameters for the shape classes of a
 * network on the selected device and writes them into the user's tuning cache
 * (cr_conv_tune, host/nn/conv_tuner.c; docs/tuning.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clrestore/checkpoint.h"
#include "clrestore/duration.h"
#include "clrestore/log.h"
#include "clrestore/tune.h"

static const char tune_usage[] =
    "usage: clrestore tune [-p MODEL.h5 | --levels N --blocks N --filters N --expansion N]\n"
    "                      [--quick] [--time-budget DURATION] [--size N] [--batch N] [--dry-run]\n\n"
    "Finds the fastest convolution parameters on this device for each shape class the\n"
    "network uses (default: the default architecture), checking every candidate against the\n"
    "reference kernels before timing it, and writes them to the tuning cache\n"
    "($XDG_CACHE_HOME/clrestore/tune/, else ~/.cache/clrestore/tune/), where denoise, train\n"
    "and bench find them. A few minutes on 2 CPU cores.\n"
    "  -p, --model FILE     tune for this checkpoint's architecture\n"
    "  --levels N (3)  --blocks N (4)  --filters N (32)  --expansion N (4)\n"
    "  --quick              one candidate besides the current parameters per class, small problem\n"
    "  --time-budget D      stop trying candidates after D (e.g. 90s, 5m; a bare number is minutes, as in Slurm); each class keeps its best\n"
    "  --size N             image side of the problem at full resolution (192; quick 32)\n"
    "  --batch N            images per problem (4; quick 1)\n"
    "  --dry-run            search and report, write nothing\n";

enum { OPT_LEVELS = 256, OPT_BLOCKS, OPT_FILTERS, OPT_EXPANSION, OPT_QUICK, OPT_BUDGET, OPT_SIZE, OPT_BATCH, OPT_DRY };

static int run_tune(int argc, char **argv, const cr_global_opts *g)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'p'},        {"levels", required_argument, NULL, OPT_LEVELS},
        {"blocks", required_argument, NULL, OPT_BLOCKS}, {"filters", required_argument, NULL, OPT_FILTERS},
        {"expansion", required_argument, NULL, OPT_EXPANSION}, {"quick", no_argument, NULL, OPT_QUICK},
        {"time-budget", required_argument, NULL, OPT_BUDGET}, {"size", required_argument, NULL, OPT_SIZE},
        {"batch", required_argument, NULL, OPT_BATCH},    {"dry-run", no_argument, NULL, OPT_DRY},
        {NULL, 0, NULL, 0}};
    cr_arch a = cr_arch_default();
    cr_conv_tune_opts o = {0, 0, 0, 0, 1};
    const char *model = NULL;
    int arch_given = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = cr_cli_getopt(argc, argv, ":p:", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'p': model = optarg; break;
        case OPT_LEVELS: bad = cr_opt_int("tune", "--levels", optarg, 1, 8, &a.levels), arch_given = 1; break;
        case OPT_BLOCKS: bad = cr_opt_int("tune", "--blocks", optarg, 1, 64, &a.blocks), arch_given = 1; break;
        case OPT_FILTERS: bad = cr_opt_int("tune", "--filters", optarg, 2, 1024, &a.filters), arch_given = 1; break;
        case OPT_EXPANSION: bad = cr_opt_int("tune", "--expansion", optarg, 1, 64, &a.expansion), arch_given = 1; break;
        case OPT_QUICK: o.quick = 1; break;
        case OPT_BUDGET:
            if (cr_parse_duration(optarg, &o.time_budget_s) != CR_OK)
                return cr_cli_usage_error("tune", "--time-budget: %s", cr_error_message());
            break;
        case OPT_SIZE: bad = cr_opt_int("tune", "--size", optarg, 8, 4096, &o.size); break;
        case OPT_BATCH: bad = cr_opt_int("tune", "--batch", optarg, 1, 64, &o.batch); break;
        case OPT_DRY: o.write = 0; break;
        default: return cr_cli_getopt_error("tune", c, argv);
        }
        if (bad) return CR_EXIT_USAGE;
    }
    if (optind < argc) return cr_cli_usage_error("tune", "unexpected argument '%s'", argv[optind]);
    if (model && arch_given) return cr_cli_usage_error("tune", "-p and --levels/--blocks/... exclude each other");
    if (model) {
        cr_checkpoint *ck = NULL;
        if (cr_checkpoint_load(model, &ck) != CR_OK) return cr_cli_fail();
        a = ck->arch;
        cr_checkpoint_free(ck);
    }
    cr_runtime *rt = NULL;
    if (cr_runtime_create(g->device, &rt) != CR_OK) return cr_cli_fail();
    cr_info("tuning convolutions of WA-U-Net %d/%d/%d/%d on %s", a.levels, a.blocks, a.filters, a.expansion,
            rt->dev.device_name);
    cr_conv_tune_result r;
    if (cr_conv_tune(rt, &a, &o, &r) != CR_OK) {
        cr_runtime_free(rt);
        return cr_cli_fail();
    }
    printf("device: %s (%s), %u compute units\n", rt->dev.device_name, rt->dev.platform_name, rt->dev.compute_units);
    printf("%-11s %-34s %-22s %18s %18s\n", "class", "tuned on", "shape n,cin>cout,HxW,k,s", "fwd+dX GFLOP/s",
           "dW GFLOP/s");
    for (int i = 0; i < r.nclasses; i++) {
        const cr_conv_tune_class *k = &r.cls[i];
        char shape[64];
        snprintf(shape, sizeof shape, "%d,%d>%d,%dx%d,%d,%d", k->n, k->cin, k->cout, k->h, k->w, k->k, k->stride);
        double f = 2 * k->flop * 1e-9, d = k->flop * 1e-9; /* fwd + dX: two GEMMs of the forward's size */
        printf("%-11s %-34s %-22s %8.1f <- %6.1f %8.1f <- %6.1f\n", k->cls, k->layer, shape, f / k->best_s[0],
               f / k->base_s[0], d / k->best_s[1], d / k->base_s[1]);
        printf("  %s\n", k->params);
    }
    printf("%d candidates in %.0f s, %d rejected (failed, or differed from the reference kernels)\n", r.tried,
           r.seconds, r.rejected);
    if (r.path[0]) printf("written: %s\n", r.path);
    else printf("not written (--dry-run)\n");
    cr_runtime_free(rt);
    return CR_EXIT_OK;
}

const cr_command cr_cmd_tune = {"tune", run_tune, "tune the convolution parameters for this device", tune_usage};
