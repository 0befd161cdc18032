/* The job queue of dist.h: a counter behind a mutex, and with several MPI
 * ranks a server thread on rank 0 that hands the next index to whichever
 * rank asks and keeps the results. Waits poll (MPI_Test, then a short
 * sleep): a blocking MPI receive busy-spins in Open MPI and would take a
 * core from the rank 0 workers. */
#include "clrestore/dist.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef CLRESTORE_HAVE_MPI
#include <mpi.h>
#endif

enum { TAG_REQ = 71, TAG_RESULT, TAG_CLOSE, TAG_REPLY };

/* a message to rank 0: header then up to result_max bytes */
typedef struct msg_head {
    int32_t index, ok, len, pad;
} msg_head;

struct cr_jobq {
    pthread_mutex_t mu;
    int n, next, done, failed;
    size_t result_max;
    char **results;    /* (n) on rank 0 */
    void (*on_done)(void *ctx, int done);
    void *ctx;
    int remote;        /* several ranks */
    int server;        /* rank 0's server thread runs */
    pthread_t thread;
    unsigned char *buf; /* msg_head + result_max */
};

/* under q->mu */
static void record(cr_jobq *q, int i, int ok, const void *res, size_t len)
{
    if (i < 0 || i >= q->n) return;
    if (ok && q->results) {
        char *copy = malloc(len + 1);
        if (copy) {
            if (len) memcpy(copy, res, len);
            copy[len] = 0;
            free(q->results[i]);
            q->results[i] = copy;
        } else {
            ok = 0; /* cannot list it: counted as failed rather than lost */
        }
    }
    if (!ok) q->failed++;
    q->done++;
    if (q->on_done) q->on_done(q->ctx, q->done);
}

static int claim(cr_jobq *q)
{
    return q->next < q->n ? q->next++ : -1;
}

#ifdef CLRESTORE_HAVE_MPI
static void nap(void)
{
    struct timespec ts = {0, 200 * 1000};
    nanosleep(&ts, NULL);
}

static int wait_for(MPI_Request *r, MPI_Status *s)
{
    for (;;) {
        int flag = 0;
        if (MPI_Test(r, &flag, s) != MPI_SUCCESS) return -1;
        if (flag) return 0;
        nap();
    }
}

/* Rank 0: answers requests until every other rank has closed. */
static void *serve(void *arg)
{
    cr_jobq *q = arg;
    int open = cr_dist_size() - 1;
    size_t cap = sizeof(msg_head) + q->result_max;
    while (open > 0) {
        MPI_Request r;
        MPI_Status s;
        if (MPI_Irecv(q->buf, (int)cap, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &r) != MPI_SUCCESS ||
            wait_for(&r, &s) != 0)
            break;
        msg_head h;
        memcpy(&h, q->buf, sizeof h);
        if (s.MPI_TAG == TAG_REQ) {
            pthread_mutex_lock(&q->mu);
            int32_t i = claim(q);
            pthread_mutex_unlock(&q->mu);
            MPI_Send(&i, 1, MPI_INT32_T, s.MPI_SOURCE, TAG_REPLY, MPI_COMM_WORLD);
        } else if (s.MPI_TAG == TAG_RESULT) {
            size_t len = h.len > 0 && (size_t)h.len <= q->result_max ? (size_t)h.len : 0;
            pthread_mutex_lock(&q->mu);
            record(q, h.index, h.ok, q->buf + sizeof h, len);
            pthread_mutex_unlock(&q->mu);
        } else if (s.MPI_TAG == TAG_CLOSE) {
            open--;
        }
    }
    return NULL;
}
#endif

