#include "collectors/drops/drop_reasons.h"

#include <bpf/btf.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>

#include "exporter/errno_name.h"

namespace netobs {
namespace {

constexpr std::string_view kPrefix = "SKB_DROP_REASON_";

// Whether the function prototype behind typedef `btf_trace_kfree_skb` has an
// argument of type `enum skb_drop_reason` (Linux 5.17+).
bool tracepoint_passes_reason(const btf* btf, int32_t typedef_id, int32_t enum_id) {
  const btf_type* t = btf__type_by_id(btf, static_cast<uint32_t>(typedef_id));
  if (t == nullptr || !btf_is_typedef(t)) return false;
  t = btf__type_by_id(btf, t->type);
  if (t != nullptr && btf_is_ptr(t)) t = btf__type_by_id(btf, t->type);
  if (t == nullptr || !btf_is_func_proto(t)) return false;
  const btf_param* params = btf_params(t);
  for (uint16_t i = 0; i < btf_vlen(t); ++i) {
    if (btf__resolve_type(btf, params[i].type) == enum_id) return true;
  }
  return false;
}

}  // namespace

DropReasons DropReasons::from_enumerators(
    const std::vector<std::pair<std::string, uint32_t>>& values) {
  DropReasons reasons;
  for (const auto& [name, value] : values) {
    // SKB_NOT_DROPPED_YET and SKB_CONSUMED lack the prefix: they are not drops.
    if (name.rfind(kPrefix, 0) != 0) continue;
    std::string stripped = name.substr(kPrefix.size());
    if (stripped == "MAX" || stripped == "SUBSYS_MASK") continue;  // markers, not reasons
    reasons.names_.emplace(value, std::move(stripped));
  }
  return reasons;
}

Result<DropReasons> DropReasons::from_btf(const std::string& btf_path) {
  struct BtfDeleter {
    void operator()(btf* b) const { btf__free(b); }
  };
  std::unique_ptr<btf, BtfDeleter> parsed(btf__parse(btf_path.c_str(), nullptr));
  if (!parsed) {
    const int err = errno;
    return Status::error("cannot read kernel BTF at " + btf_path + ": " + errno_message(err) +
                         "; drop reasons need a kernel built with CONFIG_DEBUG_INFO_BTF=y");
  }
  const btf* b = parsed.get();
  int32_t enum_id = btf__find_by_name_kind(b, "skb_drop_reason", BTF_KIND_ENUM);
  if (enum_id < 0) enum_id = btf__find_by_name_kind(b, "skb_drop_reason", BTF_KIND_ENUM64);
  if (enum_id < 0) {
    return Status::error("the kernel's BTF (" + btf_path +
                         ") has no enum skb_drop_reason: this kernel does not report why it drops "
                         "packets (drop reasons came in Linux 5.17); upgrade the kernel or "
                         "disable the collector with --no-collector.drops");
  }
  const int32_t tracepoint_id = btf__find_by_name_kind(b, "btf_trace_kfree_skb", BTF_KIND_TYPEDEF);
  if (tracepoint_id < 0 || !tracepoint_passes_reason(b, tracepoint_id, enum_id)) {
    return Status::error("the kernel's skb:kfree_skb tracepoint has no drop reason argument (" +
                         btf_path +
                         "): it came in Linux 5.17; upgrade the kernel or disable the collector "
                         "with --no-collector.drops");
  }
  const btf_type* t = btf__type_by_id(b, static_cast<uint32_t>(enum_id));
  std::vector<std::pair<std::string, uint32_t>> values;
  if (btf_is_enum(t)) {
    const struct btf_enum* e = btf_enum(t);
    for (uint16_t i = 0; i < btf_vlen(t); ++i) {
      values.emplace_back(btf__name_by_offset(b, e[i].name_off), static_cast<uint32_t>(e[i].val));
    }
  } else {
    const struct btf_enum64* e = btf_enum64(t);
    for (uint16_t i = 0; i < btf_vlen(t); ++i) {
      values.emplace_back(btf__name_by_offset(b, e[i].name_off),
                          static_cast<uint32_t>(btf_enum64_value(&e[i])));
    }
  }
  return from_enumerators(values);
}

std::string DropReasons::name(uint32_t reason) const {
  auto it = names_.find(reason);
  return it != names_.end() ? it->second : "unknown_" + std::to_string(reason);
}

KernelSymbols KernelSymbols::from_text(const std::string& text) {
  KernelSymbols symbols;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string address_text, kind, name;
    if (!(fields >> address_text >> kind >> name)) continue;
    if (kind != "t" && kind != "T") continue;  // functions only
    const uint64_t address = std::strtoull(address_text.c_str(), nullptr, 16);
    if (address == 0) continue;  // hidden by kptr_restrict
    symbols.symbols_.emplace_back(address, std::move(name));
  }
  std::sort(symbols.symbols_.begin(), symbols.symbols_.end());
  return symbols;
}

KernelSymbols KernelSymbols::load(const std::string& kallsyms_path) {
  std::ifstream in(kallsyms_path);
  std::stringstream text;
  text << in.rdbuf();
  return from_text(text.str());
}

std::string KernelSymbols::function(uint64_t address) const {
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), address,
                             [](uint64_t a, const auto& s) { return a < s.first; });
  if (it == symbols_.begin()) return "";
  return std::prev(it)->second;
}

std::string KernelSymbols::resolve(uint64_t address) const {
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), address,
                             [](uint64_t a, const auto& s) { return a < s.first; });
  std::ostringstream out;
  if (it == symbols_.begin()) {
    out << "0x" << std::hex << address;
  } else {
    --it;
    out << it->second << "+0x" << std::hex << (address - it->first);
  }
  return out.str();
}

}  // namespace netobs
