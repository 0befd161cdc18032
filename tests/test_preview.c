/* Previews: percentiles against a sorted ramp, and a written PNG read back
 * with libpng (an independent decoder): its size, and grey levels that follow
 * the stretch (the 1st-percentile value black, the 99th white). */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "clrestore/preview.h"
#include "testutil.h"

int main(void)
{
    enum { W = 200, H = 100 };
    float *ramp = malloc(sizeof(float) * W * H);
    for (int i = 0; i < W * H; i++) ramp[i] = (float)i;
    double lo, hi;
    cr_percentiles(ramp, W * H, 1.0, 99.0, &lo, &hi);
    CHECK_NEAR(lo, 0.01 * (W * H - 1), 1.0);
    CHECK_NEAR(hi, 0.99 * (W * H - 1), 1.0);

    /* left panel: columns ramp 0..W-1 (each row the same); right: constant */
    float *cols = malloc(sizeof(float) * W * H), *flat = malloc(sizeof(float) * W * H);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) cols[y * W + x] = (float)x, flat[y * W + x] = 3.0f;
    cr_preview_panel p[2] = {{cols, W, H, "raw"}, {flat, W, H, "denoised"}};
    char path[] = "/tmp/clrestore-preview-XXXXXX.png";
    int fd = mkstemps(path, 4);
    close(fd);
    CHECK_OK(cr_preview_write(path, p, 2, "test preview", 400));

    FILE *fp = fopen(path, "rb");
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (fp && png && info && !setjmp(png_jmpbuf(png))) {
        png_init_io(png, fp);
        png_read_png(png, info, PNG_TRANSFORM_STRIP_ALPHA | PNG_TRANSFORM_STRIP_16, NULL);
        png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
        /* layout: 12 px pad, panel 200, pad, panel 200, pad; title 34 + label 26 + pad 12 */
        CHECK(w == 12 + 200 + 12 + 200 + 12 && h == 100 + 34 + 26 + 12);
        png_bytepp rows = png_get_rows(png, info);
        int ch = png_get_channels(png, info);
        int y = 34 + 50;
        int left = rows[y][(12 + 1) * ch], right = rows[y][(12 + 198) * ch];
        int mid = rows[y][(12 + 100) * ch];
        CHECK_MSG(left <= 4 && right >= 251, "left %d right %d", left, right);
        CHECK_NEAR(mid, 255.0 * (100 - 0.01 * 199) / (0.98 * 199), 4);
    } else {
        CHECK(0);
    }
    png_destroy_read_struct(&png, &info, NULL);
    if (fp) fclose(fp);
    unlink(path);
    CHECK(cr_preview_write("/nonexistent/dir/p.png", p, 2, "x", 400) == CR_ERR_IO);
    free(ramp), free(cols), free(flat);
    return test_finish("test_preview");
}
