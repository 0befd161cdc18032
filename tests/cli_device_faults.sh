#!/usr/bin/env bash
# Device faults: a kernel that does not build (CLRESTORE_KERNEL_DIR with a
# broken file), an activation larger than the device's largest buffer (a too
# large --tile), and a device that is not there. Each: exit 1, an error whose
# first line names the device and says what to do, and no output left behind.
set -u
BIN=${CLRESTORE_BIN:?}
SRC=${CLRESTORE_TEST_SRC:?}/..
fail=0; checks=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { checks=$((checks + 1)); [ "$2" = "$3" ] || bad "$1: got $3, expected $2"; }
has() { checks=$((checks + 1)); case "$2" in *"$3"*) ;; *) bad "$1: '$3' not in: $2" ;; esac; }
no_files() { checks=$((checks + 1)); [ -z "$(find "$2" -type f 2>/dev/null)" ] || bad "$1: files left in $2: $(find "$2" -type f)"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# the device every command below opens: the one 'devices' marks with '*'
line=$("$BIN" devices | grep '^\*')
dev=${line#* / }
[ -n "$dev" ] || { echo "FAIL: no default device in 'clrestore devices'"; exit 1; }
NET="--levels 2 --blocks 1 --epochs 1 --batches-per-epoch 1 --batch-size 2 --quiet"
{ "$BIN" simulate -o sim --count 1 --size 128x128 --seed 5 --quiet &&
  "$BIN" prepare -m sim/micrographs.star -o t.h5 --patch 32 --validation-fraction 0 --quiet &&
  "$BIN" train -t t.h5 -o model $NET --filters 4 --expansion 2; } || { echo "FAIL: making the base files"; exit 1; }

# ---- a kernel that does not build: the file, the device, the remedy, then the log
mkdir kd && cp "$SRC"/kernels/*.cl kd/
printf '\n__kernel void broken_on_purpose(__global float *x) { x[0] = not_declared_anywhere; }\n' >> kd/simulate.cl
printf '\n__kernel void broken_on_purpose(__global float *x) { x[0] = not_declared_anywhere; }\n' >> kd/pointwise.cl
for c in "simulate.cl|simulate -o ksim --count 1 --size 64x64 --quiet" \
         "pointwise.cl|denoise -p model/last.h5 --network-only sim/micrographs/sim_0001_DW.mrc -o kout --quiet"; do
  file=${c%%|*}; args=${c#*|}
  err=$(CLRESTORE_KERNEL_DIR="$tmp/kd" "$BIN" $args 2>&1 >/dev/null); check "$file: build failure exit" 1 $?
  # the compiler may print on stderr itself first; our error starts at "clrestore:"
  first=$(printf '%s\n' "$err" | grep -m1 '^clrestore:')
  has "$file: first line names the file" "$first" "$tmp/kd/$file"
  has "$file: first line names the device" "$first" "$dev"
  has "$file: first line says what to do" "$first" "unset CLRESTORE_KERNEL_DIR"
  has "$file: build log follows" "$(printf '%s\n' "$err" | sed -n '/^clrestore:/,$p' | tail -n +2)" "not_declared_anywhere"
done
no_files "build failure outputs" ksim
no_files "build failure outputs" kout

# ---- an activation larger than the largest buffer the device allows. PoCL's
# POCL_MEMORY_LIMIT=1 (GiB) makes that 256 MiB, which a wide model on a
# 1280x1280 micrograph with --tile 1024 exceeds; the automatic tile fits. Wide
# in filters (64: the input conv's output and the skip concat, 64 and 128
# channels at full size), not in expansion: inference never stores a fused
# expand's output (docs/nn.md).
if ! printf '%s' "$line" | grep -q 'Portable Computing Language'; then
  echo "cli_device_faults: SKIPPED the allocation case: needs PoCL's POCL_MEMORY_LIMIT (device: $dev)"
else
  PY=
  for p in python3 /usr/bin/python3; do "$p" -c 'import numpy' 2>/dev/null && { PY=$p; break; }; done
  if [ -z "$PY" ]; then
    echo "cli_device_faults: SKIPPED the allocation case: no python3 with numpy to write the micrograph"
  else
    "$BIN" train -t t.h5 -o wide $NET --filters 64 --expansion 2 || bad "training the wide model"
    # a noise image of 1280x1280 at 1.5 A/px with the first micrograph's header and CTF
    mkdir big
    "$PY" - sim/micrographs/sim_0001_DW.mrc big/big_DW.mrc <<'EOF'
import struct, sys
import numpy as np
h = bytearray(open(sys.argv[1], "rb").read(1024))
n = 1280
struct.pack_into("<3i", h, 0, n, n, 1)
struct.pack_into("<3i", h, 28, n, n, 1)
struct.pack_into("<2f", h, 40, 1.5 * n, 1.5 * n)
struct.pack_into("<i", h, 92, 0)
img = np.random.default_rng(1).normal(100, 10, (n, n)).astype("<f4")
open(sys.argv[2], "wb").write(bytes(h) + img.tobytes())
EOF
    sed 's|micrographs/sim_0001_DW.mrc|big_DW.mrc|' sim/micrographs.star > big/big.star
    err=$(POCL_MEMORY_LIMIT=1 "$BIN" denoise -p wide/last.h5 -m big/big.star -o bout --tile 1024 --quiet 2>&1)
    check "too large --tile exit" 1 $?
    check "too large --tile: one line" 1 "$(printf '%s\n' "$err" | wc -l)"
    has "too large --tile names the micrograph" "$err" "big/big_DW.mrc"
    has "too large --tile names the device" "$err" "$dev"
    has "too large --tile says what to do" "$err" "smaller --tile"
    no_files "too large --tile outputs" bout
  fi
fi

# ---- a device that is not there: what was asked, what there is, where to look
for sel in nosuch 99; do
  err=$("$BIN" denoise -p model/last.h5 --network-only sim/micrographs/sim_0001_DW.mrc -o nodev --device $sel --quiet 2>&1)
  check "--device $sel exit" 1 $?
  check "--device $sel: one line" 1 "$(printf '%s\n' "$err" | wc -l)"
  has "--device $sel named" "$err" "'$sel'"
  has "--device $sel points to the list" "$err" "clrestore devices"
  err=$(CLRESTORE_DEVICE=$sel "$BIN" prepare -m sim/micrographs.star -o nodev/t.h5 --patch 32 --quiet 2>&1)
  check "CLRESTORE_DEVICE=$sel exit" 1 $?
  has "CLRESTORE_DEVICE=$sel named" "$err" "CLRESTORE_DEVICE"
done
err=$("$BIN" snr -p model/last.h5 -m sim/micrographs.star -o nodev/s.csv --device nosuch 2>&1); check "snr --device nosuch" 1 $?
has "--device nosuch lists the devices" "$err" "$dev"
no_files "unknown device outputs" nodev
"$BIN" devices --device nosuch >/dev/null 2>&1; check "devices --device nosuch" 1 $?

echo "cli_device_faults: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
