#include "collectors/drops/drops_collector.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "collectors/drops/drops_config.h"
#include "config/config.h"
#include "drops.skel.h"
#include "exporter/bpf/map_reader.h"
#include "exporter/errno_name.h"
#include "exporter/bpf/preflight.h"
#include "exporter/log.h"

namespace netobs {

struct DropsCollector::Loaded {
  LoadedSkeleton<drops_bpf> skeleton;
};

namespace {

std::chrono::steady_clock::duration seconds_duration(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
}

Result<uint32_t> netns_inode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return Status::error("collectors.drops.network_namespace " + path + ": " + errno_message(err) +
                         "; give an existing namespace such as " +
                         "/run/netns/NAME or /proc/PID/ns/net");
  }
  return static_cast<uint32_t>(st.st_ino);
}

// Every key of the `keys` hash with its packets: the key's slot in the
// per-CPU array `counts`, summed over CPUs.
Status read_drops_maps(const drops_bpf& skel, std::vector<DropsEntry>& out) {
  auto keys = read_entries<netobs_drops_key, netobs_drops_slot>(MapRef::of(skel.maps.keys));
  if (!keys) return keys.status();
  const MapRef counts = MapRef::of(skel.maps.counts);
  for (const auto& [key, slot] : *keys) {
    Result<uint64_t> packets = sum_percpu_u64(counts, slot.slot);
    if (!packets) return packets.status();
    DropsEntry entry{.key = key, .packets = *packets};
    entry.ifname.assign(slot.ifname, strnlen(slot.ifname, sizeof slot.ifname));
    out.push_back(std::move(entry));
  }
  return Status::ok();
}

}  // namespace

const std::vector<HookLadder>& DropsCollector::ladders() {
  static const std::vector<HookLadder> kLadders = {
      {"kfree_skb",
       {{AttachKind::kTpBtf, "kfree_skb_btf", "skb/kfree_skb"},
        {AttachKind::kRawTp, "kfree_skb_raw", "skb/kfree_skb"},
        {AttachKind::kTracepoint, "kfree_skb_tp", "skb/kfree_skb"}},
       true}};
  return kLadders;
}

DropsCollector::DropsCollector(DropsCollectorOptions options)
    : Collector(std::string(kName)), options_(options) {}
DropsCollector::~DropsCollector() { stop(); }

Status DropsCollector::start_impl(const CollectorContext& context) {
  const DropsConfig& config = context.config.collector<DropsConfig>();
  Result<DropReasons> reasons = DropReasons::from_btf(context.preflight.btf_path);
  if (!reasons) return reasons.status();
  reasons_.emplace(std::move(*reasons));

  uint32_t netns = 0;
  if (!config.network_namespace.empty()) {
    Result<uint32_t> inode = netns_inode(config.network_namespace);
    if (!inode) return inode.status();
    netns = *inode;
  }
  attribution_.reset();
  cgroup_activity_.clear();
  const bool attribute = config.attribution == "cgroup";
  if (attribute) {
    Result<std::shared_ptr<Attribution>> attribution =
        Attribution::shared(attribution_options(context.config));
    if (!attribution) return attribution.status();
    attribution_ = *attribution;
    label_idle_ = seconds_duration(context.config.attribution.label_idle_seconds);
    gone_after_ = seconds_duration(context.config.attribution.gone_after_seconds);
  }
  LadderLoadOptions load_options;
  load_options.collector = name();
  load_options.force_kind = options_.force_kind;
  auto loaded = load_skeleton_with_ladders<drops_bpf>(
      ladders(), context.preflight, load_options, [&](drops_bpf& skel) -> Status {
        skel.rodata->target_netns = netns;
        skel.rodata->by_location = options_.by_location ? 1 : 0;
        skel.rodata->by_owner = options_.by_owner ? 1 : 0;
        skel.rodata->by_port = config.local_port_labels ? 1 : 0;
        skel.rodata->max_slots = config.max_entries;
        for (bpf_map* map : {skel.maps.keys, skel.maps.counts, skel.maps.slot_owner}) {
          bpf_map__set_max_entries(map, config.max_entries);
        }
        skel.rodata->attribute_cgroup = attribute ? 1 : 0;
        bpf_map__set_max_entries(skel.maps.cgroup_drops, attribute ? config.max_cgroups : 1);
        return Status::ok();
      });
  if (!loaded) return loaded.status();
  loaded_ = std::make_unique<Loaded>();
  loaded_->skeleton = std::move(*loaded);
  interfaces_ = InterfaceSelector::from_network(context.config.network);
  port_labels_.reset();
  if (config.local_port_labels) {
    port_labels_.emplace(
        config.max_local_ports,
        std::chrono::duration_cast<DropsPortLabels::Clock::duration>(
            std::chrono::duration<double>(context.config.attribution.label_idle_seconds)));
  }
  log_info("drops collector started",
           {{"collector", name()},
            {"attach", attach_kind()},
            {"netns", config.network_namespace.empty() ? "all" : config.network_namespace},
            {"interfaces", interfaces_.describe()},
            {"attribution", config.attribution},
            {"reasons", std::to_string(reasons_->all().size())}});
  return Status::ok();
}

