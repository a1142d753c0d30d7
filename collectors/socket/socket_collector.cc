#include "collectors/socket/socket_collector.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <ctime>
#include <map>
#include <set>

#include "collectors/socket/socket_format.h"
#include "exporter/bpf/map_reader.h"
#include "exporter/events/ring_buffer_reader.h"
#include "exporter/log.h"
#include "exporter/attribution/attribution.h"
#include "exporter/net/network_filter_maps.h"
#include "socket.skel.h"

namespace netobs {

namespace {

constexpr char kSendTarget[] = "sock/sock_send_length";
constexpr char kRecvTarget[] = "sock/sock_recv_length";
constexpr const char* kSyscalls[] = {"sendto",   "sendmsg", "sendmmsg",
                                     "recvfrom", "recvmsg", "recvmmsg"};
constexpr const char* kFallbackFunctions[] = {"tcp_sendmsg", "tcp_recvmsg",   "udp_sendmsg",
                                              "udp_recvmsg", "udpv6_sendmsg", "udpv6_recvmsg"};

std::vector<HookLadder> syscall_ladders() {
  std::vector<HookLadder> ladders;
  // Classic tracepoints only (see bpf/socket.bpf.c): without tracefs the
  // collector still counts bytes/calls/errors, without flags and latency.
  for (const char* phase : {"enter", "exit"}) {
    for (const char* syscall : kSyscalls) {
      const std::string event = std::string("sys_") + phase + "_" + syscall;
      ladders.push_back({event,
                         {{AttachKind::kTracepoint, std::string("on_") + phase + "_" + syscall,
                           "syscalls/" + event}},
                         /*required=*/false});
    }
  }
  return ladders;
}

// Task local storage from tracing programs: Linux 5.12+.
bool task_storage_usable() {
  return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, nullptr) == 1 &&
         libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_task_storage_get, nullptr) ==
             1 &&
         libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_get_current_task_btf,
                                 nullptr) == 1;
}

// Sum over CPUs of a per-CPU u64 value.
uint64_t sum_u64(const std::vector<uint64_t>& values) {
  uint64_t total = 0;
  for (uint64_t v : values) total += v;
  return total;
}

void add_stats(socket_stats& into, const socket_stats& from) {
  for (int v = 0; v < SOCKET_IPVER_COUNT; ++v) {
    into.calls[v] += from.calls[v];
    into.bytes[v] += from.bytes[v];
  }
  into.size_sum += from.size_sum;
  into.eagain += from.eagain;
  for (int i = 0; i < SOCKET_SIZE_SLOTS; ++i) into.size_slots[i] += from.size_slots[i];
  for (int i = 0; i < SOCKET_LAT_SLOTS; ++i) into.lat_slots[i] += from.lat_slots[i];
  into.lat_sum_ns += from.lat_sum_ns;
  for (int i = 0; i < SOCKET_FLAG_COUNT; ++i) into.flags[i] += from.flags[i];
}

std::string comm_string(const char (&comm)[SOCKET_COMM_LEN]) {
  return std::string(comm, strnlen(comm, SOCKET_COMM_LEN));
}

// realtime - monotonic, in ns: converts bpf_ktime_get_ns() to Unix time.
int64_t monotonic_to_unix_ns() {
  timespec real{}, mono{};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  return (static_cast<int64_t>(real.tv_sec) - mono.tv_sec) * 1000000000LL +
         (static_cast<int64_t>(real.tv_nsec) - mono.tv_nsec);
}

