/* Fuzz inputs as in-memory files: the readers under test take paths (that is
 * the API the CLI uses), so each input is written to one file on the tmpfs
 * /dev/shm (memory; /tmp when there is none), rewritten for every input.
 * The very code path a user's file takes is the one fuzzed. (An anonymous
 * memfd would be neater, but HDF5 resolves the real path of a file it opens
 * and /proc/self/fd/N of a memfd has none.) */
#ifndef CLRESTORE_FUZZ_INPUT_H
#define CLRESTORE_FUZZ_INPUT_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "clrestore/status.h"

/* CLRESTORE_FUZZ_VERBOSE=1 prints why an input was refused: useful to see
 * whether seeds get past the first checks. Returns st. */
static cr_status fuzz_report(cr_status st)
{
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("CLRESTORE_FUZZ_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "%s\n", st == CR_OK ? "accepted" : cr_error_message());
    return st;
}

static char fuzz_path[128];

static void fuzz_remove_file(void)
{
    if (fuzz_path[0]) unlink(fuzz_path);
}

/* Returns the path of a memory file holding data[0..size), reused across
 * calls (truncated and rewritten), or NULL when it cannot be written. */
static const char *fuzz_memory_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fuzz_path, sizeof fuzz_path, "%s/clrestore-fuzz-%d", dir, (int)getpid());
        fd = open(fuzz_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) return NULL;
        atexit(fuzz_remove_file);
    }
    if (ftruncate(fd, 0) != 0) return NULL;
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(fd, data + done, size - done, (off_t)done);
        if (w <= 0) return NULL;
        done += (size_t)w;
    }
    return fuzz_path;
}

#endif