std::string DropsCollector::attach_kind() const {
  if (!loaded_ || loaded_->skeleton.attachment.programs.empty()) return "";
  return loaded_->skeleton.attachment.programs.front().attach;
}

Result<DropsSnapshot> DropsCollector::snapshot() {
  if (!loaded_) return Status::error("drops collector is not running");
  const drops_bpf& skel = *loaded_->skeleton.skel;
  DropsSnapshot snap;
  if (Status status = read_drops_maps(skel, snap.entries); !status) return status;
  if (!interfaces_.selects_all()) {
    // The tracepoint has no per-device attach point: the filter applies here.
    // Drops with no device (socket layer) pass unless interfaces are listed.
    std::erase_if(snap.entries, [&](const DropsEntry& e) {
      return e.key.ifindex == 0 ? interfaces_.has_includes()
                                : !interfaces_.matches(drops_interface_name(e));
    });
  }
  Result<std::vector<uint64_t>> overflow =
      sum_percpu_u64_array(MapRef::of(skel.maps.overflow), NETOBS_DROPS_OVERFLOW_SLOTS);
  if (!overflow) return overflow.status();
  for (size_t slot = 0; slot < snap.overflow.size() && slot < overflow->size(); ++slot) {
    snap.overflow[slot] = (*overflow)[slot];
  }
  return snap;
}

Result<DropsByCgroup> DropsCollector::by_cgroup() {
  if (!loaded_ || !attribution_) return Status::error("drops attribution is not running");
  const drops_bpf& skel = *loaded_->skeleton.skel;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(cgroup_mutex_);
  DropsByCgroup result;
  std::vector<netobs_drops_cgroup_key> expired;
  Status read = for_each_percpu_entry<netobs_drops_cgroup_key, uint64_t>(
      MapRef::of(skel.maps.cgroup_drops),
      [&](const netobs_drops_cgroup_key& key, const std::vector<uint64_t>& per_cpu) {
        uint64_t packets = 0;
        for (uint64_t v : per_cpu) packets += v;
        auto [it, inserted] = cgroup_activity_.try_emplace(
            std::tuple{key.cgroup_id, key.reason, key.l3, key.l4}, CgroupActivity{packets, now});
        if (!inserted && it->second.packets != packets) it->second = {packets, now};
        const auto idle = now - it->second.last_change;
        if ((label_idle_.count() > 0 && idle > label_idle_) ||
            (idle > gone_after_ && !attribution_->exists(key.cgroup_id))) {
          expired.push_back(key);
          return;
        }
        result
            .packets[{attribution_->labels(key.cgroup_id).values(), key.reason, key.l3, key.l4}] +=
            packets;
      });
  if (!read) return read;
  for (const netobs_drops_cgroup_key& key : expired) {
    bpf_map_delete_elem(bpf_map__fd(skel.maps.cgroup_drops), &key);
    cgroup_activity_.erase(std::tuple{key.cgroup_id, key.reason, key.l3, key.l4});
  }
  Result<std::vector<uint64_t>> overflow =
      sum_percpu_u64_array(MapRef::of(skel.maps.cgroup_overflow), NETOBS_DROPS_OVERFLOW_SLOTS);
  if (!overflow) return overflow.status();
  for (size_t slot = 0; slot < result.overflow.size() && slot < overflow->size(); ++slot) {
    result.overflow[slot] = (*overflow)[slot];
  }
  return result;
}

Status DropsCollector::collect_impl(std::vector<prometheus::MetricFamily>& out) {
  Result<DropsSnapshot> snap = snapshot();
  if (!snap) return snap.status();
  append_drops_families(*snap, *reasons_, out, port_labels_ ? &*port_labels_ : nullptr);
  if (attribution_) {
    Result<DropsByCgroup> by = by_cgroup();
    if (!by) return by.status();
    append_drops_cgroup_families(*by, *reasons_, out);
  }
  return Status::ok();
}

void DropsCollector::stop_impl() {
  loaded_.reset();
  attribution_.reset();
}

BpfStatus DropsCollector::bpf_status_impl() const {
  BpfStatus status;
  if (!loaded_) return status;
  status.programs = loaded_->skeleton.attachment.programs;
  const drops_bpf& skel = *loaded_->skeleton.skel;
  status.maps.push_back(
      {"keys", bpf_map__fd(skel.maps.keys), bpf_map__max_entries(skel.maps.keys), 0});
  status.maps.push_back(
      {"overflow", bpf_map__fd(skel.maps.overflow), bpf_map__max_entries(skel.maps.overflow), 0});
  if (attribution_) {
    status.maps.push_back({"cgroup_drops", bpf_map__fd(skel.maps.cgroup_drops),
                           bpf_map__max_entries(skel.maps.cgroup_drops), 0});
  }
  return status;
}

}  // namespace netobs
