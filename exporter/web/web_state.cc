#include "exporter/web/web_state.h"

#include <sys/stat.h>

#include "exporter/log.h"

namespace netobs::web {
namespace {

FileStamp stamp(const std::string& path) {
  FileStamp s;
  s.path = path;
  struct stat info {};
  if (stat(path.c_str(), &info) == 0) {
    s.device = info.st_dev;
    s.inode = info.st_ino;
    s.size = info.st_size;
    s.mtime_ns = info.st_mtim.tv_sec * 1000000000LL + info.st_mtim.tv_nsec;
    s.ctime_ns = info.st_ctim.tv_sec * 1000000000LL + info.st_ctim.tv_nsec;
  }
  return s;
}

Result<std::shared_ptr<const LoadedWebConfig>> load_all(const std::string& path) {
  auto loaded = std::make_shared<LoadedWebConfig>();
  if (path.empty()) return std::shared_ptr<const LoadedWebConfig>(loaded);
  Result<WebConfig> config = load_web_config(path);
  if (!config) return config.status();
  loaded->config = std::move(*config);
  if (loaded->config.tls.enabled()) {
    Result<std::shared_ptr<const TlsMaterial>> tls = build_tls_material(loaded->config.tls);
    if (!tls) return tls.status();
    loaded->tls = *tls;
  }
  return std::shared_ptr<const LoadedWebConfig>(loaded);
}

}  // namespace

std::vector<FileStamp> WebState::stamps_for(const LoadedWebConfig* config) const {
  std::vector<FileStamp> out{stamp(path_)};
  if (config != nullptr) {
    for (const std::string* file : {&config->config.tls.cert_file, &config->config.tls.key_file,
                                    &config->config.tls.client_ca_file}) {
      if (!file->empty()) out.push_back(stamp(*file));
    }
  }
  return out;
}

Status WebState::load(const std::string& path) {
  path_ = path;
  Result<std::shared_ptr<const LoadedWebConfig>> loaded = load_all(path);
  if (!loaded) return loaded.status();
  std::lock_guard<std::mutex> lock(mutex_);
  config_ = *loaded;
  tls_enabled_ = config_->tls != nullptr;
  if (!path.empty()) stamps_ = stamps_for(config_.get());
  return Status::ok();
}

std::shared_ptr<const LoadedWebConfig> WebState::current() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (path_.empty()) return config_;
  // A few stat() calls per connection: cheap next to a TLS handshake.
  std::vector<FileStamp> now = stamps_for(config_.get());
  if (now == stamps_ || now == failed_stamps_) return config_;
  Result<std::shared_ptr<const LoadedWebConfig>> loaded = load_all(path_);
  Status problem = loaded ? Status::ok() : loaded.status();
  if (loaded && ((*loaded)->tls != nullptr) != tls_enabled_) {
    problem = Status::error(tls_enabled_ ? "turning TLS off takes a restart of the exporter"
                                         : "turning TLS on takes a restart of the exporter");
  }
  if (!problem.is_ok()) {
    failed_stamps_ = now;
    ++reload_failures_;
    last_reload_ok_ = false;
    log_error("web config reload failed; keeping the running web config",
              {{"file", path_}, {"err", problem.message()}});
    return config_;
  }
  config_ = *loaded;
  // Stamps of the files the new config names (they may differ from before).
  stamps_ = stamps_for(config_.get());
  failed_stamps_.clear();
  last_reload_ok_ = true;
  log_info("web config reloaded", {{"file", path_}});
  return config_;
}

}  // namespace netobs::web
