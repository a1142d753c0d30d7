#include "exporter/bpf/attach_ladder.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>

#include "exporter/bpf/libbpf_logging.h"
#include "exporter/log.h"

namespace netobs {
namespace {

struct TracepointName {
  std::string category;  // empty when the target has no "category/" part
  std::string event;
};

TracepointName split_tracepoint(const std::string& target) {
  size_t slash = target.find('/');
  if (slash == std::string::npos) return {"", target};
  return {target.substr(0, slash), target.substr(slash + 1)};
}

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};
using BtfPtr = std::unique_ptr<btf, BtfDeleter>;

Result<BtfPtr> load_kernel_btf(const PreflightReport& preflight) {
  if (!preflight.btf_present) {
    return Status::error("kernel BTF not found at " + preflight.btf_path +
                         ": needs CONFIG_DEBUG_INFO_BTF=y");
  }
  BtfPtr kernel_btf(btf__parse(preflight.btf_path.c_str(), nullptr));
  if (!kernel_btf) {
    return Status::error("parsing kernel BTF " + preflight.btf_path +
                         " failed: " + errno_message(errno));
  }
  return kernel_btf;
}

// `r0 = 0; exit`: the smallest program every type accepts.
UniqueFd load_probe_program(bpf_prog_type type, bpf_attach_type attach_type, __u32 btf_id,
                            int* err) {
  bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[0].dst_reg = BPF_REG_0;
  insns[1].code = BPF_JMP | BPF_EXIT;
  bpf_prog_load_opts opts{};
  opts.sz = sizeof(opts);
  opts.expected_attach_type = attach_type;
  opts.attach_btf_id = btf_id;
  int fd = bpf_prog_load(type, "netobs_probe", "GPL", insns, 2, &opts);
  *err = fd < 0 ? errno : 0;
  return UniqueFd(fd);
}

// Results of probes that load programs into the kernel, by
// "kind:btf path:target". Checks of the preflight report and of files
// (tracefs, kprobe PMU) are not cached: tracefs may be mounted later.
std::mutex g_probe_cache_mutex;
std::map<std::string, Status> g_probe_cache;

template <typename Probe>
Status cached_probe(const std::string& key, Probe probe) {
  {
    std::lock_guard<std::mutex> lock(g_probe_cache_mutex);
    auto it = g_probe_cache.find(key);
    if (it != g_probe_cache.end()) return it->second;
  }
  Status status = probe();
  std::lock_guard<std::mutex> lock(g_probe_cache_mutex);
  g_probe_cache.emplace(key, status);
  return status;
}

std::string privileges_hint(const PreflightReport& preflight, int err) {
  return permission_hint(preflight, err, /*perf_event=*/false);
}

Status probe_tp_btf(const HookRung& rung, const PreflightReport& preflight) {
  const std::string event = split_tracepoint(rung.target).event;
  if (!preflight.btf_present) return load_kernel_btf(preflight).status();
  return cached_probe("tp_btf:" + preflight.btf_path + ":" + event, [&]() -> Status {
    auto kernel_btf = load_kernel_btf(preflight);
    if (!kernel_btf) return kernel_btf.status();
    const std::string type_name = "btf_trace_" + event;
    int id = btf__find_by_name_kind(kernel_btf->get(), type_name.c_str(), BTF_KIND_TYPEDEF);
    if (id < 0) {
      return Status::error("kernel BTF has no " + type_name +
                           ": tracepoint missing here, or kernel older than 5.5 (tp_btf)");
    }
    int err = 0;
    UniqueFd fd =
        load_probe_program(BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, static_cast<__u32>(id), &err);
    if (!fd.valid()) {
      return Status::error("kernel refused a minimal tp_btf program on " + event + ": " +
                           errno_message(err) + privileges_hint(preflight, err));
    }
    return Status::ok();
  });
}

Status probe_raw_tp(const HookRung& rung, const PreflightReport& preflight) {
  const std::string event = split_tracepoint(rung.target).event;
  return cached_probe("raw_tp:" + event, [&]() -> Status {
    int err = 0;
    UniqueFd prog =
        load_probe_program(BPF_PROG_TYPE_RAW_TRACEPOINT, static_cast<bpf_attach_type>(0), 0, &err);
    if (!prog.valid()) {
      return Status::error("kernel refused a minimal raw_tp program: " + errno_message(err) +
                           privileges_hint(preflight, err));
    }
    // Opening the raw tracepoint is the only check that covers every kernel
    // (no BTF, no tracefs needed); the no-op program is detached at once.
    UniqueFd link(bpf_raw_tracepoint_open(event.c_str(), prog.get()));
    if (!link.valid()) {
      err = errno;
      if (err == ENOENT) return Status::error("kernel has no tracepoint named " + event);
      return Status::error("opening raw tracepoint " + event + " failed: " + errno_message(err) +
                           privileges_hint(preflight, err));
    }
    return Status::ok();
  });
}

Status probe_tracepoint(const HookRung& rung, const PreflightReport& preflight) {
  const TracepointName name = split_tracepoint(rung.target);
  if (name.category.empty()) {
    return Status::error("tracepoint target '" + rung.target + "' must be category/event");
  }
  if (!preflight.tracefs_mounted) {
    std::string line = "tracefs not mounted at " + preflight.tracefs_path +
                       ": classic tracepoints need it (mount -t tracefs tracefs " +
                       preflight.tracefs_path + ")";
    if (!preflight.tracefs_error.empty()) line += " (" + preflight.tracefs_error + ")";
    return Status::error(line);
  }
  const std::string id_path =
      preflight.tracefs_path + "/events/" + name.category + "/" + name.event + "/id";
  if (access(id_path.c_str(), R_OK) != 0) {
    if ((errno == EACCES || errno == EPERM) && !preflight.tracefs_readable) {
      char mode[8];
      std::snprintf(mode, sizeof(mode), "%04o", preflight.tracefs_mode);
      return Status::error("cannot read tracepoint " + name.category + ":" + name.event +
                           ": tracefs at " + preflight.tracefs_path + " is root-only (mode " +
                           mode +
                           ") and this process is not root; run as root or make tracefs "
                           "readable to netobs (`netobs check` says how)");
    }
    return Status::error("kernel has no tracepoint " + name.category + ":" + name.event + " (" +
                         id_path + ": " + errno_message(errno) + ")");
  }
  return cached_probe("tracepoint:prog_type", []() -> Status {
    if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, nullptr) != 1) {
      return Status::error("kernel does not support BPF tracepoint programs");
    }
    return Status::ok();
  });
}

