#include "exporter/net/link_watcher.h"

#include <linux/netlink.h>
#include <net/if.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "exporter/bpf/attach_ladder.h"
#include "exporter/log.h"

namespace netobs {

std::map<int, std::string> list_interfaces() {
  std::map<int, std::string> out;
  struct if_nameindex* list = if_nameindex();
  if (list == nullptr) return out;
  for (struct if_nameindex* i = list; i->if_index != 0 && i->if_name != nullptr; ++i) {
    out[static_cast<int>(i->if_index)] = i->if_name;
  }
  if_freenameindex(list);
  return out;
}

LinkWatcher::~LinkWatcher() { stop(); }

Status LinkWatcher::start(std::function<void()> on_change, double resync_seconds,
                          std::string collector) {
  on_change_ = std::move(on_change);
  resync_seconds_ = resync_seconds;
  collector_ = std::move(collector);
  netlink_.reset(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
  if (!netlink_.valid()) {
    return Status::error("opening an rtnetlink socket failed: " + errno_message(errno));
  }
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = RTMGRP_LINK;
  if (bind(netlink_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Status::error("subscribing to rtnetlink link events failed: " + errno_message(errno));
  }
  wakeup_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wakeup_.valid()) return Status::error("eventfd failed: " + errno_message(errno));
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

void LinkWatcher::stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  if (write(wakeup_.get(), &one, sizeof(one)) < 0) {
    log_warn("link watcher wakeup failed",
             {{"collector", collector_}, {"err", errno_message(errno)}});
  }
  thread_.join();
}

void LinkWatcher::run() {
  char buffer[16384];
  while (true) {
    pollfd fds[2] = {{netlink_.get(), POLLIN, 0}, {wakeup_.get(), POLLIN, 0}};
    const int ready = poll(fds, 2, static_cast<int>(resync_seconds_ * 1000));
    if (ready < 0 && errno != EINTR) {
      log_error("link watcher poll failed",
                {{"collector", collector_}, {"err", errno_message(errno)}});
      return;
    }
    if (fds[1].revents != 0) return;
    bool changed = ready == 0;  // timeout: periodic resync
    if (fds[0].revents != 0) {
      // Drain everything queued, then act once: one resync covers a burst.
      while (true) {
        const ssize_t n = recv(netlink_.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n < 0) {
          // ENOBUFS: notifications were lost; the resync below covers them.
          if (errno == ENOBUFS) changed = true;
          break;
        }
        int len = static_cast<int>(n);
        // NLMSG_OK compares the u32 nlmsg_len with the int length (clang's
        // -Wsign-compare flags the macro).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
        for (auto* h = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(h, len);
             h = NLMSG_NEXT(h, len)) {
          if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) changed = true;
        }
#pragma GCC diagnostic pop
      }
    }
    if (changed) on_change_();
  }
}

}  // namespace netobs
