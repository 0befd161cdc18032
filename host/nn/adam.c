/* Adam over contiguous parameter buffers (kernels/adam.cl, which spells out
 * the update and where epsilon goes). */
#include <math.h>

#include "clrestore/nn_params.h"
#include "nn_internal.h"

cr_adam cr_adam_defaults(void)
{
    cr_adam hp = {1e-4, 0.9, 0.99, 1e-8};
    return hp;
}

cr_status cr_adam_update(cr_nn *nn, cl_mem param, cl_mem grad, cl_mem m, cl_mem v, size_t count, int64_t t,
                         const cr_adam *hp)
{
    cr_status st;
    cl_kernel k = NULL;
    if (t < 1) return cr_fail(CR_ERR_ARG, "adam: step %lld, must be >= 1", (long long)t);
    if (count == 0) return CR_OK;
    if (count >= (size_t)INT_MAX) return cr_fail(CR_ERR_UNSUPPORTED, "adam: %zu parameters is too many", count);
    /* bias correction folded into the step size (Kingma & Ba 2015, Section 2) */
    double alpha = hp->lr * sqrt(1.0 - pow(hp->beta2, (double)t)) / (1.0 - pow(hp->beta1, (double)t));
    cr_real_arg a = cr_nn_real(nn, alpha), b1 = cr_nn_real(nn, hp->beta1), b2 = cr_nn_real(nn, hp->beta2),
                eps = cr_nn_real(nn, hp->eps);
    int n = (int)count;
    CR_TRY(cr_nn_kernel(nn, CR_NNK_ADAM, &k));
    CR_TRY(cr_kernel_args(k, 9, KA(param), KA(grad), KA(m), KA(v), KR(nn, a), KR(nn, b1), KR(nn, b2), KR(nn, eps),
                          KA(n)));
    CR_TRY(cr_nn_launch1(nn, k, count));
cleanup:
    return st;
}
