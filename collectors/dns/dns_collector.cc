#include "collectors/dns/dns_collector.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <span>

#include "exporter/net/interface_attachments.h"
#include "collectors/dns/dns_protocol.h"
#include "dns.skel.h"
#include "exporter/attribution/idle_keys.h"
#include "exporter/bpf/map_reader.h"
#include "exporter/bpf/skeleton.h"
#include "exporter/events/event_sink.h"
#include "exporter/events/ring_buffer_reader.h"
#include "exporter/log.h"
#include "exporter/net/network_filter_maps.h"

namespace netobs {
namespace {

constexpr size_t kSamplingRingBytes = 256 * 1024;
constexpr uint32_t kMinRingBytes = 4096;

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

int64_t unix_minus_monotonic_ns() {
  timespec mono{}, real{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &real);
  const int64_t m = static_cast<int64_t>(mono.tv_sec) * 1000000000LL + mono.tv_nsec;
  const int64_t r = static_cast<int64_t>(real.tv_sec) * 1000000000LL + real.tv_nsec;
  return r - m;
}

// Sums a per-CPU dns_stats value.
DnsStatsEntry sum_stats(const dns_stats_key& key, const std::vector<dns_stats_value>& per_cpu) {
  DnsStatsEntry e;
  e.qtype = key.qtype;
  e.rcode = key.rcode;
  e.transport = key.transport;
  e.kind = key.kind;
  for (const dns_stats_value& v : per_cpu) {
    e.count += v.count;
    e.sum_ns += v.sum_ns;
    for (size_t i = 0; i < DNS_LATENCY_BUCKETS; ++i) e.buckets[i] += v.buckets[i];
  }
  return e;
}

const HookLadder kProcessLadder{"dns_process",
                                {{AttachKind::kTpBtf, "dns_proc_btf", "sock/sock_send_length"},
                                 {AttachKind::kRawTp, "dns_proc_raw", "sock/sock_send_length"},
                                 {AttachKind::kTracepoint, "dns_proc_tp", "sock/sock_send_length"}},
                                /*required=*/false};

// The key the BPF program counts servers beyond max_servers under.
const dns_server_key kOtherServerKey{};

// Deletes `keys` (batched; keys that vanished meanwhile are skipped).
void delete_keys(int fd, const std::vector<dns_flow_key>& keys) {
  size_t done = 0;
  while (done < keys.size()) {
    __u32 count = static_cast<__u32>(keys.size() - done);
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    if (bpf_map_delete_batch(fd, &keys[done], &count, &opts) == 0) return;
    done += count;
    if (done < keys.size()) {
      // keys[done] failed (gone: LRU reclaimed it, or no batch support).
      bpf_map_delete_elem(fd, &keys[done]);
      ++done;
    }
  }
}

// Runs dns_claim_expired on `key` (see DNS_PENDING_* in bpf/dns.h):
// DNS_CLAIM_EXPIRED when the query was still waiting and is now ours.
int claim_expired(int prog_fd, const dns_flow_key& key) {
  uint8_t packet[ETH_HLEN + sizeof(dns_flow_key)] = {};
  packet[12] = 0x08;  // ETH_P_IP: any type; the program reads the key only
  std::memcpy(packet + ETH_HLEN, &key, sizeof(key));
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof(packet),
              .repeat = 1);
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
    log_warn("dns: claiming an expired query failed", {{"err", errno_message(errno)}});
    return DNS_CLAIM_NOT_FOUND;
  }
  return static_cast<int>(opts.retval);
}

bool env_is_1(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && std::string_view(value) == "1";
}

}  // namespace

struct DnsCollector::Loaded {
  LoadedSkeleton<dns_bpf> skeleton;
  InterfaceAttachments attachments;
  bool ring_used = false;
  bool servers = false;
  // Server entries the kernel inserted (bytes of dns_server_key), by
  // activity; idle ones are deleted so new servers get series
  // (reclaim_idle_servers).
  IdleKeys<std::string> idle_servers;
};

const HookLadder& DnsCollector::process_ladder() { return kProcessLadder; }

