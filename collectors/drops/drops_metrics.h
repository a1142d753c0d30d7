// Renders the drops collector's map snapshot into Prometheus families. Pure
// functions called at scrape time (and by the unit tests, the benchmark and
// `netobs drops`); the metrics are documented in collectors/drops/README.md.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <chrono>
#include <cstring>
#include <map>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bpf/drops.h"
#include "collectors/drops/drop_reasons.h"
#include "exporter/attribution/idle_keys.h"

namespace netobs {

inline constexpr std::string_view kDropsMetric = "netobs_drops_total";
inline constexpr std::string_view kDropsReasonsInfoMetric = "netobs_drops_reasons_info";
inline constexpr std::string_view kDropsCgroupMetric = "netobs_drops_cgroup_total";

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

// attribution: cgroup: drops by the socket's cgroup, resolved to the
// attribution label values (in the order of CgroupLabels::names(); cgroups
// with equal labels summed).
struct DropsByCgroup {
  struct Key {
    std::vector<std::string> owner;
    uint32_t reason = 0;
    uint16_t l3 = 0;
    uint8_t l4 = 0;
    auto operator<=>(const Key&) const = default;
  };
  std::map<Key, uint64_t> packets;
  // Drops folded because the kernel's cgroup map was full, by reason (the
  // last slot for larger values): the series whose owner labels are "other".
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

// The local ports that have their own series (collectors.drops.
// local_port_labels): at most `max`; among ports first seen in the same
// scrape the busiest come first. A port whose drops did not move for
// `idle_after` (attribution.label_idle_time; zero: never) gives its series
// back, and the next folded port with new drops takes it. The kernel's
// counts are cumulative per key, so each key's count is split in segments:
// packets shown in local_port="other" (and in netobs_series_dropped_total)
// while its port was folded stay there for good, a port's series counts the
// packets after that, and the packets of a reclaimed series leave with it
// (they are not moved to "other"). Every series stays monotonic.
class DropsPortLabels {
 public:
  using Clock = std::chrono::steady_clock;
  explicit DropsPortLabels(uint32_t max, Clock::duration idle_after = Clock::duration::zero())
      : max_(max), idle_(idle_after) {}

  // One entry's packets in its port's series and in local_port="other".
  struct Split {
    std::string label;      // "80", "none" (port 0: not TCP/UDP/SCTP), or "other"
    uint64_t labelled = 0;  // in the series of `label` (when not "other")
    uint64_t other = 0;     // in local_port="other"
  };
  // Gives idle ports' series back, admits ports with new folded drops while
  // there is room, and splits every entry of `snapshot` (same order).
  std::vector<Split> update(const DropsSnapshot& snapshot, Clock::time_point now);
  bool kept(uint16_t port) const { return kept_.count(port) != 0; }

 private:
  struct KeyLess {
    bool operator()(const netobs_drops_key& a, const netobs_drops_key& b) const {
      return std::memcmp(&a, &b, sizeof(a)) < 0;
    }
  };
  struct Segment {
    uint64_t other_total = 0;  // packets folded into "other" in closed segments
    uint64_t start = 0;        // the key's count when the current segment began
    uint64_t last = 0;         // the key's count at the previous update
    bool labelled = false;     // the current segment counts in the port's series
  };
  uint32_t max_;
  std::set<uint16_t> kept_;
  IdleKeys<uint16_t> idle_;
  std::map<netobs_drops_key, Segment, KeyLess> segments_;
};

// netobs_drops_total{reason,interface,family,protocol} (summed over
// namespaces and kernel locations; with `ports`, also local_port and
// netobs_series_dropped_total for the packets folded into "other") and
// netobs_drops_reasons_info{reason}.
void append_drops_families(const DropsSnapshot& snapshot, const DropReasons& reasons,
                           std::vector<prometheus::MetricFamily>& out,
                           DropsPortLabels* ports = nullptr,
                           DropsPortLabels::Clock::time_point now = DropsPortLabels::Clock::now());

// netobs_drops_cgroup_total{reason,family,protocol,container_id,pod_uid,unit,
// pod,namespace,container} and netobs_series_dropped_total{collector="drops",
// metric="cgroup"} (the packets folded into the "other" owner).
void append_drops_cgroup_families(const DropsByCgroup& by_cgroup, const DropReasons& reasons,
                                  std::vector<prometheus::MetricFamily>& out);

}  // namespace netobs
