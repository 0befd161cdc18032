/* The signal estimate from an even/odd pair against ground truth: simulate
 * knows the noise-free image T. After the same pre-processing, the signal in
 * R_e is a scaled copy of the processed truth R_t (the chain is linear up to
 * the normalisations' shifts and scales), so its variance is a²·var(R_t) with
 * a the regression coefficient of R_e on R_t (unbiased: the noise is
 * independent of T). var_S = cov(R_e, R_o) must agree within 5%, SNR(raw)
 * within 10% (issue 8). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clrestore/fourier.h"
#include "clrestore/mrc.h"
#include "clrestore/snr.h"
#include "clrestore/star.h"
#include "testutil.h"

static float *processed(cr_fourier *fw, const char *path, const cr_preprocess_opts *po, int *bx, int *by)
{
    cr_mrc_header h;
    float *img = NULL, *out = NULL;
    double bapix;
    if (cr_mrc_read(path, &h, &img) != CR_OK) return NULL;
    if (cr_preprocess(fw, img, h.nx, h.ny, po, &out, bx, by, &bapix) != CR_OK) out = NULL;
    free(img);
    return out;
}

int main(void)
{
    const char *bin = getenv("CLRESTORE_BIN");
    if (!bin) {
        printf("SKIP: CLRESTORE_BIN not set\n");
        return 77;
    }
    char dir[] = "/tmp/clrestore-snrtruth-XXXXXX", cmd[1024], path[1024];
    if (!mkdtemp(dir)) return 1;
    snprintf(cmd, sizeof cmd, "'%s' simulate -o '%s' --count 2 --size 640x640 --seed 21 --quiet", bin, dir);
    CHECK(system(cmd) == 0);
    cr_runtime *rt = NULL;
    cr_fourier *fw = NULL;
    cr_star_file *star = NULL;
    cr_micrograph_row *rows = NULL;
    int n = 0;
    snprintf(path, sizeof path, "%s/micrographs.star", dir);
    CHECK_OK(cr_runtime_create(getenv("CLRESTORE_DEVICE"), &rt));
    CHECK_OK(cr_fourier_create(rt, &fw));
    CHECK_OK(cr_star_read(path, &star));
    CHECK_OK(cr_star_micrographs(star, 1, &rows, &n));
    for (int i = 0; i < n && fw; i++) {
        cr_ctf_params ctf = {rows[i].defocus_u, rows[i].defocus_v, rows[i].defocus_angle, rows[i].voltage,
                             rows[i].cs,        rows[i].amp_contrast, rows[i].phase_shift};
        cr_preprocess_opts po;
        cr_preprocess_opts_default(&po);
        po.apix = rows[i].apix;
        po.ctf = &ctf;
        char stem[256];
        snprintf(stem, sizeof stem, "%.*s", (int)(strlen(rows[i].name) - strlen("_DW.mrc") - strlen("micrographs/")),
                 rows[i].name + strlen("micrographs/"));
        int bx = 0, by = 0;
        snprintf(path, sizeof path, "%s/micrographs/%s_EVN.mrc", dir, stem);
        float *re = processed(fw, path, &po, &bx, &by);
        snprintf(path, sizeof path, "%s/micrographs/%s_ODD.mrc", dir, stem);
        float *ro = processed(fw, path, &po, &bx, &by);
        snprintf(path, sizeof path, "%s/truth/%s.mrc", dir, stem);
        float *rtr = processed(fw, path, &po, &bx, &by);
        CHECK(re && ro && rtr);
        if (!re || !ro || !rtr) continue;
        size_t np = (size_t)bx * by;
        cr_snr_stats s;
        cr_snr_compute(re, ro, re, ro, np, &s);
        double me = 0, mt = 0, cet = 0, vt = 0, ve = 0;
        for (size_t k = 0; k < np; k++) me += re[k], mt += rtr[k];
        me /= np, mt /= np;
        for (size_t k = 0; k < np; k++) {
            cet += (re[k] - me) * (rtr[k] - mt);
            vt += (rtr[k] - mt) * (rtr[k] - mt);
            ve += (re[k] - me) * (re[k] - me);
        }
        double var_s_true = cet * cet / (vt * np), snr_true = var_s_true / (ve / np - var_s_true);
        printf("%s: var_S %.5f (truth %.5f), SNR raw %.4f (truth %.4f)\n", rows[i].name, s.var_s, var_s_true,
               s.snr_raw, snr_true);
        CHECK_REL(s.var_s, var_s_true, 0.05);
        CHECK_REL(s.snr_raw, snr_true, 0.10);
        free(re), free(ro), free(rtr);
    }
    cr_micrograph_rows_free(rows, n);
    cr_star_free(star);
    cr_fourier_free(fw);
    cr_runtime_free(rt);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return test_finish("test_cl_snr_truth");
}
