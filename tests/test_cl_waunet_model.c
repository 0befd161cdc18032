/* The WA-U-Net model object: checkpoint round trip through the device
 * (bit-identical files; same seed, same bits), batches (N = 2 equals two
 * N = 1 runs; inference and training forwards agree), shape and mode errors,
 * and memory: an inference forward at 256 x 256 (default architecture) peaks
 * far below training, and the planner's estimate equals what is allocated, with the
 * fused expand + bottleneck pairs (whose expanded tensor gets no place) and without. */
#include <unistd.h>

#include "clrestore/checkpoint.h"
#include "clrestore/fileutil.h"
#include "clrestore/log.h"
#include "clrestore/waunet.h"
#pragma GCC diagnostic ignored "-Wunused-function" /* not every helper is used here */
#include "nn_testutil.h"
#include "conv_fast.h"        /* cr_conv_fast_params: fusion on and off */
#include "conv_tune.h"
#include "nn_internal.h"      /* cr_nn_conv_fast */
#include "waunet_internal.h"  /* the plan's slots and the fused pairs */

static cr_arch small_arch(void)
{
    cr_arch a = cr_arch_default();
    a.levels = 2;
    a.blocks = 2;
    a.filters = 4;
    a.expansion = 2;
    return a;
}

static char *slurp(const char *path, size_t *len)
{
    char *d = NULL;
    CHECK_OK(cr_read_file(path, &d, len));
    return d;
}

static void test_roundtrip(cr_nn *nn, const char *dir)
{
    cr_arch a = small_arch();
    cr_waunet *m1 = NULL, *m2 = NULL, *m3 = NULL;
    cr_checkpoint *c1 = NULL, *c2 = NULL, *c3 = NULL, *loaded = NULL;
    char p1[4096], p2[4096];
    snprintf(p1, sizeof p1, "%s/a.h5", dir);
    snprintf(p2, sizeof p2, "%s/b.h5", dir);
    CHECK_OK(cr_waunet_create(nn, &a, &m1));
    CHECK_OK(cr_waunet_create(nn, &a, &m2));
    CHECK_OK(cr_waunet_create(nn, &a, &m3));
    CHECK_OK(cr_waunet_init(m1, 42));
    /* a few Adam steps so the moments and the step are not trivial */
    CHECK_OK(cr_waunet_prepare(m1, CR_WAUNET_TRAINING, 1, 8, 8));
    double *x = tu_alloc(64);
    tu_seed(3);
    tu_fill(x, 64, -1, 1);
    cr_tensor in = cr_waunet_input(m1), tg = cr_waunet_target(m1);
    CHECK_OK(cr_tensor_write(nn, &in, x));
    CHECK_OK(cr_tensor_write(nn, &tg, x));
    cr_adam hp = cr_adam_defaults();
    for (int i = 0; i < 3; i++) CHECK_OK(cr_waunet_train_step(m1, &hp, NULL));
    CHECK_OK(cr_checkpoint_create(&a, &c1));
    CHECK_OK(cr_waunet_download(m1, c1, 1));
    CHECK(c1->step == 3 && c1->has_optimizer);
    c1->seed = 42;
    CHECK_OK(cr_checkpoint_save(c1, p1));
    CHECK_OK(cr_checkpoint_load(p1, &loaded));
    CHECK_OK(cr_waunet_upload(m2, loaded));
    CHECK(cr_waunet_params(m2)->step == 3);
    CHECK_OK(cr_checkpoint_create(&a, &c2));
    CHECK_OK(cr_waunet_download(m2, c2, 1));
    c2->seed = 42;
    CHECK_OK(cr_checkpoint_save(c2, p2));
    size_t l1 = 0, l2 = 0;
    char *d1 = slurp(p1, &l1), *d2 = slurp(p2, &l2);
    CHECK_MSG(d1 && d2 && l1 == l2 && memcmp(d1, d2, l1) == 0, "round trip changed the file (%zu vs %zu bytes)", l1,
              l2);
    printf("checkpoint round trip: %zu bytes, identical\n", l1);
    free(d1);
    free(d2);

    /* same seed, same bits; another seed, other bits */
    CHECK_OK(cr_waunet_init(m2, 42));
    CHECK_OK(cr_waunet_init(m3, 42));
    CHECK_OK(cr_checkpoint_create(&a, &c3));
    CHECK_OK(cr_waunet_download(m2, c2, 0));
    CHECK_OK(cr_waunet_download(m3, c3, 0));
    int same = 1;
    for (int i = 0; i < c2->nlayers; i++) {
        const cr_conv_spec *s = &c2->layers[i].spec;
        size_t nv = (size_t)s->cout * s->cin * s->k * s->k;
        same &= memcmp(c2->layers[i].v, c3->layers[i].v, nv * sizeof(float)) == 0;
        same &= memcmp(c2->layers[i].g, c3->layers[i].g, (size_t)s->cout * sizeof(float)) == 0;
    }
    CHECK_MSG(same, "seed 42 gave different weights twice");
    CHECK_OK(cr_waunet_init(m3, 43));
    CHECK_OK(cr_waunet_download(m3, c3, 0));
    CHECK(memcmp(c2->layers[0].v, c3->layers[0].v, 9 * sizeof(float)) != 0);

    /* a checkpoint of another architecture is refused */
    cr_arch other = a;
    other.filters = 8;
    cr_checkpoint *co = NULL;
    CHECK_OK(cr_checkpoint_create(&other, &co));
    CHECK(cr_waunet_upload(m1, co) == CR_ERR_ARG);
    printf("wrong architecture: %s\n", cr_error_message());
    cr_checkpoint_free(co);
    free(x);
    cr_checkpoint_free(c1);
    cr_checkpoint_free(c2);
    cr_checkpoint_free(c3);
    cr_checkpoint_free(loaded);
    cr_waunet_free(m1);
    cr_waunet_free(m2);
    cr_waunet_free(m3);
    unlink(p1);
    unlink(p2);
}

