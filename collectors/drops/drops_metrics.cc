#include "collectors/drops/drops_metrics.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "exporter/attribution/attribution.h"
#include "exporter/metric_builder.h"

namespace netobs {
namespace {

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86dd;
constexpr uint16_t kEthArp = 0x0806;

constexpr char kDropsHelp[] =
    "Packets the kernel dropped (skb:kfree_skb), by the kernel's drop reason (names from its "
    "BTF), interface, address family and protocol. Where to look next: TCP_LISTEN_OVERFLOW and "
    "SOCKET_BACKLOG point at full listen queues (TcpExt ListenOverflows/ListenDrops), "
    "SOCKET_RCVBUFF at receive buffers (UdpRcvbufErrors, TcpExt TCPRcvQDrop), drops of TCP "
    "segments at retransmissions (netobs_tcp_retransmits_total).";
constexpr char kCgroupHelp[] =
    "Packets the kernel dropped whose socket is known (a full receive buffer, a full backlog, a "
    "socket filter...), by the cgroup of that socket: the container, pod or systemd unit that "
    "created it. Labels \"other\": drops beyond collectors.drops.max_cgroups.";
constexpr char kReasonsHelp[] =
    "Drop reasons this kernel can report (enum skb_drop_reason in its BTF), one series each.";

using LabelKey = std::tuple<std::string, std::string, std::string, std::string, std::string>;

}  // namespace

std::string_view drops_family_name(uint16_t l3) {
  switch (l3) {
    case kEthIpv4:
      return "ipv4";
    case kEthIpv6:
      return "ipv6";
    case kEthArp:
      return "arp";
    default:
      return "other";
  }
}

std::string_view drops_protocol_name(uint16_t l3, uint8_t l4) {
  if (l3 != kEthIpv4 && l3 != kEthIpv6) return "none";
  switch (l4) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 47:
      return "gre";
    case 50:
      return "esp";
    case 58:
      return "icmpv6";
    case 132:
      return "sctp";
    default:
      return "other";
  }
}

std::string drops_interface_name(const DropsEntry& entry) {
  if (entry.key.ifindex == 0) return "none";
  if (!entry.ifname.empty()) return entry.ifname;
  return "if" + std::to_string(entry.key.ifindex);
}

std::vector<DropsPortLabels::Split> DropsPortLabels::update(const DropsSnapshot& snapshot,
                                                            Clock::time_point now) {
  // Each port's total drops and the drops it folded since its segment began.
  std::map<uint16_t, uint64_t> totals;
  std::map<uint16_t, uint64_t> fresh;
  for (const DropsEntry& e : snapshot.entries) {
    if (e.key.local_port == 0) continue;
    auto [it, inserted] = segments_.try_emplace(e.key);
    if (inserted) it->second.labelled = kept(e.key.local_port);
    totals[e.key.local_port] += e.packets;
    if (!it->second.labelled && e.packets > it->second.start) {
      fresh[e.key.local_port] += e.packets - it->second.start;
    }
  }
  if (idle_.enabled()) {
    for (uint16_t port : kept_) idle_.observe(port, totals[port], now);
    std::set<uint16_t> idle;
    for (uint16_t port : idle_.reclaim_idle(now)) idle.insert(port);
    for (uint16_t port : idle) kept_.erase(port);
    if (!idle.empty()) {
      for (const DropsEntry& e : snapshot.entries) {
        if (!idle.count(e.key.local_port)) continue;
        Segment& segment = segments_.at(e.key);
        segment.labelled = false;
        segment.start = segment.last;  // the series' packets leave with it
      }
    }
  }
  std::vector<std::pair<uint16_t, uint64_t>> order(fresh.begin(), fresh.end());
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::set<uint16_t> admitted;
  for (const auto& [port, packets] : order) {
    if (kept_.size() >= max_) break;
    kept_.insert(port);
    admitted.insert(port);
    if (idle_.enabled()) idle_.observe(port, totals[port], now);  // idle from now on
  }
  std::vector<Split> splits;
  splits.reserve(snapshot.entries.size());
  for (const DropsEntry& e : snapshot.entries) {
    Split split;
    if (e.key.local_port == 0) {
      split.label = "none";
      split.labelled = e.packets;
      splits.push_back(std::move(split));
      continue;
    }
    Segment& segment = segments_.at(e.key);
    if (admitted.count(e.key.local_port) && !segment.labelled) {
      // What "other" showed stays there; the rest is the port's.
      segment.other_total += segment.last - std::min(segment.start, segment.last);
      segment.start = segment.last;
      segment.labelled = true;
    }
    segment.last = e.packets;
    const uint64_t current = e.packets - std::min(segment.start, e.packets);
    split.other = segment.other_total + (segment.labelled ? 0 : current);
    if (segment.labelled) {
      split.label = std::to_string(e.key.local_port);
      split.labelled = current;
    } else {
      split.label = "other";
    }
    splits.push_back(std::move(split));
  }
  return splits;
}

