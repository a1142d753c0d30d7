// What the running kernel calls its drop reasons, and where in the kernel a
// drop happened. Reason names come from the kernel's BTF (`enum
// skb_drop_reason`), never from a list compiled into netobs, so a newer
// kernel's reasons are named too. Read once at start; immutable afterwards,
// so any thread may read it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "exporter/status.h"

namespace netobs {

class DropReasons {
 public:
  // Reads `enum skb_drop_reason` from the BTF file at btf_path and checks
  // that skb:kfree_skb passes it; the error names what is missing and the fix.
  static Result<DropReasons> from_btf(const std::string& btf_path);
  // From (enumerator name, value) pairs as BTF lists them (for tests).
  static DropReasons from_enumerators(const std::vector<std::pair<std::string, uint32_t>>& values);

  // "NETFILTER_DROP" (the SKB_DROP_REASON_ prefix stripped), "unknown_<n>"
  // for values the kernel's enum does not name.
  std::string name(uint32_t reason) const;
  // Every reason this kernel can report, by value (without SKB_CONSUMED,
  // SKB_NOT_DROPPED_YET and the enum's MAX / SUBSYS_MASK markers).
  const std::map<uint32_t, std::string>& all() const { return names_; }

 private:
  std::map<uint32_t, std::string> names_;
};

// Kernel text symbols from /proc/kallsyms, to name the function a drop
// happened in. Immutable after load.
class KernelSymbols {
 public:
  // Empty (every address unresolved) when the file is unreadable or the
  // kernel hides addresses (kptr_restrict without CAP_SYSLOG).
  static KernelSymbols load(const std::string& kallsyms_path = "/proc/kallsyms");
  static KernelSymbols from_text(const std::string& text);

  // "tcp_v4_rcv+0x1a3"; "0x<hex>" when no symbol covers it.
  std::string resolve(uint64_t address) const;
  // The function name only ("tcp_v4_rcv"); "" when unresolved.
  std::string function(uint64_t address) const;
  bool empty() const { return symbols_.empty(); }

 private:
  std::vector<std::pair<uint64_t, std::string>> symbols_;  // sorted by address
};

}  // namespace netobs
