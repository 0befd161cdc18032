/* clrestore prepare -m MICS.star -o TRAIN.h5: even/odd pairs -> training set. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clrestore/dist.h"
#include "clrestore/log.h"
#include "clrestore/prepare.h"
#include "clrestore/runtime.h"

static const char prepare_usage[] =
    "usage: clrestore prepare -m MICS.star -o TRAIN.h5 [options]\n"
    "       clrestore prepare --merge -o TRAIN.h5 TRAIN.shard_1_of_N.h5 ...\n\n"
    "Pre-processes each micrograph's even and odd sums (phase flip with the row's CTF,\n"
    "Fourier crop to --max-resolution, band-pass, normalise), cuts them into patches\n"
    "and writes an HDF5 training set with datasets /even and /odd.\n\n"
    "  -m, --micrographs FILE     RELION micrograph STAR file, or cryoSPARC exposures .cs\n"
    "                             (names of the full sums)\n"
    "  -o, --output FILE          training set to write (HDF5)\n"
    "      --suffixes A,B,C       full-sum, even and odd name suffixes (default DW,EVN,ODD);\n"
    "                             RELION 5 _rlnMicrographNameEven/Odd columns win when present\n"
    "      --max-resolution A     Fourier crop cut-off in A (default 4.5)\n"
    "      --patch N              patch size in binned pixels (default 192)\n"
    "      --no-phaseflip         do not phase-flip (no CTF columns needed)\n"
    "      --max-micrographs N    use at most N micrographs\n"
    "      --validation-fraction F  fraction of micrographs held out for validation (default 0.05)\n"
    "      --seed N               picks the validation micrographs (default 1)\n"
    "      --shard I/N            only the I-th of N contiguous blocks of the rows (Slurm array\n"
    "                             jobs); writes TRAIN.shard_I_of_N.h5 beside -o\n"
    "      --merge                join shard training sets (given as arguments) into -o: the set\n"
    "                             one run over all rows writes\n";

enum { OPT_SUFFIXES = 1000, OPT_MAXRES, OPT_PATCH, OPT_NOFLIP, OPT_MAXMICS, OPT_VALFRAC, OPT_SEED, OPT_SHARD, OPT_MERGE };

static int run_prepare(int argc, char **argv, const cr_global_opts *g)
{
    static const struct option longopts[] = {
        {"micrographs", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'},
        {"suffixes", required_argument, NULL, OPT_SUFFIXES},
        {"max-resolution", required_argument, NULL, OPT_MAXRES},
        {"patch", required_argument, NULL, OPT_PATCH},
        {"no-phaseflip", no_argument, NULL, OPT_NOFLIP},
        {"max-micrographs", required_argument, NULL, OPT_MAXMICS},
        {"validation-fraction", required_argument, NULL, OPT_VALFRAC},
        {"seed", required_argument, NULL, OPT_SEED},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"merge", no_argument, NULL, OPT_MERGE},
        {NULL, 0, NULL, 0}};
    int merge = 0;
    char shard_out[4200];
    cr_prepare_opts o;
    cr_prepare_opts_default(&o);
    unsigned long long seed = o.seed;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = cr_cli_getopt(argc, argv, ":m:o:", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o.star_path = optarg; break;
        case 'o': o.out_path = optarg; break;
        case OPT_SUFFIXES: o.suffixes = optarg; break;
        case OPT_MAXRES:
            if (cr_opt_double("prepare", "--max-resolution", optarg, 0.1, 1000, &o.max_resolution)) return CR_EXIT_USAGE;
            break;
        case OPT_PATCH:
            if (cr_opt_int("prepare", "--patch", optarg, 16, 4096, &o.patch)) return CR_EXIT_USAGE;
            break;
        case OPT_NOFLIP: o.phaseflip = 0; break;
        case OPT_MAXMICS:
            if (cr_opt_int("prepare", "--max-micrographs", optarg, 1, 100000000, &o.max_micrographs))
                return CR_EXIT_USAGE;
            break;
        case OPT_VALFRAC:
            if (cr_opt_double("prepare", "--validation-fraction", optarg, 0, 0.9, &o.validation_fraction))
                return CR_EXIT_USAGE;
            break;
        case OPT_SEED:
            if (cr_opt_u64("prepare", "--seed", optarg, &seed)) return CR_EXIT_USAGE;
            o.seed = seed;
            break;
        case OPT_SHARD:
            if (cr_shard_parse(optarg, &o.shard_index, &o.shard_count) != CR_OK)
                return cr_cli_usage_error("prepare", "%s", cr_error_message());
            break;
        case OPT_MERGE: merge = 1; break;
        case ':': return cr_cli_usage_error("prepare", "%s needs a value", argv[optind - 1]);
        default: return cr_cli_usage_error("prepare", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (merge) {
        if (!o.out_path) return cr_cli_usage_error("prepare", "-o TRAIN.h5 is required");
        if (optind >= argc) return cr_cli_usage_error("prepare", "--merge: no training sets to join");
        int64_t pairs = 0;
        if (cr_prepare_merge((const char *const *)argv + optind, argc - optind, o.out_path, &pairs) != CR_OK)
            return cr_cli_fail();
        cr_info("%s: %lld pairs from %d training sets", o.out_path, (long long)pairs, argc - optind);
        return CR_EXIT_OK;
    }
    if (optind < argc) return cr_cli_usage_error("prepare", "unexpected argument '%s'", argv[optind]);
    if (!o.star_path) return cr_cli_usage_error("prepare", "-m MICS.star is required");
    if (!o.out_path) return cr_cli_usage_error("prepare", "-o TRAIN.h5 is required");
    if (strcmp(o.star_path, o.out_path) == 0) return cr_cli_usage_error("prepare", "the output would overwrite the input");

    /* under mpirun every rank would write the same file: rank 0 alone works
     * (prepare is I/O bound; --shard splits it over array jobs) */
    if (cr_dist_rank() > 0) return CR_EXIT_OK;
    if (o.shard_count) {
        if (cr_shard_path(o.out_path, o.shard_index, o.shard_count, shard_out, sizeof shard_out) != CR_OK)
            return cr_cli_fail();
        o.out_path = shard_out;
    }
    cr_runtime *rt = NULL;
    if (cr_runtime_create(g->device, &rt) != CR_OK) return cr_cli_fail();
    cr_prepare_report rep;
    cr_status st = cr_prepare_run(rt, &o, &rep);
    cr_runtime_free(rt);
    if (st != CR_OK) return cr_cli_fail();
    cr_info("%s: %lld pairs of %dx%d patches at %.4f A/px from %d micrographs (%d held out for validation, %d "
            "skipped) in %.1f s",
            o.out_path, (long long)rep.pairs, o.patch, o.patch, rep.apix, rep.used, rep.validation, rep.skipped,
            rep.seconds);
    return CR_EXIT_OK;
}

const cr_command cr_cmd_prepare = {"prepare", run_prepare, "even/odd micrograph pairs -> HDF5 training set",
                                   prepare_usage};
