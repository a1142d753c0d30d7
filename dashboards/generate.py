#!/usr/bin/env python3
"""Generates the netobs Grafana dashboards (dashboards/*.json) from this file.
Python 3 standard library only; the JSON files are committed.

  python3 dashboards/generate.py           rewrite dashboards/*.json
  python3 dashboards/generate.py --check   exit 1 when a committed file is stale

Every query filters on the job and instance variables (F below); recorded
series (`instance:...`) come from alerts/netobs.rules.yml, which must be loaded
into the Prometheus the dashboards read.
"""
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(HERE.parent / "alerts"))
import config  # noqa: E402

F = 'job=~"$job", instance=~"$instance"'
DS = {"type": "prometheus", "uid": "${datasource}"}
RI = "$__rate_interval"


def rate(metric, by, extra=""):
    sel = F + (", " + extra if extra else "")
    return f"sum by ({by}) (rate({metric}{{{sel}}}[{RI}]))"


def quantile(q, metric, by="le, instance", extra=""):
    return f"histogram_quantile({q}, {rate(metric + '_bucket', by, extra)})"


def target(expr, legend="", fmt=None, instant=False):
    t = {"expr": expr, "legendFormat": legend}
    if fmt:
        t["format"] = fmt
    if instant:
        t["instant"] = True
        t["range"] = False
    return t


def panel(kind, title, description, unit, targets, width=12, height=8, **extra):
    return {"type": kind, "title": title, "description": description, "unit": unit,
            "targets": targets, "width": width, "height": height, **extra}


def ts(title, description, unit, *targets, **extra):
    return panel("timeseries", title, description, unit, list(targets), **extra)


def stat(title, description, unit, *targets, mappings=None, thresholds=None, width=6, height=5):
    return panel("stat", title, description, unit, list(targets), width=width, height=height,
                 mappings=mappings, thresholds=thresholds)


def heatmap(title, description, unit, metric, extra=""):
    sel = F + (", " + extra if extra else "")
    expr = f"sum by (le) (increase({metric}_bucket{{{sel}}}[{RI}]))"
    return panel("heatmap", title, description, unit, [target(expr, "{{le}}", fmt="heatmap")])


def table(title, description, unit, expr, width=12, height=8):
    return panel("table", title, description, unit, [target(expr, fmt="table", instant=True)],
                 width=width, height=height)


def row(title):
    return {"type": "row", "title": title}


OK_MAPPING = [{"type": "value", "options": {"0": {"text": "failing", "color": "red"},
                                            "1": {"text": "ok", "color": "green"}}}]
VERDICT_MAPPING = [{"type": "value", "options": {"0": {"text": "ok", "color": "green"},
                                                 "1": {"text": "warning", "color": "orange"},
                                                 "2": {"text": "critical", "color": "red"}}}]
TH = config.THRESHOLDS


def steps(*pairs):
    return [{"color": color, "value": value} for value, color in pairs]


