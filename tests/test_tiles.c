/* Tiling: every pixel is in exactly one core, windows stay inside the image
 * and are aligned; a local operator with a known receptive field gives the
 * same result tiled and untiled when the margin covers the field, and a
 * different one when it does not (so the test can fail); the WA-U-Net's
 * receptive field derived by hand for a one-level, one-block network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/tiles.h"
#include "testutil.h"

/* Two passes of a sum over offsets -2..+3 along rows, then columns, with zero
 * padding: receptive field 4 before, 6 after on each axis. */
static void pass(const float *in, float *out, int h, int w, int along_rows)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float s = 0;
            for (int d = -2; d <= 3; d++) {
                int yy = along_rows ? y + d : y, xx = along_rows ? x : x + d;
                if (yy >= 0 && yy < h && xx >= 0 && xx < w) s += in[yy * w + xx] * (float)(d + 3);
            }
            out[y * w + x] = s;
        }
}

static cr_status local_op(void *ctx, const float *in, int h, int w, float *out)
{
    int *calls = ctx;
    (*calls)++;
    float *a = malloc(sizeof(float) * h * w), *b = malloc(sizeof(float) * h * w);
    pass(in, a, h, w, 0);
    pass(a, b, h, w, 1);
    pass(b, a, h, w, 0);
    pass(a, out, h, w, 1);
    free(a), free(b);
    return CR_OK;
}

static void check_plan(int h, int w, int core, int margin, int align)
{
    cr_tile_plan p;
    CHECK_OK(cr_tile_plan_make(h, w, core, margin, align, &p));
    int *cover = calloc((size_t)h * w, sizeof(int));
    int inside = 1, aligned = 1, margins = 1;
    for (int k = 0; k < p.ntiles; k++) {
        const cr_tile *t = &p.tiles[k];
        inside &= t->wy >= 0 && t->wx >= 0 && t->wy + p.win_h <= h && t->wx + p.win_w <= w;
        aligned &= t->wy % align == 0 && t->wx % align == 0 && p.win_h % align == 0 && p.win_w % align == 0;
        /* the core keeps `margin` from every window edge that is not the image border */
        margins &= (t->cy - t->wy >= p.margin || t->wy == 0) && (t->cx - t->wx >= p.margin || t->wx == 0);
        margins &= (t->wy + p.win_h - (t->cy + t->ch) >= p.margin || t->wy + p.win_h == h);
        margins &= (t->wx + p.win_w - (t->cx + t->cw) >= p.margin || t->wx + p.win_w == w);
        for (int y = t->cy; y < t->cy + t->ch; y++)
            for (int x = t->cx; x < t->cx + t->cw; x++) cover[y * w + x]++;
    }
    int once = 1;
    for (int i = 0; i < h * w; i++) once &= cover[i] == 1;
    CHECK_MSG(once && inside && aligned && margins, "plan %dx%d core %d margin %d: once %d inside %d aligned %d margins %d",
              w, h, core, margin, once, inside, aligned, margins);
    free(cover);
    cr_tile_plan_free(&p);
}

int main(void)
{
    check_plan(96, 64, 16, 8, 8);
    check_plan(104, 200, 24, 16, 8);
    check_plan(64, 64, 64, 16, 8);  /* window larger than the image: one tile */
    check_plan(8, 8, 8, 0, 8);
    check_plan(40, 72, 8, 0, 8);    /* margin 0: plain partition */
    cr_tile_plan p;
    CHECK(cr_tile_plan_make(30, 64, 16, 8, 8, &p) == CR_ERR_ARG);

    enum { H = 72, W = 104 };
    float *in = malloc(sizeof(float) * H * W), *full = malloc(sizeof(float) * H * W),
          *tiled = malloc(sizeof(float) * H * W);
    for (int i = 0; i < H * W; i++) in[i] = (float)((i * 37) % 101) - 50.0f;
    int calls = 0;
    CHECK_OK(local_op(&calls, in, H, W, full));
    /* margin 8 >= receptive field 6 (rounded to the alignment 8): identical */
    CHECK_OK(cr_tile_plan_make(H, W, 16, 6, 8, &p));
    CHECK(p.ntiles > 4 && p.margin == 8);
    calls = 0;
    CHECK_OK(cr_tile_apply(&p, local_op, &calls, in, tiled));
    CHECK(calls == p.ntiles);
    CHECK(memcmp(full, tiled, sizeof(float) * H * W) == 0);
    cr_tile_plan_free(&p);
    /* no margin: the seams differ */
    CHECK_OK(cr_tile_plan_make(H, W, 16, 0, 8, &p));
    CHECK_OK(cr_tile_apply(&p, local_op, &calls, in, tiled));
    CHECK(memcmp(full, tiled, sizeof(float) * H * W) != 0);
    cr_tile_plan_free(&p);
    free(in), free(full), free(tiled);

    /* Receptive field by hand, levels 1, blocks 1, kernels 3/4 (s = scale):
     * input conv3: (-1, +1). Encoder: pool j = (-1, +1) at s 2; wa_block k3:
     * (-2, +2) united with (-1, +1) = (-2, +2); down conv: hi += 1, s 2 ->
     * (-2, +3); x = x + j -> (-2, +3) at s 2. Decoder: up(x): conv1 then
     * wa_block k4 at s 2: (-2 - 2, +3 + 4) = (-4, +7); d2s: (-5, +8) at s 1
     * = j. merge conv1 of (x, skip) = (-2, +3) at s 2; no blocks (B-1 = 0);
     * up: (-5, +8); x = up + j: (-5, +8). Output 1x1 convs: (-5, +8). */
    cr_arch a = {1, 1, 8, 2, 3, 4};
    int before = 0, after = 0;
    cr_arch_receptive_field(&a, &before, &after);
    CHECK(before == 5 && after == 8);
    a = cr_arch_default();
    cr_arch_receptive_field(&a, &before, &after);
    printf("receptive field of the default WA-U-Net: %d before, %d after\n", before, after);
    CHECK(before > 0 && after >= before);
    return test_finish("test_tiles");
}
