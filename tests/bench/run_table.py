#!/usr/bin/env python3
"""Reads the outputs tests/bench/run.sh collected and prints the one table:
figure, measured value, goal, met/missed.

  run_table.py OUT_DIR QUICK ELAPSED_S LOAD_START LOAD_END COMMIT
"""
import json
import os
import re
import statistics
import sys

out, quick, elapsed, load_start, load_end, commit = sys.argv[1:7]
rows = []  # (group, figure, value, goal, status)


def text(name):
    path = os.path.join(out, name + ".txt")
    return open(path).read() if os.path.exists(path) else ""


def results(name):
    found = {}
    for line in text(name).splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "RESULT":
            found[parts[1]] = [float(x) for x in parts[2:]]
    return found


def add(group, figure, value, goal=None, limit=None, below=True):
    """value: (number, shown text); goal text; limit: met when value <= limit."""
    if value is None:
        rows.append((group, figure, "not measured", goal or "-", "missed" if goal else "-"))
        return
    number, shown = value
    status = "-"
    if limit is not None:
        status = "met" if (number <= limit if below else number < limit) else "missed"
    rows.append((group, figure, shown, goal or "-", status))


def ratio_range(m, lo, hi, unit="x"):
    return (m, f"{m:.2f}{unit} ({lo:.2f}-{hi:.2f})")


# ---- socket: per-event cost (BPF run-time stats, ratio to an empty tp_btf program) ----
summary = {}
for line in text("socket_events").splitlines():
    m = re.match(r"(\w+), (send|recv|recv/recv)/?empty\s+median ([\d.]+)x\s+mean [\d.]+x\s+min ([\d.]+)x\s+max ([\d.]+)x", line)
    if m:
        summary[m.group(1), m.group(2)] = tuple(float(m.group(i)) for i in (3, 4, 5))
empty_ns = [float(l.split()[4]) for l in text("socket_events").splitlines()
            if re.match(r"\s*\d+ \w+\s+[\d.]+ [\d.]+ [\d.]+ ", l)]
for mode, label, goal in (("default", "default config", "<= 1.5x"),
                          ("cgroup", "attribution: cgroup", None),
                          ("none", "attribution: none", None),
                          ("details", "syscall_details: true", None),
                          ("events", "event capture on", None)):
    # Each program against the empty program on its own hook (the receive
    # baseline exists since 27c1049; older outputs fall back to the send hook's).
    for direction, word, hook in (("send", "send", "send"), ("recv", "receive", "recv/recv")):
        v = summary.get((mode, hook)) or summary.get((mode, direction))
        add("socket", f"per-event cost, {word} program, {label} (vs empty tp_btf, same hook)",
            ratio_range(*v) if v else None, goal, 1.5 if goal else None)
v = summary.get(("floor", "send"))
if v:
    rows.append(("socket", "  floor: task + comm tag + one per-CPU count, send hook (vs empty)",
                 ratio_range(*v)[1], "-", "-"))
v = summary.get(("default", "recv"))
if v:
    rows.append(("socket", "  receive program, default config, vs the empty program on sock_send_length",
                 ratio_range(*v)[1], "-", "-"))
v = summary.get(("floor", "recv/recv"))
if v:
    rows.append(("socket", "  floor on sock_recv_length (vs empty on the same hook)",
                 ratio_range(*v)[1], "-", "-"))
if empty_ns:
    rows.append(("socket", "  (empty tp_btf program, ns per run, median)",
                 f"{statistics.median(empty_ns):.0f} ns", "-", "-"))

# ---- socket: workload CPU per KiB (thread CPU time, 1 KiB write/read loop) ----
work = {}
for line in text("socket_workload").splitlines():
    m = re.match(r"(\S+)\s+(\d+)\s+([+-][\d.]+)% \(([+-][\d.]+)\.\.([+-][\d.]+)\)\s+([\d.]+)\s+([+-][\d.]+) ns", line)
    if m:
        work[m.group(1)] = (float(m.group(3)), float(m.group(4)), float(m.group(5)), float(m.group(7)))
