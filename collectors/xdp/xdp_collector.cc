#include "collectors/xdp/xdp_collector.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "bpf/xdp.h"
#include "collectors/xdp/interface_selector.h"
#include "collectors/xdp/link_watcher.h"
#include "collectors/xdp/sample_decoder.h"
#include "collectors/xdp/top_talkers.h"
#include "collectors/xdp/xdp_metrics.h"
#include "collectors/xdp/xdp_program.h"
#include "config/config.h"
#include "exporter/bpf/attach_ladder.h"
#include "exporter/log.h"

namespace netobs {
namespace {

// How often the interface list is re-read even without rtnetlink news.
constexpr double kResyncSeconds = 30;
// Keys tracked per interface for each exported top talker: Space-Saving's
// error shrinks as the table grows past K.
constexpr size_t kTalkerTableFactor = 8;
constexpr size_t kMinTalkerTable = 64;

struct RingBufferDeleter {
  void operator()(ring_buffer* rb) const { ring_buffer__free(rb); }
};

// One XDP mode to try: the link flag and the label it gets.
struct XdpMode {
  uint32_t flag;
  std::string_view name;
};

std::vector<XdpMode> modes_for(const std::string& mode) {
  if (mode == "native") return {{XDP_FLAGS_DRV_MODE, "native"}};
  if (mode == "generic") return {{XDP_FLAGS_SKB_MODE, "generic"}};
  return {{XDP_FLAGS_DRV_MODE, "native"}, {XDP_FLAGS_SKB_MODE, "generic"}};
}

// Name of the program with this id, "" when it cannot be read.
std::string program_name(uint32_t id) {
  UniqueFd fd(bpf_prog_get_fd_by_id(id));
  if (!fd.valid()) return "";
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return "";
  return info.name;
}

uint32_t program_id(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  return bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0 ? info.id : 0;
}

// The interfaces of this network namespace, by ifindex.
std::map<int, std::string> list_interfaces() {
  std::map<int, std::string> out;
  struct if_nameindex* list = if_nameindex();
  if (list == nullptr) return out;
  for (struct if_nameindex* i = list; i->if_index != 0 && i->if_name != nullptr; ++i) {
    out[static_cast<int>(i->if_index)] = i->if_name;
  }
  if_freenameindex(list);
  return out;
}

}  // namespace

struct XdpCollector::State {
  // What we did on one selected interface.
  struct Interface {
    std::string name;
    bool attached = false;
    std::string mode;    // native | generic, when attached
    std::string reason;  // why not attached (last logged)
    uint32_t slot = 0;   // in xdp_counters, while attached
    UniqueFd link;       // closing it detaches exactly our program
  };

  XdpConfig config;
  InterfaceSelector selector;
  std::vector<XdpMode> modes;
  XdpVariant variant = XdpVariant::kFrags;
  SkeletonPtr<xdp_bpf> skel;
  int prog_fd = -1;
  uint32_t prog_id = 0;
  int counters_fd = -1;
  int cpus = 1;
  uint32_t slots = 0;

  mutable std::mutex mu;  // interfaces, free_slots, ifindex_slot, retired_drops
  std::map<int, Interface> interfaces;
  std::vector<uint32_t> free_slots;  // of xdp_counters; slot 0 is never handed out
  uint64_t retired_drops = 0;  // sample drops of interfaces gone (keeps events_lost monotonic)

  std::mutex talkers_mu;
  std::unordered_map<uint32_t, TopTalkers> talkers;  // by ifindex
  std::atomic<uint64_t> decode_errors{0};
  std::atomic<bool> decode_error_logged{false};

  std::unique_ptr<ring_buffer, RingBufferDeleter> ring;
  std::thread ring_thread;
  std::atomic<bool> stopping{false};
  LinkWatcher watcher;

  // --- attach / detach (hold mu) ---

  void reconcile();
  void try_attach(int ifindex, Interface& iface);
  void release(int ifindex, Interface& iface, bool vanished);
  std::string foreign_program(int ifindex) const;
  std::vector<netobs_xdp_counters> read_counters(uint32_t slot) const;
  void zero_counters(uint32_t slot) const;
  // The .bss table the program maps ingress ifindex to slots with.
  __u16& ifindex_slot(int ifindex) const { return skel->bss->ifindex_slot[ifindex & 0xFFFF]; }

