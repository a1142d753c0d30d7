#!/usr/bin/env bash
# Builds netobs and runs netobs_exporter with the built-in default config on
# :9723. Extra arguments go to the exporter (e.g. --log.level=debug).
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/install-deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNETOBS_BUILD_TESTS=OFF
cmake --build build -j"$(nproc)" --target netobs_exporter netobs
exec build/exporter/netobs_exporter "$@"