if "nosys" in work and "empty:sock" in work:
    d, e = work["nosys"][0], work["empty:sock"][0]
    shown = f"{d:+.1f}% vs empty {e:+.1f}%"
    if e > 0:
        add("socket", "workload CPU/KiB increase, default config / empty programs",
            (d / e, f"{d / e:.2f}x ({shown})"), "<= 1.25x", 1.25)
    else:
        # The empty programs cost nothing measurable in this run: no ratio.
        rows.append(("socket", "workload CPU/KiB increase, default config / empty programs",
                     f"floor not measurable ({shown})", "<= 1.25x", "-"))
else:
    add("socket", "workload CPU/KiB increase, default config / empty programs", None, "<= 1.25x")
if "floor:sock" in work and "empty:sock" in work and work["empty:sock"][0] > 0:
    f, e = work["floor:sock"][0], work["empty:sock"][0]
    rows.append(("socket", "  floor: workload CPU/KiB increase, task + comm tag + one count / empty programs",
                 f"{f / e:.2f}x (+{f:.1f}% vs empty +{e:.1f}%)", "-", "-"))
for variant, label in (("collector", "syscall_details: true"), ("empty:syscalls", "empty programs on the 12 syscall tracepoints")):
    if variant in work:
        rows.append(("socket", f"  workload CPU/KiB increase, {label}", f"{work[variant][0]:+.1f}%", "-", "-"))
if "nosys" in work:
    rows.append(("socket", "  cost of an unrelated syscall (getppid), default config",
                 f"{work['nosys'][3]:+.1f} ns", "-", "-"))
if "collector" in work:
    rows.append(("socket", "  cost of an unrelated syscall (getppid), syscall_details: true",
                 f"{work['collector'][3]:+.1f} ns", "-", "-"))

# ---- socket: iperf3 throughput (full run only) ----
thr = {}
for line in text("socket_throughput").splitlines():
    m = re.match(r"(\S+)\s+([\d.]+)\s+([+-]?[\d.]+)%\s+([+-]?[\d.]+)\.\.\s*([+-]?[\d.]+) %\s+(\d+)\s+([+-]?[\d.]+)%", line)
    if m:
        thr[m.group(1)] = (float(m.group(3)), float(m.group(7)), float(m.group(4)), float(m.group(5)))
if "default" in thr and "hold:sock" in thr:
    d, e = thr["default"], thr["hold:sock"]
    if e[2] < 0 < e[3]:
        # The issue asks for throughput loss only where the machine is quiet
        # enough: here the empty programs' own rounds straddle zero.
        rows.append(("socket", "iperf3 throughput loss, default config / empty programs",
                     f"not measurable here: {d[0]:.1f}% vs {e[0]:.1f}%, empty programs' rounds "
                     f"{e[2]:+.1f}..{e[3]:+.1f} %", "<= 1.25x", "-"))
    elif e[0] > 0:
        add("socket", "iperf3 throughput loss, default config / empty programs",
            (d[0] / e[0], f"{d[0] / e[0]:.2f}x ({d[0]:.1f}% vs {e[0]:.1f}%)"), "<= 1.25x", 1.25)
    else:
        rows.append(("socket", "iperf3 throughput loss, default config / empty programs",
                     f"floor not measurable ({d[0]:.1f}% vs {e[0]:.1f}%)", "<= 1.25x", "-"))
    if e[1] > 0:
        rows.append(("socket", "  iperf3 CPU/KiB increase, default / empty programs",
                     f"{d[1] / e[1]:.2f}x (+{d[1]:.1f}% vs +{e[1]:.1f}%)", "-", "-"))
    # The floor of any per-process count (task + comm tag + one per-CPU count)
    # through the same iperf3 rounds.
    f = thr.get("hold:floor")
    if f and e[0] > 0:
        rows.append(("socket", "  floor: iperf3 throughput loss, task + comm tag + one count / empty programs",
                     f"{f[0] / e[0]:.2f}x ({f[0]:.1f}% vs {e[0]:.1f}%)", "-", "-"))
    if f and e[1] > 0:
        rows.append(("socket", "  floor: iperf3 CPU/KiB increase, task + comm tag + one count / empty programs",
                     f"{f[1] / e[1]:.2f}x (+{f[1]:.1f}% vs +{e[1]:.1f}%)", "-", "-"))


