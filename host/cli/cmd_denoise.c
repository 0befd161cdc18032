/* clrestore denoise: applies a trained model to micrographs.
 *
 * Structure: options -> one runtime, engine and model for the run -> one
 * function per mode over the inputs. --network-only (denoise_network_only)
 * runs the network alone on each image as it is; the full pipeline of
 * REFERENCE.md "Denoising a full micrograph" (normalise, phase flip, Fourier
 * crop, band-pass, network, un-bin, merge) will be a second mode function
 * with the same inputs and output naming (not written yet). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "denoise_cli.h"
#include "clrestore/checkpoint.h"
#include "clrestore/dist.h"
#include "clrestore/fileutil.h"
#include "clrestore/keras.h"
#include "clrestore/log.h"
#include "clrestore/mrc.h"
#include "clrestore/runtime.h"
#include "clrestore/waunet.h"

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
    "      --network-only       apply the network alone to each image as it is: no normalisation\n"
    "                           or Fourier steps; the image is padded with its edge mean (the mean\n"
    "                           of its border pixels) to a multiple of 2^levels and cropped back\n"
    "      --device D, --quiet, --verbose   as for every command\n";


/* The value of option argv[*i] (separate or after '='), or NULL after a usage error. */
static const char *opt_value(int argc, char **argv, int *i, const char *eq)
{
    if (eq) return eq + 1;
    if (*i + 1 >= argc) return NULL;
    return argv[++*i];
}

/* 0 on success, else the exit code of a usage error (already printed). */
static int parse(int argc, char **argv, denoise_opts *o)
{
    const char *shard = NULL;
    memset(o, 0, sizeof *o);
    o->suffix = "_denoised";
    o->inputs = calloc((size_t)argc, sizeof *o->inputs);
    if (!o->inputs) return cr_cli_usage_error("denoise", "out of memory");
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
#define IS(s) (len == strlen(s) && strncmp(a, s, len) == 0)
        const char **target = NULL;
        if (IS("-p") || IS("--model"))
            target = &o->model;
        else if (IS("-o") || IS("--output-dir"))
            target = &o->outdir;
        else if (IS("--suffix"))
            target = &o->suffix;
        else if (IS("-m") || IS("--micrographs"))
            target = &o->star;
        else if (IS("--max-resolution"))
            target = &o->max_res;
        else if (IS("--merge-resolution"))
            target = &o->merge_res;
        else if (IS("--merge-width"))
            target = &o->merge_width;
        else if (IS("--tile"))
            target = &o->tile;
        else if (IS("--devices"))
            target = &o->devices;
        else if (IS("--shard"))
            target = &shard;
        else if (IS("--network-only") && !eq)
            o->network_only = 1;
        else if (IS("--no-phaseflip") && !eq)
            o->no_phaseflip = 1;
        else if (IS("--merge-noisy") && !eq)
            o->merge_noisy = 1;
        else if (IS("--flip-back") && !eq)
            o->flip_back = 1;
        else if (IS("--tta") && !eq)
            o->tta = 1;
        else if (IS("--preview") && !eq)
            o->preview = 1;
        else if (IS("--skip-existing") && !eq)
            o->skip_existing = 1;
        else if (a[0] == '-' && a[1])
            return cr_cli_usage_error("denoise", "unknown option '%s'", a);
        else
            o->inputs[o->ninputs++] = a;
        if (target) {
            const char *v = opt_value(argc, argv, &i, eq);
            if (!v) return cr_cli_usage_error("denoise", "%.*s needs a value", (int)len, a);
            *target = v;
        }
#undef IS
    }
    if (!o->model) return cr_cli_usage_error("denoise", "no model given (-p MODEL.h5)");
    if (shard && cr_shard_parse(shard, &o->shard_index, &o->shard_count) != CR_OK)
        return cr_cli_usage_error("denoise", "%s", cr_error_message());
    if (strchr(o->suffix, '/')) return cr_cli_usage_error("denoise", "--suffix '%s' contains '/'", o->suffix);
    if (o->network_only && o->star) return cr_cli_usage_error("denoise", "--network-only takes MRC files, not -m");
    if (o->star && o->ninputs) return cr_cli_usage_error("denoise", "give -m STAR or MRC files, not both");
    if (!o->star && o->ninputs == 0) return cr_cli_usage_error("denoise", "no input files (-m MICS.star or FILE.mrc...)");
    return 0;
}

/* <outdir or the input's directory>/<input name without extension><suffix>.mrc */
cr_status denoise_output_path(const denoise_opts *o, const char *in, char *out, size_t outlen)
{
    const char *slash = strrchr(in, '/');
    const char *base = slash ? slash + 1 : in;
    const char *dot = strrchr(base, '.');
    int stem = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    int dirlen = slash ? (int)(slash - in) : 0;
    int n;
    if (o->outdir)
        n = snprintf(out, outlen, "%s/%.*s%s.mrc", o->outdir, stem, base, o->suffix);
    else if (slash)
        n = snprintf(out, outlen, "%.*s/%.*s%s.mrc", dirlen == 0 ? 1 : dirlen, dirlen == 0 ? "/" : in, stem, base,
                     o->suffix);
    else
        n = snprintf(out, outlen, "%.*s%s.mrc", stem, base, o->suffix);
    if (n < 0 || (size_t)n >= outlen) return cr_fail(CR_ERR_ARG, "%s: output path too long", in);
    return CR_OK;
}

/* Refuses an output that is one of the inputs (same file, however named):
 * writing it would destroy the data being denoised. */
