#include "collectors/tcp/tcp_collector.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <atomic>
#include <chrono>
#include <map>
#include <cerrno>
#include <cstring>

#include "collectors/tcp/tcp_config.h"
#include "config/config.h"
#include "exporter/attribution/idle_keys.h"
#include "exporter/bpf/map_reader.h"
#include "exporter/log.h"
#include "exporter/errno_name.h"
#include "tcp.skel.h"

namespace netobs {

struct TcpCollector::Loaded {
  LoadedSkeleton<tcp_bpf> skeleton;
  int cpus = 1;
  std::atomic<uint64_t> track_errors{0};
  std::atomic<bool> warned_diag{false};
  // Port groups idle for attribution.label_idle_time (local_port/remote_port
  // grouping; remote_cidr groups are fixed by the config).
  IdleKeys<uint32_t> idle_groups;
};

namespace {

std::chrono::steady_clock::duration seconds_duration(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
}

HookLadder ladder(const char* name, const char* btf, const char* raw, const char* tp,
                  const char* target, bool required) {
  return HookLadder{name,
                    {{AttachKind::kTpBtf, btf, target},
                     {AttachKind::kRawTp, raw, target},
                     {AttachKind::kTracepoint, tp, target}},
                    required};
}

}  // namespace

const std::vector<HookLadder>& TcpCollector::ladders() {
  static const std::vector<HookLadder> kLadders = {
      ladder("tcp_probe", "tcp_probe_btf", "tcp_probe_raw", "tcp_probe_tp", "tcp/tcp_probe", true),
      ladder("tcp_retransmit_skb", "tcp_retransmit_btf", "tcp_retransmit_raw", "tcp_retransmit_tp",
             "tcp/tcp_retransmit_skb", true),
      ladder("tcp_retransmit_synack", "tcp_retransmit_synack_btf", "tcp_retransmit_synack_raw",
             "tcp_retransmit_synack_tp", "tcp/tcp_retransmit_synack", false),
      ladder("inet_sock_set_state", "inet_sock_set_state_btf", "inet_sock_set_state_raw",
             "inet_sock_set_state_tp", "sock/inet_sock_set_state", true),
      ladder("tcp_send_reset", "tcp_send_reset_btf", "tcp_send_reset_raw", "tcp_send_reset_tp",
             "tcp/tcp_send_reset", false),
      ladder("tcp_receive_reset", "tcp_receive_reset_btf", "tcp_receive_reset_raw",
             "tcp_receive_reset_tp", "tcp/tcp_receive_reset", false),
  };
  return kLadders;
}

TcpCollector::TcpCollector() : Collector(std::string(kName)) {}
TcpCollector::~TcpCollector() { stop(); }

Status TcpCollector::start_impl(const CollectorContext& context) {
  const TcpConfig& config = context.config.collector<TcpConfig>();
  Result<TcpGrouping> grouping = parse_tcp_grouping(config);
  if (!grouping) return grouping.status();
  options_ = TcpMetricOptions{*grouping,          config.rtt,
                              config.retransmits, config.connection_tracking,
                              config.sample_rate, config.attribution == "cgroup"};
  attribution_.reset();
  cgroup_activity_.clear();
  rtt_cgroup_activity_.clear();
  if (options_.attribution) {
    Result<std::shared_ptr<Attribution>> attribution =
        Attribution::shared(attribution_options(context.config));
    if (!attribution) return attribution.status();
    attribution_ = *attribution;
    label_idle_ = seconds_duration(context.config.attribution.label_idle_seconds);
    gone_after_ = seconds_duration(context.config.attribution.gone_after_seconds);
  }

  uint32_t netns_inode = 0;
  if (!config.network_namespace.empty()) {
    Result<uint32_t> inode = namespace_inode(config.network_namespace);
    if (!inode) return inode.status();
    netns_inode = *inode;
  }
  if (config.connection_tracking) {
    Result<TcpStateCounter> states = TcpStateCounter::open(config.network_namespace);
    if (!states) return states.status();
    states_.emplace(std::move(*states));
  }

  // Hooks of switched-off features are neither loaded nor attached.
  std::vector<HookLadder> wanted;
  std::vector<std::string> unwanted_programs;
  for (const HookLadder& l : ladders()) {
    const bool on = l.name == "tcp_probe" ? config.rtt
                    : l.name == "tcp_retransmit_skb" || l.name == "tcp_retransmit_synack"
                        ? config.retransmits
                        : config.connection_tracking;
    if (on) {
      wanted.push_back(l);
    } else {
      for (const HookRung& rung : l.rungs) unwanted_programs.push_back(rung.program);
    }
  }
  if (wanted.empty()) {
    return Status::error(
        "collectors.tcp: rtt, retransmits and connection_tracking are all false; enable one or "
        "disable the collector");
  }

  const TcpGrouping& groups = options_.grouping;
  const bool grouped = groups.by != TcpGroupBy::kNone;
  const uint32_t group_entries = grouped ? groups.max_groups + 1 : 1;  // + `other`
  LadderLoadOptions load_options;
  load_options.collector = name();
  auto loaded = load_skeleton_with_ladders<tcp_bpf>(
      wanted, context.preflight, load_options, [&](tcp_bpf& skel) -> Status {
        skel.rodata->target_netns = netns_inode;
        skel.rodata->sample_rate = config.sample_rate;
        skel.rodata->group_by = bpf_group_by(groups.by);
        bpf_map__set_max_entries(skel.maps.rtt_by_group, group_entries);
        bpf_map__set_max_entries(skel.maps.retrans_by_group,
                                 group_entries * NETOBS_TCP_RETRANS_KIND_COUNT);
        bpf_map__set_max_entries(skel.maps.conn_start, config.max_tracked_connections);
        skel.rodata->attribute_cgroup = options_.attribution;
        bpf_map__set_max_entries(skel.maps.cgroup_counts,
                                 options_.attribution ? config.max_cgroups + 1 : 1);
        bpf_map__set_max_entries(skel.maps.rtt_by_cgroup,
                                 options_.attribution && config.rtt ? config.max_cgroups + 1 : 1);
        for (const std::string& program : unwanted_programs) {
          bpf_program* prog = bpf_object__find_program_by_name(skel.obj, program.c_str());
          if (prog != nullptr) bpf_program__set_autoload(prog, false);
        }
        return Status::ok();
      });
  if (!loaded) return loaded.status();
  loaded_ = std::make_unique<Loaded>();
  loaded_->skeleton = std::move(*loaded);
  if (groups.by == TcpGroupBy::kLocalPort || groups.by == TcpGroupBy::kRemotePort) {
    loaded_->idle_groups =
        IdleKeys<uint32_t>(std::chrono::duration_cast<IdleKeys<uint32_t>::Clock::duration>(
            std::chrono::duration<double>(context.config.attribution.label_idle_seconds)));
  }
  Result<size_t> cpus = possible_cpus();
  if (!cpus) return cpus.status();
  loaded_->cpus = static_cast<int>(*cpus);

  tcp_bpf& skel = *loaded_->skeleton.skel;
  for (const TcpCidrEntry& cidr : groups.cidrs) {
    if (bpf_map_update_elem(bpf_map__fd(skel.maps.cidr_groups), &cidr.key, &cidr.group, BPF_ANY) !=
        0) {
      return Status::error(std::string("filling BPF map cidr_groups failed: ") + errno_text(errno));
    }
  }
  if (grouped) {
    // The `other` entries exist from the start, so folding never fails and
    // the series are exported from the first scrape.
    const uint32_t other = NETOBS_TCP_GROUP_OTHER;
    std::vector<netobs_tcp_hist> zero_hists(static_cast<size_t>(loaded_->cpus));
    std::vector<uint64_t> zeros(static_cast<size_t>(loaded_->cpus));
    if (bpf_map_update_elem(bpf_map__fd(skel.maps.rtt_by_group), &other, zero_hists.data(),
                            BPF_ANY) != 0) {
      return Status::error(std::string("initializing BPF map rtt_by_group failed: ") +
                           errno_text(errno));
    }
    for (uint32_t kind = 0; kind < NETOBS_TCP_RETRANS_KIND_COUNT; ++kind) {
      netobs_tcp_retrans_key key{other, kind};
      if (bpf_map_update_elem(bpf_map__fd(skel.maps.retrans_by_group), &key, zeros.data(),
                              BPF_ANY) != 0) {
        return Status::error(std::string("initializing BPF map retrans_by_group failed: ") +
                             errno_text(errno));
      }
    }
  }
  if (options_.attribution) {
    const uint64_t other = NETOBS_TCP_CGROUP_OTHER;
    std::vector<netobs_tcp_cgroup_counts> zero_counts(static_cast<size_t>(loaded_->cpus));
    if (bpf_map_update_elem(bpf_map__fd(skel.maps.cgroup_counts), &other, zero_counts.data(),
                            BPF_ANY) != 0) {
      return Status::error(std::string("initializing BPF map cgroup_counts failed: ") +
                           errno_text(errno));
    }
    std::vector<netobs_tcp_hist> zero_hists(static_cast<size_t>(loaded_->cpus));
    if (bpf_map_update_elem(bpf_map__fd(skel.maps.rtt_by_cgroup), &other, zero_hists.data(),
                            BPF_ANY) != 0) {
      return Status::error(std::string("initializing BPF map rtt_by_cgroup failed: ") +
                           errno_text(errno));
    }
  }
  log_info("tcp collector started",
           {{"collector", name()},
            {"netns", config.network_namespace.empty() ? "all" : config.network_namespace},
            {"sample_rate", std::to_string(config.sample_rate)},
            {"group_by", config.group_by},
            {"attribution", config.attribution},
            {"states", states_ ? std::string(states_->method()) : "off"}});
  return Status::ok();
}

Result<TcpSnapshot> TcpCollector::snapshot() {
  if (!loaded_) return Status::error("tcp collector is not running");
  tcp_bpf& skel = *loaded_->skeleton.skel;
  TcpSnapshot snap;

  Result<std::vector<uint64_t>> counters =
      sum_percpu_u64_array(MapRef::of(skel.maps.counters), NETOBS_TCP_COUNTER_COUNT);
  if (!counters) return counters.status();
  std::copy(counters->begin(), counters->end(), snap.counters.begin());
  loaded_->track_errors = snap.counters[NETOBS_TCP_TRACK_ERRORS];

  Result<std::vector<uint64_t>> retrans =
      sum_percpu_u64_array(MapRef::of(skel.maps.retrans), NETOBS_TCP_RETRANS_KIND_COUNT);
  if (!retrans) return retrans.status();
  std::copy(retrans->begin(), retrans->end(), snap.retrans.begin());

  const uint32_t zero = 0;
  auto rtt = lookup_percpu<netobs_tcp_hist>(MapRef::of(skel.maps.rtt), &zero);
  if (!rtt) return rtt.status();
  for (const netobs_tcp_hist& h : *rtt) snap.rtt.add(h);

  const MapRef hists = MapRef::of(skel.maps.conn_hists);
  for (uint32_t i = 0; i < NETOBS_TCP_CONN_HIST_COUNT; ++i) {
    auto values = lookup_percpu<netobs_tcp_hist>(hists, &i);
    if (!values) return values.status();
    for (const netobs_tcp_hist& h : *values) snap.conn_hists[i].add(h);
  }

  // One batch lookup for the whole errno array: 160 keys would be 160 syscalls.
  Result<std::vector<uint64_t>> connect_errors =
      sum_percpu_u64_array(MapRef::of(skel.maps.connect_errors), NETOBS_TCP_ERRNO_SLOTS);
  if (!connect_errors) return connect_errors.status();
  std::copy(connect_errors->begin(), connect_errors->end(), snap.connect_errors.begin());

  if (options_.grouping.by != TcpGroupBy::kNone) {
    Status read = for_each_percpu_entry<uint32_t, netobs_tcp_hist>(
        MapRef::of(skel.maps.rtt_by_group),
        [&](uint32_t group, const std::vector<netobs_tcp_hist>& values) {
          for (const netobs_tcp_hist& h : values) snap.rtt_by_group[group].add(h);
        });
    if (!read) return read;
    read = for_each_percpu_entry<netobs_tcp_retrans_key, uint64_t>(
        MapRef::of(skel.maps.retrans_by_group),
        [&](const netobs_tcp_retrans_key& key, const std::vector<uint64_t>& values) {
          if (key.kind >= NETOBS_TCP_RETRANS_KIND_COUNT) return;
          auto& kinds = snap.retrans_by_group[key.group];
          for (uint64_t v : values) kinds[key.kind] += v;
        });
    if (!read) return read;
  }

  if (attribution_) {
    Status read = read_cgroup_counts(snap);
    if (!read) return read;
  }

  if (states_) {
    Result<TcpStateCounts> states = states_->count();
    if (states) {
      snap.states = *states;
    } else if (!loaded_->warned_diag.exchange(true)) {
      log_warn("counting TCP sockets by state failed; netobs_tcp_connections omitted",
               {{"collector", name()}, {"err", states.message()}});
    }
  }
  return snap;
}

// Sums the per-CPU counters of each cgroup into its label set; deletes the
// entries of idle and gone cgroups (see CgroupActivity).
Status TcpCollector::read_cgroup_counts(TcpSnapshot& snap) {
  tcp_bpf& skel = *loaded_->skeleton.skel;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(cgroup_mutex_);
  std::vector<uint64_t> expired;
  Status read = for_each_percpu_entry<uint64_t, netobs_tcp_cgroup_counts>(
      MapRef::of(skel.maps.cgroup_counts),
      [&](uint64_t id, const std::vector<netobs_tcp_cgroup_counts>& per_cpu) {
        std::array<uint64_t, NETOBS_TCP_CG_COUNTER_COUNT> sum{};
        for (const netobs_tcp_cgroup_counts& counts : per_cpu) {
          for (size_t i = 0; i < sum.size(); ++i) sum[i] += counts.values[i];
        }
        std::vector<std::string> values;
        if (id == NETOBS_TCP_CGROUP_OTHER) {
          values.assign(CgroupLabels::names().size(), "other");
        } else {
          uint64_t total = 0;
          for (uint64_t v : sum) total += v;
          auto [it, inserted] = cgroup_activity_.try_emplace(id, CgroupActivity{total, now});
          if (!inserted && it->second.total != total) it->second = {total, now};
          const auto idle = now - it->second.last_change;
          if ((label_idle_.count() > 0 && idle > label_idle_) ||
              (idle > gone_after_ && !attribution_->exists(id))) {
            expired.push_back(id);
            return;
          }
          values = attribution_->labels(id).values();
        }
        auto& merged = snap.by_cgroup[values];
        for (size_t i = 0; i < sum.size(); ++i) merged[i] += sum[i];
      });
  if (!read) return read;
  for (uint64_t id : expired) {
    bpf_map_delete_elem(bpf_map__fd(skel.maps.cgroup_counts), &id);
    cgroup_activity_.erase(id);
  }
  if (!options_.rtt) return Status::ok();
  // RTT histograms: their own activity (a long-lived connection keeps its
  // histogram moving while its connection counters stand still).
  expired.clear();
  read = for_each_percpu_entry<uint64_t, netobs_tcp_hist>(
      MapRef::of(skel.maps.rtt_by_cgroup),
      [&](uint64_t id, const std::vector<netobs_tcp_hist>& per_cpu) {
        TcpHistogram sum;
        for (const netobs_tcp_hist& hist : per_cpu) sum.add(hist);
        std::vector<std::string> values;
        if (id == NETOBS_TCP_CGROUP_OTHER) {
          values.assign(CgroupLabels::names().size(), "other");
        } else {
          uint64_t samples = 0;
          for (uint64_t slot : sum.slots) samples += slot;
          auto [it, inserted] = rtt_cgroup_activity_.try_emplace(id, CgroupActivity{samples, now});
          if (!inserted && it->second.total != samples) it->second = {samples, now};
          const auto idle = now - it->second.last_change;
          if ((label_idle_.count() > 0 && idle > label_idle_) ||
              (idle > gone_after_ && !attribution_->exists(id))) {
            expired.push_back(id);
            return;
          }
          values = attribution_->labels(id).values();
        }
        TcpHistogram& merged = snap.rtt_by_cgroup[values];
        for (size_t i = 0; i < merged.slots.size(); ++i) merged.slots[i] += sum.slots[i];
        merged.sum += sum.sum;
      });
  if (!read) return read;
  for (uint64_t id : expired) {
    bpf_map_delete_elem(bpf_map__fd(skel.maps.rtt_by_cgroup), &id);
    rtt_cgroup_activity_.erase(id);
  }
  return Status::ok();
}

Status TcpCollector::collect_impl(std::vector<prometheus::MetricFamily>& out) {
  Result<TcpSnapshot> snap = snapshot();
  if (!snap) return snap.status();
  append_tcp_families(*snap, options_, out);
  reclaim_idle_groups(*snap);
  return Status::ok();
}

// Groups whose RTT samples and retransmissions did not move for
// attribution.label_idle_time are deleted from both maps, so the kernel
// inserts the next new group instead of folding it into `other` (the folded
// counts stay in netobs_series_dropped_total). Their series disappear from the
// next scrape. An event racing the delete is lost with the entry; the group
// had been idle for label_idle_time.
void TcpCollector::reclaim_idle_groups(const TcpSnapshot& snap) {
  IdleKeys<uint32_t>& idle = loaded_->idle_groups;
  if (!idle.enabled()) return;
  const auto now = IdleKeys<uint32_t>::Clock::now();
  std::map<uint32_t, uint64_t> activity;
  for (const auto& [group, hist] : snap.rtt_by_group) {
    for (uint64_t n : hist.slots) activity[group] += n;
  }
  for (const auto& [group, kinds] : snap.retrans_by_group) {
    for (uint64_t n : kinds) activity[group] += n;
  }
  for (const auto& [group, n] : activity) {
    if (group != NETOBS_TCP_GROUP_OTHER) idle.observe(group, n, now);
  }
  tcp_bpf& skel = *loaded_->skeleton.skel;
  for (uint32_t group : idle.reclaim_idle(now)) {
    bpf_map_delete_elem(bpf_map__fd(skel.maps.rtt_by_group), &group);
    for (uint32_t kind = 0; kind < NETOBS_TCP_RETRANS_KIND_COUNT; ++kind) {
      netobs_tcp_retrans_key key{group, kind};
      bpf_map_delete_elem(bpf_map__fd(skel.maps.retrans_by_group), &key);
    }
  }
}

void TcpCollector::stop_impl() {
  loaded_.reset();
  states_.reset();
}

BpfStatus TcpCollector::bpf_status_impl() const {
  BpfStatus status;
  if (!loaded_) return status;
  status.programs = loaded_->skeleton.attachment.programs;
  const tcp_bpf& skel = *loaded_->skeleton.skel;
  auto add = [&status](const char* name, const bpf_map* map, uint64_t update_errors = 0) {
    status.maps.push_back({name, bpf_map__fd(map), bpf_map__max_entries(map), update_errors});
  };
  add("counters", skel.maps.counters);
  add("retrans", skel.maps.retrans);
  add("rtt", skel.maps.rtt);
  add("conn_hists", skel.maps.conn_hists);
  add("connect_errors", skel.maps.connect_errors);
  add("conn_start", skel.maps.conn_start, loaded_->track_errors.load());
  if (options_.grouping.by != TcpGroupBy::kNone) {
    add("rtt_by_group", skel.maps.rtt_by_group);
    add("retrans_by_group", skel.maps.retrans_by_group);
  }
  if (options_.grouping.by == TcpGroupBy::kRemoteCidr) add("cidr_groups", skel.maps.cidr_groups);
  if (options_.attribution) add("cgroup_counts", skel.maps.cgroup_counts);
  if (states_) {
    for (const BpfProgramStatus& program : states_->program_status()) {
      status.programs.push_back(program);
    }
    for (const BpfMapStatus& map : states_->map_status()) status.maps.push_back(map);
  }
  return status;
}

}  // namespace netobs
