/* The training loop: batches from the loader thread, one optimiser step each,
 * validation and an atomic checkpoint after every epoch. A checkpoint holds
 * everything the next step depends on (weights, Adam moments and step, the
 * batch stream's state, the position in the epoch), so a resumed run follows
 * the uninterrupted trajectory bit for bit on the same device. */
#include "clrestore/train.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clrestore/checkpoint.h"
#include "clrestore/fileutil.h"
#include "clrestore/dist.h"
#include "clrestore/loader.h"
#include "clrestore/log.h"
#include "clrestore/nn.h"
#include "clrestore/train_dist.h"
#include "clrestore/trainset.h"
#include "clrestore/waunet.h"
#include "train_budget.h"

void cr_train_opts_default(cr_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->arch = cr_arch_default();
    o->epochs = 100;
    o->batches_per_epoch = 500;
    o->batch = 10;
    o->lr = 1e-4;
    o->seed = 1;
    o->validation_fraction = 0.05;
}

double cr_train_lr(double base, int epoch, int epochs)
{
    int quarter = epochs > 0 ? (int)((int64_t)4 * epoch / epochs) : 0;
    if (quarter > 3) quarter = 3;
    return base / (double)(1 << quarter);
}

typedef struct trainer {
    const cr_train_opts *o;
    cr_runtime *rt;
    cr_nn *nn;
    cr_waunet *net;
    cr_trainset *ts;
    int64_t *tr, ntr, *va, nva;
    cr_loader *loader;
    cr_checkpoint *ck;
    float *vx, *vy; /* (batch, P, P) validation inputs and targets */
    float *vout;    /* (batch, P, P) network output */
    int resume;     /* from last.h5 (--resume and the file exists) */
    cr_budget budget; /* --time-limit */
    /* MPI ranks (dist.h): this rank's rows [boff, boff + lb) of every global
     * batch; lb = the global batch with one rank */
    int boff, lb;
    cr_grad_reduce red;
    char path[4096];
} trainer;

/* history.csv: one line per completed epoch, rewritten whole (temp +
 * rename) from the checkpoint's record, with the timings of earlier lines
 * (seconds, patches_per_second, elapsed_seconds) kept from the existing
 * file (a line lost to a kill between the checkpoint and this file has
 * empty timings). best_epoch, the epoch best.h5 held after that line's
 * epoch, follows from the record. */
static cr_status write_history(const trainer *t, double seconds, double rate)
{
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/history.csv", t->o->outdir);
    int n = t->ck->nhistory;
    char (*timing)[64] = calloc((size_t)n + 1, sizeof *timing);
    char (*elapsed)[32] = calloc((size_t)n + 1, sizeof *elapsed);
    if (!timing || !elapsed) {
        free(timing), free(elapsed);
        return cr_fail(CR_ERR_NOMEM, "out of memory");
    }
    FILE *old = fopen(path, "r");
    while (old && fgets(line, sizeof line, old)) {
        int e = 0;
        char *field[8] = {line}; /* field k starts at field[k]; NULL when absent */
        if (sscanf(line, "%d,", &e) != 1 || e < 1 || e > n) continue;
        line[strcspn(line, "\n")] = '\0';
        for (int k = 1; k < 8; k++)
            if ((field[k] = field[k - 1] ? strchr(field[k - 1], ',') : NULL)) *field[k]++ = '\0';
        if (field[5]) snprintf(timing[e - 1], sizeof timing[0], "%s,%s", field[4], field[5]);
        if (field[7]) snprintf(elapsed[e - 1], sizeof elapsed[0], "%s", field[7]);
    }
    if (old) fclose(old);
    if (n > 0) snprintf(timing[n - 1], sizeof timing[0], "%.3f,%.3f", seconds, rate);
    if (n > 0 && t->o->time_limit > 0) snprintf(elapsed[n - 1], sizeof elapsed[0], "%.3f", t->ck->elapsed);
    cr_atomic_file f;
    cr_status st = cr_atomic_open(&f, path);
    if (st == CR_OK) {
        fprintf(f.fp, "epoch,train_loss,validation_loss,learning_rate,seconds,patches_per_second,best_epoch,"
                      "elapsed_seconds\n");
        for (int i = 0; i < n; i++) {
            const double *h = t->ck->history + (size_t)i * CR_HISTORY_COLUMNS;
            char best[16] = "";
            if (t->nva > 0)
                snprintf(best, sizeof best, "%d", cr_best_epoch(t->ck->history, CR_HISTORY_COLUMNS, i + 1));
            fprintf(f.fp, "%d,%.9g,%.9g,%.6g,%s,%s,%s\n", (int)h[0], h[1], h[2], h[3],
                    timing[i][0] ? timing[i] : ",", best, elapsed[i]);
        }
        st = cr_atomic_commit(&f);
        cr_atomic_abort(&f);
    }
    free(timing), free(elapsed);
    return st;
}

