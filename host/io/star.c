/* STAR tokenizer, parser, accessors and writer (format notes in star.h).
 *
 * The parser copies the text once into the file's pool, walks it line by
 * line and cuts tokens in place by writing NULs; tables store 32-bit pool
 * offsets. Pool offset 0 is always "" (the pool starts with a NUL). */
#include "clrestore/star.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fileutil.h"

struct cr_star_table {
    cr_star_file *file; /* owner: the pool holds the text */
    uint32_t name;      /* pool offset of the block name, without "data_" */
    int is_loop;
    int ncols, nrows;
    uint32_t *cols;     /* (ncols) label offsets, with the leading '_' */
    uint32_t *cells;    /* (nrows, ncols) value offsets, row-major */
    int *row_line;      /* (nrows) source line, 0 for rows built in memory */
    size_t cap_rows;    /* rows allocated in cells and row_line */
};

struct cr_star_file {
    char *path;
    char *pool;
    size_t pool_len, pool_cap;
    cr_star_table **tables;
    int ntables, cap_tables;
    int version;
};

/* ---- pool and table helpers ------------------------------------------------- */

static const char *pool_str(const cr_star_file *f, uint32_t off) { return f->pool + off; }

static cr_status pool_reserve(cr_star_file *f, size_t extra)
{
    if (f->pool_len + extra > UINT32_MAX)
        return cr_fail(CR_ERR_UNSUPPORTED, "%s: STAR text larger than 4 GB", f->path);
    if (f->pool_len + extra <= f->pool_cap) return CR_OK;
    size_t cap = f->pool_cap ? f->pool_cap : 256;
    while (cap < f->pool_len + extra) cap *= 2;
    char *p = realloc(f->pool, cap);
    if (!p) return cr_fail(CR_ERR_NOMEM, "%s: out of memory for STAR text", f->path);
    f->pool = p;
    f->pool_cap = cap;
    return CR_OK;
}

/* Copies s (which may point into the pool itself) to the pool. */
static cr_status pool_add(cr_star_file *f, const char *s, uint32_t *off)
{
    if (!*s) { *off = 0; return CR_OK; }
    size_t n = strlen(s) + 1;
    int inside = f->pool && s >= f->pool && s < f->pool + f->pool_len;
    size_t src_off = inside ? (size_t)(s - f->pool) : 0;
    cr_status st = pool_reserve(f, n);
    if (st) return st;
    memcpy(f->pool + f->pool_len, inside ? f->pool + src_off : s, n);
    *off = (uint32_t)f->pool_len;
    f->pool_len += n;
    return CR_OK;
}

static void table_free(cr_star_table *t)
{
    if (!t) return;
    free(t->cols);
    free(t->cells);
    free(t->row_line);
    free(t);
}

static cr_status new_table(cr_star_file *f, uint32_t name, int is_loop, cr_star_table **out)
{
    if (f->ntables == f->cap_tables) {
        int cap = f->cap_tables ? 2 * f->cap_tables : 8;
        cr_star_table **p = realloc(f->tables, (size_t)cap * sizeof *p);
        if (!p) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", f->path);
        f->tables = p;
        f->cap_tables = cap;
    }
    cr_star_table *t = calloc(1, sizeof *t);
    if (!t) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", f->path);
    t->file = f;
    t->name = name;
    t->is_loop = is_loop;
    t->nrows = is_loop ? 0 : 1;
    f->tables[f->ntables++] = t;
    *out = t;
    return CR_OK;
}

static cr_status reserve_rows(cr_star_table *t, size_t rows)
{
    if (rows <= t->cap_rows && t->cells) return CR_OK;
    size_t cap = t->cap_rows ? t->cap_rows : 16;
    while (cap < rows) cap *= 2;
    size_t ncols = t->ncols ? (size_t)t->ncols : 1;
    uint32_t *c = realloc(t->cells, cap * ncols * sizeof *c);
    if (c) t->cells = c;
    int *l = realloc(t->row_line, cap * sizeof *l);
    if (l) t->row_line = l;
    if (!c || !l) return cr_fail(CR_ERR_NOMEM, "%s: out of memory for a STAR table", t->file->path);
    t->cap_rows = cap;
    return CR_OK;
}

