/* Network throughput for `clrestore bench --network`: a forward or a training
 * step of a Glorot-initialised model on random data, median of a few runs,
 * with GFLOP/s from the architecture's multiply-adds and the device memory
 * peak. Compare with bench/torch_reference.py bench (same counting). */
#include <stdlib.h>
#include <string.h>

#include "clrestore/log.h"
#include "clrestore/nn_params.h"
#include "clrestore/waunet.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

cr_status cr_waunet_bench(cr_runtime *rt, const cr_arch *a, int size, int batch, int train, int repeats,
                          cr_bench_result *out)
{
    cr_status st;
    cr_nn *nn = NULL;
    cr_waunet *m = NULL;
    float *host = NULL;
    double *times = NULL;
    memset(out, 0, sizeof *out);
    if (repeats < 1 || batch < 1 || size < 1)
        return cr_fail(CR_ERR_ARG, "bench: size %d, batch %d, repeats %d must be positive", size, batch, repeats);
    size_t base = cr_runtime_mem_current(rt);
    cr_runtime_mem_peak_reset(rt); /* the peak of this benchmark alone */
    cr_waunet_mode mode = train ? CR_WAUNET_TRAINING : CR_WAUNET_INFERENCE;
    CR_TRY(cr_nn_create(rt, CR_FLOAT, &nn));
    CR_TRY(cr_waunet_create(nn, a, &m));
    CR_TRY(cr_waunet_init(m, 1));
    CR_TRY(cr_waunet_prepare(m, mode, batch, size, size));
    size_t count = (size_t)batch * size * size;
    host = malloc(count * sizeof *host);
    times = calloc((size_t)repeats, sizeof *times);
    if (!host || !times) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory for the benchmark input");
        goto cleanup;
    }
    double *u = (double *)malloc(count * sizeof *u);
    if (!u) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory for the benchmark input");
        goto cleanup;
    }
    cr_philox_uniform(u, count, 1.7320508, 12345, 0); /* unit variance */
    for (size_t i = 0; i < count; i++) host[i] = (float)u[i];
    free(u);
    cr_tensor in = cr_waunet_input(m);
    CR_TRY(cr_tensor_write_f32(nn, &in, host));
    if (train) {
        cr_tensor t = cr_waunet_target(m);
        CR_TRY(cr_tensor_write_f32(nn, &t, host));
    }
    cr_adam hp = cr_adam_defaults();
    for (int r = -1; r < repeats; r++) { /* r = -1: warm-up (kernel builds) */
        double t0 = cr_now(), loss;
        if (train)
            CR_TRY(cr_waunet_train_step(m, &hp, &loss));
        else
            CR_TRY(cr_waunet_forward(m));
        CR_TRY(cr_finish(rt));
        if (r >= 0) times[r] = cr_now() - t0;
    }
    /* one more run, profiled per layer kind (waits after every layer) */
    cr_waunet_set_profile(m, &out->profile);
    if (train)
        CR_TRY(cr_waunet_train_step(m, &hp, NULL));
    else
        CR_TRY(cr_waunet_forward(m));
    cr_waunet_set_profile(m, NULL);
    qsort(times, (size_t)repeats, sizeof *times, cmp_double);
    double sec = times[repeats / 2];
    double flops = 2.0 * cr_arch_macs_per_pixel(a) * (double)count * (train ? 3.0 : 1.0);
    cr_waunet_memory mem;
    CR_TRY(cr_waunet_memory_estimate(m, mode, batch, size, size, &mem));
    out->ms = sec * 1e3;
    out->best_ms = times[0] * 1e3;
    out->gflops = flops / sec / 1e9;
    out->peak_bytes = cr_runtime_mem_peak(rt) - base;
    out->activation_bytes = mem.activation_bytes;
    out->size = size;
    out->batch = batch;
    out->train = train;
    out->repeats = repeats;
cleanup:
    free(host);
    free(times);
    cr_waunet_free(m);
    cr_nn_free(nn);
    return st;
}