/* Forward of a batch of two equals each image alone; training and inference
 * forwards agree bit for bit (same kernels, other offsets). */
static void test_batch(cr_nn *nn)
{
    cr_arch a = small_arch();
    cr_waunet *m = NULL;
    int h = 16, w = 12, hw = h * w;
    CHECK_OK(cr_waunet_create(nn, &a, &m));
    CHECK_OK(cr_waunet_init(m, 5));
    double *x = tu_alloc(2 * hw), *y2 = tu_alloc(2 * hw), *yt = tu_alloc(2 * hw), *y1 = tu_alloc(hw);
    tu_seed(11);
    tu_fill(x, 2 * hw, -2, 2);
    CHECK_OK(cr_waunet_prepare(m, CR_WAUNET_INFERENCE, 2, h, w));
    cr_tensor in = cr_waunet_input(m), out = cr_waunet_output(m);
    CHECK_OK(cr_tensor_write(nn, &in, x));
    CHECK_OK(cr_waunet_forward(m));
    CHECK_OK(cr_tensor_read(nn, &out, y2));
    CHECK_OK(cr_waunet_prepare(m, CR_WAUNET_TRAINING, 2, h, w));
    in = cr_waunet_input(m);
    out = cr_waunet_output(m);
    CHECK_OK(cr_tensor_write(nn, &in, x));
    CHECK_OK(cr_waunet_forward(m));
    CHECK_OK(cr_tensor_read(nn, &out, yt));
    CHECK(memcmp(y2, yt, 2 * hw * sizeof *y2) == 0);
    double err = 0;
    for (int i = 0; i < 2; i++) {
        CHECK_OK(cr_waunet_prepare(m, CR_WAUNET_INFERENCE, 1, h, w));
        in = cr_waunet_input(m);
        out = cr_waunet_output(m);
        CHECK_OK(cr_tensor_write(nn, &in, x + i * hw));
        CHECK_OK(cr_waunet_forward(m));
        CHECK_OK(cr_tensor_read(nn, &out, y1));
        double e = tu_maxrel(y1, y2 + i * hw, hw);
        if (e > err) err = e;
    }
    printf("batch of 2 vs single images: max relative difference %.3g\n", err);
    CHECK(err < 1e-6);

    /* shapes that do not divide by 2^levels, and backward without training */
    CHECK(cr_waunet_prepare(m, CR_WAUNET_INFERENCE, 1, 18, 16) == CR_ERR_ARG);
    printf("bad shape: %s\n", cr_error_message());
    CHECK(cr_waunet_prepare(m, CR_WAUNET_INFERENCE, 0, 16, 16) == CR_ERR_ARG);
    CHECK_OK(cr_waunet_prepare(m, CR_WAUNET_INFERENCE, 1, 16, 16));
    cr_tensor o = cr_waunet_output(m);
    CHECK(cr_waunet_backward(m, &o, NULL) == CR_ERR_ARG);
    cr_adam hp = cr_adam_defaults();
    CHECK(cr_waunet_train_step(m, &hp, NULL) == CR_ERR_ARG);
    free(x);
    free(y1);
    free(y2);
    free(yt);
    cr_waunet_free(m);
}