// skel->bss is libbpf's local copy here: the ladder loads with
// bpf_object__load, which does not mmap global data into the skeleton. So
// the kernel's .bss is read, changed and written back through the map; BPF
// only reads it (filters_ready, slot_epoch), and only this collector writes.
Status update_bss(socket_bpf& skel,
                  const std::function<void(socket_bpf::socket_bpf__bss&)>& change) {
  const bpf_map* bss = skel.maps.bss;
  const size_t size = bpf_map__value_size(bss);
  if (size != sizeof(*skel.bss)) return Status::error("socket .bss map has an unexpected size");
  std::vector<char> value(size);
  const uint32_t zero = 0;
  if (Status read = lookup_value(MapRef::of(bss), &zero, value.data()); !read) return read;
  change(*reinterpret_cast<socket_bpf::socket_bpf__bss*>(value.data()));
  if (bpf_map__update_elem(bss, &zero, sizeof(zero), value.data(), size, 0) != 0) {
    return Status::error("updating the socket BPF globals failed: " + errno_message(errno));
  }
  return Status::ok();
}

// The comm_slots key of a LabelSlotTable key: the comm, or the cgroup id
// in decimal (attribution: cgroup).
socket_comm slot_key(const std::string& key, bool cgroup_mode) {
  socket_comm comm{};
  if (cgroup_mode) {
    uint64_t id = std::stoull(key);
    std::memcpy(comm.comm, &id, sizeof id);
  } else {
    std::memcpy(comm.comm, key.data(), std::min(key.size(), sizeof(comm.comm)));
  }
  return comm;
}

std::chrono::steady_clock::duration seconds_duration(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
}

}  // namespace

struct SocketCollector::Loaded {
  LoadedSkeleton<socket_bpf> skeleton;
  bool fallback = false;
  uint32_t stats_slots = 1;  // comm slots incl. "other"
  RingBufferReader reader;
};

const std::vector<HookLadder>& SocketCollector::tracepoint_ladders() {
  static const std::vector<HookLadder> kLadders = [] {
    std::vector<HookLadder> ladders = {
        {"sock_send_length",
         {{AttachKind::kTpBtf, "on_send_btf", kSendTarget},
          {AttachKind::kRawTp, "on_send_raw", kSendTarget},
          {AttachKind::kTracepoint, "on_send_tp", kSendTarget}}},
        {"sock_recv_length",
         {{AttachKind::kTpBtf, "on_recv_btf", kRecvTarget},
          {AttachKind::kRawTp, "on_recv_raw", kRecvTarget},
          {AttachKind::kTracepoint, "on_recv_tp", kRecvTarget}}},
    };
    for (auto& ladder : syscall_ladders()) ladders.push_back(std::move(ladder));
    return ladders;
  }();
  return kLadders;
}

const std::vector<HookLadder>& SocketCollector::fallback_ladders() {
  static const std::vector<HookLadder> kLadders = [] {
    std::vector<HookLadder> ladders;
    for (const char* fn : kFallbackFunctions) {
      // udpv6_* are missing when IPv6 is disabled or a module not loaded.
      const bool required = std::string_view(fn).substr(0, 5) != "udpv6";
      const std::string prefix = std::string("on_") + fn;
      ladders.push_back({std::string(fn) + "_entry",
                         {{AttachKind::kFentry, prefix + "_fentry", fn},
                          {AttachKind::kKprobe, prefix + "_kprobe", fn}},
                         required});
      ladders.push_back({std::string(fn) + "_exit",
                         {{AttachKind::kFexit, prefix + "_fexit", fn},
                          {AttachKind::kKretprobe, prefix + "_kretprobe", fn}},
                         required});
    }
    for (auto& ladder : syscall_ladders()) ladders.push_back(std::move(ladder));
    return ladders;
  }();
  return kLadders;
}

SocketCollector::SocketCollector() : SocketCollector(Options{}) {}
SocketCollector::SocketCollector(Options options)
    : Collector(std::string(kName)), options_(std::move(options)) {}
SocketCollector::~SocketCollector() { stop(); }

