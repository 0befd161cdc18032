/* The full denoising pipeline of `clrestore denoise` over the rows of a STAR
 * file or a list of MRC files: per micrograph read, denoise (host/pipeline/
 * denoise.c), write atomically, optional preview; then
 * denoised_micrographs.star listing the outputs with the input's other
 * columns (and optics table) kept. */
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clrestore/denoise.h"
#include "clrestore/dist.h"
#include "clrestore/log.h"
#include "clrestore/mrc.h"
#include "clrestore/prepare.h"
#include "clrestore/preview.h"
#include "clrestore/npy.h"
#include "clrestore/star.h"
#include "denoise_cli.h"

/* The table cr_star_micrographs reads rows from: data_micrographs, else the
 * first loop with _rlnMicrographName. */
static const cr_star_table *micrograph_table(const cr_star_file *f)
{
    const cr_star_table *t = cr_star_find_block(f, "micrographs");
    if (t && cr_star_col_index(t, "_rlnMicrographName") >= 0) return t;
    for (int i = 0; i < cr_star_nblocks(f); i++) {
        t = cr_star_block(f, i);
        if (cr_star_is_loop(t) && cr_star_col_index(t, "_rlnMicrographName") >= 0) return t;
    }
    return NULL;
}

typedef struct full_run {
    const denoise_opts *o;
    cr_denoise_opts dopt;
    cr_star_file *in_star, *out_star;
    const cr_star_table *src_table; /* micrographs table of the input STAR */
    cr_star_table *out_table;
    cr_micrograph_row *rows;
    int nrows;
    char star_out[4200];
} full_run;

/* Output STAR: in the output directory, else beside the input STAR, else in
 * the working directory; names inside it relative to its directory. */
static cr_status setup_star(full_run *r)
{
    cr_status st = CR_OK;
    const denoise_opts *o = r->o;
    char dir[4096];
    if (o->outdir)
        snprintf(dir, sizeof dir, "%s", o->outdir);
    else if (o->star) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s", o->star);
        snprintf(dir, sizeof dir, "%s", dirname(tmp));
    } else
        snprintf(dir, sizeof dir, ".");
    if (o->shard_count)
        snprintf(r->star_out, sizeof r->star_out, "%s/denoised_micrographs.shard_%d_of_%d.star", dir, o->shard_index,
                 o->shard_count);
    else
        snprintf(r->star_out, sizeof r->star_out, "%s/denoised_micrographs.star", dir);
    CR_TRY(cr_star_new(&r->out_star));
    if (r->in_star) {
        const cr_star_table *optics = cr_star_find_block(r->in_star, "optics");
        cr_star_table *copy = NULL;
        if (optics) CR_TRY(cr_star_copy_table(r->out_star, optics, NULL, 1, &copy));
        CR_TRY(cr_star_copy_table(r->out_star, r->src_table, "micrographs", 0, &r->out_table));
    } else {
        int col = 0;
        CR_TRY(cr_star_add_table(r->out_star, "micrographs", 1, &r->out_table));
        CR_TRY(cr_star_add_column(r->out_star, r->out_table, "_rlnMicrographName", &col));
    }
cleanup:
    return st;
}

/* Adds the STAR row of a written output: the input row with the new name. */
static cr_status star_row(full_run *r, int row, const char *name)
{
    int ncols = cr_star_ncols(r->out_table), row_out = 0;
    const char **vals = calloc((size_t)ncols + 1, sizeof *vals);
    if (!vals) return cr_fail(CR_ERR_NOMEM, "out of memory");
    int name_col = cr_star_col_index(r->out_table, "_rlnMicrographName");
    for (int c = 0; c < ncols; c++)
        vals[c] = c == name_col ? name : r->src_table ? cr_star_value(r->src_table, row, c) : "";
    cr_status st = cr_star_append_row(r->out_star, r->out_table, vals, &row_out);
    free(vals);
    return st;
}

static void preview_path(const char *out, char *pv, size_t len)
{
    size_t n = strlen(out);
    if (n > 4 && strcmp(out + n - 4, ".mrc") == 0) n -= 4;
    snprintf(pv, len, "%.*s_preview.png", (int)n, out);
}

/* One micrograph: in = resolved input path, name = as it will appear in the
 * output STAR's directory terms; *written = 1 when an output exists after. */
