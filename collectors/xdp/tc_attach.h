// Attaching the xdp collector's programs: which hook an interface gets
// (`xdp.mode`). The tc hook itself is TcAttachment (exporter/net/).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/net/tc_attachment.h"

namespace netobs {

enum class XdpHook {
  kNative,   // XDP in the driver
  kGeneric,  // XDP on the skb (any device)
  kTc,       // tc ingress: tcx or clsact/cls_bpf
};

// "native", "generic", "tc".
std::string_view xdp_hook_name(XdpHook hook);

// What ETHTOOL_GDRVINFO says about an interface.
struct DriverInfo {
  std::string driver;    // "veth", "ixgbe", ...
  std::string bus_info;  // "0000:03:00.0"; empty for virtual devices
};

// ETHTOOL_GDRVINFO of `ifname` in this network namespace; nullopt when the
// device does not answer (loopback, some virtual devices).
std::optional<DriverInfo> read_driver_info(const std::string& ifname);

// Whether native XDP runs on this device's own receive buffers, before an
// skb exists (a NIC on a bus, other than virtio_net). On veth and other
// virtual devices an XDP program forces the kernel to copy every skb into
// XDP pages and turns off GSO on the sending side, so tc costs less there.
bool native_xdp_is_cheap(const std::optional<DriverInfo>& info);

// The hooks to try, in order, for `mode` (auto | native | generic | tc) on
// a device: auto is native, tc, generic where native XDP is cheap, else
// tc, generic.
std::vector<XdpHook> hooks_for_mode(std::string_view mode, const std::optional<DriverInfo>& info);

}  // namespace netobs
