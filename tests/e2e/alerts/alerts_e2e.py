#!/usr/bin/env python3
"""End-to-end check of the netobs dashboards and alerts with real components.

Runs as root. Creates two network namespaces joined by a veth pair and, inside
the first one, runs netobs_exporter (snmp, socket, tcp, dns, xdp on the veth),
a real Prometheus (scrape and rule evaluation every second, the shipped rules
with only `for:` shortened), a real Alertmanager, and a webhook receiver (this
process). Then:
  1. healthy traffic only: no netobs alert may become pending or firing;
  2. faults (nftables loss, SERVFAIL / silent / slow DNS servers, refused
     connects, an overflowing listen backlog, resets, malformed frames, a
     full BPF map, a collector that fails, lost events, a failed config
     reload): every expected alert must arrive at the webhook through
     Alertmanager with its labels and rendered annotations, and no other;
  3. every query of every dashboard panel must return data from Prometheus;
  4. the second exporter is stopped: NetobsExporterDown must arrive.
Everything it starts is stopped, and the namespaces and nft tables go with
the namespaces. Every loop is bounded in count and time.

  alerts_e2e.py --exporter BIN --source DIR
"""
import argparse
import importlib.util
import http.server
import json
import os
import pathlib
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

COMM = "netobs-e2e"          # the socket collector of exporter A only sees this process name
BURST_COMM = "netobs-burst"  # ... and exporter B only this one
FOR_OVERRIDE = "10s"         # test-only: every `for:` of the shipped rules
HEALTHY_SECONDS = 35
FAULT_SECONDS = 150          # upper bound for the fault phase
A_ADDR, B_ADDR = "192.0.2.1", "192.0.2.2"
PORT_LOSSY, PORT_VETH, PORT_BACKLOG, PORT_UDP_SINK, PORT_RST, PORT_CLOSED = (
    5001, 5002, 5003, 5004, 5006, 5999)
DNS_OK, DNS_SERVFAIL, DNS_SILENT, DNS_SLOW = "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"
SLOW_DELAY, LATE_DELAY = 0.8, 2.5

# Every query must return at least one series with a finite value. These
# targets count failures the test does not cause, so their series are all 0
# here (present from the first scrape, as error counters must be):
ZERO_HERE = {
    ("netobs-dns.json", "Correlation evictions and errors", "A"):
        "evictions need more outstanding queries than the correlation table holds (16384 by default)",
    ("netobs-dns.json", "Correlation evictions and errors", "B"):
        "insert errors need a correlation table that is full and cannot evict",
    ("netobs-exporter.json", "Series folded at label caps", "A"):
        "needs more process names or groups than a collector's cap; the test's processes are filtered by name",
    ("netobs-packets.json", "Sampling", "B"):
        "samples are dropped only when the sample ring buffer is full",
    ("netobs-sockets.json", "Operations folded into other", "A"):
        "needs more than collectors.socket.max_processes process names",
    ("netobs-system.json", "Parse errors", "A"):
        "needs /proc/net files the parser does not understand",
    ("netobs-tcp.json", "Failed retransmissions", "A"):
        "needs a retransmission that fails before the IP layer (no memory, qdisc full)",
    ("netobs-tcp.json", "Connect and accept failures", "B"):
        "needs a handshake that dies in SYN_RECV (a client that vanishes after its SYN)",
}


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, flush=True)


def set_comm(name):
    pathlib.Path("/proc/self/comm").write_text(name)


def run(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=60)


# --------------------------------------------------------------------------
# Traffic roles: each runs in its own process (`alerts_e2e.py role NAME ...`),
# named COMM so that the socket collector counts it, bounded by --seconds.

def dns_query(name, qtype=1, txid=None):
    txid = random.randrange(65536) if txid is None else txid
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)


