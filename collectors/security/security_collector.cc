#include "collectors/security/security_collector.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <arpa/inet.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <iostream>
#include <mutex>
#include <map>
#include <set>
#include <thread>

#include "bpf/security.h"
#include "collectors/security/blocklist.h"
#include "collectors/security/security_config.h"
#include "collectors/security/security_rules.h"
#include "collectors/security/security_webhook.h"
#include "config/config.h"
#include "exporter/attribution/attribution.h"
#include "exporter/bpf/map_reader.h"
#include "exporter/events/event_sink.h"
#include "exporter/events/ring_buffer_reader.h"
#include "exporter/log.h"
#include "exporter/net/interface_attachments.h"
#include "exporter/net/interface_selector.h"
#include "exporter/net/tc_attachment.h"
#include "security.skel.h"

namespace netobs {
namespace {

constexpr size_t kTypes = std::size(kAllDetectionTypes);

// The JSON sinks' schema: security alerts are pre-formatted lines.
EventSchema security_event_schema() { return {.kind = "security", .fields = {}}; }

uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// A blocklist trie key as user space tracks it (family, prefix, bytes).
using TrieKey = std::tuple<int, uint8_t, std::array<uint8_t, 16>>;

template <typename Key>
Key lpm_key(const Cidr& cidr) {
  Key key{};
  key.prefixlen = cidr.prefix_len;
  std::memcpy(key.addr, cidr.bytes.data(), sizeof key.addr);
  return key;
}

Status update_lpm(bpf_map* v4, bpf_map* v6, const Cidr& cidr, const void* value) {
  int rc = 0;
  if (cidr.family == AF_INET) {
    auto key = lpm_key<netobs_sec_lpm_v4>(cidr);
    rc = bpf_map__update_elem(v4, &key, sizeof key, value, bpf_map__value_size(v4), BPF_ANY);
  } else {
    auto key = lpm_key<netobs_sec_lpm_v6>(cidr);
    rc = bpf_map__update_elem(v6, &key, sizeof key, value, bpf_map__value_size(v6), BPF_ANY);
  }
  if (rc != 0) {
    return Status::error("adding " + cidr.to_string() + " to the kernel map failed: " +
                         errno_message(-rc) + " (at most 65536 blocklist entries per family)");
  }
  return Status::ok();
}

void delete_lpm(bpf_map* v4, bpf_map* v6, const Cidr& cidr) {
  if (cidr.family == AF_INET) {
    auto key = lpm_key<netobs_sec_lpm_v4>(cidr);
    bpf_map__delete_elem(v4, &key, sizeof key, 0);
  } else {
    auto key = lpm_key<netobs_sec_lpm_v6>(cidr);
    bpf_map__delete_elem(v6, &key, sizeof key, 0);
  }
}

// Sets the bits of `block_prefixes` for the leading 16 bits `cidr` covers.
void add_prefix_bits(netobs_sec_block_prefixes& bits, const Cidr& cidr) {
  __u64* words = cidr.family == AF_INET ? bits.v4 : bits.v6;
  const uint32_t first16 = (uint32_t{cidr.bytes[0]} << 8) | cidr.bytes[1];
  const uint32_t span = cidr.prefix_len >= 16 ? 1u : 1u << (16 - cidr.prefix_len);
  const uint32_t start = first16 & ~(span - 1);
  for (uint32_t i = start; i < start + span; ++i) words[i >> 6] |= __u64{1} << (i & 63);
}

Status write_prefix_bits(bpf_map* map, const netobs_sec_block_prefixes& bits) {
  const uint32_t zero = 0;
  const int rc = bpf_map__update_elem(map, &zero, sizeof zero, &bits, sizeof bits, BPF_ANY);
  if (rc != 0) {
    return Status::error("writing the blocklist prefix bits failed: " + errno_message(-rc));
  }
  return Status::ok();
}

// Runs `step` on a short-lived thread that joined `netns_path`'s network
// namespace ("": this one). The DNS-answer check is attached there: tc
// links, packet sockets and the link watcher's netlink socket belong to
// the namespace of the thread that makes them, and the watcher thread
// started from it stays in it.
Status in_network_namespace(const std::string& netns_path, const std::function<Status()>& step) {
  UniqueFd ns;
  if (!netns_path.empty()) {
    ns = UniqueFd(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid()) {
      return Status::error("opening network namespace " + netns_path +
                           " failed: " + errno_message(errno));
    }
  }
  Status result = Status::ok();
  std::thread([&] {
    if (ns.valid() && ::setns(ns.get(), CLONE_NEWNET) != 0) {
      result = Status::error("joining network namespace " + netns_path +
                             " failed: " + errno_message(errno));
      return;
    }
    result = step();
  }).join();
  return result;
}

using AddrKey = std::pair<int, std::array<uint8_t, 16>>;

// The addresses of the interfaces `selector` leaves out, in `netns_path`'s
// namespace ("": this one), read on a short-lived thread that joined it.
Result<std::map<AddrKey, uint32_t>> filtered_addresses(const InterfaceSelector& selector,
                                                       const std::string& netns_path) {
  std::map<AddrKey, uint32_t> out;
  std::string error;
  std::thread([&] {
    if (!netns_path.empty()) {
      UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!ns.valid() || ::setns(ns.get(), CLONE_NEWNET) != 0) {
        error = "joining " + netns_path + ": " + errno_message(errno);
        return;
      }
    }
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
      error = "listing the interface addresses: " + errno_message(errno);
      return;
    }
    for (ifaddrs* a = list; a; a = a->ifa_next) {
      if (!a->ifa_addr || !a->ifa_name || selector.matches(a->ifa_name)) continue;
      AddrKey key{a->ifa_addr->sa_family, {}};
      if (key.first == AF_INET) {
        std::memcpy(key.second.data(), &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, 4);
      } else if (key.first == AF_INET6) {
        std::memcpy(key.second.data(), &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr,
                    16);
      } else {
        continue;
      }
      out[key] = ::if_nametoindex(a->ifa_name);
    }
    ::freeifaddrs(list);
  }).join();
  if (!error.empty()) return Status::error(error);
  return out;
}