def overview():
    return ("netobs-overview", "netobs / Node network overview", [
        row("Health"),
        stat("Exporter up", "1 when Prometheus scrapes netobs on the instance. 0: the node sends no network "
             "metrics; see the NetobsExporterDown runbook (is netobs_exporter running, is the port reachable).",
             "none", target(f"up{{{F}}}", "{{instance}}"), mappings=OK_MAPPING),
        stat("Collectors serving", "netobs_scrape_collector_success per collector: 0 means the collector could "
             "not start or overran the scrape timeout; its metrics are missing. Check the exporter log "
             "(collector=NAME) and `netobs check`.",
             "none", target(f"min by (collector) (netobs_scrape_collector_success{{{F}}})", "{{collector}}"),
             mappings=OK_MAPPING, width=12),
        stat("System TCP verdicts", "The snmp collector's verdicts on the shortest window (0 ok, 1 warning, "
             "2 critical): retransmission ratio, tail-loss-probe share, listen drops. Anything not ok: run "
             "`netobs stats --ratios` on the node.",
             "none", target(f"max by (check) (netobs_snmp_verdict{{{F}}})", "{{check}}"),
             mappings=VERDICT_MAPPING),
        row("Top problems now"),
        ts("TCP retransmission ratio", "Retransmitted / sent TCP segments over 5 minutes (recorded by the netobs "
           f"rules). Above {TH['tcp_retransmission_ratio_warning']:.0%} is a problem, above "
           f"{TH['tcp_retransmission_ratio_critical']:.0%} critical: packet loss on some path; find the "
           "connections with `netobs conns --sort retrans --explain`.",
           "percentunit", target(f"instance:netobs_tcp_retransmission:ratio_rate5m{{{F}}}", "{{instance}}"),
           thresholds=steps((None, "green"), (TH["tcp_retransmission_ratio_warning"], "orange"),
                            (TH["tcp_retransmission_ratio_critical"], "red"))),
        ts("DNS unanswered and SERVFAIL ratio", "Share of DNS queries without an answer within the timeout, and "
           "share of responses that are SERVFAIL (5-minute windows). High: a resolver is down or failing; see "
           "the DNS dashboard for the qtype and transport.",
           "percentunit", target(f"instance:netobs_dns_unanswered:ratio_rate5m{{{F}}}", "unanswered {{instance}}"),
           target(f"instance:netobs_dns_servfail:ratio_rate5m{{{F}}}", "SERVFAIL {{instance}}")),
        ts("DNS p99 latency", "99th percentile of query → response time over 5 minutes. Above "
           f"{TH['dns_p99_latency_seconds']:g} s applications wait on DNS; compare qtypes on the DNS dashboard.",
           "s", target(f"instance:netobs_dns_request_duration_seconds:p99_rate5m{{{F}}}", "{{instance}}")),
        ts("Failed outgoing connects", "Connects that ended in SYN_SENT → CLOSE, by errno. ECONNREFUSED: nothing "
           "listens at the peer; ETIMEDOUT: SYNs lost or filtered. Find the peer with `netobs conns --state syn-sent`.",
           "ops", target(rate("netobs_tcp_connect_failures_total", "instance, errno"), "{{errno}} {{instance}}")),
        ts("TCP resets", "Resets sent (connections to closed ports, aborts) and received (peers aborting). A jump "
           "means a service restarted or a middlebox kills connections.",
           "ops", target(rate("netobs_tcp_resets_sent_total", "instance"), "sent {{instance}}"),
           target(rate("netobs_tcp_resets_received_total", "instance"), "received {{instance}}")),
        ts("Listen queue drops", "SYNs and connections dropped at listen queues (TcpExt ListenDrops, "
           "ListenOverflows). Any: a server accepts too slowly or its backlog is too small (`ss -ltn`: Recv-Q vs "
           "Send-Q).",
           "ops", target(rate("netobs_snmp_mib_total", "instance, field",
                              'group="TcpExt", field=~"ListenDrops|ListenOverflows"'), "{{field}} {{instance}}")),
        ts("Firing netobs alerts", "netobs alerts firing now for the selected instances (from the ALERTS series "
           "Prometheus keeps). Each links to its runbook in Alertmanager.",
           "none", target(f'sum by (alertname, severity) (ALERTS{{alertname=~"Netobs.+", alertstate="firing", {F}}})',
                          "{{alertname}} ({{severity}})")),
    ])


