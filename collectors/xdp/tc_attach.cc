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

}  // namespace netobs
