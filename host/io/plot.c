/* Line plots and log-x histograms with cairo: frame, ticks at "nice" values
 * (1, 2, 5 x 10^k on linear axes, decades on log axes), labels, legend. */
#include "clrestore/plot.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cairo_png.h"

enum { PW = 720, PH = 480, ML = 80, MR = 20, MT = 40, MB = 60 };

static const double colours[][3] = {{0.12, 0.35, 0.75}, {0.85, 0.33, 0.1}, {0.2, 0.6, 0.2},
                                    {0.5, 0.3, 0.7},    {0.0, 0.0, 0.0},   {0.75, 0.6, 0.0}};
enum { NCOLOURS = sizeof colours / sizeof colours[0] };

typedef struct axes {
    double x0, x1, y0, y1; /* data range (log10 values on log axes) */
    int logx, logy;
} axes;

static double px_x(const axes *a, double x) { return ML + (x - a->x0) / (a->x1 - a->x0) * (PW - ML - MR); }
static double px_y(const axes *a, double y) { return PH - MB - (y - a->y0) / (a->y1 - a->y0) * (PH - MT - MB); }

/* Tick spacing 1, 2 or 5 x 10^k giving about 6 ticks over span. */
static double nice_step(double span)
{
    double raw = span / 6, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void draw_ticks(cairo_t *cr, const axes *a, int horizontal)
{
    double lo = horizontal ? a->x0 : a->y0, hi = horizontal ? a->x1 : a->y1;
    int logv = horizontal ? a->logx : a->logy;
    double step = logv ? 1.0 : nice_step(hi - lo);
    char txt[32];
    cairo_set_font_size(cr, 12);
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step) {
        if (logv)
            snprintf(txt, sizeof txt, "%g", pow(10, v));
        else
            snprintf(txt, sizeof txt, "%g", fabs(v) < 1e-12 * step ? 0.0 : v);
        cairo_text_extents_t e;
        cairo_text_extents(cr, txt, &e);
        if (horizontal) {
            double x = px_x(a, v);
            cairo_move_to(cr, x, PH - MB), cairo_line_to(cr, x, PH - MB + 5);
            cairo_stroke(cr);
            cairo_move_to(cr, x - e.width / 2, PH - MB + 20), cairo_show_text(cr, txt);
        } else {
            double y = px_y(a, v);
            cairo_move_to(cr, ML - 5, y), cairo_line_to(cr, ML, y);
            cairo_stroke(cr);
            cairo_move_to(cr, ML - 8 - e.width, y + 4), cairo_show_text(cr, txt);
        }
    }
}

static cairo_t *begin(cairo_surface_t **surf, const axes *a, const char *title, const char *xl, const char *yl)
{
    *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, PW, PH);
    cairo_t *cr = cairo_create(*surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, ML, MT, PW - ML - MR, PH - MT - MB);
    cairo_stroke(cr);
    draw_ticks(cr, a, 1);
    draw_ticks(cr, a, 0);
    cairo_set_font_size(cr, 15);
    cairo_move_to(cr, ML, 24), cairo_show_text(cr, title);
    cairo_set_font_size(cr, 13);
    cairo_text_extents_t e;
    cairo_text_extents(cr, xl, &e);
    cairo_move_to(cr, ML + (PW - ML - MR - e.width) / 2, PH - 15), cairo_show_text(cr, xl);
    cairo_save(cr);
    cairo_text_extents(cr, yl, &e);
    cairo_move_to(cr, 20, MT + (PH - MT - MB + e.width) / 2);
    cairo_rotate(cr, -M_PI / 2);
    cairo_show_text(cr, yl);
    cairo_restore(cr);
    cairo_rectangle(cr, ML, MT, PW - ML - MR, PH - MT - MB);
    cairo_clip(cr);
    return cr;
}

static void legend(cairo_t *cr, const cr_plot_series *s, int ns)
{
    cairo_reset_clip(cr);
    cairo_set_font_size(cr, 12);
    for (int i = 0; i < ns; i++) {
        double y = MT + 18 + 18 * i;
        const double *c = colours[i % NCOLOURS];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        cairo_set_line_width(cr, 2);
        cairo_move_to(cr, PW - MR - 170, y - 4), cairo_line_to(cr, PW - MR - 145, y - 4);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, PW - MR - 138, y), cairo_show_text(cr, s[i].label ? s[i].label : "");
    }
}

static cr_status finish(cairo_surface_t *surf, cairo_t *cr, const char *path)
{
    cairo_destroy(cr);
    return cr_cairo_write_png(surf, path, "plot");
}