Result<uint32_t> netns_inode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::error(
        "collectors.security.network_namespace " + path + ": " + errno_message(errno) +
        "; give an existing namespace such as /run/netns/NAME or /proc/PID/ns/net");
  }
  return static_cast<uint32_t>(st.st_ino);
}

}  // namespace

struct SecurityCollector::Loaded {
  LoadedSkeleton<security_bpf> skeleton;
  SecurityConfig config;
  std::string procfs;
  uint64_t unix_minus_monotonic_ns = 0;
  std::vector<std::shared_ptr<EventSink>> sinks;
  std::unique_ptr<WebhookSender> webhook;
  // The options' hook, or the shared attribution (attribution: cgroup).
  std::function<void(uint64_t, uint32_t, Detection&)> attribute;
  RingBufferReader reader;
  // The DNS-answer check on the watched namespace's interfaces, when on.
  std::unique_ptr<InterfaceAttachments> dns_attachments;

  // Reader thread only.
  std::optional<DetectionRateLimiter> limiter;
  std::set<TrieKey> blocklist_keys;                         // what the kernel tries hold now
  std::unique_ptr<netobs_sec_block_prefixes> prefix_bits =  // what block_prefixes holds now
      std::make_unique<netobs_sec_block_prefixes>();
  std::optional<InterfaceSelector> interfaces;  // with network.interfaces/exclude_interfaces
  std::map<AddrKey, uint32_t> filtered;         // what filtered_addrs holds now
  std::chrono::steady_clock::time_point next_address_check{};
  std::vector<FileStamp> stamps;
  std::chrono::steady_clock::time_point next_check{};

  std::atomic<bool> reload_requested{false};
  std::array<std::atomic<uint64_t>, kTypes> detections{};
  std::array<std::atomic<uint64_t>, kTypes> suppressed{};
  std::atomic<uint64_t> blocklist_entries{0}, blocklist_errors{0}, blocklist_loads{0};

  void reload_blocklists();
  void refresh_filtered_addresses();
  void maybe_reload();
  void on_event(const netobs_sec_event& event);
  void on_dns_event(const netobs_sec_dns_event& event);
  void report(Detection& d, const std::string& rate_key);
  std::string executable(uint32_t pid, const std::string& comm) const;
};

