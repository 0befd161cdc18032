#!/usr/bin/env bash
# Every kernel family of ours once under oclgrind (Debian), a simulator that
# checks each memory access: out-of-bounds reads and writes (always on),
# data races (--data-races) and API misuse (--check-api), on the tiny cases
# of test_cl_tiny_kernels, whose own checks must pass there too, and the
# work-group tiled convolution (kernels/conv_local.cl, local memory and
# barriers), its weight gradient (kernels/conv_ldw.cl) and the bias gradient by
# work-groups (conv_db_wg, a local-memory tree)
# on the two tiny shapes of `test_cl_conv_fast local`, and the
# phase-split stride-2 dX (kernels/conv_s2.cl) on the two of `test_cl_conv_fast s2`
# (k = 3 and 4, odd and even sizes), and the 1x1 forward with all channels per
# work-item (conv_fwd_allco) and the fused expand + bottleneck (conv_fwd_eb) on the
# shapes of `test_cl_conv_fast kc`. A report
# about one of our kernels (kernels/*.cl) fails the test; clFFT's generated
# kernels are reported (their passes read and write one global buffer across
# a barrier that fences local memory only) but are not ours to fix.
# --uninitialized is not used: Debian's oclgrind 21.10 stops at LLVM 15's
# `freeze` instruction (in our optimised kernels and clFFT's), and with
# -cl-opt-disable it reports every buffer written in part by
# clEnqueueWriteBuffer as uninitialised (docs/runtime.md). Skips (77) without
# oclgrind.
set -u
TESTS=${CLRESTORE_TEST_BIN_DIR:?}
SRC=${CLRESTORE_TEST_SRC:?}/..
command -v oclgrind >/dev/null 2>&1 || { echo "SKIP: oclgrind not installed (Debian oclgrind)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
unset CLRESTORE_DEVICE # oclgrind's simulator is the only device under it
ours=$(grep -ho '__kernel void [A-Za-z0-9_]*' "$SRC"/kernels/*.cl | awk '{print $3}' | sort -u)
fail=0
for part in nn tta fourier local s2 kc; do
  log="$tmp/$part.log"
  prog=test_cl_tiny_kernels
  case $part in local | s2 | kc) prog=test_cl_conv_fast ;; esac
  if ! oclgrind --data-races --check-api --log "$log" "$TESTS/$prog" "$part" > "$tmp/$part.out" 2>&1; then
    echo "FAIL: $prog $part under oclgrind:"; tail -20 "$tmp/$part.out"; fail=1
  fi
  hits=$(grep -h '^	Kernel: ' "$log" 2>/dev/null | awk '{print $2}' | sort | uniq -c)
  for k in $ours; do
    n=$(printf '%s\n' "$hits" | awk -v k="$k" '$2 == k {print $1}')
    if [ -n "$n" ]; then
      echo "FAIL: oclgrind: $n reports in kernel $k ($part):"
      grep -m1 -B1 -A8 "Kernel: $k\$" "$log"
      fail=1
    fi
  done
  echo "oclgrind $part: $(grep -c '^	Kernel: ' "$log" 2>/dev/null || true) reports, kernels: $(printf '%s ' $hits)"
done
[ $fail -eq 0 ] && echo "device_oclgrind: no report about our kernels"
exit $fail
