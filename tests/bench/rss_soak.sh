#!/usr/bin/env bash
# Memory of the exporter with every collector on (xdp in mode auto, which is
# tc on a veth) under mixed traffic, scraped every second:
#
#   sudo tests/bench/rss_soak.sh [BUILD_DIR] [SECONDS=180]
#
# Two namespaces the script creates (nobsrss<pid>, nobsrss<pid>p) joined by
# a veth pair on 10.199.251.0/24; the exporter runs in the first, so its
# snmp collector reads that namespace's counters and its xdp/tc programs sit
# on the veth (nobsr0). Traffic, all bounded by SECONDS, from the peer
# namespace: an iperf3 TCP stream capped at 200 Mbit/s with 1 KiB writes, an
# iperf3 UDP stream (50 Mbit/s), DNS queries (dig against a dnsmasq of our
# own, ~20/s, half of them for names it does not know), and short HTTP
# connections (curl to a python http.server, ~10/s); plus /metrics scrapes
# with gzip every second. Prints VmRSS and open files at start and every 30 s,
# VmHWM at the end, and `RESULT rss_start_kib|rss_end_kib|hwm_kib|fds_start|
# fds_end N` lines for run.sh; every sample also as `SAMPLE <s> <rss KiB>
# <open files> <RssAnon KiB>` (soak.sh reads them).
# SOAK_COLLECTORS=none: the floor, the same binary with no collector at all
# (--collector.disable-defaults), scraped the same way for the same time
# but without the traffic (nothing in it would count it): what the process
# itself takes, so the all-collectors figure splits into collectors and
# process. run.sh runs it beside the all-collectors soak.
# SOAK_EXPORTER_FLAGS: more exporter flags (an A/B of one setting, e.g.
# --web.max-connections=256).
# Environment: SOAK_SCRAPES_PER_SECOND (default 1: one curl a second; more:
# a keep-alive client as Prometheus scrapes, paced at that rate, its
# successes and failures printed at the end), SOAK_SAMPLE_SECONDS (30).
# Removes the namespaces (and so every program and process in them) at exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
seconds=${2:-180}
scrape_rate=${SOAK_SCRAPES_PER_SECOND:-1}
sample_every=${SOAK_SAMPLE_SECONDS:-30}
collectors=${SOAK_COLLECTORS:-all}
[[ $collectors == all || $collectors == none ]] || { echo "SOAK_COLLECTORS: all or none" >&2; exit 2; }
exporter=$build/exporter/netobs_exporter
[[ $(id -u) -eq 0 ]] || { echo "needs root" >&2; exit 1; }
[[ -x $exporter ]] || { echo "no $exporter: build it first" >&2; exit 2; }
for tool in iperf3 dnsmasq dig curl python3; do
  command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 2; }
done

agent=nobsrss$$
peer=${agent}p
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # Whatever still runs in the namespaces (deleting one does not end its
  # processes, and they would keep an inherited benchmark lock).
  for ns in "$agent" "$peer"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  done
  wait 2>/dev/null || true
  ip netns del "$peer" 2>/dev/null || true
  ip netns del "$agent" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$agent"
ip netns add "$peer"
for ns in "$agent" "$peer"; do ip -n "$ns" link set lo up; done
if [[ $collectors == all ]]; then
  ip link add nobsr0 netns "$agent" type veth peer name nobsr1 netns "$peer"
  ip -n "$agent" addr add 10.199.251.1/24 dev nobsr0
  ip -n "$peer" addr add 10.199.251.2/24 dev nobsr1
  ip -n "$agent" link set nobsr0 up
  ip -n "$peer" link set nobsr1 up
fi

in_agent() { ip netns exec "$agent" "$@"; }
in_peer() { ip netns exec "$peer" "$@"; }
bg() {  # namespace command... : started in the background, stopped at exit
  local ns=$1
  shift
  ip netns exec "$ns" "$@" >>"$tmp/background.log" 2>&1 &
  pids+=($!)
}

