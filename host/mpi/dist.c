/* The MPI world of a run (or a world of one without MPI): start-up only
 * under a launcher, the node-local rank for the device choice, collectives
 * the pipelines need, and the abort that keeps a failed rank from leaving
 * its partners waiting. */
#include "clrestore/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/log.h"
#include "clrestore/runtime.h"

#ifdef CLRESTORE_HAVE_MPI
#include <mpi.h>
#endif

static int d_active, d_rank, d_size = 1, d_local, d_agreed;

int cr_dist_built_with_mpi(void)
{
#ifdef CLRESTORE_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

int cr_dist_active(void) { return d_active; }
int cr_dist_rank(void) { return d_rank; }
int cr_dist_size(void) { return d_size; }
int cr_dist_local_rank(void) { return d_local; }
void cr_dist_mark_agreed(void) { d_agreed = 1; }

const char *cr_dist_library(void)
{
#ifdef CLRESTORE_HAVE_MPI
    /* MPI_Get_library_version may be called before MPI_Init (MPI-3.1 §8.7) */
    static char lib[MPI_MAX_LIBRARY_VERSION_STRING + 1];
    if (!lib[0]) {
        int len = 0;
        MPI_Get_library_version(lib, &len);
        lib[len < (int)sizeof lib ? len : (int)sizeof lib - 1] = 0;
        lib[strcspn(lib, "\n")] = 0;
    }
    return lib;
#else
    return "";
#endif
}

#ifdef CLRESTORE_HAVE_MPI
/* Set by the launchers we know: Open MPI's mpirun, PMI-1/2 (MPICH hydra,
 * srun --mpi=pmi2), PMIx (srun --mpi=pmix, Open MPI 5). Without them MPI_Init
 * would start a "singleton" world, slow and pointless for one process. */
static int launched(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}
#endif

cr_status cr_dist_init(int *argc, char ***argv)
{
#ifdef CLRESTORE_HAVE_MPI
    if (!launched()) return CR_OK;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        return cr_fail(CR_ERR_IO, "MPI_Init_thread failed");
    d_active = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &d_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d_size);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_rank(node, &d_local);
        MPI_Comm_free(&node);
    }
    if (provided < MPI_THREAD_SERIALIZED && d_size > 1)
        return cr_fail(CR_ERR_UNSUPPORTED, "the MPI library offers no MPI_THREAD_SERIALIZED (got level %d)",
                       provided);
#else
    (void)argc, (void)argv;
#endif
    return CR_OK;
}

void cr_dist_finalize(int rc)
{
#ifdef CLRESTORE_HAVE_MPI
    if (!d_active) return;
    if (rc != 0 && !d_agreed && d_size > 1) {
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, rc);
    }
    MPI_Finalize();
    d_active = 0;
#else
    (void)rc;
#endif
}

const char *cr_dist_device(const char *user, char *buf, size_t len)
{
    if (user || d_size == 1) return user;
    cr_device_desc *all = NULL;
    int n = 0, ngpu = 0, pick = -1;
    if (cr_devices_list(&all, &n) != CR_OK) return NULL; /* the usual selection reports it */
    for (int i = 0; i < n; i++)
        if (all[i].type & CL_DEVICE_TYPE_GPU) ngpu++;
    /* GPUs round robin by local rank; CPU-only nodes share the default device
     * (each rank gets its share of the cores through the driver, e.g.
     * POCL_MAX_PTHREAD_COUNT) */
    for (int i = 0, g = 0; i < n && ngpu > 0; i++)
        if ((all[i].type & CL_DEVICE_TYPE_GPU) && g++ == d_local % ngpu) pick = i;
    free(all);
    if (pick < 0) return NULL;
    snprintf(buf, len, "%d", pick);
    return buf;
}

int cr_dist_all_ok(int ok)
{
#ifdef CLRESTORE_HAVE_MPI
    if (d_active && d_size > 1) {
        int mine = ok ? 1 : 0, all = 0;
        if (MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS) return 0;
        return all;
    }
#endif
    return ok != 0;
}

cr_status cr_dist_sum_doubles(double *v, int n)
{
#ifdef CLRESTORE_HAVE_MPI
    if (d_active && d_size > 1) {
        /* gathered and summed in rank order on every rank: the same bits
         * everywhere, whatever order the library's reduction would take */
        double *all = malloc((size_t)n * (size_t)d_size * sizeof *all);
        if (!all) return cr_fail(CR_ERR_NOMEM, "out of memory");
        if (MPI_Allgather(v, n, MPI_DOUBLE, all, n, MPI_DOUBLE, MPI_COMM_WORLD) != MPI_SUCCESS) {
            free(all);
            return cr_fail(CR_ERR_IO, "MPI_Allgather failed");
        }
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int r = 0; r < d_size; r++) s += all[(size_t)r * n + j];
            v[j] = s;
        }
        free(all);
    }
