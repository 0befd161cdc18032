/* clrestore star-merge -o OUT.star SHARD.star...: joins the listings of
 * `denoise --shard I/N` runs (host/pipeline/star_merge.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clrestore/log.h"
#include "clrestore/star_merge.h"

static const char star_merge_usage[] =
    "usage: clrestore star-merge -o OUT.star LISTING.star...\n\n"
    "Joins the STAR listings that 'denoise --shard I/N' runs wrote\n"
    "(denoised_micrographs.shard_I_of_N.star) into the listing one run over all\n"
    "micrographs writes, byte for byte: the first listing's tables, then the rows of\n"
    "the others' micrograph tables. Listings named *.shard_I_of_N.star are taken in\n"
    "shard order and all N must be given; other names are joined in the order given.\n"
    "The optics tables must agree.\n\n"
    "  -o, --output FILE   the merged listing (e.g. OUTDIR/denoised_micrographs.star)\n";

static int run_star_merge(int argc, char **argv, const cr_global_opts *g)
{
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = cr_cli_getopt(argc, argv, ":o:", longopts, NULL)) != -1) {
        if (c != 'o') return cr_cli_getopt_error("star-merge", c, argv);
        out = optarg;
    }
    int n = argc - optind;
    if (!out) return cr_cli_usage_error("star-merge", "-o OUT.star is required");
    if (n == 0) return cr_cli_usage_error("star-merge", "no listings to merge");
    int rows = 0;
    if (cr_star_merge((const char *const *)argv + optind, n, out, &rows) != CR_OK) return cr_cli_fail();
    cr_info("%s: %d micrographs from %d listing%s", out, rows, n, n == 1 ? "" : "s");
    return CR_EXIT_OK;
}

const cr_command cr_cmd_star_merge = {"star-merge", run_star_merge, "join the STAR listings of sharded denoise runs",
                                      star_merge_usage};
