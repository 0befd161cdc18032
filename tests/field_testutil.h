/* Helpers of the tests that build Gaussian fields of known spectra
 * (test_cl_wiener, test_cl_evaluate). */
#ifndef CLRESTORE_FIELD_TESTUTIL_H
#define CLRESTORE_FIELD_TESTUTIL_H

#include <math.h>

#include "clrestore/loader.h"

/* A standard normal deviate (Box–Muller) from two 53-bit uniforms in (0, 1). */
static inline double field_gauss(cr_xoshiro *r)
{
    double u = ((double)(cr_xoshiro_next(r) >> 11) + 0.5) / 9007199254740992.0;
    double v = ((double)(cr_xoshiro_next(r) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* |k| in cycles per pixel of half-spectrum element (row r, column c) of a bx×by image. */
static inline double field_kfreq(int r, int c, int bx, int by)
{
    int ky = r <= by / 2 ? r : r - by;
    return sqrt((double)c * c / ((double)bx * bx) + (double)ky * ky / ((double)by * by));
}

#endif
