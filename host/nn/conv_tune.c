/* Tuning as data (conv_tune.h, docs/tuning.md): the field table every tunable is one
 * row of, the shape classes, the cache file (text, one line per class) and the lookup
 * order file > cache > built-in database > fallback. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fileutil.h"
#include "clrestore/log.h"
#include "conv_tune.h"

#define F(name, lo, hi, p2) {#name, offsetof(cr_conv_tiles, name), lo, hi, p2}
/* Adding a tunable: a field in cr_conv_tiles and one row here. Ranges are what the
 * kernels accept (vector widths 4, 8, 16; accumulator arrays stay in registers or
 * spill, never break). The lm_* rows are checked further against the device when the
 * work-group tiled variant runs (cr_conv_local_check: divisibility, local memory size). */
const cr_conv_field cr_conv_fields[] = {
    F(fwd_variant, 0, 1, 0),
    F(fwd_tm, 1, 32, 0),
    F(fwd_tm_fit, 0, 1, 0),
    F(fwd_vw, 4, 16, 1),
    F(fwd_local, 0, 1024, 0),
    F(fwd_wblock, 0, 1, 0),
    F(fwd_kc, 0, 65536, 0),
    F(fwd_eb_kib, 0, 4096, 0),
    F(dw_tm, 1, 8, 0),
    F(dw_tn, 1, 8, 0),
    F(dw_vw, 4, 16, 1),
    F(dw_local, 0, 1024, 0),
    F(dw_items_per_cu, 1, 65536, 0),
    F(dw_chunk_px, 16, 1 << 22, 0),
    F(dw_max_partial_mib, 1, 4096, 0),
    F(db_local, 1, 1024, 1),
    F(lm_mwg, 1, 256, 0),
    F(lm_nwg, 1, 256, 0),
    F(lm_kwg, 1, 256, 0),
    F(lm_mdimc, 1, 256, 0),
    F(lm_ndimc, 1, 256, 0),
    F(lm_vwm, 1, 8, 1),
    F(dw_variant, 0, 1, 0),
    F(ld_mwg, 1, 256, 0),
    F(ld_nwg, 1, 256, 0),
    F(ld_kwg, 1, 256, 0),
    F(ld_mdimc, 1, 256, 0),
    F(ld_ndimc, 1, 256, 0),
};
#undef F
const int cr_conv_nfields = (int)(sizeof cr_conv_fields / sizeof cr_conv_fields[0]);
_Static_assert(sizeof(cr_conv_tiles) == sizeof(cr_conv_fields) / sizeof(cr_conv_fields[0]) * sizeof(int),
               "every member of cr_conv_tiles has a row in cr_conv_fields");

static const char *const class_names[CR_CONV_NCLASSES] = {
    [CR_CC_TINY] = "tiny",          [CR_CC_1X1_NARROW] = "1x1-narrow", [CR_CC_1X1_WIDE] = "1x1-wide",
    [CR_CC_KXK_NARROW] = "kxk-narrow", [CR_CC_KXK_WIDE] = "kxk-wide",  [CR_CC_S2] = "stride2",
    [CR_CC_1X1_DEEP] = "1x1-deep",
};

const char *cr_conv_class_name(int cls) { return cls >= 0 && cls < CR_CONV_NCLASSES ? class_names[cls] : "?"; }

int cr_conv_class_find(const char *name)
{
    for (int c = 0; c < CR_CONV_NCLASSES; c++)
        if (!strcmp(name, class_names[c])) return c;
    return -1;
}

int cr_conv_class_of(int cin, int cout, int k, int stride)
{
    if (cin <= 8 && cout <= 8) return CR_CC_TINY;
    if (stride > 1) return CR_CC_S2;
    if (k == 1 && cin >= 256 && cin >= 4 * cout) return CR_CC_1X1_DEEP;
    if (k == 1) return cout <= 32 ? CR_CC_1X1_NARROW : CR_CC_1X1_WIDE;
    return cout <= 32 ? CR_CC_KXK_NARROW : CR_CC_KXK_WIDE;
}

static int *field_ptr(cr_conv_tiles *t, const cr_conv_field *f) { return (int *)((char *)t + f->offset); }
static int field_get(const cr_conv_tiles *t, const cr_conv_field *f)
{
    return *(const int *)((const char *)t + f->offset);
}

static int check_value(const cr_conv_field *f, long v, char *err, size_t errlen)
{
    if (v < f->min || v > f->max || (f->pow2 && (v & (v - 1)))) {
        snprintf(err, errlen, "%s=%ld is outside %d..%d%s", f->name, v, f->min, f->max,
                 f->pow2 ? " (a power of two)" : "");
        return -1;
    }
    return 0;
}

