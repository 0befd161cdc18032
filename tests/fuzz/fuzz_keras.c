/* libFuzzer target: the JSON reader and the Keras graph matcher on a
 * model_config text (seeded with one TensorFlow wrote, tests/fuzz/seeds/keras/),
 * and the whole Keras importer when the input is an HDF5 file. */
#include "fuzz_input.h" /* first: it sets _GNU_SOURCE */
#include <stdlib.h>
#include <string.h>

#include "clrestore/h5util.h"
#include "clrestore/json.h"
#include "clrestore/keras.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 8 && memcmp(data, "\x89HDF\r\n\x1a\n", 8) == 0) {
        const char *path = fuzz_memory_file(data, size);
        cr_checkpoint *c = NULL;
        if (path && fuzz_report(cr_keras_import(path, NULL, &c, NULL)) == CR_OK) cr_checkpoint_free(c);
        return 0;
    }
    cr_json *j = NULL;
    if (fuzz_report(cr_json_parse((const char *)data, size, "fuzz", &j)) != CR_OK) return 0;
    cr_arch a;
    cr_keras_conv *convs = NULL;
    int n = 0;
    if (fuzz_report(cr_keras_match(j, "fuzz", &a, &convs, &n)) == CR_OK) free(convs);
    cr_json_free(j);
    return 0;
}
