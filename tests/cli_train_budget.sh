#!/usr/bin/env bash
# train --time-limit, best.h5, --patience and the small-set warning (issue 17):
#  - a run with a few seconds' limit ends before it, with last.h5 equal to its
#    last epoch file, and every epoch's learning rate is the quarter schedule's
#    at the fractions of the budget that history.csv records around it;
#  - a run stopped and resumed (a requeued job) spends one budget in total and
#    keeps to the same schedule;
#  - best.h5 is, byte for byte, the epoch file of the lowest validation loss
#    in history.csv, whose best_epoch column follows the running minimum;
#  - --patience N stops at the first epoch N after the best (computed here
#    from an uncapped run's history) on the same trajectory;
#  - the overfitting warning: once, for a network with too many parameters for
#    the set, with the ratio computed here, and not for a smaller network.
set -u
BIN=${CLRESTORE_BIN:?}
fail=0; checks=0
check() { checks=$((checks + 1)); if [ "$2" != "$3" ]; then echo "FAIL: $1: got $3, expected $2"; fail=$((fail + 1)); fi; }
ok() { checks=$((checks + 1)); if ! eval "$2"; then echo "FAIL: $1"; fail=$((fail + 1)); fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
now() { date +%s.%N; }
# training time recorded in a checkpoint, from `clrestore info`
ck_elapsed() { "$BIN" info "$1" | sed -n 's/.*training time \([0-9.]*\) s of.*/\1/p'; }

"$BIN" simulate -o sim --count 2 --size 512x512 --seed 5 --quiet; check "simulate" 0 $?
"$BIN" prepare -m sim/micrographs.star -o t.h5 --patch 64 --validation-fraction 0.5 --quiet; check "prepare" 0 $?
NET="--levels 2 --blocks 1 --filters 4 --expansion 2 --batches-per-epoch 3 --batch-size 2 --seed 9 --quiet"

# ---- --time-limit: 4 seconds written as Slurm's MM:SS ------------------------
LIMIT=4
t0=$(now)
"$BIN" train -t t.h5 -o T $NET --time-limit 00:04 2>/dev/null; check "timed run" 0 $?
wall=$(echo "$(now) - $t0" | bc)
ok "timed run ended before its limit ($wall s of $LIMIT)" "[ \$(echo '$wall < $LIMIT' | bc) = 1 ]"
n=$(($(wc -l < T/history.csv) - 1))
cmp -s T/last.h5 "T/epoch_$(printf %03d $n).h5"; check "last.h5 is the last epoch's checkpoint" 0 $?
el=$(ck_elapsed T/last.h5)
ok "training time recorded in last.h5 ($el s) is under the limit and in history.csv" \
    "[ -n '$el' ] && [ \$(echo '$el < $LIMIT' | bc) = 1 ] && [ \"\$(tail -1 T/history.csv | cut -d, -f8)\" = '$el' ]"
ok "the run used most of its budget ($el s of $LIMIT)" "[ \$(echo '$el > $LIMIT / 2' | bc) = 1 ]"
# The rate of an epoch's last step is 1e-4 / 2^q, q = min(3, floor(4 f)) at
# the fraction f of the budget used when that step began: after the previous
# epoch ended and before this one did (elapsed_seconds of the two lines).
sched() {
    awk -F, -v T="$2" -v base=1e-4 '
    function q(f) { f = int(4 * f); return f > 3 ? 3 : f }
    NR == 1 { next }
    { lr = $4; k = log(base / lr) / log(2); ki = int(k + 0.5)
      if ($8 == "" || (k - ki) ^ 2 > 1e-6) { print "epoch " $1 ": lr " lr " elapsed " $8; bad++ }
      lo = q(prev / T); hi = q($8 / T)
      if (ki < lo || ki > hi) { print "epoch " $1 ": lr " lr " (quarter " ki ") outside quarters " lo "-" hi; bad++ }
      if (ki < last) { print "epoch " $1 ": the rate went up"; bad++ }
      prev = $8; last = ki; seen[ki] = 1 }
    END { n = 0; for (k in seen) n++; if (n < 2) { print "only " n " rate(s) used"; bad++ }
          exit bad > 0 }' "$1"
}
out=$(sched T/history.csv $LIMIT); check "time-based learning-rate schedule ($out)" 0 $?
echo "timed run: $n epochs, $el s recorded, $wall s wall, rates: $(cut -d, -f4 T/history.csv | sed 1d | uniq -c | tr -s ' \n' ' ')"

# A requeued job: stopped early (as by SIGTERM), resumed with the same command
# line; one budget in total, one schedule across both invocations.
# (7 batches: mid-epoch 3, a quarter of the budget or less: the resumed part
# has time to train, in the sanitizer build too)
"$BIN" train -t t.h5 -o R $NET --time-limit 00:04 --stop-after-batches 7 2>/dev/null; check "timed run stopped" 0 $?
el1=$(ck_elapsed R/last.h5)
t0=$(now)
"$BIN" train -t t.h5 -o R $NET --time-limit 00:04 --resume 2>/dev/null; check "timed run resumed" 0 $?
wall=$(echo "$(now) - $t0" | bc)
el2=$(ck_elapsed R/last.h5)
ok "resumed run: total training time $el2 s under the limit, and more than the first part's $el1 s" \
    "[ \$(echo '$el2 < $LIMIT && $el2 > $el1' | bc) = 1 ]"
ok "resumed run took only the rest of the budget ($wall s wall after $el1 s)" \
    "[ \$(echo '$wall < $LIMIT - $el1 + 0.5' | bc) = 1 ]"
out=$(sched R/history.csv $LIMIT); check "schedule across the resume ($out)" 0 $?
err=$("$BIN" train -t t.h5 -o R $NET --resume 2>&1); check "resume a timed run without --time-limit" 1 $?
case "$err" in *"R/last.h5"*"--time-limit"*) ;; *) echo "FAIL: message: $err"; fail=$((fail + 1)) ;; esac

