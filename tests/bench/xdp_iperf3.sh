#!/usr/bin/env bash
# Throughput cost of the xdp collector: iperf3 (TCP) through a veth pair
# between two test namespaces, runs interleaved (ABC CBA ...) between
#   none  - no XDP program on the receiving veth,
#   empty - xdp_empty (only XDP_PASS) attached in the same mode: the cost of
#           the XDP receive path itself, which any XDP program pays,
#   netobs - the exporter with the xdp collector (sample_rate 1000, port 5201).
# Prints each run, then mean, spread and loss relative to `none`.
#   sudo tests/bench/xdp_iperf3.sh [build-dir] [rounds] [seconds] [native|generic]
# Uses namespaces nobsxdpb<pid>{,p} and 10.199.250.0/24, removed on exit.
set -euo pipefail
build=${1:-build}
rounds=${2:-5}
seconds=${3:-5}
mode=${4:-native}
case $mode in
  native) ipmode=xdpdrv ;;
  generic) ipmode=xdpgeneric ;;
  *) echo "mode must be native or generic" >&2; exit 2 ;;
esac
exporter=$build/exporter/netobs_exporter
object=$build/bpf/xdp.bpf.o
[[ $(id -u) -eq 0 ]] || { echo "needs root" >&2; exit 1; }
[[ -x $exporter && -f $object ]] || { echo "build $exporter and $object first" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "needs iperf3 (apt-get install iperf3)" >&2; exit 1; }

agent=nobsxdpb$$
peer=${agent}p
port=19724
tmp=$(mktemp -d)
cleanup() {
  [[ -n ${exporter_pid:-} ]] && kill "$exporter_pid" 2>/dev/null || true
  ip netns del "$peer" 2>/dev/null || true
  ip netns del "$agent" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$agent"
ip netns add "$peer"
ip link add nobs0 netns "$agent" type veth peer name peer0 netns "$peer"
ip -n "$agent" addr add 10.199.250.1/24 dev nobs0
ip -n "$peer" addr add 10.199.250.2/24 dev peer0
for ns in "$agent" "$peer"; do ip -n "$ns" link set lo up; done
ip -n "$agent" link set nobs0 up
ip -n "$peer" link set peer0 up
ip netns exec "$agent" iperf3 -s -D -B 10.199.250.1 -p 5201 --logfile "$tmp/server.log"
sleep 0.5

cat >"$tmp/netobs.yaml" <<EOF
collectors:
  xdp:
    enabled: true
    interfaces: [nobs0]
    mode: $mode
    sample_rate: 1000
    filters:
      ports: [5201]
EOF

run_iperf() {
  ip netns exec "$peer" iperf3 -c 10.199.250.1 -p 5201 -t "$seconds" -f g 2>&1 |
    awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Gbits/sec") print $(i - 1) }'
}

start_config() {
  case $1 in
    none) ;;
    empty) ip -n "$agent" link set dev nobs0 "$ipmode" object "$object" program xdp_empty ;;
    netobs)
      ip netns exec "$agent" "$exporter" --collector.disable-defaults --collector.xdp \
        --web.listen-address=127.0.0.1:$port --config.file="$tmp/netobs.yaml" \
        >"$tmp/exporter.log" 2>&1 &
      exporter_pid=$!
      for _ in $(seq 50); do
        ip netns exec "$agent" curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
        sleep 0.1
      done
      ip -n "$agent" -d link show nobs0 | grep -q "prog/xdp" || {
        echo "exporter did not attach:" >&2
        cat "$tmp/exporter.log" >&2
        exit 1
      }
      ;;
  esac
}

stop_config() {
  case $1 in
    none) ;;
    empty) ip -n "$agent" link set dev nobs0 "$ipmode" off ;;
    netobs)
      kill -TERM "$exporter_pid"
      wait "$exporter_pid" || true
      exporter_pid=
      ;;
  esac
}

declare -A results
order=(none empty netobs)
for ((r = 0; r < rounds; r++)); do
  if ((r % 2 == 1)); then configs=(netobs empty none); else configs=("${order[@]}"); fi
  for c in "${configs[@]}"; do
    start_config "$c"
    gbps=$(run_iperf)
    stop_config "$c"
    echo "round $((r + 1)) $c: ${gbps} Gbit/s"
    results[$c]+="$gbps "
  done
done

echo
for c in "${order[@]}"; do
  echo "$c ${results[$c]}"
done | awk -v base="${results[none]}" '
  function stats(list, out,   n, i, v, s, ss, mn, mx) {
    n = split(list, v, " "); s = 0; ss = 0; mn = v[1]; mx = v[1]
    for (i = 1; i <= n; i++) { s += v[i]; ss += v[i] * v[i]; if (v[i] < mn) mn = v[i]; if (v[i] > mx) mx = v[i] }
    out["mean"] = s / n; out["sd"] = sqrt(ss / n - (s / n) ^ 2); out["min"] = mn; out["max"] = mx
  }
  BEGIN { stats(base, b) }
  {
    name = $1; $1 = ""; stats($0, st)
    printf "%-7s mean %.2f Gbit/s  sd %.2f  min %.2f  max %.2f  loss vs none %.1f %%\n",
      name, st["mean"], st["sd"], st["min"], st["max"], 100 * (1 - st["mean"] / b["mean"])
  }'