static cr_status one(full_run *r, cr_denoiser *den, const char *in, const cr_ctf_params *ctf, double star_apix,
                     char *out, size_t outlen, int *written)
{
    cr_status st = CR_OK;
    cr_mrc_header h;
    float *img = NULL, *res = NULL, *braw = NULL, *bden = NULL;
    int bx = 0, by = 0;
    *written = 0;
    CR_TRY(denoise_output_path(r->o, in, out, outlen));
    if (strcmp(out, in) == 0) {
        st = cr_fail(CR_ERR_ARG, "%s: output would overwrite the input (choose -o or --suffix)", out);
        goto cleanup;
    }
    CR_TRY(denoise_check_not_input(r->o, out));
    if (r->o->skip_existing && access(out, F_OK) == 0) {
        /* outputs appear only complete (temp + rename); the preview is
         * written after the image, so a kill can leave it missing */
        char pv[4200];
        preview_path(out, pv, sizeof pv);
        if (!r->o->preview || access(pv, F_OK) == 0) {
            *written = 1;
            goto cleanup;
        }
    }
    CR_TRY(cr_mrc_read(in, &h, &img));
    if (h.nz != 1) {
        st = cr_fail(CR_ERR_UNSUPPORTED, "%s: %d sections; denoise takes single micrographs", in, h.nz);
        goto cleanup;
    }
    CR_TRY(cr_mrc_check_finite(in, img, h.nx, h.ny, 1));
    double apix = star_apix > 0 ? star_apix : h.apix;
    if (!(apix > 0)) {
        st = cr_fail(CR_ERR_FORMAT, "%s: pixel size unknown (not in the STAR file nor the MRC header)", in);
        goto cleanup;
    }
    res = malloc((size_t)h.nx * h.ny * sizeof(float));
    if (!res) {
        st = cr_fail(CR_ERR_NOMEM, "%s: out of memory", in);
        goto cleanup;
    }
    st = cr_denoise_micrograph(den, img, h.nx, h.ny, apix, ctf, &r->dopt, res, r->o->preview ? &braw : NULL,
                               r->o->preview ? &bden : NULL, &bx, &by);
    if (st != CR_OK) {
        cr_error_prefix("%s", in);
        goto cleanup;
    }
    CR_TRY(cr_mrc_write(out, res, h.nx, h.ny, 1, (float)apix, "clrestore denoise"));
    *written = 1;
    if (r->o->preview) {
        char pv[4200], title[4200];
        preview_path(out, pv, sizeof pv);
        snprintf(title, sizeof title, "%s", in);
        cr_preview_panel panels[2] = {{braw, bx, by, "raw (binned, band-limited)"}, {bden, bx, by, "denoised"}};
        CR_TRY(cr_preview_write(pv, panels, 2, title, 800));
    }
cleanup:
    free(img), free(res), free(braw), free(bden);
    return st;
}

static cr_status options(full_run *r, const cr_checkpoint *ck)
{
    const denoise_opts *o = r->o;
    cr_denoise_opts *d = &r->dopt;
    cr_denoise_opts_default(d);
    if (ck->max_resolution > 0) d->max_resolution = ck->max_resolution;
    d->model_apix = ck->apix;
    d->phaseflip = ck->phaseflip != 0 && !o->no_phaseflip;
    if (ck->phaseflip == 1 && o->no_phaseflip)
        cr_warn("%s was trained on phase-flipped images; denoising without phase flip", o->model);
    if (o->max_res) {
        if (cr_opt_double("denoise", "--max-resolution", o->max_res, 0.1, 1000, &d->max_resolution)) return CR_ERR_ARG;
        d->model_apix = 0; /* the user chose another sampling on purpose */
    }
    if (o->merge_res && cr_opt_double("denoise", "--merge-resolution", o->merge_res, 0.1, 1000, &d->merge_resolution))
        return CR_ERR_ARG;
    if (o->merge_width && cr_opt_double("denoise", "--merge-width", o->merge_width, 0.01, 1000, &d->merge_width))
        return CR_ERR_ARG;
    if (o->tile && cr_opt_int("denoise", "--tile", o->tile, 8, 65536, &d->tile)) return CR_ERR_ARG;
    d->merge_noisy = o->merge_noisy;
    d->flip_back = o->flip_back;
    d->tta = o->tta;
    if (d->phaseflip && !o->star) {
        cr_cli_usage_error("denoise", "phase flipping needs each micrograph's CTF: give -m MICS.star, or --no-phaseflip");
        return CR_ERR_ARG;
    }
    return CR_OK;
}

/* One device: its own runtime (worker 0 borrows the caller's), engine,
 * model copy, Fourier object and denoiser. */
