#!/usr/bin/env bash
# The test command (README): set-up, configure, build and run the whole ctest
# suite and the reduced demo, then a second build with ASan + UBSan running
# the unit tests (bad-input corpus and kill tests included), valgrind, and a
# short fuzz run of every fuzz target.
#
# The main build is the MPI build (-DCLRESTORE_MPI=ON): the whole suite runs
# on it as one process (MPI starts only under a launcher, so it behaves as
# the default build) and its cli_mpi_* tests run mpirun -np 2 on loopback;
# the sanitizer build is the default one (no MPI), so both configurations are
# built and tested without a third build.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}

bash ci/setup.sh fuzz

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLRESTORE_BUILD_TESTS=ON -DCLRESTORE_MPI=ON >/dev/null
cmake --build build -j"$JOBS"
# Two tests at a time: a cold kernel cache (every new machine) makes many
# tests wait on single-threaded compiles; -j2 took 621 s against 1131 s for
# -j1 on a fresh clone (2 cores), with the same 74 passes.
(cd build && ctest --output-on-failure -j2)

# The README's demo in its reduced form: the whole job end to end, outputs
# checked, SNR gain > 1.
DEMO_QUICK=1 bash ci/demo.sh > build/demo-quick.log 2>&1 || { tail -30 build/demo-quick.log; exit 1; }
grep "SNR gain" build/demo-quick.log

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCLRESTORE_SANITIZE=ON -DCLRESTORE_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$JOBS"
# -j2 as above: the sanitizer run is mostly waits on single-threaded PoCL compiles and
# ASan-slowed host code; -j1 took 431 s of a 43-minute run on 2 cores
(cd build-asan && ctest --output-on-failure -j2 -L unit)

# Memory checks beyond the sanitizer build: valgrind memcheck of info and a
# small denoise (no errors or leaks in our code), then each fuzz target for
# 60 s (libFuzzer, ASan + UBSan; see ci/fuzz.sh).
bash ci/valgrind.sh
bash ci/fuzz.sh 60
