/* Durations as people and batch schedulers write them: "90m", "45s", "2h",
 * "1h30m", and the forms of Slurm's sbatch --time ("MM", "MM:SS",
 * "HH:MM:SS", "D-HH", "D-HH:MM", "D-HH:MM:SS"). */
#ifndef CLRESTORE_DURATION_H
#define CLRESTORE_DURATION_H

#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parses s into seconds (> 0, at most 1000 days). Unit form: numbers (a
 * decimal fraction allowed) each followed by d, h, m or s, units in that
 * order and each at most once. Slurm form: integers only; a bare number is
 * minutes, as in sbatch; fields after the first are below 60 (minutes,
 * seconds) or 24 (hours after "D-"). On error, CR_ERR_ARG with a one-line
 * message quoting s. */
cr_status cr_parse_duration(const char *s, double *seconds);

#ifdef __cplusplus
}
#endif
#endif
