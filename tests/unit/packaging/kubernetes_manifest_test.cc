// packaging/kubernetes/: the DaemonSet, ConfigMap, Service, RBAC and Containerfile
// fit together (names, ports, mounts, paths), and the DaemonSet grants
// exactly the capabilities `netobs check --systemd` says the ConfigMap's
// config needs, instead of privileged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <string>

#include "exporter/builtin_config.h"
#include "exporter/capabilities.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;

std::string manifest_dir() { return testing::source_dir() + "/packaging/kubernetes"; }

YAML::Node load(const std::string& name) { return YAML::LoadFile(manifest_dir() + "/" + name); }

YAML::Node container_of(const YAML::Node& daemonset) {
  const YAML::Node containers = daemonset["spec"]["template"]["spec"]["containers"];
  EXPECT_TRUE(containers.IsSequence());
  EXPECT_EQ(containers.size(), 1u);
  return containers[0];
}

std::vector<std::string> strings(const YAML::Node& list) {
  std::vector<std::string> out;
  for (const YAML::Node& item : list) out.push_back(item.as<std::string>());
  return out;
}

TEST(KubernetesManifest, DaemonSetRunsOnTheHostWithoutPrivileged) {
  const YAML::Node ds = load("daemonset.yaml");
  EXPECT_EQ(ds["apiVersion"].as<std::string>(), "apps/v1");
  EXPECT_EQ(ds["kind"].as<std::string>(), "DaemonSet");
  const YAML::Node pod = ds["spec"]["template"]["spec"];
  EXPECT_TRUE(pod["hostNetwork"].as<bool>());
  EXPECT_TRUE(pod["hostPID"].as<bool>());
  // The selector picks the template's pods.
  for (const auto& label : ds["spec"]["selector"]["matchLabels"]) {
    EXPECT_EQ(ds["spec"]["template"]["metadata"]["labels"][label.first.as<std::string>()]
                  .as<std::string>(),
              label.second.as<std::string>());
  }
  const YAML::Node container = container_of(ds);
  const YAML::Node security = container["securityContext"];
  EXPECT_FALSE(security["privileged"] && security["privileged"].as<bool>());
  EXPECT_FALSE(security["allowPrivilegeEscalation"].as<bool>());
  EXPECT_EQ(strings(security["capabilities"]["drop"]), std::vector<std::string>{"ALL"});

  // Read-only host mounts of cgroup2, tracefs and BTF, each a hostPath volume.
  std::map<std::string, std::string> host_paths;
  for (const YAML::Node& volume : pod["volumes"]) {
    if (volume["hostPath"]) {
      host_paths[volume["name"].as<std::string>()] = volume["hostPath"]["path"].as<std::string>();
    }
  }
  std::set<std::string> mounted;
  for (const YAML::Node& mount : container["volumeMounts"]) {
    EXPECT_TRUE(mount["readOnly"].as<bool>()) << mount["mountPath"].as<std::string>();
    const std::string name = mount["name"].as<std::string>();
    if (host_paths.count(name)) {
      EXPECT_EQ(host_paths[name], mount["mountPath"].as<std::string>());
      mounted.insert(mount["mountPath"].as<std::string>());
    }
  }
  EXPECT_EQ(mounted,
            (std::set<std::string>{"/sys/fs/cgroup", "/sys/kernel/tracing", "/sys/kernel/btf"}));
}

