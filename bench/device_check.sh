#!/usr/bin/env bash
# One pass over a device that has not run clrestore before (a GPU, say), in the order
# that gives the most in the least time (docs/tuning.md, "A new device"):
#   1. clrestore devices -v: the identity the parameter database and the cache key on;
#   2. bench --params --network --torch: the figures with the parameters it would use now
#      (database entry or fallback), PyTorch beside them (cuDNN when the device is an
#      NVIDIA GPU: bench --torch-device);
#   3. clrestore tune within a time budget, into this run's own cache;
#   4. bench (every section) again with the tuned parameters;
#   5. the device-level tests of ctest on that device (CLRESTORE_DEVICE), when a build
#      tree with its CTestTestfile is given.
# usage: bench/device_check.sh BUILD_DIR OUT_DIR [DEVICE] [TUNE_BUDGET]
#   BUILD_DIR    a build tree (BUILD_DIR/clrestore; ctest runs there if it has tests)
#   OUT_DIR      where the log (device_check.log) and the tuned .conv file go
#   DEVICE       clrestore's --device (default: its default device)
#   TUNE_BUDGET  clrestore tune --time-budget (default 100s)
# Each step has its own time limit, so that one stuck step leaves the others' results.
set -u
BUILD=${1:?usage: bench/device_check.sh BUILD_DIR OUT_DIR [DEVICE] [TUNE_BUDGET]}
OUT=${2:?usage: bench/device_check.sh BUILD_DIR OUT_DIR [DEVICE] [TUNE_BUDGET]}
DEV=${3:-}
BUDGET=${4:-100s}
BIN=$BUILD/clrestore
mkdir -p "$OUT"
LOG=$OUT/device_check.log
export CLRESTORE_TUNE_DIR=$OUT/tune
mkdir -p "$CLRESTORE_TUNE_DIR"
[ -n "$DEV" ] && export CLRESTORE_DEVICE=$DEV
step() { # step NAME SECONDS COMMAND...
    local name=$1 secs=$2
    shift 2
    echo "=== $name ($(date -u +%T), limit ${secs}s): $*" | tee -a "$LOG"
    local t0=$SECONDS
    timeout -k 5 "$secs" "$@" 2>&1 | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    echo "=== $name: exit $rc after $((SECONDS - t0)) s" | tee -a "$LOG"
}
{ lscpu | grep -E 'Model name|^CPU\(s\)'; nvidia-smi -L 2>/dev/null; } | tee -a "$LOG"
step devices 40 "$BIN" devices -v
step bench-before 120 "$BIN" bench --params --network --torch --repeat 5
step tune 180 "$BIN" tune --time-budget "$BUDGET"
ls "$CLRESTORE_TUNE_DIR" | tee -a "$LOG"
step bench-tuned 150 "$BIN" bench --network --torch --denoise --fourier --startup --repeat 5
if [ -f "$BUILD/CTestTestfile.cmake" ] && command -v ctest >/dev/null; then
    # the device-level tests: kernels against the reference and double engines
    (cd "$BUILD" && step ctest 120 ctest -R '^test_cl_|^test_conv_tune$|^cli_(basic|denoise|tune|train)$' \
        -j 6 --timeout 120 --output-on-failure)
fi
echo "device_check: done, log in $LOG"
