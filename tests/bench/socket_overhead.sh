#!/usr/bin/env bash
# socket collector: workload overhead on loopback iperf3 with 1 KiB writes,
# with and without netobs_exporter (socket collector only, metrics only),
# in interleaved runs so machine noise hits both sides alike. Needs root
# and iperf3 (Debian package iperf3).
#   sudo tests/bench/socket_overhead.sh [build-dir] [pairs=5] [seconds=5] [extra exporter config]
set -euo pipefail
build=${1:-build}
pairs=${2:-5}
seconds=${3:-5}
config=${4:-}
port=$((15300 + $$ % 500))
web=$((19800 + $$ % 100))

# Top priority for the workload: other jobs on the machine add less noise.
nice -n -20 iperf3 -s -p "$port" >/dev/null 2>&1 &
server=$!
exporter=""
cleanup() {
  kill "$server" 2>/dev/null || true
  [[ -n "$exporter" ]] && kill "$exporter" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
sleep 0.5

run_iperf() {  # prints Gbit/s of the receiver
  nice -n -20 iperf3 -c 127.0.0.1 -p "$port" -t "$seconds" -l 1K -J |
    python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'
}

start_exporter() {
  args=(--collector.disable-defaults --collector.socket --web.listen-address=127.0.0.1:$web)
  [[ -n "$config" ]] && args+=(--config.file="$config")
  "$build/exporter/netobs_exporter" "${args[@]}" >/dev/null 2>&1 &
  exporter=$!
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$web/metrics" >/dev/null && return
    sleep 0.1
  done
  echo "exporter did not come up" >&2
  exit 1
}

stop_exporter() {
  kill -TERM "$exporter"
  wait "$exporter" || true
  exporter=""
}

off=()
on=()
for i in $(seq "$pairs"); do
  # Alternate which side goes first.
  if ((i % 2)); then
    off+=("$(run_iperf)")
    start_exporter; on+=("$(run_iperf)"); stop_exporter
  else
    start_exporter; on+=("$(run_iperf)"); stop_exporter
    off+=("$(run_iperf)")
  fi
  echo "pair $i: without ${off[-1]} Gbit/s, with ${on[-1]} Gbit/s"
done
python3 - "${off[*]}" "${on[*]}" <<'PY'
import statistics, sys
off = [float(x) for x in sys.argv[1].split()]
on = [float(x) for x in sys.argv[2].split()]
loss = [100 * (a - b) / a for a, b in zip(off, on)]
print("without: mean %.3f Gbit/s (min %.3f max %.3f)" % (statistics.mean(off), min(off), max(off)))
print("with:    mean %.3f Gbit/s (min %.3f max %.3f)" % (statistics.mean(on), min(on), max(on)))
print("throughput loss: mean %.1f %%, median %.1f %%, per pair %s" % (
    100 * (statistics.mean(off) - statistics.mean(on)) / statistics.mean(off),
    statistics.median(loss), ", ".join("%.1f" % l for l in loss)))
PY
