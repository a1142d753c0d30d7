// Builds the xdp collector's metric families from a snapshot of the
// per-interface kernel counters and the top talkers. Pure: the collector
// calls it on a scrape thread, the unit tests call it with made-up counters.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bpf/xdp.h"
#include "collectors/xdp/top_talkers.h"

namespace netobs {

struct XdpInterfaceSnapshot {
  std::string name;
  netobs_xdp_counters counters{};  // summed over CPUs
  std::vector<TopTalkers::Entry> talkers;
};

struct XdpSnapshot {
  std::vector<XdpInterfaceSnapshot> interfaces;  // attached interfaces only
  std::vector<uint16_t> ports;                   // filters.ports, in slot order
  uint32_t sample_rate = 1;
  uint64_t decode_errors = 0;
};

// Sums per-CPU copies of the counters (the struct is all __u64).
netobs_xdp_counters sum_xdp_counters(const std::vector<netobs_xdp_counters>& per_cpu);

void append_xdp_metrics(const XdpSnapshot& snapshot, std::vector<prometheus::MetricFamily>& out);

}  // namespace netobs
