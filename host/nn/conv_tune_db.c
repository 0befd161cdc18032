/* The built-in database of convolution parameters (CLBlast's idea of tuning as
 * data: a table of measured rows per device, and a rule-based default), the fallback
 * that derives tiles from device properties, and the matching of a device to an entry.
 * Rows use the cache files' syntax (conv_tune.c), so a new tunable needs no change
 * here; fields a row does not name keep the fallback's value. docs/tuning.md. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "conv_local.h"
#include "conv_tune.h"

/* Entries, most specific first where several could match (cr_conv_db_match takes the
 * one with the most matching keys, the first on a tie). Figures in docs/tuning.md. */
const cr_conv_db_entry cr_conv_db[] = {
    {"pocl3-skylake-avx512", "Portable Computing Language", NULL, "pthread-skylake-avx512", CL_DEVICE_TYPE_CPU,
     "clrestore tune + bench_conv, PoCL 3.1 (LLVM 15), Intel Xeon with AVX-512, 2 compute units",
     /* the 1x1 weight gradients gained from 8 x 3 tiles in bench_conv --versus, and from 1024-pixel
      * chunks (1x1 backward 0.95x the time in two alternating bench --network runs); the tuner's
      * forward choices did not hold up in alternating runs and stay at the defaults (docs/tuning.md) */
     {"all fwd_tm=16 fwd_vw=16 fwd_local=16 dw_tm=4 dw_tn=6 dw_vw=16 dw_local=1",
      "1x1-narrow dw_tm=8 dw_tn=3 dw_chunk_px=1024", "1x1-wide dw_tm=8 dw_tn=3 dw_chunk_px=1024",
      /* session 8: the 512 -> 102 forward with all channels per work-item, 128-channel chunks:
       * 268 -> 212 ms at 512^2, 104 -> 87 ms at 10 x 96^2 in bench_conv (kc 64: 235, 512: 306) */
      "1x1-deep dw_tm=8 dw_tn=3 dw_chunk_px=1024 fwd_kc=128", NULL}},
    {"pocl3-haswell", "Portable Computing Language", NULL, "pthread-haswell", CL_DEVICE_TYPE_CPU,
     "clrestore tune + bench --network, PoCL 3.1 (LLVM 15) compiling for haswell (AVX2, 16 ymm) on an Intel Xeon "
     "with AVX-512 (POCL_KERNELLIB_NAME=avx2 POCL_LLVM_CPU_NAME=haswell), 2 compute units; not a Zen 3",
     /* clrestore tune --time-budget 6m on the default network (session 7, idle), then two
      * alternating bench --network runs against the entry it replaces: training step 0.84x
      * the time, 1024^2 forward 0.91-0.98x (docs/tuning.md) */
     {"all fwd_tm=12 fwd_vw=8 fwd_local=16 dw_tm=3 dw_tn=4 dw_vw=8 dw_local=1",
      "1x1-narrow fwd_tm=4 fwd_vw=16 fwd_local=32 dw_tm=4 dw_tn=3 dw_vw=8 dw_items_per_cu=16 dw_chunk_px=1024",
      "1x1-wide fwd_tm=14 fwd_vw=8 fwd_local=16 dw_tm=4 dw_tn=3 dw_vw=8 dw_items_per_cu=4 dw_chunk_px=1024",
      /* session 8: 1x1-wide's tiles, and the forward of all channels per work-item (conv_fwd_allco):
       * 395 -> 304 ms at 512^2, 169 -> 121 ms at 10 x 96^2 in bench_conv (kc 64: 330 and 133) */
      "1x1-deep fwd_tm=14 fwd_vw=8 fwd_local=16 dw_tm=4 dw_tn=3 dw_vw=8 dw_items_per_cu=4 dw_chunk_px=1024 "
      "fwd_kc=128",
      "kxk-narrow fwd_tm=4 fwd_vw=16 fwd_local=32 dw_tm=4 dw_tn=3 dw_vw=8 dw_items_per_cu=4 dw_chunk_px=8192",
      "kxk-wide fwd_tm=6 fwd_vw=16 fwd_local=16 dw_tm=4 dw_tn=3 dw_vw=8 dw_items_per_cu=16 dw_chunk_px=16384",
      "stride2 fwd_tm=4 fwd_vw=16 dw_tm=4 dw_tn=3 dw_vw=8 dw_chunk_px=4096", NULL}},
    {"nvidia-h200", "NVIDIA CUDA", "NVIDIA", "H200", CL_DEVICE_TYPE_GPU,
     "clrestore tune --time-budget 100s + bench --network, NVIDIA OpenCL 3.0 (CUDA 13.0, driver 580.159.04), "
     "H200, 132 compute units (session 10)",
     /* one tune on the lent H200 (143 candidates, 85 s, none rejected), then bench --network
      * with its cache: 1024^2 forward 51.4 -> 43.0 ms, training step 778.9 -> 702.4 ms against
      * the GPU fallback (docs/tuning.md). The register variant won the 25 -> 32 kxk and the
      * stride-2 forwards; 4 x 3-4 dW tiles in 1024-pixel chunks won every dW but kxk-wide's */
     {"all fwd_variant=1 fwd_tm=8 fwd_vw=8 fwd_local=16 fwd_eb_kib=0 dw_tm=4 dw_tn=3 dw_vw=8 dw_local=32 "
      "dw_items_per_cu=256 dw_chunk_px=1024 lm_mwg=64 lm_nwg=64 lm_kwg=16 lm_mdimc=16 lm_ndimc=16 lm_vwm=4",
      "1x1-narrow dw_tn=4 lm_mwg=32 lm_kwg=8 lm_mdimc=8 lm_vwm=2", "1x1-wide dw_tn=4 lm_kwg=8 lm_vwm=2",
      "1x1-deep dw_tn=4", "kxk-narrow fwd_variant=0", "kxk-wide dw_chunk_px=65536 lm_mwg=128 lm_kwg=32",
      "stride2 fwd_variant=0", NULL}},
};
const int cr_conv_db_count = (int)(sizeof cr_conv_db / sizeof cr_conv_db[0]);