  // --- samples (ring-buffer thread) ---
  void on_sample(const void* data, size_t size);
};

std::string XdpCollector::State::foreign_program(int ifindex) const {
  LIBBPF_OPTS(bpf_xdp_query_opts, query);
  if (bpf_xdp_query(ifindex, 0, &query) != 0) return "";
  for (uint32_t id : {query.drv_prog_id, query.skb_prog_id, query.hw_prog_id, query.prog_id}) {
    if (id == 0 || id == prog_id) continue;
    const std::string name = program_name(id);
    std::string text = "XDP program id " + std::to_string(id);
    if (!name.empty()) text += " (\"" + name + "\")";
    if (name.rfind("xdp_observe", 0) == 0) {
      text += ", apparently left by an earlier netobs attached without a link";
    }
    return text;
  }
  return "";
}

void XdpCollector::State::try_attach(int ifindex, Interface& iface) {
  std::string reason;
  const std::string foreign = foreign_program(ifindex);
  if (!foreign.empty()) {
    reason = foreign;
  } else if (free_slots.empty()) {
    reason = "no counter slot left for interface " + iface.name + ": all " +
             std::to_string(slots - 1) +
             " are in use (sized at start from the interfaces selected then); restart netobs to "
             "size for more";
  } else if (ifindex_slot(ifindex) != 0) {
    reason = "interface " + iface.name + " (ifindex " + std::to_string(ifindex) +
             ") shares the low 16 bits of its ifindex with an attached interface; detach that "
             "one or exclude one of them";
  } else {
    std::string errors;
    // The slot is in place before the first packet can arrive.
    const uint32_t slot = free_slots.back();
    free_slots.pop_back();
    zero_counters(slot);
    __atomic_store_n(&ifindex_slot(ifindex), static_cast<__u16>(slot), __ATOMIC_RELEASE);
    for (const XdpMode& mode : modes) {
      LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = mode.flag);
      const int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
      if (fd >= 0) {
        iface.link.reset(fd);
        iface.attached = true;
        iface.mode = std::string(mode.name);
        iface.reason.clear();
        iface.slot = slot;
        if (config.top_talkers > 0) {
          // Samples count only for attached interfaces: records still in the
          // ring after a detach find no table and are dropped.
          const size_t capacity =
              std::max<size_t>(kMinTalkerTable, kTalkerTableFactor * config.top_talkers);
          std::lock_guard<std::mutex> lock(talkers_mu);
          talkers.insert_or_assign(static_cast<uint32_t>(ifindex), TopTalkers(capacity));
        }
        log_info("attached XDP program", {{"collector", "xdp"},
                                          {"interface", iface.name},
                                          {"ifindex", std::to_string(ifindex)},
                                          {"mode", iface.mode}});
        return;
      }
      const int err = errno;
      if (err == EBUSY || err == EEXIST) {
        // Someone attached a program between our query and our attach.
        reason = foreign_program(ifindex);
        if (reason.empty()) reason = "another XDP program (" + errno_message(err) + ")";
        break;
      }
      errors += (errors.empty() ? "" : "; ") + std::string(mode.name) + ": " + errno_message(err);
      if (err == EINVAL && mode.flag == modes.back().flag) {
        errors += " (XDP through bpf_link needs Linux 5.9+)";
      }
    }
    __atomic_store_n(&ifindex_slot(ifindex), __u16{0}, __ATOMIC_RELEASE);
    free_slots.push_back(slot);
    if (reason.empty()) {
      reason = "attaching XDP to interface " + iface.name + " failed: " + errors;
    }
  }
  if (reason.rfind("XDP program id", 0) == 0 || reason.rfind("another XDP", 0) == 0) {
    reason = "interface " + iface.name + " already has " + reason +
             "; netobs never replaces another XDP program: remove it (ip link set dev " +
             iface.name + " xdp off) or add " + iface.name + " to network.exclude_interfaces";
  }
  if (reason != iface.reason) {
    log_warn("XDP not attached",
             {{"collector", "xdp"}, {"interface", iface.name}, {"err", reason}});
    iface.reason = reason;
  }
}

std::vector<netobs_xdp_counters> XdpCollector::State::read_counters(uint32_t slot) const {
  std::vector<netobs_xdp_counters> per_cpu(static_cast<size_t>(cpus));
  if (bpf_map_lookup_elem(counters_fd, &slot, per_cpu.data()) != 0) per_cpu.clear();
  return per_cpu;
}

void XdpCollector::State::zero_counters(uint32_t slot) const {
  std::vector<netobs_xdp_counters> zeros(static_cast<size_t>(cpus));
  bpf_map_update_elem(counters_fd, &slot, zeros.data(), BPF_ANY);
}

