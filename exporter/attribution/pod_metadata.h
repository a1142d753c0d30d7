// PodMetadata: Kubernetes pod and container names by pod uid, from the
// kubelet's pod list (GET <kubelet_url>, the `/pods` document, over https
// or http, with an optional bearer token file) or a static file in the same format. Kept in
// a cache that a background thread refreshes, with exponential backoff
// after failures (counted); lookups never wait for the network.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "exporter/http_client.h"
#include "exporter/status.h"

namespace netobs {

struct PodInfo {
  std::string name;
  std::string namespace_name;
  std::map<std::string, std::string> containers;  // short container id (12 hex) -> name

  bool operator==(const PodInfo&) const = default;
};

using PodList = std::map<std::string, PodInfo>;  // pod uid -> pod

// A `/pods` document (a v1 PodList as JSON): items[].metadata.{uid,name,
// namespace} and the container ids of status.{,init,ephemeral}ContainerStatuses
// ("containerd://<64 hex>", "docker://...", "cri-o://..."). Errors name what is wrong.
Result<PodList> parse_pod_list(std::string_view json);

class PodMetadata {
 public:
  struct Options {
    std::string kubelet_url;  // http[s]://host:port/pods; "" when unused
    std::string token_file;   // bearer token for the kubelet, re-read on every refresh
    HttpTls tls;              // https: the CA file, or no certificate check at all
    std::string static_file;  // a /pods document on disk; "" when unused
    std::chrono::milliseconds refresh_interval{std::chrono::seconds(30)};
    std::chrono::milliseconds min_backoff{std::chrono::seconds(1)};
    double timeout_seconds = 5;
  };
  struct Stats {
    uint64_t refreshes = 0;  // successful
    uint64_t failures = 0;
    uint64_t pods = 0;
    std::string last_error;
  };

  explicit PodMetadata(Options options);  // starts the refresh thread when a source is set
  ~PodMetadata();
  PodMetadata(const PodMetadata&) = delete;
  PodMetadata& operator=(const PodMetadata&) = delete;

  bool configured() const { return !options_.kubelet_url.empty() || !options_.static_file.empty(); }
  // The pod, or nullopt (not known yet: asks for an early refresh, within the backoff).
  std::optional<PodInfo> pod(const std::string& uid);
  Stats stats() const;

 private:
  Result<PodList> fetch() const;
  void run();

  const Options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::shared_ptr<const PodList> pods_;
  Stats stats_;
  bool stop_ = false;
  bool refresh_wanted_ = false;
  std::thread thread_;
};

}  // namespace netobs
