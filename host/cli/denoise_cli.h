/* Shared between cmd_denoise.c (options, network-only mode) and
 * denoise_full.c (the full pipeline). */
#ifndef CLRESTORE_DENOISE_CLI_H
#define CLRESTORE_DENOISE_CLI_H

#include <stddef.h>

#include "clrestore/checkpoint.h"
#include "clrestore/runtime.h"
#include "clrestore/waunet.h"

typedef struct denoise_opts {
    const char *model;   /* -p */
    const char *outdir;  /* -o; NULL = beside each input */
    const char *suffix;  /* --suffix */
    const char *star;    /* -m */
    int network_only;
    char **inputs;       /* (ninputs) MRC paths */
    int ninputs;
    const char *max_res, *merge_res, *merge_width, *tile; /* numbers, parsed later */
    int no_phaseflip, merge_noisy, flip_back, tta, preview, skip_existing;
    const char *devices; /* --devices all | i,j,... (NULL: the one --device) */
    int shard_index, shard_count; /* --shard I/N (1-based); count 0 = no sharding */
} denoise_opts;

/* <outdir or the input's directory>/<input name without extension><suffix>.mrc */
cr_status denoise_output_path(const denoise_opts *o, const char *in, char *out, size_t outlen);
/* Refuses an output that is one of the inputs (same file, however named). */
cr_status denoise_check_not_input(const denoise_opts *o, const char *out);
/* The full pipeline over -m STAR rows or MRC files; returns the exit code. */
int denoise_full(cr_runtime *rt, cr_waunet *m, const cr_checkpoint *ck, const denoise_opts *o);

#endif
