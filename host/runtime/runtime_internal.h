/* Shared between runtime.c and program.c. */
#ifndef CLRESTORE_RUNTIME_INTERNAL_H
#define CLRESTORE_RUNTIME_INTERNAL_H
#include "clrestore/runtime.h"

/* What the runtime keeps to itself: the table of built programs (and their
 * kernels, program.c), build counters and the device-memory accounting. */
struct cr_runtime_state {
    cr_program_entry *programs; /* built programs, keyed by (file, options) */
    int nprograms, cap_programs;
    cr_build_stats stats;
    size_t mem_current; /* bytes in buffers made by cr_buffer_create */
    size_t mem_peak;
};

void cr_program_cache_init(cr_runtime *rt);
void cr_program_cache_free(cr_runtime *rt);
#endif
