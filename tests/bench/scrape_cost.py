#!/usr/bin/env python3
"""Scrape latency and CPU of netobs next to node_exporter, scraped as
Prometheus scrapes them, on the same machine and the same /proc.

  tests/bench/scrape_cost.py [--build DIR] [--scrapes N] [--rounds R] [--pairs snmp,full]
                             [--compare-exporter OTHER_NETOBS_EXPORTER]

Pairs (each a netobs target next to a node_exporter target):
  snmp  netobs --collector.disable-defaults --collector.snmp
        vs node_exporter --collector.disable-defaults --collector.netstat
        and scrape_floor (built beside the benchmarks): only what any
        exporter of these counters must do per scrape (read the same
        /proc files, gzip netobs's own snmp-only body, answer on the
        connection), the floor of the snmp ratio
  full  netobs with its default configuration (every default collector;
        needs root for the BPF ones) vs node_exporter's default collectors

--compare-exporter adds a second snmp-only netobs (another build, e.g. the
commit before a change) as target netobs_snmp_other, measured in the same
rounds: an A/B of two binaries with node_exporter as the common yardstick.

Two ways to scrape, each measured for every target:
  keepalive  one persistent HTTP/1.1 connection, the request headers
             Prometheus sends (Accept with OpenMetrics preferred,
             Accept-Encoding: gzip, X-Prometheus-Scrape-Timeout-Seconds)
  newconn    the same request on a new TCP connection per scrape

Latency is request sent -> whole (compressed) body read. CPU is the exporter
process's own CPU time (every thread, /proc/PID/task/*/schedstat) over the
block of scrapes, divided by the scrapes: unlike latency it does not depend
much on what else the machine runs. Targets take turns in R interleaved
rounds so load changes hit all of them alike; figures are medians over the
rounds of each round's value. Prints a table and `RESULT key value` lines
(tests/bench/run.sh reads them). Needs prometheus-node-exporter.
"""
import argparse
import glob
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PROM_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0;q=0.5,"
              "application/openmetrics-text;version=0.0.1;q=0.4,"
              "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
    "Accept-Encoding": "gzip",
    "User-Agent": "Prometheus/2.42.0",
    "X-Prometheus-Scrape-Timeout-Seconds": "10",
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_ns(pid):
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            total += int(open(path).read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that just ended
    return total


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def scrape(conn):
    conn.request("GET", "/metrics", headers=PROM_HEADERS)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}")
    return len(body)


