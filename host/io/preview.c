/* Preview PNGs with cairo (text and scaling; cairo writes PNG through libpng). */
#include "clrestore/preview.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairo_png.h"
#include "clrestore/fileutil.h"

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void cr_percentiles(const float *data, long n, double lo_pct, double hi_pct, double *lo, double *hi)
{
    long step = n > 65536 ? n / 65536 : 1, m = 0;
    float *s = malloc(sizeof(float) * (size_t)(n / step + 1));
    *lo = 0, *hi = 1;
    if (!s) return;
    for (long i = 0; i < n; i += step)
        if (isfinite(data[i])) s[m++] = data[i];
    if (m > 0) {
        qsort(s, (size_t)m, sizeof(float), cmp_float);
        *lo = s[(long)(lo_pct / 100.0 * (double)(m - 1) + 0.5)];
        *hi = s[(long)(hi_pct / 100.0 * (double)(m - 1) + 0.5)];
    }
    free(s);
}

/* A grey RGB24 surface of the panel, stretched lo..hi to 0..255. */
static cairo_surface_t *panel_surface(const cr_preview_panel *p)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, p->w, p->h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) return s;
    double lo, hi;
    cr_percentiles(p->data, (long)p->w * p->h, 1.0, 99.0, &lo, &hi);
    double scale = hi > lo ? 255.0 / (hi - lo) : 0.0;
    cairo_surface_flush(s);
    unsigned char *px = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < p->h; y++) {
        uint32_t *row = (uint32_t *)(px + (size_t)y * stride);
        for (int x = 0; x < p->w; x++) {
            double v = (p->data[(size_t)y * p->w + x] - lo) * scale;
            uint32_t g = isfinite(v) ? (uint32_t)(v < 0 ? 0 : v > 255 ? 255 : v) : 0;
            row[x] = (g << 16) | (g << 8) | g;
        }
    }
    cairo_surface_mark_dirty(s);
    return s;
}

cr_status cr_preview_write(const char *path, const cr_preview_panel *panels, int npanels, const char *title,
                           int max_side)
{
    const int pad = 12, title_h = 34, label_h = 26;
    double scale[8];
    int width = pad, height = 0;
    if (npanels < 1 || npanels > 8) return cr_fail(CR_ERR_ARG, "%s: a preview has 1 to 8 panels", path);
    for (int i = 0; i < npanels; i++) {
        int side = panels[i].w > panels[i].h ? panels[i].w : panels[i].h;
        scale[i] = side > max_side ? (double)max_side / side : 1.0;
        int pw = (int)ceil(panels[i].w * scale[i]), ph = (int)ceil(panels[i].h * scale[i]);
        width += pw + pad;
        if (ph > height) height = ph;
    }
    height += title_h + label_h + pad;
    cairo_surface_t *out = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    cairo_t *cr = cairo_create(out);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, 16);
    cairo_move_to(cr, pad, 22);
    cairo_show_text(cr, title ? title : "");
    int x = pad;
    for (int i = 0; i < npanels; i++) {
        cairo_surface_t *ps = panel_surface(&panels[i]);
        int pw = (int)ceil(panels[i].w * scale[i]), ph = (int)ceil(panels[i].h * scale[i]);
        cairo_save(cr);
        cairo_translate(cr, x, title_h);
        cairo_scale(cr, scale[i], scale[i]);
        cairo_set_source_surface(cr, ps, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
        cairo_paint(cr);
        cairo_restore(cr);
        cairo_surface_destroy(ps);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_font_size(cr, 14);
        cairo_move_to(cr, x, title_h + ph + 18);
        cairo_show_text(cr, panels[i].label ? panels[i].label : "");
        x += pw + pad;
    }
    cairo_destroy(cr);
    return cr_cairo_write_png(out, path, "preview");
}

cr_status cr_cairo_write_png(cairo_surface_t *surf, const char *path, const char *what)
{
    char tmp[4200];
    cr_tmp_begin(tmp, sizeof tmp, path);
    cairo_status_t cs = cairo_surface_status(surf);
    if (cs == CAIRO_STATUS_SUCCESS) cs = cairo_surface_write_to_png(surf, tmp);
    cairo_surface_destroy(surf);
    if (cs != CAIRO_STATUS_SUCCESS) {
        remove(tmp);
        return cr_fail(CR_ERR_IO, "%s: cannot write the %s: %s", path, what, cairo_status_to_string(cs));
    }
    return cr_commit_path(tmp, path);
}
