#include "collectors/flows/flows_model.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <iomanip>
#include <set>
#include <sstream>

#include "exporter/json_writer.h"
#include "exporter/metric_builder.h"

namespace netobs {
namespace {

using prometheus::MetricType;

// Names become label values and node ids: keep them short and plain.
Status check_name(std::string_view name, std::string_view entry) {
  const bool plain =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
      });
  if (plain) return Status::ok();
  return Status::error("invalid name in \"" + std::string(entry) +
                       "\": use 1..64 letters, digits, '_', '-' or '.'");
}

// The ports clients of well-known services connect to (IANA and common use).
const std::map<uint16_t, std::string>& builtin_protocols() {
  static const std::map<uint16_t, std::string> kTable = {
      {21, "ftp"},
      {22, "ssh"},
      {25, "smtp"},
      {53, "dns"},
      {80, "http"},
      {110, "pop3"},
      {123, "ntp"},
      {143, "imap"},
      {161, "snmp"},
      {389, "ldap"},
      {443, "https"},
      {465, "smtps"},
      {514, "syslog"},
      {587, "smtp"},
      {636, "ldaps"},
      {993, "imaps"},
      {1433, "mssql"},
      {1521, "oracle"},
      {2049, "nfs"},
      {2181, "zookeeper"},
      {2379, "etcd"},
      {3306, "mysql"},
      {4317, "otlp-grpc"},
      {4318, "otlp-http"},
      {5432, "postgres"},
      {5672, "amqp"},
      {6379, "redis"},
      {6443, "kubernetes"},
      {8080, "http"},
      {8125, "statsd"},
      {8443, "https"},
      {9042, "cassandra"},
      {9092, "kafka"},
      {9090, "prometheus"},
      {9200, "elasticsearch"},
      {11211, "memcached"},
      {27017, "mongodb"},
  };
  return kTable;
}

std::string_view client_type_name(uint8_t kind) {
  switch (kind) {
    case NETOBS_FLOWS_CLIENT_PROCESS:
      return "process";
    case NETOBS_FLOWS_CLIENT_ADDRESS:
      return "address";
    case NETOBS_FLOWS_CLIENT_SERVICE:
      return "service";
    default:
      return "other";
  }
}

Ip16 to_ip16(const __u8 addr[16]) {
  Ip16 out;
  std::memcpy(out.data(), addr, 16);
  return out;
}

netobs_flows_edge_stats subtract(const netobs_flows_edge_stats& a,
                                 const netobs_flows_edge_stats& b) {
  const auto d = [](uint64_t x, uint64_t y) { return x >= y ? x - y : 0; };
  return {d(a.opened, b.opened),
          d(a.failed, b.failed),
          d(a.closed, b.closed),
          d(a.bytes_to_server, b.bytes_to_server),
          d(a.bytes_to_client, b.bytes_to_client),
          d(a.retransmits, b.retransmits),
          d(a.rtt_sum_us, b.rtt_sum_us),
          d(a.rtt_count, b.rtt_count),
          d(a.resets, b.resets),
          d(a.packets_to_server, b.packets_to_server),
          d(a.packets_to_client, b.packets_to_client)};
}

bool any_activity(const netobs_flows_edge_stats& s) {
  return s.opened || s.failed || s.closed || s.resets || s.bytes_to_server || s.bytes_to_client ||
         s.packets_to_server || s.packets_to_client;
}

struct EdgeRates {
  double requests_per_second = 0;
  double avg_latency_ms = 0;
  double error_rate = 0;
};

EdgeRates rates(const TopologyEdge& edge, double window) {
  const auto& d = edge.delta;
  EdgeRates r;
  // TCP: connection attempts; UDP: datagrams to the server (each a request).
  const uint64_t requests =
      edge.labels.transport == "udp" ? d.packets_to_server : d.opened + d.failed;
  r.requests_per_second = window > 0 ? static_cast<double>(requests) / window : 0;
  r.avg_latency_ms =
      d.rtt_count ? static_cast<double>(d.rtt_sum_us) / static_cast<double>(d.rtt_count) / 1000 : 0;
  const uint64_t attempts = d.opened + d.failed;
  r.error_rate = attempts ? static_cast<double>(d.failed) / static_cast<double>(attempts) : 0;
  return r;
}

