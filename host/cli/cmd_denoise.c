/* clrestore denoise: applies a trained model to micrographs.
 *
 * Options -> one runtime, engine and model for the run -> one of two modes
 * over the inputs: the full pipeline of REFERENCE.md "Denoising a full
 * micrograph" on one or several devices (cr_denoise_batch,
 * host/pipeline/denoise_batch.c), or --network-only, the network alone on
 * each image as it is (cr_denoise_network_batch, same file). Both name
 * outputs alike; this file parses and reports. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clrestore/checkpoint.h"
#include "clrestore/dist.h"
#include "clrestore/denoise_batch.h"
#include "clrestore/fileutil.h"
#include "clrestore/keras.h"
#include "clrestore/log.h"
#include "clrestore/mrc.h"
#include "clrestore/runtime.h"
#include "clrestore/waunet.h"

typedef struct denoise_opts {
    const char *model;   /* -p */
    const char *outdir;  /* -o; NULL = beside each input */
    const char *suffix;  /* --suffix */
    const char *star;    /* -m */
    int network_only;
    char **inputs;       /* (ninputs) MRC paths */
    int ninputs;
    const char *max_res, *merge_res, *merge_width, *tile; /* numbers, parsed later */
    int no_phaseflip, merge_noisy, flip_back, tta, preview, skip_existing;
    const char *devices; /* --devices all | i,j,... (NULL: the one --device) */
    int shard_index, shard_count; /* --shard I/N (1-based); count 0 = no sharding */
} denoise_opts;

static const char denoise_usage[] =
    "usage: clrestore denoise -p MODEL.h5 -m MICS.star [options]\n"
    "       clrestore denoise -p MODEL.h5 --no-phaseflip FILE.mrc... [options]\n"
    "       clrestore denoise -p MODEL.h5 --network-only FILE.mrc... [-o OUTDIR]\n\n"
    "Denoises micrographs with a model trained by 'clrestore train': normalise, phase flip\n"
    "with the micrograph's CTF, Fourier crop to the model's resolution, band-pass, the\n"
    "network (in tiles that bound memory), then back to the original size with a soft\n"
    "low-pass (or --merge-noisy). Writes <stem><suffix>.mrc (float32, same shape and pixel\n"
    "size) and denoised_micrographs.star listing them.\n\n"
    "options:\n"
    "  -p, --model MODEL.h5     the checkpoint to apply (required), or a UCSF restore Keras\n"
    "                           model (.hdf5; see 'clrestore import-restore')\n"
    "  -m, --micrographs STAR   micrographs and their CTF from a RELION STAR file or a\n"
    "                           cryoSPARC exposures .cs file (docs/cryosparc.md)\n"
    "  -o, --output-dir DIR     where to write the outputs (default: beside each input)\n"
    "      --suffix S           output name suffix (default _denoised)\n"
    "      --max-resolution A   override the model's Fourier-crop resolution (A)\n"
    "      --no-phaseflip       no CTF phase flip (the model must have been trained so)\n"
    "      --merge-noisy        blend the raw image's high frequencies back in\n"
    "      --merge-resolution R resolution of the merge/low-pass, A (default 3)\n"
    "      --merge-width W      width of its transition, A (default 2)\n"
    "      --flip-back          multiply by sign(CTF) again at the end\n"
    "      --tile N             network tile core in binned pixels (default: from device memory)\n"
    "      --tta                average over the 8 rotations/flips (8x slower)\n"
    "      --preview            <stem>_preview.png: raw and denoised side by side\n"
    "      --skip-existing      skip micrographs whose output exists (resumable batch runs)\n"
    "      --devices all|I,J    denoise on several devices in parallel, one thread each\n"
    "      --shard I/N          only the I-th of N contiguous blocks of the inputs (STAR rows\n"
    "                           or files; 1 <= I <= N, e.g. a Slurm array task); the listing is\n"
    "                           denoised_micrographs.shard_I_of_N.star, written even when empty:\n"
    "                           join the N with 'clrestore star-merge' (docs/mpi.md); with\n"
    "                           --network-only it picks the files and no listing is written\n"
    "      --network-only       apply the network alone to each image as it is: no normalisation\n"
    "                           or Fourier steps; the image is padded with its edge mean (the mean\n"
    "                           of its border pixels) to a multiple of 2^levels and cropped back\n"
    "      --device D, --quiet, --verbose   as for every command\n";

enum { OPT_SUFFIX = 1000, OPT_MAX_RES, OPT_MERGE_RES, OPT_MERGE_WIDTH, OPT_TILE, OPT_DEVICES, OPT_SHARD,
       OPT_NETWORK_ONLY, OPT_NO_PHASEFLIP, OPT_MERGE_NOISY, OPT_FLIP_BACK, OPT_TTA, OPT_PREVIEW, OPT_SKIP_EXISTING };

