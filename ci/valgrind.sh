#!/usr/bin/env bash
# Valgrind memcheck over `clrestore info` (an MRC and a checkpoint) and a
# small `clrestore denoise --network-only`: no invalid access, no use of
# uninitialised values and no leak in our code. What PoCL, LLVM, the ICD
# loader, HDF5 and glibc do inside themselves is suppressed by
# ci/valgrind.supp (each entry says why). Needs build/clrestore (ci/test.sh
# builds it). Exit 0 when clean; prints valgrind's report and exits 1 if not.
#
# Time: PoCL compiles kernels with LLVM, which under memcheck takes some 20
# minutes for the 15 programs of a denoise. Valgrind's virtual CPU has no
# AVX-512 and PoCL names its device after the CPU it sees, so kernels built
# for this machine's own CPU would not be found under valgrind. Both the
# warm-up and the memcheck runs therefore ask PoCL for its AVX2 code
# (POCL_LLVM_CPU_NAME=haswell, POCL_KERNELLIB_NAME=avx2): the device is then
# `pthread-haswell-...` with and without valgrind, so the warm-up runs
# natively (~40 s with cold caches, against ~5 min under valgrind's no-check
# tool before), into caches of our own (ours under CLRESTORE_CACHE_DIR,
# PoCL's under POCL_CACHE_DIR, in build/valgrind-cache, kept between runs),
# and the memcheck runs only load them.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CLRESTORE_BIN:-$PWD/build/clrestore}
[ -x "$BIN" ] || { echo "ci/valgrind.sh: $BIN not built" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "ci/valgrind.sh: valgrind not installed (ci/setup.sh)" >&2; exit 1; }
SUPP=$PWD/ci/valgrind.supp
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# the input, made with the user's caches (warm after ctest)
"$BIN" simulate -o "$work/sim" --count 1 --size 96x96 --seed 3 --quiet
IMG=$work/sim/micrographs/sim_0001_DW.mrc
cache=${VALGRIND_CACHE:-$PWD/build/valgrind-cache}
mkdir -p "$cache/ours" "$cache/pocl"
export CLRESTORE_CACHE_DIR=$cache/ours POCL_CACHE_DIR=$cache/pocl
export POCL_LLVM_CPU_NAME=haswell POCL_KERNELLIB_NAME=avx2
MODEL=$PWD/tests/fixtures/golden_waunet_small.h5

# every kernel the runs below use, built natively for the
# device name valgrind will see, unless cached already
t0=$(date +%s)
"$BIN" denoise -p "$MODEL" --network-only "$IMG" -o "$work/warm" --quiet
[ -f "$work/warm/sim_0001_DW_denoised.mrc" ] || { echo "ci/valgrind.sh: the warm-up run failed" >&2; exit 1; }
echo "valgrind warm-up (native, kernel caches in $cache): $(($(date +%s) - t0)) s"

status=0
run() { # name, then the command
    local name=$1 t0 t1
    shift
    t0=$(date +%s)
    if valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
        --error-exitcode=99 --suppressions="$SUPP" --num-callers=40 --log-file="$work/$name.log" \
        "$@" > "$work/$name.out" 2>&1; then
        t1=$(date +%s)
        echo "valgrind $name: clean ($((t1 - t0)) s)"
    else
        t1=$(date +%s)
        echo "valgrind $name: FAILED ($((t1 - t0)) s): $*"
        cat "$work/$name.out" "$work/$name.log"
        status=1
    fi
}
run info-mrc "$BIN" info "$IMG"
run info-h5 "$BIN" info "$MODEL"
run denoise "$BIN" denoise -p "$MODEL" --network-only "$IMG" -o "$work/out" --quiet
# memcheck computes what the native run did
if [ $status -eq 0 ] && ! cmp -s "$work/warm/sim_0001_DW_denoised.mrc" "$work/out/sim_0001_DW_denoised.mrc"; then
    echo "valgrind denoise: output differs from the warm-up run's"
    status=1
fi
exit $status
