#!/usr/bin/env python3
"""Generates alerts/netobs.rules.yml (recording and alerting rules) from
alerts/config.py. Python 3 standard library only.

  python3 alerts/generate.py           rewrite alerts/netobs.rules.yml
  python3 alerts/generate.py --check   exit 1 when the committed file is stale
"""
import json
import pathlib
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import config  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
OUTPUT = HERE / "netobs.rules.yml"
S = config.SELECTOR
T = config.THRESHOLDS


def snmp(group, field):
    return f'netobs_snmp_mib_total{{{S},group="{group}",field="{field}"}}'


def by_instance_rate(metric, window="5m", by="job, instance"):
    return f"sum by ({by}) (rate({metric}[{window}]))"


RECORDING_RULES = [
    ("instance:netobs_tcp_out_segments:rate5m", by_instance_rate(snmp("Tcp", "OutSegs"))),
    ("instance:netobs_tcp_retransmitted_segments:rate5m", by_instance_rate(snmp("Tcp", "RetransSegs"))),
    ("instance:netobs_tcp_retransmission:ratio_rate5m",
     "instance:netobs_tcp_retransmitted_segments:rate5m\n/\ninstance:netobs_tcp_out_segments:rate5m"),
    ("instance:netobs_tcp_listen_drops:rate5m", by_instance_rate(snmp("TcpExt", "ListenDrops"))),
    ("instance_errno:netobs_tcp_connect_failures:rate5m",
     by_instance_rate(f'netobs_tcp_connect_failures_total{{{S},errno!="none"}}', by="job, instance, errno")),
    ("instance:netobs_tcp_resets:rate5m",
     f"{by_instance_rate(f'netobs_tcp_resets_sent_total{{{S}}}')}\n+\n"
     f"{by_instance_rate(f'netobs_tcp_resets_received_total{{{S}}}')}"),
    ("instance:netobs_dns_queries:rate5m", by_instance_rate(f"netobs_dns_queries_total{{{S}}}")),
    ("instance:netobs_dns_responses:rate5m", by_instance_rate(f"netobs_dns_responses_total{{{S}}}")),
    ("instance:netobs_dns_unanswered:ratio_rate5m",
     f"{by_instance_rate(f'netobs_dns_unanswered_total{{{S}}}')}\n/\ninstance:netobs_dns_queries:rate5m"),
    ("instance:netobs_dns_servfail:ratio_rate5m",
     by_instance_rate(f'netobs_dns_responses_total{{{S},rcode="SERVFAIL"}}')
     + "\n/\ninstance:netobs_dns_responses:rate5m"),
    ("instance:netobs_dns_request_duration_seconds:p99_rate5m",
     "histogram_quantile(0.99,\n  "
     + by_instance_rate(f"netobs_dns_request_duration_seconds_bucket{{{S}}}", by="job, instance, le")
     + "\n)"),
]


def runbook(anchor):
    return f"{config.RUNBOOK_BASE_URL}#{anchor}"


def alert(name, expr, for_, severity, summary, description, anchor):
    return {"alert": name, "expr": expr, "for": for_, "labels": {"severity": severity},
            "annotations": {"summary": summary, "description": description,
                            "runbook_url": runbook(anchor)}}


