/* Denoising a full micrograph (REFERENCE.md "Denoising a full micrograph"):
 * the shared pre-processing chain, the network on the padded binned image in
 * seamless tiles (bounded memory), optional test-time augmentation, and the
 * un-binning chain back to the original size. */
#ifndef CLRESTORE_DENOISE_H
#define CLRESTORE_DENOISE_H

#include "clrestore/checkpoint.h"
#include "clrestore/fourier.h"
#include "clrestore/nn.h"
#include "clrestore/runtime.h"
#include "clrestore/status.h"
#include "clrestore/waunet.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cr_denoise_opts {
    double max_resolution;   /* Å: the model's (checkpoint) unless overridden */
    double model_apix;       /* binned pixel size the model was trained at; 0 = unchecked */
    int phaseflip;           /* flip with the micrograph's CTF before the network */
    double merge_resolution; /* Å, 3 */
    double merge_width;      /* Å, 2 */
    int merge_noisy;         /* blend the raw high frequencies back in */
    int flip_back;           /* multiply by sign(CTF) again at the end */
    int tile;                /* core size of the network tiles in binned pixels; 0 = from device memory */
    int tta;                 /* average over the 8 dihedral transforms */
} cr_denoise_opts;

void cr_denoise_opts_default(cr_denoise_opts *o);

/* Per-run state: the Fourier object and the model (not owned). */
typedef struct cr_denoiser {
    cr_fourier *fw;
    cr_waunet *net;
    int margin;        /* tile margin: the receptive field, rounded to 2^levels */
} cr_denoiser;

cr_status cr_denoiser_init(cr_denoiser *d, cr_fourier *fw, cr_waunet *net);

/* What a command needs to run a checkpoint's network on one device, owned
 * together: the runtime, a float engine, the network with the checkpoint's
 * weights and, when asked, the Fourier object of the full pipeline and the
 * denoiser on both. */
typedef struct cr_denoiser_env {
    cr_runtime *rt;
    cr_nn *nn;       /* float engine on rt; NULL without a checkpoint */
    cr_waunet *net;  /* the checkpoint's network; NULL without a checkpoint */
    cr_fourier *fw;  /* NULL unless asked for */
    cr_denoiser den; /* on fw and net: set when both are there */
} cr_denoiser_env;

/* Opens device (a selector as cr_runtime_create takes; NULL = the default)
 * and uploads ck, which may be NULL (the runtime and Fourier object alone);
 * a failed upload names model_path. fourier: also the Fourier object and
 * the denoiser. ck is not kept. */
cr_status cr_denoiser_env_create(const char *device, const cr_checkpoint *ck, const char *model_path, int fourier,
                                 cr_denoiser_env **out);
void cr_denoiser_env_free(cr_denoiser_env *e);

/* The network's output on an already pre-processed (binned, normalised)
 * image of bx×by pixels, padded with its mean to multiples of 2^levels,
 * tiled with the given core size (0 = automatic) and cropped back. */
cr_status cr_denoise_binned(cr_denoiser *d, const float *binned, int bx, int by, int tile, int tta, float *out);
/* The same on device buffers of d's runtime (by×bx float each): nothing
 * crosses to the host. binned and out must not be cr_fourier workspace
 * slots other than CR_WS_BINNED and CR_WS_DEN. Needs a float engine. */
cr_status cr_denoise_binned_dev(cr_denoiser *d, cl_mem binned, int bx, int by, int tile, int tta, cl_mem out);

/* The whole chain on one micrograph (nx×ny at apix; ctf may be NULL without
 * phase flipping). out: nx×ny. The image goes to the device once and the
 * result comes back once (the binned copies only when asked). When binned_raw/binned_den are not NULL they
 * receive malloc'd copies of the pre-processed input and the network output
 * (bx×by) for previews and SNR measurements. */
cr_status cr_denoise_micrograph(cr_denoiser *d, const float *img, int nx, int ny, double apix,
                                const cr_ctf_params *ctf, const cr_denoise_opts *o, float *out, float **binned_raw,
                                float **binned_den, int *bx, int *by);

/* Fails ("pixel size mismatch: ...") when a micrograph at apix, binned to
 * bapix at max_resolution, does not match the model's binned pixel size
 * model_apix within 2% (0 = the model did not record one: unchecked). */
cr_status cr_denoise_check_apix(double model_apix, double bapix, double apix, double max_resolution);

/* The automatic tile core for a bx×by binned image: the largest multiple of
 * 2^levels whose inference activations fit in a third of the device memory
 * (and the largest buffer), at least 2^levels. */
int cr_denoise_auto_tile(cr_denoiser *d, int bx, int by);

#ifdef __cplusplus
}
#endif
#endif
