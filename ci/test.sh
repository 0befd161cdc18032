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

# The README's demo in its reduced form: the whole job end to end, outputs
# checked, SNR gain > 1.
DEMO_QUICK=1 bash ci/demo.sh > build/demo-quick.log 2>&1 || { tail -30 build/demo-quick.log; exit 1; }
grep "SNR gain" build/demo-quick.log

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCLRESTORE_SANITIZE=ON -DCLRESTORE_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$JOBS"
(cd build-asan && ctest --output-on-failure -j1 -L unit)
