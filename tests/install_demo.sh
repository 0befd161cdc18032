#!/usr/bin/env bash
# `cmake --install` into a temporary prefix gives a working installation: the
# binary runs from there with its kernels built in (no source tree, no
# CLRESTORE_KERNEL_DIR), --help works, the man page, README and LICENSE are
# installed; then the README demo's first steps (simulate, prepare, a tiny
# train, denoise) run with the installed binary from another directory.
set -u
BUILD=${CLRESTORE_BUILD_DIR:?}
CMAKE=${CMAKE_COMMAND:-cmake}
fail=0; checks=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { checks=$((checks + 1)); [ "$2" = "$3" ] || bad "$1: got $3, expected $2"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$CMAKE" --install "$BUILD" --prefix "$tmp/prefix" > "$tmp/install.log" 2>&1 ||
  { echo "FAIL: cmake --install: $(tail -5 "$tmp/install.log")"; exit 1; }
BIN=$tmp/prefix/bin/clrestore
unset CLRESTORE_KERNEL_DIR
cd "$tmp"
checks=$((checks + 4))
[ -x "$BIN" ] || bad "no $BIN"
[ -f prefix/share/man/man1/clrestore.1 ] || bad "man page not installed: $(find prefix -name '*.1')"
[ -f prefix/share/doc/clrestore/LICENSE ] || bad "LICENSE not installed"
[ -f prefix/share/doc/clrestore/README.md ] || bad "README not installed"
help=$("$BIN" --help 2>&1); check "--help exit" 0 $?
case "$help" in *"usage: clrestore"*) ;; *) bad "--help: $help" ;; esac
if command -v man > /dev/null; then
  page=$(MANPATH=$tmp/prefix/share/man man -P cat clrestore 2>/dev/null)
  case "$page" in *"noise2noise"*) ;; *) bad "man clrestore (MANPATH=prefix/share/man) did not show the page" ;; esac
fi
"$BIN" devices > /dev/null 2>&1 || { echo "SKIP: no OpenCL device"; exit 77; }

NET="--levels 2 --blocks 1 --filters 4 --expansion 2 --epochs 1 --batches-per-epoch 2 --batch-size 2"
"$BIN" simulate -o sim --count 2 --size 128x128 --seed 7 --quiet; check "simulate" 0 $?
"$BIN" prepare -m sim/micrographs.star -o train.h5 --patch 32 --quiet; check "prepare" 0 $?
"$BIN" train -t train.h5 -o model $NET --quiet; check "train" 0 $?
"$BIN" denoise -p model/last.h5 -m sim/micrographs.star -o denoised --quiet; check "denoise" 0 $?
check "denoised micrographs" 2 "$(find denoised -name '*_denoised.mrc' | wc -l)"
checks=$((checks + 1))
[ -f denoised/denoised_micrographs.star ] || bad "no denoised/denoised_micrographs.star"
out=$("$BIN" info denoised/sim_0001_DW_denoised.mrc 2>&1); check "info on the output" 0 $?
case "$out" in *"128 x 128 x 1, mode 2"*) ;; *) bad "output not a 128x128 float image: $out" ;; esac

echo "install_demo: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