void XdpCollector::State::release(int ifindex, Interface& iface, bool vanished) {
  if (iface.attached) {
    iface.link.reset();  // detaches our program, and only ours
    __atomic_store_n(&ifindex_slot(ifindex), __u16{0}, __ATOMIC_RELEASE);
    retired_drops += sum_xdp_counters(read_counters(iface.slot)).sample_drops;
    free_slots.push_back(iface.slot);
    iface.slot = 0;
    log_info(vanished ? "interface removed" : "detached XDP program",
             {{"collector", "xdp"}, {"interface", iface.name}});
  }
  iface.attached = false;
  std::lock_guard<std::mutex> lock(talkers_mu);
  talkers.erase(static_cast<uint32_t>(ifindex));
}

void XdpCollector::State::reconcile() {
  std::lock_guard<std::mutex> lock(mu);
  if (stopping) return;
  const std::map<int, std::string> current = list_interfaces();
  for (auto it = interfaces.begin(); it != interfaces.end();) {
    const auto found = current.find(it->first);
    const bool vanished = found == current.end();
    if (!vanished && selector.matches(found->second)) {
      it->second.name = found->second;  // renamed but still selected: keep it
      ++it;
      continue;
    }
    release(it->first, it->second, vanished);
    it = interfaces.erase(it);
  }
  for (const auto& [ifindex, name] : current) {
    if (!selector.matches(name)) continue;
    auto [it, inserted] = interfaces.try_emplace(ifindex);
    if (inserted) it->second.name = name;
    if (!it->second.attached) try_attach(ifindex, it->second);
  }
}

void XdpCollector::State::on_sample(const void* data, size_t size) {
  if (config.top_talkers == 0) return;  // samples only feed the top talkers
  Result<DecodedSample> sample = decode_xdp_sample(data, size);
  if (!sample) {
    decode_errors.fetch_add(1, std::memory_order_relaxed);
    if (!decode_error_logged.exchange(true)) {
      log_warn("undecodable xdp sample (logged once)",
               {{"collector", "xdp"}, {"err", sample.message()}});
    }
    return;
  }
  TalkerKey key = std::move(sample->talker);
  key.port = service_port(sample->sport, sample->dport, config.filter_ports);
  std::lock_guard<std::mutex> lock(talkers_mu);
  auto it = talkers.find(sample->ifindex);
  if (it != talkers.end()) it->second.add(key, sample->pkt_len);
}

XdpCollector::XdpCollector() : Collector(std::string(kName)) {}
XdpCollector::~XdpCollector() { stop(); }

Status XdpCollector::start_impl(const CollectorContext& context) {
  auto state = std::make_unique<State>();
  state->config = context.config.xdp;
  state->selector = InterfaceSelector::from_config(context.config);
  state->modes = modes_for(state->config.mode);
  state->cpus = libbpf_num_possible_cpus();
  if (state->cpus <= 0) return Status::error("cannot count the possible CPUs");

  XdpProgramOptions options;
  options.sample_rate = state->config.sample_rate;
  options.ports = state->config.filter_ports;
  options.protocols = state->config.filter_protocols;
  size_t selected = 0;
  for (const auto& [ifindex, name] : list_interfaces()) selected += state->selector.matches(name);
  options.slots = xdp_slots_for(selected);
  Status last = Status::ok();
  for (XdpVariant variant : {XdpVariant::kFrags, XdpVariant::kLinear}) {
    options.variant = variant;
    Result<SkeletonPtr<xdp_bpf>> skel = load_xdp_program(options);
    if (skel) {
      state->skel = std::move(*skel);
      state->variant = variant;
      break;
    }
    last = skel.status();
    log_warn("XDP program variant failed to load",
             {{"collector", "xdp"},
              {"prog", std::string(xdp_variant_program(variant))},
              {"err", last.message()}});
  }
  if (!state->skel) return last;
  state->prog_fd = bpf_program__fd(xdp_observer(*state->skel, state->variant));
  state->prog_id = program_id(state->prog_fd);
  state->counters_fd = bpf_map__fd(state->skel->maps.xdp_counters);
  state->slots = options.slots;
  for (uint32_t slot = options.slots - 1; slot >= 1; --slot) state->free_slots.push_back(slot);

  State* raw = state.get();
  state->ring.reset(ring_buffer__new(
      bpf_map__fd(state->skel->maps.xdp_samples),
      [](void* ctx, void* data, size_t size) {
        static_cast<State*>(ctx)->on_sample(data, size);
        return 0;
      },
      raw, nullptr));
  if (!state->ring) {
    return Status::error("opening the xdp sample ring buffer failed: " + errno_message(errno));
  }
  state_ = std::move(state);
  state_->ring_thread = std::thread([raw] {
    while (!raw->stopping.load()) {
      const int n = ring_buffer__poll(raw->ring.get(), 200);
      if (n < 0 && n != -EINTR) {
        log_error("xdp ring buffer poll failed",
                  {{"collector", "xdp"}, {"err", errno_message(-n)}});
        return;
      }
    }
  });

  raw->reconcile();
  Status watching = raw->watcher.start([raw] { raw->reconcile(); }, kResyncSeconds);
  if (!watching) return watching;
  size_t attached = 0;
  {
    std::lock_guard<std::mutex> lock(raw->mu);
    for (const auto& [ifindex, iface] : raw->interfaces) attached += iface.attached ? 1 : 0;
    log_info("xdp collector started", {{"collector", "xdp"},
                                       {"prog", std::string(xdp_variant_program(raw->variant))},
                                       {"interfaces", raw->selector.describe()},
                                       {"attached", std::to_string(attached)},
                                       {"selected", std::to_string(raw->interfaces.size())},
                                       {"sample_rate", std::to_string(raw->config.sample_rate)}});
  }
  return Status::ok();
}