# Every collector sees only the run's own traffic, so the figures depend on
# netobs alone and not on what else runs on the machine: tcp and drops
# through the agent namespace, snmp and xdp through being in it, dns through
# a port nothing else uses, and the socket collector (it counts host-wide)
# through the run's process names and ports (an unconnected UDP send passes
# a port filter, so the names are needed too). On a shared machine other
# processes filled the socket collector's comm slots and the drops
# collector's keys, and RSS followed.
cat >"$tmp/netobs.yaml" <<EOF
network:
  include_ports: [25201, 25202, 25353, 28080]
collectors:
  snmp: {enabled: true}
  socket:
    enabled: true
    comms: [iperf3, dnsmasq, dig, isc-net-0000, isc-net-0001, curl, python3]
  tcp: {enabled: true, network_namespace: /run/netns/$agent}
  dns: {enabled: true, ports: [25353]}
  drops: {enabled: true, network_namespace: /run/netns/$agent}
  xdp:
    enabled: true
    interfaces: [nobsr0]
    mode: auto
EOF
port=19725
if [[ $collectors == all ]]; then
  exporter_args=(--config.file="$tmp/netobs.yaml")
else
  exporter_args=(--collector.disable-defaults)
fi
read -r -a extra_flags <<<"${SOAK_EXPORTER_FLAGS:-}"
ip netns exec "$agent" "$exporter" --web.listen-address=127.0.0.1:$port "${exporter_args[@]}" "${extra_flags[@]}" \
  --log.level=warn >"$tmp/exporter.log" 2>&1 &
exporter_pid=$!
pids+=("$exporter_pid")
url=http://127.0.0.1:$port/metrics
ready=
for _ in $(seq 300); do  # up to a minute on a loaded machine
  # grep reads the whole body: with -q it would exit at the match, curl would
  # fail on the closed pipe (the body is larger than a pipe buffer) and
  # pipefail would call the exporter not ready.
  if [[ $collectors == none ]]; then
    attached='^netobs_build_info{'
  else
    attached='collector="xdp",program="[a-z_]*@nobsr0"} 1'
  fi
  if in_agent curl -sf "$url" 2>/dev/null | grep "$attached" >/dev/null; then
    ready=1
    break
  fi
  sleep 0.2
done
[[ -n $ready ]] || { echo "exporter did not attach to nobsr0:" >&2; cat "$tmp/exporter.log" >&2; exit 1; }
ready_collectors=(snmp socket tcp dns xdp)
[[ $collectors == all ]] || ready_collectors=()
for c in "${ready_collectors[@]}"; do
  for try in $(seq 150); do
    in_agent curl -s "$url" >"$tmp/ready.txt" || true
    grep -q "netobs_scrape_collector_success{collector=\"$c\"} 1" "$tmp/ready.txt" && break
    if ((try == 150)); then
      echo "collector $c is not running:" >&2
      grep -E '^netobs_scrape_collector_(success|duration)' "$tmp/ready.txt" >&2 || true
      cat "$tmp/exporter.log" >&2
      exit 1
    fi
    sleep 0.2
  done
done

