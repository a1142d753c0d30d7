#!/usr/bin/env bash
# socket collector: workload overhead on loopback iperf3 with 1 KiB writes,
# without and with netobs_exporter (socket collector only, metrics only),
# in interleaved rounds so machine noise hits every variant alike. Needs
# root and iperf3 (Debian package iperf3). Run it under the shared lock:
#   sudo flock /tmp/netobs-bench.lock tests/bench/socket_overhead.sh \
#        [build-dir] [rounds=5] [seconds=5] [variants...]
# Variants (default: off default details):
#   off            no BPF at all (the baseline, always measured first)
#   default        the exporter with the default configuration (socket
#                  collector, no syscall tracepoints)
#   details        the exporter with collectors.socket.syscall_details: true
#   nosys          collectors.socket.syscall_details: false (= default now)
#   nostats        the exporter with exporter.bpf_stats: false
#   hold:WHAT      socket_bpf_bench hold WHAT (empty programs only: sock,
#                  syscalls, raw-sys-enter), to split the overhead by cause
# Two figures per run: receiver throughput, and the CPU time iperf3's
# client and server spent per KiB moved (user + system, from rusage and
# /proc; loopback's receive path runs in the sender's softirq and is
# included). On a shared machine the CPU time is the steadier of the two:
# it does not depend on how much CPU the other jobs leave to iperf3.
set -euo pipefail
build=${1:-build}
rounds=${2:-5}
seconds=${3:-5}
shift $(($# < 3 ? $# : 3))
variants=("$@")
((${#variants[@]})) || variants=(default details)
exec python3 - "$build" "$rounds" "$seconds" "${variants[@]}" <<'PY'
import json, os, signal, statistics, subprocess, sys, tempfile, time, urllib.request

build, rounds, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
variants = ["off"] + [v for v in sys.argv[4:] if v != "off"]
port = 15300 + os.getpid() % 500
web = 19800 + os.getpid() % 100
tick = os.sysconf("SC_CLK_TCK")
tmp = tempfile.mkdtemp(prefix="netobs-socket-overhead.")
configs = {
    "default": "",
    "nosys": "collectors:\n  socket:\n    syscall_details: false\n",
    "details": "collectors:\n  socket:\n    syscall_details: true\n",
    "nostats": "exporter:\n  bpf_stats: false\n",
}


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick


def start(variant):
    if variant == "off":
        return None
    if variant.startswith("hold:"):
        p = subprocess.Popen([f"{build}/tests/bench/socket_bpf_bench", "hold", variant[5:]])
        time.sleep(1.0)
        if p.poll() is not None:
            sys.exit(f"{variant} did not start")
        return p
    argv = [f"{build}/exporter/netobs_exporter", "--collector.disable-defaults",
            "--collector.socket", f"--web.listen-address=127.0.0.1:{web}"]
    if configs[variant]:  # the default: no file (an empty one is refused)
        path = os.path.join(tmp, variant + ".yaml")
        with open(path, "w") as f:
            f.write(configs[variant])
        argv.append(f"--config.file={path}")
    p = subprocess.Popen(argv,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):  # up to a minute: loading the BPF programs on a busy machine
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{web}/metrics", timeout=5).read()
            return p
        except Exception:
            time.sleep(0.1)
    p.kill()
    sys.exit("exporter did not come up")


def stop(p):
    if p is not None:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)


def run_iperf(server):
    s0 = cpu_seconds(server.pid)
    client = subprocess.Popen(["nice", "-n", "-20", "iperf3", "-c", "127.0.0.1", "-p", str(port),
                               "-t", str(seconds), "-l", "1K", "-J"], stdout=subprocess.PIPE)
    out = client.stdout.read()
    _, _, usage = os.wait4(client.pid, 0)
    s1 = cpu_seconds(server.pid)
    received = json.loads(out)["end"]["sum_received"]
    kib = received["bytes"] / 1024
    cpu = usage.ru_utime + usage.ru_stime + s1 - s0
    return received["bits_per_second"] / 1e9, cpu / kib * 1e9


server = subprocess.Popen(["nice", "-n", "-20", "iperf3", "-s", "-p", str(port)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(0.5)
results = {v: [] for v in variants}
try:
    for r in range(rounds):
        # Alternate the order so neither side always runs first.
        for v in variants if r % 2 == 0 else variants[::-1]:
            p = start(v)
            try:
                gbit, ns = run_iperf(server)
            finally:
                stop(p)
            results[v].append((gbit, ns))
            print(f"round {r} {v:22s} {gbit:6.3f} Gbit/s {ns:7.0f} ns CPU/KiB", flush=True)
finally:
    server.terminate()
    server.wait()

base = results["off"]
print(f"\n{'variant':22s} {'Gbit/s':>7s} {'loss mean':>9s} {'per round':>24s}"
      f" {'CPU/KiB':>8s} {'CPU +median':>11s} {'CPU + range':>15s}")
for v in variants:
    gbit = [x[0] for x in results[v]]
    ns = [x[1] for x in results[v]]
    loss = [100 * (1 - a[0] / b[0]) for a, b in zip(results[v], base)]
    cpu = [100 * (a[1] / b[1] - 1) for a, b in zip(results[v], base)]
    print(f"{v:22s} {statistics.mean(gbit):7.3f} {statistics.mean(loss):8.1f}% "
          f"{min(loss):10.1f}..{max(loss):5.1f} %   {statistics.mean(ns):7.0f}  "
          f"{statistics.median(cpu):9.1f}%  {min(cpu):6.1f}..{max(cpu):5.1f}%")
PY
