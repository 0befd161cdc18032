/* Shared by preview.c and plot.c: a finished cairo image surface to a PNG
 * file, atomically (temporary name, fsync, rename). */
#ifndef CLRESTORE_CAIRO_PNG_H
#define CLRESTORE_CAIRO_PNG_H

#include <cairo.h>

#include "clrestore/status.h"

/* Writes surf to path and destroys surf (also on failure); what names the
 * figure in errors ("preview", "plot"). */
cr_status cr_cairo_write_png(cairo_surface_t *surf, const char *path, const char *what);

#endif
