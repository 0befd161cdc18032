/* Denoising many micrographs: the rows of a STAR file or a list of MRC files,
 * on one or several OpenCL devices (one thread each, micrographs claimed one
 * at a time), outputs written atomically, optional previews, then
 * denoised_micrographs.star listing the outputs with the input's other
 * columns and optics table kept. Also the output naming shared with
 * `denoise --network-only`, its one-image step and its run over the files. */
#ifndef CLRESTORE_DENOISE_BATCH_H
#define CLRESTORE_DENOISE_BATCH_H

#include <stddef.h>

#include "clrestore/checkpoint.h"
#include "clrestore/denoise.h"
#include "clrestore/runtime.h"
#include "clrestore/status.h"
#include "clrestore/waunet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where outputs go and what they are called. */
typedef struct cr_denoise_naming {
    const char *outdir;       /* NULL: beside each input */
    const char *suffix;       /* appended to the input's stem, e.g. "_denoised" */
    char *const *inputs;      /* (ninputs) input paths an output must never be */
    int ninputs;
} cr_denoise_naming;

/* <outdir or the input's directory>/<input name without extension><suffix>.mrc */
cr_status cr_denoise_output_path(const cr_denoise_naming *nm, const char *in, char *out, size_t outlen);
/* Refuses an output that is one of the inputs (same file, however named):
 * writing it would destroy the data being denoised. */
cr_status cr_denoise_check_not_input(const cr_denoise_naming *nm, const char *out);

/* One MRC image through the network alone (no normalisation or Fourier
 * steps), written as float32 MRC with its pixel size to the path naming
 * gives (returned in out). */
cr_status cr_denoise_network_file(cr_waunet *m, const cr_denoise_naming *nm, const char *in, char *out,
                                  size_t outlen);

typedef struct cr_denoise_batch_opts {
    cr_denoise_naming naming;
    const char *star;         /* micrographs with CTF, or NULL: naming.inputs are the micrographs */
    const char *devices;      /* "all" or "I,J,..." (indices or names); NULL: the caller's device only */
    int preview;              /* <stem>_preview.png beside each output */
    int skip_existing;        /* an output that exists (with its preview, if asked) counts as done */
    int shard_index, shard_count; /* --shard I/N (1-based): rows of block I of N only; count 0 = all */
    cr_denoise_opts dopt;     /* the per-micrograph pipeline */
    /* Called once per failed micrograph, one call at a time, with the error
     * recorded (cr_error_message()); may be NULL. The others go on. */
    void (*on_error)(void *ctx, cr_status st);
    void *ctx;
} cr_denoise_batch_opts;

typedef struct cr_denoise_batch_report {
    int total, done, failed; /* micrographs: listed, written (or skipped as existing), failed */
    int ndevices;
    char star_out[4200];     /* the output STAR (written when done > 0) */
} cr_denoise_batch_report;

/* Denoises every micrograph. Device 0 runs on rt and m (the caller's: with
 * devices, rt must be the first device listed); the others get their own
 * runtime and model copy from ck. Returns an error only for what stops the
 * whole batch (set-up, the output STAR); failed micrographs are counted in
 * rep->failed. */
cr_status cr_denoise_batch(cr_runtime *rt, cr_waunet *m, const cr_checkpoint *ck, const cr_denoise_batch_opts *o,
                           cr_denoise_batch_report *rep);

/* `denoise --network-only`: cr_denoise_network_file on every input of
 * o->naming (block shard_index of shard_count when sharded), the files
 * shared between the MPI ranks one at a time. Of o, only naming, the shard
 * and on_error are used (a failed file: one call, the others go on). No
 * listing is written; rep->star_out stays empty. Returns an error only for
 * what stops the whole run (the job queue). */
cr_status cr_denoise_network_batch(cr_waunet *m, const cr_denoise_batch_opts *o, cr_denoise_batch_report *rep);

#ifdef __cplusplus
}
#endif
#endif