/* Every class's fwd_eb_kib: 0 turns fusion off; 1024 fuses every pair of the default
 * network on any device (a GPU's default is 0). The fused kernel is the register-tiled
 * variant's (conv_fuse.c), so fusion on also selects that variant (a GPU's default is the
 * work-group tiled one, which has no fused pair: the H200 run of session 10). */
static void set_fusion(cr_nn *nn, int kib)
{
    cr_conv_fast *cf = NULL;
    CHECK_OK(cr_nn_conv_fast(nn, &cf));
    if (!cf) return;
    cr_conv_params *p = cr_conv_fast_params(cf);
    for (int c = 0; c < CR_CONV_NCLASSES; c++) {
        p->cls[c].fwd_eb_kib = kib;
        if (kib > 0) p->cls[c].fwd_variant = 0;
    }
}

static void test_memory(cr_runtime *rt, int fuse)
{
    cr_arch a = cr_arch_default();
    cr_waunet *m = NULL;
    cr_nn *nn = NULL; /* its own: the engine's scratch buffers start empty */
    int s = 256;
    CHECK_OK(cr_nn_create(rt, CR_FLOAT, &nn));
    set_fusion(nn, fuse ? 1024 : 0);
    CHECK_OK(cr_waunet_create(nn, &a, &m));
    CHECK_OK(cr_waunet_init(m, 1));
    cr_waunet_memory inf, tr;
    CHECK_OK(cr_waunet_memory_estimate(m, CR_WAUNET_INFERENCE, 1, s, s, &inf));
    CHECK_OK(cr_waunet_memory_estimate(m, CR_WAUNET_TRAINING, 1, s, s, &tr));
    CHECK(inf.parameters == 2383826);
    float *img = calloc((size_t)s * s, sizeof *img);
    for (int i = 0; i < s * s; i++) img[i] = (float)((i * 7919) % 101) / 50.0f - 1.0f;
    /* the forward pass's own peak: everything above what exists before prepare */
    size_t base = cr_runtime_mem_current(rt);
    cr_runtime_mem_peak_reset(rt);
    double t0 = cr_now();
    CHECK_OK(cr_waunet_prepare(m, CR_WAUNET_INFERENCE, 1, s, s));
    cr_tensor in = cr_waunet_input(m);
    CHECK_OK(cr_tensor_write_f32(nn, &in, img));
    CHECK_OK(cr_waunet_forward(m));
    CHECK_OK(cr_finish(rt));
    double sec = cr_now() - t0;
    size_t measured = cr_runtime_mem_peak(rt) - base;
    double mib = 1024.0 * 1024.0;
    /* fused pairs: one per wa_block, each an expand (ReLU) and its bottleneck; 12 in the
     * encoder (3 levels x 4 blocks) and 5 per decoder level (3 blocks, and 1 in each of
     * the 2 up steps); and the output head, a 1x1 with ReLU and the final linear 1x1: 28.
     * Their expanded tensors are never stored. */
    int pairs = 0, unplaced = 0;
    for (int i = 0; i < m->graph.nops; i++) {
        pairs += m->fuse_eb[i];
        if (m->fuse_eb[i]) unplaced += m->plan.slot[m->graph.ops[i].y].arena < 0;
    }
    CHECK_MSG(pairs == (fuse ? 28 : 0) && unplaced == pairs, "fusion %d: %d pairs, %d unplaced", fuse, pairs,
              unplaced);
    for (int t = 0; t < m->graph.nt; t++) /* everything else of the forward has a place */
        if (t != m->graph.input) {
            int fused_y = 0;
            for (int i = 0; i < m->graph.nops; i++) fused_y |= m->fuse_eb[i] && m->graph.ops[i].y == t;
            CHECK(fused_y || m->plan.slot[t].arena >= 0);
        }
    printf("fusion %s: ", fuse ? "on" : "off");
    printf("256x256 (3/4/32/4): inference forward %.2f s; measured activation peak %.1f MiB, estimate %.1f MiB "
           "(live lower bound %.1f MiB, %d arena); training activations %.1f MiB (live %.1f MiB, %d arenas); "
           "parameters %lld (%.1f MiB with gradients and Adam)\n",
           sec, measured / mib, inf.activation_bytes / mib, inf.live_peak_bytes / mib, inf.arenas,
           tr.activation_bytes / mib, tr.live_peak_bytes / mib, tr.arenas, (long long)inf.parameters,
           inf.param_bytes / mib);
    /* the engine's convolution scratch (padded inputs, GEMM-order weights) is part of the peak */
    size_t expect = inf.activation_bytes + inf.scratch_bytes;
    double rel = fabs((double)measured - (double)expect) / (double)expect;
    CHECK_MSG(rel < 0.03, "measured %zu vs estimated %zu + %zu bytes", measured, inf.activation_bytes,
              inf.scratch_bytes);
    CHECK(inf.activation_bytes >= inf.live_peak_bytes);
    CHECK_MSG(inf.activation_bytes < 1.15 * inf.live_peak_bytes, "planner wastes %.0f%%",
              100.0 * ((double)inf.activation_bytes / inf.live_peak_bytes - 1));
    CHECK_MSG(inf.activation_bytes * 5 < tr.activation_bytes, "inference %zu not well below training %zu",
              inf.activation_bytes, tr.activation_bytes);
    /* the network must not have drifted into nonsense: a finite output */
    cr_tensor out = cr_waunet_output(m);
    CHECK_OK(cr_tensor_read_f32(nn, &out, img));
    int finite = 1;
    for (int i = 0; i < s * s; i++) finite &= isfinite(img[i]) != 0;
    CHECK(finite);
    free(img);
    cr_waunet_free(m);
    set_fusion(nn, fuse ? 0 : 1024);
    /* the other setting's estimate: unfused, a level-0 block's input (32 channels) and its
     * expanded tensor (128) are alive together, which bounds the plan from below; fused,
     * the plan is smaller */
    CHECK_OK(cr_waunet_create(nn, &a, &m));
    cr_waunet_memory other;
    CHECK_OK(cr_waunet_memory_estimate(m, CR_WAUNET_INFERENCE, 1, s, s, &other));
    const cr_waunet_memory *fused_m = fuse ? &inf : &other, *plain_m = fuse ? &other : &inf;
    CHECK(plain_m->live_peak_bytes >= (size_t)(32 + 128) * s * s * sizeof(float));
    CHECK_MSG(fused_m->activation_bytes < plain_m->activation_bytes, "fused plan %zu, unfused %zu bytes",
              fused_m->activation_bytes, plain_m->activation_bytes);
    cr_waunet_free(m);
    cr_nn_free(nn);
}

int main(void)
{
    cr_runtime *rt = tu_runtime();
    if (!rt) return 77;
    char dir[] = "/tmp/clrestore-waunet-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    cr_nn *nn = NULL;
    CHECK_OK(cr_nn_create(rt, CR_FLOAT, &nn));
    test_roundtrip(nn, dir);
    test_batch(nn);
    test_memory(rt, 1);
    test_memory(rt, 0);
    cr_nn_free(nn);
    rmdir(dir);
    cr_runtime_free(rt);
    return test_finish("test_cl_waunet_model");
}
