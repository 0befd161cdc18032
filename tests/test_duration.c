/* --time-limit's duration parser: every accepted form against hand-computed
 * seconds, and rejects with a one-line message that quotes the input. */
#include "clrestore/duration.h"
#include "testutil.h"

typedef struct good {
    const char *s;
    double seconds; /* by hand */
} good;

static const good GOOD[] = {
    {"90m", 5400},
    {"45s", 45},
    {"2h", 7200},
    {"1h30m", 5400},
    {"1d", 86400},
    {"1d2h3m4s", 93784},
    {"2h15s", 7215},
    {"1.5h", 5400},
    {"0.5s", 0.5},
    {"90m30s", 5430},
    {"36h", 129600},
    /* Slurm sbatch --time */
    {"90", 5400},         /* minutes */
    {"5:30", 330},        /* minutes:seconds */
    {"90:00", 5400},      /* minutes unbounded in the first field */
    {"11:30:00", 41400},  /* hours:minutes:seconds */
    {"48:00:00", 172800}, /* hours unbounded in the first field */
    {"00:00:05", 5},
    {"2-12", 216000},       /* days-hours */
    {"1-02:30", 95400},     /* days-hours:minutes */
    {"2-02:30:00", 181800}, /* days-hours:minutes:seconds */
    {"0-00:00:01", 1},
    {"1000-00", 86400000}, /* the maximum */
};

static const char *BAD[] = {
    "",      "0",    "0s",  "00:00", "0-00",    "abc",           "h",         "1x",      "1h1h",
    "30m1h", "1h30", "1.h", ".5h",   "1.5",     "1:2:3:4",       "1-2:3:4:5", "-5",      "5-",
    "1-2-3", ":30",  "30:", "1::2",  "1:60",    "1:00:60",       "1-24",      "1-23:60", " 1h",
    "1h ",   "1 h",  "+5",  "1e3s",  "1001-00", "9999999999999", "1h-30m",    "1-1h",
};

int main(void)
{
    for (size_t i = 0; i < sizeof GOOD / sizeof GOOD[0]; i++) {
        double v = -1;
        cr_status st = cr_parse_duration(GOOD[i].s, &v);
        CHECK_MSG(st == CR_OK, "'%s' rejected: %s", GOOD[i].s, cr_error_message());
        CHECK_MSG(v == GOOD[i].seconds, "'%s' = %g s, expected %g", GOOD[i].s, v, GOOD[i].seconds);
    }
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        double v = -1;
        cr_status st = cr_parse_duration(BAD[i], &v);
        CHECK_MSG(st == CR_ERR_ARG, "'%s' accepted as %g s", BAD[i], v);
        CHECK_MSG(v == -1, "'%s': output written on error", BAD[i]);
        const char *m = cr_error_message();
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", BAD[i]);
        CHECK_MSG(strstr(m, quoted) && !strchr(m, '\n'), "'%s': message '%s'", BAD[i], m);
    }
    CHECK(cr_parse_duration(NULL, &(double){0}) == CR_ERR_ARG);
    printf("test_duration: %d checks, %d failed\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}
