/* JSON reader (grammar of RFC 8259, plus Python's NaN / Infinity): a
 * recursive-descent parser bounded by CR_JSON_MAX_DEPTH, building a tree of
 * malloc'd nodes. Errors carry the line and column of the offending byte. */
#include "clrestore/json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *s, *end, *what;
    const char *p;
    int depth;
} parser;

static cr_status perr(parser *ps, const char *msg)
{
    int line = 1, col = 1;
    for (const char *q = ps->s; q < ps->p && q < ps->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    if (ps->p >= ps->end) return cr_fail(CR_ERR_FORMAT, "%s: JSON ends early (line %d, column %d): %s", ps->what, line, col, msg);
    return cr_fail(CR_ERR_FORMAT, "%s: JSON line %d, column %d: %s", ps->what, line, col, msg);
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

static int take_word(parser *ps, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, w, n) == 0) {
        ps->p += n;
        return 1;
    }
    return 0;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ps->p at the opening quote. The decoded text is never longer than the
 * source (an escape of 6 or 12 bytes gives at most 4), so one allocation of
 * the source length suffices. */
static cr_status parse_string(parser *ps, char **out, size_t *outlen)
{
    const char *q = ++ps->p;
    while (q < ps->end && *q != '"') q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    if (q >= ps->end) {
        ps->p = ps->end;
        return perr(ps, "unterminated string");
    }
    char *buf = malloc((size_t)(q - ps->p) + 1);
    if (!buf) return cr_fail(CR_ERR_NOMEM, "%s: out of memory reading JSON", ps->what);
    size_t n = 0;
    while (ps->p < q) {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) {
            free(buf);
            return perr(ps, "control character inside a string");
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            ps->p++;
            continue;
        }
        char e = ps->p[1];
        ps->p += 2;
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (q - ps->p < 4 || !hex4(ps->p, &cp)) {
                ps->p -= 2;
                free(buf);
                return perr(ps, "bad \\u escape");
            }
            ps->p += 4;
            /* a UTF-16 surrogate pair encodes one code point above U+FFFF;
             * a lone surrogate becomes U+FFFD, as Python's decoder allows it */
            if (cp >= 0xD800 && cp < 0xDC00 && q - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u' &&
                hex4(ps->p + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                ps->p += 6;
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD;
            }
            n += put_utf8(buf + n, cp);
            break;
        }
        default:
            ps->p -= 2;
            free(buf);
            return perr(ps, "unknown escape in a string");
        }
    }
    buf[n] = '\0';
    ps->p = q + 1;
    *out = buf;
    *outlen = n;
    return CR_OK;
}

static cr_status parse_number(parser *ps, double *out)
{
    const char *q = ps->p;
    if (q < ps->end && *q == '-') q++;
    if (q < ps->end && *q == '0') {
        q++;
    } else if (q < ps->end && *q >= '1' && *q <= '9') {
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    } else {
        return perr(ps, "expected a value");
    }
    if (q < ps->end && *q == '.') {
        q++;
        if (q >= ps->end || *q < '0' || *q > '9') return perr(ps, "bad number");
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) q++;
        if (q >= ps->end || *q < '0' || *q > '9') return perr(ps, "bad number");
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    char tmp[64];
    size_t n = (size_t)(q - ps->p);
    if (n >= sizeof tmp) return perr(ps, "number too long");
    memcpy(tmp, ps->p, n);
    tmp[n] = '\0';
    *out = strtod(tmp, NULL);
    ps->p = q;
    return CR_OK;
}

static cr_status parse_value(parser *ps, cr_json **out);