# ---- tcp, dns, xdp: Google Benchmark JSON, median over repetitions ----
def bench(name):
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        return {}
    runs = {}
    try:
        data = json.load(open(path))
    except ValueError:
        return {}  # the benchmark failed before writing: its rows say "not measured"
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        runs.setdefault(b["run_name"], []).append(b)
    return runs


def counter(runs, run_name, key):
    values = [b[key] for b in runs.get(run_name, []) if key in b and b[key] > 0]
    if not values:
        return None
    return ratio_range(statistics.median(values), min(values), max(values))


tcp = bench("tcp")
probe = next((n for n in tcp if n.startswith("BM_TcpProbeCost/0")), None)
add("tcp", "tcp_probe per event, default labels (vs empty tp_btf)",
    counter(tcp, probe, "tcp_probe_btf_ratio") if probe else None, "<= 2.5x", 2.5)
for prefix, key, label in (("BM_LifecycleCost", "inet_sock_set_state_btf_ratio", "inet_sock_set_state"),
                           ("BM_LifecycleCost", "tcp_send_reset_btf_ratio", "tcp_send_reset"),
                           ("BM_LifecycleCost", "tcp_receive_reset_btf_ratio", "tcp_receive_reset"),
                           ("BM_TrackStatesCost", "track_tcp_states_ratio", "track_tcp_states"),
                           ("BM_RetransmitCost", "tcp_retransmit_btf_ratio", "tcp_retransmit_skb")):
    name = next((n for n in tcp if n.startswith(prefix)), None)
    if name:
        add("tcp", f"{label} per event (vs empty program, same hook)", counter(tcp, name, key))
for arg, label in (("0", "--top 20 --sort rtt --no-process"), ("1", "--top 20 --sort rtt"),
                   ("4", "--local-port 5304 --top 20")):
    name = next((n for n in tcp if n.startswith("BM_Conns/" + arg)), None)
    if name:
        ms = statistics.median(b["real_time"] for b in tcp[name])
        add("cli", f"netobs conns {label}, 10 000 connections", (ms, f"{ms:.1f} ms"), "<= 50 ms", 50)

flows = bench("flows")
for arg, services in (("0", "no services"), ("1", "200 services"),
                      ("2", "256 edges (128 server addresses)")):
    name = next((n for n in flows if n.startswith("BM_FlowsPerEventCost/" + arg)), None)
    if not name:
        continue
    for hook in ("inet_sock_set_state", "tcp_send_reset", "tcp_receive_reset"):
        add("flows", f"{hook} per event, {services} (vs empty tp_btf, same hook)",
            counter(flows, name, hook + "_ratio"), "<= 2x", 2)
for args, shape in (("300/20", "mixed: 300 flows x 20 round trips"),
                    ("6000/1", "DNS-like: 6000 flows x 1 round trip"),
                    ("30/200", "bulk: 30 flows x 200 round trips")):
    name = next((n for n in flows if n.startswith("BM_FlowsUdpPerPacketCost/" + args)), None)
    if not name:
        continue
    for hook in ("udp_egress", "udp_ingress"):
        add("flows", f"{hook} (cgroup_skb) per datagram, {shape} (vs empty cgroup_skb)",
            counter(flows, name, hook + "_ratio"), "<= 2x", 2)
    # Floors (bench-only programs, same hook, same run): parse + one 5-tuple
    # lookup, an insert when new; what any per-flow table costs at the least.
    for hook in ("udp_egress", "udp_ingress"):
        value = counter(flows, name, hook + "_floor_ratio")  # DNS-like shape only
        if value:
            add("flows", f"  floor: {hook}, parse + 5-tuple lookup/insert, preallocated hash, {shape.split(':')[0]}",
                value)
        value = counter(flows, name, hook + "_floor_lru_ratio")
        if value:
            add("flows", f"  floor: {hook}, the same with an LRU hash, {shape.split(':')[0]}", value)

