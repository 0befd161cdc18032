#!/usr/bin/env bash
# The test command (README): set-up, configure, build and run the whole ctest
# suite, then a second build with ASan + UBSan running the unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}

bash ci/setup.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLRESTORE_BUILD_TESTS=ON >/dev/null
cmake --build build -j"$JOBS"
(cd build && ctest --output-on-failure -j1)

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCLRESTORE_SANITIZE=ON -DCLRESTORE_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$JOBS"
(cd build-asan && ctest --output-on-failure -j1 -L unit)