typedef struct worker {
    full_run *r;
    cr_runtime *rt;
    int own;          /* rt, nn, net made here (not worker 0's) */
    cr_nn *nn;
    cr_waunet *net;
    cr_fourier *fw;
    cr_denoiser den;
    pthread_t thread;
    cr_status st;     /* set-up failure */
} worker;

/* The micrographs are jobs of a cr_jobq (dist.h): handed out one at a time
 * to the workers of every rank; rank 0 keeps each output's STAR name, in
 * input order. Jobs are rows first .. first + n - 1 (--shard). */
typedef struct queue {
    pthread_mutex_t mu; /* error lines and the progress line */
    int n, first;
    cr_jobq *jq;
    cr_progress *pr;
} queue;

static queue q;

static void progress_done(void *ctx, int done)
{
    pthread_mutex_lock(&q.mu);
    cr_progress_update(q.pr, done);
    pthread_mutex_unlock(&q.mu);
}

/* Takes micrographs one at a time until none is left. Errors are printed
 * (one line each, by the worker that met them) and counted; the others go on. */
static void *work(void *arg)
{
    worker *w = arg;
    full_run *r = w->r;
    const denoise_opts *o = r->o;
    for (;;) {
        int j = cr_jobq_next(q.jq), i = q.first + j;
        if (j < 0) break;
        char in[4096], out[4096], name[4096] = "";
        cr_ctf_params ctf, *pctf = NULL;
        double apix = 0;
        int written = 0;
        cr_status st = CR_OK;
        cr_error_clear();
        if (o->star) {
            const cr_micrograph_row *row = &r->rows[i];
            st = cr_resolve_path(o->star, row->name, in, sizeof in);
            ctf = cr_ctf_from_row(row);
            pctf = &ctf;
            apix = row->apix;
        } else {
            snprintf(in, sizeof in, "%s", o->inputs[i]);
        }
        if (st == CR_OK) st = one(r, &w->den, in, pctf, apix, out, sizeof out, &written);
        if (st == CR_OK && written) {
            if (o->outdir) {
                char tmp[4096];
                snprintf(tmp, sizeof tmp, "%s", out);
                snprintf(name, sizeof name, "%s", basename(tmp));
            } else if (o->star) {
                denoise_opts rel = *o;
                rel.outdir = NULL;
                st = denoise_output_path(&rel, r->rows[i].name, name, sizeof name);
            } else {
                snprintf(name, sizeof name, "%s", out);
            }
        }
        if (st == CR_OK) cr_debug("rank %d: %s -> %s", cr_dist_rank(), in, out);
        if (st != CR_OK) {
            pthread_mutex_lock(&q.mu);
            cr_progress_end(q.pr);
            cr_cli_fail();
            cr_progress_begin(q.pr, "denoise", "mic", q.n);
            pthread_mutex_unlock(&q.mu);
        }
        cr_jobq_finish(q.jq, j, st == CR_OK && written, name, strlen(name));
    }
    return NULL;
}

static cr_status worker_setup(worker *w, const cr_checkpoint *ck)
{
    cr_status st = CR_OK;
    if (w->own) {
        CR_TRY(cr_nn_create(w->rt, CR_FLOAT, &w->nn));
        CR_TRY(cr_waunet_create(w->nn, &ck->arch, &w->net));
        CR_TRY(cr_waunet_upload(w->net, ck));
    }
    CR_TRY(cr_fourier_create(w->rt, &w->fw));
    CR_TRY(cr_denoiser_init(&w->den, w->fw, w->net));
cleanup:
    return st;
}

static void worker_free(worker *w)
{
    cr_fourier_free(w->fw);
    if (w->own) {
        cr_waunet_free(w->net);
        cr_nn_free(w->nn);
        cr_runtime_free(w->rt);
    }
}

/* The devices of --devices: "all", or a comma list of indices or names. */
static cr_status device_list(const char *spec, cr_device_desc **sel, int *nsel)
{
    cr_device_desc *all = NULL;
    int n = 0;
    cr_status st = cr_devices_list(&all, &n);
    *sel = NULL;
    *nsel = 0;
    if (st != CR_OK) return st;
    *sel = calloc((size_t)n + 64, sizeof **sel);
    if (!*sel) {
        free(all);
        return cr_fail(CR_ERR_NOMEM, "out of memory");
    }
    if (strcmp(spec, "all") == 0) {
        for (int i = 0; i < n; i++) (*sel)[(*nsel)++] = all[i];
    } else {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", spec);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && *nsel < n + 64;
             tok = strtok_r(NULL, ",", &save)) {
            int idx = 0;
            if ((st = cr_device_select(all, n, tok, &idx)) != CR_OK) break;
            (*sel)[(*nsel)++] = all[idx];
        }
    }
    free(all);
    if (st == CR_OK && *nsel == 0) st = cr_fail(CR_ERR_NO_DEVICE, "--devices %s: no device", spec);
    return st;
}

