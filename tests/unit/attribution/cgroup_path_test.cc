// cgroup path -> labels, for the layouts real nodes use (systemd, Docker,
// containerd and CRI-O under Kubernetes with both cgroup drivers, Podman,
// user sessions), nested ones and malformed ones.
#include "exporter/attribution/cgroup_path.h"

#include <gtest/gtest.h>

#include <string>

namespace netobs {
namespace {

const std::string kId = "4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
const std::string kShort = "4f1a2b3c4d5e";
const std::string kId2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kUid = "6f9e1c0a-52b4-4d3e-9a77-0c1d2e3f4a5b";
const std::string kUidSystemd = "6f9e1c0a_52b4_4d3e_9a77_0c1d2e3f4a5b";

struct Case {
  std::string path;
  CgroupPathLabels want;
};

TEST(CgroupPathLabels, EveryLayout) {
  const Case cases[] = {
      // systemd services, scopes and slices
      {"/system.slice/nginx.service", {"nginx.service", "", ""}},
      {"system.slice/nginx.service", {"nginx.service", "", ""}},
      {"/system.slice/system-getty.slice/getty@tty1.service", {"getty@tty1.service", "", ""}},
      {"/init.scope", {"init.scope", "", ""}},
      {"/", {"", "", ""}},
      {"/system.slice", {"", "", ""}},
      // user sessions and user services
      {"/user.slice/user-1000.slice/session-3.scope", {"session-3.scope", "", ""}},
      {"/user.slice/user-1000.slice/user@1000.service/app.slice/dbus.service",
       {"dbus.service", "", ""}},
      {"/user.slice/user-1000.slice/user@1000.service", {"user@1000.service", "", ""}},
      // Docker, systemd and cgroupfs drivers
      {"/system.slice/docker-" + kId + ".scope", {"", kShort, ""}},
      {"/docker/" + kId, {"", kShort, ""}},
      // Docker in Docker: the innermost container
      {"/docker/" + kId2 + "/docker/" + kId, {"", kShort, ""}},
      // containerd under Kubernetes, systemd driver, every QoS class
      {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidSystemd +
           ".slice/cri-containerd-" + kId + ".scope",
       {"", kShort, kUid}},
      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSystemd +
           ".slice/cri-containerd-" + kId + ".scope",
       {"", kShort, kUid}},
      {"/kubepods.slice/kubepods-pod" + kUidSystemd + ".slice/cri-containerd-" + kId + ".scope",
       {"", kShort, kUid}},
      // CRI-O, systemd driver; conmon is not the container
      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSystemd +
           ".slice/crio-" + kId + ".scope",
       {"", kShort, kUid}},
      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSystemd +
           ".slice/crio-conmon-" + kId + ".scope",
       {"", "", kUid}},
      // docker-shim era, systemd driver
      {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidSystemd +
           ".slice/docker-" + kId + ".scope",
       {"", kShort, kUid}},
      // cgroupfs driver (containerd and CRI-O write the bare id)
      {"/kubepods/burstable/pod" + kUid + "/" + kId, {"", kShort, kUid}},
      {"/kubepods/besteffort/pod" + kUid + "/" + kId, {"", kShort, kUid}},
      {"/kubepods/pod" + kUid + "/" + kId, {"", kShort, kUid}},
      // the pod's own cgroup, no container below
      {"/kubepods/burstable/pod" + kUid, {"", "", kUid}},
      // kind: a node in a container, kubelet's slices nested in it
      {"/system.slice/docker-" + kId2 +
           ".scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
           "kubelet-kubepods-besteffort-pod" +
           kUidSystemd + ".slice/cri-containerd-" + kId + ".scope",
       {"", kShort, kUid}},
      // Podman: systemd (root and rootless) and cgroupfs; "container" subgroup
      {"/machine.slice/libpod-" + kId + ".scope", {"", kShort, ""}},
      {"/machine.slice/libpod-" + kId + ".scope/container", {"", kShort, ""}},
      {"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + kId + ".scope",
       {"", kShort, ""}},
      {"/libpod_parent/libpod-" + kId, {"", kShort, ""}},
      // under a test's (or an agent's) own parent cgroup
      {"/nb-attr-1234/system.slice/nginx.service", {"nginx.service", "", ""}},
      {"/nb-attr-1234/kubepods/burstable/pod" + kUid + "/" + kId, {"", kShort, kUid}},
      // malformed: short, upper-case or non-hex ids, bad uids, missing parents
      {"/system.slice/docker-" + kId.substr(0, 63) + ".scope",
       {"docker-" + kId.substr(0, 63) + ".scope", "", ""}},
      {"/system.slice/docker-" + std::string(64, 'A') + ".scope",
       {"docker-" + std::string(64, 'A') + ".scope", "", ""}},
      {"/docker/" + std::string(64, 'g'), {"", "", ""}},
      {"/" + kId, {"", "", ""}},  // a bare id without docker/ or a pod above it
      {"/kubepods/burstable/pod" + kUid.substr(1) + "/" + kId, {"", "", ""}},
      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUid +
           ".slice/cri-containerd-" + kId + ".scope",  // dashes where systemd writes '_'
       {"", kShort, ""}},
      {"/pod" + kUid + "/" + kId, {"", "", ""}},  // pod<uid> outside kubepods
      {"/system.slice/.service", {"", "", ""}},
      {"//system.slice//nginx.service/", {"nginx.service", "", ""}},
      {"", {"", "", ""}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(cgroup_path_labels(c.path), c.want)
        << c.path << " -> unit=" << cgroup_path_labels(c.path).unit
        << " container_id=" << cgroup_path_labels(c.path).container_id
        << " pod_uid=" << cgroup_path_labels(c.path).pod_uid;
  }
}

}  // namespace
}  // namespace netobs
