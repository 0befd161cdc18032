/* The pre-processing chain on a real micrograph (959 x 927: odd, not square,
 * prime factors 137 and 103, so the FFTs run on VkFFT) against an independent
 * double-precision host implementation written here from REFERENCE.md:
 * z-score; DFT at the kept frequencies (PRODUCT.md: kx in [0, W'/2],
 * ky in [-H'/2, H'/2 - 1]); multiply by sign(CTF) and the Butterworth
 * band-pass; inverse DFT of the Hermitian extension, real part; z-score.
 *
 * CTF from the first row of topaz_EMPIAR-10025_ctf_params.star (parsed here:
 * the STAR reader is another branch). Pixel size: the micrograph header's
 * own 1.0 A/px, not the STAR's 0.6575 A (detector pixel / magnification),
 * which belongs to the data set the STAR describes, not to this image. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/fourier.h"
#include "clrestore/log.h"
#include "clrestore/mrc.h"
#include "clrestore/runtime.h"
#include "testutil.h"

/* First data row of a one-table RELION 3.0 STAR file: the columns we need. */
static int read_star_ctf(const char *path, cr_ctf_params *c)
{
    FILE *fp = fopen(path, "r");
    char line[4096];
    int col = 0, iu = -1, iv = -1, ia = -1, ivolt = -1, ics = -1, iac = -1, ips = -1, ok = 0;
    if (!fp) return 0;
    memset(c, 0, sizeof *c);
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '_') {
            if (!strncmp(line, "_rlnDefocusU ", 13)) iu = col;
            if (!strncmp(line, "_rlnDefocusV ", 13)) iv = col;
            if (!strncmp(line, "_rlnDefocusAngle ", 17)) ia = col;
            if (!strncmp(line, "_rlnVoltage ", 12)) ivolt = col;
            if (!strncmp(line, "_rlnSphericalAberration ", 24)) ics = col;
            if (!strncmp(line, "_rlnAmplitudeContrast ", 22)) iac = col;
            if (!strncmp(line, "_rlnPhaseShift ", 15)) ips = col;
            col++;
            continue;
        }
        if (col == 0 || line[0] == '\n' || line[0] == '#') continue;
        char *save = NULL, *tok = strtok_r(line, " \t\n", &save);
        for (int i = 0; tok; i++, tok = strtok_r(NULL, " \t\n", &save)) {
            double v = atof(tok);
            if (i == iu) c->defocus_u = v;
            if (i == iv) c->defocus_v = v;
            if (i == ia) c->defocus_angle = v;
            if (i == ivolt) c->voltage = v;
            if (i == ics) c->cs = v;
            if (i == iac) c->amp_contrast = v;
            if (i == ips) c->phase_shift = v;
        }
        ok = iu >= 0 && iv >= 0 && ia >= 0 && ivolt >= 0 && ics >= 0 && iac >= 0;
        break;
    }
    fclose(fp);
    return ok;
}

static void zscore(double *x, size_t n)
{
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++) m += x[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    double s = sqrt(v / (double)n);
    for (size_t i = 0; i < n; i++) x[i] = (x[i] - m) / s;
}

/* REFERENCE.md CTF, written out again in double (independent of fourier.cl). */
static double ref_ctf(const cr_ctf_params *c, double sx, double sy)
{
    double V = c->voltage * 1e3;
    double lambda = 12.2643247 / sqrt(V * (1 + 0.978466e-6 * V));
    double s2 = sx * sx + sy * sy, alpha = atan2(sy, sx);
    double df = 0.5 * (c->defocus_u + c->defocus_v) +
                0.5 * (c->defocus_u - c->defocus_v) * cos(2 * (alpha - c->defocus_angle * M_PI / 180));
    double cs = c->cs * 1e7;
    double gamma = -M_PI * lambda * df * s2 + M_PI / 2 * cs * lambda * lambda * lambda * s2 * s2 -
                   c->phase_shift * M_PI / 180;
    double A = c->amp_contrast;
    return -(sqrt(1 - A * A) * sin(gamma) - A * cos(gamma));
}

/* Zeroed doubles for the reference computations; a test that cannot allocate
 * them cannot run, so it stops here rather than computing on NULL. */
static double *dalloc(size_t n)
{
    double *p = calloc(n, sizeof(double));
    if (!p) {
        fprintf(stderr, "test_cl_preprocess: out of memory for %zu doubles\n", n);
        exit(1);
    }
    return p;
}

/* Complex DFT along one axis of a (rows x cols) complex array for output
 * frequencies k = k0 .. k0 + nk - 1: out[row][k] = sum_j in[row][j] e^{sign 2 pi i k j / n}. */
