/* The subcommand table and the options every subcommand shares. */
#ifndef CLRESTORE_CLI_H
#define CLRESTORE_CLI_H

/* Exit codes (PRODUCT.md): 0 success, 1 failure while running, 2 bad usage. */
enum { CR_EXIT_OK = 0, CR_EXIT_FAIL = 1, CR_EXIT_USAGE = 2 };

typedef struct cr_global_opts {
    const char *device; /* --device or CLRESTORE_DEVICE; NULL = default */
    int quiet, verbose;
} cr_global_opts;

typedef struct cr_command {
    const char *name;
    int (*run)(int argc, char **argv, const cr_global_opts *g); /* argv[0] = name */
    const char *summary;
    const char *usage; /* full --help text */
} cr_command;

int cr_cli_main(int argc, char **argv);

/* Prints "clrestore: <message>" for the current error and returns CR_EXIT_FAIL. */
int cr_cli_fail(void);
/* Prints "clrestore: <cmd>: <msg>" plus a hint and returns CR_EXIT_USAGE. */
int cr_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The usage error for getopt_long's ':' (value missing) or '?' (unknown
 * option; opterr = 0 and optstring starting with ':'); returns CR_EXIT_USAGE. */
int cr_cli_getopt_error(const char *cmd, int c, char **argv);

/* getopt_long for a subcommand, which every command parses with: its own
 * options (shortopts starting with ':', as getopt_long takes them) plus
 * the global ones, --device D, --quiet (-q) and --verbose (-v), wherever
 * they stand. It handles the global ones itself, storing them in the
 * cr_global_opts the command was given, and never returns them; when the
 * options end (-1) it sets the log level from them. Start each parse with
 * optind = 1 and opterr = 0. No command may use -q, -v or their names. */
struct option;
int cr_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, int *longindex);

/* Parse an option value; on failure print a usage error and return -1. */
int cr_opt_double(const char *cmd, const char *opt, const char *val, double lo, double hi, double *out);
int cr_opt_int(const char *cmd, const char *opt, const char *val, long lo, long hi, int *out);
int cr_opt_u64(const char *cmd, const char *opt, const char *val, unsigned long long *out);

extern const cr_command cr_cmd_devices;
extern const cr_command cr_cmd_info;
extern const cr_command cr_cmd_simulate;
extern const cr_command cr_cmd_prepare;
extern const cr_command cr_cmd_train;
extern const cr_command cr_cmd_denoise;
extern const cr_command cr_cmd_snr;
extern const cr_command cr_cmd_evaluate;
extern const cr_command cr_cmd_bench;
extern const cr_command cr_cmd_tune;
extern const cr_command cr_cmd_import;
extern const cr_command cr_cmd_star_merge;

#endif