void SecurityCollector::Loaded::reload_blocklists() {
  stamps = stamp_files(config.blocklists);
  Blocklists lists = load_blocklists(config.blocklists);
  for (const std::string& error : lists.errors) {
    log_warn("blocklist line skipped", {{"collector", "security"}, {"err", error}});
  }
  security_bpf& skel = *skeleton.skel;
  std::set<TrieKey> fresh;
  uint64_t errors = lists.errors.size();
  // The prefix bits of old and new entries before the tries change, only
  // the new ones after: a listed address never has its bit clear.
  auto fresh_bits = std::make_unique<netobs_sec_block_prefixes>();
  for (const BlocklistEntry& entry : lists.entries) add_prefix_bits(*fresh_bits, entry.cidr);
  netobs_sec_block_prefixes both = *prefix_bits;
  for (size_t i = 0; i < NETOBS_SEC_PREFIX_WORDS; ++i) {
    both.v4[i] |= fresh_bits->v4[i];
    both.v6[i] |= fresh_bits->v6[i];
  }
  if (Status s = write_prefix_bits(skel.maps.block_prefixes, both); !s) {
    log_warn("blocklists not reloaded", {{"collector", "security"}, {"err", s.message()}});
    return;
  }
  *prefix_bits = both;
  // New entries first, stale ones after: an address listed in both the old
  // and the new files is never missing from the kernel.
  for (const BlocklistEntry& entry : lists.entries) {
    const netobs_sec_block_value value{.list = entry.list, .line = entry.line};
    Status status = update_lpm(skel.maps.block_v4, skel.maps.block_v6, entry.cidr, &value);
    if (!status) {
      log_warn("blocklist entry not loaded",
               {{"collector", "security"}, {"err", status.message()}});
      ++errors;
      continue;
    }
    fresh.insert({entry.cidr.family, entry.cidr.prefix_len, entry.cidr.bytes});
  }
  for (const TrieKey& key : blocklist_keys) {
    if (fresh.contains(key)) continue;
    Cidr cidr{
        .family = std::get<0>(key), .prefix_len = std::get<1>(key), .bytes = std::get<2>(key)};
    delete_lpm(skel.maps.block_v4, skel.maps.block_v6, cidr);
  }
  blocklist_keys = std::move(fresh);
  if (write_prefix_bits(skel.maps.block_prefixes, *fresh_bits)) prefix_bits = std::move(fresh_bits);
  blocklist_entries.store(blocklist_keys.size());
  blocklist_errors.store(errors);
  blocklist_loads.fetch_add(1);
  log_info("blocklists loaded", {{"collector", "security"},
                                 {"files", std::to_string(config.blocklists.size())},
                                 {"entries", std::to_string(blocklist_keys.size())},
                                 {"skipped", std::to_string(errors)}});
}

void SecurityCollector::Loaded::refresh_filtered_addresses() {
  Result<std::map<AddrKey, uint32_t>> fresh =
      filtered_addresses(*interfaces, config.network_namespace);
  if (!fresh) {
    log_warn("interface addresses not read",
             {{"collector", "security"}, {"err", fresh.status().message()}});
    return;
  }
  bpf_map* map = skeleton.skel->maps.filtered_addrs;
  for (const auto& [key, ifindex] : *fresh) {
    netobs_sec_addr_key k{.family = static_cast<__u32>(key.first), .addr = {}};
    std::memcpy(k.addr, key.second.data(), sizeof k.addr);
    bpf_map__update_elem(map, &k, sizeof k, &ifindex, sizeof ifindex, BPF_ANY);
  }
  for (const auto& [key, ifindex] : filtered) {
    if (fresh->contains(key)) continue;
    netobs_sec_addr_key k{.family = static_cast<__u32>(key.first), .addr = {}};
    std::memcpy(k.addr, key.second.data(), sizeof k.addr);
    bpf_map__delete_elem(map, &k, sizeof k, 0);
  }
  filtered = std::move(*fresh);
}

