/* The receptive field derived from the graph (cr_arch_field, cr_arch_receptive_field)
 * against the network itself: with every weight positive and zero biases, an image
 * that is zero but for one pixel gives an output that is exactly zero outside the
 * set of output pixels that depend on that pixel and positive inside it (no path
 * can cancel, every ReLU passes what reaches it, a max-pool passes any positive
 * value in its window). One batch holds one image per input column, so one forward
 * gives the dependence of every output pixel on every input pixel along a row;
 * every output phase p mod 2^levels is compared, for several architectures (TF
 * "same" padding is asymmetric for k = 4 and for stride 2). Double engine when the
 * device has fp64. */
#include <math.h>

#pragma GCC diagnostic ignored "-Wunused-function" /* not every helper is used here */

#include "clrestore/waunet.h"
#include "nn_testutil.h"

static void check_arch(cr_nn *nn, const cr_arch *a)
{
    int before = 0, after = 0, q = 1 << a->levels;
    cr_arch_receptive_field(a, &before, &after);
    /* room for the whole field of q interior output positions */
    int p0 = (before + q) / q * q, n = (p0 + q + after + 2 + q - 1) / q * q, h = q, row = q / 2;
    cr_waunet *m = NULL;
    CHECK_OK(cr_waunet_create(nn, a, &m));
    if (!m) return;
    CHECK_OK(cr_waunet_init(m, 11));
    cr_params *pt = cr_waunet_params(m);
    cr_tensor all = cr_tensor_view(pt->values, 0, 1, 1, 1, (int)pt->total);
    double *v = tu_read(nn, &all);
    for (size_t i = 0; i < pt->total; i++) v[i] = fabs(v[i]); /* v, g positive; b stays 0 */
    CHECK_OK(cr_tensor_write(nn, &all, v));
    cr_waunet_params_changed(m);
    free(v);

    CHECK_OK(cr_waunet_prepare(m, CR_WAUNET_INFERENCE, n, h, n));
    double *img = calloc((size_t)n * h * n, sizeof *img);
    for (int i = 0; i < n; i++) img[((size_t)i * h + row) * n + i] = 1.0; /* image i: pixel (row, i) */
    cr_tensor in = cr_waunet_input(m), out = cr_waunet_output(m);
    CHECK_OK(cr_tensor_write(nn, &in, img));
    CHECK_OK(cr_waunet_forward(m));
    double *y = tu_read(nn, &out);
    int most_before = 0, most_after = 0;
    for (int p = p0; p < p0 + q; p++) {
        int lo = -1, hi = -1, holes = 0;
        for (int i = 0; i < n; i++) {
            double o = y[((size_t)i * h + row) * n + p];
            CHECK_MSG(o >= 0, "negative output %g", o);
            if (o > 0) {
                if (lo < 0) lo = i;
                else if (i != hi + 1) holes++;
                hi = i;
            }
        }
        int flo = 0, fhi = 0;
        CHECK_OK(cr_arch_field(a, n, p, &flo, &fhi));
        CHECK_MSG(holes == 0 && lo == flo && hi == fhi && lo > 0 && hi < n - 1,
                  "levels %d blocks %d kernels %d/%d, output %d: depends on %d..%d (%d holes), graph says %d..%d",
                  a->levels, a->blocks, a->encoder_kernel, a->decoder_kernel, p, lo, hi, holes, flo, fhi);
        if (p - lo > most_before) most_before = p - lo;
        if (hi - p > most_after) most_after = hi - p;
    }
    CHECK_MSG(most_before == before && most_after == after, "field %d/%d measured, %d/%d derived", most_before,
              most_after, before, after);
    printf("levels %d blocks %d filters %d kernels %d/%d: %d before, %d after\n", a->levels, a->blocks, a->filters,
           a->encoder_kernel, a->decoder_kernel, before, after);
    free(img);
    free(y);
    cr_waunet_free(m);
}

int main(void)
{
    cr_runtime *rt = tu_runtime();
    if (!rt) return 77;
    cr_nn *nn = tu_double_engine(rt);
    if (!nn) CHECK_OK(cr_nn_create(rt, CR_FLOAT, &nn));
    static const cr_arch archs[] = {
        {1, 1, 4, 2, 3, 4}, /* test_tiles' hand derivation: 5 before, 8 after */
        {2, 1, 2, 2, 3, 4},
        {2, 2, 3, 1, 3, 4},
        {1, 2, 3, 2, 5, 3}, /* odd decoder kernel, wider encoder */
        {3, 1, 2, 1, 4, 2}, /* even encoder kernel */
    };
    for (size_t i = 0; nn && i < sizeof archs / sizeof archs[0]; i++) check_arch(nn, &archs[i]);
    cr_nn_free(nn);
    cr_runtime_free(rt);
    return test_finish("test_cl_waunet_field");
}
