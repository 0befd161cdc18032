/* Backward to the input of stride-2 convolutions by output phases (kernels/conv_s2.cl),
 * internal to host/nn: cr_conv_fast_backward_input hands stride-2 layers of the
 * register-tiled variant to it unless the dilated path is asked for (CLRESTORE_CONV_S2_DX,
 * cr_conv_fast_set_s2_dx in conv_fast.h). It borrows the engine's scratch buffers and
 * preparations through the functions at the end of conv_local.h. */
#ifndef CLRESTORE_CONV_S2_H
#define CLRESTORE_CONV_S2_H

#include "conv_fast.h"

/* Arguments, result and accumulation exactly as cr_conv_fast_backward_input (g->s == 2). */
cr_status cr_conv_s2_backward_input(cr_conv_fast *cf, const cr_conv_tiles *t, const cr_conv_geom *g,
                                    const cr_tensor *dx, const cr_tensor *dy, const cr_tensor *w, int accumulate);

/* Scratch needs of that call (GEMM-order weights, padded dY), as cr_conv_fast_scratch_need. */
void cr_conv_s2_scratch_need(const cr_conv_tiles *t, const cr_conv_geom *g, cr_conv_scratch *out);

/* CLRESTORE_CONV_S2_DX: "phase" or unset 1 (this path), "dilate" 0 (zero-dilated dY through
 * conv_fwd, for comparisons); another value is CR_ERR_ARG. */
cr_status cr_conv_s2_dx_from_env(int *phase);

#endif
