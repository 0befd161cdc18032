#!/usr/bin/env bash
# snr --max-micrographs N on a STAR file with more rows: exactly the first N
# micrographs are measured (their rows equal those of a run over all), and
# every row read is freed. In the sanitizer build (ci/test.sh, label unit)
# the truncated run has LeakSanitizer on, with the drivers' own allocations
# suppressed (tests/lsan_drivers.supp): the rows past N, once leaked, show as
# a leak from cr_star_micrographs. In other builds ASAN_OPTIONS does nothing.
set -u
BIN=${CLRESTORE_BIN:?}
SRC=${CLRESTORE_TEST_SRC:?}
fail=0; checks=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { checks=$((checks + 1)); [ "$2" = "$3" ] || bad "$1: got $3, expected $2"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
NET="--levels 2 --blocks 1 --filters 4 --expansion 2 --batches-per-epoch 1 --batch-size 2 --quiet"
{ "$BIN" simulate -o sim --count 3 --size 128x128 --seed 5 --quiet &&
  "$BIN" prepare -m sim/micrographs.star -o t.h5 --patch 32 --quiet &&
  "$BIN" train -t t.h5 -o model $NET --epochs 1; } || { echo "FAIL: making the base files"; exit 1; }

"$BIN" snr -p model/last.h5 -m sim/micrographs.star -o all.csv --quiet > /dev/null; check "snr over all: exit" 0 $?
# fast_unwind_on_malloc=0: a driver library that allocates and is unloaded again (Mesa's
# pipe_swrast.so under Clover) leaves a two-frame stack with the fast unwinder, which no
# suppression can match; the slow one reaches the driver that loaded it.
err=$(ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:fast_unwind_on_malloc=0 LSAN_OPTIONS=suppressions=$SRC/lsan_drivers.supp \
      "$BIN" snr -p model/last.h5 -m sim/micrographs.star -o two.csv --max-micrographs 2 --quiet 2>&1 >/dev/null)
check "snr --max-micrographs 2: exit" 0 $?
check "snr --max-micrographs 2: no leak" "" "$(printf '%s\n' "$err" | grep -i -m1 'leak of')"
check "all.csv rows" 4 "$(wc -l < all.csv)"
check "two.csv rows" 3 "$(wc -l < two.csv)"
check "two.csv = the first rows of all.csv" "$(head -3 all.csv)" "$(cat two.csv)"

echo "cli_snr_rows: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
