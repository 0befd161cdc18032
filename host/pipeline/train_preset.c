/* Named training recipes (train --preset): the network, batch, learning
 * rate, augmentation and schedule length measured to suit a kind of node.
 * The values and how they were found: docs/training.md "Presets"
 * (bench/preset_search.sh reruns the search). */
#include <string.h>

#include "clrestore/train.h"

typedef struct train_preset {
    const char *name;
    cr_arch arch;          /* levels, blocks, filters, expansion; kernels 3 and 4 */
    int batch;
    double lr;
    int augment;
    int epochs, batches_per_epoch;
} train_preset;

static const train_preset presets[] = {
    /* REFERENCE.md "Training": what train does without a preset. */
    {"reference", {3, 4, 32, 4, 3, 4}, 10, 1e-4, 0, 100, 500},
    /* 2 CPU cores (docs/training.md "Presets", bench/preset_search.sh):
     * the best true SNR of the recipes searched at an equal CPU-time budget,
     * with 64^2 patches from prepare. 80 x 450 steps: at the 0.048 s per step
     * measured on 2 idle cores (Xeon, AVX-512, PoCL; 0.085 CPU-s) they take
     * ~29 min, inside the 30 minutes the recipe was judged at. */
    {"cpu", {2, 2, 16, 2, 3, 4}, 4, 2e-3, 1, 80, 450},
};

const char *cr_train_preset_names(void)
{
    return "reference, cpu";
}

cr_status cr_train_preset_apply(const char *name, cr_train_opts *o)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        const train_preset *p = &presets[i];
        if (strcmp(p->name, name) != 0) continue;
        o->arch = p->arch;
        o->batch = p->batch;
        o->lr = p->lr;
        o->augment = p->augment;
        o->epochs = p->epochs;
        o->batches_per_epoch = p->batches_per_epoch;
        return CR_OK;
    }
    return cr_fail(CR_ERR_ARG, "unknown preset '%s' (known: %s)", name, cr_train_preset_names());
}
