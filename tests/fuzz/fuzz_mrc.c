/* libFuzzer target: the MRC2014 header parser and data reader (every mode,
 * both byte orders, extended headers, sizes checked against the file), then
 * what the CLI does with the values: statistics and the NaN/Inf check. */
#include "fuzz_input.h" /* first: it sets _GNU_SOURCE */
#include <stdlib.h>

#include "clrestore/mrc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_memory_file(data, size);
    if (!path) return 0;
    cr_mrc_header h;
    if (fuzz_report(cr_mrc_read_header(path, &h)) != CR_OK) return 0;
    /* Sizes reached here were checked against the file, so they are small. */
    float *values = NULL;
    if (cr_mrc_read(path, &h, &values) == CR_OK) {
        int64_t n = (int64_t)h.nx * h.ny * h.nz;
        cr_image_stats s;
        cr_image_stats_compute(values, n, &s);
        (void)cr_mrc_check_finite(path, values, h.nx, h.ny, h.nz);
        float *section = malloc((size_t)h.nx * h.ny * sizeof(float));
        if (section) {
            (void)cr_mrc_read_section(path, &h, h.nz - 1, section);
            (void)cr_mrc_read_section(path, &h, h.nz, section); /* out of range: refused */
            free(section);
        }
        free(values);
    }
    return 0;
}