/* Appends a column whose cells are all "" (re-lays out existing rows). */
static cr_status append_column(cr_star_table *t, uint32_t label)
{
    uint32_t *cols = realloc(t->cols, (size_t)(t->ncols + 1) * sizeof *cols);
    if (!cols) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", t->file->path);
    t->cols = cols;
    size_t nr = (size_t)t->nrows, nc = (size_t)t->ncols;
    size_t cap = t->cap_rows > nr ? t->cap_rows : (nr ? nr : 1);
    uint32_t *cells = malloc(cap * (nc + 1) * sizeof *cells);
    int *lines = t->row_line ? t->row_line : calloc(cap, sizeof *lines);
    if (!cells || !lines) {
        free(cells);
        if (lines != t->row_line) free(lines);
        return cr_fail(CR_ERR_NOMEM, "%s: out of memory", t->file->path);
    }
    for (size_t r = 0; r < nr; r++) {
        if (nc) memcpy(cells + r * (nc + 1), t->cells + r * nc, nc * sizeof *cells);
        cells[r * (nc + 1) + nc] = 0;
    }
    free(t->cells);
    t->cells = cells;
    t->row_line = lines;
    t->cap_rows = cap;
    t->cols[t->ncols++] = label;
    return CR_OK;
}

/* ---- parser ----------------------------------------------------------------- */

typedef struct token {
    uint32_t off;
    int quoted; /* quoted values are never keywords or labels */
} token;

typedef struct parser {
    cr_star_file *f;
    int line;
    token *tok;
    int ntok, cap_tok;
} parser;