def tcp():
    return ("netobs-tcp", "netobs / TCP", [
        row("Round-trip time"),
        ts("RTT percentiles", "The kernel's smoothed RTT per received segment (tcp_probe): p50, p90, p99. "
           "A rising p99 with a flat p50: a few paths are congested or lossy.",
           "s", *[target(quantile(q, "netobs_tcp_rtt_seconds"), f"p{int(q * 100)} {{{{instance}}}}")
                  for q in (0.5, 0.9, 0.99)]),
        heatmap("RTT distribution", "Segments per RTT bucket over time. Two bands: two groups of peers "
                "(local and remote); a band moving up: a path getting slower.", "s", "netobs_tcp_rtt_seconds"),
        row("Retransmissions"),
        ts("Retransmitted segments by kind", "rto: timeouts (worst, the sender stalled); fast: fast retransmit "
           "after duplicate ACKs (loss); tlp: tail loss probes; syn/synack: handshake retries. Confirm with "
           "`netobs stats --ratios`.",
           "pps", target(rate("netobs_tcp_retransmits_total", "instance, kind"), "{{kind}} {{instance}}")),
        ts("Retransmission ratio", "Retransmitted / sent segments over 5 minutes, the number the "
           "NetobsTcpRetransmissionRatioHigh alert uses.",
           "percentunit", target(f"instance:netobs_tcp_retransmission:ratio_rate5m{{{F}}}", "{{instance}}"),
           thresholds=steps((None, "green"), (TH["tcp_retransmission_ratio_warning"], "orange"),
                            (TH["tcp_retransmission_ratio_critical"], "red"))),
        ts("Failed retransmissions", "Retransmissions that failed before reaching the IP layer (no memory, "
           "qdisc full). Should be 0; any: the host itself is dropping.",
           "ops", target(rate("netobs_tcp_retransmit_errors_total", "instance"), "{{instance}}")),
        row("Connection lifecycle"),
        ts("Connections opened and closed", "Handshakes completed (active: this host connected; passive: it "
           "accepted) and established connections closed.",
           "ops", target(rate("netobs_tcp_connections_opened_total", "instance, direction"), "opened {{direction}} {{instance}}"),
           target(rate("netobs_tcp_connections_closed_total", "instance"), "closed {{instance}}")),
        ts("Connect and accept failures", "Outgoing connects that failed, by errno, and incoming handshakes "
           "that died in SYN_RECV. Spikes: a peer down (ECONNREFUSED) or unreachable (ETIMEDOUT).",
           "ops", target(rate("netobs_tcp_connect_failures_total", "instance, errno"), "connect {{errno}} {{instance}}"),
           target(rate("netobs_tcp_passive_open_failures_total", "instance"), "passive {{instance}}")),
        ts("Resets", "TCP resets sent and received.", "ops",
           target(rate("netobs_tcp_resets_sent_total", "instance"), "sent {{instance}}"),
           target(rate("netobs_tcp_resets_received_total", "instance"), "received {{instance}}")),
        ts("Connections by state", "Sockets per TCP state. Many close_wait: an application does not close its "
           "sockets; many syn_recv: a SYN flood or a slow accept loop; time_wait: short connections.",
           "short", target(f"sum by (instance, state) (netobs_tcp_connections{{{F}}})", "{{state}} {{instance}}")),
        ts("Connection duration", "ESTABLISHED → CLOSE time of connections netobs saw open, p50 and p99.",
           "s", *[target(quantile(q, "netobs_tcp_connection_duration_seconds"), f"p{int(q * 100)} {{{{instance}}}}")
                  for q in (0.5, 0.99)]),
        ts("Bytes per connection", "Payload sent and received per connection at close, p50 and p99.",
           "bytes", target(quantile(0.5, "netobs_tcp_connection_sent_bytes"), "sent p50 {{instance}}"),
           target(quantile(0.99, "netobs_tcp_connection_sent_bytes"), "sent p99 {{instance}}"),
           target(quantile(0.5, "netobs_tcp_connection_received_bytes"), "received p50 {{instance}}"),
           target(quantile(0.99, "netobs_tcp_connection_received_bytes"), "received p99 {{instance}}")),
        ts("Payload throughput of closed connections", "Payload bytes of connections, counted when they close.",
           "Bps", target(rate("netobs_tcp_sent_bytes_total", "instance"), "sent {{instance}}"),
           target(rate("netobs_tcp_received_bytes_total", "instance"), "received {{instance}}")),
    ])


