// The attach ladder: a BPF source defines one handler per hook
// kind ("rung"), best first; at start netobs probes which rung can work on
// this kernel, loads only that program, attaches it, and falls to the next
// rung when load or attach fails. Called from collectors' start() (main thread).
#pragma once

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/bpf/preflight.h"
#include "exporter/bpf/skeleton.h"
#include "exporter/collector.h"
#include "exporter/errno_name.h"
#include "exporter/status.h"

namespace netobs {

enum class AttachKind { kTpBtf, kRawTp, kTracepoint, kFentry, kFexit, kKprobe, kKretprobe };

// "tp_btf", "raw_tp", "tracepoint", "fentry", "fexit", "kprobe", "kretprobe".
std::string_view attach_kind_name(AttachKind kind);

// One way to hook an event: the BPF program (its C function name) and where
// it goes. target is "category/event" for tp_btf, raw_tp and tracepoint
// (tp_btf and raw_tp use the event part), a kernel function for the others.
struct HookRung {
  AttachKind kind;
  std::string program;
  std::string target;
};

// All the ways to hook one event, best first. name is the stable `prog`
// label of the self-metrics, whichever rung ends up attached. A program
// serves one rung of one ladder only (autoload is per program).
struct HookLadder {
  std::string name;
  std::vector<HookRung> rungs;
  bool required = true;  // false: when no rung works, skip it (not loaded) and go on
};

// Whether a rung can work here, decided without loading the real program
// (tiny probe programs, BTF and tracefs lookups; kernel probes are cached;
// the raw_tp probe attaches a no-op program for a moment).
// The error says why not, naming the kernel feature that is missing.
Status probe_rung(const HookRung& rung, const PreflightReport& preflight);

// Index of the first rung that can work here. reasons (optional) receives why
// each rung before it cannot, "; "-joined; on error it names every rung's reason.
Result<size_t> probe_ladder(const HookLadder& ladder, const PreflightReport& preflight,
                            std::string* reasons = nullptr);

struct LadderLoadOptions {
  std::string collector;                 // `collector` field of log lines
  bool attach = true;                    // false: load (verify) only, attach nothing
  std::optional<AttachKind> force_kind;  // use the rung of this kind only: no probe, no fallback
};

inline constexpr size_t kNoRung = static_cast<size_t>(-1);

// What load_with_ladders set up, one entry per ladder in the given order.
// The links detach on destruction; the object itself stays with its opener.
struct LadderAttachment {
  std::vector<BpfProgramStatus> programs;  // program = ladder name, attach = chosen kind
  std::vector<size_t> rungs;               // chosen rung index, kNoRung when skipped
  std::vector<LinkPtr> links;              // attached links (empty when attach = false)
};

// Opens a fresh, not yet loaded object and configures it (rodata filters,
// autoload of programs outside the ladders), replacing the one it opened
// before; the caller keeps ownership. Called again for every fallback.
using OpenFreshObject = std::function<Result<bpf_object*>()>;

// Chooses a rung per ladder (probe_ladder, or options.force_kind), turns
// autoload off for every other rung's program, loads, attaches, and on a
// failing load or attach moves the failing ladder to its next rung and
// starts over from a fresh object. Each failure is logged as
// `collector=X stage=load|attach prog=<program> attach=<kind> err="..."`.
Result<LadderAttachment> load_with_ladders(const std::vector<HookLadder>& ladders,
                                           const PreflightReport& preflight,
                                           const OpenFreshObject& open_fresh,
                                           const LadderLoadOptions& options);

// A loaded skeleton with its ladder links; links are destroyed before the
// skeleton (member order). Owned by one collector.
template <typename Skel>
struct LoadedSkeleton {
  SkeletonPtr<Skel> skel;
  LadderAttachment attachment;
};

// load_with_ladders for a generated skeleton. configure runs on every fresh
// skeleton before load (set skel->rodata, autoload of other programs).
template <typename Skel>
Result<LoadedSkeleton<Skel>> load_skeleton_with_ladders(
    const std::vector<HookLadder>& ladders, const PreflightReport& preflight,
    const LadderLoadOptions& options, const std::function<Status(Skel&)>& configure = nullptr) {
  SkeletonPtr<Skel> skel;
  OpenFreshObject open_fresh = [&]() -> Result<bpf_object*> {
    skel.reset();
    skel = open_skeleton<Skel>();
    if (!skel) return Status::error("opening BPF skeleton failed: " + errno_message(errno));
    if (configure) {
      Status status = configure(*skel);
      if (!status) return status;
    }
    return skel->obj;
  };
  Result<LadderAttachment> attachment = load_with_ladders(ladders, preflight, open_fresh, options);
  if (!attachment) return attachment.status();
  return LoadedSkeleton<Skel>{std::move(skel), std::move(*attachment)};
}

}  // namespace netobs