Status probe_fentry(const HookRung& rung, const PreflightReport& preflight) {
  const bool is_exit = rung.kind == AttachKind::kFexit;
  const std::string kind(attach_kind_name(rung.kind));
  if (!preflight.btf_present) return load_kernel_btf(preflight).status();
  return cached_probe(kind + ":" + preflight.btf_path + ":" + rung.target, [&]() -> Status {
    auto kernel_btf = load_kernel_btf(preflight);
    if (!kernel_btf) return kernel_btf.status();
    int id = btf__find_by_name_kind(kernel_btf->get(), rung.target.c_str(), BTF_KIND_FUNC);
    if (id < 0) {
      return Status::error("kernel function " + rung.target +
                           " not in kernel BTF (inlined, renamed or removed in this kernel)");
    }
    int err = 0;
    UniqueFd fd =
        load_probe_program(BPF_PROG_TYPE_TRACING, is_exit ? BPF_TRACE_FEXIT : BPF_TRACE_FENTRY,
                           static_cast<__u32>(id), &err);
    if (fd.valid()) return Status::ok();
    std::string why = "kernel refused a minimal " + kind + " program on " + rung.target + ": " +
                      errno_message(err);
    if (err == EPERM && preflight.has_bpf_privileges()) {
      // The verifier accepted it; the trampoline setup behind fentry/fexit did not.
      why += " although privileges suffice: BPF trampolines are unavailable on this kernel";
    } else {
      why += privileges_hint(preflight, err);
    }
    return Status::error(why);
  });
}