std::string number(double value) {
  std::ostringstream out;
  out << std::setprecision(6) << value;
  return out.str();
}

std::string client_node_type(const FlowEdgeLabels& l) {
  return l.client_type == "address" ? "external" : l.client_type;
}
std::string server_node_type(const FlowEdgeLabels& l) {
  return l.server_type == "address" ? "endpoint" : l.server_type;
}

}  // namespace

Result<ServiceEntry> parse_service_entry(std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    return Status::error("invalid service \"" + std::string(text) +
                         "\": write \"NAME=CIDR\", \"NAME=ADDRESS\" or \"NAME=ADDRESS:PORT\", e.g. "
                         "\"internal=10.0.0.0/8\" or \"postgres=192.0.2.10:5432\"");
  }
  if (Status status = check_name(text.substr(0, eq), text); !status) return status;
  Result<IpEndpoint> endpoint = parse_ip_endpoint(text.substr(eq + 1));
  if (!endpoint) {
    return Status::error("invalid service \"" + std::string(text) +
                         "\": " + endpoint.status().message());
  }
  return ServiceEntry{std::string(text.substr(0, eq)), *endpoint};
}

Result<std::pair<uint16_t, std::string>> parse_protocol_entry(std::string_view text) {
  const size_t eq = text.find('=');
  uint32_t port = 0;
  const std::string_view digits = text.substr(0, eq);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (eq == std::string_view::npos || digits.empty() || ec != std::errc() ||
      end != digits.data() + digits.size() || port == 0 || port > 65535) {
    return Status::error("invalid protocol \"" + std::string(text) +
                         "\": write \"PORT=NAME\", e.g. \"5432=postgres\"");
  }
  if (Status status = check_name(text.substr(eq + 1), text); !status) return status;
  return std::pair<uint16_t, std::string>{static_cast<uint16_t>(port),
                                          std::string(text.substr(eq + 1))};
}

netobs_flows_lpm_key flows_lpm_key(const IpEndpoint& endpoint) {
  netobs_flows_lpm_key key{};
  std::memcpy(key.addr, endpoint.prefix.addr.data(), 16);
  key.prefixlen = endpoint.prefix.bits;
  if (endpoint.port) {
    // An address:port; a CIDR with a port matches the CIDR only (a trie
    // prefix cannot skip host bits).
    key.port[0] = static_cast<uint8_t>(*endpoint.port >> 8);
    key.port[1] = static_cast<uint8_t>(*endpoint.port & 0xff);
    if (endpoint.prefix.bits == 128) key.prefixlen = 144;
  }
  return key;
}

Result<ServiceMap> ServiceMap::build(const std::vector<std::string>& entries) {
  ServiceMap map;
  for (const std::string& text : entries) {
    Result<ServiceEntry> entry = parse_service_entry(text);
    if (!entry) return entry.status();
    auto it = std::find(map.names_.begin(), map.names_.end(), entry->name);
    if (it == map.names_.end()) it = map.names_.insert(map.names_.end(), entry->name);
    const auto id = static_cast<uint32_t>(it - map.names_.begin() + 1);
    map.keys_.emplace_back(flows_lpm_key(entry->endpoint), id);
  }
  return map;
}

std::string ServiceMap::name(uint32_t id) const {
  if (id >= 1 && id <= names_.size()) return names_[id - 1];
  return "service" + std::to_string(id);
}

Result<ProtocolTable> ProtocolTable::build(const std::vector<std::string>& entries) {
  ProtocolTable table;
  table.names_ = builtin_protocols();
  for (const std::string& text : entries) {
    auto entry = parse_protocol_entry(text);
    if (!entry) return entry.status();
    table.names_[entry->first] = entry->second;
  }
  return table;
}

std::string ProtocolTable::name(uint16_t port, std::string_view transport) const {
  auto it = names_.find(port);
  return it == names_.end() ? std::string(transport) : it->second;
}