/* Arrays and objects: members are linked in order. */
static cr_status parse_container(parser *ps, cr_json *j)
{
    int is_obj = j->type == CR_JSON_OBJECT;
    char close = is_obj ? '}' : ']';
    cr_json **tail = &j->child;
    ps->p++;
    if (++ps->depth > CR_JSON_MAX_DEPTH) return perr(ps, "nested too deeply");
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return CR_OK;
    }
    for (;;) {
        char *key = NULL;
        size_t klen = 0;
        cr_status st;
        skip_ws(ps);
        if (is_obj) {
            if (ps->p >= ps->end || *ps->p != '"') return perr(ps, "expected a member name in quotes");
            if ((st = parse_string(ps, &key, &klen)) != CR_OK) return st;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                return perr(ps, "expected ':'");
            }
            ps->p++;
        }
        cr_json *m = NULL;
        st = parse_value(ps, &m);
        /* linked even when it failed, so that freeing the tree frees it */
        if (m) {
            m->key = key;
            *tail = m;
            tail = &m->next;
            j->length++;
        } else {
            free(key);
        }
        if (st != CR_OK) return st;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            ps->depth--;
            return CR_OK;
        }
        return perr(ps, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static cr_status parse_value(parser *ps, cr_json **out)
{
    skip_ws(ps);
    cr_json *j = calloc(1, sizeof *j);
    if (!j) return cr_fail(CR_ERR_NOMEM, "%s: out of memory reading JSON", ps->what);
    *out = j;
    if (ps->p >= ps->end) return perr(ps, "expected a value");
    char c = *ps->p;
    if (c == '{' || c == '[') {
        j->type = c == '{' ? CR_JSON_OBJECT : CR_JSON_ARRAY;
        return parse_container(ps, j);
    }
    if (c == '"') {
        j->type = CR_JSON_STRING;
        return parse_string(ps, &j->string, &j->length);
    }
    if (take_word(ps, "true") || take_word(ps, "false")) {
        j->type = CR_JSON_BOOL;
        j->number = c == 't';
        return CR_OK;
    }
    if (take_word(ps, "null")) return CR_OK;
    j->type = CR_JSON_NUMBER;
    if (take_word(ps, "NaN")) {
        j->number = NAN;
        return CR_OK;
    }
    if (take_word(ps, "Infinity") || take_word(ps, "-Infinity")) {
        j->number = c == '-' ? -INFINITY : INFINITY;
        return CR_OK;
    }
    return parse_number(ps, &j->number);
}

cr_status cr_json_parse(const char *text, size_t len, const char *what, cr_json **out)
{
    *out = NULL;
    parser ps = {text, text + len, what ? what : "JSON", text, 0};
    cr_json *j = NULL;
    cr_status st = parse_value(&ps, &j);
    if (st == CR_OK) {
        skip_ws(&ps);
        if (ps.p < ps.end) st = perr(&ps, "text after the end of the value");
    }
    if (st != CR_OK) {
        cr_json_free(j);
        return st;
    }
    *out = j;
    return CR_OK;
}

void cr_json_free(cr_json *j)
{
    /* members are freed in a loop and only containers recurse, so the
     * recursion depth is the nesting depth (bounded by the parser) */
    while (j) {
        cr_json *next = j->next;
        cr_json_free(j->child);
        free(j->string);
        free(j->key);
        free(j);
        j = next;
    }
}

const cr_json *cr_json_get(const cr_json *j, const char *key)
{
    const cr_json *found = NULL;
    if (!j || j->type != CR_JSON_OBJECT) return NULL;
    for (const cr_json *m = j->child; m; m = m->next)
        if (m->key && strcmp(m->key, key) == 0) found = m;
    return found;
}

const cr_json *cr_json_at(const cr_json *j, size_t i)
{
    if (!j || j->type != CR_JSON_ARRAY) return NULL;
    const cr_json *m = j->child;
    while (m && i--) m = m->next;
    return m;
}

const char *cr_json_str(const cr_json *j)
{
    return j && j->type == CR_JSON_STRING ? j->string : NULL;
}

int cr_json_int(const cr_json *j, long lo, long hi, long *out)
{
    if (!j || j->type != CR_JSON_NUMBER || !(j->number >= (double)lo && j->number <= (double)hi)) return 0;
    if (j->number != floor(j->number)) return 0;
    *out = (long)j->number;
    return 1;
}
