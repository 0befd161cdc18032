/* Minimal test harness: CHECK macros that count failures, a skip exit code
 * (77, which ctest reports as skipped), and the shared-data locator. */
#ifndef CLRESTORE_TESTUTIL_H
#define CLRESTORE_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrestore/status.h"

static int test_failures = 0;
static int test_checks = 0;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        test_checks++;                                                                 \
        if (!(cond)) {                                                                 \
            test_failures++;                                                           \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);             \
        }                                                                              \
    } while (0)

#define CHECK_MSG(cond, ...)                                                           \
    do {                                                                               \
        test_checks++;                                                                 \
        if (!(cond)) {                                                                 \
            test_failures++;                                                           \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);             \
            fprintf(stderr, __VA_ARGS__);                                              \
            fputc('\n', stderr);                                                       \
        }                                                                              \
    } while (0)

/* |a - b| <= tol (absolute). */
#define CHECK_NEAR(a, b, tol)                                                          \
    do {                                                                               \
        double ca_ = (double)(a), cb_ = (double)(b), ct_ = (double)(tol);              \
        test_checks++;                                                                 \
        if (!(fabs(ca_ - cb_) <= ct_)) {                                               \
            test_failures++;                                                           \
            fprintf(stderr, "FAIL %s:%d: %s = %.9g, expected %s = %.9g (tol %.3g)\n",   \
                    __FILE__, __LINE__, #a, ca_, #b, cb_, ct_);                        \
        }                                                                              \
    } while (0)

/* |a - b| <= rel * max(|b|, tiny). */
#define CHECK_REL(a, b, rel)                                                           \
    do {                                                                               \
        double ca_ = (double)(a), cb_ = (double)(b), cr_ = (double)(rel);              \
        double den_ = fabs(cb_) > 1e-30 ? fabs(cb_) : 1e-30;                           \
        test_checks++;                                                                 \
        if (!(fabs(ca_ - cb_) / den_ <= cr_)) {                                        \
            test_failures++;                                                           \
            fprintf(stderr, "FAIL %s:%d: %s = %.9g, expected %s = %.9g (rel %.3g)\n",   \
                    __FILE__, __LINE__, #a, ca_, #b, cb_, cr_);                        \
        }                                                                              \
    } while (0)

#define CHECK_OK(expr)                                                                 \
    do {                                                                               \
        int st_ = (int)(expr);                                                         \
        test_checks++;                                                                 \
        if (st_ != CR_OK) {                                                            \
            test_failures++;                                                           \
            fprintf(stderr, "FAIL %s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #expr,    \
                    cr_status_str(st_), cr_error_message());                           \
        }                                                                              \
    } while (0)

/* The shared data directory, or NULL after printing a visible skip notice. */
static inline const char *test_shared_data(void)
{
    const char *d = getenv("CLRESTORE_SHARED_DATA");
    FILE *fp = NULL;
    char probe[4096];
    if (d && *d) {
        snprintf(probe, sizeof probe, "%s/SOURCES.md", d);
        fp = fopen(probe, "r");
    }
    if (!fp) {
        printf("SKIP: shared test data not found (CLRESTORE_SHARED_DATA=%s)\n", d ? d : "(unset)");
        return NULL;
    }
    fclose(fp);
    return d;
}

static inline int test_finish(const char *name)
{
    printf("%s: %d checks, %d passed, %d failed\n", name, test_checks,
           test_checks - test_failures, test_failures);
    return test_failures ? 1 : 0;
}

#endif
