#!/usr/bin/env bash
# Every input that once crashed a fuzz target (tests/fuzz/regressions/), and
# one that sends libhdf5 into an endless loop (tests/fuzz/hangs/), through the
# CLI: `info` and a checkpoint consumer (`denoise --network-only -p`) must
# end by themselves, exit 0 or 1 (never a signal), print at most one line of
# error, and write no output. One file crashes libhdf5 itself; it must be
# reported as a damaged HDF5 file (the guard), and without the guard it would
# take the process down, which is checked too where it does (release build).
set -u
BIN=${CLRESTORE_BIN:?}
SRC=${CLRESTORE_TEST_SRC:?}
fail=0; checks=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$BIN" simulate -o sim --count 1 --size 64x64 --seed 1 --quiet || { echo "simulate failed"; exit 1; }
img=$(ls sim/*_DW.mrc 2>/dev/null | head -1)
[ -n "$img" ] || img=$(ls sim/*.mrc | head -1)

for f in "$SRC"/fuzz/regressions/checkpoint/*; do
    name=$(basename "$f")
    err=$("$BIN" info "$f" 2>&1 >/dev/null); rc=$?
    checks=$((checks + 1))
    [ $rc -le 1 ] || bad "info $name: exit $rc"
    [ "$(printf '%s' "$err" | grep -c .)" -le 1 ] || bad "info $name: more than one line: $err"
    err=$("$BIN" denoise -p "$f" --network-only "$img" -o out.mrc --quiet 2>&1); rc=$?
    checks=$((checks + 1))
    [ $rc -eq 1 ] || bad "denoise -p $name: exit $rc, expected 1"
    [ "$(printf '%s\n' "$err" | grep -c .)" -eq 1 ] || bad "denoise -p $name: not one line: $err"
    case "$err" in *"$name"*) ;; *) bad "denoise -p $name: the message does not name the file: $err" ;; esac
    [ ! -e out.mrc ] || bad "denoise -p $name: wrote out.mrc"
    ls | grep -q tmp && bad "denoise -p $name: left a temporary file"
done

# training sets: one has a damaged chunk index in the middle of /even, read
# by the loader's thread, where HDF5 once printed its whole error stack
for f in "$SRC"/fuzz/regressions/trainset/*; do
    name=$(basename "$f")
    err=$("$BIN" train -t "$f" -o model --levels 1 --blocks 1 --filters 2 --expansion 1 --epochs 1 \
        --batches-per-epoch 1 --batch-size 1 --quiet 2>&1); rc=$?
    checks=$((checks + 1))
    [ $rc -eq 1 ] || bad "train -t $name: exit $rc, expected 1"
    [ "$(printf '%s\n' "$err" | grep -c .)" -eq 1 ] || bad "train -t $name: not one line: $err"
    case "$err" in *"$name"*) ;; *) bad "train -t $name: the message does not name the file: $err" ;; esac
    [ ! -e model/last.h5 ] || bad "train -t $name: wrote a checkpoint"
    rm -rf model
done

# cryoSPARC .cs (NumPy) files: read as micrograph lists by info and prepare
for f in "$SRC"/fuzz/regressions/cs/*; do
    name=$(basename "$f").cs
    cp "$f" "$name"
    for cmd in "info $name" "prepare -m $name -o t.h5 --quiet"; do
        err=$("$BIN" $cmd 2>&1 >/dev/null); rc=$?
        checks=$((checks + 1))
        [ $rc -eq 1 ] || bad "$cmd: exit $rc, expected 1"
        [ "$(printf '%s\n' "$err" | grep -c .)" -eq 1 ] || bad "$cmd: not one line: $err"
        case "$err" in *"$name"*) ;; *) bad "$cmd: the message does not name the file: $err" ;; esac
    done
    [ ! -e t.h5 ] || bad "prepare -m $name: wrote a training set"
    rm -f "$name"
done

# libhdf5 crashes on this one: reported as damaged, not a crash
crash=$SRC/fuzz/regressions/checkpoint/crash-1b059675c00b2390a58cd87cdfe79e88c589bcd2
err=$("$BIN" info "$crash" 2>&1 >/dev/null); rc=$?
checks=$((checks + 1))
[ $rc -eq 1 ] || bad "guarded info on the HDF5-crashing file: exit $rc"
case "$err" in *"damaged HDF5 file"*) ;; *) bad "guarded info: message: $err" ;; esac
CLRESTORE_H5_GUARD=0 "$BIN" info "$crash" >/dev/null 2>&1; rc=$?
if [ $rc -ge 128 ]; then echo "without the guard the same file kills info (exit $rc): the guard is what saves it"
else echo "note: without the guard this build survives the file (exit $rc; sanitizer builds lay memory out differently)"; fi

# libhdf5 loops forever on this one: the guard stops it (3 s here, 60 s by default)
for f in "$SRC"/fuzz/hangs/*; do
    start=$(date +%s)
    err=$(CLRESTORE_H5_GUARD_SECONDS=3 timeout 120 "$BIN" info "$f" 2>&1 >/dev/null); rc=$?
    checks=$((checks + 1))
    [ $rc -eq 1 ] || bad "info on a hanging file: exit $rc"
    case "$err" in *"did not finish"*) ;; *) bad "info on a hanging file: message: $err" ;; esac
    [ $(( $(date +%s) - start )) -lt 60 ] || bad "info on a hanging file took too long"
done

echo "cli_fuzz_regressions: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