FlowEdgeLabels flow_edge_labels(const netobs_flows_edge_key& key, const ServiceMap& services,
                                const ProtocolTable& protocols,
                                const CgroupLabelsOf& cgroup_labels) {
  FlowEdgeLabels l;
  if (cgroup_labels) {
    if (key.client_kind == NETOBS_FLOWS_CLIENT_PROCESS) {
      l.cgroup = key.cgroup_id ? cgroup_labels(key.cgroup_id).values()
                               : std::vector<std::string>(CgroupLabels::names().size());
    } else {
      l.cgroup.assign(CgroupLabels::names().size(),
                      key.client_kind == NETOBS_FLOWS_CLIENT_OTHER ? "other" : "");
    }
  }
  l.client_type = std::string(client_type_name(key.client_kind));
  switch (key.client_kind) {
    case NETOBS_FLOWS_CLIENT_PROCESS:
      l.client.assign(key.comm, strnlen(key.comm, sizeof key.comm));
      if (l.client.empty()) l.client = "local";  // attribution: none
      break;
    case NETOBS_FLOWS_CLIENT_ADDRESS:
      l.client = format_ip(to_ip16(key.client_addr));
      break;
    case NETOBS_FLOWS_CLIENT_SERVICE:
      l.client = services.name(key.client_service);
      break;
    default:
      l.client = "other";
  }
  if (key.client_kind == NETOBS_FLOWS_CLIENT_OTHER) {
    l.server = l.server_type = "other";
    l.port = l.protocol = l.transport = "other";
    return l;
  }
  if (key.server_kind == NETOBS_FLOWS_SERVER_SERVICE) {
    l.server_type = "service";
    l.server = services.name(key.server_service);
  } else {
    l.server_type = "address";
    l.server = format_ip(to_ip16(key.server_addr));
  }
  l.port = std::to_string(key.server_port);
  l.transport = key.transport == NETOBS_FLOWS_TRANSPORT_UDP ? "udp" : "tcp";
  l.protocol = protocols.name(key.server_port, l.transport);
  return l;
}

void add_edge_stats(netobs_flows_edge_stats& into, const netobs_flows_edge_stats& add) {
  into.opened += add.opened;
  into.failed += add.failed;
  into.closed += add.closed;
  into.bytes_to_server += add.bytes_to_server;
  into.bytes_to_client += add.bytes_to_client;
  into.retransmits += add.retransmits;
  into.rtt_sum_us += add.rtt_sum_us;
  into.rtt_count += add.rtt_count;
  into.resets += add.resets;
  into.packets_to_server += add.packets_to_server;
  into.packets_to_client += add.packets_to_client;
}

