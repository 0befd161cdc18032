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
#include "clrestore/loader.h"
#include "clrestore/log.h"
#include "clrestore/nn.h"
#include "clrestore/trainset.h"
#include "clrestore/waunet.h"

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
    char path[4096];
} trainer;

/* history.csv: one line per completed epoch, rewritten whole (temp +
 * rename) from the checkpoint's record, with the timings of earlier lines
 * kept from the existing file (a line lost to a kill between the checkpoint
 * and this file has empty timings). */
static cr_status write_history(const trainer *t, double seconds, double rate)
{
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/history.csv", t->o->outdir);
    int n = t->ck->nhistory;
    char (*timing)[64] = calloc((size_t)n + 1, sizeof *timing);
    if (!timing) return cr_fail(CR_ERR_NOMEM, "out of memory");
    FILE *old = fopen(path, "r");
    while (old && fgets(line, sizeof line, old)) {
        int e = 0;
        char *c1 = strchr(line, ','), *tail = line;
        if (sscanf(line, "%d,", &e) != 1 || e < 1 || e > n || !c1) continue;
        for (int k = 0; k < 4 && tail; k++) tail = strchr(tail + 1, ',');
        if (tail) snprintf(timing[e - 1], sizeof timing[0], "%.*s", (int)strcspn(tail + 1, "\n"), tail + 1);
    }
    if (old) fclose(old);
    if (n > 0) snprintf(timing[n - 1], sizeof timing[0], "%.3f,%.3f", seconds, rate);
    cr_atomic_file f;
    cr_status st = cr_atomic_open(&f, path);
    if (st == CR_OK) {
        fprintf(f.fp, "epoch,train_loss,validation_loss,learning_rate,seconds,patches_per_second\n");
        for (int i = 0; i < n; i++) {
            const double *h = t->ck->history + (size_t)i * CR_HISTORY_COLUMNS;
            fprintf(f.fp, "%d,%.9g,%.9g,%.6g,%s\n", (int)h[0], h[1], h[2], h[3], timing[i][0] ? timing[i] : ",");
        }
        st = cr_atomic_commit(&f);
        cr_atomic_abort(&f);
    }
    free(timing);
    return st;
}

