// The typed, validated netobs configuration. Built only by load_config()
// (config/config_loader.h) from YAML; every field has its default here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace netobs {

// Settings every collector has.
struct CollectorCommon {
  bool enabled = true;
  bool required = false;  // true: the exporter refuses to start without it

  bool operator==(const CollectorCommon&) const = default;
};

struct ExporterConfig {
  std::string listen_address = ":9723";
  std::string telemetry_path = "/metrics";
  int max_requests = 40;
  std::string log_level = "info";
  std::string procfs = "/proc";
  bool bpf_stats = false;              // enable the kernel's BPF run-time stats (bpf_enable_stats)
  double scrape_timeout_seconds = 10;  // used when the scraper sends no timeout header

  bool operator==(const ExporterConfig&) const = default;
};

// Verdict thresholds of seed 004; each check exports 0 ok, 1 warning, 2 critical.
struct SnmpThresholds {
  double retrans_ratio_warning = 0.01;
  double retrans_ratio_critical = 0.05;
  double tlp_share_warning = 0.30;
  double tlp_share_critical = 0.50;
  double listen_drops_per_second_warning = 0;   // any listen drop is a warning...
  double listen_drops_per_second_critical = 1;  // ...and a sustained rate critical

  bool operator==(const SnmpThresholds&) const = default;
};

struct SnmpConfig {
  CollectorCommon common;
  double sample_interval_seconds = 5;
  std::vector<double> windows_seconds = {60, 300, 900};
  // "Group.Field" names, e.g. "Tcp.RetransSegs", "TcpExt.ListenDrops".
  std::vector<std::string> rate_counters = {"Tcp.InSegs",
                                            "Tcp.OutSegs",
                                            "Tcp.RetransSegs",
                                            "Tcp.ActiveOpens",
                                            "Tcp.PassiveOpens",
                                            "Tcp.AttemptFails",
                                            "Tcp.EstabResets",
                                            "Tcp.OutRsts",
                                            "Tcp.InErrs",
                                            "TcpExt.ListenDrops",
                                            "TcpExt.ListenOverflows",
                                            "TcpExt.TCPLossProbes",
                                            "TcpExt.TCPFastRetrans",
                                            "TcpExt.TCPTimeouts",
                                            "TcpExt.TCPSynRetrans",
                                            "TcpExt.TCPLostRetransmit",
                                            "TcpExt.PruneCalled",
                                            "TcpExt.RcvPruned",
                                            "TcpExt.TCPRcvQDrop",
                                            "Udp.InErrors",
                                            "Udp.RcvbufErrors",
                                            "Udp.SndbufErrors",
                                            "Udp.NoPorts"};
  SnmpThresholds thresholds;

  bool operator==(const SnmpConfig&) const = default;
};

// Filters shared by the BPF collectors (seed 003 `agent.ebpf.network.*`,
// `agent.network.include_ports`, `agent.network.{interfaces,exclude_interfaces}`).
struct NetworkFilters {
  std::vector<uint16_t> include_ports;
  std::vector<uint16_t> exclude_ports;
  std::vector<std::string> interfaces;          // names or globs
  std::vector<std::string> exclude_interfaces;  // names or globs
  std::vector<std::string> include_cidrs;
  std::vector<std::string> exclude_cidrs;

  bool operator==(const NetworkFilters&) const = default;
};

struct EventsConfig {
  std::string format = "csv";  // csv | json
  std::string output_dir;      // empty: events off
  uint64_t ring_buffer_size = 16 * 1024 * 1024;
  uint32_t sample_rate = 1;  // 1-in-N events
  uint64_t rotate_bytes = 64 * 1024 * 1024;

  bool operator==(const EventsConfig&) const = default;
};

struct SocketConfig {
  CollectorCommon common;
  std::vector<std::string> protocols = {"tcp", "udp"};
  std::vector<uint32_t> pids;
  std::vector<std::string> comms;
  bool per_process = true;
  uint32_t max_processes = 64;
  // MSG_* flags of sends and operation latency, from the syscall
  // tracepoints (which put every syscall of the machine on the kernel's
  // slower traced path while attached).
  bool syscall_details = true;

  bool operator==(const SocketConfig&) const = default;
};

struct TcpConfig {
  CollectorCommon common;
  bool rtt = true;
  bool retransmits = true;
  bool connection_tracking = true;
  uint32_t sample_rate = 1;  // 1-in-N connections
  // Optional labels on RTT and retransmissions:
  // none | local_port | remote_port | remote_cidr.
  std::string group_by = "none";
  uint32_t max_groups = 64;                     // series per metric; the rest fold into "other"
  std::vector<std::string> port_names;          // "PORT=NAME", e.g. "5432=postgres"
  std::vector<std::string> remote_cidr_groups;  // "NAME=CIDR", e.g. "office=10.0.0.0/8"
  std::string network_namespace;  // only this namespace (a path like /run/netns/x); "": all
  uint32_t max_tracked_connections = 65536;  // connections timed at once (duration histogram)

  bool operator==(const TcpConfig&) const = default;
};

struct DnsConfig {
  CollectorCommon common;
  bool capture_queries = true;
  bool capture_responses = true;
  bool capture_content = false;
  std::vector<uint16_t> ports = {53};  // at most 8
  double timeout_seconds = 5;
  uint32_t max_outstanding_queries = 16384;  // size of the in-kernel correlation map
  bool server_labels = false;                // per-server series, capped at max_servers
  uint32_t max_servers = 32;
  uint32_t top_domains = 0;           // 0: off; else the most queried names exported
  uint32_t domain_sample_rate = 100;  // 1-in-N queries parsed for top_domains

  bool operator==(const DnsConfig&) const = default;
};

struct XdpConfig {
  CollectorCommon common{.enabled = false};  // attaches to NICs: opt-in
  uint32_t sample_rate = 1000;  // 1-in-N packets; the seed's 0 ("every packet") is stored as 1
  std::vector<std::string> interfaces;  // names or globs; empty: all but excluded
  std::string mode = "auto";            // auto | native | generic | tc
  std::vector<uint16_t> filter_ports;   // at most 64, each with its own counters
  std::vector<std::string> filter_protocols;
  uint32_t top_talkers = 10;  // 0: off; else the busiest (src, dst, protocol, port) exported

  bool operator==(const XdpConfig&) const = default;
};

struct Config {
  ExporterConfig exporter;
  NetworkFilters network;
  EventsConfig events;
  SnmpConfig snmp;
  SocketConfig socket;
  TcpConfig tcp;
  DnsConfig dns;
  XdpConfig xdp;
  // Seed-003 keys for features netobs does not implement (http, grpc,
  // security): accepted so pasted snippets load, reported once as ignored.
  std::vector<std::string> ignored_keys;
  std::string source;  // file path, or "<built-in>"

  // The common settings of the collector called `name`, or nullptr.
  CollectorCommon* collector_common(std::string_view name);
  const CollectorCommon* collector_common(std::string_view name) const;

  bool operator==(const Config&) const = default;
};

}  // namespace netobs
