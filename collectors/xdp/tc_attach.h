// Attaching the xdp collector's programs: which hook an interface gets
// (`xdp.mode`), and TcAttachment, one tc-ingress attachment (a tcx link on
// Linux 6.6+, else a cls_bpf filter in a clsact qdisc). Owned by the
// collector's per-interface state; used under its mutex (link-watcher or
// main thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/bpf/skeleton.h"
#include "exporter/status.h"

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

// One tc-ingress attachment of a SCHED_CLS program. Never replaces anything:
// tcx links run side by side with other programs (multi-attach), and the
// cls_bpf filter gets a new priority of its own (NLM_F_EXCL). Closing or
// destroying it detaches exactly our program.
class TcAttachment {
 public:
  TcAttachment() = default;
  TcAttachment(TcAttachment&& other) noexcept;
  TcAttachment& operator=(TcAttachment&& other) noexcept;
  TcAttachment(const TcAttachment&) = delete;
  TcAttachment& operator=(const TcAttachment&) = delete;
  ~TcAttachment() { detach(); }

  // Attaches prog_fd to ifindex's ingress: tcx first, clsact when the
  // kernel has no tcx (before 6.6) or `allow_tcx` is false.
  static Result<TcAttachment> attach(int prog_fd, int ifindex, bool allow_tcx = true);

  bool attached() const { return link_.valid() || priority_ != 0; }
  // "tcx" or "tc_clsact" (the `attach` label), "" when not attached.
  std::string_view kind() const;
  void detach();

 private:
  UniqueFd link_;  // tcx
  int ifindex_ = 0;
  uint32_t handle_ = 0;  // cls_bpf filter, when priority_ != 0
  uint32_t priority_ = 0;
};

}  // namespace netobs
