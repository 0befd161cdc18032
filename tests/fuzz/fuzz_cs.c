/* libFuzzer target: the NumPy .npy header parser and record layout, typed
 * access to every element of every field, and the cryoSPARC exposure view
 * (the RELION tables it builds, read back through the micrograph view). */
#include <stdint.h>
#include <stdlib.h>

#include "clrestore/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr_npy *a = NULL;
    if (cr_npy_parse(data, size, "fuzz.cs", &a) != CR_OK) return 0;
    for (size_t r = 0; r < a->nrows && r < 64; r++)
        for (int k = 0; k < a->nfields; k++) {
            double d;
            char s[256];
            (void)cr_npy_get_string(a, r, k, s, sizeof s);
            for (size_t e = 0; e < a->fields[k].count && e < 16; e++)
                (void)cr_npy_get_double(a, r, k, e, &d);
        }
    for (int need_ctf = 0; need_ctf < 2; need_ctf++) {
        cr_star_file *f = NULL;
        if (cr_cs_to_star(a, need_ctf, &f) != CR_OK) continue;
        cr_micrograph_row *rows = NULL;
        int n = 0;
        if (cr_star_micrographs(f, need_ctf, &rows, &n) == CR_OK) cr_micrograph_rows_free(rows, n);
        cr_star_free(f);
    }
    cr_npy_free(a);
    return 0;
}