def dns():
    return ("netobs-dns", "netobs / DNS", [
        row("Traffic"),
        ts("Queries by qtype", "DNS queries seen on the node's interfaces, by query type.",
           "reqps", target(rate("netobs_dns_queries_total", "instance, qtype"), "{{qtype}} {{instance}}")),
        ts("Responses by rcode", "Responses by return code. SERVFAIL: the resolver failed; NXDOMAIN: names "
           "that do not exist (a typo or a search-domain storm).",
           "reqps", target(rate("netobs_dns_responses_total", "instance, rcode"), "{{rcode}} {{instance}}")),
        ts("Queries by transport", "UDP vs TCP queries. TCP growing: responses truncated over UDP.",
           "reqps", target(rate("netobs_dns_queries_total", "instance, transport"), "{{transport}} {{instance}}")),
        row("Latency"),
        ts("Latency percentiles", "Query → response time, p50, p90, p99. p99 above "
           f"{TH['dns_p99_latency_seconds']:g} s pages (NetobsDnsLatencyHigh): a slow resolver or upstream.",
           "s", *[target(quantile(q, "netobs_dns_request_duration_seconds"), f"p{int(q * 100)} {{{{instance}}}}")
                  for q in (0.5, 0.9, 0.99)]),
        heatmap("Latency distribution", "Responses per latency bucket. A band near 1 s or 5 s: clients "
                "retrying after their timeout.", "s", "netobs_dns_request_duration_seconds"),
        ts("p99 latency by qtype", "99th percentile per query type: AAAA slow and A fast often means an "
           "upstream that mishandles AAAA.", "s",
           target(quantile(0.99, "netobs_dns_request_duration_seconds", by="le, instance, qtype"),
                  "{{qtype}} {{instance}}")),
        row("Failures"),
        ts("Unanswered queries", "Queries without a response within the configured timeout, by qtype. "
           "Confirm with `dig @SERVER NAME`; check the resolver is up and reachable.",
           "reqps", target(rate("netobs_dns_unanswered_total", "instance, qtype"), "{{qtype}} {{instance}}")),
        ts("Unanswered and SERVFAIL ratios", "The ratios the DNS alerts use (5-minute windows).",
           "percentunit", target(f"instance:netobs_dns_unanswered:ratio_rate5m{{{F}}}", "unanswered {{instance}}"),
           target(f"instance:netobs_dns_servfail:ratio_rate5m{{{F}}}", "SERVFAIL {{instance}}")),
        ts("Truncated responses", "Responses with the TC bit: the answer did not fit UDP and the client must "
           "retry over TCP. Many: large answers (DNSSEC, many records); check EDNS buffer sizes.",
           "reqps", target(rate("netobs_dns_truncated_responses_total", "instance, transport"), "{{transport}} {{instance}}")),
        ts("Malformed packets", "Packets on DNS ports that are not valid DNS, by reason: broken software or a "
           "scanner.", "pps",
           target(rate("netobs_dns_malformed_packets_total", "instance, reason"), "{{reason}} {{instance}}")),
        ts("Retransmitted queries and unmatched responses", "Queries sent again with the same id (client "
           "retries), and responses without a matching query (late, or query not seen).",
           "reqps", target(rate("netobs_dns_retransmitted_queries_total", "instance"), "retransmitted {{instance}}"),
           target(rate("netobs_dns_unmatched_responses_total", "instance"), "unmatched {{instance}}")),
        row("Correlation table"),
        ts("Outstanding queries", "Queries waiting for a response in the kernel's correlation table. Near the "
           "capacity (collectors.dns.max_outstanding_queries): answers are lost to evictions.",
           "short", target(f"sum by (instance) (netobs_dns_outstanding_queries{{{F}}})", "{{instance}}")),
        ts("Correlation evictions and errors", "Queries evicted from, or not inserted into, the correlation "
           "table: the table is too small for the query rate.", "ops",
           target(rate("netobs_dns_correlation_evictions_total", "instance"), "evictions {{instance}}"),
           target(rate("netobs_dns_correlation_insert_errors_total", "instance"), "insert errors {{instance}}")),
    ])