bool kallsyms_has_function(const std::string& function) {
  std::ifstream in("/proc/kallsyms");
  std::string address, type, symbol;
  while (in >> address >> type) {
    std::getline(in, symbol);
    // "<addr> <type> <name>[\t[module]]"
    size_t start = symbol.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    size_t end = symbol.find_first_of(" \t", start);
    if (symbol.compare(start, end == std::string::npos ? std::string::npos : end - start,
                       function) == 0 &&
        (type == "T" || type == "t")) {
      return true;
    }
  }
  return false;
}

Status probe_kprobe(const HookRung& rung, const PreflightReport& preflight) {
  if (!preflight.kprobes_available) {
    return Status::error(
        "kernel has no kprobe support (no /sys/bus/event_source/devices/kprobe, no "
        "kprobe_events in tracefs): built without CONFIG_KPROBES");
  }
  if (!kallsyms_has_function(rung.target)) {
    return Status::error("kernel function " + rung.target +
                         " not in /proc/kallsyms (inlined, renamed or removed in this kernel)");
  }
  return cached_probe("kprobe:prog_type", []() -> Status {
    if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_KPROBE, nullptr) != 1) {
      return Status::error("kernel does not support BPF kprobe programs");
    }
    return Status::ok();
  });
}

// ---- loader ----

std::string rung_label(const HookRung& rung) {
  return std::string(attach_kind_name(rung.kind)) + " " + rung.target;
}

// errno plus the verifier's last complaint from libbpf's captured output;
// the full verifier log stays in the debug log.
std::string summarize_failure(int err, const std::string& captured) {
  std::string summary = errno_message(err);
  std::string_view text = captured;
  std::string last_verifier_line;
  size_t begin = text.find("-- BEGIN PROG LOAD LOG --");
  size_t end = text.find("-- END PROG LOAD LOG --");
  if (begin != std::string_view::npos && end != std::string_view::npos && end > begin) {
    std::string_view log = text.substr(begin, end - begin);
    // The verifier ends with "processed N insns ..." after the actual complaint.
    size_t pos = 0;
    std::string_view previous;
    while (pos < log.size()) {
      size_t eol = log.find('\n', pos);
      std::string_view line = log.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
      pos = eol == std::string_view::npos ? log.size() : eol + 1;
      if (line.empty() || line.find("-- BEGIN") != std::string_view::npos) continue;
      if (line.substr(0, 10) == "processed ") break;
      previous = line;
    }
    last_verifier_line = std::string(previous);
  }
  if (!last_verifier_line.empty()) summary += ": verifier: " + last_verifier_line;
  return summary;
}

class LadderLoader {
 public:
  LadderLoader(const std::vector<HookLadder>& ladders, const PreflightReport& preflight,
               const OpenFreshObject& open_fresh, const LadderLoadOptions& options)
      : ladders_(ladders),
        preflight_(preflight),
        open_fresh_(open_fresh),
        options_(options),
        current_(ladders.size(), kNoRung),
        reasons_(ladders.size()) {}

  Result<LadderAttachment> run() {
    install_libbpf_logger();
    Status unique = check_programs_unique();
    if (!unique) return unique;
    for (size_t i = 0; i < ladders_.size(); ++i) {
      Status chosen = choose_first(i);
      if (!chosen) return chosen;
    }
    // Every failed round moves at least one ladder down a rung or ends the
    // run, so rounds are bounded by the number of rungs.
    size_t rounds = 1;
    for (const auto& ladder : ladders_) rounds += ladder.rungs.size();
    for (size_t round = 0; round < rounds; ++round) {
      Result<bpf_object*> object = open_and_plan(kAllLadders);
      if (!object) return object.status();
      int err = 0;
      std::string captured;
      {
        LibbpfCapture capture;
        err = bpf_object__load(*object) == 0 ? 0 : errno;
        captured = capture.text();
      }
      if (err != 0) {
        Status status = handle_load_failure(err, captured);
        if (!status) return status;
        continue;
      }
      LadderAttachment attachment = describe(*object);
      if (!options_.attach) return attachment;
      bool all_attached = true;
      for (size_t i = 0; i < ladders_.size(); ++i) {
        if (current_[i] == kNoRung) continue;
        Result<LinkPtr> link = attach(*object, i);
        if (!link) {
          all_attached = false;
          log_failure(i, "attach", link.message());
          Status status = advance(i, "attach: " + link.message());
          if (!status) return status;
          continue;
        }
        attachment.links.push_back(std::move(*link));
        attachment.programs[i].attached = true;
      }
      if (all_attached) {
        log_chosen(attachment);
        return attachment;
      }
    }
    return Status::error(options_.collector + ": BPF load did not settle after " +
                         std::to_string(rounds) + " rounds");
  }

