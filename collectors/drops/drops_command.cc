#include "collectors/drops/drops_command.h"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_set>

#include "collectors/drops/drops_collector.h"
#include "collectors/drops/drops_config.h"
#include "exporter/bpf/libbpf_logging.h"
#include "exporter/bpf/preflight.h"
#include "exporter/builtin_config.h"
#include "exporter/json_writer.h"
#include "exporter/subcommand.h"

namespace netobs {
namespace {

struct DropsOptions {
  double interval_seconds = 1;
  uint64_t count = 0;  // intervals; 0: until a signal
  size_t top = 10;
  bool json = false;
  std::string netns;
  std::optional<std::string> config_file;
  DropsFilter filter;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma - start);
    if (!item.empty()) items.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

DropsOptions parse_options(const ParsedFlags& flags) {
  DropsOptions options;
  for (const auto& [flag, text] : flags.entries()) {
    const std::string& arg = flag->name;
    if (arg == "--json") {
      options.json = true;
    } else if (arg == "--interval") {
      options.interval_seconds = parse_seconds_flag(arg, text);
      if (options.interval_seconds < 0.1 || options.interval_seconds > 3600) {
        throw UsageError(arg + ": expected 0.1 to 3600 seconds, got \"" + text + "\"");
      }
    } else if (arg == "--count") {
      options.count = parse_whole_flag(arg, text, 1, 1000000000);
    } else if (arg == "--top") {
      options.top = static_cast<size_t>(parse_whole_flag(arg, text, 0, 1000000));
    } else if (arg == "--reason") {
      for (const std::string& r : split_list(text)) options.filter.reasons.push_back(r);
    } else if (arg == "--interface") {
      for (const std::string& r : split_list(text)) options.filter.interfaces.push_back(r);
    } else if (arg == "--protocol") {
      for (const std::string& r : split_list(text)) options.filter.protocols.push_back(r);
    } else if (arg == "--netns") {
      if (text.empty() || text[0] != '/') {
        throw UsageError(arg + ": expected a namespace path such as /run/netns/NAME, got \"" +
                         text + "\"");
      }
      options.netns = text;
    } else if (arg == "--config.file") {
      options.config_file = text;
    }
  }
  return options;
}

bool matches(const std::vector<std::string>& wanted, const std::string& value) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

std::string local_time() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%H:%M:%S", &tm);
  return text;
}

bool key_less(const netobs_drops_key& a, const netobs_drops_key& b) {
  return std::tie(a.reason, a.netns, a.ifindex, a.l3, a.l4, a.location, a.sock_ino, a.local_port) <
         std::tie(b.reason, b.netns, b.ifindex, b.l3, b.l4, b.location, b.sock_ino, b.local_port);
}

}  // namespace

std::vector<DropsRow> drops_interval_rows(const DropsSnapshot& before, const DropsSnapshot& after,
                                          const DropReasons& reasons, const KernelSymbols& symbols,
                                          const DropsFilter& filter, const DropsOwners& owners) {
  std::map<netobs_drops_key, uint64_t, decltype(&key_less)> previous(&key_less);
  for (const DropsEntry& e : before.entries) previous[e.key] = e.packets;
  using RowKey = std::tuple<std::string, uint64_t, std::string, std::string, std::string, int>;
  std::map<RowKey, DropsRow> rows;
  auto add = [&](DropsRow row) {
    if (row.packets == 0 || !matches(filter.reasons, row.reason) ||
        !matches(filter.interfaces, row.interface) || !matches(filter.protocols, row.protocol)) {
      return;
    }
    DropsRow& slot =
        rows[{row.reason, row.location, row.interface, row.family, row.protocol, row.pid}];
    const uint64_t packets = slot.packets + row.packets;
    slot = std::move(row);
    slot.packets = packets;
  };
  for (const DropsEntry& e : after.entries) {
    auto it = previous.find(e.key);
    const uint64_t earlier = it == previous.end() ? 0 : it->second;
    DropsRow row;
    row.packets = e.packets >= earlier ? e.packets - earlier : e.packets;
    row.reason_value = e.key.reason;
    row.reason = reasons.name(e.key.reason);
    row.location = e.key.location;
    row.function = symbols.function(e.key.location);
    row.where = symbols.resolve(e.key.location);
    row.interface = drops_interface_name(e);
    row.family = std::string(drops_family_name(e.key.l3));
    row.protocol = std::string(drops_protocol_name(e.key.l3, e.key.l4));
    if (auto owner = owners.find(e.key.sock_ino); e.key.sock_ino != 0 && owner != owners.end()) {
      row.pid = owner->second.pid;
      row.comm = owner->second.comm;
    }
    add(std::move(row));
  }
  for (uint32_t slot = 0; slot < after.overflow.size(); ++slot) {
    DropsRow row;
    row.packets = after.overflow[slot] - std::min(after.overflow[slot], before.overflow[slot]);
    row.reason_value = slot;
    row.reason = slot + 1 < after.overflow.size() ? reasons.name(slot) : "unknown_other";
    row.where = "(map full)";
    row.interface = row.family = row.protocol = "other";
    add(std::move(row));
  }
  std::vector<DropsRow> sorted;
  for (auto& [key, row] : rows) sorted.push_back(std::move(row));
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const DropsRow& a, const DropsRow& b) { return a.packets > b.packets; });
  return sorted;
}

