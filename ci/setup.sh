#!/usr/bin/env bash
# Installs the Debian packages clrestore needs to build and test, only those
# missing (apt-get update first, only when something must be installed). Quiet.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
  libclfft-dev libvkfft-dev
  libclblast-dev               # optional (found if present): nothing uses it now
  libhdf5-dev libpng-dev libcairo2-dev fonts-dejavu-core
  librandom123-dev
  python3-numpy python3-h5py   # tests only: tests/bad/make_corpus.py writes the bad-input corpus
  valgrind                     # tests only: ci/valgrind.sh
  relion                       # tests only: tests/cli_relion.sh runs RELION 3.1's own programs on our outputs
  openmpi-bin libopenmpi-dev   # the MPI build (-DCLRESTORE_MPI=ON) and its mpirun tests
  mesa-opencl-icd oclgrind     # tests only: tests/device_rusticl.sh, tests/device_oclgrind.sh
)
# `ci/setup.sh fuzz`: also clang and libFuzzer, for ci/fuzz.sh.
[ "${1:-}" = fuzz ] && PACKAGES+=(clang libclang-rt-14-dev)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "ci/setup.sh: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "ci/setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
