#!/usr/bin/env bash
# The bad-input corpus (tests/bad/make_corpus.py, made at test time from a tiny
# simulate/prepare/train run) through every command that reads it. For each
# case: exit status exactly 1 (no signal), stderr exactly one line naming the
# offending file and the problem, no output left anywhere (temporary files
# included), and no input modified (every file's checksum and time unchanged).
set -u
BIN=${CLRESTORE_BIN:?}
SRC=${CLRESTORE_TEST_SRC:?}
fail=0; checks=0; cases=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# numpy + h5py write the HDF5 cases; Debian's python3-h5py (ci/setup.sh) lives
# under /usr/bin/python3, which may not be the first python3 on PATH.
PY=
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import h5py, numpy' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "cli_bad_inputs: SKIPPED: no python3 with h5py and numpy (ci/setup.sh installs python3-h5py)"; exit 77; }

tmp=$(mktemp -d); trap 'chmod -R u+rwX "$tmp"; rm -rf "$tmp"' EXIT
cd "$tmp"
NET="--levels 2 --blocks 1 --filters 4 --expansion 2 --batches-per-epoch 1 --batch-size 2 --quiet"
{ "$BIN" simulate -o sim --count 2 --size 128x128 --seed 5 --quiet &&
  "$BIN" prepare -m sim/micrographs.star -o t.h5 --patch 32 --quiet &&
  "$BIN" train -t t.h5 -o model $NET --epochs 1 &&
  "$PY" "$SRC/bad/make_corpus.py" . bad; } || { echo "FAIL: making the base files and the corpus"; exit 1; }
