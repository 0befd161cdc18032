/* libFuzzer target: the STAR tokenizer and parser, the table view (every
 * value, numeric conversions), the RELION micrograph view with optics merge,
 * and the even/odd name derivation on every micrograph name found. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/star.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr_star_file *f = NULL;
    if (cr_star_parse((const char *)data, size, "fuzz.star", &f) != CR_OK) return 0;
    (void)cr_star_version(f);
    for (int b = 0; b < cr_star_nblocks(f); b++) {
        const cr_star_table *t = cr_star_block(f, b);
        (void)cr_star_find_block(f, cr_star_block_name(t));
        (void)cr_star_is_loop(t);
        for (int c = 0; c < cr_star_ncols(t); c++) {
            (void)cr_star_col_index(t, cr_star_col_name(t, c));
            for (int r = 0; r < cr_star_nrows(t); r++) {
                const char *v = cr_star_value(t, r, c);
                if (v) (void)strlen(v);
                (void)cr_star_row_line(t, r);
                double d;
                int i;
                (void)cr_star_get_double(f, t, r, c, &d);
                (void)cr_star_get_int(f, t, r, c, &i);
            }
        }
    }
    for (int need_ctf = 0; need_ctf < 2; need_ctf++) {
        cr_micrograph_row *rows = NULL;
        int n = 0;
        if (cr_star_micrographs(f, need_ctf, &rows, &n) == CR_OK) {
            for (int i = 0; i < n; i++) {
                char even[512], odd[512];
                (void)cr_even_odd_names(rows[i].name, "DW,EVN,ODD", even, odd, sizeof even);
                (void)cr_even_odd_names(rows[i].name, ",_EVN,_ODD", even, odd, sizeof even);
            }
            cr_micrograph_rows_free(rows, n);
        }
    }
    cr_star_free(f);
    return 0;
}
