/* Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror & Shaw
 * ("Parallel random numbers: as easy as 1, 2, 3", SC'11), as Random123
 * implements it: the one host implementation, behind weight init
 * (cr_philox_uniform) and simulation (host/sim). Same counter and key, same
 * bits on every machine. kernels/simulate.cl runs the same Random123 header
 * on the device (flattened for OpenCL C by cmake/flatten_random123.cmake);
 * test_cl_sim_philox checks both against Random123's known answers. */
#ifndef CLRESTORE_PHILOX_H
#define CLRESTORE_PHILOX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One Philox4x32-10 block: 4 x 32 random bits for (counter, key). */
void cr_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

#ifdef __cplusplus
}
#endif
#endif