void SecurityCollector::Loaded::maybe_reload() {
  if (interfaces) {
    // Addresses come and go (DHCP, new veths): re-read as often as the files.
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_address_check) {
      next_address_check =
          now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(config.blocklist_check_interval_seconds));
      refresh_filtered_addresses();
    }
  }
  if (config.blocklists.empty()) return;
  bool reload = reload_requested.exchange(false);
  const auto now = std::chrono::steady_clock::now();
  if (!reload && now >= next_check) {
    next_check = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(config.blocklist_check_interval_seconds));
    reload = stamp_files(config.blocklists) != stamps;
  }
  if (reload) reload_blocklists();
}

std::string SecurityCollector::Loaded::executable(uint32_t pid, const std::string& comm) const {
  const std::string link = procfs + "/" + std::to_string(pid) + "/exe";
  char target[PATH_MAX];
  const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return comm;  // the task already exited, or is a kernel thread
  return std::string(target, static_cast<size_t>(n));
}

void SecurityCollector::Loaded::on_event(const netobs_sec_event& event) {
  Detection d =
      detection_from_event(event, event.ktime_ns + unix_minus_monotonic_ns, config.blocklists);
  if (d.matches.empty()) return;
  report(d, std::string(detection_type_name(d.type)) + "|" + d.peer_ip);
}

void SecurityCollector::Loaded::on_dns_event(const netobs_sec_dns_event& event) {
  Detection d = detection_from_dns_event(event, event.e.ktime_ns + unix_minus_monotonic_ns,
                                         config.blocklists);
  if (d.matches.empty()) return;
  // Per answer address and name: one server answering many bad names is
  // many detections.
  report(d, std::string(detection_type_name(d.type)) + "|" + d.dns_answer + "|" + d.dns_name);
}

void SecurityCollector::Loaded::report(Detection& d, const std::string& key) {
  const size_t type = static_cast<size_t>(d.type);
  std::optional<uint64_t> admitted =
      limiter->admit(key, static_cast<double>(clock_ns(CLOCK_MONOTONIC)) / 1e9);
  if (!admitted) {
    suppressed[type].fetch_add(1);
    return;
  }
  d.suppressed = *admitted;
  if (d.pid != 0) d.executable = executable(d.pid, d.comm);
  if (attribute && d.cgroup_id != 0) attribute(d.cgroup_id, d.pid, d);
  const std::string json = format_detection_json(d);
  for (const auto& sink : sinks) {
    Status status = sink->write_line(json);
    if (!status) log_warn("security event not written", {{"err", status.message()}});
  }
  if (webhook) webhook->enqueue(json);
  detections[type].fetch_add(1);
}

const HookLadder& SecurityCollector::dns_client_ladder() {
  static const HookLadder kLadder{
      "sock_send_length",
      {{AttachKind::kTpBtf, "security_dns_client_btf", "sock/sock_send_length"},
       {AttachKind::kRawTp, "security_dns_client_raw", "sock/sock_send_length"},
       {AttachKind::kTracepoint, "security_dns_client_tp", "sock/sock_send_length"}},
      false};
  return kLadder;
}

const std::vector<HookLadder>& SecurityCollector::ladders() {
  static const std::vector<HookLadder> kLadders = {
      {"inet_sock_set_state",
       {{AttachKind::kTpBtf, "security_set_state_btf", "sock/inet_sock_set_state"},
        {AttachKind::kRawTp, "security_set_state_raw", "sock/inet_sock_set_state"},
        {AttachKind::kTracepoint, "security_set_state_tp", "sock/inet_sock_set_state"}},
       true}};
  return kLadders;
}

SecurityCollector::SecurityCollector(SecurityCollectorOptions options)
    : Collector(std::string(kName)), options_(std::move(options)) {}
SecurityCollector::~SecurityCollector() { stop(); }

