/* Logging to stderr with a global verbosity, and a TTY progress line.
 * Results go to stdout; everything here goes to stderr. */
#ifndef CLRESTORE_LOG_H
#define CLRESTORE_LOG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { CR_LOG_QUIET = 0, CR_LOG_INFO = 1, CR_LOG_VERBOSE = 2 };

void cr_log_set_level(int level);
int cr_log_level(void);
/* Printed at CR_LOG_INFO and above, prefixed "clrestore: ". */
void cr_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed at CR_LOG_VERBOSE only. */
void cr_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Always printed (quiet too): something the user should act on. */
void cr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A progress line for long work: "label  done/total  rate unit/s  ETA mm:ss".
 * Drawn only when stderr is a TTY and the level is not quiet; otherwise silent.
 * Redraws at most a few times a second. */
typedef struct cr_progress {
    const char *label;
    const char *unit;
    int64_t total;
    int64_t done;
    double t_start, t_last_draw;
    int active;
    char extra[96]; /* e.g. "loss 0.913" shown after the rate */
} cr_progress;

void cr_progress_begin(cr_progress *p, const char *label, const char *unit, int64_t total);
void cr_progress_update(cr_progress *p, int64_t done);
void cr_progress_end(cr_progress *p);

/* Seconds since an arbitrary fixed point (monotonic clock). */
double cr_now(void);

#ifdef __cplusplus
}
#endif
#endif
