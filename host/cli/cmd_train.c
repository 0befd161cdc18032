/* clrestore train -t TRAIN.h5 -o MODELDIR: noise2noise training. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clrestore/duration.h"
#include "clrestore/dist.h"
#include "clrestore/log.h"
#include "clrestore/runtime.h"
#include "clrestore/train.h"

static const char train_usage[] =
    "usage: clrestore train -t TRAIN.h5 -o MODELDIR [options]\n\n"
    "Noise2noise training: even patches in, odd patches as targets, MSE loss, Adam\n"
    "with weight normalisation, learning rate x1, x0.5, x0.25, x0.125 over the four\n"
    "quarters of the epochs (of the time, with --time-limit). After each epoch:\n"
    "validation loss on the held-out micrographs, MODELDIR/epoch_NNN.h5 and\n"
    "MODELDIR/last.h5, a line in MODELDIR/history.csv, and MODELDIR/best.h5 when\n"
    "the validation loss is the lowest so far. Ctrl-C (or SIGTERM) finishes the\n"
    "current step and saves last.h5; --resume continues exactly where it stopped.\n\n"
    "  -t, --training-set FILE   from 'clrestore prepare' (or restore's N x P x P x 1 sets)\n"
    "  -o, --output DIR          model directory (created)\n"
    "      --epochs N            (default 100; with --time-limit, no cap unless given)\n"
    "      --batches-per-epoch N (default 500)\n"
    "      --batch-size N        (default 10)\n"
    "      --lr X                base learning rate (default 1e-4)\n"
    "      --seed N              initial weights and batch order (default 1)\n"
    "      --initial-model M.h5  start from these weights (same architecture)\n"
    "      --resume              continue from DIR/last.h5 (optimiser state, batch stream); a\n"
    "                            run killed before its first checkpoint has none and starts\n"
    "                            anew, so the same command line restarts a killed run\n"
    "      --augment             random even/odd swap and the 8 dihedral transforms\n"
    "      --keep N              keep only the newest N epoch files (default all)\n"
    "      --validation-fraction F  held-out pairs for sets without held-out micrographs (0.05)\n"
    "      --max-validation N    validation pairs evaluated per epoch (default all)\n"
    "      --time-limit T        training time of the run, e.g. 90m, 1h30m, 45s, or as Slurm's\n"
    "                            --time (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS; a bare\n"
    "                            number is minutes): ends with a validated checkpoint before it,\n"
    "                            learning rate halved at 25, 50 and 75% of it; counts the time of\n"
    "                            earlier --resume'd runs, so a requeued job finishes the budget\n"
    "      --patience N          stop after N epochs without a lower validation loss (default never)\n"
    "      --preset NAME         a measured recipe, the other options override its values:\n"
    "                            reference (the defaults), cpu (2 CPU cores, ~30 min: levels 2,\n"
    "                            blocks 2, filters 16, expansion 2, batch 4, lr 2e-3, --augment,\n"
    "                            80 x 450 batches; prepare with --patch 64; docs/training.md)\n"
    "network (ignored with --resume, which uses the checkpoint's):\n"
    "      --levels N (3)  --blocks N (4)  --filters N (32)  --expansion N (4)\n";

static volatile sig_atomic_t train_stop = 0;

static void on_signal(int sig)
{
    (void)sig;
    train_stop = 1;
}

enum { OPT_EPOCHS = 1000, OPT_BPE, OPT_BATCH, OPT_LR, OPT_SEED, OPT_INIT, OPT_RESUME, OPT_AUGMENT, OPT_KEEP,
       OPT_VALFRAC, OPT_MAXVAL, OPT_LEVELS, OPT_BLOCKS, OPT_FILTERS, OPT_EXPANSION, OPT_STOP_AFTER,
       OPT_TIME_LIMIT, OPT_PATIENCE, OPT_PRESET };

static int run_train(int argc, char **argv, const cr_global_opts *g)
{
    static const struct option longopts[] = {
        {"training-set", required_argument, NULL, 't'}, {"output", required_argument, NULL, 'o'},
        {"epochs", required_argument, NULL, OPT_EPOCHS}, {"batches-per-epoch", required_argument, NULL, OPT_BPE},
        {"batch-size", required_argument, NULL, OPT_BATCH}, {"lr", required_argument, NULL, OPT_LR},
        {"seed", required_argument, NULL, OPT_SEED}, {"initial-model", required_argument, NULL, OPT_INIT},
        {"resume", no_argument, NULL, OPT_RESUME}, {"augment", no_argument, NULL, OPT_AUGMENT},
        {"keep", required_argument, NULL, OPT_KEEP}, {"validation-fraction", required_argument, NULL, OPT_VALFRAC},
        {"max-validation", required_argument, NULL, OPT_MAXVAL}, {"levels", required_argument, NULL, OPT_LEVELS},
        {"blocks", required_argument, NULL, OPT_BLOCKS}, {"filters", required_argument, NULL, OPT_FILTERS},
        {"expansion", required_argument, NULL, OPT_EXPANSION},
        {"time-limit", required_argument, NULL, OPT_TIME_LIMIT}, {"patience", required_argument, NULL, OPT_PATIENCE},
        {"preset", required_argument, NULL, OPT_PRESET},
        /* for tests of crash safety: stop (as Ctrl-C would) after N batches in total */
        {"stop-after-batches", required_argument, NULL, OPT_STOP_AFTER}, {NULL, 0, NULL, 0}};
    cr_train_opts o;
    cr_train_opts_default(&o);
    o.t_start = cr_now(); /* the time limit counts from here, as a batch job's does from its start */
    int epochs_given = 0;
    unsigned long long seed = o.seed;
    int c;
    /* First pass: the preset, so that the options after it on the line and
     * before it alike override its values in the second. */
    optind = 1;
    opterr = 0;
    while ((c = cr_cli_getopt(argc, argv, ":t:o:", longopts, NULL)) != -1)
        if (c == OPT_PRESET && cr_train_preset_apply(optarg, &o) != CR_OK)
            return cr_cli_usage_error("train", "--preset: %s", cr_error_message());
    optind = 1;
    while ((c = cr_cli_getopt(argc, argv, ":t:o:", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 't': o.trainset = optarg; break;
        case 'o': o.outdir = optarg; break;
        case OPT_EPOCHS:
            bad = cr_opt_int("train", "--epochs", optarg, 1, 1000000, &o.epochs), epochs_given = 1;
            break;
        case OPT_BPE: bad = cr_opt_int("train", "--batches-per-epoch", optarg, 1, 100000000, &o.batches_per_epoch); break;
        case OPT_BATCH: bad = cr_opt_int("train", "--batch-size", optarg, 1, 4096, &o.batch); break;
        case OPT_LR: bad = cr_opt_double("train", "--lr", optarg, 1e-12, 10, &o.lr); break;
        case OPT_SEED: bad = cr_opt_u64("train", "--seed", optarg, &seed), o.seed = seed; break;
        case OPT_INIT: o.initial_model = optarg; break;
        case OPT_RESUME: o.resume = 1; break;
        case OPT_AUGMENT: o.augment = 1; break;
        case OPT_KEEP: bad = cr_opt_int("train", "--keep", optarg, 1, 1000000, &o.keep); break;
        case OPT_VALFRAC: bad = cr_opt_double("train", "--validation-fraction", optarg, 0, 0.9, &o.validation_fraction); break;
        case OPT_MAXVAL: bad = cr_opt_int("train", "--max-validation", optarg, 1, 2000000000, &o.max_validation); break;
        case OPT_LEVELS: bad = cr_opt_int("train", "--levels", optarg, 1, 8, &o.arch.levels); break;
        case OPT_BLOCKS: bad = cr_opt_int("train", "--blocks", optarg, 1, 64, &o.arch.blocks); break;
        case OPT_FILTERS: bad = cr_opt_int("train", "--filters", optarg, 2, 1024, &o.arch.filters); break;
        case OPT_EXPANSION: bad = cr_opt_int("train", "--expansion", optarg, 1, 64, &o.arch.expansion); break;
        case OPT_TIME_LIMIT:
            if (cr_parse_duration(optarg, &o.time_limit) != CR_OK)
                return cr_cli_usage_error("train", "--time-limit: %s", cr_error_message());
            break;
        case OPT_PRESET: break; /* applied above */
        case OPT_PATIENCE: bad = cr_opt_int("train", "--patience", optarg, 1, 1000000, &o.patience); break;
        case OPT_STOP_AFTER: bad = cr_opt_int("train", "--stop-after-batches", optarg, 1, 2000000000, &o.stop_after_batches); break;
        case ':': return cr_cli_usage_error("train", "%s needs a value", argv[optind - 1]);
        default: return cr_cli_usage_error("train", "unknown option '%s'", argv[optind - 1]);
        }
        if (bad) return CR_EXIT_USAGE;
    }
    if (optind < argc) return cr_cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (!o.trainset) return cr_cli_usage_error("train", "-t TRAIN.h5 is required");
    if (!o.outdir) return cr_cli_usage_error("train", "-o MODELDIR is required");
    if (o.resume && o.initial_model) return cr_cli_usage_error("train", "--resume and --initial-model exclude each other");
    if (o.time_limit > 0 && !epochs_given) o.epochs = 0; /* the clock ends the run */

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    o.stop = &train_stop;

    cr_runtime *rt = NULL;
    char pick[32];
    if (cr_runtime_create(cr_dist_device(g->device, pick, sizeof pick), &rt) != CR_OK) return cr_cli_fail();
    cr_train_report rep;
    cr_status st = cr_train_run(rt, &o, &rep);
    cr_runtime_free(rt);
    if (st != CR_OK) return cr_cli_fail();
    if (rep.interrupted) {
        if (train_stop) return 130; /* killed by a signal, the conventional 128 + SIGINT */
        return CR_EXIT_OK;
    }
    cr_info("%s: %d epochs done; last train loss %.5f, validation loss %.5f; model %s/last.h5", o.outdir,
            rep.epochs_done, rep.last_train_loss, rep.last_val_loss, o.outdir);
    if (rep.best_epoch > 0)
        cr_info("%s/best.h5: epoch %d, the lowest validation loss", o.outdir, rep.best_epoch);
    return CR_EXIT_OK;
}

const cr_command cr_cmd_train = {"train", run_train, "noise2noise training, a checkpoint per epoch", train_usage};