void print_drops_table(const std::vector<DropsRow>& rows, double interval_seconds, size_t top,
                       std::ostream& out) {
  uint64_t total = 0;
  for (const DropsRow& r : rows) total += r.packets;
  char line[512];
  std::snprintf(line, sizeof line, "%s  %llu drops in %.1fs\n", local_time().c_str(),
                static_cast<unsigned long long>(total), interval_seconds);
  out << line;
  if (rows.empty()) return;
  std::snprintf(line, sizeof line, "%10s  %-28s %-36s %-16s %-6s %-8s %s\n", "PACKETS", "REASON",
                "WHERE", "INTERFACE", "FAMILY", "PROTOCOL", "PROCESS");
  out << line;
  for (size_t i = 0; i < rows.size() && (top == 0 || i < top); ++i) {
    const DropsRow& r = rows[i];
    const std::string process = r.pid ? std::to_string(r.pid) + "/" + r.comm : "-";
    std::snprintf(line, sizeof line, "%10llu  %-28s %-36s %-16s %-6s %-8s %s\n",
                  static_cast<unsigned long long>(r.packets), r.reason.c_str(), r.where.c_str(),
                  r.interface.c_str(), r.family.c_str(), r.protocol.c_str(), process.c_str());
    out << line;
  }
  out << std::flush;
}

void print_drops_json(const std::vector<DropsRow>& rows, double interval_seconds, size_t top,
                      std::ostream& out) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", interval_seconds);
  out << "{\"interval_seconds\":" << seconds << ",\"drops\":[";
  for (size_t i = 0; i < rows.size() && (top == 0 || i < top); ++i) {
    const DropsRow& r = rows[i];
    out << (i ? "," : "") << "{\"reason\":\"" << json_escape(r.reason)
        << "\",\"reason_value\":" << r.reason_value << ",\"function\":\"" << json_escape(r.function)
        << "\",\"location\":\"" << json_escape(r.where) << "\",\"interface\":\""
        << json_escape(r.interface) << "\",\"family\":\"" << json_escape(r.family)
        << "\",\"protocol\":\"" << json_escape(r.protocol) << "\",\"packets\":" << r.packets;
    if (r.pid) {
      out << ",\"pid\":" << r.pid << ",\"comm\":\"" << json_escape(r.comm) << "\"}";
    } else {
      out << ",\"pid\":null,\"comm\":null}";
    }
  }
  out << "]}\n" << std::flush;
}

namespace {

// Names the processes of the sockets that dropped packets in this interval:
// through the socket_owners iterator, else by walking /proc/*/fd. Sockets
// closed before the interval ends stay unnamed. Inodes are remembered
// (a socket inode is not reused while the socket lives).
class OwnerLookup {
 public:
  void resolve(const DropsSnapshot& before, const DropsSnapshot& after) {
    std::unordered_set<uint32_t> wanted;
    std::unordered_map<uint32_t, uint64_t> earlier;
    for (const DropsEntry& e : before.entries) earlier[e.key.sock_ino] += e.packets;
    std::unordered_map<uint32_t, uint64_t> now;
    for (const DropsEntry& e : after.entries) now[e.key.sock_ino] += e.packets;
    for (const auto& [inode, packets] : now) {
      if (inode != 0 && packets != earlier[inode] && !known_.count(inode)) wanted.insert(inode);
    }
    if (wanted.empty()) return;
    if (!tried_iterator_) {
      tried_iterator_ = true;
      if (auto opened = SocketOwnerIterator::open()) iterator_ = std::move(*opened);
    }
    SocketOwnerMap found;
    if (!iterator_ || !iterator_->find(wanted, found)) {
      iterator_.reset();
      found = find_socket_owners("/proc", wanted);
    }
    for (const auto& [inode, list] : found) {
      if (!list.empty()) known_[inode] = list.front();
    }
  }
  const DropsOwners& owners() const { return known_; }

