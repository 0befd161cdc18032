/* Batch drawing with a prefetch thread (one batch ahead: reading a batch of
 * 192² pairs from HDF5 takes milliseconds, a training step seconds). */
#include "clrestore/loader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void cr_xoshiro_seed(cr_xoshiro *r, uint64_t seed)
{
    /* splitmix64 (Steele, Lea & Flood 2014) fills the state from one word */
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        r->s[i] = z ^ (z >> 31);
    }
}

uint64_t cr_xoshiro_next(cr_xoshiro *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t cr_xoshiro_below(cr_xoshiro *r, uint64_t n)
{
    /* Lemire 2019, "Fast random integer generation in an interval" */
    unsigned __int128 m = (unsigned __int128)cr_xoshiro_next(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (unsigned __int128)cr_xoshiro_next(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

cr_status cr_trainset_split(const cr_trainset *t, double fraction, int64_t **train, int64_t *ntrain, int64_t **val,
                            int64_t *nval)
{
    *train = malloc((size_t)t->n * sizeof(int64_t) + 8);
    *val = malloc((size_t)t->n * sizeof(int64_t) + 8);
    *ntrain = *nval = 0;
    if (!*train || !*val) {
        free(*train), free(*val);
        *train = *val = NULL;
        return cr_fail(CR_ERR_NOMEM, "%s: out of memory splitting %lld pairs", t->path, (long long)t->n);
    }
    int64_t cut = t->n;
    int by_micrograph = t->validation && t->micrograph;
    if (!by_micrograph && fraction > 0 && t->n > 1) {
        int64_t nv = (int64_t)(fraction * (double)t->n + 0.5);
        if (nv < 1) nv = 1;
        cut = t->n - nv;
    }
    for (int64_t i = 0; i < t->n; i++) {
        int is_val = by_micrograph ? t->validation[t->micrograph[i]] : i >= cut;
        if (is_val) (*val)[(*nval)++] = i;
        else (*train)[(*ntrain)++] = i;
    }
    if (*ntrain == 0) {
        free(*train), free(*val);
        *train = *val = NULL;
        return cr_fail(CR_ERR_FORMAT, "%s: no training pairs left after holding out validation micrographs", t->path);
    }
    return CR_OK;
}

void cr_dihedral(float *out, const float *in, int p, int d)
{
    for (int r = 0; r < p; r++)
        for (int c = 0; c < p; c++) {
            int sr = r, sc = c;
            if (d & 1) sc = p - 1 - sc;
            if (d & 2) sr = p - 1 - sr;
            if (d & 4) {
                int tmp = sr;
                sr = sc;
                sc = tmp;
            }
            out[(size_t)r * p + c] = in[(size_t)sr * p + sc];
        }
}

typedef struct cr_slot {
    float *even, *odd; /* (batch, P, P) */
    cr_xoshiro after;      /* stream state after drawing this batch */
    int ready;
    cr_status status;
    char message[512];
} cr_slot;

struct cr_loader {
    cr_trainset *t;
    int64_t *indices, n;
    int batch, augment, p;
    cr_xoshiro rng;           /* producer's stream */
    cr_xoshiro consumed;      /* state after the last batch handed out */
    cr_slot slot[2];
    int next_fill, next_take;
    int held; /* slot the consumer is using, or -1 */
    int stop, started;
    float *scratch_e, *scratch_o; /* (P, P) */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* Draws and reads one batch into s (producer thread, no lock held). */
static void fill_slot(cr_loader *l, cr_slot *s)
{
    size_t pp = (size_t)l->p * l->p;
    s->status = CR_OK;
    for (int b = 0; b < l->batch && s->status == CR_OK; b++) {
        int64_t idx = l->indices[cr_xoshiro_below(&l->rng, (uint64_t)l->n)];
        int swap = 0, d = 0;
        if (l->augment) {
            uint64_t r = cr_xoshiro_below(&l->rng, 16);
            swap = (int)(r >> 3);
            d = (int)(r & 7);
        }
        float *e = s->even + b * pp, *o = s->odd + b * pp;
        if (swap) {
            float *tmp = e;
            e = o;
            o = tmp;
        }
        if (!l->augment || d == 0) {
            s->status = cr_trainset_read(l->t, idx, e, o);
        } else {
            s->status = cr_trainset_read(l->t, idx, l->scratch_e, l->scratch_o);
            cr_dihedral(e, l->scratch_e, l->p, d);
            cr_dihedral(o, l->scratch_o, l->p, d);
        }
        if (s->status != CR_OK) snprintf(s->message, sizeof s->message, "%s", cr_error_message());
    }
    s->after = l->rng;
}

static void *producer(void *arg)
{
    cr_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        cr_slot *s = &l->slot[l->next_fill];
        while (!l->stop && s->ready) pthread_cond_wait(&l->cv, &l->mu);
        if (l->stop) break;
        pthread_mutex_unlock(&l->mu);
        fill_slot(l, s);
        pthread_mutex_lock(&l->mu);
        s->ready = 1;
        l->next_fill ^= 1;
        pthread_cond_broadcast(&l->cv);
        if (s->status != CR_OK) break; /* the consumer reports it; draw no more */
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

void cr_loader_free(cr_loader *l)
{
    if (!l) return;
    if (l->started) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cv);
    }
    for (int i = 0; i < 2; i++) free(l->slot[i].even), free(l->slot[i].odd);
    free(l->scratch_e), free(l->scratch_o);
    free(l->indices);
    free(l);
}

cr_status cr_loader_create(cr_trainset *t, const int64_t *indices, int64_t n, int batch, int augment,
                           const cr_xoshiro *rng, cr_loader **out)
{
    *out = NULL;
    if (n <= 0 || batch <= 0) return cr_fail(CR_ERR_ARG, "%s: no pairs to draw batches from", t->path);
    cr_loader *l = calloc(1, sizeof *l);
    if (!l) return cr_fail(CR_ERR_NOMEM, "out of memory for the batch loader");
    l->t = t;
    l->n = n;
    l->batch = batch;
    l->augment = augment;
    l->p = t->meta.patch;
    l->rng = l->consumed = *rng;
    l->held = -1;
    size_t bytes = (size_t)batch * l->p * l->p * sizeof(float);
    l->indices = malloc((size_t)n * sizeof(int64_t));
    l->scratch_e = malloc((size_t)l->p * l->p * sizeof(float));
    l->scratch_o = malloc((size_t)l->p * l->p * sizeof(float));
    int ok = l->indices && l->scratch_e && l->scratch_o;
    for (int i = 0; i < 2 && ok; i++)
        ok = (l->slot[i].even = malloc(bytes)) != NULL && (l->slot[i].odd = malloc(bytes)) != NULL;
    if (!ok) {
        cr_loader_free(l);
        return cr_fail(CR_ERR_NOMEM, "out of memory for two batches of %d pairs", batch);
    }
    memcpy(l->indices, indices, (size_t)n * sizeof(int64_t));
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (pthread_create(&l->thread, NULL, producer, l) != 0) {
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cv);
        cr_loader_free(l);
        return cr_fail(CR_ERR_INTERNAL, "cannot start the batch loader thread");
    }
    l->started = 1;
    *out = l;
    return CR_OK;
}

cr_status cr_loader_next(cr_loader *l, const float **even, const float **odd)
{
    pthread_mutex_lock(&l->mu);
    /* The slot handed out by the previous call is the consumer's no longer:
     * give it back to the producer, then wait for the other one. */
    if (l->held >= 0) {
        l->slot[l->held].ready = 0;
        l->held = -1;
        pthread_cond_broadcast(&l->cv);
    }
    cr_slot *s = &l->slot[l->next_take];
    while (!s->ready) pthread_cond_wait(&l->cv, &l->mu);
    cr_status st = s->status;
    if (st != CR_OK) {
        pthread_mutex_unlock(&l->mu);
        return cr_fail(st, "%s", s->message);
    }
    *even = s->even;
    *odd = s->odd;
    l->consumed = s->after;
    l->held = l->next_take;
    l->next_take ^= 1;
    pthread_mutex_unlock(&l->mu);
    return CR_OK;
}

cr_xoshiro cr_loader_state(const cr_loader *l) { return l->consumed; }
