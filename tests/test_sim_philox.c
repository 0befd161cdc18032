/* cr_philox4x32 (host/core/philox.c, through Random123's header) against
 * Random123's published known-answer vectors (kat_vectors, philox4x32 10
 * rounds), and the 53-bit uniform of the simulation's streams: its range
 * and mean. */
#include "testutil.h"

#include <stdint.h>

#include "../host/sim/sim_internal.h"

int main(void)
{
    /* Random123 kat_vectors, philox4x32 10 rounds. */
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e,
         0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb,
         0x5001e420, 0x24126ea1},
    };
    for (int t = 0; t < 3; t++) {
        uint32_t out[4];
        cr_philox4x32(kat[t], kat[t] + 4, out);
        for (int j = 0; j < 4; j++) CHECK_MSG(out[j] == kat[t][6 + j], "kat %d word %d: %08x", t, j, out[j]);
    }
    cr_rng r;
    cr_rng_init(&r, 42, 1, 2);
    double lo = 1, hi = 0, sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = cr_rng_uniform(&r);
        lo = fmin(lo, u);
        hi = fmax(hi, u);
        sum += u;
    }
    CHECK(lo >= 0 && hi < 1);
    CHECK_NEAR(sum / 100000, 0.5, 3 * sqrt(1.0 / 12 / 100000));
    return test_finish("test_sim_philox");
}
