// LinkWatcher: a thread that calls `on_change` whenever a network interface
// appears, disappears or changes (rtnetlink RTMGRP_LINK), and every
// `resync_seconds` in case a notification was lost. Owned by a collector
// that attaches per interface (xdp, dns); start/stop on the main thread,
// on_change on the watcher thread.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <thread>

#include "exporter/bpf/skeleton.h"
#include "exporter/status.h"

namespace netobs {

// The interfaces of this network namespace, by ifindex.
std::map<int, std::string> list_interfaces();

class LinkWatcher {
 public:
  LinkWatcher() = default;
  ~LinkWatcher();
  LinkWatcher(const LinkWatcher&) = delete;
  LinkWatcher& operator=(const LinkWatcher&) = delete;

  // `collector` names the owner in log lines.
  Status start(std::function<void()> on_change, double resync_seconds, std::string collector);
  // Wakes the thread and joins it; on_change is not called after this returns.
  void stop();

 private:
  void run();

  std::function<void()> on_change_;
  double resync_seconds_ = 30;
  std::string collector_;
  UniqueFd netlink_;
  UniqueFd wakeup_;  // eventfd: stop() writes it
  std::thread thread_;
};

}  // namespace netobs