Status SecurityCollector::start_impl(const CollectorContext& context) {
  auto loaded = std::make_unique<Loaded>();
  loaded->config = context.config.collector<SecurityConfig>();
  loaded->procfs = context.config.exporter.procfs;
  const SecurityConfig& config = loaded->config;
  Result<SecurityRules> rules = build_security_rules(config, context.config.network);
  if (!rules) return Status::error("collectors.security: " + rules.status().message());

  uint32_t netns = 0;
  if (!config.network_namespace.empty()) {
    Result<uint32_t> inode = netns_inode(config.network_namespace);
    if (!inode) return inode.status();
    netns = *inode;
  }
  // DNS answers are read where the packet socket is: the watched namespace,
  // or this process's own.
  const bool dns_answers = config.dns_answers && !config.blocklists.empty();
  uint32_t dns_netns = netns;
  if (dns_answers && dns_netns == 0) {
    Result<uint32_t> own = netns_inode("/proc/self/ns/net");
    if (!own) return own.status();
    dns_netns = *own;
  }
  const InterfaceSelector selector = InterfaceSelector::from_network(context.config.network);
  std::vector<HookLadder> hook_ladders = ladders();
  if (dns_answers) hook_ladders.push_back(dns_client_ladder());
  LadderLoadOptions load_options;
  load_options.collector = name();
  load_options.force_kind = options_.force_kind;
  auto skeleton = load_skeleton_with_ladders<security_bpf>(
      hook_ladders, context.preflight, load_options, [&](security_bpf& skel) -> Status {
        skel.rodata->target_netns = netns;
        skel.rodata->dns_netns = dns_netns;
        skel.rodata->has_interface_rules = selector.selects_all() ? 0 : 1;
        skel.rodata->dns_port = config.dns_port;
        if (!dns_answers) {
          bpf_program__set_autoload(skel.progs.security_dns_answers, false);
          bpf_program__set_autoload(skel.progs.security_dns_answers_tc, false);
          bpf_program__set_autoload(skel.progs.security_dns_client_btf, false);
          bpf_program__set_autoload(skel.progs.security_dns_client_raw, false);
          bpf_program__set_autoload(skel.progs.security_dns_client_tp, false);
          bpf_map__set_max_entries(skel.maps.dns_clients, 1);
        }
        skel.rodata->external_alerts = config.external_connection_alerts ? 1 : 0;
        skel.rodata->has_port_rules = !rules->ports.empty() || rules->default_port_excluded;
        skel.rodata->default_port_excluded = rules->default_port_excluded ? 1 : 0;
        bool exclusions = rules->default_excluded;
        for (const ClassEntry& entry : rules->classes) {
          exclusions = exclusions || (entry.bits & NETOBS_SEC_CLASS_EXCLUDED);
        }
        skel.rodata->has_class_rules = exclusions ? 1 : 0;
        skel.rodata->default_excluded = rules->default_excluded ? 1 : 0;
        return Status::ok();
      });
  if (!skeleton) return skeleton.status();
  loaded->skeleton = std::move(*skeleton);
  security_bpf& skel = *loaded->skeleton.skel;
  for (const ClassEntry& entry : rules->classes) {
    Status status = update_lpm(skel.maps.class_v4, skel.maps.class_v6, entry.cidr, &entry.bits);
    if (!status) return status;
  }
  for (const auto& [port, bits] : rules->ports) {
    if (bpf_map__update_elem(skel.maps.ports, &port, sizeof port, &bits, sizeof bits, BPF_ANY) !=
        0) {
      return Status::error("filling the suspicious-port map failed: " + errno_message(errno));
    }
  }
  if (!selector.selects_all()) {
    loaded->interfaces = selector;
    loaded->refresh_filtered_addresses();
    loaded->next_address_check = std::chrono::steady_clock::now();
  }
  loaded->limiter.emplace(config.rate_limit_interval_seconds, config.rate_limit_max_peers);
  loaded->reload_blocklists();
  loaded->unix_minus_monotonic_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
  if (dns_answers) {
    // tc ingress on every selected interface (a packet socket of its own
    // where tc cannot attach), or, forced, the socket filter alone.
    InterfaceAttachments::Programs programs;
    programs.tc_ingress = bpf_program__fd(skel.progs.security_dns_answers_tc);
    programs.socket_filter = bpf_program__fd(skel.progs.security_dns_answers);
    programs.ingress_slot = kSecurityDnsTcIngressSlot;
    using DnsHook = SecurityCollectorOptions::DnsHook;
    const bool socket = options_.dns_hook == DnsHook::kSocketFilter;
    loaded->dns_attachments = std::make_unique<InterfaceAttachments>();
    Status attached = in_network_namespace(config.network_namespace, [&] {
      return loaded->dns_attachments->start(
          "security", programs,
          socket ? InterfaceAttachments::Mode::kSocketFilter : InterfaceAttachments::Mode::kTc,
          options_.dns_hook != DnsHook::kTcClsact, selector);
    });
    if (!attached) {
      return Status::error("collectors.security: DNS answer checks: " + attached.message() +
                           " (needs CAP_NET_RAW; set dns_answers: false to go without)");
    }
  }

  loaded->attribute = options_.attribute;
  if (!loaded->attribute && config.attribution == "cgroup") {
    // Resolved on the reader thread when an alert is written; never waits
    // for the kubelet (names appear once the metadata is cached).
    Result<std::shared_ptr<Attribution>> shared =
        Attribution::shared(attribution_options(context.config));
    if (shared) {
      loaded->attribute = [a = *shared](uint64_t cgroup_id, uint32_t, Detection& d) {
        const CgroupLabels labels = a->labels(cgroup_id);
        if (!labels.resolved) return;
        for (auto& kv : cgroup_attributes(labels)) d.attributes.push_back(std::move(kv));
      };
    } else {
      log_warn("security alerts without container attributes",
               {{"collector", "security"}, {"err", shared.status().message()}});
    }
  }
  if (options_.event_sink) loaded->sinks.push_back(options_.event_sink);
  if (config.stdout_events) {
    loaded->sinks.push_back(
        std::make_shared<StreamEventSink>(std::cout, EventFormat::kJson, security_event_schema()));
  }
  if (!context.config.events.output_dir.empty()) {
    Result<std::string> dir =
        event_run_directory(context.config.events.output_dir, "security", std::time(nullptr));
    if (!dir) return Status::error("security events: " + dir.status().message());
    auto sink = RotatingFileEventSink::open({.directory = *dir,
                                             .format = EventFormat::kJson,
                                             .rotate_bytes = context.config.events.rotate_bytes},
                                            security_event_schema());
    if (!sink) return Status::error("security events: " + sink.status().message());
    loaded->sinks.push_back(std::move(*sink));
    log_info("security events", {{"collector", "security"}, {"dir", *dir}});
  }
  if (!config.webhook_url.empty()) {
    loaded->webhook = std::make_unique<WebhookSender>(
        WebhookOptions{.url = config.webhook_url,
                       .queue_size = config.webhook_queue_size,
                       .max_retries = config.webhook_max_retries,
                       .timeout_seconds = config.webhook_timeout_seconds});
  }
  Loaded* state = loaded.get();
  Status reader = loaded->reader.start(
      bpf_map__fd(skel.maps.events), "security",
      [state](const void* data, size_t size) {
        if (size < sizeof(netobs_sec_event)) return;
        if (size >= sizeof(netobs_sec_dns_event) &&
            static_cast<const netobs_sec_event*>(data)->direction == NETOBS_SEC_DNS_ANSWER) {
          auto dns = std::make_unique<netobs_sec_dns_event>();
          std::memcpy(dns.get(), data, sizeof *dns);
          state->on_dns_event(*dns);
          return;
        }
        netobs_sec_event event;
        std::memcpy(&event, data, sizeof event);
        state->on_event(event);
      },
      [state] {
        state->maybe_reload();
        for (const auto& sink : state->sinks) (void)sink->flush(false);
      });
  if (!reader) return reader;
  loaded_ = std::move(loaded);
  log_info("security collector started",
           {{"collector", name()},
            {"attach", attach_kind()},
            {"suspicious_ports", std::to_string(config.suspicious_ports.size())},
            {"external_connection_alerts", config.external_connection_alerts ? "true" : "false"},
            {"blocklist_entries", std::to_string(loaded_->blocklist_entries.load())}});
  return Status::ok();
}