static void dft_rows(const double *re, const double *im, int rows, int n, int k0, int nk, int sign, double *ore,
                     double *oim)
{
    double *cs = dalloc(n), *sn = dalloc(n);
    for (int j = 0; j < n; j++) {
        cs[j] = cos(2 * M_PI * j / n);
        sn[j] = sign * sin(2 * M_PI * j / n);
    }
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < nk; k++) {
            long kk = ((long)(k0 + k) % n + n) % n;
            double sr = 0, si = 0;
            for (int j = 0; j < n; j++) {
                int t = (int)((kk * j) % n);
                double a = re[(size_t)r * n + j], b = im ? im[(size_t)r * n + j] : 0;
                sr += a * cs[t] - b * sn[t];
                si += a * sn[t] + b * cs[t];
            }
            ore[(size_t)r * nk + k] = sr;
            oim[(size_t)r * nk + k] = si;
        }
    free(cs);
    free(sn);
}

/* Transpose a rows x cols array. */
static double *transpose(const double *a, int rows, int cols)
{
    double *t = dalloc((size_t)rows * cols);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) t[(size_t)c * rows + r] = a[(size_t)r * cols + c];
    return t;
}

static double *host_preprocess(const float *img, int nx, int ny, double apix, const cr_ctf_params *ctf, int bx,
                               int by)
{
    size_t n = (size_t)nx * ny;
    double *x = dalloc(n);
    for (size_t i = 0; i < n; i++) x[i] = img[i];
    zscore(x, n);
    /* forward DFT restricted to the kept indices (PRODUCT.md): columns
     * kx in [0, W'/2], rows ky in [-H'/2, H'/2 - 1]; along x, then along y */
    int hb = bx / 2 + 1;
    double *ar = dalloc((size_t)ny * hb), *ai = dalloc((size_t)ny * hb);
    dft_rows(x, NULL, ny, nx, 0, hb, -1, ar, ai);
    double *tr = transpose(ar, ny, hb), *ti = transpose(ai, ny, hb); /* hb rows of ny */
    double *xr = dalloc((size_t)hb * by), *xi = dalloc((size_t)hb * by);
    dft_rows(tr, ti, hb, ny, -by / 2, by, -1, xr, xi); /* x?[kx][ky + by/2] */
    /* filters: sign(CTF) (sign(0) = +1), HP(s) LP(s) with exponent 10 */
    double hp = 1.0 / 200, lp = 1.0 / 4.5;
    for (int i = 0; i < hb; i++)
        for (int j = 0; j < by; j++) {
            double sx = i / (nx * apix), sy = (j - by / 2) / (ny * apix), s = hypot(sx, sy);
            double g = (ref_ctf(ctf, sx, sy) < 0 ? -1.0 : 1.0);
            g *= s == 0 ? 0 : 1.0 / (1 + pow(hp / s, 10)) / (1 + pow(s / lp, 10));
            xr[(size_t)i * by + j] *= g;
            xi[(size_t)i * by + j] *= g;
        }
    /* the binned image is real: its full spectrum on kx in [-W'/2 + 1, W'/2]
     * is the Hermitian extension F(-k) = conj(F(k)) of the kept half, with
     * -ky wrapped into [-H'/2, H'/2 - 1]; F[i][j]: kx = i - W'/2 + 1, ky = j - H'/2 */
    double *fr = dalloc((size_t)bx * by), *fi = dalloc((size_t)bx * by);
    for (int i = 0; i < bx; i++)
        for (int j = 0; j < by; j++) {
            int kx = i - bx / 2 + 1, ky = j - by / 2;
            if (kx >= 0) {
                fr[(size_t)i * by + j] = xr[(size_t)kx * by + j];
                fi[(size_t)i * by + j] = xi[(size_t)kx * by + j];
            } else {
                int mky = -ky >= by / 2 ? -ky - by : -ky;
                fr[(size_t)i * by + j] = xr[(size_t)(-kx) * by + mky + by / 2];
                fi[(size_t)i * by + j] = -xi[(size_t)(-kx) * by + mky + by / 2];
            }
        }
    /* inverse DFT on that grid, real part (the self-conjugate column kx = W'/2
     * and row -H'/2 contribute their Hermitian projection):
     * out[y][x] = Re sum_{ky,kx} F e^{+2 pi i (kx x / W' + ky y / H')} */
    double *gr = dalloc((size_t)bx * by), *gi = dalloc((size_t)bx * by);
    for (int i = 0; i < bx; i++)
        for (int y = 0; y < by; y++) {
            double sr = 0, si = 0;
            for (int j = 0; j < by; j++) {
                double a = 2 * M_PI * (double)((long)(j - by / 2) * y % by) / by;
                double c = cos(a), s = sin(a), re = fr[(size_t)i * by + j], im = fi[(size_t)i * by + j];
                sr += re * c - im * s;
                si += re * s + im * c;
            }
            gr[(size_t)i * by + y] = sr;
            gi[(size_t)i * by + y] = si;
        }
    double *hr = transpose(gr, bx, by), *hi = transpose(gi, bx, by); /* by rows of bx (kx) */
    double *out = dalloc((size_t)bx * by);
    for (int y = 0; y < by; y++)
        for (int xx = 0; xx < bx; xx++) {
            double sr = 0;
            for (int i = 0; i < bx; i++) {
                double a = 2 * M_PI * (double)((long)(i - bx / 2 + 1) * xx % bx) / bx;
                sr += hr[(size_t)y * bx + i] * cos(a) - hi[(size_t)y * bx + i] * sin(a);
            }
            out[(size_t)y * bx + xx] = sr; /* real part */
        }
    zscore(out, (size_t)bx * by);
    free(x);
    free(ar);
    free(ai);
    free(tr);
    free(ti);
    free(fr);
    free(fi);
    free(xr);
    free(xi);
    free(gr);
    free(gi);
    free(hr);
    free(hi);
    return out;
}