static cr_status save_checkpoint(trainer *t, int epoch_file, double seconds, double rate)
{
    cr_status st = CR_OK;
    CR_TRY(cr_waunet_download(t->net, t->ck, 1));
    cr_xoshiro r = cr_loader_state(t->loader);
    memcpy(t->ck->rng, r.s, sizeof t->ck->rng);
    if (epoch_file) {
        snprintf(t->path, sizeof t->path, "%s/epoch_%03d.h5", t->o->outdir, t->ck->epoch);
        CR_TRY(cr_checkpoint_save(t->ck, t->path));
        if (t->o->keep > 0 && t->ck->epoch > t->o->keep) {
            snprintf(t->path, sizeof t->path, "%s/epoch_%03d.h5", t->o->outdir, t->ck->epoch - t->o->keep);
            remove(t->path);
        }
    }
    /* history.csv before last.h5: a kill between the two leaves a history
     * one epoch ahead, which the resumed run rewrites; the other order could
     * leave a finished run's history short of its last epoch for good. */
    if (epoch_file) CR_TRY(write_history(t, seconds, rate));
    snprintf(t->path, sizeof t->path, "%s/last.h5", t->o->outdir);
    CR_TRY(cr_checkpoint_save(t->ck, t->path));
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
    int p = t->ts->meta.patch, b = t->o->batch;
    size_t pp = (size_t)p * p;
    int64_t n = t->nva;
    if (t->o->max_validation > 0 && n > t->o->max_validation) n = t->o->max_validation;
    double sum = 0;
    cr_tensor in = cr_waunet_input(t->net), out = cr_waunet_output(t->net);
    *loss = 0;
    for (int64_t i = 0; i < n; i += b) {
        int m = (int)(n - i < b ? n - i : b);
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
    *loss = n > 0 ? sum / ((double)n * pp) : 0;
cleanup:
    return st;
}

/* One optimiser step on a host batch. */
static cr_status train_step(trainer *t, const float *x, const float *y, double lr, double *loss)
{
    cr_status st = CR_OK;
    cr_tensor in = cr_waunet_input(t->net), target = cr_waunet_target(t->net);
    cr_adam hp = cr_adam_defaults();
    hp.lr = lr;
    CR_TRY(cr_tensor_write_f32(t->nn, &in, x));
    CR_TRY(cr_tensor_write_f32(t->nn, &target, y));
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
    CR_TRY(cr_waunet_prepare(t->net, CR_WAUNET_TRAINING, o->batch, t->ts->meta.patch, t->ts->meta.patch));
cleanup:
    cr_checkpoint_free(init);
    return st;
}

cr_status cr_train_run(cr_runtime *rt, const cr_train_opts *o, cr_train_report *rep)
{
    cr_status st = CR_OK;
    trainer t = {0};
    t.o = o;
    t.rt = rt;
    memset(rep, 0, sizeof *rep);
    if (o->epochs < 1 || o->batches_per_epoch < 1 || o->batch < 1)
        return cr_fail(CR_ERR_ARG, "epochs, batches per epoch and batch size must be positive");
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
    if (t.ck->epoch >= o->epochs) {
        st = cr_fail(CR_ERR_ARG, "%s/last.h5: already trained for %d epochs (--epochs %d)", o->outdir, t.ck->epoch,
                     o->epochs);
        goto cleanup;
    }
    t.vx = malloc((size_t)o->batch * p * p * sizeof(float));
    t.vy = malloc((size_t)o->batch * p * p * sizeof(float));
    t.vout = malloc((size_t)o->batch * p * p * sizeof(float));
    if (!t.vx || !t.vy || !t.vout) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    cr_xoshiro rng;
    memcpy(rng.s, t.ck->rng, sizeof rng.s);
    CR_TRY(cr_loader_create(t.ts, t.tr, t.ntr, o->batch, o->augment, &rng, &t.loader));
    cr_info("training on %lld pairs (%lld held out) of %dx%d at %.4f A/px; %d epochs x %d batches of %d",
            (long long)t.ntr, (long long)t.nva, p, p, t.ts->meta.apix, o->epochs, o->batches_per_epoch, o->batch);

    int total_batches = 0;
    while (t.ck->epoch < o->epochs) {
        int epoch = t.ck->epoch;
        double lr = cr_train_lr(o->lr, epoch, o->epochs), t0 = cr_now();
        int start_batch = t.ck->batch;
        char label[64];
        snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, o->epochs);
        cr_progress prog;
        cr_progress_begin(&prog, label, "batch", o->batches_per_epoch);
        for (int b = start_batch; b < o->batches_per_epoch; b++) {
            const float *x, *y;
            double loss = 0;
            CR_TRY(cr_loader_next(t.loader, &x, &y));
            CR_TRY(train_step(&t, x, y, lr, &loss));
            t.ck->batch = b + 1;
            t.ck->epoch_loss_sum += loss;
            total_batches++;
            snprintf(prog.extra, sizeof prog.extra, "loss %.4f  %.1f patches/s",
                     t.ck->epoch_loss_sum / (b + 1),
                     (double)(b + 1 - start_batch) * o->batch / (cr_now() - t0 + 1e-9));
            cr_progress_update(&prog, b + 1);
            int stop = (o->stop && *o->stop) || (o->stop_after_batches && total_batches >= o->stop_after_batches);
            if (stop && t.ck->batch < o->batches_per_epoch) {
                cr_progress_end(&prog);
                CR_TRY(save_checkpoint(&t, 0, 0, 0));
                rep->interrupted = 1;
                rep->epochs_done = t.ck->epoch;
                cr_info("stopped in epoch %d after batch %d; %s/last.h5 holds the state (--resume continues)",
                        epoch + 1, t.ck->batch, o->outdir);
                goto cleanup;
            }
        }
        cr_progress_end(&prog);
        double train_loss = t.ck->epoch_loss_sum / o->batches_per_epoch, val_loss = 0;
        CR_TRY(validation_loss(&t, &val_loss));
        double secs = cr_now() - t0;
        double row[CR_HISTORY_COLUMNS] = {epoch + 1, train_loss, val_loss, lr};
        CR_TRY(cr_checkpoint_add_history(t.ck, row));
        t.ck->epoch = epoch + 1;
        t.ck->batch = 0;
        t.ck->epoch_loss_sum = 0;
        CR_TRY(save_checkpoint(&t, 1, secs, (double)(o->batches_per_epoch - start_batch) * o->batch / secs));
        rep->epochs_done = t.ck->epoch;
        rep->last_train_loss = train_loss;
        rep->last_val_loss = val_loss;
        cr_info("epoch %d/%d: train loss %.5f, validation loss %.5f, lr %.3g, %.1f s", epoch + 1, o->epochs,
                train_loss, val_loss, lr, secs);
        if ((o->stop && *o->stop) || (o->stop_after_batches && total_batches >= o->stop_after_batches)) {
            rep->interrupted = t.ck->epoch < o->epochs;
            break;
        }
    }
cleanup:
    cr_loader_free(t.loader);
    cr_waunet_free(t.net);
    cr_nn_free(t.nn);
    cr_checkpoint_free(t.ck);
    cr_trainset_close(t.ts);
    free(t.tr), free(t.va), free(t.vx), free(t.vy), free(t.vout);
    return st;
}
