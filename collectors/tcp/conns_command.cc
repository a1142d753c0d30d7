#include "collectors/tcp/conns_command.h"
#include "exporter/errno_name.h"
#include "exporter/subcommand.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <algorithm>
#include <limits>
#include <map>
#include <string_view>
#include <system_error>
#include <thread>

#include "collectors/snmp/rate_history.h"
#include "collectors/tcp/conns.h"
#include "exporter/bounded_file.h"
#include "exporter/builtin_config.h"
#include "exporter/log.h"

namespace netobs {
namespace {

struct ConnsOptions {
  ConnsFilter filter;
  ConnsSort sort = ConnsSort::kNone;
  size_t top = 0;
  std::optional<double> interval;
  std::optional<long> count;
  bool json = false;
  bool explain = false;
  bool processes = true;
  std::optional<std::string> netns;
  std::string procfs = "/proc";
  std::optional<std::string> config_file;
};

uint16_t parse_port(const std::string& flag, const std::string& text) {
  return static_cast<uint16_t>(parse_whole_flag(flag, text, 1, 65535));
}

long parse_whole(const std::string& flag, const std::string& text) {
  return static_cast<long>(parse_whole_flag(flag, text, 1, LONG_MAX));
}

// Normalizes an address as the kernel records print it ("::ffff:1.2.3.4"
// is shown as "1.2.3.4").
std::string parse_ip(const std::string& flag, const std::string& text) {
  unsigned char bytes[16] = {};
  char out[64] = {};
  if (inet_pton(AF_INET, text.c_str(), bytes) == 1) {
    inet_ntop(AF_INET, bytes, out, sizeof out);
    return out;
  }
  if (inet_pton(AF_INET6, text.c_str(), bytes) == 1) {
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(bytes, kMapped, 12) == 0) {
      inet_ntop(AF_INET, bytes + 12, out, sizeof out);
    } else {
      inet_ntop(AF_INET6, bytes, out, sizeof out);
    }
    return out;
  }
  throw UsageError(flag + ": \"" + text + "\" is not an IPv4 or IPv6 address");
}

std::set<uint8_t> parse_states(const std::string& text) {
  std::set<uint8_t> states;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string name =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (name == "all") {
      for (uint8_t s = 1; s <= kTcpMaxState; ++s) states.insert(s);
    } else if (std::optional<uint8_t> state = parse_tcp_state(name)) {
      states.insert(*state);
    } else {
      throw UsageError("--state: unknown state \"" + name +
                       "\"; use established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, "
                       "time-wait, close, close-wait, last-ack, listen, closing or all");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return states;
}

ConnsOptions parse_options(const ParsedFlags& flags) {
  ConnsOptions options;
  for (const auto& [flag, text] : flags.entries()) {
    const std::string& arg = flag->name;
    auto value = [&text] { return text; };
    if (arg == "--local-ip") {
      options.filter.local_ip = parse_ip(arg, value());
    } else if (arg == "--remote-ip") {
      options.filter.remote_ip = parse_ip(arg, value());
    } else if (arg == "--local-port") {
      options.filter.local_port = parse_port(arg, value());
    } else if (arg == "--remote-port") {
      options.filter.remote_port = parse_port(arg, value());
    } else if (arg == "--state") {
      options.filter.states = parse_states(value());
    } else if (arg == "--role") {
      const std::string role = value();
      if (role == "server") {
        options.filter.role = ConnsRole::kServer;
      } else if (role == "client") {
        options.filter.role = ConnsRole::kClient;
      } else {
        throw UsageError("--role: expected server or client, got \"" + role + "\"");
      }
    } else if (arg == "--sort") {
      const std::string key = value();
      if (key == "rtt") {
        options.sort = ConnsSort::kRtt;
      } else if (key == "retrans") {
        options.sort = ConnsSort::kRetrans;
      } else if (key == "bytes") {
        options.sort = ConnsSort::kBytes;
      } else {
        throw UsageError("--sort: expected rtt, retrans or bytes, got \"" + key + "\"");
      }
    } else if (arg == "--top") {
      options.top = static_cast<size_t>(parse_whole(arg, value()));
    } else if (arg == "--interval") {
      options.interval = parse_seconds_flag(arg, value());
    } else if (arg == "--count") {
      options.count = parse_whole(arg, value());
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--explain") {
      options.explain = true;
    } else if (arg == "--no-process") {
      options.processes = false;
    } else if (arg == "--netns") {
      options.netns = value();
    } else if (arg == "--path.procfs") {
      options.procfs = value();
    } else if (arg == "--config.file") {
      options.config_file = value();
    }
  }
  if (options.count && !options.interval) {
    throw UsageError("--count needs --interval (one refresh per interval)");
  }
  return options;
}

const RatioDefinition* ratio_named(std::string_view name) {
  for (const RatioDefinition& d : ratio_definitions()) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

using MibValues = std::map<MibKey, uint64_t>;

MibValues mib_values(const MibSnapshot& snapshot) {
  MibValues values;
  for (const MibEntry& e : snapshot.parsed.entries) {
    if (!e.value.negative) values[{e.group, e.field}] = e.value.bits;
  }
  return values;
}

// Ratios over the increase from `before` (nullopt: since boot) to `now`.
SystemRatios system_ratios(const MibValues& now, const std::optional<MibValues>& before,
                           std::string span) {
  IncreaseLookup increase = [&](const MibKey& key) -> std::optional<uint64_t> {
    auto it = now.find(key);
    if (it == now.end()) return std::nullopt;
    if (!before) return it->second;
    auto old = before->find(key);
    return counter_increase(old == before->end() ? 0 : old->second, it->second);
  };
  SystemRatios ratios;
  ratios.span = std::move(span);
  auto compute = [&](std::string_view name) -> std::optional<double> {
    const RatioDefinition* d = ratio_named(name);
    return d ? compute_ratio(*d, increase) : std::nullopt;
  };
  ratios.retransmission = compute("retransmission");
  ratios.tlp_share = compute("tlp_share");
  ratios.fast_share = compute("fast_retransmit_share");
  ratios.rto_share = compute("rto_share");
  return ratios;
}

// More rows than this with --top: their owners are found like all rows'.
constexpr size_t kManyRows = 1024;

int run_with(const ConnsOptions& options, std::ostream& out, std::ostream& err,
             ConnsSource& source) {
  SnmpThresholds thresholds;
  if (options.config_file) {
    ConfigLoadResult loaded = load_config_file(*options.config_file);
    if (!loaded.ok()) {
      err << "netobs conns: " << loaded.format_errors() << "\n";
      return 2;
    }
    thresholds = loaded.config.collector<SnmpConfig>().thresholds;
  }
  const long refreshes =
      options.count.value_or(options.interval ? std::numeric_limits<long>::max() : 1);
  std::optional<ConnHistory> history;
  std::optional<MibValues> previous_counters;
  const double start = source.monotonic_seconds();
  for (long step = 0; step < refreshes; ++step) {
    if (step > 0) {
      const double due = start + static_cast<double>(step) * *options.interval;
      const double now = source.monotonic_seconds();
      if (due > now) source.sleep_for(due - now);
    }
    if (options.processes) source.prefetch_owners(options.top == 0 || options.top > kManyRows);
    Result<std::vector<TcpSocketRecord>> records = source.dump();
    if (!records) {
      err << "netobs conns: " << records.message() << "\n";
      return 1;
    }
    std::vector<TcpSocketRecord>& dumped = *records;
    const std::set<uint16_t> listening = listening_ports(dumped);
    // Deltas need the previous refresh: only remembered with --interval.
    std::optional<ConnHistory> next_history;
    if (options.interval) next_history = remember(dumped);
    std::vector<ConnView> conns;
    conns.reserve(dumped.size());
    for (TcpSocketRecord& r : dumped) {
      if (!conn_matches(r, options.filter, listening)) continue;
      ConnView& view = conns.emplace_back();
      view.server = r.state != kTcpListen && listening.contains(r.local_port);
      view.record = std::move(r);  // records are not used after this loop
    }
    if (history) apply_deltas(conns, *history);
    if (next_history) history = std::move(next_history);
    sort_and_cut(conns, options.sort, options.top);
    if (options.processes) {
      std::unordered_set<uint32_t> inodes;
      for (const ConnView& c : conns) {
        if (c.record.inode != 0) inodes.insert(c.record.inode);
      }
      auto owners = source.owners(inodes);
      for (ConnView& c : conns) {
        auto it = owners.find(c.record.inode);
        if (it != owners.end()) c.owners = it->second;
      }
    }

    std::optional<SystemRatios> system;
    std::vector<std::vector<std::string>> explanations;
    if (options.explain) {
      MibSnapshot snapshot = source.counters();
      if (!snapshot.parsed.entries.empty()) {
        MibValues now = mib_values(snapshot);
        char span[48];
        std::snprintf(span, sizeof span, "last %g s", options.interval.value_or(0));
        SystemRatios ratios =
            system_ratios(now, previous_counters, previous_counters ? span : "since boot");
        // No retransmission in the interval: the since-boot view says more.
        if (previous_counters && !ratios.tlp_share) {
          ratios = system_ratios(now, std::nullopt, "since boot");
        }
        system = ratios;
        previous_counters = std::move(now);
      }
      for (const ConnView& c : conns) {
        explanations.push_back(explain_connection(
            c, system, thresholds, history && step > 0 ? options.interval : std::nullopt));
      }
    }

    if (options.json) {
      out << format_conns_json(conns, explanations, system);
    } else {
      if (options.interval) out << "--- refresh " << step + 1 << " ---\n";
      out << format_conns_table(conns, step > 0);
      if (options.explain) {
        out << "\n";
        if (system) out << describe_system(*system) << "\n";
        for (size_t i = 0; i < conns.size(); ++i) {
          const TcpSocketRecord& r = conns[i].record;
          out << endpoint(r.local_ip(), r.local_port) << " -> "
              << endpoint(r.remote_ip(), r.remote_port) << " ("
              << (conns[i].server ? "server" : "client") << ", " << tcp_state_name(r.state)
              << ")\n";
          for (const std::string& line : explanations[i]) out << "  - " << line << "\n";
        }
      }
    }
    out.flush();
  }
  return 0;
}

// TCP sockets the next dump will roughly return, from <procfs>/net/sockstat
// and sockstat6 ("TCP: inuse 5 orphan 0 tw 3 ...", "TCP6: inuse 2"): sizing
// the record vector once saves re-copying ~400-byte records as it grows
// (and the page faults of each larger copy). 0 when unreadable.
size_t expected_tcp_sockets(const std::string& procfs) {
  size_t total = 0;
  for (const char* name : {"/net/sockstat", "/net/sockstat6"}) {
    Result<int> opened = open_proc_file(procfs + name);  // non-blocking, regular files only
    if (!opened) continue;
    UniqueFd fd(*opened);
    char buffer[1024];
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer - 1);
    if (n <= 0) continue;
    std::string_view text(buffer, static_cast<size_t>(n));
    while (!text.empty()) {
      const size_t end = std::min(text.find('\n'), text.size());
      const std::string_view line = text.substr(0, end);
      text.remove_prefix(std::min(end + 1, text.size()));
      if (!line.starts_with("TCP: ") && !line.starts_with("TCP6: ")) continue;
      for (std::string_view key : {" inuse ", " tw "}) {
        const size_t k = line.find(key);
        if (k == std::string_view::npos) continue;
        size_t value = 0;
        std::from_chars(line.data() + k + key.size(), line.data() + line.size(), value);
        total += value;
      }
    }
  }
  return total;
}

int run_on_machine(const ConnsOptions& options, std::ostream& out, std::ostream& err);

}  // namespace

Result<std::unique_ptr<SystemConnsSource>> SystemConnsSource::open(std::string procfs) {
  Result<SockDiagSocket> diag = SockDiagSocket::open();
  if (!diag) return diag.status();
  return std::unique_ptr<SystemConnsSource>(
      new SystemConnsSource(std::move(*diag), std::move(procfs)));
}

Result<std::vector<TcpSocketRecord>> SystemConnsSource::dump() {
  std::vector<TcpSocketRecord> records;
  const size_t expected = last_count_ > 0 ? last_count_ : expected_tcp_sockets(procfs_);
  records.reserve(expected + expected / 8 + 64);
  const uint8_t extensions = kDiagExtInfo | kDiagExtSkmem | (congestion_ ? kDiagExtCong : 0);
  // One walk gives both families interleaved; rows stay in the order of one
  // dump per family (IPv4, then IPv6), as before.
  std::vector<TcpSocketRecord> ipv6;
  Status status = diag_.dump_all(
      kAllTcpStates, extensions, local_port_,
      [&](const TcpSocketRecord& r) { (r.family == AF_INET ? records : ipv6).push_back(r); });
  records.insert(records.end(), std::make_move_iterator(ipv6.begin()),
                 std::make_move_iterator(ipv6.end()));
  last_count_ = records.size();
  if (!status) return status;
  return records;
}

SystemConnsSource::~SystemConnsSource() {
  if (prefetch_.valid()) prefetch_.wait();
}

void SystemConnsSource::open_owner_iterator() {
  if (!owner_method_.empty()) return;
  // The iterator reads the running kernel: a --path.procfs elsewhere means
  // someone else's /proc, which only the walk can read.
  owner_fallback_reason_ = "--path.procfs is not /proc";
  if (procfs_ == "/proc") {
    auto iterator = SocketOwnerIterator::open();
    if (iterator) {
      owner_iterator_ = std::move(*iterator);
      owner_fallback_reason_.clear();
    } else {
      owner_fallback_reason_ = iterator.message();
    }
  }
  owner_method_ = owner_iterator_ ? "bpf_iter" : "proc";
}

void SystemConnsSource::prefetch_owners(bool many) {
  if ((!owner_method_.empty() && !owner_iterator_) || prefetch_.valid()) return;
  // Loading is mostly libbpf reading the kernel's BTF (~10 ms): done while
  // the kernel dumps the sockets. For a few rows the walk needs their inodes
  // (the kernel filters on them), so it follows the dump.
  try {
    prefetch_ = std::async(std::launch::async, [this, many]() -> Status {
      open_owner_iterator();
      if (!owner_iterator_ || !many) return Status::ok();
      return owner_iterator_->find_all(prefetched_);
    });
  } catch (const std::system_error&) {
    // No thread: owners() loads it.
  }
}

std::unordered_map<uint32_t, std::vector<SocketOwner>> SystemConnsSource::owners(
    const std::unordered_set<uint32_t>& inodes) {
  Status status = Status::ok();
  SocketOwnerMap found;
  if (prefetch_.valid()) status = prefetch_.get();
  open_owner_iterator();
  if (owner_iterator_ && status && !prefetched_.empty()) {
    found.reserve(inodes.size());
    for (uint32_t inode : inodes) {
      auto it = prefetched_.find(inode);
      if (it != prefetched_.end()) found.emplace(inode, std::move(it->second));
    }
    prefetched_.clear();
    return found;
  }
  prefetched_.clear();
  if (owner_iterator_ && status) status = owner_iterator_->find(inodes, found);
  if (owner_iterator_ && status) return found;
  if (owner_iterator_) {
    log_info("socket owner iterator failed; walking /proc/*/fd", {{"collector", "tcp"},
                                                                  {"stage", "owners"},
                                                                  {"method", "proc"},
                                                                  {"reason", status.message()}});
    owner_iterator_.reset();
    owner_method_ = "proc";
  } else if (!owner_fallback_reason_.empty()) {
    log_info("socket owners from /proc/*/fd (slower)", {{"collector", "tcp"},
                                                        {"stage", "owners"},
                                                        {"method", "proc"},
                                                        {"reason", owner_fallback_reason_}});
    owner_fallback_reason_.clear();  // said once
  }
  return find_socket_owners(procfs_, inodes);
}

MibSnapshot SystemConnsSource::counters() { return read_mib_snapshot(procfs_); }

double SystemConnsSource::monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void SystemConnsSource::sleep_for(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

namespace {

// `netobs conns` with `run` as the handler (a fake source in tests).
Subcommand conns_subcommand(
    std::function<int(const ConnsOptions&, std::ostream&, std::ostream&)> run) {
  Subcommand command;
  command.name = "conns";
  command.summary = "TCP connections with tcp_info, filters, deltas and --explain";
  command.description =
      "TCP connections with the kernel's tcp_info (RTT, retransmissions, cwnd, bytes,\n"
      "delivery and pacing rate), socket memory, state and owning process, read over\n"
      "NETLINK_SOCK_DIAG.\n";
  command.flag_groups = {
      {"selection:",
       {{"--local-ip", "", "IP", "only this local address"},
        {"--remote-ip", "", "IP", "only this remote address"},
        {"--local-port", "", "N", "only this local port"},
        {"--remote-port", "", "N", "only this remote port"},
        {"--state", "", "S[,S...]",
         "established, syn-sent, ..., listen, or all\n(default: every state but listen)"},
        {"--role", "", "server|client", "server: the local port is a listening port"}}},
      {"view:",
       {{"--sort", "", "rtt|retrans|bytes", "largest first"},
        {"--top", "", "N", "only the first N after sorting"},
        {"--interval", "-i", "SEC",
         "refresh every SEC seconds, with per-connection deltas\n"
         "(+RETR: retransmissions since the last refresh)"},
        {"--count", "-c", "N", "stop after N refreshes (with --interval)"},
        {"--json", "", "", "JSON (one document per refresh)"},
        {"--explain", "", "",
         "diagnosis per connection, with the system's TLP, fast\n"
         "retransmit and timeout shares from /proc/net/netstat"},
        {"--no-process", "", "", "do not look up owning processes (faster)"},
        {"--netns", "", "PATH",
         "look into another network namespace\n(/run/netns/NAME or /proc/PID/ns/net)"},
        {"--path.procfs", "", "DIR", "procfs mount point (default /proc)"},
        {"--config.file", "", "FILE", "take the verdict thresholds from this config"}}}};
  command.run = [run = std::move(run)](const ParsedFlags& flags, std::ostream& out,
                                       std::ostream& err) {
    return run(parse_options(flags), out, err);
  };
  return command;
}

}  // namespace

std::string conns_usage() { return subcommand_usage(conns_subcommand(nullptr)); }

int run_conns_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                      ConnsSource& source) {
  return run_subcommand(conns_subcommand([&source](const ConnsOptions& options, std::ostream& out,
                                                   std::ostream& err) {
                          return run_with(options, out, err, source);
                        }),
                        args, out, err);
}

int run_conns_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return run_subcommand(conns_subcommand(run_on_machine), args, out, err);
}

std::vector<Subcommand> tcp_subcommands() { return {conns_subcommand(run_on_machine)}; }

namespace {

int run_on_machine(const ConnsOptions& options, std::ostream& out, std::ostream& err) {
  if (options.netns) {
    // The CLI is single-threaded here: joining the namespace moves the
    // sock_diag socket and /proc/net (self) there.
    int fd = ::open(options.netns->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      err << "netobs conns: cannot enter network namespace " << *options.netns << ": "
          << errno_text(errno)
          << (errno == EPERM ? " (needs CAP_SYS_ADMIN)"
                             : " (use /run/netns/NAME or /proc/PID/ns/net)")
          << "\n";
      if (fd >= 0) ::close(fd);
      return 1;
    }
    ::close(fd);
  }
  auto source = SystemConnsSource::open(options.procfs);
  if (!source) {
    err << "netobs conns: " << source.message() << "\n";
    return 1;
  }
  // The table does not show the congestion control algorithm: ask the kernel
  // for it only for JSON.
  (*source)->set_congestion(options.json);
  // Rows need their own local port only: --role looks for a listener on it,
  // which has that port too.
  (*source)->set_local_port(options.filter.local_port);
  return run_with(options, out, err, **source);
}

}  // namespace

}  // namespace netobs
