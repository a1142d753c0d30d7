// Tests of the config loader: every kind of bad value is reported at the right
// file:line:column with the exact message, and good configs land in the right
// fields.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "collectors/dns/dns_config.h"
#include "collectors/snmp/snmp_config.h"
#include "collectors/socket/socket_config.h"
#include "collectors/tcp/tcp_config.h"
#include "collectors/xdp/xdp_config.h"
#include "config/config.h"
#include "exporter/builtin_config.h"

namespace netobs {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kSource[] = "test.yaml";

ConfigLoadResult load(const std::string& yaml) { return load_config_string(yaml, kSource); }

// One bad config and the single error it must produce.
struct BadCase {
  std::string name;
  std::string yaml;
  int line;
  int column;
  std::string key_path;
  std::string message;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class BadConfigTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfigTest, ReportsExactlyOneErrorAtItsPosition) {
  const BadCase& c = GetParam();
  const ConfigLoadResult result = load(c.yaml);
  ASSERT_EQ(result.errors.size(), 1u) << result.format_errors();
  const ConfigError& error = result.errors[0];
  EXPECT_EQ(error.file, kSource);
  EXPECT_EQ(error.line, c.line);
  EXPECT_EQ(error.column, c.column);
  EXPECT_EQ(error.key_path, c.key_path);
  EXPECT_EQ(error.message, c.message);
  EXPECT_FALSE(result.ok());
}

const BadCase kBadCases[] = {
    // --- YAML itself
    {"syntax_error", "exporter:\n  listen_address: [\":9723\"\n", 3, 1, "",
     "YAML syntax error: end of sequence flow not found"},
    {"syntax_error_map_value", "exporter: log_level: info\n", 1, 20, "",
     "YAML syntax error: illegal map value"},
    {"root_is_a_list", "- exporter\n- network\n", 1, 1, "",
     "the top level must be a map of sections (exporter, network, events, collectors), got a "
     "list"},
    {"root_is_a_string", "collectors\n", 1, 1, "",
     "the top level must be a map of sections (exporter, network, events, collectors), got the "
     "string \"collectors\""},
    {"duplicate_key", "exporter:\n  max_requests: 10\n  max_requests: 20\n", 3, 3,
     "exporter.max_requests", "duplicate key (first set at line 2, column 3); remove one of them"},

    // --- unknown keys
    {"unknown_top_level_key_close", "colectors:\n  snmp: {}\n", 1, 1, "colectors",
     "unknown key \"colectors\"; did you mean \"collectors\"?"},
    {"unknown_key_transposed", "collectors:\n  snmp:\n    sampel_interval: 5s\n", 3, 5,
     "collectors.snmp.sampel_interval",
     "unknown key \"sampel_interval\"; did you mean \"sample_interval\"?"},
    {"unknown_key_lists_allowed", "exporter:\n  port: 9723\n", 2, 3, "exporter.port",
     "unknown key \"port\"; allowed keys: listen_address, telemetry_path, max_requests, "
     "log_level, procfs, bpf_stats, scrape_timeout"},
    {"unknown_collector", "collectors:\n  http: {enabled: true}\n", 2, 3, "collectors.http",
     "unknown key \"http\"; allowed keys: snmp, socket, tcp, dns, xdp, drops, security, flows"},
    {"unknown_key_under_seed_path", "agent:\n  network:\n    dns:\n      enable: true\n", 4, 7,
     "agent.network.dns.enable", "unknown key \"enable\"; did you mean \"enabled\"?"},

    // --- wrong types
    {"bool_got_yes", "exporter:\n  bpf_stats: yes\n", 2, 14, "exporter.bpf_stats",
     "expected a bool (true or false), got the string \"yes\""},
    {"integer_got_quoted", "exporter:\n  max_requests: \"40\"\n", 2, 17, "exporter.max_requests",
     "expected an integer, got the string \"40\"; remove the quotes"},
    {"integer_got_number", "exporter:\n  max_requests: 1.5\n", 2, 17, "exporter.max_requests",
     "expected an integer, got the number 1.5"},
    {"number_got_string", "collectors:\n  snmp:\n    thresholds: {retrans_ratio_warning: high}\n",
     3, 41, "collectors.snmp.thresholds.retrans_ratio_warning",
     "expected a number, got the string \"high\""},
    {"string_got_list", "exporter:\n  log_level: [info]\n", 2, 14, "exporter.log_level",
     "expected a string, got a list"},
    {"string_got_empty_value", "exporter:\n  log_level:\n", 2, 3, "exporter.log_level",
     "expected a string, got an empty value"},
    {"list_got_scalar", "network:\n  exclude_ports: 22\n", 2, 18, "network.exclude_ports",
     "expected a list, got the integer 22; write [a, b] or one \"- item\" per line"},
    {"map_got_scalar", "exporter: 9723\n", 1, 11, "exporter",
     "expected a map, got the integer 9723"},
    {"collector_got_bool", "collectors:\n  tcp: false\n", 2, 8, "collectors.tcp",
     "expected a map, got the bool false; write \"tcp: {enabled: false}\""},
    {"seed_security_key_type_checked", "agent:\n  network:\n    security:\n      enabled: maybe\n",
     4, 16, "agent.network.security.enabled",
     "expected a bool (true or false), got the string \"maybe\""},

    // --- ranges and enums
    {"integer_below_range", "exporter:\n  max_requests: 0\n", 2, 17, "exporter.max_requests",
     "value 0 is out of range; allowed range is 1..1000"},
    {"number_above_range", "collectors:\n  snmp:\n    thresholds:\n      tlp_share_critical: 1.5\n",
     4, 27, "collectors.snmp.thresholds.tlp_share_critical",
     "value 1.5 is out of range; allowed range is 0..1"},
    {"enum_log_level", "exporter:\n  log_level: verbose\n", 2, 14, "exporter.log_level",
     "unknown value \"verbose\"; allowed values: debug, info, warn, error"},
    {"enum_events_format", "events: {format: xml}\n", 1, 18, "events.format",
     "unknown value \"xml\"; allowed values: csv, json"},
    {"enum_xdp_mode", "collectors:\n  xdp: {mode: fast}\n", 2, 15, "collectors.xdp.mode",
     "unknown value \"fast\"; allowed values: auto, native, generic, tc"},
    {"enum_xdp_protocol", "collectors:\n  xdp:\n    filters: {protocols: [tcp, sctp]}\n", 3, 32,
     "collectors.xdp.filters.protocols[1]",
     "unknown value \"sctp\"; allowed values: tcp, udp, icmp, icmpv6"},
    {"tcp_sample_rate_zero_via_seed", "agent:\n  network:\n    tcp:\n      sample_rate: 0\n", 4, 20,
     "agent.network.tcp.sample_rate", "value 0 is out of range; allowed range is 1..1000000"},
    {"xdp_sample_rate_negative", "collectors:\n  xdp: {sample_rate: -1}\n", 2, 22,
     "collectors.xdp.sample_rate", "value -1 is out of range; allowed range is 0..1000000"},
    {"socket_max_processes", "collectors:\n  socket: {max_processes: 100000}\n", 2, 27,
     "collectors.socket.max_processes", "value 100000 is out of range; allowed range is 1..65536"},
    {"socket_pid_zero", "collectors:\n  socket: {pids: [1, 0]}\n", 2, 22,
     "collectors.socket.pids[1]", "pid 0 is out of range; allowed range is 1..4194304"},

    // --- durations
    {"duration_bad_unit", "exporter:\n  scrape_timeout: 5 sec\n", 2, 19, "exporter.scrape_timeout",
     "invalid duration \"5 sec\"; use a number with a unit ms, s, m or h (e.g. \"250ms\", \"5s\", "
     "\"1m\") or a plain number of seconds"},
    {"duration_zero", "collectors:\n  snmp: {sample_interval: 0}\n", 2, 27,
     "collectors.snmp.sample_interval", "duration must be greater than 0, got 0"},
    {"duration_negative", "collectors:\n  dns: {timeout: -5}\n", 2, 18, "collectors.dns.timeout",
     "duration must be greater than 0, got -5"},
    {"duration_zero_with_unit", "collectors:\n  snmp: {windows: [1m, 0s]}\n", 2, 24,
     "collectors.snmp.windows[1]", "duration must be greater than 0, got 0s"},
    {"duration_above_range", "collectors:\n  snmp: {sample_interval: 2h}\n", 2, 27,
     "collectors.snmp.sample_interval", "duration 2h is out of range; allowed range is 100ms..1h"},
    {"duration_below_range", "exporter:\n  scrape_timeout: 50ms\n", 2, 19,
     "exporter.scrape_timeout", "duration 50ms is out of range; allowed range is 100ms..10m"},
    {"duration_got_bool", "exporter:\n  scrape_timeout: true\n", 2, 19, "exporter.scrape_timeout",
     "invalid duration \"true\"; use a number with a unit ms, s, m or h (e.g. \"250ms\", \"5s\", "
     "\"1m\") or a plain number of seconds"},

    // --- ports
    {"port_zero", "network:\n  include_ports: [0]\n", 2, 19, "network.include_ports[0]",
     "port 0 is out of range; allowed range is 1..65535"},
    {"port_too_big", "network:\n  include_ports:\n    - 80\n    - 70000\n", 4, 7,
     "network.include_ports[1]", "port 70000 is out of range; allowed range is 1..65535"},
    {"port_name", "network:\n  exclude_ports: [ssh]\n", 2, 19, "network.exclude_ports[0]",
     "expected an integer, got the string \"ssh\""},
    {"port_duplicate", "network:\n  include_ports: [80, 443, 80]\n", 2, 28,
     "network.include_ports[2]",
     "duplicate entry 80 (already listed at line 2, column 19); remove one"},
    {"port_duplicate_seed_path", "agent:\n  ebpf:\n    network:\n      exclude_ports: [22, 22]\n",
     4, 27, "agent.ebpf.network.exclude_ports[1]",
     "duplicate entry 22 (already listed at line 4, column 23); remove one"},
    {"port_included_and_excluded", "network:\n  include_ports: [80, 443]\n  exclude_ports: [443]\n",
     3, 19, "network.exclude_ports[0]",
     "port 443 is both included (network.include_ports) and excluded; remove it from one of the "
     "lists"},
    {"dns_ports_empty", "collectors:\n  dns:\n    ports: []\n", 3, 12, "collectors.dns.ports",
     "list must not be empty; list at least one port (DNS uses 53)"},
    {"socket_protocols_empty", "collectors:\n  socket:\n    protocols:\n", 3, 5,
     "collectors.socket.protocols", "list must not be empty; list at least one protocol: tcp, udp"},

    // --- CIDRs
    {"cidr_host_bits", "network:\n  include_cidrs: [\"10.0.0.1/8\"]\n", 2, 19,
     "network.include_cidrs[0]",
     "invalid CIDR \"10.0.0.1/8\": host bits are set; did you mean \"10.0.0.0/8\"?"},
    {"cidr_v6_host_bits", "network:\n  exclude_cidrs: [\"fd00::1/64\"]\n", 2, 19,
     "network.exclude_cidrs[0]",
     "invalid CIDR \"fd00::1/64\": host bits are set; did you mean \"fd00::/64\"?"},
    {"cidr_v4_prefix", "network:\n  include_cidrs: [10.0.0.0/33]\n", 2, 19,
     "network.include_cidrs[0]", "invalid CIDR \"10.0.0.0/33\": IPv4 prefix length must be 0..32"},
    {"cidr_v6_prefix", "network:\n  include_cidrs: [\"fd00::/129\"]\n", 2, 19,
     "network.include_cidrs[0]", "invalid CIDR \"fd00::/129\": IPv6 prefix length must be 0..128"},
    {"cidr_missing_prefix", "network:\n  include_cidrs: [10.1.2.3]\n", 2, 19,
     "network.include_cidrs[0]",
     "invalid CIDR \"10.1.2.3\": missing the prefix length; write \"10.1.2.3/32\" for a single "
     "address"},
    {"cidr_bad_address", "network:\n  include_cidrs: [10.0.0.256/24]\n", 2, 19,
     "network.include_cidrs[0]",
     "invalid CIDR \"10.0.0.256/24\": \"10.0.0.256\" is not an IPv4 or IPv6 address"},

    // --- interface names and globs
    {"iface_slash", "network:\n  interfaces: [eth/0]\n", 2, 16, "network.interfaces[0]",
     "invalid interface name \"eth/0\": '/' is not allowed in interface names"},
    {"iface_whitespace", "network:\n  exclude_interfaces: [\"docker 0\"]\n", 2, 24,
     "network.exclude_interfaces[0]",
     "invalid interface name \"docker 0\": whitespace is not allowed in interface names"},
    {"iface_unbalanced_bracket", "network:\n  interfaces: [\"eth[0-3\"]\n", 2, 16,
     "network.interfaces[0]", "invalid interface glob \"eth[0-3\": '[' has no matching ']'"},
    {"iface_empty", "network:\n  interfaces: [\"\"]\n", 2, 16, "network.interfaces[0]",
     "interface name must not be empty"},
    {"iface_too_long", "collectors:\n  xdp:\n    interfaces: [enp0s31f6abcdefgh]\n", 3, 18,
     "collectors.xdp.interfaces[0]",
     "interface name \"enp0s31f6abcdefgh\" is 17 characters; Linux interface names are at most 15 "
     "(IFNAMSIZ-1)"},
    {"iface_glob_never_matches", "network:\n  interfaces: [\"verylonginterface*\"]\n", 2, 16,
     "network.interfaces[0]",
     "interface glob \"verylonginterface*\" can never match: it needs at least 17 characters and "
     "Linux interface names are at most 15 (IFNAMSIZ-1)"},

    // --- exporter endpoint
    {"listen_no_colon", "exporter:\n  listen_address: 9723\n", 2, 19, "exporter.listen_address",
     "invalid listen address \"9723\": use host:port, :port or [ipv6]:port (e.g. \":9723\")"},
    {"listen_bad_port", "exporter:\n  listen_address: \"0.0.0.0:99999\"\n", 2, 19,
     "exporter.listen_address",
     "invalid listen address \"0.0.0.0:99999\": port must be a number 1..65535"},
    {"listen_v6_no_brackets", "exporter:\n  listen_address: \"::1:9723\"\n", 2, 19,
     "exporter.listen_address",
     "invalid listen address \"::1:9723\": put IPv6 addresses in brackets, e.g. \"[::1]:9723\""},
    {"listen_bad_v6", "exporter:\n  listen_address: \"[fe80::zz]:9723\"\n", 2, 19,
     "exporter.listen_address",
     "invalid listen address \"[fe80::zz]:9723\": \"[fe80::zz]\" is not a bracketed IPv6 address "
     "such as [::1]"},
    {"listen_bad_host", "exporter:\n  listen_address: \"local_host:9723\"\n", 2, 19,
     "exporter.listen_address",
     "invalid listen address \"local_host:9723\": \"local_host\" is not a valid host name or IPv4 "
     "address"},
    {"telemetry_path_relative", "exporter:\n  telemetry_path: metrics\n", 2, 19,
     "exporter.telemetry_path",
     "telemetry path \"metrics\" must start with \"/\", e.g. \"/metrics\""},
    {"telemetry_path_root", "exporter:\n  telemetry_path: /\n", 2, 19, "exporter.telemetry_path",
     "telemetry path must not be \"/\" (the landing page); use e.g. \"/metrics\""},
    {"telemetry_path_healthz", "exporter:\n  telemetry_path: /healthz\n", 2, 19,
     "exporter.telemetry_path",
     "telemetry path must not be \"/healthz\" (the health check); use e.g. \"/metrics\""},
    {"procfs_relative", "exporter:\n  procfs: proc\n", 2, 11, "exporter.procfs",
     "procfs must be an absolute path, e.g. \"/proc\""},

    // --- events
    {"ring_buffer_not_power_of_two", "events:\n  ring_buffer_size: 10000000\n", 2, 21,
     "events.ring_buffer_size",
     "ring_buffer_size 10000000 is not a power of two; the BPF ring buffer needs a power of two "
     "that is a multiple of the 4096-byte page size, e.g. 8388608 or 16777216"},
    {"ring_buffer_below_page", "agent:\n  network:\n    ring_buffer_size: 2048\n", 3, 23,
     "agent.network.ring_buffer_size",
     "value 2048 is out of range; allowed range is 4096..1073741824"},

    // --- snmp
    {"window_not_multiple",
     "collectors:\n  snmp:\n    sample_interval: 10s\n    windows: [1m, 95s]\n", 4, 19,
     "collectors.snmp.windows[1]",
     "window 95s is not a multiple of sample_interval 10s; use e.g. 90s or 100s"},
    {"window_shorter_than_interval", "collectors:\n  snmp:\n    windows: [2s, 1m]\n", 3, 15,
     "collectors.snmp.windows[0]",
     "window 2s is shorter than sample_interval 5s; each window must be at least one "
     "sample_interval"},
    {"interval_does_not_divide_default_windows", "collectors:\n  snmp:\n    sample_interval: 7s\n",
     3, 22, "collectors.snmp.sample_interval",
     "window 1m is not a multiple of sample_interval 7s; use e.g. 56s or 63s (the default windows "
     "are 1m, 5m, 15m; set windows to match)"},
    {"window_duplicate", "collectors:\n  snmp:\n    windows: [1m, 60s]\n", 3, 19,
     "collectors.snmp.windows[1]",
     "duplicate entry 1m (already listed at line 3, column 15); remove one"},
    {"threshold_warning_above_critical",
     "collectors:\n  snmp:\n    thresholds:\n      retrans_ratio_warning: 0.1\n", 4, 30,
     "collectors.snmp.thresholds.retrans_ratio_warning",
     "retrans_ratio_warning 0.1 is greater than retrans_ratio_critical 0.05; the warning threshold "
     "must be <= the critical one"},
    {"threshold_critical_below_warning",
     "collectors:\n  snmp:\n    thresholds: {tlp_share_critical: 0.2}\n", 3, 38,
     "collectors.snmp.thresholds.tlp_share_critical",
     "tlp_share_warning 0.3 is greater than tlp_share_critical 0.2; the warning threshold must be "
     "<= the critical one"},
    {"rate_counter_shape", "collectors:\n  snmp:\n    rate_counters: [Tcp.InSegs, Tcp-OutSegs]\n",
     3, 33, "collectors.snmp.rate_counters[1]",
     "invalid counter name \"Tcp-OutSegs\": use \"Group.Field\" as in /proc/net/snmp or "
     "/proc/net/netstat, e.g. \"Tcp.RetransSegs\""},
    {"comm_too_long", "collectors:\n  socket:\n    comms: [postgres-checkpointer]\n", 3, 13,
     "collectors.socket.comms[0]",
     "process name \"postgres-checkpointer\" is 21 characters; the kernel keeps at most 15 "
     "(TASK_COMM_LEN-1)"},

    // --- the same field set in two places
    {"conflict_canonical_then_seed",
     "collectors:\n  dns: {enabled: true}\nagent:\n  network:\n    dns:\n      enabled: false\n", 6,
     16, "agent.network.dns.enabled",
     "conflicts with collectors.dns.enabled at line 2, column 18 (false here, true there); set "
     "collectors.dns.enabled in one place only"},
    {"conflict_two_seed_paths",
     "agent:\n  network:\n    include_ports: [80]\n  ebpf:\n    network:\n      include_ports: "
     "[443]\n",
     6, 22, "agent.ebpf.network.include_ports",
     "conflicts with agent.network.include_ports at line 3, column 20 ([443] here, [80] there); "
     "set network.include_ports in one place only"},
};

INSTANTIATE_TEST_SUITE_P(Table, BadConfigTest, ::testing::ValuesIn(kBadCases),
                         [](const ::testing::TestParamInfo<BadCase>& info) {
                           return info.param.name;
                         });

TEST(ConfigValidationTest, ReportsEveryErrorInOneFile) {
  const ConfigLoadResult result = load(
      "exporter:\n"
      "  max_requests: 0\n"
      "  log_level: loud\n"
      "network:\n"
      "  include_ports: [80, 0]\n"
      "  bogus: 1\n"
      "collectors:\n"
      "  tcp: {sample_rate: 0}\n"
      "  xdp: {mode: fast}\n");
  EXPECT_EQ(result.format_errors(),
            "test.yaml:2:17: exporter.max_requests: value 0 is out of range; allowed range is "
            "1..1000\n"
            "test.yaml:3:14: exporter.log_level: unknown value \"loud\"; allowed values: debug, "
            "info, warn, error\n"
            "test.yaml:5:23: network.include_ports[1]: port 0 is out of range; allowed range is "
            "1..65535\n"
            "test.yaml:6:3: network.bogus: unknown key \"bogus\"; allowed keys: include_ports, "
            "exclude_ports, interfaces, exclude_interfaces, include_cidrs, exclude_cidrs\n"
            "test.yaml:8:22: collectors.tcp.sample_rate: value 0 is out of range; allowed range "
            "is 1..1000000\n"
            "test.yaml:9:15: collectors.xdp.mode: unknown value \"fast\"; allowed values: auto, "
            "native, generic, tc");
  // Good values next to bad ones are still applied; bad ones keep their defaults.
  EXPECT_EQ(result.config.exporter.max_requests, 40);
}

TEST(ConfigValidationTest, ErrorToString) {
  ConfigError error{"a.yaml", 3, 7, "exporter.procfs", "bad"};
  EXPECT_EQ(error.to_string(), "a.yaml:3:7: exporter.procfs: bad");
  error.key_path.clear();
  EXPECT_EQ(error.to_string(), "a.yaml:3:7: bad");
  error.line = 0;
  EXPECT_EQ(error.to_string(), "a.yaml: bad");
}

// --- good paths -------------------------------------------------------------

Config defaults_from(std::string source) {
  Config config = default_config();
  config.source = std::move(source);
  return config;
}

TEST(ConfigDefaultsTest, EmptyDocumentGivesDefaults) {
  for (const char* yaml : {"", "\n", "# only a comment\n", "---\n"}) {
    const ConfigLoadResult result = load(yaml);
    EXPECT_TRUE(result.ok()) << result.format_errors();
    EXPECT_THAT(result.warnings, IsEmpty());
    EXPECT_EQ(result.config, defaults_from(kSource)) << "yaml: " << yaml;
  }
}

TEST(ConfigDefaultsTest, EmptySectionsKeepDefaults) {
  const ConfigLoadResult result = load("exporter:\nnetwork: {}\ncollectors:\n  snmp:\n");
  EXPECT_TRUE(result.ok()) << result.format_errors();
  EXPECT_EQ(result.config, defaults_from(kSource));
}

TEST(ConfigDefaultsTest, BuiltInConfigEqualsStructDefaults) {
  const ConfigLoadResult result = load_default_config();
  EXPECT_TRUE(result.ok()) << result.format_errors();
  EXPECT_THAT(result.warnings, IsEmpty());
  EXPECT_EQ(result.config, defaults_from("<built-in>"));
  EXPECT_FALSE(
      result.config.collector<XdpConfig>().common.enabled);  // XDP attaches to NICs: opt-in
  EXPECT_TRUE(result.config.collector<SnmpConfig>().common.enabled);
}

TEST(ConfigDefaultsTest, BuiltInConfigIsTheCheckedInFile) {
  std::ifstream file(std::string(NETOBS_SOURCE_DIR) + "/config/netobs.yaml");
  ASSERT_TRUE(file) << "config/netobs.yaml not found";
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(default_config_yaml(), text.str());
}

TEST(ConfigDefaultsTest, LoadsTheCheckedInFileFromDisk) {
  const std::string path = std::string(NETOBS_SOURCE_DIR) + "/config/netobs.yaml";
  const ConfigLoadResult result = load_config_file(path);
  EXPECT_TRUE(result.ok()) << result.format_errors();
  EXPECT_EQ(result.config, defaults_from(path));
}

// Every field set to a non-default value through the canonical layout.
TEST(ConfigGoodPathTest, EveryCanonicalFieldLands) {
  const ConfigLoadResult result = load(R"(
exporter:
  listen_address: "[::1]:9100"
  telemetry_path: /prom
  max_requests: 8
  log_level: debug
  procfs: /host/proc
  bpf_stats: true
  scrape_timeout: 2500ms
network:
  include_ports: [80, 443]
  exclude_ports: [22]
  interfaces: [eth0, "en*"]
  exclude_interfaces: [lo, "veth*", "eth[0-3]"]
  include_cidrs: [10.0.0.0/8, "fd00::/8"]
  exclude_cidrs: [10.1.0.0/16]
events:
  format: json
  output_dir: /var/lib/netobs/events
  ring_buffer_size: 8388608
  sample_rate: 10
  rotate_bytes: 0
collectors:
  snmp:
    enabled: false
    required: true
    sample_interval: 10s
    windows: [30s, 1h]
    rate_counters: [Tcp.InSegs, TcpExt.TCPLossProbes]
    thresholds:
      retrans_ratio_warning: 0.02
      retrans_ratio_critical: 0.1
      tlp_share_warning: 0.4
      tlp_share_critical: 0.6
      listen_drops_per_second_warning: 1
      listen_drops_per_second_critical: 10
  socket:
    enabled: false
    required: true
    protocols: [udp]
    pids: [1, 4242]
    comms: [nginx, postgres]
    per_process: false
    max_processes: 8
  tcp:
    enabled: false
    required: true
    rtt: false
    retransmits: false
    connection_tracking: false
    sample_rate: 100
  dns:
    enabled: false
    required: true
    capture_queries: false
    capture_responses: false
    capture_content: true
    ports: [53, 5353]
    timeout: 1.5
  xdp:
    enabled: true
    required: true
    sample_rate: 10
    interfaces: [eth1]
    mode: generic
    filters: {ports: [8080], protocols: [udp, icmp]}
)");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  EXPECT_THAT(result.warnings, IsEmpty());
  const Config& c = result.config;
  EXPECT_EQ(c.exporter.listen_address, "[::1]:9100");
  EXPECT_EQ(c.exporter.telemetry_path, "/prom");
  EXPECT_EQ(c.exporter.max_requests, 8);
  EXPECT_EQ(c.exporter.log_level, "debug");
  EXPECT_EQ(c.exporter.procfs, "/host/proc");
  EXPECT_TRUE(c.exporter.bpf_stats);  // the default is false
  EXPECT_DOUBLE_EQ(c.exporter.scrape_timeout_seconds, 2.5);
  EXPECT_THAT(c.network.include_ports, ElementsAre(80, 443));
  EXPECT_THAT(c.network.exclude_ports, ElementsAre(22));
  EXPECT_THAT(c.network.interfaces, ElementsAre("eth0", "en*"));
  EXPECT_THAT(c.network.exclude_interfaces, ElementsAre("lo", "veth*", "eth[0-3]"));
  EXPECT_THAT(c.network.include_cidrs, ElementsAre("10.0.0.0/8", "fd00::/8"));
  EXPECT_THAT(c.network.exclude_cidrs, ElementsAre("10.1.0.0/16"));
  EXPECT_EQ(c.events.format, "json");
  EXPECT_EQ(c.events.output_dir, "/var/lib/netobs/events");
  EXPECT_EQ(c.events.ring_buffer_size, 8388608u);
  EXPECT_EQ(c.events.sample_rate, 10u);
  EXPECT_EQ(c.events.rotate_bytes, 0u);
  EXPECT_FALSE(c.collector<SnmpConfig>().common.enabled);
  EXPECT_TRUE(c.collector<SnmpConfig>().common.required);
  EXPECT_DOUBLE_EQ(c.collector<SnmpConfig>().sample_interval_seconds, 10);
  EXPECT_THAT(c.collector<SnmpConfig>().windows_seconds, ElementsAre(30, 3600));
  EXPECT_THAT(c.collector<SnmpConfig>().rate_counters,
              ElementsAre("Tcp.InSegs", "TcpExt.TCPLossProbes"));
  EXPECT_DOUBLE_EQ(c.collector<SnmpConfig>().thresholds.retrans_ratio_warning, 0.02);
  EXPECT_DOUBLE_EQ(c.collector<SnmpConfig>().thresholds.retrans_ratio_critical, 0.1);
  EXPECT_DOUBLE_EQ(c.collector<SnmpConfig>().thresholds.tlp_share_warning, 0.4);
  EXPECT_DOUBLE_EQ(c.collector<SnmpConfig>().thresholds.tlp_share_critical, 0.6);
  EXPECT_DOUBLE_EQ(c.collector<SnmpConfig>().thresholds.listen_drops_per_second_warning, 1);
  EXPECT_DOUBLE_EQ(c.collector<SnmpConfig>().thresholds.listen_drops_per_second_critical, 10);
  EXPECT_FALSE(c.collector<SocketConfig>().common.enabled);
  EXPECT_TRUE(c.collector<SocketConfig>().common.required);
  EXPECT_THAT(c.collector<SocketConfig>().protocols, ElementsAre("udp"));
  EXPECT_THAT(c.collector<SocketConfig>().pids, ElementsAre(1u, 4242u));
  EXPECT_THAT(c.collector<SocketConfig>().comms, ElementsAre("nginx", "postgres"));
  EXPECT_FALSE(c.collector<SocketConfig>().per_process);
  EXPECT_EQ(c.collector<SocketConfig>().max_processes, 8u);
  EXPECT_FALSE(c.collector<TcpConfig>().common.enabled);
  EXPECT_TRUE(c.collector<TcpConfig>().common.required);
  EXPECT_FALSE(c.collector<TcpConfig>().rtt);
  EXPECT_FALSE(c.collector<TcpConfig>().retransmits);
  EXPECT_FALSE(c.collector<TcpConfig>().connection_tracking);
  EXPECT_EQ(c.collector<TcpConfig>().sample_rate, 100u);
  EXPECT_FALSE(c.collector<DnsConfig>().common.enabled);
  EXPECT_TRUE(c.collector<DnsConfig>().common.required);
  EXPECT_FALSE(c.collector<DnsConfig>().capture_queries);
  EXPECT_FALSE(c.collector<DnsConfig>().capture_responses);
  EXPECT_TRUE(c.collector<DnsConfig>().capture_content);
  EXPECT_THAT(c.collector<DnsConfig>().ports, ElementsAre(53, 5353));
  EXPECT_DOUBLE_EQ(c.collector<DnsConfig>().timeout_seconds, 1.5);
  EXPECT_TRUE(c.collector<XdpConfig>().common.enabled);
  EXPECT_TRUE(c.collector<XdpConfig>().common.required);
  EXPECT_EQ(c.collector<XdpConfig>().sample_rate, 10u);
  EXPECT_THAT(c.collector<XdpConfig>().interfaces, ElementsAre("eth1"));
  EXPECT_EQ(c.collector<XdpConfig>().mode, "generic");
  EXPECT_THAT(c.collector<XdpConfig>().filter_ports, ElementsAre(8080));
  EXPECT_THAT(c.collector<XdpConfig>().filter_protocols, ElementsAre("udp", "icmp"));
}

struct DurationCase {
  std::string text;
  double seconds;
};

class DurationTest : public ::testing::TestWithParam<DurationCase> {};

TEST_P(DurationTest, Parses) {
  const ConfigLoadResult result =
      load("collectors:\n  dns:\n    timeout: " + GetParam().text + "\n");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  EXPECT_DOUBLE_EQ(result.config.collector<DnsConfig>().timeout_seconds, GetParam().seconds);
}

INSTANTIATE_TEST_SUITE_P(Units, DurationTest,
                         ::testing::Values(DurationCase{"250ms", 0.25}, DurationCase{"5s", 5},
                                           DurationCase{"1m", 60}, DurationCase{"2", 2},
                                           DurationCase{"1.5", 1.5}, DurationCase{"1.5s", 1.5},
                                           DurationCase{"0.5m", 30}, DurationCase{"\"5s\"", 5},
                                           DurationCase{"1ms", 0.001}));

TEST(ConfigGoodPathTest, HourDurationsAndWindows) {
  const ConfigLoadResult result =
      load("collectors:\n  snmp: {sample_interval: 1m, windows: [1m, 1h, 24h]}\n");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  EXPECT_THAT(result.config.collector<SnmpConfig>().windows_seconds, ElementsAre(60, 3600, 86400));
}

TEST(ConfigGoodPathTest, SeedPathsLandInCanonicalFields) {
  const ConfigLoadResult result = load(R"(
agent:
  network:
    interfaces: [eth0]
    exclude_interfaces: [lo]
    include_ports: [443]
    ring_buffer_size: 4096
    dns: {enabled: false, capture_queries: false, capture_responses: false, capture_content: true}
    tcp: {enabled: false, rtt: false, retransmits: false, connection_tracking: false, sample_rate: 7}
    xdp:
      enabled: true
      sample_rate: 0
      interfaces: [eth1]
      filters: {ports: [53], protocols: [udp]}
  ebpf:
    network:
      exclude_ports: [22]
)");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  const Config& c = result.config;
  EXPECT_THAT(c.network.interfaces, ElementsAre("eth0"));
  EXPECT_THAT(c.network.exclude_interfaces, ElementsAre("lo"));
  EXPECT_THAT(c.network.include_ports, ElementsAre(443));
  EXPECT_THAT(c.network.exclude_ports, ElementsAre(22));
  EXPECT_EQ(c.events.ring_buffer_size, 4096u);
  EXPECT_FALSE(c.collector<DnsConfig>().common.enabled);
  EXPECT_FALSE(c.collector<DnsConfig>().capture_queries);
  EXPECT_FALSE(c.collector<DnsConfig>().capture_responses);
  EXPECT_TRUE(c.collector<DnsConfig>().capture_content);
  EXPECT_FALSE(c.collector<TcpConfig>().common.enabled);
  EXPECT_FALSE(c.collector<TcpConfig>().rtt);
  EXPECT_FALSE(c.collector<TcpConfig>().retransmits);
  EXPECT_FALSE(c.collector<TcpConfig>().connection_tracking);
  EXPECT_EQ(c.collector<TcpConfig>().sample_rate, 7u);
  EXPECT_TRUE(c.collector<XdpConfig>().common.enabled);
  EXPECT_EQ(c.collector<XdpConfig>().sample_rate,
            1u);  // the seed's 0 ("every packet") is stored as 1
  EXPECT_THAT(c.collector<XdpConfig>().interfaces, ElementsAre("eth1"));
  EXPECT_THAT(c.collector<XdpConfig>().filter_ports, ElementsAre(53));
  EXPECT_THAT(c.collector<XdpConfig>().filter_protocols, ElementsAre("udp"));
  EXPECT_THAT(c.ignored_keys, IsEmpty());
}

TEST(ConfigGoodPathTest, SameValueInBothPlacesIsNoConflict) {
  const ConfigLoadResult result = load(
      "collectors:\n  tcp: {sample_rate: 10}\n"
      "agent:\n  network:\n    tcp: {sample_rate: 10}\n");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  EXPECT_EQ(result.config.collector<TcpConfig>().sample_rate, 10u);
}

TEST(ConfigGoodPathTest, ConflictKeepsTheFirstValue) {
  const ConfigLoadResult result = load(
      "agent:\n  network:\n    ring_buffer_size: 8388608\n"
      "events:\n  ring_buffer_size: 4194304\n");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].to_string(),
            "test.yaml:5:21: events.ring_buffer_size: conflicts with "
            "agent.network.ring_buffer_size at line 3, column 23 (4194304 here, 8388608 there); "
            "set events.ring_buffer_size in one place only");
  EXPECT_EQ(result.config.events.ring_buffer_size, 8388608u);
}