# file-system cases
mkdir bad/dir_DW.mrc bad/dir.star bad/dir.h5
cp bad/h5/foreign.h5 bad/noread.h5 && chmod 000 bad/noread.h5
cp sim/micrographs/sim_0001_DW.mrc bad/noread_DW.mrc && chmod 000 bad/noread_DW.mrc
cp bad/eo/shape.star bad/noread.star && chmod 000 bad/noread.star
# a model directory whose last.h5 is corrupt, for --resume
mkdir resume && cp model/* resume/ && cp bad/h5/ckpt_truncated_file.h5 resume/last.h5
mkdir out

# Every file in the work directory: type, name, size, time, mode and checksum.
# (Directories are left out: an output directory made before the failure is
# allowed to stay, empty; anything written into it shows here.)
snapshot() {
  find . ! -type d -printf '%y %p %s %T@ %m\n' | sort
  find . -type f -readable -print0 | sort -z | xargs -0 cksum
}

# case NAME FILE KEYWORDS COMMAND...: COMMAND must fail on FILE with exit 1 and
# one line that names FILE and matches KEYWORDS (an extended regex, any case).
# Outputs go to out/NAME*, which must not exist afterwards.
case_() {
  local name=$1 file=$2 keys=$3; shift 3
  cases=$((cases + 1)); checks=$((checks + 5))
  local before after err rc
  before=$(snapshot)
  err=$("$@" 2>&1 >/dev/null); rc=$?
  after=$(snapshot)
  [ -z "${BAD_INPUTS_VERBOSE:-}" ] || printf '%-36s %s\n' "$name:" "$err"
  if [ $rc -ge 128 ]; then bad "$name: killed by signal $((rc - 128))"
  elif [ $rc -ne 1 ]; then bad "$name: exit $rc, expected 1"; fi
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [ -n "$err" ] || bad "$name: stderr is not one line: $err"
  case "$err" in *"$file"*) ;; *) bad "$name: '$file' not named: $err" ;; esac
  printf '%s\n' "$err" | grep -qiE "$keys" || bad "$name: no '$keys' in: $err"
  if [ "$before" != "$after" ]; then
    bad "$name: files changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -4 | tr '\n' ' ')"
  fi
}

# ---- MRC: info, and denoise (network alone, file mode) ---------------------
P="model/last.h5"
mrc_case() { # NAME KEYWORDS
  local f=bad/mrc/$1_DW.mrc
  case_ "info $1" "$f" "$2" "$BIN" info "$f"
  case_ "denoise $1" "$f" "$2" "$BIN" denoise -p $P --network-only "$f" -o "out/$1" --quiet
}
mrc_case truncated "header says.*bytes"
mrc_case short_header "truncat|short|header"
mrc_case exthdr_too_big "extended header"
mrc_case nx_zero "dimension|size"
mrc_case ny_negative "dimension|size"
mrc_case nz_negative "dimension|size"
mrc_case huge_dims "header says.*bytes"
mrc_case mode_unknown "mode"
mrc_case mode_negative "mode"
mrc_case nan_pixel "NaN"
mrc_case inf_pixel "Inf"
mrc_case empty "empty|short|truncat"
for f in bad/dir_DW.mrc; do
  case_ "info directory" "$f" "directory" "$BIN" info "$f"
  case_ "denoise directory" "$f" "directory" "$BIN" denoise -p $P --network-only "$f" -o out/dir --quiet
done
# the full pipeline (from a STAR file with the CTF) reads the micrograph too
case_ "denoise full truncated" bad/mrc/truncated_DW.mrc "header says.*bytes" \
  "$BIN" denoise -p $P -m bad/mrc/truncated.star -o out/full --quiet
case_ "denoise full NaN" bad/mrc/nan_pixel_DW.mrc "NaN" \
  "$BIN" denoise -p $P -m bad/mrc/nan_pixel.star -o out/full --quiet
# without -o: nothing may appear beside the input
case_ "denoise beside input" bad/mrc/mode_unknown_DW.mrc "mode" \
  "$BIN" denoise -p $P --network-only bad/mrc/mode_unknown_DW.mrc --quiet

# ---- even/odd pairs: prepare and snr ---------------------------------------
case_ "prepare shape mismatch" bad/eo/shape_ODD.mrc "shape|size|dimension" \
  "$BIN" prepare -m bad/eo/shape.star -o out/shape.h5 --patch 32 --quiet
case_ "snr shape mismatch" bad/eo/shape_ODD.mrc "shape|size|dimension" \
  "$BIN" snr -p $P -m bad/eo/shape.star -o out/shape.csv --quiet
case_ "prepare truncated ODD" bad/eo/oddtrunc_ODD.mrc "header says.*bytes" \
  "$BIN" prepare -m bad/eo/oddtrunc.star -o out/oddtrunc.h5 --patch 32 --quiet
case_ "prepare NaN in ODD" bad/eo/oddnan_ODD.mrc "NaN" \
  "$BIN" prepare -m bad/eo/oddnan.star -o out/oddnan.h5 --patch 32 --quiet
case_ "snr NaN in ODD" bad/eo/oddnan_ODD.mrc "NaN" \
  "$BIN" snr -p $P -m bad/eo/oddnan.star -o out/oddnan.csv --quiet

# ---- STAR: info, prepare, denoise, snr -------------------------------------
star_case() { # NAME KEYWORDS COMMANDS (i = info, p = prepare, d = denoise, s = snr)
  local f=bad/star/$1.star
  case $3 in *i*) case_ "info $1" "$f" "$2" "$BIN" info "$f" ;; esac
  case $3 in *p*) case_ "prepare $1" "$f" "$2" "$BIN" prepare -m "$f" -o "out/$1.h5" --patch 32 --quiet ;; esac
  case $3 in *d*) case_ "denoise $1" "$f" "$2" "$BIN" denoise -p $P -m "$f" -o "out/$1" --quiet ;; esac
  case $3 in *s*) case_ "snr $1" "$f" "$2" "$BIN" snr -p $P -m "$f" -o "out/$1.csv" --quiet ;; esac
}
star_case no_name_column "_rlnMicrographName" pds
star_case no_defocus "defocus|CTF" pd
star_case defocus_text "not a number" ipds
star_case defocus_nan "defocus|not a number|finite" pd
star_case unterminated_quote "quote" ip
star_case duplicate_column "duplicate" ip
star_case short_row "row|value|column" ip
star_case no_rows "no micrographs|no rows|empty" pd
star_case empty "empty|no data" ip
star_case binary "NUL|binary|not a STAR" ip
case_ "denoise pixel-size mismatch" bad/star/coarse_DW.mrc "pixel size" \
  "$BIN" denoise -p $P -m bad/star/coarse.star -o out/coarse --quiet
case_ "snr pixel-size mismatch" bad/star/coarse_EVN.mrc "pixel size" \
  "$BIN" snr -p $P -m bad/star/coarse.star -o out/coarse.csv --quiet
case_ "info STAR directory" bad/dir.star "directory" "$BIN" info bad/dir.star
case_ "prepare STAR directory" bad/dir.star "directory" "$BIN" prepare -m bad/dir.star -o out/dir.h5 --quiet

# ---- HDF5: checkpoints (denoise, snr, train --initial-model), training sets (train)
model_case() { # NAME KEYWORDS [more commands: s = snr, i = info, t = train --initial-model]
  local f=bad/h5/$1.h5
  case_ "denoise -p $1" "$f" "$2" "$BIN" denoise -p "$f" --network-only sim/micrographs/sim_0001_DW.mrc -o "out/$1" --quiet
  case ${3:-} in *s*) case_ "snr -p $1" "$f" "$2" "$BIN" snr -p "$f" -m sim/micrographs.star -o "out/$1.csv" --quiet ;; esac
  case ${3:-} in *i*) case_ "info $1" "$f" "$2" "$BIN" info "$f" ;; esac
  case ${3:-} in *t*) case_ "train --initial-model $1" "$f" "$2" "$BIN" train -t t.h5 -o "out/$1" $NET --epochs 1 --initial-model "$f" ;; esac
}
model_case foreign "not a clrestore checkpoint|format" st
model_case not_hdf5 "HDF5" si
model_case empty "HDF5|empty" i
model_case ckpt_truncated_file "HDF5|truncat" i
model_case ckpt_arch_levels "layer|architecture|shape" t
model_case ckpt_arch_filters "layer|architecture|shape"
model_case ckpt_layer_shape "layers/003|shape"
model_case ckpt_short_dataset "layers/005|shape|size"
model_case ckpt_short_bias "layers/012|shape|size"
model_case ckpt_missing_layer "layers/007|missing"
model_case ckpt_version "version" i
model_case ckpt_nan_weight "NaN|finite"
case_ "denoise -p training set" t.h5 "not a clrestore checkpoint|checkpoint" \
  "$BIN" denoise -p t.h5 --network-only sim/micrographs/sim_0001_DW.mrc -o out/tsmodel --quiet
case_ "denoise -p directory" bad/dir.h5 "directory" \
  "$BIN" denoise -p bad/dir.h5 --network-only sim/micrographs/sim_0001_DW.mrc -o out/dirmodel --quiet
case_ "train --resume truncated last.h5" resume/last.h5 "HDF5|truncat" \
  "$BIN" train -t t.h5 -o resume $NET --epochs 2 --resume

# a valid HDF5 file that is neither a training set nor a checkpoint: info
# describes it (its attribute and dataset as make_corpus.py wrote them), exit 0
checks=$((checks + 3))
out=$("$BIN" info bad/h5/foreign.h5 2>&1); rc=$?
[ $rc -eq 0 ] || bad "info foreign.h5: exit $rc: $out"
case "$out" in *"creator = someone else"*) ;; *) bad "info foreign.h5: attribute not listed: $out" ;; esac
printf '%s\n' "$out" | grep -qE '^ *data +float32 +10x10$' || bad "info foreign.h5: dataset not listed: $out"

ts_case() { # NAME KEYWORDS
  case_ "train -t $1" "$2" "$3" "$BIN" train -t "$2" -o "out/$1" $NET --epochs 1
}
ts_case foreign bad/h5/foreign.h5 "even|training set"
ts_case checkpoint model/last.h5 "even|training set"
ts_case not_hdf5 bad/h5/not_hdf5.h5 "HDF5"
ts_case empty bad/h5/empty.h5 "HDF5|empty"
ts_case directory bad/dir.h5 "directory"
ts_case truncated_file bad/h5/ts_truncated_file.h5 "HDF5|truncat"
ts_case odd_short bad/h5/ts_odd_short.h5 "odd|shape|patches"
ts_case no_odd bad/h5/ts_no_odd.h5 "odd"
ts_case nonsquare bad/h5/ts_nonsquare.h5 "square|shape"
ts_case nan bad/h5/ts_nan.h5 "NaN|finite"
ts_case micrograph_index bad/h5/ts_micrograph_index.h5 "micrograph"

# ---- unreadable files: root reads everything, so run those as nobody -------
if [ "$(id -u)" -ne 0 ]; then AS=()
elif command -v setpriv >/dev/null && chmod o+rx "$tmp" && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null &&
     setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$BIN"; then
  AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else AS=(); echo "cli_bad_inputs: SKIPPED the unreadable-file cases: running as root, who reads everything"; fi
if [ "$(id -u)" -ne 0 ] || [ ${#AS[@]} -gt 0 ]; then
  case_ "info unreadable MRC" bad/noread_DW.mrc "permission" "${AS[@]}" "$BIN" info bad/noread_DW.mrc
  case_ "info unreadable STAR" bad/noread.star "permission" "${AS[@]}" "$BIN" info bad/noread.star
  case_ "info unreadable HDF5" bad/noread.h5 "permission" "${AS[@]}" "$BIN" info bad/noread.h5
fi

echo "cli_bad_inputs: $cases cases, $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
