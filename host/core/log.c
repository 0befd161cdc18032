/* stderr logging and the TTY progress line. */
#include "clrestore/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cr_level = CR_LOG_INFO;

void cr_log_set_level(int level) { cr_level = level; }
int cr_log_level(void) { return cr_level; }

static void cr_vlog(const char *fmt, va_list ap)
{
    fputs("clrestore: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cr_info(const char *fmt, ...)
{
    if (cr_level < CR_LOG_INFO) return;
    va_list ap;
    va_start(ap, fmt);
    cr_vlog(fmt, ap);
    va_end(ap);
}

void cr_debug(const char *fmt, ...)
{
    if (cr_level < CR_LOG_VERBOSE) return;
    va_list ap;
    va_start(ap, fmt);
    cr_vlog(fmt, ap);
    va_end(ap);
}

void cr_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("clrestore: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
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
    fprintf(stderr, "\r\033[K%s %3d%% %lld/%lld  %.2f %s/s  ETA %02d:%02d%s%s", p->label, pct,
            (long long)p->done, (long long)p->total, rate, p->unit, (int)(eta / 60),
            (int)eta % 60, p->extra[0] ? "  " : "", p->extra);
    if (final) fputc('\n', stderr);
    fflush(stderr);
    p->t_last_draw = t;
}

void cr_progress_begin(cr_progress *p, const char *label, const char *unit, int64_t total)
{
    memset(p, 0, sizeof *p);
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->t_start = p->t_last_draw = cr_now();
    p->active = cr_level >= CR_LOG_INFO && isatty(STDERR_FILENO);
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
