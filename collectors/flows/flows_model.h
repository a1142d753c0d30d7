// The flows collector's pure parts: the services map and the port ->
// protocol table from the config, naming an edge of the kernel map, the
// Prometheus families, and the service topology (rates over a window) as
// JSON, a table and Graphviz. Unit-tested without root; the metrics are
// documented in collectors/flows/README.md.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bpf/flows.h"
#include "exporter/attribution/attribution.h"
#include "exporter/net/ip_prefix.h"
#include "exporter/status.h"

namespace netobs {

// One `services` entry, "NAME=ADDRESS", "NAME=CIDR" or "NAME=ADDRESS:PORT".
struct ServiceEntry {
  std::string name;
  IpEndpoint endpoint;
};
Result<ServiceEntry> parse_service_entry(std::string_view text);
// One `protocols` entry, "PORT=NAME".
Result<std::pair<uint16_t, std::string>> parse_protocol_entry(std::string_view text);

// The key of the kernel's services / cidr_filter tries for an endpoint.
netobs_flows_lpm_key flows_lpm_key(const IpEndpoint& endpoint);

// Service names by id (ids from 1, in config order; one id per name).
class ServiceMap {
 public:
  static Result<ServiceMap> build(const std::vector<std::string>& entries);
  // Every trie key with its service id.
  const std::vector<std::pair<netobs_flows_lpm_key, uint32_t>>& keys() const { return keys_; }
  std::string name(uint32_t id) const;

 private:
  std::vector<std::string> names_;
  std::vector<std::pair<netobs_flows_lpm_key, uint32_t>> keys_;
};

// Port -> protocol name: the built-in table (postgres 5432, redis 6379,
// http 80/8080, https 443, dns 53, kafka 9092, ntp 123, ...) with the config's entries on top.
class ProtocolTable {
 public:
  static Result<ProtocolTable> build(const std::vector<std::string>& entries);
  // The transport ("tcp", "udp") for ports the table does not name.
  std::string name(uint16_t port, std::string_view transport = "tcp") const;

 private:
  std::map<uint16_t, std::string> names_;
};

// An edge as labels: client (comm, address or service), its type
// ("process", "address", "service", "other"), server (address or service),
// its type ("address", "service", "other"), port, protocol and transport
// ("tcp", "udp"; "other" for the `other` edge).
struct FlowEdgeLabels {
  std::string client, client_type, server, server_type, port, protocol, transport;
  // With attribution: cgroup, the client's CgroupLabels::values() (process
  // clients; "" for the others, "other" for the `other` edge); else empty.
  std::vector<std::string> cgroup;
  auto operator<=>(const FlowEdgeLabels&) const = default;
};
// cgroup_labels (attribution: cgroup) names a process client's cgroup id.
using CgroupLabelsOf = std::function<CgroupLabels(uint64_t cgroup_id)>;
FlowEdgeLabels flow_edge_labels(const netobs_flows_edge_key& key, const ServiceMap& services,
                                const ProtocolTable& protocols,
                                const CgroupLabelsOf& cgroup_labels = {});

// The kernel map read at one moment (summed over CPUs).
struct FlowsSnapshot {
  double time = 0;  // seconds, steady clock
  std::map<FlowEdgeLabels, netobs_flows_edge_stats> edges;
  std::array<uint64_t, NETOBS_FLOWS_COUNTER_COUNT> counters{};
  size_t kernel_edges = 0;  // entries of the kernel map (the `other` edge included)
};
void add_edge_stats(netobs_flows_edge_stats& into, const netobs_flows_edge_stats& add);

inline constexpr std::string_view kFlowsSeriesDroppedMetric = "netobs_series_dropped_total";

// netobs_flow_* families and netobs_series_dropped_total{collector="flows"}.
void append_flows_families(const FlowsSnapshot& snapshot, uint32_t max_edges,
                           std::vector<prometheus::MetricFamily>& out);

// One edge of the topology: what happened on it during the window.
struct TopologyEdge {
  FlowEdgeLabels labels;
  netobs_flows_edge_stats delta{};
};
struct Topology {
  double window_seconds = 0;  // the span the deltas cover
  std::vector<TopologyEdge> edges;
};

// Snapshots over the last `window` seconds; the topology is the difference
// between the newest and the oldest one kept (the collector's start, a zero
// snapshot, until the window has passed).
class TopologyWindow {
 public:
  TopologyWindow(double window_seconds, FlowsSnapshot start);
  void add(FlowsSnapshot snapshot);
  Topology topology() const;

 private:
  double window_;
  std::deque<FlowsSnapshot> snapshots_;
};

// The node id of each end of an edge: client comm / address / service; the
// server's service name or address:port.
std::string topology_client_id(const FlowEdgeLabels& labels);
std::string topology_server_id(const FlowEdgeLabels& labels);

// {"topology":{"window_seconds":..,"nodes":[{id,type,attributes}],"edges":[{source,target,
// attributes:{protocol,requests_per_second,avg_latency_ms,error_rate,...}}]}}
std::string render_topology_json(const Topology& topology);
// One row per edge: source, target, protocol, rates, counts.
std::string render_topology_table(const Topology& topology);
// A Graphviz digraph, edges labelled with protocol and rate.
std::string render_topology_dot(const Topology& topology);

}  // namespace netobs
