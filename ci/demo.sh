#!/usr/bin/env bash
# The demo (README's first command): install what is needed, build, and run
# clrestore on the bundled example. Grows into the full simulate -> prepare ->
# train -> denoise -> snr run as those commands land.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}

bash ci/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS" --target clrestore >/dev/null

echo "== OpenCL devices"
./build/clrestore devices
echo
echo "== The bundled example: an even/odd pair, its sum and a RELION 3.1 micrograph table"
./build/clrestore info examples/example_DW.mrc examples/example_EVN.mrc examples/example_ODD.mrc \
  examples/micrographs.star