/* LLVM CPU names (PoCL's device name is "pthread-<cpu>-<model>") with 32 512-bit
 * registers, and with 16 256-bit ones (AVX/AVX2). Checked in this order: skylake-avx512
 * contains skylake. */
static const char *const cpus_512[] = {"skylake-avx512", "cascadelake", "cooperlake", "cannonlake", "icelake",
                                       "tigerlake", "rocketlake", "sapphirerapids", "emeraldrapids",
                                       "graniterapids", "znver4", "znver5", "knl", "knm", "x86-64-v4", NULL};
static const char *const cpus_256[] = {"haswell", "broadwell", "skylake", "alderlake", "raptorlake", "meteorlake",
                                       "znver1", "znver2", "znver3", "bdver", "sandybridge", "ivybridge",
                                       "x86-64-v3", NULL};

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return 1;
    }
    return n == 0;
}

cr_conv_isa cr_conv_isa_of(const cr_device_desc *d)
{
    cr_conv_isa isa = {8, 16, "default guess (8 floats, 16 registers)"};
    for (int i = 0; cpus_512[i]; i++)
        if (contains_ci(d->device_name, cpus_512[i])) return (cr_conv_isa){16, 32, "device name: AVX-512"};
    for (int i = 0; cpus_256[i]; i++)
        if (contains_ci(d->device_name, cpus_256[i])) return (cr_conv_isa){8, 16, "device name: AVX/AVX2"};
    if (d->pref_vec_float >= 16) return (cr_conv_isa){16, 32, "preferred float vector 16"};
    if (d->pref_vec_float >= 8) return (cr_conv_isa){8, 16, "preferred float vector 8"};
    if (d->pref_vec_float >= 1) return (cr_conv_isa){4, 16, "preferred float vector <= 4"};
    return isa;
}

/* Register budget, in vector registers of vec_floats floats: the forward keeps
 * fwd_tm accumulators of fwd_vw floats plus one input vector and one broadcast weight;
 * the weight gradient keeps dw_tm x dw_tn accumulators plus dw_tm + 1 loaded vectors.
 * 32 zmm: 16 x float16 (18 live) and 4 x 6 x float16 (29 live), measured best in
 * docs/perf-conv.md; 16 ymm: 12 x float8 (14) and 3 x 4 x float8 (16). */