Status SocketCollector::start_impl(const CollectorContext& context) {
  const Config& config = context.config;
  config_ = config.collector<SocketConfig>();
  if (config_.attribution == "none") config_.per_process = false;
  cgroup_mode_ = config_.per_process && config_.attribution == "cgroup";
  if (cgroup_mode_) {
    Result<std::shared_ptr<Attribution>> attribution =
        Attribution::shared(attribution_options(config));
    if (!attribution) return attribution.status();
    attribution_ = *attribution;
  }
  if (config_.per_process) {
    slot_table_ = std::make_unique<LabelSlotTable>(
        config_.max_processes, seconds_duration(config.attribution.label_idle_seconds));
    gone_after_ = seconds_duration(config.attribution.gone_after_seconds);
  }
  events_enabled_ = options_.event_sink != nullptr || !config.events.output_dir.empty();
  const SyscallTracepoints syscalls = syscall_tracepoints(config, events_enabled_);
  syscall_tracepoints_ = syscalls.on;
  log_info("syscall tracepoints " + std::string(syscalls.on ? "on" : "off"),
           {{"collector", name()}, {"reason", syscalls.reason}});

  // Without the syscall tracepoints their ladders are left out (not loaded).
  auto chosen = [this](const std::vector<HookLadder>& all) {
    std::vector<HookLadder> ladders;
    for (const auto& ladder : all) {
      if (syscall_tracepoints_ || ladder.name.rfind("sys_", 0) != 0) ladders.push_back(ladder);
    }
    return ladders;
  };
  Status loaded;
  if (options_.hooks != Options::Hooks::kFallback) {
    loaded = load(context, chosen(tracepoint_ladders()), false);
    if (!loaded && options_.hooks == Options::Hooks::kAuto) {
      log_warn("sock_*_length tracepoints unusable; trying the tcp/udp function fallback",
               {{"collector", name()}, {"err", loaded.message()}});
    }
  }
  if (options_.hooks == Options::Hooks::kFallback ||
      (!loaded && options_.hooks == Options::Hooks::kAuto)) {
    Status fallback = load(context, chosen(fallback_ladders()), true);
    if (!fallback) {
      return options_.hooks == Options::Hooks::kFallback
                 ? fallback
                 : Status::error(loaded.message() + "; fallback: " + fallback.message());
    }
  } else if (!loaded) {
    return loaded;
  }
  Status filters = fill_filters(config);
  if (!filters) return filters;
  if (events_enabled_) {
    Status events = start_events(config);
    if (!events) return events;
  }
  if (config_.per_process) {
    std::vector<uint32_t> slots(config_.max_processes);
    for (uint32_t slot = 0; slot < config_.max_processes; ++slot) slots[slot] = slot;
    Status pushed = push_free_slots(slots);
    if (!pushed) return pushed;
  }
  // Nothing is counted until the filters are in place (see filters_ready).
  return update_bss(*loaded_->skeleton.skel,
                    [](socket_bpf::socket_bpf__bss& bss) { bss.filters_ready = true; });
}

