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

/* clFFT and VkFFT build their kernels themselves, and PoCL's and rusticl's
 * compilers print "N warnings generated." on stderr while they do; nothing
 * from an OpenCL compiler may reach the terminal unless --verbose. Between
 * mute and unmute fd 2 goes to /dev/null (below --verbose; nested and
 * thread-safe: the first mute saves it, the last unmute restores it). */
void cr_fft_stderr_mute(void);
void cr_fft_stderr_unmute(void);
#endif
