/* Duration parser for --time-limit: unit suffixes ("1h30m") and the time
 * formats of Slurm's sbatch --time (its man page lists "minutes",
 * "minutes:seconds", "hours:minutes:seconds", "days-hours",
 * "days-hours:minutes" and "days-hours:minutes:seconds"). */
#include "clrestore/duration.h"

#include <ctype.h>
#include <string.h>

#define FORMS "use e.g. 90m, 45s, 2h, 1h30m, or Slurm's MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS"
#define MAX_SECONDS (1000.0 * 86400)

static cr_status bad(const char *s, const char *why)
{
    return cr_fail(CR_ERR_ARG, "'%s' is not a duration (%s): " FORMS, s, why);
}

/* Reads a run of digits as an integer; -1 when there is none or it is absurd. */
static double digits(const char **p)
{
    const char *q = *p;
    double v = 0;
    int n = 0;
    while (isdigit((unsigned char)*q) && n < 12)
        v = v * 10 + (*q++ - '0'), n++;
    if (n == 0 || isdigit((unsigned char)*q)) return -1;
    *p = q;
    return v;
}

/* "1d2h3m4.5s": each unit once, in decreasing order. */
static cr_status parse_units(const char *s, double *out)
{
    static const char units[] = "dhms";
    static const double scale[] = {86400, 3600, 60, 1};
    const char *p = s;
    int next = 0; /* index into units of the smallest unit still allowed */
    double total = 0;
    while (*p) {
        double v = digits(&p);
        if (v < 0) return bad(s, "a number must come before each unit");
        if (*p == '.') {
            double f = 0.1;
            p++;
            if (!isdigit((unsigned char)*p)) return bad(s, "a digit must follow the decimal point");
            for (; isdigit((unsigned char)*p); p++, f /= 10)
                v += (*p - '0') * f;
        }
        const char *u = *p ? strchr(units, *p) : NULL;
        if (!u) return bad(s, *p ? "unknown unit" : "a unit (d, h, m, s) must follow the last number");
        int k = (int)(u - units);
        if (k < next) return bad(s, "units must appear once each, largest first");
        next = k + 1;
        total += v * scale[k];
        p++;
    }
    *out = total;
    return CR_OK;
}

/* Slurm: [D-]fields, integers only. */
static cr_status parse_slurm(const char *s, double *out)
{
    const char *p = s;
    double f[3];
    int n = 0, days = -1;
    const char *dash = strchr(s, '-');
    if (dash) {
        double d = digits(&p);
        if (d < 0 || p != dash) return bad(s, "days must be a number before '-'");
        days = (int)d;
        p++;
    }
    for (;;) {
        if (n == 3) return bad(s, "too many ':' fields");
        f[n] = digits(&p);
        if (f[n] < 0) return bad(s, "each field must be a number");
        n++;
        if (*p == '\0') break;
        if (*p != ':') return bad(s, "unexpected character");
        p++;
    }
    double secs;
    if (days >= 0) {
        /* D-HH, D-HH:MM, D-HH:MM:SS */
        if (f[0] >= 24) return bad(s, "hours after 'D-' must be below 24");
        for (int i = 1; i < n; i++)
            if (f[i] >= 60) return bad(s, "minutes and seconds must be below 60");
        secs = days * 86400.0 + f[0] * 3600 + (n > 1 ? f[1] * 60 : 0) + (n > 2 ? f[2] : 0);
    } else {
        /* MM, MM:SS, HH:MM:SS: the first field is unbounded, as in sbatch */
        for (int i = 1; i < n; i++)
            if (f[i] >= 60) return bad(s, "minutes and seconds must be below 60");
        if (n == 1)
            secs = f[0] * 60;
        else if (n == 2)
            secs = f[0] * 60 + f[1];
        else
            secs = f[0] * 3600 + f[1] * 60 + f[2];
    }
    *out = secs;
    return CR_OK;
}

cr_status cr_parse_duration(const char *s, double *seconds)
{
    if (!s || !*s) return cr_fail(CR_ERR_ARG, "'' is not a duration: " FORMS);
    double v = 0;
    int units = 0;
    for (const char *p = s; *p; p++) {
        if (isalpha((unsigned char)*p) || *p == '.')
            units = 1;
        else if (!isdigit((unsigned char)*p) && *p != ':' && *p != '-')
            return bad(s, "unexpected character");
    }
    cr_status st = units ? parse_units(s, &v) : parse_slurm(s, &v);
    if (st != CR_OK) return st;
    if (!(v > 0)) return bad(s, "it must be longer than zero");
    if (v > MAX_SECONDS) return bad(s, "longer than 1000 days");
    *seconds = v;
    return CR_OK;
}
