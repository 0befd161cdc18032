#!/usr/bin/env bash
# clrestore simulate from the command line: usage errors (exit 2), output
# layout of PRODUCT.md, same seed -> byte-identical files, a different
# --noise-seed changes the noise only (truth identical), DW = EVN + ODD is
# checked through `info` means, --map and --model from the shared data.
set -u
BIN=${CLRESTORE_BIN:?}
fail=0; checks=0
check() { checks=$((checks + 1)); if [ "$2" != "$3" ]; then echo "FAIL: $1: got $3, expected $2"; fail=$((fail + 1)); fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$BIN" devices >/dev/null 2>&1 || { echo "SKIP: no OpenCL device"; exit 77; }

"$BIN" simulate >/dev/null 2>&1; check "no -o" 2 $?
"$BIN" simulate -o "$tmp/x" --size 100x7 >/dev/null 2>&1; check "bad size" 2 $?
"$BIN" simulate -o "$tmp/x" --bogus >/dev/null 2>&1; check "unknown option" 2 $?
"$BIN" simulate -o "$tmp/x" --map "$tmp/missing.mrc" -q 2>"$tmp/err"; check "missing map" 1 $?
grep -q "^clrestore: $tmp/missing.mrc: " "$tmp/err"; check "error names the map" 0 $?

args=(--count 2 --size 256x256 --seed 3 -q) # the FFT canvas of the C tests: its plan is cached
"$BIN" simulate -o "$tmp/a" "${args[@]}"; check "simulate a" 0 $?
"$BIN" simulate -o "$tmp/b" "${args[@]}"; check "simulate b" 0 $?
"$BIN" simulate -o "$tmp/c" "${args[@]}" --noise-seed 99; check "simulate c" 0 $?
for f in micrographs.star micrographs/sim_0001_DW.mrc micrographs/sim_0001_EVN.mrc micrographs/sim_0001_ODD.mrc \
         micrographs/sim_0002_DW.mrc truth/sim_0001.mrc truth/sim_0002.mrc; do
  [ -f "$tmp/a/$f" ]; check "$f exists" 0 $?
  cmp -s "$tmp/a/$f" "$tmp/b/$f"; check "$f identical for the same seeds" 0 $?
done
cmp -s "$tmp/a/truth/sim_0002.mrc" "$tmp/c/truth/sim_0002.mrc"; check "truth unchanged by --noise-seed" 0 $?
cmp -s "$tmp/a/micrographs.star" "$tmp/c/micrographs.star"; check "STAR unchanged by --noise-seed" 0 $?
cmp -s "$tmp/a/micrographs/sim_0002_EVN.mrc" "$tmp/c/micrographs/sim_0002_EVN.mrc"; check "EVN changed by --noise-seed" 1 $?
grep -q "micrographs/sim_0002_DW.mrc" "$tmp/a/micrographs.star"; check "STAR names the DW sums" 0 $?
out=$("$BIN" info "$tmp/a/micrographs/sim_0001_DW.mrc" "$tmp/a/micrographs/sim_0001_EVN.mrc" \
      "$tmp/a/micrographs/sim_0001_ODD.mrc")
means=$(echo "$out" | sed -n 's/.*mean \([0-9.e+-]*\) rms.*/\1/p' | tr '\n' ' ')
awk -v m="$means" 'BEGIN { split(m, v, " "); d = v[1] - v[2] - v[3]; exit (d < 1e-3 && d > -1e-3) ? 0 : 1 }'
check "mean DW = mean EVN + mean ODD ($means)" 0 $?
"$BIN" info "$tmp/a/micrographs.star" | grep -q "CTF (defocus) on 2 of 2 rows"; check "info reads the STAR CTF" 0 $?

DATA=${CLRESTORE_SHARED_DATA:-}
if [ -n "$DATA" ] && [ -f "$DATA/maps/tomodrgn_10076_classD_32.mrc" ]; then
  "$BIN" simulate -o "$tmp/m" --count 1 --size 256x256 -q --map "$DATA/maps/tomodrgn_10076_classD_32.mrc" \
    --map-apix 8; check "--map" 0 $?
  "$BIN" simulate -o "$tmp/p" --count 1 --size 256x256 -q --model "$DATA/models/6z6u_apoferritin.pdb"
  check "--model pdb" 0 $?
  "$BIN" simulate -o "$tmp/q" --count 1 --size 256x256 -q --model "$DATA/models/4v1w_apoferritin.cif"
  check "--model cif" 0 $?
else
  echo "note: shared data not found; --map/--model not exercised"
fi
echo "cli_simulate: $checks checks, $fail failed"
[ $fail -eq 0 ]
