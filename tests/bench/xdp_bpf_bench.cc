// Per-packet cost of the xdp collector's programs through BPF_PROG_TEST_RUN
// with repeat (the kernel times the runs), next to an empty program of the
// same type in the same process (xdp_empty for XDP, tc_empty for tc): quote
// the ratio, not the nanoseconds. Needs root.
//   build/tests/bench/xdp_bpf_bench --benchmark_filter=Ratio
// Counter ns_per_packet is the kernel's average per run.
//
// Also a helper for tests/bench/xdp_iperf3.sh: `xdp_bpf_bench
// --hold-empty-tc=IFNAME` attaches tc_empty to IFNAME's tcx ingress and
// holds it until SIGTERM/SIGINT (the baseline "empty program on the hook").
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "collectors/xdp/tc_attach.h"
#include "collectors/xdp/xdp_program.h"
#include "packet_baseline.skel.h"
#include "tests/support/packet_builder.h"

namespace netobs {
namespace {

constexpr int kRepeat = 200000;

// The bench-only empty programs (packet_baseline.bpf.c), loaded, not attached.
SkeletonPtr<packet_baseline_bpf> load_packet_baselines() {
  SkeletonPtr<packet_baseline_bpf> skel = open_skeleton<packet_baseline_bpf>();
  if (skel && packet_baseline_bpf::load(skel.get()) != 0) skel.reset();
  return skel;
}

struct RingDeleter {
  void operator()(ring_buffer* rb) const { ring_buffer__free(rb); }
};

// A TCP packet to port 80 with 100 bytes of payload (154-byte frame).
std::vector<uint8_t> tcp_packet() {
  return testing::PacketBuilder()
      .eth()
      .ipv4("10.0.0.1", "10.0.0.2")
      .tcp(40000, 80, testing::kTcpAck)
      .payload(100)
      .build();
}

// An IPv6 UDP packet behind two extension headers and a VLAN tag.
std::vector<uint8_t> ipv6_ext_packet() {
  return testing::PacketBuilder()
      .eth()
      .vlan(10)
      .ipv6("2001:db8::1", "2001:db8::2")
      .ipv6_ext(testing::kIpv6HopByHop, 8)
      .ipv6_ext(testing::kIpv6DestOptions, 16)
      .udp(5353, 80)
      .payload(100)
      .build();
}

void run(benchmark::State& state, const XdpProgramOptions& options, bool empty,
         const std::vector<uint8_t>& frame) {
  if (geteuid() != 0) {
    state.SkipWithError("needs root (BPF_PROG_TEST_RUN)");
    return;
  }
  Result<SkeletonPtr<xdp_bpf>> skel = load_xdp_program(options);
  SkeletonPtr<packet_baseline_bpf> baseline = load_packet_baselines();
  if (!skel || !baseline) {
    state.SkipWithError(skel ? "loading packet_baseline.bpf.o failed" : skel.message().c_str());
    return;
  }
  const int fd =
      bpf_program__fd(empty ? baseline->progs.xdp_empty : xdp_observer(**skel, options.variant));
  std::unique_ptr<ring_buffer, RingDeleter> ring(ring_buffer__new(
      bpf_map__fd((*skel)->maps.xdp_samples), [](void*, void*, size_t) { return 0; }, nullptr,
      nullptr));
  double total_ns = 0;
  for (auto _ : state) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_size_in = static_cast<__u32>(frame.size()), .repeat = kRepeat);
    if (bpf_prog_test_run_opts(fd, &opts) != 0) {
      state.SkipWithError("BPF_PROG_TEST_RUN failed");
      return;
    }
    state.SetIterationTime(static_cast<double>(opts.duration) * kRepeat * 1e-9);
    total_ns += opts.duration;
    ring_buffer__consume(ring.get());  // keep the ring from filling up (untimed)
  }
  state.counters["ns_per_packet"] = total_ns / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations() * kRepeat);
}

// Interleaved pairs (empty, observe) on the same packet: the machine's load
// drifts (other builds share the cores), so each pair gives one ratio and
// the counters report their median and spread.
void ratio(benchmark::State& state, const XdpProgramOptions& options,
           const std::vector<uint8_t>& frame, bool tc = false) {
  if (geteuid() != 0) {
    state.SkipWithError("needs root (BPF_PROG_TEST_RUN)");
    return;
  }
  XdpProgramOptions load = options;
  load.xdp = !tc;
  load.tc = tc;
  Result<SkeletonPtr<xdp_bpf>> skel = load_xdp_program(load);
  SkeletonPtr<packet_baseline_bpf> baseline = load_packet_baselines();
  if (!skel || !baseline) {
    state.SkipWithError(skel ? "loading packet_baseline.bpf.o failed" : skel.message().c_str());
    return;
  }
  const int empty = bpf_program__fd(tc ? baseline->progs.tc_empty : baseline->progs.xdp_empty);
  const int observe =
      bpf_program__fd(tc ? (*skel)->progs.tc_observe : xdp_observer(**skel, options.variant));
  std::unique_ptr<ring_buffer, RingDeleter> ring(ring_buffer__new(
      bpf_map__fd((*skel)->maps.xdp_samples), [](void*, void*, size_t) { return 0; }, nullptr,
      nullptr));
  auto time = [&frame](int fd) -> double {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_size_in = static_cast<__u32>(frame.size()), .repeat = kRepeat);
    return bpf_prog_test_run_opts(fd, &opts) == 0 ? static_cast<double>(opts.duration) : -1;
  };
  std::vector<double> ratios, empties, observes;
  for (auto _ : state) {
    const double e = time(empty);
    const double o = time(observe);
    if (e <= 0 || o <= 0) {
      state.SkipWithError("BPF_PROG_TEST_RUN failed");
      return;
    }
    state.SetIterationTime((e + o) * kRepeat * 1e-9);
    empties.push_back(e);
    observes.push_back(o);
    ratios.push_back(o / e);
    ring_buffer__consume(ring.get());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  state.counters["ratio_median"] = median(ratios);
  state.counters["ratio_min"] = *std::min_element(ratios.begin(), ratios.end());
  state.counters["ratio_max"] = *std::max_element(ratios.begin(), ratios.end());
  state.counters["empty_ns"] = median(empties);
  state.counters["observe_ns"] = median(observes);
}

