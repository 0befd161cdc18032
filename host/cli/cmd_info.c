/* clrestore info FILE...: what an MRC, STAR or HDF5 file holds. One block of
 * text per file on stdout; a file that cannot be read is reported on stderr
 * and makes the exit status 1, the other files are still described. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clrestore/fileutil.h"
#include "clrestore/h5util.h"
#include "clrestore/mrc.h"
#include "clrestore/npy.h"
#include "clrestore/star.h"

static const char info_usage[] =
    "usage: clrestore info FILE...\n\n"
    "Describes each file:\n"
    "  MRC (.mrc .mrcs .map .st)  dimensions, mode, byte order, pixel size, min/max/mean/rms\n"
    "                             of the data (and the header's values when they disagree)\n"
    "  STAR (.star)               blocks, columns, rows, pixel size and CTF columns of the\n"
    "                             micrograph table\n"
    "  cryoSPARC exposures (.cs)  the same, as the RELION tables clrestore reads them as\n"
    "  HDF5 (.h5 .hdf5)           clrestore training set or checkpoint contents, or a listing\n";

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcasecmp(s + n - m, suf) == 0;
}

static const char *mrc_kind(const cr_mrc_header *h, const char *path)
{
    if (h->nz <= 1) return "image";
    if (has_suffix(path, ".mrcs") || h->mz == 1) return "stack";
    return "volume";
}

static cr_status info_mrc(const char *path)
{
    cr_mrc_header h;
    float *data = NULL;
    cr_status st = cr_mrc_read(path, &h, &data);
    if (st != CR_OK) return st;
    cr_image_stats s;
    cr_image_stats_compute(data, (int64_t)h.nx * h.ny * h.nz, &s);
    /* NaN/Inf pixels poison every later step: describe the file, then fail. */
    cr_status finite = cr_mrc_check_finite(path, data, h.nx, h.ny, h.nz);
    free(data);
    printf("%s: MRC %s %d x %d x %d, mode %d (%s), %s-endian%s\n", path, mrc_kind(&h, path), h.nx, h.ny, h.nz,
           h.mode, cr_mrc_mode_name(h.mode), h.big_endian ? "big" : "little",
           h.machst_trusted ? "" : " (machine stamp missing or odd; order inferred)");
    if (h.apix > 0)
        printf("  pixel size %.4f A (cell %.2f / mx %d)\n", h.apix, h.cell[0], h.mx);
    else
        printf("  pixel size unknown (cell %.2f, mx %d)\n", h.cell[0], h.mx);
    printf("  data: min %.6g max %.6g mean %.6g rms %.6g\n", s.min, s.max, s.mean, s.rms);
    /* MRC2014 marks statistics not computed: rms < 0; dmean below min(dmin,
     * dmax); dmax < dmin (EPU and DE write 2, 1, 0, -1). Only those set are
     * compared with the data. */
    double tol = 1e-3 * (fabs(s.rms) + fabs(s.mean) + 1e-30);
    int mean_set = h.dmax >= h.dmin && !(h.dmean < h.dmin), rms_set = h.rms >= 0;
    if (!mean_set && !rms_set)
        printf("  header statistics: not computed (MRC2014 convention)\n");
    else if ((mean_set && fabs(h.dmean - s.mean) > tol) || (rms_set && fabs(h.rms - s.rms) > tol))
        printf("  header statistics differ from the data (header: min %.6g max %.6g mean %.6g rms %.6g)\n", h.dmin,
               h.dmax, h.dmean, h.rms);
    if (h.nsymbt > 0) printf("  extended header: %d bytes (%s), skipped\n", h.nsymbt, h.exttyp[0] ? h.exttyp : "untyped");
    for (int i = 0; i < h.nlabl && i < 10; i++)
        if (h.labels[i][0]) printf("  label %d: %s\n", i, h.labels[i]);
    return finite;
}

