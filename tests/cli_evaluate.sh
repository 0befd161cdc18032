#!/usr/bin/env bash
# clrestore evaluate (and snr's linear baseline) on a tiny simulated set:
# usage errors; the CSV's columns; orderings that hold by construction
# (the oracle ring Wiener filter maximises the true SNR over non-negative
# ring filters, so it is >= the even/odd Wiener filter and >= the raw sum;
# the Gaussian search includes no filter, so it is >= raw) and the even half
# near half the sum's SNR (half the dose); a noise-free data set (the truth
# as sum, even and odd) has infinite true SNR; with a model, a finite
# denoised SNR and the comparison line; snr's Wiener columns and summary.
set -u
BIN=${CLRESTORE_BIN:?}
fail=0; checks=0
check() { checks=$((checks + 1)); if [ "$2" != "$3" ]; then echo "FAIL: $1: got $3, expected $2"; fail=$((fail + 1)); fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$BIN" devices >/dev/null 2>&1 || { echo "SKIP: no OpenCL device"; exit 77; }
cd "$tmp"

"$BIN" evaluate -o e.csv >/dev/null 2>&1; check "no -m" 2 $?
"$BIN" evaluate -m x.star -o e.csv -p m.h5 --max-resolution 6 >/dev/null 2>&1; check "-p with --max-resolution" 2 $?

"$BIN" simulate -o sim --count 2 --size 256x256 --seed 3 -q || { echo "FAIL: simulate"; exit 1; }
"$BIN" evaluate -m sim/micrographs.star -o e.csv --plot e --quiet > e.txt; check "evaluate" 0 $?
head -1 e.csv | grep -qx "micrograph,snr_raw,snr_even,snr_gaussian,snr_wiener_eo,snr_wiener_oracle,snr_denoised,gaussian_sigma_A"
check "CSV header" 0 $?
[ "$(tail -n +2 e.csv | wc -l)" = 2 ]; check "two rows" 0 $?
[ -s e_evaluate.png ]; check "plot written" 0 $?
grep -q "median (gain over the raw sum): raw" e.txt; check "summary line" 0 $?
awk -F, 'NR > 1 { raw = $2; even = $3; g = $4; eo = $5; or = $6
  if (!(or >= eo * (1 - 1e-6) && or >= raw * (1 - 1e-6) && g >= raw * (1 - 1e-6) && eo > 1.2 * raw)) bad++
  if (!(even > 0.35 * raw && even < 0.65 * raw) || $7 != "nan") bad++ }
  END { exit bad > 0 }' e.csv
check "oracle >= wiener_eo > raw, gaussian >= raw, even ~ raw/2 ($(tail -n +2 e.csv | tr '\n' ' '))" 0 $?

# noise-free: the truth as sum and halves; its truth is itself
mkdir -p clean/micrographs
for i in 0001 0002; do for s in DW EVN ODD; do cp sim/truth/sim_$i.mrc clean/micrographs/sim_${i}_$s.mrc; done; done
cp sim/micrographs.star clean/
"$BIN" evaluate -m clean/micrographs.star -o c.csv --truth sim/truth --quiet >/dev/null; check "evaluate noise-free" 0 $?
awk -F, 'NR > 1 { if ($2 != "inf" || $5 != "inf" || $6 != "inf") bad++ } END { exit bad > 0 }' c.csv
check "noise-free: raw, wiener_eo and oracle infinite ($(tail -n +2 c.csv | tr '\n' ' '))" 0 $?

rm sim/truth/sim_0002.mrc
"$BIN" evaluate -m sim/micrographs.star -o m.csv --quiet 2> err >/dev/null; check "a truth missing" 1 $?
grep -q "^clrestore: .*sim/truth/sim_0002.mrc" err; check "error names the truth ($(cat err))" 0 $?
[ "$(tail -n +2 m.csv | wc -l)" = 1 ]; check "the other micrograph still evaluated" 0 $?
cp clean/micrographs/sim_0002_DW.mrc sim/truth/sim_0002.mrc

# with a (barely trained) model
NET="--levels 2 --blocks 1 --filters 4 --expansion 2 --batches-per-epoch 2 --batch-size 2 --epochs 1 --quiet"
"$BIN" prepare -m sim/micrographs.star -o t.h5 --patch 32 --quiet && "$BIN" train -t t.h5 -o model $NET ||
  { echo "FAIL: prepare/train"; exit 1; }
"$BIN" evaluate -m sim/micrographs.star -p model/last.h5 -o d.csv --quiet > d.txt; check "evaluate -p" 0 $?
awk -F, 'NR > 1 { if (!($7 + 0 > 0) || $7 == "inf") bad++ } END { exit bad > 0 }' d.csv
check "finite denoised SNR ($(tail -n +2 d.csv | tr '\n' ' '))" 0 $?
grep -q "^denoised / wiener_eo: x" d.txt; check "comparison line" 0 $?

"$BIN" snr -p model/last.h5 -m sim/micrographs.star -o s.csv --spectral sp.csv --patch 64 --plot s --quiet > s.txt
check "snr" 0 $?
head -1 s.csv | grep -q ",snbr,var_n_wiener,var_b_wiener,snr_wiener,snbr_wiener$"; check "snr CSV Wiener columns" 0 $?
awk -F, 'NR > 1 { if (NF != 12 || !($11 > $6)) bad++ } END { exit bad > 0 }' s.csv
check "snr: Wiener SNR above raw ($(tail -n +2 s.csv | tr '\n' ' '))" 0 $?
head -1 sp.csv | grep -q ",bias_wiener,noise_wiener,ssnr_wiener$"; check "spectral Wiener columns" 0 $?
grep -q "^linear baseline (even/odd Wiener filter): SNR median .* the network \(beats\|does not beat\) the linear filter" s.txt
check "snr summary names the baseline ($(tail -1 s.txt))" 0 $?
[ -s s_snr.png ] && [ -s s_spectral.png ]; check "snr plots" 0 $?

echo "cli_evaluate: $checks checks, $fail failed"
[ $fail -eq 0 ]
