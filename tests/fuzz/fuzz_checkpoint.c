/* libFuzzer target: the HDF5 checkpoint loader (architecture attributes,
 * every layer's weights and Adam moments, training state) and the `info`
 * describer, on in-memory files. */
#include "fuzz_input.h" /* first: it sets _GNU_SOURCE */
#include <stdlib.h>

#include "clrestore/checkpoint.h"
#include "clrestore/h5util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_memory_file(data, size);
    if (!path) return 0;
    cr_checkpoint *c = NULL;
    if (fuzz_report(cr_checkpoint_load(path, &c)) == CR_OK) cr_checkpoint_free(c);
    char *text = NULL;
    if (cr_h5_describe(path, &text) == CR_OK) free(text);
    return 0;
}