 private:
  static constexpr size_t kAllLadders = static_cast<size_t>(-1);
  static constexpr size_t kNoLadder = static_cast<size_t>(-2);

  const HookRung& rung(size_t ladder) const { return ladders_[ladder].rungs[current_[ladder]]; }

  // Autoload is set per program, so a program can only serve one rung.
  Status check_programs_unique() const {
    std::map<std::string, std::string> owner;
    for (const auto& ladder : ladders_) {
      for (const auto& r : ladder.rungs) {
        auto [it, added] = owner.emplace(r.program, ladder.name);
        if (!added) {
          return Status::error(options_.collector + ": program " + r.program +
                               " appears twice in the hook ladders (" + it->second + ", " +
                               ladder.name + ")");
        }
      }
    }
    return Status::ok();
  }

  Status choose_first(size_t i) {
    const HookLadder& ladder = ladders_[i];
    if (options_.force_kind) {
      for (size_t r = 0; r < ladder.rungs.size(); ++r) {
        if (ladder.rungs[r].kind == *options_.force_kind) {
          current_[i] = r;
          return Status::ok();
        }
      }
      return Status::error(options_.collector + ": ladder " + ladder.name + " has no " +
                           std::string(attach_kind_name(*options_.force_kind)) + " rung");
    }
    return move_to_available(i, 0);
  }

  // Moves ladder i to its first rung at index >= from that probes available.
  Status move_to_available(size_t i, size_t from) {
    const HookLadder& ladder = ladders_[i];
    for (size_t r = from; r < ladder.rungs.size(); ++r) {
      Status probe = probe_rung(ladder.rungs[r], preflight_);
      if (probe) {
        current_[i] = r;
        return Status::ok();
      }
      log_info("hook unavailable", {{"collector", options_.collector},
                                    {"stage", "probe"},
                                    {"prog", ladder.name},
                                    {"attach", std::string(attach_kind_name(ladder.rungs[r].kind))},
                                    {"err", probe.message()}});
      add_reason(i, ladder.rungs[r], probe.message());
    }
    current_[i] = kNoRung;
    if (ladder.required) {
      return Status::error(options_.collector + ": no way to attach " + ladder.name +
                           " on this kernel: " + reasons_[i]);
    }
    log_warn("optional hook skipped: no rung works here",
             {{"collector", options_.collector}, {"prog", ladder.name}, {"err", reasons_[i]}});
    return Status::ok();
  }

  // After a failed load or attach of the current rung.
  Status advance(size_t i, const std::string& why) {
    add_reason(i, rung(i), why);
    if (options_.force_kind) {
      const std::string label = rung_label(rung(i));
      current_[i] = kNoRung;
      return Status::error(options_.collector + ": " + ladders_[i].name + " forced to " + label +
                           " and it failed: " + why);
    }
    return move_to_available(i, current_[i] + 1);
  }

  void add_reason(size_t i, const HookRung& r, const std::string& why) {
    if (!reasons_[i].empty()) reasons_[i] += "; ";
    reasons_[i] += rung_label(r) + ": " + why;
  }

