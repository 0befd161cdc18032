/* prepare on a simulated set (clrestore simulate): the patch count is the sum
 * over micrographs of floor(binned size / patch)^2 with the binned size from
 * the documented rule (2·round(n·apix/max_res)); every patch has mean 0 and
 * std 1; the pixel size is max_res/2 up to that rounding; even and odd patches
 * of one position correlate, patches of different positions do not. Bad
 * inputs: a missing odd file is skipped and reported, a STAR without CTF
 * columns fails with phase flipping and works without, nothing is left behind. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clrestore/h5util.h"
#include "clrestore/trainset.h"
#include "testutil.h"

static char dir[256], cmd[2048];
static const char *bin;

static int run(const char *args)
{
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s --quiet > out.txt 2> err.txt", dir, bin, args);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int err_contains(const char *needle)
{
    char path[512], buf[4096] = "";
    snprintf(path, sizeof path, "%s/err.txt", dir);
    FILE *fp = fopen(path, "r");
    if (!fp) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return strstr(buf, needle) != NULL;
}

static double corr(const float *a, const float *b, int n)
{
    double sab = 0, saa = 0, sbb = 0, ma = 0, mb = 0;
    for (int i = 0; i < n; i++) ma += a[i], mb += b[i];
    ma /= n, mb /= n;
    for (int i = 0; i < n; i++) sab += (a[i] - ma) * (b[i] - mb), saa += (a[i] - ma) * (a[i] - ma), sbb += (b[i] - mb) * (b[i] - mb);
    return sab / sqrt(saa * sbb);
}

int main(void)
{
    cr_h5_quiet();
    bin = getenv("CLRESTORE_BIN");
    if (!bin) {
        printf("SKIP: CLRESTORE_BIN not set\n");
        return 77;
    }
    snprintf(dir, sizeof dir, "/tmp/clrestore-prep-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    /* 3 micrographs 640x576 at 1.2 A/px; patches of 64 */
    CHECK(run("simulate -o sim --count 3 --size 640x576 --apix 1.2 --seed 11") == 0);
    CHECK(run("prepare -m sim/micrographs.star -o train.h5 --patch 64 --validation-fraction 0.34") == 0);
    const double apix = 1.2, maxres = 4.5;
    int bx = 2 * (int)lround(640 * apix / maxres), by = 2 * (int)lround(576 * apix / maxres); /* 342 x 308 */
    int per = (bx / 64) * (by / 64);
    char path[512];
    snprintf(path, sizeof path, "%s/train.h5", dir);
    cr_trainset *t = NULL;
    CHECK_OK(cr_trainset_open(path, &t));
    if (t) {
        CHECK_MSG(t->n == 3 * per, "%lld pairs, expected %d", (long long)t->n, 3 * per);
        CHECK(t->meta.binned_shape[0] == by && t->meta.binned_shape[1] == bx);
        CHECK(fabs(t->meta.apix - maxres / 2) <= maxres / 2 * (1.0 / bx + 1.0 / by));
        CHECK(t->meta.source_apix == apix && t->meta.phaseflip == 1 && t->meta.patch == 64);
        CHECK(t->nmicrographs == 3 && t->validation && t->validation[0] + t->validation[1] + t->validation[2] == 1);
        float *e = malloc(sizeof(float) * 64 * 64 * t->n), *o = malloc(sizeof(float) * 64 * 64 * t->n);
        int bad_norm = 0;
        for (int64_t i = 0; i < t->n; i++) {
            CHECK_OK(cr_trainset_read(t, i, e + i * 4096, o + i * 4096));
            for (int k = 0; k < 2; k++) {
                const float *p = (k ? o : e) + i * 4096;
                double m = 0, v = 0;
                for (int j = 0; j < 4096; j++) m += p[j];
                m /= 4096;
                for (int j = 0; j < 4096; j++) v += (p[j] - m) * (p[j] - m);
                bad_norm += fabs(m) > 1e-5 || fabs(sqrt(v / 4096) - 1) > 1e-5;
            }
        }
        CHECK(bad_norm == 0);
        /* same position even/odd vs different positions */
        double same = 0, diff = 0;
        for (int64_t i = 0; i < t->n; i++) {
            same += corr(e + i * 4096, o + i * 4096, 4096);
            diff += corr(e + i * 4096, o + ((i + 1) % t->n) * 4096, 4096);
        }
        same /= (double)t->n, diff /= (double)t->n;
        printf("mean even/odd correlation: same position %.4f, different positions %.4f\n", same, diff);
        CHECK(same > 0.05);
        CHECK(fabs(diff) < 0.02);
        free(e), free(o);
    }
    cr_trainset_close(t);

    /* a missing odd file: skipped and reported, the rest prepared */
    snprintf(cmd, sizeof cmd, "rm '%s/sim/micrographs/sim_0002_ODD.mrc'", dir);
    CHECK(system(cmd) == 0);
    CHECK(run("prepare -m sim/micrographs.star -o train2.h5 --patch 64") == 0);
    CHECK(err_contains("sim_0002") && err_contains("skipping"));
    CHECK_OK(cr_trainset_open(strcat(strcpy(path, dir), "/train2.h5"), &t));
    if (t) CHECK(t->n == 2 * per);
    cr_trainset_close(t);
    /* only micrographs whose pair is missing: a clear error, exit 1, no file */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && sed '/sim_000[13]_DW/d' sim/micrographs.star > only2.star", dir);
    CHECK(system(cmd) == 0);
    CHECK(run("prepare -m only2.star -o train4.h5 --patch 64") == 1);
    CHECK(err_contains("no usable micrograph pairs") && err_contains("only2.star"));
    snprintf(path, sizeof path, "%s/train4.h5", dir);
    CHECK(access(path, F_OK) != 0);
    /* no CTF columns: phase flipping needs them; without it, fine */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && printf 'data_\\nloop_\\n_rlnMicrographName\\nsim/micrographs/sim_0001_DW.mrc\\n' > noctf.star", dir);
    CHECK(system(cmd) == 0);
    CHECK(run("prepare -m noctf.star -o train3.h5 --patch 64") == 1);
    CHECK(err_contains("_rlnDefocusU") && err_contains("noctf.star"));
    snprintf(path, sizeof path, "%s/train3.h5", dir);
    CHECK(access(path, F_OK) != 0);
    CHECK(run("prepare -m noctf.star -o train3.h5 --patch 64 --no-phaseflip") == 0);
    CHECK(access(path, F_OK) == 0);
    /* bad usage */
    CHECK(run("prepare -m noctf.star") == 2);
    CHECK(run("prepare -m noctf.star -o x.h5 --patch 0") == 2);
    /* no temporary files left anywhere */
    snprintf(cmd, sizeof cmd, "find '%s' -name '*.tmp.*' | grep -q .", dir);
    CHECK(system(cmd) != 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return test_finish("test_cl_prepare");
}
