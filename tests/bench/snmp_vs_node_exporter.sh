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
# (Accept-Encoding: gzip) and, separately, uncompressed; the three take turns
# in 5 rounds so load changes during the run hit them alike. Reports median
# and p99 of curl's time_total, series and bytes per scrape, VmRSS / VmHWM
# after the scrapes, and the netobs / node_exporter ratios. Needs curl and prometheus-node-exporter (Debian package).
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
pid_netobs='' pid_node='' pid_node_all=''
# start() runs in a command substitution (a subshell), so the pids are the
# variables it is assigned to, not an array it could append to. Left running,
# the exporters would also keep holding an inherited flock on the bench lock.
cleanup() {
  local pids=($pid_netobs $pid_node $pid_node_all)
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
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

# Appends curl's time_total of N scrapes of $2 with curl options $3... to file $1.
scrape_block() {
  local out=$1 n=$2 url=$3; shift 3
  for _ in $(seq 1 "$n"); do
    curl -s -o /dev/null -w '%{time_total}\n' "$@" "$url"
  done >>"$out"
}

# Prints "median_ms p99_ms" of the times in file $1.
summarize() {
  sort -g "$1" | awk '{ v[NR] = $1 } END {
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      i = int(NR * 0.99 + 0.999999); if (i > NR) i = NR
      printf "%.3f %.3f\n", m * 1000, v[i] * 1000 }'
}

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
# CPU time (ns) of every thread of a process: independent of the machine's
# load, unlike latency.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d", s }'; }

start() {  # name port argv...
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
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

# The targets take turns in ROUNDS blocks (gzip then plain), so a change in
# the machine's load during the run hits all of them alike.
rounds=5
per_round=$(( (scrapes + rounds - 1) / rounds ))
targets=(netobs node node_all)
declare -A pid_of=([netobs]=$pid_netobs [node]=$pid_node [node_all]=$pid_node_all) cpu
for target in "${targets[@]}"; do
  url_var=u_$target
  for _ in $(seq 1 20); do curl -s -o /dev/null -H 'Accept-Encoding: gzip' "${!url_var}"; done
done
for _ in $(seq 1 "$rounds"); do
  for target in "${targets[@]}"; do
    url_var=u_$target
    before=$(cpu_ns "${pid_of[$target]}")
    scrape_block "$work/$target.gzip" "$per_round" "${!url_var}" -H 'Accept-Encoding: gzip'
    scrape_block "$work/$target.plain" "$per_round" "${!url_var}"
    cpu[$target]=$(( ${cpu[$target]:-0} + $(cpu_ns "${pid_of[$target]}") - before ))
  done
done
declare -A med p99
for target in "${targets[@]}"; do
  for mode in gzip plain; do
    read -r m p < <(summarize "$work/$target.$mode")
    med[$target,$mode]=$m; p99[$target,$mode]=$p
  done
done

echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)"
echo "scrapes per target and encoding: $((per_round * rounds)) in $rounds interleaved rounds (after 20 warm-up), one TCP connection each"
printf '%-34s %12s %12s %12s %12s %9s %9s %10s %10s %12s\n' target "gzip med ms" "gzip p99 ms" \
  "plain med ms" "plain p99 ms" series "gz bytes" "RSS KiB" "HWM KiB" "CPU ms/scrape"
cpu_ms() { awk -v ns="${cpu[$1]}" -v n=$((2 * per_round * rounds)) 'BEGIN { printf "%.3f", ns / n / 1e6 }'; }
row() {  # label target pid series_pattern
  printf '%-34s %12s %12s %12s %12s %9s %9s %10s %10s %12s\n' "$1" "${med[$2,gzip]}" "${p99[$2,gzip]}" \
    "${med[$2,plain]}" "${p99[$2,plain]}" "$(series "$3" "$5")" "$(bytes "$3")" \
    "$(rss_kib "$4")" "$(hwm_kib "$4")" "$(cpu_ms "$2")"
}
row "netobs snmp (all fields, typed)" netobs "$u_netobs" "$pid_netobs" '^netobs_snmp_mib_'
row "node_exporter netstat (default)" node "$u_node" "$pid_node" '^node_netstat_'
row "node_exporter netstat (fields=.*)" node_all "$u_node_all" "$pid_node_all" '^node_netstat_'
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "netobs / node_exporter (default fields): median $(ratio "${med[netobs,gzip]}" "${med[node,gzip]}") gzip, $(ratio "${med[netobs,plain]}" "${med[node,plain]}") plain; p99 $(ratio "${p99[netobs,gzip]}" "${p99[node,gzip]}") gzip, $(ratio "${p99[netobs,plain]}" "${p99[node,plain]}") plain; RSS $(ratio "$(rss_kib "$pid_netobs")" "$(rss_kib "$pid_node")"); CPU per scrape $(ratio "${cpu[netobs]}" "${cpu[node]}")"
echo "netobs / node_exporter (fields=.*):      median $(ratio "${med[netobs,gzip]}" "${med[node_all,gzip]}") gzip, $(ratio "${med[netobs,plain]}" "${med[node_all,plain]}") plain; p99 $(ratio "${p99[netobs,gzip]}" "${p99[node_all,gzip]}") gzip, $(ratio "${p99[netobs,plain]}" "${p99[node_all,plain]}") plain; CPU per scrape $(ratio "${cpu[netobs]}" "${cpu[node_all]}")"