TEST(ConfigGoodPathTest, UnimplementedSeedKeysAreIgnoredWithOneWarningEach) {
  const ConfigLoadResult result = load(R"(
agent:
  network:
    http: {max_body_capture: 0}
  ebpf:
    network: {http: true, exclude_paths: ["/health"]}
)");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  EXPECT_THAT(result.config.ignored_keys,
              ElementsAre("agent.network.http.max_body_capture", "agent.ebpf.network.http",
                          "agent.ebpf.network.exclude_paths"));
  EXPECT_THAT(
      result.warnings,
      ElementsAre(
          "agent.network.http.max_body_capture: HTTP/gRPC tracing is not implemented by netobs; "
          "key ignored",
          "agent.ebpf.network.http: HTTP/gRPC tracing is not implemented by netobs; key ignored",
          "agent.ebpf.network.exclude_paths: HTTP/gRPC tracing is not implemented by netobs; key "
          "ignored"));
}

TEST(ConfigGoodPathTest, ListsMayBeEmptyValues) {
  // A list whose items are all commented out is an empty value, not an error.
  const ConfigLoadResult result = load("network:\n  exclude_ports:\n  #  - 22\n");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  EXPECT_THAT(result.config.network.exclude_ports, IsEmpty());
}

TEST(ConfigGoodPathTest, AcceptedAddressesAndGlobs) {
  const ConfigLoadResult result = load(R"(
exporter: {listen_address: "localhost:9723"}
network:
  interfaces: ["eth?", "[!l]*", "wlp0s20f3", "enp0s31f6abcdef"]
  include_cidrs: [0.0.0.0/0, "::/0", 192.168.1.7/32, "2001:db8::/32"]
)");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  for (const char* address :
       {":9723", "0.0.0.0:9723", "[::]:9723", "[::1]:1", "host-1.lan:65535"}) {
    const ConfigLoadResult r = load(std::string("exporter: {listen_address: \"") + address + "\"}");
    EXPECT_TRUE(r.ok()) << address << ": " << r.format_errors();
  }
}

