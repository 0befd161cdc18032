/* Dispatch table, the --help and --version of the program and of every
 * command, and the getopt_long every command parses its options with,
 * which adds the global ones (--device, --quiet, --verbose). */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/dist.h"
#include "clrestore/log.h"
#include "clrestore/status.h"

static const cr_command *const cr_commands[] = {
    &cr_cmd_devices,
    &cr_cmd_info,
    &cr_cmd_simulate,
    &cr_cmd_prepare,
    &cr_cmd_train,
    &cr_cmd_denoise,
    &cr_cmd_snr,
    &cr_cmd_evaluate,
    &cr_cmd_bench,
    &cr_cmd_tune,
    &cr_cmd_import,
    &cr_cmd_star_merge,
};
#define CR_NCOMMANDS (sizeof cr_commands / sizeof cr_commands[0])

int cr_cli_fail(void)
{
    cr_log_error("%s", cr_error_message()); /* from a worker too, while another builds quietly */
    return CR_EXIT_FAIL;
}

int cr_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    /* every rank parses the same command line: one copy of the message */
    if (cr_dist_rank() > 0) return CR_EXIT_USAGE;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "clrestore: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'clrestore %s --help')\n", cmd);
    va_end(ap);
    return CR_EXIT_USAGE;
}

int cr_opt_double(const char *cmd, const char *opt, const char *val, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = val ? strtod(val, &end) : 0;
    if (!val || end == val || *end || !(v >= lo && v <= hi)) {
        cr_cli_usage_error(cmd, "%s needs a number in [%g, %g], not '%s'", opt, lo, hi, val ? val : "");
        return -1;
    }
    *out = v;
    return 0;
}

int cr_opt_int(const char *cmd, const char *opt, const char *val, long lo, long hi, int *out)
{
    char *end = NULL;
    long v = val ? strtol(val, &end, 10) : 0;
    if (!val || end == val || *end || v < lo || v > hi) {
        cr_cli_usage_error(cmd, "%s needs an integer in [%ld, %ld], not '%s'", opt, lo, hi, val ? val : "");
        return -1;
    }
    *out = (int)v;
    return 0;
}

int cr_opt_u64(const char *cmd, const char *opt, const char *val, unsigned long long *out)
{
    char *end = NULL;
    unsigned long long v = val && *val != '-' ? strtoull(val, &end, 10) : 0;
    if (!val || *val == '-' || end == val || *end) {
        cr_cli_usage_error(cmd, "%s needs a non-negative integer, not '%s'", opt, val ? val : "");
        return -1;
    }
    *out = v;
    return 0;
}

int cr_cli_getopt_error(const char *cmd, int c, char **argv)
{
    if (c == ':') return cr_cli_usage_error(cmd, "%s needs a value", argv[optind - 1]);
    return cr_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
}

static void cr_print_help(FILE *out)
{
    fprintf(out,
            "clrestore %s - noise2noise denoising of cryo-EM micrographs (C + OpenCL)\n\n"
            "usage: clrestore <command> [options]\n\ncommands:\n",
            CLRESTORE_VERSION);
    for (size_t i = 0; i < CR_NCOMMANDS; i++)
        fprintf(out, "  %-14s %s\n", cr_commands[i]->name, cr_commands[i]->summary);
    fprintf(out, "\nglobal options (every command):\n"
                 "  --device D   OpenCL device: index from 'clrestore devices' or a name substring\n"
                 "               (also CLRESTORE_DEVICE); default: first GPU, else first device\n"
                 "  --quiet      no progress or information messages\n"
                 "  --verbose    more detail (kernel builds, cache hits, timings)\n"
                 "  --help       help for a command\n"
                 "  --version    print the version\n");
}

/* The options of the command being run (cr_cli_main's), which
 * cr_cli_getopt fills in; a sink outside cr_cli_main. */
static cr_global_opts no_globals;
static cr_global_opts *cli_globals = &no_globals;

static void set_log_level(const cr_global_opts *g)
{
    int level = g->quiet ? CR_LOG_QUIET : g->verbose ? CR_LOG_VERBOSE : CR_LOG_INFO;
    /* rank 0 alone draws progress and reports; the others print warnings and
     * errors (their own micrographs), and details with --verbose */
    if (cr_dist_rank() > 0 && level == CR_LOG_INFO) level = CR_LOG_QUIET;
    cr_log_set_level(level);
}

enum { OPT_DEVICE = 0x10000 }; /* above every char and every command's codes */

int cr_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, int *longindex)
{
    static const struct option globals[] = {
        {"device", required_argument, NULL, OPT_DEVICE},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
    };
    enum { NGLOBAL = sizeof globals / sizeof globals[0], MAXOPTS = 128 };
    /* the command's table and the global one as one, so that getopt_long
     * sees every option (a value is never taken for an option, and an
     * abbreviation is checked against all names); rebuilt on each call, as
     * the command may change between calls of a process */
    static struct option all[MAXOPTS + NGLOBAL + 1];
    static char shorts[MAXOPTS];
    int n = 0;
    while (longopts && longopts[n].name && n < MAXOPTS) {
        all[n] = longopts[n];
        n++;
    }
    memcpy(all + n, globals, sizeof globals);
    memset(all + n + NGLOBAL, 0, sizeof all[0]);
    snprintf(shorts, sizeof shorts, "%sqv", shortopts);
    cr_global_opts *g = cli_globals;
    for (;;) {
        int c = getopt_long(argc, argv, shorts, all, longindex);
        switch (c) {
        case OPT_DEVICE: g->device = optarg; break;
        case 'q': g->quiet = 1; break;
        case 'v': g->verbose = 1; break;
        case -1: set_log_level(g); return c;
        default: return c;
        }
    }
}

int cr_cli_main(int argc, char **argv)
{
    cr_global_opts g = {0};
    g.device = getenv("CLRESTORE_DEVICE");
    if (g.device && !*g.device) g.device = NULL;

    if (argc < 2) {
        cr_print_help(stderr);
        return CR_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("clrestore %s\n", CLRESTORE_VERSION);
        if (cr_dist_built_with_mpi())
            printf("MPI: yes (%s)\n", cr_dist_library());
        else
            printf("MPI: no (build with -DCLRESTORE_MPI=ON for mpirun/srun)\n");
        return CR_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        cr_print_help(stdout);
        return CR_EXIT_OK;
    }
    const cr_command *cmd = NULL;
    for (size_t i = 0; i < CR_NCOMMANDS; i++)
        if (strcmp(argv[1], cr_commands[i]->name) == 0) cmd = cr_commands[i];
    if (!cmd) {
        fprintf(stderr, "clrestore: unknown command '%s' (see 'clrestore --help')\n", argv[1]);
        return CR_EXIT_USAGE;
    }
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    for (int i = 1; i < sub_argc; i++) {
        if (strcmp(sub_argv[i], "--help") == 0 || strcmp(sub_argv[i], "-h") == 0) {
            fputs(cmd->usage, stdout);
            return CR_EXIT_OK;
        }
    }
    /* the level until the command's options are parsed (cr_cli_getopt) */
    set_log_level(&g);
    cli_globals = &g;
    int rc = cmd->run(sub_argc, sub_argv, &g);
    cli_globals = &no_globals;
    return rc;
}
