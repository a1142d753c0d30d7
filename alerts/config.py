"""The one place to adapt the netobs alerts and dashboards to a Prometheus setup.

Edit, then run `python3 alerts/generate.py && python3 dashboards/generate.py`
(both rewrite their committed output; `--check` only compares).
"""

# Selects the netobs scrape targets in every alert and recording rule. Change it
# when the scrape job is not called "netobs" (e.g. 'job=~"netobs|node-netobs"',
# or add 'cluster="prod"').
SELECTOR = 'job="netobs"'

# Dashboards: the job variable's default and the regex its values come from.
DASHBOARD_JOB_DEFAULT = "netobs"

# Base of the runbook links; each alert links to a section of alerts/runbooks.md.
RUNBOOK_BASE_URL = "https://github.com/netobs/netobs/blob/main/alerts/runbooks.md"

# Thresholds (alerts/runbooks.md says why each value was chosen).
THRESHOLDS = {
    # Same values as the snmp collector's verdicts
    # (collectors.snmp.thresholds.retrans_ratio_warning/_critical).
    "tcp_retransmission_ratio_warning": 0.01,
    "tcp_retransmission_ratio_critical": 0.05,
    # Below this many segments sent per second the ratio is noise.
    "tcp_min_out_segments_per_second": 10,
    # Listen queue drops per second, as the snmp verdict listen_drops: any
    # sustained drop warns, more than 1/s is critical.
    "tcp_listen_drops_per_second_warning": 0,
    "tcp_listen_drops_per_second_critical": 1,
    "tcp_connect_failures_per_second": 1,
    "tcp_resets_per_second": 10,
    "dns_unanswered_ratio": 0.05,
    "dns_servfail_ratio": 0.05,
    "dns_min_queries_per_second": 0.1,
    "dns_p99_latency_seconds": 0.5,
    "socket_errors_per_second": 1,
    "malformed_packets_per_second": 0.1,
    "bpf_map_fill_ratio": 0.9,
}

# Errors of non-blocking or interrupted calls: part of normal operation.
SOCKET_BENIGN_ERRORS = "EAGAIN|EWOULDBLOCK|EINPROGRESS|EALREADY|EINTR|ERESTARTSYS|ERESTARTNOINTR|ERESTARTNOHAND|ERESTART_RESTARTBLOCK"
