#include "collectors/drops/drops_collector.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "collectors/drops/drops_config.h"
#include "config/config.h"
#include "drops.skel.h"
#include "exporter/bpf/preflight.h"
#include "exporter/log.h"

namespace netobs {

struct DropsCollector::Loaded {
  LoadedSkeleton<drops_bpf> skeleton;
  int cpus = 1;
};

namespace {

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
// per-CPU array `counts`, summed over CPUs. A walk bounded by the map's
// capacity (a walk racing insertions may restart). The one place that reads
// these maps: a shared map reader in exporter/bpf/ replaces it.
Status read_drops_maps(int keys_fd, int counts_fd, uint32_t capacity, int cpus,
                       std::vector<DropsEntry>& out) {
  std::vector<uint64_t> per_cpu(static_cast<size_t>(cpus));
  netobs_drops_key key{};
  netobs_drops_key next{};
  const void* previous = nullptr;
  while (out.size() <= capacity && bpf_map_get_next_key(keys_fd, previous, &next) == 0) {
    key = next;
    previous = &key;
    netobs_drops_slot slot{};
    if (bpf_map_lookup_elem(keys_fd, &key, &slot) != 0) continue;  // keys are never deleted
    if (bpf_map_lookup_elem(counts_fd, &slot.slot, per_cpu.data()) != 0) {
      const int err = errno;
      return Status::error("reading BPF map counts failed: " + errno_message(err));
    }
    DropsEntry entry{.key = key};
    for (uint64_t v : per_cpu) entry.packets += v;
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
  LadderLoadOptions load_options;
  load_options.collector = name();
  load_options.force_kind = options_.force_kind;
  auto loaded = load_skeleton_with_ladders<drops_bpf>(
      ladders(), context.preflight, load_options, [&](drops_bpf& skel) -> Status {
        skel.rodata->target_netns = netns;
        skel.rodata->by_location = options_.by_location ? 1 : 0;
        skel.rodata->max_slots = config.max_entries;
        for (bpf_map* map : {skel.maps.keys, skel.maps.counts, skel.maps.slot_owner}) {
          bpf_map__set_max_entries(map, config.max_entries);
        }
        return Status::ok();
      });
  if (!loaded) return loaded.status();
  loaded_ = std::make_unique<Loaded>();
  loaded_->skeleton = std::move(*loaded);
  loaded_->cpus = libbpf_num_possible_cpus();
  if (loaded_->cpus <= 0) return Status::error("cannot count possible CPUs for per-CPU maps");
  log_info("drops collector started",
           {{"collector", name()},
            {"attach", attach_kind()},
            {"netns", config.network_namespace.empty() ? "all" : config.network_namespace},
            {"reasons", std::to_string(reasons_->all().size())}});
  return Status::ok();
}

std::string DropsCollector::attach_kind() const {
  if (!loaded_ || loaded_->skeleton.attachment.programs.empty()) return "";
  return loaded_->skeleton.attachment.programs.front().attach;
}

Result<DropsSnapshot> DropsCollector::snapshot() {
  if (!loaded_) return Status::error("drops collector is not running");
  drops_bpf& skel = *loaded_->skeleton.skel;
  DropsSnapshot snap;
  Status status =
      read_drops_maps(bpf_map__fd(skel.maps.keys), bpf_map__fd(skel.maps.counts),
                      bpf_map__max_entries(skel.maps.keys), loaded_->cpus, snap.entries);
  if (!status) return status;
  const int overflow_fd = bpf_map__fd(skel.maps.overflow);
  std::vector<uint64_t> per_cpu(static_cast<size_t>(loaded_->cpus));
  for (uint32_t slot = 0; slot < NETOBS_DROPS_OVERFLOW_SLOTS; ++slot) {
    if (bpf_map_lookup_elem(overflow_fd, &slot, per_cpu.data()) != 0) {
      const int err = errno;
      return Status::error("reading BPF map overflow failed: " + errno_message(err));
    }
    for (uint64_t v : per_cpu) snap.overflow[slot] += v;
  }
  return snap;
}

Status DropsCollector::collect_impl(std::vector<prometheus::MetricFamily>& out) {
  Result<DropsSnapshot> snap = snapshot();
  if (!snap) return snap.status();
  append_drops_families(*snap, *reasons_, out);
  return Status::ok();
}

void DropsCollector::stop_impl() { loaded_.reset(); }

BpfStatus DropsCollector::bpf_status_impl() const {
  BpfStatus status;
  if (!loaded_) return status;
  status.programs = loaded_->skeleton.attachment.programs;
  const drops_bpf& skel = *loaded_->skeleton.skel;
  status.maps.push_back(
      {"keys", bpf_map__fd(skel.maps.keys), bpf_map__max_entries(skel.maps.keys), 0});
  status.maps.push_back(
      {"overflow", bpf_map__fd(skel.maps.overflow), bpf_map__max_entries(skel.maps.overflow), 0});
  return status;
}

}  // namespace netobs
