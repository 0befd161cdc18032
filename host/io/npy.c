/* NumPy .npy structured arrays (numpy.lib.format, "NEP 1"): the magic and
 * version, the header dict literal parsed by a small recursive-descent reader
 * (no Python evaluation: strings, integers, booleans, tuples, lists, dicts),
 * the record layout, and typed access to fields. */
#include "clrestore/npy.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fileutil.h"

#define MAX_DEPTH 32
#define MAX_FIELDS 65536

typedef struct cursor {
    const char *p, *end;
    const char *path;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && isspace((unsigned char)*c->p))
        c->p++;
}

static int peek(cursor *c)
{
    skip_ws(c);
    return c->p < c->end ? (unsigned char)*c->p : -1;
}

static cr_status bad(const cursor *c, const char *what)
{
    return cr_fail(CR_ERR_FORMAT, "%s: not a NumPy .npy file: header: %s", c->path, what);
}

static cr_status expect(cursor *c, char ch, const char *what)
{
    if (peek(c) != ch) return bad(c, what);
    c->p++;
    return CR_OK;
}

/* A quoted Python string (backslash escapes kept as the escaped character). */
static cr_status parse_string(cursor *c, char **out)
{
    *out = NULL;
    int q = peek(c);
    if (q != '\'' && q != '"') return bad(c, "expected a quoted string");
    const char *s = ++c->p;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\') c->p++;
        c->p++, n++;
    }
    if (c->p >= c->end) return bad(c, "unterminated string");
    char *r = malloc(n + 1);
    if (!r) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", c->path);
    size_t k = 0;
    for (const char *t = s; t < c->p; t++) {
        if (*t == '\\') t++;
        r[k++] = *t;
    }
    r[k] = '\0';
    c->p++;
    *out = r;
    return CR_OK;
}

static cr_status parse_uint(cursor *c, size_t *out)
{
    if (peek(c) < 0 || !isdigit((unsigned char)*c->p)) return bad(c, "expected a number");
    size_t v = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
        if (v > (SIZE_MAX - 9) / 10) return bad(c, "number too large");
        v = v * 10 + (size_t)(*c->p++ - '0');
    }
    if (c->p < c->end && *c->p == 'L') c->p++; /* Python 2 long */
    *out = v;
    return CR_OK;
}

/* A tuple of non-negative integers: "()", "(5,)", "(2, 3)". */
static cr_status parse_shape(cursor *c, size_t *dims, int maxdims, int *ndims)
{
    *ndims = 0;
    cr_status st = expect(c, '(', "expected a shape tuple");
    if (st) return st;
    while (peek(c) != ')') {
        size_t v = 0;
        if ((st = parse_uint(c, &v))) return st;
        if (*ndims >= maxdims) return bad(c, "shape has too many dimensions");
        dims[(*ndims)++] = v;
        if (peek(c) == ',')
            c->p++;
        else if (peek(c) != ')')
            return bad(c, "expected ',' or ')' in a shape");
    }
    c->p++;
    return CR_OK;
}

static cr_status skip_value(cursor *c, int depth)
{
    if (depth > MAX_DEPTH) return bad(c, "nested too deeply");
    int ch = peek(c);
    cr_status st;
    if (ch == '\'' || ch == '"') {
        char *s = NULL;
        st = parse_string(c, &s);
        free(s);
        return st;
    }
    if (ch == '(' || ch == '[' || ch == '{') {
        char close = ch == '(' ? ')' : ch == '[' ? ']' : '}';
        c->p++;
        while (peek(c) != close) {
            if (peek(c) < 0) return bad(c, "unterminated bracket");
            if ((st = skip_value(c, depth + 1))) return st;
            int n = peek(c);
            if (n == ',' || n == ':')
                c->p++;
            else if (n != close)
                return bad(c, "expected a separator");
        }
        c->p++;
        return CR_OK;
    }
    const char *s = c->p;
    while (c->p < c->end && (isalnum((unsigned char)*c->p) || *c->p == '-' || *c->p == '.' || *c->p == '+'))
        c->p++;
    return c->p > s ? CR_OK : bad(c, "unexpected character");
}