dns = bench("dns")
for run_name, key, label, goal, limit in (
        ("BM_Ratio_NonDns", "tc_ratio_to_tc_empty", "dns tc program, non-DNS UDP packet", "<= 1.3x", 1.3),
        ("BM_Ratio_NonDns", "ratio_to_empty", "dns socket filter (fallback), non-DNS UDP packet", None, None),
        ("BM_Ratio_CorrelatedResponse", "tc_ratio_to_tc_empty", "dns tc program, correlated response", "<= 3x", 3),
        ("BM_Ratio_Query", "tc_ratio_to_tc_empty", "dns tc program, query", None, None)):
    name = next((n for n in dns if n.startswith(run_name + "/") or n == run_name), None)
    if name:
        add("dns", f"{label} (vs empty, BPF_PROG_TEST_RUN)", counter(dns, name, key), goal, limit)
    elif run_name == "BM_Ratio_NonDns":
        add("dns", f"{label} (vs empty, BPF_PROG_TEST_RUN)", None, goal)

xdp = bench("xdp")
for run_name, label in (("BM_RatioTcpPortMatchSampled1000", "xdp_observe, TCP port match, 1/1000"),
                        ("BM_RatioTcTcpPortMatchSampled1000", "tc_observe, TCP port match, 1/1000"),
                        ("BM_RatioIpv6ExtHeaders", "xdp_observe, IPv6 extension headers"),
                        ("BM_RatioTcIpv6ExtHeaders", "tc_observe, IPv6 extension headers")):
    name = next((n for n in xdp if n.startswith(run_name + "/") or n == run_name), None)
    if name:
        add("xdp", f"{label} (vs empty, BPF_PROG_TEST_RUN)", counter(xdp, name, "ratio_median"))

security = bench("security")
for arg, label, goal, limit in (("0", "no rule matches", "<= 2x", 2),
                                ("1", "every connect matches (alert through the ring buffer)", None, None)):
    name = next((n for n in security if n.startswith("BM_SetStateCost/" + arg)), None)
    if name or arg == "0":
        add("security", f"inet_sock_set_state per event, {label} (vs empty tp_btf)",
            counter(security, name, "ratio") if name else None, goal, limit)

for hook, program, goal, limit in (("1", "DNS-answer tc program", "<= 2x", 2),
                                   ("0", "DNS-answer socket filter (fallback)", None, None)):
    for arg, label in (("0", "non-DNS UDP packet"), ("1", "response, 1 clean answer"),
                       ("2", "response, 4 clean answers")):
        name = next((n for n in security
                     if n.startswith(f"BM_DnsAnswerCost/{arg}/{hook}/")), None)
        if name:
            add("security", f"{program}, {label} (vs empty, same hook, BPF_PROG_TEST_RUN)",
                counter(security, name, "ratio"), goal, limit)
for arg, label in (("0", "non-DNS send"), ("1", "DNS query send")):
    name = next((n for n in security if n.startswith("BM_DnsClientCost/" + arg)), None)
    if name:
        add("security", f"DNS query-sender on sock_send_length, {label} (vs empty tp_btf)",
            counter(security, name, "ratio"), "<= 2x", 2)

drops = bench("drops")
for arg, label, goal, limit in (("0", "every namespace (default)", "<= 1.5x", 1.5),
                                ("1", "one network namespace", None, None),
                                ("2", "local_port label on", None, None)):
    name = next((n for n in drops if n.startswith("BM_DropCost/" + arg)), None)
    if name or arg == "0":
        add("drops", f"kfree_skb per event, {label} (vs empty tp_btf)",
            counter(drops, name, "ratio") if name else None, goal, limit)

# ---- scrapes vs node_exporter ----
sc = results("scrape")


def scrape_row(key, label, goal, limit):
    v = sc.get(key)
    add("scrape", label, ratio_range(*v) if v else None, goal, limit)


