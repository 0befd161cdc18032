/* STAR writer: one "data_" block per table, "# version N" before each, loop
 * columns padded to their widest value, values quoted only where the parser
 * needs it. Uses only the public accessors of star.h. */
#include "clrestore/star.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clrestore/fileutil.h"

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

static int reserved_word(const char *v)
{
    return strncasecmp(v, "data_", 5) == 0 || strncasecmp(v, "save_", 5) == 0 ||
           strcasecmp(v, "loop_") == 0 || strcasecmp(v, "stop_") == 0 || strcasecmp(v, "global_") == 0;
}

/* The quote a value needs (0: none), or -1 when no quoting survives parsing:
 * a quote only closes before whitespace, so q works if v has no q followed by
 * whitespace. */
static int quote_for(const char *v)
{
    int needs = !*v || v[0] == '_' || v[0] == '#' || v[0] == '\'' || v[0] == '"' || reserved_word(v);
    for (const char *c = v; *c; c++) {
        if (*c == '\n') return -1;
        if (is_ws(*c)) needs = 1;
    }
    if (!needs) return 0;
    const char qs[2] = {'"', '\''};
    for (int k = 0; k < 2; k++) {
        int ok = 1;
        for (const char *c = v; *c && ok; c++) ok = !(*c == qs[k] && is_ws(c[1]));
        if (ok) return qs[k];
    }
    return -1;
}

static void put_value(FILE *fp, const char *v, int q, int width)
{
    int n = q ? fprintf(fp, "%c%s%c", q, v, q) : fprintf(fp, "%s", v);
    for (; n < width; n++) fputc(' ', fp);
}

static cr_status write_table(const cr_star_file *f, const cr_star_table *t, FILE *fp, const char *path)
{
    int *width = calloc((size_t)cr_star_ncols(t) + 1, sizeof *width);
    if (!width) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", path);
    int rows = cr_star_is_loop(t) ? cr_star_nrows(t) : (cr_star_ncols(t) ? 1 : 0);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cr_star_ncols(t); c++) {
            const char *v = cr_star_value(t, r, c);
            int q = quote_for(v);
            if (q < 0) {
                free(width);
                return cr_fail(CR_ERR_UNSUPPORTED, "%s: data_%s: column %s, row %d: value cannot be "
                               "written to STAR (newline, or both quote kinds before spaces)",
                               path, cr_star_block_name(t), cr_star_col_name(t, c), r + 1);
            }
            int n = (int)strlen(v) + (q ? 2 : 0);
            if (n > width[c]) width[c] = n;
        }
    if (cr_star_version(f)) fprintf(fp, "\n# version %d\n", cr_star_version(f));
    fprintf(fp, "\ndata_%s\n\n", cr_star_block_name(t));
    if (cr_star_is_loop(t)) {
        fprintf(fp, "loop_\n");
        for (int c = 0; c < cr_star_ncols(t); c++) fprintf(fp, "%s #%d\n", cr_star_col_name(t, c), c + 1);
        for (int r = 0; r < cr_star_nrows(t); r++) {
            for (int c = 0; c < cr_star_ncols(t); c++) {
                const char *v = cr_star_value(t, r, c);
                if (c) fputc(' ', fp);
                put_value(fp, v, quote_for(v), c + 1 < cr_star_ncols(t) ? width[c] : 0);
            }
            fputc('\n', fp);
        }
    } else {
        int kw = 0;
        for (int c = 0; c < cr_star_ncols(t); c++)
            if ((int)strlen(cr_star_col_name(t, c)) > kw) kw = (int)strlen(cr_star_col_name(t, c));
        for (int c = 0; c < cr_star_ncols(t); c++) {
            const char *v = cr_star_value(t, 0, c);
            fprintf(fp, "%-*s ", kw, cr_star_col_name(t, c));
            put_value(fp, v, quote_for(v), 0);
            fputc('\n', fp);
        }
    }
    fputc('\n', fp);
    free(width);
    return CR_OK;
}

cr_status cr_star_write(const cr_star_file *f, const char *path)
{
    cr_atomic_file af;
    cr_status st = cr_atomic_open(&af, path);
    if (st) return st;
    for (int i = 0; i < cr_star_nblocks(f) && !st; i++) st = write_table(f, cr_star_block(f, i), af.fp, path);
    if (!st && ferror(af.fp)) st = cr_fail(CR_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (!st) st = cr_atomic_commit(&af);
    if (st) cr_atomic_abort(&af);
    return st;
}
