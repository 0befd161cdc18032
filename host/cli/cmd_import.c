/* clrestore import-restore: a Keras model trained by UCSF restore (.hdf5)
 * into a clrestore checkpoint (the work is in host/io/keras_*.c). */
#include <getopt.h>
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
    enum { OPT_APIX = 1000, OPT_MAX_RES, OPT_NO_PHASEFLIP };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'}, {"apix", required_argument, NULL, OPT_APIX},
        {"max-resolution", required_argument, NULL, OPT_MAX_RES},
        {"no-phaseflip", no_argument, NULL, OPT_NO_PHASEFLIP}, {NULL, 0, NULL, 0}};
    const char *in = NULL, *out = NULL;
    cr_keras_opts o = cr_keras_opts_default();
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = cr_cli_getopt(argc, argv, ":o:", longopts, NULL)) != -1) {
        if (opt == 'o') {
            out = optarg;
        } else if (opt == OPT_APIX) {
            if (cr_opt_double("import-restore", "--apix", optarg, 0.01, 1000, &o.apix)) return CR_EXIT_USAGE;
        } else if (opt == OPT_MAX_RES) {
            if (cr_opt_double("import-restore", "--max-resolution", optarg, 0.1, 1000, &o.max_resolution))
                return CR_EXIT_USAGE;
        } else if (opt == OPT_NO_PHASEFLIP) {
            o.phaseflip = 0;
        } else {
            return cr_cli_getopt_error("import-restore", opt, argv);
        }
    }
    if (argc - optind > 1)
        return cr_cli_usage_error("import-restore", "one Keras model at a time ('%s' and '%s')", argv[optind],
                                  argv[optind + 1]);
    if (optind < argc) in = argv[optind];
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