/* After an epoch: epoch_NNN.h5, best.h5 when its validation loss is the
 * lowest so far (the same bytes as that epoch file), history.csv, last.h5;
 * mid-epoch (an interruption): last.h5 only. */
static cr_status save_checkpoint(trainer *t, int epoch_file, double seconds, double rate)
{
    cr_status st = CR_OK;
    double t0 = cr_now();
    if (cr_dist_rank() > 0) return CR_OK; /* every rank holds the same state; rank 0 writes it */
    CR_TRY(cr_waunet_download(t->net, t->ck, 1));
    cr_xoshiro r = cr_loader_state(t->loader);
    memcpy(t->ck->rng, r.s, sizeof t->ck->rng);
    if (t->o->time_limit > 0) {
        t->ck->time_limit = t->o->time_limit;
        t->ck->elapsed = cr_budget_elapsed(&t->budget, t0);
    }
    if (epoch_file) {
        snprintf(t->path, sizeof t->path, "%s/epoch_%03d.h5", t->o->outdir, t->ck->epoch);
        CR_TRY(cr_checkpoint_save(t->ck, t->path));
        if (t->o->keep > 0 && t->ck->epoch > t->o->keep) {
            snprintf(t->path, sizeof t->path, "%s/epoch_%03d.h5", t->o->outdir, t->ck->epoch - t->o->keep);
            remove(t->path);
        }
        /* a kill before best.h5 is renamed into place leaves the previous
         * best.h5 and last.h5: the resumed run redoes this epoch */
        if (t->nva > 0 &&
            cr_best_epoch(t->ck->history, CR_HISTORY_COLUMNS, t->ck->nhistory) == t->ck->epoch) {
            snprintf(t->path, sizeof t->path, "%s/best.h5", t->o->outdir);
            CR_TRY(cr_checkpoint_save(t->ck, t->path));
        }
    }
    /* history.csv before last.h5: a kill between the two leaves a history
     * one epoch ahead, which the resumed run rewrites; the other order could
     * leave a finished run's history short of its last epoch for good. */
    if (epoch_file) CR_TRY(write_history(t, seconds, rate));
    snprintf(t->path, sizeof t->path, "%s/last.h5", t->o->outdir);
    CR_TRY(cr_checkpoint_save(t->ck, t->path));
    if (epoch_file) t->budget.save = cr_now() - t0;
cleanup:
    return st;
}

/* Mean squared error over the validation pairs in a fixed order (no
 * augmentation), batch by batch with the training shape; a last partial
 * batch is filled with copies of its first pair and only the real pairs are
 * counted (the error is summed on the host in double). */
