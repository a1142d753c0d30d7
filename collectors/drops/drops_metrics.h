// Renders the drops collector's map snapshot into Prometheus families. Pure
// functions called at scrape time (and by the unit tests, the benchmark and
// `netobs drops`); the metrics are documented in collectors/drops/README.md.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bpf/drops.h"
#include "collectors/drops/drop_reasons.h"

namespace netobs {

inline constexpr std::string_view kDropsMetric = "netobs_drops_total";
inline constexpr std::string_view kDropsReasonsInfoMetric = "netobs_drops_reasons_info";

// One key of the kernel map, summed over CPUs.
struct DropsEntry {
  netobs_drops_key key{};
  uint64_t packets = 0;
  std::string ifname;  // as the kernel named the device when first seen; "" unknown
};

// Everything one scrape reads.
struct DropsSnapshot {
  std::vector<DropsEntry> entries;
  // Drops counted by reason only because the map was full (index: reason,
  // the last slot for larger values).
  std::array<uint64_t, NETOBS_DROPS_OVERFLOW_SLOTS> overflow{};
};

// Label values. family: "ipv4", "ipv6", "arp", "other" (from skb->protocol).
std::string_view drops_family_name(uint16_t l3);
// protocol: "tcp", "udp", "icmp", "icmpv6", "sctp", "gre", "esp", "other";
// "none" for packets that are not IP.
std::string_view drops_protocol_name(uint16_t l3, uint8_t l4);
// interface: the device name, "if<index>" when it was not readable, "none"
// for drops after the device was cleared (socket layer).
std::string drops_interface_name(const DropsEntry& entry);

// netobs_drops_total{reason,interface,family,protocol} (summed over
// namespaces and kernel locations) and netobs_drops_reasons_info{reason}.
void append_drops_families(const DropsSnapshot& snapshot, const DropReasons& reasons,
                           std::vector<prometheus::MetricFamily>& out);

}  // namespace netobs