DnsCollector::DnsCollector() : DnsCollector(Options{}) {}
DnsCollector::DnsCollector(Options options)
    : Collector(std::string(kName)), options_(std::move(options)) {}
DnsCollector::~DnsCollector() { stop(); }

Status DnsCollector::open_event_sink(const Config& config) {
  Result<EventFormat> format = parse_event_format(config.events.format);
  if (!format) return format.status();
  Result<std::string> dir =
      event_run_directory(config.events.output_dir, "dns", std::time(nullptr));
  if (!dir) return dir.status();
  RotatingFileEventSink::Options sink_options;
  sink_options.directory = *dir;
  sink_options.format = *format;
  sink_options.rotate_bytes = config.events.rotate_bytes;
  auto sink = RotatingFileEventSink::open(sink_options, dns_event_schema());
  if (!sink) return sink.status();
  sink_ = std::move(*sink);
  log_info("dns events", {{"collector", "dns"}, {"dir", *dir}});
  return Status::ok();
}

Status DnsCollector::start_impl(const CollectorContext& context) {
  config_ = context.config.collector<DnsConfig>();
  domain_slots_ = std::make_unique<LabelSlotTable>(
      config_.top_domains,
      std::chrono::duration_cast<LabelSlotTable::Clock::duration>(
          std::chrono::duration<double>(context.config.attribution.label_idle_seconds)));
  event_options_ = dns_event_options(config_);
  if (config_.ports.empty() || config_.ports.size() > DNS_MAX_PORTS) {
    return Status::error("collectors.dns.ports: list 1 to " + std::to_string(DNS_MAX_PORTS) +
                         " ports");
  }
  const NetworkFilters net = context.config.network;
  interfaces_ = InterfaceSelector::from_network(net);
  const bool capture = config_.capture_queries || config_.capture_responses;
  events_on_ = capture && (options_.on_exchange || options_.event_sink ||
                           !context.config.events.output_dir.empty());
  if (options_.event_sink) sink_ = options_.event_sink;
  if (events_on_ && !options_.on_exchange && !sink_) {
    Status sink = open_event_sink(context.config);
    if (!sink) return Status::error("dns events: " + sink.message());
  }
  const bool sampling = config_.top_domains > 0;
  const bool servers = config_.server_labels;
  attribution_.reset();
  cgroup_activity_.clear();
  if (config_.attribution == "cgroup") {
    Result<std::shared_ptr<Attribution>> attribution =
        Attribution::shared(attribution_options(context.config));
    if (!attribution) return attribution.status();
    attribution_ = *attribution;
    label_idle_ = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(context.config.attribution.label_idle_seconds));
    gone_after_ = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(context.config.attribution.gone_after_seconds));
  }
  // The sender's process (and cgroup) is recorded by sock_send_length.
  const bool procs = events_on_ || attribution_ != nullptr;
  uint32_t ring_bytes = kMinRingBytes;
  if (events_on_) {
    ring_bytes = static_cast<uint32_t>(context.config.events.ring_buffer_size);
  } else if (sampling) {
    ring_bytes = kSamplingRingBytes;
  }
  unix_offset_ns_ = unix_minus_monotonic_ns();

  std::vector<HookLadder> ladders;
  if (procs) ladders.push_back(kProcessLadder);
  LadderLoadOptions load_options;
  load_options.collector = name();
  const DnsConfig cfg = config_;
  const bool events = events_on_;
  const Options& opts = options_;
  auto loaded = load_skeleton_with_ladders<dns_bpf>(
      ladders, context.preflight, load_options,
      [&cfg, &opts, &net, events, procs, sampling, servers, ring_bytes](dns_bpf& skel) -> Status {
        for (size_t i = 0; i < cfg.ports.size(); ++i) skel.rodata->dns_ports[i] = cfg.ports[i];
        skel.rodata->dns_port_count = static_cast<__u32>(cfg.ports.size());
        skel.rodata->emit_exchanges = events ? 1 : 0;
        skel.rodata->track_procs = procs ? 1 : 0;
        skel.rodata->attribute_cgroup = cfg.attribution == "cgroup" ? 1 : 0;
        bpf_map__set_max_entries(skel.maps.dns_cgroup_stats,
                                 cfg.attribution == "cgroup" ? cfg.max_cgroups + 16 : 1);
        skel.rodata->track_servers = servers ? 1 : 0;
        skel.rodata->query_sample_every = sampling ? cfg.domain_sample_rate : 0;
        if (!opts.loopback_dedupe) skel.rodata->loopback_ifindex = 0;
        configure_network_filter(skel, net);
        bpf_map__set_max_entries(skel.maps.dns_pending, cfg.max_outstanding_queries);
        bpf_map__set_max_entries(skel.maps.dns_servers, servers ? cfg.max_servers + 1 : 1);
        bpf_map__set_max_entries(skel.maps.dns_procs, procs ? 4096 : 1);
        bpf_map__set_max_entries(skel.maps.dns_events, ring_bytes);
        // The process programs are loaded through their ladder when needed.
        if (!procs) {
          bpf_program__set_autoload(skel.progs.dns_proc_btf, false);
          bpf_program__set_autoload(skel.progs.dns_proc_raw, false);
          bpf_program__set_autoload(skel.progs.dns_proc_tp, false);
        }
        return Status::ok();
      });
  if (!loaded) return loaded.status();
  loaded_ = std::make_unique<Loaded>();
  loaded_->skeleton = std::move(*loaded);
  loaded_->servers = servers;
  loaded_->idle_servers =
      IdleKeys<std::string>(std::chrono::duration_cast<IdleKeys<std::string>::Clock::duration>(
          std::chrono::duration<double>(context.config.attribution.label_idle_seconds)));
  loaded_->ring_used = events_on_ || sampling;
  {
    // Filled before anything is attached: no packet sees a half-filled filter.
    if (Status filter = fill_network_filter(*loaded_->skeleton.skel, net); !filter) return filter;
  }

  if (servers) {
    const dns_server_value zero{};
    Result<size_t> cpus = possible_cpus();
    if (!cpus) return cpus.status();
    std::vector<uint8_t> values(*cpus * percpu_stride(sizeof(zero)), 0);
    if (bpf_map_update_elem(bpf_map__fd(loaded_->skeleton.skel->maps.dns_servers), &kOtherServerKey,
                            values.data(), BPF_ANY) != 0) {
      return Status::error("dns: creating the server=\"other\" entry failed: " +
                           errno_message(errno));
    }
  }
  if (attribution_) {
    // The `other` cgroup's entries (one per rcode) exist before any packet,
    // so folding past max_cgroups never fails.
    Result<size_t> cpus = possible_cpus();
    if (!cpus) return cpus.status();
    std::vector<uint8_t> values(*cpus * percpu_stride(sizeof(dns_stats_value)), 0);
    for (uint8_t rcode = 0; rcode < 16; ++rcode) {
      dns_cgroup_key key{};
      key.cgroup_id = DNS_CGROUP_OTHER;
      key.rcode = rcode;
      if (bpf_map_update_elem(bpf_map__fd(loaded_->skeleton.skel->maps.dns_cgroup_stats), &key,
                              values.data(), BPF_ANY) != 0) {
        return Status::error("dns: creating the cgroup \"other\" entries failed: " +
                             errno_message(errno));
      }
    }
  }
  if (loaded_->ring_used) {
    reader_ = std::make_unique<RingBufferReader>();
    Status started = reader_->start(
        bpf_map__fd(loaded_->skeleton.skel->maps.dns_events), "dns_events",
        [this](const void* data, size_t size) { on_record(data, size); },
        [this] {
          if (sink_) {
            Status flushed = sink_->flush(false);
            if (!flushed) sink_errors_.fetch_add(1, std::memory_order_relaxed);
          }
        });
    if (!started) return started;
  }
  if (options_.attach_socket) {
    Status attached = attach_programs();
    if (!attached) return attached;
  }
  if (!options_.manual_sweep) {
    sweeper_ = std::jthread([this](std::stop_token stop) { sweeper_loop(stop); });
  }
  return Status::ok();
}

