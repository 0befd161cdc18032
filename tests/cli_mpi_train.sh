#!/usr/bin/env bash
# train under mpirun -np 2 (loopback), against one process as the truth:
# 2 ranks sharing a global batch of 4 follow 1 rank with batch 4 (loss per
# step and final weights within 1e-5 relative: only the float summation order
# differs); two 2-rank runs write the same checkpoint bytes; a rank killed
# mid-training ends the job non-zero with last.h5 intact, and --resume on
# another number of ranks (1) reaches the uninterrupted run's weights.
set -u
BIN=${CLRESTORE_BIN:?}
. "${CLRESTORE_TEST_SRC:?}/mpi_env.sh"
PY=
for p in python3 /usr/bin/python3; do "$p" -c 'import h5py, numpy' 2>/dev/null && { PY=$p; break; }; done
[ -n "$PY" ] || { echo "cli_mpi_train: no python3 with h5py (ci/setup.sh installs python3-h5py): skipped"; exit 77; }
fail=0; checks=0
check() { checks=$((checks + 1)); if [ "$2" != "$3" ]; then echo "FAIL: $1: got $3, expected $2"; fail=$((fail + 1)); fi; }
# weights A B TOL: every parameter tensor of checkpoint B within TOL of A's, relative to A's largest value (0: equal)
weights() {
  "$PY" - "$@" <<'PYEOF'
import sys, h5py, numpy as np
a, b, tol = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r"), float(sys.argv[3])
worst = 0.0
for g in a["layers"]:
    for d in ("v", "g", "b"):
        x, y = a["layers"][g][d][()].astype(np.float64), b["layers"][g][d][()].astype(np.float64)
        r = np.abs(x - y).max() / max(np.abs(x).max(), 1e-30)
        worst = max(worst, r)
print("largest relative weight difference %.3g" % worst)
sys.exit(0 if (worst <= tol if tol > 0 else worst == 0) else 1)
PYEOF
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$BIN" simulate -o sim --count 4 --size 256x256 --seed 7 --quiet
"$BIN" prepare -m sim/micrographs.star -o t.h5 --patch 32 --quiet
A="-t t.h5 --levels 2 --blocks 1 --filters 4 --expansion 2 --batch-size 4 --seed 3 --quiet"

# 20 steps, one per epoch: history.csv holds the loss of every step
"$BIN" train $A --epochs 20 --batches-per-epoch 1 -o one; check "1 rank" 0 $?
mpi_run 2 train $A --epochs 20 --batches-per-epoch 1 -o two; check "2 ranks" 0 $?
"$PY" - one/history.csv two/history.csv <<'PYEOF'
import sys, csv
a = list(csv.DictReader(open(sys.argv[1]))); b = list(csv.DictReader(open(sys.argv[2])))
assert len(a) == len(b) == 20, (len(a), len(b))
for col in ("train_loss", "validation_loss"):
    r = max(abs(float(x[col]) - float(y[col])) / abs(float(x[col])) for x, y in zip(a, b))
    print("%s: largest relative difference over 20 steps %.3g" % (col, r))
    assert r <= 1e-5, col
PYEOF
check "loss per step, 2 ranks = 1 rank" 0 $?
weights one/last.h5 two/last.h5 1e-5; check "weights, 2 ranks = 1 rank" 0 $?
mpi_run 2 train $A --epochs 20 --batches-per-epoch 1 -o two_again; check "2 ranks again" 0 $?
weights two/last.h5 two_again/last.h5 0; check "2-rank run deterministic" 0 $?
cmp -s two/last.h5 two_again/last.h5; check "2-rank run deterministic: the same checkpoint bytes" 0 $?
check "rank 0 alone writes" "$(ls two)" "$(ls two_again)"

# a rank killed mid-training; resumed on 1 rank
B="$A --epochs 16 --batches-per-epoch 3"
mpi_run 2 train $B -o full; check "uninterrupted" 0 $?
export CR_TEST_MARK=$tmp # finds this test's rank 1 among the machine's processes
mpirun -np 2 -x POCL_MAX_PTHREAD_COUNT -x CLRESTORE_CACHE_DIR -x CR_TEST_MARK "$BIN" train $B -o killed > killed.log 2>&1 &
job=$!
for _ in $(seq 600); do [ -f killed/epoch_003.h5 ] && break; sleep 0.05; done
victim=
for env in /proc/[0-9]*/environ; do
  e=$(tr '\0' '\n' < "$env" 2>/dev/null) || continue
  case "$e" in *"CR_TEST_MARK=$tmp"*) ;; *) continue ;; esac
  grep -qx 'OMPI_COMM_WORLD_RANK=1' <<<"$e" && victim=${env#/proc/} && victim=${victim%/environ}
done
[ -n "$victim" ] && kill -9 "$victim"
wait $job; rc=$?
checks=$((checks + 1)); [ -n "$victim" ] && [ $rc -ne 0 ] || { echo "FAIL: killed rank: victim '$victim', exit $rc"; fail=$((fail + 1)); }
"$BIN" info killed/last.h5 >/dev/null; check "last.h5 intact" 0 $?
done_epochs=$(($(wc -l < killed/history.csv) - 1))
checks=$((checks + 1)); [ "$done_epochs" -ge 3 ] && [ "$done_epochs" -lt 16 ] || { echo "FAIL: killed after $done_epochs epochs, not mid-run"; fail=$((fail + 1)); }
"$BIN" train $B -o killed --resume; check "resume on 1 rank" 0 $?
weights full/last.h5 killed/last.h5 1e-5; check "resumed = uninterrupted" 0 $?

echo "cli_mpi_train: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
