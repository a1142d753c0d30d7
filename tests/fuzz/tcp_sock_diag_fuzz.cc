// Fuzzes the tcp collector's NETLINK_SOCK_DIAG parser with arbitrary kernel
// answers, and sends every record it yields through the `netobs conns`
// model: filters, deltas, --explain and both output formats.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "collectors/snmp/snmp_config.h"
#include "collectors/tcp/conns.h"
#include "exporter/net/sock_diag.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netobs;
  std::vector<TcpSocketRecord> records;
  // Answers of the first message's sequence number count (the seed corpus
  // has real-shaped dumps); others are skipped, as in a real dump.
  uint32_t seq = 0;
  if (size >= 12) std::memcpy(&seq, data + 8, sizeof seq);
  DumpParseResult result = parse_tcp_dump(std::span<const uint8_t>(data, size), seq,
                                          [&](const TcpSocketRecord& r) { records.push_back(r); });
  check(result.sockets == records.size());
  check(result.progress != DumpProgress::kError || result.error > 0);
  if (records.size() > 64) records.resize(64);

  const std::set<uint16_t> listening = listening_ports(records);
  std::vector<ConnView> conns;
  for (const TcpSocketRecord& r : records) {
    ConnsFilter filter;
    filter.role = ConnsRole::kServer;
    (void)conn_matches(r, filter, listening);
    ConnView view;
    view.record = r;
    conns.push_back(view);
  }
  apply_deltas(conns, remember(records));
  sort_and_cut(conns, ConnsSort::kRetrans, 32);
  SystemRatios system;
  system.span = "since boot";
  system.tlp_share = 0.4;
  system.fast_share = 0.6;
  std::vector<std::vector<std::string>> explanations;
  for (const ConnView& c : conns) {
    explanations.push_back(explain_connection(c, system, SnmpThresholds{}, 1.0));
    check(!explanations.back().empty());
  }
  check(!format_conns_table(conns, true).empty());
  check(!format_conns_json(conns, explanations, system).empty());
  return 0;
}
