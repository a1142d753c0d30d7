// The model behind `netobs conns` (the per-connection drill-down):
// selecting connections (addresses, ports, state, server/client role),
// sorting, per-connection deltas between refreshes, the text and JSON views,
// and the --explain diagnosis that combines a connection's tcp_info with the
// system ratios of the snmp collector. Pure functions; no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "exporter/net/process_owners.h"
#include "exporter/net/sock_diag.h"
#include "collectors/snmp/snmp_config.h"
#include "collectors/tcp/tcp_config.h"
#include "config/config.h"

namespace netobs {

enum class ConnsSort { kNone, kRtt, kRetrans, kBytes };
enum class ConnsRole { kAny, kServer, kClient };

struct ConnsFilter {
  std::optional<std::string> local_ip;  // as printed: "10.0.0.1", "::1"
  std::optional<std::string> remote_ip;
  std::optional<uint16_t> local_port;
  std::optional<uint16_t> remote_port;
  std::set<uint8_t> states;  // empty: every state but LISTEN
  ConnsRole role = ConnsRole::kAny;
};

// One connection as shown: the kernel's record, its role, owners, and what
// changed since the previous refresh (nullopt on the first).
struct ConnView {
  TcpSocketRecord record;
  bool server = false;  // the local port is a listening port
  std::vector<SocketOwner> owners;
  std::optional<uint64_t> retrans_delta;  // tcpi_total_retrans increase
  std::optional<uint64_t> sent_delta;     // tcpi_bytes_acked increase
  std::optional<uint64_t> received_delta;
};

// Listening ports (any address), from the records of one dump.
std::set<uint16_t> listening_ports(const std::vector<TcpSocketRecord>& records);

// Applies the filter; role needs `listening`.
bool conn_matches(const TcpSocketRecord& record, const ConnsFilter& filter,
                  const std::set<uint16_t>& listening);

// Sorts descending by the key (rtt, total retransmissions, bytes acked +
// received), then keeps the first `top` (0: all).
void sort_and_cut(std::vector<ConnView>& conns, ConnsSort sort, size_t top);

// Fills the deltas from the previous refresh, matched by socket cookie.
struct ConnCounters {
  uint64_t total_retrans = 0;
  uint64_t bytes_acked = 0;
  uint64_t bytes_received = 0;
};
using ConnHistory = std::map<uint64_t, ConnCounters>;  // by cookie
void apply_deltas(std::vector<ConnView>& conns, const ConnHistory& previous);
ConnHistory remember(const std::vector<TcpSocketRecord>& records);

// System-wide context from /proc/net/snmp and /proc/net/netstat over some
// span (since boot, or the last refresh).
struct SystemRatios {
  std::string span;                      // "since boot" or "last 5 s"
  std::optional<double> retransmission;  // RetransSegs / OutSegs
  std::optional<double> tlp_share;       // TCPLossProbes / RetransSegs
  std::optional<double> fast_share;      // TCPFastRetrans / RetransSegs
  std::optional<double> rto_share;       // TCPTimeouts / RetransSegs
};

// One line summing up the system ratios, e.g. "system (since boot):
// retransmission ratio 0.03 %, TLP share 41.3 %, ...".
std::string describe_system(const SystemRatios& system);

// The diagnosis lines for one connection (at least one).
std::vector<std::string> explain_connection(const ConnView& conn,
                                            const std::optional<SystemRatios>& system,
                                            const SnmpThresholds& thresholds,
                                            std::optional<double> interval_seconds);

// "10.0.0.1:2181" or "[::1]:2181".
std::string endpoint(const std::string& ip, uint16_t port);

// The table (header + one line per connection).
std::string format_conns_table(const std::vector<ConnView>& conns, bool with_deltas);
// One JSON object per connection, in an array; `explanations` (same order,
// may be empty) adds an "explain" list to each.
std::string format_conns_json(const std::vector<ConnView>& conns,
                              const std::vector<std::vector<std::string>>& explanations,
                              const std::optional<SystemRatios>& system);

}  // namespace netobs