Status XdpCollector::collect_impl(std::vector<prometheus::MetricFamily>& out) {
  State& s = *state_;
  XdpSnapshot snapshot;
  snapshot.ports = s.config.filter_ports;
  snapshot.sample_rate = s.config.sample_rate;
  snapshot.decode_errors = s.decode_errors.load();
  std::vector<std::pair<int, size_t>> positions;  // ifindex -> index in snapshot
  {
    std::lock_guard<std::mutex> lock(s.mu);
    for (const auto& [ifindex, iface] : s.interfaces) {
      if (!iface.attached) continue;
      XdpInterfaceSnapshot entry;
      entry.name = iface.name;
      entry.counters = sum_xdp_counters(s.read_counters(iface.slot));
      positions.emplace_back(ifindex, snapshot.interfaces.size());
      snapshot.interfaces.push_back(std::move(entry));
    }
  }
  if (s.config.top_talkers > 0) {
    std::lock_guard<std::mutex> lock(s.talkers_mu);
    for (const auto& [ifindex, index] : positions) {
      auto it = s.talkers.find(static_cast<uint32_t>(ifindex));
      if (it != s.talkers.end()) {
        snapshot.interfaces[index].talkers = it->second.top(s.config.top_talkers);
      }
    }
  }
  append_xdp_metrics(snapshot, out);
  return Status::ok();
}

void XdpCollector::stop_impl() {
  if (!state_) return;
  State& s = *state_;
  s.stopping = true;
  s.watcher.stop();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    for (auto& [ifindex, iface] : s.interfaces) s.release(ifindex, iface, false);
    s.interfaces.clear();
  }
  if (s.ring_thread.joinable()) s.ring_thread.join();
  state_.reset();  // ring buffer, then the skeleton (programs and maps)
}

BpfStatus XdpCollector::bpf_status_impl() const {
  BpfStatus status;
  if (!state_) return status;
  const State& s = *state_;
  status.has_event_stream = true;
  uint64_t drops = 0;
  bool any_attached = false;
  std::vector<BpfProgramStatus> per_interface;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    drops = s.retired_drops;
    for (const auto& [ifindex, iface] : s.interfaces) {
      any_attached = any_attached || iface.attached;
      // One series per selected interface; no prog_fd, so run-time stats are
      // reported once, on the program's own entry.
      per_interface.push_back({std::string(xdp_variant_program(s.variant)) + "@" + iface.name,
                               iface.attached ? "xdp_" + iface.mode : "xdp", iface.attached, -1});
      if (iface.attached) drops += sum_xdp_counters(s.read_counters(iface.slot)).sample_drops;
    }
  }
  status.programs.push_back(
      {std::string(xdp_variant_program(s.variant)), "xdp", any_attached, s.prog_fd});
  status.programs.insert(status.programs.end(), per_interface.begin(), per_interface.end());
  status.events_lost = drops;

  // An array: every slot always "exists", so no fd (entries would only
  // repeat the capacity); interfaces beyond it are refused and logged.
  status.maps.push_back({"xdp_counters", -1, s.slots - 1, 0});
  return status;
}

}  // namespace netobs
