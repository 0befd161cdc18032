/* Philox4x32-10 counter-based generator (Salmon, Moraes, Dror & Shaw,
 * "Parallel random numbers: as easy as 1, 2, 3", SC'11), written from the
 * paper's description; kernels/simulate.cl has the same function for the
 * device, and tests/test_sim_philox.c checks both against Random123. */
#include <math.h>

#include "sim_internal.h"

/* Multipliers and Weyl key increments of Philox4x32 (the paper, Section 4.2). */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void cr_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

void cr_rng_init(cr_rng *r, uint64_t seed, uint32_t stream, uint32_t sub)
{
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32);
    r->ctr[0] = 0;
    r->ctr[1] = 0;
    r->ctr[2] = stream;
    r->ctr[3] = sub;
    r->left = 0;
}

uint32_t cr_rng_u32(cr_rng *r)
{
    if (r->left == 0) {
        cr_philox4x32(r->ctr, r->key, r->buf);
        if (++r->ctr[0] == 0) r->ctr[1]++;
        r->left = 4;
    }
    return r->buf[4 - r->left--];
}

double cr_rng_uniform(cr_rng *r)
{
    uint64_t hi = cr_rng_u32(r) >> 5, lo = cr_rng_u32(r) >> 6; /* 27 + 26 = 53 bits */
    return (double)(hi * 67108864u + lo) * (1.0 / 9007199254740992.0);
}

double cr_rng_normal(cr_rng *r)
{
    double u1 = 1.0 - cr_rng_uniform(r), u2 = cr_rng_uniform(r); /* u1 in (0, 1] */
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
