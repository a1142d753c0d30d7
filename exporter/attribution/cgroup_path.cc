#include "exporter/attribution/cgroup_path.h"

#include <vector>

namespace netobs {
namespace {

constexpr size_t kContainerIdLength = 64;
constexpr size_t kShortIdLength = 12;

bool is_hex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !text.empty();
}

bool is_container_id(std::string_view text) {
  return text.size() == kContainerIdLength && is_hex(text);
}

bool strip_prefix(std::string_view& text, std::string_view prefix) {
  if (text.substr(0, prefix.size()) != prefix) return false;
  text.remove_prefix(prefix.size());
  return true;
}

bool strip_suffix(std::string_view& text, std::string_view suffix) {
  if (text.size() < suffix.size() || text.substr(text.size() - suffix.size()) != suffix) {
    return false;
  }
  text.remove_suffix(suffix.size());
  return true;
}

// A pod uid as Kubernetes writes it: 8-4-4-4-12 hex digits. The systemd
// driver writes '_' for '-' (a '-' means nesting in slice names).
std::string pod_uid(std::string_view text, char separator) {
  static constexpr size_t kGroups[] = {8, 4, 4, 4, 12};
  std::string uid;
  size_t pos = 0;
  for (size_t i = 0; i < std::size(kGroups); ++i) {
    if (i > 0) {
      if (pos >= text.size() || text[pos] != separator) return "";
      uid += '-';
      ++pos;
    }
    std::string_view group = text.substr(pos, kGroups[i]);
    if (group.size() != kGroups[i] || !is_hex(group)) return "";
    uid += group;
    pos += kGroups[i];
  }
  return pos == text.size() ? uid : "";
}

// The container id in one path component, or "":
// systemd driver scopes (docker-, cri-containerd-, crio-, libpod-<id>.scope),
// Podman's cgroupfs "libpod-<id>", and a bare id under docker/ or a pod.
std::string container_in(std::string_view component, std::string_view parent, bool under_pod) {
  std::string_view rest = component;
  if (strip_suffix(rest, ".scope")) {
    for (std::string_view prefix : {"docker-", "cri-containerd-", "crio-", "libpod-"}) {
      std::string_view id = rest;
      if (strip_prefix(id, prefix) && is_container_id(id)) return std::string(id);
    }
    return "";
  }
  if (strip_prefix(rest, "libpod-") && is_container_id(rest)) return std::string(rest);
  if (is_container_id(component) && (parent == "docker" || under_pod)) {
    return std::string(component);
  }
  return "";
}

// The pod uid in one component: "kubepods[-<qos>]-pod<uid>.slice" (systemd;
// kind nests it as "kubelet-kubepods-...") or "pod<uid>" below a "kubepods"
// component (cgroupfs).
std::string pod_in(std::string_view component, bool under_kubepods) {
  std::string_view rest = component;
  strip_prefix(rest, "kubelet-");
  if (strip_prefix(rest, "kubepods-") && strip_suffix(rest, ".slice")) {
    strip_prefix(rest, "burstable-") || strip_prefix(rest, "besteffort-");
    if (!strip_prefix(rest, "pod")) return "";
    return pod_uid(rest, '_');
  }
  if (under_kubepods && strip_prefix(rest, "pod")) return pod_uid(rest, '-');
  return "";
}

bool is_unit(std::string_view component) {
  std::string_view rest = component;
  return (strip_suffix(rest, ".service") || strip_suffix(rest, ".scope")) && !rest.empty();
}

}  // namespace

CgroupPathLabels cgroup_path_labels(std::string_view path) {
  std::vector<std::string_view> components;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view component = path.substr(0, slash);
    if (!component.empty()) components.push_back(component);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  CgroupPathLabels labels;
  std::string pod;
  std::string_view unit;
  bool under_kubepods = false;
  for (size_t i = 0; i < components.size(); ++i) {
    std::string_view component = components[i];
    std::string_view parent = i > 0 ? components[i - 1] : std::string_view();
    if (component == "kubepods" || component == "kubepods.slice" ||
        component == "kubelet-kubepods.slice") {
      under_kubepods = true;
    }
    if (std::string uid = pod_in(component, under_kubepods); !uid.empty()) {
      pod = uid;
      labels.container_id.clear();  // a pod nested inside a container: the inner one counts
      continue;
    }
    if (std::string id = container_in(component, parent, !pod.empty()); !id.empty()) {
      labels.container_id = id.substr(0, kShortIdLength);
      labels.pod_uid = pod;
      continue;
    }
    if (is_unit(component) && labels.container_id.empty()) unit = component;
  }
  if (labels.container_id.empty()) {
    labels.pod_uid = pod;  // a process in the pod's own cgroup (no container below)
    labels.unit = pod.empty() ? std::string(unit) : "";
  }
  return labels;
}

}  // namespace netobs
