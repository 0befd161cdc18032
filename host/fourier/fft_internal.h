/* Shared between fft.c (plan cache, clFFT) and fft_vkfft.c (VkFFT backend). */
#ifndef CLRESTORE_FFT_INTERNAL_H
#define CLRESTORE_FFT_INTERNAL_H
#include "clrestore/fft.h"

typedef struct cr_vkfft_plan cr_vkfft_plan;

/* Builds a VkFFT application for batch real images of ny x nx, out of place. */
cr_status cr_vkfft_plan_create(cr_runtime *rt, int nx, int ny, int batch, cr_vkfft_plan **out);
void cr_vkfft_plan_free(cr_vkfft_plan *p);
/* inverse = 0: real -> spec; 1: spec -> real (normalised). */
cr_status cr_vkfft_exec(cr_vkfft_plan *p, cr_runtime *rt, int inverse, cl_mem real, cl_mem spec);

#endif