cr_status denoise_check_not_input(const denoise_opts *o, const char *out)
{
    struct stat so, si;
    for (int i = 0; i < o->ninputs; i++) {
        int same = strcmp(out, o->inputs[i]) == 0;
        if (!same && stat(out, &so) == 0 && stat(o->inputs[i], &si) == 0)
            same = so.st_dev == si.st_dev && so.st_ino == si.st_ino;
        if (same)
            return cr_fail(CR_ERR_ARG, "%s: output would overwrite input %s (choose -o or --suffix)", out,
                           o->inputs[i]);
    }
    return CR_OK;
}

/* One image through the network alone; writes float32 MRC with its pixel size. */
static cr_status network_only_one(cr_waunet *m, const denoise_opts *o, const char *in, char *out, size_t outlen)
{
    cr_status st;
    cr_mrc_header h;
    float *img = NULL, *res = NULL;
    CR_TRY(denoise_output_path(o, in, out, outlen));
    CR_TRY(denoise_check_not_input(o, out));
    CR_TRY(cr_mrc_read(in, &h, &img));
    if (h.nz != 1) {
        st = cr_fail(CR_ERR_UNSUPPORTED, "%s: %d sections; --network-only takes single images", in, h.nz);
        goto cleanup;
    }
    CR_TRY(cr_mrc_check_finite(in, img, h.nx, h.ny, 1));
    res = malloc((size_t)h.nx * h.ny * sizeof *res);
    if (!res) {
        st = cr_fail(CR_ERR_NOMEM, "%s: out of memory for a %d x %d result", in, h.nx, h.ny);
        goto cleanup;
    }
    st = cr_waunet_apply_image(m, img, h.nx, h.ny, res);
    if (st != CR_OK) {
        cr_error_prefix("%s", in);
        goto cleanup;
    }
    CR_TRY(cr_mrc_write(out, res, h.nx, h.ny, 1, h.apix, "clrestore denoise --network-only"));
cleanup:
    free(img);
    free(res);
    return st;
}

/* Every input (of the shard) in turn, shared between the MPI ranks; a failing
 * file is reported by the rank that met it and the others still run.
 * Returns the exit code. */
static int denoise_network_only(cr_waunet *m, const denoise_opts *o)
{
    int rc = CR_EXIT_OK, first = 0, end = o->ninputs, failed = 0;
    char out[4096];
    cr_progress pr;
    cr_jobq *jq = NULL;
    if (o->shard_count) cr_shard_range(o->ninputs, o->shard_index, o->shard_count, &first, &end);
    if (cr_jobq_create(end - first, 0, NULL, NULL, &jq) != CR_OK) return cr_cli_fail();
    cr_progress_begin(&pr, "denoise", "images", end - first);
    for (int j = cr_jobq_next(jq), n = 0; j >= 0; j = cr_jobq_next(jq)) {
        const char *in = o->inputs[first + j];
        cr_error_clear();
        int ok = network_only_one(m, o, in, out, sizeof out) == CR_OK;
        if (!ok) {
            cr_progress_end(&pr);
            rc = cr_cli_fail();
            cr_progress_begin(&pr, "denoise", "images", end - first);
        } else {
            cr_debug("%s -> %s", in, out);
        }
        cr_jobq_finish(jq, j, ok, NULL, 0);
        cr_progress_update(&pr, ++n);
    }
    cr_progress_end(&pr);
    if (cr_jobq_close(jq, &failed) != CR_OK) rc = cr_cli_fail();
    if (failed) rc = CR_EXIT_FAIL;
    cr_jobq_free(jq);
    return rc;
}

static int run_denoise(int argc, char **argv, const cr_global_opts *g)
{
    denoise_opts o;
    cr_runtime *rt = NULL;
    cr_nn *nn = NULL;
    cr_checkpoint *ck = NULL;
    cr_waunet *m = NULL;
    int rc = parse(argc, argv, &o);
    if (rc != 0) goto cleanup;
    /* with --devices, the first listed device is the one opened here (worker 0) */
    char first[256], pick[32];
    const char *sel = cr_dist_device(g->device, pick, sizeof pick);
    if (o.devices) {
        snprintf(first, sizeof first, "%.*s", (int)strcspn(o.devices, ","), o.devices);
        sel = strcmp(first, "all") == 0 ? "0" : first;
    }
    if (cr_model_load(o.model, NULL, &ck) != CR_OK || (o.outdir && cr_mkdir_p(o.outdir) != CR_OK) ||
        cr_runtime_create(sel, &rt) != CR_OK ||
        cr_nn_create(rt, CR_FLOAT, &nn) != CR_OK || cr_waunet_create(nn, &ck->arch, &m) != CR_OK) {
        rc = cr_cli_fail();
        goto cleanup;
    }
    if (cr_waunet_upload(m, ck) != CR_OK) {
        cr_error_prefix("%s", o.model);
        rc = cr_cli_fail();
        goto cleanup;
    }
    cr_debug("model %s: levels %d, blocks %d, filters %d, expansion %d; device %s", o.model, ck->arch.levels,
             ck->arch.blocks, ck->arch.filters, ck->arch.expansion, rt->dev.device_name);
    rc = o.network_only ? denoise_network_only(m, &o) : denoise_full(rt, m, ck, &o);
cleanup:
    cr_waunet_free(m);
    cr_nn_free(nn);
    cr_checkpoint_free(ck);
    cr_runtime_free(rt);
    free(o.inputs);
    return rc;
}

const cr_command cr_cmd_denoise = {"denoise", run_denoise, "denoise micrographs with a trained model", denoise_usage};
