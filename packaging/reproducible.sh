#!/usr/bin/env bash
# Builds the .deb twice from this commit with the same SOURCE_DATE_EPOCH, in
# the same directory (the BPF objects' debug info records source paths), from
# a clean tree each time, and compares the two files byte for byte.
#   bash packaging/reproducible.sh [BUILD_DIR]   (default build-repro)
# Takes two full package builds; not part of tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build-repro}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
out=$(mktemp -d /tmp/netobs-repro.XXXXXX)
trap 'rm -rf "$out"' EXIT
for run in 1 2; do
  rm -rf "$build_dir"
  bash packaging/build.sh deb "$build_dir" >"$out/build$run.log" 2>&1 ||
    { tail -20 "$out/build$run.log"; exit 1; }
  cp "$build_dir"/packages/*.deb "$out/run$run.deb"
done
sha256sum "$out"/run1.deb "$out"/run2.deb | sed "s|$out/||"
if cmp "$out/run1.deb" "$out/run2.deb"; then
  echo "reproducible: two builds with SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH are byte-identical"
else
  command -v diffoscope >/dev/null && diffoscope "$out/run1.deb" "$out/run2.deb" | head -50
  echo "NOT reproducible" >&2
  exit 1
fi