int cr_conv_tiles_check(const cr_conv_tiles *t, char *err, size_t errlen)
{
    for (int i = 0; i < cr_conv_nfields; i++)
        if (check_value(&cr_conv_fields[i], field_get(t, &cr_conv_fields[i]), err, errlen)) return -1;
    return 0;
}

int cr_conv_tiles_parse(const char *text, cr_conv_tiles *t, char *err, size_t errlen)
{
    cr_conv_tiles out = *t;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#' || *p == '\n' || *p == '\r') break;
        const char *eq = p;
        while (*eq && *eq != '=' && *eq != ' ' && *eq != '\t' && *eq != '\n') eq++;
        if (*eq != '=') {
            snprintf(err, errlen, "'%.*s' is not name=value", (int)(eq - p), p);
            return -1;
        }
        const cr_conv_field *f = NULL;
        for (int i = 0; i < cr_conv_nfields && !f; i++)
            if (strlen(cr_conv_fields[i].name) == (size_t)(eq - p) && !strncmp(cr_conv_fields[i].name, p, eq - p))
                f = &cr_conv_fields[i];
        if (!f) {
            snprintf(err, errlen, "unknown parameter '%.*s'", (int)(eq - p), p);
            return -1;
        }
        char *end;
        errno = 0;
        long v = strtol(eq + 1, &end, 10);
        if (end == eq + 1 || errno || (*end && *end != ' ' && *end != '\t' && *end != '\n' && *end != '\r' &&
                                       *end != '#')) {
            snprintf(err, errlen, "%s: '%.*s' is not an integer", f->name, (int)strcspn(eq + 1, " \t\n"), eq + 1);
            return -1;
        }
        if (check_value(f, v, err, errlen)) return -1;
        *field_ptr(&out, f) = (int)v;
        p = end;
    }
    *t = out;
    return 0;
}

void cr_conv_tiles_format(const cr_conv_tiles *t, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < cr_conv_nfields && at < len; i++) {
        int n = snprintf(buf + at, len - at, "%s%s=%d", i ? " " : "", cr_conv_fields[i].name,
                         field_get(t, &cr_conv_fields[i]));
        if (n < 0) break;
        at += (size_t)n;
    }
}

void cr_conv_device_identity(const cr_device_desc *d, char *buf, size_t len)
{
    snprintf(buf, len, "%s | %s | %s | %s | %s | driver %s | %u compute units", d->platform_name,
             d->platform_version, d->vendor, d->device_name, d->device_version, d->driver_version, d->compute_units);
}

/* FNV-1a 64 (Fowler, Noll, Vo), as the kernel cache names its files. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

int cr_conv_cache_path(const cr_device_desc *d, char *buf, size_t len)
{
    const char *dir = getenv("CLRESTORE_TUNE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char base[3072], id[2048];
    if (dir && *dir) snprintf(base, sizeof base, "%s", dir);
    else if (xdg && *xdg) snprintf(base, sizeof base, "%s/clrestore/tune", xdg);
    else if (home && *home) snprintf(base, sizeof base, "%s/.cache/clrestore/tune", home);
    else return -1;
    cr_conv_device_identity(d, id, sizeof id);
    snprintf(buf, len, "%s/%016llx.conv", base, (unsigned long long)fnv1a(id));
    return 0;
}

#define MAGIC "clrestore-conv-params 1"

cr_status cr_conv_params_read(const char *path, const cr_device_desc *d, int any_device, cr_conv_params *p,
                              unsigned *found)
{
    char *text = NULL, id[2048];
    cr_status st = cr_read_file(path, &text, NULL);
    *found = 0;
    if (st != CR_OK) return st;
    cr_conv_params out = *p;
    cr_conv_device_identity(d, id, sizeof id);
    int line = 0, saw_magic = 0, saw_device = any_device;
    char err[256] = "";
    for (char *s = text, *next; s && *s; s = next) {
        next = strchr(s, '\n');
        if (next) *next++ = '\0';
        line++;
        size_t n = strlen(s);
        if (n && s[n - 1] == '\r') s[--n] = '\0';
        while (*s == ' ' || *s == '\t') s++;
        if (line == 1) {
            if (strcmp(s, MAGIC)) {
                snprintf(err, sizeof err, "does not start with '%s'", MAGIC);
                break;
            }
            saw_magic = 1;
            continue;
        }
        if (!*s || *s == '#') continue;
        if (!strncmp(s, "device ", 7)) {
            if (!any_device && strcmp(s + 7, id)) {
                snprintf(err, sizeof err, "is for another device (%.120s)", s + 7);
                break;
            }
            saw_device = 1;
            continue;
        }
        if (strncmp(s, "class ", 6)) {
            snprintf(err, sizeof err,
                     "'%.40s' is neither a device nor a class line ('device ID' or 'class NAME field=value ...')",
                     s);
            break;
        }
        char name[32];
        size_t nl = strcspn(s + 6, " \t");
        snprintf(name, sizeof name, "%.*s", (int)(nl < 31 ? nl : 31), s + 6);
        int c = cr_conv_class_find(name);
        if (c < 0) {
            snprintf(err, sizeof err, "unknown shape class '%s'", name);
            break;
        }
        char why[200];
        if (cr_conv_tiles_parse(s + 6 + nl, &out.cls[c], why, sizeof why)) {
            snprintf(err, sizeof err, "class %s: %s", name, why);
            break;
        }
        snprintf(out.source[c], sizeof out.source[c], "%s %s", any_device ? "file" : "cache", path);
        *found |= 1u << c;
    }
    free(text);
    if (!err[0] && (!saw_magic || !saw_device)) snprintf(err, sizeof err, "%s", saw_magic ? "has no device line" : "is empty");
    if (err[0]) {
        *found = 0;
        return cr_fail(CR_ERR_FORMAT, "%s:%d: %s", path, line, err);
    }
    *p = out;
    return CR_OK;
}

cr_status cr_conv_params_write(const char *path, const cr_device_desc *d, const cr_conv_params *p, unsigned mask,
                               const char *const *note)
{
    cr_atomic_file f;
    char id[2048], line[1024], dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        cr_status st = cr_mkdir_p(dir);
        if (st != CR_OK) return st;
    }
    cr_status st = cr_atomic_open(&f, path);
    if (st != CR_OK) return st;
    cr_conv_device_identity(d, id, sizeof id);
    fprintf(f.fp, "%s\n# convolution parameters per shape class, written by clrestore tune %s (docs/tuning.md)\n",
            MAGIC, CLRESTORE_VERSION);
    fprintf(f.fp, "device %s\n", id);
    for (int c = 0; c < CR_CONV_NCLASSES; c++) {
        if (!(mask & (1u << c))) continue;
        cr_conv_tiles_format(&p->cls[c], line, sizeof line);
        fprintf(f.fp, "class %s %s", cr_conv_class_name(c), line);
        if (note && note[c]) fprintf(f.fp, "  # %s", note[c]);
        fprintf(f.fp, "\n");
    }
    if (ferror(f.fp)) {
        cr_atomic_abort(&f);
        return cr_fail(CR_ERR_IO, "writing %s failed", path);
    }
    return cr_atomic_commit(&f);
}

/* A database row "all params" or "<class> params" applied to p. Returns -1 on a bad row
 * (the unit test holds every built-in row to parse). */