def sockets():
    return ("netobs-sockets", "netobs / Sockets", [
        row("Throughput"),
        ts("Bytes by process", "Bytes moved by successful send/receive calls, per process (comm) and "
           "direction. Find the heavy talker here, then its connections with `netobs conns`.",
           "Bps", target(rate("netobs_socket_bytes_total", "instance, comm, direction"), "{{comm}} {{direction}}")),
        ts("Calls by process", "Send/receive operations per process and protocol, failed ones included.",
           "ops", target(rate("netobs_socket_calls_total", "instance, comm, protocol, direction"),
                         "{{comm}} {{protocol}} {{direction}}")),
        ts("Errors by errno", "Failed send/receive calls by process and errno. EAGAIN on non-blocking sockets "
           "is normal; ECONNRESET/EPIPE: peers aborting; ENOBUFS: buffers full. Trace them with "
           "`netobs trace --comm NAME`.", "ops",
           target(rate("netobs_socket_errors_total", "instance, comm, error"), "{{comm}} {{error}}")),
        ts("MSG flags", "Operations carrying each MSG_* flag. MSG_DONTWAIT: non-blocking I/O; MSG_PEEK: "
           "protocol sniffing; MSG_OOB: urgent data (rare; suspicious). Send flags need "
           "collectors.socket.syscall_details: true (off by default: it traces every syscall).", "ops",
           target(rate("netobs_socket_msg_flags_total", "instance, direction, flag"), "{{flag}} {{direction}}")),
        row("Sizes and latency"),
        heatmap("Message sizes", "Bytes per successful call. Many tiny writes: an application without "
                "buffering (one syscall per few bytes).", "bytes", "netobs_socket_message_size_bytes"),
        ts("Message size percentiles", "p50 and p99 bytes per call by direction.", "bytes",
           target(quantile(0.5, "netobs_socket_message_size_bytes", by="le, instance, direction"), "p50 {{direction}}"),
           target(quantile(0.99, "netobs_socket_message_size_bytes", by="le, instance, direction"), "p99 {{direction}}")),
        heatmap("Operation latency", "Syscall entry → return of send/receive calls. Blocking receives wait "
                "for data, so long receive times are normal on idle connections; long sends: a full "
                "send buffer (slow peer). Needs collectors.socket.syscall_details: true (off by default).",
                "s", "netobs_socket_operation_duration_seconds"),
        ts("Operation latency percentiles", "p50 and p99 per direction (needs "
           "collectors.socket.syscall_details: true).", "s",
           target(quantile(0.5, "netobs_socket_operation_duration_seconds", by="le, instance, direction"), "p50 {{direction}}"),
           target(quantile(0.99, "netobs_socket_operation_duration_seconds", by="le, instance, direction"), "p99 {{direction}}")),
        row("Label caps"),
        ts("Operations folded into other", "Operations counted under comm=\"other\" because the process cap "
           "(collectors.socket.max_processes) was reached. Raise the cap or filter by comms.", "ops",
           target(rate("netobs_socket_folded_operations_total", "instance"), "{{instance}}")),
    ])


def packets():
    return ("netobs-packets", "netobs / Packets (XDP/tc)", [
        row("Traffic"),
        ts("Packets by interface and protocol", "Every frame received on the observed interfaces, by L4 "
           "protocol (exact counters).", "pps",
           target(rate("netobs_xdp_packets_total", "instance, interface, protocol"), "{{interface}} {{protocol}}")),
        ts("Bytes by interface", "Frame bytes received per interface.", "Bps",
           target(rate("netobs_xdp_bytes_total", "instance, interface"), "{{interface}} {{instance}}")),
        ts("Packets by ethertype", "IPv4, IPv6, ARP, other. An ARP storm or unexpected ethertypes show here.",
           "pps", target(rate("netobs_xdp_packets_total", "instance, ethertype"), "{{ethertype}} {{instance}}")),
        ts("TCP flags", "SYN, SYN-ACK, RST and FIN packets per interface. SYN without SYN-ACK growth: "
           "unanswered connects or a SYN flood; RST spikes: refused or aborted connections.", "pps",
           target(rate("netobs_xdp_tcp_flags_total", "instance, interface, flag"), "{{interface}} {{flag}}")),
        ts("Packets by port", "Packets from or to the ports in collectors.xdp.filters.ports.", "pps",
           target(rate("netobs_xdp_port_packets_total", "instance, port"), "port {{port}} {{instance}}")),
        ts("Bytes by port", "Bytes from or to the ports in collectors.xdp.filters.ports.", "Bps",
           target(rate("netobs_xdp_port_bytes_total", "instance, port"), "port {{port}} {{instance}}")),
        heatmap("Frame sizes", "Frames per size bucket. Only tiny frames at a high rate: a flood; "
                "frames above the MTU on tc-observed devices are GSO batches.", "bytes", "netobs_xdp_packet_size_bytes"),
        row("Anomalies"),
        ts("Malformed frames", "Frames cut short or with an invalid header, by the layer where parsing "
           "stopped. Any sustained rate: a faulty NIC/driver or crafted packets; capture with tcpdump.", "pps",
           target(rate("netobs_xdp_malformed_packets_total", "instance, interface, layer"), "{{interface}} {{layer}}")),
        ts("IP fragments", "First and non-first IPv4/IPv6 fragments. Fragmentation: a path MTU problem or "
           "large UDP datagrams.", "pps",
           target(rate("netobs_xdp_ip_fragments_total", "instance, interface, fragment"), "{{interface}} {{fragment}}")),
        row("Top talkers (sampled)"),
        table("Top talkers by bytes", "Estimated bytes/s of the busiest src → dst flows, from 1-in-N samples "
              "(over-estimates by at most N × samples / table size).", "Bps",
              f"topk(10, sum by (src, dst, protocol, port) (rate(netobs_xdp_top_talker_bytes_total{{{F}}}[{RI}])))"),
        ts("Top talkers by packets", "Estimated packets/s of the busiest flows.", "pps",
           target(f"topk(10, sum by (src, dst, protocol, port) (rate(netobs_xdp_top_talker_packets_total{{{F}}}[{RI}])))",
                  "{{src}} → {{dst}} {{protocol}}/{{port}}")),
        ts("Sampling", "Samples written and samples lost to a full ring buffer (lost: raise "
           "events.ring_buffer_size or the sample rate N).", "ops",
           target(rate("netobs_xdp_samples_total", "instance"), "samples {{instance}}"),
           target(rate("netobs_xdp_samples_dropped_total", "instance"), "dropped {{instance}}")),
    ])