TEST(KubernetesManifest, CapabilitiesAreWhatNetobsCheckSaysTheConfigNeeds) {
  const YAML::Node configmap = load("configmap.yaml");
  EXPECT_EQ(configmap["kind"].as<std::string>(), "ConfigMap");
  const std::string yaml = configmap["data"]["netobs.yaml"].as<std::string>();
  ConfigLoadResult loaded = load_config_string(yaml, "configmap.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.errors[0].to_string();
  EXPECT_TRUE(loaded.warnings.empty());
  CollectorRegistry registry;
  register_builtin_collectors(registry);
  const ServicePlan plan = plan_service(loaded.config, registry);
  std::vector<std::string> wanted;
  for (const CapabilityNeed& need : plan.capabilities) wanted.push_back(need.name.substr(4));
  const YAML::Node ds = load("daemonset.yaml");
  EXPECT_EQ(strings(container_of(ds)["securityContext"]["capabilities"]["add"]), wanted)
      << format_service_plan(plan);
  EXPECT_THAT(wanted, ::testing::Contains("DAC_READ_SEARCH"));  // attribution: cgroup
  // The config is mounted where the container's arguments look for it.
  const YAML::Node pod = ds["spec"]["template"]["spec"];
  std::string config_mount;
  for (const YAML::Node& mount : container_of(ds)["volumeMounts"]) {
    for (const YAML::Node& volume : pod["volumes"]) {
      if (volume["name"].as<std::string>() == mount["name"].as<std::string>() &&
          volume["configMap"]) {
        EXPECT_EQ(volume["configMap"]["name"].as<std::string>(),
                  configmap["metadata"]["name"].as<std::string>());
        config_mount = mount["mountPath"].as<std::string>();
      }
    }
  }
  EXPECT_THAT(strings(container_of(ds)["args"]),
              ::testing::Contains("--config.file=" + config_mount + "/netobs.yaml"));
  EXPECT_EQ(loaded.config.attribution.cgroup_root, "/sys/fs/cgroup");
}

// Pod names come from the kubelet's https port with the pod's
// service-account token, which rbac.yaml allows to read /pods.
TEST(KubernetesManifest, KubeletOverHttpsWithTheServiceAccountToken) {
  const std::string yaml = load("configmap.yaml")["data"]["netobs.yaml"].as<std::string>();
  ConfigLoadResult loaded = load_config_string(yaml, "configmap.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.errors[0].to_string();
  EXPECT_EQ(loaded.config.attribution.kubelet_url, "https://127.0.0.1:10250/pods");
  EXPECT_EQ(loaded.config.attribution.kubelet_token_file,
            "/var/run/secrets/kubernetes.io/serviceaccount/token");
  const YAML::Node pod = load("daemonset.yaml")["spec"]["template"]["spec"];
  EXPECT_FALSE(pod["automountServiceAccountToken"] &&
               !pod["automountServiceAccountToken"].as<bool>());
  const std::vector<YAML::Node> rbac = YAML::LoadAllFromFile(manifest_dir() + "/rbac.yaml");
  std::map<std::string, YAML::Node> by_kind;
  for (const YAML::Node& doc : rbac) by_kind[doc["kind"].as<std::string>()] = doc;
  ASSERT_EQ(by_kind.size(), 3u);
  const YAML::Node account = by_kind["ServiceAccount"];
  EXPECT_EQ(pod["serviceAccountName"].as<std::string>(),
            account["metadata"]["name"].as<std::string>());
  EXPECT_EQ(account["metadata"]["namespace"].as<std::string>(),
            load("namespace.yaml")["metadata"]["name"].as<std::string>());
  const YAML::Node rule = by_kind["ClusterRole"]["rules"][0];
  EXPECT_EQ(strings(rule["resources"]), std::vector<std::string>{"nodes/proxy"});
  EXPECT_EQ(strings(rule["verbs"]), std::vector<std::string>{"get"});
  const YAML::Node binding = by_kind["ClusterRoleBinding"];
  EXPECT_EQ(binding["roleRef"]["name"].as<std::string>(),
            by_kind["ClusterRole"]["metadata"]["name"].as<std::string>());
  EXPECT_EQ(binding["subjects"][0]["name"].as<std::string>(),
            account["metadata"]["name"].as<std::string>());
  EXPECT_EQ(binding["subjects"][0]["namespace"].as<std::string>(),
            account["metadata"]["namespace"].as<std::string>());
}

TEST(KubernetesManifest, ScrapeAnnotationsAndServiceMatchThePort) {
  const YAML::Node ds = load("daemonset.yaml");
  const YAML::Node port = container_of(ds)["ports"][0];
  const int container_port = port["containerPort"].as<int>();
  const YAML::Node annotations = ds["spec"]["template"]["metadata"]["annotations"];
  EXPECT_EQ(annotations["prometheus.io/scrape"].as<std::string>(), "true");
  EXPECT_EQ(annotations["prometheus.io/port"].as<int>(), container_port);
  EXPECT_EQ(annotations["prometheus.io/path"].as<std::string>(), "/metrics");
  EXPECT_THAT(strings(container_of(ds)["args"]),
              ::testing::Contains("--web.listen-address=:" + std::to_string(container_port)));
  EXPECT_EQ(container_of(ds)["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");

  const YAML::Node service = load("service.yaml");
  EXPECT_EQ(service["kind"].as<std::string>(), "Service");
  EXPECT_EQ(service["metadata"]["namespace"].as<std::string>(),
            ds["metadata"]["namespace"].as<std::string>());
  for (const auto& label : service["spec"]["selector"]) {
    EXPECT_EQ(ds["spec"]["template"]["metadata"]["labels"][label.first.as<std::string>()]
                  .as<std::string>(),
              label.second.as<std::string>());
  }
  EXPECT_EQ(service["spec"]["ports"][0]["targetPort"].as<std::string>(),
            port["name"].as<std::string>());
  EXPECT_EQ(load("namespace.yaml")["metadata"]["name"].as<std::string>(),
            ds["metadata"]["namespace"].as<std::string>());
}

TEST(KubernetesManifest, ContainerfileInstallsTheDebAndRunsTheExporter) {
  const std::string containerfile = testing::read_file(manifest_dir() + "/Containerfile");
  EXPECT_THAT(containerfile, HasSubstr("COPY netobs_*.deb /tmp/"));
  EXPECT_THAT(containerfile,
              HasSubstr("apt-get install -y --no-install-recommends /tmp/netobs_*.deb"));
  // The package installs the exporter under /usr/bin (CMAKE_INSTALL_PREFIX=/usr).
  EXPECT_THAT(containerfile, HasSubstr("ENTRYPOINT [\"/usr/bin/netobs_exporter\"]"));
  EXPECT_THAT(testing::read_file(testing::source_dir() + "/packaging/build.sh"),
              HasSubstr("-DCMAKE_INSTALL_PREFIX=/usr"));
  EXPECT_THAT(testing::read_file(testing::source_dir() + "/exporter/CMakeLists.txt"),
              HasSubstr("install(TARGETS netobs_exporter netobs RUNTIME DESTINATION bin)"));
}

}  // namespace
}  // namespace netobs
