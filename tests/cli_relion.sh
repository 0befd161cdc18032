#!/usr/bin/env bash
# RELION 3.1's own programs on clrestore: its pipeliner runs the External-job
# wrappers (scripts/relion/) for training and denoising in a RELION project,
# reads their output nodes and marks the jobs finished; relion_star_handler
# selects from denoised_micrographs.star by defocus; relion_image_handler
# --stats gives the pixel size and statistics clrestore wrote; relion_preprocess
# extracts particles at known coordinates from the denoised micrographs, and
# each extracted box holds exactly our pixels. Also the wrapper called by hand
# as RELION calls it: failure and abort markers. Skips without RELION.
set -u
BIN=${CLRESTORE_BIN:?}
SRC=${CLRESTORE_TEST_SRC:?}/..
for p in relion_pipeliner relion_star_handler relion_image_handler relion_preprocess; do
  command -v $p >/dev/null || { echo "SKIP: $p not installed (Debian package relion; ci/setup.sh installs it)"; exit 77; }
done
fail=0; checks=0
check() { checks=$((checks + 1)); if [ "$2" != "$3" ]; then echo "FAIL: $1: got $3, expected $2"; fail=$((fail + 1)); fi; }
has() { checks=$((checks + 1)); case "$2" in *"$3"*) ;; *) echo "FAIL: $1: '$3' not in: $2"; fail=$((fail + 1)) ;; esac; }
tmp=$(mktemp -d); [ -n "${KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT; [ -z "${KEEP:-}" ] || echo "kept $tmp"
cd "$tmp"
# the wrappers as cmake installs them: one script under two names
mkdir bin
cp "$SRC/scripts/relion/clrestore_relion_external" bin/clrestore_relion_train
cp "$SRC/scripts/relion/clrestore_relion_external" bin/clrestore_relion_denoise
export CLRESTORE=$BIN # the wrappers' clrestore (installed: the one beside them)

# a RELION project: micrographs with CTF, an empty pipeline
"$BIN" simulate -o Sim --count 2 --size 256x256 --seed 4 --quiet
printf '\n# version 30001\n\ndata_pipeline_general\n\n_rlnPipeLineJobCounter 1\n\n' > default_pipeline.star
job_star() { # exe params...: an External job (RELION 3.1 job type 99) with --label value pairs
  local exe=$1 k=1; shift
  printf '\n# version 30001\n\ndata_job\n\n_rlnJobType 99\n_rlnJobIsContinue 0\n\n'
  printf '# version 30001\n\ndata_joboptions_values\n\nloop_\n_rlnJobOptionVariable #1\n_rlnJobOptionValue #2\n'
  printf 'fn_exe %s\nin_mic Sim/micrographs.star\nnr_threads 1\ndo_queue No\nother_args ""\n' "$PWD/bin/$exe"
  while [ $# -gt 1 ]; do printf 'param%d_label %s\nparam%d_value %s\n' $k "$1" $k "$2"; k=$((k + 1)); shift 2; done
}
job_star clrestore_relion_train patch 32 levels 2 blocks 1 filters 4 expansion 2 epochs 1 batches_per_epoch 2 \
  batch_size 2 > train_job.star
job_star clrestore_relion_denoise model External/job001/model/last.h5 merge_noisy No > denoise_job.star
relion_pipeliner --addJobFromStar train_job.star >/dev/null 2>&1; check "add train job" 0 $?
relion_pipeliner --addJobFromStar denoise_job.star >/dev/null 2>&1; check "add denoise job" 0 $?
for j in External/job001/ External/job002/; do # one job per call: RELION 3.1 runs only the first of a list
  timeout 600 relion_pipeliner --RunJobs "$j" --sec_wait_after 1 >>pipeliner.log 2>&1; check "pipeliner $j" 0 $?
done
[ -f External/job001/RELION_JOB_EXIT_SUCCESS ] && [ -f External/job001/model/last.h5 ]; check "train job done" 0 $?
[ -f External/job002/RELION_JOB_EXIT_SUCCESS ]; check "denoise job done" 0 $?
has "progress in run.err" "$(cat External/job001/run.err)" "epoch 1/1"
pipe=$(cat default_pipeline.star)
has "both finished (status 2)" "$pipe" "External/job001/       None           99            2"
has "denoise finished" "$pipe" "External/job002/       None           99            2"
has "output node registered" "$pipe" "External/job002/denoised_micrographs.star            1"
has "output edge" "$pipe" "External/job002/ External/job002/denoised_micrographs.star"

# relion_star_handler: parse, select one micrograph by its defocus (24961.7 A)
out=External/job002
relion_star_handler --i $out/denoised_micrographs.star --o sel.star --select rlnDefocusU --minval 24000 \
  --maxval 25000 >sh.log 2>&1; check "star_handler" 0 $?
has "star_handler read both" "$(cat sh.log)" "with 1 item(s)"
has "selected micrograph" "$(cat sel.star)" "$out/sim_0001_DW_denoised.mrc"
has "optics kept" "$(cat sel.star)" "opticsGroup1"

# relion_image_handler --stats: pixel size and statistics as clrestore wrote them
for m in $out/sim_000[12]_DW_denoised.mrc; do
  st=$(relion_image_handler --i "$m" --stats 2>&1); check "image_handler $m" 0 $?
  has "size" "$st" "(x,y,z,n)= 256 x 256 x 1 x 1"
  has "angpix" "$st" "angpix = 1.5"
  # the header's DMIN DMAX DMEAN (bytes 76-87) and RMS (216-219), as clrestore wrote them
  read -r min max mean <<<"$(od -An -v -t f4 -j 76 -N 12 "$m")"
  read -r rms <<<"$(od -An -v -t f4 -j 216 -N 4 "$m")"
  read -r ravg rsd rmin rmax <<<"$(printf '%s\n' "$st" | sed -n 's/.*avg= \([^ ]*\) stddev= \([^ ]*\) minval= \([^ ]*\) maxval= \([^;]*\);.*/\1 \2 \3 \4/p')"
  ok=$(awk -v a="$min,$max,$mean,$rms" -v b="$rmin,$rmax,$ravg,$rsd" 'BEGIN { split(a, x, ","); split(b, y, ",");
    for (i = 1; i <= 4; i++) { d = x[i] - y[i]; if (d < 0) d = -d; if (d > 1e-4 * (1 + (x[i] < 0 ? -x[i] : x[i]))) { print "no"; exit } }
    print "yes" }')
  check "statistics agree ($m: ours $min $max $mean $rms, RELION $rmin $rmax $ravg $rsd)" yes "$ok"
done

# relion_preprocess: 9 known positions per micrograph, 64 px boxes
for m in $out/sim_000[12]_DW_denoised.mrc; do
  c="coords/$(basename "${m%.mrc}")_pick.star"; mkdir -p coords
  { printf '\ndata_\n\nloop_\n_rlnCoordinateX #1\n_rlnCoordinateY #2\n'
    for y in 48 128 208; do for x in 48 128 208; do echo "$x $y"; done; done; } > "$c"
done
relion_preprocess --i $out/denoised_micrographs.star --coord_dir coords/ --coord_suffix _pick.star \
  --part_dir Particles/ --part_star particles.star --extract --extract_size 64 >pre.log 2>&1
check "relion_preprocess" 0 $?
has "18 particles" "$(cat pre.log)" "Written out STAR file with 18 particles"
stack=$(ls Particles/*/sim_0001_DW_denoised.mrcs Particles/sim_0001_DW_denoised.mrcs 2>/dev/null | head -1)
has "stack shape" "$("$BIN" info "$stack" 2>&1)" "MRC stack 64 x 64 x 9"
has "stack box in STAR" "$(cat particles.star)" " 64 "
if python3 -c 'import numpy' 2>/dev/null; then
  python3 - "$out/sim_0001_DW_denoised.mrc" "$stack" <<'EOF'; check "extracted boxes hold our pixels" 0 $?
import sys, numpy as np
def read(p):
    b = open(p, "rb").read()
    nx, ny, nz = np.frombuffer(b[:12], "<i4"); ext = int(np.frombuffer(b[92:96], "<i4")[0])
    return np.frombuffer(b[1024 + ext:], "<f4")[:nx * ny * nz].reshape(nz, ny, nx)
m, s = read(sys.argv[1])[0], read(sys.argv[2])
pos = [(x, y) for y in (48, 128, 208) for x in (48, 128, 208)]
sys.exit(0 if len(s) == 9 and all(np.array_equal(m[y - 32:y + 32, x - 32:x + 32], s[k]) for k, (x, y) in enumerate(pos)) else 1)
EOF
fi

# the wrapper called as RELION calls it, by hand: failures and an abort leave their markers
bin/clrestore_relion_denoise --o External/job009/ --in_mics Sim/micrographs.star --j 1 >/dev/null 2>err.txt
check "no model: exit 1" 1 $?
[ -f External/job009/RELION_JOB_EXIT_FAILURE ] && [ ! -f External/job009/RELION_JOB_EXIT_SUCCESS ]; check "failure marker" 0 $?
has "no model explained" "$(cat err.txt)" "--model MODEL.h5 is required"
bin/clrestore_relion_denoise --o External/job010/ --in_mics Sim/micrographs.star --model External/job001/model/last.h5 \
  --no_such_option 3 --j 1 >/dev/null 2>err.txt
check "bad option: exit 2" 2 $?
[ -f External/job010/RELION_JOB_EXIT_FAILURE ]; check "bad option marker" 0 $?
mkdir -p External/job011 && touch External/job011/RELION_JOB_ABORT_NOW
bin/clrestore_relion_train --o External/job011/ --in_mics Sim/micrographs.star --patch 32 --epochs 50 --j 1 \
  >/dev/null 2>&1
check "abort: exit 3" 3 $?
[ -f External/job011/RELION_JOB_EXIT_ABORTED ] && [ ! -f External/job011/RELION_JOB_ABORT_NOW ]; check "aborted marker" 0 $?

echo "cli_relion: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