TEST(ConfigGoodPathTest, AnchorsAndAliasesWork) {
  const ConfigLoadResult result = load(
      "network:\n  include_ports: &web [80, 443]\n"
      "collectors:\n  xdp:\n    filters: {ports: *web}\n");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  EXPECT_THAT(result.config.collector<XdpConfig>().filter_ports, ElementsAre(80, 443));
}

// --- files --------------------------------------------------------------------

TEST(ConfigFileTest, MissingFileIsOneErrorNamingThePath) {
  const ConfigLoadResult result = load_config_file("/nonexistent/netobs.yaml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.format_errors(),
            "/nonexistent/netobs.yaml: cannot read config file: No such file or directory");
  EXPECT_EQ(result.config.source, "/nonexistent/netobs.yaml");
}

TEST(ConfigFileTest, DirectoryIsAnError) {
  const ConfigLoadResult result = load_config_file("/");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.format_errors(), "/: cannot read config file: Is a directory");
}

TEST(ConfigFileTest, ErrorsNameTheFile) {
  const std::string path = std::string(NETOBS_BINARY_DIR) + "/config_validation_test_bad.yaml";
  {
    std::ofstream file(path);
    file << "exporter:\n  log_level: chatty\n";
  }
  const ConfigLoadResult result = load_config_file(path);
  std::remove(path.c_str());
  EXPECT_EQ(result.format_errors(), path +
                                        ":2:14: exporter.log_level: unknown value \"chatty\"; "
                                        "allowed values: debug, info, warn, error");
  EXPECT_EQ(result.config.source, path);
}

