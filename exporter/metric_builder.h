// Helpers that build prometheus::MetricFamily values at scrape time.
// Collectors build fresh families from a snapshot on every collect(); these
// keep that short and make histogram conversion (log2 slots -> cumulative
// `le` buckets in base units) one shared piece of code.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace netobs {

using Labels = std::map<std::string, std::string>;

class FamilyBuilder {
 public:
  FamilyBuilder(std::string name, std::string help, prometheus::MetricType type);

  FamilyBuilder& counter(const Labels& labels, double value);
  FamilyBuilder& gauge(const Labels& labels, double value);
  // A histogram from cumulative-ready data: `upper_bounds` ascending (without
  // +Inf), `bucket_counts` per bound (NOT cumulative; the last element may hold
  // the +Inf overflow when bucket_counts.size() == upper_bounds.size() + 1).
  FamilyBuilder& histogram(const Labels& labels, const std::vector<double>& upper_bounds,
                           const std::vector<uint64_t>& bucket_counts, double sum);

  bool empty() const { return family_.metric.empty(); }
  prometheus::MetricFamily build() { return std::move(family_); }
  // Appends the family to `out` (also when empty: families with no series are
  // dropped by the serializer, never rendered as invalid text).
  void append_to(std::vector<prometheus::MetricFamily>& out);

 private:
  prometheus::ClientMetric& add(const Labels& labels);
  prometheus::MetricFamily family_;
};

// Upper bounds of log2 slot i of a kernel histogram: slot i holds values in
// [2^(i-1), 2^i) for i>0 and [0,1) for i=0, in `unit` (e.g. 1e-9 for ns -> s).
std::vector<double> log2_upper_bounds(size_t slots, double unit);

}  // namespace netobs
