/* One even/odd pair as `clrestore snr` measures it: the shared pre-processing
 * (REFERENCE.md "Pre-processing") with the model's band limit and phase flip,
 * the network on both binned halves, and the estimators of snr.h. Shared by
 * the snr command and the ground-truth bias check (bench/bench_bias_truth.c),
 * so that the check measures exactly what snr reports. */
#ifndef CLRESTORE_SNR_MEASURE_H
#define CLRESTORE_SNR_MEASURE_H

#include "clrestore/denoise.h"
#include "clrestore/fourier.h"
#include "clrestore/snr.h"
#include "clrestore/star.h"
#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The pre-processing snr applies to the micrograph of row: its pixel size
 * (header_apix when the row has none), the cut-off max_resolution (Å; 4.5
 * when <= 0) and the phase flip with the row's CTF when phaseflip. ctf
 * receives that CTF; po points into it, so it must outlive po. */
void cr_snr_preprocess_opts(const cr_micrograph_row *row, double header_apix, double max_resolution, int phaseflip,
                            cr_ctf_params *ctf, cr_preprocess_opts *po);

/* The four images of one measurement, each by×bx floats (malloc'd). */
typedef struct cr_snr_pair {
    float *re, *ro; /* pre-processed raw halves R_e, R_o */
    float *de, *dd; /* network outputs D_e, D_o */
    float *we, *wo; /* even/odd Wiener filter outputs (cr_snr_measure_wiener) */
    int bx, by;
    double bapix;   /* Å/px of the binned images */
} cr_snr_pair;

/* Pre-processes even and odd (nx×ny each) with po, denoises both with d
 * (network tile core `tile`, 0 = automatic, no test-time augmentation) and
 * fills s. p receives the images (free with cr_snr_pair_free, also after a
 * failure). */
cr_status cr_snr_measure_pair(cr_denoiser *d, const float *even, const float *odd, int nx, int ny,
                              const cr_preprocess_opts *po, int tile, cr_snr_pair *p, cr_snr_stats *s);
void cr_snr_pair_free(cr_snr_pair *p);

/* The linear baseline (docs/snr.md "Linear baseline"): the ring Wiener filter
 * of p's own halves (cr_wiener_eo, half-width CR_SNR_WIENER_HW rings, per-half
 * noise) applied to R_e and R_o into p->we, p->wo, and snr.h's estimators
 * on (R_e, R_o, W_e, W_o) into s. Needs p->re, p->ro. */
#define CR_SNR_WIENER_HW 2
cr_status cr_snr_measure_wiener(cr_fourier *fw, cr_snr_pair *p, cr_snr_stats *s);

/* One line (no newline) comparing the network (net) with the linear baseline
 * (lin) over n micrographs: the baseline's median SNR and SNBR, the medians
 * of the per-micrograph ratios network/baseline, and in how many micrographs
 * the network's SNBR is the higher. */
void cr_snr_baseline_summary(const cr_snr_stats *net, const cr_snr_stats *lin, int n, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