/* 0 on success, else the exit code of a usage error (already printed). */
static int parse(int argc, char **argv, denoise_opts *o)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'p'}, {"output-dir", required_argument, NULL, 'o'},
        {"micrographs", required_argument, NULL, 'm'}, {"suffix", required_argument, NULL, OPT_SUFFIX},
        {"max-resolution", required_argument, NULL, OPT_MAX_RES},
        {"merge-resolution", required_argument, NULL, OPT_MERGE_RES},
        {"merge-width", required_argument, NULL, OPT_MERGE_WIDTH}, {"tile", required_argument, NULL, OPT_TILE},
        {"devices", required_argument, NULL, OPT_DEVICES}, {"shard", required_argument, NULL, OPT_SHARD},
        {"network-only", no_argument, NULL, OPT_NETWORK_ONLY}, {"no-phaseflip", no_argument, NULL, OPT_NO_PHASEFLIP},
        {"merge-noisy", no_argument, NULL, OPT_MERGE_NOISY}, {"flip-back", no_argument, NULL, OPT_FLIP_BACK},
        {"tta", no_argument, NULL, OPT_TTA}, {"preview", no_argument, NULL, OPT_PREVIEW},
        {"skip-existing", no_argument, NULL, OPT_SKIP_EXISTING}, {NULL, 0, NULL, 0}};
    const char *shard = NULL;
    int c;
    memset(o, 0, sizeof *o);
    o->suffix = "_denoised";
    o->inputs = calloc((size_t)argc, sizeof *o->inputs);
    if (!o->inputs) return cr_cli_usage_error("denoise", "out of memory");
    optind = 1;
    opterr = 0;
    /* numbers are checked later, against the model's defaults */
    while ((c = cr_cli_getopt(argc, argv, ":p:o:m:", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': o->model = optarg; break;
        case 'o': o->outdir = optarg; break;
        case 'm': o->star = optarg; break;
        case OPT_SUFFIX: o->suffix = optarg; break;
        case OPT_MAX_RES: o->max_res = optarg; break;
        case OPT_MERGE_RES: o->merge_res = optarg; break;
        case OPT_MERGE_WIDTH: o->merge_width = optarg; break;
        case OPT_TILE: o->tile = optarg; break;
        case OPT_DEVICES: o->devices = optarg; break;
        case OPT_SHARD: shard = optarg; break;
        case OPT_NETWORK_ONLY: o->network_only = 1; break;
        case OPT_NO_PHASEFLIP: o->no_phaseflip = 1; break;
        case OPT_MERGE_NOISY: o->merge_noisy = 1; break;
        case OPT_FLIP_BACK: o->flip_back = 1; break;
        case OPT_TTA: o->tta = 1; break;
        case OPT_PREVIEW: o->preview = 1; break;
        case OPT_SKIP_EXISTING: o->skip_existing = 1; break;
        default: return cr_cli_getopt_error("denoise", c, argv);
        }
    }
    while (optind < argc) o->inputs[o->ninputs++] = argv[optind++];
    if (!o->model) return cr_cli_usage_error("denoise", "no model given (-p MODEL.h5)");
    if (shard && cr_shard_parse(shard, &o->shard_index, &o->shard_count) != CR_OK)
        return cr_cli_usage_error("denoise", "%s", cr_error_message());
    if (strchr(o->suffix, '/')) return cr_cli_usage_error("denoise", "--suffix '%s' contains '/'", o->suffix);
    if (o->network_only && o->star) return cr_cli_usage_error("denoise", "--network-only takes MRC files, not -m");
    if (o->star && o->ninputs) return cr_cli_usage_error("denoise", "give -m STAR or MRC files, not both");
    if (!o->star && o->ninputs == 0) return cr_cli_usage_error("denoise", "no input files (-m MICS.star or FILE.mrc...)");
    return 0;
}

static cr_denoise_naming naming(const denoise_opts *o)
{
    cr_denoise_naming nm = {o->outdir, o->suffix, o->inputs, o->ninputs};
    return nm;
}

