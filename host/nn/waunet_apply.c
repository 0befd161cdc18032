/* The network alone on one image, as `denoise --network-only` uses it: pad
 * to a multiple of 2^levels, forward in inference mode, crop back. */
#include <stdlib.h>
#include <string.h>

#include "waunet_internal.h"

/* "Edge mean" = the mean of the border pixels: rows 0 and ny-1 and columns 0
 * and nx-1, each pixel once. The reference pads with the image mean; the
 * border's mean continues the image more smoothly into the padding (no step
 * at the edge when the image has a gradient) and costs O(nx + ny). */
double cr_image_edge_mean(const float *img, int nx, int ny)
{
    double sum = 0;
    long count = 0;
    for (int y = 0; y < ny; y++) {
        if (y == 0 || y == ny - 1) {
            for (int x = 0; x < nx; x++) sum += img[(size_t)y * nx + x];
            count += nx;
        } else {
            sum += img[(size_t)y * nx];
            count++;
            if (nx > 1) {
                sum += img[(size_t)y * nx + nx - 1];
                count++;
            }
        }
    }
    return count ? sum / (double)count : 0.0;
}

cr_status cr_waunet_apply_image(cr_waunet *m, const float *img, int nx, int ny, float *out)
{
    cr_status st;
    float *pad = NULL;
    if (nx < 1 || ny < 1) return cr_fail(CR_ERR_ARG, "image of %d x %d pixels", nx, ny);
    int q = 1 << m->arch.levels;
    int px = (nx + q - 1) / q * q, py = (ny + q - 1) / q * q;
    /* centred: the smaller half of the padding before (as TensorFlow's "same"),
     * so both edges see about the same amount of it */
    int ox = (px - nx) / 2, oy = (py - ny) / 2;
    pad = malloc((size_t)px * py * sizeof *pad);
    if (!pad) return cr_fail(CR_ERR_NOMEM, "out of memory padding a %d x %d image", nx, ny);
    float fill = (float)cr_image_edge_mean(img, nx, ny);
    for (int y = 0; y < py; y++)
        for (int x = 0; x < px; x++) {
            int sx = x - ox, sy = y - oy;
            pad[(size_t)y * px + x] = (sy >= 0 && sy < ny && sx >= 0 && sx < nx) ? img[(size_t)sy * nx + sx] : fill;
        }
    CR_TRY(cr_waunet_prepare(m, CR_WAUNET_INFERENCE, 1, py, px));
    cr_tensor in = cr_waunet_input(m), o = cr_waunet_output(m);
    CR_TRY(cr_tensor_write_f32(m->nn, &in, pad));
    CR_TRY(cr_waunet_forward(m));
    CR_TRY(cr_tensor_read_f32(m->nn, &o, pad));
    for (int y = 0; y < ny; y++)
        memcpy(out + (size_t)y * nx, pad + (size_t)(y + oy) * px + ox, (size_t)nx * sizeof *out);
cleanup:
    free(pad);
    return st;
}
