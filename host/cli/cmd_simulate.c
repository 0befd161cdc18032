/* clrestore simulate -o DIR: synthetic even/odd micrographs with ground truth
 * (PRODUCT.md "simulate"); the physics lives in host/sim/. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "clrestore/fileutil.h"
#include "clrestore/log.h"
#include "clrestore/mrc.h"
#include "clrestore/simulate.h"

static const char simulate_usage[] =
    "usage: clrestore simulate -o DIR [options]\n\n"
    "Writes DIR/micrographs/<name>_DW.mrc, _EVN.mrc, _ODD.mrc (Poisson counts; DW = EVN + ODD),\n"
    "DIR/truth/<name>.mrc (noise-free expected counts at the full dose, same CTF) and\n"
    "DIR/micrographs.star (RELION 3.1, CTF of each micrograph).\n\n"
    "  -o, --output DIR        output directory (created)\n"
    "  --count N               micrographs (default 8)\n"
    "  --size WxH              pixels (default 1024x1024; even sides)\n"
    "  --apix A                pixel size, A (default 1.5)\n"
    "  --dose D                e/A^2 in the full sum (default 40); EVN and ODD get D/2 each\n"
    "  --seed N                specimen placement, orientations, CTF, ice (default 1)\n"
    "  --noise-seed N          Poisson draws only (default: derived from --seed)\n"
    "  --name PREFIX           micrograph names PREFIX_0001... (default sim)\n"
    "specimen (default: the built-in ~300 kDa molecule):\n"
    "  --map FILE.mrc          3D density, resampled to --apix\n"
    "  --map-apix A            voxel size of the map when its header has none\n"
    "  --map-threshold T       envelope level (default 10% from background to maximum)\n"
    "  --model FILE.pdb|.cif   atomic model (element scattering factors, waters skipped)\n"
    "  --density F             fraction of the area covered by particles (default 0.25, max 0.5)\n"
    "optics:\n"
    "  --defocus MIN,MAX       mean defocus range, um (default 0.8,2.5; underfocus positive)\n"
    "  --astigmatism DA        max |DefocusU - DefocusV|, A (default 500)\n"
    "  --voltage KV            (default 300)    --cs MM (default 2.7)\n"
    "  --amp-contrast A        (default 0.1)\n"
    "  --bfactor B             CTF envelope exp(-B s^2/4), A^2 (default 0: none)\n"
    "  --mtf                   detector MTF of square-pixel counting (sinc)\n"
    "sample:\n"
    "  --ice T                 mean ice thickness, A (default 300; 0 = none)\n"
    "  --ice-variation V       relative smooth thickness variation (default 0.05)\n"
    "  --carbon                a carbon film edge in each micrograph (200 A)\n";

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return *s && !*end && errno == 0 && isfinite(*out);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-') return 0;
    *out = strtoull(s, &end, 10);
    return !*end && errno == 0;
}

static int run_simulate(int argc, char **argv, const cr_global_opts *g)
{
    cr_sim_opts o;
    cr_sim_opts_default(&o);
    const char *outdir = NULL, *map = NULL, *model = NULL, *prefix = "sim";
    double map_apix = 0, map_thr = NAN, v;
    int count = 8, have_noise_seed = 0;
    struct { const char *name; double *dst; double lo, hi; } num[] = {
        {"apix", &o.apix, 0.1, 50}, {"dose", &o.dose, 1e-3, 1e5}, {"density", &o.density, 0, 0.5},
        {"astigmatism", &o.astigmatism, 0, 1e4}, {"voltage", &o.voltage, 10, 3000},
        {"cs", &o.cs, 0, 20}, {"amp-contrast", &o.amp_contrast, 0, 0.99},
        {"bfactor", &o.bfactor, 0, 1e4}, {"ice", &o.ice_thickness, 0, 1e4},
        {"ice-variation", &o.ice_variation, 0, 0.5}, {"map-apix", &map_apix, 0.01, 100},
        {"map-threshold", &map_thr, -1e30, 1e30},
    };
    enum { NNUM = sizeof num / sizeof num[0], OPT_NUM = 2000 };
    struct option longopts[NNUM + 12] = {
        {"output", required_argument, NULL, 'o'}, {"map", required_argument, NULL, 1000},
        {"model", required_argument, NULL, 1001}, {"name", required_argument, NULL, 1002},
        {"count", required_argument, NULL, 1003}, {"size", required_argument, NULL, 1004},
        {"seed", required_argument, NULL, 1005}, {"noise-seed", required_argument, NULL, 1006},
        {"defocus", required_argument, NULL, 1007}, {"mtf", no_argument, NULL, 1008},
        {"carbon", no_argument, NULL, 1009}};
    for (int k = 0; k < NNUM; k++) longopts[11 + k] = (struct option){num[k].name, required_argument, NULL, OPT_NUM + k};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = cr_cli_getopt(argc, argv, ":o:", longopts, NULL)) != -1) {
        const char *val = optarg;
        switch (c) {
        case 'o': outdir = val; break;
        case 1000: map = val; break;
        case 1001: model = val; break;
        case 1002: prefix = val; break;
        case 1003:
            if (!parse_double(val, &v) || v < 1 || v > 99999 || v != floor(v))
                return cr_cli_usage_error("simulate", "--count must be an integer 1..99999, not '%s'", val);
            count = (int)v;
            break;
        case 1004: {
            char tail;
            if (sscanf(val, "%dx%d%c", &o.nx, &o.ny, &tail) != 2 || o.nx < 16 || o.ny < 16 || o.nx % 2 || o.ny % 2 ||
                o.nx > 16384 || o.ny > 16384)
                return cr_cli_usage_error("simulate", "--size must be WxH with even sides 16..16384, not '%s'", val);
            break;
        }
        case 1005:
            if (!parse_u64(val, &o.seed)) return cr_cli_usage_error("simulate", "--seed must be a non-negative integer");
            break;
        case 1006:
            if (!parse_u64(val, &o.noise_seed))
                return cr_cli_usage_error("simulate", "--noise-seed must be a non-negative integer");
            have_noise_seed = 1;
            break;
        case 1007: {
            char tail;
            if (sscanf(val, "%lf,%lf%c", &o.defocus_min, &o.defocus_max, &tail) != 2 || !(o.defocus_min > 0) ||
                !(o.defocus_max >= o.defocus_min) || o.defocus_max > 20)
                return cr_cli_usage_error("simulate", "--defocus must be MIN,MAX in um, 0 < MIN <= MAX <= 20");
            o.defocus_min *= 1e4;
            o.defocus_max *= 1e4;
            break;
        }
        case 1008: o.mtf = 1; break;
        case 1009: o.carbon = 1; break;
        default:
            if (c >= OPT_NUM && c < OPT_NUM + NNUM) {
                int k = c - OPT_NUM;
                if (!parse_double(val, &v) || v < num[k].lo || v > num[k].hi)
                    return cr_cli_usage_error("simulate", "--%s must be a number in [%g, %g], not '%s'", num[k].name,
                                              num[k].lo, num[k].hi, val);
                *num[k].dst = v;
                break;
            }
            return cr_cli_getopt_error("simulate", c, argv);
        }
    }
    if (optind < argc) return cr_cli_usage_error("simulate", "unexpected argument '%s'", argv[optind]);
    if (!outdir) return cr_cli_usage_error("simulate", "no output directory (-o DIR)");
    if (map && model) return cr_cli_usage_error("simulate", "--map and --model exclude each other");
    if (!have_noise_seed) o.noise_seed = cr_sim_noise_seed(o.seed);

    int rc = CR_EXIT_FAIL;
    cr_runtime *rt = NULL;
    cr_specimen *sp = NULL;
    cr_simulator *sim = NULL;
    cr_sim_plan *plans = calloc((size_t)count, sizeof *plans);
    char **names = calloc((size_t)count, sizeof *names);
    size_t npix = (size_t)o.nx * o.ny;
    float *img[4] = {malloc(npix * 4), malloc(npix * 4), malloc(npix * 4), malloc(npix * 4)};
    char path[4200], label[81];
    cr_progress prog;
    int progress_on = 0;
    if (!plans || !names || !img[0] || !img[1] || !img[2] || !img[3]) {
        cr_fail(CR_ERR_NOMEM, "out of memory for %d micrographs of %dx%d", count, o.nx, o.ny);
        goto done;
    }
    snprintf(path, sizeof path, "%s/micrographs", outdir);
    if (cr_mkdir_p(path) != CR_OK) goto done;
    snprintf(path, sizeof path, "%s/truth", outdir);
    if (cr_mkdir_p(path) != CR_OK) goto done;
    cr_status st;
    if (map)
        st = cr_specimen_from_map(map, o.apix, map_apix, map_thr, &sp);
    else if (model)
        st = cr_specimen_from_model(model, o.apix, &sp);
    else
        st = cr_specimen_builtin(o.apix, &sp);
    if (st != CR_OK) goto done;
    cr_info("specimen: %s, radius %.0f A", sp->desc, sp->radius);
    if (cr_runtime_create(g->device, &rt) != CR_OK || cr_simulator_create(rt, sp, &o, &sim) != CR_OK) goto done;
    snprintf(label, sizeof label, "clrestore simulate seed %llu", (unsigned long long)o.seed);
    cr_progress_begin(&prog, "simulate", "mic", count);
    progress_on = 1;
    for (int i = 0; i < count; i++) {
        if (cr_sim_plan_make(&o, sp, i, &plans[i]) != CR_OK) goto done;
        if (cr_simulator_run(sim, &plans[i], img[0], img[1], img[2], img[3]) != CR_OK) goto done;
        static const char *const suffix[4] = {"", "_EVN", "_ODD", "_DW"};
        for (int k = 0; k < 4; k++) {
            snprintf(path, sizeof path, "%s/%s/%s_%04d%s.mrc", outdir, k == 0 ? "truth" : "micrographs", prefix,
                     i + 1, suffix[k]);
            if (cr_mrc_write(path, img[k], o.nx, o.ny, 1, (float)o.apix, label) != CR_OK) goto done;
        }
        char name[512];
        snprintf(name, sizeof name, "micrographs/%s_%04d_DW.mrc", prefix, i + 1);
        if (!(names[i] = strdup(name))) {
            cr_fail(CR_ERR_NOMEM, "out of memory");
            goto done;
        }
        cr_debug("%s: %d particles, defocus %.0f/%.0f A at %.1f deg", name, plans[i].nparticles,
                 plans[i].ctf.defocus_u, plans[i].ctf.defocus_v, plans[i].ctf.defocus_angle);
        cr_progress_update(&prog, i + 1);
    }
    snprintf(path, sizeof path, "%s/micrographs.star", outdir);
    if (cr_sim_write_star(path, &o, plans, (const char *const *)names, count) != CR_OK) goto done;
    rc = CR_EXIT_OK;
done:
    if (progress_on) cr_progress_end(&prog);
    if (rc != CR_EXIT_OK) cr_cli_fail();
    for (int i = 0; i < count && plans && names; i++) {
        cr_sim_plan_clear(&plans[i]);
        free(names[i]);
    }
    free(plans);
    free(names);
    for (int k = 0; k < 4; k++) free(img[k]);
    cr_simulator_free(sim);
    cr_specimen_free(sp);
    cr_runtime_free(rt);
    return rc;
}

const cr_command cr_cmd_simulate = {"simulate", run_simulate, "synthetic even/odd micrographs with ground truth",
                                    simulate_usage};
