/* Models trained by UCSF restore: Keras HDF5 files (TF 1.x/2.x Keras, as
 * ModelCheckpoint or model.save write them) of its WA-U-Net, turned into a
 * clrestore checkpoint. The layer graph in the file's `model_config`
 * attribute (JSON) is walked from the input to the output and matched
 * against REFERENCE.md's network, so layer names and the order of the layer
 * list do not matter; the architecture (levels, blocks, filters, expansion,
 * kernels) is read off the graph. restore's weight normalisation lives in
 * its optimiser (AdamWithWeightnorm), so the layers hold the effective
 * kernel W: it becomes v = W, g = ‖W‖ per output channel. */
#ifndef CLRESTORE_KERAS_H
#define CLRESTORE_KERAS_H

#include "clrestore/arch.h"
#include "clrestore/checkpoint.h"
#include "clrestore/json.h"
#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A Keras file does not record the pre-processing; the importer's caller
 * supplies it (defaults: apix 0 = unknown, max_resolution 4.5 Å as restore's
 * default, phaseflip -1 = unknown). */
typedef struct cr_keras_opts {
    double apix;
    double max_resolution;
    int phaseflip;
} cr_keras_opts;

cr_keras_opts cr_keras_opts_default(void);

/* Where the weights came from, recorded in the written checkpoint. */
typedef struct cr_keras_source {
    char file[256];          /* base name of the Keras file */
    char keras_version[64];  /* root attribute keras_version, "" if absent */
    char backend[64];        /* root attribute backend */
} cr_keras_source;

/* One convolution of the matched graph, in checkpoint order. */
typedef struct cr_keras_conv {
    const char *layer; /* Keras layer name (points into the parsed JSON) */
    int k, stride, cout, use_bias;
    int concat_swapped; /* the merge convolution's Concatenate lists the skip first */
} cr_keras_conv;

/* Walks a parsed model_config and matches it against the WA-U-Net: the
 * architecture and the convolutions in cr_arch_convs order (caller frees
 * *convs). what names the file in errors ("FILE: model_config: ..."). */
cr_status cr_keras_match(const cr_json *model_config, const char *what, cr_arch *arch, cr_keras_conv **convs,
                         int *nconvs);

/* 1 when path is an HDF5 file with a root model_config attribute. */
int cr_keras_is_model(const char *path);

/* Reads a Keras model file into a checkpoint (weights only, no optimiser
 * state); src may be NULL. Errors are one line naming the file. */
cr_status cr_keras_import(const char *path, const cr_keras_opts *o, cr_checkpoint **out, cr_keras_source *src);

/* cr_checkpoint_save plus root attributes source_file, source_format
 * ("keras-hdf5"), source_keras_version and source_backend, all written
 * before the file gets its final name. */
cr_status cr_keras_save(const cr_checkpoint *c, const cr_keras_source *src, const char *path);

/* A clrestore checkpoint, or a Keras model imported on the fly (with o, or
 * the defaults when o is NULL). */
cr_status cr_model_load(const char *path, const cr_keras_opts *o, cr_checkpoint **out);

#ifdef __cplusplus
}
#endif
#endif