#else
    (void)v, (void)n;
#endif
    return CR_OK;
}

static double d_comm_seconds, d_wait_seconds;

double cr_dist_comm_seconds(void) { return d_comm_seconds; }
double cr_dist_wait_seconds(void) { return d_wait_seconds; }

cr_status cr_dist_sum_floats(float *v, size_t n)
{
#ifdef CLRESTORE_HAVE_MPI
    if (d_active && d_size > 1) {
        if (n > (size_t)0x7fffffff) return cr_fail(CR_ERR_UNSUPPORTED, "MPI_Allreduce of %zu floats", n);
        /* CLRESTORE_MPI_TIMING=1 (bench/scaling.sh): a barrier first, so the
         * time waiting for the slowest rank is told apart from the transfer */
        static int split = -1;
        if (split < 0) split = getenv("CLRESTORE_MPI_TIMING") && atoi(getenv("CLRESTORE_MPI_TIMING")) > 0;
        double t0 = cr_now();
        if (split) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t1 = cr_now();
            d_wait_seconds += t1 - t0;
            t0 = t1;
        }
        int rc = MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        d_comm_seconds += cr_now() - t0;
        if (rc != MPI_SUCCESS) return cr_fail(CR_ERR_IO, "MPI_Allreduce of %zu floats failed", n);
    }
#else
    (void)v, (void)n;
#endif
    return CR_OK;
}

cr_status cr_shard_parse(const char *spec, int *index, int *count)
{
    char *end = NULL;
    long i = strtol(spec, &end, 10);
    if (end == spec || *end != '/') return cr_fail(CR_ERR_ARG, "--shard '%s': expected I/N, e.g. 3/8", spec);
    const char *p = end + 1;
    long n = strtol(p, &end, 10);
    if (end == p || *end || n < 1 || n > 1000000 || i < 1 || i > n)
        return cr_fail(CR_ERR_ARG, "--shard '%s': expected I/N with 1 <= I <= N", spec);
    *index = (int)i;
    *count = (int)n;
    return CR_OK;
}

void cr_shard_range(int n, int index, int count, int *first, int *end)
{
    *first = (int)((long long)n * (index - 1) / count);
    *end = (int)((long long)n * index / count);
}

cr_status cr_shard_path(const char *path, int index, int count, char *out, size_t len)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash)) dot = path + strlen(path);
    int k = snprintf(out, len, "%.*s.shard_%d_of_%d%s", (int)(dot - path), path, index, count, dot);
    if (k < 0 || (size_t)k >= len) return cr_fail(CR_ERR_ARG, "%s: path too long", path);
    return CR_OK;
}

/* "...shard_I_of_N<ext>" -> I, N; 0 when the name has no such tail. */
static int shard_of(const char *path, const char *ext, int *i, int *n)
{
    const char *p = strstr(path, "shard_"), *last = NULL;
    for (; p; p = strstr(p + 1, "shard_")) last = p;
    int used = 0;
    if (!last || sscanf(last, "shard_%d_of_%d%n", i, n, &used) != 2) return 0;
    return strcmp(last + used, ext) == 0 && *n > 0 && *i >= 1 && *i <= *n;
}

cr_status cr_shard_order(const char *const *names, int n, const char *ext, int *order)
{
    int si = 0, sn = 0, count = 0, sharded = n > 0;
    for (int k = 0; k < n; k++) {
        order[k] = k;
        if (!shard_of(names[k], ext, &si, &sn)) sharded = 0;
    }
    if (!sharded) return CR_OK;
    shard_of(names[0], ext, &si, &count);
    if (n != count)
        return cr_fail(CR_ERR_ARG, "%s: %d of %d shard outputs given; all are needed", names[0], n, count);
    for (int k = 0; k < n; k++) order[k] = -1;
    for (int k = 0; k < n; k++) {
        shard_of(names[k], ext, &si, &sn);
        if (sn != count)
            return cr_fail(CR_ERR_ARG, "%s: a shard of %d, but %s is a shard of %d", names[k], sn, names[0], count);
        if (order[si - 1] >= 0) return cr_fail(CR_ERR_ARG, "%s: shard %d of %d given twice", names[k], si, sn);
        order[si - 1] = k;
    }
    return CR_OK;
}