scrape_row("snmp.keepalive.latency_ratio", "snmp-only / node_exporter netstat, latency, keep-alive + gzip", "<= 0.3x", 0.3)
scrape_row("snmp.keepalive.cpu_ratio", "snmp-only / node_exporter netstat, CPU, keep-alive + gzip", "<= 0.3x", 0.3)
scrape_row("snmp_floor.keepalive.latency_ratio", "  floor: /proc reads + gzip of the same body + HTTP only, latency, keep-alive + gzip", None, None)
scrape_row("snmp_floor.keepalive.cpu_ratio", "  floor: /proc reads + gzip of the same body + HTTP only, CPU, keep-alive + gzip", None, None)
scrape_row("snmp.newconn.latency_ratio", "snmp-only / node_exporter netstat, latency, new connection", "<= 0.5x", 0.5)
scrape_row("snmp.newconn.cpu_ratio", "snmp-only / node_exporter netstat, CPU, new connection", "<= 0.5x", 0.5)
v = sc.get("full.keepalive.cpu_ratio")
add("scrape", "full default scrape / node_exporter default scrape, CPU, keep-alive + gzip",
    ratio_range(*v) if v else None, "< 1x", 1, below=False)
for key, label in (("netobs_snmp.keepalive.cpu_ms", "  netobs snmp-only CPU per scrape"),
                   ("snmp_floor.keepalive.cpu_ms", "  floor server CPU per scrape"),
                   ("node_netstat.keepalive.cpu_ms", "  node_exporter netstat CPU per scrape"),
                   ("netobs_default.keepalive.cpu_ms", "  netobs default CPU per scrape"),
                   ("node_default.keepalive.cpu_ms", "  node_exporter default CPU per scrape")):
    if key in sc:
        rows.append(("scrape", label, f"{sc[key][0]:.3f} ms", "-", "-"))

# ---- memory ----
rss = results("rss")
soak = "20 s" if quick == "1" else "3 min"
if "rss_end_kib" in rss:
    kib = rss["rss_end_kib"][0]
    add("memory", f"RSS, every collector on (tc on a veth), after {soak} of mixed traffic",
        (kib / 1024, f"{kib / 1024:.1f} MiB (start {rss['rss_start_kib'][0] / 1024:.1f}, "
                     f"peak {rss['hwm_kib'][0] / 1024:.1f})"), "<= 15 MiB", 15)
else:
    add("memory", f"RSS, every collector on (tc on a veth), after {soak} of mixed traffic", None, "<= 15 MiB")
floor = results("rss_floor")
if "rss_end_kib" in floor:
    kib = floor["rss_end_kib"][0]
    add("memory", f"  floor: RSS, no collectors (--collector.disable-defaults), same scrapes, after {soak}",
        (kib / 1024, f"{kib / 1024:.1f} MiB (start {floor['rss_start_kib'][0] / 1024:.1f}, "
                     f"peak {floor['hwm_kib'][0] / 1024:.1f})"))
    if "rss_end_kib" in rss:
        rows.append(("memory", "  the collectors' share (every collector on minus the floor)",
                     f"{(rss['rss_end_kib'][0] - kib) / 1024:.1f} MiB", "-", "-"))
else:
    add("memory", f"  floor: RSS, no collectors (--collector.disable-defaults), same scrapes, after {soak}", None)

# ---- CLI ----
for name, label in (("cli_conns", "netobs conns --no-process, this machine's connections"),
                    ("cli_stats", "netobs stats -a")):
    r = results(name).get("ms")
    add("cli", label, (r[0], f"{r[0]:.0f} ms ({r[1]:.0f}-{r[2]:.0f})") if r else None)

# ---- print ----
print(f"netobs benchmarks ({'quick' if quick == '1' else 'full'}), commit {commit}, "
      f"{os.uname().nodename}: {os.cpu_count()} CPUs, kernel {os.uname().release}, "
      f"load average {load_start} at start, {load_end} at end, {int(elapsed) // 60} min {int(elapsed) % 60} s")
widths = [max(len(r[i]) for r in rows + [("group", "figure", "measured", "goal", "status")]) for i in range(5)]
header = ("group", "figure", "measured", "goal", "status")
print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for r in rows:
    print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
met = sum(1 for r in rows if r[4] == "met")
missed = sum(1 for r in rows if r[4] == "missed")
print(f"goals: {met} met, {missed} missed")