// The hook ladder: tc ingress + egress on every interface (each falling back
// to a packet socket of its own), or, forced by socket_filter /
// NETOBS_DNS_SOCKET_FILTER=1, one packet socket on all interfaces.
// NETOBS_DNS_TC_CLSACT=1 takes clsact even where the kernel has tcx.
Status DnsCollector::attach_programs() {
  const dns_bpf& skel = *loaded_->skeleton.skel;
  InterfaceAttachments::Programs programs;
  programs.tc_ingress = bpf_program__fd(skel.progs.dns_tc_ingress);
  programs.tc_egress = bpf_program__fd(skel.progs.dns_tc_egress);
  programs.socket_filter = bpf_program__fd(skel.progs.dns_filter);
  programs.ingress_slot = kDnsTcIngressSlot;
  programs.egress_slot = kDnsTcEgressSlot;
  const bool socket = options_.socket_filter || env_is_1("NETOBS_DNS_SOCKET_FILTER");
  return loaded_->attachments.start(
      "dns", programs,
      socket ? InterfaceAttachments::Mode::kSocketFilter : InterfaceAttachments::Mode::kTc,
      !env_is_1("NETOBS_DNS_TC_CLSACT"), interfaces_);
}

void DnsCollector::sweeper_loop(std::stop_token stop) {
  // A quarter of the timeout keeps the reporting delay small next to it; at
  // most 0.5 s because answered entries hold map space until swept.
  const double interval = std::clamp(config_.timeout_seconds / 4, 0.01, 0.5);
  const auto period = std::chrono::duration<double>(interval);
  while (!stop.stop_requested()) {
    {
      std::unique_lock<std::mutex> lock(wake_mutex_);
      wake_.wait_for(lock, stop, period, [] { return false; });
    }
    if (stop.stop_requested()) break;
    sweep_now();
  }
}