void SecurityCollector::reloaded_impl() {
  if (loaded_) loaded_->reload_requested.store(true);
}

std::string SecurityCollector::attach_kind() const {
  if (!loaded_ || loaded_->skeleton.attachment.programs.empty()) return "";
  return loaded_->skeleton.attachment.programs.front().attach;
}

int SecurityCollector::dns_answer_prog_fd(bool tc) const {
  if (!loaded_ || !loaded_->dns_attachments) return -1;
  const security_bpf& skel = *loaded_->skeleton.skel;
  return bpf_program__fd(tc ? skel.progs.security_dns_answers_tc : skel.progs.security_dns_answers);
}

std::map<std::string, std::string> SecurityCollector::dns_answer_interfaces() const {
  if (!loaded_ || !loaded_->dns_attachments) return {};
  return loaded_->dns_attachments->interfaces();
}

SecuritySnapshot SecurityCollector::snapshot() const {
  SecuritySnapshot s;
  if (!loaded_) return s;
  for (size_t i = 0; i < kTypes; ++i) {
    s.detections[i] = loaded_->detections[i].load();
    s.suppressed[i] = loaded_->suppressed[i].load();
  }
  Result<uint64_t> checked = sum_percpu_u64(MapRef::of(loaded_->skeleton.skel->maps.counters),
                                            NETOBS_SEC_CONNECTIONS_CHECKED);
  if (checked) s.connections_checked = *checked;
  Result<uint64_t> dns_checked = sum_percpu_u64(MapRef::of(loaded_->skeleton.skel->maps.counters),
                                                NETOBS_SEC_DNS_RESPONSES_CHECKED);
  if (dns_checked) s.dns_responses_checked = *dns_checked;
  s.blocklist_entries = loaded_->blocklist_entries.load();
  s.blocklist_errors = loaded_->blocklist_errors.load();
  s.blocklist_loads = loaded_->blocklist_loads.load();
  if (loaded_->webhook) s.webhook = loaded_->webhook->counters();
  return s;
}