def system():
    tcp_fields = "InSegs|OutSegs|RetransSegs"
    return ("netobs-system", "netobs / System TCP/IP counters", [
        row("Verdicts"),
        stat("Verdicts", "The snmp collector's checks on its shortest window: retransmission ratio, "
             "tail-loss-probe share, listen drops (0 ok, 1 warning, 2 critical). Explain them with "
             "`netobs stats --ratios`.", "none",
             target(f"max by (check) (netobs_snmp_verdict{{{F}}})", "{{check}}"), mappings=VERDICT_MAPPING, width=12),
        table("Verdict thresholds", "The thresholds configured in collectors.snmp.thresholds.", "none",
              f"max by (check, level) (netobs_snmp_verdict_threshold{{{F}}})"),
        ts("Derived ratios (1 minute)", "Ratios of counter increases computed by the exporter: "
           "retransmission, tlp_share, fast_retransmit_share, rto_share, syn_retransmit_share, tcp_input_error, "
           "udp_receive_buffer_error. Absent while the denominator does not move.", "percentunit",
           target(f'max by (instance, ratio) (netobs_snmp_derived_ratio{{{F}, window="1m"}})', "{{ratio}} {{instance}}")),
        ts("Busiest counters (exporter's 1-minute rates)", "The ten fastest-moving of the counters listed in "
           "collectors.snmp.rate_counters, as the exporter computes them over its own 1-minute window (the same "
           "numbers `netobs stats` prints). A counter new to this list: something changed on the node.", "ops",
           target(f'topk(10, max by (instance, group, field) (netobs_snmp_mib_rate_per_second{{{F}, window="1m"}}))',
                  "{{group}} {{field}} {{instance}}")),
        row("TCP"),
        ts("TCP segments", "Segments received, sent and retransmitted per second (Tcp InSegs, OutSegs, "
           "RetransSegs).", "pps",
           target(rate("netobs_snmp_mib_total", "instance, field", f'group="Tcp", field=~"{tcp_fields}"'), "{{field}} {{instance}}")),
        ts("Retransmissions by cause", "TcpExt TCPLossProbes, TCPFastRetrans, TCPTimeouts, TCPSynRetrans: which "
           "mechanism recovers losses.", "ops",
           target(rate("netobs_snmp_mib_total", "instance, field",
                       'group="TcpExt", field=~"TCPLossProbes|TCPFastRetrans|TCPTimeouts|TCPSynRetrans"'), "{{field}} {{instance}}")),
        ts("Opens, failures and resets", "Tcp ActiveOpens, PassiveOpens, AttemptFails, EstabResets, OutRsts.",
           "ops", target(rate("netobs_snmp_mib_total", "instance, field",
                              'group="Tcp", field=~"ActiveOpens|PassiveOpens|AttemptFails|EstabResets|OutRsts"'),
                         "{{field}} {{instance}}")),
        ts("Listen queue drops", "TcpExt ListenDrops and ListenOverflows per second (the listen_drops verdict).",
           "ops", target(rate("netobs_snmp_mib_total", "instance, field",
                              'group="TcpExt", field=~"ListenDrops|ListenOverflows"'), "{{field}} {{instance}}")),
        ts("Established connections", "Tcp CurrEstab: connections in ESTABLISHED or CLOSE-WAIT now.",
           "short", target(f'sum by (instance) (netobs_snmp_mib_current{{{F}, group="Tcp", field="CurrEstab"}})',
                           "{{instance}}")),
        row("UDP"),
        ts("UDP datagrams and errors", "Udp InDatagrams, OutDatagrams, InErrors, RcvbufErrors (receive buffer "
           "full: the application reads too slowly), SndbufErrors, NoPorts (nothing listening).", "pps",
           target(rate("netobs_snmp_mib_total", "instance, field",
                       'group="Udp", field=~"InDatagrams|OutDatagrams|InErrors|RcvbufErrors|SndbufErrors|NoPorts"'),
                  "{{field}} {{instance}}")),
        row("Collector"),
        ts("Parse errors", "Lines of /proc/net/snmp, netstat, snmp6 that could not be parsed. Any: report "
           "the kernel version and the file.", "ops",
           target(rate("netobs_snmp_parse_errors_total", "instance, file"), "{{file}} {{instance}}")),
    ])


