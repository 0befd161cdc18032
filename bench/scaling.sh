#!/usr/bin/env bash
# MPI scaling of denoise and train (issue 15): for 1, 2, ... ranks on this
# machine, each rank limited to its share of the cores (PoCL threads =
# cores / ranks), the denoise throughput (micrographs/s) and the training
# step time of the default network (2.4 M parameters), as speed-up and
# parallel efficiency against 1 rank in the same run, with the time per step
# spent in the gradient allreduce (transfer + waiting for the slowest rank,
# told apart by a barrier: CLRESTORE_MPI_TIMING=1). The outputs of every rank count are also
# checked against the 1-rank run (denoise: same bytes). See docs/mpi.md.
#   bash bench/scaling.sh                 # RANKS="1 2", log in build-mpi/scaling/
# Also: RANKS, MICS (8 micrographs of SIZE 1024x1024), STEPS (8 training steps
# of BATCH 4 patches of PATCH 64), BIN (an MPI build of clrestore).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
RANKS=${RANKS:-1 2} MICS=${MICS:-8} SIZE=${SIZE:-1024x1024} STEPS=${STEPS:-8} BATCH=${BATCH:-4} PATCH=${PATCH:-64}
CORES=$(nproc)
calc() { awk "BEGIN { print $1 }"; }
if [ -z "${BIN:-}" ]; then
  cmake -S . -B build-mpi -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLRESTORE_MPI=ON -DCLRESTORE_BUILD_TESTS=OFF >/dev/null
  cmake --build build-mpi -j"$JOBS" --target clrestore >/dev/null
  BIN=$PWD/build-mpi/clrestore
fi
"$BIN" --version | grep -q "^MPI: yes" || { echo "bench/scaling.sh: $BIN was built without MPI" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
W=${W:-$PWD/build-mpi/scaling}
export CLRESTORE_CACHE_DIR=$W/kernel-cache CLRESTORE_MPI_TIMING=1
rm -rf "$W/data" "$W/train.h5" "$W/model" "$W"/out_* "$W"/train_*
mkdir -p "$W"
"$BIN" simulate -o "$W/data" --count "$MICS" --size "$SIZE" --apix 1.5 --seed 11 --quiet
"$BIN" prepare -m "$W/data/micrographs.star" -o "$W/train.h5" --patch "$PATCH" --quiet
# a model of the default architecture for denoise (weights barely trained: the cost does not depend on them)
"$BIN" train -t "$W/train.h5" -o "$W/model" --epochs 1 --batches-per-epoch 1 --batch-size 2 --max-validation 2 --quiet

echo "$(lscpu | grep 'Model name' | sed 's/  */ /g'); $CORES cores; $("$BIN" devices 2>/dev/null | grep -m1 -o 'pthread[^ ]*' || echo 'device: see clrestore devices')"
echo "$("$BIN" --version | tail -1)"
printf "%-6s %-8s | %-10s %-8s %-6s | %-10s %-8s %-6s %-12s\n" ranks threads "denoise/s" speed-up eff "s/step" speed-up eff "allreduce+wait ms"
d1= s1=
for np in $RANKS; do
  th=$((CORES / np)); [ $th -ge 1 ] || th=1
  run() { POCL_MAX_PTHREAD_COUNT=$th mpirun -np "$np" -x POCL_MAX_PTHREAD_COUNT -x CLRESTORE_CACHE_DIR -x CLRESTORE_MPI_TIMING "$BIN" "$@"; }
  # denoise: warm the kernel cache once, then time the whole job
  run denoise -p "$W/model/last.h5" -m "$W/data/micrographs.star" -o "$W/warm" --quiet >/dev/null 2>&1 || true
  t0=$(date +%s.%N)
  run denoise -p "$W/model/last.h5" -m "$W/data/micrographs.star" -o "$W/out_$np" --quiet
  t1=$(date +%s.%N)
  dps=$(calc "$MICS / ($t1 - $t0)")
  if [ "$np" != "$(echo $RANKS | cut -d' ' -f1)" ]; then
    diff -r "$W/out_$(echo $RANKS | cut -d' ' -f1)" "$W/out_$np" >/dev/null || { echo "denoise outputs on $np ranks differ!" >&2; exit 1; }
  fi
  # train: 2 epochs of STEPS steps; the second epoch's time (history.csv, includes a 2-patch validation)
  rm -rf "$W/train_$np"
  log=$(run train -t "$W/train.h5" -o "$W/train_$np" --epochs 2 --batches-per-epoch "$STEPS" --batch-size "$BATCH" \
        --max-validation 2 2>&1)
  sps=$(calc "$(tail -1 "$W/train_$np/history.csv" | cut -d, -f5) / $STEPS")
  comm=$(echo "$log" | sed -n 's/.*gradient sum .* \([0-9.]*\) ms per step (\([0-9.]*\) ms waiting.*/\1+\2/p'); comm=${comm:-0}
  [ -n "$d1" ] || { d1=$dps; s1=$sps; }
  printf "%-6s %-8s | %-10.3f %-8.2f %-6.2f | %-10.3f %-8.2f %-6.2f %-12s\n" "$np" "$th" "$dps" "$(calc "$dps / $d1")" \
    "$(calc "$dps / $d1 / $np")" "$sps" "$(calc "$s1 / $sps")" "$(calc "$s1 / $sps / $np")" "$comm"
done
