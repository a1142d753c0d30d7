#include "exporter/metric_builder.h"

#include <cmath>
#include <limits>

namespace netobs {

FamilyBuilder::FamilyBuilder(std::string name, std::string help, prometheus::MetricType type) {
  family_.name = std::move(name);
  family_.help = std::move(help);
  family_.type = type;
}

prometheus::ClientMetric& FamilyBuilder::add(const Labels& labels) {
  prometheus::ClientMetric& metric = family_.metric.emplace_back();
  metric.label.reserve(labels.size());
  for (const auto& [name, value] : labels) metric.label.push_back({name, value});
  return metric;
}

FamilyBuilder& FamilyBuilder::counter(const Labels& labels, double value) {
  add(labels).counter.value = value;
  return *this;
}

FamilyBuilder& FamilyBuilder::gauge(const Labels& labels, double value) {
  add(labels).gauge.value = value;
  return *this;
}

FamilyBuilder& FamilyBuilder::histogram(const Labels& labels,
                                        const std::vector<double>& upper_bounds,
                                        const std::vector<uint64_t>& bucket_counts, double sum) {
  prometheus::ClientMetric& metric = add(labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < upper_bounds.size(); ++i) {
    if (i < bucket_counts.size()) cumulative += bucket_counts[i];
    prometheus::ClientMetric::Bucket bucket;
    bucket.upper_bound = upper_bounds[i];
    bucket.cumulative_count = cumulative;
    metric.histogram.bucket.push_back(bucket);
  }
  for (size_t i = upper_bounds.size(); i < bucket_counts.size(); ++i)
    cumulative += bucket_counts[i];
  prometheus::ClientMetric::Bucket inf;
  inf.upper_bound = std::numeric_limits<double>::infinity();
  inf.cumulative_count = cumulative;
  metric.histogram.bucket.push_back(inf);
  metric.histogram.sample_count = cumulative;
  metric.histogram.sample_sum = sum;
  return *this;
}

void FamilyBuilder::append_to(std::vector<prometheus::MetricFamily>& out) {
  out.push_back(std::move(family_));
}

std::vector<double> log2_upper_bounds(size_t slots, double unit) {
  std::vector<double> bounds;
  bounds.reserve(slots);
  for (size_t i = 0; i < slots; ++i) bounds.push_back(std::ldexp(1.0, static_cast<int>(i)) * unit);
  return bounds;
}

}  // namespace netobs
