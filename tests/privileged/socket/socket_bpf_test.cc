// socket.bpf.c on the real kernel (root), below the collector: each rung of
// the sock_*_length ladders (tp_btf, raw_tp, classic tracepoint) attached
// on its own counts this process's loopback TCP traffic exactly, and the
// fallback programs for kernels without those tracepoints (kprobe/
// kretprobe on tcp/udp/udpv6 sendmsg/recvmsg) pass the verifier. fentry/
// fexit cannot load here (EPERM from the trampoline, not the verifier).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "bpf/socket.h"
#include "collectors/socket/socket_collector.h"
#include "exporter/bpf/attach_ladder.h"
#include "exporter/bpf/libbpf_logging.h"
#include "exporter/bpf/preflight.h"
#include "exporter/net/network_filter_maps.h"
#include "socket.skel.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;

// The ladders whose programs start with `prefix`-named rungs, e.g. the two
// sock_*_length ladders or the fallback entry ladders.
std::vector<HookLadder> ladders_named(const std::vector<HookLadder>& all,
                                      const std::string& suffix) {
  std::vector<HookLadder> out;
  for (const auto& ladder : all) {
    if (ladder.name.size() >= suffix.size() &&
        ladder.name.compare(ladder.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(ladder);
    }
  }
  return out;
}

// Counts only this process, one slot, no events; everything else unloaded.
Status configure_for_this_process(socket_bpf& skel) {
  skel.rodata->filter_pids = true;
  skel.rodata->per_process = false;
  skel.rodata->max_processes = 0;
  bpf_map__set_max_entries(skel.maps.stats, SOCKET_STATS_PER_SLOT);
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel.obj) bpf_program__set_autoload(prog, false);
  return Status::ok();
}

Result<LoadedSkeleton<socket_bpf>> load(const std::vector<HookLadder>& ladders, AttachKind kind,
                                        bool attach, bool task_storage = true) {
  static const PreflightReport preflight = run_preflight();
  LadderLoadOptions options;
  options.collector = "socket_test";
  options.force_kind = kind;
  options.attach = attach;
  return load_skeleton_with_ladders<socket_bpf>(
      ladders, preflight, options, [task_storage](socket_bpf& skel) {
        skel.rodata->use_task_storage = task_storage;
        bpf_map__set_autocreate(skel.maps.task_ops, task_storage);
        bpf_map__set_autocreate(skel.maps.thread_ops, !task_storage);
        return configure_for_this_process(skel);
      });
}

// Lets this process through the pid filter and opens the filters_ready gate.
void admit_this_process(socket_bpf& skel) {
  const uint32_t pid = static_cast<uint32_t>(getpid());
  const uint8_t one = 1;
  ASSERT_EQ(bpf_map__update_elem(skel.maps.pid_filter, &pid, sizeof(pid), &one, 1, 0), 0);
  std::vector<char> bss(bpf_map__value_size(skel.maps.bss));
  const uint32_t zero = 0;
  ASSERT_EQ(bpf_map__lookup_elem(skel.maps.bss, &zero, 4, bss.data(), bss.size(), 0), 0);
  reinterpret_cast<decltype(skel.bss)>(bss.data())->filters_ready = true;
  ASSERT_EQ(bpf_map__update_elem(skel.maps.bss, &zero, 4, bss.data(), bss.size(), 0), 0);
}

socket_stats read_stats(socket_bpf& skel, uint32_t index) {
  const size_t cpus = static_cast<size_t>(libbpf_num_possible_cpus());
  std::vector<socket_stats> values(cpus);
  socket_stats total{};
  EXPECT_EQ(bpf_map__lookup_elem(skel.maps.stats, &index, sizeof(index), values.data(),
                                 values.size() * sizeof(socket_stats), 0),
            0);
  for (const auto& v : values) {
    for (int i = 0; i < 2; ++i) {
      total.calls[i] += v.calls[i];
      total.bytes[i] += v.bytes[i];
    }
    for (int i = 0; i < SOCKET_LAT_SLOTS; ++i) total.lat_slots[i] += v.lat_slots[i];
  }
  return total;
}

struct Traffic {
  uint64_t sends = 0, sent = 0, recvs = 0, received = 0;
};

int tcp_listener(uint16_t* port) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(listen(listener, 1), 0);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return listener;
}

// `count` sends of `size` bytes over loopback TCP, each read back in full.
Traffic tcp_traffic(int count, size_t size, int listener = -1) {
  Traffic t;
  uint16_t port = 0;
  if (listener < 0) listener = tcp_listener(&port);
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  int client = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  int server = accept(listener, nullptr, nullptr);
  std::vector<char> buf(size, 'b');
  for (int i = 0; i < count; ++i) {
    ssize_t n = send(client, buf.data(), size, 0);
    ++t.sends;
    if (n > 0) t.sent += static_cast<uint64_t>(n);
    for (size_t got = 0; got < static_cast<size_t>(n);) {
      ssize_t r = recv(server, buf.data(), size - got, 0);
      ++t.recvs;
      if (r <= 0) break;
      got += static_cast<size_t>(r);
      t.received += static_cast<uint64_t>(r);
    }
  }
  close(client);
  close(server);
  if (port != 0) close(listener);
  return t;
}