// --- hostile files: refused at once, in bounded time and memory -------------------

std::string temp_config_path(const std::string& name) {
  return std::string(NETOBS_BINARY_DIR) + "/config_validation_test_" + name;
}

TEST(ConfigFileTest, FileAboveTheSizeCapIsRefusedWithoutReadingIt) {
  const std::string path = temp_config_path("huge.yaml");
  {
    std::ofstream file(path);
    file << "exporter:\n";
  }
  // 50 MB, sparse: reading it would take visible time and memory.
  ASSERT_EQ(::truncate(path.c_str(), 50'000'000), 0);
  const ConfigLoadResult result = load_config_file(path);
  std::remove(path.c_str());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.format_errors(),
            path +
                ": the config file is 50000000 bytes, above the limit of 1048576 bytes; a "
                "netobs config is a few KiB: check the path");
}

TEST(ConfigFileTest, FifoIsRefusedWithoutWaitingForAWriter) {
  const std::string path = temp_config_path("fifo.yaml");
  std::remove(path.c_str());
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const ConfigLoadResult result = load_config_file(path);  // would block without O_NONBLOCK
  std::remove(path.c_str());
  EXPECT_EQ(result.format_errors(),
            path +
                ": cannot read config file: not a regular file (a FIFO, socket or device); "
                "point --config.file at a YAML file");
}

