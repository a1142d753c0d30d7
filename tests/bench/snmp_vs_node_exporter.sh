#!/usr/bin/env bash
# Scrape latency and memory of netobs's snmp collector next to node_exporter's
# netstat collector, on the same machine and the same /proc.
#
#   tests/bench/snmp_vs_node_exporter.sh [BUILD_DIR] [SCRAPES]
#
# Starts (on free loopback ports, stopped at exit):
#   - netobs_exporter --collector.disable-defaults --collector.snmp
#     (every field of /proc/net/{snmp,netstat,snmp6}, typed, plus rates)
#   - prometheus-node-exporter --collector.disable-defaults --collector.netstat
#     twice: with its default field list (~40 fields, untyped), and with
#     --collector.netstat.fields='.*' (every field, still untyped)
# Each gets 20 warm-up scrapes, then SCRAPES (default 300, at least 200)
# timed scrapes, one fresh TCP connection each, sent the way Prometheus asks
# (Accept-Encoding: gzip) and, separately, uncompressed. Reports median and
# p99 of curl's time_total, series and bytes per scrape, and VmRSS / VmHWM
# after the scrapes. Needs curl and prometheus-node-exporter (Debian package).
# Figures depend on the machine and its load: run it on an idle machine and
# compare the two columns of one run, not numbers across machines.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
scrapes=${2:-300}
if (( scrapes < 200 )); then
  echo "SCRAPES must be >= 200 (p99 needs them)" >&2
  exit 2
fi
netobs=$build/exporter/netobs_exporter
node=$(command -v prometheus-node-exporter || command -v node_exporter || true)
[[ -x $netobs ]] || { echo "no $netobs: build first" >&2; exit 2; }
[[ -n $node ]] || { echo "prometheus-node-exporter not installed (apt install prometheus-node-exporter)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl not installed" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    shuf -i 20000-60000 -n 1
}

wait_ready() {  # url
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "not answering: $1" >&2
  return 1
}

# Prints "median_ms p99_ms" of SCRAPES scrapes of $1 with curl options $2...
measure() {
  local url=$1; shift
  for _ in $(seq 1 20); do curl -s -o /dev/null "$@" "$url"; done
  for _ in $(seq 1 "$scrapes"); do
    curl -s -o /dev/null -w '%{time_total}\n' "$@" "$url"
  done | sort -g | awk '{ v[NR] = $1 } END {
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      i = int(NR * 0.99 + 0.999999); if (i > NR) i = NR
      printf "%.3f %.3f\n", m * 1000, v[i] * 1000 }'
}

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }

start() {  # name port argv...
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  echo $!
}

p_netobs=$(free_port)
cat >"$work/netobs.yaml" <<EOF
collectors:
  snmp:
    sample_interval: 5s
EOF
pid_netobs=$(start netobs "$netobs" --collector.disable-defaults --collector.snmp \
  --web.listen-address=127.0.0.1:"$p_netobs" --config.file="$work/netobs.yaml" --log.level=warn)
p_node=$(free_port)
pid_node=$(start node "$node" --collector.disable-defaults --collector.netstat \
  --web.listen-address=127.0.0.1:"$p_node" --log.level=warn)
p_node_all=$(free_port)
pid_node_all=$(start node_all "$node" --collector.disable-defaults --collector.netstat \
  --collector.netstat.fields='.*' --web.listen-address=127.0.0.1:"$p_node_all" --log.level=warn)

u_netobs=http://127.0.0.1:$p_netobs/metrics
u_node=http://127.0.0.1:$p_node/metrics
u_node_all=http://127.0.0.1:$p_node_all/metrics
wait_ready "$u_netobs"; wait_ready "$u_node"; wait_ready "$u_node_all"
sleep 6  # let the netobs sampler fill its first rates

series() { curl -s "$1" | grep -v '^#' | grep -c "$2" || true; }
bytes() { curl -s -H 'Accept-Encoding: gzip' "$1" | wc -c; }

declare -A med p99
for target in netobs node node_all; do
  url_var=u_$target
  url=${!url_var}
  read -r m p < <(measure "$url" -H 'Accept-Encoding: gzip')
  med[$target,gzip]=$m; p99[$target,gzip]=$p
  read -r m p < <(measure "$url")
  med[$target,plain]=$m; p99[$target,plain]=$p
done

echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)"
echo "scrapes per target: $scrapes (after 20 warm-up), one TCP connection each"
printf '%-34s %12s %12s %12s %12s %9s %9s %10s %10s\n' target "gzip med ms" "gzip p99 ms" \
  "plain med ms" "plain p99 ms" series "gz bytes" "RSS KiB" "HWM KiB"
row() {  # label target pid series_pattern
  printf '%-34s %12s %12s %12s %12s %9s %9s %10s %10s\n' "$1" "${med[$2,gzip]}" "${p99[$2,gzip]}" \
    "${med[$2,plain]}" "${p99[$2,plain]}" "$(series "$3" "$5")" "$(bytes "$3")" \
    "$(rss_kib "$4")" "$(hwm_kib "$4")"
}
row "netobs snmp (all fields, typed)" netobs "$u_netobs" "$pid_netobs" '^netobs_snmp_mib_'
row "node_exporter netstat (default)" node "$u_node" "$pid_node" '^node_netstat_'
row "node_exporter netstat (fields=.*)" node_all "$u_node_all" "$pid_node_all" '^node_netstat_'
awk -v a="${med[netobs,gzip]}" -v b="${med[node,gzip]}" -v c="${med[node_all,gzip]}" 'BEGIN {
  printf "netobs median / node_exporter median (gzip): %.2f (default fields), %.2f (all fields)\n", a / b, a / c }'