class SocketBpfRungTest : public ::testing::TestWithParam<AttachKind> {};

// Each rung also reads the per-thread record from task storage: with the
// sendto/recvfrom tracepoints attached beside it, every operation of this
// process has a start time (latency) on every rung.
TEST_P(SocketBpfRungTest, CountsThisProcessExactly) {
  NETOBS_REQUIRE_ROOT();
  install_libbpf_logger();
  static const PreflightReport preflight = run_preflight();
  LadderLoadOptions options;
  options.collector = "socket_test";
  options.force_kind = GetParam();
  auto loaded = load_skeleton_with_ladders<socket_bpf>(
      ladders_named(SocketCollector::tracepoint_ladders(), "_length"), preflight, options,
      [](socket_bpf& skel) {
        Status status = configure_for_this_process(skel);
        for (bpf_program* prog : {skel.progs.on_enter_sendto, skel.progs.on_exit_sendto,
                                  skel.progs.on_enter_recvfrom, skel.progs.on_exit_recvfrom}) {
          bpf_program__set_autoload(prog, true);
        }
        return status;
      });
  ASSERT_TRUE(loaded) << loaded.message();
  socket_bpf& skel = *loaded->skel;
  std::vector<LinkPtr> syscall_links;
  for (bpf_program* prog : {skel.progs.on_enter_sendto, skel.progs.on_exit_sendto,
                            skel.progs.on_enter_recvfrom, skel.progs.on_exit_recvfrom}) {
    syscall_links.emplace_back(bpf_program__attach(prog));
    ASSERT_TRUE(syscall_links.back()) << bpf_program__name(prog);
  }
  admit_this_process(skel);
  const Traffic t = tcp_traffic(5, 3000);
  const socket_stats send = read_stats(skel, SOCKET_PROTO_TCP * SOCKET_DIR_COUNT + SOCKET_DIR_SEND);
  const socket_stats recv = read_stats(skel, SOCKET_PROTO_TCP * SOCKET_DIR_COUNT + SOCKET_DIR_RECV);
  EXPECT_EQ(send.calls[SOCKET_IPV4], t.sends);
  EXPECT_EQ(send.bytes[SOCKET_IPV4], t.sent);
  EXPECT_EQ(recv.calls[SOCKET_IPV4], t.recvs);
  EXPECT_EQ(recv.bytes[SOCKET_IPV4], t.received);
  EXPECT_EQ(send.calls[SOCKET_IPV6] + recv.calls[SOCKET_IPV6], 0u);
  // send() and recv() are sendto and recvfrom: all timed.
  uint64_t send_timed = 0, recv_timed = 0;
  for (int i = 0; i < SOCKET_LAT_SLOTS; ++i) {
    send_timed += send.lat_slots[i];
    recv_timed += recv.lat_slots[i];
  }
  EXPECT_EQ(send_timed, t.sends);
  EXPECT_EQ(recv_timed, t.recvs);
  EXPECT_EQ(loaded->attachment.programs[0].attach, attach_kind_name(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Rungs, SocketBpfRungTest,
                         ::testing::Values(AttachKind::kTpBtf, AttachKind::kRawTp,
                                           AttachKind::kTracepoint),
                         [](const auto& info) {
                           return std::string(attach_kind_name(info.param));
                         });

// include_ports in the kernel: traffic on the listed port counts, other
// ports do not; the remote port matches as well as the local one.
TEST(SocketBpfFilterTest, IncludePortsKeepsOnlyListedPorts) {
  NETOBS_REQUIRE_ROOT();
  uint16_t wanted_port = 0, other_port = 0;
  int wanted = tcp_listener(&wanted_port);
  int other = tcp_listener(&other_port);
  static const PreflightReport preflight = run_preflight();
  LadderLoadOptions options;
  options.collector = "socket_test";
  options.force_kind = AttachKind::kTpBtf;
  NetworkFilters network;
  network.include_ports = {wanted_port};
  auto loaded = load_skeleton_with_ladders<socket_bpf>(
      ladders_named(SocketCollector::tracepoint_ladders(), "_length"), preflight, options,
      [&](socket_bpf& skel) {
        configure_network_filter(skel, network);
        return configure_for_this_process(skel);
      });
  ASSERT_TRUE(loaded) << loaded.message();
  socket_bpf& skel = *loaded->skel;
  ASSERT_TRUE(fill_network_filter(skel, network).is_ok());
  admit_this_process(skel);
  const Traffic counted = tcp_traffic(3, 100, wanted);
  tcp_traffic(4, 100, other);
  const socket_stats send = read_stats(skel, SOCKET_PROTO_TCP * SOCKET_DIR_COUNT + SOCKET_DIR_SEND);
  EXPECT_EQ(send.calls[SOCKET_IPV4], counted.sends);
  EXPECT_EQ(send.bytes[SOCKET_IPV4], counted.sent);
  close(wanted);
  close(other);
}

// Kernels before 5.12 keep the per-thread syscall record in a hash map
// instead of task storage: same counts, and the flags of send() still land.
TEST(SocketBpfFilterTest, HashThreadRecordsWithoutTaskStorage) {
  NETOBS_REQUIRE_ROOT();
  static const PreflightReport preflight = run_preflight();
  LadderLoadOptions options;
  options.collector = "socket_test";
  std::vector<HookLadder> ladders = ladders_named(SocketCollector::tracepoint_ladders(), "_length");
  for (const auto& ladder : SocketCollector::tracepoint_ladders()) {
    if (ladder.name == "sys_enter_sendto" || ladder.name == "sys_exit_sendto") {
      ladders.push_back(ladder);
    }
  }
  auto loaded =
      load_skeleton_with_ladders<socket_bpf>(ladders, preflight, options, [](socket_bpf& skel) {
        skel.rodata->use_task_storage = false;
        bpf_map__set_autocreate(skel.maps.task_ops, false);
        return configure_for_this_process(skel);
      });
  ASSERT_TRUE(loaded) << loaded.message();
  socket_bpf& skel = *loaded->skel;
  admit_this_process(skel);
  const Traffic t = tcp_traffic(4, 500);
  const socket_stats send = read_stats(skel, SOCKET_PROTO_TCP * SOCKET_DIR_COUNT + SOCKET_DIR_SEND);
  EXPECT_EQ(send.calls[SOCKET_IPV4], t.sends);
  EXPECT_EQ(send.bytes[SOCKET_IPV4], t.sent);
  // tcp_traffic sends with send(), i.e. sendto: every send has a start time.
  uint64_t timed = 0;
  const size_t cpus = static_cast<size_t>(libbpf_num_possible_cpus());
  std::vector<socket_stats> values(cpus);
  const uint32_t index = SOCKET_PROTO_TCP * SOCKET_DIR_COUNT + SOCKET_DIR_SEND;
  ASSERT_EQ(bpf_map__lookup_elem(skel.maps.stats, &index, sizeof(index), values.data(),
                                 values.size() * sizeof(socket_stats), 0),
            0);
  for (const auto& v : values) {
    for (uint64_t n : v.lat_slots) timed += n;
  }
  EXPECT_EQ(timed, t.sends);
}

// Fallback programs: loaded, not attached (kprobes cannot attach here).
TEST(SocketBpfFallbackTest, KprobeEntryProgramsPassTheVerifier) {
  NETOBS_REQUIRE_ROOT();
  auto ladders = ladders_named(SocketCollector::fallback_ladders(), "_entry");
  ASSERT_EQ(ladders.size(), 6u);
  // Both homes of the per-thread record: task storage and the old kernels' hash.
  for (bool task_storage : {true, false}) {
    auto loaded = load(ladders, AttachKind::kKprobe, false, task_storage);
    ASSERT_TRUE(loaded) << loaded.message();
    for (const auto& program : loaded->attachment.programs) {
      EXPECT_GE(program.prog_fd, 0) << program.program;
    }
  }
}

TEST(SocketBpfFallbackTest, KretprobeExitProgramsPassTheVerifier) {
  NETOBS_REQUIRE_ROOT();
  auto ladders = ladders_named(SocketCollector::fallback_ladders(), "_exit");
  // The syscall exit ladders end in _exit too; keep the function ones.
  std::erase_if(ladders, [](const HookLadder& l) { return l.name.rfind("sys_", 0) == 0; });
  ASSERT_EQ(ladders.size(), 6u);
  // Both homes of the per-thread record: task storage and the old kernels' hash.
  for (bool task_storage : {true, false}) {
    auto loaded = load(ladders, AttachKind::kKretprobe, false, task_storage);
    ASSERT_TRUE(loaded) << loaded.message();
    for (const auto& program : loaded->attachment.programs) {
      EXPECT_GE(program.prog_fd, 0) << program.program;
    }
  }
}

// fentry/fexit need BPF trampolines, which this kernel refuses (EPERM):
// a verifier rejection would be EACCES/EINVAL instead. Where trampolines
// work, the programs must load.
TEST(SocketBpfFallbackTest, FentryFexitProgramsFailOnlyForLackOfTrampolines) {
  NETOBS_REQUIRE_ROOT();
  for (AttachKind kind : {AttachKind::kFentry, AttachKind::kFexit}) {
    auto ladders = ladders_named(SocketCollector::fallback_ladders(),
                                 kind == AttachKind::kFentry ? "_entry" : "_exit");
    std::erase_if(ladders, [](const HookLadder& l) { return l.name.rfind("sys_", 0) == 0; });
    for (const auto& ladder : ladders) {
      auto loaded = load({ladder}, kind, false);
      if (!loaded) {
        EXPECT_THAT(loaded.message(), HasSubstr("EPERM")) << ladder.name;
      }
    }
  }
}

}  // namespace
}  // namespace netobs