std::string DnsCollector::server_label(uint8_t family, const uint8_t* address) const {
  if (!loaded_ || !loaded_->servers) return "";
  dns_server_key key{};
  std::memcpy(key.addr, address, 16);
  key.family = family;
  std::vector<unsigned char> values;
  bool missing = false;
  Status read = lookup_percpu_raw(MapRef::of(loaded_->skeleton.skel->maps.dns_servers), &key,
                                  values, sizeof(dns_server_value), &missing);
  return read && !missing ? dns_address_text(family, address) : "other";
}

void DnsCollector::sweep_now(uint64_t now_ns) {
  if (!loaded_) return;
  std::lock_guard<std::mutex> sweep_lock(sweep_mutex_);
  if (now_ns == 0) now_ns = monotonic_ns();
  const uint64_t timeout_ns = static_cast<uint64_t>(config_.timeout_seconds * 1e9);
  const MapRef pending = MapRef::of(loaded_->skeleton.skel->maps.dns_pending);
  const int claim_fd = bpf_program__fd(loaded_->skeleton.skel->progs.dns_claim_expired);

  // Inserts are read before the walk and matches after it, so a race with
  // the BPF program can only make this sweep's eviction estimate too low;
  // the exported count is the largest estimate so far (monotonic, and exact
  // once traffic pauses).
  const uint64_t inserts = read_counter(DNS_C_CORR_INSERTS);
  std::vector<std::pair<dns_flow_key, dns_pending>> expired;
  std::vector<dns_flow_key> answered;  // claimed by their response: removed below
  uint64_t waiting = 0;
  auto classify = [&](const dns_flow_key& k, const dns_pending& v) {
    if (v.state != DNS_PENDING_WAITING) {
      answered.push_back(k);
    } else if (v.ts_ns + timeout_ns <= now_ns) {
      expired.emplace_back(k, v);
    } else {
      ++waiting;
    }
  };
  Result<std::vector<std::pair<dns_flow_key, dns_pending>>> entries =
      read_entries<dns_flow_key, dns_pending>(pending);
  if (!entries) {
    // Not a scrape: the next sweep reads the map again.
    log_warn("dns: walking the correlation map failed", {{"err", entries.message()}});
    return;
  }
  for (const auto& [k, v] : *entries) classify(k, v);
  // Answered entries: their state is final, nobody else counts them.
  delete_keys(pending.fd, answered);

  std::vector<DnsExchange> events;
  {
    std::lock_guard<std::mutex> lock(counts_mutex_);
    for (const auto& [k, v] : expired) {
      // The claim decides ownership (an atomic compare-and-swap in BPF,
      // against the response's): a response racing it counts as unmatched
      // when we win, and we skip the entry when it wins.
      if (claim_expired(claim_fd, k) != DNS_CLAIM_EXPIRED) continue;
      ++expired_;
      ++unanswered_[{k.transport, v.qtype}];
      if (loaded_->servers) ++server_unanswered_[server_label(k.family, k.server)];
      if (events_on_) {
        DnsExchange e;
        e.kind = DnsExchange::Kind::kUnanswered;
        e.unix_ns = static_cast<uint64_t>(static_cast<int64_t>(now_ns) + unix_offset_ns_);
        e.transport = k.transport;
        e.id = k.id;
        e.qtype = v.qtype;
        e.client_ip = dns_address_text(k.family, k.client);
        e.client_port = k.client_port;
        e.server_ip = dns_address_text(k.family, k.server);
        e.server_port = k.server_port;
        if (v.proc_key != 0) {
          // Optional: a process entry the LRU already dropped leaves pid/comm empty.
          dns_proc proc{};
          if (lookup_value(MapRef::of(loaded_->skeleton.skel->maps.dns_procs), &v.proc_key,
                           &proc)) {
            e.pid = proc.tgid;
            e.comm.assign(proc.comm, strnlen(proc.comm, sizeof(proc.comm)));
          }
        }
        events.push_back(std::move(e));
      }
    }
    // Expired entries we lost to their response are answered: not waiting.
    outstanding_ = waiting;
    const uint64_t matched = read_counter(DNS_C_CORR_MATCHED);
    const uint64_t accounted = matched + expired_ + outstanding_;
    if (inserts > accounted && inserts - accounted > evictions_) evictions_ = inserts - accounted;
  }
  for (const DnsExchange& e : events) deliver(e);
}

