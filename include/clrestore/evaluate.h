/* `clrestore evaluate`: the true SNR, against the noise-free image that
 * `simulate` writes, of the raw sum and of what each denoiser makes of it
 * (docs/evaluate.md): a Gaussian low-pass with the best σ (an oracle), the
 * ring Wiener filter from the even/odd halves, the oracle ring Wiener filter
 * from the true spectra, and the network. */
#ifndef CLRESTORE_EVALUATE_H
#define CLRESTORE_EVALUATE_H

#include <stddef.h>

#include "clrestore/denoise.h"
#include "clrestore/fourier.h"
#include "clrestore/star.h"
#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The methods, in the order of the CSV columns and the plot. */
enum { CR_EVAL_RAW, CR_EVAL_EVEN, CR_EVAL_GAUSS, CR_EVAL_WIENER_EO, CR_EVAL_WIENER_ORACLE, CR_EVAL_DENOISED,
       CR_EVAL_COUNT };
/* "raw", "even", "gaussian", "wiener_eo", "wiener_oracle", "denoised". */
extern const char *const cr_eval_names[CR_EVAL_COUNT];

typedef struct cr_eval_result {
    double snr[CR_EVAL_COUNT]; /* true SNR in the band; denoised NAN without a network */
    double gauss_sigma;        /* Å: the σ of the best Gaussian (0: none beats the raw sum) */
    double bapix;              /* Å/px of the binned images */
    int bx, by;
} cr_eval_result;

/* One micrograph: its full sum (= even + odd), halves and noise-free image,
 * nx×ny each, pre-processed with po (the truth too), the true SNR of every
 * method in the band lo..hi (1/Å) of the binned images. d NULL: no network
 * (snr[CR_EVAL_DENOISED] = NAN); tile as cr_denoise_binned. */
cr_status cr_evaluate_micrograph(cr_fourier *fw, cr_denoiser *d, const float *sum, const float *even,
                                 const float *odd, const float *truth, int nx, int ny, const cr_preprocess_opts *po,
                                 int tile, double lo, double hi, cr_eval_result *r);

/* The noise-free image of the micrograph `name` (a STAR name of a full sum):
 * truth_dir/<stem>.mrc, stem = the base name without ".mrc" and without a
 * trailing "_" + the first of suffixes (simulate's sim_0001_DW.mrc ->
 * sim_0001.mrc). truth_dir NULL: "truth" beside the STAR file. */
cr_status cr_evaluate_truth_path(const char *star_path, const char *name, const char *truth_dir,
                                 const char *suffixes, char *out, size_t len);

typedef struct cr_eval_opts {
    const char *truth_dir;  /* NULL: "truth" beside the STAR file */
    const char *suffixes;   /* full-sum, even and odd suffixes, "DW,EVN,ODD" */
    double max_resolution;  /* Å: the band's upper end and the binning (the model's with a network) */
    double highpass;        /* Å: the band's lower end, 200 */
    int phaseflip;          /* phase flip in the pre-processing (the truth too) */
    double model_apix;      /* the network's binned pixel size (0: unchecked) */
    int tile;
} cr_eval_opts;
void cr_eval_opts_default(cr_eval_opts *o);

/* One STAR row: reads its full sum, even and odd halves (names as in snr)
 * and its truth (cr_evaluate_truth_path), checks their shapes, and runs
 * cr_evaluate_micrograph. Errors name the file. */
cr_status cr_evaluate_row(cr_fourier *fw, cr_denoiser *d, const char *star_path, const cr_micrograph_row *row,
                          const cr_eval_opts *o, cr_eval_result *r);

/* Medians over n results of each method's SNR (med) and of its gain over
 * the raw sum (gain), per-micrograph ratios; NAN where a method has none. */
void cr_evaluate_summary(const cr_eval_result *r, int n, double *med, double *gain);

#ifdef __cplusplus
}
#endif
#endif
