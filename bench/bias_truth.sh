#!/usr/bin/env bash
# snr's bias estimate against ground truth, the full experiment of docs/snr.md
# (issue 8): trains the demo's network (ci/demo.sh settings, ~2 min on 2
# cores), then runs tests/test_slow_bias_truth with it on one 1024x1024
# micrograph under DRAWS independent noise draws (~4.5 s a draw). The CI
# version of the same check is the ctest test_slow_bias_truth (tiny model,
# 512x512, 8 draws).
#   bash bench/bias_truth.sh             # train, then measure; log in build/bias_truth/
#   MODEL=path/last.h5 bash bench/bias_truth.sh   # measure an existing model
# Also: DRAWS (32), SIZE (1024x1024), SEED (5: a micrograph not in the
# training set, which uses --seed 1), JOBS.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
DRAWS=${DRAWS:-32} SIZE=${SIZE:-1024x1024} SEED=${SEED:-5}
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLRESTORE_BUILD_TESTS=ON >/dev/null
cmake --build build -j"$JOBS" --target clrestore test_slow_bias_truth >/dev/null
B=$PWD/build/clrestore W=$PWD/build/bias_truth
mkdir -p "$W"
t0=$(date +%s)
if [ -z "${MODEL:-}" ]; then
  rm -rf "$W/data" "$W/train.h5" "$W/model"
  "$B" simulate -o "$W/data" --count 8 --size 1024x1024 --apix 1.5 --seed 1 --quiet
  "$B" prepare -m "$W/data/micrographs.star" -o "$W/train.h5" --patch 96 --validation-fraction 0.125 --quiet
  "$B" train -t "$W/train.h5" -o "$W/model" --levels 2 --blocks 2 --filters 16 --expansion 2 \
    --epochs 8 --batches-per-epoch 60 --batch-size 8 --lr 1e-3 --quiet
  MODEL=$W/model/last.h5
  echo "trained $MODEL in $(( $(date +%s) - t0 )) s; last epoch: $(tail -1 "$W/model/history.csv")"
fi
CLRESTORE_BIN=$B build/tests/test_slow_bias_truth --model "$MODEL" --draws "$DRAWS" --size "$SIZE" --seed "$SEED" \
  | grep -v '^1 micrographs:' | tee "$W/bias_truth.log"
echo "total $(( $(date +%s) - t0 )) s; log in $W/bias_truth.log"
