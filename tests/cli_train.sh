#!/usr/bin/env bash
# train: an interrupted and resumed run ends with the same checkpoints, bit for
# bit, as an uninterrupted one (mid-epoch and at an epoch boundary); history;
# bad inputs fail with one line, exit 1, and overwrite nothing.
set -u
BIN=${CLRESTORE_BIN:?}
fail=0; checks=0
check() { checks=$((checks + 1)); if [ "$2" != "$3" ]; then echo "FAIL: $1: got $3, expected $2"; fail=$((fail + 1)); fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$BIN" simulate -o sim --count 2 --size 512x512 --seed 5 --quiet; check "simulate" 0 $?
"$BIN" prepare -m sim/micrographs.star -o t.h5 --patch 64 --validation-fraction 0.5 --quiet; check "prepare" 0 $?
NET="--levels 2 --blocks 1 --filters 4 --expansion 2 --epochs 3 --batches-per-epoch 3 --batch-size 2 --seed 9 --quiet"

"$BIN" train -t t.h5 -o A $NET; check "uninterrupted" 0 $?
check "history lines" 4 "$(wc -l < A/history.csv)"
check "epoch files" 3 "$(ls A/epoch_*.h5 | wc -l)"

# stopped mid-epoch 2 (after 4 batches), then resumed
"$BIN" train -t t.h5 -o B $NET --stop-after-batches 4; check "stop mid-epoch" 0 $?
check "only epoch 1 saved" 1 "$(ls B/epoch_*.h5 | wc -l)"
"$BIN" train -t t.h5 -o B $NET --resume; check "resume mid-epoch" 0 $?
cmp -s A/last.h5 B/last.h5; check "last.h5 identical after mid-epoch resume" 0 $?
cmp -s A/epoch_002.h5 B/epoch_002.h5; check "epoch_002.h5 identical" 0 $?

# stopped at an epoch boundary, resumed twice
"$BIN" train -t t.h5 -o C $NET --stop-after-batches 3; check "stop at boundary" 0 $?
"$BIN" train -t t.h5 -o C $NET --resume --stop-after-batches 3; check "resume + stop" 0 $?
"$BIN" train -t t.h5 -o C $NET --resume; check "resume to the end" 0 $?
cmp -s A/last.h5 C/last.h5; check "last.h5 identical after two resumes" 0 $?
check "history after resumes" 4 "$(wc -l < C/history.csv)"

# Ctrl-C (SIGINT) finishes the step, saves last.h5 mid-epoch and exits 130;
# --resume continues from there
GN="--levels 2 --blocks 1 --filters 4 --expansion 2 --epochs 1 --batches-per-epoch 100000 --batch-size 2 --quiet"
"$BIN" train -t t.h5 -o G $GN &
pid=$!
sleep 4
kill -INT $pid; wait $pid; check "SIGINT exit status" 130 $?
[ -f G/last.h5 ]; check "last.h5 written on SIGINT" 0 $?
before=$(cksum < G/last.h5)
"$BIN" train -t t.h5 -o G $GN --resume --stop-after-batches 3; check "resume after SIGINT" 0 $?
checks=$((checks + 1)); [ "$(cksum < G/last.h5)" != "$before" ] || { echo "FAIL: resume did not continue"; fail=$((fail + 1)); }

# bad inputs: exit 1, one line naming the file, nothing overwritten
sum=$(cksum < A/last.h5)
err=$("$BIN" train -t t.h5 -o A $NET 2>&1); check "existing run without --resume" 1 $?
case "$err" in *"A/last.h5 exists"*) ;; *) echo "FAIL: message: $err"; fail=$((fail + 1)) ;; esac
check "last.h5 untouched" "$sum" "$(cksum < A/last.h5)"
err=$("$BIN" train -t t.h5 -o D --initial-model A/last.h5 --levels 3 --epochs 1 --quiet 2>&1); check "initial model of another architecture" 1 $?
case "$err" in *"A/last.h5"*"architecture"*) ;; *) echo "FAIL: message: $err"; fail=$((fail + 1)) ;; esac
head -c 3000 t.h5 > broken.h5
err=$("$BIN" train -t broken.h5 -o E $NET 2>&1); check "corrupt training set" 1 $?
check "one-line error" 1 "$(printf '%s\n' "$err" | wc -l)"
"$BIN" train -t t.h5 -o F $NET --epochs 0 >/dev/null 2>&1; check "bad usage" 2 $?
"$BIN" train -t t.h5 -o A $NET --resume --epochs 3 >/dev/null 2>&1; check "resume a finished run" 1 $?

# --preset: its network and rate reach the checkpoint (as `info` reads it
# back); an explicit option, before or after it, overrides that one value; an
# unknown name is one line and exit 2
P1="--epochs 1 --batches-per-epoch 1 --batch-size 2 --max-validation 1 --quiet"
"$BIN" train -t t.h5 -o P $P1 --preset cpu; check "--preset cpu" 0 $?
info=$("$BIN" info P/last.h5)
case "$info" in *"levels 2, blocks 2, filters 16, expansion 2,"*"learning rate 0.002"*) ;;
    *) echo "FAIL: --preset cpu network/rate: $info"; fail=$((fail + 1)) ;; esac
"$BIN" train -t t.h5 -o Q --filters 8 $P1 --preset cpu --lr 5e-4; check "--preset cpu with overrides" 0 $?
info=$("$BIN" info Q/last.h5)
case "$info" in *"levels 2, blocks 2, filters 8, expansion 2,"*"learning rate 0.0005"*) ;;
    *) echo "FAIL: --preset cpu --filters 8 --lr 5e-4: $info"; fail=$((fail + 1)) ;; esac
err=$("$BIN" train -t t.h5 -o R $P1 --preset nosuch 2>&1); check "unknown preset" 2 $?
check "unknown preset: one line" 1 "$(printf '%s\n' "$err" | wc -l)"
case "$err" in *"nosuch"*"cpu"*) ;; *) echo "FAIL: message: $err"; fail=$((fail + 1)) ;; esac
[ ! -e R ]; check "unknown preset: nothing written" 0 $?

echo "cli_train: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