static double tr(double v, int logv) { return logv ? log10(v) : v; }

cr_status cr_plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel, int logy,
                        const cr_plot_series *s, int ns)
{
    axes a = {INFINITY, -INFINITY, INFINITY, -INFINITY, 0, logy};
    for (int i = 0; i < ns; i++)
        for (int k = 0; k < s[i].n; k++) {
            if (!isfinite(s[i].x[k]) || !isfinite(s[i].y[k]) || (logy && s[i].y[k] <= 0)) continue;
            a.x0 = fmin(a.x0, s[i].x[k]), a.x1 = fmax(a.x1, s[i].x[k]);
            a.y0 = fmin(a.y0, tr(s[i].y[k], logy)), a.y1 = fmax(a.y1, tr(s[i].y[k], logy));
        }
    if (!(a.x1 > a.x0)) a.x1 = a.x0 + 1;
    if (!isfinite(a.x0)) a.x0 = 0, a.x1 = 1;
    if (!(a.y1 > a.y0)) a.y1 = a.y0 + 1;
    if (!isfinite(a.y0)) a.y0 = 0, a.y1 = 1;
    if (logy) a.y0 = floor(a.y0), a.y1 = ceil(a.y1);
    cairo_surface_t *surf;
    cairo_t *cr = begin(&surf, &a, title, xlabel, ylabel);
    cairo_set_line_width(cr, 2);
    for (int i = 0; i < ns; i++) {
        const double *c = colours[i % NCOLOURS];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        int pen = 0;
        for (int k = 0; k < s[i].n; k++) {
            if (!isfinite(s[i].y[k]) || (logy && s[i].y[k] <= 0)) {
                pen = 0;
                continue;
            }
            double x = px_x(&a, s[i].x[k]), y = px_y(&a, tr(s[i].y[k], logy));
            if (pen) cairo_line_to(cr, x, y);
            else cairo_move_to(cr, x, y);
            pen = 1;
        }
        cairo_stroke(cr);
    }
    legend(cr, s, ns);
    return finish(surf, cr, path);
}

cr_status cr_plot_log_histogram(const char *path, const char *title, const char *xlabel, const cr_plot_series *s,
                                int ns, int bins)
{
    axes a = {INFINITY, -INFINITY, 0, 1, 1, 0};
    for (int i = 0; i < ns; i++)
        for (int k = 0; k < s[i].n; k++)
            if (s[i].y[k] > 0 && isfinite(s[i].y[k]))
                a.x0 = fmin(a.x0, log10(s[i].y[k])), a.x1 = fmax(a.x1, log10(s[i].y[k]));
    if (!isfinite(a.x0)) a.x0 = -1, a.x1 = 1;
    a.x0 = floor(a.x0), a.x1 = ceil(a.x1);
    if (a.x1 <= a.x0) a.x1 = a.x0 + 1;
    int *count = calloc((size_t)ns * bins, sizeof(int));
    if (!count) return cr_fail(CR_ERR_NOMEM, "out of memory");
    int top = 1;
    for (int i = 0; i < ns; i++)
        for (int k = 0; k < s[i].n; k++) {
            if (!(s[i].y[k] > 0) || !isfinite(s[i].y[k])) continue;
            int b = (int)((log10(s[i].y[k]) - a.x0) / (a.x1 - a.x0) * bins);
            b = b < 0 ? 0 : b >= bins ? bins - 1 : b;
            int v = ++count[i * bins + b];
            top = v > top ? v : top;
        }
    a.y1 = top * 1.1;
    cairo_surface_t *surf;
    cairo_t *cr = begin(&surf, &a, title, xlabel, "micrographs");
    cairo_set_line_width(cr, 2);
    for (int i = 0; i < ns; i++) {
        const double *c = colours[i % NCOLOURS];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        cairo_move_to(cr, px_x(&a, a.x0), px_y(&a, 0));
        for (int b = 0; b < bins; b++) {
            double xl = a.x0 + (a.x1 - a.x0) * b / bins, xr = a.x0 + (a.x1 - a.x0) * (b + 1) / bins;
            double y = px_y(&a, count[i * bins + b]);
            cairo_line_to(cr, px_x(&a, xl), y);
            cairo_line_to(cr, px_x(&a, xr), y);
        }
        cairo_line_to(cr, px_x(&a, a.x1), px_y(&a, 0));
        cairo_stroke(cr);
    }
    free(count);
    legend(cr, s, ns);
    return finish(surf, cr, path);
}