static cr_status perr(const parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cr_status perr(const parser *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cr_fail(CR_ERR_FORMAT, "%s: line %d: %s", p->f->path, p->line, msg);
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

static cr_status push_tok(parser *p, size_t off, int quoted)
{
    if (p->ntok == p->cap_tok) {
        int cap = p->cap_tok ? 2 * p->cap_tok : 64;
        token *t = realloc(p->tok, (size_t)cap * sizeof *t);
        if (!t) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", p->f->path);
        p->tok = t;
        p->cap_tok = cap;
    }
    p->tok[p->ntok].off = (uint32_t)off;
    p->tok[p->ntok].quoted = quoted;
    p->ntok++;
    return CR_OK;
}

/* Cuts the line [b, e) (e is its '\n' or the final NUL) into p->tok. */
static cr_status tokenize(parser *p, size_t b, size_t e)
{
    char *s = p->f->pool;
    size_t i = b;
    p->ntok = 0;
    while (i < e) {
        while (i < e && is_ws(s[i])) i++;
        if (i >= e || s[i] == '#') break;
        size_t start = i, end;
        int quoted = 0;
        if (s[i] == '\'' || s[i] == '"') {
            /* a quote closes only when followed by whitespace or the end of line */
            char q = s[i];
            size_t j = i + 1;
            while (j < e && !(s[j] == q && (j + 1 >= e || is_ws(s[j + 1])))) j++;
            if (j >= e) return perr(p, "unterminated %s quote", q == '"' ? "double" : "single");
            start = i + 1;
            end = j;
            quoted = 1;
            i = j + 1;
        } else {
            size_t j = i;
            if (s[i] == '[') { /* a bracketed vector is one token, spaces allowed */
                int depth = 0;
                for (; j < e; j++) {
                    if (s[j] == '[') depth++;
                    else if (s[j] == ']' && --depth == 0) break;
                }
                if (j >= e) j = i; /* unbalanced: an ordinary token */
            }
            while (j < e && !is_ws(s[j])) j++;
            end = j;
            i = j;
        }
        cr_status st = push_tok(p, start, quoted);
        if (st) return st;
        s[end] = '\0'; /* end is whitespace, '\n', a closing quote or the final NUL */
        if (!quoted) i = end + (end < e);
    }
    return CR_OK;
}

static int keyword(const parser *p, int k, const char *word)
{
    return !p->tok[k].quoted && strcmp(p->f->pool + p->tok[k].off, word) == 0;
}

/* "# version 30001" before a block: remembered for writing the file back. */
static void note_version(cr_star_file *f, const char *line, size_t n)
{
    if (f->version || n < 10) return;
    const char *c = line;
    while (is_ws(*c)) c++;
    if (strncmp(c, "# version ", 10) == 0) f->version = atoi(c + 10);
}

static cr_status parse_lines(parser *p, size_t text_end)
{
    cr_star_file *f = p->f;
    cr_star_table *cur = NULL; /* the table that new labels and rows go to */
    uint32_t block = 0;        /* name offset of the current data_ block */
    int in_block = 0, skipping = 0, loop_has_rows = 0;
    cr_status st;
    size_t b = 1;
    for (p->line = 1; b < text_end; p->line++) {
        const char *nl = memchr(f->pool + b, '\n', text_end - b);
        size_t e = nl ? (size_t)(nl - f->pool) : text_end;
        if (!in_block) note_version(f, f->pool + b, e - b);
        if ((st = tokenize(p, b, e))) return st;
        b = e + 1;
        if (p->ntok == 0) continue;
        const char *t0 = f->pool + p->tok[0].off;
        int bare = !p->tok[0].quoted;
        if (bare && strncmp(t0, "data_", 5) == 0) {
            if (p->ntok > 1) return perr(p, "unexpected text after %s", t0);
            block = p->tok[0].off + 5;
            if ((st = new_table(f, block, 0, &cur))) return st;
            in_block = 1;
            skipping = 0;
            continue;
        }
        if (bare && (strcmp(t0, "global_") == 0)) { skipping = 1; continue; }
        if (skipping || (bare && strcmp(t0, "stop_") == 0)) continue;
        if (!in_block) return perr(p, "'%s' before the first data_ block", t0);
        if (keyword(p, 0, "loop_")) {
            if (p->ntok > 1) return perr(p, "unexpected text after loop_");
            if (!cur->is_loop && cur->ncols == 0) { /* the fresh block becomes the loop */
                cur->is_loop = 1;
                cur->nrows = 0;
            } else if ((st = new_table(f, block, 1, &cur))) {
                return st;
            }
            loop_has_rows = 0;
            continue;
        }
        if (bare && t0[0] == '_') {
            if (cur->is_loop && loop_has_rows) { /* pairs after a loop: a new table */
                if ((st = new_table(f, block, 0, &cur))) return st;
            }
            for (int c = 0; c < cur->ncols; c++)
                if (strcmp(pool_str(f, cur->cols[c]), t0) == 0)
                    return perr(p, "duplicate column %s", t0);
            if (cur->is_loop) { /* label; the rest of the line (#N, [text]) is ignored */
                if ((st = append_column(cur, p->tok[0].off))) return st;
                continue;
            }
            if (p->ntok != 2)
                return perr(p, p->ntok < 2 ? "%s has no value" : "%s has more than one value", t0);
            if ((st = append_column(cur, p->tok[0].off))) return st;
            cur->cells[cur->ncols - 1] = p->tok[1].off;
            cur->row_line[0] = p->line;
            continue;
        }
        /* a data row */
        if (!cur->is_loop || cur->ncols == 0)
            return perr(p, "value '%s' outside a loop (missing label or loop_?)", t0);
        if (p->ntok != cur->ncols)
            return perr(p, "data_%s: row has %d values, expected %d", pool_str(f, cur->name),
                        p->ntok, cur->ncols);
        if ((st = reserve_rows(cur, (size_t)cur->nrows + 1))) return st;
        uint32_t *row = cur->cells + (size_t)cur->nrows * (size_t)cur->ncols;
        for (int k = 0; k < p->ntok; k++) row[k] = p->tok[k].off;
        cur->row_line[cur->nrows++] = p->line;
        loop_has_rows = 1;
    }
    if (f->ntables == 0) return cr_fail(CR_ERR_FORMAT, "%s: no data blocks (empty or not a STAR file)", f->path);
    return CR_OK;
}

cr_status cr_star_parse(const char *text, size_t len, const char *name, cr_star_file **out)
{
    *out = NULL;
    if (!name) name = "(memory)";
    if (memchr(text, '\0', len))
        return cr_fail(CR_ERR_FORMAT, "%s: NUL byte in text (binary file?)", name);
    cr_star_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(name))) {
        free(f);
        return cr_fail(CR_ERR_NOMEM, "%s: out of memory", name);
    }
    parser p = {.f = f};
    cr_status st = pool_reserve(f, len + 2);
    if (!st) {
        f->pool[0] = '\0';
        memcpy(f->pool + 1, text, len);
        f->pool[len + 1] = '\0';
        f->pool_len = len + 2;
        st = parse_lines(&p, len + 1);
    }
    free(p.tok);
    if (st) {
        cr_star_free(f);
        return st;
    }
    *out = f;
    return CR_OK;
}

cr_status cr_star_read(const char *path, cr_star_file **out)
{
    char *data = NULL;
    size_t len = 0;
    *out = NULL;
    cr_status st = cr_read_file(path, &data, &len);
    if (st) return st;
    st = cr_star_parse(data, len, path, out);
    free(data);
    return st;
}

