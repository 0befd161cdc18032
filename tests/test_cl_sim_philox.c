/* The device Philox4x32-10 (kernels/simulate.cl, through the Random123 header
 * flattened by cmake/flatten_random123.cmake) against Random123's published
 * known-answer vectors (kat_vectors, philox4x32 10 rounds; the host's are
 * checked by test_sim_philox), then against the host's cr_philox4x32 on
 * counters and keys spread over all 32 bits of every word. */
#include "testutil.h"

#include <stdint.h>

#include "clrestore/philox.h"
#include "clrestore/runtime.h"

enum { NKAT = 3, M = 1024 };

int main(void)
{
    /* Random123 kat_vectors, philox4x32 10 rounds: counter (4), key (2), result (4) */
    static const uint32_t kat[NKAT][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e,
         0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb,
         0x5001e420, 0x24126ea1},
    };
    cr_runtime *rt = NULL;
    if (cr_runtime_create(getenv("CLRESTORE_DEVICE"), &rt) != CR_OK) {
        printf("SKIP: no OpenCL device: %s\n", cr_error_message());
        return 77;
    }
    int n = NKAT + M;
    cl_uint4 *ctr = calloc((size_t)n, sizeof *ctr), *dev = calloc((size_t)n, sizeof *dev);
    cl_uint2 *key = calloc((size_t)n, sizeof *key);
    cl_mem bout = NULL, bctr = NULL, bkey = NULL;
    cl_kernel k = NULL;
    for (int t = 0; t < NKAT; t++) {
        for (int j = 0; j < 4; j++) ctr[t].s[j] = kat[t][j];
        for (int j = 0; j < 2; j++) key[t].s[j] = kat[t][4 + j];
    }
    /* the rest: a Weyl sequence per word, so every bit of counter and key varies */
    for (int i = 0; i < M; i++) {
        uint32_t u = (uint32_t)i;
        cl_uint4 c = {{u * 0x9E3779B9u, ~u * 0x85EBCA6Bu, u * 0xC2B2AE35u + 1u, 0xFFFFFFFFu - u}};
        cl_uint2 kk = {{u * 0x27D4EB2Fu ^ 0xDEADBEEFu, u * 0x165667B1u}};
        ctr[NKAT + i] = c;
        key[NKAT + i] = kk;
    }
    CHECK_OK(cr_kernel_create(rt, "simulate.cl", "sim_philox_test", "", &k));
    CHECK_OK(cr_buffer_create(rt, (size_t)n * sizeof *dev, "philox out", &bout));
    CHECK_OK(cr_buffer_create(rt, (size_t)n * sizeof *ctr, "philox counters", &bctr));
    CHECK_OK(cr_buffer_create(rt, (size_t)n * sizeof *key, "philox keys", &bkey));
    if (test_failures) goto done;
    CHECK_OK(cr_buffer_write(rt, bctr, 0, (size_t)n * sizeof *ctr, ctr));
    CHECK_OK(cr_buffer_write(rt, bkey, 0, (size_t)n * sizeof *key, key));
    CHECK_OK(cr_kernel_args(k, 4, sizeof bout, &bout, sizeof bctr, &bctr, sizeof bkey, &bkey, sizeof n, &n));
    size_t g = (size_t)n;
    CHECK_OK(cr_enqueue(rt, k, 1, &g, NULL));
    CHECK_OK(cr_buffer_read(rt, bout, 0, (size_t)n * sizeof *dev, dev));
    for (int t = 0; t < NKAT; t++)
        for (int j = 0; j < 4; j++)
            CHECK_MSG(dev[t].s[j] == kat[t][6 + j], "device kat %d word %d: %08x, expected %08x", t, j,
                      dev[t].s[j], kat[t][6 + j]);
    int differ = 0;
    for (int i = NKAT; i < n; i++) {
        uint32_t c[4] = {ctr[i].s[0], ctr[i].s[1], ctr[i].s[2], ctr[i].s[3]}, kk[2] = {key[i].s[0], key[i].s[1]}, h[4];
        cr_philox4x32(c, kk, h);
        for (int j = 0; j < 4; j++) differ += h[j] != dev[i].s[j];
    }
    CHECK_MSG(differ == 0, "device Philox differs from the host's in %d of %d words", differ, 4 * M);
done:
    cr_buffer_release(rt, &bout);
    cr_buffer_release(rt, &bctr);
    cr_buffer_release(rt, &bkey);
    if (k) clReleaseKernel(k);
    free(ctr);
    free(key);
    free(dev);
    cr_runtime_free(rt);
    return test_finish("test_cl_sim_philox");
}
