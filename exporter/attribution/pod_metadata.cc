#include "exporter/attribution/pod_metadata.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "exporter/log.h"
#include "exporter/http_client.h"

namespace netobs {
namespace {

constexpr size_t kMaxDocumentBytes = 64 << 20;
constexpr size_t kShortIdLength = 12;

std::string text_at(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  return value && value.IsScalar() ? value.as<std::string>() : "";
}

// "containerd://<id>" -> the id's first 12 characters; "" when absent.
std::string short_container_id(const std::string& container_id) {
  size_t scheme = container_id.find("://");
  std::string id = scheme == std::string::npos ? container_id : container_id.substr(scheme + 3);
  return id.substr(0, kShortIdLength);
}

Result<std::string> read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(std::string("cannot read the ") + what + " " + path);
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxDocumentBytes) {
      return Status::error(std::string("the ") + what + " " + path + " is larger than 64 MiB");
    }
  }
  return text;
}

}  // namespace

Result<PodList> parse_pod_list(std::string_view json) {
  if (json.size() > kMaxDocumentBytes) return Status::error("pod list larger than 64 MiB");
  YAML::Node root;
  try {
    root = YAML::Load(std::string(json));  // JSON is YAML's flow style
  } catch (const YAML::Exception& e) {
    return Status::error("pod list is not valid JSON: " + std::string(e.what()));
  }
  if (!root.IsMap() || !root["items"] || !root["items"].IsSequence()) {
    if (root.IsMap() && root["items"] && root["items"].IsNull()) return PodList{};
    return Status::error("pod list has no \"items\" array (expected the kubelet's /pods document)");
  }
  PodList pods;
  try {
    for (const YAML::Node& item : root["items"]) {
      const YAML::Node metadata = item["metadata"];
      if (!metadata || !metadata.IsMap()) continue;
      std::string uid = text_at(metadata, "uid");
      if (uid.empty()) continue;
      PodInfo pod{text_at(metadata, "name"), text_at(metadata, "namespace"), {}};
      const YAML::Node status = item["status"];
      if (status && status.IsMap()) {
        for (const char* list :
             {"containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"}) {
          const YAML::Node statuses = status[list];
          if (!statuses || !statuses.IsSequence()) continue;
          for (const YAML::Node& container : statuses) {
            std::string id = short_container_id(text_at(container, "containerID"));
            if (!id.empty()) pod.containers[id] = text_at(container, "name");
          }
        }
      }
      pods[uid] = std::move(pod);
    }
  } catch (const YAML::Exception& e) {
    return Status::error("pod list has an unexpected shape: " + std::string(e.what()));
  }
  return pods;
}

PodMetadata::PodMetadata(Options options) : options_(std::move(options)) {
  if (configured()) thread_ = std::thread([this] { run(); });
}

PodMetadata::~PodMetadata() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<PodInfo> PodMetadata::pod(const std::string& uid) {
  std::shared_ptr<const PodList> pods;
  {
    std::lock_guard lock(mutex_);
    pods = pods_;
  }
  if (pods) {
    if (auto found = pods->find(uid); found != pods->end()) return found->second;
  }
  if (configured()) {
    std::lock_guard lock(mutex_);
    refresh_wanted_ = true;
  }
  wake_.notify_all();
  return std::nullopt;
}

PodMetadata::Stats PodMetadata::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

Result<PodList> PodMetadata::fetch() const {
  if (!options_.static_file.empty()) {
    Result<std::string> text = read_file(options_.static_file, "pod list file");
    if (!text) return text.status();
    return parse_pod_list(*text);
  }
  std::vector<std::string> headers;
  if (!options_.token_file.empty()) {
    Result<std::string> token = read_file(options_.token_file, "kubelet token file");
    if (!token) return token.status();
    while (!token->empty() && (token->back() == '\n' || token->back() == '\r')) token->pop_back();
    headers.push_back("Authorization: Bearer " + *token);
  }
  Result<HttpResponse> response = http_request({.url = options_.kubelet_url,
                                                .accept = "application/json",
                                                .headers = headers,
                                                .tls = options_.tls},
                                               options_.timeout_seconds);
  if (!response) return response.status();
  if (response->status != 200) {
    return Status::error("GET " + options_.kubelet_url + ": HTTP status " + response->status_line);
  }
  return parse_pod_list(response->body);
}

void PodMetadata::run() {
  auto backoff = options_.min_backoff;
  bool logged_failure = false;
  while (true) {
    Result<PodList> pods = fetch();
    std::chrono::milliseconds wait = options_.refresh_interval;
    {
      std::lock_guard lock(mutex_);
      if (pods) {
        stats_.pods = pods->size();
        ++stats_.refreshes;
        pods_ = std::make_shared<const PodList>(std::move(*pods));
        backoff = options_.min_backoff;
        logged_failure = false;
      } else {
        ++stats_.failures;
        stats_.last_error = pods.message();
        wait = std::min(backoff, options_.refresh_interval);
        backoff = std::min(backoff * 2, options_.refresh_interval);
      }
      refresh_wanted_ = false;
    }
    if (!pods && !logged_failure) {
      log_warn("attribution: pod metadata unavailable (names are left out until it works): " +
               pods.message());
      logged_failure = true;
    }
    // An unknown pod asks for an early refresh, but never sooner than the
    // backoff after a failure (or min_backoff after a success).
    std::unique_lock lock(mutex_);
    auto earliest = std::chrono::steady_clock::now() + std::min(wait, backoff);
    auto latest = std::chrono::steady_clock::now() + wait;
    while (!stop_) {
      auto now = std::chrono::steady_clock::now();
      if (now >= latest || (refresh_wanted_ && now >= earliest)) break;
      wake_.wait_until(lock, refresh_wanted_ ? earliest : latest);
    }
    if (stop_) return;
  }
}

}  // namespace netobs