/* "<f4" -> kind 'f', 4 bytes; "|S28" -> 'S', 28; "<U8" -> 'U', 32 bytes. */
static cr_status parse_typestr(const cursor *c, const char *field, const char *t, cr_npy_field *f)
{
    const char *s = t;
    if (*s == '<' || *s == '>' || *s == '|' || *s == '=') f->big_endian = *s++ == '>';
    f->kind = *s ? *s++ : 0;
    if (f->kind == 'O')
        return cr_fail(CR_ERR_UNSUPPORTED,
                       "%s: field %s holds Python objects (pickled); save the "
                       "dataset with fixed-size strings",
                       c->path, field);
    if (!isalpha((unsigned char)f->kind) || !isdigit((unsigned char)*s))
        return cr_fail(CR_ERR_FORMAT, "%s: field %s: type '%s' is not a NumPy type string", c->path, field,
                       t);
    size_t n = 0;
    for (; isdigit((unsigned char)*s); s++) {
        if (n > 1000000) break;
        n = n * 10 + (size_t)(*s - '0');
    }
    if (*s || n > 1000000)
        return cr_fail(CR_ERR_FORMAT, "%s: field %s: type '%s' is not a NumPy type string", c->path, field,
                       t);
    f->size = f->kind == 'U' ? 4 * n : n;
    if ((f->kind == 'f' && n != 2 && n != 4 && n != 8) ||
        ((f->kind == 'i' || f->kind == 'u') && n != 1 && n != 2 && n != 4 && n != 8) ||
        (f->kind == 'b' && n != 1))
        return cr_fail(CR_ERR_UNSUPPORTED, "%s: field %s: type '%s' is not supported", c->path, field, t);
    return CR_OK;
}

/* descr: a list of ('name', 'type') or ('name', 'type', (shape)). */
static cr_status parse_descr(cursor *c, cr_npy *a)
{
    cr_status st;
    if (peek(c) == '\'' || peek(c) == '"')
        return cr_fail(CR_ERR_FORMAT, "%s: a plain NumPy array, not a structured array (no named fields)",
                       c->path);
    if ((st = expect(c, '[', "descr: expected a list of fields"))) return st;
    size_t offset = 0;
    int cap = 0;
    while (peek(c) != ']') {
        if (a->nfields >= MAX_FIELDS) return bad(c, "too many fields");
        if (a->nfields == cap) {
            cap = cap ? 2 * cap : 32;
            cr_npy_field *nf = realloc(a->fields, (size_t)cap * sizeof *nf);
            if (!nf) return cr_fail(CR_ERR_NOMEM, "%s: out of memory", c->path);
            a->fields = nf;
        }
        cr_npy_field *f = &a->fields[a->nfields];
        memset(f, 0, sizeof *f);
        if ((st = expect(c, '(', "descr: expected a (name, type) tuple"))) return st;
        if (peek(c) == '(')
            return cr_fail(CR_ERR_UNSUPPORTED, "%s: fields with titles are not supported", c->path);
        if ((st = parse_string(c, &f->name))) return st;
        a->nfields++;
        if ((st = expect(c, ',', "descr: expected ',' after a field name"))) return st;
        if (peek(c) == '[')
            return cr_fail(CR_ERR_UNSUPPORTED, "%s: field %s is a nested record; not supported", c->path,
                           f->name);
        char *type = NULL;
        if ((st = parse_string(c, &type))) return st;
        st = parse_typestr(c, f->name, type, f);
        free(type);
        if (st) return st;
        f->count = 1;
        if (peek(c) == ',') {
            c->p++;
            if (peek(c) == '(') {
                size_t dims[8];
                int nd = 0;
                if ((st = parse_shape(c, dims, 8, &nd))) return st;
                for (int k = 0; k < nd; k++) {
                    if (dims[k] && f->count > SIZE_MAX / dims[k] / 2) return bad(c, "field shape too large");
                    f->count *= dims[k];
                }
            }
        }
        if ((st = expect(c, ')', "descr: expected ')' after a field"))) return st;
        if (f->size && f->count > (SIZE_MAX / 4) / f->size) return bad(c, "field too large");
        f->offset = offset;
        if (offset > SIZE_MAX / 4 - f->size * f->count) return bad(c, "record too large");
        offset += f->size * f->count;
        if (peek(c) == ',')
            c->p++;
        else if (peek(c) != ']')
            return bad(c, "descr: expected ',' or ']'");
    }
    c->p++;
    for (int i = 0; i < a->nfields; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(a->fields[i].name, a->fields[j].name) == 0 && a->fields[i].name[0])
                return cr_fail(CR_ERR_FORMAT, "%s: field %s appears twice", c->path, a->fields[i].name);
    a->itemsize = offset;
    return CR_OK;
}