void append_flows_families(const FlowsSnapshot& snapshot, uint32_t max_edges,
                           std::vector<prometheus::MetricFamily>& out) {
  FamilyBuilder opened("netobs_flow_connections_opened_total",
                       "Connections established on the edge client -> server: TCP (direction "
                       "from who sent the SYN) and UDP 5-tuples once a reply was seen (the client "
                       "sent first).",
                       MetricType::Counter);
  FamilyBuilder failed("netobs_flow_connections_failed_total",
                       "TCP connection attempts on the edge that never became established "
                       "(refused, timed out, reset during the handshake).",
                       MetricType::Counter);
  FamilyBuilder closed("netobs_flow_connections_closed_total",
                       "Established TCP connections of the edge that closed.", MetricType::Counter);
  FamilyBuilder bytes("netobs_flow_bytes_total",
                      "Payload bytes of the edge by direction (to_server, to_client): TCP "
                      "counted when a connection closes, UDP as datagrams pass.",
                      MetricType::Counter);
  FamilyBuilder packets("netobs_flow_udp_datagrams_total",
                        "UDP datagrams of the edge by direction (to_server, to_client), counted "
                        "as they pass once the flow's first reply was seen (the ones before it "
                        "included).",
                        MetricType::Counter);
  FamilyBuilder retrans("netobs_flow_retransmits_total",
                        "Segments the local end retransmitted on connections of the edge "
                        "(tcp_sock total_retrans, counted when the connection ends).",
                        MetricType::Counter);
  FamilyBuilder rtt_sum("netobs_flow_rtt_seconds_total",
                        "Sum of the smoothed RTT of closed connections of the edge, read at "
                        "close; divide by netobs_flow_rtt_samples_total for the mean.",
                        MetricType::Counter);
  FamilyBuilder rtt_count("netobs_flow_rtt_samples_total",
                          "Closed connections of the edge with an RTT sample.",
                          MetricType::Counter);
  FamilyBuilder resets("netobs_flow_resets_total",
                       "TCP resets sent or received on connections of the edge.",
                       MetricType::Counter);
  for (const auto& [l, s] : snapshot.edges) {
    Labels labels = {{"client", l.client},     {"client_type", l.client_type},
                     {"server", l.server},     {"port", l.port},
                     {"protocol", l.protocol}, {"transport", l.transport}};
    for (size_t i = 0; i < l.cgroup.size() && i < CgroupLabels::names().size(); ++i) {
      labels[CgroupLabels::names()[i]] = l.cgroup[i];
    }
    opened.counter(labels, static_cast<double>(s.opened));
    failed.counter(labels, static_cast<double>(s.failed));
    closed.counter(labels, static_cast<double>(s.closed));
    auto with_direction = [&](const char* direction) {
      Labels copy = labels;
      copy["direction"] = direction;
      return copy;
    };
    bytes.counter(with_direction("to_server"), static_cast<double>(s.bytes_to_server));
    bytes.counter(with_direction("to_client"), static_cast<double>(s.bytes_to_client));
    if (l.transport != "tcp") {
      packets.counter(with_direction("to_server"), static_cast<double>(s.packets_to_server));
      packets.counter(with_direction("to_client"), static_cast<double>(s.packets_to_client));
    }
    retrans.counter(labels, static_cast<double>(s.retransmits));
    rtt_sum.counter(labels, static_cast<double>(s.rtt_sum_us) / 1e6);
    rtt_count.counter(labels, static_cast<double>(s.rtt_count));
    resets.counter(labels, static_cast<double>(s.resets));
  }
  for (FamilyBuilder* family :
       {&opened, &failed, &closed, &bytes, &packets, &retrans, &rtt_sum, &rtt_count, &resets}) {
    family->append_to(out);
  }
  FamilyBuilder("netobs_flow_edges", "Edges held in the kernel map (the `other` edge included).",
                MetricType::Gauge)
      .gauge({}, static_cast<double>(snapshot.kernel_edges))
      .append_to(out);
  FamilyBuilder("netobs_flow_max_edges",
                "The edge budget (collectors.flows.max_edges); connections of further edges "
                "count under client=\"other\".",
                MetricType::Gauge)
      .gauge({}, static_cast<double>(max_edges))
      .append_to(out);
  FamilyBuilder("netobs_flow_filtered_connections_total",
                "Connections skipped by the network filters: include/exclude CIDRs and ports, and "
                "for TCP the interfaces.",
                MetricType::Counter)
      .counter({}, static_cast<double>(snapshot.counters[NETOBS_FLOWS_FILTERED]))
      .append_to(out);
  FamilyBuilder("netobs_flow_udp_flows_total",
                "UDP flows (5-tuples of a local socket) seen; the ones never answered have no "
                "edge.",
                MetricType::Counter)
      .counter({}, static_cast<double>(snapshot.counters[NETOBS_FLOWS_UDP_FLOWS]))
      .append_to(out);
  FamilyBuilder("netobs_flow_untracked_connections_total",
                "Connections whose socket could not be tracked (the table of "
                "collectors.flows.max_tracked_connections was full); their close is not counted.",
                MetricType::Counter)
      .counter({}, static_cast<double>(snapshot.counters[NETOBS_FLOWS_UNTRACKED]))
      .append_to(out);
  FamilyBuilder(std::string(kFlowsSeriesDroppedMetric),
                "Observations folded into the `other` series because the metric reached its "
                "series cap (flows: connections of edges beyond collectors.flows.max_edges).",
                MetricType::Counter)
      .counter({{"collector", "flows"}, {"metric", "netobs_flow_*"}},
               static_cast<double>(snapshot.counters[NETOBS_FLOWS_FOLDED]))
      .append_to(out);
}

