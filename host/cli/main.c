/* clrestore entry point: global options, then dispatch to one subcommand. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
    /* Past a file-size limit (ulimit -f) the kernel sends SIGXFSZ, whose
     * default kills the process mid-write; ignored, write() fails with EFBIG
     * and the writer reports the file and "File too large" like any other
     * write error. */
    signal(SIGXFSZ, SIG_IGN);
    return cr_cli_main(argc, argv);
}