static cr_status parse_header(cursor *c, cr_npy *a)
{
    int have_descr = 0, have_shape = 0, fortran = 0;
    size_t dims[8];
    int nd = 0;
    cr_status st;
    if ((st = expect(c, '{', "expected a dict"))) return st;
    while (peek(c) != '}') {
        char *key = NULL;
        if ((st = parse_string(c, &key))) return st;
        if ((st = expect(c, ':', "expected ':' after a key"))) {
            free(key);
            return st;
        }
        if ((strcmp(key, "descr") == 0 && have_descr) || (strcmp(key, "shape") == 0 && have_shape)) {
            /* a second descr would append to the first one's fields */
            st = cr_fail(CR_ERR_FORMAT, "%s: header has key '%s' twice", c->path, key);
        } else if (strcmp(key, "descr") == 0) {
            st = parse_descr(c, a);
            have_descr = 1;
        } else if (strcmp(key, "shape") == 0) {
            st = parse_shape(c, dims, 8, &nd);
            have_shape = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            const char *s = c->p;
            st = skip_value(c, 0);
            fortran = c->p - s >= 4 && strncmp(s, "True", 4) == 0;
        } else {
            st = skip_value(c, 0);
        }
        free(key);
        if (st) return st;
        if (peek(c) == ',')
            c->p++;
        else if (peek(c) != '}')
            return bad(c, "expected ',' or '}'");
    }
    if (!have_descr || !have_shape) return bad(c, "missing 'descr' or 'shape'");
    if (nd != 1)
        return cr_fail(CR_ERR_UNSUPPORTED, "%s: array has %d dimensions; expected one record per row",
                       c->path, nd);
    (void)fortran; /* irrelevant for one dimension */
    a->nrows = dims[0];
    return CR_OK;
}

cr_status cr_npy_parse(const void *bytes, size_t len, const char *name, cr_npy **out)
{
    cr_status st = CR_OK;
    *out = NULL;
    cr_npy *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(name)) || !(a->buf = malloc(len ? len : 1))) {
        cr_npy_free(a);
        return cr_fail(CR_ERR_NOMEM, "%s: out of memory", name);
    }
    if (len) memcpy(a->buf, bytes, len);
    const unsigned char *b = a->buf;
    if (len >= 6 && memcmp(b,
                           "\x95"
                           "CSDAT",
                           6) == 0) {
        st = cr_fail(CR_ERR_UNSUPPORTED,
                     "%s: a compressed (CSDAT) .cs file; save it in the NumPy format "
                     "(cryosparc-tools: Dataset.save(path))",
                     name);
        goto cleanup;
    }
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
        st = cr_fail(CR_ERR_FORMAT, "%s: not a NumPy .npy / cryoSPARC .cs file (no \\x93NUMPY magic)", name);
        goto cleanup;
    }
    int major = b[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) {
            st = cr_fail(CR_ERR_FORMAT, "%s: truncated header", name);
            goto cleanup;
        }
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hstart = 12;
    } else {
        st = cr_fail(CR_ERR_UNSUPPORTED, "%s: .npy format version %d.%d is not supported", name, major, b[7]);
        goto cleanup;
    }
    if (hlen > len - hstart) {
        st = cr_fail(CR_ERR_FORMAT, "%s: truncated: header of %zu bytes, file of %zu", name, hlen, len);
        goto cleanup;
    }
    cursor c = {(const char *)b + hstart, (const char *)b + hstart + hlen, name};
    if ((st = parse_header(&c, a))) goto cleanup;
    size_t avail = len - hstart - hlen;
    if (a->itemsize == 0 && a->nrows > 0) {
        st = cr_fail(CR_ERR_FORMAT, "%s: records of zero bytes", name);
        goto cleanup;
    }
    if (a->itemsize && a->nrows > avail / a->itemsize) {
        st = cr_fail(CR_ERR_FORMAT,
                     "%s: truncated: %zu records of %zu bytes need %zu bytes of data, the file has %zu", name,
                     a->nrows, a->itemsize,
                     a->nrows <= SIZE_MAX / a->itemsize ? a->nrows * a->itemsize : SIZE_MAX, avail);
        goto cleanup;
    }
    a->data = b + hstart + hlen;
    *out = a;
    a = NULL;