void BM_RatioTcpPortMatchSampled1000(benchmark::State& state) {
  ratio(state, {.sample_rate = 1000, .ports = {80, 443, 53, 8080}}, tcp_packet());
}
void BM_RatioTcpPortMatchSampled1000Linear(benchmark::State& state) {
  ratio(state, {.sample_rate = 1000, .ports = {80, 443, 53, 8080}, .variant = XdpVariant::kLinear},
        tcp_packet());
}
void BM_RatioIpv6ExtHeaders(benchmark::State& state) {
  ratio(state, {.sample_rate = 1000, .ports = {80}}, ipv6_ext_packet());
}
// The tc program against tc_empty (SCHED_CLS, the same skb each run).
void BM_RatioTcTcpPortMatchSampled1000(benchmark::State& state) {
  ratio(state, {.sample_rate = 1000, .ports = {80, 443, 53, 8080}}, tcp_packet(), true);
}
void BM_RatioTcIpv6ExtHeaders(benchmark::State& state) {
  ratio(state, {.sample_rate = 1000, .ports = {80}}, ipv6_ext_packet(), true);
}
BENCHMARK(BM_RatioTcpPortMatchSampled1000)->UseManualTime()->Iterations(31);
BENCHMARK(BM_RatioTcTcpPortMatchSampled1000)->UseManualTime()->Iterations(31);
BENCHMARK(BM_RatioTcIpv6ExtHeaders)->UseManualTime()->Iterations(31);
BENCHMARK(BM_RatioTcpPortMatchSampled1000Linear)->UseManualTime()->Iterations(31);
BENCHMARK(BM_RatioIpv6ExtHeaders)->UseManualTime()->Iterations(31);

// The baseline: an XDP program that only returns XDP_PASS.
void BM_XdpEmpty(benchmark::State& state) { run(state, {}, true, tcp_packet()); }

// The goal case: TCP with a filters.ports match, sampling on (1 in 1000).
void BM_XdpObserveTcpPortMatchSampled1000(benchmark::State& state) {
  run(state, {.sample_rate = 1000, .ports = {80, 443, 53, 8080}}, false, tcp_packet());
}

// Every packet sampled: the ring-buffer path on each run.
void BM_XdpObserveTcpEveryPacketSampled(benchmark::State& state) {
  run(state, {.sample_rate = 1, .ports = {80}}, false, tcp_packet());
}

void BM_XdpObserveIpv6ExtHeaders(benchmark::State& state) {
  run(state, {.sample_rate = 1000, .ports = {80}}, false, ipv6_ext_packet());
}

void BM_XdpObserveLinearTcpPortMatchSampled1000(benchmark::State& state) {
  run(state, {.sample_rate = 1000, .ports = {80, 443, 53, 8080}, .variant = XdpVariant::kLinear},
      false, tcp_packet());
}

BENCHMARK(BM_XdpEmpty)->UseManualTime()->Iterations(20);
BENCHMARK(BM_XdpObserveTcpPortMatchSampled1000)->UseManualTime()->Iterations(20);
BENCHMARK(BM_XdpObserveTcpEveryPacketSampled)->UseManualTime()->Iterations(20);
BENCHMARK(BM_XdpObserveIpv6ExtHeaders)->UseManualTime()->Iterations(20);
BENCHMARK(BM_XdpObserveLinearTcpPortMatchSampled1000)->UseManualTime()->Iterations(20);

volatile sig_atomic_t g_stop = 0;

// --hold-empty-tc=IFNAME: see the file comment.
int hold_empty_tc(const char* ifname) {
  const int ifindex = static_cast<int>(if_nametoindex(ifname));
  if (ifindex == 0) {
    std::fprintf(stderr, "no interface %s\n", ifname);
    return 1;
  }
  SkeletonPtr<packet_baseline_bpf> baseline = load_packet_baselines();
  if (!baseline) {
    std::fprintf(stderr, "loading packet_baseline.bpf.o failed: %s\n", std::strerror(errno));
    return 1;
  }
  Result<TcAttachment> tc =
      TcAttachment::attach(bpf_program__fd(baseline->progs.tc_empty), ifindex);
  if (!tc) {
    std::fprintf(stderr, "%s\n", tc.message().c_str());
    return 1;
  }
  signal(SIGTERM, [](int) { g_stop = 1; });
  signal(SIGINT, [](int) { g_stop = 1; });
  std::printf("tc_empty attached to %s (%.*s)\n", ifname, static_cast<int>(tc->kind().size()),
              tc->kind().data());
  std::fflush(stdout);
  while (!g_stop) pause();
  return 0;
}

}  // namespace
}  // namespace netobs

int main(int argc, char** argv) {
  constexpr std::string_view kHold = "--hold-empty-tc=";
  if (argc == 2 && std::string_view(argv[1]).substr(0, kHold.size()) == kHold) {
    return netobs::hold_empty_tc(argv[1] + kHold.size());
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
