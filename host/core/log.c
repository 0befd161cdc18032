/* stderr logging, the TTY progress line, and the one way third-party OpenCL
 * builds are kept off the terminal (cr_log_quiet_call). */
#include "clrestore/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cr_level = CR_LOG_INFO;

void cr_log_set_level(int level) { cr_level = level; }
int cr_log_level(void) { return cr_level; }

/* While some thread runs a quiet call, fd 2 is /dev/null and cr_real_fd a
 * copy of the real stderr; our own lines go there, so a warning or error
 * from another thread (denoise --devices) is not lost with the compiler's.
 * One lock orders every line against the switch. */
static pthread_mutex_t cr_err_lock = PTHREAD_MUTEX_INITIALIZER;
static int cr_mute_depth = 0, cr_real_fd = -1;

static void cr_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return; /* nowhere left to report it */
        p += w;
        n -= (size_t)w;
    }
}

/* prefix, the formatted text and (newline) a '\n', as one line of stderr. */
static void cr_emit(const char *prefix, int newline, const char *fmt, va_list ap)
{
    char small[1024], *buf = small;
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof small) {
        buf = malloc((size_t)n + 1);
        if (buf)
            vsnprintf(buf, (size_t)n + 1, fmt, aq);
        else
            buf = small, n = (int)sizeof small - 1; /* the truncated text, rather than none */
    }
    va_end(aq);
    pthread_mutex_lock(&cr_err_lock);
    if (cr_real_fd >= 0) {
        cr_write_all(cr_real_fd, prefix, strlen(prefix));
        cr_write_all(cr_real_fd, buf, (size_t)n);
        if (newline) cr_write_all(cr_real_fd, "\n", 1);
    } else {
        fputs(prefix, stderr);
        fwrite(buf, 1, (size_t)n, stderr);
        if (newline) fputc('\n', stderr);
        fflush(stderr);
    }
    pthread_mutex_unlock(&cr_err_lock);
    if (buf != small) free(buf);
}

static void cr_emitf(const char *prefix, int newline, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cr_emitf(const char *prefix, int newline, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cr_emit(prefix, newline, fmt, ap);
    va_end(ap);
}

void cr_info(const char *fmt, ...)
{
    if (cr_level < CR_LOG_INFO) return;
    va_list ap;
    va_start(ap, fmt);
    cr_emit("clrestore: ", 1, fmt, ap);
    va_end(ap);
}

void cr_debug(const char *fmt, ...)
{
    if (cr_level < CR_LOG_VERBOSE) return;
    va_list ap;
    va_start(ap, fmt);
    cr_emit("clrestore: ", 1, fmt, ap);
    va_end(ap);
}

void cr_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cr_emit("clrestore: warning: ", 1, fmt, ap);
    va_end(ap);
}

void cr_log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cr_emit("clrestore: ", 1, fmt, ap);
    va_end(ap);
}

/* on: fd 2 to /dev/null (the first of nested calls); off: back (the last). */
static void cr_mute(int on)
{
    pthread_mutex_lock(&cr_err_lock);
    fflush(stderr);
    if (on && cr_mute_depth++ == 0) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        int saved = null >= 0 ? fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3) : -1;
        if (saved >= 0 && dup2(null, STDERR_FILENO) >= 0)
            cr_real_fd = saved;
        else if (saved >= 0)
            close(saved); /* cannot mute: the chatter shows, nothing breaks */
        if (null >= 0) close(null);
    } else if (!on && cr_mute_depth > 0 && --cr_mute_depth == 0 && cr_real_fd >= 0) {
        dup2(cr_real_fd, STDERR_FILENO);
        close(cr_real_fd);
        cr_real_fd = -1;
    }
    pthread_mutex_unlock(&cr_err_lock);
}

int cr_log_quiet_call(int (*fn)(void *arg), void *arg)
{
    if (cr_level >= CR_LOG_VERBOSE) return fn(arg);
    cr_mute(1);
    int r = fn(arg);
    cr_mute(0);
    return r;
}

double cr_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void cr_progress_draw(cr_progress *p, int final)
{
    double t = cr_now(), el = t - p->t_start;
    double rate = el > 0 ? (double)p->done / el : 0.0;
    double eta = (rate > 0 && p->total > p->done) ? (double)(p->total - p->done) / rate : 0.0;
    int pct = p->total > 0 ? (int)(100.0 * (double)p->done / (double)p->total) : 0;
    cr_emitf("\r\033[K", final, "%s %3d%% %lld/%lld  %.2f %s/s  ETA %02d:%02d%s%s", p->label, pct,
             (long long)p->done, (long long)p->total, rate, p->unit, (int)(eta / 60), (int)eta % 60,
             p->extra[0] ? "  " : "", p->extra);
    p->t_last_draw = t;
}

void cr_progress_begin(cr_progress *p, const char *label, const char *unit, int64_t total)
{
    memset(p, 0, sizeof *p);
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->t_start = p->t_last_draw = cr_now();
    pthread_mutex_lock(&cr_err_lock);
    p->active = cr_level >= CR_LOG_INFO && isatty(cr_real_fd >= 0 ? cr_real_fd : STDERR_FILENO);
    pthread_mutex_unlock(&cr_err_lock);
    if (p->active) cr_progress_draw(p, 0);
}

void cr_progress_update(cr_progress *p, int64_t done)
{
    p->done = done;
    if (p->active && cr_now() - p->t_last_draw > 0.25) cr_progress_draw(p, 0);
}

void cr_progress_end(cr_progress *p)
{
    if (p->active) cr_progress_draw(p, 1);
    p->active = 0;
}
