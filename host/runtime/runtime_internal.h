/* Shared between runtime.c and program.c. */
#ifndef CLRESTORE_RUNTIME_INTERNAL_H
#define CLRESTORE_RUNTIME_INTERNAL_H
#include "clrestore/runtime.h"

void cr_program_cache_init(cr_runtime *rt);
void cr_program_cache_free(cr_runtime *rt);
#endif