  // Opens a fresh object with autoload on for the chosen rung of `only`
  // (kAllLadders: of every ladder; kNoLadder: of none).
  Result<bpf_object*> open_and_plan(size_t only) {
    Result<bpf_object*> object = open_fresh_();
    if (!object) return object;
    for (size_t i = 0; i < ladders_.size(); ++i) {
      for (size_t r = 0; r < ladders_[i].rungs.size(); ++r) {
        const HookRung& candidate = ladders_[i].rungs[r];
        bpf_program* prog = bpf_object__find_program_by_name(*object, candidate.program.c_str());
        if (prog == nullptr) {
          return Status::error(options_.collector + ": BPF object has no program " +
                               candidate.program + " (ladder " + ladders_[i].name + ")");
        }
        const bool load = r == current_[i] && (only == kAllLadders || only == i);
        bpf_program__set_autoload(prog, load);
        if (!load) continue;
        // The rung's target wins over the SEC() name for BTF-typed hooks.
        std::string btf_target;
        if (candidate.kind == AttachKind::kTpBtf) {
          btf_target = split_tracepoint(candidate.target).event;
        }
        if (candidate.kind == AttachKind::kFentry || candidate.kind == AttachKind::kFexit) {
          btf_target = candidate.target;
        }
        if (!btf_target.empty() &&
            bpf_program__set_attach_target(prog, 0, btf_target.c_str()) != 0) {
          return Status::error(options_.collector + ": setting attach target " + btf_target +
                               " of " + candidate.program + " failed: " + errno_message(errno));
        }
      }
    }
    return object;
  }

  // Loads a fresh object planned by `only`; returns errno (0 on success) and libbpf's words.
  int trial_load(size_t only, std::string* captured, Status* open_error) {
    Result<bpf_object*> object = open_and_plan(only);
    if (!object) {
      *open_error = object.status();
      return EINVAL;
    }
    LibbpfCapture capture;
    int err = bpf_object__load(*object) == 0 ? 0 : errno;
    *captured = capture.text();
    return err;
  }

  // Finds which ladders made the load fail and moves them down a rung. A
  // failure with no ladder program loaded is not the ladder's to fix.
  Status handle_load_failure(int err, const std::string& captured) {
    std::vector<size_t> active;
    for (size_t i = 0; i < ladders_.size(); ++i) {
      if (current_[i] != kNoRung) active.push_back(i);
    }
    Status open_error;
    std::string baseline_log;
    int baseline = trial_load(kNoLadder, &baseline_log, &open_error);
    if (!open_error) return open_error;
    if (baseline != 0 || active.empty()) {
      return Status::error(options_.collector + ": loading BPF object failed outside the hook " +
                           "ladders: " +
                           summarize_failure(baseline != 0 ? baseline : err,
                                             baseline != 0 ? baseline_log : captured));
    }
    std::vector<std::pair<size_t, std::string>> culprits;
    if (active.size() == 1) {
      culprits.emplace_back(active[0], summarize_failure(err, captured));
    } else {
      for (size_t i : active) {
        std::string log;
        int one = trial_load(i, &log, &open_error);
        if (!open_error) return open_error;
        if (one != 0) culprits.emplace_back(i, summarize_failure(one, log));
      }
      if (culprits.empty()) {
        return Status::error(options_.collector + ": loading BPF object failed only with all " +
                             "hooks together: " + summarize_failure(err, captured));
      }
    }
    for (const auto& [i, why] : culprits) {
      log_failure(i, "load", why);
      Status status = advance(i, "load: " + why);
      if (!status) return status;
    }
    return Status::ok();
  }

  Result<LinkPtr> attach(bpf_object* object, size_t i) {
    const HookRung& r = rung(i);
    bpf_program* prog = bpf_object__find_program_by_name(object, r.program.c_str());
    bpf_link* link = nullptr;
    LibbpfCapture capture;
    switch (r.kind) {
      case AttachKind::kTpBtf:
      case AttachKind::kFentry:
      case AttachKind::kFexit:
        link = bpf_program__attach_trace(prog);
        break;
      case AttachKind::kRawTp:
        link = bpf_program__attach_raw_tracepoint(prog, split_tracepoint(r.target).event.c_str());
        break;
      case AttachKind::kTracepoint: {
        TracepointName name = split_tracepoint(r.target);
        link = bpf_program__attach_tracepoint(prog, name.category.c_str(), name.event.c_str());
        break;
      }
      case AttachKind::kKprobe:
      case AttachKind::kKretprobe:
        link = bpf_program__attach_kprobe(prog, r.kind == AttachKind::kKretprobe, r.target.c_str());
        break;
    }
    if (link == nullptr) {
      const int err = errno;
      std::string why = errno_message(err);
      // Tracepoints and kprobes attach through perf_event_open().
      why += permission_hint(preflight_, err,
                             r.kind == AttachKind::kTracepoint || r.kind == AttachKind::kKprobe ||
                                 r.kind == AttachKind::kKretprobe);
      std::string_view text = capture.text();
      while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
      size_t last = text.rfind('\n');
      std::string_view line = last == std::string_view::npos ? text : text.substr(last + 1);
      if (!line.empty()) why += ": libbpf: " + std::string(line);
      return Status::error(why);
    }
    return LinkPtr(link);
  }

