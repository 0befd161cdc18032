#!/usr/bin/env bash
# denoise under mpirun -np 2 (loopback): the same bytes as one process, the
# STAR listing included; --skip-existing across ranks; a corrupt micrograph
# on one rank is named once, the others are denoised, exit 1; the same for
# --network-only on MRC files.
set -u
BIN=${CLRESTORE_BIN:?}
. "${CLRESTORE_TEST_SRC:?}/mpi_env.sh"
fail=0; checks=0
check() { checks=$((checks + 1)); if [ "$2" != "$3" ]; then echo "FAIL: $1: got $3, expected $2"; fail=$((fail + 1)); fi; }
same_dir() { # same_dir NAME A B: every file of A is in B with the same bytes, and no more
  checks=$((checks + 1))
  if ! diff -r "$2" "$3" >/dev/null; then echo "FAIL: $1: $2 and $3 differ: $(diff -rq "$2" "$3" | head -3)"; fail=$((fail + 1)); fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$BIN" simulate -o sim --count 6 --size 256x256 --seed 5 --quiet
"$BIN" prepare -m sim/micrographs.star -o t.h5 --patch 32 --quiet
"$BIN" train -t t.h5 -o model --levels 2 --blocks 1 --filters 4 --expansion 2 --epochs 1 --batches-per-epoch 2 \
  --batch-size 2 --quiet

"$BIN" denoise -p model/last.h5 -m sim/micrographs.star -o one --quiet; check "one process" 0 $?
mpi_run 2 denoise -p model/last.h5 -m sim/micrographs.star -o two --verbose > two.log 2>&1; check "2 ranks" 0 $?
same_dir "2 ranks = 1 process" one two
check "STAR written once" 1 "$(grep -c 'list in two/denoised_micrographs.star' two.log)"
check "every micrograph once" 6 "$(grep -c ' -> two/' two.log)"

# --skip-existing across ranks: an existing output is left alone, the listing still names it
touch -d '2000-01-01' two/sim_0004_DW_denoised.mrc
mpi_run 2 denoise -p model/last.h5 -m sim/micrographs.star -o two --skip-existing --quiet; check "skip existing" 0 $?
check "existing output untouched" 2000 "$(date -r two/sim_0004_DW_denoised.mrc +%Y)"
same_dir "listing after skip" one two

# a corrupt micrograph: named once, the others denoised, exit 1
cp -r sim mixed && head -c 5000 sim/micrographs/sim_0003_DW.mrc > mixed/micrographs/sim_0003_DW.mrc
mpi_run 2 denoise -p model/last.h5 -m mixed/micrographs.star -o bad > bad.log 2>&1; check "corrupt among good" 1 $?
check "corrupt named once" 1 "$(grep -c 'sim_0003_DW.mrc' bad.log)"
n=0; for i in 1 2 4 5 6; do cmp -s "one/sim_000${i}_DW_denoised.mrc" "bad/sim_000${i}_DW_denoised.mrc" && n=$((n + 1)); done
check "the others denoised, same bytes" 5 $n
[ ! -f bad/sim_0003_DW_denoised.mrc ]; check "nothing written for the corrupt one" 0 $?
grep -v sim_0003 one/denoised_micrographs.star | cmp -s - bad/denoised_micrographs.star; check "listing = the one-process listing without it" 0 $?
# --network-only over the job queue: the same bytes as one process; the
# corrupt file named once (by the rank that met it), the others written, exit 1
"$BIN" denoise -p model/last.h5 --network-only sim/micrographs/*_DW.mrc -o net1 --quiet; check "network-only, one process" 0 $?
mpi_run 2 denoise -p model/last.h5 --network-only sim/micrographs/*_DW.mrc -o net2 --verbose > net2.log 2>&1
check "network-only, 2 ranks" 0 $?
same_dir "network-only: 2 ranks = 1 process" net1 net2
check "network-only: every image once" 6 "$(grep -c ' -> net2/' net2.log)"
mpi_run 2 denoise -p model/last.h5 --network-only mixed/micrographs/*_DW.mrc -o net3 > net3.log 2>&1
check "network-only: corrupt among good" 1 $?
check "network-only: corrupt named once" 1 "$(grep -c 'sim_0003_DW.mrc' net3.log)"
n=0; for i in 1 2 4 5 6; do cmp -s "net1/sim_000${i}_DW_denoised.mrc" "net3/sim_000${i}_DW_denoised.mrc" && n=$((n + 1)); done
check "network-only: the others written, same bytes" 5 $n
[ ! -f net3/sim_0003_DW_denoised.mrc ]; check "network-only: nothing written for the corrupt one" 0 $?
checks=$((checks + 1)); ! find . -name '*.tmp.*' | grep -q . || { echo "FAIL: temporary files left"; fail=$((fail + 1)); }

echo "cli_mpi_denoise: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