void cr_conv_fallback(const cr_device_desc *d, cr_conv_tiles *t, char *why, size_t len)
{
    int gpu = (d->type & CL_DEVICE_TYPE_GPU) != 0;
    *t = (cr_conv_tiles){
        /* GPUs: the work-group tiled variant (conv_local.cl), whose 64 x 64 tile of 16 x 16
         * work-items with 4 x 4 each and 16-deep slices (8.4 KiB of local memory) is a common
         * GPU starting point, untuned (no GPU has run it yet); CPUs: the register tiles */
        .fwd_variant = gpu ? 1 : 0,
        .fwd_tm = gpu ? 8 : 16, /* GPUs, when the local variant cannot run: 64 accumulators */
        .fwd_tm_fit = 1,
        .fwd_vw = gpu ? 8 : 16,
        .fwd_local = 16,
        .fwd_wblock = 1,
        /* CPUs: fuse every inference expand + bottleneck (up to 512 expanded channels). Session 8,
         * bench --network: the 32 -> 128 -> 25 blocks (30 KiB of weights, in L1) took the 1024^2
         * forward from 4370 to 3890 ms; adding the 128 -> 512 -> 102 up blocks (458 KiB, from L2)
         * 3850 -> 3615 ms (AVX-512), 5357 -> 5040 ms (AVX2 code). GPUs: untested, off. */
        .fwd_eb_kib = gpu ? 0 : 1024,
        /* GPUs: 2 x 4 x float8 = 64 accumulators per work-item (4 x 6 x float16 would be 384
         * floats, beyond a GPU thread's 255 registers) */
        .dw_tm = gpu ? 2 : 4,
        .dw_tn = gpu ? 4 : 6,
        .dw_vw = gpu ? 8 : 16,
        .dw_local = gpu ? 32 : 1,
        .dw_items_per_cu = gpu ? 256 : 16,
        .dw_chunk_px = gpu ? 1 << 16 : 8192,
        .dw_max_partial_mib = 64,
        /* GPUs: one work-item per channel summed 368640 pixels alone in each bias gradient of
         * the 10 x 192^2 training step, latency-bound (the H200's training backward: 670 ms);
         * 256-item work-groups over slices of a channel (conv_db_wg) */
        .db_local = gpu ? 256 : 1,
        .lm_mwg = 64,
        .lm_nwg = 64,
        .lm_kwg = 16,
        .lm_mdimc = 16,
        .lm_ndimc = 16,
        .lm_vwm = 4,
        /* the weight gradient's work-group tiles (dw_variant 1, conv_ldw.cl): written after the
         * H200 lease, not measured on a GPU, so off until a tune or an entry chooses them */
        .dw_variant = 0,
        .ld_mwg = 64,
        .ld_nwg = 64,
        .ld_kwg = 16,
        .ld_mdimc = 16,
        .ld_ndimc = 16,
    };
    if (gpu) {
        /* the variant's own check against the device (work-group size, local memory,
         * divisibility), so that this choice and the launch cannot disagree */
        char reason[200] = "";
        if (cr_conv_local_check(t, d) != CR_OK) {
            t->fwd_variant = 0;
            snprintf(reason, sizeof reason, " (%s)", cr_error_message());
            cr_error_clear(); /* a reason to choose, not the caller's error */
        }
        snprintf(why, len, "GPU, %u compute units, %lu KiB local memory: %s%s", d->compute_units,
                 (unsigned long)(d->local_mem >> 10),
                 t->fwd_variant ? "work-group tiled convolution (local memory)" : "register tiles", reason);
        return;
    }
    cr_conv_isa isa = cr_conv_isa_of(d);
    if (isa.registers < 32) { /* 16 registers: the AVX-512 tiles spill */
        t->fwd_tm = 12, t->fwd_vw = isa.vec_floats;
        t->dw_tm = 3, t->dw_tn = 4, t->dw_vw = isa.vec_floats;
    }
    snprintf(why, len, "CPU, %d registers of %d floats (%s)", isa.registers, isa.vec_floats, isa.why);
}

const cr_conv_db_entry *cr_conv_db_match(const cr_device_desc *d)
{
    const cr_conv_db_entry *best = NULL;
    int best_keys = -1;
    for (int i = 0; i < cr_conv_db_count; i++) {
        const cr_conv_db_entry *e = &cr_conv_db[i];
        int keys = 0;
        if (e->platform && !(keys++, contains_ci(d->platform_name, e->platform))) continue;
        if (e->vendor && !(keys++, contains_ci(d->vendor, e->vendor))) continue;
        if (e->device && !(keys++, contains_ci(d->device_name, e->device))) continue;
        if (e->type && !(keys++, (d->type & e->type) != 0)) continue;
        if (keys > best_keys) best = e, best_keys = keys;
    }
    return best;
}
