/* Wall-clock budget of a training run and the best epoch of its history
 * (see train_budget.h; the rules are in docs/training.md). */
#include "train_budget.h"

#include <math.h>

#include "clrestore/train.h"

void cr_budget_start(cr_budget *b, double limit, double used_before, double t0, double now,
                     int64_t val_batches, double save_guess)
{
    b->startup = now - t0;
    b->limit = limit;
    b->used_before = used_before;
    b->t0 = t0;
    b->steps = 0;
    b->step_first = 0;
    b->step_max = 0;
    b->validation = -1;
    b->save = -1;
    b->val_batches = val_batches;
    b->save_guess = save_guess;
}

double cr_budget_elapsed(const cr_budget *b, double now)
{
    return b->used_before + (now - b->t0);
}

void cr_budget_step(cr_budget *b, double seconds)
{
    if (b->steps++ == 0)
        b->step_first = seconds;
    else if (seconds > b->step_max)
        b->step_max = seconds;
}

double cr_budget_reserve(const cr_budget *b)
{
    double step = b->steps > 1 ? b->step_max : b->steps == 1 ? b->step_first : b->startup;
    /* before the first validation: one forward per validation batch, each
     * taken as long as a training step (forward + backward + update), an
     * overestimate of about 3x; not from the first step alone, whose
     * warm-up (kernel builds, first allocations) can be 10x a step */
    double val = b->validation >= 0 ? b->validation : b->steps > 1 ? (double)b->val_batches * step : 0;
    double save = b->save >= 0 ? b->save : b->save_guess;
    return 1.5 * (step + val + save) + 0.25;
}

int cr_budget_over(const cr_budget *b, double now)
{
    return b->limit > 0 && cr_budget_elapsed(b, now) + cr_budget_reserve(b) >= b->limit;
}

double cr_train_lr_at(double base, double fraction)
{
    int quarter = fraction > 0 ? (int)(4 * fraction) : 0;
    if (quarter > 3) quarter = 3;
    return base / (double)(1 << quarter);
}

int cr_best_epoch(const double *history, int columns, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        double v = history[(size_t)i * columns + 2];
        if (isnan(v)) continue; /* a diverged epoch is never the best */
        if (best < 0 || v < history[(size_t)best * columns + 2]) best = i;
    }
    return best < 0 ? 0 : (int)history[(size_t)best * columns];
}