TopologyWindow::TopologyWindow(double window_seconds, FlowsSnapshot start)
    : window_(window_seconds) {
  snapshots_.push_back(std::move(start));
}

void TopologyWindow::add(FlowsSnapshot snapshot) {
  snapshots_.push_back(std::move(snapshot));
  const double now = snapshots_.back().time;
  // Keep the newest snapshot at least `window` old as the baseline.
  while (snapshots_.size() > 2 && now - snapshots_[1].time >= window_) snapshots_.pop_front();
}

Topology TopologyWindow::topology() const {
  Topology topology;
  const FlowsSnapshot& base = snapshots_.front();
  const FlowsSnapshot& last = snapshots_.back();
  topology.window_seconds = last.time - base.time;
  for (const auto& [labels, stats] : last.edges) {
    auto it = base.edges.find(labels);
    TopologyEdge edge{labels, it == base.edges.end() ? stats : subtract(stats, it->second)};
    if (any_activity(edge.delta)) topology.edges.push_back(std::move(edge));
  }
  return topology;
}

namespace {

// A process client's cgroup label (CgroupLabels::names() order), "" when none.
std::string cgroup_label(const FlowEdgeLabels& l, size_t index) {
  return l.client_type == "process" && index < l.cgroup.size() ? l.cgroup[index] : "";
}
enum CgroupIndex { kContainerId, kPodUid, kUnit, kPod, kNamespace, kContainer };

// Node attributes of a process client in a container, pod or unit.
std::string client_attributes(const FlowEdgeLabels& l) {
  static const std::pair<CgroupIndex, const char*> kNames[] = {
      {kPod, "k8s.pod.name"},         {kNamespace, "k8s.namespace.name"},
      {kPodUid, "k8s.pod.uid"},       {kContainer, "k8s.container.name"},
      {kContainerId, "container.id"}, {kUnit, "systemd.unit"}};
  std::string out;
  for (const auto& [index, name] : kNames) {
    const std::string value = cgroup_label(l, index);
    if (!value.empty()) out += "," + json_string(name) + ":" + json_string(value);
  }
  return out;
}

}  // namespace

// comm, with the pod (namespace/name, else uid), container or unit it runs in.
std::string topology_client_id(const FlowEdgeLabels& labels) {
  std::string where = cgroup_label(labels, kPod);
  if (!where.empty() && !cgroup_label(labels, kNamespace).empty()) {
    where = cgroup_label(labels, kNamespace) + "/" + where;
  }
  for (CgroupIndex next : {kPodUid, kContainerId, kUnit}) {
    if (where.empty()) where = cgroup_label(labels, next);
  }
  return where.empty() ? labels.client : labels.client + " (" + where + ")";
}

std::string topology_server_id(const FlowEdgeLabels& labels) {
  if (labels.server_type != "address") return labels.server;
  return labels.server.find(':') == std::string::npos ? labels.server + ":" + labels.port
                                                      : "[" + labels.server + "]:" + labels.port;
}

