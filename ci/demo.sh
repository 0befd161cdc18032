#!/usr/bin/env bash
# The demo (README's first command): installs what is needed, builds, then
# runs the whole job on built-in simulated data: simulate even/odd
# micrographs with ground truth, prepare a training set, train a small
# network briefly, denoise with previews, and measure SNR. Everything lands
# in demo/ (see demo/README.txt). About 10 minutes on 2 CPU cores.
# DEMO_QUICK=1 runs a reduced version (CI): fewer, smaller micrographs and a
# shorter training, then checks the outputs and that denoising raised the SNR.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
bash ci/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS" --target clrestore >/dev/null
B=$PWD/build/clrestore
if [ "${DEMO_QUICK:-0}" = 1 ]; then
  COUNT=3 SIZE=512x512 PATCH=64 SPATCH=64 EPOCHS=2 BATCHES=40
else
  COUNT=8 SIZE=1024x1024 PATCH=64 SPATCH=96 EPOCHS=${DEMO_EPOCHS:-8} BATCHES=${DEMO_BATCHES:-250}
fi
rm -rf demo && mkdir -p demo
t0=$(date +%s)
step() { echo; echo "== $*"; }

step "OpenCL devices"
"$B" devices

step "simulate: $COUNT micrographs of $SIZE at 1.5 A/px, 40 e/A^2, with ground truth"
"$B" simulate -o demo/data --count $COUNT --size $SIZE --apix 1.5 --seed 1

step "prepare: phase flip, bin to 4.5 A, band-pass, ${PATCH}x${PATCH} patches"
"$B" prepare -m demo/data/micrographs.star -o demo/train.h5 --patch $PATCH --validation-fraction 0.125

# the CPU recipe (docs/training.md "Presets"), on a shorter schedule than its 30 minutes
step "train: the cpu preset (levels 2, blocks 2, 16 filters, batch 4, --augment), $EPOCHS x $BATCHES steps"
"$B" train -t demo/train.h5 -o demo/model --preset cpu --epochs $EPOCHS --batches-per-epoch $BATCHES

step "denoise with previews"
"$B" denoise -p demo/model/last.h5 -m demo/data/micrographs.star -o demo/denoised --preview

step "snr: signal, noise and bias of the even/odd pairs"
"$B" snr -p demo/model/last.h5 -m demo/data/micrographs.star -o demo/snr.csv \
  --spectral demo/snr_spectral.csv --patch $SPATCH --plot demo/snr | tee demo/snr_summary.txt

step "evaluate: true SNR against the noise-free images, network against linear filters"
"$B" evaluate -p demo/model/last.h5 -m demo/data/micrographs.star -o demo/eval.csv --plot demo/eval |
  tee demo/eval_summary.txt

cp demo/denoised/sim_0001_DW_denoised_preview.png demo/preview.png
cat > demo/README.txt <<TXT
clrestore demo ($(date -u +%Y-%m-%d), $("$B" --version), device: $("$B" devices | sed -n 's/^\*[0-9]* *//p'))

data/            simulate: micrographs/<name>_DW/_EVN/_ODD.mrc (Poisson even/odd halves and
                 their sum), truth/<name>.mrc (noise-free image, same CTF), micrographs.star
train.h5         prepare: even/odd ${PATCH}x${PATCH} patch pairs at ~2.25 A/px
model/           train: epoch_NNN.h5 checkpoints, last.h5, best.h5, history.csv (losses per epoch)
denoised/        denoise: <name>_DW_denoised.mrc (same size and pixel size as the input),
                 <name>_DW_denoised_preview.png (binned raw | denoised), denoised_micrographs.star
preview.png      the preview of the first micrograph
snr.csv          per micrograph: var_s, noise and bias variances, SNR raw / denoised, SNBR
snr_spectral.csv per Fourier ring (frequency in 1/A): signal, bias, raw and denoised noise power
snr_snr.png      histograms of SNR raw, SNR denoised and SNBR over the micrographs (paper Fig. 3a)
snr_spectral.png signal, bias and noise power against frequency (paper Fig. 3b)
snr_summary.txt  $(cat demo/snr_summary.txt)
eval.csv         evaluate (on the training micrographs): true SNR against truth/ of the raw sum, the even half,
                 the best Gaussian low-pass, the even/odd and oracle Wiener filters and the network
eval_evaluate.png  those SNRs per micrograph
eval_summary.txt $(cat demo/eval_summary.txt)

Training history (model/history.csv):
$(cat demo/model/history.csv)

Total time: $(( $(date +%s) - t0 )) s.
TXT
# every file README.txt lists exists, and denoising raised the SNR
for f in demo/train.h5 demo/model/last.h5 demo/model/best.h5 demo/model/history.csv demo/denoised/denoised_micrographs.star \
  demo/denoised/sim_0001_DW_denoised.mrc demo/preview.png demo/snr.csv demo/snr_spectral.csv demo/snr_snr.png \
  demo/snr_spectral.png demo/snr_summary.txt demo/data/truth/sim_0001.mrc demo/eval.csv demo/eval_evaluate.png; do
  [ -s "$f" ] || { echo "demo: $f is missing" >&2; exit 1; }
done
gain=$(awk '{ for (i = 1; i <= NF; i++) { if ($i == "raw" && $(i+1) == "mean") r = $(i+2); if ($i == "denoised" && $(i+1) == "mean") d = $(i+2) } }
            END { if (r > 0) printf "%.2f", d / r; else print 0 }' demo/snr_summary.txt)
awk -v g="$gain" 'BEGIN { exit !(g > 1) }' || { echo "demo: SNR gain $gain is not above 1" >&2; exit 1; }
echo
echo "SNR gain (denoised / raw, mean over micrographs): $gain"
echo "demo/ written in $(( $(date +%s) - t0 )) s: open demo/preview.png; demo/README.txt says what each file is."
