// The dns collector's metric families, built from a plain snapshot of its
// BPF maps and user-space counters. Pure (no kernel access), so unit tests
// and the exporter render the same text; called on HTTP worker threads.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bpf/dns.h"

namespace netobs {

// One dns_stats entry summed over CPUs.
struct DnsStatsEntry {
  uint16_t qtype = 0;
  uint8_t rcode = 0;
  uint8_t transport = DNS_TRANSPORT_UDP;
  uint8_t kind = DNS_STAT_QUERY;
  uint64_t count = 0;
  uint64_t sum_ns = 0;
  std::array<uint64_t, DNS_LATENCY_BUCKETS> buckets{};
};

struct DnsServerCounts {
  uint64_t queries = 0;
  uint64_t responses = 0;
  uint64_t unanswered = 0;
};

struct DnsSnapshot {
  std::vector<DnsStatsEntry> stats;
  std::array<uint64_t, DNS_COUNTERS> counters{};
  // (transport, qtype) -> queries that timed out (counted by the sweeper).
  std::map<std::pair<uint8_t, uint16_t>, uint64_t> unanswered;
  uint64_t evictions = 0;
  uint64_t outstanding = 0;  // live entries at the last sweep

  bool server_labels = false;
  std::map<std::string, DnsServerCounts> servers;  // "other" holds the overflow
  uint64_t servers_folded = 0;                     // observations folded into "other"

  bool domains_enabled = false;
  uint32_t domain_sample_rate = 1;
  std::map<std::string, uint64_t> domains;  // sampled queries; "other" holds the overflow
  uint64_t domains_folded = 0;
  uint64_t samples_undecodable = 0;  // sampled queries whose name could not be decoded

  // collectors.dns.attribution: cgroup: responses by the querying process's
  // attribution labels (values in the order of CgroupLabels::names(); all
  // "other" beyond max_cgroups) and rcode.
  bool attribution = false;
  std::map<std::pair<std::vector<std::string>, uint8_t>, DnsStatsEntry> by_cgroup;
};

// "udp" / "tcp".
std::string dns_transport_name(uint8_t transport);
// "short_header", "tcp_length", "no_question", "bad_name", "truncated".
std::string dns_malformed_reason_name(uint32_t reason);

// Appends every netobs_dns_* family (and the collector's
// netobs_series_dropped_total series) to `out`.
void append_dns_metrics(const DnsSnapshot& snapshot, std::vector<prometheus::MetricFamily>& out);

}  // namespace netobs
