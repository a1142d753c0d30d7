#!/usr/bin/env bash
# Throughput cost of the xdp collector: iperf3 (TCP, one stream) through a
# veth pair between two test namespaces, the receiving veth (nobs0) in one
# of these configurations, interleaved round by round (the order rotates and
# reverses so drift and warm-up hit every configuration alike):
#   none          no program on nobs0
#   xdp-native    xdp_empty (returns XDP_PASS) attached in native (driver) mode:
#                 what attaching ANY XDP program to a veth costs
#   xdp-generic   xdp_empty in generic (skb) mode
#   netobs-native the exporter, xdp collector, mode: native (1/1000, port 5201)
#   netobs-generic  same, mode: generic
#   tc-empty      tc_empty (returns TCX_NEXT) on tcx ingress: the tc hook's cost
#   netobs-tc     the exporter, mode: tc
#   netobs-auto   the exporter, mode: auto (tc on a veth)
# Prints each run, the peer's offload changes per configuration (ethtool -k),
# then mean, sd, min, max, the ratio to `none` and the loss, and for the
# netobs configurations the ratio to the empty program on the same hook.
#   sudo flock /tmp/netobs-bench.lock tests/bench/xdp_iperf3.sh \
#     [build-dir] [rounds] [seconds] [config ...]
# Needs iperf3, ethtool; build netobs_exporter, bpf/packet_baseline.bpf.o and
# tests/bench/xdp_bpf_bench (it holds tc_empty attached). Uses namespaces
# nobsxdpb<pid>{,p} and 10.199.250.0/24, removed on exit.
set -euo pipefail
build=${1:-build}
rounds=${2:-5}
seconds=${3:-5}
shift $(($# < 3 ? $# : 3))
configs=("$@")
((${#configs[@]})) || configs=(none xdp-native xdp-generic netobs-native netobs-generic tc-empty
  netobs-tc)
exporter=$build/exporter/netobs_exporter
object=$build/bpf/packet_baseline.bpf.o
bench=$build/tests/bench/xdp_bpf_bench
[[ $(id -u) -eq 0 ]] || { echo "needs root" >&2; exit 1; }
[[ -x $exporter && -f $object ]] || { echo "build $exporter and $object first" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "needs iperf3 (apt-get install iperf3)" >&2; exit 1; }
for c in "${configs[@]}"; do
  case $c in
    none | xdp-native | xdp-generic | netobs-native | netobs-generic | netobs-tc | netobs-auto) ;;
    tc-empty) [[ -x $bench ]] || { echo "build $bench first (tc-empty)" >&2; exit 1; } ;;
    *) echo "unknown configuration $c" >&2; exit 2 ;;
  esac
done

agent=nobsxdpb$$
peer=${agent}p
port=19724
tmp=$(mktemp -d)
holder_pid=
exporter_pid=
cleanup() {
  [[ -f $tmp/server.pid ]] && kill "$(cat "$tmp/server.pid")" 2>/dev/null || true
  [[ -n $exporter_pid ]] && kill "$exporter_pid" 2>/dev/null || true
  [[ -n $holder_pid ]] && kill "$holder_pid" 2>/dev/null || true
  wait 2>/dev/null || true
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
ip netns exec "$agent" iperf3 -s -D -B 10.199.250.1 -p 5201 --logfile "$tmp/server.log" \
  --pidfile "$tmp/server.pid"
sleep 0.5

run_iperf() {
  ip netns exec "$peer" iperf3 -c 10.199.250.1 -p 5201 -t "$seconds" -f g 2>&1 |
    awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Gbits/sec") print $(i - 1) }'
}

offloads() {
  if command -v ethtool >/dev/null; then
    ip netns exec "$peer" ethtool -k peer0 | grep -v fixed | sort
  fi
}

start_exporter() {
  cat >"$tmp/netobs.yaml" <<EOF
collectors:
  xdp:
    enabled: true
    interfaces: [nobs0]
    mode: $1
    sample_rate: 1000
    filters:
      ports: [5201]
EOF
  ip netns exec "$agent" "$exporter" --collector.disable-defaults --collector.xdp \
    --web.listen-address=127.0.0.1:$port --config.file="$tmp/netobs.yaml" \
    >"$tmp/exporter.log" 2>&1 &
  exporter_pid=$!
  for _ in $(seq 50); do
    ip netns exec "$agent" curl -sf "http://127.0.0.1:$port/metrics" 2>/dev/null |
      grep -q 'netobs_bpf_program_attached{attach="\(xdp_native\|xdp_generic\|tcx\|tc_clsact\)",collector="xdp",program="[a-z_]*@nobs0"} 1' &&
      return 0
    sleep 0.1
  done
  echo "exporter did not attach (mode $1):" >&2
  cat "$tmp/exporter.log" >&2
  exit 1
}

start_config() {
  case $1 in
    none) ;;
    xdp-native) ip -n "$agent" link set dev nobs0 xdpdrv object "$object" program xdp_empty ;;
    xdp-generic) ip -n "$agent" link set dev nobs0 xdpgeneric object "$object" program xdp_empty ;;
    tc-empty)
      ip netns exec "$agent" "$bench" --hold-empty-tc=nobs0 >"$tmp/holder.log" 2>&1 &
      holder_pid=$!
      for _ in $(seq 50); do
        grep -q attached "$tmp/holder.log" && return 0
        sleep 0.1
      done
      echo "tc_empty not attached:" >&2
      cat "$tmp/holder.log" >&2
      exit 1
      ;;
    netobs-*) start_exporter "${1#netobs-}" ;;
  esac
}

