/* cr_philox4x32 through Random123's header (librandom123-dev, found by
 * CMake): its philox4x32_R with 10 rounds, the generator's published
 * parameters; tests/test_sim_philox.c checks Random123's known answers. */
#include "clrestore/philox.h"

#include <Random123/philox.h>

void cr_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    philox4x32_ctr_t c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
    philox4x32_key_t k = {{key[0], key[1]}};
    philox4x32_ctr_t r = philox4x32_R(10, c, k);
    for (int i = 0; i < 4; i++) out[i] = r.v[i];
}