# ---- best.h5 and --patience ---------------------------------------------------
# lr 1e-2 makes the validation loss stop improving early here
BEST="$NET --lr 1e-2 --epochs 10"
"$BIN" train -t t.h5 -o B $BEST 2>/dev/null; check "untimed run" 0 $?
argmin=$(awk -F, 'NR > 1 && (m == "" || $3 < m) { m = $3; e = $1 } END { print e }' B/history.csv)
cmp -s B/best.h5 "B/epoch_$(printf %03d "$argmin").h5"; check "best.h5 is epoch $argmin, the lowest validation loss" 0 $?
check "best_epoch column (running minimum)" \
    "$(awk -F, 'NR > 1 { if (m == "" || $3 < m) { m = $3; e = $1 } print e }' B/history.csv)" \
    "$(cut -d, -f7 B/history.csv | sed 1d)"
check "elapsed_seconds empty without --time-limit" "" "$(cut -d, -f8 B/history.csv | sed 1d | sort -u)"
# where --patience 3 stops: the first epoch 3 after the best so far
stop=$(awk -F, 'NR > 1 { if (m == "" || $3 < m) { m = $3; e = $1 } if ($1 - e >= 3) { print $1; exit } } END { }' B/history.csv)
stop=${stop:-10}
"$BIN" train -t t.h5 -o P $BEST --patience 3 2>/dev/null; check "run with --patience 3" 0 $?
check "--patience 3 stopped at epoch $stop" "$stop" "$(($(wc -l < P/history.csv) - 1))"
check "same trajectory as without --patience" "$(cut -d, -f1-4,7 B/history.csv | head -$((stop + 1)))" \
    "$(cut -d, -f1-4,7 P/history.csv)"
cmp -s P/best.h5 B/best.h5; check "best.h5 of the stopped run" 0 $?
ok "stopped early (epoch $stop of 10): the setup exercises --patience" "[ $stop -lt 10 ]"
err=$("$BIN" train -t t.h5 -o P $BEST --patience 3 --resume 2>&1); check "resume a run --patience stopped" 1 $?
case "$err" in *"P/last.h5"*"patience"*) ;; *) echo "FAIL: message: $err"; fail=$((fail + 1)) ;; esac
err=$("$BIN" train -t t.h5 -o B $BEST --epochs 12 --time-limit 1m --resume 2>&1); check "time limit on an untimed run" 1 $?
case "$err" in *"B/last.h5"*"without --time-limit"*) ;; *) echo "FAIL: message: $err"; fail=$((fail + 1)) ;; esac

# ---- the small-set warning ------------------------------------------------------
# 25 training pairs of 64x64 here: 102400 pixels
"$BIN" train -t t.h5 -o W1 $NET --epochs 1 --batches-per-epoch 1 2> w1.log; check "large network, --quiet" 0 $?
check "--quiet silences the warning" 0 "$(grep -c 'pixels per parameter' w1.log)"
"$BIN" train -t t.h5 -o W1 $NET --epochs 2 --batches-per-epoch 1 --resume --verbose 2> w1.log
check "the resumed run" 0 $?
check "not again on --resume" 0 "$(grep -c 'pixels per parameter' w1.log)"
rm -r W1
"$BIN" train -t t.h5 -o W1 ${NET% --quiet} --epochs 1 --batches-per-epoch 1 2> w1.log; check "large network" 0 $?
params=$("$BIN" info W1/last.h5 | sed -n 's/.* \([0-9][0-9]*\) parameters.*/\1/p')
check "warned once" 1 "$(grep -c 'pixels per parameter' w1.log)"
ratio=$(awk -v p="$params" 'BEGIN { printf "%.2g", 25 * 64 * 64 / p }')
ok "the ratio ($ratio) in the warning: $(cat w1.log)" "grep -q '25 training pairs of 64x64 are $ratio pixels per parameter' w1.log"
"$BIN" train -t t.h5 -o W2 --levels 1 --blocks 1 --filters 2 --expansion 1 --epochs 1 --batches-per-epoch 1 \
    --batch-size 2 2> w2.log; check "small network" 0 $?
params=$("$BIN" info W2/last.h5 | sed -n 's/.* \([0-9]*\) parameters$/\1/p')
ok "no warning for $params parameters ($(awk -v p="$params" 'BEGIN { print 102400 / p }') pixels each)" \
    "! grep -q 'pixels per parameter' w2.log && grep -q 'training on' w2.log"

# ---- usage --------------------------------------------------------------------
for bad in 0 1h1h 90x -5 1:60; do
    err=$("$BIN" train -t t.h5 -o U --time-limit "$bad" 2>&1); check "--time-limit $bad: exit status" 2 $?
    check "--time-limit $bad: one line" 1 "$(printf '%s\n' "$err" | wc -l)"
done
"$BIN" train -t t.h5 -o U --patience 0 >/dev/null 2>&1; check "--patience 0" 2 $?

echo "cli_train_budget: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