void DnsCollector::deliver(const DnsExchange& exchange) {
  if (!dns_event_wanted(exchange, event_options_)) return;
  std::lock_guard<std::mutex> lock(deliver_mutex_);
  if (options_.on_exchange) {
    options_.on_exchange(exchange);
  } else if (sink_) {
    Status written = sink_->write(dns_event_row(exchange, event_options_));
    if (!written) {
      if (sink_errors_.fetch_add(1, std::memory_order_relaxed) == 0) {
        log_warn("writing a dns event failed", {{"collector", "dns"}, {"err", written.message()}});
      }
    }
  }
}

void DnsCollector::count_domain(const std::string& raw) {
  std::string name = raw;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::lock_guard<std::mutex> lock(counts_mutex_);
  // A name keeps its series while it holds one of top_domains slots; a slot
  // idle for attribution.label_idle_time is given back (reclaim_idle_domains),
  // so a name queried all along is not crowded out by names seen once.
  // Later names fold into "other".
  if (name != "other" && domain_slots_->acquire(name, LabelSlotTable::Clock::now())) {
    ++domains_[name];
  } else {
    ++domains_["other"];
    ++domains_folded_;
  }
}

void DnsCollector::reclaim_idle_domains() {
  std::lock_guard<std::mutex> lock(counts_mutex_);
  for (const LabelSlotTable::Entry& idle :
       domain_slots_->reclaim_idle(LabelSlotTable::Clock::now())) {
    domains_.erase(idle.key);
  }
}

void DnsCollector::on_record(const void* data, size_t size) {
  if (size < sizeof(dns_event)) return;
  dns_event record;
  std::memcpy(&record, data, sizeof(record));
  if (record.kind == DNS_EVENT_QUERY_SAMPLE) {
    const size_t len = std::min<size_t>(record.msg_len, sizeof(record.msg));
    std::optional<dns::Message> m = dns::parse_message(std::span<const uint8_t>(record.msg, len));
    if (!m || !m->has_question) {
      std::lock_guard<std::mutex> lock(counts_mutex_);
      ++samples_undecodable_;
      return;
    }
    count_domain(m->qname);
    return;
  }
  if (record.kind == DNS_EVENT_EXCHANGE) deliver(exchange_from_record(record, unix_offset_ns_));
}

