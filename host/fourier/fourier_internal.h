/* Shared between fourier.c (object, kernel wrappers) and preprocess.c (chains). */
#ifndef CLRESTORE_FOURIER_INTERNAL_H
#define CLRESTORE_FOURIER_INTERNAL_H
#include "clrestore/fourier.h"

enum {
    CR_FK_CTF_EVAL, CR_FK_CTF_FLIP, CR_FK_CROP, CR_FK_PAD, CR_FK_HERMITIAN, CR_FK_BANDPASS,
    CR_FK_MASK, CR_FK_MERGE_BAND, CR_FK_MERGE, CR_FK_SUM, CR_FK_AFFINE, CR_FK_COUNT
};

/* Scratch slots: grow-only device buffers reused across calls. */
enum {
    CR_SCR_REAL_BIG,  /* ny x nx float */
    CR_SCR_SPEC_BIG,  /* ny x (nx/2+1) float2 */
    CR_SCR_SPEC_RAW,  /* ny x (nx/2+1) float2, merge noisy */
    CR_SCR_REAL_SMALL, /* by x bx float */
    CR_SCR_SPEC_SMALL, /* by x (bx/2+1) float2 */
    CR_SCR_IN,        /* host wrappers: uploaded input */
    CR_SCR_OUT,       /* host wrappers: result to read back */
    CR_SCR_IN2,       /* host wrappers: second input (raw image) */
    CR_SCRATCH_COUNT
};

struct cr_fourier {
    cr_runtime *rt;
    int fp64; /* kernels built with CR_HAVE_FP64: CTF arguments are doubles */
    cl_kernel k[CR_FK_COUNT];
    cr_fft *fft;
    cl_mem scratch[CR_SCRATCH_COUNT + CR_WS_COUNT]; /* the chains' slots, then cr_workspace's */
    size_t scratch_bytes[CR_SCRATCH_COUNT + CR_WS_COUNT];
    cl_mem partial;      /* statistics partial sums */
    float *partial_host; /* their host copy */
};

/* The scratch buffer of a slot with at least bytes (reallocated only to grow). */
cr_status cr_fourier_scratch(cr_fourier *fw, int slot, size_t bytes, cl_mem *out);
#endif