def dns_server(addr, mode, stop):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    s.settimeout(0.5)
    while not stop.is_set():
        try:
            data, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        if len(data) < 12 or mode == "silent":
            continue
        txid, flags = struct.unpack("!HH", data[:4])
        question = data[12:]
        rcode = 2 if mode == "servfail" else 0
        tc = 0x0200 if question[1:3] == b"tc" else 0
        header = struct.pack("!HHHHHH", txid, 0x8180 | tc | rcode, 1, 0, 0, 0)
        if mode == "slow":  # one in five later than the collector's 2 s timeout: unmatched
            delay = LATE_DELAY if txid % 5 == 0 else SLOW_DELAY
            threading.Timer(delay, s.sendto, (header + question, peer)).start()
        else:
            s.sendto(header + question, peer)


def tcp_sink(addr, port, stop, backlog=128, rst=False):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(backlog)
    srv.settimeout(0.5)

    def drain(conn):
        conn.settimeout(1)
        with conn:
            while not stop.is_set():
                try:
                    if not conn.recv(65536):
                        return
                except socket.timeout:
                    continue
                except OSError:
                    return

    while not stop.is_set():
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        if rst:  # abort at once: the client's next sends fail
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            continue
        threading.Thread(target=drain, args=(conn,), daemon=True).start()


def role_servers(args):
    stop = threading.Event()
    threads = [threading.Thread(target=f, args=a, daemon=True) for f, a in [
        (dns_server, (DNS_OK, "ok", stop)), (dns_server, (A_ADDR, "ok", stop)),
        (dns_server, (DNS_SERVFAIL, "servfail", stop)), (dns_server, (DNS_SILENT, "silent", stop)),
        (dns_server, (DNS_SLOW, "slow", stop)),
        (tcp_sink, ("127.0.0.1", PORT_LOSSY, stop)), (tcp_sink, ("0.0.0.0", PORT_VETH, stop)),
        (tcp_sink, ("127.0.0.1", PORT_RST, stop, 128, True)),
    ]]
    # a listener that never accepts, with the smallest backlog: its queue overflows
    backlog = socket.socket()
    backlog.bind(("127.0.0.1", PORT_BACKLOG))
    backlog.listen(1)
    udp_sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp_sink.bind(("0.0.0.0", PORT_UDP_SINK))
    for t in threads:
        t.start()
    print("ready", flush=True)
    time.sleep(args.seconds)
    stop.set()


def paced(seconds, per_second, step):
    """Calls step() per_second times a second for `seconds`."""
    deadline = time.monotonic() + seconds
    interval = 1.0 / per_second
    next_at = time.monotonic()
    while time.monotonic() < deadline:
        step()
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def role_stream(args):
    """A steady TCP stream: 1 KiB writes, paced (a ratio needs a bounded denominator)."""
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        try:
            s = socket.create_connection((args.host, args.port), timeout=5)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(5)
            paced(min(10, deadline - time.monotonic()), args.rate, lambda: s.send(b"x" * 1024))
            s.close()
        except OSError:
            time.sleep(0.2)


def role_dns(args):
    """UDP queries to `--host` at `--rate`/s (A and AAAA, a few asking for a truncated answer)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    count = [0]

    def step():
        count[0] += 1
        name = "tc.example.test" if count[0] % 10 == 0 else f"host{count[0] % 50}.example.test"
        query = dns_query(name, 28 if count[0] % 2 else 1)
        s.sendto(query, (args.host, 53))
        if args.count and count[0] % args.count == 0:  # the same query again: a retransmission
            s.sendto(query, (args.host, 53))
        try:
            while True:
                s.recv(4096)
        except BlockingIOError:
            pass

    paced(args.seconds, args.rate, step)


def role_dns_malformed(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    paced(args.seconds, args.rate, lambda: s.sendto(b"\x12\x34\x01", (args.host, 53)))


def role_refused(args):
    def step():
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", PORT_CLOSED))
        except ConnectionRefusedError:
            pass
        finally:
            s.close()
    paced(args.seconds, args.rate, step)


def role_backlog(args):
    """Non-blocking connects to the listener that never accepts; held, then closed."""
    held = []
    def step():
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", PORT_BACKLOG))
        held.append(s)
    paced(min(args.seconds, 60), args.rate, step)
    time.sleep(max(0, args.seconds - 60))
    for s in held:
        s.close()


def role_socket_errors(args):
    """Sends on connections the peer aborted: ECONNRESET, then EPIPE."""
    def step():
        try:
            s = socket.create_connection(("127.0.0.1", PORT_RST), timeout=5)
        except OSError:  # reset before connect() returned
            return
        time.sleep(0.05)  # let the RST arrive
        for _ in range(20):
            try:
                s.send(b"y" * 100, socket.MSG_NOSIGNAL)
            except OSError:
                pass
        s.close()
    paced(args.seconds, args.rate, step)


def role_qtypes(args):
    """--count queries, each with another query type, after --delay seconds: more
    (qtype, rcode) keys than the dns collector's stats map holds (a full BPF map)."""
    time.sleep(args.delay)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    qtypes = iter(range(1000, 1000 + args.count))
    paced(args.count / args.rate, args.rate,
          lambda: s.sendto(dns_query("qtype.example.test", next(qtypes, 1)), (args.host, 53)))
    time.sleep(max(0, args.seconds - args.delay - args.count / args.rate))


