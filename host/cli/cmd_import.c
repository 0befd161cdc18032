/* clrestore import-restore: a Keras model trained by UCSF restore (.hdf5)
 * into a clrestore checkpoint (the work is in host/io/keras_*.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clrestore/keras.h"
#include "clrestore/log.h"

static const char import_usage[] =
    "usage: clrestore import-restore MODEL.hdf5 -o MODEL.h5 [options]\n\n"
    "Converts a model trained by UCSF restore (a Keras HDF5 file as its training writes,\n"
    "TF 1.x or 2.x Keras) into a clrestore checkpoint. The layer graph stored in the file is\n"
    "matched against the wide-activation U-Net, so layer names do not matter; levels,\n"
    "blocks, filters, expansion and kernel sizes are read from it. The checkpoint records\n"
    "the source file and Keras version. 'denoise -p MODEL.hdf5' also reads such a file\n"
    "directly (with the defaults below).\n\n"
    "A Keras file does not record the pre-processing the model was trained with; give it\n"
    "here so that 'denoise' uses it by default:\n"
    "  -o, --output MODEL.h5    the checkpoint to write (required)\n"
    "      --apix A             pixel size of the binned training images, A (default: unknown)\n"
    "      --max-resolution A   Fourier-crop resolution of training, A (default 4.5, restore's)\n"
    "      --no-phaseflip       the training images were not phase-flipped (default: unknown,\n"
    "                           and denoise flips)\n";

static int run_import(int argc, char **argv, const cr_global_opts *g)
{
    (void)g;
    const char *in = NULL, *out = NULL;
    cr_keras_opts o = cr_keras_opts_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
#define IS(s) (len == strlen(s) && strncmp(a, s, len) == 0)
        int takes = IS("-o") || IS("--output") || IS("--apix") || IS("--max-resolution");
        const char *v = NULL;
        if (takes) {
            v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!v) return cr_cli_usage_error("import-restore", "%.*s needs a value", (int)len, a);
        }
        if (IS("-o") || IS("--output")) {
            out = v;
        } else if (IS("--apix")) {
            if (cr_opt_double("import-restore", "--apix", v, 0.01, 1000, &o.apix)) return CR_EXIT_USAGE;
        } else if (IS("--max-resolution")) {
            if (cr_opt_double("import-restore", "--max-resolution", v, 0.1, 1000, &o.max_resolution))
                return CR_EXIT_USAGE;
        } else if (IS("--no-phaseflip") && !eq) {
            o.phaseflip = 0;
        } else if (a[0] == '-' && a[1]) {
            return cr_cli_usage_error("import-restore", "unknown option '%s'", a);
        } else if (in) {
            return cr_cli_usage_error("import-restore", "one Keras model at a time ('%s' and '%s')", in, a);
        } else {
            in = a;
        }
#undef IS
    }
    if (!in) return cr_cli_usage_error("import-restore", "no Keras model given");
    if (!out) return cr_cli_usage_error("import-restore", "no output given (-o MODEL.h5)");
    if (strcmp(in, out) == 0) return cr_cli_usage_error("import-restore", "the output would overwrite the input");
    cr_checkpoint *c = NULL;
    cr_keras_source src;
    if (cr_keras_import(in, &o, &c, &src) != CR_OK || cr_keras_save(c, &src, out) != CR_OK) {
        cr_checkpoint_free(c);
        return cr_cli_fail();
    }
    cr_info("%s: restore WA-U-Net (Keras %s): levels %d, blocks %d, filters %d, expansion %d, kernels %d/%d, "
            "%d convolutions -> %s",
            in, src.keras_version[0] ? src.keras_version : "version unknown", c->arch.levels, c->arch.blocks,
            c->arch.filters, c->arch.expansion, c->arch.encoder_kernel, c->arch.decoder_kernel, c->nlayers, out);
    cr_info("pre-processing recorded (not in the Keras file): max resolution %g A, pixel size %s, phase flip %s",
            o.max_resolution, o.apix > 0 ? "given" : "unknown", o.phaseflip == 0 ? "off" : "unknown (denoise flips)");
    cr_checkpoint_free(c);
    return CR_EXIT_OK;
}

const cr_command cr_cmd_import = {"import-restore", run_import, "convert a UCSF restore Keras model (.hdf5)",
                                  import_usage};
