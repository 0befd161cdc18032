/* Adam (Kingma & Ba 2015) over one contiguous parameter buffer, in the form
 * of the paper's Section 2 closing remark, which is what Keras/TensorFlow
 * compute:
 *   m = beta1 m + (1 - beta1) g
 *   v = beta2 v + (1 - beta2) g^2
 *   p -= alpha_t m / (sqrt(v) + eps),  alpha_t = lr sqrt(1 - beta2^t) / (1 - beta1^t)
 * alpha_t (bias correction) is computed on the host in double. Note eps is
 * added to sqrt(v), NOT to sqrt(v_hat) as in the paper's Algorithm 1; the two
 * agree with eps_hat = eps sqrt(1 - beta2^t). */
#include "nn_prelude.cl" /* `real`, real8_t, real16_t */

__kernel void adam_update(__global real *p, __global const real *grad, __global real *m, __global real *v,
                          const real alpha_t, const real beta1, const real beta2, const real eps, const int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    real g = grad[i];
    real mi = beta1 * m[i] + ((real)1 - beta1) * g;
    real vi = beta2 * v[i] + ((real)1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    p[i] -= alpha_t * mi / (sqrt(vi) + eps);
}