void cr_star_free(cr_star_file *f)
{
    if (!f) return;
    for (int i = 0; i < f->ntables; i++) table_free(f->tables[i]);
    free(f->tables);
    free(f->pool);
    free(f->path);
    free(f);
}

/* ---- accessors -------------------------------------------------------------- */

const char *cr_star_path(const cr_star_file *f) { return f->path; }
cr_status cr_star_set_path(cr_star_file *f, const char *path)
{
    char *p = strdup(path);
    if (!p) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", path);
    free(f->path);
    f->path = p;
    return CR_OK;
}
int cr_star_nblocks(const cr_star_file *f) { return f->ntables; }
int cr_star_version(const cr_star_file *f) { return f->version; }

const cr_star_table *cr_star_block(const cr_star_file *f, int i)
{
    return i >= 0 && i < f->ntables ? f->tables[i] : NULL;
}

const cr_star_table *cr_star_find_block(const cr_star_file *f, const char *name)
{
    if (strncmp(name, "data_", 5) == 0) name += 5;
    for (int i = 0; i < f->ntables; i++)
        if (strcmp(pool_str(f, f->tables[i]->name), name) == 0) return f->tables[i];
    return NULL;
}

const char *cr_star_block_name(const cr_star_table *t) { return pool_str(t->file, t->name); }
int cr_star_is_loop(const cr_star_table *t) { return t->is_loop; }
int cr_star_ncols(const cr_star_table *t) { return t->ncols; }
int cr_star_nrows(const cr_star_table *t) { return t->nrows; }

const char *cr_star_col_name(const cr_star_table *t, int c)
{
    return c >= 0 && c < t->ncols ? pool_str(t->file, t->cols[c]) : NULL;
}

int cr_star_col_index(const cr_star_table *t, const char *name)
{
    if (name[0] == '_') name++;
    for (int c = 0; c < t->ncols; c++)
        if (strcmp(pool_str(t->file, t->cols[c]) + 1, name) == 0) return c;
    return -1;
}

const char *cr_star_value(const cr_star_table *t, int row, int col)
{
    if (row < 0 || row >= t->nrows || col < 0 || col >= t->ncols) return NULL;
    return pool_str(t->file, t->cells[(size_t)row * (size_t)t->ncols + (size_t)col]);
}

int cr_star_row_line(const cr_star_table *t, int row)
{
    return row >= 0 && row < t->nrows && t->row_line ? t->row_line[row] : 0;
}

cr_status cr_star_get_double(const cr_star_file *f, const cr_star_table *t, int row, int col,
                             double *out)
{
    const char *v = cr_star_value(t, row, col);
    char where[600];
    int line = cr_star_row_line(t, row);
    snprintf(where, sizeof where, "%s: data_%s: column %s, row %d", f->path,
             cr_star_block_name(t), col >= 0 && col < t->ncols ? cr_star_col_name(t, col) : "?",
             row + 1);
    if (!v) return cr_fail(CR_ERR_ARG, "%s: no such cell", where);
    /* decimal only: strtod alone would also take "nan", "inf", "0x1p3" */
    int ok = *v != '\0';
    for (const char *c = v; *c && ok; c++)
        ok = (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '+' || *c == 'e' || *c == 'E';
    char *end = NULL;
    errno = 0;
    double x = ok ? strtod(v, &end) : 0.0;
    if (!ok || *end != '\0' || end == v || !isfinite(x) || errno == ERANGE) {
        if (line)
            return cr_fail(CR_ERR_FORMAT, "%s (line %d): '%s' is not a number", where, line, v);
        return cr_fail(CR_ERR_FORMAT, "%s: '%s' is not a number", where, v);
    }
    *out = x;
    return CR_OK;
}

cr_status cr_star_get_int(const cr_star_file *f, const cr_star_table *t, int row, int col, int *out)
{
    double x;
    cr_status st = cr_star_get_double(f, t, row, col, &x);
    if (st) return st;
    if (x != floor(x) || fabs(x) > 2147483647.0)
        return cr_fail(CR_ERR_FORMAT, "%s: data_%s: column %s, row %d: '%s' is not an integer",
                       f->path, cr_star_block_name(t), cr_star_col_name(t, col), row + 1,
                       cr_star_value(t, row, col));
    *out = (int)x;
    return CR_OK;
}

/* ---- building --------------------------------------------------------------- */

cr_status cr_star_new(cr_star_file **out)
{
    *out = NULL;
    cr_star_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup("(new STAR file)"))) {
        free(f);
        return cr_fail(CR_ERR_NOMEM, "out of memory for a STAR file");
    }
    if (pool_reserve(f, 256)) {
        cr_star_free(f);
        return CR_ERR_NOMEM;
    }
    f->pool[0] = '\0';
    f->pool_len = 1;
    f->version = 30001;
    *out = f;
    return CR_OK;
}