TEST(ConfigFileTest, EmptyFileIsAnErrorButEmptyTextIsDefaults) {
  for (const std::string content : {"", "\n\n", "# only a comment\n", "---\n"}) {
    const std::string path = temp_config_path("empty.yaml");
    {
      std::ofstream file(path);
      file << content;
    }
    const ConfigLoadResult result = load_config_file(path);
    std::remove(path.c_str());
    EXPECT_EQ(result.format_errors(),
              path +
                  ": the config file is empty (no settings); write the settings you want, or "
                  "run without --config.file to use the defaults")
        << content;
  }
  EXPECT_TRUE(load("").ok());
}

TEST(ConfigFileTest, OnlyTheFirstErrorsAreKeptAndTheRestCounted) {
  std::string yaml = "exporter:\n";
  for (int i = 0; i < 100; ++i) yaml += "  unknown_" + std::to_string(i) + ": 1\n";
  const ConfigLoadResult result = load(yaml);
  EXPECT_EQ(result.errors.size(), kMaxConfigErrors);
  EXPECT_EQ(result.more_errors, 100 - kMaxConfigErrors);
  EXPECT_THAT(result.format_errors(), ::testing::EndsWith("\nand 80 more errors (fix the ones "
                                                          "above first)"));
}

TEST(ConfigFileTest, DeepNestingIsAnErrorNotACrash) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  const ConfigLoadResult result = load("exporter: " + deep + "\n");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.errors[0].message, ::testing::HasSubstr("YAML syntax error"));
  const ConfigLoadResult maps = load(std::string(100000, '{') + std::string(100000, '}'));
  ASSERT_FALSE(maps.ok());
}

