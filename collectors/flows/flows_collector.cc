#include "collectors/flows/flows_collector.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "collectors/flows/flows_config.h"
#include "config/config.h"
#include "exporter/bpf/map_reader.h"
#include "exporter/bpf/preflight.h"
#include "exporter/errno_name.h"
#include "exporter/log.h"
#include "exporter/net/interface_selector.h"
#include "exporter/net/network_filter_maps.h"
#include "exporter/net/process_owners.h"
#include "exporter/net/sock_diag.h"
#include "exporter/attribution/cgroup_resolver.h"
#include "exporter/attribution/idle_keys.h"
#include "flows.skel.h"

namespace netobs {

struct FlowsCollector::Loaded {
  LoadedSkeleton<flows_bpf> skeleton;
  // The tries' entries, for matching seeded connections in user space.
  std::vector<std::pair<netobs_flows_lpm_key, uint32_t>> service_keys;
  std::vector<std::pair<netobs_flows_lpm_key, uint32_t>> include_keys, exclude_keys;
  // Edge slots idle for attribution.label_idle_time (reclaim_idle_edges).
  IdleKeys<uint32_t> idle_slots;
  // Slots of edges whose client cgroup is gone, since when (attribution: cgroup).
  std::unordered_map<uint32_t, IdleKeys<uint32_t>::Clock::time_point> gone_since;
  // The UDP programs on the cgroup2 root (collectors.flows.udp).
  std::vector<LinkPtr> udp_links;
};

struct FlowsCollector::SlotRead {
  netobs_flows_edge_key key;
  uint32_t slot;
  netobs_flows_edge_stats stats;  // summed over CPUs
};

namespace {

HookLadder ladder(const char* name, const char* btf, const char* raw, const char* tp,
                  const char* target, bool required) {
  return HookLadder{name,
                    {{AttachKind::kTpBtf, btf, target},
                     {AttachKind::kRawTp, raw, target},
                     {AttachKind::kTracepoint, tp, target}},
                    required};
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// What the kernel's LPM lookup answers, for the seeded connections: the
// value of the longest entry matching the first `bits` bits of addr||port.
uint32_t lpm_match(const std::vector<std::pair<netobs_flows_lpm_key, uint32_t>>& entries,
                   const Ip16& addr, uint16_t port, uint32_t bits) {
  uint8_t data[18];
  std::memcpy(data, addr.data(), 16);
  data[16] = static_cast<uint8_t>(port >> 8);
  data[17] = static_cast<uint8_t>(port & 0xff);
  uint32_t best_bits = 0, best = 0;
  bool found = false;
  for (const auto& [key, value] : entries) {
    if (key.prefixlen > bits || (found && key.prefixlen < best_bits)) continue;
    uint8_t key_data[18];
    std::memcpy(key_data, key.addr, 16);
    std::memcpy(key_data + 16, key.port, 2);
    bool match = true;
    for (uint32_t bit = 0; bit < key.prefixlen && match; ++bit) {
      const uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
      match = (data[bit / 8] & mask) == (key_data[bit / 8] & mask);
    }
    if (match) {
      found = true;
      best_bits = key.prefixlen;
      best = value;
    }
  }
  return best;
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

// The cookie the kernel gives a network namespace (bpf_get_netns_cookie),
// read from a socket opened inside it.
Result<uint64_t> netns_cookie(const std::string& netns_path) {
  UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) {
    return Status::error("opening network namespace " + netns_path +
                         " failed: " + errno_text(errno));
  }
  uint64_t cookie = 0;
  int error = 0;
  std::thread([&] {  // setns() changes this thread only
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      error = errno;
      return;
    }
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    socklen_t len = sizeof cookie;
    if (!fd.valid() || ::getsockopt(fd.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0) {
      error = errno;
    }
  })
      .join();
  if (error != 0) {
    return Status::error("reading the cookie of network namespace " + netns_path +
                         " failed: " + errno_text(error));
  }
  return cookie;
}

// The indexes of the interfaces `selector` picks in the network namespace
// at netns_path ("": this one).
Result<std::vector<uint32_t>> selected_ifindexes(const std::string& netns_path,
                                                 const InterfaceSelector& selector) {
  std::vector<uint32_t> out;
  int error = 0;
  auto scan = [&] {
    struct if_nameindex* list = ::if_nameindex();
    if (list == nullptr) {
      error = errno;
      return;
    }
    for (struct if_nameindex* i = list; i->if_index != 0; ++i) {
      if (selector.matches(i->if_name)) out.push_back(i->if_index);
    }
    ::if_freenameindex(list);
  };
  if (netns_path.empty()) {
    scan();
  } else {
    UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid()) return Status::error("opening " + netns_path + ": " + errno_text(errno));
    std::thread([&] {  // setns() changes this thread only
      if (::setns(ns.get(), CLONE_NEWNET) != 0) {
        error = errno;
        return;
      }
      scan();
    })
        .join();
  }
  if (error != 0) return Status::error("listing interfaces failed: " + errno_text(error));
  return out;
}

Ip16 record_addr(const TcpSocketRecord& r, bool remote) {
  const auto& a = remote ? r.remote_addr : r.local_addr;
  if (r.family == AF_INET) return ipv4_mapped(a.data());
  Ip16 out;
  std::memcpy(out.data(), a.data(), 16);
  return out;
}

}  // namespace

const std::vector<HookLadder>& FlowsCollector::ladders() {
  static const std::vector<HookLadder> kLadders = {
      ladder("inet_sock_set_state", "flows_set_state_btf", "flows_set_state_raw",
             "flows_set_state_tp", "sock/inet_sock_set_state", true),
      ladder("tcp_receive_reset", "flows_receive_reset_btf", "flows_receive_reset_raw",
             "flows_receive_reset_tp", "tcp/tcp_receive_reset", false),
      ladder("tcp_send_reset", "flows_send_reset_btf", "flows_send_reset_raw",
             "flows_send_reset_tp", "tcp/tcp_send_reset", false),
  };
  return kLadders;
}

FlowsCollector::FlowsCollector() : Collector(std::string(kName)) {}
FlowsCollector::~FlowsCollector() { stop(); }

Status FlowsCollector::start_impl(const CollectorContext& context) {
  const Config& config = context.config;
  const FlowsConfig& flows = config.collector<FlowsConfig>();
  Result<ServiceMap> services = ServiceMap::build(flows.services);
  if (!services) return Status::error("collectors.flows.services: " + services.status().message());
  Result<ProtocolTable> protocols = ProtocolTable::build(flows.protocols);
  if (!protocols) {
    return Status::error("collectors.flows.protocols: " + protocols.status().message());
  }
  services_.emplace(std::move(*services));
  protocols_.emplace(std::move(*protocols));
  max_edges_ = flows.max_edges;
  gone_after_seconds_ = config.attribution.gone_after_seconds;
  if (flows.attribution == "cgroup") {
    Result<std::shared_ptr<Attribution>> attribution =
        Attribution::shared(attribution_options(config));
    if (!attribution) return attribution.status();
    attribution_ = *attribution;
  }

  uint32_t netns = 0;
  uint64_t cookie = 0;
  if (!flows.network_namespace.empty()) {
    Result<uint32_t> inode = namespace_inode(flows.network_namespace);
    if (!inode) return inode.status();
    netns = *inode;
    if (flows.udp) {
      Result<uint64_t> c = netns_cookie(flows.network_namespace);
      if (!c) return c.status();
      cookie = *c;
    }
  }
  const InterfaceSelector interfaces = InterfaceSelector::from_network(config.network);
  std::vector<uint32_t> ifindexes;
  if (!interfaces.selects_all()) {
    Result<std::vector<uint32_t>> found = selected_ifindexes(flows.network_namespace, interfaces);
    if (!found) return Status::error("flows collector: " + found.status().message());
    ifindexes = std::move(*found);
  }
  const NetworkFilters& filters = config.network;
  auto loaded = std::make_unique<Loaded>();
  loaded->service_keys = services_->keys();
  for (auto [list, keys] : {std::pair{&filters.include_cidrs, &loaded->include_keys},
                            std::pair{&filters.exclude_cidrs, &loaded->exclude_keys}}) {
    for (const std::string& cidr : *list) {
      Result<IpPrefix> prefix = parse_ip_prefix(cidr);
      if (!prefix) return Status::error("network CIDR filter: " + prefix.status().message());
      keys->emplace_back(flows_lpm_key({*prefix, std::nullopt}), 1);
    }
  }
  LadderLoadOptions load_options;
  load_options.collector = name();
  auto skeleton = load_skeleton_with_ladders<flows_bpf>(
      ladders(), context.preflight, load_options, [&](flows_bpf& skel) -> Status {
        skel.rodata->target_netns = netns;
        skel.rodata->target_netns_cookie = cookie;
        skel.rodata->filter_interfaces = interfaces.selects_all() ? 0 : 1;
        bpf_map__set_max_entries(skel.maps.interfaces,
                                 static_cast<uint32_t>(std::max<size_t>(1, ifindexes.size())));
        bpf_program__set_autoload(skel.progs.flows_udp_egress, flows.udp);
        bpf_program__set_autoload(skel.progs.flows_udp_ingress, flows.udp);
        bpf_map__set_max_entries(skel.maps.udp_flows, flows.max_tracked_connections);
        skel.rodata->use_services = loaded->service_keys.empty() ? 0 : 1;
        configure_network_filter(skel, filters);
        skel.rodata->max_edges = flows.max_edges;
        skel.rodata->key_cgroup = flows.attribution == "cgroup" ? 1 : 0;
        skel.rodata->key_comm = flows.attribution == "none" ? 0 : 1;
        bpf_map__set_max_entries(skel.maps.edge_ids, flows.max_edges);
        bpf_map__set_max_entries(skel.maps.slot_owner, flows.max_edges);
        bpf_map__set_max_entries(skel.maps.free_slots, flows.max_edges);
        bpf_map__set_max_entries(skel.maps.edge_stats, flows.max_edges + 1);
        bpf_map__set_max_entries(skel.maps.socks, flows.max_tracked_connections);
        bpf_map__set_max_entries(skel.maps.seeded, flows.max_tracked_connections);
        bpf_map__set_max_entries(skel.maps.services, static_cast<uint32_t>(std::max<size_t>(
                                                         1, loaded->service_keys.size())));
        return Status::ok();
      });
  if (!skeleton) return skeleton.status();
  loaded->skeleton = std::move(*skeleton);
  loaded->idle_slots =
      IdleKeys<uint32_t>(std::chrono::duration_cast<IdleKeys<uint32_t>::Clock::duration>(
          std::chrono::duration<double>(config.attribution.label_idle_seconds)));
  loaded_ = std::move(loaded);
  if (Status status = fill_maps(config); !status) return status;
  for (uint32_t ifindex : ifindexes) {
    const uint8_t one = 1;
    bpf_map_update_elem(bpf_map__fd(loaded_->skeleton.skel->maps.interfaces), &ifindex, &one,
                        BPF_ANY);
  }
  if (flows.udp) {
    if (Status status = attach_udp(config); !status) return status;
  }
  FlowsSnapshot start;
  start.time = now_seconds();
  window_.emplace(flows.topology_window_seconds, std::move(start));
  if (Status status = seed_existing(config); !status) {
    // Not fatal: new connections are still counted.
    log_warn("flows collector: connections older than netobs are not attributed",
             {{"collector", name()}, {"err", status.message()}});
  }
  log_info("flows collector started",
           {{"collector", name()},
            {"attach", loaded_->skeleton.attachment.programs.front().attach},
            {"netns", flows.network_namespace.empty() ? "all" : flows.network_namespace},
            {"max_edges", std::to_string(flows.max_edges)},
            {"services", std::to_string(loaded_->service_keys.size())},
            {"seeded", std::to_string(seeded_)}});
  return Status::ok();
}

Status FlowsCollector::fill_maps(const Config& config) {
  flows_bpf& skel = *loaded_->skeleton.skel;
  const auto put = [](bpf_map* map, const void* key, const void* value, const char* what) {
    if (bpf_map_update_elem(bpf_map__fd(map), key, value, BPF_ANY) != 0) {
      return Status::error(std::string("filling BPF map ") + what +
                           " failed: " + errno_text(errno));
    }
    return Status::ok();
  };
  for (const auto& [key, id] : loaded_->service_keys) {
    if (Status s = put(skel.maps.services, &key, &id, "services"); !s) return s;
  }
  return fill_network_filter(skel, config.network);
}

// The UDP programs go on the cgroup2 root, so they see the datagrams of
// every local socket (each cgroup below runs its own programs too).
Status FlowsCollector::attach_udp(const Config& config) {
  std::string root = config.attribution.cgroup_root;
  if (root.empty()) {
    Result<std::string> mount = CgroupResolver::find_cgroup2_mount(config.exporter.procfs);
    if (!mount) return Status::error("flows collector (udp): " + mount.status().message());
    root = *mount;
  }
  UniqueFd cgroup(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroup.valid()) {
    return Status::error("flows collector (udp): opening the cgroup2 root " + root +
                         " failed: " + errno_text(errno) +
                         " (set collectors.flows.udp: false to count TCP only)");
  }
  flows_bpf& skel = *loaded_->skeleton.skel;
  for (bpf_program* prog : {skel.progs.flows_udp_egress, skel.progs.flows_udp_ingress}) {
    LinkPtr link(bpf_program__attach_cgroup(prog, cgroup.get()));
    if (!link) {
      return Status::error(std::string("flows collector (udp): attaching ") +
                           bpf_program__name(prog) + " to " + root +
                           " failed: " + errno_text(errno) +
                           " (set collectors.flows.udp: false to count TCP only)");
    }
    loaded_->udp_links.push_back(std::move(link));
  }
  return Status::ok();
}

// Connections that were established before the programs attached: one
// sock_diag dump tells their direction (a local port that has a listener
// is the server side) and the owner of the client side (/proc fd walk).
Status FlowsCollector::seed_existing(const Config& config) {
  const FlowsConfig& flows = config.collector<FlowsConfig>();
  Result<SockDiagSocket> diag = flows.network_namespace.empty()
                                    ? SockDiagSocket::open()
                                    : SockDiagSocket::open_in_namespace(flows.network_namespace);
  if (!diag) return diag.status();
  std::vector<TcpSocketRecord> listeners, established;
  Status dumped = diag->dump_all((1u << kTcpListen) | (1u << kTcpEstablished), 0,
                                 [&](const TcpSocketRecord& r) {
                                   (r.state == kTcpListen ? listeners : established).push_back(r);
                                 });
  if (!dumped) return dumped;
  std::unordered_set<uint16_t> listening_ports;
  for (const auto& r : listeners) listening_ports.insert(r.local_port);
  std::unordered_set<uint32_t> inodes;
  for (const auto& r : established) {
    if (r.inode != 0 && !listening_ports.contains(r.local_port)) inodes.insert(r.inode);
  }
  const SocketOwnerMap owners = find_socket_owners(config.exporter.procfs, inodes);
  flows_bpf& skel = *loaded_->skeleton.skel;
  const Loaded& l = *loaded_;
  for (const auto& r : established) {
    if (r.cookie == 0) continue;
    const bool passive = listening_ports.contains(r.local_port);
    const Ip16 remote = record_addr(r, true);
    const Ip16 local = record_addr(r, false);
    const uint16_t server_port = passive ? r.local_port : r.remote_port;
    // The kernel's filters (bpf/flows.bpf.c filters_pass): an exclude wins.
    const NetworkFilters& network = config.network;
    if (lpm_match(l.exclude_keys, remote, 0, 128)) continue;
    if (!l.include_keys.empty() && !lpm_match(l.include_keys, remote, 0, 128)) continue;
    const auto listed = [&](const std::vector<uint16_t>& list) {
      return std::find(list.begin(), list.end(), server_port) != list.end();
    };
    if (listed(network.exclude_ports)) continue;
    if (!network.include_ports.empty() && !listed(network.include_ports)) continue;
    netobs_flows_seed rec{};
    rec.passive = passive ? 1 : 0;
    netobs_flows_edge_key& key = rec.edge;
    const Ip16& server = passive ? local : remote;
    key.server_port = server_port;
    if (uint32_t service = lpm_match(l.service_keys, server, server_port, 144)) {
      key.server_kind = NETOBS_FLOWS_SERVER_SERVICE;
      key.server_service = service;
    } else {
      key.server_kind = NETOBS_FLOWS_SERVER_ADDRESS;
      std::memcpy(key.server_addr, server.data(), 16);
    }
    if (passive) {
      if (uint32_t service = lpm_match(l.service_keys, remote, 0, 128)) {
        key.client_kind = NETOBS_FLOWS_CLIENT_SERVICE;
        key.client_service = service;
      } else {
        key.client_kind = NETOBS_FLOWS_CLIENT_ADDRESS;
        std::memcpy(key.client_addr, remote.data(), 16);
      }
    } else {
      key.client_kind = NETOBS_FLOWS_CLIENT_PROCESS;
      auto owner = owners.find(r.inode);
      const std::string comm =
          owner == owners.end() || owner->second.empty() ? "unknown" : owner->second.front().comm;
      std::strncpy(key.comm, comm.c_str(), sizeof key.comm - 1);
    }
    // The kernel gives the edge its slot (or `other`) when the connection closes.
    if (bpf_map_update_elem(bpf_map__fd(skel.maps.seeded), &r.cookie, &rec, BPF_ANY) == 0) {
      ++seeded_;
    }
  }
  return Status::ok();
}

Result<FlowsSnapshot> FlowsCollector::snapshot() { return read_snapshot(nullptr); }

Result<FlowsSnapshot> FlowsCollector::read_snapshot(std::vector<SlotRead>* slots) {
  if (!loaded_) return Status::error("flows collector is not running");
  const flows_bpf& skel = *loaded_->skeleton.skel;
  FlowsSnapshot snap;
  snap.time = now_seconds();
  auto ids = read_entries<netobs_flows_edge_key, uint32_t>(MapRef::of(skel.maps.edge_ids));
  if (!ids) return ids.status();
  ids->emplace_back(netobs_flows_edge_key{}, NETOBS_FLOWS_OTHER_SLOT);
  const MapRef stats = MapRef::of(skel.maps.edge_stats);
  CgroupLabelsOf cgroup_labels;
  if (attribution_) {
    cgroup_labels = [this](uint64_t id) { return attribution_->labels(id); };
  }
  for (const auto& [key, slot] : *ids) {
    Result<std::vector<netobs_flows_edge_stats>> cpus =
        lookup_percpu<netobs_flows_edge_stats>(stats, &slot);
    if (!cpus) return cpus.status();
    ++snap.kernel_edges;
    netobs_flows_edge_stats& into =
        snap.edges[flow_edge_labels(key, *services_, *protocols_, cgroup_labels)];
    for (const auto& s : *cpus) add_edge_stats(into, s);
    if (slots != nullptr && slot != NETOBS_FLOWS_OTHER_SLOT) {
      SlotRead read{key, slot, {}};
      for (const auto& s : *cpus) add_edge_stats(read.stats, s);
      slots->push_back(read);
    }
  }
  Result<std::vector<uint64_t>> counters =
      sum_percpu_u64_array(MapRef::of(skel.maps.counters), NETOBS_FLOWS_COUNTER_COUNT);
  if (!counters) return counters.status();
  for (size_t i = 0; i < snap.counters.size() && i < counters->size(); ++i) {
    snap.counters[i] = (*counters)[i];
  }
  std::lock_guard<std::mutex> lock(window_mutex_);
  window_->add(snap);
  return snap;
}

Result<Topology> FlowsCollector::topology() {
  Result<FlowsSnapshot> snap = snapshot();
  if (!snap) return snap.status();
  std::lock_guard<std::mutex> lock(window_mutex_);
  return window_->topology();
}

Status FlowsCollector::collect_impl(std::vector<prometheus::MetricFamily>& out) {
  std::vector<SlotRead> slots;
  Result<FlowsSnapshot> snap = read_snapshot(&slots);
  if (!snap) return snap.status();
  append_flows_families(*snap, max_edges_, out);
  reclaim_idle_edges(slots);
  return Status::ok();
}

namespace {

uint64_t edge_activity(const netobs_flows_edge_stats& s) {
  return s.opened + s.failed + s.closed + s.bytes_to_server + s.bytes_to_client + s.retransmits +
         s.rtt_count + s.resets + s.packets_to_server + s.packets_to_client;
}

}  // namespace

// Edges whose counters did not move for attribution.label_idle_time, with no
// connection open (opened <= closed: sockets hold their slot number until
// they close), give their slot back: the edge_ids entry is deleted, the
// counters zeroed and the slot queued in free_slots, which the kernel uses
// once max_edges slots were given out. Their series disappear; what was folded
// into `other` stays counted. A connection of the edge that starts between
// the read and the delete is seen by a second read and keeps the slot.
// With attribution: cgroup, edges of a client cgroup removed for
// attribution.gone_after go the same way (open or not: a gone cgroup's
// sockets are gone with it).
void FlowsCollector::reclaim_idle_edges(const std::vector<SlotRead>& slots) {
  IdleKeys<uint32_t>& idle = loaded_->idle_slots;
  const auto now = IdleKeys<uint32_t>::Clock::now();
  std::unordered_map<uint32_t, const SlotRead*> by_slot;
  std::vector<uint32_t> reclaim;
  auto& gone_since = loaded_->gone_since;
  std::unordered_map<uint32_t, IdleKeys<uint32_t>::Clock::time_point> still_gone;
  for (const SlotRead& read : slots) {
    by_slot[read.slot] = &read;
    if (attribution_ && read.key.cgroup_id != 0 && !attribution_->exists(read.key.cgroup_id)) {
      auto since = gone_since.find(read.slot);
      const auto first = since == gone_since.end() ? now : since->second;
      if (std::chrono::duration<double>(now - first).count() >= gone_after_seconds_) {
        reclaim.push_back(read.slot);
      } else {
        still_gone[read.slot] = first;
      }
      continue;
    }
    if (read.stats.opened > read.stats.closed) continue;  // live: never idle
    if (idle.enabled()) idle.observe(read.slot, edge_activity(read.stats), now);
  }
  gone_since = std::move(still_gone);
  if (idle.enabled()) {
    for (uint32_t slot : idle.reclaim_idle(now)) reclaim.push_back(slot);
  }
  const flows_bpf& skel = *loaded_->skeleton.skel;
  const int ids_fd = bpf_map__fd(skel.maps.edge_ids);
  const MapRef stats = MapRef::of(skel.maps.edge_stats);
  for (uint32_t slot : reclaim) {
    if (!by_slot.contains(slot)) continue;
    const SlotRead& read = *by_slot.at(slot);
    if (bpf_map_delete_elem(ids_fd, &read.key) != 0) continue;
    Result<std::vector<netobs_flows_edge_stats>> cpus =
        lookup_percpu<netobs_flows_edge_stats>(stats, &slot);
    netobs_flows_edge_stats now_stats{};
    if (cpus) {
      for (const auto& s : *cpus) add_edge_stats(now_stats, s);
    }
    if (!cpus || edge_activity(now_stats) != edge_activity(read.stats)) {
      bpf_map_update_elem(ids_fd, &read.key, &slot, BPF_NOEXIST);  // in use again: keep it
      continue;
    }
    std::vector<netobs_flows_edge_stats> zeros(cpus->size());
    bpf_map_update_elem(bpf_map__fd(skel.maps.edge_stats), &slot, zeros.data(), BPF_ANY);
    bpf_map_update_elem(bpf_map__fd(skel.maps.free_slots), nullptr, &slot, BPF_ANY);  // push
  }
}

Result<std::string> FlowsCollector::json_endpoint_impl(std::string_view path) {
  if (path != kTopologyPath) return Collector::json_endpoint_impl(path);
  Result<Topology> topology = this->topology();
  if (!topology) return topology.status();
  return render_topology_json(*topology);
}

void FlowsCollector::stop_impl() {
  loaded_.reset();
  window_.reset();
}

BpfStatus FlowsCollector::bpf_status_impl() const {
  BpfStatus status;
  if (!loaded_) return status;
  status.programs = loaded_->skeleton.attachment.programs;
  const flows_bpf& skel = *loaded_->skeleton.skel;
  if (!loaded_->udp_links.empty()) {
    status.programs.push_back(
        {"udp_egress", "cgroup_skb", true, bpf_program__fd(skel.progs.flows_udp_egress)});
    status.programs.push_back(
        {"udp_ingress", "cgroup_skb", true, bpf_program__fd(skel.progs.flows_udp_ingress)});
  }
  for (auto [map_name, map] :
       {std::pair{"edge_ids", skel.maps.edge_ids}, std::pair{"socks", skel.maps.socks},
        std::pair{"seeded", skel.maps.seeded}, std::pair{"udp_flows", skel.maps.udp_flows}}) {
    status.maps.push_back({map_name, bpf_map__fd(map), bpf_map__max_entries(map), 0});
  }
  return status;
}

}  // namespace netobs