ALERTS = [
    alert("NetobsExporterDown", f"up{{{S}}} == 0", "5m", "critical",
          "netobs exporter {{ $labels.instance }} is down",
          "Prometheus could not scrape netobs on {{ $labels.instance }} (job {{ $labels.job }}) for 5 minutes: "
          "no network metrics and no network alerts from this node.",
          "netobsexporterdown"),
    alert("NetobsCollectorFailed", f"netobs_scrape_collector_success{{{S}}} == 0", "10m", "warning",
          "netobs collector {{ $labels.collector }} fails on {{ $labels.instance }}",
          "The {{ $labels.collector }} collector of {{ $labels.instance }} has not served a scrape for 10 minutes "
          "(it could not start or it overruns the scrape timeout): its metrics and alerts are missing.",
          "netobscollectorfailed"),
    alert("NetobsEventsLost",
          f"sum by (job, instance, collector) (rate(netobs_events_lost_total{{{S}}}[5m])) > 0", "10m", "warning",
          "netobs loses {{ $labels.collector }} events on {{ $labels.instance }}",
          "The {{ $labels.collector }} collector of {{ $labels.instance }} drops {{ $value | humanize }} events/s "
          "because its ring buffer is full: event files and samples are incomplete.",
          "netobseventslost"),
    alert("NetobsBpfMapFull",
          f"max by (job, instance, collector, map) (netobs_bpf_map_entries{{{S}}} / netobs_bpf_map_capacity{{{S}}})"
          f" > {T['bpf_map_fill_ratio']}\n"
          "# array maps always report entries = capacity: only maps whose fill moves\n"
          f"unless on (job, instance, collector, map) changes(netobs_bpf_map_entries{{{S}}}[30m]) == 0",
          "15m", "warning",
          "BPF map {{ $labels.map }} of netobs {{ $labels.collector }} is full on {{ $labels.instance }}",
          "The BPF map {{ $labels.map }} of the {{ $labels.collector }} collector on {{ $labels.instance }} is "
          "{{ $value | humanizePercentage }} full: new keys are refused or evict old ones, so counts are incomplete.",
          "netobsbpfmapfull"),
    alert("NetobsBpfMapUpdateErrors",
          f"sum by (job, instance, collector, map) (rate(netobs_bpf_map_update_errors_total{{{S}}}[5m])) > 0",
          "10m", "warning",
          "BPF map {{ $labels.map }} of netobs {{ $labels.collector }} refuses updates on {{ $labels.instance }}",
          "{{ $value | humanize }} updates/s of the BPF map {{ $labels.map }} ({{ $labels.collector }} collector, "
          "{{ $labels.instance }}) fail, usually because the map is full: the events they carried are not counted.",
          "netobsbpfmapupdateerrors"),
    alert("NetobsConfigReloadFailed", f"netobs_config_last_reload_successful{{{S}}} == 0", "10m", "warning",
          "netobs on {{ $labels.instance }} failed to reload its config",
          "The last configuration reload of netobs on {{ $labels.instance }} failed; the previous configuration "
          "keeps running and the new one is not in force.",
          "netobsconfigreloadfailed"),
    alert("NetobsTcpRetransmissionRatioHigh",
          f"instance:netobs_tcp_retransmission:ratio_rate5m > {T['tcp_retransmission_ratio_warning']}\n"
          f"and on (job, instance)\ninstance:netobs_tcp_out_segments:rate5m > {T['tcp_min_out_segments_per_second']}",
          "15m", "warning",
          "TCP retransmission ratio on {{ $labels.instance }} is {{ $value | humanizePercentage }}",
          "{{ $value | humanizePercentage }} of the TCP segments {{ $labels.instance }} sent in the last 5 minutes "
          f"were retransmissions (warning above {T['tcp_retransmission_ratio_warning'] * 100:g} %): "
          "packet loss or congestion on a path.",
          "netobstcpretransmissionratiohigh"),
    alert("NetobsTcpRetransmissionRatioHigh",
          f"instance:netobs_tcp_retransmission:ratio_rate5m > {T['tcp_retransmission_ratio_critical']}\n"
          f"and on (job, instance)\ninstance:netobs_tcp_out_segments:rate5m > {T['tcp_min_out_segments_per_second']}",
          "5m", "critical",
          "TCP retransmission ratio on {{ $labels.instance }} is {{ $value | humanizePercentage }}",
          "{{ $value | humanizePercentage }} of the TCP segments {{ $labels.instance }} sent in the last 5 minutes "
          f"were retransmissions (critical above {T['tcp_retransmission_ratio_critical'] * 100:g} %): "
          "heavy packet loss, throughput and latency of TCP connections suffer.",
          "netobstcpretransmissionratiohigh"),
    alert("NetobsTcpListenQueueOverflow",
          f"instance:netobs_tcp_listen_drops:rate5m > {T['tcp_listen_drops_per_second_warning']}", "10m", "warning",
          "{{ $labels.instance }} drops connections at full listen queues",
          "{{ $labels.instance }} dropped {{ $value | humanize }} SYNs or connections/s at listen queues over the "
          "last 5 minutes: a server accepts too slowly or its backlog is too small; clients see slow or failed connects.",
          "netobstcplistenqueueoverflow"),
    alert("NetobsTcpListenQueueOverflow",
          f"instance:netobs_tcp_listen_drops:rate5m > {T['tcp_listen_drops_per_second_critical']}", "5m", "critical",
          "{{ $labels.instance }} drops connections at full listen queues",
          "{{ $labels.instance }} dropped {{ $value | humanize }} SYNs or connections/s at listen queues over the "
          f"last 5 minutes (critical above {T['tcp_listen_drops_per_second_critical']}/s): clients are being turned away.",
          "netobstcplistenqueueoverflow"),
    alert("NetobsTcpConnectFailuresSpike",
          f"instance_errno:netobs_tcp_connect_failures:rate5m > {T['tcp_connect_failures_per_second']}", "10m",
          "warning",
          "Outgoing TCP connects fail with {{ $labels.errno }} on {{ $labels.instance }}",
          "{{ $value | humanize }} outgoing TCP connections/s from {{ $labels.instance }} failed with "
          "{{ $labels.errno }} over the last 5 minutes: a peer is down, refusing or unreachable.",
          "netobstcpconnectfailuresspike"),
    alert("NetobsTcpResetsSpike",
          f"instance:netobs_tcp_resets:rate5m > {T['tcp_resets_per_second']}", "10m", "warning",
          "TCP resets on {{ $labels.instance }} at {{ $value | humanize }}/s",
          "{{ $labels.instance }} sent and received {{ $value | humanize }} TCP resets/s over the last 5 minutes: "
          "connections to closed ports, aborted connections or a middlebox killing them.",
          "netobstcpresetsspike"),
    alert("NetobsDnsUnansweredRatioHigh",
          f"instance:netobs_dns_unanswered:ratio_rate5m > {T['dns_unanswered_ratio']}\n"
          f"and on (job, instance)\ninstance:netobs_dns_queries:rate5m > {T['dns_min_queries_per_second']}",
          "10m", "warning",
          "{{ $value | humanizePercentage }} of DNS queries on {{ $labels.instance }} get no answer",
          "{{ $value | humanizePercentage }} of the DNS queries seen on {{ $labels.instance }} in the last 5 minutes "
          "got no response within the timeout: a resolver is down or unreachable; lookups hang and retry.",
          "netobsdnsunansweredratiohigh"),
    alert("NetobsDnsServfailRatioHigh",
          f"instance:netobs_dns_servfail:ratio_rate5m > {T['dns_servfail_ratio']}\n"
          f"and on (job, instance)\ninstance:netobs_dns_responses:rate5m > {T['dns_min_queries_per_second']}",
          "10m", "warning",
          "{{ $value | humanizePercentage }} of DNS responses on {{ $labels.instance }} are SERVFAIL",
          "{{ $value | humanizePercentage }} of the DNS responses seen on {{ $labels.instance }} in the last 5 minutes "
          "were SERVFAIL: a resolver cannot reach the authoritative servers or DNSSEC validation fails.",
          "netobsdnsservfailratiohigh"),
    alert("NetobsDnsLatencyHigh",
          f"instance:netobs_dns_request_duration_seconds:p99_rate5m > {T['dns_p99_latency_seconds']}", "10m",
          "warning",
          "DNS p99 latency on {{ $labels.instance }} is {{ $value | humanizeDuration }}",
          "The 99th percentile of DNS response times seen on {{ $labels.instance }} over the last 5 minutes is "
          f"{{{{ $value | humanizeDuration }}}} (above {T['dns_p99_latency_seconds']:g} s): a slow or overloaded resolver.",
          "netobsdnslatencyhigh"),
    alert("NetobsSocketErrorsHigh",
          f"sum by (job, instance, comm, error) (rate(netobs_socket_errors_total{{{S},"
          f"error!~\"{config.SOCKET_BENIGN_ERRORS}\"}}[5m]))\n> {T['socket_errors_per_second']}",
          "15m", "warning",
          "{{ $labels.comm }} socket calls fail with {{ $labels.error }} on {{ $labels.instance }}",
          "Socket sends/receives of {{ $labels.comm }} on {{ $labels.instance }} fail with {{ $labels.error }} at "
          "{{ $value | humanize }}/s over the last 5 minutes: peers resetting connections (ECONNRESET, EPIPE), "
          "unreachable destinations or full buffers (ENOBUFS).",
          "netobssocketerrorshigh"),
    alert("NetobsPacketsMalformed",
          f"sum by (job, instance, interface, layer) (rate(netobs_xdp_malformed_packets_total{{{S}}}[5m]))\n"
          f"> {T['malformed_packets_per_second']}", "15m", "warning",
          "Malformed {{ $labels.layer }} frames on {{ $labels.instance }} {{ $labels.interface }}",
          "{{ $labels.interface }} on {{ $labels.instance }} receives {{ $value | humanize }} malformed frames/s "
          "(parsing stopped at {{ $labels.layer }}): a faulty NIC, driver or cable, or crafted packets.",
          "netobspacketsmalformed"),
    alert("NetobsDnsMalformedPackets",
          f"sum by (job, instance, transport, reason) (rate(netobs_dns_malformed_packets_total{{{S}}}[5m]))\n"
          f"> {T['malformed_packets_per_second']}", "15m", "info",
          "Malformed DNS packets ({{ $labels.reason }}) on {{ $labels.instance }}",
          "{{ $labels.instance }} sees {{ $value | humanize }} malformed DNS packets/s over {{ $labels.transport }} "
          "({{ $labels.reason }}): a broken client or server, or a scanner.",
          "netobsdnsmalformedpackets"),
]


def quote(text):
    return json.dumps(text, ensure_ascii=False)


def expr_yaml(expr, indent):
    pad = " " * indent
    return "|-\n" + "\n".join(pad + line for line in expr.split("\n"))


def render():
    out = ["# Generated by alerts/generate.py from alerts/config.py: edit those, not this file.",
           "groups:", "  - name: netobs.rules", "    rules:"]
    for record, expr in RECORDING_RULES:
        out += [f"      - record: {record}", f"        expr: {expr_yaml(expr, 10)}"]
    out += ["  - name: netobs.alerts", "    rules:"]
    for a in ALERTS:
        out += [f"      - alert: {a['alert']}", f"        expr: {expr_yaml(a['expr'], 10)}",
                f"        for: {a['for']}", "        labels:"]
        out += [f"          {k}: {v}" for k, v in a["labels"].items()]
        out += ["        annotations:"]
        out += [f"          {k}: {quote(v)}" for k, v in a["annotations"].items()]
    return "\n".join(out) + "\n"


def main():
    text = render()
    if "--check" in sys.argv[1:]:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date: run python3 alerts/generate.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