Status SocketCollector::load(const CollectorContext& context,
                             const std::vector<HookLadder>& ladders, bool fallback) {
  const Config& config = context.config;
  const bool per_process = config_.per_process;
  const uint32_t max_processes = per_process ? config_.max_processes : 0;
  const bool by_cgroup = cgroup_mode_;
  const uint32_t slots = max_processes + 1;
  uint8_t protocol_mask = 0;
  for (const auto& p : config_.protocols) {
    if (p == "tcp") protocol_mask |= 1u << SOCKET_PROTO_TCP;
    if (p == "udp") protocol_mask |= 1u << SOCKET_PROTO_UDP;
  }
  const bool events = events_enabled_;
  const uint64_t ring_size = config.events.ring_buffer_size;
  const uint32_t sample_rate = std::max<uint32_t>(1, config.events.sample_rate);
  const size_t pid_count = config_.pids.size();
  const size_t comm_count = config_.comms.size();
  const bool task_storage = task_storage_usable();
  std::set<std::string> in_ladders;
  for (const auto& ladder : ladders) {
    for (const auto& rung : ladder.rungs) in_ladders.insert(rung.program);
  }

  auto configure = [&](socket_bpf& skel) -> Status {
    skel.rodata->protocol_mask = protocol_mask;
    skel.rodata->filter_pids = pid_count > 0;
    skel.rodata->filter_comms = comm_count > 0;
    configure_network_filter(skel, config.network);
    skel.rodata->syscall_details = syscall_tracepoints_;
    skel.rodata->per_process = per_process;
    skel.rodata->max_processes = max_processes;
    skel.rodata->attribute_cgroup = by_cgroup;
    skel.rodata->events_enabled = events;
    skel.rodata->count_only =
        pid_count == 0 && comm_count == 0 && config.network.include_ports.empty() &&
        config.network.exclude_ports.empty() && config.network.include_cidrs.empty() &&
        config.network.exclude_cidrs.empty() && !syscall_tracepoints_ && !events;
    skel.rodata->sample_rate = sample_rate;
    // A sixteenth of the ring: wakeups in batches, long before it fills.
    skel.rodata->wakeup_bytes = events ? ring_size / 16 : 0;
    bpf_map__set_max_entries(skel.maps.stats, slots * SOCKET_STATS_PER_SLOT);
    bpf_map__set_max_entries(skel.maps.comm_slots, std::max<uint32_t>(1, max_processes));
    bpf_map__set_max_entries(skel.maps.free_slots, std::max<uint32_t>(1, max_processes));
    bpf_map__set_max_entries(skel.maps.pid_filter, std::max<uint32_t>(1, pid_count));
    bpf_map__set_max_entries(skel.maps.comm_filter, std::max<uint32_t>(1, comm_count));
    skel.rodata->use_task_storage = task_storage;
    bpf_map__set_autocreate(skel.maps.task_ops, task_storage);
    bpf_map__set_autocreate(skel.maps.thread_ops, !task_storage);
    if (events) bpf_map__set_max_entries(skel.maps.events, static_cast<uint32_t>(ring_size));
    // Programs of the other hook set and the benchmark baseline stay unloaded.
    bpf_program* prog = nullptr;
    bpf_object__for_each_program(prog, skel.obj) {
      if (in_ladders.count(bpf_program__name(prog)) == 0) bpf_program__set_autoload(prog, false);
    }
    return Status::ok();
  };
  LadderLoadOptions options;
  options.collector = name();
  auto result = load_skeleton_with_ladders<socket_bpf>(
      ladders, context.preflight, options, std::function<Status(socket_bpf&)>(configure));
  if (!result) return result.status();
  loaded_ = std::make_unique<Loaded>();
  loaded_->skeleton = std::move(*result);
  loaded_->fallback = fallback;
  loaded_->stats_slots = slots;
  for (size_t i = 0; i < ladders.size(); ++i) {
    if (loaded_->skeleton.attachment.rungs[i] == kNoRung) {
      log_warn("hook not attached: MSG_* flags and latency of this syscall are not recorded",
               {{"collector", name()}, {"prog", ladders[i].name}});
    }
  }
  log_info("socket hooks attached",
           {{"collector", name()},
            {"hooks", fallback ? "protocol functions (fallback)" : "sock_*_length tracepoints"},
            {"send", loaded_->skeleton.attachment.programs[0].attach}});
  return Status::ok();
}

Status SocketCollector::fill_filters(const Config& config) {
  socket_bpf& skel = *loaded_->skeleton.skel;
  const __u8 one = 1;
  for (uint32_t pid : config_.pids) {
    if (bpf_map__update_elem(skel.maps.pid_filter, &pid, sizeof(pid), &one, sizeof(one), 0) != 0) {
      return Status::error("filling the pid filter map failed: " + errno_message(errno));
    }
  }
  for (const auto& comm : config_.comms) {
    socket_comm key{};
    std::memcpy(key.comm, comm.data(), std::min(comm.size(), sizeof(key.comm) - 1));
    if (bpf_map__update_elem(skel.maps.comm_filter, &key, sizeof(key), &one, sizeof(one), 0) != 0) {
      return Status::error("filling the comm filter map failed: " + errno_message(errno));
    }
  }
  return fill_network_filter(skel, config.network);
}