/* The pipeline's numbers from the options; 0, else a usage error's exit code (printed). */
static int pipeline_options(const denoise_opts *o, const cr_checkpoint *ck, cr_denoise_opts *d)
{
    cr_denoise_opts_default(d);
    if (ck->max_resolution > 0) d->max_resolution = ck->max_resolution;
    d->model_apix = ck->apix;
    d->phaseflip = ck->phaseflip != 0 && !o->no_phaseflip;
    if (ck->phaseflip == 1 && o->no_phaseflip)
        cr_warn("%s was trained on phase-flipped images; denoising without phase flip", o->model);
    if (o->max_res) {
        if (cr_opt_double("denoise", "--max-resolution", o->max_res, 0.1, 1000, &d->max_resolution))
            return CR_EXIT_USAGE;
        d->model_apix = 0; /* the user chose another sampling on purpose */
    }
    if (o->merge_res && cr_opt_double("denoise", "--merge-resolution", o->merge_res, 0.1, 1000, &d->merge_resolution))
        return CR_EXIT_USAGE;
    if (o->merge_width && cr_opt_double("denoise", "--merge-width", o->merge_width, 0.01, 1000, &d->merge_width))
        return CR_EXIT_USAGE;
    if (o->tile && cr_opt_int("denoise", "--tile", o->tile, 8, 65536, &d->tile)) return CR_EXIT_USAGE;
    d->merge_noisy = o->merge_noisy;
    d->flip_back = o->flip_back;
    d->tta = o->tta;
    if (d->phaseflip && !o->star)
        return cr_cli_usage_error("denoise",
                                  "phase flipping needs each micrograph's CTF: give -m MICS.star, or --no-phaseflip");
    return 0;
}

static void print_error(void *ctx, cr_status st) { cr_cli_fail(); }

/* The batch options every mode shares: naming, shard, error reports. */
static cr_denoise_batch_opts batch_opts(const denoise_opts *o)
{
    cr_denoise_batch_opts b = {0};
    b.naming = naming(o);
    b.shard_index = o->shard_index;
    b.shard_count = o->shard_count;
    b.on_error = print_error;
    return b;
}

/* --network-only over the MRC inputs (cr_denoise_network_batch); the exit code. */
static int denoise_network_only(cr_waunet *m, const denoise_opts *o)
{
    cr_denoise_batch_opts b = batch_opts(o);
    cr_denoise_batch_report rep;
    if (cr_denoise_network_batch(m, &b, &rep) != CR_OK) return cr_cli_fail();
    return rep.failed ? CR_EXIT_FAIL : CR_EXIT_OK;
}

/* The full pipeline over -m STAR rows or MRC files; returns the exit code. */
static int denoise_full(cr_runtime *rt, cr_waunet *m, const cr_checkpoint *ck, const denoise_opts *o)
{
    cr_denoise_batch_opts b = batch_opts(o);
    int rc = pipeline_options(o, ck, &b.dopt);
    if (rc != 0) return rc;
    b.star = o->star;
    b.devices = o->devices;
    b.preview = o->preview;
    b.skip_existing = o->skip_existing;
    cr_denoise_batch_report rep;
    if (cr_denoise_batch(rt, m, ck, &b, &rep) != CR_OK) return cr_cli_fail();
    if (cr_dist_rank() > 0) return rep.failed ? CR_EXIT_FAIL : CR_EXIT_OK; /* rank 0 alone reports */
    cr_info("denoised %d of %d micrographs on %d device%s%s%s; list in %s", rep.done, rep.total, rep.ndevices,
            rep.ndevices == 1 ? "" : "s", cr_dist_size() > 1 ? " (MPI ranks)" : "",
            rep.failed ? " (see errors above)" : "", rep.star_out);
    return rep.failed ? CR_EXIT_FAIL : CR_EXIT_OK;
}

static int run_denoise(int argc, char **argv, const cr_global_opts *g)
{
    denoise_opts o;
    cr_checkpoint *ck = NULL;
    cr_denoiser_env *env = NULL;
    int rc = parse(argc, argv, &o);
    if (rc != 0) goto cleanup;
    /* with --devices, the first listed device is the one opened here (worker 0) */
    char first[256], pick[32];
    const char *sel = cr_dist_device(g->device, pick, sizeof pick);
    if (o.devices) {
        snprintf(first, sizeof first, "%.*s", (int)strcspn(o.devices, ","), o.devices);
        sel = strcmp(first, "all") == 0 ? "0" : first;
    }
    /* the batch's workers make their own Fourier objects */
    if (cr_model_load(o.model, NULL, &ck) != CR_OK || (o.outdir && cr_mkdir_p(o.outdir) != CR_OK) ||
        cr_denoiser_env_create(sel, ck, o.model, 0, &env) != CR_OK) {
        rc = cr_cli_fail();
        goto cleanup;
    }
    cr_debug("model %s: levels %d, blocks %d, filters %d, expansion %d; device %s", o.model, ck->arch.levels,
             ck->arch.blocks, ck->arch.filters, ck->arch.expansion, env->rt->dev.device_name);
    rc = o.network_only ? denoise_network_only(env->net, &o) : denoise_full(env->rt, env->net, ck, &o);
cleanup:
    cr_denoiser_env_free(env);
    cr_checkpoint_free(ck);
    free(o.inputs);
    return rc;
}

const cr_command cr_cmd_denoise = {"denoise", run_denoise, "denoise micrographs with a trained model", denoise_usage};