static cr_status validation_loss(trainer *t, double *loss)
{
    cr_status st = CR_OK;
    int p = t->ts->meta.patch, b = t->lb;
    size_t pp = (size_t)p * p;
    int64_t n = t->nva, first = 0, end;
    if (t->o->max_validation > 0 && n > t->o->max_validation) n = t->o->max_validation;
    /* with MPI each rank takes a contiguous share, summed over the ranks below */
    int ranks = cr_dist_size(), r = cr_dist_rank();
    first = n * r / ranks, end = n * (r + 1) / ranks;
    double sum = 0;
    cr_tensor in = cr_waunet_input(t->net), out = cr_waunet_output(t->net);
    *loss = 0;
    for (int64_t i = first; i < end; i += b) {
        int m = (int)(end - i < b ? end - i : b);
        for (int k = 0; k < b; k++)
            CR_TRY(cr_trainset_read(t->ts, t->va[i + (k < m ? k : 0)], t->vx + k * pp, t->vy + k * pp));
        CR_TRY(cr_tensor_write_f32(t->nn, &in, t->vx));
        CR_TRY(cr_waunet_forward(t->net));
        CR_TRY(cr_tensor_read_f32(t->nn, &out, t->vout));
        for (size_t j = 0; j < (size_t)m * pp; j++) {
            double d = (double)t->vout[j] - t->vy[j];
            sum += d * d;
        }
    }
    CR_TRY(cr_dist_sum_doubles(&sum, 1));
    *loss = n > 0 ? sum / ((double)n * pp) : 0;
cleanup:
    return st;
}

/* One optimiser step on a host batch (the global batch; with MPI this rank
 * runs its rows and the ranks sum their gradients). *stop: in, this rank
 * wants to stop; out, the job stops after this step. */
static cr_status train_step(trainer *t, const float *x, const float *y, double lr, int *stop, double *loss)
{
    cr_status st = CR_OK;
    cr_tensor in = cr_waunet_input(t->net), target = cr_waunet_target(t->net);
    cr_adam hp = cr_adam_defaults();
    size_t off = (size_t)t->boff * t->ts->meta.patch * t->ts->meta.patch;
    hp.lr = lr;
    CR_TRY(cr_tensor_write_f32(t->nn, &in, x + off));
    CR_TRY(cr_tensor_write_f32(t->nn, &target, y + off));
    if (cr_dist_size() > 1)
        CR_TRY(cr_train_step_shared(t->net, &t->red, &hp, t->lb, t->o->batch, stop, loss));
    else
        CR_TRY(cr_waunet_train_step(t->net, &hp, loss));
cleanup:
    return st;
}

/* --resume where MODELDIR has no last.h5: a run killed before its first
 * checkpoint, which starts anew from the options given (so one command line
 * restarts a killed job whenever it was killed). Refused when later epoch
 * files show that the checkpoint was lost rather than never written: the
 * new run would overwrite them. An epoch_001.h5 alone can be the rest of a
 * first save cut short, and the new run rewrites it identically. */
static cr_status resume_without_checkpoint(const char *outdir)
{
    char path[4200];
    for (int e = 2; e <= 999; e++) {
        snprintf(path, sizeof path, "%s/epoch_%03d.h5", outdir, e);
        if (access(path, F_OK) == 0)
            return cr_fail(CR_ERR_ARG, "%s/last.h5: missing, but %s exists: nothing to resume from", outdir, path);
    }
    cr_info("%s/last.h5 does not exist yet: starting a new run", outdir);
    return CR_OK;
}

/* Sets t->ck: from last.h5 (resume), an initial model's weights, or a fresh
 * initialisation; then the model on the device from it. */