Status SocketCollector::push_free_slots(const std::vector<uint32_t>& slots) {
  const int fd = bpf_map__fd(loaded_->skeleton.skel->maps.free_slots);
  for (uint32_t slot : slots) {
    if (bpf_map_update_elem(fd, nullptr, &slot, 0) != 0) {
      return Status::error("filling the free slot queue failed: " + errno_message(errno));
    }
  }
  return Status::ok();
}

// Slots idle for attribution.label_idle_time (or of a cgroup removed for
// attribution.gone_after) go back to the kernel's free queue, their rows
// zeroed, so their series disappear and newcomers get their own. The epoch
// is bumped before and after, so no task keeps a cached slot across it.
void SocketCollector::reclaim_idle_slots() {
  if (!slot_table_) return;
  std::function<bool(const std::string&)> gone;
  if (attribution_) {
    gone = [this](const std::string& key) { return !attribution_->exists(std::stoull(key)); };
  }
  std::vector<LabelSlotTable::Entry> idle =
      slot_table_->reclaim_idle(LabelSlotTable::Clock::now(), gone, gone_after_);
  if (idle.empty()) return;
  socket_bpf& skel = *loaded_->skeleton.skel;
  auto bump = [](socket_bpf::socket_bpf__bss& bss) { ++bss.slot_epoch; };
  if (Status bumped = update_bss(skel, bump); !bumped) {
    log_warn("freeing idle label slots failed", {{"collector", name()}, {"err", bumped.message()}});
    return;
  }
  const int ncpus = libbpf_num_possible_cpus();
  std::vector<socket_stats> zeros(static_cast<size_t>(std::max(ncpus, 1)));
  std::set<uint32_t> freed;
  for (const LabelSlotTable::Entry& entry : idle) {
    socket_comm key = slot_key(entry.key, cgroup_mode_);
    bpf_map__delete_elem(skel.maps.comm_slots, &key, sizeof(key), 0);
    for (uint32_t i = 0; i < SOCKET_STATS_PER_SLOT; ++i) {
      uint32_t index = entry.slot * SOCKET_STATS_PER_SLOT + i;
      bpf_map__update_elem(skel.maps.stats, &index, sizeof(index), zeros.data(),
                           zeros.size() * sizeof(socket_stats), 0);
    }
    freed.insert(entry.slot);
  }
  std::vector<socket_error_key> stale;
  (void)for_each_percpu_entry<socket_error_key, uint64_t>(
      MapRef::of(skel.maps.errors), [&](const socket_error_key& key, const std::vector<uint64_t>&) {
        if (freed.count(key.comm_slot)) stale.push_back(key);
      });
  for (const socket_error_key& key : stale) {
    bpf_map__delete_elem(skel.maps.errors, &key, sizeof(key), 0);
  }
  (void)update_bss(skel, bump);
  if (Status pushed = push_free_slots({freed.begin(), freed.end()}); !pushed) {
    log_warn("freeing idle label slots failed", {{"collector", name()}, {"err", pushed.message()}});
  }
  log_debug("freed idle label slots",
            {{"collector", name()}, {"slots", std::to_string(freed.size())}});
}

Status SocketCollector::start_events(const Config& config) {
  sink_ = options_.event_sink;
  if (!sink_) {
    Result<EventFormat> format = parse_event_format(config.events.format);
    if (!format) return format.status();
    Result<std::string> dir = event_run_directory(config.events.output_dir,
                                                  socket_event_schema().kind, std::time(nullptr));
    if (!dir) return dir.status();
    auto sink = RotatingFileEventSink::open(
        {.directory = *dir, .format = *format, .rotate_bytes = config.events.rotate_bytes},
        socket_event_schema());
    if (!sink) return sink.status();
    log_info("writing socket events", {{"collector", name()}, {"dir", *dir}});
    sink_ = std::move(*sink);
  }
  const int fd = bpf_map__fd(loaded_->skeleton.skel->maps.events);
  std::shared_ptr<EventSink> sink = sink_;
  return loaded_->reader.start(
      fd, "socket events", [this](const void* data, size_t size) { on_event(data, size); },
      [sink] { (void)sink->flush(false); });
}

