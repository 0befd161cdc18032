/* The simulation's host random streams: uniforms and normals from
 * cr_philox4x32 (clrestore/philox.h, Random123's Philox4x32-10), counter =
 * (draw, stream, sub). */
#include <math.h>

#include "sim_internal.h"

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