void append_drops_families(const DropsSnapshot& snapshot, const DropReasons& reasons,
                           std::vector<prometheus::MetricFamily>& out, DropsPortLabels* ports,
                           DropsPortLabels::Clock::time_point now) {
  // Namespaces and locations are not labels: sum the keys that share labels.
  std::map<LabelKey, uint64_t> totals;
  uint64_t folded = 0;
  std::vector<DropsPortLabels::Split> splits;
  if (ports) splits = ports->update(snapshot, now);
  for (size_t i = 0; i < snapshot.entries.size(); ++i) {
    const DropsEntry& e = snapshot.entries[i];
    LabelKey labels{reasons.name(e.key.reason), drops_interface_name(e),
                    std::string(drops_family_name(e.key.l3)),
                    std::string(drops_protocol_name(e.key.l3, e.key.l4)), ""};
    if (!ports) {
      totals[labels] += e.packets;
      continue;
    }
    const DropsPortLabels::Split& split = splits[i];
    folded += split.other;
    if (split.label != "other") {
      std::get<4>(labels) = split.label;
      totals[labels] += split.labelled;
    }
    if (split.label == "other" || split.other > 0) {
      std::get<4>(labels) = "other";
      totals[labels] += split.other;
    }
  }
  for (uint32_t slot = 0; slot < snapshot.overflow.size(); ++slot) {
    if (snapshot.overflow[slot] == 0) continue;
    const std::string reason =
        slot + 1 < snapshot.overflow.size() ? reasons.name(slot) : "unknown_other";
    totals[{reason, "other", "other", "other", ports ? "other" : ""}] += snapshot.overflow[slot];
  }
  FamilyBuilder drops(std::string(kDropsMetric), kDropsHelp, prometheus::MetricType::Counter);
  for (const auto& [labels, packets] : totals) {
    const auto& [reason, interface, family, protocol, port] = labels;
    if (ports) {
      drops.counter({{"reason", reason},
                     {"interface", interface},
                     {"family", family},
                     {"protocol", protocol},
                     {"local_port", port}},
                    static_cast<double>(packets));
    } else {
      drops.counter({{"reason", reason},
                     {"interface", interface},
                     {"family", family},
                     {"protocol", protocol}},
                    static_cast<double>(packets));
    }
  }
  drops.append_to(out);
  if (ports) {
    FamilyBuilder("netobs_series_dropped_total",
                  "Observations folded into an `other` series because a label's cardinality cap "
                  "was reached.",
                  prometheus::MetricType::Counter)
        .counter({{"collector", "drops"}, {"metric", std::string(kDropsMetric)}},
                 static_cast<double>(folded))
        .append_to(out);
  }

  FamilyBuilder info(std::string(kDropsReasonsInfoMetric), kReasonsHelp,
                     prometheus::MetricType::Gauge);
  for (const auto& [value, name] : reasons.all()) info.gauge({{"reason", name}}, 1);
  info.append_to(out);
}

void append_drops_cgroup_families(const DropsByCgroup& by_cgroup, const DropReasons& reasons,
                                  std::vector<prometheus::MetricFamily>& out) {
  const std::vector<std::string>& names = CgroupLabels::names();
  FamilyBuilder drops(std::string(kDropsCgroupMetric), kCgroupHelp,
                      prometheus::MetricType::Counter);
  auto add = [&](const std::vector<std::string>& owner, const std::string& reason,
                 std::string_view family, std::string_view protocol, uint64_t packets) {
    Labels labels = {
        {"reason", reason}, {"family", std::string(family)}, {"protocol", std::string(protocol)}};
    for (size_t i = 0; i < names.size() && i < owner.size(); ++i) {
      labels[names[i]] = owner[i];
    }
    drops.counter(labels, static_cast<double>(packets));
  };
  for (const auto& [key, packets] : by_cgroup.packets) {
    add(key.owner, reasons.name(key.reason), drops_family_name(key.l3),
        drops_protocol_name(key.l3, key.l4), packets);
  }
  uint64_t folded = 0;
  const std::vector<std::string> other(names.size(), "other");
  for (uint32_t slot = 0; slot < by_cgroup.overflow.size(); ++slot) {
    if (by_cgroup.overflow[slot] == 0) continue;
    folded += by_cgroup.overflow[slot];
    add(other, slot + 1 < by_cgroup.overflow.size() ? reasons.name(slot) : "unknown_other", "other",
        "other", by_cgroup.overflow[slot]);
  }
  drops.append_to(out);
  FamilyBuilder("netobs_series_dropped_total",
                "Observations folded into an `other` series because a label's cardinality cap "
                "was reached.",
                prometheus::MetricType::Counter)
      .counter({{"collector", "drops"}, {"metric", "cgroup"}}, static_cast<double>(folded))
      .append_to(out);
}

}  // namespace netobs