void SocketCollector::on_event(const void* data, size_t size) {
  if (size < sizeof(socket_event)) return;
  socket_event event;
  std::memcpy(&event, data, sizeof(event));
  Status status = sink_->write(format_socket_event(event, monotonic_to_unix_ns()));
  if (status) {
    events_written_.fetch_add(1);
    return;
  }
  event_write_errors_.fetch_add(1);
  if (!write_error_logged_.exchange(true)) {
    log_error(
        "writing socket events failed (logged once; counted in "
        "netobs_socket_event_write_errors_total)",
        {{"collector", name()}, {"err", status.message()}});
  }
}

void SocketCollector::stop_impl() {
  if (!loaded_) return;
  // Detach first so no new events arrive, then deliver what the ring
  // buffer still holds, then make the rows durable (SIGTERM loses none).
  loaded_->skeleton.attachment.links.clear();
  loaded_->reader.stop();
  if (sink_) {
    Status flushed = sink_->flush(true);
    if (!flushed) log_error("flushing socket events failed", {{"err", flushed.message()}});
  }
  loaded_.reset();
}

Result<SocketSnapshot> SocketCollector::snapshot() {
  socket_bpf& skel = *loaded_->skeleton.skel;
  SocketSnapshot snap;
  snap.per_process = config_.per_process;
  snap.protocol_mask = 0;
  for (const auto& p : config_.protocols) {
    snap.protocol_mask |= 1u << (p == "tcp" ? SOCKET_PROTO_TCP : SOCKET_PROTO_UDP);
  }
  snap.events_enabled = events_enabled_;
  snap.syscall_tracepoints = syscall_tracepoints_;
  snap.events_written = events_written_.load();
  snap.event_write_errors = event_write_errors_.load();

  Result<std::vector<uint64_t>> counters =
      sum_percpu_u64_array(MapRef::of(skel.maps.counters), SOCKET_CTR_COUNT);
  if (!counters) return counters.status();
  for (uint32_t c = 0; c < SOCKET_CTR_COUNT; ++c) snap.counters[c] = (*counters)[c];

  // Which comm (or cgroup) owns which slot, as a label key: the comm, or
  // for cgroups the attribution labels joined (two cgroups with the same
  // labels share one series).
  std::map<uint32_t, std::string> slot_comm;
  std::map<uint32_t, std::string> slot_table_key;
  if (config_.per_process) {
    Result<std::vector<std::pair<socket_comm, uint32_t>>> slots =
        read_entries<socket_comm, uint32_t>(MapRef::of(skel.maps.comm_slots));
    if (!slots) return slots.status();
    for (const auto& [comm, slot] : *slots) {
      if (!cgroup_mode_) {
        slot_comm[slot] = slot_table_key[slot] = comm_string(comm.comm);
        continue;
      }
      uint64_t id = 0;
      std::memcpy(&id, comm.comm, sizeof id);
      CgroupLabels labels = attribution_->labels(id);
      std::string key;
      for (const std::string& value : labels.values()) key += value + '\x1f';
      Labels& owner = snap.owner_labels[key];
      labels.add_to(owner);
      slot_comm[slot] = key;
      slot_table_key[slot] = std::to_string(id);
    }
    slot_comm[config_.max_processes] = "other";
    if (cgroup_mode_) {
      for (const std::string& name : CgroupLabels::names())
        snap.owner_labels["other"][name] = "other";
    }
  } else {
    slot_comm[0] = "";
  }

  const MapRef stats = MapRef::of(skel.maps.stats);
  const auto now = LabelSlotTable::Clock::now();
  std::map<std::string, size_t> process_of_key;  // label key -> index in snap.processes
  for (const auto& [slot, comm] : slot_comm) {
    SocketSnapshot::Process process;
    process.comm = comm;
    uint64_t calls = 0;
    for (uint32_t i = 0; i < SOCKET_STATS_PER_SLOT; ++i) {
      uint32_t index = slot * SOCKET_STATS_PER_SLOT + i;
      Result<std::vector<socket_stats>> values = lookup_percpu<socket_stats>(stats, &index);
      if (!values) return values.status();
      for (const auto& v : *values) add_stats(process.stats[i], v);
      calls += process.stats[i].calls[0] + process.stats[i].calls[1];
    }
    if (auto key = slot_table_key.find(slot); key != slot_table_key.end() && slot_table_) {
      slot_table_->observe(slot, key->second, calls, now);
    }
    // "other" appears once something folded into it.
    if (config_.per_process && slot == config_.max_processes && calls == 0) continue;
    if (auto same = process_of_key.find(comm); same != process_of_key.end()) {
      SocketSnapshot::Process& into = snap.processes[same->second];
      for (uint32_t i = 0; i < SOCKET_STATS_PER_SLOT; ++i)
        add_stats(into.stats[i], process.stats[i]);
      continue;
    }
    process_of_key[comm] = snap.processes.size();
    snap.processes.push_back(std::move(process));
  }

  // EAGAIN is counted in the stats entries, the other errnos in `errors`.
  for (const auto& process : snap.processes) {
    for (uint32_t i = 0; i < SOCKET_STATS_PER_SLOT; ++i) {
      if (process.stats[i].eagain == 0) continue;
      snap.errors.push_back({process.comm, i / SOCKET_DIR_COUNT, i % SOCKET_DIR_COUNT,
                             SOCKET_EAGAIN, process.stats[i].eagain});
    }
  }
  Status read = for_each_percpu_entry<socket_error_key, uint64_t>(
      MapRef::of(skel.maps.errors),
      [&](const socket_error_key& key, const std::vector<uint64_t>& values) {
        auto comm = slot_comm.find(key.comm_slot);
        snap.errors.push_back({comm != slot_comm.end() ? comm->second : "other", key.proto,
                               key.direction, key.err, sum_u64(values)});
      });
  if (!read) return read;
  return snap;
}

