/* Distributed runs: MPI when the build has it (CLRESTORE_MPI=ON) and the
 * process was started by a launcher (mpirun, srun), else one process of one.
 * Everything here also works in the default build, where the world has one
 * rank and the job queue is a mutex-guarded counter; callers need no #ifdef.
 *
 * Only the MPI standard is used (MPI-3: MPI_Comm_split_type, MPI_Get_library_version),
 * so Open MPI and MPICH both work. */
#ifndef CLRESTORE_DIST_H
#define CLRESTORE_DIST_H

#include <stddef.h>

#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Initialises MPI when built with it and a launcher started us (its
 * environment variables are present); a plain `clrestore ...` never touches
 * MPI. Asks for MPI_THREAD_SERIALIZED (the job queue's server thread on rank 0). */
cr_status cr_dist_init(int *argc, char ***argv);
/* Ends MPI. rc is this rank's exit code: a failure that the ranks did not
 * agree on (cr_dist_mark_agreed not called since) aborts the whole job with
 * rc, so no rank waits for a partner that has given up. */
void cr_dist_finalize(int rc);
/* After a collective step from which every rank returns the same exit code. */
void cr_dist_mark_agreed(void);

int cr_dist_built_with_mpi(void);
int cr_dist_active(void);     /* MPI initialised (world size may still be 1) */
int cr_dist_rank(void);       /* 0 without MPI */
int cr_dist_size(void);       /* 1 without MPI */
int cr_dist_local_rank(void); /* rank among the processes of this node */
/* "Open MPI v4.1.4, ..." (first line of MPI_Get_library_version), or "" when
 * built without MPI. */
const char *cr_dist_library(void);

/* The device selector for this rank: user (--device / CLRESTORE_DEVICE) when
 * given, else with several ranks on a node the local rank's GPU (round robin
 * over the GPUs, else over all devices) written into buf, else NULL (the
 * usual default). */
const char *cr_dist_device(const char *user, char *buf, size_t len);

/* 1 on every rank when ok is non-zero on every rank (MPI_Allreduce, MIN). */
int cr_dist_all_ok(int ok);
/* Sums n doubles over the ranks in rank order, result on every rank. */
cr_status cr_dist_sum_doubles(double *v, int n);
/* In place: v = the sum of every rank's v (one MPI_Allreduce, float). The
 * library's reduction order is fixed for a given number of ranks and size,
 * so every run with N ranks gets the same bits. */
cr_status cr_dist_sum_floats(float *v, size_t n);
/* Seconds spent in cr_dist_sum_floats so far (communication time per step),
 * and with CLRESTORE_MPI_TIMING=1 the part of it spent in a barrier before
 * the reduce (waiting for the slowest rank), then not in the first. */
double cr_dist_comm_seconds(void);
double cr_dist_wait_seconds(void);

/* A queue of n jobs (indices 0..n-1) handed out one at a time in index order:
 * a free worker takes the next one, so fast and slow devices balance. With
 * several ranks, rank 0 owns the counter and answers requests from a server
 * thread; its own workers take jobs directly. Each finished job reports ok
 * and a small result (at most result_max bytes), which rank 0 keeps for the
 * output listing. Every function but create/free is thread-safe. */
typedef struct cr_jobq cr_jobq;

/* on_done (may be NULL) runs on rank 0 under the queue's lock after each
 * finished job, with the number finished so far (for the progress line). */
cr_status cr_jobq_create(int n, size_t result_max, void (*on_done)(void *ctx, int done), void *ctx,
                         cr_jobq **out);
/* The next job index, or -1 when none is left (or communication failed; the
 * error is then in cr_error_message and counted as a failure). */
int cr_jobq_next(cr_jobq *q);
/* Reports job i: ok, and its result (len bytes, copied; ignored unless ok). */
void cr_jobq_finish(cr_jobq *q, int i, int ok, const void *result, size_t len);
/* Called once per rank after its workers are done: collects the last
 * results on rank 0 and shares the number of failed jobs over all ranks
 * (every rank returns the same *failed). */
cr_status cr_jobq_close(cr_jobq *q, int *failed);
/* On rank 0 after close: job i's result (NULL when it failed or was not run). */
const void *cr_jobq_result(const cr_jobq *q, int i);
void cr_jobq_free(cr_jobq *q);

/* --shard I/N: "I/N" with 1 <= I <= N; the jobs [first, end) of n that shard
 * I takes (contiguous blocks, so the shard listings concatenated in shard
 * order list the jobs in input order). */
cr_status cr_shard_parse(const char *spec, int *index, int *count);
void cr_shard_range(int n, int index, int count, int *first, int *end);
/* path with ".shard_I_of_N" before its extension ("t.h5" -> "t.shard_2_of_4.h5"). */
cr_status cr_shard_path(const char *path, int index, int count, char *out, size_t len);
/* The order in which to join n shard outputs: when every name ends in
 * .shard_I_of_N<ext>, order[I-1] = its position, and all N must be there,
 * each once (else an error naming the file); otherwise the order given. */
cr_status cr_shard_order(const char *const *names, int n, const char *ext, int *order);

#ifdef __cplusplus
}
#endif
#endif
