// Config of the socket collector: fields land, the process cap is bounded
// with a reason, and the shared filters/events keys it reads (including the
// seed-003 aliases) reach the same fields.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "collectors/socket/socket_config.h"
#include "config/config.h"
#include "exporter/builtin_config.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;

ConfigLoadResult load(const std::string& yaml) { return load_config_string(yaml, "t.yaml"); }

TEST(ConfigSocket, DefaultsMatchTheStruct) {
  ConfigLoadResult result = load_default_config();
  ASSERT_TRUE(result.ok()) << result.format_errors();
  EXPECT_EQ(result.config.collector<SocketConfig>(), SocketConfig{});
  EXPECT_TRUE(result.config.events.output_dir.empty()) << "events are off by default";
}

TEST(ConfigSocket, FieldsLand) {
  ConfigLoadResult result = load(
      "collectors:\n"
      "  socket:\n"
      "    protocols: [udp]\n"
      "    pids: [1, 42]\n"
      "    comms: [nginx, netobs_socket_s]\n"
      "    per_process: false\n"
      "    max_processes: 1024\n"
      "    syscall_details: true\n"
      "events:\n"
      "  format: json\n"
      "  output_dir: /var/lib/netobs/trace\n"
      "  sample_rate: 10\n"
      "  rotate_bytes: 1048576\n");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  const SocketConfig& socket = result.config.collector<SocketConfig>();
  EXPECT_EQ(socket.protocols, std::vector<std::string>{"udp"});
  EXPECT_EQ(socket.pids, (std::vector<uint32_t>{1, 42}));
  EXPECT_EQ(socket.comms, (std::vector<std::string>{"nginx", "netobs_socket_s"}));
  EXPECT_FALSE(socket.per_process);
  EXPECT_EQ(socket.max_processes, 1024u);
  EXPECT_TRUE(socket.syscall_details);
  EXPECT_EQ(result.config.events.format, "json");
  EXPECT_EQ(result.config.events.sample_rate, 10u);
}

// The syscall tracepoints tax every syscall of the machine: off by default,
// on when asked for or when event capture or CIDR filters need them, and
// `netobs check` / the landing page say which and why.
TEST(ConfigSocket, SyscallTracepointsAreOnOnlyWhenSomethingNeedsThem) {
  ConfigLoadResult defaults = load_default_config();
  ASSERT_TRUE(defaults.ok()) << defaults.format_errors();
  EXPECT_FALSE(defaults.config.collector<SocketConfig>().syscall_details);
  EXPECT_FALSE(syscall_tracepoints(defaults.config, false).on);
  EXPECT_THAT(socket_cost_notes(defaults.config),
              testing::Contains(HasSubstr("syscall tracepoints: off")));

  ConfigLoadResult asked = load("collectors:\n  socket:\n    syscall_details: true\n");
  ASSERT_TRUE(asked.ok()) << asked.format_errors();
  EXPECT_EQ(syscall_tracepoints(asked.config, false).reason, "syscall_details: true");
  EXPECT_THAT(socket_cost_notes(asked.config),
              testing::Contains("syscall tracepoints: on (syscall_details: true): every syscall "
                                "on this machine takes the traced path"));

  ConfigLoadResult events = load("events:\n  output_dir: /tmp/x\n");
  ASSERT_TRUE(events.ok()) << events.format_errors();
  EXPECT_TRUE(syscall_tracepoints(events.config, true).on);
  EXPECT_THAT(syscall_tracepoints(events.config, true).reason, HasSubstr("event capture"));
  EXPECT_THAT(socket_cost_notes(events.config),
              testing::Contains(HasSubstr("syscall tracepoints: on (network event capture")));
  // `netobs trace` has no output_dir but an event sink.
  EXPECT_TRUE(syscall_tracepoints(defaults.config, true).on);

  ConfigLoadResult cidrs = load("network:\n  exclude_cidrs: [\"10.0.0.0/8\"]\n");
  ASSERT_TRUE(cidrs.ok()) << cidrs.format_errors();
  EXPECT_THAT(syscall_tracepoints(cidrs.config, false).reason, HasSubstr("exclude_cidrs"));
}

TEST(ConfigSocket, ProcessCapIsBoundedWithAReason) {
  ConfigLoadResult result = load("collectors:\n  socket:\n    max_processes: 2000\n");
  ASSERT_FALSE(result.ok());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].key_path, "collectors.socket.max_processes");
  EXPECT_EQ(result.errors[0].line, 3);
  EXPECT_THAT(result.errors[0].message, HasSubstr("use at most 1024, or per_process: false"));
}

TEST(ConfigSocket, SeedKeysReachTheFiltersAndRingBuffer) {
  ConfigLoadResult result = load(
      "agent:\n"
      "  network:\n"
      "    ring_buffer_size: 8388608\n"
      "  ebpf:\n"
      "    network:\n"
      "      include_ports: [80, 443]\n"
      "      exclude_ports: [22]\n");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  EXPECT_EQ(result.config.events.ring_buffer_size, 8388608u);
  EXPECT_EQ(result.config.network.include_ports, (std::vector<uint16_t>{80, 443}));
  EXPECT_EQ(result.config.network.exclude_ports, (std::vector<uint16_t>{22}));
}

TEST(ConfigSocket, BadCommAndProtocolAreNamed) {
  ConfigLoadResult result = load(
      "collectors:\n"
      "  socket:\n"
      "    protocols: [sctp]\n"
      "    comms: [a_process_name_too_long]\n");
  ASSERT_EQ(result.errors.size(), 2u) << result.format_errors();
  EXPECT_THAT(result.format_errors(), HasSubstr("collectors.socket.protocols"));
  EXPECT_THAT(result.format_errors(), HasSubstr("the kernel keeps at most 15"));
}

}  // namespace
}  // namespace netobs
