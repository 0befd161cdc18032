/* clrestore entry point: global options, then dispatch to one subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
    return cr_cli_main(argc, argv);
}
