#!/usr/bin/env bash
# denoise, the full pipeline: outputs of the input's shape and pixel size, a
# STAR listing them with the input's other columns, previews, identical
# results on two parallel workers, --skip-existing, and refusals (output =
# input, no CTF for phase flipping, pixel-size mismatch) that write nothing.
set -u
BIN=${CLRESTORE_BIN:?}
fail=0; checks=0
check() { checks=$((checks + 1)); if [ "$2" != "$3" ]; then echo "FAIL: $1: got $3, expected $2"; fail=$((fail + 1)); fi; }
has() { checks=$((checks + 1)); case "$2" in *"$3"*) ;; *) echo "FAIL: $1: '$3' not in: $2"; fail=$((fail + 1)) ;; esac; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$BIN" simulate -o sim --count 3 --size 384x320 --seed 4 --quiet
"$BIN" prepare -m sim/micrographs.star -o t.h5 --patch 32 --quiet
"$BIN" train -t t.h5 -o model --levels 2 --blocks 1 --filters 4 --expansion 2 --epochs 1 --batches-per-epoch 2 \
  --batch-size 2 --quiet

"$BIN" denoise -p model/last.h5 -m sim/micrographs.star -o out --preview --quiet; check "denoise" 0 $?
out=$("$BIN" info out/sim_0002_DW_denoised.mrc)
has "shape" "$out" "384 x 320 x 1, mode 2"
has "pixel size" "$out" "pixel size 1.5000 A"
[ -f out/sim_0002_DW_denoised_preview.png ]; check "preview" 0 $?
star=$(cat out/denoised_micrographs.star)
has "star lists outputs" "$star" "sim_0003_DW_denoised.mrc 1 "
has "star keeps optics" "$star" "data_optics"
has "star keeps defocus" "$star" "_rlnDefocusU"

"$BIN" denoise -p model/last.h5 -m sim/micrographs.star -o out2 --devices 0,0 --quiet; check "two workers" 0 $?
for f in out/*.mrc; do cmp -s "$f" "out2/$(basename "$f")"; check "identical on two workers: $(basename "$f")" 0 $?; done

touch -d '2000-01-01' out/sim_0001_DW_denoised.mrc
"$BIN" denoise -p model/last.h5 -m sim/micrographs.star -o out --skip-existing --quiet; check "skip existing" 0 $?
check "existing output untouched" 2000 "$(date -r out/sim_0001_DW_denoised.mrc +%Y)"

# beside the inputs (no -o): names relative to the STAR file
"$BIN" denoise -p model/last.h5 -m sim/micrographs.star --quiet; check "beside inputs" 0 $?
[ -f sim/micrographs/sim_0001_DW_denoised.mrc ]; check "output beside input" 0 $?
has "relative names" "$(cat sim/denoised_micrographs.star)" "micrographs/sim_0001_DW_denoised.mrc"

# refusals
sum=$(cksum < sim/micrographs/sim_0001_DW.mrc)
err=$("$BIN" denoise -p model/last.h5 --no-phaseflip --suffix '' sim/micrographs/sim_0001_DW.mrc 2>&1); check "output = input" 1 $?
has "overwrite named" "$err" "overwrite"
check "input untouched" "$sum" "$(cksum < sim/micrographs/sim_0001_DW.mrc)"
"$BIN" denoise -p model/last.h5 sim/micrographs/sim_0001_DW.mrc -o x >/dev/null 2>&1; check "no CTF for phase flip" 2 $?
"$BIN" denoise -p model/last.h5 --no-phaseflip sim/micrographs/sim_0001_DW.mrc -o files --quiet 2>/dev/null; check "files without CTF" 0 $?
[ -f files/sim_0001_DW_denoised.mrc ] && [ -f files/denoised_micrographs.star ]; check "file mode outputs" 0 $?
"$BIN" simulate -o coarse --count 1 --size 256x256 --apix 3.0 --seed 2 --quiet
err=$("$BIN" denoise -p model/last.h5 -m coarse/micrographs.star -o c 2>&1); check "pixel-size mismatch" 1 $?
has "mismatch explained" "$err" "pixel size mismatch"
[ ! -f c/sim_0001_DW_denoised.mrc ]; check "nothing written on mismatch" 0 $?
# a corrupt micrograph among good ones: the others are denoised, it is named, exit 1
mkdir -p mixed && cp sim/micrographs/sim_000[12]_DW.mrc mixed/ && head -c 5000 sim/micrographs/sim_0003_DW.mrc > mixed/bad_DW.mrc
err=$("$BIN" denoise -p model/last.h5 --no-phaseflip mixed/sim_0001_DW.mrc mixed/bad_DW.mrc mixed/sim_0002_DW.mrc -o mo 2>&1)
check "corrupt among good" 1 $?
has "corrupt named" "$err" "mixed/bad_DW.mrc"
[ -f mo/sim_0001_DW_denoised.mrc ] && [ -f mo/sim_0002_DW_denoised.mrc ] && [ ! -f mo/bad_DW_denoised.mrc ]
check "good ones denoised" 0 $?
# an output directory that cannot be made; a missing model; a model of another architecture works (any architecture denoises)
: > notadir
err=$("$BIN" denoise -p model/last.h5 -m sim/micrographs.star -o notadir/out 2>&1); check "unwritable output dir" 1 $?
has "output dir named" "$err" "notadir"
err=$("$BIN" denoise -p nomodel.h5 -m sim/micrographs.star -o x 2>&1); check "missing model" 1 $?
has "model named" "$err" "nomodel.h5"
checks=$((checks + 1)); ! find . -name '*.tmp.*' | grep -q . || { echo "FAIL: temporary files left"; fail=$((fail + 1)); }

echo "cli_denoise: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
