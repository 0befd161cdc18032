/* micrographs.star of the simulator read back through our STAR reader: the
 * same names, optics and CTF numbers as the plans used to make the images;
 * plans are a pure function of (seed, index). */
#include "testutil.h"

#include <unistd.h>

#include "clrestore/simulate.h"
#include "clrestore/star.h"

int main(void)
{
    cr_sim_opts o;
    cr_sim_opts_default(&o);
    o.apix = 1.3;
    o.bfactor = 40;
    o.nx = o.ny = 256;
    float vol[8 * 8 * 8] = {0};
    vol[(4 * 8 + 4) * 8 + 4] = 1;
    cr_specimen *sp = NULL;
    CHECK_OK(cr_specimen_from_volume(vol, 8, o.apix, &sp));
    enum { N = 5 };
    cr_sim_plan plans[N], again;
    const char *names[N] = {"micrographs/a_0001_DW.mrc", "micrographs/a_0002_DW.mrc", "micrographs/a_0003_DW.mrc",
                            "micrographs/a_0004_DW.mrc", "micrographs/a_0005_DW.mrc"};
    for (int i = 0; i < N; i++) CHECK_OK(cr_sim_plan_make(&o, sp, i, &plans[i]));
    CHECK_OK(cr_sim_plan_make(&o, sp, 3, &again));
    CHECK(again.nparticles == plans[3].nparticles && again.ctf.defocus_u == plans[3].ctf.defocus_u &&
          memcmp(again.particles, plans[3].particles, again.nparticles * sizeof *again.particles) == 0);
    cr_sim_plan_clear(&again);
    for (int i = 0; i < N; i++) {
        CHECK(plans[i].ctf.defocus_u >= plans[i].ctf.defocus_v);
        double mean = 0.5 * (plans[i].ctf.defocus_u + plans[i].ctf.defocus_v);
        CHECK(mean >= o.defocus_min - 0.1 && mean <= o.defocus_max + 0.1);
    }
    char path[] = "/tmp/clrestore_test_sim_star_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_OK(cr_sim_write_star(path, &o, plans, names, N));
    cr_star_file *f = NULL;
    cr_micrograph_row *rows = NULL;
    int n = 0;
    CHECK_OK(cr_star_read(path, &f));
    if (f) CHECK_OK(cr_star_micrographs(f, 1, &rows, &n));
    CHECK(n == N);
    for (int i = 0; i < n && i < N; i++) {
        CHECK(strcmp(rows[i].name, names[i]) == 0);
        CHECK_NEAR(rows[i].defocus_u, plans[i].ctf.defocus_u, 1e-9);
        CHECK_NEAR(rows[i].defocus_v, plans[i].ctf.defocus_v, 1e-9);
        CHECK_NEAR(rows[i].defocus_angle, plans[i].ctf.defocus_angle, 1e-9);
        CHECK_NEAR(rows[i].voltage, 300, 0);
        CHECK_NEAR(rows[i].cs, 2.7, 0);
        CHECK_NEAR(rows[i].amp_contrast, 0.1, 0);
        CHECK_NEAR(rows[i].apix, 1.3, 0);
        CHECK(rows[i].optics_group == 1);
    }
    const cr_star_table *t = f ? cr_star_find_block(f, "micrographs") : NULL;
    int col = t ? cr_star_col_index(t, "_rlnCtfBfactor") : -1;
    CHECK(col >= 0);
    if (col >= 0) CHECK(strcmp(cr_star_value(t, 0, col), "40") == 0);
    cr_micrograph_rows_free(rows, n);
    cr_star_free(f);
    unlink(path);
    for (int i = 0; i < N; i++) cr_sim_plan_clear(&plans[i]);
    cr_specimen_free(sp);
    return test_finish("test_sim_star");
}
