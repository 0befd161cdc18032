/* clrestore info: placeholder until the readers land. */
#include "cli.h"
static int run_info(int argc, char **argv, const cr_global_opts *g) { return 0; }
const cr_command cr_cmd_info = {"info", run_info, "describe MRC, STAR and HDF5 files", "usage: clrestore info FILE...\n"};
