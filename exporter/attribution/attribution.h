// Attribution: cgroup v2 id -> the labels that name who sent the traffic:
// systemd unit, container id, pod uid (parsed from the cgroup path) and,
// with pod metadata configured, pod, namespace and container names. One
// instance per process, shared by every collector that records cgroup ids
// (socket, tcp, dns, and the collectors to come):
//
//   Result<std::shared_ptr<Attribution>> a = Attribution::shared(options);
//   CgroupLabels labels = (*a)->labels(cgroup_id);      // never blocks on the network
//   Labels& out = ...; labels.add_to(out);               // container_id, pod_uid, unit, pod, ...
//   bool alive = (*a)->exists(cgroup_id);               // for ageing out series of gone cgroups
//
// Its own health (metadata refreshes, failures, pods known) is exported by
// the self-metrics through append_attribution_metrics.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exporter/attribution/cgroup_resolver.h"
#include "exporter/attribution/pod_metadata.h"
#include "exporter/metric_builder.h"
#include "exporter/status.h"

namespace netobs {

struct Config;

struct CgroupLabels {
  bool resolved = false;  // false: the cgroup id is unknown (gone before it was seen)
  std::string path;       // below the cgroup2 mount, for logs and `netobs trace`
  std::string unit;
  std::string container_id;
  std::string pod_uid;
  std::string pod;  // names: empty without pod metadata
  std::string namespace_name;
  std::string container;

  // The label names every attributed series carries, in this order.
  static const std::vector<std::string>& names();
  // Values in the order of names().
  std::vector<std::string> values() const;
  void add_to(Labels& labels) const;
  bool operator==(const CgroupLabels&) const = default;
};

struct AttributionOptions {
  std::string cgroup_root;  // "" : the cgroup2 mount from <procfs>/mounts
  std::string procfs = "/proc";
  PodMetadata::Options metadata;

  bool operator==(const AttributionOptions& other) const;
};

// The options the config's `attribution:` section (and exporter.procfs) give.
AttributionOptions attribution_options(const Config& config);

class Attribution {
 public:
  // The process-wide instance for these options: the current one when its
  // options are equal, else a new one (which becomes the current one).
  static Result<std::shared_ptr<Attribution>> shared(const AttributionOptions& options);
  static Result<std::shared_ptr<Attribution>> create(const AttributionOptions& options);

  CgroupLabels labels(uint64_t cgroup_id);
  bool exists(uint64_t cgroup_id) { return resolver_.exists(cgroup_id); }
  const AttributionOptions& options() const { return options_; }
  CgroupResolver& resolver() { return resolver_; }
  PodMetadata& metadata() { return *metadata_; }

  Attribution(AttributionOptions options, std::string root);

 private:
  const AttributionOptions options_;
  CgroupResolver resolver_;
  std::unique_ptr<PodMetadata> metadata_;
};

// netobs_attribution_* self-metrics of the current shared instance (none
// when no collector uses attribution).
void append_attribution_metrics(std::vector<prometheus::MetricFamily>& out);

}  // namespace netobs
