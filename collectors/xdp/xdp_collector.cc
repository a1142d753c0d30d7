#include "collectors/xdp/xdp_collector.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "bpf/xdp.h"
#include "collectors/xdp/interface_selector.h"
#include "collectors/xdp/sample_decoder.h"
#include "collectors/xdp/tc_attach.h"
#include "collectors/xdp/top_talkers.h"
#include "collectors/xdp/xdp_metrics.h"
#include "collectors/xdp/xdp_program.h"
#include "collectors/xdp/xdp_config.h"
#include "config/config.h"
#include "exporter/bpf/attach_ladder.h"
#include "exporter/bpf/map_reader.h"
#include "exporter/log.h"
#include "exporter/net/link_watcher.h"
#include "exporter/net/tc_attachment.h"

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

// Debug and test override: attach tc through a clsact qdisc even where the
// kernel has tcx (the path of kernels before 6.6).
bool tc_legacy_forced() {
  const char* value = std::getenv("NETOBS_XDP_TC_CLSACT");
  return value != nullptr && std::string_view(value) == "1";
}

// One way of loading the object: which XDP variant and whether tc_observe.
struct LoadPlan {
  bool xdp;
  XdpVariant variant;
  bool tc;
};

std::vector<LoadPlan> load_plans(const std::string& mode) {
  const LoadPlan frags{true, XdpVariant::kFrags, false}, linear{true, XdpVariant::kLinear, false};
  const LoadPlan tc{false, XdpVariant::kFrags, true};
  if (mode == "native" || mode == "generic") return {frags, linear};
  if (mode == "tc") return {tc};
  // auto: both hooks; without what an old kernel cannot load.
  return {{true, XdpVariant::kFrags, true}, {true, XdpVariant::kLinear, true}, frags, linear, tc};
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

}  // namespace

struct XdpCollector::State {
  // What we did on one selected interface.
  struct Interface {
    std::string name;
    bool attached = false;
    XdpHook hook = XdpHook::kNative;  // when attached
    std::string attach;               // attach label: xdp_native xdp_generic tcx tc_clsact
    std::string reason;               // why not attached (last logged)
    uint32_t slot = 0;                // in xdp_counters, while attached
    UniqueFd link;                    // XDP: closing it detaches exactly our program
    TcAttachment tc;                  // tc: detaches exactly our program
  };

  XdpConfig config;
  InterfaceSelector selector;
  bool has_xdp = false;  // programs loaded
  bool has_tc = false;
  bool tc_legacy = false;
  XdpVariant variant = XdpVariant::kFrags;
  SkeletonPtr<xdp_bpf> skel;
  int prog_fd = -1;  // the XDP observer
  uint32_t prog_id = 0;
  int tc_prog_fd = -1;
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
  // One hook; "" on success, else why not. `foreign` is set when an XDP
  // program of someone else is in the way.
  std::string attach_hook(int ifindex, Interface& iface, XdpHook hook, std::string& foreign);
  // The program and attach labels of an interface's series.
  std::string program_label(const Interface& iface) const;
  std::string attach_label(const Interface& iface) const;
  void release(int ifindex, Interface& iface, bool vanished);
  std::string foreign_program(int ifindex) const;
  // Detaches an XDP observer left attached without a link (netlink) by a
  // netobs that was killed; "" when there was none, else what was removed.
  std::string remove_leftover(int ifindex) const;
  Result<netobs_xdp_counters> read_counters(uint32_t slot) const;
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
      text += ", an observer of a netobs that is still running or held by another process";
    }
    return text;
  }
  return "";
}

