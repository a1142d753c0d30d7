// The typed, validated netobs configuration. Built by load_config_*()
// (config/config_loader.h) from YAML; every field has its default here or,
// for a collector's own section, in collectors/<name>/<name>_config.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace netobs {

// Settings every collector has.
struct CollectorCommon {
  bool enabled = true;
  bool required = false;  // true: the exporter refuses to start without it

  bool operator==(const CollectorCommon&) const = default;
};

struct ExporterConfig {
  std::string listen_address = ":9723";
  std::string telemetry_path = "/metrics";
  int max_requests = 40;
  std::string log_level = "info";
  std::string procfs = "/proc";
  bool bpf_stats = false;              // enable the kernel's BPF run-time stats (bpf_enable_stats)
  double scrape_timeout_seconds = 10;  // used when the scraper sends no timeout header

  bool operator==(const ExporterConfig&) const = default;
};

// Filters shared by the BPF collectors (also accepted under the
// `agent.ebpf.network.*` and `agent.network.*` layout).
struct NetworkFilters {
  std::vector<uint16_t> include_ports;
  std::vector<uint16_t> exclude_ports;
  std::vector<std::string> interfaces;          // names or globs
  std::vector<std::string> exclude_interfaces;  // names or globs
  std::vector<std::string> include_cidrs;
  std::vector<std::string> exclude_cidrs;

  bool operator==(const NetworkFilters&) const = default;
};

struct EventsConfig {
  std::string format = "csv";  // csv | json
  std::string output_dir;      // empty: events off
  uint64_t ring_buffer_size = 16 * 1024 * 1024;
  uint32_t sample_rate = 1;  // 1-in-N events
  uint64_t rotate_bytes = 64 * 1024 * 1024;

  bool operator==(const EventsConfig&) const = default;
};

// Who sent the traffic, for collectors with `attribution: cgroup`, and how
// long capped label values (comms, cgroups, domains, groups) keep their
// series once idle.
struct AttributionConfig {
  double label_idle_seconds = 600;  // idle label slots are reclaimed after this
  double gone_after_seconds = 60;   // series of removed cgroups disappear after this
  std::string cgroup_root;          // cgroup2 mount; empty: found in <procfs>/mounts
  std::string kubelet_url;          // http[s]://host:port/pods; empty: no kubelet
  std::string kubelet_token_file;   // bearer token for the kubelet
  std::string kubelet_ca_file;      // CA of the kubelet's certificate; empty: the system's
  bool kubelet_insecure_skip_verify = false;  // https without checking the certificate
  std::string pods_file;                      // a /pods document on disk instead of the kubelet
  double metadata_refresh_seconds = 30;

  bool operator==(const AttributionConfig&) const = default;
};

// Base of every collector's settings section (`collectors.<name>`); each
// collector defines its own in its folder, deriving from CollectorSettingsOf.
struct CollectorSettings {
  CollectorCommon common;

  virtual ~CollectorSettings() = default;
  virtual std::unique_ptr<CollectorSettings> clone() const = 0;
  virtual bool equals(const CollectorSettings& other) const = 0;
  bool operator==(const CollectorSettings& other) const { return common == other.common; }

 protected:
  CollectorSettings() = default;
  CollectorSettings(const CollectorSettings&) = default;
  CollectorSettings& operator=(const CollectorSettings&) = default;
};

// Gives a settings struct `Self` (with `static constexpr std::string_view
// kSection` and a defaulted operator==) its clone() and equals().
template <typename Self>
struct CollectorSettingsOf : CollectorSettings {
  std::unique_ptr<CollectorSettings> clone() const override {
    return std::make_unique<Self>(static_cast<const Self&>(*this));
  }
  bool equals(const CollectorSettings& other) const override {
    const auto* same = dynamic_cast<const Self*>(&other);
    return same != nullptr && static_cast<const Self&>(*this) == *same;
  }
};

// The collectors' sections of a Config, by name; copied deeply.
class CollectorSections {
 public:
  CollectorSections() = default;
  CollectorSections(const CollectorSections& other);
  CollectorSections& operator=(const CollectorSections& other);
  CollectorSections(CollectorSections&&) = default;
  CollectorSections& operator=(CollectorSections&&) = default;
  bool operator==(const CollectorSections& other) const;

  // The section called `name`, or nullptr (a collector without settings).
  CollectorSettings* find(std::string_view name);
  const CollectorSettings* find(std::string_view name) const;
  // Adds or replaces the section called `name`.
  void put(std::string name, std::unique_ptr<CollectorSettings> settings);
  std::vector<std::string> names() const;

  // Typed access by T::kSection. A missing section reads as T's defaults;
  // the non-const form adds it first.
  template <typename T>
  T& get() {
    if (CollectorSettings* found = find(T::kSection)) return static_cast<T&>(*found);
    put(std::string(T::kSection), std::make_unique<T>());
    return static_cast<T&>(*find(T::kSection));
  }
  template <typename T>
  const T& get() const {
    if (const CollectorSettings* found = find(T::kSection)) return static_cast<const T&>(*found);
    static const T kDefaults;
    return kDefaults;
  }

 private:
  std::vector<std::pair<std::string, std::unique_ptr<CollectorSettings>>> sections_;
};

struct Config {
  ExporterConfig exporter;
  NetworkFilters network;
  EventsConfig events;
  CollectorSections collectors;
  AttributionConfig attribution;
  // Keys of the `agent.*` layout for features netobs does not implement
  // (HTTP/gRPC tracing): accepted so pasted snippets load, reported once.
  std::vector<std::string> ignored_keys;
  std::string source;  // file path, or "<built-in>"

  // The settings of one collector, e.g. config.collector<DnsConfig>().ports.
  template <typename T>
  T& collector() {
    return collectors.get<T>();
  }
  template <typename T>
  const T& collector() const {
    return collectors.get<T>();
  }
  // The common settings of the collector called `name`, or nullptr.
  CollectorCommon* collector_common(std::string_view name);
  const CollectorCommon* collector_common(std::string_view name) const;

  bool operator==(const Config&) const = default;
};

}  // namespace netobs
