#include "exporter/net/interface_attachments.h"

#include <arpa/inet.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "exporter/bpf/attach_ladder.h"
#include "exporter/log.h"

namespace netobs {
namespace {

// How often the interface list is re-read even without rtnetlink news.
constexpr double kResyncSeconds = 30;

// The device's link-layer type (ARPHRD_*), nullopt when it cannot be read.
std::optional<int> link_type(const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return std::nullopt;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  ifreq req{};
  std::memcpy(req.ifr_name, ifname.data(), ifname.size());
  const int rc = ::ioctl(fd, SIOCGIFHWADDR, &req);
  ::close(fd);
  if (rc != 0) return std::nullopt;
  return req.ifr_hwaddr.sa_family;
}

}  // namespace

// The socket is opened with protocol 0 (it receives nothing), gets the
// filter, and only then is bound to ETH_P_ALL: no packet is ever queued to
// it unfiltered. SOCK_DGRAM makes the kernel hand the filter every packet
// from its network header, whatever the link layer.
Result<UniqueFd> open_filtered_packet_socket(int prog_fd, int ifindex) {
  UniqueFd fd(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return Status::error("opening an AF_PACKET socket failed: " + errno_message(errno) +
                         " (needs CAP_NET_RAW)");
  }
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof(prog_fd)) != 0) {
    return Status::error("attaching the socket filter failed: " + errno_message(errno));
  }
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = ifindex;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Status::error("binding the packet socket failed: " + errno_message(errno));
  }
  return fd;
}

Status InterfaceAttachments::start(std::string collector, Programs programs, Mode mode,
                                   bool allow_tcx, InterfaceSelector interfaces) {
  collector_ = std::move(collector);
  programs_ = programs;
  allow_tcx_ = allow_tcx;
  selector_ = std::move(interfaces);
  socket_only_ = mode == Mode::kSocketFilter;
  if (mode == Mode::kSocketFilter && selector_.selects_all()) {
    Result<UniqueFd> fd = open_filtered_packet_socket(programs_.socket_filter, 0);
    if (!fd) return Status::error(collector_ + ": " + fd.message());
    all_socket_ = std::move(*fd);
    log_info("attached",
             {{"collector", collector_}, {"interface", "all"}, {"attach", "socket_filter"}});
    return Status::ok();
  }
  reconcile();
  return watcher_.start([this] { reconcile(); }, kResyncSeconds, collector_);
}

void InterfaceAttachments::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  watcher_.stop();  // no reconcile runs past this point
  std::lock_guard<std::mutex> lock(mu_);
  interfaces_.clear();  // detaches exactly our programs
  all_socket_.reset();
}

InterfaceAttachments::Summary InterfaceAttachments::summary() const {
  Summary s;
  std::lock_guard<std::mutex> lock(mu_);
  s.all_interfaces_socket = all_socket_.valid();
  for (const auto& [ifindex, iface] : interfaces_) {
    if (iface.ingress.attached()) {
      ++s.tc_interfaces;
      if (s.tc_kind.empty()) s.tc_kind = std::string(iface.ingress.kind());
    }
    if (iface.socket.valid()) ++s.socket_interfaces;
  }
  return s;
}

std::map<std::string, std::string> InterfaceAttachments::interfaces() const {
  std::map<std::string, std::string> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [ifindex, iface] : interfaces_) out[iface.name] = iface.attach;
  return out;
}

// tc ingress and egress, or a packet socket of its own when tc cannot attach
// (or the device has no Ethernet header, which the tc programs expect).
void InterfaceAttachments::attach(int ifindex, Interface& iface) {
  std::string skipped;
  const std::optional<int> type = link_type(iface.name);
  if (socket_only_) {
    skipped = "tc: socket filter forced";
  } else if (type && *type != ARPHRD_ETHER && *type != ARPHRD_LOOPBACK) {
    skipped = "tc: link type " + std::to_string(*type) + " has no Ethernet header";
  } else {
    // Egress first: an egress attached alone is closed below (its Result
    // goes out of scope).
    Result<TcAttachment> egress = TcAttachment();
    if (programs_.tc_egress >= 0) {
      egress = TcAttachment::attach(programs_.tc_egress, ifindex, allow_tcx_, TcDirection::kEgress,
                                    programs_.egress_slot);
    }
    Result<TcAttachment> ingress = Status::error("not tried");
    if (egress) {
      ingress = TcAttachment::attach(programs_.tc_ingress, ifindex, allow_tcx_,
                                     TcDirection::kIngress, programs_.ingress_slot);
    }
    if (egress && ingress) {
      iface.egress = std::move(*egress);
      iface.ingress = std::move(*ingress);
      iface.attach = std::string(iface.ingress.kind());
      log_info(
          "attached",
          {{"collector", collector_},
           {"interface", iface.name},
           {"ifindex", std::to_string(ifindex)},
           {"attach", iface.attach},
           {"replaced_leftover",
            iface.ingress.replaced_leftover() || iface.egress.replaced_leftover() ? "yes" : "no"}});
      return;
    }
    // An egress attached alone is closed here (its Result goes out of scope).
    skipped = "tc: " + (egress ? ingress.message() : egress.message());
  }
  Result<UniqueFd> fd = open_filtered_packet_socket(programs_.socket_filter, ifindex);
  if (!fd) {
    iface.attach.clear();
    // Retried on every watcher round: said again only when it changes.
    const std::string reason = skipped + "; socket_filter: " + fd.message();
    if (reason != iface.reason) {
      log_warn(collector_ + " collector not attached",
               {{"collector", collector_}, {"interface", iface.name}, {"err", reason}});
      iface.reason = reason;
    }
    return;
  }
  iface.socket = std::move(*fd);
  iface.attach = "socket_filter";
  log_info("attached", {{"collector", collector_},
                        {"interface", iface.name},
                        {"ifindex", std::to_string(ifindex)},
                        {"attach", iface.attach},
                        {"skipped", skipped}});
}

void InterfaceAttachments::reconcile() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  const std::map<int, std::string> current = list_interfaces();
  for (auto it = interfaces_.begin(); it != interfaces_.end();) {
    const auto found = current.find(it->first);
    if (found != current.end()) {
      it->second.name = found->second;  // renamed: same device, still attached
      ++it;
      continue;
    }
    log_info("interface removed", {{"collector", collector_}, {"interface", it->second.name}});
    it = interfaces_.erase(it);
  }
  for (const auto& [ifindex, name] : current) {
    if (!selector_.matches(name)) {
      // Renamed out of the selection: detached.
      if (interfaces_.erase(ifindex)) {
        log_info("interface deselected", {{"collector", collector_}, {"interface", name}});
      }
      continue;
    }
    auto [it, inserted] = interfaces_.try_emplace(ifindex);
    if (!inserted && !it->second.attach.empty()) continue;
    it->second.name = name;
    attach(ifindex, it->second);  // new, or failed before: try again
  }
}

}  // namespace netobs
