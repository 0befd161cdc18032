#!/usr/bin/env bash
# prepare, denoise and snr on a cryoSPARC exposure file written by
# cryosparc-tools (tests/fixtures/cs/sim_exposures.cs, the micrographs of
# `simulate --count 2 --size 256x256 --seed 4`): the same files as through the
# RELION STAR holding the same float32 values, the .cs in a job directory of
# a project (paths relative to the project), and bad .cs files refused with
# one line naming the file, nothing written.
set -u
BIN=${CLRESTORE_BIN:?}
FIX=${CLRESTORE_TEST_SRC:?}/fixtures/cs
fail=0; checks=0
check() { checks=$((checks + 1)); if [ "$2" != "$3" ]; then echo "FAIL: $1: got $3, expected $2"; fail=$((fail + 1)); fi; }
has() { checks=$((checks + 1)); case "$2" in *"$3"*) ;; *) echo "FAIL: $1: '$3' not in: $2"; fail=$((fail + 1)) ;; esac; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$BIN" simulate -o sim --count 2 --size 256x256 --seed 4 --quiet
cp "$FIX/sim_exposures.cs" "$FIX/sim_exposures_equivalent.star" sim/

"$BIN" prepare -m sim/sim_exposures.cs -o t_cs.h5 --patch 32 --quiet; check "prepare .cs" 0 $?
"$BIN" prepare -m sim/sim_exposures_equivalent.star -o t_star.h5 --patch 32 --quiet; check "prepare STAR" 0 $?
check "same training set" "$("$BIN" info t_star.h5 | sed 1d)" "$("$BIN" info t_cs.h5 | sed 1d)"
"$BIN" train -t t_cs.h5 -o model --levels 2 --blocks 1 --filters 4 --expansion 2 --epochs 1 --batches-per-epoch 2 \
  --batch-size 2 --quiet; check "train" 0 $?

"$BIN" denoise -p model/last.h5 -m sim/sim_exposures.cs -o out_cs --quiet; check "denoise .cs" 0 $?
"$BIN" denoise -p model/last.h5 -m sim/sim_exposures_equivalent.star -o out_star --quiet; check "denoise STAR" 0 $?
for f in out_star/*.mrc; do
  cmp -s "$f" "out_cs/$(basename "$f")"; check "identical output $(basename "$f")" 0 $?
done
check "two outputs" 2 "$(ls out_cs/*.mrc | wc -l)"
star=$(cat out_cs/denoised_micrographs.star)
has "output STAR optics" "$star" "data_optics"
has "output STAR lists" "$star" "sim_0002_DW_denoised.mrc 1 "
has "output STAR defocus" "$star" "_rlnDefocusU"
if command -v relion_star_handler >/dev/null; then # RELION reads the STAR made for a .cs input
  relion_star_handler --i out_cs/denoised_micrographs.star --o out_cs/sel.star --select rlnDefocusU \
    --minval 0 --maxval 1e6 >sh.log 2>&1; check "relion_star_handler on the .cs output" 0 $?
  has "RELION read both rows" "$(cat sh.log)" "with 2 item(s)"
fi

"$BIN" snr -p model/last.h5 -m sim/sim_exposures.cs -o snr_cs.csv --patch 32 --quiet >/dev/null; check "snr .cs" 0 $?
"$BIN" snr -p model/last.h5 -m sim/sim_exposures_equivalent.star -o snr_star.csv --patch 32 --quiet >/dev/null
cmp -s snr_cs.csv snr_star.csv; check "same snr table" 0 $?

# a job directory of a project: PROJECT/J3/J3_exposures.cs names micrographs/... from PROJECT
mkdir -p sim/J3 && cp "$FIX/sim_exposures.cs" sim/J3/J3_exposures.cs
"$BIN" denoise -p model/last.h5 -m sim/J3/J3_exposures.cs -o out_proj --quiet; check "denoise from a job dir" 0 $?
cmp -s out_star/sim_0001_DW_denoised.mrc out_proj/sim_0001_DW_denoised.mrc; check "job-dir output identical" 0 $?

out=$("$BIN" info sim/sim_exposures.cs); check "info .cs" 0 $?
has "info: exposures" "$out" "cryoSPARC exposures"
has "info: rows" "$out" "2 rows named by _rlnMicrographName, 1 optics group"
has "info: pixel size" "$out" "pixel size 1.5000 A"

# bad files: one line naming the file, exit 1, nothing written
head -c 700 "$FIX/sim_exposures.cs" > trunc.cs
cp "$FIX/exposures_csdat.cs" csdat.cs
printf 'not numpy at all' > junk.cs
for bad in trunc.cs csdat.cs junk.cs; do
  err=$("$BIN" denoise -p model/last.h5 -m $bad -o bad_out 2>&1); check "$bad refused" 1 $?
  check "$bad one line" 1 "$(printf '%s\n' "$err" | wc -l)"
  has "$bad named" "$err" "clrestore: $bad: "
  "$BIN" info $bad >/dev/null 2>&1; check "$bad refused by info" 1 $?
  err=$("$BIN" prepare -m $bad -o bad.h5 2>&1); check "$bad refused by prepare" 1 $?
  has "$bad named by prepare" "$err" "$bad: "
done
has "truncation explained" "$("$BIN" denoise -p model/last.h5 -m trunc.cs -o bad_out 2>&1)" "truncated"
has "CSDAT explained" "$("$BIN" denoise -p model/last.h5 -m csdat.cs -o bad_out 2>&1)" "CSDAT"
[ ! -e bad_out/denoised_micrographs.star ] && [ ! -e bad.h5 ]; check "nothing written" 0 $?

echo "cli_cryosparc: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