stop_config() {
  case $1 in
    none) ;;
    xdp-native) ip -n "$agent" link set dev nobs0 xdpdrv off ;;
    xdp-generic) ip -n "$agent" link set dev nobs0 xdpgeneric off ;;
    tc-empty)
      kill -TERM "$holder_pid"
      wait "$holder_pid" || true
      holder_pid=
      ;;
    netobs-*)
      kill -TERM "$exporter_pid"
      wait "$exporter_pid" || true
      exporter_pid=
      ;;
  esac
}

declare -A results
n=${#configs[@]}
offloads >"$tmp/offloads.none"
for ((r = 0; r < rounds; r++)); do
  # Rotate by the round, reverse every other round.
  order=()
  for ((i = 0; i < n; i++)); do order+=("${configs[$(((i + r) % n))]}"); done
  if ((r % 2 == 1)); then
    reversed=()
    for ((i = n - 1; i >= 0; i--)); do reversed+=("${order[$i]}"); done
    order=("${reversed[@]}")
  fi
  for c in "${order[@]}"; do
    start_config "$c"
    if ((r == 0)) && [[ $c != none ]]; then
      offloads >"$tmp/offloads.$c"
    fi
    gbps=$(run_iperf)
    stop_config "$c"
    echo "round $((r + 1)) $c: ${gbps:-?} Gbit/s"
    results[$c]+="${gbps:-0} "
  done
done

echo
echo "offload changes on the sending veth (peer0) while each configuration is attached:"
for c in "${configs[@]}"; do
  [[ $c == none || ! -f $tmp/offloads.$c ]] && continue
  changes=$(diff "$tmp/offloads.none" "$tmp/offloads.$c" | grep '^>' | sed 's/^> //' | tr '\n' ';' || true)
  echo "  $c: ${changes:-none}"
done
echo
for c in "${configs[@]}"; do
  echo "$c ${results[$c]}"
done | awk -v base="${results[none]:-}" -v xn="${results[xdp-native]:-}" \
  -v xg="${results[xdp-generic]:-}" -v te="${results[tc-empty]:-}" '
  function mean(list,   n, i, v, s) {
    n = split(list, v, " "); s = 0
    for (i = 1; i <= n; i++) s += v[i]
    return n ? s / n : 0
  }
  function stats(list, out,   n, i, v, s, ss, mn, mx) {
    n = split(list, v, " "); s = 0; ss = 0; mn = v[1]; mx = v[1]
    for (i = 1; i <= n; i++) { s += v[i]; ss += v[i] * v[i]; if (v[i] < mn) mn = v[i]; if (v[i] > mx) mx = v[i] }
    out["mean"] = s / n; out["sd"] = sqrt(ss / n - (s / n) ^ 2); out["min"] = mn; out["max"] = mx
  }
  BEGIN { b = mean(base); empty["netobs-native"] = mean(xn); empty["netobs-generic"] = mean(xg)
          empty["netobs-tc"] = mean(te); empty["netobs-auto"] = mean(te) }
  {
    name = $1; $1 = ""; stats($0, st)
    printf "%-15s mean %6.2f Gbit/s  sd %5.2f  min %6.2f  max %6.2f", name, st["mean"], st["sd"], st["min"], st["max"]
    if (b > 0) {
      # Per-round ratios (runs of one round are adjacent in time): their range.
      n = split($0, v, " "); split(base, bv, " "); rmin = 1e9; rmax = 0
      for (i = 1; i <= n; i++) if (bv[i] > 0) { r = v[i] / bv[i]; if (r < rmin) rmin = r; if (r > rmax) rmax = r }
      printf "  vs none %.3f (loss %5.1f %%, per-round %.2f..%.2f)", st["mean"] / b,
        100 * (1 - st["mean"] / b), rmin, rmax
    }
    if ((name in empty) && empty[name] > 0)
      printf "  vs empty program on the same hook %.3f", st["mean"] / empty[name]
    printf "\n"
  }'