def exporter():
    return ("netobs-exporter", "netobs / Exporter", [
        row("Status"),
        stat("Up", "1 when Prometheus scrapes the exporter.", "none", target(f"up{{{F}}}", "{{instance}}"),
             mappings=OK_MAPPING),
        stat("Config reload", "netobs_config_last_reload_successful: 0 means the last SIGHUP reload failed "
             "(the exporter log says why) and the previous config still runs.", "none",
             target(f"netobs_config_last_reload_successful{{{F}}}", "{{instance}}"), mappings=OK_MAPPING),
        stat("Since last successful reload", "Time since the config was last loaded successfully.", "s",
             target(f"time() - netobs_config_last_reload_success_timestamp_seconds{{{F}}}", "{{instance}}")),
        table("Versions", "netobs_build_info: version, revision, kernel per instance.", "none",
              f"max by (instance, version, revision, kernel) (netobs_build_info{{{F}}})", width=6, height=5),
        ts("Collector success", "1 when the collector served the scrape. 0: see the exporter log "
           "(collector=NAME stage=...) and `netobs check`.", "none",
           target(f"min by (instance, collector) (netobs_scrape_collector_success{{{F}}})", "{{collector}} {{instance}}")),
        ts("Scrape duration per collector", "Time each collector takes to build its metrics at a scrape. "
           "Near the scrape timeout: the collector will report failure.", "s",
           target(f"max by (instance, collector) (netobs_scrape_collector_duration_seconds{{{F}}})",
                  "{{collector}} {{instance}}")),
        row("BPF programs"),
        table("Attached programs", "Each BPF program and the rung of the attach ladder in use (tp_btf, "
              "raw_tp, tracepoint, tc, xdp...). 0: not attached.", "none",
              f"max by (collector, program, attach) (netobs_bpf_program_attached{{{F}}})"),
        ts("Run time per event", "Average BPF program run time per invocation, from the kernel's run-time "
           "statistics (only with exporter.bpf_stats: true or kernel.bpf_stats_enabled=1).", "s",
           target(f"{rate('netobs_bpf_program_run_time_seconds_total', 'instance, collector, program')}\n/\n"
                  f"{rate('netobs_bpf_program_run_count_total', 'instance, collector, program')}",
                  "{{collector}}/{{program}}")),
        ts("BPF CPU per collector", "CPU seconds per second spent in each collector's BPF programs "
           "(needs BPF run-time statistics).", "percentunit",
           target(rate("netobs_bpf_program_run_time_seconds_total", "instance, collector"), "{{collector}} {{instance}}")),
        ts("Program runs", "BPF program invocations per second (needs BPF run-time statistics).", "ops",
           target(rate("netobs_bpf_program_run_count_total", "instance, collector, program"), "{{collector}}/{{program}}")),
        row("Maps and events"),
        ts("Map fill", "Entries / capacity of each BPF map. Near 100 %: new keys are refused (hash maps) or "
           "evict old ones (LRU); raise the collector's limit.", "percentunit",
           target(f"max by (instance, collector, map) (netobs_bpf_map_entries{{{F}}} / netobs_bpf_map_capacity{{{F}}})",
                  "{{collector}}/{{map}}")),
        ts("Map update errors", "Failed BPF map updates per second (a full map): lost counts.", "ops",
           target(rate("netobs_bpf_map_update_errors_total", "instance, collector, map"), "{{collector}}/{{map}}")),
        ts("Lost events", "Events dropped because a ring buffer was full (event capture, DNS events, XDP "
           "samples). Raise events.ring_buffer_size or sample more sparsely.", "ops",
           target(rate("netobs_events_lost_total", "instance, collector"), "{{collector}} {{instance}}")),
        ts("Series folded at label caps", "Observations folded into an `other` label value because a "
           "cardinality cap was reached, per collector and metric.", "ops",
           target(rate("netobs_series_dropped_total", "instance, collector, metric"), "{{collector}} {{metric}}")),
    ])