Status SecurityCollector::collect_impl(std::vector<prometheus::MetricFamily>& out) {
  append_security_families(snapshot(), out);
  return Status::ok();
}

void SecurityCollector::stop_impl() {
  if (!loaded_) return;
  if (loaded_->dns_attachments) {
    // clsact filters are removed by ifindex: from inside the namespace.
    (void)in_network_namespace(loaded_->config.network_namespace, [this] {
      loaded_->dns_attachments->stop();
      return Status::ok();
    });
  }
  loaded_->reader.stop();  // delivers what is left in the ring first
  if (loaded_->webhook) loaded_->webhook->stop();
  for (const auto& sink : loaded_->sinks) (void)sink->flush(true);
  loaded_.reset();
}

BpfStatus SecurityCollector::bpf_status_impl() const {
  BpfStatus status;
  if (!loaded_) return status;
  status.programs = loaded_->skeleton.attachment.programs;
  const security_bpf& skel = *loaded_->skeleton.skel;
  if (loaded_->dns_attachments) {
    const InterfaceAttachments::Summary attached = loaded_->dns_attachments->summary();
    status.programs.push_back(
        {"security_dns_answers_tc", attached.tc_kind.empty() ? "tcx" : attached.tc_kind,
         attached.tc_interfaces > 0, bpf_program__fd(skel.progs.security_dns_answers_tc)});
    status.programs.push_back({"security_dns_answers", "socket_filter",
                               attached.all_interfaces_socket || attached.socket_interfaces > 0,
                               bpf_program__fd(skel.progs.security_dns_answers)});
  }
  for (auto [map_name, map] :
       {std::pair{"block_v4", skel.maps.block_v4}, std::pair{"block_v6", skel.maps.block_v6},
        std::pair{"class_v4", skel.maps.class_v4}, std::pair{"class_v6", skel.maps.class_v6}}) {
    status.maps.push_back({map_name, bpf_map__fd(map), bpf_map__max_entries(map), 0});
  }
  status.has_event_stream = true;
  Result<uint64_t> lost = sum_percpu_u64(MapRef::of(skel.maps.counters), NETOBS_SEC_EVENTS_LOST);
  if (lost) status.events_lost = *lost;
  return status;
}

}  // namespace netobs