cr_status cr_jobq_create(int n, size_t result_max, void (*on_done)(void *ctx, int done), void *ctx,
                         cr_jobq **out)
{
    cr_jobq *q = calloc(1, sizeof *q);
    *out = NULL;
    if (!q) return cr_fail(CR_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&q->mu, NULL);
    q->n = n;
    q->result_max = result_max;
    q->on_done = on_done;
    q->ctx = ctx;
    q->remote = cr_dist_active() && cr_dist_size() > 1;
    if (cr_dist_rank() == 0 && !(q->results = calloc((size_t)n + 1, sizeof *q->results))) goto nomem;
    if (q->remote && !(q->buf = malloc(sizeof(msg_head) + result_max))) goto nomem;
#ifdef CLRESTORE_HAVE_MPI
    if (q->remote && cr_dist_rank() == 0) {
        if (pthread_create(&q->thread, NULL, serve, q) != 0) {
            cr_jobq_free(q);
            return cr_fail(CR_ERR_INTERNAL, "cannot start the job server thread");
        }
        q->server = 1;
    }
#endif
    *out = q;
    return CR_OK;
nomem:
    cr_jobq_free(q);
    return cr_fail(CR_ERR_NOMEM, "out of memory");
}

int cr_jobq_next(cr_jobq *q)
{
    int i = -1;
    pthread_mutex_lock(&q->mu);
    if (!q->remote || cr_dist_rank() == 0) {
        i = claim(q);
    } else {
#ifdef CLRESTORE_HAVE_MPI
        /* the lock serialises this rank's threads' MPI calls */
        int32_t got = -1;
        MPI_Request r;
        if (MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_REQ, MPI_COMM_WORLD) != MPI_SUCCESS ||
            MPI_Irecv(&got, 1, MPI_INT32_T, 0, TAG_REPLY, MPI_COMM_WORLD, &r) != MPI_SUCCESS ||
            wait_for(&r, MPI_STATUS_IGNORE) != 0) {
            cr_fail(CR_ERR_IO, "MPI: asking rank 0 for the next job failed");
            q->failed++;
            got = -1;
        }
        i = got;
#endif
    }
    pthread_mutex_unlock(&q->mu);
    return i;
}

void cr_jobq_finish(cr_jobq *q, int i, int ok, const void *result, size_t len)
{
    if (len > q->result_max) len = q->result_max, ok = 0;
    pthread_mutex_lock(&q->mu);
    if (!q->remote || cr_dist_rank() == 0) {
        record(q, i, ok, result, len);
    } else {
#ifdef CLRESTORE_HAVE_MPI
        msg_head h = {i, ok, ok ? (int32_t)len : 0, 0};
        memcpy(q->buf, &h, sizeof h);
        if (ok && len) memcpy(q->buf + sizeof h, result, len);
        if (MPI_Send(q->buf, (int)(sizeof h + (size_t)h.len), MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD) !=
            MPI_SUCCESS)
            q->failed++;
#endif
    }
    pthread_mutex_unlock(&q->mu);
}

cr_status cr_jobq_close(cr_jobq *q, int *failed)
{
    *failed = q->failed;
#ifdef CLRESTORE_HAVE_MPI
    if (q->remote) {
        if (cr_dist_rank() == 0) {
            pthread_join(q->thread, NULL);
            q->server = 0;
        } else if (MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_CLOSE, MPI_COMM_WORLD) != MPI_SUCCESS) {
            return cr_fail(CR_ERR_IO, "MPI: closing the job queue failed");
        }
        /* rank 0 counted every failure it was told of, the others only the
         * messages they could not send */
        int mine = q->failed, total = 0;
        if (MPI_Allreduce(&mine, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
            return cr_fail(CR_ERR_IO, "MPI_Allreduce failed");
        *failed = total;
        cr_dist_mark_agreed();
    }
#endif
    return CR_OK;
}

const void *cr_jobq_result(const cr_jobq *q, int i)
{
    return q->results && i >= 0 && i < q->n ? q->results[i] : NULL;
}

void cr_jobq_free(cr_jobq *q)
{
    if (!q) return;
#ifdef CLRESTORE_HAVE_MPI
    if (q->server) pthread_join(q->thread, NULL);
#endif
    for (int i = 0; q->results && i < q->n; i++) free(q->results[i]);
    free(q->results);
    free(q->buf);
    pthread_mutex_destroy(&q->mu);
    free(q);
}
