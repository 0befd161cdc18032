/* Small scientific plots (PNG through cairo): line plots with a linear or
 * logarithmic y axis, and histograms on a logarithmic x axis, with ticks,
 * axis labels and a legend. Enough for the SNR figures of `clrestore snr`. */
#ifndef CLRESTORE_PLOT_H
#define CLRESTORE_PLOT_H

#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cr_plot_series {
    const double *x, *y; /* (n) points of a line; for histograms only y = the values */
    int n;
    const char *label;
} cr_plot_series;

/* Lines y(x); non-positive y values are skipped on a log axis. */
cr_status cr_plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel, int logy,
                        const cr_plot_series *s, int ns);
/* Histograms of each series' values (positive values only) in `bins` bins
 * spaced evenly in log10 over the range of all values, drawn as step lines. */
cr_status cr_plot_log_histogram(const char *path, const char *title, const char *xlabel, const cr_plot_series *s,
                                int ns, int bins);

#ifdef __cplusplus
}
#endif
#endif
