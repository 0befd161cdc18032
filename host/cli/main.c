/* clrestore entry point: global options, then dispatch to one subcommand. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clrestore/dist.h"

int main(int argc, char **argv)
{
    /* Past a file-size limit (ulimit -f) the kernel sends SIGXFSZ, whose
     * default kills the process mid-write; ignored, write() fails with EFBIG
     * and the writer reports the file and "File too large" like any other
     * write error. */
    signal(SIGXFSZ, SIG_IGN);
    /* MPI only under a launcher (mpirun, srun); a plain run never starts it */
    if (cr_dist_init(&argc, &argv) != CR_OK) {
        fprintf(stderr, "clrestore: %s\n", cr_error_message());
        cr_dist_finalize(CR_EXIT_FAIL);
        return CR_EXIT_FAIL;
    }
    int rc = cr_cli_main(argc, argv);
    cr_dist_finalize(rc);
    return rc;
}
