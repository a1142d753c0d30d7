#!/usr/bin/env bash
# Soak benchmark (not in CI): the exporter with every collector on (xdp/tc on
# a veth) under mixed traffic (iperf3 TCP and UDP, DNS, short HTTP
# connections) and 50 keep-alive gzip scrapes a second, for 30 minutes by
# default; RSS and open files sampled every 30 s (rss_soak.sh does the run).
# Prints the figures at start, at the end of the warm-up and at the end, the
# growth after warm-up (and its slope per hour), and whether both are flat:
# RSS grew by at most max(256 KiB, 2 %) after warm-up and open files by at
# most 2, and no scrape failed. Every collector sees only the run's own
# traffic (see rss_soak.sh), so the result does not depend on what else
# runs on the machine. Waits for /tmp/netobs-bench.lock first.
#
#   sudo bash tests/bench/soak.sh [--duration 30m] [--warmup 5m]
#        [--scrapes-per-second 50] [--build BUILD_DIR]
#
# Durations take s, m or h (plain numbers are seconds). The warm-up is
# capped at a third of the duration. Exit code 0 when flat, 1 when not, 2
# for a usage error or a failed run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
duration=30m
warmup=5m
rate=50
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
seconds_of() {
  case $1 in
    *h) echo $((${1%h} * 3600)) ;;
    *m) echo $((${1%m} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}
while (($#)); do
  case $1 in
    --duration) duration=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    --scrapes-per-second) rate=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    -h | --help) usage ;;
    *) echo "unknown argument $1" >&2; usage ;;
  esac
done
total=$(seconds_of "$duration")
warm=$(seconds_of "$warmup")
[[ $total =~ ^[0-9]+$ && $warm =~ ^[0-9]+$ && $rate =~ ^[0-9]+$ ]] || usage
((total >= 60)) || { echo "--duration must be at least 60 s" >&2; exit 2; }
((warm <= total / 3)) || warm=$((total / 3))

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Benchmarks on this machine take turns (tests/bench/run.sh takes it too).
exec 9>/tmp/netobs-bench.lock
echo "waiting for /tmp/netobs-bench.lock ..." >&2
flock 9
echo "soak: ${total} s, warm-up ${warm} s, ${rate} scrapes/s, commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if ! SOAK_SCRAPES_PER_SECOND=$rate SOAK_SAMPLE_SECONDS=30 bash "$here/rss_soak.sh" "$build" "$total" |
  tee "$log"; then
  echo "soak run failed" >&2
  exit 2
fi
python3 - "$log" "$warm" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
warm = int(sys.argv[2])
samples = [tuple(map(int, l.split()[1:5])) for l in lines if l.startswith("SAMPLE ")]
results = {l.split()[1]: int(l.split()[2]) for l in lines if l.startswith("RESULT ")}
if len(samples) < 3:
    print("too few samples"); sys.exit(2)
start = samples[0]
at_warm = min(samples, key=lambda s: abs(s[0] - warm))
after = [s for s in samples if s[0] >= at_warm[0]]
end = samples[-1]
n = len(after)
mean_t = sum(s[0] for s in after) / n
mean_r = sum(s[1] for s in after) / n
var_t = sum((s[0] - mean_t) ** 2 for s in after)
slope = sum((s[0] - mean_t) * (s[1] - mean_r) for s in after) / var_t if var_t else 0.0
rss_growth = end[1] - at_warm[1]
fds_growth = max(s[2] for s in after) - at_warm[2]
rss_flat = rss_growth <= max(256, 0.02 * at_warm[1])
fds_flat = fds_growth <= 2
failed = results.get("scrapes_failed", 0)
mib = lambda k: f"{k / 1024:.1f} MiB"
print()
print("| figure | start | end of warm-up | end | after warm-up |")
print("|---|---|---|---|---|")
print(f"| RSS | {mib(start[1])} | {mib(at_warm[1])} (t={at_warm[0]} s) | {mib(end[1])} (t={end[0]} s) | "
      f"{rss_growth:+d} KiB, slope {slope * 3600:+.0f} KiB/h, peak {mib(results.get('hwm_kib', 0))} |")
print(f"| of which anonymous (heap, stacks) | {mib(start[3])} | {mib(at_warm[3])} | {mib(end[3])} | "
      f"{end[3] - at_warm[3]:+d} KiB |")
print(f"| open files | {start[2]} | {at_warm[2]} | {end[2]} | max {fds_growth:+d} |")
print(f"scrapes: {results.get('scrapes_ok', '?')} answered, {failed} failed")
flat = rss_flat and fds_flat and failed == 0
print(f"RSS {'flat' if rss_flat else 'GROWING'}, open files {'flat' if fds_flat else 'GROWING'}"
      f"{'' if failed == 0 else ', scrapes FAILED'}: {'flat' if flat else 'NOT flat'}")
sys.exit(0 if flat else 1)
PY
