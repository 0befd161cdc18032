#!/usr/bin/env bash
# --shard I/N (Slurm array jobs, no MPI): denoise shards joined by star-merge
# and prepare shards joined by prepare --merge equal one run over all inputs,
# byte for byte for the MRCs and the STAR listing, dataset for dataset (read
# back by h5py) for the training set; incomplete or mixed shard sets refused.
set -u
BIN=${CLRESTORE_BIN:?}
fail=0; checks=0
check() { checks=$((checks + 1)); if [ "$2" != "$3" ]; then echo "FAIL: $1: got $3, expected $2"; fail=$((fail + 1)); fi; }
has() { checks=$((checks + 1)); case "$2" in *"$3"*) ;; *) echo "FAIL: $1: '$3' not in: $2"; fail=$((fail + 1)) ;; esac; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$BIN" simulate -o sim --count 5 --size 256x256 --seed 6 --quiet
"$BIN" prepare -m sim/micrographs.star -o t.h5 --patch 32 --validation-fraction 0.4 --quiet; check "prepare" 0 $?
"$BIN" train -t t.h5 -o model --levels 2 --blocks 1 --filters 4 --expansion 2 --epochs 1 --batches-per-epoch 2 \
  --batch-size 2 --quiet

# denoise: 3 shards of 5 micrographs (blocks of 1, 2, 2), merged in any order given
"$BIN" denoise -p model/last.h5 -m sim/micrographs.star -o one --quiet; check "one run" 0 $?
for i in 3 1 2; do "$BIN" denoise -p model/last.h5 -m sim/micrographs.star -o sh --shard $i/3 --quiet; check "shard $i/3" 0 $?; done
check "shard 1 lists one" 1 "$(grep -c '_denoised.mrc' sh/denoised_micrographs.shard_1_of_3.star)"
[ ! -f sh/denoised_micrographs.star ]; check "shards write no full listing" 0 $?
"$BIN" star-merge -o sh/denoised_micrographs.star sh/denoised_micrographs.shard_{2,3,1}_of_3.star --quiet; check "star-merge" 0 $?
checks=$((checks + 1)); diff -r one sh -x '*.shard_*' >/dev/null || { echo "FAIL: shards + merge differ from one run: $(diff -rq one sh -x '*.shard_*')"; fail=$((fail + 1)); }
err=$("$BIN" star-merge -o x.star sh/denoised_micrographs.shard_{1,3}_of_3.star 2>&1); check "missing shard" 1 $?
has "missing shard explained" "$err" "2 of 3 shard outputs"
err=$("$BIN" star-merge -o x.star sh/denoised_micrographs.shard_{1,1,3}_of_3.star 2>&1); check "shard twice" 1 $?
[ ! -f x.star ]; check "nothing written on refusal" 0 $?
"$BIN" denoise -p model/last.h5 -m sim/micrographs.star -o x --shard 0/3 2>/dev/null; check "bad --shard" 2 $?

# prepare: 2 shards joined = one run (validation picked over all rows)
for i in 1 2; do "$BIN" prepare -m sim/micrographs.star -o ts.h5 --patch 32 --validation-fraction 0.4 --shard $i/2 --quiet; check "prepare shard $i/2" 0 $?; done
[ -f ts.shard_1_of_2.h5 ] && [ -f ts.shard_2_of_2.h5 ]; check "shard sets named" 0 $?
"$BIN" prepare --merge -o ts.h5 ts.shard_2_of_2.h5 ts.shard_1_of_2.h5 --quiet; check "prepare --merge" 0 $?
err=$("$BIN" prepare --merge -o y.h5 ts.shard_2_of_2.h5 2>&1); check "merge of 1 of 2" 1 $?
has "incomplete named" "$err" "ts.shard_2_of_2.h5"
PY=
for p in python3 /usr/bin/python3; do "$p" -c 'import h5py, numpy' 2>/dev/null && { PY=$p; break; }; done
if [ -n "$PY" ]; then
  "$PY" - t.h5 ts.h5 <<'PYEOF'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert sorted(a.keys()) == sorted(b.keys()), (list(a.keys()), list(b.keys()))
for k in a.keys():
    x, y = a[k][()], b[k][()]
    assert x.shape == y.shape and x.dtype == y.dtype and np.array_equal(x, y), k
assert dict(a.attrs).keys() == dict(b.attrs).keys()
for k in a.attrs:
    assert np.array_equal(np.asarray(a.attrs[k]), np.asarray(b.attrs[k])), k
assert a["validation"][()].sum() == 2, a["validation"][()]
PYEOF
  check "merged training set = one run (h5py)" 0 $?
else
  echo "cli_shard: no python3 with h5py: training-set contents not compared"
fi
checks=$((checks + 1)); ! find . -name '*.tmp.*' | grep -q . || { echo "FAIL: temporary files left"; fail=$((fail + 1)); }

echo "cli_shard: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
