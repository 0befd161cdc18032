/* The time budget of train --time-limit: the time-based learning-rate
 * schedule against hand values and against the epoch schedule at the same
 * fractions, the reserve kept for ending cleanly from given step,
 * validation and save times (hand-computed), and the best epoch of a
 * history (ties, NaN). */
#include <math.h>

#include "../host/pipeline/train_budget.h"
#include "clrestore/train.h"
#include "testutil.h"

static void test_schedule(void)
{
    static const double f[] = {-1, 0, 0.1, 0.2499, 0.25, 0.4, 0.5, 0.7499, 0.75, 0.9, 1.0, 2.0};
    static const double want[] = {1, 1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.125, 0.125};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        CHECK_MSG(cr_train_lr_at(1e-4, f[i]) == 1e-4 * want[i], "f %g: %g", f[i], cr_train_lr_at(1e-4, f[i]));
    /* the same quarters as the epoch schedule at fraction epoch/epochs */
    for (int epochs = 1; epochs <= 200; epochs++)
        for (int e = 0; e < epochs; e++)
            CHECK_MSG(cr_train_lr(1e-3, e, epochs) == cr_train_lr_at(1e-3, (double)e / epochs),
                      "epoch %d of %d", e, epochs);
}

static void test_budget(void)
{
    cr_budget b;
    /* 100 s budget, 10 s used by an earlier invocation, this one started at
     * clock 1000 and reached its first step at 1003, 4 validation batches, a
     * save guessed at 2 s */
    cr_budget_start(&b, 100, 10, 1000, 1003, 4, 2);
    CHECK_NEAR(cr_budget_elapsed(&b, 1005), 15, 1e-12);
    CHECK_NEAR(cr_budget_reserve(&b), 1.5 * (3 + 2) + 0.25,
               1e-12);     /* nothing measured: start-up and save guess */
    cr_budget_step(&b, 5); /* first step, with warm-up */
    CHECK_NEAR(cr_budget_reserve(&b), 1.5 * (5 + 0 + 2) + 0.25, 1e-12);
    cr_budget_step(&b, 0.1);
    cr_budget_step(&b, 0.2);
    cr_budget_step(&b, 0.15);
    /* the longest step after the first; validation estimated as 4 steps */
    CHECK_NEAR(cr_budget_reserve(&b), 1.5 * (0.2 + 4 * 0.2 + 2) + 0.25, 1e-12);
    b.validation = 0.5;
    b.save = 0.3;
    double r = 1.5 * (0.2 + 0.5 + 0.3) + 0.25;
    CHECK_NEAR(cr_budget_reserve(&b), r, 1e-12);
    /* over once elapsed + reserve reaches the limit: elapsed = 10 + (now - 1000) */
    CHECK(!cr_budget_over(&b, 1090 - r - 1e-6));
    CHECK(cr_budget_over(&b, 1090 - r + 1e-6));
    CHECK(cr_budget_over(&b, 2000));
    b.limit = 0; /* no time limit */
    CHECK(!cr_budget_over(&b, 1e9));
}

static void test_best_epoch(void)
{
    /* rows: epoch, train loss, validation loss, lr */
    double h[][4] = {{1, 0, 0.9, 0}, {2, 0, 0.7, 0}, {3, 0, 0.8, 0},
                     {4, 0, 0.7, 0}, {5, 0, NAN, 0}, {6, 0, 0.6, 0}};
    CHECK(cr_best_epoch(&h[0][0], 4, 0) == 0);
    CHECK(cr_best_epoch(&h[0][0], 4, 1) == 1);
    CHECK(cr_best_epoch(&h[0][0], 4, 3) == 2);
    CHECK(cr_best_epoch(&h[0][0], 4, 4) == 2); /* a tie keeps the earlier epoch */
    CHECK(cr_best_epoch(&h[0][0], 4, 5) == 2); /* NaN never best */
    CHECK(cr_best_epoch(&h[0][0], 4, 6) == 6);
    double nan1[][4] = {{1, 0, NAN, 0}, {2, 0, 0.5, 0}};
    CHECK(cr_best_epoch(&nan1[0][0], 4, 1) == 0);
    CHECK(cr_best_epoch(&nan1[0][0], 4, 2) == 2);
}

int main(void)
{
    test_schedule();
    test_budget();
    test_best_epoch();
    printf("test_train_budget: %d checks, %d failed\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}
