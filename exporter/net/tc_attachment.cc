#include "exporter/net/tc_attachment.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "exporter/bpf/attach_ladder.h"
#include "exporter/log.h"

namespace netobs {
namespace {

// BPF_TCX_INGRESS / BPF_TCX_EGRESS (Linux 6.6 uapi); Debian 12's headers
// predate them.
constexpr int kBpfTcxIngress = 46;
constexpr int kBpfTcxEgress = 47;

// Name of the BPF program with this id, "" when it cannot be read.
std::string program_name(uint32_t id) {
  UniqueFd fd(bpf_prog_get_fd_by_id(id));
  if (!fd.valid()) return "";
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return "";
  return info.name;
}

// Whether /proc/<pid>/fdinfo/<fd> (a BPF program fd) names prog_id.
bool fdinfo_names_program(const std::string& path, uint32_t prog_id) {
  FILE* file = std::fopen(path.c_str(), "re");
  if (file == nullptr) return false;
  char line[128];
  bool found = false;
  while (!found && std::fgets(line, sizeof(line), file) != nullptr) {
    unsigned id = 0;
    if (std::sscanf(line, "prog_id: %u", &id) == 1) found = id == prog_id;
  }
  std::fclose(file);
  return found;
}

}  // namespace

std::optional<bool> bpf_program_held_by_a_process(uint32_t prog_id) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return std::nullopt;
  bool unreadable = false;
  bool held = false;
  while (!held) {
    const dirent* entry = readdir(proc);
    if (entry == nullptr) break;
    char* end = nullptr;
    std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;  // not a pid
    const std::string base = std::string("/proc/") + entry->d_name;
    DIR* fds = opendir((base + "/fd").c_str());
    if (fds == nullptr) {
      if (errno == EACCES) unreadable = true;  // ENOENT: it exited meanwhile
      continue;
    }
    while (!held) {
      const dirent* fd = readdir(fds);
      if (fd == nullptr) break;
      if (fd->d_name[0] == '.') continue;
      char target[64];
      const std::string link = base + "/fd/" + fd->d_name;
      const ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
      if (n <= 0) continue;
      target[n] = '\0';
      if (std::string_view(target) != "anon_inode:bpf-prog") continue;
      held = fdinfo_names_program(base + "/fdinfo/" + fd->d_name, prog_id);
    }
    closedir(fds);
  }
  closedir(proc);
  if (held) return true;
  if (unreadable) return std::nullopt;
  return false;
}

TcAttachment::TcAttachment(TcAttachment&& other) noexcept
    : link_(std::move(other.link_)),
      ifindex_(std::exchange(other.ifindex_, 0)),
      direction_(other.direction_),
      handle_(std::exchange(other.handle_, 0)),
      priority_(std::exchange(other.priority_, 0)),
      replaced_leftover_(other.replaced_leftover_) {}

TcAttachment& TcAttachment::operator=(TcAttachment&& other) noexcept {
  if (this != &other) {
    detach();
    link_ = std::move(other.link_);
    ifindex_ = std::exchange(other.ifindex_, 0);
    direction_ = other.direction_;
    handle_ = std::exchange(other.handle_, 0);
    priority_ = std::exchange(other.priority_, 0);
    replaced_leftover_ = other.replaced_leftover_;
  }
  return *this;
}

std::string_view TcAttachment::kind() const {
  if (link_.valid()) return "tcx";
  return priority_ != 0 ? "tc_clsact" : "";
}

Result<TcAttachment> TcAttachment::attach(int prog_fd, int ifindex, bool allow_tcx,
                                          TcDirection direction, TcSlot slot) {
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
  if (slot.handle != 0) {
    LIBBPF_OPTS(bpf_tc_opts, query, .handle = slot.handle, .priority = kNetobsTcPriority);
    const int found = bpf_tc_query(&hook, &query);
    // ENOENT, or EINVAL on a qdisc without any filter yet (no chain 0):
    // free, and the exclusive attach below finds out if it is not.
    bool take_slot = found != 0;
    if (found == 0 && program_name(query.prog_id) == slot.program) {
      const std::optional<bool> held = bpf_program_held_by_a_process(query.prog_id);
      if (held == false) {
        take_slot = true;
        out.replaced_leftover_ = true;
      } else if (!held) {
        log_warn("cannot tell whether a netobs tc filter is a leftover",
                 {{"program", std::string(slot.program)},
                  {"ifindex", std::to_string(ifindex)},
                  {"err", "the fds of other processes cannot be read (not root)"}});
      }
    }
    if (take_slot) {
      // NLM_F_EXCL on a free slot: a netobs starting at the same moment
      // that took it first keeps it.
      LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd,
                  .flags = out.replaced_leftover_ ? static_cast<__u32>(BPF_TC_F_REPLACE) : 0u,
                  .handle = slot.handle, .priority = kNetobsTcPriority);
      const int rc = bpf_tc_attach(&hook, &opts);
      if (rc == 0) {
        out.handle_ = opts.handle;
        out.priority_ = opts.priority;
        return out;
      }
      out.replaced_leftover_ = false;  // then as if the slot were taken
    }
  }
  // A slot taken by a live netobs or someone else (or no slot): handle and
  // priority 0, the kernel picks a free priority, ahead of the existing
  // filters; NLM_F_EXCL, never a replacement.
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
