/* The engine context: precision, the table of layer kernels (built on first use
 * and cached by host/runtime/program.c), tensor views,
 * allocation, host <-> device copies with precision conversion, shape checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

static const struct {
    const char *file, *name;
} cr_nn_kernel_table[CR_NNK_COUNT] = {
    [CR_NNK_FILL] = {"pointwise.cl", "nn_fill"},
    [CR_NNK_AXPY] = {"pointwise.cl", "nn_axpy"},
    [CR_NNK_RELU_FWD] = {"pointwise.cl", "nn_relu_fwd"},
    [CR_NNK_RELU_BWD] = {"pointwise.cl", "nn_relu_bwd"},
    [CR_NNK_ADD_FWD] = {"pointwise.cl", "nn_add_fwd"},
    [CR_NNK_CONCAT_FWD] = {"pointwise.cl", "nn_concat_fwd"},
    [CR_NNK_CONCAT_BWD] = {"pointwise.cl", "nn_concat_bwd"},
    [CR_NNK_CONV_FWD] = {"conv2d.cl", "conv2d_fwd"},
    [CR_NNK_CONV_BWD_DATA] = {"conv2d.cl", "conv2d_bwd_data"},
    [CR_NNK_CONV_BWD_WEIGHT] = {"conv2d.cl", "conv2d_bwd_weight"},
    [CR_NNK_CONV_BWD_BIAS] = {"conv2d.cl", "conv2d_bwd_bias"},
    [CR_NNK_POOL_FWD] = {"pool.cl", "maxpool2_fwd"},
    [CR_NNK_POOL_BWD] = {"pool.cl", "maxpool2_bwd"},
    [CR_NNK_D2S_FWD] = {"depth_to_space.cl", "d2s_fwd"},
    [CR_NNK_D2S_BWD] = {"depth_to_space.cl", "d2s_bwd"},
    [CR_NNK_MSE_PARTIAL] = {"loss.cl", "mse_partial"},
    [CR_NNK_MSE_BWD] = {"loss.cl", "mse_bwd"},
    [CR_NNK_WN_FWD] = {"weightnorm.cl", "weightnorm_fwd"},
    [CR_NNK_WN_BWD] = {"weightnorm.cl", "weightnorm_bwd"},
    [CR_NNK_ADAM] = {"adam.cl", "adam_update"},
};
/* A kernel added to the enum without a row here leaves a NULL row, refused when
 * an engine is created; a row past the enum does not compile; and
 * tests/test_cl_nn_layers.c builds every row (a name its file lacks). */
_Static_assert(sizeof cr_nn_kernel_table / sizeof cr_nn_kernel_table[0] == CR_NNK_COUNT, "one row per cr_nnk");

cr_status cr_nn_create(cr_runtime *rt, cr_precision prec, cr_nn **out)
{
    *out = NULL;
    for (int i = 0; i < CR_NNK_COUNT; i++)
        if (!cr_nn_kernel_table[i].file || !cr_nn_kernel_table[i].name)
            return cr_fail(CR_ERR_INTERNAL, "network kernel %d has no row in cr_nn_kernel_table", i);
    if (prec == CR_DOUBLE && !rt->dev.fp64)
        return cr_fail(CR_ERR_UNSUPPORTED, "%s has no double precision (cl_khr_fp64)", rt->dev.device_name);
    cr_nn *nn = calloc(1, sizeof *nn);
    if (!nn) return cr_fail(CR_ERR_NOMEM, "out of memory creating the network engine");
    nn->rt = rt;
    nn->prec = prec;
    nn->real_size = prec == CR_DOUBLE ? sizeof(double) : sizeof(float);
    snprintf(nn->options, sizeof nn->options, "%s", prec == CR_DOUBLE ? "-DCR_REAL_DOUBLE=1" : "");
    *out = nn;
    return CR_OK;
}

void cr_nn_free(cr_nn *nn)
{
    if (!nn) return;
    cr_buffer_release(nn->rt, &nn->mse_partial);
    cr_buffer_release(nn->rt, &nn->conv_dz);
    cr_conv_fast_free(nn->cf);
    free(nn);
}

cr_runtime *cr_nn_runtime(const cr_nn *nn) { return nn->rt; }
cr_precision cr_nn_precision(const cr_nn *nn) { return nn->prec; }
size_t cr_nn_real_size(const cr_nn *nn) { return nn->real_size; }

cr_status cr_nn_kernel(cr_nn *nn, cr_nnk id, cl_kernel *out)
{
    if (id < 0 || id >= CR_NNK_COUNT || !cr_nn_kernel_table[id].file)
        return cr_fail(CR_ERR_INTERNAL, "no network kernel %d in cr_nn_kernel_table", (int)id);
    /* the files include nn_prelude.cl (the `real` type); program.c builds and caches them */
    return cr_kernel_get(nn->rt, cr_nn_kernel_table[id].file, cr_nn_kernel_table[id].name, nn->options, out);
}

cr_real_arg cr_nn_real(const cr_nn *nn, double v)
{
    cr_real_arg u;
    memset(&u, 0, sizeof u);
    if (nn->prec == CR_DOUBLE)
        u.d = v;
    else
        u.f = (float)v;
    return u;
}

cr_status cr_nn_launch1(cr_nn *nn, cl_kernel k, size_t n)
{
    size_t local = 64;
    return cr_enqueue(nn->rt, k, 1, &n, &local);
}