std::string render_topology_json(const Topology& topology) {
  std::map<std::string, std::pair<std::string, std::string>> nodes;  // id -> type, attributes
  for (const TopologyEdge& e : topology.edges) {
    nodes.emplace(topology_client_id(e.labels),
                  std::pair{client_node_type(e.labels), client_attributes(e.labels)});
    nodes.emplace(topology_server_id(e.labels), std::pair{server_node_type(e.labels), ""});
  }
  std::string out =
      "{\"topology\":{\"window_seconds\":" + number(topology.window_seconds) + ",\"nodes\":[";
  bool first = true;
  for (const auto& [id, node] : nodes) {
    const auto& [type, attributes] = node;
    out += first ? "" : ",";
    first = false;
    out += "{\"id\":" + json_string(id) + ",\"type\":" + json_string(type) +
           ",\"attributes\":{\"netobs.node_kind\":" + json_string(type) + attributes + "}}";
  }
  out += "],\"edges\":[";
  first = true;
  for (const TopologyEdge& e : topology.edges) {
    const EdgeRates r = rates(e, topology.window_seconds);
    const auto& d = e.delta;
    out += first ? "" : ",";
    first = false;
    out += "{\"source\":" + json_string(topology_client_id(e.labels)) +
           ",\"target\":" + json_string(topology_server_id(e.labels)) +
           ",\"attributes\":{\"protocol\":" + json_string(e.labels.protocol) +
           ",\"transport\":" + json_string(e.labels.transport) +
           ",\"port\":" + json_string(e.labels.port) +
           ",\"requests_per_second\":" + number(r.requests_per_second) +
           ",\"avg_latency_ms\":" + number(r.avg_latency_ms) +
           ",\"error_rate\":" + number(r.error_rate) +
           ",\"connections_opened\":" + std::to_string(d.opened) +
           ",\"connections_failed\":" + std::to_string(d.failed) +
           ",\"connections_closed\":" + std::to_string(d.closed) +
           ",\"bytes_to_server\":" + std::to_string(d.bytes_to_server) +
           ",\"bytes_to_client\":" + std::to_string(d.bytes_to_client) +
           ",\"retransmits\":" + std::to_string(d.retransmits) +
           ",\"resets\":" + std::to_string(d.resets) +
           ",\"packets_to_server\":" + std::to_string(d.packets_to_server) +
           ",\"packets_to_client\":" + std::to_string(d.packets_to_client) + "}}";
  }
  out += "]}}\n";
  return out;
}

std::string render_topology_table(const Topology& topology) {
  std::ostringstream out;
  out << "service topology over the last " << number(topology.window_seconds) << " s\n";
  out << std::left << std::setw(24) << "SOURCE" << std::setw(28) << "TARGET" << std::setw(12)
      << "PROTOCOL" << std::right << std::setw(10) << "CONN/S" << std::setw(10) << "OPENED"
      << std::setw(8) << "FAILED" << std::setw(12) << "TX_BYTES" << std::setw(12) << "RX_BYTES"
      << std::setw(8) << "RETRANS" << std::setw(10) << "RTT_MS"
      << "\n";
  for (const TopologyEdge& e : topology.edges) {
    const EdgeRates r = rates(e, topology.window_seconds);
    out << std::left << std::setw(24) << topology_client_id(e.labels) << std::setw(28)
        << topology_server_id(e.labels) << std::setw(12) << e.labels.protocol << std::right
        << std::setw(10) << number(r.requests_per_second) << std::setw(10) << e.delta.opened
        << std::setw(8) << e.delta.failed << std::setw(12) << e.delta.bytes_to_server
        << std::setw(12) << e.delta.bytes_to_client << std::setw(8) << e.delta.retransmits
        << std::setw(10) << number(r.avg_latency_ms) << "\n";
  }
  if (topology.edges.empty()) out << "(no connections in the window)\n";
  return out.str();
}

std::string render_topology_dot(const Topology& topology) {
  std::ostringstream out;
  out << "digraph topology {\n  rankdir=LR;\n  node [shape=box];\n";
  std::set<std::string> declared;
  auto node = [&](const std::string& id, const std::string& type) {
    if (!declared.insert(id).second) return;
    out << "  " << json_string(id) << " [label=" << json_string(id + "\n(" + type + ")") << "];\n";
  };
  for (const TopologyEdge& e : topology.edges) {
    node(topology_client_id(e.labels), client_node_type(e.labels));
    node(topology_server_id(e.labels), server_node_type(e.labels));
  }
  for (const TopologyEdge& e : topology.edges) {
    const EdgeRates r = rates(e, topology.window_seconds);
    out << "  " << json_string(topology_client_id(e.labels)) << " -> "
        << json_string(topology_server_id(e.labels))
        << " [label=" << json_string(e.labels.protocol + " " + number(r.requests_per_second) + "/s")
        << "];\n";
  }
  out << "}\n";
  return out.str();
}

}  // namespace netobs
