/* Before/after preview images (PNG): grey panels side by side, each
 * contrast-stretched between its own 1st and 99th percentiles, with a title
 * and a label under each panel. */
#ifndef CLRESTORE_PREVIEW_H
#define CLRESTORE_PREVIEW_H

#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cr_preview_panel {
    const float *data; /* (h, w), row-major */
    int w, h;
    const char *label; /* shown under the panel */
} cr_preview_panel;

/* Percentiles lo_pct, hi_pct (0..100) of data, estimated from at most 65,536
 * evenly strided samples; NaN/Inf ignored. */
void cr_percentiles(const float *data, long n, double lo_pct, double hi_pct, double *lo, double *hi);

/* Writes path atomically. Each panel is scaled to fit max_side pixels. */
cr_status cr_preview_write(const char *path, const cr_preview_panel *panels, int npanels, const char *title,
                           int max_side);

#ifdef __cplusplus
}
#endif
#endif