  LadderAttachment describe(bpf_object* object) const {
    LadderAttachment attachment;
    for (size_t i = 0; i < ladders_.size(); ++i) {
      BpfProgramStatus status;
      status.program = ladders_[i].name;
      attachment.rungs.push_back(current_[i]);
      if (current_[i] != kNoRung) {
        status.attach = std::string(attach_kind_name(rung(i).kind));
        bpf_program* prog = bpf_object__find_program_by_name(object, rung(i).program.c_str());
        status.prog_fd = prog != nullptr ? bpf_program__fd(prog) : -1;
      }
      attachment.programs.push_back(std::move(status));
    }
    return attachment;
  }

  void log_failure(size_t i, const char* stage, const std::string& why) const {
    log_warn("hook failed, trying the next rung",
             {{"collector", options_.collector},
              {"stage", stage},
              {"prog", rung(i).program},
              {"attach", std::string(attach_kind_name(rung(i).kind))},
              {"err", why}});
  }

  void log_chosen(const LadderAttachment& attachment) const {
    for (size_t i = 0; i < ladders_.size(); ++i) {
      if (current_[i] == kNoRung) continue;
      log_info("bpf program attached", {{"collector", options_.collector},
                                        {"prog", ladders_[i].name},
                                        {"attach", attachment.programs[i].attach},
                                        {"program", rung(i).program},
                                        {"target", rung(i).target}});
    }
  }

  const std::vector<HookLadder>& ladders_;
  const PreflightReport& preflight_;
  const OpenFreshObject& open_fresh_;
  const LadderLoadOptions& options_;
  std::vector<size_t> current_;
  std::vector<std::string> reasons_;
};

}  // namespace

std::string_view attach_kind_name(AttachKind kind) {
  switch (kind) {
    case AttachKind::kTpBtf:
      return "tp_btf";
    case AttachKind::kRawTp:
      return "raw_tp";
    case AttachKind::kTracepoint:
      return "tracepoint";
    case AttachKind::kFentry:
      return "fentry";
    case AttachKind::kFexit:
      return "fexit";
    case AttachKind::kKprobe:
      return "kprobe";
    case AttachKind::kKretprobe:
      return "kretprobe";
  }
  return "unknown";
}

Status probe_rung(const HookRung& rung, const PreflightReport& preflight) {
  switch (rung.kind) {
    case AttachKind::kTpBtf:
      return probe_tp_btf(rung, preflight);
    case AttachKind::kRawTp:
      return probe_raw_tp(rung, preflight);
    case AttachKind::kTracepoint:
      return probe_tracepoint(rung, preflight);
    case AttachKind::kFentry:
    case AttachKind::kFexit:
      return probe_fentry(rung, preflight);
    case AttachKind::kKprobe:
    case AttachKind::kKretprobe:
      return probe_kprobe(rung, preflight);
  }
  return Status::error("unknown attach kind");
}

Result<size_t> probe_ladder(const HookLadder& ladder, const PreflightReport& preflight,
                            std::string* reasons) {
  std::string why;
  for (size_t r = 0; r < ladder.rungs.size(); ++r) {
    Status probe = probe_rung(ladder.rungs[r], preflight);
    if (probe) {
      if (reasons != nullptr) *reasons = why;
      return r;
    }
    if (!why.empty()) why += "; ";
    why += rung_label(ladder.rungs[r]) + ": " + probe.message();
  }
  if (reasons != nullptr) *reasons = why;
  return Status::error("no way to attach " + ladder.name + " on this kernel: " + why);
}

Result<LadderAttachment> load_with_ladders(const std::vector<HookLadder>& ladders,
                                           const PreflightReport& preflight,
                                           const OpenFreshObject& open_fresh,
                                           const LadderLoadOptions& options) {
  return LadderLoader(ladders, preflight, open_fresh, options).run();
}

}  // namespace netobs