// For the sweeper and self-metrics, where an unreadable counter reads 0;
// the scrape reads the same map through snapshot() and fails on it.
uint64_t DnsCollector::read_counter(uint32_t index) const {
  if (!loaded_) return 0;
  Result<uint64_t> sum =
      sum_percpu_u64(MapRef::of(loaded_->skeleton.skel->maps.dns_counters), index);
  return sum ? *sum : 0;
}

Result<DnsSnapshot> DnsCollector::snapshot() const {
  DnsSnapshot s;
  if (!loaded_) return Status::error("dns collector is not running");
  const dns_bpf& skel = *loaded_->skeleton.skel;

  Result<std::vector<uint64_t>> counters =
      sum_percpu_u64_array(MapRef::of(skel.maps.dns_counters), DNS_COUNTERS);
  if (!counters) return counters.status();
  for (uint32_t i = 0; i < DNS_COUNTERS; ++i) s.counters[i] = (*counters)[i];

  Status read = for_each_percpu_entry<dns_stats_key, dns_stats_value>(
      MapRef::of(skel.maps.dns_stats),
      [&](const dns_stats_key& key, const std::vector<dns_stats_value>& per_cpu) {
        s.stats.push_back(sum_stats(key, per_cpu));
      });
  if (!read) return read;

  // The common query types live in an array (see DNS_FAST_QTYPE_LIST).
  constexpr uint16_t kFastTypes[DNS_FAST_QTYPES] = DNS_FAST_QTYPE_LIST;
  const MapRef fast = MapRef::of(skel.maps.dns_stats_fast);
  for (uint32_t index = 0; index < DNS_FAST_ENTRIES; ++index) {
    Result<std::vector<dns_stats_value>> per_cpu = lookup_percpu<dns_stats_value>(fast, &index);
    if (!per_cpu) return per_cpu.status();
    const uint32_t column = index % DNS_FAST_COLUMNS;
    const uint32_t row = index / DNS_FAST_COLUMNS;
    dns_stats_key fast_key{};
    fast_key.qtype = kFastTypes[row % DNS_FAST_QTYPES];
    fast_key.transport = static_cast<uint8_t>(row / DNS_FAST_QTYPES);
    fast_key.kind = column == DNS_FAST_QUERY_COLUMN ? DNS_STAT_QUERY : DNS_STAT_RESPONSE;
    fast_key.rcode = column == DNS_FAST_QUERY_COLUMN ? 0 : static_cast<uint8_t>(column);
    DnsStatsEntry entry = sum_stats(fast_key, *per_cpu);
    if (entry.count != 0) s.stats.push_back(entry);
  }

  s.server_labels = loaded_->servers;
  if (loaded_->servers) {
    read = for_each_percpu_entry<dns_server_key, dns_server_value>(
        MapRef::of(skel.maps.dns_servers),
        [&](const dns_server_key& key, const std::vector<dns_server_value>& per_cpu) {
          const std::string label =
              key.family == 0 ? "other" : dns_address_text(key.family, key.addr);
          DnsServerCounts& c = s.servers[label];
          for (const dns_server_value& v : per_cpu) {
            c.queries += v.queries;
            c.responses += v.responses;
          }
        });
    if (!read) return read;
    s.servers["other"].queries += 0;
    s.servers_folded = s.counters[DNS_C_SERVERS_OVERFLOW];
  }

  s.attribution = attribution_ != nullptr;
  if (attribution_) {
    read = for_each_percpu_entry<dns_cgroup_key, dns_stats_value>(
        MapRef::of(skel.maps.dns_cgroup_stats),
        [&](const dns_cgroup_key& key, const std::vector<dns_stats_value>& per_cpu) {
          std::vector<std::string> values;
          if (key.cgroup_id == DNS_CGROUP_OTHER) {
            values.assign(CgroupLabels::names().size(), "other");
          } else {
            values = attribution_->labels(key.cgroup_id).values();
          }
          dns_stats_key stats_key{};
          stats_key.rcode = key.rcode;
          stats_key.kind = DNS_STAT_RESPONSE;
          DnsStatsEntry sum = sum_stats(stats_key, per_cpu);
          DnsStatsEntry& e = s.by_cgroup[{values, key.rcode}];
          e.count += sum.count;
          e.sum_ns += sum.sum_ns;
          for (size_t i = 0; i < e.buckets.size(); ++i) e.buckets[i] += sum.buckets[i];
        });
    if (!read) return read;
  }

  std::lock_guard<std::mutex> lock(counts_mutex_);
  s.unanswered = unanswered_;
  s.evictions = evictions_;
  s.outstanding = outstanding_;
  if (loaded_->servers) {
    for (const auto& [server, n] : server_unanswered_) s.servers[server].unanswered += n;
  }
  s.domains_enabled = config_.top_domains > 0;
  s.domain_sample_rate = config_.domain_sample_rate;
  s.domains = domains_;
  s.domains_folded = domains_folded_;
  s.samples_undecodable = samples_undecodable_;
  return s;
}