static cr_status start_state(trainer *t)
{
    cr_status st = CR_OK;
    const cr_train_opts *o = t->o;
    cr_checkpoint *init = NULL;
    if (t->resume) {
        snprintf(t->path, sizeof t->path, "%s/last.h5", o->outdir);
        CR_TRY(cr_checkpoint_load(t->path, &t->ck));
        if (!t->ck->has_optimizer) {
            st = cr_fail(CR_ERR_FORMAT, "%s: no optimiser state to resume from", t->path);
            goto cleanup;
        }
    } else {
        CR_TRY(cr_checkpoint_create(&o->arch, &t->ck));
        t->ck->seed = o->seed;
        cr_xoshiro r;
        cr_xoshiro_seed(&r, o->seed ^ 0x5deece66dULL); /* batch stream: its own stream of the seed */
        memcpy(t->ck->rng, r.s, sizeof t->ck->rng);
    }
    t->ck->lr = o->lr;
    t->ck->apix = t->ts->meta.apix;
    t->ck->max_resolution = t->ts->meta.max_resolution;
    t->ck->phaseflip = t->ts->meta.phaseflip;
    CR_TRY(cr_nn_create(t->rt, CR_FLOAT, &t->nn));
    CR_TRY(cr_waunet_create(t->nn, &t->ck->arch, &t->net));
    if (t->resume) {
        CR_TRY(cr_waunet_upload(t->net, t->ck));
    } else if (o->initial_model) {
        CR_TRY(cr_checkpoint_load_expect(o->initial_model, &o->arch, &init));
        init->has_optimizer = 0; /* weights only: a fresh optimiser */
        CR_TRY(cr_waunet_upload(t->net, init));
    } else {
        CR_TRY(cr_waunet_init(t->net, o->seed));
    }
    CR_TRY(cr_waunet_prepare(t->net, CR_WAUNET_TRAINING, t->lb, t->ts->meta.patch, t->ts->meta.patch));
    if (cr_dist_size() > 1) CR_TRY(cr_grad_reduce_create(t->net, &t->red));
cleanup:
    cr_checkpoint_free(init);
    return st;
}

/* What the run resumed from allows: a time-limited run resumes with a time
 * limit (its schedule follows the clock) and an untimed one without (its
 * schedule follows the epochs); nothing is left to do once the epochs, the
 * time or the patience are used up. */
static cr_status check_limits(const trainer *t)
{
    const cr_train_opts *o = t->o;
    const cr_checkpoint *c = t->ck;
    int started = c->epoch > 0 || c->batch > 0;
    if (t->resume && started && c->time_limit > 0 && o->time_limit <= 0)
        return cr_fail(CR_ERR_ARG,
                       "%s/last.h5: trained with --time-limit (%.0f s): give --time-limit again "
                       "(the same budget, or another)",
                       o->outdir, c->time_limit);
    if (t->resume && started && c->time_limit <= 0 && o->time_limit > 0)
        return cr_fail(CR_ERR_ARG,
                       "%s/last.h5: trained without --time-limit (its learning rate follows the "
                       "epochs): resume it without one, or start a new run",
                       o->outdir);
    if (o->epochs > 0 && c->epoch >= o->epochs)
        return cr_fail(CR_ERR_ARG, "%s/last.h5: already trained for %d epochs (--epochs %d)", o->outdir,
                       c->epoch, o->epochs);
    if (o->time_limit > 0 && c->elapsed >= o->time_limit)
        return cr_fail(CR_ERR_ARG, "%s/last.h5: the time limit is used up (%.1f s of %.1f s trained)",
                       o->outdir, c->elapsed, o->time_limit);
    if (o->patience > 0 && t->nva == 0)
        return cr_fail(CR_ERR_ARG,
                       "%s: --patience needs validation pairs (held-out micrographs or "
                       "--validation-fraction)",
                       o->trainset);
    int best = cr_best_epoch(c->history, CR_HISTORY_COLUMNS, c->nhistory);
    if (o->patience > 0 && c->batch == 0 && c->nhistory > 0 && c->epoch - best >= o->patience)
        return cr_fail(CR_ERR_ARG, "%s/last.h5: already stopped by --patience %d (best epoch %d of %d)",
                       o->outdir, o->patience, best, c->epoch);
    return CR_OK;
}

/* One line, once, when the training set is small for the network (see
 * CR_TRAIN_MIN_PIXELS_PER_PARAM). Advice, not a fault: --quiet silences it,
 * and a run that then fails on its data prints only the error. */