std::string XdpCollector::State::remove_leftover(int ifindex) const {
  LIBBPF_OPTS(bpf_xdp_query_opts, query);
  if (bpf_xdp_query(ifindex, 0, &query) != 0) return "";
  for (const auto& [id, mode] : {std::pair{query.drv_prog_id, XDP_FLAGS_DRV_MODE},
                                 std::pair{query.skb_prog_id, XDP_FLAGS_SKB_MODE}}) {
    if (id == 0 || id == prog_id) continue;
    // Ours by name, and no live process (a netobs, or a link's owner) holds it.
    const std::string name = program_name(id);
    if (name.rfind("xdp_observe", 0) != 0 || bpf_program_held_by_a_process(id) != false) continue;
    UniqueFd old_fd(bpf_prog_get_fd_by_id(id));
    if (!old_fd.valid()) continue;
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_fd.get());
    // XDP_FLAGS_REPLACE: only if that very program is still the one there.
    if (bpf_xdp_detach(ifindex, mode | XDP_FLAGS_REPLACE, &opts) == 0) {
      return "XDP program id " + std::to_string(id) + " (\"" + name + "\")";
    }
  }
  return "";
}

std::string XdpCollector::State::attach_hook(int ifindex, Interface& iface, XdpHook hook,
                                             std::string& foreign) {
  if (hook == XdpHook::kTc) {
    if (!has_tc) return "tc: tc_observe is not loaded";
    Result<TcAttachment> tc = TcAttachment::attach(tc_prog_fd, ifindex, !tc_legacy,
                                                   TcDirection::kIngress, kXdpTcObserveSlot);
    if (!tc) return "tc: " + tc.message();
    iface.tc = std::move(*tc);
    iface.attach = std::string(iface.tc.kind());
    return "";
  }
  const std::string_view name = xdp_hook_name(hook);
  if (!has_xdp) return std::string(name) + ": no XDP program is loaded";
  // Never replace: an XDP program of someone else is in the way of both
  // XDP modes (one program per device). A leftover of a killed netobs is
  // not someone else's.
  if (const std::string removed = remove_leftover(ifindex); !removed.empty()) {
    log_info("removed a leftover XDP program of a netobs that was killed",
             {{"collector", "xdp"}, {"ifindex", std::to_string(ifindex)}, {"program", removed}});
  }
  foreign = foreign_program(ifindex);
  if (!foreign.empty()) return std::string(name) + ": " + foreign;
  LIBBPF_OPTS(bpf_link_create_opts, opts,
              .flags = hook == XdpHook::kNative ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
  const int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
  if (fd >= 0) {
    iface.link.reset(fd);
    iface.attach = "xdp_" + std::string(name);
    return "";
  }
  const int err = errno;
  if (err == EBUSY || err == EEXIST) {
    // Someone attached a program between our query and our attach.
    foreign = foreign_program(ifindex);
    if (foreign.empty()) foreign = "another XDP program (" + errno_message(err) + ")";
    return std::string(name) + ": " + foreign;
  }
  std::string text = std::string(name) + ": " + errno_message(err);
  if (err == EINVAL) text += " (XDP through bpf_link needs Linux 5.9+)";
  return text;
}

void XdpCollector::State::try_attach(int ifindex, Interface& iface) {
  std::string reason;
  if (free_slots.empty()) {
    reason = "no counter slot left for interface " + iface.name + ": all " +
             std::to_string(slots - 1) +
             " are in use (sized at start from the interfaces selected then); restart netobs to "
             "size for more";
  } else if (ifindex_slot(ifindex) != 0) {
    reason = "interface " + iface.name + " (ifindex " + std::to_string(ifindex) +
             ") shares the low 16 bits of its ifindex with an attached interface; detach that "
             "one or exclude one of them";
  } else {
    const std::optional<DriverInfo> driver = read_driver_info(iface.name);
    const std::vector<XdpHook> hooks = hooks_for_mode(config.mode, driver);
    std::string errors, foreign;
    // The slot is in place before the first packet can arrive.
    const uint32_t slot = free_slots.back();
    free_slots.pop_back();
    zero_counters(slot);
    __atomic_store_n(&ifindex_slot(ifindex), static_cast<__u16>(slot), __ATOMIC_RELEASE);
    for (XdpHook hook : hooks) {
      std::string error = attach_hook(ifindex, iface, hook, foreign);
      if (error.empty()) {
        iface.attached = true;
        iface.hook = hook;
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
        log_info(hook == XdpHook::kTc ? "attached tc program" : "attached XDP program",
                 {{"collector", "xdp"},
                  {"interface", iface.name},
                  {"ifindex", std::to_string(ifindex)},
                  {"attach", iface.attach},
                  {"driver", driver ? driver->driver : "unknown"},
                  {"skipped", errors.empty() ? "-" : errors},
                  {"replaced_leftover", iface.tc.replaced_leftover() ? "yes" : "no"}});
        return;
      }
      errors += (errors.empty() ? "" : "; ") + error;
    }
    __atomic_store_n(&ifindex_slot(ifindex), __u16{0}, __ATOMIC_RELEASE);
    free_slots.push_back(slot);
    if (!foreign.empty() && hooks.size() == 1) {
      reason = "interface " + iface.name + " already has " + foreign +
               "; netobs never replaces another XDP program: remove it (ip link set dev " +
               iface.name + " xdp off), use xdp.mode tc or auto (tc runs beside it), or add " +
               iface.name + " to network.exclude_interfaces";
    } else {
      reason = "attaching to interface " + iface.name + " (xdp.mode " + config.mode +
               ") failed: " + errors;
    }
  }
  if (reason != iface.reason) {
    log_warn("xdp collector not attached",
             {{"collector", "xdp"}, {"interface", iface.name}, {"err", reason}});
    iface.reason = reason;
  }
}

std::string XdpCollector::State::program_label(const Interface& iface) const {
  const bool tc = iface.attached ? iface.hook == XdpHook::kTc : !has_xdp;
  return (tc ? std::string("tc_observe") : std::string(xdp_variant_program(variant))) + "@" +
         iface.name;
}

std::string XdpCollector::State::attach_label(const Interface& iface) const {
  if (iface.attached) return iface.attach;
  return has_xdp ? "xdp" : "tc";
}

// One interface's counters, summed over CPUs.
Result<netobs_xdp_counters> XdpCollector::State::read_counters(uint32_t slot) const {
  Result<std::vector<netobs_xdp_counters>> per_cpu =
      lookup_percpu<netobs_xdp_counters>(MapRef{counters_fd, "xdp_counters"}, &slot);
  if (!per_cpu) return per_cpu.status();
  return sum_xdp_counters(*per_cpu);
}

void XdpCollector::State::zero_counters(uint32_t slot) const {
  std::vector<netobs_xdp_counters> zeros(static_cast<size_t>(cpus));
  bpf_map_update_elem(counters_fd, &slot, zeros.data(), BPF_ANY);
}

void XdpCollector::State::release(int ifindex, Interface& iface, bool vanished) {
  if (iface.attached) {
    iface.link.reset();  // detaches our program, and only ours
    iface.tc.detach();
    __atomic_store_n(&ifindex_slot(ifindex), __u16{0}, __ATOMIC_RELEASE);
    // A slot that cannot be read here loses its drops: nothing else holds them.
    if (Result<netobs_xdp_counters> last = read_counters(iface.slot)) {
      retired_drops += last->sample_drops;
    }
    free_slots.push_back(iface.slot);
    iface.slot = 0;
    log_info(vanished ? "interface removed" : "detached",
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
  // A GSO super-packet of S wire packets is sampled with probability S / N
  // (BPF): one record stands for one wire packet of the mean size.
  if (it != talkers.end()) it->second.add(key, sample->pkt_len / sample->segs);
}

XdpCollector::XdpCollector() : Collector(std::string(kName)) {}
XdpCollector::~XdpCollector() { stop(); }

Status XdpCollector::start_impl(const CollectorContext& context) {
  auto state = std::make_unique<State>();
  state->config = context.config.collector<XdpConfig>();
  state->selector = xdp_interface_selector(context.config);
  state->tc_legacy = tc_legacy_forced();
  Result<size_t> cpus = possible_cpus();
  if (!cpus) return cpus.status();
  state->cpus = static_cast<int>(*cpus);

  XdpProgramOptions options;
  options.sample_rate = state->config.sample_rate;
  options.ports = state->config.filter_ports;
  options.protocols = state->config.filter_protocols;
  size_t selected = 0;
  for (const auto& [ifindex, name] : list_interfaces()) selected += state->selector.matches(name);
  options.slots = xdp_slots_for(selected);
  Status last = Status::ok();
  for (const LoadPlan& plan : load_plans(state->config.mode)) {
    options.variant = plan.variant;
    options.xdp = plan.xdp;
    options.tc = plan.tc;
    Result<SkeletonPtr<xdp_bpf>> skel = load_xdp_program(options);
    if (skel) {
      state->skel = std::move(*skel);
      state->variant = plan.variant;
      state->has_xdp = plan.xdp;
      state->has_tc = plan.tc;
      break;
    }
    last = skel.status();
    log_warn("xdp collector programs failed to load",
             {{"collector", "xdp"}, {"err", last.message()}});
  }
  if (!state->skel) return last;
  if (state->has_xdp) {
    state->prog_fd = bpf_program__fd(xdp_observer(*state->skel, state->variant));
    state->prog_id = program_id(state->prog_fd);
  }
  if (state->has_tc) state->tc_prog_fd = bpf_program__fd(state->skel->progs.tc_observe);
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
      // The programs wake us only when the ring fills up (BPF_RB_NO_WAKEUP
      // otherwise): drain what arrived without a wakeup.
      ring_buffer__consume(raw->ring.get());
    }
  });

  raw->reconcile();
  Status watching = raw->watcher.start([raw] { raw->reconcile(); }, kResyncSeconds, "xdp");
  if (!watching) return watching;
  size_t attached = 0;
  {
    std::lock_guard<std::mutex> lock(raw->mu);
    for (const auto& [ifindex, iface] : raw->interfaces) attached += iface.attached ? 1 : 0;
    std::string progs = raw->has_xdp ? std::string(xdp_variant_program(raw->variant)) : "";
    if (raw->has_tc) progs += progs.empty() ? "tc_observe" : ",tc_observe";
    log_info("xdp collector started", {{"collector", "xdp"},
                                       {"mode", raw->config.mode},
                                       {"prog", progs},
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
      Result<netobs_xdp_counters> counters = s.read_counters(iface.slot);
      if (!counters) return counters.status();
      entry.counters = *counters;
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
  bool any_xdp = false, any_tc = false;
  std::vector<BpfProgramStatus> per_interface;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    drops = s.retired_drops;
    for (const auto& [ifindex, iface] : s.interfaces) {
      any_xdp = any_xdp || (iface.attached && iface.hook != XdpHook::kTc);
      any_tc = any_tc || (iface.attached && iface.hook == XdpHook::kTc);
      // One series per selected interface; no prog_fd, so run-time stats are
      // reported once, on the program's own entry.
      per_interface.push_back({s.program_label(iface), s.attach_label(iface), iface.attached, -1});
      // Self-metrics: an unreadable slot counts 0 here; the scrape fails on it.
      if (!iface.attached) continue;
      if (Result<netobs_xdp_counters> counters = s.read_counters(iface.slot)) {
        drops += counters->sample_drops;
      }
    }
  }
  if (s.has_xdp) {
    status.programs.push_back(
        {std::string(xdp_variant_program(s.variant)), "xdp", any_xdp, s.prog_fd});
  }
  if (s.has_tc) status.programs.push_back({"tc_observe", "tc", any_tc, s.tc_prog_fd});
  status.programs.insert(status.programs.end(), per_interface.begin(), per_interface.end());
  status.events_lost = drops;

  // An array: every slot always "exists", so no fd (entries would only
  // repeat the capacity); interfaces beyond it are refused and logged.
  status.maps.push_back({"xdp_counters", -1, s.slots - 1, 0});
  return status;
}

}  // namespace netobs
