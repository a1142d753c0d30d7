// The web config in force: loaded at start (an error there stops the
// exporter), re-read when the file or a certificate, key or CA file it names
// changes on disk. A bad new version is logged and counted and the old one
// kept, as with the main config.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/status.h"
#include "exporter/web/basic_auth.h"
#include "exporter/web/tls_material.h"
#include "exporter/web/web_config.h"

namespace netobs::web {

struct LoadedWebConfig {
  WebConfig config;
  std::shared_ptr<const TlsMaterial> tls;  // null without TLS
};

// Identity of the files a config was read from; a change of any means re-read.
struct FileStamp {
  std::string path;
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = -1;
  long long mtime_ns = -1;
  long long ctime_ns = -1;
  bool operator==(const FileStamp&) const = default;
};

class WebState {
 public:
  // Loads `path` ("" = no web config: plain HTTP, no auth).
  Status load(const std::string& path);

  // The config to use for a new connection or request, re-read first when a
  // file changed. Never null after a successful load().
  std::shared_ptr<const LoadedWebConfig> current();

  bool tls_enabled() const { return tls_enabled_; }
  BasicAuth& auth() { return auth_; }
  uint64_t reload_failures() const { return reload_failures_.load(); }
  bool last_reload_ok() const { return last_reload_ok_.load(); }

 private:
  std::vector<FileStamp> stamps_for(const LoadedWebConfig* config) const;

  std::string path_;
  bool tls_enabled_ = false;
  BasicAuth auth_;
  std::mutex mutex_;  // guards config_, stamps_, failed_stamps_
  std::shared_ptr<const LoadedWebConfig> config_;
  std::vector<FileStamp> stamps_;         // of the files config_ came from
  std::vector<FileStamp> failed_stamps_;  // of the last version that failed
  std::atomic<uint64_t> reload_failures_{0};
  std::atomic<bool> last_reload_ok_{true};
};

}  // namespace netobs::web
