/* clrestore devices: the OpenCL platforms and devices this machine offers,
 * with the index that --device accepts. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clrestore/runtime.h"
#include "clrestore/tune.h"

static const char devices_usage[] =
    "usage: clrestore devices\n\n"
    "Lists OpenCL platforms and devices: index (for --device), type, compute units,\n"
    "global memory, largest buffer, OpenCL C version and double-precision support.\n"
    "The device marked '*' is the one used when --device is not given. With -v (global\n"
    "--verbose) also vendor, versions, local memory, and the convolution parameters per\n"
    "shape class with their source (tuning cache file, built-in entry or fallback).\n";

/* "OpenCL C 1.2 pocl" -> "1.2" */
static const char *c_version_number(const char *s)
{
    const char *p = strstr(s, "OpenCL C ");
    return p ? p + 9 : s;
}

static int run_devices(int argc, char **argv, const cr_global_opts *g)
{
    static const struct option longopts[] = {{NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    opterr = 0;
    if ((c = cr_cli_getopt(argc, argv, ":", longopts, NULL)) != -1) return cr_cli_getopt_error("devices", c, argv);
    if (optind < argc) return cr_cli_usage_error("devices", "unexpected argument '%s'", argv[optind]);
    cr_device_desc *list = NULL;
    int n = 0, def = -1;
    if (cr_devices_list(&list, &n) != 0) return cr_cli_fail();
    if (n == 0) {
        free(list);
        fprintf(stderr, "clrestore: no OpenCL devices found: install an OpenCL driver "
                        "(CPU: Debian package pocl-opencl-icd)\n");
        return CR_EXIT_FAIL;
    }
    if (cr_device_select(list, n, g->device, &def) != 0) def = -1;
    printf("%-3s %-5s %-4s %10s %10s %-8s %-4s  %s\n", "#", "type", "CUs", "memory", "max-alloc", "OpenCL-C",
           "fp64", "platform / device");
    int last_platform = -1;
    for (int i = 0; i < n; i++) {
        const cr_device_desc *d = &list[i];
        if (d->platform_index != last_platform) last_platform = d->platform_index;
        char ver[16];
        snprintf(ver, sizeof ver, "%.8s", c_version_number(d->c_version));
        ver[strcspn(ver, " ")] = '\0';
        printf("%c%-2d %-5s %-4u %6.1f GiB %6.1f GiB %-8s %-4s  %s / %s\n", i == def ? '*' : ' ', d->index,
               cr_device_type_name(d->type), d->compute_units, (double)d->global_mem / (1 << 30),
               (double)d->max_alloc / (1 << 30), ver, d->fp64 ? "yes" : "no", d->platform_name, d->device_name);
        if (g->verbose)
            printf("      vendor %s; %s; driver %s; local memory %lu KiB; max work-group %zu\n", d->vendor,
                   d->device_version, d->driver_version, (unsigned long)(d->local_mem / 1024), d->max_work_group);
        if (g->verbose) {
            cr_conv_param_row rows[CR_TUNE_MAX_CLASSES];
            int nrows = 0;
            char cache[4096];
            cr_conv_params_cache_file(d, cache, sizeof cache);
            printf("      convolution parameters (tuning cache %s):\n", cache[0] ? cache : "none");
            cr_conv_params_report(d, rows, &nrows);
            for (int r = 0; r < nrows; r++)
                printf("        %-10s %s\n                   from %s\n", rows[r].cls, rows[r].params, rows[r].source);
        }
    }
    free(list);
    if (g->device && def < 0) {
        fprintf(stderr, "clrestore: --device %s matches none of these\n", g->device);
        return CR_EXIT_FAIL;
    }
    return CR_EXIT_OK;
}

const cr_command cr_cmd_devices = {"devices", run_devices, "list OpenCL platforms and devices", devices_usage};