void cr_star_set_version(cr_star_file *f, int version) { f->version = version; }

cr_star_table *cr_star_table_mut(cr_star_file *f, const cr_star_table *t)
{
    for (int i = 0; i < f->ntables; i++)
        if (f->tables[i] == t) return f->tables[i];
    return NULL;
}

cr_status cr_star_add_table(cr_star_file *f, const char *name, int is_loop, cr_star_table **out)
{
    if (strncmp(name, "data_", 5) == 0) name += 5;
    for (const char *c = name; *c; c++)
        if (is_ws(*c) || *c == '\n')
            return cr_fail(CR_ERR_ARG, "%s: block name '%s' contains whitespace", f->path, name);
    uint32_t off;
    cr_status st = pool_add(f, name, &off);
    return st ? st : new_table(f, off, is_loop, out);
}

cr_status cr_star_add_column(cr_star_file *f, cr_star_table *t, const char *name, int *col)
{
    int c = cr_star_col_index(t, name);
    if (c >= 0) {
        if (col) *col = c;
        return CR_OK;
    }
    if (!*name || (name[0] == '_' && !name[1]))
        return cr_fail(CR_ERR_ARG, "%s: empty column name", f->path);
    for (const char *s = name; *s; s++)
        if (is_ws(*s) || *s == '\n')
            return cr_fail(CR_ERR_ARG, "%s: column name '%s' contains whitespace", f->path, name);
    uint32_t off;
    cr_status st;
    if (name[0] == '_') {
        st = pool_add(f, name, &off);
    } else {
        char buf[512];
        snprintf(buf, sizeof buf, "_%s", name);
        st = pool_add(f, buf, &off);
    }
    if (!st) st = append_column(t, off);
    if (!st && col) *col = t->ncols - 1;
    return st;
}

cr_status cr_star_set_value(cr_star_file *f, cr_star_table *t, int row, int col, const char *value)
{
    if (row < 0 || row >= t->nrows || col < 0 || col >= t->ncols)
        return cr_fail(CR_ERR_ARG, "%s: data_%s: no cell at row %d, column %d", f->path,
                       cr_star_block_name(t), row + 1, col + 1);
    uint32_t off;
    cr_status st = pool_add(f, value ? value : "", &off);
    if (!st) t->cells[(size_t)row * (size_t)t->ncols + (size_t)col] = off;
    return st;
}

cr_status cr_star_append_row(cr_star_file *f, cr_star_table *t, const char *const *values, int *row)
{
    if (!t->is_loop || t->ncols == 0)
        return cr_fail(CR_ERR_ARG, "%s: data_%s: rows go only to a loop with columns", f->path,
                       cr_star_block_name(t));
    cr_status st = reserve_rows(t, (size_t)t->nrows + 1);
    if (st) return st;
    int r = t->nrows++;
    t->row_line[r] = 0;
    for (int c = 0; c < t->ncols; c++) t->cells[(size_t)r * (size_t)t->ncols + (size_t)c] = 0;
    for (int c = 0; values && c < t->ncols; c++)
        if ((st = cr_star_set_value(f, t, r, c, values[c]))) return st;
    if (row) *row = r;
    return CR_OK;
}

cr_status cr_star_copy_table(cr_star_file *f, const cr_star_table *src, const char *name,
                             int with_rows, cr_star_table **out)
{
    /* values are copied through pool_add, which copes with src living in f */
    cr_star_table *t;
    cr_status st = cr_star_add_table(f, name ? name : cr_star_block_name(src), src->is_loop, &t);
    for (int c = 0; !st && c < src->ncols; c++) st = cr_star_add_column(f, t, cr_star_col_name(src, c), NULL);
    int nrows = src->is_loop ? (with_rows ? src->nrows : 0) : 1;
    for (int r = 0; !st && r < nrows; r++) {
        if (t->is_loop) st = cr_star_append_row(f, t, NULL, NULL);
        for (int c = 0; !st && c < src->ncols; c++) st = cr_star_set_value(f, t, r, c, cr_star_value(src, r, c));
    }
    if (!st && out) *out = t;
    return st;
}