// Entries of cgroups whose responses did not move for
// attribution.label_idle_time, or that were removed and idle for
// attribution.gone_after, are deleted: their series disappear.
void DnsCollector::reclaim_idle_cgroups() {
  if (!attribution_ || !loaded_) return;
  const auto now = std::chrono::steady_clock::now();
  const MapRef map = MapRef::of(loaded_->skeleton.skel->maps.dns_cgroup_stats);
  std::map<uint64_t, std::pair<uint64_t, std::vector<dns_cgroup_key>>> by_id;  // total, keys
  Status read = for_each_percpu_entry<dns_cgroup_key, dns_stats_value>(
      map, [&](const dns_cgroup_key& key, const std::vector<dns_stats_value>& per_cpu) {
        if (key.cgroup_id == DNS_CGROUP_OTHER) return;
        auto& [total, keys] = by_id[key.cgroup_id];
        for (const dns_stats_value& v : per_cpu) total += v.count;
        keys.push_back(key);
      });
  if (!read) return;
  for (const auto& [id, entry] : by_id) {
    auto [it, inserted] = cgroup_activity_.try_emplace(id, CgroupActivity{entry.first, now});
    if (!inserted && it->second.total != entry.first) it->second = {entry.first, now};
    const auto idle = now - it->second.last_change;
    if ((label_idle_.count() > 0 && idle > label_idle_) ||
        (idle > gone_after_ && !attribution_->exists(id))) {
      for (const dns_cgroup_key& key : entry.second) bpf_map_delete_elem(map.fd, &key);
      cgroup_activity_.erase(it);
    }
  }
  std::erase_if(cgroup_activity_, [&](const auto& item) { return !by_id.contains(item.first); });
}

// Servers whose queries and responses did not move for
// attribution.label_idle_time are deleted from dns_servers, so the kernel
// inserts the next new server instead of folding it (the folded counts stay
// in netobs_series_dropped_total). Their series disappear from the next
// scrape. A query racing the delete is lost with the entry; the server had
// been idle for label_idle_time.
void DnsCollector::reclaim_idle_servers() {
  if (!loaded_ || !loaded_->servers || !loaded_->idle_servers.enabled()) return;
  IdleKeys<std::string>& idle = loaded_->idle_servers;
  const auto now = IdleKeys<std::string>::Clock::now();
  const MapRef map = MapRef::of(loaded_->skeleton.skel->maps.dns_servers);
  Status read = for_each_percpu_entry<dns_server_key, dns_server_value>(
      map, [&](const dns_server_key& key, const std::vector<dns_server_value>& per_cpu) {
        if (key.family == 0) return;  // server="other" keeps its entry
        uint64_t activity = 0;
        for (const dns_server_value& v : per_cpu) activity += v.queries + v.responses;
        idle.observe(std::string(reinterpret_cast<const char*>(&key), sizeof(key)), activity, now);
      });
  if (!read) return;
  for (const std::string& bytes : idle.reclaim_idle(now)) {
    dns_server_key key{};
    std::memcpy(&key, bytes.data(), sizeof(key));
    bpf_map_delete_elem(map.fd, &key);
    std::lock_guard<std::mutex> lock(counts_mutex_);
    server_unanswered_.erase(dns_address_text(key.family, key.addr));
  }
}