cr_tensor cr_tensor_view(cl_mem buf, size_t off, int n, int c, int h, int w)
{
    cr_tensor t = {buf, off, n, c, h, w};
    return t;
}

size_t cr_tensor_count(const cr_tensor *t)
{
    return (size_t)t->n * (size_t)t->c * (size_t)t->h * (size_t)t->w;
}

cr_status cr_nn_check(const cr_nn *nn, const cr_tensor *t, const char *what)
{
    if (!t || !t->buf) return cr_fail(CR_ERR_ARG, "%s: no tensor", what);
    if (t->n < 1 || t->c < 1 || t->h < 1 || t->w < 1)
        return cr_fail(CR_ERR_ARG, "%s: bad shape (%d, %d, %d, %d)", what, t->n, t->c, t->h, t->w);
    size_t end = t->off + cr_tensor_count(t);
    if (end >= (size_t)INT_MAX)
        return cr_fail(CR_ERR_UNSUPPORTED, "%s: %zu elements past the buffer start is more than kernels index",
                       what, end);
    size_t bytes = 0;
    cl_int err = clGetMemObjectInfo(t->buf, CL_MEM_SIZE, sizeof bytes, &bytes, NULL);
    if (err != CL_SUCCESS) return cr_fail_cl(err, "clGetMemObjectInfo", what, __FILE__, __LINE__);
    if (end * nn->real_size > bytes)
        return cr_fail(CR_ERR_ARG, "%s: (%d, %d, %d, %d) at offset %zu needs %zu bytes, the buffer has %zu", what,
                       t->n, t->c, t->h, t->w, t->off, end * nn->real_size, bytes);
    return CR_OK;
}

cr_status cr_nn_check_shape(const cr_nn *nn, const cr_tensor *t, const char *what, int n, int c, int h, int w)
{
    cr_status st = cr_nn_check(nn, t, what);
    if (st != CR_OK) return st;
    if (t->n != n || t->c != c || t->h != h || t->w != w)
        return cr_fail(CR_ERR_ARG, "%s: shape (%d, %d, %d, %d), expected (%d, %d, %d, %d)", what, t->n, t->c,
                       t->h, t->w, n, c, h, w);
    return CR_OK;
}

cr_status cr_tensor_alloc(cr_nn *nn, cr_tensor *t, int n, int c, int h, int w, const char *what)
{
    *t = cr_tensor_view(NULL, 0, n, c, h, w);
    if (n < 1 || c < 1 || h < 1 || w < 1)
        return cr_fail(CR_ERR_ARG, "%s: bad shape (%d, %d, %d, %d)", what, n, c, h, w);
    return cr_buffer_create(nn->rt, cr_tensor_count(t) * nn->real_size, what, &t->buf);
}

void cr_tensor_release(cr_nn *nn, cr_tensor *t)
{
    if (!t) return;
    cr_buffer_release(nn ? nn->rt : NULL, &t->buf);
}

/* Copies count elements between host values (double or float, src_double
 * says) and the device tensor, converting through a staging array when the
 * engine precision differs. */
static cr_status cr_tensor_copy(cr_nn *nn, const cr_tensor *t, void *host, int host_double, int to_device)
{
    cr_status st = cr_nn_check(nn, t, "tensor copy");
    if (st != CR_OK) return st;
    size_t count = cr_tensor_count(t), bytes = count * nn->real_size;
    size_t off = t->off * nn->real_size;
    int same = (nn->prec == CR_DOUBLE) == (host_double != 0);
    if (same)
        return to_device ? cr_buffer_write(nn->rt, t->buf, off, bytes, host)
                         : cr_buffer_read(nn->rt, t->buf, off, bytes, host);
    void *stage = malloc(bytes);
    if (!stage) return cr_fail(CR_ERR_NOMEM, "out of memory staging a %zu-element tensor", count);
    if (to_device) {
        for (size_t i = 0; i < count; i++) {
            if (host_double)
                ((float *)stage)[i] = (float)((const double *)host)[i];
            else
                ((double *)stage)[i] = ((const float *)host)[i];
        }
        st = cr_buffer_write(nn->rt, t->buf, off, bytes, stage);
    } else {
        st = cr_buffer_read(nn->rt, t->buf, off, bytes, stage);
        for (size_t i = 0; st == CR_OK && i < count; i++) {
            if (host_double)
                ((double *)host)[i] = ((const float *)stage)[i];
            else
                ((float *)host)[i] = (float)((const double *)stage)[i];
        }
    }
    free(stage);
    return st;
}

cr_status cr_tensor_write(cr_nn *nn, const cr_tensor *t, const double *src)
{
    return cr_tensor_copy(nn, t, (void *)src, 1, 1);
}

cr_status cr_tensor_read(cr_nn *nn, const cr_tensor *t, double *dst)
{
    return cr_tensor_copy(nn, t, dst, 1, 0);
}

cr_status cr_tensor_write_f32(cr_nn *nn, const cr_tensor *t, const float *src)
{
    return cr_tensor_copy(nn, t, (void *)src, 0, 1);
}

cr_status cr_tensor_read_f32(cr_nn *nn, const cr_tensor *t, float *dst)
{
    return cr_tensor_copy(nn, t, dst, 0, 0);
}
