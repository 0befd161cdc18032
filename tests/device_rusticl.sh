#!/usr/bin/env bash
# The device-level checks on a second, independent OpenCL implementation:
# Mesa rusticl on llvmpipe (no fp64). test_cl_tiny_kernels compares the float
# network (forward, training step) with the double engine run on PoCL
# (CLRESTORE_REF_DEVICE) and the Fourier chains with analytic results;
# test_cl_cold_compile runs there (no compiler output below --verbose); then a
# whole denoise on rusticl must print nothing (clFFT derives a cache directory
# from the vendor "Mesa/X.org"; the compilers print warning counts). Skips
# (77) when rusticl is absent. rusticl is far too slow to time: tiny sizes.
set -u
BIN=${CLRESTORE_BIN:?}
TESTS=${CLRESTORE_TEST_BIN_DIR:?}
export RUSTICL_ENABLE=llvmpipe
devs=$("$BIN" devices 2>/dev/null)
case "$devs" in *rusticl*) ;; *) echo "SKIP: no rusticl device (Debian mesa-opencl-icd, RUSTICL_ENABLE=llvmpipe)"; exit 77 ;; esac
ref=""
case "$devs" in *pthread*) ref=pthread ;; esac
fail=0
CLRESTORE_DEVICE=rusticl CLRESTORE_REF_DEVICE=$ref "$TESTS/test_cl_tiny_kernels" || fail=1
# rusticl's clang prints "N warnings generated." too: cold builds of clFFT's,
# VkFFT's and our kernels print nothing, and --verbose shows our build log
CLRESTORE_DEVICE=rusticl "$TESTS/test_cl_cold_compile" || fail=1

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
# a 64x48 noise micrograph at 2 A/px, binned at 8 A to 32x24 (the FFT sizes of
# test_cl_tiny_kernels), and the small golden checkpoint of tests/fixtures
python3 - <<'PY' || { echo "FAIL: writing the test micrograph"; exit 1; }
import random, struct
nx, ny, apix = 64, 48, 2.0
random.seed(1)
data = [100.0 + random.gauss(0, 1) for _ in range(nx * ny)]
h = bytearray(1024)
struct.pack_into('<4i', h, 0, nx, ny, 1, 2)
struct.pack_into('<3i', h, 28, nx, ny, 1)
struct.pack_into('<6f', h, 40, nx * apix, ny * apix, apix, 90, 90, 90)
struct.pack_into('<3i', h, 64, 1, 2, 3)
h[208:216] = b'MAP DD\0\0'
open('mic.mrc', 'wb').write(bytes(h) + struct.pack('<%df' % len(data), *data))
PY
# a fresh clFFT cache: its directories are made on this run
out=$(CLFFT_CACHE_PATH="$tmp/clfft" "$BIN" denoise --device rusticl -p "$CLRESTORE_TEST_SRC/fixtures/golden_waunet_small.h5" \
  --no-phaseflip --merge-noisy --max-resolution 8 mic.mrc -o out --quiet 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ ! -s out/mic_denoised.mrc ]; then echo "FAIL: denoise on rusticl: exit $rc: $out"; fail=1; fi
if [ -n "$out" ]; then echo "FAIL: denoise --quiet on rusticl printed: $out"; fail=1; fi
ls -d "$tmp"/clfft/Mesa/X.org >/dev/null 2>&1 || { echo "FAIL: clFFT's cache directory for Mesa/X.org is missing"; fail=1; }
[ $fail -eq 0 ] && echo "device_rusticl: passed"
exit $fail
