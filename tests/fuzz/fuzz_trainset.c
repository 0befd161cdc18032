/* libFuzzer target: the HDF5 training-set reader (shapes, optional index
 * datasets, micrograph names, attributes) and reads of the first and last
 * pair, on in-memory files. */
#include "fuzz_input.h" /* first: it sets _GNU_SOURCE */
#include <stdlib.h>

#include "clrestore/trainset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_memory_file(data, size);
    if (!path) return 0;
    cr_trainset *t = NULL;
    if (fuzz_report(cr_trainset_open(path, &t)) != CR_OK) return 0;
    int p = t->meta.patch;
    float *even = malloc((size_t)p * p * sizeof(float)), *odd = malloc((size_t)p * p * sizeof(float));
    if (even && odd && t->n > 0) {
        (void)cr_trainset_read(t, 0, even, odd);
        (void)cr_trainset_read(t, t->n - 1, even, odd);
    }
    free(even);
    free(odd);
    cr_trainset_close(t);
    return 0;
}
