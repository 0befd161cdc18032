/* Included (`#include "nn_prelude.cl"`, expanded by host/runtime/program.c) by every layer kernel file:
 * the element type `real` and its vectors, double when the engine is built
 * with -DCR_REAL_DOUBLE=1 (gradient checks), else float. */
#ifdef CR_REAL_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
typedef double8 real8_t;
typedef double16 real16_t;
#else
typedef float real;
typedef float8 real8_t;
typedef float16 real16_t;
#endif