static void warn_small_set(const trainer *t)
{
    int p = t->ts->meta.patch;
    double params = (double)cr_arch_param_count(&t->ck->arch), pixels = (double)t->ntr * p * p;
    if (params > 0 && pixels / params < CR_TRAIN_MIN_PIXELS_PER_PARAM)
        cr_info("warning: %s: %lld training pairs of %dx%d are %.2g pixels per parameter of this "
                "%.0f-parameter network (below %g): it may overfit; best.h5 keeps the epoch of lowest "
                "validation loss (more micrographs, --augment or a smaller network help)",
                t->o->trainset, (long long)t->ntr, p, p, pixels / params, params,
                CR_TRAIN_MIN_PIXELS_PER_PARAM);
}

cr_status cr_train_run(cr_runtime *rt, const cr_train_opts *o, cr_train_report *rep)
{
    cr_status st = CR_OK;
    trainer t = {0};
    t.o = o;
    t.rt = rt;
    memset(rep, 0, sizeof *rep);
    double t_start = o->t_start > 0 ? o->t_start : cr_now();
    if ((o->epochs < 1 && !(o->epochs == 0 && o->time_limit > 0)) || o->batches_per_epoch < 1 || o->batch < 1)
        return cr_fail(CR_ERR_ARG, "epochs, batches per epoch and batch size must be positive");
    if (o->batch < cr_dist_size())
        return cr_fail(CR_ERR_ARG, "--batch-size %d: fewer pairs than the %d MPI ranks that share each batch", o->batch,
                       cr_dist_size());
    cr_train_share(o->batch, cr_dist_rank(), cr_dist_size(), &t.boff, &t.lb);
    CR_TRY(cr_trainset_open(o->trainset, &t.ts));
    int p = t.ts->meta.patch, align = 1 << o->arch.levels;
    if (p % align) {
        st = cr_fail(CR_ERR_ARG, "%s: patch size %d is not a multiple of 2^levels = %d", o->trainset, p, align);
        goto cleanup;
    }
    CR_TRY(cr_trainset_split(t.ts, o->validation_fraction, &t.tr, &t.ntr, &t.va, &t.nva));
    CR_TRY(cr_mkdir_p(o->outdir));
    snprintf(t.path, sizeof t.path, "%s/last.h5", o->outdir);
    if (!o->resume && access(t.path, F_OK) == 0) {
        st = cr_fail(CR_ERR_ARG, "%s exists: use --resume to continue that run, or another output directory",
                     t.path);
        goto cleanup;
    }
    t.resume = o->resume && access(t.path, F_OK) == 0;
    if (o->resume && !t.resume) CR_TRY(resume_without_checkpoint(o->outdir));
    CR_TRY(start_state(&t));
    CR_TRY(check_limits(&t));
    rep->epochs_done = t.ck->epoch;
    rep->best_epoch = t.nva > 0 ? cr_best_epoch(t.ck->history, CR_HISTORY_COLUMNS, t.ck->nhistory) : 0;
    if (!t.resume) warn_small_set(&t); /* once per run, not again on every requeue */
    t.vx = malloc((size_t)t.lb * p * p * sizeof(float));
    t.vy = malloc((size_t)t.lb * p * p * sizeof(float));
    t.vout = malloc((size_t)t.lb * p * p * sizeof(float));
    if (!t.vx || !t.vy || !t.vout) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    cr_xoshiro rng;
    memcpy(rng.s, t.ck->rng, sizeof rng.s);
    CR_TRY(cr_loader_create(t.ts, t.tr, t.ntr, o->batch, o->augment, &rng, &t.loader));
    /* a save before the first is timed: three files (epoch, best, last) of
     * weights and two Adam moments at an assumed 50 MB/s */
    int64_t nval = o->max_validation > 0 && t.nva > o->max_validation ? o->max_validation : t.nva;
    cr_budget_start(&t.budget, o->time_limit, t.ck->elapsed, t_start, cr_now(),
                    (nval + o->batch - 1) / o->batch,
                    0.05 + 3.0 * 12 * (double)cr_arch_param_count(&t.ck->arch) / 50e6);
    char cap[32] = "", plan[64] = "epochs";
    if (o->epochs > 0)
        snprintf(cap, sizeof cap, "/%d", o->epochs), snprintf(plan, sizeof plan, "%d epochs", o->epochs);
    cr_info("training on %lld pairs (%lld held out) of %dx%d at %.4f A/px; %s x %d batches of %d",
            (long long)t.ntr, (long long)t.nva, p, p, t.ts->meta.apix, plan, o->batches_per_epoch, o->batch);
    if (o->time_limit > 0)
        cr_info("time limit %.0f s (%.0f s used before): the learning rate halves at 25, 50 and 75%% of it",
                o->time_limit, t.ck->elapsed);

    int total_batches = 0, timed_out = 0;
    while (o->epochs == 0 || t.ck->epoch < o->epochs) {
        int epoch = t.ck->epoch;
        double lr = cr_train_lr(o->lr, epoch, o->epochs), t0 = cr_now();
        int start_batch = t.ck->batch;
        char label[64];
        snprintf(label, sizeof label, "epoch %d%s", epoch + 1, cap);
        cr_progress prog;
        cr_progress_begin(&prog, label, "batch", o->batches_per_epoch);
        int stop_now = 0;
        for (int b = start_batch; b < o->batches_per_epoch; b++) {
            const float *x, *y;
            double loss = 0, ts = cr_now();
            /* with a time limit: the step's rate from the time used, and the
             * epoch cut short while the closing validation and save still fit */
            if (o->time_limit > 0) {
                /* with MPI, rank 0's clock decides for every rank: the same
                 * learning rate and the same last step (no rank left waiting
                 * in the gradient sum) */
                double clock[2] = {cr_budget_over(&t.budget, ts), cr_budget_elapsed(&t.budget, ts)};
                if (cr_dist_size() > 1) {
                    if (cr_dist_rank() > 0) clock[0] = clock[1] = 0;
                    CR_TRY(cr_dist_sum_doubles(clock, 2));
                }
                if ((timed_out = clock[0] != 0)) {
                    cr_debug(
                        "time limit: %.2f s used, %.2f s kept to end (step %.3f s, validation %.3f s, save "
                        "%.3f s)",
                        cr_budget_elapsed(&t.budget, ts), cr_budget_reserve(&t.budget),
                        t.budget.steps > 1 ? t.budget.step_max : t.budget.step_first, t.budget.validation,
                        t.budget.save);
                    break;
                }
                lr = cr_train_lr_at(o->lr, clock[1] / o->time_limit);
            }
            /* every rank draws the same global batch (one seeded stream) and runs its rows */
            int stop = (o->stop && *o->stop) || (o->stop_after_batches && total_batches + 1 >= o->stop_after_batches);
            CR_TRY(cr_loader_next(t.loader, &x, &y));
            CR_TRY(train_step(&t, x, y, lr, &stop, &loss));
            /* one process: a signal during the step counts now; ranks agree through the step's reduce */
            if (cr_dist_size() == 1) stop = stop || (o->stop && *o->stop);
            stop_now = stop;
            cr_budget_step(&t.budget, cr_now() - ts);
            t.ck->batch = b + 1;
            t.ck->epoch_loss_sum += loss;
            total_batches++;
            snprintf(prog.extra, sizeof prog.extra, "loss %.4f  %.1f patches/s",
                     t.ck->epoch_loss_sum / (b + 1),
                     (double)(b + 1 - start_batch) * o->batch / (cr_now() - t0 + 1e-9));
            cr_progress_update(&prog, b + 1);
            if (stop && t.ck->batch < o->batches_per_epoch) {
                cr_progress_end(&prog);
                CR_TRY(save_checkpoint(&t, 0, 0, 0));
                rep->interrupted = 1;
                rep->epochs_done = t.ck->epoch;
                cr_info("stopped in epoch %d after batch %d; %s/last.h5 holds the state (--resume continues)",
                        epoch + 1, t.ck->batch, o->outdir);
                cr_dist_mark_agreed();
                goto cleanup;
            }
        }
        cr_progress_end(&prog);
        /* out of time before this invocation's first step in the epoch: the
         * epoch is left as the checkpoint has it (a resumed invocation whose
         * start-up took what was left closes nothing it did not train) */
        if (timed_out && t.ck->batch == start_batch) {
            if (total_batches == 0) {
                if (!t.resume) CR_TRY(save_checkpoint(&t, 0, 0, 0)); /* a run always leaves a checkpoint */
                cr_warn("%s: the time left (%.1f s of %.1f s) is too short for a training step and a save",
                        o->outdir, o->time_limit - cr_budget_elapsed(&t.budget, cr_now()), o->time_limit);
            }
            break;
        }
        double train_loss = t.ck->epoch_loss_sum / t.ck->batch, val_loss = 0, tv = cr_now();
        CR_TRY(validation_loss(&t, &val_loss));
        t.budget.validation = cr_now() - tv;
        double secs = cr_now() - t0;
        double row[CR_HISTORY_COLUMNS] = {epoch + 1, train_loss, val_loss, lr};
        CR_TRY(cr_checkpoint_add_history(t.ck, row));
        t.ck->epoch = epoch + 1;
        t.ck->epoch_loss_sum = 0;
        int done_batches = t.ck->batch;
        t.ck->batch = 0;
        CR_TRY(save_checkpoint(&t, 1, secs, (double)(done_batches - start_batch) * o->batch / secs));
        rep->epochs_done = t.ck->epoch;
        rep->last_train_loss = train_loss;
        rep->last_val_loss = val_loss;
        rep->best_epoch = t.nva > 0 ? cr_best_epoch(t.ck->history, CR_HISTORY_COLUMNS, t.ck->nhistory) : 0;
        cr_info("epoch %d%s: train loss %.5f, validation loss %.5f, lr %.3g, %.1f s%s", epoch + 1, cap,
                train_loss, val_loss, lr, secs, rep->best_epoch == epoch + 1 ? " (best)" : "");
        if (timed_out) {
            cr_info("time limit: epoch %d ended after %d of %d batches", epoch + 1, done_batches,
                    o->batches_per_epoch);
            break;
        }
        if (o->patience > 0 && t.ck->epoch - rep->best_epoch >= o->patience) {
            rep->patience_stop = 1;
            cr_info("no lower validation loss for %d epochs (--patience): stopping; best.h5 is epoch %d",
                    o->patience, rep->best_epoch);
            break;
        }
        int want = stop_now || (o->stop && *o->stop) || (o->stop_after_batches && total_batches >= o->stop_after_batches);
        if (!cr_dist_all_ok(!want)) {
            rep->interrupted = o->epochs == 0 || t.ck->epoch < o->epochs;
            break;
        }
    }
    rep->timed_out = timed_out;
    rep->elapsed = t.ck->elapsed;
    if (timed_out)
        cr_info(
            "time limit reached: %.1f s of %.1f s used; %s/last.h5 holds the state (--resume with a longer "
            "--time-limit continues)",
            t.ck->elapsed, o->time_limit, o->outdir);
    if (cr_dist_size() > 1 && total_batches > 0)
        cr_info("%d MPI ranks: gradient sum (%zu floats) %.2f ms per step (%.2f ms waiting for the slowest rank "
                "before it, with CLRESTORE_MPI_TIMING=1)",
                cr_dist_size(), t.red.total + 3, 1e3 * cr_dist_comm_seconds() / total_batches,
                1e3 * cr_dist_wait_seconds() / total_batches);
    /* every rank leaves after the same step: the exit codes agree */
    cr_dist_mark_agreed();
cleanup:
    cr_grad_reduce_free(&t.red);
    cr_loader_free(t.loader);
    cr_waunet_free(t.net);
    cr_nn_free(t.nn);
    cr_checkpoint_free(t.ck);
    cr_trainset_close(t.ts);
    free(t.tr), free(t.va), free(t.vx), free(t.vy), free(t.vout);
    return st;
}