class Target:
    def __init__(self, name, argv, tmp):
        self.name = name
        self.port = free_port()
        argv = [a.replace("PORT", str(self.port)) for a in argv]
        self.log = open(os.path.join(tmp, name + ".log"), "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        self.conn = None
        self.latency = {"keepalive": [], "newconn": []}  # per round: median ms
        self.cpu = {"keepalive": [], "newconn": []}  # per round: ms per scrape
        self.bytes = 0

    def wait_ready(self):
        for _ in range(300):
            if self.proc.poll() is not None:
                sys.exit(f"{self.name} exited: see {self.log.name}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                self.bytes = scrape(c)
                c.close()
                return
            except OSError:
                time.sleep(0.1)
            except RuntimeError as e:
                sys.exit(f"{self.name} on port {self.port}: {e} (see {self.log.name})")
        sys.exit(f"{self.name} is not answering on port {self.port}")

    def block(self, mode, n):
        times = []
        before = cpu_ns(self.proc.pid)
        for _ in range(n):
            t0 = time.perf_counter()
            if mode == "newconn" or self.conn is None:
                if self.conn is not None:
                    self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            scrape(self.conn)
            times.append((time.perf_counter() - t0) * 1e3)
            if mode == "newconn":
                self.conn.close()
                self.conn = None
        self.latency[mode].append(statistics.median(times))
        self.cpu[mode].append((cpu_ns(self.proc.pid) - before) / n / 1e6)

    def stop(self):
        if self.conn is not None:
            self.conn.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(here, "..", "..", "build"))
    ap.add_argument("--scrapes", type=int, default=200, help="per target and mode, all rounds")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pairs", default="snmp,full")
    ap.add_argument("--compare-exporter", help="another netobs_exporter, scraped snmp-only too")
    args = ap.parse_args()
    netobs = os.path.join(args.build, "exporter", "netobs_exporter")
    node = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    if not os.access(netobs, os.X_OK):
        sys.exit(f"no {netobs}: build it first")
    if not node:
        sys.exit("prometheus-node-exporter is not installed (Debian package prometheus-node-exporter)")
    tmp = tempfile.mkdtemp(prefix="netobs-scrape-cost.")
    snmp_yaml = os.path.join(tmp, "snmp.yaml")
    with open(snmp_yaml, "w") as f:
        f.write("collectors:\n  snmp:\n    sample_interval: 5s\n")
    listen = "--web.listen-address=127.0.0.1:PORT"
    specs = {
        "snmp": [("netobs_snmp", [netobs, "--collector.disable-defaults", "--collector.snmp",
                                  listen, f"--config.file={snmp_yaml}", "--log.level=warn"]),
                 ("node_netstat", [node, "--collector.disable-defaults", "--collector.netstat",
                                   listen, "--log.level=warn"])],
        "full": [("netobs_default", [netobs, listen, "--log.level=warn"]),
                 ("node_default", [node, listen, "--log.level=warn"])],
    }
    pairs = [p for p in args.pairs.split(",") if p]
    targets = []
    try:
        for pair in pairs:
            for name, argv in specs[pair]:
                targets.append(Target(name, argv, tmp))
        if args.compare_exporter and "snmp" in pairs:
            argv = [args.compare_exporter] + specs["snmp"][0][1][1:]
            targets.append(Target("netobs_snmp_other", argv, tmp))
        for t in targets:
            t.wait_ready()
        if "snmp" in pairs:
            floor = os.path.join(args.build, "tests", "bench", "scrape_floor")
            if os.access(floor, os.X_OK):
                snmp = next(t for t in targets if t.name == "netobs_snmp")
                c = http.client.HTTPConnection("127.0.0.1", snmp.port, timeout=10)
                c.request("GET", "/metrics")  # uncompressed: the body to gzip
                body_file = os.path.join(tmp, "snmp_body.txt")
                with open(body_file, "wb") as f:
                    f.write(c.getresponse().read())
                c.close()
                t = Target("snmp_floor", [floor, "PORT", body_file], tmp)
                t.wait_ready()
                targets.append(t)
        time.sleep(6)  # the netobs snmp sampler's first rates
        per_round = max(1, args.scrapes // args.rounds)
        for t in targets:  # warm-up
            t.block("keepalive", 10)
            t.block("newconn", 10)
            t.latency = {"keepalive": [], "newconn": []}
            t.cpu = {"keepalive": [], "newconn": []}
        for r in range(args.rounds):
            order = targets if r % 2 == 0 else targets[::-1]
            for t in order:
                for mode in ("keepalive", "newconn"):
                    t.block(mode, per_round)
        load = open("/proc/loadavg").read().split()[:3]
        print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(load)}, "
              f"kernel {os.uname().release}")
        print(f"{per_round * args.rounds} scrapes per target and mode in {args.rounds} "
              f"interleaved rounds; medians over rounds")
        print(f"{'target':16s} {'keep-alive ms':>13s} {'CPU ms':>8s} {'new conn ms':>12s} "
              f"{'CPU ms':>8s} {'gz bytes':>9s} {'RSS KiB':>8s}")
        med = {}
        for t in targets:
            for mode in ("keepalive", "newconn"):
                med[t.name, mode, "lat"] = statistics.median(t.latency[mode])
                med[t.name, mode, "cpu"] = statistics.median(t.cpu[mode])
            print(f"{t.name:16s} {med[t.name, 'keepalive', 'lat']:13.3f} "
                  f"{med[t.name, 'keepalive', 'cpu']:8.3f} {med[t.name, 'newconn', 'lat']:12.3f} "
                  f"{med[t.name, 'newconn', 'cpu']:8.3f} {t.bytes:9d} {rss_kib(t.proc.pid):8d}")
            for mode in ("keepalive", "newconn"):
                print(f"RESULT {t.name}.{mode}.latency_ms {med[t.name, mode, 'lat']:.3f}")
                print(f"RESULT {t.name}.{mode}.cpu_ms {med[t.name, mode, 'cpu']:.3f}")
        for pair in pairs:
            a, b = specs[pair][0][0], specs[pair][1][0]
            for mode in ("keepalive", "newconn"):
                for what in ("lat", "cpu"):
                    # The ratio of each round, then their median (and range).
                    xs = getattr_rounds(targets, a, b, mode, what)
                    label = "latency" if what == "lat" else "cpu"
                    print(f"RESULT {pair}.{mode}.{label}_ratio {statistics.median(xs):.3f} "
                          f"{min(xs):.3f} {max(xs):.3f}")
                    print(f"{a} / {b}, {mode}, {label}: median {statistics.median(xs):.2f} "
                          f"(rounds {min(xs):.2f}..{max(xs):.2f})")
        for extra in ("snmp_floor", "netobs_snmp_other"):
            if not any(t.name == extra for t in targets):
                continue
            for mode in ("keepalive", "newconn"):
                for what in ("lat", "cpu"):
                    xs = getattr_rounds(targets, extra, "node_netstat", mode, what)
                    label = "latency" if what == "lat" else "cpu"
                    print(f"RESULT {extra}.{mode}.{label}_ratio {statistics.median(xs):.3f} "
                          f"{min(xs):.3f} {max(xs):.3f}")
                    print(f"{extra} / node_netstat, {mode}, {label}: median "
                          f"{statistics.median(xs):.2f} (rounds {min(xs):.2f}..{max(xs):.2f})")
    finally:
        for t in targets:
            t.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def getattr_rounds(targets, a, b, mode, what):
    ta = next(t for t in targets if t.name == a)
    tb = next(t for t in targets if t.name == b)
    xa = ta.latency[mode] if what == "lat" else ta.cpu[mode]
    xb = tb.latency[mode] if what == "lat" else tb.cpu[mode]
    return [x / y if y > 0 else float("inf") for x, y in zip(xa, xb)]


if __name__ == "__main__":
    main()