Status DnsCollector::collect_impl(std::vector<prometheus::MetricFamily>& out) {
  if (domain_slots_) reclaim_idle_domains();
  reclaim_idle_servers();
  reclaim_idle_cgroups();
  Result<DnsSnapshot> snap = snapshot();
  if (!snap) return snap.status();
  append_dns_metrics(*snap, out);
  return Status::ok();
}

void DnsCollector::stop_impl() {
  if (sweeper_.joinable()) {
    sweeper_.request_stop();
    wake_.notify_all();
    sweeper_.join();
  }
  if (loaded_) loaded_->attachments.stop();  // no new packets past this point
  if (reader_) reader_->stop();
  if (sink_) {
    Status flushed = sink_->flush(true);
    if (!flushed) log_warn("flushing dns events failed", {{"err", flushed.message()}});
  }
  reader_.reset();
  loaded_.reset();
  sink_.reset();
}

int DnsCollector::filter_prog_fd() const {
  return loaded_ ? bpf_program__fd(loaded_->skeleton.skel->progs.dns_filter) : -1;
}

int DnsCollector::tc_prog_fd(bool egress) const {
  if (!loaded_) return -1;
  const dns_bpf& skel = *loaded_->skeleton.skel;
  return bpf_program__fd(egress ? skel.progs.dns_tc_egress : skel.progs.dns_tc_ingress);
}

std::map<std::string, std::string> DnsCollector::attached_interfaces() const {
  return loaded_ ? loaded_->attachments.interfaces() : std::map<std::string, std::string>{};
}

int DnsCollector::pending_map_fd() const {
  return loaded_ ? bpf_map__fd(loaded_->skeleton.skel->maps.dns_pending) : -1;
}

BpfStatus DnsCollector::bpf_status_impl() const {
  BpfStatus status;
  if (!loaded_) return status;
  const dns_bpf& skel = *loaded_->skeleton.skel;
  status.programs = loaded_->skeleton.attachment.programs;
  const InterfaceAttachments::Summary attached = loaded_->attachments.summary();
  const std::string tc_kind = attached.tc_kind.empty() ? "tcx" : attached.tc_kind;
  status.programs.push_back({"dns_tc_ingress", tc_kind, attached.tc_interfaces > 0,
                             bpf_program__fd(skel.progs.dns_tc_ingress)});
  status.programs.push_back({"dns_tc_egress", tc_kind, attached.tc_interfaces > 0,
                             bpf_program__fd(skel.progs.dns_tc_egress)});
  status.programs.push_back({"dns_filter", "socket_filter",
                             attached.all_interfaces_socket || attached.socket_interfaces > 0,
                             bpf_program__fd(skel.progs.dns_filter)});
  auto map = [&status](const char* name, const bpf_map* m, uint64_t errors) {
    status.maps.push_back({name, bpf_map__fd(m), bpf_map__max_entries(m), errors});
  };
  map("dns_pending", skel.maps.dns_pending, read_counter(DNS_C_CORR_INSERT_ERRORS));
  map("dns_stats", skel.maps.dns_stats, read_counter(DNS_C_STATS_UPDATE_ERRORS));
  if (loaded_->servers) {
    map("dns_servers", skel.maps.dns_servers, read_counter(DNS_C_SERVERS_OVERFLOW));
  }
  if (events_on_ || attribution_) map("dns_procs", skel.maps.dns_procs, 0);
  if (attribution_) map("dns_cgroup_stats", skel.maps.dns_cgroup_stats, 0);
  status.has_event_stream = events_on_;
  status.events_lost = read_counter(DNS_C_EVENTS_LOST);
  return status;
}

}  // namespace netobs