DASHBOARDS = [overview, tcp, dns, sockets, packets, system, exporter]


def variables():
    query_ds = DS
    return {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []},
        {"name": "job", "label": "Job", "type": "query", "datasource": query_ds,
         "query": {"query": "label_values(netobs_build_info, job)", "refId": "job"},
         "definition": "label_values(netobs_build_info, job)", "refresh": 2, "sort": 1,
         "current": {"text": config.DASHBOARD_JOB_DEFAULT, "value": config.DASHBOARD_JOB_DEFAULT},
         "multi": False, "includeAll": False, "hide": 0, "options": [], "regex": ""},
        {"name": "instance", "label": "Instance", "type": "query", "datasource": query_ds,
         "query": {"query": 'label_values(netobs_build_info{job=~"$job"}, instance)', "refId": "instance"},
         "definition": 'label_values(netobs_build_info{job=~"$job"}, instance)', "refresh": 2, "sort": 1,
         "current": {"text": "All", "value": "$__all"}, "multi": True, "includeAll": True, "allValue": ".+",
         "hide": 0, "options": [], "regex": ""},
    ]}


def render_panel(spec, panel_id, x, y):
    if spec["type"] == "row":
        return {"id": panel_id, "type": "row", "title": spec["title"], "collapsed": False, "panels": [],
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}}
    defaults = {"unit": spec["unit"]}
    if spec.get("mappings"):
        defaults["mappings"] = spec["mappings"]
    if spec.get("thresholds"):
        defaults["thresholds"] = {"mode": "absolute", "steps": spec["thresholds"]}
    out = {"id": panel_id, "type": spec["type"], "title": spec["title"], "description": spec["description"],
           "datasource": DS, "gridPos": {"h": spec["height"], "w": spec["width"], "x": x, "y": y},
           "fieldConfig": {"defaults": defaults, "overrides": []}, "options": {}, "targets": []}
    if spec["type"] == "timeseries":
        out["options"] = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                          "tooltip": {"mode": "multi", "sort": "desc"}}
    elif spec["type"] == "stat":
        out["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "colorMode": "background", "graphMode": "none", "textMode": "auto"}
    elif spec["type"] == "heatmap":
        out["options"] = {"calculate": False, "yAxis": {"unit": spec["unit"]}, "cellGap": 1,
                          "color": {"mode": "scheme", "scheme": "Oranges"}, "tooltip": {"show": True}}
    for index, t in enumerate(spec["targets"]):
        out["targets"].append({"refId": chr(ord("A") + index), "datasource": DS, **t})
    return out


def render_dashboard(uid, title, specs):
    panels, x, y, row_height = [], 0, 0, 0
    for panel_id, spec in enumerate(specs, start=1):
        width = 24 if spec["type"] == "row" else spec["width"]
        if spec["type"] == "row" or x + width > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(render_panel(spec, panel_id, x, y))
        height = 1 if spec["type"] == "row" else spec["height"]
        if spec["type"] == "row":
            y += 1
        else:
            x += width
            row_height = max(row_height, height)
    return {
        "uid": uid, "title": title, "tags": ["netobs", "network"], "timezone": "utc", "editable": True,
        "graphTooltip": 1, "refresh": "30s", "schemaVersion": 38, "version": 1, "style": "dark",
        "time": {"from": "now-1h", "to": "now"}, "timepicker": {},
        "annotations": {"list": []},
        "links": [{"title": "netobs dashboards", "type": "dashboards", "tags": ["netobs"], "asDropdown": True,
                   "includeVars": True, "keepTime": True}],
        "templating": variables(), "panels": panels,
    }


def outputs():
    for build in DASHBOARDS:
        uid, title, specs = build()
        yield HERE / f"{uid}.json", json.dumps(render_dashboard(uid, title, specs), indent=2, ensure_ascii=False) + "\n"


def main():
    stale = []
    for path, text in outputs():
        if "--check" in sys.argv[1:]:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)}: run python3 dashboards/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
