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
/* Always printed, prefixed "clrestore: ": an error being reported (host/cli). */
void cr_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs fn(arg) and returns its result; below CR_LOG_VERBOSE with fd 2 on
 * /dev/null meanwhile, restored when fn returns, whatever it returns. For
 * the OpenCL builds whose options are not ours (clFFT's plan bakes, VkFFT's
 * initialisation): PoCL's clang prints "N warnings generated." on
 * stderr, and clFFT its cache-directory complaints; nothing
 * of that may reach the terminal unless --verbose. Our own lines printed
 * meanwhile, from any thread, still go to the real stderr. Nests, and is
 * thread-safe. Our own programs are quiet by their build options instead
 * (host/runtime/program.c). */
int cr_log_quiet_call(int (*fn)(void *arg), void *arg);

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
