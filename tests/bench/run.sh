#!/usr/bin/env bash
# Every benchmark in one command, one table: each figure, its goal, met or
# missed. Builds what it needs (a RelWithDebInfo build in BUILD_DIR), runs
# under the shared lock /tmp/netobs-bench.lock, as root:
#
#   sudo bash tests/bench/run.sh [--quick] [BUILD_DIR]      (default build-bench)
#
# Full: about 14 minutes on a 2-core machine (the RSS soak alone is 3);
# --quick: fewer and shorter rounds, a 20 s soak, no throughput run, under
# 3 minutes.
# Figures are ratios to a floor measured in the same run on the same
# machine (an empty BPF program on the same hook, no BPF at all,
# node_exporter on the same /proc), never absolute timings, and the table
# says the machine's load: on a shared machine quote the CPU-time figures,
# which depend far less on the other jobs than latency or throughput.
# Not part of CI: nothing here is asserted, it is measured and quoted
# (tests/bench/RESULTS.md holds the last table).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
quick=0
build=
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $arg (--quick | BUILD_DIR)" >&2; exit 2 ;;
    *) build=$arg ;;
  esac
done
build=${build:-$root/build-bench}
[[ $(id -u) -eq 0 ]] || { echo "needs root (BPF programs, namespaces)" >&2; exit 1; }

bash "$root/packaging/install-deps.sh" test >/dev/null
for tool in iperf3 prometheus-node-exporter dnsmasq dig curl python3; do
  command -v $tool >/dev/null || { echo "needs $tool (packaging/install-deps.sh installs it)" >&2; exit 2; }
done
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
echo "building in $build ..." >&2
cmake --build "$build" -j"$(nproc)" --target netobs_exporter netobs socket_bpf_bench tcp_bench \
  dns_bpf_bench xdp_bpf_bench flows_bench security_bench drops_bench scrape_floor >/dev/null

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
exec 9>/tmp/netobs-bench.lock
echo "waiting for /tmp/netobs-bench.lock ..." >&2
flock 9
started=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)

step() {  # name command... : runs it, output to $out/name.txt, progress on stderr
  local name=$1; shift
  echo "[$(($(date +%s) - started))s] $name" >&2
  if ! "$@" >"$out/$name.txt" 2>"$out/$name.err"; then
    echo "  $name failed (exit $?): $(tail -3 "$out/$name.err" | tr '\n' ' ')" >&2
  fi
}

if ((quick)); then
  # Per-event ratios: two rounds of 1 s of traffic per mode (millions of
  # events each). The workload keeps three rounds: its median of two would
  # be the worse round.
  step socket_events "$build/tests/bench/socket_bpf_bench" 2 1
  step socket_workload "$build/tests/bench/socket_bpf_bench" workload 3 0.5 table
  step tcp "$build/tests/bench/tcp_bench" --benchmark_filter='BM_TcpProbeCost' \
    --benchmark_out="$out/tcp.json" --benchmark_out_format=json
  step dns "$build/tests/bench/dns_bpf_bench" --benchmark_filter='BM_Ratio_NonDns' \
    --benchmark_out="$out/dns.json" --benchmark_out_format=json
  step xdp "$build/tests/bench/xdp_bpf_bench" --benchmark_filter='BM_Ratio(Tc)?TcpPortMatchSampled1000/' \
    --benchmark_out="$out/xdp.json" --benchmark_out_format=json
  step flows "$build/tests/bench/flows_bench" --benchmark_filter='BM_FlowsPerEventCost/0' \
    --benchmark_out="$out/flows.json" --benchmark_out_format=json
  step security "$build/tests/bench/security_bench" --benchmark_filter='BM_SetStateCost/0' \
    --benchmark_out="$out/security.json" --benchmark_out_format=json
  step drops "$build/tests/bench/drops_bench" --benchmark_filter='BM_DropCost/0' \
    --benchmark_out="$out/drops.json" --benchmark_out_format=json
  step scrape python3 "$here/scrape_cost.py" --build "$build" --scrapes 60 --rounds 3
  # The floor (no collectors, same scrapes, same time) beside it.
  SOAK_COLLECTORS=none step rss_floor bash "$here/rss_soak.sh" "$build" 20 &
  step rss bash "$here/rss_soak.sh" "$build" 20
  wait
else
  step socket_events "$build/tests/bench/socket_bpf_bench" 5 4
  step socket_workload "$build/tests/bench/socket_bpf_bench" workload 6 0.5
  step socket_throughput bash "$here/socket_overhead.sh" "$build" 4 5 default hold:sock hold:floor
  step tcp "$build/tests/bench/tcp_bench" \
    --benchmark_filter='BM_TcpProbeCost|BM_LifecycleCost|BM_TrackStatesCost|BM_RetransmitCost|BM_Conns/[014]$' \
    --benchmark_out="$out/tcp.json" --benchmark_out_format=json
  step dns "$build/tests/bench/dns_bpf_bench" --benchmark_filter='BM_Ratio' \
    --benchmark_out="$out/dns.json" --benchmark_out_format=json
  step xdp "$build/tests/bench/xdp_bpf_bench" --benchmark_filter='BM_Ratio' \
    --benchmark_out="$out/xdp.json" --benchmark_out_format=json
  step flows "$build/tests/bench/flows_bench" --benchmark_repetitions=5 \
    --benchmark_out="$out/flows.json" --benchmark_out_format=json
  step security "$build/tests/bench/security_bench" --benchmark_repetitions=3 \
    --benchmark_out="$out/security.json" --benchmark_out_format=json
  step drops "$build/tests/bench/drops_bench" --benchmark_filter='BM_DropCost' --benchmark_repetitions=3 \
    --benchmark_out="$out/drops.json" --benchmark_out_format=json
  step scrape python3 "$here/scrape_cost.py" --build "$build" --scrapes 200 --rounds 5
  # The floor (no collectors, same scrapes, same time) beside it.
  SOAK_COLLECTORS=none step rss_floor bash "$here/rss_soak.sh" "$build" 180 &
  step rss bash "$here/rss_soak.sh" "$build" 180
  wait
fi
# The CLI as people type it: one-shot runs on this machine, median of 5.
cli_ms() {
  python3 - "$@" <<'PY'
import statistics, subprocess, sys, time
times = []
for _ in range(5):
    t0 = time.perf_counter()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    times.append((time.perf_counter() - t0) * 1e3)
print(f"RESULT ms {statistics.median(times):.1f} {min(times):.1f} {max(times):.1f}")
PY
}
step cli_conns cli_ms "$build/exporter/netobs" conns --no-process
step cli_stats cli_ms "$build/exporter/netobs" stats -a

elapsed=$(($(date +%s) - started))
python3 "$here/run_table.py" "$out" "$quick" "$elapsed" "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$commit"