int main(void)
{
    const char *data = test_shared_data();
    if (!data) return 77;
    char mic[4096], star[4096];
    snprintf(mic, sizeof mic, "%s/micrographs/Ucsf_stack_1142_DW.mrc", data);
    snprintf(star, sizeof star, "%s/star/topaz_EMPIAR-10025_ctf_params.star", data);
    cr_ctf_params ctf;
    if (!read_star_ctf(star, &ctf)) {
        printf("SKIP: %s: no CTF row\n", star);
        return 77;
    }
    cr_runtime *rt = NULL;
    if (cr_runtime_create(getenv("CLRESTORE_DEVICE"), &rt) != CR_OK) {
        printf("SKIP: no OpenCL device (%s)\n", cr_error_message());
        return 77;
    }
    cr_mrc_header h;
    float *img = NULL, *binned = NULL;
    cr_fourier *fw = NULL;
    CHECK_OK(cr_mrc_read(mic, &h, &img));
    CHECK_OK(cr_fourier_create(rt, &fw));
    if (!img || !fw) return test_finish("test_cl_preprocess");
    CHECK(h.nx == 959 && h.ny == 927);
    double apix = h.apix > 0 ? h.apix : 1.0;
    CHECK_NEAR(apix, 1.0, 1e-6);
    printf("CTF: U %.1f V %.1f angle %.2f, %g kV, Cs %g, A %g; %dx%d at %g A/px\n", ctf.defocus_u, ctf.defocus_v,
           ctf.defocus_angle, ctf.voltage, ctf.cs, ctf.amp_contrast, h.nx, h.ny, apix);

    cr_preprocess_opts o;
    cr_preprocess_opts_default(&o);
    o.apix = apix;
    o.ctf = &ctf;
    int bx = 0, by = 0;
    double bapix = 0, t0 = cr_now();
    CHECK_OK(cr_preprocess(fw, img, h.nx, h.ny, &o, &binned, &bx, &by, &bapix));
    double t1 = cr_now();
    CHECK(bx == 426 && by == 412);
    CHECK_NEAR(bapix, 0.5 * (959.0 / 426 + 927.0 / 412), 1e-12);
    if (binned) {
        double *ref = host_preprocess(img, h.nx, h.ny, apix, &ctf, bx, by);
        double t2 = cr_now();
        double emax = 0, e2 = 0;
        for (size_t i = 0; i < (size_t)bx * by; i++) {
            double e = fabs(binned[i] - ref[i]);
            emax = fmax(emax, e);
            e2 += e * e;
        }
        double erms = sqrt(e2 / ((double)bx * by));
        printf("device chain %.2f s, host reference %.2f s: max |diff| %.2e, rms %.2e (unit-variance images)\n",
               t1 - t0, t2 - t1, emax, erms);
        CHECK_MSG(emax < 1e-4 && erms < 1e-5, "max %.3g rms %.3g", emax, erms);
        free(ref);

        /* a second call with the same shape allocates nothing new */
        size_t mem = cr_runtime_mem_current(rt);
        free(binned);
        binned = NULL;
        CHECK_OK(cr_preprocess(fw, img, h.nx, h.ny, &o, &binned, &bx, &by, &bapix));
        CHECK(cr_runtime_mem_current(rt) == mem);
    }
    free(binned);
    free(img);
    cr_fourier_free(fw);
    cr_runtime_free(rt);
    return test_finish("test_cl_preprocess");
}
