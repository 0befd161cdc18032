#!/usr/bin/env bash
# Bit-identical training: two short seeded runs on a committed training set
# must write checkpoints byte-identical to the ones the build of commit
# 77f384b wrote (tests/fixtures/README.md). Any change to the network engine,
# the op order, initialisation, the batch stream or the checkpoint layout that
# alters one bit of the result fails here. The fixture was made on PoCL's CPU
# device with 2 compute units (the weight-gradient reduction splits by the
# compute-unit count), so other devices skip. The convolution parameters are pinned
# (tests/fixtures/regress_conv_params.conv).
set -u
BIN=${CLRESTORE_BIN:?}
FIX=${CLRESTORE_TEST_SRC:?}/fixtures
export POCL_CPU_MAX_CU_NUM=2
# the convolution parameters that made the fixture, whatever the built-in database or a
# tuning cache would choose on this machine (docs/tuning.md)
export CLRESTORE_CONV_PARAMS=$FIX/regress_conv_params.conv
dev=$("$BIN" devices 2>/dev/null | grep '^\*')
case "$dev" in *pthread-*) ;; *) echo "SKIP: the fixture is from PoCL's CPU device; selected: $dev"; exit 77 ;; esac
fail=0; checks=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
gzip -dc "$FIX/regress_trainset.h5.gz" > t.h5
run() { # run NAME EXPECTED.gz TRAIN-OPTIONS...
    local name=$1 want=$2; shift 2
    checks=$((checks + 1))
    if ! "$BIN" train -t t.h5 -o "$name" --epochs 2 --batches-per-epoch 2 --batch-size 2 --quiet "$@" 2>"$name.err"; then
        echo "FAIL: $name: train failed: $(cat "$name.err")"; fail=$((fail + 1)); return
    fi
    gzip -dc "$FIX/$want" > "$name.want.h5"
    if ! cmp "$name.want.h5" "$name/last.h5"; then echo "FAIL: $name: last.h5 differs from $want"; fail=$((fail + 1)); fi
}
run a regress_train_a.h5.gz --levels 2 --blocks 1 --filters 2 --expansion 2 --seed 3
run b regress_train_b.h5.gz --levels 1 --blocks 2 --filters 3 --expansion 2 --seed 4 --augment
# info on the fixture: parameters and multiply-adds as the pre-rework code counted them
# (its own conv list and a MAC count parsing layer names), the receptive field as
# test_cl_waunet_field measures it on the device
info() { # info DESCRIPTION FILE NEEDLE
    checks=$((checks + 1))
    local out; out=$("$BIN" info "$2" 2>&1)
    case "$out" in *"$3"*) ;; *) echo "FAIL: info $1: lacks '$3': $out"; fail=$((fail + 1)) ;; esac
}
info "a counts" a.want.h5 "29 convolutions, 4383 parameters, 705.2 multiply-adds per output pixel"
info "a field" a.want.h5 "receptive field: 13 pixels before, 22 after, per axis"
info "b counts" b.want.h5 "5128 parameters, 1397.2 multiply-adds per output pixel"
echo "cli_train_regress: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
