#include "exporter/net/tc_attachment.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <utility>

#include "exporter/bpf/attach_ladder.h"

namespace netobs {
namespace {

// BPF_TCX_INGRESS / BPF_TCX_EGRESS (Linux 6.6 uapi); Debian 12's headers
// predate them.
constexpr int kBpfTcxIngress = 46;
constexpr int kBpfTcxEgress = 47;

}  // namespace

TcAttachment::TcAttachment(TcAttachment&& other) noexcept
    : link_(std::move(other.link_)),
      ifindex_(std::exchange(other.ifindex_, 0)),
      direction_(other.direction_),
      handle_(std::exchange(other.handle_, 0)),
      priority_(std::exchange(other.priority_, 0)) {}

TcAttachment& TcAttachment::operator=(TcAttachment&& other) noexcept {
  if (this != &other) {
    detach();
    link_ = std::move(other.link_);
    ifindex_ = std::exchange(other.ifindex_, 0);
    direction_ = other.direction_;
    handle_ = std::exchange(other.handle_, 0);
    priority_ = std::exchange(other.priority_, 0);
  }
  return *this;
}

std::string_view TcAttachment::kind() const {
  if (link_.valid()) return "tcx";
  return priority_ != 0 ? "tc_clsact" : "";
}

Result<TcAttachment> TcAttachment::attach(int prog_fd, int ifindex, bool allow_tcx,
                                          TcDirection direction) {
  TcAttachment out;
  out.ifindex_ = ifindex;
  out.direction_ = direction;
  const bool egress = direction == TcDirection::kEgress;
  std::string tcx_error;
  if (allow_tcx) {
    // No relative program, no expected revision: appended after the
    // programs already there, which keep running.
    const int fd = bpf_link_create(
        prog_fd, ifindex, static_cast<bpf_attach_type>(egress ? kBpfTcxEgress : kBpfTcxIngress),
        nullptr);
    if (fd >= 0) {
      out.link_.reset(fd);
      return out;
    }
    const int err = errno;
    // EINVAL: a kernel without tcx (before 6.6). Anything else is real.
    if (err != EINVAL) return Status::error("tcx attach failed: " + errno_message(err));
    tcx_error = "tcx: " + errno_message(err) + " (needs Linux 6.6+); ";
  }
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
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
    LIBBPF_OPTS(
        bpf_tc_hook, hook, .ifindex = ifindex_,
        .attach_point = direction_ == TcDirection::kEgress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle_, .priority = priority_);
    bpf_tc_detach(&hook, &opts);
    priority_ = 0;
    handle_ = 0;
  }
}

}  // namespace netobs
