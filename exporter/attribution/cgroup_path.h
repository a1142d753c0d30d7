// Labels a cgroup v2 path carries on real nodes: the systemd unit, the
// container id (Docker, containerd, CRI-O, Podman; systemd and cgroupfs
// drivers) and the Kubernetes pod uid. Pure string parsing, no I/O.
#pragma once

#include <string>
#include <string_view>

namespace netobs {

struct CgroupPathLabels {
  std::string unit;  // innermost systemd service or scope ("nginx.service"); "" in a container
  std::string container_id;  // first 12 hex digits of the innermost container's id
  std::string pod_uid;       // Kubernetes pod uid with dashes ("6f9e...-...")

  bool operator==(const CgroupPathLabels&) const = default;
};

// `path` is relative to the cgroup2 mount ("/system.slice/nginx.service" or
// without the leading slash); it may sit under any prefix (nested runtimes,
// a test's own parent cgroup). Malformed ids (wrong length, not hex) are not
// taken as containers or pods.
CgroupPathLabels cgroup_path_labels(std::string_view path);

}  // namespace netobs