// "Billion laughs": each level aliases the previous one ten times. The
// loader must not expand the aliases (1e9 nodes at level 9).
TEST(ConfigFileTest, AliasBombIsBoundedInTimeAndMemory) {
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 9; ++level) {
    const std::string prev = "*a" + std::to_string(level - 1);
    yaml += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) yaml += (i ? ", " : "") + prev;
    yaml += "]\n";
  }
  yaml += "collectors:\n  dns:\n    domains: *a9\n  xdp:\n    filter_ports: *a9\n";
  const auto start = std::chrono::steady_clock::now();
  const ConfigLoadResult result = load(yaml);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_FALSE(result.ok());
  EXPECT_LT(result.errors.size(), kMaxConfigErrors + 1);
  EXPECT_LT(seconds, 10.0);  // generous: expanding the aliases would take hours
}

TEST(ConfigTest, CollectorCommonByName) {
  Config config = default_config();
  EXPECT_EQ(config.collector_common("snmp"), &config.collector<SnmpConfig>().common);
  EXPECT_EQ(config.collector_common("socket"), &config.collector<SocketConfig>().common);
  EXPECT_EQ(config.collector_common("tcp"), &config.collector<TcpConfig>().common);
  EXPECT_EQ(config.collector_common("dns"), &config.collector<DnsConfig>().common);
  EXPECT_EQ(config.collector_common("xdp"), &config.collector<XdpConfig>().common);
  EXPECT_EQ(config.collector_common("http"), nullptr);
  const Config& const_config = config;
  EXPECT_EQ(const_config.collector_common("tcp"), &config.collector<TcpConfig>().common);
}

}  // namespace
}  // namespace netobs
