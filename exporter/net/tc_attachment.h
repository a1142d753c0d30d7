#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "exporter/bpf/skeleton.h"
#include "exporter/status.h"

namespace netobs {

enum class TcDirection { kIngress, kEgress };

// Where one netobs tc program sits when it goes through a clsact qdisc: a
// fixed cls_bpf priority and a handle of its own ("nb" in the high bits, the
// netobs marker) and the program's name. cls_bpf filters outlive the process
// that added them (tcx links do not): a filter found in its slot that runs a
// program of the same name held by no live process was left by a netobs that
// was killed, and is replaced instead of stacking a second one.
struct TcSlot {
  uint32_t handle = 0;  // 0: no slot, the kernel picks handle and priority
  std::string_view program;
};
inline constexpr uint16_t kNetobsTcPriority = 0x6e62;
inline constexpr TcSlot kDnsTcIngressSlot{0x6e620001, "dns_tc_ingress"};
inline constexpr TcSlot kDnsTcEgressSlot{0x6e620002, "dns_tc_egress"};
inline constexpr TcSlot kXdpTcObserveSlot{0x6e620003, "tc_observe"};
// security_dns_answers_tc as the kernel names it (15 characters at most).
inline constexpr TcSlot kSecurityDnsTcIngressSlot{0x6e620004, "security_dns_an"};

// Whether a live process (this one included) holds an fd of BPF program
// `prog_id`, from /proc/*/fdinfo; nullopt when some process's fds cannot be
// read (not root).
std::optional<bool> bpf_program_held_by_a_process(uint32_t prog_id);

// One tc attachment (ingress or egress) of a SCHED_CLS program: a tcx link
// on Linux 6.6+, else a cls_bpf filter in a clsact qdisc. Owned by a
// collector's per-interface state (xdp, dns), used under its mutex (link
// watcher or main thread). Never replaces anything but a leftover of a killed
// netobs (see TcSlot): tcx links run side by side with other programs
// (multi-attach), and the cls_bpf filter takes its netobs slot or a new
// priority of its own. Closing or destroying it detaches exactly our program.
class TcAttachment {
 public:
  TcAttachment() = default;
  TcAttachment(TcAttachment&& other) noexcept;
  TcAttachment& operator=(TcAttachment&& other) noexcept;
  TcAttachment(const TcAttachment&) = delete;
  TcAttachment& operator=(const TcAttachment&) = delete;
  ~TcAttachment() { detach(); }

  // Attaches prog_fd to ifindex's ingress or egress: tcx first, clsact when
  // the kernel has no tcx (before 6.6) or `allow_tcx` is false; through
  // clsact in `slot` when it is free or holds a leftover (replaced), else at
  // a priority the kernel picks (another live netobs, or someone else, is there).
  static Result<TcAttachment> attach(int prog_fd, int ifindex, bool allow_tcx = true,
                                     TcDirection direction = TcDirection::kIngress,
                                     TcSlot slot = {});

  // True when the last attach replaced a leftover filter.
  bool replaced_leftover() const { return replaced_leftover_; }

  bool attached() const { return link_.valid() || priority_ != 0; }
  // "tcx" or "tc_clsact" (the `attach` label), "" when not attached.
  std::string_view kind() const;
  void detach();

 private:
  UniqueFd link_;  // tcx
  int ifindex_ = 0;
  TcDirection direction_ = TcDirection::kIngress;
  uint32_t handle_ = 0;  // cls_bpf filter, when priority_ != 0
  uint32_t priority_ = 0;
  bool replaced_leftover_ = false;
};

}  // namespace netobs