def role_frames(args):
    """From the peer namespace: UDP datagrams larger than the MTU (fragments) and,
    with --malformed, Ethernet frames whose IPv4 header is cut short."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw = None
    if args.malformed:
        raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        raw.bind((args.iface, 0))
    def step():
        s.sendto(b"f" * 3000, (A_ADDR, PORT_UDP_SINK))
        if raw:
            raw.send(b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + b"\x45\x00\x00")
    paced(args.seconds, args.rate, step)


def role_burst(args):
    """Many small UDP sends at once: exporter B's tiny event ring buffer overflows."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        for _ in range(20000):
            s.sendto(b"b", ("127.0.0.1", PORT_UDP_SINK))
        time.sleep(1)


ROLES = {"servers": role_servers, "stream": role_stream, "dns": role_dns, "dns_malformed": role_dns_malformed,
         "refused": role_refused, "backlog": role_backlog, "socket_errors": role_socket_errors,
         "qtypes": role_qtypes, "frames": role_frames, "burst": role_burst}


# --------------------------------------------------------------------------
# The test

class Processes:
    """Children of the test, stopped at the end (SIGTERM, then SIGKILL)."""

    def __init__(self, logdir):
        self.logdir, self.children = logdir, []

    def start(self, name, argv, netns=None):
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        out = open(os.path.join(self.logdir, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.children.append((name, p))
        return p

    def stop(self, p, timeout=10):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)

    def stop_all(self):
        for _, p in reversed(self.children):
            try:
                self.stop(p)
            except ProcessLookupError:
                pass

    def output(self, name):
        path = os.path.join(self.logdir, name + ".log")
        return pathlib.Path(path).read_text(errors="replace")[-3000:] if os.path.exists(path) else ""


def http_json(url, data=None, timeout=10):
    body = urllib.parse.urlencode(data).encode() if data else None
    with urllib.request.urlopen(url, data=body, timeout=timeout) as r:
        return json.loads(r.read())


def wait_http(url, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Webhook(http.server.BaseHTTPRequestHandler):
    received = []  # (time, alert dict) of every alert in every notification
    lock = threading.Lock()

    def do_POST(self):
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with Webhook.lock:
            for alert in payload.get("alerts", []):
                Webhook.received.append((time.monotonic(), alert))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def expected_alerts(a_instance, b_instance, veth):
    """(alertname, labels that must match exactly) of every alert the faults fire."""
    a = {"job": "netobs", "instance": a_instance}
    b = {"job": "netobs", "instance": b_instance}
    return [
        ("NetobsTcpRetransmissionRatioHigh", {**a, "severity": "warning"}),
        ("NetobsTcpRetransmissionRatioHigh", {**a, "severity": "critical"}),
        ("NetobsTcpListenQueueOverflow", {**a, "severity": "warning"}),
        ("NetobsTcpListenQueueOverflow", {**a, "severity": "critical"}),
        ("NetobsTcpConnectFailuresSpike", {**a, "severity": "warning", "errno": "ECONNREFUSED"}),
        ("NetobsTcpResetsSpike", {**a, "severity": "warning"}),
        ("NetobsDnsUnansweredRatioHigh", {**a, "severity": "warning"}),
        ("NetobsDnsServfailRatioHigh", {**a, "severity": "warning"}),
        ("NetobsDnsLatencyHigh", {**a, "severity": "warning"}),
        ("NetobsDnsMalformedPackets", {**a, "severity": "info", "transport": "udp", "reason": "short_header"}),
        ("NetobsSocketErrorsHigh", {**a, "severity": "warning", "comm": COMM, "error": "EPIPE"}),
        ("NetobsPacketsMalformed", {**a, "severity": "warning", "interface": veth, "layer": "ipv4"}),
        ("NetobsBpfMapFull", {**a, "severity": "warning", "collector": "dns", "map": "dns_stats"}),
        ("NetobsBpfMapUpdateErrors", {**a, "severity": "warning", "collector": "dns", "map": "dns_stats"}),
        ("NetobsCollectorFailed", {**b, "severity": "warning", "collector": "snmp"}),
        ("NetobsEventsLost", {**b, "severity": "warning", "collector": "socket"}),
        ("NetobsConfigReloadFailed", {**b, "severity": "warning"}),
    ]


def allowed_alerts(a_instance):
    """Alerts the faults may fire but need not: the first send on an aborted
    connection fails with ECONNRESET, the following ones with EPIPE, so the
    ECONNRESET rate is 20 times smaller and may stay under the threshold."""
    a = {"job": "netobs", "instance": a_instance}
    return [("NetobsSocketErrorsHigh", {**a, "severity": "warning", "comm": COMM, "error": "ECONNRESET"})]


def matches(alert, name, labels):
    return alert["labels"].get("alertname") == name and all(alert["labels"].get(k) == v for k, v in labels.items()) \
        and set(alert["labels"]) == set(labels) | {"alertname"}


VALUE_PATTERNS = {"humanizePercentage": r"-?[0-9.e+-]+%", "humanize": r"-?[0-9.e+-]+[kMGTPEmunpfaz]?",
                  "humanizeDuration": r"-?[0-9.]+[a-z]+( [0-9.]+[a-z]+)*"}


def rendered_pattern(template, labels):
    """A regex matching `template` as Prometheus renders it for an alert with
    `labels`: label references exact, $value as its humanize function prints it."""
    out, pos = "", 0
    for m in re.finditer(r"\{\{\s*(\$labels\.(\w+)|\$value\s*\|\s*(\w+))\s*\}\}", template):
        out += re.escape(template[pos:m.start()])
        out += re.escape(labels.get(m.group(2), "<no value>")) if m.group(2) else VALUE_PATTERNS[m.group(3)]
        pos = m.end()
    return out + re.escape(template[pos:])


def check_annotations(alert, runbook_base, rules):
    """Rendered annotations: exactly the shipped templates with this alert's labels
    (and a number where $value goes), and the runbook section of the alert."""
    problems = []
    ann, labels = alert["annotations"], alert["labels"]
    templates = [r["annotations"] for r in rules
                 if r["alert"] == labels["alertname"] and r["labels"]["severity"] == labels["severity"]]
    if len(templates) != 1:
        return [f"{len(templates)} shipped rules match"]
    for key in ("summary", "description"):
        if not re.fullmatch(rendered_pattern(templates[0][key], labels), ann.get(key, "")):
            problems.append(f"{key} {ann.get(key)!r} is not the rendered template {templates[0][key]!r}")
    for key in ("summary", "description", "runbook_url"):
        if not ann.get(key):
            problems.append(f"{key} missing")
        elif "{{" in ann[key] or "<no value>" in ann[key]:
            problems.append(f"{key} not rendered: {ann[key]}")
    if labels["instance"] not in ann.get("summary", "") + ann.get("description", ""):
        problems.append("instance not named in summary/description")
    if ann.get("runbook_url") != f"{runbook_base}#{labels['alertname'].lower()}":
        problems.append(f"runbook_url {ann.get('runbook_url')}")
    return problems


def tcp_snmp():
    """Tcp counters of this network namespace, from /proc/net/snmp (the truth)."""
    lines = [l.split() for l in pathlib.Path("/proc/net/snmp").read_text().splitlines() if l.startswith("Tcp:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


def inner(args):
    src = pathlib.Path(args.source)
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    sys.path.insert(0, str(src / "dashboards"))
    sys.path.insert(0, str(src / "alerts"))
    import config as alerts_config
    import lint as dashboard_lint
    spec = importlib.util.spec_from_file_location("shipped_rules", src / "alerts" / "generate.py")
    shipped_rules = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shipped_rules)

    failures = []
    work = tempfile.mkdtemp(prefix="netobs-e2e-alerts-")
    procs = Processes(work)
    me = [sys.executable, os.path.abspath(__file__), "role"]
    started = time.monotonic()
    try:
        run("ip", "link", "set", "lo", "up")  # the whole 127/8 is local: one address per DNS server
        snmp_at_start = tcp_snmp()
        port_a, port_b, port_prom, port_am, port_hook = (free_port() for _ in range(5))
        a_instance, b_instance = f"127.0.0.1:{port_a}", f"127.0.0.1:{port_b}"

        hook = http.server.ThreadingHTTPServer(("127.0.0.1", port_hook), Webhook)
        threading.Thread(target=hook.serve_forever, daemon=True).start()

        # exporter A: every collector, in this namespace
        (pathlib.Path(work) / "events").mkdir()
        cfg_a = pathlib.Path(work, "a.yml")
        cfg_a.write_text(f"""exporter:
  listen_address: "127.0.0.1:{port_a}"
  bpf_stats: true
collectors:
  snmp:
    sample_interval: 1s
  socket:
    comms: [{COMM}]
    syscall_details: true  # the latency and send-flag panels need the opt-in hooks
  tcp:
    network_namespace: /run/netns/{args.netns}
    max_tracked_connections: 1024
  dns:
    timeout: 2s
  xdp:
    enabled: true
    interfaces: [{args.veth}]
    sample_rate: 10
    filters:
      ports: [{PORT_VETH}]
""")
        exporter_a = procs.start("exporter_a", [args.exporter, f"--config.file={cfg_a}"])
        # exporter B (started in the fault phase): a collector that cannot start
        # (no procfs there), event capture into a tiny ring buffer, a config reload to break
        cfg_b = pathlib.Path(work, "b.yml")
        cfg_b.write_text(f"""exporter:
  listen_address: "127.0.0.1:{port_b}"
events:
  output_dir: {work}/events
  ring_buffer_size: 4096
collectors:
  snmp:
    enabled: true
  socket:
    comms: [{BURST_COMM}]
  tcp:
    enabled: false
  dns:
    enabled: false
""")

        # the shipped rules with `for:` shortened (and nothing else)
        rules = (src / "alerts" / "netobs.rules.yml").read_text()
        test_rules, n = re.subn(r"(?m)^(\s+for: )\S+$", r"\g<1>" + FOR_OVERRIDE, rules)
        assert n == rules.count("\n        for: "), "every for: replaced"
        pathlib.Path(work, "rules.yml").write_text(test_rules)
        targets = pathlib.Path(work, "targets.json")
        targets.write_text(json.dumps([{"targets": [a_instance]}]))
        pathlib.Path(work, "prometheus.yml").write_text(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [{work}/rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{port_am}"]
scrape_configs:
  - job_name: netobs
    file_sd_configs:
      - files: [{targets}]
        refresh_interval: 1s
""")
        pathlib.Path(work, "alertmanager.yml").write_text(f"""route:
  receiver: webhook
  group_by: ["..."]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: webhook
    webhook_configs:
      - url: "http://127.0.0.1:{port_hook}/"
        send_resolved: true
""")
        procs.start("alertmanager", ["prometheus-alertmanager", f"--config.file={work}/alertmanager.yml",
                                     f"--storage.path={work}/am", f"--web.listen-address=127.0.0.1:{port_am}",
                                     "--cluster.listen-address="])
        procs.start("prometheus", ["prometheus", f"--config.file={work}/prometheus.yml",
                                   f"--storage.tsdb.path={work}/prom", f"--web.listen-address=127.0.0.1:{port_prom}",
                                   "--rules.alert.resend-delay=1s"])
        prom = f"http://127.0.0.1:{port_prom}"
        for name, url in (("exporter_a", f"http://{a_instance}/metrics"), ("prometheus", prom + "/-/ready"),
                          ("alertmanager", f"http://127.0.0.1:{port_am}/-/ready")):
            if not wait_http(url, 60):
                raise RuntimeError(f"{name} did not come up:\n{procs.output(name)}")
        log("exporter A, Prometheus, Alertmanager up")

        # ---- phase 1: healthy traffic only
        total = HEALTHY_SECONDS + FAULT_SECONDS + 60
        servers = procs.start("servers", me + ["servers", "--seconds", str(total)])
        time.sleep(1.5)
        procs.start("stream_lo", me + ["stream", "--host", "127.0.0.1", "--port", str(PORT_LOSSY),
                                       "--rate", "200", "--seconds", str(total)])
        procs.start("stream_veth", me + ["stream", "--host", A_ADDR, "--port", str(PORT_VETH),
                                         "--rate", "100", "--seconds", str(total)], netns=args.peer)
        procs.start("dns_ok", me + ["dns", "--host", DNS_OK, "--rate", "20", "--seconds", str(total)])
        procs.start("dns_veth", me + ["dns", "--host", A_ADDR, "--rate", "5", "--seconds", str(total)],
                    netns=args.peer)
        procs.start("frames", me + ["frames", "--rate", "5", "--seconds", str(total)], netns=args.peer)
        deadline = time.monotonic() + HEALTHY_SECONDS
        while time.monotonic() < deadline:
            active = http_json(prom + "/api/v1/alerts")["data"]["alerts"]
            if active:
                failures.append("healthy phase: alerts became active: " +
                                json.dumps([(a["labels"], a["state"]) for a in active]))
                break
            time.sleep(2)
        with Webhook.lock:
            if Webhook.received:
                failures.append(f"healthy phase: notifications arrived: {Webhook.received}")
        # quiet must mean "evaluated and fine", not "nothing to evaluate"
        groups = http_json(prom + "/api/v1/rules")["data"]["groups"]
        loaded = sum(1 for g in groups for r in g["rules"] if r["type"] == "alerting" and r["health"] == "ok")
        if loaded != len(shipped_rules.ALERTS):
            failures.append(f"healthy phase: {loaded} healthy alerting rules loaded, {len(shipped_rules.ALERTS)} shipped")
        for query in ("instance:netobs_tcp_out_segments:rate5m > 10", "instance:netobs_dns_queries:rate5m > 1",
                      "instance:netobs_tcp_retransmission:ratio_rate5m >= 0",
                      "instance:netobs_dns_request_duration_seconds:p99_rate5m >= 0"):
            if not http_json(prom + "/api/v1/query", {"query": query})["data"]["result"]:
                failures.append(f"healthy phase: no data for {query}")
        log(f"healthy phase done, {len(failures)} failures")

        # ---- phase 2: faults
        fault_start = time.monotonic()
        run("nft", "add", "table", "inet", "netobs_e2e")
        run("nft", "add", "chain", "inet", "netobs_e2e", "input", "{ type filter hook input priority 0 ; }")
        run("nft", "add", "rule", "inet", "netobs_e2e", "input", "tcp", "dport", str(PORT_LOSSY),
            "numgen", "random", "mod", "10", "<", "3", "counter", "drop")
        procs.start("exporter_b", [args.exporter, f"--config.file={cfg_b}", "--path.procfs=/nonexistent"])
        if not wait_http(f"http://{b_instance}/metrics", 60):
            raise RuntimeError(f"exporter B did not come up:\n{procs.output('exporter_b')}")
        targets.write_text(json.dumps([{"targets": [a_instance, b_instance]}]))
        seconds = str(FAULT_SECONDS)
        procs.start("dns_servfail", me + ["dns", "--host", DNS_SERVFAIL, "--rate", "10", "--seconds", seconds])
        procs.start("dns_silent", me + ["dns", "--host", DNS_SILENT, "--rate", "10", "--count", "3",
                                        "--seconds", seconds])
        procs.start("dns_slow", me + ["dns", "--host", DNS_SLOW, "--rate", "5", "--seconds", seconds])
        procs.start("dns_malformed", me + ["dns_malformed", "--host", DNS_OK, "--rate", "5", "--seconds", seconds])
        procs.start("refused", me + ["refused", "--rate", "50", "--seconds", seconds])
        procs.start("backlog", me + ["backlog", "--rate", "10", "--seconds", seconds])
        procs.start("socket_errors", me + ["socket_errors", "--rate", "5", "--seconds", seconds])
        procs.start("qtypes", me + ["qtypes", "--host", DNS_OK, "--count", "1200", "--rate", "200", "--delay", "20",
                                    "--seconds", seconds])
        procs.start("malformed_frames", me + ["frames", "--malformed", "--iface", args.peer_veth, "--rate", "5",
                                              "--seconds", seconds], netns=args.peer)
        procs.start("burst", me + ["burst", "--comm", BURST_COMM, "--seconds", seconds])
        time.sleep(3)
        cfg_b.write_text("collectors:\n  snmp:\n    no_such_key: 1\n")
        for name, p in procs.children:
            if name == "exporter_b":
                os.kill(p.pid, signal.SIGHUP)

        expected = expected_alerts(a_instance, b_instance, args.veth)
        deadline = fault_start + FAULT_SECONDS - 10
        missing, arrived = expected, set()
        while time.monotonic() < deadline:
            with Webhook.lock:
                firing = [a for _, a in Webhook.received if a["status"] == "firing"]
            missing = [(n, l) for n, l in expected if not any(matches(a, n, l) for a in firing)]
            for n, l in expected:
                if (n, str(l)) not in arrived and (n, l) not in missing:
                    arrived.add((n, str(l)))
                    log(f"arrived after {time.monotonic() - fault_start:.0f} s: {n} {l}")
            if not missing:
                break
            time.sleep(2)
        log(f"fault alerts: {len(expected) - len(missing)}/{len(expected)} arrived after "
            f"{time.monotonic() - fault_start:.0f} s")
        for name, labels in missing:
            failures.append(f"alert did not arrive: {name} {labels}")

        # ---- the ratio the alerts use against the kernel's own counters: the
        # rate window (5m) spans the whole test, so it is the ratio of increases
        query = f'instance:netobs_tcp_retransmission:ratio_rate5m{{instance="{a_instance}"}}'
        recorded = http_json(prom + "/api/v1/query", {"query": query})["data"]["result"]
        now = tcp_snmp()
        truth = (now["RetransSegs"] - snmp_at_start["RetransSegs"]) / (now["OutSegs"] - snmp_at_start["OutSegs"])
        if not recorded or abs(float(recorded[0]["value"][1]) - truth) > 0.15 * truth:
            failures.append(f"retransmission ratio: Prometheus {recorded} vs /proc/net/snmp {truth:.4f}")
        else:
            log(f"retransmission ratio: Prometheus {float(recorded[0]['value'][1]):.4f}, /proc/net/snmp {truth:.4f}")

        # ---- every dashboard query returns data (while the faults still run)
        checked = 0
        for file, dashboard in dashboard_lint.dashboards():
            for title, ref, expr in dashboard_lint.targets(dashboard):
                checked += 1
                result = http_json(prom + "/api/v1/query", {"query": dashboard_lint.substitute(expr)})
                values = [float(x["value"][1]) for x in result["data"]["result"]]
                finite = [v for v in values if v == v]  # NaN: a quantile of nothing
                if not finite:
                    failures.append(f"dashboard {file} panel '{title}' target {ref}: no data "
                                    f"({len(values)} series, all NaN): {expr}")
                elif not any(finite) and (file, title, ref) not in ZERO_HERE:
                    failures.append(f"dashboard {file} panel '{title}' target {ref}: only zeros: {expr}")
        log(f"dashboard queries checked: {checked}")

        # ---- exporter B goes away: NetobsExporterDown
        for name, p in procs.children:
            if name == "exporter_b":
                procs.stop(p)
        down = ("NetobsExporterDown", {"job": "netobs", "instance": b_instance, "severity": "critical"})
        expected.append(down)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with Webhook.lock:
                if any(a["status"] == "firing" and matches(a, *down) for _, a in Webhook.received):
                    break
            time.sleep(1)
        else:
            failures.append(f"alert did not arrive: {down}")

        # ---- nothing else fired; annotations rendered
        with Webhook.lock:
            firing = [a for _, a in Webhook.received if a["status"] == "firing"]
        seen = set()
        for a in firing:
            key = json.dumps(a["labels"], sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            if not any(matches(a, n, l) for n, l in expected + allowed_alerts(a_instance)):
                failures.append(f"unexpected alert fired: {a['labels']} {a['annotations'].get('description')}")
            for p in check_annotations(a, alerts_config.RUNBOOK_BASE_URL, shipped_rules.ALERTS):
                failures.append(f"{a['labels']['alertname']} {a['labels']}: {p}")
            log("fired:", a["labels"]["alertname"], a["labels"].get("severity"), "|", a["annotations"]["summary"])
        log(f"nftables drop counter: {run('nft', 'list', 'table', 'inet', 'netobs_e2e').stdout.split('counter')[-1].strip()}")
    except Exception as e:  # noqa: BLE001 - report with the components' output
        failures.append(f"{type(e).__name__}: {e}")
    finally:
        procs.stop_all()
        run("nft", "delete", "table", "inet", "netobs_e2e", check=False)
        if failures:
            for name in ("exporter_a", "exporter_b", "prometheus", "alertmanager", "servers"):
                log(f"--- {name} log (tail):\n{procs.output(name)}")
        if failures and os.environ.get("NETOBS_E2E_KEEP"):
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    log(f"took {time.monotonic() - started:.0f} s")
    for f in failures:
        log("FAIL:", f)
    return 1 if failures else 0


def outer(args):
    """Creates the namespaces and the veth pair, runs the test inside, removes them."""
    tag = f"{os.getpid() % 100000}"
    netns, peer = f"nobs14a-{tag}", f"nobs14b-{tag}"
    veth, peer_veth = f"n14a{tag}", f"n14b{tag}"
    try:
        run("ip", "netns", "add", netns)
        run("ip", "netns", "add", peer)
        run("ip", "link", "add", veth, "netns", netns, "type", "veth", "peer", "name", peer_veth, "netns", peer)
        run("ip", "-n", netns, "addr", "add", f"{A_ADDR}/24", "dev", veth)
        run("ip", "-n", peer, "addr", "add", f"{B_ADDR}/24", "dev", peer_veth)
        for ns, dev in ((netns, veth), (peer, peer_veth)):
            run("ip", "-n", ns, "link", "set", dev, "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
        result = subprocess.run(["ip", "netns", "exec", netns, sys.executable, os.path.abspath(__file__), "inner",
                                 "--exporter", args.exporter, "--source", args.source, "--netns", netns,
                                 "--peer", peer, "--veth", veth, "--peer-veth", peer_veth], timeout=540)
        return result.returncode
    finally:
        for ns in (netns, peer):
            # only after a timeout: what the killed inner run left in our namespaces
            for pid in run("ip", "netns", "pids", ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            run("ip", "netns", "del", ns, check=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", nargs="?", default="outer")
    parser.add_argument("role", nargs="?")
    for flag in ("--exporter", "--source", "--netns", "--peer", "--veth", "--peer-veth", "--host", "--iface",
                 "--comm"):
        parser.add_argument(flag)
    parser.add_argument("--port", type=int)
    parser.add_argument("--rate", type=float, default=1)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--delay", type=float, default=0)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--malformed", action="store_true")
    args = parser.parse_args()
    if args.mode == "role":
        set_comm(args.comm or COMM)
        ROLES[args.role](args)
        return 0
    if os.geteuid() != 0:
        print("needs root (network namespaces, BPF)", file=sys.stderr)
        return 77
    return inner(args) if args.mode == "inner" else outer(args)


if __name__ == "__main__":
    sys.exit(main())
