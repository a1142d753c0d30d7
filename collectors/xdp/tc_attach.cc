#include "collectors/xdp/tc_attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "exporter/bpf/attach_ladder.h"

namespace netobs {
namespace {

// BPF_TCX_INGRESS (Linux 6.6 uapi); Debian 12's headers predate it.
constexpr int kBpfTcxIngress = 46;

}  // namespace

std::string_view xdp_hook_name(XdpHook hook) {
  switch (hook) {
    case XdpHook::kNative:
      return "native";
    case XdpHook::kGeneric:
      return "generic";
    case XdpHook::kTc:
      return "tc";
  }
  return "tc";
}

std::optional<DriverInfo> read_driver_info(const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return std::nullopt;
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  ifreq req{};
  std::memcpy(req.ifr_name, ifname.data(), ifname.size());
  req.ifr_data = reinterpret_cast<char*>(&info);
  const int rc = ioctl(fd, SIOCETHTOOL, &req);
  close(fd);
  if (rc != 0) return std::nullopt;
  DriverInfo out;
  out.driver.assign(info.driver, strnlen(info.driver, sizeof(info.driver)));
  out.bus_info.assign(info.bus_info, strnlen(info.bus_info, sizeof(info.bus_info)));
  return out;
}

bool native_xdp_is_cheap(const std::optional<DriverInfo>& info) {
  if (!info || info->bus_info.empty()) return false;  // virtual: veth, bridge, tun, vxlan, ...
  // virtio_net sits on a bus but turns off guest TSO/GRO offloads for XDP;
  // tun/tap report "tun"/"tap" as bus.
  for (std::string_view driver : {"virtio_net", "tun", "veth", "netkit"}) {
    if (info->driver == driver) return false;
  }
  return true;
}

std::vector<XdpHook> hooks_for_mode(std::string_view mode, const std::optional<DriverInfo>& info) {
  if (mode == "native") return {XdpHook::kNative};
  if (mode == "generic") return {XdpHook::kGeneric};
  if (mode == "tc") return {XdpHook::kTc};
  if (native_xdp_is_cheap(info)) return {XdpHook::kNative, XdpHook::kTc, XdpHook::kGeneric};
  return {XdpHook::kTc, XdpHook::kGeneric};
}

TcAttachment::TcAttachment(TcAttachment&& other) noexcept
    : link_(std::move(other.link_)),
      ifindex_(std::exchange(other.ifindex_, 0)),
      handle_(std::exchange(other.handle_, 0)),
      priority_(std::exchange(other.priority_, 0)) {}

TcAttachment& TcAttachment::operator=(TcAttachment&& other) noexcept {
  if (this != &other) {
    detach();
    link_ = std::move(other.link_);
    ifindex_ = std::exchange(other.ifindex_, 0);
    handle_ = std::exchange(other.handle_, 0);
    priority_ = std::exchange(other.priority_, 0);
  }
  return *this;
}

std::string_view TcAttachment::kind() const {
  if (link_.valid()) return "tcx";
  return priority_ != 0 ? "tc_clsact" : "";
}

Result<TcAttachment> TcAttachment::attach(int prog_fd, int ifindex, bool allow_tcx) {
  TcAttachment out;
  out.ifindex_ = ifindex;
  std::string tcx_error;
  if (allow_tcx) {
    // No relative program, no expected revision: appended after the
    // programs already there, which keep running.
    const int fd =
        bpf_link_create(prog_fd, ifindex, static_cast<bpf_attach_type>(kBpfTcxIngress), nullptr);
    if (fd >= 0) {
      out.link_.reset(fd);
      return out;
    }
    const int err = errno;
    // EINVAL: a kernel without tcx (before 6.6). Anything else is real.
    if (err != EINVAL) return Status::error("tcx attach failed: " + errno_message(err));
    tcx_error = "tcx: " + errno_message(err) + " (needs Linux 6.6+); ";
  }
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
  const int created = bpf_tc_hook_create(&hook);  // the clsact qdisc; -EEXIST when present
  if (created != 0 && created != -EEXIST) {
    return Status::error(tcx_error +
                         "creating the clsact qdisc failed: " + errno_message(-created));
  }
  // handle and priority 0: the kernel picks a free priority, ahead of the
  // existing filters; NLM_F_EXCL, never a replacement.
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
  const int rc = bpf_tc_attach(&hook, &opts);
  if (rc != 0) {
    return Status::error(tcx_error + "adding the cls_bpf filter failed: " + errno_message(-rc));
  }
  out.handle_ = opts.handle;
  out.priority_ = opts.priority;
  return out;
}

void TcAttachment::detach() {
  link_.reset();
  if (priority_ != 0) {
    // Removes our filter only (by handle and priority). The clsact qdisc
    // stays: other tools may have added filters to it since.
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_, .attach_point = BPF_TC_INGRESS);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle_, .priority = priority_);
    bpf_tc_detach(&hook, &opts);
    priority_ = 0;
    handle_ = 0;
  }
}

}  // namespace netobs