Status SocketCollector::collect_impl(std::vector<prometheus::MetricFamily>& out) {
  if (!loaded_) return Status::error("socket collector is not loaded");
  reclaim_idle_slots();
  Result<SocketSnapshot> snap = snapshot();
  if (!snap) return snap.status();
  append_socket_metrics(*snap, out);
  return Status::ok();
}

BpfStatus SocketCollector::bpf_status_impl() const {
  BpfStatus status;
  if (!loaded_) return status;
  status.programs = loaded_->skeleton.attachment.programs;
  socket_bpf& skel = *loaded_->skeleton.skel;
  // Self-metrics: an unreadable counter reads 0 here; the scrape's own
  // read of the same map fails the collector with the reason.
  const MapRef counters = MapRef::of(skel.maps.counters);
  auto counter = [&](uint32_t index) -> uint64_t {
    Result<uint64_t> sum = sum_percpu_u64(counters, index);
    return sum ? *sum : 0;
  };
  auto map_status = [](const char* map_name, const bpf_map* map, uint64_t errors) {
    return BpfMapStatus{map_name, bpf_map__fd(map), bpf_map__max_entries(map), errors};
  };
  status.maps.push_back(map_status("stats", skel.maps.stats, 0));
  status.maps.push_back(map_status("errors", skel.maps.errors, counter(SOCKET_CTR_ERRORS_FULL)));
  if (bpf_map__fd(skel.maps.thread_ops) >= 0) {
    status.maps.push_back(
        map_status("thread_ops", skel.maps.thread_ops, counter(SOCKET_CTR_THREAD_OPS_FULL)));
  }
  if (config_.per_process) {
    status.maps.push_back(map_status("comm_slots", skel.maps.comm_slots, 0));
  }
  if (loaded_->fallback) {
    status.maps.push_back(map_status("fallback_calls", skel.maps.fallback_calls, 0));
  }
  status.has_event_stream = events_enabled_;
  if (events_enabled_) status.events_lost = counter(SOCKET_CTR_EVENTS_LOST);
  return status;
}

}  // namespace netobs
