#include "exporter/attribution/attribution.h"

#include <mutex>

#include "config/config.h"
#include "exporter/attribution/cgroup_path.h"

namespace netobs {
namespace {

std::mutex current_mutex;
std::weak_ptr<Attribution> current;

}  // namespace

const std::vector<std::string>& CgroupLabels::names() {
  static const std::vector<std::string> kNames = {"container_id", "pod_uid",   "unit",
                                                  "pod",          "namespace", "container"};
  return kNames;
}

std::vector<std::string> CgroupLabels::values() const {
  return {container_id, pod_uid, unit, pod, namespace_name, container};
}

void CgroupLabels::add_to(Labels& labels) const {
  const std::vector<std::string> all = values();
  for (size_t i = 0; i < all.size(); ++i) labels[names()[i]] = all[i];
}

bool AttributionOptions::operator==(const AttributionOptions& other) const {
  return cgroup_root == other.cgroup_root && procfs == other.procfs &&
         metadata.kubelet_url == other.metadata.kubelet_url &&
         metadata.token_file == other.metadata.token_file &&
         metadata.tls.ca_file == other.metadata.tls.ca_file &&
         metadata.tls.insecure_skip_verify == other.metadata.tls.insecure_skip_verify &&
         metadata.static_file == other.metadata.static_file &&
         metadata.refresh_interval == other.metadata.refresh_interval &&
         metadata.min_backoff == other.metadata.min_backoff &&
         metadata.timeout_seconds == other.metadata.timeout_seconds;
}

AttributionOptions attribution_options(const Config& config) {
  AttributionOptions options;
  options.cgroup_root = config.attribution.cgroup_root;
  options.procfs = config.exporter.procfs;
  options.metadata.kubelet_url = config.attribution.kubelet_url;
  options.metadata.token_file = config.attribution.kubelet_token_file;
  options.metadata.tls.ca_file = config.attribution.kubelet_ca_file;
  options.metadata.tls.insecure_skip_verify = config.attribution.kubelet_insecure_skip_verify;
  options.metadata.static_file = config.attribution.pods_file;
  options.metadata.refresh_interval = std::chrono::milliseconds(
      static_cast<int64_t>(config.attribution.metadata_refresh_seconds * 1000));
  return options;
}

Attribution::Attribution(AttributionOptions options, std::string root)
    : options_(std::move(options)),
      resolver_(std::move(root)),
      metadata_(std::make_unique<PodMetadata>(options_.metadata)) {}

Result<std::shared_ptr<Attribution>> Attribution::create(const AttributionOptions& options) {
  std::string root = options.cgroup_root;
  if (root.empty()) {
    Result<std::string> found = CgroupResolver::find_cgroup2_mount(options.procfs);
    if (!found) return Status::error("attribution by cgroup: " + found.message());
    root = *found;
  }
  return std::make_shared<Attribution>(options, root);
}

Result<std::shared_ptr<Attribution>> Attribution::shared(const AttributionOptions& options) {
  std::lock_guard lock(current_mutex);
  if (std::shared_ptr<Attribution> existing = current.lock()) {
    if (existing->options() == options) return existing;
  }
  Result<std::shared_ptr<Attribution>> created = create(options);
  if (created) current = *created;
  return created;
}

CgroupLabels Attribution::labels(uint64_t cgroup_id) {
  CgroupLabels labels;
  std::optional<std::string> path = resolver_.path_of(cgroup_id);
  if (!path) return labels;
  labels.resolved = true;
  labels.path = *path;
  CgroupPathLabels parsed = cgroup_path_labels(*path);
  labels.unit = parsed.unit;
  labels.container_id = parsed.container_id;
  labels.pod_uid = parsed.pod_uid;
  if (!labels.pod_uid.empty() && metadata_->configured()) {
    if (std::optional<PodInfo> pod = metadata_->pod(labels.pod_uid)) {
      labels.pod = pod->name;
      labels.namespace_name = pod->namespace_name;
      if (auto container = pod->containers.find(labels.container_id);
          container != pod->containers.end()) {
        labels.container = container->second;
      }
    }
  }
  return labels;
}

void append_attribution_metrics(std::vector<prometheus::MetricFamily>& out) {
  std::shared_ptr<Attribution> attribution;
  {
    std::lock_guard lock(current_mutex);
    attribution = current.lock();
  }
  if (!attribution) return;
  using prometheus::MetricType;
  FamilyBuilder("netobs_attribution_cgroup_walks_total",
                "Walks of the cgroup2 hierarchy to resolve cgroup ids to paths.",
                MetricType::Counter)
      .counter({}, static_cast<double>(attribution->resolver().walks()))
      .append_to(out);
  if (!attribution->metadata().configured()) return;
  PodMetadata::Stats stats = attribution->metadata().stats();
  FamilyBuilder("netobs_attribution_metadata_refreshes_total",
                "Successful reads of the pod metadata source (kubelet /pods or file).",
                MetricType::Counter)
      .counter({}, static_cast<double>(stats.refreshes))
      .append_to(out);
  FamilyBuilder("netobs_attribution_metadata_failures_total",
                "Failed reads of the pod metadata source; series keep flowing without pod, "
                "namespace and container names meanwhile.",
                MetricType::Counter)
      .counter({}, static_cast<double>(stats.failures))
      .append_to(out);
  FamilyBuilder("netobs_attribution_metadata_pods", "Pods known from the last successful read.",
                MetricType::Gauge)
      .gauge({}, static_cast<double>(stats.pods))
      .append_to(out);
}

}  // namespace netobs
