/* Seamless tiling for bounded memory: the network runs on fixed-size windows
 * of the (padded) binned image, each window = a core plus a margin at least
 * the network's receptive field on every side that is not the image border,
 * and only the cores are kept. Windows never extend past the image: at a
 * border the window is shifted inward, so the convolutions see exactly the
 * same zero padding as in an untiled run, and the stitched result equals the
 * untiled one up to float rounding. Window offsets and sizes are multiples of
 * `align` (2^levels) so pooling and strides line up with the untiled run. */
#ifndef CLRESTORE_TILES_H
#define CLRESTORE_TILES_H

#include "clrestore/arch.h"
#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cr_tile {
    int wy, wx;         /* window origin (rows, columns) in the image */
    int cy, cx;         /* core origin in the image */
    int ch, cw;         /* core size (smaller at the bottom/right edge) */
} cr_tile;

typedef struct cr_tile_plan {
    int height, width;  /* image size, multiples of align */
    int win_h, win_w;   /* window size, the same for every tile */
    int core, margin, align;
    int ntiles;
    cr_tile *tiles;     /* (ntiles) */
} cr_tile_plan;

/* Plans tiles of core size `core` with `margin` (both rounded up to multiples
 * of align) over a height×width image (multiples of align). When one window
 * covers the image the plan has a single tile: the whole image. */
cr_status cr_tile_plan_make(int height, int width, int core, int margin, int align, cr_tile_plan *plan);
void cr_tile_plan_free(cr_tile_plan *plan);

/* Applies fn to every window and stitches the cores into out (height×width).
 * fn(ctx, in, h, w, out) maps an h×w image to an h×w image. */
typedef cr_status (*cr_tile_fn)(void *ctx, const float *in, int h, int w, float *out);
cr_status cr_tile_apply(const cr_tile_plan *plan, cr_tile_fn fn, void *ctx, const float *in, float *out);

/* The margin a tile needs is max(before, after) of cr_arch_receptive_field (arch.h). */

#ifdef __cplusplus
}
#endif
#endif