cleanup:
    cr_npy_free(a);
    return st;
}

cr_status cr_npy_read(const char *path, cr_npy **out)
{
    char *data = NULL;
    size_t len = 0;
    *out = NULL;
    cr_status st = cr_read_file(path, &data, &len);
    if (st == CR_OK) st = cr_npy_parse(data, len, path, out);
    free(data);
    return st;
}

void cr_npy_free(cr_npy *a)
{
    if (!a) return;
    for (int i = 0; a->fields && i < a->nfields; i++)
        free(a->fields[i].name);
    free(a->fields);
    free(a->buf);
    free(a->path);
    free(a);
}

int cr_npy_field_index(const cr_npy *a, const char *name)
{
    for (int i = 0; i < a->nfields; i++)
        if (strcmp(a->fields[i].name, name) == 0) return i;
    return -1;
}

static uint64_t load_uint(const unsigned char *p, size_t n, int big)
{
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++)
        v |= (uint64_t)p[big ? n - 1 - k : k] << (8 * k);
    return v;
}

/* IEEE 754 binary16 -> double. */
static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

cr_status cr_npy_get_double(const cr_npy *a, size_t row, int field, size_t elem, double *out)
{
    if (field < 0 || field >= a->nfields || row >= a->nrows || elem >= a->fields[field].count)
        return cr_fail(CR_ERR_ARG, "%s: no element %zu of field %d in row %zu", a->path, elem, field, row);
    const cr_npy_field *f = &a->fields[field];
    const unsigned char *p = a->data + row * a->itemsize + f->offset + elem * f->size;
    if (!strchr("buif", f->kind))
        return cr_fail(CR_ERR_FORMAT, "%s: field %s is not numeric", a->path, f->name);
    uint64_t v = load_uint(p, f->size, f->big_endian); /* sizes 1, 2, 4, 8 (parse_typestr) */
    switch (f->kind) {
    case 'b':
        *out = v != 0;
        return CR_OK;
    case 'u':
        *out = (double)v;
        return CR_OK;
    case 'i': {
        int sh = 64 - 8 * (int)f->size;
        *out = (double)((int64_t)(v << sh) >> sh);
        return CR_OK;
    }
    case 'f':
        if (f->size == 2) {
            *out = half_to_double((uint16_t)v);
        } else if (f->size == 4) {
            uint32_t u = (uint32_t)v;
            float x;
            memcpy(&x, &u, 4);
            *out = x;
        } else {
            double x;
            memcpy(&x, &v, 8);
            *out = x;
        }
        return CR_OK;
    default:
        return cr_fail(CR_ERR_FORMAT, "%s: field %s is not numeric", a->path, f->name);
    }
}

cr_status cr_npy_get_string(const cr_npy *a, size_t row, int field, char *out, size_t outlen)
{
    if (field < 0 || field >= a->nfields || row >= a->nrows || outlen == 0)
        return cr_fail(CR_ERR_ARG, "%s: no field %d in row %zu", a->path, field, row);
    const cr_npy_field *f = &a->fields[field];
    const unsigned char *p = a->data + row * a->itemsize + f->offset;
    size_t n = 0;
    if (f->kind == 'S') {
        while (n < f->size && p[n])
            n++;
        if (n >= outlen)
            return cr_fail(CR_ERR_FORMAT, "%s: row %zu: %s is too long", a->path, row + 1, f->name);
        memcpy(out, p, n);
    } else if (f->kind == 'U') {
        for (size_t k = 0; k + 4 <= f->size; k += 4) {
            uint32_t cp = (uint32_t)load_uint(p + k, 4, f->big_endian);
            if (!cp) break;
            if (cp > 127)
                return cr_fail(CR_ERR_UNSUPPORTED, "%s: row %zu: %s has a non-ASCII character", a->path,
                               row + 1, f->name);
            if (n + 1 >= outlen)
                return cr_fail(CR_ERR_FORMAT, "%s: row %zu: %s is too long", a->path, row + 1, f->name);
            out[n++] = (char)cp;
        }
    } else {
        return cr_fail(CR_ERR_FORMAT, "%s: field %s is not a string", a->path, f->name);
    }
    out[n] = '\0';
    if (memchr(out, '\n', n) || memchr(out, '\r', n))
        return cr_fail(CR_ERR_FORMAT, "%s: row %zu: %s holds a line break", a->path, row + 1, f->name);
    return CR_OK;
}
