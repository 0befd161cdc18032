/* clrestore devices: placeholder until the runtime lands. */
#include "cli.h"
static int run_devices(int argc, char **argv, const cr_global_opts *g) { return 0; }
const cr_command cr_cmd_devices = {"devices", run_devices, "list OpenCL platforms and devices", "usage: clrestore devices\n"};
