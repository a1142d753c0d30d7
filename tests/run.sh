#!/usr/bin/env bash
# Builds netobs and runs the whole test suite: unit tests (also under
# ASan/UBSan), the libFuzzer targets for a bounded time, then unit,
# privileged (root, real kernel) and end-to-end tests (real Prometheus), and the
# packages (packaging/test-packages.sh).
# CI runs exactly this (`.ci/run`); with CI=true a privileged test that cannot
# run fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/install-deps.sh test
jobs=$(nproc)

echo "== clang-format"
git ls-files -- '*.cc' '*.h' '*.bpf.c' ':!bpf/vmlinux/*' | xargs clang-format --dry-run --Werror

echo "== ASan/UBSan build of the unit tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DNETOBS_SANITIZE=ON -DNETOBS_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -L '^unit$' --output-on-failure -j"$jobs")

echo "== ThreadSanitizer build of the concurrency tests (collector lifecycle, manager, HTTP server)"
# Only these tests: scrapes, reloads and stops racing in one process. The
# exporter binaries and the other tests are not built here.
tsan_tests=(collector_race_test collector_manager_test scrape_concurrency_test http_server_test)
# No -Werror here: TSan's instrumentation makes GCC 12 report false
# -Wstringop-truncation in code that is clean in every other build.
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNETOBS_TSAN=ON -DNETOBS_WERROR=OFF >/dev/null
cmake --build build-tsan -j"$jobs" --target "${tsan_tests[@]}"
for t in "${tsan_tests[@]}"; do
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build-tsan/tests/"$t" --gtest_brief=1
done

echo "== fuzz targets (bounded time)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DNETOBS_FUZZ=ON -DNETOBS_BUILD_TESTS=ON -DNETOBS_WERROR=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$jobs" --target netobs_fuzzers
(cd build-fuzz && ctest -L '^fuzz$' --output-on-failure)

echo "== packages: .deb and .rpm built as packagers build, lint, install, service as non-root"
bash packaging/test-packages.sh build-pkg

echo "== a plain Release build of the programs, warnings as errors (as a user or packager builds)"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DNETOBS_BUILD_TESTS=OFF -DNETOBS_WERROR=ON >/dev/null
cmake --build build-release -j"$jobs"

echo "== full suite: unit, privileged, e2e"
cmake -S . -B build-tests -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNETOBS_WERROR=ON >/dev/null
cmake --build build-tests -j"$jobs"
cd build-tests
ctest -LE '^fuzz$' --output-on-failure --timeout 600
