/* star-merge: the shard listings of `denoise --shard I/N`, concatenated in
 * shard order. Shards are contiguous blocks of the inputs (dist.h
 * cr_shard_range), so this is the single run's listing, row for row. */
#include "clrestore/star_merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/dist.h"
#include "clrestore/star.h"

static int same_table(const cr_star_table *a, const cr_star_table *b, int rows)
{
    if (cr_star_ncols(a) != cr_star_ncols(b) || cr_star_is_loop(a) != cr_star_is_loop(b) ||
        strcmp(cr_star_block_name(a), cr_star_block_name(b)) != 0)
        return 0;
    for (int c = 0; c < cr_star_ncols(a); c++)
        if (strcmp(cr_star_col_name(a, c), cr_star_col_name(b, c)) != 0) return 0;
    if (!rows) return 1;
    if (cr_star_nrows(a) != cr_star_nrows(b)) return 0;
    for (int r = 0; r < cr_star_nrows(a); r++)
        for (int c = 0; c < cr_star_ncols(a); c++)
            if (strcmp(cr_star_value(a, r, c), cr_star_value(b, r, c)) != 0) return 0;
    return 1;
}

cr_status cr_star_merge(const char *const *in, int n, const char *out, int *rows_written)
{
    cr_status st = CR_OK;
    cr_star_file **f = calloc((size_t)n + 1, sizeof *f), *o = NULL;
    int *order = calloc((size_t)n + 1, sizeof *order);
    *rows_written = 0;
    if (!f || !order) {
        st = cr_fail(CR_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    CR_TRY(cr_shard_order(in, n, ".star", order));
    for (int k = 0; k < n; k++) {
        CR_TRY(cr_star_read(in[order[k]], &f[k]));
        const cr_star_table *mt = NULL;
        CR_TRY(cr_star_micrograph_table(f[k], &mt));
        if (strcmp(in[order[k]], out) == 0) {
            st = cr_fail(CR_ERR_ARG, "%s: the output would overwrite an input", out);
            goto cleanup;
        }
    }
    CR_TRY(cr_star_new(&o));
    cr_star_set_version(o, cr_star_version(f[0]));
    const cr_star_table *first_mic = NULL;
    CR_TRY(cr_star_micrograph_table(f[0], &first_mic));
    int mic_block = 0;
    for (int b = 0; b < cr_star_nblocks(f[0]); b++) {
        const cr_star_table *t = cr_star_block(f[0], b);
        cr_star_table *copy = NULL;
        CR_TRY(cr_star_copy_table(o, t, NULL, 1, &copy));
        if (t == first_mic) mic_block = b;
    }
    /* fetched after the last table is added (adding may move them) */
    cr_star_table *mic = cr_star_table_mut(o, cr_star_block(o, mic_block));
    for (int k = 1; k < n; k++) {
        const char *name = in[order[k]];
        const cr_star_table *t = NULL;
        CR_TRY(cr_star_micrograph_table(f[k], &t));
        if (cr_star_nblocks(f[k]) != cr_star_nblocks(f[0])) {
            st = cr_fail(CR_ERR_FORMAT, "%s: %d tables, %s has %d", name, cr_star_nblocks(f[k]), in[order[0]],
                         cr_star_nblocks(f[0]));
            goto cleanup;
        }
        for (int b = 0; b < cr_star_nblocks(f[0]); b++) {
            const cr_star_table *a = cr_star_block(f[0], b), *c = cr_star_block(f[k], b);
            if (!same_table(a, c, a != first_mic)) {
                st = cr_fail(CR_ERR_FORMAT, "%s: table data_%s differs from %s's (%s)", name, cr_star_block_name(c),
                             in[order[0]], a == first_mic ? "columns" : "columns or values");
                goto cleanup;
            }
        }
        int ncols = cr_star_ncols(t), row = 0;
        const char **vals = calloc((size_t)ncols + 1, sizeof *vals);
        if (!vals) {
            st = cr_fail(CR_ERR_NOMEM, "out of memory");
            goto cleanup;
        }
        for (int r = 0; r < cr_star_nrows(t) && st == CR_OK; r++) {
            for (int c = 0; c < ncols; c++) vals[c] = cr_star_value(t, r, c);
            st = cr_star_append_row(o, mic, vals, &row);
        }
        free(vals);
        if (st != CR_OK) goto cleanup;
    }
    *rows_written = cr_star_nrows(mic);
    CR_TRY(cr_star_write(o, out));
cleanup:
    for (int k = 0; f && k < n; k++) cr_star_free(f[k]);
    cr_star_free(o);
    free(f);
    free(order);
    return st;
}
