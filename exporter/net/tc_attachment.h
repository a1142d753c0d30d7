#pragma once

#include <cstdint>
#include <string_view>

#include "exporter/bpf/skeleton.h"
#include "exporter/status.h"

namespace netobs {

enum class TcDirection { kIngress, kEgress };

// One tc attachment (ingress or egress) of a SCHED_CLS program: a tcx link
// on Linux 6.6+, else a cls_bpf filter in a clsact qdisc. Owned by a
// collector's per-interface state (xdp, dns), used under its mutex (link
// watcher or main thread). Never replaces anything:
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

  // Attaches prog_fd to ifindex's ingress or egress: tcx first, clsact when
  // the kernel has no tcx (before 6.6) or `allow_tcx` is false.
  static Result<TcAttachment> attach(int prog_fd, int ifindex, bool allow_tcx = true,
                                     TcDirection direction = TcDirection::kIngress);

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
};

}  // namespace netobs