rss() { awk "/^$1:/ { print \$2 }" "/proc/$exporter_pid/status"; }
fds() { find "/proc/$exporter_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
rss_start=$(rss VmRSS)
fds_start=$(fds)
if [[ $collectors == all ]]; then
  echo "t=0s VmRSS ${rss_start} KiB, ${fds_start} open files (all collectors started, xdp on nobsr0: tc on a veth)"
else
  echo "t=0s VmRSS ${rss_start} KiB, ${fds_start} open files (no collectors)"
fi
echo "SAMPLE 0 $rss_start $fds_start $(rss RssAnon)"

end=$((SECONDS + seconds))
if [[ $collectors == all ]]; then
# Servers in the agent namespace.
bg "$agent" iperf3 -s -B 10.199.251.1 -p 25201
bg "$agent" iperf3 -s -B 10.199.251.1 -p 25202
bg "$agent" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
  --listen-address=10.199.251.1 --port=25353 --address=/soak.test/192.0.2.7 --pid-file="$tmp/dnsmasq.pid"
mkdir -p "$tmp/www" && echo hello >"$tmp/www/index.html"
bg "$agent" python3 -m http.server 28080 --bind 10.199.251.1 --directory "$tmp/www"
sleep 1
end=$((SECONDS + seconds))
bg "$peer" iperf3 -c 10.199.251.1 -p 25201 -t "$seconds" -l 1K -b 200M
bg "$peer" iperf3 -c 10.199.251.1 -p 25202 -u -t "$seconds" -b 50M
bg "$peer" bash -c "i=0; while (( SECONDS < $seconds )); do
  dig +short +tries=1 +time=1 -p 25353 @10.199.251.1 host\$((i % 50)).soak.test >/dev/null
  dig +short +tries=1 +time=1 -p 25353 @10.199.251.1 missing\$((i % 500)).example >/dev/null
  i=\$((i + 1)); sleep 0.1; done"
bg "$peer" bash -c "while (( SECONDS < $seconds )); do
  curl -s -o /dev/null http://10.199.251.1:28080/; sleep 0.1; done"
fi

if ((scrape_rate > 1)); then
  # Keep-alive scrapes with gzip at a fixed pace; a failed or short answer
  # counts as a failure and reconnects.
  cat >"$tmp/scraper.py" <<'PY'
import http.client, sys, time
port, rate, seconds, out = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
ok = failed = 0
conn = None
start = time.monotonic()
n = 0
while time.monotonic() - start < seconds:
    n += 1
    try:
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status == 200 and len(body) > 0:
            ok += 1
        else:
            failed += 1
    except Exception:
        failed += 1
        conn = None
    delay = start + n / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
with open(out, "w") as f:
    f.write(f"{ok} {failed} {time.monotonic() - start:.1f}\n")
PY
  bg "$agent" python3 "$tmp/scraper.py" "$port" "$scrape_rate" "$seconds" "$tmp/scrapes"
fi
next_report=$sample_every
while ((SECONDS < end)); do
  if ((scrape_rate <= 1)); then
    in_agent curl -s -o /dev/null -H 'Accept-Encoding: gzip' "$url" || true
  fi
  sleep 1
  elapsed=$((seconds - (end - SECONDS)))
  if ((elapsed >= next_report)); then
    r=$(rss VmRSS) f=$(fds) a=$(rss RssAnon)
    echo "t=${elapsed}s VmRSS $r KiB (anonymous $a KiB), $f open files"
    echo "SAMPLE $elapsed $r $f $a"
    next_report=$((next_report + sample_every))
  fi
done
sleep 2  # let the last connections close and be counted
if ((scrape_rate > 1)); then
  for _ in $(seq 50); do [[ -s $tmp/scrapes ]] && break; sleep 0.2; done
  read -r ok failed took <"$tmp/scrapes" || true
  echo "scrapes: ${ok:-?} answered, ${failed:-?} failed in ${took:-?} s (asked for $scrape_rate/s)"
  echo "RESULT scrapes_ok ${ok:-0}"
  echo "RESULT scrapes_failed ${failed:-0}"
fi
in_agent curl -s -o /dev/null -H 'Accept-Encoding: gzip' "$url"
rss_end=$(rss VmRSS)
fds_end=$(fds)
# Where it is: anonymous memory (heap, stacks), file pages (the binary and
# its libraries), shared/special mappings (BPF ring buffers and maps mapped
# into the process), and the largest mappings.
grep -E '^Rss(Anon|File|Shmem)' "/proc/$exporter_pid/status" | tr -s ' \t' ' ' | tr '\n' ';'; echo
awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 ? $6 : "[anon]" } /^Rss:/ { rss[name] += $2 }
     END { for (n in rss) if (rss[n] >= 256) printf "  %6d KiB %s\n", rss[n], n }' \
  "/proc/$exporter_pid/smaps" | sort -rn | head -12
hwm=$(rss VmHWM)
echo "after ${seconds}s: VmRSS ${rss_end} KiB, VmHWM ${hwm} KiB; machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "RESULT rss_start_kib $rss_start"
echo "RESULT rss_end_kib $rss_end"
echo "RESULT hwm_kib $hwm"
echo "RESULT fds_start $fds_start"
echo "RESULT fds_end $fds_end"
