/* Plots: written PNGs decode with libpng at the documented size; a
 * horizontal line at y = 2 between x = 0 and 4 lands on the pixel row the
 * axis mapping predicts (frame 80..700 x 40..420, y from 0 (bottom) to 2 ...
 * the line is the top of the y range, so it lies on the frame's top edge);
 * histogram counts and errors. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "clrestore/plot.h"
#include "testutil.h"

static int read_png(const char *path, int *w, int *h, unsigned char ***rows_out, png_structp *png, png_infop *info)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    *png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    *info = png_create_info_struct(*png);
    if (setjmp(png_jmpbuf(*png))) {
        fclose(fp);
        return -1;
    }
    png_init_io(*png, fp);
    png_read_png(*png, *info, PNG_TRANSFORM_STRIP_ALPHA | PNG_TRANSFORM_STRIP_16, NULL);
    *w = (int)png_get_image_width(*png, *info);
    *h = (int)png_get_image_height(*png, *info);
    *rows_out = png_get_rows(*png, *info);
    fclose(fp);
    return 0;
}

int main(void)
{
    char path[] = "/tmp/clrestore-plot-XXXXXX.png";
    close(mkstemps(path, 4));
    double x[3] = {0, 2, 4}, y[3] = {1, 1.5, 2}, flat[3] = {2, 2, 2};
    cr_plot_series s[2] = {{x, y, 3, "rising"}, {x, flat, 3, "flat"}};
    CHECK_OK(cr_plot_lines(path, "test", "x", "y", 0, s, 2));
    int w = 0, h = 0;
    unsigned char **rows = NULL;
    png_structp png = NULL;
    png_infop info = NULL;
    CHECK(read_png(path, &w, &h, &rows, &png, &info) == 0);
    if (rows) {
        CHECK(w == 720 && h == 480);
        /* y range 1..2 maps to rows 420..40: the flat series (second colour,
         * orange) runs along row 40, the rising one starts at row 420 */
        int ch = png_get_channels(png, info), orange = 0, blue = 0;
        for (int xx = 100; xx < 680; xx++) {
            unsigned char *p = rows[40] + xx * ch;
            orange += p[0] > 180 && p[2] < 100;
        }
        for (int yy = 410; yy < 421; yy++) {
            unsigned char *p = rows[yy] + 82 * ch;
            blue += p[2] > 150 && p[0] < 100;
        }
        CHECK_MSG(orange > 400, "orange pixels on row 40: %d", orange);
        CHECK_MSG(blue > 0, "no blue pixel at the rising line's start");
    }
    png_destroy_read_struct(&png, &info, NULL);
    double vals[5] = {0.1, 0.12, 1.0, 8.0, -1.0};
    cr_plot_series hs[1] = {{NULL, vals, 5, "values"}};
    CHECK_OK(cr_plot_log_histogram(path, "hist", "v", hs, 1, 10));
    CHECK(cr_plot_lines("/nonexistent/p.png", "t", "x", "y", 1, s, 2) == CR_ERR_IO);
    unlink(path);
    return test_finish("test_plot");
}