static cr_status info_star(const char *path)
{
    cr_star_file *f = NULL;
    cr_status st = cr_micrograph_list_read(path, 0, &f);
    if (st != CR_OK) return st;
    int nb = cr_star_nblocks(f);
    printf("%s: %s, %d block%s\n", path, cr_is_cs_path(path) ? "cryoSPARC exposures, as RELION" : "STAR", nb,
           nb == 1 ? "" : "s");
    for (int i = 0; i < nb; i++) {
        const cr_star_table *t = cr_star_block(f, i);
        if (cr_star_is_loop(t))
            printf("  data_%s: loop, %d rows x %d columns\n", cr_star_block_name(t), cr_star_nrows(t),
                   cr_star_ncols(t));
        else
            printf("  data_%s: %d key/value pairs\n", cr_star_block_name(t), cr_star_ncols(t));
    }
    cr_micrograph_row *rows = NULL;
    int n = 0;
    /* a STAR without a micrograph table is described as it is; one whose
     * micrograph table does not read (a cell that is not a number, an
     * undefined optics group) is an error */
    cr_status ms = cr_star_micrographs(f, 0, &rows, &n);
    if (ms != CR_OK && ms != CR_ERR_NOT_FOUND) st = ms;
    if (ms == CR_OK && n > 0) {
        double amin = INFINITY, amax = 0;
        int with_ctf = 0, groups = 0;
        for (int i = 0; i < n; i++) {
            if (rows[i].apix > 0) {
                amin = fmin(amin, rows[i].apix);
                amax = fmax(amax, rows[i].apix);
            }
            if (!isnan(rows[i].defocus_u) && !isnan(rows[i].defocus_v)) with_ctf++;
            if (rows[i].optics_group > groups) groups = rows[i].optics_group;
        }
        printf("  images: %d rows named by _rlnMicrographName", n);
        if (groups > 0) printf(", %d optics group%s", groups, groups == 1 ? "" : "s");
        printf("\n");
        if (amax > 0 && amin == amax)
            printf("  pixel size %.4f A\n", amin);
        else if (amax > 0)
            printf("  pixel size %.4f to %.4f A\n", amin, amax);
        else
            printf("  pixel size unknown\n");
        printf("  CTF (defocus) on %d of %d rows\n", with_ctf, n);
    }
    if (st == CR_OK) cr_error_clear();
    cr_micrograph_rows_free(rows, n);
    cr_star_free(f);
    return st;
}

static cr_status info_one(const char *path)
{
    int64_t size = 0;
    cr_status st = cr_file_size(path, &size);
    if (st != CR_OK) return st;
    if (cr_h5_is_hdf5(path)) {
        char *text = NULL;
        st = cr_h5_describe(path, &text);
        if (st == CR_OK) fputs(text, stdout);
        free(text);
        return st;
    }
    if (has_suffix(path, ".star") || cr_is_cs_path(path)) return info_star(path);
    if (has_suffix(path, ".mrc") || has_suffix(path, ".mrcs") || has_suffix(path, ".map") ||
        has_suffix(path, ".st") || has_suffix(path, ".ali") || has_suffix(path, ".rec"))
        return info_mrc(path);
    /* Unknown extension: try MRC, whose header check is strict. */
    st = info_mrc(path);
    if (st == CR_ERR_FORMAT)
        return cr_fail(CR_ERR_FORMAT, "%s: not an MRC, STAR or HDF5 file that clrestore recognises", path);
    return st;
}

static int run_info(int argc, char **argv, const cr_global_opts *g)
{
    static const struct option longopts[] = {{NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    opterr = 0;
    if ((c = cr_cli_getopt(argc, argv, ":", longopts, NULL)) != -1) return cr_cli_getopt_error("info", c, argv);
    if (optind >= argc) return cr_cli_usage_error("info", "no file given");
    int rc = CR_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        cr_error_clear();
        if (info_one(argv[i]) != CR_OK) {
            fflush(stdout);
            rc = cr_cli_fail();
        }
        fflush(stdout);
    }
    return rc;
}

const cr_command cr_cmd_info = {"info", run_info, "describe MRC, STAR and HDF5 files", info_usage};