 private:
  bool tried_iterator_ = false;
  std::unique_ptr<SocketOwnerIterator> iterator_;
  DropsOwners known_;
};

int run_drops(const DropsOptions& options, std::ostream& out, std::ostream& err) {
  ConfigLoadResult loaded =
      options.config_file ? load_config_file(*options.config_file) : load_default_config();
  if (!loaded.ok()) {
    err << "netobs drops: invalid config:\n" << loaded.format_errors() << "\n";
    return 2;
  }
  Config config = std::move(loaded.config);
  if (!options.netns.empty()) config.collector<DropsConfig>().network_namespace = options.netns;

  const sigset_t signals = block_stop_signals();

  install_libbpf_logger();
  PreflightReport preflight = run_preflight();
  DropsCollector collector(DropsCollectorOptions{.by_location = true, .by_owner = true});
  OwnerLookup owners;
  Status started = collector.start({config, preflight});
  if (!started) {
    err << "netobs drops: cannot start: " << started.message() << "\n";
    return 1;
  }
  const KernelSymbols symbols = KernelSymbols::load();
  if (symbols.empty()) {
    err << "netobs drops: /proc/kallsyms gives no addresses (kptr_restrict): kernel functions "
           "are shown as addresses; run as root to see their names\n";
  }
  Result<DropsSnapshot> previous = collector.snapshot();
  if (!previous) {
    err << "netobs drops: " << previous.message() << "\n";
    return 1;
  }
  err << "netobs drops: watching skb:kfree_skb (" << collector.attach_kind() << "); Ctrl-C stops\n"
      << std::flush;
  const double whole = static_cast<double>(static_cast<long>(options.interval_seconds));
  for (uint64_t interval = 0; options.count == 0 || interval < options.count; ++interval) {
    timespec wait{static_cast<time_t>(whole),
                  static_cast<long>((options.interval_seconds - whole) * 1e9)};
    const bool stopping = sigtimedwait(&signals, nullptr, &wait) > 0;
    Result<DropsSnapshot> current = collector.snapshot();
    if (!current) {
      err << "netobs drops: " << current.message() << "\n";
      return 1;
    }
    owners.resolve(*previous, *current);
    const std::vector<DropsRow> rows = drops_interval_rows(
        *previous, *current, collector.reasons(), symbols, options.filter, owners.owners());
    if (options.json) {
      print_drops_json(rows, options.interval_seconds, options.top, out);
    } else {
      print_drops_table(rows, options.interval_seconds, options.top, out);
    }
    previous = std::move(current);
    if (stopping) break;
  }
  collector.stop();
  return 0;
}

Subcommand drops_subcommand() {
  Subcommand command;
  command.name = "drops";
  command.summary = "packets the kernel drops, by reason, kernel function and interface";
  command.description =
      "Shows the packets the kernel drops, per interval: the kernel's drop reason\n"
      "(named by the running kernel), the kernel function where it happened, the\n"
      "interface, the protocol and the process holding the packet's socket when\n"
      "there is one, busiest first. Needs CAP_BPF and CAP_PERFMON.\n";
  command.flag_groups = {
      {"selection:",
       {{"--reason", "", "R[,R...]", "only these reasons, e.g. NETFILTER_DROP,NO_SOCKET"},
        {"--interface", "", "I[,I...]",
         "only drops on these interfaces (\"none\": after the\n"
         "device was cleared, e.g. in the socket layer)"},
        {"--protocol", "", "P[,P...]",
         "only these protocols: tcp, udp, icmp, icmpv6, sctp,\nother, none (not IP)"},
        {"--netns", "", "PATH", "only drops in this network namespace (/run/netns/NAME)"}}},
      {"view:",
       {{"--interval", "-i", "SEC", "length of an interval (default 1)"},
        {"--count", "-c", "N", "stop after N intervals (default: until Ctrl-C)"},
        {"--top", "", "N", "rows per interval (default 10; 0: all)"},
        {"--json", "", "", "one JSON object per interval instead of a table"}}},
      {"options:",
       {{"--config.file", "", "FILE", "netobs.yaml for the drops section (namespace, slots)"}}}};
  command.run = [](const ParsedFlags& flags, std::ostream& out, std::ostream& err) {
    return run_drops(parse_options(flags), out, err);
  };
  return command;
}

}  // namespace

std::string drops_usage() { return subcommand_usage(drops_subcommand()); }

int run_drops_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return run_subcommand(drops_subcommand(), args, out, err);
}

std::vector<Subcommand> drops_subcommands() { return {drops_subcommand()}; }

}  // namespace netobs