static int apply_db_row(const char *row, const cr_conv_db_entry *e, cr_conv_params *p)
{
    char name[32], err[200];
    size_t nl = strcspn(row, " ");
    snprintf(name, sizeof name, "%.*s", (int)(nl < 31 ? nl : 31), row);
    int all = !strcmp(name, "all"), c = all ? -1 : cr_conv_class_find(name);
    if (!all && c < 0) return -1;
    for (int k = 0; k < CR_CONV_NCLASSES; k++) {
        if (!all && k != c) continue;
        if (cr_conv_tiles_parse(row + nl, &p->cls[k], err, sizeof err)) return -1;
        snprintf(p->source[k], sizeof p->source[k], "built-in %s", e->name);
    }
    return 0;
}

void cr_conv_params_resolve(const cr_device_desc *d, cr_conv_params *out)
{
    char why[200], path[4096];
    cr_conv_tiles base;
    cr_conv_fallback(d, &base, why, sizeof why);
    for (int c = 0; c < CR_CONV_NCLASSES; c++) {
        out->cls[c] = base;
        snprintf(out->source[c], sizeof out->source[c], "fallback: %s", why);
    }
    const cr_conv_db_entry *e = cr_conv_db_match(d);
    for (int r = 0; e && e->rows[r]; r++)
        if (apply_db_row(e->rows[r], e, out)) cr_debug("built-in tuning entry %s: bad row '%s'", e->name, e->rows[r]);
    unsigned found = 0;
    const char *nocache = getenv("CLRESTORE_NO_TUNE_CACHE");
    if (!(nocache && *nocache && strcmp(nocache, "0")) && cr_conv_cache_path(d, path, sizeof path) == 0) {
        FILE *probe = fopen(path, "r");
        if (probe) {
            fclose(probe);
            if (cr_conv_params_read(path, d, 0, out, &found) != CR_OK) {
                cr_warn("ignoring the tuning cache: %s", cr_error_message());
                cr_error_clear();
            }
        } else if (errno != ENOENT) {
            cr_warn("ignoring the tuning cache %s: %s", path, strerror(errno));
        }
    }
    const char *forced = getenv("CLRESTORE_CONV_PARAMS");
    if (forced && *forced && cr_conv_params_read(forced, d, 1, out, &found) != CR_OK) {
        cr_warn("ignoring CLRESTORE_CONV_PARAMS: %s", cr_error_message());
        cr_error_clear();
    }
}