int denoise_full(cr_runtime *rt, cr_waunet *m, const cr_checkpoint *ck, const denoise_opts *o)
{
    full_run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    int rc = CR_EXIT_OK, nw = 1, ok = 0;
    cr_status st_close = CR_OK;
    worker *w = NULL;
    cr_device_desc *devs = NULL;
    if (options(&r, ck) != CR_OK) return CR_EXIT_USAGE;
    if (o->devices && device_list(o->devices, &devs, &nw) != CR_OK) return cr_cli_fail();
    if (o->star) {
        if (cr_micrograph_list_read(o->star, r.dopt.phaseflip, &r.in_star) != CR_OK ||
            cr_star_micrographs(r.in_star, r.dopt.phaseflip, &r.rows, &r.nrows) != CR_OK) {
            rc = cr_cli_fail();
            goto cleanup;
        }
        r.src_table = micrograph_table(r.in_star);
    }
    w = calloc((size_t)nw, sizeof *w);
    if (!w || setup_star(&r) != CR_OK) {
        rc = w ? cr_cli_fail() : CR_EXIT_FAIL;
        goto cleanup;
    }
    /* worker 0 runs on the caller's runtime and model (the first device of
     * --devices is the one run_denoise opened); the others get their own */
    for (int i = 0; i < nw; i++) {
        w[i].r = &r;
        if (i == 0) {
            w[i].rt = rt, w[i].net = m;
        } else {
            w[i].own = 1;
            if (cr_runtime_create_for(&devs[i], &w[i].rt) != CR_OK) {
                rc = cr_cli_fail();
                goto cleanup;
            }
        }
        if (worker_setup(&w[i], ck) != CR_OK) {
            rc = cr_cli_fail();
            goto cleanup;
        }
    }
    cr_progress pr;
    int total = o->star ? r.nrows : o->ninputs, end = total, failed = 0;
    q.first = 0;
    if (o->shard_count) cr_shard_range(total, o->shard_index, o->shard_count, &q.first, &end);
    q.n = end - q.first;
    q.pr = &pr;
    pthread_mutex_init(&q.mu, NULL);
    cr_progress_begin(&pr, "denoise", "mic", q.n);
    if (cr_jobq_create(q.n, 4096, progress_done, NULL, &q.jq) != CR_OK) {
        rc = cr_cli_fail();
        goto cleanup;
    }
    int started = 0;
    for (int i = 1; i < nw; i++)
        if (pthread_create(&w[i].thread, NULL, work, &w[i]) == 0) started = i;
        else break;
    work(&w[0]);
    for (int i = 1; i <= started; i++) pthread_join(w[i].thread, NULL);
    st_close = cr_jobq_close(q.jq, &failed);
    cr_progress_end(&pr);
    pthread_mutex_destroy(&q.mu);
    if (st_close != CR_OK) {
        rc = cr_cli_fail();
        goto cleanup;
    }
    if (failed) rc = CR_EXIT_FAIL;
    if (cr_dist_rank() > 0) goto cleanup; /* rank 0 alone lists the outputs */
    for (int j = 0; j < q.n; j++) {
        const char *name = cr_jobq_result(q.jq, j);
        if (name) {
            if (star_row(&r, o->star ? r.rows[q.first + j].source_row : 0, name) != CR_OK) {
                rc = cr_cli_fail();
                goto cleanup;
            }
            ok++;
        }
    }
    /* a shard writes its listing even when empty: star-merge checks that
     * every shard is there */
    if ((ok > 0 || o->shard_count) && cr_star_write(r.out_star, r.star_out) != CR_OK) {
        rc = cr_cli_fail();
        goto cleanup;
    }
    int ranks = cr_dist_size();
    cr_info("denoised %d of %d micrographs on %d device%s%s%s; list in %s", ok, q.n, nw * ranks,
            nw * ranks == 1 ? "" : "s", ranks > 1 ? " (MPI ranks)" : "", failed ? " (see errors above)" : "",
            r.star_out);
cleanup:
    for (int i = 0; w && i < nw; i++) worker_free(&w[i]);
    free(w);
    free(devs);
    cr_jobq_free(q.jq);
    q.jq = NULL;
    cr_star_free(r.out_star);
    cr_micrograph_rows_free(r.rows, r.nrows);
    cr_star_free(r.in_star);
    return rc;
}
