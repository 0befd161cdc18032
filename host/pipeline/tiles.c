/* Tile planning and stitching (the margin comes from cr_arch_receptive_field). */
#include "clrestore/tiles.h"

#include <stdlib.h>
#include <string.h>

static int round_up(int v, int a) { return (v + a - 1) / a * a; }

void cr_tile_plan_free(cr_tile_plan *plan)
{
    if (!plan) return;
    free(plan->tiles);
    plan->tiles = NULL;
    plan->ntiles = 0;
}

/* Windows along one axis: core starts at 0, core, 2·core, ...; the window
 * [c0 - margin, c0 + core + margin) is shifted inward to lie in [0, n). */
static int axis_windows(int n, int core, int margin, int win, int *wstart, int *cstart, int *clen)
{
    int count = 0;
    for (int c0 = 0; c0 < n; c0 += core, count++) {
        if (!wstart) continue;
        int ws = c0 - margin;
        if (ws > n - win) ws = n - win;
        if (ws < 0) ws = 0;
        wstart[count] = ws;
        cstart[count] = c0;
        clen[count] = c0 + core <= n ? core : n - c0;
    }
    return count;
}

cr_status cr_tile_plan_make(int height, int width, int core, int margin, int align, cr_tile_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    if (align < 1 || height <= 0 || width <= 0 || height % align || width % align)
        return cr_fail(CR_ERR_ARG, "tiling: image %dx%d is not a multiple of %d", width, height, align);
    core = round_up(core > align ? core : align, align);
    margin = round_up(margin > 0 ? margin : 0, align);
    plan->height = height, plan->width = width;
    plan->core = core, plan->margin = margin, plan->align = align;
    plan->win_h = core + 2 * margin < height ? core + 2 * margin : height;
    plan->win_w = core + 2 * margin < width ? core + 2 * margin : width;
    /* a window as large as the image along an axis: one core covers it */
    int core_h = plan->win_h == height ? height : core;
    int core_w = plan->win_w == width ? width : core;
    int ny = axis_windows(height, core_h, margin, plan->win_h, NULL, NULL, NULL);
    int nx = axis_windows(width, core_w, margin, plan->win_w, NULL, NULL, NULL);
    int *buf = malloc(sizeof(int) * 3 * (size_t)(ny + nx));
    plan->tiles = calloc((size_t)ny * nx, sizeof(cr_tile));
    if (!buf || !plan->tiles) {
        free(buf);
        cr_tile_plan_free(plan);
        return cr_fail(CR_ERR_NOMEM, "tiling: out of memory");
    }
    int *wy = buf, *cy = wy + ny, *hy = cy + ny, *wx = hy + ny, *cx = wx + nx, *hx = cx + nx;
    axis_windows(height, core_h, margin, plan->win_h, wy, cy, hy);
    axis_windows(width, core_w, margin, plan->win_w, wx, cx, hx);
    for (int i = 0; i < ny; i++)
        for (int j = 0; j < nx; j++) {
            cr_tile *t = &plan->tiles[plan->ntiles++];
            t->wy = wy[i], t->cy = cy[i], t->ch = hy[i];
            t->wx = wx[j], t->cx = cx[j], t->cw = hx[j];
        }
    free(buf);
    return CR_OK;
}

cr_status cr_tile_apply(const cr_tile_plan *plan, cr_tile_fn fn, void *ctx, const float *in, float *out)
{
    if (plan->ntiles == 1 && plan->win_h == plan->height && plan->win_w == plan->width)
        return fn(ctx, in, plan->height, plan->width, out);
    size_t wn = (size_t)plan->win_h * plan->win_w;
    float *win = malloc(wn * sizeof(float)), *res = malloc(wn * sizeof(float));
    cr_status st = CR_OK;
    if (!win || !res) st = cr_fail(CR_ERR_NOMEM, "tiling: out of memory for a %dx%d window", plan->win_w, plan->win_h);
    for (int k = 0; k < plan->ntiles && st == CR_OK; k++) {
        const cr_tile *t = &plan->tiles[k];
        for (int y = 0; y < plan->win_h; y++)
            memcpy(win + (size_t)y * plan->win_w, in + (size_t)(t->wy + y) * plan->width + t->wx,
                   (size_t)plan->win_w * sizeof(float));
        st = fn(ctx, win, plan->win_h, plan->win_w, res);
        for (int y = 0; y < t->ch && st == CR_OK; y++)
            memcpy(out + (size_t)(t->cy + y) * plan->width + t->cx,
                   res + (size_t)(t->cy - t->wy + y) * plan->win_w + (t->cx - t->wx), (size_t)t->cw * sizeof(float));
    }
    free(win), free(res);
    return st;
}
